use crate::detectors::helpers::ImageRef;
use crate::prelude::*;
use crate::version;
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::LazyLock;

/// ## What it detects
/// Containers running a component version with a known bug or vulnerability, from the table in
/// `crates/detek-kubernetes/data/known-component-issues.yaml` (ingress-nginx IngressNightmare,
/// kube-proxy and kube-apiserver CVEs, etcd data inconsistency, Cilium < 1.5.4...) plus the
/// entries of your own files. Components are recognised by image name (glob patterns on the
/// normalised name, `**/ingress-nginx/controller` matches mirrors too) and their version is read
/// from the image tag; images pinned by digest only or tagged `latest` cannot be judged and are
/// counted in a note. Pods of one controller are reported once per issue.
///
/// Your own files use the same format (docs/known-component-issues.md) and are listed in the
/// setting `files` (config file: `detectors.known_component_issue.files`, paths relative to the
/// config file); the CLI reads and checks them when it loads the config.
///
/// ## Why it matters
/// These are bugs other operators already paid for: an outage pattern (Pod → Service →
/// LoadBalancer traffic broken by an old Cilium), silent data divergence (etcd 3.5.0-3.5.5), or
/// a vulnerability with a public exploit (CVE-2025-1974 lets any Pod take over ingress-nginx
/// and read every Secret). The fix is known and usually a patch upgrade; the only hard part is
/// knowing that you are affected.
///
/// ## How to fix
/// Upgrade the component to a fixed version given in the finding (the references explain the
/// mitigations when you cannot upgrade at once). `kubectl get pods -A -o
/// jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name}{"\t"}{.spec.containers[*].image}{"\n"}{end}'`
/// lists what runs where. To track an issue of your own, add it to a file listed in the
/// setting `files`.
///
/// ## Example
/// ```yaml
/// containers:
/// - name: controller
///   image: registry.k8s.io/ingress-nginx/controller:v1.11.2   # fires: CVE-2025-1974, fixed in 1.11.5
/// ```
#[detector(
    id = "known_component_issue",
    title = "Components running a version with a known bug or vulnerability",
    labels = ["kubernetes", "cluster", "security", "upgrade"],
    level = Error,
    requires = [POD_SPECS],
    references = ["https://kubernetes.io/docs/reference/issues-security/official-cve-feed/"],
    settings = KnownComponentIssueSettings,
)]
pub struct KnownComponentIssue;

/// Settings of `known_component_issue`.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct KnownComponentIssueSettings {
    /// Your own known-issue files (docs/known-component-issues.md), relative to the config file.
    pub files: Vec<String>,
    /// The entries of `files`, parsed by the CLI (this detector does no I/O); not a config key.
    #[setting(internal)]
    pub entries: Option<Vec<KnownComponentIssueEntry>>,
}

/// Where the CLI puts the entries of the user's files, as parsed by
/// [`parse_known_component_issues`] ([`KnownComponentIssueSettings::entries`], internal: the
/// config file cannot set it).
pub const ENTRIES_SETTING: &str = "known_component_issue.entries";

/// One entry of a known-component-issues file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KnownComponentIssueEntry {
    /// A CVE or a short name: `CVE-2025-1974`.
    pub id: String,
    /// What the images are: `ingress-nginx controller`.
    pub component: String,
    /// Glob patterns on the normalised image name (`registry/repository`, no tag):
    /// `**/ingress-nginx/controller`; `*` does not cross `/`, `**` does, `{a,b}` alternates.
    pub images: Vec<String>,
    /// Version ranges, any of which makes a version affected; each a comma-separated list of
    /// comparisons that must all hold: `">= 1.12.0, < 1.12.1"`.
    pub affected: Vec<String>,
    /// First fixed versions, for the finding.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fixed_in: Vec<String>,
    /// What goes wrong, for an on-call operator.
    pub symptom: String,
    /// What to do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// `Fatal`, `Error` (default) or `Warn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    /// Where the entry comes from (file name), for the finding; set by the loader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IssueFile {
    issues: Vec<KnownComponentIssueEntry>,
}

/// Parse a known-component-issues file (the format of `data/known-component-issues.yaml`,
/// documented in `docs/known-component-issues.md`) and check every entry: globs, version
/// ranges, level. `source` (the file name) is recorded in each entry and named in errors.
/// The result, as JSON, is what the setting `known_component_issue.entries` holds; entries of
/// several files are concatenated.
pub fn parse_known_component_issues(
    text: &str,
    source: &str,
) -> Result<Vec<KnownComponentIssueEntry>, String> {
    let file: IssueFile = serde_saphyr::from_str(text).map_err(|e| format!("{source}: {e}"))?;
    let mut entries = file.issues;
    for entry in &mut entries {
        entry.source = Some(source.to_string());
        Compiled::new(entry).map_err(|e| format!("{source}: issue {}: {e}", entry.id))?;
    }
    Ok(entries)
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
}

type Triple = (u64, u64, u64);

/// An entry ready to match.
struct Compiled {
    entry: KnownComponentIssueEntry,
    images: GlobSet,
    /// Any of these ranges; each all of its comparisons.
    ranges: Vec<Vec<(Op, Triple)>>,
    level: Level,
}

impl Compiled {
    fn new(entry: &KnownComponentIssueEntry) -> Result<Compiled, String> {
        if entry.images.is_empty() || entry.affected.is_empty() {
            return Err("`images` and `affected` must not be empty".to_string());
        }
        let mut set = GlobSetBuilder::new();
        for pattern in &entry.images {
            let glob = GlobBuilder::new(pattern)
                .literal_separator(true)
                .build()
                .map_err(|e| format!("image pattern {pattern:?}: {e}"))?;
            set.add(glob);
        }
        let images = set.build().map_err(|e| e.to_string())?;
        let mut ranges = Vec::new();
        for range in &entry.affected {
            let mut all = Vec::new();
            for part in range.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let (op, rest) = [
                    ("<=", Op::Le),
                    (">=", Op::Ge),
                    ("<", Op::Lt),
                    (">", Op::Gt),
                    ("==", Op::Eq),
                    ("=", Op::Eq),
                ]
                .iter()
                .find_map(|(p, op)| part.strip_prefix(p).map(|r| (*op, r.trim())))
                .ok_or_else(|| {
                    format!(
                        "version range {range:?}: {part:?} does not start with <, <=, >, >= or ="
                    )
                })?;
                let v = version::parse(rest)
                    .ok_or_else(|| format!("version range {range:?}: {rest:?} is not a version"))?;
                all.push((op, v));
            }
            if all.is_empty() {
                return Err(format!("version range {range:?} is empty"));
            }
            ranges.push(all);
        }
        let level = match entry.level.as_deref() {
            None | Some("Error") => Level::Error,
            Some("Fatal") => Level::Fatal,
            Some("Warn") => Level::Warn,
            Some(other) => return Err(format!("level {other:?} is not Fatal, Error or Warn")),
        };
        Ok(Compiled {
            entry: entry.clone(),
            images,
            ranges,
            level,
        })
    }

    fn affects(&self, v: Triple) -> bool {
        self.ranges.iter().any(|all| {
            all.iter().all(|(op, bound)| match op {
                Op::Lt => v < *bound,
                Op::Le => v <= *bound,
                Op::Gt => v > *bound,
                Op::Ge => v >= *bound,
                Op::Eq => v == *bound,
            })
        })
    }
}

/// The table shipped with detek.
static BUILTIN: LazyLock<Vec<KnownComponentIssueEntry>> = LazyLock::new(|| {
    parse_known_component_issues(
        include_str!("../../../data/known-component-issues.yaml"),
        "data/known-component-issues.yaml",
    )
    .expect("data/known-component-issues.yaml is valid")
});

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let settings: KnownComponentIssueSettings = ctx.settings_of()?;
    let mut entries: Vec<KnownComponentIssueEntry> = BUILTIN.clone();
    match settings.entries {
        Some(user) => entries.extend(user),
        None if !settings.files.is_empty() => {
            return Err(DetectError::new(format!(
                "setting known_component_issue.files names files, but they were not loaded into \
                 {ENTRIES_SETTING} (files are read by the CLI; this detector does no I/O)"
            )));
        }
        None => {}
    }
    let compiled: Vec<Compiled> = entries
        .iter()
        .map(|e| {
            Compiled::new(e).map_err(|m| {
                let from = e.source.as_deref().unwrap_or(ENTRIES_SETTING);
                DetectError::new(format!("{from}: issue {}: {m}", e.id))
            })
        })
        .collect::<Result<_, _>>()?;

    let specs = ctx.get(&POD_SPECS)?.views();
    let mut out = Outcome::new().evaluated(specs.len());
    let mut unversioned: BTreeSet<String> = BTreeSet::new();
    let mut reported: BTreeSet<(String, String, String, String)> = BTreeSet::new();
    for view in &specs {
        for c in view.all_containers() {
            let Some(image) = c.image.as_deref() else {
                continue;
            };
            let Some(reference) = ImageRef::parse(image) else {
                continue;
            };
            let name = reference.name();
            let matching: Vec<&Compiled> = compiled
                .iter()
                .filter(|i| i.images.is_match(&name))
                .collect();
            if matching.is_empty() {
                continue;
            }
            let Some(tag) = reference.tag.as_deref() else {
                unversioned.insert(image.to_string());
                continue;
            };
            let Some(v) = version::parse(tag) else {
                unversioned.insert(image.to_string());
                continue;
            };
            for issue in matching.into_iter().filter(|i| i.affects(v)) {
                // Pods of one controller: once per issue and container.
                let owner = view.object_ref().display_name();
                let key = (
                    issue.entry.id.clone(),
                    view.namespace().to_string(),
                    owner,
                    c.name.clone(),
                );
                if !reported.insert(key) {
                    continue;
                }
                let e = &issue.entry;
                let mut message = format!(
                    "{} {tag} is affected by {}: {}",
                    e.component,
                    e.id,
                    e.symptom.trim()
                );
                if !e.fixed_in.is_empty() {
                    message.push_str(&format!(" Fixed in {}.", e.fixed_in.join(", ")));
                }
                let mut finding =
                    Finding::new(issue.level, Some(view.container_ref(&c.name)), message)
                        .with_revision_of(view)
                        .with_evidence(format!("image: {image}"));
                if let Some(fix) = &e.fix {
                    finding = finding.with_evidence(format!("fix: {}", fix.trim()));
                }
                for r in &e.references {
                    finding = finding.with_evidence(format!("see {r}"));
                }
                if let Some(source) = e.source.as_deref().filter(|s| !s.starts_with("data/")) {
                    finding = finding.with_evidence(format!("from {source}"));
                }
                out.push(finding);
            }
        }
    }
    if !unversioned.is_empty() {
        out.attach(
            "Not judged: images of known components without a version tag (digest only, latest...)",
            serde_json::json!(unversioned),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{BUILTIN, ENTRIES_SETTING, parse_known_component_issues};
    use crate::Input;
    use crate::testing::{fixture_dir, run_fixture, run_on};
    use detek_core::{Level, Settings};

    #[test]
    fn the_builtin_table_parses() {
        assert!(BUILTIN.len() >= 5);
        assert!(BUILTIN.iter().any(|e| e.id == "CVE-2025-1974"));
    }

    #[test]
    fn names_the_container_the_issue_and_the_fix() {
        let report = run_fixture("known_component_issue", "fail.yaml");
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        let f = &report.findings[0];
        assert_eq!(f.level, Level::Error);
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "Deployment/ingress-nginx/ingress-nginx-controller [controller]"
        );
        assert!(
            f.message.starts_with(
                "ingress-nginx controller v1.12.0 is affected by CVE-2025-1974: IngressNightmare"
            ),
            "{}",
            f.message
        );
        assert!(
            f.message.ends_with("Fixed in 1.11.5, 1.12.1."),
            "{}",
            f.message
        );
        assert_eq!(
            f.evidence[0],
            "image: registry.k8s.io/ingress-nginx/controller:v1.12.0"
        );
        assert!(run_fixture("known_component_issue", "pass.yaml").passed);
    }

    /// Each finding as `object: message` up to the message's first colon.
    fn headlines(report: &detek_core::Report) -> Vec<String> {
        report
            .findings
            .iter()
            .map(|f| {
                format!(
                    "{}: {}",
                    f.object.as_ref().unwrap().display_name(),
                    &f.message[..f.message.find(':').unwrap()]
                )
            })
            .collect()
    }

    /// A Kubernetes 1.14 kind cluster (sonobuoy's dump): kube-proxy v1.14.2 predates the fix of
    /// CVE-2020-8558; etcd 3.3.10 and kube-apiserver v1.14.2 are not in any range.
    #[test]
    fn old_control_plane_images() {
        let report = run_fixture("known_component_issue", "fail-sonobuoy.json");
        let messages: Vec<_> = headlines(&report);
        assert_eq!(
            messages,
            vec![
                "DaemonSet/kube-system/kube-proxy [kube-proxy]: kube-proxy v1.14.2 is affected by CVE-2020-8558"
            ]
        );
    }

    /// A Kubernetes 1.8 cluster on AWS (sonobuoy 0.10's dump): images with the architecture in
    /// their name; the three kube-proxy Pods of the DaemonSet are reported once.
    #[test]
    fn architecture_suffixed_images() {
        let report = run_fixture("known_component_issue", "fail-sonobuoy-1.8.json");
        let messages: Vec<_> = headlines(&report);
        assert_eq!(
            messages,
            vec![
                "Pod/kube-system/kube-apiserver-ip-10-0-9-206.us-west-2.compute.internal [kube-apiserver]: kube-apiserver v1.8.4 is affected by CVE-2018-1002105",
                "DaemonSet/kube-system/kube-proxy [kube-proxy]: kube-proxy v1.8.4 is affected by CVE-2020-8558",
            ]
        );
    }

    #[test]
    fn user_entries_come_from_the_setting() {
        let text = r#"
issues:
  - id: ACME-1
    component: our ingress build
    images: ["**/ingress-nginx/controller"]
    affected: [">= 1.12.0, < 1.12.2"]
    fixed_in: ["1.12.2"]
    symptom: Our Lua plugin crashes the workers.
    level: Warn
"#;
        let entries = parse_known_component_issues(text, "ours.yaml").unwrap();
        assert_eq!(entries[0].source.as_deref(), Some("ours.yaml"));
        let input = || {
            vec![Input::Path(
                fixture_dir("known_component_issue").join("fail.yaml"),
            )]
        };
        let mut settings = Settings::new();
        settings.set(ENTRIES_SETTING, serde_json::to_value(&entries).unwrap());
        let report = run_on("known_component_issue", input(), settings);
        assert_eq!(report.findings.len(), 2, "{:?}", report.findings);
        let ours = &report.findings[1];
        assert_eq!(ours.level, Level::Warn);
        assert_eq!(
            ours.message,
            "our ingress build v1.12.0 is affected by ACME-1: Our Lua plugin crashes the workers. Fixed in 1.12.2."
        );
        assert_eq!(ours.evidence.last().unwrap(), "from ours.yaml");

        let bad = text.replace(">= 1.12.0", "from 1.12.0");
        let err = parse_known_component_issues(&bad, "ours.yaml").unwrap_err();
        assert!(
            err.starts_with("ours.yaml: issue ACME-1: version range"),
            "{err}"
        );
        assert!(parse_known_component_issues("issues: [{id: x}]", "f.yaml").is_err());

        let mut unloaded = Settings::new();
        unloaded.set(
            "known_component_issue.files",
            serde_json::json!(["ours.yaml"]),
        );
        let report = run_on("known_component_issue", input(), unloaded);
        assert!(
            report
                .error
                .as_deref()
                .unwrap_or("")
                .contains("were not loaded"),
            "{:?}",
            report.error
        );
    }
}
