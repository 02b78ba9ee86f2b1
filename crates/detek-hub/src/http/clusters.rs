//! The cluster list (the seed page: every cluster with its last scan, counts per level,
//! trend, `cluster_possibly_unused` score and a "View tests" button; searched, filtered,
//! sorted and paged by the database) and a cluster's page (latest scan, new and resolved
//! since the previous scan, history, and the latest report in the look of
//! `detek run -f html`).

use super::pages::ser;
use super::pages::{PageError, PageResult, ago, duration_ms, level_name, render, when};
use super::{AppState, Error, Reader};
use crate::db::{
    ClusterQuery, ClusterRow, ClusterSort, FindingRow, LevelCounts, MAX_PER_PAGE, ScanBrief,
    ScanId, ScanRow, ScanState, TargetRow,
};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use detek_core::Level;
use jiff::Timestamp;
use minijinja::context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(list))
        .route("/clusters/{name}", get(cluster))
        .route("/clusters/{name}/scans/{id}/report", get(report))
}

/// The list's query string, as typed in the filter form. Everything is text so a bad value
/// is answered with a sentence saying which, not a deserializer's message.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(default)]
pub(crate) struct ListParams {
    pub q: String,
    pub team: String,
    pub environment: String,
    pub region: String,
    pub level: String,
    pub detector: String,
    pub sort: String,
    pub page: String,
    pub per_page: String,
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

fn parse_level(s: &str) -> Result<Option<Level>, Error> {
    Ok(match s.trim() {
        "" | "any" => None,
        "fatal" => Some(Level::Fatal),
        "error" => Some(Level::Error),
        "warn" => Some(Level::Warn),
        "unknown" => Some(Level::Unknown),
        other => {
            return Err(Error::BadRequest(format!(
                "level must be fatal, error, warn or unknown, not {other:?}"
            )));
        }
    })
}

fn parse_sort(s: &str) -> Result<(ClusterSort, bool), Error> {
    let (key, descending) = match s.trim().strip_prefix('-') {
        Some(key) => (key, true),
        None => (s.trim(), false),
    };
    let sort = match key {
        "" | "name" => ClusterSort::Name,
        "last_scan" => ClusterSort::LastScan,
        "severity" => ClusterSort::Severity,
        "findings" => ClusterSort::Findings,
        "unused" => ClusterSort::Unused,
        other => {
            return Err(Error::BadRequest(format!(
                "sort must be name, last_scan, severity, findings or unused (with - for descending), not {other:?}"
            )));
        }
    };
    Ok((sort, descending))
}

fn parse_number(name: &str, s: &str, default: u32, max: u32) -> Result<u32, Error> {
    if s.trim().is_empty() {
        return Ok(default);
    }
    match s.trim().parse::<u32>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(Error::BadRequest(format!(
            "{name} must be a whole number from 1 to {max}, not {s:?}"
        ))),
    }
}

impl ListParams {
    pub(crate) fn query(&self) -> Result<ClusterQuery, Error> {
        let (sort, descending) = parse_sort(&self.sort)?;
        Ok(ClusterQuery {
            search: non_empty(&self.q),
            team: non_empty(&self.team),
            environment: non_empty(&self.environment),
            region: non_empty(&self.region),
            min_level: parse_level(&self.level)?,
            detector: non_empty(&self.detector),
            sort,
            descending,
            page: parse_number("page", &self.page, 1, u32::MAX)?,
            per_page: parse_number("per_page", &self.per_page, 50, MAX_PER_PAGE)?,
        })
    }

    fn filtered(&self) -> bool {
        [
            &self.q,
            &self.team,
            &self.environment,
            &self.region,
            &self.level,
            &self.detector,
        ]
        .iter()
        .any(|s| !s.trim().is_empty())
    }

    /// `path?…` with these parameters (empty ones left out).
    pub(crate) fn url(&self, path: &str) -> String {
        let pairs: Vec<(&str, &str)> = [
            ("q", &self.q),
            ("team", &self.team),
            ("environment", &self.environment),
            ("region", &self.region),
            ("level", &self.level),
            ("detector", &self.detector),
            ("sort", &self.sort),
            ("page", &self.page),
            ("per_page", &self.per_page),
        ]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| (k, v.as_str()))
        .collect();
        if pairs.is_empty() {
            return path.to_string();
        }
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        format!("{path}?{query}")
    }

    fn with_page(&self, page: u64) -> ListParams {
        ListParams {
            page: if page <= 1 {
                String::new()
            } else {
                page.to_string()
            },
            ..self.clone()
        }
    }
}

/// Page numbers and the links to the previous and next pages.
#[derive(Serialize)]
pub(crate) struct Pager<T> {
    pub rows: Vec<T>,
    pub total: u64,
    pub number: u64,
    pub pages: u64,
    pub prev: Option<String>,
    pub next: Option<String>,
}

pub(crate) fn pager<T>(
    rows: Vec<T>,
    total: u64,
    page: u32,
    per_page: u32,
    params: &ListParams,
    path: &str,
) -> Pager<T> {
    let pages = total.div_ceil(u64::from(per_page.max(1))).max(1);
    let number = u64::from(page);
    Pager {
        rows,
        total,
        number,
        pages,
        prev: (number > 1).then(|| params.with_page((number - 1).min(pages)).url(path)),
        next: (number < pages).then(|| params.with_page(number + 1).url(path)),
    }
}

/// The level counts a page shows: detector reports per level.
#[derive(Serialize)]
struct Counts {
    fatal: i64,
    error: i64,
    warn: i64,
    unknown: i64,
}

impl From<&LevelCounts> for Counts {
    fn from(c: &LevelCounts) -> Self {
        Counts {
            fatal: c.fatal,
            error: c.error,
            warn: c.warn,
            unknown: c.unknown,
        }
    }
}

fn worst(c: &LevelCounts) -> &'static str {
    if c.fatal > 0 {
        "fatal"
    } else if c.error > 0 {
        "error"
    } else if c.warn > 0 {
        "warn"
    } else if c.unknown > 0 {
        "unknown"
    } else {
        "normal"
    }
}

/// One bar of a trend: the unsuppressed findings of a scan, coloured by its worst level (a
/// scan that saw nothing is a flat grey mark, not a clean bill of health).
#[derive(Serialize)]
struct TrendPoint {
    total: i64,
    worst: &'static str,
}

fn trend_point(scan: &ScanBrief) -> TrendPoint {
    if matches!(scan.status, ScanState::Failed | ScanState::NothingCollected) {
        return TrendPoint {
            total: 0,
            worst: "failed",
        };
    }
    TrendPoint {
        total: scan.counts.findings,
        worst: worst(&scan.counts),
    }
}

fn labels(t: &TargetRow) -> BTreeMap<&'static str, &str> {
    [
        ("team", t.team.as_str()),
        ("environment", t.environment.as_str()),
        ("region", t.region.as_str()),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .collect()
}

#[derive(Serialize)]
struct ClusterView<'a> {
    name: &'a str,
    description: &'a str,
    owner: &'a str,
    labels: BTreeMap<&'static str, &'a str>,
    last_scan: Option<String>,
    last_scan_text: Option<String>,
    last_scan_epoch: i64,
    last_scan_ago: String,
    last_status: &'static str,
    last_error: &'a str,
    counts: Counts,
    trend: Vec<TrendPoint>,
    unused_score: Option<i64>,
}

fn cluster_view(row: &ClusterRow, now: Timestamp) -> ClusterView<'_> {
    let last = row.last_scan.as_ref();
    ClusterView {
        name: &row.target.name,
        description: &row.target.description,
        owner: &row.target.owner,
        labels: labels(&row.target),
        last_scan: last.map(|s| s.started_at.to_string()),
        last_scan_text: last.map(|s| when(s.started_at)),
        last_scan_epoch: last.map_or(0, |s| s.started_at.as_second()),
        last_scan_ago: last.map_or_else(String::new, |s| ago(s.started_at, now)),
        last_status: last.map_or("", |s| s.status.as_str()),
        last_error: last.and_then(|s| s.error.as_deref()).unwrap_or(""),
        counts: row
            .last_report
            .as_ref()
            .map_or(Counts::from(&LevelCounts::default()), |s| {
                Counts::from(&s.counts)
            }),
        trend: row.trend.iter().map(trend_point).collect(),
        unused_score: row.unused_score,
    }
}

/// The columns of the list: (sort key, title, class).
const COLUMNS: [(&str, &str, &str); 10] = [
    ("name", "Cluster", ""),
    ("", "Labels", ""),
    ("last_scan", "Last scan", ""),
    ("severity", "Fatal", "num"),
    ("", "Error", "num"),
    ("", "Warn", "num"),
    ("", "Unknown", "num"),
    ("findings", "Trend", ""),
    ("unused", "Possibly unused", "num"),
    ("", "", ""),
];

/// `GET /`: the cluster list.
async fn list(
    _reader: Reader,
    State(state): State<AppState>,
    Query(params): Query<ListParams>,
) -> PageResult {
    let query = params.query()?;
    let page = state.store.cluster_list(&query).await?;
    let label_choices = state.store.label_values().await?;
    let now = Timestamp::now();
    let sort_links: BTreeMap<&str, String> = COLUMNS
        .iter()
        .filter(|(key, _, _)| !key.is_empty())
        .map(|(key, _, _)| {
            let toggled = if params.sort.trim() == *key {
                format!("-{key}")
            } else {
                key.to_string()
            };
            let link = ListParams {
                sort: toggled,
                page: String::new(),
                ..params.clone()
            };
            (*key, link.url("/"))
        })
        .collect();
    let rows: Vec<ClusterView> = page.items.iter().map(|r| cluster_view(r, now)).collect();
    let pager = pager(rows, page.total, page.page, page.per_page, &params, "/");
    Ok(render(
        "clusters.html",
        StatusCode::OK,
        context! {
            query => ser(&params),
            filtered => params.filtered(),
            label_choices => [
                ("team", label_choices.teams),
                ("environment", label_choices.environments),
                ("region", label_choices.regions),
            ],
            columns => COLUMNS,
            sort_links => sort_links,
            page => ser(&pager),
            db_unreachable => false,
        },
    ))
}

#[derive(Serialize)]
struct ScanView {
    id: i64,
    started_at: String,
    started_at_rfc3339: String,
    ago: String,
    status: &'static str,
    status_class: &'static str,
    error: Option<String>,
    duration: Option<String>,
    counts: Counts,
    findings: i64,
    has_report: bool,
}

fn status_class(s: ScanState) -> &'static str {
    match s {
        ScanState::Complete => "ok",
        ScanState::Partial => "partial",
        ScanState::NothingCollected | ScanState::Failed => "failed",
    }
}

fn status_words(s: ScanState) -> &'static str {
    match s {
        ScanState::Complete => "complete",
        ScanState::Partial => "partial",
        ScanState::NothingCollected => "nothing collected",
        ScanState::Failed => "failed",
    }
}

fn scan_view(s: &ScanRow, now: Timestamp) -> ScanView {
    ScanView {
        id: s.id.0,
        started_at: when(s.started_at),
        started_at_rfc3339: s.started_at.to_string(),
        ago: ago(s.started_at, now),
        status: status_words(s.status),
        status_class: status_class(s.status),
        error: s.error.clone(),
        duration: (s.duration_ms > 0).then(|| duration_ms(s.duration_ms)),
        counts: Counts::from(&s.counts),
        findings: s.counts.findings,
        has_report: s.status != ScanState::Failed,
    }
}

#[derive(Serialize)]
struct FindingView<'a> {
    level: &'static str,
    detector: &'a str,
    object: &'a str,
    message: &'a str,
    open_for: String,
}

fn finding_view(f: &FindingRow, open_days: Option<i64>) -> FindingView<'_> {
    FindingView {
        level: level_name(f.level),
        detector: &f.detector,
        object: if f.object.is_empty() {
            "(cluster)"
        } else {
            &f.object
        },
        message: &f.message,
        open_for: match open_days {
            Some(1) => "1 day".to_string(),
            Some(n) => format!("{n} days"),
            None => String::new(),
        },
    }
}

/// How many scans the history table shows.
const HISTORY: u32 = 30;

/// `GET /clusters/{name}`: one cluster.
async fn cluster(
    _reader: Reader,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> PageResult {
    let store = &state.store;
    let target = store
        .target(&name)
        .await?
        .ok_or_else(|| Error::NotFound(format!("cluster {name:?}")))?;
    let scans = store.scans_of(&name, HISTORY).await?;
    let now = Timestamp::now();
    let latest_report = scans.iter().find(|s| s.status != ScanState::Failed);
    let diff = match latest_report {
        Some(s) => Some(store.diff(&name, s.id).await?),
        None => None,
    };
    let diff_view = diff.as_ref().map(|d| {
        context! {
            previous => d.previous.map(|p| p.0),
            new => ser(d.new.iter().map(|f| finding_view(f, None)).collect::<Vec<_>>()),
            resolved => ser(d.resolved.iter().map(|f| finding_view(f, None)).collect::<Vec<_>>()),
            open => ser(d.still_open.iter()
                .map(|o| finding_view(&o.finding, Some(o.open_days)))
                .collect::<Vec<_>>()),
        }
    });
    let latest = scans.first().map(|s| {
        let mut view = scan_view(s, now);
        // The report shown is the newest one there is, even when the newest scan failed.
        view.has_report = latest_report.is_some();
        view
    });
    Ok(render(
        "cluster.html",
        StatusCode::OK,
        context! {
            c => context! {
                name => target.name.clone(),
                description => target.description.clone(),
                owner => target.owner.clone(),
                labels => ser(labels(&target)),
            },
            latest => ser(&latest),
            diff => diff_view,
            history => ser(scans.iter().map(|s| scan_view(s, now)).collect::<Vec<_>>()),
            report_url => latest_report.map(|s| format!(
                "/clusters/{}/scans/{}/report",
                path_segment(&name),
                s.id
            )),
            db_unreachable => false,
        },
    ))
}

/// `name` as one URL path segment.
pub(crate) fn path_segment(name: &str) -> String {
    let encoded = serde_urlencoded::to_string([("", name)]).unwrap_or_default();
    // `=value`, with `+` for spaces (form encoding); a path wants `%20`.
    encoded.trim_start_matches('=').replace('+', "%20")
}

/// `GET /clusters/{name}/scans/{id}/report`: a stored scan's report, rendered by
/// detek-render exactly as `detek run -f html` writes it (its own Content-Security-Policy
/// inside); shown in the cluster page's frame.
async fn report(
    _reader: Reader,
    State(state): State<AppState>,
    Path((name, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let id: i64 = id
        .parse()
        .map_err(|_| Error::NotFound(format!("scan {id:?}")))?;
    let scan = state
        .store
        .scan(ScanId(id))
        .await?
        .filter(|s| s.row.target == name)
        .ok_or_else(|| Error::NotFound(format!("scan {id} of cluster {name:?}")))?;
    let Some(report) = scan.report else {
        return Err(Error::NotFound(format!("a report for scan {id} (the scan failed)")).into());
    };
    let mut response = Html(detek_render::html(&[report])).into_response();
    // The report's own policy (a meta element) allows its inline style and script by hash;
    // this one only lets the hub's own pages frame it.
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("frame-ancestors 'self'"),
    );
    Ok(response)
}
