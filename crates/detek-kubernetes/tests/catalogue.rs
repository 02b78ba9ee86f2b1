//! Every detector in the catalogue: documented in four sections, with fixtures that fire and
//! fixtures that pass.
//!
//! Fixtures live in `tests/fixtures/<id>/`: files named `fail*` must produce at least one
//! finding, files named `pass*` none. A `settings.json` beside them, if present, holds
//! settings (e.g. `kubernetes.target_version`) for every fixture of that detector.

use detek_core::{Level, Settings};
use detek_kubernetes::Input;
use detek_kubernetes::testing::{fixture_dir, run_on};
use std::collections::BTreeSet;

fn settings_for(id: &str) -> Settings {
    let mut settings = Settings::new();
    let path = fixture_dir(id).join("settings.json");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let map: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for (k, v) in map {
            settings.set(k, v);
        }
    }
    settings
}

#[test]
fn ids_are_unique_and_snake_case() {
    let mut seen = BTreeSet::new();
    for d in detek_kubernetes::detectors::all() {
        let id = d.meta().id.to_string();
        assert!(seen.insert(id.clone()), "duplicate detector id {id}");
        assert!(
            id.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{id} is not snake_case"
        );
    }
}

#[test]
fn every_detector_has_complete_docs() {
    let mut incomplete = Vec::new();
    for d in detek_kubernetes::detectors::all() {
        let meta = d.meta();
        if !meta.docs.is_complete() {
            incomplete.push(meta.id.clone());
        }
        assert!(!meta.title.is_empty(), "{} has no title", meta.id);
        assert!(!meta.requires.is_empty(), "{} requires nothing", meta.id);
    }
    assert!(
        incomplete.is_empty(),
        "docs missing a section (what/why/fix/example): {incomplete:?}"
    );
}

#[test]
fn every_detector_fires_on_its_failing_fixtures_and_passes_the_others() {
    let mut problems = Vec::new();
    for d in detek_kubernetes::detectors::all() {
        let id = d.meta().id.as_ref();
        let dir = fixture_dir(id);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            problems.push(format!("{id}: no fixture directory {}", dir.display()));
            continue;
        };
        let mut files: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        let (mut fails, mut passes) = (0, 0);
        for path in files {
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let expect_findings = if name.starts_with("fail") {
                fails += 1;
                true
            } else if name.starts_with("pass") {
                passes += 1;
                false
            } else {
                continue;
            };
            let report = run_on(id, vec![Input::Path(path.clone())], settings_for(id));
            if report.level == Level::Unknown {
                problems.push(format!("{id}/{name}: not evaluated: {:?}", report.error));
            } else if expect_findings && report.findings.is_empty() {
                problems.push(format!("{id}/{name}: expected findings, got none"));
            } else if !expect_findings && !report.findings.is_empty() {
                problems.push(format!(
                    "{id}/{name}: expected no findings, got {:?}",
                    report
                        .findings
                        .iter()
                        .map(|f| &f.message)
                        .collect::<Vec<_>>()
                ));
            }
        }
        if fails == 0 || passes == 0 {
            problems.push(format!(
                "{id}: needs at least one fail* and one pass* fixture"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
