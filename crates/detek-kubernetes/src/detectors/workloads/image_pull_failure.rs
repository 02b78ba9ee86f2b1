use super::container_statuses;
use crate::prelude::*;

/// Waiting reasons of a container whose image cannot be pulled.
const PULL_FAILURES: [&str; 4] = [
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
];

/// ## What it detects
/// Containers (init and ephemeral ones included) that cannot start because their image cannot
/// be pulled: they wait with reason `ErrImagePull`, `ImagePullBackOff`, `InvalidImageName` or
/// `ErrImageNeverPull`. The finding gives the image and the kubelet's message, which names the
/// actual cause (unknown tag, denied, TLS or DNS error, rate limit).
///
/// ## Why it matters
/// The container never runs. For a new Pod of a rolling update the rollout stalls; for a Pod
/// rescheduled after a node failure the workload stays short of replicas until someone fixes
/// the reference or the registry. `ImagePullBackOff` retries only with growing delays.
///
/// ## How to fix
/// `kubectl describe pod NAME -n NS` shows the pull error in the events. Common causes: a typo
/// in the image or tag, a tag that was never pushed or was deleted, a private registry without
/// `imagePullSecrets` (or with an expired one), a registry the nodes cannot reach or whose
/// certificate they do not trust, Docker Hub rate limits. Fix the reference with
/// `kubectl set image deployment/NAME CONTAINER=IMAGE:TAG -n NS`, or the secret; the kubelet
/// retries by itself. `ErrImageNeverPull` means `imagePullPolicy: Never` and the image is not
/// on the node.
///
/// ## Example
/// ```yaml
/// status:
///   containerStatuses:
///   - name: demo-deployment-container
///     image: noimage.com/no-such-image
///     state:
///       waiting:
///         reason: ErrImagePull
///         message: "... x509: certificate is not valid for any names ..."
/// ```
#[detector(
    id = "image_pull_failure",
    title = "Containers whose image cannot be pulled",
    labels = ["kubernetes", "workloads", "pod", "image"],
    level = Error,
    requires = [PODS],
    references = ["https://kubernetes.io/docs/concepts/containers/images/#imagepullbackoff"],
)]
pub struct ImagePullFailure;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let pods = ctx.get(&PODS)?;
    let mut out = Outcome::new().evaluated(pods.len());
    for pod in pods {
        let Some(status) = &pod.status else { continue };
        for (kind, cs) in container_statuses(status) {
            let Some(waiting) = cs.state.as_ref().and_then(|s| s.waiting.as_ref()) else {
                continue;
            };
            let Some(reason) = waiting
                .reason
                .as_deref()
                .filter(|r| PULL_FAILURES.contains(r))
            else {
                continue;
            };
            let image = if cs.image.is_empty() {
                spec_image(pod, &cs.name)
            } else {
                Some(cs.image.as_str())
            };
            let image = image.unwrap_or("(unknown)");
            let mut message = format!("{} cannot pull image {image:?} ({reason})", kind.noun());
            if let Some(detail) = waiting.message.as_deref().filter(|m| !m.is_empty()) {
                message.push_str(": ");
                message.push_str(detail);
            }
            out.push(Finding::new(
                Level::Error,
                Some(pod.object_ref().with_container(&cs.name)),
                message,
            ));
        }
    }
    Ok(out)
}

/// The image the spec asks for, when the status does not say it.
fn spec_image<'a>(pod: &'a Pod, name: &str) -> Option<&'a str> {
    let spec = pod.spec.as_ref()?;
    let ephemeral = spec
        .ephemeral_containers
        .iter()
        .flatten()
        .filter(|c| c.name == name);
    super::spec_containers(spec)
        .map(|(_, c)| c)
        .find(|c| c.name == name)
        .and_then(|c| c.image.as_deref())
        .or_else(|| ephemeral.filter_map(|c| c.image.as_deref()).next())
}

#[cfg(test)]
mod tests {
    use crate::testing::{finding_lines, run_fixture};

    #[test]
    fn gives_the_image_and_the_pull_error() {
        let report = run_fixture("image_pull_failure", "fail.json");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        let object = f.object.as_ref().unwrap();
        assert_eq!(object.kind, "Pod");
        assert_eq!(object.namespace.as_deref(), Some("message-image-pull-fail"));
        assert_eq!(object.name, "no-image-deployment-849c4c4958-rxqmt");
        assert_eq!(
            object.container.as_deref(),
            Some("demo-deployment-container")
        );
        assert!(
            f.message.starts_with(
                "container cannot pull image \"noimage.com/no-such-image\" (ErrImagePull): "
            ),
            "{}",
            f.message
        );
        assert!(
            f.message.contains("x509: certificate is not valid"),
            "{}",
            f.message
        );
    }

    #[test]
    fn covers_backoff_and_init_containers() {
        let report = run_fixture("image_pull_failure", "fail_backoff.yaml");
        let messages: Vec<_> = finding_lines(&report);
        assert_eq!(
            messages,
            vec![
                "Pod/shop/cart-6b8f9c7d5-p9w2l [fetch-config]: init container cannot pull image \
                 \"registry.example.com/tools/fetch-config:1.2\" (ImagePullBackOff): Back-off pulling \
                 image \"registry.example.com/tools/fetch-config:1.2\"",
            ]
        );
        // Waiting in ContainerCreating for a volume is not an image problem.
        assert!(run_fixture("image_pull_failure", "pass.json").passed);
    }
}
