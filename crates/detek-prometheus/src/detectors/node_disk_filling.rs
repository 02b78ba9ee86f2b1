use crate::prelude::*;
use std::collections::HashMap;

/// ## What it detects
/// Filesystems of Nodes with at most `threshold` (40%) of their space left that, at the rate
/// of the last 6 hours, fill up within 24 hours (`predict_linear(…[6h], 24*60*60) < 0`),
/// and are not read-only — for `duration` (1 hour). This is node-mixin's
/// `NodeFilesystemSpaceFillingUp` warning (`fsSpaceFillingUpWarningThreshold: 40`, 24 h,
/// `for: 1h`); its critical twin uses 20% and 4 hours (set `threshold` and edit the query).
/// The finding says when, at that rate, the filesystem is full.
///
/// ## Why it matters
/// A full root or kubelet filesystem stops the Node: image pulls and container starts fail,
/// the kubelet evicts Pods under `DiskPressure`, logs and etcd writes fail. Predicting it
/// gives hours to act instead of a page at 100%.
///
/// ## How to fix
/// Find what grows (`du -xh --max-depth=2 MOUNTPOINT | sort -h`): container logs without
/// rotation, images (`crictl rmi --prune`), emptyDir volumes, a database or WAL. Clean up,
/// set `containerLogMaxSize`, tune the kubelet's image GC thresholds, or grow the disk.
///
/// ## Example
/// ```text
/// Node datagen-1-34: filesystem /var/lib/kubelet (/dev/vdb) filling up: 25.0% free,
///   at or under the threshold (40.0%) for 1h
///   evidence: at the rate of the last 6 hours it is full in about 5h
/// ```
#[detector(
    id = "node_disk_filling",
    title = "Node filesystems predicted to fill up",
    labels = ["prometheus", "metrics", "node", "storage"],
    level = Warn,
    requires = [DISK_FILLING],
    references = [
        "https://github.com/prometheus/node_exporter/blob/master/docs/node-mixin/alerts/alerts.libsonnet",
        "https://prometheus.io/docs/prometheus/latest/querying/functions/#predict_linear",
    ],
    settings = NodeDiskFillingSettings,
)]
pub struct NodeDiskFilling;

/// Settings of `node_disk_filling`.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct NodeDiskFillingSettings {
    /// PromQL: the free fraction of each filesystem predicted to fill up (labels nodename, device, mountpoint).
    #[setting(
        default = "(node_filesystem_avail_bytes{fstype!=\"\", mountpoint!=\"\"} / node_filesystem_size_bytes{fstype!=\"\", mountpoint!=\"\"} and predict_linear(node_filesystem_avail_bytes{fstype!=\"\", mountpoint!=\"\"}[6h], 24 * 60 * 60) < 0 and node_filesystem_readonly{fstype!=\"\", mountpoint!=\"\"} == 0) * on (instance) group_left (nodename) node_uname_info"
    )]
    pub query: String,
    /// Free fraction at or below which a filling filesystem is reported.
    #[setting(default = 0.40)]
    pub threshold: f64,
    /// How long the condition must hold (a PromQL duration; 0s: at the instant).
    #[setting(default = "1h")]
    pub duration: String,
    /// PromQL: seconds until each filesystem is full at the rate of the last 6 hours (same labels; for the message).
    #[setting(
        default = "(node_filesystem_avail_bytes{fstype!=\"\", mountpoint!=\"\"} / (-deriv(node_filesystem_avail_bytes{fstype!=\"\", mountpoint!=\"\"}[6h]) > 0)) * on (instance) group_left (nodename) node_uname_info"
    )]
    pub time_left_query: String,
}

pub(crate) fn queries(s: &NodeDiskFillingSettings) -> Result<Vec<QuerySpec>, String> {
    Ok(vec![
        QuerySpec::held_for("free", &s.query, &s.duration)?,
        QuerySpec::instant("time_left", &s.time_left_query),
    ])
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let settings: NodeDiskFillingSettings = ctx.settings_of()?;
    let results = ctx.get(&DISK_FILLING)?;
    let free = result(results, "free")?;
    let time_left: HashMap<&Labels, f64> = result(results, "time_left")?
        .series
        .iter()
        .filter_map(|s| Some((&s.labels, s.last()?)))
        .collect();
    // The query returns only filling filesystems: none is "nothing filling", a pass.
    let mut out = Outcome::new().evaluated(free.series.len());
    for (series, held) in crossing(free, settings.threshold, Direction::Below) {
        let node = series
            .label("nodename")
            .or_else(|| series.label("instance"))
            .unwrap_or("?");
        let mountpoint = series.label("mountpoint").unwrap_or("?");
        let device = series.label("device").unwrap_or("?");
        let mut finding = Finding::new(
            Level::Warn,
            object_of(&series.labels, None),
            format!(
                "node {node}: filesystem {mountpoint} ({device}) filling up: {} free, at or under the threshold ({}) {}",
                percent(held.last),
                percent(settings.threshold),
                held_for(free),
            ),
        )
        .with_discriminator(format!("mountpoint={mountpoint}"));
        if let Some(secs) = time_left.get(&series.labels) {
            finding = finding.with_evidence(format!(
                "at the rate of the last 6 hours it is full in about {} ({} free at most over the last {})",
                human_duration(*secs),
                percent(held.least),
                free.range.map(|r| human_duration(r.seconds)).unwrap_or_else(|| "instant".into()),
            ));
        }
        out.push(with_query_evidence(finding, free, series));
    }
    Ok(out)
}

// Tested against the real test Prometheus (6 hours of history loaded with promtool) in
// tests/prometheus.rs.
