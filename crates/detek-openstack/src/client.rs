//! HTTP requests to Keystone and the cloud's services: a per-request timeout, retries with
//! backoff on 429 and 5xx (honouring `Retry-After`, bounded) and on dropped connections, and a
//! bound on requests in flight — the policy of the live Kubernetes collector
//! (`detek-kubernetes-live/src/client.rs`), on the same hyper + rustls stack kube uses.
//!
//! Nothing here sees a secret in clear except the request it sends: headers and bodies are
//! never logged, and failures carry only the URL, the status and the server's message.

use crate::clouds::CloudConfig;
use bytes::Bytes;
use detek_core::retry::backoff;
pub(crate) use detek_core::retry::{human_duration as human, one_line, without_query};
use http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How requests are made: timeouts, retries, concurrency.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Time allowed for one request, answer included.
    pub request_timeout: Duration,
    /// Retries of a request answered 429 or 5xx, or whose connection broke.
    pub max_retries: u32,
    /// A `Retry-After` longer than this is not waited for: the request fails.
    pub max_retry_wait: Duration,
    /// Requests in flight at once, to all services together.
    pub concurrency: usize,
    /// Items asked for per page (`limit`).
    pub page_size: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            request_timeout: Duration::from_secs(30),
            max_retries: 3,
            max_retry_wait: Duration::from_secs(30),
            concurrency: 4,
            page_size: 1000,
        }
    }
}

/// One answer (any status).
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Why a request gave no usable answer. Its text never holds a secret: the URL (without
/// query), the status and the server's own message.
#[derive(Debug, Clone)]
pub(crate) enum Failure {
    Transport(String),
    Timeout(Duration),
    Status { code: u16, message: String },
}

impl Failure {
    pub fn describe(&self) -> String {
        match self {
            Failure::Transport(m) => m.clone(),
            Failure::Timeout(d) => {
                format!("no answer within the request timeout ({})", human(*d))
            }
            Failure::Status { code, message } => {
                let word = match code {
                    401 => "401 Unauthorized".to_string(),
                    403 => "403 Forbidden".to_string(),
                    404 => "404 Not Found".to_string(),
                    429 => "429 Too Many Requests".to_string(),
                    _ => format!(
                        "HTTP {code} {}",
                        StatusCode::from_u16(*code)
                            .ok()
                            .and_then(|s| s.canonical_reason())
                            .unwrap_or("")
                    )
                    .trim_end()
                    .to_string(),
                };
                if message.is_empty() {
                    word
                } else {
                    format!("{word}: {message}")
                }
            }
        }
    }
}

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The connection pool of one scan of one cloud, with its counters.
pub(crate) struct Http {
    client: HttpsClient,
    options: ClientOptions,
    permits: tokio::sync::Semaphore,
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub bytes: AtomicU64,
    /// Retries that happened, for the report's diagnostics.
    pub retry_notes: Mutex<Vec<String>>,
}

const USER_AGENT: &str = concat!("detek/", env!("CARGO_PKG_VERSION"));

impl Http {
    /// A client trusting the system's CA certificates and the cloud's `cacert`, if any.
    pub fn new(cloud: &CloudConfig, options: &ClientOptions) -> Result<Http, String> {
        let mut roots = rustls::RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        for cert in native.certs {
            // A system certificate rustls cannot use is skipped, as browsers do.
            let _ = roots.add(cert);
        }
        if let Some(path) = &cloud.cacert {
            use rustls_pki_types::pem::PemObject;
            let certs = rustls_pki_types::CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("cannot read cacert {}: {e}", path.display()))?;
            let mut added = 0;
            for cert in certs {
                let cert =
                    cert.map_err(|e| format!("cannot read cacert {}: {e}", path.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("cacert {}: {e}", path.display()))?;
                added += 1;
            }
            if added == 0 {
                return Err(format!(
                    "cacert {} holds no PEM certificate",
                    path.display()
                ));
            }
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS set-up: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Ok(Http {
            client,
            options: options.clone(),
            permits: tokio::sync::Semaphore::new(options.concurrency.max(1)),
            requests: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            retry_notes: Mutex::new(Vec::new()),
        })
    }

    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// Send a request and return the answer whatever its status; 429, 5xx and broken
    /// connections are retried first (bounded), with backoff.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Bytes>,
    ) -> Result<Answer, Failure> {
        let mut attempt: u32 = 0;
        loop {
            let result = {
                let _permit = self
                    .permits
                    .acquire()
                    .await
                    .expect("the semaphore is never closed");
                self.requests.fetch_add(1, Ordering::Relaxed);
                tokio::time::timeout(
                    self.options.request_timeout,
                    self.once(method.clone(), url, headers, body.clone()),
                )
                .await
            };
            let (wait, why) = match result {
                Err(_) => return Err(Failure::Timeout(self.options.request_timeout)),
                Ok(Err((failure, retryable))) => {
                    if !(retryable && attempt < self.options.max_retries) {
                        return Err(failure);
                    }
                    (backoff(attempt), failure.describe())
                }
                Ok(Ok(answer)) => {
                    let code = answer.status.as_u16();
                    let retryable = code == 429 || matches!(code, 500 | 502 | 503 | 504);
                    if !(retryable && attempt < self.options.max_retries) {
                        return Ok(answer);
                    }
                    let asked = retry_after(&answer.headers);
                    let wait = asked.unwrap_or_else(|| backoff(attempt));
                    if wait > self.options.max_retry_wait {
                        return Ok(answer);
                    }
                    (wait, format!("HTTP {code}"))
                }
            };
            attempt += 1;
            self.retries.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut notes) = self.retry_notes.lock() {
                notes.push(format!(
                    "{method} {} retried after {} ({why}), attempt {} of {}",
                    without_query(url),
                    human(wait),
                    attempt + 1,
                    self.options.max_retries + 1
                ));
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// One attempt; a transport failure says whether it may be retried (not a refused
    /// connection: nothing listens there).
    async fn once(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Bytes>,
    ) -> Result<Answer, (Failure, bool)> {
        let mut request = Request::builder()
            .method(method)
            .uri(url)
            .header(header::ACCEPT, "application/json")
            .header(header::USER_AGENT, USER_AGENT);
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(body.unwrap_or_default()))
            .map_err(|e| {
                (
                    Failure::Transport(format!("invalid request {}: {e}", without_query(url))),
                    false,
                )
            })?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| transport_failure(url, &e))?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| transport_failure(url, &e))?
            .to_bytes();
        self.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }
}

/// A non-2xx answer as a failure, with the OpenStack error message when the body has one
/// (`{"error": {"message": ...}}`, `{"itemNotFound": {"message": ...}}`, `{"faultstring": ...}`,
/// `{"NeutronError": {"message": ...}}`).
pub(crate) fn status_failure(answer: &Answer) -> Failure {
    let value: Option<serde_json::Value> = serde_json::from_slice(&answer.body).ok();
    let message = value
        .as_ref()
        .and_then(|v| {
            v.get("faultstring")
                .and_then(|m| m.as_str())
                .map(str::to_string)
                .or_else(|| {
                    v.as_object()?
                        .values()
                        .find_map(|inner| inner.get("message")?.as_str().map(str::to_string))
                })
        })
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(&answer.body);
            text.lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(200)
                .collect()
        });
    Failure::Status {
        code: answer.status.as_u16(),
        message: one_line(&message),
    }
}

fn transport_failure(url: &str, err: &(dyn std::error::Error + 'static)) -> (Failure, bool) {
    let mut parts: Vec<String> = Vec::new();
    let mut refused = false;
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            refused |= io.kind() == std::io::ErrorKind::ConnectionRefused;
        }
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) && !text.starts_with("client error (") {
            parts.push(text);
        }
        source = e.source();
    }
    (
        Failure::Transport(one_line(&format!(
            "{}: {}",
            without_query(url),
            parts.join(": ")
        ))),
        !refused,
    )
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    detek_core::retry::retry_after(headers.get(header::RETRY_AFTER)?.to_str().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded() {
        for attempt in 0..40 {
            let d = backoff(attempt);
            assert!(d <= Duration::from_millis(9_600), "{d:?}");
            assert!(d >= Duration::from_millis(200), "{d:?}");
        }
    }

    #[test]
    fn openstack_error_bodies_give_their_message() {
        let answer = |code: u16, body: &str| Answer {
            status: StatusCode::from_u16(code).unwrap(),
            headers: HeaderMap::new(),
            body: Bytes::from(body.to_string()),
        };
        assert_eq!(
            status_failure(&answer(
                401,
                r#"{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}"#
            ))
            .describe(),
            "401 Unauthorized: The request you have made requires authentication."
        );
        assert_eq!(
            status_failure(&answer(
                403,
                r#"{"forbidden": {"code": 403, "message": "Policy doesn't allow os_compute_api:os-services:list to be performed."}}"#
            ))
            .describe(),
            "403 Forbidden: Policy doesn't allow os_compute_api:os-services:list to be performed."
        );
        assert_eq!(
            status_failure(&answer(503, "<html>\n<body>down</body>")).describe(),
            "HTTP 503 Service Unavailable: <html>"
        );
    }
}
