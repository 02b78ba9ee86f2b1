//! Issue 10, "lost or hidden results": a scan never looks healthy for what it could not read,
//! through the binary. Each test failed on the version before (8e16200).

mod cli_common;
use cli_common::detek;

use serde_json::Value;
use std::path::Path;
use std::process::Stdio;

/// The report of detector `id` in a JSON ReportList.
fn report_of<'a>(list: &'a Value, id: &str) -> &'a Value {
    list["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no report {id}"))
}

/// A DaemonSet as real installs write it (Longhorn): YAML 1.1 octal file modes beside a
/// privileged container.
const OCTAL: &str = "apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: engine-image
  namespace: longhorn-system
spec:
  selector:
    matchLabels: {app: engine-image}
  template:
    metadata:
      labels: {app: engine-image}
    spec:
      containers:
      - name: engine
        image: registry.example.com/longhorn-engine:v1.6.0
        securityContext:
          privileged: true
        volumeMounts:
        - {name: config, mountPath: /config}
      volumes:
      - name: config
        secret:
          secretName: engine-config
          defaultMode: 0644
          items:
          - {key: token, path: token, mode: 0400}
";

#[test]
fn yaml_1_1_octal_modes_keep_the_object_and_its_findings() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ds.yaml"), OCTAL).unwrap();
    let (code, stdout, stderr) = detek(
        dir.path(),
        &[
            "run",
            "--select",
            "privileged_container",
            "-f",
            "json",
            "--input",
            "ds.yaml",
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    let list: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(list["status"], "complete");
    let report = report_of(&list, "privileged_container");
    let objects: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["object"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(objects, ["engine-image"]);
    assert!(stderr.is_empty(), "{stderr}");
}

/// A folder with a binary file, a YAML tab error and one good file.
fn broken_folder(dir: &Path) {
    std::fs::create_dir(dir.join("k8s")).unwrap();
    std::fs::write(dir.join("k8s/image.yaml"), [0u8, 159, 146, 150, 0, 1, 2]).unwrap();
    std::fs::write(
        dir.join("k8s/tabs.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: tabs\n",
    )
    .unwrap();
    std::fs::write(dir.join("k8s/good.yaml"), OCTAL).unwrap();
}

#[test]
fn unreadable_inputs_make_the_scan_partial_and_fail_by_default() {
    let dir = tempfile::tempdir().unwrap();
    broken_folder(dir.path());
    let args = [
        "run",
        "--select",
        "privileged_container",
        "-f",
        "json",
        "--fail-on",
        "never",
        "--input",
        "k8s",
    ];
    let (code, stdout, stderr) = detek(dir.path(), &args);
    assert_eq!(code, 2, "{stderr}");
    let list: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(list["status"], "partial");
    let not_read: Vec<String> = list["inputs_not_read"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["source"]["file"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(not_read, ["k8s/image.yaml", "k8s/tabs.yaml"]);
    // The good file was still scanned.
    let privileged = report_of(&list, "privileged_container");
    assert_eq!(privileged["findings"].as_array().unwrap().len(), 1);
    assert!(stderr.contains("the scan is partial"), "{stderr}");

    // --allow-partial: the findings decide (none at or above `never`).
    let mut allowed = args.to_vec();
    allowed.push("--allow-partial");
    let (code, stdout, _) = detek(dir.path(), &allowed);
    assert_eq!(code, 0);
    let list: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(list["status"], "partial");

    // The table names the inputs at the top, before any result.
    let (code, table, _) = detek(
        dir.path(),
        &[
            "run",
            "--select",
            "privileged_container",
            "-f",
            "table",
            "--input",
            "k8s",
        ],
    );
    assert_eq!(code, 2);
    let banner = table
        .lines()
        .position(|l| l.contains("2 inputs not read (k8s/image.yaml:1, k8s/tabs.yaml:"))
        .unwrap_or_else(|| panic!("{table}"));
    let first_result = table
        .lines()
        .position(|l| l.contains("privileged_container"))
        .unwrap();
    assert!(banner < first_result, "{table}");
}

#[test]
fn a_missing_input_beside_a_good_one_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.yaml"), OCTAL).unwrap();
    let (code, stdout, stderr) = detek(
        dir.path(),
        &[
            "run",
            "-f",
            "json",
            "--fail-on",
            "never",
            "--input",
            "/nope/x.yaml",
            "--input",
            "good.yaml",
        ],
    );
    assert_eq!(code, 2, "{stderr}");
    let list: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(list["status"], "partial");
    assert_eq!(
        list["inputs_not_read"][0]["message"],
        "/nope/x.yaml: no such file or directory"
    );
}

#[test]
fn a_symlink_loop_skips_that_entry_and_scans_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let k8s = dir.path().join("k8s");
    std::fs::create_dir_all(k8s.join("sub")).unwrap();
    std::fs::write(k8s.join("good.yaml"), OCTAL).unwrap();
    std::os::unix::fs::symlink(&k8s, k8s.join("sub/loop")).unwrap();
    let (code, stdout, stderr) = detek(
        dir.path(),
        &[
            "run",
            "--select",
            "privileged_container",
            "-f",
            "json",
            "--input",
            "k8s",
        ],
    );
    assert_eq!(code, 2, "partial\n{stderr}");
    let list: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(list["status"], "partial");
    let message = list["inputs_not_read"][0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("k8s/sub/loop: not read (symbolic link loop back to k8s)"),
        "{message}"
    );
    let privileged = report_of(&list, "privileged_container");
    assert_eq!(privileged["findings"].as_array().unwrap().len(), 1);
}

#[test]
fn one_cause_is_one_line_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = detek(
        dir.path(),
        &["run", "-f", "json", "--input", "/nope/x.yaml"],
    );
    assert_eq!(code, 2);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines,
        [
            "detek: 40 inputs of kubernetes/snapshot unavailable: no Kubernetes objects found in \
             the inputs (1 error(s), 0 non-Kubernetes document(s) skipped)",
            "detek: error: /nope/x.yaml: no such file or directory",
            "detek: nothing could be collected from /nope/x.yaml: this report says nothing about \
             its health",
        ]
    );
}

#[test]
fn one_cause_is_one_group_in_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let (code, table, _) = detek(
        dir.path(),
        &["run", "-f", "table", "--input", "/nope/x.yaml"],
    );
    assert_eq!(code, 2);
    // Not a row per detector: the 94 detectors that could not run are one group under the
    // one root cause.
    // (The skipped detectors — other sources: OpenStack, Prometheus — are listed apart.)
    let before_skipped = table.split("\nSkipped (").next().unwrap();
    assert!(before_skipped.lines().count() < 40, "{table}");
    assert_eq!(table.matches("Unknown  ").count(), 1, "{table}");
    assert!(
        table.contains(
            "Not evaluated (94):\n  no Kubernetes objects found in the inputs (1 error(s), 0 \
         non-Kubernetes document(s) skipped)\n    apparmor_unconfined,"
        ),
        "{table}"
    );
}

fn closed_pipe(args: &[&str]) -> (i32, String) {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("detek"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes away at once, as `| head -0` would.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn a_closed_pipe_ends_quietly_and_a_failed_write_is_exit_2() {
    for args in [
        &["list"][..],
        &["list", "-f", "json"],
        &["explain", "pod_restarting"],
        &["plan", "--demo"],
    ] {
        let (code, stderr) = closed_pipe(args);
        assert_eq!((code, stderr.as_str()), (0, ""), "{args:?}");
    }
    let (code, stderr) = closed_pipe(&["run", "--demo", "-f", "json", "--fail-on", "never"]);
    assert_eq!((code, stderr.as_str()), (0, ""));

    if Path::new("/dev/full").exists() {
        for args in [
            &["list"][..],
            &["run", "--demo", "-f", "json", "--fail-on", "never"],
        ] {
            let full = std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap();
            let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("detek"))
                .args(args)
                .stdout(full)
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(2), "{args:?}");
            assert_eq!(
                String::from_utf8_lossy(&out.stderr),
                "detek: error: cannot write to standard output: No space left on device (os error 28)\n"
            );
        }
    }
}

#[test]
fn fail_on_takes_any_case_and_never() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ds.yaml"), OCTAL).unwrap();
    let run = |fail_on: &str| {
        detek(
            dir.path(),
            &[
                "run",
                "--select",
                "privileged_container",
                "-f",
                "json",
                "--input",
                "ds.yaml",
                "--fail-on",
                fail_on,
            ],
        )
        .0
    };
    assert_eq!(run("Error"), 1);
    assert_eq!(run("FATAL"), 0);
    assert_eq!(run("never"), 0);
}

/// A TLS Secret whose certificate is valid from 2019-01-01 to 2020-03-01 (the fixture of
/// `tls_secret_expired`, see its SOURCES), in a dump taken on 2020-02-15 (its node's heartbeat).
fn dated_dump(dir: &Path) {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../detek-kubernetes/tests/fixtures/tls_secret_expired/fail.yaml");
    let text = std::fs::read_to_string(fixture).unwrap();
    let crt = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("tls.crt:"))
        .unwrap()
        .trim();
    std::fs::write(
        dir.join("dump.yaml"),
        format!(
            "apiVersion: v1
kind: Node
metadata: {{name: worker-1, creationTimestamp: \"2019-01-01T00:00:00Z\"}}
status:
  conditions:
  - {{type: Ready, status: \"True\", lastHeartbeatTime: \"2020-02-15T00:00:00Z\", lastTransitionTime: \"2019-01-01T00:00:00Z\"}}
---
apiVersion: v1
kind: Secret
type: kubernetes.io/tls
metadata: {{name: shop-tls, namespace: shop, creationTimestamp: \"2019-01-02T00:00:00Z\"}}
data: {{tls.crt: {crt}, tls.key: \"\"}}
"
        ),
    )
    .unwrap();
}

#[test]
fn one_now_for_every_detector_printed_and_overridable() {
    let dir = tempfile::tempdir().unwrap();
    dated_dump(dir.path());
    let scan = |extra: &[&str]| {
        let mut args = vec![
            "run",
            "--select",
            "tls_secret_expired,tls_secret_expiring",
            "-f",
            "json",
            "--fail-on",
            "never",
            "--input",
            "dump.yaml",
        ];
        args.extend(extra);
        let (code, stdout, stderr) = detek(dir.path(), &args);
        assert_eq!(code, 0, "{stderr}");
        let list: Value = serde_json::from_str(&stdout).unwrap();
        let ids: Vec<String> = list["reports"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| !r["findings"].as_array().unwrap().is_empty())
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect();
        (list["evaluated_at"].clone(), list["clock"].clone(), ids)
    };
    // As of the dump (2020-02-15): the certificate expires within 30 days, not yet expired
    // (judged by the wall clock it would be expired).
    assert_eq!(
        scan(&[]),
        (
            "2020-02-15T00:00:00Z".into(),
            "snapshot".into(),
            vec!["tls_secret_expiring".to_string()]
        )
    );
    // --now after the expiry: expired.
    assert_eq!(
        scan(&["--now", "2020-04-01T00:00:00Z"]),
        (
            "2020-04-01T00:00:00Z".into(),
            "fixed".into(),
            vec!["tls_secret_expired".to_string()]
        )
    );
    // The table says it too.
    let (_, table, _) = detek(
        dir.path(),
        &[
            "run",
            "-f",
            "table",
            "--fail-on",
            "never",
            "--input",
            "dump.yaml",
        ],
    );
    assert!(
        table.lines().nth(1).unwrap().starts_with(
            "evaluated as of 2020-02-15 00:00:00 UTC (the newest time the snapshot holds)"
        ),
        "{table}"
    );
    let (code, _, stderr) = detek(
        dir.path(),
        &["run", "--now", "yesterday", "--input", "dump.yaml"],
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--now \"yesterday\": not an RFC 3339 time"),
        "{stderr}"
    );
}
