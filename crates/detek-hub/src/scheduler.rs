//! Scanning the fleet: one pass over the targets (`detek fleet scan`), or a pass on an
//! interval (`detek serve` with targets).
//!
//! A pass scans at most `concurrency` targets at a time, each under its own timeout, so one
//! slow or dead target never holds up another. Beyond one machine Kubernetes is the
//! distributed engine: `--shard I/N` (or an Indexed Job's `JOB_COMPLETION_INDEX` and
//! `JOB_COMPLETIONS`) scans the targets whose stable name hash falls in shard I, so N Pods
//! cover the fleet exactly once, all writing to one PostgreSQL. Each scan gets its UUID
//! before it is written and its writes are retried while the database is unreachable: a
//! database restart in the middle of a pass loses no scan and stores none twice.

use crate::db::{DbError, NewScan, ScanId, ScanOutcome, Store};
use crate::targets::TargetSpec;
use detek_core::ReportList;
use futures::StreamExt;
use futures::future::BoxFuture;
use jiff::Timestamp;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Why a target could not be scanned (its kubeconfig context is missing, the cloud is
/// unknown). The message is stored and shown: it never holds a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ScanError(pub String);

/// What turns one target into a ReportList; the `detek` binary implements it the way
/// `detek run` scans one kubeconfig context or cloud, so the hub depends on no collector.
pub trait Scanner: Send + Sync {
    /// Scans `target`; `timeout` is the time the pass allows (the implementation may set its
    /// request timeouts from it; the pass enforces it anyway).
    fn scan<'a>(
        &'a self,
        target: &'a TargetSpec,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<ReportList, ScanError>>;
}

/// One shard of N: `index` in `0..count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Default for Shard {
    fn default() -> Self {
        Shard { index: 0, count: 1 }
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for Shard {
    type Err = String;

    /// `I/N`, I 0-based (as `JOB_COMPLETION_INDEX`).
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("{s:?}: expected I/N with 0 <= I < N, e.g. 0/4");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// The shard of an Indexed Job's Pod: `JOB_COMPLETION_INDEX` and `JOB_COMPLETIONS`
    /// (set it from the Job's `spec.completions` in the Pod template: Kubernetes sets only
    /// the index). `None` when the index is not set.
    pub fn from_env(
        index: Option<&str>,
        completions: Option<&str>,
    ) -> Result<Option<Shard>, String> {
        let Some(index) = index.filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        let Some(count) = completions.filter(|s| !s.is_empty()) else {
            return Err(format!(
                "JOB_COMPLETION_INDEX={index} but JOB_COMPLETIONS is not set (the Job's \
                 completions, so the shard knows N)"
            ));
        };
        format!("{index}/{count}")
            .parse()
            .map(Some)
            .map_err(|e| format!("JOB_COMPLETION_INDEX/JOB_COMPLETIONS: {e}"))
    }

    /// Whether `target` belongs to this shard: FNV-1a (64 bit) of its name modulo N, which
    /// no Rust or platform version changes, so every shard of every Pod agrees.
    pub fn contains(&self, target: &str) -> bool {
        shard_hash(target) % u64::from(self.count.max(1)) == u64::from(self.index)
    }
}

/// FNV-1a, 64 bit.
fn shard_hash(name: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.as_bytes() {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// How a pass runs.
#[derive(Debug, Clone)]
pub struct PassOptions {
    /// Targets scanned at the same time.
    pub concurrency: usize,
    /// Time allowed to one target's scan; past it the scan is stored as failed.
    pub timeout: Duration,
    pub shard: Shard,
    /// How long a write keeps being retried while the database is unreachable.
    pub write_patience: Duration,
}

impl Default for PassOptions {
    fn default() -> Self {
        PassOptions {
            concurrency: 8,
            timeout: Duration::from_secs(300),
            shard: Shard::default(),
            write_patience: Duration::from_secs(300),
        }
    }
}

/// What happened to one target in a pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetOutcome {
    pub target: String,
    /// `complete`, `partial`, `nothing_collected` or `failed`.
    pub status: &'static str,
    /// Why it failed (failed or nothing collected).
    pub error: Option<String>,
    /// The stored scan; `None` when it could not be written (`write_error` says why).
    pub scan: Option<ScanId>,
    pub write_error: Option<String>,
    /// Write attempts (1 when the database answered at once).
    pub attempts: u32,
    pub duration: Duration,
}

/// The result of one pass.
#[derive(Debug, Clone, Default)]
pub struct PassSummary {
    /// One per target of this shard, by target name.
    pub outcomes: Vec<TargetOutcome>,
    /// Targets left to other shards.
    pub other_shards: usize,
    pub duration: Duration,
}

impl PassSummary {
    /// Targets whose scan is stored.
    pub fn stored(&self) -> usize {
        self.outcomes.iter().filter(|o| o.scan.is_some()).count()
    }

    /// Targets whose scan did not produce a report worth the name (failed, nothing collected).
    pub fn failed(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| matches!(o.status, "failed" | "nothing_collected"))
            .count()
    }

    /// Targets whose scan could not be written.
    pub fn not_stored(&self) -> usize {
        self.outcomes.len() - self.stored()
    }
}

/// Scans this shard's targets once and stores every scan (failed ones with their reason).
pub async fn run_pass(
    store: &Store,
    scanner: Arc<dyn Scanner>,
    targets: &[TargetSpec],
    options: &PassOptions,
) -> PassSummary {
    let start = Instant::now();
    let mine: Vec<TargetSpec> = targets
        .iter()
        .filter(|t| options.shard.contains(&t.name))
        .cloned()
        .collect();
    let other_shards = targets.len() - mine.len();
    let mut outcomes = futures::stream::iter(mine)
        .map(|target| {
            let scanner = scanner.clone();
            let options = options.clone();
            async move {
                let name = target.name.clone();
                let timeout = options.timeout;
                // Its own task: one target's detectors run beside another's I/O.
                let scanned = tokio::spawn(async move {
                    let started = Timestamp::now();
                    let result =
                        tokio::time::timeout(timeout, scanner.scan(&target, timeout)).await;
                    (target, started, result)
                })
                .await;
                let finished = Timestamp::now();
                let (target, scan) = match scanned {
                    Ok((target, started, Ok(Ok(list)))) => {
                        let mut scan = NewScan::from_report(&target.name, list);
                        scan.started_at = started;
                        scan.finished_at = finished;
                        (target, scan)
                    }
                    Ok((target, started, Ok(Err(e)))) => {
                        let scan = NewScan::failed(&target.name, started, finished, e.0);
                        (target, scan)
                    }
                    Ok((target, started, Err(_elapsed))) => {
                        let error = format!("timed out after {}", humantime(timeout));
                        let scan = NewScan::failed(&target.name, started, finished, error);
                        (target, scan)
                    }
                    Err(join) => {
                        let error = format!("scan task failed: {join}");
                        let scan = NewScan::failed(&name, finished, finished, error);
                        (TargetSpec::pushed(&name), scan)
                    }
                };
                store_scan(store, &target, scan, options.write_patience).await
            }
        })
        .buffer_unordered(options.concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    outcomes.sort_by(|a, b| a.target.cmp(&b.target));
    PassSummary {
        outcomes,
        other_shards,
        duration: start.elapsed(),
    }
}

/// Registers the target and writes its scan, retrying while the database is unreachable.
async fn store_scan(
    store: &Store,
    target: &TargetSpec,
    scan: NewScan,
    patience: Duration,
) -> TargetOutcome {
    let (status, error) = match &scan.outcome {
        ScanOutcome::Failed { error } => ("failed", Some(error.clone())),
        ScanOutcome::Report(list) => match list.status {
            detek_core::ScanStatus::Complete => ("complete", None),
            detek_core::ScanStatus::Partial => ("partial", None),
            detek_core::ScanStatus::NothingCollected => ("nothing_collected", {
                let errors: Vec<&str> = list
                    .collectors
                    .iter()
                    .filter_map(|c| c.error.as_deref())
                    .collect();
                Some(errors.join("; "))
            }),
        },
    };
    let duration = Duration::from_millis(
        (scan.finished_at.as_millisecond() - scan.started_at.as_millisecond()).max(0) as u64,
    );
    let mut attempts = 0;
    let written = with_retries(patience, &mut attempts, || async {
        if !matches!(target.source, crate::targets::TargetSource::Pushed) {
            store.upsert_target(target).await?;
        }
        store.insert_scan(&scan).await
    })
    .await;
    let (scan, write_error) = match written {
        Ok(id) => (Some(id), None),
        Err(e) => (None, Some(e.to_string())),
    };
    TargetOutcome {
        target: target.name.clone(),
        status,
        error,
        scan,
        write_error,
        attempts,
        duration,
    }
}

/// Runs `write` until it succeeds, fails for another reason than an unreachable database,
/// or `patience` has passed; waits 0.2 s, doubling to 5 s, between attempts.
async fn with_retries<T, F, Fut>(
    patience: Duration,
    attempts: &mut u32,
    mut write: F,
) -> Result<T, DbError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, DbError>>,
{
    let start = Instant::now();
    let mut wait = Duration::from_millis(200);
    loop {
        *attempts += 1;
        match write().await {
            Err(e) if e.is_unreachable() && start.elapsed() + wait < patience => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(5));
            }
            other => return other,
        }
    }
}

fn humantime(d: Duration) -> String {
    let s = d.as_secs();
    if d.subsec_millis() != 0 || s == 0 {
        format!("{} ms", d.as_millis())
    } else if s.is_multiple_of(60) {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}

/// Runs a pass every `interval` (measured from the start of one pass to the next) until
/// `stop` resolves; `targets` is asked for the current target list before each pass, and
/// `after_pass` sees each pass's summary (logging, retention).
pub async fn run_every<T, S>(
    store: &Store,
    scanner: Arc<dyn Scanner>,
    mut targets: T,
    interval: Duration,
    options: &PassOptions,
    mut after_pass: impl FnMut(&PassSummary),
    stop: S,
) where
    T: FnMut() -> Vec<TargetSpec>,
    S: std::future::Future<Output = ()>,
{
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = ticks.tick() => {
                let list = targets();
                let summary = run_pass(store, scanner.clone(), &list, options).await;
                after_pass(&summary);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_the_fleet_exactly_once() {
        let names: Vec<String> = (0..7000).map(|i| format!("cluster-{i:04}")).collect();
        let count = 16;
        let mut sizes = Vec::new();
        for name in &names {
            let owners = (0..count)
                .filter(|i| Shard { index: *i, count }.contains(name))
                .count();
            assert_eq!(owners, 1, "{name}");
        }
        for index in 0..count {
            let shard = Shard { index, count };
            sizes.push(names.iter().filter(|n| shard.contains(n)).count());
        }
        assert_eq!(sizes.iter().sum::<usize>(), 7000);
        // Even enough: every shard within 10% of 7000/16 = 437.5.
        assert!(sizes.iter().all(|s| (394..=481).contains(s)), "{sizes:?}");
    }

    #[test]
    fn the_hash_is_fnv1a() {
        // Published FNV-1a 64 test vectors: a change here would move targets between shards.
        assert_eq!(shard_hash(""), 0xcbf29ce484222325);
        assert_eq!(shard_hash("a"), 0xaf63dc4c8601ec8c);
        assert_eq!(shard_hash("foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn shard_from_flag_and_env() {
        assert_eq!("2/4".parse(), Ok(Shard { index: 2, count: 4 }));
        assert!("4/4".parse::<Shard>().is_err());
        assert!("1/0".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
        assert_eq!(
            Shard::from_env(Some("3"), Some("16")),
            Ok(Some(Shard {
                index: 3,
                count: 16
            }))
        );
        assert_eq!(Shard::from_env(None, Some("16")), Ok(None));
        assert!(
            Shard::from_env(Some("3"), None)
                .unwrap_err()
                .contains("JOB_COMPLETIONS")
        );
    }
}
