//! Certificates detectors.

use crate::model::CertificateFacts;
use detek_core::Detector;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

mod tls_secret_expired;
mod tls_secret_expiring;

pub(super) fn all() -> Vec<Arc<dyn Detector>> {
    vec![
        Arc::new(tls_secret_expired::TlsSecretExpired),
        Arc::new(tls_secret_expiring::TlsSecretExpiring),
    ]
}

const DAY: i64 = 86_400;

/// Seconds since the Unix epoch (negative before 1970).
pub(crate) fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

/// `2020-03-01` (UTC).
pub(crate) fn date(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_else(|_| format!("@{seconds}"))
}

/// Whole days from `from` to `to`, rounded down.
pub(crate) fn days_between(from: i64, to: i64) -> i64 {
    (to - from).div_euclid(DAY)
}

/// How findings name a certificate: its subject, or its first DNS name when the subject is
/// empty.
pub(crate) fn cert_name(facts: &CertificateFacts) -> String {
    if !facts.subject.is_empty() {
        facts.subject.clone()
    } else if let Some(dns) = facts.dns_names.first() {
        format!("DNS:{dns}")
    } else {
        "(no subject)".to_string()
    }
}

/// Evidence common to both detectors: issuer, DNS names, validity.
pub(crate) fn cert_evidence(facts: &CertificateFacts) -> Vec<String> {
    let mut out = vec![
        format!("issuer: {}", facts.issuer),
        format!(
            "valid from {} to {}",
            date(facts.not_before),
            date(facts.not_after)
        ),
    ];
    if !facts.dns_names.is_empty() {
        out.push(format!("DNS names: {}", facts.dns_names.join(", ")));
    }
    out
}
