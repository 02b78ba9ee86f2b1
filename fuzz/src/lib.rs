//! What each fuzz target does with its input. A target is `fuzz_targets/<name>.rs`:
//!
//! ```ignore
//! #![no_main]
//! detek_fuzz::target!(name);
//! ```
//!
//! plus a `pub fn name(data: &[u8])` here, a `[[bin]]` entry in `Cargo.toml` and a line in
//! `seeds.txt` naming the repository files its seed corpus is made of. See README.md.
//!
//! A function here runs the same code detek runs on that input, and panics when an invariant
//! breaks (a crash for libFuzzer). Errors are expected: hostile input must be refused, not
//! crash or hang.

use detek_core::Produced;
use detek_kubernetes_model::ingest::{self, Input};
use detek_kubernetes_model::model::ObjectSet;
use std::sync::{Arc, LazyLock};

/// `detek_fuzz::target!(name)`: a libFuzzer entry point calling [`name`](crate).
#[macro_export]
macro_rules! target {
    ($name:ident) => {
        libfuzzer_sys::fuzz_target!(|data: &[u8]| $crate::$name(data));
    };
}

/// Snapshot ingestion, as `detek run --input FILE` reads a file: text → documents (YAML or
/// JSON) → [`ObjectSet`] → typed objects in the store.
pub fn snapshot(data: &[u8]) {
    // Text that is not UTF-8 is refused while it is read (ingest::read_stream), before parsing.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let contents = ingest::parse_text("fuzz.yaml", text);
    // YAML counts a lone carriage return as a line break too.
    let lines = text.matches(['\n', '\r']).count() as u32 + 1;
    for d in &contents.diagnostics {
        let source = d
            .source
            .as_ref()
            .expect("a parse diagnostic names its file");
        assert_eq!(source.file, "fuzz.yaml");
        assert!(
            (1..=lines).contains(&source.line),
            "diagnostic line {} outside 1..={lines}: {}",
            source.line,
            d.message
        );
    }
    for summary in contents.objects.summaries() {
        let line = summary.source.as_ref().expect("a file's object has a source").line;
        assert!((1..=lines).contains(&line), "object line {line}");
    }
    let mut set = ObjectSet::new();
    contents.add_to(&mut set);
    let mut produced = Produced::new();
    set.into_produced(&mut produced, &|_| false);
}

/// An API list response as the live collector gets it (`GET /api/v1/pods?limit=500`): JSON bytes
/// → `ObjectSet::add_value` (once per page, then `finish`) → typed objects.
pub fn api_list(data: &[u8]) {
    let Ok(page) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let mut set = ObjectSet::new();
    set.live = true;
    set.add_value(page.clone(), None);
    set.finish();
    // A second page of the same kind.
    set.add_value(page, None);
    set.finish();
    let mut produced = Produced::new();
    set.into_produced(&mut produced, &|_| false);
}

/// The whole scan on a snapshot: ingestion, then every Kubernetes detector. A detector's panic
/// is caught by the runner and reported as `Unknown`; here it is a crash.
pub fn scan(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    static DETECTORS: LazyLock<Vec<Arc<dyn detek_core::Detector>>> =
        LazyLock::new(detek_kubernetes::detectors::all);
    let collectors: Vec<Arc<dyn detek_core::Collector>> = vec![Arc::new(
        detek_kubernetes_model::SnapshotCollector::new(vec![Input::Text {
            name: "fuzz.yaml".into(),
            text: text.to_string(),
        }]),
    )];
    let plan = detek_core::plan(DETECTORS.clone(), &collectors).expect("plan");
    let list = runtime().block_on(detek_core::run(&plan, &Default::default()));
    for report in &list.reports {
        if let Some(error) = &report.error {
            assert!(!error.contains("panicked"), "{}: {error}", report.id);
        }
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    });
    &RT
}

/// A kubeconfig, as the live collector reads it: `Kubeconfig::read_from` (via
/// `detek_kubernetes_live::resolve` with `--kubeconfig`, current context and
/// `--all-contexts`), then the client configuration of each context
/// (`kube::Config::from_custom_kubeconfig`: inline certificate and key data, server URL, proxy
/// URL). Exec plugins, auth providers and file references are removed before that step: the
/// fuzzer must not run commands or read arbitrary files.
pub fn kubeconfig(data: &[u8]) {
    use detek_kubernetes_live::{Environment, TargetRequest, resolve};
    use kube::config::{KubeConfigOptions, Kubeconfig};
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    static DIR: LazyLock<tempfile::TempDir> = LazyLock::new(|| tempfile::tempdir().unwrap());
    let path = DIR.path().join("kubeconfig");
    std::fs::write(&path, text).unwrap();
    let env = Environment::default();
    for all_contexts in [false, true] {
        let request = TargetRequest {
            kubeconfig: Some(path.clone()),
            contexts: Vec::new(),
            all_contexts,
        };
        let _ = resolve(&request, &env);
    }
    let Ok(mut config) = Kubeconfig::from_yaml(text) else {
        return;
    };
    for named in &mut config.auth_infos {
        if let Some(auth) = named.auth_info.as_mut() {
            auth.exec = None;
            auth.auth_provider = None;
            auth.token_file = None;
            auth.client_certificate = None;
            auth.client_key = None;
        }
    }
    for named in &mut config.clusters {
        if let Some(cluster) = named.cluster.as_mut() {
            cluster.certificate_authority = None;
        }
    }
    let contexts: Vec<String> = config
        .contexts
        .iter()
        .map(|c| c.name.clone())
        .take(4)
        .collect();
    for context in contexts {
        let options = KubeConfigOptions {
            context: Some(context),
            ..Default::default()
        };
        let _ = runtime().block_on(kube::Config::from_custom_kubeconfig(
            config.clone(),
            &options,
        ));
    }
}

/// `detek.yaml`: parse, check against the binary's catalogue (declared settings, sets,
/// levels), derive settings, ignore rules and the selection the config gives.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    static CATALOGUE: LazyLock<detek_core::Catalogue> =
        LazyLock::new(|| detek::catalogue::catalogue().expect("the catalogue registers"));
    let Ok(config) = detek::config::Config::parse(text) else {
        return;
    };
    if config.validate(&CATALOGUE).is_err() {
        return;
    }
    let _ = config.settings(&CATALOGUE);
    let _ = detek::config::RuleSuppressor::new(&config.ignore);
    for set in ["default", "all"].into_iter().chain(config.sets.keys().map(String::as_str)) {
        let selection = detek_core::Selection {
            set: set.to_string(),
            ..Default::default()
        };
        let _ = CATALOGUE.select(&selection, &config.detectors, &config.sets);
    }
}

/// `tls.crt` of a TLS Secret: PEM or DER → certificate facts (subject, issuer, validity, DNS
/// names).
pub fn tls_certificate(data: &[u8]) {
    let _ = detek_kubernetes_model::secrets::certificate_facts(data);
}

/// The API lifecycle table (`data/api-lifecycle.yaml`, pluto's format): parse, index, and look
/// up every row's apiVersion and kind the way the deprecation detectors do.
pub fn api_lifecycle(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(table) = detek_kubernetes::detectors::parse_api_lifecycle_table(text) else {
        return;
    };
    for row in table.rows.iter().take(64) {
        let _ = table.rows_for(&row.version, &row.kind).count();
        let _ = table.latest(&row.component);
        for v in [
            &row.deprecated_in,
            &row.removed_in,
            &row.replacement_available_in,
        ] {
            let _ = detek_kubernetes_model::version::parse(v);
        }
    }
}

/// A known-component-issues file (`data/known-component-issues.yaml`, or the user's files
/// given by `known_component_issue.files`): parse and check every entry (globs, version
/// ranges, level).
pub fn known_components(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = detek_kubernetes::detectors::parse_known_component_issues(text, "fuzz.yaml");
}
