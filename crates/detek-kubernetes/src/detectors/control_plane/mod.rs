//! Control plane: the health of the cluster's own components, as a live scan sees them.

use detek_core::Detector;
use std::sync::Arc;

mod apiserver_unhealthy;

pub(super) fn all() -> Vec<Arc<dyn Detector>> {
    vec![Arc::new(apiserver_unhealthy::ApiserverUnhealthy)]
}
