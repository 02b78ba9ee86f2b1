//! The Cost Explorer collector and `cloud_cost_anomaly` through the engine, against the replay
//! of `testenv/aws/ce-replay.py` (Python standard library; every request's SigV4 signature
//! verified with the test credentials of testenv/aws/README.md). The credentials reach the
//! SDK through its standard chain: a shared credentials file and a profile (the environment
//! variables are tested through the binary, crates/detek/tests/cost_scan.rs). Network:
//! 127.0.0.1 only.
//!
//! The scenarios (testenv/aws/scenarios/SOURCES.md) cover 2025-06-01..2025-06-30; the
//! collector's end date is 2025-07-01, so the period read (window + judged days, 21 by
//! default) is 2025-06-10..2025-06-30.

use detek_core::{Clock, Collector, Report, ReportList, ReportResult, RunOptions, Settings};
use detek_cost::collector::{CostExplorerCollector, CostOptions, ProfileFilePaths};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const TEMPORARY_SECRET: &str = "tEmPoRaRyExAmPlEsEcReT/K7MDENG+bPxRfiCYEXAMPLE";
const SESSION_TOKEN: &str =
    "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKENforDETEKce-replay//////////wEXAMPLE=";
/// The example secret with its last characters changed: the replay knows the key id, and the
/// signature made with this secret does not verify.
const WRONG_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYWRONGKEY00";

const EC2: &str = "Amazon Elastic Compute Cloud - Compute";
const SPIKE: &str = "Amazon Elastic Compute Cloud - Compute: 379.82 USD on 2025-06-27, 3.97× \
                     the mean of the 7 days before (95.60 USD; threshold 2×)";
const SPIKE_EVIDENCE: &str =
    "UnblendedCost 2025-06-27: 379.816 USD; mean of 2025-06-20..2025-06-26: 95.5978 USD";

/// The replay server of this test binary for (scenario, days per page): its port; its log
/// goes to a file of `workdir()`.
fn replay(scenario: &str, page_days: u32) -> u16 {
    let log = workdir()
        .path()
        .join(format!("ce-replay-{scenario}-{page_days}.log"));
    detek_cost::testing::replay(scenario, page_days, Some(&log))
}

/// A directory for this binary: the shared credentials and config files, the replay logs.
fn workdir() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("detek-cost-")
            .tempdir()
            .unwrap();
        std::fs::write(
            dir.path().join("credentials"),
            format!(
                "[replay]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = {SECRET}\n\n\
                 [temporary]\naws_access_key_id = ASIAEXAMPLETEMPORARY\n\
                 aws_secret_access_key = {TEMPORARY_SECRET}\naws_session_token = {SESSION_TOKEN}\n\n\
                 [wrong-secret]\naws_access_key_id = AKIDEXAMPLE\n\
                 aws_secret_access_key = {WRONG_SECRET}\n\n\
                 [temporary-wrong-secret]\naws_access_key_id = ASIAEXAMPLETEMPORARY\n\
                 aws_secret_access_key = {WRONG_SECRET}\naws_session_token = {SESSION_TOKEN}\n\n\
                 [unknown-key]\naws_access_key_id = AKIDUNKNOWNTOTHEREPLAY\n\
                 aws_secret_access_key = {SECRET}\n"
            ),
        )
        .unwrap();
        // A profile region elsewhere: Cost Explorer requests are still signed for us-east-1.
        std::fs::write(
            dir.path().join("config"),
            "[profile replay]\nregion = eu-west-1\n\n[profile temporary]\nregion = ap-south-1\n",
        )
        .unwrap();
        dir
    })
}

fn options(profile: &str, port: u16) -> CostOptions {
    CostOptions {
        profile: Some(profile.to_string()),
        endpoint: Some(format!("http://127.0.0.1:{port}")),
        end: Some("2025-07-01".parse().unwrap()),
        request_timeout: Duration::from_secs(10),
        profile_files: Some(ProfileFilePaths {
            config: Some(workdir().path().join("config")),
            credentials: Some(workdir().path().join("credentials")),
        }),
        ..CostOptions::default()
    }
}

fn scan_with(options: CostOptions, settings: Settings) -> ReportList {
    let collectors: Vec<Arc<dyn Collector>> = vec![Arc::new(CostExplorerCollector::new(options))];
    let run = RunOptions {
        settings,
        clock: Clock::Fixed,
        ..Default::default()
    };
    detek_core::run_selected(
        detek_cost::all(),
        &["cloud_cost_anomaly"],
        &collectors,
        &run,
    )
}

fn scan(profile: &str, scenario: &str, page_days: u32) -> ReportList {
    scan_with(
        options(profile, replay(scenario, page_days)),
        Settings::default(),
    )
}

fn report(list: &ReportList) -> &Report {
    list.reports
        .iter()
        .find(|r| r.id == "cloud_cost_anomaly")
        .unwrap_or_else(|| panic!("no report; skipped: {:?}", list.skipped))
}

fn stat(list: &ReportList, name: &str) -> u64 {
    list.collectors
        .iter()
        .find(|c| c.id == "cost/aws-cost-explorer")
        .and_then(|c| c.stats.get(name).copied())
        .unwrap_or_else(|| panic!("no stat {name}: {:?}", list.collectors))
}

fn assert_spike(list: &ReportList) {
    let r = report(list);
    assert_eq!(r.result, ReportResult::Findings, "{r:?}");
    assert_eq!(r.findings.len(), 1, "{:?}", r.findings);
    let f = &r.findings[0];
    assert_eq!(f.message, SPIKE);
    assert_eq!(f.evidence, [SPIKE_EVIDENCE]);
    let object = f.object.as_ref().unwrap();
    assert_eq!(
        (
            object.kind.as_str(),
            object.namespace.as_deref(),
            object.name.as_str()
        ),
        ("CloudService", None, EC2)
    );
    assert_eq!(r.evaluated, Some(5));
}

#[test]
fn a_spike_in_one_service_is_one_finding_with_the_numbers() {
    let list = scan("replay", "spike", 10);
    assert_spike(&list);
    // 2025-06-10..2025-06-30 in pages of 10 days.
    assert_eq!(stat(&list, "cost_days"), 21);
    assert_eq!(stat(&list, "cost_pages"), 3);
    assert_eq!(stat(&list, "cost_services"), 5);
}

#[test]
fn a_flat_series_passes() {
    let list = scan("replay", "flat", 10);
    let r = report(&list);
    assert_eq!(r.result, ReportResult::Passed, "{r:?}");
    assert!(r.findings.is_empty());
    assert_eq!(r.evaluated, Some(5));
}

#[test]
fn every_page_is_followed() {
    // 21 days in pages of 3: seven requests, each with the previous page's token, each signed.
    let list = scan("replay", "spike", 3);
    assert_spike(&list);
    assert_eq!(stat(&list, "cost_pages"), 7);
    assert_eq!(stat(&list, "cost_days"), 21);
}

#[test]
fn temporary_credentials_sign_their_session_token() {
    let list = scan("temporary", "spike", 3);
    assert_spike(&list);
}

#[test]
fn a_wrong_secret_is_refused_and_the_detector_is_unknown_without_secrets() {
    for profile in ["wrong-secret", "temporary-wrong-secret"] {
        let list = scan(profile, "spike", 10);
        let r = report(&list);
        assert_eq!(r.result, ReportResult::Unknown, "{profile}: {r:?}");
        assert!(r.findings.is_empty());
        let reason = r.error.as_deref().unwrap();
        assert_eq!(
            reason,
            format!(
                "not run: input cost/daily-by-service unavailable: AWS Cost Explorer (profile \
                 {profile}): GetCostAndUsage: the request's signature was refused (check the \
                 secret access key and the clock): InvalidSignatureException: The request \
                 signature we calculated does not match the signature you provided. Check \
                 your AWS Secret Access Key and signing method. Consult the service \
                 documentation for details."
            )
        );
        for secret in [SECRET, WRONG_SECRET, TEMPORARY_SECRET, SESSION_TOKEN] {
            assert!(
                !reason.contains(secret),
                "{profile}: the reason holds a secret"
            );
        }
        // The collector's status carries the same reason, once.
        let status = &list.collectors[0];
        assert_eq!(
            status
                .failed_keys
                .get("cost/daily-by-service")
                .map(String::as_str),
            reason.strip_prefix("not run: input cost/daily-by-service unavailable: ")
        );
    }
    // The replay logged the refusal.
    let log = std::fs::read_to_string(workdir().path().join("ce-replay-spike-10.log")).unwrap();
    assert!(
        log.contains("verdict=InvalidSignatureException"),
        "replay log:\n{log}"
    );
}

#[test]
fn an_unknown_access_key_is_refused() {
    let list = scan("unknown-key", "spike", 10);
    let r = report(&list);
    assert_eq!(r.result, ReportResult::Unknown, "{r:?}");
    assert_eq!(
        r.error.as_deref().unwrap(),
        "not run: input cost/daily-by-service unavailable: AWS Cost Explorer (profile \
         unknown-key): GetCostAndUsage: the access key id or session token is not known: \
         UnrecognizedClientException: The security token included in the request is invalid."
    );
}

#[test]
fn settings_change_the_verdict() {
    let port = replay("spike", 10);
    // A ratio above the spike's 3.97: no finding.
    let mut settings = Settings::default();
    settings.set("cloud_cost_anomaly.ratio", 4.5);
    let r = scan_with(options("replay", port), settings);
    assert_eq!(report(&r).result, ReportResult::Passed);
    // EC2 ignored: no finding, four services judged.
    let mut settings = Settings::default();
    settings.set(
        "cloud_cost_anomaly.ignore_services",
        serde_json::json!([EC2]),
    );
    let r = scan_with(options("replay", port), settings);
    assert_eq!(report(&r).result, ReportResult::Passed);
    assert_eq!(report(&r).evaluated, Some(4));
    // Judging only the last 3 days (2025-06-28..30): the spike is outside; 10 days are read.
    let mut settings = Settings::default();
    settings.set("cloud_cost_anomaly.judged_days", 3);
    let r = scan_with(options("replay", port), settings);
    assert_eq!(report(&r).result, ReportResult::Passed);
    assert_eq!(stat(&r, "cost_days"), 10);
}
