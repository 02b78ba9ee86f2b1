use super::{checked_container_specs, containers};
use crate::prelude::*;

/// ## What it detects
/// Container ports with a `hostPort`: the port is opened on the node's own address and
/// forwarded to the container. Pods with `hostNetwork: true` are left to `host_namespace`
/// (the API server fills in `hostPort` for each of their ports, and the whole network
/// namespace is shared anyway). Real Pods are checked when the scan has any, workload
/// templates otherwise.
/// Static Pods of the control plane (mirror Pods) are skipped: files on the node define them.
///
/// ## Why it matters
/// A hostPort bypasses the Service and, with most CNI plugins, NetworkPolicies: whatever can
/// reach the node reaches the container. Only one Pod per node can hold a given hostPort, so
/// replicas beyond the node count stay Pending and rolling updates stall when `maxSurge`
/// needs a second Pod on the same node. Ingress controllers and node agents use it on
/// purpose; applications usually copied it from an example.
///
/// ## How to fix
/// Remove `hostPort` and reach the Pods through a Service (`ClusterIP`, `NodePort` or
/// `LoadBalancer`). Find them with
/// `kubectl get pods -A -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name}: {.spec.containers[*].ports[*].hostPort}{"\n"}{end}' | grep -v ': $'`.
/// Where it is intended, bind it to one address with `hostIP` and suppress with
/// `detek.io/ignore: host_port`.
///
/// ## Example
/// ```yaml
/// ports:
/// - containerPort: 80
///   hostPort: 80        # fires
/// ```
#[detector(
    id = "host_port",
    title = "Containers binding a port of the node (hostPort)",
    labels = ["kubernetes", "security", "pod", "networking"],
    level = Warn,
    requires = [POD_SPECS],
    references = [
        "https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",
        "https://kubernetes.io/docs/concepts/configuration/overview/#services",
    ],
)]
pub struct HostPort;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let specs = checked_container_specs(ctx.get(&POD_SPECS)?);
    let mut out = Outcome::new().evaluated(specs.len());
    for view in &specs {
        if view.spec().host_network == Some(true) {
            continue;
        }
        for c in containers(view) {
            for port in c.ports {
                let Some(host_port) = port.host_port.filter(|p| *p != 0) else {
                    continue;
                };
                let protocol = port.protocol.as_deref().unwrap_or("TCP");
                let name = port
                    .name
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default();
                let on = match port
                    .host_ip
                    .as_deref()
                    .filter(|ip| !ip.is_empty() && *ip != "0.0.0.0")
                {
                    Some(ip) => format!("hostPort {host_port} on {ip}"),
                    None => format!("hostPort {host_port} on every address of the node"),
                };
                out.push(
                    Finding::new(
                        Level::Warn,
                        Some(view.container_ref(c.name)),
                        format!(
                            "{}: port {}/{protocol}{name} is bound to {on}",
                            c.label(),
                            port.container_port
                        ),
                    )
                    .with_revision_of(view),
                );
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::{finding_pairs, run_fixture};

    #[test]
    fn names_the_port_and_host_port() {
        let report = run_fixture("host_port", "fail.yaml");
        let got = finding_pairs(&report);
        assert_eq!(
            got,
            vec![
                (
                    "Deployment/ingress-nginx/ingress-nginx-controller [controller]".to_string(),
                    "container \"controller\": port 80/TCP (http) is bound to hostPort 80 on every address of the node"
                ),
                (
                    "Deployment/ingress-nginx/ingress-nginx-controller [controller]".to_string(),
                    "container \"controller\": port 443/TCP (https) is bound to hostPort 443 on every address of the node"
                ),
            ]
        );
        assert!(run_fixture("host_port", "pass.yaml").passed);
    }
}
