use crate::prelude::*;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// ## What it detects
/// Workloads behind a Service that will drop requests when their Pods are replaced — the
/// "service denial during rollout" on-call case. Two patterns, both only for Pods (or pod
/// templates) that a Service's selector selects; Jobs and CronJobs are left out:
///
/// - **No drain time**: no container has a `preStop` hook and `terminationGracePeriodSeconds`
///   is below the setting `min_grace_seconds` (default 10; an unset grace period means 30).
/// - **Single replica**: a Deployment with one replica (and no HorizontalPodAutoscaler keeping
///   at least two), so any eviction, node drain or crash leaves the Service without a backend;
///   with `strategy: Recreate` every rollout does too. Turn this pattern off with the setting
///   `single_replica: false`.
///
/// Services that only expose metrics (named `*-metrics*`, or with every port named
/// `*metrics*`) do not count: a scrape gap is not an outage. On a live cluster, Pods of one
/// controller are reported once.
///
/// ## Why it matters
/// When a Pod is deleted, the kubelet sends SIGTERM while, in parallel, the endpoints
/// controller, kube-proxy on every node and the ingress controllers remove the Pod from
/// their backends. That takes a few seconds. A Pod that exits at once (no `preStop` delay,
/// a short grace period) keeps receiving connections it no longer accepts: clients see
/// `502`/`503`, connection resets and timeouts on every rollout, scale-down and node drain.
/// A single replica turns each of those into a full outage.
///
/// ## How to fix
/// Add a short delay before shutdown and give the Pod time to finish in-flight requests:
/// ```yaml
/// lifecycle:
///   preStop:
///     sleep: {seconds: 10}          # Kubernetes ≥ 1.30; or exec: {command: [sleep, "10"]}
/// terminationGracePeriodSeconds: 30  # longer than the preStop delay plus the drain time
/// ```
/// Run at least two replicas of anything behind a Service, with a PodDisruptionBudget
/// (`maxUnavailable: 1`) and the default `RollingUpdate` strategy. Check with `kubectl get
/// deploy NAME -n NS -o jsonpath='{.spec.replicas} {.spec.strategy.type}'`.
///
/// ## Example
/// ```yaml
/// kind: Deployment
/// spec:
///   replicas: 1                           # fires: single replica behind Service frontend
///   template:
///     spec:
///       terminationGracePeriodSeconds: 5  # fires: no preStop and 5s < 10s
///       containers: [{name: server, image: frontend:1.0}]
/// ```
#[detector(
    id = "no_graceful_shutdown",
    title = "Workloads behind a Service that drop requests when Pods are replaced",
    labels = ["kubernetes", "workloads", "availability", "networking"],
    level = Warn,
    requires = [POD_SPECS, SERVICES_BY_SELECTOR, DEPLOYMENTS, HPAS_BY_TARGET],
    references = [
        "https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination",
        "https://kubernetes.io/docs/concepts/containers/container-lifecycle-hooks/",
        "https://learnk8s.io/graceful-shutdown",
    ],
    settings = NoGracefulShutdownSettings,
)]
pub struct NoGracefulShutdown;

/// Settings of `no_graceful_shutdown`.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct NoGracefulShutdownSettings {
    /// Without a preStop hook, grace periods below this many seconds are too short.
    #[setting(default = 10)]
    pub min_grace_seconds: i64,
    /// Report single-replica Deployments behind a Service.
    #[setting(default = true)]
    pub single_replica: bool,
}

/// The grace period Kubernetes applies when none is written.
const DEFAULT_GRACE: i64 = 30;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let pod_specs = ctx.get(&POD_SPECS)?;
    let templates = pod_specs.templates();
    let services = ctx.get(&SERVICES_BY_SELECTOR)?;
    let deployments = ctx.get(&DEPLOYMENTS)?;
    let hpas = ctx.get(&HPAS_BY_TARGET)?;
    let settings: NoGracefulShutdownSettings = ctx.settings_of()?;
    let min_grace = settings.min_grace_seconds;

    // Only the specs that fail a check are matched against Services, through the shared index
    // (matching each against every Service of its namespace was quadratic).
    let services_of = |view: &PodSpecView| -> Vec<String> {
        services
            .selecting(view)
            .into_iter()
            .filter(|s| !metrics_only(s))
            .map(|s| s.name().to_string())
            .collect::<BTreeSet<String>>()
            .into_iter()
            .collect()
    };
    // The first Deployment of each namespace/name (manifests may repeat one).
    let mut deployment_by_name: HashMap<(&str, &str), &Deployment> = HashMap::new();
    for d in deployments {
        deployment_by_name
            .entry((d.namespace_or_default(), d.name()))
            .or_insert(d);
    }

    let specs = pod_specs.views();
    let mut out = Outcome::new().evaluated(specs.len());
    // (object display name) -> index of its finding, to merge both patterns on one object.
    let mut reported: BTreeMap<String, usize> = BTreeMap::new();

    for view in &specs {
        if super::is_batch(view) {
            continue;
        }
        let grace = view
            .spec()
            .termination_grace_period_seconds
            .unwrap_or(DEFAULT_GRACE);
        if grace >= min_grace || has_pre_stop(view.spec()) {
            continue;
        }
        let behind = services_of(view);
        if behind.is_empty() {
            continue;
        }
        let object = view.object_ref();
        reported.insert(object_key(&object), out.findings.len());
        out.push(
            Finding::new(
                Level::Warn,
                Some(object),
                format!(
                    "no preStop hook and terminationGracePeriodSeconds {grace}s (< {min_grace}s): Pods stop before Service {} stops sending them requests",
                    behind.join(", ")
                ),
            )
            .with_evidence(format!(
                "threshold: {min_grace}s (no_graceful_shutdown.min_grace_seconds)"
            ))
            .with_evidence(format!("{} Pod(s) of this controller", view.replicas))
            .with_revision_of(view),
        );
    }

    if settings.single_replica {
        for t in templates.iter().filter(|t| t.owner.kind == "Deployment") {
            if t.replicas != Some(1) {
                continue;
            }
            let view = PodSpecView::of_template(t);
            let behind = services_of(&view);
            if behind.is_empty() {
                continue;
            }
            let namespace = view.namespace();
            if let Some(hpa) = hpas
                .targeting(namespace, "Deployment", &t.owner.name)
                .next()
                && hpa.spec.min_replicas.unwrap_or(1) > 1
            {
                continue;
            }
            let recreate = deployment_by_name
                .get(&(namespace, t.owner.name.as_str()))
                .and_then(|d| d.spec.strategy.as_ref())
                .and_then(|s| s.type_.as_deref())
                == Some("Recreate");
            let message = if recreate {
                format!(
                    "1 replica behind Service {} with strategy Recreate: every rollout, eviction or node drain stops the Service",
                    behind.join(", ")
                )
            } else {
                format!(
                    "1 replica behind Service {}: any eviction, node drain or crash leaves it without a backend",
                    behind.join(", ")
                )
            };
            let name = object_key(&t.owner);
            match reported.get(&name) {
                Some(&i) => {
                    let f = &mut out.findings[i];
                    f.message = format!("{}; {message}", f.message);
                }
                None => {
                    reported.insert(name, out.findings.len());
                    out.push(
                        Finding::new(Level::Warn, Some(t.owner.clone()), message).with_evidence(
                            "turn off with no_graceful_shutdown.single_replica: false",
                        ),
                    );
                }
            }
        }
    }
    Ok(out)
}

/// An object's name and where it was read: manifests may hold several objects of one name
/// (alternative variants of an install), each reported on its own.
fn object_key(object: &ObjectRef) -> String {
    match &object.source {
        Some(s) => format!("{} {}:{}", object.display_name(), s.file, s.line),
        None => object.display_name(),
    }
}

/// A Service that only exposes metrics (named `*-metrics*`, or every port named `*metrics*`):
/// a scrape gap is not an outage, so it does not count as "behind a Service".
fn metrics_only(service: &Service) -> bool {
    let name = service.metadata.name.as_deref().unwrap_or("");
    if name.ends_with("-metrics") || name.contains("-metrics-") {
        return true;
    }
    let ports = service
        .spec
        .as_ref()
        .and_then(|s| s.ports.as_deref())
        .unwrap_or(&[]);
    !ports.is_empty()
        && ports
            .iter()
            .all(|p| p.name.as_deref().is_some_and(|n| n.contains("metrics")))
}

/// Does any container stop through a preStop hook?
fn has_pre_stop(spec: &PodSpec) -> bool {
    spec.containers
        .iter()
        .any(|c| c.lifecycle.as_ref().is_some_and(|l| l.pre_stop.is_some()))
}

#[cfg(test)]
mod tests {
    use crate::Input;
    use crate::testing::{fixture_dir, run_fixture, run_on};
    use detek_core::Settings;

    #[test]
    fn flags_a_short_grace_period_and_a_single_replica() {
        let report = run_fixture("no_graceful_shutdown", "fail.yaml");
        assert_eq!(report.findings.len(), 2, "{:?}", report.findings);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "Deployment/cartservice"
        );
        assert_eq!(
            f.message,
            "no preStop hook and terminationGracePeriodSeconds 5s (< 10s): Pods stop before Service cartservice stops sending them requests; \
             1 replica behind Service cartservice: any eviction, node drain or crash leaves it without a backend"
        );
        // redis-cart (same file) has the default 30s grace period but one replica.
        let f = &report.findings[1];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "Deployment/redis-cart"
        );
        assert!(
            f.message.starts_with("1 replica behind Service redis-cart"),
            "{}",
            f.message
        );
    }

    #[test]
    fn settings_turn_each_pattern_off() {
        let input = || {
            vec![Input::Path(
                fixture_dir("no_graceful_shutdown").join("fail.yaml"),
            )]
        };
        let mut settings = Settings::new();
        settings.set("no_graceful_shutdown.single_replica", false);
        let report = run_on("no_graceful_shutdown", input(), settings.clone());
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        assert!(report.findings[0].message.starts_with("no preStop hook"));
        settings.set("no_graceful_shutdown.min_grace_seconds", 5);
        assert!(run_on("no_graceful_shutdown", input(), settings).passed);
    }

    #[test]
    fn recreate_strategy_and_pods_of_one_controller() {
        let report = run_fixture("no_graceful_shutdown", "fail-recreate.yaml");
        let messages: Vec<_> = report.findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            vec![
                "1 replica behind Service prometheus with strategy Recreate: every rollout, eviction or node drain stops the Service"
            ]
        );
        let report = run_fixture("no_graceful_shutdown", "fail-pods.yaml");
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "Deployment/shop/web"
        );
        assert_eq!(f.evidence[1], "2 Pod(s) of this controller");
        assert!(run_fixture("no_graceful_shutdown", "pass.yaml").passed);
        assert!(run_fixture("no_graceful_shutdown", "pass-hpa.yaml").passed);
    }
}
