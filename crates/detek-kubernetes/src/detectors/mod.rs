//! The Kubernetes detector catalogue: one detector per file, grouped by area, registered in
//! [`all`]. Each detector is declared with `#[detector]` (detek-macros), documented by its
//! `///` comment, and declares its settings with `#[derive(DetectorSettings)]`.
//!
//! A detector file holds one detector and nothing another file uses. Shared code lives in the
//! area's `mod.rs` (its common model: Services and selectors, webhooks, the API table) or
//! `helpers.rs` (`security/helpers/`, one file per topic), and code shared across areas in
//! [`helpers`] (container image references).

use detek_core::Detector;
use std::sync::Arc;

mod helpers;

mod admission;
mod certificates;
mod cluster;
mod control_plane;
mod networking;
mod nodes;
mod references;
mod security;
mod state;
mod workloads;

pub use cluster::known_component_issue::{
    ENTRIES_SETTING as KNOWN_COMPONENT_ISSUE_ENTRIES, KnownComponentIssueEntry,
    parse_known_component_issues,
};
pub use cluster::{ApiRow, ApiTable, parse_api_lifecycle_table};

/// Register every Kubernetes detector, and the scan-wide settings they read, into the
/// catalogue.
pub fn register(catalogue: &mut detek_core::Catalogue) -> Result<(), detek_core::CatalogueError> {
    for detector in all() {
        catalogue.register(detector)?;
    }
    catalogue.declare_global(detek_core::SettingSpec::new(
        "kubernetes.target_version",
        detek_core::SettingType::String,
        serde_json::Value::Null,
        "Kubernetes version to judge deprecated and removed APIs against (config: \
         `targetVersion`, flag: `--target-version`)",
    ));
    Ok(())
}

/// Every Kubernetes detector, in catalogue order.
pub fn all() -> Vec<Arc<dyn Detector>> {
    let mut detectors: Vec<Arc<dyn Detector>> = Vec::new();
    detectors.extend(workloads::all());
    detectors.extend(networking::all());
    detectors.extend(certificates::all());
    detectors.extend(admission::all());
    detectors.extend(nodes::all());
    detectors.extend(cluster::all());
    detectors.extend(references::all());
    detectors.extend(state::all());
    detectors.extend(control_plane::all());
    detectors.extend(security::all());
    detectors
}
