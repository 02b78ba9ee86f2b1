use super::{checked_container_specs, containers};
use crate::prelude::*;

/// ## What it detects
/// Containers with `securityContext.procMount: Unmasked`: the container's `/proc` is mounted
/// without the masks and read-only paths the runtime normally applies (`/proc/kcore`,
/// `/proc/sys`, `/proc/sysrq-trigger`, `/proc/timer_list`...). Evidence notes when the Pod runs
/// in a user namespace (`hostUsers: false`), which limits the damage (root in the container is
/// not root on the node). Real Pods are checked when the scan has any, workload templates
/// otherwise.
/// Static Pods of the control plane (mirror Pods) are skipped: files on the node define them.
///
/// ## Why it matters
/// The masked paths are the ones that reach the host kernel: writing `/proc/sysrq-trigger`
/// reboots the node, `/proc/sys` changes kernel settings for everyone, `/proc/kcore` reads
/// kernel memory. Pod Security Standards *baseline* forbids it. Only nested container
/// runtimes (building images or running containers inside a Pod) have a reason to ask.
///
/// ## How to fix
/// Remove `procMount` (the default is `Default`). For in-Pod container builds, use a builder
/// that does not need it (BuildKit rootless with `--oci-worker-no-process-sandbox`, kaniko) or
/// keep it in a dedicated namespace with `hostUsers: false`, and suppress with
/// `detek.io/ignore: proc_mount_unmasked`.
///
/// ## Example
/// ```yaml
/// securityContext:
///   procMount: Unmasked     # fires
/// ```
#[detector(
    id = "proc_mount_unmasked",
    title = "Containers with an unmasked /proc",
    labels = ["kubernetes", "security", "pod"],
    level = Error,
    requires = [POD_SPECS],
    references = [
        "https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",
        "https://kubernetes.io/docs/concepts/workloads/pods/user-namespaces/",
    ],
)]
pub struct ProcMountUnmasked;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let specs = checked_container_specs(ctx.get(&POD_SPECS)?);
    let mut out = Outcome::new().evaluated(specs.len());
    for view in &specs {
        for c in containers(view) {
            let Some(proc_mount) = c.security_context.and_then(|s| s.proc_mount.as_deref()) else {
                continue;
            };
            if proc_mount != "Unmasked" {
                continue;
            }
            let mut finding = Finding::new(
                Level::Error,
                Some(view.container_ref(c.name)),
                format!("{}: securityContext.procMount is Unmasked", c.label()),
            )
            .with_revision_of(view);
            if view.spec().host_users == Some(false) {
                finding =
                    finding.with_evidence("the Pod runs in a user namespace (hostUsers: false)");
            }
            out.push(finding);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture;

    #[test]
    fn names_the_unmasked_container() {
        let report = run_fixture("proc_mount_unmasked", "fail.yaml");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "Pod/ci/image-builder [buildkitd]"
        );
        assert_eq!(
            f.message,
            "container \"buildkitd\": securityContext.procMount is Unmasked"
        );
        assert_eq!(
            f.evidence,
            vec!["the Pod runs in a user namespace (hostUsers: false)"]
        );
        assert!(run_fixture("proc_mount_unmasked", "pass.yaml").passed);
    }
}
