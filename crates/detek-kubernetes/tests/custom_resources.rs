//! Custom resources reach detectors: a test-only detector that requires
//! `kubernetes/custom-resources` and reports each cert-manager Certificate, run through the
//! snapshot collector and the engine's planner and runner like any detector.

use detek_core::{
    Collector, DetectContext, DetectError, Detector, DetectorMeta, Docs, Finding, Level, Outcome,
    RunOptions,
};
use detek_kubernetes::Input;
use detek_kubernetes::collector::SnapshotCollector;
use detek_kubernetes::model::{CUSTOM_RESOURCES, CustomResources};
use detek_kubernetes::testing::fixture_dir;
use std::sync::Arc;

struct CertificatesListed(DetectorMeta);

impl CertificatesListed {
    fn new() -> Self {
        CertificatesListed(DetectorMeta {
            id: "test_certificates_listed".into(),
            title: "Every cert-manager Certificate (test)".into(),
            labels: vec!["test".into()],
            level: Level::Normal,
            requires: vec![CUSTOM_RESOURCES.id()],
            uses: Vec::new(),
            references: Vec::new(),
            docs: Docs::default(),
            settings: Vec::new(),
            source: None,
        })
    }
}

impl Detector for CertificatesListed {
    fn meta(&self) -> &DetectorMeta {
        &self.0
    }

    fn detect(&self, ctx: &DetectContext) -> Result<Outcome, DetectError> {
        let resources = ctx.get(&CUSTOM_RESOURCES)?;
        let certificates: Vec<_> = resources
            .of_kind("cert-manager.io", "Certificate")
            .collect();
        let mut out = Outcome::new().evaluated(certificates.len());
        for c in certificates {
            let spec = &c.object.value["spec"];
            let names: Vec<&str> = spec["dnsNames"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|n| n.as_str())
                .collect();
            out.push(Finding::new(
                Level::Normal,
                Some(c.object_ref()),
                format!(
                    "{} for {} (issuer {})",
                    spec["secretName"].as_str().unwrap_or("?"),
                    names.join(", "),
                    spec["issuerRef"]["name"].as_str().unwrap_or("?")
                ),
            ));
        }
        Ok(out)
    }
}

/// Run detector `d` on `tests/fixtures/custom_resources/<file>`.
fn run(d: Arc<dyn Detector>, file: &str) -> detek_core::ReportList {
    let inputs = vec![Input::Path(fixture_dir("custom_resources").join(file))];
    let collectors: Vec<Arc<dyn Collector>> = vec![Arc::new(SnapshotCollector::new(inputs))];
    let plan = detek_core::plan(vec![d], &collectors).expect("plan");
    assert_eq!(
        plan.wanted.iter().copied().collect::<Vec<_>>(),
        [CUSTOM_RESOURCES.id()]
    );
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(detek_core::run(&plan, &RunOptions::default()))
}

#[test]
fn a_detector_reads_certificates_from_the_custom_resources_key() {
    let list = run(Arc::new(CertificatesListed::new()), "manifests.yaml");
    let report = &list.reports[0];
    assert_eq!(report.error, None);
    assert_eq!(report.evaluated, Some(2));
    let findings: Vec<String> = report
        .findings
        .iter()
        .map(|f| {
            let o = f.object.as_ref().unwrap();
            format!(
                "{} {} {}:{}: {}",
                o.api_version.as_deref().unwrap_or(""),
                o.display_name(),
                o.source.as_ref().unwrap().file.rsplit('/').next().unwrap(),
                o.source.as_ref().unwrap().line,
                f.message
            )
        })
        .collect();
    assert_eq!(
        findings,
        [
            "cert-manager.io/v1 Certificate/shop/shop-tls manifests.yaml:5: shop-tls for shop.example.com, www.shop.example.com (issuer letsencrypt)",
            "cert-manager.io/v1 Certificate/shop/api-tls manifests.yaml:20: api-tls for api.shop.example.com (issuer letsencrypt)",
        ]
    );
}

/// A detector that runs `check` on the key and reports nothing (its assertions' panics become
/// the report's error).
struct Probe(DetectorMeta, fn(&CustomResources));

impl Detector for Probe {
    fn meta(&self) -> &DetectorMeta {
        &self.0
    }

    fn detect(&self, ctx: &DetectContext) -> Result<Outcome, DetectError> {
        (self.1)(ctx.get(&CUSTOM_RESOURCES)?);
        Ok(Outcome::new())
    }
}

#[test]
fn custom_resources_are_kept_raw_without_managed_fields_or_secret_data() {
    let mut meta = CertificatesListed::new().0;
    meta.id = "test_probe".into();
    let list = run(
        Arc::new(Probe(meta, |resources| {
            let kinds: Vec<(&str, &str, usize)> = resources
                .iter()
                .map(|(v, k, items)| (v, k, items.len()))
                .collect();
            assert_eq!(
                kinds,
                [
                    ("argoproj.io/v1alpha1", "Application", 1),
                    ("cert-manager.io/v1", "Certificate", 2),
                    ("cert-manager.io/v1", "ClusterIssuer", 1),
                    ("template.openshift.io/v1", "Template", 1),
                ]
            );
            assert_eq!(resources.len(), 5);
            let cert = &resources.get("cert-manager.io/v1", "Certificate")[0];
            assert_eq!(cert.object.name(), "shop-tls");
            assert_eq!(cert.object.namespace(), Some("shop"));
            assert!(cert.object.metadata.managed_fields.is_none());
            assert_eq!(cert.object.metadata.annotations, Some(Default::default()));
            let application = &resources.get("argoproj.io/v1alpha1", "Application")[0];
            assert_eq!(
                application.object.value["spec"]["destination"]["namespace"],
                "shop"
            );
            // Neither the Secret nor the one a Template embeds leaves its data in the key.
            let everything: String = resources
                .iter()
                .flat_map(|(_, _, items)| items.iter())
                .map(|i| i.object.value.to_string())
                .collect();
            assert!(!everything.contains("hunter2"), "{everything}");
            assert!(!everything.contains("managedFields"));
            assert!(!everything.contains("last-applied-configuration"));
            assert!(resources.get("v1", "Secret").is_empty());
            assert_eq!(resources.dropped, 0);
        })),
        "manifests.yaml",
    );
    assert_eq!(list.reports[0].error, None);
    assert_eq!(list.collectors[0].stats["objects_untyped"], 5);
}
