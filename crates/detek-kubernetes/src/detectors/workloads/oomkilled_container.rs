use super::{
    container_statuses, describe_termination, memory_limit, seconds_since_last_restart,
    window_seconds, with_verdict,
};
use crate::forensics;
use crate::prelude::*;
use detek_kubernetes_model::pod::ContainerState;
use k8s_openapi::api::core::v1::ContainerStateTerminated;

/// ## What it detects
/// Containers killed by the out-of-memory killer: their current state, or their last state
/// before a restart, is `terminated` with reason `OOMKilled` (normally exit code 137, SIGKILL).
/// Init and ephemeral containers are included. An OOM kill before the last restart is history
/// once it finished longer than `window_hours` (a setting, default 24) before the scan's "now":
/// the container has been running since; a container whose current state is the OOM kill is
/// reported however old, since it is still down. The finding gives the exit code, when it was
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
/// # fires when the scan is less than 24 hours later (window_hours)
/// ```
#[detector(
    id = "oomkilled_container",
    title = "Containers killed for running out of memory (OOMKilled)",
    labels = ["kubernetes", "workloads", "pod", "resources"],
    level = Error,
    requires = [PODS],
    uses = [EVENTS, NODES, PREVIOUS_LOGS, CONTAINER_HISTORY],
    references = [
        "https://kubernetes.io/docs/tasks/configure-pod-container/assign-memory-resource/#exceed-a-container-s-memory-limit",
    ],
    settings = OomkilledContainerSettings,
)]
pub struct OomkilledContainer;

/// Settings of `oomkilled_container`.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct OomkilledContainerSettings {
    /// Hours after which an OOM kill before the last restart is history (values below 1 count as 1).
    #[setting(default = 24)]
    pub window_hours: i64,
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let settings: OomkilledContainerSettings = ctx.settings_of()?;
    let window = window_seconds(settings.window_hours);
    let pods = ctx.get(&PODS)?;
    let mut out = Outcome::new().evaluated(pods.len());
    let evidence = forensics::evidence_of(ctx);
    for pod in pods {
        let Some(status) = &pod.status else { continue };
        for (kind, cs) in container_statuses(status) {
            let (when, t) = match (oom_killed(&cs.state), oom_killed(&cs.last_state)) {
                (Some(t), _) => ("", t),
                (None, Some(t)) => {
                    if seconds_since_last_restart(cs, ctx.now).is_some_and(|age| age > window) {
                        continue;
                    }
                    (" before its last restart", t)
                }
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
            out.push(with_verdict(finding, &evidence, pod, cs, kind, ctx.now));
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
    use crate::Input;
    use crate::testing::{finding_lines, fixture_dir, run_fixture, run_on};
    use detek_core::Settings;

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

    /// The same OOM kill in a dump taken three days later: the container has been running
    /// since, so the kill is history; a wider window still reports it.
    #[test]
    fn an_old_oom_kill_before_a_restart_is_history() {
        let report = run_fixture("oomkilled_container", "pass_old_last_state.yaml");
        assert!(report.findings.is_empty(), "{:?}", report.findings);
        assert!(report.passed);
        let mut settings = Settings::new();
        settings.set("oomkilled_container.window_hours", 96);
        let input = vec![Input::Path(
            fixture_dir("oomkilled_container").join("pass_old_last_state.yaml"),
        )];
        assert_eq!(
            finding_lines(&run_on("oomkilled_container", input, settings)),
            vec![
                "Pod/shop/cart-7d9f8b6c5-x2x4q [cart]: container killed by the OOM killer before \
                 its last restart: exit code 137 (OOMKilled) at 2024-05-02T08:14:05Z; restarted 7 \
                 times; no memory limit (the node ran out of memory)"
            ]
        );
    }
}
