use super::duration_since;
use crate::prelude::*;

/// ## What it detects
/// Nodes marked unschedulable (`spec.unschedulable: true`, what `kubectl cordon` and
/// `kubectl drain` set), with since when when the `node.kubernetes.io/unschedulable` taint
/// recorded it. Nodes that the cluster autoscaler or Karpenter is removing (taint
/// `ToBeDeletedByClusterAutoscaler`, `karpenter.sh/disruption`) are left out: they are
/// cordoned on purpose and about to disappear.
///
/// ## Why it matters
/// A cordoned node takes no new Pods. During a drain that is the point; left behind after
/// maintenance it is capacity you pay for and do not use, Pods pack onto the other nodes, and
/// DaemonSet-only nodes hide in `kubectl get nodes` as `Ready,SchedulingDisabled`. It is one of
/// the most common "why is this Pod Pending?" causes after an upgrade.
///
/// ## How to fix
/// `kubectl get nodes` shows `SchedulingDisabled`. If the maintenance is finished, `kubectl
/// uncordon NODE`. If the node is broken, replace it (`kubectl drain NODE --ignore-daemonsets
/// --delete-emptydir-data`, then delete it) instead of leaving it cordoned.
///
/// ## Example
/// ```yaml
/// kind: Node
/// metadata: {name: n4}
/// spec:
///   unschedulable: true     # fires
/// ```
#[detector(
    id = "node_cordoned",
    title = "Cordoned (unschedulable) nodes",
    labels = ["kubernetes", "nodes", "scheduling"],
    level = Warn,
    requires = [NODES],
    references = ["https://kubernetes.io/docs/concepts/architecture/nodes/#manual-node-administration"],
)]
pub struct NodeCordoned;

const BEING_REMOVED: &[&str] = &["ToBeDeletedByClusterAutoscaler", "karpenter.sh/disruption"];

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let nodes = ctx.get(&NODES)?;
    let mut out = Outcome::new().evaluated(nodes.len());
    let mut removing = Vec::new();
    for node in nodes {
        let Some(spec) = &node.spec else { continue };
        if spec.unschedulable != Some(true) {
            continue;
        }
        let taints = spec.taints.as_deref().unwrap_or(&[]);
        if taints
            .iter()
            .any(|t| BEING_REMOVED.contains(&t.key.as_str()))
        {
            removing.push(node.name().to_string());
            continue;
        }
        let mut message =
            "cordoned (spec.unschedulable): no new Pods are scheduled here".to_string();
        let since = taints
            .iter()
            .find(|t| t.key == "node.kubernetes.io/unschedulable")
            .and_then(|t| t.time_added.as_ref());
        if let Some(since) = since {
            message = format!("cordoned since {}", since.0);
            if let Some(age) = duration_since(&since.0, ctx.now) {
                message.push_str(&format!(" ({age})"));
            }
            message.push_str(": no new Pods are scheduled here");
        }
        out.push(
            Finding::new(Level::Warn, Some(node.object_ref()), message).with_evidence(format!(
                "kubectl uncordon {} when the maintenance is over",
                node.name()
            )),
        );
    }
    if !removing.is_empty() {
        out.attach(
            "Not judged: nodes being removed by the cluster autoscaler or Karpenter",
            serde_json::json!(removing),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::{run_fixture, run_fixture_at};
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn names_the_cordoned_node() {
        let report = run_fixture("node_cordoned", "fail.yaml");
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        let f = &report.findings[0];
        assert_eq!(f.object.as_ref().unwrap().display_name(), "Node/n4");
        assert_eq!(
            f.message,
            "cordoned (spec.unschedulable): no new Pods are scheduled here"
        );
        assert!(run_fixture("node_cordoned", "pass.yaml").passed);
    }

    #[test]
    fn says_since_when() {
        // 2026-07-01T10:12:00Z: five days after the taint.
        let now = UNIX_EPOCH + Duration::from_secs(1_782_900_720);
        let report = run_fixture_at("node_cordoned", "fail-since.yaml", now);
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        assert_eq!(
            report.findings[0].message,
            "cordoned since 2026-06-26T10:12:00Z (5d 0h): no new Pods are scheduled here"
        );
        assert!(run_fixture("node_cordoned", "pass-autoscaler.yaml").passed);
    }
}
