//! The OpenStack model: the keys the collectors write and the detectors read, and their types.
//!
//! Types deserialize straight from the API's JSON items (Nova `servers/detail`, `os-services`,
//! `os-hypervisors/detail`; Cinder `volumes/detail`; Octavia `lbaas/loadbalancers`; Neutron
//! `agents`) and keep only the fields detectors read; unknown fields are ignored. Ids that
//! older microversions send as numbers (services, hypervisors) are read as strings.
//!
//! A service missing from the token's catalog leaves its key *skipped* (`Produced::skip`, the
//! reason naming the service type), and [`CloudInfo::services`] says which service types the
//! catalog has: the detectors reading that key are listed as skipped with the reason
//! (DESIGN.md §1), never `Unknown`.
//!
//! No HTTP here: this module is what detectors and fixtures build against.

use detek_core::Key;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The cloud being scanned (produced by the OpenStack collector with the token).
pub const CLOUD: Key<CloudInfo> = Key::new("openstack/cloud");
/// Nova servers (`GET /servers/detail`, every page; all projects with admin credentials).
pub const SERVERS: Key<Vec<Server>> = Key::new("openstack/servers");
/// Nova compute services (`GET /os-services`).
pub const COMPUTE_SERVICES: Key<Vec<ComputeService>> = Key::new("openstack/compute-services");
/// Nova hypervisors (`GET /os-hypervisors/detail`).
pub const HYPERVISORS: Key<Vec<Hypervisor>> = Key::new("openstack/hypervisors");
/// Cinder volumes (`GET /volumes/detail`; all projects with admin credentials).
pub const VOLUMES: Key<Vec<Volume>> = Key::new("openstack/volumes");
/// Octavia load balancers (`GET /v2/lbaas/loadbalancers`).
pub const LOADBALANCERS: Key<Vec<LoadBalancer>> = Key::new("openstack/loadbalancers");
/// Neutron agents (`GET /v2.0/agents`).
pub const NETWORK_AGENTS: Key<Vec<NetworkAgent>> = Key::new("openstack/network-agents");
/// Whether the addresses of ACTIVE servers answer from the scanning host: written by the
/// reachability collector ([`crate::probe::ReachabilityCollector`]), which reads
/// [`SERVERS`]. The probing is I/O, so it is a collector step; the detector
/// `openstack_unreachable_server` only reads the verdicts.
pub const SERVER_REACHABILITY: Key<ServerReachability> = Key::new("openstack/server-reachability");
/// The servers of every OpenStack cloud scanned *together with* a cluster, as that cluster's
/// target sees them: the seam for detectors that join Kubernetes objects to their VMs
/// (`node_vm_not_active`). In a combined scan, the cluster's target gets a collector producing
/// this key from the clouds' own `openstack/servers` (shared, not fetched twice); a cloud's own
/// target never produces it, so the OpenStack-only detectors do not run a second time in the
/// cluster's section, and a scan without a cloud (or without a cluster) plans the joining
/// detectors out as skipped. See ARCHITECTURE.md, "Kubernetes on OpenStack".
pub const CLOUD_SERVERS: Key<CloudServers> = Key::new("openstack/cloud-servers");

/// Service types the OpenStack detectors read, as the catalog names them.
pub mod service_type {
    pub const COMPUTE: &str = "compute";
    pub const VOLUME: &str = "block-storage";
    /// Older catalogs name Cinder `volumev3` (or `volumev2`/`volume`).
    pub const VOLUME_ALIASES: &[&str] = &["block-storage", "volumev3", "volumev2", "volume"];
    pub const LOAD_BALANCER: &str = "load-balancer";
    pub const NETWORK: &str = "network";
}

/// The catalog service type each OpenStack key is fetched from: a cloud whose catalog has
/// none of them leaves the key skipped with [`service_missing`]'s reason.
pub const KEY_SERVICES: &[(detek_core::KeyId, &[&str])] = &[
    (SERVERS.id(), &[service_type::COMPUTE]),
    (COMPUTE_SERVICES.id(), &[service_type::COMPUTE]),
    (HYPERVISORS.id(), &[service_type::COMPUTE]),
    (VOLUMES.id(), service_type::VOLUME_ALIASES),
    (LOADBALANCERS.id(), &[service_type::LOAD_BALANCER]),
    (NETWORK_AGENTS.id(), &[service_type::NETWORK]),
];

/// The service types `key` is fetched from (empty for keys no API call produces).
pub fn services_of(key: detek_core::KeyId) -> &'static [&'static str] {
    KEY_SERVICES
        .iter()
        .find(|(k, _)| *k == key)
        .map_or(&[], |(_, services)| services)
}

/// The reason a key is skipped when the cloud's catalog has no service for it, the same text
/// in every section and format: "the catalog of cloud test (project demo) has no
/// load-balancer service".
pub fn service_missing(cloud: &CloudInfo, key: detek_core::KeyId) -> Option<String> {
    let services = services_of(key);
    if services.is_empty() || services.iter().any(|s| cloud.has_service(s)) {
        return None;
    }
    Some(format!(
        "the catalog of {} has no {} service",
        cloud.describe(),
        services[0]
    ))
}

/// What cloud and project the scan reads, and what its catalog offers. Never a secret.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CloudInfo {
    /// The `clouds.yaml` entry (`--os-cloud`), or `envvars` for `OS_*` variables.
    pub name: String,
    /// Keystone's URL (`auth.auth_url`), without credentials.
    pub auth_url: String,
    /// The project the token is scoped to (name, or id when only the id is known).
    #[serde(default)]
    pub project: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The token carries the `admin` role: lists cover all projects.
    #[serde(default)]
    pub admin: bool,
    /// Service types in the token's catalog (for the region and interface used).
    #[serde(default)]
    pub services: BTreeSet<String>,
}

impl CloudInfo {
    /// Whether the catalog has a service of this type.
    pub fn has_service(&self, service_type: &str) -> bool {
        self.services.contains(service_type)
    }

    /// "cloud `NAME` (project P, region R)", for messages.
    pub fn describe(&self) -> String {
        let mut s = format!("cloud {}", self.name);
        let mut parts = Vec::new();
        if !self.project.is_empty() {
            parts.push(format!("project {}", self.project));
        }
        if let Some(region) = &self.region {
            parts.push(format!("region {region}"));
        }
        if !parts.is_empty() {
            s.push_str(&format!(" ({})", parts.join(", ")));
        }
        s
    }
}

/// A Nova server, from `GET /servers/detail`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Server {
    /// A UUID (some older clouds and test doubles send a number).
    #[serde(deserialize_with = "string_or_number")]
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// `ACTIVE`, `BUILD`, `ERROR`, `SHUTOFF`, `PAUSED`, `RESIZE`, `VERIFY_RESIZE`, `MIGRATING`,
    /// `UNKNOWN`...
    #[serde(default)]
    pub status: String,
    #[serde(
        rename = "OS-EXT-STS:task_state",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub task_state: Option<String>,
    #[serde(
        rename = "OS-EXT-STS:vm_state",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub vm_state: Option<String>,
    /// Set on servers in ERROR (and some in BUILD): why the last operation failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<Fault>,
    /// Network name → addresses on it.
    #[serde(default)]
    pub addresses: BTreeMap<String, Vec<Address>>,
    /// Last change of the server record (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// The compute host (admin only).
    #[serde(
        rename = "OS-EXT-SRV-ATTR:host",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub host: Option<String>,
    /// The hypervisor it runs on (admin only).
    #[serde(
        rename = "OS-EXT-SRV-ATTR:hypervisor_hostname",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub hypervisor_hostname: Option<String>,
}

impl Server {
    /// Every address of the server, with its network, in the API's order.
    pub fn all_addresses(&self) -> impl Iterator<Item = (&str, &Address)> {
        self.addresses
            .iter()
            .flat_map(|(net, addrs)| addrs.iter().map(move |a| (net.as_str(), a)))
    }

    /// "NAME (ID)", for messages.
    pub fn describe(&self) -> String {
        if self.name.is_empty() {
            self.id.clone()
        } else {
            format!("{} ({})", self.name, self.id)
        }
    }
}

/// A server fault (`fault` of `servers/detail`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    /// An HTTP-like status (500); some clouds send it as a string.
    #[serde(
        default,
        deserialize_with = "lenient_integer",
        skip_serializing_if = "Option::is_none"
    )]
    pub code: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
}

/// One address of a server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Address {
    pub addr: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u8>,
    /// `fixed` or `floating`.
    #[serde(
        rename = "OS-EXT-IPS:type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub kind: Option<String>,
}

/// A Nova service (`nova-compute`, `nova-scheduler`, `nova-conductor`...), from `os-services`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ComputeService {
    /// A number before microversion 2.53, a UUID after; absent for a service of a cell that
    /// does not answer (2.69+).
    #[serde(default, deserialize_with = "string_or_number")]
    pub id: String,
    pub binary: String,
    pub host: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// `enabled` or `disabled` (by an operator); `UNKNOWN` when its cell does not answer.
    pub status: String,
    /// `up` or `down` (heartbeat); empty when its cell does not answer.
    #[serde(default)]
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forced_down: Option<bool>,
}

/// A Nova hypervisor, from `os-hypervisors/detail`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Hypervisor {
    #[serde(deserialize_with = "string_or_number")]
    pub id: String,
    pub hypervisor_hostname: String,
    /// `up` or `down`.
    pub state: String,
    /// `enabled` or `disabled`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hypervisor_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<HypervisorService>,
    /// The servers it hosts, when asked for (`with_servers=true`, microversion 2.53+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub servers: Option<Vec<HostedServer>>,
}

/// The compute service of a hypervisor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HypervisorService {
    #[serde(default)]
    pub host: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
}

/// A server as a hypervisor lists it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostedServer {
    pub uuid: String,
    #[serde(default)]
    pub name: String,
}

/// A Cinder volume, from `volumes/detail`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Volume {
    pub id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// `available`, `in-use`, `error`, `error_deleting`, `error_restoring`,
    /// `error_extending`, `error_backing-up`...
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(
        rename = "os-vol-tenant-attr:tenant_id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub tenant_id: Option<String>,
    #[serde(
        rename = "os-vol-host-attr:host",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<VolumeAttachment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

/// Where a volume is attached.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VolumeAttachment {
    #[serde(default)]
    pub server_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
}

/// An Octavia load balancer, from `lbaas/loadbalancers`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadBalancer {
    pub id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// `ACTIVE`, `PENDING_*`, `DELETED`, `ERROR`.
    pub provisioning_status: String,
    /// `ONLINE`, `DRAINING`, `OFFLINE`, `DEGRADED`, `ERROR`, `NO_MONITOR`.
    pub operating_status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vip_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

/// A Neutron agent, from `agents`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworkAgent {
    pub id: String,
    pub binary: String,
    #[serde(default)]
    pub agent_type: String,
    pub host: String,
    /// Heartbeat seen recently.
    pub alive: bool,
    /// Enabled by the operator.
    pub admin_state_up: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_timestamp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
}

/// The reachability verdicts for the addresses of every ACTIVE server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerReachability {
    /// How addresses were probed this scan, and why (e.g. "TCP connect: unprivileged ICMP
    /// sockets are not allowed (net.ipv4.ping_group_range)").
    pub method_note: String,
    /// Per-attempt timeout, milliseconds.
    pub timeout_ms: u64,
    /// Attempts per address (1 + retries).
    pub attempts: u32,
    /// One entry per probed address, grouped by server in server order.
    pub probes: Vec<AddressProbe>,
}

/// One address of one server and what the probe found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddressProbe {
    pub server_id: String,
    pub network: String,
    pub address: String,
    /// How it was probed, in order (ICMP echo, then TCP connect when the echo got no reply).
    pub methods: Vec<ProbeMethod>,
    /// Something answered: an echo reply, an accepted connection, or a refused one (a TCP
    /// reset comes from the host's own network stack, so the host is up).
    pub answered: bool,
    /// What was seen, e.g. "tcp/22 accepted", "tcp/22 refused (the host answered)",
    /// "no ICMP echo reply in 3 attempts; tcp/22, tcp/443: no answer in 3 attempts".
    pub detail: String,
}

/// How an address was probed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ProbeMethod {
    /// ICMP echo over an unprivileged ICMP socket (`SOCK_DGRAM`, `IPPROTO_ICMP`).
    IcmpEcho,
    /// TCP connect to these ports.
    TcpConnect { ports: Vec<u16> },
}

impl std::fmt::Display for ProbeMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProbeMethod::IcmpEcho => f.write_str("ICMP echo"),
            ProbeMethod::TcpConnect { ports } => {
                let ports: Vec<String> = ports.iter().map(|p| p.to_string()).collect();
                write!(f, "TCP connect to port {}", ports.join(", "))
            }
        }
    }
}

/// The servers of the OpenStack clouds scanned with a cluster (see [`CLOUD_SERVERS`]).
#[derive(Debug, Clone, Default)]
pub struct CloudServers {
    pub clouds: Vec<CloudServerList>,
}

/// One cloud's servers, shared with the cloud's own target (not copied).
#[derive(Debug, Clone)]
pub struct CloudServerList {
    pub cloud: CloudInfo,
    pub servers: Arc<Vec<Server>>,
}

/// A JSON number or string, as a string (ids changed type across microversions).
fn string_or_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(serde_json::Number),
    }
    Ok(match Id::deserialize(deserializer)? {
        Id::Text(s) => s,
        Id::Number(n) => n.to_string(),
    })
}

/// `null` read as the type's default (Cinder and Octavia send `"name": null`).
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// An integer, also when written as a string (`"code": "500"`); anything else is `None`.
fn lenient_integer<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    Ok(match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}
