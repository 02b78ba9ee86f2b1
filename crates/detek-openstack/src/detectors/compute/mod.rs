//! Nova: servers, compute services, hypervisors.

pub(crate) mod openstack_compute_service_down;
pub(crate) mod openstack_failed_server;
pub(crate) mod openstack_hypervisor_down;
pub(crate) mod openstack_stuck_server;
pub(crate) mod openstack_unreachable_server;
