//! What detector files import: `use crate::prelude::*;`.
#![allow(unused_imports)]

pub use crate::model::*;
pub use crate::pods::{
    PodSpecView, WorkloadTemplate, WorkloadTemplates, label_selector_matches, pod_specs,
    selector_matches,
};
pub use detek_core::{DetectContext, DetectError, Finding, Level, ObjectRef, Outcome};
pub use detek_macros::{DetectorSettings, detector};
pub use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};
pub use serde::{Deserialize, Serialize};
