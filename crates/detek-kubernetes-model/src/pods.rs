//! Pod-level views shared by detectors, built once per scan as derived keys:
//!
//! - [`POD_SPECS`](crate::model::POD_SPECS) ([`PodSpecs`]): the pod specs to check — real Pods,
//!   one view per controller *revision* (the Pods of one ReplicaSet of a Deployment, of one
//!   `controller-revision-hash` of a StatefulSet or DaemonSet), so that mid-rollout old and
//!   new Pods are judged apart, and one view per CronJob (its newest Job's Pod: every run is
//!   stamped from the one job template, and a throwaway `Job/<cron>-<timestamp>` is not what
//!   to fix); plus the pod templates of workloads
//!   without Pods in the scan (manifests in a repository get the same checks as a live
//!   cluster). The owner index that resolves Pod → ReplicaSet → Deployment and
//!   Pod → Job → CronJob ([`Owners`], [`controller_of`]) is built with them.
//! - [`PODS_BY_LABEL`](crate::model::PODS_BY_LABEL) ([`PodsByLabel`]): every Pod (each one,
//!   not one per controller) and those templates, by namespace and label, for matching Service
//!   selectors — a selector on a per-Pod label (`statefulset.kubernetes.io/pod-name: web-0`)
//!   selects that one Pod.

use crate::model::{Item, Items, Named, ObjectSet};
use crate::pod::{LazyPodSpec, Pod};
use detek_core::{Finding, ObjectRef};
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::Arc;

/// The pod template of a workload controller.
#[derive(Debug, Clone)]
pub struct WorkloadTemplate {
    /// The controller: kind, namespace, name, source.
    pub owner: ObjectRef,
    /// The template's metadata (labels, annotations), namespace filled from the owner.
    pub metadata: ObjectMeta,
    pub spec: PodSpec,
    /// Desired replicas where the controller has that notion.
    pub replicas: Option<i32>,
}

/// The pod templates of the scan's workloads (shared, cheap to clone). Derefs to the templates.
#[derive(Debug, Clone, Default)]
pub struct WorkloadTemplates(Arc<Vec<WorkloadTemplate>>);

impl From<Vec<WorkloadTemplate>> for WorkloadTemplates {
    fn from(templates: Vec<WorkloadTemplate>) -> Self {
        WorkloadTemplates(Arc::new(templates))
    }
}

impl std::ops::Deref for WorkloadTemplates {
    type Target = [WorkloadTemplate];
    fn deref(&self) -> &[WorkloadTemplate] {
        &self.0
    }
}

impl<'a> IntoIterator for &'a WorkloadTemplates {
    type Item = &'a WorkloadTemplate;
    type IntoIter = std::slice::Iter<'a, WorkloadTemplate>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

// ------------------------------------------------------------------------------------------
// Controllers

/// The workload controller a Pod's spec comes from, and the revision of it the Pod was stamped
/// from. See [`controller_of`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Controller {
    /// `Deployment`, `ReplicaSet`, `StatefulSet`, `DaemonSet`, `Job`, `CronJob` or
    /// `ReplicationController`.
    pub kind: &'static str,
    pub name: String,
    /// The object between the Pod and its controller: the ReplicaSet of a Deployment's Pod,
    /// the Job of a CronJob's Pod.
    pub via: Option<(&'static str, String)>,
    /// The revision the Pod belongs to: the `pod-template-hash` of a Deployment's Pod (its
    /// ReplicaSet's name when the label is missing), the `controller-revision-hash` of a
    /// StatefulSet's or DaemonSet's Pod. `None` for controllers with one template (a bare
    /// ReplicaSet, a Job, a CronJob: its Jobs are runs, not revisions; `via` names the Job).
    pub revision: Option<String>,
}

impl Controller {
    /// How evidence names the revision: `ReplicaSet web-5d9f7c (pod-template-hash 5d9f7c)`,
    /// `controller-revision-hash web-6c8d94`, `Job backup-29184720`.
    pub fn revision_name(&self) -> Option<String> {
        let revision = self.revision.as_deref()?;
        Some(match (&self.via, self.kind) {
            (Some((kind, name)), "Deployment") if name != revision => {
                format!("{kind} {name} (pod-template-hash {revision})")
            }
            (Some((kind, name)), _) => format!("{kind} {name}"),
            (None, _) => format!("controller-revision-hash {revision}"),
        })
    }
}

/// The controllers of the scan's ReplicaSets and Jobs: the middle links of
/// Pod → ReplicaSet → Deployment and Pod → Job → CronJob. Built once, with [`PodSpecs`].
#[derive(Debug, Clone, Default)]
pub struct Owners {
    replica_sets: OwnerLinks,
    jobs: OwnerLinks,
}

/// namespace → name → the controller's (kind, name), `None` when it has none.
type OwnerLinks = HashMap<String, HashMap<String, Option<(&'static str, String)>>>;

impl Owners {
    pub fn new(replica_sets: &Items<ReplicaSet>, jobs: &Items<Job>) -> Owners {
        fn index<T: Named>(items: &Items<T>) -> OwnerLinks {
            let mut out: HashMap<String, HashMap<String, _>> = HashMap::new();
            for item in items {
                let parent = controller_ref(item.object.meta())
                    .and_then(|o| Some((workload_kind(&o.kind)?, o.name.clone())));
                out.entry(item.namespace_or_default().to_string())
                    .or_default()
                    .insert(item.name().to_string(), parent);
            }
            out
        }
        Owners {
            replica_sets: index(replica_sets),
            jobs: index(jobs),
        }
    }

    /// The controller of ReplicaSet or Job `name`: `None` when the scan does not hold it,
    /// `Some(None)` when it has no controller.
    fn parent(&self, kind: &str, namespace: &str, name: &str) -> Option<Option<(&str, &str)>> {
        let map = match kind {
            "ReplicaSet" => &self.replica_sets,
            "Job" => &self.jobs,
            _ => return None,
        };
        let parent = map.get(namespace)?.get(name)?;
        Some(parent.as_ref().map(|(k, n)| (*k, n.as_str())))
    }
}

/// The workload kinds a controller chain goes through, as static strings.
fn workload_kind(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "Deployment" => "Deployment",
        "ReplicaSet" => "ReplicaSet",
        "StatefulSet" => "StatefulSet",
        "DaemonSet" => "DaemonSet",
        "Job" => "Job",
        "CronJob" => "CronJob",
        "ReplicationController" => "ReplicationController",
        _ => return None,
    })
}

/// The owner reference marked `controller: true`.
fn controller_ref(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
}

/// The controller of a Pod (given its metadata), resolved through the scan's ReplicaSets and
/// Jobs: Pod → ReplicaSet → Deployment, Pod → Job → CronJob, Pod → StatefulSet, DaemonSet or
/// ReplicationController. A ReplicaSet the scan does not hold is taken for its Deployment's
/// when its name is `<deployment>-<pod-template-hash>`. Static Pods (owned by their Node),
/// bare Pods and Pods of other controllers (operators' custom resources) have none.
///
/// The one place detek resolves controllers: the pod-spec views and every detector use it
/// (through [`PodSpecs::controller`] or [`PodSpecView::controller`]).
pub fn controller_of(meta: &ObjectMeta, owners: &Owners) -> Option<Controller> {
    let owner = controller_ref(meta)?;
    let namespace = meta.namespace.as_deref().unwrap_or("default");
    let label = |key: &str| meta.labels.as_ref().and_then(|l| l.get(key));
    let name = owner.name.clone();
    Some(match owner.kind.as_str() {
        "ReplicaSet" => {
            let hash = label("pod-template-hash");
            let deployment = match owners.parent("ReplicaSet", namespace, &owner.name) {
                Some(Some(("Deployment", d))) => Some(d.to_string()),
                Some(_) => None,
                None => hash
                    .and_then(|h| owner.name.strip_suffix(h.as_str())?.strip_suffix('-'))
                    .filter(|d| !d.is_empty())
                    .map(str::to_string),
            };
            match deployment {
                Some(deployment) => Controller {
                    kind: "Deployment",
                    name: deployment,
                    revision: Some(hash.cloned().unwrap_or_else(|| name.clone())),
                    via: Some(("ReplicaSet", name)),
                },
                None => Controller {
                    kind: "ReplicaSet",
                    name,
                    via: None,
                    revision: None,
                },
            }
        }
        "Job" => match owners.parent("Job", namespace, &owner.name) {
            Some(Some(("CronJob", cron_job))) => Controller {
                kind: "CronJob",
                name: cron_job.to_string(),
                revision: None,
                via: Some(("Job", name)),
            },
            _ => Controller {
                kind: "Job",
                name,
                via: None,
                revision: None,
            },
        },
        kind @ ("StatefulSet" | "DaemonSet") => Controller {
            kind: workload_kind(kind)?,
            name,
            via: None,
            revision: label("controller-revision-hash").cloned(),
        },
        "ReplicationController" => Controller {
            kind: "ReplicationController",
            name,
            via: None,
            revision: None,
        },
        _ => return None,
    })
}

// ------------------------------------------------------------------------------------------
// Pod-spec views

/// One pod spec to check: the Pods of one controller revision (represented by the first of
/// them), a Pod without controller, or a workload's template.
#[derive(Debug, Clone, Copy)]
pub struct PodSpecView<'a> {
    pub metadata: &'a ObjectMeta,
    /// The spec, typed when first read ([`PodSpecView::spec`]): a view of a live Pod that
    /// nothing asks the spec of (most of those a Service selects) leaves it as text.
    spec: SpecOf<'a>,
    /// The real Pod, when this is one (status available). For replicated Pods, the first
    /// replica of its controller revision.
    pub pod: Option<&'a Item<Pod>>,
    /// The controller, when this is a template.
    pub template: Option<&'a WorkloadTemplate>,
    /// The Pod's controller and revision (see [`controller_of`]), when this is a Pod with one.
    pub controller: Option<&'a Controller>,
    /// How many Pods this view stands for (the replicas of one revision share their spec).
    pub replicas: usize,
    /// How many revisions of its controller have Pods in the scan, each a view of its own: 1,
    /// or more mid-rollout. Findings then name the revision ([`PodSpecView::revision_evidence`]).
    pub revisions: usize,
    /// A view of one replica for its ephemeral (debug) containers alone
    /// ([`PodSpecs::ephemeral_views`]): they were added to that Pod, not stamped from the
    /// template, so container checks judge them on the Pod that runs them.
    pub ephemeral_only: bool,
}

/// Where a view's spec is.
#[derive(Debug, Clone, Copy)]
enum SpecOf<'a> {
    Template(&'a PodSpec),
    Pod(&'a LazyPodSpec),
}

impl<'a> PodSpecView<'a> {
    /// The view of a workload's template.
    pub fn of_template(t: &'a WorkloadTemplate) -> Self {
        PodSpecView {
            metadata: &t.metadata,
            spec: SpecOf::Template(&t.spec),
            pod: None,
            template: Some(t),
            controller: None,
            replicas: 1,
            revisions: 1,
            ephemeral_only: false,
        }
    }

    /// The object findings name: the controller of replicated Pods (a Deployment, a
    /// StatefulSet, a CronJob...), a bare Pod, or the workload owning the template.
    pub fn object_ref(&self) -> ObjectRef {
        match (self.pod, self.template) {
            (Some(pod), _) => match self.controller {
                Some(c) => ObjectRef {
                    kind: c.kind.to_string(),
                    api_version: None,
                    namespace: pod.namespace().map(str::to_string),
                    name: c.name.clone(),
                    container: None,
                    source: pod.origin.source.clone(),
                    sources: pod.origin.sources(),
                },
                None => pod.object_ref(),
            },
            (None, Some(t)) => t.owner.clone(),
            (None, None) => ObjectRef::default(),
        }
    }

    /// The object, naming one container.
    pub fn container_ref(&self, container: &str) -> ObjectRef {
        self.object_ref().with_container(container)
    }

    /// `(kind, namespace, name)` of [`PodSpecView::object_ref`], borrowed.
    pub fn object_key(&self) -> (&'a str, &'a str, &'a str) {
        match (self.pod, self.controller, self.template) {
            (Some(pod), Some(c), _) => (c.kind, pod.namespace_or_default(), c.name.as_str()),
            (Some(pod), None, _) => ("Pod", pod.namespace_or_default(), pod.name()),
            (None, _, Some(t)) => (
                t.owner.kind.as_str(),
                t.owner.namespace.as_deref().unwrap_or("default"),
                t.owner.name.as_str(),
            ),
            (None, _, None) => ("", "", ""),
        }
    }

    /// Mid-rollout (Pods of several revisions of one controller in the scan), which revision
    /// this view stands for: `Pods of ReplicaSet web-5d9f7c (pod-template-hash 5d9f7c), 2 Pod(s):
    /// Deployment web has Pods of 2 revisions, judged apart`. `None` otherwise.
    pub fn revision_evidence(&self) -> Option<String> {
        if self.revisions < 2 {
            return None;
        }
        let c = self.controller?;
        Some(format!(
            "Pods of {}, {} Pod(s): {} {} has Pods of {} revisions, judged apart",
            c.revision_name()?,
            self.replicas,
            c.kind,
            c.name,
            self.revisions
        ))
    }

    pub fn namespace(&self) -> &'a str {
        self.metadata.namespace.as_deref().unwrap_or("default")
    }

    /// The pod spec (a live Pod's is typed now if nothing read it before).
    pub fn spec(&self) -> &'a PodSpec {
        match self.spec {
            SpecOf::Template(spec) => spec,
            SpecOf::Pod(spec) => spec.typed(),
        }
    }

    /// Regular containers (not init or ephemeral).
    pub fn containers(&self) -> &'a [Container] {
        &self.spec().containers
    }

    /// Init containers then regular containers.
    pub fn all_containers(&self) -> impl Iterator<Item = &'a Container> {
        let spec = self.spec();
        spec.init_containers
            .iter()
            .flatten()
            .chain(spec.containers.iter())
    }
}

/// Adds to a finding made from a [`PodSpecView`] the revision it stands for, when its
/// controller has Pods of several revisions in the scan (see
/// [`PodSpecView::revision_evidence`]).
pub trait WithRevision {
    fn with_revision_of(self, view: &PodSpecView) -> Self;
}

impl WithRevision for Finding {
    fn with_revision_of(self, view: &PodSpecView) -> Finding {
        match view.revision_evidence() {
            Some(evidence) => self.with_evidence(evidence),
            None => self,
        }
    }
}

/// A view, as indices into [`PodSpecs`].
#[derive(Debug, Clone, Copy)]
enum ViewRef {
    Pod {
        index: u32,
        replicas: u32,
        revisions: u32,
    },
    Template(u32),
}

/// No view: a Pod without spec.
const NO_VIEW: u32 = u32::MAX;

/// The pod specs to check (`kubernetes/pod-specs`): every Pod, one view per controller revision
/// (the view of its first Pod, standing for all of them), plus the template of every workload
/// that has no Pod in the scan. A manifest repository (no Pods) gets all templates; a live
/// cluster gets its Pods and the templates of workloads scaled to zero or not yet rolled out. A
/// template "has Pods" when some Pod in its namespace carries all of the template's labels
/// (Pods are stamped from their template's labels). Built once per scan; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct PodSpecs(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    pods: Items<Pod>,
    templates: WorkloadTemplates,
    owners: Owners,
    /// The controller of each Pod.
    controllers: Vec<Option<Controller>>,
    /// The view each Pod belongs to ([`NO_VIEW`] for Pods without spec).
    pod_view: Vec<u32>,
    views: Vec<ViewRef>,
}

impl PodSpecs {
    pub fn new(pods: Items<Pod>, templates: WorkloadTemplates, owners: Owners) -> PodSpecs {
        use rayon::prelude::*;
        let controllers: Vec<Option<Controller>> = pods
            .par_iter()
            .map(|p| controller_of(&p.metadata, &owners))
            .collect();
        let (views, pod_view) = view_refs(&pods, &controllers, &templates);
        PodSpecs(Arc::new(Inner {
            pods,
            templates,
            owners,
            controllers,
            pod_view,
            views,
        }))
    }

    /// The views, in order: Pods (one per controller revision), then templates.
    pub fn views(&self) -> Vec<PodSpecView<'_>> {
        self.iter().collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = PodSpecView<'_>> + '_ {
        self.0.views.iter().map(|r| self.view(*r))
    }

    /// Number of views.
    pub fn len(&self) -> usize {
        self.0.views.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.views.is_empty()
    }

    /// Every Pod of the scan.
    pub fn pods(&self) -> &Items<Pod> {
        &self.0.pods
    }

    /// Every workload template of the scan (with Pods or not).
    pub fn templates(&self) -> &WorkloadTemplates {
        &self.0.templates
    }

    /// The owner index the controllers were resolved with.
    pub fn owners(&self) -> &Owners {
        &self.0.owners
    }

    /// The controller of the `index`-th Pod of [`PodSpecs::pods`].
    pub fn controller(&self, index: usize) -> Option<&Controller> {
        self.0.controllers.get(index)?.as_ref()
    }

    /// Whether the `index`-th Pod of [`PodSpecs::pods`] is the one its view stands on: the first
    /// Pod of its controller revision (of a CronJob: the newest), or a Pod without controller.
    /// False without spec.
    pub fn is_first_of_revision(&self, index: usize) -> bool {
        let view = self.0.pod_view.get(index).copied().unwrap_or(NO_VIEW);
        matches!(self.0.views.get(view as usize), Some(ViewRef::Pod { index: first, .. }) if *first as usize == index)
    }

    /// The replicas of a controller that run ephemeral (debug) containers, as their status
    /// lists them: one view per such Pod, naming the Pod itself (no controller), flagged
    /// [`PodSpecView::ephemeral_only`]. `kubectl debug` adds them to one Pod, whichever replica
    /// it is, so the view of its revision (one Pod standing for all) does not show them; a
    /// Pod without controller is its own view and is not repeated here.
    pub fn ephemeral_views(&self) -> impl Iterator<Item = PodSpecView<'_>> + '_ {
        self.0.pods.iter().enumerate().filter_map(|(index, pod)| {
            self.controller(index)?;
            let runs_ephemeral = pod
                .status
                .as_ref()
                .and_then(|s| s.ephemeral_container_statuses.as_ref())
                .is_some_and(|list| !list.is_empty());
            if !runs_ephemeral {
                return None;
            }
            Some(PodSpecView {
                metadata: &pod.metadata,
                spec: SpecOf::Pod(pod.spec.as_ref()?),
                pod: Some(pod.as_ref()),
                template: None,
                controller: None,
                replicas: 1,
                revisions: 1,
                ephemeral_only: true,
            })
        })
    }

    /// The `index`-th Pod of [`PodSpecs::pods`] alone (`replicas` 1), `None` without spec.
    pub fn pod_view(&self, index: usize) -> Option<PodSpecView<'_>> {
        let pod = self.0.pods.get(index)?.as_ref();
        let revisions = match self.0.views.get(self.0.pod_view[index] as usize) {
            Some(ViewRef::Pod { revisions, .. }) => *revisions as usize,
            _ => 1,
        };
        Some(PodSpecView {
            metadata: &pod.metadata,
            spec: SpecOf::Pod(pod.spec.as_ref()?),
            pod: Some(pod),
            template: None,
            controller: self.controller(index),
            replicas: 1,
            revisions,
            ephemeral_only: false,
        })
    }

    fn view(&self, r: ViewRef) -> PodSpecView<'_> {
        match r {
            ViewRef::Pod {
                index,
                replicas,
                revisions,
            } => {
                let index = index as usize;
                let pod = self.0.pods[index].as_ref();
                PodSpecView {
                    metadata: &pod.metadata,
                    spec: SpecOf::Pod(
                        pod.spec
                            .as_ref()
                            .expect("views are made of Pods with a spec"),
                    ),
                    pod: Some(pod),
                    template: None,
                    controller: self.controller(index),
                    replicas: replicas as usize,
                    revisions: revisions as usize,
                    ephemeral_only: false,
                }
            }
            ViewRef::Template(i) => PodSpecView::of_template(&self.0.templates[i as usize]),
        }
    }

    /// Indices of the templates that are views (workloads without Pods in the scan).
    fn template_views(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.views.iter().filter_map(|r| match r {
            ViewRef::Template(i) => Some(*i as usize),
            ViewRef::Pod { .. } => None,
        })
    }
}

fn view_refs(
    pods: &Items<Pod>,
    controllers: &[Option<Controller>],
    templates: &[WorkloadTemplate],
) -> (Vec<ViewRef>, Vec<u32>) {
    // Replicas of one controller revision share its template: one view per revision (its
    // first Pod), so a spec problem is reported once, on the object to fix, not once per
    // replica — and old and new Pods of a rollout are judged apart.
    let mut views: Vec<ViewRef> = Vec::new();
    let mut pod_view = vec![NO_VIEW; pods.len()];
    type Group<'p> = (&'p str, &'static str, &'p str, Option<&'p str>);
    let mut groups: HashMap<Group, u32> = HashMap::new();
    // (namespace, kind, name) → the views of its revisions.
    let mut revisions: HashMap<(&str, &'static str, &str), Vec<u32>> = HashMap::new();
    for (index, pod) in pods.iter().enumerate() {
        if pod.spec.is_none() {
            continue;
        }
        let next = views.len() as u32;
        if let Some(c) = &controllers[index] {
            let ns = pod.namespace_or_default();
            match groups.entry((ns, c.kind, c.name.as_str(), c.revision.as_deref())) {
                Entry::Occupied(e) => {
                    let v = *e.get();
                    if let ViewRef::Pod {
                        replicas,
                        index: first,
                        ..
                    } = &mut views[v as usize]
                    {
                        *replicas += 1;
                        // A CronJob's view stands on its newest run: the job template as it
                        // is now.
                        let created = |i: usize| pods[i].metadata.creation_timestamp.as_ref();
                        if c.kind == "CronJob" && created(index) > created(*first as usize) {
                            *first = index as u32;
                        }
                    }
                    pod_view[index] = v;
                    continue;
                }
                Entry::Vacant(e) => {
                    e.insert(next);
                    revisions
                        .entry((ns, c.kind, c.name.as_str()))
                        .or_default()
                        .push(next);
                }
            }
        }
        pod_view[index] = next;
        views.push(ViewRef::Pod {
            index: index as u32,
            replicas: 1,
            revisions: 1,
        });
    }
    for group in revisions.values().filter(|g| g.len() > 1) {
        for &v in group {
            if let ViewRef::Pod { revisions, .. } = &mut views[v as usize] {
                *revisions = group.len() as u32;
            }
        }
    }
    // Pods by (namespace, label key, label value), to find a template's Pods quickly.
    let mut by_label: HashMap<(&str, &str, &str), Vec<usize>> = HashMap::new();
    if !templates.is_empty() {
        for (i, pod) in pods.iter().enumerate() {
            let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
            for (k, v) in pod.metadata.labels.iter().flatten() {
                by_label.entry((ns, k, v)).or_default().push(i);
            }
        }
    }
    for (i, t) in templates.iter().enumerate() {
        let ns = t.metadata.namespace.as_deref().unwrap_or("default");
        let labels = t.metadata.labels.as_ref();
        let has_pods = labels.and_then(|l| l.iter().next()).is_some_and(|(k, v)| {
            by_label
                .get(&(ns, k.as_str(), v.as_str()))
                .is_some_and(|candidates| {
                    candidates.iter().any(|&c| {
                        selector_matches(
                            labels.expect("non-empty"),
                            pods[c].metadata.labels.as_ref(),
                        )
                    })
                })
        });
        if !has_pods {
            views.push(ViewRef::Template(i as u32));
        }
    }
    (views, pod_view)
}

// ------------------------------------------------------------------------------------------
// Pods by label

/// Labels that controllers put on Pods at run time, absent from the templates of manifests
/// (`statefulset.kubernetes.io/pod-name` selects one replica of a StatefulSet).
pub const RUNTIME_LABELS: &[&str] = &[
    "statefulset.kubernetes.io/pod-name",
    "apps.kubernetes.io/pod-index",
    "controller-revision-hash",
    "pod-template-hash",
    "pod-template-generation",
    "batch.kubernetes.io/job-completion-index",
];

/// Does a Service selector select this Pod or template? For templates, selector keys that only
/// exist on running Pods (see [`RUNTIME_LABELS`]) are not required.
pub fn service_selects(selector: &BTreeMap<String, String>, view: &PodSpecView<'_>) -> bool {
    let labels = view.metadata.labels.as_ref();
    let is_template = view.pod.is_none();
    selector.iter().all(|(k, v)| {
        labels.and_then(|l| l.get(k)) == Some(v)
            || (is_template && RUNTIME_LABELS.contains(&k.as_str()))
    })
}

/// One Pod or template of [`PodsByLabel`].
#[derive(Debug, Clone, Copy)]
enum Member {
    Pod(u32),
    Template(u32),
}

/// Every Pod of the scan — each one, not one per controller — and the templates of workloads
/// without Pods, by namespace and label (`kubernetes/pods-by-label`): what Service selectors
/// are matched against, so a Service selecting one StatefulSet replica by its
/// `statefulset.kubernetes.io/pod-name` label selects that Pod, and matching every Service
/// stays linear. Built once per scan from [`PodSpecs`].
#[derive(Debug, Clone, Default)]
pub struct PodsByLabel {
    specs: PodSpecs,
    members: Vec<Member>,
    /// hash(namespace, key, value) → members (hash collisions are filtered on lookup).
    by_label: ByHash,
    /// hash(namespace) → members.
    by_namespace: ByHash,
    pods: bool,
    templates: bool,
}

pub(crate) fn hash_of(parts: &[&str]) -> u64 {
    let mut h = FxHasher::default();
    for p in parts {
        p.hash(&mut h);
    }
    h.finish()
}

/// rustc's FxHash: fast for short keys. Fine here: keys are not chosen by an adversary, and a
/// collision only adds a candidate that the lookup filters out.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        for &b in chunks.remainder() {
            self.add(u64::from(b));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Members by a [`hash_of`] key.
pub(crate) type ByHash = HashMap<u64, Vec<u32>, BuildHasherDefault<FxHasher>>;

impl PodsByLabel {
    pub fn new(specs: &PodSpecs) -> PodsByLabel {
        let mut index = PodsByLabel {
            specs: specs.clone(),
            ..Default::default()
        };
        let pods = (0..specs.pods().len())
            .filter(|&i| specs.pods()[i].spec.is_some())
            .map(|i| Member::Pod(i as u32));
        let templates = specs.template_views().map(|i| Member::Template(i as u32));
        index.members = pods.chain(templates).collect();
        for (m, &member) in index.members.iter().enumerate() {
            let view = index.specs.member_view(member);
            let ns = view.namespace();
            index
                .by_namespace
                .entry(hash_of(&[ns]))
                .or_default()
                .push(m as u32);
            for (k, v) in view.metadata.labels.iter().flatten() {
                index
                    .by_label
                    .entry(hash_of(&[ns, k, v]))
                    .or_default()
                    .push(m as u32);
            }
            match member {
                Member::Pod(_) => index.pods = true,
                Member::Template(_) => index.templates = true,
            }
        }
        index
    }

    /// The Pods (each one) and workload templates in `namespace` that a Service `selector`
    /// selects (see [`service_selects`]). A Pod's view names its controller (`replicas` 1).
    pub fn selected(
        &self,
        namespace: &str,
        selector: &BTreeMap<String, String>,
    ) -> Vec<PodSpecView<'_>> {
        self.selected_iter(namespace, selector)
            .map(|(_, v)| v)
            .collect()
    }

    /// [`PodsByLabel::selected`] with the selected Pods of one controller revision as one
    /// view (the first of them, `replicas` the number selected): what checks on the spec
    /// need, since the replicas of a revision share their template.
    pub fn selected_per_revision(
        &self,
        namespace: &str,
        selector: &BTreeMap<String, String>,
    ) -> Vec<PodSpecView<'_>> {
        let mut out: Vec<PodSpecView> = Vec::new();
        let mut at: HashMap<u32, usize, BuildHasherDefault<FxHasher>> = HashMap::default();
        for (member, view) in self.selected_iter(namespace, selector) {
            if let Member::Pod(i) = member {
                let group = self.specs.0.pod_view[i as usize];
                match at.entry(group) {
                    Entry::Occupied(e) => {
                        out[*e.get()].replicas += 1;
                        continue;
                    }
                    Entry::Vacant(e) => {
                        e.insert(out.len());
                    }
                }
            }
            out.push(view);
        }
        out
    }

    /// Does a Service `selector` select anything in `namespace`?
    pub fn selects_any(&self, namespace: &str, selector: &BTreeMap<String, String>) -> bool {
        self.selected_iter(namespace, selector).next().is_some()
    }

    fn selected_iter<'s, 'q>(
        &'s self,
        namespace: &'q str,
        selector: &'q BTreeMap<String, String>,
    ) -> impl Iterator<Item = (Member, PodSpecView<'s>)> {
        // Narrow by one label every match must carry (runtime-only labels are optional on
        // templates, so they cannot narrow).
        let narrowing = selector
            .iter()
            .find(|(k, _)| !RUNTIME_LABELS.contains(&k.as_str()));
        let candidates = match narrowing {
            Some((k, v)) => self.by_label.get(&hash_of(&[namespace, k, v])),
            None => self.by_namespace.get(&hash_of(&[namespace])),
        };
        candidates
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .map(|&m| {
                let member = self.members[m as usize];
                (member, self.specs.member_view(member))
            })
            .filter(move |(_, v)| v.namespace() == namespace && service_selects(selector, v))
    }

    /// Every Pod and template in `namespace`.
    pub fn in_namespace<'s>(
        &'s self,
        namespace: &'s str,
    ) -> impl Iterator<Item = PodSpecView<'s>> + 's {
        self.by_namespace
            .get(&hash_of(&[namespace]))
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .map(|&m| self.specs.member_view(self.members[m as usize]))
            .filter(move |v| v.namespace() == namespace)
    }

    /// Neither Pods nor templates: nothing can be selected.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Whether the index holds real Pods, workload templates, or both.
    pub fn holds(&self) -> (bool, bool) {
        (self.pods, self.templates)
    }

    /// The pod-spec views the index was built from.
    pub fn pod_specs(&self) -> &PodSpecs {
        &self.specs
    }
}

impl PodSpecs {
    fn member_view(&self, member: Member) -> PodSpecView<'_> {
        match member {
            Member::Pod(i) => self
                .pod_view(i as usize)
                .expect("members are Pods with a spec"),
            Member::Template(i) => PodSpecView::of_template(&self.0.templates[i as usize]),
        }
    }
}

// ------------------------------------------------------------------------------------------
// Templates and selectors

/// Pod templates of every workload controller in the set. ReplicaSets owned by a Deployment
/// and Jobs owned by a CronJob are left out: their owner's template is already there.
pub(crate) fn workload_templates(set: &ObjectSet) -> Vec<WorkloadTemplate> {
    let mut out = Vec::new();
    fn push<T: Named>(
        out: &mut Vec<WorkloadTemplate>,
        item: &Arc<Item<T>>,
        template: Option<&PodTemplateSpec>,
        replicas: Option<i32>,
    ) {
        let Some(template) = template else { return };
        let Some(spec) = template.spec.clone() else {
            return;
        };
        let mut metadata = template.metadata.clone().unwrap_or_default();
        if metadata.namespace.is_none() {
            metadata.namespace = item.namespace().map(str::to_string);
        }
        out.push(WorkloadTemplate {
            owner: item.object_ref(),
            metadata,
            spec,
            replicas,
        });
    }
    let owned = |meta: &ObjectMeta| {
        meta.owner_references
            .as_ref()
            .is_some_and(|o| !o.is_empty())
    };
    for d in &set.deployments {
        push(
            &mut out,
            d,
            Some(&d.spec.template),
            Some(d.spec.replicas.unwrap_or(1)),
        );
    }
    for s in &set.stateful_sets {
        push(
            &mut out,
            s,
            Some(&s.spec.template),
            Some(s.spec.replicas.unwrap_or(1)),
        );
    }
    for d in &set.daemon_sets {
        push(&mut out, d, Some(&d.spec.template), None);
    }
    for r in set.replica_sets.iter().filter(|r| !owned(&r.metadata)) {
        push(
            &mut out,
            r,
            r.spec.template.as_ref(),
            Some(r.spec.replicas.unwrap_or(1)),
        );
    }
    for r in set
        .replication_controllers
        .iter()
        .filter(|r| !owned(&r.metadata))
    {
        let spec = r.spec.as_ref();
        push(
            &mut out,
            r,
            spec.and_then(|s| s.template.as_ref()),
            spec.map(|s| s.replicas.unwrap_or(1)),
        );
    }
    for j in set.jobs.iter().filter(|j| !owned(&j.metadata)) {
        push(&mut out, j, j.spec.as_ref().map(|s| &s.template), None);
    }
    for c in &set.cron_jobs {
        let template = c.spec.job_template.spec.as_ref().map(|s| &s.template);
        push(&mut out, c, template, None);
    }
    out
}

/// Does `selector` (a Service's or PDB's `matchLabels`-style map) select these labels?
/// An empty selector selects nothing here; callers that mean "everything" say so.
pub fn selector_matches(
    selector: &std::collections::BTreeMap<String, String>,
    labels: Option<&std::collections::BTreeMap<String, String>>,
) -> bool {
    if selector.is_empty() {
        return false;
    }
    let Some(labels) = labels else { return false };
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Does a full `LabelSelector` (matchLabels + matchExpressions) select these labels?
/// An empty `LabelSelector` selects everything, as Kubernetes defines it.
pub fn label_selector_matches(
    selector: &k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
    labels: Option<&std::collections::BTreeMap<String, String>>,
) -> bool {
    let empty = std::collections::BTreeMap::new();
    let labels = labels.unwrap_or(&empty);
    if let Some(ml) = &selector.match_labels
        && !ml.iter().all(|(k, v)| labels.get(k) == Some(v))
    {
        return false;
    }
    for expr in selector.match_expressions.iter().flatten() {
        let value = labels.get(&expr.key);
        let values = expr.values.as_deref().unwrap_or(&[]);
        let ok = match expr.operator.as_str() {
            "In" => value.is_some_and(|v| values.contains(v)),
            "NotIn" => value.is_none_or(|v| !values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Origin;
    use serde_json::json;

    fn item<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Arc<Item<T>> {
        Arc::new(Item {
            object: serde_json::from_value(value).unwrap(),
            origin: Origin::new(Arc::from("v1"), None),
        })
    }

    fn meta(value: serde_json::Value) -> ObjectMeta {
        serde_json::from_value(value).unwrap()
    }

    fn owned_by(kind: &str, name: &str) -> serde_json::Value {
        json!([{"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": "u", "controller": true}])
    }

    #[test]
    fn controller_of_follows_replicasets_and_jobs() {
        let replica_sets: Items<ReplicaSet> = vec![
            item(json!({"metadata": {"name": "web-7f9c", "namespace": "shop",
                "ownerReferences": owned_by("Deployment", "web")}})),
            item(
                json!({"metadata": {"name": "canary-5b6d", "namespace": "shop",
                "ownerReferences": owned_by("Rollout", "canary")}}),
            ),
            item(json!({"metadata": {"name": "bare", "namespace": "shop"}})),
        ];
        let jobs: Items<Job> = vec![
            item(
                json!({"metadata": {"name": "backup-29184720", "namespace": "shop",
                "ownerReferences": owned_by("CronJob", "backup")}, "spec": {"template": {}}}),
            ),
            item(
                json!({"metadata": {"name": "migrate", "namespace": "shop"}, "spec": {"template": {}}}),
            ),
        ];
        let owners = Owners::new(&replica_sets, &jobs);
        let of = |kind: &str, name: &str, labels: serde_json::Value| {
            let m = meta(json!({"name": "p", "namespace": "shop", "labels": labels,
                "ownerReferences": owned_by(kind, name)}));
            controller_of(&m, &owners).map(|c| {
                (
                    c.kind,
                    c.name.clone(),
                    c.via.clone().map(|(k, n)| format!("{k}/{n}")),
                    c.revision.clone(),
                )
            })
        };
        let s = |v: &str| Some(v.to_string());
        // Through the ReplicaSet's owner reference, whatever its name.
        assert_eq!(
            of(
                "ReplicaSet",
                "web-7f9c",
                json!({"pod-template-hash": "7f9c"})
            ),
            Some((
                "Deployment",
                s("web").unwrap(),
                s("ReplicaSet/web-7f9c"),
                s("7f9c")
            ))
        );
        // A ReplicaSet the scan does not hold: by its name and the pod-template-hash.
        assert_eq!(
            of(
                "ReplicaSet",
                "api-66d8",
                json!({"pod-template-hash": "66d8"})
            ),
            Some((
                "Deployment",
                s("api").unwrap(),
                s("ReplicaSet/api-66d8"),
                s("66d8")
            ))
        );
        // Owned by an unknown controller (an Argo Rollout), or by nothing: the ReplicaSet.
        assert_eq!(
            of(
                "ReplicaSet",
                "canary-5b6d",
                json!({"pod-template-hash": "5b6d"})
            ),
            Some(("ReplicaSet", s("canary-5b6d").unwrap(), None, None))
        );
        assert_eq!(
            of("ReplicaSet", "bare", json!({})),
            Some(("ReplicaSet", s("bare").unwrap(), None, None))
        );
        // Pod → Job → CronJob; a Job of its own.
        assert_eq!(
            of("Job", "backup-29184720", json!({})),
            Some((
                "CronJob",
                s("backup").unwrap(),
                s("Job/backup-29184720"),
                None
            ))
        );
        assert_eq!(
            of("Job", "migrate", json!({})),
            Some(("Job", s("migrate").unwrap(), None, None))
        );
        assert_eq!(
            of(
                "StatefulSet",
                "db",
                json!({"controller-revision-hash": "db-6f4d8b"})
            ),
            Some(("StatefulSet", s("db").unwrap(), None, s("db-6f4d8b")))
        );
        // Static Pods (owned by their Node) and Pods of custom resources have none.
        assert_eq!(of("Node", "kind-control-plane", json!({})), None);
        assert_eq!(of("TaskRun", "build-1", json!({})), None);
        let bare = meta(
            json!({"name": "p", "ownerReferences": [{"apiVersion": "apps/v1",
            "kind": "ReplicaSet", "name": "web-7f9c", "uid": "u"}]}),
        );
        assert_eq!(
            controller_of(&bare, &owners),
            None,
            "controller: true missing"
        );
    }

    #[test]
    fn views_group_pods_per_revision_and_index_every_pod_by_label() {
        let pod = |name: &str, rs: &str, labels: serde_json::Value| -> Arc<Item<Pod>> {
            item(
                json!({"metadata": {"name": name, "namespace": "shop", "labels": labels,
                "ownerReferences": owned_by("ReplicaSet", rs)},
                "spec": {"containers": [{"name": "app"}]}}),
            )
        };
        let pods: Items<Pod> = vec![
            pod(
                "web-a-1",
                "web-a",
                json!({"app": "web", "pod-template-hash": "a"}),
            ),
            pod(
                "web-b-1",
                "web-b",
                json!({"app": "web", "pod-template-hash": "b"}),
            ),
            pod(
                "web-a-2",
                "web-a",
                json!({"app": "web", "pod-template-hash": "a"}),
            ),
            item(
                json!({"metadata": {"name": "debug", "namespace": "shop"}, "spec": {"containers": []}}),
            ),
        ];
        let template = WorkloadTemplate {
            owner: ObjectRef::new("Deployment", Some("shop"), "idle"),
            metadata: meta(json!({"namespace": "shop", "labels": {"app": "idle"}})),
            spec: PodSpec::default(),
            replicas: Some(0),
        };
        let specs = PodSpecs::new(
            pods,
            WorkloadTemplates::from(vec![template]),
            Owners::default(),
        );
        let views: Vec<(String, usize, usize)> = specs
            .iter()
            .map(|v| (v.object_ref().display_name(), v.replicas, v.revisions))
            .collect();
        assert_eq!(
            views,
            [
                ("Deployment/shop/web".to_string(), 2, 2),
                ("Deployment/shop/web".to_string(), 1, 2),
                ("Pod/shop/debug".to_string(), 1, 1),
                ("Deployment/shop/idle".to_string(), 1, 1),
            ]
        );
        assert_eq!(specs.controller(1).unwrap().revision.as_deref(), Some("b"));

        let index = PodsByLabel::new(&specs);
        let selected = |selector: serde_json::Value| -> Vec<String> {
            let selector: BTreeMap<String, String> = serde_json::from_value(selector).unwrap();
            index
                .selected("shop", &selector)
                .iter()
                .map(|v| match v.pod {
                    Some(p) => p.name().to_string(),
                    None => v.object_ref().display_name(),
                })
                .collect()
        };
        assert_eq!(
            selected(json!({"app": "web"})),
            ["web-a-1", "web-b-1", "web-a-2"]
        );
        let app_web = BTreeMap::from([("app".to_string(), "web".to_string())]);
        let per_revision: Vec<(&str, usize)> = index
            .selected_per_revision("shop", &app_web)
            .iter()
            .map(|v| (v.pod.unwrap().name(), v.replicas))
            .collect();
        assert_eq!(per_revision, [("web-a-1", 2), ("web-b-1", 1)]);
        // A template needs no runtime label; a Pod does.
        assert_eq!(
            selected(json!({"pod-template-hash": "b"})),
            ["web-b-1", "Deployment/shop/idle"]
        );
        assert_eq!(
            selected(json!({"app": "idle", "pod-template-hash": "x"})),
            ["Deployment/shop/idle"]
        );
        assert!(
            index
                .selected("other", &BTreeMap::from([("app".into(), "web".into())]))
                .is_empty()
        );
        assert_eq!(index.in_namespace("shop").count(), 5);
        assert_eq!(index.holds(), (true, true));
    }
}
