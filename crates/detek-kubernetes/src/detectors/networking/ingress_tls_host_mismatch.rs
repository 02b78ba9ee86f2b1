use crate::prelude::*;
use std::collections::HashMap;

/// ## What it detects
/// Ingress TLS hosts that the certificate in their Secret does not cover: a host in
/// `spec.tls[].hosts` that matches none of the certificate's DNS names (subject alternative
/// names; `*.example.com` covers exactly one label, `a.example.com` but not `example.com` or
/// `a.b.example.com`). Certificates without any DNS name are reported too: clients ignore the
/// subject CN. Only Secrets in the scan with a readable `tls.crt` are checked (missing Secrets
/// are `ingress_tls_secret_missing`'s, expired certificates `tls_secret_expired`'s).
///
/// ## Why it matters
/// The controller serves the certificate for the host anyway, and every client refuses it:
/// browsers show `NET::ERR_CERT_COMMON_NAME_INVALID`, curl `no alternative certificate subject
/// name matches target host name`, Go and Java clients fail the handshake. Typical causes: a
/// host added to the Ingress but not to the certificate request, a wildcard expected to cover
/// the apex or a second level, or two Ingresses sharing the wrong Secret.
///
/// ## How to fix
/// Read the names: `kubectl get secret NAME -n NS -o jsonpath='{.data.tls\.crt}' | base64 -d |
/// openssl x509 -noout -ext subjectAltName`. Reissue the certificate with every host of the
/// Ingress (with cert-manager, the Certificate's `dnsNames`, or the Ingress's `tls.hosts` when
/// ingress-shim creates it), or point the TLS entry at the Secret that has them.
///
/// ## Example
/// ```yaml
/// kind: Ingress
/// spec:
///   tls:
///   - hosts: [shop.example.com]
///     secretName: api-tls       # fires: its certificate is for api.example.com only
/// ```
#[detector(
    id = "ingress_tls_host_mismatch",
    title = "Ingress TLS hosts not covered by their certificate",
    labels = ["kubernetes", "networking", "ingress", "certificates"],
    level = Error,
    requires = [INGRESSES, SECRETS],
    references = [
        "https://kubernetes.io/docs/concepts/services-networking/ingress/#tls",
        "https://www.rfc-editor.org/rfc/rfc6125#section-6.4.3",
    ],
)]
pub struct IngressTlsHostMismatch;

/// Does certificate name `pattern` (`api.example.com`, `*.example.com`) cover `host`?
pub(crate) fn name_covers(pattern: &str, host: &str) -> bool {
    let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if let Some(suffix) = pattern.strip_prefix("*.") {
        return host
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest == suffix);
    }
    pattern == host
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let ingresses = ctx.get(&INGRESSES)?;
    let secrets = ctx.get(&SECRETS)?;
    let certs: HashMap<(&str, &str), &CertificateFacts> = secrets
        .iter()
        .filter_map(|s| {
            let facts = s.certificate.as_ref()?.as_ref().ok()?;
            Some(((s.namespace_or_default(), s.name()), facts))
        })
        .collect();
    let mut out = Outcome::new();
    let mut checked = 0u64;
    for ingress in ingresses {
        let namespace = ingress.namespace_or_default();
        let tls = ingress
            .spec
            .as_ref()
            .and_then(|s| s.tls.as_ref())
            .into_iter()
            .flatten();
        for entry in tls {
            let Some(secret) = entry.secret_name.as_deref() else {
                continue;
            };
            let Some(facts) = certs.get(&(namespace, secret)) else {
                continue;
            };
            let hosts = entry.hosts.as_deref().unwrap_or(&[]);
            if hosts.is_empty() {
                continue;
            }
            checked += 1;
            let uncovered: Vec<&str> = hosts
                .iter()
                .map(String::as_str)
                .filter(|h| !facts.dns_names.iter().any(|n| name_covers(n, h)))
                .collect();
            if uncovered.is_empty() {
                continue;
            }
            let names = if facts.dns_names.is_empty() {
                format!(
                    "has no DNS names (subject {}; clients ignore the CN)",
                    facts.subject
                )
            } else {
                format!("covers only {}", facts.dns_names.join(", "))
            };
            out.push(
                Finding::new(
                    Level::Error,
                    Some(ingress.object_ref()),
                    format!(
                        "certificate in Secret {secret:?} {names}: clients reject TLS for {}",
                        uncovered.join(", ")
                    ),
                )
                .with_evidence(format!("issuer: {}", facts.issuer)),
            );
        }
    }
    out.evaluated = Some(checked);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::name_covers;
    use crate::testing::run_fixture;

    #[test]
    fn wildcards_cover_one_label() {
        assert!(name_covers("*.example.com", "a.example.com"));
        assert!(!name_covers("*.example.com", "example.com"));
        assert!(!name_covers("*.example.com", "a.b.example.com"));
        assert!(name_covers("API.example.com", "api.example.com."));
    }

    #[test]
    fn names_the_ingress_the_secret_and_the_uncovered_host() {
        let report = run_fixture("ingress_tls_host_mismatch", "fail.yaml");
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "Ingress/shop/shop"
        );
        assert_eq!(
            f.message,
            "certificate in Secret \"api-tls\" covers only api.example.com: clients reject TLS for shop.example.com"
        );
        assert!(run_fixture("ingress_tls_host_mismatch", "pass.yaml").passed);
    }
}
