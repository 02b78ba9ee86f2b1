use super::helpers::pdb_required_label;
use crate::prelude::*;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use std::collections::{BTreeMap, HashMap};

/// ## What it detects
/// Deployments and StatefulSets that want two or more replicas but whose Pods no
/// PodDisruptionBudget covers. A PDB covers them when it is in the same namespace and its
/// `selector` matches the labels of the pod template; an empty selector (`{}`) matches every
/// Pod of its namespace in `policy/v1`, and nothing in the old `policy/v1beta1`. Workloads with
/// one replica are left out: a PDB cannot keep a single replica available through a drain
/// without blocking it. Whether a matching PDB is too strict is `pdb_blocks_eviction`'s job.
///
/// ## Why it matters
/// Without a PDB, a voluntary disruption (`kubectl drain` for a node upgrade, the cluster
/// autoscaler removing a node, a spot instance replaced) may evict every replica at the same
/// time when they share a node or nodes are drained in parallel. The replicas were there for
/// availability; for StatefulSets such as databases or quorum systems, losing several members
/// at once can lose the quorum.
///
/// ## How to fix
/// Add a PodDisruptionBudget that selects the workload's Pods, with `maxUnavailable: 1` (or a
/// `minAvailable` below the replica count, never equal to it):
/// `kubectl create pdb NAME -n NS --selector=app=NAME --max-unavailable=1`. Check the result
/// with `kubectl get pdb -n NS` (ALLOWED DISRUPTIONS should be at least 1).
///
/// ## Example
/// ```yaml
/// kind: Deployment
/// metadata: {name: frontend}
/// spec:
///   replicas: 3                  # fires unless a PDB like this one exists:
/// ---
/// apiVersion: policy/v1
/// kind: PodDisruptionBudget
/// metadata: {name: frontend}
/// spec:
///   maxUnavailable: 1
///   selector: {matchLabels: {app: guestbook, tier: frontend}}
/// ```
#[detector(
    id = "deployment_without_pdb",
    title = "Replicated Deployments and StatefulSets without a PodDisruptionBudget",
    labels = ["kubernetes", "workloads", "availability"],
    level = Warn,
    requires = [DEPLOYMENTS, STATEFUL_SETS, POD_DISRUPTION_BUDGETS, HPAS_BY_TARGET],
    references = [
        "https://kubernetes.io/docs/concepts/workloads/pods/disruptions/",
        "https://kubernetes.io/docs/tasks/run-application/configure-pdb/",
    ],
)]
pub struct DeploymentWithoutPdb;

/// One replicated workload to check.
struct Workload<'a> {
    object: ObjectRef,
    namespace: &'a str,
    name: &'a str,
    /// `spec.replicas` as written (1 when unset).
    replicas: i32,
    labels: Option<&'a BTreeMap<String, String>>,
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let pdbs = ctx.get(&POD_DISRUPTION_BUDGETS)?;
    let hpas = ctx.get(&HPAS_BY_TARGET)?;
    let deployments = ctx.get(&DEPLOYMENTS)?.iter().map(|d| Workload {
        object: d.object_ref(),
        namespace: d.namespace_or_default(),
        name: d.name(),
        replicas: d.spec.replicas.unwrap_or(1),
        labels: d
            .spec
            .template
            .metadata
            .as_ref()
            .and_then(|m| m.labels.as_ref()),
    });
    let stateful_sets = ctx.get(&STATEFUL_SETS)?.iter().map(|s| Workload {
        object: s.object_ref(),
        namespace: s.namespace_or_default(),
        name: s.name(),
        replicas: s.spec.replicas.unwrap_or(1),
        labels: s
            .spec
            .template
            .metadata
            .as_ref()
            .and_then(|m| m.labels.as_ref()),
    });
    let workloads: Vec<Workload> = deployments.chain(stateful_sets).collect();
    // Budgets by namespace and their first matchLabels pair (those without one by namespace):
    // a workload is tested against the budgets its labels can satisfy, not all.
    let mut by_label: HashMap<(&str, &str, &str), Vec<&Item<PodDisruptionBudget>>> = HashMap::new();
    let mut unlabelled: HashMap<&str, Vec<&Item<PodDisruptionBudget>>> = HashMap::new();
    for pdb in pdbs {
        let namespace = pdb.namespace_or_default();
        match pdb_required_label(pdb) {
            Some((k, v)) => by_label.entry((namespace, k, v)).or_default().push(pdb),
            None => unlabelled.entry(namespace).or_default().push(pdb),
        }
    }
    let covered = |w: &Workload| {
        w.labels
            .iter()
            .flat_map(|labels| labels.iter())
            .filter_map(|(k, v)| by_label.get(&(w.namespace, k.as_str(), v.as_str())))
            .chain(unlabelled.get(w.namespace))
            .flatten()
            .any(|pdb| covers(pdb, w))
    };
    let mut out = Outcome::new().evaluated(workloads.len());
    for w in &workloads {
        // An HPA keeps at least its minReplicas, whatever `replicas` says (or leaves out).
        let hpa = hpas.targeting(w.namespace, &w.object.kind, w.name).next();
        let min_replicas = hpa.map_or(1, |h| h.spec.min_replicas.unwrap_or(1));
        let replicas = w.replicas.max(min_replicas);
        if replicas < 2 || covered(w) {
            continue;
        }
        let mut finding = Finding::new(
            Level::Warn,
            Some(w.object.clone()),
            format!(
                "{replicas} replicas and no PodDisruptionBudget selects its Pods: a node drain may evict them all at once",
            ),
        );
        if let Some(h) = hpa.filter(|_| min_replicas > w.replicas) {
            finding = finding.with_evidence(format!(
                "HPA {} keeps at least {min_replicas} replicas (minReplicas)",
                h.name()
            ));
        }
        if let Some(labels) = w.labels.filter(|l| !l.is_empty()) {
            let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            finding = finding.with_evidence(format!("pod template labels: {}", labels.join(", ")));
        }
        out.push(finding);
    }
    Ok(out)
}

/// Does this PDB select the workload's Pods?
fn covers(pdb: &Item<PodDisruptionBudget>, w: &Workload) -> bool {
    if pdb.namespace_or_default() != w.namespace {
        return false;
    }
    let Some(selector) = pdb.spec.as_ref().and_then(|s| s.selector.as_ref()) else {
        return false;
    };
    let empty = selector.match_labels.as_ref().is_none_or(|m| m.is_empty())
        && selector
            .match_expressions
            .as_ref()
            .is_none_or(|e| e.is_empty());
    if empty && pdb.origin.api_version.as_ref() == "policy/v1beta1" {
        // policy/v1beta1 defined an empty selector as selecting no Pods.
        return false;
    }
    label_selector_matches(selector, w.labels)
}

#[cfg(test)]
mod tests {
    use crate::testing::{finding_lines, run_fixture};

    #[test]
    fn flags_replicated_workloads_without_a_budget() {
        let report = run_fixture("deployment_without_pdb", "fail.yaml");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        let object = f.object.as_ref().unwrap();
        assert_eq!(object.kind, "Deployment");
        assert_eq!(object.namespace, None);
        assert_eq!(object.name, "frontend");
        assert!(
            f.message
                .starts_with("3 replicas and no PodDisruptionBudget"),
            "{}",
            f.message
        );
        assert_eq!(
            f.evidence,
            vec!["pod template labels: app=guestbook, tier=frontend"]
        );

        let report = run_fixture("deployment_without_pdb", "fail_statefulset.yaml");
        assert_eq!(report.findings.len(), 1);
        assert_eq!(
            report.findings[0].object.as_ref().unwrap().display_name(),
            "StatefulSet/cassandra"
        );
    }

    #[test]
    fn a_matching_budget_in_the_namespace_covers_them() {
        assert!(run_fixture("deployment_without_pdb", "pass.yaml").passed);
        assert!(run_fixture("deployment_without_pdb", "pass_statefulset.yaml").passed);
        // One PDB in another namespace, one selecting other labels: neither covers.
        let report = run_fixture("deployment_without_pdb", "fail_mismatch.yaml");
        let names: Vec<_> = report
            .findings
            .iter()
            .map(|f| f.object.as_ref().unwrap().display_name())
            .collect();
        assert_eq!(names, vec!["Deployment/shop/api", "Deployment/shop/web"]);
        assert!(run_fixture("deployment_without_pdb", "pass_empty_selector.yaml").passed);
    }

    /// A Deployment that leaves `replicas` to its HPA, whose minReplicas is 3.
    #[test]
    fn an_hpa_min_replicas_counts() {
        let report = run_fixture("deployment_without_pdb", "fail_hpa_min_replicas.yaml");
        assert_eq!(
            finding_lines(&report),
            [
                "Deployment/shop/checkout: 3 replicas and no PodDisruptionBudget selects its Pods: a \
              node drain may evict them all at once"
            ]
        );
        assert_eq!(
            report.findings[0].evidence,
            [
                "HPA checkout keeps at least 3 replicas (minReplicas)",
                "pod template labels: app=checkout"
            ]
        );
    }

    /// cockroachdb's example ships a `policy/v1beta1` PDB, read into today's type.
    #[test]
    fn a_legacy_v1beta1_budget_covers_them() {
        assert!(run_fixture("deployment_without_pdb", "pass_legacy_pdb.yaml").passed);
    }
}
