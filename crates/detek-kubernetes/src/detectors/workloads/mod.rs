//! Workloads: Pods and their controllers.

use detek_core::Detector;
use std::sync::Arc;

mod failed_pod;
mod image_tag_latest;

pub(super) fn all() -> Vec<Arc<dyn Detector>> {
    vec![
        Arc::new(failed_pod::FailedPod),
        Arc::new(image_tag_latest::ImageTagLatest),
    ]
}
