use super::{Webhook, webhooks};
use crate::prelude::*;
use std::collections::BTreeMap;

/// ## What it detects
/// Admission webhooks with `failurePolicy: Fail` whose rules intercept what the control plane
/// needs to recover — Pods, Deployments, DaemonSets, ReplicaSets, StatefulSets, ConfigMaps,
/// Secrets, Services, Endpoints, EndpointSlices, ServiceAccounts or Leases, directly or through
/// a `*` wildcard — in `kube-system`, because their `namespaceSelector` does not exclude it. The
/// selector is evaluated against the labels of the `kube-system` Namespace
/// (`kubernetes.io/metadata.name: kube-system`, plus its labels when the Namespace is in the
/// scan). Webhooks whose `objectSelector` only matches labelled objects are left out, and so
/// are webhooks with `matchConditions` (their CEL expressions may exclude system requests and
/// are not evaluated; the detector lists them in a note).
///
/// ## Why it matters
/// If the webhook's backend is down — its Pods evicted, its node gone, its certificate expired
/// — every matching request in `kube-system` is rejected. CoreDNS, the CNI, kube-proxy and the
/// webhook's own Pods (when it runs in the cluster) can then no longer be created or updated,
/// so the cluster cannot heal the very thing the webhook needs: a deadlock that only deleting
/// the webhook configuration breaks. The Kubernetes documentation recommends excluding
/// `kube-system` and the webhook's own namespace.
///
/// ## How to fix
/// Exclude system namespaces in the webhook's `namespaceSelector`:
/// ```yaml
/// namespaceSelector:
///   matchExpressions:
///   - {key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system, MY-WEBHOOK-NS]}
/// ```
/// (most charts expose this as a value), or use `failurePolicy: Ignore` for webhooks that are
/// not security boundaries. List the offenders with `kubectl get
/// validatingwebhookconfigurations,mutatingwebhookconfigurations -o yaml`.
///
/// ## Example
/// ```yaml
/// kind: MutatingWebhookConfiguration
/// webhooks:
/// - name: inject.example.com
///   failurePolicy: Fail          # fires: no namespaceSelector, intercepts every Pod
///   rules: [{apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods]}]
/// ```
#[detector(
    id = "webhook_intercepts_kube_system",
    title = "Fail-closed admission webhooks that can block kube-system",
    labels = ["kubernetes", "admission", "webhook", "availability"],
    level = Warn,
    requires = [VALIDATING_WEBHOOKS, MUTATING_WEBHOOKS, NAMESPACES],
    references = [
        "https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#avoiding-operating-on-the-kube-system-namespace",
        "https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#avoiding-deadlocks-in-self-hosted-webhooks",
    ],
)]
pub struct WebhookInterceptsKubeSystem;

/// Namespaced resources the control plane needs to recover, by API group.
const CRITICAL: &[(&str, &str)] = &[
    ("", "pods"),
    ("", "configmaps"),
    ("", "secrets"),
    ("", "services"),
    ("", "endpoints"),
    ("", "serviceaccounts"),
    ("apps", "deployments"),
    ("apps", "daemonsets"),
    ("apps", "replicasets"),
    ("apps", "statefulsets"),
    ("coordination.k8s.io", "leases"),
    ("discovery.k8s.io", "endpointslices"),
];

/// The critical resources (`pods`, `apps/deployments`) a webhook's rules intercept.
fn intercepted(hook: &Webhook) -> Vec<String> {
    let mut found = Vec::new();
    for rule in hook.rules {
        let scope = rule.scope.as_deref().unwrap_or("*");
        if scope == "Cluster" || rule.operations.as_ref().is_none_or(|o| o.is_empty()) {
            continue;
        }
        let groups = rule.api_groups.as_deref().unwrap_or(&[]);
        let resources = rule.resources.as_deref().unwrap_or(&[]);
        for (group, resource) in CRITICAL {
            let group_ok = groups.iter().any(|g| g == "*" || g == group);
            let resource_ok = resources.iter().any(|r| {
                r == "*" || r == "*/*" || r == resource || r.strip_suffix("/*") == Some(resource)
            });
            let name = if group.is_empty() {
                resource.to_string()
            } else {
                format!("{group}/{resource}")
            };
            if group_ok && resource_ok && !found.contains(&name) {
                found.push(name);
            }
        }
    }
    found
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let hooks = webhooks(ctx.get(&VALIDATING_WEBHOOKS)?, ctx.get(&MUTATING_WEBHOOKS)?);
    let mut labels: BTreeMap<String, String> = ctx
        .get(&NAMESPACES)?
        .iter()
        .find(|n| n.name() == "kube-system")
        .and_then(|n| n.metadata.labels.clone())
        .unwrap_or_default();
    labels.insert("kubernetes.io/metadata.name".into(), "kube-system".into());
    let empty = BTreeMap::new();
    let mut out = Outcome::new().evaluated(hooks.len());
    let mut with_conditions = Vec::new();
    for hook in hooks.iter().filter(|h| h.fails_closed()) {
        let resources = intercepted(hook);
        if resources.is_empty() {
            continue;
        }
        if hook
            .namespace_selector
            .is_some_and(|s| !label_selector_matches(s, Some(&labels)))
        {
            continue;
        }
        if hook
            .object_selector
            .is_some_and(|s| !label_selector_matches(s, Some(&empty)))
        {
            continue;
        }
        if !hook.match_conditions.is_empty() {
            with_conditions.push(format!("{} {}", hook.config.display_name(), hook.name));
            continue;
        }
        let selector = if hook.namespace_selector.is_some() {
            "its namespaceSelector does not exclude kube-system"
        } else {
            "it has no namespaceSelector"
        };
        let mut finding = Finding::new(
            Level::Warn,
            Some(hook.config.clone()),
            format!(
                "webhook {} (failurePolicy Fail) intercepts {} in kube-system ({selector}): while it is down, system Pods cannot be recreated",
                hook.name,
                resources.join(", ")
            ),
        );
        if let Some(svc) = &hook.client_config.service {
            finding =
                finding.with_evidence(format!("served by Service {}/{}", svc.namespace, svc.name));
        }
        out.push(finding);
    }
    if !with_conditions.is_empty() {
        out.attach(
            "Not judged: fail-closed webhooks with matchConditions (CEL, not evaluated)",
            serde_json::json!(with_conditions),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::{finding_lines, run_fixture};

    #[test]
    fn names_the_webhook_and_what_it_intercepts() {
        let report = run_fixture("webhook_intercepts_kube_system", "fail.yaml");
        let messages: Vec<_> = finding_lines(&report);
        assert_eq!(
            messages,
            vec![
                "MutatingWebhookConfiguration/pod-defaults: webhook inject.example.com (failurePolicy Fail) intercepts pods in kube-system \
                 (it has no namespaceSelector): while it is down, system Pods cannot be recreated",
                "MutatingWebhookConfiguration/pod-defaults: webhook labels.example.com (failurePolicy Fail) intercepts pods, configmaps, secrets, \
                 services, endpoints, serviceaccounts, apps/deployments, apps/daemonsets, apps/replicasets, apps/statefulsets, \
                 coordination.k8s.io/leases, discovery.k8s.io/endpointslices in kube-system (its namespaceSelector does not exclude \
                 kube-system): while it is down, system Pods cannot be recreated",
            ]
        );
        assert_eq!(
            report.findings[0].evidence,
            vec!["served by Service pod-defaults/webhook"]
        );
    }

    /// Real webhooks: istio's injectors select opted-in namespaces, spark-operator's Pod webhook
    /// has an objectSelector, gatekeeper's Fail webhook only sees Namespaces, ingress-nginx's
    /// only Ingresses.
    #[test]
    fn passes_webhooks_that_spare_kube_system() {
        assert!(run_fixture("webhook_intercepts_kube_system", "pass.yaml").passed);
        assert!(run_fixture("webhook_intercepts_kube_system", "pass-selectors.yaml").passed);
    }
}
