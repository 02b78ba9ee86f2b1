//! The Prometheus HTTP API (`/api/v1/query`, `/api/v1/query_range`, `/api/v1/alerts`,
//! `/api/v1/targets`, `/api/v1/status/buildinfo`), answers read into the model's types.

use crate::client::{Answer, ClientOptions, Endpoint, Http, status_line};
use crate::model::{Alert, Labels, ScrapeTarget, Series};
use serde::Deserialize;

/// A client of one Prometheus server.
pub struct PrometheusApi {
    http: Http,
}

#[derive(Deserialize)]
struct Envelope<T> {
    status: String,
    data: Option<T>,
    error: Option<String>,
    #[serde(rename = "errorType")]
    error_type: Option<String>,
}

#[derive(Deserialize)]
struct QueryData {
    #[serde(rename = "resultType")]
    result_type: String,
    result: serde_json::Value,
}

#[derive(Deserialize)]
struct VectorItem {
    metric: Labels,
    value: (f64, String),
}

#[derive(Deserialize)]
struct MatrixItem {
    metric: Labels,
    values: Vec<(f64, String)>,
}

#[derive(Deserialize)]
struct AlertsData {
    alerts: Vec<RawAlert>,
}

#[derive(Deserialize)]
struct RawAlert {
    labels: Labels,
    #[serde(default)]
    annotations: Labels,
    state: String,
    #[serde(rename = "activeAt")]
    active_at: Option<String>,
    value: Option<String>,
}

#[derive(Deserialize)]
struct TargetsData {
    #[serde(rename = "activeTargets")]
    active_targets: Vec<RawTarget>,
}

#[derive(Deserialize)]
struct RawTarget {
    labels: Labels,
    #[serde(rename = "scrapeUrl", default)]
    scrape_url: String,
    #[serde(default)]
    health: String,
    #[serde(rename = "lastError", default)]
    last_error: String,
}

/// Percent-encode a query parameter (application/x-www-form-urlencoded).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3 / 2);
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn parse_value(text: &str) -> f64 {
    match text {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        _ => text.parse().unwrap_or(f64::NAN),
    }
}

impl PrometheusApi {
    pub fn new(endpoint: &Endpoint, options: &ClientOptions) -> Result<PrometheusApi, String> {
        Ok(PrometheusApi {
            http: Http::new(endpoint, options)?,
        })
    }

    pub fn url(&self) -> &str {
        &self.http.endpoint().url
    }

    async fn get<T: for<'de> Deserialize<'de>>(&self, path_and_query: &str) -> Result<T, String> {
        let url = format!("{}{}", self.url(), path_and_query);
        let answer: Answer = self.http.get(&url, "application/json").await?;
        let envelope: Option<Envelope<T>> = serde_json::from_slice(&answer.body).ok();
        if !answer.status.is_success() {
            return Err(status_line(&url, &answer));
        }
        let envelope = envelope.ok_or_else(|| {
            format!(
                "{}: the answer is not a Prometheus API response (HTTP {})",
                detek_core::retry::without_query(&url),
                answer.status.as_u16()
            )
        })?;
        if envelope.status != "success" {
            return Err(format!(
                "{}: {}: {}",
                detek_core::retry::without_query(&url),
                envelope.error_type.unwrap_or_default(),
                envelope.error.unwrap_or_default()
            ));
        }
        envelope
            .data
            .ok_or_else(|| "a success without data".to_string())
    }

    /// Whether the server answers as Prometheus, and its version.
    pub async fn version(&self) -> Result<String, String> {
        let data: serde_json::Value = self.get("/api/v1/status/buildinfo").await?;
        Ok(data
            .get("version")
            .and_then(|v| v.as_str())
            .unwrap_or("unknown")
            .to_string())
    }

    /// An instant query at `time` (seconds since the epoch).
    pub async fn query(&self, promql: &str, time: f64) -> Result<Vec<Series>, String> {
        let data: QueryData = self
            .get(&format!(
                "/api/v1/query?query={}&time={time:.3}",
                encode(promql)
            ))
            .await?;
        match data.result_type.as_str() {
            "vector" => {
                let items: Vec<VectorItem> = serde_json::from_value(data.result)
                    .map_err(|e| format!("query result: {e}"))?;
                Ok(items
                    .into_iter()
                    .map(|i| Series {
                        labels: i.metric,
                        points: vec![(i.value.0, parse_value(&i.value.1))],
                    })
                    .collect())
            }
            "scalar" => {
                let (t, v): (f64, String) = serde_json::from_value(data.result)
                    .map_err(|e| format!("query result: {e}"))?;
                Ok(vec![Series {
                    labels: Labels::new(),
                    points: vec![(t, parse_value(&v))],
                }])
            }
            other => Err(format!("query {promql:?} returned a {other}, not a vector")),
        }
    }

    /// A range query from `start` to `end` every `step` seconds.
    pub async fn query_range(
        &self,
        promql: &str,
        start: f64,
        end: f64,
        step: f64,
    ) -> Result<Vec<Series>, String> {
        let data: QueryData = self
            .get(&format!(
                "/api/v1/query_range?query={}&start={start:.3}&end={end:.3}&step={step}",
                encode(promql)
            ))
            .await?;
        if data.result_type != "matrix" {
            return Err(format!(
                "query {promql:?} returned a {}, not a matrix",
                data.result_type
            ));
        }
        let items: Vec<MatrixItem> =
            serde_json::from_value(data.result).map_err(|e| format!("query result: {e}"))?;
        Ok(items
            .into_iter()
            .map(|i| Series {
                labels: i.metric,
                points: i
                    .values
                    .into_iter()
                    .map(|(t, v)| (t, parse_value(&v)))
                    .collect(),
            })
            .collect())
    }

    pub async fn alerts(&self) -> Result<Vec<Alert>, String> {
        let data: AlertsData = self.get("/api/v1/alerts").await?;
        Ok(data
            .alerts
            .into_iter()
            .map(|a| Alert {
                labels: a.labels,
                annotations: a.annotations,
                state: a.state,
                active_at: a.active_at,
                value: a.value,
            })
            .collect())
    }

    pub async fn targets(&self) -> Result<Vec<ScrapeTarget>, String> {
        let data: TargetsData = self.get("/api/v1/targets?state=active").await?;
        Ok(data
            .active_targets
            .into_iter()
            .map(|t| ScrapeTarget {
                labels: t.labels,
                scrape_url: t.scrape_url,
                health: t.health,
                last_error: t.last_error,
            })
            .collect())
    }
}
