use crate::prelude::*;
use k8s_openapi::api::rbac::v1::{PolicyRule, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use std::collections::{BTreeSet, HashMap};

/// ## What it detects
/// NetworkPolicies whose `podSelector` matches no Pod and no workload's pod template of their
/// namespace. An empty selector (`podSelector: {}`) means *every* Pod of the namespace — the
/// usual default-deny policy — and is never reported (tools that flag it produce their most
/// common false positive). Only judged when the scan contains Pods or workloads; a set of
/// policies alone cannot tell. For manifests (no Pods written by a cluster), namespaces where
/// a workload of the set can create Pods at run time — its ServiceAccount is bound to a role
/// that may create Pods, StatefulSets, Deployments... (an operator) — are not judged either,
/// and listed in a note: the Pods their policies are for do not exist yet.
///
/// ## Why it matters
/// A policy that selects nothing protects nothing: the Pods it was written for are still open
/// to (or can still reach) everything, while the policy's presence suggests they are isolated.
/// Usually the Pods' labels changed (a chart upgrade renamed `app` to
/// `app.kubernetes.io/name`) or the policy was applied in the wrong namespace.
///
/// ## How to fix
/// Compare the selector with the Pods' labels: `kubectl get netpol NAME -n NS -o yaml` and
/// `kubectl get pods -n NS --show-labels` (or `-l KEY=VALUE` to test the selector). Fix the
/// selector or the labels, or delete the stale policy.
///
/// ## Example
/// ```yaml
/// kind: NetworkPolicy
/// metadata: {name: db-ingress, namespace: shop}
/// spec:
///   podSelector:
///     matchLabels: {role: db}      # fires when no Pod in shop has role=db
///   ingress: [...]
/// ```
#[detector(
    id = "networkpolicy_selects_nothing",
    title = "NetworkPolicies whose pod selector matches no Pod",
    labels = ["kubernetes", "state", "networking"],
    level = Warn,
    requires = [
        NETWORK_POLICIES,
        PODS,
        WORKLOAD_TEMPLATES,
        ROLES,
        CLUSTER_ROLES,
        ROLE_BINDINGS,
        CLUSTER_ROLE_BINDINGS,
    ],
    references = ["https://kubernetes.io/docs/concepts/services-networking/network-policies/"],
)]
pub struct NetworkpolicySelectsNothing;

/// Labels of one Pod or pod template, with its namespace as written.
struct Candidate<'a> {
    namespace: Option<&'a str>,
    labels: Option<&'a std::collections::BTreeMap<String, String>>,
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let policies = ctx.get(&NETWORK_POLICIES)?;
    let pods = ctx.get(&PODS)?;
    let templates = ctx.get(&WORKLOAD_TEMPLATES)?;
    // Pods and templates both: a Deployment scaled to zero still owns its labels, and manifests
    // may hold a few bare Pods next to their Deployments.
    let candidates: Vec<Candidate> = pods
        .iter()
        .map(|p| Candidate {
            namespace: p.namespace(),
            labels: p.metadata.labels.as_ref(),
        })
        .chain(templates.iter().map(|t| Candidate {
            namespace: t.metadata.namespace.as_deref(),
            labels: t.metadata.labels.as_ref(),
        }))
        .collect();
    let mut out = Outcome::new();
    if candidates.is_empty() {
        if !policies.is_empty() {
            out.attach(
                "not judged",
                serde_json::Value::String(
                    "the scan contains no Pods or workloads: what the NetworkPolicies select cannot be told"
                        .to_string(),
                ),
            );
        }
        out.evaluated = Some(0);
        return Ok(out);
    }
    if policies.is_empty() {
        out.evaluated = Some(0);
        return Ok(out);
    }
    // Without Pods written by a cluster, the scan is manifests: Pods that operators of the set
    // create at run time (a Prometheus StatefulSet, Ceph daemons) cannot be seen.
    let manifests = !pods.iter().any(|p| p.status.is_some());
    let runtime = if manifests {
        runtime_creators(ctx)?
    } else {
        RuntimeCreators::default()
    };
    let noun = if manifests { "pod template" } else { "Pod" };
    // Candidates by namespace and label (a policy without namespace, as manifests often are,
    // looks at every namespace; so does a candidate without one): each policy is tested
    // against the candidates carrying its first matchLabels pair, not all of them.
    type Labelled<'a> = HashMap<(Option<&'a str>, &'a str, &'a str), Vec<&'a Candidate<'a>>>;
    let mut by_label: Labelled = HashMap::new();
    let mut by_label_anywhere: HashMap<(&str, &str), Vec<&Candidate>> = HashMap::new();
    let mut by_namespace: HashMap<Option<&str>, Vec<&Candidate>> = HashMap::new();
    for c in &candidates {
        by_namespace.entry(c.namespace).or_default().push(c);
        for (k, v) in c.labels.iter().flat_map(|l| l.iter()) {
            by_label
                .entry((c.namespace, k.as_str(), v.as_str()))
                .or_default()
                .push(c);
            by_label_anywhere
                .entry((k.as_str(), v.as_str()))
                .or_default()
                .push(c);
        }
    }
    let no_candidates: Vec<&Candidate> = Vec::new();
    let listed = |list: Option<&Vec<&Candidate>>| list.unwrap_or(&no_candidates).len();
    let mut not_judged = Vec::new();
    let mut evaluated = 0;
    for policy in policies {
        let Some(selector) = policy.spec.as_ref().and_then(|s| s.pod_selector.as_ref()) else {
            continue;
        };
        if is_empty(selector) {
            continue;
        }
        let ns = policy.namespace();
        if runtime.covers(ns) {
            not_judged.push(format!("{}/{}", ns.unwrap_or("default"), policy.name()));
            continue;
        }
        evaluated += 1;
        let required = selector
            .match_labels
            .as_ref()
            .and_then(|m| m.iter().next())
            .map(|(k, v)| (k.as_str(), v.as_str()));
        // The candidates that may match: in the policy's namespace or without one.
        let (checked, may_match): (usize, Vec<&Vec<&Candidate>>) = match (ns, required) {
            (None, Some(kv)) => (
                candidates.len(),
                by_label_anywhere.get(&kv).into_iter().collect(),
            ),
            (None, None) => (candidates.len(), by_namespace.values().collect()),
            (Some(_), Some((k, v))) => (
                listed(by_namespace.get(&ns)) + listed(by_namespace.get(&None)),
                [by_label.get(&(ns, k, v)), by_label.get(&(None, k, v))]
                    .into_iter()
                    .flatten()
                    .collect(),
            ),
            (Some(_), None) => (
                listed(by_namespace.get(&ns)) + listed(by_namespace.get(&None)),
                [by_namespace.get(&ns), by_namespace.get(&None)]
                    .into_iter()
                    .flatten()
                    .collect(),
            ),
        };
        if may_match
            .into_iter()
            .flatten()
            .any(|c| label_selector_matches(selector, c.labels))
        {
            continue;
        }
        let ns_text = ns.map(|n| format!(" in namespace {n}")).unwrap_or_default();
        out.push(
            Finding::new(
                Level::Warn,
                Some(policy.object_ref()),
                format!(
                    "podSelector {} matches no {noun}{ns_text}: the policy applies to nothing",
                    describe(selector)
                ),
            )
            .with_evidence(format!(
                "{checked} Pod(s) and pod template(s){ns_text} checked"
            )),
        );
    }
    if !not_judged.is_empty() {
        out.attach(
            "not judged: a workload of the set may create Pods at run time in their namespace",
            serde_json::json!(not_judged),
        );
    }
    out.evaluated = Some(evaluated);
    Ok(out)
}

/// Namespaces where a workload of the scan may create Pods at run time (an operator): its
/// ServiceAccount is bound to a role that can create Pods or workload controllers.
#[derive(Default)]
struct RuntimeCreators {
    everywhere: bool,
    namespaces: BTreeSet<String>,
}

impl RuntimeCreators {
    fn covers(&self, namespace: Option<&str>) -> bool {
        self.everywhere || self.namespaces.contains(namespace.unwrap_or("default"))
    }
}

fn runtime_creators(ctx: &DetectContext) -> Result<RuntimeCreators, DetectError> {
    let templates = ctx.get(&WORKLOAD_TEMPLATES)?;
    let accounts: BTreeSet<(Option<&str>, &str)> = templates
        .iter()
        .map(|t| {
            let account = t
                .spec
                .service_account_name
                .as_deref()
                .or(t.spec.service_account.as_deref())
                .filter(|a| !a.is_empty())
                .unwrap_or("default");
            (t.metadata.namespace.as_deref(), account)
        })
        .collect();
    let runs_a_workload = |subject: &Subject, binding_ns: Option<&str>| {
        subject.kind == "ServiceAccount"
            && accounts.iter().any(|(ns, name)| {
                *name == subject.name
                    && match (subject.namespace.as_deref().or(binding_ns), ns) {
                        (Some(a), Some(b)) => a == *b,
                        _ => true,
                    }
            })
    };
    let creates = |rules: &Option<Vec<PolicyRule>>| rules.iter().flatten().any(creates_workloads);
    let cluster_role_creates = |name: &str| {
        ctx.get(&CLUSTER_ROLES)
            .map(|roles| roles.iter().any(|r| r.name() == name && creates(&r.rules)))
    };
    let mut out = RuntimeCreators::default();
    for b in ctx.get(&CLUSTER_ROLE_BINDINGS)? {
        if b.subjects
            .iter()
            .flatten()
            .any(|s| runs_a_workload(s, None))
            && cluster_role_creates(&b.role_ref.name)?
        {
            out.everywhere = true;
        }
    }
    let roles = ctx.get(&ROLES)?;
    for b in ctx.get(&ROLE_BINDINGS)? {
        let ns = b.namespace();
        if !b.subjects.iter().flatten().any(|s| runs_a_workload(s, ns)) {
            continue;
        }
        let grants = match b.role_ref.kind.as_str() {
            "ClusterRole" => cluster_role_creates(&b.role_ref.name)?,
            _ => roles
                .iter()
                .any(|r| r.name() == b.role_ref.name && r.namespace() == ns && creates(&r.rules)),
        };
        if grants {
            out.namespaces.insert(ns.unwrap_or("default").to_string());
        }
    }
    Ok(out)
}

/// Can this rule create Pods or a controller of Pods?
fn creates_workloads(rule: &PolicyRule) -> bool {
    const KINDS: [&str; 7] = [
        "pods",
        "deployments",
        "statefulsets",
        "daemonsets",
        "replicasets",
        "jobs",
        "*",
    ];
    rule.verbs.iter().any(|v| v == "create" || v == "*")
        && rule
            .resources
            .iter()
            .flatten()
            .any(|r| KINDS.contains(&r.as_str()))
}

fn is_empty(selector: &LabelSelector) -> bool {
    selector.match_labels.as_ref().is_none_or(|m| m.is_empty())
        && selector
            .match_expressions
            .as_ref()
            .is_none_or(|e| e.is_empty())
}

/// `app=web, tier in (db, cache)`.
fn describe(selector: &LabelSelector) -> String {
    let mut parts: Vec<String> = selector
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for e in selector.match_expressions.iter().flatten() {
        let values = e.values.as_deref().unwrap_or(&[]).join(", ");
        parts.push(match e.operator.as_str() {
            "Exists" => e.key.clone(),
            "DoesNotExist" => format!("!{}", e.key),
            op => format!("{} {} ({values})", e.key, op.to_ascii_lowercase()),
        });
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture;

    #[test]
    fn names_the_policy_and_its_selector() {
        let report = run_fixture("networkpolicy_selects_nothing", "fail.yaml");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "NetworkPolicy/default/np3"
        );
        assert_eq!(
            f.message,
            "podSelector app=p-bozo matches no Pod in namespace default: the policy applies to nothing"
        );
    }

    #[test]
    fn empty_selectors_and_matching_selectors_pass() {
        // Default-deny policies (`podSelector: {}`) with Pods in the namespace.
        assert!(run_fixture("networkpolicy_selects_nothing", "pass.yaml").passed);
        // microservices-demo's policies next to its Deployments.
        assert!(run_fixture("networkpolicy_selects_nothing", "pass_templates.yaml").passed);
    }
}
