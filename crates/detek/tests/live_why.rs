//! Restart forensics against a real kube-apiserver: Pods whose container states are written
//! through the status subresource, their events and a Node, reproducing three causes (an OOM
//! kill at the limit, a liveness-probe restart, a node reboot). `detek why` gives each
//! verdict; the restart findings of `detek run` carry the same one. There is no kubelet
//! behind `why-node`, so the API server cannot serve its Pods' `pods/log`: the answers say the
//! previous log was not read and why, and a user without the `pods/log` permission is told
//! that instead — never an error. `log-node` points at a fake kubelet on loopback
//! (testenv/kubelet/fake-kubelet.py, the kubelet's container-log endpoint over HTTPS): the API
//! server proxies `pods/log?previous=true` to it as to a real kubelet, and the log signature
//! found there is the verdict.

mod live_common;

use jiff::{SignedDuration, Timestamp};
use live_common::*;
use serde_json::{Value, json};
use std::sync::OnceLock;

const NS: &str = "why";

/// The previous run of `api-0`'s container `api`, as the fake kubelet serves it (hand-written,
/// in the shape of a Go service's log; the address is the test's own).
const API_LOG: [&str; 3] = [
    "2026/12/07 10:00:01 starting api v2.3.1",
    "2026/12/07 10:00:01 opening postgres://api:s3cr3t-pw@127.0.0.1:5432/orders",
    "2026/12/07 10:00:31 failed to connect to postgres://api:s3cr3t-pw@127.0.0.1:5432/orders: dial tcp 127.0.0.1:5432: connect: connection refused",
];

/// The fake kubelet of this test binary: its directory (logs.json, requests.log) and port.
fn kubelet() -> &'static (tempfile::TempDir, u16) {
    static KUBELET: OnceLock<(tempfile::TempDir, u16)> = OnceLock::new();
    KUBELET.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("logs.json"),
            json!({format!("{NS}/api-0/api"): API_LOG}).to_string(),
        )
        .unwrap();
        // It stops by itself when this process is gone.
        let child = std::process::Command::new("python3")
            .arg(repo_root().join("testenv/kubelet/fake-kubelet.py"))
            .arg(dir.path())
            .spawn()
            .expect("start testenv/kubelet/fake-kubelet.py");
        std::mem::forget(child);
        let port_file = dir.path().join("port");
        for _ in 0..300 {
            if let Ok(port) = std::fs::read_to_string(&port_file) {
                let port = port.trim().parse().unwrap();
                return (dir, port);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("the fake kubelet did not start within 30 s");
    })
}

/// Minutes before the scan, as the API server writes times.
fn ago(minutes: i64) -> String {
    (Timestamp::now() - SignedDuration::from_mins(minutes))
        .round(jiff::Unit::Second)
        .unwrap()
        .to_string()
}

/// A running Pod on `why-node` whose one container restarted `restarts` times: running again
/// since `running_since` minutes ago, after `last` (its `terminated` state).
fn restarted_pod(
    name: &str,
    container: Value,
    restarts: i32,
    running_since: i64,
    last: Value,
) -> Value {
    let status = json!({"name": container["name"], "image": container["image"], "imageID": "",
                        "ready": true, "restartCount": restarts,
                        "state": {"running": {"startedAt": ago(running_since)}},
                        "lastState": {"terminated": last}});
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": NS},
           "spec": {"nodeName": "why-node", "containers": [container]},
           "status": {"phase": "Running", "containerStatuses": [status]}})
}

fn event(name: &str, object: Value, reason: &str, message: &str, at: &str) -> Value {
    let namespace = object["namespace"]
        .as_str()
        .unwrap_or("default")
        .to_string();
    json!({"apiVersion": "v1", "kind": "Event",
           "metadata": {"name": name, "namespace": namespace},
           "involvedObject": object, "reason": reason, "message": message, "type": "Warning",
           "count": 1, "firstTimestamp": at, "lastTimestamp": at,
           "source": {"component": "kubelet", "host": "why-node"}})
}

fn env() -> &'static TestEnv {
    TestEnv::shared(|env| {
        let api = env.admin();
        api.ensure_namespace(NS);
        load_object(
            &api,
            &json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "why-node"},
                    "status": {"conditions": [
                        {"type": "Ready", "status": "True", "reason": "KubeletReady",
                         "lastHeartbeatTime": ago(1), "lastTransitionTime": ago(18)}]}}),
        );
        // Killed at its 128Mi limit 10 minutes ago, running again since.
        load_object(
            &api,
            &restarted_pod(
                "oom-web",
                json!({"name": "web", "image": "registry.example/web:1.0",
                       "resources": {"limits": {"memory": "128Mi"}}}),
                3,
                9,
                json!({"exitCode": 137, "reason": "OOMKilled", "startedAt": ago(60), "finishedAt": ago(10)}),
            ),
        );
        // Restarted by its liveness probe.
        load_object(
            &api,
            &restarted_pod(
                "probe-web",
                json!({"name": "web", "image": "registry.example/web:1.0",
                       "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080},
                                         "timeoutSeconds": 1, "periodSeconds": 5}}),
                5,
                19,
                json!({"exitCode": 143, "reason": "Error", "startedAt": ago(90), "finishedAt": ago(20)}),
            ),
        );
        let probe_web = json!({"kind": "Pod", "namespace": NS, "name": "probe-web",
                               "fieldPath": "spec.containers{web}"});
        api.create(
            &format!("/api/v1/namespaces/{NS}/events"),
            &event(
                "probe-web.1",
                probe_web.clone(),
                "Unhealthy",
                "Liveness probe failed: HTTP probe failed with statuscode: 500",
                &ago(21),
            ),
        );
        api.create(
            &format!("/api/v1/namespaces/{NS}/events"),
            &event(
                "probe-web.2",
                probe_web,
                "Killing",
                "Container web failed liveness probe, will be restarted",
                &ago(21),
            ),
        );
        // Lost when the node rebooted.
        load_object(
            &api,
            &restarted_pod(
                "cache-0",
                json!({"name": "redis", "image": "redis:7.2"}),
                1,
                17,
                json!({"exitCode": 255, "reason": "Unknown", "startedAt": ago(600), "finishedAt": ago(20)}),
            ),
        );
        api.create(
            "/api/v1/namespaces/default/events",
            &event(
                "why-node.1",
                json!({"kind": "Node", "name": "why-node"}),
                "Rebooted",
                "Node why-node has been rebooted, boot id: 0b9c6f7e-1111-4222-8333-944455556666",
                &ago(18),
            ),
        );
        // A Node whose kubelet is the fake one on loopback, and a Pod on it crash-looping on
        // a database that refuses connections.
        let (_, kubelet_port) = kubelet();
        load_object(
            &api,
            &json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "log-node"},
                    "status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                               "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet_port}},
                               "conditions": [
                        {"type": "Ready", "status": "True", "reason": "KubeletReady",
                         "lastHeartbeatTime": ago(1), "lastTransitionTime": ago(600)}]}}),
        );
        let mut api_0 = restarted_pod(
            "api-0",
            json!({"name": "api", "image": "registry.example/api:2.3.1"}),
            4,
            0,
            json!({"exitCode": 1, "reason": "Error", "startedAt": ago(3), "finishedAt": ago(2)}),
        );
        api_0["spec"]["nodeName"] = json!("log-node");
        api_0["status"]["containerStatuses"][0]["ready"] = json!(false);
        api_0["status"]["containerStatuses"][0]["state"] = json!({"waiting": {
            "reason": "CrashLoopBackOff",
            "message": "back-off 1m20s restarting failed container=api pod=api-0_why"}});
        load_object(&api, &api_0);
        // A user who may read Pods, events and Nodes but not their logs.
        for object in [
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                   "metadata": {"name": "why-no-logs"},
                   "rules": [{"apiGroups": [""], "resources": ["pods", "events", "nodes"],
                              "verbs": ["get", "list"]},
                             {"apiGroups": ["apps", "batch"], "resources": ["replicasets", "jobs"],
                              "verbs": ["get", "list"]}]}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                   "metadata": {"name": "why-no-logs"},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                               "name": "why-no-logs"},
                   "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                                 "name": "limited"}]}),
        ] {
            load_object(&api, &object);
        }
    })
}

fn why(kubeconfig: &std::path::Path, pod: &str) -> Value {
    let kc = kubeconfig.display().to_string();
    let run = detek(&[
        "why",
        &format!("pod/{pod}"),
        "-n",
        NS,
        "--kubeconfig",
        &kc,
        "-f",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json()["explanations"][0].clone()
}

#[test]
fn each_reproduced_cause_is_the_verdict_and_the_missing_log_is_named() {
    let env = env();
    let admin = env.admin_kubeconfig();
    for (pod, cause) in [
        ("oom-web", "oom_at_limit"),
        ("probe-web", "liveness_probe_failed"),
        ("cache-0", "node_reboot"),
    ] {
        let e = why(&admin, pod);
        assert_eq!(e["verdict"]["cause"], cause, "{pod}: {e:#}");
        let not_read: Vec<&str> = e["not_read"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(
            not_read[0].starts_with("the previous run's log: not read: "),
            "{pod}: {not_read:?}"
        );
    }
    let e = why(&admin, "probe-web");
    assert_eq!(
        e["verdict"]["evidence"],
        json!([format!(
            "Pod event Killing at {}: Container web failed liveness probe, will be restarted",
            e["timeline"][1]["at"].as_str().unwrap()
        )])
    );
    assert!(
        e["verdict"]["explanation"]
            .as_str()
            .unwrap()
            .contains("probe: timeoutSeconds 1, periodSeconds 5, failureThreshold 3"),
        "{e:#}"
    );
}

#[test]
fn without_the_pods_log_permission_the_answer_says_so() {
    let env = env();
    let e = why(&env.limited_kubeconfig(), "oom-web");
    assert_eq!(e["verdict"]["cause"], "oom_at_limit");
    assert!(
        e["not_read"][0]
            .as_str()
            .unwrap()
            .starts_with("the previous run's log: not judged: reading pods/log is not allowed"),
        "{e:#}"
    );
}

#[test]
fn the_restart_findings_of_a_live_scan_carry_the_verdict() {
    let env = env();
    let kc = env.admin_kubeconfig().display().to_string();
    let run = detek(&[
        "run",
        "--kubeconfig",
        &kc,
        "-n",
        NS,
        "-f",
        "json",
        "--fail-on",
        "never",
        "--select",
        "oomkilled_container",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.report("oomkilled_container");
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{report:#}");
    let evidence: Vec<&str> = findings[0]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        evidence.contains(
            &"verdict: killed at its memory limit — container web used all of its memory \
              limit (128Mi) and the kernel's OOM killer stopped it (exit code 137: killed by \
              SIGKILL: the OOM killer, a kill after the grace period, or the node stopping)."
        ),
        "{evidence:#?}"
    );
}

#[test]
fn a_pod_that_does_not_exist_is_exit_2() {
    let env = env();
    let kc = env.admin_kubeconfig().display().to_string();
    let run = detek(&["why", "pod/nope", "-n", NS, "--kubeconfig", &kc]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("pod/nope not found in namespace why"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_previous_log_read_through_the_api_server_gives_the_verdict() {
    let env = env();
    let e = why(&env.admin_kubeconfig(), "api-0");
    assert_eq!(e["verdict"]["cause"], "dependency_failed_at_start", "{e:#}");
    assert_eq!(e["log"]["signature"], "connection_refused");
    assert_eq!(e["log"]["found_in"], "previous log");
    // The line shown is the matched one, its password redacted.
    assert_eq!(
        e["log"]["line"],
        "2026/12/07 10:00:31 failed to connect to postgres://api:[redacted]@127.0.0.1:5432/orders: \
         dial tcp 127.0.0.1:5432: connect: connection refused"
    );
    assert!(!e.to_string().contains("s3cr3t-pw"), "{e:#}");
    assert!(
        e["looked_at"]
            .as_array()
            .unwrap()
            .contains(&json!("the previous run's last 3 log lines")),
        "{e:#}"
    );
    // What reached the kubelet: the previous run, bounded in lines and bytes.
    let (dir, _) = kubelet();
    let requests = std::fs::read_to_string(dir.path().join("requests.log")).unwrap();
    let request = requests
        .lines()
        .find(|r| r.starts_with(&format!("/containerLogs/{NS}/api-0/api?")))
        .unwrap_or_else(|| panic!("{requests}"));
    for param in ["previous=true", "tailLines=50", "limitBytes=16384"] {
        assert!(request.contains(param), "{request}");
    }
}
