use super::{Address, ServiceEndpoints, describe_address, endpoints_not_judged, pod_selector};
use crate::detectors::helpers::seconds_since;
use crate::prelude::*;
use k8s_openapi::jiff::Timestamp;
use std::collections::HashMap;

/// ## What it detects
/// Services with a Pod selector with some ready addresses and some not-ready addresses: part
/// of the backing Pods is out of rotation. Addresses are read from the Service's
/// EndpointSlices (each Pod once, whatever its IP families; terminating ones left out), or
/// from its Endpoints object when the scan holds no slice of it. (With no ready address at
/// all, `service_no_available_target` reports the Service instead.) ExternalName and
/// selector-less Services are not judged, nor are snapshots without any EndpointSlice or
/// Endpoints (plain manifests). A not-ready endpoint whose Pod became not ready (its `Ready`
/// condition changed) less than `grace_minutes` (a setting, default 5) before the scan is
/// left alone: every rolling update and restart passes through that state; a Service whose
/// every not-ready endpoint is that young is not reported.
///
/// ## Why it matters
/// The Service still answers, on reduced capacity: the remaining Pods take all the load, a
/// rolling update or a node drain can take the last one away, and a readiness probe that keeps
/// failing usually hides a real fault (a dependency down, a crash loop, a slow start).
///
/// ## How to fix
/// `kubectl get endpointslices -n NS -l kubernetes.io/service-name=NAME -o yaml` lists the
/// not-ready addresses and their Pods.
/// `kubectl describe pod POD -n NS` shows the failing readiness probe or the restart reason;
/// `kubectl logs POD -n NS` tells why. Fix the Pod, or the probe if it is wrong (too short a
/// timeout, wrong port or path).
///
/// ## Example
/// ```yaml
/// kind: EndpointSlice
/// metadata:
///   namespace: shop
///   labels: {kubernetes.io/service-name: web}
/// endpoints:
/// - addresses: [10.244.0.12]
///   conditions: {ready: true}
/// - addresses: [10.244.0.14]        # fires: 1 of 2 not ready
///   conditions: {ready: false}
///   targetRef: {kind: Pod, name: web-1}
/// ```
#[detector(
    id = "service_partially_available",
    title = "Services with some endpoints not ready",
    labels = ["kubernetes", "networking", "service"],
    level = Error,
    requires = [SERVICES, ENDPOINT_SLICES, ENDPOINTS, PODS],
    references = ["https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#container-probes"],
    settings = ServicePartiallyAvailableSettings,
)]
pub struct ServicePartiallyAvailable;

/// Settings of `service_partially_available`.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct ServicePartiallyAvailableSettings {
    /// Minutes a Pod may be not ready (starting, restarting, rolled out) before its endpoint is reported.
    #[setting(default = 5)]
    pub grace_minutes: i64,
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let settings: ServicePartiallyAvailableSettings = ctx.settings_of()?;
    let grace = settings.grace_minutes.max(0) * 60;
    // When each Pod's Ready condition last changed, by namespace and name.
    let mut ready_changed: HashMap<&str, HashMap<&str, &Timestamp>> = HashMap::new();
    for pod in ctx.get(&PODS)? {
        let changed = pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
            .and_then(|c| c.last_transition_time.as_ref());
        if let Some(t) = changed {
            ready_changed
                .entry(pod.namespace_or_default())
                .or_default()
                .insert(pod.name(), &t.0);
        }
    }
    let services = ctx.get(&SERVICES)?;
    let endpoints = ServiceEndpoints::new(ctx.get(&ENDPOINT_SLICES)?, ctx.get(&ENDPOINTS)?);
    if !endpoints.any && services.iter().any(|s| pod_selector(s).is_some()) {
        return Ok(endpoints_not_judged(serde_json::json!({})));
    }
    let mut out = Outcome::new();
    let mut judged: u64 = 0;
    for svc in services.iter().filter(|s| pod_selector(s).is_some()) {
        let Some(ep) = endpoints.of(svc.namespace_or_default(), svc.name()) else {
            continue;
        };
        judged += 1;
        let (ready, not_ready) = (&ep.ready, &ep.not_ready);
        if ready.is_empty() || not_ready.is_empty() {
            continue;
        }
        // Not ready for less than the grace period: starting, restarting or rolled out.
        let namespace = svc.namespace_or_default();
        let young = |a: &&Address| {
            let Some(("Pod", pod)) = a.target else {
                return false;
            };
            ready_changed
                .get(namespace)
                .and_then(|pods| pods.get(pod))
                .is_some_and(|t| seconds_since(ctx.now, t) < grace)
        };
        let not_ready: Vec<&Address> = not_ready.iter().filter(|a| !young(a)).collect();
        if not_ready.is_empty() {
            continue;
        }
        let total = ready.len() + ep.not_ready.len();
        let mut finding = Finding::new(
            Level::Error,
            Some(svc.object_ref()),
            format!(
                "{} of {total} endpoints not ready: {}",
                not_ready.len(),
                not_ready
                    .iter()
                    .take(5)
                    .map(|a| describe_address(a))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        if not_ready.len() > 5 {
            finding = finding.with_evidence(format!("and {} more not ready", not_ready.len() - 5));
        }
        out.push(finding.with_evidence(format!("{} ready", ready.len())));
    }
    out.evaluated = Some(judged);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::{finding_lines, run_fixture};

    #[test]
    fn names_the_service_and_its_not_ready_pod() {
        let report = run_fixture("service_partially_available", "fail.yaml");
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        let f = &report.findings[0];
        let object = f.object.as_ref().unwrap();
        assert_eq!(
            (object.kind.as_str(), object.name.as_str()),
            ("Service", "e2e-statefulset")
        );
        assert_eq!(object.namespace.as_deref(), Some("scraper"));
        assert_eq!(
            f.message,
            "1 of 2 endpoints not ready: 10.244.0.14 (Pod e2e-statefulset-1)"
        );
        assert!(run_fixture("service_partially_available", "pass.yaml").passed);
        // A Pod of a rollout, not ready for 40 s: within the grace period.
        let report = run_fixture("service_partially_available", "pass_rollout.yaml");
        assert_eq!(finding_lines(&report), Vec::<String>::new());
        assert_eq!(report.evaluated, Some(1));
        let mut settings = detek_core::Settings::new();
        settings.set("service_partially_available.grace_minutes", 0);
        let input = vec![crate::Input::Path(
            crate::testing::fixture_dir("service_partially_available").join("pass_rollout.yaml"),
        )];
        assert_eq!(
            finding_lines(&crate::testing::run_on(
                "service_partially_available",
                input,
                settings
            )),
            ["Service/shop/web: 1 of 3 endpoints not ready: 10.244.3.4 (Pod web-6f8d9c7b5-zz9rb)"]
        );
        // From EndpointSlices: three dual-stack Pods, one not ready, count as 1 of 3.
        let report = run_fixture("service_partially_available", "fail_endpointslices.yaml");
        assert_eq!(
            finding_lines(&report),
            ["Service/shop/web: 1 of 3 endpoints not ready: 10.244.3.4 (Pod web-5d9f7c-zz9rb)"]
        );
        assert!(run_fixture("service_partially_available", "pass-none-ready.yaml").passed);
    }
}
