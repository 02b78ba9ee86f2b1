use crate::detectors::helpers::ImageRef;
use crate::prelude::*;

/// ## What it detects
/// Containers (init containers included) whose image does not come from one of the registries
/// in the setting `allowed_registries`, a list of prefixes (the config file's top-level
/// `allowedRegistries` fills it). A prefix matches at a path boundary:
/// `ghcr.io/acme` allows `ghcr.io/acme/api:1.0` but not `ghcr.io/acmecorp/x`. Image names are
/// normalised as the container runtime does: a name without a registry host (`nginx:1.27`,
/// `grafana/grafana`) comes from Docker Hub, `docker.io/library/nginx` and
/// `docker.io/grafana/grafana`, so `docker.io` (or `docker.io/library`) allows them. When the
/// setting is absent or empty there is nothing to compare with: the detector passes and says
/// so in a note ("no allowed registries configured").
///
/// ## Why it matters
/// An image from an unexpected registry bypasses what your own registry gives you: vulnerability
/// scanning, signing, a pull-through cache that survives Docker Hub rate limits or an upstream
/// outage, and the guarantee that the image was built by your pipeline. A typo'd or
/// copy-pasted image name can also pull a look-alike image from a public registry.
///
/// ## How to fix
/// Mirror the image into an allowed registry and reference it there (`crane copy
/// docker.io/library/nginx:1.27 registry.example.com/mirror/nginx:1.27`), or, if the registry
/// is trusted, add it to `allowedRegistries` in `detek.yaml`. Enforce the rule at admission
/// with a policy (Gatekeeper `K8sAllowedRepos`, Kyverno `restrict-image-registries`).
///
/// ## Example
/// ```yaml
/// # detek.yaml
/// allowedRegistries: [registry.example.com, ghcr.io/acme]
/// ---
/// containers:
/// - name: web
///   image: registry.example.com/shop/web:2.1   # allowed
/// - name: proxy
///   image: nginx:1.27                          # fires: docker.io/library/nginx
/// ```
#[detector(
    id = "image_from_unknown_registry",
    title = "Containers pulling images from registries not allowed by the configuration",
    labels = ["kubernetes", "workloads", "image", "security"],
    level = Warn,
    requires = [POD_SPECS],
    references = [
        "https://kubernetes.io/docs/concepts/containers/images/#image-names",
        "https://open-policy-agent.github.io/gatekeeper-library/website/validation/allowedrepos/",
    ],
    settings = ImageFromUnknownRegistrySettings,
)]
pub struct ImageFromUnknownRegistry;

/// Settings of `image_from_unknown_registry`.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct ImageFromUnknownRegistrySettings {
    /// Registry prefixes images may come from (the config file's `allowedRegistries` fills it).
    pub allowed_registries: Vec<String>,
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let specs = ctx.get(&POD_SPECS)?.views();
    let settings: ImageFromUnknownRegistrySettings = ctx.settings_of()?;
    let allowed: Vec<String> = settings
        .allowed_registries
        .into_iter()
        .map(|p| p.trim().trim_end_matches('/').to_string())
        .filter(|p| !p.is_empty())
        .collect();
    if allowed.is_empty() {
        let mut out = Outcome::new()
            .evaluated(0)
            .not_judged("no allowed registries are configured (allowedRegistries in detek.yaml)");
        out.attach(
            "Not judged: no allowed registries configured",
            serde_json::json!({
                "setting": "image_from_unknown_registry.allowed_registries",
                "config_file_key": "allowedRegistries",
            }),
        );
        return Ok(out);
    }
    let mut out = Outcome::new().evaluated(specs.len());
    for view in &specs {
        for c in view.all_containers() {
            let Some(image) = c.image.as_deref() else {
                continue;
            };
            let Some(reference) = ImageRef::parse(image) else {
                continue;
            };
            if allowed.iter().any(|p| reference.allowed_by(image, p)) {
                continue;
            }
            out.push(
                Finding::new(
                    Level::Warn,
                    Some(view.container_ref(&c.name)),
                    format!(
                        "image {image:?} comes from {}, not an allowed registry",
                        reference.registry
                    ),
                )
                .with_revision_of(view)
                .with_evidence(format!("full name: {}", reference.name()))
                .with_evidence(format!("allowed: {}", allowed.join(", "))),
            );
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::Input;
    use crate::testing::{fixture_dir, run_on};
    use detek_core::{Report, Settings};

    /// Run on a fixture with the allowed registries of `settings.json`.
    fn run(file: &str) -> Report {
        let mut settings = Settings::new();
        settings.set(
            "image_from_unknown_registry.allowed_registries",
            serde_json::json!(["registry.k8s.io", "ghcr.io/acme"]),
        );
        let input = vec![Input::Path(
            fixture_dir("image_from_unknown_registry").join(file),
        )];
        run_on("image_from_unknown_registry", input, settings)
    }

    #[test]
    fn names_containers_outside_the_allowed_registries() {
        let report = run("fail.yaml");
        let names: Vec<_> = report
            .findings
            .iter()
            .map(|f| f.object.as_ref().unwrap().display_name())
            .collect();
        assert_eq!(
            names,
            vec![
                "Deployment/redis-replica [replica]",
                "Deployment/frontend [php-redis]"
            ]
        );
        let f = &report.findings[0];
        assert_eq!(
            f.message,
            "image \"gcr.io/google_samples/gb-redisslave:v1\" comes from gcr.io, not an allowed registry"
        );
        assert!(
            f.evidence
                .contains(&"allowed: registry.k8s.io, ghcr.io/acme".to_string())
        );
        assert!(run("pass.yaml").passed);
    }

    #[test]
    fn not_judged_when_nothing_is_configured() {
        let input = vec![Input::Path(
            fixture_dir("image_from_unknown_registry").join("fail.yaml"),
        )];
        let report = run_on("image_from_unknown_registry", input, Settings::new());
        assert_eq!(report.result, detek_core::ReportResult::NotJudged);
        assert_eq!(
            report.note.as_deref(),
            Some("no allowed registries are configured (allowedRegistries in detek.yaml)")
        );
        assert!(
            report
                .attachment
                .iter()
                .any(|a| a.description.contains("no allowed registries configured")),
            "{:?}",
            report.attachment
        );
        let mut gcr = Settings::new();
        gcr.set(
            "image_from_unknown_registry.allowed_registries",
            serde_json::json!([
                "registry.k8s.io",
                "gcr.io/google_samples",
                "gcr.io/google-samples/"
            ]),
        );
        let input = vec![Input::Path(
            fixture_dir("image_from_unknown_registry").join("fail.yaml"),
        )];
        assert!(run_on("image_from_unknown_registry", input, gcr).passed);
    }
}
