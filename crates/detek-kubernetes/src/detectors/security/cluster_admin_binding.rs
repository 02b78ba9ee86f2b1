use super::{describe_subject, find_cluster_role, is_builtin_rbac, is_system_subject};
use crate::prelude::*;
use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule, Role, RoleRef, Subject};

/// ## What it detects
/// ClusterRoleBindings and RoleBindings that grant `cluster-admin`, or a role of the scan
/// that is equivalent to it, to anyone but Kubernetes' own users and groups. A role is
/// equivalent when its rules over every API group and every resource (`*` in both, no
/// `resourceNames`) allow every verb: `*`, or each read and write verb listed (`get`, `list`,
/// `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`). Subjects whose name starts with `system:`
/// (`system:masters`, `system:kube-controller-manager`...) are not reported; ServiceAccounts
/// always are, including those in `kube-system`. Kubernetes' default bindings (labelled
/// `kubernetes.io/bootstrapping: rbac-defaults`, or bearing a default name, like the
/// `cluster-admin` binding of `system:masters`; a `system:` prefix alone is not enough) are
/// skipped. A RoleBinding to `cluster-admin` (or to an equivalent ClusterRole, or to an
/// equivalent namespaced Role) grants full control of its namespace only, and the message says
/// so: the subject is admin of that namespace.
///
/// ## Why it matters
/// `cluster-admin` can do everything: read every Secret, exec into every Pod, create
/// privileged Pods on any node, and grant itself anything it lacks. A ServiceAccount with it
/// turns any bug in its Pods into full cluster compromise; a human user with it makes every
/// mistake cluster-wide. It is the first thing an attacker looks for
/// (`kubectl auth can-i '*' '*'`).
///
/// ## How to fix
/// List them with
/// `kubectl get clusterrolebindings,rolebindings -A -o json | jq -r '.items[] | select(.roleRef.name=="cluster-admin") | .metadata.name'`.
/// Write a ClusterRole with what the subject really uses and bind that instead; for people,
/// use the built-in `admin`/`edit`/`view` per namespace and keep `cluster-admin` to a
/// break-glass group. Check a subject's effective rights with
/// `kubectl auth can-i --list --as=system:serviceaccount:NS:NAME`.
///
/// ## Example
/// ```yaml
/// kind: ClusterRoleBinding
/// roleRef: {kind: ClusterRole, name: cluster-admin}
/// subjects:
/// - kind: ServiceAccount      # fires
///   name: installer
///   namespace: tools
/// ---
/// kind: Role                    # every read and write verb: admin of namespace ci
/// metadata: {name: deployer, namespace: ci}
/// rules:
/// - apiGroups: ["*"]
///   resources: ["*"]
///   verbs: [get, list, watch, create, update, patch, delete, deletecollection]
/// ---
/// kind: RoleBinding             # fires: admin of namespace ci
/// metadata: {name: deployer, namespace: ci}
/// roleRef: {kind: Role, name: deployer}
/// subjects: [{kind: ServiceAccount, name: runner}]
/// ```
#[detector(
    id = "cluster_admin_binding",
    title = "Bindings granting cluster-admin",
    labels = ["kubernetes", "security", "rbac"],
    level = Warn,
    requires = [ROLE_BINDINGS, CLUSTER_ROLE_BINDINGS, CLUSTER_ROLES, ROLES],
    references = [
        "https://kubernetes.io/docs/reference/access-authn-authz/rbac/#user-facing-roles",
        "https://kubernetes.io/docs/concepts/security/rbac-good-practices/",
    ],
)]
pub struct ClusterAdminBinding;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let role_bindings = ctx.get(&ROLE_BINDINGS)?;
    let cluster_role_bindings = ctx.get(&CLUSTER_ROLE_BINDINGS)?;
    let cluster_roles = ctx.get(&CLUSTER_ROLES)?;
    let roles = ctx.get(&ROLES)?;
    let mut out = Outcome::new().evaluated(role_bindings.len() + cluster_role_bindings.len());
    let bindings = cluster_role_bindings
        .iter()
        .map(|b| {
            (
                b.object_ref(),
                &b.metadata,
                &b.role_ref,
                b.subjects.as_deref(),
                None,
            )
        })
        .chain(role_bindings.iter().map(|b| {
            (
                b.object_ref(),
                &b.metadata,
                &b.role_ref,
                b.subjects.as_deref(),
                Some(b.namespace_or_default()),
            )
        }));
    for (object, metadata, role_ref, subjects, namespace) in bindings {
        if is_builtin_rbac(metadata) {
            continue;
        }
        let role = match (role_ref.kind.as_str(), namespace) {
            ("ClusterRole", _) => admin_cluster_role(role_ref, cluster_roles),
            ("Role", Some(ns)) => admin_role(role_ref, ns, roles),
            _ => None,
        };
        let Some(role) = role else {
            continue;
        };
        let granted: Vec<String> = subjects
            .unwrap_or(&[])
            .iter()
            .filter(|s| !is_system_subject(s))
            .map(|s: &Subject| describe_subject(s, namespace))
            .collect();
        if granted.is_empty() {
            continue;
        }
        let scope = match namespace {
            Some(ns) => format!(" in namespace {ns}"),
            None => String::new(),
        };
        out.push(Finding::new(
            Level::Warn,
            Some(object),
            format!("grants {role}{scope} to {}", granted.join(", ")),
        ));
    }
    Ok(out)
}

/// `cluster-admin`, or `ClusterRole NAME (every verb on every resource, like cluster-admin)`
/// for a ClusterRole of the scan equivalent to it.
fn admin_cluster_role(role_ref: &RoleRef, cluster_roles: &Items<ClusterRole>) -> Option<String> {
    if role_ref.name == "cluster-admin" {
        return Some("cluster-admin".to_string());
    }
    let role = find_cluster_role(cluster_roles, &role_ref.name)?;
    let verbs = all_resources_verbs(role.rules.as_deref().unwrap_or(&[]))?;
    Some(format!(
        "ClusterRole {} ({verbs} on every resource, like cluster-admin)",
        role_ref.name
    ))
}

/// `Role NS/NAME (every verb on every resource: admin of its namespace)` for a Role of the scan, in
/// the binding's namespace, equivalent to cluster-admin there.
fn admin_role(role_ref: &RoleRef, namespace: &str, roles: &Items<Role>) -> Option<String> {
    let role = roles.iter().find(|r| {
        r.metadata.name.as_deref() == Some(role_ref.name.as_str())
            && r.namespace_or_default() == namespace
    })?;
    let verbs = all_resources_verbs(role.rules.as_deref().unwrap_or(&[]))?;
    Some(format!(
        "Role {namespace}/{} ({verbs} on every resource: admin of its namespace)",
        role_ref.name
    ))
}

/// The read and write verbs of the API: a role allowing all of them on everything can do
/// what cluster-admin does, even without `*`.
const READ_WRITE_VERBS: &[&str] = &[
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
];

/// `every verb` (a `*` verb) or `every read and write verb` (each one listed) when the rules
/// over every API group and every resource, without `resourceNames`, allow them; else `None`.
fn all_resources_verbs(rules: &[PolicyRule]) -> Option<&'static str> {
    let star = |v: Option<&Vec<String>>| v.is_some_and(|v| v.iter().any(|s| s == "*"));
    let everything = rules.iter().filter(|r| {
        star(r.api_groups.as_ref())
            && star(r.resources.as_ref())
            && r.resource_names.as_ref().is_none_or(|n| n.is_empty())
    });
    let verbs: Vec<&str> = everything
        .flat_map(|r| r.verbs.iter().map(String::as_str))
        .collect();
    if verbs.contains(&"*") {
        Some("every verb")
    } else if READ_WRITE_VERBS.iter().all(|v| verbs.contains(v)) {
        Some("every read and write verb")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{finding_pairs, run_fixture};

    #[test]
    fn names_the_binding_and_its_subjects() {
        let report = run_fixture("cluster_admin_binding", "fail.yaml");
        let got = finding_pairs(&report);
        assert_eq!(
            got,
            vec![(
                "ClusterRoleBinding/longhorn-support-bundle".to_string(),
                "grants cluster-admin to ServiceAccount longhorn-system/longhorn-support-bundle"
            )]
        );
        let report = run_fixture("cluster_admin_binding", "fail_equivalent.yaml");
        assert_eq!(
            report.findings[0].message,
            "grants ClusterRole argocd-application-controller (every verb on every resource, like cluster-admin) to ServiceAccount argocd/argocd-application-controller"
        );
        assert!(run_fixture("cluster_admin_binding", "pass.json").passed);
    }

    #[test]
    fn every_read_and_write_verb_listed_is_cluster_admin() {
        let report = run_fixture("cluster_admin_binding", "fail_listed_verbs.yaml");
        assert_eq!(
            finding_pairs(&report),
            vec![(
                "ClusterRoleBinding/platform-operator".to_string(),
                "grants ClusterRole platform-operator (every read and write verb on every resource, like cluster-admin) to ServiceAccount platform/platform-operator"
            )]
        );
        let report = run_fixture("cluster_admin_binding", "pass_partial_verbs.yaml");
        assert!(report.passed, "{:?}", finding_pairs(&report));
    }

    #[test]
    fn a_binding_to_a_namespaced_admin_role_is_admin_of_that_namespace() {
        let report = run_fixture("cluster_admin_binding", "fail_namespaced_role.yaml");
        assert_eq!(
            finding_pairs(&report),
            vec![
                (
                    "RoleBinding/ci/deployer".to_string(),
                    "grants Role ci/deployer (every read and write verb on every resource: admin of its namespace) in namespace ci to ServiceAccount ci/runner, Group ci-admins"
                ),
                (
                    "RoleBinding/tools/full".to_string(),
                    "grants Role tools/full (every verb on every resource: admin of its namespace) in namespace tools to User alice"
                ),
            ]
        );
    }
}
