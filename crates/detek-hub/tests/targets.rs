//! The targets registry: hub.yaml, kubeconfig files and directories, clouds.yaml.

use detek_hub::targets::{
    HubConfig, TargetLabels, TargetSource, TargetSpec, clouds_yaml, kubeconfig_dir, resolve,
};
use std::path::Path;

const TWO_CONTEXTS: &str = r#"
apiVersion: v1
kind: Config
current-context: b
clusters:
- {name: a, cluster: {server: "https://a.example:6443"}}
- {name: b, cluster: {server: "https://b.example:6443"}}
users:
- {name: a, user: {token: "token-a-never-read"}}
- {name: b, user: {client-key-data: "a2V5", password: "pw"}}
contexts:
- {name: a, context: {cluster: a, user: a}}
- {name: b, context: {cluster: b, user: b}}
"#;

const ONE_CONTEXT: &str = r#"
apiVersion: v1
kind: Config
current-context: admin@prod
clusters: [{name: prod, cluster: {server: "https://prod.example:6443"}}]
users: [{name: admin, user: {token: "t"}}]
contexts: [{name: admin@prod, context: {cluster: prod, user: admin}}]
"#;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

fn kube(name: &str, file: &Path, context: &str) -> TargetSpec {
    TargetSpec {
        name: name.to_string(),
        source: TargetSource::Kubernetes {
            kubeconfig: Some(file.to_path_buf()),
            context: Some(context.to_string()),
            namespace: None,
        },
        description: String::new(),
        owner: String::new(),
        labels: TargetLabels::default(),
    }
}

#[test]
fn a_kubeconfig_directory_is_one_target_per_file_or_per_context() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "prod-eu-1.yaml", ONE_CONTEXT);
    write(dir.path(), "shared", TWO_CONTEXTS);
    write(dir.path(), ".hidden.yaml", ONE_CONTEXT);
    write(dir.path(), "notes.txt", "not a kubeconfig");
    let d = dir.path();
    assert_eq!(
        kubeconfig_dir(d).unwrap(),
        [
            kube("prod-eu-1", &d.join("prod-eu-1.yaml"), "admin@prod"),
            kube("shared/a", &d.join("shared"), "a"),
            kube("shared/b", &d.join("shared"), "b"),
        ]
    );
}

#[test]
fn hub_yaml_adds_targets_and_labels_discovered_ones() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "fleet.yaml", TWO_CONTEXTS);
    write(
        d,
        "clouds.yaml",
        "clouds:\n  dc1: {auth: {auth_url: 'https://k.example', password: 'secret'}}\n",
    );
    let hub = format!(
        r#"
kubeconfigs: [{fleet}]
clouds_yaml: [{clouds}]
targets:
  - name: a
    description: Payments, EU
    owner: payments@example.com
    labels: {{team: payments, environment: prod, region: eu-1}}
  - name: team-x
    kind: kubernetes
    kubeconfig: {fleet}
    context: b
    namespace: team-x
  - name: edge-7
    description: pushes its own reports
"#,
        fleet = d.join("fleet.yaml").display(),
        clouds = d.join("clouds.yaml").display()
    );
    write(d, "hub.yaml", &hub);
    let config = HubConfig::load(&d.join("hub.yaml")).unwrap();
    let targets = resolve(&config).unwrap();
    let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "dc1", "edge-7", "team-x"]);
    let a = &targets[0];
    assert_eq!(a.description, "Payments, EU");
    assert_eq!(a.labels.team, "payments");
    assert_eq!(a.source, kube("a", &d.join("fleet.yaml"), "a").source);
    assert_eq!(
        targets[2].source,
        TargetSource::Openstack {
            cloud: "dc1".into(),
            clouds_yaml: Some(d.join("clouds.yaml")),
        }
    );
    assert_eq!(targets[3].source, TargetSource::Pushed);
    assert_eq!(
        targets[4].source.locator(),
        format!(
            "context b of {}, namespace team-x",
            d.join("fleet.yaml").display()
        )
    );
}

#[test]
fn mistakes_in_hub_yaml_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "typo.yaml", "kubeconfig_dir: [/x]\n");
    let err = HubConfig::load(&d.join("typo.yaml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("kubeconfig_dir"), "{err}");
    write(
        d,
        "bad-kind.yaml",
        "targets:\n  - {name: x, kind: kubernetse}\n",
    );
    let err = HubConfig::load(&d.join("bad-kind.yaml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("kubernetse"), "{err}");
    write(
        d,
        "bad-label.yaml",
        "targets:\n  - {name: x, labels: {tema: a}}\n",
    );
    let err = HubConfig::load(&d.join("bad-label.yaml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("tema"), "{err}");
}

#[test]
fn clouds_yaml_names_clouds_only() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "clouds.yaml",
        "clouds:\n  b: {auth: {password: x}}\n  a: {region_name: r}\n",
    );
    let names: Vec<String> = clouds_yaml(&dir.path().join("clouds.yaml"))
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["a", "b"]);
}
