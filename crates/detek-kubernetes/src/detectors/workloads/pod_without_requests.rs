use super::{quantities, spec_containers};
use crate::prelude::*;

/// ## What it detects
/// Containers (init containers included) without a CPU request or without a memory request.
/// The finding says which request is missing. A container that sets a limit but no request is
/// not flagged: Kubernetes then uses the limit as the request. Real Pods are checked when the
/// scan has any, the pod templates of workloads otherwise, so manifests get the same check.
///
/// ## Why it matters
/// The scheduler places Pods by their requests. A container without requests counts as zero:
/// nodes get overcommitted, Pods land on nodes that cannot run them, and under memory pressure
/// the kubelet evicts Pods without requests (BestEffort) first. Horizontal Pod Autoscalers
/// that scale on CPU or memory utilisation cannot compute it without requests.
///
/// ## How to fix
/// Set `resources.requests.cpu` and `resources.requests.memory` on every container from its
/// usual usage (`kubectl top pod NAME -n NS --containers`), e.g.
/// `kubectl set resources deployment NAME -n NS --requests=cpu=100m,memory=128Mi`. A
/// `LimitRange` can default them per namespace.
///
/// ## Example
/// ```yaml
/// containers:
/// - name: worker
///   image: registry.example/worker:1.4
///   resources: {}            # fires: no cpu or memory request
/// ```
#[detector(
    id = "pod_without_requests",
    title = "Containers without CPU or memory requests",
    labels = ["kubernetes", "workloads", "pod", "resources"],
    level = Warn,
    requires = [POD_SPECS],
    references = ["https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/"],
)]
pub struct PodWithoutRequests;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let specs = ctx.get(&POD_SPECS)?.views();
    let mut out = Outcome::new().evaluated(specs.len());
    for view in &specs {
        for (kind, c) in spec_containers(view.spec()) {
            let resources = c.resources.as_ref();
            let requests = resources.and_then(|r| r.requests.as_ref());
            let limits = resources.and_then(|r| r.limits.as_ref());
            // A request left out defaults to the limit when there is one.
            let has = |resource: &str| {
                requests.is_some_and(|r| r.contains_key(resource))
                    || limits.is_some_and(|l| l.contains_key(resource))
            };
            let missing: Vec<&str> = ["cpu", "memory"].into_iter().filter(|r| !has(r)).collect();
            if missing.is_empty() {
                continue;
            }
            let mut finding = Finding::new(
                Level::Warn,
                Some(view.container_ref(&c.name)),
                format!("{} has no {} request", kind.noun(), missing.join(" or ")),
            )
            .with_revision_of(view);
            if let Some(set) = requests.filter(|r| !r.is_empty()) {
                finding = finding.with_evidence(format!("requests: {}", quantities(set)));
            }
            out.push(finding);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::{finding_lines, run_fixture};

    #[test]
    fn names_the_container_and_the_missing_requests() {
        let report = run_fixture("pod_without_requests", "fail.yaml");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        let object = f.object.as_ref().unwrap();
        assert_eq!(object.kind, "Pod");
        assert_eq!(object.namespace.as_deref(), Some("scraper"));
        assert_eq!(object.name, "e2e-container-pending");
        assert_eq!(object.container.as_deref(), Some("alpine"));
        assert_eq!(f.message, "container has no cpu or memory request");

        let report = run_fixture("pod_without_requests", "fail_init.yaml");
        let messages: Vec<_> = finding_lines(&report);
        assert_eq!(
            messages,
            vec!["StatefulSet/shop/db [init-schema]: init container has no memory request"]
        );

        assert!(run_fixture("pod_without_requests", "pass.yaml").passed);
    }
}
