//! The detector catalogue of this binary and detector selection.

use crate::config::{Config, LevelOverride};
use anyhow::{Result, bail};
use detek_core::Detector;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Every detector this binary knows.
pub fn all_detectors() -> Vec<Arc<dyn Detector>> {
    detek_kubernetes::detectors::all()
}

/// Detectors of `set`, narrowed by `--select`, minus `--ignore`, with the config's level
/// overrides. Unknown names are errors.
pub fn select(
    set: &str,
    select: &[String],
    ignore: &[String],
    config: &Config,
) -> Result<Vec<Arc<dyn Detector>>> {
    let all = all_detectors();
    let known = |name: &str| {
        all.iter()
            .any(|d| d.meta().id == name || d.meta().has_label(name))
    };
    for name in select.iter().chain(ignore) {
        if !known(name) {
            bail!(
                "unknown detector or label {name:?}{} (see `detek list`)",
                suggestion(name, &all)
            );
        }
    }
    let matches = |d: &Arc<dyn Detector>, names: &[String]| {
        names
            .iter()
            .any(|n| d.meta().id == n || d.meta().has_label(n))
    };
    let in_set: Vec<Arc<dyn Detector>> = match set {
        "all" => all,
        // Explicitly selected detectors run even when the config disables them.
        "default" => all
            .into_iter()
            .filter(|d| !config.is_disabled(d.meta().id) || matches(d, select))
            .collect(),
        named => match config.sets.get(named) {
            Some(names) => {
                let (minus, plus): (Vec<String>, Vec<String>) =
                    names.iter().cloned().partition(|n| n.starts_with('-'));
                let minus: Vec<String> = minus.iter().map(|n| n[1..].to_string()).collect();
                all.into_iter()
                    .filter(|d| plus.is_empty() || matches(d, &plus))
                    .filter(|d| !matches(d, &minus))
                    .collect()
            }
            None => {
                let sets: Vec<&str> = ["default", "all"]
                    .into_iter()
                    .chain(config.sets.keys().map(String::as_str))
                    .collect();
                bail!(
                    "unknown detector set {named:?}: known sets are {}",
                    sets.join(", ")
                )
            }
        },
    };
    Ok(in_set
        .into_iter()
        .filter(|d| select.is_empty() || matches(d, select))
        .filter(|d| !matches(d, ignore))
        .map(|d| match config.level_override(d.meta().id) {
            Some(level) if level != d.meta().level => LevelOverride::wrap(d, level),
            _ => d,
        })
        .collect())
}

/// Ids named explicitly with --select (they are reported even when they cannot run).
pub fn explicit_ids(select: &[String]) -> BTreeSet<String> {
    let ids: BTreeSet<&str> = all_detectors().iter().map(|d| d.meta().id).collect();
    select
        .iter()
        .filter(|s| ids.contains(s.as_str()))
        .cloned()
        .collect()
}

/// ` (did you mean "x"?)` for a near miss.
pub fn suggestion(name: &str, all: &[Arc<dyn Detector>]) -> String {
    all.iter()
        .map(|d| d.meta().id)
        .filter(|id| id.contains(name) || name.contains(id) || edit_distance(id, name) <= 3)
        .min_by_key(|id| edit_distance(id, name))
        .map(|id| format!(" (did you mean {id:?}?)"))
        .unwrap_or_default()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}
