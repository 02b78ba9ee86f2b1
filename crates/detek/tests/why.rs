//! `detek why` on the demo snapshot: the answers to the two restart tickets the demo holds are
//! pinned whole (tests/data/why/*.txt; `DETEK_BLESS=1` rewrites them after a deliberate
//! change), and a Pod that does not exist is exit 2. The causes and signatures themselves are
//! tested table-driven in detek-kubernetes (tests/forensics.rs).

mod cli_common;

use std::path::Path;

/// Run `detek ARGS` and compare its output with tests/data/why/NAME.txt; the output.
fn pinned(name: &str, args: &[&str]) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let (code, stdout, stderr) = cli_common::detek(&dir, args);
    assert_eq!(code, 0, "stderr: {stderr}");
    let path = dir.join("why").join(format!("{name}.txt"));
    if std::env::var_os("DETEK_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &stdout).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        stdout,
        expected,
        "{name}: DETEK_BLESS=1 rewrites {}",
        path.display()
    );
    stdout
}

#[test]
fn the_demo_oom_kill_is_explained_as_killed_at_its_memory_limit() {
    let stdout = pinned(
        "oom-kill",
        &[
            "why",
            "pod/oom-kill-job3-gbb89",
            "-n",
            "message-oomkill-pod",
            "--demo",
        ],
    );
    assert!(stdout.contains("Verdict: killed at its memory limit"));
    assert!(stdout.contains("memory limit (100Mi)"));
}

#[test]
fn the_demo_crash_loop_is_explained_as_a_command_not_found() {
    let stdout = pinned(
        "crash-loop",
        &[
            "why",
            "pod/init-demo",
            "-n",
            "message-pod-crashloop-backoff",
            "--demo",
        ],
    );
    assert!(stdout.contains("Verdict: the image or its command cannot run"));
    assert!(stdout.contains("exit code 127: command not found"));
}

#[test]
fn json_output_carries_the_verdict_and_the_timeline() {
    let (code, stdout, stderr) = cli_common::detek(
        Path::new("."),
        &[
            "why",
            "oom-kill-job3-gbb89",
            "-n",
            "message-oomkill-pod",
            "--demo",
            "-f",
            "json",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let e = &v["explanations"][0];
    assert_eq!(e["verdict"]["cause"], "oom_at_limit");
    assert_eq!(e["termination"]["exit_code"], 137);
    assert_eq!(e["container"], "memory-eater");
    assert_eq!(v["now"], "2026-01-13T19:00:00Z");
}

#[test]
fn a_pod_that_does_not_exist_is_exit_2_with_one_line() {
    let (code, stdout, stderr) =
        cli_common::detek(Path::new("."), &["why", "pod/nope", "-n", "shop", "--demo"]);
    assert_eq!(code, 2, "{stdout}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("pod/nope not found in namespace shop"),
        "{stderr}"
    );
    let (code, _, stderr) = cli_common::detek(Path::new("."), &["why", "svc/web", "--demo"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("explains Pods"), "{stderr}");
}
