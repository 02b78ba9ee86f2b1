use crate::prelude::*;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// ## What it detects
/// Clusters that look abandoned, scored from five signs, each shown in the finding:
///
/// 1. no workload (Pod, Deployment, StatefulSet, DaemonSet, Job, CronJob) outside the system
///    namespaces (`kube-system`, `kube-public`, `kube-node-lease`, plus the list in the setting
///    `system_namespaces`);
/// 2. no Pod started in the last `idle_days` days (a setting, default 30);
/// 3. nothing exposed: no Ingress, and no Service of type LoadBalancer outside the system
///    namespaces;
/// 4. every Deployment outside the system namespaces is scaled to zero (when there are some);
/// 5. the cluster is older than `min_age_days` days (a setting, default 30; the
///    age of its oldest Node or of `kube-system`), so it is not merely being set up.
///
/// It reports when at least `min_score` signs hold (a setting, default 3). Only
/// judged on a cluster (live, or a dump with Nodes); plain manifests are not a cluster. Days are
/// counted to the scan time on a live cluster, and to the time of the dump (the newest node
/// heartbeat it holds) for a dump, so that an old dump is judged as it was.
///
/// ## Why it matters
/// Forgotten clusters — a proof of concept, a demo for a customer, the old cluster of a
/// migration — keep costing nodes, load balancers and disks, keep running unpatched software
/// with credentials to other systems, and keep paging someone when their certificates expire.
/// Nobody deletes them because nobody is sure they are unused.
///
/// ## How to fix
/// Confirm with the owners (labels, the cloud account's tags, `kubectl get events -A
/// --sort-by=.lastTimestamp | tail`), then delete the cluster or scale its node pools to zero.
/// If it is kept on purpose (disaster-recovery standby, a scheduled environment), disable the
/// detector for it (`detectors: {cluster_possibly_unused: {enabled: false}}`) or raise
/// `min_score` (`detectors: {cluster_possibly_unused: {min_score: 5}}` in `detek.yaml`).
///
/// ## Example
/// ```text
/// the cluster looks unused: 4 of 5 signs (reported from 3)
///   [x] no workload outside the system namespaces
///   [x] no Pod started in the last 30 days (newest: 2026-06-26T10:12:41Z)
///   [x] nothing exposed: no Ingress, no LoadBalancer Service
///   [ ] every Deployment scaled to zero: no Deployment outside the system namespaces
///   [x] cluster older than 30 days: 96 days
/// ```
#[detector(
    id = "cluster_possibly_unused",
    title = "Clusters that look unused",
    labels = ["kubernetes", "cluster", "cost"],
    level = Warn,
    requires = [
        CLUSTER_INFO, NODES, NAMESPACES, PODS, DEPLOYMENTS, STATEFUL_SETS, DAEMON_SETS,
        JOBS, CRON_JOBS, INGRESSES, SERVICES,
    ],
    references = ["https://kubernetes.io/docs/concepts/cluster-administration/"],
    settings = ClusterPossiblyUnusedSettings,
)]
pub struct ClusterPossiblyUnused;

/// Settings of `cluster_possibly_unused`.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct ClusterPossiblyUnusedSettings {
    /// Sign 2: no Pod started in this many days.
    #[setting(default = 30)]
    pub idle_days: i64,
    /// Sign 5: the cluster is older than this many days.
    #[setting(default = 30)]
    pub min_age_days: i64,
    /// Signs (of 5) at which the cluster is reported.
    #[setting(default = 3)]
    pub min_score: usize,
    /// More system namespaces, besides `kube-system`, `kube-public` and `kube-node-lease`.
    pub system_namespaces: Vec<String>,
}

const SYSTEM_NAMESPACES: &[&str] = &["kube-system", "kube-public", "kube-node-lease"];
const DAY: i64 = 86_400;

fn seconds(t: &k8s_openapi::jiff::Timestamp) -> i64 {
    t.as_second()
}

fn created(meta: &ObjectMeta) -> Option<i64> {
    meta.creation_timestamp.as_ref().map(|t| seconds(&t.0))
}

fn date(s: i64) -> String {
    jiff::Timestamp::from_second(s)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| format!("@{s}"))
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let info = ctx.get(&CLUSTER_INFO)?;
    let nodes = ctx.get(&NODES)?;
    if !info.live && nodes.is_empty() {
        let mut out = Outcome::new()
            .evaluated(0)
            .not_judged("the scan is not a cluster (no live connection, no Nodes)");
        out.attach(
            "Not judged: the scan is not a cluster (no live connection, no Nodes)",
            serde_json::json!({}),
        );
        return Ok(out);
    }
    let settings: ClusterPossiblyUnusedSettings = ctx.settings_of()?;
    let (idle_days, min_age_days, min_score) = (
        settings.idle_days,
        settings.min_age_days,
        settings.min_score,
    );
    let mut system: Vec<String> = SYSTEM_NAMESPACES.iter().map(|s| s.to_string()).collect();
    system.extend(settings.system_namespaces);
    let is_user = |ns: &str| !system.iter().any(|s| s == ns);
    // One clock for the scan: a dump is judged as of the newest time it holds.
    let now = crate::detectors::certificates::unix_seconds(ctx.now);

    let pods = ctx.get(&PODS)?;
    let deployments = ctx.get(&DEPLOYMENTS)?;
    // 1. workloads outside the system namespaces
    let mut user_workloads: Vec<String> = Vec::new();
    macro_rules! collect {
        ($key:expr, $kind:literal) => {
            for o in ctx
                .get(&$key)?
                .iter()
                .filter(|o| is_user(o.namespace_or_default()))
            {
                user_workloads.push(format!(
                    "{} {}/{}",
                    $kind,
                    o.namespace_or_default(),
                    o.name()
                ));
            }
        };
    }
    collect!(PODS, "Pod");
    collect!(DEPLOYMENTS, "Deployment");
    collect!(STATEFUL_SETS, "StatefulSet");
    collect!(DAEMON_SETS, "DaemonSet");
    collect!(JOBS, "Job");
    collect!(CRON_JOBS, "CronJob");
    let no_workloads = user_workloads.is_empty();
    let f1 = if no_workloads {
        format!(
            "no workload outside the system namespaces ({})",
            system.join(", ")
        )
    } else {
        format!(
            "{} workloads outside the system namespaces, e.g. {}",
            user_workloads.len(),
            user_workloads[0]
        )
    };

    // 2. newest Pod start
    let newest = pods
        .iter()
        .filter_map(|p| {
            p.status
                .as_ref()
                .and_then(|s| s.start_time.as_ref())
                .map(|t| seconds(&t.0))
                .or_else(|| created(&p.metadata))
        })
        .max();
    let idle = newest.is_none_or(|t| now - t > idle_days * DAY);
    let f2 = match newest {
        None => format!("no Pod started in the last {idle_days} days: no Pod at all"),
        Some(t) if idle => format!(
            "no Pod started in the last {idle_days} days (newest: {})",
            date(t)
        ),
        Some(t) => format!("a Pod started in the last {idle_days} days ({})", date(t)),
    };

    // 3. exposure
    let ingresses = ctx.get(&INGRESSES)?;
    let load_balancers: Vec<String> = ctx
        .get(&SERVICES)?
        .iter()
        .filter(|s| is_user(s.namespace_or_default()))
        .filter(|s| s.spec.as_ref().and_then(|s| s.type_.as_deref()) == Some("LoadBalancer"))
        .map(|s| format!("{}/{}", s.namespace_or_default(), s.name()))
        .collect();
    let unexposed = ingresses.is_empty() && load_balancers.is_empty();
    let f3 = if unexposed {
        "nothing exposed: no Ingress, no LoadBalancer Service".to_string()
    } else {
        format!(
            "exposed: {} Ingress(es), LoadBalancer Services: {}",
            ingresses.len(),
            if load_balancers.is_empty() {
                "none".to_string()
            } else {
                load_balancers.join(", ")
            }
        )
    };

    // 4. Deployments scaled to zero
    let user_deployments: Vec<_> = deployments
        .iter()
        .filter(|d| is_user(d.namespace_or_default()))
        .collect();
    let all_zero =
        !user_deployments.is_empty() && user_deployments.iter().all(|d| d.spec.replicas == Some(0));
    let f4 = if user_deployments.is_empty() {
        "every Deployment scaled to zero: no Deployment outside the system namespaces".to_string()
    } else if all_zero {
        format!(
            "every Deployment scaled to zero ({})",
            user_deployments.len()
        )
    } else {
        let running = user_deployments
            .iter()
            .filter(|d| d.spec.replicas != Some(0))
            .count();
        format!(
            "{running} of {} Deployments have replicas",
            user_deployments.len()
        )
    };

    // 5. age
    let namespaces = ctx.get(&NAMESPACES)?;
    let born = nodes
        .iter()
        .filter_map(|n| created(&n.metadata))
        .chain(
            namespaces
                .iter()
                .filter(|n| n.name() == "kube-system")
                .filter_map(|n| created(&n.metadata)),
        )
        .min();
    let age_days = born.map(|b| (now - b) / DAY);
    let old = age_days.is_some_and(|d| d > min_age_days);
    let f5 = match age_days {
        Some(d) => format!("cluster older than {min_age_days} days: {d} days"),
        None => format!("cluster older than {min_age_days} days: age unknown"),
    };

    let factors = [
        (no_workloads, f1),
        (idle, f2),
        (unexposed, f3),
        (all_zero, f4),
        (old, f5),
    ];
    let score = factors.iter().filter(|(hit, _)| *hit).count();
    let mut out = Outcome::new().evaluated(1);
    let lines: Vec<String> = factors
        .iter()
        .map(|(hit, text)| format!("[{}] {text}", if *hit { "x" } else { " " }))
        .collect();
    if score >= min_score {
        let mut finding = Finding::new(
            Level::Warn,
            None,
            format!(
                "the cluster looks unused: {score} of {} signs (reported from {min_score})",
                factors.len()
            ),
        );
        for line in lines {
            finding = finding.with_evidence(line);
        }
        out.push(finding);
    } else {
        out.attach(
            format!(
                "Score {score} of {} (reported from {min_score})",
                factors.len()
            ),
            serde_json::json!(lines),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::Input;
    use crate::testing::{fixture_dir, run_fixture, run_on};
    use detek_core::Settings;

    #[test]
    fn shows_every_sign() {
        // Judged as files are: as of the newest time the dump holds (its node heartbeat).
        let report = run_fixture("cluster_possibly_unused", "fail.yaml");
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        let f = &report.findings[0];
        assert!(f.object.is_none());
        assert_eq!(
            f.message,
            "the cluster looks unused: 4 of 5 signs (reported from 3)"
        );
        assert_eq!(
            f.evidence,
            vec![
                "[x] no workload outside the system namespaces (kube-system, kube-public, kube-node-lease)",
                "[x] no Pod started in the last 30 days (newest: 2026-06-26T10:12:41Z)",
                "[x] nothing exposed: no Ingress, no LoadBalancer Service",
                "[ ] every Deployment scaled to zero: no Deployment outside the system namespaces",
                "[x] cluster older than 30 days: 96 days",
            ]
        );
    }

    #[test]
    fn a_busy_or_new_cluster_passes() {
        // Judged as of its dump (June): busy, and new.
        assert!(run_fixture("cluster_possibly_unused", "pass.yaml").passed);
        // The idle cluster's own dump (the kube-system Pods only) is June too: 2 signs only.
        assert!(run_fixture("cluster_possibly_unused", "pass-new.yaml").passed);
        let mut strict = Settings::new();
        strict.set("cluster_possibly_unused.min_score", 5);
        let input = vec![Input::Path(
            fixture_dir("cluster_possibly_unused").join("fail.yaml"),
        )];
        assert!(run_on("cluster_possibly_unused", input, strict).passed);
    }
}
