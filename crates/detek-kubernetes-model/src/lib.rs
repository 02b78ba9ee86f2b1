//! detek's Kubernetes cluster model: the snapshot model every Kubernetes detector reads and its
//! keys (those the live collector produces included), ingestion of files/dumps/stdin, and the
//! snapshot collector. No HTTP here: the live collector (`detek-kubernetes-live`) fills the
//! same model from an API server.

pub mod clusters;
pub mod collector;
mod compact;
pub mod custom;
pub mod health;
pub mod helm;
pub mod history;
pub mod indexes;
pub mod ingest;
mod legacy;
pub mod logs;
pub mod model;
pub mod operators;
pub mod pod;
mod pod_status;
pub mod pods;
pub mod secrets;
pub mod suppress;
pub mod version;
pub mod written;

pub use collector::SnapshotCollector;
pub use ingest::Input;
