//! Resource bombs through the `detek` binary: one scan of a directory holding every bomb and
//! one ordinary manifest. Each bomb is refused or read within the limits (docs/security.md),
//! stderr names its file and line, the ordinary manifest is still scanned, and the peak memory
//! (max RSS, from /usr/bin/time when installed) stays bounded.
//!
//! The parser-level bomb tests are in crates/detek-kubernetes-model/tests/bombs.rs.

use assert_cmd::Command;
use serde_json::Value;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

const GOOD: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: registry.example.com/web:1.0\n";

const TINY_DOCUMENTS: u64 = 150_000;

fn bombs(dir: &Path, list_items: usize) {
    let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap();
    write("good.yaml", GOOD);

    let mut laughs = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lol\ndata:\n  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for i in 1..10 {
        let p = i - 1;
        let _ = writeln!(
            laughs,
            "  a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]"
        );
    }
    write("laughs.yaml", &laughs);

    let mut deep = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\nx:\n");
    for i in 0..200 {
        let _ = writeln!(deep, "{}k:", " ".repeat(2 * (i + 1)));
    }
    write("deep.yaml", &deep);
    write(
        "deep.json",
        &format!("{{\"x\": {}{}}}", "[".repeat(100_000), "]".repeat(100_000)),
    );

    write(
        "annotation.yaml",
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\n  namespace: shop\n  annotations:\n    a: \"{}\"\n",
            "x".repeat(50 << 20)
        ),
    );

    // More documents than one file could hold before files were streamed (100k): read, and
    // counted as skipped (a numeric apiVersion is no Kubernetes object).
    let mut many = String::with_capacity(4 << 20);
    for i in 0..TINY_DOCUMENTS {
        let _ = write!(many, "---\nkind: x\napiVersion: {i}\n");
    }
    write("many.yaml", &many);

    let mut list = String::from("{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[");
    for i in 0..list_items {
        if i > 0 {
            list.push(',');
        }
        let _ = write!(
            list,
            "{{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{{\"name\":\"n{i}\"}}}}"
        );
    }
    list.push_str("]}\n");
    write("list.json", &list);
}

#[test]
fn every_bomb_is_refused_or_read_within_limits_and_the_rest_is_scanned() {
    // 100k List items in CI; DETEK_BOMBS_FULL=1 for the full 500k.
    let items = if std::env::var_os("DETEK_BOMBS_FULL").is_some() {
        500_000
    } else {
        100_000
    };
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("inputs");
    std::fs::create_dir(&inputs).unwrap();
    bombs(&inputs, items);
    let report = dir.path().join("report.json");
    let rss = dir.path().join("rss");
    let time = Path::new("/usr/bin/time");
    let detek = assert_cmd::cargo::cargo_bin("detek");
    let mut cmd = if time.exists() {
        let mut c = Command::new(time);
        c.arg("-f").arg("%M").arg("-o").arg(&rss).arg(&detek);
        c
    } else {
        Command::new(&detek)
    };
    let start = Instant::now();
    let out = cmd
        .args([
            "run",
            "--fail-on",
            "never",
            "--allow-partial",
            "-f",
            "json",
            "-o",
        ])
        .arg(&report)
        .arg("--input")
        .arg(&inputs)
        .output()
        .unwrap();
    let took = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    eprintln!("scan of the bombs: {took:?}");
    assert!(took < Duration::from_secs(120), "took {took:?}");

    // Each refused bomb is named with its line and the limit.
    for (file, says) in [
        ("laughs.yaml:", "YAML alias expansion limit"),
        ("deep.yaml:", "nested deeper than 64 levels"),
        ("deep.json:1:", "JSON nested deeper than 128 levels"),
    ] {
        assert!(
            stderr.lines().any(|l| l.contains(file) && l.contains(says)),
            "{file} {says}: {stderr}"
        );
    }

    let report: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    // The refused files make the scan partial (they are named in inputs_not_read).
    assert_eq!(report["status"], "partial");
    assert!(!report["inputs_not_read"].as_array().unwrap().is_empty());
    // Read: the ordinary Deployment (its container has no limits), the 50 MiB annotation, the
    // List's items.
    let limits = report["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "pod_without_limits")
        .unwrap();
    assert!(
        limits["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["object"]["name"] == "web"),
        "{limits}"
    );
    let objects = report["collectors"][0]["stats"]["objects"]
        .as_u64()
        .unwrap();
    assert_eq!(
        objects,
        items as u64 + 2,
        "the Deployment, the ConfigMap and the items"
    );
    let skipped = &report["collectors"][0]["stats"]["documents_skipped"];
    assert_eq!(skipped.as_u64(), Some(TINY_DOCUMENTS), "many.yaml");

    if let Ok(kib) = std::fs::read_to_string(&rss) {
        let mib = kib.trim().parse::<u64>().unwrap() / 1024;
        eprintln!("peak RSS: {mib} MiB");
        // Measured in a debug build: 213 MiB with 100k List items, 644 MiB with 500k (the
        // typed objects dominate; the refused bombs add next to nothing).
        let bound = if items > 100_000 { 1300 } else { 640 };
        assert!(mib < bound, "peak RSS {mib} MiB");
    } else {
        eprintln!("/usr/bin/time not installed: peak memory not measured");
    }
}
