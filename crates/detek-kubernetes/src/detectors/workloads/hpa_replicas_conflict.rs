use crate::prelude::*;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::HashMap;

/// ## What it detects
/// Deployments and StatefulSets scaled by a HorizontalPodAutoscaler whose manifest still sets
/// `spec.replicas`. In manifests (files, a GitOps repository) that is the written field; on a
/// live cluster, where `spec.replicas` is always set, it is the `replicas` recorded in the
/// `kubectl.kubernetes.io/last-applied-configuration` annotation, i.e. what the next `kubectl
/// apply` will write again.
///
/// ## Why it matters
/// The HPA owns the replica count. Every `kubectl apply` (or GitOps sync) of a manifest with
/// `replicas: 1` resets a Deployment the HPA had scaled to 12 back to 1: eleven Pods are
/// terminated at once, in the middle of the peak that made the HPA scale up, until the HPA
/// notices and scales up again minutes later. Argo CD and Flux show the workload as
/// permanently out of sync.
///
/// ## How to fix
/// Remove `spec.replicas` from the manifest (and from the Helm values that template it) once an
/// HPA manages the workload; the HPA's `minReplicas` takes over the role. For a live object,
/// remove it from the last-applied annotation too, as the Kubernetes documentation describes:
/// `kubectl apply edit-last-applied deployment/NAME -n NS`.
///
/// ## Example
/// ```yaml
/// kind: Deployment
/// metadata: {name: vllm-gemma-deployment}
/// spec:
///   replicas: 1           # fires: HPA gemma-server-hpa scales this Deployment
/// ---
/// kind: HorizontalPodAutoscaler
/// spec:
///   scaleTargetRef: {kind: Deployment, name: vllm-gemma-deployment}
/// ```
#[detector(
    id = "hpa_replicas_conflict",
    title = "Autoscaled workloads whose manifest still sets replicas",
    labels = ["kubernetes", "workloads", "autoscaling"],
    level = Warn,
    requires = [HORIZONTAL_POD_AUTOSCALERS, DEPLOYMENTS, STATEFUL_SETS, CLUSTER_INFO],
    references = [
        "https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#migrating-deployments-and-statefulsets-to-horizontal-autoscaling",
    ],
)]
pub struct HpaReplicasConflict;

/// A scale target: its reference, metadata and written replicas.
type Target<'a> = (ObjectRef, &'a ObjectMeta, Option<i32>);

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let hpas = ctx.get(&HORIZONTAL_POD_AUTOSCALERS)?;
    let deployments = ctx.get(&DEPLOYMENTS)?;
    let stateful_sets = ctx.get(&STATEFUL_SETS)?;
    let live = ctx.get(&CLUSTER_INFO)?.live;
    // The first Deployment and StatefulSet of each namespace/name (one lookup per HPA).
    let mut targets: HashMap<(&str, &str, &str), Target> = HashMap::new();
    if !hpas.is_empty() {
        for d in deployments {
            targets
                .entry(("Deployment", d.namespace_or_default(), d.name()))
                .or_insert_with(|| (d.object_ref(), &d.metadata, d.spec.replicas));
        }
        for s in stateful_sets {
            targets
                .entry(("StatefulSet", s.namespace_or_default(), s.name()))
                .or_insert_with(|| (s.object_ref(), &s.metadata, s.spec.replicas));
        }
    }
    let mut out = Outcome::new().evaluated(hpas.len());
    for hpa in hpas {
        let spec = &hpa.spec;
        let target = &spec.scale_target_ref;
        let namespace = hpa.namespace_or_default();
        let found = targets
            .get(&(target.kind.as_str(), namespace, target.name.as_str()))
            .cloned();
        let Some((object, metadata, written)) = found else {
            continue;
        };
        let (replicas, source) = if live {
            match last_applied_replicas(metadata) {
                Some(n) => (n, "its last-applied configuration sets"),
                None => continue,
            }
        } else {
            match written {
                Some(n) => (i64::from(n), "the manifest sets"),
                None => continue,
            }
        };
        out.push(
            Finding::new(
                Level::Warn,
                Some(object),
                format!(
                    "{source} replicas: {replicas} although HPA {} scales it ({} to {}): every apply resets the replica count",
                    hpa.name(),
                    spec.min_replicas.unwrap_or(1),
                    spec.max_replicas
                ),
            ),
        );
    }
    Ok(out)
}

/// `spec.replicas` in the last-applied-configuration annotation, if any.
fn last_applied_replicas(metadata: &ObjectMeta) -> Option<i64> {
    let text = metadata.annotations.as_ref()?.get(LAST_APPLIED)?;
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    value.get("spec")?.get("replicas")?.as_i64()
}

#[cfg(test)]
mod tests {
    use super::last_applied_replicas;
    use crate::testing::run_fixture;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    #[test]
    fn reads_replicas_from_the_last_applied_configuration() {
        let meta = |json: &str| ObjectMeta {
            annotations: Some([(super::LAST_APPLIED.to_string(), json.to_string())].into()),
            ..Default::default()
        };
        let with = meta(r#"{"apiVersion":"apps/v1","kind":"Deployment","spec":{"replicas":3}}"#);
        assert_eq!(last_applied_replicas(&with), Some(3));
        let without = meta(r#"{"apiVersion":"apps/v1","kind":"Deployment","spec":{}}"#);
        assert_eq!(last_applied_replicas(&without), None);
        assert_eq!(last_applied_replicas(&ObjectMeta::default()), None);
    }

    #[test]
    fn names_the_deployment_and_its_autoscaler() {
        let report = run_fixture("hpa_replicas_conflict", "fail.yaml");
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "Deployment/vllm-gemma-deployment"
        );
        assert_eq!(
            f.message,
            "the manifest sets replicas: 1 although HPA gemma-server-hpa scales it (1 to 5): every apply resets the replica count"
        );
        assert!(run_fixture("hpa_replicas_conflict", "pass.yaml").passed);
    }
}
