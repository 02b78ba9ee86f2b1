use crate::prelude::*;

/// ## What it detects
/// Containers throttled in at least `threshold` (25%) of their CFS periods, for `duration`
/// (15 minutes): kubernetes-mixin's `CPUThrottlingHigh` (`cpuThrottlingPercent: 25`,
/// `for: 15m`), the ratio of `container_cpu_cfs_throttled_periods_total` to
/// `container_cpu_cfs_periods_total` over 5 minutes. Reported on the Pod's controller.
///
/// ## Why it matters
/// A throttled container is stopped until the next 100 ms period each time it uses its CPU
/// limit's quota: latency grows in steps of 100 ms, health checks time out and restart a
/// container that is only slow — while average CPU use looks well under the limit.
///
/// ## How to fix
/// Raise or remove `resources.limits.cpu` (keep the request, which is what the scheduler
/// reserves), or cap the program's parallelism to its quota (`GOMAXPROCS` via
/// automaxprocs, JVM `-XX:ActiveProcessorCount`, worker counts).
///
/// ## Example
/// ```text
/// Deployment scraper/e2e-deployment container compute-pi-digits (pod e2e-deployment-6fb786454b-mrr5s):
///   throttled in 50.0% of its CFS periods for 15m (threshold 25.0%)
/// ```
#[detector(
    id = "cpu_throttling_high",
    title = "Containers throttled by their CPU limit",
    labels = ["prometheus", "metrics", "cpu"],
    level = Warn,
    requires = [CPU_THROTTLING, POD_OWNERS],
    references = [
        "https://github.com/kubernetes-monitoring/kubernetes-mixin/blob/master/alerts/resource_alerts.libsonnet",
        "https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/#how-pods-with-resource-limits-are-run",
    ],
    settings = CpuThrottlingHighSettings,
)]
pub struct CpuThrottlingHigh;

/// Settings of `cpu_throttling_high`.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct CpuThrottlingHighSettings {
    /// PromQL: each container's throttled fraction of CFS periods (labels namespace, pod, container).
    #[setting(
        default = "sum by (namespace, pod, container) (increase(container_cpu_cfs_throttled_periods_total{container!=\"\"}[5m])) / sum by (namespace, pod, container) (increase(container_cpu_cfs_periods_total{container!=\"\"}[5m]))"
    )]
    pub query: String,
    /// Throttled fraction at which a container is reported.
    #[setting(default = 0.25)]
    pub threshold: f64,
    /// How long the condition must hold (a PromQL duration; 0s: at the instant).
    #[setting(default = "15m")]
    pub duration: String,
}

pub(crate) fn queries(s: &CpuThrottlingHighSettings) -> Result<Vec<QuerySpec>, String> {
    Ok(vec![QuerySpec::held_for(
        "throttled",
        &s.query,
        &s.duration,
    )?])
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let settings: CpuThrottlingHighSettings = ctx.settings_of()?;
    let results = ctx.get(&CPU_THROTTLING)?;
    let owners = ctx.get(&POD_OWNERS)?;
    let throttled = result(results, "throttled")?;
    if throttled.series.is_empty() {
        return Ok(no_data(&[throttled]));
    }
    let mut out = Outcome::new().evaluated(throttled.series.len());
    for finding in container_findings(throttled, settings.threshold, owners, Level::Warn, |held| {
        format!(
            "throttled in {} of its CFS periods {} (threshold {}; now {})",
            percent(held.least),
            held_for(throttled),
            percent(settings.threshold),
            percent(held.last),
        )
    }) {
        out.push(finding);
    }
    Ok(out)
}

// Tested against the real test Prometheus in tests/prometheus.rs.
