use crate::prelude::*;
use std::collections::HashSet;

/// ## What it detects
/// Controllers with fewer working replicas than they want, read from their status:
/// Deployments and ReplicaSets with `status.availableReplicas` below `spec.replicas`,
/// StatefulSets with `status.readyReplicas` below `spec.replicas`, DaemonSets with
/// `status.numberAvailable` below `status.desiredNumberScheduled`. ReplicaSets run by a
/// Deployment of the scan are left to that Deployment. Objects without a status written by the
/// controller (manifests, or `status: {}`) are not judged; neither are controllers scaled to
/// zero.
///
/// ## Why it matters
/// Missing replicas mean less capacity or none: a Deployment at 0 of 3 available serves
/// nothing behind its Service, a DaemonSet short of Pods leaves nodes without their agent (CNI,
/// log shipper, CSI driver), a StatefulSet short of members may have lost its quorum. During a
/// rollout this is expected for a moment; in a snapshot that stays, it is an outage.
///
/// ## How to fix
/// Find out why the Pods are not available: `kubectl rollout status deploy/NAME -n NS`,
/// `kubectl describe deploy/NAME -n NS` (conditions), `kubectl get pods -n NS -l SELECTOR` and
/// `kubectl describe pod` for the failing ones (image pulls, crash loops, scheduling, probes,
/// quota — the events tell).
///
/// ## Example
/// ```yaml
/// kind: Deployment
/// spec: {replicas: 3}
/// status:
///   replicas: 3
///   availableReplicas: 1     # fires: 1 of 3 available
///   unavailableReplicas: 2
/// ```
#[detector(
    id = "workload_unavailable",
    title = "Deployments, StatefulSets, DaemonSets and ReplicaSets with fewer available replicas than desired",
    labels = ["kubernetes", "state", "workloads"],
    level = Error,
    requires = [DEPLOYMENTS, STATEFUL_SETS, DAEMON_SETS, REPLICA_SETS],
    references = ["https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#deployment-status"],
)]
pub struct WorkloadUnavailable;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let deployments = ctx.get(&DEPLOYMENTS)?;
    let stateful_sets = ctx.get(&STATEFUL_SETS)?;
    let daemon_sets = ctx.get(&DAEMON_SETS)?;
    let replica_sets = ctx.get(&REPLICA_SETS)?;
    let mut out = Outcome::new();
    let mut evaluated = 0;

    for d in deployments {
        let Some(status) = d
            .status
            .as_ref()
            .filter(|s| s.observed_generation.is_some() || s.replicas.is_some())
        else {
            continue;
        };
        evaluated += 1;
        let desired = d.spec.replicas.unwrap_or(1);
        let available = status.available_replicas.unwrap_or(0);
        let Some(mut f) = shortfall(d.object_ref(), available, desired, "replicas available")
        else {
            continue;
        };
        for c in status.conditions.iter().flatten() {
            if c.status.as_deref() == Some("False") || c.type_.as_deref() == Some("ReplicaFailure")
            {
                f = f.with_evidence(describe_condition(
                    c.type_.as_deref(),
                    c.status.as_deref(),
                    c.reason.as_deref(),
                    c.message.as_deref(),
                ));
            }
        }
        out.push(f);
    }

    for s in stateful_sets {
        let Some(status) = s.status.as_ref().filter(|s| {
            s.observed_generation.is_some() || s.replicas > 0 || s.current_revision.is_some()
        }) else {
            continue;
        };
        evaluated += 1;
        let desired = s.spec.replicas.unwrap_or(1);
        let ready = status.ready_replicas.unwrap_or(0);
        let Some(mut f) = shortfall(s.object_ref(), ready, desired, "replicas ready") else {
            continue;
        };
        if let (Some(current), Some(update)) = (&status.current_revision, &status.update_revision)
            && current != update
        {
            f = f.with_evidence(format!(
                "rolling update in progress: {} of {desired} replicas at revision {update}",
                status.updated_replicas.unwrap_or(0)
            ));
        }
        out.push(f);
    }

    for d in daemon_sets {
        let Some(status) = d
            .status
            .as_ref()
            .filter(|s| s.observed_generation.is_some() || s.desired_number_scheduled > 0)
        else {
            continue;
        };
        evaluated += 1;
        let desired = status.desired_number_scheduled;
        let available = status.number_available.unwrap_or(0);
        let Some(mut f) = shortfall(
            d.object_ref(),
            available,
            desired,
            "scheduled Pods available",
        ) else {
            continue;
        };
        f = f.with_evidence(format!(
            "{} scheduled, {} ready, {} unavailable",
            status.current_number_scheduled,
            status.number_ready,
            status.number_unavailable.unwrap_or(desired - available)
        ));
        out.push(f);
    }

    let deployment_names: HashSet<(&str, &str)> = deployments
        .iter()
        .map(|d| (d.namespace_or_default(), d.name()))
        .collect();
    for r in replica_sets {
        let owned_by_deployment = r.metadata.owner_references.iter().flatten().any(|o| {
            o.kind == "Deployment"
                && deployment_names.contains(&(r.namespace_or_default(), o.name.as_str()))
        });
        if owned_by_deployment {
            continue;
        }
        let Some(status) = r
            .status
            .as_ref()
            .filter(|s| s.observed_generation.is_some() || s.replicas > 0)
        else {
            continue;
        };
        evaluated += 1;
        let desired = r.spec.replicas.unwrap_or(1);
        let available = status.available_replicas.unwrap_or(0);
        let Some(mut f) = shortfall(r.object_ref(), available, desired, "replicas available")
        else {
            continue;
        };
        f = f.with_evidence(format!(
            "{} created, {} ready",
            status.replicas,
            status.ready_replicas.unwrap_or(0)
        ));
        for c in status.conditions.iter().flatten() {
            f = f.with_evidence(describe_condition(
                c.type_.as_deref(),
                c.status.as_deref(),
                c.reason.as_deref(),
                c.message.as_deref(),
            ));
        }
        out.push(f);
    }

    out.evaluated = Some(evaluated as u64);
    Ok(out)
}

/// `1 of 3 replicas ready` when `have` is short of `desired`.
fn shortfall(object: ObjectRef, have: i32, desired: i32, what: &str) -> Option<Finding> {
    (have < desired).then(|| {
        Finding::new(
            Level::Error,
            Some(object),
            format!("{have} of {desired} {what}"),
        )
    })
}

/// `Available=False (MinimumReplicasUnavailable): Deployment does not have minimum availability.`
fn describe_condition(
    type_: Option<&str>,
    status: Option<&str>,
    reason: Option<&str>,
    message: Option<&str>,
) -> String {
    format!(
        "{}={} ({}): {}",
        type_.unwrap_or("?"),
        status.unwrap_or("?"),
        reason.unwrap_or(""),
        message.unwrap_or("")
    )
}

#[cfg(test)]
mod tests {
    use crate::testing::{finding_lines, run_fixture};

    fn lines(file: &str) -> Vec<String> {
        finding_lines(&run_fixture("workload_unavailable", file))
    }

    #[test]
    fn reports_controllers_short_of_replicas() {
        assert_eq!(
            lines("fail_daemonset.json")[0],
            "DaemonSet/heptio-sonobuoy/sonobuoy-e2eds-daemon-set-e3edc45d5adf4fb1: 0 of 1 scheduled Pods available"
        );
        assert_eq!(
            lines("fail_replicaset.json"),
            vec![
                "ReplicaSet/rook-ceph/rook-ceph-mds-rook-shared-fs-b-7895f484f5: 0 of 1 replicas available"
            ]
        );
        assert_eq!(
            lines("fail_statefulset.yaml"),
            vec!["StatefulSet/default/web: 1 of 3 replicas ready"]
        );
    }

    #[test]
    fn healthy_controllers_and_manifests_pass() {
        assert!(lines("pass.json").is_empty());
        assert!(lines("pass_manifest.yaml").is_empty());
    }
}
