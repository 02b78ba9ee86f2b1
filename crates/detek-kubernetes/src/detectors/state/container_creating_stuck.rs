use super::warning_event_groups;
use crate::prelude::*;

/// ## What it detects
/// Pods with a container waiting in `ContainerCreating` while Warning events about the Pod say
/// why it cannot be created: `FailedMount`, `FailedAttachVolume`, `FailedCreatePodSandBox`
/// and the like. One finding per Pod, naming the waiting container, with the most telling
/// event (count and latest message) in the message and all of them as evidence. A Pod in
/// `ContainerCreating` without Warning events is left alone: it is usually just pulling.
///
/// ## Why it matters
/// The Pod is scheduled and holds its node's resources but never runs. Volume problems (a
/// Secret or ConfigMap missing, a hostPath of the wrong type, a disk still attached to another
/// node, a CSI driver down) and sandbox problems (CNI out of IPs or not ready) look the same
/// from `kubectl get pods`: only the events tell.
///
/// ## How to fix
/// `kubectl describe pod NAME -n NS` lists the events. For `FailedMount`, check the volume
/// source named in the message (`kubectl get secret,cm,pvc -n NS`, the CSI driver's Pods, the
/// path on the node); for `FailedAttachVolume`, the VolumeAttachment
/// (`kubectl get volumeattachment`); for `FailedCreatePodSandBox`, the CNI Pods on that node.
///
/// ## Example
/// ```text
/// collector   0/1   ContainerCreating   0   26h
/// Warning  FailedMount  kubelet  MountVolume.SetUp failed for volume "host" :
///          hostPath type check failed: /var/lib/collectd is not a directory
/// ```
#[detector(
    id = "container_creating_stuck",
    title = "Pods stuck in ContainerCreating with Warning events",
    labels = ["kubernetes", "state", "pod"],
    level = Error,
    requires = [PODS, EVENTS],
    references = ["https://kubernetes.io/docs/tasks/debug/debug-application/debug-pods/"],
)]
pub struct ContainerCreatingStuck;

/// Event reasons that explain a Pod that cannot be created, most telling first.
const CAUSES: [&str; 6] = [
    "FailedMount",
    "FailedAttachVolume",
    "FailedCreatePodSandBox",
    "FailedCreatePodContainer",
    "NetworkNotReady",
    "FailedSync",
];

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let pods = ctx.get(&PODS)?;
    let groups = warning_event_groups(ctx.get(&EVENTS)?);
    let mut out = Outcome::new().evaluated(pods.len());
    for pod in pods {
        let Some(status) = &pod.status else { continue };
        let statuses = status
            .init_container_statuses
            .iter()
            .flatten()
            .chain(status.container_statuses.iter().flatten());
        let Some(waiting) = statuses
            .filter(|cs| {
                cs.state
                    .as_ref()
                    .and_then(|s| s.waiting.as_ref())
                    .is_some_and(|w| w.reason.as_deref() == Some("ContainerCreating"))
            })
            .map(|cs| cs.name.as_str())
            .next()
        else {
            continue;
        };
        let ns = pod.namespace_or_default();
        let mut about: Vec<_> = groups
            .iter()
            .filter(|g| {
                g.kind == "Pod"
                    && g.name == pod.name()
                    && g.namespace.as_deref().unwrap_or("default") == ns
            })
            .collect();
        if about.is_empty() {
            continue;
        }
        about.sort_by_key(|g| {
            (
                CAUSES
                    .iter()
                    .position(|c| *c == g.reason)
                    .unwrap_or(CAUSES.len()),
                -g.count,
            )
        });
        let mut f = Finding::new(
            Level::Error,
            Some(pod.object_ref().with_container(waiting)),
            format!("stuck in ContainerCreating: {}", about[0].describe()),
        );
        for g in &about {
            f = f.with_evidence(g.describe());
        }
        out.push(f);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture;

    #[test]
    fn names_the_pod_and_the_mount_failure() {
        let report = run_fixture("container_creating_stuck", "fail.yaml");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "Pod/message-container-creating-failed-mount/troubleshoot-copyfromhost-4m79m-psdjm [collector]"
        );
        assert_eq!(
            f.message,
            "stuck in ContainerCreating: FailedMount ×814 (last 2023-07-11T03:31:29Z): MountVolume.SetUp failed for volume \"host\" : hostPath type check failed: /var/lib/collectd is not a directory"
        );
    }

    #[test]
    fn a_creating_pod_without_warnings_passes() {
        assert!(run_fixture("container_creating_stuck", "pass.yaml").passed);
    }
}
