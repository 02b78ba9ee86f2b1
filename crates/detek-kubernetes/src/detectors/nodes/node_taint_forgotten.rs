use super::duration_since;
use crate::prelude::*;
use k8s_openapi::api::core::v1::{Taint, Toleration};

/// ## What it detects
/// Node taints with effect `NoSchedule` or `NoExecute` that are not one of the well-known
/// system taints and that no Pod (or pod template) in the scan tolerates by name — typically a
/// taint put on for maintenance (`kubectl taint node n1 maintenance=true:NoSchedule`) and
/// never removed. Tolerations of everything (`operator: Exists` without a key, as DaemonSets
/// carry) do not count as tolerating it. The finding says since when the taint is there when
/// the API recorded it (`timeAdded`, set for `NoExecute` taints). Not judged when the scan has
/// no Pods or templates.
///
/// Well-known taints, never reported: `node.kubernetes.io/*` (not-ready, unreachable,
/// pressure, unschedulable, out-of-service...), `node-role.kubernetes.io/control-plane` and
/// `.../master`, `node.cloudprovider.kubernetes.io/*`, `ToBeDeletedByClusterAutoscaler`,
/// `DeletionCandidateOfClusterAutoscaler`, `karpenter.sh/*`, `node.cilium.io/agent-not-ready`.
/// More keys (or prefixes ending in `/`) can be listed in the setting `ignore_keys`.
///
/// ## Why it matters
/// A forgotten taint silently removes the node from the cluster's capacity: only DaemonSets
/// run there, new Pods stay Pending elsewhere (`node(s) had untolerated taint`) or pack onto
/// the remaining nodes, and the cluster autoscaler may add nodes while this one idles — paying
/// for a machine that does nothing. A forgotten `NoExecute` taint also evicted everything that
/// was running there.
///
/// ## How to fix
/// Check the taints: `kubectl get nodes -o custom-columns=NAME:.metadata.name,TAINTS:.spec.taints`.
/// If the maintenance is over, remove it (note the trailing `-`): `kubectl taint node NODE
/// KEY:EFFECT-`. If the taint is meant to dedicate the node (GPUs, a tenant), give the intended
/// workloads a matching toleration, or list the key in the setting `ignore_keys`
/// (`detectors: {node_taint_forgotten: {ignore_keys: [dedicated]}}` in `detek.yaml`).
///
/// ## Example
/// ```yaml
/// kind: Node
/// metadata: {name: kind-worker}
/// spec:
///   taints:
///   - {key: maintenance, value: kernel-upgrade, effect: NoSchedule}   # fires: nothing tolerates it
/// ```
#[detector(
    id = "node_taint_forgotten",
    title = "Nodes with a custom taint that no Pod tolerates",
    labels = ["kubernetes", "nodes", "scheduling"],
    level = Warn,
    requires = [NODES, POD_SPECS],
    references = [
        "https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/",
        "https://kubernetes.io/docs/reference/labels-annotations-taints/",
    ],
    settings = NodeTaintForgottenSettings,
)]
pub struct NodeTaintForgotten;

/// Settings of `node_taint_forgotten`.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct NodeTaintForgottenSettings {
    /// More taint keys to leave alone (a key ending in `/` is a prefix).
    pub ignore_keys: Vec<String>,
}

/// Taints set by Kubernetes and common controllers. A trailing `/` matches a prefix.
const WELL_KNOWN: &[&str] = &[
    "node.kubernetes.io/",
    "node-role.kubernetes.io/control-plane",
    "node-role.kubernetes.io/master",
    "node.cloudprovider.kubernetes.io/",
    "ToBeDeletedByClusterAutoscaler",
    "DeletionCandidateOfClusterAutoscaler",
    "karpenter.sh/",
    "node.cilium.io/agent-not-ready",
];

fn key_matches(patterns: &[String], key: &str) -> bool {
    patterns.iter().any(|p| {
        if p.ends_with('/') {
            key.starts_with(p.as_str())
        } else {
            key == p
        }
    })
}

/// Does this toleration name this taint (not a tolerate-everything toleration)?
fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    let Some(key) = t.key.as_deref().filter(|k| !k.is_empty()) else {
        return false;
    };
    if key != taint.key {
        return false;
    }
    if let Some(effect) = t.effect.as_deref().filter(|e| !e.is_empty())
        && effect != taint.effect
    {
        return false;
    }
    match t.operator.as_deref().unwrap_or("Equal") {
        "Exists" => true,
        _ => t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
    }
}

/// `maintenance=kernel-upgrade:NoSchedule`
fn show(t: &Taint) -> String {
    match t.value.as_deref().filter(|v| !v.is_empty()) {
        Some(v) => format!("{}={v}:{}", t.key, t.effect),
        None => format!("{}:{}", t.key, t.effect),
    }
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let nodes = ctx.get(&NODES)?;
    let specs = ctx.get(&POD_SPECS)?.views();
    if specs.is_empty() && !nodes.is_empty() {
        let mut out = Outcome::new()
            .evaluated(0)
            .not_judged("the scan has no Pods or pod templates to tolerate taints");
        out.attach(
            "Not judged: the scan has no Pods or pod templates to tolerate taints",
            serde_json::json!({"nodes": nodes.len()}),
        );
        return Ok(out);
    }
    let settings: NodeTaintForgottenSettings = ctx.settings_of()?;
    let mut ignore: Vec<String> = WELL_KNOWN.iter().map(|s| s.to_string()).collect();
    ignore.extend(settings.ignore_keys);
    let tolerations: Vec<&Toleration> = specs
        .iter()
        .flat_map(|v| v.spec().tolerations.iter().flatten())
        .collect();
    let mut out = Outcome::new().evaluated(nodes.len());
    for node in nodes {
        let taints = node.spec.as_ref().and_then(|s| s.taints.as_ref());
        for taint in taints.into_iter().flatten() {
            if !matches!(taint.effect.as_str(), "NoSchedule" | "NoExecute")
                || key_matches(&ignore, &taint.key)
                || tolerations.iter().any(|t| tolerates(t, taint))
            {
                continue;
            }
            let mut message = format!(
                "taint {} is not a system taint and no Pod tolerates it",
                show(taint)
            );
            if let Some(added) = &taint.time_added {
                message.push_str(&format!(", since {}", added.0));
                if let Some(age) = duration_since(&added.0, ctx.now) {
                    message.push_str(&format!(" ({age})"));
                }
            }
            message.push_str(
                ": forgotten after maintenance? Only Pods tolerating every taint run here",
            );
            out.push(
                Finding::new(Level::Warn, Some(node.object_ref()), message).with_evidence(format!(
                    "remove with: kubectl taint node {} {}:{}-",
                    node.name(),
                    taint.key,
                    taint.effect
                )),
            );
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::Input;
    use crate::testing::{finding_lines, fixture_dir, run_fixture_at, run_on_at};
    use detek_core::Settings;
    use std::time::{Duration, UNIX_EPOCH};

    /// 2022-01-27T15:00:00Z, minutes after the sonobuoy dump.
    fn now() -> std::time::SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_643_295_600)
    }

    #[test]
    fn names_the_node_the_taint_and_since_when() {
        let report = run_fixture_at("node_taint_forgotten", "fail.json", now());
        let messages: Vec<_> = finding_lines(&report);
        assert_eq!(
            messages,
            vec![
                "Node/kind-worker: taint maintenance=kernel-upgrade:NoSchedule is not a system taint and no Pod tolerates it: \
                 forgotten after maintenance? Only Pods tolerating every taint run here",
                "Node/kind-worker2: taint example.com/drain:NoExecute is not a system taint and no Pod tolerates it, since \
                 2022-01-20T09:00:00Z (7d 6h): forgotten after maintenance? Only Pods tolerating every taint run here",
            ]
        );
        assert_eq!(
            report.findings[0].evidence,
            vec!["remove with: kubectl taint node kind-worker maintenance:NoSchedule-"]
        );
    }

    #[test]
    fn system_tolerated_and_ignored_taints_pass() {
        assert!(run_fixture_at("node_taint_forgotten", "pass.json", now()).passed);
        let mut settings = Settings::new();
        settings.set(
            "node_taint_forgotten.ignore_keys",
            serde_json::json!(["maintenance", "example.com/"]),
        );
        let input = vec![Input::Path(
            fixture_dir("node_taint_forgotten").join("fail.json"),
        )];
        assert!(run_on_at("node_taint_forgotten", input, settings, now()).passed);
    }
}
