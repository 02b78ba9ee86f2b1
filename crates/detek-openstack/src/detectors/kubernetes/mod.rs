//! Kubernetes on OpenStack: a cluster's objects joined to the cloud's.

pub(crate) mod node_vm_not_active;
