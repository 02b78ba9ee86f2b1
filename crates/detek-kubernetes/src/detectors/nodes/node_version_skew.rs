use crate::prelude::*;
use crate::version;

/// ## What it detects
/// Nodes whose kubelet (`status.nodeInfo.kubeletVersion`) is more minor versions behind the API
/// server than the Kubernetes version skew policy allows — 3 since Kubernetes 1.28, 2 before —
/// or newer than the API server (never supported). The API server's version is the live
/// cluster's `/version`; for a dump it is the newest kubelet among the nodes, so the check then
/// compares nodes with each other. The allowed skew can be set with the setting
/// `max_minor_skew`.
///
/// ## Why it matters
/// The control plane only promises to work with kubelets inside the skew window. Beyond it,
/// API fields the kubelet does not know are silently dropped, features behave differently per
/// node, and the next control-plane upgrade will leave the node outside every supported
/// combination — a node forgotten by the upgrade automation (a separate node pool, a pet
/// machine) that fails in odd ways months later.
///
/// ## How to fix
/// `kubectl get nodes` shows each kubelet's VERSION. Upgrade the lagging nodes one minor
/// version at a time (kubeadm: `kubeadm upgrade node`, then the kubelet package; managed
/// clusters: upgrade the node pool), or replace them with nodes of the current version. A
/// kubelet newer than the API server must be downgraded or the control plane upgraded first.
///
/// ## Example
/// ```yaml
/// kind: Node
/// metadata: {name: repldev-marc}
/// status:
///   nodeInfo: {kubeletVersion: v1.16.2}   # fires: the API server is v1.19.3 (skew 3 > 2)
/// ```
#[detector(
    id = "node_version_skew",
    title = "Kubelets outside the supported version skew",
    labels = ["kubernetes", "nodes", "upgrade"],
    level = Warn,
    requires = [NODES, CLUSTER_INFO],
    references = ["https://kubernetes.io/releases/version-skew-policy/#kubelet"],
    settings = NodeVersionSkewSettings,
)]
pub struct NodeVersionSkew;

/// Settings of `node_version_skew`.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct NodeVersionSkewSettings {
    /// Minor versions a kubelet may lag behind the API server (unset: 3 from 1.28, 2 before).
    pub max_minor_skew: Option<u64>,
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let settings: NodeVersionSkewSettings = ctx.settings_of()?;
    let nodes = ctx.get(&NODES)?;
    let info = ctx.get(&CLUSTER_INFO)?;
    let Some(server) = info.server_version.as_deref() else {
        let mut out = Outcome::new().evaluated(0).not_judged(
            "the API server's version is unknown (no live cluster, no node with a kubelet version)",
        );
        out.attach(
            "Not judged: the API server's version is unknown (no live cluster, no node with a kubelet version)",
            serde_json::json!({"nodes": nodes.len()}),
        );
        return Ok(out);
    };
    let Some((s_major, s_minor, _)) = version::parse(server) else {
        return Err(DetectError::new(format!(
            "cannot read the server version {server:?}"
        )));
    };
    let default_skew: u64 = if (s_major, s_minor) >= (1, 28) { 3 } else { 2 };
    let allowed: u64 = settings.max_minor_skew.unwrap_or(default_skew);
    let reference = if info.live {
        format!("the API server (v{})", server.trim_start_matches('v'))
    } else {
        format!("the newest node (v{})", server.trim_start_matches('v'))
    };
    let mut out = Outcome::new().evaluated(nodes.len());
    for node in nodes {
        let Some(kubelet) = node
            .status
            .as_ref()
            .and_then(|s| s.node_info.as_ref())
            .map(|i| i.kubelet_version.as_str())
            .filter(|v| !v.is_empty())
        else {
            continue;
        };
        let Some((k_major, k_minor, _)) = version::parse(kubelet) else {
            continue;
        };
        let message = if k_major != s_major {
            format!("kubelet {kubelet} is of another major version than {reference}")
        } else if k_minor > s_minor {
            format!(
                "kubelet {kubelet} is newer than {reference}: a kubelet may never be newer than the API server"
            )
        } else if s_minor - k_minor > allowed {
            format!(
                "kubelet {kubelet} is {} minor versions behind {reference}; at most {allowed} are supported",
                s_minor - k_minor
            )
        } else {
            continue;
        };
        out.push(
            Finding::new(Level::Warn, Some(node.object_ref()), message).with_evidence(format!(
                "allowed skew: {allowed} minor versions (node_version_skew.max_minor_skew)"
            )),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::Input;
    use crate::testing::{fixture_dir, run_fixture, run_on};
    use detek_core::Settings;

    #[test]
    fn names_the_lagging_node() {
        let report = run_fixture("node_version_skew", "fail.json");
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "Node/repldev-marc"
        );
        assert_eq!(
            f.message,
            "kubelet v1.16.2 is 3 minor versions behind the newest node (v1.19.3); at most 2 are supported"
        );
        assert!(run_fixture("node_version_skew", "pass.json").passed);
        let mut settings = Settings::new();
        settings.set("node_version_skew.max_minor_skew", 3);
        let input = vec![Input::Path(
            fixture_dir("node_version_skew").join("fail.json"),
        )];
        assert!(run_on("node_version_skew", input, settings).passed);
    }
}
