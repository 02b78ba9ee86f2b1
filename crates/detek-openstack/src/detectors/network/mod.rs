//! Neutron agents and Octavia load balancers.

pub(crate) mod openstack_loadbalancer_error;
pub(crate) mod openstack_network_agent_down;
