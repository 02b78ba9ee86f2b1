//! `prometheus/container-history` (defined in `detek-kubernetes-model`, the seam key): the
//! recent memory working set, memory limit and CPU throttling of the containers that
//! restarted, for restart forensics. Three queries, each restricted in PromQL to containers
//! whose restart counter is above zero, so a cluster of thousands of quiet containers costs
//! only its restarted ones.

use crate::api::PrometheusApi;
use crate::model::Series;
use detek_kubernetes_model::history::{ContainerHistory, Points};
use detek_kubernetes_model::logs::ContainerId;
use std::collections::BTreeMap;

/// How far back the history reaches: the restart detectors' default window (24 h) plus the
/// 30 minutes before the oldest termination it can explain.
pub const LOOKBACK_SECONDS: i64 = 24 * 3600 + 30 * 60;
/// Seconds between points (1,470 points per series over the look-back).
pub const STEP_SECONDS: i64 = 60;

/// Only containers that have restarted by the end of the range (kube-state-metrics' counter,
/// read `@ end()`: at every step of a range query, so the points before the restart stay).
const RESTARTED: &str = "on (namespace, pod, container) (max by (namespace, pod, container) \
                         (kube_pod_container_status_restarts_total @ end()) > 0)";

/// The three queries: memory (range), limit (instant), throttling (range).
pub fn queries() -> [String; 3] {
    [
        format!(
            "max by (namespace, pod, container) (container_memory_working_set_bytes{{container!=\"\",container!=\"POD\"}}) and {RESTARTED}"
        ),
        format!(
            "max by (namespace, pod, container) (kube_pod_container_resource_limits{{resource=\"memory\"}}) and {RESTARTED}"
        ),
        format!(
            "(sum by (namespace, pod, container) (rate(container_cpu_cfs_throttled_periods_total{{container!=\"\"}}[5m])) / sum by (namespace, pod, container) (rate(container_cpu_cfs_periods_total{{container!=\"\"}}[5m]))) and {RESTARTED}"
        ),
    ]
}

fn id_of(series: &Series) -> Option<ContainerId> {
    Some((
        series.label("namespace")?.to_string(),
        series.label("pod")?.to_string(),
        series.label("container")?.to_string(),
    ))
}

fn by_container(series: Vec<Series>) -> BTreeMap<ContainerId, Points> {
    series
        .into_iter()
        .filter_map(|s| {
            let id = id_of(&s)?;
            let points = s
                .points
                .into_iter()
                .filter(|(_, v)| v.is_finite())
                .map(|(t, v)| (t as i64, v))
                .collect();
            Some((id, points))
        })
        .collect()
}

/// Read the history ending at `at` (seconds since the epoch) from `api`, named `source`.
pub async fn read(api: &PrometheusApi, at: f64, source: &str) -> Result<ContainerHistory, String> {
    let [memory_q, limit_q, throttled_q] = queries();
    // On the step's grid: the same containers read twice give the same points.
    let to = (at / STEP_SECONDS as f64).floor() * STEP_SECONDS as f64;
    let from = to - LOOKBACK_SECONDS as f64;
    let step = STEP_SECONDS as f64;
    let (memory, limit, throttled) = futures::future::join3(
        api.query_range(&memory_q, from, to, step),
        api.query(&limit_q, to),
        api.query_range(&throttled_q, from, to, step),
    )
    .await;
    let memory_limit = limit?
        .into_iter()
        .filter_map(|s| Some((id_of(&s)?, s.last().filter(|v| v.is_finite())?)))
        .collect();
    Ok(ContainerHistory {
        source: source.to_string(),
        from: from as i64,
        to: to as i64,
        step: STEP_SECONDS,
        memory: by_container(memory?),
        memory_limit,
        throttled: by_container(throttled?),
        queries: vec![memory_q, limit_q, throttled_q],
    })
}
