//! Detector settings through the binary: a detector's settings are declared with it, so
//! `detek.yaml` is checked against them when it is loaded (a misspelt key or a wrong type is an
//! error naming the file, the key and the valid keys, exit code 2), a valid value changes the
//! result, and `detek explain` / `detek list` show them — for the Kubernetes detectors and for
//! a detector declared in another crate (`collector_reports`, in detek-core).

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn detek() -> Command {
    Command::cargo_bin("detek").unwrap()
}

/// A real Pod whose container restarted 4 times (troubleshoot's CrashLoopBackOff Pod, see
/// tests/data/live/SOURCES.md): under the default threshold of 5, over a threshold of 3.
fn restarted_four_times() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/live/troubleshoot/message-pod-crashloop-backoff.json")
        .display()
        .to_string()
}

/// `detek.yaml` with `text` in a fresh directory.
fn config(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("detek.yaml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `detek run` (JSON) and `detek plan` on the fixture with the config: both refuse it with
/// exit code 2 and exactly this stderr.
fn assert_rejected(config: &Path, expected_stderr: &str) {
    let run = detek()
        .args(["run", "-f", "json", "--input", &restarted_four_times()])
        .arg("--config")
        .arg(config)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    assert_eq!(stderr(&run), expected_stderr);
    assert!(run.stdout.is_empty(), "no report for a bad config");
    let plan = detek()
        .args(["plan", "--input", &restarted_four_times()])
        .arg("--config")
        .arg(config)
        .output()
        .unwrap();
    assert_eq!(plan.status.code(), Some(2), "{}", stderr(&plan));
    assert_eq!(stderr(&plan), expected_stderr);
}

#[test]
fn a_misspelt_setting_names_the_file_the_key_and_the_valid_keys() {
    let (_dir, path) = config("detectors:\n  pod_restarting:\n    treshold: 3\n");
    assert_rejected(
        &path,
        &format!(
            "detek: error: invalid config file {}:3: detectors.pod_restarting.treshold: unknown \
             setting (did you mean \"threshold\"?); valid keys: level, enabled, threshold, window_hours\n   \
             3 |     treshold: 3\n",
            path.display()
        ),
    );
}

#[test]
fn a_setting_of_the_wrong_type_names_the_expected_type() {
    let (_dir, path) = config("detectors:\n  pod_restarting:\n    threshold: ten\n");
    assert_rejected(
        &path,
        &format!(
            "detek: error: invalid config file {}:3: detectors.pod_restarting.threshold: expected \
             type integer, found a string (\"ten\")\n   3 |     threshold: ten\n",
            path.display()
        ),
    );
}

#[test]
fn an_unknown_detector_or_ignore_rule_names_its_line() {
    let (_dir, path) = config(
        "# fleet defaults\ndetectors:\n  image_tag_latest: {enabled: true}\n  pod_restartin: {threshold: 3}\n",
    );
    assert_rejected(
        &path,
        &format!(
            "detek: error: invalid config file {}:4: detectors.pod_restartin: no such detector \
             (did you mean \"pod_restarting\"?) (see `detek list`)\n   4 |   pod_restartin: {{threshold: 3}}\n",
            path.display()
        ),
    );
    let (_dir, path) = config(
        "ignore:\n- detector: run_as_root\n  reason: node-exporter\n- detector: run_as_rot\n  reason: typo\n",
    );
    assert_rejected(
        &path,
        &format!(
            "detek: error: invalid config file {}:4: ignore[1].detector: no such detector \
             \"run_as_rot\" (did you mean \"run_as_root\"?)\n   4 | - detector: run_as_rot\n",
            path.display()
        ),
    );
}

#[test]
fn internal_settings_are_not_config_keys() {
    // The CLI fills known_component_issue.entries from `files`; the config cannot set it.
    let (_dir, path) = config("detectors:\n  known_component_issue:\n    entries: []\n");
    assert_rejected(
        &path,
        &format!(
            "detek: error: invalid config file {}:3: detectors.known_component_issue.entries: \
             unknown setting; valid keys: level, enabled, files\n   3 |     entries: []\n",
            path.display()
        ),
    );
}

/// The pod_restarting report of a scan of the fixture, with `config` if given.
fn pod_restarting_report(config: Option<&Path>) -> Value {
    let mut cmd = detek();
    cmd.args(["run", "-f", "json", "--fail-on", "never"]).args([
        "--select",
        "pod_restarting",
        "--input",
        &restarted_four_times(),
    ]);
    if let Some(config) = config {
        cmd.arg("--config").arg(config);
    }
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let reports = list["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 1, "{reports:?}");
    reports[0].clone()
}

#[test]
fn a_valid_setting_is_accepted_and_changes_the_result() {
    // Default threshold 5: 4 restarts pass.
    let report = pod_restarting_report(None);
    assert_eq!(report["passed"], true, "{report}");
    assert_eq!(report["findings"].as_array().unwrap().len(), 0);

    let (_dir, path) = config("detectors:\n  pod_restarting:\n    threshold: 3\n");
    let report = pod_restarting_report(Some(&path));
    assert_eq!(report["passed"], false, "{report}");
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["object"]["name"], "init-demo");
    assert!(
        findings[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("container restarted 4 times;"),
        "{}",
        findings[0]["message"]
    );
    assert_eq!(findings[0]["evidence"][0], "threshold: 3 restarts");
}

fn explain(id: &str) -> String {
    let out = detek().args(["explain", id]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

fn list_json() -> Vec<Value> {
    let out = detek().args(["list", "-f", "json"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    list.as_array().unwrap().clone()
}

fn settings_in_list(list: &[Value], id: &str) -> Value {
    list.iter()
        .find(|d| d["id"] == id)
        .unwrap_or_else(|| panic!("{id} is not in `detek list -f json`"))["settings"]
        .clone()
}

#[test]
fn explain_and_list_show_a_detectors_settings() {
    let text = explain("pod_restarting");
    assert!(
        text.contains(
            "\n## Settings (detek.yaml: `detectors: {pod_restarting: {KEY: VALUE}}`)\n\
             - `threshold` (integer, default 5): Restarts at which a container is reported \
             (values below 1 count as 1).\n"
        ),
        "{text}"
    );
    assert_eq!(
        settings_in_list(&list_json(), "pod_restarting"),
        serde_json::json!([{
            "name": "threshold",
            "type": "integer",
            "default": 5,
            "doc": "Restarts at which a container is reported (values below 1 count as 1).",
        }, {
            "name": "window_hours",
            "type": "integer",
            "default": 24,
            "doc": "Hours after which a restart is history: older restarts are not reported \
                    (values below 1 count as 1).",
        }])
    );
    // A setting without a default says so; internal settings are not listed.
    let text = explain("node_version_skew");
    assert!(
        text.contains("- `max_minor_skew` (non-negative integer, no default): "),
        "{text}"
    );
    let text = explain("known_component_issue");
    assert!(
        text.contains("- `files` (list of strings, default []): "),
        "{text}"
    );
    assert!(!text.contains("`entries`"), "{text}");
}

/// `collector_reports` is declared in detek-core, not in the Kubernetes detectors' crate: the
/// binary's catalogue lists and explains it, with its setting, like any other.
#[test]
fn a_detector_declared_in_another_crate_is_listed_and_explained_with_its_settings() {
    let text = explain("collector_reports");
    assert!(
        text.starts_with("# collector_reports — Collectors that failed, and why\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "\n## Settings (detek.yaml: `detectors: {collector_reports: {KEY: VALUE}}`)\n\
             - `diagnostics` (boolean, default false): Also report the input problems \
             collectors noted (malformed documents, skipped kinds).\n"
        ),
        "{text}"
    );
    assert_eq!(
        settings_in_list(&list_json(), "collector_reports"),
        serde_json::json!([{
            "name": "diagnostics",
            "type": "bool",
            "default": false,
            "doc": "Also report the input problems collectors noted (malformed documents, \
                    skipped kinds).",
        }])
    );
    let out = detek().arg("list").output().unwrap();
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("collector_reports ") && l.ends_with(" engine")),
        "{table}"
    );
    // Its settings are checked like the Kubernetes detectors' ones.
    let (_dir, path) = config("detectors:\n  collector_reports:\n    diagnostic: true\n");
    assert_rejected(
        &path,
        &format!(
            "detek: error: invalid config file {}:3: detectors.collector_reports.diagnostic: \
             unknown setting (did you mean \"diagnostics\"?); valid keys: level, enabled, \
             diagnostics\n   3 |     diagnostic: true\n",
            path.display()
        ),
    );
}

/// How docs/config.md writes a default: `5`, `["a", "b"]`, or `no default`.
fn shown_default(default: &Value) -> String {
    match default {
        Value::Null => "no default".to_string(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(Value::to_string).collect();
            format!("`[{}]`", items.join(", "))
        }
        other => format!("`{other}`"),
    }
}

/// How docs/config.md names a type (as `detek explain` does).
fn shown_type(kind: &str) -> &'static str {
    match kind {
        "bool" => "boolean",
        "integer" => "integer",
        "unsigned" => "non-negative integer",
        "number" => "number",
        "string" => "string",
        "string_list" => "list of strings",
        "unsigned_list" => "list of non-negative integers",
        "any" => "any value",
        other => panic!("unknown setting type {other}"),
    }
}

#[test]
fn the_config_docs_list_every_declared_setting_with_its_type_and_default() {
    let docs = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/config.md"),
    )
    .unwrap();
    let mut missing = Vec::new();
    let mut count = 0;
    for detector in list_json() {
        for s in detector["settings"].as_array().unwrap() {
            count += 1;
            let row = format!(
                "| `{}` | `{}` | {} | {} | {} |",
                detector["id"].as_str().unwrap(),
                s["name"].as_str().unwrap(),
                shown_type(s["type"].as_str().unwrap()),
                shown_default(&s["default"]),
                s["doc"].as_str().unwrap(),
            );
            if !docs.lines().any(|l| l == row) {
                missing.push(row);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "docs/config.md lacks these rows (or they changed):\n{}",
        missing.join("\n")
    );
    let documented = docs
        .lines()
        .skip_while(|l| *l != "## Detector settings")
        .take_while(|l| *l != "## Errors")
        .filter(|l| l.starts_with("| `"))
        .count();
    assert_eq!(
        documented, count,
        "docs/config.md lists settings no detector declares"
    );
}
