use super::webhooks;
use crate::detectors::networking::ServiceEndpoints;
use crate::prelude::*;
use std::collections::{BTreeMap, HashMap};

/// ## What it detects
/// Admission webhooks whose `clientConfig.service` cannot answer: the Service does not exist,
/// has no port matching the webhook's `port` (default 443), or — when the scan contains
/// EndpointSlices or Endpoints — it has no ready address (read from its EndpointSlices, or
/// from its Endpoints object when the scan holds no slice of it). Fatal for webhooks with
/// `failurePolicy: Fail` (the default in `admissionregistration.k8s.io/v1`), Error for
/// `Ignore`. Only judged when the scan contains Services; webhooks called by `url` are not
/// judged. In manifests, a Service of the right name written without a namespace counts
/// (kustomize or `kubectl apply -n` places it at install time).
///
/// ## Why it matters
/// The API server calls the webhook on every request its rules match. When nobody answers,
/// a `Fail` webhook rejects them all: `Internal error occurred: failed calling webhook
/// "validate.nginx.ingress.kubernetes.io": ... service "ingress-nginx-controller-admission" not
/// found` or `no endpoints available for service`. Deployments cannot create Pods, Helm
/// upgrades fail, and if the webhook intercepts Pods of its own namespace it cannot even be
/// restarted — the classic leftover of an uninstalled operator whose webhook configuration (a
/// cluster-scoped object) stayed behind. An `Ignore` webhook lets requests through after the
/// failure (and its timeout), silently skipping its policies or mutations.
///
/// ## How to fix
/// `kubectl get validatingwebhookconfigurations,mutatingwebhookconfigurations` and
/// `kubectl get svc,endpoints -n NS NAME` show what is missing. If the webhook's software was
/// uninstalled, delete the leftover configuration: `kubectl delete
/// validatingwebhookconfiguration NAME`. If its Pods are down, find out why (`kubectl get pods
/// -n NS`, `kubectl describe pod`); when they cannot start because the webhook blocks them,
/// temporarily set `failurePolicy: Ignore` or delete the configuration, then let the operator
/// recreate it.
///
/// ## Example
/// ```yaml
/// kind: ValidatingWebhookConfiguration
/// webhooks:
/// - name: validate.nginx.ingress.kubernetes.io
///   failurePolicy: Fail
///   clientConfig:
///     service: {namespace: ingress-nginx, name: ingress-nginx-controller-admission}
///     # fires (Fatal) when that Service is gone or has no ready endpoint
/// ```
#[detector(
    id = "webhook_service_unavailable",
    title = "Admission webhooks whose Service is missing or has no ready endpoint",
    labels = ["kubernetes", "admission", "webhook", "networking"],
    level = Fatal,
    requires = [VALIDATING_WEBHOOKS, MUTATING_WEBHOOKS, SERVICES, ENDPOINT_SLICES, ENDPOINTS, CLUSTER_INFO],
    references = [
        "https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#service-reference",
        "https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#failure-policy",
    ],
)]
pub struct WebhookServiceUnavailable;

/// The configuration, the level and the webhooks sharing one problem.
type Group<'a> = (ObjectRef, Level, Vec<&'a str>);

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let hooks = webhooks(ctx.get(&VALIDATING_WEBHOOKS)?, ctx.get(&MUTATING_WEBHOOKS)?);
    let services = ctx.get(&SERVICES)?;
    let endpoints = ServiceEndpoints::new(ctx.get(&ENDPOINT_SLICES)?, ctx.get(&ENDPOINTS)?);
    let with_service: Vec<_> = hooks
        .iter()
        .filter_map(|h| Some((h, h.client_config.service.as_ref()?)))
        .collect();
    if services.is_empty() && !with_service.is_empty() {
        let mut out = Outcome::new()
            .evaluated(0)
            .not_judged("the scan has no Services");
        out.attach(
            "Not judged: the scan has no Services",
            serde_json::json!({"webhooks_calling_a_service": with_service.len()}),
        );
        return Ok(out);
    }
    let service_index: HashMap<(&str, &str), _> = services
        .iter()
        .map(|s| ((s.namespace_or_default(), s.name()), s))
        .collect();
    // Manifests often leave the namespace out (kustomize or `kubectl apply -n` sets it): there, a
    // Service of the right name written without a namespace counts as the webhook's.
    let live = ctx.get(&CLUSTER_INFO)?.live;
    let unplaced: HashMap<&str, _> = services
        .iter()
        .filter(|s| !live && s.namespace().is_none())
        .map(|s| (s.name(), s))
        .collect();
    // One finding per (configuration, problem, policy), naming every webhook.
    let mut groups: BTreeMap<(String, String, String), Group> = BTreeMap::new();
    let mut not_judged = Vec::new();
    for (hook, svc_ref) in &with_service {
        let (ns, name) = (svc_ref.namespace.as_str(), svc_ref.name.as_str());
        let port = svc_ref.port.unwrap_or(443);
        let found = service_index
            .get(&(ns, name))
            .or_else(|| unplaced.get(name));
        let problem = match found {
            None => Some(format!("Service {ns}/{name} does not exist")),
            Some(svc) => {
                let spec = svc.spec.as_ref();
                let external = spec.and_then(|s| s.type_.as_deref()) == Some("ExternalName");
                let ports: Vec<i32> = spec
                    .and_then(|s| s.ports.as_ref())
                    .into_iter()
                    .flatten()
                    .map(|p| p.port)
                    .collect();
                if !external && !ports.contains(&port) {
                    let list: Vec<String> = ports.iter().map(i32::to_string).collect();
                    Some(format!(
                        "Service {ns}/{name} has no port {port} (ports: {})",
                        if list.is_empty() {
                            "none".to_string()
                        } else {
                            list.join(", ")
                        }
                    ))
                } else if external || !endpoints.any {
                    None
                } else {
                    match endpoints.of(ns, name) {
                        None => {
                            not_judged.push(format!("{ns}/{name}"));
                            None
                        }
                        Some(ep) => {
                            if ep.ready.is_empty() {
                                Some(format!(
                                    "Service {ns}/{name} has no ready endpoint ({} not ready)",
                                    ep.not_ready.len()
                                ))
                            } else {
                                None
                            }
                        }
                    }
                }
            }
        };
        let Some(problem) = problem else { continue };
        groups
            .entry((
                hook.config.display_name(),
                problem,
                hook.failure_policy.clone(),
            ))
            .or_insert_with(|| (hook.config.clone(), hook.unreachable_level(), Vec::new()))
            .2
            .push(hook.name);
    }
    let mut out = Outcome::new().evaluated(with_service.len());
    for ((_, problem, policy), (config, level, names)) in groups {
        let consequence = if policy == "Fail" {
            "every API request they intercept is rejected"
        } else {
            "they are silently skipped: their checks or mutations do not happen"
        };
        out.push(Finding::new(
            level,
            Some(config),
            format!(
                "{problem}: webhook{} {} (failurePolicy {policy}) cannot be called and {consequence}",
                if names.len() == 1 { "" } else { "s" },
                names.join(", ")
            ),
        ));
    }
    if !not_judged.is_empty() {
        out.attach(
            "Not judged: webhook Services without an EndpointSlice or Endpoints in the scan",
            serde_json::json!(not_judged),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture;
    use detek_core::Level;

    #[test]
    fn a_missing_service_of_a_fail_webhook_is_fatal() {
        let report = run_fixture("webhook_service_unavailable", "fail.yaml");
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        let f = &report.findings[0];
        assert_eq!(f.level, Level::Fatal);
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "ValidatingWebhookConfiguration/ingress-nginx-admission"
        );
        assert_eq!(
            f.message,
            "Service ingress-nginx/ingress-nginx-controller-admission does not exist: webhook validate.nginx.ingress.kubernetes.io \
             (failurePolicy Fail) cannot be called and every API request they intercept is rejected"
        );
        let report = run_fixture("webhook_service_unavailable", "fail-port.yaml");
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        assert!(
            report.findings[0]
                .message
                .starts_with("Service ingress-nginx/ingress-nginx-controller-admission has no port 443 (ports: 8443):"),
            "{}",
            report.findings[0].message
        );
    }

    #[test]
    fn endpoints_without_ready_address_and_wrong_ports() {
        let report = run_fixture("webhook_service_unavailable", "fail-endpoints.yaml");
        let found: Vec<_> = report
            .findings
            .iter()
            .map(|f| (f.level, f.message.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![
                (
                    Level::Error,
                    "Service gatekeeper-system/gatekeeper-webhook-service has no ready endpoint (1 not ready): webhook mutation.gatekeeper.sh \
                     (failurePolicy Ignore) cannot be called and they are silently skipped: their checks or mutations do not happen"
                ),
                (
                    Level::Fatal,
                    "Service gatekeeper-system/gatekeeper-webhook-service has no ready endpoint (1 not ready): webhook check-ignore-label.gatekeeper.sh \
                     (failurePolicy Fail) cannot be called and every API request they intercept is rejected"
                ),
                (
                    Level::Error,
                    "Service gatekeeper-system/gatekeeper-webhook-service has no ready endpoint (1 not ready): webhook validation.gatekeeper.sh \
                     (failurePolicy Ignore) cannot be called and they are silently skipped: their checks or mutations do not happen"
                ),
            ]
        );
        assert!(run_fixture("webhook_service_unavailable", "pass.yaml").passed);
        assert!(run_fixture("webhook_service_unavailable", "pass-ready.yaml").passed);
        assert!(run_fixture("webhook_service_unavailable", "pass-namespace-unset.yaml").passed);
    }
}
