//! The Cost Explorer collector: one `GetCostAndUsage` question per scan — daily
//! `UnblendedCost` grouped by the `SERVICE` dimension, over the days `cloud_cost_anomaly`
//! needs (its `window_days` + `judged_days`) ending the day before the end date (today, UTC,
//! unless given) — every page followed, and the answer written to `cost/daily-by-service`.
//!
//! The official SDK does the work that must be right: the standard credential chain of
//! `aws-config` (environment variables, the shared `~/.aws/config` and `~/.aws/credentials`
//! files, `AWS_PROFILE` or an explicit profile, SSO, `credential_process`, web identity,
//! container and instance metadata), SigV4 signing, retries, and the endpoint (Cost
//! Explorer's `https://ce.us-east-1.amazonaws.com`, or an override: [`CostOptions::endpoint`],
//! `AWS_ENDPOINT_URL_COST_EXPLORER`, `AWS_ENDPOINT_URL`).
//!
//! A failure — no credentials, a refused signature or key, a missing permission, a timeout —
//! fails the key with one reason, so `cloud_cost_anomaly` is `Unknown` with it. Reasons never
//! hold a key, a secret or a token: they name the error code and the first line of the
//! service's message only (an `InvalidSignatureException`'s further lines echo the canonical
//! request, which holds the session token of temporary credentials).

use crate::detectors::CostAnomalySettings;
use crate::model::{DAILY_BY_SERVICE, DailyCosts, Day, ServiceCosts};
use aws_sdk_costexplorer::config::ProvideCredentials;
use aws_sdk_costexplorer::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_costexplorer::types::{
    DateInterval, Granularity, GroupDefinition, GroupDefinitionType,
};
use detek_core::{BoxFuture, CollectContext, CollectError, Collector, CollectorMeta, Produced};
use jiff::civil::Date;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// The detector whose settings say how many days to read.
const DETECTOR: &str = "cloud_cost_anomaly";
/// The metric asked for and read.
pub const METRIC: &str = "UnblendedCost";
/// Cost Explorer's region: its one endpoint of the `aws` partition is in us-east-1, and
/// requests are signed for it whatever the profile's region.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Where and how to ask.
#[derive(Debug, Clone)]
pub struct CostOptions {
    /// The profile of the shared config/credentials files (`--aws-profile`); `None`: the
    /// credential chain's own choice (`AWS_PROFILE`, else `default`).
    pub profile: Option<String>,
    /// The endpoint to send requests to instead of Cost Explorer's (a replay, a proxy).
    /// `AWS_ENDPOINT_URL_COST_EXPLORER` and `AWS_ENDPOINT_URL` are honoured without it.
    pub endpoint: Option<String>,
    /// The region requests are signed for (default [`DEFAULT_REGION`]; `cn-northwest-1` for
    /// the China partition).
    pub region: String,
    /// The exclusive end of the period: its last day is the day before. `None`: today (UTC).
    pub end: Option<Date>,
    /// Time allowed for one attempt of a request (and for connecting).
    pub request_timeout: Duration,
    /// Pages followed at most; a longer answer fails the key rather than loop.
    pub max_pages: usize,
    /// Shared config and credentials files to read instead of the standard locations (tests).
    pub profile_files: Option<ProfileFilePaths>,
}

/// Explicit shared config and credentials files.
#[derive(Debug, Clone, Default)]
pub struct ProfileFilePaths {
    pub config: Option<PathBuf>,
    pub credentials: Option<PathBuf>,
}

impl Default for CostOptions {
    fn default() -> Self {
        CostOptions {
            profile: None,
            endpoint: None,
            region: DEFAULT_REGION.to_string(),
            end: None,
            request_timeout: Duration::from_secs(30),
            max_pages: 100,
            profile_files: None,
        }
    }
}

impl CostOptions {
    /// How messages name the source: "AWS Cost Explorer (profile prod)".
    pub fn source(&self) -> String {
        match &self.profile {
            Some(p) => format!("AWS Cost Explorer (profile {p})"),
            None => "AWS Cost Explorer".to_string(),
        }
    }
}

/// Produces `cost/daily-by-service` from AWS Cost Explorer.
pub struct CostExplorerCollector {
    meta: CollectorMeta,
    options: CostOptions,
}

impl CostExplorerCollector {
    pub fn new(options: CostOptions) -> Self {
        CostExplorerCollector {
            meta: CollectorMeta {
                id: "cost/aws-cost-explorer",
                description: "daily cost per service from AWS Cost Explorer (GetCostAndUsage)",
                labels: vec!["cost", "aws"],
                requires: vec![],
                produces: vec![DAILY_BY_SERVICE.id()],
            },
            options,
        }
    }

    pub fn options(&self) -> &CostOptions {
        &self.options
    }
}

impl Collector for CostExplorerCollector {
    fn meta(&self) -> &CollectorMeta {
        &self.meta
    }

    fn collect<'a>(
        &'a self,
        ctx: CollectContext<'a>,
    ) -> BoxFuture<'a, Result<Produced, CollectError>> {
        Box::pin(async move {
            let settings: CostAnomalySettings = ctx
                .settings
                .detector(DETECTOR)
                .map_err(|e| CollectError::new(e.to_string()))?;
            let end = self.options.end.unwrap_or_else(today_utc);
            let start = end
                .checked_sub(jiff::Span::new().days(i64::from(settings.days_needed())))
                .map_err(|e| CollectError::new(format!("the period before {end}: {e}")))?;
            let mut produced = Produced::new();
            match read(&self.options, start, end).await {
                Ok((costs, pages)) => {
                    produced.stat("cost_pages", pages as u64);
                    produced.stat("cost_days", costs.days.len() as u64);
                    produced.stat("cost_services", costs.services.len() as u64);
                    produced.put(&DAILY_BY_SERVICE, costs);
                }
                Err(reason) => produced.fail(DAILY_BY_SERVICE.id(), reason),
            }
            Ok(produced)
        })
    }
}

fn today_utc() -> Date {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
}

/// The SDK's configuration from the standard chain, with our overrides.
async fn sdk_config(options: &CostOptions) -> aws_config::SdkConfig {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(options.request_timeout)
        .operation_attempt_timeout(options.request_timeout)
        .build();
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(options.region.clone()))
        .timeout_config(timeouts);
    if let Some(profile) = &options.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(endpoint) = &options.endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    if let Some(files) = &options.profile_files {
        #[allow(deprecated)] // the alias of aws_runtime's EnvConfigFiles, without that crate
        {
            use aws_config::profile::profile_file::{ProfileFileKind, ProfileFiles};
            let mut builder = ProfileFiles::builder();
            if let Some(config) = &files.config {
                builder = builder.with_file(ProfileFileKind::Config, config);
            }
            if let Some(credentials) = &files.credentials {
                builder = builder.with_file(ProfileFileKind::Credentials, credentials);
            }
            loader = loader.profile_files(builder.build());
        }
    }
    loader.load().await
}

/// Ask Cost Explorer for `start`..`end` (exclusive), every page: the costs and the number of
/// pages, or why not.
pub async fn read(
    options: &CostOptions,
    start: Date,
    end: Date,
) -> Result<(DailyCosts, usize), String> {
    let source = options.source();
    let sdk = sdk_config(options).await;
    // Credentials first: "none found" is a clearer reason than the request's dispatch failure.
    let Some(provider) = sdk.credentials_provider() else {
        return Err(format!(
            "{source}: no AWS credentials provider is configured"
        ));
    };
    if let Err(e) = provider.provide_credentials().await {
        // The chain's error names each provider tried and why it gave nothing (no secret:
        // none was found).
        return Err(format!(
            "{source}: no AWS credentials: {}",
            one_line(&DisplayErrorContext(&e).to_string(), 800)
        ));
    }
    let client = aws_sdk_costexplorer::Client::new(&sdk);
    let period = DateInterval::builder()
        .start(start.to_string())
        .end(end.to_string())
        .build()
        .map_err(|e| format!("{source}: {e}"))?;
    let group = GroupDefinition::builder()
        .r#type(GroupDefinitionType::Dimension)
        .key("SERVICE")
        .build();
    let mut answer = Answer::default();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let output = client
            .get_cost_and_usage()
            .time_period(period.clone())
            .granularity(Granularity::Daily)
            .metrics(METRIC)
            .group_by(group.clone())
            .set_next_page_token(token.take())
            .send()
            .await
            .map_err(|e| format!("{source}: GetCostAndUsage: {}", describe(&e, options)))?;
        pages += 1;
        answer
            .add(output.results_by_time())
            .map_err(|e| format!("{source}: GetCostAndUsage: {e}"))?;
        match output.next_page_token() {
            Some(next) if !next.is_empty() => {
                if pages >= options.max_pages {
                    return Err(format!(
                        "{source}: GetCostAndUsage: still more pages after {pages}; the period \
                         {start}..{end} is too long to read"
                    ));
                }
                token = Some(next.to_string());
            }
            _ => break,
        }
    }
    Ok((answer.finish(source), pages))
}

/// The pages read so far.
#[derive(Default)]
struct Answer {
    /// Day → estimated.
    days: BTreeMap<Date, bool>,
    /// Service → (unit, day → amount).
    services: BTreeMap<String, (String, BTreeMap<Date, f64>)>,
}

impl Answer {
    fn add(&mut self, results: &[aws_sdk_costexplorer::types::ResultByTime]) -> Result<(), String> {
        for result in results {
            let Some(period) = result.time_period() else {
                return Err("a result without its TimePeriod".into());
            };
            let date: Date = period
                .start()
                .parse()
                .map_err(|e| format!("TimePeriod.Start {:?}: {e}", period.start()))?;
            self.days.insert(date, result.estimated());
            for group in result.groups() {
                let Some(service) = group.keys().first() else {
                    continue;
                };
                let Some(metric) = group.metrics().and_then(|m| m.get(METRIC)) else {
                    continue;
                };
                let amount = metric.amount().unwrap_or("0");
                let amount: f64 = amount.trim().parse().map_err(|_| {
                    format!("{date} {service}: {METRIC} {amount:?} is not a number")
                })?;
                let entry = self
                    .services
                    .entry(service.clone())
                    .or_insert_with(|| (metric.unit().unwrap_or("").to_string(), BTreeMap::new()));
                *entry.1.entry(date).or_default() += amount;
            }
        }
        Ok(())
    }

    fn finish(self, source: String) -> DailyCosts {
        let days: Vec<Day> = self
            .days
            .iter()
            .map(|(date, estimated)| Day {
                date: *date,
                estimated: *estimated,
            })
            .collect();
        let services = self
            .services
            .into_iter()
            .map(|(service, (unit, amounts))| ServiceCosts {
                service,
                unit,
                amounts: days
                    .iter()
                    .map(|d| amounts.get(&d.date).copied().unwrap_or(0.0))
                    .collect(),
            })
            .collect();
        DailyCosts {
            source,
            metric: METRIC.to_string(),
            days,
            services,
        }
    }
}

/// Why a request failed, in words, without anything secret: the error code, the HTTP status
/// and the first line of the service's message.
fn describe<E, R>(error: &SdkError<E, R>, options: &CostOptions) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match error {
        SdkError::ServiceError(service) => {
            let err = service.err();
            let code = err.code().unwrap_or("an unknown error");
            let message = err.message().map(first_line).unwrap_or_default();
            let said = if message.is_empty() {
                String::new()
            } else {
                format!(": {message}")
            };
            let hint = match code {
                "InvalidSignatureException" | "SignatureDoesNotMatch" => {
                    "the request's signature was refused (check the secret access key and the \
                     clock)"
                }
                "UnrecognizedClientException" | "InvalidClientTokenId" => {
                    "the access key id or session token is not known"
                }
                "ExpiredTokenException" => "the credentials have expired",
                "AccessDeniedException" => "the credentials may not call ce:GetCostAndUsage",
                "MissingAuthenticationTokenException" => "the request was not signed",
                "LimitExceededException" | "ThrottlingException" => {
                    "Cost Explorer is throttling requests"
                }
                "DataUnavailableException" => "Cost Explorer has no data for the period",
                _ => "refused",
            };
            format!("{hint}: {code}{said}")
        }
        SdkError::TimeoutError(_) => format!(
            "no answer within {:?} (request timeout)",
            options.request_timeout
        ),
        SdkError::DispatchFailure(_) => format!(
            "cannot reach Cost Explorer: {}",
            first_line(&DisplayErrorContext(error).to_string())
        ),
        _ => first_line(&DisplayErrorContext(error).to_string()),
    }
}

/// The first line of a message, at most 300 characters.
fn first_line(text: &str) -> String {
    cut(text.lines().next().unwrap_or("").trim(), 300)
}

/// Every line of a message on one, separated by "; ", at most `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    cut(&lines.join("; ").replace(":;", ":"), max)
}

fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_line_cuts_what_follows() {
        assert_eq!(
            first_line(
                "The request signature we calculated does not match.\n\nThe Canonical String\n'x-amz-security-token:abc'"
            ),
            "The request signature we calculated does not match."
        );
        assert_eq!(first_line(&"a".repeat(400)).chars().count(), 301);
        assert_eq!(
            one_line(
                "no credentials found in chain. Attempted:\n  Environment: not set\n  Profile: none",
                800
            ),
            "no credentials found in chain. Attempted: Environment: not set; Profile: none"
        );
    }
}
