//! The health score of a cluster and of each namespace (docs/score.md).
//!
//! Every scanned object starts at full health. Each detector that reports an unsuppressed finding
//! on it takes points away, by the worst level it reported on that object: Warn 1, Error 5,
//! Fatal 20, and an object at 20 points or more has no health left. The score is the average
//! health of the scanned objects, as a whole number from 0 to 100 rounded down, so 100 means
//! that no object has a finding. Findings about no object (the scan as a whole) count as one
//! more object of the cluster. Detectors that could not be evaluated take nothing away: an
//! incomplete scan's score is an upper bound, and is shown as such.

use detek_core::{Level, ReportList, ScanStatus};
use std::collections::BTreeMap;

/// Points a detector takes from an object, by the worst level it reported on it.
pub(crate) fn weight(level: Level) -> u64 {
    match level {
        Level::Fatal => 20,
        Level::Error => 5,
        Level::Warn => 1,
        Level::Unknown | Level::Normal => 0,
    }
}

/// Points at which an object has no health left.
pub(crate) const CAP: u64 = 20;

/// The stat (of the collectors) counting all scanned objects.
const OBJECTS: &str = "objects";
/// The prefix of the stats counting the objects of one namespace.
const OBJECTS_IN_NAMESPACE: &str = "objects_in_namespace/";

/// One object's identity for scoring: kind, namespace, name (containers are parts of it).
pub(crate) type ObjectKey = (String, Option<String>, String);

/// A score and what it was computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Score {
    /// 0..=100.
    pub value: u64,
    /// Objects the score averages over.
    pub objects: u64,
    /// Of those, objects with at least one unsuppressed finding.
    pub with_findings: u64,
    /// The scan was partial: problems may be missing, the score is an upper bound.
    pub upper_bound: bool,
}

/// Penalty points of every object named by an unsuppressed finding (`None`: findings about no
/// object), each detector counted once per object at its worst level there.
pub(crate) fn penalties(list: &ReportList) -> BTreeMap<Option<ObjectKey>, u64> {
    let mut out: BTreeMap<Option<ObjectKey>, u64> = BTreeMap::new();
    for report in &list.reports {
        let mut worst: BTreeMap<Option<ObjectKey>, Level> = BTreeMap::new();
        for f in report.active_findings() {
            let key = f
                .object
                .as_ref()
                .map(|o| (o.kind.clone(), o.namespace.clone(), o.name.clone()));
            let w = worst.entry(key).or_insert(f.level);
            *w = (*w).max(f.level);
        }
        for (key, level) in worst {
            *out.entry(key).or_default() += weight(level);
        }
    }
    out
}

fn average(objects: u64, lost: u64, with_findings: u64, upper_bound: bool) -> Score {
    let value = if objects == 0 {
        100
    } else {
        // floor(100 × (objects × CAP − lost) / (objects × CAP)): 100 only when nothing is lost.
        100 * (objects * CAP - lost.min(objects * CAP)) / (objects * CAP)
    };
    Score {
        value,
        objects,
        with_findings,
        upper_bound,
    }
}

/// The cluster's score, or `None` when it cannot be computed: nothing was collected, or the
/// collectors did not count the objects they read (the `objects` stat).
pub(crate) fn cluster(list: &ReportList) -> Option<Score> {
    if list.status == ScanStatus::NothingCollected {
        return None;
    }
    let counted: Option<u64> = list
        .collectors
        .iter()
        .filter_map(|c| c.stats.get(OBJECTS).copied())
        .reduce(|a, b| a + b);
    let counted = counted?;
    let penalties = penalties(list);
    let named = penalties.keys().filter(|k| k.is_some()).count() as u64;
    let objectless = u64::from(penalties.contains_key(&None));
    let objects = counted.max(named) + objectless;
    let lost: u64 = penalties.values().map(|p| (*p).min(CAP)).sum();
    let with_findings = penalties.values().filter(|p| **p > 0).count() as u64;
    Some(average(
        objects,
        lost,
        with_findings,
        list.status == ScanStatus::Partial,
    ))
}

/// Every namespace named by a finding or counted by a collector, with its score (`None` when
/// the collectors did not count that namespace's objects).
pub(crate) fn namespaces(list: &ReportList) -> BTreeMap<String, Option<Score>> {
    let mut counted: BTreeMap<String, u64> = BTreeMap::new();
    for c in &list.collectors {
        for (stat, n) in &c.stats {
            if let Some(ns) = stat.strip_prefix(OBJECTS_IN_NAMESPACE) {
                *counted.entry(ns.to_string()).or_default() += n;
            }
        }
    }
    let mut per_ns: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new(); // named, lost, with
    for (key, p) in penalties(list) {
        if let Some((_, Some(ns), _)) = key {
            let e = per_ns.entry(ns).or_default();
            e.0 += 1;
            e.1 += p.min(CAP);
            e.2 += u64::from(p > 0);
        }
    }
    let partial = list.status == ScanStatus::Partial;
    let mut out = BTreeMap::new();
    if list.status == ScanStatus::NothingCollected {
        return out;
    }
    for ns in counted.keys().chain(per_ns.keys()) {
        if out.contains_key(ns) {
            continue;
        }
        let (named, lost, with) = per_ns.get(ns).copied().unwrap_or_default();
        let score = counted
            .get(ns)
            .map(|n| average((*n).max(named), lost, with, partial));
        out.insert(ns.clone(), score);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_object_health() {
        // Nothing lost: 100; one Warn on one of ten objects: 99 (never rounded up to 100).
        assert_eq!(average(10, 0, 0, false).value, 100);
        assert_eq!(average(10, 1, 1, false).value, 99);
        // One Error on one of two objects: (2×20 − 5) / 40 = 87.5 → 87.
        assert_eq!(average(2, 5, 1, false).value, 87);
        // Everything at the cap: 0.
        assert_eq!(average(3, 60, 3, false).value, 0);
        assert_eq!(average(0, 0, 0, false).value, 100);
    }
}
