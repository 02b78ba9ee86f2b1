//! Helpers shared by detectors of several areas: container image references (read by
//! `image_from_unknown_registry`, `deprecated_image_registry` and `known_component_issue`), and
//! the grading of "the object it names does not exist" findings on manifests, and ages against
//! the scan's clock (`ctx.now`).
//! Code shared within one area lives in that area's `mod.rs` or `helpers.rs`.

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

/// Grade the findings of a detector reporting objects that name a missing object: on manifests
/// (a partial view, where an operator or install Job may create it at run time) those at
/// `level` become `Warn`, each with evidence saying why; on a whole cluster (live, or a dump
/// with Nodes) they keep `level`. See [`ClusterInfo::reference_level`].
///
/// [`ClusterInfo::reference_level`]: detek_kubernetes_model::model::ClusterInfo::reference_level
pub(crate) fn grade_references(
    mut out: detek_core::Outcome,
    info: &detek_kubernetes_model::model::ClusterInfo,
    level: detek_core::Level,
) -> detek_core::Outcome {
    if let Some(why) = info.reference_note(level) {
        let graded = info.reference_level(level);
        for finding in out.findings.iter_mut().filter(|f| f.level == level) {
            finding.level = graded;
            finding.evidence.push(why.clone());
        }
    }
    out
}

/// Seconds from `t` to the scan's clock (negative when `t` is in the future).
pub(crate) fn seconds_since(now: std::time::SystemTime, t: &k8s_openapi::jiff::Timestamp) -> i64 {
    let now = match now.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    };
    now - t.as_second()
}

/// `3d4h`, `5h12m`, `7m`: a duration for messages.
pub(crate) fn human_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    let (d, h, m) = (s / 86_400, (s % 86_400) / 3_600, (s % 3_600) / 60);
    match (d, h) {
        (0, 0) => format!("{}m", m.max(if s > 0 { 1 } else { 0 })),
        (0, _) => format!("{h}h{m}m"),
        _ => format!("{d}d{h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::ImageRef;

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
}
