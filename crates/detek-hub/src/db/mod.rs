//! Scan history in SQLite (the default: a file, no set-up) or PostgreSQL (`postgres://…`,
//! what many shards write to at once).
//!
//! Every scan keeps its full ReportList JSON; each unsuppressed finding also has a row keyed
//! by its fingerprint (DESIGN.md §4) with the scans it was first and last seen in and the scan
//! that resolved it, so "new since the previous scan", "resolved" and "open for N days" are
//! SQL. Both databases run the same SQL text (`$1` placeholders, times as Unix milliseconds);
//! only the migrations differ. No column holds a credential.

mod model;
mod queries;
mod write;

pub use model::*;
pub use write::unused_score;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use std::str::FromStr;
use std::time::Duration;

/// Why a database call failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database cannot be reached (connection refused or lost, pool timed out): worth
    /// retrying; the dashboard says "database unreachable".
    #[error("database unreachable: {0}")]
    Unreachable(#[source] sqlx::Error),
    #[error("database error: {0}")]
    Query(#[source] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL {0:?}: expected sqlite://PATH or postgres://…")]
    Url(String),
    #[error("stored data is not what the hub wrote: {0}")]
    Corrupt(String),
    #[error("{0} not found")]
    NotFound(String),
}

impl DbError {
    /// Whether trying again later can succeed (the database was unreachable).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, DbError::Unreachable(_))
    }
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        use sqlx::Error as E;
        match &e {
            E::Io(_) | E::Tls(_) | E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed => {
                DbError::Unreachable(e)
            }
            // PostgreSQL shutting down (admin_shutdown, crash_shutdown, cannot_connect_now):
            // the server is going away, not refusing the statement.
            E::Database(db) if db.code().is_some_and(|c| c.starts_with("57P")) => {
                DbError::Unreachable(e)
            }
            _ => DbError::Query(e),
        }
    }
}

pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool: the same SQL and code, compiled once
/// per database.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.pool {
            $crate::db::Pool::Sqlite($pool) => $body,
            $crate::db::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// The hub's database.
pub struct Store {
    pub(crate) pool: Pool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.pool {
            Pool::Sqlite(_) => "Store(sqlite)",
            Pool::Postgres(_) => "Store(postgres)",
        })
    }
}

/// How long a call waits for a connection before saying the database is unreachable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

impl Store {
    /// Opens (creating an SQLite file when missing) and migrates the database at `url`:
    /// `sqlite://PATH` (or a bare path), `sqlite::memory:`, or `postgres://…`.
    pub async fn connect(url: &str) -> Result<Store, DbError> {
        let pool = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url).map_err(|_| {
                // The URL may hold a password: never echo it.
                DbError::Url("postgres://… (unparsable)".into())
            })?;
            let pool = PgPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_with(options)
                .await?;
            sqlx::migrate!("migrations/postgres").run(&pool).await?;
            Pool::Postgres(pool)
        } else if url.contains("://") && !url.starts_with("sqlite://") {
            return Err(DbError::Url(
                url.split("://").next().unwrap_or("").to_string(),
            ));
        } else {
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            let options = if url.starts_with("sqlite:") {
                SqliteConnectOptions::from_str(url)?
            } else {
                SqliteConnectOptions::new().filename(url)
            }
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(30));
            // An in-memory database lives in one connection.
            let pool = SqlitePoolOptions::new()
                .max_connections(if in_memory { 1 } else { 4 })
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_with(options)
                .await?;
            sqlx::migrate!("migrations/sqlite").run(&pool).await?;
            Pool::Sqlite(pool)
        };
        Ok(Store { pool })
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    /// Whether the database answers (the dashboard says "database unreachable" otherwise).
    pub async fn ping(&self) -> Result<(), DbError> {
        on_pool!(self, |pool| {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    /// Closes the pool, waiting for connections in use.
    pub async fn close(&self) {
        on_pool!(self, |pool| pool.close().await)
    }
}

pub(crate) fn millis(t: jiff::Timestamp) -> i64 {
    t.as_millisecond()
}

pub(crate) fn timestamp(ms: i64) -> Result<jiff::Timestamp, DbError> {
    jiff::Timestamp::from_millisecond(ms).map_err(|e| DbError::Corrupt(format!("time {ms}: {e}")))
}
