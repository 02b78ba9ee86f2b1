//! Honest results, end to end: when the snapshot collector gets nothing, every detector is
//! `Unknown` (none `Normal`), no format says "passed", and the exit code is 2; a scan that had
//! nothing to check does not read "all passed".
//!
//! The live collector's failures (unreachable server, a forbidden or failing kind: only its
//! detectors `Unknown`, scan `partial`) are tested against a real API server in
//! tests/live_faults.rs; the engine's rules in crates/detek-core/tests/engine.rs.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn detek(args: &[&str], input: &Path) -> std::process::Output {
    Command::cargo_bin("detek")
        .unwrap()
        .args(args)
        .arg("--input")
        .arg(input)
        .output()
        .unwrap()
}

/// Inputs from which nothing can be collected, each for its own reason.
fn nothing_to_collect(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let only_broken = dir.join("broken");
    std::fs::create_dir(&only_broken).unwrap();
    std::fs::write(
        only_broken.join("a.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: [unclosed\n",
    )
    .unwrap();
    let empty = dir.join("empty");
    std::fs::create_dir(&empty).unwrap();
    vec![
        ("missing path", dir.join("does-not-exist.yaml")),
        ("empty directory", empty),
        ("only malformed documents", only_broken),
        (
            "not UTF-8",
            write("latin1.yaml", b"kind: Pod\nname: caf\xe9\n"),
        ),
        (
            "no Kubernetes objects",
            write("other.yaml", b"name: not-k8s\n---\n- a\n- list\n"),
        ),
        (
            "over a limit",
            write("deep.json", format!("[{}]", "[".repeat(200)).as_bytes()),
        ),
    ]
}

#[test]
fn when_nothing_is_collected_nothing_passes_and_the_exit_code_is_2() {
    let dir = tempfile::tempdir().unwrap();
    for (why, input) in nothing_to_collect(dir.path()) {
        let out = detek(&["run", "all", "-f", "json"], &input);
        assert_eq!(out.status.code(), Some(2), "{why}");
        let report: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
        assert_eq!(report["status"], "nothing_collected", "{why}");
        assert_eq!(report["summary"]["normal"], 0, "{why}");
        let reports = report["reports"].as_array().unwrap();
        assert!(reports.len() > 50, "{why}: every detector is reported");
        for r in reports {
            assert_eq!(r["level"], "Unknown", "{why}: {}", r["id"]);
            assert_eq!(r["passed"], false, "{why}: {}", r["id"]);
            assert!(
                !r["error"].as_str().unwrap_or("").is_empty(),
                "{why}: {} says why",
                r["id"]
            );
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("nothing could be collected"),
            "{why}: {stderr}"
        );

        let out = detek(&["run", "all", "-f", "table"], &input);
        assert_eq!(out.status.code(), Some(2), "{why}");
        let table = String::from_utf8_lossy(&out.stdout);
        assert!(table.contains("NOTHING COLLECTED"), "{why}: {table}");
        assert!(table.contains(" 0 passed"), "{why}: {table}");
        assert!(!table.contains("passed."), "{why}: {table}");

        let out = detek(&["run", "all", "-f", "html"], &input);
        assert_eq!(out.status.code(), Some(2), "{why}");
        let html = String::from_utf8_lossy(&out.stdout);
        assert!(html.contains("No result"), "{why}");
        assert!(!html.contains("All passed"), "{why}");
    }
}

#[test]
fn a_detector_asked_for_by_id_that_cannot_run_is_unknown_not_passed() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("ns.yaml");
    std::fs::write(
        &input,
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n",
    )
    .unwrap();
    let out = detek(
        &[
            "run",
            "-f",
            "json",
            "--select",
            "apiserver_unhealthy,failed_pod",
        ],
        &input,
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let level = |id: &str| {
        report["reports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .map(|r| r["level"].clone())
    };
    assert_eq!(level("apiserver_unhealthy"), Some("Unknown".into()));
    assert_eq!(level("failed_pod"), Some("Normal".into()));
    assert_eq!(report["summary"]["unknown"], 1);
}

#[test]
fn a_scan_with_nothing_to_check_does_not_read_all_passed() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("widget.yaml");
    // An object the Pod detectors do not read: they evaluate 0 objects.
    std::fs::write(
        &input,
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: a\n",
    )
    .unwrap();
    let pods_only = ["run", "--select", "failed_pod,crashloop_backoff", "-f"];
    let run = |format: &str| {
        let mut args = pods_only.to_vec();
        args.push(format);
        let out = detek(&args, &input);
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8(out.stdout).unwrap()
    };
    let report: Value = serde_json::from_str(&run("json")).unwrap();
    let reports = report["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 2);
    assert!(reports.iter().all(|r| r["evaluated"] == 0));
    let table = run("table");
    assert!(table.contains("Nothing to check"), "{table}");
    assert!(!table.contains("passed."), "{table}");
    let html = run("html");
    assert!(html.contains("Nothing to check"));
    assert!(!html.contains("All passed"));

    // Every detector: most checked nothing, and the table says how many.
    let table = String::from_utf8(detek(&["run", "-f", "table"], &input).stdout).unwrap();
    assert!(
        table.contains("not judged (no object to check, or could not judge)."),
        "{table}"
    );
}
