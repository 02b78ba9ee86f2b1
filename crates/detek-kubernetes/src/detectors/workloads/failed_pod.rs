use crate::prelude::*;

/// ## What it detects
/// Pods in phase `Failed`: every container has terminated and at least one failed (non-zero
/// exit code or killed by the system), and the Pod will not be restarted.
///
/// ## Why it matters
/// A failed Pod does no work. Failed Pods of a Job mean the batch did not complete; a failed
/// bare Pod is never replaced. Failed Pods also linger and hold their IP quota and logs until
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
    requires = [PODS],
    references = ["https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-phase"],
)]
pub struct FailedPod;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let pods = ctx.get(&PODS)?;
    let mut out = Outcome::new().evaluated(pods.len());
    for pod in pods {
        let Some(status) = &pod.status else { continue };
        if status.phase.as_deref() != Some("Failed") {
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

fn fail_reason(status: &detek_kubernetes_model::pod::PodStatus) -> String {
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
    use crate::testing::run_fixture;

    #[test]
    fn names_the_failed_job_pod_and_its_exit_code() {
        let report = run_fixture("failed_pod", "fail.yaml");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(f.object.as_ref().unwrap().name, "e2e-failjob-cdhgp");
        assert!(f.message.contains("exited with code 42"), "{}", f.message);
        assert!(run_fixture("failed_pod", "pass.yaml").passed);
    }
}
