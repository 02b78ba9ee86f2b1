//! Code shared by the metric detectors: durations as PromQL writes them, whether a series
//! held its condition for the rule's whole duration, which Kubernetes object a series'
//! labels name, and numbers as people read them.

use crate::model::{Labels, PodOwners, QueryResult, Series};
use detek_core::{DetectError, ObjectRef, Outcome};

/// A PromQL duration (`30s`, `15m`, `1h`, `7d`, `1h30m`) in seconds.
pub fn parse_duration(text: &str) -> Result<f64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration".into());
    }
    let mut total = 0.0;
    let mut number = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let unit = match (c, chars.peek()) {
            ('m', Some('s')) => {
                chars.next();
                0.001
            }
            ('s', _) => 1.0,
            ('m', _) => 60.0,
            ('h', _) => 3600.0,
            ('d', _) => 86_400.0,
            ('w', _) => 604_800.0,
            ('y', _) => 31_536_000.0,
            _ => {
                return Err(format!(
                    "{text:?} is not a duration (e.g. 30s, 15m, 1h, 7d)"
                ));
            }
        };
        let n: f64 = number
            .parse()
            .map_err(|_| format!("{text:?} is not a duration (e.g. 30s, 15m, 1h, 7d)"))?;
        total += n * unit;
        number.clear();
    }
    if !number.is_empty() {
        return Err(format!("{text:?} has no unit (write 30s, 15m, 1h or 7d)"));
    }
    Ok(total)
}

/// Which side of the threshold is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// At or above the threshold.
    Above,
    /// At or below the threshold.
    Below,
}

impl Direction {
    fn crosses(self, value: f64, threshold: f64) -> bool {
        match self {
            Direction::Above => value >= threshold,
            Direction::Below => value <= threshold,
        }
    }
}

/// A series that held its condition: the value nearest the threshold over the duration (the
/// level it held at least), and the newest one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Held {
    pub least: f64,
    pub last: f64,
}

/// Whether `series` crossed `threshold` at every step of `result`'s range (the rule's `for`,
/// as Prometheus evaluates it: a series that appeared, or dipped, within the range has not
/// held for the duration), or at the instant for an instant query.
pub fn held(
    result: &QueryResult,
    series: &Series,
    threshold: f64,
    direction: Direction,
) -> Option<Held> {
    let last = series.last()?;
    if series
        .points
        .iter()
        .any(|(_, v)| !direction.crosses(*v, threshold))
    {
        return None;
    }
    if let Some(range) = result.range {
        // Every step from the start of the range to its end must be there.
        let expected = (range.seconds / range.step).round() as usize + 1;
        if series.points.len() < expected {
            return None;
        }
        let first = series.points[0].0;
        if first > result.at - range.seconds + range.step / 2.0 {
            return None;
        }
    }
    let least = series
        .points
        .iter()
        .map(|p| p.1)
        .fold(last, |acc, v| match direction {
            Direction::Above => acc.min(v),
            Direction::Below => acc.max(v),
        });
    Some(Held { least, last })
}

/// "for 15m" (range query) or "at one instant" — what a finding's condition held for.
pub fn held_for(result: &QueryResult) -> String {
    match (result.range, result.source) {
        (Some(r), _) => format!("for {}", human_duration(r.seconds)),
        (None, crate::model::Source::Scrape) => {
            "at the instant of the scrape (--metrics-url has no history to check a duration)"
                .to_string()
        }
        (None, _) => "at the instant of the query".to_string(),
    }
}

/// The Kubernetes object a series' labels name: a Pod's controller (through `owners`) or the
/// Pod itself, with its container; a Node (`node`, `nodename`, `kubernetes_node`); a
/// workload named by kube-state-metrics' labels; else its namespace.
pub fn object_of(labels: &Labels, owners: Option<&PodOwners>) -> Option<ObjectRef> {
    let get = |name: &str| {
        labels
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    let namespace = get("namespace").or_else(|| get("exported_namespace"));
    if let (Some(ns), Some(pod)) = (namespace, get("pod").or_else(|| get("exported_pod"))) {
        let object = match owners.and_then(|o| o.owners.get(&(ns.to_string(), pod.to_string()))) {
            Some((kind, name)) => ObjectRef::new(kind.as_str(), Some(ns), name.as_str()),
            None => ObjectRef::new("Pod", Some(ns), pod),
        };
        return Some(match get("container") {
            Some(c) if c != "POD" => object.with_container(c),
            _ => object,
        });
    }
    if let Some(ns) = namespace {
        for (label, kind) in [
            ("deployment", "Deployment"),
            ("statefulset", "StatefulSet"),
            ("daemonset", "DaemonSet"),
            ("cronjob", "CronJob"),
            ("job_name", "Job"),
            ("persistentvolumeclaim", "PersistentVolumeClaim"),
            ("horizontalpodautoscaler", "HorizontalPodAutoscaler"),
            ("service", "Service"),
        ] {
            if let Some(name) = get(label) {
                return Some(ObjectRef::new(kind, Some(ns), name));
            }
        }
    }
    if let Some(node) = get("node")
        .or_else(|| get("nodename"))
        .or_else(|| get("kubernetes_node"))
    {
        return Some(ObjectRef::new("Node", None, node));
    }
    namespace.map(|ns| ObjectRef::new("Namespace", None, ns))
}

/// The labels that tell the series apart, `name="value"` comma-separated (for evidence and
/// discriminators).
pub fn series_text(labels: &Labels) -> String {
    labels
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The answer to query `name`, or why it is missing.
pub fn result<'a>(
    results: &'a crate::model::QueryResults,
    name: &str,
) -> Result<&'a QueryResult, DetectError> {
    results
        .get(name)
        .ok_or_else(|| DetectError::new(format!("query {name:?} was not run")))
}

/// The outcome for queries that all answered with no series: "no data", never a pass.
pub fn no_data(results: &[&QueryResult]) -> Outcome {
    let queries: Vec<String> = results.iter().map(|r| r.promql.clone()).collect();
    Outcome::new().not_judged(format!(
        "no data: the query returned no series ({})",
        queries.join("; ")
    ))
}

pub fn percent(ratio: f64) -> String {
    format!("{:.1}%", ratio * 100.0)
}

pub fn bytes(value: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = value;
    let mut unit = 0;
    while v.abs() >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

pub fn cores(value: f64) -> String {
    format!("{value:.3} cores")
}

/// Seconds as `2d 4h`, `3h 5m`, `15m` or `40s`.
pub fn human_duration(secs: f64) -> String {
    let secs = secs.round() as i64;
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3_600,
        secs % 3_600 / 60,
        secs % 60,
    );
    match (d, h, m) {
        (d, h, _) if d > 0 && h > 0 => format!("{d}d {h}h"),
        (d, _, _) if d > 0 => format!("{d}d"),
        (_, h, m) if h > 0 && m > 0 => format!("{h}h {m}m"),
        (_, h, _) if h > 0 => format!("{h}h"),
        (_, _, m) if m > 0 && s == 0 => format!("{m}m"),
        (_, _, m) if m > 0 => format!("{m}m {s}s"),
        _ => format!("{s}s"),
    }
}

/// The series of `result` that held the condition, with how.
pub fn crossing(
    result: &QueryResult,
    threshold: f64,
    direction: Direction,
) -> Vec<(&Series, Held)> {
    result
        .series
        .iter()
        .filter_map(|s| held(result, s, threshold, direction).map(|h| (s, h)))
        .collect()
}

/// The evidence every metric finding carries: the series and the query that found it.
pub fn with_query_evidence(
    finding: detek_core::Finding,
    result: &QueryResult,
    series: &Series,
) -> detek_core::Finding {
    finding
        .with_evidence(format!("series {{{}}}", series_text(&series.labels)))
        .with_evidence(format!("PromQL: {}", result.promql))
}

/// A finding (`level`) for each container series of `result` that held above `threshold`: on
/// the Pod's controller (through `owners`), told apart by Pod, the message
/// `container C of pod P: ` followed by `describe(held)`, the query as evidence.
pub fn container_findings(
    result: &QueryResult,
    threshold: f64,
    owners: &PodOwners,
    level: detek_core::Level,
    describe: impl Fn(&Held) -> String,
) -> Vec<detek_core::Finding> {
    crossing(result, threshold, Direction::Above)
        .into_iter()
        .map(|(series, held)| {
            let pod = series.label("pod").unwrap_or("?");
            let container = series.label("container").unwrap_or("?");
            let finding = detek_core::Finding::new(
                level,
                object_of(&series.labels, Some(owners)),
                format!("container {container} of pod {pod}: {}", describe(&held)),
            )
            .with_discriminator(format!("pod={pod}"));
            with_query_evidence(finding, result, series)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Range, Source};

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15m").unwrap(), 900.0);
        assert_eq!(parse_duration("1h30m").unwrap(), 5400.0);
        assert_eq!(parse_duration("7d").unwrap(), 604_800.0);
        assert_eq!(parse_duration("0s").unwrap(), 0.0);
        assert!(parse_duration("15").is_err());
        assert_eq!(human_duration(900.0), "15m");
        assert_eq!(human_duration(93_600.0), "1d 2h");
    }

    #[test]
    fn held_needs_every_step() {
        let result = |points: Vec<(f64, f64)>| {
            let r = QueryResult {
                promql: "x".into(),
                source: Source::Prometheus,
                at: 1000.0,
                range: Some(Range {
                    seconds: 300.0,
                    step: 60.0,
                }),
                series: vec![],
            };
            (
                r,
                Series {
                    labels: Labels::new(),
                    points,
                },
            )
        };
        let full: Vec<_> = (0..6).map(|i| (700.0 + 60.0 * i as f64, 0.97)).collect();
        let (r, s) = result(full.clone());
        assert_eq!(
            held(&r, &s, 0.95, Direction::Above),
            Some(Held {
                least: 0.97,
                last: 0.97
            })
        );
        let (r, s) = result(full[2..].to_vec());
        assert_eq!(
            held(&r, &s, 0.95, Direction::Above),
            None,
            "appeared within the range"
        );
        let mut dip = full;
        dip[3].1 = 0.5;
        let (r, s) = result(dip);
        assert_eq!(held(&r, &s, 0.95, Direction::Above), None, "dipped below");
    }
}
