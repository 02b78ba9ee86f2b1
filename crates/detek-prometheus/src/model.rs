//! The `prometheus/…` keys and what they hold. One key per detector, so a query that fails
//! makes only its detector `Unknown`; the collector fills only the keys a selected detector
//! wants, with the PromQL from that detector's settings.

use detek_core::Key;
use serde::Serialize;
use std::collections::BTreeMap;

/// A series' labels, sorted by name.
pub type Labels = BTreeMap<String, String>;

/// One series of a query's answer: its labels and its points (one for an instant query,
/// one per step for a range query), oldest first, times in seconds since the epoch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub labels: Labels,
    pub points: Vec<(f64, f64)>,
}

impl Series {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The newest value.
    pub fn last(&self) -> Option<f64> {
        self.points.last().map(|p| p.1)
    }
}

/// How a query was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Source {
    /// The Prometheus HTTP API: the PromQL was run there.
    Prometheus,
    /// `--metrics-url`: one scrape, evaluated here at one instant (no history).
    Scrape,
}

/// The answer to one query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueryResult {
    /// The PromQL as run (or, from a scrape, what was evaluated in its place).
    pub promql: String,
    pub source: Source,
    /// When it was evaluated (seconds since the epoch): the end of a range.
    pub at: f64,
    /// For a range query, how long the condition must hold (seconds) and the step.
    pub range: Option<Range>,
    pub series: Vec<Series>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Range {
    pub seconds: f64,
    pub step: f64,
}

/// The answers to a detector's queries, by the query's name (`container`, `node`, …).
pub type QueryResults = BTreeMap<String, QueryResult>;

/// A firing or pending alert from `/api/v1/alerts`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    pub labels: Labels,
    pub annotations: Labels,
    /// `firing` or `pending`.
    pub state: String,
    pub active_at: Option<String>,
    pub value: Option<String>,
}

/// A scrape target from `/api/v1/targets`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScrapeTarget {
    pub labels: Labels,
    pub scrape_url: String,
    pub health: String,
    pub last_error: String,
}

/// `up` over the `for` window and the targets' last errors.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetHealth {
    pub up: QueryResult,
    pub targets: Vec<ScrapeTarget>,
}

/// Which controller owns each Pod, as kube-state-metrics tells it (`kube_pod_owner`,
/// `kube_replicaset_owner`, `kube_job_owner`): (namespace, pod) → (kind, name), a
/// ReplicaSet resolved to its Deployment and a Job to its CronJob. Pods without a
/// controller are absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PodOwners {
    pub owners: BTreeMap<(String, String), (String, String)>,
}

pub const MEMORY_USAGE: Key<QueryResults> = Key::new("prometheus/memory-usage");
pub const CONNTRACK: Key<QueryResults> = Key::new("prometheus/conntrack");
pub const CPU_USAGE: Key<QueryResults> = Key::new("prometheus/cpu-usage");
pub const CPU_THROTTLING: Key<QueryResults> = Key::new("prometheus/cpu-throttling");
pub const POD_RESOURCES: Key<QueryResults> = Key::new("prometheus/pod-resources");
pub const DISK_FILLING: Key<QueryResults> = Key::new("prometheus/disk-filling");
pub const TARGET_HEALTH: Key<TargetHealth> = Key::new("prometheus/target-health");
pub const ALERTS: Key<Vec<Alert>> = Key::new("prometheus/alerts");
pub const POD_OWNERS: Key<PodOwners> = Key::new("prometheus/pod-owners");

/// The keys whose value is a detector's [`QueryResults`], with that detector's id.
pub const QUERY_KEYS: [(&Key<QueryResults>, &str); 6] = [
    (&MEMORY_USAGE, "memory_usage_high"),
    (&CONNTRACK, "conntrack_near_limit"),
    (&CPU_USAGE, "cpu_usage_abnormal"),
    (&CPU_THROTTLING, "cpu_throttling_high"),
    (&POD_RESOURCES, "pod_resource_outlier"),
    (&DISK_FILLING, "node_disk_filling"),
];

/// Every key the collectors produce.
pub fn all_keys() -> Vec<detek_core::KeyId> {
    let mut keys: Vec<_> = QUERY_KEYS.iter().map(|(k, _)| k.id()).collect();
    keys.extend([TARGET_HEALTH.id(), ALERTS.id(), POD_OWNERS.id()]);
    keys
}
