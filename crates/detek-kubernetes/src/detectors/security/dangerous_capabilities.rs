use super::{checked_container_specs, containers, normalise_capability};
use crate::prelude::*;

/// ## What it detects
/// Containers that add a dangerous Linux capability in `securityContext.capabilities.add`:
/// by default `ALL`, `SYS_ADMIN`, `NET_ADMIN`, `SYS_PTRACE`, `SYS_MODULE`, `SYS_RAWIO`,
/// `SYS_BOOT`, `DAC_READ_SEARCH`, `BPF`, `PERFMON`, `MAC_ADMIN` and `MAC_OVERRIDE`: the ones
/// that lead out of the container or into the kernel. `CAP_` prefixes and case are ignored.
/// The setting `capabilities` (a list of names) replaces the default list.
///
/// `NET_RAW` is not in the default list: containerd and Docker grant it to every container
/// anyway, so adding it changes nothing there; dropping it is what matters, which
/// `capabilities_not_dropped` reports. Add it to the setting on CRI-O, which does not grant it.
/// `SYS_TIME` (set the node's clock; node-exporter asks for it) and `SYSLOG` are risky but no
/// way out of the container; add them to the setting to report them too.
/// Real Pods are checked when the scan has any, workload templates otherwise.
/// Static Pods of the control plane (mirror Pods) are skipped: files on the node define them.
///
/// ## Why it matters
/// Each of these is most of root: `SYS_ADMIN` mounts filesystems and escapes through cgroups;
/// `SYS_MODULE` loads kernel modules; `SYS_PTRACE` reads other processes' memory (with
/// `hostPID`, every process of the node); `NET_ADMIN` rewrites the Pod's (or with
/// `hostNetwork`, the node's) routing and firewall; `DAC_READ_SEARCH` opens any file by handle
/// (the "shocker" escape); `BPF`/`PERFMON` read kernel memory. A container with them is a
/// container escape waiting for a bug.
///
/// ## How to fix
/// Drop `ALL` and add back only what the process needs, usually nothing or
/// `NET_BIND_SERVICE`. See which capabilities a running process holds with
/// `kubectl exec POD -- grep Cap /proc/1/status` and decode with `capsh --decode=...`. Mesh
/// sidecars that need `NET_ADMIN` for iptables can move that to a CNI plugin (Istio CNI,
/// Linkerd CNI) so the application Pod does not carry it.
///
/// ## Example
/// ```yaml
/// securityContext:
///   capabilities:
///     add: [SYS_ADMIN]        # fires
///     drop: [ALL]
/// ```
#[detector(
    id = "dangerous_capabilities",
    title = "Containers adding dangerous Linux capabilities",
    labels = ["kubernetes", "security", "pod"],
    level = Error,
    requires = [POD_SPECS],
    references = [
        "https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",
        "https://man7.org/linux/man-pages/man7/capabilities.7.html",
    ],
    settings = DangerousCapabilitiesSettings,
)]
pub struct DangerousCapabilities;

/// Settings of `dangerous_capabilities`.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct DangerousCapabilitiesSettings {
    /// Capabilities reported when added (`CAP_` prefix and case ignored); replaces the default list.
    #[setting(default = [
        "ALL",
        "SYS_ADMIN",
        "NET_ADMIN",
        "SYS_PTRACE",
        "SYS_MODULE",
        "SYS_RAWIO",
        "SYS_BOOT",
        "DAC_READ_SEARCH",
        "BPF",
        "PERFMON",
        "MAC_ADMIN",
        "MAC_OVERRIDE",
    ])]
    pub capabilities: Vec<String>,
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let settings: DangerousCapabilitiesSettings = ctx.settings_of()?;
    let dangerous: Vec<String> = settings
        .capabilities
        .iter()
        .map(|c| normalise_capability(c))
        .collect();
    let specs = checked_container_specs(ctx.get(&POD_SPECS)?);
    let mut out = Outcome::new().evaluated(specs.len());
    for view in &specs {
        for c in containers(view) {
            let mut found: Vec<String> = Vec::new();
            for cap in c.added_capabilities() {
                if dangerous.contains(&cap) && !found.contains(&cap) {
                    found.push(cap);
                }
            }
            if found.is_empty() {
                continue;
            }
            let mut finding = Finding::new(
                Level::Error,
                Some(view.container_ref(c.name)),
                format!(
                    "{}: securityContext.capabilities.add includes {}",
                    c.label(),
                    found.join(", ")
                ),
            )
            .with_revision_of(view);
            if c.privileged() {
                finding = finding.with_evidence(
                    "the container is also privileged (it has every capability anyway)",
                );
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
    fn names_the_added_capabilities() {
        let report = run_fixture("dangerous_capabilities", "fail.yaml");
        let got = finding_pairs(&report);
        assert_eq!(
            got,
            vec![(
                "DaemonSet/kube-system/istio-cni-node [install-cni]".to_string(),
                "container \"install-cni\": securityContext.capabilities.add includes NET_ADMIN, SYS_PTRACE, SYS_ADMIN"
            )]
        );
        assert!(run_fixture("dangerous_capabilities", "pass.yaml").passed);

        // The list is a setting: node-exporter's SYS_TIME is reported once it is on it.
        let mut settings = Settings::new();
        settings.set(
            "dangerous_capabilities.capabilities",
            serde_json::json!(["cap_sys_time", "NET_RAW"]),
        );
        let path = fixture_dir("dangerous_capabilities").join("pass.yaml");
        let report = run_on("dangerous_capabilities", vec![Input::Path(path)], settings);
        let messages: Vec<_> = report.findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            vec!["container \"node-exporter\": securityContext.capabilities.add includes SYS_TIME"]
        );
    }
}
