//! Security hygiene: pod security contexts, host access, RBAC and literal secrets.
//!
//! One detector per file; the code they share is in `helpers/`, by topic: containers and their
//! security contexts (`helpers/containers.rs`), RBAC rule matching (`helpers/rbac.rs`) and
//! sensitive values written in clear (`helpers/literal_secrets.rs`).

use detek_core::Detector;
use std::sync::Arc;

mod helpers;

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

// What the detector files import as `super::...`.
use helpers::containers::*;
use helpers::literal_secrets::*;
use helpers::rbac::*;

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
