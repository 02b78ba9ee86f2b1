//! The terminal table and the summary line.

mod common;

use common::*;
use detek_core::{Finding, Level, ObjectRef, ReportList, ScanStatus, SourceLocation, Summary};
use detek_render::TableOptions;

/// The SGR sequences the table may write (and nothing else): anstyle's reset, bold, dim and
/// four foreground colours.
const OUR_SGR: &[&str] = &[
    "\x1b[0m", "\x1b[1m", "\x1b[2m", "\x1b[31m", "\x1b[33m", "\x1b[35m", "\x1b[32m",
];

/// Every escape sequence in `s`, checked to be one of ours; returns how many.
fn our_escapes_only(s: &str) -> usize {
    let mut n = 0;
    for (i, _) in s.match_indices('\u{1b}') {
        let seq = OUR_SGR
            .iter()
            .find(|sgr| s[i..].starts_with(**sgr))
            .unwrap_or_else(|| {
                panic!(
                    "foreign escape sequence: {:?}",
                    &s[i..(i + 12).min(s.len())]
                )
            });
        assert!(seq.ends_with('m'));
        n += 1;
    }
    n
}

fn no_control_chars(s: &str) {
    for (i, c) in s.char_indices() {
        assert!(
            c == '\n' || !c.is_control(),
            "control character {c:?} at {i}: {:?}",
            &s[i.saturating_sub(30)..(i + 10).min(s.len())]
        );
        assert!(
            !('\u{202a}'..='\u{202e}').contains(&c),
            "bidi override at {i}"
        );
    }
}

#[test]
fn no_escape_from_data_without_colour() {
    let out = detek_render::table(&hostile(), false);
    assert!(!out.contains('\u{1b}'), "ESC in uncoloured output");
    assert!(!out.contains('\u{9b}'), "C1 CSI in output");
    no_control_chars(&out);
    // Neutralised, not silently dropped: the user sees what was there.
    assert!(out.contains("pod\\x1b[2J\\x1b[31mred\\x1b]0;title\\x07"));
    assert!(out.contains("csi\\x9b2Jc1"));
    assert!(out.contains("rtl\\u{202e}gnp.exe"));
    assert!(out.contains("line break carriage tab"));
}

#[test]
fn only_our_sgr_codes_with_colour() {
    let out = detek_render::table(&hostile(), true);
    assert!(our_escapes_only(&out) > 10);
    // Strip our codes: what is left has no control character at all.
    let mut plain = out.clone();
    for sgr in OUR_SGR {
        plain = plain.replace(sgr, "");
    }
    no_control_chars(&plain);
    // Colour changes nothing but the codes.
    assert_eq!(plain, detek_render::table(&hostile(), false));

    for list in [representative(), healthy(), nothing_collected()] {
        let out = detek_render::table(&list, true);
        our_escapes_only(&out);
        let mut plain = out.clone();
        for sgr in OUR_SGR {
            plain = plain.replace(sgr, "");
        }
        assert_eq!(plain, detek_render::table(&list, false));
    }
}

#[test]
fn summary_line_counts() {
    assert_eq!(
        detek_render::summary_line(&representative()),
        "1 fatal, 2 error, 1 warn, 1 unknown, 1 passed — 29 findings (1 suppressed) [partial scan]"
    );
    assert_eq!(
        detek_render::summary_line(&healthy()),
        "0 fatal, 0 error, 0 warn, 0 unknown, 2 passed — 0 findings"
    );
    assert_eq!(
        detek_render::summary_line(&nothing_collected()),
        "0 fatal, 0 error, 0 warn, 2 unknown, 0 passed — 0 findings [nothing collected]"
    );
    let mut list = healthy();
    list.summary = Summary {
        fatal: 2,
        error: 5,
        warn: 12,
        unknown: 1,
        normal: 40,
        not_judged: 0,
        findings: 87,
        suppressed: 3,
    };
    assert_eq!(
        detek_render::summary_line(&list),
        "2 fatal, 5 error, 12 warn, 1 unknown, 40 passed — 87 findings (3 suppressed)"
    );
    list.summary.findings = 1;
    list.summary.suppressed = 0;
    assert!(detek_render::summary_line(&list).ends_with("— 1 finding"));
}

#[test]
fn table_content() {
    let out = detek_render::table(&representative(), false);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "detek 0.1.0 · snapshot manifests/ · 2025-03-04 05:06:07 UTC · 1.8 s · scan partial"
    );
    assert!(lines[1].starts_with("!! INCOMPLETE SCAN: 1 collector failed, 1 input unavailable, 1 detector could not be evaluated"));
    assert_eq!(lines[2], detek_render::summary_line(&representative()));
    // The detector table: non-Normal only, worst first.
    let header = lines.iter().position(|l| l.starts_with("LEVEL")).unwrap();
    let rows: Vec<&str> = lines[header + 1..]
        .iter()
        .take_while(|l| !l.is_empty())
        .copied()
        .collect();
    let ids: Vec<&str> = rows
        .iter()
        .map(|r| r.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "webhook_fail_closed",
            "failed_pod",
            "node_not_ready",
            "image_tag_latest",
        ]
    );
    // The detector that could not be evaluated is under "Not evaluated", by its cause.
    assert!(out.contains("Not evaluated (1):"), "{out}");
    assert!(out.contains("    secret_unused"), "{out}");
    assert!(
        !out.contains("service_no_endpoints"),
        "passed detectors are not listed"
    );
    // Findings: first 20, then the rest counted.
    assert_eq!(out.matches("uses the latest tag").count(), 20);
    assert!(out.contains("… and 5 more"));
    assert!(out.contains("Pod/batch/job-00 [main]"));
    // Suppressed findings are counted, not listed.
    assert!(out.contains("(1 suppressed, not listed)"));
    assert!(!out.contains("kube-system/debug"));
    // A finding graded differently from its detector says so.
    assert!(out.contains("[Error] failurePolicy Fail and service istio-system/istiod"));
    assert!(out.contains("Not evaluated (1):\n  not run: collector kubernetes/live failed: secrets is forbidden: 403\n    secret_unused\n"));
    // Footer.
    assert!(out.contains("Collector problems:"));
    assert!(out.contains("prometheus/alerts: failed: connection refused (127.0.0.1:9090)"));
    assert!(out.contains("kubernetes/live: kubernetes/secrets unavailable: secrets is forbidden"));
    assert!(out.contains("Input diagnostics (2):"));
    assert!(out.contains("  Error  manifests/broken.yaml:7  mapping values are not allowed"));
    // file:line for findings on objects read from manifests.
    assert!(out.contains(
        "\n  Pod/shop/cart-7d9f  manifests/shop.yaml:42  Pod failed: OOMKilled (exit 137)\n"
    ));
    // The score (docs/score.md): an upper bound on a partial scan.
    assert_eq!(
        lines[3],
        "score 97/100 at most (incomplete scan) · 29 of 118 objects with findings (docs/score.md)"
    );
    assert!(out.contains("Skipped (1, not applicable to this target):"));
}

#[test]
fn healthy_and_empty_scans() {
    let out = detek_render::table(&healthy(), false);
    assert!(out.contains("All 2 detectors passed."));
    assert!(!out.contains("!!"));

    let out = detek_render::table(&nothing_collected(), false);
    assert!(out.contains(
        "!! NOTHING COLLECTED from cluster staging: this report says nothing about its health."
    ));
    assert!(!out.contains("passed."));
    // Detectors sharing one reason are grouped under it.
    assert!(out.contains("Not evaluated (2):\n  not run: collector kubernetes/live failed: dial tcp 10.0.0.1:6443: i/o timeout\n    failed_pod, image_tag_latest\n"));

    // Everything that ran passed, but the scan was partial: not "all passed".
    let mut list = healthy();
    list.status = ScanStatus::Partial;
    let out = detek_render::table(&list, false);
    assert!(out.contains("No problem found in what could be collected."));
    assert!(out.contains("!! INCOMPLETE SCAN"));

    let mut list = healthy();
    list.reports.clear();
    list.summary = Summary::of(&list.reports);
    assert!(detek_render::table(&list, false).contains("No detector ran."));
}

/// A scan with names and paths far longer than any terminal.
fn long_names() -> (ReportList, String, String) {
    let mut list = representative();
    let name = format!("frontend-{}", "x".repeat(240));
    let file = format!(
        "manifests/{}deployment.yaml",
        "very-long-directory-name/".repeat(8)
    );
    let mut object = ObjectRef::new("Deployment", Some("shop"), name.clone()).with_container("web");
    object.source = Some(SourceLocation {
        file: file.clone(),
        line: 12,
    });
    list.reports = vec![report(
        "image_tag_latest",
        "Containers using the latest tag",
        Level::Warn,
        vec![Finding::new(
            Level::Warn,
            Some(object),
            format!(
                "image nginx:latest uses the latest tag; {}",
                "and a long message ".repeat(12)
            ),
        )],
    )];
    list.summary = Summary::of(&list.reports);
    (list, name, file)
}

#[test]
fn long_names_and_paths_are_never_cut() {
    let (list, name, file) = long_names();
    // Whole lines (piped, --wide): the finding is one line, pinned.
    let out = detek_render::table(&list, false);
    let line = format!(
        "  Deployment/shop/{name} [web]  {file}:12  image nginx:latest uses the latest tag; {}",
        "and a long message ".repeat(12).trim_end()
    );
    assert!(out.lines().any(|l| l == line), "{out}");
    assert!(!out.contains('…'));

    // On an 80-column terminal, names too long to leave room for the message beside them:
    // the names stay whole on their line (the terminal wraps it), the message goes below,
    // wrapped to the width.
    let narrow = TableOptions {
        color: false,
        width: Some(80),
    };
    let out = detek_render::table_with(&list, &narrow);
    let names = format!("  Deployment/shop/{name} [web]  {file}:12");
    let rows: Vec<&str> = out
        .lines()
        .skip_while(|l| *l != names)
        .take_while(|l| !l.is_empty())
        .collect();
    assert!(rows.len() > 3, "{out}");
    assert!(
        rows[1].starts_with("      image nginx:latest uses the latest tag;"),
        "{out}"
    );
    for row in &rows[1..] {
        assert!(
            row.starts_with("      ") && row.chars().count() <= 80,
            "{row:?}"
        );
    }
}

#[test]
fn terminal_width_wraps_messages_only() {
    let (mut list, _, _) = long_names();
    let object = list.reports[0].findings[0].object.as_mut().unwrap();
    object.name = "frontend-7d9f8b6c5d-x2k4p".to_string();
    object.source = Some(SourceLocation {
        file: "deploy/shop/frontend.yaml".to_string(),
        line: 12,
    });
    let out = detek_render::table_with(
        &list,
        &TableOptions {
            color: false,
            width: Some(120),
        },
    );
    let rows: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("  Deployment/"))
        .take_while(|l| !l.is_empty())
        .collect();
    // The name and the source whole on the first line; the message wrapped beside them.
    assert!(rows[0].starts_with(
        "  Deployment/shop/frontend-7d9f8b6c5d-x2k4p [web]  deploy/shop/frontend.yaml:12  image nginx:latest"
    ), "{out}");
    assert!(rows.len() > 3, "{out}");
    for row in &rows {
        assert!(row.chars().count() <= 120, "{row:?}");
    }
    for row in &rows[1..] {
        assert!(row.starts_with(&" ".repeat(79)), "{row:?}");
    }
}

#[test]
fn narrow_terminals_wrap_titles_not_ids() {
    let out = detek_render::table_with(
        &representative(),
        &TableOptions {
            color: false,
            width: Some(72),
        },
    );
    // Ids whole; titles wrapped under their column.
    assert!(out.contains(
        "Fatal  webhook_fail_closed         2  Admission webhooks that fail\n                                      closed while their service is down\n"
    ), "{out}");
    for l in out
        .lines()
        .skip_while(|l| !l.starts_with("LEVEL"))
        .take_while(|l| !l.is_empty())
    {
        assert!(l.chars().count() <= 72, "{l:?}");
    }
    // Names too long to leave a message column beside them: the message below.
    assert!(out.contains(
        "\n  ValidatingWebhookConfiguration/policy-guard\n      failurePolicy Fail and service gatekeeper/webhook has no ready\n      endpoint\n"
    ), "{out}");
}

#[test]
fn table_snapshots() {
    assert_snapshot(
        "representative.txt",
        &detek_render::table(&representative(), false),
    );
    assert_snapshot(
        "representative.ansi.txt",
        &detek_render::table(&representative(), true),
    );
    assert_snapshot(
        "nothing_collected.txt",
        &detek_render::table(&nothing_collected(), false),
    );
    assert_snapshot("hostile.txt", &detek_render::table(&hostile(), false));
}

#[test]
fn render_dispatches_by_format() {
    use detek_render::{Format, render};
    let one = [representative()];
    let two = [representative(), healthy()];
    assert_eq!(
        render(Format::Json, &one, false),
        detek_render::json(&one[0])
    );
    assert_eq!(
        render(Format::Json, &two, false),
        detek_render::json_many(&two)
    );
    assert_eq!(render(Format::Html, &two, false), detek_render::html(&two));
    assert_eq!(
        render(Format::Table, &two, false),
        format!(
            "{}\n{}",
            detek_render::table(&two[0], false),
            detek_render::table(&two[1], false)
        )
    );
    assert_eq!(
        render(Format::Sarif, &two, false),
        detek_render::sarif(&two)
    );
    assert_eq!(
        render(Format::Junit, &two, false),
        detek_render::junit(&two)
    );
    assert_eq!("table".parse::<Format>().unwrap().extension(), "txt");
    assert_eq!(Format::Sarif.extension(), "sarif");
}

/// After `--baseline`, new findings are marked NEW and counted in the summary line.
#[test]
fn baseline_marks_new_findings() {
    use detek_core::BaselineState;
    let mut list = representative();
    for r in &mut list.reports {
        for f in &mut r.findings {
            f.baseline = Some(BaselineState::Known);
        }
    }
    list.reports[1].findings[0].baseline = Some(BaselineState::New);
    let text = detek_render::table(&list, false);
    let marked: Vec<&str> = text.lines().filter(|l| l.contains(" NEW ")).collect();
    assert_eq!(marked.len(), 1, "{text}");
    assert!(marked[0].contains("Pod/shop/cart-7d9f"), "{}", marked[0]);
    assert!(
        detek_render::summary_line(&list).contains("29 findings, 1 new"),
        "{}",
        detek_render::summary_line(&list)
    );
    // Without a baseline, no marker and no count.
    let plain = detek_render::table(&representative(), false);
    assert!(!plain.contains(" NEW "));
    assert!(!detek_render::summary_line(&representative()).contains(" new"));
    // HTML: a small marker on the new finding only.
    let html = detek_render::html(std::slice::from_ref(&list));
    assert_eq!(html.matches("<span class=\"label\">NEW</span>").count(), 1);
}
