use super::{duration_at, since_and_why};
use crate::prelude::*;

/// ## What it detects
/// Nodes with a pressure condition set to `True`: `MemoryPressure`, `DiskPressure`,
/// `PIDPressure` (reported by the kubelet when an eviction threshold is crossed) or
/// `NetworkUnavailable` (set by the cloud route controller or the network plugin when the
/// node's Pod network is not configured). One finding per condition, with its reason and
/// since when. Conditions in status `Unknown` (silent kubelet) are `node_not_ready`'s finding.
///
/// ## Why it matters
/// Under memory, disk or PID pressure the kubelet evicts Pods (BestEffort first, then
/// Burstable over their requests), deletes images and refuses new Pods: the node is tainted
/// `node.kubernetes.io/memory-pressure` (or `disk-`, `pid-`). Disk pressure also stops image
/// pulls. With `NetworkUnavailable`, Pods on the node cannot reach other Pods. The node still
/// counts as Ready, so this often goes unnoticed until Pods start disappearing.
///
/// ## How to fix
/// `kubectl describe node NAME` shows the conditions, taints and eviction events;
/// `kubectl top pods -A --sort-by=memory` (with metrics-server) finds the heavy Pods. For
/// memory, set requests and limits so the scheduler stops overpacking the node; for disk,
/// look at `/var/lib/kubelet` and the container runtime's images and logs (`crictl rmi
/// --prune`, log rotation, ephemeral-storage limits); for PIDs, find the process leak or set
/// `podPidsLimit`. For `NetworkUnavailable`, check the CNI DaemonSet Pod on that node.
///
/// ## Example
/// ```yaml
/// kind: Node
/// status:
///   conditions:
///   - type: DiskPressure
///     status: "True"              # fires
///     reason: KubeletHasDiskPressure
///     message: kubelet has disk pressure
/// ```
#[detector(
    id = "node_pressure",
    title = "Nodes under memory, disk or PID pressure, or without network",
    labels = ["kubernetes", "nodes", "node"],
    level = Warn,
    requires = [NODES],
    references = ["https://kubernetes.io/docs/concepts/scheduling-eviction/node-pressure-eviction/"],
)]
pub struct NodePressure;

const PRESSURE: &[&str] = &[
    "MemoryPressure",
    "DiskPressure",
    "PIDPressure",
    "NetworkUnavailable",
];

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let nodes = ctx.get(&NODES)?;
    let mut out = Outcome::new().evaluated(nodes.len());
    for node in nodes {
        let conditions = node.status.as_ref().and_then(|s| s.conditions.as_ref());
        for c in conditions.into_iter().flatten() {
            if c.status != "True" || !PRESSURE.contains(&c.type_.as_str()) {
                continue;
            }
            let mut finding = Finding::new(
                Level::Warn,
                Some(node.object_ref()),
                format!("{} {}", c.type_, since_and_why(c))
                    .trim_end()
                    .to_string(),
            );
            if let Some(d) = duration_at(c, ctx.now) {
                finding = finding.with_evidence(format!("{} for {d} at scan time", c.type_));
            }
            out.push(finding);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture;

    #[test]
    fn one_finding_per_pressure_condition_with_reason_and_time() {
        let report = run_fixture("node_pressure", "fail.yaml");
        let messages: Vec<(String, &str)> = report
            .findings
            .iter()
            .map(|f| {
                (
                    f.object.as_ref().unwrap().display_name(),
                    f.message.as_str(),
                )
            })
            .collect();
        assert_eq!(
            messages,
            vec![
                (
                    "Node/datagen-1-34".to_string(),
                    "MemoryPressure since 2026-01-13T18:39:45Z (KubeletHasInsufficientMemory: kubelet has insufficient memory available)"
                ),
                (
                    "Node/datagen-1-34".to_string(),
                    "DiskPressure since 2026-01-13T18:39:30Z (KubeletHasDiskPressure: kubelet has disk pressure)"
                ),
            ]
        );
    }

    #[test]
    fn passes_healthy_and_silent_nodes() {
        assert!(run_fixture("node_pressure", "pass.yaml").passed);
        assert!(run_fixture("node_pressure", "pass-unknown.yaml").passed);
        let report = run_fixture("node_pressure", "pass-troubleshoot-k3s.json");
        assert!(report.passed);
        assert_eq!(report.evaluated, Some(1));
    }
}
