use super::{human_duration, seconds_since};
use crate::prelude::*;

/// ## What it detects
/// Pods in phase `Running` whose `Ready` condition has been `False` for longer than
/// `grace_minutes` (a setting, default 5) before the scan, naming the containers that are not
/// ready and why the kubelet says so. Whether or not a Service or a controller covers the Pod:
/// a bare Pod or a worker that serves no Service is reported too. Pods being deleted are left
/// out, and so are Pods whose Ready condition has no transition time (nothing tells for how
/// long).
///
/// ## Why it matters
/// A Pod that runs but is not ready does no useful work: Services do not send it traffic,
/// rollouts wait for it, and a PodDisruptionBudget counts it as unavailable. Usually its
/// readiness probe keeps failing (a dependency down, a wrong path or port, too short a
/// timeout), or one of its containers keeps restarting.
///
/// ## How to fix
/// `kubectl describe pod NAME -n NS` shows the failing readiness probe in the events and each
/// container's state; `kubectl logs NAME -n NS -c CONTAINER` tells why. Fix the dependency or
/// the probe (path, port, `timeoutSeconds`, `initialDelaySeconds` for slow starters).
///
/// ## Example
/// ```yaml
/// status:
///   phase: Running
///   conditions:
///   - {type: Ready, status: "False", reason: ContainersNotReady,
///      lastTransitionTime: "2024-06-03T08:00:00Z"}     # fires: an hour before the scan
///   containerStatuses:
///   - {name: api, ready: false, state: {running: {startedAt: "2024-06-03T08:00:00Z"}}}
/// ```
#[detector(
    id = "pod_not_ready",
    title = "Running Pods that stay not ready",
    labels = ["kubernetes", "state", "pod"],
    level = Warn,
    requires = [PODS],
    references = ["https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-conditions"],
    settings = PodNotReadySettings,
)]
pub struct PodNotReady;

/// Settings of `pod_not_ready`.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct PodNotReadySettings {
    /// Minutes a Running Pod may be not ready (starting, restarting) before it is reported.
    #[setting(default = 5)]
    pub grace_minutes: i64,
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let settings: PodNotReadySettings = ctx.settings_of()?;
    let grace = settings.grace_minutes.max(0) * 60;
    let pods = ctx.get(&PODS)?;
    let mut out = Outcome::new();
    let mut judged = 0;
    for pod in pods {
        let Some(status) = &pod.status else { continue };
        if status.phase.as_deref() != Some("Running") || pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        judged += 1;
        let Some(ready) = status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "Ready")
        else {
            continue;
        };
        if ready.status != "False" {
            continue;
        }
        let Some(since) = ready.last_transition_time.as_ref() else {
            continue;
        };
        let age = seconds_since(ctx.now, &since.0);
        if age < grace {
            continue;
        }
        let unready: Vec<String> = status
            .container_statuses
            .iter()
            .flatten()
            .filter(|cs| !cs.ready)
            .map(|cs| {
                let state = cs.state.as_ref();
                let why = if let Some(w) = state.and_then(|s| s.waiting.as_ref()) {
                    format!("waiting: {}", w.reason.as_deref().unwrap_or("unknown"))
                } else if state.and_then(|s| s.terminated.as_ref()).is_some() {
                    "terminated".to_string()
                } else {
                    "running, readiness probe failing".to_string()
                };
                format!("{} ({why})", cs.name)
            })
            .collect();
        let containers = if unready.is_empty() {
            "no container reported not ready".to_string()
        } else {
            format!("not ready: {}", unready.join(", "))
        };
        let mut finding = Finding::new(
            Level::Warn,
            Some(pod.object_ref()),
            format!(
                "Running but not ready for {}; {containers}",
                human_duration(age)
            ),
        );
        if let Some(message) = ready.message.as_deref().filter(|m| !m.is_empty()) {
            finding = finding.with_evidence(format!(
                "Ready=False ({}): {message}",
                ready.reason.as_deref().unwrap_or("")
            ));
        }
        out.push(finding);
    }
    out.evaluated = Some(judged);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::{finding_lines, run_fixture};

    #[test]
    fn names_the_pod_how_long_and_its_unready_containers() {
        let report = run_fixture("pod_not_ready", "fail.yaml");
        assert_eq!(
            finding_lines(&report),
            [
                "Pod/shop/api-7c5d8b9f6-x2x9k: Running but not ready for 1h0m; not ready: api \
              (running, readiness probe failing)"
            ]
        );
        assert_eq!(
            report.findings[0].evidence,
            ["Ready=False (ContainersNotReady): containers with unready status: [api]"]
        );
    }

    #[test]
    fn a_pod_not_ready_for_less_than_the_grace_period_passes() {
        let report = run_fixture("pod_not_ready", "pass.yaml");
        assert_eq!(finding_lines(&report), Vec::<String>::new());
        assert_eq!(report.evaluated, Some(2));
    }
}
