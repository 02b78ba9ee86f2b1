//! `cloud_cost_anomaly` on hand-made series: the edge cases the replay's scenarios do not
//! hold (a service new in the period, credits, estimated days, tiny amounts, too few days).

use detek_core::{DetectContext, Outcome, Settings, Store};
use detek_cost::model::{DAILY_BY_SERVICE, DailyCosts, Day, ServiceCosts};
use std::time::SystemTime;

/// `amounts.len()` days from 2025-06-01; the last `estimated` of them estimated.
fn costs(services: &[(&str, &[f64])], estimated: usize) -> DailyCosts {
    let n = services.first().map(|(_, a)| a.len()).unwrap_or(0);
    let start: jiff::civil::Date = "2025-06-01".parse().unwrap();
    DailyCosts {
        source: "AWS Cost Explorer (profile test)".into(),
        metric: "UnblendedCost".into(),
        days: (0..n)
            .map(|i| Day {
                date: start.checked_add(jiff::Span::new().days(i as i64)).unwrap(),
                estimated: i + estimated >= n,
            })
            .collect(),
        services: services
            .iter()
            .map(|(name, amounts)| ServiceCosts {
                service: name.to_string(),
                unit: "USD".into(),
                amounts: amounts.to_vec(),
            })
            .collect(),
    }
}

fn detect(costs: DailyCosts, settings: Settings) -> Outcome {
    let mut store = Store::new();
    store.insert(&DAILY_BY_SERVICE, costs);
    let ctx =
        DetectContext::new(&store, &settings, SystemTime::now()).for_detector("cloud_cost_anomaly");
    detek_cost::all()[0].detect(&ctx).unwrap()
}

fn messages(outcome: &Outcome) -> Vec<&str> {
    outcome
        .findings
        .iter()
        .map(|f| f.message.as_str())
        .collect()
}

const FLAT: [f64; 10] = [10.0; 10];

#[test]
fn a_new_service_an_estimated_day_and_credits_are_said_so() {
    let new = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 12.5];
    let credited = [-5.0, -5.0, -5.0, -5.0, -5.0, -5.0, -5.0, 3.0, 3.0, 3.0];
    let mut spiked = FLAT;
    spiked[8] = 30.0;
    spiked[9] = 50.0;
    let out = detect(
        costs(
            &[
                ("New", &new[..]),
                ("Credited", &credited[..]),
                ("Spiked", &spiked[..]),
                ("Flat", &FLAT[..]),
            ],
            1,
        ),
        Settings::default(),
    );
    assert_eq!(
        messages(&out),
        [
            "New: 12.50 USD on 2025-06-10 (estimated), after no cost in the 7 days before",
            "Credited: 3.00 USD on 2025-06-08, over a mean of -5.00 USD in the 7 days before \
             (credits included); 3.00 USD on 2025-06-09, over a mean of -3.86 USD in the 7 days \
             before (credits included); 3.00 USD on 2025-06-10 (estimated), over a mean of \
             -2.71 USD in the 7 days before (credits included)",
            "Spiked: 30.00 USD on 2025-06-09, 3.00× the mean of the 7 days before (10.00 USD; \
             threshold 2×); 50.00 USD on 2025-06-10 (estimated), 3.89× the mean of the 7 days \
             before (12.86 USD; threshold 2×)",
        ]
    );
    assert_eq!(out.evaluated, Some(4));
    // Each day that jumped is evidence, with the window's dates and exact amounts.
    assert_eq!(
        out.findings[2].evidence,
        [
            "UnblendedCost 2025-06-09: 30 USD; mean of 2025-06-02..2025-06-08: 10.0000 USD",
            "UnblendedCost 2025-06-10: 50 USD; mean of 2025-06-03..2025-06-09: 12.8571 USD",
        ]
    );
    let object = out.findings[0].object.as_ref().unwrap();
    assert_eq!(
        (object.kind.as_str(), object.name.as_str()),
        ("CloudService", "New")
    );
}

#[test]
fn tiny_amounts_and_ignored_services_are_not_judged() {
    let tiny = [0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.9];
    let mut tax = FLAT;
    tax[9] = 100.0;
    let out = detect(
        costs(&[("Tiny", &tiny[..]), ("Tax", &tax[..])], 0),
        Settings::default(),
    );
    assert!(out.findings.is_empty(), "{:?}", messages(&out));
    // Tax is left out by default; "Tiny" is judged, its days under min_daily_cost are not.
    assert_eq!(out.evaluated, Some(1));
    let mut settings = Settings::default();
    settings.set("cloud_cost_anomaly.min_daily_cost", 0.5);
    settings.set("cloud_cost_anomaly.ignore_services", serde_json::json!([]));
    let out = detect(
        costs(&[("Tiny", &tiny[..]), ("Tax", &tax[..])], 0),
        settings,
    );
    assert_eq!(out.findings.len(), 2, "{:?}", messages(&out));
}

#[test]
fn too_few_days_is_not_judged_with_the_reason() {
    let out = detect(
        costs(&[("Short", &[1.0, 2.0, 3.0][..])], 0),
        Settings::default(),
    );
    assert!(out.findings.is_empty());
    assert_eq!(
        out.not_judged.as_deref(),
        Some(
            "AWS Cost Explorer (profile test) holds 3 days; judging a day needs the 7 days \
             before it"
        )
    );
}

#[test]
fn only_the_judged_days_are_judged() {
    // A jump on day 9 of 12: judged with judged_days 14 (days 8..12), not with 3 (10..12).
    let mut series = [10.0; 12];
    series[8] = 40.0;
    let all = detect(costs(&[("S", &series[..])], 0), Settings::default());
    assert_eq!(all.findings.len(), 1);
    let mut settings = Settings::default();
    settings.set("cloud_cost_anomaly.judged_days", 3);
    let last = detect(costs(&[("S", &series[..])], 0), settings);
    assert!(last.findings.is_empty(), "{:?}", messages(&last));
}
