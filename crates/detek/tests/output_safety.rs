//! Output safety, end to end: objects whose names, labels, annotations, event messages and
//! status messages carry HTML/JS and terminal control sequences are scanned by the `detek`
//! binary and rendered as html, table and json. The rendered output is checked, not the
//! escaping functions (those are tested in detek-render).
//!
//! SARIF and JUnit renderers do not exist yet; they get the same test when they land.

use assert_cmd::Command;
use serde_json::{Value, json};
use std::path::Path;

const SCRIPT: &str = "<script>alert(\"xss-1\")</script>";
const ATTR: &str = "\"><img src=x onerror=alert('xss-2')>";
/// Clear screen, set the window title (OSC … BEL), one-byte CSI, carriage return, backspace,
/// and a right-to-left override.
const TERM: &str = "\u{1b}[2J\u{1b}]0;pwned\u{7}\u{9b}31m\r\u{8}\u{202e}evil";

/// A snapshot where every string a finding can show is `bad(...)`.
fn objects(bad: &dyn Fn(&str) -> String) -> Value {
    json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": bad("failed"), "namespace": bad("ns"),
                      "labels": {"app": bad("label")}, "annotations": {"note": bad("annotation")}},
         "spec": {"containers": [{"name": bad("c"), "image": format!("{}:latest", bad("img"))}]},
         "status": {"phase": "Failed", "reason": bad("reason"), "message": bad("status")}},
        {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": bad("pulling"), "namespace": "shop"},
         "spec": {"containers": [{"name": "app", "image": "registry.example.com/app:1.0"}]},
         "status": {"phase": "Pending", "containerStatuses": [{
             "name": "app", "image": "registry.example.com/app:1.0", "imageID": "", "ready": false,
             "restartCount": 0,
             "state": {"waiting": {"reason": "ImagePullBackOff", "message": bad("waiting")}}}]}},
        {"apiVersion": "v1", "kind": "Event",
         "metadata": {"name": "e1", "namespace": "shop"},
         "type": "Warning", "reason": bad("event-reason"), "message": bad("event"), "count": 3,
         "involvedObject": {"kind": "Pod", "name": bad("involved"), "namespace": "shop"},
         "lastTimestamp": "2026-01-01T00:00:00Z"},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": bad("svc"), "namespace": "shop"},
         "spec": {"selector": {"app": bad("selector")}, "ports": [{"port": 80}]}}
    ]})
}

fn hostile(what: &str) -> String {
    format!("{what}-{SCRIPT}-{ATTR}-{TERM}")
}

fn benign(what: &str) -> String {
    format!("{what}-plain")
}

struct Run {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

fn run(input: &Path, format: &str) -> Run {
    let out = Command::cargo_bin("detek")
        .unwrap()
        .args(["run", "all", "--fail-on", "never", "-f", format, "--input"])
        .arg(input)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Run {
        stdout: out.stdout,
        stderr: out.stderr,
    }
}

fn write(dir: &Path, name: &str, value: &Value) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(value).unwrap()).unwrap();
    path
}

/// Every tag of an HTML document with its attribute names, sorted: the document's structure,
/// whatever the text and attribute values.
fn markup(html: &str) -> Vec<String> {
    let bytes = html.as_bytes();
    let mut tags = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'<'
            && bytes
                .get(i + 1)
                .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'/')
        {
            let mut j = i + 1;
            let mut tag = String::new();
            let mut quote = None;
            let mut in_value = false;
            while j < bytes.len() {
                let b = bytes[j];
                match quote {
                    Some(q) if b == q => quote = None,
                    Some(_) => {}
                    None if b == b'"' || b == b'\'' => quote = Some(b),
                    None if b == b'>' => break,
                    None if b == b'=' => in_value = true,
                    None if b.is_ascii_whitespace() => {
                        in_value = false;
                        tag.push(' ');
                    }
                    None if !in_value => tag.push(b as char),
                    None => {}
                }
                j += 1;
            }
            tags.push(tag.split_whitespace().collect::<Vec<_>>().join(" "));
            i = j;
        }
        i += 1;
    }
    tags.sort();
    tags
}

/// Control characters HTML does not allow.
fn html_controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
        .collect()
}

/// Control characters a terminal acts on (tab and newline are layout).
fn terminal_controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|c| {
            (c.is_control() && !matches!(c, '\n' | '\t'))
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect()
}

#[test]
fn hostile_strings_are_inert_in_html_table_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(dir.path(), "hostile.json", &objects(&hostile));
    let good = write(dir.path(), "benign.json", &objects(&benign));

    // JSON: valid, carries each string exactly, with the control characters escaped.
    let json_run = run(&bad, "json");
    assert!(!json_run.stdout.contains(&0x1b), "raw ESC in JSON output");
    let report: Value = serde_json::from_slice(&json_run.stdout).expect("valid JSON");
    let findings: Vec<&Value> = report["reports"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["findings"].as_array().unwrap())
        .collect();
    let failed = findings
        .iter()
        .find(|f| f["object"]["name"] == hostile("failed"))
        .expect("failed_pod names the Pod, byte for byte");
    assert_eq!(failed["object"]["namespace"], hostile("ns"));
    let text = String::from_utf8(json_run.stdout.clone()).unwrap();
    for shown in ["status", "waiting", "event", "img"] {
        let escaped = serde_json::to_string(&hostile(shown)).unwrap();
        let escaped = &escaped[1..escaped.len() - 1];
        assert!(text.contains(escaped), "{shown} is not in the JSON report");
    }
    assert!(text.contains("\\u001b[2J"));

    // HTML: no markup from the data; the report's own structure is the same as for benign data.
    let html_bad = String::from_utf8(run(&bad, "html").stdout).unwrap();
    let html_good = String::from_utf8(run(&good, "html").stdout).unwrap();
    assert!(html_bad.starts_with("<!DOCTYPE html>") || html_bad.starts_with("<!doctype html>"));
    for raw in ["<script>alert(", "<img"] {
        assert!(!html_bad.contains(raw), "raw {raw:?} in the HTML report");
    }
    assert_eq!(
        markup(&html_bad),
        markup(&html_good),
        "hostile data changed the report's tags or attributes"
    );
    assert!(
        html_bad.contains("&lt;script&gt;alert(&quot;xss-1&quot;)&lt;/script&gt;"),
        "the escaped data is shown"
    );
    assert!(html_bad.contains("&quot;&gt;&lt;img src=x onerror=alert(&#39;xss-2&#39;)&gt;"));
    // Control characters HTML does not allow (ESC, BEL, C1...) are replaced. Carriage returns
    // are legal HTML and inert; bidi overrides are passed through (display only: see
    // docs/security.md).
    assert_eq!(html_controls(&html_bad), Vec::<char>::new());

    // Table: no control sequence from the data reaches the terminal; it is shown escaped.
    let table_run = run(&bad, "table");
    let table = String::from_utf8(table_run.stdout.clone()).unwrap();
    assert_eq!(terminal_controls(&table), Vec::<char>::new(), "{table}");
    assert!(table.contains("\\x1b[2J"), "{table}");
    assert!(table.contains("\\u{202e}evil"), "{table}");
    assert!(table.contains("Pod failed: reason-<script>"), "{table}");

    // Nothing on stderr either, in any format.
    for run in [&json_run, &table_run] {
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(terminal_controls(&stderr), Vec::<char>::new(), "{stderr}");
    }
}

#[test]
fn hostile_file_names_and_malformed_documents_are_inert_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("evil-{TERM}-{SCRIPT}.yaml").replace('/', "_");
    // A malformed document (its error names the file and line) and one the model cannot type.
    std::fs::write(
        dir.path().join(&name),
        format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ok\n---\nkey: [unclosed {TERM}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: \"{}\"\nspec: {{containers: 7}}\n",
            TERM.escape_default()
        ),
    )
    .unwrap();
    for format in ["table", "json", "html"] {
        let out = Command::cargo_bin("detek")
            .unwrap()
            .args(["run", "--fail-on", "never", "-f", format, "--input"])
            .arg(dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("evil-"),
            "{format}: the file is named: {stderr}"
        );
        assert_eq!(
            terminal_controls(&stderr),
            Vec::<char>::new(),
            "{format}: {stderr:?}"
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        if format == "json" {
            let report: Value = serde_json::from_str(&stdout).expect("valid JSON");
            let diagnostics = report["collectors"][0]["diagnostics"].to_string();
            assert!(diagnostics.contains("evil-"), "{diagnostics}");
        } else if format == "html" {
            assert_eq!(html_controls(&stdout), Vec::<char>::new());
            assert!(!stdout.contains("<script>alert("));
        } else {
            assert_eq!(terminal_controls(&stdout), Vec::<char>::new());
        }
    }
}
