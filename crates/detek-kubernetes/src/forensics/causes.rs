//! The table of known restart causes (`data/restart-causes.yaml`): each cause a small rule over
//! the facts of one termination, with an explanation and a fix. The first cause that holds is
//! the verdict.

use super::facts::{EventFact, Facts};
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// One entry of the causes table, as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CauseEntry {
    pub id: String,
    pub title: String,
    /// Alternatives: the cause holds when every condition of one of them holds.
    pub when: Vec<Conditions>,
    pub explanation: String,
    pub fix: String,
    #[serde(default)]
    pub references: Vec<String>,
}

/// Conditions on the facts of a termination; all given must hold (an empty list: no
/// condition).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Conditions {
    pub termination_reason: Vec<String>,
    pub exit_code: Vec<i32>,
    pub waiting_reason: Vec<String>,
    pub memory_limit: Option<bool>,
    /// `true`: the working set reached 90 % of the limit in the 30 minutes before (needs a
    /// Prometheus; without one the condition does not hold either way).
    pub memory_near_limit: Option<bool>,
    pub pod_reason: Vec<String>,
    pub pod_condition_reason: Vec<String>,
    pub pod_event: Vec<EventPattern>,
    pub node_event: Vec<EventPattern>,
    pub node_condition: Vec<String>,
    pub signature: Vec<String>,
    pub signature_category: Vec<String>,
}

/// An event to look for: its reason and, optionally, its message (regular expressions).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventPattern {
    pub reason: String,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CauseFile {
    causes: Vec<CauseEntry>,
}

#[derive(Debug, Clone)]
struct CompiledEvent {
    reason: Regex,
    message: Option<Regex>,
}

impl CompiledEvent {
    fn find<'e>(&self, events: &'e [EventFact]) -> Option<&'e EventFact> {
        // The newest first: the event closest to the termination.
        events.iter().rev().find(|e| {
            self.reason.is_match(&e.reason)
                && self.message.as_ref().is_none_or(|m| m.is_match(&e.message))
        })
    }
}

/// A cause ready to judge.
#[derive(Debug, Clone)]
pub struct Cause {
    pub entry: CauseEntry,
    /// Per alternative: (pod events, node events).
    events: Vec<(Vec<CompiledEvent>, Vec<CompiledEvent>)>,
}

/// The facts one alternative of a cause matched on, for the evidence.
#[derive(Debug, Clone, Default)]
pub struct Matched {
    /// The events it matched, newest first: `{event}` in the text.
    pub event: Option<EventFact>,
    /// What held, one line each.
    pub evidence: Vec<String>,
}

/// The causes table: built-in entries, then the user's.
#[derive(Debug, Clone)]
pub struct Causes(Vec<Cause>);

/// The names `{…}` a cause's text may use.
pub const PLACEHOLDERS: &[&str] = &[
    "container",
    "exit",
    "memory_limit",
    "memory_trend",
    "node",
    "probe",
    "grace",
    "signature",
    "signature_fix",
    "event",
];

/// Parse a causes table (YAML); `origin` names it in errors.
pub fn parse(text: &str, origin: &str) -> Result<Vec<Cause>, String> {
    let file: CauseFile = serde_saphyr::from_str(text).map_err(|e| format!("{origin}: {e}"))?;
    file.causes
        .into_iter()
        .map(|entry| compile(entry).map_err(|e| format!("{origin}: {e}")))
        .collect()
}

fn compile(entry: CauseEntry) -> Result<Cause, String> {
    let regex = |p: &str| Regex::new(p).map_err(|e| format!("cause {}: {p:?}: {e}", entry.id));
    let events_of = |patterns: &[EventPattern]| -> Result<Vec<CompiledEvent>, String> {
        patterns
            .iter()
            .map(|p| {
                Ok(CompiledEvent {
                    reason: regex(&p.reason)?,
                    message: p.message.as_deref().map(regex).transpose()?,
                })
            })
            .collect()
    };
    if entry.when.is_empty() {
        return Err(format!("cause {}: `when` lists no alternative", entry.id));
    }
    for text in [&entry.explanation, &entry.fix] {
        for name in placeholders_in(text) {
            if !PLACEHOLDERS.contains(&name) {
                return Err(format!(
                    "cause {}: unknown placeholder {{{name}}} (known: {})",
                    entry.id,
                    PLACEHOLDERS.join(", ")
                ));
            }
        }
    }
    let events = entry
        .when
        .iter()
        .map(|c| Ok((events_of(&c.pod_event)?, events_of(&c.node_event)?)))
        .collect::<Result<_, String>>()?;
    Ok(Cause { entry, events })
}

/// The `{name}`s of a text.
fn placeholders_in(text: &str) -> impl Iterator<Item = &str> {
    text.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
}

/// The table shipped with detek.
pub static BUILTIN: LazyLock<Causes> = LazyLock::new(|| {
    Causes(
        parse(
            include_str!("../../data/restart-causes.yaml"),
            "data/restart-causes.yaml",
        )
        .expect("data/restart-causes.yaml is valid"),
    )
});

impl Causes {
    pub fn builtin() -> Causes {
        BUILTIN.clone()
    }

    /// The built-in table with `extra` causes after it (a user's table).
    pub fn with(mut self, extra: Vec<Cause>) -> Causes {
        self.0.extend(extra);
        self
    }

    pub fn entries(&self) -> impl Iterator<Item = &Cause> {
        self.0.iter()
    }

    /// The first cause that holds for `facts`, with what it matched on.
    pub fn judge(&self, facts: &Facts) -> Option<(&Cause, Matched)> {
        self.0
            .iter()
            .find_map(|cause| cause.holds(facts).map(|m| (cause, m)))
    }
}

impl Cause {
    /// What one of its alternatives matched on, when one holds.
    pub fn holds(&self, facts: &Facts) -> Option<Matched> {
        self.entry
            .when
            .iter()
            .zip(&self.events)
            .find_map(|(c, (pod_events, node_events))| {
                alternative(c, pod_events, node_events, facts)
            })
    }

    /// Its explanation or fix with the facts filled in.
    pub fn render(&self, text: &str, values: &BTreeMap<&str, String>) -> String {
        let mut out = text.to_string();
        for (name, value) in values {
            out = out.replace(&format!("{{{name}}}"), value);
        }
        out
    }
}

fn alternative(
    c: &Conditions,
    pod_events: &[CompiledEvent],
    node_events: &[CompiledEvent],
    facts: &Facts,
) -> Option<Matched> {
    let mut m = Matched::default();
    let listed = |list: &[String], value: Option<&str>| {
        list.is_empty() || value.is_some_and(|v| list.iter().any(|l| l == v))
    };
    if !listed(&c.termination_reason, facts.termination_reason.as_deref()) {
        return None;
    }
    if let Some(reason) = facts
        .termination_reason
        .as_deref()
        .filter(|_| !c.termination_reason.is_empty())
    {
        m.evidence.push(format!("terminated with reason {reason}"));
    }
    if !c.exit_code.is_empty() {
        let code = facts.exit_code.filter(|code| c.exit_code.contains(code))?;
        m.evidence.push(format!("exit code {code}"));
    }
    if !listed(&c.waiting_reason, facts.waiting_reason.as_deref()) {
        return None;
    }
    if let Some(reason) = facts
        .waiting_reason
        .as_deref()
        .filter(|_| !c.waiting_reason.is_empty())
    {
        m.evidence.push(format!("waiting: {reason}"));
    }
    if let Some(want) = c.memory_limit {
        if facts.memory_limit.is_some() != want {
            return None;
        }
        m.evidence.push(match &facts.memory_limit {
            Some(limit) => format!("memory limit {limit}"),
            None => "no memory limit".to_string(),
        });
    }
    if let Some(want) = c.memory_near_limit {
        let share = facts.memory_peak_of_limit?;
        if (share >= 0.9) != want {
            return None;
        }
        m.evidence.push(format!(
            "memory peaked at {:.0}% of the limit before",
            share * 100.0
        ));
    }
    if !listed(&c.pod_reason, facts.pod_reason.as_deref()) {
        return None;
    }
    if let Some(reason) = facts
        .pod_reason
        .as_deref()
        .filter(|_| !c.pod_reason.is_empty())
    {
        m.evidence.push(format!("Pod status reason {reason}"));
    }
    if !c.pod_condition_reason.is_empty() {
        let reason = facts
            .pod_condition_reasons
            .iter()
            .find(|r| c.pod_condition_reason.contains(r))?;
        m.evidence.push(format!("Pod condition reason {reason}"));
    }
    for (patterns, events, whose) in [
        (pod_events, &facts.pod_events, "Pod"),
        (node_events, &facts.node_events, "Node"),
    ] {
        if patterns.is_empty() {
            continue;
        }
        let event = patterns.iter().find_map(|p| p.find(events))?;
        m.evidence
            .push(format!("{whose} event {}", event.describe()));
        if m.event.is_none() {
            m.event = Some(event.clone());
        }
    }
    if !c.node_condition.is_empty() {
        let condition = facts
            .node_conditions
            .iter()
            .find(|n| c.node_condition.contains(&n.kind))?;
        m.evidence
            .push(format!("Node condition {}", condition.describe()));
    }
    if !c.signature.is_empty() || !c.signature_category.is_empty() {
        let found = facts.log_match.as_ref()?;
        if !(c.signature.contains(&found.signature)
            || c.signature_category.contains(&found.category))
        {
            return None;
        }
        m.evidence.push(format!(
            "{} in the {}: {}",
            found.signature, found.found_in, found.title
        ));
    }
    Some(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_table_parses_with_known_placeholders_in_order() {
        let table = Causes::builtin();
        let ids: Vec<&str> = table.entries().map(|c| c.entry.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "preempted",
                "node_reboot",
                "node_short_of_memory",
                "oom_at_limit",
                "liveness_probe_failed",
                "graceful_shutdown_overrun",
                "image_or_command_error",
                "missing_file_or_config",
                "dependency_failed_at_start",
                "application_error",
            ]
        );
    }

    #[test]
    fn a_table_with_an_unknown_placeholder_or_a_bad_pattern_is_refused() {
        let bad = "causes:\n- id: x\n  title: t\n  when: [{exit_code: [1]}]\n  explanation: '{pod}'\n  fix: f\n";
        assert!(
            parse(bad, "mine.yaml")
                .unwrap_err()
                .contains("unknown placeholder {pod}")
        );
        let bad = "causes:\n- id: x\n  title: t\n  when: [{pod_event: [{reason: '('}]}]\n  explanation: e\n  fix: f\n";
        assert!(
            parse(bad, "mine.yaml")
                .unwrap_err()
                .starts_with("mine.yaml: cause x:")
        );
        let bad = "causes:\n- id: x\n  title: t\n  when: [{exit_codes: [1]}]\n  explanation: e\n  fix: f\n";
        assert!(parse(bad, "mine.yaml").unwrap_err().contains("exit_codes"));
    }
}
