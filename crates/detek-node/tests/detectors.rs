//! The node detectors on hosts as the collector will report them.

use detek_core::{DetectContext, ObjectRef, Settings, Store};
use detek_node::model::{Facts, HOSTS, Host};
use std::time::SystemTime;

fn host(name: &str, group: &str, sysctl: &[(&str, &str)]) -> Host {
    Host {
        name: name.into(),
        address: format!("{name}:22"),
        group: group.into(),
        node: Some(ObjectRef::new("Node", None, name)),
        facts: Ok(Facts {
            kernel_release: "6.8.0-45-generic".into(),
            os: "Ubuntu 24.04.1 LTS".into(),
            sysctl: sysctl
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Facts::default()
        }),
    }
}

fn run(id: &str, hosts: Vec<Host>) -> Vec<String> {
    let mut store = Store::new();
    store.insert(&HOSTS, hosts);
    let settings = Settings::default();
    let ctx = DetectContext::new(&store, &settings, SystemTime::now()).for_detector(id);
    let detector = detek_node::all()
        .into_iter()
        .find(|d| d.meta().id == id)
        .unwrap();
    let outcome = detector.detect(&ctx).unwrap();
    outcome
        .findings
        .iter()
        .map(|f| format!("{} {}", f.object.as_ref().unwrap().name, f.message))
        .collect()
}

#[test]
fn mismatches_name_the_node_the_parameter_and_the_expectation() {
    let hosts = vec![
        host(
            "node-1",
            "workers",
            &[
                ("net.ipv4.ip_forward", "1"),
                ("fs.inotify.max_user_watches", "524288"),
            ],
        ),
        host(
            "node-2",
            "workers",
            &[
                ("net.ipv4.ip_forward", "0"),
                ("fs.inotify.max_user_watches", "8192"),
            ],
        ),
        Host {
            facts: Err("connection refused".into()),
            ..host("node-3", "workers", &[])
        },
    ];
    assert_eq!(
        run("kernel_param_mismatch", hosts),
        [
            // In the profile's order.
            "node-2 node-2: net.ipv4.ip_forward is 0, expected 1",
            "node-2 node-2: fs.inotify.max_user_watches is 8192, below the minimum 524288",
        ]
    );
}

#[test]
fn drift_names_the_node_off_its_groups_majority() {
    let hosts = vec![
        host("node-1", "workers", &[("net.core.somaxconn", "4096")]),
        host("node-2", "workers", &[("net.core.somaxconn", "4096")]),
        host("node-7", "workers", &[("net.core.somaxconn", "65535")]),
        // Another group may differ from this one.
        host("db-1", "databases", &[("net.core.somaxconn", "65535")]),
        // Two nodes, two values: no majority, both named.
        host("gpu-1", "gpu", &[("vm.max_map_count", "262144")]),
        host("gpu-2", "gpu", &[("vm.max_map_count", "65530")]),
    ];
    assert_eq!(
        run("kernel_param_drift", hosts),
        [
            "gpu-1 gpu-1: vm.max_map_count is 262144 in group gpu; no value is held by most of the group",
            "gpu-2 gpu-2: vm.max_map_count is 65530 in group gpu; no value is held by most of the group",
            "node-7 node-7: net.core.somaxconn is 65535 in group workers; 2 of the 2 others 4096",
        ]
    );
}

#[test]
fn known_kernel_issues_by_upstream_version() {
    let mut old = host("node-1", "workers", &[]);
    if let Ok(facts) = &mut old.facts {
        facts.kernel_release = "5.15.0-91-generic".into();
    }
    let mut current = host("node-2", "workers", &[]);
    if let Ok(facts) = &mut current.facts {
        facts.kernel_release = "6.12.8-talos".into();
    }
    let ids: Vec<String> = {
        let mut store = Store::new();
        store.insert(&HOSTS, vec![old, current]);
        let settings = Settings::default();
        let ctx = DetectContext::new(&store, &settings, SystemTime::now())
            .for_detector("node_kernel_known_issue");
        let detector = detek_node::all()
            .into_iter()
            .find(|d| d.meta().id == "node_kernel_known_issue")
            .unwrap();
        detector
            .detect(&ctx)
            .unwrap()
            .findings
            .iter()
            .map(|f| {
                format!(
                    "{} {}",
                    f.object.as_ref().unwrap().name,
                    f.discriminator.as_deref().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(ids, PINNED);
}

/// 5.15.0 is in the 5.11–5.15 ranges of four entries; 6.12.8 is after every fix.
const PINNED: &[&str] = &[
    "node-1 CVE-2022-0847",
    "node-1 CVE-2022-0185",
    "node-1 CVE-2024-1086",
    "node-1 CVE-2022-0492",
];

#[test]
fn an_unreachable_host_is_named_with_its_reason_and_only_it() {
    let hosts = vec![
        host("node-1", "workers", &[("net.ipv4.ip_forward", "1")]),
        Host {
            facts: Err(
                "host key for 127.0.0.1:2201 changed (known_hosts line 3); not connecting".into(),
            ),
            ..host("node-5", "workers", &[])
        },
    ];
    assert_eq!(
        run("node_unreachable_ssh", hosts),
        [
            "node-5 node-5 (node-5:22): host key for 127.0.0.1:2201 changed (known_hosts line 3); not connecting"
        ]
    );
}
