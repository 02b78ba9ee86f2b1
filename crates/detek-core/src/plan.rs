use crate::key::KeyId;
use crate::traits::{Collector, Detector};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// A collector in the plan, with its stage: stage 0 needs nothing, stage n needs outputs of
/// stages below n. Collectors of one stage run concurrently.
#[derive(Clone)]
pub struct PlannedCollector {
    pub collector: Arc<dyn Collector>,
    pub stage: usize,
}

/// A selected detector that this target cannot feed.
#[derive(Clone)]
pub struct Unrunnable {
    pub detector: Arc<dyn Detector>,
    pub missing: Vec<KeyId>,
    pub reason: String,
}

/// From the selected detectors: the collectors they need (transitively) in dependency order.
#[derive(Clone)]
pub struct Plan {
    pub collectors: Vec<PlannedCollector>,
    pub detectors: Vec<Arc<dyn Detector>>,
    pub unrunnable: Vec<Unrunnable>,
    /// Every key some planned detector or collector reads.
    pub wanted: BTreeSet<KeyId>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("collector {collector} requires key {key}, which no collector produces")]
    UnknownKey { collector: String, key: String },
    #[error("key {key} is produced by both {first} and {second}")]
    DuplicateProducer {
        key: String,
        first: String,
        second: String,
    },
    #[error("collectors depend on each other in a cycle: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
}

/// Plan a scan.
///
/// A detector whose keys no available collector produces is not an error — a snapshot cannot
/// feed a live-only check — it is listed in [`Plan::unrunnable`]. A collector requiring a key
/// nobody produces, two producers of one key, or a dependency cycle are plan errors.
pub fn plan(
    detectors: Vec<Arc<dyn Detector>>,
    collectors: &[Arc<dyn Collector>],
) -> Result<Plan, PlanError> {
    plan_with(detectors, &[], collectors)
}

/// [`plan`], also collecting `also_wanted` where some collector produces it: the keys that
/// suppressors read (`Suppressor::requires`), so `detek.io/ignore` is honoured whichever
/// detectors are selected.
pub fn plan_with(
    detectors: Vec<Arc<dyn Detector>>,
    also_wanted: &[KeyId],
    collectors: &[Arc<dyn Collector>],
) -> Result<Plan, PlanError> {
    let mut producer: HashMap<KeyId, usize> = HashMap::new();
    for (i, c) in collectors.iter().enumerate() {
        for key in &c.meta().produces {
            if let Some(&first) = producer.get(key) {
                return Err(PlanError::DuplicateProducer {
                    key: key.to_string(),
                    first: collectors[first].meta().id.to_string(),
                    second: c.meta().id.to_string(),
                });
            }
            producer.insert(key, i);
        }
    }

    let mut runnable = Vec::new();
    let mut unrunnable = Vec::new();
    let mut wanted = BTreeSet::new();
    for d in detectors {
        let meta = d.meta();
        let missing: Vec<KeyId> = meta
            .requires
            .iter()
            .copied()
            .filter(|k| !producer.contains_key(k) && !crate::runner::is_engine_key(k))
            .collect();
        if missing.is_empty() {
            wanted.extend(
                meta.requires
                    .iter()
                    .copied()
                    .filter(|k| !crate::runner::is_engine_key(k)),
            );
            // Optional inputs: collected where this target can produce them.
            wanted.extend(
                meta.uses
                    .iter()
                    .copied()
                    .filter(|k| producer.contains_key(k)),
            );
            runnable.push(d);
        } else {
            unrunnable.push(Unrunnable {
                detector: d.clone(),
                reason: format!(
                    "this target provides no {} (needs {})",
                    missing.join(", "),
                    source_hint(&missing)
                ),
                missing,
            });
        }
    }

    // Keys wanted besides the detectors' (suppressors'): only when a runnable detector makes
    // the scan collect anything at all, and only where this target can produce them.
    if !runnable.is_empty() {
        wanted.extend(also_wanted.iter().filter(|k| producer.contains_key(*k)));
    }

    // Close over collector requirements.
    let mut selected: BTreeSet<usize> = BTreeSet::new();
    let mut queue: Vec<KeyId> = wanted.iter().copied().collect();
    while let Some(key) = queue.pop() {
        let idx = producer[key];
        if selected.insert(idx) {
            for req in &collectors[idx].meta().requires {
                if !producer.contains_key(req) {
                    return Err(PlanError::UnknownKey {
                        collector: collectors[idx].meta().id.to_string(),
                        key: req.to_string(),
                    });
                }
                if wanted.insert(req) {
                    queue.push(req);
                }
            }
        }
    }

    // Kahn's algorithm by levels.
    let mut stage_of: BTreeMap<usize, usize> = BTreeMap::new();
    let mut remaining: BTreeSet<usize> = selected.clone();
    let mut stage = 0;
    while !remaining.is_empty() {
        let ready: Vec<usize> = remaining
            .iter()
            .copied()
            .filter(|&i| {
                collectors[i]
                    .meta()
                    .requires
                    .iter()
                    .all(|k| stage_of.contains_key(&producer[k]))
            })
            .collect();
        if ready.is_empty() {
            return Err(PlanError::Cycle(
                remaining
                    .iter()
                    .map(|&i| collectors[i].meta().id.to_string())
                    .collect(),
            ));
        }
        for i in ready {
            remaining.remove(&i);
            stage_of.insert(i, stage);
        }
        stage += 1;
    }

    let mut planned: Vec<PlannedCollector> = stage_of
        .into_iter()
        .map(|(i, stage)| PlannedCollector {
            collector: collectors[i].clone(),
            stage,
        })
        .collect();
    planned
        .sort_by(|a, b| (a.stage, &a.collector.meta().id).cmp(&(b.stage, &b.collector.meta().id)));

    Ok(Plan {
        collectors: planned,
        detectors: runnable,
        unrunnable,
        wanted,
    })
}

fn source_hint(missing: &[KeyId]) -> &'static str {
    let area = missing
        .first()
        .and_then(|k| k.split('/').next())
        .unwrap_or("");
    match area {
        "kubernetes" => "a live cluster",
        "prometheus" => "a Prometheus server",
        "openstack" => "an OpenStack cloud",
        "node" => "SSH access to nodes: --ssh or --ssh-hosts",
        "cost" => "AWS Cost Explorer access",
        _ => "another input",
    }
}
