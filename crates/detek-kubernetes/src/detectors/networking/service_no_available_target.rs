use super::{
    addresses, describe_address, endpoints_index, endpoints_not_judged, pod_selector,
    selector_string,
};
use crate::prelude::*;

/// ## What it detects
/// Services with a Pod selector whose Endpoints have no ready address at all: every request
/// to the Service fails. ExternalName Services and Services without a selector (Endpoints
/// managed by hand) are not judged. Snapshots without any Endpoints object (plain manifests)
/// have nothing to judge: the detector reports nothing and says so in an attachment.
///
/// ## Why it matters
/// A Service with no ready endpoint is down: kube-proxy rejects or drops its connections,
/// Ingresses answer 503, and clients inside the cluster see timeouts or "connection refused".
/// Either no Pod matches the selector, or all matching Pods fail their readiness probe.
///
/// ## How to fix
/// `kubectl get endpoints NAME -n NS -o yaml` shows the ready and not-ready addresses. With no
/// address at all, compare the selector (`kubectl get svc NAME -n NS -o wide`) with the Pods'
/// labels (`kubectl get pods -n NS -l KEY=VALUE`): the selector has a typo, or the workload is
/// scaled to zero or not running. With only not-ready addresses, find out why the Pods are not
/// ready (`kubectl describe pod`: readiness probe failures, crash loops).
///
/// ## Example
/// ```yaml
/// kind: Endpoints
/// metadata: {name: web, namespace: shop}
/// subsets:
/// - notReadyAddresses:            # fires: nothing ready
///   - ip: 10.244.1.7
///     targetRef: {kind: Pod, name: web-5d9c-x2x}
/// ```
#[detector(
    id = "service_no_available_target",
    title = "Services with no ready endpoint",
    labels = ["kubernetes", "networking", "service"],
    level = Error,
    requires = [SERVICES, ENDPOINTS],
    references = ["https://kubernetes.io/docs/concepts/services-networking/service/#endpoints"],
)]
pub struct ServiceNoAvailableTarget;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let services = ctx.get(&SERVICES)?;
    let endpoints = ctx.get(&ENDPOINTS)?;
    let with_selector: Vec<_> = services
        .iter()
        .filter_map(|s| Some((s, pod_selector(s)?)))
        .collect();
    if endpoints.is_empty() && !with_selector.is_empty() {
        return Ok(endpoints_not_judged(serde_json::json!({
            "services_with_selector": with_selector.len(),
        })));
    }
    let index = endpoints_index(endpoints);
    let mut out = Outcome::new();
    let mut judged: u64 = 0;
    let mut without_endpoints = Vec::new();
    for (svc, selector) in with_selector {
        let Some(ep) = index.get(&(svc.namespace_or_default(), svc.name())) else {
            without_endpoints.push(format!("{}/{}", svc.namespace_or_default(), svc.name()));
            continue;
        };
        judged += 1;
        let (ready, not_ready) = addresses(ep);
        if !ready.is_empty() {
            continue;
        }
        let message = if not_ready.is_empty() {
            format!(
                "no endpoints: no ready Pod matches the selector {}",
                selector_string(selector)
            )
        } else {
            format!(
                "no ready endpoints: all {} addresses are not ready ({})",
                not_ready.len(),
                not_ready
                    .iter()
                    .take(5)
                    .map(|a| describe_address(a))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        out.push(
            Finding::new(Level::Error, Some(svc.object_ref()), message)
                .with_evidence(format!("selector: {}", selector_string(selector))),
        );
    }
    if !without_endpoints.is_empty() {
        out.attach(
            "Not judged: Services with a selector but no Endpoints object in the scan",
            serde_json::json!(without_endpoints),
        );
    }
    out.evaluated = Some(judged);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture;

    #[test]
    fn names_the_service_whose_endpoints_are_empty() {
        let report = run_fixture("service_no_available_target", "fail.yaml");
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        let f = &report.findings[0];
        let object = f.object.as_ref().unwrap();
        assert_eq!(object.kind, "Service");
        assert_eq!(object.namespace.as_deref(), Some("services-4744"));
        assert_eq!(object.name, "nodeport-service");
        assert!(
            f.message
                .contains("no ready Pod matches the selector testid=nodeport-service-"),
            "{}",
            f.message
        );
    }

    #[test]
    fn reports_not_ready_addresses_when_nothing_is_ready() {
        let report = run_fixture("service_no_available_target", "fail-not-ready.yaml");
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        let f = &report.findings[0];
        assert_eq!(f.object.as_ref().unwrap().name, "e2e-statefulset");
        assert!(
            f.message.contains("all 2 addresses are not ready"),
            "{}",
            f.message
        );
        assert!(
            f.message.contains("(Pod e2e-statefulset-0)"),
            "{}",
            f.message
        );
    }

    #[test]
    fn passes_a_healthy_dump_and_says_why_manifests_are_not_judged() {
        assert!(run_fixture("service_no_available_target", "pass.yaml").passed);
        let report = run_fixture("service_no_available_target", "pass-manifests.yaml");
        assert!(report.passed);
        assert!(
            report
                .attachment
                .iter()
                .any(|a| a.description.contains("no Endpoints objects")),
            "{:?}",
            report.attachment
        );
    }
}
