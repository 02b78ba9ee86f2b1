//! Test kit: the SSH hosts of testenv/sshd (real sshd instances on loopback and in network
//! namespaces, and broken hosts), started once per test binary and stopped by their watchdog
//! when it exits. For this crate's tests and the CLI's.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The hosts of testenv/sshd, by the names of its env file (`SSHD_LOOPBACK`, ...).
pub struct TestHosts {
    pub dir: PathBuf,
    env: HashMap<String, String>,
}

impl TestHosts {
    /// The hosts this test binary shares (started on first use: ~1.5 s; installs Debian's
    /// openssh-server the first time on a machine).
    pub fn shared() -> &'static TestHosts {
        static HOSTS: OnceLock<TestHosts> = OnceLock::new();
        HOSTS.get_or_init(TestHosts::start)
    }

    fn start() -> TestHosts {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let dir = std::env::temp_dir().join(format!("detek-sshd-{}", std::process::id()));
        let out = std::process::Command::new("bash")
            .arg(root.join("testenv/sshd/start.sh"))
            .arg(&dir)
            .env("DETEK_TESTENV_WATCH_PID", std::process::id().to_string())
            .output()
            .expect("run testenv/sshd/start.sh");
        assert!(
            out.status.success(),
            "testenv/sshd/start.sh failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(dir.join("env")).expect("testenv/sshd env");
        let env = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
            .collect();
        TestHosts { dir, env }
    }

    /// One value of the env file.
    pub fn var(&self, name: &str) -> String {
        self.env
            .get(name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} not in testenv/sshd env"))
    }

    /// A list of the env file (`SSHD_LOOPBACK`, `SSHD_NETNS`); never empty.
    pub fn list(&self, name: &str) -> Vec<String> {
        let hosts: Vec<String> = self
            .var(name)
            .split_whitespace()
            .map(str::to_string)
            .collect();
        assert!(
            !hosts.is_empty(),
            "{name} is empty (network namespaces need root)"
        );
        hosts
    }
}
