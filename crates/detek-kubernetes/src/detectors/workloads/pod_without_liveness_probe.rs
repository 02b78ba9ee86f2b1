use super::missing_probe;
use crate::prelude::*;

/// ## What it detects
/// Containers of long-running Pods without a `livenessProbe`. Real Pods are checked when the
/// scan has any, the pod templates of workloads otherwise, so manifests get the same check.
/// Left out: Pods of Jobs and CronJobs (batch work runs to completion and serves no traffic),
/// and init containers (they run to completion before the Pod starts). Unlike kakao/detek,
/// which looked only at Pods behind a Service, every long-running Pod is checked, because a
/// manifest scan has no Endpoints to tell which Pods serve traffic.
///
/// ## Why it matters
/// Without a liveness probe the kubelet restarts a container only when its process exits. A
/// process that deadlocks, hangs on a lost connection or stops serving while still running
/// stays in place for ever, and its Pod still looks Running.
///
/// ## How to fix
/// Add a `livenessProbe` that checks the process itself is alive (an HTTP `/healthz` or a TCP
/// socket), not its dependencies: a liveness probe that fails when the database is down
/// restarts every replica at once. Give it a generous `failureThreshold`, or a
/// `startupProbe` for slow starters. See the current spec with
/// `kubectl get deploy NAME -n NS -o jsonpath='{.spec.template.spec.containers[*].livenessProbe}'`.
///
/// ## Example
/// ```yaml
/// containers:
/// - name: api
///   image: registry.example/api:2.3
///   livenessProbe:                 # passes with this; fires without it
///     httpGet: {path: /healthz, port: 8080}
///     periodSeconds: 10
///     failureThreshold: 3
/// ```
#[detector(
    id = "pod_without_liveness_probe",
    title = "Containers without a liveness probe",
    labels = ["kubernetes", "workloads", "pod", "probe"],
    level = Warn,
    requires = [POD_SPECS],
    references = ["https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/"],
)]
pub struct PodWithoutLivenessProbe;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    missing_probe(
        ctx,
        |c| c.liveness_probe.as_ref(),
        "no liveness probe: a hung process is never restarted",
    )
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture;

    #[test]
    fn fires_on_long_running_containers_only() {
        let report = run_fixture("pod_without_liveness_probe", "fail.yaml");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "Deployment/frontend [php-redis]"
        );
        assert!(f.message.contains("no liveness probe"), "{}", f.message);

        let report = run_fixture("pod_without_liveness_probe", "fail_pod.yaml");
        let f = &report.findings[0];
        let object = f.object.as_ref().unwrap();
        assert_eq!(
            (object.kind.as_str(), object.namespace.as_deref()),
            ("Deployment", Some("scraper"))
        );
        // The Pod's ReplicaSet e2e-scraper-586c69668b, named by its Deployment.
        assert_eq!(object.name, "e2e-scraper");
        assert_eq!(object.container.as_deref(), Some("e2e-scraper"));

        assert!(run_fixture("pod_without_liveness_probe", "pass.yaml").passed);
        assert!(run_fixture("pod_without_liveness_probe", "pass_pod.yaml").passed);
        // A Job's Pod without probes is batch work, not flagged.
        assert!(run_fixture("pod_without_liveness_probe", "pass_job.yaml").passed);
    }
}
