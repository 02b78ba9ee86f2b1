use crate::prelude::*;
use std::collections::BTreeMap;

/// ## What it detects
/// Pods using at least `ratio` (3) times the median memory working set of their siblings —
/// the other Pods of the same controller (Deployment, StatefulSet, DaemonSet, Job, CronJob,
/// as kube-state-metrics' `kube_pod_owner` names it) — and at least `min_bytes` (16 MiB).
/// Controllers with fewer than `min_replicas` (2) Pods measured are not judged. No mixin has
/// such a rule; the numbers are settings.
///
/// ## Why it matters
/// Replicas of one workload run the same code on a share of the same traffic: one using
/// several times what its siblings use is leaking, stuck on a poisoned request, holding a
/// hot shard or a cache the others never filled — and it will be the first OOMKilled, taking
/// its share of traffic with it.
///
/// ## How to fix
/// Compare the replica with its siblings (`kubectl top pod -l …`, its logs, its
/// connections); restart it (`kubectl delete pod NAME`) to stop the bleeding, then look for
/// the leak or the skew (sticky sessions, a hash that sends one key to one replica).
///
/// ## Example
/// ```text
/// Deployment scraper/e2e-deployment (pod e2e-deployment-6fb786454b-7fsxc): 29.0 MiB of memory,
///   22.1× the median of its 1 sibling (1.3 MiB; threshold 3.0×)
/// ```
#[detector(
    id = "pod_resource_outlier",
    title = "Replicas using far more memory than their siblings",
    labels = ["prometheus", "metrics", "memory", "workloads"],
    level = Warn,
    requires = [POD_RESOURCES, POD_OWNERS],
    references = ["https://kubernetes.io/docs/concepts/workloads/controllers/deployment/"],
    settings = PodResourceOutlierSettings,
)]
pub struct PodResourceOutlier;

/// Settings of `pod_resource_outlier`.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct PodResourceOutlierSettings {
    /// PromQL: each Pod's memory working set in bytes (labels namespace, pod).
    #[setting(
        default = "sum by (namespace, pod) (container_memory_working_set_bytes{container!=\"\", container!=\"POD\"})"
    )]
    pub query: String,
    /// How many times its siblings' median a Pod must use to be reported.
    #[setting(default = 3.0)]
    pub ratio: f64,
    /// Bytes below which a Pod is not reported, whatever its siblings use.
    #[setting(default = 16777216.0)]
    pub min_bytes: f64,
    /// Pods of one controller needed to judge it.
    #[setting(default = 2)]
    pub min_replicas: u64,
}

pub(crate) fn queries(s: &PodResourceOutlierSettings) -> Result<Vec<QuerySpec>, String> {
    Ok(vec![QuerySpec::instant("usage", &s.query)])
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let settings: PodResourceOutlierSettings = ctx.settings_of()?;
    let results = ctx.get(&POD_RESOURCES)?;
    let owners = ctx.get(&POD_OWNERS)?;
    let usage = result(results, "usage")?;
    if usage.series.is_empty() {
        return Ok(no_data(&[usage]));
    }
    // Pods by controller (namespace, kind, name), with their usage.
    type Controller = (String, String, String);
    let mut groups: BTreeMap<Controller, Vec<(&Series, f64)>> = BTreeMap::new();
    for series in &usage.series {
        let (Some(ns), Some(pod), Some(value)) = (
            series.label("namespace"),
            series.label("pod"),
            series.last(),
        ) else {
            continue;
        };
        if let Some((kind, name)) = owners.owners.get(&(ns.to_string(), pod.to_string())) {
            groups
                .entry((ns.to_string(), kind.clone(), name.clone()))
                .or_default()
                .push((series, value));
        }
    }
    let mut out = Outcome::new();
    let mut evaluated = 0;
    for ((ns, kind, name), pods) in &groups {
        if (pods.len() as u64) < settings.min_replicas.max(2) {
            continue;
        }
        evaluated += pods.len();
        for (i, (series, value)) in pods.iter().enumerate() {
            let siblings: Vec<f64> = pods
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, (_, v))| *v)
                .collect();
            let usual = median(siblings.clone());
            if *value < settings.min_bytes || *value < settings.ratio * usual {
                continue;
            }
            let pod = series.label("pod").unwrap_or("?");
            let times = if usual > 0.0 {
                format!("{:.1}×", value / usual)
            } else {
                "infinitely many times".to_string()
            };
            let finding = Finding::new(
                Level::Warn,
                Some(ObjectRef::new(kind.as_str(), Some(ns.as_str()), name.as_str())),
                format!(
                    "pod {pod}: {} of memory, {times} the median of its {} sibling{} ({}; threshold {:.1}×)",
                    bytes(*value),
                    siblings.len(),
                    if siblings.len() == 1 { "" } else { "s" },
                    bytes(usual),
                    settings.ratio,
                ),
            )
            .with_discriminator(format!("pod={pod}"));
            out.push(with_query_evidence(finding, usage, series));
        }
    }
    out.evaluated = Some(evaluated as u64);
    Ok(out)
}

// Tested against the real test Prometheus in tests/prometheus.rs.
