use super::{ContainerKind, spec_containers};
use crate::prelude::*;

/// ## What it detects
/// Containers (init containers included) whose request for a resource is larger than their
/// limit for the same resource: `requests.cpu: 2` with `limits.cpu: 500m`, `requests.memory:
/// 1Gi` with `limits.memory: 512Mi`. Quantities are compared by value (`1` = `1000m`, `1Gi` =
/// `1024Mi`). Checked on Pods and on the pod templates of workloads.
///
/// ## Why it matters
/// The API server rejects such a Pod (`must be less than or equal to cpu limit`). Applied as a
/// Deployment the manifest is accepted, but its ReplicaSet cannot create a single Pod: the
/// rollout hangs with `FailedCreate` events and the old version keeps running, or nothing runs
/// at all. Usually a typo in a unit (`512M` vs `512Mi` is fine; `500` vs `500m` is not).
///
/// ## How to fix
/// Make each request at most its limit. `kubectl describe rs -n NS` (or `kubectl get events -n
/// NS --field-selector reason=FailedCreate`) shows the rejection. Omitting the request makes it
/// default to the limit.
///
/// ## Example
/// ```yaml
/// resources:
///   requests: {cpu: "2", memory: 256Mi}
///   limits:   {cpu: 500m, memory: 256Mi}   # fires: cpu request 2 > limit 500m
/// ```
#[detector(
    id = "requests_exceed_limits",
    title = "Containers requesting more than their limit",
    labels = ["kubernetes", "workloads", "resources"],
    level = Error,
    requires = [POD_SPECS],
    references = ["https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/#requests-and-limits"],
)]
pub struct RequestsExceedLimits;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let specs = ctx.get(&POD_SPECS)?.views();
    let mut out = Outcome::new().evaluated(specs.len());
    for view in &specs {
        for (kind, c) in spec_containers(view.spec()) {
            let Some(resources) = &c.resources else {
                continue;
            };
            let (Some(requests), Some(limits)) = (&resources.requests, &resources.limits) else {
                continue;
            };
            for (name, request) in requests {
                let Some(limit) = limits.get(name) else {
                    continue;
                };
                let (Some(r), Some(l)) = (parse_quantity(&request.0), parse_quantity(&limit.0))
                else {
                    continue;
                };
                if r > l * (1.0 + 1e-12) {
                    let noun = if kind == ContainerKind::Init {
                        "init container: "
                    } else {
                        ""
                    };
                    out.push(Finding::new(
                        Level::Error,
                        Some(view.container_ref(&c.name)),
                        format!(
                            "{noun}{name} request {} is larger than its limit {}: the API server rejects the Pod",
                            request.0, limit.0
                        ),
                    )
                    .with_revision_of(view));
                }
            }
        }
    }
    Ok(out)
}

/// The value of a Kubernetes quantity (`500m`, `1.5Gi`, `2e3`, `128974848`), or `None`.
pub(crate) fn parse_quantity(q: &str) -> Option<f64> {
    let q = q.trim();
    let split = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(q.len());
    let (number, suffix) = q.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        s if s.starts_with(['e', 'E']) => 10f64.powi(s[1..].parse().ok()?),
        _ => return None,
    };
    Some(number * factor)
}

#[cfg(test)]
mod tests {
    use super::parse_quantity;
    use crate::testing::run_fixture;

    #[test]
    fn parses_quantities() {
        assert_eq!(parse_quantity("500m"), Some(0.5));
        assert_eq!(parse_quantity("1"), parse_quantity("1000m"));
        assert_eq!(parse_quantity("1Gi"), parse_quantity("1024Mi"));
        assert_eq!(parse_quantity("2e3"), Some(2000.0));
        assert_eq!(parse_quantity("1.5Ki"), Some(1536.0));
        assert_eq!(parse_quantity("12x"), None);
    }

    #[test]
    fn names_the_container_the_resource_and_both_values() {
        let report = run_fixture("requests_exceed_limits", "fail.yaml");
        assert_eq!(report.findings.len(), 2, "{:?}", report.findings);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "Deployment/shop/api [api]"
        );
        assert_eq!(
            f.message,
            "cpu request 2 is larger than its limit 500m: the API server rejects the Pod"
        );
        assert_eq!(
            report.findings[1].message,
            "init container: memory request 1Gi is larger than its limit 512Mi: the API server rejects the Pod"
        );
        assert!(run_fixture("requests_exceed_limits", "pass.yaml").passed);
    }
}
