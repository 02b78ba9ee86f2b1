//! Shared by the hub's tests: databases to test against and ReportLists to store.
#![allow(dead_code)]

use detek_core::{Finding, Level, ObjectRef, ReportList, ReportResult, Summary};
use detek_hub::db::Store;
use serde_json::json;

/// A fresh SQLite database in a temporary directory (kept alive by the returned guard).
pub async fn sqlite_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("hub.db").display());
    let store = Store::connect(&url).await.expect("open SQLite");
    (dir, store)
}

/// `2026-11-01T00:00:00Z` plus `day` days and `minute` minutes.
pub fn at(day: i64, minute: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_793_491_200 + day * 86_400 + minute * 60).unwrap()
}

/// One detector's result in a test scan: its findings as (level, object name).
pub struct Det<'a> {
    pub id: &'a str,
    pub result: ReportResult,
    pub findings: Vec<(Level, &'a str)>,
}

pub fn judged<'a>(id: &'a str, findings: Vec<(Level, &'a str)>) -> Det<'a> {
    let result = if findings.is_empty() {
        ReportResult::Passed
    } else {
        ReportResult::Findings
    };
    Det {
        id,
        result,
        findings,
    }
}

pub fn unknown(id: &str) -> Det<'_> {
    Det {
        id,
        result: ReportResult::Unknown,
        findings: Vec::new(),
    }
}

/// A ReportList of target `identity` started at `started`, with Deployments `default/NAME`
/// as finding objects; fingerprints computed as the runner computes them.
pub fn report_list(identity: &str, started: jiff::Timestamp, detectors: &[Det<'_>]) -> ReportList {
    let reports: Vec<serde_json::Value> = detectors
        .iter()
        .map(|d| {
            let findings: Vec<Finding> = d
                .findings
                .iter()
                .map(|(level, name)| {
                    let mut f = Finding::new(
                        *level,
                        Some(ObjectRef::new("Deployment", Some("default"), *name)),
                        format!("{} on {name}", d.id),
                    );
                    f.fingerprint = f.compute_fingerprint(identity, d.id);
                    f
                })
                .collect();
            let level = match d.result {
                ReportResult::Unknown => Level::Unknown,
                _ => d
                    .findings
                    .iter()
                    .map(|(l, _)| *l)
                    .max()
                    .unwrap_or(Level::Normal),
            };
            json!({
                "id": d.id,
                "description": format!("detector {}", d.id),
                "created_at": started,
                "level": level,
                "default_level": "Warn",
                "passed": d.findings.is_empty(),
                "explanation": "",
                "solution": "",
                "findings": findings,
                "result": d.result,
                "error": (d.result == ReportResult::Unknown).then_some("kubernetes/pods could not be listed"),
                "duration_ms": 1.0,
            })
        })
        .collect();
    let reports: Vec<detek_core::Report> = serde_json::from_value(json!(reports)).unwrap();
    let summary = Summary::of(&reports);
    let finished = started + jiff::SignedDuration::from_secs(3);
    serde_json::from_value(json!({
        "schemaVersion": 1,
        "tool": "detek",
        "version": "test",
        "target": {"kind": "cluster", "name": identity, "identity": identity},
        "started_at": started,
        "finished_at": finished,
        "duration_ms": 3000.0,
        "status": "complete",
        "summary": summary,
        "collectors": [],
        "reports": reports,
    }))
    .unwrap()
}

/// The repository root (two levels above this crate).
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// A real PostgreSQL (testenv/postgres) for this test binary: started on first use in a
/// temporary directory, stopped when the binary exits (its watchdog follows our pid).
pub struct Postgres {
    pub dir: tempfile::TempDir,
    /// `postgres://detek:PASSWORD@127.0.0.1:PORT` (no database name).
    pub base_url: String,
}

impl Postgres {
    pub fn start() -> Postgres {
        let dir = tempfile::Builder::new()
            .prefix("detek-pg-")
            .tempdir()
            .unwrap();
        let out = std::process::Command::new("bash")
            .arg(repo_root().join("testenv/postgres/start.sh"))
            .arg(dir.path().join("env"))
            .env("DETEK_TESTENV_WATCH_PID", std::process::id().to_string())
            .output()
            .expect("run testenv/postgres/start.sh");
        assert!(
            out.status.success(),
            "testenv/postgres/start.sh failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let env = std::fs::read_to_string(dir.path().join("env/env")).unwrap();
        let base_url = env
            .lines()
            .find_map(|l| l.strip_prefix("POSTGRES_BASE_URL="))
            .expect("POSTGRES_BASE_URL in env")
            .to_string();
        Postgres { dir, base_url }
    }

    /// The server this test binary shares.
    pub fn shared() -> &'static Postgres {
        static PG: std::sync::OnceLock<Postgres> = std::sync::OnceLock::new();
        PG.get_or_init(Postgres::start)
    }

    pub fn env_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("env")
    }

    /// Stops the server (fast shutdown: open connections are cut).
    pub fn stop(&self) {
        let status = std::process::Command::new("bash")
            .arg(repo_root().join("testenv/postgres/stop.sh"))
            .arg(self.env_dir())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Starts the stopped server again, on the same port and data.
    pub fn restart(&self) {
        let status = std::process::Command::new("bash")
            .arg(repo_root().join("testenv/postgres/start.sh"))
            .arg(self.env_dir())
            .env("DETEK_TESTENV_WATCH_PID", std::process::id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// A new, empty database `name` on the server; its URL.
    pub async fn database(&self, name: &str) -> String {
        let admin = format!("{}/postgres", self.base_url);
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
            .await
            .expect("connect to testenv PostgreSQL");
        let name = name.to_ascii_lowercase();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name}"
        )))
        .execute(&mut conn)
        .await
        .unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap();
        format!("{}/{name}", self.base_url)
    }
}

/// A fresh database named after the test on the shared PostgreSQL.
pub async fn postgres_store(test: &str) -> ((), Store) {
    let url = Postgres::shared().database(&format!("t_{test}")).await;
    ((), Store::connect(&url).await.expect("open PostgreSQL"))
}
