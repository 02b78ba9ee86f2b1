//! The hub's web layer: the dashboard (server-rendered HTML), the JSON REST API, `/metrics`
//! and the OpenAPI document, on one axum router.
//!
//! One module per resource: `clusters` (the cluster list, the seed page, and a cluster's
//! page), `detectors` (which clusters fail a detector), `targets`, `scans` and `findings`
//! (the API), `metrics`, `openapi`. Every handler returns [`Error`] on failure: the client is
//! told the status and a sentence, never an internal detail. Writes need the bearer token
//! ([`auth::Writer`]); reads need it only with `token_for_reads`.

mod auth;
mod clusters;
mod detectors;
mod error;
mod findings;
mod metrics;
mod openapi;
mod pages;
mod scans;
mod targets;

pub use auth::{Reader, Writer};
pub use error::{Error, Result};
pub use pages::ago;

use crate::db::Store;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use std::sync::Arc;
use tower_http::set_header::SetResponseHeaderLayer;

/// The default largest body `POST /api/scans` takes: a ReportList of a big cluster is a few
/// MiB; 64 MiB leaves room and still refuses a runaway upload.
pub const DEFAULT_MAX_BODY: usize = 64 * 1024 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<Store>,
    /// The bearer token writes need (`None`: the hub takes no writes).
    pub token: Option<Arc<str>>,
    /// Reads need the token too.
    pub token_for_reads: bool,
    /// Largest request body, in bytes.
    pub max_body: usize,
}

impl AppState {
    pub fn new(store: Store) -> AppState {
        AppState {
            store: Arc::new(store),
            token: None,
            token_for_reads: false,
            max_body: DEFAULT_MAX_BODY,
        }
    }

    pub fn with_token(mut self, token: Option<String>) -> AppState {
        self.token = token.filter(|t| !t.is_empty()).map(Arc::from);
        self
    }
}

/// Every route of the hub.
pub fn router(state: AppState) -> Router {
    let max_body = state.max_body;
    Router::new()
        .merge(clusters::router())
        .merge(detectors::router())
        .merge(targets::router())
        .merge(scans::router())
        .merge(findings::router())
        .merge(metrics::router())
        .merge(openapi::router())
        .merge(pages::router())
        .fallback(pages::not_found)
        // `PUT /api/targets` reads its small body whole; `POST /api/scans` reads its own,
        // with its own limit and a JSON 413.
        .layer(DefaultBodyLimit::max(max_body))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .with_state(state)
}

/// Serve the hub on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    axum::serve(listener, router(state)).await
}
