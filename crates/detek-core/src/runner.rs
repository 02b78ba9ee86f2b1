use crate::key::KeyId;
use crate::level::Level;
use crate::plan::Plan;
use crate::report::{
    Attachment, CollectorStatus, Finding, Report, ReportList, ReportResult, SCHEMA_VERSION,
    ScanStatus, Summary, Target,
};
use crate::settings::Settings;
use crate::store::Store;
use crate::traits::{
    CollectContext, CollectError, Collector, DetectContext, Detector, DetectorMeta, Produced,
};
use futures::FutureExt;
use jiff::Timestamp;
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

/// Receives progress events; the CLI draws them on stderr when it is a terminal.
pub trait Progress: Send + Sync {
    fn collector_started(&self, _id: &str) {}
    fn collector_finished(&self, _id: &str, _ok: bool, _ms: f64) {}
    fn detectors_started(&self, _count: usize) {}
    fn detector_finished(&self, _id: &str) {}
    /// Free text from a collector, e.g. "listed 4,000 pods".
    fn message(&self, _text: &str) {}
}

/// Progress that goes nowhere.
pub struct Silent;
impl Progress for Silent {}

/// Decides whether a finding is suppressed (annotation, config rule); returns the reason.
pub trait Suppressor: Send + Sync {
    fn suppress(&self, store: &Store, detector: &DetectorMeta, finding: &Finding)
    -> Option<String>;

    /// Keys the suppressor reads: the planner collects them whatever detectors are selected
    /// (an annotation is honoured on a scan of one detector too).
    fn requires(&self) -> Vec<KeyId> {
        Vec::new()
    }
}

/// One rule for "now" (every time-based detector of a scan judges against the same instant).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Clock {
    /// The wall clock at the start of the scan (live clusters).
    #[default]
    Wall,
    /// A snapshot: the newest time its objects hold (a node heartbeat, an event, a creation
    /// time), so an old dump is judged as it was when it was taken; the wall clock when it
    /// holds none. Never later than the wall clock.
    Snapshot,
    /// Given: `--now TIME`, or the demo's capture time.
    Fixed,
}

pub struct RunOptions {
    pub target: Target,
    pub settings: Settings,
    /// The clock detectors see (see [`Clock`]).
    pub now: SystemTime,
    /// Where `now` comes from: a snapshot is judged as of the newest time it holds.
    pub clock: Clock,
    pub tool_version: String,
    pub progress: Arc<dyn Progress>,
    pub suppressors: Vec<Arc<dyn Suppressor>>,
    /// Detectors planned out (unrunnable) that should still appear as `Unknown` reports
    /// because the user asked for them by id.
    pub report_unrunnable: BTreeSet<String>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            target: Target::default(),
            settings: Settings::default(),
            now: SystemTime::now(),
            clock: Clock::Wall,
            tool_version: String::new(),
            progress: Arc::new(Silent),
            suppressors: Vec::new(),
            report_unrunnable: BTreeSet::new(),
        }
    }
}

/// Test kits' scan: the detectors of `all` named in `ids` (every id must name one), planned
/// against `collectors` and run on a runtime of their own, as `detek run` does.
pub fn run_selected(
    all: Vec<Arc<dyn Detector>>,
    ids: &[&str],
    collectors: &[Arc<dyn Collector>],
    options: &RunOptions,
) -> ReportList {
    let detectors = all
        .into_iter()
        .filter(|d| ids.contains(&d.meta().id.as_ref()))
        .collect::<Vec<_>>();
    assert_eq!(detectors.len(), ids.len(), "unknown detector among {ids:?}");
    let plan = crate::plan(detectors, collectors).expect("plan");
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(run(&plan, options))
}

/// What a plan's collectors gathered, for a command that reads the store itself (`detek why`)
/// instead of running detectors.
pub struct Collected {
    pub store: Store,
    pub collectors: Vec<CollectorStatus>,
    /// The scan's "now", decided as [`run`] decides it (a snapshot's newest time, `--now`…).
    pub now: SystemTime,
}

/// Run only the collectors of `plan`, stage by stage, as [`run`] does.
pub async fn collect_only(plan: &Plan, options: &RunOptions) -> Collected {
    let (store, collectors, _, observed_at) = collect(plan, options).await;
    Collected {
        store,
        collectors,
        now: scan_now(options, observed_at),
    }
}

/// The scan's "now": the options' clock, or for a snapshot its newest time if earlier.
fn scan_now(options: &RunOptions, observed_at: Option<Timestamp>) -> SystemTime {
    match (options.clock, observed_at) {
        (Clock::Snapshot, Some(newest)) => SystemTime::from(newest).min(options.now),
        _ => options.now,
    }
}

/// Run a plan: collectors stage by stage (each stage concurrently), then every detector in
/// parallel. Never fails: whatever goes wrong ends up in the report.
pub async fn run(plan: &Plan, options: &RunOptions) -> ReportList {
    let started_at = Timestamp::now();
    let clock = Instant::now();
    let (mut store, collectors, identity, observed_at) = collect(plan, options).await;
    store.insert(&crate::COLLECTORS, collectors.clone());
    let now = scan_now(options, observed_at);
    let evaluated_at = Timestamp::try_from(now).unwrap_or_else(|_| Timestamp::now());
    let clock_note = match (options.clock, observed_at) {
        (Clock::Wall, _) => "the time of the scan",
        (Clock::Snapshot, Some(_)) => "the newest time the snapshot holds",
        (Clock::Snapshot, None) => "the time of the scan: the snapshot holds no time",
        (Clock::Fixed, _) => "a fixed time: --now, or the demo's capture time",
    };
    let mut target = options.target.clone();
    if let Some(identity) = identity {
        target.identity = identity;
    }
    // Detectors reading a key the target turned out not to offer (a service missing from an
    // OpenStack catalog) are skipped with the reason, like those planned out.
    let mut skipped: BTreeMap<String, String> = plan
        .unrunnable
        .iter()
        .filter(|u| {
            !options
                .report_unrunnable
                .contains(u.detector.meta().id.as_ref())
        })
        .map(|u| (u.detector.meta().id.to_string(), u.reason.clone()))
        .collect();
    let mut runnable = Vec::with_capacity(plan.detectors.len());
    for detector in &plan.detectors {
        let meta = detector.meta();
        match meta.requires.iter().find_map(|k| store.skipped(k)) {
            Some(reason) => {
                skipped.insert(meta.id.to_string(), reason.to_string());
            }
            None => runnable.push(detector.clone()),
        }
    }
    // Detectors are CPU-bound (rayon): keep them off the async workers, so other targets'
    // collectors scanned concurrently keep making progress.
    let mut reports = off_async_workers(|| detect(&runnable, &store, options, &target, now));
    off_async_workers(|| {
        reports.par_iter_mut().for_each(|report| {
            for finding in &mut report.findings {
                finding.fingerprint = finding.compute_fingerprint(&target.identity, &report.id);
            }
        })
    });
    for u in &plan.unrunnable {
        if options
            .report_unrunnable
            .contains(u.detector.meta().id.as_ref())
        {
            reports.push(unknown_report(
                u.detector.meta(),
                format!("not run: {}", u.reason),
                0.0,
            ));
        }
    }
    reports.sort_by(|a, b| b.level.cmp(&a.level).then_with(|| a.id.cmp(&b.id)));

    let inputs_not_read: Vec<crate::report::Diagnostic> = collectors
        .iter()
        .flat_map(|c| &c.diagnostics)
        .filter(|d| d.level >= Level::Error)
        .cloned()
        .collect();
    let mut status = scan_status(&collectors, &runnable, &store);
    // Freeing a large cluster's store is millions of small frees (seconds at 400k objects):
    // done beside the rest, not before the report can be written.
    std::thread::spawn(move || drop(store));
    if status == ScanStatus::Complete && !inputs_not_read.is_empty() {
        // An input that could not be read: the scan did not look everywhere.
        status = ScanStatus::Partial;
    }
    if status == ScanStatus::NothingCollected {
        // A report of a scan that collected nothing says nothing about the target's health,
        // whatever a detector of the engine's own keys concluded.
        for report in reports.iter_mut().filter(|r| r.level != Level::Unknown) {
            report.level = Level::Unknown;
            report.result = ReportResult::Unknown;
            report.passed = false;
            report.error = Some("nothing could be collected from this target".to_string());
        }
    }
    ReportList {
        schema_version: SCHEMA_VERSION,
        tool: "detek".to_string(),
        version: options.tool_version.clone(),
        target,
        evaluated_at: Some(evaluated_at),
        clock: options.clock,
        clock_note: clock_note.to_string(),
        started_at,
        finished_at: Timestamp::now(),
        duration_ms: ms(clock),
        status,
        summary: Summary::of(&reports),
        collectors,
        inputs_not_read,
        reports,
        skipped,
    }
}

/// Keys the runner itself provides (`engine/…`): every target has them.
pub(crate) fn is_engine_key(key: &str) -> bool {
    key.starts_with("engine/")
}

/// Run CPU-bound work without holding up an async worker: on a multi-threaded runtime the
/// worker hands its other tasks to the rest of the pool first (`block_in_place`); elsewhere
/// (a current-thread runtime, no runtime) it simply runs.
pub fn off_async_workers<R>(work: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}

fn scan_status(
    collectors: &[CollectorStatus],
    detectors: &[Arc<dyn Detector>],
    store: &Store,
) -> ScanStatus {
    if collectors.is_empty() {
        return ScanStatus::Complete;
    }
    // Nothing collected: every collector failed, or none of the keys detectors read has a
    // value (keys only suppressors read, derived from nothing, do not count).
    let any_value = detectors
        .iter()
        .flat_map(|d| d.meta().requires.clone())
        .filter(|k| !is_engine_key(k))
        .any(|k| store.contains(k));
    // Every detector skipped (its source missing from this target) is not "nothing collected".
    if collectors.iter().all(|c| !c.ok) || (!detectors.is_empty() && !any_value) {
        ScanStatus::NothingCollected
    } else if collectors
        .iter()
        .any(|c| !c.ok || !c.failed_keys.is_empty())
    {
        ScanStatus::Partial
    } else {
        ScanStatus::Complete
    }
}

async fn collect(
    plan: &Plan,
    options: &RunOptions,
) -> (
    Store,
    Vec<CollectorStatus>,
    Option<String>,
    Option<Timestamp>,
) {
    let mut store = Store::new();
    let mut identity = None;
    let mut observed_at: Option<Timestamp> = None;
    let mut statuses = Vec::new();
    let last_stage = plan.collectors.iter().map(|c| c.stage).max();
    for stage in 0..=last_stage.unwrap_or(0) {
        if last_stage.is_none() {
            break;
        }
        let members: Vec<_> = plan
            .collectors
            .iter()
            .filter(|c| c.stage == stage)
            .collect();
        let store_ref = &store;
        let runs = members.iter().map(|planned| {
            let collector = planned.collector.clone();
            async move {
                let meta = collector.meta();
                // A collector whose input was skipped (the target does not offer its source)
                // does not run; its outputs are skipped with the same reason.
                if let Some(reason) = meta.requires.iter().find_map(|k| store_ref.skipped(k)) {
                    let produced = Produced::skipping(&meta.produces, reason);
                    return (collector, Ok(produced), 0.0);
                }
                // A collector whose input failed does not run; its outputs inherit the reason.
                if let Some((key, reason)) = meta
                    .requires
                    .iter()
                    .find_map(|k| store_ref.failure(k).map(|r| (*k, r)))
                {
                    let err =
                        CollectError::new(format!("not run: input {key} unavailable: {reason}"));
                    return (collector, Err(err), 0.0);
                }
                options.progress.collector_started(meta.id);
                let clock = Instant::now();
                let ctx = CollectContext {
                    store: store_ref,
                    wanted: &plan.wanted,
                    settings: &options.settings,
                    progress: options.progress.as_ref(),
                };
                let result = AssertUnwindSafe(collector.collect(ctx))
                    .catch_unwind()
                    .await
                    .unwrap_or_else(|panic| {
                        Err(CollectError::new(format!(
                            "collector panicked: {}",
                            panic_message(&panic)
                        )))
                    });
                let elapsed = ms(clock);
                options
                    .progress
                    .collector_finished(meta.id, result.is_ok(), elapsed);
                (collector, result, elapsed)
            }
        });
        let results: Vec<(_, Result<Produced, CollectError>, f64)> =
            futures::future::join_all(runs).await;
        for (collector, result, duration_ms) in results {
            let meta = collector.meta();
            let mut status = CollectorStatus {
                id: meta.id.to_string(),
                ok: result.is_ok(),
                error: None,
                failed_keys: BTreeMap::new(),
                diagnostics: Vec::new(),
                stats: BTreeMap::new(),
                duration_ms,
            };
            match result {
                Ok(produced) => {
                    for (key, slot) in produced.slots {
                        if let crate::store::Slot::Failed(reason) = &slot {
                            status.failed_keys.insert(key.to_string(), reason.clone());
                        }
                        store.set(key, slot);
                    }
                    for key in &meta.produces {
                        if plan.wanted.contains(key)
                            && store.failure(key).is_some()
                            && !status.failed_keys.contains_key(*key)
                        {
                            let reason = format!("collector {} did not produce it", meta.id);
                            status.failed_keys.insert(key.to_string(), reason.clone());
                            store.fail(key, reason);
                        }
                    }
                    status.diagnostics = produced.diagnostics;
                    status.stats = produced.stats;
                    identity = identity.or(produced.identity);
                    observed_at = observed_at.max(produced.observed_at);
                }
                Err(err) => {
                    let reason = format!("collector {} failed: {}", meta.id, err);
                    for key in &meta.produces {
                        store.fail(key, reason.clone());
                    }
                    status.error = Some(err.to_string());
                }
            }
            statuses.push(status);
        }
    }
    (store, statuses, identity, observed_at)
}

fn detect(
    detectors: &[Arc<dyn Detector>],
    store: &Store,
    options: &RunOptions,
    target: &Target,
    now: SystemTime,
) -> Vec<Report> {
    options.progress.detectors_started(detectors.len());
    detectors
        .par_iter()
        .map(|detector| {
            let report = run_detector(detector.as_ref(), store, options, target, now);
            options.progress.detector_finished(&detector.meta().id);
            report
        })
        .collect()
}

/// Run one detector, turning a missing input, an error or a panic into an `Unknown` report.
pub(crate) fn run_detector(
    detector: &dyn Detector,
    store: &Store,
    options: &RunOptions,
    target: &Target,
    now: SystemTime,
) -> Report {
    let meta = detector.meta();
    let clock = Instant::now();
    if let Some((key, reason)) = meta
        .requires
        .iter()
        .find_map(|k| store.failure(k).map(|r| (*k, r)))
    {
        return unknown_report(
            meta,
            format!("not run: input {key} unavailable: {reason}"),
            0.0,
        );
    }
    let ctx = DetectContext {
        store,
        settings: &options.settings,
        now,
        requires: &meta.requires,
        uses: &meta.uses,
        detector: &meta.id,
        target: Some(target),
    };
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| detector.detect(&ctx)));
    let elapsed = ms(clock);
    let mut outcome = match result {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(err)) => return unknown_report(meta, format!("detector failed: {err}"), elapsed),
        Err(panic) => {
            return unknown_report(
                meta,
                format!("detector panicked: {}", panic_message(&panic)),
                elapsed,
            );
        }
    };
    let mut suppressed = 0;
    for finding in &mut outcome.findings {
        if finding.suppressed.is_none() {
            finding.suppressed = options
                .suppressors
                .iter()
                .find_map(|s| s.suppress(store, meta, finding));
        }
        if finding.suppressed.is_some() {
            suppressed += 1;
        }
    }
    let active: Vec<&Finding> = outcome
        .findings
        .iter()
        .filter(|f| f.suppressed.is_none())
        .collect();
    let level = active
        .iter()
        .map(|f| f.level)
        .max()
        .unwrap_or(Level::Normal);
    let (result, note) = if !active.is_empty() {
        (ReportResult::Findings, None)
    } else if let Some(reason) = outcome.not_judged.take() {
        (ReportResult::NotJudged, Some(reason))
    } else if outcome.evaluated == Some(0) {
        (
            ReportResult::NothingToCheck,
            Some("the scan holds nothing this detector judges".to_string()),
        )
    } else {
        (ReportResult::Passed, None)
    };
    // `passed` keeps kakao/detek's meaning (evaluated, no problem found); `result` tells a
    // pass from a detector that had nothing to judge.
    let passed = active.is_empty();
    let problem = (!passed).then(|| Attachment {
        description: format!("{} finding(s): {}", active.len(), meta.title),
        data: serde_json::Value::Array(
            active
                .iter()
                .take(100)
                .map(|f| {
                    serde_json::Value::String(match &f.object {
                        Some(o) => format!("{}: {}", o.display_name(), f.message),
                        None => f.message.clone(),
                    })
                })
                .collect(),
        ),
    });
    let mut attachment = outcome.attachments;
    // Reports are kept to the end of the scan: a detector with 10,000 findings would keep room
    // for 16,384 (300 bytes each).
    outcome.findings.shrink_to_fit();
    if let Some(n) = outcome.evaluated {
        attachment.insert(
            0,
            Attachment {
                description: "# of objects evaluated".to_string(),
                data: serde_json::json!(n),
            },
        );
    }
    Report {
        id: meta.id.to_string(),
        description: meta.title.to_string(),
        labels: meta.labels.iter().map(|s| s.to_string()).collect(),
        created_at: Timestamp::now(),
        level,
        default_level: meta.level,
        passed,
        problem,
        attachment,
        explanation: meta.explanation(),
        solution: meta.solution().to_string(),
        example: meta.docs.example.trim().to_string(),
        references: meta.references.iter().map(|s| s.to_string()).collect(),
        findings: outcome.findings,
        suppressed,
        evaluated: outcome.evaluated,
        result,
        note,
        error: None,
        duration_ms: elapsed,
    }
}

/// A report for a detector that could not be evaluated.
pub fn unknown_report(meta: &DetectorMeta, reason: String, duration_ms: f64) -> Report {
    Report {
        id: meta.id.to_string(),
        description: meta.title.to_string(),
        labels: meta.labels.iter().map(|s| s.to_string()).collect(),
        created_at: Timestamp::now(),
        level: Level::Unknown,
        default_level: meta.level,
        passed: false,
        problem: Some(Attachment {
            description: "not evaluated".to_string(),
            data: serde_json::Value::String(reason.clone()),
        }),
        attachment: Vec::new(),
        explanation: meta.explanation(),
        solution: meta.solution().to_string(),
        example: meta.docs.example.trim().to_string(),
        references: meta.references.iter().map(|s| s.to_string()).collect(),
        findings: Vec::new(),
        suppressed: 0,
        evaluated: None,
        result: ReportResult::Unknown,
        note: None,
        error: Some(reason),
        duration_ms,
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}

fn ms(clock: Instant) -> f64 {
    (clock.elapsed().as_secs_f64() * 1e6).round() / 1e3
}
