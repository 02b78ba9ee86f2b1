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
