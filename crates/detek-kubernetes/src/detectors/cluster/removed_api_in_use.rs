use super::{Lifecycle, detect_lifecycle};
use crate::prelude::*;

/// ## What it detects
/// Objects written with an apiVersion that the target Kubernetes version no longer serves:
/// `extensions/v1beta1` Deployments and Ingresses, `policy/v1beta1` PodSecurityPolicies and
/// PodDisruptionBudgets, `batch/v1beta1` CronJobs... The apiVersion is the one written in the
/// file or dump, compared with a table of deprecations and removals
/// (`data/api-lifecycle.yaml`, from FairwindsOps/pluto, and detek's additions in
/// `data/api-lifecycle-additions.yaml`: the v1beta1 access reviews, the CSI snapshotter's
/// `snapshot.storage.k8s.io/v1beta1`). The target is the setting
/// `kubernetes.target_version` (`--target-version`), else the cluster's version (live, or the
/// newest kubelet among the nodes of a dump), else the newest release the table names (v1.36
/// with the bundled table: plain manifests are checked against the latest Kubernetes).
/// cert-manager, Istio and external-snapshotter APIs in the table are checked the same way
/// against `cert-manager.target_version`, `istio.target_version` and
/// `external-snapshotter.target_version`, else their newest release in the table. The advised replacement follows the table's chain to an API that is neither
/// deprecated nor removed at the target (`certmanager.k8s.io/v1alpha1` → `cert-manager.io/v1`,
/// not the removed `cert-manager.io/v1alpha2`).
///
/// On a live cluster the API server returns every object in the version detek asks for, so the
/// versions it was written with are read as pluto reads them: the `apiVersion` of the
/// `kubectl.kubernetes.io/last-applied-configuration` annotation and of each
/// `metadata.managedFields` entry (the finding names the field manager; the API server drops
/// entries of versions it no longer serves at the object's next write, so a removed version
/// mostly shows in the annotation). A live object with neither is *not judged* (listed in an
/// attachment), unless no version of its kind is removed at the target.
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
/// The API server rejects these manifests: `kubectl apply` fails with `no matches for kind
/// "Deployment" in version "extensions/v1beta1"`, Helm upgrades break, and a cluster upgrade
/// can strand a release whose stored manifest still uses the old API. Objects stored in the
/// cluster are migrated by the API server; the files, charts and pipelines that create them
/// are not.
///
/// ## How to fix
/// Rewrite the manifest with the replacement apiVersion named in the finding (the schema may
/// have changed too: `networking.k8s.io/v1` Ingress uses `service.name`/`service.port`, `apps/v1`
/// requires `spec.selector`). `kubectl convert -f FILE --output-version apps/v1` (kubectl-convert
/// plugin) does the mechanical part. For Helm releases stuck on a removed API, see
/// `helm mapkubeapis`. Check a whole repository before upgrading with
/// `detek run --input DIR --target-version 1.NN`.
///
/// ## Example
/// ```yaml
/// apiVersion: extensions/v1beta1    # fires: removed in Kubernetes v1.16, use apps/v1
/// kind: DaemonSet
/// ```
#[detector(
    id = "removed_api_in_use",
    title = "Objects using API versions removed in the target Kubernetes version",
    labels = ["kubernetes", "cluster", "api-lifecycle"],
    level = Error,
    requires = [OBJECTS, CLUSTER_INFO, HELM_RELEASES],
    references = [
        "https://kubernetes.io/docs/reference/using-api/deprecation-guide/",
        "https://github.com/FairwindsOps/pluto",
    ],
)]
pub struct RemovedApiInUse;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    detect_lifecycle(ctx, Lifecycle::Removed, Level::Error)
}

#[cfg(test)]
mod tests {
    use crate::Input;
    use crate::testing::{run_fixture, run_on};
    use detek_core::Settings;

    fn text(yaml: &str) -> Vec<Input> {
        vec![Input::Text {
            name: "test.yaml".into(),
            text: yaml.into(),
        }]
    }

    /// detek's additions to pluto's table: the v1beta1 access reviews and the CSI
    /// snapshotter's v1beta1, judged against its own releases.
    #[test]
    fn knows_access_reviews_and_csi_snapshots() {
        let mut settings = Settings::new();
        settings.set("kubernetes.target_version", "1.30");
        let input = vec![Input::Path(
            crate::testing::fixture_dir("removed_api_in_use").join("fail-additions.yaml"),
        )];
        let report = run_on("removed_api_in_use", input, settings);
        assert_eq!(
            crate::testing::finding_lines(&report),
            [
                "SubjectAccessReview/: authorization.k8s.io/v1beta1 SubjectAccessReview was removed \
                 in Kubernetes v1.22 (target v1.30): use authorization.k8s.io/v1 (available since \
                 v1.6)",
                "VolumeSnapshot/shop/db-nightly: snapshot.storage.k8s.io/v1beta1 VolumeSnapshot was \
                 removed in external-snapshotter v6.0 (target v6.0): use snapshot.storage.k8s.io/v1 \
                 (available since v4.0)",
            ]
        );
    }

    #[test]
    fn names_the_object_the_removal_and_the_replacement() {
        let report = run_fixture("removed_api_in_use", "fail.yaml");
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "DaemonSet/newrelic-infra-agent"
        );
        assert_eq!(
            f.object.as_ref().unwrap().api_version.as_deref(),
            Some("extensions/v1beta1")
        );
        assert_eq!(
            f.message,
            "extensions/v1beta1 DaemonSet was removed in Kubernetes v1.16 (target v1.36): use apps/v1 (available since v1.9)"
        );
        assert_eq!(
            f.evidence,
            vec!["deprecated since Kubernetes v1.9".to_string()]
        );
        let target = &report
            .attachment
            .iter()
            .find(|a| a.description == "Target versions")
            .unwrap()
            .data;
        assert_eq!(target["k8s"]["version"], "v1.36");
        assert!(run_fixture("removed_api_in_use", "pass.yaml").passed);
    }

    #[test]
    fn the_target_comes_from_the_setting_then_the_nodes() {
        let pdb = "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: db}\nspec: {minAvailable: 1}\n";
        // policy/v1beta1 PDBs were removed in 1.25.
        let mut old = Settings::new();
        old.set("kubernetes.target_version", "1.24");
        assert!(run_on("removed_api_in_use", text(pdb), old).passed);
        let mut new = Settings::new();
        new.set("kubernetes.target_version", "v1.25.0");
        let report = run_on("removed_api_in_use", text(pdb), new);
        assert_eq!(report.findings.len(), 1);
        assert!(
            report.findings[0]
                .message
                .ends_with("(target v1.25): use policy/v1 (available since v1.21)")
        );
        // A dump's nodes give the cluster's version when no setting is given.
        let node = "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nstatus:\n  nodeInfo: {kubeletVersion: v1.23.17, kubeProxyVersion: '', osImage: '', kernelVersion: '', containerRuntimeVersion: '', operatingSystem: linux, architecture: amd64, machineID: '', systemUUID: '', bootID: ''}\n---\n";
        let report = run_on(
            "removed_api_in_use",
            text(&format!("{node}{pdb}")),
            Settings::new(),
        );
        assert!(report.passed, "{:?}", report.findings);
        let target = &report
            .attachment
            .iter()
            .find(|a| a.description == "Target versions")
            .unwrap()
            .data;
        assert_eq!(target["k8s"]["version"], "v1.23.17");
    }

    #[test]
    fn checks_cert_manager_apis_against_cert_manager_releases() {
        let cert = "apiVersion: cert-manager.io/v1alpha2\nkind: Certificate\nmetadata: {name: web, namespace: shop}\n";
        let report = run_on("removed_api_in_use", text(cert), Settings::new());
        assert_eq!(report.findings.len(), 1);
        assert_eq!(
            report.findings[0].message,
            "cert-manager.io/v1alpha2 Certificate was removed in cert-manager v1.6 (target v1.6): use cert-manager.io/v1"
        );
        let mut old = Settings::new();
        old.set("cert-manager.target_version", "1.5.3");
        assert!(run_on("removed_api_in_use", text(cert), old).passed);
    }

    #[test]
    fn cert_manager_advice_skips_replacements_removed_too() {
        // The table names cert-manager.io/v1alpha2 as the replacement, itself removed in v1.6.
        let issuer = "apiVersion: certmanager.k8s.io/v1alpha1\nkind: ClusterIssuer\nmetadata: {name: letsencrypt}\n";
        let report = run_on("removed_api_in_use", text(issuer), Settings::new());
        assert_eq!(report.findings.len(), 1);
        assert_eq!(
            report.findings[0].message,
            "certmanager.k8s.io/v1alpha1 ClusterIssuer was removed in cert-manager v0.11 (target v1.6): use cert-manager.io/v1"
        );
        // Before cert-manager.io/v1alpha2 was deprecated, it is the one to use.
        let mut old = Settings::new();
        old.set("cert-manager.target_version", "1.3");
        let report = run_on("removed_api_in_use", text(issuer), old);
        assert_eq!(
            report.findings[0].message,
            "certmanager.k8s.io/v1alpha1 ClusterIssuer was removed in cert-manager v0.11 (target v1.3): use cert-manager.io/v1alpha2"
        );
    }

    /// pluto's e2e Helm 3 release Secret (chart basic-demo 0.3.3, unchanged): every object of
    /// the release's manifest is judged.
    #[test]
    fn judges_the_objects_of_a_helm_release() {
        let report = run_fixture("removed_api_in_use", "fail-helm-release.json");
        let lines: Vec<String> = report
            .findings
            .iter()
            .map(|f| {
                format!(
                    "{} | {}",
                    crate::testing::finding_lines_of(f),
                    f.evidence.join(" | ")
                )
            })
            .collect();
        assert_eq!(
            lines,
            [
                "PodDisruptionBudget/demo2/demo2-basic-demo: policy/v1beta1 PodDisruptionBudget was \
                 removed in Kubernetes v1.25 (target v1.36): use policy/v1 (available since v1.21) \
                 | rendered by Helm release demo2/demo2 revision 1 (chart basic-demo-0.3.3) \
                 (Secret/demo2/sh.helm.release.v1.demo2.v1) | deprecated since Kubernetes v1.21",
                "HorizontalPodAutoscaler/demo2/demo2-basic-demo: autoscaling/v2beta1 \
                 HorizontalPodAutoscaler was removed in Kubernetes v1.25 (target v1.36): use \
                 autoscaling/v2 (available since v1.23) | rendered by Helm release demo2/demo2 \
                 revision 1 (chart basic-demo-0.3.3) (Secret/demo2/sh.helm.release.v1.demo2.v1) \
                 | deprecated since Kubernetes v1.22",
            ]
        );
    }

    /// Revisions 1 (superseded), 2 (deployed) and 3 (failed) of one release: only revision 2 is
    /// judged, and neither its values nor a Secret it renders reach the report.
    #[test]
    fn judges_only_the_latest_deployed_revision_and_keeps_no_secret_data() {
        let report = run_fixture("removed_api_in_use", "fail-helm-history.json");
        let lines: Vec<String> = report
            .findings
            .iter()
            .map(|f| {
                format!(
                    "{} | {}",
                    crate::testing::finding_lines_of(f),
                    f.evidence.join(" | ")
                )
            })
            .collect();
        assert_eq!(
            lines,
            [
                "HorizontalPodAutoscaler/demo2/demo2-basic-demo: autoscaling/v2beta1 \
                 HorizontalPodAutoscaler was removed in Kubernetes v1.25 (target v1.36): use \
                 autoscaling/v2 (available since v1.23) | rendered by Helm release demo2/demo2 \
                 revision 2 (chart basic-demo-0.3.3) (Secret/demo2/sh.helm.release.v1.demo2.v2) \
                 | deprecated since Kubernetes v1.22",
            ]
        );
        let reported = crate::testing::reported(&report);
        for value in [
            "rendered-secret-value-7f3a",
            "values-secret-value-91c2",
            "cmVuZGVyZWQtc2VjcmV0",
        ] {
            assert!(!reported.contains(value), "{value} reported");
        }
    }
}
