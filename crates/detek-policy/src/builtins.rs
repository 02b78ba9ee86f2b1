//! The builtins a policy may call: regorus' own (built without `http.send` and `opa.runtime`)
//! plus the extensions detek adds under OPA's names.

use base64::Engine as _;
use regorus::Value;

/// Extensions detek registers on every engine: (name, number of arguments).
pub const EXTENSIONS: &[(&str, u8)] = &[("crypto.x509.parse_certificates", 1)];

/// Builtins refused on purpose, and why: named in the error instead of "unknown".
pub const REFUSED: &[(&str, &str)] = &[
    ("http.send", "policies cannot reach the network"),
    ("net.lookup_ip_addr", "policies cannot reach the network"),
    ("opa.runtime", "policies cannot read the environment"),
    (
        "uuid.rfc4122",
        "findings must not change from one scan to the next",
    ),
    (
        "rand.intn",
        "findings must not change from one scan to the next",
    ),
    (
        "time.now_ns",
        "use input.now: the scan's time, which --now sets",
    ),
];

/// Whether `name` is a function a policy may call.
pub fn is_builtin(name: &str) -> bool {
    if REFUSED.iter().any(|(refused, _)| *refused == name) {
        return false;
    }
    // `set()` is Rego syntax for the empty set, not a builtin.
    name == "set"
        || EXTENSIONS.iter().any(|(ext, _)| *ext == name)
        || regorus::unstable::BUILTINS.contains_key(name)
}

/// Register the extensions on `engine`.
pub fn register(engine: &mut regorus::Engine) -> anyhow::Result<()> {
    engine.add_extension(
        "crypto.x509.parse_certificates".to_string(),
        1,
        Box::new(|args: Vec<Value>| parse_certificates(&args[0])),
    )
}

/// OPA's `crypto.x509.parse_certificates(certs)`: `certs` is PEM, or base64 of PEM or DER
/// (what a webhook's `caBundle` or a ConfigMap holds); the result is one object per
/// certificate with OPA's field names for what policies read (`Subject.CommonName`,
/// `Issuer.CommonName`, `NotBefore`, `NotAfter`, `DNSNames`, `IsCA`, `SerialNumber`).
pub fn parse_certificates(certs: &Value) -> anyhow::Result<Value> {
    let text = certs.as_string().map_err(|_| {
        anyhow::anyhow!("crypto.x509.parse_certificates: the argument must be a string")
    })?;
    let trimmed = text.trim();
    let bytes: Vec<u8> = if trimmed.contains("-----BEGIN") {
        trimmed.as_bytes().to_vec()
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(trimmed.split_whitespace().collect::<String>())
            .map_err(|e| {
                anyhow::anyhow!("crypto.x509.parse_certificates: not PEM and not base64: {e}")
            })?
    };
    let mut ders: Vec<Vec<u8>> = Vec::new();
    if bytes.windows(10).any(|w| w == b"-----BEGIN") {
        let mut rest: &[u8] = &bytes;
        while rest.windows(10).any(|w| w == b"-----BEGIN") {
            let (next, pem) = x509_parser::pem::parse_x509_pem(rest)
                .map_err(|e| anyhow::anyhow!("crypto.x509.parse_certificates: bad PEM: {e}"))?;
            ders.push(pem.contents);
            if next.len() == rest.len() {
                break;
            }
            rest = next;
        }
    } else {
        let mut rest: &[u8] = &bytes;
        while !rest.is_empty() {
            let (next, _) = x509_parser::parse_x509_certificate(rest).map_err(|e| {
                anyhow::anyhow!("crypto.x509.parse_certificates: not an X.509 certificate: {e}")
            })?;
            ders.push(rest[..rest.len() - next.len()].to_vec());
            rest = next;
        }
    }
    let mut out = Vec::new();
    for der in &ders {
        let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| {
            anyhow::anyhow!("crypto.x509.parse_certificates: not an X.509 certificate: {e}")
        })?;
        let validity = cert.validity();
        let mut dns_names = Vec::new();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for name in &san.value.general_names {
                if let x509_parser::extensions::GeneralName::DNSName(d) = name {
                    dns_names.push(serde_json::Value::from(d.to_string()));
                }
            }
        }
        let common_name = |name: &x509_parser::x509::X509Name| {
            name.iter_common_name()
                .next()
                .and_then(|cn| cn.as_str().ok())
                .unwrap_or("")
                .to_string()
        };
        let time = crate::input::rfc3339;
        out.push(serde_json::json!({
            "Subject": {"CommonName": common_name(cert.subject()), "String": cert.subject().to_string()},
            "Issuer": {"CommonName": common_name(cert.issuer()), "String": cert.issuer().to_string()},
            "NotBefore": time(validity.not_before.timestamp()),
            "NotAfter": time(validity.not_after.timestamp()),
            "DNSNames": dns_names,
            "IsCA": cert.is_ca(),
            "SerialNumber": cert.raw_serial_as_string(),
        }));
    }
    Ok(Value::from(serde_json::Value::Array(out)))
}
