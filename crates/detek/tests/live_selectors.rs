//! Service selectors against a real kube-apiserver: a Service that selects one StatefulSet
//! replica by the label the StatefulSet controller puts on each Pod
//! (`statefulset.kubernetes.io/pod-name`) selects that Pod, whichever replica it is — Services
//! are matched against every Pod (`kubernetes/pods-by-label`), not one Pod per controller.

mod live_common;

use live_common::*;
use serde_json::json;

const NS: &str = "stateful";

/// The environment with StatefulSet `web` and its Pods `web-0` and `web-1` as the StatefulSet
/// controller makes them (the test server runs no controllers), and one Service per replica.
fn env() -> &'static TestEnv {
    TestEnv::shared(|env| {
        let api = env.admin();
        api.ensure_namespace(NS);
        let labels = json!({"app": "web"});
        let template_spec = json!({"containers": [{"name": "nginx", "image": "nginx:1.27",
            "ports": [{"name": "http", "containerPort": 80}]}]});
        let sts = api.create(
            &collection("apps/v1", "StatefulSet", Some(NS)),
            &json!({
                "apiVersion": "apps/v1", "kind": "StatefulSet",
                "metadata": {"name": "web", "namespace": NS},
                "spec": {"replicas": 2, "serviceName": "web",
                         "selector": {"matchLabels": labels},
                         "template": {"metadata": {"labels": labels}, "spec": template_spec}},
            }),
        );
        let uid = sts["metadata"]["uid"].as_str().expect("StatefulSet uid");
        for name in ["web-0", "web-1"] {
            api.create(
                &collection("v1", "Pod", Some(NS)),
                &json!({
                    "apiVersion": "v1", "kind": "Pod",
                    "metadata": {
                        "name": name, "namespace": NS,
                        "labels": {"app": "web", "controller-revision-hash": "web-6d4cf56db6",
                                   "statefulset.kubernetes.io/pod-name": name},
                        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet",
                            "name": "web", "uid": uid, "controller": true,
                            "blockOwnerDeletion": true}],
                    },
                    "spec": template_spec,
                }),
            );
        }
        // One Service per replica (as Argo CD's redis-ha announce Services), and the
        // headless Service of the StatefulSet.
        let services = [
            (
                "web-0",
                json!({"statefulset.kubernetes.io/pod-name": "web-0"}),
            ),
            (
                "web-1",
                json!({"app": "web", "statefulset.kubernetes.io/pod-name": "web-1"}),
            ),
            ("web", json!({"app": "web"})),
        ];
        for (name, selector) in services {
            api.create(
                &collection("v1", "Service", Some(NS)),
                &json!({
                    "apiVersion": "v1", "kind": "Service",
                    "metadata": {"name": name, "namespace": NS},
                    "spec": {"selector": selector,
                             "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
                }),
            );
        }
    })
}

#[test]
fn a_service_selecting_a_statefulset_replica_by_pod_name_is_not_reported() {
    let env = env();
    let kc = env.admin_kubeconfig().display().to_string();
    let run = detek(&[
        "run",
        "--select",
        "service_selector_matches_nothing",
        "-f",
        "json",
        "--kubeconfig",
        &kc,
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = run.report("service_selector_matches_nothing");
    assert_eq!(report["level"], "Normal", "{report}");
    // Our three Services were judged (the `kubernetes` Service has no selector).
    assert_eq!(report["evaluated"], 3, "{report}");
    let in_namespace: Vec<String> = finding_objects(&report)
        .into_iter()
        .filter(|o| o.split('/').nth(1) == Some(NS))
        .collect();
    assert_eq!(in_namespace, Vec::<String>::new(), "{report}");
    assert!(
        report["findings"].as_array().unwrap().is_empty(),
        "{report}"
    );
}
