use super::{noun, pod_selector};
use crate::prelude::*;
use k8s_openapi::api::core::v1::{ContainerPort, ServicePort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::{BTreeSet, HashSet};

/// ## What it detects
/// Service ports whose `targetPort` no container of the selected Pods exposes (for workloads
/// without Pods in the scan, such as manifests, their Pod templates):
/// - a **named** `targetPort` (`targetPort: http`) that no container port of any selected Pod
///   carries, with the same protocol: the Service is broken on that port (level Error);
/// - a **numbered** `targetPort` (or none: it defaults to `port`) that none of the selected
///   containers declares, while they do declare other ports (level Warn: Kubernetes sends
///   traffic to the number whether or not it is declared, so it works only if the process
///   listens there undeclared). Containers that declare no port at all are not judged.
///
/// Services that select nothing are `service_selector_matches_nothing`'s finding.
///
/// ## Why it matters
/// A named target port is looked up in each Pod; when no container has it, the Pod is left
/// out of the Service's endpoints and connections to that port fail. A number that the
/// containers do not declare is the classic copy-paste error (`targetPort: 80` in front of an
/// app on 8080): connections are refused. When the app does listen on the undeclared port,
/// the Pod spec is wrong and misleads whoever reads it.
///
/// ## How to fix
/// Compare `kubectl get svc NAME -n NS -o jsonpath='{.spec.ports}'` with the container ports
/// (`kubectl get pod POD -n NS -o jsonpath='{.spec.containers[*].ports}'`), then set
/// `targetPort` to the port the application listens on, preferably by name, and declare that
/// port in the container (`ports: [{name: http, containerPort: 8080}]`).
///
/// ## Example
/// ```yaml
/// kind: Service
/// spec:
///   selector: {app: shop}
///   ports:
///   - {port: 80, targetPort: http}   # fires: the container's port is named "web"
/// ---
/// kind: Deployment
/// spec:
///   template:
///     spec:
///       containers:
///       - ports: [{name: web, containerPort: 8080}]
/// ```
#[detector(
    id = "service_target_port_mismatch",
    title = "Service targetPorts that no selected container exposes",
    labels = ["kubernetes", "networking", "service"],
    level = Error,
    requires = [SERVICES, PODS_BY_LABEL],
    references = ["https://kubernetes.io/docs/concepts/services-networking/service/#field-spec-ports"],
)]
pub struct ServiceTargetPortMismatch;

/// What a Service port points at in the Pods.
enum Target<'a> {
    Number(i32),
    Name(&'a str),
}

fn target(port: &ServicePort) -> Target<'_> {
    match &port.target_port {
        None => Target::Number(port.port),
        Some(IntOrString::Int(n)) => Target::Number(*n),
        Some(IntOrString::String(s)) => match s.parse() {
            Ok(n) => Target::Number(n),
            Err(_) => Target::Name(s),
        },
    }
}

fn protocol(p: Option<&String>) -> &str {
    p.map_or("TCP", String::as_str)
}

fn describe(p: &ContainerPort) -> String {
    let proto = protocol(p.protocol.as_ref());
    match &p.name {
        Some(name) => format!("{name} {}/{proto}", p.container_port),
        None => format!("{}/{proto}", p.container_port),
    }
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let services = ctx.get(&SERVICES)?;
    let index = ctx.get(&PODS_BY_LABEL)?;
    let mut out = Outcome::new();
    let mut evaluated = 0;
    for svc in services.iter() {
        let Some(selector) = pod_selector(svc) else {
            continue;
        };
        let chosen = index.selected_per_revision(svc.namespace_or_default(), selector);
        if chosen.is_empty() {
            continue;
        }
        evaluated += 1;
        let what = noun(&chosen, true);
        // A view stands for the selected Pods of one controller revision.
        let selected_count: usize = chosen.iter().map(|v| v.replicas).sum();
        // Each distinct port once (replicas declare the same ones).
        let mut seen = HashSet::new();
        let declared: Vec<&ContainerPort> = chosen
            .iter()
            .flat_map(|v| v.all_containers())
            .flat_map(|c| c.ports.iter().flatten())
            .filter(|p| {
                seen.insert((
                    p.name.as_deref(),
                    p.container_port,
                    protocol(p.protocol.as_ref()),
                ))
            })
            .collect();
        // Described only for a finding: most Services match their Pods' ports.
        let declared_text = || {
            let declared_list: BTreeSet<String> = declared.iter().map(|p| describe(p)).collect();
            if declared_list.is_empty() {
                "none".to_string()
            } else {
                declared_list.into_iter().collect::<Vec<_>>().join(", ")
            }
        };
        let mut named = Vec::new();
        for v in &chosen {
            if !named
                .iter()
                .any(|n: &&PodSpecView| n.object_key() == v.object_key())
            {
                named.push(v);
                if named.len() == 3 {
                    break;
                }
            }
        }
        let selected_names: Vec<String> = named
            .iter()
            .map(|v| v.object_ref().display_name())
            .collect();
        let ports = svc.spec.as_ref().and_then(|s| s.ports.as_ref());
        for port in ports.into_iter().flatten() {
            let proto = protocol(port.protocol.as_ref());
            let label = match &port.name {
                Some(name) => format!("port {name} ({}/{proto})", port.port),
                None => format!("port {}/{proto}", port.port),
            };
            let finding = match target(port) {
                Target::Name(name) => {
                    let found = declared.iter().any(|p| {
                        p.name.as_deref() == Some(name) && protocol(p.protocol.as_ref()) == proto
                    });
                    if found {
                        continue;
                    }
                    Finding::new(
                        Level::Error,
                        Some(svc.object_ref()),
                        format!(
                            "{label} targets the named port {name:?}, which no container of the {} selected {what} has (they declare: {})",
                            selected_count,
                            declared_text()
                        ),
                    )
                }
                Target::Number(n) => {
                    if declared.is_empty() {
                        continue;
                    }
                    let found = declared
                        .iter()
                        .any(|p| p.container_port == n && protocol(p.protocol.as_ref()) == proto);
                    if found {
                        continue;
                    }
                    Finding::new(
                        Level::Warn,
                        Some(svc.object_ref()),
                        format!(
                            "{label} targets {n}/{proto}, which no container of the {} selected {what} declares (they declare: {})",
                            selected_count,
                            declared_text()
                        ),
                    )
                    .with_evidence(format!(
                        "traffic still goes to {n}: this works only if the process listens there without declaring it"
                    ))
                }
            };
            out.push(finding.with_evidence(format!("selects {}", selected_names.join(", "))));
        }
    }
    out.evaluated = Some(evaluated);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture;
    use detek_core::Level;

    #[test]
    fn a_missing_named_port_is_an_error() {
        let report = run_fixture("service_target_port_mismatch", "fail-named.yaml");
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        let f = &report.findings[0];
        assert_eq!(f.level, Level::Error);
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "Service/shop/shop"
        );
        assert_eq!(
            f.message,
            "port http (80/TCP) targets the named port \"http\", which no container of the 1 selected workload templates has (they declare: metrics 9090/TCP, web 8080/TCP)"
        );
        assert!(
            f.evidence
                .iter()
                .any(|e| e == "selects Deployment/shop/shop"),
            "{:?}",
            f.evidence
        );
    }

    #[test]
    fn an_undeclared_number_is_a_warning() {
        let report = run_fixture("service_target_port_mismatch", "fail.yaml");
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        let f = &report.findings[0];
        assert_eq!(f.level, Level::Warn);
        assert_eq!(f.object.as_ref().unwrap().name, "flocker-ghost");
        assert!(
            f.message.contains("targets 80/TCP, which no container"),
            "{}",
            f.message
        );
        assert!(
            f.message.contains("(they declare: 2368/TCP)"),
            "{}",
            f.message
        );

        let report = run_fixture("service_target_port_mismatch", "fail-dump.yaml");
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        let f = &report.findings[0];
        assert_eq!(f.object.as_ref().unwrap().name, "externalsvc");
        assert!(
            f.message
                .contains("targets 9376/TCP, which no container of the 2 selected Pods"),
            "{}",
            f.message
        );
    }

    #[test]
    fn passes_named_ports_and_pods_that_declare_nothing() {
        assert!(run_fixture("service_target_port_mismatch", "pass.yaml").passed);
        assert!(run_fixture("service_target_port_mismatch", "pass-undeclared.yaml").passed);
    }
}
