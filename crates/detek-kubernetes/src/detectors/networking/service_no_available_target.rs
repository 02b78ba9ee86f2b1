use super::{
    ServiceEndpoints, describe_address, endpoints_not_judged, pod_selector, selector_string,
};
use crate::prelude::*;

/// ## What it detects
/// Services with a Pod selector with no ready address at all: every request to the Service
/// fails. Addresses are read from the Service's EndpointSlices (each Pod once, whatever its
/// IP families; terminating ones left out), or from its Endpoints object when the scan holds
/// no slice of it. A Service without a selector routes to the addresses written by hand (or by
/// another controller) in its own Endpoints or EndpointSlices: it is judged when those are in
/// the scan, unless it is headless (operators keep such Services as records). ExternalName
/// Services are not judged. Snapshots without any EndpointSlice or Endpoints (plain manifests)
/// have nothing to judge: the detector reports nothing and says so in an attachment.
///
/// ## Why it matters
/// A Service with no ready endpoint is down: kube-proxy rejects or drops its connections,
/// Ingresses answer 503, and clients inside the cluster see timeouts or "connection refused".
/// Either no Pod matches the selector, or all matching Pods fail their readiness probe.
///
/// ## How to fix
/// `kubectl get endpointslices -n NS -l kubernetes.io/service-name=NAME -o yaml` shows the
/// ready and not-ready addresses. With no
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
    requires = [SERVICES, ENDPOINT_SLICES, ENDPOINTS],
    references = ["https://kubernetes.io/docs/concepts/services-networking/service/#endpoints"],
)]
pub struct ServiceNoAvailableTarget;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let services = ctx.get(&SERVICES)?;
    let endpoints = ServiceEndpoints::new(ctx.get(&ENDPOINT_SLICES)?, ctx.get(&ENDPOINTS)?);
    let with_selector: Vec<_> = services
        .iter()
        .filter_map(|s| Some((s, pod_selector(s)?)))
        .collect();
    if !endpoints.any && !with_selector.is_empty() {
        return Ok(endpoints_not_judged(serde_json::json!({
            "services_with_selector": with_selector.len(),
        })));
    }
    let mut out = Outcome::new();
    let mut judged: u64 = 0;
    let mut without_endpoints = Vec::new();
    for (svc, selector) in with_selector {
        let Some(ep) = endpoints.of(svc.namespace_or_default(), svc.name()) else {
            without_endpoints.push(format!("{}/{}", svc.namespace_or_default(), svc.name()));
            continue;
        };
        judged += 1;
        let (ready, not_ready) = (&ep.ready, &ep.not_ready);
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
    // Services without a selector route to the addresses written in their own Endpoints or
    // EndpointSlices (an external database, a manually managed backend): judged when those
    // exist in the scan. Headless ones are left out: operators keep selector-less headless
    // Services with empty Endpoints as records (Patroni's `-config`).
    for svc in services.iter().filter(|s| pod_selector(s).is_none()) {
        let spec = svc.spec.as_ref();
        let routes = spec.is_some_and(|s| {
            s.type_.as_deref() != Some("ExternalName")
                && s.cluster_ip.as_deref() != Some("None")
                && s.ports.as_ref().is_some_and(|p| !p.is_empty())
        });
        if !routes {
            continue;
        }
        let Some(ep) = endpoints.of(svc.namespace_or_default(), svc.name()) else {
            continue;
        };
        judged += 1;
        if !ep.ready.is_empty() {
            continue;
        }
        let message = match ep.not_ready.len() {
            0 => "no endpoints: the Service has no selector and its Endpoints list no address"
                .to_string(),
            n => format!(
                "no ready endpoints: the Service has no selector and all {n} addresses of its \
                 Endpoints are not ready"
            ),
        };
        out.push(
            Finding::new(Level::Error, Some(svc.object_ref()), message)
                .with_evidence("no selector: its Endpoints or EndpointSlices are written by hand or by another controller"),
        );
    }
    if !without_endpoints.is_empty() {
        out.attach(
            "Not judged: Services with a selector but no EndpointSlice or Endpoints in the scan",
            serde_json::json!(without_endpoints),
        );
    }
    out.evaluated = Some(judged);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::{finding_lines, run_fixture};

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

    /// Read from EndpointSlices (no Endpoints in the dump): a dual-stack Pod counts once, a
    /// terminating one not at all.
    #[test]
    fn reads_endpointslices() {
        let report = run_fixture("service_no_available_target", "fail_endpointslices.yaml");
        assert_eq!(
            finding_lines(&report),
            [
                "Service/shop/web: no ready endpoints: all 2 addresses are not ready (10.244.1.7 \
              (Pod web-5d9f7c-h4k8p), 10.244.2.9 (Pod web-5d9f7c-q7x2m))"
            ]
        );
        // k3s's kube-system, dumped with its slices and no Endpoints: every Service judged.
        let report = run_fixture("service_no_available_target", "pass_endpointslices.json");
        assert_eq!(finding_lines(&report), Vec::<String>::new());
        assert_eq!(report.evaluated, Some(3));
    }

    /// A Service without a selector whose hand-written Endpoints hold no address.
    #[test]
    fn judges_a_service_without_selector_by_its_own_endpoints() {
        let report = run_fixture("service_no_available_target", "fail_no_selector.yaml");
        assert_eq!(
            finding_lines(&report),
            [
                "Service/shop/orders-db: no endpoints: the Service has no selector and its Endpoints \
              list no address"
            ]
        );
        assert_eq!(report.evaluated, Some(2));
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
                .any(|a| a.description.contains("no EndpointSlices or Endpoints")),
            "{:?}",
            report.attachment
        );
    }
}
