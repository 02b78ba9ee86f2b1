use super::{container_statuses, describe_termination, memory_limit};
use crate::prelude::*;
use detek_kubernetes_model::pod::ContainerState;
use k8s_openapi::api::core::v1::ContainerStateTerminated;

/// ## What it detects
/// Containers killed by the out-of-memory killer: their current state, or their last state
/// before a restart, is `terminated` with reason `OOMKilled` (normally exit code 137, SIGKILL).
/// Init and ephemeral containers are included. The finding gives the exit code, when it was
/// killed, how often the container restarted, and its memory limit if it has one.
///
/// ## Why it matters
/// An OOMKilled container lost its work in progress and every request it was serving. With a
/// memory limit, the container used more than the limit; without one, the node ran out of
/// memory and the kernel picked it. It usually comes back and is killed again under the same
/// load, so it often shows up later as restarts or CrashLoopBackOff.
///
/// ## How to fix
/// See the kill and the limit with `kubectl describe pod NAME -n NS` (Last State: Terminated,
/// Reason: OOMKilled) and the usage with `kubectl top pod NAME -n NS --containers`. If the
/// usage is legitimate, raise `resources.limits.memory` (and the request with it); if it grows
/// without bound, find the leak. For JVMs and other runtimes, make their heap size follow the
/// container limit (e.g. `-XX:MaxRAMPercentage=75`).
///
/// ## Example
/// ```yaml
/// status:
///   containerStatuses:
///   - name: memory-eater
///     restartCount: 3
///     lastState:
///       terminated: {exitCode: 137, reason: OOMKilled, finishedAt: "2023-07-11T04:43:25Z"}
/// ```
#[detector(
    id = "oomkilled_container",
    title = "Containers killed for running out of memory (OOMKilled)",
    labels = ["kubernetes", "workloads", "pod", "resources"],
    level = Error,
    requires = [PODS],
    references = [
        "https://kubernetes.io/docs/tasks/configure-pod-container/assign-memory-resource/#exceed-a-container-s-memory-limit",
    ],
)]
pub struct OomkilledContainer;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let pods = ctx.get(&PODS)?;
    let mut out = Outcome::new().evaluated(pods.len());
    for pod in pods {
        let Some(status) = &pod.status else { continue };
        for (kind, cs) in container_statuses(status) {
            let (when, t) = match (oom_killed(&cs.state), oom_killed(&cs.last_state)) {
                (Some(t), _) => ("", t),
                (None, Some(t)) => (" before its last restart", t),
                (None, None) => continue,
            };
            let limit = match memory_limit(pod, &cs.name) {
                Some(limit) => format!("memory limit {limit}"),
                None => "no memory limit (the node ran out of memory)".to_string(),
            };
            let mut finding = Finding::new(
                Level::Error,
                Some(pod.object_ref().with_container(&cs.name)),
                format!(
                    "{} killed by the OOM killer{when}: {}; restarted {} times; {limit}",
                    kind.noun(),
                    describe_termination(t),
                    cs.restart_count,
                ),
            );
            if let Some(message) = t.message.as_deref().filter(|m| !m.is_empty()) {
                finding = finding.with_evidence(format!("termination message: {message}"));
            }
            out.push(finding);
        }
    }
    Ok(out)
}

/// The termination of `state` when it was an OOM kill.
fn oom_killed(state: &Option<ContainerState>) -> Option<&ContainerStateTerminated> {
    state
        .as_ref()
        .and_then(|s| s.terminated.as_deref())
        .filter(|t| t.reason.as_deref() == Some("OOMKilled"))
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture;

    #[test]
    fn names_the_killed_container_with_code_time_restarts_and_limit() {
        let report = run_fixture("oomkilled_container", "fail.json");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        let object = f.object.as_ref().unwrap();
        assert_eq!(object.kind, "Pod");
        assert_eq!(object.namespace.as_deref(), Some("message-oomkill-pod"));
        assert_eq!(object.name, "oom-kill-job3-gbb89");
        assert_eq!(object.container.as_deref(), Some("memory-eater"));
        assert_eq!(
            f.message,
            "container killed by the OOM killer: exit code 137 (OOMKilled) at \
             2023-07-11T04:43:25Z; restarted 0 times; memory limit 100Mi"
        );
    }

    #[test]
    fn reads_the_last_state_of_a_restarted_container() {
        let report = run_fixture("oomkilled_container", "fail_last_state.yaml");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "Pod/shop/cart-7d9f8b6c5-x2x4q [cart]"
        );
        assert!(f.message.starts_with(
                "container killed by the OOM killer before its last restart: exit code 137 (OOMKilled)"
            ), "{}", f.message);
        assert!(
            f.message.contains("restarted 7 times; no memory limit"),
            "{}",
            f.message
        );
        assert!(run_fixture("oomkilled_container", "pass.json").passed);
    }
}
