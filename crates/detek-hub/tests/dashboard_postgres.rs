//! The dashboard on a real PostgreSQL (testenv/postgres) that stops and starts again: while
//! it is down every page still answers, quickly, and says "Database unreachable" (503);
//! `/metrics` says `detek_database_up 0`; a push is refused with 503 and stores nothing;
//! once it is back, the same pages show the same data again without restarting the hub.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::Postgres;
use detek_core::ReportList;
use detek_hub::db::Store;
use detek_hub::http::{AppState, router};
use http_body_util::BodyExt;
use std::time::{Duration, Instant};
use tower::ServiceExt;

const TOKEN: &str = "pg-token";

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, String) {
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

async fn push(app: &axum::Router, list: &ReportList) -> StatusCode {
    app.clone()
        .oneshot(
            Request::post("/api/scans")
                .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
                .body(Body::from(serde_json::to_string(list).unwrap()))
                .unwrap(),
        )
        .await
        .unwrap()
        .status()
}

fn report(name: &str) -> ReportList {
    let mut list: ReportList = serde_json::from_str(include_str!("data/demo-report.json")).unwrap();
    list.target.name = name.to_string();
    list
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_say_database_unreachable_while_postgres_is_down() {
    // A server of its own: stopping it must not disturb other tests' databases.
    let pg = Postgres::start();
    let url = pg.database("dashboard").await;
    let state = AppState::new(Store::connect(&url).await.unwrap()).with_token(Some(TOKEN.into()));
    let store = state.store.clone();
    let app = router(state);
    assert_eq!(push(&app, &report("prod-eu")).await, StatusCode::CREATED);
    let (status, before) = get(&app, "/clusters/prod-eu").await;
    assert_eq!(status, StatusCode::OK);
    assert!(before.contains("<h1 id=\"cluster-name\">prod-eu</h1>"));

    pg.stop();
    for page in ["/", "/clusters/prod-eu", "/detectors/failed_pod"] {
        let started = Instant::now();
        let (status, body) = get(&app, page).await;
        let took = started.elapsed();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{page}: {body}");
        assert!(
            body.contains("<strong>Database unreachable.</strong>"),
            "{page}: {body}"
        );
        // The pool's acquire timeout (5 s) bounds the wait.
        assert!(took < Duration::from_secs(8), "{page} took {took:?}");
    }
    let (status, metrics) = get(&app, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        metrics.lines().any(|l| l == "detek_database_up 0"),
        "{metrics}"
    );
    assert_eq!(
        push(&app, &report("prod-us")).await,
        StatusCode::SERVICE_UNAVAILABLE
    );

    pg.restart();
    // The pool reconnects on its own; give it a few tries.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = get(&app, "/clusters/prod-eu").await;
        if status == StatusCode::OK {
            assert!(body.contains("<h1 id=\"cluster-name\">prod-eu</h1>"));
            assert!(!body.contains("Database unreachable"));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still {status} after the restart"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The push refused while it was down stored nothing.
    let names: Vec<String> = store
        .targets()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["prod-eu"]);
    assert_eq!(store.scan_count().await.unwrap(), 1);
    pg.stop();
}
