//! Helpers for detector tests: run one detector on fixture files.

use crate::collector::SnapshotCollector;
use crate::ingest::Input;
use detek_core::{Clock, Collector, Report, RunOptions, Settings};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

/// `tests/fixtures/<id>/` of this crate.
pub fn fixture_dir(id: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(id)
}

/// Run detector `id` on `tests/fixtures/<id>/<file>`.
pub fn run_fixture(id: &str, file: &str) -> Report {
    run_on(
        id,
        vec![Input::Path(fixture_dir(id).join(file))],
        Settings::default(),
    )
}

/// Each finding as `Kind/namespace/name [container]: message`, in order.
pub fn finding_lines(report: &Report) -> Vec<String> {
    report
        .findings
        .iter()
        .map(|f| {
            format!(
                "{}: {}",
                f.object.as_ref().unwrap().display_name(),
                f.message
            )
        })
        .collect()
}

/// One finding as `Kind/namespace/name [container]: message`.
pub fn finding_lines_of(finding: &detek_core::Finding) -> String {
    format!(
        "{}: {}",
        finding.object.as_ref().unwrap().display_name(),
        finding.message
    )
}

/// Each finding as (`Kind/namespace/name [container]`, message), in order.
pub fn finding_pairs(report: &Report) -> Vec<(String, &str)> {
    report
        .findings
        .iter()
        .map(|f| {
            (
                f.object.as_ref().unwrap().display_name(),
                f.message.as_str(),
            )
        })
        .collect()
}

/// Everything a report says about its findings (messages, evidence, objects, summary), as one
/// string, for asserting that a Secret value appears nowhere.
pub fn reported(report: &Report) -> String {
    let findings = serde_json::to_string(&report.findings).unwrap();
    let problem = serde_json::to_string(&report.problem).unwrap();
    let attachments = serde_json::to_string(&report.attachment).unwrap();
    format!("{findings}{problem}{attachments}")
}

/// Run detector `id` alone on the given inputs with the given settings.
/// Files are judged as the CLI judges them: as of the newest time they hold.
pub fn run_on(id: &str, inputs: Vec<Input>, settings: Settings) -> Report {
    run_with_clock(id, inputs, settings, SystemTime::now(), Clock::Snapshot)
}

/// Run detector `id` on `tests/fixtures/<id>/<file>` with the scan clock (`ctx.now`) set to
/// `now`, for checks that depend on the date (certificate expiry, ages).
pub fn run_fixture_at(id: &str, file: &str, now: SystemTime) -> Report {
    run_on_at(
        id,
        vec![Input::Path(fixture_dir(id).join(file))],
        Settings::default(),
        now,
    )
}

/// [`run_on`] with the scan clock (`ctx.now`) set to `now` (as `--now` does).
pub fn run_on_at(id: &str, inputs: Vec<Input>, settings: Settings, now: SystemTime) -> Report {
    run_with_clock(id, inputs, settings, now, Clock::Fixed)
}

fn run_with_clock(
    id: &str,
    inputs: Vec<Input>,
    settings: Settings,
    now: SystemTime,
    clock: Clock,
) -> Report {
    let detector = crate::detectors::all()
        .into_iter()
        .find(|d| d.meta().id == id)
        .unwrap_or_else(|| panic!("no detector {id}"));
    // `*.store.json` inputs provide live-only keys (see `crate::fixture`).
    let (stores, inputs): (Vec<Input>, Vec<Input>) = inputs
        .into_iter()
        .partition(crate::fixture::is_store_fixture);
    let mut collectors: Vec<Arc<dyn Collector>> = vec![Arc::new(SnapshotCollector::new(inputs))];
    if !stores.is_empty() {
        collectors.push(Arc::new(crate::fixture::StoreFixtureCollector::new(stores)));
    }
    let plan = detek_core::plan(vec![detector], &collectors).expect("plan");
    let options = RunOptions {
        settings,
        report_unrunnable: [id.to_string()].into(),
        now,
        clock,
        ..Default::default()
    };
    let list = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(detek_core::run(&plan, &options));
    list.reports.into_iter().next().expect("one report")
}
