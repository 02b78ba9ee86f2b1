//! Resource bombs: hostile input is refused or read within the documented limits
//! (docs/security.md, `ingest::MAX_*`), fast, and the rest of the input is still read.
//!
//! The inputs are generated here. Time bounds are for a debug build on a slow shared machine;
//! the largest variants (500k-item List, values limit in YAML) run only with
//! `DETEK_BOMBS_FULL=1` (they take minutes in a debug build; see each test).

use detek_core::Diagnostic;
use detek_kubernetes_model::ingest::{
    self, FileContents, Input, MAX_DOCUMENT_BYTES, MAX_FILE_BYTES, MAX_JSON_DEPTH,
    MAX_VALUES_PER_DOCUMENT, MAX_YAML_DEPTH, parse_text,
};
use detek_kubernetes_model::model::ObjectSet;
use std::fmt::Write;
use std::time::{Duration, Instant};

fn full() -> bool {
    std::env::var_os("DETEK_BOMBS_FULL").is_some()
}

/// Parse `text` as the file `name`, timing it.
fn parse(name: &str, text: &str) -> (FileContents, Duration) {
    let start = Instant::now();
    let out = parse_text(name, text);
    (out, start.elapsed())
}

/// Parse and type the documents, as a scan does.
fn scan(name: &str, text: &str) -> (ObjectSet, Duration) {
    let start = Instant::now();
    let out = parse_text(name, text);
    let mut set = ObjectSet::new();
    out.add_to(&mut set);
    set.finish();
    (set, start.elapsed())
}

fn namespace_yaml(name: &str) -> String {
    format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n")
}

fn names(out: &FileContents) -> Vec<String> {
    out.objects.summaries().map(|s| s.name.clone()).collect()
}

fn one_error(diagnostics: &[Diagnostic]) -> &Diagnostic {
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    &diagnostics[0]
}

fn line_of(d: &Diagnostic) -> u32 {
    d.source.as_ref().expect("a file and line").line
}

/// Ten anchors, each a list of ten aliases to the previous one: 10^10 strings when expanded.
fn billion_laughs() -> String {
    let mut s = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lol\ndata:\n  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for i in 1..10 {
        let p = i - 1;
        let _ = writeln!(
            s,
            "  a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]"
        );
    }
    s
}

#[test]
fn billion_laughs_is_refused_at_once_and_the_rest_of_the_file_is_read() {
    let text = format!(
        "{}---\n{}---\n{}",
        namespace_yaml("before"),
        billion_laughs(),
        namespace_yaml("after")
    );
    let (out, took) = parse("laughs.yaml", &text);
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert_eq!(names(&out), ["before", "after"]);
    let d = one_error(&out.diagnostics);
    assert!(
        d.message.contains("YAML alias expansion limit"),
        "{}",
        d.message
    );
    let doc_lines = 6..=20;
    assert!(doc_lines.contains(&line_of(d)), "line {}", line_of(d));
    assert_eq!(d.source.as_ref().unwrap().file, "laughs.yaml");

    // The same bomb 500 times over costs linear time, not 500 bombs.
    let many: String = (0..500)
        .map(|_| format!("---\n{}", billion_laughs()))
        .collect();
    let (out, took) = parse("many.yaml", &many);
    assert_eq!(out.diagnostics.len(), 500);
    assert!(took < Duration::from_secs(20), "took {took:?}");
}

#[test]
fn a_big_scalar_repeated_by_aliases_is_refused() {
    let mut text = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  a: &big \"{}\"\n  list: [",
        "x".repeat(1 << 20)
    );
    for _ in 0..10_000 {
        text.push_str("*big, ");
    }
    text.push_str("]\n");
    let (out, took) = parse("scalar.yaml", &text);
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(out.objects.is_empty());
    let d = one_error(&out.diagnostics);
    assert!(
        d.message.contains("YAML alias expansion limit"),
        "{}",
        d.message
    );
}

#[test]
fn ordinary_anchors_and_aliases_still_work() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    image: nginx\n    env: &env\n    - {name: A, value: \"1\"}\n    - {name: B, value: \"2\"}\n    resources: &res {limits: {memory: 1Gi}}\n  - name: b\n    image: busybox\n    env: *env\n    resources: *res\n";
    let (set, _) = scan("anchors.yaml", text);
    assert!(set.diagnostics.is_empty(), "{:?}", set.diagnostics);
    let containers = &set.pods[0].spec.as_ref().unwrap().containers;
    assert_eq!(containers[0].env, containers[1].env);
    let env = containers[1].env.as_ref().unwrap();
    assert_eq!(env[1].value.as_deref(), Some("2"));
    assert_eq!(containers[0].resources, containers[1].resources);
}

fn nested_block_yaml(depth: usize) -> String {
    let mut s = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\nx:\n");
    for i in 0..depth {
        let _ = writeln!(s, "{}k{i}:", " ".repeat(2 * (i + 1)));
    }
    let _ = writeln!(s, "{}leaf", " ".repeat(2 * (depth + 1)));
    s
}

fn nested_flow(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

#[test]
fn deep_yaml_is_refused_with_its_line_and_the_rest_is_read() {
    for (what, bomb) in [
        ("block", nested_block_yaml(MAX_YAML_DEPTH + 10)),
        (
            "flow",
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\nx: {}\n",
                nested_flow(MAX_YAML_DEPTH + 10)
            ),
        ),
        (
            "flow, 100k levels",
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\nx: {}\n",
                nested_flow(100_000)
            ),
        ),
    ] {
        let text = format!(
            "{}---\n{bomb}---\n{}",
            namespace_yaml("before"),
            namespace_yaml("after")
        );
        let (out, took) = parse("deep.yaml", &text);
        assert!(took < Duration::from_secs(2), "{what}: took {took:?}");
        assert_eq!(names(&out), ["before", "after"], "{what}");
        let d = one_error(&out.diagnostics);
        assert!(
            d.message
                .contains(&format!("nested deeper than {MAX_YAML_DEPTH} levels")),
            "{what}: {}",
            d.message
        );
        assert!(line_of(d) >= 6, "{what}: line {}", line_of(d));
    }
    // Deep but within the limit (big CRD schemas nest about 30 levels).
    for text in [nested_block_yaml(60), format!("a: {}\n", nested_flow(60))] {
        let (out, _) = parse("ok.yaml", &text);
        assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
    }
}

#[test]
fn deep_json_is_refused_with_its_line() {
    for depth in [MAX_JSON_DEPTH + 1, 100_000] {
        let text = format!(
            "{{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{{\"name\":\"before\"}}}}\n{{\"x\":\n{}}}\n",
            nested_flow(depth)
        );
        let (out, took) = parse("deep.json", &text);
        assert!(took < Duration::from_secs(2), "took {took:?}");
        // A JSON file over a limit is not read at all (JSON dumps are one document, a List).
        assert!(out.is_empty());
        let d = one_error(&out.diagnostics);
        assert_eq!(
            d.message,
            format!("file not read: JSON nested deeper than {MAX_JSON_DEPTH} levels (limit)")
        );
        assert_eq!(line_of(d), 3);
    }
    // At the limit: read (and typed: serde_json's own limit is the same).
    let text = format!(
        "{{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{{\"name\":\"deep\"}},\"x\":{}}}",
        nested_flow(MAX_JSON_DEPTH - 1)
    );
    let (set, _) = scan("ok.json", &text);
    assert!(set.diagnostics.is_empty(), "{:?}", set.diagnostics);
    assert_eq!(set.configmaps.len(), 1);
}

#[test]
fn a_50_mib_annotation_is_read() {
    let big = "x".repeat(50 << 20);
    let yaml = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\n  annotations:\n    a: \"{big}\"\n---\n{}",
        namespace_yaml("after")
    );
    let json = format!(
        "{{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{{\"name\":\"big\",\"annotations\":{{\"a\":\"{big}\"}}}}}}\n{{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{{\"name\":\"after\"}}}}\n"
    );
    drop(big);
    for (name, text) in [("big.yaml", yaml), ("big.json", json)] {
        let (set, took) = scan(name, &text);
        drop(text);
        assert!(set.diagnostics.is_empty(), "{name}: {:?}", set.diagnostics);
        assert_eq!(set.configmaps.len(), 1, "{name}");
        let annotations = set.configmaps[0].metadata.annotations.as_ref().unwrap();
        assert_eq!(annotations["a"].len(), 50 << 20, "{name}");
        assert_eq!(set.namespaces.len(), 1, "{name}");
        assert!(took < Duration::from_secs(60), "{name}: took {took:?}");
    }
}

#[test]
fn a_file_over_the_size_limit_is_streamed_and_an_oversized_document_refused() {
    let dir = tempfile::tempdir().unwrap();
    let huge = dir.path().join("huge.yaml");
    // One line of MAX_FILE_BYTES zero bytes (sparse: no disk used), then two documents.
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut file = std::fs::File::create(&huge).unwrap();
        file.set_len(MAX_FILE_BYTES + 1).unwrap();
        file.seek(SeekFrom::End(0)).unwrap();
        write!(
            file,
            "\n---\n{}---\n{}",
            namespace_yaml("after-1"),
            namespace_yaml("after-2")
        )
        .unwrap();
    }
    std::fs::write(dir.path().join("ok.yaml"), namespace_yaml("ok")).unwrap();
    let mut set = ObjectSet::new();
    let start = Instant::now();
    ingest::load(&[Input::Path(dir.path().to_path_buf())], &mut set);
    set.finish();
    assert!(start.elapsed() < Duration::from_secs(30));
    let names: Vec<&str> = set
        .namespaces
        .iter()
        .map(|n| n.metadata.name.as_deref().unwrap())
        .collect();
    assert_eq!(names, ["after-1", "after-2", "ok"]);
    let d = one_error(&set.diagnostics);
    let source = d.source.as_ref().unwrap();
    assert!(source.file.ends_with("huge.yaml"), "{}", source.file);
    assert_eq!(source.line, 1);
    assert!(
        d.message
            .contains(&format!("over {MAX_DOCUMENT_BYTES} bytes (limit)")),
        "{}",
        d.message
    );
    // The later documents keep their lines.
    let after = set.namespaces[1].origin.source.as_ref().unwrap();
    assert_eq!(after.line, 8);
}

fn tiny_documents(n: usize) -> String {
    let mut s = String::with_capacity(n * 24);
    for i in 0..n {
        let _ = write!(s, "---\nkind: x\napiVersion: v{i}\n");
    }
    s
}

#[test]
fn more_tiny_yaml_documents_than_a_file_used_to_allow_are_read() {
    // 120k (over the 100k documents a file could hold before files were streamed) with
    // DETEK_BOMBS_FULL; 20k in CI (a debug build).
    let n = if full() { 120_000 } else { 20_000 };
    let (set, took) = scan("many.yaml", &tiny_documents(n));
    eprintln!("{n} tiny YAML documents: {took:?}");
    assert!(set.diagnostics.is_empty(), "{:?}", &set.diagnostics[..1]);
    assert_eq!(set.objects.len(), n);
    assert_eq!(set.untyped_objects, n as u64);
    assert_eq!(
        set.objects[n - 1].source.as_ref().unwrap().line,
        3 * n as u32 - 1
    );
}

#[test]
fn many_tiny_yaml_documents_are_read_with_their_lines() {
    // 10k in CI (about 4 s in a debug build); 100k with DETEK_BOMBS_FULL.
    let n = if full() { 100_000 } else { 10_000 };
    let text: String = (0..n)
        .map(|i| format!("---\n{}", namespace_yaml(&format!("n{i}"))))
        .collect();
    let (set, took) = scan("many.yaml", &text);
    eprintln!("{n} YAML documents: {took:?}");
    assert!(set.diagnostics.is_empty(), "{:?}", &set.diagnostics[..1]);
    assert_eq!(set.namespaces.len(), n);
    assert_eq!(
        set.namespaces[n - 1].origin.source.as_ref().unwrap().line,
        5 * n as u32 - 3
    );
}

#[test]
fn a_million_tiny_json_documents_are_counted_not_kept() {
    for (what, text) in [
        ("stream", "{}\n".repeat(1_000_000)),
        ("array", format!("[{}{{}}]", "{},".repeat(999_999))),
    ] {
        let (set, took) = scan("million.json", &text);
        assert!(took < Duration::from_secs(30), "{what}: took {took:?}");
        assert!(set.diagnostics.is_empty(), "{what}");
        assert!(set.objects.is_empty(), "{what}");
        assert_eq!(set.skipped_documents, 1_000_000, "{what}");
    }
}

fn json_list(n: usize) -> String {
    let mut s = String::from("{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[");
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(
            s,
            "{{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{{\"name\":\"n{i}\"}}}}"
        );
    }
    s.push_str("]}\n");
    s
}

fn yaml_list(n: usize) -> String {
    let mut s = String::from("apiVersion: v1\nkind: List\nitems:\n");
    for i in 0..n {
        let _ = write!(
            s,
            "- apiVersion: v1\n  kind: Namespace\n  metadata:\n    name: n{i}\n    labels: {{team: a}}\n"
        );
    }
    s
}

#[test]
fn a_list_of_500k_items_is_read() {
    // In CI: 100k items in JSON (about 5 s in a debug build) and 40k in YAML (320k values: over
    // serde-saphyr's default budget of 250k, which refused `kubectl get -o yaml` dumps of
    // about 35k objects or more whole; about 15 s, the YAML parser is slow in a debug build).
    // The full 500k in both with DETEK_BOMBS_FULL (minutes in a debug build).
    let (json_n, yaml_n) = if full() {
        (500_000, 500_000)
    } else {
        (100_000, 40_000)
    };
    for (name, n, text) in [
        ("list.json", json_n, json_list(json_n)),
        ("list.yaml", yaml_n, yaml_list(yaml_n)),
    ] {
        let (set, took) = scan(name, &text);
        eprintln!("{name}: {n} items in {took:?}");
        assert!(set.diagnostics.is_empty(), "{name}: {:?}", set.diagnostics);
        assert_eq!(set.namespaces.len(), n, "{name}");
        assert_eq!(set.objects.len(), n, "{name}");
    }
}

#[test]
fn a_file_of_too_many_values_is_not_read() {
    // 2 bytes a value: 32 MiB of JSON is over the limit.
    let n = MAX_VALUES_PER_DOCUMENT as usize + 1;
    let mut text = String::with_capacity(2 * n + 64);
    text.push_str(
        "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"dense\"},\"x\":[",
    );
    for _ in 0..n {
        text.push_str("0,");
    }
    text.push_str("0]}\n");
    let (out, took) = parse("dense.json", &text);
    assert!(took < Duration::from_secs(60), "took {took:?}");
    assert!(out.objects.is_empty());
    let d = one_error(&out.diagnostics);
    assert!(
        d.message
            .contains(&format!("more than {MAX_VALUES_PER_DOCUMENT} values")),
        "{}",
        d.message
    );
    if !full() {
        return;
    }
    // The same in YAML (minutes in a debug build).
    let text = format!("x: [{}0]\n", "0, ".repeat(n));
    let (out, _) = parse("dense.yaml", &text);
    assert!(out.objects.is_empty());
    let d = one_error(&out.diagnostics);
    assert!(
        d.message
            .contains(&format!("more than {MAX_VALUES_PER_DOCUMENT} values")),
        "{}",
        d.message
    );
}
