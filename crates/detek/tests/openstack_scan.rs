//! End-to-end scans of an OpenStack cloud: the `detek` binary against a REAL Keystone
//! (Debian's keystone, password and application-credential auth for real) and the replay
//! server of `testenv/openstack/` (Nova, Cinder, Octavia, Neutron from the official samples,
//! every token validated against that Keystone) — see `openstack_common`. The combined scan
//! adds the real kube-apiserver of `testenv/` (`live_common`).
//!
//! Every finding of the dataset is pinned: server ids, fault messages, the unreachable
//! address and how it was probed, the stuck task, the down service, hypervisor and agent, the
//! volume and the load balancer.

mod live_common;
mod openstack_common;

use openstack_common::{OsEnv, ReplayFault, cloud};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// The fixed dataset's servers (testenv/openstack/replay.py).
const ERROR_ID: &str = "2d05bd68-3fbb-4b47-9f38-c690a5d93e45";
const REACHABLE_ID: &str = "f5dc173b-6804-445a-a6d8-c705dad5b5eb";
const UNREACHABLE_ID: &str = "2ce4c5b3-2866-4972-93ce-77a2ea46a7f9";
const STUCK_ID: &str = "9a7d3c2e-5b1f-4e6a-8c0d-1f2e3a4b5c6d";
const SHUTOFF_ID: &str = "c3e1b7a4-2f6d-4a9b-b8e5-7d0c1a2b3e4f";
const BROKEN_LB_ID: &str = "5d2f7e1c-8a4b-4c3d-9e6f-0a1b2c3d4e5f";
const ERROR_VOLUME_ID: &str = "173f7b48-c4c1-4e70-9acc-086b39073506";
const DOWN_AGENT_ID: &str = "a09b81fc-5a42-46d3-a306-1a5d122a7787";

/// Every time-based verdict is judged at this instant (the stuck server has been resizing
/// since 2017-02-14T20:01:17Z).
const NOW: &str = "2017-03-01T12:00:00Z";

/// The OpenStack detectors, as `--select` takes them.
const OPENSTACK_DETECTORS: &[&str] = &[
    "openstack_compute_service_down",
    "openstack_failed_server",
    "openstack_hypervisor_down",
    "openstack_loadbalancer_error",
    "openstack_network_agent_down",
    "openstack_stuck_server",
    "openstack_unreachable_server",
    "openstack_volume_error",
];

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// A working directory with a `detek.yaml` that probes the reachable server's TCP port (the
/// replay server listens there; nothing else is probed but loopback and the test netns).
fn workdir(env: &OsEnv) -> &'static tempfile::TempDir {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let (_, port) = env.reachable();
        std::fs::write(
            dir.path().join("detek.yaml"),
            format!(
                "detectors:\n  openstack_unreachable_server:\n    ports: [{port}]\n    \
                 timeout_ms: 500\n    retries: 1\n"
            ),
        )
        .unwrap();
        dir
    })
}

/// `detek ARGS` in a directory without clouds.yaml, with HOME holding
/// `~/.config/openstack/clouds.yaml` + `secure.yaml` of the test cloud, and no `OS_*`,
/// `KUBECONFIG` or in-cluster variable from the outside.
fn detek(env: &OsEnv, args: &[&str], vars: &[(&str, &str)]) -> Run {
    detek_in(env, workdir(env).path(), args, vars)
}

/// `detek run --os-cloud CLOUD --now NOW -f json`.
fn scan_cloud(env: &OsEnv, cloud: &str) -> Run {
    detek(
        env,
        &["run", "--os-cloud", cloud, "--now", NOW, "-f", "json"],
        &[],
    )
}

fn detek_in(env: &OsEnv, cwd: &Path, args: &[&str], vars: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_detek"));
    cmd.args(args)
        .current_dir(cwd)
        .env("HOME", env.home_dir())
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT");
    for (k, _) in std::env::vars() {
        if k.starts_with("OS_") {
            cmd.env_remove(k);
        }
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run detek");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).to_string(),
    }
}

/// Findings by detector: `(object, message, discriminator)` each, for exact comparison.
fn findings(list: &Value) -> BTreeMap<String, Vec<Value>> {
    list["reports"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["findings"].as_array().is_none_or(Vec::is_empty))
        .map(|r| {
            let items = r["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    json!({"object": f["object"], "message": f["message"],
                           "discriminator": f["discriminator"]})
                })
                .collect();
            (r["id"].as_str().unwrap().to_string(), items)
        })
        .collect()
}

fn report<'a>(list: &'a Value, id: &str) -> &'a Value {
    list["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no report for {id}: {list}"))
}

fn collector<'a>(list: &'a Value, id: &str) -> &'a Value {
    list["collectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no collector {id}"))
}

fn unknown_ids(list: &Value) -> Vec<String> {
    list["reports"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["level"] == "Unknown")
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

/// The requests detek made, from the replay server's log (which also logs the calls the real
/// nova-api makes to Neutron while it answers: `"callback": true`).
fn detek_requests(env: &OsEnv) -> Vec<Value> {
    env.requests()
        .into_iter()
        .filter(|r| r["callback"] != true)
        .collect()
}

/// Requests detek made whose path contains `part`.
fn requests_to(env: &OsEnv, part: &str) -> Vec<Value> {
    detek_requests(env)
        .into_iter()
        .filter(|r| r["path"].as_str().unwrap_or("").contains(part))
        .collect()
}

/// The findings every scan of the whole dataset with admin credentials gives.
fn expected_admin_findings(env: &OsEnv) -> BTreeMap<String, Vec<Value>> {
    let demo = env.demo_project_id();
    let server = |name: &str| json!({"kind": "Server", "namespace": demo, "name": name});
    let mut expected: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    expected.insert(
        "openstack_failed_server".into(),
        vec![json!({
            "object": server("test_vm"),
            "message": format!("server {ERROR_ID} is in ERROR: fault 500: The server has either erred or is incapable of performing the requested operation. (HTTP 500) (Request-ID: req-5ec1e01c-bc04-43e7-957d-c810d4357908)"),
            "discriminator": ERROR_ID,
        })],
    );
    expected.insert(
        "openstack_stuck_server".into(),
        vec![json!({
            "object": server("resize-stuck"),
            "message": format!("server {STUCK_ID} has been RESIZE with task_state resize_migrating since 2017-02-14T20:01:17Z (14d 15h), longer than 60 minutes"),
            "discriminator": STUCK_ID,
        })],
    );
    expected.insert(
        "openstack_compute_service_down".into(),
        vec![
            json!({
                "object": {"kind": "ComputeService", "name": "nova-scheduler@host2"},
                "message": "nova-scheduler on host2 is enabled but down (last heartbeat 2012-09-19T06:55:34.000000)",
                "discriminator": null,
            }),
            json!({
                "object": {"kind": "ComputeService", "name": "nova-compute@host2"},
                "message": "nova-compute on host2 is enabled but down (last heartbeat 2012-09-18T08:03:38.000000)",
                "discriminator": null,
            }),
        ],
    );
    expected.insert(
        "openstack_hypervisor_down".into(),
        vec![json!({
            "object": {"kind": "Hypervisor", "name": "host2"},
            "message": format!("hypervisor host2 is enabled but down; it hosts 1 server: stopped-ops ({SHUTOFF_ID})"),
            "discriminator": null,
        })],
    );
    expected.insert(
        "openstack_network_agent_down".into(),
        vec![json!({
            "object": {"kind": "NetworkAgent", "name": "neutron-l3-agent@agenthost1"},
            "message": "neutron-l3-agent on agenthost1 is enabled but not alive (last heartbeat 2017-09-12 19:40:08)",
            "discriminator": DOWN_AGENT_ID,
        })],
    );
    expected.insert(
        "openstack_volume_error".into(),
        vec![json!({
            "object": {"kind": "Volume", "namespace": demo, "name": "test-volume"},
            "message": format!("volume {ERROR_VOLUME_ID} is in status error"),
            "discriminator": ERROR_VOLUME_ID,
        })],
    );
    expected.insert(
        "openstack_loadbalancer_error".into(),
        vec![json!({
            "object": {"kind": "LoadBalancer", "namespace": demo, "name": "broken_load_balancer"},
            "message": format!("load balancer {BROKEN_LB_ID}: provisioning status ERROR, operating status ERROR"),
            "discriminator": BROKEN_LB_ID,
        })],
    );
    // The unreachable server's address is in a network namespace whose replies are
    // blackholed (root). Without root it is a loopback address with nothing listening: a
    // refused connection is an answer from the host, so there is honestly no finding.
    if env.unreachable_kind() == "netns-blackhole" {
        expected.insert(
            "openstack_unreachable_server".into(),
            vec![json!({
                "object": server("web-unreachable"),
                "message": format!("ACTIVE server {UNREACHABLE_ID} does not answer from the scanning host at {} (private)", env.unreachable_addr()),
                "discriminator": UNREACHABLE_ID,
            })],
        );
    }
    expected
}

/// The unreachable server's finding says which address was probed and how.
fn assert_probe_evidence(env: &OsEnv, list: &Value) {
    if env.unreachable_kind() != "netns-blackhole" {
        return;
    }
    let (_, port) = env.reachable();
    let finding = &report(list, "openstack_unreachable_server")["findings"][0];
    let evidence: Vec<&str> = finding["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    let addr = env.unreachable_addr();
    // ICMP echo when this process may open an ICMP socket, TCP connect otherwise or after.
    assert!(
        evidence[0]
            == format!(
                "{addr} probed by TCP connect to port {port}: tcp/{port}: no answer in 2 attempts"
            )
            || evidence[0].starts_with(&format!("{addr} probed by ICMP echo")),
        "{evidence:?}"
    );
}

#[test]
fn admin_scan_gives_exactly_the_expected_findings() {
    let env = OsEnv::shared();
    let s = env.scenario();
    let run = scan_cloud(&s, cloud::ADMIN);
    assert_eq!(run.code, 1, "findings at Error: exit 1\n{}", run.stderr);
    let list = run.json();
    assert_eq!(list["target"]["kind"], "cloud");
    assert_eq!(list["target"]["name"], cloud::ADMIN);
    assert_eq!(
        list["target"]["identity"],
        format!(
            "openstack:{}#project:{}",
            env.auth_url(),
            env.get("ADMIN_PROJECT_ID")
        )
    );
    assert_eq!(list["status"], "complete", "{}", run.stderr);
    assert_eq!(findings(&list), expected_admin_findings(&s));
    assert_probe_evidence(&s, &list);
    // Every OpenStack detector ran; none is Unknown, none skipped.
    assert!(unknown_ids(&list).is_empty(), "{:?}", unknown_ids(&list));
    let skipped = list["skipped"].as_object().unwrap();
    for id in OPENSTACK_DETECTORS {
        assert!(!skipped.contains_key(*id), "{id} skipped");
    }
    assert!(
        skipped.contains_key("node_vm_not_active"),
        "no cluster in this scan"
    );

    // Admin credentials list every project: all_tenants=1, and the SHUTOFF server of project
    // `ops` is in the scan (the down hypervisor hosts it).
    let servers = requests_to(&s, "/servers/detail");
    assert_eq!(servers.len(), 1, "{servers:?}");
    assert_eq!(servers[0]["query"], "all_tenants=1&limit=1000");
    assert_eq!(servers[0]["user"], "admin");
    assert_eq!(collector(&list, "openstack")["stats"]["servers"], 5);
    // Read-only: nothing but GETs reached the services.
    assert!(detek_requests(&s).iter().all(|r| r["method"] == "GET"));
    // No secret anywhere.
    for secret in [env.admin().password, env.member().password] {
        assert!(!run.stdout.contains(&secret) && !run.stderr.contains(&secret));
    }
}

#[test]
fn member_sees_its_project_and_forbidden_lists_are_unknown() {
    let env = OsEnv::shared();
    let s = env.scenario();
    let run = scan_cloud(&s, cloud::MEMBER);
    let list = run.json();
    // Nova's default policy: os-services and os-hypervisors are admin-only. Configured but
    // forbidden is Unknown (DESIGN.md §1), so the scan is partial: exit 2.
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(list["status"], "partial");
    assert_eq!(
        unknown_ids(&list),
        [
            "openstack_compute_service_down",
            "openstack_hypervisor_down"
        ]
    );
    assert_eq!(
        report(&list, "openstack_compute_service_down")["error"],
        format!(
            "not run: input openstack/compute-services unavailable: GET {}/compute/v2.1/os-services: 403 Forbidden: Policy doesn't allow os_compute_api:os-services:list to be performed.",
            env.replay_url()
        )
    );
    // Only the project's servers (not `stopped-ops` of project ops), without all_tenants.
    let servers = requests_to(&s, "/servers/detail");
    assert_eq!(servers.len(), 1);
    assert_eq!(servers[0]["query"], "limit=1000");
    assert_eq!(servers[0]["project"], "demo");
    assert_eq!(collector(&list, "openstack")["stats"]["servers"], 4);
    let mut expected = expected_admin_findings(&s);
    for id in [
        "openstack_compute_service_down",
        "openstack_hypervisor_down",
        // Neutron lists no agent to a member.
        "openstack_network_agent_down",
    ] {
        expected.remove(id);
    }
    // The engine's collector_reports names each forbidden list once.
    let forbidden = |key: &str, path: &str, rule: &str| {
        json!({
            "object": {"kind": "Collector", "name": "openstack"},
            "message": format!("{key} unavailable: GET {}/compute/v2.1/{path}: 403 Forbidden: Policy doesn't allow os_compute_api:{rule} to be performed.", env.replay_url()),
            "discriminator": key,
        })
    };
    expected.insert(
        "collector_reports".into(),
        vec![
            forbidden(
                "openstack/compute-services",
                "os-services",
                "os-services:list",
            ),
            forbidden(
                "openstack/hypervisors",
                "os-hypervisors/detail",
                "os-hypervisors:list-detail",
            ),
        ],
    );
    assert_eq!(findings(&list), expected);
    assert_eq!(
        list["target"]["identity"],
        format!(
            "openstack:{}#project:{}",
            env.auth_url(),
            env.demo_project_id()
        )
    );
}

#[test]
fn clouds_yaml_in_the_working_directory_and_os_variables() {
    let env = OsEnv::shared();
    let s = env.scenario();
    let select = ["--select", "openstack_failed_server", "-f", "json"];
    // ./clouds.yaml + ./secure.yaml, HOME as usual.
    let mut args = vec!["run", "--os-cloud", cloud::ADMIN];
    args.extend(select);
    let run = detek_in(&s, &env.clouds_dir(), &args, &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        findings(&run.json())["openstack_failed_server"][0]["discriminator"],
        ERROR_ID
    );
    // OS_CLOUD names it as --os-cloud does.
    let mut args = vec!["run"];
    args.extend(select);
    let run = detek(&s, &args, &[("OS_CLOUD", cloud::ADMIN)]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.json()["target"]["name"], cloud::ADMIN);
    // No cloud name: the OS_* variables (a cloud target named by Keystone's URL).
    let vars = env.os_env(&env.admin());
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let run = detek(&s, &args, &vars);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let list = run.json();
    assert_eq!(list["target"]["kind"], "cloud");
    assert_eq!(list["target"]["name"], env.auth_url());
    assert_eq!(
        findings(&list)["openstack_failed_server"][0]["discriminator"],
        ERROR_ID
    );
    // Only what the selected detector needs was fetched: the servers, nothing else.
    let paths: Vec<String> = detek_requests(&s)
        .iter()
        .map(|r| r["path"].as_str().unwrap().to_string())
        .collect();
    assert!(
        paths
            .iter()
            .all(|p| p.ends_with("/compute/v2.1/servers/detail")),
        "{paths:?}"
    );
    assert_eq!(paths.len(), 3);
}

#[test]
fn application_credential() {
    let env = OsEnv::shared();
    let s = env.scenario();
    let run = detek(
        &s,
        &[
            "run",
            "--os-cloud",
            cloud::APPCRED,
            "--now",
            NOW,
            "-f",
            "json",
            "--select",
            "openstack_failed_server,openstack_volume_error,openstack_loadbalancer_error,openstack_stuck_server",
        ],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let list = run.json();
    assert_eq!(list["status"], "complete");
    // The credential's own project scope (demo), as its user.
    assert_eq!(
        list["target"]["identity"],
        format!(
            "openstack:{}#project:{}",
            env.auth_url(),
            env.demo_project_id()
        )
    );
    let mut expected = expected_admin_findings(&s);
    expected.retain(|id, _| {
        [
            "openstack_failed_server",
            "openstack_volume_error",
            "openstack_loadbalancer_error",
            "openstack_stuck_server",
        ]
        .contains(&id.as_str())
    });
    assert_eq!(findings(&list), expected);
    let requests = detek_requests(&s);
    assert!(!requests.is_empty());
    assert!(
        requests
            .iter()
            .all(|r| r["user"] == "demo" && r["status"] == 200)
    );
    assert!(!run.stdout.contains(&env.appcred().secret));
    assert!(!run.stderr.contains(&env.appcred().secret));
}

#[test]
fn token_revoked_mid_scan_is_reissued_once_and_the_scan_completes() {
    let env = OsEnv::shared();
    let s = env.scenario();
    // The third authenticated request's token is revoked in Keystone for real: every
    // request in flight with it is refused (401, or Nova's 400 when Neutron, which Nova calls
    // with the same token, refuses it).
    s.revoke_token_after(Some("admin"), 2);
    let run = scan_cloud(&s, cloud::ADMIN);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let list = run.json();
    assert_eq!(list["status"], "complete", "{}", run.stderr);
    assert_eq!(s.revoked(), 1);
    assert_eq!(collector(&list, "openstack")["stats"]["token_reissues"], 1);
    assert_eq!(findings(&list), expected_admin_findings(&s));
    // detek's requests refused for the token: a 401, or Nova's 400 when Neutron refused the
    // token Nova passed on (Nova's own call to Neutron, on the internal interface, is not
    // detek's and is not counted).
    let refused: Vec<Value> = detek_requests(&s)
        .into_iter()
        .filter(|r| r["interface"] != "internal" && (r["status"] == 401 || r["status"] == 400))
        .collect();
    assert!(!refused.is_empty(), "the revocation was seen");
    // Each refused request was sent again, once, with the new token.
    for r in &refused {
        let again = detek_requests(&s)
            .into_iter()
            .filter(|x| x["path"] == r["path"] && x["query"] == r["query"] && x["status"] == 200)
            .count();
        assert_eq!(again, 1, "{r}");
    }
    assert!(
        collector(&list, "openstack")["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["message"] == "the token was refused mid-scan and re-issued 1 time(s)")
    );
}

#[test]
fn servers_over_several_pages() {
    let env = OsEnv::shared();
    let s = env.scenario();
    s.set_generated_servers(2500, "demo");
    let run = detek(
        &s,
        &[
            "run",
            "--os-cloud",
            cloud::ADMIN,
            "--select",
            "openstack_failed_server",
            "-f",
            "json",
        ],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let list = run.json();
    // 5 servers of the dataset + 2,500 generated, 1,000 a page: three pages.
    assert_eq!(collector(&list, "openstack")["stats"]["servers"], 2505);
    assert_eq!(report(&list, "openstack_failed_server")["evaluated"], 2505);
    let pages: Vec<String> = requests_to(&s, "/servers/detail")
        .iter()
        .map(|r| r["query"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(pages.len(), 3, "{pages:?}");
    assert_eq!(pages[0], "all_tenants=1&limit=1000");
    for page in &pages[1..] {
        assert!(
            page.starts_with("all_tenants=1&limit=1000&marker="),
            "{page}"
        );
    }
    assert_ne!(pages[1], pages[2]);
    assert_eq!(
        findings(&list)["openstack_failed_server"][0]["discriminator"],
        ERROR_ID
    );
}

#[test]
fn retries_on_5xx_and_429() {
    let env = OsEnv::shared();
    let s = env.scenario();
    s.set_faults(&[
        ReplayFault {
            path_contains: "/servers/detail".into(),
            status: 503,
            times: Some(1),
            retry_after: None,
        },
        ReplayFault {
            path_contains: "/volumes/detail".into(),
            status: 429,
            times: Some(1),
            retry_after: Some(1),
        },
    ]);
    let run = detek(
        &s,
        &[
            "run",
            "--os-cloud",
            cloud::ADMIN,
            "--select",
            "openstack_failed_server,openstack_volume_error",
            "-f",
            "json",
        ],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let list = run.json();
    assert_eq!(list["status"], "complete");
    assert_eq!(collector(&list, "openstack")["stats"]["retries"], 2);
    let notes: Vec<&str> = collector(&list, "openstack")["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert!(
        notes.iter().any(|n| n.starts_with(&format!(
            "GET {}/volume/v3/{}/volumes/detail retried after 1s (HTTP 429), attempt 2 of 4",
            env.replay_url(),
            env.get("ADMIN_PROJECT_ID")
        ))),
        "{notes:?}"
    );
    assert_eq!(findings(&list).len(), 2);
}

#[test]
fn wrong_password_is_one_line_exit_2_and_only_openstack_detectors_unknown() {
    let env = OsEnv::shared();
    let s = env.scenario();
    // A cluster (manifests) and the cloud with a wrong password in secure.yaml.
    let dir = tempfile::tempdir().unwrap();
    let nodes = dir.path().join("nodes.yaml");
    std::fs::write(&nodes, node_manifests(&[("worker-1", ERROR_ID)])).unwrap();
    let run = detek(
        &s,
        &[
            "run",
            "--input",
            nodes.to_str().unwrap(),
            "--os-cloud",
            cloud::WRONG_PASSWORD,
            "-f",
            "json",
        ],
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let reason = format!(
        "Keystone at {}/auth/tokens refused the password of user demo (domain Default): 401 Unauthorized: The request you have made requires authentication.",
        env.auth_url()
    );
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("Keystone"))
            .collect::<Vec<_>>(),
        [&format!("detek: collector openstack failed: {reason}").as_str()],
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("not-the-password") && !run.stdout.contains("not-the-password"));
    let doc = run.json();
    let [manifests, cloud_list] = doc["clusters"].as_array().unwrap().as_slice() else {
        panic!("two targets: {doc}");
    };
    // The cloud: every OpenStack detector Unknown with the one reason. Nothing could be
    // read from it, so its section says nothing about its health (the engine's own
    // collector_reports is Unknown there too, as for any target nothing was collected from).
    assert_eq!(cloud_list["target"]["kind"], "cloud");
    assert_eq!(cloud_list["status"], "nothing_collected");
    let mut expected_unknown = vec!["collector_reports"];
    expected_unknown.extend(OPENSTACK_DETECTORS);
    assert_eq!(unknown_ids(cloud_list), expected_unknown);
    for id in OPENSTACK_DETECTORS {
        let error = report(cloud_list, id)["error"].as_str().unwrap();
        assert!(error.ends_with(&reason), "{id}: {error}");
    }
    // The cluster: its Kubernetes detectors judged; only the one that reads the cloud is
    // Unknown.
    assert_eq!(manifests["target"]["kind"], "snapshot");
    assert_eq!(unknown_ids(manifests), ["node_vm_not_active"]);
    assert_eq!(manifests["status"], "partial");
    assert!(
        report(manifests, "node_vm_not_active")["error"]
            .as_str()
            .unwrap()
            .ends_with(&reason)
    );
    assert!(
        detek_requests(&s).is_empty(),
        "no service was asked anything"
    );

    // The cloud alone: exit 2, nothing could be read from it.
    let run = detek(
        &s,
        &["run", "--os-cloud", cloud::WRONG_PASSWORD, "-f", "json"],
        &[],
    );
    assert_eq!(run.code, 2);
    assert_eq!(run.json()["status"], "nothing_collected");
    assert_eq!(
        run.stderr
            .lines()
            .filter(|l| l.contains("Keystone"))
            .count(),
        1,
        "{}",
        run.stderr
    );
}

#[test]
fn service_missing_from_the_catalog_skips_its_detectors() {
    let env = OsEnv::shared();
    let s = env.scenario();
    // Project nolb's catalog has every service but Octavia.
    let run = detek(
        &s,
        &[
            "run",
            "--os-cloud",
            cloud::NO_LB,
            "--select",
            "openstack_loadbalancer_error,openstack_failed_server,openstack_volume_error",
            "-f",
            "json",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let list = run.json();
    assert_eq!(list["status"], "complete");
    assert!(unknown_ids(&list).is_empty());
    assert_eq!(
        list["skipped"]["openstack_loadbalancer_error"],
        "the catalog of cloud test-nolb has no load-balancer service (region RegionOne, public interface)"
    );
    assert!(
        list["reports"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["id"] != "openstack_loadbalancer_error")
    );
    assert!(requests_to(&s, "load-balancer").is_empty());
    assert!(!requests_to(&s, "/servers/detail").is_empty());
}

/// Nodes as `kubectl get -o yaml` would have them, with `providerID: openstack:///ID`.
fn node_manifests(nodes: &[(&str, &str)]) -> String {
    nodes
        .iter()
        .map(|(name, id)| {
            format!(
                "apiVersion: v1\nkind: Node\nmetadata:\n  name: {name}\nspec:\n  providerID: openstack:///{id}\n"
            )
        })
        .collect::<Vec<_>>()
        .join("---\n")
}

#[test]
fn combined_scan_joins_nodes_to_their_vms() {
    let env = OsEnv::shared();
    let s = env.scenario();
    let kube = live_common::TestEnv::start("openstack");
    let api = kube.admin();
    const MISSING_ID: &str = "6f1e7c2a-0000-4bad-9e00-00000000dead";
    for (name, id) in [
        ("worker-error", ERROR_ID),
        ("worker-missing", MISSING_ID),
        ("worker-ok", REACHABLE_ID),
        // In project ops: only the admin's all-projects listing holds it.
        ("worker-shutoff", SHUTOFF_ID),
    ] {
        api.create(
            "/api/v1/nodes",
            &json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
                    "spec": {"providerID": format!("openstack:///{id}")}}),
        );
    }
    let kubeconfig = kube.admin_kubeconfig();
    let run = detek(
        &s,
        &[
            "run",
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "--os-cloud",
            cloud::ADMIN,
            "--select",
            "node_vm_not_active,openstack_failed_server",
            "-f",
            "json",
        ],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let doc = run.json();
    let [cluster, cloud_list] = doc["clusters"].as_array().unwrap().as_slice() else {
        panic!("a cluster and a cloud: {doc}");
    };
    assert_eq!(cluster["target"]["kind"], "cluster");
    assert_eq!(cloud_list["target"]["kind"], "cloud");
    assert_eq!(cluster["status"], "complete", "{}", run.stderr);
    let nodes = findings(cluster);
    let node_findings = &nodes["node_vm_not_active"];
    let by_node: BTreeMap<&str, &str> = node_findings
        .iter()
        .map(|f| {
            (
                f["object"]["name"].as_str().unwrap(),
                f["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        by_node.keys().copied().collect::<Vec<_>>(),
        ["worker-error", "worker-missing", "worker-shutoff"],
        "{node_findings:?}"
    );
    // Each names the Node and its server, with the server's state.
    assert!(by_node["worker-error"].contains(ERROR_ID), "{by_node:?}");
    assert!(by_node["worker-error"].contains("ERROR"), "{by_node:?}");
    assert!(
        by_node["worker-missing"].contains(MISSING_ID),
        "{by_node:?}"
    );
    assert!(
        by_node["worker-shutoff"].contains(SHUTOFF_ID),
        "{by_node:?}"
    );
    assert!(by_node["worker-shutoff"].contains("SHUTOFF"), "{by_node:?}");
    // The cloud's own section has its findings; the join is not repeated there.
    assert!(!findings(cloud_list).contains_key("node_vm_not_active"));
    assert_eq!(
        findings(cloud_list)["openstack_failed_server"][0]["discriminator"],
        ERROR_ID
    );
    // The servers were listed once for both targets.
    assert_eq!(requests_to(&s, "/servers/detail").len(), 1);
}

fn sarif_schema_errors(value: &Value) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../detek-render/tests/data/sarif-schema-2.1.0.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    validator
        .iter_errors(value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

#[test]
fn every_format_renders_the_cloud_beside_the_cluster() {
    let env = OsEnv::shared();
    let s = env.scenario();
    let dir = tempfile::tempdir().unwrap();
    let nodes = dir.path().join("nodes.yaml");
    std::fs::write(&nodes, node_manifests(&[("worker-1", ERROR_ID)])).unwrap();
    let scan = |format: &str| {
        let run = detek(
            &s,
            &[
                "run",
                "--input",
                nodes.to_str().unwrap(),
                "--os-cloud",
                cloud::ADMIN,
                "--select",
                "openstack_failed_server,node_vm_not_active",
                "-f",
                format,
            ],
            &[],
        );
        assert_eq!(run.code, 1, "{format}: {}", run.stderr);
        run.stdout
    };
    let failed = format!("server {ERROR_ID} is in ERROR");
    // Table: one section per target, the cloud's headed by its kind and name.
    let table = scan("table");
    let sections: Vec<&str> = table.lines().filter(|l| l.starts_with("detek ")).collect();
    assert_eq!(sections.len(), 2, "{table}");
    assert!(sections[0].contains("· snapshot "), "{table}");
    assert!(
        sections[1].contains(&format!("· cloud {} ·", cloud::ADMIN)),
        "{table}"
    );
    assert!(table.contains(&failed) && table.contains("Node/worker-1"));
    // HTML: the sections are targets, the cloud's titled by it.
    let html = scan("html");
    assert!(html.contains("<title>detek report — 2 targets</title>"));
    assert!(
        html.contains(&format!("Target: cloud {}", cloud::ADMIN)),
        "no cloud section"
    );
    assert!(html.contains(&failed));
    // SARIF: valid, one run per target, the cloud's findings located by resource name.
    let sarif: Value = serde_json::from_str(&scan("sarif")).unwrap();
    assert_eq!(sarif_schema_errors(&sarif), Vec::<String>::new());
    let runs = sarif["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(
        runs[1]["automationDetails"]["description"]["text"],
        format!("detek scan of cloud {}", cloud::ADMIN)
    );
    let result = &runs[1]["results"][0];
    assert_eq!(result["ruleId"], "openstack_failed_server");
    assert_eq!(
        result["locations"][0]["logicalLocations"][0]["name"],
        "test_vm"
    );
    // JUnit: a suite per target with the cloud's kind, name and identity as properties.
    let junit = scan("junit");
    let report = quick_junit::Report::deserialize_from_str(&junit).unwrap();
    let suite = &report.test_suites[1];
    let property = |name: &str| {
        suite
            .properties
            .iter()
            .find(|p| p.name.as_str() == name)
            .map(|p| p.value.to_string())
    };
    assert_eq!(property("target.kind").as_deref(), Some("cloud"));
    assert_eq!(property("target.name").as_deref(), Some(cloud::ADMIN));
    assert_eq!(
        property("target.identity"),
        Some(format!(
            "openstack:{}#project:{}",
            env.auth_url(),
            env.get("ADMIN_PROJECT_ID")
        ))
    );
    assert!(junit.contains(&failed));
    // JSON: {"clusters": [snapshot, cloud]}.
    let doc: Value = serde_json::from_str(&scan("json")).unwrap();
    assert_eq!(doc["clusters"][1]["target"]["kind"], "cloud");
    assert_eq!(
        findings(&doc["clusters"][0])["node_vm_not_active"][0]["object"]["name"],
        "worker-1"
    );
}
