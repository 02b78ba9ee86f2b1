use crate::prelude::*;

/// ## What it detects
/// Containers whose memory working set stays at or above `container_threshold` (95%) of
/// their memory limit, and Nodes whose memory in use stays at or above `node_threshold`
/// (90%) of their total, for `duration` (15 minutes). The working set is what the kubelet
/// compares with the limit and what the OOM killer acts on (cAdvisor's
/// `container_memory_working_set_bytes`); the limit comes from kube-state-metrics; a Node's
/// memory from node-exporter (`1 - MemAvailable / MemTotal`, named by `node_uname_info`).
/// A container is reported on its Pod's controller (a Deployment, not its ReplicaSet).
///
/// Thresholds: the node threshold and duration are node-mixin's `NodeMemoryHighUtilization`
/// (`memoryHighUtilizationThreshold: 90`, `for: 15m`); kubernetes-mixin has no
/// container-versus-limit alert, so the container threshold is the common 95% "about to be
/// OOMKilled" line, held for the same 15 minutes.
///
/// ## Why it matters
/// A container at its limit is OOMKilled at the next allocation peak: the restart loses
/// in-flight work and the next one may not be far. A Node low on memory evicts Pods and, when
/// eviction is too slow, the kernel OOM killer picks processes itself — the kubelet's too.
///
/// ## How to fix
/// Look at the container's memory over the last days (`container_memory_working_set_bytes`):
/// a steady climb is a leak to fix, a plateau near the limit means the limit is too low —
/// raise `resources.limits.memory` (and the request with it) or tune the runtime's heap
/// (`-Xmx`, `GOMEMLIMIT`) below the limit. For a Node, move or resize workloads, or add
/// capacity; check that requests reflect real use so the scheduler does not overpack it.
///
/// ## Example
/// ```text
/// Deployment scraper/e2e-deployment container compute-pi-digits (pod e2e-deployment-6fb786454b-7fsxc):
///   working set at 96.7% of its memory limit for 15m (threshold 95.0%)
/// ```
#[detector(
    id = "memory_usage_high",
    title = "Containers near their memory limit, Nodes low on memory",
    labels = ["prometheus", "metrics", "memory"],
    level = Warn,
    requires = [MEMORY_USAGE, POD_OWNERS],
    references = [
        "https://github.com/prometheus/node_exporter/blob/master/docs/node-mixin/alerts/alerts.libsonnet",
        "https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/#memory-units",
    ],
    settings = MemoryUsageHighSettings,
)]
pub struct MemoryUsageHigh;

/// Settings of `memory_usage_high`.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct MemoryUsageHighSettings {
    /// PromQL: each container's working set as a fraction of its memory limit (labels namespace, pod, container).
    #[setting(
        default = "max by (namespace, pod, container) (container_memory_working_set_bytes{container!=\"\", container!=\"POD\"}) / on (namespace, pod, container) max by (namespace, pod, container) (kube_pod_container_resource_limits{resource=\"memory\"} > 0)"
    )]
    pub container_query: String,
    /// Fraction of the limit at which a container is reported.
    #[setting(default = 0.95)]
    pub container_threshold: f64,
    /// PromQL: each Node's memory in use as a fraction of its total (label nodename).
    #[setting(
        default = "(1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes) * on (instance) group_left (nodename) node_uname_info"
    )]
    pub node_query: String,
    /// Fraction of a Node's memory in use at which it is reported.
    #[setting(default = 0.90)]
    pub node_threshold: f64,
    /// How long the condition must hold (a PromQL duration; 0s: at the instant).
    #[setting(default = "15m")]
    pub duration: String,
}

pub(crate) fn queries(s: &MemoryUsageHighSettings) -> Result<Vec<QuerySpec>, String> {
    Ok(vec![
        QuerySpec::held_for("container", &s.container_query, &s.duration)?,
        QuerySpec::held_for("node", &s.node_query, &s.duration)?,
    ])
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let settings: MemoryUsageHighSettings = ctx.settings_of()?;
    let results = ctx.get(&MEMORY_USAGE)?;
    let owners = ctx.get(&POD_OWNERS)?;
    let containers = result(results, "container")?;
    let nodes = result(results, "node")?;
    if containers.series.is_empty() && nodes.series.is_empty() {
        return Ok(no_data(&[containers, nodes]));
    }
    let mut out = Outcome::new().evaluated(containers.series.len() + nodes.series.len());
    for finding in container_findings(
        containers,
        settings.container_threshold,
        owners,
        Level::Warn,
        |held| {
            format!(
                "working set at {} of its memory limit {} (threshold {}; now {})",
                percent(held.least),
                held_for(containers),
                percent(settings.container_threshold),
                percent(held.last),
            )
        },
    ) {
        out.push(finding);
    }
    for (series, held) in crossing(nodes, settings.node_threshold, Direction::Above) {
        let node = series
            .label("nodename")
            .or_else(|| series.label("instance"))
            .unwrap_or("?");
        let finding = Finding::new(
            Level::Warn,
            object_of(&series.labels, None),
            format!(
                "node {node}: {} of its memory in use {} (threshold {}; now {})",
                percent(held.least),
                held_for(nodes),
                percent(settings.node_threshold),
                percent(held.last),
            ),
        )
        .with_discriminator(format!(
            "instance={}",
            series.label("instance").unwrap_or("")
        ));
        out.push(with_query_evidence(finding, nodes, series));
    }
    Ok(out)
}

// Tested against the real test Prometheus in tests/prometheus.rs.
