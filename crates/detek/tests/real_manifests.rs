//! `detek run --fail-on error` over real manifests fails only on findings an operator would
//! call real (issue "Accuracy"): the Error findings over the files of the shared real-manifest
//! set that have any (tests/data/real-manifests, SOURCES.md there) are pinned exactly, one line
//! per finding, in tests/data/real-manifests.expected.txt. `DETEK_BLESS=1` rewrites that file
//! after a deliberate change; review its diff like code.

mod cli_common;

use serde_json::Value;
use std::path::Path;

/// One line per Error finding: detector, object, source and message, sorted.
fn error_findings(report: &Value) -> Vec<String> {
    let mut lines = Vec::new();
    // One target: the JSON report is that target's report list.
    {
        for r in report["reports"].as_array().expect("a report list") {
            if r["level"] != "Error" && r["level"] != "Critical" {
                continue;
            }
            for f in r["findings"].as_array().unwrap() {
                let o = &f["object"];
                let container = o["container"]
                    .as_str()
                    .map(|c| format!(" [{c}]"))
                    .unwrap_or_default();
                lines.push(format!(
                    "{id} {kind}/{ns}/{name}{container} {file}:{line}: {message}",
                    id = r["id"].as_str().unwrap(),
                    kind = o["kind"].as_str().unwrap_or(""),
                    ns = o["namespace"].as_str().unwrap_or(""),
                    name = o["name"].as_str().unwrap_or(""),
                    file = o["source"]["file"].as_str().unwrap_or(""),
                    line = o["source"]["line"],
                    message = f["message"].as_str().unwrap(),
                ));
            }
        }
    }
    lines.sort();
    lines
}

#[test]
fn fail_on_error_over_real_manifests_names_exactly_the_pinned_findings() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let (code, stdout, stderr) = cli_common::detek(
        &data.join("real-manifests"),
        &["run", "--input", ".", "-f", "json", "--fail-on", "error"],
    );
    // Every file parses: a complete scan with Error findings exits 1 (DESIGN.md §1).
    assert_eq!(code, 1, "stderr: {stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let actual = error_findings(&report).join("\n") + "\n";
    let expected_path = data.join("real-manifests.expected.txt");
    if std::env::var_os("DETEK_BLESS").is_some() {
        std::fs::write(&expected_path, &actual).unwrap();
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap();
    assert_eq!(
        actual, expected,
        "the Error findings over tests/data/real-manifests changed (DETEK_BLESS=1 rewrites the expected list)"
    );
}
