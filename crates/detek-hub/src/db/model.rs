//! What the store takes and returns: plain rows the pages and the API render.

use detek_core::{Level, ReportList, ScanStatus};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A scan's row id (the `scans.id` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ScanId(pub i64);

impl std::fmt::Display for ScanId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// How a scan ended: the ReportList's status, or `failed` when there is no ReportList (the
/// target could not be reached, timed out, the scanner refused it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanState {
    Complete,
    Partial,
    NothingCollected,
    Failed,
}

impl ScanState {
    pub fn as_str(self) -> &'static str {
        match self {
            ScanState::Complete => "complete",
            ScanState::Partial => "partial",
            ScanState::NothingCollected => "nothing_collected",
            ScanState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<ScanState> {
        Some(match s {
            "complete" => ScanState::Complete,
            "partial" => ScanState::Partial,
            "nothing_collected" => ScanState::NothingCollected,
            "failed" => ScanState::Failed,
            _ => return None,
        })
    }
}

impl From<ScanStatus> for ScanState {
    fn from(s: ScanStatus) -> Self {
        match s {
            ScanStatus::Complete => ScanState::Complete,
            ScanStatus::Partial => ScanState::Partial,
            ScanStatus::NothingCollected => ScanState::NothingCollected,
        }
    }
}

/// A scan to store. `uuid` makes the insert idempotent: storing the same scan twice (a retry
/// after a lost connection) stores it once and returns the first id.
#[derive(Debug, Clone)]
pub struct NewScan {
    pub uuid: Uuid,
    pub target: String,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub outcome: ScanOutcome,
}

#[derive(Debug, Clone)]
pub enum ScanOutcome {
    /// The scan ran and produced a ReportList (complete, partial or nothing collected).
    Report(Box<ReportList>),
    /// No ReportList: why (unreachable, timed out, ...).
    Failed { error: String },
}

impl NewScan {
    /// A scan that produced `report`, timed by the report itself.
    pub fn from_report(target: impl Into<String>, report: ReportList) -> NewScan {
        NewScan {
            uuid: Uuid::new_v4(),
            target: target.into(),
            started_at: report.started_at,
            finished_at: report.finished_at,
            outcome: ScanOutcome::Report(Box::new(report)),
        }
    }

    /// A scan that failed with `error`.
    pub fn failed(
        target: impl Into<String>,
        started_at: Timestamp,
        finished_at: Timestamp,
        error: impl Into<String>,
    ) -> NewScan {
        NewScan {
            uuid: Uuid::new_v4(),
            target: target.into(),
            started_at,
            finished_at,
            outcome: ScanOutcome::Failed {
                error: error.into(),
            },
        }
    }
}

/// Detector reports per level in one scan (the ReportList summary) and its unsuppressed
/// findings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelCounts {
    pub fatal: i64,
    pub error: i64,
    pub warn: i64,
    pub unknown: i64,
    pub normal: i64,
    pub findings: i64,
}

/// One stored scan, without its ReportList.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanRow {
    pub id: ScanId,
    pub uuid: Uuid,
    pub target: String,
    pub status: ScanState,
    pub error: Option<String>,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub duration_ms: i64,
    /// The target identity the scan reported (DESIGN.md §4); empty for failed scans.
    pub identity: String,
    pub counts: LevelCounts,
    /// The worst report level (Normal for a failed scan).
    pub worst: Level,
    /// `cluster_possibly_unused`'s score (0–5) when that detector judged.
    pub unused_score: Option<i64>,
}

/// One stored scan with its full ReportList (none for a failed scan).
#[derive(Debug, Clone, Serialize)]
pub struct StoredScan {
    pub row: ScanRow,
    pub report: Option<ReportList>,
}

/// A registered target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetRow {
    pub name: String,
    /// `kubernetes`, `openstack` or `pushed`.
    pub kind: String,
    /// Where it is (a context and kubeconfig path, a cloud name); never a credential.
    pub locator: String,
    pub description: String,
    pub owner: String,
    pub team: String,
    pub environment: String,
    pub region: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A page of rows and how many rows match in all.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
}

impl<T> Page<T> {
    pub fn pages(&self) -> u64 {
        self.total.div_ceil(u64::from(self.per_page.max(1)))
    }
}

/// How the cluster list is ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClusterSort {
    #[default]
    Name,
    /// Start of the last scan.
    LastScan,
    /// Fatal, then Error, then Warn reports of the last scan with a report.
    Severity,
    /// Unsuppressed findings of the last scan with a report.
    Findings,
    /// `cluster_possibly_unused` score.
    Unused,
}

/// The cluster list's and the detector page's filters. Empty strings mean "no filter".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClusterQuery {
    /// Case-insensitive substring of name, description or owner.
    pub search: Option<String>,
    pub team: Option<String>,
    pub environment: Option<String>,
    pub region: Option<String>,
    /// Only targets whose last report has a report at this level or worse.
    pub min_level: Option<Level>,
    /// Only targets with an open finding of this detector.
    pub detector: Option<String>,
    pub sort: ClusterSort,
    pub descending: bool,
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
}

impl Default for ClusterQuery {
    fn default() -> Self {
        ClusterQuery {
            search: None,
            team: None,
            environment: None,
            region: None,
            min_level: None,
            detector: None,
            sort: ClusterSort::Name,
            descending: false,
            page: 1,
            per_page: 50,
        }
    }
}

/// The most rows one page returns.
pub const MAX_PER_PAGE: u32 = 500;

/// A scan as the list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanBrief {
    pub id: ScanId,
    pub started_at: Timestamp,
    pub status: ScanState,
    pub error: Option<String>,
    pub counts: LevelCounts,
}

/// One row of the cluster list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterRow {
    pub target: TargetRow,
    /// The newest scan, failed or not.
    pub last_scan: Option<ScanBrief>,
    /// The newest complete or partial scan: what the counts come from.
    pub last_report: Option<ScanBrief>,
    /// `cluster_possibly_unused`'s score in the last report.
    pub unused_score: Option<i64>,
    /// The last [`TREND_SCANS`] scans, oldest first.
    pub trend: Vec<ScanBrief>,
}

/// How many scans the trend shows.
pub const TREND_SCANS: usize = 10;

/// One finding as the diff and detector pages show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingRow {
    pub target: String,
    pub fingerprint: String,
    pub detector: String,
    pub level: Level,
    /// `Kind/namespace/name [container]`; empty for a cluster-wide finding.
    pub object: String,
    pub message: String,
    pub first_seen_scan: ScanId,
    pub first_seen_at: Timestamp,
    pub last_seen_scan: ScanId,
    pub last_seen_at: Timestamp,
    pub resolved_scan: Option<ScanId>,
    pub resolved_at: Option<Timestamp>,
}

impl FindingRow {
    /// Whole days from first seen to `now`.
    pub fn open_days(&self, now: Timestamp) -> i64 {
        (now.as_millisecond() - self.first_seen_at.as_millisecond()).max(0) / 86_400_000
    }
}

/// What changed in one scan against the previous scan of its target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScanDiff {
    pub scan: ScanId,
    /// The target's complete or partial scan before this one; `None` for the first.
    pub previous: Option<ScanId>,
    /// First seen in this scan.
    pub new: Vec<FindingRow>,
    /// Seen before, gone in this scan.
    pub resolved: Vec<FindingRow>,
    /// Seen before and still there, with `open_days` counted to this scan's start.
    pub still_open: Vec<OpenFinding>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenFinding {
    pub finding: FindingRow,
    pub open_days: i64,
}

/// One target failing a detector.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DetectorFailureRow {
    pub target: TargetRow,
    /// The worst level of its open findings of the detector.
    pub level: Level,
    /// Its open findings of the detector.
    pub findings: i64,
    /// The earliest first-seen time among them.
    pub since: Timestamp,
}

/// What `/metrics` exports.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FleetMetrics {
    pub targets: Vec<TargetMetrics>,
    /// Open findings per target, detector and level.
    pub open_findings: Vec<OpenFindingCount>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetMetrics {
    pub target: String,
    pub scans_total: i64,
    pub scans_failed_total: i64,
    pub last_scan_status: Option<ScanState>,
    pub last_scan_duration_ms: Option<i64>,
    /// The end of the newest complete or partial scan.
    pub last_success_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenFindingCount {
    pub target: String,
    pub detector: String,
    pub level: Level,
    pub count: i64,
}

/// What [`crate::db::Store::apply_retention`] keeps. A target's newest scan is always kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    /// Keep at most this many scans per target.
    pub max_scans_per_target: Option<u32>,
    /// Delete scans that started more than this many days before `now`.
    pub max_age_days: Option<u32>,
}

/// The label values in use, for the list's filter choices.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LabelValues {
    pub teams: Vec<String>,
    pub environments: Vec<String>,
    pub regions: Vec<String>,
}
