use super::{flag_mounted_host_paths, path_covers};
use crate::prelude::*;

/// ## What it detects
/// `hostPath` volumes that expose a sensitive part of the node, mounted by at least one
/// container:
///
/// - at any access mode: `/`, `/etc`, `/etc/kubernetes`, `/etc/ssh`, `/etc/shadow`,
///   `/etc/sudoers(.d)`, `/root`, `/home`, `/proc`, `/boot`, `/var/lib/kubelet` (the
///   directory itself, `pods/` and `pki/` below it), `/var/lib/etcd`, and the runtimes' state
///   directories `/var/lib/docker`, `/var/lib/containerd`, `/var/lib/containers` themselves;
/// - when mounted read-write: `/sys`, `/var/log`, `/usr`, `/bin`, `/sbin`, `/lib`, and
///   anything below the runtimes' state directories (log collectors reading
///   `/var/lib/docker/containers` read-only are not reported).
///
/// A path matches when it is one of these, below one marked as a tree (`/etc/kubernetes/pki`,
/// `/proc/sys`, `/root/.ssh`), or above one (`/var` contains `/var/lib/kubelet`). Harmless
/// files under `/etc` (`/etc/localtime`, `/etc/ssl/certs`) and the kubelet's plugin
/// directories (`/var/lib/kubelet/plugins`, CSI sockets) do not match. `/dev` is not listed:
/// device access is governed by the device cgroup, and only privileged containers (reported by
/// `privileged_container`) get around it. Runtime sockets are `docker_socket_mount`'s. Every
/// hostPath is also listed by `hostpath_volume` (Warn); this one picks the dangerous ones.
///
/// ## Why it matters
/// These paths are the node's keys: `/etc/kubernetes` and `/var/lib/kubelet/pki` hold the
/// kubelet's client certificate, `/var/lib/kubelet/pods` every Secret mounted by every Pod on
/// the node, `/proc` every process's environment and root filesystem, `/` all of it. Writable
/// `/sys`, `/usr` or `/var/log` are known container escapes (kernel knobs, replaced binaries,
/// log symlinks followed by the kubelet). A read-only mount still leaks credentials.
///
/// ## How to fix
/// Mount only the file or subdirectory the process needs, `readOnly: true`, with a `type`
/// (`File`, `Directory`). Monitoring agents can read `/proc` and `/sys` read-only through
/// their own narrower paths; node filesystems for backup belong to a CSI driver. For node
/// agents that need it by design, suppress with `detek.io/ignore: host_path_sensitive`.
/// Find them: `kubectl get pods -A -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name}: {.spec.volumes[*].hostPath.path}{"\n"}{end}'`.
///
/// ## Example
/// ```yaml
/// volumes:
/// - name: etc
///   hostPath: {path: /etc}            # fires
/// - name: tz
///   hostPath: {path: /etc/localtime}  # fine
/// ```
#[detector(
    id = "host_path_sensitive",
    title = "hostPath volumes exposing sensitive node paths",
    labels = ["kubernetes", "security", "pod", "storage"],
    level = Error,
    requires = [POD_SPECS],
    references = [
        "https://kubernetes.io/docs/concepts/storage/volumes/#hostpath",
        "https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",
    ],
)]
pub struct HostPathSensitive;

/// A sensitive node path.
struct Sensitive {
    path: &'static str,
    /// Paths below it are sensitive too.
    tree: bool,
    /// Only a read-write mount is reported.
    writable_only: bool,
    what: &'static str,
}

const fn s(path: &'static str, tree: bool, writable_only: bool, what: &'static str) -> Sensitive {
    Sensitive {
        path,
        tree,
        writable_only,
        what,
    }
}

const SENSITIVE: &[Sensitive] = &[
    s("/", false, false, "the node's whole filesystem"),
    s(
        "/etc",
        false,
        false,
        "the node's configuration and credentials",
    ),
    s(
        "/etc/kubernetes",
        true,
        false,
        "kubelet and control-plane credentials",
    ),
    s(
        "/etc/ssh",
        true,
        false,
        "the node's SSH host keys and configuration",
    ),
    s("/etc/shadow", true, false, "the node's password hashes"),
    s("/etc/sudoers", true, false, "the node's sudo rules"),
    s("/etc/sudoers.d", true, false, "the node's sudo rules"),
    s("/root", true, false, "root's home directory"),
    s("/home", true, false, "users' home directories"),
    s("/proc", true, false, "every process of the node"),
    s("/boot", true, false, "the node's kernel and boot loader"),
    s(
        "/var/lib/kubelet",
        false,
        false,
        "every Pod's volumes and Secrets and the kubelet's credentials",
    ),
    s(
        "/var/lib/kubelet/pods",
        true,
        false,
        "every Pod's volumes and Secrets",
    ),
    s(
        "/var/lib/kubelet/pki",
        true,
        false,
        "the kubelet's certificates and keys",
    ),
    s("/var/lib/etcd", true, false, "the cluster's etcd database"),
    s(
        "/var/lib/docker",
        false,
        false,
        "every container's filesystem and configuration",
    ),
    s(
        "/var/lib/containerd",
        false,
        false,
        "every container's filesystem and configuration",
    ),
    s(
        "/var/lib/containers",
        false,
        false,
        "every container's filesystem and configuration",
    ),
    s(
        "/var/lib/docker",
        true,
        true,
        "the container runtime's state",
    ),
    s(
        "/var/lib/containerd",
        true,
        true,
        "the container runtime's state",
    ),
    s(
        "/var/lib/containers",
        true,
        true,
        "the container runtime's state",
    ),
    s("/sys", true, true, "kernel settings"),
    s(
        "/var/log",
        true,
        true,
        "node logs, which the kubelet follows",
    ),
    s("/usr", true, true, "the node's programs"),
    s("/bin", true, true, "the node's programs"),
    s("/sbin", true, true, "the node's programs"),
    s(
        "/lib",
        true,
        true,
        "the node's libraries and kernel modules",
    ),
];

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    flag_mounted_host_paths(ctx, |hp| {
        let path = hp.path();
        let writable = hp.writable();
        let matched = SENSITIVE
            .iter()
            .filter(|e| writable || !e.writable_only)
            .find_map(|e| {
                if path == e.path || (e.tree && path_covers(e.path, path)) {
                    Some((e, false))
                } else if path_covers(path, e.path) {
                    Some((e, true))
                } else {
                    None
                }
            });
        let (entry, above) = matched?;
        let access = if writable { "read-write" } else { "read-only" };
        let message = if above {
            format!(
                "hostPath volume {:?} mounts {path} of the node ({access}), which contains {}: {}",
                hp.volume, entry.path, entry.what
            )
        } else {
            format!(
                "hostPath volume {:?} mounts {path} of the node ({access}): {}",
                hp.volume, entry.what
            )
        };
        Some(message)
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture;

    #[test]
    fn names_the_sensitive_paths() {
        let report = run_fixture("host_path_sensitive", "fail.yaml");
        let messages: Vec<_> = report.findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            vec![
                "hostPath volume \"boot\" mounts /boot of the node (read-only): the node's kernel and boot loader",
                "hostPath volume \"proc\" mounts /proc of the node (read-only): every process of the node",
                "hostPath volume \"etc\" mounts /etc of the node (read-only): the node's configuration and credentials",
            ]
        );
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "DaemonSet/longhorn-system/longhorn-manager"
        );
        assert_eq!(
            f.evidence,
            vec!["mounted by container \"longhorn-manager\" at /host/boot/ (read-only)"]
        );
        assert!(run_fixture("host_path_sensitive", "pass.yaml").passed);
    }
}
