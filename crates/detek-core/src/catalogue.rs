//! The detector catalogue: every source registers its detectors here (`register(&mut
//! Catalogue)` per crate — built-in Rust detectors, and detectors loaded at run time), and the
//! CLI and the hub compose a scan from it the same way: selection by id or label, named sets,
//! level overrides, and the validation of the per-detector part of the config file against
//! each detector's declared settings.

use crate::level::Level;
use crate::settings::{SettingSpec, Settings};
use crate::traits::{DetectContext, DetectError, Detector, DetectorMeta, Outcome};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// Keys every detector entry of the config file has besides its declared settings.
const ENTRY_KEYS: &[&str] = &["level", "enabled"];

/// Every detector a program knows, and the scan-wide settings.
#[derive(Default, Clone)]
pub struct Catalogue {
    detectors: Vec<Arc<dyn Detector>>,
    index: HashMap<String, usize>,
    /// Scan-wide settings (`kubernetes.target_version`), declared by the crate that reads them.
    globals: Vec<SettingSpec>,
}

/// Whether `id` can name a detector: snake_case (`[a-z0-9_]`), starting with a letter.
pub fn is_detector_id(id: &str) -> bool {
    id.starts_with(|c: char| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Why a registration, a selection or a config entry was refused. Messages name the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    #[error("detector {0:?} is registered twice")]
    Duplicate(String),
    #[error("detector id {0:?} is not snake_case ([a-z0-9_], starting with a letter)")]
    BadId(String),
    #[error(
        "detector {detector}: setting {setting:?} is declared twice or shadows `level`/`enabled`"
    )]
    BadSetting { detector: String, setting: String },
    #[error("unknown detector or label {name:?}{suggestion} (see `detek list`)")]
    UnknownName { name: String, suggestion: String },
    #[error("unknown detector set {name:?}: known sets are {known}")]
    UnknownSet { name: String, known: String },
    #[error("detectors.{id}: no such detector{suggestion} (see `detek list`)")]
    UnknownDetector { id: String, suggestion: String },
    #[error("detectors.{detector}.{key}: unknown setting{suggestion}; valid keys: {valid}")]
    UnknownSetting {
        detector: String,
        key: String,
        suggestion: String,
        valid: String,
    },
    #[error("detectors.{detector}.{key}: {message}")]
    SettingType {
        detector: String,
        key: String,
        message: String,
    },
    #[error("detectors.{detector}.level: {message}")]
    BadLevel { detector: String, message: String },
    #[error("sets.{set}: {message}")]
    BadSet { set: String, message: String },
}

/// One detector's entry in the config file: `level`, `enabled`, and its declared settings.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct DetectorConfig {
    #[serde(default)]
    pub level: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Everything else: the detector's settings (validated against its declaration).
    #[serde(flatten)]
    pub settings: BTreeMap<String, serde_json::Value>,
}

/// Which detectors a scan runs: a set (`default`, `all` or a named set), narrowed by
/// `--select`, minus `--ignore`.
#[derive(Debug, Clone)]
pub struct Selection {
    pub set: String,
    pub select: Vec<String>,
    pub ignore: Vec<String>,
}

impl Default for Selection {
    fn default() -> Self {
        Selection {
            set: "default".to_string(),
            select: Vec::new(),
            ignore: Vec::new(),
        }
    }
}

impl Catalogue {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a detector. Ids are unique and snake_case; settings unique per detector.
    pub fn register(&mut self, detector: Arc<dyn Detector>) -> Result<(), CatalogueError> {
        let meta = detector.meta();
        let id = meta.id.to_string();
        if !is_detector_id(&id) {
            return Err(CatalogueError::BadId(id));
        }
        if self.index.contains_key(&id) {
            return Err(CatalogueError::Duplicate(id));
        }
        let mut names = BTreeSet::new();
        for spec in &meta.settings {
            if ENTRY_KEYS.contains(&spec.name.as_ref()) || !names.insert(spec.name.as_ref()) {
                return Err(CatalogueError::BadSetting {
                    detector: id,
                    setting: spec.name.to_string(),
                });
            }
        }
        self.index.insert(id, self.detectors.len());
        self.detectors.push(detector);
        Ok(())
    }

    /// Declare a scan-wide setting (full dotted name, e.g. `kubernetes.target_version`).
    pub fn declare_global(&mut self, spec: SettingSpec) {
        if !self.globals.iter().any(|g| g.name == spec.name) {
            self.globals.push(spec);
        }
    }

    pub fn globals(&self) -> &[SettingSpec] {
        &self.globals
    }

    /// Every detector, in registration order.
    pub fn detectors(&self) -> &[Arc<dyn Detector>] {
        &self.detectors
    }

    pub fn len(&self) -> usize {
        self.detectors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.detectors.is_empty()
    }

    pub fn get(&self, id: &str) -> Option<&Arc<dyn Detector>> {
        self.index.get(id).map(|&i| &self.detectors[i])
    }

    /// Whether `name` is a detector id or a label some detector carries.
    pub fn knows(&self, name: &str) -> bool {
        self.get(name).is_some() || self.detectors.iter().any(|d| d.meta().has_label(name))
    }

    /// ` (did you mean "x"?)` for a near miss of a detector id.
    pub fn suggestion(&self, name: &str) -> String {
        closest(name, self.detectors.iter().map(|d| d.meta().id.as_ref()))
            .map(|id| format!(" (did you mean {id:?}?)"))
            .unwrap_or_default()
    }

    /// Check the config file's detector entries and named sets against the catalogue: unknown
    /// detectors, unknown settings (naming the valid keys), wrong types and bad levels are
    /// errors.
    pub fn validate(
        &self,
        detectors: &BTreeMap<String, DetectorConfig>,
        sets: &BTreeMap<String, Vec<String>>,
    ) -> Result<(), CatalogueError> {
        for (id, entry) in detectors {
            let Some(detector) = self.get(id) else {
                return Err(CatalogueError::UnknownDetector {
                    id: id.clone(),
                    suggestion: self.suggestion(id),
                });
            };
            let meta = detector.meta();
            if let Some(level) = &entry.level {
                let parsed = level
                    .parse::<Level>()
                    .map_err(|e| CatalogueError::BadLevel {
                        detector: id.clone(),
                        message: e.to_string(),
                    })?;
                if matches!(parsed, Level::Normal | Level::Unknown) {
                    return Err(CatalogueError::BadLevel {
                        detector: id.clone(),
                        message: "must be Fatal, Error or Warn".to_string(),
                    });
                }
            }
            for (key, value) in &entry.settings {
                let Some(spec) = meta.setting(key) else {
                    let names = meta.settings.iter().map(|s| s.name.as_ref());
                    let valid: Vec<&str> = ENTRY_KEYS.iter().copied().chain(names).collect();
                    return Err(CatalogueError::UnknownSetting {
                        detector: id.clone(),
                        key: key.clone(),
                        suggestion: closest(key, valid.iter().copied())
                            .map(|s| format!(" (did you mean {s:?}?)"))
                            .unwrap_or_default(),
                        valid: valid.join(", "),
                    });
                };
                spec.check(value)
                    .map_err(|message| CatalogueError::SettingType {
                        detector: id.clone(),
                        key: key.clone(),
                        message,
                    })?;
            }
        }
        for (set, names) in sets {
            if matches!(set.as_str(), "default" | "all") {
                return Err(CatalogueError::BadSet {
                    set: set.clone(),
                    message: "`default` and `all` are built in".to_string(),
                });
            }
            for name in names {
                let bare = name.strip_prefix('-').unwrap_or(name);
                if !self.knows(bare) {
                    return Err(CatalogueError::BadSet {
                        set: set.clone(),
                        message: format!("unknown detector or label {bare:?}"),
                    });
                }
            }
        }
        Ok(())
    }

    /// The detectors' settings from validated config entries, as `<id>.<key>` values.
    pub fn apply_settings(
        &self,
        detectors: &BTreeMap<String, DetectorConfig>,
        settings: &mut Settings,
    ) {
        for (id, entry) in detectors {
            for (key, value) in &entry.settings {
                settings.set(format!("{id}.{key}"), value.clone());
            }
        }
    }

    /// Detectors of `selection.set`, narrowed by `select`, minus `ignore`, with the config's
    /// level overrides applied. Unknown names are errors.
    pub fn select(
        &self,
        selection: &Selection,
        detectors: &BTreeMap<String, DetectorConfig>,
        sets: &BTreeMap<String, Vec<String>>,
    ) -> Result<Vec<Arc<dyn Detector>>, CatalogueError> {
        for name in selection.select.iter().chain(&selection.ignore) {
            if !self.knows(name) {
                return Err(CatalogueError::UnknownName {
                    name: name.clone(),
                    suggestion: self.suggestion(name),
                });
            }
        }
        let matches = |d: &Arc<dyn Detector>, names: &[String]| {
            names
                .iter()
                .any(|n| d.meta().id == n.as_str() || d.meta().has_label(n))
        };
        let disabled = |d: &Arc<dyn Detector>| {
            detectors.get(d.meta().id.as_ref()).and_then(|e| e.enabled) == Some(false)
        };
        let all = self.detectors.iter().cloned();
        let in_set: Vec<Arc<dyn Detector>> = match selection.set.as_str() {
            "all" => all.collect(),
            // Explicitly selected detectors run even when the config disables them.
            "default" => all
                .filter(|d| !disabled(d) || matches(d, &selection.select))
                .collect(),
            named => match sets.get(named) {
                Some(names) => {
                    let (minus, plus): (Vec<String>, Vec<String>) =
                        names.iter().cloned().partition(|n| n.starts_with('-'));
                    let minus: Vec<String> = minus.iter().map(|n| n[1..].to_string()).collect();
                    all.filter(|d| plus.is_empty() || matches(d, &plus))
                        .filter(|d| !matches(d, &minus))
                        .collect()
                }
                None => {
                    let known: Vec<&str> = ["default", "all"]
                        .into_iter()
                        .chain(sets.keys().map(String::as_str))
                        .collect();
                    return Err(CatalogueError::UnknownSet {
                        name: named.to_string(),
                        known: known.join(", "),
                    });
                }
            },
        };
        Ok(in_set
            .into_iter()
            .filter(|d| selection.select.is_empty() || matches(d, &selection.select))
            .filter(|d| !matches(d, &selection.ignore))
            .map(|d| {
                let level = detectors
                    .get(d.meta().id.as_ref())
                    .and_then(|e| e.level.as_deref())
                    .and_then(|l| l.parse::<Level>().ok());
                match level {
                    Some(level) if level != d.meta().level => LevelOverride::wrap(d, level),
                    _ => d,
                }
            })
            .collect())
    }

    /// Ids named explicitly with `--select` (reported even when they cannot run).
    pub fn explicit_ids(&self, select: &[String]) -> BTreeSet<String> {
        select
            .iter()
            .filter(|s| self.get(s).is_some())
            .cloned()
            .collect()
    }
}

/// The candidate closest to `name`, when it is close enough to be a typo.
fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .filter(|c| {
            (c.len() > 2 && (c.contains(name) || name.contains(c))) || edit_distance(c, name) <= 3
        })
        .min_by_key(|c| edit_distance(c, name))
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// A detector whose default level the config overrides: findings at the default level take the
/// new one (graded findings keep their grade relative to it).
pub struct LevelOverride {
    inner: Arc<dyn Detector>,
    meta: DetectorMeta,
}

impl LevelOverride {
    pub fn wrap(inner: Arc<dyn Detector>, level: Level) -> Arc<dyn Detector> {
        let mut meta = inner.meta().clone();
        meta.level = level;
        Arc::new(LevelOverride { inner, meta })
    }
}

impl Detector for LevelOverride {
    fn meta(&self) -> &DetectorMeta {
        &self.meta
    }

    fn detect(&self, ctx: &DetectContext) -> Result<Outcome, DetectError> {
        let default = self.inner.meta().level;
        let mut outcome = self.inner.detect(ctx)?;
        for f in &mut outcome.findings {
            if f.level == default {
                f.level = self.meta.level;
            }
        }
        Ok(outcome)
    }
}
