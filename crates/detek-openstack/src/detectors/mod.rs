//! The OpenStack detectors: one detector per file, grouped by service area, registered in
//! [`all`]. Each is declared with `#[detector]` (detek-macros), documented by its `///`
//! comment, and declares its settings with `#[derive(DetectorSettings)]`; code shared across
//! files lives in [`helpers`].
//!
//! `kubernetes/node_vm_not_active` joins a cluster's Nodes to their VMs: it reads the Node key
//! of `detek-kubernetes-model` and `openstack/cloud-servers` (ARCHITECTURE.md, "Kubernetes on
//! OpenStack").

use detek_core::Detector;
use std::sync::Arc;

mod helpers;

mod block_storage;
mod compute;
mod kubernetes;
mod network;

pub use compute::openstack_unreachable_server::UnreachableServerSettings;

/// Register every OpenStack detector into the catalogue.
pub fn register(catalogue: &mut detek_core::Catalogue) -> Result<(), detek_core::CatalogueError> {
    for detector in all() {
        catalogue.register(detector)?;
    }
    Ok(())
}

/// Every OpenStack detector, in catalogue order.
pub fn all() -> Vec<Arc<dyn Detector>> {
    vec![
        Arc::new(compute::openstack_failed_server::OpenstackFailedServer),
        Arc::new(compute::openstack_unreachable_server::OpenstackUnreachableServer),
        Arc::new(compute::openstack_stuck_server::OpenstackStuckServer),
        Arc::new(compute::openstack_compute_service_down::OpenstackComputeServiceDown),
        Arc::new(compute::openstack_hypervisor_down::OpenstackHypervisorDown),
        Arc::new(block_storage::openstack_volume_error::OpenstackVolumeError),
        Arc::new(network::openstack_loadbalancer_error::OpenstackLoadbalancerError),
        Arc::new(network::openstack_network_agent_down::OpenstackNetworkAgentDown),
        Arc::new(kubernetes::node_vm_not_active::NodeVmNotActive),
    ]
}
