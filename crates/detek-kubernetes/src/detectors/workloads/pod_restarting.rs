use super::{
    container_statuses, describe_termination, seconds_since_last_restart, window_seconds,
    with_verdict,
};
use crate::detectors::helpers::human_duration;
use crate::forensics;
use crate::prelude::*;

/// ## What it detects
/// Containers (init containers included) that restarted at least `threshold` times (a setting,
/// default 5) according to their `restartCount` and restarted recently: their last termination
/// finished (or, without a recorded last state, their current run started) less than
/// `window_hours` (a setting, default 24) before the scan's "now". The finding gives the
/// reason and exit code of that termination. A container running since longer than the window
/// is history, not restarting, however high its count; a container whose status records no
/// time at all is reported. Only real Pods have restart counts; manifests are not checked.
///
/// ## Why it matters
/// Every restart drops the container's in-flight work and its warm caches, and a container
/// that keeps restarting is often one step from CrashLoopBackOff. The last termination tells
/// the cause: `OOMKilled` (exit 137) is memory, `Error` with a program's exit code is a crash,
/// and `Unknown` with exit code 255 for many containers at once usually means the node or the
/// container runtime restarted rather than the program failing. The count never resets while
/// the Pod lives, so an old count can also be history: check when the last restart was.
///
/// ## How to fix
/// Look at the last run: `kubectl logs NAME -n NS -c CONTAINER --previous` and
/// `kubectl describe pod NAME -n NS` (Last State, exit code, events). Fix the crash, the
/// memory limit or the failing liveness probe. Once fixed, `kubectl rollout restart` the
/// workload (or delete the Pod) to start the count again. Raise `threshold` in `detek.yaml`
/// (`detectors: {pod_restarting: {threshold: 20}}`) if your workloads restart by design, or
/// set `window_hours` to how far back a restart still matters to you.
///
/// ## Example
/// ```yaml
/// status:
///   containerStatuses:
///   - name: local-path-provisioner
///     restartCount: 189            # fires: >= 5, and the last termination is recent
///     lastState:
///       terminated: {exitCode: 1, reason: Error, finishedAt: "2022-12-21T09:43:10Z"}
///     state:
///       running: {startedAt: "2022-12-21T09:43:26Z"}   # the scan: minutes later
/// ```
#[detector(
    id = "pod_restarting",
    title = "Containers restarting repeatedly",
    labels = ["kubernetes", "workloads", "pod"],
    level = Warn,
    requires = [PODS],
    uses = [EVENTS, NODES, PREVIOUS_LOGS, CONTAINER_HISTORY],
    references = ["https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#container-restarts"],
    settings = PodRestartingSettings,
)]
pub struct PodRestarting;

/// Settings of `pod_restarting`.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct PodRestartingSettings {
    /// Restarts at which a container is reported (values below 1 count as 1).
    #[setting(default = 5)]
    pub threshold: i64,
    /// Hours after which a restart is history: older restarts are not reported (values below 1 count as 1).
    #[setting(default = 24)]
    pub window_hours: i64,
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let settings: PodRestartingSettings = ctx.settings_of()?;
    let threshold = settings.threshold.max(1);
    let window = window_seconds(settings.window_hours);
    let pods = ctx.get(&PODS)?;
    let mut out = Outcome::new().evaluated(pods.len());
    let evidence = forensics::evidence_of(ctx);
    for pod in pods {
        let Some(status) = &pod.status else { continue };
        for (kind, cs) in container_statuses(status) {
            if i64::from(cs.restart_count) < threshold {
                continue;
            }
            let age = seconds_since_last_restart(cs, ctx.now);
            if age.is_some_and(|age| age > window) {
                continue;
            }
            let last = cs.last_state.as_ref().and_then(|s| s.terminated.as_ref());
            let last_text = match last {
                Some(t) => format!("last terminated with {}", describe_termination(t)),
                None => "no last termination recorded".to_string(),
            };
            let mut finding = Finding::new(
                Level::Warn,
                Some(pod.object_ref().with_container(&cs.name)),
                format!(
                    "{} restarted {} times; {last_text}",
                    kind.noun(),
                    cs.restart_count
                ),
            )
            .with_evidence(format!("threshold: {threshold} restarts"))
            .with_evidence(match age {
                Some(age) => format!(
                    "last restart {} before the scan, within the {}h window",
                    human_duration(age),
                    window / 3_600
                ),
                None => "no restart time recorded: its age cannot be judged".to_string(),
            });
            if let Some(t) = last {
                if t.exit_code == 255 && t.reason.as_deref() == Some("Unknown") {
                    finding = finding.with_evidence(
                        "reason Unknown with exit code 255: the container was stopped by a node or \
                         container runtime restart, not by its own failure",
                    );
                }
                if let Some(message) = t.message.as_deref().filter(|m| !m.is_empty()) {
                    finding = finding.with_evidence(format!("termination message: {message}"));
                }
            }
            out.push(with_verdict(finding, &evidence, pod, cs, kind, ctx.now));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::Input;
    use crate::testing::{finding_lines, fixture_dir, run_fixture, run_on, run_on_at};
    use detek_core::Settings;

    fn summary(report: &detek_core::Report) -> Vec<String> {
        finding_lines(report)
    }

    #[test]
    fn counts_restarts_and_gives_the_last_termination() {
        let report = run_fixture("pod_restarting", "fail.json");
        assert_eq!(
            summary(&report),
            vec![
                "Pod/kube-system/coredns-b96499967-tncf4 [coredns]: container restarted 96 times; \
                 last terminated with exit code 255 (Unknown) at 2022-12-21T09:42:35Z",
                "Pod/kube-system/local-path-provisioner-7b7dc8d6f5-45btl [local-path-provisioner]: \
                 container restarted 189 times; last terminated with exit code 1 (Error) at \
                 2022-12-21T09:43:10Z",
            ]
        );
        assert!(
            report.findings[0]
                .evidence
                .iter()
                .any(|e| e.contains("runtime restart"))
        );
        // storage-provisioner restarted once: under the threshold.
        assert!(run_fixture("pod_restarting", "pass.yaml").passed);
    }

    #[test]
    fn threshold_is_a_setting() {
        let input = || vec![Input::Path(fixture_dir("pod_restarting").join("fail.json"))];
        let mut settings = Settings::new();
        settings.set("pod_restarting.threshold", 100);
        let report = run_on("pod_restarting", input(), settings);
        assert_eq!(report.findings.len(), 1);
        assert!(report.findings[0].message.contains("189 times"));
        let mut settings = Settings::new();
        settings.set("pod_restarting.threshold", 1);
        // helm-install-traefik restarted once, but its run started (and completed) three months
        // before the snapshot: history.
        assert_eq!(
            run_on("pod_restarting", input(), settings).findings.len(),
            2
        );
    }

    /// Judged as of the snapshot's newest time, a container whose last exit (a clean exit 0)
    /// finished two days earlier is not restarting, whatever its count says (kubectl-neat's
    /// raw Pod: 3 restarts, last terminated `Completed` on 2019-07-04, snapshot 2019-07-06).
    #[test]
    fn an_old_restart_is_history() {
        let input = vec![Input::Path(
            fixture_dir("pod_restarting").join("pass_old_clean_exit.json"),
        )];
        let mut settings = Settings::new();
        settings.set("pod_restarting.threshold", 1);
        let report = run_on("pod_restarting", input.clone(), settings);
        assert_eq!(finding_lines(&report), Vec::<String>::new());
        assert!(report.passed);
        // A window wider than those two days reports it.
        let mut settings = Settings::new();
        settings.set("pod_restarting.threshold", 1);
        settings.set("pod_restarting.window_hours", 72);
        assert_eq!(
            finding_lines(&run_on("pod_restarting", input, settings)),
            vec![
                "Pod/default/myapp [myapp]: container restarted 3 times; last \
                 terminated with exit code 0 (Completed) at 2019-07-04T08:17:20Z"
            ]
        );
    }

    /// The same restarts judged a day and a half later than the snapshot (`--now`): history.
    #[test]
    fn restarts_age_with_the_scan_clock() {
        let input = || vec![Input::Path(fixture_dir("pod_restarting").join("fail.json"))];
        let at = |s: &str| std::time::SystemTime::from(s.parse::<jiff::Timestamp>().unwrap());
        let report = run_on_at(
            "pod_restarting",
            input(),
            Settings::new(),
            at("2022-12-22T09:00:00Z"),
        );
        assert_eq!(report.findings.len(), 2);
        assert_eq!(
            report.findings[0].evidence[1],
            "last restart 23h17m before the scan, within the 24h window"
        );
        let report = run_on_at(
            "pod_restarting",
            input(),
            Settings::new(),
            at("2022-12-22T21:00:00Z"),
        );
        assert_eq!(finding_lines(&report), Vec::<String>::new());
    }
}
