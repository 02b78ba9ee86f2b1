//! Helpers shared by node detectors: the addresses of a Pod on the pod network.

use detek_kubernetes_model::pod::Pod;
use std::net::IpAddr;

/// The IPs of a Pod: `status.podIPs`, or `status.podIP`.
pub(super) fn pod_ips(pod: &Pod) -> Vec<IpAddr> {
    let Some(status) = &pod.status else {
        return Vec::new();
    };
    let mut ips: Vec<IpAddr> = status
        .pod_ips
        .iter()
        .flatten()
        .filter_map(|p| p.ip.parse().ok())
        .collect();
    if let Some(ip) = status.pod_ip.as_deref().and_then(|s| s.parse().ok())
        && !ips.contains(&ip)
    {
        ips.push(ip);
    }
    ips
}

/// Is this a live, pod-network Pod (not on the host network, not finished)?
pub(super) fn on_pod_network(pod: &Pod) -> bool {
    let host_network = pod.spec.as_ref().is_some_and(|s| s.host_network());
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    !host_network && !matches!(phase, Some("Succeeded" | "Failed"))
}
