//! What detector files import: `use crate::prelude::*;`.
#![allow(unused_imports)]

pub(crate) use crate::detectors::detector;
pub use crate::model::*;
pub use crate::pods::{
    PodSpecView, WorkloadTemplate, WorkloadTemplates, label_selector_matches, pod_specs,
    selector_matches,
};
pub use detek_core::{DetectContext, DetectError, Finding, Level, ObjectRef, Outcome};
pub use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};
