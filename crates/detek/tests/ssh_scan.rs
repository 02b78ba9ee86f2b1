//! `detek run --ssh-hosts` and `detek run --ssh` against real sshd instances (testenv/sshd: on
//! loopback and inside network namespaces this binary creates, with their own `net.*`
//! values) and, for `--ssh`, a real kube-apiserver (testenv/) holding Nodes whose InternalIPs
//! are those namespaces. The findings are pinned on the parameters the namespaces set, with a
//! user profile given in `detek.yaml`.

mod live_common;

use detek_node::testing::TestHosts;
use live_common::*;
use serde_json::{Value, json};

fn hosts() -> &'static TestHosts {
    TestHosts::shared()
}

/// `detek.yaml`: a user profile of the two parameters the namespaces set, and drift on them.
const CONFIG: &str = "detectors:
  kernel_param_mismatch:
    default_profile: false
    parameters:
      - name: net.core.somaxconn
        min: 4096
        scope: network
        why: listen backlog
        references: [https://www.kernel.org/doc/html/latest/admin-guide/sysctl/net.html]
  kernel_param_drift:
    parameters: [net.core.somaxconn, net.ipv4.ip_forward]
";

fn ssh_flags(dir: &std::path::Path) -> Vec<String> {
    let h = hosts();
    let config = dir.join("detek.yaml");
    std::fs::write(&config, CONFIG).unwrap();
    vec![
        "--ssh-user".into(),
        h.var("SSHD_USER"),
        "--ssh-key".into(),
        h.var("SSHD_KEY"),
        "--ssh-known-hosts".into(),
        h.var("SSHD_KNOWN_HOSTS"),
        "--ssh-timeout".into(),
        "3s".into(),
        "--config".into(),
        config.display().to_string(),
    ]
}

fn lines(report: &Value) -> Vec<String> {
    let mut out: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}/{}: {}",
                f["object"]["kind"].as_str().unwrap_or(""),
                f["object"]["name"].as_str().unwrap_or(""),
                f["message"].as_str().unwrap()
            )
        })
        .collect();
    out.sort();
    out
}

/// `kernel_param_drift` on the three namespaced hosts as one group `pool`: the third differs
/// from the other two in its `somaxconn` and `ip_forward` (testenv/sshd/start.sh).
fn drift_of_ns3_in_pool(ns3: &str) -> Vec<String> {
    vec![
        format!(
            "Host/{ns3}: {ns3}: net.core.somaxconn is 1024 in group pool; 2 of the 2 others 4096"
        ),
        format!("Host/{ns3}: {ns3}: net.ipv4.ip_forward is 1 in group pool; 2 of the 2 others 0"),
    ]
}

fn run(args: &[String]) -> Run {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    detek(&args)
}

#[test]
fn ssh_hosts_from_a_hosts_file_are_a_target_of_their_own() {
    let h = hosts();
    let dir = tempfile::tempdir().unwrap();
    let [ns1, ns2, ns3] = <[String; 3]>::try_from(h.list("SSHD_NETNS")).unwrap();
    let refused = h.var("SSHD_REFUSED");
    let file = dir.path().join("hosts.ini");
    std::fs::write(
        &file,
        format!("# the pool\n[pool]\n{ns1}\n{ns2}\n{ns3}\n\n[gone]\n{refused}\n"),
    )
    .unwrap();
    let mut args: Vec<String> = [
        "run",
        "all",
        "--select",
        "kernel_param_mismatch,kernel_param_drift,node_unreachable_ssh",
        "-f",
        "json",
        "--ssh-hosts",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(format!("@{}", file.display()));
    args.extend(ssh_flags(dir.path()));
    let out = run(&args);
    let list = out.json();
    assert_eq!(list["target"]["kind"], "hosts", "{}", out.stderr);
    assert_eq!(list["target"]["name"], "4 SSH hosts");
    assert_eq!(
        lines(&report_of(&list, "kernel_param_mismatch")),
        [format!(
            "Host/{ns3}: {ns3}: net.core.somaxconn is 1024, below the minimum 4096"
        )]
    );
    assert_eq!(
        lines(&report_of(&list, "kernel_param_drift")),
        drift_of_ns3_in_pool(&ns3)
    );
    assert_eq!(
        lines(&report_of(&list, "node_unreachable_ssh")),
        [format!(
            "Host/{refused}: {refused} ({refused}): connection refused"
        )]
    );
    // An Error-level finding: exit code 1 (DESIGN.md §1).
    assert_eq!(out.code, 1, "{}", out.stderr);
}

/// The shared API server, with three Nodes in pool `pool-a` whose InternalIPs are the
/// namespaces' sshd, and one Node without addresses.
fn cluster() -> &'static TestEnv {
    TestEnv::shared(|env| {
        let api = env.admin();
        let netns = TestHosts::shared().list("SSHD_NETNS");
        for (i, ip) in netns.iter().enumerate() {
            load_object(
                &api,
                &json!({
                    "apiVersion": "v1", "kind": "Node",
                    "metadata": {"name": format!("node-{}", i + 1),
                                 "labels": {"agentpool": "pool-a"}},
                    "status": {"addresses": [
                        {"type": "Hostname", "address": format!("node-{}", i + 1)},
                        {"type": "InternalIP", "address": ip},
                    ]},
                }),
            );
        }
    })
}

#[test]
fn ssh_reads_the_live_clusters_nodes_and_names_them() {
    let env = cluster();
    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = [
        "run",
        "all",
        "--select",
        "kernel_param_drift,node_unreachable_ssh",
        "-f",
        "json",
        "--ssh",
        "--kubeconfig",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(env.admin_kubeconfig().display().to_string());
    args.extend(ssh_flags(dir.path()));
    let out = run(&args);
    let list = out.json();
    assert_eq!(list["target"]["kind"], "cluster", "{}", out.stderr);
    assert_eq!(
        lines(&report_of(&list, "kernel_param_drift")),
        [
            "Node/node-3: node-3: net.core.somaxconn is 1024 in group pool-a; 2 of the 2 others 4096",
            "Node/node-3: node-3: net.ipv4.ip_forward is 1 in group pool-a; 2 of the 2 others 0",
        ]
    );
    assert_eq!(
        lines(&report_of(&list, "node_unreachable_ssh")),
        Vec::<String>::new()
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn without_ssh_the_node_detectors_are_skipped_with_the_reason() {
    let out = detek(&["run", "--demo", "-f", "json"]);
    let list = out.json();
    for id in [
        "kernel_param_mismatch",
        "kernel_param_drift",
        "node_kernel_known_issue",
        "node_unreachable_ssh",
    ] {
        assert_eq!(
            list["skipped"][id],
            "this target provides no node/hosts (needs SSH access to nodes: --ssh or --ssh-hosts)",
            "{id}"
        );
    }
}

/// ssh-agent, in the foreground of a child process, with the authorised key loaded; stopped on
/// drop.
struct Agent {
    child: std::process::Child,
    socket: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Agent {
    fn start(key: &str) -> Agent {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("agent.sock");
        let child = std::process::Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("run ssh-agent (openssh-client)");
        for _ in 0..100 {
            if socket.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let added = std::process::Command::new("ssh-add")
            .arg(key)
            .env("SSH_AUTH_SOCK", &socket)
            .output()
            .unwrap();
        assert!(
            added.status.success(),
            "{}",
            String::from_utf8_lossy(&added.stderr)
        );
        Agent {
            child,
            socket,
            _dir: dir,
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_agents_key_logs_in_when_no_key_file_is_given() {
    let h = hosts();
    let agent = Agent::start(&h.var("SSHD_KEY"));
    let [lo1, _] = <[String; 2]>::try_from(h.list("SSHD_LOOPBACK")).unwrap();
    let socket = agent.socket.display().to_string();
    let args = [
        "run",
        "all",
        "--select",
        "node_unreachable_ssh",
        "-f",
        "json",
        "--ssh-hosts",
        &lo1,
        "--ssh-user",
        &h.var("SSHD_USER"),
        "--ssh-known-hosts",
        &h.var("SSHD_KNOWN_HOSTS"),
    ];
    // HOME (set by `detek_with_env`) holds no key: only the agent can log in.
    let out = detek_with_env(&args, &[("SSH_AUTH_SOCK", &socket)]);
    let list = out.json();
    assert_eq!(
        list["target"]["name"],
        format!("SSH host {lo1}"),
        "{}",
        out.stderr
    );
    assert_eq!(
        lines(&report_of(&list, "node_unreachable_ssh")),
        Vec::<String>::new()
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    // Without the agent there is nothing to log in with: the node checks are Unknown.
    let out = detek(&args);
    let report = out.report("node_unreachable_ssh");
    assert_eq!(report["level"], "Unknown", "{report}");
    assert!(
        report["error"]
            .as_str()
            .unwrap()
            .contains("no SSH key to log in with: give one with --ssh-key, or start ssh-agent"),
        "{report}"
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
}

#[test]
fn hosts_and_logins_from_the_config_file_alone() {
    let h = hosts();
    let dir = tempfile::tempdir().unwrap();
    let [ns1, ns2, ns3] = <[String; 3]>::try_from(h.list("SSHD_NETNS")).unwrap();
    let config = dir.path().join("detek.yaml");
    std::fs::write(
        &config,
        format!(
            "{CONFIG}ssh:\n  user: {}\n  keys: [{}]\n  knownHosts: {}\n  timeout: 3s\n  hosts:\n    pool: [{ns1}, {ns2}, {ns3}]\n",
            h.var("SSHD_USER"),
            h.var("SSHD_KEY"),
            h.var("SSHD_KNOWN_HOSTS"),
        ),
    )
    .unwrap();
    let config = config.display().to_string();
    let out = detek(&[
        "run",
        "all",
        "--select",
        "kernel_param_drift",
        "-f",
        "json",
        "--config",
        &config,
    ]);
    let list = out.json();
    assert_eq!(list["target"]["kind"], "hosts", "{}", out.stderr);
    assert_eq!(
        lines(&report_of(&list, "kernel_param_drift")),
        drift_of_ns3_in_pool(&ns3)
    );
}
