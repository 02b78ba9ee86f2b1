//! GET requests to the API server with a timeout, and retries with backoff on 429 and 5xx
//! (honouring `Retry-After`) and on dropped connections.
//!
//! kube's own retry layer is switched off (`default_retry = false`) so that the policy is in
//! one place, counted, and reported.

use super::LiveOptions;
use bytes::Bytes;
pub(crate) use detek_core::retry::human_duration as human;
use detek_core::retry::{backoff, one_line, without_query};
use http::{HeaderMap, Request, StatusCode, header};
use kube::client::Body;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// One answer of the server (any status).
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Why a request gave no usable answer.
#[derive(Debug, Clone)]
pub(crate) enum Failure {
    /// No connection or the connection broke: the message is the root cause.
    Transport { message: String, refused: bool },
    /// No complete answer within the request timeout.
    Timeout(Duration),
    /// The server answered with an error status (after retries, for retryable ones).
    Status {
        code: u16,
        /// `reason` of the `metav1.Status` body (`Forbidden`, `NotFound`, ...), or the HTTP
        /// reason phrase.
        reason: String,
        message: String,
    },
}

impl Failure {
    pub fn code(&self) -> Option<u16> {
        match self {
            Failure::Status { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// One line, lower-case first word: `forbidden: pods is forbidden: User ...`.
    pub fn describe(&self) -> String {
        match self {
            Failure::Transport { message, .. } => message.clone(),
            Failure::Timeout(d) => format!("no answer within the request timeout ({})", human(*d)),
            Failure::Status {
                code,
                reason,
                message,
            } => {
                let word = match code {
                    401 => "unauthorized".to_string(),
                    403 => "forbidden".to_string(),
                    404 => "not found".to_string(),
                    429 => "too many requests".to_string(),
                    _ => format!("HTTP {code} {reason}"),
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

/// The API server connection used by one scan.
pub(crate) struct Api {
    client: kube::Client,
    pub server: String,
    timeout: Duration,
    max_retries: u32,
    max_retry_wait: Duration,
    /// Requests in flight at once, whatever they are for (discovery, lists, health).
    permits: tokio::sync::Semaphore,
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub bytes: AtomicU64,
    /// Retries that happened, for the report's diagnostics.
    pub retry_notes: Mutex<Vec<String>>,
}

const USER_AGENT: &str = concat!("detek/", env!("CARGO_PKG_VERSION"));

impl Api {
    pub fn new(client: kube::Client, server: String, options: &LiveOptions) -> Api {
        Api {
            client,
            server,
            timeout: options.request_timeout,
            max_retries: options.max_retries,
            max_retry_wait: options.max_retry_wait,
            permits: tokio::sync::Semaphore::new(options.concurrency.max(1)),
            requests: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            retry_notes: Mutex::new(Vec::new()),
        }
    }

    /// GET `path` and return the answer whatever its status; 429 and 5xx are retried first
    /// when `retry` is set.
    pub async fn get_any(&self, path: &str, accept: &str, retry: bool) -> Result<Answer, Failure> {
        let mut attempt: u32 = 0;
        loop {
            let result = {
                let _permit = self
                    .permits
                    .acquire()
                    .await
                    .expect("the semaphore is never closed");
                self.requests.fetch_add(1, Ordering::Relaxed);
                tokio::time::timeout(self.timeout, self.once(path, accept)).await
            };
            let wait_reason = match result {
                Err(_) => return Err(Failure::Timeout(self.timeout)),
                Ok(Err(failure)) => {
                    let retryable = matches!(&failure, Failure::Transport { refused: false, .. });
                    if !(retry && retryable && attempt < self.max_retries) {
                        return Err(failure);
                    }
                    (backoff(attempt), failure.describe())
                }
                Ok(Ok(answer)) => {
                    let code = answer.status.as_u16();
                    let retryable = code == 429 || matches!(code, 500 | 502 | 503 | 504);
                    if !(retry && retryable && attempt < self.max_retries) {
                        return Ok(answer);
                    }
                    let asked = retry_after(&answer.headers);
                    let wait = asked.unwrap_or_else(|| backoff(attempt));
                    if wait > self.max_retry_wait {
                        // Waiting that long would exceed what the user allowed: give up now.
                        return Ok(answer);
                    }
                    let what = match asked {
                        Some(d) => format!("HTTP {code}, Retry-After {}", human(d)),
                        None => format!("HTTP {code}"),
                    };
                    (wait, what)
                }
            };
            let (wait, why) = wait_reason;
            attempt += 1;
            self.retries.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut notes) = self.retry_notes.lock() {
                notes.push(format!(
                    "GET {} retried after {} ({why}), attempt {} of {}",
                    without_query(path),
                    human(wait),
                    attempt + 1,
                    self.max_retries + 1
                ));
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// GET `path`, expecting 2xx.
    pub async fn get(&self, path: &str, accept: &str) -> Result<Answer, Failure> {
        let answer = self.get_any(path, accept, true).await?;
        if answer.status.is_success() {
            Ok(answer)
        } else {
            Err(status_failure(&answer))
        }
    }

    async fn once(&self, path: &str, accept: &str) -> Result<Answer, Failure> {
        let request = Request::get(path)
            .header(header::ACCEPT, accept)
            .header(header::USER_AGENT, USER_AGENT)
            .body(Body::empty())
            .map_err(|e| Failure::Transport {
                message: format!("invalid request {path}: {e}"),
                refused: false,
            })?;
        let response = self.client.send(request).await.map_err(transport_failure)?;
        let (parts, body) = response.into_parts();
        let body = body.collect_bytes().await.map_err(transport_failure)?;
        self.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }
}

/// A non-2xx answer as a failure, with the `metav1.Status` message when the body is one.
pub(crate) fn status_failure(answer: &Answer) -> Failure {
    let code = answer.status.as_u16();
    let status: Option<serde_json::Value> = serde_json::from_slice(&answer.body).ok();
    let field = |name: &str| {
        status
            .as_ref()
            .and_then(|s| s.get(name))
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
    };
    let message = field("message").unwrap_or_else(|| {
        // Not a Status: the first line of the body, bounded.
        let text = String::from_utf8_lossy(&answer.body);
        text.lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(200)
            .collect()
    });
    Failure::Status {
        code,
        reason: field("reason")
            .unwrap_or_else(|| answer.status.canonical_reason().unwrap_or("").to_string()),
        message: one_line(&message),
    }
}

fn transport_failure(err: kube::Error) -> Failure {
    let mut parts: Vec<String> = Vec::new();
    let mut refused = false;
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            refused |= io.kind() == std::io::ErrorKind::ConnectionRefused;
        }
        parts.push(e.to_string());
        source = e.source();
    }
    // Keep the causes, not the generic wrappers around them ("ServiceError: client error
    // (Connect): ..."), and each piece once.
    let generic = |p: &str| {
        p.starts_with("ServiceError")
            || p.starts_with("HyperError")
            || p.starts_with("client error (")
    };
    let mut kept: Vec<String> = Vec::new();
    for p in parts.iter().filter(|p| !generic(p)) {
        if !kept.iter().any(|k| k.contains(p.as_str())) {
            kept.push(p.clone());
        }
    }
    if kept.is_empty() {
        kept = parts;
    }
    Failure::Transport {
        message: one_line(&kept.join(": ")),
        refused,
    }
}

/// `Retry-After` in seconds (the form the API server sends).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    detek_core::retry::retry_after(headers.get(header::RETRY_AFTER)?.to_str().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let a = backoff(0).as_millis();
        assert!((200..=300).contains(&a), "{a}");
        let c = backoff(10).as_millis();
        assert!((6_400..=9_600).contains(&c), "{c}");
    }

    #[test]
    fn retry_after_is_read_in_seconds() {
        let mut h = HeaderMap::new();
        h.insert(header::RETRY_AFTER, "2".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert(
            header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn a_status_body_gives_reason_and_message() {
        let answer = Answer {
            status: StatusCode::FORBIDDEN,
            headers: HeaderMap::new(),
            body: Bytes::from_static(
                br#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"pods is forbidden: User \"limited\" cannot list resource \"pods\"","reason":"Forbidden","code":403}"#,
            ),
        };
        let f = status_failure(&answer);
        assert_eq!(f.code(), Some(403));
        assert_eq!(
            f.describe(),
            r#"forbidden: pods is forbidden: User "limited" cannot list resource "pods""#
        );
    }
}
