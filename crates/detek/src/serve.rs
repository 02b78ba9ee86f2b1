//! `detek serve`: the fleet hub (detek-hub) on a socket: the dashboard, the REST API and
//! /metrics over the hub's database.

use crate::cli::{FleetScanArgs, SelectArgs, ServeArgs};
use anyhow::{Context, Result, bail};
use detek_hub::db::Store;
use detek_hub::http::AppState;
use detek_hub::scheduler::run_every;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// The database when none is named: a file beside where the hub runs.
const DEFAULT_DATABASE: &str = "sqlite://detek-hub.db";

pub fn serve(args: ServeArgs) -> Result<ExitCode> {
    let listen: SocketAddr = args.listen.parse().with_context(|| {
        format!(
            "--listen {:?}: not an address and port (e.g. 127.0.0.1:8080)",
            args.listen
        )
    })?;
    if args.max_body_mib == 0 {
        bail!("--max-body-mib must be at least 1");
    }
    let scan_every = detek_kubernetes_live::parse_duration(&args.scan_every)
        .map_err(|e| anyhow::anyhow!("--scan-every: {e}"))?;
    let fleet = fleet_args(&args);
    let database = match (&args.database_url, args.demo) {
        (Some(url), _) => url.clone(),
        (None, true) => "sqlite::memory:".to_string(),
        (None, false) => DEFAULT_DATABASE.to_string(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let store = Store::connect(&database)
            .await
            // The URL may hold a password: name the database by its kind only.
            .with_context(|| format!("cannot open the hub's database ({})", kind_of(&database)))?;
        if args.demo {
            if store.target(detek_hub::demo::CLUSTERS[0].name).await?.is_some() {
                eprintln!("detek serve: the demo clusters are already in the database");
            } else {
                let base = crate::commands::demo_scan().await?;
                let now = jiff::Timestamp::now();
                let scans = detek_hub::demo::seed(&store, &base, now).await?;
                eprintln!(
                    "detek serve: seeded {} demo clusters with {scans} scans",
                    detek_hub::demo::CLUSTERS.len()
                );
            }
        }
        let mut state = AppState::new(store).with_token(args.token.clone());
        if let Some(fleet) = fleet {
            schedule(state.store.clone(), fleet, scan_every)?;
        }
        state.token_for_reads = args.token_for_reads;
        state.max_body = args.max_body_mib * 1024 * 1024;
        if state.token.is_none() {
            eprintln!("detek serve: no --token: the hub takes no writes (POST /api/scans answers 403)");
        }
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let bound = listener.local_addr()?;
        if !bound.ip().is_loopback() && !state.token_for_reads {
            eprintln!(
                "detek serve: listening on {bound}, beyond this machine: anyone who can reach it reads the fleet's findings (--token-for-reads to require the token)"
            );
        }
        eprintln!("detek serve: listening on http://{bound}/");
        detek_hub::http::serve(listener, state)
            .await
            .context("the web server stopped")?;
        Ok(ExitCode::SUCCESS)
    })
}

/// The flags of `detek fleet scan` for the targets `detek serve` is given (none: no scans).
fn fleet_args(args: &ServeArgs) -> Option<FleetScanArgs> {
    if args.sources.is_empty() {
        return None;
    }
    Some(FleetScanArgs {
        select: SelectArgs {
            set: "default".into(),
            select: Vec::new(),
            ignore: Vec::new(),
            config: None,
            policy: Default::default(),
        },
        sources: args.sources.clone(),
        database_url: String::new(),
        shard: None,
        concurrency: args.concurrency,
        timeout: args.timeout.clone(),
        request_timeout: "30s".into(),
        write_patience: "5m".into(),
        target_version: None,
        quiet: true,
    })
}

/// Scans the fleet every `every` in the background, as `detek fleet scan` does once; the
/// target list is read again before each pass (a new kubeconfig file is picked up), and a
/// list that cannot be read keeps the previous one.
fn schedule(store: Arc<Store>, fleet: FleetScanArgs, every: Duration) -> Result<()> {
    let (first, scanner, options) = crate::fleet::pass_setup(&fleet)?;
    eprintln!(
        "detek serve: scanning {} targets every {}",
        first.len(),
        args_duration(every)
    );
    let mut current = first;
    tokio::spawn(async move {
        run_every(
            &store,
            scanner,
            move || {
                match crate::fleet::fleet_targets(&fleet) {
                    Ok(targets) => current = targets,
                    Err(e) => eprintln!("detek serve: the target list: {e:#} (keeping the previous one)"),
                }
                current.clone()
            },
            every,
            &options,
            |summary| {
                eprintln!(
                    "detek serve: pass done: {} targets, {} failed, {} stored, {} not stored, in {:.1} s",
                    summary.outcomes.len(),
                    summary.failed(),
                    summary.stored(),
                    summary.not_stored(),
                    summary.duration.as_secs_f64()
                );
            },
            std::future::pending::<()>(),
        )
        .await;
    });
    Ok(())
}

fn args_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s.is_multiple_of(3600) => format!("{} h", s / 3600),
        s if s.is_multiple_of(60) => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// `sqlite` or `postgres`: how errors name a database without its URL (which may hold a
/// password).
fn kind_of(url: &str) -> &'static str {
    if url.starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    }
}
