//! `prometheus/container-history`: the memory working set, memory limit and CPU throttling of
//! each container that restarted, over the hours before the scan — what restart forensics
//! reads to say whether a container climbed to its limit before it was killed.
//!
//! The key is defined here, beside the other data about containers, because it is the seam
//! between two sources: `detek-prometheus` fills it (it may depend on this model, which has no
//! HTTP and no detector) and the restart detectors in `detek-kubernetes` read it, so neither
//! integration depends on the other (ARCHITECTURE.md, "The cross-source seam").

use crate::logs::ContainerId;
use detek_core::Key;
use std::collections::BTreeMap;

/// Points of one series: (seconds since the epoch, value), oldest first.
pub type Points = Vec<(i64, f64)>;

/// The containers' recent history, by (namespace, Pod, container).
#[derive(Debug, Clone, Default)]
pub struct ContainerHistory {
    /// Where it came from (`Prometheus http://…`).
    pub source: String,
    /// The range read: from, to (seconds since the epoch) and the step between points.
    pub from: i64,
    pub to: i64,
    pub step: i64,
    /// `container_memory_working_set_bytes`, bytes.
    pub memory: BTreeMap<ContainerId, Points>,
    /// `kube_pod_container_resource_limits{resource="memory"}`, bytes (the newest value).
    pub memory_limit: BTreeMap<ContainerId, f64>,
    /// The share of CFS periods throttled (0 to 1), over 5-minute rates.
    pub throttled: BTreeMap<ContainerId, Points>,
    /// The PromQL as run, for the report.
    pub queries: Vec<String>,
}

pub const CONTAINER_HISTORY: Key<ContainerHistory> = Key::new("prometheus/container-history");

impl ContainerHistory {
    fn id((namespace, pod, container): (&str, &str, &str)) -> ContainerId {
        (
            namespace.to_string(),
            pod.to_string(),
            container.to_string(),
        )
    }

    /// The memory points of a container within `[from, to]`.
    pub fn memory_between(&self, id: (&str, &str, &str), from: i64, to: i64) -> Points {
        within(self.memory.get(&Self::id(id)), from, to)
    }

    /// The throttling points of a container within `[from, to]`.
    pub fn throttled_between(&self, id: (&str, &str, &str), from: i64, to: i64) -> Points {
        within(self.throttled.get(&Self::id(id)), from, to)
    }

    pub fn limit_of(&self, id: (&str, &str, &str)) -> Option<f64> {
        self.memory_limit.get(&Self::id(id)).copied()
    }

    /// Does the read range cover `[from, to]`?
    pub fn covers(&self, from: i64, to: i64) -> bool {
        self.from <= from && to <= self.to
    }
}

fn within(points: Option<&Points>, from: i64, to: i64) -> Vec<(i64, f64)> {
    points
        .into_iter()
        .flatten()
        .filter(|(t, _)| (from..=to).contains(t))
        .copied()
        .collect()
}
