use super::flag_linux_containers;
use crate::prelude::*;

/// ## What it detects
/// Containers whose `securityContext.allowPrivilegeEscalation` is not `false`: set to `true`,
/// or not set at all, which Linux treats as allowed. This is the Pod Security Standards
/// *restricted* rule, which requires an explicit `false`. With the setting
/// `explicit_only: true` only an explicit `true` is reported.
///
/// Privileged containers are left to `privileged_container` (they always allow escalation,
/// and the API server rejects `false` on them), and Windows pods are skipped (the field is
/// Linux-only). Real Pods are checked when the scan has any, workload templates otherwise.
/// Static Pods of the control plane (mirror Pods) are skipped: files on the node define them.
///
/// ## Why it matters
/// Unless `allowPrivilegeEscalation` is `false`, the kernel's `no_new_privs` flag is not set,
/// so a process in the container can gain more privileges than it started with: through a
/// setuid-root binary in the image (`su`, `sudo`, `ping` on older images) or a file
/// capability. A container that runs as a non-root user is only non-root until it execs one
/// of those. Setting it to `false` costs nothing for almost every workload.
///
/// ## How to fix
/// Add to every container:
/// `securityContext: {allowPrivilegeEscalation: false}`
/// (`kubectl explain pod.spec.containers.securityContext.allowPrivilegeEscalation`). Together
/// with `runAsNonRoot: true`, `capabilities.drop: [ALL]` and `seccompProfile: {type:
/// RuntimeDefault}` it makes the Pod pass the *restricted* profile; label the namespace
/// `pod-security.kubernetes.io/enforce: restricted` to keep it that way.
///
/// ## Example
/// ```yaml
/// containers:
/// - name: web
///   securityContext: {}                     # fires: not set means allowed
/// - name: worker
///   securityContext:
///     allowPrivilegeEscalation: false       # fine
/// ```
#[detector(
    id = "privilege_escalation_allowed",
    title = "Containers allowing privilege escalation",
    labels = ["kubernetes", "security", "pod"],
    level = Warn,
    requires = [POD_SPECS],
    references = [
        "https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",
        "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/",
    ],
    settings = PrivilegeEscalationAllowedSettings,
)]
pub struct PrivilegeEscalationAllowed;

/// Settings of `privilege_escalation_allowed`.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct PrivilegeEscalationAllowedSettings {
    /// Report only an explicit `allowPrivilegeEscalation: true`, not an unset field.
    #[setting(default = false)]
    pub explicit_only: bool,
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let settings: PrivilegeEscalationAllowedSettings = ctx.settings_of()?;
    let explicit_only = settings.explicit_only;
    flag_linux_containers(ctx, |_, c| {
        if c.privileged() {
            return None;
        }
        let message = match c
            .security_context
            .and_then(|s| s.allow_privilege_escalation)
        {
            Some(false) => return None,
            Some(true) => format!(
                "{}: securityContext.allowPrivilegeEscalation is true",
                c.label()
            ),
            None if explicit_only => return None,
            None => format!(
                "{}: securityContext.allowPrivilegeEscalation is not set (escalation is allowed unless it is false)",
                c.label()
            ),
        };
        Some(message)
    })
}

#[cfg(test)]
mod tests {
    use crate::Input;
    use crate::testing::{finding_pairs, fixture_dir, run_fixture, run_on};
    use detek_core::Settings;

    #[test]
    fn reports_explicit_and_unset_escalation() {
        let report = run_fixture("privilege_escalation_allowed", "fail.yaml");
        let got = finding_pairs(&report);
        assert_eq!(
            got,
            vec![(
                "Deployment/tools/legacy-worker [worker]".to_string(),
                "container \"worker\": securityContext.allowPrivilegeEscalation is true"
            ),]
        );
        let report = run_fixture("privilege_escalation_allowed", "fail_unset.yaml");
        assert!(report.findings[0].message.ends_with(
            "allowPrivilegeEscalation is not set (escalation is allowed unless it is false)"
        ));

        let mut settings = Settings::new();
        settings.set("privilege_escalation_allowed.explicit_only", true);
        let path = fixture_dir("privilege_escalation_allowed").join("fail_unset.yaml");
        assert!(
            run_on(
                "privilege_escalation_allowed",
                vec![Input::Path(path)],
                settings
            )
            .passed
        );
        assert!(run_fixture("privilege_escalation_allowed", "pass.yaml").passed);
    }
}
