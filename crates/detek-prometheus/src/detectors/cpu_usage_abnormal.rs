use crate::prelude::*;
use std::collections::HashMap;

/// ## What it detects
/// Containers whose CPU use now (`rate` over the last 15 minutes) is at least `ratio` (3)
/// times their own baseline: the average of their 5-minute CPU rate over the previous 7 days,
/// ending an hour ago so the anomaly itself does not raise it. Containers using less than
/// `min_cores` (0.1) now are left out: tripling 10 millicores is noise. Reported on the
/// Pod's controller. The mixins have no rule for this (their CPU alerts compare use with
/// requests and quotas); the 3× line is the "suddenly three times its usual" of on-call
/// reviews, and every number is a setting.
///
/// ## Why it matters
/// A sudden jump in CPU is the first sign of a retry storm, a hot loop after a deploy, a
/// cache that stopped hitting, or abuse (crypto-mining in a compromised container) — long
/// before requests, limits or Node pressure say anything.
///
/// ## How to fix
/// Compare the jump's start with the workload's deploys and traffic
/// (`rate(container_cpu_usage_seconds_total[5m])` on a graph), profile the process
/// (`kubectl debug`, pprof, async-profiler), and roll back a release that caused it. If the
/// new level is expected (more traffic), the baseline follows within days.
///
/// ## Example
/// ```text
/// Deployment kube-system/coredns container coredns (pod coredns-66bc5c9577-d98t2):
///   0.500 cores now, 25.0× its 7-day baseline of 0.020 cores (threshold 3.0×)
/// ```
#[detector(
    id = "cpu_usage_abnormal",
    title = "Containers using several times their usual CPU",
    labels = ["prometheus", "metrics", "cpu"],
    level = Warn,
    requires = [CPU_USAGE, POD_OWNERS],
    references = [
        "https://prometheus.io/docs/prometheus/latest/querying/functions/#rate",
        "https://prometheus.io/docs/prometheus/latest/querying/examples/#subquery",
    ],
    settings = CpuUsageAbnormalSettings,
)]
pub struct CpuUsageAbnormal;

/// Settings of `cpu_usage_abnormal`.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct CpuUsageAbnormalSettings {
    /// PromQL: each container's CPU use now, in cores (labels namespace, pod, container).
    #[setting(
        default = "sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total{container!=\"\", container!=\"POD\"}[15m]))"
    )]
    pub current_query: String,
    /// PromQL: each container's usual CPU use, in cores (same labels).
    #[setting(
        default = "sum by (namespace, pod, container) (avg_over_time(rate(container_cpu_usage_seconds_total{container!=\"\", container!=\"POD\"}[5m])[7d:5m] offset 1h))"
    )]
    pub baseline_query: String,
    /// How many times its baseline a container must use to be reported.
    #[setting(default = 3.0)]
    pub ratio: f64,
    /// CPU use (cores) below which a container is not judged.
    #[setting(default = 0.1)]
    pub min_cores: f64,
}

pub(crate) fn queries(s: &CpuUsageAbnormalSettings) -> Result<Vec<QuerySpec>, String> {
    Ok(vec![
        QuerySpec::instant("current", &s.current_query),
        QuerySpec::instant("baseline", &s.baseline_query),
    ])
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let settings: CpuUsageAbnormalSettings = ctx.settings_of()?;
    let results = ctx.get(&CPU_USAGE)?;
    let owners = ctx.get(&POD_OWNERS)?;
    let current = result(results, "current")?;
    let baseline = result(results, "baseline")?;
    if current.series.is_empty() || baseline.series.is_empty() {
        return Ok(no_data(&[current, baseline]));
    }
    let baselines: HashMap<&Labels, f64> = baseline
        .series
        .iter()
        .filter_map(|s| Some((&s.labels, s.last()?)))
        .collect();
    let mut out = Outcome::new();
    let mut evaluated = 0;
    let mut without_baseline = 0;
    for series in &current.series {
        let Some(now) = series.last() else { continue };
        let Some(&usual) = baselines.get(&series.labels) else {
            without_baseline += 1;
            continue;
        };
        evaluated += 1;
        if now < settings.min_cores || usual <= 0.0 || now < settings.ratio * usual {
            continue;
        }
        let pod = series.label("pod").unwrap_or("?");
        let container = series.label("container").unwrap_or("?");
        let finding = Finding::new(
            Level::Warn,
            object_of(&series.labels, Some(owners)),
            format!(
                "container {container} of pod {pod}: {} now, {:.1}× its baseline of {} (threshold {:.1}×)",
                cores(now),
                now / usual,
                cores(usual),
                settings.ratio,
            ),
        )
        .with_discriminator(format!("pod={pod}"))
        .with_evidence(format!("series {{{}}}", series_text(&series.labels)))
        .with_evidence(format!("PromQL now: {}", current.promql))
        .with_evidence(format!("PromQL baseline: {}", baseline.promql));
        out.push(finding);
    }
    out.evaluated = Some(evaluated);
    if without_baseline > 0 {
        out.attach(
            "Not judged: containers without a baseline (new in the last hour)",
            serde_json::json!(without_baseline),
        );
    }
    Ok(out)
}

// Tested against the real test Prometheus (history loaded with promtool) in tests/prometheus.rs.
