use crate::prelude::*;
use std::sync::LazyLock;

/// ## What it detects
/// Nodes whose kernel release falls in the affected range of a known kernel bug or
/// vulnerability that hits Kubernetes nodes (`crates/detek-node/data/kernel-known-issues.yaml`:
/// Dirty Pipe, the fs_context and nf_tables container escapes...), with the fixed versions.
/// Ranges are upstream versions read from `uname -r`; distributions backport fixes without
/// changing that number, so on a distribution kernel the finding says to check the vendor's
/// advisory.
///
/// ## Why it matters
/// A kernel bug on a node is a bug under every Pod on it: most of these let a Pod escape to
/// root on the node, and the kernel is the one component a container image upgrade never fixes.
///
/// ## How to fix
/// Upgrade the node image or kernel to a release that carries the fix (the finding names the
/// fixed versions), then reboot or replace the node; a node pool's image upgrade does both.
///
/// ## Example
/// ```text
/// node-4: kernel 5.15.0-91-generic (upstream 5.15.0)   # fires: CVE-2022-0847, fixed in 5.15.25
/// ```
#[detector(
    id = "node_kernel_known_issue",
    title = "Node kernels with a known bug or vulnerability",
    labels = ["node", "kernel", "security"],
    level = Error,
    requires = [HOSTS],
    references = ["https://github.com/nluedtke/linux_kernel_cves"],
)]
pub struct NodeKernelKnownIssue;

/// The table, compiled in.
const TABLE: &str = include_str!("../../data/kernel-known-issues.yaml");

#[derive(Debug, Deserialize)]
struct TableFile {
    issues: Vec<Issue>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Issue {
    id: String,
    component: String,
    kernels: Vec<String>,
    affected: Vec<String>,
    fixed_in: Vec<String>,
    symptom: String,
    fix: String,
    references: Vec<String>,
}

struct Compiled {
    issue: Issue,
    kernels: globset::GlobSet,
    /// Each range: comparisons that must all hold.
    ranges: Vec<Vec<(std::cmp::Ordering, bool, Version)>>,
}

type Version = (u64, u64, u64);

static ISSUES: LazyLock<Result<Vec<Compiled>, String>> = LazyLock::new(|| parse(TABLE));

fn parse(text: &str) -> Result<Vec<Compiled>, String> {
    let file: TableFile =
        serde_saphyr::from_str(text).map_err(|e| format!("kernel-known-issues.yaml: {e}"))?;
    file.issues
        .into_iter()
        .map(|issue| {
            let mut set = globset::GlobSetBuilder::new();
            for pattern in &issue.kernels {
                set.add(globset::Glob::new(pattern).map_err(|e| format!("{}: {e}", issue.id))?);
            }
            let kernels = set.build().map_err(|e| format!("{}: {e}", issue.id))?;
            let ranges = issue
                .affected
                .iter()
                .map(|range| {
                    range
                        .split(',')
                        .map(|c| comparison(c.trim()))
                        .collect::<Option<Vec<_>>>()
                })
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| format!("{}: an affected range does not read", issue.id))?;
            Ok(Compiled {
                issue,
                kernels,
                ranges,
            })
        })
        .collect()
}

/// `>= 5.8.0` → (Greater, or-equal, 5.8.0); `< 5.10.102` → (Less, not-equal, ...).
fn comparison(text: &str) -> Option<(std::cmp::Ordering, bool, Version)> {
    use std::cmp::Ordering::*;
    let (op, rest) = [
        (">=", (Greater, true)),
        ("<=", (Less, true)),
        (">", (Greater, false)),
        ("<", (Less, false)),
        ("=", (Equal, true)),
    ]
    .into_iter()
    .find_map(|(prefix, op)| text.strip_prefix(prefix).map(|rest| (op, rest)))?;
    Some((op.0, op.1, version(rest.trim())?))
}

/// The upstream version at the start of a kernel release: `5.15.0-91-generic` → 5.15.0,
/// `6.6` → 6.6.0.
pub fn version(release: &str) -> Option<Version> {
    let head = release.split(['-', '+', '_', ' ']).next()?;
    let mut parts = head.split('.').map(|p| {
        let digits: String = p.chars().take_while(|c| c.is_ascii_digit()).collect();
        digits.parse::<u64>().ok()
    });
    let major = parts.next()??;
    let minor = parts.next().flatten().unwrap_or(0);
    let patch = parts.next().flatten().unwrap_or(0);
    Some((major, minor, patch))
}

fn holds(v: Version, (ordering, or_equal, bound): &(std::cmp::Ordering, bool, Version)) -> bool {
    let actual = v.cmp(bound);
    actual == *ordering || (*or_equal && actual == std::cmp::Ordering::Equal)
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let hosts = ctx.get(&HOSTS)?;
    let issues = ISSUES.as_ref().map_err(|e| DetectError::new(e.clone()))?;
    let mut out = Outcome::new();
    let mut evaluated = 0;
    for host in hosts {
        let Ok(facts) = &host.facts else { continue };
        evaluated += 1;
        let Some(v) = version(&facts.kernel_release) else {
            continue;
        };
        for compiled in issues {
            let affected = compiled.kernels.is_match(&facts.kernel_release)
                && compiled
                    .ranges
                    .iter()
                    .any(|range| range.iter().all(|c| holds(v, c)));
            if !affected {
                continue;
            }
            let issue = &compiled.issue;
            out.push(
                Finding::new(
                    Level::Error,
                    Some(host.object_ref()),
                    format!(
                        "{}: kernel {} (upstream {}.{}.{}) is in the affected range of {} ({}), fixed in {}; on a distribution kernel check the vendor's advisory",
                        host.name, facts.kernel_release, v.0, v.1, v.2, issue.id, issue.component, issue.fixed_in.join(", ")
                    ),
                )
                .with_discriminator(issue.id.clone())
                .with_evidence(issue.symptom.clone())
                .with_evidence(issue.fix.clone())
                .with_evidence(issue.references.join(" ")),
            );
        }
    }
    Ok(out.evaluated(evaluated))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_reads_and_versions_come_from_the_release() {
        assert!(ISSUES.as_ref().unwrap().len() >= 6);
        assert_eq!(version("5.15.0-91-generic"), Some((5, 15, 0)));
        assert_eq!(version("5.10.205-195.807.amzn2.x86_64"), Some((5, 10, 205)));
        assert_eq!(version("6.6"), Some((6, 6, 0)));
        assert_eq!(version("generic"), None);
    }
}
