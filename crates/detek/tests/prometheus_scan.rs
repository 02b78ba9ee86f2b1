//! One scan of a real kube-apiserver (testenv/: the nri-kubernetes v1.34 dumps loaded) and a
//! real Prometheus (testenv/prometheus: the same cluster's kube-state-metrics and cAdvisor
//! dumps, changed per condition): object findings and metric findings about the same
//! workloads in one report, and the `--prometheus-*` flags end to end.

mod live_common;

use live_common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

fn env() -> &'static TestEnv {
    TestEnv::shared(|env| {
        let api = env.admin();
        let dir = data_dir().join("nri-kubernetes-1_34");
        let mut objects = Vec::new();
        for file in [
            "namespaces.yaml",
            "nodes.yaml",
            "services.yaml",
            "endpoints.yaml",
            "pods.yaml",
        ] {
            objects.extend(read_dump(&dir.join(file)));
        }
        for o in &objects {
            load_object(&api, o);
        }
    })
}

/// The test Prometheus of this binary (testenv/prometheus/start.sh), its env file's values.
fn prometheus() -> &'static BTreeMap<String, String> {
    static PROMETHEUS: std::sync::OnceLock<(tempfile::TempDir, BTreeMap<String, String>)> =
        std::sync::OnceLock::new();
    &PROMETHEUS
        .get_or_init(|| {
            let dir = tempfile::Builder::new()
                .prefix("detek-prom-")
                .tempdir()
                .unwrap();
            let out = std::process::Command::new("bash")
                .arg(repo_root().join("testenv/prometheus/start.sh"))
                .arg(dir.path().join("env"))
                .env("DETEK_TESTENV_WATCH_PID", std::process::id().to_string())
                .output()
                .expect("run testenv/prometheus/start.sh");
            assert!(
                out.status.success(),
                "testenv/prometheus/start.sh failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let vars = std::fs::read_to_string(dir.path().join("env/env"))
                .unwrap()
                .lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            (dir, vars)
        })
        .1
}

fn objects_by_detector(list: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for report in list["reports"].as_array().unwrap() {
        for f in report["findings"].as_array().unwrap() {
            let o = &f["object"];
            if o.is_null() {
                continue;
            }
            let name = format!(
                "{}/{}/{}",
                o["kind"].as_str().unwrap_or(""),
                o["namespace"].as_str().unwrap_or(""),
                o["name"].as_str().unwrap_or("")
            );
            out.entry(name)
                .or_default()
                .insert(report["id"].as_str().unwrap().to_string());
        }
    }
    out
}

#[test]
fn objects_and_metrics_of_the_same_workloads_in_one_report() {
    let env = env();
    let prometheus = prometheus();
    let kubeconfig = env.admin_kubeconfig();
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("report.html");
    let json_path = dir.path().join("report.json");
    let args = |format: &str, out: &std::path::Path| {
        vec![
            "run".to_string(),
            "--kubeconfig".into(),
            kubeconfig.display().to_string(),
            "--prometheus-url".into(),
            prometheus["PROMETHEUS_URL"].clone(),
            "--prometheus-user".into(),
            "detek".into(),
            "-f".into(),
            format.into(),
            "-o".into(),
            out.display().to_string(),
        ]
    };
    let password = [(
        "DETEK_PROMETHEUS_PASSWORD",
        prometheus["PROMETHEUS_PASSWORD"].as_str(),
    )];
    let run = |format: &str, out: &std::path::Path| {
        let args = args(format, out);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        detek_with_env(&args, &password)
    };
    let json_run = run("json", &json_path);
    assert_eq!(json_run.code, 1, "findings, complete: {}", json_run.stderr);
    let list: Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert_eq!(list["status"], "complete");
    let by_object = objects_by_detector(&list);

    // The Deployment e2e-deployment: its Pods' specs (object detectors) and its metrics and
    // live alert (metric detectors), side by side.
    let deployment = &by_object["Deployment/scraper/e2e-deployment"];
    for metric in [
        "memory_usage_high",
        "cpu_throttling_high",
        "pod_resource_outlier",
        "prometheus_alert_firing",
    ] {
        assert!(deployment.contains(metric), "{metric}: {deployment:?}");
    }
    let metric_ids: BTreeSet<String> = detek_prometheus::detectors::all()
        .iter()
        .map(|d| d.meta().id.to_string())
        .collect();
    let object_findings: Vec<&String> = deployment
        .iter()
        .filter(|id| !metric_ids.contains(*id))
        .collect();
    assert!(
        !object_findings.is_empty(),
        "no object finding on the Deployment: {deployment:?}"
    );
    // coredns: its CPU against its baseline, and its Pod spec.
    let coredns = &by_object["Deployment/kube-system/coredns"];
    assert!(coredns.contains("cpu_usage_abnormal"), "{coredns:?}");
    assert!(
        coredns.iter().any(|id| !metric_ids.contains(id)),
        "{coredns:?}"
    );
    // The Node: its metrics.
    let node = &by_object["Node//datagen-1-34"];
    for metric in [
        "memory_usage_high",
        "conntrack_near_limit",
        "node_disk_filling",
    ] {
        assert!(node.contains(metric), "{metric}: {node:?}");
    }

    // The same scan as one HTML report: both kinds of findings on the Deployment.
    let html_run = run("html", &html);
    assert_eq!(html_run.code, 1, "{}", html_run.stderr);
    let page = std::fs::read_to_string(&html).unwrap();
    for id in object_findings
        .iter()
        .map(|s| s.as_str())
        .chain(["memory_usage_high", "prometheus_alert_firing"])
    {
        assert!(page.contains(id), "{id} not in the HTML report");
    }
    assert!(page.contains("e2e-deployment"));
    assert!(page.contains("KubeDeploymentReplicasMismatch"));
}

#[test]
fn metric_detectors_are_skipped_without_a_prometheus_and_unknown_when_it_refuses() {
    let env = env();
    let kubeconfig = env.admin_kubeconfig();
    let kubeconfig = kubeconfig.to_str().unwrap();
    // By label: detectors asked for by id are reported Unknown when their source is missing.
    let select = "--select=metrics,failed_pod";
    let run = detek(&["run", "--kubeconfig", kubeconfig, select, "-f", "json"]);
    let list = run.json();
    assert_eq!(
        list["skipped"]["memory_usage_high"],
        "this target provides no prometheus/memory-usage, prometheus/pod-owners (needs a Prometheus server)"
    );
    assert_eq!(list["skipped"].as_object().unwrap().len(), 8);
    assert_eq!(list["status"], "complete");

    let prometheus = prometheus();
    let url = &prometheus["PROMETHEUS_URL"];
    let run = detek_with_env(
        &[
            "run",
            "--kubeconfig",
            kubeconfig,
            select,
            "-f",
            "json",
            "--prometheus-url",
            url,
            "--prometheus-user",
            "detek",
        ],
        &[("DETEK_PROMETHEUS_PASSWORD", "wrong")],
    );
    assert_eq!(run.code, 2, "partial: {}", run.stderr);
    let list = run.json();
    let expected = format!(
        "Prometheus {url} cannot be read: {url}/api/v1/status/buildinfo: 401 Unauthorized: Unauthorized"
    );
    for id in ["memory_usage_high", "scrape_target_down"] {
        let report = report_of(&list, id);
        assert_eq!(report["result"], "unknown", "{id}");
        assert!(
            report["error"].as_str().unwrap().contains(&expected),
            "{id}: {}",
            report["error"]
        );
    }
    // Only those: the Kubernetes detector ran.
    assert_ne!(report_of(&list, "failed_pod")["result"], "unknown");
}

/// A network namespace with one end of a veth pair (10.251.N.2), the other end here
/// (10.251.N.1); deleted on drop.
struct NetNs {
    name: String,
    host_if: String,
    address: String,
}

impl NetNs {
    fn create() -> NetNs {
        let n = std::process::id() % 250 + 1;
        let name = format!("detek-prom-{}", std::process::id());
        let host_if = format!("dpv{n}a");
        let peer_if = format!("dpv{n}b");
        let address = format!("10.251.{n}.2");
        let ip = |args: &[&str]| {
            let out = std::process::Command::new("ip")
                .args(args)
                .output()
                .expect("ip");
            assert!(
                out.status.success(),
                "ip {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        ip(&["netns", "add", &name]);
        let ns = NetNs {
            name: name.clone(),
            host_if: host_if.clone(),
            address: address.clone(),
        };
        ip(&[
            "link", "add", &host_if, "type", "veth", "peer", "name", &peer_if,
        ]);
        ip(&["link", "set", &peer_if, "netns", &name]);
        ip(&["addr", "add", &format!("10.251.{n}.1/30"), "dev", &host_if]);
        ip(&["link", "set", &host_if, "up"]);
        ip(&[
            "netns",
            "exec",
            &name,
            "ip",
            "addr",
            "add",
            &format!("{address}/30"),
            "dev",
            &peer_if,
        ]);
        ip(&["netns", "exec", &name, "ip", "link", "set", &peer_if, "up"]);
        ip(&["netns", "exec", &name, "ip", "link", "set", "lo", "up"]);
        ns
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["link", "del", &self.host_if])
            .output();
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// A Prometheus inside the namespace, with one alert about the Service it is published as.
struct NsPrometheus {
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl Drop for NsPrometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_prometheus_in(ns: &NetNs) -> NsPrometheus {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rules.yml"),
        "groups:\n- name: proxy\n  rules:\n  - alert: PrometheusReachedThroughTheProxy\n    expr: vector(1)\n    labels: {severity: warning, namespace: monitoring, service: prometheus-k8s}\n    annotations: {summary: Queried through the API server's service proxy.}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global: {{evaluation_interval: 1s}}\nrule_files: [\"{}/rules.yml\"]\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let child = std::process::Command::new("ip")
        .args(["netns", "exec", &ns.name, "prometheus"])
        .arg(format!(
            "--config.file={}/prometheus.yml",
            dir.path().display()
        ))
        .arg(format!("--storage.tsdb.path={}/data", dir.path().display()))
        .arg(format!("--web.listen-address={}:9090", ns.address))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("prometheus in the network namespace");
    NsPrometheus { child, _dir: dir }
}

#[test]
fn prometheus_service_through_the_api_server_proxy() {
    // testenv/prometheus installs the prometheus binary.
    let _ = prometheus();
    let env = env();
    let api = env.admin();
    let ns = NetNs::create();
    let _prometheus = start_prometheus_in(&ns);
    api.ensure_namespace("monitoring");
    // The API server proxies only to an endpoint address whose target Pod has that IP.
    load_object(
        &api,
        &serde_json::json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "prometheus-k8s-0", "namespace": "monitoring",
                         "labels": {"app.kubernetes.io/name": "prometheus"}},
            "spec": {"containers": [{"name": "prometheus", "image": "quay.io/prometheus/prometheus:v2.42.0"}]},
            "status": {"phase": "Running", "podIP": ns.address, "podIPs": [{"ip": ns.address}]}}),
    );
    api.create(
        "/api/v1/namespaces/monitoring/services",
        &serde_json::json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "prometheus-k8s", "namespace": "monitoring"},
            "spec": {"ports": [{"name": "web", "port": 9090, "targetPort": 9090}]}}),
    );
    api.create(
        "/api/v1/namespaces/monitoring/endpoints",
        &serde_json::json!({"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": "prometheus-k8s", "namespace": "monitoring"},
            "subsets": [{"addresses": [{"ip": ns.address, "targetRef": {"kind": "Pod", "namespace": "monitoring", "name": "prometheus-k8s-0"}}],
                         "ports": [{"name": "web", "port": 9090}]}]}),
    );
    api.create(
        "/apis/discovery.k8s.io/v1/namespaces/monitoring/endpointslices",
        &serde_json::json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "prometheus-k8s-1", "namespace": "monitoring",
                         "labels": {"kubernetes.io/service-name": "prometheus-k8s"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [ns.address], "targetRef": {"kind": "Pod", "namespace": "monitoring", "name": "prometheus-k8s-0"}}],
            "ports": [{"name": "web", "port": 9090}]}),
    );
    let kubeconfig = env.admin_kubeconfig();
    let kubeconfig = kubeconfig.to_str().unwrap();
    let expected = "Warn Service/monitoring/prometheus-k8s: alert PrometheusReachedThroughTheProxy (warning) firing: Queried through the API server's service proxy.";
    for service in ["monitoring/prometheus-k8s:9090", "auto"] {
        // The alert fires after the first evaluations.
        let mut lines = Vec::new();
        for _ in 0..30 {
            let run = detek(&[
                "run",
                "--kubeconfig",
                kubeconfig,
                "--select=prometheus_alert_firing",
                "-f",
                "json",
                "--prometheus-service",
                service,
            ]);
            let report = report_of(&run.json(), "prometheus_alert_firing");
            assert_ne!(
                report["result"], "unknown",
                "{service}: {}",
                report["error"]
            );
            lines = report["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    let o = &f["object"];
                    format!(
                        "{} {}/{}/{}: {}",
                        f["level"].as_str().unwrap(),
                        o["kind"].as_str().unwrap(),
                        o["namespace"].as_str().unwrap(),
                        o["name"].as_str().unwrap(),
                        f["message"].as_str().unwrap()
                    )
                })
                .collect();
            if !lines.is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        assert_eq!(lines, [expected], "{service}");
    }
    // A Service that does not exist: Unknown, with the API server's answer.
    let run = detek(&[
        "run",
        "--kubeconfig",
        kubeconfig,
        "--select=prometheus_alert_firing",
        "-f",
        "json",
        "--prometheus-service",
        "monitoring/nothing-here:9090",
    ]);
    let report = report_of(&run.json(), "prometheus_alert_firing");
    assert_eq!(report["result"], "unknown");
    let error = report["error"].as_str().unwrap();
    assert!(
        error.contains("services/nothing-here:9090/proxy/api/v1/status/buildinfo: 404 Not Found"),
        "{error}"
    );
}

#[test]
fn metrics_url_beside_a_snapshot() {
    let prometheus = prometheus();
    let exporter = &prometheus["PROMETHEUS_EXPORTER"];
    let pods = data_dir().join("nri-kubernetes-1_34/pods.yaml");
    let urls: Vec<String> = ["/metrics/cadvisor", "/ksm/metrics", "/node/metrics"]
        .iter()
        .map(|p| format!("--metrics-url=http://{exporter}{p}"))
        .collect();
    let mut args = vec![
        "run",
        "--input",
        pods.to_str().unwrap(),
        "--select=metrics",
        "-f",
        "json",
    ];
    args.extend(urls.iter().map(String::as_str));
    let run = detek(&args);
    let list = run.json();
    let report = report_of(&list, "memory_usage_high");
    let objects: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}/{}",
                f["object"]["kind"].as_str().unwrap(),
                f["object"]["name"].as_str().unwrap()
            )
        })
        .collect();
    // One instant: the StatefulSet's container over its limit for 3 minutes is reported too.
    assert_eq!(
        objects,
        [
            "Deployment/e2e-deployment",
            "StatefulSet/e2e-statefulset",
            "Node/datagen-1-34"
        ]
    );
    let skipped: BTreeSet<&str> = list["skipped"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        skipped,
        BTreeSet::from([
            "cpu_throttling_high",
            "cpu_usage_abnormal",
            "node_disk_filling",
            "prometheus_alert_firing",
            "scrape_target_down"
        ])
    );
}

/// The Pod of testenv/prometheus/scenario.py's restart-forensics case: container `api`
/// OOM-killed 15 minutes before the end of the loaded history (T0), on the minute, restarted
/// since.
fn leaky_pod(t0: i64) -> String {
    let killed_at = (t0 - 15 * 60).div_euclid(60) * 60;
    let at = |s: i64| {
        jiff::Timestamp::from_second(killed_at + s)
            .unwrap()
            .to_string()
    };
    format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: leaky-api-0
  namespace: forensics
  creationTimestamp: "{created}"
spec:
  nodeName: datagen-1-34
  containers:
  - name: api
    image: registry.example.test/leaky-api:1.4.2
    resources:
      requests: {{memory: 64Mi}}
      limits: {{memory: 64Mi}}
status:
  phase: Running
  containerStatuses:
  - name: api
    ready: true
    restartCount: 1
    image: registry.example.test/leaky-api:1.4.2
    imageID: ""
    state:
      running: {{startedAt: "{restarted}"}}
    lastState:
      terminated: {{exitCode: 137, reason: OOMKilled, startedAt: "{created}", finishedAt: "{killed}"}}
"#,
        created = at(-2 * 3600),
        killed = at(0),
        restarted = at(5),
    )
}

#[test]
fn why_reads_the_memory_climb_before_an_oom_kill_from_prometheus() {
    let prometheus = prometheus();
    let t0: i64 = prometheus["PROMETHEUS_T0"].parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pod = dir.path().join("leaky-api-0.yaml");
    std::fs::write(&pod, leaky_pod(t0)).unwrap();
    let now = jiff::Timestamp::from_second(t0).unwrap().to_string();
    let password = [(
        "DETEK_PROMETHEUS_PASSWORD",
        prometheus["PROMETHEUS_PASSWORD"].as_str(),
    )];
    let why = |format: &str| {
        detek_with_env(
            &[
                "why",
                "pod/leaky-api-0",
                "-n",
                "forensics",
                "--input",
                pod.to_str().unwrap(),
                "--now",
                &now,
                "--prometheus-url",
                &prometheus["PROMETHEUS_URL"],
                "--prometheus-user",
                "detek",
                "-f",
                format,
            ],
            &password,
        )
    };
    let json = why("json");
    assert_eq!(json.code, 0, "{}", json.stderr);
    let v: Value = serde_json::from_str(&json.stdout).unwrap();
    let e = &v["explanations"][0];
    assert_eq!(e["verdict"]["cause"], "oom_at_limit");
    let memory = &e["metrics"]["memory"];
    assert_eq!(memory["limit_bytes"], 67108864.0);
    assert_eq!(memory["first_bytes"], 31457280.0);
    assert_eq!(memory["peak_bytes"], 67108864.0);
    assert_eq!(memory["last_bytes"], 67108864.0);
    // 30 minutes at one point a minute, both ends included.
    assert_eq!(memory["points"].as_array().unwrap().len(), 31);
    assert!(
        e["not_read"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| !n.as_str().unwrap().starts_with("memory")),
        "{}",
        e["not_read"]
    );

    let text = why("text");
    assert_eq!(text.code, 0, "{}", text.stderr);
    let climb = "memory working set 30.0 MiB → 64.0 MiB (peak 64.0 MiB, 100% of the 64.0 MiB \
                 limit), +1.1 MiB a minute";
    assert!(
        text.stdout
            .contains(&format!("In the 30 minutes before: {climb}.")),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains(&format!("    {climb}\n")),
        "{}",
        text.stdout
    );

    // `detek run` on the same Pod: the oomkilled_container finding carries the timeline and
    // the memory trace the HTML report draws.
    let run = detek_with_env(
        &[
            "run",
            "--input",
            pod.to_str().unwrap(),
            "--now",
            &now,
            "--prometheus-url",
            &prometheus["PROMETHEUS_URL"],
            "--prometheus-user",
            "detek",
            "--select",
            "oomkilled_container",
            "-f",
            "json",
        ],
        &password,
    );
    let list: Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stderr));
    let finding = &live_common::report_of(&list, "oomkilled_container")["findings"][0];
    let trace = &finding["timeline"]["traces"][0];
    assert_eq!(trace["name"], "memory working set");
    assert_eq!(trace["limit"], 67108864.0);
    assert_eq!(trace["points"].as_array().unwrap().len(), 31);
    assert!(
        finding["evidence"][0]
            .as_str()
            .unwrap()
            .starts_with("verdict: killed at its memory limit"),
        "{finding}"
    );
}
