//! detek's cloud-cost integration (issue 18): the daily cost of every service of an AWS
//! account, read from the Cost Explorer API (`GetCostAndUsage`, through the official SDK and
//! the standard AWS credential chain), and `cloud_cost_anomaly`, which reports the days a
//! service's cost jumped over its own trailing baseline.
//!
//! The model (`model`: the `cost/…` key and its types, no HTTP), the detectors (`detectors`,
//! one per file, registered by [`register`]) and the collector (`collector`: the SDK client,
//! pagination, failures as reasons without secrets). docs/cost.md says what was tested against
//! a replay of the API and what was not tested against AWS.

pub mod collector;
pub mod detectors;
pub mod model;
mod prelude;
#[doc(hidden)]
pub mod testing;

pub use collector::{CostExplorerCollector, CostOptions};
pub use detectors::{all, register};
