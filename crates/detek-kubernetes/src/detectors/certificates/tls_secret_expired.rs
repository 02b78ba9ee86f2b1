use super::{cert_evidence, cert_name, date, days_between, unix_seconds};
use crate::prelude::*;

/// ## What it detects
/// Secrets holding a `tls.crt` whose (leaf) certificate has expired: its `notAfter` is before
/// the time of the scan. A `tls.crt` that cannot be read at all (not base64, not PEM, not an
/// X.509 certificate, empty, truncated) is reported here too, at the same level: whatever
/// serves it is as broken as with an expired certificate. Only certificate facts are read
/// (subject, issuer, validity, DNS names); no Secret value ever reaches a report.
///
/// ## Why it matters
/// Clients refuse an expired certificate: browsers show a full-page warning, API clients and
/// service meshes fail the TLS handshake, webhooks and ingresses using the Secret stop
/// answering. Expired certificates are among the most common causes of outages that "nobody
/// changed anything" for.
///
/// ## How to fix
/// See the dates: `kubectl get secret NAME -n NS -o jsonpath='{.data.tls\.crt}' | base64 -d |
/// openssl x509 -noout -subject -enddate`. Renew the certificate and replace the Secret
/// (`kubectl create secret tls NAME -n NS --cert=new.crt --key=new.key --dry-run=client -o yaml
/// | kubectl apply -f -`). With cert-manager, `kubectl describe certificate -n NS` tells why
/// renewal failed; `cmctl renew NAME -n NS` retries. For an unreadable `tls.crt`, write the
/// whole PEM file again, from `-----BEGIN CERTIFICATE-----` to the end.
///
/// ## Example
/// ```yaml
/// kind: Secret
/// type: kubernetes.io/tls
/// metadata: {name: shop-tls, namespace: shop}
/// data:
///   tls.crt: LS0tLS1CRUdJTi...   # fires: notAfter 2020-03-01
/// ```
#[detector(
    id = "tls_secret_expired",
    title = "TLS Secrets with an expired or unreadable certificate",
    labels = ["kubernetes", "certificates", "secret"],
    level = Error,
    requires = [SECRETS],
    references = ["https://kubernetes.io/docs/concepts/configuration/secret/#tls-secrets"],
)]
pub struct TlsSecretExpired;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let secrets = ctx.get(&SECRETS)?;
    let now = unix_seconds(ctx.now);
    let with_certificate: Vec<_> = secrets
        .iter()
        .filter_map(|s| Some((s, s.certificate.as_ref()?)))
        .collect();
    let mut out = Outcome::new().evaluated(with_certificate.len());
    for (secret, certificate) in with_certificate {
        match certificate {
            Ok(facts) if facts.not_after < now => {
                let ago = days_between(facts.not_after, now);
                let mut finding = Finding::new(
                    Level::Error,
                    Some(secret.object_ref()),
                    format!(
                        "certificate {} expired {} ({ago} days ago)",
                        cert_name(facts),
                        date(facts.not_after)
                    ),
                );
                for e in cert_evidence(facts) {
                    finding = finding.with_evidence(e);
                }
                out.push(finding);
            }
            Ok(_) => {}
            Err(reason) => out.push(Finding::new(
                Level::Error,
                Some(secret.object_ref()),
                format!("unreadable certificate: {reason}"),
            )),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::{run_fixture, run_fixture_at};
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn names_the_secret_the_subject_and_the_expiry_date() {
        // 2020-03-11T00:00:00Z: ten days after notAfter.
        let now = UNIX_EPOCH + Duration::from_secs(1_583_884_800);
        let report = run_fixture_at("tls_secret_expired", "fail.yaml", now);
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "Secret/shop/shop-tls"
        );
        assert_eq!(
            f.message,
            "certificate CN=shop.example.com, O=detek fixtures expired 2020-03-01 (10 days ago)"
        );
        assert!(
            f.evidence
                .contains(&"DNS names: shop.example.com".to_string()),
            "{:?}",
            f.evidence
        );
        assert!(
            f.evidence
                .contains(&"valid from 2019-01-01 to 2020-03-01".to_string()),
            "{:?}",
            f.evidence
        );
        // The day before it expired, it passes.
        let before = UNIX_EPOCH + Duration::from_secs(1_582_934_400); // 2020-02-29
        assert!(run_fixture_at("tls_secret_expired", "fail.yaml", before).passed);
    }

    #[test]
    fn an_unreadable_certificate_is_reported_without_its_content() {
        let report = run_fixture("tls_secret_expired", "fail-unreadable.yaml");
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        let f = &report.findings[0];
        assert_eq!(f.object.as_ref().unwrap().name, "api-tls");
        assert_eq!(
            f.message,
            "unreadable certificate: tls.crt is not a PEM certificate: Parsing Error: IncompletePEM"
        );
        assert!(!f.message.contains("MIIB"), "{}", f.message);
        assert!(run_fixture("tls_secret_expired", "pass.yaml").passed);
    }
}
