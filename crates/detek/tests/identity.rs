//! Finding identity (DESIGN.md §4) through the binary: the same problem keeps its fingerprint
//! across scans whose messages differ and across checkouts of the same manifests, and differs
//! between clusters.

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

/// A Pod whose container restarted `restarts` times, in a dump that holds `kube-system` with
/// `uid` when given.
fn dump(restarts: u32, uid: Option<&str>) -> String {
    let mut text = format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: api-0
  namespace: shop
spec:
  containers:
  - name: api
    image: registry.example.com/api:1.2.3
status:
  phase: Running
  containerStatuses:
  - name: api
    image: registry.example.com/api:1.2.3
    imageID: ""
    ready: true
    restartCount: {restarts}
    lastState:
      terminated: {{exitCode: 1, reason: Error}}
"#
    );
    if let Some(uid) = uid {
        text.push_str(&format!(
            "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: kube-system\n  uid: {uid}\n"
        ));
    }
    text
}

fn scan(dir: &Path) -> Value {
    let out = Command::cargo_bin("detek")
        .unwrap()
        .current_dir(dir)
        .args([
            "run",
            "--select",
            "pod_restarting",
            "-f",
            "json",
            "--fail-on",
            "never",
            "--input",
            "k8s",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn checkout(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("k8s")).unwrap();
    std::fs::write(dir.path().join("k8s/pod.yaml"), text).unwrap();
    dir
}

/// (message, fingerprint) of the one pod_restarting finding, and the target identity.
fn finding(list: &Value) -> (String, String, String) {
    let report = list["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "pod_restarting")
        .unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{report}");
    (
        findings[0]["message"].as_str().unwrap().to_string(),
        findings[0]["fingerprint"].as_str().unwrap().to_string(),
        list["target"]["identity"].as_str().unwrap().to_string(),
    )
}

#[test]
fn a_finding_keeps_its_fingerprint_across_messages_and_checkouts() {
    let first = checkout(&dump(6, None));
    let elsewhere = checkout(&dump(6, None));
    let later = checkout(&dump(9, None));
    let (m1, f1, t1) = finding(&scan(first.path()));
    let (m2, f2, _) = finding(&scan(elsewhere.path()));
    let (m3, f3, _) = finding(&scan(later.path()));
    assert_eq!(t1, "manifests");
    assert_eq!(
        m1,
        "container restarted 6 times; last terminated with exit code 1 (Error)"
    );
    assert_eq!(
        m3,
        "container restarted 9 times; last terminated with exit code 1 (Error)"
    );
    assert_eq!(m1, m2);
    // Two checkouts in different folders, and a scan whose message differs: one identity.
    assert_eq!(f1, f2);
    assert_eq!(f1, f3);
    assert_eq!(f1.len(), 32);
}

#[test]
fn the_same_finding_in_two_clusters_has_two_fingerprints() {
    let a = checkout(&dump(6, Some("3f0c6a8e-0000-4000-8000-00000000000a")));
    let b = checkout(&dump(6, Some("3f0c6a8e-0000-4000-8000-00000000000b")));
    let (ma, fa, ta) = finding(&scan(a.path()));
    let (mb, fb, tb) = finding(&scan(b.path()));
    assert_eq!(ta, "cluster:uid:3f0c6a8e-0000-4000-8000-00000000000a");
    assert_eq!(tb, "cluster:uid:3f0c6a8e-0000-4000-8000-00000000000b");
    assert_eq!(ma, mb);
    assert_ne!(fa, fb);
    // The manifests' own fingerprint is a third one.
    let (_, fm, _) = finding(&scan(checkout(&dump(6, None)).path()));
    assert_ne!(fm, fa);
}
