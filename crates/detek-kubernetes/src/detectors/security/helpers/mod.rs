//! Code shared by the security detectors, by topic. `security/mod.rs` re-exports it, so a
//! detector file imports `use super::{containers, flag_rules, ...}`.

pub(super) mod containers;
pub(super) mod literal_secrets;
pub(super) mod rbac;
