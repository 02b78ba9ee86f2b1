//! `/metrics` in the Prometheus text format (version 0.0.4): open findings per target,
//! detector and level, scans and failed scans per target, the last scan's duration and
//! status, the last successful scan's time. Enough for Alertmanager to page on a new Fatal
//! finding (`detek_open_findings{level="fatal"} > 0`) or a target that stopped being scanned.

use super::{AppState, Reader};
use crate::db::FleetMetrics;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use std::fmt::Write;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

/// Always 200: when the database does not answer, `detek_database_up 0` says so (a failed
/// scrape would only say that the hub is down).
async fn metrics(_reader: Reader, State(state): State<AppState>) -> impl IntoResponse {
    let fleet = state.store.metrics().await;
    if let Err(e) = &fleet {
        eprintln!("detek serve: /metrics: {e:#}");
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render(fleet.as_ref().ok()),
    )
}

/// A label value escaped as the text format wants: `\`, `"` and newline.
fn label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// The exposition of `fleet` (`None`: the database did not answer).
pub fn render(fleet: Option<&FleetMetrics>) -> String {
    let mut out = String::new();
    family(
        &mut out,
        "detek_database_up",
        "gauge",
        "1 when the hub's database answered this scrape, 0 when it did not.",
    );
    let _ = writeln!(out, "detek_database_up {}", u8::from(fleet.is_some()));
    let Some(fleet) = fleet else {
        return out;
    };
    family(
        &mut out,
        "detek_targets",
        "gauge",
        "Targets registered in the hub.",
    );
    let _ = writeln!(out, "detek_targets {}", fleet.targets.len());
    family(
        &mut out,
        "detek_open_findings",
        "gauge",
        "Findings open in the latest scan with a report, per target, detector and level.",
    );
    for f in &fleet.open_findings {
        let _ = writeln!(
            out,
            "detek_open_findings{{target=\"{}\",detector=\"{}\",level=\"{}\"}} {}",
            label(&f.target),
            label(&f.detector),
            super::pages::level_name(f.level),
            f.count
        );
    }
    family(
        &mut out,
        "detek_scans_total",
        "counter",
        "Scans stored per target (failed ones included).",
    );
    for t in &fleet.targets {
        let _ = writeln!(
            out,
            "detek_scans_total{{target=\"{}\"}} {}",
            label(&t.target),
            t.scans_total
        );
    }
    family(
        &mut out,
        "detek_scan_failures_total",
        "counter",
        "Scans per target that produced no report (unreachable, timed out, refused).",
    );
    for t in &fleet.targets {
        let _ = writeln!(
            out,
            "detek_scan_failures_total{{target=\"{}\"}} {}",
            label(&t.target),
            t.scans_failed_total
        );
    }
    family(
        &mut out,
        "detek_last_scan_success",
        "gauge",
        "1 when the target's newest scan produced a report, 0 when it failed.",
    );
    for t in &fleet.targets {
        if let Some(status) = t.last_scan_status {
            let _ = writeln!(
                out,
                "detek_last_scan_success{{target=\"{}\"}} {}",
                label(&t.target),
                u8::from(status != crate::db::ScanState::Failed)
            );
        }
    }
    family(
        &mut out,
        "detek_last_scan_duration_seconds",
        "gauge",
        "How long the target's newest scan took.",
    );
    for t in &fleet.targets {
        if let Some(ms) = t.last_scan_duration_ms {
            let _ = writeln!(
                out,
                "detek_last_scan_duration_seconds{{target=\"{}\"}} {}",
                label(&t.target),
                ms as f64 / 1000.0
            );
        }
    }
    family(
        &mut out,
        "detek_last_successful_scan_timestamp_seconds",
        "gauge",
        "When the target's newest scan with a report finished (Unix time).",
    );
    for t in &fleet.targets {
        if let Some(at) = t.last_success_at {
            let _ = writeln!(
                out,
                "detek_last_successful_scan_timestamp_seconds{{target=\"{}\"}} {}",
                label(&t.target),
                at.as_second()
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::label;

    #[test]
    fn label_values_escaped() {
        assert_eq!(label(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(label("x\ny"), "x\\ny");
        assert_eq!(label("plain-name"), "plain-name");
    }
}
