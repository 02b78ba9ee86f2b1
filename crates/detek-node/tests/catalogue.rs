//! Every node detector registers and is documented in the four sections.

#[test]
fn every_node_detector_registers_with_complete_docs() {
    let mut catalogue = detek_core::Catalogue::new();
    detek_node::register(&mut catalogue).unwrap();
    let ids: Vec<String> = catalogue
        .detectors()
        .iter()
        .map(|d| d.meta().id.to_string())
        .collect();
    assert_eq!(
        ids,
        [
            "kernel_param_mismatch",
            "kernel_param_drift",
            "node_kernel_known_issue",
            "node_unreachable_ssh"
        ]
    );
    for d in catalogue.detectors() {
        assert!(
            d.meta().docs.is_complete(),
            "{} lacks a doc section",
            d.meta().id
        );
        assert_eq!(d.meta().requires, ["node/hosts"]);
    }
}
