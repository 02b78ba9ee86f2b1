use super::{Lifecycle, detect_lifecycle};
use crate::prelude::*;

/// ## What it detects
/// Objects written with an apiVersion that the target Kubernetes version still serves but has
/// deprecated: deprecated in a release at or before the target, removed after it (or not
/// scheduled for removal). APIs already removed at the target are `removed_api_in_use`'s
/// findings. The apiVersion is the one written in the file or dump, compared with a table of
/// deprecations and removals (`data/api-lifecycle.yaml`, from FairwindsOps/pluto, with
/// detek's additions in `data/api-lifecycle-additions.yaml`). The target
/// is the setting `kubernetes.target_version` (`--target-version`), else the cluster's version
/// (live, or the newest kubelet among the nodes of a dump), else the newest release the table
/// names (v1.36 with the bundled table). cert-manager, Istio and external-snapshotter APIs are
/// checked against `cert-manager.target_version`, `istio.target_version` and
/// `external-snapshotter.target_version`, else their newest release in the table.
///
/// On a live cluster the API server returns every object in the version detek asks for, so the
/// versions it was written with are read as pluto reads them: the `apiVersion` of the
/// `kubectl.kubernetes.io/last-applied-configuration` annotation and of each
/// `metadata.managedFields` entry (the finding names the field manager). A live object with
/// neither is *not judged* (listed in an attachment), unless no version of its kind is
/// deprecated at the target.
///
/// Helm 3 release Secrets (`sh.helm.release.v1.*`, type `helm.sh/release.v1`) are decoded at
/// ingestion: every object of the latest deployed revision of each release (its `manifest`,
/// as the chart rendered it) is checked too, named as the manifest names it, with the release
/// and its Secret as evidence; `helm upgrade` re-applies that manifest, so it fails on a
/// removed API even when the cluster's copy was converted. Only the release's name, revision,
/// status, chart and its objects' apiVersion, kind and name are kept, never the values or
/// other data. An object already reported from the scan itself is not reported again.
///
/// ## Why it matters
/// A deprecated API works today and breaks at the upgrade that removes it: `kubectl apply`
/// and Helm then fail with `no matches for kind`. The API server already warns about each use
/// (`Warning: policy/v1beta1 PodDisruptionBudget is deprecated in v1.21+`), and clients that
/// hide warnings (pipelines, operators) keep using it until the day it is gone.
///
/// ## How to fix
/// Move the manifest to the replacement apiVersion named in the finding, checking the schema
/// differences (the deprecation guide lists them per API), before upgrading to the release
/// that removes it. `kubectl convert -f FILE --output-version policy/v1` (kubectl-convert
/// plugin) does the mechanical part; `kubectl get --raw /metrics | grep
/// apiserver_requested_deprecated_apis` shows which deprecated APIs a cluster still receives.
/// On a live cluster, fix what writes the object: the manifest or chart that was last applied,
/// or the client named as field manager.
///
/// ## Example
/// ```yaml
/// apiVersion: policy/v1beta1        # fires at 1.21-1.24: deprecated, use policy/v1
/// kind: PodDisruptionBudget
/// ```
#[detector(
    id = "deprecated_api_in_use",
    title = "Objects using deprecated API versions",
    labels = ["kubernetes", "cluster", "api-lifecycle"],
    level = Warn,
    requires = [OBJECTS, CLUSTER_INFO, HELM_RELEASES],
    references = [
        "https://kubernetes.io/docs/reference/using-api/deprecation-guide/",
        "https://github.com/FairwindsOps/pluto",
    ],
)]
pub struct DeprecatedApiInUse;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    detect_lifecycle(ctx, Lifecycle::Deprecated, Level::Warn)
}

#[cfg(test)]
mod tests {
    use crate::Input;
    use crate::testing::{fixture_dir, run_on};
    use detek_core::Settings;

    fn at(version: &str) -> Settings {
        let mut s = Settings::new();
        s.set("kubernetes.target_version", version);
        s
    }

    fn fixture(file: &str) -> Vec<Input> {
        vec![Input::Path(fixture_dir("deprecated_api_in_use").join(file))]
    }

    #[test]
    fn names_each_object_the_deprecation_and_the_replacement() {
        let report = run_on("deprecated_api_in_use", fixture("fail.yaml"), at("1.21"));
        let found: Vec<(String, &str)> = report
            .findings
            .iter()
            .map(|f| {
                (
                    f.object.as_ref().unwrap().display_name(),
                    f.message.as_str(),
                )
            })
            .collect();
        assert_eq!(
            found,
            vec![
                (
                    "PodSecurityPolicy/privileged".to_string(),
                    "policy/v1beta1 PodSecurityPolicy is deprecated since Kubernetes v1.21, removed in v1.25 (target v1.21): no replacement API"
                ),
                (
                    "PodSecurityPolicy/restricted".to_string(),
                    "policy/v1beta1 PodSecurityPolicy is deprecated since Kubernetes v1.21, removed in v1.25 (target v1.21): no replacement API"
                ),
            ]
        );
        let source = report.findings[0]
            .object
            .as_ref()
            .unwrap()
            .source
            .as_ref()
            .unwrap();
        assert!(
            source.file.ends_with("fail.yaml") && source.line > 1,
            "{source:?}"
        );
        // Before 1.21 it was not deprecated yet; from 1.25 it is removed, not deprecated.
        assert!(run_on("deprecated_api_in_use", fixture("fail.yaml"), at("1.20")).passed);
        assert!(run_on("deprecated_api_in_use", fixture("fail.yaml"), at("1.25")).passed);
    }

    #[test]
    fn an_unscheduled_removal_is_said_so() {
        let vac = "apiVersion: storage.k8s.io/v1beta1\nkind: VolumeAttributesClass\nmetadata: {name: gold}\ndriverName: csi.example.com\n";
        let input = vec![Input::Text {
            name: "vac.yaml".into(),
            text: vac.into(),
        }];
        let report = run_on("deprecated_api_in_use", input, Settings::new());
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        assert_eq!(
            report.findings[0].message,
            "storage.k8s.io/v1beta1 VolumeAttributesClass is deprecated since Kubernetes v1.34, removal not scheduled (target v1.36): use storage.k8s.io/v1 (available since v1.34)"
        );
    }

    #[test]
    fn a_bad_target_version_is_an_error_not_a_pass() {
        let report = run_on("deprecated_api_in_use", fixture("pass.yaml"), at("latest"));
        assert_eq!(report.level, detek_core::Level::Unknown);
        assert!(
            report
                .error
                .as_deref()
                .unwrap_or("")
                .contains("kubernetes.target_version"),
            "{:?}",
            report.error
        );
    }
}
