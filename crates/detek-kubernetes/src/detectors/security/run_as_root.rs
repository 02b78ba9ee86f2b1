use super::{checked_container_specs, containers, effective, is_windows};
use crate::prelude::*;

/// ## What it detects
/// Containers that run as root, or may: the effective `runAsNonRoot` is not `true` and the
/// effective `runAsUser` is `0` or not set. "Effective" means the container's
/// `securityContext` where it sets the field, the pod's `securityContext` otherwise.
///
/// - `runAsUser: 0` (container or pod) is reported as running as root.
/// - Neither field set: the image's `USER` decides, which detek cannot see; the finding says
///   the container runs as root *unless its image sets a non-root USER*. With the setting
///   `explicit_only: true` only an explicit `runAsUser: 0` is reported.
/// - `runAsNonRoot: true` passes: the kubelet refuses to start the container as UID 0.
///
/// Windows pods are skipped (they use `runAsUserName`). Real Pods are checked when the scan
/// has any, workload templates otherwise.
/// Static Pods of the control plane (mirror Pods) are skipped: files on the node define them.
///
/// ## Why it matters
/// Root in a container is root on the node's kernel with a thinner wall: any container escape
/// (a kernel bug, a writable hostPath, an added capability, a runtime CVE) lands as root on the
/// node. Root in the container also owns every file of the image and of writable volumes. Most
/// images do not need it; many official images default to it only because their `Dockerfile`
/// has no `USER` line.
///
/// ## How to fix
/// Set `securityContext: {runAsNonRoot: true, runAsUser: 10001}` on the pod (or container),
/// with a UID the image's files allow, and `fsGroup` for writable volumes. Check what an image
/// runs as with `docker inspect --format '{{.Config.User}}' IMAGE` or
/// `kubectl exec POD -- id`. Binding to ports below 1024 needs `NET_BIND_SERVICE`, not root.
///
/// ## Example
/// ```yaml
/// securityContext:
///   runAsUser: 0            # fires: root
/// containers:
/// - name: web               # fires: may be root, depends on the image's USER
///   image: nginx:1.27
/// - name: api
///   securityContext: {runAsNonRoot: true, runAsUser: 1000}   # fine
/// ```
#[detector(
    id = "run_as_root",
    title = "Containers running as root",
    labels = ["kubernetes", "security", "pod"],
    level = Warn,
    requires = [POD_SPECS],
    references = [
        "https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",
        "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/",
    ],
    settings = RunAsRootSettings,
)]
pub struct RunAsRoot;

/// Settings of `run_as_root`.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct RunAsRootSettings {
    /// Report only an explicit `runAsUser: 0`, not containers whose image's USER decides.
    #[setting(default = false)]
    pub explicit_only: bool,
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let settings: RunAsRootSettings = ctx.settings_of()?;
    let explicit_only = settings.explicit_only;
    let specs = checked_container_specs(ctx.get(&POD_SPECS)?);
    let mut out = Outcome::new().evaluated(specs.len());
    for view in &specs {
        if is_windows(view) {
            continue;
        }
        let pod = view.spec().security_context.as_ref();
        for c in containers(view) {
            let non_root = effective(&c, pod, |s| s.run_as_non_root, |p| p.run_as_non_root);
            if non_root.is_some_and(|(v, _)| v) {
                continue;
            }
            let user = effective(&c, pod, |s| s.run_as_user, |p| p.run_as_user);
            let mut finding = match user {
                Some((0, at)) => Finding::new(
                    Level::Warn,
                    Some(view.container_ref(c.name)),
                    format!(
                        "{}: runs as root ({} is 0)",
                        c.label(),
                        at.field("runAsUser")
                    ),
                )
                .with_revision_of(view),
                Some(_) => continue,
                None if explicit_only => continue,
                None => {
                    let non_root_note = match non_root {
                        Some((false, at)) => format!("{} is false", at.field("runAsNonRoot")),
                        _ => "runAsNonRoot is not set".to_string(),
                    };
                    Finding::new(
                        Level::Warn,
                        Some(view.container_ref(c.name)),
                        format!(
                            "{}: runs as root unless its image sets a non-root USER (no runAsUser, {non_root_note})",
                            c.label()
                        ),
                    )
                    .with_revision_of(view)
                }
            };
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
    use crate::Input;
    use crate::testing::{finding_pairs, fixture_dir, run_fixture, run_on};
    use detek_core::Settings;

    #[test]
    fn tells_root_from_maybe_root() {
        let report = run_fixture("run_as_root", "fail.yaml");
        let got = finding_pairs(&report);
        assert_eq!(
            got,
            vec![(
                "Deployment/rook-ceph/rook-direct-mount [rook-direct-mount]".to_string(),
                "container \"rook-direct-mount\": runs as root (securityContext.runAsUser is 0)"
            )]
        );
        let report = run_fixture("run_as_root", "fail_unset.yaml");
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "Deployment/frontend [php-redis]"
        );
        assert_eq!(
            f.message,
            "container \"php-redis\": runs as root unless its image sets a non-root USER (no runAsUser, runAsNonRoot is not set)"
        );
        let mut settings = Settings::new();
        settings.set("run_as_root.explicit_only", true);
        let path = fixture_dir("run_as_root").join("fail_unset.yaml");
        assert!(run_on("run_as_root", vec![Input::Path(path)], settings).passed);
        assert!(run_fixture("run_as_root", "pass.yaml").passed);
    }
}
