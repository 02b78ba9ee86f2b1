use super::helpers::{on_pod_network, pod_ips};
use crate::prelude::*;
use std::collections::HashMap;
use std::net::IpAddr;

/// ## What it detects
/// Running or Pending Pods whose IP (`status.podIPs`) is not inside the pod range of the node
/// they run on (`spec.podCIDRs` of the Node), for the IP families the node has a range for.
/// Pods on the host network (their IP is the node's), finished Pods and nodes without a
/// `podCIDR` are left out. When no Pod of the scan is inside its node's range, the network
/// plugin does not allocate from node ranges at all (Calico IPAM, the AWS VPC CNI, Cilium
/// cluster-pool): nothing is reported and a note says so.
///
/// ## Why it matters
/// With node-range IPAM (kubenet, flannel, kindnet, Cilium in `kubernetes` mode, cloud routes),
/// the network routes a Pod IP to the node owning its range. A Pod holding an IP of another
/// range — left over after a node was re-registered with a new `podCIDR`, an IPAM database
/// (`/var/lib/cni/networks`) that survived a reinstall, or overlapping ranges — receives no
/// traffic from other nodes: Services intermittently time out for the share of connections
/// that land on it, while the Pod itself looks Ready. This is the "IPAM edge case" that takes
/// hours to find by hand.
///
/// ## How to fix
/// Compare `kubectl get pod NAME -n NS -o wide` with `kubectl get node NODE -o
/// jsonpath='{.spec.podCIDRs}'`. Delete the Pod so that it gets a fresh IP from the node's
/// range. If many Pods of a node are affected, drain it and clean the CNI's IPAM state
/// (`/var/lib/cni/networks/<network>` for host-local) before uncordoning, or fix the node's
/// range assignment (`--cluster-cidr`, `--node-cidr-mask-size` of kube-controller-manager).
///
/// ## Example
/// ```yaml
/// kind: Pod
/// spec: {nodeName: kind-worker2}      # the node's podCIDR is 10.244.1.0/24
/// status:
///   podIP: 10.244.2.7                 # fires: that is kind-worker's range
/// ```
#[detector(
    id = "pod_ip_outside_node_cidr",
    title = "Pods whose IP is outside their node's pod range",
    labels = ["kubernetes", "nodes", "networking", "ipam"],
    level = Error,
    requires = [PODS, NODES],
    references = [
        "https://kubernetes.io/docs/concepts/cluster-administration/networking/",
        "https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/node-v1/#NodeSpec",
    ],
)]
pub struct PodIpOutsideNodeCidr;

/// An IP network: `10.244.0.0/24`, `fd00:10:244::/64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Option<Cidr> {
        let (addr, prefix) = s.trim().split_once('/')?;
        let addr: IpAddr = addr.parse().ok()?;
        let prefix: u8 = prefix.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Cidr { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }

    pub fn same_family(&self, ip: IpAddr) -> bool {
        self.addr.is_ipv4() == ip.is_ipv4()
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let pods = ctx.get(&PODS)?;
    let nodes = ctx.get(&NODES)?;
    let ranges: HashMap<&str, Vec<Cidr>> = nodes
        .iter()
        .filter_map(|n| {
            let spec = n.spec.as_ref()?;
            let mut cidrs: Vec<Cidr> = spec
                .pod_cidrs
                .iter()
                .flatten()
                .filter_map(|c| Cidr::parse(c))
                .collect();
            if let Some(c) = spec.pod_cidr.as_deref().and_then(Cidr::parse)
                && !cidrs.contains(&c)
            {
                cidrs.push(c);
            }
            (!cidrs.is_empty()).then_some((n.name(), cidrs))
        })
        .collect();
    let mut inside = 0u64;
    let mut outside = Vec::new();
    for pod in pods.iter().filter(|p| on_pod_network(p)) {
        let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name()) else {
            continue;
        };
        let Some(cidrs) = ranges.get(node) else {
            continue;
        };
        for ip in pod_ips(pod) {
            let family: Vec<&Cidr> = cidrs.iter().filter(|c| c.same_family(ip)).collect();
            if family.is_empty() {
                continue;
            }
            if family.iter().any(|c| c.contains(ip)) {
                inside += 1;
            } else {
                outside.push((pod, node, ip, family));
            }
        }
    }
    let mut out = Outcome::new().evaluated(inside as usize + outside.len());
    if inside == 0 && !outside.is_empty() {
        out.attach(
            "Not judged: no Pod IP is inside its node's podCIDR, so the network plugin does not allocate from node ranges",
            serde_json::json!({"pod_ips_outside": outside.len()}),
        );
        return Ok(out);
    }
    for (pod, node, ip, family) in outside {
        let ranges_text: Vec<String> = family.iter().map(|c| c.to_string()).collect();
        let mut finding = Finding::new(
            Level::Error,
            Some(pod.object_ref()),
            format!(
                "Pod IP {ip} is outside the pod range {} of its node {node}: traffic to it is routed elsewhere",
                ranges_text.join(", ")
            ),
        );
        if let Some((owner, _)) = ranges
            .iter()
            .find(|(_, cidrs)| cidrs.iter().any(|c| c.contains(ip)))
        {
            finding = finding.with_evidence(format!("{ip} is in the range of node {owner}"));
        }
        out.push(finding);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::Cidr;
    use crate::testing::run_fixture;

    #[test]
    fn cidrs_contain_their_addresses() {
        let c = Cidr::parse("10.244.1.0/24").unwrap();
        assert!(c.contains("10.244.1.200".parse().unwrap()));
        assert!(!c.contains("10.244.2.7".parse().unwrap()));
        let v6 = Cidr::parse("fd00:10:244:1::/64").unwrap();
        assert!(v6.contains("fd00:10:244:1::a".parse().unwrap()));
        assert!(!v6.contains("10.244.1.2".parse().unwrap()));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert_eq!(Cidr::parse("10.0.0.0/33"), None);
    }

    #[test]
    fn names_the_pod_its_node_and_the_owner_of_the_ip() {
        let report = run_fixture("pod_ip_outside_node_cidr", "fail.json");
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "Pod/sonobuoy/sonobuoy"
        );
        assert_eq!(
            f.message,
            "Pod IP 10.244.2.7 is outside the pod range 10.244.1.0/24 of its node kind-worker2: traffic to it is routed elsewhere"
        );
        assert_eq!(
            f.evidence,
            vec!["10.244.2.7 is in the range of node kind-worker"]
        );
        assert!(run_fixture("pod_ip_outside_node_cidr", "pass.json").passed);
    }

    #[test]
    fn plugins_without_node_ranges_are_not_judged() {
        let report = run_fixture("pod_ip_outside_node_cidr", "pass-other-ipam.yaml");
        assert!(report.passed);
        assert!(
            report
                .attachment
                .iter()
                .any(|a| a.description.starts_with("Not judged"))
        );
    }
}
