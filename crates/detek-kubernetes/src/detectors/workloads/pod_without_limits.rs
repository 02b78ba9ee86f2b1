use super::{quantities, spec_containers};
use crate::prelude::*;

/// ## What it detects
/// Containers (init containers included) without a CPU limit or without a memory limit. The
/// finding says which limit is missing. Real Pods are checked when the scan has any, the pod
/// templates of workloads otherwise, so manifests get the same check. Set the setting
/// `check_cpu: false` to check memory limits only (some teams run without CPU limits on
/// purpose, to avoid CFS throttling).
///
/// ## Why it matters
/// A container without a memory limit can use all the memory of its node: the kernel OOM
/// killer then picks victims among every Pod on that node, not just the one that leaks.
/// Without a CPU limit one busy container can starve its neighbours. Pods without limits are
/// also the first evicted under node pressure when they have no requests either (BestEffort).
///
/// ## How to fix
/// Set `resources.limits.memory` (and `cpu` unless you deliberately run without CPU limits)
/// on every container, from observed usage: `kubectl top pod NAME -n NS --containers`.
/// `kubectl set resources deployment NAME -n NS --limits=cpu=500m,memory=256Mi` does it in
/// place. A `LimitRange` in the namespace can give defaults to containers that set none; in a
/// live scan those defaults already show in the Pods, in a manifest scan they do not.
///
/// ## Example
/// ```yaml
/// containers:
/// - name: web
///   resources:
///     requests: {cpu: 100m, memory: 128Mi}
///     limits: {memory: 256Mi}     # fires when check_cpu is on: no cpu limit
/// ```
#[detector(
    id = "pod_without_limits",
    title = "Containers without CPU or memory limits",
    labels = ["kubernetes", "workloads", "pod", "resources"],
    level = Warn,
    requires = [POD_SPECS],
    references = ["https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/"],
    settings = PodWithoutLimitsSettings,
)]
pub struct PodWithoutLimits;

/// Settings of `pod_without_limits`.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct PodWithoutLimitsSettings {
    /// Also report containers without a CPU limit (`false`: memory limits only).
    #[setting(default = true)]
    pub check_cpu: bool,
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let settings: PodWithoutLimitsSettings = ctx.settings_of()?;
    let check_cpu = settings.check_cpu;
    let specs = ctx.get(&POD_SPECS)?.views();
    let mut out = Outcome::new().evaluated(specs.len());
    for view in &specs {
        for (kind, c) in spec_containers(view.spec()) {
            let limits = c.resources.as_ref().and_then(|r| r.limits.as_ref());
            let has = |resource: &str| limits.is_some_and(|l| l.contains_key(resource));
            let mut missing = Vec::new();
            if check_cpu && !has("cpu") {
                missing.push("cpu");
            }
            if !has("memory") {
                missing.push("memory");
            }
            if missing.is_empty() {
                continue;
            }
            let mut finding = Finding::new(
                Level::Warn,
                Some(view.container_ref(&c.name)),
                format!("{} has no {} limit", kind.noun(), missing.join(" or ")),
            )
            .with_revision_of(view);
            if let Some(set) = limits.filter(|l| !l.is_empty()) {
                finding = finding.with_evidence(format!("limits: {}", quantities(set)));
            }
            out.push(finding);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::Input;
    use crate::testing::{fixture_dir, run_fixture, run_on};
    use detek_core::Settings;

    #[test]
    fn says_which_limit_is_missing() {
        let report = run_fixture("pod_without_limits", "fail.yaml");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "Deployment/frontend [php-redis]"
        );
        assert_eq!(f.message, "container has no cpu or memory limit");

        // The OOMKilled Job's Pod limits memory only.
        let report = run_fixture("pod_without_limits", "fail_cpu.json");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        let object = f.object.as_ref().unwrap();
        // Named by its controller: the spec to fix is the Job's.
        assert_eq!(object.kind, "Job");
        assert_eq!(object.namespace.as_deref(), Some("message-oomkill-pod"));
        assert_eq!(object.name, "oom-kill-job3");
        assert_eq!(object.container.as_deref(), Some("memory-eater"));
        assert_eq!(f.message, "container has no cpu limit");
        assert_eq!(f.evidence, vec!["limits: memory=100Mi"]);

        assert!(run_fixture("pod_without_limits", "pass.yaml").passed);
    }

    #[test]
    fn cpu_check_can_be_turned_off() {
        let mut settings = Settings::new();
        settings.set("pod_without_limits.check_cpu", false);
        let input = Input::Path(fixture_dir("pod_without_limits").join("fail_cpu.json"));
        assert!(run_on("pod_without_limits", vec![input], settings).passed);
    }
}
