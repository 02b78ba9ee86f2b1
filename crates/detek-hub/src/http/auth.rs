//! Bearer-token checks, as extractors: a handler that writes takes a [`Writer`], one that
//! reads takes a [`Reader`]. Tokens travel only in the `Authorization` header (never in a
//! cookie), so no browser sends one on its own and no form can be forged against the hub.

use super::pages::PageError;
use super::{AppState, Error};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

/// Proof that the request carries the hub's token. Without `--token` the hub takes no writes.
#[derive(Debug)]
pub struct Writer;

/// Proof that the request may read: always, unless the hub was started with
/// `--token-for-reads`, then only with the token.
#[derive(Debug)]
pub struct Reader;

/// The token of an `Authorization: Bearer <token>` header, if there is one; with
/// `basic_too`, also the password of `Authorization: Basic …` (how a browser sends what it
/// asked its user for). Writes never take Basic: a browser would send it on its own.
fn presented(parts: &Parts, basic_too: bool) -> Result<Option<String>, Error> {
    let Some(value) = parts.headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| Error::InvalidToken)?;
    let (scheme, credential) = value.split_once(' ').ok_or(Error::InvalidToken)?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Ok(Some(credential.trim().to_string()));
    }
    if basic_too && scheme.eq_ignore_ascii_case("basic") {
        use base64::Engine;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(credential.trim())
            .map_err(|_| Error::InvalidToken)?;
        let decoded = String::from_utf8(decoded).map_err(|_| Error::InvalidToken)?;
        let (_user, password) = decoded.split_once(':').ok_or(Error::InvalidToken)?;
        return Ok(Some(password.to_string()));
    }
    Err(Error::Unauthorized)
}

/// Compares in time independent of where the first difference is, so the token cannot be
/// guessed byte by byte from response times.
fn same_token(given: &str, expected: &str) -> bool {
    let (a, b) = (given.as_bytes(), expected.as_bytes());
    let mut diff = a.len() ^ b.len();
    for (i, x) in b.iter().enumerate() {
        diff |= usize::from(a.get(i).copied().unwrap_or(0) ^ x);
    }
    diff == 0
}

fn check(parts: &Parts, expected: &str, basic_too: bool) -> Result<(), Error> {
    match presented(parts, basic_too)? {
        None => Err(Error::Unauthorized),
        Some(given) if same_token(&given, expected) => Ok(()),
        Some(_) => Err(Error::InvalidToken),
    }
}

impl FromRequestParts<AppState> for Writer {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let expected = state.token.as_deref().ok_or(Error::WritesDisabled)?;
        check(parts, expected, false).map(|()| Writer)
    }
}

/// A refused read answers in the form of what was asked: JSON under `/api/`, a page (with
/// the Basic challenge a browser answers) elsewhere.
impl FromRequestParts<AppState> for Reader {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let checked = match state.token.as_deref() {
            Some(expected) if state.token_for_reads => check(parts, expected, true),
            _ => Ok(()),
        };
        checked.map(|()| Reader).map_err(|e| {
            if parts.uri.path().starts_with("/api/") {
                e.into_response()
            } else {
                PageError(e).into_response()
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::same_token;

    #[test]
    fn tokens_compare_whole() {
        assert!(same_token("s3cret", "s3cret"));
        assert!(!same_token("s3cre", "s3cret"));
        assert!(!same_token("s3cret!", "s3cret"));
        assert!(!same_token("", "s3cret"));
        assert!(!same_token("S3cret", "s3cret"));
    }
}
