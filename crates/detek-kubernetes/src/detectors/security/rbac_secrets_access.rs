use super::{describe_subject, find_cluster_role, is_builtin_rbac, is_system_subject};
use crate::prelude::*;

/// ## What it detects
/// ClusterRoleBindings that let someone read Secrets in every namespace: the bound
/// ClusterRole (found in the scan) has a rule in the core API group naming `secrets` with
/// `get`, `list`, `watch` or `*`, and no `resourceNames` restricting it to a few Secrets.
/// Subjects whose name starts with `system:` are not reported, nor are Kubernetes' default
/// bindings (labelled `kubernetes.io/bootstrapping: rbac-defaults`, or bearing a default name;
/// a `system:` prefix alone is not enough). Bindings of `cluster-admin`
/// are left to `cluster_admin_binding`, and `resources: ["*"]` to `rbac_wildcard`. Namespaced
/// grants (a RoleBinding) are not reported: reading the Secrets of one's own namespace is
/// normal for controllers.
///
/// ## Why it matters
/// Secrets hold every credential of every application: database passwords, cloud keys, TLS
/// keys, and the tokens of other ServiceAccounts (including more privileged ones), so reading
/// all of them is a short path to everything else. `list` and `watch` return the values, not
/// just the names. Ingress controllers and cert-manager need it by design (TLS Secrets
/// anywhere); most other controllers can be restricted to their namespace.
///
/// ## How to fix
/// Bind the ClusterRole with RoleBindings in the namespaces the workload serves instead of a
/// ClusterRoleBinding, or restrict it with `resourceNames`. Check with
/// `kubectl auth can-i list secrets -A --as=system:serviceaccount:NS:NAME`. Many controllers
/// have a flag to watch a single namespace (`--watch-namespace`).
///
/// ## Example
/// ```yaml
/// kind: ClusterRole
/// metadata: {name: reader}
/// rules:
/// - apiGroups: [""]
///   resources: [secrets]
///   verbs: [get, list, watch]
/// ---
/// kind: ClusterRoleBinding      # fires: every namespace
/// roleRef: {kind: ClusterRole, name: reader}
/// subjects: [{kind: ServiceAccount, name: app, namespace: web}]
/// ```
#[detector(
    id = "rbac_secrets_access",
    title = "Cluster-wide read access to Secrets",
    labels = ["kubernetes", "security", "rbac"],
    level = Warn,
    requires = [CLUSTER_ROLE_BINDINGS, CLUSTER_ROLES],
    references = ["https://kubernetes.io/docs/concepts/security/rbac-good-practices/#listing-secrets"],
)]
pub struct RbacSecretsAccess;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let cluster_role_bindings = ctx.get(&CLUSTER_ROLE_BINDINGS)?;
    let cluster_roles = ctx.get(&CLUSTER_ROLES)?;
    let mut out = Outcome::new().evaluated(cluster_role_bindings.len());
    for binding in cluster_role_bindings.iter() {
        let role_ref = &binding.role_ref;
        if is_builtin_rbac(&binding.metadata)
            || role_ref.kind != "ClusterRole"
            || role_ref.name == "cluster-admin"
        {
            continue;
        }
        let Some(role) = find_cluster_role(cluster_roles, &role_ref.name) else {
            continue;
        };
        let mut verbs: Vec<&str> = Vec::new();
        for rule in role.rules.iter().flatten() {
            let core = rule
                .api_groups
                .iter()
                .flatten()
                .any(|g| g.is_empty() || g == "*");
            let secrets = rule.resources.iter().flatten().any(|r| r == "secrets");
            let restricted = rule.resource_names.as_ref().is_some_and(|n| !n.is_empty());
            if !core || !secrets || restricted {
                continue;
            }
            for v in &rule.verbs {
                if ["get", "list", "watch", "*"].contains(&v.as_str())
                    && !verbs.contains(&v.as_str())
                {
                    verbs.push(v);
                }
            }
        }
        if verbs.is_empty() {
            continue;
        }
        let subjects: Vec<String> = binding
            .subjects
            .iter()
            .flatten()
            .filter(|s| !is_system_subject(s))
            .map(|s| describe_subject(s, None))
            .collect();
        if subjects.is_empty() {
            continue;
        }
        out.push(
            Finding::new(
                Level::Warn,
                Some(binding.object_ref()),
                format!(
                    "grants {} on Secrets in every namespace (ClusterRole {}) to {}",
                    verbs.join(", "),
                    role_ref.name,
                    subjects.join(", ")
                ),
            )
            .with_evidence(format!(
                "ClusterRole {} is bound cluster-wide by this ClusterRoleBinding",
                role_ref.name
            )),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::{finding_pairs, run_fixture};

    #[test]
    fn names_the_binding_the_verbs_and_the_subjects() {
        let report = run_fixture("rbac_secrets_access", "fail.yaml");
        let got = finding_pairs(&report);
        assert_eq!(
            got,
            vec![(
                "ClusterRoleBinding/ingress-nginx".to_string(),
                "grants list, watch on Secrets in every namespace (ClusterRole ingress-nginx) to ServiceAccount ingress-nginx/ingress-nginx"
            )]
        );
        assert!(run_fixture("rbac_secrets_access", "pass.yaml").passed);
    }
}
