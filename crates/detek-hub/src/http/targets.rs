//! Targets in the API: the list (the cluster list's rows, with the same filters, sorting and
//! pages), one target, and registering, editing and removing one (writes need the token).

use super::clusters::ListParams;
use super::{AppState, Error, Reader, Writer};
use crate::db::{ClusterRow, Page, TargetRow};
use crate::targets::{TargetLabels, TargetSource, TargetSpec};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/targets", get(list))
        .route("/api/targets/{name}", get(one).put(put).delete(delete))
}

/// `GET /api/targets`: `q`, `team`, `environment`, `region`, `level`, `detector`, `sort`,
/// `page`, `per_page` as on the cluster list.
async fn list(
    _reader: Reader,
    State(state): State<AppState>,
    Query(params): Query<ListParams>,
) -> Result<Json<Page<ClusterRow>>, Error> {
    Ok(Json(state.store.cluster_list(&params.query()?).await?))
}

async fn one(
    _reader: Reader,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<TargetRow>, Error> {
    state
        .store
        .target(&name)
        .await?
        .map(Json)
        .ok_or_else(|| Error::NotFound(format!("target {name:?}")))
}

/// The body of `PUT /api/targets/{name}`: what the registry holds about a target. Where its
/// credentials are is named (`kind` with a context, kubeconfig path or cloud); credentials
/// themselves are never taken.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetBody {
    #[serde(flatten)]
    source: Option<TargetSource>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    labels: TargetLabels,
}

/// `PUT /api/targets/{name}`: register or edit; 200 with the stored row.
async fn put(
    _writer: Writer,
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<TargetRow>), Error> {
    let body: TargetBody = serde_json::from_slice(&body)
        .map_err(|e| Error::BadRequest(format!("the body is not a target: {e}")))?;
    let spec = TargetSpec {
        name: name.clone(),
        source: body.source.unwrap_or(TargetSource::Pushed),
        description: body.description,
        owner: body.owner,
        labels: body.labels,
    };
    state.store.upsert_target(&spec).await?;
    let row = state.store.target(&name).await?.ok_or_else(|| {
        Error::Internal(anyhow::anyhow!(
            "target {name:?} not found after its upsert"
        ))
    })?;
    Ok((StatusCode::OK, Json(row)))
}

/// `DELETE /api/targets/{name}`: 204, or 404 when there was none.
async fn delete(
    _writer: Writer,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<StatusCode, Error> {
    if state.store.delete_target(&name).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Error::NotFound(format!("target {name:?}")))
    }
}
