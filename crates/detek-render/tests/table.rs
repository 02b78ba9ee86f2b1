//! The terminal table and the summary line.

mod common;

use common::*;
use detek_core::{Finding, Level, ScanStatus, Summary};

/// The SGR sequences the table may write (and nothing else).
const OUR_SGR: &[&str] = &[
    "\x1b[0m",
    "\x1b[1m",
    "\x1b[2m",
    "\x1b[1;31m",
    "\x1b[31m",
    "\x1b[33m",
    "\x1b[1;33m",
    "\x1b[35m",
    "\x1b[32m",
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
            "secret_unused"
        ]
    );
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
    assert!(out.contains("Error    manifests/broken.yaml:7  mapping values are not allowed"));
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

#[test]
fn long_strings_are_truncated() {
    let mut list = representative();
    let long = "x".repeat(500);
    list.reports = vec![report(
        &long,
        &long,
        Level::Warn,
        vec![Finding::new(
            Level::Warn,
            Some(pod(&long, &long)),
            long.clone(),
        )],
    )];
    list.reports.push(unknown(&long, &long, &long));
    list.target.name = long.clone();
    list.version = long.clone();
    for c in &mut list.collectors {
        c.id = long.clone();
        c.error = c.error.as_ref().map(|_| long.clone());
        c.failed_keys = c
            .failed_keys
            .values()
            .map(|_| (long.clone(), long.clone()))
            .collect();
        for d in &mut c.diagnostics {
            d.message = long.clone();
            d.source = Some(detek_core::SourceLocation {
                file: long.clone(),
                line: 1,
            });
        }
    }
    list.skipped = [(long.clone(), long.clone())].into_iter().collect();
    list.summary = Summary::of(&list.reports);
    let out = detek_render::table(&list, false);
    for line in out.lines() {
        assert!(
            line.chars().count() < 400,
            "line too long ({}): {line}",
            line.chars().count()
        );
    }
    assert!(out.contains("xxx…"));
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
    assert_eq!(html.matches(">NEW</strong>").count(), 1);
}
