//! What detector files import: `use crate::prelude::*;`.
#![allow(unused_imports)]

pub use crate::model::*;
pub use crate::pods::{
    Controller, PodSpecView, PodSpecs, PodsByLabel, WithRevision, WorkloadTemplate,
    WorkloadTemplates, label_selector_matches, selector_matches, service_selects,
};
pub use detek_core::{DetectContext, DetectError, Finding, Level, ObjectRef, Outcome};
pub use detek_kubernetes_model::history::CONTAINER_HISTORY;
pub use detek_kubernetes_model::logs::PREVIOUS_LOGS;
pub use detek_kubernetes_model::pod::Pod;
pub use detek_macros::{DetectorSettings, detector};
pub use k8s_openapi::api::core::v1::{Container, PodSpec};
pub use serde::{Deserialize, Serialize};
