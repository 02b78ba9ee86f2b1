//! `detek run --aws-cost` end to end: the binary against the Cost Explorer replay of
//! `testenv/aws/` (every request's SigV4 signature verified with the test credentials of
//! testenv/aws/README.md), credentials given the standard ways — environment variables, a
//! shared credentials file with `AWS_PROFILE` or `--aws-profile` — and the endpoint by flag
//! or by `AWS_ENDPOINT_URL_COST_EXPLORER`. Each run gets a clean environment (no `~/.aws`,
//! instance metadata disabled): the network is 127.0.0.1 only.
//!
//! The scenarios cover 2025-06-01..2025-06-30; `--now 2025-07-01T00:00:00Z` makes the period
//! read end on 2025-06-30.

use serde_json::Value;
use std::process::Command;
use std::sync::OnceLock;

const KEY_ID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const WRONG_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYWRONGKEY00";
const NOW: &str = "2025-07-01T00:00:00Z";
const SPIKE: &str = "Amazon Elastic Compute Cloud - Compute: 379.82 USD on 2025-06-27, 3.97× \
                     the mean of the 7 days before (95.60 USD; threshold 2×)";

/// The replay of this test binary for `scenario` (pages of 10 days): its port.
fn replay(scenario: &str) -> u16 {
    detek_cost::testing::replay(scenario, 10, None)
}

/// A home directory without `.aws`, and a shared credentials file elsewhere.
fn home() -> &'static tempfile::TempDir {
    static HOME: OnceLock<tempfile::TempDir> = OnceLock::new();
    HOME.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("detek-cost-home-")
            .tempdir()
            .unwrap();
        std::fs::write(
            dir.path().join("credentials"),
            format!("[replay]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"),
        )
        .unwrap();
        dir
    })
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// `detek ARGS` with only the environment variables `env` (and HOME), as JSON.
fn detek(args: &[&str], env: &[(&str, String)]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_detek"))
        .current_dir(home().path())
        .env_clear()
        .env("HOME", home().path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .args(args)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).to_string(),
    }
}

fn env_credentials(secret: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", KEY_ID.to_string()),
        ("AWS_SECRET_ACCESS_KEY", secret.to_string()),
    ]
}

fn report<'a>(list: &'a Value, id: &str) -> &'a Value {
    list["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no report {id}: skipped {}", list["skipped"]))
}

fn messages(report: &Value) -> Vec<&str> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect()
}

/// The scan of the cost target alone, credentials from the environment.
fn cost_run(scenario: &str, secret: &str, extra: &[&str]) -> Run {
    let endpoint = format!("http://127.0.0.1:{}", replay(scenario));
    let mut args = vec![
        "run",
        "--aws-cost",
        "--aws-cost-endpoint",
        &endpoint,
        "--now",
        NOW,
        "-f",
        "json",
    ];
    args.extend(extra);
    detek(&args, &env_credentials(secret))
}

#[test]
fn a_spike_is_one_finding_and_fails_at_warn() {
    let run = cost_run("spike", SECRET, &["--fail-on", "warn"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let list = run.json();
    assert_eq!(list["target"]["kind"], "cloud-billing");
    assert_eq!(
        list["target"]["name"],
        "AWS Cost Explorer (profile default)"
    );
    assert_eq!(list["status"], "complete");
    let r = report(&list, "cloud_cost_anomaly");
    assert_eq!(r["result"], "findings");
    assert_eq!(messages(r), [SPIKE]);
    let object = &r["findings"][0]["object"];
    assert_eq!(object["kind"], "CloudService");
    assert_eq!(object["name"], "Amazon Elastic Compute Cloud - Compute");
    // Only the cost detector (and the engine's collector_reports) runs on this target; the
    // others are skipped, with the reason.
    let ran: Vec<&str> = list["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ran, ["cloud_cost_anomaly", "collector_reports"]);
    assert_eq!(
        list["skipped"]["openstack_failed_server"],
        "this target provides no openstack/servers (needs an OpenStack cloud)"
    );
    assert!(!run.stdout.contains(SECRET) && !run.stderr.contains(SECRET));

    // A Warn finding passes the default --fail-on error.
    assert_eq!(cost_run("spike", SECRET, &[]).code, 0);
}

#[test]
fn a_flat_series_passes() {
    let run = cost_run("flat", SECRET, &["--fail-on", "warn"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let r = report(&run.json(), "cloud_cost_anomaly").clone();
    assert_eq!(r["result"], "passed");
    assert_eq!(r["evaluated"], 5);
}

#[test]
fn a_wrong_secret_is_refused_unknown_and_exit_2_without_secrets() {
    let run = cost_run("spike", WRONG_SECRET, &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let list = run.json();
    // The one key of the target failed: nothing collected (exit 2, as a partial scan).
    assert_eq!(list["status"], "nothing_collected");
    let r = report(&list, "cloud_cost_anomaly");
    assert_eq!(r["result"], "unknown");
    let reason = r["error"].as_str().unwrap();
    assert!(
        reason.contains("the request's signature was refused")
            && reason.contains("InvalidSignatureException"),
        "{reason}"
    );
    for text in [&run.stdout, &run.stderr] {
        assert!(!text.contains(WRONG_SECRET) && !text.contains(SECRET));
    }
}

#[test]
fn without_credentials_the_detector_is_unknown_with_the_reason() {
    let endpoint = format!("http://127.0.0.1:{}", replay("spike"));
    let run = detek(
        &[
            "run",
            "--aws-cost",
            "--aws-cost-endpoint",
            &endpoint,
            "--now",
            NOW,
            "-f",
            "json",
        ],
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let r = report(&run.json(), "cloud_cost_anomaly").clone();
    assert_eq!(r["result"], "unknown");
    let reason = r["error"].as_str().unwrap();
    assert!(
        reason.starts_with(
            "not run: input cost/daily-by-service unavailable: AWS Cost Explorer: no AWS \
             credentials: "
        ),
        "{reason}"
    );
}

#[test]
fn a_profile_and_the_endpoint_variable_work_and_the_identity_is_stable() {
    let credentials = home().path().join("credentials").display().to_string();
    let endpoint = format!("http://127.0.0.1:{}", replay("spike"));
    let env = [
        ("AWS_SHARED_CREDENTIALS_FILE", credentials.clone()),
        ("AWS_ENDPOINT_URL_COST_EXPLORER", endpoint.clone()),
    ];
    let args = ["run", "--now", NOW, "-f", "json", "--fail-on", "warn"];
    // --aws-profile implies --aws-cost.
    let by_flag = detek(&[&args[..], &["--aws-profile", "replay"]].concat(), &env);
    // AWS_PROFILE names the profile for the SDK and the target.
    let mut env_profile = env.to_vec();
    env_profile.push(("AWS_PROFILE", "replay".to_string()));
    let by_env = detek(&[&args[..], &["--aws-cost"]].concat(), &env_profile);
    let mut fingerprints = Vec::new();
    for run in [&by_flag, &by_env] {
        assert_eq!(run.code, 1, "{}", run.stderr);
        let list = run.json();
        assert_eq!(list["target"]["name"], "AWS Cost Explorer (profile replay)");
        assert_eq!(list["target"]["identity"], "aws-cost:profile:replay");
        let r = report(&list, "cloud_cost_anomaly");
        assert_eq!(messages(r), [SPIKE]);
        fingerprints.push(
            r["findings"][0]["fingerprint"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(fingerprints[0], fingerprints[1]);
}

#[test]
fn without_cost_access_the_detector_is_skipped_with_the_reason() {
    let run = detek(&["run", "--demo", "-f", "json", "--fail-on", "never"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let list = run.json();
    assert_eq!(
        list["skipped"]["cloud_cost_anomaly"],
        "this target provides no cost/daily-by-service (needs AWS Cost Explorer access)"
    );
}
