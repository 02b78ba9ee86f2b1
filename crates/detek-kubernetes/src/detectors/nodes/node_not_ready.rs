use super::{duration_at, since_and_why};
use crate::prelude::*;

/// ## What it detects
/// Nodes whose `Ready` condition is `False` (the kubelet reports it is not ready: container
/// runtime or network plugin down, PLEG unhealthy...) or `Unknown` (the kubelet stopped
/// reporting: node down, kubelet dead, network partition). The finding gives the reason, the
/// kubelet's message and since when.
///
/// ## Why it matters
/// The scheduler places nothing on a NotReady node (it is tainted `node.kubernetes.io/not-ready`
/// or `unreachable`), and after the tolerations run out (5 minutes by default) its Pods are
/// evicted; Pods that cannot move (local volumes, DaemonSets, StatefulSet replicas waiting for
/// their old Pod to be deleted) stay down. The cluster runs with less capacity than planned.
///
/// ## How to fix
/// `kubectl describe node NAME` shows the conditions and recent events. `False` usually names
/// the broken part (e.g. `NetworkPluginNotReady: cni config uninitialized`: the CNI DaemonSet
/// is not running on that node). `Unknown` means the kubelet is silent: check the machine
/// (`ssh`, cloud console), then `systemctl status kubelet` and `journalctl -u kubelet`. If the
/// node is gone for good, `kubectl drain NAME --ignore-daemonsets` and `kubectl delete node
/// NAME`.
///
/// ## Example
/// ```yaml
/// kind: Node
/// status:
///   conditions:
///   - type: Ready
///     status: "False"             # fires
///     reason: KubeletNotReady
///     message: "runtime network not ready: ... cni config uninitialized"
///     lastTransitionTime: "2022-02-02T14:59:55Z"
/// ```
#[detector(
    id = "node_not_ready",
    title = "Nodes not Ready",
    labels = ["kubernetes", "nodes", "node"],
    level = Error,
    requires = [NODES],
    references = ["https://kubernetes.io/docs/reference/node/node-status/#condition"],
)]
pub struct NodeNotReady;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let nodes = ctx.get(&NODES)?;
    let mut out = Outcome::new().evaluated(nodes.len());
    for node in nodes {
        let ready = node
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"));
        let Some(ready) = ready else { continue };
        let state = match ready.status.as_str() {
            "True" => continue,
            "False" => "NotReady",
            "Unknown" => "NotReady (status Unknown: the kubelet stopped reporting)",
            other => {
                out.push(Finding::new(
                    Level::Error,
                    Some(node.object_ref()),
                    format!("Ready condition has unexpected status {other:?}"),
                ));
                continue;
            }
        };
        let mut finding = Finding::new(
            Level::Error,
            Some(node.object_ref()),
            format!("{state} {}", since_and_why(ready))
                .trim_end()
                .to_string(),
        );
        if let Some(d) = duration_at(ready, ctx.now) {
            finding = finding.with_evidence(format!("not ready for {d} at scan time"));
        }
        if let Some(heartbeat) = &ready.last_heartbeat_time {
            finding = finding.with_evidence(format!("last heartbeat {}", heartbeat.0));
        }
        out.push(finding);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::{run_fixture, run_fixture_at};
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn names_the_not_ready_node_of_the_sonobuoy_health_summary() {
        // sonobuoy's summary_test.golden: 2 of 3 nodes healthy, kind-worker KubeletNotReady.
        let report = run_fixture("node_not_ready", "fail-sonobuoy-healthsummary.json");
        assert_eq!(report.evaluated, Some(3));
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "Node/kind-worker"
        );
        assert_eq!(
            f.message,
            "NotReady since 2022-02-02T14:59:55Z (KubeletNotReady: runtime network not ready: \
             NetworkReady=false reason:NetworkPluginNotReady message:docker: network plugin is \
             not ready: cni config uninitialized)"
        );
        assert!(
            f.evidence
                .contains(&"last heartbeat 2022-02-03T19:02:54Z".to_string())
        );
    }

    #[test]
    fn an_unknown_ready_condition_says_the_kubelet_is_silent() {
        // 2026-01-13T20:41:10Z: two hours after the transition.
        let now = UNIX_EPOCH + Duration::from_secs(1_768_336_870);
        let report = run_fixture_at("node_not_ready", "fail-unknown.yaml", now);
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        let f = &report.findings[0];
        assert_eq!(f.object.as_ref().unwrap().name, "datagen-1-34");
        assert!(f.message.starts_with("NotReady (status Unknown: the kubelet stopped reporting) since 2026-01-13T18:41:10Z (NodeStatusUnknown: Kubelet stopped posting node status.)"), "{}", f.message);
        assert!(
            f.evidence
                .contains(&"not ready for 2h 0m at scan time".to_string()),
            "{:?}",
            f.evidence
        );
        assert!(run_fixture("node_not_ready", "pass.yaml").passed);
    }
}
