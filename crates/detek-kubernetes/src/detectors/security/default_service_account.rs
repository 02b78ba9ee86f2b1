use super::{checked_pod_specs, is_mirror_pod, service_account_name};
use crate::prelude::*;
use k8s_openapi::api::core::v1::ServiceAccount;
use std::collections::HashMap;

/// ## What it detects
/// Pods and workload templates that run as their namespace's `default` ServiceAccount (no
/// `serviceAccountName`, or `serviceAccountName: default`) with its API token mounted: the
/// pod does not set `automountServiceAccountToken: false`, and neither does the `default`
/// ServiceAccount of its namespace when the scan has it. Static (mirror) Pods are skipped:
/// they never get a token. Real Pods are checked when the scan has any, workload templates
/// otherwise.
///
/// ## Why it matters
/// Every Pod of the namespace that does not choose an account shares `default`, so any
/// permission granted to it (a RoleBinding added "just to make it work", a Helm chart that
/// binds `default`) silently goes to all of them, and an intruder in any one Pod gets the
/// token of all. Most applications never call the Kubernetes API and need no token at all.
///
/// ## How to fix
/// Give each workload its own ServiceAccount with only the Roles it needs
/// (`kubectl create serviceaccount web -n NS`, then `serviceAccountName: web`), and turn the
/// token off where the API is not used: `automountServiceAccountToken: false` on the Pod, or
/// once for the namespace with
/// `kubectl patch serviceaccount default -n NS -p '{"automountServiceAccountToken": false}'`.
/// Check what `default` can do with
/// `kubectl auth can-i --list --as=system:serviceaccount:NS:default -n NS`.
///
/// ## Example
/// ```yaml
/// spec:
///   # no serviceAccountName: runs as "default", fires
///   containers: [...]
/// ```
#[detector(
    id = "default_service_account",
    title = "Pods running as the default ServiceAccount with its token mounted",
    labels = ["kubernetes", "security", "pod", "rbac"],
    level = Warn,
    requires = [POD_SPECS, SERVICE_ACCOUNTS],
    references = [
        "https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/",
        "https://kubernetes.io/docs/concepts/security/service-accounts/#default-service-accounts",
    ],
)]
pub struct DefaultServiceAccount;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let specs = checked_pod_specs(ctx.get(&POD_SPECS)?);
    // The first ServiceAccount named default of each namespace (one lookup per pod spec).
    let mut default_accounts: HashMap<&str, &Item<ServiceAccount>> = HashMap::new();
    for a in ctx.get(&SERVICE_ACCOUNTS)? {
        if a.name() == "default" {
            default_accounts
                .entry(a.namespace_or_default())
                .or_insert(a);
        }
    }
    let mut out = Outcome::new().evaluated(specs.len());
    for view in &specs {
        if is_mirror_pod(view) || service_account_name(view) != "default" {
            continue;
        }
        let namespace = view.namespace();
        let evidence = match view.spec().automount_service_account_token {
            Some(false) => continue,
            Some(true) => "automountServiceAccountToken: true on the pod".to_string(),
            None => {
                let account = default_accounts.get(namespace);
                match account.and_then(|a| a.automount_service_account_token) {
                    Some(false) => continue,
                    Some(true) => format!(
                        "ServiceAccount {namespace}/default sets automountServiceAccountToken: true"
                    ),
                    None => {
                        "automountServiceAccountToken is not set (mounted by default)".to_string()
                    }
                }
            }
        };
        let how = if view
            .spec()
            .service_account_name
            .as_deref()
            .is_some_and(|s| !s.is_empty())
            || view
                .spec()
                .service_account
                .as_deref()
                .is_some_and(|s| !s.is_empty())
        {
            "serviceAccountName is default"
        } else {
            "no serviceAccountName"
        };
        out.push(
            Finding::new(
                Level::Warn,
                Some(view.object_ref()),
                format!(
                    "runs as the \"default\" ServiceAccount ({how}) with its API token mounted"
                ),
            )
            .with_revision_of(view)
            .with_evidence(evidence),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture;

    #[test]
    fn names_pods_using_the_default_account() {
        let report = run_fixture("default_service_account", "fail.yaml");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "Deployment/frontend"
        );
        assert_eq!(
            f.message,
            "runs as the \"default\" ServiceAccount (no serviceAccountName) with its API token mounted"
        );
        assert_eq!(
            f.evidence,
            vec!["automountServiceAccountToken is not set (mounted by default)"]
        );
        assert!(run_fixture("default_service_account", "pass.yaml").passed);
        assert!(run_fixture("default_service_account", "pass_account_opts_out.yaml").passed);
    }
}
