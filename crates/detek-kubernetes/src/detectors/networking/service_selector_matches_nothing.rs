use super::{noun_for, pod_selector, selector_string};
use crate::detectors::helpers::grade_references;
use crate::prelude::*;
use detek_kubernetes_model::operators::selected_by;
use std::collections::BTreeSet;

/// ## What it detects
/// Services whose selector matches no Pod in their namespace. Every Pod is matched, so a
/// selector on a per-Pod label (`statefulset.kubernetes.io/pod-name: web-0`) selects that one
/// replica. Workloads (Deployments, StatefulSets, DaemonSets, Jobs...) that have no Pod in the
/// scan count through their Pod template, so manifests are judged too; labels that only
/// running Pods carry, such as `statefulset.kubernetes.io/pod-name`, are not required of a
/// template. Objects written without a namespace are in `default`. ExternalName and
/// selector-less Services are not judged, nor are scans without any Pod or workload.
///
/// Pods that an operator of the scan creates from a custom resource count too: a Service
/// selecting the Pods of a `Prometheus`, `Alertmanager` or `ThanosRuler` (prometheus-operator,
/// with their `spec.podMetadata.labels`) or of a Rook `CephCluster`, `CephObjectStore`,
/// `CephFilesystem` or `CephNFS` in its namespace is fine on manifests; on a cluster, where
/// those Pods should exist, the finding names the resource whose operator has not created them.
///
/// ## Why it matters
/// A Service that selects nothing has no endpoints: it resolves in DNS but every connection
/// fails. The usual cause is a typo or a label renamed on one side only (Deployment changed,
/// Service forgotten), or the Service living in another namespace than its Pods. In manifests,
/// a Service meant for Pods that an operator detek does not know creates (labels set at run
/// time) fires too, as a warning: check that the operator really adds those labels.
///
/// ## How to fix
/// Compare `kubectl get svc NAME -n NS -o jsonpath='{.spec.selector}'` with
/// `kubectl get pods -n NS --show-labels`, then correct the selector or the template labels
/// (`kubectl get pods -n NS -l KEY=VALUE` must list the intended Pods).
///
/// ## Example
/// ```yaml
/// kind: Deployment
/// spec:
///   template:
///     metadata: {labels: {app: web}}
/// ---
/// kind: Service
/// spec:
///   selector: {app: wbe}        # fires: no Pod has app=wbe
/// ```
#[detector(
    id = "service_selector_matches_nothing",
    title = "Services whose selector matches no Pod",
    labels = ["kubernetes", "networking", "service"],
    level = Error,
    requires = [SERVICES, PODS_BY_LABEL, OBJECTS, CLUSTER_INFO],
    references = ["https://kubernetes.io/docs/concepts/services-networking/service/#defining-a-service"],
)]
pub struct ServiceSelectorMatchesNothing;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let services = ctx.get(&SERVICES)?;
    let index = ctx.get(&PODS_BY_LABEL)?;
    let with_selector: Vec<_> = services
        .iter()
        .filter_map(|s| Some((s, pod_selector(s)?)))
        .collect();
    let info = ctx.get(&CLUSTER_INFO)?;
    let objects = ctx.get(&OBJECTS)?;
    // Custom resources whose operator creates Pods: few, so collected once rather than looked
    // for among every object for each Service.
    let pod_makers: Vec<_> = objects
        .iter()
        .filter(|o| !o.makes_pods.is_empty())
        .collect();
    if index.is_empty() && pod_makers.is_empty() && !with_selector.is_empty() {
        let mut out = Outcome::new()
            .evaluated(0)
            .not_judged("the scan has no Pods and no workload templates");
        out.attach(
            "Not judged: the scan has no Pods and no workload templates",
            serde_json::json!({ "services_with_selector": with_selector.len() }),
        );
        return Ok(out);
    }
    let what = noun_for(index.holds(), false);
    let whats = noun_for(index.holds(), true);
    let mut out = Outcome::new().evaluated(with_selector.len());
    let mut operator_made: Vec<String> = Vec::new();
    for (svc, selector) in with_selector {
        let namespace = svc.namespace_or_default();
        if index.selects_any(namespace, selector) {
            continue;
        }
        let maker = pod_makers.iter().find(|o| {
            o.namespace.as_deref().unwrap_or("default") == namespace
                && o.makes_pods.iter().any(|pod| selected_by(pod, selector))
        });
        if let Some(maker) = maker
            && !info.whole_cluster
        {
            operator_made.push(format!(
                "{} (Pods of {})",
                svc.object_ref().display_name(),
                maker.object_ref().display_name()
            ));
            continue;
        }
        let mut finding = Finding::new(
            Level::Error,
            Some(svc.object_ref()),
            format!(
                "selector {} matches no {what} in namespace {namespace}",
                selector_string(selector)
            ),
        );
        // What the selector's keys are set to in that namespace: the typo is usually visible.
        for key in selector.keys() {
            let values: BTreeSet<&str> = index
                .in_namespace(namespace)
                .filter_map(|v| v.metadata.labels.as_ref()?.get(key).map(String::as_str))
                .collect();
            if !values.is_empty() {
                let listed: Vec<&str> = values.into_iter().take(5).collect();
                finding = finding.with_evidence(format!(
                    "{whats} in {namespace} have {key}={}",
                    listed.join(" | ")
                ));
            }
        }
        if let Some(maker) = maker {
            finding = finding.with_evidence(format!(
                "{} should have them: its operator has not created them",
                maker.object_ref().display_name()
            ));
        }
        out.push(finding);
    }
    if !operator_made.is_empty() {
        out.attach(
            "passed: Services selecting Pods an operator creates from a custom resource of the scan",
            serde_json::json!(operator_made),
        );
    }
    Ok(grade_references(out, info, Level::Error))
}

#[cfg(test)]
mod tests {
    use crate::testing::{finding_lines, fixture_dir, run_fixture, run_on};
    use detek_core::{Level, Settings};
    use detek_kubernetes_model::Input;

    /// kube-prometheus' and Rook's own Services select Pods their operators create from a
    /// Prometheus, an Alertmanager and a CephNFS: fine on manifests; a typo is still reported.
    #[test]
    fn services_of_operator_made_pods_pass_on_manifests() {
        let report = run_fixture("service_selector_matches_nothing", "operator-pods.yaml");
        assert_eq!(
            finding_lines(&report),
            vec![
                "Service/monitoring/prometheus-typo: selector app.kubernetes.io/name=prometheus,prometheus=k8z matches no workload template in namespace monitoring"
            ]
        );
        assert_eq!(report.findings[0].level, Level::Warn);
        let operator_made = report
            .attachment
            .iter()
            .find(|a| a.description.contains("an operator creates"))
            .expect("the operator-made Pods are listed");
        assert_eq!(
            operator_made.data,
            serde_json::json!([
                "Service/monitoring/prometheus-k8s (Pods of Prometheus/monitoring/k8s)",
                "Service/monitoring/alertmanager-main (Pods of Alertmanager/monitoring/main)",
                "Service/rook-ceph/rook-ceph-nfs-my-nfs-load-balancer (Pods of CephNFS/rook-ceph/my-nfs)"
            ])
        );
    }

    /// The same objects as a cluster's dump (with a Node): the operator should have created the
    /// Pods, so each Service is reported, naming the resource.
    #[test]
    fn services_of_operator_made_pods_missing_from_a_cluster_are_errors() {
        let report = run_on(
            "service_selector_matches_nothing",
            vec![
                Input::Path(
                    fixture_dir("service_selector_matches_nothing").join("operator-pods.yaml"),
                ),
                Input::Text {
                    name: "node.yaml".into(),
                    text: "apiVersion: v1\nkind: Node\nmetadata:\n  name: worker-1\n".into(),
                },
            ],
            Settings::default(),
        );
        let evidence: Vec<(String, Level, Vec<String>)> = report
            .findings
            .iter()
            .map(|f| {
                let name = f.object.as_ref().unwrap().display_name();
                (name, f.level, f.evidence.clone())
            })
            .collect();
        assert_eq!(
            evidence,
            vec![
                (
                    "Service/monitoring/prometheus-k8s".to_string(),
                    Level::Error,
                    vec!["Prometheus/monitoring/k8s should have them: its operator has not created them".to_string()]
                ),
                (
                    "Service/monitoring/alertmanager-main".to_string(),
                    Level::Error,
                    vec!["Alertmanager/monitoring/main should have them: its operator has not created them".to_string()]
                ),
                (
                    "Service/rook-ceph/rook-ceph-nfs-my-nfs-load-balancer".to_string(),
                    Level::Error,
                    vec!["CephNFS/rook-ceph/my-nfs should have them: its operator has not created them".to_string()]
                ),
                ("Service/monitoring/prometheus-typo".to_string(), Level::Error, vec![]),
            ]
        );
    }

    #[test]
    fn names_the_service_of_a_dump_that_selects_no_pod() {
        let report = run_fixture("service_selector_matches_nothing", "fail.yaml");
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        let f = &report.findings[0];
        let object = f.object.as_ref().unwrap();
        assert_eq!(object.name, "nodeport-service");
        assert_eq!(object.namespace.as_deref(), Some("services-4744"));
        assert!(
            f.message
                .starts_with("selector testid=nodeport-service-17b0506b")
                && f.message
                    .ends_with("matches no Pod in namespace services-4744"),
            "{}",
            f.message
        );
    }

    #[test]
    fn shows_the_label_values_next_to_a_manifest_typo() {
        let report = run_fixture("service_selector_matches_nothing", "fail-manifest.yaml");
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        let f = &report.findings[0];
        assert_eq!(f.object.as_ref().unwrap().display_name(), "Service/web");
        assert_eq!(
            f.message,
            "selector app=wbe,tier=frontend matches no workload template in namespace default"
        );
        assert!(
            f.evidence.iter().any(|e| e.contains("have app=web")),
            "{:?}",
            f.evidence
        );
    }

    #[test]
    fn passes_real_pods_and_statefulset_pod_name_selectors() {
        assert!(run_fixture("service_selector_matches_nothing", "pass.yaml").passed);
        assert!(
            run_fixture(
                "service_selector_matches_nothing",
                "pass-statefulset-pods.yaml"
            )
            .passed
        );
    }
}
