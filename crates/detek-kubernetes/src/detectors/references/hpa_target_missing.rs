use super::NameIndex;
use crate::detectors::helpers::grade_references;
use crate::prelude::*;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use std::collections::BTreeSet;

/// ## What it detects
/// HorizontalPodAutoscalers whose `scaleTargetRef` names a workload (Deployment, StatefulSet,
/// ReplicaSet, ReplicationController, or any other kind such as an Argo Rollout) that the scan
/// does not contain in the autoscaler's namespace. The HPA controller's own complaint, the
/// `AbleToScale` condition (kept in an annotation by `autoscaling/v1`), is added as evidence.
///
/// It judges a target only when the scan contains objects of the target's kind: a set of
/// manifests without any Deployment cannot tell whether the Deployment exists (the report then
/// says so in a note).
///
/// ## Why it matters
/// An autoscaler without its target does nothing: the workload it was meant to scale (usually
/// renamed, or deployed under another name by a chart) runs at a fixed replica count and will
/// not absorb load. The HPA reports `FailedGetScale` only in its conditions, which nobody
/// watches.
///
/// ## How to fix
/// Point `scaleTargetRef` at the workload's real kind and name, or delete the stale autoscaler:
/// `kubectl describe hpa NAME -n NS` shows the conditions, `kubectl get deploy,sts -n NS`
/// lists the candidates.
///
/// ## Example
/// ```yaml
/// kind: HorizontalPodAutoscaler
/// metadata: {name: nginx, namespace: default}
/// spec:
///   scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: nginx}  # fires: no such Deployment
///   maxReplicas: 10
/// ```
#[detector(
    id = "hpa_target_missing",
    title = "HorizontalPodAutoscalers whose target workload does not exist",
    labels = ["kubernetes", "references", "autoscaling"],
    level = Error,
    requires = [HORIZONTAL_POD_AUTOSCALERS, OBJECTS, CLUSTER_INFO],
    references = ["https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/"],
)]
pub struct HpaTargetMissing;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let hpas = ctx.get(&HORIZONTAL_POD_AUTOSCALERS)?;
    let objects = ctx.get(&OBJECTS)?;
    let kinds_in_scan: BTreeSet<&str> = objects.iter().map(|o| o.kind.as_ref()).collect();
    let index = NameIndex::new(
        objects
            .iter()
            .map(|o| (o.namespace.as_deref(), o.name.as_str(), o)),
    );
    let mut out = Outcome::new().evaluated(hpas.len());
    let mut not_judged: BTreeSet<&str> = BTreeSet::new();
    for hpa in hpas {
        let target = &hpa.spec.scale_target_ref;
        if target.kind.is_empty() || target.name.is_empty() {
            continue;
        }
        if !kinds_in_scan.contains(target.kind.as_str()) {
            not_judged.insert(target.kind.as_str());
            continue;
        }
        let found = index
            .by_name
            .get(target.name.as_str())
            .into_iter()
            .flatten()
            .any(|(ns, o)| o.kind.as_ref() == target.kind && namespaces_meet(hpa.namespace(), *ns));
        if found {
            continue;
        }
        let ns_text = hpa
            .namespace()
            .map(|n| format!(" in namespace {n}"))
            .unwrap_or_default();
        let mut finding = Finding::new(
            Level::Error,
            Some(hpa.object_ref()),
            format!(
                "scale target {}/{} not found{ns_text}: the autoscaler scales nothing",
                target.kind, target.name
            ),
        );
        if let Some(evidence) = able_to_scale(hpa) {
            finding = finding.with_evidence(evidence);
        }
        out.push(finding);
    }
    if !not_judged.is_empty() {
        let kinds: Vec<&str> = not_judged.into_iter().collect();
        out.attach(
            "not judged",
            serde_json::Value::String(format!(
                "the scan contains no objects of kind {}: autoscalers targeting them were not checked",
                kinds.join(", ")
            )),
        );
    }
    Ok(grade_references(out, ctx.get(&CLUSTER_INFO)?, Level::Error))
}

/// Same namespace, or one of them written without a namespace (manifests applied with `-n`).
fn namespaces_meet(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

/// `AbleToScale=False (FailedGetScale): the HPA controller was unable to get the target's
/// current scale...` from the status or, for `autoscaling/v1` objects, the conditions
/// annotation.
fn able_to_scale(hpa: &Item<HorizontalPodAutoscaler>) -> Option<String> {
    let from_status = hpa
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| {
            c.iter()
                .find(|c| c.type_ == "AbleToScale" && c.status == "False")
        })
        .map(|c| {
            (
                c.reason.clone().unwrap_or_default(),
                c.message.clone().unwrap_or_default(),
            )
        });
    let from_annotation = || {
        let text = hpa
            .metadata
            .annotations
            .as_ref()?
            .get("autoscaling.alpha.kubernetes.io/conditions")?;
        let list: Vec<serde_json::Value> = serde_json::from_str(text).ok()?;
        let c = list
            .iter()
            .find(|c| c["type"] == "AbleToScale" && c["status"] == "False")?;
        Some((
            c["reason"].as_str().unwrap_or_default().to_string(),
            c["message"].as_str().unwrap_or_default().to_string(),
        ))
    };
    let (reason, message) = from_status.or_else(from_annotation)?;
    Some(format!("AbleToScale=False ({reason}): {message}"))
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture;

    #[test]
    fn names_the_autoscaler_and_its_missing_target() {
        let report = run_fixture("hpa_target_missing", "fail.yaml");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "HorizontalPodAutoscaler/default/nginx"
        );
        assert_eq!(
            f.message,
            "scale target Deployment/nginx not found in namespace default: the autoscaler scales nothing"
        );
        assert!(
            f.evidence[0].starts_with("AbleToScale=False (FailedGetScale)"),
            "{:?}",
            f.evidence
        );
    }

    #[test]
    fn a_present_target_passes_and_an_unknown_kind_is_not_judged() {
        assert!(run_fixture("hpa_target_missing", "pass.yaml").passed);
        let report = run_fixture("hpa_target_missing", "pass_no_deployments.yaml");
        assert!(report.passed);
        assert!(
            report
                .attachment
                .iter()
                .any(|a| a.description == "not judged")
        );
    }
}
