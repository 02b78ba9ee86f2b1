use super::{cert_evidence, cert_name, date, days_between, unix_seconds};
use crate::prelude::*;

/// ## What it detects
/// Secrets holding a `tls.crt` whose (leaf) certificate is still valid but expires within
/// `days` days of the scan (a setting, default 30). Expired certificates and
/// `tls.crt` values that cannot be read are `tls_secret_expired`'s findings, not this one's.
/// Only certificate facts are read; no Secret value ever reaches a report.
///
/// ## Why it matters
/// In a few days every client will refuse the certificate, with the same outage as an expired
/// one. A certificate this close to expiry that is managed by cert-manager or another tool
/// should already have been renewed (cert-manager renews at two thirds of the lifetime by
/// default): its renewal is probably failing.
///
/// ## How to fix
/// Check the dates: `kubectl get secret NAME -n NS -o jsonpath='{.data.tls\.crt}' | base64 -d
/// | openssl x509 -noout -subject -enddate`. Renew and replace the Secret before the date; with
/// cert-manager, `kubectl describe certificate -n NS` and `kubectl get certificaterequests -n
/// NS` show why the renewal is stuck. Change the window with the setting `days`
/// (`detectors: {tls_secret_expiring: {days: 14}}` in `detek.yaml`).
///
/// ## Example
/// ```yaml
/// kind: Secret
/// type: kubernetes.io/tls
/// metadata: {name: api-tls, namespace: shop}
/// data:
///   tls.crt: LS0tLS1CRUdJTi...   # fires 30 days before its notAfter
/// ```
#[detector(
    id = "tls_secret_expiring",
    title = "TLS Secrets whose certificate expires soon",
    labels = ["kubernetes", "certificates", "secret"],
    level = Warn,
    requires = [SECRETS],
    references = ["https://cert-manager.io/docs/usage/certificate/#renewal"],
    settings = TlsSecretExpiringSettings,
)]
pub struct TlsSecretExpiring;

/// Settings of `tls_secret_expiring`.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct TlsSecretExpiringSettings {
    /// Certificates expiring within this many days of the scan are reported (below 0: 0).
    #[setting(default = 30)]
    pub days: i64,
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let secrets = ctx.get(&SECRETS)?;
    let now = unix_seconds(ctx.now);
    let settings: TlsSecretExpiringSettings = ctx.settings_of()?;
    let days = settings.days.max(0);
    let horizon = now.saturating_add(days.saturating_mul(86_400));
    let with_certificate: Vec<_> = secrets
        .iter()
        .filter_map(|s| Some((s, s.certificate.as_ref()?.as_ref().ok()?)))
        .collect();
    let mut out = Outcome::new().evaluated(with_certificate.len());
    for (secret, facts) in with_certificate {
        if facts.not_after < now || facts.not_after >= horizon {
            continue;
        }
        let left = days_between(now, facts.not_after);
        let when = match left {
            0 => "today".to_string(),
            1 => "in 1 day".to_string(),
            n => format!("in {n} days"),
        };
        let mut finding = Finding::new(
            Level::Warn,
            Some(secret.object_ref()),
            format!(
                "certificate {} expires {} ({when})",
                cert_name(facts),
                date(facts.not_after)
            ),
        );
        for e in cert_evidence(facts) {
            finding = finding.with_evidence(e);
        }
        out.push(finding.with_evidence(format!("window: {days} days (tls_secret_expiring.days)")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::Input;
    use crate::testing::{fixture_dir, run_fixture_at, run_on_at};
    use detek_core::Settings;
    use std::time::{Duration, UNIX_EPOCH};

    /// 2099-12-05T00:00:00Z: 26 days before the fixture's notAfter (2099-12-31T23:59:59Z).
    const DEC_5_2099: u64 = 4_100_112_000;

    #[test]
    fn names_the_secret_the_subject_and_the_days_left() {
        let now = UNIX_EPOCH + Duration::from_secs(DEC_5_2099);
        let report = run_fixture_at("tls_secret_expiring", "fail.yaml", now);
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "Secret/shop/api-tls"
        );
        assert_eq!(
            f.message,
            "certificate CN=api.example.com, O=detek fixtures expires 2099-12-31 (in 26 days)"
        );
        assert!(
            f.evidence
                .contains(&"window: 30 days (tls_secret_expiring.days)".to_string())
        );
    }

    #[test]
    fn honours_the_window_setting_and_leaves_expired_ones_alone() {
        let now = UNIX_EPOCH + Duration::from_secs(DEC_5_2099);
        let input = || {
            vec![Input::Path(
                fixture_dir("tls_secret_expiring").join("fail.yaml"),
            )]
        };
        let mut narrow = Settings::new();
        narrow.set("tls_secret_expiring.days", 20);
        assert!(run_on_at("tls_secret_expiring", input(), narrow, now).passed);
        // Sixty days earlier, the default 30-day window does not reach it yet.
        let october = now - Duration::from_secs(60 * 86_400);
        assert!(run_fixture_at("tls_secret_expiring", "fail.yaml", october).passed);
        assert!(run_fixture_at("tls_secret_expiring", "pass-expired.yaml", now).passed);
    }
}
