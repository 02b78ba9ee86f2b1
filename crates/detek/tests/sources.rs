//! Issue 10, "triage": the same object in several files is one object, and several clusters'
//! dumps in one folder are several targets. Through the binary; each test failed on main
//! before (5ae1c09).

mod cli_common;
use cli_common::detek;

use serde_json::Value;
use std::path::Path;

/// `detek run --select duplicate_pod_ip -f FORMAT --input INPUT` in `dir`.
fn duplicate_pod_ips(dir: &Path, format: &str, input: &str) -> (i32, String, String) {
    detek(
        dir,
        &[
            "run",
            "--select",
            "duplicate_pod_ip",
            "-f",
            format,
            "--input",
            input,
        ],
    )
}

/// The ServiceAccount and Deployment of Argo CD's `argocd-server`, as its install manifests
/// write them (trimmed).
const ARGOCD_SERVER: &str = "apiVersion: v1
kind: ServiceAccount
metadata:
  labels:
    app.kubernetes.io/component: server
    app.kubernetes.io/name: argocd-server
    app.kubernetes.io/part-of: argocd
  name: argocd-server
  namespace: argocd
---
apiVersion: apps/v1
kind: Deployment
metadata:
  labels:
    app.kubernetes.io/component: server
    app.kubernetes.io/name: argocd-server
    app.kubernetes.io/part-of: argocd
  name: argocd-server
  namespace: argocd
spec:
  replicas: REPLICAS
  selector:
    matchLabels:
      app.kubernetes.io/name: argocd-server
  template:
    metadata:
      labels:
        app.kubernetes.io/name: argocd-server
    spec:
      serviceAccountName: argocd-server
      containers:
      - name: argocd-server
        image: quay.io/argoproj/argocd:latest
        args: [/usr/local/bin/argocd-server]
        ports:
        - containerPort: 8080
        - containerPort: 8083
        readinessProbe:
          httpGet: {path: /healthz, port: 8080}
        livenessProbe:
          httpGet: {path: /healthz?full=true, port: 8080}
";

/// The HA variant starts with a ConfigMap of its own, so its copies sit at other lines.
const HA_PARAMS: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cmd-params-cm
  namespace: argocd
data:
  redis.server: argocd-redis-ha-haproxy:6379
---
";

/// `install.yaml` and `install-ha.yaml`, the Deployment with `replicas` / `ha_replicas`.
fn two_installs(dir: &Path, replicas: u32, ha_replicas: u32) {
    std::fs::write(
        dir.join("install.yaml"),
        ARGOCD_SERVER.replace("REPLICAS", &replicas.to_string()),
    )
    .unwrap();
    std::fs::write(
        dir.join("install-ha.yaml"),
        format!(
            "{HA_PARAMS}{}",
            ARGOCD_SERVER.replace("REPLICAS", &ha_replicas.to_string())
        ),
    )
    .unwrap();
}

const DETECTORS: &str = "image_tag_latest,pod_without_limits,pod_without_requests";

/// (detector, object, sources, fingerprint) of every finding of a JSON report.
fn findings(list: &Value) -> Vec<(String, String, Vec<String>, String)> {
    let mut out = Vec::new();
    for report in list["reports"].as_array().unwrap() {
        for f in report["findings"].as_array().unwrap() {
            let object = &f["object"];
            let place = |s: &Value| format!("{}:{}", s["file"].as_str().unwrap(), s["line"]);
            let sources = match object["sources"].as_array() {
                Some(all) => all.iter().map(place).collect(),
                None => vec![place(&object["source"])],
            };
            out.push((
                report["id"].as_str().unwrap().to_string(),
                format!(
                    "{}/{}",
                    object["kind"].as_str().unwrap(),
                    object["name"].as_str().unwrap()
                ),
                sources,
                f["fingerprint"].as_str().unwrap().to_string(),
            ));
        }
    }
    out
}

fn diagnostics(list: &Value) -> Vec<String> {
    list["collectors"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["diagnostics"].as_array().cloned().unwrap_or_default())
        .map(|d| {
            format!(
                "{} {}",
                d["level"].as_str().unwrap(),
                d["message"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn the_same_deployment_in_two_files_is_one_finding_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    two_installs(dir.path(), 1, 1);
    let args = ["run", "--select", DETECTORS, "-f", "json", "--input", "."];
    let (code, stdout, stderr) = detek(dir.path(), &args);
    assert_eq!(code, 0, "{stderr}");
    let list: Value = serde_json::from_str(&stdout).unwrap();
    // A warning about the inputs, not a partial scan.
    assert_eq!(list["status"], "complete");
    assert!(list.get("inputs_not_read").is_none(), "{stdout}");
    let both = vec![
        "./install-ha.yaml:19".to_string(),
        "./install.yaml:11".to_string(),
    ];
    let found: Vec<(String, String, Vec<String>)> = findings(&list)
        .into_iter()
        .map(|(id, object, sources, _)| (id, object, sources))
        .collect();
    assert_eq!(
        found,
        [
            ("image_tag_latest", "Deployment/argocd-server"),
            ("pod_without_limits", "Deployment/argocd-server"),
            ("pod_without_requests", "Deployment/argocd-server"),
        ]
        .map(|(id, object)| (id.to_string(), object.to_string(), both.clone()))
    );
    assert_eq!(
        diagnostics(&list),
        [
            "Warn ServiceAccount/argocd/argocd-server is defined in 2 files: ./install-ha.yaml:9, ./install.yaml:1; identical copies, judged once",
            "Warn Deployment/argocd/argocd-server is defined in 2 files: ./install-ha.yaml:19, ./install.yaml:11; identical copies, judged once",
        ]
    );
    assert_eq!(list["summary"]["findings"], 3);

    // The fingerprints are those one copy gives.
    let (_, single, _) = detek(
        dir.path(),
        &[
            "run",
            "--select",
            DETECTORS,
            "-f",
            "json",
            "--input",
            "./install.yaml",
        ],
    );
    let single: Value = serde_json::from_str(&single).unwrap();
    let prints = |l: &Value| -> Vec<String> { findings(l).into_iter().map(|f| f.3).collect() };
    assert_eq!(prints(&list), prints(&single));
    assert_eq!(findings(&single)[0].2, ["./install.yaml:11"]);

    // The table prints both sources on the finding's line and the warning once.
    let (code, table, _) = detek(
        dir.path(),
        &["run", "--select", DETECTORS, "-f", "table", "--input", "."],
    );
    assert_eq!(code, 0);
    let lines: Vec<&str> = table
        .lines()
        .filter(|l| l.contains("install"))
        .map(str::trim)
        .collect();
    assert_eq!(
        lines,
        [
            "Deployment/argocd/argocd-server [argocd-server]  ./install-ha.yaml:19, ./install.yaml:11  image \"quay.io/argoproj/argocd:latest\" is not pinned: it uses the latest tag",
            "Deployment/argocd/argocd-server [argocd-server]  ./install-ha.yaml:19, ./install.yaml:11  container has no cpu or memory limit",
            "Deployment/argocd/argocd-server [argocd-server]  ./install-ha.yaml:19, ./install.yaml:11  container has no cpu or memory request",
            "Warn  ./install-ha.yaml:9   ServiceAccount/argocd/argocd-server is defined in 2 files: ./install-ha.yaml:9, ./install.yaml:1; identical copies, judged once",
            "Warn  ./install-ha.yaml:19  Deployment/argocd/argocd-server is defined in 2 files: ./install-ha.yaml:19, ./install.yaml:11; identical copies, judged once",
        ],
        "{table}"
    );

    // SARIF: the judged copy is the location, the other a related location.
    let (_, sarif, _) = detek(
        dir.path(),
        &[
            "run",
            "--select",
            "image_tag_latest",
            "-f",
            "sarif",
            "--input",
            ".",
        ],
    );
    let sarif: Value = serde_json::from_str(&sarif).unwrap();
    let result = &sarif["runs"][0]["results"][0];
    let uri = |l: &Value| {
        format!(
            "{}:{}",
            l["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap(),
            l["physicalLocation"]["region"]["startLine"]
        )
    };
    assert_eq!(uri(&result["locations"][0]), "install-ha.yaml:19");
    let related: Vec<String> = result["relatedLocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(uri)
        .collect();
    assert_eq!(related, ["install.yaml:11"]);
}

#[test]
fn copies_that_differ_are_judged_from_the_first_in_path_order() {
    let dir = tempfile::tempdir().unwrap();
    two_installs(dir.path(), 1, 3);
    let (code, stdout, stderr) = detek(
        dir.path(),
        &["run", "--select", DETECTORS, "-f", "json", "--input", "."],
    );
    assert_eq!(code, 0, "{stderr}");
    let list: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        diagnostics(&list)[1],
        "Warn Deployment/argocd/argocd-server is defined in 2 files: ./install-ha.yaml:19, ./install.yaml:11; the copies differ: the first in path order (./install-ha.yaml:19) is judged"
    );
    assert_eq!(findings(&list).len(), 3);
}

/// A `kubectl get namespaces,pods -A -o json` List of one kind cluster: its kube-system
/// Namespace (the cluster's identity) and Running Pods `(namespace, name, node, IP)`.
fn cluster_dump(uid: &str, pods: &[(&str, &str, &str, &str)]) -> String {
    let mut items = vec![serde_json::json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": "kube-system",
            "uid": uid,
            "creationTimestamp": "2025-11-02T08:14:05Z",
            "labels": {"kubernetes.io/metadata.name": "kube-system"}
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"}
    })];
    for (namespace, name, node, ip) in pods {
        items.push(serde_json::json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "creationTimestamp": "2025-11-20T10:00:00Z"
            },
            "spec": {
                "nodeName": node,
                "containers": [{"name": "main", "image": "registry.k8s.io/coredns/coredns:v1.11.3"}]
            },
            "status": {
                "phase": "Running",
                "hostIP": "172.18.0.2",
                "podIP": ip,
                "podIPs": [{"ip": ip}],
                "startTime": "2025-11-20T10:00:01Z"
            }
        }));
    }
    serde_json::to_string_pretty(&serde_json::json!({
        "apiVersion": "v1",
        "kind": "List",
        "metadata": {"resourceVersion": ""},
        "items": items
    }))
    .unwrap()
}

const UID_A: &str = "6f1c2e0a-6b8e-4f5e-9a57-0c1f3c9d2a11";
const UID_B: &str = "b2d7a9e4-1c3f-4e8a-8d21-5e6f7a8b9c0d";
const COREDNS: (&str, &str, &str, &str) = (
    "kube-system",
    "coredns-7db6d8ff4d-4xkqp",
    "kind-control-plane",
    "10.244.0.3",
);
const PROVISIONER: (&str, &str, &str, &str) = (
    "local-path-storage",
    "local-path-provisioner-78776bfc44-66xwg",
    "kind-worker",
    "10.244.0.3",
);

/// (target name, identity, duplicate_pod_ip messages) per report section.
fn sections(stdout: &str) -> Vec<(String, String, Vec<String>)> {
    let doc: Value = serde_json::from_str(stdout).unwrap();
    let lists = match doc["clusters"].as_array() {
        Some(lists) => lists.clone(),
        None => vec![doc],
    };
    lists
        .iter()
        .map(|l| {
            let report = l["reports"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["id"] == "duplicate_pod_ip")
                .unwrap();
            (
                l["target"]["name"].as_str().unwrap().to_string(),
                l["target"]["identity"].as_str().unwrap().to_string(),
                report["findings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| f["message"].as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn two_clusters_dumps_in_one_folder_are_two_sections_without_cross_cluster_findings() {
    let dir = tempfile::tempdir().unwrap();
    let dumps = dir.path().join("dumps");
    std::fs::create_dir(&dumps).unwrap();
    std::fs::write(dumps.join("clusterA.json"), cluster_dump(UID_A, &[COREDNS])).unwrap();
    std::fs::write(
        dumps.join("clusterB.json"),
        cluster_dump(UID_B, &[PROVISIONER]),
    )
    .unwrap();
    let (code, stdout, stderr) = duplicate_pod_ips(dir.path(), "json", "dumps");
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        sections(&stdout),
        [
            (
                format!("dumps/clusterA.json (cluster {UID_A})"),
                format!("cluster:uid:{UID_A}"),
                vec![]
            ),
            (
                format!("dumps/clusterB.json (cluster {UID_B})"),
                format!("cluster:uid:{UID_B}"),
                vec![]
            ),
        ]
    );
    // The table: one section per cluster.
    let (_, table, _) = duplicate_pod_ips(dir.path(), "table", "dumps");
    let heads: Vec<&str> = table.lines().filter(|l| l.starts_with("detek ")).collect();
    assert_eq!(heads.len(), 2, "{table}");
    assert!(
        heads[0].contains(&format!("snapshot dumps/clusterA.json (cluster {UID_A})")),
        "{table}"
    );
    assert!(
        heads[1].contains(&format!("snapshot dumps/clusterB.json (cluster {UID_B})")),
        "{table}"
    );

    // A plain manifest beside them is in a target of its own, with no cluster identity.
    std::fs::write(
        dumps.join("app.yaml"),
        ARGOCD_SERVER.replace("REPLICAS", "1"),
    )
    .unwrap();
    let (_, stdout, stderr) = duplicate_pod_ips(dir.path(), "json", "dumps");
    let names: Vec<(String, String)> = sections(&stdout)
        .into_iter()
        .map(|(name, identity, _)| (name, identity))
        .collect();
    assert_eq!(
        names,
        [
            (
                format!("dumps/clusterA.json (cluster {UID_A})"),
                format!("cluster:uid:{UID_A}")
            ),
            (
                format!("dumps/clusterB.json (cluster {UID_B})"),
                format!("cluster:uid:{UID_B}")
            ),
            (
                "dumps/app.yaml (no cluster identity)".to_string(),
                "manifests".to_string()
            ),
        ],
        "{stderr}"
    );
}

#[test]
fn the_same_two_pods_in_one_dump_do_share_an_ip() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cluster.json"),
        cluster_dump(UID_A, &[COREDNS, PROVISIONER]),
    )
    .unwrap();
    let (code, stdout, stderr) = duplicate_pod_ips(dir.path(), "json", ".");
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        sections(&stdout),
        [(
            ".".to_string(),
            format!("cluster:uid:{UID_A}"),
            vec![
                "Pod IP 10.244.0.3 is also held by Pod local-path-storage/local-path-provisioner-78776bfc44-66xwg: connections reach either Pod".to_string()
            ]
        )]
    );
}

#[test]
fn a_cluster_split_in_files_follows_its_directory() {
    // dumps/a: one cluster in two files (namespaces, pods); dumps/b: another.
    let dir = tempfile::tempdir().unwrap();
    for (sub, uid, pod) in [("a", UID_A, COREDNS), ("b", UID_B, PROVISIONER)] {
        let d = dir.path().join("dumps").join(sub);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("namespaces.json"), cluster_dump(uid, &[])).unwrap();
        let pods: Value = serde_json::from_str(&cluster_dump("", &[pod])).unwrap();
        let only_pods = serde_json::json!({
            "apiVersion": "v1", "kind": "List", "items": [pods["items"][1].clone()]
        });
        std::fs::write(d.join("pods.json"), only_pods.to_string()).unwrap();
    }
    let (code, stdout, stderr) = duplicate_pod_ips(dir.path(), "json", "dumps");
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        sections(&stdout),
        [
            (
                format!("dumps/a/namespaces.json, dumps/a/pods.json (cluster {UID_A})"),
                format!("cluster:uid:{UID_A}"),
                vec![]
            ),
            (
                format!("dumps/b/namespaces.json, dumps/b/pods.json (cluster {UID_B})"),
                format!("cluster:uid:{UID_B}"),
                vec![]
            ),
        ]
    );
}
