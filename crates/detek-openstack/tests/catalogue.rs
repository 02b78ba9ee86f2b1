//! Every OpenStack detector: documented in four sections, registered, with scenarios that fire
//! and scenarios that pass (`tests/fixtures/<id>/fail*.json` must produce exactly the findings
//! pinned in `tests/fixtures/<id>/expected/<file>.txt` — `DETEK_BLESS=1` rewrites them —,
//! `pass*.json` none; see `detek_openstack::testing` for the scenario format).
//! `openstack_unreachable_server` probes for real: its scenario needs loopback listeners, and
//! `tests/unreachable_server.rs` checks both verdicts.

use detek_core::expected::check_expected;
use detek_core::{Catalogue, ReportResult, Settings};
use detek_openstack::testing::{fixtures, report, scan_fixture, scan_fixture_with};
use std::time::{Duration, SystemTime};

/// The scan clock of the fail scenarios: their messages count hours since the samples'
/// timestamps, which must not change with the day the test runs.
fn fixed_now() -> SystemTime {
    // 2026-12-01T00:00:00Z
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_083_200)
}

/// Probed against listeners its own test starts.
const LIVE_ONLY: &[&str] = &["openstack_unreachable_server"];

#[test]
fn every_detector_is_documented_and_registered_once() {
    let mut catalogue = Catalogue::new();
    detek_openstack::register(&mut catalogue).unwrap();
    for d in detek_openstack::detectors::all() {
        let meta = d.meta();
        assert!(
            meta.docs.is_complete(),
            "{}: a docs section is missing",
            meta.id
        );
        assert!(
            !meta.title.is_empty() && !meta.requires.is_empty(),
            "{}",
            meta.id
        );
        assert!(
            meta.has_label("openstack"),
            "{} has no `openstack` label",
            meta.id
        );
    }
    assert_eq!(detek_openstack::detectors::all().len(), 9);
}

#[test]
fn every_detector_has_scenarios_that_fire_and_that_pass() {
    let mut problems = Vec::new();
    for d in detek_openstack::detectors::all() {
        let id = d.meta().id.to_string();
        let dir = fixtures().join(&id);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .filter(|n| n.ends_with(".json"))
            .collect();
        names.sort();
        let fail: Vec<&String> = names.iter().filter(|n| n.starts_with("fail")).collect();
        let pass: Vec<&String> = names.iter().filter(|n| n.starts_with("pass")).collect();
        assert!(!fail.is_empty(), "{id}: no fail*.json scenario");
        if LIVE_ONLY.contains(&id.as_str()) {
            continue;
        }
        assert!(!pass.is_empty(), "{id}: no pass*.json scenario");
        for name in fail {
            let list = scan_fixture_with(
                &format!("{id}/{name}"),
                &[&id],
                Settings::default(),
                fixed_now(),
            );
            let r = report(&list, &id);
            let expected = dir.join("expected").join(format!("{name}.txt"));
            if let Some(problem) = check_expected(&expected, r) {
                problems.push(format!("{id}/{name}: {problem}"));
            }
        }
        for name in pass {
            let list = scan_fixture(&format!("{id}/{name}"), &[&id]);
            let r = report(&list, &id);
            assert_eq!(
                r.result,
                ReportResult::Passed,
                "{id}/{name}: {:?}",
                r.findings
            );
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
