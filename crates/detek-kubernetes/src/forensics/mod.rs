//! Restart forensics: why did this container restart, or why does it keep crashing?
//!
//! An expert answers the on-call ticket ("restart notification for Pod X at 05:12, cause?")
//! from four places, and so does this module, deterministically:
//! * the container's last termination — reason, exit code (decoded: 137 is SIGKILL, 127 a
//!   command not found…), signal, start and finish;
//! * the events of the Pod and of its Node in a window around the termination (probe
//!   failures, kills, evictions, preemption, the node rebooting or running out of memory), and
//!   the Node's conditions then;
//! * the last lines the previous run wrote (`kubernetes/previous-logs`, live scans only) and
//!   the termination message, matched against a table of known error signatures
//!   ([`signatures`], `data/log-signatures.yaml`);
//! * when a Prometheus is configured, the container's memory working set against its limit
//!   and its CPU throttling in the 30 minutes before the termination
//!   (`prometheus/container-history`, the seam key `detek-prometheus` fills).
//!
//! A table of known causes ([`causes`], `data/restart-causes.yaml`) turns those facts into a
//! verdict with an explanation and a fix; the first cause that holds wins, and when none does
//! the verdict says "no known cause" with what was looked at — never a guess. Both tables are
//! data, and users add their own.
//!
//! [`Evidence`] indexes a scan's events and nodes once; [`Evidence::explain`] explains one
//! container. The restart detectors attach the verdict to their findings; `detek why` prints
//! the whole [`Explanation`].

pub mod causes;
pub mod facts;
pub mod signatures;

use crate::model::{EVENTS, Item, Items, NODES};
use causes::Causes;
use detek_core::{DetectContext, Missing};
use detek_kubernetes_model::history::{CONTAINER_HISTORY, ContainerHistory};
use detek_kubernetes_model::logs::{PREVIOUS_LOGS, PreviousLogs};
use detek_kubernetes_model::pod::{ContainerStatus, Pod};
use facts::{EventFact, Facts};
use k8s_openapi::api::core::v1::{ContainerStateTerminated, ContainerStateWaiting, Event, Node};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use signatures::{LogMatch, Signatures, redact};
use std::collections::{BTreeMap, HashMap};
use std::time::SystemTime;

/// Seconds before a termination whose events count as its context.
pub const WINDOW_BEFORE_SECONDS: i64 = 30 * 60;
/// Seconds after it (the kill and the restart are recorded just after).
pub const WINDOW_AFTER_SECONDS: i64 = 10 * 60;

/// What the scan could give: each source, or why it is not there.
pub struct Sources<'a> {
    pub events: Result<&'a Items<Event>, String>,
    pub nodes: Result<&'a Items<Node>, String>,
    pub logs: Result<&'a PreviousLogs, String>,
    pub history: Result<&'a ContainerHistory, String>,
}

/// How to explain.
#[derive(Debug, Clone)]
pub struct Options {
    pub causes: Causes,
    pub signatures: Signatures,
    /// Show the matched log line (redacted); `false` with `--no-log-excerpts`.
    pub log_excerpts: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            causes: Causes::builtin(),
            signatures: Signatures::builtin(),
            log_excerpts: true,
        }
    }
}

/// The tables this process explains with, when the user gave their own (detek.yaml's
/// `forensics:`); the built-in ones otherwise. Set once, before the first scan: detectors read
/// it where a scan's settings cannot carry compiled tables.
static INSTALLED: std::sync::OnceLock<Options> = std::sync::OnceLock::new();

/// Explain with `options` from now on (once per process; a second call is refused).
pub fn install(options: Options) -> Result<(), String> {
    INSTALLED
        .set(options)
        .map_err(|_| "the restart forensics tables were already installed".to_string())
}

/// The tables in use: the installed ones, else the built-in ones.
pub fn options() -> Options {
    INSTALLED.get().cloned().unwrap_or_default()
}

impl Options {
    /// The built-in tables with the user's `causes` and `signatures` files after them (each
    /// file in the built-in format, its errors naming the file).
    pub fn with_files(
        causes_files: &[std::path::PathBuf],
        signature_files: &[std::path::PathBuf],
    ) -> Result<Options, String> {
        let read = |path: &std::path::PathBuf| {
            std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
        };
        let mut options = Options::default();
        for path in causes_files {
            let extra = causes::parse(&read(path)?, &path.display().to_string())?;
            options.causes = options.causes.with(extra);
        }
        for path in signature_files {
            let extra = signatures::parse(&read(path)?, &path.display().to_string())?;
            options.signatures = options.signatures.with(extra);
        }
        Ok(options)
    }
}

/// Events by the object they are about: (kind, namespace — empty for a Node —, name).
type EventsByObject<'a> = HashMap<(&'a str, &'a str, &'a str), Vec<&'a Item<Event>>>;

/// The facts of one container and where they came from.
struct Gathered<'s> {
    facts: Facts,
    termination: Option<Termination>,
    waiting: Option<&'s ContainerStateWaiting>,
    looked_at: Vec<String>,
    not_read: Vec<String>,
    metrics: Option<MetricsBefore>,
    now: Timestamp,
}

/// A scan's events and nodes, indexed once for every container explained.
pub struct Evidence<'a> {
    events: Result<EventsByObject<'a>, String>,
    nodes: Result<HashMap<&'a str, &'a Item<Node>>, String>,
    logs: Result<&'a PreviousLogs, String>,
    history: Result<&'a ContainerHistory, String>,
    options: Options,
}

/// One termination, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Termination {
    pub exit_code: i32,
    /// What the exit code means (`exit code 137: killed by SIGKILL …`).
    pub meaning: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// The termination message, redacted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    /// `true`: the container is still in this state (not restarted yet).
    pub current: bool,
}

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<Timestamp>,
    pub what: String,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The cause's id; `None`: no known cause.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    pub title: String,
    pub explanation: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// The facts the cause matched on.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
}

/// The metrics of the 30 minutes before a termination.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricsBefore {
    /// Where they came from (`Prometheus http://…`).
    pub source: String,
    pub from: Timestamp,
    pub to: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryTrend>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttling: Option<Throttling>,
}

/// The memory working set before a termination.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemoryTrend {
    pub first_bytes: f64,
    pub peak_bytes: f64,
    pub last_bytes: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_bytes: Option<f64>,
    /// The peak as a share of the limit (1.0: at the limit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_of_limit: Option<f64>,
    /// Growth from the first to the last point, per minute.
    pub bytes_per_minute: f64,
    /// (seconds since the epoch, bytes).
    pub points: Vec<(i64, f64)>,
}

/// The share of CPU periods throttled before a termination.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Throttling {
    pub mean: f64,
    pub max: f64,
    pub points: Vec<(i64, f64)>,
}

impl MemoryTrend {
    fn of(points: Vec<(i64, f64)>, limit: Option<f64>) -> Option<MemoryTrend> {
        let (&(t0, first), &(t1, last)) = (points.first()?, points.last()?);
        let peak = points.iter().map(|p| p.1).fold(f64::MIN, f64::max);
        let minutes = ((t1 - t0) as f64 / 60.0).max(1.0);
        let limit = limit.filter(|l| *l > 0.0);
        Some(MemoryTrend {
            first_bytes: first,
            peak_bytes: peak,
            last_bytes: last,
            limit_bytes: limit,
            peak_of_limit: limit.map(|l| peak / l),
            bytes_per_minute: (last - first) / minutes,
            points,
        })
    }

    /// `memory working set 41.0 MiB → 99.6 MiB (peak 99.6 MiB, 100% of the 100.0 MiB limit),
    /// +1.9 MiB a minute`.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "memory working set {} → {} (peak {}",
            mib(self.first_bytes),
            mib(self.last_bytes),
            mib(self.peak_bytes)
        );
        if let (Some(limit), Some(share)) = (self.limit_bytes, self.peak_of_limit) {
            s.push_str(&format!(
                ", {:.0}% of the {} limit",
                share * 100.0,
                mib(limit)
            ));
        }
        let sign = if self.bytes_per_minute >= 0.0 {
            "+"
        } else {
            "-"
        };
        s.push_str(&format!(
            "), {sign}{} a minute",
            mib(self.bytes_per_minute.abs())
        ));
        s
    }
}

impl Throttling {
    pub fn describe(&self) -> String {
        format!(
            "CPU throttled in {:.0}% of its periods on average, {:.0}% at most",
            self.mean * 100.0,
            self.max * 100.0
        )
    }
}

impl MetricsBefore {
    /// One line per metric read.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(m) = &self.memory {
            lines.push(m.describe());
        }
        if let Some(t) = &self.throttling {
            lines.push(t.describe());
        }
        lines
    }
}

/// Bytes in MiB, one decimal.
fn mib(bytes: f64) -> String {
    format!("{:.1} MiB", bytes / (1024.0 * 1024.0))
}

/// Why one container restarted (or keeps failing to run).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    /// `container`, `init container` or `ephemeral container`.
    pub container_kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    pub restart_count: i32,
    /// Where it is now: `running since …`, `waiting: CrashLoopBackOff (…)`, `terminated`.
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub termination: Option<Termination>,
    pub timeline: Vec<TimelineEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<LogMatch>,
    /// Memory and CPU before the termination, when a Prometheus was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<MetricsBefore>,
    pub verdict: Verdict,
    /// The sources that were read.
    pub looked_at: Vec<String>,
    /// The sources that could not be read, with why.
    pub not_read: Vec<String>,
}

impl Explanation {
    /// The timeline and metric traces, as findings carry them (shown under the finding in
    /// HTML and the hub).
    pub fn to_timeline(&self) -> detek_core::Timeline {
        let mut traces = Vec::new();
        if let Some(m) = &self.metrics {
            if let Some(memory) = &m.memory {
                traces.push(detek_core::Trace {
                    name: "memory working set".to_string(),
                    unit: "bytes".to_string(),
                    limit: memory.limit_bytes,
                    points: memory.points.clone(),
                    summary: memory.describe(),
                });
            }
            if let Some(t) = &m.throttling {
                traces.push(detek_core::Trace {
                    name: "CPU throttled".to_string(),
                    unit: "ratio".to_string(),
                    limit: None,
                    points: t.points.clone(),
                    summary: t.describe(),
                });
            }
        }
        detek_core::Timeline {
            entries: self
                .timeline
                .iter()
                .map(|e| detek_core::TimelineEntry {
                    at: e.at.map(|t| t.to_string()),
                    what: e.what.clone(),
                })
                .collect(),
            traces,
        }
    }

    /// The verdict in one line, for findings: `verdict: killed at its memory limit — …`.
    pub fn verdict_line(&self) -> String {
        format!(
            "verdict: {} — {}",
            self.verdict.title, self.verdict.explanation
        )
    }
}

impl<'a> Evidence<'a> {
    pub fn new(sources: Sources<'a>, options: Options) -> Evidence<'a> {
        let events = sources.events.map(|events| {
            let mut by: HashMap<(&str, &str, &str), Vec<&Item<Event>>> = HashMap::new();
            for e in events {
                let o = &e.involved_object;
                let (Some(kind), Some(name)) = (o.kind.as_deref(), o.name.as_deref()) else {
                    continue;
                };
                // A Node's events are recorded in the default namespace (or none).
                let ns = if kind == "Node" {
                    ""
                } else {
                    o.namespace
                        .as_deref()
                        .unwrap_or_else(|| e.namespace_or_default())
                };
                by.entry((kind, ns, name)).or_default().push(&**e);
            }
            by
        });
        let nodes = sources
            .nodes
            .map(|nodes| nodes.iter().map(|n| (n.name(), &**n)).collect());
        Evidence {
            events,
            nodes,
            logs: sources.logs,
            history: sources.history,
            options,
        }
    }

    /// Does `cause` hold for container `status` of `pod` as of `now` (whether or not an
    /// earlier cause of the table wins)?
    pub fn holds(
        &self,
        cause: &causes::Cause,
        pod: &Item<Pod>,
        status: &ContainerStatus,
        now: SystemTime,
    ) -> bool {
        cause.holds(&self.gather(pod, status, now).facts).is_some()
    }

    /// The facts of container `status` of `pod` as of `now`, and where they came from.
    fn gather<'s>(
        &self,
        pod: &Item<Pod>,
        status: &'s ContainerStatus,
        now: SystemTime,
    ) -> Gathered<'s> {
        let now = Timestamp::try_from(now).unwrap_or(Timestamp::UNIX_EPOCH);
        let namespace = pod.namespace_or_default().to_string();
        let name = pod.name().to_string();
        let container = status.name.clone();
        let node_name = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name())
            .map(str::to_string);
        let mut looked_at = vec!["the container's status".to_string()];
        let mut not_read = Vec::new();

        let state = status.state.as_ref();
        let (terminated, current) = match state.and_then(|s| s.terminated.as_deref()) {
            Some(t) => (Some(t), true),
            None => (
                status
                    .last_state
                    .as_ref()
                    .and_then(|s| s.terminated.as_deref()),
                false,
            ),
        };
        let termination = terminated.map(|t| decode(t, current));
        let waiting = state.and_then(|s| s.waiting.as_ref());
        let anchor = termination
            .as_ref()
            .and_then(|t| t.finished_at.or(t.started_at))
            .unwrap_or(now);
        let from = anchor - SignedDuration::from_secs(WINDOW_BEFORE_SECONDS);
        let to = anchor + SignedDuration::from_secs(WINDOW_AFTER_SECONDS);
        let window = format!("{from} to {to}");

        let mut facts = Facts {
            termination_reason: terminated.and_then(|t| t.reason.clone()),
            exit_code: terminated.map(|t| t.exit_code),
            waiting_reason: waiting.and_then(|w| w.reason.clone()),
            memory_limit: memory_limit(pod, &container).map(str::to_string),
            pod_reason: pod.status.as_ref().and_then(|s| s.reason.clone()),
            pod_condition_reasons: facts::pod_condition_reasons(pod),
            ..Facts::default()
        };

        match &self.events {
            Ok(by) => {
                facts.pod_events = events_in(by, ("Pod", &namespace, &name), from, to)
                    .filter(|(e, _)| about_container(e, &container))
                    .map(|(_, f)| f)
                    .collect();
                looked_at.push(format!("the Pod's events from {window}"));
                if let Some(node) = &node_name {
                    facts.node_events = events_in(by, ("Node", "", node), from, to)
                        .map(|(_, f)| f)
                        .collect();
                    looked_at.push(format!("the events of Node {node}"));
                }
            }
            Err(why) => not_read.push(format!("events: {why}")),
        }
        match (&self.nodes, &node_name) {
            (Ok(nodes), Some(node)) => match nodes.get(node.as_str()) {
                Some(n) => {
                    facts.node_conditions = facts::node_conditions(n, from, to);
                    looked_at.push(format!("the conditions of Node {node}"));
                }
                None => not_read.push(format!("Node {node}: not in the scan")),
            },
            (Err(why), Some(_)) => not_read.push(format!("the Node: {why}")),
            (_, None) => {}
        }

        // The previous run's last lines, then the termination message.
        let mut log_lines: Vec<(&str, &str)> = Vec::new();
        match &self.logs {
            Ok(logs) => match logs.of(&namespace, &name, &container) {
                Some(Ok(lines)) => {
                    looked_at.push(format!("the previous run's last {} log lines", lines.len()));
                    log_lines.extend(lines.iter().map(|l| (l.as_str(), "previous log")));
                }
                Some(Err(why)) => not_read.push(format!("the previous run's log: {why}")),
                None => not_read
                    .push("the previous run's log: not fetched for this container".to_string()),
            },
            Err(why) => not_read.push(format!("the previous run's log: {why}")),
        }
        if let Some(message) = terminated.and_then(|t| t.message.as_deref()) {
            looked_at.push("the termination message".to_string());
            log_lines.extend(message.lines().map(|l| (l, "termination message")));
        }
        if let Some(message) = waiting.and_then(|w| w.message.as_deref()) {
            log_lines.extend(message.lines().map(|l| (l, "waiting message")));
        }
        facts.log_match = self.find_signature(&log_lines);
        let metrics = match &self.history {
            Ok(history) => {
                let read = metrics_before(history, (&namespace, &name, &container), anchor);
                match &read {
                    Ok(m) => {
                        looked_at.push(format!(
                            "memory and CPU from {} to {} ({})",
                            m.from, m.to, m.source
                        ));
                        facts.memory_peak_of_limit =
                            m.memory.as_ref().and_then(|m| m.peak_of_limit);
                    }
                    Err(why) => {
                        not_read.push(format!("memory and CPU before the termination: {why}"))
                    }
                }
                read.ok()
            }
            Err(why) => {
                not_read.push(format!("memory and CPU before the termination: {why}"));
                None
            }
        };

        Gathered {
            facts,
            termination,
            waiting,
            looked_at,
            not_read,
            metrics,
            now,
        }
    }

    /// Explain container `status` (of kind `container_kind`) of `pod`, as of `now`.
    pub fn explain(
        &self,
        pod: &Item<Pod>,
        status: &ContainerStatus,
        container_kind: &str,
        now: SystemTime,
    ) -> Explanation {
        let Gathered {
            facts,
            termination,
            waiting,
            looked_at,
            not_read,
            metrics,
            now,
        } = self.gather(pod, status, now);
        let namespace = pod.namespace_or_default().to_string();
        let name = pod.name().to_string();
        let container = status.name.clone();
        let node_name = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name())
            .map(str::to_string);
        let timeline = timeline(
            status,
            termination.as_ref(),
            &facts,
            metrics.as_ref(),
            &container,
            now,
        );
        let probe = liveness_probe(pod, &container);
        let grace = grace_period(pod);
        let exit = match (&termination, waiting) {
            (Some(t), _) => t.meaning.clone(),
            (None, Some(w)) => format!(
                "it is waiting ({})",
                w.reason.as_deref().unwrap_or("no reason given")
            ),
            (None, None) => "no termination recorded".to_string(),
        };
        let verdict = match self.options.causes.judge(&facts) {
            Some((cause, matched)) => {
                let mut values: BTreeMap<&str, String> = BTreeMap::new();
                values.insert("container", format!("container {container}"));
                values.insert("exit", exit.clone());
                values.insert(
                    "memory_limit",
                    facts
                        .memory_limit
                        .clone()
                        .unwrap_or_else(|| "none".to_string()),
                );
                values.insert(
                    "node",
                    node_name
                        .clone()
                        .map_or_else(|| "its node".to_string(), |n| format!("node {n}")),
                );
                values.insert("probe", probe.clone());
                values.insert("grace", grace.clone());
                let (signature, signature_fix) = match &facts.log_match {
                    Some(m) => (m.title.clone(), format!("{} ", m.fix)),
                    None => ("none recognised".to_string(), String::new()),
                };
                values.insert(
                    "memory_trend",
                    metrics
                        .as_ref()
                        .and_then(|m| m.memory.as_ref())
                        .map(|m| format!("In the 30 minutes before: {}.", m.describe()))
                        .unwrap_or_default(),
                );
                values.insert("signature", signature);
                values.insert("signature_fix", signature_fix);
                values.insert(
                    "event",
                    matched
                        .event
                        .as_ref()
                        .map_or_else(|| "no event recorded".to_string(), EventFact::describe),
                );
                let e = &cause.entry;
                Verdict {
                    cause: Some(e.id.clone()),
                    title: e.title.clone(),
                    explanation: tidy(&cause.render(&e.explanation, &values)),
                    fix: Some(tidy(&cause.render(&e.fix, &values))),
                    evidence: matched.evidence,
                    references: e.references.clone(),
                }
            }
            None => Verdict {
                cause: None,
                title: "no known cause".to_string(),
                explanation: format!(
                    "none of the {} known causes matched {exit}; what was looked at is listed, \
                     and what could not be read",
                    self.options.causes.entries().count()
                ),
                fix: None,
                evidence: Vec::new(),
                references: Vec::new(),
            },
        };
        let mut log = facts.log_match.clone();
        if let Some(m) = &mut log
            && !self.options.log_excerpts
        {
            m.line = None;
        }
        Explanation {
            namespace,
            pod: name,
            container,
            container_kind: container_kind.to_string(),
            node: node_name,
            restart_count: status.restart_count,
            state: describe_state(status),
            termination,
            timeline,
            log,
            metrics,
            verdict,
            looked_at,
            not_read,
        }
    }

    fn find_signature(&self, lines: &[(&str, &str)]) -> Option<LogMatch> {
        let texts: Vec<&str> = lines.iter().map(|(l, _)| *l).collect();
        let (signature, line) = self.options.signatures.find(&texts)?;
        let found_in = lines
            .iter()
            .find(|(l, _)| std::ptr::eq(*l, line))
            .map_or("log", |(_, w)| w);
        let e = &signature.entry;
        Some(LogMatch {
            signature: e.id.clone(),
            title: e.title.clone(),
            category: e.category.clone(),
            fix: e.fix.clone(),
            found_in: found_in.to_string(),
            line: Some(redact(line)),
        })
    }
}

/// Events of one object in `[from, to]`, oldest first, with their facts.
fn events_in<'e, 'k>(
    by: &'e HashMap<(&'k str, &'k str, &'k str), Vec<&'e Item<Event>>>,
    object: (&'k str, &'k str, &'k str),
    from: Timestamp,
    to: Timestamp,
) -> impl Iterator<Item = (&'e Item<Event>, EventFact)> + use<'e> {
    let mut found: Vec<(&Item<Event>, EventFact)> = by
        .get(&object)
        .into_iter()
        .flatten()
        .map(|e| (*e, EventFact::of(e)))
        .filter(|(_, f)| f.within(from, to))
        .collect();
    found.sort_by_key(|(_, f)| f.last);
    found.into_iter()
}

/// Is a Pod event about this container (its `fieldPath` names it) or the whole Pod?
fn about_container(event: &Item<Event>, container: &str) -> bool {
    match event.involved_object.field_path.as_deref() {
        None | Some("") => true,
        Some(path) => path.contains(&format!("{{{container}}}")),
    }
}

/// Decode a termination.
fn decode(t: &ContainerStateTerminated, current: bool) -> Termination {
    Termination {
        exit_code: t.exit_code,
        meaning: exit_meaning(t.exit_code),
        reason: t.reason.clone().filter(|r| !r.is_empty()),
        signal: t.signal.filter(|s| *s != 0),
        message: t
            .message
            .as_deref()
            .filter(|m| !m.trim().is_empty())
            .map(|m| redact(m.trim())),
        started_at: t.started_at.as_ref().map(|t| t.0),
        finished_at: t.finished_at.as_ref().map(|t| t.0),
        current,
    }
}

/// What an exit code says, in words (the shell's convention: 128 + N is signal N).
pub fn exit_meaning(code: i32) -> String {
    let what = match code {
        0 => "it exited cleanly".to_string(),
        1 => "the program reported an error".to_string(),
        2 => "the program (or its shell) failed or rejected its arguments".to_string(),
        126 => "the command was found but could not be executed".to_string(),
        127 => "command not found".to_string(),
        134 => "aborted (SIGABRT), often a failed assertion or a runtime's fatal error".to_string(),
        137 => "killed by SIGKILL: the OOM killer, a kill after the grace period, or the node \
                stopping"
            .to_string(),
        139 => "crashed on an invalid memory access (SIGSEGV)".to_string(),
        143 => {
            "stopped by SIGTERM: asked to stop (a liveness failure, a rollout, a drain)".to_string()
        }
        255 => "exit status 255: often the runtime lost the container (node reboot, runtime \
                restart)"
            .to_string(),
        129..=192 => format!("killed by signal {}", code - 128),
        _ => "the program's own error code".to_string(),
    };
    format!("exit code {code}: {what}")
}

/// The memory limit written in the Pod's spec for container `name` (init or regular), if any.
pub(crate) fn memory_limit<'a>(pod: &'a Pod, name: &str) -> Option<&'a str> {
    let spec = pod.spec.as_ref()?;
    let container = spec
        .init_containers
        .iter()
        .flatten()
        .chain(spec.containers.iter())
        .find(|c| c.name == name)?;
    let limits = container.resources.as_ref()?.limits.as_ref()?;
    limits.get("memory").map(|q| q.0.as_str())
}

/// `timeoutSeconds 1, periodSeconds 10, failureThreshold 3` (the defaults filled in).
fn liveness_probe(pod: &Pod, name: &str) -> String {
    let probe = pod.spec.as_ref().and_then(|spec| {
        spec.containers
            .iter()
            .find(|c| c.name == name)
            .and_then(|c| c.liveness_probe.as_ref())
    });
    match probe {
        Some(p) => format!(
            "timeoutSeconds {}, periodSeconds {}, failureThreshold {}, initialDelaySeconds {}",
            p.timeout_seconds.unwrap_or(1),
            p.period_seconds.unwrap_or(10),
            p.failure_threshold.unwrap_or(3),
            p.initial_delay_seconds.unwrap_or(0),
        ),
        None => "not in the scanned spec".to_string(),
    }
}

/// `30 s` (terminationGracePeriodSeconds, default 30).
fn grace_period(pod: &Pod) -> String {
    let seconds = pod
        .spec
        .as_ref()
        .and_then(|s| s.termination_grace_period_seconds)
        .unwrap_or(30);
    format!("{seconds} s")
}

/// `running since …`, `waiting: CrashLoopBackOff (back-off 1m20s …)`, `terminated`.
fn describe_state(status: &ContainerStatus) -> String {
    let Some(state) = &status.state else {
        return "unknown (no state reported)".to_string();
    };
    if let Some(r) = &state.running {
        return match &r.started_at {
            Some(t) => format!("running since {}", t.0),
            None => "running".to_string(),
        };
    }
    if let Some(w) = &state.waiting {
        let mut s = format!("waiting: {}", w.reason.as_deref().unwrap_or("no reason"));
        if let Some(m) = w.message.as_deref().filter(|m| !m.is_empty()) {
            s.push_str(&format!(" ({})", redact(m)));
        }
        return s;
    }
    if state.terminated.is_some() {
        return "terminated".to_string();
    }
    "unknown (no state reported)".to_string()
}

/// The 30 minutes of metrics before `anchor` for one container, or why there are none.
fn metrics_before(
    history: &ContainerHistory,
    id: (&str, &str, &str),
    anchor: Timestamp,
) -> Result<MetricsBefore, String> {
    let to = anchor.as_second();
    let from = to - WINDOW_BEFORE_SECONDS;
    if !history.covers(from, to) {
        return Err(format!(
            "{} was read for the {} hours before the scan; the termination is older",
            history.source,
            (history.to - history.from) / 3600
        ));
    }
    let memory = MemoryTrend::of(history.memory_between(id, from, to), history.limit_of(id));
    let throttled = history.throttled_between(id, from, to);
    let throttling = (!throttled.is_empty()).then(|| Throttling {
        mean: throttled.iter().map(|p| p.1).sum::<f64>() / throttled.len() as f64,
        max: throttled.iter().map(|p| p.1).fold(0.0, f64::max),
        points: throttled,
    });
    if memory.is_none() && throttling.is_none() {
        return Err(format!(
            "{} has no memory or CPU series for this container then",
            history.source
        ));
    }
    let at = |s: i64| Timestamp::from_second(s).unwrap_or(Timestamp::UNIX_EPOCH);
    Ok(MetricsBefore {
        source: history.source.clone(),
        from: at(from),
        to: at(to),
        memory,
        throttling,
    })
}

/// The timeline: the run that ended, the events and node changes around it, the state now.
fn timeline(
    status: &ContainerStatus,
    termination: Option<&Termination>,
    facts: &Facts,
    metrics: Option<&MetricsBefore>,
    container: &str,
    now: Timestamp,
) -> Vec<TimelineEntry> {
    let mut entries = Vec::new();
    if let Some(m) = metrics {
        for line in m.describe() {
            entries.push(TimelineEntry {
                at: Some(m.from),
                what: format!("{line} (until the termination)"),
            });
        }
    }
    if let Some(t) = termination {
        if let Some(at) = t.started_at {
            entries.push(TimelineEntry {
                at: Some(at),
                what: format!("container {container} started"),
            });
        }
        let mut what = format!("container {container} terminated: {}", t.meaning);
        if let Some(reason) = &t.reason {
            what.push_str(&format!(" (reason {reason})"));
        }
        entries.push(TimelineEntry {
            at: t.finished_at,
            what,
        });
    }
    for e in facts.pod_events.iter().chain(&facts.node_events) {
        entries.push(TimelineEntry {
            at: e.last,
            what: format!("{} event {}", e.object, e.describe()),
        });
    }
    for c in &facts.node_conditions {
        entries.push(TimelineEntry {
            at: c.since,
            what: format!("Node condition {}", c.describe()),
        });
    }
    if let Some(started) = status
        .state
        .as_ref()
        .and_then(|s| s.running.as_ref())
        .and_then(|r| r.started_at.as_ref())
    {
        entries.push(TimelineEntry {
            at: Some(started.0),
            what: format!("container {container} running again"),
        });
    }
    entries.push(TimelineEntry {
        at: Some(now),
        what: format!(
            "scan: {}, restarted {} times",
            describe_state(status),
            status.restart_count
        ),
    });
    // Stable: entries without a time keep their place after the timed ones before them.
    entries.sort_by_key(|e| e.at.unwrap_or(Timestamp::MAX));
    entries
}

/// Collapse the whitespace YAML folding leaves.
fn tidy(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The evidence a detector's store holds: the events, nodes and previous logs it declares in
/// `uses`, or why each is missing.
pub fn evidence_of<'a>(ctx: &DetectContext<'a>) -> Evidence<'a> {
    Evidence::new(
        Sources::from_missing(
            ctx.optional(&EVENTS),
            ctx.optional(&NODES),
            ctx.optional(&PREVIOUS_LOGS),
            ctx.optional(&CONTAINER_HISTORY),
        ),
        options(),
    )
}

impl<'a> Sources<'a> {
    /// The sources as a store gives them, each missing one named with why: its collector's
    /// failure, or what a scan lacks when it was not collected at all.
    pub fn from_missing(
        events: Result<&'a Items<Event>, Missing>,
        nodes: Result<&'a Items<Node>, Missing>,
        logs: Result<&'a PreviousLogs, Missing>,
        history: Result<&'a ContainerHistory, Missing>,
    ) -> Sources<'a> {
        fn why(missing: Missing, absent: &str) -> String {
            if missing.not_collected() {
                absent.to_string()
            } else {
                missing.reason
            }
        }
        Sources {
            events: events.map_err(|m| why(m, "not in this scan")),
            nodes: nodes.map_err(|m| why(m, "not in this scan")),
            logs: logs.map_err(|m| why(m, "not in this scan (only a live scan reads logs)")),
            history: history.map_err(|m| {
                why(
                    m,
                    "no Prometheus configured (--prometheus-url, --prometheus-service or the \
                     config file's prometheus:)",
                )
            }),
        }
    }
}
