//! Detectors of the engine itself, registered by [`register`](crate::register).

pub mod collector_reports;
