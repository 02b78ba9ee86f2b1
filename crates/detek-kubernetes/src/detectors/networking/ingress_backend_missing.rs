use crate::detectors::helpers::grade_references;
use crate::prelude::*;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::{Ingress, IngressBackend, IngressServiceBackend};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// ## What it detects
/// Ingress backends (in `rules[].http.paths[]` and `defaultBackend`) that name a Service
/// which does not exist in the Ingress's namespace, or a port (number or name) that the
/// Service does not have: the Ingress typo. Only judged when the scan contains Services at
/// all, so an Ingress scanned alone is not reported. Objects written without a namespace are
/// in `default`. A `networking.k8s.io/v1` backend naming neither `service` nor `resource` —
/// typically written with the old `serviceName`/`servicePort` fields, which v1 does not read —
/// routes nowhere and is reported whatever the scan holds.
///
/// ## Why it matters
/// The ingress controller has nowhere to send the traffic: those hosts and paths answer
/// `503 Service Temporarily Unavailable` (ingress-nginx) or `404`, often right after a deploy
/// that "succeeded", because the API server accepts an Ingress that points at nothing.
///
/// ## How to fix
/// `kubectl describe ingress NAME -n NS` shows each backend and its endpoints (`<error:
/// endpoints "x" not found>`). List the real names and ports with `kubectl get svc -n NS`, then
/// correct `backend.service.name` and `backend.service.port.number`/`.name` (or create the
/// missing Service). Ingress backends must be in the Ingress's own namespace.
///
/// ## Example
/// ```yaml
/// kind: Ingress
/// spec:
///   rules:
///   - http:
///       paths:
///       - path: /
///         pathType: Prefix
///         backend:
///           service:
///             name: tf-servng       # fires: the Service is tf-serving
///             port: {number: 8501}
/// ```
#[detector(
    id = "ingress_backend_missing",
    title = "Ingresses pointing at a missing Service or port",
    labels = ["kubernetes", "networking", "ingress"],
    level = Error,
    requires = [INGRESSES, SERVICES, CLUSTER_INFO],
    references = ["https://kubernetes.io/docs/concepts/services-networking/ingress/#the-ingress-resource"],
)]
pub struct IngressBackendMissing;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let ingresses = ctx.get(&INGRESSES)?;
    let services = ctx.get(&SERVICES)?;
    // Backends that name nothing route nowhere, whatever Services the scan holds.
    let nowhere: Vec<Finding> = ingresses.iter().filter_map(routes_nowhere).collect();
    if services.is_empty() && !ingresses.is_empty() {
        let mut out = if nowhere.is_empty() {
            Outcome::new()
                .evaluated(0)
                .not_judged("the scan has no Services")
        } else {
            Outcome::new().evaluated(ingresses.len())
        };
        out.attach(
            "Not judged: the scan has no Services",
            serde_json::json!({ "ingresses": ingresses.len() }),
        );
        for f in nowhere {
            out.push(f);
        }
        return Ok(out);
    }
    let mut by_namespace: HashMap<&str, BTreeMap<&str, &Service>> = HashMap::new();
    for s in services {
        by_namespace
            .entry(s.namespace_or_default())
            .or_default()
            .insert(s.name(), &s.object);
    }
    let empty = BTreeMap::new();
    let mut out = Outcome::new().evaluated(ingresses.len());
    for ing in ingresses {
        let namespace = ing.namespace_or_default();
        let in_namespace = by_namespace.get(namespace).unwrap_or(&empty);
        // Each distinct (service, port) once, with every place that names it.
        let mut problems: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (place, backend) in backends(ing) {
            let Some(b) = backend.service.as_ref() else {
                continue;
            };
            if let Some(problem) = check(b, namespace, in_namespace) {
                problems.entry(problem).or_default().push(place);
            }
        }
        for (problem, places) in problems {
            out.push(
                Finding::new(Level::Error, Some(ing.object_ref()), problem)
                    .with_evidence(format!("used by {}", places.join(", "))),
            );
        }
    }
    let mut out = grade_references(out, ctx.get(&CLUSTER_INFO)?, Level::Error);
    for f in nowhere {
        out.push(f);
    }
    Ok(out)
}

/// A `networking.k8s.io/v1` Ingress whose backends name neither a Service nor a resource:
/// written with the old `serviceName`/`servicePort` fields, which v1 drops.
fn routes_nowhere(ing: &Arc<Item<Ingress>>) -> Option<Finding> {
    if ing.origin.api_version.as_ref() != "networking.k8s.io/v1" {
        return None;
    }
    let places: Vec<String> = backends(ing)
        .into_iter()
        .filter(|(_, b)| b.service.is_none() && b.resource.is_none())
        .map(|(place, _)| place)
        .collect();
    if places.is_empty() {
        return None;
    }
    Some(
        Finding::new(
            Level::Error,
            Some(ing.object_ref()),
            "backend names no Service: networking.k8s.io/v1 reads `service: {name, port}`, not \
             the old `serviceName`/`servicePort` fields, so this path routes nowhere",
        )
        .with_evidence(format!("used by {}", places.join(", "))),
    )
}

/// Every backend of an Ingress with where it is used: `defaultBackend`, `host/path`.
fn backends(ing: &Item<Ingress>) -> Vec<(String, &IngressBackend)> {
    let mut out = Vec::new();
    let Some(spec) = ing.spec.as_ref() else {
        return out;
    };
    if let Some(b) = &spec.default_backend {
        out.push(("defaultBackend".to_string(), b));
    }
    for rule in spec.rules.iter().flatten() {
        let host = rule.host.as_deref().unwrap_or("*");
        for path in rule.http.iter().flat_map(|h| h.paths.iter()) {
            out.push((
                format!("{host}{}", path.path.as_deref().unwrap_or("/")),
                &path.backend,
            ));
        }
    }
    out
}

/// What is wrong with one Service backend, if anything.
fn check(
    b: &IngressServiceBackend,
    namespace: &str,
    services: &BTreeMap<&str, &Service>,
) -> Option<String> {
    let Some(svc) = services.get(b.name.as_str()) else {
        let hint = closest(&b.name, services.keys().copied())
            .map(|c| format!(" (did you mean {c:?}?)"))
            .unwrap_or_default();
        return Some(format!(
            "backend Service {:?} does not exist in namespace {namespace}{hint}",
            b.name
        ));
    };
    let spec = svc.spec.as_ref();
    if spec.and_then(|s| s.type_.as_deref()) == Some("ExternalName") {
        return None; // forwarded by name; ports are the external host's
    }
    let port = b.port.as_ref()?;
    let ports = spec.and_then(|s| s.ports.as_deref()).unwrap_or(&[]);
    let (wanted, found) = match (&port.name, port.number) {
        (Some(name), _) if !name.is_empty() => (
            format!("port {name:?}"),
            ports
                .iter()
                .any(|p| p.name.as_deref() == Some(name.as_str())),
        ),
        (_, Some(number)) => (
            format!("port {number}"),
            ports.iter().any(|p| p.port == number),
        ),
        _ => return None,
    };
    if found {
        return None;
    }
    let has: Vec<String> = ports
        .iter()
        .map(|p| match &p.name {
            Some(n) => format!("{n} {}", p.port),
            None => p.port.to_string(),
        })
        .collect();
    Some(format!(
        "backend {wanted} does not exist on Service {:?} (it has: {})",
        b.name,
        if has.is_empty() {
            "no ports".to_string()
        } else {
            has.join(", ")
        }
    ))
}

/// The Service name closest to a missing one, when it is a likely typo.
fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, c)| *d <= 2.max(name.len().min(c.len()) / 5))
        .min()
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    /// A v1 Ingress written with `serviceName`/`servicePort`: reported, with no Service in the
    /// scan.
    #[test]
    fn a_v1_backend_with_the_old_fields_routes_nowhere() {
        let report = crate::testing::run_fixture("ingress_backend_missing", "fail_old_fields.yaml");
        assert_eq!(
            crate::testing::finding_lines(&report),
            [
                "Ingress/shop/shop: backend names no Service: networking.k8s.io/v1 reads `service: \
              {name, port}`, not the old `serviceName`/`servicePort` fields, so this path routes \
              nowhere"
            ]
        );
        assert_eq!(report.findings[0].evidence, ["used by shop.example.com/"]);
    }

    use super::edit_distance;
    use crate::testing::run_fixture;

    #[test]
    fn names_the_ingress_and_the_missing_service() {
        let report = run_fixture("ingress_backend_missing", "fail.yaml");
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "Ingress/rook-ceph/rook-ceph-mgr-dashboard"
        );
        assert_eq!(
            f.message,
            "backend Service \"rook-ceph-mgr-dashboard\" does not exist in namespace rook-ceph"
        );
        assert_eq!(
            f.evidence,
            vec![
                "used by rook-ceph.example.com/",
                "Warn on manifests (Error on a cluster): it may be created at run time"
            ]
        );
    }

    #[test]
    fn suggests_the_service_and_lists_the_ports() {
        let report = run_fixture("ingress_backend_missing", "fail-typo.yaml");
        let messages: Vec<(String, &str)> = report
            .findings
            .iter()
            .map(|f| (f.object.as_ref().unwrap().name.clone(), f.message.as_str()))
            .collect();
        assert_eq!(
            messages,
            vec![
                (
                    "tf-serving-ingress".to_string(),
                    "backend Service \"tf-servng\" does not exist in namespace default (did you mean \"tf-serving\"?)"
                ),
                (
                    "tf-serving-ingress-v2".to_string(),
                    "backend port 8051 does not exist on Service \"tf-serving\" (it has: grpc 8500, rest 8501)"
                ),
            ]
        );
    }

    #[test]
    fn passes_a_correct_ingress_and_does_not_judge_without_services() {
        assert!(run_fixture("ingress_backend_missing", "pass.yaml").passed);
        let report = run_fixture("ingress_backend_missing", "pass-no-services.yaml");
        assert!(report.passed);
        assert_eq!(report.evaluated, Some(0));
        assert_eq!(edit_distance("tf-servng", "tf-serving"), 1);
    }
}
