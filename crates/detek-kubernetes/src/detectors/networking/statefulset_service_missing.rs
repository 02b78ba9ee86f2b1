use crate::detectors::helpers::grade_references;
use crate::prelude::*;
use k8s_openapi::api::apps::v1::StatefulSet;
use std::collections::HashMap;

/// ## What it detects
/// StatefulSets whose `spec.serviceName` (the governing Service) names a Service that does not
/// exist in their namespace, one that is not headless (`clusterIP: None`), or a headless one
/// whose selector does not select the StatefulSet's Pods (its pod template's labels): the
/// per-Pod DNS records come from the Service's endpoints, so they are missing too. A missing
/// or non-selecting
/// Service is an error when the Pods' own configuration (container `command`, `args`, `env`
/// values) uses the per-Pod DNS names it provides (`db-0.db`, `.db.NS.svc`); otherwise only the
/// names are missing and it is reported as a warning. Only judged when the scan contains
/// Services; a StatefulSet without `serviceName` is not judged.
///
/// ## Why it matters
/// A StatefulSet's stable network identity — `POD.SERVICE.NAMESPACE.svc.cluster.local` for each
/// replica — exists only through its headless governing Service. Without it, or with a normal
/// ClusterIP Service, these names do not resolve: databases and quorum systems (Cassandra
/// seeds, ZooKeeper, etcd, Kafka, MongoDB replica sets) that find their peers by these names
/// cannot form a cluster, and clients configured with them fail with `NXDOMAIN`. The
/// StatefulSet itself looks healthy.
///
/// ## How to fix
/// Create the headless Service the StatefulSet names, selecting its Pods:
/// `kubectl create service clusterip NAME --clusterip=None -n NS` then set its selector, or
/// apply the Service manifest that came with the StatefulSet (often in another file that was
/// forgotten). A Service's `clusterIP` cannot be changed: delete and recreate a non-headless
/// one. Check with `kubectl get svc NAME -n NS` (CLUSTER-IP must be `None`) and
/// `kubectl run -it --rm dnscheck --image=busybox:1.36 -- nslookup POD-0.NAME.NS.svc`.
///
/// ## Example
/// ```yaml
/// kind: StatefulSet
/// metadata: {name: cassandra}
/// spec:
///   serviceName: cassandra     # fires when no headless Service "cassandra" exists
/// ```
#[detector(
    id = "statefulset_service_missing",
    title = "StatefulSets whose governing headless Service is missing",
    labels = ["kubernetes", "networking", "statefulset", "dns"],
    level = Error,
    requires = [STATEFUL_SETS, SERVICES, CLUSTER_INFO],
    references = [
        "https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#stable-network-id",
        "https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/#pod-s-hostname-and-subdomain-fields",
    ],
)]
pub struct StatefulsetServiceMissing;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let stateful_sets = ctx.get(&STATEFUL_SETS)?;
    let services = ctx.get(&SERVICES)?;
    if services.is_empty() && !stateful_sets.is_empty() {
        let mut out = Outcome::new()
            .evaluated(0)
            .not_judged("the scan has no Services");
        out.attach(
            "Not judged: the scan has no Services",
            serde_json::json!({"stateful_sets": stateful_sets.len()}),
        );
        return Ok(out);
    }
    let index: HashMap<(&str, &str), _> = services
        .iter()
        .map(|s| ((s.namespace_or_default(), s.name()), s))
        .collect();
    let mut out = Outcome::new().evaluated(stateful_sets.len());
    for sts in stateful_sets {
        let Some(service) = sts.spec.service_name.as_deref().filter(|s| !s.is_empty()) else {
            continue;
        };
        let namespace = sts.namespace_or_default();
        let example = format!("{}-0.{service}.{namespace}.svc", sts.name());
        match index.get(&(namespace, service)) {
            None => {
                let used = uses_pod_dns(sts, service);
                let (level, consequence) = match &used {
                    Some(_) => (
                        Level::Error,
                        format!(
                            "the Pods' DNS names ({example}) do not resolve, and their configuration uses them"
                        ),
                    ),
                    None => (
                        Level::Warn,
                        format!("the Pods get no per-Pod DNS names ({example})"),
                    ),
                };
                let mut finding = Finding::new(
                    level,
                    Some(sts.object_ref()),
                    format!(
                        "serviceName {service} names no Service in namespace {namespace}: {consequence}"
                    ),
                );
                if let Some(used) = used {
                    finding = finding.with_evidence(used);
                }
                out.push(finding);
            }
            Some(svc) => {
                let cluster_ip = svc.spec.as_ref().and_then(|s| s.cluster_ip.as_deref());
                let external =
                    svc.spec.as_ref().and_then(|s| s.type_.as_deref()) == Some("ExternalName");
                if external {
                    continue;
                }
                if cluster_ip == Some("None") {
                    let selector = svc.spec.as_ref().and_then(|s| s.selector.as_ref());
                    let labels = sts
                        .spec
                        .template
                        .metadata
                        .as_ref()
                        .and_then(|m| m.labels.as_ref());
                    let selects = selector
                        .filter(|s| !s.is_empty())
                        .is_none_or(|s| selector_matches(s, labels));
                    if selects {
                        continue;
                    }
                    let selector = selector.expect("a selector that does not select");
                    let used = uses_pod_dns(sts, service);
                    let level = if used.is_some() {
                        Level::Error
                    } else {
                        Level::Warn
                    };
                    let join = |m: &std::collections::BTreeMap<String, String>| {
                        m.iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join(",")
                    };
                    let mut finding = Finding::new(
                        level,
                        Some(sts.object_ref()),
                        format!(
                            "governing Service {service} does not select the StatefulSet's Pods \
                             (selector {}): the Pods get no per-Pod DNS names ({example})",
                            join(selector)
                        ),
                    )
                    .with_evidence(format!(
                        "pod template labels: {}",
                        labels.map(join).unwrap_or_default()
                    ));
                    if let Some(used) = used {
                        finding = finding.with_evidence(used);
                    }
                    out.push(finding);
                    continue;
                }
                out.push(Finding::new(
                    Level::Warn,
                    Some(sts.object_ref()),
                    format!(
                        "governing Service {service} is not headless (clusterIP {}): the Pods get no per-Pod DNS names ({example})",
                        cluster_ip.unwrap_or("assigned at creation")
                    ),
                ));
            }
        }
    }
    Ok(grade_references(out, ctx.get(&CLUSTER_INFO)?, Level::Error))
}

/// Where the pod template refers to the per-Pod DNS names of `service`: a command, argument or
/// environment value containing `.SERVICE.`, `.SERVICE:` or ending in `.SERVICE`.
fn uses_pod_dns(sts: &StatefulSet, service: &str) -> Option<String> {
    let spec = sts.spec.template.spec.as_ref()?;
    let needle = format!(".{service}");
    let refers = |s: &str| {
        s.match_indices(&needle).any(|(i, _)| {
            let rest = &s[i + needle.len()..];
            rest.is_empty() || rest.starts_with(['.', ':', ',', ' ', '/'])
        })
    };
    for c in spec
        .init_containers
        .iter()
        .flatten()
        .chain(spec.containers.iter())
    {
        for env in c.env.iter().flatten() {
            if let Some(v) = env.value.as_deref().filter(|v| refers(v)) {
                return Some(format!("container {} env {}={v}", c.name, env.name));
            }
        }
        for arg in c.command.iter().flatten().chain(c.args.iter().flatten()) {
            if refers(arg) {
                let shown: String = arg.chars().take(120).collect();
                return Some(format!("container {} runs {shown:?}", c.name));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    /// A headless governing Service whose selector has a typo selects none of the Pods.
    #[test]
    fn a_headless_service_that_selects_none_of_the_pods() {
        let report =
            crate::testing::run_fixture("statefulset_service_missing", "fail-not-selecting.yaml");
        assert_eq!(
            crate::testing::finding_lines(&report),
            [
                "StatefulSet/kafka/zk: governing Service zk-hs does not select the StatefulSet's Pods \
              (selector app=zookeper): the Pods get no per-Pod DNS names (zk-0.zk-hs.kafka.svc)"
            ]
        );
        // Error, graded to Warn on manifests (the Service may be created elsewhere).
        assert_eq!(report.findings[0].level, detek_core::Level::Warn);
        assert_eq!(
            report.findings[0].evidence[0],
            "pod template labels: app=zookeeper"
        );
        assert!(
            report.findings[0].evidence[1].starts_with("container zookeeper env ZOO_SERVERS="),
            "{:?}",
            report.findings[0].evidence
        );
    }

    use crate::testing::{fixture_dir, run_fixture, run_on};
    use detek_core::{Level, Settings};
    use detek_kubernetes_model::Input;

    /// The manifests of `fail.yaml` as a cluster's dump (with a Node): the missing Service
    /// cannot be one an operator creates later, so the finding keeps its level.
    #[test]
    fn missing_service_in_a_dump_is_an_error() {
        let node = "apiVersion: v1\nkind: Node\nmetadata:\n  name: worker-1\n";
        let report = run_on(
            "statefulset_service_missing",
            vec![
                Input::Path(fixture_dir("statefulset_service_missing").join("fail.yaml")),
                Input::Text {
                    name: "node.yaml".into(),
                    text: node.into(),
                },
            ],
            Settings::default(),
        );
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        assert_eq!(report.findings[0].level, Level::Error);
        assert_eq!(report.findings[0].evidence.len(), 1);
    }

    /// On manifests the same finding is a warning: the Service may be created at run time.
    #[test]
    fn missing_service_used_by_the_pods_is_a_warning_on_manifests() {
        let report = run_fixture("statefulset_service_missing", "fail.yaml");
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "StatefulSet/cassandra"
        );
        assert_eq!(f.level, Level::Warn);
        assert_eq!(
            f.message,
            "serviceName cassandra names no Service in namespace default: the Pods' DNS names (cassandra-0.cassandra.default.svc) do not resolve, and their configuration uses them"
        );
        assert_eq!(
            f.evidence,
            vec![
                "container cassandra env CASSANDRA_SEEDS=cassandra-0.cassandra.default.svc.cluster.local",
                "Warn on manifests (Error on a cluster): it may be created at run time"
            ]
        );
    }

    #[test]
    fn missing_unused_or_non_headless_service_is_a_warning() {
        let report = run_fixture("statefulset_service_missing", "fail-argocd.yaml");
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        let f = &report.findings[0];
        assert_eq!(f.level, Level::Warn);
        assert!(f.message.ends_with("the Pods get no per-Pod DNS names (argocd-application-controller-0.argocd-application-controller.default.svc)"), "{}", f.message);
        let report = run_fixture("statefulset_service_missing", "fail-not-headless.yaml");
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        assert!(
            report.findings[0]
                .message
                .starts_with("governing Service web is not headless (clusterIP 10.96.14.2)"),
            "{}",
            report.findings[0].message
        );
        assert!(run_fixture("statefulset_service_missing", "pass.yaml").passed);
    }
}
