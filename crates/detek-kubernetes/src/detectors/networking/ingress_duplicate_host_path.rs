use super::helpers::requested_class;
use crate::prelude::*;
use k8s_openapi::api::networking::v1::IngressBackend;
use std::collections::BTreeMap;

/// ## What it detects
/// The same host and path (and `pathType`) routed to different backends by Ingresses of the
/// same ingress class, across all namespaces (a controller serves hosts cluster-wide), or twice
/// within one Ingress. A rule without `host` counts as host `*`, a path without `path` as `/`.
/// Ingresses of different classes, duplicates that point at the same backend, and canary
/// Ingresses (`nginx.ingress.kubernetes.io/canary: "true"`, duplicates by design) are not
/// reported.
///
/// ## Why it matters
/// Only one backend can answer a given host and path. The controller picks one silently —
/// ingress-nginx merges the Ingresses and keeps the path of the oldest one, other controllers
/// take the last one applied, or reject the second Ingress — so half of the traffic you expect
/// on the new Service never arrives, or a team's deploy in another namespace hijacks a path.
/// Nothing fails: requests simply go to the wrong application.
///
/// ## How to fix
/// Find every rule for the host: `kubectl get ingress -A -o json | jq -r '.items[] |
/// .metadata.namespace + "/" + .metadata.name + " " + ([.spec.rules[]? | .host // "*"] |
/// join(","))'`. Keep one Ingress per host and path; merge the rules or change the path. For
/// deliberate traffic splitting use canary annotations or Gateway API weights.
///
/// ## Example
/// ```yaml
/// kind: Ingress
/// metadata: {name: shop, namespace: shop}
/// spec: {rules: [{host: shop.example.com, http: {paths: [{path: /api, pathType: Prefix, backend: {service: {name: api-v1, port: {number: 80}}}}]}}]}
/// ---
/// kind: Ingress
/// metadata: {name: shop-new, namespace: shop}
/// spec: {rules: [{host: shop.example.com, http: {paths: [{path: /api, pathType: Prefix, backend: {service: {name: api-v2, port: {number: 80}}}}]}}]}   # fires
/// ```
#[detector(
    id = "ingress_duplicate_host_path",
    title = "The same host and path routed to different backends",
    labels = ["kubernetes", "networking", "ingress"],
    level = Error,
    requires = [INGRESSES],
    references = ["https://kubernetes.io/docs/concepts/services-networking/ingress/#name-based-virtual-hosting"],
)]
pub struct IngressDuplicateHostPath;

/// (class, host, path, pathType) of one route; mapped to (Ingress index, backend) pairs.
type Route = (String, String, String, String);

const CANARY: &str = "nginx.ingress.kubernetes.io/canary";

/// `svc1:http`, `api:80`, `resource Bucket/static`.
fn backend_name(namespace: &str, backend: &IngressBackend) -> String {
    if let Some(s) = &backend.service {
        let port = s
            .port
            .as_ref()
            .map(|p| match (&p.name, p.number) {
                (Some(n), _) if !n.is_empty() => format!(":{n}"),
                (_, Some(n)) => format!(":{n}"),
                _ => String::new(),
            })
            .unwrap_or_default();
        return format!("{namespace}/{}{port}", s.name);
    }
    if let Some(r) = &backend.resource {
        return format!("{namespace}/{} {}", r.kind, r.name);
    }
    "(no backend)".to_string()
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let ingresses = ctx.get(&INGRESSES)?;
    let mut routes: BTreeMap<Route, Vec<(usize, String)>> = BTreeMap::new();
    for (i, ingress) in ingresses.iter().enumerate() {
        let canary = ingress
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(CANARY))
            .is_some_and(|v| v == "true");
        if canary {
            continue;
        }
        let Some(spec) = &ingress.spec else { continue };
        let class = requested_class(ingress)
            .map(|(c, _)| c.to_string())
            .unwrap_or_else(|| "(default class)".to_string());
        let namespace = ingress.namespace_or_default();
        for rule in spec.rules.iter().flatten() {
            let host = rule
                .host
                .clone()
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "*".to_string());
            for path in rule.http.iter().flat_map(|h| h.paths.iter()) {
                let p = path
                    .path
                    .clone()
                    .filter(|p| !p.is_empty())
                    .unwrap_or_else(|| "/".to_string());
                let path_type = if path.path_type.is_empty() {
                    "ImplementationSpecific".to_string()
                } else {
                    path.path_type.clone()
                };
                routes
                    .entry((class.clone(), host.clone(), p, path_type))
                    .or_default()
                    .push((i, backend_name(namespace, &path.backend)));
            }
        }
    }
    let mut out = Outcome::new().evaluated(ingresses.len());
    for ((class, host, path, path_type), entries) in routes {
        let mut backends: Vec<&str> = entries.iter().map(|(_, b)| b.as_str()).collect();
        backends.sort();
        backends.dedup();
        if entries.len() < 2 || backends.len() < 2 {
            continue;
        }
        let first = &ingresses[entries[0].0];
        let list: Vec<String> = entries
            .iter()
            .map(|(i, b)| {
                let ing = &ingresses[*i];
                format!("{}/{} → {b}", ing.namespace_or_default(), ing.name())
            })
            .collect();
        let ingress_count = {
            let mut ids: Vec<usize> = entries.iter().map(|(i, _)| *i).collect();
            ids.dedup();
            ids.len()
        };
        let what = if ingress_count == 1 {
            "routed twice in this Ingress".to_string()
        } else {
            format!("routed by {ingress_count} Ingresses")
        };
        out.push(
            Finding::new(
                Level::Error,
                Some(first.object_ref()),
                format!(
                    "host {host} path {path} ({path_type}) {what} to {} different backends: only one of them gets the traffic",
                    backends.len()
                ),
            )
            .with_evidence(format!("class: {class}"))
            .with_evidence(list.join("; ")),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture;

    #[test]
    fn names_the_first_ingress_and_lists_the_competing_backends() {
        let report = run_fixture("ingress_duplicate_host_path", "fail.yaml");
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "Ingress/default/ing1"
        );
        assert_eq!(
            f.message,
            "host * path /testpath (Prefix) routed by 6 Ingresses to 6 different backends: only one of them gets the traffic"
        );
        assert_eq!(f.evidence[0], "class: nginx");
        assert!(
            f.evidence[1]
                .starts_with("default/ing1 → default/svc1:http; default/ing2 → default/svc1:9090;"),
            "{}",
            f.evidence[1]
        );
    }

    #[test]
    fn passes_distinct_routes_canaries_and_same_backends() {
        assert!(run_fixture("ingress_duplicate_host_path", "pass.yaml").passed);
        assert!(run_fixture("ingress_duplicate_host_path", "pass-canary.yaml").passed);
    }
}
