//! `detek.yaml`: thresholds, allowed registries, level overrides, named detector sets and
//! ignore rules. Found in the working directory or given with `--config`.
//!
//! ```yaml
//! targetVersion: "1.32"
//! allowedRegistries: [registry.example.com, ghcr.io/acme]
//! detectors:
//!   pod_restarting:
//!     level: Error        # level override
//!     threshold: 10       # any other key is a setting the detector declares
//!   image_tag_latest:
//!     enabled: false      # left out of the default set
//! sets:
//!   ci: [workloads, networking, -pod_without_liveness_probe]
//! policyDirs: [policies/]  # Rego detectors (docs/policies.md)
//! ssh:                     # node checks over SSH (docs/nodes.md)
//!   nodes: true            # the cluster's Nodes, as --ssh
//!   user: core
//!   hosts: {bastion-pool: [10.0.0.11, 10.0.0.12]}
//! ignore:
//!   - detector: run_as_root
//!     namespace: monitoring
//!     name: "node-exporter*"
//!     reason: node-exporter needs host access
//! ```
//! Unknown keys and wrong types are errors that name the key: a detector's settings are checked
//! against what it declares (`detek explain ID`), and the error names the valid keys.

use anyhow::{Context, Result, bail};
use detek_core::{Catalogue, DetectorConfig, Settings};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_saphyr::Spanned;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

pub const DEFAULT_FILES: &[&str] = &["detek.yaml", ".detek.yaml"];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Config {
    /// Kubernetes version to check API deprecations against.
    #[serde(default)]
    pub target_version: Option<String>,
    /// Registries images may come from (`image_from_unknown_registry`).
    #[serde(default)]
    pub allowed_registries: Option<Vec<String>>,
    /// Per detector: `level`, `enabled`, and settings.
    #[serde(default)]
    pub detectors: BTreeMap<String, DetectorConfig>,
    /// Named detector sets: ids or labels, `-name` to leave one out.
    #[serde(default)]
    pub sets: BTreeMap<String, Vec<String>>,
    /// Findings to suppress (kept and counted in the report, marked with the reason).
    #[serde(default)]
    pub ignore: Vec<IgnoreRule>,
    /// Where the metric detectors read from (docs/prometheus.md); flags override it.
    #[serde(default)]
    pub prometheus: Option<PrometheusConfig>,
    /// Restart forensics: the user's causes and log-signature tables, tried after the
    /// built-in ones (docs/restart-forensics.md).
    #[serde(default)]
    pub forensics: Option<ForensicsConfig>,
    /// Directories of Rego detectors (docs/policies.md), relative to the config file; added
    /// to the `--policy-dir` flags.
    #[serde(default)]
    pub policy_dirs: Vec<PathBuf>,
    /// Time one policy's evaluation may take (`5s`, `500ms`); default 5s.
    #[serde(default)]
    pub policy_timeout: Option<String>,
    /// The node checks over SSH (docs/nodes.md): hosts, or the cluster's Nodes, and how to
    /// log in; the `--ssh*` flags override it.
    #[serde(default)]
    pub ssh: Option<crate::nodes::SshConfig>,
    #[serde(skip)]
    pub path: Option<PathBuf>,
    /// The file's text, to point validation errors at their line.
    #[serde(skip)]
    text: String,
}

/// The config file's `prometheus:` section: the same choices as the `--prometheus-*` and
/// `--metrics-url` flags. Secrets are named by file or environment variable, never written
/// in the file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PrometheusConfig {
    pub url: Option<String>,
    pub service: Option<String>,
    pub bearer_token_file: Option<PathBuf>,
    pub username: Option<String>,
    /// The environment variable holding the basic-auth password (default
    /// DETEK_PROMETHEUS_PASSWORD).
    pub password_env: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    #[serde(default)]
    pub metrics_urls: Vec<String>,
}

/// The config file's `forensics:` section: files in the format of the built-in tables, paths
/// relative to the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ForensicsConfig {
    #[serde(default)]
    pub causes: Vec<PathBuf>,
    #[serde(default)]
    pub log_signatures: Vec<PathBuf>,
}

/// Where the keys that validation can reject are written: serde-saphyr's spans of
/// `detectors.ID`, `detectors.ID.KEY`, `sets.NAME` and `ignore[i]`.
#[derive(Default, Deserialize)]
struct KeyLines {
    #[serde(default)]
    detectors: HashMap<Spanned<String>, Option<HashMap<Spanned<String>, IgnoredAny>>>,
    #[serde(default)]
    sets: HashMap<Spanned<String>, IgnoredAny>,
    #[serde(default)]
    ignore: Vec<Spanned<IgnoredAny>>,
}

impl KeyLines {
    /// The line of a key path (`["detectors", "pod_restarting", "threshold"]`, `["ignore", "2"]`).
    fn line_of(&self, path: &[&str]) -> Option<u64> {
        fn key<V>(map: &HashMap<Spanned<String>, V>, name: &str) -> Option<u64> {
            map.keys()
                .find(|k| k.value == name)
                .map(|k| k.referenced.line())
        }
        match path {
            ["detectors", id] => key(&self.detectors, id),
            ["detectors", id, setting] => self
                .detectors
                .iter()
                .find(|(k, _)| k.value == *id)
                .and_then(|(_, v)| key(v.as_ref()?, setting)),
            ["sets", name] => key(&self.sets, name),
            ["ignore", i] => self
                .ignore
                .get(i.parse::<usize>().ok()?)
                .map(|v| v.referenced.line()),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IgnoreRule {
    /// Detector id (or `*`).
    pub detector: String,
    /// Namespace glob; absent = any.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Object name glob; absent = any.
    #[serde(default)]
    pub name: Option<String>,
    /// Object kind; absent = any.
    #[serde(default)]
    pub kind: Option<String>,
    pub reason: String,
}

impl Config {
    /// `--config PATH`, else `detek.yaml`/`.detek.yaml` in the working directory, else none.
    pub fn discover(explicit: Option<&Path>) -> Result<Config> {
        let path = match explicit {
            Some(p) => Some(p.to_path_buf()),
            None => DEFAULT_FILES
                .iter()
                .map(PathBuf::from)
                .find(|p| p.is_file()),
        };
        let Some(path) = path else {
            return Ok(Config::default());
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        let mut config = Config::parse(&text).map_err(|e| {
            // serde-saphyr names the text `<input>` and starts with `error: `: name the file.
            let message = e.to_string();
            let message = message.strip_prefix("error: ").unwrap_or(&message);
            let message = message.replace("<input>", &path.display().to_string());
            anyhow::anyhow!("invalid config file {}: {message}", path.display())
        })?;
        config.path = Some(path);
        config.text = text;
        Ok(config)
    }

    /// Install the user's restart-forensics tables for this process (built-in ones when the
    /// config names none); a file that cannot be read or parsed is an error naming it.
    pub fn install_forensics(&self) -> Result<()> {
        let Some(f) = &self.forensics else {
            return Ok(());
        };
        let base = self
            .path
            .as_deref()
            .and_then(Path::parent)
            .unwrap_or(Path::new(""));
        let resolve =
            |paths: &[PathBuf]| -> Vec<PathBuf> { paths.iter().map(|p| base.join(p)).collect() };
        let options = detek_kubernetes::forensics::Options::with_files(
            &resolve(&f.causes),
            &resolve(&f.log_signatures),
        )
        .map_err(|e| anyhow::anyhow!("config file forensics: {e}"))?;
        // A second install in one process (tests) keeps the first tables.
        let _ = detek_kubernetes::forensics::install(options);
        Ok(())
    }

    /// The policy directories it names, resolved against the config file's directory.
    pub fn policy_dirs(&self) -> Vec<PathBuf> {
        let base = self
            .path
            .as_deref()
            .and_then(Path::parent)
            .unwrap_or(Path::new(""));
        self.policy_dirs.iter().map(|p| base.join(p)).collect()
    }

    pub fn parse(text: &str) -> Result<Config> {
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        let config: Config = serde_saphyr::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(config)
    }

    /// Check names against the catalogue: unknown detectors, unknown settings (naming the valid
    /// keys), wrong types, bad levels and sets are errors (core's catalogue), then ignore rules.
    /// The error names the file and the line of the key, with that line, when the config came
    /// from a file.
    pub fn validate(&self, catalogue: &Catalogue) -> Result<()> {
        let Err((key, message)) = self.check(catalogue) else {
            return Ok(());
        };
        let Some(path) = &self.path else {
            bail!("{message}");
        };
        let path = path.display();
        let line = serde_saphyr::from_str::<KeyLines>(&self.text)
            .ok()
            .and_then(|lines| lines.line_of(&key.iter().map(String::as_str).collect::<Vec<_>>()));
        match line.and_then(|n| Some((n, self.text.lines().nth(n.checked_sub(1)? as usize)?))) {
            Some((n, text)) => bail!("invalid config file {path}:{n}: {message}\n{n:>4} | {text}"),
            None => bail!("invalid config file {path}: {message}"),
        }
    }

    /// [`Config::validate`]'s checks: the first error, with the key path it is about.
    fn check(&self, catalogue: &Catalogue) -> Result<(), (Vec<String>, String)> {
        use detek_core::CatalogueError as E;
        if let Err(err) = catalogue.validate(&self.detectors, &self.sets) {
            let key: Vec<String> = match &err {
                E::UnknownDetector { id, .. } => vec!["detectors".into(), id.clone()],
                E::UnknownSetting { detector, key, .. } | E::SettingType { detector, key, .. } => {
                    vec!["detectors".into(), detector.clone(), key.clone()]
                }
                E::BadLevel { detector, .. } => {
                    vec!["detectors".into(), detector.clone(), "level".into()]
                }
                E::BadSet { set, .. } => vec!["sets".into(), set.clone()],
                _ => Vec::new(),
            };
            return Err((key, err.to_string()));
        }
        for (i, rule) in self.ignore.iter().enumerate() {
            let key = vec!["ignore".to_string(), i.to_string()];
            if rule.detector != "*" && catalogue.get(&rule.detector).is_none() {
                return Err((
                    key,
                    format!(
                        "ignore[{i}].detector: no such detector {:?}{}",
                        rule.detector,
                        catalogue.suggestion(&rule.detector)
                    ),
                ));
            }
            if rule.reason.trim().is_empty() {
                return Err((
                    key,
                    format!("ignore[{i}].reason: say why the finding is accepted"),
                ));
            }
            for glob in [&rule.namespace, &rule.name].into_iter().flatten() {
                if let Err(e) = globset::Glob::new(glob) {
                    return Err((key, format!("ignore[{i}]: bad glob {glob:?}: {e}")));
                }
            }
        }
        Ok(())
    }

    /// Settings from the config (CLI flags are applied on top by the caller). Files named by
    /// settings (known component issues) are read here, relative to the config file; a bad
    /// file is an error naming it.
    pub fn settings(&self, catalogue: &Catalogue) -> Result<Settings> {
        let mut settings = Settings::new();
        if let Some(v) = &self.target_version {
            settings.set(
                "kubernetes.target_version",
                v.trim_start_matches('v').to_string(),
            );
        }
        if let Some(regs) = &self.allowed_registries {
            settings.set(
                "image_from_unknown_registry.allowed_registries",
                serde_json::json!(regs),
            );
        }
        catalogue.apply_settings(&self.detectors, &mut settings);
        if let Some(files) = self
            .detectors
            .get("known_component_issue")
            .and_then(|d| d.settings.get("files"))
        {
            let files: Vec<String> = serde_json::from_value(files.clone()).map_err(|_| {
                anyhow::anyhow!("detectors.known_component_issue.files: expected a list of paths")
            })?;
            let base = self
                .path
                .as_deref()
                .and_then(Path::parent)
                .unwrap_or(Path::new("."));
            let mut entries = Vec::new();
            for file in files {
                let path = base.join(&file);
                let text = std::fs::read_to_string(&path).with_context(|| {
                    format!(
                        "detectors.known_component_issue.files: cannot read {}",
                        path.display()
                    )
                })?;
                entries.extend(
                    detek_kubernetes::detectors::parse_known_component_issues(
                        &text,
                        &path.display().to_string(),
                    )
                    .map_err(|e| anyhow::anyhow!("detectors.known_component_issue.files: {e}"))?,
                );
            }
            settings.set(
                detek_kubernetes::detectors::KNOWN_COMPONENT_ISSUE_ENTRIES,
                serde_json::to_value(entries)?,
            );
        }
        Ok(settings)
    }
}

/// Ignore rules from the config file.
pub struct RuleSuppressor {
    rules: Vec<(
        IgnoreRule,
        Option<globset::GlobMatcher>,
        Option<globset::GlobMatcher>,
    )>,
}

impl RuleSuppressor {
    pub fn new(rules: &[IgnoreRule]) -> RuleSuppressor {
        let glob = |g: &Option<String>| {
            g.as_ref()
                .and_then(|g| globset::Glob::new(g).ok())
                .map(|g| g.compile_matcher())
        };
        RuleSuppressor {
            rules: rules
                .iter()
                .map(|r| (r.clone(), glob(&r.namespace), glob(&r.name)))
                .collect(),
        }
    }
}

impl detek_core::Suppressor for RuleSuppressor {
    fn suppress(
        &self,
        _store: &detek_core::Store,
        detector: &detek_core::DetectorMeta,
        finding: &detek_core::Finding,
    ) -> Option<String> {
        let object = finding.object.as_ref();
        self.rules.iter().find_map(|(rule, ns, name)| {
            let detector_ok = rule.detector == "*" || rule.detector == detector.id;
            let kind_ok = rule
                .kind
                .as_ref()
                .is_none_or(|k| object.is_some_and(|o| o.kind.eq_ignore_ascii_case(k)));
            let ns_ok = ns.as_ref().is_none_or(|m| {
                object.is_some_and(|o| m.is_match(o.namespace.as_deref().unwrap_or("")))
            });
            let name_ok = name
                .as_ref()
                .is_none_or(|m| object.is_some_and(|o| m.is_match(&o.name)));
            (detector_ok && kind_ok && ns_ok && name_ok)
                .then(|| format!("config ignore rule: {}", rule.reason))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_and_wrong_types_name_the_key() {
        let err = Config::parse("allowedRegistrys: [a]")
            .unwrap_err()
            .to_string();
        assert!(err.contains("allowedRegistrys"), "{err}");
        let err = Config::parse("ignore:\n- detector: x\n  reason: y\n  nmae: z\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("nmae"), "{err}");
        let err = Config::parse("detectors:\n  pod_restarting:\n    enabled: maybe\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("enabled") || err.contains("bool"), "{err}");
    }

    #[test]
    fn detector_entries_become_settings() {
        let c = Config::parse("targetVersion: v1.30\ndetectors:\n  pod_restarting:\n    threshold: 10\n    level: Error\n").unwrap();
        let s = c.settings(&crate::catalogue::catalogue().unwrap()).unwrap();
        assert_eq!(s.get_or("pod_restarting.threshold", 0), 10);
        assert_eq!(s.get_str("kubernetes.target_version"), Some("1.30"));
        assert_eq!(
            c.detectors["pod_restarting"].level.as_deref(),
            Some("Error")
        );
    }
}
