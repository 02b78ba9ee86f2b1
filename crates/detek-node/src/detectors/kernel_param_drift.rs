use crate::prelude::*;
use std::collections::BTreeMap;

/// ## What it detects
/// Kernel parameters on which the nodes of one group (a node pool, or a group of the hosts
/// file) disagree: the node that was hand-tuned during an incident and forgotten, or one that
/// missed a rollout. The node on the minority value is named, with the majority's value; when
/// no value has a majority, every node of the group is named once. Compared are the tunables
/// of the `parameters` setting (network, memory, inotify, process and key limits), not
/// counters or per-boot random keys.
///
/// ## Why it matters
/// Nodes of one pool are meant to be interchangeable: a Pod behaves differently depending on
/// where it lands, and the difference disappears with the node at its next replacement —
/// together with whatever the tuning fixed.
///
/// ## How to fix
/// Decide which value is right, put it in the node image or configuration management, and
/// apply it to every node of the group.
///
/// ## Example
/// ```text
/// pool workers: node-7 has net.core.somaxconn = 65535, the 11 others 4096   # fires on node-7
/// ```
#[detector(
    id = "kernel_param_drift",
    title = "Nodes of one group with different kernel parameters",
    labels = ["node", "kernel"],
    level = Warn,
    requires = [HOSTS],
    references = ["https://kubernetes.io/docs/tasks/administer-cluster/sysctl-cluster/"],
    settings = KernelParamDriftSettings,
)]
pub struct KernelParamDrift;

/// Settings of `kernel_param_drift`: which parameters are compared.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct KernelParamDriftSettings {
    /// Parameters compared between the nodes of a group (globs on sysctl names): the tunables people set by hand.
    #[setting(default = [
        "net.core.*", "net.ipv4.ip_forward", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_*",
        "net.ipv4.conf.all.*", "net.ipv4.conf.default.*", "net.ipv6.conf.all.*",
        "net.bridge.*", "net.netfilter.nf_conntrack_max", "net.netfilter.nf_conntrack_tcp_timeout_*",
        "vm.*", "fs.inotify.*", "fs.file-max", "fs.nr_open", "fs.aio-max-nr",
        "kernel.pid_max", "kernel.threads-max", "kernel.panic", "kernel.panic_on_oops",
        "kernel.keys.*", "user.max_*",
    ])]
    pub parameters: Vec<String>,
    /// Parameters left out although they match (globs): values that differ by nature (random keys, counters, actions).
    #[setting(default = [
        "net.core.netdev_rss_key", "net.ipv4.tcp_fastopen_key", "vm.stat_refresh",
        "vm.drop_caches", "vm.compact_memory", "vm.stat_interval",
    ])]
    pub ignore: Vec<String>,
}

/// A glob set from a setting's patterns; a bad pattern names the setting.
fn globs(patterns: &[String], setting: &str) -> Result<globset::GlobSet, DetectError> {
    let mut set = globset::GlobSetBuilder::new();
    for p in patterns {
        let glob = globset::GlobBuilder::new(p)
            .literal_separator(false)
            .build()
            .map_err(|e| DetectError::new(format!("kernel_param_drift.{setting}: {e}")))?;
        set.add(glob);
    }
    set.build()
        .map_err(|e| DetectError::new(format!("kernel_param_drift.{setting}: {e}")))
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let hosts = ctx.get(&HOSTS)?;
    let settings: KernelParamDriftSettings = ctx.settings_of()?;
    let compared = globs(&settings.parameters, "parameters")?;
    let ignored = globs(&settings.ignore, "ignore")?;
    let compare = |name: &str| compared.is_match(name) && !ignored.is_match(name);
    let mut groups: BTreeMap<&str, Vec<(&Host, &Facts)>> = BTreeMap::new();
    for host in hosts {
        if let Ok(facts) = &host.facts {
            groups
                .entry(host.group.as_str())
                .or_default()
                .push((host, facts));
        }
    }
    let mut out = Outcome::new();
    let mut evaluated = 0;
    for (group, members) in &groups {
        evaluated += members.len();
        if members.len() < 2 {
            continue;
        }
        // parameter → value → hosts with it (only parameters every member has).
        let mut values: BTreeMap<&str, BTreeMap<String, Vec<&Host>>> = BTreeMap::new();
        for (host, facts) in members {
            for (name, value) in facts.sysctl.iter().filter(|(n, _)| compare(n)) {
                values
                    .entry(name.as_str())
                    .or_default()
                    .entry(crate::profile::normalise(value))
                    .or_default()
                    .push(host);
            }
        }
        for (name, by_value) in values {
            if by_value.len() < 2 {
                continue;
            }
            let largest = by_value.values().map(Vec::len).max().unwrap_or(0);
            let majority: Vec<&String> = by_value
                .iter()
                .filter(|(_, h)| h.len() == largest)
                .map(|(v, _)| v)
                .collect();
            let majority = (majority.len() == 1).then(|| majority[0]);
            for (value, holders) in &by_value {
                if Some(value) == majority {
                    continue;
                }
                for host in holders {
                    let others = match majority {
                        Some(m) => format!("{} of the {} others {m}", largest, members.len() - 1),
                        None => "no value is held by most of the group".to_string(),
                    };
                    out.push(
                        Finding::new(
                            Level::Warn,
                            Some(host.object_ref()),
                            format!(
                                "{}: {name} is {value} in group {group}; {others}",
                                host.name
                            ),
                        )
                        .with_discriminator(name.to_string()),
                    );
                }
            }
        }
    }
    Ok(out.evaluated(evaluated))
}
