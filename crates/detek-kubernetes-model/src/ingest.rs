//! Reading snapshots: files, directories (recursive) and stdin; multi-document YAML, JSON
//! (objects, arrays, concatenated streams), `kind: List` and `*List` wrappers.
//!
//! A malformed document is reported with its file and line and skipped; every other
//! document is still read.
//!
//! Input limits (docs/security.md): a file over [`MAX_FILE_BYTES`], with more than
//! [`MAX_DOCUMENTS_PER_FILE`] documents or more than [`MAX_VALUES_PER_FILE`] values is not read
//! at all (one error names the file and the line where the limit was crossed); a document
//! nested deeper than [`MAX_YAML_DEPTH`] (YAML) or [`MAX_JSON_DEPTH`] (JSON), or whose YAML
//! aliases expand beyond its own size, is refused like a malformed one. The other documents and
//! files are still read.

use crate::model::ObjectSet;
use detek_core::{Diagnostic, Level, SourceLocation};
use rayon::prelude::*;
use serde_json::Value;
use serde_json::value::RawValue;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Files larger than this are refused (with a diagnostic), not read.
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// Documents in one file: YAML documents, and for JSON the values of a stream and the items of
/// a top-level array (a `kind: List` counts as one). A file with more is not read.
pub const MAX_DOCUMENTS_PER_FILE: usize = 100_000;

/// Values (mappings, sequences and scalars) in one file, all documents together: bounds the
/// memory a file can take however dense it is (a 256 MiB dump of real objects has about 13
/// million). A file with more is not read.
pub const MAX_VALUES_PER_FILE: u64 = 16 * 1024 * 1024;

/// Nesting of mappings and sequences in one YAML document: serde-saphyr's default, which keeps
/// its recursive parser within a 2 MiB thread stack even in a debug build (90 levels do not).
/// A deeper document is refused.
pub const MAX_YAML_DEPTH: usize = 64;

/// Nesting in one JSON document: serde_json's own limit. A deeper document is refused.
pub const MAX_JSON_DEPTH: usize = 128;

/// One `--input`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file or a directory (read recursively: `*.yaml`, `*.yml`, `*.json`).
    Path(PathBuf),
    /// Standard input (`-`).
    Stdin,
    /// In-memory text, e.g. the embedded demo snapshot.
    Text { name: String, text: String },
}

impl Input {
    pub fn parse(arg: &str) -> Input {
        if arg == "-" {
            Input::Stdin
        } else {
            Input::Path(PathBuf::from(arg))
        }
    }
}

/// A document read from a file, before typing.
pub struct Document {
    pub value: Value,
    pub source: SourceLocation,
}

/// A JSON document kept as text: `text[start..end]`.
pub struct JsonDocument {
    pub text: Arc<str>,
    pub start: usize,
    pub end: usize,
    pub source: SourceLocation,
}

/// What reading one file gave.
#[derive(Default)]
pub struct FileContents {
    /// YAML documents, parsed.
    pub documents: Vec<Document>,
    /// JSON documents, as text.
    pub json: Vec<JsonDocument>,
    pub diagnostics: Vec<Diagnostic>,
}

impl FileContents {
    /// Number of top-level documents.
    pub fn len(&self) -> usize {
        self.documents.len() + self.json.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Hand every document (and diagnostic) to `set`.
    pub fn add_to(self, set: &mut ObjectSet) {
        set.diagnostics.extend(self.diagnostics);
        for doc in self.documents {
            set.add_value(doc.value, Some(doc.source));
        }
        for doc in self.json {
            set.add_json(&doc.text, doc.start, doc.end, Some(doc.source));
        }
    }
}

/// Read every input into `set`. Unreadable paths become diagnostics.
pub fn load(inputs: &[Input], set: &mut ObjectSet) {
    let read = read_inputs(inputs);
    set.diagnostics.extend(read.diagnostics);
    for file in read.files {
        file.contents.add_to(set);
    }
}

/// One file read and parsed.
pub struct ReadFile {
    /// The path as shown in sources (`dumps/a.json`, `<stdin>`).
    pub name: String,
    /// The directory of the `--input` it was found under (itself for a file given by name);
    /// `None` for stdin and in-memory text.
    pub root: Option<PathBuf>,
    pub contents: FileContents,
}

/// Every input read and parsed, in path order (the order of the inputs, files sorted by name).
#[derive(Default)]
pub struct ReadInputs {
    pub files: Vec<ReadFile>,
    /// Problems with the inputs themselves (a missing path, an unreadable directory entry).
    pub diagnostics: Vec<Diagnostic>,
}

/// Read and parse every input, in parallel. Unreadable paths become diagnostics.
pub fn read_inputs(inputs: &[Input]) -> ReadInputs {
    let mut diagnostics = Vec::new();
    let mut files: Vec<(String, Option<PathBuf>, FileSource)> = Vec::new();
    for input in inputs {
        match input {
            Input::Stdin => files.push(("<stdin>".into(), None, FileSource::Stdin)),
            Input::Text { name, text } => {
                files.push((name.clone(), None, FileSource::Text(text.clone())))
            }
            Input::Path(path) => match list_files(path, &mut diagnostics) {
                Ok(found) => {
                    if found.is_empty() {
                        diagnostics.push(Diagnostic::new(
                            Level::Warn,
                            None,
                            format!("{}: no *.yaml, *.yml or *.json files found", path.display()),
                        ));
                    }
                    let root = if path.is_dir() {
                        path.clone()
                    } else {
                        path.parent().map(Path::to_path_buf).unwrap_or_default()
                    };
                    files.extend(found.into_iter().map(|p| {
                        (
                            p.display().to_string(),
                            Some(root.clone()),
                            FileSource::Path(p),
                        )
                    }));
                }
                Err(err) => diagnostics.push(Diagnostic::new(
                    Level::Error,
                    None,
                    format!("{}: {err}", path.display()),
                )),
            },
        }
    }
    let files = files
        .into_par_iter()
        .map(|(name, root, source)| {
            let contents = match source.read() {
                Ok(text) => parse_text(&name, &text),
                Err(err) => FileContents {
                    diagnostics: vec![Diagnostic::new(
                        Level::Error,
                        Some(SourceLocation {
                            file: name.clone(),
                            line: 1,
                        }),
                        err,
                    )],
                    ..Default::default()
                },
            };
            ReadFile {
                name,
                root,
                contents,
            }
        })
        .collect();
    ReadInputs { files, diagnostics }
}

enum FileSource {
    Path(PathBuf),
    Stdin,
    Text(String),
}

impl FileSource {
    fn read(self) -> Result<String, String> {
        let bytes = match self {
            FileSource::Text(t) => return Ok(t),
            FileSource::Stdin => {
                let mut buf = Vec::new();
                std::io::stdin()
                    .take(MAX_FILE_BYTES + 1)
                    .read_to_end(&mut buf)
                    .map_err(|e| format!("cannot read stdin: {e}"))?;
                buf
            }
            FileSource::Path(p) => {
                let len = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
                if len > MAX_FILE_BYTES {
                    return Err(format!(
                        "file is {len} bytes, over the {MAX_FILE_BYTES}-byte limit; not read"
                    ));
                }
                std::fs::read(&p).map_err(|e| format!("cannot read: {e}"))?
            }
        };
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(format!(
                "input is over the {MAX_FILE_BYTES}-byte limit; not read"
            ));
        }
        String::from_utf8(bytes).map_err(|e| {
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            )
        })
    }
}

/// The manifest files under `path`. An entry that cannot be read (a directory without
/// permission, a symlink loop) is skipped with a diagnostic; the rest is still listed.
fn list_files(path: &Path, diagnostics: &mut Vec<Diagnostic>) -> Result<Vec<PathBuf>, String> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        _ => e.to_string(),
    })?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(path)
        .follow_links(true)
        .sort_by_file_name()
    {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                let at = err.path().unwrap_or(path).display().to_string();
                let why = match (err.loop_ancestor(), err.io_error()) {
                    (Some(ancestor), _) => {
                        format!("symbolic link loop back to {}", ancestor.display())
                    }
                    (None, Some(io)) => io.to_string(),
                    (None, None) => err.to_string(),
                };
                diagnostics.push(Diagnostic::new(
                    Level::Error,
                    None,
                    format!(
                        "{at}: not read ({why}); the rest of {} was read",
                        path.display()
                    ),
                ));
                continue;
            }
        };
        if entry.file_type().is_file() && has_manifest_extension(entry.path()) {
            files.push(entry.into_path());
        }
    }
    Ok(files)
}

fn has_manifest_extension(path: &Path) -> bool {
    matches!(
        path.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("yaml" | "yml" | "json")
    )
}

/// Parse one file's text: JSON when it starts with `{` or `[`, YAML otherwise.
pub fn parse_text(name: &str, text: &str) -> FileContents {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        parse_json(name, text)
    } else {
        parse_yaml(name, text)
    }
}

fn parse_json(name: &str, text: &str) -> FileContents {
    let mut out = FileContents::default();
    if let Err((line, limit)) = check_json_limits(text.trim_start_matches('\u{feff}')) {
        out.diagnostics.push(Diagnostic::new(
            Level::Error,
            Some(SourceLocation {
                file: name.to_string(),
                line,
            }),
            format!("file not read: {limit}"),
        ));
        return out;
    }
    let text: Arc<str> = Arc::from(text.trim_start_matches('\u{feff}'));
    // Documents stay slices of the text and are typed straight from it (ObjectSet::add_json):
    // no JSON tree is built, which for a large dump is several times faster and smaller.
    let mut stream = serde_json::Deserializer::from_str(&text).into_iter::<&RawValue>();
    let mut line = 1;
    let mut consumed = 0;
    loop {
        let item = stream.next();
        let offset = stream.byte_offset();
        match item {
            None => break,
            Some(Ok(raw)) => {
                let start = raw.get().as_ptr() as usize - text.as_ptr() as usize;
                out.json.push(JsonDocument {
                    text: text.clone(),
                    start,
                    end: start + raw.get().len(),
                    source: SourceLocation {
                        file: name.to_string(),
                        line,
                    },
                });
            }
            Some(Err(err)) => {
                out.diagnostics.push(Diagnostic::new(
                    Level::Error,
                    Some(SourceLocation {
                        file: name.to_string(),
                        line: err.line() as u32,
                    }),
                    format!("malformed JSON: {err}"),
                ));
                break;
            }
        }
        line += text[consumed..offset].matches('\n').count() as u32;
        consumed = offset;
        // Next document starts at the next non-blank line.
        let rest = &text[consumed..];
        let skipped = rest.len() - rest.trim_start().len();
        line += rest[..skipped].matches('\n').count() as u32;
    }
    out
}

/// The file-wide limits of a JSON text, checked in one pass over its bytes before it is
/// parsed (JSON documents are typed straight from the text, so no tree is there to count):
/// values (every scalar, array and object), documents (top-level values and the items of a
/// top-level array) and nesting ([`MAX_JSON_DEPTH`]). Malformed JSON is left to the parser;
/// the counts are then approximate. On a breach: the line and what was exceeded.
fn check_json_limits(text: &str) -> Result<(), (u32, String)> {
    let mut stack: Vec<u8> = Vec::new();
    let (mut in_string, mut escaped, mut in_scalar, mut expect_key) = (false, false, false, false);
    let (mut values, mut documents, mut line) = (0u64, 0usize, 1u32);
    for &b in text.as_bytes() {
        if b == b'\n' {
            line += 1;
        }
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        let starts_value = match b {
            b'"' => {
                in_string = true;
                let key = expect_key && stack.last() == Some(&b'{');
                !key
            }
            b'{' | b'[' => true,
            b'0'..=b'9' | b'-' | b't' | b'f' | b'n' => !in_scalar,
            _ => false,
        };
        in_scalar = matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E' | b'a'..=b'z');
        if starts_value {
            values += 1;
            if values > MAX_VALUES_PER_FILE {
                return Err((
                    line,
                    format!("more than {MAX_VALUES_PER_FILE} values in one file (limit)"),
                ));
            }
            // A document: a top-level value other than an array, or an item of one.
            let top_level_array_item = stack.len() == 1 && stack[0] == b'[';
            if (stack.is_empty() && b != b'[') || top_level_array_item {
                documents += 1;
                if documents > MAX_DOCUMENTS_PER_FILE {
                    return Err((
                        line,
                        format!(
                            "more than {MAX_DOCUMENTS_PER_FILE} documents in one file (limit); split it"
                        ),
                    ));
                }
            }
        }
        match b {
            b'{' | b'[' => {
                stack.push(b);
                expect_key = b == b'{';
                if stack.len() > MAX_JSON_DEPTH {
                    return Err((
                        line,
                        format!("JSON nested deeper than {MAX_JSON_DEPTH} levels (limit)"),
                    ));
                }
            }
            b'}' | b']' => {
                stack.pop();
                expect_key = false;
            }
            b',' => expect_key = stack.last() == Some(&b'{'),
            b':' => expect_key = false,
            _ => {}
        }
    }
    Ok(())
}

/// Split a YAML stream at `---` / `...` lines; each piece is parsed on its own so one bad
/// document cannot hide the others, and documents parse in parallel.
fn split_yaml_documents(text: &str) -> Vec<(u32, &str)> {
    let mut docs = Vec::new();
    let mut start = 0;
    let mut start_line = 1u32;
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let line_no = i as u32 + 1;
        let bare = line.trim_end();
        let is_marker =
            bare == "---" || bare.starts_with("--- ") || bare.starts_with("---\t") || bare == "...";
        if is_marker {
            if offset > start {
                docs.push((start_line, &text[start..offset]));
            }
            if bare.starts_with("--- ") || bare.starts_with("---\t") {
                // Content on the marker line (`--- {a: 1}` or `--- # comment`).
                let content_start = offset + 4;
                start = content_start;
                start_line = line_no;
            } else {
                start = offset + line.len();
                start_line = line_no + 1;
            }
        }
        offset += line.len();
    }
    if text.len() > start {
        docs.push((start_line, &text[start..]));
    }
    docs
}

fn is_blank_yaml(doc: &str) -> bool {
    doc.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || t.starts_with('%')
    })
}

fn parse_yaml(name: &str, text: &str) -> FileContents {
    let mut out = FileContents::default();
    let at = |line: u32| {
        Some(SourceLocation {
            file: name.to_string(),
            line,
        })
    };
    let documents: Vec<(u32, &str)> = split_yaml_documents(text)
        .into_iter()
        .filter(|(_, doc)| !is_blank_yaml(doc))
        .collect();
    if let Some((line, _)) = documents.get(MAX_DOCUMENTS_PER_FILE) {
        out.diagnostics.push(Diagnostic::new(
            Level::Error,
            at(*line),
            format!(
                "file not read: more than {MAX_DOCUMENTS_PER_FILE} documents in one file (limit); \
                 document {} starts here; split it",
                MAX_DOCUMENTS_PER_FILE + 1
            ),
        ));
        return out;
    }
    let mut values_left = MAX_VALUES_PER_FILE as usize;
    for (start_line, doc) in documents {
        // The object's line is its first content line.
        let first_content = doc
            .lines()
            .position(|l| {
                let t = l.trim();
                !(t.is_empty() || t.starts_with('#'))
            })
            .unwrap_or(0) as u32;
        let nodes = std::rc::Rc::new(std::cell::Cell::new(0usize));
        let result = serde_saphyr::from_str_with_options::<Value>(
            doc,
            yaml_options(doc.len(), values_left, nodes.clone()),
        );
        values_left = values_left.saturating_sub(nodes.get());
        match result {
            Ok(value) => out.documents.push(Document {
                value,
                source: SourceLocation {
                    file: name.to_string(),
                    line: start_line + first_content,
                },
            }),
            Err(err) => {
                let err_line = err
                    .location()
                    .map(|l| l.line() as u32)
                    .filter(|l| *l > 0)
                    .unwrap_or(first_content + 1);
                let line = start_line + err_line - 1;
                match yaml_limit(&err) {
                    Some(YamlLimit::Values) => {
                        // A file-wide limit: nothing of the file is kept.
                        out.documents.clear();
                        out.diagnostics.push(Diagnostic::new(
                            Level::Error,
                            at(line),
                            format!(
                                "file not read: more than {MAX_VALUES_PER_FILE} values in one file (limit)"
                            ),
                        ));
                        return out;
                    }
                    Some(YamlLimit::Document(what)) => out.diagnostics.push(Diagnostic::new(
                        Level::Error,
                        at(line),
                        format!("YAML document refused: {what}"),
                    )),
                    None => out.diagnostics.push(Diagnostic::new(
                        Level::Error,
                        at(line),
                        format!("malformed YAML document: {}", first_line(&err.to_string())),
                    )),
                }
            }
        }
    }
    out
}

/// serde-saphyr's limits for one YAML document of `len` bytes, `values_left` values being what
/// is left of the file's [`MAX_VALUES_PER_FILE`]; `nodes` receives the values it had.
///
/// Alias expansion is bounded by the document's own size: aliases may replay at most `len`
/// parser events and the scalar text (aliases included) may be at most twice the document's
/// size (plus 4 KiB), so a "billion laughs" fails in microseconds and the work and memory a
/// document can take stay proportional to its size.
fn yaml_options(
    len: usize,
    values_left: usize,
    nodes: std::rc::Rc<std::cell::Cell<usize>>,
) -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_YAML_DEPTH;
    budget.flow_nesting_limit = MAX_YAML_DEPTH;
    budget.max_nodes = values_left;
    budget.max_events = values_left.saturating_mul(3).saturating_add(16);
    budget.max_total_scalar_bytes = len.saturating_mul(2).saturating_add(4096);
    budget.max_reader_input_bytes = None;
    // Long commented-out blocks are common in real manifests (rook's nfs.yaml has 60 comment
    // lines inside a mapping); the default of 32 refused them. Bounded by the document size.
    budget.max_buffered_comment_events = len.max(1024);
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    // Kubernetes YAML is read as kubectl reads it (YAML 1.1): `defaultMode: 0644` is the octal
    // file mode 420, not the decimal 644 (or a float) of YAML 1.2.
    options.legacy_octal_numbers = true;
    // Only the first line of an error is shown; rendering source snippets is costly.
    options.with_snippet = false;
    options.alias_limits.max_total_replayed_events = len;
    options.with_budget_report(move |report| nodes.set(report.nodes))
}

enum YamlLimit {
    /// The file's [`MAX_VALUES_PER_FILE`].
    Values,
    /// A limit of the document alone, and what it says.
    Document(String),
}

/// Which of detek's limits refused a document, if one did.
fn yaml_limit(err: &serde_saphyr::Error) -> Option<YamlLimit> {
    use serde_saphyr::Error;
    use serde_saphyr::budget::BudgetBreach;
    let mut inner = err;
    while let Error::WithSnippet { error, .. } | Error::AliasError { error, .. } = inner {
        inner = error;
    }
    let depth = || {
        YamlLimit::Document(format!(
            "nested deeper than {MAX_YAML_DEPTH} levels (limit)"
        ))
    };
    let aliases = || {
        YamlLimit::Document(
            "its aliases expand to more than its own size (YAML alias expansion limit)".to_string(),
        )
    };
    match inner {
        Error::Budget { breach, .. } => Some(match breach {
            BudgetBreach::Depth { .. } => depth(),
            BudgetBreach::Nodes { .. } | BudgetBreach::Events { .. } => YamlLimit::Values,
            BudgetBreach::ScalarBytes { .. }
            | BudgetBreach::Aliases { .. }
            | BudgetBreach::Anchors { .. }
            | BudgetBreach::AliasAnchorRatio { .. } => aliases(),
            other => YamlLimit::Document(format!("over a YAML parser limit ({other:?})")),
        }),
        Error::AliasReplayLimitExceeded { .. }
        | Error::AliasReplayStackDepthExceeded { .. }
        | Error::AliasExpansionLimitExceeded { .. }
        | Error::AliasReplayCounterOverflow { .. } => Some(aliases()),
        _ if err.to_string().contains("recursion limit exceeded") => Some(depth()),
        _ => None,
    }
}

fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or("").trim();
    let mut s: String = line.chars().take(300).collect();
    if line.chars().count() > 300 {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_1_1_octal_file_modes_read_as_kubectl_reads_them() {
        let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  volumes:\n  - name: v\n    secret:\n      secretName: s\n      defaultMode: 0644\n      items:\n      - {key: k, path: p, mode: 0400}\n  containers: []\n";
        let contents = parse_text("octal.yaml", text);
        assert!(
            contents.diagnostics.is_empty(),
            "{:?}",
            contents.diagnostics
        );
        let secret = &contents.documents[0].value["spec"]["volumes"][0]["secret"];
        assert_eq!(secret["defaultMode"], 420);
        assert_eq!(secret["items"][0]["mode"], 256);
        // Decimal numbers without a leading zero, and quoted strings, are untouched.
        let contents = parse_text("plain.yaml", "a: 644\nb: \"0644\"\nc: 0\n");
        let value = &contents.documents[0].value;
        assert_eq!(
            (value["a"].clone(), value["b"].clone(), value["c"].clone()),
            (644.into(), "0644".into(), 0.into())
        );
    }

    #[test]
    fn splits_documents_and_reports_the_bad_one_with_its_line() {
        let text = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\n# comment\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name }}\n  bad: [\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n";
        let out = parse_text("x.yaml", text);
        assert_eq!(out.documents.len(), 2);
        assert_eq!(out.documents[0].source.line, 1);
        assert_eq!(out.documents[1].source.line, 13);
        assert_eq!(out.diagnostics.len(), 1, "{:?}", out.diagnostics);
        let diag = &out.diagnostics[0];
        let line = diag.source.as_ref().unwrap().line;
        assert!((7..=12).contains(&line), "line {line}: {}", diag.message);
    }

    #[test]
    fn long_comment_blocks_inside_a_mapping_are_fine() {
        // rook's deploy/examples/nfs.yaml has a commented-out block of 60 lines in a mapping.
        let comments = "    # - commented: out\n".repeat(200);
        let text = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: b\n{comments}  c: d\n"
        );
        let out = parse_text("c.yaml", &text);
        assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
        assert_eq!(out.documents.len(), 1);
    }

    #[test]
    fn reads_json_streams_and_arrays() {
        let text = "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"a\"}}\n\n[{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"b\"}}]\n{\"broken\": ";
        let out = parse_text("x.json", text);
        assert_eq!(out.json.len(), 2);
        assert_eq!(out.json[1].source.line, 3);
        assert_eq!(out.diagnostics.len(), 1);
        assert_eq!(out.diagnostics[0].source.as_ref().unwrap().line, 4);
        let mut set = ObjectSet::new();
        out.add_to(&mut set);
        set.finish();
        assert_eq!(set.namespaces.len(), 2);
        assert_eq!(set.objects[1].name, "b");
    }

    #[test]
    fn unwraps_lists_and_counts_non_objects() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: a}\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: b}\n---\njust: a map\n---\n- a list\n";
        let mut set = ObjectSet::new();
        for doc in parse_text("l.yaml", text).documents {
            set.add_value(doc.value, Some(doc.source));
        }
        set.finish();
        assert_eq!(set.namespaces.len(), 2);
        assert_eq!(set.skipped_documents, 2);
    }
}
