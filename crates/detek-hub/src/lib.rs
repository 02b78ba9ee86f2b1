//! The fleet hub (DESIGN.md §7): the registry of targets, every scan's ReportList and its
//! findings in SQLite or PostgreSQL (`db`), the scheduler that scans targets on an interval
//! or in one pass, sharded over a Kubernetes Indexed Job (`scheduler`), and the web dashboard,
//! REST API and `/metrics` (`http`).
//!
//! The hub never depends on a detector crate or a collector: the binary hands it a `Scanner`
//! that turns one target into a ReportList, so the hub composes scans the way `detek run` does.

pub mod db;
pub mod demo;
pub mod http;
pub mod scheduler;
pub mod targets;
