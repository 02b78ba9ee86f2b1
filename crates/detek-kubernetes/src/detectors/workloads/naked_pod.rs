use crate::prelude::*;

/// ## What it detects
/// Pods that no controller owns: no `ownerReferences` entry with `controller: true` (no
/// ReplicaSet, StatefulSet, DaemonSet, Job or operator). Static Pods are left out: the kubelet
/// runs them from a file on the node and shows a read-only *mirror* Pod in the API, recognised
/// by the annotation `kubernetes.io/config.mirror` (or an owner of kind `Node`). Pods that are
/// already finished (`Succeeded`, `Failed`) are still reported: nothing will run them again.
///
/// ## Why it matters
/// A bare Pod is never rescheduled. When its node is drained, upgraded, scaled down or fails,
/// or when the Pod is evicted for pressure, it is simply gone and nothing recreates it. It also
/// cannot be rolled out, scaled or rolled back, and `kubectl drain` refuses to evict it without
/// `--force`, which blocks node maintenance.
///
/// ## How to fix
/// Run it under a controller: a Deployment for a long-running service (`kubectl create
/// deployment NAME --image=IMAGE --dry-run=client -o yaml` gives a starting point, then move the
/// Pod's spec into `spec.template`), a Job for a one-off task, a DaemonSet for a per-node agent.
/// List bare Pods with `kubectl get pods -A -o json | jq -r '.items[] |
/// select(.metadata.ownerReferences == null) | .metadata.namespace + "/" + .metadata.name'`.
///
/// ## Example
/// ```yaml
/// apiVersion: v1
/// kind: Pod               # fires: no Deployment/Job owns it
/// metadata: {name: debug-shell, namespace: shop}
/// spec:
///   containers: [{name: sh, image: busybox:1.36, command: [sleep, infinity]}]
/// ```
#[detector(
    id = "naked_pod",
    title = "Pods not managed by any controller",
    labels = ["kubernetes", "workloads", "pod", "availability"],
    level = Warn,
    requires = [PODS],
    references = [
        "https://kubernetes.io/docs/concepts/configuration/overview/#naked-pods-vs-replicasets-deployments-and-jobs",
        "https://kubernetes.io/docs/tasks/configure-pod-container/static-pod/",
    ],
)]
pub struct NakedPod;

/// The kubelet's annotation on the API copy of a static Pod.
const MIRROR_ANNOTATION: &str = "kubernetes.io/config.mirror";

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let pods = ctx.get(&PODS)?;
    let mut out = Outcome::new().evaluated(pods.len());
    let mut static_pods = Vec::new();
    for pod in pods {
        let owners = pod.metadata.owner_references.as_deref().unwrap_or(&[]);
        let is_mirror = pod
            .metadata
            .annotations
            .as_ref()
            .is_some_and(|a| a.contains_key(MIRROR_ANNOTATION))
            || owners.iter().any(|o| o.kind == "Node");
        if is_mirror {
            static_pods.push(format!("{}/{}", pod.namespace_or_default(), pod.name()));
            continue;
        }
        if owners.iter().any(|o| o.controller == Some(true)) {
            continue;
        }
        let mut finding = Finding::new(
            Level::Warn,
            Some(pod.object_ref()),
            "no controller owns this Pod: it is not recreated if its node fails or is drained",
        );
        for o in owners {
            finding = finding.with_evidence(format!(
                "owner {}/{} is not its controller (controller: true missing)",
                o.kind, o.name
            ));
        }
        if let Some(phase) = pod.status.as_ref().and_then(|s| s.phase.as_deref()) {
            finding = finding.with_evidence(format!("phase: {phase}"));
        }
        out.push(finding);
    }
    if !static_pods.is_empty() {
        out.attach(
            "Static (mirror) Pods, run by the kubelet from a file: not judged",
            serde_json::json!(static_pods),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture;

    #[test]
    fn names_the_bare_pods_of_a_minikube_cluster() {
        let report = run_fixture("naked_pod", "fail.yaml");
        let names: Vec<_> = report
            .findings
            .iter()
            .map(|f| f.object.as_ref().unwrap().display_name())
            .collect();
        assert_eq!(
            names,
            vec![
                "Pod/kube-system/storage-provisioner",
                "Pod/scraper/e2e-container-creating"
            ]
        );
        let f = &report.findings[0];
        assert!(
            f.message.starts_with("no controller owns this Pod"),
            "{}",
            f.message
        );
        assert_eq!(f.evidence, vec!["phase: Running"]);
    }

    /// Kubernetes 1.14 mirror Pods have no owner, only the annotation: not reported; the
    /// sonobuoy aggregator and plugin Pods are bare.
    #[test]
    fn leaves_static_pods_out() {
        let report = run_fixture("naked_pod", "fail-sonobuoy.json");
        let names: Vec<_> = report
            .findings
            .iter()
            .map(|f| f.object.as_ref().unwrap().name.clone())
            .collect();
        assert_eq!(
            names,
            vec![
                "sonobuoy",
                "sonobuoy-e2e-job-ef953f9b6d1a47f7",
                "sonobuoy-singlefile-job-e11e299d3e334111",
                "sonobuoy-tar-job-2c2f92d3b1ca4ab6"
            ]
        );
        assert!(
            report
                .attachment
                .iter()
                .any(|a| a.data.to_string().contains("etcd-kind-control-plane"))
        );
        assert!(run_fixture("naked_pod", "pass.yaml").passed);
    }
}
