//! Loading policy directories into detectors, and running one.

use crate::builtins;
use crate::input::{self, PolicyInput};
use crate::metadata::{self, PolicyMeta, Requirement};
use crate::scan::{self, Scanned};
use detek_core::{
    DetectContext, DetectError, Detector, DetectorMeta, Docs, Finding, Level, ObjectRef, Outcome,
    SourceLocation, Text,
};
use std::collections::BTreeSet;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How policies are run.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Time one evaluation of one policy may take.
    pub timeout: Duration,
    /// Findings one policy may return in one scan; more is an error (a policy gone wrong).
    pub max_findings: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: Duration::from_secs(5),
            max_findings: 100_000,
        }
    }
}

/// A problem with one file of a policy directory: file, line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: u32,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
    }
}

/// The files of policy directories, read.
#[derive(Debug, Default)]
pub struct Sources {
    /// `*.rego` files with a `# METADATA` block: detectors.
    pub policies: Vec<RegoFile>,
    /// `*.rego` files without one (not tests): helper libraries, loaded with every policy.
    pub libraries: Vec<RegoFile>,
    /// `*_test.rego` files: `detek policy test`.
    pub tests: Vec<RegoFile>,
    /// `data.json` / `data.yaml` files, merged under `data`.
    pub data: Vec<(PathBuf, serde_json::Value)>,
    /// What could not be read (a data file that is not JSON or YAML...).
    pub problems: Vec<Problem>,
}

/// One Rego file.
#[derive(Debug, Clone)]
pub struct RegoFile {
    pub path: PathBuf,
    pub text: String,
    pub scanned: Arc<Scanned>,
}

/// Read every `*.rego`, `data.json` and `data.yaml` under `dirs` (recursively, in path order).
/// A directory that does not exist is an error; a file that cannot be read is a problem.
pub fn read_dirs(dirs: &[PathBuf]) -> anyhow::Result<Sources> {
    let mut sources = Sources::default();
    for dir in dirs {
        if !dir.is_dir() {
            anyhow::bail!("policy directory {} is not a directory", dir.display());
        }
        let mut files = Vec::new();
        walk(dir, &mut files)?;
        files.sort();
        for path in files {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .to_string();
            let name = name.as_str();
            let is_data = matches!(name, "data.json" | "data.yaml" | "data.yml");
            if !is_data && !name.ends_with(".rego") {
                continue;
            }
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(e) => {
                    sources.problems.push(Problem {
                        file: path.clone(),
                        line: 1,
                        message: format!("cannot be read: {e}"),
                    });
                    continue;
                }
            };
            if is_data {
                let value: Result<serde_json::Value, String> = if name == "data.json" {
                    serde_json::from_str(&text).map_err(|e| e.to_string())
                } else {
                    serde_saphyr::from_str(&text).map_err(|e| e.to_string())
                };
                match value {
                    Ok(serde_json::Value::Object(map)) => {
                        sources.data.push((path, serde_json::Value::Object(map)))
                    }
                    Ok(_) => sources.problems.push(Problem {
                        file: path,
                        line: 1,
                        message: "a policy data file must hold a mapping (its keys go under data.)"
                            .into(),
                    }),
                    Err(e) => sources.problems.push(Problem {
                        file: path,
                        line: 1,
                        message: format!(
                            "is not valid {}: {e}",
                            if name == "data.json" { "JSON" } else { "YAML" }
                        ),
                    }),
                }
                continue;
            }
            let file = RegoFile {
                scanned: Arc::new(scan::scan(&text)),
                path,
                text,
            };
            if name.ends_with("_test.rego") {
                sources.tests.push(file);
            } else if metadata::has_metadata(&file.text) {
                sources.policies.push(file);
            } else {
                sources.libraries.push(file);
            }
        }
    }
    Ok(sources)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("cannot read policy directory {}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            walk(&path, out)?;
        } else if kind.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

/// A base engine: extensions, libraries and data, with the time budget; each policy's engine
/// is a clone of it plus the policy.
pub fn base_engine(sources: &Sources, options: &Options) -> Result<regorus::Engine, Problem> {
    let mut engine = regorus::Engine::new();
    engine.set_execution_timer_config(regorus::utils::limits::ExecutionTimerConfig {
        limit: options.timeout,
        check_interval: NonZeroU32::new(64).expect("non-zero"),
    });
    // A builtin given bad arguments is an error, not a silently undefined rule.
    engine.set_strict_builtin_errors(true);
    builtins::register(&mut engine).map_err(|e| Problem {
        file: PathBuf::from("<builtins>"),
        line: 0,
        message: e.to_string(),
    })?;
    for (path, value) in &sources.data {
        engine
            .add_data(regorus::Value::from(value.clone()))
            .map_err(|e| Problem {
                file: path.clone(),
                line: 1,
                message: format!("its keys clash with other policy data: {e}"),
            })?;
    }
    for library in &sources.libraries {
        engine
            .add_policy(library.path.display().to_string(), library.text.clone())
            .map_err(|e| rego_problem(&library.path, &e))?;
    }
    Ok(engine)
}

/// A regorus error as a problem: its message names `file:line:col` already.
fn rego_problem(path: &Path, error: &anyhow::Error) -> Problem {
    let message = error.to_string();
    let line = message
        .split_once(&format!("{}:", path.display()))
        .and_then(|(_, rest)| rest.split(':').next())
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(1);
    Problem {
        file: path.to_path_buf(),
        line,
        message: format!("does not compile: {}", message.trim()),
    }
}

/// The calls in `module` to functions that do not exist or are refused, as problems.
pub fn check_calls(module: &RegoFile, all: &[&RegoFile]) -> Vec<Problem> {
    let scanned: Vec<&Scanned> = all.iter().map(|f| f.scanned.as_ref()).collect();
    let defined = scan::defined(&scanned);
    scan::unknown_calls(&module.scanned, &defined, &builtins::is_builtin)
        .into_iter()
        .map(|call| {
            let why = builtins::REFUSED
                .iter()
                .find(|(name, _)| *name == call.name)
                .map(|(_, why)| format!("`{}` is not available: {why}", call.name))
                .unwrap_or_else(|| format!("unknown function `{}`", call.name));
            Problem {
                file: module.path.clone(),
                line: call.line,
                message: why,
            }
        })
        .collect()
}

/// Everything the policies of one load share: what the input must hold.
#[derive(Debug, Default)]
struct Shared {
    wanted: BTreeSet<Requirement>,
}

/// A policy as a detector. A policy that could not be loaded is one too: it reports `Unknown`
/// with the reason, and every other detector still runs.
pub struct PolicyDetector {
    meta: DetectorMeta,
    requires: Vec<Requirement>,
    state: State,
    shared: Arc<Shared>,
    options: Options,
}

enum State {
    /// regorus' engine is `Send` but not `Sync`: each evaluation clones it under the lock.
    Ready {
        engine: Box<Mutex<regorus::Engine>>,
        query: String,
    },
    Broken(String),
}

impl PolicyDetector {
    /// Why the policy cannot run, when it cannot.
    pub fn broken(&self) -> Option<&str> {
        match &self.state {
            State::Broken(reason) => Some(reason),
            State::Ready { .. } => None,
        }
    }

    /// The kinds it needs.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requires
    }
}

/// The detectors of `dirs`: one per policy, broken ones included (their reason is their
/// `Unknown`), and the problems found (for `detek policy check` and stderr).
pub fn load(
    dirs: &[PathBuf],
    options: Options,
) -> anyhow::Result<(Vec<Arc<PolicyDetector>>, Vec<Problem>)> {
    let sources = read_dirs(dirs)?;
    Ok(load_sources(&sources, options))
}

/// [`load`] over files already read.
pub fn load_sources(
    sources: &Sources,
    options: Options,
) -> (Vec<Arc<PolicyDetector>>, Vec<Problem>) {
    let mut problems = sources.problems.clone();
    let base = base_engine(sources, &options);
    if let Err(problem) = &base {
        problems.push(problem.clone());
    }
    let data_problem = sources
        .problems
        .iter()
        .find(|p| {
            p.file
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("data."))
        })
        .map(|p| p.to_string());
    let mut shared = Shared::default();
    let mut built = Vec::new();
    let mut seen_ids = BTreeSet::new();
    for file in &sources.policies {
        let meta = metadata::parse(&file.text);
        let (id, meta) = match meta {
            Ok(meta) => (meta.id.clone(), Ok(meta)),
            Err(e) => (id_from_path(&file.path), Err(e)),
        };
        let mut state = match (&meta, &base) {
            (Err(e), _) => {
                let problem = Problem {
                    file: file.path.clone(),
                    line: e.line,
                    message: e.message.clone(),
                };
                problems.push(problem.clone());
                State::Broken(format!("policy not loaded: {problem}"))
            }
            (Ok(_), Err(problem)) => State::Broken(format!("policy not loaded: {problem}")),
            (Ok(meta), Ok(base)) => match prepare(file, meta, sources, base) {
                Ok(state) => state,
                Err(problem) => {
                    problems.push(problem.clone());
                    State::Broken(format!("policy not loaded: {problem}"))
                }
            },
        };
        if let (State::Ready { .. }, Some(problem)) = (&state, &data_problem) {
            state = State::Broken(format!(
                "policy not loaded: its data could not be read: {problem}"
            ));
        }
        if !seen_ids.insert(id.clone()) {
            let problem = Problem {
                file: file.path.clone(),
                line: meta.as_ref().map_or(1, |m| m.line),
                message: format!("another policy has the id {id:?}"),
            };
            problems.push(problem);
            continue;
        }
        let requires = meta
            .as_ref()
            .map(|m| m.requires.clone())
            .unwrap_or_default();
        shared.wanted.extend(requires.iter().cloned());
        built.push((file, id, meta.ok(), requires, state));
    }
    let shared = Arc::new(shared);
    let detectors = built
        .into_iter()
        .map(|(file, id, meta, requires, state)| {
            Arc::new(PolicyDetector {
                meta: detector_meta(&file.path, &id, meta.as_ref(), &requires),
                requires,
                state,
                shared: shared.clone(),
                options,
            })
        })
        .collect();
    (detectors, problems)
}

/// A detector id for a file whose metadata could not be read: its stem, made snake_case.
fn id_from_path(path: &Path) -> String {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("policy");
    let id: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("policy_{id}")
}

/// Compile one policy on a clone of the base engine and check it before any scan: its calls,
/// its `findings` rule, and a dry run on an empty input.
fn prepare(
    file: &RegoFile,
    meta: &PolicyMeta,
    sources: &Sources,
    base: &regorus::Engine,
) -> Result<State, Problem> {
    let problem = |line: u32, message: String| Problem {
        file: file.path.clone(),
        line,
        message,
    };
    let mut all: Vec<&RegoFile> = sources.libraries.iter().collect();
    all.push(file);
    if let Some(first) = check_calls(file, &all).into_iter().next() {
        return Err(first);
    }
    let expected_package = format!("detek.{}", meta.id);
    match file.scanned.package.as_deref() {
        Some(package) if package == expected_package => {}
        Some(package) => {
            return Err(problem(
                meta.line,
                format!(
                    "its package is {package}; a policy with id {} must be in package {expected_package}",
                    meta.id
                ),
            ));
        }
        None => return Err(problem(1, "no package".into())),
    }
    if !file.scanned.heads.iter().any(|h| h.name == "findings") {
        return Err(problem(
            meta.line,
            "defines no `findings` rule (a set: `findings contains {\"object\": ..., \"message\": ...} if { ... }`)".into(),
        ));
    }
    let mut engine = base.clone();
    engine
        .add_policy(file.path.display().to_string(), file.text.clone())
        .map_err(|e| rego_problem(&file.path, &e))?;
    let query = format!("data.{expected_package}.findings");
    // The dry run: rule conflicts and errors that do not depend on the objects show now.
    let mut dry = engine.clone();
    dry.set_input(regorus::Value::from(serde_json::json!({
        "now": "1970-01-01T00:00:00Z",
        "cluster": {"live": false, "wholeCluster": false},
        "kubernetes": {},
        "indexes": {},
    })));
    if let Err(e) = dry.eval_rule(query.clone()) {
        return Err(rego_problem(&file.path, &e));
    }
    Ok(State::Ready {
        engine: Box::new(Mutex::new(engine)),
        query,
    })
}

fn detector_meta(
    path: &Path,
    id: &str,
    meta: Option<&PolicyMeta>,
    requires: &[Requirement],
) -> DetectorMeta {
    let source = SourceLocation {
        file: path.display().to_string(),
        line: meta.map_or(1, |m| m.line),
    };
    let owned = |s: &str| Text::Owned(s.to_string());
    match meta {
        Some(meta) => DetectorMeta {
            id: owned(id),
            title: owned(&meta.title),
            labels: std::iter::once("policy".to_string())
                .chain(meta.labels.iter().cloned())
                .map(Text::Owned)
                .collect(),
            level: meta.level,
            requires: input::keys_of(requires),
            uses: Vec::new(),
            references: meta.references.iter().map(|r| owned(r)).collect(),
            docs: Docs {
                what: owned(&meta.description),
                why: Text::Borrowed(""),
                fix: owned(&meta.solution),
                example: owned(&meta.example),
            },
            settings: Vec::new(),
            source: Some(source),
        },
        None => DetectorMeta {
            id: owned(id),
            title: owned(&format!("policy {} (not loaded)", path.display())),
            labels: vec![Text::Borrowed("policy")],
            level: Level::Error,
            requires: Vec::new(),
            uses: Vec::new(),
            references: Vec::new(),
            docs: Docs::default(),
            settings: Vec::new(),
            source: Some(source),
        },
    }
}

impl Detector for PolicyDetector {
    fn meta(&self) -> &DetectorMeta {
        &self.meta
    }

    fn detect(&self, ctx: &DetectContext) -> Result<Outcome, DetectError> {
        let (engine, query) = match &self.state {
            State::Broken(reason) => return Err(DetectError::new(reason.clone())),
            State::Ready { engine, query } => (engine, query),
        };
        let input = ctx.store.memo(input::MEMO, || {
            PolicyInput::build(ctx.store, &self.shared.wanted, ctx.now, ctx.target())
        });
        let value = input
            .value
            .as_ref()
            .map_err(|e| DetectError::new(e.clone()))?;
        let mut engine = engine.lock().unwrap_or_else(|e| e.into_inner()).clone();
        engine.set_input(value.clone());
        let result = engine.eval_rule(query.clone()).map_err(|e| {
            let message = e.to_string();
            let timed_out = e.chain().any(|cause| {
                matches!(
                    cause.downcast_ref::<regorus::LimitError>(),
                    Some(regorus::LimitError::TimeLimitExceeded { .. })
                )
            });
            if timed_out {
                DetectError::new(format!(
                    "policy stopped: it ran past its time budget of {:?} (policyTimeout, --policy-timeout)",
                    self.options.timeout
                ))
            } else {
                DetectError::new(format!("policy failed: {message}"))
            }
        })?;
        let findings = findings_of(&result, &input, self.meta.level, self.options.max_findings)
            .map_err(|e| {
                DetectError::new(format!(
                    "{}: {e}",
                    self.meta
                        .source
                        .as_ref()
                        .map_or(String::new(), |s| s.to_string())
                ))
            })?;
        let mut outcome = Outcome::new().evaluated(input.count(&self.requires));
        outcome.findings = findings;
        Ok(outcome)
    }
}

/// The findings a policy returned, checked: each an object with `message` (a string) and
/// `object` (`kind` and `name`, optional `namespace` — or a whole object with `metadata`),
/// optional `evidence` (a string or strings) and `container`.
pub fn findings_of(
    result: &regorus::Value,
    input: &PolicyInput,
    level: Level,
    max: usize,
) -> Result<Vec<Finding>, String> {
    if *result == regorus::Value::Undefined {
        return Ok(Vec::new());
    }
    let json: serde_json::Value =
        serde_json::to_value(result).map_err(|e| format!("`findings` cannot be read: {e}"))?;
    let serde_json::Value::Array(elements) = json else {
        return Err(format!(
            "`findings` must be a set of objects, not {}",
            kind_of(&json)
        ));
    };
    if elements.len() > max {
        return Err(format!(
            "`findings` has {} elements, more than the {max} allowed",
            elements.len()
        ));
    }
    let mut findings = Vec::with_capacity(elements.len());
    for (i, element) in elements.iter().enumerate() {
        let malformed = |why: &str| {
            let text = element.to_string();
            let shown: String = text.chars().take(200).collect();
            format!("finding {} is malformed: {why}: {shown}", i + 1)
        };
        let serde_json::Value::Object(map) = element else {
            return Err(malformed("not an object"));
        };
        let message = map
            .get("message")
            .and_then(|m| m.as_str())
            .filter(|m| !m.trim().is_empty())
            .ok_or_else(|| malformed("no `message` string"))?;
        let object = map.get("object").ok_or_else(|| malformed("no `object`"))?;
        let (kind, namespace, name) = object_identity(object)
            .ok_or_else(|| malformed("`object` has no `kind` and `name` (or `metadata.name`)"))?;
        let mut reference = input
            .object_ref(&kind, namespace.as_deref(), &name)
            .cloned()
            .unwrap_or_else(|| ObjectRef::new(kind.clone(), namespace.as_deref(), name.clone()));
        let container = match map.get("container") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(c)) => Some(c.clone()),
            Some(_) => return Err(malformed("`container` is not a string")),
        };
        if let Some(container) = container {
            reference = reference.with_container(container);
        }
        let mut finding = Finding::new(level, Some(reference), message.trim());
        match map.get("evidence") {
            None | Some(serde_json::Value::Null) => {}
            Some(serde_json::Value::String(e)) => finding = finding.with_evidence(e.clone()),
            Some(serde_json::Value::Array(list)) => {
                for e in list {
                    let e = e
                        .as_str()
                        .ok_or_else(|| malformed("`evidence` holds a non-string"))?;
                    finding = finding.with_evidence(e.to_string());
                }
            }
            Some(_) => {
                return Err(malformed(
                    "`evidence` is neither a string nor a list of strings",
                ));
            }
        }
        findings.push(finding);
    }
    Ok(findings)
}

/// (kind, namespace, name) of a finding's `object`.
fn object_identity(object: &serde_json::Value) -> Option<(String, Option<String>, String)> {
    let kind = object.get("kind")?.as_str()?.to_string();
    let meta = object.get("metadata").unwrap_or(object);
    let name = meta.get("name")?.as_str()?.to_string();
    let namespace = meta
        .get("namespace")
        .and_then(|n| n.as_str())
        .map(str::to_string);
    (!kind.is_empty() && !name.is_empty()).then_some((kind, namespace, name))
}

fn kind_of(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}
