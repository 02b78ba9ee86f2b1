//! Issue 10, item 1 (second half): a field that cannot be converted keeps its object. The
//! object is read without that field, and a diagnostic names the field's path and line.

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

fn scan(dir: &Path, file: &str) -> Value {
    let out = Command::cargo_bin("detek")
        .unwrap()
        .current_dir(dir)
        .args(["run", "--input", file, "--select", "privileged_container"])
        .args(["-f", "json"])
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).expect("a JSON report")
}

const YAML: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: c
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.25
          securityContext:
            privileged: true
          ports:
            - containerPort: \"http-8080\"
";

const PATH: &str = "spec.template.spec.containers[0].ports[0].containerPort";

/// The privileged container is still reported, and the diagnostic names the field and its line.
fn check(report: &Value, file: &str, line: u64) {
    let finding = &report["reports"][0]["findings"][0];
    assert_eq!(finding["object"]["name"], "web", "{report:#}");
    assert_eq!(
        finding["message"],
        "container \"web\": securityContext.privileged is true"
    );
    let diagnostics = report["collectors"][0]["diagnostics"].as_array().unwrap();
    let d = diagnostics
        .iter()
        .find(|d| d["message"].as_str().unwrap().contains(PATH))
        .unwrap_or_else(|| panic!("no diagnostic naming {PATH}: {diagnostics:#?}"));
    assert_eq!(d["level"], "Warn");
    assert_eq!(d["source"]["file"], file);
    assert_eq!(d["source"]["line"], line);
    assert_eq!(
        d["message"],
        format!(
            "Deployment \"web\" (apps/v1): field {PATH} could not be read (invalid type: \
             string \"http-8080\", expected i32); the object was read without it"
        )
    );
}

#[test]
fn a_bad_field_in_yaml_keeps_its_object() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.yaml"), YAML).unwrap();
    check(&scan(dir.path(), "app.yaml"), "app.yaml", 23);
}

#[test]
fn a_bad_field_in_json_keeps_its_object() {
    let dir = tempfile::tempdir().unwrap();
    let docs: Vec<Value> = YAML
        .split("---\n")
        .map(|d| serde_saphyr::from_str(d).unwrap())
        .collect();
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": docs});
    let text = serde_json::to_string_pretty(&list).unwrap();
    let line = text
        .lines()
        .position(|l| l.contains("\"containerPort\""))
        .unwrap() as u64
        + 1;
    std::fs::write(dir.path().join("dump.json"), &text).unwrap();
    check(&scan(dir.path(), "dump.json"), "dump.json", line);
}
