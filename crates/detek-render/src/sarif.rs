//! SARIF 2.1.0 (OASIS), for code-scanning UIs (GitHub code scanning, GitLab, IDE viewers).
//!
//! One `run` per scanned target. The detectors of the scan are the run's `rules` (title, the
//! explanation and the fix as Markdown, the first reference as `helpUri`, the default level);
//! every finding — suppressed ones included, marked with `suppressions` — is a `result` with the
//! object's file and line when the input was a manifest (`physicalLocation`), the object as a
//! `logicalLocation` (`Kind/namespace/name`), and its fingerprint as
//! `partialFingerprints["detekFingerprint/v1"]`. What could not be evaluated is not a result: it
//! is a `toolExecutionNotification` of the run's invocation (as is a detector that ran but could
//! not judge, at level `note`), whose `executionSuccessful` is false unless the scan was
//! complete.

use detek_core::{
    BaselineState, Diagnostic, Finding, Level, ObjectRef, Report, ReportList, ReportResult,
};
use detek_core::{ScanStatus, SourceLocation};
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location, LogicalLocation, Message, MultiformatMessageString,
    Notification, PhysicalLocation, PropertyBag, Region, ReportingConfiguration,
    ReportingDescriptor, ReportingDescriptorReference, Result as SarifResult, ResultKind,
    ResultLevel, Run, RunAutomationDetails, Sarif, Suppression, Tool, ToolComponent,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The schema the log declares (`$schema`): the OASIS standard's, errata 01.
pub const SARIF_SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The key of a result's `partialFingerprints` that holds the finding's fingerprint.
pub const FINGERPRINT_KEY: &str = "detekFingerprint/v1";

/// How file paths become artifact URIs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SarifOptions {
    /// Absolute input paths under this directory are written relative to it (code-scanning UIs
    /// resolve relative URIs against the repository checkout). `detek run` passes the current
    /// directory. Paths given relative on the command line stay as given.
    pub base_dir: Option<PathBuf>,
}

/// Every scan as one SARIF 2.1.0 log, one run per [`ReportList`], paths as given.
pub fn sarif(lists: &[ReportList]) -> String {
    sarif_with(lists, &SarifOptions::default())
}

/// [`sarif`] with options (relative paths for absolute inputs under `base_dir`).
pub fn sarif_with(lists: &[ReportList], options: &SarifOptions) -> String {
    let several = lists.len() > 1;
    let runs: Vec<Run> = lists.iter().map(|l| run(l, options, several)).collect();
    let log = Sarif::builder()
        .schema(SARIF_SCHEMA_URI)
        .version(serde_json::json!("2.1.0"))
        .runs(runs)
        .build();
    let mut s = serde_json::to_string_pretty(&log).unwrap_or_else(|e| {
        serde_json::json!({ "error": format!("detek: cannot serialize the SARIF log: {e}") })
            .to_string()
    });
    s.push('\n');
    s
}

fn run(list: &ReportList, options: &SarifOptions, several: bool) -> Run {
    // One rule per detector id (a report list has one report per detector; the schema wants
    // the rules distinct whatever the input).
    let mut rules: Vec<ReportingDescriptor> = Vec::new();
    let mut rule_index: BTreeMap<&str, usize> = BTreeMap::new();
    let mut results = Vec::new();
    for report in &list.reports {
        let index = *rule_index.entry(report.id.as_str()).or_insert_with(|| {
            rules.push(rule(report));
            rules.len() - 1
        });
        for finding in &report.findings {
            results.push(result(report, index, finding, options));
        }
    }
    let driver = ToolComponent::builder()
        .name("detek")
        .full_name(format!("detek {}", list.version))
        .version(list.version.clone())
        .semantic_version(list.version.clone())
        .information_uri(env!("CARGO_PKG_REPOSITORY"))
        .rules(rules)
        .build();

    let mut props = BTreeMap::new();
    props.insert(
        "detek/target".to_string(),
        serde_json::to_value(&list.target).unwrap_or_default(),
    );
    props.insert(
        "detek/status".to_string(),
        serde_json::to_value(list.status).unwrap_or_default(),
    );

    let builder = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .invocations(vec![invocation(list, options)])
        .results(results)
        .properties(bag(None, props));
    // Code-scanning services tell runs of one tool apart by their category: with several
    // targets in one log, each run gets its own (with one, the uploader chooses it).
    if several {
        builder
            .automation_details(
                RunAutomationDetails::builder()
                    .id(format!("detek/{}/", list.target.name))
                    .description(text_message(format!(
                        "detek scan of {}",
                        crate::text::target_label(list)
                    )))
                    .build(),
            )
            .build()
    } else {
        builder.build()
    }
}

fn bag(tags: Option<Vec<String>>, props: BTreeMap<String, serde_json::Value>) -> PropertyBag {
    let mut bag = PropertyBag::builder().additional_properties(props).build();
    bag.tags = tags;
    bag
}

fn text_message(text: impl Into<String>) -> Message {
    Message::builder().text(text.into()).build()
}

fn rule(report: &Report) -> ReportingDescriptor {
    let mut help_md = report.explanation.trim_end().to_string();
    let mut help_text = help_md.clone();
    if !report.solution.trim().is_empty() {
        help_md.push_str("\n\n## How to fix\n\n");
        help_md.push_str(report.solution.trim_end());
        help_text.push_str("\n\nHow to fix:\n\n");
        help_text.push_str(report.solution.trim_end());
    }
    if !report.references.is_empty() {
        help_md.push_str("\n\n## References\n\n");
        for r in &report.references {
            help_md.push_str(&format!("- <{r}>\n"));
        }
        help_md.truncate(help_md.trim_end().len());
    }
    let multi = |text: String, markdown: Option<String>| {
        let mut m = MultiformatMessageString::builder().text(text).build();
        m.markdown = markdown;
        m
    };
    let mut rule = ReportingDescriptor::builder()
        .id(report.id.clone())
        .short_description(multi(report.description.clone(), None))
        .full_description(multi(
            report.explanation.trim_end().to_string(),
            Some(report.explanation.trim_end().to_string()),
        ))
        .help(multi(help_text, Some(help_md)))
        .default_configuration(
            ReportingConfiguration::builder()
                .level(serde_json::json!(level(report.default_level)))
                .build(),
        )
        .build();
    rule.help_uri = report.references.first().filter(|r| is_web_uri(r)).cloned();
    if !report.labels.is_empty() {
        rule.properties = Some(bag(Some(report.labels.clone()), BTreeMap::new()));
    }
    rule
}

/// detek's level as a SARIF `level`: Fatal and Error are errors, Warn warnings.
fn level(level: Level) -> &'static str {
    match level {
        Level::Fatal | Level::Error => "error",
        Level::Warn | Level::Unknown => "warning",
        Level::Normal => "note",
    }
}

fn result_level(l: Level) -> ResultLevel {
    match level(l) {
        "error" => ResultLevel::Error,
        "warning" => ResultLevel::Warning,
        _ => ResultLevel::Note,
    }
}

fn result(report: &Report, index: usize, finding: &Finding, options: &SarifOptions) -> SarifResult {
    let mut text = match &finding.object {
        Some(obj) => format!("{}: {}", obj.display_name(), finding.message),
        None => finding.message.clone(),
    };
    for e in &finding.evidence {
        text.push_str("\n- ");
        text.push_str(e);
    }
    let mut result = SarifResult::builder()
        .rule_id(report.id.clone())
        .rule_index(index as i64)
        .kind(ResultKind::Fail)
        .level(result_level(finding.level))
        .message(text_message(text))
        .build();
    if let Some(obj) = &finding.object {
        result.locations = Some(vec![object_location(obj, options)]);
        // The same object defined in several files: the judged one is the location, the
        // others related locations.
        let related: Vec<Location> = obj
            .locations()
            .iter()
            .skip(1)
            .filter_map(|s| physical_location(s, options))
            .enumerate()
            .map(|(i, physical)| {
                let mut location = Location::builder()
                    .physical_location(physical)
                    .message(text_message("also defined here".to_string()))
                    .build();
                location.id = Some(i as i64);
                location
            })
            .collect();
        if !related.is_empty() {
            result.related_locations = Some(related);
        }
    }
    if !finding.fingerprint.is_empty() {
        result.partial_fingerprints = Some(BTreeMap::from([(
            FINGERPRINT_KEY.to_string(),
            finding.fingerprint.clone(),
        )]));
    }
    if let Some(state) = finding.baseline {
        result.baseline_state = Some(serde_json::json!(match state {
            BaselineState::New => "new",
            BaselineState::Known => "unchanged",
        }));
    }
    if let Some(reason) = &finding.suppressed {
        // `detek.io/ignore` is written on the object (or its namespace): in source; a config
        // file ignore rule is kept apart from it: external.
        let kind = if reason.starts_with("annotation ") {
            "inSource"
        } else {
            "external"
        };
        let mut suppression = Suppression::builder()
            .kind(serde_json::json!(kind))
            .status(serde_json::json!("accepted"))
            .build();
        if !reason.is_empty() {
            suppression.justification = Some(reason.clone());
        }
        result.suppressions = Some(vec![suppression]);
    }
    if let Some(d) = &finding.discriminator {
        let props = BTreeMap::from([("detek/discriminator".to_string(), serde_json::json!(d))]);
        result.properties = Some(bag(None, props));
    }
    result
}

/// The object's file and line (manifests) and its `Kind/namespace/name`.
fn object_location(obj: &ObjectRef, options: &SarifOptions) -> Location {
    let mut name = obj.kind.clone();
    name.push('/');
    if let Some(ns) = &obj.namespace {
        name.push_str(ns);
        name.push('/');
    }
    name.push_str(&obj.name);
    let logical = LogicalLocation::builder()
        .fully_qualified_name(name)
        .name(obj.name.clone())
        .kind("resource")
        .build();
    let mut location = Location::builder().logical_locations(vec![logical]).build();
    location.physical_location = obj
        .source
        .as_ref()
        .and_then(|s| physical_location(s, options));
    location
}

fn physical_location(source: &SourceLocation, options: &SarifOptions) -> Option<PhysicalLocation> {
    let uri = artifact_uri(&source.file, options.base_dir.as_deref())?;
    let mut physical = PhysicalLocation::builder()
        .artifact_location(ArtifactLocation::builder().uri(uri).build())
        .build();
    if source.line >= 1 {
        physical.region = Some(Region::builder().start_line(source.line as i64).build());
    }
    Some(physical)
}

/// A file path as a URI reference: relative paths stay relative (`k8s/app.yaml`), absolute
/// ones become relative to `base` when under it, else `file:///…`. Stdin (`-`) has none.
pub(crate) fn artifact_uri(file: &str, base: Option<&Path>) -> Option<String> {
    if file.is_empty() || file == "-" {
        return None;
    }
    let path = Path::new(file);
    if path.is_absolute() {
        if let Some(rel) = base.and_then(|b| path.strip_prefix(b).ok())
            && !rel.as_os_str().is_empty()
        {
            return Some(encode(&slashes(&rel.to_string_lossy()), false));
        }
        let p = slashes(file);
        let p = if p.starts_with('/') {
            p
        } else {
            format!("/{p}")
        };
        return Some(format!("file://{}", encode(&p, true)));
    }
    let rel = slashes(file);
    let rel = rel.trim_start_matches("./");
    Some(encode(rel, false))
}

/// An `http(s)://` URL made only of characters a URI may hold (viewers make `helpUri` a link:
/// no `javascript:`, no markup).
fn is_web_uri(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    let Some(rest) = rest else {
        return false;
    };
    let bytes = rest.as_bytes();
    !rest.is_empty()
        && bytes.iter().enumerate().all(|(i, &b)| {
            b.is_ascii_alphanumeric()
                || b"-._~:/?#[]@!$&'()*+,;=".contains(&b)
                || (b == b'%'
                    && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                    && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
        })
}

fn slashes(s: &str) -> String {
    if cfg!(windows) {
        s.replace('\\', "/")
    } else {
        s.to_string()
    }
}

/// Percent-encode what may not appear in a URI path. A colon is encoded in relative paths
/// (it would read as a scheme) and kept in absolute ones (`file:///C:/…`).
fn encode(path: &str, keep_colon: bool) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || b"-._~/!$&'()*+,;=@".contains(&b)
            || (keep_colon && b == b':');
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn notification(level: &str, text: String) -> Notification {
    Notification::builder()
        .level(serde_json::json!(level))
        .message(text_message(text))
        .build()
}

fn diagnostic_level(l: Level) -> &'static str {
    match l {
        Level::Fatal | Level::Error => "error",
        Level::Warn | Level::Unknown => "warning",
        Level::Normal => "note",
    }
}

/// The scan as an invocation: times, success, and what could not be read or evaluated.
fn invocation(list: &ReportList, options: &SarifOptions) -> Invocation {
    let mut execution = Vec::new();
    if list.status == ScanStatus::NothingCollected {
        execution.push(notification(
            "error",
            format!(
                "nothing could be collected from {}: this report says nothing about its health",
                crate::text::target_label(list)
            ),
        ));
    }
    for c in &list.collectors {
        if let Some(err) = &c.error {
            execution.push(notification(
                "error",
                format!("collector {} failed: {err}", c.id),
            ));
        } else if !c.ok {
            execution.push(notification("error", format!("collector {} failed", c.id)));
        }
        for (key, reason) in &c.failed_keys {
            execution.push(notification(
                "error",
                format!("{key} unavailable ({}): {reason}", c.id),
            ));
        }
        for d in &c.diagnostics {
            execution.push(diagnostic(d, options));
        }
    }
    let mut rule_index: BTreeMap<&str, usize> = BTreeMap::new();
    for report in &list.reports {
        let next = rule_index.len();
        let index = *rule_index.entry(report.id.as_str()).or_insert(next);
        let (level, text) =
            if report.level == Level::Unknown || report.result == ReportResult::Unknown {
                let reason = report.error.as_deref().unwrap_or("not evaluated");
                (
                    "error",
                    format!("{} was not evaluated: {reason}", report.id),
                )
            } else if report.result == ReportResult::NotJudged {
                // It ran but could not judge (a setting it needs is not configured, or the data
                // that would tell is not in the scan): not a pass.
                let note = report.note.as_deref().unwrap_or("no reason given");
                ("note", format!("{} did not judge: {note}", report.id))
            } else {
                continue;
            };
        let mut n = notification(level, text);
        n.associated_rule = Some(
            ReportingDescriptorReference::builder()
                .id(report.id.clone())
                .index(index as i64)
                .build(),
        );
        execution.push(n);
    }
    let configuration: Vec<Notification> = list
        .skipped
        .iter()
        .map(|(id, reason)| {
            notification(
                "note",
                format!("{id} skipped (not applicable to this target): {reason}"),
            )
        })
        .collect();

    let mut invocation = Invocation::builder()
        .execution_successful(list.status == ScanStatus::Complete)
        .start_time_utc(list.started_at.to_string())
        .end_time_utc(list.finished_at.to_string())
        .build();
    if !execution.is_empty() {
        invocation.tool_execution_notifications = Some(execution);
    }
    if !configuration.is_empty() {
        invocation.tool_configuration_notifications = Some(configuration);
    }
    invocation
}

fn diagnostic(d: &Diagnostic, options: &SarifOptions) -> Notification {
    let mut n = notification(diagnostic_level(d.level), d.message.clone());
    if let Some(physical) = d
        .source
        .as_ref()
        .and_then(|s| physical_location(s, options))
    {
        n.locations = Some(vec![
            Location::builder().physical_location(physical).build(),
        ]);
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        let base = Path::new("/work/repo");
        assert_eq!(
            artifact_uri("k8s/app.yaml", None).as_deref(),
            Some("k8s/app.yaml")
        );
        assert_eq!(
            artifact_uri("./k8s/my app.yaml", None).as_deref(),
            Some("k8s/my%20app.yaml")
        );
        assert_eq!(
            artifact_uri("/work/repo/k8s/app.yaml", Some(base)).as_deref(),
            Some("k8s/app.yaml")
        );
        assert_eq!(
            artifact_uri("/elsewhere/a#b.yaml", Some(base)).as_deref(),
            Some("file:///elsewhere/a%23b.yaml")
        );
        assert_eq!(
            artifact_uri("c:d.yaml", None).as_deref(),
            Some("c%3Ad.yaml")
        );
        assert_eq!(artifact_uri("-", Some(base)), None);
        assert!(is_web_uri("https://kubernetes.io/docs/a%20b?x=1#y"));
        assert!(!is_web_uri("javascript:alert(1)"));
        assert!(!is_web_uri("https://x.example/<script>"));
        assert!(!is_web_uri("https://x.example/%zz"));
        assert!(!is_web_uri("https://"));
        assert_eq!(artifact_uri("", None), None);
    }
}
