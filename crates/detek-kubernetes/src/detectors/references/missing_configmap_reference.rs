use super::{NameIndex, Scope, Target, check_references, not_judged, specs_to_check, summaries_of};
use crate::detectors::helpers::grade_references;
use crate::prelude::*;

/// ## What it detects
/// Pods and workload templates that reference a ConfigMap the scan does not contain, or a key
/// the ConfigMap does not have: `configMap` and projected volumes (with their `items`),
/// `envFrom.configMapRef` and `env[].valueFrom.configMapKeyRef` of init and regular containers.
/// References marked `optional: true` are fine. A Pod whose controller's template is in the scan
/// is checked through that template, once.
///
/// It judges only when the scan contains ConfigMaps: a set of manifests without any ConfigMap
/// cannot tell, and the report then says so in a note instead of guessing. In a dump (not a
/// live scan), only namespaces holding at least one ConfigMap are judged: a dump of some
/// namespaces' ConfigMaps says nothing about the others. ConfigMaps the
/// cluster (or the mesh) publishes into every namespace are taken as present; the setting
/// `assume_present` lists them (default `["kube-root-ca.crt", "openshift-service-ca.crt",
/// "istio-ca-root-cert"]`). A ConfigMap in the scan that could not
/// be read (a malformed document) still counts as present, its keys unknown.
///
/// ## Why it matters
/// The kubelet cannot start a container whose ConfigMap (or key) is missing: an env reference
/// leaves the Pod in `CreateContainerConfigError`, a volume leaves it in `ContainerCreating` with
/// `FailedMount` events. A rollout that references a ConfigMap not yet applied (a typo, a
/// rename, a Helm/kustomize name suffix) stalls with the new Pods never ready.
///
/// ## How to fix
/// Create the ConfigMap in the Pod's namespace, or fix the name or key in the workload:
/// `kubectl get configmap NAME -n NS -o yaml` shows what exists,
/// `kubectl describe pod POD -n NS` shows the kubelet's error. If the ConfigMap is really
/// optional, say so with `optional: true`.
///
/// ## Example
/// ```yaml
/// kind: Deployment
/// spec:
///   template:
///     spec:
///       containers:
///       - name: app
///         envFrom:
///         - configMapRef: {name: app-config}   # fires when no ConfigMap app-config exists
///       volumes:
///       - name: extra
///         configMap: {name: extras, optional: true}   # fine: optional
/// ```
#[detector(
    id = "missing_configmap_reference",
    title = "Pods referencing ConfigMaps (or keys) that do not exist",
    labels = ["kubernetes", "references", "configmap"],
    level = Error,
    requires = [POD_SPECS, CONFIGMAPS, OBJECTS, CLUSTER_INFO],
    references = ["https://kubernetes.io/docs/concepts/configuration/configmap/"],
    settings = MissingConfigmapReferenceSettings,
)]
pub struct MissingConfigmapReference;

/// Settings of `missing_configmap_reference`.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct MissingConfigmapReferenceSettings {
    /// ConfigMaps taken as present in every namespace (published by the cluster or the mesh).
    #[setting(default = ["kube-root-ca.crt", "openshift-service-ca.crt", "istio-ca-root-cert"])]
    pub assume_present: Vec<String>,
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let configmaps = ctx.get(&CONFIGMAPS)?;
    let objects = ctx.get(&OBJECTS)?;
    let present = summaries_of(objects, "ConfigMap");
    let scope = Scope::of_kind(ctx.get(&CLUSTER_INFO)?.live, objects, "ConfigMap");
    if scope.is_empty() {
        return Ok(not_judged("ConfigMaps"));
    }
    let settings: MissingConfigmapReferenceSettings = ctx.settings_of()?;
    let assume_present = settings.assume_present;
    let specs = specs_to_check(ctx)?;
    let index = NameIndex::new(
        configmaps
            .iter()
            .map(|c| (c.namespace(), c.name(), c.as_ref())),
    );
    let find = |namespace: Option<&str>, name: &str| match index.find(namespace, name) {
        Some(cm) => {
            let data = cm.data.iter().flat_map(|d| d.keys());
            let binary = cm.binary_data.iter().flat_map(|d| d.keys());
            Some(Some(
                data.chain(binary).map(String::as_str).collect::<Vec<_>>(),
            ))
        }
        None => present.find(namespace, name).map(|_| None),
    };
    let skip = |_: &PodSpecView, name: &str| assume_present.iter().any(|n| n == name);
    let out = check_references(
        &specs,
        &scope,
        Target::ConfigMap,
        "ConfigMap",
        "ConfigMaps",
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
    fn names_the_workload_and_where_the_missing_configmap_is_used() {
        let report = run_fixture("missing_configmap_reference", "fail.yaml");
        let messages: Vec<_> = finding_lines(&report);
        assert_eq!(
            messages,
            vec![
                "Deployment/shop/web: ConfigMap \"web-config\" not found in namespace shop (referenced by envFrom of container \"web\")",
                "Deployment/shop/web: ConfigMap \"settings\" has no key \"log_level\" (referenced by env LOG_LEVEL of container \"web\")",
            ]
        );
    }

    #[test]
    fn optional_and_present_references_pass_and_no_configmaps_means_no_judgement() {
        assert!(run_fixture("missing_configmap_reference", "pass.yaml").passed);
        let report = run_fixture("missing_configmap_reference", "pass_no_configmaps.yaml");
        assert!(report.passed);
        assert_eq!(report.evaluated, Some(0));
        assert!(
            report
                .attachment
                .iter()
                .any(|a| a.description == "not judged")
        );
        assert!(run_fixture("missing_configmap_reference", "pass_optional.yaml").passed);
    }

    #[test]
    fn real_manifests_missing_a_file_report_each_configmap() {
        // kube-prometheus's Grafana without grafana-dashboardDefinitions.yaml: its 33 dashboards.
        let report = run_fixture("missing_configmap_reference", "fail_grafana.yaml");
        assert_eq!(report.findings.len(), 33);
        assert_eq!(
            report.findings[0].message,
            "ConfigMap \"grafana-dashboard-alertmanager-overview\" not found in namespace monitoring (referenced by volume \"grafana-dashboard-alertmanager-overview\")"
        );
        assert_eq!(
            report.findings[0].object.as_ref().unwrap().display_name(),
            "Deployment/monitoring/grafana"
        );
    }
}
