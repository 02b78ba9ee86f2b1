//! The metric detectors against a real Prometheus (testenv/prometheus: Debian's prometheus and
//! node-exporter, the nri-kubernetes dumps changed per condition, history loaded with
//! promtool, kubernetes-mixin-style rules). Each test pins the exact findings for the series
//! that cross their threshold, and none for the ones that stay under — including conditions
//! true at the instant of the query but not for the rule's duration, which each test first
//! shows to be true at the instant (so the "none" could fail). testenv/prometheus/scenario.py
//! writes each condition. The history ends when the server starts: the conditions hold for
//! about ten minutes after it.

mod common;

use common::TestPrometheus;
use detek_core::{ReportResult, Settings};
use detek_prometheus::api::PrometheusApi;
use detek_prometheus::client::{Auth, ClientOptions, Endpoint};
use detek_prometheus::testing::{finding_lines, report, run};

fn scan(ids: &[&str]) -> detek_core::ReportList {
    let prometheus = TestPrometheus::shared();
    run(ids, vec![prometheus.collector()], Settings::new())
}

/// The value of `promql` now for the series whose labels include `matching`.
fn instant_value(promql: &str, matching: &[(&str, &str)]) -> f64 {
    let prometheus = TestPrometheus::shared();
    let api = PrometheusApi::new(&prometheus.endpoint(), &ClientOptions::default()).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let series = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(api.query(promql, now))
        .unwrap();
    series
        .iter()
        .find(|s| matching.iter().all(|(k, v)| s.label(k) == Some(*v)))
        .and_then(|s| s.last())
        .unwrap_or_else(|| panic!("no series {matching:?} for {promql}"))
}

fn setting_default(id: &str, name: &str) -> String {
    let detector = detek_prometheus::detectors::all()
        .into_iter()
        .find(|d| d.meta().id == id)
        .unwrap();
    let spec = detector.meta().setting(name).unwrap().clone();
    spec.default.as_str().unwrap().to_string()
}

#[test]
fn memory_usage_high_needs_the_whole_15_minutes() {
    let list = scan(&["memory_usage_high"]);
    let r = report(&list, "memory_usage_high");
    assert_eq!(
        finding_lines(r),
        [
            "Warn Deployment/scraper/e2e-deployment [compute-pi-digits]: container compute-pi-digits of pod e2e-deployment-6fb786454b-7fsxc: working set at 96.7% of its memory limit for 15m (threshold 95.0%; now 96.7%)",
            "Warn Node/datagen-1-34: node datagen-1-34: 92.5% of its memory in use for 15m (threshold 90.0%; now 92.5%)",
        ]
    );
    // The containers with a working set and a memory limit (with the restart-forensics case's
    // leaky-api-0, under the threshold now), and the node with memory metrics.
    assert_eq!(r.evaluated, Some(10));
    // e2e-statefulset-0 is over the threshold at the instant, but only for 3 minutes.
    let now = instant_value(
        &setting_default("memory_usage_high", "container_query"),
        &[("pod", "e2e-statefulset-0")],
    );
    assert!(now >= 0.95, "{now}");
}

#[test]
fn conntrack_near_limit_on_the_full_node_only() {
    let list = scan(&["conntrack_near_limit"]);
    let r = report(&list, "conntrack_near_limit");
    assert_eq!(
        finding_lines(r),
        [
            "Error Node/datagen-1-34: node datagen-1-34: conntrack table at 76.3% of its limit at the instant of the query (threshold 75.0%)"
        ]
    );
    // The other series is the real node-exporter of this machine, under the threshold.
    assert_eq!(r.evaluated, Some(2));
}

#[test]
fn cpu_usage_abnormal_against_two_days_of_baseline() {
    let list = scan(&["cpu_usage_abnormal"]);
    let r = report(&list, "cpu_usage_abnormal");
    assert_eq!(
        finding_lines(r),
        [
            "Warn Deployment/kube-system/coredns [coredns]: container coredns of pod coredns-66bc5c9577-d98t2: 0.500 cores now, 25.0× its baseline of 0.020 cores (threshold 3.0×)"
        ]
    );
    // coredns, kube-apiserver (steady at 0.3 cores) and e2e-statefulset-1 have history; the
    // others only the live dump. e2e-statefulset-1 spiked to 0.9 cores for a minute: over 5
    // minutes it is 4.4 times its baseline, over the 15 of `current_query` 2.1 times.
    assert_eq!(r.evaluated, Some(3));
    let spike = instant_value(
        "rate(container_cpu_usage_seconds_total{container=\"compute-pi-digits\"}[5m])",
        &[("pod", "e2e-statefulset-1")],
    );
    assert!(
        spike >= 3.0 * 0.05,
        "the spike shows over 5 minutes: {spike}"
    );
}

#[test]
fn cpu_throttling_high_needs_the_whole_15_minutes() {
    let list = scan(&["cpu_throttling_high"]);
    let r = report(&list, "cpu_throttling_high");
    assert_eq!(
        finding_lines(r),
        [
            "Warn Deployment/scraper/e2e-deployment [compute-pi-digits]: container compute-pi-digits of pod e2e-deployment-6fb786454b-mrr5s: throttled in 50.0% of its CFS periods for 15m (threshold 25.0%; now 50.0%)"
        ]
    );
    let now = instant_value(
        &setting_default("cpu_throttling_high", "query"),
        &[("pod", "e2e-statefulset-1")],
    );
    assert!(
        now >= 0.25,
        "e2e-statefulset-1 is throttled at the instant: {now}"
    );
}

#[test]
fn pod_resource_outlier_against_its_siblings() {
    let list = scan(&["pod_resource_outlier"]);
    let r = report(&list, "pod_resource_outlier");
    // e2e-statefulset-0 (29 MiB) is 2.9× its sibling: under the 3× threshold.
    assert_eq!(
        finding_lines(r),
        [
            "Warn Deployment/scraper/e2e-deployment: pod e2e-deployment-6fb786454b-7fsxc: 29.0 MiB of memory, 6.1× the median of its 1 sibling (4.8 MiB; threshold 3.0×)"
        ]
    );
    // The two Pods of each of e2e-deployment and e2e-statefulset.
    assert_eq!(r.evaluated, Some(4));
}

#[test]
fn node_disk_filling_predicts_from_six_hours_of_history() {
    let list = scan(&["node_disk_filling"]);
    let r = report(&list, "node_disk_filling");
    assert_eq!(
        finding_lines(r),
        [
            "Warn Node/datagen-1-34: node datagen-1-34: filesystem /var/lib/kubelet (/dev/vdb) filling up: 25.0% free, at or under the threshold (40.0%) for 1h"
        ]
    );
    let eta = &r.findings[0].evidence[0];
    assert!(
        eta.starts_with("at the rate of the last 6 hours it is full in about "),
        "{eta}"
    );
    // Filling: /var/lib/kubelet, /data (55% free) and /var/log, which crossed 40% only 26
    // minutes before the history ends.
    assert_eq!(r.evaluated, Some(3));
    let var_log = instant_value(
        "node_filesystem_avail_bytes / node_filesystem_size_bytes",
        &[("mountpoint", "/var/log")],
    );
    assert!(
        var_log <= 0.40,
        "/var/log is under the threshold at the instant: {var_log}"
    );
}

#[test]
fn scrape_target_down_for_ten_minutes() {
    let prometheus = TestPrometheus::shared();
    let list = scan(&["scrape_target_down"]);
    let r = report(&list, "scrape_target_down");
    let dead = prometheus.var("PROMETHEUS_DEAD_LONG");
    assert_eq!(
        finding_lines(r),
        [format!(
            "Error Target/{dead}: target {dead} (job dead-exporter): down for 10m; last error: Get \"http://{dead}/metrics\": dial tcp {dead}: connect: connection refused"
        )]
    );
    // The other dead target has been down only since Prometheus started.
    let new = prometheus.var("PROMETHEUS_DEAD_NEW");
    assert_eq!(instant_value("up", &[("instance", new)]), 0.0);
    assert_eq!(r.evaluated, Some(6));
}

#[test]
fn prometheus_alert_firing_on_the_objects_the_alerts_name() {
    let list = scan(&["prometheus_alert_firing"]);
    let r = report(&list, "prometheus_alert_firing");
    assert_eq!(
        finding_lines(r),
        [
            "Error (no object): alert KubeAPIDown (critical) firing: Target disappeared from Prometheus target discovery.",
            "Warn Deployment/scraper/e2e-deployment: alert KubeDeploymentReplicasMismatch (warning) firing: Deployment has not matched the expected number of replicas.",
            "Warn Pod/scraper/e2e-container-pending: alert KubePodNotReady (warning) firing: Pod has been in a non-ready state for more than 15 minutes.",
        ]
    );
    let mismatch = &r.findings[1];
    assert!(mismatch.evidence.contains(
        &"runbook: https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubedeploymentreplicasmismatch".to_string()
    ));
    // Watchdog (severity none) fires but is not reported; KubeJobFailed is pending (for: 1h).
    assert_eq!(r.evaluated, Some(4));
    let left_out = r
        .attachment
        .iter()
        .find(|a| a.description.starts_with("Firing but not reported"))
        .unwrap();
    assert_eq!(
        left_out.data,
        serde_json::json!(["Watchdog (severity \"none\")"])
    );

    // `also_report` reports it as Warn; `levels` is the map.
    let mut settings = Settings::new();
    settings.set(
        "prometheus_alert_firing.also_report",
        serde_json::json!(["none"]),
    );
    settings.set(
        "prometheus_alert_firing.levels",
        serde_json::json!(["critical=fatal", "warning=warn"]),
    );
    let list = run(
        &["prometheus_alert_firing"],
        vec![TestPrometheus::shared().collector()],
        settings,
    );
    let lines = finding_lines(report(&list, "prometheus_alert_firing"));
    assert_eq!(lines.len(), 4, "{lines:#?}");
    assert!(lines.contains(&"Fatal (no object): alert KubeAPIDown (critical) firing: Target disappeared from Prometheus target discovery.".to_string()));
    assert!(lines.contains(&"Warn (no object): alert Watchdog (none) firing: An alert that should always be firing to certify that Alertmanager is working properly.".to_string()));
}

#[test]
fn a_query_without_series_is_no_data_not_a_pass() {
    let mut settings = Settings::new();
    settings.set(
        "conntrack_near_limit.query",
        "node_nf_conntrack_entries_that_do_not_exist",
    );
    let list = run(
        &["conntrack_near_limit"],
        vec![TestPrometheus::shared().collector()],
        settings,
    );
    let r = report(&list, "conntrack_near_limit");
    assert_eq!(r.result, ReportResult::NotJudged);
    assert_eq!(
        r.note.as_deref(),
        Some("no data: the query returned no series (node_nf_conntrack_entries_that_do_not_exist)")
    );
}

#[test]
fn a_wrong_password_is_one_line_and_unknown() {
    let prometheus = TestPrometheus::shared();
    let mut endpoint = prometheus.endpoint();
    endpoint.auth = Auth::Basic {
        username: "detek".into(),
        password: "wrong".into(),
    };
    let collector = std::sync::Arc::new(detek_prometheus::collector::PrometheusCollector::new(
        endpoint,
        ClientOptions::default(),
        prometheus.url(),
    ));
    let list = run(
        &["memory_usage_high", "scrape_target_down"],
        vec![collector],
        Settings::new(),
    );
    let url = prometheus.url();
    let expected = format!(
        "Prometheus {url} cannot be read: {url}/api/v1/status/buildinfo: 401 Unauthorized: Unauthorized"
    );
    for id in ["memory_usage_high", "scrape_target_down"] {
        let r = report(&list, id);
        assert_eq!(r.result, ReportResult::Unknown, "{id}");
        assert!(
            r.error.as_deref().unwrap().contains(&expected),
            "{id}: {:?}",
            r.error
        );
    }
    let collector_status = &list.collectors[0];
    assert_eq!(collector_status.error.as_deref(), Some(expected.as_str()));
}

#[test]
fn an_unreachable_prometheus_is_unknown() {
    let prometheus = TestPrometheus::shared();
    let dead = prometheus.var("PROMETHEUS_DEAD_NEW");
    let endpoint = Endpoint {
        url: format!("http://{dead}"),
        ..Default::default()
    };
    let collector = std::sync::Arc::new(detek_prometheus::collector::PrometheusCollector::new(
        endpoint,
        ClientOptions::default(),
        format!("http://{dead}"),
    ));
    let list = run(&["conntrack_near_limit"], vec![collector], Settings::new());
    let r = report(&list, "conntrack_near_limit");
    assert_eq!(r.result, ReportResult::Unknown);
    let error = r.error.as_deref().unwrap();
    assert!(
        error.contains(&format!(
            "Prometheus http://{dead} cannot be read: http://{dead}/api/v1/status/buildinfo: "
        )) && error.contains("Connection refused"),
        "{error}"
    );
}

#[test]
fn metrics_url_scrapes_the_exporters_at_one_instant() {
    let prometheus = TestPrometheus::shared();
    let exporter = prometheus.var("PROMETHEUS_EXPORTER");
    let urls = ["/metrics/cadvisor", "/ksm/metrics", "/node/metrics"]
        .iter()
        .map(|path| Endpoint {
            url: format!("http://{exporter}{path}"),
            ..Default::default()
        })
        .collect();
    let collector = std::sync::Arc::new(detek_prometheus::collector::ScrapeCollector::new(
        urls,
        ClientOptions::default(),
    ));
    let ids = [
        "memory_usage_high",
        "conntrack_near_limit",
        "pod_resource_outlier",
        "cpu_usage_abnormal",
        "cpu_throttling_high",
        "node_disk_filling",
        "scrape_target_down",
        "prometheus_alert_firing",
    ];
    let list = run(&ids, vec![collector], Settings::new());
    // One instant: e2e-statefulset-0, over its limit only for 3 minutes, is reported too —
    // and the finding says the duration could not be checked.
    let at_instant =
        "at the instant of the scrape (--metrics-url has no history to check a duration)";
    assert_eq!(
        finding_lines(report(&list, "memory_usage_high")),
        [
            format!(
                "Warn Deployment/scraper/e2e-deployment [compute-pi-digits]: container compute-pi-digits of pod e2e-deployment-6fb786454b-7fsxc: working set at 96.7% of its memory limit {at_instant} (threshold 95.0%; now 96.7%)"
            ),
            format!(
                "Warn StatefulSet/scraper/e2e-statefulset [compute-pi-digits]: container compute-pi-digits of pod e2e-statefulset-0: working set at 96.7% of its memory limit {at_instant} (threshold 95.0%; now 96.7%)"
            ),
            format!(
                "Warn Node/datagen-1-34: node datagen-1-34: 92.5% of its memory in use {at_instant} (threshold 90.0%; now 92.5%)"
            ),
        ]
    );
    assert_eq!(
        finding_lines(report(&list, "conntrack_near_limit")),
        [format!(
            "Error Node/datagen-1-34: node datagen-1-34: conntrack table at 76.3% of its limit {at_instant} (threshold 75.0%)"
        )]
    );
    assert_eq!(
        finding_lines(report(&list, "pod_resource_outlier")),
        [
            "Warn Deployment/scraper/e2e-deployment: pod e2e-deployment-6fb786454b-7fsxc: 29.0 MiB of memory, 6.1× the median of its 1 sibling (4.8 MiB; threshold 3.0×)"
        ]
    );
    // The detectors that need history, or Prometheus itself, are skipped with the reason.
    let skipped: Vec<(&str, &str)> = list
        .skipped
        .iter()
        .map(|(id, reason)| (id.as_str(), reason.as_str()))
        .collect();
    let reason = "needs history: --metrics-url reads one instant; configure --prometheus-url or --prometheus-service";
    assert_eq!(
        skipped,
        [
            ("cpu_throttling_high", reason),
            ("cpu_usage_abnormal", reason),
            ("node_disk_filling", reason),
            ("prometheus_alert_firing", reason),
            ("scrape_target_down", reason),
        ]
    );
}
