//! `--ssh` and `--ssh-hosts`: the node checks over SSH (detek-node; docs/nodes.md). `--ssh`
//! adds the node collector to every Kubernetes target, reading the hosts from its Node objects
//! (grouped by node pool); `--ssh-hosts` is a target of its own, the hosts given. Without
//! either (or `ssh.hosts`/`ssh.nodes` in `detek.yaml`), the node detectors are skipped with
//! the reason.

use crate::cli::TargetArgs;
use crate::commands::ScanTarget;
use crate::config::Config;
use anyhow::{Context, Result, bail};
use detek_core::{Clock, Target};
use detek_node::collector::{HostSource, NodeCollector};
use detek_node::hosts::{self, HostSpec};
use detek_node::ssh::SshOptions;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

/// The SSH flags of `detek run` and `detek plan`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SshArgs {
    /// Check the nodes of the scanned cluster over SSH (kernel parameters, known kernel bugs,
    /// drift within a node pool): each Node's InternalIP, grouped by the first node-pool label
    /// it has (GKE, EKS, AKS, Magnum, else the instance type). Runs one fixed, read-only
    /// command per node (uname, os-release, uptime, the container runtime's version,
    /// /proc/sys). Host keys are checked against ~/.ssh/known_hosts.
    #[arg(long, conflicts_with = "demo")]
    pub ssh: bool,

    /// Hosts to check over SSH, a target of their own: a comma-separated list
    /// (`10.0.0.11,core@10.0.0.12:2222`) or @FILE, a hosts file (`[group]` lines, then one
    /// host per line, as in an Ansible INI inventory; drift is judged within a group).
    /// Repeatable. Scanned alone unless a cluster, cloud or account is asked for too.
    #[arg(long = "ssh-hosts", value_name = "LIST|@FILE")]
    pub ssh_hosts: Vec<String>,

    /// SSH: user to log in as, for hosts that do not name one (default: $USER).
    #[arg(long, value_name = "USER")]
    pub ssh_user: Option<String>,

    /// SSH: port, for hosts that do not name one (default 22).
    #[arg(long, value_name = "PORT")]
    pub ssh_port: Option<u16>,

    /// SSH: private key to log in with (repeatable; after the ssh-agent's keys). Default: the
    /// agent's keys and ~/.ssh/id_ed25519, id_ecdsa, id_rsa. Encrypted keys: load them into
    /// ssh-agent.
    #[arg(long = "ssh-key", value_name = "FILE")]
    pub ssh_keys: Vec<PathBuf>,

    /// SSH: the known_hosts file host keys are checked against (default
    /// ~/.ssh/known_hosts). An unknown or changed key is that host's error, never accepted.
    #[arg(long, value_name = "FILE")]
    pub ssh_known_hosts: Option<PathBuf>,

    /// SSH: add the keys of hosts not yet in known_hosts (OpenSSH's
    /// StrictHostKeyChecking=accept-new). A changed key is still refused.
    #[arg(long)]
    pub ssh_accept_new_host_keys: bool,

    /// SSH: reach every host through this bastion ([USER@]HOST[:PORT]), one session for all.
    #[arg(long, value_name = "[USER@]HOST[:PORT]")]
    pub ssh_proxy_jump: Option<String>,

    /// SSH: hosts read at the same time (default 16).
    #[arg(long, value_name = "N")]
    pub ssh_concurrency: Option<usize>,

    /// SSH: time for one host, connecting, logging in and reading (default 10s).
    #[arg(long, value_name = "DURATION")]
    pub ssh_timeout: Option<String>,
}

/// `ssh:` in `detek.yaml`: the same choices as the flags (which win), and hosts.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SshConfig {
    /// Check the cluster's Nodes, as `--ssh`.
    #[serde(default)]
    pub nodes: bool,
    /// Hosts by group, as `--ssh-hosts`.
    #[serde(default)]
    pub hosts: BTreeMap<String, Vec<String>>,
    /// A hosts file, relative to the config file.
    pub hosts_file: Option<PathBuf>,
    pub user: Option<String>,
    pub port: Option<u16>,
    #[serde(default)]
    pub keys: Vec<PathBuf>,
    pub known_hosts: Option<PathBuf>,
    #[serde(default)]
    pub accept_new_host_keys: bool,
    pub proxy_jump: Option<String>,
    pub concurrency: Option<usize>,
    pub timeout: Option<String>,
    /// Node labels naming a node's pool, first present wins (default: GKE, EKS, AKS, Magnum,
    /// instance type).
    pub pool_labels: Option<Vec<String>>,
}

fn config_of(config: &Config) -> &SshConfig {
    static NONE: std::sync::LazyLock<SshConfig> = std::sync::LazyLock::new(SshConfig::default);
    config.ssh.as_ref().unwrap_or(&NONE)
}

/// A path of the config file, relative to its directory; `~/` is the home directory.
fn config_path(config: &Config, path: &Path) -> PathBuf {
    if let Ok(rest) = path.strip_prefix("~")
        && let Some(home) = std::env::home_dir()
    {
        return home.join(rest);
    }
    let base = config
        .path
        .as_deref()
        .and_then(Path::parent)
        .unwrap_or(Path::new(""));
    base.join(path)
}

/// The hosts given by flags and config (none: no hosts target).
fn listed_hosts(args: &TargetArgs, config: &Config) -> Result<Vec<HostSpec>> {
    let ssh = config_of(config);
    let mut out = Vec::new();
    for value in &args.ssh.ssh_hosts {
        if let Some(file) = value.strip_prefix('@') {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("--ssh-hosts @{file}: cannot read"))?;
            out.extend(hosts::parse_file(&text, file).map_err(anyhow::Error::msg)?);
        } else {
            out.extend(
                hosts::parse_list(value, hosts::DEFAULT_GROUP)
                    .map_err(|e| anyhow::anyhow!("--ssh-hosts: {e}"))?,
            );
        }
    }
    if args.ssh.ssh_hosts.is_empty() {
        for (group, list) in &ssh.hosts {
            for host in list {
                out.push(
                    HostSpec::parse(host, group)
                        .map_err(|e| anyhow::anyhow!("config file ssh.hosts.{group}: {e}"))?,
                );
            }
        }
        if let Some(file) = &ssh.hosts_file {
            let path = config_path(config, file);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("config file ssh.hostsFile {}", path.display()))?;
            let origin = path.display().to_string();
            out.extend(hosts::parse_file(&text, &origin).map_err(anyhow::Error::msg)?);
        }
    }
    Ok(out)
}

fn nodes_asked(args: &TargetArgs, config: &Config) -> bool {
    (args.ssh.ssh || config_of(config).nodes) && !args.demo
}

/// How to log in, from the flags over the config file over the defaults.
pub(crate) fn options(args: &TargetArgs, config: &Config) -> Result<SshOptions> {
    let ssh = config_of(config);
    let flags = &args.ssh;
    let mut options = SshOptions::default();
    if let Some(user) = flags.ssh_user.clone().or_else(|| ssh.user.clone()) {
        options.user = user;
    }
    if let Some(port) = flags.ssh_port.or(ssh.port) {
        options.port = port;
    }
    options.identity_files = if flags.ssh_keys.is_empty() {
        ssh.keys.iter().map(|k| config_path(config, k)).collect()
    } else {
        flags.ssh_keys.clone()
    };
    if let Some(file) = &flags.ssh_known_hosts {
        options.known_hosts = file.clone();
    } else if let Some(file) = &ssh.known_hosts {
        options.known_hosts = config_path(config, file);
    }
    options.accept_new_host_keys = flags.ssh_accept_new_host_keys || ssh.accept_new_host_keys;
    if let Some(jump) = flags
        .ssh_proxy_jump
        .as_deref()
        .or(ssh.proxy_jump.as_deref())
    {
        options.proxy_jump = Some(
            HostSpec::parse(jump, "jump").map_err(|e| anyhow::anyhow!("--ssh-proxy-jump: {e}"))?,
        );
    }
    if let Some(n) = flags.ssh_concurrency.or(ssh.concurrency) {
        if n == 0 {
            bail!("--ssh-concurrency must be at least 1");
        }
        options.concurrency = n;
    }
    if let Some(t) = flags.ssh_timeout.as_deref().or(ssh.timeout.as_deref()) {
        options.timeout = detek_kubernetes_live::parse_duration(t)
            .map_err(|e| anyhow::anyhow!("--ssh-timeout: {e}"))?;
    }
    Ok(options)
}

/// Whether only hosts are asked for (no cluster, cloud or account): then no cluster is looked
/// for in the default kubeconfig.
pub(crate) fn alone(args: &TargetArgs, config: &Config) -> bool {
    (!args.ssh.ssh_hosts.is_empty()
        || !config_of(config).hosts.is_empty()
        || config_of(config).hosts_file.is_some())
        && !args.ssh.ssh
        && !args.demo
        && args.inputs.is_empty()
        && args.kubeconfig.is_none()
        && args.contexts.is_empty()
        && !args.all_contexts
        && args.os_cloud.is_none()
        && !args.cost.asked()
}

/// `--ssh`: the node collector on every Kubernetes target, hosts from its Nodes.
pub(crate) fn attach(targets: &mut [ScanTarget], args: &TargetArgs, config: &Config) -> Result<()> {
    if !nodes_asked(args, config) {
        return Ok(());
    }
    let options = options(args, config)?;
    let pool_labels = config_of(config).pool_labels.clone().unwrap_or_else(|| {
        hosts::DEFAULT_POOL_LABELS
            .iter()
            .map(|s| s.to_string())
            .collect()
    });
    for target in targets
        .iter_mut()
        .filter(|t| matches!(t.target.kind.as_str(), "cluster" | "snapshot"))
    {
        target.collectors.push(Arc::new(NodeCollector::new(
            HostSource::Nodes {
                pool_labels: pool_labels.clone(),
            },
            options.clone(),
        )));
    }
    Ok(())
}

/// `--ssh-hosts`: the hosts given, as a target of their own.
pub(crate) fn target(args: &TargetArgs, config: &Config) -> Result<Option<ScanTarget>> {
    let listed = listed_hosts(args, config)?;
    if listed.is_empty() {
        return Ok(None);
    }
    let options = options(args, config)?;
    let name = match listed.as_slice() {
        [one] => format!("SSH host {}", one.name),
        many => format!("{} SSH hosts", many.len()),
    };
    Ok(Some(ScanTarget {
        target: Target {
            kind: "hosts".into(),
            name,
            // The hosts are the findings' objects: one identity for every host list.
            identity: "ssh-hosts".into(),
            context: None,
        },
        collectors: vec![Arc::new(NodeCollector::new(
            HostSource::List(listed),
            options,
        ))],
        now: SystemTime::now(),
        clock: Clock::Wall,
    }))
}
