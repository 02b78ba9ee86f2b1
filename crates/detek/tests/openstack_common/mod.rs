//! Shared by the OpenStack tests (`tests/openstack_*.rs`): a REAL Keystone and a REAL
//! nova-api (Debian's `keystone` and `nova-api` packages, installed by
//! `testenv/openstack/install.sh` on first use) and the replay server of `testenv/openstack/`
//! (Cinder, Octavia, Neutron agents from the official samples, fronting Nova; every token
//! validated against that Keystone), started once per test binary (~45 s).
//!
//! It hands tests the auth URL, the credentials, a directory with `clouds.yaml` +
//! `secure.yaml`, and the replay server's knobs. It does not depend on `detek-openstack`:
//! detek always talks HTTP to the real Keystone and the replay server.
//!
//! Tests that turn a knob take [`OsEnv::scenario`]: it serialises them within the test binary
//! and puts the knobs back to the default dataset when dropped.
//!
//! The environment directory (logs: `keystone.log`, `uwsgi.log`, `replay.log` with one JSON
//! line per request, `setup.log`) is kept after the run for debugging and deleted by the next
//! run. Its `env` file and `clouds/secure.yaml` hold the generated passwords (mode 600);
//! nothing here prints them.

#![allow(dead_code)]

use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, SystemTime};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The names of the clouds in `clouds.yaml`.
pub mod cloud {
    /// User `demo`, member of project `demo` (password auth).
    pub const MEMBER: &str = "test-member";
    /// User `admin`, admin of project `admin` (password auth): may list all projects and read
    /// compute services and hypervisors, as an operator's scan does (`detek run --os-cloud test`).
    pub const ADMIN: &str = "test";
    /// The `demo` user's application credential (role member on `demo`).
    pub const APPCRED: &str = "test-appcred";
    /// User `nolb`, member of project `nolb`, whose catalog has no load-balancer service.
    pub const NO_LB: &str = "test-nolb";
    /// User `demo` with a wrong password in `secure.yaml`.
    pub const WRONG_PASSWORD: &str = "test-wrong-password";
    /// Like `test-member`, through the catalog's internal endpoints.
    pub const INTERNAL: &str = "test-internal";
}

/// A user's password credentials.
#[derive(Clone)]
pub struct Password {
    pub username: String,
    pub password: String,
    pub project_name: String,
    pub project_id: String,
    pub user_domain_name: String,
    pub project_domain_name: String,
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Password({}@{}, <redacted>)",
            self.username, self.project_name
        )
    }
}

/// An application credential.
#[derive(Clone)]
pub struct AppCred {
    pub id: String,
    pub name: String,
    pub secret: String,
}

impl std::fmt::Debug for AppCred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AppCred({}, <redacted>)", self.id)
    }
}

/// A fault the replay server injects (retries on 5xx/429).
#[derive(Clone, Debug)]
pub struct ReplayFault {
    pub path_contains: String,
    pub status: u16,
    /// How many requests get it (`None`: all).
    pub times: Option<usize>,
    pub retry_after: Option<u64>,
}

/// The running Keystone + replay server of this test binary.
pub struct OsEnv {
    pub dir: PathBuf,
    vars: HashMap<String, String>,
    knobs: Mutex<()>,
}

/// Held by a test that turns knobs; resets them when dropped.
pub struct Scenario<'a> {
    env: &'a OsEnv,
    _lock: MutexGuard<'a, ()>,
}

impl Drop for Scenario<'_> {
    fn drop(&mut self) {
        self.env.reset();
    }
}

impl std::ops::Deref for Scenario<'_> {
    type Target = OsEnv;
    fn deref(&self) -> &OsEnv {
        self.env
    }
}

impl OsEnv {
    /// The environment of this test binary: started on first use (about 25-45 s; the very
    /// first start on a machine installs Debian's packages, ~3.5 min) and stopped by
    /// the watchdog of `start.sh` when the test process exits.
    pub fn shared() -> &'static OsEnv {
        static ENV: OnceLock<OsEnv> = OnceLock::new();
        ENV.get_or_init(OsEnv::start)
    }

    fn start() -> OsEnv {
        let base = std::env::temp_dir();
        clean_stale_dirs(&base);
        let dir = base.join(format!(
            "detek-openstack-{}-{}",
            std::process::id(),
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let out = Command::new("bash")
            .arg(repo_root().join("testenv/openstack/start.sh"))
            .arg(&dir)
            .env("DETEK_TESTENV_WATCH_PID", std::process::id().to_string())
            .output()
            .expect("cannot run bash testenv/openstack/start.sh");
        assert!(
            out.status.success(),
            "the OpenStack tests need a real Keystone: testenv/openstack/start.sh failed \
             (it installs Debian's keystone package on first use; see \
             testenv/openstack/README.md)\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let vars: HashMap<String, String> = std::fs::read_to_string(dir.join("env"))
            .expect("testenv/openstack wrote no env file")
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let env = OsEnv {
            dir,
            vars,
            knobs: Mutex::new(()),
        };
        env.write_clouds();
        env
    }

    pub fn get(&self, key: &str) -> &str {
        self.vars
            .get(key)
            .unwrap_or_else(|| panic!("testenv/openstack env has no {key}"))
    }

    /// `http://127.0.0.1:PORT/v3`
    pub fn auth_url(&self) -> &str {
        self.get("AUTH_URL")
    }

    /// `nova-api` when Nova is the real nova-api (proxied by the replay server), `replay`
    /// when the replay server answers Nova itself (nova-api not installed, or
    /// `DETEK_TESTENV_OS_NOVA=replay`). Servers generated with
    /// [`OsEnv::set_generated_servers`] are always served by the replay server.
    pub fn nova_backend(&self) -> &str {
        self.get("NOVA_BACKEND")
    }

    pub fn region(&self) -> &str {
        self.get("REGION")
    }

    pub fn replay_url(&self) -> &str {
        self.get("REPLAY_URL")
    }

    pub fn demo_project_id(&self) -> &str {
        self.get("DEMO_PROJECT_ID")
    }

    pub fn ops_project_id(&self) -> &str {
        self.get("OPS_PROJECT_ID")
    }

    /// The ACTIVE reachable server's address (loopback) and the TCP port listening there.
    pub fn reachable(&self) -> (&str, u16) {
        (
            self.get("REACHABLE_ADDR"),
            self.get("PROBE_PORT").parse().unwrap(),
        )
    }

    /// The ACTIVE unreachable server's address: in a network namespace of this environment
    /// whose replies are blackholed (ICMP and TCP get no answer), or, without root, a
    /// loopback address with nothing listening (see [`OsEnv::unreachable_kind`]).
    pub fn unreachable_addr(&self) -> &str {
        self.get("UNREACHABLE_ADDR")
    }

    /// `netns-blackhole` or `loopback-refused`.
    pub fn unreachable_kind(&self) -> &str {
        self.get("UNREACHABLE_KIND")
    }

    fn password(&self, user: &str, project: &str, password_key: &str) -> Password {
        Password {
            username: user.into(),
            password: self.get(password_key).into(),
            project_name: project.into(),
            project_id: self
                .get(&format!("{}_PROJECT_ID", project.to_uppercase()))
                .into(),
            user_domain_name: "Default".into(),
            project_domain_name: "Default".into(),
        }
    }

    pub fn admin(&self) -> Password {
        self.password("admin", "admin", "ADMIN_PASSWORD")
    }

    pub fn member(&self) -> Password {
        self.password("demo", "demo", "DEMO_PASSWORD")
    }

    pub fn nolb(&self) -> Password {
        self.password("nolb", "nolb", "NOLB_PASSWORD")
    }

    pub fn appcred(&self) -> AppCred {
        AppCred {
            id: self.get("APPCRED_ID").into(),
            name: self.get("APPCRED_NAME").into(),
            secret: self.get("APPCRED_SECRET").into(),
        }
    }

    /// The directory holding `clouds.yaml` and `secure.yaml` (run detek there, or point
    /// `OS_CLIENT_CONFIG_FILE` / `OS_CLIENT_SECURE_FILE` at the files).
    pub fn clouds_dir(&self) -> PathBuf {
        self.dir.join("clouds")
    }

    /// A HOME whose `.config/openstack/` holds the same two files.
    pub fn home_dir(&self) -> PathBuf {
        self.dir.join("home")
    }

    pub fn clouds_yaml(&self) -> PathBuf {
        self.clouds_dir().join("clouds.yaml")
    }

    pub fn secure_yaml(&self) -> PathBuf {
        self.clouds_dir().join("secure.yaml")
    }

    /// `OS_*` variables for password auth as `who` (no clouds.yaml needed).
    pub fn os_env(&self, who: &Password) -> Vec<(String, String)> {
        vec![
            ("OS_AUTH_URL".into(), self.auth_url().into()),
            ("OS_USERNAME".into(), who.username.clone()),
            ("OS_PASSWORD".into(), who.password.clone()),
            ("OS_PROJECT_NAME".into(), who.project_name.clone()),
            ("OS_USER_DOMAIN_NAME".into(), who.user_domain_name.clone()),
            (
                "OS_PROJECT_DOMAIN_NAME".into(),
                who.project_domain_name.clone(),
            ),
            ("OS_REGION_NAME".into(), self.region().into()),
            ("OS_INTERFACE".into(), "public".into()),
            ("OS_IDENTITY_API_VERSION".into(), "3".into()),
        ]
    }

    fn write_clouds(&self) {
        let auth = |p: &Password| {
            json!({
                "auth_url": self.auth_url(), "username": p.username,
                "project_name": p.project_name, "user_domain_name": p.user_domain_name,
                "project_domain_name": p.project_domain_name,
            })
        };
        let region = self.region();
        let password_cloud = |p: &Password, interface: &str| {
            json!({"auth": auth(p), "region_name": region, "interface": interface,
                   "identity_api_version": 3})
        };
        let (member, admin, nolb, appcred) =
            (self.member(), self.admin(), self.nolb(), self.appcred());
        let clouds = json!({"clouds": {
            cloud::MEMBER: password_cloud(&member, "public"),
            cloud::ADMIN: password_cloud(&admin, "public"),
            cloud::NO_LB: password_cloud(&nolb, "public"),
            cloud::WRONG_PASSWORD: password_cloud(&member, "public"),
            cloud::INTERNAL: password_cloud(&member, "internal"),
            cloud::APPCRED: {
                "auth_type": "v3applicationcredential",
                "auth": {"auth_url": self.auth_url(), "application_credential_id": appcred.id},
                "region_name": region, "interface": "public", "identity_api_version": 3,
            },
        }});
        let pw = |p: &str| json!({"auth": {"password": p}});
        let secure = json!({"clouds": {
            cloud::MEMBER: pw(&member.password),
            cloud::ADMIN: pw(&admin.password),
            cloud::NO_LB: pw(&nolb.password),
            cloud::WRONG_PASSWORD: pw("not-the-password"),
            cloud::INTERNAL: pw(&member.password),
            cloud::APPCRED: {"auth": {"application_credential_secret": appcred.secret}},
        }});
        for dir in [self.clouds_dir(), self.home_dir().join(".config/openstack")] {
            std::fs::create_dir_all(&dir).unwrap();
            // JSON is YAML.
            std::fs::write(
                dir.join("clouds.yaml"),
                serde_json::to_string_pretty(&clouds).unwrap(),
            )
            .unwrap();
            write_private(
                &dir.join("secure.yaml"),
                &serde_json::to_string_pretty(&secure).unwrap(),
            );
        }
    }

    // -------------------------------------------------------------------------------------
    // Keystone

    /// A project-scoped token from the real Keystone: `(token, token document)`.
    pub fn issue_token(&self, who: &Password) -> Result<(String, Value), u16> {
        let body = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": who.username, "domain": {"name": who.user_domain_name},
                "password": who.password}}},
            "scope": {"project": {"name": who.project_name,
                                  "domain": {"name": who.project_domain_name}}},
        }});
        self.token_request(body)
    }

    /// A token for the application credential.
    pub fn issue_appcred_token(&self, cred: &AppCred) -> Result<(String, Value), u16> {
        let body = json!({"auth": {"identity": {"methods": ["application_credential"],
            "application_credential": {"id": cred.id, "secret": cred.secret}}}});
        self.token_request(body)
    }

    fn token_request(&self, body: Value) -> Result<(String, Value), u16> {
        let r = http(
            "POST",
            &format!("{}/auth/tokens", self.auth_url()),
            &[],
            Some(&body),
        );
        if r.status != 201 {
            return Err(r.status);
        }
        let token = r
            .header("x-subject-token")
            .expect("Keystone answered 201 without X-Subject-Token")
            .to_string();
        Ok((token, r.json()["token"].clone()))
    }

    /// `GET` a replay server path (e.g. `/compute/v2.1/servers/detail?limit=2`) or a full URL.
    pub fn api_get(&self, path_or_url: &str, token: &str) -> HttpResponse {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_string()
        } else {
            format!("{}{}", self.replay_url(), path_or_url)
        };
        http("GET", &url, &[("X-Auth-Token", token)], None)
    }

    // -------------------------------------------------------------------------------------
    // Replay knobs

    /// Take the knobs: serialises knob-turning tests of this binary and resets the knobs now
    /// and when the guard is dropped.
    pub fn scenario(&self) -> Scenario<'_> {
        let lock = self.knobs.lock().unwrap_or_else(|e| e.into_inner());
        self.reset();
        Scenario {
            env: self,
            _lock: lock,
        }
    }

    fn control(&self, what: &str, body: Value) -> Value {
        let r = http(
            "POST",
            &format!("{}/_control/{what}", self.replay_url()),
            &[],
            Some(&body),
        );
        assert_eq!(r.status, 200, "replay knob {what}: {}", r.text());
        r.json()
    }

    /// Back to the default dataset: no generated servers, no pending revocation, no faults,
    /// an empty request log.
    pub fn reset(&self) {
        self.control("reset", json!({}));
    }

    /// `n` generated ACTIVE servers without addresses in `project` ("demo", "ops" or an id)
    /// besides the fixed dataset (ids `00000000-0000-4000-8000-<12 digits>`).
    pub fn set_generated_servers(&self, n: usize, project: &str) {
        self.control("servers", json!({"generated": n, "project": project}));
    }

    /// After `after` more authenticated requests by `user` (name or id; `None`: anyone), the
    /// next request's token is revoked in Keystone for real, so that request gets 401 and the
    /// client must issue a new token. One-shot.
    pub fn revoke_token_after(&self, user: Option<&str>, after: usize) {
        self.control("revoke", json!({"user": user, "after": after}));
    }

    /// Tokens revoked by [`OsEnv::revoke_token_after`] so far.
    pub fn revoked(&self) -> u64 {
        self.state()["revoked"].as_u64().unwrap()
    }

    pub fn set_faults(&self, faults: &[ReplayFault]) {
        let list: Vec<Value> = faults
            .iter()
            .map(|f| {
                let mut v = json!({"path_contains": f.path_contains, "status": f.status});
                if let Some(t) = f.times {
                    v["times"] = json!(t);
                }
                if let Some(s) = f.retry_after {
                    v["retry_after"] = json!(s);
                }
                v
            })
            .collect();
        self.control("faults", json!({"faults": list}));
    }

    /// Restrict the catalog of `project`'s tokens to these service types (Keystone's
    /// endpoint filter; identity is always kept); `None` gives the whole catalog back.
    /// Tokens issued before keep their catalog. Not undone by `reset`.
    pub fn restrict_catalog(&self, project: &str, services: Option<&[&str]>) -> Value {
        self.control("catalog", json!({"project": project, "services": services}))
    }

    pub fn state(&self) -> Value {
        http(
            "GET",
            &format!("{}/_control/state", self.replay_url()),
            &[],
            None,
        )
        .json()
    }

    /// The replay server's request log: `method`, `path`, `query`, `interface`, `status`,
    /// `user`, `project`, `revoked`/`fault` flags (never a token).
    pub fn requests(&self) -> Vec<Value> {
        let r = http(
            "GET",
            &format!("{}/_control/requests", self.replay_url()),
            &[],
            None,
        );
        r.json()["requests"].as_array().cloned().unwrap_or_default()
    }
}

fn write_private(path: &Path, text: &str) {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// Directories of earlier runs whose Keystone is gone (kept for their logs until now).
fn clean_stale_dirs(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(rest) = name.strip_prefix("detek-openstack-") else {
            continue;
        };
        let pid: u32 = rest
            .split('-')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        if pid != 0 && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = Command::new("bash")
                .arg(repo_root().join("testenv/openstack/stop.sh"))
                .arg(e.path())
                .arg("--purge")
                .output();
        }
    }
}

// ------------------------------------------------------------------------------------------
// A minimal HTTP/1.0 client for loopback (Keystone and the replay server).

pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).to_string()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

pub fn http(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> HttpResponse {
    let rest = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("only http:// on loopback: {url}"));
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut stream = TcpStream::connect(host).unwrap_or_else(|e| panic!("connect {host}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut req = format!(
        "{method} {path} HTTP/1.0\r\nHost: {host}\r\nAccept: application/json\r\n\
         Content-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        req.push_str("Content-Type: application/json\r\n");
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(&body);
    stream.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP header end from {url}"));
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line from {url}: {head}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    HttpResponse {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}
