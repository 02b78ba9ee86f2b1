//! What detector files import: `use crate::prelude::*;`.
#![allow(unused_imports)]

pub use crate::model::*;
pub use detek_core::{DetectContext, DetectError, Finding, Level, ObjectRef, Outcome};
pub use detek_macros::{DetectorSettings, detector};
pub use serde::{Deserialize, Serialize};
