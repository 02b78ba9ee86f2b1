use super::flag_roles;
use crate::prelude::*;

/// ## What it detects
/// Roles and ClusterRoles with a rule that uses `*` in `apiGroups`, `resources` or `verbs`.
/// One finding per role names the rules; a rule with `*` in all three is called out as full
/// access to every resource. Only exact `*` counts (`*/scale` does not). Rules on
/// `nonResourceURLs` are not checked (`/metrics`, `/healthz` wildcards are harmless reads).
/// A `*` in `resources` or `verbs` counts only when the rule covers a Kubernetes API group
/// (the core group `""`, `apps`, `batch`, `autoscaling`, `policy`, `extensions`, any
/// `*.k8s.io` group, or `*`): an operator holding `*` on the resources of its own API group
/// (`monitoring.coreos.com`, `longhorn.io`) manages its own CRDs, which is what it is for.
///
/// Built-in roles are skipped: `cluster-admin`, names starting with `system:`, and objects
/// labelled `kubernetes.io/bootstrapping: rbac-defaults` (`admin`, `edit`, `view`): they are
/// the same on every cluster and nobody can change them. Aggregated ClusterRoles
/// (`aggregationRule`) are skipped too: their rules are copies of the roles they aggregate,
/// which are checked themselves. The evidence lists the bindings in the scan that grant the
/// role.
///
/// ## Why it matters
/// `*` grants what exists today and everything added later: `verbs: ["*"]` includes
/// `escalate`, `bind`, `impersonate` and `delete`; `resources: ["*"]` includes Secrets and
/// every CRD installed next year; `apiGroups: ["*"]` every API group. A controller that needs
/// five verbs on two resources but holds `*` turns any bug or compromise in it into cluster
/// admin. Wildcards also make audits impossible: nobody can say what the role really needs.
///
/// ## How to fix
/// Replace `*` with the list the workload uses. Find it from the audit log, or with
/// `kubectl auth can-i --list --as=system:serviceaccount:NS:NAME`, and tools such as
/// `audit2rbac`. See the rules with `kubectl get clusterrole NAME -o yaml`. Operators that
/// really manage arbitrary resources (Argo CD, Flux) can be scoped to namespaces instead.
///
/// ## Example
/// ```yaml
/// kind: ClusterRole
/// rules:
/// - apiGroups: ["*"]
///   resources: ["*"]
///   verbs: ["*"]          # fires: every verb on every resource
/// ```
#[detector(
    id = "rbac_wildcard",
    title = "RBAC roles granting wildcards (*)",
    labels = ["kubernetes", "security", "rbac"],
    level = Warn,
    requires = [ROLES, CLUSTER_ROLES, ROLE_BINDINGS, CLUSTER_ROLE_BINDINGS],
    references = ["https://kubernetes.io/docs/concepts/security/rbac-good-practices/#least-privilege"],
)]
pub struct RbacWildcard;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    flag_roles(ctx, |role| {
        let mut parts = Vec::new();
        let mut blamed = Vec::new();
        let mut full_rule = None;
        for (i, rule) in role.rules.iter().enumerate() {
            if rule.resources.as_ref().is_none_or(|r| r.is_empty()) {
                continue;
            }
            let star = |v: Option<&Vec<String>>| v.is_some_and(|v| v.iter().any(|s| s == "*"));
            let kubernetes = rule
                .api_groups
                .iter()
                .flatten()
                .any(|g| is_kubernetes_group(g));
            let fields: Vec<&str> = [
                (star(rule.api_groups.as_ref()), "apiGroups"),
                (kubernetes && star(rule.resources.as_ref()), "resources"),
                (kubernetes && star(Some(&rule.verbs)), "verbs"),
            ]
            .into_iter()
            .filter(|(on, _)| *on)
            .map(|(_, f)| f)
            .collect();
            if fields.is_empty() {
                continue;
            }
            if fields.len() == 3 && full_rule.is_none() {
                full_rule = Some(i + 1);
            }
            parts.push(format!("rule {} ({})", i + 1, fields.join(", ")));
            blamed.push(i);
        }
        if parts.is_empty() {
            return None;
        }
        let message = match full_rule {
            Some(n) => format!(
                "grants every verb on every resource of every API group (rule {n} is \"*\" in apiGroups, resources and verbs)"
            ),
            None => format!("uses \"*\" in {}", parts.join(", ")),
        };
        Some((message, blamed))
    })
}

/// The API groups of Kubernetes itself (and `*`), as opposed to those of CRDs.
fn is_kubernetes_group(group: &str) -> bool {
    matches!(
        group,
        "" | "*" | "apps" | "batch" | "autoscaling" | "policy" | "extensions"
    ) || group.ends_with(".k8s.io")
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture;

    #[test]
    fn names_the_wildcard_rules_and_the_bindings() {
        let report = run_fixture("rbac_wildcard", "fail.yaml");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "ClusterRole/argocd-application-controller"
        );
        assert_eq!(
            f.message,
            "grants every verb on every resource of every API group (rule 1 is \"*\" in apiGroups, resources and verbs)"
        );
        assert_eq!(
            f.evidence,
            vec![
                "rule 1: apiGroups [*], resources [*], verbs [*]",
                "bound by ClusterRoleBinding/argocd-application-controller",
            ]
        );
        let report = run_fixture("rbac_wildcard", "fail_verbs.yaml");
        assert!(
            report.findings[0]
                .message
                .starts_with("uses \"*\" in rule 1 (verbs)"),
            "{}",
            report.findings[0].message
        );
        // A live kind cluster's ClusterRoles: cluster-admin and the system: roles are built in;
        // only sonobuoy's own role is reported.
        let report = run_fixture("rbac_wildcard", "fail_live.json");
        let names: Vec<_> = report
            .findings
            .iter()
            .map(|f| f.object.as_ref().unwrap().display_name())
            .collect();
        assert_eq!(names, vec!["ClusterRole/sonobuoy-serviceaccount"]);
        assert!(run_fixture("rbac_wildcard", "pass.yaml").passed);
    }
}
