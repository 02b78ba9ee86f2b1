use crate::key::{Key, KeyId};
use crate::level::Level;
use crate::report::{Attachment, Diagnostic, Finding};
use crate::settings::Settings;
use crate::store::{Missing, Slot, Store};
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

    pub fn diagnostic(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    pub fn stat(&mut self, name: impl Into<String>, value: u64) {
        *self.stats.entry(name.into()).or_default() += value;
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

/// A detector's documentation, in the four sections of its doc comment.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Docs {
    pub what: &'static str,
    pub why: &'static str,
    pub fix: &'static str,
    pub example: &'static str,
}

impl Docs {
    /// The whole text, as `detek explain` prints it.
    pub fn markdown(&self) -> String {
        format!(
            "## What it detects\n{}\n\n## Why it matters\n{}\n\n## How to fix\n{}\n\n## Example\n{}\n",
            self.what.trim(),
            self.why.trim(),
            self.fix.trim(),
            self.example.trim()
        )
    }

    pub fn is_complete(&self) -> bool {
        [self.what, self.why, self.fix, self.example]
            .iter()
            .all(|s| !s.trim().is_empty())
    }
}

/// What a detector is.
#[derive(Debug, Clone)]
pub struct DetectorMeta {
    /// "(the cluster has) `<id>`", e.g. `failed_pod`.
    pub id: &'static str,
    /// One line, e.g. "Pods in phase Failed".
    pub title: &'static str,
    pub labels: &'static [&'static str],
    /// Default level of its findings.
    pub level: Level,
    pub requires: &'static [KeyId],
    pub references: &'static [&'static str],
    pub docs: Docs,
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

    pub fn solution(&self) -> &'static str {
        self.docs.fix.trim()
    }

    pub fn has_label(&self, label: &str) -> bool {
        self.labels.contains(&label)
    }
}

/// What a detector sees: the store, settings, and the scan's clock (fixed per scan so every
/// detector and every test agrees on "now").
pub struct DetectContext<'a> {
    pub store: &'a Store,
    pub settings: &'a Settings,
    pub now: SystemTime,
    pub(crate) requires: &'a [KeyId],
}

impl<'a> DetectContext<'a> {
    pub fn new(store: &'a Store, settings: &'a Settings, now: SystemTime) -> Self {
        DetectContext {
            store,
            settings,
            now,
            requires: &[],
        }
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
}

impl Outcome {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, finding: Finding) {
        self.findings.push(finding);
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
