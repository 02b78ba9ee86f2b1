//! Test kit: the Cost Explorer replay of `testenv/aws/ce-replay.py` (SigV4-verifying, on
//! 127.0.0.1), one per (scenario, days per page) and test binary. For this crate's tests and
//! the CLI's.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// The replay's port for `scenario` (`spike`, `flat`) with `page_days` days per page, started
/// on first use; it exits with this process (it watches its parent). Its request log goes to
/// `log`, when given.
pub fn replay(scenario: &str, page_days: u32, log: Option<&Path>) -> u16 {
    static SERVERS: OnceLock<Mutex<BTreeMap<(String, u32), u16>>> = OnceLock::new();
    let mut servers = SERVERS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(port) = servers.get(&(scenario.to_string(), page_days)) {
        return *port;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let stderr = match log {
        Some(path) => Stdio::from(std::fs::File::create(path).expect("replay log file")),
        None => Stdio::null(),
    };
    let mut child = Command::new("python3")
        .arg(root.join("testenv/aws/ce-replay.py"))
        .args(["--port", "0", "--scenario", scenario])
        .args(["--page-days", &page_days.to_string()])
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("start testenv/aws/ce-replay.py (python3)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut line)
        .expect("the replay's first line");
    let port: u16 = line
        .trim()
        .strip_prefix("listening on 127.0.0.1:")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("ce-replay said {line:?}"));
    // Not waited for: it lives as long as this test binary.
    std::mem::forget(child);
    servers.insert((scenario.to_string(), page_days), port);
    port
}
