//! The config file end to end: level overrides, named sets, ignore rules, annotation
//! suppression, allowed registries and user known-issue files.

use assert_cmd::Command;
use serde_json::Value;
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/config")
}

fn report(id: &str, list: &Value) -> Value {
    list["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no report {id}"))
        .clone()
}

#[test]
fn config_sets_levels_sets_suppressions_and_user_known_issues() {
    let out = Command::cargo_bin("detek")
        .unwrap()
        .current_dir(dir())
        .args([
            "run",
            "images",
            "-f",
            "json",
            "--input",
            "app.yaml",
            "--fail-on",
            "never",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = list["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3, "the named set: {ids:?}");

    // Both :latest findings are suppressed (one by annotation on the namespace, one by an
    // ignore rule), kept and counted; the level override shows on the report.
    let latest = report("image_tag_latest", &list);
    assert_eq!(latest["default_level"], "Error");
    assert_eq!(latest["suppressed"], 2);
    assert_eq!(latest["passed"], true);
    let reasons: Vec<&str> = latest["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["suppressed"].as_str().unwrap())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("annotation detek.io/ignore on namespace legacy")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("web is redeployed by digest")),
        "{reasons:?}"
    );
    assert_eq!(list["summary"]["suppressed"], 2);

    // acme/old-app comes from docker.io, not the allowed registry.
    let registry = report("image_from_unknown_registry", &list);
    let findings = registry["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["object"]["name"], "old-app");

    // The user's own known issue fires on the proxy image.
    let known = report("known_component_issue", &list);
    let messages: Vec<&str> = known["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("ACME-42") || m.contains("acme web proxy")),
        "{messages:?}"
    );
}

#[test]
fn a_typo_in_the_config_is_an_error_naming_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("detek.yaml");
    std::fs::write(&config, "detectors:\n  pod_restartng:\n    threshold: 3\n").unwrap();
    let out = Command::cargo_bin("detek")
        .unwrap()
        .args(["run", "--demo", "-f", "json", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("detectors.pod_restartng"), "{err}");

    std::fs::write(&config, "allowedRegistrys: [x]\n").unwrap();
    let out = Command::cargo_bin("detek")
        .unwrap()
        .args(["plan", "--demo", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("allowedRegistrys"));
}
