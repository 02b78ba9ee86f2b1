//! The input document every policy of a scan reads (docs/policies.md, its JSON schema in
//! `docs/policy-input.schema.json`): built once per scan from the store, on first use by any
//! policy ([`detek_core::Store::memo`]), and shared by all of them — regorus values are
//! reference-counted, so handing it to each evaluation copies nothing.
//!
//! ```text
//! input.now                     the scan's "now", RFC 3339 (what --now sets; never the wall clock)
//! input.cluster                 {name, kind, identity, version, live, wholeCluster}
//! input.kubernetes.<plural>     the objects of each required kind, whole (pods, deployments...)
//! input.kubernetes.custom[group][kind]   custom resources a policy requires as group/Kind
//! input.indexes.*               the shared join indexes, as positions in those arrays
//! ```
//!
//! The join indexes are the model's (DESIGN.md §2): Pods' controllers as `controller_of`
//! resolved them for `kubernetes/pod-specs`, and the Services selecting each Pod as
//! `kubernetes/services-by-selector` answers — read from the store, never rebuilt here, so a
//! policy joining Pods to Services stays linear (CRATES.md measured a naive Rego join of 5k
//! Pods and 1k Services at 14 s, indexed 142 ms).

use crate::metadata::Requirement;
use detek_core::{ObjectRef, Store, Target};
use detek_kubernetes_model::model::{self as m, Item, Items, Named};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::SystemTime;

/// The name of the input document among the store's memos.
pub const MEMO: &str = "policy/input";

/// The converted input and what findings need to name objects.
pub struct PolicyInput {
    /// The document (`input`), or why it could not be built.
    pub value: Result<regorus::Value, String>,
    /// (kind, namespace as written or "", name) → the object's reference with its file and line.
    refs: HashMap<(String, String, String), ObjectRef>,
    /// How many objects each requirement found.
    counts: BTreeMap<Requirement, usize>,
}

impl PolicyInput {
    /// The reference of the object a finding names, with its file and line when the scan
    /// holds it; a manifest object written without namespace is found as `default`.
    pub fn object_ref(
        &self,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<&ObjectRef> {
        let ns = namespace.unwrap_or("");
        self.refs
            .get(&(kind.to_string(), ns.to_string(), name.to_string()))
            .or_else(|| {
                (ns == "default")
                    .then(|| {
                        self.refs
                            .get(&(kind.to_string(), String::new(), name.to_string()))
                    })
                    .flatten()
            })
    }

    /// Objects of the policy's required kinds in the scan: "passed" or "nothing to check".
    pub fn count(&self, requires: &[Requirement]) -> usize {
        requires.iter().filter_map(|r| self.counts.get(r)).sum()
    }

    /// Build the document of `wanted` from what the store holds (a kind it lacks is left out:
    /// the policies requiring it do not run).
    pub fn build(
        store: &Store,
        wanted: &BTreeSet<Requirement>,
        now: SystemTime,
        target: Option<&Target>,
    ) -> PolicyInput {
        let mut builder = Builder {
            store,
            kubernetes: BTreeMap::new(),
            custom: BTreeMap::new(),
            refs: HashMap::new(),
            counts: BTreeMap::new(),
            errors: Vec::new(),
        };
        for requirement in wanted {
            builder.add(requirement);
        }
        let indexes = builder.indexes(wanted);
        let Builder {
            kubernetes,
            custom,
            refs,
            counts,
            mut errors,
            ..
        } = builder;
        let cluster = store.get(&m::CLUSTER_INFO).ok();
        let now = jiff::Timestamp::try_from(now)
            .map(|t| t.to_string())
            .unwrap_or_default();
        let cluster = ClusterDoc {
            name: target.map(|t| t.name.clone()),
            kind: target.map(|t| t.kind.clone()),
            identity: target.map(|t| t.identity.clone()).filter(|i| !i.is_empty()),
            version: cluster.and_then(|c| c.server_version.clone()),
            live: cluster.is_some_and(|c| c.live),
            whole_cluster: cluster.is_some_and(|c| c.whole_cluster),
        };
        let value = document(now, &cluster, kubernetes, custom, &indexes);
        let value = match value {
            Ok(value) if errors.is_empty() => Ok(value),
            Ok(_) => Err(errors.remove(0)),
            Err(e) => Err(format!("the policy input could not be built: {e}")),
        };
        PolicyInput {
            value,
            refs,
            counts,
        }
    }
}

/// The document from its parts, the objects already converted.
fn document(
    now: String,
    cluster: &ClusterDoc,
    kinds: BTreeMap<&'static str, regorus::Value>,
    custom: BTreeMap<String, BTreeMap<String, regorus::Value>>,
    indexes: &Indexes,
) -> Result<regorus::Value, String> {
    let json = |value: serde_json::Result<serde_json::Value>| {
        value.map(regorus::Value::from).map_err(|e| e.to_string())
    };
    let key = |k: &str| regorus::Value::from(k);
    let mut kubernetes: BTreeMap<regorus::Value, regorus::Value> = kinds
        .into_iter()
        .map(|(plural, objects)| (key(plural), objects))
        .collect();
    if !custom.is_empty() {
        let groups: BTreeMap<regorus::Value, regorus::Value> = custom
            .into_iter()
            .map(|(group, kinds)| {
                let kinds: BTreeMap<regorus::Value, regorus::Value> =
                    kinds.into_iter().map(|(k, v)| (key(&k), v)).collect();
                (key(&group), regorus::Value::from(kinds))
            })
            .collect();
        kubernetes.insert(key("custom"), regorus::Value::from(groups));
    }
    let document: BTreeMap<regorus::Value, regorus::Value> = [
        (key("now"), regorus::Value::from(now)),
        (key("cluster"), json(serde_json::to_value(cluster))?),
        (key("kubernetes"), regorus::Value::from(kubernetes)),
        (key("indexes"), json(serde_json::to_value(indexes))?),
    ]
    .into();
    Ok(regorus::Value::from(document))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClusterDoc {
    name: Option<String>,
    kind: Option<String>,
    identity: Option<String>,
    version: Option<String>,
    live: bool,
    whole_cluster: bool,
}

/// Positions into `input.kubernetes.pods` / `services`.
#[derive(Serialize, Default)]
struct Indexes {
    #[serde(skip_serializing_if = "Option::is_none")]
    pods_by_namespace: Option<BTreeMap<String, Vec<u32>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pod_controller: Option<Vec<Option<ControllerDoc>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    services_by_namespace: Option<BTreeMap<String, Vec<u32>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    services_selecting_pod: Option<Vec<Vec<u32>>>,
}

#[derive(Serialize)]
struct ControllerDoc {
    kind: &'static str,
    name: String,
}

struct Builder<'a> {
    store: &'a Store,
    kubernetes: BTreeMap<&'static str, regorus::Value>,
    custom: BTreeMap<String, BTreeMap<String, regorus::Value>>,
    refs: HashMap<(String, String, String), ObjectRef>,
    counts: BTreeMap<Requirement, usize>,
    errors: Vec<String>,
}

/// `objects` as a regorus array, converted in parallel chunks on threads of their own: the
/// first policy builds the input while the others wait for it, so rayon's workers would sit
/// idle (a 10,000-object input: 0.34 s on one thread).
fn convert<T: Serialize + Sync>(objects: &[&T]) -> Result<regorus::Value, String> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let chunk = objects.len().div_ceil(threads).max(512);
    let parts: Vec<Result<Vec<regorus::Value>, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = objects
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    let text = serde_json::to_string(part).map_err(|e| e.to_string())?;
                    let value = regorus::Value::from_json_str(&text).map_err(|e| e.to_string())?;
                    let array = value.as_array().map_err(|e| e.to_string())?;
                    Ok(array.iter().cloned().collect::<Vec<_>>())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("the conversion panicked".to_string()))
            })
            .collect()
    });
    let mut all = Vec::with_capacity(objects.len());
    for part in parts {
        all.extend(part?);
    }
    Ok(regorus::Value::from(all))
}

/// The `default` namespace of a namespaced object written without one.
/// RFC 3339 of `seconds` since the epoch, as policies compare times (`time.parse_rfc3339_ns`).
pub(crate) fn rfc3339(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

impl Builder<'_> {
    fn add(&mut self, requirement: &Requirement) {
        match requirement {
            Requirement::Kind(plural) => self.add_kind(plural),
            Requirement::Custom { group, kind } => {
                let Ok(custom) = self.store.get(&m::CUSTOM_RESOURCES) else {
                    return;
                };
                let objects: Vec<_> = custom.of_kind(group, kind).collect();
                for object in &objects {
                    let namespace = object.object.namespace().unwrap_or("").to_string();
                    self.refs.insert(
                        (kind.clone(), namespace, object.object.name().to_string()),
                        object.object_ref(),
                    );
                }
                let values: Vec<&serde_json::Value> =
                    objects.iter().map(|o| &o.object.value).collect();
                self.counts.insert(requirement.clone(), values.len());
                match convert(&values) {
                    Ok(raw) => {
                        self.custom
                            .entry(group.clone())
                            .or_default()
                            .insert(kind.clone(), raw);
                    }
                    Err(e) => self.errors.push(format!("{group}/{kind}: {e}")),
                }
            }
        }
    }

    fn add_kind(&mut self, plural: &'static str) {
        macro_rules! typed {
            ($($name:literal => $key:expr),* $(,)?) => {
                match plural {
                    "pods" => match self.store.get(&m::POD_SPECS) {
                        // The Pods the index positions refer to.
                        Ok(specs) => self.items("pods", specs.pods()),
                        Err(_) => self.items_of("pods", &m::PODS),
                    },
                    "secrets" => self.secrets(),
                    $($name => self.items_of($name, &$key),)*
                    _ => {}
                }
            };
        }
        typed! {
            "services" => m::SERVICES,
            "endpoints" => m::ENDPOINTS,
            "endpointslices" => m::ENDPOINT_SLICES,
            "nodes" => m::NODES,
            "namespaces" => m::NAMESPACES,
            "configmaps" => m::CONFIGMAPS,
            "serviceaccounts" => m::SERVICE_ACCOUNTS,
            "persistentvolumeclaims" => m::PERSISTENT_VOLUME_CLAIMS,
            "persistentvolumes" => m::PERSISTENT_VOLUMES,
            "events" => m::EVENTS,
            "replicationcontrollers" => m::REPLICATION_CONTROLLERS,
            "deployments" => m::DEPLOYMENTS,
            "statefulsets" => m::STATEFUL_SETS,
            "daemonsets" => m::DAEMON_SETS,
            "replicasets" => m::REPLICA_SETS,
            "jobs" => m::JOBS,
            "cronjobs" => m::CRON_JOBS,
            "ingresses" => m::INGRESSES,
            "ingressclasses" => m::INGRESS_CLASSES,
            "networkpolicies" => m::NETWORK_POLICIES,
            "poddisruptionbudgets" => m::POD_DISRUPTION_BUDGETS,
            "horizontalpodautoscalers" => m::HORIZONTAL_POD_AUTOSCALERS,
            "roles" => m::ROLES,
            "clusterroles" => m::CLUSTER_ROLES,
            "rolebindings" => m::ROLE_BINDINGS,
            "clusterrolebindings" => m::CLUSTER_ROLE_BINDINGS,
            "validatingwebhookconfigurations" => m::VALIDATING_WEBHOOKS,
            "mutatingwebhookconfigurations" => m::MUTATING_WEBHOOKS,
        }
    }

    fn items_of<T: Named + Serialize + Send + Sync + 'static>(
        &mut self,
        plural: &'static str,
        key: &detek_core::Key<Items<T>>,
    ) {
        if let Ok(items) = self.store.get(key) {
            self.items(plural, items);
        }
    }

    fn items<T: Named + Serialize + Sync>(&mut self, plural: &'static str, items: &[Arc<Item<T>>]) {
        for item in items {
            self.refs.insert(
                (
                    T::KIND.to_string(),
                    item.namespace().unwrap_or("").to_string(),
                    item.name().to_string(),
                ),
                item.object_ref(),
            );
        }
        let objects: Vec<&T> = items.iter().map(|i| &i.object).collect();
        self.counts.insert(Requirement::Kind(plural), objects.len());
        match convert(&objects) {
            Ok(raw) => {
                self.kubernetes.insert(plural, raw);
            }
            Err(e) => self.errors.push(format!("{plural}: {e}")),
        }
    }

    /// Secrets as the model keeps them: metadata, type, key names and certificate facts —
    /// never their data (DESIGN.md §4).
    fn secrets(&mut self) {
        let Ok(secrets) = self.store.get(&m::SECRETS) else {
            return;
        };
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct SecretDoc<'a> {
            api_version: &'static str,
            kind: &'static str,
            metadata: &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
            #[serde(rename = "type")]
            type_: &'a str,
            keys: &'a [String],
            #[serde(skip_serializing_if = "Option::is_none")]
            certificate: Option<CertificateDoc<'a>>,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct CertificateDoc<'a> {
            subject: &'a str,
            issuer: &'a str,
            not_before: String,
            not_after: String,
            dns_names: &'a [String],
        }
        let time = rfc3339;
        let docs: Vec<SecretDoc> = secrets
            .iter()
            .map(|s| SecretDoc {
                api_version: "v1",
                kind: "Secret",
                metadata: &s.metadata,
                type_: &s.type_,
                keys: &s.keys,
                certificate: match &s.certificate {
                    Some(Ok(c)) => Some(CertificateDoc {
                        subject: &c.subject,
                        issuer: &c.issuer,
                        not_before: time(c.not_before),
                        not_after: time(c.not_after),
                        dns_names: &c.dns_names,
                    }),
                    _ => None,
                },
            })
            .collect();
        for s in secrets.iter() {
            self.refs.insert(
                (
                    "Secret".to_string(),
                    s.namespace().unwrap_or("").to_string(),
                    s.name().to_string(),
                ),
                s.object_ref(),
            );
        }
        self.counts.insert(Requirement::Kind("secrets"), docs.len());
        let docs: Vec<&SecretDoc> = docs.iter().collect();
        match convert(&docs) {
            Ok(raw) => {
                self.kubernetes.insert("secrets", raw);
            }
            Err(e) => self.errors.push(format!("secrets: {e}")),
        }
    }

    /// The join indexes of the kinds wanted, read from the model's shared index keys.
    fn indexes(&self, wanted: &BTreeSet<Requirement>) -> Indexes {
        let mut indexes = Indexes::default();
        let wants = |plural: &'static str| wanted.contains(&Requirement::Kind(plural));
        let specs = self.store.get(&m::POD_SPECS).ok().filter(|_| wants("pods"));
        let services = self
            .store
            .get(&m::SERVICES)
            .ok()
            .filter(|_| wants("services"));
        if let Some(specs) = specs {
            let mut by_namespace: BTreeMap<String, Vec<u32>> = BTreeMap::new();
            for (i, pod) in specs.pods().iter().enumerate() {
                by_namespace
                    .entry(pod.namespace_or_default().to_string())
                    .or_default()
                    .push(i as u32);
            }
            indexes.pods_by_namespace = Some(by_namespace);
            indexes.pod_controller = Some(
                (0..specs.pods().len())
                    .map(|i| {
                        specs.controller(i).map(|c| ControllerDoc {
                            kind: c.kind,
                            name: c.name.clone(),
                        })
                    })
                    .collect(),
            );
        }
        if let Some(services) = services {
            let mut by_namespace: BTreeMap<String, Vec<u32>> = BTreeMap::new();
            for (i, service) in services.iter().enumerate() {
                by_namespace
                    .entry(service.namespace_or_default().to_string())
                    .or_default()
                    .push(i as u32);
            }
            indexes.services_by_namespace = Some(by_namespace);
        }
        if let (Some(specs), Some(services), Ok(selecting)) =
            (specs, services, self.store.get(&m::SERVICES_BY_SELECTOR))
        {
            let position: HashMap<*const Item<k8s_openapi::api::core::v1::Service>, u32> = services
                .iter()
                .enumerate()
                .map(|(i, s)| (Arc::as_ptr(s), i as u32))
                .collect();
            indexes.services_selecting_pod = Some(
                (0..specs.pods().len())
                    .map(|i| {
                        specs
                            .pod_view(i)
                            .map(|view| {
                                selecting
                                    .selecting(&view)
                                    .into_iter()
                                    .filter_map(|s| position.get(&Arc::as_ptr(s)).copied())
                                    .collect()
                            })
                            .unwrap_or_default()
                    })
                    .collect(),
            );
        }
        indexes
    }
}

/// The store keys a policy with `requires` reads: its kinds, the cluster facts, and the shared
/// indexes its kinds join through.
pub fn keys_of(requires: &[Requirement]) -> Vec<detek_core::KeyId> {
    let mut keys: Vec<detek_core::KeyId> = requires.iter().map(Requirement::key).collect();
    keys.push(m::CLUSTER_INFO.id());
    let has = |plural: &'static str| requires.contains(&Requirement::Kind(plural));
    if has("pods") {
        keys.push(m::POD_SPECS.id());
    }
    if has("pods") && has("services") {
        keys.push(m::SERVICES_BY_SELECTOR.id());
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}
