//! The detector page: which clusters fail a detector in their latest scan, at what level, and
//! since when (the first time the oldest of its open findings was seen).

use super::clusters::{ListParams, pager, path_segment};
use super::pages::ser;
use super::pages::{PageResult, ago, level_name, render, when};
use super::{AppState, Reader};
use crate::db::DetectorFailureRow;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use detek_core::Level;
use jiff::Timestamp;
use minijinja::context;
use serde::Serialize;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/detectors/{id}", get(detector))
}

#[derive(Serialize)]
struct FailureView<'a> {
    target: &'a str,
    description: &'a str,
    level: &'static str,
    level_rank: u8,
    findings: i64,
    since: String,
    since_text: String,
    since_epoch: i64,
    since_ago: String,
}

fn rank(level: Level) -> u8 {
    match level {
        Level::Fatal => 4,
        Level::Error => 3,
        Level::Warn => 2,
        Level::Unknown => 1,
        Level::Normal => 0,
    }
}

fn failure_view(r: &DetectorFailureRow, now: Timestamp) -> FailureView<'_> {
    FailureView {
        target: &r.target.name,
        description: &r.target.description,
        level: level_name(r.level),
        level_rank: rank(r.level),
        findings: r.findings,
        since: r.since.to_string(),
        since_text: when(r.since),
        since_epoch: r.since.as_second(),
        since_ago: ago(r.since, now),
    }
}

/// `GET /detectors/{id}`.
async fn detector(
    _reader: Reader,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<ListParams>,
) -> PageResult {
    let query = params.query()?;
    let page = state.store.detector_failures(&id, &query).await?;
    let now = Timestamp::now();
    let rows: Vec<FailureView> = page.items.iter().map(|r| failure_view(r, now)).collect();
    let path = format!("/detectors/{}", path_segment(&id));
    let pager = pager(rows, page.total, page.page, page.per_page, &params, &path);
    Ok(render(
        "detector.html",
        StatusCode::OK,
        context! {
            detector => &id,
            page => ser(&pager),
            db_unreachable => false,
        },
    ))
}
