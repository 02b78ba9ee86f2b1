//! `deprecated_api_in_use` and `removed_api_in_use` on a real kube-apiserver, which answers
//! every object in the version asked for: the version an object was written with is read from
//! its last-applied annotation and its managed fields, and an object with neither is not judged.
//!
//! kube-apiserver v1.34 serves no deprecated version of a kind detek lists (its deprecated
//! `resource.k8s.io/v1beta1` is off by default), so the old versions are written the way a
//! cluster keeps them after an upgrade: in the last-applied annotation of an old
//! `kubectl apply`. (Managed fields of served versions are read the same way; see
//! `detek-kubernetes-model/src/written.rs` and the live crate's `list.rs` for their tests.)

mod live_common;

use live_common::*;
use serde_json::{Value, json};

fn env() -> &'static TestEnv {
    TestEnv::shared(|env| {
        let api = env.admin();
        create_objects(&api);
    })
}

fn last_applied(manifest: &Value) -> Value {
    json!({"kubectl.kubernetes.io/last-applied-configuration": manifest.to_string()})
}

/// Three revisions of a Helm 3 release (superseded, deployed, failed), as `helm` stores them:
/// the detek-kubernetes fixture built from pluto's e2e release Secret (see its SOURCES.md).
const HELM_HISTORY: &str =
    include_str!("../../detek-kubernetes/tests/fixtures/removed_api_in_use/fail-helm-history.json");

fn create_helm_release(api: &Api) {
    api.ensure_namespace("demo2");
    let list: Value = serde_json::from_str(HELM_HISTORY).unwrap();
    for secret in list["items"].as_array().unwrap() {
        api.create("/api/v1/namespaces/demo2/secrets", secret);
    }
}

fn create_objects(api: &Api) {
    create_helm_release(api);
    api.ensure_namespace("legacy-apis");
    api.ensure_namespace("unknown-writer");
    let template = json!({
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
    });
    // Applied long ago with `kubectl apply` from an extensions/v1beta1 manifest.
    let old_manifest = json!({
        "apiVersion": "extensions/v1beta1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "legacy-apis"},
        "spec": {"replicas": 1, "template": template},
    });
    api.create(
        "/apis/apps/v1/namespaces/legacy-apis/deployments",
        &json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "legacy-apis",
                         "annotations": last_applied(&old_manifest)},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}, "template": template},
        }),
    );
    // Applied with policy/v1beta1 before the upgrade to 1.25.
    let old_pdb = json!({
        "apiVersion": "policy/v1beta1", "kind": "PodDisruptionBudget",
        "metadata": {"name": "web", "namespace": "legacy-apis"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}},
    });
    let pdb = "/apis/policy/v1/namespaces/legacy-apis/poddisruptionbudgets";
    let created = api.create(
        pdb,
        &json!({
            "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": "web", "namespace": "legacy-apis",
                         "annotations": last_applied(&old_pdb)},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}},
        }),
    );
    // A managed-fields entry of a version the server no longer serves does not survive a
    // write (structured-merge-diff drops managers whose version it cannot convert to), so on
    // a live cluster managed fields show deprecated versions still served, and only the
    // last-applied annotation keeps removed ones: what this test can build.
    let mut managed = created["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .clone();
    managed.push(json!({
        "manager": "helm", "operation": "Update", "apiVersion": "policy/v1beta1",
        "time": "2021-03-01T10:00:00Z", "fieldsType": "FieldsV1",
        "fieldsV1": {"f:spec": {"f:minAvailable": {}}},
    }));
    let (status, body) = api.call_merge_patch(
        &format!("{pdb}/web"),
        &json!({"metadata": {"managedFields": managed}}),
    );
    assert_eq!(status, 200, "{body}");
    let managers: Vec<(&str, &str)> = body["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["manager"].as_str().unwrap(),
                m["apiVersion"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(managers, [("unknown", "policy/v1")]);
    // Applied with today's version: nothing to report.
    let current = json!({
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "report", "namespace": "legacy-apis"},
        "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {
            "restartPolicy": "OnFailure", "containers": [{"name": "report", "image": "busybox:1.36"}]}}}}},
    });
    let mut cronjob = current.clone();
    cronjob["metadata"]["annotations"] = last_applied(&current);
    api.create("/apis/batch/v1/namespaces/legacy-apis/cronjobs", &cronjob);

    // Neither annotation nor managed fields: an Ingress (a kind with removed versions) and a
    // ConfigMap (a kind that never had another version).
    let ingress = json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "shop", "namespace": "unknown-writer"},
        "spec": {"defaultBackend": {"service": {"name": "shop", "port": {"number": 80}}}},
    });
    let configmap = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "unknown-writer"},
        "data": {"mode": "fast"},
    });
    for (collection, object) in [
        (
            "/apis/networking.k8s.io/v1/namespaces/unknown-writer/ingresses",
            ingress,
        ),
        ("/api/v1/namespaces/unknown-writer/configmaps", configmap),
    ] {
        api.create(collection, &object);
        strip_managed_fields(
            api,
            &format!(
                "{collection}/{}",
                object["metadata"]["name"].as_str().unwrap()
            ),
        );
    }
}

/// The documented way to strip an object's managed fields: one empty entry.
fn strip_managed_fields(api: &Api, path: &str) {
    let (status, body) = api.call_merge_patch(path, &json!({"metadata": {"managedFields": [{}]}}));
    assert_eq!(status, 200, "PATCH {path}: {body}");
    assert!(
        body["metadata"].get("managedFields").is_none(),
        "{path} kept {}",
        body["metadata"]["managedFields"]
    );
}

fn admin() -> String {
    env().admin_kubeconfig().display().to_string()
}

/// `Kind/namespace/name: message [evidence]` of each finding.
fn findings(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}: {} {:?}",
                object_name(f),
                f["message"].as_str().unwrap(),
                f["evidence"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e.as_str().unwrap())
                    .collect::<Vec<_>>()
            )
        })
        .collect()
}

fn scan(namespace: &str, extra: &[&str]) -> Value {
    let kc = admin();
    let args = [
        &[
            "run",
            "-f",
            "json",
            "--select",
            "removed_api_in_use,deprecated_api_in_use",
            "--fail-on",
            "never",
            "--kubeconfig",
            &kc,
            "-n",
            namespace,
        ][..],
        extra,
    ]
    .concat();
    let run = detek(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json()
}

#[test]
fn the_versions_writers_used_are_judged() {
    let list = scan("legacy-apis", &[]);
    let removed = report_of(&list, "removed_api_in_use");
    assert_eq!(
        findings(&removed),
        [
            "Deployment/legacy-apis/web: extensions/v1beta1 Deployment was removed in Kubernetes v1.16 (target v1.34.4): use apps/v1 (available since v1.9) [\"written as extensions/v1beta1 (annotation kubectl.kubernetes.io/last-applied-configuration)\", \"deprecated since Kubernetes v1.9\"]",
            "PodDisruptionBudget/legacy-apis/web: policy/v1beta1 PodDisruptionBudget was removed in Kubernetes v1.25 (target v1.34.4): use policy/v1 (available since v1.21) [\"written as policy/v1beta1 (annotation kubectl.kubernetes.io/last-applied-configuration)\", \"deprecated since Kubernetes v1.21\"]",
        ]
    );
    assert_eq!(removed["result"], "findings");
    // Every object listed had a last-applied annotation or managed fields.
    assert!(removed.get("note").is_none(), "{removed}");
    let deprecated = report_of(&list, "deprecated_api_in_use");
    assert_eq!(deprecated["result"], "passed", "{deprecated}");

    // Before 1.25, policy/v1beta1 was deprecated, not removed.
    let list = scan("legacy-apis", &["--target-version", "1.22"]);
    assert_eq!(
        findings(&report_of(&list, "deprecated_api_in_use")),
        [
            "PodDisruptionBudget/legacy-apis/web: policy/v1beta1 PodDisruptionBudget is deprecated since Kubernetes v1.21, removed in v1.25 (target v1.22): use policy/v1 (available since v1.21) [\"written as policy/v1beta1 (annotation kubectl.kubernetes.io/last-applied-configuration)\"]",
        ]
    );
}

#[test]
fn an_object_whose_writers_are_unknown_is_not_judged() {
    let list = scan("unknown-writer", &[]);
    let removed = report_of(&list, "removed_api_in_use");
    assert_eq!(removed["result"], "not_judged", "{removed}");
    assert_eq!(
        removed["note"],
        "1 live object(s) have neither a last-applied annotation nor managed fields: the \
         apiVersion they were written with cannot be told (the API server answers in the \
         version asked for)"
    );
    let listed = removed["attachment"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| {
            a["description"] == "Not judged: live objects whose written apiVersion is unknown"
        })
        .unwrap_or_else(|| panic!("{removed}"));
    // The ConfigMap is judged: no other version of ConfigMap ever existed.
    assert_eq!(listed["data"], json!(["Ingress/unknown-writer/shop"]));
    // No deprecated (not removed) version of Ingress exists at v1.34: nothing left unjudged.
    let deprecated = report_of(&list, "deprecated_api_in_use");
    assert_eq!(deprecated["result"], "passed", "{deprecated}");
}

/// A live scan reads the deployed revision of a Helm release from its Secret (the manifest as
/// the chart rendered it), not the superseded or failed ones, and prints nothing of the values
/// or of a Secret the chart renders.
#[test]
fn the_latest_deployed_helm_revision_is_judged() {
    let list = scan("demo2", &[]);
    let removed = report_of(&list, "removed_api_in_use");
    assert_eq!(
        findings(&removed),
        [
            "HorizontalPodAutoscaler/demo2/demo2-basic-demo: autoscaling/v2beta1 HorizontalPodAutoscaler was removed in Kubernetes v1.25 (target v1.34.4): use autoscaling/v2 (available since v1.23) [\"rendered by Helm release demo2/demo2 revision 2 (chart basic-demo-0.3.3) (Secret/demo2/sh.helm.release.v1.demo2.v2)\", \"deprecated since Kubernetes v1.22\"]",
        ]
    );
    let text = list.to_string();
    for value in [
        "rendered-secret-value-7f3a",
        "values-secret-value-91c2",
        "cmVuZGVyZWQtc2VjcmV0",
    ] {
        assert!(!text.contains(value), "{value} reported");
    }
}
