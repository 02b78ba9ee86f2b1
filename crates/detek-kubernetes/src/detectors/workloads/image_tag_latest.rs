use crate::prelude::*;

/// ## What it detects
/// Containers whose image has the tag `latest` or no tag at all (which means `latest`), and
/// no digest.
///
/// ## Why it matters
/// `latest` moves. Two replicas of one Deployment can run different code, a rollback goes
/// "back" to the same moving tag, and a node restart can silently upgrade a workload. With
/// `latest` the kubelet also defaults to `imagePullPolicy: Always`, so every start depends on
/// the registry being up.
///
/// ## How to fix
/// Pin a version tag (`nginx:1.27.2`) or, better, a digest
/// (`nginx@sha256:...`), and change it deliberately through your deployment pipeline.
///
/// ## Example
/// ```yaml
/// containers:
/// - name: web
///   image: nginx          # fires: no tag means latest
/// - name: cache
///   image: redis:latest   # fires
/// ```
#[detector(
    id = "image_tag_latest",
    title = "Containers using the latest (or no) image tag",
    labels = ["kubernetes", "workloads", "image"],
    level = Warn,
    requires = [POD_SPECS],
    references = ["https://kubernetes.io/docs/concepts/containers/images/#image-names"],
)]
pub struct ImageTagLatest;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let specs = ctx.get(&POD_SPECS)?.views();
    let mut out = Outcome::new().evaluated(specs.len());
    for view in &specs {
        for c in view.all_containers() {
            let Some(image) = c.image.as_deref() else {
                continue;
            };
            if uses_latest(image) {
                out.push(
                    Finding::new(
                        Level::Warn,
                        Some(view.container_ref(&c.name)),
                        format!("image {image:?} is not pinned: it uses the latest tag"),
                    )
                    .with_revision_of(view),
                );
            }
        }
    }
    Ok(out)
}

/// `nginx`, `nginx:latest`, `registry:5000/app` use latest; `nginx:1.2`, `app@sha256:...` don't.
pub(crate) fn uses_latest(image: &str) -> bool {
    if image.contains('@') {
        return false;
    }
    // The tag is after the last ':' that follows the last '/' (a ':' before it is a port).
    let last_segment = image.rsplit('/').next().unwrap_or(image);
    match last_segment.rsplit_once(':') {
        Some((_, tag)) => tag == "latest",
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::uses_latest;
    use crate::testing::run_fixture;

    #[test]
    fn recognises_unpinned_images() {
        assert!(uses_latest("nginx"));
        assert!(uses_latest("nginx:latest"));
        assert!(uses_latest("registry.local:5000/team/app"));
        assert!(!uses_latest("registry.local:5000/team/app:1.0"));
        assert!(!uses_latest("nginx@sha256:abcd"));
    }

    #[test]
    fn fires_on_template_containers_of_manifests() {
        let report = run_fixture("image_tag_latest", "fail.yaml");
        let names: Vec<_> = report
            .findings
            .iter()
            .map(|f| f.object.as_ref().unwrap().display_name())
            .collect();
        assert_eq!(
            names,
            vec!["Deployment/shop/web [web]", "Deployment/shop/web [cache]"]
        );
        assert!(run_fixture("image_tag_latest", "pass.yaml").passed);
    }
}
