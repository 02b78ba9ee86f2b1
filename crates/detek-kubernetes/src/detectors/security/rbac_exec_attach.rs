use super::{flag_rules, rule_in_core_group};
use crate::prelude::*;

/// ## What it detects
/// Roles and ClusterRoles that let their subjects run commands in Pods: a rule in the core API
/// group (`""` or `*`) granting
///
/// - `create` (or `*`) on `pods/exec`, `pods/attach` or `pods/*`;
/// - `get` on `pods/exec` or `pods/attach` named explicitly: before Kubernetes 1.30 a
///   WebSocket `kubectl exec` needed only `get`;
/// - `patch`, `update` (or `*`) on `pods/ephemeralcontainers`: `kubectl debug` adds a
///   container of one's choosing, with a shell, to a running Pod.
///
/// `resources: ["*"]` is left to `rbac_wildcard`. Kubernetes' default roles (labelled
/// `kubernetes.io/bootstrapping: rbac-defaults`, or bearing a default name: `cluster-admin`,
/// `admin`, `edit`, `system:node`...; a `system:` prefix alone is not enough) and aggregated
/// ClusterRoles are skipped. The evidence names the rules and the bindings in the
/// scan that grant the role.
///
/// ## Why it matters
/// Exec into a Pod is acting as that Pod: its ServiceAccount token, its mounted Secrets, its
/// network position, and, in a privileged Pod, the node. Whoever can exec into every Pod of a
/// namespace holds the union of their permissions. It also bypasses the application's own
/// authentication and leaves little trace beyond the API audit log.
///
/// ## How to fix
/// Grant exec only to the humans who debug, in the namespaces they own, and through the
/// built-in `edit`/`admin` roles rather than custom ones; controllers rarely need it (use an
/// API or a Job instead). Find who has it with
/// `kubectl auth can-i create pods/exec --as=system:serviceaccount:NS:NAME -n NS`, or list
/// every role with `kubectl get roles,clusterroles -A -o yaml | grep -B8 pods/exec`.
///
/// ## Example
/// ```yaml
/// rules:
/// - apiGroups: [""]
///   resources: [pods/exec]
///   verbs: [create]       # fires
/// ```
#[detector(
    id = "rbac_exec_attach",
    title = "RBAC roles allowing exec or attach into Pods",
    labels = ["kubernetes", "security", "rbac"],
    level = Warn,
    requires = [ROLES, CLUSTER_ROLES, ROLE_BINDINGS, CLUSTER_ROLE_BINDINGS],
    references = [
        "https://kubernetes.io/docs/concepts/security/rbac-good-practices/#exec",
        "https://kubernetes.io/docs/reference/access-authn-authz/authorization/#determine-the-request-verb",
    ],
)]
pub struct RbacExecAttach;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    flag_rules(ctx, "lets its subjects run commands in Pods", |rule| {
        let mut found = Vec::new();
        if !rule_in_core_group(rule) {
            return found;
        }
        for resource in rule.resources.iter().flatten() {
            let verbs: &[&str] = match resource.as_str() {
                "pods/exec" | "pods/attach" => &["create", "get"],
                "pods/*" => &["create"],
                "pods/ephemeralcontainers" => &["patch", "update"],
                _ => continue,
            };
            let granted: Vec<&str> = rule
                .verbs
                .iter()
                .map(String::as_str)
                .filter(|v| *v == "*" || verbs.contains(v))
                .collect();
            if !granted.is_empty() {
                found.push(format!("{} on {resource}", granted.join(", ")));
            }
        }
        found
    })
}

#[cfg(test)]
mod tests {
    /// A `system:` name alone does not make a role Kubernetes' own.
    #[test]
    fn a_system_prefix_is_not_a_default_role() {
        let report = crate::testing::run_fixture("rbac_exec_attach", "fail_fake_system_name.yaml");
        assert_eq!(
            crate::testing::finding_lines(&report),
            [
                "ClusterRole/system:debug-helper: lets its subjects run commands in Pods: get, create \
              on pods/exec"
            ]
        );
    }

    use crate::testing::run_fixture;

    #[test]
    fn names_the_exec_rules() {
        let report = run_fixture("rbac_exec_attach", "fail.yaml");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "ClusterRole/rook-ceph-system"
        );
        assert!(
            f.message
                .starts_with("lets its subjects run commands in Pods: create on pods/exec"),
            "{}",
            f.message
        );
        assert!(run_fixture("rbac_exec_attach", "pass.yaml").passed);
        assert!(run_fixture("rbac_exec_attach", "pass_builtin.json").passed);
    }
}
