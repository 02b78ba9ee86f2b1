//! RBAC rule matching: Roles and ClusterRoles, their rules, the bindings that grant them and
//! their subjects (`rbac_*`, `cluster_admin_binding`, `automount_token_unused`).

use crate::model::{CLUSTER_ROLE_BINDINGS, CLUSTER_ROLES, ROLE_BINDINGS, ROLES};
use crate::model::{Item, Items};
use detek_core::{DetectContext, DetectError, Finding, Level, ObjectRef, Outcome};
use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::sync::Arc;

/// A Role or a ClusterRole.
pub(crate) struct RoleView<'a> {
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
pub(crate) fn roles<'a>(
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

/// Roles that ship with Kubernetes: objects labelled `kubernetes.io/bootstrapping:
/// rbac-defaults` (the API server labels every role and binding it creates), or, in copies that
/// lost their labels, one of Kubernetes' own default names ([`DEFAULT_RBAC_NAMES`], the
/// `system:controller:` roles of [`DEFAULT_CONTROLLERS`]). The `system:` prefix alone is not
/// enough: anyone can name a role `system:whatever`. Built-in roles are what they are on every
/// cluster; findings on them would be noise nobody can act on.
pub(crate) fn is_builtin_rbac(metadata: &ObjectMeta) -> bool {
    let labelled = metadata
        .labels
        .as_ref()
        .and_then(|l| l.get("kubernetes.io/bootstrapping"))
        .is_some_and(|v| v == "rbac-defaults");
    let name = metadata.name.as_deref().unwrap_or("");
    labelled
        || DEFAULT_RBAC_NAMES.contains(&name)
        || name
            .strip_prefix("system:controller:")
            .is_some_and(|c| DEFAULT_CONTROLLERS.contains(&c))
}

/// The names of the roles and bindings Kubernetes creates (its bootstrap policy,
/// `plugin/pkg/auth/authorizer/rbac/bootstrappolicy`), `system:controller:*` aside.
const DEFAULT_RBAC_NAMES: &[&str] = &[
    "cluster-admin",
    "admin",
    "edit",
    "view",
    "system:aggregate-to-admin",
    "system:aggregate-to-edit",
    "system:aggregate-to-view",
    "system:auth-delegator",
    "system:basic-user",
    "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
    "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
    "system:certificates.k8s.io:kube-apiserver-client-approver",
    "system:certificates.k8s.io:kube-apiserver-client-kubelet-approver",
    "system:certificates.k8s.io:kubelet-serving-approver",
    "system:certificates.k8s.io:legacy-unknown-approver",
    "system:discovery",
    "system:heapster",
    "system:kube-aggregator",
    "system:kube-controller-manager",
    "system:kube-dns",
    "system:kube-scheduler",
    "system:kubelet-api-admin",
    "system:monitoring",
    "system:node",
    "system:node-bootstrapper",
    "system:node-problem-detector",
    "system:node-proxier",
    "system:persistent-volume-provisioner",
    "system:public-info-viewer",
    "system:service-account-issuer-discovery",
    "system:volume-scheduler",
    // Namespaced ones, in kube-system and kube-public.
    "extension-apiserver-authentication-reader",
    "system::leader-locking-kube-controller-manager",
    "system::leader-locking-kube-scheduler",
];

/// The controllers of kube-controller-manager (and the cloud controller manager) that have a
/// `system:controller:<name>` role and binding.
const DEFAULT_CONTROLLERS: &[&str] = &[
    "attachdetach-controller",
    "bootstrap-signer",
    "certificate-controller",
    "cloud-provider",
    "clusterrole-aggregation-controller",
    "cronjob-controller",
    "daemon-set-controller",
    "deployment-controller",
    "disruption-controller",
    "endpoint-controller",
    "endpointslice-controller",
    "endpointslicemirroring-controller",
    "ephemeral-volume-controller",
    "expand-controller",
    "generic-garbage-collector",
    "horizontal-pod-autoscaler",
    "job-controller",
    "legacy-service-account-token-cleaner",
    "namespace-controller",
    "node-controller",
    "persistent-volume-binder",
    "pod-garbage-collector",
    "pv-protection-controller",
    "pvc-protection-controller",
    "replicaset-controller",
    "replication-controller",
    "resourcequota-controller",
    "root-ca-cert-publisher",
    "route-controller",
    "selinux-warning-controller",
    "service-account-controller",
    "service-cidrs-controller",
    "service-controller",
    "statefulset-controller",
    "token-cleaner",
    "ttl-after-finished-controller",
    "ttl-controller",
    "validatingadmissionpolicy-status-controller",
    "volumeattributesclass-protection-controller",
];

/// `apiGroups [""], resources [pods, pods/exec], verbs [create]`.
pub(crate) fn describe_rule(rule: &PolicyRule) -> String {
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
pub(crate) fn rule_in_core_group(rule: &PolicyRule) -> bool {
    rule.api_groups
        .iter()
        .flatten()
        .any(|g| g.is_empty() || g == "*")
}

/// The bindings in the scan that grant `role`: `ClusterRoleBinding/x`, `RoleBinding/ns/y`.
pub(crate) fn bindings_of(
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
pub(crate) fn bindings_evidence(bindings: &[String]) -> String {
    if bindings.is_empty() {
        "not bound by any binding in this scan".to_string()
    } else {
        format!("bound by {}", bindings.join(", "))
    }
}

/// The RBAC role checks: one `Warn` finding per Role and ClusterRole (built-in and aggregated
/// ones left out) that `judge` flags with a message and the indexes of the rules it blames.
/// The finding's evidence is each blamed rule (`rule 2: apiGroups [...]`), then the bindings.
pub(crate) fn flag_roles(
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
pub(crate) fn flag_rules(
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

pub(crate) fn refers_to(role_ref: &RoleRef, kind: &str, name: &str) -> bool {
    role_ref.kind == kind && role_ref.name == name
}

/// `ServiceAccount argocd/argocd-server`, `User alice`, `Group system:masters`.
pub(crate) fn describe_subject(subject: &Subject, binding_namespace: Option<&str>) -> String {
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
pub(crate) fn is_system_subject(subject: &Subject) -> bool {
    matches!(subject.kind.as_str(), "User" | "Group") && subject.name.starts_with("system:")
}

/// Does a binding subject include ServiceAccount `namespace/name`? Direct references and the
/// groups every ServiceAccount is in (`system:serviceaccounts`, `system:serviceaccounts:<ns>`,
/// `system:authenticated`) count.
pub(crate) fn subject_includes_service_account(
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
pub(crate) fn bindings_for_service_account(
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
pub(crate) fn find_cluster_role<'a>(
    cluster_roles: &'a Items<ClusterRole>,
    name: &str,
) -> Option<&'a Arc<Item<ClusterRole>>> {
    cluster_roles
        .iter()
        .find(|r| r.metadata.name.as_deref() == Some(name))
}
