//! The OpenStack detectors, one per file, registered in [`all`]. Each is declared with
//! `#[detector]` (detek-macros), documented by its `///` comment, and declares its settings
//! with `#[derive(DetectorSettings)]`.

use detek_core::Detector;
use std::sync::Arc;

/// Register every OpenStack detector into the catalogue.
pub fn register(catalogue: &mut detek_core::Catalogue) -> Result<(), detek_core::CatalogueError> {
    for detector in all() {
        catalogue.register(detector)?;
    }
    Ok(())
}

/// Every OpenStack detector, in catalogue order.
pub fn all() -> Vec<Arc<dyn Detector>> {
    Vec::new()
}
