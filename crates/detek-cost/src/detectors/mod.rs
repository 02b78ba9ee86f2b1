//! The cost detectors: one per file, declared with `#[detector]`, documented by its `///`
//! comment; registered in [`all`].

use detek_core::Detector;
use std::sync::Arc;

pub mod cloud_cost_anomaly;

pub use cloud_cost_anomaly::CostAnomalySettings;

/// Register every cost detector into the catalogue.
pub fn register(catalogue: &mut detek_core::Catalogue) -> Result<(), detek_core::CatalogueError> {
    for detector in all() {
        catalogue.register(detector)?;
    }
    Ok(())
}

/// Every cost detector, in catalogue order.
pub fn all() -> Vec<Arc<dyn Detector>> {
    vec![Arc::new(cloud_cost_anomaly::CloudCostAnomaly)]
}
