//! detek's Kubernetes detectors, and the kit their tests use (fixtures, store fixtures). They
//! read the cluster model of `detek-kubernetes-model`, which the snapshot collector and the live
//! collector (`detek-kubernetes-live`, never a dependency here) both fill.

pub mod detectors;
pub mod fixture;
pub mod forensics;
pub(crate) mod prelude;
pub mod testing;

// The model's modules under the paths detector files and their tests use (`crate::model::...`,
// `crate::pods::...`, `crate::version::...`, `crate::Input`); `Input` is what `testing` takes.
pub use detek_kubernetes_model::{
    Input, collector, indexes, ingest, model, pods, secrets, version, written,
};

pub use detectors::register;
