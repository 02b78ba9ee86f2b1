//! End-to-end tests of the `detek` binary.

use assert_cmd::Command;
use serde_json::Value;
use std::path::PathBuf;

fn detek() -> Command {
    Command::cargo_bin("detek").unwrap()
}

fn data(path: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
        .display()
        .to_string()
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

#[test]
fn list_json_documents_every_detector() {
    let out = detek().args(["list", "-f", "json"]).output().unwrap();
    assert!(out.status.success());
    let list = json_of(&out);
    let entries = list.as_array().unwrap();
    assert!(entries.len() >= 2);
    for e in entries {
        for section in ["what", "why", "fix", "example"] {
            assert!(
                !e["docs"][section].as_str().unwrap_or("").is_empty(),
                "{} has no {section}",
                e["id"]
            );
        }
    }
}

#[test]
fn the_openstack_detectors_are_in_the_catalogue() {
    let out = detek().args(["list", "-f", "json"]).output().unwrap();
    let list = json_of(&out);
    let openstack: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| {
            d["labels"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l == "openstack")
        })
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        openstack,
        [
            "openstack_failed_server",
            "openstack_unreachable_server",
            "openstack_stuck_server",
            "openstack_compute_service_down",
            "openstack_hypervisor_down",
            "openstack_volume_error",
            "openstack_loadbalancer_error",
            "openstack_network_agent_down",
            "node_vm_not_active",
        ]
    );
    let out = detek()
        .args(["explain", "openstack_failed_server"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("# openstack_failed_server — OpenStack servers in ERROR\n"),
        "{text}"
    );
    assert!(text.contains("Reads: openstack/servers"), "{text}");

    // A snapshot scan lists them as skipped, with the reason, never Unknown.
    let out = detek()
        .args([
            "run",
            "-f",
            "json",
            "--fail-on",
            "never",
            "--input",
            &data("guestbook"),
        ])
        .output()
        .unwrap();
    let report = json_of(&out);
    assert_eq!(
        report["skipped"]["openstack_failed_server"],
        "this target provides no openstack/servers (needs an OpenStack cloud)"
    );
    assert_eq!(
        report["skipped"]["node_vm_not_active"],
        "this target provides no openstack/cloud-servers (needs an OpenStack cloud)"
    );
}

#[test]
fn explain_prints_the_four_sections_and_suggests_near_misses() {
    let out = detek().args(["explain", "failed_pod"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for heading in [
        "## What it detects",
        "## Why it matters",
        "## How to fix",
        "## Example",
    ] {
        assert!(text.contains(heading), "{text}");
    }
    let out = detek().args(["explain", "faild_pod"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("did you mean \"failed_pod\"?"), "{err}");
}

#[test]
fn malformed_documents_are_reported_with_file_and_line_and_the_rest_is_scanned() {
    let out = detek()
        .args(["run", "-f", "json", "--fail-on", "never"])
        .args(["--input", &data("broken"), "--input", &data("guestbook")])
        .output()
        .unwrap();
    // Malformed documents make the scan partial: exit 2 (DESIGN.md §4).
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("etcd-controller-template.yaml:"),
        "{stderr}"
    );
    let report = json_of(&out);
    let diagnostics: Vec<&Value> = report["collectors"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| {
            c["diagnostics"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .leak()
                .iter()
        })
        .collect();
    let broken = diagnostics
        .iter()
        .find(|d| {
            d["source"]["file"]
                .as_str()
                .unwrap_or("")
                .ends_with("etcd-controller-template.yaml")
        })
        .expect("a diagnostic for the template file");
    assert!(broken["source"]["line"].as_u64().unwrap() >= 1);
    // The guestbook manifests were still scanned: their 3 Deployments have no limits. The
    // malformed documents make the scan partial.
    assert_eq!(report["status"], "partial");
    let limits = report["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "pod_without_limits")
        .unwrap();
    assert_eq!(limits["findings"].as_array().unwrap().len(), 3);
    assert!(
        report["collectors"][0]["stats"]["objects"]
            .as_u64()
            .unwrap()
            >= 6
    );
}

#[test]
fn a_scan_that_collects_nothing_exits_2_and_says_so() {
    let empty = tempfile::tempdir().unwrap();
    let out = detek()
        .args(["run", "-f", "json", "--input"])
        .arg(empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let report = json_of(&out);
    assert_eq!(report["status"], "nothing_collected");
    assert_eq!(report["summary"]["normal"], 0, "nothing may look healthy");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nothing could be collected"), "{stderr}");

    let out = detek()
        .args(["run", "-f", "table", "--input", "/definitely/not/here"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such file or directory"));
}

#[test]
fn unknown_selection_is_a_usage_error() {
    let out = detek()
        .args(["run", "--demo", "--select", "no_such_detector"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown detector or label"));
}

#[test]
fn fail_on_sets_the_exit_code() {
    let input = data("guestbook");
    let run = |fail_on: &str| {
        detek()
            .args([
                "run",
                "-f",
                "json",
                "--select",
                "pod_without_limits",
                "--input",
                &input,
                "--fail-on",
                fail_on,
            ])
            .output()
            .unwrap()
            .status
            .code()
    };
    // The guestbook containers have no limits: Warn findings.
    assert_eq!(run("warn"), Some(1));
    assert_eq!(run("error"), Some(0));
    assert_eq!(run("never"), Some(0));
}

#[test]
fn plan_shows_collectors_detectors_and_what_cannot_run() {
    let out = detek()
        .args(["plan", "--demo", "-f", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let plans = json_of(&out);
    let plan = &plans[0];
    assert_eq!(plan["collectors"][0]["id"], "kubernetes/snapshot");
    assert!(plan["detectors"].as_array().unwrap().len() >= 2);
    let out = detek().args(["plan", "--demo"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("kubernetes/snapshot") && text.contains("failed_pod"),
        "{text}"
    );
}

#[test]
fn demo_renders_as_json_html_and_table() {
    let out = detek()
        .args(["run", "--demo", "-f", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "the demo has Error findings");
    let report = json_of(&out);
    assert_eq!(report["schemaVersion"], 1);
    let firing: Vec<&str> = report["reports"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["findings"].as_array().unwrap().is_empty())
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(
        firing.len() >= 15,
        "at least 15 detectors should fire on the demo: {firing:?}"
    );

    let out = detek()
        .args(["run", "--demo", "-f", "html"])
        .output()
        .unwrap();
    let html = String::from_utf8(out.stdout).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") || html.starts_with("<!doctype html>"));
    assert!(html.contains("failed_pod"));
    assert!(!html.contains("src=\"http"));
    // The demo's OOM kill: its timeline under the finding, folded.
    assert!(
        html.contains("<details class=\"timeline\"><summary>Timeline</summary><ol>"),
        "no restart timeline in the HTML report"
    );
    assert!(html.contains("container memory-eater terminated: exit code 137"));
    // Links to the web only as the detectors' references (`<a>`, no referrer): nothing fetched.
    for (i, _) in html.match_indices("href=\"http") {
        assert!(html[..i].ends_with("<a "), "{}", &html[i - 20..i + 40]);
        let tag = &html[i..i + html[i..].find('>').unwrap()];
        assert!(tag.ends_with(" rel=\"noopener noreferrer\""), "{tag}");
    }

    let out = detek()
        .args(["run", "--demo", "-f", "table"])
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("failed_pod"));
    assert!(
        !table.contains('\u{1b}'),
        "no colour when stdout is not a terminal"
    );
}

#[test]
fn reads_stdin() {
    let text = std::fs::read_to_string(data("guestbook/frontend-deployment.yaml")).unwrap();
    let out = detek()
        .args(["run", "-f", "json", "--input", "-", "--fail-on", "never"])
        .write_stdin(text)
        .output()
        .unwrap();
    assert!(out.status.success());
    let report = json_of(&out);
    assert_eq!(report["collectors"][0]["stats"]["objects"], 1);
}
