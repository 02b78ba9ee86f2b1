use crate::detectors::helpers::grade_references;
use crate::prelude::*;
use std::collections::HashMap;

/// ## What it detects
/// Ingresses whose `spec.tls[].secretName` names a Secret that does not exist in the Ingress's
/// namespace, or one that exists but holds no `tls.crt` (another type of Secret). Only judged
/// when the scan contains Secrets: plain manifests usually leave Secrets out, and the detector
/// then says so in a note. In manifests, Ingresses annotated for cert-manager
/// (`cert-manager.io/issuer`, `cert-manager.io/cluster-issuer`, `kubernetes.io/tls-acme:
/// "true"`) are skipped: cert-manager
/// creates the Secret after they are applied. On a live cluster they are judged, since by then
/// the Secret should exist.
///
/// ## Why it matters
/// The ingress controller cannot load a certificate that is not there. ingress-nginx logs
/// `Error getting SSL certificate "NS/NAME": local SSL certificate NS/NAME was not found` and
/// serves its self-signed "Kubernetes Ingress Controller Fake Certificate" for the host:
/// browsers and API clients reject the connection. Other controllers drop the TLS host or the
/// whole Ingress.
///
/// ## How to fix
/// Create the Secret in the Ingress's namespace (`kubectl create secret tls NAME -n NS
/// --cert=tls.crt --key=tls.key`) or fix the name in `spec.tls`. Secrets are not shared across
/// namespaces. With cert-manager, `kubectl describe certificate -n NS` and `kubectl get
/// certificaterequests,orders,challenges -n NS` show why the Secret was never issued.
///
/// ## Example
/// ```yaml
/// kind: Ingress
/// metadata: {name: shop, namespace: shop}
/// spec:
///   tls:
///   - hosts: [shop.example.com]
///     secretName: shop-tls        # fires: no Secret shop/shop-tls
/// ```
#[detector(
    id = "ingress_tls_secret_missing",
    title = "Ingresses whose TLS Secret does not exist",
    labels = ["kubernetes", "networking", "ingress", "certificates"],
    level = Error,
    requires = [INGRESSES, SECRETS, CLUSTER_INFO],
    references = [
        "https://kubernetes.io/docs/concepts/services-networking/ingress/#tls",
        "https://cert-manager.io/docs/usage/ingress/",
    ],
)]
pub struct IngressTlsSecretMissing;

/// Annotations that make cert-manager (its ingress-shim) create the Secret of an Ingress.
const CERT_MANAGER_ANNOTATIONS: &[&str] = &[
    "cert-manager.io/issuer",
    "cert-manager.io/cluster-issuer",
    "kubernetes.io/tls-acme",
];

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let ingresses = ctx.get(&INGRESSES)?;
    let secrets = ctx.get(&SECRETS)?;
    let info = ctx.get(&CLUSTER_INFO)?;
    let with_tls: Vec<_> = ingresses
        .iter()
        .filter(|i| {
            i.spec
                .as_ref()
                .is_some_and(|s| s.tls.as_ref().is_some_and(|t| !t.is_empty()))
        })
        .collect();
    if secrets.is_empty() && !with_tls.is_empty() {
        let mut out = Outcome::new()
            .evaluated(0)
            .not_judged("the scan has no Secrets");
        out.attach(
            "Not judged: the scan has no Secrets",
            serde_json::json!({
                "reason": "manifests usually leave Secrets out; scan the cluster or include them",
                "ingresses_with_tls": with_tls.len(),
            }),
        );
        return Ok(out);
    }
    let by_name: HashMap<(&str, &str), &Item<SecretInfo>> = secrets
        .iter()
        .map(|s| ((s.namespace_or_default(), s.name()), s.as_ref()))
        .collect();
    let mut out = Outcome::new().evaluated(with_tls.len());
    let mut left_to_cert_manager = Vec::new();
    for ingress in with_tls {
        let namespace = ingress.namespace_or_default();
        let cert_manager = ingress
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| {
                CERT_MANAGER_ANNOTATIONS
                    .iter()
                    .find_map(|k| a.get(*k).map(|v| (*k, v)))
            })
            .filter(|(k, v)| *k != "kubernetes.io/tls-acme" || v.as_str() == "true");
        let tls = ingress
            .spec
            .as_ref()
            .and_then(|s| s.tls.as_ref())
            .into_iter()
            .flatten();
        for entry in tls {
            let Some(name) = entry.secret_name.as_deref().filter(|n| !n.is_empty()) else {
                continue; // no secretName: the controller's default certificate, by design
            };
            let hosts = entry.hosts.as_deref().unwrap_or(&[]).join(", ");
            let message = match by_name.get(&(namespace, name)) {
                None => {
                    if let Some((key, issuer)) = cert_manager
                        && !info.live
                    {
                        left_to_cert_manager.push(format!(
                            "{namespace}/{} → {name} ({key}: {issuer})",
                            ingress.name()
                        ));
                        continue;
                    }
                    let mut m =
                        format!("TLS Secret {name:?} does not exist in namespace {namespace}");
                    if !hosts.is_empty() {
                        m.push_str(&format!(
                            ": {hosts} will be served with the controller's default certificate"
                        ));
                    }
                    m
                }
                Some(secret) => {
                    let has_cert =
                        secret.keys.iter().any(|k| k == "tls.crt") || secret.certificate.is_some();
                    let unknown_keys =
                        info.secrets_metadata_only && secret.type_ != "kubernetes.io/tls";
                    if has_cert || unknown_keys {
                        continue;
                    }
                    format!(
                        "Secret {name:?} (type {}) has no tls.crt: the controller cannot use it as a certificate",
                        secret.type_
                    )
                }
            };
            let mut finding = Finding::new(Level::Error, Some(ingress.object_ref()), message);
            if let Some((key, issuer)) = cert_manager {
                finding = finding.with_evidence(format!(
                    "{key}: {issuer}: cert-manager should have created it; see `kubectl describe certificate -n {namespace}`"
                ));
            }
            out.push(finding);
        }
    }
    if !left_to_cert_manager.is_empty() {
        out.attach(
            "Not judged: Secrets that cert-manager creates once the manifests are applied",
            serde_json::json!(left_to_cert_manager),
        );
    }
    Ok(grade_references(out, ctx.get(&CLUSTER_INFO)?, Level::Error))
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture;

    #[test]
    fn names_the_ingress_and_the_missing_secret() {
        let report = run_fixture("ingress_tls_secret_missing", "fail.yaml");
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "Ingress/default/ing2"
        );
        assert_eq!(
            f.message,
            "TLS Secret \"foo\" does not exist in namespace default"
        );

        let report = run_fixture("ingress_tls_secret_missing", "fail-wrong-type.yaml");
        let messages: Vec<_> = report.findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            vec![
                "TLS Secret \"shop-tls\" does not exist in namespace shop: shop.example.com will be served with the controller's default certificate",
                "Secret \"db-credentials\" (type Opaque) has no tls.crt: the controller cannot use it as a certificate",
            ]
        );
    }

    #[test]
    fn passes_existing_secrets_cert_manager_and_scans_without_secrets() {
        assert!(run_fixture("ingress_tls_secret_missing", "pass.yaml").passed);
        let report = run_fixture("ingress_tls_secret_missing", "pass-no-secrets.yaml");
        assert!(report.passed);
        assert!(
            report
                .attachment
                .iter()
                .any(|a| a.description == "Not judged: the scan has no Secrets")
        );
    }
}
