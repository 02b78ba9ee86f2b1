use super::{Scope, not_judged, spec_namespace, specs_to_check, summaries_of};
use crate::detectors::helpers::grade_references;
use crate::prelude::*;
use std::collections::BTreeSet;

/// ## What it detects
/// Pods and workload templates whose `serviceAccountName` (or the deprecated
/// `serviceAccount`) names a ServiceAccount the scan does not contain in their namespace. The
/// `default` ServiceAccount, which every namespace has, is never reported. A Pod whose
/// controller's template is in the scan is checked through that template, once.
///
/// It judges only when the scan contains ServiceAccounts: a manifest set without any cannot
/// tell (the report then says so in a note); in a dump (not a live scan), only namespaces
/// holding at least one ServiceAccount are judged.
///
/// ## Why it matters
/// The API server refuses to create a Pod whose ServiceAccount does not exist. A Deployment,
/// DaemonSet or Job with such a template creates no Pods at all; its events say
/// `FailedCreate: ... service account NS/NAME was not found, retry after the service account is
/// created`, and nothing else shows the outage. It happens when the RBAC part of an install is
/// applied after (or without) the workloads, or when a chart's ServiceAccount is disabled.
///
/// ## How to fix
/// Create the ServiceAccount (with the RBAC the workload needs) in the workload's namespace, or
/// fix the name: `kubectl get serviceaccount -n NS`,
/// `kubectl create serviceaccount NAME -n NS`. `kubectl describe rs -n NS` shows the
/// `FailedCreate` events.
///
/// ## Example
/// ```yaml
/// kind: Deployment
/// metadata: {name: calico-kube-controllers, namespace: kube-system}
/// spec:
///   template:
///     spec:
///       serviceAccountName: calico-kube-controllers   # fires when the SA is not in kube-system
/// ```
#[detector(
    id = "missing_service_account",
    title = "Pods running as ServiceAccounts that do not exist",
    labels = ["kubernetes", "references", "rbac"],
    level = Error,
    requires = [POD_SPECS, OBJECTS, CLUSTER_INFO],
    references = ["https://kubernetes.io/docs/concepts/security/service-accounts/"],
)]
pub struct MissingServiceAccount;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let objects = ctx.get(&OBJECTS)?;
    let index = summaries_of(objects, "ServiceAccount");
    let scope = Scope::of_kind(ctx.get(&CLUSTER_INFO)?.live, objects, "ServiceAccount");
    if scope.is_empty() {
        return Ok(not_judged("ServiceAccounts"));
    }
    let specs = specs_to_check(ctx)?;
    let mut out = Outcome::new();
    let mut evaluated = 0;
    let mut skipped: BTreeSet<&str> = BTreeSet::new();
    for view in &specs {
        let namespace = spec_namespace(view);
        if !scope.covers(namespace) {
            skipped.insert(namespace.unwrap_or("default"));
            continue;
        }
        evaluated += 1;
        let Some(name) = view
            .spec()
            .service_account_name
            .as_deref()
            .or(view.spec().service_account.as_deref())
            .filter(|n| !n.is_empty() && *n != "default")
        else {
            continue;
        };
        if index.find(namespace, name).is_some() {
            continue;
        }
        let ns_text = namespace
            .map(|n| format!(" in namespace {n}"))
            .unwrap_or_default();
        out.push(Finding::new(
            Level::Error,
            Some(view.object_ref()),
            format!("ServiceAccount {name:?} not found{ns_text}: Pods using it cannot be created"),
        ));
    }
    out.evaluated = Some(evaluated);
    Scope::note(&mut out, "ServiceAccounts", &skipped);
    Ok(grade_references(out, ctx.get(&CLUSTER_INFO)?, Level::Error))
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture;

    #[test]
    fn names_the_workload_and_its_missing_account() {
        let report = run_fixture("missing_service_account", "fail.yaml");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "Deployment/monitoring/blackbox-exporter"
        );
        assert_eq!(
            f.message,
            "ServiceAccount \"blackbox-exporter\" not found in namespace monitoring: Pods using it cannot be created"
        );
    }

    #[test]
    fn present_and_default_accounts_pass() {
        assert!(run_fixture("missing_service_account", "pass.yaml").passed);
        let report = run_fixture("missing_service_account", "pass_no_accounts.yaml");
        assert!(report.passed);
        assert_eq!(report.evaluated, Some(0));
    }

    #[test]
    fn a_dump_of_other_namespaces_does_not_judge_this_one() {
        let report = run_fixture("missing_service_account", "pass_partial_dump.yaml");
        assert!(report.passed);
        assert_eq!(report.evaluated, Some(0));
        let note = report
            .attachment
            .iter()
            .find(|a| a.description.starts_with("not judged"))
            .unwrap();
        assert_eq!(note.data, serde_json::json!(["monitoring"]));
    }
}
