//! detek's metrics integration (DESIGN.md §3): where metrics come from — the Prometheus HTTP
//! API (`api`, `client`: `--prometheus-url`, or a Prometheus Service reached through the
//! Kubernetes API server's proxy) or `/metrics` endpoints scraped directly (`--metrics-url`,
//! parsed by `text`: Prometheus text 0.0.4 and OpenMetrics 1.0) —, the collectors that fill
//! the `prometheus/…` keys (`collector`, `model`), and the metric detectors (`detectors`,
//! one per file, their PromQL and thresholds declared as settings).
//!
//! Findings name Kubernetes objects from the series' labels (a Pod's controller through
//! kube-state-metrics' `kube_pod_owner`, a Node through `node_uname_info`), so a metric
//! finding and an object finding about one Deployment sit together in the report.

pub mod api;
pub mod client;
pub mod collector;
pub mod detectors;
pub mod history;
pub mod model;
pub(crate) mod prelude;
pub mod testing;
pub mod text;

pub use detectors::register;
