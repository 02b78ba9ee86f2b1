use super::{checked_container_specs, containers};
use crate::prelude::*;

/// ## What it detects
/// Containers (init, regular and ephemeral) running with `securityContext.privileged: true`,
/// and Windows containers with `securityContext.windowsOptions.hostProcess: true`, their
/// equivalent. Real Pods are checked when the scan has any, the pod templates of workloads
/// otherwise, so manifests get the same check.
/// Static Pods of the control plane (mirror Pods) are skipped: files on the node define them.
/// Ephemeral (debug) containers are judged on the Pod that runs them, whichever replica of
/// its controller it is (`kubectl debug` adds them to one Pod, not to the template).
///
/// ## Why it matters
/// A privileged container has every capability, sees every device of the node, and runs
/// without seccomp, AppArmor or SELinux confinement: it is root on the node. A bug or a
/// compromised dependency in it is a compromised node, with the kubelet's credentials and every
/// Secret mounted by every Pod there. CNI and CSI node agents need it by design; application
/// workloads never do.
///
/// ## How to fix
/// List them with `kubectl get pods -A -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name}: {.spec.containers[*].securityContext.privileged}{"\n"}{end}' | grep true`.
/// Remove `privileged: true` and grant only what the process needs: a single capability
/// (`capabilities.add: [NET_BIND_SERVICE]`), a device through a device plugin, a writable
/// volume. For node agents that really need it, keep the namespace restricted (Pod Security
/// Admission `privileged` only there) and suppress the finding with the
/// `detek.io/ignore: privileged_container` annotation.
///
/// ## Example
/// ```yaml
/// containers:
/// - name: agent
///   securityContext:
///     privileged: true      # fires
/// ```
#[detector(
    id = "privileged_container",
    title = "Privileged containers",
    labels = ["kubernetes", "security", "pod"],
    level = Error,
    requires = [POD_SPECS],
    references = [
        "https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",
        "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/",
    ],
)]
pub struct PrivilegedContainer;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let specs = checked_container_specs(ctx.get(&POD_SPECS)?);
    let mut out = Outcome::new().evaluated(specs.len());
    for view in &specs {
        let pod_host_process = view
            .spec()
            .security_context
            .as_ref()
            .and_then(|s| s.windows_options.as_ref())
            .and_then(|w| w.host_process)
            == Some(true);
        for c in containers(view) {
            let message = if c.privileged() {
                format!("{}: securityContext.privileged is true", c.label())
            } else if c
                .security_context
                .and_then(|s| s.windows_options.as_ref())
                .and_then(|w| w.host_process)
                == Some(true)
            {
                format!(
                    "{}: securityContext.windowsOptions.hostProcess is true",
                    c.label()
                )
            } else if pod_host_process {
                format!(
                    "{}: pod securityContext.windowsOptions.hostProcess is true",
                    c.label()
                )
            } else {
                continue;
            };
            let mut finding = Finding::new(Level::Error, Some(view.container_ref(c.name)), message)
                .with_revision_of(view);
            if let Some(image) = c.image {
                finding = finding.with_evidence(format!("image {image}"));
            }
            out.push(finding);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::{finding_pairs, run_fixture};

    #[test]
    fn names_the_privileged_container() {
        let report = run_fixture("privileged_container", "fail.yaml");
        let got = finding_pairs(&report);
        assert_eq!(
            got,
            vec![(
                "DaemonSet/longhorn-system/longhorn-manager [longhorn-manager]".to_string(),
                "container \"longhorn-manager\": securityContext.privileged is true"
            )]
        );
        assert!(run_fixture("privileged_container", "pass.yaml").passed);
    }
}
