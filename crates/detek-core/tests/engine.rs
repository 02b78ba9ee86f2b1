//! Planner and runner behaviour, with small collectors and detectors defined here.

use detek_core::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const NUMBERS: Key<Vec<i64>> = Key::new("test/numbers");
const DOUBLED: Key<Vec<i64>> = Key::new("test/doubled");
const OTHER: Key<String> = Key::new("test/other");
const NOBODY: Key<String> = Key::new("remote/nobody");

struct Source {
    meta: CollectorMeta,
    fail: bool,
    runs: AtomicUsize,
}

impl Source {
    fn new(fail: bool) -> Self {
        Source {
            meta: CollectorMeta {
                id: "test/source",
                description: "numbers",
                labels: vec![],
                requires: vec![],
                produces: vec![NUMBERS.id(), OTHER.id()],
            },
            fail,
            runs: AtomicUsize::new(0),
        }
    }
}

impl Collector for Source {
    fn meta(&self) -> &CollectorMeta {
        &self.meta
    }
    fn collect<'a>(
        &'a self,
        ctx: CollectContext<'a>,
    ) -> BoxFuture<'a, Result<Produced, CollectError>> {
        Box::pin(async move {
            self.runs.fetch_add(1, Ordering::SeqCst);
            if self.fail {
                return Err(CollectError::new("connection refused"));
            }
            let mut out = Produced::new();
            out.put(&NUMBERS, vec![1, 2, 3, -4]);
            if ctx.wanted.contains(OTHER.id()) {
                out.fail(OTHER.id(), "forbidden: other");
            }
            Ok(out)
        })
    }
}

struct Doubler {
    meta: CollectorMeta,
}

impl Collector for Doubler {
    fn meta(&self) -> &CollectorMeta {
        &self.meta
    }
    fn collect<'a>(
        &'a self,
        ctx: CollectContext<'a>,
    ) -> BoxFuture<'a, Result<Produced, CollectError>> {
        Box::pin(async move {
            let numbers = ctx
                .store
                .get(&NUMBERS)
                .map_err(|m| CollectError::new(m.to_string()))?;
            let mut out = Produced::new();
            out.put(&DOUBLED, numbers.iter().map(|n| n * 2).collect());
            Ok(out)
        })
    }
}

fn doubler(requires: Vec<KeyId>, produces: Vec<KeyId>, id: &'static str) -> Arc<dyn Collector> {
    Arc::new(Doubler {
        meta: CollectorMeta {
            id,
            description: "",
            labels: vec![],
            requires,
            produces,
        },
    })
}

enum Behaviour {
    Negatives,
    Panic,
    Error,
    NeedsOther,
    Undeclared,
}

struct TestDetector {
    meta: DetectorMeta,
    behaviour: Behaviour,
}

fn detector(
    id: &'static str,
    requires: &'static [KeyId],
    behaviour: Behaviour,
) -> Arc<dyn Detector> {
    Arc::new(TestDetector {
        meta: DetectorMeta {
            id: id.into(),
            title: "test".into(),
            labels: vec!["test".into()],
            level: Level::Error,
            requires: requires.to_vec(),
            uses: Vec::new(),
            references: Vec::new(),
            docs: Docs::default(),
            settings: Vec::new(),
            source: None,
        },
        behaviour,
    })
}

impl Detector for TestDetector {
    fn meta(&self) -> &DetectorMeta {
        &self.meta
    }
    fn detect(&self, ctx: &DetectContext) -> Result<Outcome, DetectError> {
        match self.behaviour {
            Behaviour::Negatives => {
                let doubled = ctx.get(&DOUBLED)?;
                let mut out = Outcome::new().evaluated(doubled.len());
                for n in doubled.iter().filter(|n| **n < 0) {
                    out.push(Finding::new(Level::Error, None, format!("{n} is negative")));
                }
                Ok(out)
            }
            Behaviour::Panic => panic!("index out of bounds"),
            Behaviour::Error => Err(DetectError::new("bad data")),
            Behaviour::NeedsOther => Ok(Outcome::new()),
            Behaviour::Undeclared => {
                ctx.get(&NUMBERS)?;
                Ok(Outcome::new())
            }
        }
    }
}

const DOUBLED_ONLY: &[KeyId] = &[DOUBLED.id()];
const OTHER_ONLY: &[KeyId] = &[OTHER.id()];
const NOBODY_ONLY: &[KeyId] = &[NOBODY.id()];

fn collectors(fail: bool) -> Vec<Arc<dyn Collector>> {
    vec![
        doubler(vec![NUMBERS.id()], vec![DOUBLED.id()], "test/doubler"),
        Arc::new(Source::new(fail)),
    ]
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn plan_orders_collectors_transitively_and_lists_unrunnable() {
    let plan = plan(
        vec![
            detector("negatives", DOUBLED_ONLY, Behaviour::Negatives),
            detector("remote", NOBODY_ONLY, Behaviour::NeedsOther),
        ],
        &collectors(false),
    )
    .unwrap();
    let order: Vec<_> = plan
        .collectors
        .iter()
        .map(|c| (c.collector.meta().id, c.stage))
        .collect();
    assert_eq!(order, vec![("test/source", 0), ("test/doubler", 1)]);
    assert_eq!(plan.detectors.len(), 1);
    assert_eq!(plan.unrunnable.len(), 1);
    assert_eq!(plan.unrunnable[0].detector.meta().id, "remote");
    assert!(plan.wanted.contains(NUMBERS.id()));
    assert!(!plan.wanted.contains(OTHER.id()));
}

#[test]
fn plan_rejects_cycles_unknown_keys_and_duplicate_producers() {
    let cyclic = vec![
        doubler(vec![OTHER.id()], vec![DOUBLED.id()], "a"),
        doubler(vec![DOUBLED.id()], vec![OTHER.id()], "b"),
    ];
    let err = plan(
        vec![detector("d", DOUBLED_ONLY, Behaviour::Negatives)],
        &cyclic,
    )
    .err()
    .unwrap();
    assert!(
        matches!(err, PlanError::Cycle(ref ids) if ids.len() == 2),
        "{err}"
    );

    let dangling = vec![doubler(vec![NOBODY.id()], vec![DOUBLED.id()], "a")];
    let err = plan(
        vec![detector("d", DOUBLED_ONLY, Behaviour::Negatives)],
        &dangling,
    )
    .err()
    .unwrap();
    assert_eq!(
        err.to_string(),
        "collector a requires key remote/nobody, which no collector produces"
    );

    let twice = vec![
        doubler(vec![], vec![DOUBLED.id()], "a"),
        doubler(vec![], vec![DOUBLED.id()], "b"),
    ];
    assert!(matches!(
        plan(vec![], &twice).err().unwrap(),
        PlanError::DuplicateProducer { .. }
    ));
}

#[test]
fn run_reports_findings_panics_errors_and_missing_inputs() {
    let plan = plan(
        vec![
            detector("negatives", DOUBLED_ONLY, Behaviour::Negatives),
            detector("panics", DOUBLED_ONLY, Behaviour::Panic),
            detector("errors", DOUBLED_ONLY, Behaviour::Error),
            detector("needs_other", OTHER_ONLY, Behaviour::NeedsOther),
            detector("undeclared", DOUBLED_ONLY, Behaviour::Undeclared),
        ],
        &collectors(false),
    )
    .unwrap();
    let list = block_on(run(&plan, &RunOptions::default()));
    let by_id = |id: &str| list.reports.iter().find(|r| r.id == id).unwrap();

    let negatives = by_id("negatives");
    assert_eq!(negatives.level, Level::Error);
    assert!(!negatives.passed);
    assert_eq!(negatives.findings.len(), 1);
    assert_eq!(negatives.findings[0].message, "-8 is negative");
    assert_eq!(negatives.evaluated, Some(4));

    let panics = by_id("panics");
    assert_eq!(panics.level, Level::Unknown);
    assert!(
        panics
            .error
            .as_deref()
            .unwrap()
            .contains("index out of bounds")
    );

    assert_eq!(by_id("errors").level, Level::Unknown);
    assert!(
        by_id("errors")
            .error
            .as_deref()
            .unwrap()
            .contains("bad data")
    );

    let needs_other = by_id("needs_other");
    assert_eq!(needs_other.level, Level::Unknown);
    assert!(
        needs_other
            .error
            .as_deref()
            .unwrap()
            .contains("forbidden: other"),
        "{:?}",
        needs_other.error
    );

    assert!(
        by_id("undeclared")
            .error
            .as_deref()
            .unwrap()
            .contains("without declaring")
    );

    assert_eq!(list.status, ScanStatus::Partial);
    assert_eq!(list.summary.error, 1);
    assert_eq!(list.summary.unknown, 4);
    // Worst first.
    assert_eq!(list.reports[0].id, "negatives");
}

#[test]
fn failed_collector_makes_dependents_unknown_and_scan_not_healthy() {
    let plan = plan(
        vec![detector("negatives", DOUBLED_ONLY, Behaviour::Negatives)],
        &collectors(true),
    )
    .unwrap();
    let list = block_on(run(&plan, &RunOptions::default()));
    assert_eq!(list.status, ScanStatus::NothingCollected);
    let report = &list.reports[0];
    assert_eq!(report.level, Level::Unknown);
    assert!(!report.passed);
    let error = report.error.as_deref().unwrap();
    assert!(
        error.contains("collector test/source failed: connection refused"),
        "{error}"
    );
    let source = list
        .collectors
        .iter()
        .find(|c| c.id == "test/source")
        .unwrap();
    assert!(!source.ok);
    let doubler = list
        .collectors
        .iter()
        .find(|c| c.id == "test/doubler")
        .unwrap();
    assert!(doubler.error.as_deref().unwrap().starts_with("not run"));
    assert_eq!(list.summary.normal, 0);
}

struct SuppressNegatives;
impl Suppressor for SuppressNegatives {
    fn suppress(&self, _: &Store, _: &DetectorMeta, finding: &Finding) -> Option<String> {
        finding
            .message
            .contains("negative")
            .then(|| "accepted risk".to_string())
    }
}

#[test]
fn suppressed_findings_are_kept_and_counted() {
    let plan = plan(
        vec![detector("negatives", DOUBLED_ONLY, Behaviour::Negatives)],
        &collectors(false),
    )
    .unwrap();
    let options = RunOptions {
        suppressors: vec![Arc::new(SuppressNegatives)],
        ..Default::default()
    };
    let list = block_on(run(&plan, &options));
    let report = &list.reports[0];
    assert!(report.passed);
    assert_eq!(report.level, Level::Normal);
    assert_eq!(report.suppressed, 1);
    assert_eq!(report.findings.len(), 1);
    assert_eq!(list.summary.suppressed, 1);
}

#[test]
fn unrunnable_detector_asked_for_by_id_is_unknown() {
    let plan = plan(
        vec![detector("remote", NOBODY_ONLY, Behaviour::NeedsOther)],
        &collectors(false),
    )
    .unwrap();
    let options = RunOptions {
        report_unrunnable: ["remote".to_string()].into(),
        ..Default::default()
    };
    let list = block_on(run(&plan, &options));
    assert_eq!(list.reports.len(), 1);
    assert_eq!(list.reports[0].level, Level::Unknown);
    assert!(list.skipped.is_empty());
    let list = block_on(run(&plan, &RunOptions::default()));
    assert!(list.reports.is_empty());
    assert!(list.skipped["remote"].contains("remote/nobody"));
}

/// A source that does not offer `test/numbers` on this target (an OpenStack catalog without
/// the service).
struct SkippingSource {
    meta: CollectorMeta,
}

impl Collector for SkippingSource {
    fn meta(&self) -> &CollectorMeta {
        &self.meta
    }
    fn collect<'a>(
        &'a self,
        _ctx: CollectContext<'a>,
    ) -> BoxFuture<'a, Result<Produced, CollectError>> {
        Box::pin(async move {
            let mut out = Produced::new();
            out.skip(NUMBERS.id(), "the catalog has no service of type numbers");
            out.put(&OTHER, "here".to_string());
            Ok(out)
        })
    }
}

#[test]
fn a_skipped_key_skips_its_readers_and_downstream_collectors_with_the_reason() {
    let collectors: Vec<Arc<dyn Collector>> = vec![
        doubler(vec![NUMBERS.id()], vec![DOUBLED.id()], "test/doubler"),
        Arc::new(SkippingSource {
            meta: CollectorMeta {
                id: "test/source",
                description: "",
                labels: vec![],
                requires: vec![],
                produces: vec![NUMBERS.id(), OTHER.id()],
            },
        }),
    ];
    let both = plan(
        vec![
            detector("negatives", DOUBLED_ONLY, Behaviour::Negatives),
            detector("other", OTHER_ONLY, Behaviour::NeedsOther),
        ],
        &collectors,
    )
    .unwrap();
    let list = block_on(run(&both, &RunOptions::default()));
    let ids: Vec<&str> = list.reports.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["other"]);
    assert_eq!(
        list.skipped["negatives"],
        "the catalog has no service of type numbers"
    );
    assert_eq!(list.status, ScanStatus::Complete);
    assert!(
        list.collectors
            .iter()
            .all(|c| c.ok && c.failed_keys.is_empty())
    );

    // Every selected detector skipped: still a complete scan, not "nothing collected".
    let only_skipped = plan(
        vec![detector("negatives", DOUBLED_ONLY, Behaviour::Negatives)],
        &collectors,
    )
    .unwrap();
    let list = block_on(run(&only_skipped, &RunOptions::default()));
    assert!(list.reports.is_empty());
    assert_eq!(list.skipped.len(), 1);
    assert_eq!(list.status, ScanStatus::Complete);
}
