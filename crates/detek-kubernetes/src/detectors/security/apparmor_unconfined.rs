use super::{effective, flag_linux_containers};
use crate::prelude::*;

/// ## What it detects
/// Containers that explicitly opt out of AppArmor: the effective `appArmorProfile.type` (the
/// container's `securityContext`, else the pod's) is `Unconfined`, or the beta annotation
/// `container.apparmor.security.beta.kubernetes.io/<container>: unconfined` is set. A missing
/// profile is not reported: on nodes with AppArmor the runtime applies its default profile.
/// Privileged containers are left to `privileged_container`, Windows pods are skipped. Real
/// Pods are checked when the scan has any, workload templates otherwise.
/// Static Pods of the control plane (mirror Pods) are skipped: files on the node define them.
///
/// ## Why it matters
/// The runtime's default AppArmor profile denies writes to `/proc` and `/sys` knobs, mounts,
/// and access to other processes' files: it is what stops several container escapes on
/// Ubuntu and Debian nodes. `Unconfined` removes it. Pod Security Standards *baseline*
/// forbids it.
///
/// ## How to fix
/// Remove the `Unconfined` profile (or annotation) so the runtime default applies, or write a
/// `Localhost` profile for what the process really needs. Check what a container runs under
/// with `kubectl exec POD -- cat /proc/1/attr/current`.
///
/// ## Example
/// ```yaml
/// securityContext:
///   appArmorProfile:
///     type: Unconfined        # fires
/// ```
#[detector(
    id = "apparmor_unconfined",
    title = "Containers running without AppArmor (Unconfined)",
    labels = ["kubernetes", "security", "pod"],
    level = Warn,
    requires = [POD_SPECS],
    references = [
        "https://kubernetes.io/docs/tutorials/security/apparmor/",
        "https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",
    ],
)]
pub struct ApparmorUnconfined;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    flag_linux_containers(ctx, |view, c| {
        let pod = view.spec().security_context.as_ref();
        if c.privileged() {
            return None;
        }
        let profile = effective(
            c,
            pod,
            |s| s.app_armor_profile.as_ref().map(|p| p.type_.as_str()),
            |p| p.app_armor_profile.as_ref().map(|p| p.type_.as_str()),
        );
        let message = match profile {
            Some(("Unconfined", at)) => format!(
                "{}: {} is Unconfined",
                c.label(),
                at.field("appArmorProfile.type")
            ),
            Some(_) => return None,
            None => {
                let key = format!("container.apparmor.security.beta.kubernetes.io/{}", c.name);
                match view.metadata.annotations.as_ref().and_then(|a| a.get(&key)) {
                    Some(v) if v == "unconfined" => {
                        format!("{}: annotation {key} is unconfined", c.label())
                    }
                    _ => return None,
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
    fn names_unconfined_containers() {
        let report = run_fixture("apparmor_unconfined", "fail.yaml");
        let got = finding_pairs(&report);
        assert_eq!(
            got,
            vec![
                (
                    "Deployment/tools/debug-shell [shell]".to_string(),
                    "container \"shell\": pod securityContext.appArmorProfile.type is Unconfined"
                ),
                (
                    "Deployment/tools/legacy-agent [agent]".to_string(),
                    "container \"agent\": annotation container.apparmor.security.beta.kubernetes.io/agent is unconfined"
                ),
            ]
        );
        assert!(run_fixture("apparmor_unconfined", "pass.yaml").passed);
    }
}
