use super::flag_linux_containers;
use crate::prelude::*;

/// ## What it detects
/// Containers whose `securityContext.readOnlyRootFilesystem` is not `true` (set to `false`,
/// or not set: writable is the default). Init, regular and ephemeral containers are checked;
/// Windows pods are skipped. Real Pods are checked when the scan has any, workload templates
/// otherwise.
/// Static Pods of the control plane (mirror Pods) are skipped: files on the node define them.
///
/// ## Why it matters
/// A writable root filesystem lets an intruder drop tools and binaries, change the
/// application's code or configuration in place, and persist until the container restarts;
/// it also hides state in the container layer, where it fills the node's disk and is lost on
/// the next rollout. A read-only root makes the image the whole truth and any write an error
/// you see.
///
/// ## How to fix
/// Set `securityContext.readOnlyRootFilesystem: true` and give the process what it writes as
/// volumes: `emptyDir` for `/tmp` and caches (with `sizeLimit`), a PVC for data. Run the
/// container once and see what fails, or list what it writes with
/// `kubectl exec POD -- find / -xdev -newer /proc/1 -type f 2>/dev/null`.
///
/// ## Example
/// ```yaml
/// containers:
/// - name: web
///   securityContext:
///     readOnlyRootFilesystem: true   # fine
///   volumeMounts:
///   - {name: tmp, mountPath: /tmp}
/// - name: worker                      # fires: writable by default
/// ```
#[detector(
    id = "read_only_root_filesystem_missing",
    title = "Containers with a writable root filesystem",
    labels = ["kubernetes", "security", "pod"],
    level = Warn,
    requires = [POD_SPECS],
    references = ["https://kubernetes.io/docs/tasks/configure-pod-container/security-context/"],
)]
pub struct ReadOnlyRootFilesystemMissing;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    flag_linux_containers(ctx, |_, c| {
        let message = match c.security_context.and_then(|s| s.read_only_root_filesystem) {
            Some(true) => return None,
            Some(false) => format!(
                "{}: securityContext.readOnlyRootFilesystem is false",
                c.label()
            ),
            None => format!(
                "{}: securityContext.readOnlyRootFilesystem is not set (the root filesystem is writable)",
                c.label()
            ),
        };
        Some(message)
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::{finding_pairs, run_fixture};

    #[test]
    fn names_containers_with_a_writable_root() {
        let report = run_fixture("read_only_root_filesystem_missing", "fail.yaml");
        let got = finding_pairs(&report);
        assert_eq!(
            got,
            vec![(
                "Deployment/frontend [php-redis]".to_string(),
                "container \"php-redis\": securityContext.readOnlyRootFilesystem is not set (the root filesystem is writable)"
            )]
        );
        assert!(run_fixture("read_only_root_filesystem_missing", "pass.yaml").passed);
    }
}
