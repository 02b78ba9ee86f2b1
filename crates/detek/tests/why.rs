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

/// A Pod whose container exits 42 with a message no built-in signature knows (hand-written).
const LICENCE_POD: &str = r#"apiVersion: v1
kind: Pod
metadata: {name: billing-0, namespace: shop, creationTimestamp: "2026-03-01T10:00:00Z"}
spec:
  containers:
  - {name: billing, image: registry.example.test/billing:7.1}
status:
  phase: Running
  containerStatuses:
  - name: billing
    ready: false
    restartCount: 4
    image: registry.example.test/billing:7.1
    imageID: ""
    state:
      waiting: {reason: CrashLoopBackOff, message: back-off 1m20s restarting failed container}
    lastState:
      terminated:
        exitCode: 42
        reason: Error
        message: "FATAL E042 licence expired on 2026-02-28, contact sales"
        startedAt: "2026-03-01T11:58:00Z"
        finishedAt: "2026-03-01T11:58:02Z"
"#;

const LICENCE_SIGNATURES: &str = r#"signatures:
  - id: licence_expired
    title: the product licence expired
    category: licence
    pattern: 'E042 licence expired'
    fix: Renew the licence key in the billing-licence Secret.
    matches: ['FATAL E042 licence expired on 2026-02-28, contact sales']
    not_matches: ['INFO licence valid until 2027-02-28']
"#;

const LICENCE_CAUSES: &str = r#"causes:
  - id: licence_expired
    title: its licence expired
    when:
      - signature: [licence_expired]
    explanation: "{container} refuses to start: {signature} ({exit})."
    fix: "{signature_fix}Then delete the Pod to restart it at once."
"#;

#[test]
fn users_add_causes_and_signatures_through_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("billing-0.yaml"), LICENCE_POD).unwrap();
    let args = [
        "why",
        "pod/billing-0",
        "-n",
        "shop",
        "--input",
        "billing-0.yaml",
        "-f",
        "json",
    ];
    // Without the user's tables: no known cause, never a guess.
    let (code, stdout, stderr) = cli_common::detek(dir.path(), &args);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["explanations"][0]["verdict"]["title"], "no known cause");

    std::fs::create_dir(dir.path().join("forensics")).unwrap();
    std::fs::write(dir.path().join("forensics/causes.yaml"), LICENCE_CAUSES).unwrap();
    std::fs::write(
        dir.path().join("forensics/signatures.yaml"),
        LICENCE_SIGNATURES,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("detek.yaml"),
        "forensics:\n  causes: [forensics/causes.yaml]\n  logSignatures: [forensics/signatures.yaml]\n",
    )
    .unwrap();
    let (code, stdout, stderr) = cli_common::detek(dir.path(), &args);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let verdict = &v["explanations"][0]["verdict"];
    assert_eq!(verdict["cause"], "licence_expired");
    assert_eq!(
        verdict["explanation"],
        "container billing refuses to start: the product licence expired (exit code 42: the \
         program's own error code)."
    );
    assert_eq!(
        verdict["fix"],
        "Renew the licence key in the billing-licence Secret. Then delete the Pod to restart \
         it at once."
    );

    // `detek run` reads the same config: the crashloop_backoff finding carries the verdict.
    let (_, stdout, stderr) = cli_common::detek(
        dir.path(),
        &[
            "run",
            "--input",
            "billing-0.yaml",
            "--select",
            "crashloop_backoff",
            "-f",
            "json",
        ],
    );
    let list: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    let report = list["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "crashloop_backoff")
        .unwrap();
    assert!(
        report["findings"][0]["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e
                .as_str()
                .unwrap()
                .starts_with("verdict: its licence expired")),
        "{report}"
    );

    // A table with a bad entry stops the command, naming the file.
    std::fs::write(
        dir.path().join("forensics/causes.yaml"),
        LICENCE_CAUSES.replace("signature: [", "signatures: ["),
    )
    .unwrap();
    let (code, _, stderr) = cli_common::detek(dir.path(), &args);
    assert_eq!(code, 2);
    assert!(stderr.contains("forensics/causes.yaml"), "{stderr}");
}
