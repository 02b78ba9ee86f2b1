use super::flag_rules;
use crate::prelude::*;

/// ## What it detects
/// Roles and ClusterRoles that let their subjects give themselves more rights, bypassing
/// RBAC's own escalation checks:
///
/// - `escalate` or `bind` on `roles` / `clusterroles` (`rbac.authorization.k8s.io`): edit a
///   role to add any permission, or bind any role, even ones the subject does not hold;
/// - `impersonate` on `users`, `groups`, `serviceaccounts`, `uids` or `userextras`: act as
///   anyone, `system:masters` included;
/// - `create` on `serviceaccounts/token`: mint a token for any ServiceAccount in scope.
///
/// A `*` verb counts on these named resources (`verbs: ["*"]` on `clusterroles` includes
/// `escalate` and `bind`); `resources: ["*"]` is left to `rbac_wildcard`. Rules restricted
/// with `resourceNames` are not reported: binding only the named roles, or minting a token
/// for one named account, is the recommended way to grant these. Kubernetes' default roles
/// (labelled `kubernetes.io/bootstrapping: rbac-defaults`, or bearing a default name:
/// `cluster-admin`, `system:node`...; a `system:` prefix alone is not enough) and aggregated
/// ClusterRoles are skipped. The evidence names the rules and the bindings that grant the
/// role.
///
/// ## Why it matters
/// RBAC normally stops a subject from creating a binding or a role with more permissions than
/// it has. These verbs switch that check off: a compromised controller with `escalate` on
/// `clusterroles` rewrites its own role to `*`; with `impersonate` on groups it sends requests
/// as `system:masters`. Each is cluster-admin in two API calls.
///
/// ## How to fix
/// Remove the verbs unless the workload manages RBAC by design (OLM, Rancher, some
/// operators); replace `*` on roles and bindings with `get`, `list`, `watch`, `create`,
/// `update`, `delete` (no `escalate`/`bind`), and bind only the specific roles it hands out
/// with `resourceNames`. Check with
/// `kubectl auth can-i escalate clusterroles --as=system:serviceaccount:NS:NAME`.
///
/// ## Example
/// ```yaml
/// rules:
/// - apiGroups: [rbac.authorization.k8s.io]
///   resources: [clusterroles, clusterrolebindings]
///   verbs: ["*"]          # fires: includes escalate and bind
/// ```
#[detector(
    id = "rbac_escalation_verbs",
    title = "RBAC roles granting escalate, bind, impersonate or token creation",
    labels = ["kubernetes", "security", "rbac"],
    level = Warn,
    requires = [ROLES, CLUSTER_ROLES, ROLE_BINDINGS, CLUSTER_ROLE_BINDINGS],
    references = [
        "https://kubernetes.io/docs/concepts/security/rbac-good-practices/#privilege-escalation-risks",
        "https://kubernetes.io/docs/reference/access-authn-authz/rbac/#privilege-escalation-prevention-and-bootstrapping",
    ],
)]
pub struct RbacEscalationVerbs;

/// (API groups, resources, dangerous verbs).
const RISKS: &[(&[&str], &[&str], &[&str])] = &[
    (
        &["rbac.authorization.k8s.io"],
        &["roles", "clusterroles"],
        &["escalate", "bind"],
    ),
    (
        &["", "authentication.k8s.io"],
        &[
            "users",
            "groups",
            "serviceaccounts",
            "uids",
            "userextras",
            "userextras/*",
        ],
        &["impersonate"],
    ),
    (&[""], &["serviceaccounts/token"], &["create"]),
];

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    flag_rules(
        ctx,
        "lets its subjects raise their own permissions",
        |rule| {
            let mut found = Vec::new();
            if rule.resource_names.as_ref().is_some_and(|n| !n.is_empty()) {
                return found;
            }
            for (groups, resources, verbs) in RISKS {
                let in_group = rule
                    .api_groups
                    .iter()
                    .flatten()
                    .any(|g| g == "*" || groups.contains(&g.as_str()));
                if !in_group {
                    continue;
                }
                let named: Vec<&str> = rule
                    .resources
                    .iter()
                    .flatten()
                    .map(String::as_str)
                    .filter(|r| resources.contains(r))
                    .collect();
                if named.is_empty() {
                    continue;
                }
                let granted: Vec<&str> = rule
                    .verbs
                    .iter()
                    .map(String::as_str)
                    .filter(|v| verbs.contains(v) || *v == "*")
                    .collect();
                if granted.is_empty() {
                    continue;
                }
                let verb_text = if granted.contains(&"*") {
                    format!("* (includes {})", verbs.join(" and "))
                } else {
                    granted.join(", ")
                };
                found.push(format!("{verb_text} on {}", named.join(", ")));
            }
            found
        },
    )
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture;

    #[test]
    fn names_the_escalation_rules() {
        let report = run_fixture("rbac_escalation_verbs", "fail.yaml");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "ClusterRole/longhorn-role"
        );
        assert_eq!(
            f.message,
            "lets its subjects raise their own permissions: * (includes escalate and bind) on clusterroles"
        );
        assert_eq!(
            f.evidence.last().unwrap(),
            "bound by ClusterRoleBinding/longhorn-bind"
        );
        assert!(run_fixture("rbac_escalation_verbs", "pass.yaml").passed);
    }
}
