//! Live scans of a real kube-apiserver holding real dumps (tests/data/live, SOURCES.md):
//! findings, live/offline parity, Secrets, scoping, several contexts, target resolution.

mod live_common;

use live_common::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// The shared environment: the real dumps, plus two Secrets (TLS and Opaque) created the way
/// `kubectl apply` creates them (with the last-applied annotation that copies their data).
fn env() -> &'static TestEnv {
    TestEnv::shared(|env| {
        let api = env.admin();
        let n = load_real_dumps(&api);
        assert!(n > 60, "loaded {n} objects");
        create_secrets(env, &api);
    })
}

struct SecretMaterial {
    key_pem: String,
    crt_pem: String,
    password: &'static str,
}

fn secret_material() -> &'static SecretMaterial {
    static M: std::sync::OnceLock<SecretMaterial> = std::sync::OnceLock::new();
    M.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        // A real certificate and key; the certificate expires in 5 days, so that
        // tls_secret_expiring proves the certificate was read.
        let out = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "5",
            ])
            .args([
                "-subj",
                "/CN=shop.example.com",
                "-addext",
                "subjectAltName=DNS:shop.example.com",
            ])
            .arg("-keyout")
            .arg(dir.path().join("tls.key"))
            .arg("-out")
            .arg(dir.path().join("tls.crt"))
            .output()
            .expect("openssl (the testenv needs it too)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let key_pem = std::fs::read_to_string(dir.path().join("tls.key")).unwrap();
        let crt_pem = std::fs::read_to_string(dir.path().join("tls.crt")).unwrap();
        SecretMaterial {
            key_pem,
            crt_pem,
            password: "hunter2-d3tek-must-never-print-this",
        }
    })
}

fn create_secrets(_env: &TestEnv, api: &Api) {
    let m = secret_material();
    let crt = &m.crt_pem;
    api.ensure_namespace("secrets-test");
    let tls = json!({
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
        "metadata": {"name": "shop-tls", "namespace": "secrets-test"},
        "data": {"tls.crt": base64_encode(crt.as_bytes()), "tls.key": base64_encode(m.key_pem.as_bytes())},
    });
    let opaque = json!({
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": "db-password", "namespace": "secrets-test"},
        "data": {"password": base64_encode(m.password.as_bytes()), "user": base64_encode(b"shop")},
    });
    for mut s in [tls, opaque] {
        // What `kubectl apply` stores: the whole manifest, data included, in an annotation.
        let applied = s.to_string();
        s["metadata"]["annotations"] =
            json!({"kubectl.kubernetes.io/last-applied-configuration": applied});
        api.create("/api/v1/namespaces/secrets-test/secrets", &s);
    }
}

fn admin() -> String {
    env().admin_kubeconfig().display().to_string()
}

#[test]
fn a_live_scan_reports_what_the_real_dumps_hold() {
    let run = detek(&["run", "all", "-f", "json", "--kubeconfig", &admin()]);
    assert_eq!(
        run.code, 1,
        "findings at error level → exit 1\n{}",
        run.stderr
    );
    let list = run.json();
    let identity = list["target"]["identity"].as_str().unwrap().to_string();
    assert!(identity.starts_with("cluster:uid:"), "{identity}");
    assert_eq!(
        list["target"],
        json!({"kind": "cluster", "name": "detek-testenv-admin",
               "context": "detek-testenv-admin", "identity": identity})
    );
    assert_eq!(list["status"], "complete", "{}", run.stderr);
    let collector = &list["collectors"][0];
    assert_eq!(collector["id"], "kubernetes/live");
    assert_eq!(collector["ok"], true);
    assert!(collector.get("failed_keys").is_none(), "{collector}");
    assert_eq!(collector["stats"]["retries"], 0);
    assert!(
        collector["stats"]["objects"].as_u64().unwrap() > 60,
        "{collector}"
    );

    let expect = |id: &str, level: &str, objects: &[&str]| {
        let r = report_of(&list, id);
        assert_eq!(r["level"], level, "{id}: {r}");
        let named = finding_objects(&r);
        for o in objects {
            assert!(
                named.iter().any(|n| n == o),
                "{id} does not name {o}: {named:?}"
            );
        }
    };
    // troubleshoot's OOMKilled Job Pod, its CrashLoopBackOff Pod, its unschedulable Pod.
    expect(
        "oomkilled_container",
        "Error",
        &["Pod/message-oomkill-pod/oom-kill-job3-gbb89"],
    );
    expect(
        "crashloop_backoff",
        "Error",
        &["Pod/message-pod-crashloop-backoff/init-demo"],
    );
    expect(
        "pod_pending_unschedulable",
        "Error",
        &[
            "Pod/message-pending-pod-resources/pending-pod-resources-5fddcf7688-djjfc",
            "Pod/kube-system/coredns-74ff55c5b-cpfqs",
            "Pod/scraper/e2e-container-pending",
        ],
    );
    // nri-kubernetes' failed Job Pods; sonobuoy's NotReady node.
    expect(
        "failed_pod",
        "Error",
        &[
            "Pod/scraper/e2e-failjob-cdhgp",
            "Pod/message-oomkill-pod/oom-kill-job3-gbb89",
        ],
    );
    expect("node_not_ready", "Error", &["Node//kind-worker"]);
    let crash = report_of(&list, "crashloop_backoff");
    assert!(crash.to_string().contains("exit code 127"), "{crash}");

    // The API server's own health was asked (its verdict depends on the machine's load:
    // etcd's health check has a 2 s budget).
    let health = report_of(&list, "apiserver_unhealthy");
    assert_eq!(health["evaluated"], 2, "{health}");
    assert_ne!(health["level"], "Unknown");
}

#[test]
fn live_and_offline_scans_of_the_same_objects_agree() {
    let env = env();
    let api = env.admin();
    // A `kubectl get <kind> -A -o yaml` of every kind detek reads, from the API's lists.
    let dump = tempfile::tempdir().unwrap();
    let mut holding: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for kind in detek_kubernetes_model::model::KINDS {
        let prefix = if kind.group.is_empty() {
            "/api"
        } else {
            "/apis"
        };
        let list = api.get(&format!("{prefix}/{}/{}", kind.api_version, kind.plural));
        let items: Vec<Value> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                let mut i = i.clone();
                i["apiVersion"] = json!(kind.api_version);
                i["kind"] = json!(kind.kind);
                i
            })
            .collect();
        let namespaces = items
            .iter()
            .filter_map(|i| i["metadata"]["namespace"].as_str().map(str::to_string));
        holding.entry(kind.plural).or_default().extend(namespaces);
        let doc = json!({"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}});
        let yaml = serde_saphyr::to_string(&doc).unwrap();
        std::fs::write(dump.path().join(format!("{}.yaml", kind.plural)), yaml).unwrap();
    }
    let dir = dump.path().display().to_string();
    // Objects were created seconds ago: no grace period for young objects (live scans give
    // new LoadBalancers and claims some minutes; a dump has no clock to measure ages by).
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_dir.path().join("detek.yaml");
    std::fs::write(
        &config,
        "detectors:\n  loadbalancer_without_address: {grace_minutes: 0}\n  pvc_pending: {grace_minutes: 0}\n",
    )
    .unwrap();
    let config = config.display().to_string();
    let common = [
        "run",
        "all",
        "-f",
        "json",
        "--target-version",
        "1.34",
        "--fail-on",
        "never",
        "--config",
        &config,
    ];
    let live = detek(&[&common[..], &["--kubeconfig", &admin()]].concat());
    let offline = detek(&[&common[..], &["--input", &dir]].concat());
    assert_eq!(
        (live.code, offline.code),
        (0, 0),
        "{}\n{}",
        live.stderr,
        offline.stderr
    );
    let (live, offline) = (live.json(), offline.json());
    assert_eq!(offline["target"]["kind"], "snapshot");

    // Only live-only detectors may be missing offline. Every other detector must reach the
    // same verdict: its level, and the same findings (object, container, level). Messages are
    // not compared: some say what only a live scan knows (an age "after 1m", the API server's
    // version where a dump has the newest kubelet's, days left counted to the second).
    let l = reports_by_id(&live);
    let o = reports_by_id(&offline);
    let live_only: Vec<&String> = l.keys().filter(|k| !o.contains_key(*k)).collect();
    assert_eq!(
        live_only,
        ["apiserver_unhealthy"],
        "detectors that ran live but not offline"
    );
    assert!(o.keys().all(|k| l.contains_key(k)));
    let mut differences = Vec::new();
    let mut compared_findings = 0;
    for (id, lr) in &l {
        let Some(or) = o.get(id) else { continue };
        let (lf, of) = (verdicts(lr), verdicts(or));
        compared_findings += lf.len();
        if let Some((_, plural)) = DUMP_SCOPED.iter().find(|(d, _)| d == id) {
            // On a dump these judge a namespace only if it holds objects of the referenced
            // kind (a dump may leave a kind out); live they judge every namespace. So live
            // may find more, but only in namespaces the dump holds none of that kind.
            let missing: Vec<&String> = of.iter().filter(|f| !lf.contains(f)).collect();
            let extra: Vec<&String> = lf
                .iter()
                .filter(|f| !of.contains(f))
                .filter(|f| holding[plural].contains(f.split('/').nth(1).unwrap_or("")))
                .collect();
            if !missing.is_empty() || !extra.is_empty() {
                differences.push(format!("{id}: offline only {missing:?}; live only, in namespaces with {plural} {extra:?}"));
            }
            continue;
        }
        if lr["level"] != or["level"] || lf != of {
            differences.push(format!(
                "{id}: live {} {lf:#?}\noffline {} {of:#?}",
                lr["level"], or["level"]
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "live and offline differ:\n{}",
        differences.join("\n")
    );
    // EndpointSlices are listed live and read alike: kube-system's Services have slices and
    // no Endpoints object (troubleshoot's k3s dump), so they are judged from their slices, by
    // both scans, and none is left "not judged".
    assert!(
        holding["endpointslices"].contains("kube-system"),
        "{holding:?}"
    );
    for (scan, reports) in [("live", &l), ("offline", &o)] {
        let report = &reports["service_no_available_target"];
        let unjudged = report["attachment"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| {
                a["description"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("Not judged")
            })
            .map(|a| a["data"].to_string())
            .collect::<String>();
        assert!(
            !unjudged.contains("kube-system/kube-dns") && !unjudged.contains("kube-system/traefik"),
            "{scan}: {unjudged}"
        );
        assert!(
            report["evaluated"].as_u64().unwrap() >= 3,
            "{scan}: {report}"
        );
    }
    assert!(
        compared_findings > 100,
        "only {compared_findings} findings compared"
    );
}

/// Reference detectors that scope themselves to the namespaces a dump holds objects of the
/// referenced kind in (see `detectors/references`), with that kind.
const DUMP_SCOPED: &[(&str, &str)] = &[
    ("missing_configmap_reference", "configmaps"),
    ("missing_pvc_reference", "persistentvolumeclaims"),
    ("missing_secret_reference", "secrets"),
    ("missing_service_account", "serviceaccounts"),
];

/// A report's findings as `Kind/namespace/name[container] level`, sorted (the source
/// location, which only files have, left out).
fn verdicts(report: &Value) -> Vec<String> {
    let mut v: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let o = &f["object"];
            format!(
                "{}/{}/{}[{}] {}",
                o["kind"].as_str().unwrap_or(""),
                o["namespace"].as_str().unwrap_or(""),
                o["name"].as_str().unwrap_or(""),
                o["container"].as_str().unwrap_or(""),
                f["level"].as_str().unwrap_or("")
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn no_secret_value_reaches_any_report() {
    let env = env();
    let m = secret_material();
    let kc = admin();
    let html = tempfile::NamedTempFile::new().unwrap();
    let html_path = html.path().display().to_string();
    let json_run = detek(&["run", "all", "-f", "json", "--kubeconfig", &kc]);
    let html_run = detek(&[
        "run",
        "all",
        "-f",
        "html",
        "-o",
        &html_path,
        "--kubeconfig",
        &kc,
    ]);
    let table_run = detek(&["run", "all", "-f", "table", "--kubeconfig", &kc]);
    let html_text = std::fs::read_to_string(html.path()).unwrap();

    // The TLS certificate was read: its expiry (5 days) is reported.
    let expiring = json_run.report("tls_secret_expiring");
    assert!(
        finding_objects(&expiring).contains(&"Secret/secrets-test/shop-tls".to_string()),
        "{expiring}"
    );

    // No trace of the private key, the password, or their base64 forms, anywhere.
    let key_lines: Vec<&str> = m
        .key_pem
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() >= 40)
        .collect();
    assert!(key_lines.len() > 10);
    let key_b64 = base64_encode(m.key_pem.as_bytes());
    let password_b64 = base64_encode(m.password.as_bytes());
    let mut needles: Vec<String> = key_lines.iter().map(|l| l.to_string()).collect();
    needles.extend([
        "PRIVATE KEY".to_string(),
        key_b64[40..100].to_string(),
        m.password.to_string(),
        password_b64.trim_end_matches('=').to_string(),
    ]);
    for (name, text) in [
        ("json", &json_run.stdout),
        ("json stderr", &json_run.stderr),
        ("html", &html_text),
        ("table", &table_run.stdout),
        ("html stderr", &html_run.stderr),
    ] {
        for needle in &needles {
            assert!(
                !text.contains(needle.as_str()),
                "{name} report contains secret material {needle:?}"
            );
        }
    }
    // The API server does hold them (so the test would see a leak).
    let (_, raw) = env.admin().call_raw(
        "GET",
        "/api/v1/namespaces/secrets-test/secrets",
        None,
        "application/json",
    );
    let raw = String::from_utf8_lossy(&raw);
    assert!(raw.contains(&password_b64) && raw.contains(&key_b64[40..100]));
}

#[test]
fn namespace_and_label_selector_scope_namespaced_kinds() {
    let kc = admin();
    let select = "failed_pod,pod_pending_unschedulable,node_not_ready";
    let run = detek(&[
        "run",
        "-f",
        "json",
        "--select",
        select,
        "--kubeconfig",
        &kc,
        "-n",
        "message-oomkill-pod",
    ]);
    let failed = run.report("failed_pod");
    assert_eq!(
        finding_objects(&failed),
        ["Pod/message-oomkill-pod/oom-kill-job3-gbb89"]
    );
    assert_eq!(failed["evaluated"], 1);
    assert_eq!(run.report("pod_pending_unschedulable")["level"], "Normal");
    // Nodes are cluster-scoped: still read whole.
    assert!(
        finding_objects(&run.report("node_not_ready")).contains(&"Node//kind-worker".to_string())
    );

    let run = detek(&[
        "run",
        "-f",
        "json",
        "--select",
        select,
        "--kubeconfig",
        &kc,
        "-l",
        "k8s-app=kube-dns",
    ]);
    let pending = finding_objects(&run.report("pod_pending_unschedulable"));
    assert_eq!(pending.len(), 4, "{pending:?}");
    assert!(
        pending
            .iter()
            .all(|p| p.starts_with("Pod/kube-system/coredns-74ff55c5b-")),
        "{pending:?}"
    );
    assert_eq!(run.report("failed_pod")["level"], "Normal");
}

#[test]
fn several_contexts_one_section_each_and_the_worst_exit_code() {
    let env = env();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("merged.kubeconfig");
    let closed = closed_port_url();
    write_kubeconfig(
        &kubeconfig,
        env.get("CA_FILE"),
        &[
            ("admin", env.url(), Some(env.get("ADMIN_TOKEN"))),
            ("limited", env.url(), Some(env.get("LIMITED_TOKEN"))),
            ("down", &closed, Some("x")),
        ],
        "admin",
    );
    let kc = kubeconfig.display().to_string();
    let select = ["--select", "failed_pod,node_not_ready"];

    // The current context only: findings → 1.
    let run = detek(&[&["run", "-f", "json", "--kubeconfig", &kc][..], &select].concat());
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.json()["target"]["name"], "admin");

    // Two contexts: admin (findings) and limited (everything forbidden: nothing collected).
    let run = detek(
        &[
            &[
                "run",
                "-f",
                "json",
                "--kubeconfig",
                &kc,
                "--context",
                "admin",
                "--context",
                "limited",
            ][..],
            &select,
        ]
        .concat(),
    );
    assert_eq!(run.code, 2, "the worst of 1 and 2\n{}", run.stderr);
    let doc = run.json();
    let clusters = doc["clusters"].as_array().expect("one list per cluster");
    let names: Vec<&str> = clusters
        .iter()
        .map(|c| c["target"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "limited"]);
    assert_eq!(report_of(&clusters[0], "failed_pod")["level"], "Error");
    let limited = report_of(&clusters[1], "failed_pod");
    assert_eq!(limited["level"], "Unknown");
    assert!(
        limited["error"]
            .as_str()
            .unwrap()
            .contains("forbidden: pods is forbidden: User \"limited\""),
        "{limited}"
    );
    assert_eq!(clusters[1]["status"], "nothing_collected");

    // All contexts, one of them down: the down one fails alone, with one clear line.
    let run = detek(
        &[
            &["run", "-f", "json", "--kubeconfig", &kc, "--all-contexts"][..],
            &select,
        ]
        .concat(),
    );
    assert_eq!(run.code, 2);
    let doc = run.json();
    assert_eq!(doc["clusters"].as_array().unwrap().len(), 3);
    assert_eq!(doc["clusters"][2]["collectors"][0]["ok"], false);
    let refused: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("cannot reach"))
        .collect();
    assert_eq!(refused.len(), 1, "{}", run.stderr);
    assert!(
        refused[0].contains(&format!(
            "cannot reach the Kubernetes API server at {closed} (context down)"
        )),
        "{}",
        refused[0]
    );

    // The HTML report has a section (and a selector) per cluster.
    let html = detek(
        &[
            &[
                "run",
                "-f",
                "html",
                "--kubeconfig",
                &kc,
                "--context",
                "admin",
                "--context",
                "limited",
            ][..],
            &select,
        ]
        .concat(),
    );
    assert!(html.stdout.contains("admin") && html.stdout.contains("limited"));
}

#[test]
fn kubeconfig_from_the_environment_and_the_current_context() {
    let kc = admin();
    let run = detek_with_env(
        &["run", "-f", "json", "--select", "failed_pod"],
        &[("KUBECONFIG", &kc)],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.json()["target"]["name"], "detek-testenv-admin");
    // ~/.kube/config last.
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join(".kube")).unwrap();
    std::fs::copy(&kc, home.path().join(".kube/config")).unwrap();
    let run = detek_with_env(
        &["run", "-f", "json", "--select", "failed_pod"],
        &[("HOME", home.path().to_str().unwrap())],
    );
    assert_eq!(
        run.json()["target"]["name"],
        "detek-testenv-admin",
        "{}",
        run.stderr
    );
    // A context that does not exist is a usage error.
    let run = detek(&["run", "--kubeconfig", &kc, "--context", "nope"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no context \"nope\""), "{}", run.stderr);
}

#[test]
fn plan_shows_the_live_collector_and_live_only_detectors() {
    let kc = admin();
    let run = detek(&[
        "plan",
        "-f",
        "json",
        "--select",
        "apiserver_unhealthy,failed_pod",
        "--kubeconfig",
        &kc,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let plan = &run.json()[0];
    assert_eq!(plan["collectors"][0]["id"], "kubernetes/live");
    let produces: Vec<&str> = plan["collectors"][0]["produces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        produces.contains(&"kubernetes/apiserver-health") && produces.contains(&"kubernetes/pods")
    );
    assert!(
        !produces.contains(&"kubernetes/nodes"),
        "only what the detectors need: {produces:?}"
    );
    // Offline, the live-only detector cannot run, and says why.
    let dir = data_dir().join("troubleshoot");
    let run = detek(&[
        "plan",
        "-f",
        "json",
        "--select",
        "apiserver_unhealthy",
        "--input",
        dir.to_str().unwrap(),
    ]);
    let cannot = &run.json()[0]["cannot_run"][0];
    assert_eq!(cannot["id"], "apiserver_unhealthy");
    assert!(
        cannot["reason"].as_str().unwrap().contains("live cluster"),
        "{cannot}"
    );
}

/// `http(s)://127.0.0.1:PORT` where nothing listens.
fn closed_port_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("https://127.0.0.1:{port}")
}
