//! Faults between detek and a real kube-apiserver: unreachable, slow, forbidden, throttled
//! (429 + Retry-After), failing (500) and unserved kinds, and an etcd outage. Each ends with a
//! report that says what could not be checked, and nothing reported as passed that was not.
//!
//! Faults are injected by a small HTTP proxy (tests/live_common) in front of the real server;
//! everything it does not fault it forwards. The 403 test uses the server's own RBAC.

mod live_common;

use live_common::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::Duration;

/// Real dumps, plus 1,100 ConfigMaps in `paging` (three pages of 500).
fn env() -> &'static TestEnv {
    TestEnv::shared(|env| {
        let api = env.admin();
        load_real_dumps(&api);
        api.ensure_namespace("paging");
        for i in 0..1100 {
            api.create(
                "/api/v1/namespaces/paging/configmaps",
                &json!({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": format!("cm-{i:04}")}, "data": {"i": i.to_string()}}),
            );
        }
    })
}

fn via_proxy(faults: Vec<Fault>) -> (Proxy, tempfile::TempDir, String) {
    let env = env();
    let proxy = Proxy::start(env, faults);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("proxy.kubeconfig");
    proxy.kubeconfig(env, &path);
    let kc = path.display().to_string();
    (proxy, dir, kc)
}

/// Pods, and the keys derived from them: what fails when Pods cannot be listed.
/// Pods and what is derived from them: the previous runs' logs are read for the Pods listed
/// (restart forensics), so they fail with them.
const PODS_AND_DERIVED: [&str; 5] = [
    "kubernetes/pods",
    "kubernetes/objects",
    "kubernetes/pod-specs",
    "kubernetes/pods-by-label",
    "kubernetes/previous-logs",
];

/// Detector id → the keys it reads, from `detek list`.
fn requires() -> BTreeMap<String, BTreeSet<String>> {
    let run = detek(&["list", "-f", "json"]);
    run.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let keys = d["requires"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k.as_str().unwrap().to_string())
                .collect();
            (d["id"].as_str().unwrap().to_string(), keys)
        })
        .collect()
}

/// Every report reading one of `failed` keys is Unknown with `reason` in its error; every
/// other report was evaluated.
fn assert_only_dependents_unknown(list: &Value, failed: &[&str], reason: &str) -> usize {
    let requires = requires();
    let mut unknown = 0;
    for r in list["reports"].as_array().unwrap() {
        let id = r["id"].as_str().unwrap();
        let reads_failed = requires[id].iter().any(|k| failed.contains(&k.as_str()));
        if reads_failed {
            unknown += 1;
            assert_eq!(
                r["level"], "Unknown",
                "{id} reads {failed:?} but was reported {}",
                r["level"]
            );
            assert!(
                r["error"].as_str().unwrap_or("").contains(reason),
                "{id}: {}",
                r["error"]
            );
            assert_eq!(r["passed"], false);
        } else {
            assert_ne!(
                r["level"], "Unknown",
                "{id} does not read {failed:?}: {}",
                r["error"]
            );
        }
    }
    unknown
}

#[test]
fn lists_only_wanted_kinds_page_by_page_with_bounded_concurrency() {
    // Every answer is delayed a little so that concurrent requests overlap at the proxy.
    let (proxy, _dir, kc) = via_proxy(vec![Fault::delay("/", Duration::from_millis(150))]);
    let run = detek(&[
        "run",
        "all",
        "-f",
        "json",
        "--fail-on",
        "never",
        "--chunk-size",
        "500",
        "--kubeconfig",
        &kc,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let log = proxy.log();
    assert!(log.iter().all(|l| l.method == "GET"), "detek only reads");
    let max = proxy.max_in_flight();
    assert!(
        (2..=4).contains(&max),
        "requests in flight at once: {max} (bound 4)"
    );
    // 1,100 ConfigMaps: three pages of at most 500, the later ones with the continue token.
    let pages: Vec<String> = log
        .iter()
        .filter(|l| l.path.starts_with("/api/v1/configmaps"))
        .map(|l| l.path.clone())
        .collect();
    assert_eq!(pages.len(), 3, "{pages:?}");
    assert!(pages.iter().all(|p| p.contains("limit=500")));
    assert_eq!(pages.iter().filter(|p| p.contains("continue=")).count(), 2);
    let stats = &run.json()["collectors"][0]["stats"];
    assert!(stats["objects"].as_u64().unwrap() > 1100, "{stats}");

    // One detector: only its kinds are listed (plus the version, the kube-system namespace for
    // the cluster's identity, discovery, and Namespaces for their `detek.io/ignore`).
    let (proxy, _dir, kc) = via_proxy(vec![]);
    let run = detek(&[
        "run",
        "-f",
        "json",
        "--select",
        "failed_pod",
        "--kubeconfig",
        &kc,
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let paths: Vec<String> = proxy.log().into_iter().map(|l| l.path).collect();
    assert_eq!(
        paths
            .iter()
            .map(|p| p.split('?').next().unwrap())
            .collect::<BTreeSet<_>>(),
        // failed_pod reads Pods, and Jobs (a Job's failed attempts are job_failed's).
        BTreeSet::from([
            "/version",
            "/api/v1/namespaces/kube-system",
            "/api/v1",
            "/api/v1/namespaces",
            "/api/v1/pods",
            "/apis/batch/v1",
            "/apis/batch/v1/jobs"
        ]),
        "{paths:?}"
    );
}

#[test]
fn whole_lists_by_default_and_page_by_page_when_one_times_out() {
    // The first ConfigMaps request (the whole list) gets no answer within the timeout: the
    // kind is listed again 500 at a time, and the scan is complete.
    let (proxy, _dir, kc) = via_proxy(vec![
        Fault::delay("/api/v1/configmaps", Duration::from_secs(4)).times(1),
    ]);
    let run = detek(&[
        "run",
        "-f",
        "json",
        "--select",
        "failed_pod,missing_configmap_reference",
        "--fail-on",
        "never",
        "--request-timeout",
        "2s",
        "--kubeconfig",
        &kc,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let log = proxy.log();
    let lists = |prefix: &str| -> Vec<String> {
        log.iter()
            .filter(|l| l.path.starts_with(prefix))
            .map(|l| l.path.clone())
            .collect()
    };
    // Pods: one request, no limit.
    let pods = lists("/api/v1/pods");
    assert_eq!(pods.len(), 1, "{pods:?}");
    assert!(!pods[0].contains("limit="), "{pods:?}");
    // ConfigMaps (1,100): the whole list timed out (the proxy logs a request when it answers,
    // so that one is not in the log), then three pages of 500.
    let configmaps = lists("/api/v1/configmaps");
    assert_eq!(configmaps.len(), 3, "{configmaps:?}");
    assert!(configmaps.iter().all(|p| p.contains("limit=500")));
    assert_eq!(
        configmaps
            .iter()
            .filter(|p| p.contains("continue="))
            .count(),
        2
    );
    let report = run.json();
    assert_eq!(report["status"], "complete", "{}", run.stderr);
    assert!(
        report["collectors"][0]["stats"]["objects"]
            .as_u64()
            .unwrap()
            > 1100,
        "{}",
        report["collectors"][0]["stats"]
    );
}

#[test]
fn an_unreachable_server_is_one_clear_line_and_exit_2() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://127.0.0.1:{}", l.local_addr().unwrap().port());
    drop(l);
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("down.kubeconfig");
    write_kubeconfig(
        &kc,
        env().get("CA_FILE"),
        &[("down", &url, Some("t"))],
        "down",
    );
    let run = detek(&[
        "run",
        "-f",
        "json",
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--request-timeout",
        "5s",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.elapsed < Duration::from_secs(5),
        "took {:?}",
        run.elapsed
    );
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("collector"))
        .collect();
    assert_eq!(
        lines,
        [format!(
            "detek: collector kubernetes/live failed: cannot reach the Kubernetes API server at {url} \
             (context down): tcp connect error: Connection refused (os error 111)"
        )],
        "{}",
        run.stderr
    );
    let list = run.json();
    assert_eq!(list["status"], "nothing_collected");
    assert!(
        list["reports"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["level"] == "Unknown")
    );
}

#[test]
fn a_slow_server_is_bounded_by_the_request_timeout() {
    // Everything slow: the first request already times out.
    let (_proxy, _dir, kc) = via_proxy(vec![Fault::delay("/", Duration::from_secs(10))]);
    let run = detek(&[
        "run",
        "-f",
        "json",
        "--kubeconfig",
        &kc,
        "--request-timeout",
        "1s",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.elapsed < Duration::from_secs(4),
        "took {:?}",
        run.elapsed
    );
    assert!(
        run.stderr
            .contains("cannot reach the Kubernetes API server at http://127.0.0.1:")
            && run
                .stderr
                .contains("no answer within the request timeout (1s)"),
        "{}",
        run.stderr
    );

    // Only Pods slow: only the detectors reading Pods are Unknown.
    let (_proxy, _dir, kc) = via_proxy(vec![Fault::delay("/api/v1/pods", Duration::from_secs(10))]);
    let run = detek(&[
        "run",
        "all",
        "-f",
        "json",
        "--kubeconfig",
        &kc,
        "--request-timeout",
        "1s",
    ]);
    assert!(
        run.elapsed < Duration::from_secs(8),
        "took {:?}",
        run.elapsed
    );
    let list = run.json();
    assert_eq!(list["status"], "partial");
    let unknown = assert_only_dependents_unknown(
        &list,
        &PODS_AND_DERIVED,
        "no answer within the request timeout (1s)",
    );
    assert!(unknown >= 5);
    assert_eq!(report_of(&list, "node_not_ready")["level"], "Error");
}

#[test]
fn a_forbidden_kind_makes_only_its_detectors_unknown() {
    // Real RBAC: user `limited` may read everything detek reads except Pods.
    let env = env();
    let api = env.admin();
    let mut rules: Vec<Value> = detek_kubernetes_model::model::KINDS
        .iter()
        .filter(|k| k.plural != "pods")
        .map(|k| json!({"apiGroups": [k.group], "resources": [k.plural], "verbs": ["get", "list", "watch"]}))
        .collect();
    rules.push(json!({"nonResourceURLs": ["/version", "/readyz", "/livez"], "verbs": ["get"]}));
    api.create(
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        &json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                "metadata": {"name": "detek-test-all-but-pods"}, "rules": rules}),
    );
    api.create(
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        &json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                "metadata": {"name": "detek-test-all-but-pods"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "detek-test-all-but-pods"},
                "subjects": [{"kind": "User", "name": "limited", "apiGroup": "rbac.authorization.k8s.io"}]}),
    );
    let kc = env.limited_kubeconfig().display().to_string();
    // RBAC changes take effect within a moment.
    let mut run = detek(&["run", "all", "-f", "json", "--kubeconfig", &kc]);
    for _ in 0..20 {
        if run.json()["collectors"][0]["failed_keys"]
            .as_object()
            .map(|m| m.len())
            == Some(PODS_AND_DERIVED.len())
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
        run = detek(&["run", "all", "-f", "json", "--kubeconfig", &kc]);
    }
    assert_eq!(
        run.code, 2,
        "partial: exit 2 (DESIGN.md §4)\n{}",
        run.stderr
    );
    let allowed = detek(&[
        "run",
        "all",
        "-f",
        "json",
        "--kubeconfig",
        &kc,
        "--allow-partial",
    ]);
    assert_eq!(
        allowed.code, 1,
        "--allow-partial: the findings decide\n{}",
        allowed.stderr
    );
    assert_eq!(allowed.json()["status"], "partial");
    let list = run.json();
    let failed = list["collectors"][0]["failed_keys"].as_object().unwrap();
    let mut expected = PODS_AND_DERIVED.to_vec();
    expected.sort();
    assert_eq!(failed.keys().collect::<Vec<_>>(), expected, "{failed:?}");
    let reason = "forbidden: pods is forbidden: User \"limited\" cannot list resource \"pods\" in API group \"\" at the cluster scope";
    assert!(
        failed["kubernetes/pods"].as_str().unwrap().contains(reason),
        "{failed:?}"
    );
    assert_eq!(list["status"], "partial");
    let unknown = assert_only_dependents_unknown(&list, &PODS_AND_DERIVED, reason);
    assert!(unknown >= 5);
    // The rest ran: the NotReady node is found.
    assert!(
        finding_objects(&report_of(&list, "node_not_ready"))
            .contains(&"Node//kind-worker".to_string())
    );
}

#[test]
fn too_many_requests_is_retried_after_the_time_the_server_asks() {
    let (proxy, _dir, kc) = via_proxy(vec![
        Fault::status("/api/v1/pods", 429).retry_after(1).times(2),
    ]);
    let run = detek(&[
        "run",
        "-f",
        "json",
        "--select",
        "failed_pod",
        "--kubeconfig",
        &kc,
    ]);
    assert_eq!(
        run.code, 1,
        "retried, then listed: findings\n{}",
        run.stderr
    );
    let list = run.json();
    assert_eq!(report_of(&list, "failed_pod")["level"], "Error");
    assert_eq!(list["status"], "complete");
    let attempts = proxy.requests_to("/api/v1/pods");
    assert_eq!(
        attempts.iter().map(|a| a.status).collect::<Vec<_>>(),
        [429, 429, 200],
        "{attempts:?}"
    );
    for pair in attempts.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(
            gap >= Duration::from_millis(950),
            "retried after {gap:?}, Retry-After said 1s"
        );
    }
    let collector = &list["collectors"][0];
    assert_eq!(collector["stats"]["retries"], 2);
    let notes = collector["diagnostics"].to_string();
    assert!(
        notes.contains("GET /api/v1/pods retried after 1s (HTTP 429, Retry-After 1s)"),
        "{notes}"
    );
}

#[test]
fn a_failing_kind_makes_only_its_detectors_unknown() {
    let (proxy, _dir, kc) = via_proxy(vec![Fault::status("/api/v1/services", 500)]);
    let run = detek(&["run", "all", "-f", "json", "--kubeconfig", &kc]);
    assert_eq!(
        run.code, 2,
        "partial: exit 2 (DESIGN.md §4)\n{}",
        run.stderr
    );
    let list = run.json();
    assert_eq!(list["status"], "partial");
    let unknown = assert_only_dependents_unknown(
        &list,
        &[
            "kubernetes/services",
            "kubernetes/services-by-selector",
            "kubernetes/objects",
        ],
        "HTTP 500 InternalError: injected by the test proxy",
    );
    assert!(unknown >= 4, "{unknown}");
    // Retried with backoff before giving up: 1 + 4 attempts.
    assert_eq!(proxy.requests_to("/api/v1/services").len(), 5);
    assert!(
        run.stderr
            .contains("kubernetes/services unavailable: HTTP 500"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_kind_the_server_does_not_serve_is_skipped_not_failed() {
    let (proxy, _dir, kc) = via_proxy(vec![Fault::status("/apis/autoscaling/v2", 404)]);
    let run = detek(&["run", "all", "-f", "json", "--kubeconfig", &kc]);
    let list = run.json();
    let collector = &list["collectors"][0];
    assert!(collector.get("failed_keys").is_none(), "{collector}");
    assert_eq!(collector["stats"]["kinds_not_served"], 1);
    assert!(
        collector["diagnostics"]
            .to_string()
            .contains("kubernetes/horizontalpodautoscalers: not served by this cluster (autoscaling/v2 is not served)"),
        "{collector}"
    );
    assert!(
        proxy
            .requests_to("/apis/autoscaling/v2/horizontalpodautoscalers")
            .is_empty()
    );
    assert_eq!(list["status"], "complete");
    assert!(
        list["reports"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["level"] != "Unknown")
    );
}

#[test]
fn an_etcd_outage_is_fatal_and_a_stopped_server_is_refused() {
    // Its own API server: this test freezes its etcd, then stops it.
    let env = TestEnv::start("etcd");
    let api = env.admin();
    for o in read_dump(&data_dir().join("troubleshoot/message-oomkill-pod.json")) {
        load_object(&api, &o);
    }
    // Kept outside the environment's directory, which stopping deletes.
    let keep = tempfile::tempdir().unwrap();
    let kc_path = keep.path().join("admin.kubeconfig");
    std::fs::copy(env.admin_kubeconfig(), &kc_path).unwrap();
    let kc = kc_path.display().to_string();
    let etcd = env.get("ETCD_PID").to_string();
    let signal = |sig: &str| {
        assert!(
            Command::new("kill")
                .args([sig, &etcd])
                .status()
                .unwrap()
                .success()
        );
    };
    signal("-STOP");
    // The API server notices on its next etcd health probe.
    let mut noticed = false;
    for _ in 0..30 {
        let (status, _) = api.call_raw("GET", "/readyz", None, "text/plain");
        if status == 500 {
            noticed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(noticed, "readyz never failed with etcd frozen");
    let run = detek(&[
        "run",
        "-f",
        "json",
        "--select",
        "apiserver_unhealthy,failed_pod",
        "--kubeconfig",
        &kc,
        "--request-timeout",
        "8s",
    ]);
    signal("-CONT");
    assert_eq!(
        run.code, 2,
        "partial: exit 2 (DESIGN.md §4)\n{}",
        run.stderr
    );
    let list = run.json();
    let health = report_of(&list, "apiserver_unhealthy");
    assert_eq!(health["level"], "Fatal", "{health}");
    let messages: Vec<&str> = health["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(
        messages.iter().any(
            |m| m.starts_with("readyz: /readyz failed") && m.contains("etcd (reason withheld)")
        ),
        "{messages:?}"
    );
    // Pods cannot be listed without etcd: not checked, so not reported as passed.
    let failed = report_of(&list, "failed_pod");
    assert_eq!(failed["level"], "Unknown");
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("no answer within the request timeout (8s)"),
        "{failed}"
    );

    // The server stopped: connection refused, exit 2, well within the timeout.
    env.stop();
    let run = detek(&[
        "run",
        "-f",
        "json",
        "--kubeconfig",
        &kc,
        "--request-timeout",
        "10s",
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.elapsed < Duration::from_secs(5),
        "took {:?}",
        run.elapsed
    );
    assert!(run.stderr.contains("Connection refused"), "{}", run.stderr);
}

#[test]
fn an_expired_continue_token_fails_its_kind_not_the_scan() {
    // 410 Gone on a continue request: etcd compacted the snapshot mid-list. Only ConfigMaps
    // (1,100 of them) need a second page.
    let (proxy, _dir, kc) = via_proxy(vec![Fault::status("&continue=", 410)]);
    let run = detek(&[
        "run",
        "all",
        "-f",
        "json",
        "--chunk-size",
        "500",
        "--kubeconfig",
        &kc,
    ]);
    let list = run.json();
    let failed = list["collectors"][0]["failed_keys"]
        .as_object()
        .expect("a failed kind");
    assert_eq!(
        failed.keys().collect::<Vec<_>>(),
        ["kubernetes/configmaps", "kubernetes/objects"],
        "{failed:?}"
    );
    assert!(
        failed["kubernetes/configmaps"]
            .as_str()
            .unwrap()
            .contains("the list expired after 1 page(s)"),
        "{failed:?}"
    );
    assert_only_dependents_unknown(
        &list,
        &["kubernetes/configmaps", "kubernetes/objects"],
        "the list expired",
    );
    assert_eq!(
        proxy.requests_to("&continue=").len(),
        1,
        "410 is not retried"
    );
}
