use crate::prelude::*;

/// ## What it detects
/// Pods and workload templates with `hostPath` volumes, which mount a file or directory of the
/// node into the Pod. The finding names the volume and the node path, and the evidence lists
/// the containers that mount it and whether read-only. Real Pods are checked when the scan has
/// any, the pod templates of workloads otherwise, so manifests get the same check.
///
/// ## Why it matters
/// A hostPath ties the Pod to what is on one node: data written there is lost or wrong when the
/// Pod moves, and two replicas on one node share it. It is also the easiest way out of a
/// container: a writable mount of `/`, `/etc`, `/var/lib/kubelet` or a runtime socket gives
/// root on the node. Node agents (CNI, kube-proxy, log and metrics collectors, CSI drivers)
/// need it by design; application workloads almost never do.
///
/// ## How to fix
/// List them with `kubectl get pods -A -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name}: {.spec.volumes[*].hostPath.path}{"\n"}{end}'`.
/// For application data use a PersistentVolumeClaim; for scratch space an `emptyDir`; for
/// configuration a ConfigMap or Secret. Where a node agent really needs it, mount only the
/// path it needs, `readOnly: true` where possible, and suppress the finding on that workload
/// or its namespace with the `detek.io/ignore: hostpath_volume` annotation.
///
/// ## Example
/// ```yaml
/// volumes:
/// - name: root
///   hostPath: {path: /}       # fires
/// - name: cache
///   emptyDir: {}              # fine
/// ```
#[detector(
    id = "hostpath_volume",
    title = "Pods mounting directories of the node (hostPath volumes)",
    labels = ["kubernetes", "workloads", "pod", "security", "storage"],
    level = Warn,
    requires = [POD_SPECS],
    references = ["https://kubernetes.io/docs/concepts/storage/volumes/#hostpath"],
)]
pub struct HostpathVolume;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let specs = ctx.get(&POD_SPECS)?.views();
    let mut out = Outcome::new().evaluated(specs.len());
    for view in &specs {
        for volume in view.spec().volumes.iter().flatten() {
            let Some(host_path) = &volume.host_path else {
                continue;
            };
            let mut message = format!(
                "hostPath volume {:?} mounts {} of the node",
                volume.name, host_path.path
            );
            if let Some(kind) = host_path.type_.as_deref().filter(|t| !t.is_empty()) {
                message.push_str(&format!(" (type {kind})"));
            }
            let mounts: Vec<String> = view
                .all_containers()
                .flat_map(|c| {
                    c.volume_mounts
                        .iter()
                        .flatten()
                        .filter(|m| m.name == volume.name)
                        .map(move |m| {
                            let access = if m.read_only == Some(true) {
                                "read-only"
                            } else {
                                "read-write"
                            };
                            format!("{} at {} ({access})", c.name, m.mount_path)
                        })
                })
                .collect();
            let evidence = if mounts.is_empty() {
                "mounted by no container".to_string()
            } else {
                format!("mounted by {}", mounts.join(", "))
            };
            out.push(
                Finding::new(Level::Warn, Some(view.object_ref()), message)
                    .with_revision_of(view)
                    .with_evidence(evidence),
            );
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture;

    #[test]
    fn names_each_host_path_and_who_mounts_it() {
        let report = run_fixture("hostpath_volume", "fail.yaml");
        let messages: Vec<_> = report.findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            vec![
                "hostPath volume \"sys\" mounts /sys of the node",
                "hostPath volume \"root\" mounts / of the node",
            ]
        );
        let f = &report.findings[1];
        let object = f.object.as_ref().unwrap();
        assert_eq!(object.kind, "DaemonSet");
        assert_eq!(object.namespace.as_deref(), Some("monitoring"));
        assert_eq!(object.name, "node-exporter");
        assert!(object.container.is_none());
        assert_eq!(
            f.evidence,
            vec!["mounted by node-exporter at /host/root (read-only)"]
        );

        let report = run_fixture("hostpath_volume", "fail_pod.yaml");
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "DaemonSet/kube-system/kube-proxy"
        );
        assert_eq!(
            f.message,
            "hostPath volume \"xtables-lock\" mounts /run/xtables.lock of the node (type FileOrCreate)"
        );

        assert!(run_fixture("hostpath_volume", "pass.yaml").passed);
    }
}
