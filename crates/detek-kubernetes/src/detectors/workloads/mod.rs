//! Workloads: Pods and their controllers.
//!
//! Helpers shared by the workload detectors live here rather than in their own file: `build.rs`
//! reads every other `.rs` file of this directory as a detector's documentation.

use crate::forensics::Evidence;
use crate::model::{Item, POD_SPECS};
use crate::pods::{PodSpecView, WithRevision};
use detek_core::{DetectContext, DetectError, Detector, Finding, Level, Outcome};
use detek_kubernetes_model::pod::{ContainerStatus, Pod, PodStatus};
use k8s_openapi::api::core::v1::{Container, ContainerStateTerminated, PodSpec, Probe};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use super::helpers::seconds_since;

mod helpers;

mod crashloop_backoff;
mod deployment_without_pdb;
mod deprecated_image_registry;
mod failed_pod;
mod hostpath_volume;
mod hpa_replicas_conflict;
mod image_from_unknown_registry;
mod image_pull_failure;
mod image_tag_latest;
mod naked_pod;
mod no_graceful_shutdown;
mod oomkilled_container;
mod pdb_blocks_eviction;
mod pdb_overlapping;
mod pod_pending_unschedulable;
mod pod_restarting;
mod pod_without_limits;
mod pod_without_liveness_probe;
mod pod_without_readiness_probe;
mod pod_without_requests;
mod requests_exceed_limits;

pub(super) fn all() -> Vec<Arc<dyn Detector>> {
    vec![
        Arc::new(failed_pod::FailedPod),
        Arc::new(pod_restarting::PodRestarting),
        Arc::new(oomkilled_container::OomkilledContainer),
        Arc::new(crashloop_backoff::CrashloopBackoff),
        Arc::new(image_pull_failure::ImagePullFailure),
        Arc::new(pod_pending_unschedulable::PodPendingUnschedulable),
        Arc::new(pod_without_limits::PodWithoutLimits),
        Arc::new(pod_without_requests::PodWithoutRequests),
        Arc::new(pod_without_liveness_probe::PodWithoutLivenessProbe),
        Arc::new(pod_without_readiness_probe::PodWithoutReadinessProbe),
        Arc::new(image_tag_latest::ImageTagLatest),
        Arc::new(hostpath_volume::HostpathVolume),
        Arc::new(deployment_without_pdb::DeploymentWithoutPdb),
        Arc::new(naked_pod::NakedPod),
        Arc::new(no_graceful_shutdown::NoGracefulShutdown),
        Arc::new(pdb_blocks_eviction::PdbBlocksEviction),
        Arc::new(pdb_overlapping::PdbOverlapping),
        Arc::new(hpa_replicas_conflict::HpaReplicasConflict),
        Arc::new(requests_exceed_limits::RequestsExceedLimits),
        Arc::new(image_from_unknown_registry::ImageFromUnknownRegistry),
        Arc::new(deprecated_image_registry::DeprecatedImageRegistry),
    ]
}

/// Which list of a Pod a container (or its status) comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ContainerKind {
    Init,
    Regular,
    Ephemeral,
}

impl ContainerKind {
    /// How messages name it: `container`, `init container`, `ephemeral container`.
    fn noun(self) -> &'static str {
        match self {
            ContainerKind::Init => "init container",
            ContainerKind::Regular => "container",
            ContainerKind::Ephemeral => "ephemeral container",
        }
    }
}

/// Every container status of a Pod: init containers, then regular, then ephemeral ones.
fn container_statuses(
    status: &PodStatus,
) -> impl Iterator<Item = (ContainerKind, &ContainerStatus)> {
    fn tagged(
        kind: ContainerKind,
        list: &Option<Vec<ContainerStatus>>,
    ) -> impl Iterator<Item = (ContainerKind, &ContainerStatus)> {
        list.iter().flatten().map(move |cs| (kind, cs))
    }
    tagged(ContainerKind::Init, &status.init_container_statuses)
        .chain(tagged(ContainerKind::Regular, &status.container_statuses))
        .chain(tagged(
            ContainerKind::Ephemeral,
            &status.ephemeral_container_statuses,
        ))
}

/// The finding with restart forensics' verdict on the container (`crate::forensics`) as its
/// last evidence: the cause and its fix, or "no known cause".
fn with_verdict(
    finding: Finding,
    evidence: &Evidence,
    pod: &Item<Pod>,
    status: &ContainerStatus,
    kind: ContainerKind,
    now: SystemTime,
) -> Finding {
    let explained = evidence.explain(pod, status, kind.noun(), now);
    let mut finding = finding.with_evidence(explained.verdict_line());
    if let Some(fix) = &explained.verdict.fix {
        finding = finding.with_evidence(format!("fix: {fix}"));
    }
    finding.with_timeline(explained.to_timeline())
}

/// Init containers then regular containers of a pod spec, each with its kind.
fn spec_containers(spec: &PodSpec) -> impl Iterator<Item = (ContainerKind, &Container)> {
    let init = spec
        .init_containers
        .iter()
        .flatten()
        .map(|c| (ContainerKind::Init, c));
    init.chain(spec.containers.iter().map(|c| (ContainerKind::Regular, c)))
}

/// `cpu=250m, memory=180Mi`.
fn quantities(map: &BTreeMap<String, Quantity>) -> String {
    map.iter()
        .map(|(k, v)| format!("{k}={}", v.0))
        .collect::<Vec<_>>()
        .join(", ")
}

use crate::forensics::memory_limit;

/// `exit code 137 (OOMKilled) at 2023-07-11T04:43:25Z`: one termination in a few words.
fn describe_termination(t: &ContainerStateTerminated) -> String {
    let mut s = format!("exit code {}", t.exit_code);
    if let Some(reason) = t.reason.as_deref().filter(|r| !r.is_empty()) {
        s.push_str(&format!(" ({reason})"));
    }
    if let Some(signal) = t.signal.filter(|s| *s != 0) {
        s.push_str(&format!(", signal {signal}"));
    }
    if let Some(at) = &t.finished_at {
        s.push_str(&format!(" at {}", at.0));
    }
    s
}

/// How long ago, by the scan's clock, container `cs` last restarted: its last termination's
/// `finishedAt`, else (the kubelet kept no last state) the `startedAt` of its current run,
/// running or since terminated; `None` when its status records neither. A restart count never resets while the Pod lives,
/// so this age is what tells a container restarting now from one that restarted long ago.
fn seconds_since_last_restart(cs: &ContainerStatus, now: SystemTime) -> Option<i64> {
    let last_termination = cs
        .last_state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .and_then(|t| t.finished_at.as_ref());
    let current_run = cs.state.as_ref().and_then(|s| {
        let running = s.running.as_ref().and_then(|r| r.started_at.as_ref());
        running.or_else(|| s.terminated.as_ref().and_then(|t| t.started_at.as_ref()))
    });
    last_termination
        .or(current_run)
        .map(|t| seconds_since(now, &t.0))
}

/// The `window_hours` setting of the restart checks, in seconds (values below 1 count as 1).
fn window_seconds(window_hours: i64) -> i64 {
    window_hours.max(1).saturating_mul(3_600)
}

/// Is this pod batch work (a Job's or CronJob's Pod, or their template)? Batch Pods run to
/// completion and serve no traffic, so probe checks leave them out.
fn is_batch(view: &PodSpecView) -> bool {
    const BATCH: [&str; 2] = ["Job", "CronJob"];
    if view.pod.is_some() {
        return view.controller.is_some_and(|c| BATCH.contains(&c.kind));
    }
    view.template
        .is_some_and(|t| BATCH.contains(&t.owner.kind.as_str()))
}

/// The probe checks: one `Warn` finding per container of a long-running Pod (batch work left
/// out) for which `probe` finds no probe, saying `message`.
fn missing_probe(
    ctx: &DetectContext,
    probe: fn(&Container) -> Option<&Probe>,
    message: &str,
) -> Result<Outcome, DetectError> {
    let specs = ctx.get(&POD_SPECS)?.views();
    let specs: Vec<_> = specs.into_iter().filter(|v| !is_batch(v)).collect();
    let mut out = Outcome::new().evaluated(specs.len());
    for view in &specs {
        for c in view.containers() {
            if probe(c).is_none() {
                out.push(
                    Finding::new(Level::Warn, Some(view.container_ref(&c.name)), message)
                        .with_revision_of(view),
                );
            }
        }
    }
    Ok(out)
}
