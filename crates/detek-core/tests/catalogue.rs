//! The core catalogue: registration from several sources (a macro-declared detector, a
//! detector whose metadata is built at run time), selection, sets, level overrides, the
//! validation of declared settings, and finding fingerprints.

use detek_core::*;
use detek_macros::{DetectorSettings, detector};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

const NUMBERS: Key<Vec<i64>> = Key::new("test/numbers");

/// ## What it detects
/// Numbers at or above `limit`.
///
/// ## Why it matters
/// Large numbers overflow.
///
/// ## How to fix
/// Use smaller numbers.
///
/// ## Example
/// ```text
/// 100
/// ```
#[detector(
    id = "large_number",
    title = "Numbers too large",
    labels = ["test", "numbers"],
    level = Warn,
    requires = [NUMBERS],
    settings = LargeNumberSettings,
)]
struct LargeNumber;

/// Settings of `large_number`.
#[derive(DetectorSettings, Serialize, Deserialize, Debug, PartialEq)]
struct LargeNumberSettings {
    /// Numbers at or above this are reported.
    #[setting(default = 10)]
    limit: i64,
    /// Names of numbers never reported.
    #[setting(default = ["zero"])]
    allowed: Vec<String>,
    /// A label for findings.
    #[setting(default = "big")]
    tag: String,
}

/// Settings with a field the program sets itself (`#[setting(internal)]`).
#[derive(DetectorSettings, Serialize, Deserialize, Debug, PartialEq)]
struct WithInternal {
    /// Files to read.
    files: Vec<String>,
    /// What the program read from them.
    #[setting(internal)]
    loaded: Option<Vec<i64>>,
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let settings: LargeNumberSettings = ctx.settings_of()?;
    let numbers = ctx.get(&NUMBERS)?;
    let mut out = Outcome::new().evaluated(numbers.len());
    for n in numbers.iter().filter(|n| **n >= settings.limit) {
        out.push(
            Finding::new(
                Level::Warn,
                Some(ObjectRef::new("Number", None, n.to_string())),
                format!("{n} is {} (limit {})", settings.tag, settings.limit),
            )
            .with_discriminator("size"),
        );
    }
    Ok(out)
}

/// A detector whose metadata is read at run time (as a Rego policy's would be): owned text,
/// nothing leaked.
struct Loaded {
    meta: DetectorMeta,
}

impl Loaded {
    fn from_source(id: &str, markdown: &str) -> Arc<dyn Detector> {
        Arc::new(Loaded {
            meta: DetectorMeta {
                id: id.to_string().into(),
                title: format!("{id} (loaded)").into(),
                labels: vec!["loaded".to_string().into()],
                level: Level::Error,
                requires: vec![NUMBERS.id()],
                uses: Vec::new(),
                references: Vec::new(),
                docs: Docs::parse(markdown),
                settings: vec![SettingSpec::new(
                    "negative_only".to_string(),
                    SettingType::Bool,
                    true.into(),
                    "only negative numbers".to_string(),
                )],
                source: None,
            },
        })
    }
}

impl Detector for Loaded {
    fn meta(&self) -> &DetectorMeta {
        &self.meta
    }
    fn detect(&self, ctx: &DetectContext) -> Result<Outcome, DetectError> {
        let numbers = ctx.get(&NUMBERS)?;
        let mut out = Outcome::new().evaluated(numbers.len());
        for n in numbers.iter().filter(|n| **n < 0) {
            out.push(Finding::new(
                Level::Error,
                Some(ObjectRef::new("Number", None, n.to_string())),
                format!("{n} is negative"),
            ));
        }
        Ok(out)
    }
}

struct Numbers(Vec<i64>);

impl Collector for Numbers {
    fn meta(&self) -> &CollectorMeta {
        static META: std::sync::LazyLock<CollectorMeta> =
            std::sync::LazyLock::new(|| CollectorMeta {
                id: "test/numbers",
                description: "numbers",
                labels: vec![],
                requires: vec![],
                produces: vec![NUMBERS.id()],
            });
        &META
    }
    fn collect<'a>(
        &'a self,
        _ctx: CollectContext<'a>,
    ) -> BoxFuture<'a, Result<Produced, CollectError>> {
        Box::pin(async move {
            let mut out = Produced::new();
            out.put(&NUMBERS, self.0.clone());
            Ok(out)
        })
    }
}

fn catalogue() -> Catalogue {
    let mut c = Catalogue::new();
    c.register(Arc::new(LargeNumber)).unwrap();
    c.register(Loaded::from_source(
        "negative_number",
        "## What it detects\nNegative numbers.\n\n## Why it matters\nThey are odd.\n\n## How to fix\nAdd.\n\n## Example\n```\n-1\n```\n",
    ))
    .unwrap();
    c
}

fn config(yaml: serde_json::Value) -> BTreeMap<String, DetectorConfig> {
    serde_json::from_value(yaml).unwrap()
}

fn scan(numbers: Vec<i64>, settings: Settings, identity: &str) -> ReportList {
    let c = catalogue();
    let detectors = c
        .select(&Selection::default(), &BTreeMap::new(), &BTreeMap::new())
        .unwrap();
    let collectors: Vec<Arc<dyn Collector>> = vec![Arc::new(Numbers(numbers))];
    let plan = plan(detectors, &collectors).unwrap();
    let options = RunOptions {
        settings,
        target: Target {
            kind: "test".into(),
            name: "numbers".into(),
            identity: identity.into(),
            context: None,
        },
        ..RunOptions::default()
    };
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap()
        .block_on(run(&plan, &options))
}

#[test]
fn macro_declared_metadata_docs_and_settings() {
    let c = catalogue();
    let meta = c.get("large_number").unwrap().meta();
    assert_eq!(meta.title, "Numbers too large");
    assert_eq!(meta.labels, vec!["test", "numbers"]);
    assert_eq!(meta.level, Level::Warn);
    assert_eq!(meta.requires, vec!["test/numbers"]);
    assert_eq!(meta.docs.what, "Numbers at or above `limit`.");
    assert_eq!(meta.docs.example, "```text\n100\n```");
    assert!(meta.docs.is_complete());
    let settings: Vec<(String, SettingType, serde_json::Value, String)> = meta
        .settings
        .iter()
        .map(|s| {
            (
                s.name.to_string(),
                s.kind,
                s.default.clone(),
                s.doc.to_string(),
            )
        })
        .collect();
    assert_eq!(
        settings,
        vec![
            (
                "limit".into(),
                SettingType::Integer,
                10.into(),
                "Numbers at or above this are reported.".into()
            ),
            (
                "allowed".into(),
                SettingType::StringList,
                serde_json::json!(["zero"]),
                "Names of numbers never reported.".into()
            ),
            (
                "tag".into(),
                SettingType::String,
                "big".into(),
                "A label for findings.".into()
            ),
        ]
    );
}

#[test]
fn a_runtime_loaded_detector_registers_selects_and_runs() {
    let c = catalogue();
    let meta = c.get("negative_number").unwrap().meta();
    assert_eq!(meta.title, "negative_number (loaded)");
    assert_eq!(meta.docs.why, "They are odd.");
    let by_label = c
        .select(
            &Selection {
                select: vec!["loaded".into()],
                ..Selection::default()
            },
            &BTreeMap::new(),
            &BTreeMap::new(),
        )
        .unwrap();
    assert_eq!(by_label.len(), 1);
    let list = scan(vec![1, -2, 30], Settings::new(), "t");
    let report = list
        .reports
        .iter()
        .find(|r| r.id == "negative_number")
        .unwrap();
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].message, "-2 is negative");
    assert_eq!(
        Catalogue::new()
            .register(Loaded::from_source("Bad-Id", ""))
            .unwrap_err(),
        CatalogueError::BadId("Bad-Id".into())
    );
    let mut twice = catalogue();
    assert_eq!(
        twice.register(Arc::new(LargeNumber)).unwrap_err(),
        CatalogueError::Duplicate("large_number".into())
    );
}

#[test]
fn settings_are_validated_against_their_declaration() {
    let c = catalogue();
    let sets = BTreeMap::new();
    let err = c
        .validate(
            &config(serde_json::json!({"large_number": {"limt": 3}})),
            &sets,
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "detectors.large_number.limt: unknown setting (did you mean \"limit\"?); valid keys: \
         level, enabled, limit, allowed, tag"
    );
    let err = c
        .validate(
            &config(serde_json::json!({"large_number": {"limit": "ten"}})),
            &sets,
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "detectors.large_number.limit: expected type integer, found a string (\"ten\")"
    );
    let err = c
        .validate(
            &config(serde_json::json!({"large_number": {"allowed": [1]}})),
            &sets,
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "detectors.large_number.allowed: expected type list of strings, found a list ([1])"
    );
    let err = c
        .validate(&config(serde_json::json!({"large_numbr": {}})), &sets)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "detectors.large_numbr: no such detector (did you mean \"large_number\"?) (see `detek list`)"
    );
    let err = c
        .validate(
            &config(serde_json::json!({"large_number": {"level": "Normal"}})),
            &sets,
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "detectors.large_number.level: must be Fatal, Error or Warn"
    );
    let good = config(
        serde_json::json!({"large_number": {"limit": 3, "level": "Error", "negative_only": 1}}),
    );
    // `negative_only` is not a setting of large_number.
    assert!(c.validate(&good, &sets).is_err());
    let good = config(serde_json::json!({"large_number": {"limit": 3, "level": "Error"}}));
    c.validate(&good, &sets).unwrap();

    // Applied, the typed settings and the level override reach the detector.
    let mut settings = Settings::new();
    c.apply_settings(&good, &mut settings);
    let selected = c
        .select(&Selection::default(), &good, &BTreeMap::new())
        .unwrap();
    let large = selected
        .iter()
        .find(|d| d.meta().id == "large_number")
        .unwrap();
    assert_eq!(large.meta().level, Level::Error);
    let list = scan(vec![1, 4, 12], settings, "t");
    let report = list
        .reports
        .iter()
        .find(|r| r.id == "large_number")
        .unwrap();
    let messages: Vec<&str> = report.findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(messages, vec!["4 is big (limit 3)", "12 is big (limit 3)"]);
}

#[test]
fn sets_select_and_ignore_compose() {
    let c = catalogue();
    let sets: BTreeMap<String, Vec<String>> = [(
        "mine".to_string(),
        vec!["test".to_string(), "-large_number".to_string()],
    )]
    .into();
    c.validate(&BTreeMap::new(), &sets).unwrap();
    let ids = |selection: Selection, detectors: &BTreeMap<String, DetectorConfig>| {
        c.select(&selection, detectors, &sets)
            .unwrap()
            .iter()
            .map(|d| d.meta().id.to_string())
            .collect::<Vec<_>>()
    };
    let none = BTreeMap::new();
    assert_eq!(
        ids(
            Selection {
                set: "mine".into(),
                ..Selection::default()
            },
            &none
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        ids(
            Selection {
                ignore: vec!["numbers".into()],
                ..Selection::default()
            },
            &none
        ),
        vec!["negative_number"]
    );
    let disabled = config(serde_json::json!({"large_number": {"enabled": false}}));
    assert_eq!(
        ids(Selection::default(), &disabled),
        vec!["negative_number"]
    );
    // Named explicitly, a disabled detector runs.
    assert_eq!(
        ids(
            Selection {
                select: vec!["large_number".into()],
                ..Selection::default()
            },
            &disabled
        ),
        vec!["large_number"]
    );
    let err = c
        .select(
            &Selection {
                select: vec!["large_nuber".into()],
                ..Selection::default()
            },
            &none,
            &sets,
        )
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "unknown detector or label \"large_nuber\" (did you mean \"large_number\"?) (see `detek list`)"
    );
}

#[test]
fn fingerprints_ignore_the_message_and_tell_targets_apart() {
    let a = scan(vec![12], Settings::new(), "cluster:uid:a");
    let mut settings = Settings::new();
    settings.set("large_number.tag", "huge");
    let a_again = scan(vec![12], settings, "cluster:uid:a");
    let b = scan(vec![12], Settings::new(), "cluster:uid:b");
    let finding = |list: &ReportList| {
        list.reports
            .iter()
            .find(|r| r.id == "large_number")
            .unwrap()
            .findings[0]
            .clone()
    };
    let (fa, fa2, fb) = (finding(&a), finding(&a_again), finding(&b));
    assert_ne!(fa.message, fa2.message);
    assert_eq!(fa.fingerprint, fa2.fingerprint);
    assert_eq!(fa.fingerprint.len(), 32);
    assert_ne!(fa.fingerprint, fb.fingerprint);
    // The discriminator tells two findings on one object apart.
    assert_ne!(
        fa.fingerprint,
        fa.clone()
            .with_discriminator("other")
            .compute_fingerprint("cluster:uid:a", "large_number")
    );
    // Pinned: the fingerprint is a contract (baselines, SARIF, the hub's history).
    assert_eq!(
        fa.compute_fingerprint("cluster:uid:a", "large_number"),
        fa.fingerprint
    );
    let json = serde_json::to_value(&fa).unwrap();
    assert_eq!(json["fingerprint"], fa.fingerprint.as_str());
}

#[test]
fn internal_settings_are_read_but_not_declared() {
    let names: Vec<String> = WithInternal::specs()
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    assert_eq!(names, vec!["files"]);
    let mut settings = Settings::new();
    settings.set("reader.files", serde_json::json!(["a.yaml"]));
    settings.set("reader.loaded", serde_json::json!([1, 2]));
    assert_eq!(
        settings.detector::<WithInternal>("reader").unwrap(),
        WithInternal {
            files: vec!["a.yaml".into()],
            loaded: Some(vec![1, 2]),
        }
    );
    assert_eq!(
        Settings::new().detector::<WithInternal>("reader").unwrap(),
        WithInternal {
            files: Vec::new(),
            loaded: None,
        }
    );
}
