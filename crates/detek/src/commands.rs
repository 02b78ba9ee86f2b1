use crate::catalogue::catalogue;
use crate::cli::{
    Cli, ColorWhen, Command, ExplainArgs, FailOn, ListArgs, ListFormat, PlanArgs, RunArgs,
    TargetArgs,
};
use crate::config::{Config, RuleSuppressor};
use crate::progress::StderrProgress;
use anyhow::{Context, Result, bail};
use detek_core::{
    Baseline, Catalogue, Clock, Collector, Level, Plan, ReportList, RunOptions, ScanStatus,
    Selection, Settings, Silent, Suppressor, Target,
};
use detek_kubernetes_model::suppress::AnnotationSuppressor;
use detek_kubernetes_model::{Input, SnapshotCollector};
use detek_render::{Format, SarifOptions, render};
use futures::StreamExt;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::SystemTime;

/// The demo snapshot: a small cluster assembled from real dumps (see demo/SOURCES.md).
const DEMO_SNAPSHOT: &str = include_str!("../demo/demo-cluster.yaml");
/// The moment the demo snapshot describes: it is evaluated as of then, so its certificates
/// and ages read the same on every run.
const DEMO_NOW: &str = "2026-01-13T19:00:00Z";

pub fn dispatch(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Run(args) => run(args),
        Command::Plan(args) => plan(args),
        Command::List(args) => list(args),
        Command::Explain(args) => explain(args),
        Command::Serve(args) => crate::serve::serve(args),
        Command::Fleet(args) => crate::fleet::fleet(args),
        Command::Why(args) => crate::why::why(args),
        Command::Policy(args) => crate::policy::policy(args),
    }
}

/// One scan to do: its collectors, target description and clock.
pub(crate) struct ScanTarget {
    pub(crate) target: Target,
    pub(crate) collectors: Vec<Arc<dyn Collector>>,
    pub(crate) now: SystemTime,
    pub(crate) clock: Clock,
}

fn resolve_targets(args: &TargetArgs, config: &Config) -> Result<Vec<ScanTarget>> {
    // `--aws-cost` alone scans only the account's costs (crate::cost), no default cluster.
    // `--ssh-hosts` alone scans only those hosts (crate::nodes).
    let mut targets = if crate::cost::alone(args) || crate::nodes::alone(args, config) {
        Vec::new()
    } else {
        resolve_targets_with_clouds(args, config)?
    };
    crate::nodes::attach(&mut targets, args, config)?;
    targets.extend(crate::cost::target(args)?);
    targets.extend(crate::nodes::target(args, config)?);
    if let Some(now) = &args.now {
        let now: jiff::Timestamp = now.parse().map_err(|e| {
            anyhow::anyhow!("--now {now:?}: not an RFC 3339 time (e.g. 2026-01-13T19:00:00Z): {e}")
        })?;
        for target in &mut targets {
            target.now = SystemTime::from(now);
            target.clock = Clock::Fixed;
        }
    }
    Ok(targets)
}

/// How reports title the demo: "Demo cluster (snapshot of 2026-01-13 19:00 UTC)".
fn demo_name(taken: jiff::Timestamp) -> String {
    format!(
        "Demo cluster (snapshot of {})",
        taken.strftime("%Y-%m-%d %H:%M UTC")
    )
}

pub(crate) fn resolve_targets_at_their_time(
    args: &TargetArgs,
    config: &Config,
) -> Result<Vec<ScanTarget>> {
    let mut targets = kubernetes_targets(args, config)?;
    // The metric detectors read the cluster's Prometheus (or --metrics-url), when one is
    // configured (live clusters: `live_targets`); a snapshot gets it only from
    // --prometheus-url/--metrics-url, and the demo stays offline.
    if !args.demo
        && !args.inputs.is_empty()
        && let Some(metrics) =
            crate::metrics::collector(&args.metrics, config, &metrics_options(args)?, None)?
    {
        for target in &mut targets {
            target.collectors.push(metrics.clone());
        }
    }
    Ok(targets)
}

fn metrics_options(args: &TargetArgs) -> Result<detek_prometheus::client::ClientOptions> {
    let request_timeout = detek_kubernetes_live::parse_duration(&args.request_timeout)
        .map_err(|e| anyhow::anyhow!("--request-timeout: {e}"))?;
    Ok(detek_prometheus::client::ClientOptions {
        request_timeout,
        ..Default::default()
    })
}

pub(crate) fn kubernetes_targets(args: &TargetArgs, config: &Config) -> Result<Vec<ScanTarget>> {
    if args.demo {
        let now: jiff::Timestamp = DEMO_NOW.parse().expect("valid demo time");
        return Ok(vec![ScanTarget {
            target: Target {
                kind: "demo".into(),
                name: demo_name(now),
                identity: "demo".into(),
                context: None,
            },
            collectors: vec![Arc::new(SnapshotCollector::new(vec![Input::Text {
                name: "demo-cluster.yaml".into(),
                text: DEMO_SNAPSHOT.into(),
            }]))],
            now: SystemTime::from(now),
            clock: Clock::Fixed,
        }]);
    }
    if !args.inputs.is_empty() {
        return Ok(snapshot_targets(args));
    }
    live_targets(args, config)
}

/// The Kubernetes targets and the OpenStack cloud, if one is configured (DESIGN.md §1: by
/// `--os-cloud`, or by `OS_CLOUD`/`OS_AUTH_URL` when no cluster is asked for). With both, the
/// clusters also see the cloud's servers (`openstack/cloud-servers`, read by
/// `node_vm_not_active`), listed once for the whole scan.
fn resolve_targets_with_clouds(args: &TargetArgs, config: &Config) -> Result<Vec<ScanTarget>> {
    use detek_openstack::clouds::{Environment, resolve};
    let kubernetes_asked = args.demo
        || !args.inputs.is_empty()
        || args.kubeconfig.is_some()
        || !args.contexts.is_empty()
        || args.all_contexts;
    let cloud = if args.os_cloud.is_some() || !kubernetes_asked {
        resolve(args.os_cloud.as_deref(), &Environment::from_process())
            .map_err(anyhow::Error::msg)?
    } else {
        None
    };
    let Some(cloud) = cloud else {
        return resolve_targets_at_their_time(args, config);
    };
    let mut targets = if kubernetes_asked {
        resolve_targets_at_their_time(args, config)?
    } else {
        Vec::new()
    };
    let handle = detek_openstack::collector::CloudHandle::new(
        cloud,
        cloud_options(args)?,
        !targets.is_empty(),
    );
    for target in &mut targets {
        target.collectors.push(Arc::new(
            detek_openstack::collector::CloudServersCollector::new(vec![handle.clone()]),
        ));
    }
    targets.push(cloud_target(handle));
    Ok(targets)
}

fn cloud_options(args: &TargetArgs) -> Result<detek_openstack::client::ClientOptions> {
    let request_timeout = detek_kubernetes_live::parse_duration(&args.request_timeout)
        .map_err(|e| anyhow::anyhow!("--request-timeout: {e}"))?;
    Ok(detek_openstack::client::ClientOptions {
        request_timeout,
        max_retry_wait: request_timeout,
        ..Default::default()
    })
}

/// An OpenStack cloud as a target: named by its clouds.yaml entry (or Keystone's URL for the
/// OS_* variables), identified by Keystone's URL and the project (DESIGN.md §4).
pub(crate) fn cloud_target(handle: Arc<detek_openstack::collector::CloudHandle>) -> ScanTarget {
    let config = handle.config();
    let name = if config.name == "envvars" {
        config.auth_url.clone()
    } else {
        config.name.clone()
    };
    ScanTarget {
        target: Target {
            kind: "cloud".into(),
            name,
            // The collector replaces it with the project id the token names.
            identity: handle.provisional_identity(),
            context: None,
        },
        collectors: detek_openstack::collectors(handle),
        now: SystemTime::now(),
        clock: Clock::Wall,
    }
}

/// `--input`: one target, or one per cluster when the inputs hold several clusters' dumps
/// (docs/cli.md, "Several clusters in one input"). The inputs are read here, once, to tell.
fn snapshot_targets(args: &TargetArgs) -> Vec<ScanTarget> {
    use detek_kubernetes_model::{clusters, ingest};
    let inputs: Vec<Input> = args.inputs.iter().map(|s| Input::parse(s)).collect();
    let groups = clusters::split_by_cluster(ingest::read_inputs(&inputs));
    let several = groups.len() > 1;
    groups
        .into_iter()
        .map(|group| {
            let name = if several {
                let files = group.file_names();
                let mut name = match files.as_slice() {
                    [] => "no files".to_string(),
                    few @ ([_] | [_, _] | [_, _, _]) => few.join(", "),
                    [first, rest @ ..] => format!("{first} and {} more files", rest.len()),
                };
                match &group.cluster_uid {
                    Some(uid) => name.push_str(&format!(" (cluster {uid})")),
                    None => name.push_str(" (no cluster identity)"),
                }
                name
            } else {
                args.inputs.join(", ")
            };
            ScanTarget {
                target: Target {
                    kind: "snapshot".into(),
                    name,
                    // Manifests are the same target in any checkout; a dump that holds the
                    // kube-system Namespace is identified by its UID (the snapshot collector).
                    identity: "manifests".into(),
                    context: None,
                },
                collectors: vec![Arc::new(SnapshotCollector::from_read(group.inputs))],
                now: SystemTime::now(),
                clock: Clock::Snapshot,
            }
        })
        .collect()
}

/// No --input/--demo: live clusters (kubeconfig contexts or the in-cluster service account).
fn live_targets(args: &TargetArgs, config: &Config) -> Result<Vec<ScanTarget>> {
    use detek_kubernetes_live::{Environment, LiveOptions, TargetRequest, parse_duration, resolve};
    let request_timeout = parse_duration(&args.request_timeout)
        .map_err(|e| anyhow::anyhow!("--request-timeout: {e}"))?;
    let options = LiveOptions {
        request_timeout,
        max_retry_wait: request_timeout,
        namespace: args.namespace.clone(),
        label_selector: args.label_selector.clone(),
        page_size: args.chunk_size,
        ..LiveOptions::default()
    };
    let request = TargetRequest {
        kubeconfig: args.kubeconfig.clone(),
        contexts: args.contexts.clone(),
        all_contexts: args.all_contexts,
    };
    let targets = resolve(&request, &Environment::from_process()).map_err(anyhow::Error::msg)?;
    let metrics_options = metrics_options(args)?;
    targets
        .into_iter()
        .map(|t| {
            let metrics =
                crate::metrics::collector(&args.metrics, config, &metrics_options, Some(&t))?;
            let mut collectors: Vec<Arc<dyn Collector>> = Vec::new();
            collectors.extend(metrics);
            Ok(ScanTarget {
                target: Target {
                    kind: "cluster".into(),
                    name: t.name.clone(),
                    // The collector replaces it with the kube-system namespace UID.
                    identity: format!("context:{}", t.name),
                    context: (!t.in_cluster()).then(|| t.name.clone()),
                },
                collectors: {
                    collectors.insert(
                        0,
                        Arc::new(detek_kubernetes_live::LiveCollector::new(
                            t,
                            options.clone(),
                        )),
                    );
                    collectors
                },
                now: SystemTime::now(),
                clock: Clock::Wall,
            })
        })
        .collect()
}

pub(crate) fn settings(
    target_version: &Option<String>,
    config: &Config,
    catalogue: &Catalogue,
) -> Result<Settings> {
    let mut settings = config.settings(catalogue)?;
    if let Some(v) = target_version {
        if detek_kubernetes_model::version::parse(v).is_none() {
            bail!("--target-version {v:?} is not a Kubernetes version (e.g. 1.32 or v1.32.1)");
        }
        settings.set(
            "kubernetes.target_version",
            v.trim_start_matches('v').to_string(),
        );
    }
    Ok(settings)
}

/// The config file and the catalogue it is checked against: the built-in detectors and the
/// policies of `--policy-dir` and the config's `policyDirs`.
pub(crate) fn load_config(select_args: &crate::cli::SelectArgs) -> Result<(Config, Catalogue)> {
    let config = Config::discover(select_args.config.as_deref())?;
    let catalogue = policy_catalogue(&select_args.policy, &config)?;
    config.validate(&catalogue)?;
    config.install_forensics()?;
    Ok((config, catalogue))
}

/// The catalogue with the policies the flags and the config file name.
pub(crate) fn policy_catalogue(
    policy: &crate::cli::PolicyArgs,
    config: &Config,
) -> Result<Catalogue> {
    let mut dirs = policy.policy_dirs.clone();
    dirs.extend(config.policy_dirs());
    let timeout = policy
        .policy_timeout
        .as_deref()
        .or(config.policy_timeout.as_deref());
    crate::catalogue::catalogue_with_policies(&dirs, timeout)
}

fn selection(select_args: &crate::cli::SelectArgs) -> Selection {
    Selection {
        set: select_args.set.clone(),
        select: select_args.select.clone(),
        ignore: select_args.ignore.clone(),
    }
}

pub(crate) fn make_plan(
    select_args: &crate::cli::SelectArgs,
    target: &ScanTarget,
    config: &Config,
    catalogue: &Catalogue,
    suppressors: &[Arc<dyn Suppressor>],
) -> Result<Plan> {
    let detectors = catalogue.select(&selection(select_args), &config.detectors, &config.sets)?;
    if detectors.is_empty() {
        bail!("no detector selected (check --select/--ignore)");
    }
    let also_wanted: Vec<detek_core::KeyId> =
        suppressors.iter().flat_map(|s| s.requires()).collect();
    detek_core::plan_with(detectors, &also_wanted, &target.collectors)
        .context("cannot plan the scan")
}

/// The suppressors of one target: the config's ignore rules and the `detek.io/ignore`
/// annotations (per target: the index is built from that target's objects).
pub(crate) fn suppressors(config: &Config) -> Vec<Arc<dyn Suppressor>> {
    vec![
        Arc::new(RuleSuppressor::new(&config.ignore)),
        Arc::new(AnnotationSuppressor::new()),
    ]
}

/// `--baseline FILE`: the fingerprints of a previous JSON report.
fn load_baseline(path: &std::path::Path) -> Result<Baseline> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the baseline {}", path.display()))?;
    Baseline::from_json(&text).map_err(|e| {
        anyhow::anyhow!(
            "the baseline {} is not a detek JSON report: {e} (write one with `detek run -f json -o FILE`)",
            path.display()
        )
    })
}

/// The demo snapshot scanned as `detek run --demo` scans it (the default set, no config
/// file): what `detek serve --demo` builds its clusters' history from.
pub(crate) async fn demo_scan() -> Result<ReportList> {
    use clap::Parser;
    let catalogue = catalogue()?;
    let config = Config::default();
    let Command::Run(args) = Cli::try_parse_from(["detek", "run", "--demo"])?.command else {
        bail!("`detek run --demo` did not parse as a run");
    };
    let select = args.select;
    let target = resolve_targets_at_their_time(&args.target, &config)?
        .pop()
        .context("the demo target")?;
    let suppressors = suppressors(&config);
    let plan = make_plan(&select, &target, &config, &catalogue, &suppressors)?;
    let options = RunOptions {
        target: target.target.clone(),
        settings: config.settings(&catalogue)?,
        now: target.now,
        clock: target.clock,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        progress: Arc::new(Silent),
        suppressors,
        report_unrunnable: Default::default(),
    };
    let mut list = detek_core::run(&plan, &options).await;
    list.clock_note = "when the demo snapshot was taken".to_string();
    Ok(list)
}

fn run(args: RunArgs) -> Result<ExitCode> {
    let (config, catalogue) = load_config(&args.select)?;
    let baseline = args.baseline.as_deref().map(load_baseline).transpose()?;
    let targets = resolve_targets(&args.target, &config)?;
    let settings = settings(&args.target.target_version, &config, &catalogue)?;
    let show_progress = !args.quiet && std::io::stderr().is_terminal();
    let mut scans = Vec::new();
    for target in targets {
        let suppressors = suppressors(&config);
        let plan = make_plan(&args.select, &target, &config, &catalogue, &suppressors)?;
        let options = RunOptions {
            target: target.target.clone(),
            settings: settings.clone(),
            now: target.now,
            clock: target.clock,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            progress: if show_progress {
                Arc::new(StderrProgress::new())
            } else {
                Arc::new(Silent)
            },
            suppressors,
            report_unrunnable: catalogue.explicit_ids(&args.select.select),
        };
        scans.push((plan, options));
    }
    // A detector asked for by id is Unknown where it cannot run only when no target of the
    // scan can run it: in a scan of a cluster and a cloud, `--select node_vm_not_active`
    // runs in the cluster's section and is skipped in the cloud's.
    let runnable_somewhere: std::collections::BTreeSet<String> = scans
        .iter()
        .flat_map(|(plan, _)| plan.detectors.iter().map(|d| d.meta().id.to_string()))
        .collect();
    for (_, options) in &mut scans {
        options
            .report_unrunnable
            .retain(|id| !runnable_somewhere.contains(id));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let concurrency = args.concurrency.max(1);
    // Targets are scanned concurrently, at most `concurrency` at a time, each as its own task
    // (so one target's parsing runs beside another's I/O); reports keep the order the targets
    // were given in.
    let mut lists: Vec<ReportList> = runtime
        .block_on(async {
            futures::stream::iter(scans)
                .map(|(plan, options)| {
                    tokio::spawn(async move { detek_core::run(&plan, &options).await })
                })
                .buffered(concurrency)
                .collect::<Vec<_>>()
                .await
                .into_iter()
                .collect::<Result<Vec<ReportList>, _>>()
        })
        .context("a scan task failed")?;
    for list in &mut lists {
        if list.target.kind == "demo" {
            list.clock_note = "when the demo snapshot was taken".to_string();
        }
    }
    let causes: Vec<&str> = lists.iter().flat_map(failure_reasons).collect();
    for list in &lists {
        print_diagnostics(list, &causes);
    }
    if let (Some(baseline), Some(path)) = (&baseline, &args.baseline) {
        let (mut new, mut known) = (0, 0);
        for list in &mut lists {
            let counts = baseline.apply(list);
            new += counts.new;
            known += counts.known;
        }
        if !args.quiet {
            eprintln!(
                "detek: compared with the baseline {}: {new} new, {known} known finding(s)",
                safe(&path.display())
            );
        }
    }
    write_report(&args, &lists)?;
    let code = exit_code(&lists, args.fail_on, args.allow_partial);
    // The process ends here: freeing every finding of a large scan one by one is wasted
    // work; the OS takes the memory back at exit.
    std::mem::forget(lists);
    Ok(code)
}

/// Report data (file names, parser and API server messages) shown on a terminal: control
/// characters and escape sequences are shown escaped, never sent.
pub(crate) fn safe(text: &dyn std::fmt::Display) -> String {
    detek_render::sanitize_terminal(&text.to_string()).into_owned()
}

/// Every collector error and key failure reason of a report list.
fn failure_reasons(list: &ReportList) -> Vec<&str> {
    list.collectors
        .iter()
        .flat_map(|c| {
            c.error
                .as_deref()
                .into_iter()
                .chain(c.failed_keys.values().map(String::as_str))
        })
        .collect()
}

/// Collector failures and input problems (file:line) go to stderr, whatever the format.
/// `causes` are the failure reasons of every target of the scan: a failure that only repeats
/// another (a collector not run because its input failed, a cluster's view of a cloud whose
/// collector failed) is not printed again — one cause, one line.
fn print_diagnostics(list: &ReportList, causes: &[&str]) {
    const MAX: usize = 20;
    let mut err = std::io::stderr().lock();
    let mut shown = 0;
    let mut total = 0;
    let repeats = |reason: &str| {
        causes
            .iter()
            .any(|cause| *cause != reason && reason.contains(cause))
    };
    for c in &list.collectors {
        if let Some(e) = &c.error
            && !repeats(e)
        {
            let _ = writeln!(err, "detek: collector {} failed: {}", c.id, safe(e));
        }
        // One cause, one line; the report lists every dependant.
        for (reason, keys) in c.failed_by_reason() {
            if repeats(reason) {
                continue;
            }
            let what = match keys.as_slice() {
                [one] => one.to_string(),
                many => format!("{} inputs of {}", many.len(), c.id),
            };
            let _ = writeln!(err, "detek: {what} unavailable: {}", safe(&reason));
        }
        for d in &c.diagnostics {
            total += 1;
            if shown < MAX {
                shown += 1;
                let _ = writeln!(
                    err,
                    "detek: {}: {}",
                    d.level.as_str().to_lowercase(),
                    safe(d)
                );
            }
        }
    }
    if total > shown {
        let _ = writeln!(
            err,
            "detek: ... and {} more input problems (listed in the report)",
            total - shown
        );
    }
    if list.status == ScanStatus::NothingCollected {
        let _ = writeln!(
            err,
            "detek: nothing could be collected from {}: this report says nothing about its health",
            safe(&list.target.name)
        );
    }
}

/// Colour for the table on stdout: `--color`, else anstream's reading of the environment
/// (a terminal, `NO_COLOR`, `CLICOLOR_FORCE`, `TERM=dumb`).
fn color_choice(when: ColorWhen) -> anstream::ColorChoice {
    match when {
        ColorWhen::Always => anstream::ColorChoice::AlwaysAnsi,
        ColorWhen::Never => anstream::ColorChoice::Never,
        ColorWhen::Auto => anstream::AutoStream::choice(&std::io::stdout()),
    }
}

/// The table as `detek run` prints it on stdout: wrapped to the terminal's width unless
/// `--wide` or piped; coloured as [`color_choice`] says.
fn table_text(args: &RunArgs, lists: &[ReportList], stdout_tty: bool) -> String {
    let options = detek_render::TableOptions {
        color: color_choice(args.color) != anstream::ColorChoice::Never,
        width: if args.wide || !stdout_tty {
            None
        } else {
            terminal_size::terminal_size_of(std::io::stdout()).map(|(w, _)| w.0)
        },
    };
    lists
        .iter()
        .map(|l| detek_render::table_with(l, &options))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Write a table: through anstream, which passes our SGR codes only when colour was chosen.
fn write_table(text: &str, when: ColorWhen) -> Result<()> {
    let mut out = anstream::AutoStream::new(std::io::stdout().lock(), color_choice(when));
    stdout_result(out.write_all(text.as_bytes()).and_then(|()| out.flush()))
}

fn write_report(args: &RunArgs, lists: &[ReportList]) -> Result<()> {
    let stdout_tty = std::io::stdout().is_terminal();
    let (output, also_summary) = match (&args.output, args.format) {
        (Some(path), _) => (Some(path.clone()), false),
        // HTML is not dumped on a terminal: write a file, show a summary.
        (None, Format::Html) if stdout_tty => (Some("detek-report.html".into()), true),
        (None, _) => (None, false),
    };
    // SARIF: absolute input paths under the current directory become relative URIs, which
    // code-scanning UIs resolve against the checkout.
    let render = |format: Format, lists: &[ReportList], color: bool| match format {
        Format::Sarif => detek_render::sarif_with(
            lists,
            &SarifOptions {
                base_dir: std::env::current_dir().ok(),
            },
        ),
        _ => render(format, lists, color),
    };
    match &output {
        Some(path) => {
            let written = if args.format == Format::Json {
                // Streamed: a large scan's JSON is never held whole in memory.
                std::fs::File::create(path)
                    .and_then(|mut file| detek_render::write_json(lists, &mut file))
            } else {
                std::fs::write(path, render(args.format, lists, false))
            };
            written.with_context(|| format!("cannot write {}", path.display()))?;
            if also_summary {
                let mut text = table_text(args, lists, stdout_tty);
                text.push_str(&format!("\nHTML report written to {}\n", path.display()));
                write_table(&text, args.color)?;
            } else if std::io::stderr().is_terminal() && !args.quiet {
                eprintln!("detek: report written to {}", path.display());
            }
        }
        None if args.format == Format::Table => {
            let mut text = table_text(args, lists, stdout_tty);
            if !text.ends_with('\n') {
                text.push('\n');
            }
            write_table(&text, args.color)?;
        }
        None if args.format == Format::Json => {
            let mut out = std::io::stdout().lock();
            stdout_result(detek_render::write_json(lists, &mut out))?;
        }
        None => {
            let mut text = render(args.format, lists, false);
            if !text.ends_with('\n') {
                text.push('\n');
            }
            emit(&text)?;
        }
    }
    Ok(())
}

/// Write `text` to stdout.
pub(crate) fn emit(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    stdout_result(out.write_all(text.as_bytes()).and_then(|()| out.flush()))
}

/// A closed pipe (`detek list | head`) ends the output quietly; any other failure (a full disk,
/// `> /dev/full`) is an error: the report was lost, exit 2.
fn stdout_result(written: std::io::Result<()>) -> Result<()> {
    match written {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(anyhow::anyhow!("cannot write to standard output: {e}")),
    }
}

/// DESIGN.md §4: 2 when nothing was collected, or the scan is partial (an input or source
/// could not be read, a detector could not be evaluated) unless `--allow-partial`; else 1 when
/// a finding is at or above `--fail-on`, else 0.
fn exit_code(lists: &[ReportList], fail_on: FailOn, allow_partial: bool) -> ExitCode {
    if lists
        .iter()
        .any(|l| l.status == ScanStatus::NothingCollected)
    {
        return ExitCode::from(2);
    }
    let unknown: usize = lists
        .iter()
        .map(|l| {
            l.reports
                .iter()
                .filter(|r| r.level == Level::Unknown)
                .count()
        })
        .sum();
    let partial = unknown > 0 || lists.iter().any(|l| l.status == ScanStatus::Partial);
    if partial && !allow_partial {
        eprintln!(
            "detek: the scan is partial ({unknown} detector(s) not evaluated): exit code 2 \
             (--allow-partial judges by findings only)"
        );
        return ExitCode::from(2);
    }
    let threshold = match fail_on {
        FailOn::Warn => Level::Warn,
        FailOn::Error => Level::Error,
        FailOn::Fatal => Level::Fatal,
        FailOn::Never => return ExitCode::SUCCESS,
    };
    if lists.iter().any(|l| l.has_findings_at(threshold)) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn plan(args: PlanArgs) -> Result<ExitCode> {
    let (config, catalogue) = load_config(&args.select)?;
    let targets = resolve_targets(&args.target, &config)?;
    let mut out = String::new();
    let mut json_plans = Vec::new();
    for target in &targets {
        let plan = make_plan(
            &args.select,
            target,
            &config,
            &catalogue,
            &suppressors(&config),
        )?;
        match args.format {
            ListFormat::Json => json_plans.push(plan_json(&target.target, &plan)),
            ListFormat::Table => out.push_str(&plan_table(&target.target, &plan)),
        }
    }
    match args.format {
        ListFormat::Json => emit(&format!("{}\n", serde_json::to_string_pretty(&json_plans)?))?,
        ListFormat::Table => emit(&out)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn plan_json(target: &Target, plan: &Plan) -> serde_json::Value {
    serde_json::json!({
        "target": target,
        "collectors": plan.collectors.iter().map(|c| {
            let m = c.collector.meta();
            serde_json::json!({
                "id": m.id,
                "stage": c.stage,
                "description": m.description,
                "requires": m.requires,
                "produces": m.produces.iter().filter(|k| plan.wanted.contains(*k)).collect::<Vec<_>>(),
            })
        }).collect::<Vec<_>>(),
        "detectors": plan.detectors.iter().map(|d| {
            let m = d.meta();
            serde_json::json!({"id": m.id, "level": m.level, "requires": m.requires, "uses": m.uses})
        }).collect::<Vec<_>>(),
        "cannot_run": plan.unrunnable.iter().map(|u| {
            serde_json::json!({"id": u.detector.meta().id, "missing": u.missing, "reason": u.reason})
        }).collect::<Vec<_>>(),
    })
}

fn plan_table(target: &Target, plan: &Plan) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(s, "Plan for {} ({})\n", target.name, target.kind);
    let _ = writeln!(
        s,
        "Collectors ({}), in order; one stage runs concurrently:",
        plan.collectors.len()
    );
    for c in &plan.collectors {
        let m = c.collector.meta();
        let produces: Vec<&str> = m
            .produces
            .iter()
            .copied()
            .filter(|k| plan.wanted.contains(k))
            .collect();
        let _ = writeln!(s, "  stage {}  {:<28} {}", c.stage, m.id, m.description);
        if !m.requires.is_empty() {
            let _ = writeln!(s, "           requires: {}", m.requires.join(", "));
        }
        let _ = writeln!(s, "           produces: {}", produces.join(", "));
    }
    let _ = writeln!(
        s,
        "\nDetectors ({}), run in parallel:",
        plan.detectors.len()
    );
    for d in &plan.detectors {
        let m = d.meta();
        let _ = writeln!(
            s,
            "  {:<34} {:<6} needs {}",
            m.id,
            m.level.as_str(),
            m.requires.join(", ")
        );
        if !m.uses.is_empty() {
            let _ = writeln!(s, "  {:<41} uses when present: {}", "", m.uses.join(", "));
        }
    }
    if !plan.unrunnable.is_empty() {
        let _ = writeln!(
            s,
            "\nCannot run on this target ({}):",
            plan.unrunnable.len()
        );
        for u in &plan.unrunnable {
            let _ = writeln!(s, "  {:<34} {}", u.detector.meta().id, u.reason);
        }
    }
    s.push('\n');
    s
}

fn list(args: ListArgs) -> Result<ExitCode> {
    let mut out = String::new();
    let catalogue = policy_catalogue(&args.policy, &Config::discover(None)?)?;
    let all = Selection {
        set: "all".into(),
        select: args.select.clone(),
        ignore: Vec::new(),
    };
    let detectors = catalogue.select(&all, &Default::default(), &Default::default())?;
    match args.format {
        ListFormat::Json => {
            let entries: Vec<serde_json::Value> = detectors
                .iter()
                .map(|d| {
                    let m = d.meta();
                    serde_json::json!({
                        "id": m.id,
                        "title": m.title,
                        "level": m.level,
                        "labels": m.labels,
                        "requires": m.requires,
                        "uses": m.uses,
                        "references": m.references,
                        "explanation": m.explanation(),
                        "solution": m.solution(),
                        "docs": m.docs,
                        "settings": m.settings,
                        "source": m.source.as_ref().map(|s| s.to_string()),
                    })
                })
                .collect();
            writeln!(out, "{}", serde_json::to_string_pretty(&entries)?)?;
        }
        ListFormat::Table => {
            writeln!(out, "{:<34} {:<6} {:<40} LABELS", "ID", "LEVEL", "TITLE")?;
            for d in &detectors {
                let m = d.meta();
                writeln!(
                    out,
                    "{:<34} {:<6} {:<40} {}",
                    m.id,
                    m.level.as_str(),
                    m.title,
                    m.labels.join(",")
                )?;
            }
            writeln!(
                out,
                "\n{} detectors. `detek explain ID` shows one in full.",
                detectors.len()
            )?;
        }
    }
    emit(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn explain(args: ExplainArgs) -> Result<ExitCode> {
    let mut out = String::new();
    let catalogue = policy_catalogue(&args.policy, &Config::discover(None)?)?;
    let Some(d) = catalogue.get(&args.id) else {
        bail!(
            "no detector {:?}{} (see `detek list`)",
            args.id,
            catalogue.suggestion(&args.id)
        );
    };
    let m = d.meta();
    writeln!(out, "# {} — {}\n", m.id, m.title)?;
    writeln!(out, "Level: {}    Labels: {}", m.level, m.labels.join(", "))?;
    if let Some(source) = &m.source {
        writeln!(out, "Source: {source}")?;
    }
    if m.uses.is_empty() {
        writeln!(out, "Reads: {}\n", m.requires.join(", "))?;
    } else {
        writeln!(
            out,
            "Reads: {}; when present: {}\n",
            m.requires.join(", "),
            m.uses.join(", ")
        )?;
    }
    write!(out, "{}", m.docs.markdown())?;
    if !m.settings.is_empty() {
        writeln!(
            out,
            "\n## Settings (detek.yaml: `detectors: {{{}: {{KEY: VALUE}}}}`)",
            m.id
        )?;
        for spec in &m.settings {
            let default = if spec.default.is_null() {
                "no default".to_string()
            } else {
                format!("default {}", spec.default)
            };
            writeln!(
                out,
                "- `{}` ({}, {default}): {}",
                spec.name, spec.kind, spec.doc
            )?;
        }
    }
    if !m.references.is_empty() {
        writeln!(out, "\n## References")?;
        for r in &m.references {
            writeln!(out, "- {r}")?;
        }
    }
    emit(&out)?;
    Ok(ExitCode::SUCCESS)
}
