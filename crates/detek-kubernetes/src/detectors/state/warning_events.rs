use super::warning_event_groups;
use crate::prelude::*;

/// ## What it detects
/// Events of type `Warning`, grouped by the object they are about and their reason: one
/// finding per object and reason (`BackOff`, `FailedMount`, `FailedScheduling`, `Unhealthy`,
/// `FailedCreate`...), with the total count and the latest message. Settings: `min_count`
/// (default 1) drops groups seen fewer times, and `ignore_reasons` (default none) lists
/// reasons to leave out.
///
/// ## Why it matters
/// Events are the cluster's own explanation of what goes wrong, and the evidence behind most
/// Pod findings: *why* a Pod is Pending (`FailedScheduling: 0/3 nodes are available: 3
/// Insufficient cpu`), why a container is not ready (`Unhealthy: Readiness probe failed`), why
/// a controller creates no Pods (`FailedCreate: ... service account ... not found`). They
/// expire after an hour by default, so a scan is often the only record of them.
///
/// ## How to fix
/// Follow the reason: `kubectl get events -n NS --field-selector type=Warning
/// --sort-by=.lastTimestamp`, then `kubectl describe KIND NAME -n NS` for the object. The
/// matching detector (`crashloop_backoff`, `pod_pending_unschedulable`, `image_pull_failure`,
/// `container_creating_stuck`, `missing_service_account`...) usually says more.
///
/// ## Example
/// ```text
/// Warning  FailedScheduling  pod/kube-dns-545bc4bfd4-t4lzx  ×9
///   No nodes are available that match all of the predicates: Insufficient cpu (1).
/// ```
#[detector(
    id = "warning_events",
    title = "Warning events, grouped by object and reason",
    labels = ["kubernetes", "state", "events"],
    level = Warn,
    requires = [EVENTS],
    references = ["https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/event-v1/"],
    settings = WarningEventsSettings,
)]
pub struct WarningEvents;

/// Settings of `warning_events`.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct WarningEventsSettings {
    /// Groups (one object, one reason) seen fewer times than this are left out.
    #[setting(default = 1)]
    pub min_count: i64,
    /// Event reasons to leave out (`BackOff`, `Unhealthy`...).
    pub ignore_reasons: Vec<String>,
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let events = ctx.get(&EVENTS)?;
    let settings: WarningEventsSettings = ctx.settings_of()?;
    let (min_count, ignore) = (settings.min_count, settings.ignore_reasons);
    let mut out = Outcome::new().evaluated(events.len());
    for g in warning_event_groups(events) {
        if g.count < min_count || ignore.contains(&g.reason) {
            continue;
        }
        let object = ObjectRef::new(g.kind.as_str(), g.namespace.as_deref(), g.name.as_str());
        let mut f = Finding::new(
            Level::Warn,
            Some(object),
            format!("{} ×{}: {}", g.reason, g.count, g.message),
        );
        if let Some(t) = g.last_seen {
            f = f.with_evidence(format!("last seen {t}"));
        }
        out.push(f);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::{finding_lines, run_fixture};

    #[test]
    fn groups_warnings_by_object_and_reason() {
        let report = run_fixture("warning_events", "fail.json");
        let lines: Vec<String> = finding_lines(&report);
        assert_eq!(
            lines,
            vec![
                "Job/message-image-pull-fail/oom-kill-job3: BackoffLimitExceeded ×1: Job has reached the specified backoff limit",
                "Pod/message-image-pull-fail/no-image-deployment-849c4c4958-rxqmt: Failed ×13: Error: ImagePullBackOff",
                "Pod/message-image-pull-fail/pending-pod-resources-5fddcf7688-djjfc: FailedScheduling ×4: skip schedule deleting pod: default/pending-pod-resources-5fddcf7688-djjfc",
            ]
        );
        assert_eq!(
            report.findings[1].evidence,
            vec!["last seen 2023-07-11T05:36:25Z"]
        );
    }

    #[test]
    fn normal_events_pass() {
        assert!(run_fixture("warning_events", "pass.json").passed);
    }
}
