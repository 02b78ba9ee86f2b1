//! Every cost detector registers once, is documented in the four sections, declares its
//! settings and requires only the cost key.

#[test]
fn every_cost_detector_registers_with_complete_docs() {
    let mut catalogue = detek_core::Catalogue::new();
    detek_cost::register(&mut catalogue).unwrap();
    let ids: Vec<String> = catalogue
        .detectors()
        .iter()
        .map(|d| d.meta().id.to_string())
        .collect();
    assert_eq!(ids, ["cloud_cost_anomaly"]);
    for d in catalogue.detectors() {
        let meta = d.meta();
        assert!(meta.docs.is_complete(), "{} lacks a doc section", meta.id);
        assert!(meta.has_label("cost"), "{} has no `cost` label", meta.id);
        assert_eq!(meta.requires, ["cost/daily-by-service"]);
    }
    let meta = catalogue.detectors()[0].meta().clone();
    let settings: Vec<&str> = meta.settings.iter().map(|s| s.name.as_ref()).collect();
    assert_eq!(
        settings,
        [
            "ratio",
            "window_days",
            "judged_days",
            "min_daily_cost",
            "ignore_services"
        ]
    );
}

/// Without a collector of `cost/daily-by-service` (no cost access configured), the planner
/// skips the detector with a reason naming the source.
#[test]
fn without_cost_access_the_detector_is_skipped_with_the_reason() {
    let plan = detek_core::plan(detek_cost::all(), &[]).unwrap();
    assert!(plan.detectors.is_empty());
    assert_eq!(plan.unrunnable.len(), 1);
    let skipped = &plan.unrunnable[0];
    assert_eq!(skipped.detector.meta().id, "cloud_cost_anomaly");
    assert_eq!(
        skipped.reason,
        "this target provides no cost/daily-by-service (needs AWS Cost Explorer access)"
    );
}
