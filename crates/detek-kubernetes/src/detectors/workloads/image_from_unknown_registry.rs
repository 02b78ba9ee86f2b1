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
    requires = [PODS, WORKLOAD_TEMPLATES],
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
    let specs = pod_specs(ctx.get(&PODS)?, ctx.get(&WORKLOAD_TEMPLATES)?);
    let settings: ImageFromUnknownRegistrySettings = ctx.settings_of()?;
    let allowed: Vec<String> = settings
        .allowed_registries
        .into_iter()
        .map(|p| p.trim().trim_end_matches('/').to_string())
        .filter(|p| !p.is_empty())
        .collect();
    if allowed.is_empty() {
        let mut out = Outcome::new().evaluated(0);
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
                .with_evidence(format!("full name: {}", reference.name()))
                .with_evidence(format!("allowed: {}", allowed.join(", "))),
            );
        }
    }
    Ok(out)
}

/// A container image reference, normalised as the container runtime reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ImageRef {
    /// `docker.io`, `registry.k8s.io`, `localhost:5000`.
    pub registry: String,
    /// `library/nginx`, `ingress-nginx/controller`.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parse `nginx`, `nginx:1.27`, `registry:5000/team/app:1.0@sha256:...`; `None` for values
    /// that are not image references (templating left in a manifest: `{{ .Values.image }}`,
    /// `$(IMAGE)`, empty).
    pub fn parse(image: &str) -> Option<ImageRef> {
        let image = image.trim();
        if image.is_empty() || image.contains(|c: char| c.is_whitespace() || "{}$<>\"'".contains(c))
        {
            return None;
        }
        let (rest, digest) = match image.split_once('@') {
            Some((r, d)) => (r, Some(d.to_string())),
            None => (image, None),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (
                &rest[..last_slash + i],
                Some(rest[last_slash + i + 1..].to_string()),
            ),
            None => (rest, None),
        };
        let (registry, repository) = match name.split_once('/') {
            Some((first, path)) if first.contains(['.', ':']) || first == "localhost" => {
                (first.to_string(), path.to_string())
            }
            Some(_) => ("docker.io".to_string(), name.to_string()),
            None => ("docker.io".to_string(), format!("library/{name}")),
        };
        if repository.is_empty() || name.ends_with('/') {
            return None;
        }
        let registry = match registry.as_str() {
            "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
                "docker.io".to_string()
            }
            _ => registry,
        };
        Some(ImageRef {
            registry,
            repository: repository.to_ascii_lowercase(),
            tag,
            digest,
        })
    }

    /// `docker.io/library/nginx`: registry and repository, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// Does the prefix `prefix` (no trailing `/`) allow this image, written as `raw`? The
    /// prefix is compared at a path boundary with the normalised name and with the name as
    /// written.
    pub fn allowed_by(&self, raw: &str, prefix: &str) -> bool {
        let raw_name = raw.split(['@']).next().unwrap_or(raw);
        let raw_name = match raw_name.rfind(':') {
            Some(i) if !raw_name[i..].contains('/') => &raw_name[..i],
            _ => raw_name,
        };
        [self.name().as_str(), raw_name]
            .iter()
            .any(|n| has_path_prefix(n, prefix))
    }
}

/// `a/b/c` has the path prefixes `a`, `a/b` and `a/b/c`.
pub(crate) fn has_path_prefix(name: &str, prefix: &str) -> bool {
    name == prefix
        || name
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::ImageRef;
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
    fn normalises_image_names() {
        let r = ImageRef::parse("nginx:1.27").unwrap();
        assert_eq!(r.name(), "docker.io/library/nginx");
        assert_eq!(r.tag.as_deref(), Some("1.27"));
        let r = ImageRef::parse("grafana/grafana").unwrap();
        assert_eq!(r.name(), "docker.io/grafana/grafana");
        assert_eq!(r.tag, None);
        let r = ImageRef::parse("localhost:5000/app:1@sha256:abc").unwrap();
        assert_eq!(r.name(), "localhost:5000/app");
        assert_eq!(r.digest.as_deref(), Some("sha256:abc"));
        let r =
            ImageRef::parse("registry.k8s.io/ingress-nginx/controller:v1.12.1@sha256:d2f").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.tag.as_deref()),
            ("registry.k8s.io", Some("v1.12.1"))
        );
        assert_eq!(ImageRef::parse("{{ .Values.image }}"), None);
        assert!(r.allowed_by(
            "registry.k8s.io/ingress-nginx/controller:v1.12.1",
            "registry.k8s.io"
        ));
        let acme = ImageRef::parse("ghcr.io/acmecorp/x:1").unwrap();
        assert!(!acme.allowed_by("ghcr.io/acmecorp/x:1", "ghcr.io/acme"));
        let nginx = ImageRef::parse("nginx").unwrap();
        assert!(nginx.allowed_by("nginx", "docker.io/library"));
        assert!(nginx.allowed_by("nginx", "nginx"));
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
    fn passes_with_a_note_when_nothing_is_configured() {
        let input = vec![Input::Path(
            fixture_dir("image_from_unknown_registry").join("fail.yaml"),
        )];
        let report = run_on("image_from_unknown_registry", input, Settings::new());
        assert!(report.passed);
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
