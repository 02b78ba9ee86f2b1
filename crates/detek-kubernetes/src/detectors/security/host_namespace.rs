use super::checked_pod_specs;
use crate::prelude::*;

/// ## What it detects
/// Pods and workload templates that share a namespace of the node: `hostNetwork: true` (the
/// node's network stack), `hostPID: true` (every process of the node) or `hostIPC: true` (its
/// shared memory). One finding per pod spec names every namespace it shares. Real Pods are
/// checked when the scan has any, the pod templates of workloads otherwise.
/// Static Pods of the control plane (mirror Pods) are skipped: files on the node define them.
///
/// ## Why it matters
/// With `hostPID` a container sees, signals and (as root) `ptrace`s every process of the node,
/// and reads their environment and `/proc/<pid>/root`: other Pods' secrets. With `hostNetwork`
/// it binds the node's ports, reaches services listening on localhost (kubelet read-only port,
/// metadata endpoints), sniffs traffic with `NET_RAW`, and bypasses NetworkPolicies. With
/// `hostIPC` it reads other processes' shared memory. Node agents (CNI, kube-proxy,
/// node-exporter) need some of these; applications do not.
///
/// ## How to fix
/// Find them with `kubectl get pods -A -o jsonpath='{range .items[?(@.spec.hostNetwork==true)]}{.metadata.namespace}/{.metadata.name}{"\n"}{end}'`
/// (same with `hostPID`, `hostIPC`). Remove the field and expose the workload through a
/// Service (and a `hostPort` or NodePort only if it must be reached on the node's address).
/// For node agents, keep only the namespace they need and suppress with
/// `detek.io/ignore: host_namespace`.
///
/// ## Example
/// ```yaml
/// spec:
///   hostNetwork: true   # fires
///   hostPID: true       # fires (same finding)
///   containers: [...]
/// ```
#[detector(
    id = "host_namespace",
    title = "Pods sharing the node's network, PID or IPC namespace",
    labels = ["kubernetes", "security", "pod"],
    level = Warn,
    requires = [POD_SPECS],
    references = ["https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline"],
)]
pub struct HostNamespace;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let specs = checked_pod_specs(ctx.get(&POD_SPECS)?);
    let mut out = Outcome::new().evaluated(specs.len());
    for view in &specs {
        let spec = view.spec();
        let shared: Vec<(&str, &str)> = [
            (spec.host_network, "network", "hostNetwork"),
            (spec.host_pid, "PID", "hostPID"),
            (spec.host_ipc, "IPC", "hostIPC"),
        ]
        .into_iter()
        .filter(|(on, _, _)| *on == Some(true))
        .map(|(_, what, field)| (what, field))
        .collect();
        if shared.is_empty() {
            continue;
        }
        let whats: Vec<&str> = shared.iter().map(|(w, _)| *w).collect();
        let fields: Vec<String> = shared.iter().map(|(_, f)| format!("{f}: true")).collect();
        let noun = if shared.len() == 1 {
            "namespace"
        } else {
            "namespaces"
        };
        out.push(
            Finding::new(
                Level::Warn,
                Some(view.object_ref()),
                format!(
                    "shares the node's {} {noun} ({})",
                    join_and(&whats),
                    fields.join(", ")
                ),
            )
            .with_revision_of(view),
        );
    }
    Ok(out)
}

/// `a`, `a and b`, `a, b and c`.
fn join_and(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture;

    #[test]
    fn names_every_shared_namespace() {
        let report = run_fixture("host_namespace", "fail.yaml");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "DaemonSet/monitoring/node-exporter"
        );
        assert_eq!(
            f.message,
            "shares the node's network and PID namespaces (hostNetwork: true, hostPID: true)"
        );
        assert!(run_fixture("host_namespace", "pass.yaml").passed);
    }
}
