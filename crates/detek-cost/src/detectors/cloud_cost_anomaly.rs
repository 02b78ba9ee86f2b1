use crate::prelude::*;

/// ## What it detects
/// Services of an AWS account whose daily cost jumped: a day costing more than `ratio` (2)
/// times the mean of the `window_days` (7) days before it, among the last `judged_days` (14)
/// full days, as Cost Explorer reports them (`GetCostAndUsage`, daily `UnblendedCost` per
/// `SERVICE`). Days costing less than `min_daily_cost` (1, in the bill's currency) and the
/// services of `ignore_services` are not judged. A service that cost nothing in the window and
/// then at least `min_daily_cost` counts as a jump too. One finding per service names each day
/// that jumped, its cost, the baseline and the ratio; days Cost Explorer still marks as
/// estimated say so.
///
/// ## Why it matters
/// A cost spike is usually an incident nobody has noticed yet: an autoscaler or a CronJob
/// that never scaled back, a load balancer or NAT gateway carrying traffic it should not,
/// logs or metrics exploding after a deploy, a leaked key mining on someone else's bill. The
/// monthly invoice tells weeks later; the daily series tells the next morning.
///
/// ## How to fix
/// Open Cost Explorer on the day, grouped by usage type (and by linked account or tag) for
/// the service named, to find the resource; compare with the deploys and scaling events of the
/// day before. Stop what should not run. A jump that is expected (a planned migration, a
/// monthly fee charged on the 1st, a Savings Plan purchase) can be ignored: add the service to
/// `ignore_services`, raise `ratio` or `min_daily_cost`, or suppress the finding.
///
/// ## Example
/// ```text
/// Amazon Elastic Compute Cloud - Compute: 379.82 USD on 2025-06-27, 3.97× the mean of the
///   7 days before (95.60 USD; threshold 2×)                                    # fires
/// ```
#[detector(
    id = "cloud_cost_anomaly",
    title = "Cloud services whose daily cost jumped over their trailing baseline",
    labels = ["cost", "aws", "cloud"],
    level = Warn,
    requires = [DAILY_BY_SERVICE],
    references = [
        "https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_GetCostAndUsage.html",
        "https://docs.aws.amazon.com/cost-management/latest/userguide/ce-api-best-practices.html",
    ],
    settings = CostAnomalySettings,
)]
pub struct CloudCostAnomaly;

/// Settings of `cloud_cost_anomaly` (the collector reads `window_days` and `judged_days` to
/// know how many days to ask Cost Explorer for).
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct CostAnomalySettings {
    /// How many times its baseline a day must cost to be reported.
    #[setting(default = 2.0)]
    pub ratio: f64,
    /// Days before a day whose mean cost is that day's baseline.
    #[setting(default = 7)]
    pub window_days: u32,
    /// The most recent full days judged (each with `window_days` days before it).
    #[setting(default = 14)]
    pub judged_days: u32,
    /// A day costing less than this (in the bill's currency) is not reported.
    #[setting(default = 1.0)]
    pub min_daily_cost: f64,
    /// Services (Cost Explorer's SERVICE names) not judged, e.g. monthly fees charged on the 1st.
    #[setting(default = ["Tax"])]
    pub ignore_services: Vec<String>,
}

impl CostAnomalySettings {
    /// Days the collector must read: the judged days and the window before the first one.
    pub fn days_needed(&self) -> u32 {
        self.window_days
            .max(1)
            .saturating_add(self.judged_days.max(1))
    }
}

/// One day that jumped.
struct Jump {
    day: Day,
    amount: f64,
    baseline: f64,
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let settings: CostAnomalySettings = ctx.settings_of()?;
    let costs = ctx.get(&DAILY_BY_SERVICE)?;
    let window = settings.window_days.max(1) as usize;
    let judged = settings.judged_days.max(1) as usize;
    if costs.days.len() <= window {
        return Ok(Outcome::new().not_judged(format!(
            "{} holds {} days; judging a day needs the {window} days before it",
            costs.source,
            costs.days.len()
        )));
    }
    // Judged: the last `judged` days that have a full window before them.
    let first = window.max(costs.days.len().saturating_sub(judged));
    let mut out = Outcome::new();
    let mut evaluated = 0;
    for service in &costs.services {
        if settings.ignore_services.contains(&service.service) {
            continue;
        }
        evaluated += 1;
        let mut jumps = Vec::new();
        for i in first..costs.days.len().min(service.amounts.len()) {
            let amount = service.amounts[i];
            if amount < settings.min_daily_cost {
                continue;
            }
            let baseline = service.amounts[i - window..i].iter().sum::<f64>() / window as f64;
            if amount > settings.ratio * baseline {
                jumps.push(Jump {
                    day: costs.days[i],
                    amount,
                    baseline,
                });
            }
        }
        if jumps.is_empty() {
            continue;
        }
        let unit = &service.unit;
        let described: Vec<String> = jumps
            .iter()
            .map(|j| {
                let estimated = if j.day.estimated { " (estimated)" } else { "" };
                let times = if j.baseline > 0.0 {
                    format!(
                        "{:.2}× the mean of the {window} days before ({:.2} {unit}; threshold {}×)",
                        j.amount / j.baseline,
                        j.baseline,
                        settings.ratio
                    )
                } else if j.baseline == 0.0 {
                    format!("after no cost in the {window} days before")
                } else {
                    // Credits or refunds outweighed the charges of the window.
                    format!(
                        "over a mean of {:.2} {unit} in the {window} days before (credits \
                         included)",
                        j.baseline
                    )
                };
                format!(
                    "{:.2} {unit} on {}{estimated}, {times}",
                    j.amount, j.day.date
                )
            })
            .collect();
        let mut finding = Finding::new(
            Level::Warn,
            Some(service.object_ref()),
            format!("{}: {}", service.service, described.join("; ")),
        );
        for j in &jumps {
            let i = costs.days.iter().position(|d| d.date == j.day.date);
            let window_span = i
                .map(|i| {
                    format!(
                        "{}..{}",
                        costs.days[i - window].date,
                        costs.days[i - 1].date
                    )
                })
                .unwrap_or_default();
            finding = finding.with_evidence(format!(
                "{} {}: {} {unit}; mean of {window_span}: {:.4} {unit}",
                costs.metric, j.day.date, j.amount, j.baseline
            ));
        }
        out.push(finding);
    }
    Ok(out.evaluated(evaluated))
}
