use super::webhooks;
use crate::detectors::certificates::{date, unix_seconds};
use crate::prelude::*;
use crate::secrets::certificate_facts;
use std::collections::BTreeMap;

/// ## What it detects
/// Admission webhooks (Validating- and MutatingWebhookConfigurations) whose
/// `clientConfig.caBundle` holds only certificates that are expired (or not yet valid) at scan
/// time, or that cannot be read. Every certificate of the PEM bundle is checked; a bundle that
/// still holds a valid CA next to an expired one is reported as a warning (rotation leftovers).
/// Webhooks with an empty `caBundle` (injected later by cert-manager's cainjector or the
/// webhook itself, or verified with the system roots for `url` webhooks) are not judged.
///
/// ## Why it matters
/// The API server verifies the webhook's serving certificate against this bundle. Once the CA
/// has expired the TLS handshake fails (`x509: certificate has expired or is not yet valid`) and
/// the webhook cannot be called at all. With `failurePolicy: Fail` (the default in
/// `admissionregistration.k8s.io/v1`) every create or update it intercepts is rejected — often
/// Pods or every object of a namespace, so deployments, scaling and even controller restarts
/// stop (Fatal). With `Ignore` the webhook is silently skipped: policies are not enforced,
/// sidecars not injected (Error).
///
/// ## How to fix
/// Read the dates: `kubectl get validatingwebhookconfiguration NAME -o
/// jsonpath='{.webhooks[0].clientConfig.caBundle}' | base64 -d | openssl x509 -noout -subject
/// -enddate`. Rotate the webhook's CA and serving certificate and update the `caBundle`: with
/// cert-manager, check the `cert-manager.io/inject-ca-from` annotation and `kubectl describe
/// certificate -n NS`; for self-managed webhooks (ingress-nginx's `admission-create` Job,
/// Gatekeeper, Kyverno), restarting the controller or re-running its certificate Job
/// regenerates them. In an emergency, `kubectl delete validatingwebhookconfiguration NAME`
/// unblocks writes (the owning operator usually recreates it).
///
/// ## Example
/// ```yaml
/// kind: ValidatingWebhookConfiguration
/// webhooks:
/// - name: validation.gatekeeper.sh
///   failurePolicy: Fail
///   clientConfig:
///     caBundle: LS0tLS1CRUdJTi...   # fires: its only CA expired 2020-03-01
/// ```
#[detector(
    id = "webhook_cert_expired",
    title = "Admission webhooks whose CA bundle has expired",
    labels = ["kubernetes", "admission", "certificates", "webhook"],
    level = Fatal,
    requires = [VALIDATING_WEBHOOKS, MUTATING_WEBHOOKS],
    references = [
        "https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#contacting-the-webhook",
        "https://cert-manager.io/docs/concepts/ca-injector/",
    ],
)]
pub struct WebhookCertExpired;

/// The certificates of a PEM bundle (or one DER certificate), each parsed or why not.
pub(crate) fn bundle_certificates(bytes: &[u8]) -> Vec<Result<CertificateFacts, String>> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    let rename = |e: String| e.replace("tls.crt", "caBundle");
    let text = String::from_utf8_lossy(bytes);
    if !text.contains(BEGIN) {
        return vec![certificate_facts(bytes).map_err(rename)];
    }
    text.split(BEGIN)
        .skip(1)
        .map(|block| {
            let pem = format!("{BEGIN}{block}");
            certificate_facts(pem.trim().as_bytes()).map_err(rename)
        })
        .collect()
}

/// (configuration, caBundle bytes, failure policy).
type BundleKey = (String, Vec<u8>, String);

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let hooks = webhooks(ctx.get(&VALIDATING_WEBHOOKS)?, ctx.get(&MUTATING_WEBHOOKS)?);
    let now = unix_seconds(ctx.now);
    // Webhooks of one configuration usually share a bundle: one finding per (configuration,
    // bundle, policy), naming every webhook.
    let mut groups: BTreeMap<BundleKey, (ObjectRef, Vec<&str>)> = BTreeMap::new();
    let mut empty = 0usize;
    for hook in &hooks {
        let Some(bundle) = hook.client_config.ca_bundle.as_ref() else {
            empty += 1;
            continue;
        };
        if bundle.0.iter().all(u8::is_ascii_whitespace) {
            empty += 1;
            continue;
        }
        groups
            .entry((
                hook.config.display_name(),
                bundle.0.clone(),
                hook.failure_policy.clone(),
            ))
            .or_insert_with(|| (hook.config.clone(), Vec::new()))
            .1
            .push(hook.name);
    }
    let mut out = Outcome::new().evaluated(groups.len());
    for ((_, bundle, policy), (config, names)) in groups {
        let fails_closed = policy == "Fail";
        let webhooks = format!(
            "webhook{} {} (failurePolicy {policy})",
            if names.len() == 1 { "" } else { "s" },
            names.join(", ")
        );
        let consequence = if fails_closed {
            "every API request they intercept is rejected"
        } else {
            "they are silently skipped: their checks or mutations do not happen"
        };
        let broken_level = if fails_closed {
            Level::Fatal
        } else {
            Level::Error
        };
        let certs = bundle_certificates(&bundle);
        let mut valid = Vec::new();
        let mut invalid = Vec::new();
        let mut unreadable = Vec::new();
        for c in &certs {
            match c {
                Ok(f) if f.not_after < now => {
                    invalid.push(format!("{} expired {}", f.subject, date(f.not_after)))
                }
                Ok(f) if f.not_before > now => invalid.push(format!(
                    "{} is not valid before {}",
                    f.subject,
                    date(f.not_before)
                )),
                Ok(f) => valid.push(format!("{} valid until {}", f.subject, date(f.not_after))),
                Err(e) => unreadable.push(e.clone()),
            }
        }
        let finding = if valid.is_empty() && !invalid.is_empty() {
            Finding::new(
                broken_level,
                Some(config),
                format!(
                    "caBundle of {webhooks}: CA {}: TLS to the webhook fails and {consequence}",
                    invalid.join("; ")
                ),
            )
        } else if valid.is_empty() {
            Finding::new(
                broken_level,
                Some(config),
                format!(
                    "caBundle of {webhooks} cannot be read ({}): TLS to the webhook fails and {consequence}",
                    unreadable.join("; ")
                ),
            )
        } else if !invalid.is_empty() {
            Finding::new(
                Level::Warn,
                Some(config),
                format!(
                    "caBundle of {webhooks} still holds an invalid CA ({}) next to {} valid one(s)",
                    invalid.join("; "),
                    valid.len()
                ),
            )
        } else {
            continue;
        };
        let mut finding = finding;
        for v in valid {
            finding = finding.with_evidence(format!("valid: {v}"));
        }
        out.push(finding);
    }
    if empty > 0 {
        out.attach(
            "Not judged: webhooks with an empty caBundle (injected at install time, or a url webhook verified with system roots)",
            serde_json::json!(empty),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture_at;
    use detek_core::Level;
    use std::time::{Duration, UNIX_EPOCH};

    /// 2026-01-01T00:00:00Z.
    fn now() -> std::time::SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_767_225_600)
    }

    #[test]
    fn an_expired_ca_of_a_fail_webhook_is_fatal() {
        let report = run_fixture_at("webhook_cert_expired", "fail.yaml", now());
        let found: Vec<_> = report
            .findings
            .iter()
            .map(|f| {
                (
                    f.level,
                    f.object.as_ref().unwrap().display_name(),
                    f.message.as_str(),
                )
            })
            .collect();
        assert_eq!(
            found,
            vec![
                (
                    Level::Error,
                    "MutatingWebhookConfiguration/gatekeeper-mutating-webhook-configuration"
                        .to_string(),
                    "caBundle of webhook mutation.gatekeeper.sh (failurePolicy Ignore): CA CN=gatekeeper-ca, O=detek fixtures expired 2020-03-01: \
                     TLS to the webhook fails and they are silently skipped: their checks or mutations do not happen"
                ),
                (
                    Level::Fatal,
                    "ValidatingWebhookConfiguration/gatekeeper-validating-webhook-configuration"
                        .to_string(),
                    "caBundle of webhook check-ignore-label.gatekeeper.sh (failurePolicy Fail): CA CN=gatekeeper-ca, O=detek fixtures expired 2020-03-01: \
                     TLS to the webhook fails and every API request they intercept is rejected"
                ),
                (
                    Level::Error,
                    "ValidatingWebhookConfiguration/gatekeeper-validating-webhook-configuration"
                        .to_string(),
                    "caBundle of webhook validation.gatekeeper.sh (failurePolicy Ignore): CA CN=gatekeeper-ca, O=detek fixtures expired 2020-03-01: \
                     TLS to the webhook fails and they are silently skipped: their checks or mutations do not happen"
                ),
            ]
        );
    }

    #[test]
    fn rotation_leftovers_warn_and_valid_or_empty_bundles_pass() {
        let report = run_fixture_at("webhook_cert_expired", "fail-rotation.yaml", now());
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        let f = &report.findings[0];
        assert_eq!(f.level, Level::Warn);
        assert!(f.message.contains("still holds an invalid CA (CN=gatekeeper-ca, O=detek fixtures expired 2020-03-01) next to 1 valid one(s)"), "{}", f.message);
        assert_eq!(
            f.evidence,
            vec!["valid: CN=webhook-ca, O=detek fixtures valid until 2099-12-31"]
        );
        assert!(run_fixture_at("webhook_cert_expired", "pass.yaml", now()).passed);
        let report = run_fixture_at("webhook_cert_expired", "pass-injected.yaml", now());
        assert!(report.passed);
        assert!(
            report
                .attachment
                .iter()
                .any(|a| a.description.starts_with("Not judged"))
        );
    }
}
