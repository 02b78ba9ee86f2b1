//! The catalogue of this binary: every crate's detectors, registered into the core catalogue
//! (selection, sets, level overrides and config validation live there, shared with the hub).

use anyhow::{Context, Result};
use detek_core::Catalogue;
use std::path::PathBuf;

/// Every detector this binary knows: each source crate registers its own.
pub fn catalogue() -> Result<Catalogue> {
    let mut catalogue = Catalogue::new();
    detek_kubernetes::register(&mut catalogue)?;
    detek_openstack::register(&mut catalogue)?;
    detek_prometheus::register(&mut catalogue)?;
    detek_cost::register(&mut catalogue)?;
    detek_node::register(&mut catalogue)?;
    detek_core::register(&mut catalogue)?;
    Ok(catalogue)
}

/// The catalogue with the Rego detectors of `policy_dirs` (docs/policies.md). What is wrong
/// with a policy is printed once on stderr, with its file and line; the policy itself is a
/// detector reporting `Unknown` with that reason, so every other detector still runs.
pub fn catalogue_with_policies(
    policy_dirs: &[PathBuf],
    timeout: Option<&str>,
) -> Result<Catalogue> {
    let mut catalogue = catalogue()?;
    if policy_dirs.is_empty() {
        return Ok(catalogue);
    }
    let mut options = detek_policy::Options::default();
    if let Some(timeout) = timeout {
        options.timeout = detek_kubernetes_live::parse_duration(timeout)
            .map_err(|e| anyhow::anyhow!("policy timeout {timeout:?}: {e}"))?;
    }
    let problems = detek_policy::register(&mut catalogue, policy_dirs, options)
        .context("cannot load the policies")?;
    for problem in problems {
        eprintln!("warning: policy {problem}");
    }
    Ok(catalogue)
}
