use super::missing_probe;
use crate::prelude::*;

/// ## What it detects
/// Containers of long-running Pods without a `readinessProbe`. Real Pods are checked when the
/// scan has any, the pod templates of workloads otherwise, so manifests get the same check.
/// Left out: Pods of Jobs and CronJobs (batch work serves no traffic) and init containers.
/// Unlike kakao/detek, which looked only at Pods behind a Service, every long-running Pod is
/// checked, because a manifest scan has no Endpoints to tell which Pods serve traffic; a
/// worker that serves nothing can suppress the finding.
///
/// ## Why it matters
/// Without a readiness probe a container counts as ready as soon as it starts: Services send
/// it requests before it has loaded, and keep sending them while it is overloaded or broken.
/// Rolling updates also move on to the next replica without waiting for this one to work, so
/// a bad release replaces every healthy Pod.
///
/// ## How to fix
/// Add a `readinessProbe` that answers only when the container can serve (an HTTP endpoint
/// that checks what a request needs). Watch its effect with
/// `kubectl get endpointslices -n NS -l kubernetes.io/service-name=SVC` during a rollout.
///
/// ## Example
/// ```yaml
/// containers:
/// - name: api
///   image: registry.example/api:2.3
///   readinessProbe:                # passes with this; fires without it
///     httpGet: {path: /ready, port: 8080}
///     periodSeconds: 5
/// ```
#[detector(
    id = "pod_without_readiness_probe",
    title = "Containers without a readiness probe",
    labels = ["kubernetes", "workloads", "pod", "probe"],
    level = Warn,
    requires = [POD_SPECS],
    references = ["https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/"],
)]
pub struct PodWithoutReadinessProbe;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    missing_probe(
        ctx,
        |c| c.readiness_probe.as_ref(),
        "no readiness probe: receives traffic before it is ready and while it fails",
    )
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture;

    #[test]
    fn fires_on_long_running_containers_only() {
        let report = run_fixture("pod_without_readiness_probe", "fail.yaml");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "Deployment/frontend [php-redis]"
        );
        assert!(f.message.contains("no readiness probe"), "{}", f.message);

        // A static control-plane Pod with a liveness probe only.
        let report = run_fixture("pod_without_readiness_probe", "fail_pod.yaml");
        assert_eq!(report.findings.len(), 1);
        let object = report.findings[0].object.as_ref().unwrap();
        assert_eq!(
            object.display_name(),
            "Pod/kube-system/kube-controller-manager-datagen-1-34 [kube-controller-manager]"
        );

        assert!(run_fixture("pod_without_readiness_probe", "pass.yaml").passed);
        assert!(run_fixture("pod_without_readiness_probe", "pass_pod.yaml").passed);
        // A CronJob manifest without probes is batch work, not flagged.
        assert!(run_fixture("pod_without_readiness_probe", "pass_cronjob.yaml").passed);
    }
}
