use crate::detectors::helpers::{ImageRef, has_path_prefix};
use crate::prelude::*;

/// ## What it detects
/// Containers (init containers included) whose image comes from a retired or frozen registry:
/// `k8s.gcr.io`, frozen by the Kubernetes project on 2023-04-03 and replaced by
/// `registry.k8s.io`, and the Google Container Registry repositories that stood behind it
/// (`gcr.io/google_containers`, `gcr.io/google-containers`, `{us,eu,asia}.gcr.io/k8s-artifacts-prod`).
/// More prefixes can be added with the setting `registries`, a list of prefixes or of
/// `{prefix, replacement, note}` objects.
///
/// ## Why it matters
/// A frozen registry gets no new images: no security patches, no new versions, and the project
/// has announced that it will be phased out entirely, at which point every Pod start on a new
/// node fails with `ImagePullBackOff`. Since 2023-03-20 `k8s.gcr.io` answers with redirects to
/// `registry.k8s.io`, so clusters behind an egress allow-list of `k8s.gcr.io` already fail.
///
/// ## How to fix
/// Replace the registry by its successor (`k8s.gcr.io/coredns:1.3.1` →
/// `registry.k8s.io/coredns:1.3.1`, then upgrade to a supported version; most images kept their
/// path). Find every user with `kubectl get pods -A -o
/// jsonpath='{..image}' | tr ' ' '\n' | sort -u | grep k8s.gcr.io`. Update the allow-lists of
/// egress proxies and mirrors to `registry.k8s.io`.
///
/// ## Example
/// ```yaml
/// containers:
/// - name: prometheus-to-sd-exporter
///   image: k8s.gcr.io/prometheus-to-sd:v0.3.1   # fires: use registry.k8s.io
/// ```
#[detector(
    id = "deprecated_image_registry",
    title = "Containers pulling images from a frozen or retired registry",
    labels = ["kubernetes", "workloads", "image"],
    level = Warn,
    requires = [POD_SPECS],
    references = [
        "https://kubernetes.io/blog/2023/02/06/k8s-gcr-io-freeze-announcement/",
        "https://kubernetes.io/blog/2023/03/10/image-registry-redirect/",
    ],
    settings = DeprecatedImageRegistrySettings,
)]
pub struct DeprecatedImageRegistry;

/// Settings of `deprecated_image_registry`.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct DeprecatedImageRegistrySettings {
    /// More retired registries: a list of prefixes or of `{prefix, replacement, note}` objects.
    pub registries: ExtraRegistries,
}

/// The setting `registries`: more retired registries, bare prefixes or objects.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExtraRegistries(Vec<Entry>);

impl detek_core::SettingValue for ExtraRegistries {
    const TYPE: detek_core::SettingType = detek_core::SettingType::Any;
}

/// One retired registry (or repository prefix).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Retired {
    prefix: String,
    #[serde(default)]
    replacement: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

/// A setting entry: a bare prefix or an object.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(
    untagged,
    expecting = "a registry prefix or {prefix, replacement, note} (setting registries)"
)]
enum Entry {
    Prefix(String),
    Full(Retired),
}

const K8S_FROZEN: &str = "frozen since 2023-04-03 (k8s.gcr.io freeze): no new images or patches";

/// The built-in table.
fn builtin() -> Vec<Retired> {
    let frozen = |prefix: &str| Retired {
        prefix: prefix.to_string(),
        replacement: Some("registry.k8s.io".to_string()),
        note: Some(K8S_FROZEN.to_string()),
    };
    vec![
        frozen("k8s.gcr.io"),
        frozen("gcr.io/google_containers"),
        frozen("gcr.io/google-containers"),
        frozen("us.gcr.io/k8s-artifacts-prod"),
        frozen("eu.gcr.io/k8s-artifacts-prod"),
        frozen("asia.gcr.io/k8s-artifacts-prod"),
    ]
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let specs = ctx.get(&POD_SPECS)?.views();
    let settings: DeprecatedImageRegistrySettings = ctx.settings_of()?;
    let mut table = builtin();
    table.extend(settings.registries.0.into_iter().map(|e| match e {
        Entry::Prefix(prefix) => Retired {
            prefix,
            replacement: None,
            note: None,
        },
        Entry::Full(r) => r,
    }));
    for r in &mut table {
        r.prefix = r.prefix.trim().trim_end_matches('/').to_string();
    }
    table.retain(|r| !r.prefix.is_empty());
    let mut out = Outcome::new().evaluated(specs.len());
    for view in &specs {
        for c in view.all_containers() {
            let Some(image) = c.image.as_deref() else {
                continue;
            };
            let Some(reference) = ImageRef::parse(image) else {
                continue;
            };
            let name = reference.name();
            let Some(retired) = table
                .iter()
                .find(|r| has_path_prefix(&name, &r.prefix) || has_path_prefix(image, &r.prefix))
            else {
                continue;
            };
            let mut message = format!("image {image:?} comes from {}", retired.prefix);
            match &retired.note {
                Some(note) => message.push_str(&format!(", {note}")),
                None => message.push_str(", a retired registry"),
            }
            let mut finding = Finding::new(Level::Warn, Some(view.container_ref(&c.name)), message)
                .with_revision_of(view);
            if let Some(replacement) = &retired.replacement {
                let rest = name
                    .strip_prefix(&retired.prefix)
                    .unwrap_or("")
                    .trim_start_matches('/');
                let tag = reference
                    .tag
                    .as_deref()
                    .map(|t| format!(":{t}"))
                    .unwrap_or_default();
                finding = finding.with_evidence(format!(
                    "use {replacement}/{rest}{tag} (check that the tag exists there)"
                ));
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
    fn names_the_container_and_the_replacement() {
        let report = run_fixture("deprecated_image_registry", "fail.json");
        assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "DaemonSet/kube-system/fluentd-gcp-v3.2.0 [prometheus-to-sd-exporter]"
        );
        assert!(
            f.message.starts_with(
                "image \"k8s.gcr.io/prometheus-to-sd:v0.3.1\" comes from k8s.gcr.io, frozen since 2023-04-03"
            ),
            "{}",
            f.message
        );
        assert_eq!(
            f.evidence,
            vec!["use registry.k8s.io/prometheus-to-sd:v0.3.1 (check that the tag exists there)"]
        );
        assert!(run_fixture("deprecated_image_registry", "pass.yaml").passed);
    }

    #[test]
    fn takes_more_registries_from_the_settings() {
        let input = || {
            vec![Input::Path(
                fixture_dir("deprecated_image_registry").join("pass.yaml"),
            )]
        };
        let mut settings = Settings::new();
        settings.set(
            "deprecated_image_registry.registries",
            serde_json::json!(["registry.k8s.io/coredns"]),
        );
        let report = run_on("deprecated_image_registry", input(), settings);
        assert_eq!(report.findings.len(), 1);
        assert!(report.findings[0].message.ends_with("a retired registry"));
        let mut settings = Settings::new();
        settings.set(
            "deprecated_image_registry.registries",
            serde_json::json!([{"prefix": "registry.k8s.io/kube-proxy", "note": "use our mirror"}]),
        );
        let report = run_on("deprecated_image_registry", input(), settings);
        assert_eq!(report.findings.len(), 1);
        assert!(report.findings[0].message.ends_with("use our mirror"));
        // The setting takes any value in the config file; a wrong shape is an error here.
        let mut settings = Settings::new();
        settings.set(
            "deprecated_image_registry.registries",
            serde_json::json!([{"note": "no prefix"}]),
        );
        let report = run_on("deprecated_image_registry", input(), settings);
        assert_eq!(report.level, detek_core::Level::Unknown);
        let error = report.error.unwrap_or_default();
        assert!(
            error.contains("a registry prefix or {prefix, replacement, note}"),
            "{error}"
        );
    }
}
