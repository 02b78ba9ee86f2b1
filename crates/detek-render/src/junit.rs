//! JUnit XML, for CI systems that show test reports (GitLab, Jenkins, Azure DevOps, …).
//!
//! One `<testsuite>` per scanned target; in it, one test case per detector × object:
//!
//! | what | test case | status |
//! | --- | --- | --- |
//! | a finding | `Kind/namespace/name [container]` (`(discriminator)` appended when the detector tells several findings on one object apart), classname the detector id | failure (type = the finding's level) |
//! | a suppressed finding | the same name | skipped, with the reason |
//! | a detector without (unsuppressed) findings | the detector id | passed |
//! | a detector with nothing to check, or that could not judge (a setting it needs is not set) | the detector id | skipped, with the note |
//! | a detector that could not be evaluated | the detector id | error, with the reason |
//! | a detector not applicable to the target | the detector id | skipped, with the reason |
//! | an input that could not be read (the scan is partial) | `input file:line`, classname `inputs_not_read` | error |
//!
//! A failure's text holds the message, the evidence, the source `file:line`, the fingerprint
//! and, after `--baseline`, whether the finding is new or known; the test case has the same as
//! properties, and a `file` attribute (shown by GitLab) for manifest input.

use detek_core::{Finding, Level, Report, ReportList, ReportResult};
use quick_junit::{NonSuccessKind, Property, Report as JUnit, TestCase, TestCaseStatus, TestSuite};
use std::time::Duration;

/// Every scan as one JUnit XML document (`<testsuites name="detek">`).
pub fn junit(lists: &[ReportList]) -> String {
    let mut doc = JUnit::new("detek");
    for list in lists {
        doc.add_test_suite(suite(list));
    }
    if let Some(first) = lists.first() {
        doc.set_timestamp(chrono_time(&first.started_at));
    }
    let total_ms: f64 = lists.iter().map(|l| l.duration_ms).sum();
    doc.set_time(duration(total_ms));
    match doc.to_string() {
        Ok(mut s) => {
            if !s.ends_with('\n') {
                s.push('\n');
            }
            s
        }
        // Writing to a String cannot fail; if it ever did, still write well-formed XML.
        Err(e) => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"detek\" tests=\"1\" failures=\"0\" errors=\"1\"><testsuite name=\"detek\" tests=\"1\" failures=\"0\" errors=\"1\"><testcase name=\"render\"><error message=\"cannot write the JUnit report: {}\"/></testcase></testsuite></testsuites>\n",
            crate::escape_html(&e.to_string())
        ),
    }
}

fn duration(ms: f64) -> Duration {
    if ms.is_finite() && ms > 0.0 {
        Duration::from_secs_f64(ms / 1000.0)
    } else {
        Duration::ZERO
    }
}

fn chrono_time(ts: &jiff::Timestamp) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::from_timestamp(ts.as_second(), ts.subsec_nanosecond().max(0) as u32)
        .unwrap_or_default()
        .fixed_offset()
}

fn suite(list: &ReportList) -> TestSuite {
    let mut suite = TestSuite::new(crate::text::target_label(list));
    suite.set_timestamp(chrono_time(&list.started_at));
    suite.set_time(duration(list.duration_ms));
    suite.add_property(Property::new("detek.version", list.version.as_str()));
    suite.add_property(Property::new("target.kind", list.target.kind.as_str()));
    suite.add_property(Property::new("target.name", list.target.name.as_str()));
    if !list.target.identity.is_empty() {
        suite.add_property(Property::new(
            "target.identity",
            list.target.identity.as_str(),
        ));
    }
    suite.add_property(Property::new("status", status(list)));
    // An input that could not be read makes the scan partial: an error, before the detectors.
    for input in &list.inputs_not_read {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status
            .set_message(format!("input not read: {}", input.message))
            .set_type("input not read")
            .set_description(input.to_string());
        let name = match &input.source {
            Some(src) => format!("input {src}"),
            None => "input".to_string(),
        };
        let mut case = TestCase::new(name, status);
        case.set_classname("inputs_not_read");
        if let Some(src) = &input.source {
            case.extra.insert("file".into(), src.file.as_str().into());
            case.extra
                .insert("line".into(), src.line.to_string().into());
        }
        suite.add_test_case(case);
    }
    for report in &list.reports {
        suite.add_test_cases(cases(report));
    }
    for (id, reason) in &list.skipped {
        let mut status = TestCaseStatus::skipped();
        status.set_message(format!("not applicable to this target: {reason}"));
        let mut case = TestCase::new(id.as_str(), status);
        case.set_classname(id.as_str());
        suite.add_test_case(case);
    }
    suite
}

fn status(list: &ReportList) -> &'static str {
    match list.status {
        detek_core::ScanStatus::Complete => "complete",
        detek_core::ScanStatus::Partial => "partial",
        detek_core::ScanStatus::NothingCollected => "nothing_collected",
    }
}

fn cases(report: &Report) -> Vec<TestCase> {
    let mut cases = Vec::new();
    let time = duration(report.duration_ms);
    if report.level == Level::Unknown || report.result == ReportResult::Unknown {
        let reason = report.error.as_deref().unwrap_or("not evaluated");
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status
            .set_message(format!("not evaluated: {reason}"))
            .set_type("Unknown")
            .set_description(format!(
                "{} ({}) could not be evaluated: {reason}",
                report.id, report.description
            ));
        let mut case = TestCase::new(report.id.as_str(), status);
        case.set_classname(report.id.as_str()).set_time(time);
        cases.push(case);
    }
    for finding in &report.findings {
        cases.push(finding_case(report, finding));
    }
    if report.level != Level::Unknown
        && report.result != ReportResult::Unknown
        && report.active_findings().next().is_none()
    {
        // Passed only when it judged something: "nothing to check" and "not judged" are
        // skipped, with the reason, so they never count as passed tests.
        let status = match report.result {
            ReportResult::NothingToCheck | ReportResult::NotJudged => {
                let mut s = TestCaseStatus::skipped();
                let what = report.result.as_str();
                s.set_message(match &report.note {
                    Some(note) => format!("{what}: {note}"),
                    None => what.to_string(),
                })
                .set_type(what);
                s
            }
            _ => TestCaseStatus::success(),
        };
        let mut case = TestCase::new(report.id.as_str(), status);
        case.set_classname(report.id.as_str()).set_time(time);
        if let Some(n) = report.evaluated {
            case.add_property(Property::new("evaluated", n.to_string()));
        }
        cases.push(case);
    }
    cases
}

/// `Kind/namespace/name [container]`, `(discriminator)` appended when there is one; the
/// detector id for findings about no object.
fn case_name(report: &Report, finding: &Finding) -> String {
    let mut name = match &finding.object {
        Some(obj) => obj.display_name(),
        None => report.id.clone(),
    };
    if let Some(d) = &finding.discriminator {
        name.push_str(&format!(" ({d})"));
    }
    name
}

fn finding_case(report: &Report, finding: &Finding) -> TestCase {
    let source = finding.object.as_ref().and_then(|o| o.source.as_ref());
    let mut text = finding.message.clone();
    for e in &finding.evidence {
        text.push_str("\n- ");
        text.push_str(e);
    }
    if let Some(sources) = finding.object.as_ref().and_then(|o| o.locations_text()) {
        // The same object in several files: every one.
        text.push_str(&format!("\nsource: {sources}"));
    }
    if !finding.fingerprint.is_empty() {
        text.push_str(&format!("\nfingerprint: {}", finding.fingerprint));
    }
    if let Some(state) = finding.baseline {
        text.push_str(match state {
            detek_core::BaselineState::New => "\nbaseline: new (not in the baseline report)",
            detek_core::BaselineState::Known => {
                "\nbaseline: known (in the baseline report; does not fail the scan)"
            }
        });
    }
    let status = match &finding.suppressed {
        Some(reason) => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(format!("suppressed: {reason}"))
                .set_type("suppressed")
                .set_description(text);
            s
        }
        None => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(finding.message.as_str())
                .set_type(finding.level.as_str())
                .set_description(text);
            s
        }
    };
    let mut case = TestCase::new(case_name(report, finding), status);
    case.set_classname(report.id.as_str());
    case.add_property(Property::new("level", finding.level.as_str()));
    if !finding.fingerprint.is_empty() {
        case.add_property(Property::new("fingerprint", finding.fingerprint.as_str()));
    }
    if let Some(state) = finding.baseline {
        case.add_property(Property::new("baseline", state.as_str()));
    }
    if let Some(src) = source {
        case.extra.insert("file".into(), src.file.as_str().into());
        case.extra
            .insert("line".into(), src.line.to_string().into());
    }
    case
}
