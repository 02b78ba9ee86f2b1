//! What every client of a remote service does alike (the Kubernetes API server, Keystone and the
//! OpenStack services): how long to wait before a retry, how a server's `Retry-After` is read,
//! and how durations, URLs and server messages are shown in one line.

use std::time::Duration;

/// 250 ms, 500 ms, 1 s, 2 s, ... capped at 8 s, with ±20% jitter so that concurrent requests
/// do not retry in lockstep.
pub fn backoff(attempt: u32) -> Duration {
    let base = 250u64.saturating_mul(1 << attempt.min(5)).min(8_000);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let jitter = (nanos % 401) as i64 - 200; // -200..=200 per mille
    let ms = base as i64 + base as i64 * jitter / 1000;
    Duration::from_millis(ms.max(1) as u64)
}

/// A `Retry-After` header value in seconds (the form API servers send); `None` otherwise.
pub fn retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// `30s`, `1.5s`, `250ms`: a duration as `--request-timeout` takes it.
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 && s.fract() == 0.0 {
        format!("{}s", s as u64)
    } else if s >= 1.0 {
        format!("{s:.1}s")
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// A URL or path without its query (markers, continue tokens and filters are noise in messages).
pub fn without_query(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

/// A server's message on one line, whitespace runs folded.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_durations_queries_and_messages_briefly() {
        assert_eq!(human_duration(Duration::from_secs(30)), "30s");
        assert_eq!(human_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(human_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(without_query("/api/v1/pods?limit=500"), "/api/v1/pods");
        assert_eq!(one_line(" a\n  b\tc "), "a b c");
        assert_eq!(retry_after(" 2 "), Some(Duration::from_secs(2)));
        assert_eq!(retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}
