//! Issue 10 item 6: "passed" never for detectors that judged nothing, through the binary.

use assert_cmd::Command;
use serde_json::Value;

const ONE_CONFIGMAP: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: default
data:
  level: info
";

fn run(dir: &std::path::Path, format: &str) -> String {
    let out = Command::cargo_bin("detek")
        .unwrap()
        .current_dir(dir)
        .args(["run", "--input", "cm.yaml", "-f", format])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn a_one_configmap_scan_is_not_all_passed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cm.yaml"), ONE_CONFIGMAP).unwrap();

    let json: Value = serde_json::from_str(&run(dir.path(), "json")).unwrap();
    assert!(json["summary"]["not_judged"].as_u64().unwrap() > 0);
    let reports = json["reports"].as_array().unwrap();
    for r in reports {
        if r["evaluated"] == 0 {
            let result = r["result"].as_str().unwrap();
            assert!(
                result == "nothing_to_check" || result == "not_judged",
                "{}: {result}",
                r["id"]
            );
        }
    }
    let registry = reports
        .iter()
        .find(|r| r["id"] == "image_from_unknown_registry")
        .unwrap();
    assert_eq!(registry["result"], "not_judged");
    let warnings = reports
        .iter()
        .find(|r| r["id"] == "warning_events")
        .unwrap();
    assert_eq!(warnings["result"], "nothing_to_check");

    let table = run(dir.path(), "table");
    assert!(!table.contains("All passed"), "{table}");
    assert!(!table.contains("detectors passed"), "{table}");
    assert!(table.contains("not judged (no object to check, or could not judge)."));

    let html = run(dir.path(), "html");
    assert!(!html.contains("All passed"));
    assert!(html.contains("No problem found · 4 passed, 91 not judged"));
}

#[test]
fn no_allowed_registries_is_not_judged() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cm.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: default\nspec:\n  containers:\n  - name: c\n    image: nginx:1.27\n",
    )
    .unwrap();
    let json: Value = serde_json::from_str(&run(dir.path(), "json")).unwrap();
    let registry = json["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "image_from_unknown_registry")
        .unwrap();
    assert_eq!(registry["result"], "not_judged");
    assert_eq!(
        registry["note"],
        "no allowed registries are configured (allowedRegistries in detek.yaml)"
    );
}

#[test]
fn the_demo_is_titled_and_evaluated_as_of_its_capture_time() {
    let run = |format: &str| {
        let out = Command::cargo_bin("detek")
            .unwrap()
            .args(["run", "--demo", "-f", format])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let title = "Demo cluster (snapshot of 2026-01-13 19:00 UTC)";
    let table = run("table");
    let head: Vec<&str> = table.lines().take(2).collect();
    assert!(
        head[0].starts_with(&format!("detek {} · {title} · ", env!("CARGO_PKG_VERSION"))),
        "{table}"
    );
    assert_eq!(
        head[1],
        "evaluated as of 2026-01-13 19:00:00 UTC (when the demo snapshot was taken)"
    );
    let json: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    assert_eq!(
        json["target"],
        serde_json::json!({"kind": "demo", "name": title,
                           "identity": "cluster:uid:434b64bd-1a4a-4676-a2a8-a6e8a4daf5c4"})
    );
    assert_eq!(json["clock_note"], "when the demo snapshot was taken");
    let html = run("html");
    assert!(
        html.contains(&format!("<title>detek report — {title}</title>")),
        "{}",
        &html[..600]
    );
    assert!(
        html.contains("2026-01-13 19:00:00 UTC (when the demo snapshot was taken)"),
        "the evaluated-as-of row"
    );
}
