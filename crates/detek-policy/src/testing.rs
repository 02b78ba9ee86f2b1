//! `detek policy test`: the `test_*` rules of the policies' `*_test.rego` files, evaluated as
//! `opa test` does (each rule true = pass; false, undefined or an error = fail), with the
//! policies, their libraries and data loaded beside them.

use crate::policy::{self, Options, Problem, RegoFile, Sources};
use serde::Serialize;
use std::time::Instant;

/// One test's result.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TestResult {
    /// `file:line`.
    pub location: String,
    /// `data.<package>.<rule>`.
    pub name: String,
    pub outcome: TestOutcome,
    /// Why it failed or errored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub duration_ms: f64,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TestOutcome {
    Pass,
    Fail,
    Error,
}

/// Every test of `sources`, in file and line order; the problems that stop tests from running
/// (a file that does not compile) come back as errors of that file.
pub fn run_tests(sources: &Sources, options: Options) -> Vec<TestResult> {
    let mut results = Vec::new();
    let base = match policy::base_engine(sources, &options) {
        Ok(engine) => engine,
        Err(problem) => {
            results.push(error_result(&problem));
            return results;
        }
    };
    let mut engine = base.clone();
    let modules: Vec<&RegoFile> = sources.policies.iter().chain(&sources.tests).collect();
    for file in &modules {
        if let Err(e) = engine.add_policy(file.path.display().to_string(), file.text.clone()) {
            results.push(TestResult {
                location: format!("{}:1", file.path.display()),
                name: file.path.display().to_string(),
                outcome: TestOutcome::Error,
                detail: Some(format!("does not compile: {e}")),
                duration_ms: 0.0,
            });
            return results;
        }
    }
    let all: Vec<&RegoFile> = sources
        .libraries
        .iter()
        .chain(modules.iter().copied())
        .collect();
    for file in &sources.tests {
        for problem in policy::check_calls(file, &all) {
            results.push(error_result(&problem));
        }
        let Some(package) = file.scanned.package.as_deref() else {
            continue;
        };
        let mut seen = std::collections::BTreeSet::new();
        for head in file
            .scanned
            .heads
            .iter()
            .filter(|h| h.name.starts_with("test_"))
        {
            // A test may be written as several rules of one name: they are one test.
            if !seen.insert(head.name.clone()) {
                continue;
            }
            let name = format!("data.{package}.{}", head.name);
            let clock = Instant::now();
            let mut run = engine.clone();
            run.set_input(regorus::Value::new_object());
            let (outcome, detail) = match run.eval_rule(name.clone()) {
                Ok(regorus::Value::Bool(true)) => (TestOutcome::Pass, None),
                Ok(regorus::Value::Undefined) => (
                    TestOutcome::Fail,
                    Some("undefined (a condition of the test did not hold)".to_string()),
                ),
                Ok(other) => (
                    TestOutcome::Fail,
                    Some(format!("the test's value is {other}, not true")),
                ),
                Err(e) => (TestOutcome::Error, Some(e.to_string())),
            };
            results.push(TestResult {
                location: format!("{}:{}", file.path.display(), head.line),
                name,
                outcome,
                detail,
                duration_ms: clock.elapsed().as_secs_f64() * 1000.0,
            });
        }
    }
    results
}

fn error_result(problem: &Problem) -> TestResult {
    TestResult {
        location: format!("{}:{}", problem.file.display(), problem.line),
        name: problem.file.display().to_string(),
        outcome: TestOutcome::Error,
        detail: Some(problem.message.clone()),
        duration_ms: 0.0,
    }
}
