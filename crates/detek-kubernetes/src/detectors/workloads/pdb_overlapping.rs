use super::helpers::pdb_selects;
use crate::prelude::*;
use std::collections::BTreeSet;

/// ## What it detects
/// Pods (or the pod templates of workloads) that two or more PodDisruptionBudgets of their
/// namespace select. Matching follows Kubernetes: an empty selector selects every Pod of the
/// namespace in `policy/v1` and none in `policy/v1beta1`. On a live cluster, Pods of one
/// controller are reported once.
///
/// ## Why it matters
/// The Eviction API does not support a Pod covered by several budgets: every eviction fails
/// with `500 This pod has more than one PodDisruptionBudget, which the eviction subresource
/// does not support`. `kubectl drain`, the cluster autoscaler and managed node upgrades cannot
/// move these Pods; drains retry until they time out. It usually happens when a Helm chart and
/// a platform team both add a budget, or a namespace-wide budget (`selector: {}`) is added
/// next to per-app ones.
///
/// ## How to fix
/// Keep exactly one budget per set of Pods: delete one (`kubectl delete pdb NAME -n NS`) or
/// make the selectors disjoint. `kubectl get pdb -n NS -o wide` lists the selectors; compare
/// with `kubectl get pods -n NS --show-labels`.
///
/// ## Example
/// ```yaml
/// kind: PodDisruptionBudget
/// metadata: {name: web}
/// spec: {maxUnavailable: 1, selector: {matchLabels: {app: web}}}
/// ---
/// kind: PodDisruptionBudget
/// metadata: {name: all-apps}
/// spec: {minAvailable: 1, selector: {}}     # fires: the web Pods now have two budgets
/// ```
#[detector(
    id = "pdb_overlapping",
    title = "Pods selected by more than one PodDisruptionBudget (evictions fail)",
    labels = ["kubernetes", "workloads", "availability", "pdb"],
    level = Error,
    requires = [POD_SPECS, POD_DISRUPTION_BUDGETS],
    references = ["https://kubernetes.io/docs/concepts/scheduling-eviction/api-eviction/"],
)]
pub struct PdbOverlapping;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let pdbs = ctx.get(&POD_DISRUPTION_BUDGETS)?;
    let specs = ctx.get(&POD_SPECS)?.views();
    let mut out = Outcome::new().evaluated(specs.len());
    if pdbs.len() < 2 {
        return Ok(out);
    }
    let mut owners_seen = BTreeSet::new();
    for view in &specs {
        if let Some(pod) = view.pod {
            let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
            if matches!(phase, Some("Succeeded" | "Failed")) {
                continue;
            }
        }
        let names: Vec<&str> = pdbs
            .iter()
            .filter(|p| p.namespace_or_default() == view.namespace())
            .filter(|p| pdb_selects(p, view.metadata.labels.as_ref()))
            .map(|p| p.name())
            .collect();
        if names.len() < 2 {
            continue;
        }
        if let Some(c) = view.controller
            && !owners_seen.insert((view.namespace(), c.kind, c.name.as_str()))
        {
            continue;
        }
        out.push(Finding::new(
            Level::Error,
            Some(view.object_ref()),
            format!(
                "selected by {} PodDisruptionBudgets ({}): the Eviction API refuses to evict its Pods, node drains fail",
                names.len(),
                names.join(", ")
            ),
        )
        .with_revision_of(view));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::{finding_lines, run_fixture};

    #[test]
    fn names_the_pods_and_both_budgets() {
        let report = run_fixture("pdb_overlapping", "fail.yaml");
        let messages: Vec<_> = finding_lines(&report);
        assert_eq!(
            messages,
            vec![
                "Deployment/shop/web: selected by 2 PodDisruptionBudgets (all-apps, web): the Eviction API refuses to evict its Pods, node drains fail",
            ]
        );
        assert!(run_fixture("pdb_overlapping", "pass.yaml").passed);
    }
}
