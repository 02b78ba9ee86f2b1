//! Nodes detectors.

use detek_core::Detector;
use k8s_openapi::api::core::v1::NodeCondition;
use std::sync::Arc;
use std::time::SystemTime;

mod helpers;

mod duplicate_pod_ip;
mod node_cordoned;
mod node_not_ready;
mod node_pressure;
mod node_taint_forgotten;
mod node_version_skew;
mod pod_ip_outside_node_cidr;

pub(super) fn all() -> Vec<Arc<dyn Detector>> {
    vec![
        Arc::new(node_not_ready::NodeNotReady),
        Arc::new(node_pressure::NodePressure),
        Arc::new(node_taint_forgotten::NodeTaintForgotten),
        Arc::new(node_cordoned::NodeCordoned),
        Arc::new(node_version_skew::NodeVersionSkew),
        Arc::new(pod_ip_outside_node_cidr::PodIpOutsideNodeCidr),
        Arc::new(duplicate_pod_ip::DuplicatePodIp),
    ]
}

/// `since 2022-02-02T14:59:55Z (KubeletNotReady: runtime network not ready)`: when a condition
/// took its status, and why.
pub(crate) fn since_and_why(c: &NodeCondition) -> String {
    let mut s = String::new();
    if let Some(t) = &c.last_transition_time {
        s.push_str(&format!("since {}", t.0));
    }
    let reason = c.reason.as_deref().filter(|r| !r.is_empty());
    let message = c.message.as_deref().filter(|m| !m.is_empty());
    let why = match (reason, message) {
        (Some(r), Some(m)) => Some(format!("{r}: {m}")),
        (Some(r), None) => Some(r.to_string()),
        (None, Some(m)) => Some(m.to_string()),
        (None, None) => None,
    };
    if let Some(why) = why {
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(&format!("({why})"));
    }
    s
}

/// `for 3d 4h` at scan time, when the transition time is known and in the past.
pub(crate) fn duration_at(c: &NodeCondition, now: SystemTime) -> Option<String> {
    duration_since(&c.last_transition_time.as_ref()?.0, now)
}

/// `7d 6h` from `since` to the scan time, when `since` is in the past.
pub(super) fn duration_since(
    since: &k8s_openapi::jiff::Timestamp,
    now: std::time::SystemTime,
) -> Option<String> {
    let now = jiff::Timestamp::try_from(now).ok()?;
    let secs = now.as_second() - since.as_second();
    if secs < 0 {
        return None;
    }
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    Some(if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else {
        format!("{m}m")
    })
}
