use crate::prelude::*;

/// ## What it detects
/// PersistentVolumeClaims in phase `Lost`: the claim was bound to a PersistentVolume that no
/// longer exists (deleted by hand, removed with its cloud disk, or lost in a restore of the
/// cluster without its volumes).
///
/// ## Why it matters
/// The data behind a Lost claim is gone or unreachable from Kubernetes. Pods using the claim
/// cannot start (`FailedMount`), and a StatefulSet replica using it stays down. Kubernetes will
/// not repair it: the claim must be rebound or recreated, possibly from a backup.
///
/// ## How to fix
/// `kubectl describe pvc NAME -n NS` shows the volume it was bound to (`spec.volumeName`).
/// If the disk still exists in the storage backend, recreate a PersistentVolume for it with a
/// `claimRef` to this claim; otherwise delete the claim, recreate it, and restore the data.
///
/// ## Example
/// ```yaml
/// kind: PersistentVolumeClaim
/// spec: {volumeName: pvc-86489da2-08df-4e95-800c-b8537e3ff03b}
/// status: {phase: Lost}     # fires
/// ```
#[detector(
    id = "pvc_lost",
    title = "PersistentVolumeClaims whose volume is lost",
    labels = ["kubernetes", "state", "storage"],
    level = Error,
    requires = [PERSISTENT_VOLUME_CLAIMS],
    references = ["https://kubernetes.io/docs/concepts/storage/persistent-volumes/#phase"],
)]
pub struct PvcLost;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let claims = ctx.get(&PERSISTENT_VOLUME_CLAIMS)?;
    let mut out = Outcome::new().evaluated(claims.len());
    for claim in claims {
        if claim.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Lost") {
            continue;
        }
        let volume = claim
            .spec
            .as_ref()
            .and_then(|s| s.volume_name.as_deref())
            .filter(|v| !v.is_empty())
            .map(|v| format!("PersistentVolume {v:?}"))
            .unwrap_or_else(|| "its PersistentVolume".to_string());
        out.push(Finding::new(
            Level::Error,
            Some(claim.object_ref()),
            format!("claim Lost: {volume} no longer exists"),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture;

    #[test]
    fn names_the_lost_claim_and_its_volume() {
        let report = run_fixture("pvc_lost", "fail.yaml");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "PersistentVolumeClaim/default/pvc2"
        );
        assert_eq!(
            f.message,
            "claim Lost: PersistentVolume \"pvc-86489da2-08df-4e95-800c-b8537e3ff03b\" no longer exists"
        );
    }

    #[test]
    fn bound_claims_pass() {
        assert!(run_fixture("pvc_lost", "pass.json").passed);
    }
}
