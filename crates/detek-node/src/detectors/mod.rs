//! The node detectors: one per file, declared with `#[detector]`, documented by its `///`
//! comment; registered in [`all`].

use detek_core::Detector;
use std::sync::Arc;

pub mod kernel_param_drift;
pub mod kernel_param_mismatch;
pub mod node_kernel_known_issue;
pub mod node_unreachable_ssh;

/// Register every node detector into the catalogue.
pub fn register(catalogue: &mut detek_core::Catalogue) -> Result<(), detek_core::CatalogueError> {
    for detector in all() {
        catalogue.register(detector)?;
    }
    Ok(())
}

/// Every node detector, in catalogue order.
pub fn all() -> Vec<Arc<dyn Detector>> {
    vec![
        Arc::new(kernel_param_mismatch::KernelParamMismatch),
        Arc::new(kernel_param_drift::KernelParamDrift),
        Arc::new(node_kernel_known_issue::NodeKernelKnownIssue),
        Arc::new(node_unreachable_ssh::NodeUnreachableSsh),
    ]
}
