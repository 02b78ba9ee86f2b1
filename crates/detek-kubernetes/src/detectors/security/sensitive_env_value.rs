use super::{checked_container_specs, containers, literal_secret_hint};
use crate::prelude::*;

/// ## What it detects
/// Environment variables of containers (init, regular, ephemeral) that carry a secret as a
/// literal `value` instead of a reference (`valueFrom.secretKeyRef`). The finding names the
/// container and the variable; the value is never printed, not even in part. A variable is
/// reported when:
///
/// - its **name** looks like a secret: split into words (`MYSQL_ROOT_PASSWORD`, `apiKey`,
///   `s3SecretAccessKey`), one of the last two words is `password`, `passwd`, `passphrase`,
///   `secret`, `token`, `credential(s)`, `creds` (or ends in one: `DBPASSWORD`), or a pair
///   like `api_key`, `private_key`, `secret_key`, `access_key`, `account_key`,
///   `connection_string`, or the name ends in `_PASS` or is `..._SECRET_ID`; and no word says
///   the variable is *about* a secret rather than one: `token_ttl`, `password_min_length`,
///   `secret_name`, `password_file`, `token_url`, `auth_enabled`, `access_key_id`,
///   `password_hash`... (`PWD` is the working directory, not a password); or it is a
///   provider credential those words miss, from a curated list with sources
///   (`AZURE_STORAGE_KEY`, `OCI_CLI_KEY_CONTENT`, `DD_APP_KEY`, `NEW_RELIC_LICENSE_KEY`...);
/// - and its **value** is not obviously something else: empty, a boolean, a reference
///   (`$(VAR)`, `${VAR}`, `{{ ... }}`, `vault:`, `ref+`, a secret manager ARN), a path, a URL
///   without credentials, a masked value (`***`, `REDACTED`) or a placeholder (`<password>`,
///   `INSERT_TOKEN_HERE`, an all-caps variable name);
/// - or, whatever the name, the value is a URL with a password (`postgres://app:pw@db`) or a
///   PEM private key.
///
/// Real Pods are checked when the scan has any, workload templates otherwise.
/// Static Pods of the control plane (mirror Pods) are skipped: files on the node define them.
///
/// ## Why it matters
/// A literal value is stored in plain text wherever the manifest goes: the Git repository and
/// its forks, CI logs, Helm release history, `kubectl get -o yaml` output, and every backup of
/// etcd, readable by anyone who can read the workload (RBAC `get deployments` is not `get
/// secrets`). It cannot be rotated without a redeploy. Default passwords left in examples
/// (`changeme`, `password`) end up in production.
///
/// ## How to fix
/// Put the value in a Secret (`kubectl create secret generic db --from-literal=password=...`)
/// or an external secret store, and reference it:
/// `env: [{name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: db, key: password}}}]`.
/// Then rotate the value: it has been exposed. List literal env values with
/// `kubectl get deploy -A -o json | jq -r '.items[] | .metadata.name as $d | .spec.template.spec.containers[].env[]? | select(.value) | "\($d) \(.name)"'`.
///
/// ## Example
/// ```yaml
/// env:
/// - name: DB_PASSWORD
///   value: hunter2            # fires (the value is never shown)
/// - name: PASSWORD_MIN_LENGTH
///   value: "12"               # fine: a setting, not a secret
/// - name: API_TOKEN
///   valueFrom:
///     secretKeyRef: {name: api, key: token}   # fine
/// ```
#[detector(
    id = "sensitive_env_value",
    title = "Secrets written as literal environment variable values",
    labels = ["kubernetes", "security", "pod", "secrets"],
    level = Error,
    requires = [POD_SPECS],
    references = [
        "https://kubernetes.io/docs/concepts/configuration/secret/#using-secrets-as-environment-variables",
        "https://kubernetes.io/docs/concepts/security/secrets-good-practices/",
    ],
)]
pub struct SensitiveEnvValue;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let specs = checked_container_specs(ctx.get(&POD_SPECS)?);
    let mut out = Outcome::new().evaluated(specs.len());
    for view in &specs {
        for c in containers(view) {
            for var in c.env {
                let Some(value) = var.value.as_deref() else {
                    continue;
                };
                let Some(hint) = literal_secret_hint(&var.name, value) else {
                    continue;
                };
                out.push(
                    Finding::new(
                        Level::Error,
                        Some(view.container_ref(c.name)),
                        format!(
                            "{}: {}",
                            c.label(),
                            hint.describe(&format!("env {}", var.name))
                        ),
                    )
                    .with_revision_of(view),
                );
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    /// Provider credentials whose names the word rules miss, from the curated list.
    #[test]
    fn names_listed_provider_credentials() {
        let report =
            crate::testing::run_fixture("sensitive_env_value", "fail_provider_credentials.yaml");
        assert_eq!(
            crate::testing::finding_lines(&report),
            [
                "Deployment/ops/backup [backup]: container \"backup\": env AZURE_STORAGE_KEY has a \
                 literal value and a name that looks like a secret (Azure storage account key)",
                "Deployment/ops/backup [backup]: container \"backup\": env DD_APP_KEY has a literal \
                 value and a name that looks like a secret (Datadog application key)",
            ]
        );
        assert!(!crate::testing::reported(&report).contains("bm90LWEtcmVhbC1rZXk"));
    }

    use crate::testing::{finding_pairs, reported, run_fixture};

    #[test]
    fn names_the_variable_and_never_the_value() {
        let report = run_fixture("sensitive_env_value", "fail.yaml");
        let got = finding_pairs(&report);
        assert_eq!(
            got,
            vec![(
                "Deployment/wordpress-mysql [mysql]".to_string(),
                "container \"mysql\": env MYSQL_ROOT_PASSWORD has a literal value and a name that looks like a secret (password)"
            ),]
        );
        // The fixture's values must appear nowhere in what detek reports.
        let fixture = std::fs::read_to_string(
            crate::testing::fixture_dir("sensitive_env_value").join("fail.yaml"),
        )
        .unwrap();
        assert!(fixture.contains("value: changeme"));
        let json = reported(&report);
        assert!(!json.contains("changeme"), "{json}");

        let report = run_fixture("sensitive_env_value", "fail_handwritten.yaml");
        let messages: Vec<_> = report.findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            vec![
                "init container \"migrate\": env DB_PASS has a literal value and a name that looks like a secret (pass)",
                "container \"api\": env DB_PASSWORD has a literal value and a name that looks like a secret (password)",
                "container \"api\": env DATABASE_URL has a literal value with a password in a postgres:// URL",
                "container \"api\": env SIGNING_KEY has a literal value holding a PEM private key",
                "container \"api\": env apiKey has a literal value and a name that looks like a secret (api_key)",
            ]
        );
        let json = reported(&report);
        for secret in [
            "hunter2",
            "s3cr3t-pw",
            "MIIEvQIBADANBg",
            "k-29f8a7c6e5d4",
            "tr0ub4dor",
        ] {
            assert!(!json.contains(secret), "{secret} leaked: {json}");
        }
        assert!(run_fixture("sensitive_env_value", "pass.yaml").passed);
        assert!(run_fixture("sensitive_env_value", "pass_handwritten.yaml").passed);
    }
}
