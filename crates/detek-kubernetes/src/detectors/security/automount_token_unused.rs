use super::{
    bindings_for_service_account, checked_pod_specs, is_builtin_rbac, is_mirror_pod,
    service_account_name,
};
use crate::prelude::*;

/// ## What it detects
/// Pods and workload templates that mount the API token of their ServiceAccount although no
/// RoleBinding or ClusterRoleBinding in the scan grants that account anything (directly, or
/// through the groups `system:serviceaccounts`, `system:serviceaccounts:<namespace>` or
/// `system:authenticated`; the built-in discovery bindings do not count). The token is
/// mounted when neither the pod nor the ServiceAccount sets
/// `automountServiceAccountToken: false`.
///
/// To be sure, the detector only judges accounts defined in the scan, and only when the scan
/// has RBAC bindings at all (a set of manifests without any RBAC says nothing about what is
/// granted elsewhere). The `default` account is left to `default_service_account`, static
/// (mirror) Pods are skipped. Real Pods are checked when the scan has any, workload templates
/// otherwise.
///
/// ## Why it matters
/// A token that grants nothing today is still a credential: it authenticates to the API
/// server as the account (and to anything that trusts Kubernetes tokens: Vault, cloud IAM
/// federation, service meshes), and it grants whatever someone binds to the account later. An
/// intruder in the Pod reads it from `/var/run/secrets/kubernetes.io/serviceaccount/token`.
/// Not mounting it is free for workloads that never call the API.
///
/// ## How to fix
/// Set `automountServiceAccountToken: false` on the ServiceAccount (or the pod template).
/// Check what the account may do with
/// `kubectl auth can-i --list --as=system:serviceaccount:NS:NAME -n NS`. If the token is used
/// for something other than RBAC (Vault's Kubernetes auth, TokenReview by another service),
/// suppress with `detek.io/ignore: automount_token_unused`.
///
/// ## Example
/// ```yaml
/// kind: ServiceAccount
/// metadata: {name: frontend}
/// # no RoleBinding names it, and the Deployment below mounts its token: fires
/// ---
/// kind: Deployment
/// spec:
///   template:
///     spec:
///       serviceAccountName: frontend
/// ```
#[detector(
    id = "automount_token_unused",
    title = "Pods mounting a ServiceAccount token that grants nothing",
    labels = ["kubernetes", "security", "pod", "rbac"],
    level = Warn,
    requires = [POD_SPECS, SERVICE_ACCOUNTS, ROLE_BINDINGS, CLUSTER_ROLE_BINDINGS],
    references = [
        "https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/#opt-out-of-api-credential-automounting",
    ],
)]
pub struct AutomountTokenUnused;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let specs = checked_pod_specs(ctx.get(&POD_SPECS)?);
    let accounts = ctx.get(&SERVICE_ACCOUNTS)?;
    let role_bindings = ctx.get(&ROLE_BINDINGS)?;
    let cluster_role_bindings = ctx.get(&CLUSTER_ROLE_BINDINGS)?;
    let has_rbac = role_bindings.iter().any(|b| !is_builtin_rbac(&b.metadata))
        || cluster_role_bindings
            .iter()
            .any(|b| !is_builtin_rbac(&b.metadata));
    if !has_rbac {
        return Ok(Outcome::new().evaluated(0));
    }
    let mut out = Outcome::new().evaluated(specs.len());
    for view in &specs {
        let name = service_account_name(view);
        if is_mirror_pod(view)
            || name == "default"
            || view.spec().automount_service_account_token == Some(false)
        {
            continue;
        }
        let namespace = view.namespace();
        let Some(account) = accounts
            .iter()
            .find(|a| a.name() == name && a.namespace_or_default() == namespace)
        else {
            continue;
        };
        if account.automount_service_account_token == Some(false) {
            continue;
        }
        if !bindings_for_service_account(namespace, name, role_bindings, cluster_role_bindings)
            .is_empty()
        {
            continue;
        }
        out.push(
            Finding::new(
                Level::Warn,
                Some(view.object_ref()),
                format!(
                    "mounts the API token of ServiceAccount {namespace}/{name}, which no RoleBinding or ClusterRoleBinding in the scan grants anything"
                ),
            )
            .with_revision_of(view)
            .with_evidence("automountServiceAccountToken is not false on the pod or the ServiceAccount"),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::{finding_pairs, run_fixture};

    #[test]
    fn names_pods_with_an_unneeded_token() {
        let report = run_fixture("automount_token_unused", "fail.yaml");
        let got = finding_pairs(&report);
        assert_eq!(
            got,
            vec![(
                "Deployment/longhorn-system/longhorn-ui".to_string(),
                "mounts the API token of ServiceAccount longhorn-system/longhorn-ui-service-account, which no RoleBinding or ClusterRoleBinding in the scan grants anything"
            )]
        );
        assert!(run_fixture("automount_token_unused", "pass.yaml").passed);
        assert!(run_fixture("automount_token_unused", "pass_no_rbac.yaml").passed);
    }
}
