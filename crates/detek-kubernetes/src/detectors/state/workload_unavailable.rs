use super::{human_duration, seconds_since};
use crate::prelude::*;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, ReplicaSetCondition};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::HashSet;

/// ## What it detects
/// Controllers with fewer working replicas than they want, read from their status:
/// Deployments and ReplicaSets with `status.availableReplicas` below `spec.replicas`,
/// StatefulSets with `status.readyReplicas` below `spec.replicas`, DaemonSets with
/// `status.numberAvailable` below `status.desiredNumberScheduled`. ReplicaSets run by a
/// Deployment of the scan are left to that Deployment, unless they cannot create Pods: a
/// ReplicaSet whose status carries `ReplicaFailure=True` (`FailedCreate`: Pods forbidden by a
/// ResourceQuota or an admission webhook) is reported with that message, whoever owns it.
/// Objects without a status written by the controller (manifests, or `status: {}`) are not
/// judged; neither are controllers scaled to zero.
///
/// Two shortfalls of a Deployment are not outages and are left alone: a rolling update in
/// progress (`Progressing=True` with reason `ReplicaSetUpdated`, `Available=True`, and no more
/// replicas missing than its `maxUnavailable`), and a Deployment that became unavailable less
/// than `grace_minutes` (a setting, default 5) before the scan (`Available=False` since then,
/// while still progressing): a single replica restarting or being replaced. The Pod-level
/// detectors report why a Pod restarts; `deployment_stuck` reports a rollout past its deadline.
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
///   conditions:
///   - {type: Available, status: "False", reason: MinimumReplicasUnavailable,
///      lastTransitionTime: "2024-06-03T08:00:00Z"}   # more than 5 minutes before the scan
/// ```
#[detector(
    id = "workload_unavailable",
    title = "Deployments, StatefulSets, DaemonSets and ReplicaSets with fewer available replicas than desired",
    labels = ["kubernetes", "state", "workloads"],
    level = Error,
    requires = [DEPLOYMENTS, STATEFUL_SETS, DAEMON_SETS, REPLICA_SETS],
    references = ["https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#deployment-status"],
    settings = WorkloadUnavailableSettings,
)]
pub struct WorkloadUnavailable;

/// Settings of `workload_unavailable`.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct WorkloadUnavailableSettings {
    /// Minutes a progressing Deployment may be unavailable (a replica restarting or replaced) before it is reported.
    #[setting(default = 5)]
    pub grace_minutes: i64,
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let settings: WorkloadUnavailableSettings = ctx.settings_of()?;
    let grace = settings.grace_minutes.max(0) * 60;
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
        if rolling_update_within_budget(d, desired - available) {
            continue;
        }
        // Unavailable for less than the grace period, still progressing: a replica restarting
        // or being replaced, not yet an outage.
        let condition = |type_: &str| {
            status
                .conditions
                .iter()
                .flatten()
                .find(|c| c.type_.as_deref() == Some(type_))
        };
        let unavailable_for = condition("Available")
            .filter(|c| c.status.as_deref() == Some("False"))
            .and_then(|c| c.last_transition_time.as_ref())
            .map(|t| seconds_since(ctx.now, &t.0));
        let progressing =
            condition("Progressing").is_none_or(|c| c.status.as_deref() != Some("False"));
        if progressing && unavailable_for.is_some_and(|age| age < grace) {
            continue;
        }
        let Some(mut f) = shortfall(d.object_ref(), available, desired, "replicas available")
        else {
            continue;
        };
        if let Some(age) = unavailable_for {
            f = f.with_evidence(format!("unavailable for {}", human_duration(age)));
        }
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
        let failure = r.status.as_ref().and_then(|s| {
            s.conditions.iter().flatten().find(|c| {
                c.type_.as_deref() == Some("ReplicaFailure") && c.status.as_deref() == Some("True")
            })
        });
        if let Some(failure) = failure {
            evaluated += 1;
            out.push(cannot_create_pods(r, failure));
            continue;
        }
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

/// A ReplicaSet that cannot create its Pods (`ReplicaFailure=True`): the condition's reason
/// and message (`pods "web-5d9f7c-" is forbidden: exceeded quota: ...`).
fn cannot_create_pods(r: &Item<ReplicaSet>, failure: &ReplicaSetCondition) -> Finding {
    let desired = r.spec.replicas.unwrap_or(1);
    let status = r
        .status
        .as_ref()
        .expect("a ReplicaSet with a condition has a status");
    let mut f = Finding::new(
        Level::Error,
        Some(r.object_ref()),
        format!(
            "cannot create Pods ({}): {}",
            failure.reason.as_deref().unwrap_or("ReplicaFailure"),
            failure.message.as_deref().unwrap_or("no message")
        ),
    )
    .with_evidence(format!(
        "{} of {desired} replicas available, {} created",
        status.available_replicas.unwrap_or(0),
        status.replicas
    ));
    if let Some(owner) = r
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
    {
        f = f.with_evidence(format!("owned by {} {}", owner.kind, owner.name));
    }
    f
}

/// A rolling update in progress within its budget: `Progressing=True` (`ReplicaSetUpdated`),
/// `Available=True`, and `missing` replicas no more than `maxUnavailable` allows.
fn rolling_update_within_budget(d: &Deployment, missing: i32) -> bool {
    let Some(status) = &d.status else {
        return false;
    };
    let condition = |type_: &str, reason: Option<&str>| {
        status.conditions.iter().flatten().any(|c| {
            c.type_.as_deref() == Some(type_)
                && c.status.as_deref() == Some("True")
                && reason.is_none_or(|r| c.reason.as_deref() == Some(r))
        })
    };
    if !condition("Progressing", Some("ReplicaSetUpdated")) || !condition("Available", None) {
        return false;
    }
    let strategy = d.spec.strategy.as_ref();
    if strategy.and_then(|s| s.type_.as_deref()) == Some("Recreate") {
        return false;
    }
    let max_unavailable = strategy
        .and_then(|s| s.rolling_update.as_ref())
        .and_then(|r| r.max_unavailable.as_ref());
    let desired = d.spec.replicas.unwrap_or(1);
    missing <= budget(max_unavailable, desired)
}

/// `maxUnavailable` against `desired` replicas: a number, or a percentage rounded down (the
/// Deployment controller's rule), 25% when unset.
fn budget(max_unavailable: Option<&IntOrString>, desired: i32) -> i32 {
    let percent = |p: i64| (i64::from(desired) * p / 100) as i32;
    match max_unavailable {
        None => percent(25),
        Some(IntOrString::Int(n)) => *n,
        Some(IntOrString::String(s)) => match s.strip_suffix('%').map(str::parse::<i64>) {
            Some(Ok(p)) => percent(p),
            _ => s.parse().unwrap_or(0),
        },
    }
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
    use crate::testing::{finding_lines, fixture_dir, run_fixture, run_on};

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

    /// A rolling update within its maxUnavailable and a single replica restarting a minute
    /// ago are not outages.
    #[test]
    fn a_rollout_within_budget_and_a_fresh_restart_pass() {
        let report = run_fixture("workload_unavailable", "pass_rollout_and_restart.yaml");
        assert_eq!(finding_lines(&report), Vec::<String>::new());
        assert_eq!(report.evaluated, Some(2));
    }

    /// A ReplicaSet that cannot create Pods (quota) is reported with the quota's message,
    /// though its Deployment is still available; a Deployment down for two hours is an outage.
    #[test]
    fn a_replicaset_that_cannot_create_pods_and_a_long_outage_are_reported() {
        let report = run_fixture("workload_unavailable", "fail_failed_create.yaml");
        assert_eq!(
            finding_lines(&report),
            [
                "Deployment/shop/cache: 0 of 1 replicas available",
                "ReplicaSet/shop/api-6b7c8d9f5: cannot create Pods (FailedCreate): pods \
                 \"api-6b7c8d9f5-\" is forbidden: exceeded quota: compute-resources, requested: \
                 limits.memory=2Gi, used: limits.memory=7Gi, limited: limits.memory=8Gi",
            ]
        );
        assert_eq!(report.findings[0].evidence[0], "unavailable for 2h0m");
        assert_eq!(
            report.findings[1].evidence,
            [
                "0 of 1 replicas available, 0 created",
                "owned by Deployment api"
            ]
        );
        // A shorter grace than the minute-old restart reports it.
        let mut settings = detek_core::Settings::new();
        settings.set("workload_unavailable.grace_minutes", 0);
        let input = vec![crate::Input::Path(
            fixture_dir("workload_unavailable").join("pass_rollout_and_restart.yaml"),
        )];
        assert_eq!(
            finding_lines(&run_on("workload_unavailable", input, settings)),
            ["Deployment/shop/cache: 0 of 1 replicas available"]
        );
    }

    #[test]
    fn healthy_controllers_and_manifests_pass() {
        assert!(lines("pass.json").is_empty());
        assert!(lines("pass_manifest.yaml").is_empty());
    }
}
