use crate::prelude::*;

/// ## What it detects
/// Pods evicted by the kubelet: phase `Failed` with `status.reason: Evicted` (node pressure:
/// memory, disk or PIDs running out, or ephemeral-storage limits exceeded). One finding per
/// Pod, with the kubelet's message; Pods evicted by the API (drains, preemption) are deleted
/// and do not stay behind.
///
/// ## Why it matters
/// An evicted Pod stopped abruptly; its controller starts a replacement, possibly on the same
/// pressured node, and the evicted objects pile up (`kubectl get pods` full of `Evicted`)
/// until garbage collected. Many evictions point at nodes without enough reserved resources or
/// at Pods without requests and limits that use more than they declare.
///
/// ## How to fix
/// Read the message (`kubectl describe pod NAME -n NS`): which resource ran out and how much
/// the container used. Set requests/limits that match real usage (ephemeral-storage too),
/// check the node's `kubectl describe node` conditions and `--eviction-hard`/reserved
/// settings, then clean up: `kubectl delete pod -n NS --field-selector=status.phase=Failed`.
///
/// ## Example
/// ```yaml
/// status:
///   phase: Failed
///   reason: Evicted
///   message: 'The node was low on resource: memory. Container app was using 1805Mi,
///     which exceeds its request of 256Mi.'
/// ```
#[detector(
    id = "pod_evicted",
    title = "Pods evicted by the kubelet",
    labels = ["kubernetes", "state", "pod"],
    level = Warn,
    requires = [PODS],
    references = ["https://kubernetes.io/docs/concepts/scheduling-eviction/node-pressure-eviction/"],
)]
pub struct PodEvicted;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let pods = ctx.get(&PODS)?;
    let mut out = Outcome::new().evaluated(pods.len());
    for pod in pods {
        let Some(status) = &pod.status else { continue };
        if status.reason.as_deref() != Some("Evicted") {
            continue;
        }
        let message = status
            .message
            .as_deref()
            .filter(|m| !m.is_empty())
            .unwrap_or("no message recorded");
        let mut f = Finding::new(
            Level::Warn,
            Some(pod.object_ref()),
            format!("Pod evicted: {message}"),
        );
        if let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name()) {
            f = f.with_evidence(format!("node {node}"));
        }
        out.push(f);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture;

    #[test]
    fn names_the_evicted_pod_and_the_kubelet_message() {
        let report = run_fixture("pod_evicted", "fail.yaml");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "Pod/shop/web-7c5d8b9f6-x2x9k"
        );
        assert_eq!(
            f.message,
            "Pod evicted: The node was low on resource: ephemeral-storage. Threshold quantity: 2146223340, available: 2011588Ki. Container web was using 4405724Ki, request is 0, has larger consumption of ephemeral-storage."
        );
        assert_eq!(f.evidence, vec!["node worker-2"]);
    }

    #[test]
    fn running_and_plainly_failed_pods_pass() {
        assert!(run_fixture("pod_evicted", "pass.yaml").passed);
    }
}
