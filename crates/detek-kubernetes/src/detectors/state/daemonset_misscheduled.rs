use crate::prelude::*;

/// ## What it detects
/// DaemonSets with `status.numberMisscheduled` above zero: daemon Pods running on nodes where
/// the DaemonSet should not run any more (its `nodeSelector`, node affinity or tolerations no
/// longer match the node, usually after node labels or taints changed).
///
/// ## Why it matters
/// Misscheduled daemon Pods keep consuming resources on nodes that were meant to be free of
/// them (GPU nodes, dedicated pools), and they are the sign of a node change that did not go
/// as planned: a label removed from the wrong nodes, a taint added without `NoExecute`. The
/// DaemonSet controller removes them only in some cases; they can linger.
///
/// ## How to fix
/// Find them: `kubectl get pods -n NS -l SELECTOR -o wide` and compare the nodes with the
/// DaemonSet's `nodeSelector`/affinity (`kubectl get ds NAME -n NS -o yaml`) and
/// `kubectl get nodes --show-labels`. Fix the node labels or the selector, then delete the
/// misplaced Pods.
///
/// ## Example
/// ```yaml
/// kind: DaemonSet
/// status:
///   desiredNumberScheduled: 3
///   currentNumberScheduled: 3
///   numberMisscheduled: 1      # fires
/// ```
#[detector(
    id = "daemonset_misscheduled",
    title = "DaemonSets with Pods on nodes they should not run on",
    labels = ["kubernetes", "state", "workloads"],
    level = Warn,
    requires = [DAEMON_SETS],
    references = ["https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/"],
)]
pub struct DaemonsetMisscheduled;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let daemon_sets = ctx.get(&DAEMON_SETS)?;
    let mut out = Outcome::new().evaluated(daemon_sets.len());
    for d in daemon_sets {
        let Some(status) = &d.status else { continue };
        let n = status.number_misscheduled;
        if n <= 0 {
            continue;
        }
        let pods = if n == 1 { "Pod runs" } else { "Pods run" };
        out.push(
            Finding::new(
                Level::Warn,
                Some(d.object_ref()),
                format!("{n} daemon {pods} on nodes the DaemonSet no longer selects"),
            )
            .with_evidence(format!(
                "desired {}, scheduled {}, misscheduled {n}",
                status.desired_number_scheduled, status.current_number_scheduled
            )),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture;

    #[test]
    fn names_the_daemonset_and_the_count() {
        let report = run_fixture("daemonset_misscheduled", "fail.yaml");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "DaemonSet/kube-system/fluentd-gcp-v3.2.0"
        );
        assert_eq!(
            f.message,
            "1 daemon Pod runs on nodes the DaemonSet no longer selects"
        );
    }

    #[test]
    fn a_well_placed_daemonset_passes() {
        assert!(run_fixture("daemonset_misscheduled", "pass.json").passed);
    }
}
