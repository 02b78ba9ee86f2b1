//! SARIF 2.1.0: output validated against the official OASIS schema (`tests/data`, see
//! SOURCES.md there), and the mapping from the report model pinned.

mod common;

use common::*;
use detek_core::{BaselineState, ReportList};
use detek_render::{FINGERPRINT_KEY, SarifOptions};
use serde_json::Value;
use std::path::PathBuf;

fn schema() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/sarif-schema-2.1.0.json");
    let text = std::fs::read_to_string(path).expect("schema file");
    serde_json::from_str(&text).expect("schema is JSON")
}

/// Every error the official schema finds in `value` (formats such as `date-time` and `uri`
/// checked too).
fn schema_errors(value: &Value) -> Vec<String> {
    let schema = schema();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the SARIF schema compiles");
    validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn sarif_value(lists: &[ReportList]) -> Value {
    let text = detek_render::sarif(lists);
    assert!(text.ends_with("}\n"));
    serde_json::from_str(&text).expect("SARIF is JSON")
}

/// The representative scan with fingerprints (the runner sets them in real scans) and a
/// suppression by config rule.
fn fingerprinted() -> ReportList {
    let mut list = representative();
    let mut n = 0;
    for r in &mut list.reports {
        for f in &mut r.findings {
            n += 1;
            f.fingerprint = format!("{n:032x}");
        }
    }
    list.reports[0].findings[1].suppressed = Some("config ignore rule: known issue".to_string());
    list.reports[0].suppressed = 1;
    list
}

#[test]
fn output_validates_against_the_sarif_2_1_0_schema() {
    for list in [
        fingerprinted(),
        representative(),
        healthy(),
        nothing_collected(),
        hostile(),
    ] {
        let value = sarif_value(std::slice::from_ref(&list));
        let errors = schema_errors(&value);
        assert!(errors.is_empty(), "{}: {errors:#?}", list.target.name);
    }
    let several = sarif_value(&[fingerprinted(), healthy(), nothing_collected()]);
    assert!(schema_errors(&several).is_empty());
    assert!(schema_errors(&sarif_value(&[])).is_empty());
}

#[test]
fn the_schema_check_is_real() {
    let good = sarif_value(&[fingerprinted()]);
    assert!(schema_errors(&good).is_empty());
    let mut cases: Vec<(&str, Value)> = Vec::new();
    let mut v = good.clone();
    v.as_object_mut().unwrap().remove("version");
    cases.push(("no version", v));
    let mut v = good.clone();
    v["runs"][0]["tool"]["driver"]
        .as_object_mut()
        .unwrap()
        .remove("name");
    cases.push(("no driver name", v));
    let mut v = good.clone();
    v["runs"][0]["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("message");
    cases.push(("no message", v));
    let mut v = good.clone();
    v["runs"][0]["results"][0]["level"] = Value::from("critical");
    cases.push(("bad level", v));
    let mut v = good.clone();
    v["runs"][0]["results"][2]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        Value::from(0);
    cases.push(("line 0", v));
    let mut v = good.clone();
    v["runs"][0]["invocations"][0]
        .as_object_mut()
        .unwrap()
        .remove("executionSuccessful");
    cases.push(("no executionSuccessful", v));
    let mut v = good.clone();
    v["runs"][0]["undocumented"] = Value::from(1);
    cases.push(("unknown property", v));
    let mut v = good;
    v["runs"][0]["invocations"][0]["startTimeUtc"] = Value::from("yesterday");
    cases.push(("bad date-time", v));
    for (what, value) in cases {
        assert!(!schema_errors(&value).is_empty(), "{what}: not caught");
    }
}

#[test]
fn rules_come_from_the_detectors_metadata() {
    let list = fingerprinted();
    let value = sarif_value(std::slice::from_ref(&list));
    assert_eq!(value["version"], "2.1.0");
    assert_eq!(value["$schema"], detek_render::SARIF_SCHEMA_URI);
    let runs = value["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let driver = &runs[0]["tool"]["driver"];
    assert_eq!(driver["name"], "detek");
    assert_eq!(driver["version"], "0.1.0");
    let rules = driver["rules"].as_array().unwrap();
    assert_eq!(rules.len(), list.reports.len());
    for (rule, report) in rules.iter().zip(&list.reports) {
        assert_eq!(rule["id"], report.id.as_str());
        assert_eq!(
            rule["shortDescription"]["text"],
            report.description.as_str()
        );
        assert_eq!(rule["helpUri"], report.references[0].as_str());
        let help = rule["help"]["markdown"].as_str().unwrap();
        assert!(help.starts_with(report.explanation.as_str()), "{help}");
        assert!(help.contains(report.solution.as_str()), "{help}");
        assert!(help.contains("## How to fix"), "{help}");
        assert_eq!(rule["properties"]["tags"][0], "kubernetes");
    }
    let level_of = |id: &str| {
        rules.iter().find(|r| r["id"] == id).unwrap()["defaultConfiguration"]["level"].clone()
    };
    assert_eq!(level_of("node_not_ready"), "error"); // Fatal
    assert_eq!(level_of("failed_pod"), "error");
    assert_eq!(level_of("image_tag_latest"), "warning");
}

#[test]
fn results_carry_level_location_fingerprint_and_suppressions() {
    let list = fingerprinted();
    let value = sarif_value(std::slice::from_ref(&list));
    let run = &value["runs"][0];
    let results = run["results"].as_array().unwrap();
    // Every finding, suppressed ones included.
    let findings: usize = list.reports.iter().map(|r| r.findings.len()).sum();
    assert_eq!(results.len(), findings);

    // The manifest finding (failed_pod on Pod/shop/cart-7d9f, manifests/shop.yaml:42).
    let r = results
        .iter()
        .find(|r| r["ruleId"] == "failed_pod" && r["suppressions"].is_null())
        .unwrap();
    assert_eq!(r["level"], "error");
    assert_eq!(
        r["ruleIndex"],
        list.reports
            .iter()
            .position(|r| r.id == "failed_pod")
            .unwrap()
    );
    assert_eq!(
        r["message"]["text"],
        "Pod/shop/cart-7d9f: Pod failed: OOMKilled (exit 137)\n- container app: exit code 137, reason OOMKilled"
    );
    let loc = &r["locations"][0];
    assert_eq!(
        loc["physicalLocation"]["artifactLocation"]["uri"],
        "manifests/shop.yaml"
    );
    assert_eq!(loc["physicalLocation"]["region"]["startLine"], 42);
    assert_eq!(
        loc["logicalLocations"][0]["fullyQualifiedName"],
        "Pod/shop/cart-7d9f"
    );
    assert_eq!(
        r["partialFingerprints"][FINGERPRINT_KEY],
        format!("{:032x}", 3)
    );
    assert!(r.get("baselineState").is_none());

    // Suppressed by annotation: in source; by a config rule: external. Both with the reason.
    let suppressed: Vec<&Value> = results
        .iter()
        .filter(|r| !r["suppressions"].is_null())
        .collect();
    assert_eq!(suppressed.len(), 2);
    let annotation = suppressed
        .iter()
        .find(|r| r["ruleId"] == "failed_pod")
        .unwrap();
    assert_eq!(annotation["suppressions"][0]["kind"], "inSource");
    assert_eq!(
        annotation["suppressions"][0]["justification"],
        "annotation detek.io/ignore on namespace kube-system"
    );
    let rule = suppressed
        .iter()
        .find(|r| r["ruleId"] == "webhook_fail_closed")
        .unwrap();
    assert_eq!(rule["suppressions"][0]["kind"], "external");
    assert_eq!(
        rule["suppressions"][0]["justification"],
        "config ignore rule: known issue"
    );

    // Levels: a Fatal finding is an error, Warn a warning; a cluster-wide finding has no
    // location.
    let fatal = &results[0];
    assert_eq!(fatal["ruleId"], "webhook_fail_closed");
    assert_eq!(fatal["level"], "error");
    assert!(fatal["locations"][0].get("physicalLocation").is_none());
    assert!(
        results
            .iter()
            .filter(|r| r["ruleId"] == "image_tag_latest")
            .all(|r| r["level"] == "warning")
    );
    let cluster_wide = results
        .iter()
        .find(|r| r["ruleId"] == "node_not_ready")
        .unwrap();
    assert!(cluster_wide.get("locations").is_none());
}

#[test]
fn what_was_not_evaluated_is_a_notification_and_the_run_not_successful() {
    let value = sarif_value(&[representative(), healthy(), nothing_collected()]);
    let runs = value["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    // Several runs: each has its own category.
    assert_eq!(runs[1]["automationDetails"]["id"], "detek/prod-eu/");

    let partial = &runs[0]["invocations"][0];
    assert_eq!(partial["executionSuccessful"], false);
    let notes = partial["toolExecutionNotifications"].as_array().unwrap();
    let unknown = notes
        .iter()
        .find(|n| n["associatedRule"]["id"] == "secret_unused")
        .expect("the Unknown detector");
    assert_eq!(unknown["level"], "error");
    assert!(
        unknown["message"]["text"]
            .as_str()
            .unwrap()
            .contains("secrets is forbidden: 403")
    );
    // Input diagnostics keep their file and line.
    let diag = notes
        .iter()
        .find(|n| !n["locations"].is_null())
        .expect("a diagnostic with a location");
    assert_eq!(
        diag["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "manifests/broken.yaml"
    );
    assert_eq!(
        diag["locations"][0]["physicalLocation"]["region"]["startLine"],
        7
    );
    assert!(notes.iter().any(|n| n["message"]["text"]
        == "collector prometheus/alerts failed: connection refused (127.0.0.1:9090)"));
    let skipped = &partial["toolConfigurationNotifications"][0];
    assert!(
        skipped["message"]["text"]
            .as_str()
            .unwrap()
            .starts_with("node_kubelet_version_skew skipped")
    );

    let healthy = &runs[1]["invocations"][0];
    assert_eq!(healthy["executionSuccessful"], true);
    assert!(healthy.get("toolExecutionNotifications").is_none());
    assert_eq!(runs[1]["results"].as_array().unwrap().len(), 0);

    let nothing = &runs[2]["invocations"][0];
    assert_eq!(nothing["executionSuccessful"], false);
    assert!(
        nothing["toolExecutionNotifications"][0]["message"]["text"]
            .as_str()
            .unwrap()
            .starts_with("nothing could be collected")
    );
}

#[test]
fn a_detector_that_could_not_judge_is_a_note() {
    let mut list = healthy();
    list.reports[0].result = detek_core::ReportResult::NotJudged;
    list.reports[0].note = Some("no allowed registries configured".to_string());
    let value = sarif_value(&[list]);
    assert!(schema_errors(&value).is_empty());
    let invocation = &value["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], true);
    let note = &invocation["toolExecutionNotifications"][0];
    assert_eq!(note["level"], "note");
    assert_eq!(note["associatedRule"]["id"], "failed_pod");
    assert_eq!(
        note["message"]["text"],
        "failed_pod did not judge: no allowed registries configured"
    );
}

#[test]
fn baseline_states_and_paths() {
    let mut list = fingerprinted();
    for (i, f) in list.reports[1].findings.iter_mut().enumerate() {
        f.baseline = Some(if i == 0 {
            BaselineState::New
        } else {
            BaselineState::Known
        });
    }
    if let Some(src) = list.reports[1].findings[0]
        .object
        .as_mut()
        .and_then(|o| o.source.as_mut())
    {
        src.file = "/work/repo/k8s/shop.yaml".to_string();
    }
    let text = detek_render::sarif_with(
        std::slice::from_ref(&list),
        &SarifOptions {
            base_dir: Some(PathBuf::from("/work/repo")),
        },
    );
    let value: Value = serde_json::from_str(&text).unwrap();
    assert!(schema_errors(&value).is_empty());
    let results: Vec<&Value> = value["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ruleId"] == "failed_pod")
        .collect();
    assert_eq!(results[0]["baselineState"], "new");
    assert_eq!(results[1]["baselineState"], "unchanged");
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "k8s/shop.yaml"
    );
    // Without a base directory an absolute path is a file URI.
    let value = sarif_value(std::slice::from_ref(&list));
    let uri = value["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "failed_pod")
        .unwrap()["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        .clone();
    assert_eq!(uri, "file:///work/repo/k8s/shop.yaml");
}

#[test]
fn sarif_snapshot() {
    assert_snapshot(
        "representative.sarif",
        &detek_render::sarif(&[fingerprinted()]),
    );
}
