use super::{flag_mounted_host_paths, path_covers};
use crate::prelude::*;

/// ## What it detects
/// Pods and workload templates that mount a container runtime's API socket from the node
/// through a `hostPath` volume: Docker (`/var/run/docker.sock`, and its nested containerd's
/// `/var/run/docker/containerd/containerd.sock`), containerd
/// (`/run/containerd/containerd.sock`, k3s' `/run/k3s/containerd/containerd.sock`), CRI-O
/// (`/var/run/crio/crio.sock`), cri-dockerd, dockershim and Podman, under `/run` or
/// `/var/run`; or a directory that holds them (`/var/run`, `/run`, `/run/containerd`,
/// `/var/run/docker`...).
/// Volumes no container mounts are ignored; `/` and `/var` are left to
/// `host_path_sensitive`. Real Pods are checked when the scan has any, workload templates
/// otherwise.
/// Static Pods of the control plane (mirror Pods) are skipped: files on the node define them.
///
/// ## Why it matters
/// The runtime socket is root on the node without asking: whoever can write to it starts a
/// privileged container with the node's filesystem mounted, reads every container's
/// environment and files, or execs into any of them, regardless of Pod Security, RBAC or
/// admission policies. A read-only mount does not help: connecting to a socket is not a
/// write to the file. Old CI runners (docker-in-docker by socket), log shippers and
/// monitoring agents are the usual holders.
///
/// ## How to fix
/// Find them with `kubectl get pods -A -o json | jq -r '.items[] | select(.spec.volumes[]?.hostPath.path | test("sock$")?) | .metadata.namespace + "/" + .metadata.name'`.
/// Build images with a daemonless builder (BuildKit rootless, kaniko, buildah) instead of
/// the node's Docker; read container metadata from the kubelet or the API server; for
/// monitoring, use the runtime's metrics endpoint or cAdvisor. If an agent really needs it,
/// run it in its own namespace with its own node pool and suppress with
/// `detek.io/ignore: docker_socket_mount`.
///
/// ## Example
/// ```yaml
/// volumes:
/// - name: docker
///   hostPath: {path: /var/run/docker.sock, type: Socket}   # fires
/// ```
#[detector(
    id = "docker_socket_mount",
    title = "Pods mounting the container runtime socket",
    labels = ["kubernetes", "security", "pod", "storage"],
    level = Error,
    requires = [POD_SPECS],
    references = ["https://kubernetes.io/docs/concepts/storage/volumes/#hostpath"],
)]
pub struct DockerSocketMount;

/// Runtime API sockets, under both `/run` and its `/var/run` alias.
const SOCKETS: &[&str] = &[
    "/var/run/docker.sock",
    "/run/docker.sock",
    // Docker's own containerd, nested under Docker's state directory (`/var/run/docker`).
    "/var/run/docker/containerd/containerd.sock",
    "/run/docker/containerd/containerd.sock",
    "/var/run/docker/containerd/docker-containerd.sock",
    "/var/run/containerd/containerd.sock",
    "/run/containerd/containerd.sock",
    "/run/k3s/containerd/containerd.sock",
    "/var/run/crio/crio.sock",
    "/run/crio/crio.sock",
    "/var/run/cri-dockerd.sock",
    "/run/cri-dockerd.sock",
    "/var/run/dockershim.sock",
    "/run/dockershim.sock",
    "/var/run/podman/podman.sock",
    "/run/podman/podman.sock",
];

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    flag_mounted_host_paths(ctx, |hp| {
        let path = hp.path();
        if path == "/" || path == "/var" {
            return None;
        }
        let message = if SOCKETS.contains(&path) {
            format!(
                "hostPath volume {:?} mounts the container runtime socket {path}",
                hp.volume
            )
        } else if let Some(socket) = SOCKETS.iter().find(|s| path_covers(path, s)) {
            format!(
                "hostPath volume {:?} mounts {path}, which holds the container runtime socket {socket}",
                hp.volume
            )
        } else {
            return None;
        };
        Some(message)
    })
}

#[cfg(test)]
mod tests {
    /// Docker's state directory holds its nested containerd socket.
    #[test]
    fn the_docker_directory_holds_its_containerd_socket() {
        let report = run_fixture("docker_socket_mount", "fail_docker_dir.yaml");
        assert_eq!(
            crate::testing::finding_lines(&report),
            [
                "DaemonSet/monitoring/node-agent: hostPath volume \"docker\" mounts /var/run/docker, \
              which holds the container runtime socket /var/run/docker/containerd/containerd.sock"
            ]
        );
    }

    use crate::testing::run_fixture;

    #[test]
    fn names_the_socket_and_who_mounts_it() {
        let report = run_fixture("docker_socket_mount", "fail.yaml");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "DaemonSet/sysdig-agent"
        );
        assert_eq!(
            f.message,
            "hostPath volume \"docker-sock\" mounts the container runtime socket /var/run/docker.sock"
        );
        assert_eq!(
            f.evidence,
            vec!["mounted by container \"sysdig-agent\" at /host/var/run/docker.sock (read-write)"]
        );
        assert!(run_fixture("docker_socket_mount", "pass.yaml").passed);
    }
}
