use crate::prelude::*;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use std::collections::{BTreeSet, HashMap};

/// ## What it detects
/// HorizontalPodAutoscalers that scale on CPU or memory *utilization* (a `Resource` or
/// `ContainerResource` metric with `target.type: Utilization`; also an HPA without metrics, or
/// an `autoscaling/v1` one, which means CPU utilization) while a container of the target
/// workload's pod template has no request for that resource. A limit without a request counts
/// as a request (Kubernetes copies it), and so do pod-level `resources.requests`. Targets not
/// in the scan are `hpa_target_missing`'s job. Namespaces with a LimitRange are left out: its
/// default requests are applied when Pods are created and cannot be seen in the template.
///
/// ## Why it matters
/// Utilization is usage divided by the request. Without a request for every container the HPA
/// cannot compute it: the autoscaler reports `FailedGetResourceMetric ... missing request for
/// cpu` and never scales, so the workload stays at its current replica count under load.
///
/// ## How to fix
/// Give every container of the workload a request for the resource the HPA scales on
/// (`resources.requests.cpu: 100m`), or scale on `AverageValue` instead of `Utilization`.
/// `kubectl describe hpa NAME -n NS` shows `ScalingActive=False` with the missing request.
///
/// ## Example
/// ```yaml
/// kind: HorizontalPodAutoscaler
/// spec:
///   scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
///   metrics:
///   - type: Resource
///     resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}
/// # fires when a container of Deployment web has neither requests.cpu nor limits.cpu
/// ```
#[detector(
    id = "hpa_target_without_requests",
    title = "Autoscalers scaling on utilization of workloads without resource requests",
    labels = ["kubernetes", "references", "autoscaling"],
    level = Warn,
    requires = [HORIZONTAL_POD_AUTOSCALERS, WORKLOAD_TEMPLATES, OBJECTS],
    references = [
        "https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#how-does-a-horizontalpodautoscaler-work",
    ],
)]
pub struct HpaTargetWithoutRequests;

/// A resource the HPA needs a request for: in every container, or in one named container.
struct Need<'a> {
    resource: &'a str,
    container: Option<&'a str>,
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let hpas = ctx.get(&HORIZONTAL_POD_AUTOSCALERS)?;
    let templates = ctx.get(&WORKLOAD_TEMPLATES)?;
    let limit_range_namespaces: BTreeSet<Option<&str>> = ctx
        .get(&OBJECTS)?
        .iter()
        .filter(|o| o.kind.as_ref() == "LimitRange")
        .map(|o| o.namespace.as_deref())
        .collect();
    // Templates by owner kind and name, in input order (searching every template for each
    // HPA was quadratic).
    let mut by_owner: HashMap<(&str, &str), Vec<&WorkloadTemplate>> = HashMap::new();
    for t in templates {
        by_owner
            .entry((t.owner.kind.as_str(), t.owner.name.as_str()))
            .or_default()
            .push(t);
    }
    let mut out = Outcome::new().evaluated(hpas.len());
    for hpa in hpas {
        let target = &hpa.spec.scale_target_ref;
        let candidates = by_owner
            .get(&(target.kind.as_str(), target.name.as_str()))
            .map_or(&[][..], Vec::as_slice);
        let Some(template) = candidates.iter().find(|t| {
            t.owner.kind == target.kind
                && t.owner.name == target.name
                && (t.owner.namespace.is_none()
                    || hpa.namespace().is_none()
                    || t.owner.namespace.as_deref() == hpa.namespace())
        }) else {
            continue;
        };
        if limit_range_namespaces.contains(&hpa.namespace()) {
            continue;
        }
        let mut lacking: Vec<String> = Vec::new();
        for need in needs(hpa) {
            if has_request(&template.spec.resources, need.resource) {
                continue;
            }
            for c in &template.spec.containers {
                if need.container.is_some_and(|n| n != c.name) {
                    continue;
                }
                if !has_request(&c.resources, need.resource) {
                    let text = format!("container {:?} has no {} request", c.name, need.resource);
                    if !lacking.contains(&text) {
                        lacking.push(text);
                    }
                }
            }
        }
        if lacking.is_empty() {
            continue;
        }
        out.push(Finding::new(
            Level::Warn,
            Some(hpa.object_ref()),
            format!(
                "scales {}/{} on utilization but {}: utilization cannot be computed and the autoscaler will not scale",
                target.kind,
                target.name,
                lacking.join(", ")
            ),
        ));
    }
    Ok(out)
}

/// The resources whose utilization the HPA targets. No metrics means the default: CPU at 80%
/// (this is also how an `autoscaling/v1` HPA's `targetCPUUtilizationPercentage` reads).
fn needs(hpa: &HorizontalPodAutoscaler) -> Vec<Need<'_>> {
    let metrics = hpa.spec.metrics.as_deref().unwrap_or(&[]);
    if metrics.is_empty() {
        return vec![Need {
            resource: "cpu",
            container: None,
        }];
    }
    let mut out = Vec::new();
    for m in metrics {
        if let Some(r) = &m.resource
            && m.type_ == "Resource"
            && r.target.type_ == "Utilization"
        {
            out.push(Need {
                resource: r.name.as_str(),
                container: None,
            });
        }
        if let Some(r) = &m.container_resource
            && m.type_ == "ContainerResource"
            && r.target.type_ == "Utilization"
        {
            out.push(Need {
                resource: r.name.as_str(),
                container: Some(r.container.as_str()),
            });
        }
    }
    out
}

/// A request for `resource`, or a limit (which the API server copies into the request).
fn has_request(
    resources: &Option<k8s_openapi::api::core::v1::ResourceRequirements>,
    resource: &str,
) -> bool {
    let Some(r) = resources else { return false };
    r.requests
        .as_ref()
        .is_some_and(|m| m.contains_key(resource))
        || r.limits.as_ref().is_some_and(|m| m.contains_key(resource))
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture;

    #[test]
    fn names_the_autoscaler_and_the_container_without_a_request() {
        let report = run_fixture("hpa_target_without_requests", "fail.yaml");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "HorizontalPodAutoscaler/shop/web"
        );
        assert_eq!(
            f.message,
            "scales Deployment/web on utilization but container \"cache\" has no cpu request: utilization cannot be computed and the autoscaler will not scale"
        );
    }

    #[test]
    fn requests_or_limits_satisfy_the_autoscaler() {
        assert!(run_fixture("hpa_target_without_requests", "pass.yaml").passed);
        assert!(run_fixture("hpa_target_without_requests", "pass_limits_only.yaml").passed);
    }
}
