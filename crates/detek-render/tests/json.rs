//! The JSON contract: output validated against `docs/report-schema.json`, documented in
//! `docs/report-schema.md`, stable (snapshot), and readable back into the model.

mod common;

use common::*;
use detek_core::ReportList;
use serde_json::Value;
use std::path::PathBuf;

fn repo_file(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

fn schema() -> Value {
    let text = std::fs::read_to_string(repo_file("docs/report-schema.json")).expect("schema file");
    serde_json::from_str(&text).expect("schema is JSON")
}

/// A validator for the subset of JSON Schema (2020-12) that `docs/report-schema.json` uses.
/// It refuses any keyword it does not implement, so the schema cannot silently outgrow it, and
/// it is stricter than the schema in one way: every property in the output must be declared
/// (the schema itself lets readers accept unknown fields, but our output must be documented).
struct Validator<'a> {
    root: &'a Value,
    errors: Vec<String>,
}

impl<'a> Validator<'a> {
    fn new(root: &'a Value) -> Self {
        Validator {
            root,
            errors: Vec::new(),
        }
    }

    fn resolve(&self, reference: &str) -> &'a Value {
        let path = reference
            .strip_prefix("#/")
            .unwrap_or_else(|| panic!("only local $ref supported: {reference}"));
        let mut v = self.root;
        for part in path.split('/') {
            v = v
                .get(part)
                .unwrap_or_else(|| panic!("dangling $ref {reference}"));
        }
        v
    }

    fn check(&mut self, schema: &'a Value, value: &Value, at: &str) -> bool {
        let before = self.errors.len();
        let Some(obj) = schema.as_object() else {
            panic!("schema at {at} is not an object");
        };
        for (kw, arg) in obj {
            match kw.as_str() {
                "$schema" | "$id" | "title" | "description" | "$defs" => {}
                "$ref" => {
                    let target = self.resolve(arg.as_str().unwrap());
                    self.check(target, value, at);
                }
                "type" => {
                    let ok = match arg.as_str().unwrap() {
                        "object" => value.is_object(),
                        "array" => value.is_array(),
                        "string" => value.is_string(),
                        "boolean" => value.is_boolean(),
                        "number" => value.is_number(),
                        "integer" => value.is_u64() || value.is_i64(),
                        "null" => value.is_null(),
                        other => panic!("unknown type {other}"),
                    };
                    if !ok {
                        self.errors
                            .push(format!("{at}: expected {arg}, got {value}"));
                    }
                }
                "enum" => {
                    if !arg.as_array().unwrap().contains(value) {
                        self.errors.push(format!("{at}: {value} not in {arg}"));
                    }
                }
                "const" => {
                    if arg != value {
                        self.errors.push(format!("{at}: {value} is not {arg}"));
                    }
                }
                "minimum" => {
                    if let Some(n) = value.as_f64()
                        && n < arg.as_f64().unwrap()
                    {
                        self.errors.push(format!("{at}: {n} < {arg}"));
                    }
                }
                "format" => {
                    assert_eq!(arg, "date-time", "only date-time format supported");
                    if let Some(s) = value.as_str()
                        && s.parse::<jiff::Timestamp>().is_err()
                    {
                        self.errors.push(format!("{at}: {s:?} is not a date-time"));
                    }
                }
                "required" => {
                    if let Some(o) = value.as_object() {
                        for name in arg.as_array().unwrap() {
                            let name = name.as_str().unwrap();
                            if !o.contains_key(name) {
                                self.errors
                                    .push(format!("{at}: missing required field {name:?}"));
                            }
                        }
                    }
                }
                "properties" => {
                    if let Some(o) = value.as_object() {
                        let props = arg.as_object().unwrap();
                        for (name, v) in o {
                            match props.get(name) {
                                Some(s) => {
                                    self.check(s, v, &format!("{at}.{name}"));
                                }
                                None if obj.contains_key("additionalProperties") => {}
                                None => self
                                    .errors
                                    .push(format!("{at}: field {name:?} is not in the schema")),
                            }
                        }
                    }
                }
                "additionalProperties" => {
                    if let Some(o) = value.as_object() {
                        let declared = obj.get("properties").and_then(Value::as_object);
                        for (name, v) in o {
                            if declared.is_none_or(|p| !p.contains_key(name)) {
                                self.check(arg, v, &format!("{at}[{name:?}]"));
                            }
                        }
                    }
                }
                "items" => {
                    if let Some(a) = value.as_array() {
                        for (i, v) in a.iter().enumerate() {
                            self.check(arg, v, &format!("{at}[{i}]"));
                        }
                    }
                }
                "oneOf" => {
                    let mut matched = 0;
                    let mut why = Vec::new();
                    for alt in arg.as_array().unwrap() {
                        let mut sub = Validator::new(self.root);
                        if sub.check(alt, value, at) {
                            matched += 1;
                        } else {
                            why.extend(sub.errors);
                        }
                    }
                    if matched != 1 {
                        self.errors.push(format!(
                            "{at}: matches {matched} of oneOf alternatives; {why:?}"
                        ));
                    }
                }
                other => panic!("schema keyword {other:?} at {at} is not supported by this test"),
            }
        }
        self.errors.len() == before
    }
}

fn validate(value: &Value) -> Vec<String> {
    let schema = schema();
    let mut v = Validator::new(&schema);
    v.check(&schema, value, "$");
    v.errors
}

#[test]
fn representative_report_matches_schema() {
    for list in [representative(), healthy(), nothing_collected(), hostile()] {
        let out = detek_render::json(&list);
        let value: Value = serde_json::from_str(&out).expect("valid JSON");
        let errors = validate(&value);
        assert!(errors.is_empty(), "schema errors: {errors:#?}");
    }
}

#[test]
fn multi_cluster_document_matches_schema() {
    let lists = [representative(), healthy(), nothing_collected()];
    let value: Value = serde_json::from_str(&detek_render::json_many(&lists)).unwrap();
    let errors = validate(&value);
    assert!(errors.is_empty(), "schema errors: {errors:#?}");
    // Zero and one list keep the same shape.
    for lists in [&[][..], &lists[..1]] {
        let value: Value = serde_json::from_str(&detek_render::json_many(lists)).unwrap();
        assert!(validate(&value).is_empty());
        assert_eq!(value["clusters"].as_array().unwrap().len(), lists.len());
    }
}

/// `--baseline` marks every finding `new` or `known` (schema and model agree).
#[test]
fn baseline_marks_match_schema() {
    let mut list = representative();
    for (i, f) in list.reports[1].findings.iter_mut().enumerate() {
        f.baseline = Some(if i == 0 {
            detek_core::BaselineState::New
        } else {
            detek_core::BaselineState::Known
        });
    }
    let out = detek_render::json(&list);
    let value: Value = serde_json::from_str(&out).unwrap();
    assert!(validate(&value).is_empty(), "{:?}", validate(&value));
    assert_eq!(value["reports"][1]["findings"][0]["baseline"], "new");
    assert_eq!(value["reports"][1]["findings"][1]["baseline"], "known");
    assert!(value["reports"][0]["findings"][0].get("baseline").is_none());
    let back: ReportList = serde_json::from_str(&out).unwrap();
    assert_eq!(detek_render::json(&back), out);
    let mut bad = value;
    bad["reports"][1]["findings"][0]["baseline"] = Value::from("old");
    assert!(!validate(&bad).is_empty());
}

#[test]
fn validator_catches_broken_reports() {
    let good: Value = serde_json::from_str(&detek_render::json(&representative())).unwrap();
    let mut cases: Vec<(&str, Value)> = Vec::new();
    let mut v = good.clone();
    v.as_object_mut().unwrap().remove("started_at");
    cases.push(("started_at", v));
    let mut v = good.clone();
    v["reports"][0]["level"] = Value::from("Critical");
    cases.push(("Critical", v));
    let mut v = good.clone();
    v["reports"][1]["findings"][0]
        .as_object_mut()
        .unwrap()
        .remove("message");
    cases.push(("message", v));
    let mut v = good.clone();
    v["status"] = Value::from("done");
    cases.push(("done", v));
    let mut v = good.clone();
    v["reports"][0]["undocumented"] = Value::from(1);
    cases.push(("undocumented", v));
    let mut v = good.clone();
    v["finished_at"] = Value::from("yesterday");
    cases.push(("yesterday", v));
    let mut v = good;
    v["summary"]["fatal"] = Value::from(-1);
    cases.push(("-1", v));
    for (what, value) in cases {
        let errors = validate(&value);
        assert!(
            errors.iter().any(|e| e.contains(what)),
            "{what}: not caught: {errors:?}"
        );
    }
}

#[test]
fn kakao_detek_fields_are_present() {
    let value: Value = serde_json::from_str(&detek_render::json(&representative())).unwrap();
    for field in ["started_at", "finished_at", "reports"] {
        assert!(value.get(field).is_some(), "{field}");
    }
    let failed = value["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "failed_pod")
        .unwrap();
    for field in [
        "id",
        "description",
        "labels",
        "created_at",
        "level",
        "problem",
        "attachment",
    ] {
        assert!(failed.get(field).is_some(), "reports[].{field}");
    }
    assert_eq!(failed["level"], "Error");
    assert_eq!(
        failed["problem"]["description"],
        "1 finding(s): Pods in phase Failed"
    );
}

#[test]
fn json_round_trips_through_the_model() {
    let list = representative();
    let out = detek_render::json(&list);
    assert!(out.ends_with("}\n"));
    let back: ReportList = serde_json::from_str(&out).expect("reads back");
    assert_eq!(detek_render::json(&back), out);

    let many = detek_render::json_many(&[list.clone(), healthy()]);
    let value: Value = serde_json::from_str(&many).unwrap();
    assert_eq!(value["schemaVersion"], 1);
    assert_eq!(value["tool"], "detek");
    assert_eq!(value["version"], env!("CARGO_PKG_VERSION"));
    let lists: Vec<ReportList> = serde_json::from_value(value["clusters"].clone()).unwrap();
    assert_eq!(lists.len(), 2);
    assert_eq!(detek_render::json(&lists[0]), out);
    // The wrapper's keys, in this order, before the first cluster.
    assert!(many.starts_with(&format!(
        "{{\n  \"schemaVersion\": 1,\n  \"tool\": \"detek\",\n  \"version\": \"{}\",\n  \"clusters\": [\n    {{\n      \"schemaVersion\": 1,",
        env!("CARGO_PKG_VERSION")
    )));
    assert_eq!(value.as_object().unwrap().len(), 4);
}

#[test]
fn json_snapshot() {
    assert_snapshot(
        "representative.json",
        &detek_render::json(&representative()),
    );
}

/// Every property the schema declares is documented in report-schema.md, as `name` in a table.
#[test]
fn schema_fields_are_documented() {
    let doc = std::fs::read_to_string(repo_file("docs/report-schema.md")).expect("doc");
    let schema = schema();
    let defs = schema["$defs"].as_object().unwrap();
    let mut missing = Vec::new();
    for (def, s) in defs {
        if !doc.contains(&format!("### {def}")) && s.get("properties").is_some() {
            missing.push(format!("section ### {def}"));
        }
        let Some(props) = s.get("properties").and_then(Value::as_object) else {
            continue;
        };
        let section = section(&doc, def);
        for name in props.keys() {
            if !section.contains(&format!("| `{name}` |")) {
                missing.push(format!("{def}.{name}"));
            }
        }
    }
    for level in ["Fatal", "Error", "Warn", "Unknown", "Normal"] {
        if !doc.contains(&format!("`{level}`")) {
            missing.push(level.to_string());
        }
    }
    for status in ["complete", "partial", "nothing_collected"] {
        if !doc.contains(&format!("`{status}`")) {
            missing.push(status.to_string());
        }
    }
    assert!(missing.is_empty(), "not documented: {missing:?}");
}

fn section<'d>(doc: &'d str, def: &str) -> &'d str {
    let head = format!("### {def}\n");
    let Some(start) = doc.find(&head) else {
        return "";
    };
    let rest = &doc[start + head.len()..];
    let end = rest
        .find("\n### ")
        .or_else(|| rest.find("\n## "))
        .unwrap_or(rest.len());
    &rest[..end]
}
