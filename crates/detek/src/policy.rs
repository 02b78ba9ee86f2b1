//! `detek policy test|new|check`: writing detectors in Rego (docs/policies.md).

use crate::cli::{
    ListFormat, PolicyCheckArgs, PolicyCommand, PolicyCommandArgs, PolicyNewArgs, PolicyTestArgs,
};
use crate::commands::emit;
use anyhow::{Context, Result, bail};
use detek_policy::testing::TestOutcome;
use std::fmt::Write as _;
use std::process::ExitCode;

pub fn policy(args: PolicyCommandArgs) -> Result<ExitCode> {
    match args.command {
        PolicyCommand::Test(args) => test(args),
        PolicyCommand::New(args) => new(args),
        PolicyCommand::Check(args) => check(args),
    }
}

fn options(timeout: Option<&str>) -> Result<detek_policy::Options> {
    let mut options = detek_policy::Options::default();
    if let Some(timeout) = timeout {
        options.timeout = detek_kubernetes_live::parse_duration(timeout)
            .map_err(|e| anyhow::anyhow!("--timeout {timeout:?}: {e}"))?;
    }
    Ok(options)
}

fn test(args: PolicyTestArgs) -> Result<ExitCode> {
    let sources = detek_policy::read_dirs(&args.dirs)?;
    if sources.tests.is_empty() {
        bail!(
            "no *_test.rego file under {} (`detek policy new NAME` writes a policy with its tests)",
            args.dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let results = detek_policy::testing::run_tests(&sources, options(args.timeout.as_deref())?);
    let failed = results
        .iter()
        .filter(|r| r.outcome != TestOutcome::Pass)
        .count();
    let mut out = String::new();
    match args.format {
        ListFormat::Json => {
            let json = serde_json::json!({
                "passed": results.len() - failed,
                "failed": failed,
                "tests": results,
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
        }
        ListFormat::Table => {
            for r in &results {
                let outcome = match r.outcome {
                    TestOutcome::Pass => "PASS",
                    TestOutcome::Fail => "FAIL",
                    TestOutcome::Error => "ERROR",
                };
                writeln!(
                    out,
                    "{outcome:<5} {} ({}, {:.1} ms)",
                    r.name, r.location, r.duration_ms
                )?;
                if let Some(detail) = &r.detail {
                    writeln!(out, "      {detail}")?;
                }
            }
            writeln!(out, "\n{} passed, {failed} failed", results.len() - failed)?;
        }
    }
    emit(&out)?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn new(args: PolicyNewArgs) -> Result<ExitCode> {
    if !detek_policy::scaffold::valid_id(&args.name) {
        bail!(
            "{:?} cannot name a detector: use snake_case (lowercase letters, digits and _, starting with a letter), e.g. deployment_single_replica",
            args.name
        );
    }
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let policy = args.dir.join(format!("{}.rego", args.name));
    let test = args.dir.join(format!("{}_test.rego", args.name));
    for path in [&policy, &test] {
        if path.exists() {
            bail!(
                "{} exists already: choose another name or remove it",
                path.display()
            );
        }
    }
    std::fs::write(&policy, detek_policy::scaffold::policy(&args.name))
        .with_context(|| format!("cannot write {}", policy.display()))?;
    std::fs::write(&test, detek_policy::scaffold::test(&args.name))
        .with_context(|| format!("cannot write {}", test.display()))?;
    let dir = args.dir.display();
    emit(&format!(
        "wrote {} and {}\n\nnext:\n  detek policy test {dir}\n  detek run --demo --policy-dir {dir} --select {} -f table\n",
        policy.display(),
        test.display(),
        args.name
    ))?;
    Ok(ExitCode::SUCCESS)
}

fn check(args: PolicyCheckArgs) -> Result<ExitCode> {
    let sources = detek_policy::read_dirs(&args.dirs)?;
    let lints = detek_policy::check::check(&sources, detek_policy::Options::default());
    let errors = lints.iter().filter(|l| l.severity == "error").count();
    let mut out = String::new();
    match args.format {
        ListFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&lints)?)?,
        ListFormat::Table => {
            for l in &lints {
                writeln!(out, "{}:{}: {}: {}", l.file, l.line, l.severity, l.message)?;
            }
            writeln!(
                out,
                "{} policies, {errors} errors, {} warnings",
                sources.policies.len(),
                lints.len() - errors
            )?;
        }
    }
    emit(&out)?;
    Ok(if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
