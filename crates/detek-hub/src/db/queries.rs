//! Reads: what the pages, the API and `/metrics` show, each a few SQL statements.

use super::write::level_of_rank;
use super::{
    ClusterQuery, ClusterRow, ClusterSort, DbError, DetectorFailureRow, FindingRow, FleetMetrics,
    LabelValues, LevelCounts, MAX_PER_PAGE, OpenFinding, OpenFindingCount, Page, ScanBrief,
    ScanDiff, ScanId, ScanRow, ScanState, Store, StoredScan, TREND_SCANS, TargetMetrics, TargetRow,
    on_pool, timestamp,
};
use detek_core::Level;
use std::collections::HashMap;

const TARGET_COLUMNS: &str = "t.name, t.kind, t.locator, t.description, t.owner, t.team, \
     t.environment, t.region, t.created_at, t.updated_at";

const SCAN_COLUMNS: &str = "id, uuid, target, status, error, started_at, finished_at, \
     duration_ms, identity, fatal, error_count, warn, unknown, normal, findings, worst_rank, \
     unused_score";

const FINDING_COLUMNS: &str = "target, fingerprint, detector, level_rank, object, message, \
     first_seen_scan, first_seen_at, last_seen_scan, last_seen_at, resolved_scan, resolved_at";

#[derive(sqlx::FromRow)]
struct TargetFlat {
    name: String,
    kind: String,
    locator: String,
    description: String,
    owner: String,
    team: String,
    environment: String,
    region: String,
    created_at: i64,
    updated_at: i64,
}

impl TargetFlat {
    fn into_row(self) -> Result<TargetRow, DbError> {
        Ok(TargetRow {
            name: self.name,
            kind: self.kind,
            locator: self.locator,
            description: self.description,
            owner: self.owner,
            team: self.team,
            environment: self.environment,
            region: self.region,
            created_at: timestamp(self.created_at)?,
            updated_at: timestamp(self.updated_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct ScanFlat {
    id: i64,
    uuid: String,
    target: String,
    status: String,
    error: Option<String>,
    started_at: i64,
    finished_at: i64,
    duration_ms: i64,
    identity: String,
    fatal: i64,
    error_count: i64,
    warn: i64,
    unknown: i64,
    normal: i64,
    findings: i64,
    worst_rank: i64,
    unused_score: Option<i64>,
}

fn state(s: &str) -> Result<ScanState, DbError> {
    ScanState::parse(s).ok_or_else(|| DbError::Corrupt(format!("scan status {s:?}")))
}

impl ScanFlat {
    fn into_row(self) -> Result<ScanRow, DbError> {
        Ok(ScanRow {
            id: ScanId(self.id),
            uuid: self
                .uuid
                .parse()
                .map_err(|e| DbError::Corrupt(format!("scan uuid {:?}: {e}", self.uuid)))?,
            target: self.target,
            status: state(&self.status)?,
            error: self.error,
            started_at: timestamp(self.started_at)?,
            finished_at: timestamp(self.finished_at)?,
            duration_ms: self.duration_ms,
            identity: self.identity,
            counts: LevelCounts {
                fatal: self.fatal,
                error: self.error_count,
                warn: self.warn,
                unknown: self.unknown,
                normal: self.normal,
                findings: self.findings,
            },
            worst: level_of_rank(self.worst_rank)?,
            unused_score: self.unused_score,
        })
    }
}

#[derive(sqlx::FromRow)]
struct FindingFlat {
    target: String,
    fingerprint: String,
    detector: String,
    level_rank: i64,
    object: String,
    message: String,
    first_seen_scan: i64,
    first_seen_at: i64,
    last_seen_scan: i64,
    last_seen_at: i64,
    resolved_scan: Option<i64>,
    resolved_at: Option<i64>,
}

impl FindingFlat {
    fn into_row(self) -> Result<FindingRow, DbError> {
        Ok(FindingRow {
            target: self.target,
            fingerprint: self.fingerprint,
            detector: self.detector,
            level: level_of_rank(self.level_rank)?,
            object: self.object,
            message: self.message,
            first_seen_scan: ScanId(self.first_seen_scan),
            first_seen_at: timestamp(self.first_seen_at)?,
            last_seen_scan: ScanId(self.last_seen_scan),
            last_seen_at: timestamp(self.last_seen_at)?,
            resolved_scan: self.resolved_scan.map(ScanId),
            resolved_at: self.resolved_at.map(timestamp).transpose()?,
        })
    }
}

/// A scan as the list shows it, from columns prefixed `p_`.
#[derive(sqlx::FromRow)]
struct BriefFlat {
    id: Option<i64>,
    started_at: Option<i64>,
    status: Option<String>,
    error: Option<String>,
    fatal: Option<i64>,
    error_count: Option<i64>,
    warn: Option<i64>,
    unknown: Option<i64>,
    normal: Option<i64>,
    findings: Option<i64>,
}

impl BriefFlat {
    fn into_brief(self) -> Result<Option<ScanBrief>, DbError> {
        let (Some(id), Some(started_at), Some(status)) = (self.id, self.started_at, self.status)
        else {
            return Ok(None);
        };
        Ok(Some(ScanBrief {
            id: ScanId(id),
            started_at: timestamp(started_at)?,
            status: state(&status)?,
            error: self.error,
            counts: LevelCounts {
                fatal: self.fatal.unwrap_or(0),
                error: self.error_count.unwrap_or(0),
                warn: self.warn.unwrap_or(0),
                unknown: self.unknown.unwrap_or(0),
                normal: self.normal.unwrap_or(0),
                findings: self.findings.unwrap_or(0),
            },
        }))
    }
}

fn brief_columns(alias: &str, prefix: &str) -> String {
    [
        "id",
        "started_at",
        "status",
        "error",
        "fatal",
        "error_count",
        "warn",
        "unknown",
        "normal",
        "findings",
    ]
    .iter()
    .map(|c| format!("{alias}.{c} AS {prefix}{c}"))
    .collect::<Vec<_>>()
    .join(", ")
}

#[derive(sqlx::FromRow)]
struct ClusterFlat {
    #[sqlx(flatten)]
    target: TargetFlat,
    ls_id: Option<i64>,
    ls_started_at: Option<i64>,
    ls_status: Option<String>,
    ls_error: Option<String>,
    ls_fatal: Option<i64>,
    ls_error_count: Option<i64>,
    ls_warn: Option<i64>,
    ls_unknown: Option<i64>,
    ls_normal: Option<i64>,
    ls_findings: Option<i64>,
    lr_id: Option<i64>,
    lr_started_at: Option<i64>,
    lr_status: Option<String>,
    lr_error: Option<String>,
    lr_fatal: Option<i64>,
    lr_error_count: Option<i64>,
    lr_warn: Option<i64>,
    lr_unknown: Option<i64>,
    lr_normal: Option<i64>,
    lr_findings: Option<i64>,
    lr_unused_score: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct TrendFlat {
    target: String,
    #[sqlx(flatten)]
    brief: BriefFlat,
}

#[derive(sqlx::FromRow)]
struct FailureFlat {
    #[sqlx(flatten)]
    target: TargetFlat,
    worst_rank: i64,
    open_findings: i64,
    since: i64,
}

#[derive(sqlx::FromRow)]
struct MetricsFlat {
    name: String,
    scans_total: i64,
    scans_failed_total: i64,
    last_status: Option<String>,
    last_duration_ms: Option<i64>,
    last_success_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct OpenCountFlat {
    target: String,
    detector: String,
    level_rank: i64,
    open_findings: i64,
}

/// A bound value of a query built at run time.
enum Bind {
    Text(String),
    Int(i64),
}

/// WHERE clauses over `targets t` (and the last report `lr`), with their values.
struct Filter {
    clauses: Vec<String>,
    binds: Vec<Bind>,
}

impl Filter {
    fn new() -> Filter {
        Filter {
            clauses: Vec::new(),
            binds: Vec::new(),
        }
    }

    /// The next placeholder, bound to `value`.
    fn bind(&mut self, value: Bind) -> String {
        self.binds.push(value);
        format!("${}", self.binds.len())
    }

    fn targets(&mut self, q: &ClusterQuery) {
        if let Some(search) = q.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let pattern = format!("%{}%", like_escape(&search.to_lowercase()));
            let p = self.bind(Bind::Text(pattern));
            self.clauses.push(format!(
                "(LOWER(t.name) LIKE {p} ESCAPE '\\' OR LOWER(t.description) LIKE {p} ESCAPE '\\' \
                 OR LOWER(t.owner) LIKE {p} ESCAPE '\\')"
            ));
        }
        for (column, value) in [
            ("team", &q.team),
            ("environment", &q.environment),
            ("region", &q.region),
        ] {
            if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                let p = self.bind(Bind::Text(value.to_string()));
                self.clauses.push(format!("t.{column} = {p}"));
            }
        }
    }

    fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }
}

fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn rank(level: Level) -> i64 {
    super::write::level_rank(level)
}

/// Page number and size, clamped: 1-based page, 1..=MAX_PER_PAGE rows.
fn paging(q: &ClusterQuery) -> (u32, u32, i64) {
    let page = q.page.max(1);
    let per_page = q.per_page.clamp(1, MAX_PER_PAGE);
    let offset = i64::from(page - 1) * i64::from(per_page);
    (page, per_page, offset)
}

/// Runs a query built at run time with its binds and maps every row.
macro_rules! fetch_all_as {
    ($pool:expr, $ty:ty, $sql:expr, $binds:expr) => {{
        let mut q = sqlx::query_as::<_, $ty>(sqlx::AssertSqlSafe($sql));
        for b in $binds {
            q = match b {
                Bind::Text(s) => q.bind(s.clone()),
                Bind::Int(i) => q.bind(*i),
            };
        }
        q.fetch_all($pool).await?
    }};
}

macro_rules! fetch_count {
    ($pool:expr, $sql:expr, $binds:expr) => {{
        let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe($sql));
        for b in $binds {
            q = match b {
                Bind::Text(s) => q.bind(s.clone()),
                Bind::Int(i) => q.bind(*i),
            };
        }
        q.fetch_one($pool).await?
    }};
}

impl Store {
    pub async fn target(&self, name: &str) -> Result<Option<TargetRow>, DbError> {
        let row: Option<TargetFlat> = on_pool!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {TARGET_COLUMNS} FROM targets t WHERE t.name = $1"
            )))
            .bind(name)
            .fetch_optional(pool)
            .await?
        });
        row.map(TargetFlat::into_row).transpose()
    }

    /// Every registered target, by name.
    pub async fn targets(&self) -> Result<Vec<TargetRow>, DbError> {
        let rows: Vec<TargetFlat> = on_pool!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {TARGET_COLUMNS} FROM targets t ORDER BY t.name"
            )))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(TargetFlat::into_row).collect()
    }

    /// One scan with its ReportList (none for a failed scan).
    pub async fn scan(&self, id: ScanId) -> Result<Option<StoredScan>, DbError> {
        #[derive(sqlx::FromRow)]
        struct WithReport {
            #[sqlx(flatten)]
            scan: ScanFlat,
            report: Option<Vec<u8>>,
        }
        let row: Option<WithReport> = on_pool!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {SCAN_COLUMNS}, report FROM scans WHERE id = $1"
            )))
            .bind(id.0)
            .fetch_optional(pool)
            .await?
        });
        let Some(row) = row else { return Ok(None) };
        let report = row
            .report
            .map(|gz| {
                serde_json::from_reader(flate2::read::GzDecoder::new(gz.as_slice()))
                    .map_err(|e| DbError::Corrupt(format!("report of scan {id}: {e}")))
            })
            .transpose()?;
        Ok(Some(StoredScan {
            row: row.scan.into_row()?,
            report,
        }))
    }

    /// The distinct non-empty teams, environments and regions of the targets, sorted.
    pub async fn label_values(&self) -> Result<LabelValues, DbError> {
        let mut values = LabelValues::default();
        for (column, out) in [
            ("team", &mut values.teams),
            ("environment", &mut values.environments),
            ("region", &mut values.regions),
        ] {
            let sql = format!(
                "SELECT DISTINCT {column} FROM targets WHERE {column} <> '' ORDER BY {column}"
            );
            *out = on_pool!(self, |pool| {
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .fetch_all(pool)
                    .await?
            });
        }
        Ok(values)
    }

    /// A scan's row found by its UUID.
    pub async fn scan_by_uuid(&self, uuid: uuid::Uuid) -> Result<Option<ScanRow>, DbError> {
        let row: Option<ScanFlat> = on_pool!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {SCAN_COLUMNS} FROM scans WHERE uuid = $1"
            )))
            .bind(uuid.to_string())
            .fetch_optional(pool)
            .await?
        });
        row.map(ScanFlat::into_row).transpose()
    }

    /// A target's newest scans, newest first.
    pub async fn scans_of(&self, target: &str, limit: u32) -> Result<Vec<ScanRow>, DbError> {
        let rows: Vec<ScanFlat> = on_pool!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {SCAN_COLUMNS} FROM scans WHERE target = $1 \
                 ORDER BY started_at DESC, id DESC LIMIT $2"
            )))
            .bind(target)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(ScanFlat::into_row).collect()
    }

    /// How many scans are stored (all targets).
    pub async fn scan_count(&self) -> Result<u64, DbError> {
        let n: i64 = on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM scans")
                .fetch_one(pool)
                .await?
        });
        Ok(n.max(0) as u64)
    }

    /// The cluster list: filtered, sorted and paged in SQL, with each row's last scan, last
    /// report, unused score and trend.
    pub async fn cluster_list(&self, q: &ClusterQuery) -> Result<Page<ClusterRow>, DbError> {
        let (page, per_page, offset) = paging(q);
        let mut filter = Filter::new();
        filter.targets(q);
        if let Some(level) = q.min_level {
            let p = filter.bind(Bind::Int(rank(level)));
            filter.clauses.push(format!("lr.worst_rank >= {p}"));
        }
        if let Some(detector) = q.detector.as_deref().filter(|d| !d.is_empty()) {
            let p = filter.bind(Bind::Text(detector.to_string()));
            filter.clauses.push(format!(
                "EXISTS (SELECT 1 FROM findings f WHERE f.target = t.name \
                 AND f.detector = {p} AND f.resolved_scan IS NULL)"
            ));
        }
        let from = "FROM targets t LEFT JOIN scans ls ON ls.id = t.last_scan_id \
                    LEFT JOIN scans lr ON lr.id = t.last_report_id";
        let direction = if q.descending { "DESC" } else { "ASC" };
        let order = match q.sort {
            ClusterSort::Name => format!("t.name {direction}"),
            ClusterSort::LastScan => {
                format!("COALESCE(ls.started_at, -1) {direction}, t.name ASC")
            }
            ClusterSort::Severity => format!(
                "COALESCE(lr.fatal, -1) {direction}, COALESCE(lr.error_count, -1) {direction}, \
                 COALESCE(lr.warn, -1) {direction}, t.name ASC"
            ),
            ClusterSort::Findings => {
                format!("COALESCE(lr.findings, -1) {direction}, t.name ASC")
            }
            ClusterSort::Unused => {
                format!("COALESCE(lr.unused_score, -1) {direction}, t.name ASC")
            }
        };
        let where_sql = filter.sql();
        let count_sql = format!("SELECT COUNT(*) {from}{where_sql}");
        let limit = filter.bind(Bind::Int(i64::from(per_page)));
        let off = filter.bind(Bind::Int(offset));
        let list_sql = format!(
            "SELECT {TARGET_COLUMNS}, {}, {}, lr.unused_score AS lr_unused_score \
             {from}{where_sql} ORDER BY {order} LIMIT {limit} OFFSET {off}",
            brief_columns("ls", "ls_"),
            brief_columns("lr", "lr_"),
        );
        let count_binds = &filter.binds[..filter.binds.len() - 2];
        let (total, rows): (i64, Vec<ClusterFlat>) = on_pool!(self, |pool| {
            let total = fetch_count!(pool, count_sql, count_binds);
            let rows = fetch_all_as!(pool, ClusterFlat, list_sql, &filter.binds);
            (total, rows)
        });
        let names: Vec<String> = rows.iter().map(|r| r.target.name.clone()).collect();
        let mut trends = self.trends(&names).await?;
        let mut items = Vec::with_capacity(rows.len());
        for r in rows {
            let last_scan = BriefFlat {
                id: r.ls_id,
                started_at: r.ls_started_at,
                status: r.ls_status,
                error: r.ls_error,
                fatal: r.ls_fatal,
                error_count: r.ls_error_count,
                warn: r.ls_warn,
                unknown: r.ls_unknown,
                normal: r.ls_normal,
                findings: r.ls_findings,
            }
            .into_brief()?;
            let last_report = BriefFlat {
                id: r.lr_id,
                started_at: r.lr_started_at,
                status: r.lr_status,
                error: r.lr_error,
                fatal: r.lr_fatal,
                error_count: r.lr_error_count,
                warn: r.lr_warn,
                unknown: r.lr_unknown,
                normal: r.lr_normal,
                findings: r.lr_findings,
            }
            .into_brief()?;
            let trend = trends.remove(&r.target.name).unwrap_or_default();
            items.push(ClusterRow {
                target: r.target.into_row()?,
                last_scan,
                last_report,
                unused_score: r.lr_unused_score,
                trend,
            });
        }
        Ok(Page {
            items,
            total: total.max(0) as u64,
            page,
            per_page,
        })
    }

    /// The last [`TREND_SCANS`] scans of each of `names`, oldest first.
    async fn trends(&self, names: &[String]) -> Result<HashMap<String, Vec<ScanBrief>>, DbError> {
        let mut out: HashMap<String, Vec<ScanBrief>> = HashMap::new();
        if names.is_empty() {
            return Ok(out);
        }
        let mut filter = Filter::new();
        let placeholders: Vec<String> = names
            .iter()
            .map(|n| filter.bind(Bind::Text(n.clone())))
            .collect();
        let n = filter.bind(Bind::Int(TREND_SCANS as i64));
        let sql = format!(
            "SELECT target, {} FROM (SELECT s.*, ROW_NUMBER() OVER (PARTITION BY target \
             ORDER BY started_at DESC, id DESC) AS n FROM scans s WHERE target IN ({})) s \
             WHERE n <= {n} ORDER BY target, started_at, id",
            brief_columns("s", ""),
            placeholders.join(", ")
        );
        let rows: Vec<TrendFlat> = on_pool!(self, |pool| fetch_all_as!(
            pool,
            TrendFlat,
            sql,
            &filter.binds
        ));
        for row in rows {
            if let Some(brief) = row.brief.into_brief()? {
                out.entry(row.target).or_default().push(brief);
            }
        }
        Ok(out)
    }

    /// What changed in `scan` (of `target`) against the target's previous scan with a
    /// report: findings first seen in it, findings it resolved, and those still open with the
    /// days since first seen (counted to the scan's start).
    pub async fn diff(&self, target: &str, scan: ScanId) -> Result<ScanDiff, DbError> {
        let this: Option<(i64, String)> = on_pool!(self, |pool| {
            sqlx::query_as("SELECT started_at, status FROM scans WHERE id = $1 AND target = $2")
                .bind(scan.0)
                .bind(target)
                .fetch_optional(pool)
                .await?
        });
        let Some((started_at, _status)) = this else {
            return Err(DbError::NotFound(format!(
                "scan {scan} of target {target:?}"
            )));
        };
        let (previous, new, resolved, open): (
            Option<i64>,
            Vec<FindingFlat>,
            Vec<FindingFlat>,
            Vec<FindingFlat>,
        ) = on_pool!(self, |pool| {
            let previous: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM scans WHERE target = $1 AND status IN ('complete', 'partial') \
                 AND id <> $2 \
                 AND (started_at < $3 OR (started_at = $3 AND id < $2)) \
                 ORDER BY started_at DESC, id DESC LIMIT 1",
            )
            .bind(target)
            .bind(scan.0)
            .bind(started_at)
            .fetch_optional(pool)
            .await?;
            let new = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {FINDING_COLUMNS} FROM findings WHERE target = $1 \
                 AND first_seen_scan = $2 ORDER BY level_rank DESC, detector, object, fingerprint"
            )))
            .bind(target)
            .bind(scan.0)
            .fetch_all(pool)
            .await?;
            let resolved = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {FINDING_COLUMNS} FROM findings WHERE target = $1 \
                 AND resolved_scan = $2 ORDER BY level_rank DESC, detector, object, fingerprint"
            )))
            .bind(target)
            .bind(scan.0)
            .fetch_all(pool)
            .await?;
            let open = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {FINDING_COLUMNS} FROM findings WHERE target = $1 \
                 AND first_seen_scan < $2 AND (resolved_scan IS NULL OR resolved_scan > $2) \
                 ORDER BY first_seen_at, level_rank DESC, detector, object, fingerprint"
            )))
            .bind(target)
            .bind(scan.0)
            .fetch_all(pool)
            .await?;
            (previous, new, resolved, open)
        });
        let started_at = timestamp(started_at)?;
        let still_open = open
            .into_iter()
            .map(|f| {
                let finding = f.into_row()?;
                Ok(OpenFinding {
                    open_days: finding.open_days(started_at),
                    finding,
                })
            })
            .collect::<Result<_, DbError>>()?;
        Ok(ScanDiff {
            scan,
            previous: previous.map(ScanId),
            new: new
                .into_iter()
                .map(FindingFlat::into_row)
                .collect::<Result<_, _>>()?,
            resolved: resolved
                .into_iter()
                .map(FindingFlat::into_row)
                .collect::<Result<_, _>>()?,
            still_open,
        })
    }

    /// The open findings of a target, worst first.
    pub async fn open_findings(&self, target: &str) -> Result<Vec<FindingRow>, DbError> {
        let rows: Vec<FindingFlat> = on_pool!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {FINDING_COLUMNS} FROM findings WHERE target = $1 \
                 AND resolved_scan IS NULL ORDER BY level_rank DESC, detector, object, fingerprint"
            )))
            .bind(target)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(FindingFlat::into_row).collect()
    }

    /// The targets with open findings of `detector` (filtered by `q`'s search and labels),
    /// worst level first, then longest open.
    pub async fn detector_failures(
        &self,
        detector: &str,
        q: &ClusterQuery,
    ) -> Result<Page<DetectorFailureRow>, DbError> {
        let (page, per_page, offset) = paging(q);
        let mut filter = Filter::new();
        let d = filter.bind(Bind::Text(detector.to_string()));
        filter
            .clauses
            .push(format!("f.detector = {d} AND f.resolved_scan IS NULL"));
        filter.targets(q);
        if let Some(level) = q.min_level {
            let p = filter.bind(Bind::Int(rank(level)));
            filter.clauses.push(format!("f.level_rank >= {p}"));
        }
        let where_sql = filter.sql();
        let from = "FROM findings f JOIN targets t ON t.name = f.target";
        let count_sql = format!("SELECT COUNT(DISTINCT f.target) {from}{where_sql}");
        let limit = filter.bind(Bind::Int(i64::from(per_page)));
        let off = filter.bind(Bind::Int(offset));
        let list_sql = format!(
            "SELECT {TARGET_COLUMNS}, MAX(f.level_rank) AS worst_rank, \
             COUNT(*) AS open_findings, MIN(f.first_seen_at) AS since {from}{where_sql} \
             GROUP BY {TARGET_COLUMNS} ORDER BY worst_rank DESC, since ASC, t.name ASC \
             LIMIT {limit} OFFSET {off}"
        );
        let count_binds = &filter.binds[..filter.binds.len() - 2];
        let (total, rows): (i64, Vec<FailureFlat>) = on_pool!(self, |pool| {
            let total = fetch_count!(pool, count_sql, count_binds);
            let rows = fetch_all_as!(pool, FailureFlat, list_sql, &filter.binds);
            (total, rows)
        });
        let items = rows
            .into_iter()
            .map(|r| {
                Ok(DetectorFailureRow {
                    target: r.target.into_row()?,
                    level: level_of_rank(r.worst_rank)?,
                    findings: r.open_findings,
                    since: timestamp(r.since)?,
                })
            })
            .collect::<Result<_, DbError>>()?;
        Ok(Page {
            items,
            total: total.max(0) as u64,
            page,
            per_page,
        })
    }

    /// Per-target scan counts and last results, and open findings per target, detector and
    /// level: what `/metrics` exports.
    pub async fn metrics(&self) -> Result<FleetMetrics, DbError> {
        let (targets, open): (Vec<MetricsFlat>, Vec<OpenCountFlat>) = on_pool!(self, |pool| {
            let targets = sqlx::query_as(
                "SELECT t.name AS name, \
                 (SELECT COUNT(*) FROM scans s WHERE s.target = t.name) AS scans_total, \
                 (SELECT COUNT(*) FROM scans s WHERE s.target = t.name AND s.status = 'failed') \
                   AS scans_failed_total, \
                 ls.status AS last_status, ls.duration_ms AS last_duration_ms, \
                 lr.finished_at AS last_success_at \
                 FROM targets t LEFT JOIN scans ls ON ls.id = t.last_scan_id \
                 LEFT JOIN scans lr ON lr.id = t.last_report_id ORDER BY t.name",
            )
            .fetch_all(pool)
            .await?;
            let open = sqlx::query_as(
                "SELECT target, detector, level_rank, COUNT(*) AS open_findings FROM findings \
                 WHERE resolved_scan IS NULL GROUP BY target, detector, level_rank \
                 ORDER BY target, detector, level_rank DESC",
            )
            .fetch_all(pool)
            .await?;
            (targets, open)
        });
        Ok(FleetMetrics {
            targets: targets
                .into_iter()
                .map(|t| {
                    Ok(TargetMetrics {
                        target: t.name,
                        scans_total: t.scans_total,
                        scans_failed_total: t.scans_failed_total,
                        last_scan_status: t.last_status.as_deref().map(state).transpose()?,
                        last_scan_duration_ms: t.last_duration_ms,
                        last_success_at: t.last_success_at.map(timestamp).transpose()?,
                    })
                })
                .collect::<Result<_, DbError>>()?,
            open_findings: open
                .into_iter()
                .map(|o| {
                    Ok(OpenFindingCount {
                        target: o.target,
                        detector: o.detector,
                        level: level_of_rank(o.level_rank)?,
                        count: o.open_findings,
                    })
                })
                .collect::<Result<_, DbError>>()?,
        })
    }
}
