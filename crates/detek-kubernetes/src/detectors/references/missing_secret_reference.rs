use super::{NameIndex, Scope, Target, check_references, not_judged, secrets_in, specs_to_check};
use crate::detectors::helpers::grade_references;
use crate::prelude::*;

/// ## What it detects
/// Pods and workload templates that reference a Secret the scan does not contain, or a key the
/// Secret does not have: `secret` and projected volumes (with their `items`),
/// `envFrom.secretRef`, `env[].valueFrom.secretKeyRef` of init and regular containers, and
/// `imagePullSecrets`. References marked `optional: true` are fine. A Pod whose controller's
/// template is in the scan is checked through that template, once.
///
/// It judges only when the scan contains Secrets: dumps and manifest sets often leave Secrets
/// out on purpose, and then nothing can be told (the report says so in a note); in a dump (not
/// a live scan), only namespaces holding at least one Secret are judged. A Secret that
/// a controller will write for an object of the scan counts as present: a cert-manager
/// `Certificate`'s `spec.secretName`, an `ExternalSecret`'s target, a `SealedSecret`. Keys are not
/// checked for Secrets collected as metadata only (live scans), whose key names are unknown.
/// The legacy token Secrets of a ServiceAccount (`<serviceaccount>-token-<suffix>`), created
/// by the token controller, are taken as present. detek never reads a Secret's values, only
/// its name and key names.
///
/// ## Why it matters
/// A missing Secret blocks the Pod: an env reference leaves it in `CreateContainerConfigError`,
/// a volume in `ContainerCreating` with `FailedMount` events. A missing image pull Secret makes
/// private image pulls fail with `ErrImagePull`/`ImagePullBackOff` (the kubelet only logs a
/// warning and pulls anonymously). Typical causes: a Secret created by hand in one cluster and
/// never in the next, a rename, an external-secrets/sealed-secrets sync that failed.
///
/// ## How to fix
/// Create the Secret in the Pod's namespace (or fix the sync that should create it), or fix the
/// name or key: `kubectl get secret NAME -n NS` shows whether it exists,
/// `kubectl describe pod POD -n NS` shows the kubelet's error. Mark it `optional: true` if the
/// workload really runs without it.
///
/// ## Example
/// ```yaml
/// spec:
///   imagePullSecrets:
///   - name: registry-creds            # fires when no Secret registry-creds exists
///   containers:
///   - name: app
///     env:
///     - name: DB_PASSWORD
///       valueFrom:
///         secretKeyRef: {name: db, key: password}   # fires when Secret db has no key password
/// ```
#[detector(
    id = "missing_secret_reference",
    title = "Pods referencing Secrets (or keys) that do not exist",
    labels = ["kubernetes", "references", "secret"],
    level = Error,
    requires = [POD_SPECS, SECRETS, CLUSTER_INFO, OBJECTS],
    references = ["https://kubernetes.io/docs/concepts/configuration/secret/"],
)]
pub struct MissingSecretReference;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let secrets = ctx.get(&SECRETS)?;
    let objects = ctx.get(&OBJECTS)?;
    let present = secrets_in(objects);
    let live = ctx.get(&CLUSTER_INFO)?.live;
    let scope = Scope::new(
        live,
        objects
            .iter()
            .filter(|o| o.kind.as_ref() == "Secret" || o.makes_secret.is_some())
            .map(|o| o.namespace.as_deref()),
    );
    if scope.is_empty() {
        return Ok(not_judged("Secrets"));
    }
    let metadata_only = ctx.get(&CLUSTER_INFO)?.secrets_metadata_only;
    let specs = specs_to_check(ctx)?;
    let index = NameIndex::new(
        secrets
            .iter()
            .map(|s| (s.namespace(), s.name(), s.as_ref())),
    );
    let find = |namespace: Option<&str>, name: &str| match index.find(namespace, name) {
        Some(s) => {
            let keys_unknown = s.keys.is_empty() && metadata_only && s.type_ != "kubernetes.io/tls";
            Some((!keys_unknown).then(|| s.keys.iter().map(String::as_str).collect::<Vec<_>>()))
        }
        None => present.find(namespace, name).map(|_| None),
    };
    let skip = |view: &PodSpecView, name: &str| is_service_account_token(view, name);
    let out = check_references(
        &specs,
        &scope,
        Target::Secret,
        "Secret",
        "Secrets",
        Level::Error,
        &find,
        &skip,
    );
    Ok(grade_references(out, ctx.get(&CLUSTER_INFO)?, Level::Error))
}

/// `default-token-x7k2p` for a Pod running as `default`: the legacy token Secret the token
/// controller creates for a ServiceAccount (mounted into Pods of clusters before 1.24).
fn is_service_account_token(view: &PodSpecView, name: &str) -> bool {
    let account = view
        .spec()
        .service_account_name
        .as_deref()
        .or(view.spec().service_account.as_deref())
        .filter(|a| !a.is_empty())
        .unwrap_or("default");
    name.strip_prefix(account)
        .and_then(|rest| rest.strip_prefix("-token-"))
        .is_some_and(|suffix| {
            !suffix.is_empty() && suffix.chars().all(|c| c.is_ascii_alphanumeric())
        })
}

#[cfg(test)]
mod tests {
    use crate::testing::{finding_lines, run_fixture};

    #[test]
    fn names_the_pod_and_the_missing_secrets() {
        let report = run_fixture("missing_secret_reference", "fail.yaml");
        let messages: Vec<_> = finding_lines(&report);
        assert_eq!(
            messages,
            vec![
                "Deployment/shop/api: Secret \"registry-creds\" not found in namespace shop (referenced by imagePullSecrets)",
                "Deployment/shop/api: Secret \"db\" has no key \"password\" (referenced by env DB_PASSWORD of container \"api\")",
            ]
        );
    }

    #[test]
    fn present_optional_and_token_secrets_pass() {
        assert!(run_fixture("missing_secret_reference", "pass.yaml").passed);
        let report = run_fixture("missing_secret_reference", "pass_no_secrets.yaml");
        assert!(report.passed);
        assert_eq!(report.evaluated, Some(0));
        assert!(run_fixture("missing_secret_reference", "pass_optional.yaml").passed);
    }

    #[test]
    fn real_manifests_missing_a_file_report_the_secret() {
        // kube-prometheus's Grafana without grafana-dashboardDatasources.yaml.
        let report = run_fixture("missing_secret_reference", "fail_grafana.yaml");
        let messages: Vec<_> = report.findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            vec![
                "Secret \"grafana-datasources\" not found in namespace monitoring (referenced by volume \"grafana-datasources\")"
            ]
        );
    }
}
