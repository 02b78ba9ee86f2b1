//! The HTML report: one self-contained file, rendered from the templates in `templates/` with
//! minijinja.
//!
//! Rules kept by this module:
//! * auto-escaping is on for every template, and every value is escaped by [`escape_html`] (the
//!   environment's formatter): element content and attribute values alike, control characters
//!   included; attributes are always double-quoted in the templates;
//! * the only values written unescaped (`|safe`) are the `*_html` fields, built in this crate by
//!   [`crate::markdown`] (which escapes every piece of text), and our own style and script;
//! * nothing is fetched: no external `src`, no fonts, no CDN; links (`<a href>`) only to
//!   in-page anchors and to the detectors' `http(s)` references; a Content-Security-Policy
//!   (`default-src 'none'`, our style and script allowed by hash) enforces it in the browser;
//! * the script reads `textContent` and toggles `hidden`/`open`; it never builds markup;
//! * without JavaScript every cluster, detector and finding is still shown (the filter bar
//!   stays hidden; folded parts open with a click).

use crate::csp;
use crate::escape::escape_html;
use crate::markdown::{is_web_url, markdown};
use crate::score::{self, Score};
use crate::text::{
    duration, incomplete_reason, plural, sorted_reports, status_str, target_label, time,
};
use detek_core::{
    Attachment, CollectorStatus, Finding, Level, Report, ReportList, ReportResult, ScanStatus,
};
use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Findings shown per detector before the rest are folded under "Show N more".
const FIRST_FINDINGS: usize = 4;

const STYLE: &str = include_str!("../templates/report.css");
const SCRIPT: &str = include_str!("../templates/report.js");

fn lvl(level: Level) -> &'static str {
    match level {
        Level::Fatal => "fatal",
        Level::Error => "error",
        Level::Warn => "warn",
        Level::Unknown => "unknown",
        Level::Normal => "normal",
    }
}

/// True when detectors ran but none saw an object of the kinds it reads (every report
/// evaluated 0 objects): such a scan checked nothing and must not read "all passed".
fn any_not_judged(list: &ReportList) -> bool {
    list.reports.iter().any(|r| {
        r.evaluated == Some(0)
            || matches!(
                r.result,
                ReportResult::NothingToCheck | ReportResult::NotJudged
            )
    })
}

pub(crate) fn nothing_checked(list: &ReportList) -> bool {
    !list.reports.is_empty() && list.reports.iter().all(|r| r.evaluated == Some(0))
}

/// A template environment that escapes as every HTML page of detek must: auto-escaping on,
/// every value through [`escape_html`] (it also replaces control characters) unless a template
/// marked it safe, a missing value an error, `none` written as nothing. The report's templates
/// and the hub's pages are added to one each.
pub fn escaping_environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .expect("syntax"),
    );
    env.set_formatter(|out, state, value| {
        if value.is_safe() || !matches!(state.auto_escape(), AutoEscape::Html) {
            return minijinja::escape_formatter(out, state, value);
        }
        let text = match value.as_str() {
            Some(s) => escape_html(s).into_owned(),
            None if value.is_none() || value.is_undefined() => String::new(),
            None => escape_html(&value.to_string()).into_owned(),
        };
        out.write_str(&text).map_err(minijinja::Error::from)
    });
    env
}

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = escaping_environment();
        for (name, source) in [
            ("report.html", include_str!("../templates/report.html")),
            ("cluster.html", include_str!("../templates/cluster.html")),
            ("macros.html", include_str!("../templates/macros.html")),
        ] {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("template {name}: {e:#}"));
        }
        env
    })
}

/// The report for one or more scans as one self-contained HTML document.
///
/// With several lists (one per cluster), a selector at the top switches between them; the
/// filter bar (text and level) applies to every cluster.
pub fn html(lists: &[ReportList]) -> String {
    // A scan of clusters names its sections clusters; one that also holds an OpenStack
    // cloud (or another kind of target) names them targets.
    let kubernetes_only = lists
        .iter()
        .all(|l| matches!(l.target.kind.as_str(), "cluster" | "snapshot" | "demo" | ""));
    let (one_word, many_word) = if kubernetes_only {
        ("cluster", "clusters")
    } else {
        ("target", "targets")
    };
    let title = match lists {
        [one] => format!("detek report — {}", target_label(one)),
        _ => format!(
            "detek report — {}",
            plural(lists.len() as u64, one_word, many_word)
        ),
    };
    let page = Page {
        title,
        version: env!("CARGO_PKG_VERSION"),
        csp: csp::policy(SCRIPT, STYLE),
        style_html: STYLE,
        script_html: SCRIPT,
        many: lists.len() > 1,
        section_word: one_word,
        sections_word: many_word,
        clusters: lists
            .iter()
            .enumerate()
            .map(|(i, l)| cluster(i, l, lists.len() > 1))
            .collect(),
    };
    let template = environment()
        .get_template("report.html")
        .expect("report template");
    match template.render(Value::from(Serde(&page))) {
        Ok(out) => out,
        // A template bug (the tests render every shape of report): say so in a valid page
        // rather than panic in the middle of a scan.
        Err(e) => format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>detek report</title></head>\
             <body><p>detek could not render this report: {}</p></body></html>\n",
            escape_html(&format!("{e:#}"))
        ),
    }
}

#[derive(Serialize)]
struct Page {
    title: String,
    version: &'static str,
    csp: String,
    style_html: &'static str,
    script_html: &'static str,
    many: bool,
    /// `cluster` / `clusters`, or `target` / `targets` when the scan holds a cloud.
    section_word: &'static str,
    sections_word: &'static str,
    clusters: Vec<Cluster>,
}

#[derive(Serialize)]
struct Cluster {
    index: usize,
    label: String,
    heading: String,
    status: Status,
    worst: &'static str,
    worst_name: &'static str,
    /// `nothing` / `partial` banners: the reason sentence (partial) when there is one.
    banner: Option<&'static str>,
    reason: String,
    meta: Vec<(&'static str, String)>,
    tool: String,
    incomplete: bool,
    verdict_class: &'static str,
    verdict: String,
    tiles: Vec<Tile>,
    findings: u64,
    suppressed: u64,
    counts: Vec<(&'static str, u64)>,
    score: Option<ScoreView>,
    failing: Vec<Det>,
    unknown: Vec<Det>,
    passed: Vec<Det>,
    detectors: usize,
    namespaces: Vec<Namespace>,
    skipped: Vec<(String, String)>,
    collectors: Vec<Collector>,
    diagnostics: Vec<DiagnosticRow>,
}

#[derive(Serialize)]
struct Status {
    class: &'static str,
    text: &'static str,
}

fn status(s: ScanStatus) -> Status {
    Status {
        class: match s {
            ScanStatus::Complete => "ok",
            ScanStatus::Partial => "partial",
            ScanStatus::NothingCollected => "nothing",
        },
        text: status_str(s),
    }
}

#[derive(Serialize)]
struct Tile {
    lvl: &'static str,
    class: &'static str,
    label: &'static str,
    detectors: u64,
    findings: Option<String>,
}

#[derive(Serialize)]
struct ScoreView {
    value: u64,
    class: &'static str,
    objects: u64,
    with_findings: u64,
    upper_bound: bool,
}

fn score_view(s: &Score) -> ScoreView {
    ScoreView {
        value: s.value,
        class: if s.upper_bound {
            "partial"
        } else if s.value >= 90 {
            "good"
        } else if s.value >= 70 {
            "fair"
        } else {
            "poor"
        },
        objects: s.objects,
        with_findings: s.with_findings,
        upper_bound: s.upper_bound,
    }
}

#[derive(Serialize)]
struct Det {
    anchor: String,
    lvl: &'static str,
    level: &'static str,
    id: String,
    title: String,
    count: String,
    /// Active findings (the summary table's count), `None` when not evaluated.
    active: Option<u64>,
    labels: Vec<String>,
    error: Option<String>,
    explanation_html: String,
    solution_html: String,
    example_html: String,
    references: Vec<Reference>,
    facts: String,
    about: String,
    cols: Columns,
    rows: Vec<Row>,
    more: Vec<Row>,
    problem: Vec<AttachmentView>,
    attachments: Vec<AttachmentView>,
}

#[derive(Serialize)]
struct Reference {
    url: String,
    link: bool,
}

/// What the findings of one detector show besides object and message.
#[derive(Serialize, Default)]
struct Columns {
    /// A level per finding (some findings are graded differently from their detector).
    level: bool,
}

#[derive(Serialize)]
struct Row {
    lvl: &'static str,
    level: &'static str,
    object: Option<String>,
    container: Option<String>,
    source: Option<String>,
    message: String,
    evidence: Vec<String>,
    timeline: Option<TimelineView>,
    suppressed: Option<String>,
    /// After `--baseline`: not in the baseline.
    new: bool,
}

/// A finding's timeline under it: dated lines and metric sparklines.
#[derive(Serialize)]
struct TimelineView {
    entries: Vec<(String, String)>,
    traces: Vec<TraceView>,
}

/// One metric as an inline SVG sparkline (numbers only: nothing from the cluster is drawn
/// into the SVG but the points).
#[derive(Serialize)]
struct TraceView {
    name: String,
    summary: String,
    /// The polyline's `points`, in a 120 × 24 box.
    points: String,
    /// Where the limit's dashed line goes, if the metric has one.
    limit_y: Option<String>,
}

const SPARK_WIDTH: f64 = 120.0;
const SPARK_HEIGHT: f64 = 24.0;

fn timeline_view(timeline: Option<&detek_core::Timeline>) -> Option<TimelineView> {
    let t = timeline?;
    Some(TimelineView {
        entries: t
            .entries
            .iter()
            .map(|e| {
                (
                    e.at.clone().unwrap_or_else(|| "(no time)".to_string()),
                    e.what.clone(),
                )
            })
            .collect(),
        traces: t
            .traces
            .iter()
            .filter(|tr| !tr.points.is_empty())
            .map(|tr| {
                let (points, limit_y) = sparkline(&tr.points, tr.limit);
                TraceView {
                    name: tr.name.clone(),
                    summary: tr.summary.clone(),
                    points,
                    limit_y,
                }
            })
            .collect(),
    })
}

/// The sparkline of `points` from zero to the larger of their peak and `limit`.
fn sparkline(points: &[(i64, f64)], limit: Option<f64>) -> (String, Option<String>) {
    let (t0, t1) = (
        points.first().map_or(0, |p| p.0),
        points.last().map_or(0, |p| p.0),
    );
    let span = (t1 - t0).max(1) as f64;
    let peak = points
        .iter()
        .map(|p| p.1)
        .chain(limit)
        .fold(0.0_f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let y = |v: f64| SPARK_HEIGHT - 2.0 - (v / peak).clamp(0.0, 1.0) * (SPARK_HEIGHT - 4.0);
    let line = points
        .iter()
        .map(|(t, v)| format!("{:.1},{:.1}", (t - t0) as f64 / span * SPARK_WIDTH, y(*v)))
        .collect::<Vec<_>>()
        .join(" ");
    (line, limit.map(|l| format!("{:.1}", y(l))))
}

#[derive(Serialize)]
struct AttachmentView {
    description: String,
    data: String,
}

#[derive(Serialize)]
struct Namespace {
    anchor: String,
    name: String,
    score: Option<ScoreView>,
    objects: Vec<Object>,
    counts: Vec<(&'static str, u64)>,
}

#[derive(Serialize)]
struct Object {
    anchor: String,
    name: String,
    lvl: &'static str,
    level: &'static str,
    summary: String,
    source: Option<String>,
    rows: Vec<ObjectRow>,
}

#[derive(Serialize)]
struct ObjectRow {
    lvl: &'static str,
    level: &'static str,
    detector: String,
    det_anchor: String,
    container: Option<String>,
    message: String,
    evidence: Vec<String>,
    timeline: Option<TimelineView>,
    suppressed: Option<String>,
}

#[derive(Serialize)]
struct Collector {
    id: String,
    class: &'static str,
    status: &'static str,
    duration: String,
    error: Option<String>,
    failed_keys: Vec<(String, String)>,
    stats: String,
    diagnostics: Option<String>,
}

#[derive(Serialize)]
struct DiagnosticRow {
    lvl: &'static str,
    level: &'static str,
    source: String,
    message: String,
    collector: String,
}

fn cluster(ci: usize, list: &ReportList, many: bool) -> Cluster {
    let label = target_label(list);
    let worst = list.worst_level();
    let s = &list.summary;
    let (verdict_class, verdict) = verdict(list);
    let sorted = sorted_reports(list);

    let mut failing = Vec::new();
    let mut unknown = Vec::new();
    let mut passed = Vec::new();
    let mut anchors: BTreeMap<&str, String> = BTreeMap::new();
    for (di, r) in sorted.iter().enumerate() {
        let anchor = format!("c{ci}-d{di}");
        anchors.insert(r.id.as_str(), anchor.clone());
        let d = detector(anchor, r);
        match r.level {
            Level::Normal => passed.push(d),
            Level::Unknown if r.findings.is_empty() => unknown.push(d),
            _ => failing.push(d),
        }
    }

    // Findings per finding level (active only): the tiles' second line.
    let mut per_level: BTreeMap<Level, u64> = BTreeMap::new();
    for r in &list.reports {
        for f in r.active_findings() {
            *per_level.entry(f.level).or_default() += 1;
        }
    }
    let tiles = Level::ALL
        .into_iter()
        .map(|level| {
            let n = s.count(level);
            Tile {
                lvl: lvl(level),
                class: if n == 0 { "zero" } else { lvl(level) },
                label: if level == Level::Normal {
                    "Normal (passed)"
                } else {
                    level.as_str()
                },
                detectors: n,
                findings: matches!(level, Level::Fatal | Level::Error | Level::Warn).then(|| {
                    plural(
                        per_level.get(&level).copied().unwrap_or(0),
                        "finding",
                        "findings",
                    )
                }),
            }
        })
        .collect();

    Cluster {
        index: ci,
        heading: format!(
            "{}{}",
            if many && matches!(list.target.kind.as_str(), "cluster" | "snapshot" | "demo") {
                "Cluster: "
            } else {
                "Target: "
            },
            label
        ),
        label,
        status: status(list.status),
        worst: lvl(worst),
        worst_name: worst.as_str(),
        banner: match list.status {
            ScanStatus::Complete => None,
            ScanStatus::Partial => Some("partial"),
            ScanStatus::NothingCollected => Some("nothing"),
        },
        reason: incomplete_reason(list),
        meta: vec![
            ("Target kind", list.target.kind.clone()),
            ("Target", list.target.name.clone()),
            ("Started", time(&list.started_at)),
            ("Finished", time(&list.finished_at)),
            ("Duration", duration(list.duration_ms)),
        ]
        .into_iter()
        .chain(list.evaluated_at.map(|at| {
            (
                "Evaluated as of",
                format!("{} ({})", time(&at), list.clock_note),
            )
        }))
        .collect(),
        tool: format!(
            "{} {} (schema {})",
            list.tool, list.version, list.schema_version
        ),
        incomplete: list.status != ScanStatus::Complete,
        verdict_class,
        verdict,
        tiles,
        findings: s.findings,
        suppressed: s.suppressed,
        counts: Level::ALL
            .into_iter()
            .map(|l| (lvl(l), s.count(l)))
            .collect(),
        score: score::cluster(list).as_ref().map(score_view),
        detectors: list.reports.len(),
        failing,
        unknown,
        passed,
        namespaces: namespaces(ci, list, &anchors),
        skipped: list
            .skipped
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        collectors: list.collectors.iter().map(collector).collect(),
        diagnostics: list
            .collectors
            .iter()
            .flat_map(|c| {
                c.diagnostics.iter().map(move |d| DiagnosticRow {
                    lvl: lvl(d.level),
                    level: d.level.as_str(),
                    source: d.source.as_ref().map(|s| s.to_string()).unwrap_or_default(),
                    message: d.message.clone(),
                    collector: c.id.clone(),
                })
            })
            .collect(),
    }
}

/// The verdict tile: never "healthy" unless everything was collected and evaluated.
fn verdict(list: &ReportList) -> (&'static str, String) {
    let worst = list.worst_level();
    match list.status {
        ScanStatus::NothingCollected => ("nothing", "No result".to_string()),
        ScanStatus::Partial if worst == Level::Normal => {
            ("partial", "Incomplete · nothing found".to_string())
        }
        ScanStatus::Partial => ("partial", format!("Incomplete · worst {}", worst.as_str())),
        ScanStatus::Complete if list.reports.is_empty() => ("zero", "No detector ran".to_string()),
        // Detectors that saw no object of the kinds they read checked nothing.
        ScanStatus::Complete if worst == Level::Normal && nothing_checked(list) => {
            ("zero", "Nothing to check".to_string())
        }
        ScanStatus::Complete if worst == Level::Normal && any_not_judged(list) => {
            let idle = list
                .reports
                .iter()
                .filter(|r| {
                    r.evaluated == Some(0)
                        || matches!(
                            r.result,
                            ReportResult::NothingToCheck | ReportResult::NotJudged
                        )
                })
                .count();
            (
                "normal",
                format!(
                    "No problem found · {} passed, {idle} not judged",
                    list.reports.len() - idle
                ),
            )
        }
        ScanStatus::Complete if worst == Level::Normal => ("normal", "All passed".to_string()),
        ScanStatus::Complete => (lvl(worst), format!("Worst: {}", worst.as_str())),
    }
}

fn detector(anchor: String, r: &Report) -> Det {
    let active = r.active_findings().count() as u64;
    let not_evaluated = r.level == Level::Unknown && r.findings.is_empty();
    let count = if not_evaluated {
        "not evaluated".to_string()
    } else if r.level == Level::Normal && r.suppressed == 0 {
        match r.evaluated {
            Some(0) => "nothing to check: no object of the kinds it reads".to_string(),
            Some(n) => format!("passed: {} evaluated", plural(n, "object", "objects")),
            None => "passed".to_string(),
        }
    } else {
        let mut c = plural(active, "finding", "findings");
        if r.suppressed > 0 {
            c.push_str(&format!(" + {} suppressed", r.suppressed));
        }
        c
    };
    let mut facts = vec![format!("default level {}", r.default_level.as_str())];
    if let Some(n) = r.evaluated {
        facts.push(format!("{} evaluated", plural(n, "object", "objects")));
    }
    facts.push(format!("ran in {}", duration(r.duration_ms)));
    facts.push(format!("at {}", time(&r.created_at)));

    let mut about = Vec::new();
    if !r.explanation.trim().is_empty() {
        about.push("why it matters");
    }
    if !r.solution.trim().is_empty() {
        about.push("how to fix");
    }
    if !r.example.trim().is_empty() {
        about.push("example");
    }
    if !r.references.is_empty() {
        about.push("references");
    }

    // Active findings first, worst first; suppressed ones after.
    let mut sorted: Vec<&Finding> = r.findings.iter().collect();
    sorted.sort_by_key(|f| (f.suppressed.is_some(), std::cmp::Reverse(f.level)));
    let cols = Columns {
        level: r.findings.iter().any(|f| f.level != r.level),
    };
    let mut rows: Vec<Row> = sorted.into_iter().map(row).collect();
    let more = if rows.len() > FIRST_FINDINGS + 1 {
        rows.split_off(FIRST_FINDINGS)
    } else {
        Vec::new()
    };
    let attachments = |items: &[Attachment]| -> Vec<AttachmentView> {
        items
            .iter()
            .map(|a| AttachmentView {
                description: a.description.clone(),
                data: serde_json::to_string_pretty(&a.data).unwrap_or_default(),
            })
            .collect()
    };

    Det {
        anchor,
        lvl: lvl(r.level),
        level: r.level.as_str(),
        id: r.id.clone(),
        title: r.description.clone(),
        count,
        active: (!not_evaluated).then_some(active),
        labels: r.labels.clone(),
        error: r.error.clone(),
        explanation_html: markdown(r.explanation.trim()),
        solution_html: markdown(r.solution.trim()),
        example_html: markdown(r.example.trim()),
        references: r
            .references
            .iter()
            .map(|u| Reference {
                url: u.clone(),
                link: is_web_url(u),
            })
            .collect(),
        facts: facts.join(" · "),
        about: about.join(", "),
        cols,
        rows,
        more,
        problem: match (&r.problem, r.findings.is_empty() && r.error.is_none()) {
            (Some(p), true) => attachments(std::slice::from_ref(p)),
            _ => Vec::new(),
        },
        attachments: attachments(&r.attachment),
    }
}

fn row(f: &Finding) -> Row {
    let obj = f.object.as_ref();
    Row {
        lvl: lvl(f.level),
        level: f.level.as_str(),
        object: obj.map(|o| {
            let mut plain = o.clone();
            plain.container = None;
            plain.display_name()
        }),
        container: obj.and_then(|o| o.container.clone()),
        source: obj.and_then(|o| o.locations_text()),
        message: f.message.clone(),
        evidence: f.evidence.clone(),
        timeline: timeline_view(f.timeline.as_deref()),
        suppressed: f.suppressed.as_ref().map(|s| {
            if s.is_empty() {
                "suppressed".into()
            } else {
                s.clone()
            }
        }),
        new: f.baseline == Some(detek_core::BaselineState::New),
    }
}

/// The view by namespace and object: every object with a finding, grouped by namespace (worst
/// score first), each with everything reported about it.
fn namespaces(ci: usize, list: &ReportList, anchors: &BTreeMap<&str, String>) -> Vec<Namespace> {
    // namespace ("" = cluster-scoped, None = no object) → (kind, name) → its findings
    type Findings<'a> = Vec<(&'a Report, &'a Finding)>;
    type Objects<'a> = BTreeMap<(String, String), Findings<'a>>;
    let mut groups: BTreeMap<Option<String>, Objects> = BTreeMap::new();
    for r in sorted_reports(list) {
        for f in &r.findings {
            let (ns, key) = match &f.object {
                Some(o) => (
                    Some(o.namespace.clone().unwrap_or_default()),
                    (o.kind.clone(), o.name.clone()),
                ),
                None => (None, (String::new(), String::new())),
            };
            groups
                .entry(ns)
                .or_default()
                .entry(key)
                .or_default()
                .push((r, f));
        }
    }
    let scores = score::namespaces(list);
    let penalties = score::penalties(list);
    let mut out: Vec<Namespace> = Vec::new();
    for (ni, (ns, objects)) in groups.into_iter().enumerate() {
        let mut objs: Vec<(u64, Level, Object)> = Vec::new();
        let mut counts: BTreeMap<Level, u64> = BTreeMap::new();
        for (oi, ((kind, name), findings)) in objects.into_iter().enumerate() {
            let object_ref = findings[0].1.object.as_ref();
            let display = match object_ref {
                Some(o) => {
                    let mut plain = o.clone();
                    plain.container = None;
                    plain.source = None;
                    plain.display_name()
                }
                None => "(no object: the scan as a whole)".to_string(),
            };
            let penalty = penalties
                .get(&object_ref.map(|o| (kind.clone(), o.namespace.clone(), name.clone())))
                .copied()
                .unwrap_or(0);
            let worst = findings
                .iter()
                .filter(|(_, f)| f.suppressed.is_none())
                .map(|(_, f)| f.level)
                .max()
                .unwrap_or(Level::Normal);
            let mut per: BTreeMap<Level, u64> = BTreeMap::new();
            let mut suppressed = 0;
            for (_, f) in &findings {
                if f.suppressed.is_some() {
                    suppressed += 1;
                } else {
                    *per.entry(f.level).or_default() += 1;
                    *counts.entry(f.level).or_default() += 1;
                }
            }
            let mut summary: Vec<String> = per
                .iter()
                .rev()
                .map(|(l, n)| format!("{n} {}", l.as_str().to_lowercase()))
                .collect();
            if suppressed > 0 {
                summary.push(format!("{suppressed} suppressed"));
            }
            let mut sources: Vec<String> = findings
                .iter()
                .flat_map(|(_, f)| f.object.iter().flat_map(|o| o.locations()))
                .map(|s| s.to_string())
                .collect();
            sources.sort();
            sources.dedup();
            let rows = findings
                .iter()
                .map(|(r, f)| ObjectRow {
                    lvl: lvl(f.level),
                    level: f.level.as_str(),
                    detector: r.id.clone(),
                    det_anchor: anchors.get(r.id.as_str()).cloned().unwrap_or_default(),
                    container: f.object.as_ref().and_then(|o| o.container.clone()),
                    message: f.message.clone(),
                    evidence: f.evidence.clone(),
                    timeline: timeline_view(f.timeline.as_deref()),
                    suppressed: f.suppressed.as_ref().map(|s| {
                        if s.is_empty() {
                            "suppressed".into()
                        } else {
                            s.clone()
                        }
                    }),
                })
                .collect();
            objs.push((
                penalty,
                worst,
                Object {
                    anchor: format!("c{ci}-n{ni}-o{oi}"),
                    name: display,
                    lvl: lvl(worst),
                    level: worst.as_str(),
                    summary: summary.join(", "),
                    source: (!sources.is_empty()).then(|| sources.join(", ")),
                    rows,
                },
            ));
        }
        // Worst objects first: most points lost, then worst level, then name.
        objs.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then(b.1.cmp(&a.1))
                .then_with(|| a.2.name.cmp(&b.2.name))
        });
        let (name, score) = match &ns {
            Some(n) if n.is_empty() => ("Cluster-scoped objects".to_string(), None),
            Some(n) => (n.clone(), scores.get(n).cloned().flatten()),
            None => ("Findings about no object".to_string(), None),
        };
        out.push(Namespace {
            anchor: format!("c{ci}-n{ni}"),
            name,
            score: score.as_ref().map(score_view),
            objects: objs.into_iter().map(|(_, _, o)| o).collect(),
            counts: [Level::Fatal, Level::Error, Level::Warn]
                .into_iter()
                .map(|l| (lvl(l), counts.get(&l).copied().unwrap_or(0)))
                .collect(),
        });
    }
    // Namespaces with a score, worst first; then cluster-scoped objects and object-less
    // findings; then namespaces without a score, by name.
    out.sort_by(|a, b| {
        let key = |n: &Namespace| match &n.score {
            Some(s) => (0, s.value),
            None if n.name == "Cluster-scoped objects" || n.name == "Findings about no object" => {
                (1, 0)
            }
            None => (2, 0),
        };
        key(a).cmp(&key(b)).then_with(|| a.name.cmp(&b.name))
    });
    out
}

fn collector(c: &CollectorStatus) -> Collector {
    let (class, status) = match (c.ok, c.failed_keys.is_empty()) {
        (false, _) => ("nothing", "failed"),
        (true, false) => ("partial", "partial"),
        (true, true) => ("ok", "ok"),
    };
    // Per-namespace object counts are shown with the namespaces' scores, not here.
    let stats: Vec<String> = c
        .stats
        .iter()
        .filter(|(k, _)| !k.starts_with("objects_in_namespace/"))
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    Collector {
        id: c.id.clone(),
        class,
        status,
        duration: duration(c.duration_ms),
        error: c.error.clone(),
        failed_keys: c
            .failed_keys
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        stats: stats.join(" · "),
        diagnostics: (!c.diagnostics.is_empty())
            .then(|| plural(c.diagnostics.len() as u64, "diagnostic", "diagnostics") + " (below)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sparkline_spans_the_box_from_zero_to_the_larger_of_peak_and_limit() {
        let (line, limit) = sparkline(&[(1000, 0.0), (1060, 50.0), (1120, 100.0)], Some(200.0));
        assert_eq!(line, "0.0,22.0 60.0,17.0 120.0,12.0");
        assert_eq!(limit.as_deref(), Some("2.0"));
        let (line, limit) = sparkline(&[(0, 4.0), (30, 8.0)], None);
        assert_eq!(line, "0.0,12.0 120.0,2.0");
        assert_eq!(limit, None);
    }

    fn between<'a>(out: &'a str, open: &str, close: &str) -> &'a str {
        let start = out.find(open).unwrap() + open.len();
        let end = start + out[start..].find(close).unwrap();
        &out[start..end]
    }

    #[test]
    fn csp_allows_exactly_the_emitted_script_and_style() {
        let out = html(&[]);
        let script = between(&out, "<script>", "</script>");
        let style = between(&out, "<style>", "</style>");
        assert_eq!(script, SCRIPT);
        assert_eq!(style, STYLE);
        let meta = format!(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">",
            escape_html(&csp::policy(script, style))
        );
        assert!(out.contains(&meta));
    }

    #[test]
    fn the_formatter_escapes_with_our_escaper() {
        let env = environment();
        let out = env
            .render_str(
                "<p title=\"{{ v }}\">{{ v }}</p>{{ n }}",
                minijinja::context! { v => "<a href='x'>&\u{1b}\"/", n => 3 },
            )
            .unwrap();
        assert_eq!(
            out,
            "<p title=\"&lt;a href=&#39;x&#39;&gt;&amp;\u{FFFD}&quot;/\">&lt;a href=&#39;x&#39;&gt;&amp;\u{FFFD}&quot;/</p>3"
        );
    }
}
