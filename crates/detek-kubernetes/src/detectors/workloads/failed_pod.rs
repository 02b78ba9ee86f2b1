use crate::prelude::*;
use detek_kubernetes_model::pod::PodStatus;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use std::collections::HashSet;

/// ## What it detects
/// Pods in phase `Failed`: every container has terminated and at least one failed (non-zero
/// exit code or killed by the system), and the Pod will not be restarted. Two kinds of failed
/// Pods are left to the detector that judges them: evicted Pods (`pod_evicted`, which names
/// the resource the node ran short of) and Pods of a Job the scan holds (`job_failed`: a
/// failed attempt is the Job's business, retried within its `backoffLimit`, forgiven when the
/// Job or a later run of its CronJob succeeded, reported once on the Job when it gave up).
/// Pods of a Job the scan does not hold are reported here.
///
/// ## Why it matters
/// A failed Pod does no work: a failed bare Pod is never replaced, and a failed Pod of a
/// controller is work its controller had to redo. Failed Pods also linger and hold their IP quota and logs until
/// garbage collected, hiding the real state of a namespace.
///
/// ## How to fix
/// Read why it failed: `kubectl describe pod NAME -n NS` (the message and each container's
/// last state) and `kubectl logs NAME -n NS --previous`. Fix the cause (command, config,
/// resources, evictions), then delete the failed Pod or let its controller clean it up
/// (`ttlSecondsAfterFinished` for Jobs).
///
/// ## Example
/// ```yaml
/// status:
///   phase: Failed
///   containerStatuses:
///   - name: job
///     state: {terminated: {exitCode: 1, reason: Error}}
/// ```
#[detector(
    id = "failed_pod",
    title = "Pods in phase Failed",
    labels = ["kubernetes", "workloads", "pod"],
    level = Error,
    requires = [PODS, JOBS],
    references = ["https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-phase"],
)]
pub struct FailedPod;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let pods = ctx.get(&PODS)?;
    let jobs: HashSet<(&str, &str)> = ctx
        .get(&JOBS)?
        .iter()
        .map(|j| (j.namespace().unwrap_or("default"), j.name()))
        .collect();
    let mut out = Outcome::new().evaluated(pods.len());
    for pod in pods {
        let Some(status) = &pod.status else { continue };
        if status.phase.as_deref() != Some("Failed") {
            continue;
        }
        // Reported by pod_evicted, with the resource the node ran short of.
        if status.reason.as_deref() == Some("Evicted") {
            continue;
        }
        // An attempt of a Job the scan holds: job_failed judges the Job as a whole.
        let job = controller_ref(&pod.metadata).filter(|o| o.kind == "Job");
        if job.is_some_and(|o| jobs.contains(&(pod.namespace_or_default(), o.name.as_str()))) {
            continue;
        }
        out.push(Finding::new(
            Level::Error,
            Some(pod.object_ref()),
            format!("Pod failed: {}", fail_reason(status)),
        ));
    }
    Ok(out)
}

/// The owner reference marked `controller: true`.
fn controller_ref(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
}

fn fail_reason(status: &PodStatus) -> String {
    if let Some(message) = status.message.as_deref().filter(|m| !m.is_empty()) {
        return match status.reason.as_deref() {
            Some(reason) => format!("{reason}: {message}"),
            None => message.to_string(),
        };
    }
    let statuses = status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten());
    for cs in statuses {
        if let Some(t) = cs.state.as_ref().and_then(|s| s.terminated.as_ref())
            && t.exit_code != 0
        {
            let reason = t.reason.as_deref().unwrap_or("Error");
            return format!(
                "container {:?} exited with code {} ({reason})",
                cs.name, t.exit_code
            );
        }
    }
    status
        .reason
        .clone()
        .unwrap_or_else(|| "no reason recorded".to_string())
}

#[cfg(test)]
mod tests {
    use crate::testing::{finding_lines, run_fixture};

    #[test]
    fn names_the_failed_job_pod_and_its_exit_code() {
        let report = run_fixture("failed_pod", "fail.yaml");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(f.object.as_ref().unwrap().name, "e2e-failjob-cdhgp");
        assert!(f.message.contains("exited with code 42"), "{}", f.message);
        assert!(run_fixture("failed_pod", "pass.yaml").passed);
    }

    /// A Job whose first attempt failed and whose retry succeeded: job_failed forgives it,
    /// and so does failed_pod.
    #[test]
    fn a_failed_attempt_of_a_job_in_the_scan_is_the_jobs_business() {
        let report = run_fixture("failed_pod", "pass_job_retried.yaml");
        assert_eq!(finding_lines(&report), Vec::<String>::new());
        assert_eq!(report.evaluated, Some(2));
        assert!(run_fixture("job_failed", "../failed_pod/pass_job_retried.yaml").passed);
    }

    /// An evicted Pod (phase Failed, reason Evicted) is pod_evicted's finding alone.
    #[test]
    fn an_evicted_pod_is_left_to_pod_evicted() {
        let report = run_fixture("failed_pod", "../pod_evicted/fail.yaml");
        assert_eq!(finding_lines(&report), Vec::<String>::new());
        assert_eq!(report.evaluated, Some(1));
        assert_eq!(run_fixture("pod_evicted", "fail.yaml").findings.len(), 1);
    }
}
