use crate::prelude::*;
use detek_kubernetes_model::model::NODES;
use std::collections::HashMap;

/// ## What it detects
/// Kubernetes Nodes whose virtual machine is not running: a Node whose `spec.providerID` is
/// `openstack:///<server-id>` (set by the OpenStack cloud provider; `openstack://REGION/ID`
/// too) is joined to the Nova server of that id among the clouds scanned with the cluster, and
/// the finding names both when the server is `ERROR` (with its fault), `SHUTOFF`, `PAUSED`,
/// `SUSPENDED`, `SHELVED`/`SHELVED_OFFLOADED` or (soft-)deleted — or missing from the cloud.
/// A missing server is only reported when the cluster evidently runs in the scanned project:
/// at least one of its Nodes is among the cloud's servers; otherwise the detector says it
/// could not judge. Runs when a scan holds both a cluster and an OpenStack cloud (`detek run
/// --context C --os-cloud O`), in the cluster's section; skipped otherwise.
///
/// ## Why it matters
/// The Node object outlives its machine: until the node controller notices (40 s to
/// minutes) and the cloud provider deletes the Node, Pods stay bound to a VM that is off,
/// failed or gone — they are counted as running, PodDisruptionBudgets count them, and
/// StatefulSet Pods are not rescheduled at all. A Node whose VM was deleted behind
/// Kubernetes' back (or an orphan whose providerID points nowhere) is capacity that does not
/// exist.
///
/// ## How to fix
/// `kubectl describe node NODE` and `openstack server show SERVER-ID` (status, fault). If
/// the VM was stopped by mistake, `openstack server start ID` (`unpause`, `resume`,
/// `unshelve`). If it failed or is gone, drain and delete the Node (`kubectl drain NODE
/// --ignore-daemonsets --delete-emptydir-data`, `kubectl delete node NODE`) and let the
/// machine controller (Cluster API, the node group) create a replacement; check that the
/// OpenStack cloud controller manager runs, since it should delete Nodes of deleted VMs.
///
/// ## Example
/// ```yaml
/// kind: Node
/// metadata: {name: worker-1}
/// spec:
///   providerID: openstack:///2d05bd68-3fbb-4b47-9f38-c690a5d93e45   # server in ERROR: fires
/// ```
#[detector(
    id = "node_vm_not_active",
    title = "Kubernetes Nodes whose OpenStack VM is not running",
    labels = ["kubernetes", "openstack", "nodes"],
    level = Error,
    requires = [NODES, CLOUD_SERVERS],
    references = [
        "https://github.com/kubernetes/cloud-provider-openstack/blob/master/docs/openstack-cloud-controller-manager/using-openstack-cloud-controller-manager.md",
        "https://docs.openstack.org/api-guide/compute/server_concepts.html#server-status",
    ],
)]
pub struct NodeVmNotActive;

/// Server statuses in which the VM does not run.
const NOT_RUNNING: &[&str] = &[
    "ERROR",
    "SHUTOFF",
    "PAUSED",
    "SUSPENDED",
    "SHELVED",
    "SHELVED_OFFLOADED",
    "SOFT_DELETED",
    "DELETED",
];

/// The region (empty for `openstack:///ID`) and server id of an OpenStack providerID.
fn parse_provider_id(provider_id: &str) -> Option<(&str, &str)> {
    let rest = provider_id.strip_prefix("openstack://")?;
    let (region, id) = rest.rsplit_once('/')?;
    (!id.is_empty()).then_some((region, id))
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let nodes = ctx.get(&NODES)?;
    let clouds = ctx.get(&CLOUD_SERVERS)?;
    let mut servers: HashMap<&str, (&CloudInfo, &Server)> = HashMap::new();
    for list in &clouds.clouds {
        for server in list.servers.iter() {
            servers.insert(server.id.as_str(), (&list.cloud, server));
        }
    }
    let on_openstack: Vec<_> = nodes
        .iter()
        .filter_map(|node| {
            let provider_id = node.spec.as_ref()?.provider_id.as_deref()?;
            let (region, id) = parse_provider_id(provider_id)?;
            Some((node, provider_id, region, id))
        })
        .collect();
    let mut out = Outcome::new().evaluated(on_openstack.len());
    let matched = on_openstack
        .iter()
        .filter(|(_, _, _, id)| servers.contains_key(id))
        .count();
    let mut missing = Vec::new();
    for (node, provider_id, region, id) in &on_openstack {
        let ready = node
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
            .map(|c| format!("Node condition Ready={}", c.status));
        let Some((cloud, server)) = servers.get(id) else {
            // A region other than the clouds' own: another cloud, not judged here.
            let other_region = !region.is_empty()
                && clouds
                    .clouds
                    .iter()
                    .all(|c| c.cloud.region.as_deref().is_some_and(|r| r != *region));
            if !other_region {
                missing.push((node, provider_id, ready));
            }
            continue;
        };
        if !NOT_RUNNING.contains(&server.status.as_str()) {
            continue;
        }
        let mut message = format!(
            "Node {}: its VM, server {} of {}, is {}",
            node.name(),
            server.describe(),
            cloud.describe(),
            server.status
        );
        if let Some(fault) = &server.fault {
            let code = fault.code.map(|c| format!(" {c}")).unwrap_or_default();
            if let Some(text) = fault.message.as_deref().filter(|m| !m.is_empty()) {
                message.push_str(&format!(" (fault{code}: {text})"));
            }
        }
        let mut finding = Finding::new(Level::Error, Some(node.object_ref()), message)
            .with_discriminator(*id)
            .with_evidence(format!("providerID {provider_id}"));
        if let Some(ready) = ready {
            finding = finding.with_evidence(ready);
        }
        if let Some(vm_state) = &server.vm_state {
            finding = finding.with_evidence(format!("server vm_state {vm_state}"));
        }
        out.push(finding);
    }
    if matched == 0 && !missing.is_empty() {
        let names: Vec<&str> = missing.iter().map(|(n, _, _)| n.name()).collect();
        return Ok(out.not_judged(format!(
            "none of the cluster's {} OpenStack Nodes is among the servers of the scanned \
             clouds: the cluster runs in another project or cloud ({})",
            missing.len(),
            names.join(", ")
        )));
    }
    let scanned: Vec<String> = clouds.clouds.iter().map(|c| c.cloud.describe()).collect();
    for (node, provider_id, ready) in missing {
        let id = parse_provider_id(provider_id).map_or("", |(_, id)| id);
        let mut finding = Finding::new(
            Level::Error,
            Some(node.object_ref()),
            format!(
                "Node {}: its VM, server {id}, does not exist in {}",
                node.name(),
                scanned.join(", ")
            ),
        )
        .with_discriminator(id)
        .with_evidence(format!("providerID {provider_id}"));
        if let Some(ready) = ready {
            finding = finding.with_evidence(ready);
        }
        out.push(finding);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::parse_provider_id;
    use crate::testing::{finding_lines, scan_fixture};

    #[test]
    fn reads_provider_ids_with_and_without_region() {
        assert_eq!(
            parse_provider_id("openstack:///2d05bd68-3fbb-4b47-9f38-c690a5d93e45"),
            Some(("", "2d05bd68-3fbb-4b47-9f38-c690a5d93e45"))
        );
        assert_eq!(
            parse_provider_id("openstack://RegionOne/abc"),
            Some(("RegionOne", "abc"))
        );
        assert_eq!(parse_provider_id("aws:///eu-west-1a/i-0abc"), None);
        assert_eq!(parse_provider_id("openstack:///"), None);
    }

    #[test]
    fn names_the_node_and_its_failed_or_missing_server() {
        let list = scan_fixture("node_vm_not_active/fail.json", &["node_vm_not_active"]);
        let report = &list.reports[0];
        assert_eq!(
            finding_lines(report),
            [
                "Node/worker-error: Node worker-error: its VM, server test_vm \
                 (2d05bd68-3fbb-4b47-9f38-c690a5d93e45) of cloud test (project demo, region \
                 RegionOne), is ERROR (fault 500: The server has either erred or is incapable \
                 of performing the requested operation. (HTTP 500) (Request-ID: \
                 req-5ec1e01c-bc04-43e7-957d-c810d4357908))",
                "Node/worker-gone: Node worker-gone: its VM, server \
                 0b2c9ea1-5d1f-4c3e-9a7b-000000000000, does not exist in cloud test (project \
                 demo, region RegionOne)",
            ]
        );
        assert_eq!(
            report.findings[0].evidence,
            [
                "providerID openstack:///2d05bd68-3fbb-4b47-9f38-c690a5d93e45",
                "Node condition Ready=Unknown",
                "server vm_state error",
            ]
        );
        // The ACTIVE server's Node and the Node of another provider are not findings.
        assert_eq!(report.evaluated, Some(3));
    }

    #[test]
    fn a_cluster_of_another_project_is_not_judged() {
        let list = scan_fixture(
            "node_vm_not_active/other-project.json",
            &["node_vm_not_active"],
        );
        let report = &list.reports[0];
        assert_eq!(report.result, detek_core::ReportResult::NotJudged);
        assert_eq!(
            report.note.as_deref(),
            Some(
                "none of the cluster's 2 OpenStack Nodes is among the servers of the scanned \
                 clouds: the cluster runs in another project or cloud (worker-error, worker-gone)"
            )
        );
    }

    #[test]
    fn a_scan_without_a_cloud_or_without_a_cluster_skips_it() {
        // A cloud's own target: servers, but no Nodes and no cloud-servers seam key.
        let list = scan_fixture(
            "openstack_failed_server/fail.json",
            &["node_vm_not_active", "openstack_failed_server"],
        );
        assert_eq!(
            list.skipped["node_vm_not_active"],
            "this target provides no kubernetes/nodes, openstack/cloud-servers (needs a live \
             cluster)"
        );
        // A cluster alone: Nodes, no cloud.
        let list = scan_fixture(
            "node_vm_not_active/cluster-only.json",
            &["node_vm_not_active"],
        );
        assert_eq!(
            list.skipped["node_vm_not_active"],
            "this target provides no openstack/cloud-servers (needs an OpenStack cloud)"
        );
    }
}
