use super::helpers::{on_pod_network, pod_ips};
use crate::prelude::*;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// ## What it detects
/// Two or more Running Pods with the same IP address. Pods on the host network share their
/// node's IP by design and are left out, and so are Pods that are not Running (a finished
/// Pod's IP may already belong to a new one). A Pod read twice (the same namespace and name in
/// two files of a dump) counts once.
///
/// ## Why it matters
/// An IP must identify one Pod. When two hold it — the network plugin's IPAM lost track of an
/// allocation (a crashed CNI, a node's IPAM state restored from a snapshot, two nodes with
/// overlapping pod ranges) — connections to it reach one Pod or the other depending on the
/// node they come from. Services behave randomly: some requests go to the wrong application,
/// kube-proxy's endpoints point to a Pod that answers for another Service, and NetworkPolicies
/// apply to the wrong workload. It is rare, and very hard to diagnose from symptoms.
///
/// ## How to fix
/// `kubectl get pods -A -o wide | grep ' IP '` lists the holders. Delete the newer Pod so that
/// it gets a fresh address, then find the cause: overlapping node ranges (`kubectl get nodes
/// -o jsonpath='{range .items[*]}{.metadata.name} {.spec.podCIDRs}{"\n"}{end}'`), or stale
/// IPAM state on a node (drain it and clean `/var/lib/cni/networks/` for host-local, or the
/// plugin's own IPAM objects).
///
/// ## Example
/// ```yaml
/// kind: Pod
/// metadata: {name: sonobuoy, namespace: sonobuoy}
/// status: {phase: Running, podIP: 10.244.0.3}   # fires: local-path-provisioner has it too
/// ```
#[detector(
    id = "duplicate_pod_ip",
    title = "Running Pods sharing an IP address",
    labels = ["kubernetes", "nodes", "networking", "ipam"],
    level = Error,
    requires = [PODS],
    references = ["https://kubernetes.io/docs/concepts/services-networking/#the-kubernetes-network-model"],
)]
pub struct DuplicatePodIp;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let pods = ctx.get(&PODS)?;
    let running: Vec<_> = pods
        .iter()
        .filter(|p| on_pod_network(p))
        .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
        .collect();
    let mut by_ip: BTreeMap<IpAddr, Vec<&Item<Pod>>> = BTreeMap::new();
    for pod in &running {
        for ip in pod_ips(pod) {
            let holders = by_ip.entry(ip).or_default();
            // A dump may hold the same Pod twice (one file per namespace and one for all).
            if !holders.iter().any(|h| {
                h.namespace_or_default() == pod.namespace_or_default() && h.name() == pod.name()
            }) {
                holders.push(pod);
            }
        }
    }
    let mut out = Outcome::new().evaluated(running.len());
    for (ip, holders) in by_ip {
        if holders.len() < 2 {
            continue;
        }
        let others: Vec<String> = holders[1..]
            .iter()
            .map(|p| format!("Pod {}/{}", p.namespace_or_default(), p.name()))
            .collect();
        let mut finding = Finding::new(
            Level::Error,
            Some(holders[0].object_ref()),
            format!(
                "Pod IP {ip} is also held by {}: connections reach either Pod",
                others.join(", ")
            ),
        );
        for p in &holders {
            let node = p.spec.as_ref().and_then(|s| s.node_name()).unwrap_or("?");
            finding = finding.with_evidence(format!(
                "{}/{} on node {node}",
                p.namespace_or_default(),
                p.name()
            ));
        }
        out.push(finding);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture;

    #[test]
    fn names_both_holders_of_the_ip() {
        let report = run_fixture("duplicate_pod_ip", "fail.json");
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "Pod/local-path-storage/local-path-provisioner-78776bfc44-66xwg"
        );
        assert_eq!(
            f.message,
            "Pod IP 10.244.0.3 is also held by Pod sonobuoy/sonobuoy: connections reach either Pod"
        );
        assert_eq!(
            f.evidence,
            vec![
                "local-path-storage/local-path-provisioner-78776bfc44-66xwg on node kind-control-plane",
                "sonobuoy/sonobuoy on node kind-worker2"
            ]
        );
    }

    /// The host-network Pods of the same dump share their node's IP: not reported.
    #[test]
    fn host_network_pods_share_ips_by_design() {
        assert!(run_fixture("duplicate_pod_ip", "pass.json").passed);
        // sonobuoy wrote every Pod into each namespace's file: the same Pod twice is one Pod.
        assert!(run_fixture("duplicate_pod_ip", "pass-duplicated-dump.json").passed);
    }
}
