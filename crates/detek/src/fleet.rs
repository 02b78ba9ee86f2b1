//! `detek fleet scan`: one pass over the fleet's targets into the hub's database, each
//! target scanned the way `detek run` scans one kubeconfig context or cloud.

use crate::cli::{FleetArgs, FleetCommand, FleetScanArgs};
use crate::commands::{ScanTarget, cloud_target, load_config, make_plan, settings, suppressors};
use crate::config::Config;
use anyhow::{Context, Result, bail};
use detek_core::{Catalogue, Clock, ReportList, RunOptions, Settings, Silent, Target};
use detek_hub::db::Store;
use detek_hub::scheduler::{PassOptions, ScanError, Scanner, Shard, run_pass};
use detek_hub::targets::{self, HubConfig, TargetSource, TargetSpec};
use futures::future::BoxFuture;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub fn fleet(args: FleetArgs) -> Result<ExitCode> {
    match args.command {
        FleetCommand::Scan(args) => scan(args),
    }
}

/// The targets the flags name: `--targets FILE` (hub.yaml), `--kubeconfig-dir DIR`,
/// `--kubeconfig FILE` (every context) and `--clouds-yaml FILE`, merged.
pub fn fleet_targets(args: &FleetScanArgs) -> Result<Vec<TargetSpec>> {
    let sources = &args.sources;
    let mut config = match &sources.targets {
        Some(path) => HubConfig::load(path)?,
        None => HubConfig::default(),
    };
    config
        .kubeconfig_dirs
        .extend(sources.kubeconfig_dirs.iter().cloned());
    config
        .kubeconfigs
        .extend(sources.kubeconfigs.iter().cloned());
    config
        .clouds_yaml
        .extend(sources.clouds_yaml.iter().cloned());
    let targets = targets::resolve(&config)?;
    if targets.is_empty() {
        bail!(
            "no targets: give --targets hub.yaml, --kubeconfig-dir DIR, --kubeconfig FILE or \
             --clouds-yaml FILE"
        );
    }
    Ok(targets)
}

/// The shard: `--shard I/N`, else an Indexed Job's `JOB_COMPLETION_INDEX`/`JOB_COMPLETIONS`,
/// else the whole fleet.
fn shard(args: &FleetScanArgs) -> Result<Shard> {
    if let Some(shard) = args.shard {
        return Ok(shard);
    }
    let var = |name: &str| std::env::var(name).ok();
    Ok(Shard::from_env(
        var("JOB_COMPLETION_INDEX").as_deref(),
        var("JOB_COMPLETIONS").as_deref(),
    )
    .map_err(anyhow::Error::msg)?
    .unwrap_or_default())
}

/// What a pass needs from the flags: the targets, the scanner and the pass options (for
/// `detek fleet scan`, and for `detek serve` when it scans targets on an interval).
pub(crate) fn pass_setup(
    args: &FleetScanArgs,
) -> Result<(Vec<TargetSpec>, Arc<dyn Scanner>, PassOptions)> {
    let parse = |flag: &str, text: &str| {
        detek_kubernetes_live::parse_duration(text).map_err(|e| anyhow::anyhow!("{flag}: {e}"))
    };
    let timeout = parse("--timeout", &args.timeout)?;
    let request_timeout = parse("--request-timeout", &args.request_timeout)?;
    let write_patience = parse("--write-patience", &args.write_patience)?;
    let shard = shard(args)?;
    let targets = fleet_targets(args)?;
    let scanner = scanner(
        args.select.clone(),
        request_timeout,
        args.target_version.clone(),
    )?;
    let options = PassOptions {
        concurrency: args.concurrency.max(1),
        timeout,
        shard,
        write_patience,
    };
    Ok((targets, scanner, options))
}

fn scan(args: FleetScanArgs) -> Result<ExitCode> {
    let (targets, scanner, options) = pass_setup(&args)?;
    let shard = options.shard;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let summary = runtime.block_on(async {
        let store = Store::connect(&args.database_url)
            .await
            .context("cannot open the hub database")?;
        let summary = run_pass(&store, scanner, &targets, &options).await;
        store.close().await;
        anyhow::Ok(summary)
    })?;
    // One line per target, tab-separated; report data shown with control characters escaped.
    let safe = |text: &str| crate::commands::safe(&text);
    let mut out = String::new();
    for o in &summary.outcomes {
        let stored = match (&o.scan, &o.write_error) {
            (Some(id), _) if o.attempts > 1 => {
                format!("stored as scan {id} (write attempt {})", o.attempts)
            }
            (Some(id), _) => format!("stored as scan {id}"),
            (None, Some(e)) => format!("NOT STORED: {e}"),
            (None, None) => "NOT STORED".to_string(),
        };
        let why = o
            .error
            .as_deref()
            .map(|e| format!(" ({})", e.replace('\n', "; ")))
            .unwrap_or_default();
        out.push_str(&format!(
            "{}\t{}{}\t{:.1} s\t{}\n",
            safe(&o.target),
            o.status,
            safe(&why),
            o.duration.as_secs_f64(),
            safe(&stored)
        ));
    }
    if !args.quiet {
        print!("{out}");
        eprintln!(
            "detek: fleet scan, shard {shard}: {} targets ({} in other shards), {} failed, {} \
             stored, {} not stored, in {:.1} s",
            summary.outcomes.len(),
            summary.other_shards,
            summary.failed(),
            summary.stored(),
            summary.not_stored(),
            summary.duration.as_secs_f64()
        );
    }
    // A target that cannot be scanned is a result (stored with its reason); a scan that could
    // not be stored is an error.
    Ok(if summary.not_stored() > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// The scanner `detek fleet scan` uses, for `detek serve`'s scheduler: detector set and
/// selection as `select` says (with its `--config`), requests timing out after
/// `request_timeout`, deprecations judged against `target_version` (default: each cluster's).
pub fn scanner(
    select: crate::cli::SelectArgs,
    request_timeout: Duration,
    target_version: Option<String>,
) -> Result<Arc<dyn Scanner>> {
    let (config, catalogue) = load_config(&select)?;
    let settings = settings(&target_version, &config, &catalogue)?;
    Ok(Arc::new(FleetScanner {
        select,
        catalogue,
        config,
        settings,
        request_timeout,
    }))
}

/// Scans one target as `detek run` scans one context or cloud.
struct FleetScanner {
    select: crate::cli::SelectArgs,
    catalogue: Catalogue,
    config: Config,
    settings: Settings,
    request_timeout: Duration,
}

impl FleetScanner {
    /// The scan of one target (the pass enforces the target's timeout around it).
    fn scan_target(&self, spec: &TargetSpec) -> Result<ScanTarget, String> {
        let request_timeout = self.request_timeout;
        match &spec.source {
            TargetSource::Kubernetes {
                kubeconfig,
                context,
                namespace,
            } => {
                use detek_kubernetes_live::{
                    Environment, LiveCollector, LiveOptions, TargetRequest, resolve,
                };
                let request = TargetRequest {
                    kubeconfig: kubeconfig.clone(),
                    contexts: context.iter().cloned().collect(),
                    all_contexts: false,
                };
                let live = resolve(&request, &Environment::from_process())?
                    .into_iter()
                    .next()
                    .ok_or_else(|| "the kubeconfig names no context".to_string())?;
                let options = LiveOptions {
                    request_timeout,
                    max_retry_wait: request_timeout,
                    namespace: namespace.clone(),
                    ..LiveOptions::default()
                };
                Ok(ScanTarget {
                    target: Target {
                        kind: "cluster".into(),
                        name: spec.name.clone(),
                        // The collector replaces it with the kube-system namespace UID.
                        identity: format!("context:{}", live.name),
                        context: (!live.in_cluster()).then(|| live.name.clone()),
                    },
                    collectors: vec![Arc::new(LiveCollector::new(live, options))],
                    now: SystemTime::now(),
                    clock: Clock::Wall,
                })
            }
            TargetSource::Openstack { cloud, clouds_yaml } => {
                use detek_openstack::clouds::{Environment, resolve};
                let mut env = Environment::from_process();
                if let Some(path) = clouds_yaml {
                    env.vars
                        .insert("OS_CLIENT_CONFIG_FILE".into(), path.display().to_string());
                }
                let config = resolve(Some(cloud), &env)
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("no cloud {cloud:?}"))?;
                let options = detek_openstack::client::ClientOptions {
                    request_timeout,
                    max_retry_wait: request_timeout,
                    ..Default::default()
                };
                let handle = detek_openstack::collector::CloudHandle::new(config, options, false);
                let mut target = cloud_target(handle);
                target.target.name = spec.name.clone();
                Ok(target)
            }
            TargetSource::Pushed => Err("a pushed target: it sends its own reports \
                 (POST /api/scans), the hub does not scan it"
                .to_string()),
        }
    }

    async fn run(&self, spec: &TargetSpec) -> Result<ReportList, ScanError> {
        let target = self.scan_target(spec).map_err(ScanError)?;
        let suppressors = suppressors(&self.config);
        let plan = make_plan(
            &self.select,
            &target,
            &self.config,
            &self.catalogue,
            &suppressors,
        )
        .map_err(|e| ScanError(format!("{e:#}")))?;
        let options = RunOptions {
            target: target.target.clone(),
            settings: self.settings.clone(),
            now: target.now,
            clock: target.clock,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            progress: Arc::new(Silent),
            suppressors,
            report_unrunnable: self.catalogue.explicit_ids(&self.select.select),
        };
        Ok(detek_core::run(&plan, &options).await)
    }
}

impl Scanner for FleetScanner {
    fn scan<'a>(
        &'a self,
        target: &'a TargetSpec,
        _timeout: Duration,
    ) -> BoxFuture<'a, Result<ReportList, ScanError>> {
        Box::pin(self.run(target))
    }
}
