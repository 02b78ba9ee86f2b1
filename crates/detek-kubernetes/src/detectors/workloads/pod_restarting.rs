use super::{container_statuses, describe_termination};
use crate::prelude::*;

/// ## What it detects
/// Containers (init containers included) that restarted at least `threshold` times (a setting,
/// default 5) according to their `restartCount`, with the reason and exit code of their last
/// termination. Only real Pods have restart counts; manifests are not checked.
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
/// (`detectors: {pod_restarting: {threshold: 20}}`) if your workloads restart by design.
///
/// ## Example
/// ```yaml
/// status:
///   containerStatuses:
///   - name: local-path-provisioner
///     restartCount: 189            # fires: >= 5
///     lastState:
///       terminated: {exitCode: 1, reason: Error}
/// ```
#[detector(
    id = "pod_restarting",
    title = "Containers restarting repeatedly",
    labels = ["kubernetes", "workloads", "pod"],
    level = Warn,
    requires = [PODS],
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
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let settings: PodRestartingSettings = ctx.settings_of()?;
    let threshold = settings.threshold.max(1);
    let pods = ctx.get(&PODS)?;
    let mut out = Outcome::new().evaluated(pods.len());
    for pod in pods {
        let Some(status) = &pod.status else { continue };
        for (kind, cs) in container_statuses(status) {
            if i64::from(cs.restart_count) < threshold {
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
            .with_evidence(format!("threshold: {threshold} restarts"));
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
            out.push(finding);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::Input;
    use crate::testing::{finding_lines, fixture_dir, run_fixture, run_on};
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
        // helm-install-traefik restarted once.
        assert_eq!(
            run_on("pod_restarting", input(), settings).findings.len(),
            3
        );
    }
}
