//! `detek why KIND/NAME -n NS`: restart forensics for one Pod, or the Pods of a workload
//! (`detek_kubernetes::forensics`; docs/restart-forensics.md). It collects what the restart
//! detectors read — Pods, events, Nodes, and on a live cluster the previous runs' logs — for
//! one target, without running detectors, and prints each explained container's timeline and
//! verdict.

use crate::cli::{Cli, Command, WhyArgs, WhyFormat};
use crate::commands::resolve_targets_at_their_time;
use crate::config::Config;
use anyhow::{Context, Result, bail};
use clap::Parser;
use detek_core::{KeyId, RunOptions};
use detek_kubernetes::forensics::{self, Evidence, Explanation, Options, Sources};
use detek_kubernetes::model::{EVENTS, Item, JOBS, NODES, PODS, REPLICA_SETS};
use detek_kubernetes_model::history::CONTAINER_HISTORY;
use detek_kubernetes_model::logs::PREVIOUS_LOGS;
use detek_kubernetes_model::pod::{ContainerStatus, Pod};
use detek_kubernetes_model::pods::{Owners, controller_of};
use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::SystemTime;

/// The detectors whose inputs `why` collects: they read the Pods and use the events, Nodes
/// and previous logs, so the planner asks the target's collector for exactly those.
const RESTART_DETECTORS: [&str; 3] = ["pod_restarting", "oomkilled_container", "crashloop_backoff"];

/// kubectl's names of the workloads whose Pods `why` explains, and the controller kind
/// `controller_of` gives (or the kind between: a ReplicaSet, a CronJob's Job).
const WORKLOADS: &[(&[&str], &str)] = &[
    (&["deployment", "deployments", "deploy"], "Deployment"),
    (&["statefulset", "statefulsets", "sts"], "StatefulSet"),
    (&["daemonset", "daemonsets", "ds"], "DaemonSet"),
    (&["replicaset", "replicasets", "rs"], "ReplicaSet"),
    (&["job", "jobs"], "Job"),
    (&["cronjob", "cronjobs", "cj"], "CronJob"),
    (
        &["replicationcontroller", "replicationcontrollers", "rc"],
        "ReplicationController",
    ),
];

pub fn why(args: WhyArgs) -> Result<ExitCode> {
    let (kind, name) = parse_object(&args.object)?;
    let target_args = target_args(&args)?;
    let config = Config::discover(args.config.as_deref())?;
    config.install_forensics()?;
    let mut targets = resolve_targets_at_their_time(&target_args, &config)?;
    if targets.is_empty() {
        bail!("nothing to read: no cluster and no input");
    }
    let mut target = targets.swap_remove(0);
    if let Some(now) = &args.now {
        let now: jiff::Timestamp = now.parse().map_err(|e| {
            anyhow::anyhow!("--now {now:?}: not an RFC 3339 time (e.g. 2026-01-13T19:00:00Z): {e}")
        })?;
        target.now = SystemTime::from(now);
        target.clock = detek_core::Clock::Fixed;
    }
    let detectors = detek_kubernetes::detectors::all()
        .into_iter()
        .filter(|d| RESTART_DETECTORS.contains(&d.meta().id.as_ref()))
        .collect();
    let owners: [KeyId; 2] = [REPLICA_SETS.id(), JOBS.id()];
    // Only the restart detectors' inputs: the metric collector, when one is configured, is
    // asked for the containers' history alone.
    let plan = detek_core::plan_with(detectors, &owners, &target.collectors)
        .context("cannot plan what to read")?;
    let options = RunOptions {
        target: target.target.clone(),
        now: target.now,
        clock: target.clock,
        ..RunOptions::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let collected = runtime.block_on(detek_core::collect_only(&plan, &options));
    let store = &collected.store;
    let pods = store.get(&PODS).map_err(|m| {
        anyhow::anyhow!(
            "cannot read the Pods of {}: {}",
            target.target.name,
            m.reason
        )
    })?;
    let chosen = pods_of(&kind, &name, &args.namespace, pods, || {
        // Without ReplicaSets or Jobs, controllers are named from the Pods' own references.
        let (no_replica_sets, no_jobs) = (Vec::new(), Vec::new());
        Owners::new(
            store.get(&REPLICA_SETS).unwrap_or(&no_replica_sets),
            store.get(&JOBS).unwrap_or(&no_jobs),
        )
    });
    if chosen.is_empty() {
        bail!(
            "{kind}/{name} not found in namespace {} of {}{}",
            args.namespace,
            target.target.name,
            if kind == "pod" {
                String::new()
            } else {
                " (or it has no Pods)".to_string()
            }
        );
    }
    let evidence = Evidence::new(
        Sources::from_missing(
            store.get(&EVENTS),
            store.get(&NODES),
            store.get(&PREVIOUS_LOGS),
            store.get(&CONTAINER_HISTORY),
        ),
        Options {
            log_excerpts: !args.no_log_excerpts,
            ..forensics::options()
        },
    );
    let mut explanations = Vec::new();
    let mut quiet = Vec::new();
    for pod in &chosen {
        let mut any = false;
        for (noun, cs) in statuses(pod) {
            let wanted = match &args.container {
                Some(c) => &cs.name == c,
                None => worth_explaining(cs),
            };
            if wanted {
                explanations.push(evidence.explain(pod, cs, noun, collected.now));
                any = true;
            }
        }
        if !any {
            quiet.push(pod.name().to_string());
        }
    }
    if let Some(c) = &args.container
        && explanations.is_empty()
    {
        bail!("{kind}/{name}: no container named {c}");
    }
    let out = match args.format {
        WhyFormat::Json => {
            serde_json::to_string_pretty(&serde_json::json!({
                "target": target.target.name,
                "now": jiff::Timestamp::try_from(collected.now).ok(),
                "explanations": explanations,
                "nothing_to_explain": quiet,
            }))? + "\n"
        }
        WhyFormat::Text => text(&explanations, &quiet, &args.namespace),
    };
    // Names, messages and log lines come from the cluster: on a terminal their control
    // characters are shown escaped, line by line (JSON escapes them itself).
    let out = match args.format {
        WhyFormat::Json => out,
        WhyFormat::Text => out
            .lines()
            .map(|line| detek_render::sanitize_terminal(line).into_owned() + "\n")
            .collect(),
    };
    std::io::stdout()
        .write_all(out.as_bytes())
        .context("cannot write to stdout")?;
    Ok(ExitCode::SUCCESS)
}

/// `pod/NAME`, `deploy/NAME`, `NAME` → (kind as written, lower-case; name).
fn parse_object(object: &str) -> Result<(String, String)> {
    let (kind, name) = match object.split_once('/') {
        Some((kind, name)) => (kind.to_ascii_lowercase(), name.to_string()),
        None => ("pod".to_string(), object.to_string()),
    };
    if name.is_empty() {
        bail!("{object:?}: expected KIND/NAME, e.g. pod/web-0 or deploy/web");
    }
    let kind = match kind.as_str() {
        "pod" | "pods" | "po" => "pod".to_string(),
        k if WORKLOADS.iter().any(|(names, _)| names.contains(&k)) => k.to_string(),
        k => bail!(
            "{k:?}: `why` explains Pods: pod/NAME, or the Pods of deploy/, sts/, ds/, rs/, job/, \
             cronjob/ or rc/NAME"
        ),
    };
    Ok((kind, name))
}

/// The `run` target arguments for this Pod's cluster or files (parsed as `detek run` would
/// parse them, so both resolve targets the same way).
fn target_args(args: &WhyArgs) -> Result<crate::cli::TargetArgs> {
    let mut argv: Vec<String> = vec!["detek".into(), "run".into()];
    if args.demo {
        argv.push("--demo".into());
    }
    for input in &args.inputs {
        argv.extend(["--input".into(), input.clone()]);
    }
    if let Some(path) = &args.kubeconfig {
        argv.extend(["--kubeconfig".into(), path.display().to_string()]);
    }
    if let Some(context) = &args.context {
        argv.extend(["--context".into(), context.clone()]);
    }
    if !args.demo && args.inputs.is_empty() {
        // Live: list only the object's namespace (Nodes are cluster-scoped and still read).
        argv.extend(["--namespace".into(), args.namespace.clone()]);
    }
    argv.extend(["--request-timeout".into(), args.request_timeout.clone()]);
    let Command::Run(run) = Cli::try_parse_from(argv)?.command else {
        bail!("the target arguments did not parse as a run");
    };
    let mut target = run.target;
    target.metrics = args.metrics.clone();
    Ok(target)
}

/// The Pods `kind/name` designates in `namespace`.
fn pods_of<'p>(
    kind: &str,
    name: &str,
    namespace: &str,
    pods: &'p [std::sync::Arc<Item<Pod>>],
    owners: impl FnOnce() -> Owners,
) -> Vec<&'p Item<Pod>> {
    let in_namespace = pods
        .iter()
        .map(|p| p.as_ref())
        .filter(|p| p.namespace_or_default() == namespace);
    if kind == "pod" {
        return in_namespace.filter(|p| p.name() == name).collect();
    }
    let Some((_, controller_kind)) = WORKLOADS.iter().find(|(names, _)| names.contains(&kind))
    else {
        return Vec::new();
    };
    let owners = owners();
    let mut chosen: Vec<&Item<Pod>> = in_namespace
        .filter(|p| {
            controller_of(&p.metadata, &owners).is_some_and(|c| {
                (c.kind == *controller_kind && c.name == name)
                    || c.via
                        .as_ref()
                        .is_some_and(|(k, n)| k == controller_kind && n == name)
            })
        })
        .collect();
    chosen.sort_by(|a, b| a.name().cmp(b.name()));
    chosen
}

/// Every container status of a Pod with how to name it: init, regular, ephemeral.
fn statuses(pod: &Pod) -> Vec<(&'static str, &ContainerStatus)> {
    let Some(status) = &pod.status else {
        return Vec::new();
    };
    [
        ("init container", &status.init_container_statuses),
        ("container", &status.container_statuses),
        ("ephemeral container", &status.ephemeral_container_statuses),
    ]
    .into_iter()
    .flat_map(|(noun, list)| list.iter().flatten().map(move |cs| (noun, cs)))
    .collect()
}

/// Did this container restart, fail, or is it waiting to start for a reason worth a look?
fn worth_explaining(cs: &ContainerStatus) -> bool {
    let state = cs.state.as_ref();
    let failed_now = state
        .and_then(|s| s.terminated.as_ref())
        .is_some_and(|t| t.exit_code != 0);
    let waiting = state
        .and_then(|s| s.waiting.as_ref())
        .and_then(|w| w.reason.as_deref())
        .is_some_and(|r| !matches!(r, "ContainerCreating" | "PodInitializing"));
    let ended_before = cs
        .last_state
        .as_ref()
        .is_some_and(|s| s.terminated.is_some());
    cs.restart_count > 0 || failed_now || waiting || ended_before
}

/// The answer for a terminal.
fn text(explanations: &[Explanation], quiet: &[String], namespace: &str) -> String {
    let mut s = String::new();
    for e in explanations {
        let node = e
            .node
            .as_deref()
            .map(|n| format!(" on node {n}"))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "Pod {}/{}, {} {}{node}: restarted {} times, {}",
            e.namespace, e.pod, e.container_kind, e.container, e.restart_count, e.state
        );
        let _ = writeln!(s, "\nVerdict: {}", e.verdict.title);
        let _ = writeln!(s, "  {}", e.verdict.explanation);
        if let Some(fix) = &e.verdict.fix {
            let _ = writeln!(s, "  Fix: {fix}");
        }
        for line in &e.verdict.evidence {
            let _ = writeln!(s, "  - {line}");
        }
        if let Some(m) = &e.log {
            let _ = write!(
                s,
                "  Known error in the {}: {} ({})",
                m.found_in, m.title, m.signature
            );
            match &m.line {
                Some(line) => {
                    let _ = writeln!(s, "\n    {line}");
                }
                None => s.push('\n'),
            }
        }
        if let Some(m) = &e.metrics {
            let _ = writeln!(s, "  Before the termination ({} to {}):", m.from, m.to);
            for line in m.describe() {
                let _ = writeln!(s, "    {line}");
            }
        }
        let _ = writeln!(s, "\nTimeline");
        for entry in &e.timeline {
            let at = entry
                .at
                .map_or_else(|| "(no time)".to_string(), |t| t.to_string());
            let _ = writeln!(s, "  {at:<22} {}", entry.what);
        }
        let _ = writeln!(s, "\nLooked at: {}", e.looked_at.join("; "));
        if !e.not_read.is_empty() {
            let _ = writeln!(s, "Not read: {}", e.not_read.join("; "));
        }
        s.push('\n');
    }
    for pod in quiet {
        let _ = writeln!(
            s,
            "Pod {namespace}/{pod}: no container restarted, failed or is waiting to start: \
             nothing to explain"
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_named_as_kubectl_names_them() {
        assert_eq!(
            parse_object("pod/web-0").unwrap(),
            ("pod".into(), "web-0".into())
        );
        assert_eq!(
            parse_object("web-0").unwrap(),
            ("pod".into(), "web-0".into())
        );
        assert_eq!(
            parse_object("Deploy/web").unwrap(),
            ("deploy".into(), "web".into())
        );
        assert!(
            parse_object("svc/web")
                .unwrap_err()
                .to_string()
                .contains("explains Pods")
        );
        assert!(parse_object("pod/").is_err());
    }
}
