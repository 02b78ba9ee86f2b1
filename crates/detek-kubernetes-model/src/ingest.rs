//! Reading snapshots: files, directories (recursive) and stdin; multi-document YAML, JSON
//! (objects, arrays, concatenated streams), `kind: List` and `*List` wrappers.
//!
//! Documents are typed where they are read ([`Prepared`]), in parallel, and their text and trees
//! dropped at once: a YAML file is read in batches of documents, however large, and a JSON file
//! over [`MAX_FILE_BYTES`] item by item, so memory follows the objects kept, not the input.
//!
//! A malformed document is reported with its file and line and skipped; every other
//! document is still read.
//!
//! Input limits (docs/security.md): a document over [`MAX_DOCUMENT_BYTES`] or with more than
//! [`MAX_VALUES_PER_DOCUMENT`] values, nested deeper than [`MAX_YAML_DEPTH`] (YAML) or
//! [`MAX_JSON_DEPTH`] (JSON), or whose YAML aliases expand beyond its own size, is refused
//! (one error names the file and line); the other documents and files are still read.

use crate::model::{ObjectSet, Prepared};
use detek_core::{Diagnostic, Level, SourceLocation};
use rayon::prelude::*;
use serde_json::Value;
use serde_json::value::RawValue;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// JSON files up to this size are read whole and their documents typed straight from the text;
/// a larger one is read item by item (the items of a `*List` or of a top-level array, the values
/// of a stream). YAML files are always read a batch of documents at a time.
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// One document (a YAML document, a JSON object read from a file over [`MAX_FILE_BYTES`]): a
/// larger one is refused, the rest of the file is still read.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024 * 1024;

/// Values (mappings, sequences and scalars) in one document, or in one JSON file read whole:
/// bounds the memory a document can take however dense it is (a 256 MiB JSON dump of real
/// objects has about 13 million). A document with more is refused.
pub const MAX_VALUES_PER_DOCUMENT: u64 = 16 * 1024 * 1024;

/// YAML text parsed in one parallel batch: documents are gathered up to this size, typed
/// in parallel, and their text dropped.
const YAML_BATCH_BYTES: usize = 4 * 1024 * 1024;

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

/// What reading one file gave: its objects, already typed.
#[derive(Default)]
pub struct FileContents {
    /// The objects of the file's documents, in order.
    pub objects: Prepared,
    /// Top-level documents read (a `*List` counts once).
    pub documents: usize,
    /// The UIDs of the `kube-system` Namespaces the file holds, each once, in order (see
    /// [`crate::clusters`]).
    pub cluster_uids: Vec<String>,
    pub diagnostics: Vec<Diagnostic>,
}

impl FileContents {
    /// Number of top-level documents.
    pub fn len(&self) -> usize {
        self.documents
    }

    pub fn is_empty(&self) -> bool {
        self.documents == 0
    }

    /// Hand every object (and diagnostic) to `set`.
    pub fn add_to(self, set: &mut ObjectSet) {
        set.diagnostics.extend(self.diagnostics);
        set.add_prepared(self.objects);
    }

    /// Add one top-level document.
    fn push(&mut self, doc: DocumentRead) {
        self.documents += 1;
        self.add(doc);
    }

    /// Add objects read (the items of a streamed document count as part of it).
    fn add(&mut self, doc: DocumentRead) {
        for uid in doc.cluster_uids {
            if !self.cluster_uids.contains(&uid) {
                self.cluster_uids.push(uid);
            }
        }
        self.objects.extend(doc.objects);
    }

    fn error(&mut self, name: &str, line: u32, message: String) {
        self.diagnostics.push(Diagnostic::new(
            Level::Error,
            Some(SourceLocation {
                file: name.to_string(),
                line,
            }),
            message,
        ));
    }
}

/// One document (or item of a streamed List) read and typed.
struct DocumentRead {
    objects: Prepared,
    cluster_uids: Vec<String>,
}

impl DocumentRead {
    fn yaml(value: Value, source: SourceLocation) -> DocumentRead {
        let mut cluster_uids = Vec::new();
        crate::clusters::uids_in_value(&value, &mut cluster_uids);
        DocumentRead {
            objects: Prepared::from_value(value, Some(source)),
            cluster_uids,
        }
    }

    fn json(text: &Arc<str>, start: usize, end: usize, source: SourceLocation) -> DocumentRead {
        let mut cluster_uids = Vec::new();
        let slice = &text[start..end];
        // Cheap first: most documents of a dump never name kube-system.
        if slice.contains("kube-system") {
            crate::clusters::uids_in_json(slice, &mut cluster_uids);
        }
        DocumentRead {
            objects: Prepared::from_json(text, start, end, Some(source)),
            cluster_uids,
        }
    }

    /// An item of a streamed JSON file; `hint`: its `*List`'s `(apiVersion, kind)`.
    fn json_item(
        text: &Arc<str>,
        hint: Option<(Arc<str>, Arc<str>)>,
        source: SourceLocation,
    ) -> DocumentRead {
        let mut cluster_uids = Vec::new();
        if text.contains("kube-system") {
            crate::clusters::uids_in_json(text, &mut cluster_uids);
        }
        DocumentRead {
            objects: Prepared::from_json_item(text, hint, Some(source)),
            cluster_uids,
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
    // On one of rayon's own workers the pipeline's receiving loop would block a thread its
    // parse tasks may need (a deadlock with one worker): read and parse in place there.
    let files = if files.len() >= READ_AHEAD_MIN_FILES && rayon::current_thread_index().is_none() {
        read_ahead(files)
    } else {
        files
            .into_par_iter()
            .map(|(name, root, source)| {
                let contents = source.read(&name);
                ReadFile {
                    name,
                    root,
                    contents,
                }
            })
            .collect()
    };
    ReadInputs { files, diagnostics }
}

/// From this many files on, their bytes are read ahead of parsing by threads of their own.
const READ_AHEAD_MIN_FILES: usize = 256;
/// Files opened and announced to the kernel ([`prefetch`]) ahead of the readers, at most.
const PREFETCH_FILES: usize = 1024;
/// Reads in flight: a file not in the page cache waits on the disk, not the CPU, so more
/// reads than cores keep it busy; parsing stays on rayon's pool, one thread per core.
const READ_AHEAD_THREADS: usize = 16;
/// Files a reader hands to the parsers together (one wake-up per chunk, not per file).
const READ_AHEAD_CHUNK: usize = 16;
/// Chunks read and not yet parsed, at most: with [`READ_AHEAD_MAX_BYTES`], bounds the bytes
/// held (a few hundred MB at worst, a few MB for typical manifests).
const READ_AHEAD_CHUNKS_HELD: usize = 64;
/// Files up to this size are read whole ahead; larger ones are streamed by the parser.
const READ_AHEAD_MAX_BYTES: u64 = 256 * 1024;

/// Ask the kernel to start reading a file's pages now (`POSIX_FADV_WILLNEED` starts the read
/// and returns): the opener runs up to [`PREFETCH_FILES`] ahead of the readers, so a file not in
/// the page cache is usually in it by the time its reader comes. A 160,000-file set with its
/// pages evicted before each run: 22.4 s with it, 26.7 s with the same readers without it
/// (paired, medians of 3). Files already cached cost a lookup.
fn prefetch(file: &std::fs::File) {
    #[cfg(target_os = "linux")]
    let _ = rustix::fs::fadvise(file, 0, None, rustix::fs::Advice::WillNeed);
    #[cfg(not(target_os = "linux"))]
    let _ = file;
}

/// A file's bytes read ahead, or what the parser reads itself.
enum Ahead {
    Bytes(Vec<u8>),
    Later(FileSource),
    Failed(std::io::Error),
}

/// A file opened (and [`prefetch`]ed) ahead of its reader, or what the reader takes as it is.
enum Opened {
    File(std::fs::File, PathBuf),
    Failed(std::io::Error),
    Other(FileSource),
}

impl FileSource {
    fn open_ahead(self) -> Opened {
        let FileSource::Path(path) = self else {
            return Opened::Other(self);
        };
        match std::fs::File::open(&path) {
            Ok(file) => {
                prefetch(&file);
                Opened::File(file, path)
            }
            Err(e) => Opened::Failed(e),
        }
    }
}

impl Opened {
    /// One `fstat` for the size, and a read into a buffer of that size (+1 to see the end).
    /// Read through `Take` (unbounded) because `read_to_end` on a `File` would `stat` and
    /// `lseek` again to size the buffer it is given.
    fn read(self) -> Ahead {
        let (file, path) = match self {
            Opened::File(file, path) => (file, path),
            Opened::Failed(e) => return Ahead::Failed(e),
            Opened::Other(source) => return Ahead::Later(source),
        };
        match file.metadata() {
            Ok(m) if m.len() <= READ_AHEAD_MAX_BYTES => {
                let mut bytes = Vec::with_capacity(m.len() as usize + 1);
                match (&file).take(u64::MAX).read_to_end(&mut bytes) {
                    Ok(_) => Ahead::Bytes(bytes),
                    Err(e) => Ahead::Failed(e),
                }
            }
            _ => Ahead::Later(FileSource::Path(path)),
        }
    }
}

impl Ahead {
    fn parse(self, name: &str) -> FileContents {
        match self {
            Ahead::Bytes(bytes) => read_stream(name, std::io::Cursor::new(bytes)),
            Ahead::Later(source) => source.read(name),
            Ahead::Failed(e) => {
                let mut out = FileContents::default();
                out.error(name, 1, format!("cannot read: {e}"));
                out
            }
        }
    }
}

/// Read many files in three stages: one thread opens them in order and [`prefetch`]es them,
/// reader threads read what it opened, and rayon's pool parses the readers' chunks as they
/// come. Each stage is bounded, so the bytes held stay small; the order of `files` is kept.
fn read_ahead(files: Vec<(String, Option<PathBuf>, FileSource)>) -> Vec<ReadFile> {
    use std::sync::mpsc::sync_channel;
    use std::sync::{Condvar, Mutex, PoisonError};
    type Chunk = Vec<(usize, String, Option<PathBuf>, Ahead)>;
    let total = files.len();
    let queue = Mutex::new(files.into_iter().enumerate());
    let next = || queue.lock().unwrap_or_else(PoisonError::into_inner).next();
    let parsed: Mutex<Vec<(usize, ReadFile)>> = Mutex::new(Vec::with_capacity(total));
    // Chunks handed to rayon and not yet parsed: the receiving loop waits below a bound, so
    // the readers (blocked on the full channel) never run far ahead of the parsers.
    let parsing = (Mutex::new(0usize), Condvar::new());
    let (opened_tx, opened_rx) = sync_channel(PREFETCH_FILES);
    let opened_rx = Mutex::new(opened_rx);
    std::thread::scope(|scope| {
        let (read_tx, read_rx) = sync_channel::<Chunk>(READ_AHEAD_CHUNKS_HELD / 2);
        let mut readers = 0;
        for i in 0..READ_AHEAD_THREADS {
            let (read_tx, opened_rx) = (read_tx.clone(), &opened_rx);
            let started = std::thread::Builder::new()
                .name(format!("detek-read-{i}"))
                .stack_size(256 * 1024)
                .spawn_scoped(scope, move || {
                    let mut chunk = Vec::with_capacity(READ_AHEAD_CHUNK);
                    loop {
                        let received = opened_rx
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .recv();
                        let Ok((index, name, root, opened)) = received else {
                            break;
                        };
                        chunk.push((index, name, root, Opened::read(opened)));
                        if chunk.len() == READ_AHEAD_CHUNK {
                            let full =
                                std::mem::replace(&mut chunk, Vec::with_capacity(READ_AHEAD_CHUNK));
                            if read_tx.send(full).is_err() {
                                return;
                            }
                        }
                    }
                    if !chunk.is_empty() {
                        let _ = read_tx.send(chunk);
                    }
                });
            readers += usize::from(started.is_ok());
        }
        drop(read_tx);
        if readers > 0 {
            let next = &next;
            // Not started: nothing is opened ahead; the files are read at the end, in order.
            let _ = std::thread::Builder::new()
                .name("detek-open".into())
                .spawn_scoped(scope, move || {
                    while let Some((index, (name, root, source))) = next() {
                        if opened_tx
                            .send((index, name, root, source.open_ahead()))
                            .is_err()
                        {
                            break;
                        }
                    }
                });
        }
        rayon::in_place_scope(|parsers| {
            for chunk in read_rx {
                {
                    let (count, changed) = &parsing;
                    let mut count = count.lock().unwrap_or_else(PoisonError::into_inner);
                    while *count >= READ_AHEAD_CHUNKS_HELD / 2 {
                        count = changed.wait(count).unwrap_or_else(PoisonError::into_inner);
                    }
                    *count += 1;
                }
                let (parsed, parsing) = (&parsed, &parsing);
                parsers.spawn(move |_| {
                    let done: Vec<_> = chunk
                        .into_iter()
                        .map(|(index, name, root, ahead)| {
                            let contents = ahead.parse(&name);
                            (
                                index,
                                ReadFile {
                                    name,
                                    root,
                                    contents,
                                },
                            )
                        })
                        .collect();
                    parsed
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .extend(done);
                    let (count, changed) = parsing;
                    *count.lock().unwrap_or_else(PoisonError::into_inner) -= 1;
                    changed.notify_one();
                });
            }
        });
    });
    let mut out = parsed.into_inner().unwrap_or_else(PoisonError::into_inner);
    // What no thread took (none could be started): read here, in order.
    out.extend(
        std::iter::from_fn(next).map(|(index, (name, root, source))| {
            let contents = source.read(&name);
            (
                index,
                ReadFile {
                    name,
                    root,
                    contents,
                },
            )
        }),
    );
    out.sort_unstable_by_key(|(index, _)| *index);
    out.into_iter().map(|(_, file)| file).collect()
}

enum FileSource {
    Path(PathBuf),
    Stdin,
    Text(String),
}

impl FileSource {
    fn read(self, name: &str) -> FileContents {
        match self {
            FileSource::Text(text) => parse_text(name, &text),
            FileSource::Stdin => read_stream(name, std::io::stdin().lock()),
            FileSource::Path(path) => match std::fs::File::open(&path) {
                Ok(file) => read_stream(name, file),
                Err(e) => {
                    let mut out = FileContents::default();
                    out.error(name, 1, format!("cannot read: {e}"));
                    out
                }
            },
        }
    }
}

/// Read a file or stdin: JSON when its first non-blank character is `{` or `[` (read whole up
/// to [`MAX_FILE_BYTES`], item by item beyond), YAML otherwise (a batch of documents at a time).
fn read_stream(name: &str, mut reader: impl Read) -> FileContents {
    let mut out = FileContents::default();
    let mut head = Vec::new();
    if let Err(e) = (&mut reader).take(64 * 1024).read_to_end(&mut head) {
        out.error(name, 1, format!("cannot read: {e}"));
        return out;
    }
    let first = head
        .strip_prefix("\u{feff}".as_bytes())
        .unwrap_or(&head)
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .copied();
    let reader = std::io::Cursor::new(head).chain(reader);
    if !matches!(first, Some(b'{' | b'[')) {
        return parse_yaml_from(name, BufReader::with_capacity(1 << 16, reader));
    }
    let mut whole = reader.take(MAX_FILE_BYTES + 1);
    let mut bytes = Vec::new();
    if let Err(e) = whole.read_to_end(&mut bytes) {
        out.error(name, 1, format!("cannot read: {e}"));
        return out;
    }
    if bytes.len() as u64 > MAX_FILE_BYTES {
        let rest = whole.into_inner();
        return parse_json_stream(name, std::io::Cursor::new(bytes).chain(rest));
    }
    match String::from_utf8(bytes) {
        Ok(text) => parse_json(name, &text),
        Err(e) => {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = valid.iter().filter(|b| **b == b'\n').count() as u32 + 1;
            out.error(
                name,
                line,
                format!(
                    "file not read: not UTF-8 text (invalid byte at offset {})",
                    valid.len()
                ),
            );
            out
        }
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
    let mut walk = Walk {
        root: path,
        ancestors: Vec::new(),
        files: Vec::new(),
        diagnostics,
    };
    walk.dir(path);
    Ok(walk.files)
}

/// A directory walk in file-name order that follows symbolic links. Entries are typed from
/// the directory itself (`d_type`): only symbolic links are `stat`ed, not every file — a
/// directory of 400,000 manifests is listed in a fraction of the time a `stat` each takes.
struct Walk<'a> {
    root: &'a Path,
    /// The directories being walked: canonical path (to see a symbolic link loop) and the
    /// path as walked (to name it).
    ancestors: Vec<(PathBuf, PathBuf)>,
    files: Vec<PathBuf>,
    diagnostics: &'a mut Vec<Diagnostic>,
}

impl Walk<'_> {
    fn dir(&mut self, dir: &Path) {
        let canonical = match std::fs::canonicalize(dir) {
            Ok(canonical) => canonical,
            Err(e) => return self.not_read(dir, e.to_string()),
        };
        if let Some((_, ancestor)) = self.ancestors.iter().find(|(c, _)| *c == canonical) {
            let why = format!("symbolic link loop back to {}", ancestor.display());
            return self.not_read(dir, why);
        }
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => return self.not_read(dir, e.to_string()),
        };
        let mut listed = Vec::new();
        for entry in entries {
            match entry {
                Ok(entry) => listed.push((entry.file_name(), entry.file_type().ok())),
                Err(e) => self.not_read(dir, e.to_string()),
            }
        }
        listed.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        self.ancestors.push((canonical, dir.to_path_buf()));
        for (name, file_type) in listed {
            let path = dir.join(name);
            let file_type = match file_type {
                Some(t) if !t.is_symlink() => t,
                _ => match std::fs::metadata(&path) {
                    Ok(m) => m.file_type(),
                    Err(e) => {
                        self.not_read(&path, e.to_string());
                        continue;
                    }
                },
            };
            if file_type.is_dir() {
                self.dir(&path);
            } else if file_type.is_file() && has_manifest_extension(&path) {
                self.files.push(path);
            }
        }
        self.ancestors.pop();
    }

    fn not_read(&mut self, at: &Path, why: String) {
        self.diagnostics.push(Diagnostic::new(
            Level::Error,
            None,
            format!(
                "{}: not read ({why}); the rest of {} was read",
                at.display(),
                self.root.display()
            ),
        ));
    }
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
        parse_yaml_from(name, text.as_bytes())
    }
}

fn parse_json(name: &str, text: &str) -> FileContents {
    let mut out = FileContents::default();
    if let Err((line, limit)) = check_json_limits(text.trim_start_matches('\u{feff}')) {
        out.error(name, line, format!("file not read: {limit}"));
        return out;
    }
    let text: Arc<str> = Arc::from(text.trim_start_matches('\u{feff}'));
    // Documents are slices of the text, typed straight from it (no JSON tree), in parallel.
    let mut documents = Vec::new();
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
                documents.push((start, start + raw.get().len(), line));
            }
            Some(Err(err)) => {
                out.error(name, err.line() as u32, format!("malformed JSON: {err}"));
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
    let read: Vec<DocumentRead> = documents
        .into_par_iter()
        .map(|(start, end, line)| {
            let source = SourceLocation {
                file: name.to_string(),
                line,
            };
            DocumentRead::json(&text, start, end, source)
        })
        .collect();
    for doc in read {
        out.push(doc);
    }
    out
}

/// Read a JSON file too large to hold whole ([`MAX_FILE_BYTES`]): the items of each `*List` or
/// top-level array, and each value of a stream, are typed a batch at a time. Items carry the
/// line where their document starts.
fn parse_json_stream(name: &str, reader: impl Read) -> FileContents {
    let lines = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let mut sink = JsonSink {
        name,
        out: FileContents::default(),
        batch: Vec::new(),
        batch_bytes: 0,
        lines: lines.clone(),
        top_line: 1,
    };
    let counted = CountLines {
        inner: BufReader::with_capacity(1 << 16, reader),
        lines,
    };
    let mut de = serde_json::Deserializer::from_reader(counted);
    while de.end().is_err() {
        sink.top_line = sink.line_now();
        let read = serde::de::DeserializeSeed::deserialize(TopValue(&mut sink), &mut de);
        sink.flush();
        if let Err(err) = read {
            // A document cut short: its first line says more than the end of the file.
            let line = if err.is_eof() {
                sink.top_line
            } else {
                err.line() as u32
            };
            sink.out.error(name, line, format!("malformed JSON: {err}"));
            break;
        }
        sink.out.documents += 1;
    }
    sink.out
}

/// Counts the newlines read through it (serde_json reads a byte at a time), so that a streamed
/// item knows its line.
struct CountLines<R> {
    inner: R,
    lines: Arc<std::sync::atomic::AtomicU32>,
}

impl<R: Read> Read for CountLines<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let newlines = buf[..n].iter().filter(|b| **b == b'\n').count() as u32;
        if newlines > 0 {
            self.lines
                .fetch_add(newlines, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(n)
    }
}

/// A `*List`'s `(apiVersion, kind of its items)`, for items that omit theirs.
type ListHint = Option<(Arc<str>, Arc<str>)>;

/// Items of a streamed JSON file waiting to be typed.
struct JsonSink<'a> {
    name: &'a str,
    out: FileContents,
    /// Item text, its `*List`'s `(apiVersion, kind)` for items that omit theirs, its line.
    batch: Vec<(Arc<str>, ListHint, u32)>,
    batch_bytes: usize,
    lines: Arc<std::sync::atomic::AtomicU32>,
    /// The line where the current top-level value starts.
    top_line: u32,
}

impl JsonSink<'_> {
    fn line_now(&self) -> u32 {
        self.lines.load(std::sync::atomic::Ordering::Relaxed) + 1
    }

    /// The line where `text`, just read, started.
    fn line_of(&self, text: &str) -> u32 {
        self.line_now()
            .saturating_sub(text.matches('\n').count() as u32)
            .max(1)
    }

    fn item(&mut self, text: Arc<str>, hint: ListHint, line: u32) {
        self.batch_bytes += text.len();
        self.batch.push((text, hint, line));
        if self.batch_bytes >= YAML_BATCH_BYTES {
            self.flush();
        }
    }

    fn flush(&mut self) {
        let batch = std::mem::take(&mut self.batch);
        self.batch_bytes = 0;
        let name = self.name;
        let read: Vec<DocumentRead> = batch
            .into_par_iter()
            .map(|(text, hint, line)| {
                let source = SourceLocation {
                    file: name.to_string(),
                    line,
                };
                DocumentRead::json_item(&text, hint, source)
            })
            .collect();
        for doc in read {
            self.out.add(doc);
        }
    }
}

/// One top-level value of a streamed JSON file.
struct TopValue<'s, 'a>(&'s mut JsonSink<'a>);

impl<'de> serde::de::DeserializeSeed<'de> for TopValue<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for TopValue<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a Kubernetes object, a List or an array of them")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(raw) = seq.next_element::<Box<RawValue>>()? {
            let line = self.0.line_of(raw.get());
            self.0.item(Arc::from(raw.get()), None, line);
        }
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // A `*List`'s items are typed as they come; its other fields (and every field of an
        // object that is not a List) are kept as text. kubectl writes `items` before `kind`:
        // items without their own kind wait for the List's.
        let mut fields: Vec<(String, Box<RawValue>)> = Vec::new();
        let mut waiting: Vec<(Arc<str>, u32)> = Vec::new();
        let mut had_items = false;
        while let Some(key) = map.next_key::<String>()? {
            let list_type = list_type(&fields);
            if key == "items"
                && list_type
                    .as_ref()
                    .is_none_or(|(_, kind)| crate::model::is_list_kind(kind))
            {
                had_items = true;
                let hint = item_hint(list_type);
                map.next_value_seed(Items {
                    sink: self.0,
                    hint,
                    waiting: &mut waiting,
                })?;
            } else {
                fields.push((key, map.next_value::<Box<RawValue>>()?));
            }
        }
        let list_type = list_type(&fields);
        if had_items
            && list_type
                .as_ref()
                .is_some_and(|(_, kind)| crate::model::is_list_kind(kind))
        {
            let hint = item_hint(list_type);
            for (text, line) in waiting {
                self.0.item(text, hint.clone(), line);
            }
            return Ok(());
        }
        // Not a List: one object, put back together.
        let mut text = String::from("{");
        for (i, (key, value)) in fields.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            text.push_str(&serde_json::to_string(key).unwrap_or_default());
            text.push(':');
            text.push_str(value.get());
        }
        text.push('}');
        let line = self.0.top_line;
        self.0.item(Arc::from(text), None, line);
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        self.0.out.objects.count_skipped();
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        self.0.out.objects.count_skipped();
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        self.0.out.objects.count_skipped();
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        self.0.out.objects.count_skipped();
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        self.0.out.objects.count_skipped();
        Ok(())
    }
}

/// `apiVersion` and `kind` among the fields read so far, when both are strings.
fn list_type(fields: &[(String, Box<RawValue>)]) -> Option<(String, String)> {
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| serde_json::from_str::<String>(v.get()).ok())
    };
    Some((field("apiVersion")?, field("kind")?))
}

/// What a `*List`'s items omit: `(apiVersion, kind of the items)`; `None` for a plain `List`.
fn item_hint(list_type: Option<(String, String)>) -> ListHint {
    let (api_version, kind) = list_type?;
    let item_kind = kind.strip_suffix("List").filter(|k| !k.is_empty())?;
    Some((Arc::from(api_version.as_str()), Arc::from(item_kind)))
}

/// The `items` array of a streamed List.
struct Items<'s, 'a, 'w> {
    sink: &'s mut JsonSink<'a>,
    hint: ListHint,
    waiting: &'w mut Vec<(Arc<str>, u32)>,
}

impl<'de> serde::de::DeserializeSeed<'de> for Items<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Items<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("the items of a List")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(raw) = seq.next_element::<Box<RawValue>>()? {
            let line = self.sink.line_of(raw.get());
            let text: Arc<str> = Arc::from(raw.get());
            if self.hint.is_none() && !has_kind(&text) {
                self.waiting.push((text, line));
            } else {
                self.sink.item(text, self.hint.clone(), line);
            }
        }
        Ok(())
    }
}

/// Whether a JSON object names its own `kind`.
fn has_kind(text: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Kind<'a> {
        #[serde(borrow, default)]
        kind: Option<std::borrow::Cow<'a, str>>,
    }
    serde_json::from_str::<Kind>(text).is_ok_and(|k| k.kind.is_some_and(|k| !k.is_empty()))
}

/// The limits of a JSON text read whole, checked in one pass over its bytes before it is parsed
/// (its documents are typed straight from the text, so no tree is there to count): values
/// (every scalar, array and object; [`MAX_VALUES_PER_DOCUMENT`] for the whole file) and nesting
/// ([`MAX_JSON_DEPTH`]). Malformed JSON is left to the parser; the counts are then approximate.
/// On a breach: the line and what was exceeded.
fn check_json_limits(text: &str) -> Result<(), (u32, String)> {
    let mut stack: Vec<u8> = Vec::new();
    let (mut in_string, mut escaped, mut in_scalar, mut expect_key) = (false, false, false, false);
    let (mut values, mut line) = (0u64, 1u32);
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
            if values > MAX_VALUES_PER_DOCUMENT {
                return Err((
                    line,
                    format!("more than {MAX_VALUES_PER_DOCUMENT} values in one file (limit)"),
                ));
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

/// Read a YAML stream a batch of documents at a time: documents are split at `---` / `...`
/// lines (each parsed on its own, so one bad document cannot hide the others), typed in
/// parallel, and their text dropped, so a file of any size is read in bounded memory beyond
/// the objects it holds.
fn parse_yaml_from(name: &str, mut reader: impl BufRead) -> FileContents {
    let mut stream = YamlStream {
        name,
        out: FileContents::default(),
        batch: Vec::new(),
        batch_bytes: 0,
        doc: String::new(),
        doc_line: 1,
        refused: None,
    };
    let mut line = Vec::new();
    let mut line_no = 0u32;
    loop {
        let room = MAX_DOCUMENT_BYTES.saturating_sub(stream.doc.len()) + 1;
        let complete = match read_line(&mut reader, &mut line, room) {
            Ok(Some(complete)) => complete,
            Ok(None) => break,
            Err(e) => {
                stream.end_document();
                stream.out.error(
                    name,
                    line_no + 1,
                    format!("cannot read the rest of the file: {e}"),
                );
                break;
            }
        };
        line_no += 1;
        let bare = line.trim_ascii_end();
        let content_marker = bare.starts_with(b"--- ") || bare.starts_with(b"---\t");
        if complete && (bare == b"---" || bare == b"..." || content_marker) {
            stream.end_document();
            stream.doc_line = line_no + 1;
            if content_marker {
                // Content on the marker line (`--- {a: 1}` or `--- # comment`).
                stream.doc_line = line_no;
                stream.append(&line[4..], line_no);
            }
            continue;
        }
        if !complete {
            stream.refuse_oversized();
            continue;
        }
        stream.append(&line, line_no);
    }
    stream.end_document();
    stream.flush();
    stream.out
}

/// Read one line (its newline included) into `line`, keeping at most `room` bytes of it.
/// `Some(false)`: the line was longer (the rest is consumed, not kept); `None`: end of input.
fn read_line(
    reader: &mut impl BufRead,
    line: &mut Vec<u8>,
    room: usize,
) -> std::io::Result<Option<bool>> {
    line.clear();
    let mut complete = true;
    let mut any = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(any.then_some(complete));
        }
        any = true;
        let (take, end) = match memchr::memchr(b'\n', available) {
            Some(at) => (at + 1, true),
            None => (available.len(), false),
        };
        if complete {
            if line.len() + take <= room {
                line.extend_from_slice(&available[..take]);
            } else {
                complete = false;
            }
        }
        reader.consume(take);
        if end {
            return Ok(Some(complete));
        }
    }
}

/// The state of [`parse_yaml_from`].
struct YamlStream<'a> {
    name: &'a str,
    out: FileContents,
    /// Documents waiting to be parsed: their first line and text.
    batch: Vec<(u32, String)>,
    batch_bytes: usize,
    /// The document being read, and the line after its marker.
    doc: String,
    doc_line: u32,
    /// Why the document being read is refused, and its line: it is skipped to its end.
    refused: Option<(u32, String)>,
}

impl YamlStream<'_> {
    fn append(&mut self, bytes: &[u8], line_no: u32) {
        if self.refused.is_some() {
            return;
        }
        if self.doc.len() + bytes.len() > MAX_DOCUMENT_BYTES {
            self.refuse_oversized();
            return;
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => self.doc.push_str(text),
            Err(_) => {
                self.refused = Some((line_no, "YAML document refused: not UTF-8 text".to_string()));
                self.doc = String::new();
            }
        }
    }

    /// The document being read is over [`MAX_DOCUMENT_BYTES`]: skip it to its end.
    fn refuse_oversized(&mut self) {
        if self.refused.is_none() {
            let why = format!("YAML document refused: over {MAX_DOCUMENT_BYTES} bytes (limit)");
            self.refused = Some((self.doc_line, why));
        }
        self.doc = String::new();
    }

    /// The document being read is complete: queue it (or report why it was refused).
    fn end_document(&mut self) {
        let doc = std::mem::take(&mut self.doc);
        if let Some((line, why)) = self.refused.take() {
            self.out.error(self.name, line, why);
            return;
        }
        if is_blank_yaml(&doc) {
            return;
        }
        self.batch_bytes += doc.len();
        self.batch.push((self.doc_line, doc));
        if self.batch_bytes >= YAML_BATCH_BYTES {
            self.flush();
        }
    }

    /// Parse and type the queued documents in parallel; add them in order.
    fn flush(&mut self) {
        let batch = std::mem::take(&mut self.batch);
        self.batch_bytes = 0;
        let name = self.name;
        let read: Vec<Result<DocumentRead, (u32, String)>> = batch
            .into_par_iter()
            .map(|(start_line, doc)| parse_yaml_document(name, start_line, &doc))
            .collect();
        for doc in read {
            match doc {
                Ok(doc) => self.out.push(doc),
                Err((line, message)) => self.out.error(name, line, message),
            }
        }
    }
}

fn is_blank_yaml(doc: &str) -> bool {
    doc.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || t.starts_with('%')
    })
}

/// Parse and type one YAML document starting at `start_line`; on failure, the line and why.
fn parse_yaml_document(
    name: &str,
    start_line: u32,
    doc: &str,
) -> Result<DocumentRead, (u32, String)> {
    // The object's line is its first content line.
    let first_content = doc
        .lines()
        .position(|l| {
            let t = l.trim();
            !(t.is_empty() || t.starts_with('#'))
        })
        .unwrap_or(0) as u32;
    match serde_saphyr::from_str_with_options::<Value>(doc, yaml_options(doc.len())) {
        Ok(value) => Ok(DocumentRead::yaml(
            value,
            SourceLocation {
                file: name.to_string(),
                line: start_line + first_content,
            },
        )),
        Err(err) => {
            let err_line = err
                .location()
                .map(|l| l.line() as u32)
                .filter(|l| *l > 0)
                .unwrap_or(first_content + 1);
            let line = start_line + err_line - 1;
            let message = match yaml_limit(&err) {
                Some(what) => format!("YAML document refused: {what}"),
                None => format!("malformed YAML document: {}", first_line(&err.to_string())),
            };
            Err((line, message))
        }
    }
}

/// serde-saphyr's limits for one YAML document of `len` bytes.
///
/// Alias expansion is bounded by the document's own size: aliases may replay at most `len`
/// parser events and the scalar text (aliases included) may be at most twice the document's
/// size (plus 4 KiB), so a "billion laughs" fails in microseconds and the work and memory a
/// document can take stay proportional to its size.
pub(crate) fn yaml_options(len: usize) -> serde_saphyr::Options {
    let values = MAX_VALUES_PER_DOCUMENT as usize;
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_YAML_DEPTH;
    budget.flow_nesting_limit = MAX_YAML_DEPTH;
    budget.max_nodes = values;
    budget.max_events = values.saturating_mul(3).saturating_add(16);
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
    options
}

/// Which of detek's limits refused a document, if one did, and what it says.
fn yaml_limit(err: &serde_saphyr::Error) -> Option<String> {
    use serde_saphyr::Error;
    use serde_saphyr::budget::BudgetBreach;
    let mut inner = err;
    while let Error::WithSnippet { error, .. } | Error::AliasError { error, .. } = inner {
        inner = error;
    }
    let depth = || format!("nested deeper than {MAX_YAML_DEPTH} levels (limit)");
    let aliases =
        || "its aliases expand to more than its own size (YAML alias expansion limit)".to_string();
    match inner {
        Error::Budget { breach, .. } => Some(match breach {
            BudgetBreach::Depth { .. } => depth(),
            BudgetBreach::Nodes { .. } | BudgetBreach::Events { .. } => {
                format!("more than {MAX_VALUES_PER_DOCUMENT} values in one document (limit)")
            }
            BudgetBreach::ScalarBytes { .. }
            | BudgetBreach::Aliases { .. }
            | BudgetBreach::Anchors { .. }
            | BudgetBreach::AliasAnchorRatio { .. } => aliases(),
            other => format!("over a YAML parser limit ({other:?})"),
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

    /// A YAML document as the scan parses it.
    fn yaml_value(text: &str) -> Value {
        serde_saphyr::from_str_with_options(text, yaml_options(text.len())).unwrap()
    }

    /// The line of each object read.
    fn lines(out: &FileContents) -> Vec<u32> {
        out.objects
            .summaries()
            .map(|s| s.source.as_ref().unwrap().line)
            .collect()
    }

    #[test]
    fn yaml_1_1_octal_file_modes_read_as_kubectl_reads_them() {
        let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  volumes:\n  - name: v\n    secret:\n      secretName: s\n      defaultMode: 0644\n      items:\n      - {key: k, path: p, mode: 0400}\n  containers: []\n";
        let value = yaml_value(text);
        let secret = &value["spec"]["volumes"][0]["secret"];
        assert_eq!(secret["defaultMode"], 420);
        assert_eq!(secret["items"][0]["mode"], 256);
        let contents = parse_text("octal.yaml", text);
        assert!(
            contents.diagnostics.is_empty(),
            "{:?}",
            contents.diagnostics
        );
        let mut set = ObjectSet::new();
        contents.add_to(&mut set);
        set.finish();
        let volume = &set.pods[0].spec.as_ref().unwrap().volumes.as_ref().unwrap()[0];
        assert_eq!(volume.secret.as_ref().unwrap().default_mode, Some(420));
        // Decimal numbers without a leading zero, and quoted strings, are untouched.
        let value = &yaml_value("a: 644\nb: \"0644\"\nc: 0\n");
        assert_eq!(
            (value["a"].clone(), value["b"].clone(), value["c"].clone()),
            (644.into(), "0644".into(), 0.into())
        );
    }

    #[test]
    fn splits_documents_and_reports_the_bad_one_with_its_line() {
        let text = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\n# comment\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name }}\n  bad: [\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n";
        let out = parse_text("x.yaml", text);
        assert_eq!(out.documents, 2);
        assert_eq!(lines(&out), [1, 13]);
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
        assert_eq!(out.documents, 1);
    }

    #[test]
    fn reads_json_streams_and_arrays() {
        let text = "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"a\"}}\n\n[{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"b\"}}]\n{\"broken\": ";
        let out = parse_text("x.json", text);
        assert_eq!(out.documents, 2);
        assert_eq!(lines(&out), [1, 3]);
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
        parse_text("l.yaml", text).add_to(&mut set);
        set.finish();
        assert_eq!(set.namespaces.len(), 2);
        assert_eq!(set.skipped_documents, 2);
    }

    #[test]
    fn streamed_json_reads_lists_arrays_and_streams_with_their_lines() {
        // What a JSON file over MAX_FILE_BYTES goes through, on a small text: kubectl's order
        // (items before kind), an API list (items without kind, after it), an array, a stream
        // value, a non-List object with its own fields, then a malformed tail.
        let text = concat!(
            "{\"apiVersion\": \"v1\", \"items\": [\n",
            "  {\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"a\"}},\n",
            "  {\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"kube-system\", \"uid\": \"ks-1\"}}\n",
            "], \"kind\": \"List\", \"metadata\": {}}\n",
            "{\"kind\": \"NamespaceList\", \"apiVersion\": \"v1\", \"items\": [\n",
            "  {\"metadata\": {\"name\": \"c\"}}\n",
            "]}\n",
            "[{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"d\"}}]\n",
            "{\"apiVersion\": \"v1\",\n \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"e\"}, \"data\": {\"k\": \"v\"}}\n",
            "{\"broken\": \n",
        );
        let out = parse_json_stream("big.json", text.as_bytes());
        let names: Vec<&str> = out.objects.summaries().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a", "kube-system", "c", "d", "e"]);
        assert_eq!(lines(&out), [2, 3, 6, 8, 9]);
        assert_eq!(out.documents, 4);
        assert_eq!(out.cluster_uids, ["ks-1"]);
        assert_eq!(out.diagnostics.len(), 1, "{:?}", out.diagnostics);
        assert_eq!(out.diagnostics[0].source.as_ref().unwrap().line, 11);
        let mut set = ObjectSet::new();
        out.add_to(&mut set);
        set.finish();
        assert_eq!(set.namespaces.len(), 4);
        assert_eq!(set.configmaps.len(), 1);
    }
}

#[cfg(test)]
mod read_many_files {
    use super::*;

    /// Past `READ_AHEAD_MIN_FILES` the files go through the opener, reader and parser stages:
    /// every file comes back once, in name order (subdirectories in place), a file too big to
    /// read ahead is streamed, a malformed one keeps its error, and a dangling link is named.
    #[test]
    fn hundreds_of_files_keep_name_order_and_every_error() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("m")).unwrap();
        let pod = |i: usize| format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p{i}\n");
        for i in 0..600 {
            let at = if i % 100 == 0 { "m/" } else { "" };
            std::fs::write(root.join(format!("{at}{i:04}.yaml")), pod(i)).unwrap();
        }
        std::fs::write(root.join("0123.yaml"), "kind: [unclosed\n").unwrap();
        // Over READ_AHEAD_MAX_BYTES: read by the parser itself.
        let padding = format!("# {}\n", "x".repeat(300 * 1024));
        std::fs::write(root.join("0456.yaml"), padding + &pod(456)).unwrap();
        std::os::unix::fs::symlink(root.join("gone.yaml"), root.join("0200.yaml")).unwrap();
        std::fs::write(root.join("notes.txt"), "not a manifest").unwrap();

        let read = read_inputs(&[Input::Path(root.to_path_buf())]);
        let names: Vec<String> = read
            .files
            .iter()
            .map(|f| {
                let name = Path::new(&f.name).strip_prefix(root).unwrap();
                name.display().to_string()
            })
            .collect();
        // Name order: 0001..0599 (but the hundreds), then m/0000..m/0500; the dangling
        // 0200.yaml is not a file, the .txt not a manifest.
        let mut expected: Vec<String> = (0..600)
            .filter(|i| i % 100 != 0)
            .map(|i| format!("{i:04}.yaml"))
            .collect();
        expected.extend((0..600).step_by(100).map(|i| format!("m/{i:04}.yaml")));
        assert_eq!(names, expected);

        let pods: Vec<String> = read
            .files
            .iter()
            .flat_map(|f| f.contents.objects.summaries().map(|s| s.name.clone()))
            .collect();
        let want: Vec<String> = expected
            .iter()
            .filter(|n| *n != "0123.yaml")
            .map(|n| {
                format!(
                    "p{}",
                    n.trim_start_matches("m/")[..4].parse::<usize>().unwrap()
                )
            })
            .collect();
        assert_eq!(pods, want);

        let malformed = &read.files[names.iter().position(|n| n == "0123.yaml").unwrap()];
        assert_eq!(malformed.contents.diagnostics.len(), 1);
        assert_eq!(
            malformed.contents.diagnostics[0]
                .source
                .as_ref()
                .unwrap()
                .line,
            1
        );
        let dangling: Vec<&str> = read
            .diagnostics
            .iter()
            .map(|d| d.message.as_str())
            .collect();
        assert_eq!(dangling.len(), 1, "{dangling:?}");
        assert!(
            dangling[0].ends_with(&format!(
                "0200.yaml: not read (No such file or directory (os error 2)); the rest of {} was read",
                root.display()
            )),
            "{}",
            dangling[0]
        );
    }
}

#[cfg(test)]
mod read_many_files_on_rayon {
    use super::*;

    /// From a single rayon worker (a caller already inside rayon's pool) hundreds of files are
    /// still read, in order, without waiting on itself.
    #[test]
    fn hundreds_of_files_from_a_one_thread_rayon_pool() {
        let dir = tempfile::tempdir().unwrap();
        // More chunks than the parsers may hold (64 of 16 files): the loop would wait on them.
        for i in 0..1100 {
            let pod = format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p{i}\n");
            std::fs::write(dir.path().join(format!("{i:04}.yaml")), pod).unwrap();
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let read = pool.install(|| read_inputs(&[Input::Path(dir.path().to_path_buf())]));
        let names: Vec<String> = read
            .files
            .iter()
            .flat_map(|f| f.contents.objects.summaries().map(|s| s.name.clone()))
            .collect();
        let want: Vec<String> = (0..1100).map(|i| format!("p{i}")).collect();
        assert_eq!(names, want);
    }
}
