//! Findings in the API: what changed in a scan against the previous one (new, resolved,
//! still open with the days open), and which targets fail a detector.

use super::clusters::ListParams;
use super::{AppState, Error, Reader};
use crate::db::{DetectorFailureRow, Page, ScanDiff, ScanId, ScanState};
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/targets/{name}/diff", get(diff))
        .route("/api/detectors/{id}/failures", get(failures))
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct DiffParams {
    /// The scan to compare with its previous one; the newest scan with a report when absent.
    scan: String,
}

/// `GET /api/targets/{name}/diff?scan=ID`.
async fn diff(
    _reader: Reader,
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(params): Query<DiffParams>,
) -> Result<Json<ScanDiff>, Error> {
    let store = &state.store;
    if store.target(&name).await?.is_none() {
        return Err(Error::NotFound(format!("target {name:?}")));
    }
    let scan = match params.scan.trim() {
        "" => store
            .scans_of(&name, 100)
            .await?
            .into_iter()
            .find(|s| s.status != ScanState::Failed)
            .map(|s| s.id)
            .ok_or_else(|| Error::NotFound(format!("a scan with a report of target {name:?}")))?,
        s => ScanId(s.parse().map_err(|_| {
            Error::BadRequest(format!(
                "scan must be a scan id (a whole number), not {s:?}"
            ))
        })?),
    };
    // The store answers NotFound (404) when the scan is not this target's.
    Ok(Json(store.diff(&name, scan).await?))
}

/// `GET /api/detectors/{id}/failures`: the targets failing it, with the list's filters.
async fn failures(
    _reader: Reader,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<ListParams>,
) -> Result<Json<Page<DetectorFailureRow>>, Error> {
    Ok(Json(
        state.store.detector_failures(&id, &params.query()?).await?,
    ))
}
