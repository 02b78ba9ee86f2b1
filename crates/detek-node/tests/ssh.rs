//! The node collector against real sshd instances (testenv/sshd: Debian's openssh-server on
//! loopback ports and inside network namespaces this test binary creates, so that `net.*`
//! parameters really differ), then the node detectors on what it read. Broken hosts are real
//! too: a changed and an unknown host key, a port that never speaks SSH, a refused port, a
//! key the server does not accept. Started once per test binary; needs root for the
//! namespaces (as CI runs).

use detek_core::{Clock, Collector, ReportList, ReportResult, RunOptions, Settings};
use detek_kubernetes_model::collector::SnapshotCollector;
use detek_kubernetes_model::ingest::Input;
use detek_node::collector::{HostSource, NodeCollector};
use detek_node::hosts::{self, HostSpec};
use detek_node::ssh::SshOptions;
use detek_node::testing::TestHosts;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

fn var(name: &str) -> String {
    TestHosts::shared().var(name)
}

fn list(name: &str) -> Vec<String> {
    TestHosts::shared().list(name)
}

fn options() -> SshOptions {
    SshOptions {
        user: var("SSHD_USER"),
        identity_files: vec![PathBuf::from(var("SSHD_KEY"))],
        use_agent: false,
        known_hosts: PathBuf::from(var("SSHD_KNOWN_HOSTS")),
        timeout: Duration::from_secs(3),
        ..SshOptions::default()
    }
}

fn spec(address: &str, group: &str) -> HostSpec {
    HostSpec::parse(address, group).unwrap()
}

/// The namespace hosts (group `pool`) and the loopback ones (group `loopback`).
fn good_hosts() -> Vec<HostSpec> {
    let mut hosts: Vec<HostSpec> = list("SSHD_NETNS").iter().map(|h| spec(h, "pool")).collect();
    hosts.extend(list("SSHD_LOOPBACK").iter().map(|h| spec(h, "loopback")));
    hosts
}

/// Only the parameters the namespaces set: findings that do not depend on the machine.
fn settings() -> Settings {
    let mut settings = Settings::new();
    settings.set(
        "kernel_param_mismatch.parameters",
        serde_json::json!([
            {"name": "net.core.somaxconn", "min": 4096, "scope": "network",
             "why": "listen backlog", "references": ["https://www.kernel.org/doc/html/latest/admin-guide/sysctl/net.html"]},
            {"name": "net.ipv4.ip_forward", "expect": "1", "scope": "network",
             "why": "Pod traffic is routed", "references": ["https://kubernetes.io/docs/setup/production-environment/container-runtimes/"]},
        ]),
    );
    settings.set("kernel_param_mismatch.default_profile", false);
    settings.set(
        "kernel_param_drift.parameters",
        serde_json::json!(["net.core.somaxconn", "net.ipv4.ip_forward"]),
    );
    settings
}

fn scan(ids: &[&str], collectors: Vec<Arc<dyn Collector>>, settings: Settings) -> ReportList {
    let options = RunOptions {
        settings,
        clock: Clock::Wall,
        ..Default::default()
    };
    detek_core::run_selected(detek_node::all(), ids, &collectors, &options)
}

fn lines(list: &ReportList, id: &str) -> Vec<String> {
    let report = list
        .reports
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no report {id}: skipped {:?}", list.skipped));
    assert_ne!(
        report.result,
        ReportResult::Unknown,
        "{id}: {:?}",
        report.error
    );
    let mut lines: Vec<String> = report
        .findings
        .iter()
        .map(|f| {
            let object = f
                .object
                .as_ref()
                .map(|o| o.display_name())
                .unwrap_or_default();
            format!("{object}: {}", f.message)
        })
        .collect();
    lines.sort();
    lines
}

fn local(parameter: &str) -> String {
    let path = format!("/proc/sys/{}", parameter.replace('.', "/"));
    std::fs::read_to_string(path).unwrap().trim().to_string()
}

/// What `kernel_param_mismatch` must say about a host in this machine's own namespace.
fn expected_on_loopback(host: &str) -> Vec<String> {
    let mut out = Vec::new();
    let somaxconn: i64 = local("net.core.somaxconn").parse().unwrap();
    if somaxconn < 4096 {
        out.push(format!(
            "Host/{host}: {host}: net.core.somaxconn is {somaxconn}, below the minimum 4096"
        ));
    }
    let forward = local("net.ipv4.ip_forward");
    if forward != "1" {
        out.push(format!(
            "Host/{host}: {host}: net.ipv4.ip_forward is {forward}, expected 1"
        ));
    }
    out
}

fn uname() -> String {
    let out = std::process::Command::new("uname")
        .arg("-r")
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn namespaces_differ_for_real_and_the_detectors_say_how() {
    let [ns1, ns2, ns3] = <[String; 3]>::try_from(list("SSHD_NETNS")).unwrap();
    let [lo1, lo2] = <[String; 2]>::try_from(list("SSHD_LOOPBACK")).unwrap();
    let collector = NodeCollector::new(HostSource::List(good_hosts()), options());
    let list = scan(
        &[
            "kernel_param_mismatch",
            "kernel_param_drift",
            "node_unreachable_ssh",
        ],
        vec![Arc::new(collector)],
        settings(),
    );
    assert_eq!(lines(&list, "node_unreachable_ssh"), Vec::<String>::new());
    let mut expected = vec![
        format!("Host/{ns1}: {ns1}: net.ipv4.ip_forward is 0, expected 1"),
        format!("Host/{ns2}: {ns2}: net.ipv4.ip_forward is 0, expected 1"),
        format!("Host/{ns3}: {ns3}: net.core.somaxconn is 1024, below the minimum 4096"),
    ];
    expected.extend(expected_on_loopback(&lo1));
    expected.extend(expected_on_loopback(&lo2));
    expected.sort();
    assert_eq!(lines(&list, "kernel_param_mismatch"), expected);
    assert_eq!(
        lines(&list, "kernel_param_drift"),
        [
            format!(
                "Host/{ns3}: {ns3}: net.core.somaxconn is 1024 in group pool; 2 of the 2 others 4096"
            ),
            format!(
                "Host/{ns3}: {ns3}: net.ipv4.ip_forward is 1 in group pool; 2 of the 2 others 0"
            ),
        ]
    );
}

#[test]
fn every_host_reports_the_kernel_it_runs() {
    // The same kernel everywhere (namespaces share it): the collector read `uname -r`.
    let hosts = collect(good_hosts(), options());
    let kernels: Vec<&str> = hosts
        .iter()
        .map(|h| h.facts.as_ref().unwrap().kernel_release.as_str())
        .collect();
    assert_eq!(kernels, vec![uname().as_str(); 5]);
    let os = &hosts[0].facts.as_ref().unwrap().os;
    assert!(!os.is_empty(), "PRETTY_NAME of /etc/os-release");
    // `/proc/sys` was read whole: a host-scoped parameter has this machine's value.
    assert_eq!(
        hosts[0]
            .facts
            .as_ref()
            .unwrap()
            .sysctl
            .get("kernel.pid_max"),
        Some(&local("kernel.pid_max"))
    );
}

/// The hosts the collector reads from a list, in order.
fn collect(hosts: Vec<HostSpec>, options: SshOptions) -> Vec<detek_node::model::Host> {
    let collector = NodeCollector::new(HostSource::List(hosts.clone()), options);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut notes = Vec::new();
    runtime
        .block_on(collector.read_hosts(hosts, &mut notes, &detek_core::Silent))
        .unwrap()
}

#[test]
fn broken_hosts_each_say_why_and_only_they_are_left_out() {
    let changed = var("SSHD_CHANGED");
    let unknown = var("SSHD_UNKNOWN");
    let silent = var("SSHD_SILENT");
    let refused = var("SSHD_REFUSED");
    let [lo1, _] = <[String; 2]>::try_from(list("SSHD_LOOPBACK")).unwrap();
    let known_hosts = var("SSHD_KNOWN_HOSTS");
    let key_dir = Path::new(&known_hosts).parent().unwrap().join("keys");
    let hosts = [&changed, &unknown, &silent, &refused, &lo1]
        .iter()
        .map(|h| spec(h, "g"))
        .collect();
    let got = collect(hosts, options());
    let reasons: Vec<String> = got
        .iter()
        .map(|h| match &h.facts {
            Ok(_) => format!("{}: read", h.name),
            Err(why) => format!("{}: {why}", h.name),
        })
        .collect();
    assert_eq!(
        reasons,
        [
            format!(
                "{changed}: host key CHANGED: the server shows ssh-ed25519 {}, {known_hosts} line 3 holds another — a reinstalled node, or someone in the middle; not connecting (verify the new key, then replace that line)",
                fingerprint(&key_dir.join("host_b.pub"))
            ),
            format!(
                "{unknown}: unknown host key (ssh-ed25519 {}), not in {known_hosts}: verify it out of band and add it (ssh-keyscan), or accept new keys with --ssh-accept-new-host-keys",
                fingerprint(&key_dir.join("host_a.pub"))
            ),
            format!(
                "{silent}: the port accepted the connection, but no SSH handshake completed within 3s (is it an SSH server?)"
            ),
            format!("{refused}: connection refused"),
            format!("{lo1}: read"),
        ]
    );

    // The node detectors: the four are node_unreachable_ssh's, and the fifth host is judged.
    let hosts = [&changed, &unknown, &silent, &refused, &lo1]
        .iter()
        .map(|h| spec(h, "g"))
        .collect();
    let list = scan(
        &["node_unreachable_ssh", "kernel_param_mismatch"],
        vec![Arc::new(NodeCollector::new(
            HostSource::List(hosts),
            options(),
        ))],
        settings(),
    );
    assert_eq!(lines(&list, "node_unreachable_ssh").len(), 4);
    assert_eq!(
        lines(&list, "kernel_param_mismatch"),
        expected_on_loopback(&lo1)
    );
    let report = list
        .reports
        .iter()
        .find(|r| r.id == "kernel_param_mismatch")
        .unwrap();
    assert_eq!(report.evaluated, Some(1), "only the host that was read");
}

fn fingerprint(public_key: &Path) -> String {
    let out = std::process::Command::new("ssh-keygen")
        .arg("-l")
        .arg("-f")
        .arg(public_key)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    text.split_whitespace().nth(1).unwrap().to_string()
}

#[test]
fn a_key_the_server_does_not_accept_is_that_hosts_reason() {
    let [lo1, _] = <[String; 2]>::try_from(list("SSHD_LOOPBACK")).unwrap();
    let mut options = options();
    options.identity_files = vec![PathBuf::from(var("SSHD_WRONG_KEY"))];
    let user = options.user.clone();
    let got = collect(vec![spec(&lo1, "g")], options);
    assert_eq!(
        got[0].facts.as_ref().unwrap_err(),
        &format!(
            "login as {user} refused: the server accepted none of the 1 key(s) offered (is the public key in {user}'s authorized_keys?)"
        )
    );
}

#[test]
fn accepting_new_host_keys_learns_unknown_ones_but_never_a_changed_one() {
    let unknown = var("SSHD_UNKNOWN");
    let changed = var("SSHD_CHANGED");
    let dir = tempfile::tempdir().unwrap();
    let known_hosts = dir.path().join("known_hosts");
    std::fs::copy(var("SSHD_KNOWN_HOSTS"), &known_hosts).unwrap();
    let before = std::fs::read_to_string(&known_hosts).unwrap();
    let mut options = options();
    options.known_hosts = known_hosts.clone();
    options.accept_new_host_keys = true;
    let got = collect(
        vec![spec(&unknown, "g"), spec(&changed, "g")],
        options.clone(),
    );
    assert!(got[0].facts.is_ok(), "{:?}", got[0].facts);
    assert!(
        got[1]
            .facts
            .as_ref()
            .unwrap_err()
            .starts_with("host key CHANGED"),
        "{:?}",
        got[1].facts
    );
    let after = std::fs::read_to_string(&known_hosts).unwrap();
    let added: Vec<&str> = after.lines().skip(before.lines().count()).collect();
    let (host, port) = unknown.split_once(':').unwrap();
    assert_eq!(added.len(), 1, "{after}");
    assert!(
        added[0].starts_with(&format!("[{host}]:{port} ssh-ed25519 ")),
        "{}",
        added[0]
    );
    // Learnt once: the next scan checks it without accepting anything new.
    options.accept_new_host_keys = false;
    let again = collect(vec![spec(&unknown, "g")], options);
    assert!(again[0].facts.is_ok(), "{:?}", again[0].facts);
}

#[test]
fn a_jump_host_reaches_the_namespaces() {
    let [lo1, _] = <[String; 2]>::try_from(list("SSHD_LOOPBACK")).unwrap();
    let mut options = options();
    options.proxy_jump = Some(spec(&lo1, "jump"));
    let targets: Vec<HostSpec> = list("SSHD_NETNS").iter().map(|h| spec(h, "pool")).collect();
    let got = collect(targets, options);
    let somaxconn: Vec<&str> = got
        .iter()
        .map(|h| h.facts.as_ref().unwrap().sysctl["net.core.somaxconn"].as_str())
        .collect();
    // Each answer is its own namespace's (the third was set to 1024).
    assert_eq!(somaxconn, ["4096", "4096", "1024"]);
}

#[test]
fn hosts_come_from_the_clusters_nodes_grouped_by_pool() {
    let [ns1, ns2, ns3] = <[String; 3]>::try_from(list("SSHD_NETNS")).unwrap();
    let node = |name: &str, ip: &str, pool: &str| {
        format!(
            "apiVersion: v1\nkind: Node\nmetadata:\n  name: {name}\n  labels:\n    agentpool: {pool}\n\
             status:\n  addresses:\n  - {{type: Hostname, address: {name}}}\n  - {{type: InternalIP, address: {ip}}}\n"
        )
    };
    let text = [
        node("node-1", &ns1, "pool-a"),
        node("node-2", &ns2, "pool-a"),
        node("node-3", &ns3, "pool-a"),
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: node-4\n".to_string(),
    ]
    .join("---\n");
    let snapshot = Arc::new(SnapshotCollector::new(vec![Input::Text {
        name: "nodes.yaml".into(),
        text,
    }]));
    let pool_labels = hosts::DEFAULT_POOL_LABELS
        .iter()
        .map(|s| s.to_string())
        .collect();
    let nodes = Arc::new(NodeCollector::new(
        HostSource::Nodes { pool_labels },
        options(),
    ));
    let list = scan(
        &["kernel_param_drift", "node_unreachable_ssh"],
        vec![snapshot, nodes],
        settings(),
    );
    assert_eq!(
        lines(&list, "kernel_param_drift"),
        [
            "Node/node-3: node-3: net.core.somaxconn is 1024 in group pool-a; 2 of the 2 others 4096",
            "Node/node-3: node-3: net.ipv4.ip_forward is 1 in group pool-a; 2 of the 2 others 0",
        ]
    );
    assert_eq!(
        lines(&list, "node_unreachable_ssh"),
        ["Node/node-4: node-4 (): the Node lists no address to connect to"]
    );
}
