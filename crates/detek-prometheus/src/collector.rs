//! The collectors: [`PrometheusCollector`] runs the selected detectors' PromQL through the
//! HTTP API; [`ScrapeCollector`] reads `/metrics` endpoints directly (`--metrics-url`) and
//! evaluates, at that one instant, what the detectors that need no history ask for — the
//! others are skipped with the reason.

use crate::api::PrometheusApi;
use crate::client::{ClientOptions, Endpoint, Http, status_line};
use crate::detectors::{QuerySpec, queries_of};
use crate::model::*;
use crate::text::{self, Exposition, Format};
use detek_core::{BoxFuture, CollectContext, CollectError, Collector, CollectorMeta, Produced};
use detek_kubernetes_model::history::CONTAINER_HISTORY;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::SystemTime;

fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Finds where Prometheus is when the scan starts (a Service behind the Kubernetes API
/// server's proxy needs the cluster's credentials): candidates in order, each with the name
/// the report gives it; the first that answers as Prometheus is used.
pub type Locate =
    Arc<dyn Fn() -> BoxFuture<'static, Result<Vec<(Endpoint, String)>, String>> + Send + Sync>;

/// Where the Prometheus is.
#[derive(Clone)]
pub enum Location {
    /// `--prometheus-url`.
    Url(Box<Endpoint>),
    /// Found when the scan starts (`--prometheus-service`).
    Found(Locate),
}

/// Reads the metric detectors' inputs from a Prometheus server.
pub struct PrometheusCollector {
    meta: CollectorMeta,
    location: Location,
    options: ClientOptions,
    /// What the report calls it: its URL, or the Service it was reached through.
    name: String,
}

impl PrometheusCollector {
    pub fn new(endpoint: Endpoint, options: ClientOptions, name: impl Into<String>) -> Self {
        Self::at(Location::Url(Box::new(endpoint)), options, name)
    }

    pub fn at(location: Location, options: ClientOptions, name: impl Into<String>) -> Self {
        PrometheusCollector {
            meta: CollectorMeta {
                id: "prometheus/api",
                description: "runs the metric detectors' PromQL, and reads alerts and targets, \
                              through the Prometheus HTTP API",
                labels: vec!["prometheus", "metrics"],
                requires: vec![],
                // The restart history needs a range: the API only, never a scrape.
                produces: all_keys()
                    .into_iter()
                    .chain([CONTAINER_HISTORY.id()])
                    .collect(),
            },
            location,
            options,
            name: name.into(),
        }
    }

    /// The API of the first candidate that answers as Prometheus, its name and version.
    async fn connect(&self) -> Result<(PrometheusApi, String, String), String> {
        let candidates = match &self.location {
            Location::Url(endpoint) => vec![((**endpoint).clone(), self.name.clone())],
            Location::Found(locate) => locate().await?,
        };
        let mut failures = Vec::new();
        for (endpoint, name) in candidates {
            let api = PrometheusApi::new(&endpoint, &self.options)
                .map_err(|e| format!("Prometheus {name}: {e}"))?;
            match api.version().await {
                Ok(version) => return Ok((api, name, version)),
                Err(e) => failures.push(format!("Prometheus {name} cannot be read: {e}")),
            }
        }
        Err(match failures.len() {
            0 => format!("no Prometheus to try for {}", self.name),
            1 => failures.remove(0),
            _ => format!(
                "no Prometheus answered for {}: {}",
                self.name,
                failures.join("; ")
            ),
        })
    }
}

async fn run_query(api: &PrometheusApi, spec: &QuerySpec, at: f64) -> Result<QueryResult, String> {
    let series = match spec.range {
        Some(range) => {
            api.query_range(&spec.promql, at - range.seconds, at, range.step)
                .await?
        }
        None => api.query(&spec.promql, at).await?,
    };
    Ok(QueryResult {
        promql: spec.promql.clone(),
        source: Source::Prometheus,
        at,
        range: spec.range,
        series,
    })
}

async fn run_queries(
    api: &PrometheusApi,
    specs: &[QuerySpec],
    at: f64,
) -> Result<QueryResults, String> {
    let answers =
        futures::future::join_all(specs.iter().map(|spec| run_query(api, spec, at))).await;
    let mut results = QueryResults::new();
    for (spec, answer) in specs.iter().zip(answers) {
        results.insert(spec.name.to_string(), answer?);
    }
    Ok(results)
}

/// `kube_pod_owner` and friends, read into (namespace, pod) → controller.
pub fn pod_owners(pods: &[Series], replicasets: &[Series], jobs: &[Series]) -> PodOwners {
    let index =
        |series: &[Series], object_label: &str| -> HashMap<(String, String), (String, String)> {
            series
                .iter()
                .filter_map(|s| {
                    Some((
                        (
                            s.label("namespace")?.to_string(),
                            s.label(object_label)?.to_string(),
                        ),
                        (
                            s.label("owner_kind")?.to_string(),
                            s.label("owner_name")?.to_string(),
                        ),
                    ))
                })
                .collect()
        };
    let replicasets = index(replicasets, "replicaset");
    let jobs = index(jobs, "job_name");
    let mut owners = BTreeMap::new();
    for ((ns, pod), (kind, name)) in index(pods, "pod") {
        let resolved = match kind.as_str() {
            // Static Pods name their Node as owner: the Pod is the object.
            "Node" | "<none>" => continue,
            "ReplicaSet" => replicasets
                .get(&(ns.clone(), name.clone()))
                .cloned()
                .unwrap_or((kind, name)),
            "Job" => jobs
                .get(&(ns.clone(), name.clone()))
                .cloned()
                .unwrap_or((kind, name)),
            _ => (kind, name),
        };
        owners.insert((ns, pod), resolved);
    }
    PodOwners { owners }
}

const OWNER_QUERIES: [&str; 3] = [
    "max by (namespace, pod, owner_kind, owner_name) (kube_pod_owner{owner_is_controller=\"true\"})",
    "max by (namespace, replicaset, owner_kind, owner_name) (kube_replicaset_owner{owner_is_controller=\"true\"})",
    "max by (namespace, job_name, owner_kind, owner_name) (kube_job_owner{owner_is_controller=\"true\"})",
];

impl Collector for PrometheusCollector {
    fn meta(&self) -> &CollectorMeta {
        &self.meta
    }

    fn collect<'a>(
        &'a self,
        ctx: CollectContext<'a>,
    ) -> BoxFuture<'a, Result<Produced, CollectError>> {
        Box::pin(async move {
            // One clear line when the server cannot be read at all (unreachable, 401, 403).
            let (api, name, version) = self.connect().await.map_err(CollectError::new)?;
            let at = now_seconds();
            let mut produced = Produced::new();
            produced.stat("prometheus_queries", 0);
            let wanted = |id: detek_core::KeyId| ctx.wanted.contains(id);

            let mut jobs = Vec::new();
            for (key, detector) in QUERY_KEYS {
                if !wanted(key.id()) {
                    continue;
                }
                match queries_of(detector, ctx.settings) {
                    Ok(specs) => jobs.push((key, specs)),
                    Err(e) => produced.fail(key.id(), e),
                }
            }
            let api = &api;
            let answers = futures::future::join_all(
                jobs.iter().map(|(_, specs)| run_queries(api, specs, at)),
            )
            .await;
            for ((key, specs), answer) in jobs.iter().zip(answers) {
                produced.stat("prometheus_queries", specs.len() as u64);
                match answer {
                    Ok(results) => {
                        let series: usize = results.values().map(|r| r.series.len()).sum();
                        produced.stat("prometheus_series", series as u64);
                        produced.put(key, results)
                    }
                    Err(e) => produced.fail(key.id(), e),
                }
            }
            if wanted(TARGET_HEALTH.id()) {
                let health = async {
                    let specs = queries_of("scrape_target_down", ctx.settings)?;
                    let up = run_query(api, &specs[0], at).await?;
                    let targets = api.targets().await?;
                    Ok::<_, String>(TargetHealth { up, targets })
                }
                .await;
                match health {
                    Ok(h) => produced.put(&TARGET_HEALTH, h),
                    Err(e) => produced.fail(TARGET_HEALTH.id(), e),
                }
            }
            if wanted(ALERTS.id()) {
                match api.alerts().await {
                    Ok(alerts) => produced.put(&ALERTS, alerts),
                    Err(e) => produced.fail(ALERTS.id(), e),
                }
            }
            if wanted(CONTAINER_HISTORY.id()) {
                match crate::history::read(api, at, &format!("Prometheus {name}")).await {
                    Ok(history) => {
                        produced.stat("prometheus_queries", 3);
                        produced.put(&CONTAINER_HISTORY, history)
                    }
                    Err(e) => produced.fail(CONTAINER_HISTORY.id(), e),
                }
            }
            if wanted(POD_OWNERS.id()) {
                let answers =
                    futures::future::join_all(OWNER_QUERIES.iter().map(|q| api.query(q, at))).await;
                match answers.into_iter().collect::<Result<Vec<_>, _>>() {
                    Ok(a) => produced.put(&POD_OWNERS, pod_owners(&a[0], &a[1], &a[2])),
                    Err(e) => produced.fail(POD_OWNERS.id(), e),
                }
            }
            produced.diagnostic(detek_core::Diagnostic::new(
                detek_core::Level::Normal,
                None,
                format!(
                    "Prometheus {name} (version {version}), queried at {}",
                    format_time(at)
                ),
            ));
            Ok(produced)
        })
    }
}

fn format_time(at: f64) -> String {
    jiff::Timestamp::from_millisecond((at * 1000.0) as i64)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// Scrapes `/metrics` endpoints (`--metrics-url`) and evaluates the detectors' inputs that
/// one instant can give.
pub struct ScrapeCollector {
    meta: CollectorMeta,
    urls: Vec<Endpoint>,
    options: ClientOptions,
}

const NEEDS_HISTORY: &str = "needs history: --metrics-url reads one instant; configure \
                             --prometheus-url or --prometheus-service";

impl ScrapeCollector {
    pub fn new(urls: Vec<Endpoint>, options: ClientOptions) -> Self {
        ScrapeCollector {
            meta: CollectorMeta {
                id: "prometheus/scrape",
                description: "scrapes /metrics endpoints (Prometheus text 0.0.4 or OpenMetrics) \
                              and evaluates the metric detectors' inputs at that instant",
                labels: vec!["prometheus", "metrics"],
                requires: vec![],
                produces: all_keys(),
            },
            urls,
            options,
        }
    }
}

/// One scraped endpoint.
pub struct Scraped {
    pub url: String,
    pub exposition: Exposition,
}

/// GET one `/metrics` endpoint and parse it.
pub async fn scrape(endpoint: &Endpoint, options: &ClientOptions) -> Result<Scraped, String> {
    let http = Http::new(endpoint, options)?;
    let answer = http
        .get(
            &endpoint.url,
            "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1",
        )
        .await?;
    if !answer.status.is_success() {
        return Err(status_line(&endpoint.url, &answer));
    }
    let content_type = answer
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let format = Format::from_content_type(content_type);
    let body = std::str::from_utf8(&answer.body)
        .map_err(|_| format!("{}: the body is not UTF-8", endpoint.url))?;
    let exposition = text::parse(body, format).map_err(|e| format!("{}: {e}", endpoint.url))?;
    Ok(Scraped {
        url: endpoint.url.clone(),
        exposition,
    })
}

impl Collector for ScrapeCollector {
    fn meta(&self) -> &CollectorMeta {
        &self.meta
    }

    fn collect<'a>(
        &'a self,
        ctx: CollectContext<'a>,
    ) -> BoxFuture<'a, Result<Produced, CollectError>> {
        Box::pin(async move {
            let scraped =
                futures::future::join_all(self.urls.iter().map(|u| scrape(u, &self.options)))
                    .await
                    .into_iter()
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| CollectError::new(format!("--metrics-url cannot be read: {e}")))?;
            let at = now_seconds();
            let mut produced = Produced::new();
            for s in &scraped {
                produced.stat("samples_scraped", s.exposition.samples.len() as u64);
            }
            let evaluation = Evaluation::new(&scraped, at);
            for key in all_keys() {
                if !ctx.wanted.contains(key) {
                    continue;
                }
                match key {
                    k if k == MEMORY_USAGE.id() => produced.put(&MEMORY_USAGE, evaluation.memory()),
                    k if k == CONNTRACK.id() => produced.put(&CONNTRACK, evaluation.conntrack()),
                    k if k == POD_RESOURCES.id() => {
                        produced.put(&POD_RESOURCES, evaluation.pod_resources())
                    }
                    k if k == POD_OWNERS.id() => produced.put(&POD_OWNERS, evaluation.owners()),
                    other => produced.skip(other, NEEDS_HISTORY),
                }
            }
            Ok(produced)
        })
    }
}

/// What the scrape-mode inputs are computed from: every sample of every endpoint, each with
/// an `instance` label (the endpoint's URL) when it has none.
pub struct Evaluation {
    samples: Vec<(String, Labels, f64)>,
    at: f64,
}

impl Evaluation {
    pub fn new(scraped: &[Scraped], at: f64) -> Evaluation {
        let mut samples = Vec::new();
        for s in scraped {
            for sample in &s.exposition.samples {
                let mut labels: Labels = sample
                    .labels
                    .iter()
                    .filter(|(_, v)| !v.is_empty())
                    .cloned()
                    .collect();
                labels
                    .entry("instance".into())
                    .or_insert_with(|| s.url.clone());
                samples.push((sample.name.clone(), labels, sample.value));
            }
        }
        Evaluation { samples, at }
    }

    fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a (String, Labels, f64)> + 'a {
        self.samples.iter().filter(move |(n, _, _)| n == name)
    }

    fn result(&self, what: &str, series: Vec<Series>) -> QueryResult {
        QueryResult {
            promql: format!("evaluated from the scrape: {what}"),
            source: Source::Scrape,
            at: self.at,
            range: None,
            series,
        }
    }

    fn series(&self, labels: Labels, value: f64) -> Series {
        Series {
            labels,
            points: vec![(self.at, value)],
        }
    }

    /// Labels `keep` of `labels`.
    fn project(labels: &Labels, keep: &[&str]) -> Option<Labels> {
        keep.iter()
            .map(|k| Some((k.to_string(), labels.get(*k)?.clone())))
            .collect()
    }

    /// `max by (keep) (name{filter})`.
    fn max_by(
        &self,
        name: &str,
        keep: &[&str],
        filter: impl Fn(&Labels) -> bool,
    ) -> BTreeMap<Labels, f64> {
        let mut out: BTreeMap<Labels, f64> = BTreeMap::new();
        for (_, labels, value) in self.named(name) {
            if !filter(labels) {
                continue;
            }
            if let Some(key) = Self::project(labels, keep) {
                let slot = out.entry(key).or_insert(f64::NEG_INFINITY);
                *slot = slot.max(*value);
            }
        }
        out
    }

    fn nodenames(&self) -> HashMap<String, String> {
        self.named("node_uname_info")
            .filter_map(|(_, l, _)| Some((l.get("instance")?.clone(), l.get("nodename")?.clone())))
            .collect()
    }

    fn per_node(&self, numerator: &str, denominator: &str, invert: bool) -> Vec<Series> {
        let names = self.nodenames();
        let num = self.max_by(numerator, &["instance"], |_| true);
        let den = self.max_by(denominator, &["instance"], |_| true);
        let mut out = Vec::new();
        for (labels, n) in num {
            let (Some(d), Some(node)) = (
                den.get(&labels),
                labels.get("instance").and_then(|i| names.get(i)),
            ) else {
                continue;
            };
            if *d <= 0.0 {
                continue;
            }
            let mut labels = labels.clone();
            labels.insert("nodename".into(), node.clone());
            let ratio = n / d;
            out.push(self.series(labels, if invert { 1.0 - ratio } else { ratio }));
        }
        out
    }

    fn working_set(labels: &Labels) -> bool {
        labels.get("container").is_some_and(|c| c != "POD")
    }

    pub fn memory(&self) -> QueryResults {
        let usage = self.max_by(
            "container_memory_working_set_bytes",
            &["namespace", "pod", "container"],
            Self::working_set,
        );
        let limits = self.max_by(
            "kube_pod_container_resource_limits",
            &["namespace", "pod", "container"],
            |l| l.get("resource").map(String::as_str) == Some("memory"),
        );
        let containers = usage
            .into_iter()
            .filter_map(|(labels, ws)| {
                let limit = *limits.get(&labels)?;
                (limit > 0.0).then(|| self.series(labels, ws / limit))
            })
            .collect();
        let mut results = QueryResults::new();
        results.insert(
            "container".into(),
            self.result(
                "container_memory_working_set_bytes / kube_pod_container_resource_limits{resource=\"memory\"} by (namespace, pod, container)",
                containers,
            ),
        );
        results.insert(
            "node".into(),
            self.result(
                "1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes by instance, named by node_uname_info",
                self.per_node("node_memory_MemAvailable_bytes", "node_memory_MemTotal_bytes", true),
            ),
        );
        results
    }

    pub fn conntrack(&self) -> QueryResults {
        let mut results = QueryResults::new();
        results.insert(
            "ratio".into(),
            self.result(
                "node_nf_conntrack_entries / node_nf_conntrack_entries_limit by instance, named by node_uname_info",
                self.per_node("node_nf_conntrack_entries", "node_nf_conntrack_entries_limit", false),
            ),
        );
        results
    }

    pub fn pod_resources(&self) -> QueryResults {
        let mut per_pod: BTreeMap<Labels, f64> = BTreeMap::new();
        for (labels, value) in self.max_by(
            "container_memory_working_set_bytes",
            &["namespace", "pod", "container"],
            Self::working_set,
        ) {
            if let Some(key) = Self::project(&labels, &["namespace", "pod"]) {
                *per_pod.entry(key).or_default() += value;
            }
        }
        let mut results = QueryResults::new();
        results.insert(
            "usage".into(),
            self.result(
                "sum by (namespace, pod) (container_memory_working_set_bytes{container!=\"\", container!=\"POD\"})",
                per_pod.into_iter().map(|(l, v)| self.series(l, v)).collect(),
            ),
        );
        results
    }

    pub fn owners(&self) -> PodOwners {
        let select = |name: &str| -> Vec<Series> {
            self.named(name)
                .filter(|(_, l, _)| {
                    l.get("owner_is_controller").map(String::as_str) == Some("true")
                })
                .map(|(_, l, v)| self.series(l.clone(), *v))
                .collect()
        };
        pod_owners(
            &select("kube_pod_owner"),
            &select("kube_replicaset_owner"),
            &select("kube_job_owner"),
        )
    }
}
