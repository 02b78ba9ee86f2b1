//! `detek policy check`: what would stop a policy from loading (metadata, syntax, unknown or
//! refused builtins, a failing dry run), and what is probably a mistake (a rule nothing uses,
//! a policy without tests).

use crate::policy::{self, Options, Problem, Sources};
use serde::Serialize;
use std::collections::BTreeMap;

/// One finding of the check.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Lint {
    pub file: String,
    pub line: u32,
    /// `error` (the policy does not load) or `warning`.
    pub severity: &'static str,
    pub message: String,
}

/// Check every file of `sources`: errors first in file order, then warnings.
pub fn check(sources: &Sources, options: Options) -> Vec<Lint> {
    let (_, problems) = policy::load_sources(sources, options);
    let mut lints: Vec<Lint> = problems.iter().map(|p| lint(p, "error")).collect();
    for library in &sources.libraries {
        let all: Vec<&policy::RegoFile> = sources.libraries.iter().collect();
        lints.extend(
            policy::check_calls(library, &all)
                .iter()
                .map(|p| lint(p, "error")),
        );
    }
    let production: Vec<&policy::RegoFile> =
        sources.policies.iter().chain(&sources.libraries).collect();
    // How often each name appears across the policies and libraries.
    let mut uses: BTreeMap<&str, usize> = BTreeMap::new();
    for file in &production {
        for word in &file.scanned.words {
            *uses.entry(word.name.as_str()).or_default() += 1;
        }
    }
    for file in &sources.policies {
        let mut heads: BTreeMap<&str, (u32, usize)> = BTreeMap::new();
        for head in &file.scanned.heads {
            let entry = heads.entry(head.name.as_str()).or_insert((head.line, 0));
            entry.1 += 1;
        }
        for (name, (line, definitions)) in heads {
            if matches!(name, "findings" | "evaluated") || name.starts_with("test_") {
                continue;
            }
            if uses.get(name).copied().unwrap_or(0) <= definitions {
                lints.push(Lint {
                    file: file.path.display().to_string(),
                    line,
                    severity: "warning",
                    message: format!("rule `{name}` is defined but never used"),
                });
            }
        }
        let tested = sources.tests.iter().any(|t| {
            let package = file.scanned.package.as_deref().unwrap_or("\u{0}");
            t.text.contains(&format!("data.{package}"))
        });
        if !tested {
            lints.push(Lint {
                file: file.path.display().to_string(),
                line: 1,
                severity: "warning",
                message: "no test reads this policy (write <name>_test.rego with test_* rules; see `detek policy new`)".into(),
            });
        }
    }
    lints.sort_by(|a, b| {
        (a.severity != "error", &a.file, a.line).cmp(&(b.severity != "error", &b.file, b.line))
    });
    lints.dedup();
    lints
}

fn lint(problem: &Problem, severity: &'static str) -> Lint {
    Lint {
        file: problem.file.display().to_string(),
        line: problem.line,
        severity,
        message: problem.message.clone(),
    }
}
