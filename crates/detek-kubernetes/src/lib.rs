//! detek's Kubernetes room: the snapshot model every Kubernetes detector reads, the
//! collectors that fill it (files and dumps; the live API), and the detectors.

pub mod collector;
pub mod detectors;
pub mod ingest;
mod legacy;
pub mod live;
pub mod model;
pub mod pods;
pub(crate) mod prelude;
pub mod secrets;
pub mod suppress;
pub mod testing;
pub mod version;

pub use collector::SnapshotCollector;
pub use ingest::Input;
pub use live::{LiveCollector, LiveOptions};

pub use detectors::register;
