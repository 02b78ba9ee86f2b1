//! Policies loaded from directories and run through the engine as the CLI runs them: broken
//! policies each give a clear error while the rest still report, the sandbox refuses the
//! network, the environment and files, and the input's join indexes are the store's.

use detek_core::{Clock, Collector, Detector, Level, Report, ReportList, RunOptions};
use detek_kubernetes_model::{Input, SnapshotCollector};
use detek_policy::{Options, Problem};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

fn here(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(path)
}

/// Load `dir` and scan `input` with every policy of it (the clock fixed, as `--now`).
fn scan(dir: &Path, options: Options, input: &Path) -> (ReportList, Vec<Problem>) {
    let (policies, problems) = detek_policy::load(&[dir.to_path_buf()], options).unwrap();
    let detectors: Vec<Arc<dyn Detector>> = policies
        .into_iter()
        .map(|p| p as Arc<dyn Detector>)
        .collect();
    let collectors: Vec<Arc<dyn Collector>> =
        vec![Arc::new(SnapshotCollector::new(vec![Input::Path(
            input.to_path_buf(),
        )]))];
    let plan = detek_core::plan(detectors, &collectors).expect("plan");
    let options = RunOptions {
        now: SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_000_000),
        clock: Clock::Fixed,
        ..Default::default()
    };
    let list = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(detek_core::run(&plan, &options));
    (list, problems)
}

fn report<'a>(list: &'a ReportList, id: &str) -> &'a Report {
    list.reports
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no report {id}"))
}

/// Problems as `file:line: message`, the directory left out.
fn problem_lines(problems: &[Problem], dir: &Path) -> Vec<String> {
    problems
        .iter()
        .map(|p| {
            let file = p
                .file
                .strip_prefix(dir)
                .unwrap_or(&p.file)
                .display()
                .to_string();
            format!("{file}:{}: {}", p.line, p.message)
        })
        .collect()
}

#[test]
fn each_broken_policy_is_unknown_with_its_reason_and_the_rest_report() {
    let dir = here("broken");
    let options = Options {
        timeout: Duration::from_millis(300),
        ..Options::default()
    };
    let (list, problems) = scan(&dir, options, &here("fixtures/configmaps.yaml"));
    let lines = problem_lines(&problems, &dir);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert_eq!(
        lines[0],
        "broken_metadata.rego:1: METADATA custom.level: unknown level \"critical\" (expected fatal, error, warn, unknown or normal)"
    );
    assert!(lines[1].starts_with("broken_syntax.rego:"), "{}", lines[1]);
    assert!(lines[1].contains("does not compile"), "{}", lines[1]);
    assert_eq!(
        lines[2],
        "broken_unknown_builtin.rego:14: unknown function `strings.reverse_words`"
    );

    // The working policy reports its finding, with the ConfigMap's file and line.
    let good = report(&list, "configmap_without_data");
    assert_eq!(good.level, Level::Warn);
    let findings: Vec<String> = good
        .findings
        .iter()
        .map(|f| {
            let object = f.object.as_ref().unwrap();
            format!(
                "{} {}/{} {}: {} [{}]",
                object.kind,
                object.namespace.as_deref().unwrap_or("-"),
                object.name,
                object
                    .source
                    .as_ref()
                    .map_or(String::new(), |s| s.line.to_string()),
                f.message,
                f.evidence.join("; ")
            )
        })
        .collect();
    assert_eq!(
        findings,
        ["ConfigMap shop/empty 2: ConfigMap empty has no data [data: {}]"]
    );
    assert_eq!(good.evaluated, Some(2));

    // Every broken one is Unknown, with why.
    let unknown = |id: &str| {
        let r = report(&list, id);
        assert_eq!(r.level, Level::Unknown, "{id}: {r:?}");
        r.error.clone().unwrap()
    };
    assert_eq!(
        unknown("policy_broken_metadata"),
        "detector failed: policy not loaded: ".to_string() + &problems[0].to_string()
    );
    assert!(unknown("broken_syntax").contains("does not compile"));
    assert!(
        unknown("broken_unknown_builtin").ends_with("unknown function `strings.reverse_words`")
    );
    assert_eq!(
        unknown("broken_runaway"),
        "detector failed: policy stopped: it ran past its time budget of 300ms (policyTimeout, --policy-timeout)"
    );
    let malformed = unknown("broken_findings");
    assert!(
        malformed.ends_with("finding 1 is malformed: not an object: \"a string is not a finding\""),
        "{malformed}"
    );
    assert_eq!(list.reports.len(), 6);
}

#[test]
fn the_network_the_environment_and_files_are_refused_at_load() {
    let dir = here("sandbox");
    let (list, problems) = scan(&dir, Options::default(), &here("fixtures/configmaps.yaml"));
    assert_eq!(
        problem_lines(&problems, &dir),
        [
            "sandbox_dns_lookup.rego:11: `net.lookup_ip_addr` is not available: policies cannot reach the network",
            "sandbox_file_read.rego:12: unknown function `parse_config_file`",
            "sandbox_http_send.rego:13: `http.send` is not available: policies cannot reach the network",
            "sandbox_opa_runtime.rego:11: `opa.runtime` is not available: policies cannot read the environment",
        ]
    );
    for id in [
        "sandbox_dns_lookup",
        "sandbox_file_read",
        "sandbox_http_send",
        "sandbox_opa_runtime",
    ] {
        let r = report(&list, id);
        assert_eq!(r.level, Level::Unknown);
        assert!(r.findings.is_empty());
    }
}

#[test]
fn refused_builtins_are_absent_from_the_engine_too() {
    // Even a call the text check could not see (built at run time) finds no function.
    let mut engine = regorus::Engine::new();
    engine
        .add_policy(
            "x.rego".into(),
            "package x\nr := http.send({\"method\": \"GET\", \"url\": \"http://127.0.0.1:9/\"})\ne := opa.runtime()\n".into(),
        )
        .unwrap();
    let send = engine.eval_rule("data.x.r".into()).unwrap_err().to_string();
    assert!(send.contains("could not find function http.send"), "{send}");
    let runtime = engine.eval_rule("data.x.e".into()).unwrap_err().to_string();
    assert!(
        runtime.contains("could not find function opa.runtime"),
        "{runtime}"
    );
}

#[test]
fn crypto_x509_parse_certificates_reads_a_webhooks_ca_bundle() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../detek-kubernetes/tests/fixtures/webhook_cert_expired/fail.yaml");
    let (list, problems) = scan(&here("x509"), Options::default(), &fixture);
    assert_eq!(problems, Vec::new());
    let r = report(&list, "webhook_ca_expired");
    assert_eq!(r.error, None);
    let mut lines: Vec<String> = r
        .findings
        .iter()
        .map(|f| {
            format!(
                "{} {}: {}",
                f.object.as_ref().unwrap().kind,
                f.object.as_ref().unwrap().name,
                f.message
            )
        })
        .collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "MutatingWebhookConfiguration gatekeeper-mutating-webhook-configuration: webhook mutation.gatekeeper.sh: CA gatekeeper-ca expired on 2020-03-01T00:00:00Z",
            "ValidatingWebhookConfiguration gatekeeper-validating-webhook-configuration: webhook check-ignore-label.gatekeeper.sh: CA gatekeeper-ca expired on 2020-03-01T00:00:00Z",
            "ValidatingWebhookConfiguration gatekeeper-validating-webhook-configuration: webhook validation.gatekeeper.sh: CA gatekeeper-ca expired on 2020-03-01T00:00:00Z",
        ]
    );
    assert_eq!(r.findings[0].evidence.len(), 1);
    assert!(
        r.findings[0].evidence[0].ends_with("CA true"),
        "{:?}",
        r.findings[0].evidence
    );
}
