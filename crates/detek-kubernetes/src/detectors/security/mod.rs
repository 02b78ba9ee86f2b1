//! Security hygiene: pod security contexts, host access, RBAC and literal secrets.
//!
//! Helpers shared by the security detectors live here rather than in their own file: `build.rs`
//! reads every other `.rs` file of this directory as a detector's documentation.

use crate::model::{
    CLUSTER_ROLE_BINDINGS, CLUSTER_ROLES, PODS, ROLE_BINDINGS, ROLES, WORKLOAD_TEMPLATES,
};
use crate::model::{Item, Items};
use crate::pods::PodSpecView;
use detek_core::{DetectContext, DetectError, Detector, Finding, Level, ObjectRef, Outcome};
use k8s_openapi::api::core::v1::{
    Capabilities, ContainerPort, EnvVar, HostPathVolumeSource, PodSecurityContext, SecurityContext,
    VolumeMount,
};
use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::sync::Arc;

mod apparmor_unconfined;
mod automount_token_unused;
mod capabilities_not_dropped;
mod cluster_admin_binding;
mod dangerous_capabilities;
mod default_service_account;
mod docker_socket_mount;
mod host_namespace;
mod host_path_sensitive;
mod host_port;
mod privilege_escalation_allowed;
mod privileged_container;
mod proc_mount_unmasked;
mod rbac_escalation_verbs;
mod rbac_exec_attach;
mod rbac_secrets_access;
mod rbac_wildcard;
mod read_only_root_filesystem_missing;
mod run_as_root;
mod seccomp_profile_missing;
mod sensitive_configmap_value;
mod sensitive_env_value;

pub(super) fn all() -> Vec<Arc<dyn Detector>> {
    vec![
        Arc::new(privileged_container::PrivilegedContainer),
        Arc::new(host_namespace::HostNamespace),
        Arc::new(privilege_escalation_allowed::PrivilegeEscalationAllowed),
        Arc::new(run_as_root::RunAsRoot),
        Arc::new(dangerous_capabilities::DangerousCapabilities),
        Arc::new(capabilities_not_dropped::CapabilitiesNotDropped),
        Arc::new(host_port::HostPort),
        Arc::new(docker_socket_mount::DockerSocketMount),
        Arc::new(host_path_sensitive::HostPathSensitive),
        Arc::new(proc_mount_unmasked::ProcMountUnmasked),
        Arc::new(seccomp_profile_missing::SeccompProfileMissing),
        Arc::new(apparmor_unconfined::ApparmorUnconfined),
        Arc::new(read_only_root_filesystem_missing::ReadOnlyRootFilesystemMissing),
        Arc::new(default_service_account::DefaultServiceAccount),
        Arc::new(automount_token_unused::AutomountTokenUnused),
        Arc::new(rbac_wildcard::RbacWildcard),
        Arc::new(cluster_admin_binding::ClusterAdminBinding),
        Arc::new(rbac_exec_attach::RbacExecAttach),
        Arc::new(rbac_secrets_access::RbacSecretsAccess),
        Arc::new(rbac_escalation_verbs::RbacEscalationVerbs),
        Arc::new(sensitive_env_value::SensitiveEnvValue),
        Arc::new(sensitive_configmap_value::SensitiveConfigmapValue),
    ]
}

// ---------------------------------------------------------------------------------------------
// Containers and security contexts
// ---------------------------------------------------------------------------------------------

/// Which list of a pod spec a container is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CtrKind {
    Init,
    Regular,
    Ephemeral,
}

/// One container of a pod spec, whichever list it is in (ephemeral containers have their own
/// type in the API; the fields the security checks read are the same).
#[derive(Debug, Clone, Copy)]
pub(super) struct Ctr<'a> {
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
pub(super) fn normalise_capability(cap: &str) -> String {
    let upper = cap.trim().to_ascii_uppercase();
    upper
        .strip_prefix("CAP_")
        .map(str::to_string)
        .unwrap_or(upper)
}

/// Init containers, regular containers, then ephemeral containers of a pod spec.
pub(super) fn containers<'a>(view: &PodSpecView<'a>) -> Vec<Ctr<'a>> {
    let spec = view.spec;
    let mut out = Vec::new();
    let lists = [
        (CtrKind::Init, spec.init_containers.as_deref()),
        (CtrKind::Regular, Some(&spec.containers[..])),
    ];
    for (kind, list) in lists {
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
    for c in spec.ephemeral_containers.iter().flatten() {
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

/// The pod specs the security checks look at: [`pod_specs`] without mirror Pods. Static Pods
/// (the control plane of kubeadm and kind clusters: `kube-apiserver`, `etcd`...) are defined
/// by files on the node, not through the API; they mount `/etc/kubernetes/pki` and share the
/// host network by design, and whoever can change them is already root on the node.
pub(super) fn checked_pod_specs<'a>(
    pods: &'a Items<k8s_openapi::api::core::v1::Pod>,
    templates: &'a crate::pods::WorkloadTemplates,
) -> Vec<PodSpecView<'a>> {
    let mut specs = crate::pods::pod_specs(pods, templates);
    specs.retain(|v| !is_mirror_pod(v));
    specs
}

/// The Linux container checks: one `Warn` finding on each container of the checked pod specs
/// (Windows pods left out) for which `judge` returns a message.
pub(super) fn flag_linux_containers(
    ctx: &DetectContext,
    judge: impl Fn(&PodSpecView, &Ctr) -> Option<String>,
) -> Result<Outcome, DetectError> {
    let specs = checked_pod_specs(ctx.get(&PODS)?, ctx.get(&WORKLOAD_TEMPLATES)?);
    let mut out = Outcome::new().evaluated(specs.len());
    for view in &specs {
        if is_windows(view) {
            continue;
        }
        for c in containers(view) {
            if let Some(message) = judge(view, &c) {
                out.push(Finding::new(
                    Level::Warn,
                    Some(view.container_ref(c.name)),
                    message,
                ));
            }
        }
    }
    Ok(out)
}

/// The hostPath checks: one `Error` finding on the pod spec for each mounted hostPath volume
/// of the checked pod specs for which `judge` returns a message, with the mounts as evidence.
pub(super) fn flag_mounted_host_paths(
    ctx: &DetectContext,
    judge: impl Fn(&HostPathUse) -> Option<String>,
) -> Result<Outcome, DetectError> {
    let specs = checked_pod_specs(ctx.get(&PODS)?, ctx.get(&WORKLOAD_TEMPLATES)?);
    let mut out = Outcome::new().evaluated(specs.len());
    for view in &specs {
        for hp in host_paths(view) {
            if hp.mounts.is_empty() {
                continue;
            }
            if let Some(message) = judge(&hp) {
                out.push(
                    Finding::new(Level::Error, Some(view.object_ref()), message)
                        .with_evidence(hp.evidence()),
                );
            }
        }
    }
    Ok(out)
}

/// Where an effective security setting was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SetAt {
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
pub(super) fn effective<'a, T>(
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
pub(super) fn is_windows(view: &PodSpecView) -> bool {
    let spec = view.spec;
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
pub(super) struct HostPathUse<'a> {
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
pub(super) fn normalise_path(path: &str) -> &str {
    let trimmed = path.trim().trim_end_matches('/');
    if trimmed.is_empty() && path.trim().starts_with('/') {
        "/"
    } else {
        trimmed
    }
}

/// Is `ancestor` the same path as `path` or a directory above it?
pub(super) fn path_covers(ancestor: &str, path: &str) -> bool {
    ancestor == "/"
        || path == ancestor
        || path
            .strip_prefix(ancestor)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Every hostPath volume of a pod spec with its mounts.
pub(super) fn host_paths<'a>(view: &PodSpecView<'a>) -> Vec<HostPathUse<'a>> {
    let ctrs = containers(view);
    view.spec
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
pub(super) fn service_account_name<'a>(view: &PodSpecView<'a>) -> &'a str {
    view.spec
        .service_account_name
        .as_deref()
        .filter(|s| !s.is_empty())
        .or(view
            .spec
            .service_account
            .as_deref()
            .filter(|s| !s.is_empty()))
        .unwrap_or("default")
}

/// Static Pods mirrored by the kubelet: they never get a ServiceAccount token.
pub(super) fn is_mirror_pod(view: &PodSpecView) -> bool {
    view.metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key("kubernetes.io/config.mirror"))
}

// ---------------------------------------------------------------------------------------------
// RBAC
// ---------------------------------------------------------------------------------------------

/// A Role or a ClusterRole.
pub(super) struct RoleView<'a> {
    pub object: ObjectRef,
    pub cluster: bool,
    pub metadata: &'a ObjectMeta,
    pub rules: &'a [PolicyRule],
    /// An aggregated ClusterRole: its rules are copies of other ClusterRoles' (checked there).
    pub aggregated: bool,
}

impl RoleView<'_> {
    pub fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or("")
    }

    pub fn namespace(&self) -> &str {
        self.metadata.namespace.as_deref().unwrap_or("default")
    }
}

/// Every Role then every ClusterRole.
pub(super) fn roles<'a>(
    roles: &'a Items<Role>,
    cluster_roles: &'a Items<ClusterRole>,
) -> Vec<RoleView<'a>> {
    let mut out: Vec<RoleView<'a>> = roles
        .iter()
        .map(|r| RoleView {
            object: r.object_ref(),
            cluster: false,
            metadata: &r.metadata,
            rules: r.rules.as_deref().unwrap_or(&[]),
            aggregated: false,
        })
        .collect();
    out.extend(cluster_roles.iter().map(|r| RoleView {
        object: r.object_ref(),
        cluster: true,
        metadata: &r.metadata,
        rules: r.rules.as_deref().unwrap_or(&[]),
        aggregated: r.aggregation_rule.is_some(),
    }));
    out
}

/// Roles that ship with Kubernetes: `cluster-admin`, `system:*` names, and objects labelled
/// `kubernetes.io/bootstrapping: rbac-defaults` (`admin`, `edit`, `view`...). They are what
/// they are on every cluster; findings on them would be noise nobody can act on.
pub(super) fn is_builtin_rbac(metadata: &ObjectMeta) -> bool {
    let name = metadata.name.as_deref().unwrap_or("");
    name == "cluster-admin"
        || name.starts_with("system:")
        || metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("kubernetes.io/bootstrapping"))
            .is_some_and(|v| v == "rbac-defaults")
}

/// `apiGroups [""], resources [pods, pods/exec], verbs [create]`.
pub(super) fn describe_rule(rule: &PolicyRule) -> String {
    let list = |v: Option<&Vec<String>>| {
        let items: Vec<String> = v
            .into_iter()
            .flatten()
            .map(|s| {
                if s.is_empty() {
                    "\"\"".to_string()
                } else {
                    s.clone()
                }
            })
            .collect();
        format!("[{}]", items.join(", "))
    };
    let mut s = format!(
        "apiGroups {}, resources {}, verbs {}",
        list(rule.api_groups.as_ref()),
        list(rule.resources.as_ref()),
        list(Some(&rule.verbs))
    );
    if let Some(names) = rule.resource_names.as_ref().filter(|n| !n.is_empty()) {
        s.push_str(&format!(", resourceNames {}", list(Some(names))));
    }
    s
}

/// Does the rule apply to the core API group (`""`) or every group (`*`)?
pub(super) fn rule_in_core_group(rule: &PolicyRule) -> bool {
    rule.api_groups
        .iter()
        .flatten()
        .any(|g| g.is_empty() || g == "*")
}

/// The bindings in the scan that grant `role`: `ClusterRoleBinding/x`, `RoleBinding/ns/y`.
pub(super) fn bindings_of(
    role: &RoleView,
    role_bindings: &Items<RoleBinding>,
    cluster_role_bindings: &Items<ClusterRoleBinding>,
) -> Vec<String> {
    let mut out = Vec::new();
    let kind = if role.cluster { "ClusterRole" } else { "Role" };
    if role.cluster {
        for b in cluster_role_bindings.iter() {
            if refers_to(&b.role_ref, kind, role.name()) {
                out.push(b.object_ref().display_name());
            }
        }
    }
    for b in role_bindings.iter() {
        if refers_to(&b.role_ref, kind, role.name())
            && (role.cluster || b.namespace_or_default() == role.namespace())
        {
            out.push(b.object_ref().display_name());
        }
    }
    out
}

/// Evidence line: `bound by RoleBinding/ns/x, ClusterRoleBinding/y` or `not bound in this scan`.
pub(super) fn bindings_evidence(bindings: &[String]) -> String {
    if bindings.is_empty() {
        "not bound by any binding in this scan".to_string()
    } else {
        format!("bound by {}", bindings.join(", "))
    }
}

/// The RBAC role checks: one `Warn` finding per Role and ClusterRole (built-in and aggregated
/// ones left out) that `judge` flags with a message and the indexes of the rules it blames.
/// The finding's evidence is each blamed rule (`rule 2: apiGroups [...]`), then the bindings.
pub(super) fn flag_roles(
    ctx: &DetectContext,
    judge: impl Fn(&RoleView) -> Option<(String, Vec<usize>)>,
) -> Result<Outcome, DetectError> {
    let all = roles(ctx.get(&ROLES)?, ctx.get(&CLUSTER_ROLES)?);
    let role_bindings = ctx.get(&ROLE_BINDINGS)?;
    let cluster_role_bindings = ctx.get(&CLUSTER_ROLE_BINDINGS)?;
    let mut out = Outcome::new().evaluated(all.len());
    for role in &all {
        if is_builtin_rbac(role.metadata) || role.aggregated {
            continue;
        }
        let Some((message, rules)) = judge(role) else {
            continue;
        };
        let mut finding = Finding::new(Level::Warn, Some(role.object.clone()), message);
        for i in rules {
            finding =
                finding.with_evidence(format!("rule {}: {}", i + 1, describe_rule(&role.rules[i])));
        }
        let bindings = bindings_of(role, role_bindings, cluster_role_bindings);
        out.push(finding.with_evidence(bindings_evidence(&bindings)));
    }
    Ok(out)
}

/// [`flag_roles`] for checks of one rule at a time: `grants_of` lists what a rule grants that
/// is risky (`create on pods/exec`), and a role granting anything is flagged with
/// `{message}: ` and every grant.
pub(super) fn flag_rules(
    ctx: &DetectContext,
    message: &str,
    grants_of: impl Fn(&PolicyRule) -> Vec<String>,
) -> Result<Outcome, DetectError> {
    flag_roles(ctx, |role| {
        let mut grants: Vec<String> = Vec::new();
        let mut blamed = Vec::new();
        for (i, rule) in role.rules.iter().enumerate() {
            let found = grants_of(rule);
            if !found.is_empty() {
                grants.extend(found);
                blamed.push(i);
            }
        }
        (!grants.is_empty()).then(|| (format!("{message}: {}", grants.join("; ")), blamed))
    })
}

pub(super) fn refers_to(role_ref: &RoleRef, kind: &str, name: &str) -> bool {
    role_ref.kind == kind && role_ref.name == name
}

/// `ServiceAccount argocd/argocd-server`, `User alice`, `Group system:masters`.
pub(super) fn describe_subject(subject: &Subject, binding_namespace: Option<&str>) -> String {
    match subject.kind.as_str() {
        "ServiceAccount" => format!(
            "ServiceAccount {}/{}",
            subject_namespace(subject, binding_namespace),
            subject.name
        ),
        kind => format!("{kind} {}", subject.name),
    }
}

/// The namespace of a ServiceAccount subject: its own, else the binding's, else `default`.
fn subject_namespace<'a>(subject: &'a Subject, binding_namespace: Option<&'a str>) -> &'a str {
    subject
        .namespace
        .as_deref()
        .filter(|n| !n.is_empty())
        .or(binding_namespace)
        .unwrap_or("default")
}

/// Users and groups of Kubernetes itself (`system:masters`, `system:kube-controller-manager`,
/// `system:nodes`...).
pub(super) fn is_system_subject(subject: &Subject) -> bool {
    matches!(subject.kind.as_str(), "User" | "Group") && subject.name.starts_with("system:")
}

/// Does a binding subject include ServiceAccount `namespace/name`? Direct references and the
/// groups every ServiceAccount is in (`system:serviceaccounts`, `system:serviceaccounts:<ns>`,
/// `system:authenticated`) count.
pub(super) fn subject_includes_service_account(
    subject: &Subject,
    binding_namespace: Option<&str>,
    namespace: &str,
    name: &str,
) -> bool {
    match subject.kind.as_str() {
        "ServiceAccount" => {
            subject_namespace(subject, binding_namespace) == namespace && subject.name == name
        }
        "Group" => {
            subject.name == "system:serviceaccounts"
                || subject.name == "system:authenticated"
                || subject.name.strip_prefix("system:serviceaccounts:") == Some(namespace)
        }
        "User" => subject.name == format!("system:serviceaccount:{namespace}:{name}"),
        _ => false,
    }
}

/// The bindings in the scan that name ServiceAccount `namespace/name`, directly or through
/// one of its groups. Group grants of built-in bindings (see [`is_builtin_rbac`]: the
/// discovery roles every authenticated user has) do not count; a built-in binding naming the
/// account itself (`system:coredns` → `kube-system/coredns`) does.
pub(super) fn bindings_for_service_account(
    namespace: &str,
    name: &str,
    role_bindings: &Items<RoleBinding>,
    cluster_role_bindings: &Items<ClusterRoleBinding>,
) -> Vec<String> {
    let counts = |s: &Subject, builtin: bool, binding_namespace: Option<&str>| {
        (!builtin || s.kind != "Group")
            && subject_includes_service_account(s, binding_namespace, namespace, name)
    };
    let mut out = Vec::new();
    for b in cluster_role_bindings.iter() {
        let builtin = is_builtin_rbac(&b.metadata);
        if b.subjects
            .iter()
            .flatten()
            .any(|s| counts(s, builtin, None))
        {
            out.push(b.object_ref().display_name());
        }
    }
    for b in role_bindings.iter() {
        let bns = b.namespace_or_default();
        let builtin = is_builtin_rbac(&b.metadata);
        if bns == namespace
            && b.subjects
                .iter()
                .flatten()
                .any(|s| counts(s, builtin, Some(bns)))
        {
            out.push(b.object_ref().display_name());
        }
    }
    out
}

/// Look up a binding's ClusterRole in the scan.
pub(super) fn find_cluster_role<'a>(
    cluster_roles: &'a Items<ClusterRole>,
    name: &str,
) -> Option<&'a Arc<Item<ClusterRole>>> {
    cluster_roles
        .iter()
        .find(|r| r.metadata.name.as_deref() == Some(name))
}

// ---------------------------------------------------------------------------------------------
// Literal secrets
// ---------------------------------------------------------------------------------------------

/// Words that name a secret when they are a whole token of a key name (or end one:
/// `dbpassword`, `clientsecret`).
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "credential",
    "credentials",
    "creds",
    "privatekey",
    "secretkey",
    "accesskey",
    "authkey",
];

/// Two-token names of a secret: `api_key`, `private_key`, `connection_string`...
const SECRET_PAIRS: &[(&str, &str)] = &[
    ("api", "key"),
    ("private", "key"),
    ("secret", "key"),
    ("access", "key"),
    ("auth", "key"),
    ("encryption", "key"),
    ("signing", "key"),
    ("master", "key"),
    ("account", "key"),
    ("connection", "string"),
];

/// Tokens that make a key name describe a secret rather than hold one: `token_ttl`,
/// `password_min_length`, `secret_name`, `password_file`, `token_url`, `auth_enabled`...
const MODIFIER_WORDS: &[&str] = &[
    "ttl",
    "expiry",
    "expiration",
    "expires",
    "expire",
    "timeout",
    "lifetime",
    "duration",
    "age",
    "interval",
    "period",
    "validity",
    "rotation",
    "length",
    "len",
    "min",
    "max",
    "minimum",
    "maximum",
    "size",
    "count",
    "limit",
    "limits",
    "file",
    "files",
    "path",
    "paths",
    "dir",
    "directory",
    "filename",
    "location",
    "url",
    "uri",
    "urls",
    "endpoint",
    "endpoints",
    "host",
    "port",
    "name",
    "names",
    "ref",
    "refs",
    "reference",
    "id",
    "ids",
    "type",
    "kind",
    "mode",
    "format",
    "enabled",
    "enable",
    "disabled",
    "disable",
    "required",
    "require",
    "policy",
    "header",
    "audience",
    "audiences",
    "issuer",
    "scope",
    "scopes",
    "field",
    "provider",
    "store",
    "mount",
    "mounted",
    "source",
    "template",
    "hash",
    "hashed",
    "regex",
    "pattern",
    "complexity",
    "strength",
    "reset",
    "prompt",
    "hint",
    "label",
    "labels",
    "param",
    "parameter",
    "version",
    "namespace",
    "selector",
    "annotation",
    "annotations",
    "volume",
    "configmap",
    "algorithm",
    "algo",
    "cache",
    "prefix",
    "suffix",
    "strategy",
    "detection",
    "method",
    "methods",
    "env",
    "var",
    "generator",
    "helper",
    "manager",
    "request",
    "response",
    "cookie",
    "image",
];

/// Split a key name into lower-case words: `MYSQL_ROOT_PASSWORD` → mysql, root, password;
/// `apiKey` → api, key; `s3SecretAccessKeyName` → s3, secret, access, key, name.
pub(super) fn name_tokens(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut tokens = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                tokens.push(std::mem::take(&mut current));
            }
            continue;
        }
        let prev = if i > 0 { chars[i - 1] } else { ' ' };
        let next = chars.get(i + 1).copied().unwrap_or(' ');
        let boundary = c.is_ascii_uppercase()
            && (prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next.is_ascii_lowercase()));
        if boundary && !current.is_empty() {
            tokens.push(std::mem::take(&mut current));
        }
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

/// Does this key name look like it holds a secret? Returns the word that matched.
///
/// The heuristic: the name, split into words, contains a secret word (`password`, `passwd`,
/// `passphrase`, `secret`, `token`, `credentials`, `api_key`, `private_key`, `access_key`,
/// `connection_string`..., or a word ending in one: `dbpassword`) or ends in `pass`
/// (`DB_PASS`); the match is one of the last two words (so `configMapAndSecretChangeDetection`
/// is not a secret), and no word says the key is *about* a secret rather than one
/// (`token_ttl`, `password_min_length`, `secret_name`, `password_file`, `token_url`,
/// `auth_enabled`, `access_key_id`: see `MODIFIER_WORDS`). `secret_id` (Vault AppRole) is a
/// secret. `PWD` is not (the shell's working directory).
pub(super) fn secret_like_name(name: &str) -> Option<String> {
    let tokens = name_tokens(name);
    let n = tokens.len();
    if n == 0 {
        return None;
    }
    if n >= 2 && tokens[n - 2] == "secret" && tokens[n - 1] == "id" {
        return Some("secret_id".to_string());
    }
    if tokens.iter().any(|t| MODIFIER_WORDS.contains(&t.as_str())) {
        return None;
    }
    let recent = n.saturating_sub(2);
    for t in &tokens[recent..] {
        if let Some(word) = SECRET_WORDS
            .iter()
            .find(|w| t == *w || (t.len() > w.len() && t.ends_with(*w)))
        {
            return Some(word.to_string());
        }
    }
    for i in recent.saturating_sub(1)..n.saturating_sub(1) {
        let pair = (tokens[i].as_str(), tokens[i + 1].as_str());
        if SECRET_PAIRS.contains(&pair) {
            return Some(format!("{}_{}", pair.0, pair.1));
        }
    }
    if tokens[n - 1] == "pass" && n >= 2 {
        return Some("pass".to_string());
    }
    None
}

/// Is this literal value something other than a secret: empty, a boolean, a reference
/// (`$(VAR)`, `${VAR}`, `{{ .Values.x }}`, `vault:...`, `ref+...`, a secret manager ARN or
/// path), a file path, a URL without credentials, a masked value (`***`, `REDACTED`), a
/// placeholder (`<password>`, `INSERT_TOKEN_HERE`, an all-caps variable name) or a structured
/// value (`[...]`, `{...}`)?
pub(super) fn not_a_secret_value(value: &str) -> bool {
    let v = value.trim().trim_matches(|c| c == '"' || c == '\'').trim();
    if v.is_empty() {
        return true;
    }
    let lower = v.to_ascii_lowercase();
    const BOOLEANS: &[&str] = &[
        "true", "false", "yes", "no", "on", "off", "enabled", "disabled", "none", "null", "~",
    ];
    if BOOLEANS.contains(&lower.as_str()) {
        return true;
    }
    if v.contains("$(") || v.contains("${") || v.contains("{{") || v.contains("%(") {
        return true;
    }
    const REFERENCE_PREFIXES: &[&str] = &[
        "vault:",
        "ref+",
        "arn:aws:secretsmanager:",
        "arn:aws:ssm:",
        "secretref:",
        "secret:",
        "env:",
        "file:",
        "azurekeyvault",
        "akv:",
        "gcp:secretmanager:",
        "sm://",
        "op://",
        "projects/",
    ];
    if REFERENCE_PREFIXES.iter().any(|p| lower.starts_with(p)) {
        return true;
    }
    if v.starts_with('/') || v.starts_with("./") || v.starts_with("~/") {
        return true;
    }
    if v.starts_with('[')
        || v.starts_with('{')
        || v == "|"
        || v == ">"
        || v.starts_with("|-")
        || v.starts_with(">-")
    {
        return true;
    }
    if v.contains("***")
        || lower == "redacted"
        || lower.contains("<redacted>")
        || lower.contains("[redacted]")
    {
        return true;
    }
    if v.starts_with('<') && v.ends_with('>') {
        return true;
    }
    // `INSERT_ETCD_DISCOVERY_TOKEN`, `AWS_SECRET_ACCESS_KEY`: the name of a variable or a
    // placeholder to replace, not a value.
    let variable_like = v.contains('_')
        && v.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && v.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if variable_like {
        return true;
    }
    if let Some((_, rest)) = v.split_once("://") {
        // A URL is only a secret when it carries a password (see `url_with_password`).
        return url_with_password(v).is_none() && !rest.is_empty();
    }
    false
}

/// `scheme://user:password@host...` with a literal password: returns the scheme.
pub(super) fn url_with_password(value: &str) -> Option<String> {
    let v = value.trim();
    let (scheme, rest) = v.split_once("://")?;
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
    {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let (userinfo, _host) = authority.rsplit_once('@')?;
    let (_user, password) = userinfo.split_once(':')?;
    if password.is_empty()
        || password.contains("$(")
        || password.contains("${")
        || password.contains("{{")
    {
        return None;
    }
    if password.contains("***")
        || password.starts_with('<')
        || password.eq_ignore_ascii_case("redacted")
    {
        return None;
    }
    Some(scheme.to_string())
}

/// Does the value hold a PEM private key?
pub(super) fn holds_private_key(value: &str) -> bool {
    value.contains("-----BEGIN") && value.contains("PRIVATE KEY-----") && !value.contains("{{")
}

/// Why a literal value is reported. Never carries the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SecretHint {
    /// The name looks like a secret's; the word that matched.
    Name(String),
    /// The value is a URL with a password; its scheme.
    UrlPassword(String),
    /// The value holds a PEM private key.
    PrivateKey,
}

impl SecretHint {
    /// `env DB_PASSWORD has a literal value and a name that looks like a secret (password)`,
    /// with `what` naming the variable or key.
    pub fn describe(&self, what: &str) -> String {
        match self {
            SecretHint::Name(word) => {
                format!("{what} has a literal value and a name that looks like a secret ({word})")
            }
            SecretHint::UrlPassword(scheme) => {
                format!("{what} has a literal value with a password in a {scheme}:// URL")
            }
            SecretHint::PrivateKey => {
                format!("{what} has a literal value holding a PEM private key")
            }
        }
    }
}

/// Is this literal value, under this name, a secret written in clear? See
/// [`secret_like_name`] and [`not_a_secret_value`] for the heuristic; a PEM private key or a
/// URL with a password is reported whatever the name.
pub(super) fn literal_secret_hint(name: &str, value: &str) -> Option<SecretHint> {
    if holds_private_key(value) {
        return Some(SecretHint::PrivateKey);
    }
    if let Some(scheme) = url_with_password(value) {
        return Some(SecretHint::UrlPassword(scheme));
    }
    let word = secret_like_name(name)?;
    if not_a_secret_value(value) {
        return None;
    }
    Some(SecretHint::Name(word))
}

/// One `name: value` / `name = value` / `"name": "value",` / `NAME=value` / `--name=value`
/// line of a configuration file: the name and the raw value, or `None` when the line is not an
/// assignment.
pub(super) fn parse_assignment(line: &str) -> Option<(&str, &str)> {
    let mut l = line.trim_start();
    l = l.strip_prefix("- ").unwrap_or(l).trim_start();
    l = l.strip_prefix("export ").unwrap_or(l);
    if l.starts_with('#') || l.starts_with("//") || l.starts_with(';') {
        return None;
    }
    let sep = l.find([':', '='])?;
    let name = l[..sep]
        .trim()
        .trim_matches(|c| c == '"' || c == '\'')
        .trim_start_matches('-');
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    {
        return None;
    }
    let mut value = l[sep + 1..].trim();
    if let Some(i) = value.find(" #") {
        value = value[..i].trim_end();
    }
    let value = value.trim_end_matches([',', ';']).trim();
    Some((name, value))
}

/// URLs with a password anywhere in a line of text: their schemes.
pub(super) fn urls_with_password(line: &str) -> Vec<String> {
    line.split(|c: char| c.is_whitespace() || "\"'`,;()<>[]{}".contains(c))
        .filter(|w| w.contains("://"))
        .filter_map(url_with_password)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_names_into_words() {
        assert_eq!(
            name_tokens("MYSQL_ROOT_PASSWORD"),
            ["mysql", "root", "password"]
        );
        assert_eq!(name_tokens("apiKey"), ["api", "key"]);
        assert_eq!(
            name_tokens("s3SecretAccessKeyName"),
            ["s3", "secret", "access", "key", "name"]
        );
        assert_eq!(name_tokens("APIKey"), ["api", "key"]);
        assert_eq!(
            name_tokens("queue-sidecar-token-audiences"),
            ["queue", "sidecar", "token", "audiences"]
        );
    }

    #[test]
    fn recognises_secret_names_and_not_their_settings() {
        for name in [
            "DB_PASSWORD",
            "MYSQL_ROOT_PASSWORD",
            "GF_SECURITY_ADMIN_PASSWORD",
            "jwt_secret",
            "GITHUB_TOKEN",
            "api_key",
            "apiKey",
            "PRIVATE_KEY",
            "SECRET_KEY_BASE",
            "MINIO_SECRET_KEY",
            "client-secret",
            "dbpassword",
            "SMTP_PASS",
            "AZURE_STORAGE_ACCOUNT_KEY",
            "VAULT_SECRET_ID",
            "credentials",
            "REGISTRY_HTTP_SECRET",
            "token",
        ] {
            assert!(
                secret_like_name(name).is_some(),
                "{name} should look like a secret"
            );
        }
        for name in [
            "token_ttl",
            "password_min_length",
            "MIN_PASSWORD_LENGTH",
            "TLS_SECRET_NAME",
            "SECRETS_PATH",
            "REDIS_PASSWORD_FILE",
            "bearer_token_file",
            "TOKEN_URL",
            "AUTH_ENABLED",
            "AWS_ACCESS_KEY_ID",
            "configMapAndSecretChangeDetectionStrategy",
            "queue-sidecar-token-audiences",
            "PWD",
            "PASS_THROUGH",
            "storageSpecSecretName",
            "autoMountServiceAccountToken",
            "MAX_TOKENS",
            "KEY",
            "CACHE_KEY",
            "AUTH_PROXY_IMAGE",
            "DISCOVER_TOLERATION_KEY",
            "password_hash",
        ] {
            assert!(
                secret_like_name(name).is_none(),
                "{name} should not look like a secret"
            );
        }
    }

    #[test]
    fn recognises_values_that_are_not_secrets() {
        for v in [
            "",
            "  ",
            "true",
            "False",
            "$(DB_PASSWORD)",
            "${TOKEN}",
            "{{ .Values.password }}",
            "vault:secret/db#pw",
            "/var/run/secrets/token",
            "***HIDDEN***",
            "<your-password>",
            "INSERT_ETCD_DISCOVERY_TOKEN",
            "https://auth.example.com/token",
            "[]",
            "{\"type\": \"insecure\"}",
            "\"\"",
        ] {
            assert!(not_a_secret_value(v), "{v:?} is not a secret");
        }
        for v in [
            "hunter2",
            "changeme",
            "password",
            "Ple4seCh4ngeThisN0tAVerySecretV4lue",
            "1234",
            "minio123",
        ] {
            assert!(!not_a_secret_value(v), "{v:?} may be a secret");
        }
    }

    #[test]
    fn finds_passwords_in_urls_and_pem_keys() {
        assert_eq!(
            url_with_password("postgres://app:s3cr3t@db:5432/app").as_deref(),
            Some("postgres")
        );
        assert_eq!(url_with_password("postgres://app@db:5432/app"), None);
        assert_eq!(
            url_with_password("postgres://app:$(DB_PASSWORD)@db/app"),
            None
        );
        assert_eq!(url_with_password("https://example.com/a:b@c"), None);
        assert!(holds_private_key(
            "-----BEGIN RSA PRIVATE KEY-----\nMII...\n-----END RSA PRIVATE KEY-----"
        ));
        assert!(!holds_private_key("-----BEGIN CERTIFICATE-----\nMII..."));
        assert_eq!(
            literal_secret_hint("DATABASE_URL", "mysql://root:pw@db/x"),
            Some(SecretHint::UrlPassword("mysql".to_string()))
        );
        assert_eq!(literal_secret_hint("DB_PASSWORD", "$(PW)"), None);
        assert_eq!(
            urls_with_password("dsn = \"redis://:pw@cache:6379/0\""),
            vec!["redis".to_string()]
        );
    }

    #[test]
    fn parses_assignments_of_config_files() {
        assert_eq!(
            parse_assignment("  password: hunter2"),
            Some(("password", "hunter2"))
        );
        assert_eq!(
            parse_assignment("  \"token\": \"abc\","),
            Some(("token", "\"abc\""))
        );
        assert_eq!(
            parse_assignment("admin_password = admin"),
            Some(("admin_password", "admin"))
        );
        assert_eq!(parse_assignment("export DB_PASS=x"), Some(("DB_PASS", "x")));
        assert_eq!(
            parse_assignment("- --api-key=abc"),
            Some(("api-key", "abc"))
        );
        assert_eq!(
            parse_assignment("token: abc # rotate me"),
            Some(("token", "abc"))
        );
        assert_eq!(parse_assignment("# password: x"), None);
        assert_eq!(parse_assignment("some text: here"), None);
    }

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
