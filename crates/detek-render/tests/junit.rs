//! JUnit XML: one test suite per target, one test case per detector × object; counts pinned,
//! the XML read back.

mod common;

use common::*;
use detek_core::BaselineState;
use quick_junit::{NonSuccessKind, Report, TestCaseStatus};

fn read_back(xml: &str) -> Report {
    Report::deserialize_from_str(xml).unwrap_or_else(|e| panic!("not JUnit XML ({e}):\n{xml}"))
}

#[test]
fn one_test_case_per_detector_and_object() {
    let xml = detek_render::junit(&[representative()]);
    assert!(xml.starts_with("<?xml"));
    let doc = read_back(&xml);
    assert_eq!(doc.test_suites.len(), 1);
    let suite = &doc.test_suites[0];
    assert_eq!(suite.name.as_str(), "snapshot manifests/");
    // 2 webhook_fail_closed + 2 failed_pod (one suppressed) + 25 image_tag_latest +
    // 1 node_not_ready findings, secret_unused not evaluated, service_no_endpoints passed,
    // node_kubelet_version_skew skipped.
    assert_eq!(suite.tests, 33);
    assert_eq!(suite.failures, 29);
    assert_eq!(suite.errors, 1);
    assert_eq!(suite.skipped, 2);
    assert_eq!(
        (doc.tests, doc.failures, doc.errors, doc.skipped),
        (33, 29, 1, 2)
    );

    let case = |classname: &str, name: &str| {
        suite
            .test_cases
            .iter()
            .find(|c| c.classname.as_deref() == Some(classname) && c.name.as_str() == name)
            .unwrap_or_else(|| panic!("no test case {classname} / {name}"))
    };
    match &case("failed_pod", "Pod/shop/cart-7d9f").status {
        TestCaseStatus::NonSuccess {
            kind: NonSuccessKind::Failure,
            message,
            ty,
            description,
            ..
        } => {
            assert_eq!(message.as_deref(), Some("Pod failed: OOMKilled (exit 137)"));
            assert_eq!(ty.as_deref(), Some("Error"));
            let d = description.as_deref().unwrap();
            assert!(
                d.contains("- container app: exit code 137, reason OOMKilled"),
                "{d}"
            );
            assert!(d.contains("source: manifests/shop.yaml:42"), "{d}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        case("failed_pod", "Pod/shop/cart-7d9f")
            .extra
            .get("file")
            .map(|v| v.as_str()),
        Some("manifests/shop.yaml")
    );
    match &case("failed_pod", "Pod/kube-system/debug").status {
        TestCaseStatus::Skipped { message, .. } => assert_eq!(
            message.as_deref(),
            Some("suppressed: annotation detek.io/ignore on namespace kube-system")
        ),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        case("image_tag_latest", "Pod/batch/job-00 [main]").status,
        TestCaseStatus::NonSuccess {
            kind: NonSuccessKind::Failure,
            ..
        }
    ));
    match &case("secret_unused", "secret_unused").status {
        TestCaseStatus::NonSuccess {
            kind: NonSuccessKind::Error,
            message,
            ..
        } => assert!(message.as_deref().unwrap().contains("secrets is forbidden")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        case("service_no_endpoints", "service_no_endpoints").status,
        TestCaseStatus::Success { .. }
    ));
    assert!(matches!(
        case("node_not_ready", "node_not_ready").status,
        TestCaseStatus::NonSuccess { .. }
    ));
    match &case("node_kubelet_version_skew", "node_kubelet_version_skew").status {
        TestCaseStatus::Skipped { message, .. } => {
            assert!(message.as_deref().unwrap().contains("needs a live cluster"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn one_suite_per_target() {
    let doc = read_back(&detek_render::junit(&[
        representative(),
        healthy(),
        nothing_collected(),
    ]));
    let counts: Vec<(usize, usize, usize, usize)> = doc
        .test_suites
        .iter()
        .map(|s| (s.tests, s.failures, s.errors, s.skipped))
        .collect();
    assert_eq!(counts, [(33, 29, 1, 2), (2, 0, 0, 0), (2, 0, 2, 0)]);
    assert_eq!(doc.test_suites[1].name.as_str(), "cluster prod-eu");
}

#[test]
fn baseline_and_fingerprint_are_noted() {
    let mut list = representative();
    let f = &mut list.reports[1].findings[0];
    f.fingerprint = "0123456789abcdef0123456789abcdef".to_string();
    f.baseline = Some(BaselineState::Known);
    let doc = read_back(&detek_render::junit(&[list]));
    let case = doc.test_suites[0]
        .test_cases
        .iter()
        .find(|c| c.name.as_str() == "Pod/shop/cart-7d9f")
        .unwrap();
    let prop = |name: &str| {
        case.properties
            .iter()
            .find(|p| p.name.as_str() == name)
            .map(|p| p.value.as_str().to_string())
    };
    assert_eq!(prop("baseline").as_deref(), Some("known"));
    assert_eq!(
        prop("fingerprint").as_deref(),
        Some("0123456789abcdef0123456789abcdef")
    );
    let TestCaseStatus::NonSuccess { description, .. } = &case.status else {
        panic!("{:?}", case.status)
    };
    assert!(
        description
            .as_deref()
            .unwrap()
            .contains("baseline: known (in the baseline report; does not fail the scan)")
    );
}

#[test]
fn hostile_strings_stay_well_formed_xml() {
    let xml = detek_render::junit(&[hostile()]);
    let doc = read_back(&xml);
    assert_eq!(doc.test_suites[0].tests, 33);
    assert!(!xml.contains("<script>"), "markup is escaped");
    assert!(!xml.contains('\u{1b}'), "no terminal escapes");
}

/// Only a detector that judged something passes: "nothing to check" and "not judged" are
/// skipped with their note.
#[test]
fn not_judged_and_nothing_to_check_are_skipped_not_passed() {
    use detek_core::ReportResult;
    let mut list = healthy();
    list.reports[0].result = ReportResult::NotJudged;
    list.reports[0].note = Some("no allowed registries configured".to_string());
    list.reports[1].result = ReportResult::NothingToCheck;
    list.reports[1].note = Some("no Pod in the scan".to_string());
    let doc = read_back(&detek_render::junit(&[list]));
    let suite = &doc.test_suites[0];
    assert_eq!(
        (suite.tests, suite.failures, suite.errors, suite.skipped),
        (2, 0, 0, 2)
    );
    let messages: Vec<String> = suite
        .test_cases
        .iter()
        .map(|c| match &c.status {
            TestCaseStatus::Skipped { message, .. } => message.as_deref().unwrap().to_string(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        messages,
        [
            "not judged: no allowed registries configured",
            "nothing to check: no Pod in the scan"
        ]
    );
}

/// An input that could not be read is an error test case naming the file and line.
#[test]
fn inputs_not_read_are_errors() {
    use detek_core::{Diagnostic, Level, SourceLocation};
    let mut list = healthy();
    list.inputs_not_read = vec![Diagnostic::new(
        Level::Error,
        Some(SourceLocation {
            file: "k8s/chart/templates/deploy.yaml".to_string(),
            line: 3,
        }),
        "did not find expected key",
    )];
    let doc = read_back(&detek_render::junit(&[list]));
    let suite = &doc.test_suites[0];
    assert_eq!((suite.tests, suite.errors), (3, 1));
    let case = &suite.test_cases[0];
    assert_eq!(
        case.name.as_str(),
        "input k8s/chart/templates/deploy.yaml:3"
    );
    assert_eq!(case.classname.as_deref(), Some("inputs_not_read"));
    assert!(matches!(
        &case.status,
        TestCaseStatus::NonSuccess { kind: NonSuccessKind::Error, message, .. }
            if message.as_deref() == Some("input not read: did not find expected key")
    ));
}
