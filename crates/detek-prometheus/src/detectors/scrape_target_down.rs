use crate::prelude::*;

/// ## What it detects
/// Scrape targets Prometheus could not scrape (`up == 0`) at every evaluation for `duration`
/// (10 minutes): kube-prometheus' `TargetDown` (`for: 10m`), per target rather than as a
/// share of a job. The finding gives the target's last scrape error from `/api/v1/targets`
/// and names the Kubernetes object its labels name (a Pod's controller, a Service), else the
/// target's address.
///
/// ## Why it matters
/// Every alert and dashboard fed by that target is blind: a down node-exporter silences disk
/// and memory alerts for its Node, a down kube-state-metrics silences most Kubernetes alerts.
/// The target itself is often down too (crashed, its port or NetworkPolicy changed).
///
/// ## How to fix
/// Read the error (`/targets` in Prometheus' UI): "connection refused" — the process or its
/// port is gone; "context deadline exceeded" — it is too slow or a NetworkPolicy drops the
/// scrape; 401/403 — the scrape's credentials; "server returned HTTP status 404" — the
/// metrics path. Fix the target or its ServiceMonitor/PodMonitor.
///
/// ## Example
/// ```text
/// Target 127.0.0.1:9999 (job dead-exporter): down for 10m; last error: connection refused
/// ```
#[detector(
    id = "scrape_target_down",
    title = "Prometheus scrape targets down",
    labels = ["prometheus", "metrics", "monitoring"],
    level = Error,
    requires = [TARGET_HEALTH, POD_OWNERS],
    references = [
        "https://github.com/prometheus-operator/kube-prometheus/blob/main/jsonnet/kube-prometheus/components/mixin/alerts/general.libsonnet",
        "https://prometheus.io/docs/concepts/jobs_instances/#automatically-generated-labels-and-time-series",
    ],
    settings = ScrapeTargetDownSettings,
)]
pub struct ScrapeTargetDown;

/// Settings of `scrape_target_down`.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct ScrapeTargetDownSettings {
    /// PromQL: 1 for each target scraped, 0 for each target that failed.
    #[setting(default = "up")]
    pub query: String,
    /// How long a target must have been down (a PromQL duration; 0s: at the instant).
    #[setting(default = "10m")]
    pub duration: String,
}

pub(crate) fn queries(s: &ScrapeTargetDownSettings) -> Result<Vec<QuerySpec>, String> {
    Ok(vec![QuerySpec::held_for("up", &s.query, &s.duration)?])
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let health = ctx.get(&TARGET_HEALTH)?;
    let owners = ctx.get(&POD_OWNERS)?;
    let up = &health.up;
    if up.series.is_empty() {
        return Ok(no_data(&[up]));
    }
    let mut out = Outcome::new().evaluated(up.series.len());
    for (series, _) in crossing(up, 0.0, Direction::Below) {
        let job = series.label("job").unwrap_or("");
        let instance = series.label("instance").unwrap_or("?");
        let object = object_of(&series.labels, Some(owners))
            .unwrap_or_else(|| ObjectRef::new("Target", None, instance));
        let target = health.targets.iter().find(|t| {
            t.labels.get("job").map(String::as_str) == Some(job)
                && t.labels.get("instance").map(String::as_str) == Some(instance)
        });
        let error = match target {
            Some(t) if !t.last_error.is_empty() => format!("; last error: {}", t.last_error),
            _ => String::new(),
        };
        let mut finding = Finding::new(
            Level::Error,
            Some(object),
            format!(
                "target {instance} (job {job}): down {}{error}",
                held_for(up)
            ),
        )
        .with_discriminator(format!("job={job},instance={instance}"));
        if let Some(t) = target {
            finding = finding.with_evidence(format!("scrape URL {}", t.scrape_url));
        }
        out.push(with_query_evidence(finding, up, series));
    }
    Ok(out)
}

// Tested against the real test Prometheus in tests/prometheus.rs.
