//! The real test Prometheus (testenv/prometheus) for this test binary: started on first use
//! in a temporary directory, stopped when the binary exits (its watchdog follows our pid).
#![allow(dead_code)]

use detek_prometheus::client::{Auth, ClientOptions, Endpoint};
use std::collections::HashMap;
use std::path::PathBuf;

pub fn repo_root() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

pub struct TestPrometheus {
    pub dir: tempfile::TempDir,
    pub env: HashMap<String, String>,
}

impl TestPrometheus {
    fn start() -> TestPrometheus {
        let dir = tempfile::Builder::new()
            .prefix("detek-prom-")
            .tempdir()
            .unwrap();
        let out = std::process::Command::new("bash")
            .arg(repo_root().join("testenv/prometheus/start.sh"))
            .arg(dir.path().join("env"))
            .env("DETEK_TESTENV_WATCH_PID", std::process::id().to_string())
            .output()
            .expect("run testenv/prometheus/start.sh");
        assert!(
            out.status.success(),
            "testenv/prometheus/start.sh failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(dir.path().join("env/env")).unwrap();
        let env = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TestPrometheus { dir, env }
    }

    /// The server this test binary shares.
    pub fn shared() -> &'static TestPrometheus {
        static PROMETHEUS: std::sync::OnceLock<TestPrometheus> = std::sync::OnceLock::new();
        PROMETHEUS.get_or_init(TestPrometheus::start)
    }

    pub fn var(&self, name: &str) -> &str {
        self.env
            .get(name)
            .unwrap_or_else(|| panic!("{name} not in testenv/prometheus env"))
    }

    pub fn url(&self) -> &str {
        self.var("PROMETHEUS_URL")
    }

    /// The API with the right credentials.
    pub fn endpoint(&self) -> Endpoint {
        Endpoint {
            url: self.url().to_string(),
            auth: Auth::Basic {
                username: self.var("PROMETHEUS_USER").to_string(),
                password: self.var("PROMETHEUS_PASSWORD").to_string(),
            },
            ..Default::default()
        }
    }

    pub fn collector(&self) -> std::sync::Arc<dyn detek_core::Collector> {
        std::sync::Arc::new(detek_prometheus::collector::PrometheusCollector::new(
            self.endpoint(),
            ClientOptions::default(),
            self.url(),
        ))
    }
}
