//! How fast the dashboard answers on a big fleet: seeds CLUSTERS clusters × SCANS scans into a
//! database (SQLite or PostgreSQL) through `Store::insert_scan`, as a fleet scan would, then
//! times the cluster list and the cluster page through the hub's router (handler, SQL and
//! template; no socket) and prints p50/p99 per request kind. docs/hub.md has the method and
//! the figures.
//!
//! ```text
//! cargo run --release -p detek-hub --example page_bench -- sqlite:///tmp/bench.db 7000 30
//! cargo run --release -p detek-hub --example page_bench -- postgres://… 7000 30
//! ```
//!
//! A database that already holds the clusters is not seeded again (time the pages only).
//! Each scan is the demo report cut to ten detectors with at most four findings each and
//! their prose removed (~3 KB of JSON), findings coming and going as in `detek serve --demo`.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use detek_core::ReportList;
use detek_hub::db::{NewScan, Store};
use detek_hub::demo::{DemoCluster, scan_of};
use detek_hub::http::{AppState, router};
use detek_hub::targets::{TargetLabels, TargetSource, TargetSpec};
use http_body_util::BodyExt;
use jiff::{SignedDuration, Timestamp};
use std::time::{Duration, Instant};
use tower::ServiceExt;

const DEMO: &str = include_str!("../tests/data/demo-report.json");

const TEAMS: [&str; 20] = [
    "shop",
    "payments",
    "data",
    "platform",
    "search",
    "ads",
    "mobile",
    "identity",
    "billing",
    "logistics",
    "ml",
    "video",
    "chat",
    "maps",
    "growth",
    "security",
    "sre",
    "web",
    "iot",
    "hr",
];
const ENVIRONMENTS: [&str; 3] = ["production", "staging", "development"];
const REGIONS: [&str; 6] = [
    "eu-central",
    "eu-west",
    "us-east",
    "us-west",
    "ap-south",
    "ap-northeast",
];

fn base_report() -> ReportList {
    let mut list: ReportList = serde_json::from_str(DEMO).expect("the demo report");
    let keep = [
        "crashloop_backoff",
        "failed_pod",
        "image_pull_failure",
        "pod_pending_unschedulable",
        "privileged_container",
        "image_tag_latest",
        "naked_pod",
        "run_as_root",
        "pod_without_limits",
        "cluster_possibly_unused",
    ];
    list.reports.retain(|r| keep.contains(&r.id.as_str()));
    for r in &mut list.reports {
        r.explanation.clear();
        r.solution.clear();
        r.example.clear();
        r.references.clear();
        r.attachment.retain(|a| a.description.starts_with("Score "));
        r.findings.truncate(4);
    }
    list.collectors.clear();
    list.skipped.clear();
    list.summary = detek_core::Summary::of(&list.reports);
    list
}

fn cluster(i: usize) -> DemoCluster {
    let name: &'static str = Box::leak(format!("cluster-{i:05}").into_boxed_str());
    let description: &'static str = Box::leak(
        format!(
            "{} {} cluster number {i}",
            TEAMS[i % TEAMS.len()],
            ENVIRONMENTS[i % ENVIRONMENTS.len()]
        )
        .into_boxed_str(),
    );
    DemoCluster {
        name,
        description,
        owner: TEAMS[i % TEAMS.len()],
        team: TEAMS[i % TEAMS.len()],
        environment: ENVIRONMENTS[(i / 7) % ENVIRONMENTS.len()],
        region: REGIONS[(i / 3) % REGIONS.len()],
        share: 40 + (i as u64 * 37) % 61,
        unused_signs: (i % 6) as u8,
        failed_last: u32::from(i.is_multiple_of(50)),
    }
}

/// Clusters seeded at the same time (each cluster's scans in order), as a fleet scan's
/// concurrent targets write.
const SEED_CONCURRENCY: usize = 8;

async fn seed(store: &Store, clusters: usize, scans: u32) {
    use futures::StreamExt;
    use std::sync::atomic::{AtomicU64, Ordering};
    let base = base_report();
    let now = Timestamp::now();
    let started = Instant::now();
    let stored = AtomicU64::new(0);
    let done = AtomicU64::new(0);
    futures::stream::iter(0..clusters)
        .for_each_concurrent(SEED_CONCURRENCY, |i| {
            let (base, stored, done) = (&base, &stored, &done);
            async move {
                let c = cluster(i);
                store
                    .upsert_target(&TargetSpec {
                        name: c.name.into(),
                        source: TargetSource::Pushed,
                        description: c.description.into(),
                        owner: c.owner.into(),
                        labels: TargetLabels {
                            team: c.team.into(),
                            environment: c.environment.into(),
                            region: c.region.into(),
                        },
                    })
                    .await
                    .expect("upsert");
                for day in 0..scans {
                    let at = now - SignedDuration::from_hours(i64::from(24 * (scans - day)));
                    let scan = if day >= scans - c.failed_last {
                        NewScan::failed(c.name, at, at + SignedDuration::from_secs(30), "timed out")
                    } else {
                        NewScan::from_report(c.name, scan_of(base, &c, day, at))
                    };
                    store.insert_scan(&scan).await.expect("insert");
                    stored.fetch_add(1, Ordering::Relaxed);
                }
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if n % 500 == 0 {
                    let stored = stored.load(Ordering::Relaxed);
                    let rate = stored as f64 / started.elapsed().as_secs_f64();
                    eprintln!(
                        "page_bench: {n} clusters, {stored} scans stored ({rate:.0} scans/s)"
                    );
                }
            }
        })
        .await;
    eprintln!(
        "page_bench: seeded {clusters} clusters × {scans} scans in {:.0} s",
        started.elapsed().as_secs_f64()
    );
}

/// The URI of a kind of request, for its i-th sending.
type UriOf = Box<dyn Fn(usize) -> String>;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args
        .get(1)
        .expect("usage: page_bench DATABASE_URL [CLUSTERS] [SCANS] [REQUESTS]");
    let clusters: usize = args.get(2).map_or(7000, |s| s.parse().unwrap());
    let scans: u32 = args.get(3).map_or(30, |s| s.parse().unwrap());
    let requests: usize = args.get(4).map_or(200, |s| s.parse().unwrap());
    let store = Store::connect(url).await.expect("connect");
    let existing = store.scan_count().await.unwrap();
    if existing == 0 {
        seed(&store, clusters, scans).await;
    } else {
        eprintln!("page_bench: the database holds {existing} scans: timing only");
    }
    let backend = store.backend();
    let app = router(AppState::new(store));
    let kinds: Vec<(&str, UriOf)> = vec![
        ("list, page 1", Box::new(|_| "/".to_string())),
        (
            "list, page N (deep)",
            Box::new(move |i| format!("/?page={}", 2 + (i * 13) % (clusters / 50).max(1))),
        ),
        (
            "list, sorted by severity",
            Box::new(|_| "/?sort=-severity".to_string()),
        ),
        (
            "list, team + level filter",
            Box::new(|i| format!("/?team={}&level=error", TEAMS[i % TEAMS.len()])),
        ),
        (
            "list, text search",
            Box::new(|i| format!("/?q={}", 100 + (i * 7) % 900)),
        ),
        (
            "list, failing detector",
            Box::new(|_| "/?detector=crashloop_backoff".to_string()),
        ),
        (
            "cluster page",
            Box::new(move |i| format!("/clusters/cluster-{:05}", (i * 7919) % clusters)),
        ),
        (
            "detector page",
            Box::new(|_| "/detectors/run_as_root".to_string()),
        ),
    ];
    println!(
        "{backend}: {clusters} clusters × {scans} scans, {requests} requests per kind (in-process, sequential)"
    );
    println!("| request | p50 ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|");
    for (name, uri) in &kinds {
        // Warm-up: the first requests fill caches (SQLite page cache, prepared statements).
        for i in 0..5 {
            let _ = get(&app, &uri(i)).await;
        }
        let mut times = Vec::with_capacity(requests);
        for i in 0..requests {
            let t = Instant::now();
            let status = get(&app, &uri(i)).await;
            times.push(t.elapsed());
            assert_eq!(status, StatusCode::OK, "{}", uri(i));
        }
        times.sort();
        println!(
            "| {name} | {:.1} | {:.1} | {:.1} |",
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            times.last().unwrap().as_secs_f64() * 1000.0
        );
    }
}

async fn get(app: &axum::Router, uri: &str) -> StatusCode {
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let _ = response.into_body().collect().await.unwrap();
    status
}
