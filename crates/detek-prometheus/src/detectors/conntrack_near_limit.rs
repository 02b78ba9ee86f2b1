use crate::prelude::*;

/// ## What it detects
/// Nodes whose connection-tracking table is at or above `threshold` (75%) of its limit:
/// `node_nf_conntrack_entries / node_nf_conntrack_entries_limit` from node-exporter, named by
/// `node_uname_info`. The threshold is node-mixin's `NodeHighNumberConntrackEntriesUsed`
/// (`> 0.75`, no `for`), so `duration` is `0s`: the instant of the query.
///
/// ## Why it matters
/// When the table is full the kernel drops new connections (`nf_conntrack: table full,
/// dropping packet`): the classic "DNS times out under load", since every UDP query to
/// kube-dns takes an entry, and kube-proxy's NAT needs one per connection. Nothing in the
/// objects shows it; Pods look healthy while their packets vanish.
///
/// ## How to fix
/// Raise `net.netfilter.nf_conntrack_max` (kube-proxy's `--conntrack-max-per-core` /
/// `conntrack.maxPerCore` sets it on start), shorten the timeouts of idle entries
/// (`nf_conntrack_tcp_timeout_established`, `nf_conntrack_udp_timeout`), and find who opens
/// so many connections (`conntrack -L | awk '{print $4}' | sort | uniq -c | sort -n`);
/// NodeLocal DNSCache removes the DNS entries.
///
/// ## Example
/// ```text
/// Node datagen-1-34: conntrack table at 76.3% of its limit (200000 of 262144; threshold 75.0%)
/// ```
#[detector(
    id = "conntrack_near_limit",
    title = "Nodes whose conntrack table is nearly full",
    labels = ["prometheus", "metrics", "node", "network"],
    level = Error,
    requires = [CONNTRACK],
    references = [
        "https://github.com/prometheus/node_exporter/blob/master/docs/node-mixin/alerts/alerts.libsonnet",
        "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-proxy/",
    ],
    settings = ConntrackNearLimitSettings,
)]
pub struct ConntrackNearLimit;

/// Settings of `conntrack_near_limit`.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct ConntrackNearLimitSettings {
    /// PromQL: each Node's conntrack entries as a fraction of the limit (label nodename).
    #[setting(
        default = "(node_nf_conntrack_entries / node_nf_conntrack_entries_limit) * on (instance) group_left (nodename) node_uname_info"
    )]
    pub query: String,
    /// Fraction of the limit at which a Node is reported.
    #[setting(default = 0.75)]
    pub threshold: f64,
    /// How long the condition must hold (a PromQL duration; 0s: at the instant).
    #[setting(default = "0s")]
    pub duration: String,
}

pub(crate) fn queries(s: &ConntrackNearLimitSettings) -> Result<Vec<QuerySpec>, String> {
    Ok(vec![QuerySpec::held_for("ratio", &s.query, &s.duration)?])
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let settings: ConntrackNearLimitSettings = ctx.settings_of()?;
    let results = ctx.get(&CONNTRACK)?;
    let ratio = result(results, "ratio")?;
    if ratio.series.is_empty() {
        return Ok(no_data(&[ratio]));
    }
    let mut out = Outcome::new().evaluated(ratio.series.len());
    for (series, held) in crossing(ratio, settings.threshold, Direction::Above) {
        let node = series
            .label("nodename")
            .or_else(|| series.label("instance"))
            .unwrap_or("?");
        let finding = Finding::new(
            Level::Error,
            object_of(&series.labels, None),
            format!(
                "node {node}: conntrack table at {} of its limit {} (threshold {})",
                percent(held.least),
                held_for(ratio),
                percent(settings.threshold),
            ),
        )
        .with_discriminator(format!(
            "instance={}",
            series.label("instance").unwrap_or("")
        ));
        out.push(with_query_evidence(finding, ratio, series));
    }
    Ok(out)
}

// Tested against the real test Prometheus in tests/prometheus.rs.
