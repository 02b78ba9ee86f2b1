//! Rendering the dashboard's pages: the minijinja environment (auto-escaping with
//! detek-render's escaper), the response headers every page carries, the static style and
//! script, and the HTML form of [`Error`].

use super::{AppState, Error};
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use jiff::Timestamp;
use minijinja::{Environment, Value};
use std::sync::OnceLock;

const STYLE: &str = include_str!("../../templates/hub.css");
const SCRIPT: &str = include_str!("../../templates/hub.js");

/// Only our stylesheet and script, nothing fetched from elsewhere, no inline code (an
/// injected `<script>` or `onclick` would not run); the report frame only from the hub.
const PAGE_CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; \
     frame-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        // The escaping of `detek run -f html` (control characters replaced too).
        let mut env = detek_render::escaping_environment();
        // One URL path segment: unlike minijinja's `urlencode`, `/` is encoded too, so a
        // name with a slash stays one segment.
        env.add_filter("segment", |value: &str| {
            super::clusters::path_segment(value)
        });
        for (name, source) in [
            ("base.html", include_str!("../../templates/base.html")),
            ("macros.html", include_str!("../../templates/macros.html")),
            (
                "clusters.html",
                include_str!("../../templates/clusters.html"),
            ),
            ("cluster.html", include_str!("../../templates/cluster.html")),
            (
                "detector.html",
                include_str!("../../templates/detector.html"),
            ),
            ("error.html", include_str!("../../templates/error.html")),
        ] {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("template {name}: {e:#}"));
        }
        env
    })
}

/// `value` as a template value (through serde).
pub(crate) fn ser<T: serde::Serialize>(value: T) -> Value {
    Value::from(minijinja::value::Serde(value))
}

/// `template` rendered with `context` (plus `version`), as a page response with our headers.
pub(crate) fn render(template: &str, status: StatusCode, context: Value) -> Response {
    let context = minijinja::context! { version => env!("CARGO_PKG_VERSION"), ..context };
    let body = environment()
        .get_template(template)
        .and_then(|t| t.render(context));
    match body {
        Ok(body) => page_response(status, body),
        Err(e) => {
            eprintln!("detek serve: template {template}: {e:#}");
            page_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "<!DOCTYPE html><title>detek hub</title><p>internal error (see the hub's log)</p>"
                    .to_string(),
            )
        }
    }
}

fn page_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, Html(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A page handler's error: the same [`Error`], answered as an HTML page. When the database
/// does not answer, the page says so (and the status is 503) instead of failing blank.
pub(crate) struct PageError(pub Error);

impl From<Error> for PageError {
    fn from(e: Error) -> Self {
        PageError(e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let error = self.0;
        error.log();
        let unreachable = matches!(error, Error::DatabaseUnreachable(_));
        let mut response = render(
            "error.html",
            error.status(),
            minijinja::context! {
                status => format!("{} {}", error.status().as_u16(),
                    error.status().canonical_reason().unwrap_or("")),
                message => error.to_string(),
                db_unreachable => unreachable,
            },
        );
        if matches!(error, Error::Unauthorized | Error::InvalidToken) {
            // A browser asks for the token (as the password) when reads need it.
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"detek\", charset=\"UTF-8\""),
            );
        }
        response
    }
}

pub(crate) type PageResult = std::result::Result<Response, PageError>;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/static/hub.css", get(style))
        .route("/static/hub.js", get(script))
        .route("/healthz", get(healthz))
}

async fn style() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE)
}

async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        SCRIPT,
    )
}

/// 200 `ok` when the database answers, 503 otherwise: for a liveness/readiness probe.
async fn healthz(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n").into_response(),
    }
}

/// 404 for any other path: JSON under `/api/`, a page elsewhere.
pub(crate) async fn not_found(uri: axum::http::Uri) -> Response {
    let error = Error::NotFound(uri.path().to_string());
    if uri.path().starts_with("/api/") {
        error.into_response()
    } else {
        PageError(error).into_response()
    }
}

/// A level as the pages name it (and their CSS classes): `fatal`, `error`, `warn`, …
pub(crate) fn level_name(level: detek_core::Level) -> &'static str {
    use detek_core::Level;
    match level {
        Level::Fatal => "fatal",
        Level::Error => "error",
        Level::Warn => "warn",
        Level::Unknown => "unknown",
        Level::Normal => "normal",
    }
}

/// A time as the pages show it: `2026-01-13 19:00 UTC`.
pub(crate) fn when(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// "3 hours ago", "2 days ago", "just now": how long before `now` `then` was.
pub fn ago(then: Timestamp, now: Timestamp) -> String {
    let seconds = (now.as_second() - then.as_second()).max(0);
    let (n, unit) = match seconds {
        0..60 => return "just now".to_string(),
        60..3_600 => (seconds / 60, "minute"),
        3_600..86_400 => (seconds / 3_600, "hour"),
        _ => (seconds / 86_400, "day"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

/// `value` shown as a duration: "850 ms", "12.3 s", "4 min 5 s".
pub(crate) fn duration_ms(ms: i64) -> String {
    match ms {
        ..1_000 => format!("{} ms", ms.max(0)),
        1_000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ago_in_words() {
        let now: Timestamp = "2026-01-10T12:00:00Z".parse().unwrap();
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        assert_eq!(ago(at("2026-01-10T11:59:30Z"), now), "just now");
        assert_eq!(ago(at("2026-01-10T11:59:00Z"), now), "1 minute ago");
        assert_eq!(ago(at("2026-01-10T09:00:00Z"), now), "3 hours ago");
        assert_eq!(ago(at("2026-01-09T12:00:00Z"), now), "1 day ago");
        assert_eq!(ago(at("2025-12-27T12:00:00Z"), now), "14 days ago");
        assert_eq!(ago(at("2026-01-11T12:00:00Z"), now), "just now");
    }

    #[test]
    fn durations_in_words() {
        assert_eq!(duration_ms(850), "850 ms");
        assert_eq!(duration_ms(12_345), "12.3 s");
        assert_eq!(duration_ms(245_000), "4 min 5 s");
    }
}
