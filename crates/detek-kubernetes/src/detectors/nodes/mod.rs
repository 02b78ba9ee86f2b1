//! Nodes detectors.

use detek_core::Detector;
use std::sync::Arc;

pub(super) fn all() -> Vec<Arc<dyn Detector>> {
    vec![]
}
