//! Reading snapshots: files, directories (recursive) and stdin; multi-document YAML, JSON
//! (objects, arrays, concatenated streams), `kind: List` and `*List` wrappers.
//!
//! A malformed document is reported with its file and line and skipped; every other
//! document is still read.

use crate::model::ObjectSet;
use detek_core::{Diagnostic, Level, SourceLocation};
use rayon::prelude::*;
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Files larger than this are refused (with a diagnostic), not read.
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

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

/// What reading one file gave.
#[derive(Default)]
pub struct FileContents {
    pub documents: Vec<Document>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Read every input into `set`. Unreadable paths become diagnostics.
pub fn load(inputs: &[Input], set: &mut ObjectSet) {
    let mut files: Vec<(String, FileSource)> = Vec::new();
    for input in inputs {
        match input {
            Input::Stdin => files.push(("<stdin>".into(), FileSource::Stdin)),
            Input::Text { name, text } => {
                files.push((name.clone(), FileSource::Text(text.clone())))
            }
            Input::Path(path) => match list_files(path) {
                Ok(found) => {
                    if found.is_empty() {
                        set.diagnostics.push(Diagnostic::new(
                            Level::Warn,
                            None,
                            format!("{}: no *.yaml, *.yml or *.json files found", path.display()),
                        ));
                    }
                    files.extend(
                        found
                            .into_iter()
                            .map(|p| (p.display().to_string(), FileSource::Path(p))),
                    );
                }
                Err(err) => set.diagnostics.push(Diagnostic::new(
                    Level::Error,
                    None,
                    format!("{}: {err}", path.display()),
                )),
            },
        }
    }
    let contents: Vec<FileContents> = files
        .into_par_iter()
        .map(|(name, source)| match source.read() {
            Ok(text) => parse_text(&name, &text),
            Err(err) => FileContents {
                documents: Vec::new(),
                diagnostics: vec![Diagnostic::new(
                    Level::Error,
                    Some(SourceLocation {
                        file: name,
                        line: 1,
                    }),
                    err,
                )],
            },
        })
        .collect();
    for file in contents {
        set.diagnostics.extend(file.diagnostics);
        for doc in file.documents {
            set.add_value(doc.value, Some(doc.source));
        }
    }
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

fn list_files(path: &Path) -> Result<Vec<PathBuf>, String> {
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
        let entry = entry.map_err(|e| e.to_string())?;
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
    let text = text.trim_start_matches('\u{feff}');
    let stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let mut line = 1;
    let mut consumed = 0;
    let mut stream = stream;
    loop {
        let item = stream.next();
        let offset = stream.byte_offset();
        match item {
            None => break,
            Some(Ok(value)) => {
                let source = SourceLocation {
                    file: name.to_string(),
                    line,
                };
                match value {
                    Value::Array(items) => {
                        out.documents
                            .extend(items.into_iter().map(|value| Document {
                                value,
                                source: source.clone(),
                            }))
                    }
                    value => out.documents.push(Document { value, source }),
                }
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
    for (start_line, doc) in split_yaml_documents(text) {
        if is_blank_yaml(doc) {
            continue;
        }
        // The object's line is its first content line.
        let first_content = doc
            .lines()
            .position(|l| {
                let t = l.trim();
                !(t.is_empty() || t.starts_with('#'))
            })
            .unwrap_or(0) as u32;
        match serde_saphyr::from_str::<Value>(doc) {
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
                out.diagnostics.push(Diagnostic::new(
                    Level::Error,
                    Some(SourceLocation {
                        file: name.to_string(),
                        line: start_line + err_line - 1,
                    }),
                    format!("malformed YAML document: {}", first_line(&err.to_string())),
                ));
            }
        }
    }
    out
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
    fn reads_json_streams_and_arrays() {
        let text = "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"a\"}}\n\n[{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"b\"}}]\n{\"broken\": ";
        let out = parse_text("x.json", text);
        assert_eq!(out.documents.len(), 2);
        assert_eq!(out.documents[1].source.line, 3);
        assert_eq!(out.diagnostics.len(), 1);
        assert_eq!(out.diagnostics[0].source.as_ref().unwrap().line, 4);
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
