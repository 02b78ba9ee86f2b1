//! The terminal views: [`table`] and [`summary_line`].
//!
//! Every report string goes through [`sanitize_terminal`] before it is measured or printed, so
//! data can never move the cursor, clear the screen or recolour the output; the only escape
//! sequences in the output are the SGR colour codes below, and only when colour is asked for.

use crate::escape::sanitize_terminal;
use crate::text::{
    duration, incomplete_reason, pad, plural, sorted_reports, status_str, target_label, time,
    truncate, width,
};
use detek_core::{BaselineState, Level, Report, ReportList, ScanStatus};
use std::fmt::Write;

/// Findings listed per detector before "… and N more".
const MAX_FINDINGS: usize = 20;
/// Diagnostics and skipped detectors listed before "… and N more".
const MAX_DIAGNOSTICS: usize = 20;
const MAX_OBJECT: usize = 64;
const MAX_MESSAGE: usize = 160;
const MAX_ID: usize = 48;
const MAX_TITLE: usize = 80;
const MAX_TARGET: usize = 120;

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RED_BOLD: &str = "\x1b[1;31m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const YELLOW_BOLD: &str = "\x1b[1;33m";
const MAGENTA: &str = "\x1b[35m";
const GREEN: &str = "\x1b[32m";

fn level_sgr(level: Level) -> &'static str {
    match level {
        Level::Fatal => RED_BOLD,
        Level::Error => RED,
        Level::Warn => YELLOW,
        Level::Unknown => MAGENTA,
        Level::Normal => GREEN,
    }
}

struct Paint(bool);

impl Paint {
    /// `text` must already be sanitised (or be our own).
    fn paint(&self, sgr: &str, text: &str) -> String {
        if self.0 && !text.is_empty() {
            format!("{sgr}{text}{RESET}")
        } else {
            text.to_string()
        }
    }
}

/// Data made printable: control characters and escape sequences neutralised, one line.
fn t(s: &str) -> String {
    sanitize_terminal(s).into_owned()
}

/// One line: counts by level, findings, suppressed, and the scan status when incomplete.
///
/// `2 fatal, 5 error, 12 warn, 1 unknown, 40 passed — 87 findings (3 suppressed)` (`87 findings,
/// 2 new` after a comparison with a baseline); a partial scan
/// ends with ` [partial scan]`, one where nothing was collected with ` [nothing collected]`.
pub fn summary_line(list: &ReportList) -> String {
    let s = &list.summary;
    let mut line = format!(
        "{} fatal, {} error, {} warn, {} unknown, {} passed — {}",
        s.fatal,
        s.error,
        s.warn,
        s.unknown,
        s.normal,
        plural(s.findings, "finding", "findings")
    );
    if let Some(new) = new_findings(list) {
        let _ = write!(line, ", {new} new");
    }
    if s.suppressed > 0 {
        let _ = write!(line, " ({} suppressed)", s.suppressed);
    }
    match list.status {
        ScanStatus::Complete => {}
        ScanStatus::Partial => line.push_str(" [partial scan]"),
        ScanStatus::NothingCollected => line.push_str(" [nothing collected]"),
    }
    line
}

/// Unsuppressed findings not in the baseline, when the scan was compared with one.
fn new_findings(list: &ReportList) -> Option<usize> {
    let active = || list.reports.iter().flat_map(|r| r.active_findings());
    active().any(|f| f.baseline.is_some()).then(|| {
        active()
            .filter(|f| f.baseline == Some(BaselineState::New))
            .count()
    })
}

fn summary_colored(list: &ReportList, p: &Paint) -> String {
    let s = &list.summary;
    let part = |n: u64, word: &str, level: Level| {
        let text = format!("{n} {word}");
        if n == 0 {
            p.paint(DIM, &text)
        } else {
            p.paint(level_sgr(level), &text)
        }
    };
    let mut line = format!(
        "{}, {}, {}, {}, {} — {}",
        part(s.fatal, "fatal", Level::Fatal),
        part(s.error, "error", Level::Error),
        part(s.warn, "warn", Level::Warn),
        part(s.unknown, "unknown", Level::Unknown),
        part(s.normal, "passed", Level::Normal),
        plural(s.findings, "finding", "findings")
    );
    if let Some(new) = new_findings(list) {
        let _ = write!(line, ", {new} new");
    }
    if s.suppressed > 0 {
        let _ = write!(line, " ({} suppressed)", s.suppressed);
    }
    match list.status {
        ScanStatus::Complete => {}
        ScanStatus::Partial => line.push_str(&p.paint(YELLOW_BOLD, " [partial scan]")),
        ScanStatus::NothingCollected => line.push_str(&p.paint(RED_BOLD, " [nothing collected]")),
    }
    line
}

/// A terminal report of one scan.
///
/// A header (target, time, duration, scan status), a warning when the scan is incomplete, the
/// summary line, a table of the detectors that did not pass (level, id, findings, title), their
/// findings grouped per detector (object and message, at most 20 each, then "… and N more"),
/// and at the end collector failures, input diagnostics and skipped detectors. ANSI colour only
/// when `color` is true; report strings never carry escape sequences into the output.
pub fn table(list: &ReportList, color: bool) -> String {
    let p = Paint(color);
    let mut o = String::new();

    let _ = writeln!(
        o,
        "{} · {} · {} · {} · scan {}",
        p.paint(BOLD, &format!("detek {}", truncate(&t(&list.version), 32))),
        truncate(&t(&target_label(list)), MAX_TARGET),
        time(&list.started_at),
        duration(list.duration_ms),
        status_str(list.status)
    );
    match list.status {
        ScanStatus::Complete => {}
        ScanStatus::NothingCollected => {
            let _ = writeln!(
                o,
                "{}",
                p.paint(
                    RED_BOLD,
                    &format!(
                        "!! NOTHING COLLECTED from {}: this report says nothing about its health.",
                        truncate(&t(&target_label(list)), MAX_TARGET)
                    )
                )
            );
        }
        ScanStatus::Partial => {
            let reason = t(&incomplete_reason(list));
            let _ = writeln!(
                o,
                "{}",
                p.paint(
                    YELLOW_BOLD,
                    &format!(
                        "!! INCOMPLETE SCAN{}{}: problems may be missing from this report.",
                        if reason.is_empty() { "" } else { ": " },
                        reason
                    )
                )
            );
        }
    }
    let _ = writeln!(o, "{}", summary_colored(list, &p));
    o.push('\n');

    let reports = sorted_reports(list);
    let bad: Vec<&Report> = reports
        .iter()
        .copied()
        .filter(|r| r.level != Level::Normal)
        .collect();
    if bad.is_empty() {
        let text = match (list.status, list.reports.len()) {
            (_, 0) => "No detector ran.".to_string(),
            (ScanStatus::Complete, n) => {
                let idle = list
                    .reports
                    .iter()
                    .filter(|r| r.evaluated == Some(0))
                    .count();
                if idle == n {
                    format!(
                        "Nothing to check: none of the {} found an object of the kinds it reads.",
                        plural(n as u64, "detector", "detectors")
                    )
                } else if idle > 0 {
                    format!(
                        "All {} passed ({idle} had no object to check).",
                        plural(n as u64, "detector", "detectors")
                    )
                } else {
                    format!("All {} passed.", plural(n as u64, "detector", "detectors"))
                }
            }
            _ => "No problem found in what could be collected.".to_string(),
        };
        let checked = !list.reports.is_empty() && !crate::html::nothing_checked(list);
        let sgr = if list.status == ScanStatus::Complete && checked {
            GREEN
        } else {
            YELLOW
        };
        let _ = writeln!(o, "{}", p.paint(sgr, &text));
    } else {
        detector_table(&mut o, &bad, &p);
        // Reports that were not evaluated and have nothing else to show are grouped by reason
        // below (when a collector fails, dozens of detectors share one reason).
        let (unevaluated, detailed): (Vec<&Report>, Vec<&Report>) = bad
            .iter()
            .partition(|r| r.level == Level::Unknown && r.findings.is_empty() && r.error.is_some());
        for r in detailed {
            o.push('\n');
            detector_findings(&mut o, r, &p);
        }
        not_evaluated(&mut o, &unevaluated, &p);
    }

    footer(&mut o, list, &p);
    o
}

fn detector_table(o: &mut String, bad: &[&Report], p: &Paint) {
    let ids: Vec<String> = bad.iter().map(|r| truncate(&t(&r.id), MAX_ID)).collect();
    let id_w = ids.iter().map(|s| width(s)).max().unwrap_or(0).max(8);
    let level_w = 7;
    let _ = writeln!(
        o,
        "{}",
        p.paint(
            BOLD,
            &format!(
                "{}  {}  {:>8}  TITLE",
                pad("LEVEL", level_w),
                pad("DETECTOR", id_w),
                "FINDINGS"
            )
        )
    );
    for (r, id) in bad.iter().zip(&ids) {
        let findings = if r.level == Level::Unknown && r.findings.is_empty() {
            "-".to_string()
        } else {
            r.active_findings().count().to_string()
        };
        let _ = writeln!(
            o,
            "{}  {}  {:>8}  {}",
            p.paint(level_sgr(r.level), &pad(r.level.as_str(), level_w)),
            pad(id, id_w),
            findings,
            truncate(&t(&r.description), MAX_TITLE)
        );
    }
}

fn not_evaluated(o: &mut String, reports: &[&Report], p: &Paint) {
    if reports.is_empty() {
        return;
    }
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for r in reports {
        let reason = r.error.as_deref().unwrap_or("");
        match groups.iter_mut().find(|(g, _)| *g == reason) {
            Some((_, ids)) => ids.push(&r.id),
            None => groups.push((reason, vec![&r.id])),
        }
    }
    let _ = writeln!(
        o,
        "\n{}",
        p.paint(MAGENTA, &format!("Not evaluated ({}):", reports.len()))
    );
    for (reason, ids) in groups {
        let _ = writeln!(o, "  {}", truncate(&t(reason), 2 * MAX_MESSAGE));
        for chunk in ids.chunks(6).take(MAX_FINDINGS / 4) {
            let names: Vec<String> = chunk.iter().map(|id| truncate(&t(id), MAX_ID)).collect();
            let _ = writeln!(o, "    {}", names.join(", "));
        }
        let listed = (MAX_FINDINGS / 4) * 6;
        if ids.len() > listed {
            let _ = writeln!(
                o,
                "    {}",
                p.paint(DIM, &format!("… and {} more", ids.len() - listed))
            );
        }
    }
}

fn detector_findings(o: &mut String, r: &Report, p: &Paint) {
    let _ = writeln!(
        o,
        "{} {} — {}",
        p.paint(level_sgr(r.level), r.level.as_str()),
        p.paint(BOLD, &truncate(&t(&r.id), MAX_ID)),
        truncate(&t(&r.description), MAX_TITLE)
    );
    if let Some(err) = &r.error {
        let _ = writeln!(
            o,
            "  {} {}",
            p.paint(MAGENTA, "not evaluated:"),
            truncate(&t(err), 2 * MAX_MESSAGE)
        );
    }
    let active: Vec<_> = r.active_findings().collect();
    let shown = &active[..active.len().min(MAX_FINDINGS)];
    let objects: Vec<String> = shown
        .iter()
        .map(|f| match &f.object {
            Some(obj) => truncate(&t(&obj.display_name()), MAX_OBJECT),
            None => "-".to_string(),
        })
        .collect();
    let obj_w = objects.iter().map(|s| width(s)).max().unwrap_or(0);
    for (f, obj) in shown.iter().zip(&objects) {
        let mut msg = truncate(&t(&f.message), MAX_MESSAGE);
        if f.level != r.level {
            msg = format!("[{}] {msg}", f.level.as_str());
        }
        if f.baseline == Some(BaselineState::New) {
            msg = format!("{} {msg}", p.paint(BOLD, "NEW"));
        }
        let _ = writeln!(o, "  {}  {}", pad(obj, obj_w), msg);
    }
    if active.len() > shown.len() {
        let _ = writeln!(
            o,
            "  {}",
            p.paint(
                DIM,
                &format!(
                    "… and {} more (the HTML and JSON reports list them all)",
                    active.len() - shown.len()
                )
            )
        );
    }
    if r.suppressed > 0 {
        let _ = writeln!(
            o,
            "  {}",
            p.paint(DIM, &format!("({} suppressed, not listed)", r.suppressed))
        );
    }
}

fn footer(o: &mut String, list: &ReportList, p: &Paint) {
    let mut problems = Vec::new();
    for c in &list.collectors {
        if let Some(err) = &c.error {
            problems.push(format!(
                "{}: {}",
                truncate(&t(&c.id), MAX_ID),
                p.paint(
                    RED,
                    &format!("failed: {}", truncate(&t(err), 2 * MAX_MESSAGE))
                )
            ));
        } else if !c.ok {
            problems.push(format!(
                "{}: {}",
                truncate(&t(&c.id), MAX_ID),
                p.paint(RED, "failed")
            ));
        }
        for (key, reason) in &c.failed_keys {
            problems.push(format!(
                "{}: {}",
                truncate(&t(&c.id), MAX_ID),
                p.paint(
                    YELLOW,
                    &format!(
                        "{} unavailable: {}",
                        truncate(&t(key), MAX_ID),
                        truncate(&t(reason), MAX_MESSAGE)
                    )
                )
            ));
        }
    }
    if !problems.is_empty() {
        let _ = writeln!(o, "\n{}", p.paint(BOLD, "Collector problems:"));
        for line in problems {
            let _ = writeln!(o, "  {line}");
        }
    }

    let diags: Vec<_> = list
        .collectors
        .iter()
        .flat_map(|c| c.diagnostics.iter())
        .collect();
    if !diags.is_empty() {
        let _ = writeln!(
            o,
            "\n{}",
            p.paint(BOLD, &format!("Input diagnostics ({}):", diags.len()))
        );
        let shown = &diags[..diags.len().min(MAX_DIAGNOSTICS)];
        let sources: Vec<String> = shown
            .iter()
            .map(|d| {
                d.source
                    .as_ref()
                    .map(|s| truncate(&t(&s.to_string()), MAX_OBJECT))
                    .unwrap_or_else(|| "-".to_string())
            })
            .collect();
        let src_w = sources.iter().map(|s| width(s)).max().unwrap_or(0);
        for (d, src) in shown.iter().zip(&sources) {
            let _ = writeln!(
                o,
                "  {}  {}  {}",
                p.paint(level_sgr(d.level), &pad(d.level.as_str(), 7)),
                pad(src, src_w),
                truncate(&t(&d.message), MAX_MESSAGE)
            );
        }
        if diags.len() > shown.len() {
            let _ = writeln!(
                o,
                "  {}",
                p.paint(DIM, &format!("… and {} more", diags.len() - shown.len()))
            );
        }
    }

    if !list.skipped.is_empty() {
        let _ = writeln!(
            o,
            "\n{}",
            p.paint(
                BOLD,
                &format!(
                    "Skipped ({}, not applicable to this target):",
                    list.skipped.len()
                )
            )
        );
        for (id, reason) in list.skipped.iter().take(MAX_DIAGNOSTICS) {
            let _ = writeln!(
                o,
                "  {}  {}",
                truncate(&t(id), MAX_ID),
                p.paint(DIM, &truncate(&t(reason), MAX_MESSAGE))
            );
        }
        if list.skipped.len() > MAX_DIAGNOSTICS {
            let _ = writeln!(
                o,
                "  {}",
                p.paint(
                    DIM,
                    &format!("… and {} more", list.skipped.len() - MAX_DIAGNOSTICS)
                )
            );
        }
    }
}
