//! Engine behaviour on a real kube-apiserver: `detek.io/ignore` honoured whatever detectors are
//! selected, the cluster's identity, and several contexts scanned concurrently within a bound.

mod live_common;

use live_common::*;
use serde_json::{Value, json};
use std::time::Duration;

/// Pods that restarted 7 times: one annotated to ignore `pod_restarting`, one in a namespace
/// annotated so, one not ignored.
fn env() -> &'static TestEnv {
    TestEnv::shared(|env| {
        let api = env.admin();
        api.create(
            "/api/v1/namespaces",
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {
                "name": "engine-quiet",
                "annotations": {"detek.io/ignore": "pod_restarting"}}}),
        );
        for (namespace, name, ignore) in [
            ("engine", "restarts-kept", None),
            ("engine", "restarts-ignored", Some("pod_restarting")),
            ("engine-quiet", "restarts-in-quiet-namespace", None),
        ] {
            let mut metadata = json!({"name": name, "namespace": namespace});
            if let Some(ids) = ignore {
                metadata["annotations"] = json!({"detek.io/ignore": ids});
            }
            load_object(
                &api,
                &json!({
                    "apiVersion": "v1", "kind": "Pod", "metadata": metadata,
                    "spec": {"containers": [{"name": "app", "image": "registry.example.com/app:1.0"}]},
                    "status": {"phase": "Running", "containerStatuses": [{
                        "name": "app", "image": "registry.example.com/app:1.0", "imageID": "",
                        "ready": true, "restartCount": 7,
                        "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}},
                        "state": {"running": {}}}]}
                }),
            );
        }
    })
}

fn admin() -> String {
    env().admin_kubeconfig().display().to_string()
}

/// `detek run --select pod_restarting -f json` on the cluster of `kubeconfig`.
fn restarts(kubeconfig: &str) -> Run {
    detek(&[
        "run",
        "--select",
        "pod_restarting",
        "-f",
        "json",
        "--fail-on",
        "never",
        "--kubeconfig",
        kubeconfig,
    ])
}

#[test]
fn select_one_detector_still_applies_ignore_annotations() {
    let run = restarts(&admin());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.report("pod_restarting");
    let findings: Vec<(String, Value)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let o = &f["object"];
            (
                format!(
                    "{}/{}",
                    o["namespace"].as_str().unwrap(),
                    o["name"].as_str().unwrap()
                ),
                f["suppressed"].clone(),
            )
        })
        .collect();
    assert_eq!(
        findings,
        vec![
            (
                "engine-quiet/restarts-in-quiet-namespace".to_string(),
                json!("annotation detek.io/ignore on namespace engine-quiet")
            ),
            (
                "engine/restarts-ignored".to_string(),
                json!("annotation detek.io/ignore on Pod restarts-ignored")
            ),
            ("engine/restarts-kept".to_string(), Value::Null),
        ]
    );
    assert_eq!(report["suppressed"], 2);
    assert_eq!(report["level"], "Warn");
}

#[test]
fn a_live_cluster_is_identified_by_its_kube_system_namespace() {
    let uid = env().admin().get("/api/v1/namespaces/kube-system")["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_string();
    let run = restarts(&admin());
    let list = run.json();
    assert_eq!(list["target"]["identity"], format!("cluster:uid:{uid}"));
    assert_eq!(list["target"]["context"], "detek-testenv-admin");
    // The same cluster through another context name and URL (the proxy) is the same target,
    // so its findings keep their fingerprints.
    let proxy = Proxy::start(env(), vec![]);
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("proxy.kubeconfig");
    proxy.kubeconfig(env(), &kc);
    let again = restarts(kc.to_str().unwrap());
    let again = again.json();
    assert_eq!(again["target"]["identity"], list["target"]["identity"]);
    let prints = |l: &Value| -> Vec<String> {
        report_of(l, "pod_restarting")["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["fingerprint"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(prints(&list).len(), 3);
    assert_eq!(prints(&list), prints(&again));
}

/// Completion times, at the proxy, of the Pod lists of `contexts` contexts scanned with
/// `--concurrency N`, every Pod list held 2 s by the proxy.
fn pod_list_times(contexts: usize, concurrency: usize) -> (Vec<Duration>, Value) {
    let delay = Duration::from_secs(2);
    let proxy = Proxy::start(env(), vec![Fault::delay("/api/v1/pods", delay)]);
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("contexts.kubeconfig");
    let names: Vec<String> = (0..contexts).map(|i| format!("cluster-{i}")).collect();
    let entries: Vec<(&str, &str, Option<&str>)> = names
        .iter()
        .map(|n| (n.as_str(), proxy.url.as_str(), None))
        .collect();
    write_kubeconfig(&kc, env().get("CA_FILE"), &entries, "cluster-0");
    let kc = kc.display().to_string();
    let concurrency = concurrency.to_string();
    let mut args = vec![
        "run",
        "--select",
        "pod_restarting",
        "-f",
        "json",
        "--fail-on",
        "never",
        "--kubeconfig",
        &kc,
        "--concurrency",
        &concurrency,
    ];
    for name in &names {
        args.extend(["--context", name.as_str()]);
    }
    let run = detek(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut times: Vec<Duration> = proxy
        .requests_to("/api/v1/pods")
        .into_iter()
        .map(|l| l.at)
        .collect();
    times.sort();
    (times, run.json())
}

#[test]
fn contexts_are_scanned_concurrently_within_the_bound() {
    // Two contexts at once: both Pod lists are held by the proxy at the same time, so they
    // complete together; one at a time, the second completes a whole delay after the first.
    let (together, doc) = pod_list_times(2, 4);
    assert_eq!(together.len(), 2, "{together:?}");
    assert!(
        together[1] - together[0] < Duration::from_millis(1500),
        "{together:?}"
    );
    let sections: Vec<&str> = doc["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["target"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(sections, ["cluster-0", "cluster-1"]);

    let (one_at_a_time, _) = pod_list_times(2, 1);
    assert!(
        one_at_a_time[1] - one_at_a_time[0] >= Duration::from_secs(2),
        "{one_at_a_time:?}"
    );

    // Three contexts, at most two at a time: the third list completes a delay later.
    let (bounded, doc) = pod_list_times(3, 2);
    assert_eq!(bounded.len(), 3, "{bounded:?}");
    assert!(
        bounded[1] - bounded[0] < Duration::from_millis(1500),
        "{bounded:?}"
    );
    assert!(
        bounded[2] - bounded[0] >= Duration::from_secs(2),
        "{bounded:?}"
    );
    assert_eq!(doc["clusters"].as_array().unwrap().len(), 3);
}
