//! Test kit: run metric detectors through the real engine (planner, collectors, runner) with
//! a given collector, and read their reports.

use detek_core::{Clock, Collector, Report, ReportList, RunOptions, Settings};
use std::sync::Arc;

/// Run detectors `ids` with `collectors` and `settings`, as a scan does.
pub fn run(ids: &[&str], collectors: Vec<Arc<dyn Collector>>, settings: Settings) -> ReportList {
    let options = RunOptions {
        settings,
        clock: Clock::Wall,
        ..Default::default()
    };
    detek_core::run_selected(crate::detectors::all(), ids, &collectors, &options)
}

/// The report of detector `id` in `list`.
pub fn report<'a>(list: &'a ReportList, id: &str) -> &'a Report {
    list.reports
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no report {id}; skipped: {:?}", list.skipped))
}

/// Each finding as `Kind namespace/name [container]: message` (level first), in order.
pub fn finding_lines(report: &Report) -> Vec<String> {
    report
        .findings
        .iter()
        .map(|f| match &f.object {
            Some(o) => format!("{:?} {}: {}", f.level, o.display_name(), f.message),
            None => format!("{:?} (no object): {}", f.level, f.message),
        })
        .collect()
}
