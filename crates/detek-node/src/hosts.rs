//! Which hosts to check: a list (`--ssh-hosts`, a hosts file, `ssh.hosts` in `detek.yaml`) or
//! the cluster's Node objects, grouped by node pool.

use detek_core::ObjectRef;
use detek_kubernetes_model::model::Item;
use k8s_openapi::api::core::v1::Node;
use std::sync::Arc;

/// Node labels that name a node's pool, the first present wins (GKE, EKS, AKS, Magnum, and
/// the instance type as a last resort).
pub const DEFAULT_POOL_LABELS: &[&str] = &[
    "cloud.google.com/gke-nodepool",
    "eks.amazonaws.com/nodegroup",
    "agentpool",
    "magnum.openstack.org/nodegroup",
    "node.kubernetes.io/instance-type",
];

/// The group of hosts given without one, and of Nodes without a pool label.
pub const DEFAULT_GROUP: &str = "default";

/// One host to check, before it is read.
#[derive(Debug, Clone, PartialEq)]
pub struct HostSpec {
    /// How findings name it: the Node's name, or the host as given.
    pub name: String,
    /// Host name or IP address to connect to.
    pub host: String,
    /// Port, when given (`host:2222`); else the configured one.
    pub port: Option<u16>,
    /// User, when given (`core@host`); else the configured one.
    pub user: Option<String>,
    pub group: String,
    pub node: Option<ObjectRef>,
}

impl HostSpec {
    /// `host`, `host:port`, `user@host[:port]`, `[v6]:port`.
    pub fn parse(text: &str, group: &str) -> Result<HostSpec, String> {
        let text = text.trim();
        let (user, rest) = match text.rsplit_once('@') {
            Some((user, rest)) if !user.is_empty() => (Some(user.to_string()), rest),
            Some(_) => return Err(format!("{text:?}: empty user before @")),
            None => (None, text),
        };
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("{text:?}: no closing ] after an IPv6 address"))?;
            match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None if after.is_empty() => (host, None),
                None => return Err(format!("{text:?}: expected :PORT after ]")),
            }
        } else if rest.matches(':').count() > 1 {
            // A bare IPv6 address: no port.
            (rest, None)
        } else {
            match rest.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (rest, None),
            }
        };
        if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c == '/') {
            return Err(format!("{text:?}: not a host name or address"));
        }
        let port = match port {
            Some(p) => Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| format!("{text:?}: port {p:?} is not 1-65535"))?,
            ),
            None => None,
        };
        Ok(HostSpec {
            name: text.to_string(),
            host: host.to_string(),
            port,
            user,
            group: group.to_string(),
            node: None,
        })
    }
}

/// A comma-separated list (`10.0.0.11,10.0.0.12:2222,core@node-3`), all in one group.
pub fn parse_list(list: &str, group: &str) -> Result<Vec<HostSpec>, String> {
    list.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| HostSpec::parse(s, group))
        .collect()
}

/// A hosts file, in the shape of an Ansible INI inventory's host lines: `[group]` starts a
/// group, every other line is one host (`host`, `host:port`, `user@host`), `#` starts a
/// comment. Errors name the file and line.
pub fn parse_file(text: &str, origin: &str) -> Result<Vec<HostSpec>, String> {
    let mut group = DEFAULT_GROUP.to_string();
    let mut hosts = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[') {
            let name = name
                .strip_suffix(']')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .ok_or_else(|| format!("{origin}:{}: expected [group]", i + 1))?;
            group = name.to_string();
            continue;
        }
        // Ansible's `host key=value` variables are not ours: only the first word is the host.
        let first = line.split_whitespace().next().unwrap_or(line);
        hosts.push(HostSpec::parse(first, &group).map_err(|e| format!("{origin}:{}: {e}", i + 1))?);
    }
    Ok(hosts)
}

/// The hosts of a cluster: each Node's InternalIP (else its first address), grouped by the
/// first of `pool_labels` it has. Nodes without an address come back apart (`host` empty),
/// to be reported as not reachable.
pub fn from_nodes(
    nodes: &[Arc<Item<Node>>],
    pool_labels: &[String],
) -> (Vec<HostSpec>, Vec<HostSpec>) {
    let mut hosts = Vec::new();
    let mut without_address = Vec::new();
    for node in nodes {
        let labels = node.metadata.labels.as_ref();
        let group = pool_labels
            .iter()
            .find_map(|l| labels.and_then(|labels| labels.get(l)))
            .map_or_else(|| DEFAULT_GROUP.to_string(), String::clone);
        let addresses = node
            .status
            .as_ref()
            .and_then(|s| s.addresses.as_deref())
            .unwrap_or_default();
        let address = addresses
            .iter()
            .find(|a| a.type_ == "InternalIP")
            .or_else(|| addresses.first())
            .map(|a| a.address.clone());
        let spec = HostSpec {
            name: node.name().to_string(),
            host: address.clone().unwrap_or_default(),
            port: None,
            user: None,
            group,
            node: Some(node.object_ref()),
        };
        if address.is_some() {
            hosts.push(spec);
        } else {
            without_address.push(spec);
        }
    }
    (hosts, without_address)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_forms() {
        let h = HostSpec::parse("core@10.0.0.5:2222", "g").unwrap();
        assert_eq!(
            (h.user.as_deref(), h.host.as_str(), h.port),
            (Some("core"), "10.0.0.5", Some(2222))
        );
        let h = HostSpec::parse("[fd00::5]:22", "g").unwrap();
        assert_eq!((h.host.as_str(), h.port), ("fd00::5", Some(22)));
        let h = HostSpec::parse("fd00::5", "g").unwrap();
        assert_eq!((h.host.as_str(), h.port), ("fd00::5", None));
        assert_eq!(
            HostSpec::parse("node-1:99999", "g").unwrap_err(),
            "\"node-1:99999\": port \"99999\" is not 1-65535"
        );
        assert_eq!(
            HostSpec::parse("a b", "g").unwrap_err(),
            "\"a b\": not a host name or address"
        );
    }

    #[test]
    fn a_hosts_file_has_groups_comments_and_line_numbered_errors() {
        let text = "# workers\nnode-0\n[pool-a]\n10.0.0.1:2222 ansible_user=core\n\n[pool-b]  \n core@10.0.0.2\n";
        let hosts = parse_file(text, "hosts.ini").unwrap();
        let got: Vec<(&str, &str)> = hosts
            .iter()
            .map(|h| (h.group.as_str(), h.name.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("default", "node-0"),
                ("pool-a", "10.0.0.1:2222"),
                ("pool-b", "core@10.0.0.2")
            ]
        );
        assert_eq!(
            parse_file("[ok]\n[]\n", "h").unwrap_err(),
            "h:2: expected [group]"
        );
        assert_eq!(
            parse_file("a\nb:x\n", "h").unwrap_err(),
            "h:2: \"b:x\": port \"x\" is not 1-65535"
        );
    }
}
