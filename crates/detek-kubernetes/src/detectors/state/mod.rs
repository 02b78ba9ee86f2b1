//! State: what the status of objects says — controllers short of replicas, stuck rollouts,
//! unbound claims, failed Jobs, idle CronJobs, Services without an address, Namespaces that do
//! not go away, and Warning events.
//!
//! Status checks only judge objects that carry a status written by the cluster (dumps and live
//! scans); manifests have none, or an empty `status: {}` from `kubectl create --dry-run`.
//!
//! Helpers shared by the state detectors live here rather than in their own file: `build.rs`
//! reads every other `.rs` file of this directory as a detector's documentation.

use crate::model::Items;
use detek_core::Detector;
use k8s_openapi::api::core::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::BTreeMap;
use std::sync::Arc;

// Ages against the scan's clock, shared with the workload detectors.
use super::helpers::{human_duration, seconds_since};

mod container_creating_stuck;
mod cronjob_not_running;
mod cronjob_suspended;
mod daemonset_misscheduled;
mod deployment_stuck;
mod hpa_at_max_replicas;
mod hpa_unable_to_scale;
mod job_failed;
mod loadbalancer_without_address;
mod namespace_stuck_terminating;
mod networkpolicy_selects_nothing;
mod pod_evicted;
mod pod_not_ready;
mod pod_stuck_pending;
mod pv_released_or_failed;
mod pvc_lost;
mod pvc_pending;
mod warning_events;
mod workload_unavailable;

pub(super) fn all() -> Vec<Arc<dyn Detector>> {
    vec![
        Arc::new(workload_unavailable::WorkloadUnavailable),
        Arc::new(deployment_stuck::DeploymentStuck),
        Arc::new(daemonset_misscheduled::DaemonsetMisscheduled),
        Arc::new(pvc_pending::PvcPending),
        Arc::new(pvc_lost::PvcLost),
        Arc::new(pv_released_or_failed::PvReleasedOrFailed),
        Arc::new(job_failed::JobFailed),
        Arc::new(cronjob_suspended::CronjobSuspended),
        Arc::new(cronjob_not_running::CronjobNotRunning),
        Arc::new(networkpolicy_selects_nothing::NetworkpolicySelectsNothing),
        Arc::new(loadbalancer_without_address::LoadbalancerWithoutAddress),
        Arc::new(namespace_stuck_terminating::NamespaceStuckTerminating),
        Arc::new(hpa_at_max_replicas::HpaAtMaxReplicas),
        Arc::new(hpa_unable_to_scale::HpaUnableToScale),
        Arc::new(pod_evicted::PodEvicted),
        Arc::new(pod_not_ready::PodNotReady),
        Arc::new(pod_stuck_pending::PodStuckPending),
        Arc::new(container_creating_stuck::ContainerCreatingStuck),
        Arc::new(warning_events::WarningEvents),
    ]
}

/// Written by a cluster (a dump or the live API), not by hand: it has a uid or a creation
/// time. `kubectl create --dry-run -o yaml` writes `creationTimestamp: null` and a
/// `status: {loadBalancer: {}}` that must not be read as "no address".
fn from_cluster(meta: &ObjectMeta) -> bool {
    meta.uid.is_some() || meta.creation_timestamp.is_some()
}

/// A parsed five-field cron schedule (`minute hour day-of-month month day-of-week`), as
/// Kubernetes CronJobs write them, with the `@hourly`-style macros. Enough to tell when a
/// schedule fires next; time zones are not applied (UTC), which the callers' grace periods
/// absorb.
#[derive(Debug, Clone)]
struct Cron {
    minutes: Vec<bool>,
    hours: Vec<bool>,
    days: Vec<bool>,
    months: Vec<bool>,
    weekdays: Vec<bool>,
    /// Day-of-month or day-of-week written as `*`/`?`: then both must match, else either.
    day_star: bool,
}

impl Cron {
    fn parse(schedule: &str) -> Option<Cron> {
        let mut schedule = schedule.trim();
        // `CRON_TZ=Europe/Paris 0 3 * * *` (rejected by newer API servers, seen in old objects).
        if schedule.starts_with("TZ=") || schedule.starts_with("CRON_TZ=") {
            schedule = schedule.split_once(' ')?.1.trim();
        }
        let expanded = match schedule {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            other => other,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        let [minute, hour, dom, month, dow] = fields.as_slice() else {
            return None;
        };
        const MONTHS: [&str; 12] = [
            "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
        ];
        const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
        let mut weekdays = cron_field(dow, 0, 7, &DAYS, 0)?;
        if weekdays[7] {
            weekdays[0] = true;
        }
        weekdays.truncate(7);
        let star = |f: &str| f.starts_with('*') || f.starts_with('?');
        Some(Cron {
            minutes: cron_field(minute, 0, 59, &[], 0)?,
            hours: cron_field(hour, 0, 23, &[], 0)?,
            days: cron_field(dom, 1, 31, &[], 0)?,
            months: cron_field(month, 1, 12, &MONTHS, 1)?,
            weekdays,
            day_star: star(dom) || star(dow),
        })
    }

    /// The first time strictly after `after` at which the schedule fires (within 5 years).
    fn next_after(
        &self,
        after: k8s_openapi::jiff::Timestamp,
    ) -> Option<k8s_openapi::jiff::Timestamp> {
        use k8s_openapi::jiff::tz::TimeZone;
        let start = after.to_zoned(TimeZone::UTC).datetime();
        let mut date = start.date();
        for day in 0..(366 * 5) {
            let dom = self.days[date.day() as usize];
            let dow = self.weekdays[date.weekday().to_sunday_zero_offset() as usize];
            let day_ok = if self.day_star {
                dom && dow
            } else {
                dom || dow
            };
            if self.months[date.month() as usize] && day_ok {
                for hour in 0..24i8 {
                    if !self.hours[hour as usize] {
                        continue;
                    }
                    for minute in 0..60i8 {
                        if !self.minutes[minute as usize] {
                            continue;
                        }
                        let at = date.at(hour, minute, 0, 0);
                        if day == 0 && at <= start {
                            continue;
                        }
                        return at.to_zoned(TimeZone::UTC).ok().map(|z| z.timestamp());
                    }
                }
            }
            date = date.tomorrow().ok()?;
        }
        None
    }
}

/// One cron field as a table indexed by value (`0..=max`): `*`, `*/5`, `1-5`, `1,15`,
/// `MON-FRI`, `10/20`. `None` when it cannot be read.
fn cron_field(
    field: &str,
    min: u32,
    max: u32,
    names: &[&str],
    name_base: u32,
) -> Option<Vec<bool>> {
    let mut table = vec![false; max as usize + 1];
    let value = |s: &str| -> Option<u32> {
        if let Ok(n) = s.parse::<u32>() {
            return (min..=max).contains(&n).then_some(n);
        }
        let upper = s.to_ascii_uppercase();
        names
            .iter()
            .position(|n| *n == upper)
            .map(|i| i as u32 + name_base)
    };
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().ok().filter(|s| *s > 0)?),
            None => (part, 1),
        };
        let (lo, hi) = match range {
            "*" | "?" => (min, max),
            r => match r.split_once('-') {
                Some((a, b)) => (value(a)?, value(b)?),
                None => {
                    let v = value(r)?;
                    (v, if part.contains('/') { max } else { v })
                }
            },
        };
        if lo > hi {
            return None;
        }
        let mut v = lo;
        while v <= hi {
            table[v as usize] = true;
            v += step;
        }
    }
    Some(table)
}

/// Warning events about one object with one reason, merged.
#[derive(Debug, Clone)]
pub(crate) struct EventGroup {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub reason: String,
    /// Sum of the events' counts (an event without a count counts once).
    pub count: i64,
    /// The message of the most recent event.
    pub message: String,
    /// When it was last seen, as written (`lastTimestamp`, `series.lastObservedTime` or
    /// `eventTime`).
    pub last_seen: Option<k8s_openapi::jiff::Timestamp>,
}

impl EventGroup {
    /// `FailedMount ×490 (last 2023-07-11T03:31:29Z): MountVolume.SetUp failed ...`
    pub fn describe(&self) -> String {
        let last = self
            .last_seen
            .map(|t| format!(" (last {t})"))
            .unwrap_or_default();
        format!("{} ×{}{last}: {}", self.reason, self.count, self.message)
    }
}

/// Events of type Warning grouped by involved object and reason, in a stable order (kind,
/// namespace, name, reason).
pub(crate) fn warning_event_groups(events: &Items<Event>) -> Vec<EventGroup> {
    type GroupKey = (String, Option<String>, String, String);
    let mut groups: BTreeMap<GroupKey, EventGroup> = BTreeMap::new();
    for e in events {
        if e.type_.as_deref() != Some("Warning") {
            continue;
        }
        let io = &e.involved_object;
        let kind = io.kind.clone().unwrap_or_default();
        let name = io.name.clone().unwrap_or_default();
        let namespace = io
            .namespace
            .clone()
            .or_else(|| e.metadata.namespace.clone());
        let reason = e.reason.clone().unwrap_or_else(|| "Unknown".to_string());
        let count = i64::from(
            e.series
                .as_ref()
                .and_then(|s| s.count)
                .or(e.count)
                .unwrap_or(1)
                .max(1),
        );
        let seen = e
            .series
            .as_ref()
            .and_then(|s| s.last_observed_time.as_ref().map(|t| t.0))
            .or_else(|| e.last_timestamp.as_ref().map(|t| t.0))
            .or_else(|| e.event_time.as_ref().map(|t| t.0))
            .or_else(|| e.first_timestamp.as_ref().map(|t| t.0));
        let message = e.message.clone().unwrap_or_default();
        let group = groups
            .entry((
                kind.clone(),
                namespace.clone(),
                name.clone(),
                reason.clone(),
            ))
            .or_insert_with(|| EventGroup {
                kind,
                namespace,
                name,
                reason,
                count: 0,
                message: String::new(),
                last_seen: None,
            });
        group.count += count;
        if group.message.is_empty() || seen >= group.last_seen {
            group.message = message;
            group.last_seen = seen.or(group.last_seen);
        }
    }
    groups.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::{Cron, human_duration};

    fn next(schedule: &str, after: &str) -> String {
        let after: k8s_openapi::jiff::Timestamp = after.parse().unwrap();
        Cron::parse(schedule)
            .unwrap()
            .next_after(after)
            .unwrap()
            .to_string()
    }

    #[test]
    fn cron_schedules_fire_when_expected() {
        assert_eq!(
            next("*/1 * * * *", "2019-08-30T17:01:00Z"),
            "2019-08-30T17:02:00Z"
        );
        assert_eq!(
            next("59 23 * * *", "2023-02-06T15:49:38Z"),
            "2023-02-06T23:59:00Z"
        );
        assert_eq!(
            next("@monthly", "2024-01-15T10:00:00Z"),
            "2024-02-01T00:00:00Z"
        );
        assert_eq!(
            next("0 9 * * MON-FRI", "2024-06-07T10:00:00Z"),
            "2024-06-10T09:00:00Z"
        );
        assert_eq!(
            next("0 0 1,15 * 0", "2024-06-02T00:00:00Z"),
            "2024-06-09T00:00:00Z"
        );
        assert_eq!(
            next("0 0 29 2 *", "2023-03-01T00:00:00Z"),
            "2024-02-29T00:00:00Z"
        );
        assert!(Cron::parse("@every 5m").is_none());
        assert!(Cron::parse("61 * * * *").is_none());
    }

    #[test]
    fn durations_read_like_kubectl_ages() {
        assert_eq!(human_duration(0), "0m");
        assert_eq!(human_duration(30), "1m");
        assert_eq!(human_duration(3 * 3600 + 120), "3h2m");
        assert_eq!(human_duration(2 * 86_400 + 5 * 3600), "2d5h");
    }
}
