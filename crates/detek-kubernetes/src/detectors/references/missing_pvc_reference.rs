use super::{NameIndex, Scope, Target, check_references, not_judged, specs_to_check, summaries_of};
use crate::detectors::helpers::grade_references;
use crate::prelude::*;

/// ## What it detects
/// Pods and workload templates with a `persistentVolumeClaim` volume whose claim the scan does
/// not contain in the Pod's namespace. A Pod whose controller's template is in the scan is
/// checked through that template, once. StatefulSet `volumeClaimTemplates` and generic
/// ephemeral volumes are created by their controllers and are not references (a StatefulSet
/// template volume named like one of its claim templates is replaced by the claim). A claim in
/// the scan that could not be read (a malformed document) still counts as present.
///
/// It judges only when the scan contains PersistentVolumeClaims: a manifest set without any
/// cannot tell (the report then says so in a note); in a dump (not a live scan), only
/// namespaces holding at least one claim are judged.
///
/// ## Why it matters
/// The scheduler will not place a Pod whose claim does not exist: it stays `Pending` with
/// `persistentvolumeclaim "NAME" not found`. Usually the claim was never applied (it lives in
/// another chart or kustomization), was deleted, or the name differs by a suffix.
///
/// ## How to fix
/// Create the PersistentVolumeClaim in the Pod's namespace or fix `claimName`:
/// `kubectl get pvc -n NS` lists the claims, `kubectl describe pod POD -n NS` shows the
/// scheduler's message. For one claim per replica use a StatefulSet's `volumeClaimTemplates`.
///
/// ## Example
/// ```yaml
/// volumes:
/// - name: data
///   persistentVolumeClaim:
///     claimName: mysql-data     # fires when no PVC mysql-data exists in the namespace
/// ```
#[detector(
    id = "missing_pvc_reference",
    title = "Pods referencing PersistentVolumeClaims that do not exist",
    labels = ["kubernetes", "references", "storage"],
    level = Error,
    requires = [POD_SPECS, STATEFUL_SETS, OBJECTS, CLUSTER_INFO],
    references = ["https://kubernetes.io/docs/concepts/storage/persistent-volumes/#claims-as-volumes"],
)]
pub struct MissingPvcReference;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let objects = ctx.get(&OBJECTS)?;
    let present = summaries_of(objects, "PersistentVolumeClaim");
    let scope = Scope::of_kind(
        ctx.get(&CLUSTER_INFO)?.live,
        objects,
        "PersistentVolumeClaim",
    );
    if scope.is_empty() {
        return Ok(not_judged("PersistentVolumeClaims"));
    }
    let stateful_sets = NameIndex::new(
        ctx.get(&STATEFUL_SETS)?
            .iter()
            .map(|s| (s.namespace(), s.name(), s.as_ref())),
    );
    let specs = specs_to_check(ctx)?;
    let find = |namespace: Option<&str>, name: &str| present.find(namespace, name).map(|_| None);
    // A StatefulSet replaces the template's volumes named like its volumeClaimTemplates with
    // the claims it creates (`<template>-<statefulset>-<ordinal>`).
    let skip = |view: &PodSpecView, claim: &str| {
        let Some(owner) = view
            .template
            .map(|t| &t.owner)
            .filter(|o| o.kind == "StatefulSet")
        else {
            return false;
        };
        let Some(sts) = stateful_sets.find(owner.namespace.as_deref(), &owner.name) else {
            return false;
        };
        let templates = sts.spec.volume_claim_templates.as_deref().unwrap_or(&[]);
        view.spec().volumes.iter().flatten().any(|v| {
            v.persistent_volume_claim
                .as_ref()
                .is_some_and(|c| c.claim_name == claim)
                && templates
                    .iter()
                    .any(|t| t.metadata.name.as_deref() == Some(v.name.as_str()))
        })
    };
    let out = check_references(
        &specs,
        &scope,
        Target::Claim,
        "PersistentVolumeClaim",
        "PersistentVolumeClaims",
        Level::Error,
        &find,
        &skip,
    );
    Ok(grade_references(out, ctx.get(&CLUSTER_INFO)?, Level::Error))
}

#[cfg(test)]
mod tests {
    use crate::testing::{finding_lines, run_fixture};

    #[test]
    fn names_the_workload_and_the_missing_claim() {
        let report = run_fixture("missing_pvc_reference", "fail.yaml");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "Deployment/nfs-server"
        );
        assert_eq!(
            f.message,
            "PersistentVolumeClaim \"nfs-pv-provisioning-demo\" not found (referenced by volume \"mypvc\")"
        );
    }

    #[test]
    fn pods_without_their_controller_once_per_revision_and_each_statefulset_replica() {
        // The ReplicaSet's two replicas share one template: one finding. The StatefulSet's
        // replicas each have a claim: db-1's is missing.
        let report = run_fixture("missing_pvc_reference", "fail_pods.yaml");
        assert_eq!(
            finding_lines(&report),
            [
                "Deployment/shop/web: PersistentVolumeClaim \"web-cache\" not found in namespace shop (referenced by volume \"cache\")",
                "StatefulSet/shop/db: PersistentVolumeClaim \"data-db-1\" not found in namespace shop (referenced by volume \"data\")",
            ]
        );
        assert_eq!(report.evaluated, Some(3));
    }

    #[test]
    fn a_claim_in_the_scan_passes() {
        assert!(run_fixture("missing_pvc_reference", "pass.yaml").passed);
    }
}
