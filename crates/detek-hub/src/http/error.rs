//! The one error type of every handler. A response says what the client can act on (which
//! status, and a sentence); what went wrong inside (a database error, a template bug) is
//! written to the server's log and never sent.

use crate::db::DbError;
use axum::Json;
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 401: no `Authorization: Bearer …` header where one is needed.
    #[error("this needs a bearer token: send `Authorization: Bearer <token>`")]
    Unauthorized,
    /// 401: a bearer token, but not the hub's.
    #[error("the bearer token is not valid")]
    InvalidToken,
    /// 403: the hub was started without a token, so it accepts no write at all.
    #[error("writes are disabled: the hub was started without --token (or DETEK_HUB_TOKEN)")]
    WritesDisabled,
    /// 404.
    #[error("{0} not found")]
    NotFound(String),
    /// 400: the request itself is wrong (a body that is not a report, a bad parameter); the
    /// sentence names what, and only repeats what the client sent.
    #[error("{0}")]
    BadRequest(String),
    /// 413: a body over the hub's limit.
    #[error("the body is larger than the hub accepts ({limit} bytes)")]
    PayloadTooLarge { limit: usize },
    /// 503: the database does not answer (the page says "database unreachable").
    #[error("database unreachable")]
    DatabaseUnreachable(#[source] anyhow::Error),
    /// 500: anything else; logged, never shown.
    #[error("internal error (see the hub's log)")]
    Internal(#[source] anyhow::Error),
}

impl Error {
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Unauthorized | Error::InvalidToken => StatusCode::UNAUTHORIZED,
            Error::WritesDisabled => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::DatabaseUnreachable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Log what the client is not told.
    pub(crate) fn log(&self) {
        match self {
            Error::DatabaseUnreachable(e) => eprintln!("detek serve: database unreachable: {e:#}"),
            Error::Internal(e) => eprintln!("detek serve: internal error: {e:#}"),
            _ => {}
        }
    }

    /// The `WWW-Authenticate` challenge of a 401 (RFC 6750 §3).
    fn challenge(&self) -> Option<HeaderValue> {
        match self {
            Error::Unauthorized => Some(HeaderValue::from_static("Bearer realm=\"detek\"")),
            Error::InvalidToken => Some(HeaderValue::from_static(
                "Bearer realm=\"detek\", error=\"invalid_token\"",
            )),
            _ => None,
        }
    }
}

/// JSON: `{"error": "<sentence>"}` with the status.
impl IntoResponse for Error {
    fn into_response(self) -> Response {
        self.log();
        let mut response =
            (self.status(), Json(json!({ "error": self.to_string() }))).into_response();
        if let Some(challenge) = self.challenge() {
            response.headers_mut().insert(WWW_AUTHENTICATE, challenge);
        }
        response
    }
}

impl From<DbError> for Error {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unreachable(_) => Error::DatabaseUnreachable(e.into()),
            DbError::NotFound(what) => Error::NotFound(what),
            e => Error::Internal(e.into()),
        }
    }
}

impl From<DbError> for super::pages::PageError {
    fn from(e: DbError) -> Self {
        super::pages::PageError(e.into())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
