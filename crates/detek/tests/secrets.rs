//! No byte of a Secret's data reaches a report or a log line (offline scans).
//!
//! Property tests over random Secrets: random key names and values in `data` (base64 of random
//! text or bytes) and `stringData`, Opaque, TLS (a real certificate plus a random key), basic-auth
//! and docker-config types, with and without the `last-applied-configuration` annotation that
//! `kubectl apply` fills with the whole manifest, referenced from a Pod (env and volume) and not,
//! written as JSON or YAML. Checked: the model detek keeps after ingestion, and what the `detek`
//! binary prints as json, html and table on stdout and on stderr. Only a TLS certificate's facts
//! (subject, issuer, validity, DNS names) may be shown; its bytes may not.
//!
//! The live path is covered by tests/live_scan.rs against a real API server (Secrets are listed
//! reduced there: see crates/detek-kubernetes-live/src/list.rs).

use assert_cmd::Command;
use base64::Engine;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A TLS certificate from the fixtures (tls_secret_expired), base64 as in a Secret.
fn certificate() -> String {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../detek-kubernetes/tests/fixtures/tls_secret_expired/fail.yaml"
    ))
    .unwrap();
    let start = text.find("tls.crt: ").expect("a tls.crt") + "tls.crt: ".len();
    let end = start + text[start..].find(['\n', ' ']).unwrap();
    text[start..end].trim_matches('"').to_string()
}

#[derive(Debug, Clone)]
enum Payload {
    /// Printable text (what a password or token looks like once decoded).
    Text(String),
    /// Arbitrary bytes.
    Bytes(Vec<u8>),
}

#[derive(Debug, Clone)]
struct SecretCase {
    type_: &'static str,
    data: Vec<(String, Payload)>,
    string_data: Vec<(String, String)>,
    last_applied: bool,
    referenced: bool,
}

/// Text long enough never to occur in a report by chance, made of characters no output
/// format escapes (so a leak would show as this exact substring).
fn secret_text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9+/=_.:-]{16,60}"
}

fn payload() -> impl Strategy<Value = Payload> {
    prop_oneof![
        secret_text().prop_map(Payload::Text),
        proptest::collection::vec(any::<u8>(), 16..64).prop_map(Payload::Bytes),
    ]
}

fn secret_case() -> impl Strategy<Value = SecretCase> {
    (
        prop_oneof![
            Just("Opaque"),
            Just("kubernetes.io/tls"),
            Just("kubernetes.io/basic-auth"),
            Just("kubernetes.io/dockerconfigjson"),
        ],
        proptest::collection::vec(("[a-z][a-z0-9_.-]{0,12}", payload()), 0..4),
        proptest::collection::vec(("[a-z][a-z0-9_.-]{0,12}", secret_text()), 0..3),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(type_, data, string_data, last_applied, referenced)| SecretCase {
                type_,
                data,
                string_data,
                last_applied,
                referenced,
            },
        )
}

/// The snapshot, and every byte sequence that must not be shown.
fn snapshot(cases: &[SecretCase]) -> (Value, Vec<Vec<u8>>) {
    let cert = certificate();
    let mut sensitive: Vec<Vec<u8>> = Vec::new();
    let mut items = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let name = format!("secret-{i}");
        let mut data = Map::new();
        for (key, value) in &case.data {
            let bytes = match value {
                Payload::Text(t) => t.as_bytes().to_vec(),
                Payload::Bytes(b) => b.clone(),
            };
            let encoded = B64.encode(&bytes);
            sensitive.push(encoded.clone().into_bytes());
            sensitive.push(bytes);
            data.insert(key.clone(), Value::String(encoded));
        }
        if case.type_ == "kubernetes.io/tls" {
            let key = B64.encode(format!(
                "-----BEGIN PRIVATE KEY-----\n{name}-{}\n",
                i * 7919
            ));
            sensitive.push(key.clone().into_bytes());
            // The certificate's bytes (its facts may be shown).
            sensitive.push(cert.clone().into_bytes());
            let pem = String::from_utf8(B64.decode(&cert).unwrap()).unwrap();
            let body: String = pem.lines().nth(1).unwrap().to_string();
            sensitive.push(body.into_bytes());
            data.insert("tls.crt".into(), Value::String(cert.clone()));
            data.insert("tls.key".into(), Value::String(key));
        }
        let mut string_data = Map::new();
        for (key, value) in &case.string_data {
            sensitive.push(value.clone().into_bytes());
            string_data.insert(key.clone(), Value::String(value.clone()));
        }
        let mut secret = json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": "shop", "labels": {"app": "shop"}},
            "type": case.type_,
            "data": data,
            "stringData": string_data,
        });
        if case.last_applied {
            secret["metadata"]["annotations"] = json!({
                "kubectl.kubernetes.io/last-applied-configuration": secret.to_string(),
                "team": "payments",
            });
        }
        items.push(secret);
        if case.referenced {
            let key = case
                .data
                .first()
                .map(|(k, _)| k.clone())
                .unwrap_or("missing".into());
            items.push(json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("uses-{name}"), "namespace": "shop"},
                "spec": {
                    "containers": [{"name": "app", "image": "registry.example.com/app:1.0",
                        "env": [{"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": name, "key": key}}}],
                        "envFrom": [{"secretRef": {"name": name}}]}],
                    "volumes": [{"name": "s", "secret": {"secretName": name}}]
                }
            }));
        }
    }
    let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
    (list, sensitive)
}

fn leaks<'a>(haystack: &[u8], sensitive: &'a [Vec<u8>]) -> Vec<&'a [u8]> {
    sensitive
        .iter()
        .filter(|s| haystack.windows(s.len()).any(|w| w == s.as_slice()))
        .map(Vec::as_slice)
        .collect()
}

fn write_input(dir: &std::path::Path, list: &Value, yaml: bool) -> std::path::PathBuf {
    if yaml {
        let path = dir.join("secrets.yaml");
        std::fs::write(&path, serde_saphyr::to_string(list).unwrap()).unwrap();
        path
    } else {
        let path = dir.join("secrets.json");
        std::fs::write(&path, serde_json::to_string_pretty(list).unwrap()).unwrap();
        path
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// What detek keeps after ingestion (every Secret, every object summary, every diagnostic)
    /// holds no byte of Secret data.
    #[test]
    fn the_model_keeps_no_secret_data(
        cases in proptest::collection::vec(secret_case(), 1..5),
        yaml in any::<bool>(),
    ) {
        let (list, sensitive) = snapshot(&cases);
        let dir = tempfile::tempdir().unwrap();
        let input = write_input(dir.path(), &list, yaml);
        let mut set = detek_kubernetes_model::model::ObjectSet::new();
        detek_kubernetes_model::ingest::load(&[detek_kubernetes_model::Input::Path(input)], &mut set);
        set.finish();
        prop_assert_eq!(set.secrets.len(), cases.len());
        let kept = format!("{:?}\n{:?}\n{:?}", set.secrets, set.objects, set.diagnostics);
        let found = leaks(kept.as_bytes(), &sensitive);
        prop_assert!(found.is_empty(), "kept: {:?}", found.iter().map(|s| String::from_utf8_lossy(s)).collect::<Vec<_>>());
        // What is kept: names, types, key names.
        for (i, case) in cases.iter().enumerate() {
            let info = set.secrets.iter().find(|s| s.name() == format!("secret-{i}")).unwrap();
            prop_assert_eq!(info.type_.as_str(), case.type_);
            for (key, _) in &case.data {
                prop_assert!(info.keys.contains(key));
            }
        }
    }
}

proptest! {
    // Each case runs the binary three times: few cases, many Secrets each.
    #![proptest_config(ProptestConfig { cases: 6, failure_persistence: None, ..ProptestConfig::default() })]

    /// Every report format and stderr, end to end through the `detek` binary.
    #[test]
    fn no_report_or_log_line_shows_secret_data(
        cases in proptest::collection::vec(secret_case(), 4..10),
        yaml in any::<bool>(),
    ) {
        let (list, sensitive) = snapshot(&cases);
        let dir = tempfile::tempdir().unwrap();
        let input = write_input(dir.path(), &list, yaml);
        for format in ["json", "html", "table"] {
            let out = Command::cargo_bin("detek")
                .unwrap()
                .args(["run", "all", "--fail-on", "never", "-f", format, "--input"])
                .arg(&input)
                .output()
                .unwrap();
            prop_assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
            // A table of a scan where everything passes is a short summary.
            let least = if format == "table" { 200 } else { 1000 };
            prop_assert!(out.stdout.len() > least, "{format}: a report");
            for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
                let found = leaks(bytes, &sensitive);
                prop_assert!(
                    found.is_empty(),
                    "{} {}: {:?}",
                    format,
                    stream,
                    found.iter().map(|s| String::from_utf8_lossy(s)).collect::<Vec<_>>()
                );
            }
        }
    }
}
