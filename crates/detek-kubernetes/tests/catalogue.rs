//! Every detector in the catalogue: documented in four sections, with fixtures that fire and
//! fixtures that pass.
//!
//! Fixtures live in `tests/fixtures/<id>/`: files named `fail*` must produce exactly the
//! findings pinned in `tests/fixtures/<id>/expected/<file>.txt` (one line per finding, in
//! report order: `Level Kind/namespace/name: message`), files named `pass*` none. After a
//! deliberate change, `DETEK_BLESS=1 cargo test -p detek-kubernetes --test catalogue` rewrites
//! the expected files; review their diff before committing it. A `settings.json` beside them,
//! if present, holds settings (e.g. `kubernetes.target_version`) for every fixture of that
//! detector: the detector's own declared settings (`<id>.<key>`) or scan-wide ones, checked as
//! the config file is. A `now.txt` beside them (an RFC 3339 time) fixes the scan clock, as `--now` does,
//! for detectors whose messages count days from now (certificate expiry).

use detek_core::expected::check_expected;
use detek_core::{Catalogue, DetectorConfig, Level, Settings};
use detek_kubernetes::Input;
use detek_kubernetes::testing::{fixture_dir, run_on, run_on_at};
use std::collections::{BTreeMap, BTreeSet};

fn catalogue() -> Catalogue {
    let mut catalogue = Catalogue::new();
    detek_kubernetes::register(&mut catalogue).unwrap();
    catalogue
}

/// The scan clock of `tests/fixtures/<id>/now.txt`, if there is one.
fn fixed_now(id: &str) -> Option<std::time::SystemTime> {
    let path = fixture_dir(id).join("now.txt");
    let text = std::fs::read_to_string(&path).ok()?;
    let now: jiff::Timestamp = text
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Some(now.into())
}

fn settings_for(id: &str) -> Settings {
    let mut settings = Settings::new();
    let path = fixture_dir(id).join("settings.json");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let map: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let catalogue = catalogue();
        let mut own = DetectorConfig::default();
        for (k, v) in map {
            match k.strip_prefix(&format!("{id}.")) {
                Some(key) => {
                    own.settings.insert(key.to_string(), v.clone());
                }
                None => assert!(
                    catalogue.globals().iter().any(|g| g.name == k.as_str()),
                    "{}: {k} is neither a setting of {id} nor a scan-wide setting",
                    path.display()
                ),
            }
            settings.set(k, v);
        }
        catalogue
            .validate(&BTreeMap::from([(id.to_string(), own)]), &BTreeMap::new())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
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
            let inputs = vec![Input::Path(path.clone())];
            let report = match fixed_now(id) {
                Some(now) => run_on_at(id, inputs, settings_for(id), now),
                None => run_on(id, inputs, settings_for(id)),
            };
            if report.level == Level::Unknown {
                problems.push(format!("{id}/{name}: not evaluated: {:?}", report.error));
            } else if expect_findings {
                if let Some(problem) =
                    check_expected(&dir.join("expected").join(format!("{name}.txt")), &report)
                {
                    problems.push(format!("{id}/{name}: {problem}"));
                }
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
        for stale in std::fs::read_dir(dir.join("expected"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = stale.file_name().to_string_lossy().to_string();
            let fixture = name.strip_suffix(".txt").unwrap_or(&name);
            if !fixture.starts_with("fail") || !dir.join(fixture).exists() {
                problems.push(format!("{id}/expected/{name}: no fail fixture {fixture}"));
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

#[test]
fn every_declared_setting_is_documented_and_its_default_has_its_type() {
    let mut problems = Vec::new();
    for d in detek_kubernetes::detectors::all() {
        let meta = d.meta();
        for spec in &meta.settings {
            if spec.doc.trim().is_empty() || spec.doc.contains('\n') {
                problems.push(format!("{}.{}: needs a one-line doc", meta.id, spec.name));
            }
            if !spec.default.is_null()
                && let Err(e) = spec.check(&spec.default)
            {
                problems.push(format!("{}.{}: default: {e}", meta.id, spec.name));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn detectors_read_their_declared_settings() {
    let catalogue = catalogue();
    let declared = |id: &str| -> Vec<String> {
        catalogue
            .get(id)
            .unwrap()
            .meta()
            .settings
            .iter()
            .map(|s| s.name.to_string())
            .collect()
    };
    assert_eq!(
        declared("pod_restarting"),
        vec!["threshold", "window_hours"]
    );
    assert_eq!(declared("oomkilled_container"), vec!["window_hours"]);
    assert_eq!(
        declared("no_graceful_shutdown"),
        vec!["min_grace_seconds", "single_replica"]
    );
    assert_eq!(
        declared("cluster_possibly_unused"),
        vec![
            "idle_days",
            "min_age_days",
            "min_score",
            "system_namespaces"
        ]
    );
    // The entries the CLI parses from `files` are internal: not a config key.
    assert_eq!(declared("known_component_issue"), vec!["files"]);
    let config: BTreeMap<String, DetectorConfig> = serde_json::from_value(serde_json::json!({
        "known_component_issue": {"entries": []}
    }))
    .unwrap();
    assert_eq!(
        catalogue
            .validate(&config, &BTreeMap::new())
            .unwrap_err()
            .to_string(),
        "detectors.known_component_issue.entries: unknown setting; valid keys: level, enabled, files"
    );
    let with_settings = detek_kubernetes::detectors::all()
        .iter()
        .filter(|d| !d.meta().settings.is_empty())
        .count();
    assert_eq!(with_settings, 25);
}
