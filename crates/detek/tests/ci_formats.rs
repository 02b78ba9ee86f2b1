//! CI formats through the binary (issue 10): `-f sarif`, `-f junit` and `--baseline` on the
//! hand-written manifests in `tests/data/ci` (a shop: one privileged container, one suppressed
//! by annotation, and the usual warnings).

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

fn detek() -> Command {
    Command::cargo_bin("detek").unwrap()
}

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            stderr(out)
        )
    })
}

/// The fingerprint of privileged_container on Deployment/shop/frontend [web]: manifests are
/// identified as `manifests`, so it is the same in every checkout.
const FRONTEND_PRIVILEGED: &str = "e0bb4597bd21a7c970c2cc7c2f3c055b";

fn sarif_schema_errors(value: &Value) -> Vec<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../detek-render/tests/data/sarif-schema-2.1.0.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    validator
        .iter_errors(value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

fn sarif_scan(input: &str) -> Value {
    let out = detek()
        .current_dir(data_dir())
        .args(["run", "--input", input, "-f", "sarif"])
        .output()
        .unwrap();
    // One unsuppressed Error finding: exit 1 (default --fail-on error).
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    json(&out)
}

#[test]
fn sarif_pins_a_manifest_finding() {
    let log = sarif_scan("ci");
    let errors = sarif_schema_errors(&log);
    assert!(errors.is_empty(), "{errors:#?}");
    let runs = log["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run["tool"]["driver"]["name"], "detek");
    assert_eq!(run["tool"]["driver"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);

    let results = run["results"].as_array().unwrap();
    let frontend = results
        .iter()
        .find(|r| {
            r["ruleId"] == "privileged_container"
                && r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
                    == "Deployment/shop/frontend"
        })
        .expect("the privileged frontend");
    assert_eq!(frontend["level"], "error");
    let physical = &frontend["locations"][0]["physicalLocation"];
    assert_eq!(physical["artifactLocation"]["uri"], "ci/shop.yaml");
    // The Deployment is the second document of shop.yaml: it starts on line 10.
    assert_eq!(physical["region"]["startLine"], 10);
    assert_eq!(
        frontend["partialFingerprints"]["detekFingerprint/v1"],
        FRONTEND_PRIVILEGED
    );
    assert!(frontend.get("suppressions").is_none());
    // The rule, from the catalogue.
    let index = frontend["ruleIndex"].as_u64().unwrap() as usize;
    let rule = &run["tool"]["driver"]["rules"][index];
    assert_eq!(rule["id"], "privileged_container");
    assert_eq!(rule["shortDescription"]["text"], "Privileged containers");
    assert_eq!(rule["defaultConfiguration"]["level"], "error");
    assert!(
        rule["helpUri"].as_str().unwrap().starts_with("https://"),
        "{rule}"
    );

    // The suppressed one is a result too, suppressed in source (the annotation).
    let debug = results
        .iter()
        .find(|r| {
            r["ruleId"] == "privileged_container"
                && r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
                    == "Deployment/shop/debug-tools"
        })
        .expect("the suppressed debug-tools");
    assert_eq!(debug["suppressions"][0]["kind"], "inSource");
    assert_eq!(
        debug["suppressions"][0]["justification"],
        "annotation detek.io/ignore on Deployment debug-tools"
    );
    assert_eq!(
        debug["locations"][0]["physicalLocation"]["region"]["startLine"],
        48
    );

    // An absolute --input under the current directory gives the same relative URI.
    let absolute = data_dir().join("ci").display().to_string();
    let log = sarif_scan(&absolute);
    let uri = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["partialFingerprints"]["detekFingerprint/v1"] == FRONTEND_PRIVILEGED)
        .unwrap()["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        .clone();
    assert_eq!(uri, "ci/shop.yaml");
}

#[test]
fn sarif_reports_what_was_not_evaluated() {
    // A detector named by id that this target cannot feed is Unknown: a notification, not a
    // result.
    let out = detek()
        .current_dir(data_dir())
        .args(["run", "--input", "ci", "-f", "sarif"])
        .args(["--select", "privileged_container,apiserver_unhealthy"])
        .output()
        .unwrap();
    let log = json(&out);
    assert!(sarif_schema_errors(&log).is_empty());
    let invocation = &log["runs"][0]["invocations"][0];
    let notes = invocation["toolExecutionNotifications"].as_array().unwrap();
    let note = notes
        .iter()
        .find(|n| n["associatedRule"]["id"] == "apiserver_unhealthy")
        .unwrap_or_else(|| panic!("{invocation}"));
    assert_eq!(note["level"], "error");
    assert!(
        note["message"]["text"]
            .as_str()
            .unwrap()
            .starts_with("apiserver_unhealthy was not evaluated: "),
        "{note}"
    );
    assert!(
        log["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["ruleId"] != "apiserver_unhealthy")
    );
}

/// An input that could not be read: the SARIF invocation is not successful and names the file
/// and line; JUnit has an error test case for it.
#[test]
fn unreadable_inputs_show_in_sarif_and_junit() {
    let scan = |format: &str| {
        detek()
            .current_dir(data_dir())
            .args(["run", "--input", "broken", "--input", "ci", "-f", format])
            .args(["--select", "privileged_container"])
            .output()
            .unwrap()
    };
    let out = scan("sarif");
    assert_eq!(out.status.code(), Some(2), "partial: {}", stderr(&out));
    let log = json(&out);
    assert!(sarif_schema_errors(&log).is_empty());
    let invocation = &log["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    let note = &invocation["toolExecutionNotifications"][0];
    assert_eq!(note["level"], "error");
    let physical = &note["locations"][0]["physicalLocation"];
    assert_eq!(
        physical["artifactLocation"]["uri"],
        "broken/etcd-controller-template.yaml"
    );
    assert_eq!(physical["region"]["startLine"], 6);
    // The findings of what could be read are still there.
    assert!(
        log["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["partialFingerprints"]["detekFingerprint/v1"] == FRONTEND_PRIVILEGED)
    );

    let out = scan("junit");
    assert_eq!(out.status.code(), Some(2));
    let doc =
        quick_junit::Report::deserialize_from_str(&String::from_utf8(out.stdout).unwrap()).unwrap();
    let suite = &doc.test_suites[0];
    assert_eq!(
        (suite.tests, suite.failures, suite.errors, suite.skipped),
        (3, 1, 1, 1)
    );
    assert_eq!(
        suite.test_cases[0].name.as_str(),
        "input broken/etcd-controller-template.yaml:6"
    );
}

fn junit_scan(select: &str) -> (Output, quick_junit::Report) {
    let out = detek()
        .current_dir(data_dir())
        .args(["run", "--input", "ci", "-f", "junit", "--select", select])
        .output()
        .unwrap();
    let xml = String::from_utf8(out.stdout.clone()).unwrap();
    let report = quick_junit::Report::deserialize_from_str(&xml)
        .unwrap_or_else(|e| panic!("not JUnit XML ({e}): {xml}\n{}", stderr(&out)));
    (out, report)
}

#[test]
fn junit_counts_are_pinned() {
    // privileged_container: frontend fails, debug-tools is suppressed (skipped);
    // pod_without_limits: three containers fail; sensitive_env_value: passes;
    // apiserver_unhealthy (named, but needs a live cluster): error.
    let (out, doc) = junit_scan(
        "privileged_container,pod_without_limits,sensitive_env_value,apiserver_unhealthy",
    );
    assert_eq!(doc.test_suites.len(), 1);
    let suite = &doc.test_suites[0];
    assert_eq!(suite.name.as_str(), "snapshot ci");
    assert_eq!(
        (suite.tests, suite.failures, suite.errors, suite.skipped),
        (7, 4, 1, 1),
        "{}",
        stderr(&out)
    );
    let names: Vec<(String, String)> = suite
        .test_cases
        .iter()
        .map(|c| {
            (
                c.classname.as_deref().unwrap_or("").to_string(),
                c.name.to_string(),
            )
        })
        .collect();
    for (class, name) in [
        ("privileged_container", "Deployment/shop/frontend [web]"),
        (
            "privileged_container",
            "Deployment/shop/debug-tools [shell]",
        ),
        ("pod_without_limits", "Deployment/shop/worker [worker]"),
        ("sensitive_env_value", "sensitive_env_value"),
        ("apiserver_unhealthy", "apiserver_unhealthy"),
    ] {
        assert!(
            names.contains(&(class.to_string(), name.to_string())),
            "{class} / {name} not in {names:?}"
        );
    }
    let frontend = suite
        .test_cases
        .iter()
        .find(|c| c.name.as_str() == "Deployment/shop/frontend [web]")
        .unwrap();
    assert_eq!(
        frontend.extra.get("file").map(|f| f.as_str()),
        Some("ci/shop.yaml")
    );

    // Detectors the target cannot feed, selected by label: skipped (apiserver_unhealthy, and
    // the OpenStack control plane's openstack_compute_service_down and
    // openstack_network_agent_down).
    let (_, doc) = junit_scan("privileged_container,control-plane");
    let suite = &doc.test_suites[0];
    assert_eq!(
        (suite.tests, suite.failures, suite.errors, suite.skipped),
        (5, 1, 0, 4)
    );
    let skipped = suite
        .test_cases
        .iter()
        .find(|c| c.name.as_str() == "apiserver_unhealthy")
        .unwrap();
    match &skipped.status {
        quick_junit::TestCaseStatus::Skipped { message, .. } => assert!(
            message
                .as_deref()
                .unwrap()
                .starts_with("not applicable to this target: "),
            "{message:?}"
        ),
        other => panic!("{other:?}"),
    }
}

/// A copy of `tests/data/ci` to change.
fn checkout() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("k8s")).unwrap();
    for file in ["shop.yaml", "worker.yaml"] {
        std::fs::copy(
            data_dir().join("ci").join(file),
            dir.path().join("k8s").join(file),
        )
        .unwrap();
    }
    dir
}

fn run_in(dir: &Path, args: &[&str]) -> Output {
    detek()
        .current_dir(dir)
        .args(["run", "--input", "k8s"])
        .args(args)
        .output()
        .unwrap()
}

/// (detector id, object name, baseline mark) of every finding.
fn marks(report: &Value) -> Vec<(String, String, String)> {
    let mut marks = Vec::new();
    for r in report["reports"].as_array().unwrap() {
        for f in r["findings"].as_array().unwrap() {
            marks.push((
                r["id"].as_str().unwrap().to_string(),
                f["object"]["name"].as_str().unwrap_or("").to_string(),
                f["baseline"].as_str().unwrap_or("(none)").to_string(),
            ));
        }
    }
    marks
}

#[test]
fn baseline_fails_only_on_new_findings() {
    let dir = checkout();
    let out = run_in(
        dir.path(),
        &["-f", "json", "-o", "base.json", "--fail-on", "never"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // Unchanged: findings at Error exist (exit 1 without a baseline), all known: exit 0.
    let out = run_in(dir.path(), &["-f", "json", "--fail-on", "error"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let out = run_in(
        dir.path(),
        &[
            "-f",
            "json",
            "--fail-on",
            "error",
            "--baseline",
            "base.json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json(&out);
    let marks_before = marks(&report);
    assert_eq!(marks_before.len(), 27);
    assert!(
        marks_before.iter().all(|(_, _, m)| m == "known"),
        "{marks_before:?}"
    );
    assert!(
        stderr(&out).contains("0 new, 26 known finding(s)"),
        "{}",
        stderr(&out)
    );

    // One new problem: a literal API token in the worker's environment.
    let worker = dir.path().join("k8s/worker.yaml");
    let mut text = std::fs::read_to_string(&worker).unwrap();
    text.push_str(
        "            - name: PAYMENT_API_TOKEN\n              value: \"tok_4eC39HqLyjWDarjtT1zdp7dc\"\n",
    );
    std::fs::write(&worker, text).unwrap();

    let out = run_in(
        dir.path(),
        &[
            "-f",
            "json",
            "--fail-on",
            "error",
            "--baseline",
            "base.json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let marks_after = marks(&json(&out));
    let new: Vec<_> = marks_after.iter().filter(|(_, _, m)| m == "new").collect();
    assert_eq!(
        new,
        [&(
            "sensitive_env_value".to_string(),
            "worker".to_string(),
            "new".to_string()
        )]
    );
    assert_eq!(
        marks_after.iter().filter(|(_, _, m)| m == "known").count(),
        27
    );
    assert_eq!(marks_after.len(), 28);

    // --fail-on fatal: the new finding is an Error, below it.
    let out = run_in(
        dir.path(),
        &[
            "-f",
            "json",
            "--fail-on",
            "fatal",
            "--baseline",
            "base.json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // Every format marks it.
    let out = run_in(dir.path(), &["-f", "table", "--baseline", "base.json"]);
    let table = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = table.lines().filter(|l| l.contains(" NEW ")).collect();
    assert_eq!(lines.len(), 1, "{table}");
    assert!(lines[0].contains("Deployment/shop/worker"), "{table}");
    assert!(table.contains("findings, 1 new"), "{table}");

    let out = run_in(dir.path(), &["-f", "sarif", "--baseline", "base.json"]);
    let log = json(&out);
    let states: Vec<(&str, &str)> = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["ruleId"].as_str().unwrap(),
                r["baselineState"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        states
            .iter()
            .filter(|(_, s)| *s == "new")
            .collect::<Vec<_>>(),
        [&("sensitive_env_value", "new")]
    );
    assert_eq!(states.iter().filter(|(_, s)| *s == "unchanged").count(), 27);

    let out = run_in(
        dir.path(),
        &["-f", "html", "-o", "r.html", "--baseline", "base.json"],
    );
    assert_eq!(out.status.code(), Some(1));
    let html = std::fs::read_to_string(dir.path().join("r.html")).unwrap();
    assert_eq!(html.matches("<span class=\"label\">NEW</span>").count(), 1);

    let out = run_in(dir.path(), &["-f", "junit", "--baseline", "base.json"]);
    let xml = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        xml.matches("<property name=\"baseline\" value=\"new\"/>")
            .count(),
        1
    );
}

#[test]
fn baseline_reads_the_multi_cluster_document() {
    let dir = checkout();
    let out = run_in(dir.path(), &["-f", "json", "--fail-on", "never"]);
    let list = json(&out);
    let many = serde_json::json!({
        "schemaVersion": 1, "tool": "detek", "version": env!("CARGO_PKG_VERSION"),
        "clusters": [list],
    });
    std::fs::write(dir.path().join("fleet.json"), many.to_string()).unwrap();
    let out = run_in(dir.path(), &["-f", "json", "--baseline", "fleet.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(marks(&json(&out)).iter().all(|(_, _, m)| m == "known"));
}

#[test]
fn a_bad_baseline_is_an_error_naming_the_file() {
    let dir = checkout();
    std::fs::write(dir.path().join("not-json.json"), "reports: []\n").unwrap();
    std::fs::write(dir.path().join("shape.json"), "{\"findings\": []}").unwrap();
    std::fs::write(
        dir.path().join("old.json"),
        "{\"reports\": [{\"id\": \"failed_pod\", \"findings\": [{\"message\": \"x\", \"level\": \"Error\"}]}]}",
    )
    .unwrap();
    let sarif = run_in(dir.path(), &["-f", "sarif", "--fail-on", "never"]);
    std::fs::write(dir.path().join("report.sarif"), &sarif.stdout).unwrap();
    for (file, why) in [
        ("missing.json", "cannot read the baseline missing.json"),
        (
            "not-json.json",
            "the baseline not-json.json is not a detek JSON report: not JSON",
        ),
        (
            "shape.json",
            "the baseline shape.json is not a detek JSON report: not a detek JSON report: expected an object with `reports`",
        ),
        (
            "report.sarif",
            "the baseline report.sarif is not a detek JSON report",
        ),
        ("old.json", "`reports[0].findings[0]` has no fingerprint"),
    ] {
        let out = run_in(dir.path(), &["-f", "json", "--baseline", file]);
        assert_eq!(out.status.code(), Some(2), "{file}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{file}: no report");
        let err = stderr(&out);
        assert!(err.contains(why), "{file}: {err}");
        assert!(err.starts_with("detek: error: "), "{err}");
    }
}
