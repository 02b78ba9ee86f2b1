//! The facts of one termination that the causes judge: read from the container's status, its
//! Pod, the events of the Pod and its Node around the termination, and the Node's conditions.

use super::signatures::LogMatch;
use crate::model::Item;
use detek_kubernetes_model::pod::Pod;
use k8s_openapi::api::core::v1::{Event, Node};
use k8s_openapi::jiff::Timestamp;
use serde::Serialize;

/// One event, as the causes and the timeline see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventFact {
    /// `Pod` or `Node`.
    pub object: String,
    pub reason: String,
    pub message: String,
    /// How many times it was seen (aggregated events).
    pub count: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<Timestamp>,
}

impl EventFact {
    pub fn of(event: &Item<Event>) -> EventFact {
        let e = &event.object;
        let last = e
            .last_timestamp
            .as_ref()
            .map(|t| t.0)
            .or_else(|| e.event_time.as_ref().map(|t| t.0))
            .or_else(|| e.first_timestamp.as_ref().map(|t| t.0))
            .or_else(|| e.metadata.creation_timestamp.as_ref().map(|t| t.0));
        EventFact {
            object: e.involved_object.kind.clone().unwrap_or_default(),
            reason: e.reason.clone().unwrap_or_default(),
            message: e.message.clone().unwrap_or_default().trim().to_string(),
            count: e.count.unwrap_or(1).max(1),
            first: e.first_timestamp.as_ref().map(|t| t.0).or(last),
            last,
        }
    }

    /// `Unhealthy ×3 (last 2023-07-11T03:33:15Z): Liveness probe failed: …`.
    pub fn describe(&self) -> String {
        let mut s = self.reason.clone();
        if self.count > 1 {
            s.push_str(&format!(" ×{}", self.count));
        }
        if let Some(last) = self.last {
            s.push_str(&format!(" at {last}"));
        }
        if !self.message.is_empty() {
            s.push_str(": ");
            s.push_str(&self.message);
        }
        s
    }

    /// Does it fall in [from, to] (an aggregated event: its first..last span overlaps)?
    pub fn within(&self, from: Timestamp, to: Timestamp) -> bool {
        match (self.first, self.last) {
            (Some(first), Some(last)) => first <= to && last >= from,
            // An event without any time cannot be placed: kept, it is all there is.
            _ => true,
        }
    }
}

/// A Node condition that matters for a restart: a pressure condition True at the scan, or
/// any condition that changed around the termination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeConditionFact {
    /// `MemoryPressure`, `Ready`…
    pub kind: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<Timestamp>,
}

impl NodeConditionFact {
    pub fn describe(&self) -> String {
        let mut s = format!("{}={}", self.kind, self.status);
        if let Some(reason) = &self.reason {
            s.push_str(&format!(" ({reason})"));
        }
        if let Some(since) = self.since {
            s.push_str(&format!(" since {since}"));
        }
        s
    }
}

/// Everything the causes may look at, for one container.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub termination_reason: Option<String>,
    pub exit_code: Option<i32>,
    pub waiting_reason: Option<String>,
    pub memory_limit: Option<String>,
    pub pod_reason: Option<String>,
    pub pod_condition_reasons: Vec<String>,
    /// The Pod's events (this container's, or the whole Pod's) in the window, oldest first.
    pub pod_events: Vec<EventFact>,
    /// The Node's events in the window, oldest first.
    pub node_events: Vec<EventFact>,
    pub node_conditions: Vec<NodeConditionFact>,
    pub log_match: Option<LogMatch>,
    /// The memory working set's peak in the 30 minutes before, as a share of the limit (from
    /// Prometheus; `None` when not read).
    pub memory_peak_of_limit: Option<f64>,
}

/// The reason of each of the Pod's conditions (`DisruptionTarget` says why a Pod is going).
pub fn pod_condition_reasons(pod: &Pod) -> Vec<String> {
    pod.status
        .iter()
        .flat_map(|s| s.conditions.iter().flatten())
        .filter_map(|c| c.reason.clone())
        .collect()
}

/// The Node's conditions that matter around `[from, to]`.
pub fn node_conditions(node: &Node, from: Timestamp, to: Timestamp) -> Vec<NodeConditionFact> {
    const PRESSURE: [&str; 3] = ["MemoryPressure", "DiskPressure", "PIDPressure"];
    node.status
        .iter()
        .flat_map(|s| s.conditions.iter().flatten())
        .filter_map(|c| {
            let since = c.last_transition_time.as_ref().map(|t| t.0);
            let changed_then = since.is_some_and(|t| t >= from && t <= to);
            let pressure_now = PRESSURE.contains(&c.type_.as_str()) && c.status == "True";
            (changed_then || pressure_now).then(|| NodeConditionFact {
                kind: c.type_.clone(),
                status: c.status.clone(),
                reason: c.reason.clone(),
                since,
            })
        })
        .collect()
}
