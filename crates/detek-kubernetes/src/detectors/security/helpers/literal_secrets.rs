//! Sensitive values written in clear: key names that look like a secret's, values that are not
//! secrets (references, placeholders), URLs with a password, PEM private keys
//! (`sensitive_env_value`, `sensitive_configmap_value`).

/// Words that name a secret when they are a whole token of a key name (or end one:
/// `dbpassword`, `clientsecret`).
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "credential",
    "credentials",
    "creds",
    "privatekey",
    "secretkey",
    "accesskey",
    "authkey",
];

/// Two-token names of a secret: `api_key`, `private_key`, `connection_string`...
const SECRET_PAIRS: &[(&str, &str)] = &[
    ("api", "key"),
    ("private", "key"),
    ("secret", "key"),
    ("access", "key"),
    ("auth", "key"),
    ("encryption", "key"),
    ("signing", "key"),
    ("master", "key"),
    ("account", "key"),
    ("connection", "string"),
];

/// Provider credential names the word rules miss (a bare `KEY`, key *content*), matched whole
/// (case-insensitive, `-` and `.` read as `_`), each with where the provider documents it.
const PROVIDER_CREDENTIALS: &[(&str, &str)] = &[
    // Azure CLI: the storage account key (https://learn.microsoft.com/en-us/azure/storage/blobs/authorize-data-operations-cli).
    ("azure_storage_key", "Azure storage account key"),
    // OCI CLI: the API signing key itself (https://docs.oracle.com/iaas/Content/API/SDKDocs/clienvironmentvariables.htm).
    ("oci_cli_key_content", "OCI API private key content"),
    // Datadog: the application key (https://docs.datadoghq.com/account_management/api-app-keys/).
    ("dd_app_key", "Datadog application key"),
    ("dd_application_key", "Datadog application key"),
    // New Relic: the ingest license key (https://docs.newrelic.com/docs/apis/intro-apis/new-relic-api-keys/).
    ("new_relic_license_key", "New Relic license key"),
    ("nria_license_key", "New Relic license key"),
];

/// Tokens that make a key name describe a secret rather than hold one: `token_ttl`,
/// `password_min_length`, `secret_name`, `password_file`, `token_url`, `auth_enabled`...
const MODIFIER_WORDS: &[&str] = &[
    "ttl",
    "expiry",
    "expiration",
    "expires",
    "expire",
    "timeout",
    "lifetime",
    "duration",
    "age",
    "interval",
    "period",
    "validity",
    "rotation",
    "length",
    "len",
    "min",
    "max",
    "minimum",
    "maximum",
    "size",
    "count",
    "limit",
    "limits",
    "file",
    "files",
    "path",
    "paths",
    "dir",
    "directory",
    "filename",
    "location",
    "url",
    "uri",
    "urls",
    "endpoint",
    "endpoints",
    "host",
    "port",
    "name",
    "names",
    "ref",
    "refs",
    "reference",
    "id",
    "ids",
    "type",
    "kind",
    "mode",
    "format",
    "enabled",
    "enable",
    "disabled",
    "disable",
    "required",
    "require",
    "policy",
    "header",
    "audience",
    "audiences",
    "issuer",
    "scope",
    "scopes",
    "field",
    "provider",
    "store",
    "mount",
    "mounted",
    "source",
    "template",
    "hash",
    "hashed",
    "regex",
    "pattern",
    "complexity",
    "strength",
    "reset",
    "prompt",
    "hint",
    "label",
    "labels",
    "param",
    "parameter",
    "version",
    "namespace",
    "selector",
    "annotation",
    "annotations",
    "volume",
    "configmap",
    "algorithm",
    "algo",
    "cache",
    "prefix",
    "suffix",
    "strategy",
    "detection",
    "method",
    "methods",
    "env",
    "var",
    "generator",
    "helper",
    "manager",
    "request",
    "response",
    "cookie",
    "image",
];

/// Split a key name into lower-case words: `MYSQL_ROOT_PASSWORD` → mysql, root, password;
/// `apiKey` → api, key; `s3SecretAccessKeyName` → s3, secret, access, key, name.
pub(crate) fn name_tokens(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut tokens = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                tokens.push(std::mem::take(&mut current));
            }
            continue;
        }
        let prev = if i > 0 { chars[i - 1] } else { ' ' };
        let next = chars.get(i + 1).copied().unwrap_or(' ');
        let boundary = c.is_ascii_uppercase()
            && (prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next.is_ascii_lowercase()));
        if boundary && !current.is_empty() {
            tokens.push(std::mem::take(&mut current));
        }
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

/// Does this key name look like it holds a secret? Returns the word that matched.
///
/// The heuristic: the name, split into words, contains a secret word (`password`, `passwd`,
/// `passphrase`, `secret`, `token`, `credentials`, `api_key`, `private_key`, `access_key`,
/// `connection_string`..., or a word ending in one: `dbpassword`) or ends in `pass`
/// (`DB_PASS`); the match is one of the last two words (so `configMapAndSecretChangeDetection`
/// is not a secret), and no word says the key is *about* a secret rather than one
/// (`token_ttl`, `password_min_length`, `secret_name`, `password_file`, `token_url`,
/// `auth_enabled`, `access_key_id`: see `MODIFIER_WORDS`). `secret_id` (Vault AppRole) is a
/// secret. `PWD` is not (the shell's working directory). Provider credential names the word
/// rules miss (`AZURE_STORAGE_KEY`, `OCI_CLI_KEY_CONTENT`...) are listed whole
/// (`PROVIDER_CREDENTIALS`) and name the credential.
pub(crate) fn secret_like_name(name: &str) -> Option<String> {
    let whole = name.to_ascii_lowercase().replace(['-', '.'], "_");
    if let Some((_, what)) = PROVIDER_CREDENTIALS.iter().find(|(n, _)| *n == whole) {
        return Some(what.to_string());
    }
    let tokens = name_tokens(name);
    let n = tokens.len();
    if n == 0 {
        return None;
    }
    if n >= 2 && tokens[n - 2] == "secret" && tokens[n - 1] == "id" {
        return Some("secret_id".to_string());
    }
    if tokens.iter().any(|t| MODIFIER_WORDS.contains(&t.as_str())) {
        return None;
    }
    let recent = n.saturating_sub(2);
    for t in &tokens[recent..] {
        if let Some(word) = SECRET_WORDS
            .iter()
            .find(|w| t == *w || (t.len() > w.len() && t.ends_with(*w)))
        {
            return Some(word.to_string());
        }
    }
    for i in recent.saturating_sub(1)..n.saturating_sub(1) {
        let pair = (tokens[i].as_str(), tokens[i + 1].as_str());
        if SECRET_PAIRS.contains(&pair) {
            return Some(format!("{}_{}", pair.0, pair.1));
        }
    }
    if tokens[n - 1] == "pass" && n >= 2 {
        return Some("pass".to_string());
    }
    None
}

/// Is this literal value something other than a secret: empty, a boolean, a reference
/// (`$(VAR)`, `${VAR}`, `{{ .Values.x }}`, `vault:...`, `ref+...`, a secret manager ARN or
/// path), a file path, a URL without credentials, a masked value (`***`, `REDACTED`), a
/// placeholder (`<password>`, `INSERT_TOKEN_HERE`, an all-caps variable name) or a structured
/// value (`[...]`, `{...}`)?
pub(crate) fn not_a_secret_value(value: &str) -> bool {
    let v = value.trim().trim_matches(|c| c == '"' || c == '\'').trim();
    if v.is_empty() {
        return true;
    }
    let lower = v.to_ascii_lowercase();
    const BOOLEANS: &[&str] = &[
        "true", "false", "yes", "no", "on", "off", "enabled", "disabled", "none", "null", "~",
    ];
    if BOOLEANS.contains(&lower.as_str()) {
        return true;
    }
    if v.contains("$(") || v.contains("${") || v.contains("{{") || v.contains("%(") {
        return true;
    }
    const REFERENCE_PREFIXES: &[&str] = &[
        "vault:",
        "ref+",
        "arn:aws:secretsmanager:",
        "arn:aws:ssm:",
        "secretref:",
        "secret:",
        "env:",
        "file:",
        "azurekeyvault",
        "akv:",
        "gcp:secretmanager:",
        "sm://",
        "op://",
        "projects/",
    ];
    if REFERENCE_PREFIXES.iter().any(|p| lower.starts_with(p)) {
        return true;
    }
    if v.starts_with('/') || v.starts_with("./") || v.starts_with("~/") {
        return true;
    }
    if v.starts_with('[')
        || v.starts_with('{')
        || v == "|"
        || v == ">"
        || v.starts_with("|-")
        || v.starts_with(">-")
    {
        return true;
    }
    if v.contains("***")
        || lower == "redacted"
        || lower.contains("<redacted>")
        || lower.contains("[redacted]")
    {
        return true;
    }
    if v.starts_with('<') && v.ends_with('>') {
        return true;
    }
    // `INSERT_ETCD_DISCOVERY_TOKEN`, `AWS_SECRET_ACCESS_KEY`: the name of a variable or a
    // placeholder to replace, not a value.
    let variable_like = v.contains('_')
        && v.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && v.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if variable_like {
        return true;
    }
    if let Some((_, rest)) = v.split_once("://") {
        // A URL is only a secret when it carries a password (see `url_with_password`).
        return url_with_password(v).is_none() && !rest.is_empty();
    }
    false
}

/// `scheme://user:password@host...` with a literal password: returns the scheme.
pub(crate) fn url_with_password(value: &str) -> Option<String> {
    let v = value.trim();
    let (scheme, rest) = v.split_once("://")?;
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
    {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let (userinfo, _host) = authority.rsplit_once('@')?;
    let (_user, password) = userinfo.split_once(':')?;
    if password.is_empty()
        || password.contains("$(")
        || password.contains("${")
        || password.contains("{{")
    {
        return None;
    }
    if password.contains("***")
        || password.starts_with('<')
        || password.eq_ignore_ascii_case("redacted")
    {
        return None;
    }
    Some(scheme.to_string())
}

/// Does the value hold a PEM private key?
pub(crate) fn holds_private_key(value: &str) -> bool {
    value.contains("-----BEGIN") && value.contains("PRIVATE KEY-----") && !value.contains("{{")
}

/// Why a literal value is reported. Never carries the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SecretHint {
    /// The name looks like a secret's; the word that matched.
    Name(String),
    /// The value is a URL with a password; its scheme.
    UrlPassword(String),
    /// The value holds a PEM private key.
    PrivateKey,
}

impl SecretHint {
    /// `env DB_PASSWORD has a literal value and a name that looks like a secret (password)`,
    /// with `what` naming the variable or key.
    pub fn describe(&self, what: &str) -> String {
        match self {
            SecretHint::Name(word) => {
                format!("{what} has a literal value and a name that looks like a secret ({word})")
            }
            SecretHint::UrlPassword(scheme) => {
                format!("{what} has a literal value with a password in a {scheme}:// URL")
            }
            SecretHint::PrivateKey => {
                format!("{what} has a literal value holding a PEM private key")
            }
        }
    }
}

/// Is this literal value, under this name, a secret written in clear? See
/// [`secret_like_name`] and [`not_a_secret_value`] for the heuristic; a PEM private key or a
/// URL with a password is reported whatever the name.
pub(crate) fn literal_secret_hint(name: &str, value: &str) -> Option<SecretHint> {
    if holds_private_key(value) {
        return Some(SecretHint::PrivateKey);
    }
    if let Some(scheme) = url_with_password(value) {
        return Some(SecretHint::UrlPassword(scheme));
    }
    let word = secret_like_name(name)?;
    if not_a_secret_value(value) {
        return None;
    }
    Some(SecretHint::Name(word))
}

/// One `name: value` / `name = value` / `"name": "value",` / `NAME=value` / `--name=value`
/// line of a configuration file: the name and the raw value, or `None` when the line is not an
/// assignment.
pub(crate) fn parse_assignment(line: &str) -> Option<(&str, &str)> {
    let mut l = line.trim_start();
    l = l.strip_prefix("- ").unwrap_or(l).trim_start();
    l = l.strip_prefix("export ").unwrap_or(l);
    if l.starts_with('#') || l.starts_with("//") || l.starts_with(';') {
        return None;
    }
    let sep = l.find([':', '='])?;
    let name = l[..sep]
        .trim()
        .trim_matches(|c| c == '"' || c == '\'')
        .trim_start_matches('-');
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    {
        return None;
    }
    let mut value = l[sep + 1..].trim();
    if let Some(i) = value.find(" #") {
        value = value[..i].trim_end();
    }
    let value = value.trim_end_matches([',', ';']).trim();
    Some((name, value))
}

/// URLs with a password anywhere in a line of text: their schemes.
pub(crate) fn urls_with_password(line: &str) -> Vec<String> {
    line.split(|c: char| c.is_whitespace() || "\"'`,;()<>[]{}".contains(c))
        .filter(|w| w.contains("://"))
        .filter_map(url_with_password)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_names_into_words() {
        assert_eq!(
            name_tokens("MYSQL_ROOT_PASSWORD"),
            ["mysql", "root", "password"]
        );
        assert_eq!(name_tokens("apiKey"), ["api", "key"]);
        assert_eq!(
            name_tokens("s3SecretAccessKeyName"),
            ["s3", "secret", "access", "key", "name"]
        );
        assert_eq!(name_tokens("APIKey"), ["api", "key"]);
        assert_eq!(
            name_tokens("queue-sidecar-token-audiences"),
            ["queue", "sidecar", "token", "audiences"]
        );
    }

    #[test]
    fn recognises_provider_credential_names() {
        assert_eq!(
            secret_like_name("AZURE_STORAGE_KEY").as_deref(),
            Some("Azure storage account key")
        );
        assert_eq!(
            secret_like_name("OCI_CLI_KEY_CONTENT").as_deref(),
            Some("OCI API private key content")
        );
        assert_eq!(
            secret_like_name("dd-app-key").as_deref(),
            Some("Datadog application key")
        );
        // The file holding the key is not the key.
        assert_eq!(secret_like_name("OCI_CLI_KEY_FILE"), None);
        assert_eq!(secret_like_name("AZURE_STORAGE_ACCOUNT"), None);
    }

    #[test]
    fn recognises_secret_names_and_not_their_settings() {
        for name in [
            "DB_PASSWORD",
            "MYSQL_ROOT_PASSWORD",
            "GF_SECURITY_ADMIN_PASSWORD",
            "jwt_secret",
            "GITHUB_TOKEN",
            "api_key",
            "apiKey",
            "PRIVATE_KEY",
            "SECRET_KEY_BASE",
            "MINIO_SECRET_KEY",
            "client-secret",
            "dbpassword",
            "SMTP_PASS",
            "AZURE_STORAGE_ACCOUNT_KEY",
            "VAULT_SECRET_ID",
            "credentials",
            "REGISTRY_HTTP_SECRET",
            "token",
        ] {
            assert!(
                secret_like_name(name).is_some(),
                "{name} should look like a secret"
            );
        }
        for name in [
            "token_ttl",
            "password_min_length",
            "MIN_PASSWORD_LENGTH",
            "TLS_SECRET_NAME",
            "SECRETS_PATH",
            "REDIS_PASSWORD_FILE",
            "bearer_token_file",
            "TOKEN_URL",
            "AUTH_ENABLED",
            "AWS_ACCESS_KEY_ID",
            "configMapAndSecretChangeDetectionStrategy",
            "queue-sidecar-token-audiences",
            "PWD",
            "PASS_THROUGH",
            "storageSpecSecretName",
            "autoMountServiceAccountToken",
            "MAX_TOKENS",
            "KEY",
            "CACHE_KEY",
            "AUTH_PROXY_IMAGE",
            "DISCOVER_TOLERATION_KEY",
            "password_hash",
        ] {
            assert!(
                secret_like_name(name).is_none(),
                "{name} should not look like a secret"
            );
        }
    }

    #[test]
    fn recognises_values_that_are_not_secrets() {
        for v in [
            "",
            "  ",
            "true",
            "False",
            "$(DB_PASSWORD)",
            "${TOKEN}",
            "{{ .Values.password }}",
            "vault:secret/db#pw",
            "/var/run/secrets/token",
            "***HIDDEN***",
            "<your-password>",
            "INSERT_ETCD_DISCOVERY_TOKEN",
            "https://auth.example.com/token",
            "[]",
            "{\"type\": \"insecure\"}",
            "\"\"",
        ] {
            assert!(not_a_secret_value(v), "{v:?} is not a secret");
        }
        for v in [
            "hunter2",
            "changeme",
            "password",
            "Ple4seCh4ngeThisN0tAVerySecretV4lue",
            "1234",
            "minio123",
        ] {
            assert!(!not_a_secret_value(v), "{v:?} may be a secret");
        }
    }

    #[test]
    fn finds_passwords_in_urls_and_pem_keys() {
        assert_eq!(
            url_with_password("postgres://app:s3cr3t@db:5432/app").as_deref(),
            Some("postgres")
        );
        assert_eq!(url_with_password("postgres://app@db:5432/app"), None);
        assert_eq!(
            url_with_password("postgres://app:$(DB_PASSWORD)@db/app"),
            None
        );
        assert_eq!(url_with_password("https://example.com/a:b@c"), None);
        assert!(holds_private_key(
            "-----BEGIN RSA PRIVATE KEY-----\nMII...\n-----END RSA PRIVATE KEY-----"
        ));
        assert!(!holds_private_key("-----BEGIN CERTIFICATE-----\nMII..."));
        assert_eq!(
            literal_secret_hint("DATABASE_URL", "mysql://root:pw@db/x"),
            Some(SecretHint::UrlPassword("mysql".to_string()))
        );
        assert_eq!(literal_secret_hint("DB_PASSWORD", "$(PW)"), None);
        assert_eq!(
            urls_with_password("dsn = \"redis://:pw@cache:6379/0\""),
            vec!["redis".to_string()]
        );
    }

    #[test]
    fn parses_assignments_of_config_files() {
        assert_eq!(
            parse_assignment("  password: hunter2"),
            Some(("password", "hunter2"))
        );
        assert_eq!(
            parse_assignment("  \"token\": \"abc\","),
            Some(("token", "\"abc\""))
        );
        assert_eq!(
            parse_assignment("admin_password = admin"),
            Some(("admin_password", "admin"))
        );
        assert_eq!(parse_assignment("export DB_PASS=x"), Some(("DB_PASS", "x")));
        assert_eq!(
            parse_assignment("- --api-key=abc"),
            Some(("api-key", "abc"))
        );
        assert_eq!(
            parse_assignment("token: abc # rotate me"),
            Some(("token", "abc"))
        );
        assert_eq!(parse_assignment("# password: x"), None);
        assert_eq!(parse_assignment("some text: here"), None);
    }
}
