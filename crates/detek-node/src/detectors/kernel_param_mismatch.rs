use crate::prelude::*;
use crate::profile::{self, Expectation};
use std::sync::LazyLock;

/// ## What it detects
/// Kernel parameters of a node that differ from what Kubernetes nodes need: an exact value
/// (`net.ipv4.ip_forward = 1`) or a minimum (`fs.inotify.max_user_watches ≥ 524288`), from the
/// default profile (`crates/detek-node/data/kernel-profile.yaml`, each entry with its reason
/// and sources) and the user's own parameters (the `parameters` setting in `detek.yaml`, same
/// format; one with a default parameter's name replaces it). A parameter the node's kernel does
/// not have (a module not loaded) is not reported.
///
/// ## Why it matters
/// These fail far from their cause: Pods on other nodes unreachable with `ip_forward = 0`,
/// "too many open files" in log shippers when inotify runs out, dropped connections when the
/// conntrack table is full, Elasticsearch refusing to start below `vm.max_map_count`.
///
/// ## How to fix
/// Set the value in `/etc/sysctl.d/` (or the node image, or the node pool's kubelet/OS
/// config of a managed service), apply with `sysctl --system`, and roll the change out to every
/// node of the pool.
///
/// ## Example
/// ```text
/// node-3: net.ipv4.ip_forward is 0, expected 1          # fires
/// ```
#[detector(
    id = "kernel_param_mismatch",
    title = "Kernel parameters that Kubernetes nodes need set otherwise",
    labels = ["node", "kernel"],
    level = Warn,
    requires = [HOSTS],
    references = ["https://kubernetes.io/docs/tasks/administer-cluster/sysctl-cluster/"],
    settings = KernelParamMismatchSettings,
)]
pub struct KernelParamMismatch;

/// Settings of `kernel_param_mismatch`: the user's profile.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct KernelParamMismatchSettings {
    /// Parameters to check, in the default profile's format (`- {name, expect or min, scope, why, references}`); one named like a default parameter replaces it.
    pub parameters: serde_json::Value,
    /// Check the default profile's parameters too.
    #[setting(default = true)]
    pub default_profile: bool,
}

static DEFAULT: LazyLock<Result<Vec<Expectation>, String>> =
    LazyLock::new(|| profile::parse(profile::DEFAULT_PROFILE, "kernel-profile.yaml"));

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let hosts = ctx.get(&HOSTS)?;
    let settings: KernelParamMismatchSettings = ctx.settings_of()?;
    let mine = profile::from_setting(&settings.parameters, "kernel_param_mismatch.parameters")
        .map_err(DetectError::new)?;
    let mut expectations: Vec<&Expectation> = Vec::new();
    if settings.default_profile {
        let defaults = DEFAULT.as_ref().map_err(|e| DetectError::new(e.clone()))?;
        expectations.extend(
            defaults
                .iter()
                .filter(|d| mine.iter().all(|m| m.name != d.name)),
        );
    }
    expectations.extend(mine.iter());
    let mut out = Outcome::new();
    let mut evaluated = 0;
    for host in hosts {
        // An unreachable host is node_unreachable_ssh's finding, not this one's.
        let Ok(facts) = &host.facts else { continue };
        evaluated += 1;
        for expectation in &expectations {
            let Some(value) = facts.sysctl.get(&expectation.name) else {
                continue;
            };
            if let Some(miss) = expectation.miss(value) {
                out.push(
                    Finding::new(
                        Level::Warn,
                        Some(host.object_ref()),
                        format!("{}: {} {miss}", host.name, expectation.name),
                    )
                    .with_discriminator(expectation.name.clone())
                    .with_evidence(expectation.why.clone()),
                );
            }
        }
    }
    Ok(out.evaluated(evaluated))
}
