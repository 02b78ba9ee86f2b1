//! detek's OpenStack integration (DESIGN.md §3): the model (`model`: keys and the API types
//! detectors read), the detectors (`detectors`, one per file, registered by [`register`]), the
//! reachability probe (`probe`: the collector step that tells whether ACTIVE servers answer),
//! and the cloud's client and collectors.
//!
//! `node_vm_not_active` joins a cluster's Nodes (the key from `detek-kubernetes-model`) to the
//! servers of the clouds scanned with it (`model::CLOUD_SERVERS`); see ARCHITECTURE.md,
//! "Kubernetes on OpenStack".

pub mod auth;
pub mod client;
pub mod clouds;
pub mod collector;
pub mod detectors;
pub mod model;
pub(crate) mod prelude;
pub mod probe;
pub mod testing;

pub use collector::collectors;
pub use detectors::register;
