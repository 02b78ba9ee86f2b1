use super::helpers::{pdb_required_label, pdb_selects};
use crate::prelude::*;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::HashMap;

/// ## What it detects
/// PodDisruptionBudgets that never allow a voluntary eviction:
///
/// - `maxUnavailable: 0` (or `0%`), or `minAvailable: 100%`: no Pod they select may ever be
///   evicted, whatever the replica count;
/// - `minAvailable` at or above the number of Pods expected: the replicas of the Deployments,
///   StatefulSets, ReplicaSets and ReplicationControllers in the namespace whose pod template
///   the PDB selects (on a live cluster, `status.expectedPods` when no workload matches). In
///   manifests, a workload scaled by a HorizontalPodAutoscaler counts with the HPA's
///   `minReplicas`, what runs when load is low. A percentage is rounded up as Kubernetes does:
///   `minAvailable: 90%` of 3 replicas is 3, `80%` of 1 is 1.
///
/// A budget whose `minAvailable` cannot be compared with anything (no matching workload in the
/// scan) is not judged.
///
/// ## Why it matters
/// `kubectl drain`, the cluster autoscaler, Karpenter and managed node-pool upgrades evict
/// Pods through the Eviction API, which refuses any eviction that would break a budget
/// (`Cannot evict pod as it would violate the pod's disruption budget`). With a budget that
/// allows zero disruptions the drain retries forever: node upgrades hang, autoscaler
/// scale-down never happens, and a managed upgrade may time out and force-delete the Pods
/// anyway.
///
/// ## How to fix
/// Allow at least one disruption: `maxUnavailable: 1`, or a `minAvailable` below the replica
/// count (run two or more replicas of anything that needs a budget). `kubectl get pdb -A`
/// shows ALLOWED DISRUPTIONS: it must be at least 1 when all Pods are healthy. A single-replica
/// singleton that must never move does not belong under a PDB: accept the short outage of a
/// drain, or run it with more replicas.
///
/// ## Example
/// ```yaml
/// kind: PodDisruptionBudget
/// spec:
///   minAvailable: 1          # fires: the Deployment it selects has replicas: 1
///   selector: {matchLabels: {app: db}}
/// ```
#[detector(
    id = "pdb_blocks_eviction",
    title = "PodDisruptionBudgets that allow no eviction (drains hang)",
    labels = ["kubernetes", "workloads", "availability", "pdb"],
    level = Error,
    requires = [POD_DISRUPTION_BUDGETS, WORKLOAD_TEMPLATES, HPAS_BY_TARGET, CLUSTER_INFO],
    references = [
        "https://kubernetes.io/docs/tasks/run-application/configure-pdb/#rounding-logic-when-specifying-percentages",
        "https://kubernetes.io/docs/concepts/scheduling-eviction/api-eviction/",
    ],
)]
pub struct PdbBlocksEviction;

/// An `IntOrString` as written: `1`, `"50%"`.
fn show(v: &IntOrString) -> String {
    match v {
        IntOrString::Int(i) => i.to_string(),
        IntOrString::String(s) => s.clone(),
    }
}

/// The absolute value of `v` for `expected` Pods, rounding percentages up; `None` when it
/// does not parse.
fn scaled(v: &IntOrString, expected: i32) -> Option<i32> {
    match v {
        IntOrString::Int(i) => Some(*i),
        IntOrString::String(s) => match s.trim().strip_suffix('%') {
            Some(p) => {
                let p: i64 = p.trim().parse().ok()?;
                Some(((p * i64::from(expected) + 99) / 100) as i32)
            }
            None => s.trim().parse().ok(),
        },
    }
}

fn is_zero(v: &IntOrString) -> bool {
    scaled(v, 1) == Some(0) || matches!(v, IntOrString::String(s) if s.trim() == "0%")
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let pdbs = ctx.get(&POD_DISRUPTION_BUDGETS)?;
    let templates = ctx.get(&WORKLOAD_TEMPLATES)?;
    let hpas = ctx.get(&HPAS_BY_TARGET)?;
    let live = ctx.get(&CLUSTER_INFO)?.live;
    // Replicas of a workload: the written count, or in manifests the HPA's minReplicas.
    let replicas = |t: &WorkloadTemplate| -> (i32, Option<String>) {
        let written = t.replicas.unwrap_or(0);
        if live {
            return (written, None);
        }
        let namespace = t.metadata.namespace.as_deref().unwrap_or("default");
        let hpa = hpas
            .targeting(namespace, &t.owner.kind, &t.owner.name)
            .next();
        match hpa {
            Some(h) => {
                let min = h.spec.min_replicas.unwrap_or(1);
                let hpa = format!(
                    "HPA {} scales it from {min} to {}",
                    h.name(),
                    h.spec.max_replicas
                );
                (min, Some(hpa))
            }
            None => (written, None),
        }
    };
    if pdbs.is_empty() {
        return Ok(Outcome::new().evaluated(0));
    }
    // Templates with replicas by namespace, and by namespace and label, in input order: a
    // budget is tested against the templates carrying its first matchLabels pair, not all.
    let mut in_namespace: HashMap<&str, Vec<&WorkloadTemplate>> = HashMap::new();
    let mut by_label: HashMap<(&str, &str, &str), Vec<&WorkloadTemplate>> = HashMap::new();
    for t in templates.iter().filter(|t| t.replicas.is_some()) {
        let namespace = t.metadata.namespace.as_deref().unwrap_or("default");
        in_namespace.entry(namespace).or_default().push(t);
        for (k, v) in t.metadata.labels.iter().flatten() {
            by_label
                .entry((namespace, k.as_str(), v.as_str()))
                .or_default()
                .push(t);
        }
    }
    let mut out = Outcome::new().evaluated(pdbs.len());
    let mut not_judged = Vec::new();
    for pdb in pdbs {
        let Some(spec) = &pdb.spec else { continue };
        let namespace = pdb.namespace_or_default();
        let candidates = match pdb_required_label(pdb) {
            Some((k, v)) => by_label.get(&(namespace, k, v)),
            None => in_namespace.get(namespace),
        };
        let matched: Vec<&WorkloadTemplate> = candidates
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .copied()
            .filter(|t| pdb_selects(pdb, t.metadata.labels.as_ref()))
            .collect();
        let workloads = matched
            .iter()
            .map(|t| {
                let (n, hpa) = replicas(t);
                match hpa {
                    Some(hpa) => format!("{} ({n} replicas: {hpa})", t.owner.display_name()),
                    None => format!("{} ({n} replicas)", t.owner.display_name()),
                }
            })
            .collect::<Vec<_>>();
        let mut expected: Option<i32> =
            (!matched.is_empty()).then(|| matched.iter().map(|t| replicas(t).0).sum());
        if expected.is_none() {
            expected = pdb.status.as_ref().and_then(|s| s.expected_pods);
        }
        let evidence = if workloads.is_empty() {
            "selects no Deployment, StatefulSet or ReplicaSet in the scan".to_string()
        } else {
            format!("selects {}", workloads.join(", "))
        };

        let message = if let Some(max) = spec.max_unavailable.as_ref().filter(|m| is_zero(m)) {
            Some(format!(
                "maxUnavailable {}: no Pod it selects can ever be evicted; node drains hang",
                show(max)
            ))
        } else if let Some(min) = &spec.min_available {
            if matches!(min, IntOrString::String(s) if s.trim() == "100%") {
                Some(format!(
                    "minAvailable {}: no Pod it selects can ever be evicted; node drains hang",
                    show(min)
                ))
            } else {
                match expected {
                    Some(n) if n > 0 => match scaled(min, n) {
                        Some(need) if need >= n => Some(format!(
                            "minAvailable {} with {n} expected Pod{}: no Pod can be evicted; node drains hang",
                            show(min),
                            if n == 1 { "" } else { "s" }
                        )),
                        _ => None,
                    },
                    _ => {
                        not_judged.push(format!("{namespace}/{}", pdb.name()));
                        None
                    }
                }
            }
        } else {
            None
        };
        if let Some(message) = message {
            out.push(
                Finding::new(Level::Error, Some(pdb.object_ref()), message).with_evidence(evidence),
            );
        }
    }
    if !not_judged.is_empty() {
        out.attach(
            "Not judged: minAvailable budgets selecting no workload of the scan",
            serde_json::json!(not_judged),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::scaled;
    use crate::testing::{finding_lines, run_fixture};
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    #[test]
    fn rounds_percentages_up() {
        assert_eq!(scaled(&IntOrString::String("90%".into()), 3), Some(3));
        assert_eq!(scaled(&IntOrString::String("50%".into()), 3), Some(2));
        assert_eq!(scaled(&IntOrString::String("2".into()), 3), Some(2));
        assert_eq!(scaled(&IntOrString::Int(1), 3), Some(1));
    }

    #[test]
    fn names_the_budget_and_the_workload_it_freezes() {
        let report = run_fixture("pdb_blocks_eviction", "fail.yaml");
        let messages: Vec<_> = finding_lines(&report);
        assert_eq!(
            messages,
            vec![
                "PodDisruptionBudget/kube-system/coredns: maxUnavailable 0: no Pod it selects can ever be evicted; node drains hang",
                "PodDisruptionBudget/shop/db: minAvailable 1 with 1 expected Pod: no Pod can be evicted; node drains hang",
                "PodDisruptionBudget/shop/web: minAvailable 90% with 3 expected Pods: no Pod can be evicted; node drains hang",
            ]
        );
        assert_eq!(
            report.findings[1].evidence,
            vec!["selects StatefulSet/shop/db (1 replicas)"]
        );
    }

    /// Real manifests: CockroachDB's example (67% of 3 rounds up to 3) and Knative's activator
    /// (80% of the HPA's minimum of 1).
    #[test]
    fn rounding_up_freezes_real_budgets() {
        let report = run_fixture("pdb_blocks_eviction", "fail-cockroachdb.yaml");
        assert_eq!(report.findings.len(), 1);
        assert_eq!(
            report.findings[0].message,
            "minAvailable 67% with 3 expected Pods: no Pod can be evicted; node drains hang"
        );
        let report = run_fixture("pdb_blocks_eviction", "fail-knative.yaml");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "PodDisruptionBudget/knative-serving/activator-pdb"
        );
        assert_eq!(
            f.evidence,
            vec![
                "selects Deployment/knative-serving/activator (1 replicas: HPA activator scales it from 1 to 20)"
            ]
        );
    }

    #[test]
    fn passes_budgets_that_leave_room() {
        assert!(run_fixture("pdb_blocks_eviction", "pass.yaml").passed);
        assert!(run_fixture("pdb_blocks_eviction", "pass-kube-prometheus.yaml").passed);
    }
}
