//! `detek serve --demo`: a few clusters with weeks of history, made from one scan of the demo
//! snapshot, so a newcomer sees the dashboard filled — trends that move, findings new in the
//! latest scan and findings resolved by it, a cluster that looks unused, one whose last scans
//! failed — without a cluster of their own.
//!
//! Each demo cluster gets its own identity (so its fingerprints are its own) and, per finding
//! of the snapshot, a window of days when that finding is open, drawn from a stable hash: the
//! same seed always gives the same history.

use crate::db::{DbError, NewScan, Store};
use crate::targets::{TargetLabels, TargetSpec};
use detek_core::{Level, ReportList, ReportResult, Summary};
use jiff::{SignedDuration, Timestamp};

/// One demo cluster.
pub struct DemoCluster {
    pub name: &'static str,
    pub description: &'static str,
    pub owner: &'static str,
    pub team: &'static str,
    pub environment: &'static str,
    pub region: &'static str,
    /// Share of the snapshot's findings this cluster has at all (out of 100).
    pub share: u64,
    /// `cluster_possibly_unused` signs (0–5): 3 or more make a finding.
    pub unused_signs: u8,
    /// The newest scans that failed instead of producing a report.
    pub failed_last: u32,
}

pub const CLUSTERS: [DemoCluster; 6] = [
    DemoCluster {
        name: "shop-prod-eu",
        description: "Web shop storefront and checkout, production (Frankfurt)",
        owner: "shop-oncall@example.com",
        team: "shop",
        environment: "production",
        region: "eu-central",
        share: 70,
        unused_signs: 0,
        failed_last: 0,
    },
    DemoCluster {
        name: "shop-staging",
        description: "Web shop staging; nightly deploys from main",
        owner: "shop-dev@example.com",
        team: "shop",
        environment: "staging",
        region: "eu-central",
        share: 90,
        unused_signs: 1,
        failed_last: 0,
    },
    DemoCluster {
        name: "payments-prod-us",
        description: "Payment gateway and fraud scoring, production (Virginia)",
        owner: "payments-sre@example.com",
        team: "payments",
        environment: "production",
        region: "us-east",
        share: 35,
        unused_signs: 0,
        failed_last: 0,
    },
    DemoCluster {
        name: "data-batch-dev",
        description: "Spark batch jobs, development — last deploy months ago",
        owner: "data-platform@example.com",
        team: "data",
        environment: "development",
        region: "eu-west",
        share: 20,
        unused_signs: 4,
        failed_last: 0,
    },
    DemoCluster {
        name: "ml-sandbox",
        description: "GPU sandbox for model experiments",
        owner: "ml-research@example.com",
        team: "data",
        environment: "development",
        region: "us-west",
        share: 55,
        unused_signs: 2,
        failed_last: 3,
    },
    DemoCluster {
        name: "intranet-legacy",
        description: "Legacy intranet (wiki, tickets); migration planned",
        owner: "platform@example.com",
        team: "platform",
        environment: "production",
        region: "eu-west",
        share: 100,
        unused_signs: 3,
        failed_last: 0,
    },
];

/// Days of history per cluster (one scan a day).
pub const DAYS: u32 = 28;

/// A stable 64-bit hash (FNV-1a): the demo must not change between runs or Rust versions.
fn stable_hash(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain([0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// Whether the finding keyed `key` of `cluster` is open on `day` (0 = the oldest scan,
/// `DAYS - 1` = the latest).
fn open_on(cluster: &DemoCluster, key: &str, day: u32) -> bool {
    let h = stable_hash(&[cluster.name, key]);
    if h % 100 >= cluster.share {
        return false;
    }
    let last = i64::from(DAYS - 1);
    // A sixth of the findings are there from before the first scan and never leave; the
    // rest open on some day and most close again some days later.
    let (start, end) = match (h >> 8) % 6 {
        0 => (-1, i64::MAX),
        2 => (((h >> 16) % DAYS as u64) as i64, i64::MAX),
        // Some resolved by the latest scan: the "resolved" list has something to show.
        3 if (h >> 24).is_multiple_of(3) => (((h >> 16) % 10) as i64, last),
        // Opened by the latest scan: the "new" list has something to show.
        4 if (h >> 24).is_multiple_of(4) => (last, i64::MAX),
        // Come and go: a few days to a fortnight; the cluster's busy weeks differ.
        _ => {
            let start = ((h >> 16) % DAYS as u64) as i64 - 5;
            (start, start + 2 + ((h >> 32) % 14) as i64)
        }
    };
    (start..end).contains(&i64::from(day))
}

/// The `cluster_possibly_unused` report rewritten for `signs` of 5 signs (a finding from 3).
fn set_unused_signs(list: &mut ReportList, signs: u8) {
    let Some(report) = list
        .reports
        .iter_mut()
        .find(|r| r.id == "cluster_possibly_unused")
    else {
        return;
    };
    let lines: Vec<String> = [
        "no workload outside the system namespaces",
        "no Pod started in the last 30 days",
        "nothing exposed: no Ingress, no LoadBalancer Service",
        "every Deployment scaled to zero",
        "cluster older than 30 days",
    ]
    .iter()
    .enumerate()
    .map(|(i, sign)| {
        let held = i >= 5 - usize::from(signs);
        format!("[{}] {sign}", if held { "x" } else { " " })
    })
    .collect();
    report
        .attachment
        .retain(|a| !a.description.starts_with("Score "));
    report.findings.clear();
    if signs >= 3 {
        let finding = detek_core::Finding::new(
            Level::Warn,
            None,
            format!("the cluster looks unused: {signs} of 5 signs (reported from 3)"),
        );
        report
            .findings
            .push(finding.with_evidence(lines.join("\n")));
    } else {
        report.attachment.push(detek_core::Attachment {
            description: format!("Score {signs} of 5 (reported from 3)"),
            data: serde_json::Value::from(lines),
        });
    }
}

/// One day's scan of `cluster`, made from `base`.
pub fn scan_of(base: &ReportList, cluster: &DemoCluster, day: u32, at: Timestamp) -> ReportList {
    let mut list = base.clone();
    let identity = format!("demo:{}", cluster.name);
    list.target.kind = "cluster".into();
    list.target.name = cluster.name.into();
    list.target.context = Some(cluster.name.into());
    list.target.identity = identity.clone();
    let took = 700 + stable_hash(&[cluster.name, &day.to_string()]) % 2_300;
    list.started_at = at;
    list.finished_at = at + SignedDuration::from_millis(took as i64);
    list.evaluated_at = Some(at);
    list.duration_ms = took as f64;
    set_unused_signs(&mut list, cluster.unused_signs);
    for report in &mut list.reports {
        let detector = report.id.clone();
        if detector != "cluster_possibly_unused" {
            report.findings.retain(|f| {
                let key = format!("{detector}/{}", f.compute_fingerprint("", &detector));
                open_on(cluster, &key, day)
            });
        }
        for finding in &mut report.findings {
            finding.fingerprint = finding.compute_fingerprint(&identity, &detector);
        }
        let active = report.active_findings().map(|f| f.level).max();
        match active {
            Some(level) => {
                report.level = level;
                report.passed = false;
                report.result = ReportResult::Findings;
            }
            None if report.result == ReportResult::Findings => {
                report.level = Level::Normal;
                report.passed = true;
                report.result = ReportResult::Passed;
            }
            None => {}
        }
    }
    list.summary = Summary::of(&list.reports);
    list
}

/// The demo's targets and scans, stored in `store`, the latest scan an hour before `now`.
/// Returns how many scans were stored.
pub async fn seed(store: &Store, base: &ReportList, now: Timestamp) -> Result<u64, DbError> {
    let mut stored = 0;
    for cluster in &CLUSTERS {
        store
            .upsert_target(&TargetSpec {
                name: cluster.name.into(),
                source: crate::targets::TargetSource::Pushed,
                description: cluster.description.into(),
                owner: cluster.owner.into(),
                labels: TargetLabels {
                    team: cluster.team.into(),
                    environment: cluster.environment.into(),
                    region: cluster.region.into(),
                },
            })
            .await?;
        for day in 0..DAYS {
            let at = now - SignedDuration::from_hours(i64::from(24 * (DAYS - day)) - 23);
            let failed = day >= DAYS - cluster.failed_last;
            let scan = if failed {
                NewScan::failed(
                    cluster.name,
                    at,
                    at + SignedDuration::from_secs(30),
                    "timed out after 30 s: the API server https://10.40.0.12:6443 did not answer",
                )
            } else {
                NewScan::from_report(cluster.name, scan_of(base, cluster, day, at))
            };
            store.insert_scan(&scan).await?;
            stored += 1;
        }
    }
    Ok(stored)
}
