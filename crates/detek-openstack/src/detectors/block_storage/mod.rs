//! Cinder: volumes.

pub(crate) mod openstack_volume_error;
