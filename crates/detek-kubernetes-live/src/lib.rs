//! The live collector: objects from a running cluster's API server, into the same model the
//! snapshot collector fills (so live and offline scans give the same findings).
//!
//! Politeness and honesty rules it keeps:
//!
//! * **Only what is needed.** It lists the kinds in `CollectContext::wanted` (all kinds when a
//!   detector reads `kubernetes/objects`; the workload kinds when one reads
//!   `kubernetes/workload-templates`, and Pods with them for `kubernetes/pod-specs` and
//!   `kubernetes/pods-by-label`), and asks `/readyz` and `/livez` only when
//!   [`APISERVER_HEALTH`] is wanted.
//! * **Whole lists, paged when needed, bounded.** Each kind is asked for in one request by
//!   default (`page_size` 0), which the API server answers from its watch cache: on the test
//!   server with 100k objects that took 12 s where pages of 500 took 21 s (docs/performance.md).
//!   A whole list that times out is asked again page by page ([`FALLBACK_PAGE_SIZE`]); with a
//!   `page_size`, lists go `limit`/`continue` from the start. At most `concurrency` requests are
//!   in flight; each request has a timeout; 429
//!   and 5xx answers and dropped connections are retried with exponential backoff, honouring
//!   `Retry-After` (never waiting longer than `max_retry_wait`).
//! * **Discovery first.** A kind whose group/version or resource the server does not serve is
//!   listed as empty, with a diagnostic, not failed (e.g. `autoscaling/v2` on an old cluster).
//! * **Lean.** `metadata.managedFields` is dropped from every object as its page is parsed
//!   (`kubectl get -o yaml` hides it too; no detector reads it), and each page is converted to
//!   typed objects as soon as it arrives, so raw pages do not pile up.
//! * **Failures stay local.** A kind that cannot be listed (403, 500 after retries, timeout)
//!   marks only its key failed with the reason (`forbidden: ...`), so only the detectors
//!   needing it become `Unknown`; keys derived from it (`kubernetes/objects`,
//!   `kubernetes/workload-templates`, `kubernetes/pod-specs`...) fail too rather than be
//!   silently incomplete. Custom resources are not listed (no CRD discovery):
//!   `kubernetes/custom-resources`, when wanted, fails saying so. Only an unreachable server
//!   (the first request, `/version`, gets no answer) fails the collector as a whole, with one
//!   line saying why.
//! * **Secrets.** Secrets of type `kubernetes.io/tls` are listed in full with a field selector
//!   and reduced as each page is parsed: every value but `tls.crt` is blanked, and the
//!   `last-applied-configuration` annotation (which copies the data) and managedFields are
//!   dropped; the model then keeps only certificate facts. Every other Secret is listed as a
//!   metadata-only `Table` (name, labels, annotations, type): its values never leave the API
//!   server. Their key names are therefore unknown, which `ClusterInfo::secrets_metadata_only`
//!   tells detectors (an empty `keys` then means "not collected", not "no keys").
//!   Helm 3 release Secrets of deployed revisions (type `helm.sh/release.v1`, label
//!   `status=deployed`) are listed in full with every key but `release` dropped as the page is
//!   parsed; the model decodes the record and keeps only the release's and its rendered
//!   objects' identity (`detek_kubernetes_model::helm`).
//! * **Logs, bounded.** When restart forensics wants `kubernetes/previous-logs`, the previous
//!   run's last lines of each restarted container are read (`pods/log?previous=true`; at most
//!   [`logs::MAX_CONTAINERS`] containers, [`logs::TAIL_LINES`] lines and
//!   [`logs::LIMIT_BYTES`] bytes each). A container whose log cannot be read (no `pods/log`
//!   permission, no previous run kept) is recorded as not read, with the reason.

mod client;
pub use detek_kubernetes_model::health;
mod list;
pub use list::FALLBACK_PAGE_SIZE;
pub mod logs;
pub mod target;

pub use health::{APISERVER_HEALTH, ApiServerHealth, HealthCheck, HealthEndpoint};
pub use target::{Environment, LiveTarget, TargetRequest, resolve};

use client::{Api, Failure};
use detek_core::{
    BoxFuture, CollectContext, CollectError, Collector, CollectorMeta, Diagnostic, KeyId, Level,
    Produced,
};
use detek_kubernetes_model::collector::kubernetes_keys;
use detek_kubernetes_model::logs::PREVIOUS_LOGS;
use detek_kubernetes_model::model::{
    CUSTOM_RESOURCES, IGNORE_ANNOTATIONS, INDEX_SOURCES, KINDS, KindInfo, NAMESPACES, OBJECTS,
    ObjectSet, POD_SPECS, PODS, PODS_BY_LABEL, SECRETS, WORKLOAD_TEMPLATES,
};
use futures::StreamExt;
use list::{JSON, KindOutcome, Scope, Shape};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::mpsc;

/// How to talk to the API server.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Time allowed for one request, answer body included (`--request-timeout`).
    pub request_timeout: Duration,
    /// List namespaced kinds in this namespace only (`--namespace`).
    pub namespace: Option<String>,
    /// Label selector for namespaced kinds (`--label-selector`); cluster-scoped kinds (Nodes,
    /// PersistentVolumes, ClusterRoles, webhooks...) are listed whole.
    pub label_selector: Option<String>,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Objects per page (`limit`, `--chunk-size`); 0: each kind's whole list in one request,
    /// asked again page by page ([`FALLBACK_PAGE_SIZE`]) if it times out.
    pub page_size: u32,
    /// Retries of one request on 429, 5xx or a dropped connection.
    pub max_retries: u32,
    /// Longest wait between retries (a `Retry-After` asking for more gives up at once).
    pub max_retry_wait: Duration,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            request_timeout: Duration::from_secs(30),
            namespace: None,
            label_selector: None,
            concurrency: 4,
            page_size: 0,
            max_retries: 4,
            max_retry_wait: Duration::from_secs(30),
        }
    }
}

/// A duration as kubectl's `--request-timeout` takes it: `30s`, `2m`, `1m30s`, `500ms`, `1h`;
/// a bare number is seconds. Zero is refused (it would mean "no answer allowed").
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let bad = || format!("{text:?} is not a duration (e.g. 30s, 2m, 1m30s, 500ms)");
    if let Ok(secs) = t.parse::<f64>() {
        return (secs > 0.0 && secs.is_finite())
            .then(|| Duration::from_secs_f64(secs))
            .ok_or_else(bad);
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let value: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += Duration::from_secs_f64(value * factor);
        rest = &rest[unit_len..];
    }
    if total.is_zero() {
        return Err(bad());
    }
    Ok(total)
}

/// Every key the live collector can produce: the snapshot keys plus the API server's health
/// and the restarted containers' previous logs.
pub fn live_keys() -> Vec<KeyId> {
    let mut keys = kubernetes_keys();
    keys.push(APISERVER_HEALTH.id());
    keys.push(PREVIOUS_LOGS.id());
    keys
}

/// Kinds that feed `kubernetes/workload-templates` (and, with Pods, `kubernetes/pod-specs`
/// and `kubernetes/pods-by-label`).
const TEMPLATE_SOURCES: &[&str] = &[
    "kubernetes/deployments",
    "kubernetes/statefulsets",
    "kubernetes/daemonsets",
    "kubernetes/replicasets",
    "kubernetes/replicationcontrollers",
    "kubernetes/jobs",
    "kubernetes/cronjobs",
];

/// Collects a live cluster (id `kubernetes/live`).
pub struct LiveCollector {
    meta: CollectorMeta,
    target: LiveTarget,
    options: LiveOptions,
}

impl LiveCollector {
    pub fn new(target: LiveTarget, options: LiveOptions) -> Self {
        LiveCollector {
            meta: CollectorMeta {
                id: "kubernetes/live",
                description: "Kubernetes objects and API server health from a live cluster",
                labels: vec!["kubernetes", "live"],
                requires: vec![],
                produces: live_keys(),
            },
            target,
            options,
        }
    }

    pub fn target(&self) -> &LiveTarget {
        &self.target
    }
}

/// The kinds to list for the wanted keys.
fn kinds_for(wanted: &BTreeSet<KeyId>) -> Vec<&'static KindInfo> {
    let all = wanted.contains(OBJECTS.id());
    let specs = wanted.contains(POD_SPECS.id()) || wanted.contains(PODS_BY_LABEL.id());
    let templates = specs || wanted.contains(WORKLOAD_TEMPLATES.id());
    // Annotations on a namespace suppress findings on every object in it.
    let ignore = wanted.contains(IGNORE_ANNOTATIONS.id());
    KINDS
        .iter()
        .filter(|k| {
            all || wanted.contains(k.key)
                || (templates && TEMPLATE_SOURCES.contains(&k.key))
                || (specs && k.key == PODS.id())
                || (ignore && k.key == NAMESPACES.id())
                || INDEX_SOURCES
                    .iter()
                    .any(|(index, source)| *source == k.key && wanted.contains(*index))
        })
        .collect()
}

/// One unit of listing work.
#[derive(Clone, Copy)]
struct Job {
    kind: &'static KindInfo,
    shape: Shape,
}

enum Msg {
    Page(list::Page),
    Done(Job, KindOutcome),
    Health(Result<ApiServerHealth, String>),
}

impl Collector for LiveCollector {
    fn meta(&self) -> &CollectorMeta {
        &self.meta
    }

    fn collect<'a>(
        &'a self,
        ctx: CollectContext<'a>,
    ) -> BoxFuture<'a, Result<Produced, CollectError>> {
        Box::pin(self.run(ctx))
    }
}

impl LiveCollector {
    async fn run(&self, ctx: CollectContext<'_>) -> Result<Produced, CollectError> {
        let name = &self.target.name;
        let mut config = self.target.config().await.map_err(CollectError::new)?;
        // Retries are ours (counted, reported, Retry-After honoured).
        config.default_retry = false;
        config.connect_timeout = Some(self.options.request_timeout);
        let server = config
            .cluster_url
            .to_string()
            .trim_end_matches('/')
            .to_string();
        let fallback_identity = server_identity(&server, config.root_cert.as_deref());
        let client = kube::Client::try_from(config).map_err(|e| {
            CollectError::new(format!(
                "cannot set up a client for {server} (context {name}): {}",
                target::error_chain(&e)
            ))
        })?;
        let api = Arc::new(Api::new(client, server.clone(), &self.options));
        let mut produced = Produced::new();

        // First contact: the version. No answer here means the server is unreachable.
        ctx.progress
            .message(&format!("{name}: connecting to {server}"));
        let version = match api.get("/version", JSON).await {
            Ok(answer) => serde_json::from_slice::<Value>(&answer.body)
                .ok()
                .and_then(|v| {
                    v.get("gitVersion")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .map(|v| v.trim_start_matches('v').to_string()),
            Err(f @ Failure::Status { code: 403, .. }) => {
                produced.diagnostic(Diagnostic::new(
                    Level::Warn,
                    None,
                    format!("/version: {}; the server version is unknown", f.describe()),
                ));
                None
            }
            Err(f) => {
                return Err(CollectError::new(match &f {
                    Failure::Status { code: 401, .. } => format!(
                        "the Kubernetes API server at {server} rejected the credentials of context {name} (401 Unauthorized)"
                    ),
                    Failure::Status { .. } => format!(
                        "the Kubernetes API server at {server} (context {name}) answered /version with {}",
                        f.describe()
                    ),
                    _ => format!(
                        "cannot reach the Kubernetes API server at {server} (context {name}): {}",
                        f.describe()
                    ),
                }));
            }
        };

        // The cluster's identity: the kube-system namespace UID survives renamed contexts and
        // moved endpoints; without read access to it, the server URL and CA.
        produced.identify(match cluster_uid(&api).await {
            Some(uid) => format!("cluster:uid:{uid}"),
            None => fallback_identity,
        });

        let kinds = kinds_for(ctx.wanted);
        let want_health = ctx.wanted.contains(APISERVER_HEALTH.id());
        let scope = Scope {
            namespace: self.options.namespace.clone(),
            label_selector: self.options.label_selector.clone(),
            page_size: self.options.page_size,
        };

        // Discovery of the group/versions those kinds live in.
        let mut outcomes: BTreeMap<&'static str, Vec<KindOutcome>> = BTreeMap::new();
        let group_versions: BTreeSet<String> =
            kinds.iter().map(|k| list::group_version_path(k)).collect();
        let concurrency = self.options.concurrency.max(1);
        let discovered: BTreeMap<String, Result<Option<Vec<String>>, Failure>> =
            futures::stream::iter(group_versions)
                .map(|gv| {
                    let api = api.clone();
                    async move {
                        let result = list::discover(&api, &gv).await;
                        (gv, result)
                    }
                })
                .buffer_unordered(concurrency)
                .collect()
                .await;
        let mut jobs = Vec::new();
        for kind in &kinds {
            let gv = list::group_version_path(kind);
            match discovered.get(&gv) {
                Some(Ok(None)) => {
                    outcomes
                        .entry(kind.key)
                        .or_default()
                        .push(KindOutcome::NotServed(format!(
                            "{} is not served",
                            kind.api_version
                        )));
                    continue;
                }
                Some(Ok(Some(names))) if !names.iter().any(|n| n == kind.plural) => {
                    outcomes
                        .entry(kind.key)
                        .or_default()
                        .push(KindOutcome::NotServed(format!(
                            "{} does not serve {}",
                            kind.api_version, kind.plural
                        )));
                    continue;
                }
                Some(Err(f)) => produced.diagnostic(Diagnostic::new(
                    Level::Warn,
                    None,
                    format!(
                        "discovery of {gv} failed ({}); listing {} anyway",
                        f.describe(),
                        kind.plural
                    ),
                )),
                _ => {}
            }
            if kind.key == SECRETS.id() {
                jobs.push(Job {
                    kind,
                    shape: Shape::TlsSecrets,
                });
                jobs.push(Job {
                    kind,
                    shape: Shape::SecretTable,
                });
                jobs.push(Job {
                    kind,
                    shape: Shape::HelmReleases,
                });
            } else {
                jobs.push(Job {
                    kind,
                    shape: Shape::List,
                });
            }
        }

        // Listing runs in its own task (JSON parsing of pages happens there); this task turns
        // pages into typed objects as they arrive, so raw pages do not pile up.
        let (tx, mut rx) = mpsc::channel::<Msg>(concurrency * 2);
        let lister = {
            let api = api.clone();
            let scope = scope.clone();
            tokio::spawn(async move {
                let health_tx = tx.clone();
                let health_api = api.clone();
                let health = async move {
                    if want_health {
                        let h = probe_health(&health_api).await;
                        let _ = health_tx.send(Msg::Health(h)).await;
                    }
                };
                let lists = futures::stream::iter(jobs)
                    .map(|job| {
                        let (api, scope, tx) = (api.clone(), scope.clone(), tx.clone());
                        async move {
                            let (page_tx, mut page_rx) = mpsc::channel::<list::Page>(1);
                            let forward = async {
                                while let Some(page) = page_rx.recv().await {
                                    if tx.send(Msg::Page(page)).await.is_err() {
                                        break;
                                    }
                                }
                            };
                            let listing = async {
                                let outcome =
                                    list::list_kind(&api, job.kind, &scope, job.shape, &page_tx)
                                        .await;
                                drop(page_tx);
                                outcome
                            };
                            let (outcome, ()) = tokio::join!(listing, forward);
                            let _ = tx.send(Msg::Done(job, outcome)).await;
                        }
                    })
                    .buffer_unordered(concurrency)
                    .collect::<Vec<()>>();
                tokio::join!(health, lists);
            })
        };

        let mut set = ObjectSet::new();
        set.server_version = version;
        set.live = true;
        let mut health = None;
        while let Some(msg) = rx.recv().await {
            match msg {
                Msg::Page(page) => detek_core::off_async_workers(|| {
                    // Typing a page is CPU-bound: other targets' tasks move to other workers.
                    match page {
                        // Batch by batch, each text dropped once its items are typed.
                        list::Page::Texts(texts) => {
                            for text in texts {
                                set.add_json(&text, 0, text.len(), None);
                                set.finish();
                            }
                        }
                        list::Page::Tree(value) => {
                            set.add_value(value, None);
                            set.finish();
                        }
                    }
                }),
                Msg::Done(job, outcome) => {
                    if let KindOutcome::Listed { objects, pages } = &outcome {
                        let what = match job.shape {
                            Shape::TlsSecrets => "TLS secrets".to_string(),
                            Shape::SecretTable => "other secrets (metadata only)".to_string(),
                            Shape::HelmReleases => "deployed Helm release secrets".to_string(),
                            Shape::List => job.kind.plural.to_string(),
                        };
                        ctx.progress.message(&format!(
                            "{name}: listed {objects} {what} ({pages} page(s))"
                        ));
                    }
                    outcomes.entry(job.kind.key).or_default().push(outcome);
                }
                Msg::Health(h) => health = Some(h),
            }
        }
        if let Err(e) = lister.await {
            return Err(CollectError::new(format!("listing task failed: {e}")));
        }

        // What could not be had, per key.
        let mut failed: BTreeMap<&'static str, String> = BTreeMap::new();
        let (mut listed, mut not_served) = (0u64, 0u64);
        for (key, results) in &outcomes {
            for outcome in results {
                match outcome {
                    KindOutcome::Listed { pages, .. } => {
                        listed += 1;
                        produced.stat("pages", *pages);
                    }
                    KindOutcome::NotServed(why) => {
                        not_served += 1;
                        produced.diagnostic(Diagnostic::new(
                            Level::Warn,
                            None,
                            format!("{key}: not served by this cluster ({why}); treated as none"),
                        ));
                    }
                    KindOutcome::Failed(f) => {
                        failed.entry(key).or_insert_with(|| f.describe());
                    }
                }
            }
        }
        // Non-TLS Secrets are only ever listed as metadata here.
        set.secrets_metadata_only = true;
        let failed_kinds: Vec<&str> = failed.keys().copied().collect();
        if !failed_kinds.is_empty() {
            let first = failed.values().next().cloned().unwrap_or_default();
            let summary = format!(
                "incomplete: {} could not be listed ({first})",
                failed_kinds.join(", ")
            );
            failed.entry(OBJECTS.id()).or_insert(summary);
        }
        if let Some(source) = TEMPLATE_SOURCES.iter().find(|k| failed.contains_key(**k)) {
            let reason = format!("incomplete: {source}: {}", failed[source]);
            failed.entry(WORKLOAD_TEMPLATES.id()).or_insert(reason);
        }
        if let Some(source) = std::iter::once(&PODS.id())
            .chain(TEMPLATE_SOURCES)
            .find(|k| failed.contains_key(**k))
        {
            let reason = format!("incomplete: {source}: {}", failed[source]);
            for key in [POD_SPECS.id(), PODS_BY_LABEL.id()] {
                failed.entry(key).or_insert(reason.clone());
            }
        }
        for (index, source) in INDEX_SOURCES {
            if let Some(reason) = failed.get(source) {
                let reason = format!("incomplete: {source}: {reason}");
                failed.entry(*index).or_insert(reason);
            }
        }
        failed.insert(
            CUSTOM_RESOURCES.id(),
            "a live scan lists only the kinds detek has a type for; custom resources come from snapshot inputs (manifests, dumps)".to_string(),
        );

        let wanted = ctx.wanted;
        if wanted.contains(PREVIOUS_LOGS.id()) {
            match failed.get(PODS.id()) {
                Some(reason) => produced.fail(
                    PREVIOUS_LOGS.id(),
                    format!("the Pods could not be listed: {reason}"),
                ),
                None => {
                    let previous = logs::read(&api, &set.pods, concurrency).await;
                    ctx.progress.message(&format!(
                        "{name}: read {} previous container log(s)",
                        previous.tails.len()
                    ));
                    produced.put(&PREVIOUS_LOGS, previous);
                }
            }
        }
        set.into_produced(&mut produced, &|id| {
            !wanted.contains(id) || failed.contains_key(id)
        });
        for (key, reason) in &failed {
            if wanted.contains(key) {
                produced.fail(key, reason.clone());
            }
        }
        if want_health {
            match health {
                Some(Ok(h)) => produced.put(&APISERVER_HEALTH, h),
                Some(Err(reason)) => produced.fail(APISERVER_HEALTH.id(), reason),
                None => produced.fail(APISERVER_HEALTH.id(), "health endpoints were not asked"),
            }
        }

        produced.stat("kinds_listed", listed);
        produced.stat("kinds_not_served", not_served);
        produced.stat("kinds_failed", failed_kinds.len() as u64);
        produced.stat("requests", api.requests.load(Ordering::Relaxed));
        produced.stat("retries", api.retries.load(Ordering::Relaxed));
        produced.stat("bytes_received", api.bytes.load(Ordering::Relaxed));
        let notes = api
            .retry_notes
            .lock()
            .map(|n| n.clone())
            .unwrap_or_default();
        for note in notes {
            produced.diagnostic(Diagnostic::new(Level::Normal, None, note));
        }
        Ok(produced)
    }
}

/// The UID of the kube-system namespace (one GET, not retried), when readable.
async fn cluster_uid(api: &Api) -> Option<String> {
    let answer = api
        .get_any("/api/v1/namespaces/kube-system", JSON, false)
        .await
        .ok()?;
    if !answer.status.is_success() {
        return None;
    }
    let namespace: Value = serde_json::from_slice(&answer.body).ok()?;
    namespace
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .filter(|uid| !uid.is_empty())
        .map(str::to_string)
}

/// `cluster:server:URL#ca:HASH`: the identity of a cluster whose kube-system namespace cannot
/// be read (the CA tells two clusters behind one URL apart).
fn server_identity(server: &str, root_certs: Option<&[Vec<u8>]>) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for cert in root_certs.unwrap_or_default() {
        hasher.update(cert);
    }
    let digest = hasher.finalize();
    let ca: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("cluster:server:{server}#ca:{ca}")
}

/// `/readyz?verbose` and `/livez?verbose` (`/healthz?verbose` when the server has no readyz).
/// A 500 is an answer here, not an error: it is not retried.
async fn probe_health(api: &Api) -> Result<ApiServerHealth, String> {
    async fn ask(api: &Api, path: &str) -> Result<Option<HealthEndpoint>, String> {
        match api
            .get_any(&format!("{path}?verbose"), "text/plain, */*", false)
            .await
        {
            Ok(answer) => match answer.status.as_u16() {
                404 => Ok(None),
                401 | 403 => Err(format!(
                    "{path}: {}",
                    client::status_failure(&answer).describe()
                )),
                status => Ok(Some(HealthEndpoint::from_response(
                    path,
                    status,
                    &String::from_utf8_lossy(&answer.body),
                ))),
            },
            Err(f) => Ok(Some(HealthEndpoint::unanswered(path, f.describe()))),
        }
    }
    let (ready, live) = tokio::join!(ask(api, "/readyz"), ask(api, "/livez"));
    let mut endpoints = Vec::new();
    match ready? {
        Some(e) => endpoints.push(e),
        None => {
            if let Some(e) = ask(api, "/healthz").await? {
                endpoints.push(e);
            }
        }
    }
    endpoints.extend(live?);
    if endpoints.is_empty() {
        return Err(format!(
            "{} has none of /readyz, /livez, /healthz",
            api.server
        ));
    }
    Ok(ApiServerHealth {
        server: api.server.clone(),
        endpoints,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_kubectl_writes_them() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("10 parsecs").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn only_wanted_kinds_are_listed() {
        let wanted: BTreeSet<KeyId> = ["kubernetes/pods", "kubernetes/cluster-info"].into();
        let kinds: Vec<&str> = kinds_for(&wanted).iter().map(|k| k.plural).collect();
        assert_eq!(kinds, ["pods"]);
        let wanted: BTreeSet<KeyId> = [WORKLOAD_TEMPLATES.id()].into();
        assert_eq!(kinds_for(&wanted).len(), TEMPLATE_SOURCES.len());
        let wanted: BTreeSet<KeyId> = [POD_SPECS.id()].into();
        assert_eq!(kinds_for(&wanted).len(), TEMPLATE_SOURCES.len() + 1);
        let wanted: BTreeSet<KeyId> = [OBJECTS.id()].into();
        assert_eq!(kinds_for(&wanted).len(), KINDS.len());
    }
}
