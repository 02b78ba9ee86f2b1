//! The Kubernetes detector catalogue: one detector per file, grouped by area, registered in
//! [`all`]. Each file's `//!` comment is the detector's documentation (see `build.rs`).

use detek_core::Detector;
use std::sync::Arc;

include!(concat!(env!("OUT_DIR"), "/detector_docs.rs"));

/// Declares a detector: its struct, metadata and the `detect` function it runs.
///
/// ```ignore
/// detector! {
///     FailedPod {
///         id: "failed_pod",
///         title: "Pods in phase Failed",
///         labels: ["workloads"],
///         level: Error,
///         requires: [PODS],
///     }
/// }
/// fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> { ... }
/// ```
macro_rules! detector {
    (
        $name:ident {
            id: $id:literal,
            title: $title:literal,
            labels: [$($label:literal),* $(,)?],
            level: $level:ident,
            requires: [$($key:expr),* $(,)?]
            $(, references: [$($reference:literal),* $(,)?])?
            $(,)?
        }
    ) => {
        pub struct $name;

        impl detek_core::Detector for $name {
            fn meta(&self) -> &detek_core::DetectorMeta {
                static META: std::sync::LazyLock<detek_core::DetectorMeta> =
                    std::sync::LazyLock::new(|| detek_core::DetectorMeta {
                        id: $id.into(),
                        title: $title.into(),
                        labels: vec![$($label.into()),*],
                        level: detek_core::Level::$level,
                        requires: vec![$($key.id()),*],
                        references: vec![$($($reference.into()),*)?],
                        docs: $crate::detectors::docs_for($id),
                        settings: Vec::new(),
                    });
                &META
            }

            fn detect(
                &self,
                ctx: &detek_core::DetectContext,
            ) -> Result<detek_core::Outcome, detek_core::DetectError> {
                detect(ctx)
            }
        }
    };
}
pub(crate) use detector;

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
    ENTRIES_SETTING as KNOWN_COMPONENT_ISSUE_ENTRIES, FILES_SETTING as KNOWN_COMPONENT_ISSUE_FILES,
    KnownComponentIssueEntry, parse_known_component_issues,
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
