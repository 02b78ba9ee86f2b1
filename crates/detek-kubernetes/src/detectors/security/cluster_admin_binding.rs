use super::{describe_subject, find_cluster_role, is_builtin_rbac, is_system_subject};
use crate::prelude::*;
use k8s_openapi::api::rbac::v1::{ClusterRole, RoleRef, Subject};

/// ## What it detects
/// ClusterRoleBindings and RoleBindings that grant `cluster-admin`, or a ClusterRole of the
/// scan that is equivalent to it (a rule with `*` in apiGroups, resources and verbs), to
/// anyone but Kubernetes' own users and groups. Subjects whose name starts with `system:`
/// (`system:masters`, `system:kube-controller-manager`...) are not reported; ServiceAccounts
/// always are, including those in `kube-system`. Kubernetes' default bindings (labelled
/// `kubernetes.io/bootstrapping: rbac-defaults`, or bearing a default name, like the
/// `cluster-admin` binding of `system:masters`; a `system:` prefix alone is not enough) are
/// skipped. A RoleBinding to `cluster-admin` grants full control of its
/// namespace only, and the message says so.
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
/// ```
#[detector(
    id = "cluster_admin_binding",
    title = "Bindings granting cluster-admin",
    labels = ["kubernetes", "security", "rbac"],
    level = Warn,
    requires = [ROLE_BINDINGS, CLUSTER_ROLE_BINDINGS, CLUSTER_ROLES],
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
        if is_builtin_rbac(metadata) || role_ref.kind != "ClusterRole" {
            continue;
        }
        let Some(role) = admin_role(role_ref, cluster_roles) else {
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
/// for a ClusterRole of the scan with a full wildcard rule.
fn admin_role(role_ref: &RoleRef, cluster_roles: &Items<ClusterRole>) -> Option<String> {
    if role_ref.name == "cluster-admin" {
        return Some("cluster-admin".to_string());
    }
    let role = find_cluster_role(cluster_roles, &role_ref.name)?;
    let all = |v: Option<&Vec<String>>| v.is_some_and(|v| v.iter().any(|s| s == "*"));
    let full =
        role.rules.iter().flatten().any(|r| {
            all(r.api_groups.as_ref()) && all(r.resources.as_ref()) && all(Some(&r.verbs))
        });
    full.then(|| {
        format!(
            "ClusterRole {} (every verb on every resource, like cluster-admin)",
            role_ref.name
        )
    })
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
}
