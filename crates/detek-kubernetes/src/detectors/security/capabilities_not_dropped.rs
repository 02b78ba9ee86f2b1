use super::flag_linux_containers;
use crate::prelude::*;

/// ## What it detects
/// Containers whose `securityContext.capabilities.drop` does not include `ALL`, so they keep
/// the container runtime's default capabilities (containerd and Docker: `CHOWN`,
/// `DAC_OVERRIDE`, `FOWNER`, `FSETID`, `KILL`, `SETGID`, `SETUID`, `SETPCAP`,
/// `NET_BIND_SERVICE`, `NET_RAW`, `SYS_CHROOT`, `MKNOD`, `AUDIT_WRITE`, `SETFCAP`). This is the
/// Pod Security Standards *restricted* rule. Privileged containers are left to
/// `privileged_container`, Windows pods are skipped. Real Pods are checked when the scan has
/// any, workload templates otherwise.
/// Static Pods of the control plane (mirror Pods) are skipped: files on the node define them.
///
/// ## Why it matters
/// The default set is more than most processes use. `NET_RAW` lets a compromised container
/// forge packets and spoof ARP or DNS answers to its neighbours on the node; `DAC_OVERRIDE`
/// and `FOWNER` ignore file permissions on writable volumes; `SETUID`/`SETGID` let a process
/// that runs as root in the container switch to any user. Dropping `ALL` removes them
/// without changing what a non-root process can normally do.
///
/// ## How to fix
/// ```yaml
/// securityContext:
///   capabilities:
///     drop: [ALL]
///     add: [NET_BIND_SERVICE]   # only if it binds a port below 1024
/// ```
/// See what a running container holds with `kubectl exec POD -- grep CapEff /proc/1/status`.
///
/// ## Example
/// ```yaml
/// containers:
/// - name: web
///   securityContext:
///     capabilities:
///       drop: [NET_RAW]       # fires: only NET_RAW is dropped
/// ```
#[detector(
    id = "capabilities_not_dropped",
    title = "Containers that do not drop all capabilities",
    labels = ["kubernetes", "security", "pod"],
    level = Warn,
    requires = [POD_SPECS],
    references = ["https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted"],
)]
pub struct CapabilitiesNotDropped;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    flag_linux_containers(ctx, |_, c| {
        if c.privileged() {
            return None;
        }
        let dropped = c.dropped_capabilities();
        if dropped.iter().any(|d| d == "ALL") {
            return None;
        }
        let message = if dropped.is_empty() {
            format!(
                "{}: securityContext.capabilities.drop does not include ALL (nothing is dropped)",
                c.label()
            )
        } else {
            format!(
                "{}: securityContext.capabilities.drop does not include ALL (drops only {})",
                c.label(),
                dropped.join(", ")
            )
        };
        Some(message)
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::{finding_pairs, run_fixture};

    #[test]
    fn names_containers_keeping_default_capabilities() {
        let report = run_fixture("capabilities_not_dropped", "fail.yaml");
        let got = finding_pairs(&report);
        assert_eq!(
            got,
            vec![(
                "Deployment/frontend [php-redis]".to_string(),
                "container \"php-redis\": securityContext.capabilities.drop does not include ALL (nothing is dropped)"
            )]
        );
        assert!(run_fixture("capabilities_not_dropped", "pass.yaml").passed);
    }
}
