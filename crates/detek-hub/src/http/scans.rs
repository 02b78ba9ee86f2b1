//! Scans in the API: a target's scans, one scan with its ReportList, and `POST /api/scans`,
//! which stores a ReportList produced elsewhere (`detek run -f json | curl --data-binary @-`),
//! so clusters behind firewalls can push.
//!
//! A push is checked whole before anything is written: the token, the size, the JSON, the
//! report's schema version and target name. A refused push stores nothing.

use super::clusters::ListParams;
use super::{AppState, Error, Reader, Writer};
use crate::db::{NewScan, ScanId, ScanRow, StoredScan};
use crate::targets::TargetSpec;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use detek_core::ReportList;
use detek_core::report::SCHEMA_VERSION;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/scans", post(push))
        .route("/api/scans/{id}", get(scan))
        .route("/api/targets/{name}/scans", get(scans_of))
}

/// The longest target name the hub takes (a DNS subdomain's limit).
const MAX_NAME: usize = 253;

/// `detek run -f json` with several clusters: `{"schemaVersion", "tool", "version", "clusters": [...]}`.
#[derive(Deserialize)]
struct Many {
    clusters: Vec<ReportList>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PushParams {
    /// Store the report under this target name instead of the report's own.
    target: String,
    /// Makes a retried push idempotent: the same id stores the scan once.
    scan_id: String,
}

/// The body as bytes, refused with 413 beyond `limit` (by its Content-Length at once, or
/// while it is read when there is none).
async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<axum::body::Bytes, Error> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(Error::PayloadTooLarge { limit });
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let too_large = std::error::Error::source(&e)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
        if too_large {
            Error::PayloadTooLarge { limit }
        } else {
            Error::BadRequest(format!("the body could not be read: {e}"))
        }
    })
}

/// The ReportLists of a pushed body: one ReportList, or the several-cluster document.
fn parse_reports(body: &[u8]) -> Result<Vec<ReportList>, Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::BadRequest(
            "the body is empty: send the JSON of `detek run -f json`".to_string(),
        ));
    }
    let one = &mut serde_json::Deserializer::from_slice(body);
    let first_error = match serde_path_to_error::deserialize::<_, ReportList>(one) {
        Ok(list) => return Ok(vec![list]),
        Err(e) => e,
    };
    if let Ok(many) = serde_json::from_slice::<Many>(body) {
        return Ok(many.clusters);
    }
    let path = first_error.path().to_string();
    let inner = first_error.into_inner();
    Err(Error::BadRequest(if path == "." || path.is_empty() {
        format!("the body is not a detek report (the JSON of `detek run -f json`): {inner}")
    } else {
        format!(
            "the body is not a detek report (the JSON of `detek run -f json`): at {path}: {inner}"
        )
    }))
}

fn check_name(name: &str) -> Result<(), Error> {
    if name.trim().is_empty() {
        return Err(Error::BadRequest(
            "the report names no target: set `target.name` or pass ?target=NAME".to_string(),
        ));
    }
    if name.chars().count() > MAX_NAME {
        return Err(Error::BadRequest(format!(
            "the target name is longer than {MAX_NAME} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::BadRequest(
            "the target name holds control characters".to_string(),
        ));
    }
    Ok(())
}

#[derive(Serialize)]
struct Stored {
    id: ScanId,
    target: String,
}

/// `POST /api/scans`: 201 with the stored scans' ids.
async fn push(
    _writer: Writer,
    State(state): State<AppState>,
    Query(params): Query<PushParams>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Error> {
    let body = read_body(&headers, body, state.max_body).await?;
    let lists = parse_reports(&body)?;
    if lists.is_empty() {
        return Err(Error::BadRequest("the body holds no report".to_string()));
    }
    if !params.target.is_empty() && lists.len() > 1 {
        return Err(Error::BadRequest(
            "?target= names one target; the body holds several reports (each is stored under its own target.name)"
                .to_string(),
        ));
    }
    let scan_id = match params.scan_id.trim() {
        "" => None,
        s => Some(
            Uuid::parse_str(s)
                .map_err(|_| Error::BadRequest(format!("scan_id must be a UUID, not {s:?}")))?,
        ),
    };
    if scan_id.is_some() && lists.len() > 1 {
        return Err(Error::BadRequest(
            "scan_id names one scan; the body holds several reports".to_string(),
        ));
    }
    let mut scans = Vec::with_capacity(lists.len());
    for list in lists {
        if list.schema_version != SCHEMA_VERSION {
            return Err(Error::BadRequest(format!(
                "schemaVersion {} is not one this hub reads ({SCHEMA_VERSION})",
                list.schema_version
            )));
        }
        let name = if params.target.is_empty() {
            list.target.name.clone()
        } else {
            params.target.clone()
        };
        check_name(&name)?;
        let mut scan = NewScan::from_report(name, list);
        if let Some(id) = scan_id {
            scan.uuid = id;
        }
        scans.push(scan);
    }
    // Everything checked: now write.
    let mut stored = Vec::with_capacity(scans.len());
    for scan in scans {
        if state.store.target(&scan.target).await?.is_none() {
            state
                .store
                .upsert_target(&TargetSpec::pushed(scan.target.clone()))
                .await?;
        }
        let id = state.store.insert_scan(&scan).await?;
        stored.push(Stored {
            id,
            target: scan.target,
        });
    }
    Ok((StatusCode::CREATED, Json(json!({ "scans": stored }))).into_response())
}

/// `GET /api/scans/{id}`: the scan with its ReportList.
async fn scan(
    _reader: Reader,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<StoredScan>, Error> {
    let not_found = || Error::NotFound(format!("scan {id:?}"));
    let n: i64 = id.parse().map_err(|_| not_found())?;
    let scan = state.store.scan(ScanId(n)).await?.ok_or_else(not_found)?;
    Ok(Json(scan))
}

/// `GET /api/targets/{name}/scans?per_page=N`: the newest scans first.
async fn scans_of(
    _reader: Reader,
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(params): Query<ListParams>,
) -> Result<Json<Vec<ScanRow>>, Error> {
    let query = params.query()?;
    if state.store.target(&name).await?.is_none() {
        return Err(Error::NotFound(format!("target {name:?}")));
    }
    Ok(Json(state.store.scans_of(&name, query.per_page).await?))
}
