use super::{
    SecretHint, holds_private_key, literal_secret_hint, parse_assignment, urls_with_password,
};
use crate::prelude::*;

/// ## What it detects
/// ConfigMaps that hold a secret in clear. The finding names the ConfigMap, the key and, for
/// configuration files, the setting and its line; the value is never printed. Reported:
///
/// - a key whose **name** looks like a secret with a single-line literal value
///   (`DB_PASSWORD: hunter2`), by the same rules as `sensitive_env_value`: the name's last
///   words are `password`, `secret`, `token`, `api_key`, `private_key`, `credentials`..., or
///   it is a listed provider credential (`AZURE_STORAGE_KEY`, `OCI_CLI_KEY_CONTENT`...), and
///   none says it is *about* a secret (`token_ttl`, `password_min_length`, `secret_name`,
///   `password_file`, `token_url`...); the value is not empty, a boolean, a reference
///   (`${VAR}`, `{{ }}`, `vault:`), a path, a URL without credentials, masked or a placeholder;
/// - a key whose value is a **configuration file** (several lines) with `name: value`,
///   `name = value`, `"name": "value"`, `NAME=value` or `--name=value` lines where the setting
///   name and the value pass the same test (a literal `token:` in a collector config,
///   `admin_password = ...` in an `.ini`); one finding per key lists the settings;
/// - a **URL with a password** (`postgres://app:pw@db/app`) or a **PEM private key** in any
///   value, whatever the name.
///
/// `binaryData` is not read.
///
/// ## Why it matters
/// ConfigMaps are not meant for secrets: they are readable by anyone with `get configmaps`
/// (the built-in `view` role included, which cannot read Secrets), shown in full by
/// `kubectl describe`, copied into Git, Helm history and support bundles, and never encrypted
/// at rest even when Secrets are. A password there is a password for every viewer of the
/// namespace.
///
/// ## How to fix
/// Move the value into a Secret and mount or reference it; most configuration formats accept
/// an environment variable (`${DB_PASSWORD}`) or a file path (`password_file:`) in its place.
/// Then rotate the value: it has been exposed. Look at a ConfigMap's keys with
/// `kubectl get configmap NAME -n NS -o jsonpath='{.data}' | jq keys`.
///
/// ## Example
/// ```yaml
/// kind: ConfigMap
/// data:
///   DB_PASSWORD: hunter2              # fires
///   TOKEN_TTL: 1h                     # fine
///   app.ini: |
///     [auth]
///     admin_password = admin          # fires: key "app.ini", setting admin_password
/// ```
#[detector(
    id = "sensitive_configmap_value",
    title = "Secrets written in ConfigMaps",
    labels = ["kubernetes", "security", "secrets"],
    level = Error,
    requires = [CONFIGMAPS],
    references = [
        "https://kubernetes.io/docs/concepts/configuration/configmap/",
        "https://kubernetes.io/docs/concepts/security/secrets-good-practices/",
    ],
)]
pub struct SensitiveConfigmapValue;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let configmaps = ctx.get(&CONFIGMAPS)?;
    let mut out = Outcome::new().evaluated(configmaps.len());
    for cm in configmaps.iter() {
        for (key, value) in cm.data.iter().flatten() {
            let what = format!("key {key:?}");
            let message = if !value.trim().contains('\n') {
                match literal_secret_hint(key, value) {
                    Some(hint) => hint.describe(&what),
                    None => continue,
                }
            } else if holds_private_key(value) {
                SecretHint::PrivateKey.describe(&what)
            } else {
                let settings = secret_settings(value);
                if settings.is_empty() {
                    continue;
                }
                format!(
                    "{what} is a configuration file with secrets written in it: {}",
                    settings.join(", ")
                )
            };
            out.push(Finding::new(Level::Error, Some(cm.object_ref()), message));
        }
    }
    Ok(out)
}

/// `"token" (line 26)`, `a postgres:// URL with a password (line 3)`: the settings of a
/// configuration file that hold a literal secret, by name and line, never by value.
fn secret_settings(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if let Some((name, value)) = parse_assignment(line)
            && let Some(SecretHint::Name(_)) = literal_secret_hint(name, value)
        {
            found.push(format!("{name:?} (line {n})"));
            continue;
        }
        for scheme in urls_with_password(line) {
            found.push(format!("a {scheme}:// URL with a password (line {n})"));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use crate::testing::{reported, run_fixture};

    #[test]
    fn names_the_key_and_setting_and_never_the_value() {
        let report = run_fixture("sensitive_configmap_value", "fail.yaml");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "ConfigMap/opentelemetry-collector-conf"
        );
        assert_eq!(
            f.message,
            "key \"opentelemetry-collector-config\" is a configuration file with secrets written in it: \"token\" (line 26)"
        );
        let json = reported(&report);
        assert!(!json.contains("somerandomtoken"), "{json}");

        let report = run_fixture("sensitive_configmap_value", "fail_handwritten.yaml");
        let messages: Vec<_> = report.findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            vec![
                "key \"DATABASE_URL\" has a literal value with a password in a postgres:// URL",
                "key \"DB_PASSWORD\" has a literal value and a name that looks like a secret (password)",
                "key \"app.ini\" is a configuration file with secrets written in it: \"admin_password\" (line 3), a redis:// URL with a password (line 5)",
                "key \"signing.pem\" has a literal value holding a PEM private key",
            ]
        );
        let json = reported(&report);
        for secret in [
            "hunter2",
            "s3cr3t-pw",
            "Adm1nPa55",
            "r3d1s-pw",
            "MIIEvQIBADANBg",
        ] {
            assert!(!json.contains(secret), "{secret} leaked: {json}");
        }
        assert!(run_fixture("sensitive_configmap_value", "pass.yaml").passed);
        assert!(run_fixture("sensitive_configmap_value", "pass_handwritten.yaml").passed);
    }
}
