//! What the node collector reads from each host: `node/hosts`.

use detek_core::{Key, ObjectRef};
use std::collections::BTreeMap;

/// One host checked over SSH: where it came from and what it answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    /// The name findings use: the Node's name when the host came from the cluster, else the
    /// address as given.
    pub name: String,
    /// The address connected to (`10.0.0.12`, `node-1:2222`).
    pub address: String,
    /// The group it belongs to (a node pool, or a group of the hosts file): drift is judged
    /// within a group.
    pub group: String,
    /// The Node object, when the host came from the cluster's Nodes.
    pub node: Option<ObjectRef>,
    /// What was read, or why it could not be.
    pub facts: Result<Facts, String>,
}

/// What a host's fixed, read-only commands returned.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    /// `uname -r`.
    pub kernel_release: String,
    /// `PRETTY_NAME` of `/etc/os-release`.
    pub os: String,
    /// Seconds since boot (`/proc/uptime`), when readable.
    pub uptime_seconds: Option<u64>,
    /// The container runtime's `--version` line (containerd, CRI-O or Docker), when one is
    /// installed on the host's `PATH`.
    pub runtime: Option<String>,
    /// Kernel parameters by sysctl name (`net.ipv4.ip_forward`), as read from `/proc/sys`,
    /// whitespace-normalised; a parameter the kernel does not have is absent.
    pub sysctl: BTreeMap<String, String>,
}

impl Host {
    /// The reference findings name: the Node when there is one, else the host.
    pub fn object_ref(&self) -> ObjectRef {
        self.node
            .clone()
            .unwrap_or_else(|| ObjectRef::new("Host", None, self.name.clone()))
    }
}

/// Every host of the scan, in the order given.
pub const HOSTS: Key<Vec<Host>> = Key::new("node/hosts");
