//! Secrets without their data.
//!
//! A Secret is reduced at ingestion to its metadata, type and key names; of a TLS Secret only
//! facts about `tls.crt` (subject, issuer, validity, DNS names) are kept. No byte of any
//! Secret value reaches the store, so no detector or renderer can print one. Of a Helm 3
//! release Secret, the release's identity and its rendered objects' identity are kept
//! ([`crate::helm`]).

use crate::helm::{HELM_RELEASE_TYPE, HelmRelease, decode_release};
use base64::Engine;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;
use std::sync::Arc;

/// The annotation `kubectl apply` writes: the applied manifest, a Secret's data included.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// What detek keeps of a Secret.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SecretInfo {
    pub metadata: ObjectMeta,
    /// `type`, e.g. `kubernetes.io/tls`; `Opaque` when absent.
    pub type_: String,
    /// Names of the keys in `data` and `stringData` (never the values).
    pub keys: Vec<String>,
    /// For a Secret holding `tls.crt`: the leaf certificate's facts, or why it could not be read.
    pub certificate: Option<Result<CertificateFacts, String>>,
    /// For a Helm 3 release Secret (type `helm.sh/release.v1`): the release, its revision and
    /// the identity of its rendered objects (see [`crate::helm`]), or why it could not be read.
    pub helm_release: Option<Result<Arc<HelmRelease>, String>>,
}

/// Public facts about a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateFacts {
    pub subject: String,
    pub issuer: String,
    /// Seconds since the Unix epoch.
    pub not_before: i64,
    pub not_after: i64,
    pub dns_names: Vec<String>,
}

impl SecretInfo {
    /// Reduce a Secret object; the input (and its data) is dropped here.
    pub fn from_value(value: Value) -> SecretInfo {
        let Value::Object(mut map) = value else {
            return SecretInfo::default();
        };
        let mut metadata: ObjectMeta = map
            .remove("metadata")
            .and_then(|m| serde_json::from_value(m).ok())
            .unwrap_or_default();
        // `kubectl apply` copies the whole manifest, data included, into this annotation (a
        // `kubectl get -o yaml` dump carries it); managedFields can name data keys only, but no
        // detector reads them either.
        if let Some(annotations) = metadata.annotations.as_mut() {
            annotations.remove(LAST_APPLIED);
        }
        metadata.managed_fields = None;
        let type_ = map
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("Opaque")
            .to_string();
        let mut keys = Vec::new();
        let mut certificate = None;
        let mut helm_release = None;
        for (field, base64_encoded) in [("data", true), ("stringData", false)] {
            if let Some(Value::Object(data)) = map.get(field) {
                for (key, v) in data {
                    keys.push(key.clone());
                    if type_ == HELM_RELEASE_TYPE && key == "release" && base64_encoded {
                        helm_release = Some(match v.as_str() {
                            Some(s) => decode_release(s).map(Arc::new),
                            None => Err("release is not a string".to_string()),
                        });
                    }
                    if key == "tls.crt" {
                        let pem = match (v.as_str(), base64_encoded) {
                            (Some(s), true) => base64::engine::general_purpose::STANDARD
                                .decode(s.trim())
                                .map_err(|e| format!("tls.crt is not valid base64: {e}")),
                            (Some(s), false) => Ok(s.as_bytes().to_vec()),
                            (None, _) => Err("tls.crt is not a string".to_string()),
                        };
                        certificate = Some(pem.and_then(|pem| certificate_facts(&pem)));
                    }
                }
            }
        }
        keys.sort();
        keys.dedup();
        SecretInfo {
            metadata,
            type_,
            keys,
            certificate,
            helm_release,
        }
    }
}

/// Facts of the first (leaf) certificate in a PEM bundle or a DER blob.
pub fn certificate_facts(bytes: &[u8]) -> Result<CertificateFacts, String> {
    let der = if bytes.starts_with(b"-----") || bytes.iter().take(64).any(|b| *b == b'-') {
        let (_, pem) = x509_parser::pem::parse_x509_pem(bytes)
            .map_err(|e| format!("tls.crt is not a PEM certificate: {e}"))?;
        pem.contents
    } else {
        bytes.to_vec()
    };
    let (_, cert) = x509_parser::parse_x509_certificate(&der)
        .map_err(|e| format!("tls.crt is not an X.509 certificate: {e}"))?;
    let validity = cert.validity();
    let mut dns_names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::DNSName(d) = name {
                dns_names.push(d.to_string());
            }
        }
    }
    Ok(CertificateFacts {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        not_before: validity.not_before.timestamp(),
        not_after: validity.not_after.timestamp(),
        dns_names,
    })
}
