//! What the cost collector reads: `cost/daily-by-service`, the daily cost of every service of
//! an AWS account (or the accounts a payer account sees) over a period, as Cost Explorer's
//! `GetCostAndUsage` reports it (DAILY, one metric, grouped by the `SERVICE` dimension).
//!
//! No HTTP here: detectors read these types; the collector (`collector.rs`) fills them.

use detek_core::{Key, ObjectRef};
use jiff::civil::Date;

/// The daily costs of a period, per service.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyCosts {
    /// Where the numbers come from, for messages: "AWS Cost Explorer (profile prod)".
    pub source: String,
    /// The cost metric (`UnblendedCost`).
    pub metric: String,
    /// Every day of the period, oldest first, one entry per day Cost Explorer answered for
    /// (the period's `Start` to its exclusive `End`).
    pub days: Vec<Day>,
    /// Every service that cost anything on some day of the period, by name.
    pub services: Vec<ServiceCosts>,
}

/// One day of the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day {
    pub date: Date,
    /// Cost Explorer marks days whose data is not final yet (`Estimated: true`).
    pub estimated: bool,
}

/// One service's cost on each day of the period.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceCosts {
    /// The `SERVICE` dimension value: "Amazon Elastic Compute Cloud - Compute", "EC2 - Other".
    pub service: String,
    /// The currency of the amounts (`USD`).
    pub unit: String,
    /// The cost of each day of [`DailyCosts::days`], same order; 0 for a day the service has no
    /// entry (it cost nothing that day).
    pub amounts: Vec<f64>,
}

impl ServiceCosts {
    /// The reference findings name: the service, as a cloud object of kind `CloudService`.
    pub fn object_ref(&self) -> ObjectRef {
        service_ref(&self.service)
    }
}

/// A service as findings name it: kind `CloudService`, no namespace, the service's name.
pub fn service_ref(service: &str) -> ObjectRef {
    ObjectRef::new("CloudService", None, service)
}

/// The daily cost of every service over the period the collector asked for.
pub const DAILY_BY_SERVICE: Key<DailyCosts> = Key::new("cost/daily-by-service");
