//! The HTML report: one self-contained file.
//!
//! Rules kept by this module:
//! * every string that comes from a report goes through [`escape_html`] (the `e` helper) —
//!   element content and attribute values alike; attributes are always double-quoted;
//! * nothing is fetched: no external `src`/`href`, no fonts, no CDN; a Content-Security-Policy
//!   (`default-src 'none'`, our script allowed by hash) enforces it in the browser;
//! * the script reads `textContent` and toggles `hidden`/`open`; it never builds markup;
//! * without JavaScript every cluster and detector is still shown (the filter bar stays hidden).

use crate::csp;
use crate::escape::escape_html;
use crate::text::{
    duration, incomplete_reason, plural, sorted_reports, status_str, target_label, time,
};
use detek_core::{
    Attachment, CollectorStatus, Diagnostic, Finding, Level, Report, ReportList, ScanStatus,
};
use std::borrow::Cow;
use std::fmt::Write;

fn e(s: &str) -> Cow<'_, str> {
    escape_html(s)
}

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
pub(crate) fn nothing_checked(list: &ReportList) -> bool {
    !list.reports.is_empty() && list.reports.iter().all(|r| r.evaluated == Some(0))
}

/// The report for one or more scans as one self-contained HTML document.
///
/// With several lists (one per cluster), a selector at the top switches between them; the
/// filter bar (text and level) applies to every cluster.
pub fn html(lists: &[ReportList]) -> String {
    let mut o = String::with_capacity(64 * 1024);
    let title = match lists {
        [one] => format!("detek report — {}", target_label(one)),
        _ => format!(
            "detek report — {}",
            plural(lists.len() as u64, "cluster", "clusters")
        ),
    };
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(
        o,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">",
        e(&csp::policy(SCRIPT))
    );
    o.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    o.push_str("<meta name=\"referrer\" content=\"no-referrer\">\n");
    let _ = writeln!(o, "<title>{}</title>", e(&title));
    let _ = writeln!(o, "<style>{STYLE}</style>\n</head>\n<body>");
    let _ = writeln!(
        o,
        "<header class=\"top\"><h1>detek report</h1><span class=\"muted\">detek {}</span></header>",
        e(env!("CARGO_PKG_VERSION"))
    );
    o.push_str("<main>\n");

    if lists.is_empty() {
        o.push_str(
            "<div class=\"banner banner-nothing\" role=\"alert\"><strong>Empty report.</strong> \
             This file holds no scan: it says nothing about any cluster's health.</div>\n",
        );
    }
    if lists.len() > 1 {
        cluster_selector(&mut o, lists);
    }
    if !lists.is_empty() {
        controls(&mut o);
    }
    for (i, list) in lists.iter().enumerate() {
        cluster(&mut o, i, list, lists.len() > 1);
    }

    o.push_str("</main>\n");
    let _ = writeln!(o, "<script>{SCRIPT}</script>\n</body>\n</html>");
    o
}

fn cluster_selector(o: &mut String, lists: &[ReportList]) {
    o.push_str("<nav class=\"clusters\" aria-label=\"Clusters\">\n<h2>Clusters</h2>\n");
    o.push_str("<table class=\"grid\"><thead><tr><th>Cluster</th><th>Scan</th><th>Worst</th>");
    for level in Level::ALL {
        let _ = write!(o, "<th>{}</th>", level.as_str());
    }
    o.push_str("<th>Findings</th></tr></thead>\n<tbody>\n");
    for (i, list) in lists.iter().enumerate() {
        let worst = list.worst_level();
        let _ = write!(
            o,
            "<tr><td><button type=\"button\" class=\"link\" data-show-cluster=\"{i}\">{}</button></td>\
             <td>{}</td><td><span class=\"badge lvl-{}\">{}</span></td>",
            e(&target_label(list)),
            status_badge(list.status),
            lvl(worst),
            worst.as_str()
        );
        for level in Level::ALL {
            let n = list.summary.count(level);
            let class = if n == 0 { "zero" } else { lvl(level) };
            let _ = write!(o, "<td class=\"num n-{class}\">{n}</td>");
        }
        let _ = writeln!(o, "<td class=\"num\">{}</td></tr>", list.summary.findings);
    }
    o.push_str("</tbody></table>\n");
    o.push_str(
        "<p class=\"js-only\" hidden><button type=\"button\" class=\"link\" \
         data-show-cluster=\"all\">Show all clusters</button></p>\n</nav>\n",
    );
}

fn status_badge(status: ScanStatus) -> String {
    let class = match status {
        ScanStatus::Complete => "ok",
        ScanStatus::Partial => "partial",
        ScanStatus::NothingCollected => "nothing",
    };
    format!(
        "<span class=\"status status-{class}\">{}</span>",
        status_str(status)
    )
}

fn controls(o: &mut String) {
    o.push_str(
        "<div class=\"controls\" id=\"controls\" hidden>\n\
         <input type=\"search\" id=\"q\" placeholder=\"Filter detectors and findings… (press /)\" \
         aria-label=\"Filter detectors and findings\" autocomplete=\"off\">\n<span class=\"levels\">",
    );
    for level in Level::ALL {
        let _ = write!(
            o,
            "<label class=\"chk lvl-{l}\"><input type=\"checkbox\" data-level-filter value=\"{l}\" checked> {}</label>",
            if level == Level::Normal {
                "Normal (passed)"
            } else {
                level.as_str()
            },
            l = lvl(level)
        );
    }
    o.push_str(
        "<label class=\"chk\"><input type=\"checkbox\" id=\"show-suppressed\" checked> Suppressed</label>\
         </span>\n<span class=\"buttons\"><button type=\"button\" id=\"expand\">Expand all</button> \
         <button type=\"button\" id=\"collapse\">Collapse all</button></span>\n</div>\n",
    );
}

fn cluster(o: &mut String, i: usize, list: &ReportList, many: bool) {
    let _ = writeln!(
        o,
        "<section class=\"cluster\" id=\"cluster-{i}\" data-cluster=\"{i}\">"
    );
    let _ = writeln!(
        o,
        "<h2 class=\"target\">{}{}</h2>",
        if many { "Cluster: " } else { "Target: " },
        e(&target_label(list))
    );
    banner(o, i, list);
    meta(o, list);
    summary(o, list);
    detectors(o, i, list);
    skipped(o, list);
    collectors(o, i, list);
    diagnostics(o, list);
    o.push_str("</section>\n");
}

fn banner(o: &mut String, ci: usize, list: &ReportList) {
    let target = target_label(list);
    match list.status {
        ScanStatus::Complete => {}
        ScanStatus::NothingCollected => {
            let _ = writeln!(
                o,
                "<div class=\"banner banner-nothing\" role=\"alert\"><strong>Nothing could be collected \
                 from {}.</strong> This report says nothing about its health: the detectors had no \
                 data, and no count below is a result. See <a href=\"#collectors-{ci}\">Collectors</a> \
                 for what failed.</div>",
                e(&target),
            );
        }
        ScanStatus::Partial => {
            let reason = incomplete_reason(list);
            let _ = writeln!(
                o,
                "<div class=\"banner banner-partial\" role=\"alert\"><strong>Incomplete scan{}.</strong> \
                 Some inputs could not be collected: problems may be missing from this report, and \
                 detectors that needed those inputs are Unknown. See \
                 <a href=\"#collectors-{ci}\">Collectors</a>.</div>",
                if reason.is_empty() {
                    String::new()
                } else {
                    format!(": {}", e(&reason))
                },
            );
        }
    }
}

fn meta(o: &mut String, list: &ReportList) {
    o.push_str("<dl class=\"meta\">");
    let rows: [(&str, String); 7] = [
        ("Target kind", e(&list.target.kind).into_owned()),
        ("Target", e(&list.target.name).into_owned()),
        ("Started", e(&time(&list.started_at)).into_owned()),
        ("Finished", e(&time(&list.finished_at)).into_owned()),
        ("Duration", e(&duration(list.duration_ms)).into_owned()),
        ("Scan", status_badge(list.status)),
        (
            "Tool",
            format!(
                "{} {} (schema {})",
                e(&list.tool),
                e(&list.version),
                list.schema_version
            ),
        ),
    ];
    for (k, v) in rows {
        let _ = write!(o, "<div><dt>{k}</dt><dd>{v}</dd></div>");
    }
    o.push_str("</dl>\n");
}

fn summary(o: &mut String, list: &ReportList) {
    let s = &list.summary;
    let incomplete = list.status != ScanStatus::Complete;
    let _ = write!(
        o,
        "<div class=\"summary{}\">",
        if incomplete { " incomplete" } else { "" }
    );
    // The verdict tile: never "healthy" unless everything was collected and evaluated.
    let worst = list.worst_level();
    let (class, text) = match list.status {
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
        ScanStatus::Complete if worst == Level::Normal => ("normal", "All passed".to_string()),
        ScanStatus::Complete => (lvl(worst), format!("Worst: {}", worst.as_str())),
    };
    let _ = write!(
        o,
        "<div class=\"tile verdict v-{class}\"><span class=\"n\">{}</span><span class=\"l\">verdict</span></div>",
        e(&text)
    );
    for level in Level::ALL {
        let n = s.count(level);
        let class = if n == 0 { "zero" } else { lvl(level) };
        let label = if level == Level::Normal {
            "Normal (passed)"
        } else {
            level.as_str()
        };
        let _ = write!(
            o,
            "<div class=\"tile t-{class}\"><span class=\"n\">{n}</span><span class=\"l\">{label}</span></div>"
        );
    }
    let _ = write!(
        o,
        "<div class=\"tile t-plain\"><span class=\"n\">{}</span><span class=\"l\">findings</span></div>\
         <div class=\"tile t-plain\"><span class=\"n\">{}</span><span class=\"l\">suppressed</span></div>",
        s.findings, s.suppressed
    );
    o.push_str("</div>\n");
}

fn detectors(o: &mut String, ci: usize, list: &ReportList) {
    let _ = writeln!(
        o,
        "<h3>Detectors <span class=\"shown muted\">{}</span></h3>",
        plural(list.reports.len() as u64, "detector", "detectors")
    );
    if list.reports.is_empty() {
        o.push_str("<p class=\"muted\">No detector ran.</p>\n");
        return;
    }
    o.push_str("<div class=\"dets\">\n");
    for (di, r) in sorted_reports(list).into_iter().enumerate() {
        detector(o, ci, di, r);
    }
    o.push_str("</div>\n");
}

fn detector(o: &mut String, ci: usize, di: usize, r: &Report) {
    let l = lvl(r.level);
    let active = r.active_findings().count() as u64;
    let _ = write!(
        o,
        "<details class=\"det lvl-{l}\" id=\"c{ci}-d{di}\" data-level=\"{l}\"{}>",
        // Problems open; passed and not-evaluated detectors closed (the banner and the head
        // already say why they were not evaluated).
        if matches!(r.level, Level::Normal | Level::Unknown) {
            ""
        } else {
            " open"
        }
    );
    let _ = write!(
        o,
        "<summary class=\"det-head\"><span class=\"badge lvl-{l}\">{}</span> \
         <code class=\"det-id\">{}</code> <span class=\"det-title\">{}</span>",
        r.level.as_str(),
        e(&r.id),
        e(&r.description)
    );
    let count = if r.level == Level::Unknown && r.findings.is_empty() {
        match &r.error {
            Some(err) => format!("not evaluated: {err}"),
            None => "not evaluated".to_string(),
        }
    } else {
        let mut c = plural(active, "finding", "findings");
        if r.suppressed > 0 {
            let _ = write!(c, " + {} suppressed", r.suppressed);
        }
        c
    };
    let _ = write!(o, " <span class=\"det-count muted\">{}</span>", e(&count));
    if !r.labels.is_empty() {
        o.push_str(" <span class=\"labels\">");
        for label in &r.labels {
            let _ = write!(o, "<span class=\"label\">{}</span>", e(label));
        }
        o.push_str("</span>");
    }
    o.push_str("</summary>\n<div class=\"det-body\">\n");

    if let Some(err) = &r.error {
        let _ = writeln!(
            o,
            "<p class=\"error-box\"><strong>Not evaluated:</strong> {}</p>",
            e(err)
        );
    }
    if !r.explanation.trim().is_empty() {
        let _ = writeln!(
            o,
            "<div class=\"md\"><h4>What is wrong and why it matters</h4>{}</div>",
            markdown(&r.explanation)
        );
    }
    if !r.solution.trim().is_empty() {
        let _ = writeln!(
            o,
            "<div class=\"md\"><h4>How to fix</h4>{}</div>",
            markdown(&r.solution)
        );
    }
    if !r.references.is_empty() {
        // Shown as text, not links: the report makes no reference to anything outside itself.
        o.push_str("<div class=\"refs\"><h4>References</h4><ul>");
        for reference in &r.references {
            let _ = write!(o, "<li><code>{}</code></li>", e(reference));
        }
        o.push_str("</ul></div>\n");
    }
    let mut facts = vec![format!("default level {}", r.default_level.as_str())];
    if let Some(n) = r.evaluated {
        facts.push(format!("{} evaluated", plural(n, "object", "objects")));
    }
    facts.push(format!("ran in {}", duration(r.duration_ms)));
    facts.push(format!("at {}", time(&r.created_at)));
    let _ = writeln!(o, "<p class=\"facts muted\">{}</p>", e(&facts.join(" · ")));

    if !r.findings.is_empty() {
        findings(o, &r.findings);
    } else if r.error.is_none()
        && let Some(problem) = &r.problem
    {
        attachments(o, "Problem", std::slice::from_ref(problem), true);
    }
    if !r.attachment.is_empty() {
        attachments(o, "Attachments", &r.attachment, false);
    }
    o.push_str("</div>\n</details>\n");
}

fn findings(o: &mut String, findings: &[Finding]) {
    let container = findings
        .iter()
        .any(|f| f.object.as_ref().is_some_and(|o| o.container.is_some()));
    let source = findings
        .iter()
        .any(|f| f.object.as_ref().is_some_and(|o| o.source.is_some()));
    let suppressed = findings.iter().any(|f| f.suppressed.is_some());

    o.push_str("<div class=\"scroll\"><table class=\"grid findings\"><thead><tr><th>Level</th><th>Kind</th><th>Namespace</th><th>Name</th>");
    if container {
        o.push_str("<th>Container</th>");
    }
    if source {
        o.push_str("<th>Source</th>");
    }
    o.push_str("<th>Message</th>");
    if suppressed {
        o.push_str("<th>Suppressed</th>");
    }
    o.push_str("</tr></thead>\n<tbody>\n");
    // Active findings first, worst first; suppressed ones after.
    let mut sorted: Vec<&Finding> = findings.iter().collect();
    sorted.sort_by_key(|f| (f.suppressed.is_some(), std::cmp::Reverse(f.level)));
    for f in sorted {
        let l = lvl(f.level);
        let _ = write!(
            o,
            "<tr class=\"finding{}\" data-level=\"{l}\"><td><span class=\"badge lvl-{l}\">{}</span></td>",
            if f.suppressed.is_some() {
                " suppressed"
            } else {
                ""
            },
            f.level.as_str()
        );
        let obj = f.object.as_ref();
        let cell = |v: Option<&str>| match v {
            Some(v) if !v.is_empty() => e(v).into_owned(),
            _ => "<span class=\"muted\">—</span>".to_string(),
        };
        let _ = write!(
            o,
            "<td>{}</td><td>{}</td><td class=\"name\">{}</td>",
            cell(obj.map(|o| o.kind.as_str())),
            cell(obj.and_then(|o| o.namespace.as_deref())),
            cell(obj.map(|o| o.name.as_str())),
        );
        if container {
            let _ = write!(
                o,
                "<td>{}</td>",
                cell(obj.and_then(|o| o.container.as_deref()))
            );
        }
        if source {
            let src = obj.and_then(|o| o.source.as_ref()).map(|s| s.to_string());
            let _ = write!(o, "<td class=\"src\">{}</td>", cell(src.as_deref()));
        }
        o.push_str("<td class=\"msg\">");
        if f.baseline == Some(detek_core::BaselineState::New) {
            // Not in the --baseline report: appeared since.
            o.push_str(
                "<strong class=\"label\" title=\"not in the baseline report\">NEW</strong> ",
            );
        }
        let _ = write!(o, "{}", e(&f.message));
        if !f.evidence.is_empty() {
            o.push_str("<ul class=\"evidence\">");
            for ev in &f.evidence {
                let _ = write!(o, "<li>{}</li>", e(ev));
            }
            o.push_str("</ul>");
        }
        o.push_str("</td>");
        if suppressed {
            let _ = write!(
                o,
                "<td>{}</td>",
                cell(
                    f.suppressed
                        .as_deref()
                        .map(|s| if s.is_empty() { "suppressed" } else { s })
                )
            );
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</tbody></table></div>\n");
}

fn attachments(o: &mut String, title: &str, items: &[Attachment], open: bool) {
    let _ = write!(
        o,
        "<details class=\"attachments\"{}><summary>{} ({})</summary>",
        if open { " open" } else { "" },
        title,
        items.len()
    );
    for a in items {
        let data = serde_json::to_string_pretty(&a.data).unwrap_or_default();
        let _ = write!(
            o,
            "<h5>{}</h5><pre class=\"json\">{}</pre>",
            e(&a.description),
            e(&data)
        );
    }
    o.push_str("</details>\n");
}

fn skipped(o: &mut String, list: &ReportList) {
    if list.skipped.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "<h3>Skipped detectors <span class=\"muted\">{}</span></h3>\n\
         <p class=\"muted\">Left out because this target cannot feed them; they are not counted above.</p>",
        list.skipped.len()
    );
    o.push_str(
        "<table class=\"grid\"><thead><tr><th>Detector</th><th>Reason</th></tr></thead><tbody>\n",
    );
    for (id, reason) in &list.skipped {
        let _ = writeln!(
            o,
            "<tr><td><code>{}</code></td><td>{}</td></tr>",
            e(id),
            e(reason)
        );
    }
    o.push_str("</tbody></table>\n");
}

fn collectors(o: &mut String, ci: usize, list: &ReportList) {
    let _ = writeln!(
        o,
        "<h3 id=\"collectors-{ci}\">Collectors <span class=\"muted\">{}</span></h3>",
        list.collectors.len()
    );
    if list.collectors.is_empty() {
        o.push_str("<p class=\"muted\">No collector ran.</p>\n");
        return;
    }
    o.push_str(
        "<table class=\"grid\"><thead><tr><th>Collector</th><th>Status</th><th>Duration</th>\
         <th>Details</th></tr></thead><tbody>\n",
    );
    for c in &list.collectors {
        collector(o, c);
    }
    o.push_str("</tbody></table>\n");
}

fn collector(o: &mut String, c: &CollectorStatus) {
    let (class, status) = match (c.ok, c.failed_keys.is_empty()) {
        (false, _) => ("nothing", "failed"),
        (true, false) => ("partial", "partial"),
        (true, true) => ("ok", "ok"),
    };
    let _ = write!(
        o,
        "<tr><td><code>{}</code></td><td><span class=\"status status-{class}\">{status}</span></td><td class=\"num\">{}</td><td>",
        e(&c.id),
        e(&duration(c.duration_ms))
    );
    if let Some(err) = &c.error {
        let _ = write!(o, "<p class=\"error-text\">{}</p>", e(err));
    }
    if !c.failed_keys.is_empty() {
        o.push_str("<ul class=\"kv\">");
        for (key, reason) in &c.failed_keys {
            let _ = write!(
                o,
                "<li><code>{}</code> unavailable: {}</li>",
                e(key),
                e(reason)
            );
        }
        o.push_str("</ul>");
    }
    if !c.stats.is_empty() {
        let stats: Vec<String> = c
            .stats
            .iter()
            .map(|(k, v)| format!("{}: {v}", e(k)))
            .collect();
        let _ = write!(o, "<p class=\"muted\">{}</p>", stats.join(" · "));
    }
    if !c.diagnostics.is_empty() {
        let _ = write!(
            o,
            "<p class=\"muted\">{} (below)</p>",
            plural(c.diagnostics.len() as u64, "diagnostic", "diagnostics")
        );
    }
    o.push_str("</td></tr>\n");
}

fn diagnostics(o: &mut String, list: &ReportList) {
    let all: Vec<(&str, &Diagnostic)> = list
        .collectors
        .iter()
        .flat_map(|c| c.diagnostics.iter().map(move |d| (c.id.as_str(), d)))
        .collect();
    if all.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "<h3>Input diagnostics <span class=\"muted\">{}</span></h3>\n\
         <p class=\"muted\">Problems met while reading the inputs (malformed documents, skipped kinds); \
         the rest of the input was still read.</p>",
        all.len()
    );
    o.push_str(
        "<div class=\"scroll\"><table class=\"grid\"><thead><tr><th>Level</th><th>Source</th><th>Message</th>\
         <th>Collector</th></tr></thead><tbody>\n",
    );
    for (collector, d) in all {
        let l = lvl(d.level);
        let src = d.source.as_ref().map(|s| s.to_string()).unwrap_or_default();
        let _ = writeln!(
            o,
            "<tr><td><span class=\"badge lvl-{l}\">{}</span></td><td class=\"src\">{}</td><td>{}</td><td><code>{}</code></td></tr>",
            d.level.as_str(),
            e(&src),
            e(&d.message),
            e(collector)
        );
    }
    o.push_str("</tbody></table></div>\n");
}

/// A small, safe subset of Markdown for explanations and solutions: paragraphs, `##` headings,
/// `-`/`*`/`1.` lists, fenced code blocks, inline `code` and **bold**. No links, no raw HTML:
/// every piece of text is escaped; only the tags written here are emitted.
pub(crate) fn markdown(text: &str) -> String {
    let mut o = String::new();
    let mut para: Vec<&str> = Vec::new();
    let mut items: Vec<String> = Vec::new();
    let mut ordered = false;
    let mut lines = text.lines();

    fn flush_para(o: &mut String, para: &mut Vec<&str>) {
        if !para.is_empty() {
            let _ = write!(o, "<p>{}</p>", inline(&para.join("\n")));
            para.clear();
        }
    }
    fn flush_list(o: &mut String, items: &mut Vec<String>, ordered: bool) {
        if !items.is_empty() {
            let tag = if ordered { "ol" } else { "ul" };
            let _ = write!(o, "<{tag}>");
            for item in items.iter() {
                let _ = write!(o, "<li>{}</li>", inline(item));
            }
            let _ = write!(o, "</{tag}>");
            items.clear();
        }
    }

    while let Some(line) = lines.next() {
        let t = line.trim_start();
        if let Some(fence) = t.strip_prefix("```") {
            flush_para(&mut o, &mut para);
            flush_list(&mut o, &mut items, ordered);
            let _ = fence; // the language tag is not used
            let mut code = Vec::new();
            for l in lines.by_ref() {
                if l.trim_start().starts_with("```") {
                    break;
                }
                code.push(l);
            }
            let _ = write!(
                o,
                "<pre class=\"code\"><code>{}</code></pre>",
                e(&code.join("\n"))
            );
            continue;
        }
        if t.is_empty() {
            flush_para(&mut o, &mut para);
            flush_list(&mut o, &mut items, ordered);
            continue;
        }
        let hashes = t.chars().take_while(|&c| c == '#').count();
        if (1..=6).contains(&hashes) && t[hashes..].starts_with(' ') {
            flush_para(&mut o, &mut para);
            flush_list(&mut o, &mut items, ordered);
            let _ = write!(o, "<h5>{}</h5>", inline(t[hashes..].trim()));
            continue;
        }
        let bullet = t.strip_prefix("- ").or_else(|| t.strip_prefix("* "));
        let numbered = {
            let digits = t.chars().take_while(char::is_ascii_digit).count();
            (digits > 0 && t[digits..].starts_with(". ")).then(|| &t[digits + 2..])
        };
        if let Some(item) = bullet.or(numbered) {
            flush_para(&mut o, &mut para);
            let is_ordered = numbered.is_some() && bullet.is_none();
            if !items.is_empty() && is_ordered != ordered {
                flush_list(&mut o, &mut items, ordered);
            }
            ordered = is_ordered;
            items.push(item.to_string());
            continue;
        }
        if !items.is_empty() && line.starts_with([' ', '\t']) {
            // A continuation line of the last list item.
            if let Some(last) = items.last_mut() {
                last.push(' ');
                last.push_str(t);
            }
            continue;
        }
        flush_list(&mut o, &mut items, ordered);
        para.push(t);
    }
    flush_para(&mut o, &mut para);
    flush_list(&mut o, &mut items, ordered);
    o
}

/// Inline Markdown: `code` and **bold**; everything else escaped text.
fn inline(text: &str) -> String {
    let mut o = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('`') {
        match rest[start + 1..].find('`') {
            Some(len) => {
                bold(&mut o, &rest[..start]);
                let _ = write!(o, "<code>{}</code>", e(&rest[start + 1..start + 1 + len]));
                rest = &rest[start + 2 + len..];
            }
            None => break,
        }
    }
    bold(&mut o, rest);
    o
}

fn bold(o: &mut String, text: &str) {
    let mut rest = text;
    while let Some(start) = rest.find("**") {
        match rest[start + 2..].find("**") {
            Some(len) if len > 0 => {
                o.push_str(&e(&rest[..start]));
                let _ = write!(
                    o,
                    "<strong>{}</strong>",
                    e(&rest[start + 2..start + 2 + len])
                );
                rest = &rest[start + 4 + len..];
            }
            _ => break,
        }
    }
    o.push_str(&e(rest));
}

const STYLE: &str = r#"
:root{--bg:#fff;--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--soft:#f6f8fa;--code:#eff1f3;
--fatal:#8b0000;--error:#d1242f;--warn:#bf8700;--unknown:#8250df;--normal:#1a7f37;--zero:#8c959f;
color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#8d96a0;--line:#30363d;
--soft:#161b22;--code:#1f242c;--fatal:#ff6b6b;--error:#f85149;--warn:#d29922;--unknown:#a371f7;
--normal:#3fb950;--zero:#6e7681}}
*{box-sizing:border-box}
[hidden]{display:none!important}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif}
main{max-width:1200px;margin:0 auto;padding:0 16px 48px}
header.top{display:flex;align-items:baseline;gap:12px;padding:12px 16px;border-bottom:1px solid var(--line);max-width:1200px;margin:0 auto}
h1{font-size:20px;margin:0}h2{font-size:18px;margin:24px 0 8px}h3{font-size:16px;margin:24px 0 8px}
h4{font-size:14px;margin:12px 0 4px}h5{font-size:13px;margin:10px 0 4px}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
code{background:var(--code);padding:1px 4px;border-radius:4px;overflow-wrap:anywhere}
pre{background:var(--code);padding:8px 10px;border-radius:6px;overflow:auto;max-height:320px;white-space:pre-wrap;overflow-wrap:anywhere}
pre code{background:none;padding:0}
.muted{color:var(--muted)}
.banner{padding:12px 16px;border-radius:6px;margin:12px 0;font-size:15px;border:2px solid}
.banner-nothing{background:#ffebe9;color:#82071e;border-color:#cf222e}
.banner-partial{background:#fff8c5;color:#4d2d00;border-color:#bf8700}
.banner a{color:inherit}
.meta{display:flex;flex-wrap:wrap;gap:4px 24px;margin:8px 0}
.meta div{display:flex;gap:6px}.meta dt{color:var(--muted)}.meta dd{margin:0}
.summary{display:flex;flex-wrap:wrap;gap:8px;margin:12px 0}
.tile{border:1px solid var(--line);border-left-width:6px;border-radius:6px;padding:6px 12px;min-width:92px;display:flex;flex-direction:column}
.tile .n{font-size:22px;font-weight:600}.tile .l{color:var(--muted);font-size:12px}
.t-fatal{border-left-color:var(--fatal)}.t-fatal .n{color:var(--fatal)}
.t-error{border-left-color:var(--error)}.t-error .n{color:var(--error)}
.t-warn{border-left-color:var(--warn)}.t-warn .n{color:var(--warn)}
.t-unknown{border-left-color:var(--unknown)}.t-unknown .n{color:var(--unknown)}
.t-normal{border-left-color:var(--normal)}.t-normal .n{color:var(--normal)}
.t-zero .n{color:var(--zero)}
.summary.incomplete .t-normal{border-left-color:var(--zero)}.summary.incomplete .t-normal .n{color:var(--zero)}
.verdict{min-width:160px}.verdict .n{font-size:18px}
.v-fatal{border-color:var(--fatal)}.v-fatal .n{color:var(--fatal)}
.v-error{border-color:var(--error)}.v-error .n{color:var(--error)}
.v-warn{border-color:var(--warn)}.v-warn .n{color:var(--warn)}
.v-unknown,.v-partial{border-color:var(--warn)}.v-unknown .n,.v-partial .n{color:var(--warn)}
.v-nothing{border-color:var(--error)}.v-nothing .n{color:var(--error)}
.v-normal{border-color:var(--normal)}.v-normal .n{color:var(--normal)}
.badge{display:inline-block;min-width:64px;text-align:center;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff}
.badge.lvl-fatal{background:var(--fatal)}.badge.lvl-error{background:var(--error)}.badge.lvl-warn{background:var(--warn)}
.badge.lvl-unknown{background:var(--unknown)}.badge.lvl-normal{background:var(--normal)}
.status{display:inline-block;padding:0 8px;border-radius:10px;font-size:12px;font-weight:600;border:1px solid}
.status-ok{color:var(--normal)}.status-partial{color:var(--warn)}.status-nothing{color:var(--error)}
.controls{position:sticky;top:0;z-index:2;background:var(--bg);display:flex;flex-wrap:wrap;align-items:center;gap:8px 16px;padding:10px 0;border-bottom:1px solid var(--line)}
.controls input[type=search]{flex:1 1 320px;padding:6px 10px;font:inherit;border:1px solid var(--line);border-radius:6px;background:var(--bg);color:var(--fg)}
.chk{white-space:nowrap;margin-right:8px}
button{font:inherit;cursor:pointer}
button.link{background:none;border:none;padding:0;color:inherit;text-decoration:underline;text-align:left}
button.link[aria-pressed=true]{font-weight:700;text-decoration:none}
.det{border:1px solid var(--line);border-left:6px solid var(--zero);border-radius:6px;margin:8px 0;background:var(--bg)}
.det.lvl-fatal{border-left-color:var(--fatal)}.det.lvl-error{border-left-color:var(--error)}.det.lvl-warn{border-left-color:var(--warn)}
.det.lvl-unknown{border-left-color:var(--unknown)}.det.lvl-normal{border-left-color:var(--normal)}
.det-head{cursor:pointer;padding:8px 12px;display:flex;flex-wrap:wrap;align-items:center;gap:6px 10px}
.det[open] .det-head{border-bottom:1px solid var(--line);background:var(--soft)}
.det-title{font-weight:600}.det-body{padding:4px 16px 12px}
.labels{display:inline-flex;flex-wrap:wrap;gap:4px}.label{background:var(--soft);border:1px solid var(--line);border-radius:10px;padding:0 7px;font-size:12px;color:var(--muted)}
.error-box{background:#fbefff;color:#512a97;border:1px solid var(--unknown);border-radius:6px;padding:8px 12px}
.error-text{color:var(--error);margin:0}
.md p{margin:6px 0}.md ul,.md ol,.refs ul{margin:4px 0;padding-left:24px}
.facts{font-size:12px}
.scroll{overflow-x:auto}
table.grid{border-collapse:collapse;width:100%;margin:6px 0}
.grid th,.grid td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
.grid th{background:var(--soft);font-weight:600;white-space:nowrap}
.grid td.num{text-align:right;font-variant-numeric:tabular-nums}
.n-zero{color:var(--zero)}.n-fatal{color:var(--fatal);font-weight:600}.n-error{color:var(--error);font-weight:600}
.n-warn{color:var(--warn);font-weight:600}.n-unknown{color:var(--unknown);font-weight:600}.n-normal{color:var(--normal)}
.findings td.name,.findings td.src,.grid td.src{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px;overflow-wrap:anywhere}
.findings td.msg{min-width:280px;overflow-wrap:anywhere}
.evidence{margin:4px 0 0;padding-left:18px;color:var(--muted);font-size:12.5px}
tr.suppressed td{opacity:.6}
.attachments summary{cursor:pointer;color:var(--muted);margin-top:8px}
.kv{margin:0;padding-left:18px}
@media print{.controls,nav.clusters button{display:none}.det:not([open]) .det-body{display:block}}
"#;

/// The report's only script. Its SHA-256 is put in the Content-Security-Policy at render time,
/// so any other script (or event handler attribute) would be refused by the browser.
const SCRIPT: &str = r#"
(function () {
  'use strict';
  function all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  var controls = document.getElementById('controls');
  if (!controls) { return; }
  controls.hidden = false;
  all('.js-only').forEach(function (el) { el.hidden = false; });
  var q = document.getElementById('q');
  var boxes = all('input[data-level-filter]');
  var sup = document.getElementById('show-suppressed');

  function apply() {
    var text = q.value.trim().toLowerCase();
    var on = {};
    boxes.forEach(function (b) { on[b.value] = b.checked; });
    var showSup = sup.checked;
    all('section.cluster').forEach(function (sec) {
      var total = 0, visible = 0;
      all('.det', sec).forEach(function (det) {
        total++;
        var head = det.querySelector('.det-head').textContent.toLowerCase();
        var headHit = !text || head.indexOf(text) >= 0;
        var rowHit = false;
        all('tr.finding', det).forEach(function (tr) {
          var ok = on[tr.getAttribute('data-level')] !== false
            && (showSup || !tr.classList.contains('suppressed'))
            && (headHit || tr.textContent.toLowerCase().indexOf(text) >= 0);
          tr.hidden = !ok;
          if (ok && !headHit) { rowHit = true; }
        });
        var show = on[det.getAttribute('data-level')] !== false && (headHit || rowHit);
        det.hidden = !show;
        if (show) {
          visible++;
          if (text && rowHit) { det.open = true; }
        }
      });
      var shown = sec.querySelector('.shown');
      if (shown) {
        shown.textContent = visible === total
          ? total + (total === 1 ? ' detector' : ' detectors')
          : visible + ' of ' + total + ' shown';
      }
    });
  }
  q.addEventListener('input', apply);
  boxes.concat([sup]).forEach(function (b) { b.addEventListener('change', apply); });
  document.addEventListener('keydown', function (ev) {
    if (ev.key === '/' && document.activeElement !== q) { ev.preventDefault(); q.focus(); }
    if (ev.key === 'Escape' && document.activeElement === q) { q.value = ''; apply(); }
  });
  document.getElementById('expand').addEventListener('click', function () {
    all('.det').forEach(function (d) { if (!d.hidden) { d.open = true; } });
  });
  document.getElementById('collapse').addEventListener('click', function () {
    all('.det').forEach(function (d) { d.open = false; });
  });

  var tabs = all('[data-show-cluster]');
  function showCluster(which) {
    all('section.cluster').forEach(function (sec) {
      sec.hidden = which !== 'all' && sec.getAttribute('data-cluster') !== which;
    });
    tabs.forEach(function (t) {
      t.setAttribute('aria-pressed', String(t.getAttribute('data-show-cluster') === which));
    });
  }
  if (tabs.length) {
    tabs.forEach(function (t) {
      t.addEventListener('click', function () { showCluster(t.getAttribute('data-show-cluster')); });
    });
    showCluster('0');
  }
  apply();
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_subset() {
        let md = markdown(
            "First `kubectl get` line\nsecond **bold** line.\n\n- one\n- two `x`\n  continued\n\n1. a\n2. b\n\n```yaml\nkey: <v>\n```\n## Head",
        );
        assert_eq!(
            md,
            "<p>First <code>kubectl get</code> line\nsecond <strong>bold</strong> line.</p>\
             <ul><li>one</li><li>two <code>x</code> continued</li></ul>\
             <ol><li>a</li><li>b</li></ol>\
             <pre class=\"code\"><code>key: &lt;v&gt;</code></pre><h5>Head</h5>"
        );
    }

    #[test]
    fn markdown_escapes_everything() {
        let md = markdown(
            "<script>x</script> `<img src=x onerror=y>` **<b>** [l](javascript:alert(1))\n```\n</code></pre><script>\n```",
        );
        assert!(!md.contains("<script"), "{md}");
        assert!(!md.contains("<img"), "{md}");
        assert!(!md.contains("<b>"), "{md}");
        assert!(!md.contains("href"), "{md}");
        assert!(
            md.contains("&lt;/code&gt;&lt;/pre&gt;&lt;script&gt;"),
            "{md}"
        );
    }

    #[test]
    fn csp_allows_exactly_the_emitted_script() {
        let out = html(&[]);
        let start = out.find("<script>").unwrap() + "<script>".len();
        let end = out.find("</script>").unwrap();
        assert_eq!(&out[start..end], SCRIPT);
        let meta = format!(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">",
            escape_html(&csp::policy(&out[start..end]))
        );
        assert!(out.contains(&meta));
    }

    #[test]
    fn unclosed_markers_stay_text() {
        assert_eq!(markdown("a `b and **c"), "<p>a `b and **c</p>");
        assert_eq!(
            markdown("```\nno end"),
            "<pre class=\"code\"><code>no end</code></pre>"
        );
    }
}
