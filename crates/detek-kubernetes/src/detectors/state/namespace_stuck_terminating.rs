use super::{human_duration, seconds_since};
use crate::prelude::*;

/// ## What it detects
/// Namespaces in phase `Terminating` that do not go away: either a deletion condition reports
/// a failure (`NamespaceDeletionDiscoveryFailure`, `NamespaceDeletionContentFailure`,
/// `NamespaceDeletionGroupVersionParsingFailure` with status `True`), or the deletion started
/// more than `grace_minutes` (a setting, default 10) before the scan. Every
/// `True` condition (also `NamespaceContentRemaining`, `NamespaceFinalizersRemaining`) is in
/// the evidence, with its message. For a dump, "before the scan" means before the newest time
/// written in its Namespaces, so a Namespace deleted seconds before the dump was taken is not
/// reported years later.
///
/// ## Why it matters
/// A Namespace stuck in Terminating cannot be recreated (CI environments, preview apps,
/// re-installs fail with `object is being deleted`), and what is left in it keeps running or
/// holding volumes and load balancers. The usual causes: an aggregated API (`APIService`, e.g.
/// `metrics.k8s.io`) that is unavailable so discovery fails, or objects with finalizers whose
/// controller was uninstalled first.
///
/// ## How to fix
/// Read the conditions: `kubectl get ns NAME -o yaml`. For discovery failures, fix or delete
/// the broken APIService (`kubectl get apiservice | grep False`). For remaining content, list
/// it (`kubectl api-resources --verbs=list --namespaced -o name | xargs -n1 kubectl get -n
/// NAME --ignore-not-found`) and remove the finalizers only once you know their controller is
/// gone for good.
///
/// ## Example
/// ```yaml
/// kind: Namespace
/// metadata: {name: preview-42, deletionTimestamp: "2024-05-02T10:00:00Z"}
/// status:
///   phase: Terminating
///   conditions:
///   - type: NamespaceDeletionDiscoveryFailure
///     status: "True"
///     message: 'Discovery failed for some groups, 1 failing: unable to retrieve the complete
///       list of server APIs: metrics.k8s.io/v1beta1: the server is currently unable to handle
///       the request'
/// ```
#[detector(
    id = "namespace_stuck_terminating",
    title = "Namespaces stuck in Terminating",
    labels = ["kubernetes", "state", "cluster"],
    level = Error,
    requires = [NAMESPACES, CLUSTER_INFO],
    references = ["https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/"],
    settings = NamespaceStuckTerminatingSettings,
)]
pub struct NamespaceStuckTerminating;

/// Settings of `namespace_stuck_terminating`.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct NamespaceStuckTerminatingSettings {
    /// Minutes a Namespace may take to terminate when no deletion condition reports a failure.
    #[setting(default = 10)]
    pub grace_minutes: i64,
}

const FAILURES: [&str; 3] = [
    "NamespaceDeletionDiscoveryFailure",
    "NamespaceDeletionContentFailure",
    "NamespaceDeletionGroupVersionParsingFailure",
];

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let namespaces = ctx.get(&NAMESPACES)?;
    let settings: NamespaceStuckTerminatingSettings = ctx.settings_of()?;
    let grace_minutes = settings.grace_minutes;
    // One clock for the scan: a dump is judged as of the newest time it holds.
    let now = ctx.now;
    let mut out = Outcome::new().evaluated(namespaces.len());
    for ns in namespaces {
        let Some(status) = &ns.status else { continue };
        if status.phase.as_deref() != Some("Terminating") {
            continue;
        }
        let conditions: Vec<_> = status
            .conditions
            .iter()
            .flatten()
            .filter(|c| c.status == "True")
            .collect();
        let failing: Vec<&str> = conditions
            .iter()
            .filter(|c| FAILURES.contains(&c.type_.as_str()))
            .map(|c| c.type_.as_str())
            .collect();
        let age = ns
            .metadata
            .deletion_timestamp
            .as_ref()
            .map(|t| seconds_since(now, &t.0));
        if failing.is_empty() && age.is_some_and(|a| a <= grace_minutes * 60) {
            continue;
        }
        let since = age
            .map(|a| format!(" for {}", human_duration(a)))
            .unwrap_or_default();
        let why = if failing.is_empty() {
            String::new()
        } else {
            format!(": {}", failing.join(", "))
        };
        let mut f = Finding::new(
            Level::Error,
            Some(ns.object_ref()),
            format!("Namespace Terminating{since}{why}"),
        );
        for c in &conditions {
            f = f.with_evidence(format!(
                "{} ({}): {}",
                c.type_,
                c.reason.as_deref().unwrap_or(""),
                c.message.as_deref().unwrap_or("")
            ));
        }
        if let Some(finalizers) = ns
            .spec
            .as_ref()
            .and_then(|s| s.finalizers.as_ref())
            .filter(|f| !f.is_empty())
        {
            f = f.with_evidence(format!("finalizers: {}", finalizers.join(", ")));
        }
        out.push(f);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture;

    #[test]
    fn names_the_namespace_and_the_failing_condition() {
        let report = run_fixture("namespace_stuck_terminating", "fail.yaml");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "Namespace/preview-42"
        );
        assert_eq!(
            f.message,
            "Namespace Terminating for 2h0m: NamespaceDeletionDiscoveryFailure"
        );
        assert!(
            f.evidence[0].starts_with(
                "NamespaceDeletionDiscoveryFailure (DiscoveryFailed): Discovery failed"
            )
        );
    }

    #[test]
    fn a_namespace_deleted_just_before_the_dump_passes() {
        // sonobuoy's e2e dump: crd-publish-openapi-8311 was deleted 6 s after its creation,
        // moments before the dump was taken.
        assert!(run_fixture("namespace_stuck_terminating", "pass.json").passed);
    }
}
