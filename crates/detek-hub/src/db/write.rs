//! Writes: targets, scans (idempotent by UUID, one transaction each) and retention.

use super::{DbError, NewScan, Retention, ScanId, ScanOutcome, ScanState, Store, millis, on_pool};
use crate::targets::TargetSpec;
use detek_core::{Level, ReportList, ReportResult};
use std::collections::BTreeMap;

/// The detector whose score the cluster list shows.
const UNUSED_DETECTOR: &str = "cluster_possibly_unused";

/// How many finding rows one INSERT carries (13 parameters each, well under both databases'
/// parameter limits).
const FINDINGS_PER_INSERT: usize = 200;

pub(crate) fn level_rank(level: Level) -> i64 {
    match level {
        Level::Normal => 0,
        Level::Unknown => 1,
        Level::Warn => 2,
        Level::Error => 3,
        Level::Fatal => 4,
    }
}

pub(crate) fn level_of_rank(rank: i64) -> Result<Level, DbError> {
    Ok(match rank {
        0 => Level::Normal,
        1 => Level::Unknown,
        2 => Level::Warn,
        3 => Level::Error,
        4 => Level::Fatal,
        other => return Err(DbError::Corrupt(format!("level rank {other}"))),
    })
}

/// The `cluster_possibly_unused` score of a report list: from its finding ("…: 4 of 5
/// signs …") or, below the reporting threshold, its attachment ("Score 2 of 5 …").
pub fn unused_score(list: &ReportList) -> Option<i64> {
    let report = list.reports.iter().find(|r| r.id == UNUSED_DETECTOR)?;
    let text = match report.result {
        ReportResult::Findings => report.findings.first()?.message.as_str(),
        ReportResult::Passed => report
            .attachment
            .iter()
            .find(|a| a.description.starts_with("Score "))?
            .description
            .as_str(),
        _ => return None,
    };
    let digits: String = text
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Why nothing could be collected: every collector error, one per line.
fn collector_errors(list: &ReportList) -> String {
    let errors: Vec<&str> = list
        .collectors
        .iter()
        .filter_map(|c| c.error.as_deref())
        .collect();
    if errors.is_empty() {
        "nothing could be collected".to_string()
    } else {
        errors.join("\n")
    }
}

/// One finding row to write.
struct FindingValues<'a> {
    fingerprint: &'a str,
    detector: &'a str,
    level: Level,
    object: String,
    message: &'a str,
}

/// The unsuppressed findings of a report list by fingerprint (one row each; a fingerprint seen
/// twice keeps its worst level), and the detectors that judged in it: only their findings
/// that are gone count as resolved (a detector that could not run resolves nothing).
fn finding_values(list: &ReportList) -> (Vec<FindingValues<'_>>, Vec<&str>) {
    let mut by_fingerprint: BTreeMap<&str, FindingValues<'_>> = BTreeMap::new();
    let mut judged = Vec::new();
    for report in &list.reports {
        if matches!(
            report.result,
            ReportResult::Findings | ReportResult::Passed | ReportResult::NothingToCheck
        ) {
            judged.push(report.id.as_str());
        }
        for finding in report.active_findings() {
            if finding.fingerprint.is_empty() {
                continue;
            }
            let values = FindingValues {
                fingerprint: &finding.fingerprint,
                detector: &report.id,
                level: finding.level,
                object: finding
                    .object
                    .as_ref()
                    .map(|o| o.display_name())
                    .unwrap_or_default(),
                message: &finding.message,
            };
            match by_fingerprint.get(finding.fingerprint.as_str()) {
                Some(seen) if seen.level >= values.level => {}
                _ => {
                    by_fingerprint.insert(&finding.fingerprint, values);
                }
            }
        }
    }
    (by_fingerprint.into_values().collect(), judged)
}

/// A ReportList as the `report` column holds it: its JSON, gzip-compressed (JSON of this
/// shape shrinks about fivefold).
fn compress_report(list: &ReportList) -> Result<Vec<u8>, DbError> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    serde_json::to_writer(&mut gz, list)
        .map_err(|e| DbError::Corrupt(format!("report JSON: {e}")))?;
    gz.flush()
        .and_then(|()| gz.finish())
        .map_err(|e| DbError::Corrupt(format!("compressing the report: {e}")))
}

/// The columns a scan row gets from its outcome.
struct ScanValues {
    status: ScanState,
    error: Option<String>,
    identity: String,
    fatal: i64,
    error_count: i64,
    warn: i64,
    unknown: i64,
    normal: i64,
    findings: i64,
    worst_rank: i64,
    unused_score: Option<i64>,
    report: Option<Vec<u8>>,
}

fn scan_values(outcome: &ScanOutcome) -> Result<ScanValues, DbError> {
    Ok(match outcome {
        ScanOutcome::Failed { error } => ScanValues {
            status: ScanState::Failed,
            error: Some(error.clone()),
            identity: String::new(),
            fatal: 0,
            error_count: 0,
            warn: 0,
            unknown: 0,
            normal: 0,
            findings: 0,
            worst_rank: 0,
            unused_score: None,
            report: None,
        },
        ScanOutcome::Report(list) => {
            let s = &list.summary;
            let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
            let status: ScanState = list.status.into();
            ScanValues {
                status,
                // Nothing collected: the report says nothing about the target; keep why.
                error: (status == ScanState::NothingCollected).then(|| collector_errors(list)),
                identity: list.target.identity.clone(),
                fatal: count(s.fatal),
                error_count: count(s.error),
                warn: count(s.warn),
                unknown: count(s.unknown),
                normal: count(s.normal),
                findings: count(s.findings),
                worst_rank: level_rank(list.worst_level()),
                unused_score: unused_score(list),
                report: Some(compress_report(list)?),
            }
        }
    })
}

impl Store {
    /// Registers `t` or updates its locator, description, owner and labels.
    pub async fn upsert_target(&self, t: &TargetSpec) -> Result<(), DbError> {
        let now = millis(jiff::Timestamp::now());
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO targets (name, kind, locator, description, owner, team, environment, \
                 region, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
                 ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, locator = excluded.locator, \
                 description = excluded.description, owner = excluded.owner, team = excluded.team, \
                 environment = excluded.environment, region = excluded.region, \
                 updated_at = excluded.updated_at",
            )
            .bind(&t.name)
            .bind(t.source.kind())
            .bind(t.source.locator())
            .bind(&t.description)
            .bind(&t.owner)
            .bind(&t.labels.team)
            .bind(&t.labels.environment)
            .bind(&t.labels.region)
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Removes a target with its scans and findings; false when there was none.
    pub async fn delete_target(&self, name: &str) -> Result<bool, DbError> {
        let deleted = on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM findings WHERE target = $1")
                .bind(name)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM scans WHERE target = $1")
                .bind(name)
                .execute(&mut *tx)
                .await?;
            let done = sqlx::query("DELETE FROM targets WHERE name = $1")
                .bind(name)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            done.rows_affected()
        });
        Ok(deleted > 0)
    }

    /// Stores a scan in one transaction and returns its id. Idempotent by `scan.uuid`: a scan
    /// already stored (a retry whose first attempt committed before the connection dropped)
    /// is not stored again and its first id is returned. A target not registered yet is
    /// registered as `pushed`. The findings table follows the target's newest scan with a
    /// ReportList: an older scan arriving late is stored but changes no finding row.
    pub async fn insert_scan(&self, scan: &NewScan) -> Result<ScanId, DbError> {
        let v = scan_values(&scan.outcome)?;
        let uuid = scan.uuid.to_string();
        let started = millis(scan.started_at);
        let finished = millis(scan.finished_at);
        let duration = (finished - started).max(0);
        let (findings, judged) = match &scan.outcome {
            ScanOutcome::Report(list) => finding_values(list),
            ScanOutcome::Failed { .. } => (Vec::new(), Vec::new()),
        };
        // What the list counts and the findings follow: a scan that judged something.
        let has_report = matches!(v.status, ScanState::Complete | ScanState::Partial);
        let id = on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO targets (name, kind, locator, created_at, updated_at) \
                 VALUES ($1, 'pushed', 'pushed', $2, $2) ON CONFLICT (name) DO NOTHING",
            )
            .bind(&scan.target)
            .bind(finished)
            .execute(&mut *tx)
            .await?;
            let inserted: Option<i64> = sqlx::query_scalar(
                "INSERT INTO scans (uuid, target, status, error, started_at, finished_at, \
                 duration_ms, identity, fatal, error_count, warn, unknown, normal, findings, \
                 worst_rank, unused_score, report) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
                 $10, $11, $12, $13, $14, $15, $16, $17) ON CONFLICT (uuid) DO NOTHING RETURNING id",
            )
            .bind(&uuid)
            .bind(&scan.target)
            .bind(v.status.as_str())
            .bind(v.error.as_deref())
            .bind(started)
            .bind(finished)
            .bind(duration)
            .bind(&v.identity)
            .bind(v.fatal)
            .bind(v.error_count)
            .bind(v.warn)
            .bind(v.unknown)
            .bind(v.normal)
            .bind(v.findings)
            .bind(v.worst_rank)
            .bind(v.unused_score)
            .bind(v.report.as_deref())
            .fetch_optional(&mut *tx)
            .await?;
            let Some(id) = inserted else {
                let id: i64 = sqlx::query_scalar("SELECT id FROM scans WHERE uuid = $1")
                    .bind(&uuid)
                    .fetch_one(&mut *tx)
                    .await?;
                tx.commit().await?;
                return Ok(ScanId(id));
            };
            // Is it the target's newest scan (and newest with a report)?
            let newer: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM scans WHERE target = $1 AND id <> $2 \
                 AND (started_at > $3 OR (started_at = $3 AND id > $2))",
            )
            .bind(&scan.target)
            .bind(id)
            .bind(started)
            .fetch_one(&mut *tx)
            .await?;
            if newer == 0 {
                sqlx::query("UPDATE targets SET last_scan_id = $1 WHERE name = $2")
                    .bind(id)
                    .bind(&scan.target)
                    .execute(&mut *tx)
                    .await?;
            }
            let newer_reports: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM scans WHERE target = $1 AND id <> $2 \
                 AND status IN ('complete', 'partial') \
                 AND (started_at > $3 OR (started_at = $3 AND id > $2))",
            )
            .bind(&scan.target)
            .bind(id)
            .bind(started)
            .fetch_one(&mut *tx)
            .await?;
            if has_report && newer_reports == 0 {
                sqlx::query("UPDATE targets SET last_report_id = $1 WHERE name = $2")
                    .bind(id)
                    .bind(&scan.target)
                    .execute(&mut *tx)
                    .await?;
                for chunk in findings.chunks(FINDINGS_PER_INSERT) {
                    let mut sql = String::from(
                        "INSERT INTO findings (target, fingerprint, detector, level, level_rank, \
                         object, message, first_seen_scan, first_seen_at, last_seen_scan, \
                         last_seen_at) VALUES ",
                    );
                    for i in 0..chunk.len() {
                        let p = 4 + i * 6;
                        if i > 0 {
                            sql.push_str(", ");
                        }
                        sql.push_str(&format!(
                            "($1, ${}, ${}, ${}, ${}, ${}, ${}, $2, $3, $2, $3)",
                            p,
                            p + 1,
                            p + 2,
                            p + 3,
                            p + 4,
                            p + 5
                        ));
                    }
                    // A finding resolved earlier and back now opens again from this scan.
                    sql.push_str(
                        " ON CONFLICT (target, fingerprint) DO UPDATE SET \
                         detector = excluded.detector, level = excluded.level, \
                         level_rank = excluded.level_rank, object = excluded.object, \
                         message = excluded.message, \
                         first_seen_scan = CASE WHEN findings.resolved_scan IS NULL \
                           THEN findings.first_seen_scan ELSE excluded.first_seen_scan END, \
                         first_seen_at = CASE WHEN findings.resolved_scan IS NULL \
                           THEN findings.first_seen_at ELSE excluded.first_seen_at END, \
                         last_seen_scan = excluded.last_seen_scan, \
                         last_seen_at = excluded.last_seen_at, \
                         resolved_scan = NULL, resolved_at = NULL",
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(&scan.target)
                        .bind(id)
                        .bind(started);
                    for f in chunk {
                        q = q
                            .bind(f.fingerprint)
                            .bind(f.detector)
                            .bind(f.level.as_str())
                            .bind(level_rank(f.level))
                            .bind(f.object.as_str())
                            .bind(f.message);
                    }
                    q.execute(&mut *tx).await?;
                }
                if !judged.is_empty() {
                    let placeholders: Vec<String> =
                        (0..judged.len()).map(|i| format!("${}", i + 4)).collect();
                    let sql = format!(
                        "UPDATE findings SET resolved_scan = $2, resolved_at = $3 \
                         WHERE target = $1 AND resolved_scan IS NULL AND last_seen_scan <> $2 \
                         AND detector IN ({})",
                        placeholders.join(", ")
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(&scan.target)
                        .bind(id)
                        .bind(started);
                    for d in &judged {
                        q = q.bind(*d);
                    }
                    q.execute(&mut *tx).await?;
                }
            }
            tx.commit().await?;
            id
        });
        Ok(ScanId(id))
    }

    /// Deletes scans beyond `keep` (never a target's newest scan, nor its newest scan with a
    /// ReportList) and findings resolved before the age cut-off. Returns the scans deleted.
    pub async fn apply_retention(&self, keep: Retention) -> Result<u64, DbError> {
        let cutoff = keep
            .max_age_days
            .map(|days| millis(jiff::Timestamp::now()) - i64::from(days) * 86_400_000);
        let deleted = on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let mut deleted = 0;
            const KEPT: &str = "id NOT IN (SELECT last_scan_id FROM targets \
                 WHERE last_scan_id IS NOT NULL) AND id NOT IN (SELECT last_report_id \
                 FROM targets WHERE last_report_id IS NOT NULL)";
            if let Some(max) = keep.max_scans_per_target {
                deleted += sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DELETE FROM scans WHERE id IN (SELECT id FROM (SELECT id, ROW_NUMBER() \
                     OVER (PARTITION BY target ORDER BY started_at DESC, id DESC) AS n \
                     FROM scans) ranked WHERE n > $1) AND {KEPT}"
                )))
                .bind(i64::from(max))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            if let Some(cutoff) = cutoff {
                deleted += sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DELETE FROM scans WHERE started_at < $1 AND {KEPT}"
                )))
                .bind(cutoff)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                sqlx::query(
                    "DELETE FROM findings WHERE resolved_at IS NOT NULL AND resolved_at < $1",
                )
                .bind(cutoff)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            deleted
        });
        Ok(deleted)
    }
}
