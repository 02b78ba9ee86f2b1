use crate::prelude::*;

/// ## What it detects
/// Pods in phase `Pending` whose `PodScheduled` condition is `False` with reason
/// `Unschedulable`: the scheduler found no node for them. The finding quotes the scheduler's
/// message, which says why each node was rejected, and since when.
///
/// ## Why it matters
/// The Pod does not run anywhere and will not until something changes: the workload is short
/// of replicas, a new release cannot roll out, a Job does not start. The cause is often
/// cluster-wide (a NotReady node, a forgotten taint, full nodes) and hits other Pods next.
///
/// ## How to fix
/// Read the scheduler's reasons: `kubectl describe pod NAME -n NS` (Events: FailedScheduling).
/// `Insufficient cpu/memory/nvidia.com/gpu`: lower the requests or add capacity (check
/// `kubectl describe nodes` for allocated resources). `didn't match Pod's node
/// affinity/selector`: fix `nodeSelector`/affinity or label a node. `had taint ... that the pod
/// didn't tolerate`: the node is NotReady or tainted on purpose; fix the node or add a
/// toleration. `unbound PersistentVolumeClaims` or volume node affinity: fix the storage.
///
/// ## Example
/// ```yaml
/// status:
///   phase: Pending
///   conditions:
///   - type: PodScheduled
///     status: "False"
///     reason: Unschedulable
///     message: "0/1 nodes are available: 1 Insufficient nvidia.com/gpu."
/// ```
#[detector(
    id = "pod_pending_unschedulable",
    title = "Pending Pods the scheduler cannot place",
    labels = ["kubernetes", "workloads", "pod", "scheduling"],
    level = Error,
    requires = [PODS],
    references = [
        "https://kubernetes.io/docs/concepts/scheduling-eviction/kube-scheduler/",
        "https://kubernetes.io/docs/tasks/debug/debug-application/debug-pods/#my-pod-stays-pending",
    ],
)]
pub struct PodPendingUnschedulable;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let pods = ctx.get(&PODS)?;
    let mut out = Outcome::new().evaluated(pods.len());
    for pod in pods {
        let Some(status) = &pod.status else { continue };
        if status.phase.as_deref() != Some("Pending") {
            continue;
        }
        let Some(condition) = status.conditions.iter().flatten().find(|c| {
            c.type_ == "PodScheduled"
                && c.status == "False"
                && c.reason.as_deref() == Some("Unschedulable")
        }) else {
            continue;
        };
        let why = condition
            .message
            .as_deref()
            .filter(|m| !m.is_empty())
            .unwrap_or("the scheduler gave no message");
        let mut finding = Finding::new(
            Level::Error,
            Some(pod.object_ref()),
            format!("Pending, cannot be scheduled: {why}"),
        );
        if let Some(since) = &condition.last_transition_time {
            finding = finding.with_evidence(format!("unschedulable since {}", since.0));
        }
        out.push(finding);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture;

    #[test]
    fn quotes_the_scheduler() {
        let report = run_fixture("pod_pending_unschedulable", "fail.json");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        let object = f.object.as_ref().unwrap();
        assert_eq!(object.kind, "Pod");
        assert_eq!(
            object.namespace.as_deref(),
            Some("message-pending-pod-resources")
        );
        assert_eq!(object.name, "pending-pod-resources-5fddcf7688-djjfc");
        assert!(object.container.is_none());
        assert!(
            f.message.starts_with("Pending, cannot be scheduled: 0/1 nodes are available: 1 Insufficient nvidia.com/gpu."),
            "{}",
            f.message
        );
        assert_eq!(f.evidence, vec!["unschedulable since 2023-07-11T04:20:29Z"]);
    }

    #[test]
    fn fires_on_tainted_nodes_and_node_selectors_but_not_on_scheduled_pending_pods() {
        // A kind cluster whose only node is NotReady: coredns cannot tolerate its taint.
        let report = run_fixture("pod_pending_unschedulable", "fail_taint.json");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "Pod/kube-system/coredns-74ff55c5b-cpfqs"
        );
        assert!(
            f.message
                .contains("had taint {node.kubernetes.io/not-ready: }"),
            "{}",
            f.message
        );

        let report = run_fixture("pod_pending_unschedulable", "fail_selector.yaml");
        assert_eq!(
            report.findings[0].object.as_ref().unwrap().name,
            "e2e-container-pending"
        );
        assert!(
            report.findings[0]
                .message
                .contains("node affinity/selector")
        );

        // Pending while pulling its image: scheduled, so not this detector's business.
        assert!(run_fixture("pod_pending_unschedulable", "pass.json").passed);
    }
}
