//! The cluster snapshot model: typed objects per kind, each a store key.
//!
//! Every source of objects — manifest files, `kubectl get -o yaml` dumps, the live API — feeds
//! JSON objects into one [`ObjectSet`], which parses each once into k8s-openapi types and hands
//! one key per kind to the store. Live and offline scans therefore see exactly the same model.

use detek_core::{Diagnostic, Key, Level, ObjectRef, Produced, SourceLocation};
use k8s_openapi::api::{
    admissionregistration::v1::{MutatingWebhookConfiguration, ValidatingWebhookConfiguration},
    apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet},
    autoscaling::v2::HorizontalPodAutoscaler,
    batch::v1::{CronJob, Job},
    core::v1::{
        ConfigMap, Endpoints, Event, Namespace, Node, PersistentVolume, PersistentVolumeClaim,
        ReplicationController, Service, ServiceAccount,
    },
    discovery::v1::EndpointSlice,
    networking::v1::{Ingress, IngressClass, NetworkPolicy},
    policy::v1::PodDisruptionBudget,
    rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding},
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::ops::Deref;
use std::sync::Arc;

pub use crate::custom::{CustomResource, CustomResources, RawObject};
use crate::custom::{Gatherer, RawBody, RawCap, RawPending};
pub use crate::health::{APISERVER_HEALTH, ApiServerHealth, HealthCheck, HealthEndpoint};
pub use crate::indexes::{HpasByTarget, ServicesBySelector};
pub use crate::pod::Pod;
use crate::pods::{Owners, PodSpecs, PodsByLabel, WorkloadTemplates, workload_templates};
pub use crate::secrets::{CertificateFacts, SecretInfo};
use crate::written::Written;

/// Where an object came from and how it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The apiVersion as written (an `extensions/v1beta1` Deployment keeps that here even
    /// though it is read into the `apps/v1` type).
    pub api_version: Arc<str>,
    /// File and line for snapshot inputs; `None` for live objects.
    pub source: Option<SourceLocation>,
    /// The other places the same object is defined (the same group, kind, namespace and name
    /// in several files), in path order: the object is kept once, read from `source`.
    pub also_defined_at: Vec<SourceLocation>,
}

impl Origin {
    /// An origin without other definitions.
    pub fn new(api_version: Arc<str>, source: Option<SourceLocation>) -> Self {
        Origin {
            api_version,
            source,
            also_defined_at: Vec::new(),
        }
    }

    /// Every place the object is defined when it is defined more than once (`source` first),
    /// for [`ObjectRef::sources`]; empty otherwise.
    pub fn sources(&self) -> Vec<SourceLocation> {
        all_sources(self.source.as_ref(), &self.also_defined_at)
    }
}

/// `first` then `others`, when there are others.
fn all_sources(first: Option<&SourceLocation>, others: &[SourceLocation]) -> Vec<SourceLocation> {
    if others.is_empty() {
        return Vec::new();
    }
    first.into_iter().chain(others).cloned().collect()
}

/// One object of kind `T` with its origin. Derefs to `T`.
#[derive(Debug, Clone)]
pub struct Item<T> {
    pub object: T,
    pub origin: Origin,
}

impl<T> Deref for Item<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.object
    }
}

/// All objects of one kind.
pub type Items<T> = Vec<Arc<Item<T>>>;

/// Kinds with metadata: lets generic code name objects.
pub trait Named {
    const KIND: &'static str;
    fn meta(&self) -> &ObjectMeta;
}

impl<T: Named> Item<T> {
    pub fn name(&self) -> &str {
        self.object.meta().name.as_deref().unwrap_or("")
    }

    pub fn namespace(&self) -> Option<&str> {
        self.object.meta().namespace.as_deref()
    }

    /// Namespace, with `default` for namespaced objects written without one (manifests).
    pub fn namespace_or_default(&self) -> &str {
        self.namespace().unwrap_or("default")
    }

    /// A reference to this object for findings, with its file and line when known.
    pub fn object_ref(&self) -> ObjectRef {
        ObjectRef {
            kind: T::KIND.to_string(),
            api_version: Some(self.origin.api_version.to_string()),
            namespace: self.namespace().map(str::to_string),
            name: self.name().to_string(),
            container: None,
            source: self.origin.source.clone(),
            sources: self.origin.sources(),
        }
    }
}

/// Every object seen, typed or not: for checks on apiVersions (deprecated and removed APIs),
/// CRDs, and counting.
#[derive(Debug, Clone)]
pub struct ObjectSummary {
    pub api_version: Arc<str>,
    pub kind: Arc<str>,
    pub namespace: Option<String>,
    pub name: String,
    pub source: Option<SourceLocation>,
    /// See [`Origin::also_defined_at`].
    pub also_defined_at: Vec<SourceLocation>,
    /// Detector ids from the `detek.io/ignore` annotation of the object or its pod template.
    pub ignore: Vec<String>,
    /// The Secret a controller writes for this object, for kinds known to make one: a
    /// cert-manager `Certificate` (`spec.secretName`), an `ExternalSecret` (`spec.target.name`,
    /// else its own name), a `SealedSecret` (its own name). Lets reference checks find Secrets
    /// that only exist once that controller ran.
    pub makes_secret: Option<String>,
    /// The Pods an operator creates for this custom resource, by their labels (a Prometheus'
    /// StatefulSet Pods): see [`crate::operators`]. Empty for every other object.
    pub makes_pods: Vec<crate::operators::PodLabels>,
    /// The apiVersions the object was written with: the document's own for files; for live
    /// objects, what the last-applied annotation and the managed fields tell (see
    /// [`crate::written`]).
    pub written: Written,
}

impl ObjectSummary {
    pub fn object_ref(&self) -> ObjectRef {
        ObjectRef {
            kind: self.kind.to_string(),
            api_version: Some(self.api_version.to_string()),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            container: None,
            source: self.source.clone(),
            sources: all_sources(self.source.as_ref(), &self.also_defined_at),
        }
    }
}

/// Facts about the cluster as a whole.
#[derive(Debug, Clone, Default)]
pub struct ClusterInfo {
    /// Server version `major.minor.patch` when known (live `/version`, or the newest kubelet
    /// version among nodes of a dump).
    pub server_version: Option<String>,
    /// True for a live cluster, false for files.
    pub live: bool,
    /// True when Secrets other than `kubernetes.io/tls` were collected as metadata only (live
    /// scans: their values never leave the API server). Their `SecretInfo::keys` is then
    /// empty because the key names are unknown, not because the Secret has no keys: a detector
    /// must not report a missing key of such a Secret. `type_` is known.
    pub secrets_metadata_only: bool,
    /// True when the objects are a cluster's state: a live scan, or files read from a cluster
    /// (holding Nodes, or Pods with a status: a `kubectl get -o yaml` dump). Otherwise they are
    /// manifests, a partial view: an operator, a controller or an install Job creates further
    /// objects at run time, so an object named by another but absent from the files may still
    /// exist (see [`ClusterInfo::reference_level`]).
    pub whole_cluster: bool,
}

impl ClusterInfo {
    /// The level of a finding that an object named by another is missing: `level` on a whole
    /// cluster, at most `Warn` on manifests, where it may be created at run time.
    pub fn reference_level(&self, level: Level) -> Level {
        if self.whole_cluster {
            level
        } else {
            level.min(Level::Warn)
        }
    }

    /// Why [`ClusterInfo::reference_level`] lowered `level` (evidence for the finding), or
    /// `None` when it did not.
    pub fn reference_note(&self, level: Level) -> Option<String> {
        (self.reference_level(level) != level).then(|| {
            format!("Warn on manifests ({level} on a cluster): it may be created at run time")
        })
    }
}

pub const OBJECTS: Key<Vec<ObjectSummary>> = Key::new("kubernetes/objects");
/// Detector ids each object (or its namespace) asks to ignore with `detek.io/ignore`, by
/// (kind, namespace, name): what the annotation suppressor reads. Derived from the objects
/// collected, so a scan of one detector honours annotations without listing every kind (a
/// live scan adds only Namespaces).
pub const IGNORE_ANNOTATIONS: Key<IgnoreAnnotations> = Key::new("kubernetes/ignore-annotations");

/// See [`IGNORE_ANNOTATIONS`]: (kind, namespace — empty for a Namespace —, name) → ids.
pub type IgnoreAnnotations = std::collections::HashMap<(String, String, String), Vec<String>>;

/// The ignore annotations of `objects`, indexed.
pub fn ignore_annotations(objects: &[ObjectSummary]) -> IgnoreAnnotations {
    objects
        .iter()
        .filter(|o| !o.ignore.is_empty())
        .map(|o| {
            let ns = if o.kind.as_ref() == "Namespace" {
                String::new()
            } else {
                o.namespace.clone().unwrap_or_else(|| "default".into())
            };
            ((o.kind.to_string(), ns, o.name.clone()), o.ignore.clone())
        })
        .collect()
}
pub const CLUSTER_INFO: Key<ClusterInfo> = Key::new("kubernetes/cluster-info");
/// Secrets without their data: metadata, key names, TLS certificate facts.
pub const SECRETS: Key<Items<SecretInfo>> = Key::new("kubernetes/secrets");

impl Named for SecretInfo {
    const KIND: &'static str = "Secret";
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
}
/// Pod templates of workload controllers (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job,
/// CronJob, ReplicationController), for pod-level checks on manifests; see [`crate::pods`].
pub const WORKLOAD_TEMPLATES: Key<WorkloadTemplates> = Key::new("kubernetes/workload-templates");
/// The pod specs pod-level checks walk: Pods, one view per controller revision, and the
/// templates of workloads without Pods, with the owner index resolving each Pod's controller
/// (see [`crate::pods::PodSpecs`]). Derived from Pods, ReplicaSets, Jobs and the templates.
pub const POD_SPECS: Key<PodSpecs> = Key::new("kubernetes/pod-specs");
/// Every Pod (each one) and the templates of workloads without Pods, by namespace and label:
/// what Service selectors are matched against (see [`crate::pods::PodsByLabel`]).
pub const PODS_BY_LABEL: Key<PodsByLabel> = Key::new("kubernetes/pods-by-label");
/// Services with a Pod selector by namespace and selector label: which Services select a Pod
/// or template (see [`crate::indexes::ServicesBySelector`]). Derived from Services.
pub const SERVICES_BY_SELECTOR: Key<ServicesBySelector> =
    Key::new("kubernetes/services-by-selector");
/// HorizontalPodAutoscalers by namespace and scale target (see
/// [`crate::indexes::HpasByTarget`]). Derived from HorizontalPodAutoscalers.
pub const HPAS_BY_TARGET: Key<HpasByTarget> = Key::new("kubernetes/hpas-by-target");
/// Objects of kinds detek has no type for (custom resources, CRDs...), raw JSON by apiVersion
/// and kind, bounded, never Secret data (see [`crate::custom`]). Snapshot inputs only.
pub const CUSTOM_RESOURCES: Key<CustomResources> = Key::new("kubernetes/custom-resources");

/// Helm 3 releases: the latest deployed revision of each, with the identity of its rendered
/// objects (see [`crate::helm`]). Derived from Secrets of type `helm.sh/release.v1`.
pub const HELM_RELEASES: Key<crate::helm::HelmReleases> = Key::new("kubernetes/helm-releases");

/// The derived keys: computed from the kinds collected, not listed themselves.
pub const DERIVED_KEYS: &[&str] = &[
    "kubernetes/helm-releases",
    "kubernetes/objects",
    "kubernetes/cluster-info",
    "kubernetes/ignore-annotations",
    "kubernetes/workload-templates",
    "kubernetes/pod-specs",
    "kubernetes/pods-by-label",
    "kubernetes/services-by-selector",
    "kubernetes/hpas-by-target",
    "kubernetes/custom-resources",
];

/// The kind keys each single-kind index is derived from: a live scan lists them when the index
/// is wanted, and fails the index when they could not be listed.
pub const INDEX_SOURCES: &[(&str, &str)] = &[
    ("kubernetes/helm-releases", "kubernetes/secrets"),
    ("kubernetes/services-by-selector", "kubernetes/services"),
    (
        "kubernetes/hpas-by-target",
        "kubernetes/horizontalpodautoscalers",
    ),
];

/// Static facts about a kind: how to recognise it in a file and how to list it live.
#[derive(Debug, Clone, Copy)]
pub struct KindInfo {
    pub key: &'static str,
    pub group: &'static str,
    /// apiVersion listed from a live cluster.
    pub api_version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub namespaced: bool,
}

macro_rules! kinds {
    ($( $field:ident : $ty:ty, $key:ident = $id:literal, $group:literal, $version:literal, $kind:literal, $plural:literal, $namespaced:literal; )*) => {
        $(
            #[doc = concat!("All `", $kind, "` objects (`", $id, "`).")]
            pub const $key: Key<Items<$ty>> = Key::new($id);
        )*

        /// Every kind detek reads, with its key.
        pub const KINDS: &[KindInfo] = &[
            $( KindInfo { key: $id, group: $group, api_version: $version, kind: $kind, plural: $plural, namespaced: $namespaced }, )*
            KindInfo { key: "kubernetes/secrets", group: "", api_version: "v1", kind: "Secret", plural: "secrets", namespaced: true },
        ];

        $(
            impl Named for $ty {
                const KIND: &'static str = $kind;
                fn meta(&self) -> &ObjectMeta { &self.metadata }
            }
        )*

        /// Objects being gathered for one scan, typed per kind.
        #[derive(Default)]
        pub struct ObjectSet {
            $( pub $field: Items<$ty>, )*
            /// Secrets reduced to metadata and certificate facts (see [`crate::secrets`]).
            pub secrets: Items<SecretInfo>,
            pub objects: Vec<ObjectSummary>,
            pub diagnostics: Vec<Diagnostic>,
            /// Documents that were not Kubernetes objects (no apiVersion/kind).
            pub skipped_documents: u64,
            /// Objects of kinds detek has no typed model for (CRs, CRDs...): counted, indexed
            /// in `objects`, and kept raw in `kubernetes/custom-resources` (see [`crate::custom`]).
            pub untyped_objects: u64,
            custom: Gatherer,
            pub server_version: Option<String>,
            pub live: bool,
            /// See [`ClusterInfo::secrets_metadata_only`].
            pub secrets_metadata_only: bool,
            queue: Queue,
        }

        /// One object converted to its type (done in parallel, pushed in order).
        #[allow(non_camel_case_types)]
        /// Items are built on the worker thread, so the ordered push that follows only moves
        /// pointers (typed Pods are kilobytes each; moving them twice cost seconds at 100k).
        enum Typed {
            $( $field(Arc<Item<$ty>>), )*
            Secret(Arc<Item<SecretInfo>>),
            /// A kind without type, with its body when it may be kept raw.
            Untyped(Option<Box<RawPending>>),
        }

        /// Convert one object straight from its JSON text (no intermediate tree).
        fn convert_json(group: &str, kind: &str, text: &str, origin: Origin, live: bool, dropped: &mut Vec<Dropped>) -> Result<Typed, String> {
            match (group, kind) {
                $(
                    ($group, $kind) => match serde_json::from_str::<$ty>(text) {
                        Ok(mut object) => {
                            crate::compact::settle(&mut object, live, dropped);
                            Ok(Typed::$field(Arc::new(Item { object, origin })))
                        }
                        // A field that cannot be converted: read the object without it.
                        Err(e) => match serde_json::from_str::<Value>(text) {
                            Ok(value) => read_lenient::<$ty>(value, dropped)
                                .map(|mut object| {
                                    crate::compact::settle(&mut object, live, dropped);
                                    Typed::$field(Arc::new(Item { object, origin }))
                                }),
                            Err(_) => Err(e.to_string()),
                        },
                    },
                )*
                _ => Ok(Typed::Untyped(None)),
            }
        }

        /// Convert one object; `group` is the apiVersion's group ("" for core).
        fn convert(group: &str, kind: &str, value: Value, origin: Origin, live: bool, dropped: &mut Vec<Dropped>) -> Result<Typed, String> {
            match (group, kind) {
                ("", "Secret") => Ok(Typed::Secret(Arc::new(Item { object: SecretInfo::from_value(value), origin }))),
                $(
                    ($group, $kind) => read_lenient::<$ty>(value, dropped)
                        .map(|mut object| {
                            crate::compact::settle(&mut object, live, dropped);
                            Typed::$field(Arc::new(Item { object, origin }))
                        }),
                )*
                _ => {
                    let raw = RawPending::tree(Arc::from(kind), value, origin);
                    Ok(Typed::Untyped(Some(Box::new(raw))))
                }
            }
        }

        impl Typed {
            /// Drop `metadata.managedFields` of a just converted live object: read into its
            /// [`Written`] facts, not needed by any detector.
            fn drop_managed_fields(&mut self) {
                match self {
                    $( Typed::$field(item) => if let Some(i) = Arc::get_mut(item) {
                        i.object.metadata.managed_fields = None;
                    }, )*
                    Typed::Secret(_) | Typed::Untyped(_) => {}
                }
            }

            /// The object's origin, while the item is not shared yet (just converted).
            fn origin_mut(&mut self) -> Option<&mut Origin> {
                match self {
                    $( Typed::$field(item) => Arc::get_mut(item).map(|i| &mut i.origin), )*
                    Typed::Secret(item) => Arc::get_mut(item).map(|i| &mut i.origin),
                    Typed::Untyped(raw) => raw.as_mut().map(|r| &mut r.origin),
                }
            }

            /// Whether two definitions of one object say the same (apiVersion as written
            /// and content); `None` when it cannot be told (kinds not kept raw).
            fn same_as(&self, other: &Typed) -> Option<bool> {
                match (self, other) {
                    $( (Typed::$field(a), Typed::$field(b)) => Some(
                        a.origin.api_version == b.origin.api_version && a.object == b.object,
                    ), )*
                    (Typed::Secret(a), Typed::Secret(b)) => Some(
                        a.origin.api_version == b.origin.api_version && a.object == b.object,
                    ),
                    (Typed::Untyped(Some(a)), Typed::Untyped(Some(b))) => Some(
                        a.origin.api_version == b.origin.api_version
                            && a.body_value() == b.body_value(),
                    ),
                    (Typed::Untyped(None), Typed::Untyped(None)) => None,
                    _ => Some(false),
                }
            }
        }

        impl ObjectSet {
            fn push(&mut self, typed: Typed) {
                match typed {
                    $( Typed::$field(item) => self.$field.push(item), )*
                    Typed::Secret(item) => self.secrets.push(item),
                    Typed::Untyped(raw) => {
                        self.untyped_objects += 1;
                        if let Some(raw) = raw {
                            self.custom.offer(*raw);
                        }
                    }
                }
            }

            /// Every typed object's metadata (Secrets included: their metadata is kept).
            pub fn typed_metadata(&self) -> impl Iterator<Item = (&ObjectMeta, &'static str)> + '_ {
                std::iter::empty()
                    $( .chain(self.$field.iter().map(|i| (Named::meta(&i.object), $kind))) )*
                    .chain(self.secrets.iter().map(|i| (Named::meta(&i.object), "Secret")))
            }

            /// Number of typed objects per kind key.
            pub fn counts(&self) -> Vec<(&'static str, usize)> {
                vec![ $( ($id, self.$field.len()), )* (SECRETS.id(), self.secrets.len()) ]
            }

            /// Hand every kind to the store, and the derived keys ([`DERIVED_KEYS`]). Keys in
            /// `skip` are not produced (the live collector skips keys nobody wants and marks the
            /// ones it could not list failed itself; the snapshot collector skips derived keys
            /// nobody wants).
            pub fn into_produced(mut self, produced: &mut Produced, skip: &dyn Fn(&str) -> bool) {
                self.finish();
                // Files read from a cluster (Nodes, or Pods with a status) hold its state;
                // manifests do not (see ClusterInfo::whole_cluster).
                let whole_cluster = self.live
                    || !self.nodes.is_empty()
                    || self.pods.iter().any(|p| {
                        p.status.as_ref().and_then(|s| s.phase.as_ref()).is_some()
                    });
                // The shared indexes pod-level detectors read, computed once here rather than
                // once per detector (pod-spec views were 40% of a 100k-object scan).
                let want_specs = !skip(POD_SPECS.id()) || !skip(PODS_BY_LABEL.id());
                if want_specs || !skip(WORKLOAD_TEMPLATES.id()) {
                    let templates = WorkloadTemplates::from(workload_templates(&self));
                    if want_specs {
                        let owners = Owners::new(&self.replica_sets, &self.jobs);
                        let specs = PodSpecs::new(self.pods.clone(), templates.clone(), owners);
                        if !skip(PODS_BY_LABEL.id()) {
                            produced.put(&PODS_BY_LABEL, PodsByLabel::new(&specs));
                        }
                        if !skip(POD_SPECS.id()) {
                            produced.put(&POD_SPECS, specs);
                        }
                    }
                    if !skip(WORKLOAD_TEMPLATES.id()) {
                        produced.put(&WORKLOAD_TEMPLATES, templates);
                    }
                }
                if !skip(SERVICES_BY_SELECTOR.id()) {
                    produced.put(&SERVICES_BY_SELECTOR, ServicesBySelector::new(&self.services));
                }
                if !skip(HPAS_BY_TARGET.id()) {
                    produced.put(&HPAS_BY_TARGET, HpasByTarget::new(&self.horizontal_pod_autoscalers));
                }
                if !skip(CUSTOM_RESOURCES.id()) {
                    if let Some(message) = self.custom.cap_message() {
                        self.diagnostics.push(Diagnostic::new(Level::Warn, None, message));
                    }
                    produced.put(&CUSTOM_RESOURCES, std::mem::take(&mut self.custom.resources));
                }
                $(
                    if !skip($id) {
                        produced.put(&$key, std::mem::take(&mut self.$field));
                    }
                )*
                if !skip(HELM_RELEASES.id()) {
                    produced.put(&HELM_RELEASES, crate::helm::HelmReleases::from_secrets(&self.secrets));
                }
                if !skip(SECRETS.id()) {
                    produced.put(&SECRETS, std::mem::take(&mut self.secrets));
                }
                if !skip(CLUSTER_INFO.id()) {
                    produced.put(&CLUSTER_INFO, ClusterInfo {
                        server_version: self.server_version.clone(),
                        live: self.live,
                        secrets_metadata_only: self.secrets_metadata_only,
                        whole_cluster,
                    });
                }
                produced.stat("objects", self.objects.len() as u64);
                // Objects per namespace, the denominators of the per-namespace score
                // (docs/score.md).
                let mut per_namespace: std::collections::BTreeMap<&str, u64> = Default::default();
                for object in &self.objects {
                    if let Some(ns) = object.namespace.as_deref() {
                        *per_namespace.entry(ns).or_default() += 1;
                    }
                }
                for (ns, n) in per_namespace {
                    produced.stat(format!("objects_in_namespace/{ns}"), n);
                }
                produced.stat("documents_skipped", self.skipped_documents);
                produced.stat("objects_untyped", self.untyped_objects);
                produced.diagnostics.append(&mut self.diagnostics);
                if !skip(IGNORE_ANNOTATIONS.id()) {
                    produced.put(&IGNORE_ANNOTATIONS, ignore_annotations(&self.objects));
                }
                if !skip(OBJECTS.id()) {
                    produced.put(&OBJECTS, std::mem::take(&mut self.objects));
                }
            }
        }
    };
}

kinds! {
    pods: Pod, PODS = "kubernetes/pods", "", "v1", "Pod", "pods", true;
    services: Service, SERVICES = "kubernetes/services", "", "v1", "Service", "services", true;
    endpoints: Endpoints, ENDPOINTS = "kubernetes/endpoints", "", "v1", "Endpoints", "endpoints", true;
    endpoint_slices: EndpointSlice, ENDPOINT_SLICES = "kubernetes/endpointslices", "discovery.k8s.io", "discovery.k8s.io/v1", "EndpointSlice", "endpointslices", true;
    nodes: Node, NODES = "kubernetes/nodes", "", "v1", "Node", "nodes", false;
    namespaces: Namespace, NAMESPACES = "kubernetes/namespaces", "", "v1", "Namespace", "namespaces", false;
    configmaps: ConfigMap, CONFIGMAPS = "kubernetes/configmaps", "", "v1", "ConfigMap", "configmaps", true;
    service_accounts: ServiceAccount, SERVICE_ACCOUNTS = "kubernetes/serviceaccounts", "", "v1", "ServiceAccount", "serviceaccounts", true;
    persistent_volume_claims: PersistentVolumeClaim, PERSISTENT_VOLUME_CLAIMS = "kubernetes/persistentvolumeclaims", "", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", true;
    persistent_volumes: PersistentVolume, PERSISTENT_VOLUMES = "kubernetes/persistentvolumes", "", "v1", "PersistentVolume", "persistentvolumes", false;
    events: Event, EVENTS = "kubernetes/events", "", "v1", "Event", "events", true;
    replication_controllers: ReplicationController, REPLICATION_CONTROLLERS = "kubernetes/replicationcontrollers", "", "v1", "ReplicationController", "replicationcontrollers", true;
    deployments: Deployment, DEPLOYMENTS = "kubernetes/deployments", "apps", "apps/v1", "Deployment", "deployments", true;
    stateful_sets: StatefulSet, STATEFUL_SETS = "kubernetes/statefulsets", "apps", "apps/v1", "StatefulSet", "statefulsets", true;
    daemon_sets: DaemonSet, DAEMON_SETS = "kubernetes/daemonsets", "apps", "apps/v1", "DaemonSet", "daemonsets", true;
    replica_sets: ReplicaSet, REPLICA_SETS = "kubernetes/replicasets", "apps", "apps/v1", "ReplicaSet", "replicasets", true;
    jobs: Job, JOBS = "kubernetes/jobs", "batch", "batch/v1", "Job", "jobs", true;
    cron_jobs: CronJob, CRON_JOBS = "kubernetes/cronjobs", "batch", "batch/v1", "CronJob", "cronjobs", true;
    ingresses: Ingress, INGRESSES = "kubernetes/ingresses", "networking.k8s.io", "networking.k8s.io/v1", "Ingress", "ingresses", true;
    ingress_classes: IngressClass, INGRESS_CLASSES = "kubernetes/ingressclasses", "networking.k8s.io", "networking.k8s.io/v1", "IngressClass", "ingressclasses", false;
    network_policies: NetworkPolicy, NETWORK_POLICIES = "kubernetes/networkpolicies", "networking.k8s.io", "networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", true;
    pod_disruption_budgets: PodDisruptionBudget, POD_DISRUPTION_BUDGETS = "kubernetes/poddisruptionbudgets", "policy", "policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", true;
    horizontal_pod_autoscalers: HorizontalPodAutoscaler, HORIZONTAL_POD_AUTOSCALERS = "kubernetes/horizontalpodautoscalers", "autoscaling", "autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", true;
    roles: Role, ROLES = "kubernetes/roles", "rbac.authorization.k8s.io", "rbac.authorization.k8s.io/v1", "Role", "roles", true;
    cluster_roles: ClusterRole, CLUSTER_ROLES = "kubernetes/clusterroles", "rbac.authorization.k8s.io", "rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles", false;
    role_bindings: RoleBinding, ROLE_BINDINGS = "kubernetes/rolebindings", "rbac.authorization.k8s.io", "rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings", true;
    cluster_role_bindings: ClusterRoleBinding, CLUSTER_ROLE_BINDINGS = "kubernetes/clusterrolebindings", "rbac.authorization.k8s.io", "rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "clusterrolebindings", false;
    validating_webhooks: ValidatingWebhookConfiguration, VALIDATING_WEBHOOKS = "kubernetes/validatingwebhookconfigurations", "admissionregistration.k8s.io", "admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations", false;
    mutating_webhooks: MutatingWebhookConfiguration, MUTATING_WEBHOOKS = "kubernetes/mutatingwebhookconfigurations", "admissionregistration.k8s.io", "admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations", false;
}

/// Legacy groups whose objects are read into today's types (`extensions/v1beta1` Deployment
/// → `apps/v1`), keeping the written apiVersion in [`Origin`].
fn canonical_group<'a>(group: &'a str, kind: &str) -> &'a str {
    match (group, kind) {
        ("extensions", "Deployment" | "DaemonSet" | "ReplicaSet") => "apps",
        ("extensions", "Ingress" | "NetworkPolicy") => "networking.k8s.io",
        ("extensions", "PodSecurityPolicy") => "policy",
        ("events.k8s.io", "Event") => "events.k8s.io",
        _ => group,
    }
}

/// Kinds whose `List` form is named `<Kind>List`; `List` itself is the generic wrapper.
pub fn is_list_kind(kind: &str) -> bool {
    kind == "List" || (kind.ends_with("List") && kind.len() > 4)
}

impl ObjectSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// The objects of kinds without type kept so far (what `kubernetes/custom-resources` gets).
    pub fn custom_resources(&self) -> &CustomResources {
        &self.custom.resources
    }

    /// Keep objects of kinds without type raw (`kubernetes/custom-resources`), up to `cap`;
    /// `None`: keep none (nobody reads them). On by default, with [`RawCap::default`].
    pub fn keep_custom_resources(&mut self, cap: Option<RawCap>) {
        self.custom.enabled = cap.is_some();
        if let Some(cap) = cap {
            self.custom.cap = cap;
        }
    }

    /// Add one document (already parsed to JSON). Lists are unwrapped; non-objects counted.
    pub fn add_value(&mut self, value: Value, source: Option<SourceLocation>) {
        self.queue.value(value, source);
    }

    /// Add JSON documents held as text (`text[start..end]`: an object, a `*List`, or an
    /// array of them). Objects are typed straight from the text, which for a large dump is
    /// several times faster and smaller than building a JSON tree first.
    pub fn add_json(
        &mut self,
        text: &Arc<str>,
        start: usize,
        end: usize,
        source: Option<SourceLocation>,
    ) {
        self.queue.json(text, start, end, source);
    }

    /// Add objects already converted where their file was read ([`Prepared`]).
    pub fn add_prepared(&mut self, prepared: Prepared) {
        self.queue.skipped += prepared.skipped_documents;
        self.queue.pending.extend(
            prepared
                .converted
                .into_iter()
                .map(|c| (Pending::Ready(Box::new(c)), None)),
        );
    }

    /// Convert pending objects to their types, in parallel (the costly part of a big scan).
    fn convert_pending(&mut self) {
        use rayon::prelude::*;
        let queue = std::mem::take(&mut self.queue);
        self.skipped_documents += queue.skipped;
        let pending = queue.pending;
        let live = self.live;
        let converted: Vec<Option<Converted>> = pending
            .into_par_iter()
            .map(|p| convert_pending_object(p, live))
            .collect();
        self.skipped_documents += converted.iter().filter(|c| c.is_none()).count() as u64;
        let mut converted: Vec<Converted> = converted.into_iter().flatten().collect();
        let repeated = merge_definitions(&mut converted, &mut self.diagnostics);
        self.objects.reserve(converted.len());
        for (i, (summary, typed, dropped, _)) in converted.into_iter().enumerate() {
            if repeated.get(i).copied().unwrap_or(false) {
                // Another definition of an object already kept (see `merge_definitions`).
                continue;
            }
            if !dropped.is_empty() {
                let text = summary
                    .source
                    .as_ref()
                    .and_then(|s| std::fs::read_to_string(&s.file).ok());
                for d in dropped {
                    let source = summary.source.as_ref().map(|s| SourceLocation {
                        file: s.file.clone(),
                        line: text
                            .as_deref()
                            .and_then(|t| field_line(t, s.line, &d.path))
                            .unwrap_or(s.line),
                    });
                    self.diagnostics.push(Diagnostic::new(
                        Level::Warn,
                        source,
                        format!(
                            "{} {:?} ({}): field {} could not be read ({}); the object was read without it",
                            summary.kind, summary.name, summary.api_version, d.path, d.error
                        ),
                    ));
                }
            }
            match typed {
                Ok(typed) => self.push(typed),
                Err(err) => self.diagnostics.push(Diagnostic::new(
                    Level::Warn,
                    summary.source.clone(),
                    format!(
                        "{} {:?} ({}) could not be read: {err}",
                        summary.kind, summary.name, summary.api_version
                    ),
                )),
            }
            self.objects.push(summary);
        }
        self.custom.finish();
    }

    /// Derive what is not written in the objects themselves.
    pub fn finish(&mut self) {
        self.convert_pending();
        if self.server_version.is_none() {
            // A dump's nodes tell the cluster's version; take the newest kubelet.
            self.server_version = self
                .nodes
                .iter()
                .filter_map(|n| n.status.as_ref()?.node_info.as_ref())
                .map(|i| i.kubelet_version.trim_start_matches('v').to_string())
                .max_by(|a, b| crate::version::compare(a, b));
        }
    }
}

/// Objects waiting to be typed, in the order they were read, and the documents that were not
/// Kubernetes objects.
#[derive(Default)]
struct Queue {
    pending: Vec<(Pending, Option<SourceLocation>)>,
    skipped: u64,
}

impl Queue {
    /// Add one document (already parsed to JSON). Lists are unwrapped; non-objects counted.
    fn value(&mut self, value: Value, source: Option<SourceLocation>) {
        let Value::Object(map) = &value else {
            if !value.is_null() {
                self.skipped += 1;
            }
            return;
        };
        let api_version = map.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let kind = map.get("kind").and_then(Value::as_str).unwrap_or("");
        if api_version.is_empty() || kind.is_empty() {
            self.skipped += 1;
            return;
        }
        if is_list_kind(kind) && map.get("items").is_some_and(Value::is_array) {
            let item_kind = kind
                .strip_suffix("List")
                .filter(|k| !k.is_empty())
                .map(str::to_string);
            let item_api_version = api_version.to_string();
            let Value::Object(mut map) = value else {
                unreachable!()
            };
            if let Some(Value::Array(items)) = map.remove("items") {
                for mut item in items {
                    // `kubectl get pods -o json` items carry kind/apiVersion; API list responses don't.
                    if let Some(k) = &item_kind {
                        fill_type(&mut item, &item_api_version, k);
                    }
                    self.value(item, source.clone());
                }
            }
            return;
        }
        self.pending.push((Pending::Value(value), source));
    }

    /// Add JSON documents held as text (`text[start..end]`: an object, a `*List`, or an
    /// array of them). Objects are typed straight from the text, which for a large dump is
    /// several times faster and smaller than building a JSON tree first.
    fn json(&mut self, text: &Arc<str>, start: usize, end: usize, source: Option<SourceLocation>) {
        let slice = &text[start..end];
        let offset = |raw: &RawValue| raw.get().as_ptr() as usize - text.as_ptr() as usize;
        match slice.trim_start().as_bytes().first() {
            Some(b'[') => match serde_json::from_str::<Vec<&RawValue>>(slice) {
                Ok(items) => {
                    for raw in items {
                        let at = offset(raw);
                        self.json(text, at, at + raw.get().len(), source.clone());
                    }
                }
                Err(_) => self.skipped += 1,
            },
            Some(b'{') => {
                let Ok(header) = serde_json::from_str::<ListHeader>(slice) else {
                    // Not even a well-formed object header: let the tree path report it.
                    match serde_json::from_str::<Value>(slice) {
                        Ok(value) => self.value(value, source),
                        Err(_) => self.skipped += 1,
                    }
                    return;
                };
                let kind = header.kind.as_deref().unwrap_or("");
                let api_version = header.api_version.as_deref().unwrap_or("");
                match header.items {
                    Some(items) if is_list_kind(kind) && !api_version.is_empty() => {
                        let item_kind: Option<Arc<str>> = kind
                            .strip_suffix("List")
                            .filter(|k| !k.is_empty())
                            .map(Arc::from);
                        let item_api_version: Arc<str> = Arc::from(api_version);
                        for raw in items {
                            let at = offset(raw);
                            let hint = item_kind.clone().map(|k| (item_api_version.clone(), k));
                            self.pending.push((
                                Pending::Json {
                                    text: text.clone(),
                                    start: at,
                                    end: at + raw.get().len(),
                                    hint,
                                },
                                source.clone(),
                            ));
                        }
                    }
                    _ => self.pending.push((
                        Pending::Json {
                            text: text.clone(),
                            start,
                            end,
                            hint: None,
                        },
                        source,
                    )),
                }
            }
            _ => self.skipped += 1,
        }
    }
}

/// Objects of some documents, converted to their types where the documents were read (on the
/// thread that parsed them; see `ingest`): a document's tree or text is dropped as soon as it is
/// typed, so a large input is never held twice. Handed to a set with [`ObjectSet::add_prepared`].
/// Only for documents read from files (a live object's conversion differs: `written`,
/// managed fields).
#[derive(Default)]
pub struct Prepared {
    converted: Vec<Converted>,
    skipped_documents: u64,
}

impl Prepared {
    /// One document parsed to a tree (YAML). Lists are unwrapped; non-objects counted.
    pub fn from_value(value: Value, source: Option<SourceLocation>) -> Prepared {
        let mut queue = Queue::default();
        queue.value(value, source);
        Prepared::convert(queue)
    }

    /// One JSON document held as text (`text[start..end]`), as [`ObjectSet::add_json`] reads it.
    pub fn from_json(
        text: &Arc<str>,
        start: usize,
        end: usize,
        source: Option<SourceLocation>,
    ) -> Prepared {
        let mut queue = Queue::default();
        queue.json(text, start, end, source);
        Prepared::convert(queue)
    }

    /// An item of a `*List` held as text; `hint`: the List's `(apiVersion, kind of its items)`,
    /// for items that omit theirs (API list responses).
    pub fn from_json_item(
        text: &Arc<str>,
        hint: Option<(Arc<str>, Arc<str>)>,
        source: Option<SourceLocation>,
    ) -> Prepared {
        let mut queue = Queue::default();
        if text.trim_start().starts_with('{') {
            queue.pending.push((
                Pending::Json {
                    text: text.clone(),
                    start: 0,
                    end: text.len(),
                    hint,
                },
                source,
            ));
        } else {
            queue.skipped += 1;
        }
        Prepared::convert(queue)
    }

    /// Count a document that was not a Kubernetes object.
    pub fn count_skipped(&mut self) {
        self.skipped_documents += 1;
    }

    fn convert(queue: Queue) -> Prepared {
        use rayon::prelude::*;
        // A `*List` document holds many objects: type them in parallel.
        let converted: Vec<Option<Converted>> = if queue.pending.len() > 1 {
            queue
                .pending
                .into_par_iter()
                .map(|p| convert_pending_object(p, false))
                .collect()
        } else {
            queue
                .pending
                .into_iter()
                .map(|p| convert_pending_object(p, false))
                .collect()
        };
        // Objects without apiVersion or kind are documents skipped, like non-objects.
        let skipped = converted.iter().filter(|c| c.is_none()).count() as u64;
        Prepared {
            converted: converted.into_iter().flatten().collect(),
            skipped_documents: queue.skipped + skipped,
        }
    }

    /// Append `other`'s objects after these.
    pub fn extend(&mut self, other: Prepared) {
        self.converted.extend(other.converted);
        self.skipped_documents += other.skipped_documents;
    }

    /// Number of objects.
    pub fn len(&self) -> usize {
        self.converted.len()
    }

    pub fn is_empty(&self) -> bool {
        self.converted.is_empty()
    }

    /// Documents that were not Kubernetes objects (no apiVersion or kind).
    pub fn skipped_documents(&self) -> u64 {
        self.skipped_documents
    }

    /// What each object is and where it was read, in order.
    pub fn summaries(&self) -> impl Iterator<Item = &ObjectSummary> {
        self.converted.iter().map(|(summary, ..)| summary)
    }
}

/// Keep an object defined more than once (the same group, kind, namespace and name in several
/// files of one target, or twice in one file) once: the first definition in path order (the
/// order of `--input` arguments, files sorted by name, documents in file order) is judged, and
/// records where the others are (`also_defined_at`), so findings about it name every file. One
/// warning per such object names the places and says whether the copies differ. Objects read
/// without a source (a live cluster) and objects with only `generateName` are left alone.
/// Returns, per converted object, whether it is a later definition to leave out.
fn merge_definitions(converted: &mut [Converted], diagnostics: &mut Vec<Diagnostic>) -> Vec<bool> {
    use std::collections::{BTreeMap, HashMap, hash_map::Entry};
    // (first definition, later definitions), by the first one's index.
    let mut repeats: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    {
        let mut first: HashMap<(&str, &str, Option<&str>, &str), usize> = HashMap::new();
        for (i, (summary, _, _, named)) in converted.iter().enumerate() {
            if !named || summary.source.is_none() {
                continue;
            }
            let group = summary.api_version.split_once('/').map_or("", |(g, _)| g);
            let key = (
                canonical_group(group, &summary.kind),
                summary.kind.as_ref(),
                summary.namespace.as_deref(),
                summary.name.as_str(),
            );
            match first.entry(key) {
                Entry::Vacant(e) => {
                    e.insert(i);
                }
                Entry::Occupied(e) => repeats.entry(*e.get()).or_default().push(i),
            }
        }
    }
    let mut leave_out = vec![
        false;
        if repeats.is_empty() {
            0
        } else {
            converted.len()
        }
    ];
    for (first, later) in repeats {
        let same = later
            .iter()
            .map(|&i| match (&converted[first].1, &converted[i].1) {
                (Ok(a), Ok(b)) => a.same_as(b),
                _ => None,
            })
            .try_fold(true, |all, same| same.map(|s| all && s));
        let others: Vec<SourceLocation> = later
            .iter()
            .filter_map(|&i| converted[i].0.source.clone())
            .collect();
        for &i in &later {
            leave_out[i] = true;
        }
        let (summary, typed, _, _) = &mut converted[first];
        let Some(source) = summary.source.clone() else {
            continue;
        };
        let places: Vec<String> = std::iter::once(&source)
            .chain(&others)
            .map(ToString::to_string)
            .collect();
        let files: std::collections::BTreeSet<&str> = std::iter::once(&source)
            .chain(&others)
            .map(|s| s.file.as_str())
            .collect();
        let defined = if files.len() == places.len() {
            format!("defined in {} files", places.len())
        } else {
            format!(
                "defined {} times (in {} file(s))",
                places.len(),
                files.len()
            )
        };
        let judged = match same {
            Some(true) => "identical copies, judged once".to_string(),
            Some(false) => {
                format!("the copies differ: the first in path order ({source}) is judged")
            }
            None => format!("judged once, as defined first in path order ({source})"),
        };
        let object = summary.object_ref().display_name();
        diagnostics.push(Diagnostic::new(
            Level::Warn,
            Some(source.clone()),
            format!("{object} is {defined}: {}; {judged}", places.join(", ")),
        ));
        summary.also_defined_at = others.clone();
        if let Ok(typed) = typed
            && let Some(origin) = typed.origin_mut()
        {
            origin.also_defined_at = others;
        }
    }
    leave_out
}

/// An object waiting to be typed: a parsed tree (YAML, live pages), or a slice of JSON text.
enum Pending {
    /// Converted already ([`Prepared`]).
    Ready(Box<Converted>),
    Value(Value),
    Json {
        text: Arc<str>,
        start: usize,
        end: usize,
        /// `(apiVersion, kind)` from the enclosing `*List`, for items that omit them.
        hint: Option<(Arc<str>, Arc<str>)>,
    },
}

/// The top of a JSON document: enough to tell a `*List` and reach its items without copying.
#[derive(serde::Deserialize)]
struct ListHeader<'a> {
    #[serde(rename = "apiVersion", borrow, default)]
    api_version: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    items: Option<Vec<&'a RawValue>>,
}

/// What the summary needs of an object, read without building a tree.
#[derive(serde::Deserialize)]
struct ObjectHeader<'a> {
    #[serde(rename = "apiVersion", borrow, default)]
    api_version: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    metadata: Option<MetaHeader<'a>>,
    #[serde(borrow, default)]
    spec: Option<SpecHeader<'a>>,
}

#[derive(serde::Deserialize)]
struct MetaHeader<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(rename = "generateName", borrow, default)]
    generate_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    namespace: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    annotations: Option<std::collections::HashMap<Cow<'a, str>, Cow<'a, str>>>,
    /// Read on live objects only (who wrote with which apiVersion, see [`crate::written`]).
    #[serde(rename = "managedFields", borrow, default)]
    managed_fields: Option<Vec<ManagedHeader<'a>>>,
}

/// One `metadata.managedFields` entry: the writer and the apiVersion it wrote with.
#[derive(serde::Deserialize)]
struct ManagedHeader<'a> {
    #[serde(borrow, default)]
    manager: Option<Cow<'a, str>>,
    #[serde(rename = "apiVersion", borrow, default)]
    api_version: Option<Cow<'a, str>>,
}

#[derive(serde::Deserialize)]
struct SpecHeader<'a> {
    #[serde(borrow, default)]
    template: Option<TemplateHeader<'a>>,
    #[serde(rename = "jobTemplate", borrow, default)]
    job_template: Option<JobTemplateHeader<'a>>,
}

#[derive(serde::Deserialize)]
struct TemplateHeader<'a> {
    #[serde(borrow, default)]
    metadata: Option<MetaHeader<'a>>,
}

#[derive(serde::Deserialize)]
struct JobTemplateHeader<'a> {
    #[serde(borrow, default)]
    spec: Option<Box<SpecHeader<'a>>>,
}

fn ignore_ids(meta: Option<&MetaHeader>) -> Vec<String> {
    meta.and_then(|m| m.annotations.as_ref())
        .and_then(|a| a.get(crate::suppress::IGNORE_ANNOTATION))
        .map(|s| {
            s.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Set `apiVersion` and `kind` on an object that omits them (items of an API list response).
fn fill_type(object: &mut Value, api_version: &str, kind: &str) {
    if let Some(obj) = object.as_object_mut() {
        obj.entry("kind")
            .or_insert_with(|| Value::String(kind.to_string()));
        obj.entry("apiVersion")
            .or_insert_with(|| Value::String(api_version.to_string()));
    }
}

/// An object converted: its summary, its typed form, the fields left out of it, and whether
/// it is named (`metadata.name`, not only `generateName`: two of those are two objects).
type Converted = (ObjectSummary, Result<Typed, String>, Vec<Dropped>, bool);

/// `live`: the object comes from an API server, which tells the version it was written with
/// only through its last-applied annotation and managed fields.
fn convert_pending_object(
    (pending, source): (Pending, Option<SourceLocation>),
    live: bool,
) -> Option<Converted> {
    let (text, start, end, hint) = match pending {
        Pending::Ready(converted) => return Some(*converted),
        Pending::Value(value) => return Some(convert_object((value, source), live)),
        Pending::Json {
            text,
            start,
            end,
            hint,
        } => (text, start, end, hint),
    };
    let slice = &text[start..end];
    let header = match serde_json::from_str::<ObjectHeader>(slice) {
        Ok(h) => h,
        // Odd shapes (a string where a map belongs...): the tree path reads or reports them.
        Err(_) => {
            let mut value: Value = serde_json::from_str(slice).ok()?;
            if let Some((api_version, kind)) = hint {
                fill_type(&mut value, &api_version, &kind);
            }
            return value
                .is_object()
                .then(|| convert_object((value, source), live));
        }
    };
    let (api_version, kind): (Arc<str>, Arc<str>) = match (&header.api_version, &header.kind, &hint)
    {
        (Some(v), Some(k), _) => (Arc::from(v.as_ref()), Arc::from(k.as_ref())),
        (v, k, Some((hv, hk))) => (
            v.as_deref().map(Arc::from).unwrap_or_else(|| hv.clone()),
            k.as_deref().map(Arc::from).unwrap_or_else(|| hk.clone()),
        ),
        _ => return None,
    };
    if api_version.is_empty() || kind.is_empty() {
        return None;
    }
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version.as_ref()),
    };
    let group = canonical_group(group, &kind);
    let legacy = KINDS
        .iter()
        .find(|k| k.group == group && k.kind == kind.as_ref())
        .is_some_and(|info| {
            header.api_version.is_some() && info.api_version != api_version.as_ref()
        });
    let typed_kind = KINDS
        .iter()
        .any(|k| k.group == group && k.kind == kind.as_ref());
    // Live objects of kinds without a type keep the tree path (custom resources are not kept
    // raw from live pages).
    let needs_tree = (live && !typed_kind)
        || legacy
        || (group.is_empty() && kind.as_ref() == "Secret")
        || matches!(
            kind.as_ref(),
            "Certificate" | "ExternalSecret" | "SealedSecret"
        )
        || (group == "networking.k8s.io" && kind.as_ref() == "Ingress" && version != "v1");
    if needs_tree {
        let mut value: Value = serde_json::from_str(slice).ok()?;
        fill_type(&mut value, &api_version, &kind);
        return Some(convert_object((value, source), live));
    }
    let meta = header.metadata.as_ref();
    let name = meta
        .and_then(|m| m.name.as_deref().or(m.generate_name.as_deref()))
        .unwrap_or("")
        .to_string();
    let named = meta
        .and_then(|m| m.name.as_deref())
        .is_some_and(|n| !n.is_empty());
    let namespace = meta
        .and_then(|m| m.namespace.as_deref())
        .map(str::to_string);
    let mut ignore = ignore_ids(meta);
    if let Some(spec) = &header.spec {
        let template = spec.template.as_ref().or_else(|| {
            spec.job_template
                .as_ref()
                .and_then(|j| j.spec.as_ref())
                .and_then(|s| s.template.as_ref())
        });
        ignore.extend(ignore_ids(template.and_then(|t| t.metadata.as_ref())));
    }
    let written = if live {
        written_of_header(&api_version, meta)
    } else {
        Written::Document
    };
    let origin = Origin::new(api_version.clone(), source.clone());
    let mut dropped = Vec::new();
    let typed = if typed_kind {
        let mut typed = convert_json(group, &kind, slice, origin, live, &mut dropped);
        if live && let Ok(typed) = &mut typed {
            typed.drop_managed_fields();
        }
        typed
    } else {
        Ok(Typed::Untyped(Some(Box::new(RawPending {
            kind: kind.clone(),
            origin,
            size: end - start,
            body: RawBody::Text {
                text: text.clone(),
                start,
                end,
            },
        }))))
    };
    let summary = ObjectSummary {
        api_version,
        kind,
        namespace,
        name,
        source,
        also_defined_at: Vec::new(),
        ignore,
        makes_secret: None,
        makes_pods: Vec::new(),
        written,
    };
    Some((summary, typed, dropped, named))
}

/// [`crate::written::written_versions`] of a live object read as text.
fn written_of_header(served: &str, meta: Option<&MetaHeader>) -> Written {
    let last_applied = meta
        .and_then(|m| m.annotations.as_ref())
        .and_then(|a| a.get(crate::secrets::LAST_APPLIED))
        .map(|s| s.as_ref());
    let managers = meta
        .and_then(|m| m.managed_fields.as_deref())
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let api_version = entry.api_version.as_deref()?;
            Some((entry.manager.as_deref().unwrap_or(""), api_version))
        });
    crate::written::written_versions(served, last_applied, managers)
}

fn convert_object((mut value, source): (Value, Option<SourceLocation>), live: bool) -> Converted {
    let written = if live {
        let served = value["apiVersion"].as_str().unwrap_or_default();
        let written = crate::written::written_versions_of(served, &value);
        // Read: no detector needs the managed fields themselves.
        if let Some(Value::Object(meta)) = value.get_mut("metadata") {
            meta.remove("managedFields");
        }
        written
    } else {
        Written::Document
    };
    let map = value.as_object().expect("only objects are queued");
    let api_version: Arc<str> = map["apiVersion"].as_str().unwrap_or_default().into();
    let kind: Arc<str> = map["kind"].as_str().unwrap_or_default().into();
    let metadata = map.get("metadata");
    let name = metadata
        .and_then(|m| m.get("name").or_else(|| m.get("generateName")))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let named = metadata
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    let namespace = metadata
        .and_then(|m| m.get("namespace"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version.as_ref()),
    };
    let group = canonical_group(group, &kind);
    if group == "networking.k8s.io" && kind.as_ref() == "Ingress" && version != "v1" {
        crate::legacy::ingress_v1beta1_to_v1(&mut value);
    }
    let ignore = crate::suppress::ignore_annotation(&value);
    // k8s-openapi checks apiVersion: read legacy versions as today's (the written one stays in
    // the summary and the item's origin).
    if let Some(info) = KINDS
        .iter()
        .find(|k| k.group == group && k.kind == kind.as_ref())
        && info.api_version != api_version.as_ref()
        && let Some(obj) = value.as_object_mut()
    {
        obj.insert(
            "apiVersion".into(),
            Value::String(info.api_version.to_string()),
        );
    }
    let makes_secret = secret_made_by(&kind, &name, &value);
    let makes_pods = crate::operators::pods_made_by(
        group,
        &kind,
        &name,
        namespace.as_deref().unwrap_or("default"),
        &value,
    );
    let origin = Origin::new(api_version.clone(), source.clone());
    let mut dropped = Vec::new();
    let typed = convert(group, &kind, value, origin, live, &mut dropped);
    let summary = ObjectSummary {
        api_version,
        kind,
        namespace,
        name,
        source,
        also_defined_at: Vec::new(),
        ignore,
        makes_secret,
        makes_pods,
        written,
    };
    (summary, typed, dropped, named)
}

/// A field left out of an object because it could not be converted to its type.
pub(crate) struct Dropped {
    /// `spec.template.spec.containers[0].ports[0].containerPort`
    pub(crate) path: String,
    error: String,
}

impl Dropped {
    /// The same field, named from the object that holds the value it was read from.
    pub(crate) fn under(self, field: &str) -> Dropped {
        Dropped {
            path: format!("{field}.{}", self.path),
            error: self.error,
        }
    }
}

/// At most this many fields are left out of one object before it is given up.
const MAX_DROPPED_FIELDS: usize = 16;

/// Read `T` from `value`; a field that cannot be converted (a string where an integer
/// belongs...) is removed and named in `dropped`, and the rest is read again, so one bad
/// field does not lose every check on the object.
pub(crate) fn read_lenient<T: serde::de::DeserializeOwned>(
    mut value: Value,
    dropped: &mut Vec<Dropped>,
) -> Result<T, String> {
    if let Ok(object) = T::deserialize(&value) {
        return Ok(object);
    }
    for _ in 0..=MAX_DROPPED_FIELDS {
        match serde_path_to_error::deserialize::<_, T>(&value) {
            Ok(object) => return Ok(object),
            Err(e) => {
                let path = e.path().clone();
                let error = e.into_inner().to_string();
                if dropped.len() >= MAX_DROPPED_FIELDS || !remove_at(&mut value, &path) {
                    return Err(error);
                }
                dropped.push(Dropped {
                    path: path.to_string(),
                    error,
                });
            }
        }
    }
    T::deserialize(value).map_err(|e| e.to_string())
}

/// [`read_lenient`] where nobody is told what was left out.
pub(crate) fn read_lenient_quiet<T: serde::de::DeserializeOwned>(
    value: Value,
) -> Result<T, serde_json::Error> {
    read_lenient(value, &mut Vec::new()).map_err(serde::de::Error::custom)
}

/// Remove the value at `path` from `value`; false when there is nothing to remove there
/// (the object itself is wrong: a missing apiVersion...).
fn remove_at(value: &mut Value, path: &serde_path_to_error::Path) -> bool {
    use serde_path_to_error::Segment;
    let segments: Vec<&Segment> = path.iter().collect();
    let Some((last, parents)) = segments.split_last() else {
        return false;
    };
    let mut at = value;
    for segment in parents {
        at = match (segment, at) {
            (Segment::Map { key }, Value::Object(map)) => match map.get_mut(key.as_str()) {
                Some(v) => v,
                None => return false,
            },
            (Segment::Seq { index }, Value::Array(items)) => match items.get_mut(*index) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    match (last, at) {
        (Segment::Map { key }, Value::Object(map)) => map.remove(key.as_str()).is_some(),
        (Segment::Seq { index }, Value::Array(items)) if *index < items.len() => {
            items.remove(*index);
            true
        }
        _ => false,
    }
}

/// The line of the field at `path` (`a.b[0].c`) in `text`, searching from the document's
/// first line (`doc_line`, 1-based) for each key in turn (`key:` in YAML, `"key"` in JSON).
/// Approximate: list indexes are not counted, so a field of a later item may be placed at
/// the first item's key.
fn field_line(text: &str, doc_line: u32, path: &str) -> Option<u32> {
    let start = text
        .split_inclusive('\n')
        .take(doc_line.saturating_sub(1) as usize)
        .map(str::len)
        .sum::<usize>();
    let mut at = start;
    let mut found = false;
    for key in path.split('.') {
        let key = key.split('[').next().unwrap_or("");
        if key.is_empty() {
            continue;
        }
        let rest = text.get(at..)?;
        let yaml = format!("{key}:");
        let json = format!("\"{key}\"");
        let hit = [yaml.as_str(), json.as_str()]
            .iter()
            .filter_map(|needle| {
                rest.match_indices(needle)
                    .find(|(i, _)| {
                        // A whole key: preceded by indentation, `- `, `{`, `,` or a quote.
                        let before = rest[..*i].chars().next_back();
                        matches!(
                            before,
                            None | Some(' ' | '\n' | '\t' | '-' | '{' | ',' | '"')
                        )
                    })
                    .map(|(i, _)| i)
            })
            .min()?;
        at += hit + 1;
        found = true;
    }
    found.then(|| text[..at].matches('\n').count() as u32 + 1)
}

/// See [`ObjectSummary::makes_secret`].
fn secret_made_by(kind: &str, name: &str, value: &Value) -> Option<String> {
    let spec = value.get("spec");
    let text = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    match kind {
        "Certificate" => text(spec.and_then(|s| s.get("secretName"))),
        "ExternalSecret" => text(
            spec.and_then(|s| s.get("target"))
                .and_then(|t| t.get("name")),
        )
        .or_else(|| Some(name.to_string()).filter(|n| !n.is_empty())),
        "SealedSecret" => Some(name.to_string()).filter(|n| !n.is_empty()),
        _ => None,
    }
}
