//! The containers of a pod spec and their security contexts, host paths and service account:
//! what the pod security detectors check (`privileged_container`, `run_as_root`,
//! `host_path_sensitive`, `default_service_account`...).

use crate::model::POD_SPECS;
use crate::pods::{PodSpecView, PodSpecs, WithRevision};
use detek_core::{DetectContext, DetectError, Finding, Level, Outcome};
use k8s_openapi::api::core::v1::{
    Capabilities, ContainerPort, EnvVar, HostPathVolumeSource, PodSecurityContext, SecurityContext,
    VolumeMount,
};

/// Which list of a pod spec a container is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CtrKind {
    Init,
    Regular,
    Ephemeral,
}

/// One container of a pod spec, whichever list it is in (ephemeral containers have their own
/// type in the API; the fields the security checks read are the same).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctr<'a> {
    pub kind: CtrKind,
    pub name: &'a str,
    pub image: Option<&'a str>,
    pub security_context: Option<&'a SecurityContext>,
    pub env: &'a [EnvVar],
    pub ports: &'a [ContainerPort],
    pub volume_mounts: &'a [VolumeMount],
}

impl<'a> Ctr<'a> {
    /// `container "web"`, `init container "setup"`, `ephemeral container "debugger"`.
    pub fn label(&self) -> String {
        let noun = match self.kind {
            CtrKind::Init => "init container",
            CtrKind::Regular => "container",
            CtrKind::Ephemeral => "ephemeral container",
        };
        format!("{noun} {:?}", self.name)
    }

    pub fn privileged(&self) -> bool {
        self.security_context.and_then(|s| s.privileged) == Some(true)
    }

    /// Capabilities listed in `securityContext.capabilities.add`, normalised (`CAP_` prefix
    /// removed, upper case).
    pub fn added_capabilities(&self) -> Vec<String> {
        self.capabilities(|c| c.add.as_ref())
    }

    /// Capabilities listed in `securityContext.capabilities.drop`, normalised.
    pub fn dropped_capabilities(&self) -> Vec<String> {
        self.capabilities(|c| c.drop.as_ref())
    }

    /// One list of `securityContext.capabilities`, normalised.
    fn capabilities(
        &self,
        list: impl Fn(&'a Capabilities) -> Option<&'a Vec<String>>,
    ) -> Vec<String> {
        let list = self
            .security_context
            .and_then(|s| s.capabilities.as_ref())
            .and_then(list);
        list.into_iter()
            .flatten()
            .map(|c| normalise_capability(c))
            .collect()
    }
}

/// `cap_sys_admin` → `SYS_ADMIN`.
pub(crate) fn normalise_capability(cap: &str) -> String {
    let upper = cap.trim().to_ascii_uppercase();
    upper
        .strip_prefix("CAP_")
        .map(str::to_string)
        .unwrap_or(upper)
}

/// Init containers, regular containers, then ephemeral containers of a pod spec. Ephemeral
/// containers are checked on the Pod that runs them: a view standing for the replicas of a
/// controller leaves them out, and a replica's [`PodSpecView::ephemeral_only`] view (see
/// [`checked_container_specs`]) holds nothing else.
pub(crate) fn containers<'a>(view: &PodSpecView<'a>) -> Vec<Ctr<'a>> {
    let spec = view.spec();
    let mut out = Vec::new();
    let lists = [
        (CtrKind::Init, spec.init_containers.as_deref()),
        (CtrKind::Regular, Some(&spec.containers[..])),
    ];
    let replicated = view.pod.is_some() && view.controller.is_some();
    for (kind, list) in lists {
        if view.ephemeral_only {
            break;
        }
        for c in list.into_iter().flatten() {
            out.push(Ctr {
                kind,
                name: &c.name,
                image: c.image.as_deref(),
                security_context: c.security_context.as_ref(),
                env: c.env.as_deref().unwrap_or(&[]),
                ports: c.ports.as_deref().unwrap_or(&[]),
                volume_mounts: c.volume_mounts.as_deref().unwrap_or(&[]),
            });
        }
    }
    let ephemeral = spec.ephemeral_containers.iter().flatten();
    for c in ephemeral.filter(|_| !replicated) {
        out.push(Ctr {
            kind: CtrKind::Ephemeral,
            name: &c.name,
            image: c.image.as_deref(),
            security_context: c.security_context.as_ref(),
            env: c.env.as_deref().unwrap_or(&[]),
            ports: c.ports.as_deref().unwrap_or(&[]),
            volume_mounts: c.volume_mounts.as_deref().unwrap_or(&[]),
        });
    }
    out
}

/// The pod specs the security checks look at: [`PodSpecs`] without mirror Pods. Static Pods
/// (the control plane of kubeadm and kind clusters: `kube-apiserver`, `etcd`...) are defined
/// by files on the node, not through the API; they mount `/etc/kubernetes/pki` and share the
/// host network by design, and whoever can change them is already root on the node.
pub(crate) fn checked_pod_specs(specs: &PodSpecs) -> Vec<PodSpecView<'_>> {
    let mut specs = specs.views();
    specs.retain(|v| !is_mirror_pod(v));
    specs
}

/// The pod specs the container checks look at: [`checked_pod_specs`], then one view per
/// replica running ephemeral (debug) containers, for those containers alone
/// ([`PodSpecs::ephemeral_views`]): `kubectl debug` adds them to any replica, not only the one
/// standing for its revision. Pod-level checks (host namespaces, volumes, service account)
/// keep [`checked_pod_specs`]: an ephemeral container changes none of those.
pub(crate) fn checked_container_specs(specs: &PodSpecs) -> Vec<PodSpecView<'_>> {
    let mut views = checked_pod_specs(specs);
    views.extend(specs.ephemeral_views());
    views
}

/// The Linux container checks: one `Warn` finding on each container of the checked pod specs
/// (Windows pods left out) for which `judge` returns a message.
pub(crate) fn flag_linux_containers(
    ctx: &DetectContext,
    judge: impl Fn(&PodSpecView, &Ctr) -> Option<String>,
) -> Result<Outcome, DetectError> {
    let specs = checked_container_specs(ctx.get(&POD_SPECS)?);
    let mut out = Outcome::new().evaluated(specs.len());
    for view in &specs {
        if is_windows(view) {
            continue;
        }
        for c in containers(view) {
            if let Some(message) = judge(view, &c) {
                out.push(
                    Finding::new(Level::Warn, Some(view.container_ref(c.name)), message)
                        .with_revision_of(view),
                );
            }
        }
    }
    Ok(out)
}

/// The hostPath checks: one `Error` finding on the pod spec for each mounted hostPath volume
/// of the checked pod specs for which `judge` returns a message, with the mounts as evidence.
pub(crate) fn flag_mounted_host_paths(
    ctx: &DetectContext,
    judge: impl Fn(&HostPathUse) -> Option<String>,
) -> Result<Outcome, DetectError> {
    let specs = checked_pod_specs(ctx.get(&POD_SPECS)?);
    let mut out = Outcome::new().evaluated(specs.len());
    for view in &specs {
        for hp in host_paths(view) {
            if hp.mounts.is_empty() {
                continue;
            }
            if let Some(message) = judge(&hp) {
                out.push(
                    Finding::new(Level::Error, Some(view.object_ref()), message)
                        .with_revision_of(view)
                        .with_evidence(hp.evidence()),
                );
            }
        }
    }
    Ok(out)
}

/// Where an effective security setting was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SetAt {
    Container,
    Pod,
}

impl SetAt {
    /// The field path as messages print it: `securityContext.runAsUser` for the container,
    /// `pod securityContext.runAsUser` for the pod.
    pub fn field(self, field: &str) -> String {
        match self {
            SetAt::Container => format!("securityContext.{field}"),
            SetAt::Pod => format!("pod securityContext.{field}"),
        }
    }
}

/// A setting present on both levels, where the container's value wins over the pod's.
pub(crate) fn effective<'a, T>(
    ctr: &Ctr<'a>,
    pod: Option<&'a PodSecurityContext>,
    from_ctr: impl Fn(&'a SecurityContext) -> Option<T>,
    from_pod: impl Fn(&'a PodSecurityContext) -> Option<T>,
) -> Option<(T, SetAt)> {
    if let Some(v) = ctr.security_context.and_then(from_ctr) {
        return Some((v, SetAt::Container));
    }
    pod.and_then(from_pod).map(|v| (v, SetAt::Pod))
}

/// Windows pods: `spec.os.name: windows`, a `kubernetes.io/os: windows` node selector, or a
/// HostProcess container. Linux-only checks (seccomp, AppArmor, capabilities, run-as-root by
/// UID, privilege escalation, read-only root) do not apply to them.
pub(crate) fn is_windows(view: &PodSpecView) -> bool {
    let spec = view.spec();
    if spec
        .os
        .as_ref()
        .is_some_and(|os| os.name.eq_ignore_ascii_case("windows"))
    {
        return true;
    }
    if spec
        .node_selector
        .as_ref()
        .and_then(|s| s.get("kubernetes.io/os"))
        .is_some_and(|os| os.eq_ignore_ascii_case("windows"))
    {
        return true;
    }
    let pod_host_process = spec
        .security_context
        .as_ref()
        .and_then(|s| s.windows_options.as_ref())
        .and_then(|w| w.host_process)
        == Some(true);
    pod_host_process
        || containers(view).iter().any(|c| {
            c.security_context
                .and_then(|s| s.windows_options.as_ref())
                .and_then(|w| w.host_process)
                == Some(true)
        })
}

/// A hostPath volume of a pod spec and how its containers mount it.
pub(crate) struct HostPathUse<'a> {
    pub volume: &'a str,
    pub host_path: &'a HostPathVolumeSource,
    /// `(container label, mount path, read-only)` for every mount of the volume.
    pub mounts: Vec<(String, &'a str, bool)>,
}

impl HostPathUse<'_> {
    /// The node path, without trailing slashes (`/` stays `/`).
    pub fn path(&self) -> &str {
        normalise_path(&self.host_path.path)
    }

    /// Mounted writable by at least one container.
    pub fn writable(&self) -> bool {
        self.mounts.iter().any(|(_, _, read_only)| !read_only)
    }

    /// `mounted by container "a" at /x (read-only), ...` or `mounted by no container`.
    pub fn evidence(&self) -> String {
        if self.mounts.is_empty() {
            return "mounted by no container".to_string();
        }
        let list: Vec<String> = self
            .mounts
            .iter()
            .map(|(c, at, ro)| {
                format!(
                    "{c} at {at} ({})",
                    if *ro { "read-only" } else { "read-write" }
                )
            })
            .collect();
        format!("mounted by {}", list.join(", "))
    }
}

/// `/var/run/` → `/var/run`; `//` and `/` → `/`.
pub(crate) fn normalise_path(path: &str) -> &str {
    let trimmed = path.trim().trim_end_matches('/');
    if trimmed.is_empty() && path.trim().starts_with('/') {
        "/"
    } else {
        trimmed
    }
}

/// Is `ancestor` the same path as `path` or a directory above it?
pub(crate) fn path_covers(ancestor: &str, path: &str) -> bool {
    ancestor == "/"
        || path == ancestor
        || path
            .strip_prefix(ancestor)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Every hostPath volume of a pod spec with its mounts.
pub(crate) fn host_paths<'a>(view: &PodSpecView<'a>) -> Vec<HostPathUse<'a>> {
    let ctrs = containers(view);
    view.spec()
        .volumes
        .iter()
        .flatten()
        .filter_map(|v| {
            let host_path = v.host_path.as_ref()?;
            let mounts = ctrs
                .iter()
                .flat_map(|c| {
                    c.volume_mounts
                        .iter()
                        .filter(|m| m.name == v.name)
                        .map(|m| (c.label(), m.mount_path.as_str(), m.read_only == Some(true)))
                })
                .collect();
            Some(HostPathUse {
                volume: &v.name,
                host_path,
                mounts,
            })
        })
        .collect()
}

/// The ServiceAccount a pod spec runs as: `serviceAccountName`, else the deprecated
/// `serviceAccount`, else `default`.
pub(crate) fn service_account_name<'a>(view: &PodSpecView<'a>) -> &'a str {
    view.spec()
        .service_account_name
        .as_deref()
        .filter(|s| !s.is_empty())
        .or(view
            .spec()
            .service_account
            .as_deref()
            .filter(|s| !s.is_empty()))
        .unwrap_or("default")
}

/// Static Pods mirrored by the kubelet: they never get a ServiceAccount token.
pub(crate) fn is_mirror_pod(view: &PodSpecView) -> bool {
    view.metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key("kubernetes.io/config.mirror"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_cover_their_subpaths() {
        assert!(path_covers("/", "/etc"));
        assert!(path_covers("/var/run", "/var/run/docker.sock"));
        assert!(!path_covers("/var/run", "/var/runner"));
        assert_eq!(normalise_path("/var/run/"), "/var/run");
        assert_eq!(normalise_path("/"), "/");
        assert_eq!(normalise_path("//"), "/");
    }
}
