//! Small helpers shared by the renderers: ordering, durations, times, labels.

use detek_core::{Report, ReportList, ScanStatus};
use jiff::Timestamp;

/// Reports worst first (`Fatal`, `Error`, `Warn`, `Unknown`, `Normal`), then by id.
pub(crate) fn sorted_reports(list: &ReportList) -> Vec<&Report> {
    let mut reports: Vec<&Report> = list.reports.iter().collect();
    reports.sort_by(|a, b| b.level.cmp(&a.level).then_with(|| a.id.cmp(&b.id)));
    reports
}

/// `850 ms`, `1.2 s`, `3 min 04 s`.
pub(crate) fn duration(ms: f64) -> String {
    if !ms.is_finite() || ms < 0.0 {
        return "?".to_string();
    }
    if ms < 1.0 {
        format!("{ms:.2} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else if ms < 60_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        let s = (ms / 1000.0).round() as u64;
        format!("{} min {:02} s", s / 60, s % 60)
    }
}

/// `2025-01-02 03:04:05 UTC`.
pub(crate) fn time(ts: &Timestamp) -> String {
    ts.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

pub(crate) fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

pub(crate) fn status_str(status: ScanStatus) -> &'static str {
    match status {
        ScanStatus::Complete => "complete",
        ScanStatus::Partial => "partial",
        ScanStatus::NothingCollected => "nothing collected",
    }
}

/// `kind name` target label: `snapshot manifests/`, `cluster prod-eu`; the demo's name alone
/// ("Demo cluster (snapshot of …)"), which says what it is.
pub(crate) fn target_label(list: &ReportList) -> String {
    if list.target.kind == "demo" && !list.target.name.is_empty() {
        return list.target.name.clone();
    }
    match (list.target.kind.is_empty(), list.target.name.is_empty()) {
        (true, true) => "(unnamed target)".to_string(),
        (true, false) => list.target.name.clone(),
        (false, true) => list.target.kind.clone(),
        (false, false) => format!("{} {}", list.target.kind, list.target.name),
    }
}

/// What failed to be collected, in one sentence (used by the incomplete-scan banners).
pub(crate) fn incomplete_reason(list: &ReportList) -> String {
    let failed = list.collectors.iter().filter(|c| !c.ok).count() as u64;
    let keys: u64 = list
        .collectors
        .iter()
        .map(|c| c.failed_keys.len() as u64)
        .sum();
    let unknown = list.summary.unknown;
    let mut parts = Vec::new();
    if !list.inputs_not_read.is_empty() {
        let mut names: Vec<String> = Vec::new();
        for d in &list.inputs_not_read {
            let name = match &d.source {
                Some(source) => source.to_string(),
                None => d
                    .message
                    .split(": ")
                    .next()
                    .unwrap_or(&d.message)
                    .to_string(),
            };
            if !names.contains(&name) {
                names.push(name);
            }
        }
        let shown: Vec<&str> = names.iter().take(3).map(String::as_str).collect();
        let more = names.len().saturating_sub(shown.len());
        parts.push(format!(
            "{} not read ({}{})",
            plural(names.len() as u64, "input", "inputs"),
            shown.join(", "),
            if more > 0 {
                format!(", and {more} more")
            } else {
                String::new()
            }
        ));
    }
    if failed > 0 {
        parts.push(format!(
            "{} failed",
            plural(failed, "collector", "collectors")
        ));
    }
    if keys > 0 {
        parts.push(format!("{} unavailable", plural(keys, "input", "inputs")));
    }
    if unknown > 0 {
        parts.push(format!(
            "{} could not be evaluated",
            plural(unknown, "detector", "detectors")
        ));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration(0.25), "0.25 ms");
        assert_eq!(duration(12.4), "12 ms");
        assert_eq!(duration(1234.0), "1.2 s");
        assert_eq!(duration(125_000.0), "2 min 05 s");
        assert_eq!(duration(f64::NAN), "?");
    }
}
