//! The API server's own health: `/readyz?verbose` and `/livez?verbose` (`/healthz?verbose` on
//! servers older than 1.16, which have neither).
//!
//! The verbose bodies list one check per line (`[+]etcd ok`, `[-]etcd failed: reason
//! withheld`, `[+]shutdown excluded: ok`) and end with `readyz check passed|failed`. They are
//! kept as parsed facts in [`ApiServerHealth`] under [`APISERVER_HEALTH`]; only a live scan
//! produces that key, so detectors reading it are skipped on snapshots.

use detek_core::Key;
use serde::{Deserialize, Serialize};

/// Health of the API server that was scanned (live scans only).
pub const APISERVER_HEALTH: Key<ApiServerHealth> = Key::new("kubernetes/apiserver-health");

/// What the health endpoints said.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiServerHealth {
    /// The server's URL, for messages.
    pub server: String,
    /// One entry per endpoint asked (`/readyz`, `/livez`, or `/healthz` as a fallback).
    pub endpoints: Vec<HealthEndpoint>,
}

/// The answer of one health endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthEndpoint {
    /// `/readyz`, `/livez` or `/healthz`.
    pub path: String,
    /// HTTP status, `None` when no answer came (timeout, connection reset).
    pub http_status: Option<u16>,
    /// Why there was no usable answer, when there was none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The individual checks, in the server's order.
    pub checks: Vec<HealthCheck>,
    /// The body's last line, e.g. `readyz check failed`.
    #[serde(default)]
    pub summary: String,
}

/// One line of a verbose health body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheck {
    /// e.g. `etcd`, `poststarthook/rbac/bootstrap-roles`.
    pub name: String,
    pub ok: bool,
    /// The check was excluded by the caller (`[+]name excluded: ok`).
    #[serde(default)]
    pub excluded: bool,
    /// Text after the name when the check failed (`reason withheld`, an error).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

impl HealthEndpoint {
    /// Build from an HTTP answer: status and body text.
    pub fn from_response(path: &str, status: u16, body: &str) -> HealthEndpoint {
        let mut checks = Vec::new();
        let mut summary = String::new();
        for line in body.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if let Some(check) = parse_check(line) {
                checks.push(check);
            } else {
                summary = line.to_string();
            }
        }
        HealthEndpoint {
            path: path.to_string(),
            http_status: Some(status),
            error: None,
            checks,
            summary,
        }
    }

    /// No answer: `error` says why.
    pub fn unanswered(path: &str, error: impl Into<String>) -> HealthEndpoint {
        HealthEndpoint {
            path: path.to_string(),
            error: Some(error.into()),
            ..Default::default()
        }
    }

    /// The endpoint answered 200 and no check failed.
    pub fn healthy(&self) -> bool {
        self.http_status == Some(200) && self.error.is_none() && self.checks.iter().all(|c| c.ok)
    }

    pub fn failed_checks(&self) -> impl Iterator<Item = &HealthCheck> {
        self.checks.iter().filter(|c| !c.ok)
    }
}

impl ApiServerHealth {
    pub fn healthy(&self) -> bool {
        self.endpoints.iter().all(HealthEndpoint::healthy)
    }
}

/// `[+]name ok`, `[-]name failed: reason`, `[+]name excluded: ok`.
fn parse_check(line: &str) -> Option<HealthCheck> {
    let (ok, rest) = if let Some(rest) = line.strip_prefix("[+]") {
        (true, rest)
    } else if let Some(rest) = line.strip_prefix("[-]") {
        (false, rest)
    } else {
        return None;
    };
    let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
    let tail = tail.trim();
    let excluded = tail.starts_with("excluded");
    let message = if ok {
        String::new()
    } else {
        tail.strip_prefix("failed:")
            .or_else(|| tail.strip_prefix("failed"))
            .unwrap_or(tail)
            .trim()
            .to_string()
    };
    Some(HealthCheck {
        name: name.to_string(),
        ok,
        excluded,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_failing_readyz_body() {
        let body = "[+]ping ok\n[+]log ok\n[-]etcd failed: reason withheld\n[+]shutdown excluded: ok\nreadyz check failed\n";
        let e = HealthEndpoint::from_response("/readyz", 500, body);
        assert_eq!(e.checks.len(), 4);
        assert!(!e.healthy());
        let failed: Vec<_> = e.failed_checks().collect();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].name, "etcd");
        assert_eq!(failed[0].message, "reason withheld");
        assert!(e.checks[3].excluded && e.checks[3].ok);
        assert_eq!(e.summary, "readyz check failed");
    }

    #[test]
    fn a_200_with_all_checks_ok_is_healthy() {
        let e = HealthEndpoint::from_response("/livez", 200, "[+]ping ok\nlivez check passed");
        assert!(e.healthy());
        assert!(!HealthEndpoint::unanswered("/livez", "timed out").healthy());
    }
}
