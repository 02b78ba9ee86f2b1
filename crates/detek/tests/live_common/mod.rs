//! Shared by the live-cluster tests (`tests/live_*.rs`): a real kube-apiserver + etcd from
//! `testenv/` (built on first use; a machine without Go fails these tests loudly), a small
//! REST client to load real dumps into it, a fault-injecting HTTP proxy, and helpers to run
//! the `detek` binary.
//!
//! Nothing here mocks detek's own client: detek always talks HTTP to the real API server,
//! directly or through the proxy, which forwards every request it does not fault.

#![allow(dead_code)]

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/live")
}

// ------------------------------------------------------------------------------------------
// The test environment

/// A running etcd + kube-apiserver (`testenv/start.sh`), stopped on drop; a watchdog stops it
/// too if the test process dies.
pub struct TestEnv {
    pub dir: PathBuf,
    pub vars: HashMap<String, String>,
    stopped: Mutex<bool>,
}

impl TestEnv {
    /// Start a fresh environment (about 4 s once the binaries are built; the first run on a
    /// machine builds them with Go, which takes minutes).
    pub fn start(label: &str) -> TestEnv {
        let base = std::env::temp_dir();
        clean_stale_dirs(&base);
        let dir = base.join(format!(
            "detek-live-{label}-{}-{}",
            std::process::id(),
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let out = Command::new("bash")
            .arg(repo_root().join("testenv/start.sh"))
            .arg(&dir)
            .env("DETEK_TESTENV_WATCH_PID", std::process::id().to_string())
            .output()
            .expect("cannot run bash testenv/start.sh");
        assert!(
            out.status.success(),
            "the live tests need a real kube-apiserver and etcd: testenv/start.sh failed \
             (it builds them with Go on first use; see testenv/README.md)\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let vars = std::fs::read_to_string(dir.join("env"))
            .expect("testenv wrote no env file")
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TestEnv {
            dir,
            vars,
            stopped: Mutex::new(false),
        }
    }

    /// One environment per test binary, shared by its tests (each test keeps to its own
    /// namespaces, or only reads).
    pub fn shared(init: fn(&TestEnv)) -> &'static TestEnv {
        static ENV: OnceLock<TestEnv> = OnceLock::new();
        ENV.get_or_init(|| {
            let env = TestEnv::start("shared");
            init(&env);
            env
        })
    }

    pub fn get(&self, key: &str) -> &str {
        self.vars
            .get(key)
            .unwrap_or_else(|| panic!("testenv env has no {key}"))
    }

    pub fn admin_kubeconfig(&self) -> PathBuf {
        PathBuf::from(self.get("ADMIN_KUBECONFIG"))
    }

    pub fn limited_kubeconfig(&self) -> PathBuf {
        PathBuf::from(self.get("LIMITED_KUBECONFIG"))
    }

    pub fn url(&self) -> &str {
        self.get("APISERVER_URL")
    }

    pub fn admin(&self) -> Api {
        Api::new(&self.admin_kubeconfig())
    }

    pub fn stop(&self) {
        let mut stopped = self.stopped.lock().unwrap();
        if !*stopped {
            let _ = Command::new("bash")
                .arg(repo_root().join("testenv/stop.sh"))
                .arg(&self.dir)
                .arg("--purge")
                .output();
            *stopped = true;
        }
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Environments of earlier runs whose processes are gone (the watchdog stops them but does
/// not delete their directories).
fn clean_stale_dirs(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().to_string();
        if !name.starts_with("detek-live-") || path.join("kube-apiserver.pid").exists() {
            continue;
        }
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .map(|t| t.elapsed().unwrap_or_default() > Duration::from_secs(600))
            .unwrap_or(false);
        if old {
            let _ = std::fs::remove_dir_all(path);
        }
    }
}

// ------------------------------------------------------------------------------------------
// A small REST client for setting the cluster up (kube's client, raw requests).

pub struct Api {
    client: kube::Client,
    rt: tokio::runtime::Runtime,
}

impl Api {
    pub fn new(kubeconfig: &Path) -> Api {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let client = rt.block_on(async {
            let kc = kube::config::Kubeconfig::read_from(kubeconfig).unwrap();
            let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
                .await
                .unwrap();
            kube::Client::try_from(config).unwrap()
        });
        Api { client, rt }
    }

    /// A request; returns status and the JSON body (`Null` when not JSON).
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let (status, bytes) = self.call_raw(method, path, body, "application/json");
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    pub fn call_raw(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        accept: &str,
    ) -> (u16, Bytes) {
        self.send(method, path, body, accept, "application/json")
    }

    /// A JSON merge patch (RFC 7386); returns status and the JSON body.
    pub fn call_merge_patch(&self, path: &str, patch: &Value) -> (u16, Value) {
        let (status, bytes) = self.send(
            "PATCH",
            path,
            Some(patch),
            "application/json",
            "application/merge-patch+json",
        );
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        accept: &str,
        content_type: &str,
    ) -> (u16, Bytes) {
        let request = http::Request::builder()
            .method(method)
            .uri(path)
            .header("accept", accept)
            .header("content-type", content_type)
            .body(kube::client::Body::from(
                body.map(|b| serde_json::to_vec(b).unwrap())
                    .unwrap_or_default(),
            ))
            .unwrap();
        self.rt.block_on(async {
            let response = self
                .client
                .send(request)
                .await
                .expect("request to the test API server");
            let status = response.status().as_u16();
            let bytes = response.into_body().collect_bytes().await.unwrap();
            (status, bytes)
        })
    }

    pub fn get(&self, path: &str) -> Value {
        let (status, body) = self.call("GET", path, None);
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// Create (201/200), or accept that it exists (409).
    pub fn create(&self, collection: &str, object: &Value) -> Value {
        let (status, body) = self.call("POST", collection, Some(object));
        assert!(
            matches!(status, 200 | 201 | 409),
            "POST {collection} {}: HTTP {status}: {}",
            object["metadata"]["name"],
            body["message"]
        );
        body
    }

    pub fn ensure_namespace(&self, name: &str) {
        self.create(
            "/api/v1/namespaces",
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}),
        );
    }
}

/// Collection URL and plural of the kinds the tests create.
pub fn collection(api_version: &str, kind: &str, namespace: Option<&str>) -> String {
    let plural = match kind {
        "Endpoints" => "endpoints".to_string(),
        "NetworkPolicy" => "networkpolicies".to_string(),
        "Ingress" => "ingresses".to_string(),
        k => format!("{}s", k.to_ascii_lowercase()),
    };
    let prefix = if api_version.contains('/') {
        format!("/apis/{api_version}")
    } else {
        format!("/api/{api_version}")
    };
    match namespace {
        Some(ns) => format!("{prefix}/namespaces/{ns}/{plural}"),
        None => format!("{prefix}/{plural}"),
    }
}

/// Create an object as it was dumped, then write its `status` through `/status`, so that it
/// is exactly in the state the dump recorded. Server-owned metadata is dropped (the server
/// sets it) and a Service's cluster IP is left to the test server's own range.
pub fn load_object(api: &Api, object: &Value) {
    let mut body = object.clone();
    let status = body.as_object_mut().unwrap().remove("status");
    let kind = body["kind"].as_str().unwrap().to_string();
    let api_version = body["apiVersion"].as_str().unwrap_or("v1").to_string();
    let meta = body["metadata"].as_object_mut().unwrap();
    for field in [
        "uid",
        "resourceVersion",
        "creationTimestamp",
        "managedFields",
        "selfLink",
        "generation",
    ] {
        meta.remove(field);
    }
    let name = meta["name"].as_str().unwrap().to_string();
    let namespace = meta
        .get("namespace")
        .and_then(Value::as_str)
        .map(str::to_string);
    if kind == "Service"
        && let Some(spec) = body.get_mut("spec").and_then(Value::as_object_mut)
        && spec.get("clusterIP").and_then(Value::as_str) != Some("None")
    {
        spec.remove("clusterIP");
        spec.remove("clusterIPs");
    }
    if let Some(ns) = &namespace {
        api.ensure_namespace(ns);
    }
    let coll = collection(&api_version, &kind, namespace.as_deref());
    let (code, created) = api.call("POST", &coll, Some(&body));
    if code == 409 {
        return; // already there (the default namespaces and the `kubernetes` Service)
    }
    assert!(
        matches!(code, 200 | 201),
        "create {kind} {name}: HTTP {code}: {}",
        created["message"]
    );
    if let Some(status) = status.filter(|s| s.as_object().is_some_and(|m| !m.is_empty())) {
        let mut updated = created;
        updated["status"] = status;
        let path = format!("{coll}/{name}/status");
        let (code, answer) = api.call("PUT", &path, Some(&updated));
        assert_eq!(code, 200, "PUT {path}: {}", answer["message"]);
    }
}

/// Every object of a dump file (`kind: List`, `<Kind>List`, YAML or JSON), with kind and
/// apiVersion filled in for list items that lack them.
pub fn read_dump(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    let doc: Value = if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text).unwrap()
    } else {
        serde_saphyr::from_str(&text).unwrap()
    };
    let list_kind = doc["kind"].as_str().unwrap_or("").to_string();
    let item_kind = list_kind
        .strip_suffix("List")
        .filter(|k| !k.is_empty())
        .map(str::to_string);
    let api_version = doc["apiVersion"].as_str().unwrap_or("v1").to_string();
    doc["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|mut item| {
            if item.get("kind").is_none()
                && let Some(k) = &item_kind
            {
                item["kind"] = json!(k);
            }
            if item.get("apiVersion").is_none() {
                item["apiVersion"] = json!(api_version);
            }
            item
        })
        .collect()
}

/// Load the real dumps of `tests/data/live` (see its SOURCES.md): namespaces, nodes,
/// services, endpoints, then pods.
pub fn load_real_dumps(api: &Api) -> usize {
    let mut objects = Vec::new();
    let mut files: Vec<PathBuf> = walk(&data_dir())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json" || e == "yaml"))
        .collect();
    files.sort();
    for f in files {
        objects.extend(read_dump(&f));
    }
    let rank = |k: &str| match k {
        "Namespace" => 0,
        "Node" => 1,
        "Service" => 2,
        "Endpoints" => 3,
        _ => 4,
    };
    objects.sort_by_key(|o| rank(o["kind"].as_str().unwrap_or("")));
    for o in &objects {
        load_object(api, o);
    }
    objects.len()
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

// ------------------------------------------------------------------------------------------
// Running detek

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// The report of detector `id` (single-cluster JSON).
    pub fn report(&self, id: &str) -> Value {
        report_of(&self.json(), id)
    }
}

pub fn report_of(list: &Value, id: &str) -> Value {
    list["reports"]
        .as_array()
        .expect("reports")
        .iter()
        .find(|r| r["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no report for {id}"))
}

/// `detek ARGS` with a clean environment: no $KUBECONFIG, no in-cluster variables, and a HOME
/// without a kubeconfig, so only what the test passes is used.
pub fn detek(args: &[&str]) -> Run {
    detek_with_env(args, &[])
}

pub fn detek_with_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    static HOME: OnceLock<tempfile::TempDir> = OnceLock::new();
    let home = HOME.get_or_init(|| tempfile::tempdir().unwrap());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_detek"));
    cmd.args(args)
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .env_remove("DETEK_SERVICE_ACCOUNT_DIR")
        .env("HOME", home.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let start = Instant::now();
    let out = cmd.output().expect("run detek");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).to_string(),
        elapsed: start.elapsed(),
    }
}

/// A kubeconfig with one context per `(name, server, token)`; the CA is the test server's.
pub fn write_kubeconfig(
    path: &Path,
    ca_file: &str,
    contexts: &[(&str, &str, Option<&str>)],
    current: &str,
) {
    let ca = std::fs::read(ca_file).unwrap();
    let ca_b64 = base64_encode(&ca);
    let mut clusters = Vec::new();
    let mut users = Vec::new();
    let mut ctxs = Vec::new();
    for (name, server, token) in contexts {
        let cluster = if server.starts_with("https://") {
            json!({"server": server, "certificate-authority-data": ca_b64})
        } else {
            json!({"server": server})
        };
        clusters.push(json!({"name": name, "cluster": cluster}));
        users.push(json!({"name": name, "user": match token { Some(t) => json!({"token": t}), None => json!({}) }}));
        ctxs.push(json!({"name": name, "context": {"cluster": name, "user": name}}));
    }
    let doc = json!({
        "apiVersion": "v1", "kind": "Config", "current-context": current,
        "clusters": clusters, "users": users, "contexts": ctxs,
    });
    // JSON is YAML.
    std::fs::write(path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
}

pub fn base64_encode(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = ((b[0] as u32) << 16) | ((b[1] as u32) << 8) | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

// ------------------------------------------------------------------------------------------
// The fault-injecting proxy: plain HTTP in front, the real API server (HTTPS, as admin) behind.

/// A fault for requests whose path (with query) contains `path_contains`.
#[derive(Clone, Debug)]
pub struct Fault {
    pub path_contains: String,
    /// Answer with this status instead of forwarding (a `metav1.Status` body).
    pub status: Option<u16>,
    pub retry_after: Option<u64>,
    /// Wait this long before answering (forwarded or not).
    pub delay: Option<Duration>,
    /// How many requests get the fault (`None`: all).
    pub times: Option<usize>,
}

impl Fault {
    pub fn status(path_contains: &str, status: u16) -> Fault {
        Fault {
            path_contains: path_contains.to_string(),
            status: Some(status),
            retry_after: None,
            delay: None,
            times: None,
        }
    }

    pub fn delay(path_contains: &str, delay: Duration) -> Fault {
        Fault {
            path_contains: path_contains.to_string(),
            status: None,
            retry_after: None,
            delay: Some(delay),
            times: None,
        }
    }

    pub fn retry_after(mut self, seconds: u64) -> Fault {
        self.retry_after = Some(seconds);
        self
    }

    pub fn times(mut self, n: usize) -> Fault {
        self.times = Some(n);
        self
    }
}

#[derive(Clone, Debug)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub faulted: bool,
    pub at: Duration,
}

struct ProxyState {
    upstream: kube::Client,
    faults: Mutex<Vec<Fault>>,
    log: Mutex<Vec<Logged>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    started: Instant,
}

pub struct Proxy {
    pub url: String,
    state: Arc<ProxyState>,
    rt: Option<tokio::runtime::Runtime>,
}

impl Proxy {
    pub fn start(env: &TestEnv, faults: Vec<Fault>) -> Proxy {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let kubeconfig = env.admin_kubeconfig();
        let (listener, upstream) = rt.block_on(async {
            let kc = kube::config::Kubeconfig::read_from(&kubeconfig).unwrap();
            let mut config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
                .await
                .unwrap();
            config.default_retry = false;
            let upstream = kube::Client::try_from(config).unwrap();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            (listener, upstream)
        });
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(ProxyState {
            upstream,
            faults: Mutex::new(faults),
            log: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            started: Instant::now(),
        });
        let s = state.clone();
        rt.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let s = s.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| handle(s.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Proxy {
            url,
            state,
            rt: Some(rt),
        }
    }

    /// Requests seen so far.
    pub fn log(&self) -> Vec<Logged> {
        self.state.log.lock().unwrap().clone()
    }

    pub fn requests_to(&self, path_contains: &str) -> Vec<Logged> {
        self.log()
            .into_iter()
            .filter(|l| l.path.contains(path_contains))
            .collect()
    }

    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }

    /// A kubeconfig (no credentials: the proxy authenticates upstream as admin).
    pub fn kubeconfig(&self, env: &TestEnv, path: &Path) {
        write_kubeconfig(
            path,
            env.get("CA_FILE"),
            &[("via-proxy", &self.url, None)],
            "via-proxy",
        );
    }

    /// Stop listening: connections are refused from now on.
    pub fn stop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn handle(
    state: Arc<ProxyState>,
    req: http::Request<Incoming>,
) -> Result<http::Response<Full<Bytes>>, Infallible> {
    let method = req.method().to_string();
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let n = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    state.max_in_flight.fetch_max(n, Ordering::SeqCst);
    let fault = {
        let mut faults = state.faults.lock().unwrap();
        faults
            .iter_mut()
            .find(|f| path.contains(&f.path_contains) && f.times != Some(0))
            .map(|f| {
                if let Some(t) = f.times.as_mut() {
                    *t -= 1;
                }
                f.clone()
            })
    };
    if let Some(delay) = fault.as_ref().and_then(|f| f.delay) {
        tokio::time::sleep(delay).await;
    }
    let response = match fault
        .as_ref()
        .and_then(|f| f.status.map(|s| (s, f.retry_after)))
    {
        Some((status, retry_after)) => {
            let reason = match status {
                403 => "Forbidden",
                404 => "NotFound",
                429 => "TooManyRequests",
                500 => "InternalError",
                503 => "ServiceUnavailable",
                _ => "Unknown",
            };
            let body = json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": format!("injected by the test proxy: HTTP {status} for {}", path.split('?').next().unwrap_or("")),
                "reason": reason, "code": status,
            });
            let mut b = http::Response::builder()
                .status(status)
                .header("content-type", "application/json");
            if let Some(s) = retry_after {
                b = b.header("retry-after", s.to_string());
            }
            b.body(Full::new(Bytes::from(body.to_string()))).unwrap()
        }
        None => forward(&state, req, &path).await,
    };
    state.in_flight.fetch_sub(1, Ordering::SeqCst);
    state.log.lock().unwrap().push(Logged {
        method,
        path,
        status: response.status().as_u16(),
        faulted: fault.is_some_and(|f| f.status.is_some()),
        at: state.started.elapsed(),
    });
    Ok(response)
}

async fn forward(
    state: &ProxyState,
    req: http::Request<Incoming>,
    path: &str,
) -> http::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let mut up = http::Request::builder().method(parts.method).uri(path);
    for name in ["accept", "content-type", "user-agent"] {
        if let Some(v) = parts.headers.get(name) {
            up = up.header(name, v);
        }
    }
    let up = up.body(kube::client::Body::from(body)).unwrap();
    match state.upstream.send(up).await {
        Ok(resp) => {
            let (parts, body) = resp.into_parts();
            let bytes = body.collect_bytes().await.unwrap_or_default();
            let mut b = http::Response::builder().status(parts.status);
            for name in ["content-type", "retry-after", "warning"] {
                if let Some(v) = parts.headers.get(name) {
                    b = b.header(name, v);
                }
            }
            b.body(Full::new(bytes)).unwrap()
        }
        Err(e) => http::Response::builder()
            .status(502)
            .body(Full::new(Bytes::from(format!(
                "proxy: upstream failed: {e}"
            ))))
            .unwrap(),
    }
}

// ------------------------------------------------------------------------------------------
// Report helpers

/// `(detector id → report)` of a single-cluster JSON report.
pub fn reports_by_id(list: &Value) -> BTreeMap<String, Value> {
    list["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap().to_string(), r.clone()))
        .collect()
}

/// `Kind/ns/name` of a finding's object (empty parts for a missing field).
pub fn object_name(finding: &Value) -> String {
    let o = &finding["object"];
    format!(
        "{}/{}/{}",
        o["kind"].as_str().unwrap_or(""),
        o["namespace"].as_str().unwrap_or(""),
        o["name"].as_str().unwrap_or("")
    )
}

/// Object names (`Kind/ns/name`) a report's findings name.
pub fn finding_objects(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(object_name)
        .collect()
}
