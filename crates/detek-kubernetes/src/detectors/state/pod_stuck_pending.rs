use super::{human_duration, seconds_since, warning_event_groups};
use crate::prelude::*;

/// ## What it detects
/// Pods scheduled to a node (`PodScheduled=True`) longer than `grace_minutes` (a setting,
/// default 15) before the scan and still in phase `Pending`, whatever their containers wait
/// for (`PodInitializing`, `ContainerCreating` without any event, an init container that
/// never finishes...). The finding names the waiting containers and their reasons; the Pod's
/// Warning events are its evidence. Unscheduled Pods are `pod_pending_unschedulable`'s.
///
/// ## Why it matters
/// A Pod that was placed on a node but never started does no work, holds its share of the
/// node's allocatable resources, and blocks the rollout it belongs to. When no event explains
/// it, nothing else reports it: the kubelet may be stuck on a volume, an image, the sandbox
/// or the CNI.
///
/// ## How to fix
/// `kubectl describe pod NAME -n NS` (events, each container's state) and the node's kubelet
/// logs (`journalctl -u kubelet` on the node). Common causes: a volume that cannot attach or
/// mount, an image still pulling or unpullable, the CNI not ready, an init container waiting
/// for a dependency. Delete the Pod to have it scheduled again once the cause is fixed.
///
/// ## Example
/// ```yaml
/// status:
///   phase: Pending
///   conditions:
///   - {type: PodScheduled, status: "True", lastTransitionTime: "2024-06-03T08:00:00Z"}
///   containerStatuses:
///   - name: app
///     state: {waiting: {reason: PodInitializing}}    # fires two hours later
/// ```
#[detector(
    id = "pod_stuck_pending",
    title = "Pods scheduled long ago and still Pending",
    labels = ["kubernetes", "state", "pod"],
    level = Error,
    requires = [PODS, EVENTS],
    references = ["https://kubernetes.io/docs/tasks/debug/debug-application/debug-pods/#my-pod-stays-pending"],
    settings = PodStuckPendingSettings,
)]
pub struct PodStuckPending;

/// Settings of `pod_stuck_pending`.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct PodStuckPendingSettings {
    /// Minutes a scheduled Pod may stay Pending (pulling images, mounting volumes) before it is reported.
    #[setting(default = 15)]
    pub grace_minutes: i64,
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let settings: PodStuckPendingSettings = ctx.settings_of()?;
    let grace = settings.grace_minutes.max(0) * 60;
    let pods = ctx.get(&PODS)?;
    let groups = warning_event_groups(ctx.get(&EVENTS)?);
    let mut out = Outcome::new();
    let mut judged = 0;
    for pod in pods {
        let Some(status) = &pod.status else { continue };
        if status.phase.as_deref() != Some("Pending") || pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let scheduled = status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "PodScheduled" && c.status == "True")
            .and_then(|c| c.last_transition_time.as_ref());
        let Some(scheduled) = scheduled else { continue };
        judged += 1;
        let age = seconds_since(ctx.now, &scheduled.0);
        if age < grace {
            continue;
        }
        let waiting: Vec<String> = status
            .init_container_statuses
            .iter()
            .flatten()
            .chain(status.container_statuses.iter().flatten())
            .filter_map(|cs| {
                let w = cs.state.as_ref()?.waiting.as_ref()?;
                Some(format!(
                    "{} ({})",
                    cs.name,
                    w.reason.as_deref().unwrap_or("waiting")
                ))
            })
            .collect();
        let what = if waiting.is_empty() {
            "no container status recorded".to_string()
        } else {
            format!("waiting: {}", waiting.join(", "))
        };
        let mut finding = Finding::new(
            Level::Error,
            Some(pod.object_ref()),
            format!(
                "scheduled {} before the scan and still Pending; {what}",
                human_duration(age)
            ),
        );
        let ns = pod.namespace_or_default();
        let about: Vec<_> = groups
            .iter()
            .filter(|g| {
                g.kind == "Pod"
                    && g.name == pod.name()
                    && g.namespace.as_deref().unwrap_or("default") == ns
            })
            .collect();
        if about.is_empty() {
            finding = finding.with_evidence("no Warning event about the Pod in the scan");
        }
        for g in about {
            finding = finding.with_evidence(g.describe());
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
    fn names_the_waiting_containers_with_the_events_as_evidence() {
        let report = run_fixture("pod_stuck_pending", "fail.yaml");
        assert_eq!(
            finding_lines(&report),
            [
                "Pod/shop/report-7f6d5c4b3-k2m9x: scheduled 2h0m before the scan and still \
                 Pending; waiting: wait-for-db (PodInitializing), report (PodInitializing)",
            ]
        );
        assert_eq!(
            report.findings[0].evidence,
            ["no Warning event about the Pod in the scan"]
        );
    }

    #[test]
    fn a_pod_scheduled_minutes_ago_passes() {
        let report = run_fixture("pod_stuck_pending", "pass.yaml");
        assert_eq!(finding_lines(&report), Vec::<String>::new());
        assert_eq!(report.evaluated, Some(1));
    }
}
