use crate::prelude::*;

/// ## What it detects
/// Deployments whose rollout has stopped making progress: the `Progressing` condition is
/// `False` with reason `ProgressDeadlineExceeded` (no new Pod became available within
/// `spec.progressDeadlineSeconds`, 600 seconds by default). The condition's message and time,
/// and how many replicas are updated and available, are in the finding.
///
/// ## Why it matters
/// A stuck rollout leaves two ReplicaSets side by side: the new Pods never become ready and the
/// old ones keep serving an old version, or too few of them to carry the load. Kubernetes does
/// not roll back by itself; CI pipelines waiting on `kubectl rollout status` time out, and the
/// next deploy piles on top.
///
/// ## How to fix
/// See why the new Pods are not available: `kubectl rollout status deploy/NAME -n NS`,
/// `kubectl describe deploy/NAME -n NS`, then the new ReplicaSet's Pods
/// (`kubectl get pods -n NS -l SELECTOR`, `kubectl describe pod`). Fix the image, config,
/// probe or quota, or go back: `kubectl rollout undo deploy/NAME -n NS`.
///
/// ## Example
/// ```yaml
/// status:
///   conditions:
///   - type: Progressing
///     status: "False"
///     reason: ProgressDeadlineExceeded
///     message: ReplicaSet "web-5d8f7c9b7" has timed out progressing.
/// ```
#[detector(
    id = "deployment_stuck",
    title = "Deployments whose rollout exceeded its progress deadline",
    labels = ["kubernetes", "state", "workloads"],
    level = Error,
    requires = [DEPLOYMENTS],
    references = ["https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#failed-deployment"],
)]
pub struct DeploymentStuck;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let deployments = ctx.get(&DEPLOYMENTS)?;
    let mut out = Outcome::new().evaluated(deployments.len());
    for d in deployments {
        let Some(status) = &d.status else { continue };
        let Some(c) = status.conditions.iter().flatten().find(|c| {
            c.type_.as_deref() == Some("Progressing")
                && c.status.as_deref() == Some("False")
                && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
        }) else {
            continue;
        };
        let since = c
            .last_update_time
            .as_ref()
            .or(c.last_transition_time.as_ref())
            .map(|t| format!(" since {}", t.0))
            .unwrap_or_default();
        let message = c.message.as_deref().unwrap_or("progress deadline exceeded");
        let desired = d.spec.replicas.unwrap_or(1);
        out.push(
            Finding::new(
                Level::Error,
                Some(d.object_ref()),
                format!("rollout stuck{since}: {message}"),
            )
            .with_evidence(format!(
                "{} of {desired} replicas updated, {} available, deadline {}s",
                status.updated_replicas.unwrap_or(0),
                status.available_replicas.unwrap_or(0),
                d.spec.progress_deadline_seconds.unwrap_or(600)
            )),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture;

    #[test]
    fn names_the_deployment_and_the_stuck_replicaset() {
        let report = run_fixture("deployment_stuck", "fail.yaml");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "Deployment/default/no-image-deployment"
        );
        assert_eq!(
            f.message,
            "rollout stuck since 2023-07-11T05:44:45Z: ReplicaSet \"no-image-deployment-849c4c4958\" has timed out progressing."
        );
        assert_eq!(
            f.evidence,
            vec!["1 of 1 replicas updated, 0 available, deadline 600s"]
        );
    }

    #[test]
    fn a_progressing_deployment_passes() {
        assert!(run_fixture("deployment_stuck", "pass.json").passed);
    }
}
