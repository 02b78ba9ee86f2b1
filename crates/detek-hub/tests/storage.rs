//! The hub's storage: the same tests on SQLite and on a real PostgreSQL
//! (testenv/postgres, started once per test binary).

mod common;

use common::{Det, at, judged, report_list, unknown};
use detek_core::Level::{Error, Fatal, Warn};
use detek_hub::db::{ClusterQuery, ClusterSort, NewScan, Retention, ScanId, ScanState, Store};
use detek_hub::targets::{TargetLabels, TargetSource, TargetSpec};

/// Each test runs once per database: `NAME_sqlite` and `NAME_postgres`.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let (_dir, store) = crate::common::sqlite_store().await;
                    super::$name(&store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let (_db, store) = crate::common::postgres_store(stringify!($name)).await;
                    super::$name(&store).await;
                }
            )*
        }
    };
}

on_both!(
    insert_is_idempotent_by_uuid,
    new_resolved_and_open_for_days,
    failed_scan_keeps_last_report_and_findings,
    nothing_collected_counts_as_failed_with_the_collector_error,
    late_older_scan_changes_no_finding,
    demo_report_round_trip,
    cluster_list_filters_sorts_and_pages,
    cluster_list_trend_is_the_last_ten_scans,
    detector_failures_worst_first,
    metrics_per_target_and_detector,
    retention_keeps_newest,
    targets_upsert_and_delete,
    ping_answers,
);

fn cluster(name: &str, team: &str, env: &str, description: &str) -> TargetSpec {
    TargetSpec {
        name: name.to_string(),
        source: TargetSource::Kubernetes {
            kubeconfig: Some("/etc/detek/kubeconfigs/fleet.yaml".into()),
            context: Some(name.to_string()),
            namespace: None,
        },
        description: description.to_string(),
        owner: format!("{team}@example.com"),
        labels: TargetLabels {
            team: team.to_string(),
            environment: env.to_string(),
            region: "eu-1".to_string(),
        },
    }
}

async fn store_list(store: &Store, target: &str, day: i64, dets: &[Det<'_>]) -> ScanId {
    let list = report_list(&format!("cluster:uid:{target}"), at(day, 0), dets);
    store
        .insert_scan(&NewScan::from_report(target, list))
        .await
        .expect("insert scan")
}

fn names<T>(items: &[T], name: impl Fn(&T) -> &str) -> Vec<String> {
    items.iter().map(|i| name(i).to_string()).collect()
}

async fn insert_is_idempotent_by_uuid(store: &Store) {
    let list = report_list(
        "cluster:uid:a",
        at(0, 0),
        &[judged("crashloop", vec![(Error, "api")])],
    );
    let scan = NewScan::from_report("a", list.clone());
    let first = store.insert_scan(&scan).await.unwrap();
    let again = store.insert_scan(&scan).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(store.scan_count().await.unwrap(), 1);
    assert_eq!(store.open_findings("a").await.unwrap().len(), 1);
    let stored = store.scan(first).await.unwrap().expect("stored");
    assert_eq!(stored.row.uuid, scan.uuid);
    assert_eq!(stored.row.status, ScanState::Complete);
    assert_eq!(
        serde_json::to_value(stored.report.unwrap()).unwrap(),
        serde_json::to_value(&list).unwrap()
    );
    // A scan of an unregistered target registers it as pushed.
    let target = store.target("a").await.unwrap().expect("registered");
    assert_eq!(
        (target.kind.as_str(), target.locator.as_str()),
        ("pushed", "pushed")
    );
}

async fn new_resolved_and_open_for_days(store: &Store) {
    let s1 = store_list(
        store,
        "c",
        0,
        &[
            judged("crashloop", vec![(Error, "api"), (Error, "web")]),
            judged("no_limits", vec![(Warn, "db")]),
        ],
    )
    .await;
    // A day later: web is fixed, worker starts crashing, db still has no limits.
    let s2 = store_list(
        store,
        "c",
        1,
        &[
            judged("crashloop", vec![(Error, "api"), (Fatal, "worker")]),
            judged("no_limits", vec![(Warn, "db")]),
        ],
    )
    .await;
    let d2 = store.diff("c", s2).await.unwrap();
    assert_eq!(d2.previous, Some(s1));
    assert_eq!(names(&d2.new, |f| &f.object), ["Deployment/default/worker"]);
    assert_eq!(d2.new[0].level, Fatal);
    assert_eq!(
        names(&d2.resolved, |f| &f.object),
        ["Deployment/default/web"]
    );
    assert_eq!(
        d2.still_open
            .iter()
            .map(|o| (o.finding.object.as_str(), o.open_days))
            .collect::<Vec<_>>(),
        [("Deployment/default/api", 1), ("Deployment/default/db", 1)]
    );
    // Ten days later the pods cannot be listed: crashloop does not judge, so its findings
    // stay open; no_limits judged and db is fixed.
    let s3 = store_list(
        store,
        "c",
        11,
        &[unknown("crashloop"), judged("no_limits", vec![])],
    )
    .await;
    let d3 = store.diff("c", s3).await.unwrap();
    assert_eq!(d3.previous, Some(s2));
    assert!(d3.new.is_empty(), "{:?}", d3.new);
    assert_eq!(
        names(&d3.resolved, |f| &f.object),
        ["Deployment/default/db"]
    );
    assert_eq!(
        d3.still_open
            .iter()
            .map(|o| (o.finding.object.as_str(), o.open_days))
            .collect::<Vec<_>>(),
        [
            ("Deployment/default/api", 11),
            ("Deployment/default/worker", 10)
        ]
    );
    // web comes back: it opens again from this scan.
    let s4 = store_list(
        store,
        "c",
        12,
        &[
            judged("crashloop", vec![(Error, "api"), (Error, "web")]),
            judged("no_limits", vec![]),
        ],
    )
    .await;
    let d4 = store.diff("c", s4).await.unwrap();
    assert_eq!(names(&d4.new, |f| &f.object), ["Deployment/default/web"]);
    assert_eq!(d4.new[0].first_seen_at, at(12, 0));
    assert_eq!(
        names(&d4.resolved, |f| &f.object),
        ["Deployment/default/worker"]
    );
    let open = store.open_findings("c").await.unwrap();
    assert_eq!(
        open.iter()
            .map(|f| (f.object.as_str(), f.first_seen_scan, f.last_seen_scan))
            .collect::<Vec<_>>(),
        [
            ("Deployment/default/api", s1, s4),
            ("Deployment/default/web", s4, s4)
        ]
    );
    // The first scan: everything is new.
    let d1 = store.diff("c", s1).await.unwrap();
    assert_eq!(d1.previous, None);
    assert_eq!(
        names(&d1.new, |f| &f.object),
        ["Deployment/default/api", "Deployment/default/db"]
    );
    // A scan of another target is not this target's.
    assert!(matches!(
        store.diff("other", s1).await,
        Err(detek_hub::db::DbError::NotFound(_))
    ));
}

async fn failed_scan_keeps_last_report_and_findings(store: &Store) {
    store
        .upsert_target(&cluster("f", "core", "prod", ""))
        .await
        .unwrap();
    let report = store_list(store, "f", 0, &[judged("crashloop", vec![(Error, "api")])]).await;
    let failed = store
        .insert_scan(&NewScan::failed(
            "f",
            at(1, 0),
            at(1, 1),
            "timed out after 60s: connecting to https://10.0.0.1:6443",
        ))
        .await
        .unwrap();
    let page = store.cluster_list(&ClusterQuery::default()).await.unwrap();
    assert_eq!(page.total, 1);
    let row = &page.items[0];
    let last = row.last_scan.as_ref().unwrap();
    assert_eq!((last.id, last.status), (failed, ScanState::Failed));
    assert_eq!(
        last.error.as_deref(),
        Some("timed out after 60s: connecting to https://10.0.0.1:6443")
    );
    let last_report = row.last_report.as_ref().unwrap();
    assert_eq!((last_report.id, last_report.counts.error), (report, 1));
    assert_eq!(store.open_findings("f").await.unwrap().len(), 1);
    let stored = store.scan(failed).await.unwrap().unwrap();
    assert!(stored.report.is_none());
    assert_eq!(stored.row.duration_ms, 60_000);
}

async fn nothing_collected_counts_as_failed_with_the_collector_error(store: &Store) {
    let report = store_list(store, "u", 0, &[judged("crashloop", vec![(Error, "api")])]).await;
    // The cluster is down: every detector Unknown, the collector says why.
    let mut list = report_list("cluster:uid:u", at(1, 0), &[unknown("crashloop")]);
    list.status = detek_core::ScanStatus::NothingCollected;
    list.collectors = serde_json::from_value(serde_json::json!([{
        "id": "kubernetes/live", "ok": false, "duration_ms": 3.0,
        "error": "cannot reach the Kubernetes API server at https://10.0.0.1:6443 (context u): \
                  tcp connect error: Connection refused (os error 111)",
    }]))
    .unwrap();
    let down = store
        .insert_scan(&NewScan::from_report("u", list))
        .await
        .unwrap();
    let row = store
        .cluster_list(&ClusterQuery::default())
        .await
        .unwrap()
        .items[0]
        .clone();
    let last = row.last_scan.unwrap();
    assert_eq!((last.id, last.status), (down, ScanState::NothingCollected));
    assert_eq!(
        last.error.as_deref(),
        Some(
            "cannot reach the Kubernetes API server at https://10.0.0.1:6443 (context u): \
             tcp connect error: Connection refused (os error 111)"
        )
    );
    assert_eq!(row.last_report.unwrap().id, report);
    let open = store.open_findings("u").await.unwrap();
    assert_eq!(
        open.iter()
            .map(|f| (f.object.as_str(), f.last_seen_scan))
            .collect::<Vec<_>>(),
        [("Deployment/default/api", report)]
    );
    // Its ReportList is kept all the same.
    assert!(store.scan(down).await.unwrap().unwrap().report.is_some());
}

async fn late_older_scan_changes_no_finding(store: &Store) {
    let newest = store_list(store, "l", 5, &[judged("crashloop", vec![(Error, "api")])]).await;
    // A report pushed late, from before the newest scan: stored, findings untouched.
    let older = store_list(store, "l", 2, &[judged("crashloop", vec![(Error, "web")])]).await;
    let open = store.open_findings("l").await.unwrap();
    assert_eq!(names(&open, |f| &f.object), ["Deployment/default/api"]);
    let row = store
        .cluster_list(&ClusterQuery::default())
        .await
        .unwrap()
        .items[0]
        .clone();
    assert_eq!(row.last_scan.unwrap().id, newest);
    let history = store.scans_of("l", 10).await.unwrap();
    assert_eq!(
        history.iter().map(|s| s.id).collect::<Vec<_>>(),
        [newest, older]
    );
}

async fn demo_report_round_trip(store: &Store) {
    let json = include_str!("data/demo-report.json");
    let list: detek_core::ReportList = serde_json::from_str(json).unwrap();
    let id = store
        .insert_scan(&NewScan::from_report("demo", list.clone()))
        .await
        .unwrap();
    let stored = store.scan(id).await.unwrap().unwrap();
    assert_eq!(
        serde_json::to_value(stored.report.unwrap()).unwrap(),
        serde_json::to_value(&list).unwrap()
    );
    let row = stored.row;
    assert_eq!(
        row.identity,
        "cluster:uid:434b64bd-1a4a-4676-a2a8-a6e8a4daf5c4"
    );
    assert_eq!(
        (
            row.counts.fatal,
            row.counts.error,
            row.counts.warn,
            row.counts.unknown,
            row.counts.normal
        ),
        (0, 15, 20, 0, 57)
    );
    assert_eq!(row.counts.findings, 295);
    assert_eq!(row.worst, Error);
    assert_eq!(row.unused_score, Some(1));
    // 295 findings, 245 distinct fingerprints (some detectors report one object twice).
    assert_eq!(store.open_findings("demo").await.unwrap().len(), 245);
}

async fn cluster_list_filters_sorts_and_pages(store: &Store) {
    // 20 clusters: team a (even) / b (odd), prod for i < 10; cluster i has i Warn findings,
    // every fifth one a Fatal.
    for i in 0..20 {
        let name = format!("k{i:02}");
        let team = if i % 2 == 0 { "a" } else { "b" };
        let env = if i < 10 { "prod" } else { "dev" };
        store
            .upsert_target(&cluster(
                &name,
                team,
                env,
                &format!("Cluster {i} of 100%_done"),
            ))
            .await
            .unwrap();
        let objects: Vec<String> = (0..i).map(|o| format!("o{o}")).collect();
        let warns = objects.iter().map(|o| (Warn, o.as_str())).collect();
        let fatals = if i % 5 == 0 {
            vec![(Fatal, "core")]
        } else {
            vec![]
        };
        store_list(
            store,
            &name,
            i64::from(i),
            &[judged("no_limits", warns), judged("etcd_down", fatals)],
        )
        .await;
    }
    store
        .upsert_target(&cluster("never-scanned", "a", "prod", ""))
        .await
        .unwrap();
    let labels = store.label_values().await.unwrap();
    assert_eq!(
        (labels.teams, labels.environments, labels.regions),
        (
            vec!["a".to_string(), "b".to_string()],
            vec!["dev".to_string(), "prod".to_string()],
            vec!["eu-1".to_string()]
        )
    );

    let q = |f: &dyn Fn(&mut ClusterQuery)| {
        let mut q = ClusterQuery {
            per_page: 100,
            ..ClusterQuery::default()
        };
        f(&mut q);
        q
    };
    let list = |q: ClusterQuery| async move {
        let page = store.cluster_list(&q).await.unwrap();
        (page.total, names(&page.items, |r| &r.target.name))
    };
    let (total, all) = list(q(&|_| {})).await;
    assert_eq!(total, 21);
    assert_eq!(all.last().unwrap(), "never-scanned");

    // Search is a case-insensitive substring; % and _ are literal.
    let (total, found) = list(q(&|q| q.search = Some("CLUSTER 1".into()))).await;
    assert_eq!(total, 11);
    assert_eq!(found[..2], ["k01".to_string(), "k10".to_string()]);
    assert_eq!(list(q(&|q| q.search = Some("100%_d".into()))).await.0, 20);
    assert_eq!(list(q(&|q| q.search = Some("1000".into()))).await.0, 0);
    assert_eq!(
        list(q(&|q| q.search = Some("B@EXAMPLE".into()))).await.0,
        10
    );

    // Labels.
    let (_, team_b_dev) = list(q(&|q| {
        q.team = Some("b".into());
        q.environment = Some("dev".into());
    }))
    .await;
    assert_eq!(team_b_dev, ["k11", "k13", "k15", "k17", "k19"]);

    // Level and detector.
    let (_, fatal) = list(q(&|q| q.min_level = Some(Fatal))).await;
    assert_eq!(fatal, ["k00", "k05", "k10", "k15"]);
    let (_, warn_or_worse) = list(q(&|q| q.min_level = Some(Warn))).await;
    assert_eq!(warn_or_worse.len(), 20);
    assert!(!warn_or_worse.contains(&"never-scanned".to_string()));
    let (_, etcd) = list(q(&|q| q.detector = Some("etcd_down".into()))).await;
    assert_eq!(etcd, ["k00", "k05", "k10", "k15"]);
    let (_, no_limits_fatal) = list(q(&|q| {
        q.detector = Some("no_limits".into());
        q.min_level = Some(Fatal);
    }))
    .await;
    assert_eq!(no_limits_fatal, ["k05", "k10", "k15"]);

    // Sorts.
    let (_, by_severity) = list(q(&|q| {
        q.sort = ClusterSort::Severity;
        q.descending = true;
    }))
    .await;
    // Fatal first; among them those with a Warn report too; then by name.
    assert_eq!(
        by_severity[..5],
        ["k05", "k10", "k15", "k00", "k01"].map(String::from)
    );
    assert_eq!(by_severity.last().unwrap(), "never-scanned");
    let (_, by_findings) = list(q(&|q| {
        q.sort = ClusterSort::Findings;
        q.descending = true;
    }))
    .await;
    // k15 has 15 Warn findings and a Fatal one: 16, as many as k16; ties by name.
    assert_eq!(
        by_findings[..5],
        ["k19", "k18", "k17", "k15", "k16"].map(String::from)
    );
    let (_, by_last_scan) = list(q(&|q| q.sort = ClusterSort::LastScan)).await;
    assert_eq!(
        by_last_scan[..3],
        ["never-scanned", "k00", "k01"].map(String::from)
    );

    // Pages.
    let page = store
        .cluster_list(&ClusterQuery {
            page: 3,
            per_page: 7,
            ..ClusterQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        (page.total, page.page, page.per_page, page.pages()),
        (21, 3, 7, 3)
    );
    assert_eq!(
        names(&page.items, |r| &r.target.name),
        ["k14", "k15", "k16", "k17", "k18", "k19", "never-scanned"]
    );
    let row = &page.items[1];
    assert_eq!(row.target.team, "b");
    assert_eq!(
        row.target.locator,
        "context k15 of /etc/detek/kubeconfigs/fleet.yaml"
    );
    let counts = row.last_report.as_ref().unwrap().counts;
    assert_eq!((counts.fatal, counts.warn, counts.findings), (1, 1, 16));
    assert!(page.items[6].last_scan.is_none());
    let beyond = store
        .cluster_list(&ClusterQuery {
            page: 9,
            per_page: 7,
            ..ClusterQuery::default()
        })
        .await
        .unwrap();
    assert_eq!((beyond.total, beyond.items.len()), (21, 0));
}

async fn cluster_list_trend_is_the_last_ten_scans(store: &Store) {
    for day in 0..12 {
        let objects: Vec<String> = (0..day).map(|o| format!("o{o}")).collect();
        let warns = objects.iter().map(|o| (Warn, o.as_str())).collect();
        store_list(store, "t", day, &[judged("no_limits", warns)]).await;
    }
    store
        .insert_scan(&NewScan::failed(
            "t",
            at(12, 0),
            at(12, 0),
            "connection refused",
        ))
        .await
        .unwrap();
    let page = store.cluster_list(&ClusterQuery::default()).await.unwrap();
    let trend = &page.items[0].trend;
    assert_eq!(
        trend
            .iter()
            .map(|s| (s.status, s.counts.findings))
            .collect::<Vec<_>>(),
        [
            (ScanState::Complete, 3),
            (ScanState::Complete, 4),
            (ScanState::Complete, 5),
            (ScanState::Complete, 6),
            (ScanState::Complete, 7),
            (ScanState::Complete, 8),
            (ScanState::Complete, 9),
            (ScanState::Complete, 10),
            (ScanState::Complete, 11),
            (ScanState::Failed, 0),
        ]
    );
}

async fn detector_failures_worst_first(store: &Store) {
    store
        .upsert_target(&cluster("x", "a", "prod", ""))
        .await
        .unwrap();
    store
        .upsert_target(&cluster("y", "b", "prod", ""))
        .await
        .unwrap();
    store
        .upsert_target(&cluster("z", "a", "dev", ""))
        .await
        .unwrap();
    store_list(
        store,
        "x",
        0,
        &[judged("crashloop", vec![(Warn, "a"), (Warn, "b")])],
    )
    .await;
    store_list(
        store,
        "y",
        3,
        &[judged("crashloop", vec![(Fatal, "a"), (Warn, "b")])],
    )
    .await;
    store_list(store, "z", 1, &[judged("crashloop", vec![(Warn, "a")])]).await;
    store_list(
        store,
        "x",
        5,
        &[judged(
            "crashloop",
            vec![(Warn, "a"), (Warn, "b"), (Warn, "c")],
        )],
    )
    .await;
    let page = store
        .detector_failures("crashloop", &ClusterQuery::default())
        .await
        .unwrap();
    assert_eq!(page.total, 3);
    assert_eq!(
        page.items
            .iter()
            .map(|r| (r.target.name.as_str(), r.level, r.findings, r.since))
            .collect::<Vec<_>>(),
        [
            ("y", Fatal, 2, at(3, 0)),
            ("x", Warn, 3, at(0, 0)),
            ("z", Warn, 1, at(1, 0))
        ]
    );
    let team_a = store
        .detector_failures(
            "crashloop",
            &ClusterQuery {
                team: Some("a".into()),
                per_page: 1,
                ..ClusterQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(team_a.total, 2);
    assert_eq!(names(&team_a.items, |r| &r.target.name), ["x"]);
    assert_eq!(
        store
            .detector_failures("nope", &ClusterQuery::default())
            .await
            .unwrap()
            .total,
        0
    );
}

async fn metrics_per_target_and_detector(store: &Store) {
    store_list(
        store,
        "m",
        0,
        &[judged("crashloop", vec![(Error, "a"), (Fatal, "b")])],
    )
    .await;
    store_list(
        store,
        "m",
        1,
        &[judged("crashloop", vec![(Error, "a"), (Error, "c")])],
    )
    .await;
    store
        .insert_scan(&NewScan::failed("m", at(2, 0), at(2, 0), "unreachable"))
        .await
        .unwrap();
    store
        .insert_scan(&NewScan::failed("n", at(2, 0), at(2, 1), "unreachable"))
        .await
        .unwrap();
    let m = store.metrics().await.unwrap();
    assert_eq!(
        m.targets
            .iter()
            .map(|t| (
                t.target.as_str(),
                t.scans_total,
                t.scans_failed_total,
                t.last_scan_status,
                t.last_scan_duration_ms,
                t.last_success_at
            ))
            .collect::<Vec<_>>(),
        [
            (
                "m",
                3,
                1,
                Some(ScanState::Failed),
                Some(0),
                Some(at(1, 0) + jiff::SignedDuration::from_secs(3))
            ),
            ("n", 1, 1, Some(ScanState::Failed), Some(60_000), None),
        ]
    );
    assert_eq!(
        m.open_findings
            .iter()
            .map(|o| (o.target.as_str(), o.detector.as_str(), o.level, o.count))
            .collect::<Vec<_>>(),
        [("m", "crashloop", Error, 2)]
    );
}

async fn retention_keeps_newest(store: &Store) {
    let mut ids = Vec::new();
    for day in 0..5 {
        ids.push(store_list(store, "r", day, &[judged("crashloop", vec![])]).await);
    }
    store
        .insert_scan(&NewScan::failed("r", at(6, 0), at(6, 0), "unreachable"))
        .await
        .unwrap();
    store_list(store, "s", 0, &[judged("crashloop", vec![])]).await;
    // Keep two per target: r keeps its failed scan and its newest report, loses 4.
    let deleted = store
        .apply_retention(Retention {
            max_scans_per_target: Some(2),
            max_age_days: None,
        })
        .await
        .unwrap();
    assert_eq!(deleted, 4);
    assert_eq!(
        store
            .scans_of("r", 10)
            .await
            .unwrap()
            .iter()
            .map(|s| s.status)
            .collect::<Vec<_>>(),
        [ScanState::Failed, ScanState::Complete]
    );
    assert_eq!(store.scans_of("r", 10).await.unwrap()[1].id, ids[4]);
    // By age (all are from 2026-11, long before now): only the kept newest remain.
    let deleted = store
        .apply_retention(Retention {
            max_scans_per_target: None,
            max_age_days: Some(1),
        })
        .await
        .unwrap();
    assert_eq!(deleted, 0);
    assert_eq!(store.scan_count().await.unwrap(), 3);
}

async fn targets_upsert_and_delete(store: &Store) {
    let mut t = cluster("p", "a", "prod", "payments");
    store.upsert_target(&t).await.unwrap();
    t.description = "payments, EU".into();
    t.labels.region = "eu-2".into();
    store.upsert_target(&t).await.unwrap();
    let row = store.target("p").await.unwrap().unwrap();
    assert_eq!(
        (
            row.kind.as_str(),
            row.description.as_str(),
            row.region.as_str(),
            row.owner.as_str()
        ),
        ("kubernetes", "payments, EU", "eu-2", "a@example.com")
    );
    store_list(store, "p", 0, &[judged("crashloop", vec![(Warn, "a")])]).await;
    assert_eq!(names(&store.targets().await.unwrap(), |t| &t.name), ["p"]);
    assert!(store.delete_target("p").await.unwrap());
    assert!(!store.delete_target("p").await.unwrap());
    assert!(store.target("p").await.unwrap().is_none());
    assert_eq!(store.scan_count().await.unwrap(), 0);
    assert!(store.open_findings("p").await.unwrap().is_empty());
}

async fn ping_answers(store: &Store) {
    store.ping().await.unwrap();
}
