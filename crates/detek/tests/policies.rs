//! Rego detectors through the binary (docs/policies.md): the examples fire exactly their
//! pinned findings on their failing fixtures and nothing on their passing ones, their tests
//! pass, and policies sit beside the built-in detectors in listings and reports.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn detek() -> Command {
    Command::cargo_bin("detek").unwrap()
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn examples() -> PathBuf {
    repo().join("examples/policies")
}

fn json_of(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// The example policies' ids: every `*.rego` of examples/policies that is not a test.
fn example_ids() -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(examples())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| n.ends_with(".rego") && !n.ends_with("_test.rego"))
        .map(|n| n.trim_end_matches(".rego").to_string())
        .collect();
    ids.sort();
    ids
}

/// `Kind namespace/name: message` of each finding of `id` when scanning `fixture` with the
/// examples, sorted.
fn findings(id: &str, fixture: &Path) -> Vec<String> {
    let out = detek()
        .args([
            "run",
            "-f",
            "json",
            "--fail-on",
            "never",
            "--select",
            id,
            "--policy-dir",
        ])
        .arg(examples())
        .arg("--input")
        .arg(fixture)
        .output()
        .unwrap();
    let list = json_of(&out);
    let report = list["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no report {id}: {list}"));
    assert!(
        report["error"].is_null(),
        "{id} on {}: {}",
        fixture.display(),
        report["error"]
    );
    let mut lines: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let o = &f["object"];
            format!(
                "{} {}/{}: {}",
                o["kind"].as_str().unwrap(),
                o["namespace"].as_str().unwrap_or("-"),
                o["name"].as_str().unwrap(),
                f["message"].as_str().unwrap()
            )
        })
        .collect();
    lines.sort();
    lines
}

#[test]
fn every_example_fires_exactly_its_pinned_findings_and_nothing_on_its_passing_fixture() {
    let ids = example_ids();
    assert_eq!(ids.len(), 8, "{ids:?}");
    for id in &ids {
        let dir = examples().join("fixtures").join(id);
        let expected: Vec<String> = std::fs::read_to_string(dir.join("expected.txt"))
            .unwrap_or_else(|e| panic!("{id}: expected.txt: {e}"))
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect();
        assert!(!expected.is_empty(), "{id}: expected.txt pins nothing");
        assert_eq!(
            findings(id, &dir.join("failing.yaml")),
            expected,
            "{id} on failing.yaml"
        );
        assert_eq!(
            findings(id, &dir.join("passing.yaml")),
            Vec::<String>::new(),
            "{id} on passing.yaml"
        );
    }
}

#[test]
fn the_examples_tests_pass() {
    let out = detek()
        .args(["policy", "test", "-f", "json"])
        .arg(examples())
        .output()
        .unwrap();
    let result = json_of(&out);
    assert_eq!(result["failed"], 0, "{result:#}");
    assert!(result["passed"].as_u64().unwrap() >= 16, "{result:#}");
    assert!(out.status.success());
}

#[test]
fn the_demo_shows_policy_findings_beside_built_in_ones() {
    let out = detek()
        .args([
            "run",
            "--demo",
            "-f",
            "table",
            "--fail-on",
            "never",
            "--policy-dir",
        ])
        .arg(examples())
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{table}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(table.contains("image_registry_not_allowed"), "{table}");
    assert!(table.contains("crashloop_backoff"), "{table}");
}

#[test]
fn policies_are_listed_and_explained_with_their_source() {
    let out = detek()
        .args(["explain", "ingress_nginx_ingressnightmare", "--policy-dir"])
        .arg(examples())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{text}");
    assert!(text.contains("Labels: policy"), "{text}");
    assert!(
        text.contains("ingress_nginx_ingressnightmare.rego:1"),
        "{text}"
    );
    let out = detek()
        .args(["list", "-f", "json", "--select", "policy", "--policy-dir"])
        .arg(examples())
        .output()
        .unwrap();
    let list = json_of(&out);
    assert_eq!(list.as_array().unwrap().len(), 8);
}

#[test]
fn policy_new_writes_a_policy_whose_tests_pass_and_check_is_clean() {
    let dir = scaffolded();
    let out = detek()
        .args(["policy", "test"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{text}");
    assert!(text.contains("2 passed, 0 failed"), "{text}");
    let out = detek()
        .args(["policy", "check"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text, "1 policies, 0 errors, 0 warnings\n");
    // A second `new` of the same name keeps the user's files.
    detek()
        .args(["policy", "new", "deployment_single_replica", "--dir"])
        .arg(dir.path())
        .assert()
        .code(2);
}

#[test]
fn a_policy_id_clashing_with_a_built_in_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let text = detek_policy_scaffold("crashloop_backoff");
    std::fs::write(dir.path().join("clash.rego"), text).unwrap();
    let out = detek()
        .args(["list", "--policy-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("policy crashloop_backoff"), "{stderr}");
}

fn detek_policy_scaffold(id: &str) -> String {
    detek_policy::scaffold::policy(id)
}

#[test]
fn policy_dirs_in_the_config_file_are_relative_to_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("pol")).unwrap();
    std::fs::write(
        dir.path().join("pol/deployment_single_replica.rego"),
        // The demo's one Deployment runs two replicas: make the rule fire on it.
        detek_policy_scaffold("deployment_single_replica")
            .replace("\"replicas\", 1) == 1", "\"replicas\", 1) == 2"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("detek.yaml"),
        "policyDirs: [pol]\ndetectors:\n  deployment_single_replica:\n    level: Error\n",
    )
    .unwrap();
    let out = detek()
        .current_dir(dir.path())
        .args([
            "run",
            "--demo",
            "-f",
            "json",
            "--fail-on",
            "never",
            "--select",
            "deployment_single_replica",
        ])
        .output()
        .unwrap();
    let list = json_of(&out);
    let report = &list["reports"][0];
    assert_eq!(report["id"], "deployment_single_replica");
    assert_eq!(report["level"], "Error", "{report:#}");
    assert_eq!(
        report["findings"][0]["message"],
        "Deployment shop/frontend runs a single replica"
    );
    // A missing policy directory is an error before anything is scanned.
    std::fs::write(dir.path().join("detek.yaml"), "policyDirs: [nowhere]\n").unwrap();
    let out = detek()
        .current_dir(dir.path())
        .args(["run", "--demo", "-f", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nowhere is not a directory"));
}

#[test]
fn a_failing_policy_test_fails_the_command() {
    let dir = scaffolded();
    std::fs::write(
        dir.path().join("more_test.rego"),
        "package detek.more_test\n\ntest_three_replicas_are_reported if {\n\tcount(data.detek.deployment_single_replica.findings) == 1 with input as {\"kubernetes\": {\"deployments\": [{\"kind\": \"Deployment\", \"metadata\": {\"name\": \"a\"}, \"spec\": {\"replicas\": 3}}]}}\n}\n",
    )
    .unwrap();
    let out = detek()
        .args(["policy", "test", "-f", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let result = json_of(&out);
    assert_eq!(result["passed"], 2);
    assert_eq!(result["failed"], 1);
    let failed: Vec<&Value> = result["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["outcome"] != "pass")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        failed[0]["name"],
        "data.detek.more_test.test_three_replicas_are_reported"
    );
    assert_eq!(failed[0]["outcome"], "fail");
}

/// A directory holding what `detek policy new deployment_single_replica` writes.
fn scaffolded() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    detek()
        .args(["policy", "new", "deployment_single_replica", "--dir"])
        .arg(dir.path())
        .assert()
        .success();
    dir
}
