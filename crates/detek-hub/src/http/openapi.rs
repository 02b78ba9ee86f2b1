//! The OpenAPI document of the REST API (`crates/detek-hub/openapi.json`, kept in the
//! repository), served at `/api/openapi.json`.

use super::AppState;
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

pub const OPENAPI: &str = include_str!("../../openapi.json");

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/api/openapi.json", get(document))
}

async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}
