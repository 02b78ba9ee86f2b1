use super::{effective, flag_linux_containers};
use crate::prelude::*;

/// ## What it detects
/// Containers that run without a seccomp filter: the effective `seccompProfile` (the
/// container's `securityContext`, else the pod's) is missing or `Unconfined`. `RuntimeDefault`
/// and `Localhost` pass. When only the deprecated annotations
/// (`seccomp.security.alpha.kubernetes.io/pod`,
/// `container.seccomp.security.alpha.kubernetes.io/<name>`) are set, the finding says so:
/// Kubernetes 1.27 and later no longer apply them. Privileged containers are left to
/// `privileged_container` (seccomp does not apply to them), Windows pods are skipped. Real
/// Pods are checked when the scan has any, workload templates otherwise.
/// Static Pods of the control plane (mirror Pods) are skipped: files on the node define them.
///
/// ## Why it matters
/// Without a profile, the kubelet runs containers `Unconfined` unless it was started with
/// `seccompDefault: true`, so every system call of the kernel is reachable from the container:
/// most container escapes of recent years (`unshare`, `keyctl`, `io_uring`, `bpf` bugs) go
/// through calls the runtime's default profile blocks. `RuntimeDefault` breaks almost nothing.
/// Pod Security Standards *restricted* requires it.
///
/// ## How to fix
/// Set it once on the pod:
/// `spec.securityContext.seccompProfile: {type: RuntimeDefault}`. Check the cluster-wide
/// default with `kubectl get --raw /api/v1/nodes/NODE/proxy/configz | jq .kubeletconfig.seccompDefault`;
/// enabling it on every kubelet covers Pods you do not control.
///
/// ## Example
/// ```yaml
/// spec:
///   securityContext:
///     seccompProfile: {type: RuntimeDefault}   # fine for every container
///   containers:
///   - name: debug
///     securityContext:
///       seccompProfile: {type: Unconfined}     # fires
/// ```
#[detector(
    id = "seccomp_profile_missing",
    title = "Containers without a seccomp profile",
    labels = ["kubernetes", "security", "pod"],
    level = Warn,
    requires = [POD_SPECS],
    references = [
        "https://kubernetes.io/docs/tutorials/security/seccomp/",
        "https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",
    ],
)]
pub struct SeccompProfileMissing;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    flag_linux_containers(ctx, |view, c| {
        let pod = view.spec().security_context.as_ref();
        let annotations = view.metadata.annotations.as_ref();
        if c.privileged() {
            return None;
        }
        let profile = effective(
            c,
            pod,
            |s| s.seccomp_profile.as_ref().map(|p| p.type_.as_str()),
            |p| p.seccomp_profile.as_ref().map(|p| p.type_.as_str()),
        );
        let message = match profile {
            Some(("RuntimeDefault" | "Localhost", _)) => return None,
            Some((kind, at)) => format!(
                "{}: {} is {kind}",
                c.label(),
                at.field("seccompProfile.type")
            ),
            None => {
                let annotation = annotations.and_then(|a| {
                    let key = format!("container.seccomp.security.alpha.kubernetes.io/{}", c.name);
                    a.get(&key).map(|v| (key, v)).or_else(|| {
                        a.get_key_value("seccomp.security.alpha.kubernetes.io/pod")
                            .map(|(k, v)| (k.clone(), v))
                    })
                });
                match annotation {
                    Some((key, value)) if value != "unconfined" => format!(
                        "{}: no seccompProfile, only the deprecated annotation {key}: {value}, which Kubernetes 1.27+ ignores",
                        c.label()
                    ),
                    _ => format!(
                        "{}: no seccompProfile on the container or the pod (Unconfined unless the kubelet defaults to RuntimeDefault)",
                        c.label()
                    ),
                }
            }
        };
        Some(message)
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::{finding_pairs, run_fixture};

    #[test]
    fn names_containers_without_a_profile() {
        let report = run_fixture("seccomp_profile_missing", "fail.yaml");
        let got = finding_pairs(&report);
        assert_eq!(
            got,
            vec![(
                "Deployment/frontend [php-redis]".to_string(),
                "container \"php-redis\": no seccompProfile on the container or the pod (Unconfined unless the kubelet defaults to RuntimeDefault)"
            )]
        );
        let report = run_fixture("seccomp_profile_missing", "fail_annotation.yaml");
        let messages: Vec<_> = report.findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            vec![
                "container \"api\": no seccompProfile, only the deprecated annotation seccomp.security.alpha.kubernetes.io/pod: runtime/default, which Kubernetes 1.27+ ignores",
                "container \"profiler\": securityContext.seccompProfile.type is Unconfined",
            ]
        );
        assert!(run_fixture("seccomp_profile_missing", "pass.yaml").passed);
    }
}
