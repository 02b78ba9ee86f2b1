//! `deploy/` against a real kube-apiserver: the manifests apply, the ClusterRole is read-only
//! and covers exactly what detek reads (SubjectAccessReview), and detek run as the Job runs it
//! — in-cluster, with the ServiceAccount's own token — collects everything.

mod live_common;

use live_common::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const SA_USER: &str = "system:serviceaccount:detek:detek";

fn deploy_dir() -> std::path::PathBuf {
    repo_root().join("deploy")
}

fn manifests() -> Vec<Value> {
    let mut files: Vec<_> = std::fs::read_dir(deploy_dir())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let mut docs = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let parsed: Vec<Value> = serde_saphyr::from_str_multiple(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        docs.extend(parsed.into_iter().filter(|d| d.is_object()));
    }
    docs
}

/// The environment with deploy/ applied (and the real dumps, so the scan has work to do).
fn env() -> &'static TestEnv {
    TestEnv::shared(|env| {
        let api = env.admin();
        load_real_dumps(&api);
        for doc in manifests() {
            let ns = doc["metadata"]["namespace"].as_str();
            let coll = collection(
                doc["apiVersion"].as_str().unwrap(),
                doc["kind"].as_str().unwrap(),
                ns,
            );
            let (code, body) = api.call("POST", &coll, Some(&doc));
            assert!(
                matches!(code, 200 | 201),
                "apply {} {}: HTTP {code}: {}",
                doc["kind"],
                doc["metadata"]["name"],
                body["message"]
            );
        }
        // The binding takes effect within a moment.
        for _ in 0..40 {
            if can(&api, "list", "", "pods") {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(250));
        }
        panic!("the ClusterRoleBinding never took effect");
    })
}

/// May the ServiceAccount `verb` `resource` (`pods`, or a subresource: `pods/log`)?
fn can(api: &Api, verb: &str, group: &str, resource: &str) -> bool {
    let (resource, subresource) = resource.split_once('/').unwrap_or((resource, ""));
    let review = json!({
        "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
        "spec": {"user": SA_USER, "groups": ["system:serviceaccounts", "system:serviceaccounts:detek", "system:authenticated"],
                 "resourceAttributes": {"verb": verb, "group": group, "resource": resource, "subresource": subresource}},
    });
    let (code, body) = api.call(
        "POST",
        "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        Some(&review),
    );
    assert_eq!(code, 201, "{body}");
    body["status"]["allowed"] == true
}

fn can_get_url(api: &Api, path: &str, verb: &str) -> bool {
    let review = json!({
        "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
        "spec": {"user": SA_USER, "groups": ["system:serviceaccounts", "system:authenticated"],
                 "nonResourceAttributes": {"path": path, "verb": verb}},
    });
    let (_, body) = api.call(
        "POST",
        "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        Some(&review),
    );
    body["status"]["allowed"] == true
}

#[test]
fn the_manifests_apply_and_the_cluster_role_is_read_only() {
    let env = env();
    let api = env.admin();
    // Every kind detek reads: get, list, watch.
    for k in detek_kubernetes_model::model::KINDS {
        for verb in ["get", "list", "watch"] {
            assert!(
                can(&api, verb, k.group, k.plural),
                "the ServiceAccount cannot {verb} {}",
                k.plural
            );
        }
    }
    for path in ["/version", "/readyz", "/livez", "/api", "/apis/apps/v1"] {
        assert!(can_get_url(&api, path, "get"), "cannot GET {path}");
    }
    // Nothing else: no writes, no subresources that act (exec, eviction, tokens).
    for (group, resource) in [
        ("", "pods"),
        ("", "secrets"),
        ("", "nodes"),
        ("", "configmaps"),
        ("apps", "deployments"),
        ("rbac.authorization.k8s.io", "clusterroles"),
    ] {
        for verb in ["create", "update", "patch", "delete", "deletecollection"] {
            assert!(
                !can(&api, verb, group, resource),
                "the ServiceAccount can {verb} {resource}"
            );
        }
    }
    for (verb, resource) in [
        ("create", "pods/exec"),
        ("create", "pods/eviction"),
        ("create", "serviceaccounts/token"),
        ("get", "nodes/proxy"),
    ] {
        assert!(
            !can(&api, verb, "", resource),
            "the ServiceAccount can {verb} {resource}"
        );
    }
    assert!(!can(
        &api,
        "escalate",
        "rbac.authorization.k8s.io",
        "clusterroles"
    ));
    assert!(!can(&api, "impersonate", "", "users"));
    // Restart forensics reads previous runs' logs: get on pods/log, nothing more there.
    assert!(can(&api, "get", "", "pods/log"));
    assert!(!can(&api, "create", "", "pods/log"));
    assert!(!can_get_url(&api, "/metrics", "get"));

    // The file itself: only get/list/watch, and exactly the resources of detek's model.
    let role = manifests()
        .into_iter()
        .find(|d| d["kind"] == "ClusterRole")
        .unwrap();
    let mut granted = BTreeSet::new();
    for rule in role["rules"].as_array().unwrap() {
        for verb in rule["verbs"].as_array().unwrap() {
            assert!(
                ["get", "list", "watch"].contains(&verb.as_str().unwrap()),
                "verb {verb} in {rule}"
            );
        }
        for g in rule["apiGroups"].as_array().into_iter().flatten() {
            for r in rule["resources"].as_array().unwrap() {
                granted.insert((
                    g.as_str().unwrap().to_string(),
                    r.as_str().unwrap().to_string(),
                ));
            }
        }
    }
    let mut read: BTreeSet<(String, String)> = detek_kubernetes_model::model::KINDS
        .iter()
        .map(|k| (k.group.to_string(), k.plural.to_string()))
        .collect();
    read.insert((String::new(), "pods/log".to_string()));
    assert_eq!(
        granted, read,
        "the ClusterRole must grant exactly the kinds detek reads, and pods/log"
    );
}

#[test]
fn the_job_and_the_cron_job_run_detek_in_cluster_with_the_service_account() {
    let env = env();
    let api = env.admin();
    let job = api.get("/apis/batch/v1/namespaces/detek/jobs/detek");
    let cron = api.get("/apis/batch/v1/namespaces/detek/cronjobs/detek");
    let job_spec = &job["spec"]["template"]["spec"];
    let cron_spec = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    for spec in [job_spec, cron_spec] {
        assert_eq!(spec["serviceAccountName"], "detek");
        assert_eq!(
            spec["containers"][0]["args"],
            job_spec["containers"][0]["args"]
        );
        assert_eq!(
            spec["containers"][0]["securityContext"]["readOnlyRootFilesystem"],
            true
        );
    }
    let args: Vec<String> = job_spec["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    assert_eq!(args[..3], ["run", "-f", "json"]);

    // What the Pod would do: the same arguments, in-cluster, with the ServiceAccount's token.
    let sa = service_account_dir(env, &api, "detek");
    let in_cluster = |args: &[String]| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        detek_with_env(
            &args,
            &[
                ("KUBERNETES_SERVICE_HOST", "127.0.0.1"),
                ("KUBERNETES_SERVICE_PORT", env.get("APISERVER_PORT")),
                ("DETEK_SERVICE_ACCOUNT_DIR", sa.path().to_str().unwrap()),
            ],
        )
    };
    let run = in_cluster(&args);
    assert_eq!(
        run.code, 0,
        "--fail-on never: 0 whenever the scan ran\n{}",
        run.stderr
    );
    let list = run.json();
    let identity = list["target"]["identity"].as_str().unwrap().to_string();
    assert!(identity.starts_with("cluster:uid:"), "{identity}");
    assert_eq!(
        list["target"],
        json!({"kind": "cluster", "name": "in-cluster", "identity": identity})
    );
    assert_eq!(list["status"], "complete", "{}", run.stderr);
    assert!(
        list["collectors"][0].get("failed_keys").is_none(),
        "{}",
        list["collectors"][0]
    );
    assert!(
        finding_objects(&report_of(&list, "failed_pod"))
            .contains(&"Pod/message-oomkill-pod/oom-kill-job3-gbb89".to_string())
    );

    // Every detector, too: the role covers all of them.
    let mut all = args.clone();
    all.insert(1, "all".to_string());
    let list = in_cluster(&all).json();
    assert!(
        list["collectors"][0].get("failed_keys").is_none(),
        "{}",
        list["collectors"][0]
    );

    // deploy/README: without the `secrets` line, only what needs Secrets is Unknown (the
    // Helm releases are read from Secrets too). (A
    // second ServiceAccount with that role, so the other test still sees the shipped one.)
    let mut role = manifests()
        .into_iter()
        .find(|d| d["kind"] == "ClusterRole")
        .unwrap();
    role["metadata"]["name"] = json!("detek-read-only-no-secrets");
    for rule in role["rules"].as_array_mut().unwrap() {
        if let Some(resources) = rule.get_mut("resources").and_then(Value::as_array_mut) {
            resources.retain(|r| r != "secrets");
        }
    }
    api.create("/apis/rbac.authorization.k8s.io/v1/clusterroles", &role);
    api.create(
        "/api/v1/namespaces/detek/serviceaccounts",
        &json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "detek-no-secrets", "namespace": "detek"}}),
    );
    api.create(
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        &json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                "metadata": {"name": "detek-read-only-no-secrets"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "detek-read-only-no-secrets"},
                "subjects": [{"kind": "ServiceAccount", "name": "detek-no-secrets", "namespace": "detek"}]}),
    );
    let sa = service_account_dir(env, &api, "detek-no-secrets");
    let scan = || {
        detek_with_env(
            &all.iter().map(String::as_str).collect::<Vec<_>>(),
            &[
                ("KUBERNETES_SERVICE_HOST", "127.0.0.1"),
                ("KUBERNETES_SERVICE_PORT", env.get("APISERVER_PORT")),
                ("DETEK_SERVICE_ACCOUNT_DIR", sa.path().to_str().unwrap()),
            ],
        )
        .json()
    };
    // A new binding takes effect within a moment.
    let mut list = scan();
    for _ in 0..20 {
        if list["collectors"][0]["failed_keys"]
            .as_object()
            .map(|m| m.len())
            == Some(3)
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
        list = scan();
    }
    let failed = list["collectors"][0]["failed_keys"]
        .as_object()
        .expect("secrets forbidden");
    assert_eq!(
        failed.keys().collect::<Vec<_>>(),
        [
            "kubernetes/helm-releases",
            "kubernetes/objects",
            "kubernetes/secrets"
        ]
    );
    assert!(
        failed["kubernetes/secrets"]
            .as_str()
            .unwrap()
            .starts_with("forbidden: secrets is forbidden"),
        "{failed:?}"
    );
    assert_eq!(list["status"], "partial");
}

/// What the kubelet mounts in a Pod: the ServiceAccount's token (from the TokenRequest API),
/// the cluster CA, the namespace.
fn service_account_dir(env: &TestEnv, api: &Api, name: &str) -> tempfile::TempDir {
    let request = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 3600}});
    let path = format!("/api/v1/namespaces/detek/serviceaccounts/{name}/token");
    let (code, body) = api.call("POST", &path, Some(&request));
    assert_eq!(code, 201, "{body}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("token"),
        body["status"]["token"].as_str().unwrap(),
    )
    .unwrap();
    std::fs::copy(env.get("CA_FILE"), dir.path().join("ca.crt")).unwrap();
    std::fs::write(dir.path().join("namespace"), "detek").unwrap();
    dir
}
