//! A policy's detector metadata: OPA's `# METADATA` annotation block (YAML in comments, the
//! convention Gatekeeper, Conftest and Regal users know) above its `package`, with detek's
//! fields under `custom:`.
//!
//! ```rego
//! # METADATA
//! # title: ingress-nginx controller affected by IngressNightmare
//! # description: What it detects and why it matters.
//! # related_resources:
//! #   - https://kubernetes.io/blog/2025/03/24/ingress-nginx-cve-2025-1974/
//! # custom:
//! #   id: ingress_nginx_ingressnightmare
//! #   level: Fatal
//! #   solution: Upgrade the controller to v1.11.5, v1.12.1 or later.
//! #   labels: [security]
//! #   requires: [deployments, daemonsets, pods]
//! package detek.ingress_nginx_ingressnightmare
//! ```

use detek_core::Level;
use detek_kubernetes_model::model::{KINDS, KindInfo};
use serde::Deserialize;

/// What a policy needs collected: a kind detek models (`pods`), or a custom resource kind
/// (`cert-manager.io/Certificate`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Requirement {
    Kind(&'static str),
    Custom { group: String, kind: String },
}

impl Requirement {
    /// Read one `requires` entry: a kind's plural (`pods`), its key (`kubernetes/pods`), or
    /// `group/Kind` for a kind detek has no type for.
    pub fn parse(entry: &str) -> Result<Requirement, String> {
        let plural = entry.strip_prefix("kubernetes/").unwrap_or(entry);
        if let Some(info) = kind_by_plural(plural) {
            return Ok(Requirement::Kind(info.plural));
        }
        if let Some((group, kind)) = entry.rsplit_once('/')
            && !group.is_empty()
            && kind.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        {
            if let Some(info) = KINDS.iter().find(|k| k.group == group && k.kind == kind) {
                return Ok(Requirement::Kind(info.plural));
            }
            return Ok(Requirement::Custom {
                group: group.to_string(),
                kind: kind.to_string(),
            });
        }
        let known: Vec<&str> = KINDS.iter().map(|k| k.plural).collect();
        Err(format!(
            "unknown requirement {entry:?}: name a kind by its plural ({}) or a custom resource as group/Kind (cert-manager.io/Certificate)",
            known.join(", ")
        ))
    }

    /// The store key this requirement is collected into.
    pub fn key(&self) -> &'static str {
        match self {
            Requirement::Kind(plural) => kind_by_plural(plural).map_or("", |k| k.key),
            Requirement::Custom { .. } => detek_kubernetes_model::model::CUSTOM_RESOURCES.id(),
        }
    }
}

pub(crate) fn kind_by_plural(plural: &str) -> Option<&'static KindInfo> {
    KINDS.iter().find(|k| k.plural == plural)
}

/// A policy's metadata, checked.
#[derive(Debug, Clone)]
pub struct PolicyMeta {
    pub id: String,
    pub title: String,
    pub description: String,
    pub solution: String,
    pub example: String,
    pub level: Level,
    pub labels: Vec<String>,
    pub requires: Vec<Requirement>,
    pub references: Vec<String>,
    /// 1-based line of `# METADATA`.
    pub line: u32,
}

/// Metadata that could not be read: the line it is about and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataError {
    pub line: u32,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Annotation {
    title: Option<String>,
    description: Option<String>,
    #[serde(default)]
    related_resources: Vec<RelatedResource>,
    custom: Option<Custom>,
    // OPA's other annotation fields, accepted and not used.
    #[allow(dead_code)]
    scope: Option<String>,
    #[allow(dead_code)]
    #[serde(default)]
    authors: Vec<serde_json::Value>,
    #[allow(dead_code)]
    #[serde(default)]
    organizations: Vec<String>,
    #[allow(dead_code)]
    schemas: Option<serde_json::Value>,
    #[allow(dead_code)]
    entrypoint: Option<bool>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RelatedResource {
    Url(String),
    Ref {
        #[serde(rename = "ref")]
        reference: String,
        #[allow(dead_code)]
        description: Option<String>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Custom {
    id: Option<String>,
    level: Option<String>,
    solution: Option<String>,
    #[serde(default)]
    example: String,
    #[serde(default)]
    labels: Vec<String>,
    #[serde(default)]
    requires: Vec<String>,
}

/// The line of the first `# METADATA` comment, and the YAML of its block.
fn metadata_block(source: &str) -> Option<(u32, String)> {
    let mut lines = source.lines().enumerate();
    let (start, _) = lines.find(|(_, l)| l.trim() == "# METADATA")?;
    let mut yaml = String::new();
    for (_, line) in lines {
        let Some(comment) = line.trim_start().strip_prefix('#') else {
            break;
        };
        yaml.push_str(comment.strip_prefix(' ').unwrap_or(comment));
        yaml.push('\n');
    }
    Some((start as u32 + 1, yaml))
}

/// Whether `source` has a `# METADATA` block (a detector) or not (a library of helpers).
pub fn has_metadata(source: &str) -> bool {
    metadata_block(source).is_some()
}

/// Read and check the metadata of a policy.
pub fn parse(source: &str) -> Result<PolicyMeta, MetadataError> {
    let Some((line, yaml)) = metadata_block(source) else {
        return Err(MetadataError {
            line: 1,
            message: "no `# METADATA` block (a detector needs one above its package)".into(),
        });
    };
    let error = |message: String| MetadataError { line, message };
    let annotation: Annotation = serde_saphyr::from_str(&yaml)
        .map_err(|e| error(format!("the METADATA block is not valid: {e}")))?;
    let custom = annotation.custom.ok_or_else(|| {
        error("METADATA has no `custom:` with id, level, solution and requires".into())
    })?;
    let id = custom
        .id
        .ok_or_else(|| error("METADATA custom.id is missing".into()))?;
    if !detek_core::is_detector_id(&id) {
        return Err(error(format!(
            "METADATA custom.id {id:?} must be snake_case: lowercase letters, digits and _, starting with a letter"
        )));
    }
    let title = annotation
        .title
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| error("METADATA title is missing".into()))?;
    let description = annotation
        .description
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| error("METADATA description is missing".into()))?;
    let level_text = custom
        .level
        .ok_or_else(|| error("METADATA custom.level is missing (Fatal, Error or Warn)".into()))?;
    let level: Level = level_text
        .parse()
        .map_err(|e: String| error(format!("METADATA custom.level: {e}")))?;
    if !matches!(level, Level::Fatal | Level::Error | Level::Warn) {
        return Err(error(format!(
            "METADATA custom.level {level_text:?}: a detector's findings are Fatal, Error or Warn"
        )));
    }
    let solution = custom
        .solution
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| error("METADATA custom.solution is missing".into()))?;
    if custom.requires.is_empty() {
        return Err(error(
            "METADATA custom.requires is missing: list the kinds the policy reads (pods, deployments, cert-manager.io/Certificate)".into(),
        ));
    }
    let mut requires = Vec::new();
    for entry in &custom.requires {
        requires.push(
            Requirement::parse(entry)
                .map_err(|e| error(format!("METADATA custom.requires: {e}")))?,
        );
    }
    requires.sort();
    requires.dedup();
    Ok(PolicyMeta {
        id,
        title: title.trim().to_string(),
        description: description.trim().to_string(),
        solution: solution.trim().to_string(),
        example: custom.example.trim().to_string(),
        level,
        labels: custom.labels,
        requires,
        references: annotation
            .related_resources
            .into_iter()
            .map(|r| match r {
                RelatedResource::Url(url) => url,
                RelatedResource::Ref { reference, .. } => reference,
            })
            .collect(),
        line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "# METADATA\n# title: Pods without limits\n# description: |\n#   What and why.\n# related_resources:\n#   - https://example.com/a\n#   - ref: https://example.com/b\n# custom:\n#   id: no_limits\n#   level: Warn\n#   solution: Set limits.\n#   labels: [resources]\n#   requires: [pods, cert-manager.io/Certificate, apps/Deployment]\npackage detek.no_limits\n";

    #[test]
    fn reads_every_field() {
        let meta = parse(GOOD).unwrap();
        assert_eq!(meta.id, "no_limits");
        assert_eq!(meta.title, "Pods without limits");
        assert_eq!(meta.description, "What and why.");
        assert_eq!(meta.level, Level::Warn);
        assert_eq!(meta.labels, ["resources"]);
        assert_eq!(
            meta.requires,
            [
                Requirement::Kind("deployments"),
                Requirement::Kind("pods"),
                Requirement::Custom {
                    group: "cert-manager.io".into(),
                    kind: "Certificate".into()
                }
            ]
        );
        assert_eq!(
            meta.references,
            ["https://example.com/a", "https://example.com/b"]
        );
        assert_eq!(meta.line, 1);
    }

    #[test]
    fn each_mistake_is_named_with_its_line() {
        let cases = [
            (
                GOOD.replace("#   level: Warn\n", ""),
                "custom.level is missing",
            ),
            (
                GOOD.replace("level: Warn", "level: Loud"),
                "unknown level \"loud\"",
            ),
            (
                GOOD.replace("id: no_limits", "id: No-Limits"),
                "must be snake_case",
            ),
            (
                GOOD.replace("requires: [pods", "requires: [pod"),
                "unknown requirement \"pod\"",
            ),
            (
                GOOD.replace("#   solution: Set limits.\n", ""),
                "custom.solution is missing",
            ),
            (
                GOOD.replace("labels:", "lables:"),
                "the METADATA block is not valid",
            ),
            ("package x\n".to_string(), "no `# METADATA` block"),
        ];
        for (source, expected) in cases {
            let err = parse(&source).unwrap_err();
            assert!(
                err.message.contains(expected),
                "{expected:?} not in {:?}",
                err.message
            );
        }
        let shifted = format!("# a comment\n\n{GOOD}").replace("level: Warn", "level: Info");
        assert_eq!(parse(&shifted).unwrap_err().line, 3);
    }
}
