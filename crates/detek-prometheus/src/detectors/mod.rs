//! The metric detectors: one per file, registered in [`all`]. Each declares its PromQL and
//! thresholds as settings (`detek explain ID` shows them, `detek.yaml` overrides them); the
//! collector runs the PromQL of the selected detectors ([`queries_of`]) and the detector
//! judges the answers, so thresholds and durations are checked here, visibly, and a query
//! with no series is "no data", never a pass.

use crate::model::Range;
use detek_core::{Detector, Settings};
use std::sync::Arc;

pub mod helpers;

pub mod conntrack_near_limit;
pub mod cpu_throttling_high;
pub mod cpu_usage_abnormal;
pub mod memory_usage_high;
pub mod node_disk_filling;
pub mod pod_resource_outlier;
pub mod prometheus_alert_firing;
pub mod scrape_target_down;

/// One query a detector needs: its name in the detector's results, the PromQL, and the range
/// its condition must hold over (`None`: an instant query).
#[derive(Debug, Clone, PartialEq)]
pub struct QuerySpec {
    pub name: &'static str,
    pub promql: String,
    pub range: Option<Range>,
}

impl QuerySpec {
    pub fn instant(name: &'static str, promql: &str) -> QuerySpec {
        QuerySpec {
            name,
            promql: promql.trim().to_string(),
            range: None,
        }
    }

    /// A query whose condition must hold for `duration` (a PromQL duration; `0s` makes it
    /// an instant query), evaluated every minute (every quarter of it when shorter than 4m),
    /// as a rule's `for` is.
    pub fn held_for(name: &'static str, promql: &str, duration: &str) -> Result<QuerySpec, String> {
        let seconds = helpers::parse_duration(duration)?;
        let range = (seconds > 0.0).then(|| Range {
            seconds,
            step: if seconds >= 240.0 {
                60.0
            } else {
                seconds / 4.0
            },
        });
        Ok(QuerySpec {
            name,
            promql: promql.trim().to_string(),
            range,
        })
    }
}

/// The queries detector `id` needs, from its settings.
pub fn queries_of(id: &str, settings: &Settings) -> Result<Vec<QuerySpec>, String> {
    let setting_error = |e: detek_core::DetectError| e.to_string();
    let prefix = |e: String| format!("{id}: {e}");
    match id {
        "memory_usage_high" => {
            memory_usage_high::queries(&settings.detector(id).map_err(setting_error)?)
        }
        "conntrack_near_limit" => {
            conntrack_near_limit::queries(&settings.detector(id).map_err(setting_error)?)
        }
        "cpu_usage_abnormal" => {
            cpu_usage_abnormal::queries(&settings.detector(id).map_err(setting_error)?)
        }
        "cpu_throttling_high" => {
            cpu_throttling_high::queries(&settings.detector(id).map_err(setting_error)?)
        }
        "pod_resource_outlier" => {
            pod_resource_outlier::queries(&settings.detector(id).map_err(setting_error)?)
        }
        "node_disk_filling" => {
            node_disk_filling::queries(&settings.detector(id).map_err(setting_error)?)
        }
        "scrape_target_down" => {
            scrape_target_down::queries(&settings.detector(id).map_err(setting_error)?)
        }
        other => Err(format!("{other} runs no query")),
    }
    .map_err(prefix)
}

/// Register every metric detector into the catalogue.
pub fn register(catalogue: &mut detek_core::Catalogue) -> Result<(), detek_core::CatalogueError> {
    for detector in all() {
        catalogue.register(detector)?;
    }
    Ok(())
}

/// Every metric detector, in catalogue order.
pub fn all() -> Vec<Arc<dyn Detector>> {
    vec![
        Arc::new(memory_usage_high::MemoryUsageHigh),
        Arc::new(conntrack_near_limit::ConntrackNearLimit),
        Arc::new(cpu_usage_abnormal::CpuUsageAbnormal),
        Arc::new(cpu_throttling_high::CpuThrottlingHigh),
        Arc::new(pod_resource_outlier::PodResourceOutlier),
        Arc::new(node_disk_filling::NodeDiskFilling),
        Arc::new(scrape_target_down::ScrapeTargetDown),
        Arc::new(prometheus_alert_firing::PrometheusAlertFiring),
    ]
}
