use super::{human_duration, seconds_since, warning_event_groups};
use crate::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// ## What it detects
/// PersistentVolumeClaims in phase `Pending` that something is waiting for: a Pod of the scan
/// uses the claim, the scheduler already chose a node for it (annotation
/// `volume.kubernetes.io/selected-node`), or there are Warning events about it (for example
/// `ProvisioningFailed`). In live scans, claims younger than `grace_minutes` (a setting,
/// default 5) are left alone: provisioning takes a moment. A Pending claim nobody uses is normal with a
/// `WaitForFirstConsumer` StorageClass and is only counted in a note.
///
/// ## Why it matters
/// A Pod whose claim is not bound does not start: it stays `Pending` (or `ContainerCreating`).
/// Typical causes are a StorageClass that does not exist or has no provisioner, a provisioner
/// that fails (quota, wrong zone, CSI driver down), or a static PV that matches no claim
/// (size, access mode, selector).
///
/// ## How to fix
/// `kubectl describe pvc NAME -n NS` shows the provisioner's events. Check the StorageClass
/// (`kubectl get storageclass`), the CSI driver's Pods, and for static volumes
/// `kubectl get pv` (capacity, access modes, `claimRef`).
///
/// ## Example
/// ```yaml
/// kind: PersistentVolumeClaim
/// metadata:
///   annotations: {volume.kubernetes.io/selected-node: n3}
/// spec: {storageClassName: standard}
/// status: {phase: Pending}      # fires: the scheduler waits for it
/// ```
#[detector(
    id = "pvc_pending",
    title = "PersistentVolumeClaims stuck in Pending while something waits for them",
    labels = ["kubernetes", "state", "storage"],
    level = Error,
    requires = [PERSISTENT_VOLUME_CLAIMS, PODS, EVENTS, CLUSTER_INFO],
    references = ["https://kubernetes.io/docs/concepts/storage/persistent-volumes/#binding"],
    settings = PvcPendingSettings,
)]
pub struct PvcPending;

/// Settings of `pvc_pending`.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct PvcPendingSettings {
    /// In live scans, claims younger than this many minutes are left alone.
    #[setting(default = 5)]
    pub grace_minutes: i64,
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let claims = ctx.get(&PERSISTENT_VOLUME_CLAIMS)?;
    let pods = ctx.get(&PODS)?;
    let settings: PvcPendingSettings = ctx.settings_of()?;
    let grace_minutes = settings.grace_minutes;
    let live = ctx.get(&CLUSTER_INFO)?.live;
    let mut users: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for pod in pods {
        let Some(spec) = &pod.spec else { continue };
        for claim in spec.claim_names() {
            users
                .entry((pod.namespace_or_default(), claim))
                .or_default()
                .push(pod.name());
        }
    }
    let events = warning_event_groups(ctx.get(&EVENTS)?);
    let mut out = Outcome::new().evaluated(claims.len());
    let mut unused: BTreeSet<String> = BTreeSet::new();
    for claim in claims {
        if claim.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Pending") {
            continue;
        }
        let ns = claim.namespace_or_default();
        // Ages only mean something against a live clock; a dump may be minutes old or years.
        let age = claim
            .metadata
            .creation_timestamp
            .as_ref()
            .filter(|_| live)
            .map(|t| seconds_since(ctx.now, &t.0));
        if age.is_some_and(|a| a < grace_minutes * 60) {
            continue;
        }
        let mut evidence = Vec::new();
        let mut waited_for = false;
        if let Some(names) = users.get(&(ns, claim.name())) {
            waited_for = true;
            evidence.push(format!("used by Pod {}", names.join(", ")));
        }
        if let Some(node) = claim
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("volume.kubernetes.io/selected-node"))
        {
            waited_for = true;
            evidence.push(format!("the scheduler selected node {node} for it"));
        }
        for g in events.iter().filter(|g| {
            g.kind == "PersistentVolumeClaim"
                && g.name == claim.name()
                && g.namespace.as_deref().unwrap_or("default") == ns
        }) {
            waited_for = true;
            evidence.push(g.describe());
        }
        if !waited_for {
            unused.insert(format!("{ns}/{}", claim.name()));
            continue;
        }
        let class = claim
            .spec
            .as_ref()
            .and_then(|s| s.storage_class_name.as_deref())
            .map(|c| format!(" (StorageClass {c})"))
            .unwrap_or_default();
        let age = age
            .map(|a| format!(" for {}", human_duration(a)))
            .unwrap_or_default();
        let mut f = Finding::new(
            Level::Error,
            Some(claim.object_ref()),
            format!("claim Pending{age}{class}: not bound to a volume"),
        );
        for e in evidence {
            f = f.with_evidence(e);
        }
        out.push(f);
    }
    if !unused.is_empty() {
        out.attach(
            "Pending claims no Pod waits for (normal with a WaitForFirstConsumer StorageClass)",
            serde_json::json!(unused),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture;

    #[test]
    fn names_the_claim_the_scheduler_waits_for() {
        let report = run_fixture("pvc_pending", "fail.yaml");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "PersistentVolumeClaim/default/pvc3"
        );
        assert_eq!(
            f.message,
            "claim Pending (StorageClass standard): not bound to a volume"
        );
        assert_eq!(f.evidence, vec!["the scheduler selected node n3 for it"]);
    }

    #[test]
    fn bound_and_unused_pending_claims_pass() {
        assert!(run_fixture("pvc_pending", "pass.json").passed);
        let report = run_fixture("pvc_pending", "pass_wait_for_consumer.yaml");
        assert!(report.passed);
        assert!(
            report
                .attachment
                .iter()
                .any(|a| a.description.starts_with("Pending claims no Pod"))
        );
    }
}
