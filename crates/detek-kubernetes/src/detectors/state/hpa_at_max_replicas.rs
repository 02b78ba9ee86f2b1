use crate::prelude::*;

/// ## What it detects
/// HorizontalPodAutoscalers running at their `maxReplicas` that want more: the condition
/// `ScalingLimited=True` with reason `TooManyReplicas`, or (without conditions) current and
/// desired replicas both at the maximum. Autoscalers with `minReplicas` equal to `maxReplicas`
/// are pinned on purpose and left out.
///
/// ## Why it matters
/// At the ceiling the autoscaler can no longer absorb load: latency grows and requests fail
/// while the HPA looks healthy. A ceiling set long ago for less traffic, or a metric that is
/// always high (a CPU target below the idle usage, a wrong custom metric), both look like this.
///
/// ## How to fix
/// `kubectl describe hpa NAME -n NS` shows the current metric values and the conditions.
/// If the load is real, raise `maxReplicas` (and check the cluster has room: quotas, node
/// autoscaler limits); if the metric is wrong, fix the target or the requests it is computed
/// against.
///
/// ## Example
/// ```yaml
/// kind: HorizontalPodAutoscaler
/// spec: {minReplicas: 2, maxReplicas: 10}
/// status:
///   currentReplicas: 10
///   desiredReplicas: 10
///   conditions:
///   - {type: ScalingLimited, status: "True", reason: TooManyReplicas}    # fires
/// ```
#[detector(
    id = "hpa_at_max_replicas",
    title = "Autoscalers at their maximum replicas that want more",
    labels = ["kubernetes", "state", "autoscaling"],
    level = Warn,
    requires = [HORIZONTAL_POD_AUTOSCALERS],
    references = ["https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#appendix-horizontal-pod-autoscaler-status-conditions"],
)]
pub struct HpaAtMaxReplicas;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let hpas = ctx.get(&HORIZONTAL_POD_AUTOSCALERS)?;
    let mut out = Outcome::new().evaluated(hpas.len());
    for hpa in hpas {
        let Some(status) = &hpa.status else { continue };
        let max = hpa.spec.max_replicas;
        let min = hpa.spec.min_replicas.unwrap_or(1);
        let current = status.current_replicas.unwrap_or(0);
        if min >= max || current < max {
            continue;
        }
        let conditions = status.conditions.as_deref().unwrap_or(&[]);
        let limited = conditions.iter().find(|c| c.type_ == "ScalingLimited");
        let wants_more = match limited {
            Some(c) => c.status == "True" && c.reason.as_deref() == Some("TooManyReplicas"),
            None => conditions.is_empty() && status.desired_replicas >= max,
        };
        if !wants_more {
            continue;
        }
        let mut f = Finding::new(
            Level::Warn,
            Some(hpa.object_ref()),
            format!(
                "at maxReplicas ({current} of {max}) and limited: {}/{} cannot scale further",
                hpa.spec.scale_target_ref.kind, hpa.spec.scale_target_ref.name
            ),
        );
        if let Some(message) = limited.and_then(|c| c.message.as_deref()) {
            f = f.with_evidence(format!("ScalingLimited: {message}"));
        }
        for m in status.current_metrics.iter().flatten() {
            if let Some(r) = &m.resource
                && let Some(u) = r.current.average_utilization
            {
                f = f.with_evidence(format!("{} utilization {u}%", r.name));
            }
        }
        out.push(f);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture;

    #[test]
    fn names_the_autoscaler_at_its_ceiling() {
        let report = run_fixture("hpa_at_max_replicas", "fail.yaml");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "HorizontalPodAutoscaler/shop/web"
        );
        assert_eq!(
            f.message,
            "at maxReplicas (10 of 10) and limited: Deployment/web cannot scale further"
        );
        assert_eq!(
            f.evidence,
            vec![
                "ScalingLimited: the desired replica count is more than the maximum replica count",
                "cpu utilization 187%"
            ]
        );
    }

    #[test]
    fn autoscalers_with_room_pass() {
        assert!(run_fixture("hpa_at_max_replicas", "pass.yaml").passed);
    }
}
