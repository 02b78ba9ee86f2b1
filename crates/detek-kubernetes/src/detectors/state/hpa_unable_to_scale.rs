use crate::prelude::*;
use serde::Deserialize as _;

/// ## What it detects
/// HorizontalPodAutoscalers that cannot do their job, by their own conditions:
/// `AbleToScale=False` (the scale target cannot be read or updated: no scale subresource, the
/// target missing, `FailedGetScale`/`FailedUpdateScale`) or `ScalingActive=False` (no metric
/// could be computed: `FailedGetResourceMetric`, `FailedGetExternalMetric`, missing requests,
/// metrics server down — or the target scaled to zero, `ScalingDisabled`, which is left out).
/// Conditions are read from `autoscaling/v2`'s `status.conditions`, or, for an object written
/// as `autoscaling/v1`, from its `autoscaling.alpha.kubernetes.io/conditions` annotation.
///
/// ## Why it matters
/// The workload stays at whatever replica count it had: a load spike is not absorbed, and
/// `minReplicas` is no longer guaranteed. Nothing else alerts on it; the HPA object quietly
/// carries the condition.
///
/// ## How to fix
/// `kubectl describe hpa NAME -n NS` shows the conditions and events. For metric failures,
/// check the metrics pipeline (`kubectl top pods -n NS`, the metrics-server or adapter
/// Deployment, `kubectl get apiservice v1beta1.metrics.k8s.io`) and that the target's
/// containers declare requests for the resources the HPA measures. For scale failures, check
/// `scaleTargetRef` (kind, name, apiVersion) and the target's scale subresource.
///
/// ## Example
/// ```yaml
/// kind: HorizontalPodAutoscaler
/// status:
///   conditions:
///   - {type: AbleToScale, status: "True", reason: SucceededGetScale}
///   - {type: ScalingActive, status: "False", reason: FailedGetResourceMetric,
///      message: "the HPA was unable to compute the replica count: ..."}    # fires
/// ```
#[detector(
    id = "hpa_unable_to_scale",
    title = "HorizontalPodAutoscalers unable to scale",
    labels = ["kubernetes", "state", "autoscaling"],
    level = Error,
    requires = [HORIZONTAL_POD_AUTOSCALERS],
    references = ["https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#appendix-horizontal-pod-autoscaler-status-conditions"],
)]
pub struct HpaUnableToScale;

/// A condition as both API versions write it.
#[derive(Deserialize)]
struct Condition {
    #[serde(rename = "type")]
    type_: String,
    status: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let hpas = ctx.get(&HORIZONTAL_POD_AUTOSCALERS)?;
    let mut out = Outcome::new();
    let mut judged = 0;
    for hpa in hpas {
        let mut conditions: Vec<Condition> = hpa
            .status
            .iter()
            .flat_map(|s| s.conditions.iter().flatten())
            .map(|c| Condition {
                type_: c.type_.clone(),
                status: c.status.clone(),
                reason: c.reason.clone(),
                message: c.message.clone(),
            })
            .collect();
        if conditions.is_empty()
            && let Some(text) = hpa
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("autoscaling.alpha.kubernetes.io/conditions"))
        {
            let mut de = serde_json::Deserializer::from_str(text);
            conditions = Vec::<Condition>::deserialize(&mut de).unwrap_or_default();
        }
        if conditions.is_empty() {
            continue;
        }
        judged += 1;
        for c in &conditions {
            let failing = matches!(c.type_.as_str(), "AbleToScale" | "ScalingActive")
                && c.status == "False"
                && c.reason.as_deref() != Some("ScalingDisabled");
            if !failing {
                continue;
            }
            out.push(
                Finding::new(
                    Level::Error,
                    Some(hpa.object_ref()),
                    format!(
                        "{}=False ({}): {}",
                        c.type_,
                        c.reason.as_deref().unwrap_or(""),
                        c.message.as_deref().unwrap_or("no message")
                    ),
                )
                .with_discriminator(c.type_.clone()),
            );
        }
    }
    out.evaluated = Some(judged);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::{finding_lines, run_fixture};

    #[test]
    fn names_the_failing_condition_from_v2_status_and_the_v1_annotation() {
        let report = run_fixture("hpa_unable_to_scale", "fail.yaml");
        assert_eq!(
            finding_lines(&report),
            [
                "HorizontalPodAutoscaler/shop/api: ScalingActive=False (FailedGetResourceMetric): \
                 the HPA was unable to compute the replica count: failed to get cpu utilization: \
                 unable to get metrics for resource cpu: no metrics returned from resource metrics \
                 API",
                "HorizontalPodAutoscaler/shop/legacy: AbleToScale=False (FailedGetScale): the HPA \
                 controller was unable to get the target's current scale: deployments/scale.apps \
                 \"legacy-web\" not found",
            ]
        );
        assert_eq!(report.evaluated, Some(2));
    }

    #[test]
    fn a_scaling_hpa_and_one_scaled_to_zero_pass() {
        let report = run_fixture("hpa_unable_to_scale", "pass.yaml");
        assert_eq!(finding_lines(&report), Vec::<String>::new());
        assert_eq!(report.evaluated, Some(2));
    }
}
