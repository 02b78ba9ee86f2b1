use super::{ContainerKind, container_statuses, describe_termination, with_verdict};
use crate::forensics;
use crate::prelude::*;

/// ## What it detects
/// Containers waiting in `CrashLoopBackOff`: they exited again and again, and the kubelet now
/// waits longer and longer (up to five minutes) before each new start. Also caught between two
/// back-offs: a container that has restarted, whose last run just failed (`terminated` with a
/// non-zero exit code), and that the Pod's `restartPolicy` (`Always` or `OnFailure`) will
/// start again. Init containers are included: one in CrashLoopBackOff keeps the whole Pod from
/// starting, and so does one whose runs fail before the kubelet backs off (a Pending Pod whose
/// init container waits, e.g. `RunContainerError`, after a failed run). The finding gives the
/// restart count and the exit code and reason of the last run.
///
/// ## Why it matters
/// The container is down most of the time and comes up only for short runs, so whatever it
/// serves is unavailable; for an init container, the Pod never starts at all. It does not heal
/// by itself: the same command, configuration or missing dependency fails on every start.
///
/// ## How to fix
/// Read the last run: `kubectl logs NAME -n NS -c CONTAINER --previous`, and
/// `kubectl describe pod NAME -n NS` for the exit code and message. Exit code 127 or reason
/// `ContainerCannotRun` means the command is wrong or missing from the image; 137 is a kill
/// (OOM or a failing liveness probe); 1 or 2 is the program's own error, usually config. Exit
/// code 0 means the program finished normally but the Pod restarts it (`restartPolicy:
/// Always`): run one-off commands as a Job, or make the process stay in the foreground.
///
/// ## Example
/// ```yaml
/// status:
///   containerStatuses:
///   - name: nginx
///     restartCount: 4
///     state:
///       waiting: {reason: CrashLoopBackOff, message: "back-off 1m20s restarting failed container"}
///     lastState:
///       terminated: {exitCode: 127, reason: ContainerCannotRun}
/// ```
#[detector(
    id = "crashloop_backoff",
    title = "Containers in CrashLoopBackOff",
    labels = ["kubernetes", "workloads", "pod"],
    level = Error,
    requires = [PODS],
    uses = [EVENTS, NODES, PREVIOUS_LOGS, CONTAINER_HISTORY],
    references = [
        "https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#container-restarts",
        "https://kubernetes.io/docs/tasks/debug/debug-application/debug-running-pod/",
    ],
)]
pub struct CrashloopBackoff;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let pods = ctx.get(&PODS)?;
    let mut out = Outcome::new().evaluated(pods.len());
    let evidence = forensics::evidence_of(ctx);
    for pod in pods {
        let Some(status) = &pod.status else { continue };
        let phase = status.phase.as_deref();
        let finished = matches!(phase, Some("Succeeded" | "Failed"))
            || pod.metadata.deletion_timestamp.is_some();
        for (kind, cs) in container_statuses(status) {
            let state = cs.state.as_ref();
            let waiting = state.and_then(|s| s.waiting.as_ref());
            let last = cs.last_state.as_ref().and_then(|s| s.terminated.as_ref());
            let restarts = cs.restart_count;
            let (headline, last) =
                if waiting.and_then(|w| w.reason.as_deref()) == Some("CrashLoopBackOff") {
                    ("in CrashLoopBackOff".to_string(), last)
                } else if let Some(t) = state.and_then(|s| s.terminated.as_ref())
                    && t.exit_code != 0
                    && restarts > 0
                    && !finished
                    && restarted_after(pod, kind, t.exit_code)
                {
                    // Caught between two back-offs: the run just failed, the kubelet waits before
                    // the next one and has not written CrashLoopBackOff yet.
                    (
                        "between back-offs (failed, to be restarted)".to_string(),
                        Some(t),
                    )
                } else if kind == ContainerKind::Init
                    && phase == Some("Pending")
                    && let Some(w) = waiting
                    && last.is_some_and(|t| t.exit_code != 0)
                {
                    // An init container whose runs fail (RunContainerError, a crash) before the
                    // kubelet backs off: the Pod stays Pending.
                    let reason = w.reason.as_deref().unwrap_or("waiting");
                    (format!("failing ({reason})"), last)
                } else {
                    continue;
                };
            let last_text = match last {
                Some(t) => format!("last run ended with {}", describe_termination(t)),
                None => "no last run recorded".to_string(),
            };
            let mut finding = Finding::new(
                Level::Error,
                Some(pod.object_ref().with_container(&cs.name)),
                format!(
                    "{} {headline} after {restarts} restarts; {last_text}",
                    kind.noun(),
                ),
            );
            if kind == ContainerKind::Init {
                finding = finding.with_evidence(
                    "an init container that cannot complete keeps the Pod from starting",
                );
            }
            if let Some(t) = last {
                if let Some(message) = t.message.as_deref().filter(|m| !m.is_empty()) {
                    finding = finding.with_evidence(format!("termination message: {message}"));
                }
                if t.exit_code == 0 {
                    finding = finding.with_evidence(
                        "exit code 0: the program finished normally, but the Pod restarts it; run \
                         one-off commands as a Job or keep the process in the foreground",
                    );
                }
            }
            if let Some(message) = waiting
                .and_then(|w| w.message.as_deref())
                .filter(|m| !m.is_empty())
            {
                finding = finding.with_evidence(format!("kubelet: {message}"));
            }
            out.push(with_verdict(finding, &evidence, pod, cs, kind, ctx.now));
        }
    }
    Ok(out)
}

/// Does the kubelet start container `kind` of `pod` again after a run that exited with
/// `exit_code`? Regular containers by the Pod's `restartPolicy` (`Always`, the default, or
/// `OnFailure` for a non-zero exit), init containers after a failure unless it is `Never`.
fn restarted_after(pod: &Pod, kind: ContainerKind, exit_code: i32) -> bool {
    let policy = pod
        .spec
        .as_ref()
        .and_then(|s| s.restart_policy.as_deref())
        .unwrap_or("Always");
    match (kind, policy) {
        (ContainerKind::Ephemeral, _) => false,
        (ContainerKind::Init, "Never") => false,
        (ContainerKind::Init, _) => exit_code != 0,
        (ContainerKind::Regular, "Always") => true,
        (ContainerKind::Regular, "OnFailure") => exit_code != 0,
        (ContainerKind::Regular, _) => false,
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{finding_lines, run_fixture};

    #[test]
    fn names_the_container_and_its_last_exit() {
        let report = run_fixture("crashloop_backoff", "fail.json");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        let object = f.object.as_ref().unwrap();
        assert_eq!(object.kind, "Pod");
        assert_eq!(
            object.namespace.as_deref(),
            Some("message-pod-crashloop-backoff")
        );
        assert_eq!(object.name, "init-demo");
        assert_eq!(object.container.as_deref(), Some("nginx"));
        assert_eq!(
            f.message,
            "container in CrashLoopBackOff after 4 restarts; last run ended with exit code 127 \
             (ContainerCannotRun) at 2023-07-11T03:33:15Z"
        );
        assert!(
            f.evidence
                .iter()
                .any(|e| e.contains("\"wge\": executable file not found"))
        );
    }

    #[test]
    fn explains_a_successful_exit_and_covers_init_containers() {
        let report = run_fixture("crashloop_backoff", "fail_exit_zero.yaml");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "Pod/scraper/e2e-container-creating [alpine]"
        );
        assert!(
            f.message.contains("exit code 0 (Completed)"),
            "{}",
            f.message
        );
        assert!(
            f.evidence
                .iter()
                .any(|e| e.contains("run one-off commands as a Job"))
        );

        let report = run_fixture("crashloop_backoff", "fail_init.yaml");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "Pod/shop/orders-5c9d7f8b4-kq2mz [migrate]"
        );
        assert!(
            f.message
                .starts_with("init container in CrashLoopBackOff after 6 restarts"),
            "{}",
            f.message
        );

        assert!(run_fixture("crashloop_backoff", "pass.yaml").passed);
    }

    /// A container whose fifth run just failed, before the kubelet wrote CrashLoopBackOff.
    #[test]
    fn a_container_between_back_offs_is_reported() {
        let report = run_fixture("crashloop_backoff", "fail_between_backoffs.yaml");
        assert_eq!(
            finding_lines(&report),
            [
                "Pod/shop/orders-5c9d7f8b4-p8r2t [orders]: container between back-offs (failed, to \
              be restarted) after 4 restarts; last run ended with exit code 1 (Error) at \
              2024-06-03T09:58:43Z"
            ]
        );
        // Restart forensics reads the termination message: a dependency refused the connection.
        let evidence = &report.findings[0].evidence;
        assert_eq!(
            evidence[..2],
            [
                "termination message: panic: dial tcp 10.96.12.40:5432: connect: connection refused",
                "verdict: a service it depends on was unreachable — container orders's last log \
                 lines show that a service it depends on refused the connection, then it exited \
                 (exit code 1: the program reported an error): it gives up when a dependency does \
                 not answer."
            ]
        );
        assert!(evidence[2].starts_with("fix: A dependency was not listening"));
    }

    /// troubleshoot's init-demo2: its init container's command is missing from the image; the
    /// runtime cannot start it (RunContainerError) and the Pod stays Pending.
    #[test]
    fn a_failing_init_container_of_a_pending_pod_is_reported() {
        let report = run_fixture("crashloop_backoff", "fail_init_pending.json");
        assert_eq!(
            finding_lines(&report),
            [
                "Pod/message-pod-init-crashloop-backoff/init-demo2 [install]: init container \
              failing (RunContainerError) after 1 restarts; last run ended with exit code 127 \
              (ContainerCannotRun) at 2023-07-11T04:01:16Z"
            ]
        );
        assert_eq!(
            report.findings[0].evidence[0],
            "an init container that cannot complete keeps the Pod from starting"
        );
    }
}
