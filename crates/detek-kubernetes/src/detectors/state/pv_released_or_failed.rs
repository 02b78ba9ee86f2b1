use super::seconds_since;
use crate::prelude::*;

/// ## What it detects
/// PersistentVolumes in phase `Released` (their claim was deleted and the reclaim policy,
/// usually `Retain`, left the volume behind) or `Failed` (automatic reclamation failed). The
/// former claim, the reclaim policy and the status message are in the finding. Volumes whose
/// `status.lastPhaseTransitionTime` is younger than `grace_minutes` (a setting, default 10)
/// are left alone: a `Delete` volume is Released for a moment before it goes.
///
/// ## Why it matters
/// A Released volume still holds the old claim's data and still costs money, but no new claim
/// can bind to it until an administrator cleans it up: it is storage nobody can use. A Failed
/// volume means the provisioner could not delete or recycle it; the backing disk may be
/// orphaned in the cloud account.
///
/// ## How to fix
/// Decide whether the data is needed. To reuse the volume, remove its claim reference:
/// `kubectl patch pv NAME -p '{"spec":{"claimRef":null}}'`. To drop it, back up if needed,
/// then `kubectl delete pv NAME` and delete the disk in the storage backend. For `Failed`,
/// `kubectl describe pv NAME` shows the provisioner's error.
///
/// ## Example
/// ```yaml
/// kind: PersistentVolume
/// spec:
///   persistentVolumeReclaimPolicy: Retain
///   claimRef: {namespace: default, name: data-db-0}
/// status: {phase: Released}      # fires
/// ```
#[detector(
    id = "pv_released_or_failed",
    title = "PersistentVolumes left Released or Failed",
    labels = ["kubernetes", "state", "storage"],
    level = Warn,
    requires = [PERSISTENT_VOLUMES],
    references = ["https://kubernetes.io/docs/concepts/storage/persistent-volumes/#reclaiming"],
    settings = PvReleasedOrFailedSettings,
)]
pub struct PvReleasedOrFailed;

/// Settings of `pv_released_or_failed`.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct PvReleasedOrFailedSettings {
    /// Volumes that changed phase less than this many minutes ago are left alone.
    #[setting(default = 10)]
    pub grace_minutes: i64,
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let volumes = ctx.get(&PERSISTENT_VOLUMES)?;
    let settings: PvReleasedOrFailedSettings = ctx.settings_of()?;
    let grace_minutes = settings.grace_minutes;
    let mut out = Outcome::new().evaluated(volumes.len());
    for pv in volumes {
        let Some(status) = &pv.status else { continue };
        let phase = status.phase.as_deref().unwrap_or("");
        if phase != "Released" && phase != "Failed" {
            continue;
        }
        let spec = pv.spec.as_ref();
        let claim = spec
            .and_then(|s| s.claim_ref.as_ref())
            .map(|c| {
                format!(
                    " (was claimed by {}/{})",
                    c.namespace.as_deref().unwrap_or("default"),
                    c.name.as_deref().unwrap_or("?")
                )
            })
            .unwrap_or_default();
        let policy = spec
            .and_then(|s| s.persistent_volume_reclaim_policy.as_deref())
            .unwrap_or("Retain");
        if let Some(t) = &status.last_phase_transition_time
            && seconds_since(ctx.now, &t.0) < grace_minutes * 60
        {
            continue;
        }
        let what = match (phase, policy) {
            ("Released", "Delete") => {
                "reclaim policy Delete, yet the volume was not deleted (is its provisioner failing?)".to_string()
            }
            ("Released", "Recycle") => "reclaim policy Recycle, yet recycling did not complete".to_string(),
            ("Released", _) => format!("kept by reclaim policy {policy}; no new claim can bind to it"),
            _ => format!("automatic reclamation (policy {policy}) failed"),
        };
        let mut f = Finding::new(
            Level::Warn,
            Some(pv.object_ref()),
            format!("volume {phase}{claim}: {what}"),
        );
        if let Some(message) = status.message.as_deref().filter(|m| !m.is_empty()) {
            f = f.with_evidence(message.to_string());
        }
        out.push(f);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture;

    #[test]
    fn names_the_released_volume_and_its_former_claim() {
        let report = run_fixture("pv_released_or_failed", "fail.yaml");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "PersistentVolume/pvc-54fad2fe-4d7b-11e9-9172-0800271788ca"
        );
        assert_eq!(
            f.message,
            "volume Released (was claimed by default/prom-prometheus-alertmanager): reclaim policy Delete, yet the volume was not deleted (is its provisioner failing?)"
        );
        let failed = run_fixture("pv_released_or_failed", "fail_failed.yaml");
        assert_eq!(failed.findings.len(), 1);
        assert!(
            failed.findings[0].message.starts_with("volume Failed"),
            "{}",
            failed.findings[0].message
        );
    }

    #[test]
    fn bound_volumes_pass() {
        assert!(run_fixture("pv_released_or_failed", "pass.json").passed);
    }
}
