//! The input document: its join indexes come from the store's shared index keys (never
//! rebuilt), and a required kind's objects are there whole.

use detek_core::Store;
use detek_kubernetes_model::model::{self as m, Item, Origin, Pod, ServicesBySelector};
use detek_kubernetes_model::pods::{Owners, PodSpecs, WorkloadTemplates};
use detek_policy::input::PolicyInput;
use detek_policy::metadata::Requirement;
use k8s_openapi::api::core::v1::{Container, PodSpec, Service, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

fn meta(name: &str, labels: &[(&str, &str)]) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: Some("shop".into()),
        labels: Some(
            labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        ..Default::default()
    }
}

fn item<T>(object: T, api_version: &str) -> Arc<Item<T>> {
    Arc::new(Item {
        object,
        origin: Origin::new(api_version.into(), None),
    })
}

fn service(name: &str, selector: &[(&str, &str)]) -> Arc<Item<Service>> {
    item(
        Service {
            metadata: meta(name, &[]),
            spec: Some(ServiceSpec {
                selector: Some(
                    selector
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect::<BTreeMap<_, _>>(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        },
        "v1",
    )
}

/// A store holding two Services that both select the Pod, and a Services-by-selector index
/// built from the first one only: the input must show what the index says.
fn store() -> Store {
    let spec = PodSpec {
        containers: vec![Container {
            name: "web".into(),
            image: Some("nginx:1.27".into()),
            ..Default::default()
        }],
        ..Default::default()
    };
    let pods = vec![item(
        Pod::new(meta("web-0", &[("app", "web")]), Some(spec), None),
        "v1",
    )];
    let services = vec![
        service("web", &[("app", "web")]),
        service("web-too", &[("app", "web")]),
    ];
    let mut store = Store::new();
    store.insert(
        &m::POD_SPECS,
        PodSpecs::new(
            pods.clone(),
            WorkloadTemplates::default(),
            Owners::new(&Vec::new(), &Vec::new()),
        ),
    );
    store.insert(
        &m::SERVICES_BY_SELECTOR,
        ServicesBySelector::new(&services[..1].to_vec()),
    );
    store.insert(&m::PODS, pods);
    store.insert(&m::SERVICES, services);
    store
}

fn wanted() -> BTreeSet<Requirement> {
    [Requirement::Kind("pods"), Requirement::Kind("services")].into()
}

fn json(input: &PolicyInput) -> serde_json::Value {
    serde_json::to_value(input.value.as_ref().unwrap()).unwrap()
}

#[test]
fn the_join_indexes_are_the_stores_not_rebuilt() {
    let input = PolicyInput::build(&store(), &wanted(), SystemTime::UNIX_EPOCH, None);
    let doc = json(&input);
    // Rebuilt from the Services, the index would list both (0 and 1).
    assert_eq!(
        doc["indexes"]["services_selecting_pod"],
        serde_json::json!([[0]])
    );
    assert_eq!(
        doc["indexes"]["pods_by_namespace"],
        serde_json::json!({"shop": [0]})
    );
    assert_eq!(
        doc["indexes"]["services_by_namespace"],
        serde_json::json!({"shop": [0, 1]})
    );
    assert_eq!(doc["indexes"]["pod_controller"], serde_json::json!([null]));
}

#[test]
fn a_required_kind_is_there_whole_and_nothing_else_is() {
    let input = PolicyInput::build(
        &store(),
        &[Requirement::Kind("pods")].into(),
        SystemTime::UNIX_EPOCH,
        None,
    );
    let doc = json(&input);
    let pod = &doc["kubernetes"]["pods"][0];
    assert_eq!(pod["apiVersion"], "v1");
    assert_eq!(pod["kind"], "Pod");
    assert_eq!(pod["spec"]["containers"][0]["image"], "nginx:1.27");
    assert!(doc["kubernetes"].get("services").is_none());
    assert!(doc["indexes"].get("services_selecting_pod").is_none());
    assert_eq!(doc["now"], "1970-01-01T00:00:00Z");
    assert_eq!(input.count(&[Requirement::Kind("pods")]), 1);
    let reference = input.object_ref("Pod", Some("shop"), "web-0").unwrap();
    assert_eq!(reference.name, "web-0");
}

#[test]
fn the_input_is_built_once_per_scan() {
    let store = store();
    let mut builds = 0;
    for _ in 0..3 {
        store.memo(detek_policy::input::MEMO, || {
            builds += 1;
            PolicyInput::build(&store, &wanted(), SystemTime::UNIX_EPOCH, None)
        });
    }
    assert_eq!(builds, 1);
}

#[test]
fn the_document_follows_its_published_schema() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/policy-input.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let input = PolicyInput::build(&store(), &wanted(), SystemTime::UNIX_EPOCH, None);
    let doc = json(&input);
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert_eq!(errors, Vec::<String>::new());
    // And the schema is not vacuous: a misspelt kind is refused.
    let mut wrong = doc.clone();
    wrong["kubernetes"]["deploymnets"] = serde_json::json!([]);
    assert!(!validator.is_valid(&wrong));
}
