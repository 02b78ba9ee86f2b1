use crate::prelude::*;

/// ## What it detects
/// Alerts firing in Prometheus (`/api/v1/alerts`, state `firing`; pending ones have not held
/// for their rule's `for` yet and are left out), each attached to the Kubernetes object its
/// labels name — `namespace` + `pod` (reported on the Pod's controller), `deployment`,
/// `statefulset`, `daemonset`, `job_name`, `persistentvolumeclaim`, `service`, `node` — with
/// its summary, description and `runbook_url`, so the report shows an object's static
/// problems and its live alerts side by side. The level comes from the alert's `severity`
/// label through `levels` (`critical` → Error, `warning` → Warn); severities not in the map
/// (`info`, `none`, no label: kube-prometheus' `Watchdog` and `InfoInhibitor`) are left out
/// unless listed in `also_report`, which reports them as Warn.
///
/// ## Why it matters
/// The alerts are what the cluster's own monitoring already knows is wrong right now. Seeing
/// them on the objects they are about — next to the missing probe or the absent PDB of the
/// same Deployment — joins "what is misconfigured" with "what is hurting".
///
/// ## How to fix
/// Follow the alert's runbook (`runbook_url`; kube-prometheus' are at
/// runbooks.prometheus-operator.dev), fix the cause on the named object, or silence the
/// alert in Alertmanager if it is expected.
///
/// ## Example
/// ```text
/// Pod scraper/e2e-container-pending: alert KubePodNotReady (warning) firing: Pod has been
///   in a non-ready state for more than 15 minutes.
/// ```
#[detector(
    id = "prometheus_alert_firing",
    title = "Alerts firing in Prometheus, on the objects they name",
    labels = ["prometheus", "metrics", "alerts"],
    level = Warn,
    requires = [ALERTS, POD_OWNERS],
    references = [
        "https://prometheus.io/docs/prometheus/latest/querying/api/#alerts",
        "https://runbooks.prometheus-operator.dev/",
    ],
    settings = PrometheusAlertFiringSettings,
)]
pub struct PrometheusAlertFiring;

/// Settings of `prometheus_alert_firing`.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct PrometheusAlertFiringSettings {
    /// `severity=level` pairs: the level of an alert with that `severity` label (fatal, error, warn).
    #[setting(default = ["critical=error", "warning=warn"])]
    pub levels: Vec<String>,
    /// Severities (`info`, `none`, or `""` for no label) reported as Warn although not in `levels`.
    #[setting(default = [])]
    pub also_report: Vec<String>,
}

fn level_of(
    settings: &PrometheusAlertFiringSettings,
    severity: &str,
) -> Result<Option<Level>, DetectError> {
    for pair in &settings.levels {
        let Some((name, level)) = pair.split_once('=') else {
            return Err(DetectError::new(format!(
                "prometheus_alert_firing.levels: {pair:?} is not severity=level"
            )));
        };
        if name.trim() == severity {
            let level = match level.trim().to_ascii_lowercase().as_str() {
                "fatal" => Level::Fatal,
                "error" => Level::Error,
                "warn" | "warning" => Level::Warn,
                other => {
                    return Err(DetectError::new(format!(
                        "prometheus_alert_firing.levels: {other:?} is not fatal, error or warn"
                    )));
                }
            };
            return Ok(Some(level));
        }
    }
    Ok(settings
        .also_report
        .iter()
        .any(|s| s == severity)
        .then_some(Level::Warn))
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let settings: PrometheusAlertFiringSettings = ctx.settings_of()?;
    let alerts = ctx.get(&ALERTS)?;
    let owners = ctx.get(&POD_OWNERS)?;
    // In a stable order: by alert name, then labels (the API's order varies).
    let mut firing: Vec<&Alert> = alerts.iter().filter(|a| a.state == "firing").collect();
    firing.sort_by(|a, b| {
        (a.labels.get("alertname"), &a.labels).cmp(&(b.labels.get("alertname"), &b.labels))
    });
    let mut out = Outcome::new().evaluated(firing.len());
    let mut left_out: Vec<String> = Vec::new();
    for alert in firing {
        let name = alert
            .labels
            .get("alertname")
            .map(String::as_str)
            .unwrap_or("?");
        let severity = alert
            .labels
            .get("severity")
            .map(String::as_str)
            .unwrap_or("");
        let Some(level) = level_of(&settings, severity)? else {
            left_out.push(format!("{name} (severity {severity:?})"));
            continue;
        };
        let summary = alert
            .annotations
            .get("summary")
            .or_else(|| alert.annotations.get("message"))
            .or_else(|| alert.annotations.get("description"))
            .map(String::as_str)
            .unwrap_or("");
        let severity_text = if severity.is_empty() {
            "no severity"
        } else {
            severity
        };
        let mut finding = Finding::new(
            level,
            object_of(&alert.labels, Some(owners)),
            format!("alert {name} ({severity_text}) firing: {summary}")
                .trim_end_matches([':', ' '])
                .to_string(),
        )
        .with_discriminator(format!("alert={name},{}", series_text(&alert.labels)));
        if let Some(d) = alert
            .annotations
            .get("description")
            .filter(|d| *d != summary)
        {
            finding = finding.with_evidence(format!("description: {d}"));
        }
        if let Some(url) = alert.annotations.get("runbook_url") {
            finding = finding.with_evidence(format!("runbook: {url}"));
        }
        finding = finding.with_evidence(format!("labels {{{}}}", series_text(&alert.labels)));
        out.push(finding);
    }
    if !left_out.is_empty() {
        out.attach(
            "Firing but not reported (severity not in levels or also_report)",
            serde_json::json!(left_out),
        );
    }
    Ok(out)
}

// Tested against the real test Prometheus (a rule file whose alerts fire) in
// tests/prometheus.rs.
