//! The terminal views: [`table`], [`table_with`] and [`summary_line`].
//!
//! Every report string goes through [`sanitize_terminal`] before it is measured or printed, so
//! data can never move the cursor, clear the screen or recolour the output; the only escape
//! sequences in the output are anstyle's SGR colour codes, and only when colour is asked for.
//!
//! Names and paths are never cut: object names (`Kind/namespace/name`), detector ids, sources
//! (`file:line`) and collector ids are printed whole, whatever the width, because someone will
//! paste them into kubectl. Tables are laid out by comfy-table: with a terminal width
//! ([`TableOptions::width`]) only messages and titles wrap to fit; without one (piped output,
//! `--wide`) every line is printed whole.

use crate::escape::sanitize_terminal;
use crate::score;
use crate::text::{
    duration, incomplete_reason, plural, sorted_reports, status_str, target_label, time,
};
use anstyle::{AnsiColor, Style};
use comfy_table::{CellAlignment, ColumnConstraint, ContentArrangement, Table, Width, presets};
use detek_core::{Level, Report, ReportList, ScanStatus};
use std::fmt::Write;

/// Findings listed per detector before "… and N more".
const MAX_FINDINGS: usize = 20;
/// Diagnostics and skipped detectors listed before "… and N more".
const MAX_DIAGNOSTICS: usize = 20;
/// The narrowest a wrapped message column gets on a narrow terminal (names keep their width,
/// and the line is then wider than the terminal rather than a name being cut).
const MIN_MESSAGE: u16 = 30;

/// How [`table_with`] lays the report out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableOptions {
    /// Colour (ANSI SGR codes written by anstyle). The caller decides: `--color`, `NO_COLOR`,
    /// whether the output is a terminal.
    pub color: bool,
    /// The terminal's width: messages and titles wrap to fit it (names and paths never do).
    /// `None` prints every line whole (piped output, `--wide`).
    pub width: Option<u16>,
}

const BOLD: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();

fn fg(color: AnsiColor) -> Style {
    Style::new().fg_color(Some(anstyle::Color::Ansi(color)))
}

fn level_style(level: Level) -> Style {
    match level {
        Level::Fatal => fg(AnsiColor::Red).bold(),
        Level::Error => fg(AnsiColor::Red),
        Level::Warn => fg(AnsiColor::Yellow),
        Level::Unknown => fg(AnsiColor::Magenta),
        Level::Normal => fg(AnsiColor::Green),
    }
}

struct Paint(bool);

impl Paint {
    /// `text` must already be sanitised (or be our own).
    fn paint(&self, style: Style, text: &str) -> String {
        if self.0 && !text.is_empty() {
            format!("{}{text}{}", style.render(), style.render_reset())
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
/// `2 fatal, 5 error, 12 warn, 1 unknown, 40 passed — 87 findings (3 suppressed)`; a partial scan
/// ends with ` [partial scan]`, one where nothing was collected with ` [nothing collected]`.
pub fn summary_line(list: &ReportList) -> String {
    summary_colored(list, &Paint(false))
}

fn summary_colored(list: &ReportList, p: &Paint) -> String {
    let s = &list.summary;
    let part = |n: u64, word: &str, level: Level| {
        let text = format!("{n} {word}");
        if n == 0 {
            p.paint(DIM, &text)
        } else {
            p.paint(level_style(level), &text)
        }
    };
    // Passed (judged, nothing wrong) is kept apart from "nothing to check / not judged".
    let judged_nothing = if s.not_judged > 0 {
        format!(
            ", {}",
            p.paint(DIM, &format!("{} not judged", s.not_judged))
        )
    } else {
        String::new()
    };
    let mut line = format!(
        "{}, {}, {}, {}, {}{judged_nothing} — {}",
        part(s.fatal, "fatal", Level::Fatal),
        part(s.error, "error", Level::Error),
        part(s.warn, "warn", Level::Warn),
        part(s.unknown, "unknown", Level::Unknown),
        part(
            s.normal.saturating_sub(s.not_judged),
            "passed",
            Level::Normal
        ),
        plural(s.findings, "finding", "findings")
    );
    let new = list
        .reports
        .iter()
        .flat_map(|r| r.active_findings())
        .filter(|f| f.baseline == Some(detek_core::BaselineState::New))
        .count();
    let baselined = list
        .reports
        .iter()
        .flat_map(|r| &r.findings)
        .any(|f| f.baseline.is_some());
    if baselined {
        let _ = write!(line, ", {new} new");
    }
    if s.suppressed > 0 {
        let _ = write!(line, " ({} suppressed)", s.suppressed);
    }
    match list.status {
        ScanStatus::Complete => {}
        ScanStatus::Partial => {
            line.push_str(&p.paint(fg(AnsiColor::Yellow).bold(), " [partial scan]"))
        }
        ScanStatus::NothingCollected => {
            line.push_str(&p.paint(fg(AnsiColor::Red).bold(), " [nothing collected]"))
        }
    }
    line
}

/// A terminal report of one scan, every line whole (as when piped); see [`table_with`].
pub fn table(list: &ReportList, color: bool) -> String {
    table_with(list, &TableOptions { color, width: None })
}

/// A terminal report of one scan.
///
/// A header (target, time, duration, scan status), a warning when the scan is incomplete, the
/// summary line and the score, a table of the detectors that did not pass (level, id, findings,
/// title), their findings grouped per detector (object, `file:line` for manifests, message; at
/// most 20 each, then "… and N more"), and at the end collector failures, input diagnostics and
/// skipped detectors. Report strings never carry escape sequences into the output.
pub fn table_with(list: &ReportList, options: &TableOptions) -> String {
    let p = Paint(options.color);
    let mut o = String::new();

    let _ = writeln!(
        o,
        "{} · {} · {} · {} · scan {}",
        p.paint(BOLD, &format!("detek {}", t(&list.version))),
        t(&target_label(list)),
        time(&list.started_at),
        duration(list.duration_ms),
        status_str(list.status)
    );
    // The one "now" time-based detectors judged against, when it is not the scan's own time.
    if let Some(at) = list
        .evaluated_at
        .filter(|_| list.clock != detek_core::Clock::Wall)
    {
        let _ = writeln!(o, "evaluated as of {} ({})", time(&at), t(&list.clock_note));
    }
    match list.status {
        ScanStatus::Complete => {}
        ScanStatus::NothingCollected => {
            let _ = writeln!(
                o,
                "{}",
                p.paint(
                    fg(AnsiColor::Red).bold(),
                    &format!(
                        "!! NOTHING COLLECTED from {}: this report says nothing about its health.",
                        t(&target_label(list))
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
                    fg(AnsiColor::Yellow).bold(),
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
    if let Some(s) = score::cluster(list) {
        let _ = writeln!(
            o,
            "score {}/100{} · {} of {} with findings (docs/score.md)",
            s.value,
            if s.upper_bound {
                " at most (incomplete scan)"
            } else {
                ""
            },
            s.with_findings,
            plural(s.objects, "object", "objects"),
        );
    }
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
                let idle = list.reports.iter().filter(|r| judged_nothing(r)).count();
                if idle == n {
                    format!(
                        "Nothing to check: none of the {} found an object of the kinds it reads.",
                        plural(n as u64, "detector", "detectors")
                    )
                } else if idle > 0 {
                    format!(
                        "No problem found: {} passed, {idle} not judged (no object to check, or could not judge).",
                        n - idle
                    )
                } else {
                    format!("All {} passed.", plural(n as u64, "detector", "detectors"))
                }
            }
            _ => "No problem found in what could be collected.".to_string(),
        };
        let checked = !list.reports.is_empty() && !crate::html::nothing_checked(list);
        let style = if list.status == ScanStatus::Complete && checked {
            fg(AnsiColor::Green)
        } else {
            fg(AnsiColor::Yellow)
        };
        let _ = writeln!(o, "{}", p.paint(style, &text));
    } else {
        // Reports that were not evaluated and have nothing else to show are grouped by their
        // root cause below (when a collector fails, dozens of detectors share one), not listed
        // one row each.
        let (unevaluated, detailed): (Vec<&Report>, Vec<&Report>) = bad
            .iter()
            .partition(|r| r.level == Level::Unknown && r.findings.is_empty() && r.error.is_some());
        if !detailed.is_empty() {
            detector_table(&mut o, &detailed, options, &p);
        }
        for r in detailed {
            o.push('\n');
            detector_findings(&mut o, r, options, &p);
        }
        not_evaluated(&mut o, &unevaluated, &p);
    }

    footer(&mut o, list, options, &p);
    o
}

/// A borderless table, laid out whole or to the terminal's width.
fn new_table(options: &TableOptions) -> Table {
    let mut table = Table::new();
    table.load_style(presets::NOTHING);
    match options.width {
        Some(w) => {
            table.set_content_arrangement(ContentArrangement::Dynamic);
            table.set_width(w);
        }
        None => {
            table.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    table
}

/// Lay out a table made with [`new_table`] once its rows are in, and return its lines: columns
/// separated by two spaces, the first indented by `indent`, the columns in `right` aligned
/// right; every column but the last as wide as its content (names, ids, `file:line`: never
/// wrapped or cut), the last (messages, titles) wrapped to the width when there is one.
///
/// When the names leave less than [`MIN_MESSAGE`] columns of the width for the last column,
/// each row's last cell goes on the lines below its names instead, indented and wrapped to the
/// full width (`header`: the first row is a header, whose last cell is then left out).
fn layout(mut table: Table, indent: u16, right: &[usize], header: bool) -> Vec<String> {
    let columns = table.column_count();
    for (i, column) in table.column_iter_mut().enumerate() {
        let left = if i == 0 { indent } else { 0 };
        let last = i + 1 == columns;
        column.set_padding((left, if last { 0 } else { 2 }));
        column.set_constraint(if last {
            ColumnConstraint::LowerBoundary(Width::Fixed(MIN_MESSAGE))
        } else {
            ColumnConstraint::ContentWidth
        });
        if right.contains(&i) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    if let Some(width) = table.width()
        && columns > 1
    {
        let fixed: usize = table
            .column_max_content_widths()
            .iter()
            .take(columns - 1)
            .map(|w| usize::from(*w) + 2)
            .sum::<usize>()
            + usize::from(indent);
        if fixed + usize::from(MIN_MESSAGE) > usize::from(width) {
            return stacked(&mut table, indent, right, header, width);
        }
    }
    table.lines().map(|l| l.trim_end().to_string()).collect()
}

/// [`layout`] for a terminal too narrow for names and messages side by side.
fn stacked(
    table: &mut Table,
    indent: u16,
    right: &[usize],
    header: bool,
    width: u16,
) -> Vec<String> {
    let columns = table.column_count();
    let mut names = new_table(&TableOptions::default());
    let mut lasts = Vec::new();
    for row in table.row_iter() {
        let mut cells: Vec<String> = row.cell_iter().map(|c| c.content()).collect();
        cells.resize(columns, String::new());
        lasts.push(cells.pop().unwrap_or_default());
        names.add_row(cells);
    }
    for (i, column) in names.column_iter_mut().enumerate() {
        column.set_padding((if i == 0 { indent } else { 0 }, 2));
        if right.contains(&i) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    let below = indent + 4;
    let mut out = Vec::new();
    for (i, (line, last)) in names.lines().zip(lasts).enumerate() {
        out.push(line.trim_end().to_string());
        if last.is_empty() || (header && i == 0) {
            continue;
        }
        let mut text = new_table(&TableOptions {
            color: false,
            width: Some(width.max(below + MIN_MESSAGE)),
        });
        text.add_row(vec![last]);
        if let Some(column) = text.column_mut(0) {
            column.set_padding((below, 0));
        }
        out.extend(text.lines().map(|l| l.trim_end().to_string()));
    }
    out
}

/// Paint the level word that starts a row line (continuation lines of a wrapped row start with
/// spaces: the level column is first and never empty on a row's first line).
fn paint_level(line: &str, indent: usize, p: &Paint) -> String {
    let body = &line[indent.min(line.len())..];
    for level in Level::ALL {
        let name = level.as_str();
        if let Some(rest) = body.strip_prefix(name)
            && (rest.is_empty() || rest.starts_with(' '))
        {
            return format!(
                "{}{}{rest}",
                &line[..indent.min(line.len())],
                p.paint(level_style(level), name)
            );
        }
    }
    line.to_string()
}

fn detector_table(o: &mut String, bad: &[&Report], options: &TableOptions, p: &Paint) {
    let mut table = new_table(options);
    table.add_row(vec!["LEVEL", "DETECTOR", "FINDINGS", "TITLE"]);
    for r in bad {
        let findings = if r.level == Level::Unknown && r.findings.is_empty() {
            "-".to_string()
        } else {
            r.active_findings().count().to_string()
        };
        table.add_row(vec![
            r.level.as_str().to_string(),
            t(&r.id),
            findings,
            t(&r.description),
        ]);
    }
    for (i, line) in layout(table, 0, &[2], true).into_iter().enumerate() {
        let line = if i == 0 {
            p.paint(BOLD, &line)
        } else {
            paint_level(&line, 0, p)
        };
        let _ = writeln!(o, "{line}");
    }
}

fn not_evaluated(o: &mut String, reports: &[&Report], p: &Paint) {
    if reports.is_empty() {
        return;
    }
    // Group by the root cause: `not run: input kubernetes/pods unavailable: REASON` and
    // `not run: input kubernetes/nodes unavailable: REASON` are one cause.
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for r in reports {
        let error = r.error.as_deref().unwrap_or("");
        let reason = error
            .strip_prefix("not run: input ")
            .and_then(|rest| rest.split_once(" unavailable: "))
            .map_or(error, |(_, reason)| reason);
        match groups.iter_mut().find(|(g, _)| *g == reason) {
            Some((_, ids)) => ids.push(&r.id),
            None => groups.push((reason, vec![&r.id])),
        }
    }
    let _ = writeln!(
        o,
        "\n{}",
        p.paint(
            fg(AnsiColor::Magenta),
            &format!("Not evaluated ({}):", reports.len())
        )
    );
    for (reason, ids) in groups {
        let _ = writeln!(o, "  {}", t(reason));
        for chunk in ids.chunks(6).take(MAX_FINDINGS / 4) {
            let names: Vec<String> = chunk.iter().map(|id| t(id)).collect();
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

fn detector_findings(o: &mut String, r: &Report, options: &TableOptions, p: &Paint) {
    let _ = writeln!(
        o,
        "{} {} — {}",
        p.paint(level_style(r.level), r.level.as_str()),
        p.paint(BOLD, &t(&r.id)),
        t(&r.description)
    );
    if let Some(err) = &r.error {
        let _ = writeln!(
            o,
            "  {} {}",
            p.paint(fg(AnsiColor::Magenta), "not evaluated:"),
            t(err)
        );
    }
    let active: Vec<_> = r.active_findings().collect();
    let shown = &active[..active.len().min(MAX_FINDINGS)];
    if !shown.is_empty() {
        // `file:line` for objects read from manifests.
        let sources = shown
            .iter()
            .any(|f| f.object.as_ref().is_some_and(|o| o.source.is_some()));
        let mut table = new_table(options);
        for f in shown {
            let object = match &f.object {
                Some(obj) => t(&obj.display_name()),
                None => "-".to_string(),
            };
            let mut msg = t(&f.message);
            if f.level != r.level {
                msg = format!("[{}] {msg}", f.level.as_str());
            }
            // After --baseline: what this scan found that the baseline did not have.
            if f.baseline == Some(detek_core::BaselineState::New) {
                msg = format!("{} {msg}", p.paint(fg(AnsiColor::Magenta).bold(), "NEW"));
            }
            let mut row = vec![object];
            if sources {
                // Every file an object is defined in (the same object in several files).
                row.push(
                    f.object
                        .as_ref()
                        .and_then(|o| o.locations_text())
                        .map_or_else(|| "-".to_string(), |s| t(&s)),
                );
            }
            row.push(msg);
            table.add_row(row);
        }
        for line in layout(table, 2, &[], false) {
            let _ = writeln!(o, "{line}");
        }
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

fn footer(o: &mut String, list: &ReportList, options: &TableOptions, p: &Paint) {
    let mut problems = Vec::new();
    for c in &list.collectors {
        if let Some(err) = &c.error {
            problems.push(format!(
                "{}: {}",
                t(&c.id),
                p.paint(fg(AnsiColor::Red), &format!("failed: {}", t(err)))
            ));
        } else if !c.ok {
            problems.push(format!(
                "{}: {}",
                t(&c.id),
                p.paint(fg(AnsiColor::Red), "failed")
            ));
        }
        // One line per root cause: keys that failed for the same reason are listed together.
        for (reason, keys) in c.failed_by_reason() {
            let what = match keys.as_slice() {
                [one] => t(one),
                many => format!("{} inputs ({})", many.len(), t(&many.join(", "))),
            };
            problems.push(format!(
                "{}: {}",
                t(&c.id),
                p.paint(
                    fg(AnsiColor::Yellow),
                    &format!("{what} unavailable: {}", t(reason))
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
        let mut table = new_table(options);
        for d in shown {
            table.add_row(vec![
                d.level.as_str().to_string(),
                d.source
                    .as_ref()
                    .map_or_else(|| "-".to_string(), |s| t(&s.to_string())),
                t(&d.message),
            ]);
        }
        for line in layout(table, 2, &[], false) {
            let _ = writeln!(o, "{}", paint_level(&line, 2, p));
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
            let _ = writeln!(o, "  {}  {}", t(id), p.paint(DIM, &t(reason)));
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

/// A report that judged nothing: nothing to check, or not judged (never a pass).
fn judged_nothing(r: &Report) -> bool {
    r.evaluated == Some(0)
        || matches!(
            r.result,
            detek_core::ReportResult::NothingToCheck | detek_core::ReportResult::NotJudged
        )
}
