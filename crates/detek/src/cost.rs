//! `--aws-cost`: an AWS account's daily cost per service, read from the Cost Explorer API, as a
//! target of its own (`cloud_cost_anomaly`; docs/cost.md). Cost access is configured only by
//! these flags (DESIGN.md §1): AWS credentials in the environment, which kubectl's EKS plugins
//! use too, do not make a scan read the bill.

use crate::cli::TargetArgs;
use crate::commands::ScanTarget;
use anyhow::Result;
use detek_core::{Clock, Target};
use detek_cost::collector::{CostExplorerCollector, CostOptions};
use std::sync::Arc;
use std::time::SystemTime;

/// The cost flags of `detek run` and `detek plan`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CostArgs {
    /// Scan an AWS account's daily cost per service (cloud_cost_anomaly) from the Cost
    /// Explorer API (GetCostAndUsage), with the standard AWS credential chain:
    /// $AWS_ACCESS_KEY_ID, $AWS_SECRET_ACCESS_KEY and $AWS_SESSION_TOKEN, $AWS_PROFILE,
    /// ~/.aws/config and ~/.aws/credentials (SSO, credential_process), web identity, container
    /// and instance credentials (docs/cost.md). The account is a target of its own, scanned
    /// alone unless a cluster (--kubeconfig, --context, --all-contexts, --input, --demo) or
    /// --os-cloud is asked for too. The days read end the day before --now (default: today,
    /// UTC). Costs one Cost Explorer request per page (AWS charges for them).
    #[arg(long)]
    pub aws_cost: bool,

    /// AWS cost: the profile of ~/.aws/config and ~/.aws/credentials to use (default:
    /// $AWS_PROFILE, else `default`). Implies --aws-cost.
    #[arg(long, value_name = "NAME")]
    pub aws_profile: Option<String>,

    /// AWS cost: send the Cost Explorer requests to this URL instead of
    /// https://ce.us-east-1.amazonaws.com (a proxy, a replay); $AWS_ENDPOINT_URL_COST_EXPLORER
    /// and $AWS_ENDPOINT_URL are honoured without it. Implies --aws-cost.
    #[arg(long, value_name = "URL")]
    pub aws_cost_endpoint: Option<String>,
}

impl CostArgs {
    /// Whether cost access is configured.
    pub fn asked(&self) -> bool {
        self.aws_cost || self.aws_profile.is_some() || self.aws_cost_endpoint.is_some()
    }
}

/// Whether no cluster is asked for beside the cost target (then none is looked for in the
/// default kubeconfig, as `--os-cloud` alone scans only the cloud). `--ssh` checks the nodes
/// of a cluster, so it asks for one.
pub(crate) fn alone(args: &TargetArgs) -> bool {
    args.cost.asked()
        && !args.ssh.ssh
        && !args.demo
        && args.inputs.is_empty()
        && args.kubeconfig.is_none()
        && args.contexts.is_empty()
        && !args.all_contexts
        && args.os_cloud.is_none()
}

/// The cost target, when asked for: named after the profile, identified by it (DESIGN.md §4;
/// Cost Explorer does not name the account, and no other API is called to learn it).
pub(crate) fn target(args: &TargetArgs) -> Result<Option<ScanTarget>> {
    if !args.cost.asked() {
        return Ok(None);
    }
    let request_timeout = detek_kubernetes_live::parse_duration(&args.request_timeout)
        .map_err(|e| anyhow::anyhow!("--request-timeout: {e}"))?;
    let end = match &args.now {
        Some(now) => {
            let now: jiff::Timestamp = now.parse().map_err(|e| {
                anyhow::anyhow!(
                    "--now {now:?}: not an RFC 3339 time (e.g. 2026-01-13T19:00:00Z): {e}"
                )
            })?;
            Some(now.to_zoned(jiff::tz::TimeZone::UTC).date())
        }
        None => None,
    };
    let profile = args
        .cost
        .aws_profile
        .clone()
        .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()));
    let options = CostOptions {
        profile: profile.clone(),
        endpoint: args.cost.aws_cost_endpoint.clone(),
        end,
        request_timeout,
        ..CostOptions::default()
    };
    let label = profile.as_deref().unwrap_or("default");
    Ok(Some(ScanTarget {
        target: Target {
            kind: "cloud-billing".into(),
            name: format!("AWS Cost Explorer (profile {label})"),
            identity: format!("aws-cost:profile:{label}"),
            context: None,
        },
        collectors: vec![Arc::new(CostExplorerCollector::new(options))],
        now: SystemTime::now(),
        clock: Clock::Wall,
    }))
}
