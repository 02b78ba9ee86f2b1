use crate::key::{Key, KeyId};
use crate::level::Level;
use crate::report::{Attachment, Diagnostic, Finding};
use crate::settings::{SettingSpec, Settings};
use crate::store::{Missing, Slot, Store};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a collector is: it reads `requires` and writes `produces`.
#[derive(Debug, Clone)]
pub struct CollectorMeta {
    pub id: &'static str,
    pub description: &'static str,
    pub labels: Vec<&'static str>,
    pub requires: Vec<KeyId>,
    pub produces: Vec<KeyId>,
}

/// What a collector sees while it runs.
pub struct CollectContext<'a> {
    /// Values of the keys in `requires`, already collected.
    pub store: &'a Store,
    /// Keys some selected detector (or downstream collector) needs: a collector that can
    /// produce many keys produces only these (a live cluster lists only the kinds asked for).
    pub wanted: &'a BTreeSet<KeyId>,
    pub settings: &'a Settings,
    pub progress: &'a dyn crate::runner::Progress,
}

/// A collector failed as a whole: every key it produces is marked unavailable with this reason.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct CollectError(pub String);

impl CollectError {
    pub fn new(message: impl Into<String>) -> Self {
        CollectError(message.into())
    }
}

/// What a collector hands back: values per key (or why a key could not be had), diagnostics for
/// the report (a malformed file, a skipped kind) and counters.
#[derive(Default)]
pub struct Produced {
    pub(crate) slots: Vec<(KeyId, Slot)>,
    pub diagnostics: Vec<Diagnostic>,
    pub stats: BTreeMap<String, u64>,
    /// What the target is, as this collector learnt it (a cluster's kube-system namespace UID):
    /// the stable part of every finding's fingerprint (DESIGN.md §4).
    pub identity: Option<String>,
    /// The newest time the collected data holds (a snapshot's node heartbeats, events,
    /// creation times): what a snapshot is judged as of ([`crate::Clock::Snapshot`]).
    pub observed_at: Option<jiff::Timestamp>,
}

impl Produced {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn put<T: Send + Sync + 'static>(&mut self, key: &Key<T>, value: T) {
        self.slots.push((key.id(), Slot::Ready(Arc::new(value))));
    }

    /// Mark one key unavailable; detectors needing it become `Unknown` with `reason`.
    pub fn fail(&mut self, key: KeyId, reason: impl Into<String>) {
        self.slots.push((key, Slot::Failed(reason.into())));
    }

    /// Mark one key skipped: this target does not offer its source (an OpenStack service
    /// missing from the catalog). Detectors needing it are listed as skipped with `reason`
    /// (DESIGN.md §1), neither run nor `Unknown`; collectors needing it are skipped too.
    pub fn skip(&mut self, key: KeyId, reason: impl Into<String>) {
        self.slots.push((key, Slot::Skipped(reason.into())));
    }

    /// Every key of `keys` skipped with `reason` (a collector whose input was skipped).
    pub(crate) fn skipping(keys: &[KeyId], reason: &str) -> Produced {
        let mut produced = Produced::new();
        for key in keys {
            produced.skip(key, reason);
        }
        produced
    }

    pub fn diagnostic(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    pub fn stat(&mut self, name: impl Into<String>, value: u64) {
        *self.stats.entry(name.into()).or_default() += value;
    }

    /// Record the target's identity (see [`Produced::identity`]).
    pub fn identify(&mut self, identity: impl Into<String>) {
        self.identity = Some(identity.into());
    }

    pub fn produced_keys(&self) -> impl Iterator<Item = KeyId> + '_ {
        self.slots.iter().map(|(k, _)| *k)
    }
}

/// Gathers data into the store. Does I/O; runs concurrently with collectors it does not
/// depend on.
pub trait Collector: Send + Sync {
    fn meta(&self) -> &CollectorMeta;
    fn collect<'a>(
        &'a self,
        ctx: CollectContext<'a>,
    ) -> BoxFuture<'a, Result<Produced, CollectError>>;
}

/// Text that is usually a `&'static str` from the source (built-in detectors) and sometimes
/// owned (a detector loaded at run time: a Rego policy, a hub reload) — without leaking memory.
pub type Text = Cow<'static, str>;

/// A detector's documentation, in the four sections of its doc comment.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Docs {
    pub what: Text,
    pub why: Text,
    pub fix: Text,
    pub example: Text,
}

impl Docs {
    /// Split Markdown with the sections `## What it detects`, `## Why it matters`,
    /// `## How to fix` and `## Example` (the shape of every detector's doc comment). Text
    /// before the first heading and under other headings is left out.
    pub fn parse(markdown: &str) -> Docs {
        let mut sections: [String; 4] = Default::default();
        let mut current: Option<usize> = None;
        let mut in_code = false;
        for line in markdown.lines() {
            if line.trim_start().starts_with("```") {
                in_code = !in_code;
            }
            if !in_code && line.trim_start().starts_with("## ") {
                let heading = line
                    .trim()
                    .trim_start_matches('#')
                    .trim()
                    .to_ascii_lowercase();
                current = match heading.as_str() {
                    "what it detects" => Some(0),
                    "why it matters" => Some(1),
                    "how to fix" => Some(2),
                    "example" | "examples" => Some(3),
                    _ => None,
                };
                continue;
            }
            if let Some(i) = current {
                sections[i].push_str(line);
                sections[i].push('\n');
            }
        }
        let [what, why, fix, example] = sections.map(|s| Text::Owned(s.trim().to_string()));
        Docs {
            what,
            why,
            fix,
            example,
        }
    }

    /// The whole text, as `detek explain` prints it. A section a run-time detector left empty
    /// (a policy's description says what and why in one) is left out.
    pub fn markdown(&self) -> String {
        let sections = [
            ("What it detects", &self.what),
            ("Why it matters", &self.why),
            ("How to fix", &self.fix),
            ("Example", &self.example),
        ];
        let mut out = String::new();
        for (heading, text) in sections {
            if text.trim().is_empty() {
                continue;
            }
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&format!("## {heading}\n{}\n", text.trim()));
        }
        out
    }

    pub fn is_complete(&self) -> bool {
        [&self.what, &self.why, &self.fix, &self.example]
            .iter()
            .all(|s| !s.trim().is_empty())
    }
}

/// What a detector is. Owned, so detectors loaded at run time have metadata too; built-in
/// detectors build it once (`detek-macros`) from `&'static` text without copying.
#[derive(Debug, Clone)]
pub struct DetectorMeta {
    /// "(the cluster has) `<id>`", e.g. `failed_pod`.
    pub id: Text,
    /// One line, e.g. "Pods in phase Failed".
    pub title: Text,
    pub labels: Vec<Text>,
    /// Default level of its findings.
    pub level: Level,
    /// Keys it cannot run without: skipped when the target cannot produce one, `Unknown` when
    /// one failed.
    pub requires: Vec<KeyId>,
    /// Keys it reads when they are there (`DetectContext::optional`): collected where the
    /// target can produce them; their absence or failure changes what it can say, not whether
    /// it runs (a restart's events, a previous container's log).
    pub uses: Vec<KeyId>,
    pub references: Vec<Text>,
    pub docs: Docs,
    /// Declared settings: `detek explain` shows them, the config file is validated against them.
    pub settings: Vec<SettingSpec>,
    /// Where a detector loaded at run time is defined (a Rego policy's file and the line of its
    /// metadata); `None` for built-in detectors, documented by their source's `///` comment.
    pub source: Option<crate::report::SourceLocation>,
}

impl DetectorMeta {
    /// "What is wrong": what it detects and why it matters.
    pub fn explanation(&self) -> String {
        let what = self.docs.what.trim();
        let why = self.docs.why.trim();
        match (what.is_empty(), why.is_empty()) {
            (false, false) => format!("{what}\n\n{why}"),
            (false, true) => what.to_string(),
            _ => why.to_string(),
        }
    }

    pub fn solution(&self) -> &str {
        self.docs.fix.trim()
    }

    pub fn has_label(&self, label: &str) -> bool {
        self.labels.iter().any(|l| l == label)
    }

    /// The declared setting `name`.
    pub fn setting(&self, name: &str) -> Option<&SettingSpec> {
        self.settings.iter().find(|s| s.name == name)
    }
}

/// What a detector sees: the store, settings, and the scan's clock (fixed per scan so every
/// detector and every test agrees on "now").
pub struct DetectContext<'a> {
    pub store: &'a Store,
    pub settings: &'a Settings,
    pub now: SystemTime,
    pub(crate) requires: &'a [KeyId],
    pub(crate) uses: &'a [KeyId],
    /// The id of the detector being run (for its typed settings).
    pub(crate) detector: &'a str,
    /// The target being scanned, its identity learnt by the collectors (`None` in tests that
    /// call a detector directly).
    pub(crate) target: Option<&'a crate::report::Target>,
}

impl<'a> DetectContext<'a> {
    pub fn new(store: &'a Store, settings: &'a Settings, now: SystemTime) -> Self {
        DetectContext {
            store,
            settings,
            now,
            requires: &[],
            uses: &[],
            detector: "",
            target: None,
        }
    }

    /// The target being scanned (its name, kind and identity), when the runner runs the
    /// detector.
    pub fn target(&self) -> Option<&'a crate::report::Target> {
        self.target
    }

    /// The same context for detector `id` (tests that call a detector directly).
    pub fn for_detector(mut self, id: &'a str) -> Self {
        self.detector = id;
        self
    }

    /// The running detector's own settings, typed (see [`Settings::detector`]).
    pub fn settings_of<T: crate::settings::DetectorSettings>(&self) -> Result<T, DetectError> {
        self.settings.detector(self.detector)
    }

    /// A required input. Reading a key not listed in `requires` is a bug and fails loudly.
    pub fn get<T: Send + Sync + 'static>(&self, key: &Key<T>) -> Result<&'a T, DetectError> {
        if !self.requires.is_empty() && !self.requires.contains(&key.id()) {
            return Err(DetectError::new(format!(
                "detector reads {} without declaring it in `requires`",
                key.id()
            )));
        }
        self.store.get(key).map_err(DetectError::from)
    }

    /// An optional input: `None` when absent or failed.
    pub fn get_optional<T: Send + Sync + 'static>(&self, key: &Key<T>) -> Option<&'a T> {
        self.store.get(key).ok()
    }

    /// An input declared in `uses`: the value, or why it is not there (not collected for this
    /// target, forbidden, failed) for the detector to name in what it reports. Reading a key
    /// declared in neither `requires` nor `uses` is a bug and says so.
    pub fn optional<T: Send + Sync + 'static>(&self, key: &Key<T>) -> Result<&'a T, Missing> {
        let declared = self.requires.contains(&key.id()) || self.uses.contains(&key.id());
        if !self.requires.is_empty() && !declared {
            return Err(Missing {
                key: key.id(),
                reason: "read without declaring it in `uses` (a bug)".to_string(),
            });
        }
        self.store.get(key)
    }
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct DetectError(pub String);

impl DetectError {
    pub fn new(message: impl Into<String>) -> Self {
        DetectError(message.into())
    }
}

impl From<Missing> for DetectError {
    fn from(m: Missing) -> Self {
        DetectError(format!("input {} unavailable: {}", m.key, m.reason))
    }
}

/// The result of one detector: its findings (empty = passed) and attachments.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    pub findings: Vec<Finding>,
    pub attachments: Vec<Attachment>,
    /// How many objects were looked at; shown as "# evaluated" and used to tell "passed" from
    /// "nothing to check".
    pub evaluated: Option<u64>,
    /// Set when the detector ran but could not judge (a setting it needs is not configured,
    /// the data that would tell is not in the scan): the reason. Not a pass.
    pub not_judged: Option<String>,
}

impl Outcome {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    /// The detector could not judge: why ("no allowed registries are configured").
    pub fn not_judged(mut self, reason: impl Into<String>) -> Self {
        self.not_judged = Some(reason.into());
        self
    }

    pub fn evaluated(mut self, count: usize) -> Self {
        self.evaluated = Some(count as u64);
        self
    }

    pub fn attach(&mut self, description: impl Into<String>, data: serde_json::Value) {
        self.attachments.push(Attachment {
            description: description.into(),
            data,
        });
    }
}

/// Pure logic over the store.
pub trait Detector: Send + Sync {
    fn meta(&self) -> &DetectorMeta;
    fn detect(&self, ctx: &DetectContext) -> Result<Outcome, DetectError>;
}
