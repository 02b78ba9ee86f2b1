//! The report model: what every renderer reads, and the JSON contract (`docs/report-schema.md`).
//!
//! Field names follow kakao/detek where it had them (`started_at`, `finished_at`,
//! `reports[].id/description/labels/created_at/level/problem/attachment`); the rest is ours.

use crate::level::Level;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Bumped whenever a field changes meaning or disappears; adding a field does not bump it.
pub const SCHEMA_VERSION: u32 = 1;

/// Where an object came from, for snapshot inputs (and SARIF).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SourceLocation {
    pub file: String,
    /// 1-based line of the document (or of the error).
    pub line: u32,
}

impl std::fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// The object a finding is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRef {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Where the object is defined (snapshot inputs): the copy that was judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceLocation>,
    /// Every place the object is defined when it is defined more than once (the same group,
    /// kind, namespace and name in several files of one target): `source` first, then the
    /// others in path order. Empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceLocation>,
}

impl ObjectRef {
    /// Every place the object is defined: `sources` when it is defined more than once, else
    /// `source` (none for live objects).
    pub fn locations(&self) -> &[SourceLocation] {
        if self.sources.is_empty() {
            self.source.as_slice()
        } else {
            &self.sources
        }
    }

    /// [`ObjectRef::locations`] as `a.yaml:12, b.yaml:40`; `None` when there is none.
    pub fn locations_text(&self) -> Option<String> {
        let locations = self.locations();
        (!locations.is_empty()).then(|| {
            locations
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        })
    }

    pub fn new(kind: impl Into<String>, namespace: Option<&str>, name: impl Into<String>) -> Self {
        ObjectRef {
            kind: kind.into(),
            namespace: namespace.filter(|ns| !ns.is_empty()).map(str::to_string),
            name: name.into(),
            ..Default::default()
        }
    }

    pub fn with_container(mut self, container: impl Into<String>) -> Self {
        self.container = Some(container.into());
        self
    }

    /// `Kind/namespace/name[container]`, the compact form tables use.
    pub fn display_name(&self) -> String {
        let mut s = self.kind.clone();
        s.push('/');
        if let Some(ns) = &self.namespace {
            s.push_str(ns);
            s.push('/');
        }
        s.push_str(&self.name);
        if let Some(c) = &self.container {
            s.push_str(" [");
            s.push_str(c);
            s.push(']');
        }
        s
    }
}

/// One thing wrong with one object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<ObjectRef>,
    /// What is wrong, in one line.
    pub message: String,
    /// Level of this finding; usually the detector's, some detectors grade (e.g. Fatal when a
    /// webhook's failurePolicy is Fail).
    pub level: Level,
    /// Supporting facts: exit codes, event reasons, dates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    /// Set when a suppression rule or annotation matched: the reason. Suppressed findings are
    /// kept and counted, never dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<String>,
    /// What tells this finding apart from others of the same detector on the same object (an
    /// env key, a kernel parameter, a port): part of the fingerprint, never the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discriminator: Option<String>,
    /// Stable identity (DESIGN.md §4): the same problem on the same object of the same target
    /// keeps it across scans whose messages differ; computed by the runner.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fingerprint: String,
    /// Set when the scan was compared with a baseline (`detek run --baseline FILE`): whether
    /// the fingerprint was in it. Only `New` findings count for `--fail-on`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineState>,
    /// What happened when, for the reports that show it under the finding (HTML, JSON, the
    /// hub): a restart's timeline and the metric before it. Not part of the fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Box<Timeline>>,
}

/// A finding's story: dated entries, oldest first, and metric traces over the same time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    pub entries: Vec<TimelineEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub traces: Vec<Trace>,
}

/// One dated line of a [`Timeline`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// RFC 3339; absent when the source gave no time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    pub what: String,
}

/// A metric over time (a sparkline in HTML): its points, and the limit it is judged against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    /// `memory working set`.
    pub name: String,
    /// `bytes`, `ratio`.
    pub unit: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<f64>,
    /// (seconds since the epoch, value), oldest first.
    pub points: Vec<(i64, f64)>,
    /// The figures in words (`41.0 MiB → 99.6 MiB, 100% of the 100 MiB limit`).
    pub summary: String,
}

/// A finding compared with a baseline report ([`crate::Baseline`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BaselineState {
    /// Not in the baseline: appeared since.
    New,
    /// In the baseline (same fingerprint): already known, does not fail the scan.
    Known,
}

impl BaselineState {
    pub fn as_str(self) -> &'static str {
        match self {
            BaselineState::New => "new",
            BaselineState::Known => "known",
        }
    }
}

impl Finding {
    pub fn new(level: Level, object: Option<ObjectRef>, message: impl Into<String>) -> Self {
        Finding {
            object,
            message: message.into(),
            level,
            evidence: Vec::new(),
            suppressed: None,
            discriminator: None,
            fingerprint: String::new(),
            baseline: None,
            timeline: None,
        }
    }

    /// Attach a timeline (shown under the finding in HTML and the hub, kept in JSON).
    pub fn with_timeline(mut self, timeline: Timeline) -> Self {
        self.timeline = Some(Box::new(timeline));
        self
    }

    /// Tell this finding apart from others of the same detector on the same object.
    pub fn with_discriminator(mut self, discriminator: impl Into<String>) -> Self {
        self.discriminator = Some(discriminator.into());
        self
    }

    /// The fingerprint of this finding of `detector` on the target identified by
    /// `target_identity`: a hash of the target identity, the detector id, the object's kind,
    /// namespace, name and container, and the discriminator — not the message, the level, the
    /// evidence or the source file.
    pub fn compute_fingerprint(&self, target_identity: &str, detector: &str) -> String {
        use sha2::{Digest, Sha256};
        let object = self.object.as_ref();
        let parts = [
            "detek-finding-v1",
            target_identity,
            detector,
            object.map_or("", |o| o.kind.as_str()),
            object.and_then(|o| o.namespace.as_deref()).unwrap_or(""),
            object.map_or("", |o| o.name.as_str()),
            object.and_then(|o| o.container.as_deref()).unwrap_or(""),
            self.discriminator.as_deref().unwrap_or(""),
        ];
        let mut hasher = Sha256::new();
        for part in parts {
            // Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        let digest = hasher.finalize();
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(32);
        for b in &digest[..16] {
            hex.push(HEX[usize::from(b >> 4)] as char);
            hex.push(HEX[usize::from(b & 15)] as char);
        }
        hex
    }

    pub fn with_evidence(mut self, evidence: impl Into<String>) -> Self {
        // Most findings carry one line: room for exactly one at first, not the four a first
        // push makes room for (findings are kept to the end of the scan).
        if self.evidence.capacity() == 0 {
            self.evidence.reserve_exact(1);
        }
        self.evidence.push(evidence.into());
        self
    }
}

/// kakao/detek's `JSONableData`: a description and any JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub description: String,
    pub data: serde_json::Value,
}

/// One detector's result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub id: String,
    /// kakao/detek's field: the one-line title.
    pub description: String,
    #[serde(default)]
    pub labels: Vec<String>,
    pub created_at: Timestamp,
    pub level: Level,
    /// The detector's default level (what `level` becomes when it has findings).
    pub default_level: Level,
    pub passed: bool,
    /// kakao/detek's summary of the problem, present when not passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<Attachment>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachment: Vec<Attachment>,
    pub explanation: String,
    pub solution: String,
    /// An example that fires the detector (Markdown, usually a fenced YAML block); empty when
    /// the detector's documentation has none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub example: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    #[serde(default)]
    pub findings: Vec<Finding>,
    /// Findings matched by a suppression (they stay in `findings`, marked).
    #[serde(default)]
    pub suppressed: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluated: Option<u64>,
    /// What the report says, in the one vocabulary of DESIGN.md §1.
    #[serde(default)]
    pub result: ReportResult,
    /// Why a detector did not judge (`not_judged`), or why there was nothing to check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Why the detector could not be evaluated (level `Unknown`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub duration_ms: f64,
}

/// What one detector's report says (DESIGN.md §1), in every format and in the counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportResult {
    /// Unsuppressed findings at the report's level.
    Findings,
    /// Objects were evaluated and none is wrong.
    #[default]
    Passed,
    /// It ran, but the scan holds nothing it judges (no Ingress, no events).
    NothingToCheck,
    /// It ran, but could not judge: a setting it needs is not configured, or the data that
    /// would tell is not in the scan (`note` says which).
    NotJudged,
    /// It should have run and could not (`error` says why).
    Unknown,
}

impl ReportResult {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportResult::Findings => "findings",
            ReportResult::Passed => "passed",
            ReportResult::NothingToCheck => "nothing to check",
            ReportResult::NotJudged => "not judged",
            ReportResult::Unknown => "Unknown",
        }
    }
}

impl Report {
    pub fn active_findings(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.suppressed.is_none())
    }
}

/// A note from a collector: a malformed document, a skipped kind, a retry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub level: Level,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceLocation>,
    pub message: String,
}

impl Diagnostic {
    pub fn new(level: Level, source: Option<SourceLocation>, message: impl Into<String>) -> Self {
        Diagnostic {
            level,
            source,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.source {
            Some(src) => write!(f, "{src}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CollectorStatus {
    pub id: String,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Keys it could not produce, with the reason (e.g. one forbidden kind).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub failed_keys: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<Diagnostic>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub stats: BTreeMap<String, u64>,
    pub duration_ms: f64,
}

impl CollectorStatus {
    /// The keys it could not produce, grouped by root cause: keys that failed for one reason
    /// are one group, and a derived key whose reason only repeats another key's reason
    /// (`incomplete: kubernetes/pods could not be listed (…)`) is left out. One line, one
    /// finding, one table row per cause.
    pub fn failed_by_reason(&self) -> Vec<(&str, Vec<&str>)> {
        let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
        for (key, reason) in &self.failed_keys {
            let repeats = self
                .failed_keys
                .values()
                .any(|other| other != reason && reason.contains(other.as_str()));
            if repeats {
                continue;
            }
            match groups.iter_mut().find(|(r, _)| *r == reason) {
                Some((_, keys)) => keys.push(key),
                None => groups.push((reason, vec![key])),
            }
        }
        groups
    }
}

/// What was scanned.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Target {
    /// `snapshot`, `cluster`, `demo`, ...
    pub kind: String,
    /// Context name, input paths, ...
    pub name: String,
    /// What the target is, independent of how it was named (DESIGN.md §4): a live cluster's
    /// `kube-system` namespace UID (`cluster:uid:…`), else its server URL and CA hash; a
    /// snapshot that holds the kube-system Namespace, that UID; other manifests `manifests`
    /// (so a baseline survives another checkout). Part of every finding's fingerprint.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub identity: String,
    /// The kubeconfig context name, for a live cluster (a label: a renamed context is the
    /// same cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanStatus {
    /// Everything planned was collected.
    Complete,
    /// Some collectors or keys failed; dependent detectors are `Unknown`.
    Partial,
    /// Nothing could be collected: the report says nothing about the target's health.
    NothingCollected,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub fatal: u64,
    pub error: u64,
    pub warn: u64,
    pub normal: u64,
    pub unknown: u64,
    /// Of the `normal` reports, those that judged nothing: nothing to check, or not judged.
    /// `normal - not_judged` detectors passed.
    #[serde(default)]
    pub not_judged: u64,
    /// Unsuppressed findings across all reports.
    pub findings: u64,
    pub suppressed: u64,
}

impl Summary {
    pub fn of(reports: &[Report]) -> Summary {
        let mut s = Summary::default();
        for r in reports {
            match r.level {
                Level::Fatal => s.fatal += 1,
                Level::Error => s.error += 1,
                Level::Warn => s.warn += 1,
                Level::Normal => s.normal += 1,
                Level::Unknown => s.unknown += 1,
            }
            if matches!(
                r.result,
                ReportResult::NothingToCheck | ReportResult::NotJudged
            ) {
                s.not_judged += 1;
            }
            s.findings += r.active_findings().count() as u64;
            s.suppressed += r.suppressed;
        }
        s
    }

    pub fn count(&self, level: Level) -> u64 {
        match level {
            Level::Fatal => self.fatal,
            Level::Error => self.error,
            Level::Warn => self.warn,
            Level::Normal => self.normal,
            Level::Unknown => self.unknown,
        }
    }
}

/// One scan of one target.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportList {
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    pub tool: String,
    pub version: String,
    pub target: Target,
    /// The instant every time-based detector judged against ("now"): the scan's wall clock for
    /// a live cluster, the newest time a snapshot holds, or `--now`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluated_at: Option<Timestamp>,
    /// Where `evaluated_at` comes from.
    #[serde(default)]
    pub clock: crate::runner::Clock,
    /// `evaluated_at` in words, for renderers ("the newest time the snapshot holds").
    #[serde(default)]
    pub clock_note: String,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub duration_ms: f64,
    pub status: ScanStatus,
    pub summary: Summary,
    pub collectors: Vec<CollectorStatus>,
    /// Inputs that could not be read (a missing file, a YAML syntax error, a binary file, an
    /// unreadable directory), from every collector's error diagnostics: the scan is `partial`
    /// and every format names them at the top.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs_not_read: Vec<Diagnostic>,
    pub reports: Vec<Report>,
    /// Detectors left out because this target cannot feed them (e.g. live-only checks on a
    /// snapshot), with the reason.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub skipped: BTreeMap<String, String>,
}

impl ReportList {
    /// The worst level among reports (`Normal` when empty).
    pub fn worst_level(&self) -> Level {
        self.reports
            .iter()
            .map(|r| r.level)
            .max()
            .unwrap_or(Level::Normal)
    }

    /// Unsuppressed findings at or above `threshold`, leaving out those a baseline already
    /// knew (`baseline: known`).
    pub fn has_findings_at(&self, threshold: Level) -> bool {
        self.reports
            .iter()
            .flat_map(|r| r.active_findings())
            .filter(|f| f.baseline != Some(BaselineState::Known))
            .any(|f| f.level >= threshold && f.level != Level::Unknown)
    }
}
