//! The detek engine.
//!
//! * [`Key`] — a typed name in the per-scan [`Store`].
//! * [`Collector`] — does I/O and writes keys; [`Detector`] — pure logic reading keys.
//! * [`plan`] — from selected detectors to the collectors they need, in dependency order.
//! * [`run`] — collectors concurrently (tokio), detectors in parallel (rayon), everything timed,
//!   panics and missing inputs turned into `Unknown` reports.
//! * [`report`] — the report model every renderer reads.

mod key;
mod level;
mod plan;
pub mod report;
mod runner;
mod settings;
mod store;
mod traits;

pub use key::{Key, KeyId};
pub use level::Level;
pub use plan::{Plan, PlanError, PlannedCollector, Unrunnable, plan};
pub use report::{
    Attachment, CollectorStatus, Diagnostic, Finding, ObjectRef, Report, ReportList, ScanStatus,
    SourceLocation, Summary, Target,
};
pub use runner::{Progress, RunOptions, Silent, Suppressor, run, unknown_report};
pub use settings::Settings;
pub use store::{Missing, Store};
pub use traits::{
    BoxFuture, CollectContext, CollectError, Collector, CollectorMeta, DetectContext, DetectError,
    Detector, DetectorMeta, Docs, Outcome, Produced,
};
