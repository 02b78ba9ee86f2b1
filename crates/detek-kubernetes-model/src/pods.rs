//! Pod-level views shared by detectors: real Pods, or the pod templates of workloads when a
//! snapshot has no Pods (manifests in a repository get the same checks as a live cluster).

use crate::model::{Item, Items, Named, ObjectSet};
use detek_core::ObjectRef;
use k8s_openapi::api::core::v1::{Container, Pod, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
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

/// The pod templates of the scan's workloads, with the pod-spec views of the scan computed once
/// (see [`pod_specs`]). Derefs to the templates.
#[derive(Debug, Clone, Default)]
pub struct WorkloadTemplates {
    pub templates: Vec<WorkloadTemplate>,
    /// Views as indices, valid for the Pod list identified by `pods_key`.
    views: Vec<ViewRef>,
    pods_key: Option<(usize, usize)>,
}

#[derive(Debug, Clone, Copy)]
enum ViewRef {
    Pod { index: usize, replicas: usize },
    Template(usize),
}

/// Identifies a Pod list: its length and the address of its first item.
fn pods_key(pods: &Items<Pod>) -> (usize, usize) {
    (
        pods.len(),
        pods.first().map_or(0, |p| Arc::as_ptr(p) as usize),
    )
}

impl WorkloadTemplates {
    /// Templates, with the views of `pods` (the Pod list stored beside them) precomputed.
    pub fn new(templates: Vec<WorkloadTemplate>, pods: &Items<Pod>) -> Self {
        let views = view_refs(pods, &templates);
        WorkloadTemplates {
            templates,
            views,
            pods_key: Some(pods_key(pods)),
        }
    }
}

impl From<Vec<WorkloadTemplate>> for WorkloadTemplates {
    fn from(templates: Vec<WorkloadTemplate>) -> Self {
        WorkloadTemplates {
            templates,
            views: Vec::new(),
            pods_key: None,
        }
    }
}

impl std::ops::Deref for WorkloadTemplates {
    type Target = [WorkloadTemplate];
    fn deref(&self) -> &[WorkloadTemplate] {
        &self.templates
    }
}

impl<'a> IntoIterator for &'a WorkloadTemplates {
    type Item = &'a WorkloadTemplate;
    type IntoIter = std::slice::Iter<'a, WorkloadTemplate>;
    fn into_iter(self) -> Self::IntoIter {
        self.templates.iter()
    }
}

/// One pod spec to check: a Pod (standing for every replica of its controller), or a
/// workload's template.
#[derive(Debug, Clone, Copy)]
pub struct PodSpecView<'a> {
    pub metadata: &'a ObjectMeta,
    pub spec: &'a PodSpec,
    /// The real Pod, when this is one (status available). For replicated Pods, the first
    /// replica of its controller.
    pub pod: Option<&'a Item<Pod>>,
    /// The controller, when this is a template.
    pub template: Option<&'a WorkloadTemplate>,
    /// How many Pods this view stands for (replicas of one controller share their spec).
    pub replicas: usize,
}

impl<'a> PodSpecView<'a> {
    /// The object findings name: the controller of replicated Pods (a Deployment, derived from
    /// its ReplicaSet's name and the `pod-template-hash` label; a StatefulSet, DaemonSet,
    /// Job...), a bare Pod, or the workload owning the template.
    pub fn object_ref(&self) -> ObjectRef {
        match (self.pod, self.template) {
            (Some(pod), _) => match controller_of(pod) {
                Some((kind, name)) => ObjectRef {
                    kind: kind.to_string(),
                    api_version: None,
                    namespace: pod.namespace().map(str::to_string),
                    name,
                    container: None,
                    source: pod.origin.source.clone(),
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

    pub fn namespace(&self) -> &'a str {
        self.metadata.namespace.as_deref().unwrap_or("default")
    }

    /// Regular containers (not init or ephemeral).
    pub fn containers(&self) -> &'a [Container] {
        &self.spec.containers
    }

    /// Init containers then regular containers.
    pub fn all_containers(&self) -> impl Iterator<Item = &'a Container> {
        self.spec
            .init_containers
            .iter()
            .flatten()
            .chain(self.spec.containers.iter())
    }
}

/// The pod specs to check: every Pod, plus the template of every workload that has no Pod in
/// the scan. A manifest repository (no Pods) gets all templates; a live cluster gets its Pods
/// and the templates of workloads scaled to zero or not yet rolled out. A template "has Pods"
/// when some Pod in its namespace carries all of the template's labels (Pods are stamped from
/// their template's labels).
pub fn pod_specs<'a>(
    pods: &'a Items<Pod>,
    templates: &'a WorkloadTemplates,
) -> Vec<PodSpecView<'a>> {
    let computed;
    let refs: &[ViewRef] = if templates.pods_key == Some(pods_key(pods)) {
        &templates.views
    } else {
        computed = view_refs(pods, &templates.templates);
        &computed
    };
    refs.iter()
        .filter_map(|r| match *r {
            ViewRef::Pod { index, replicas } => {
                let pod = pods[index].as_ref();
                Some(PodSpecView {
                    metadata: &pod.metadata,
                    spec: pod.spec.as_ref()?,
                    pod: Some(pod),
                    template: None,
                    replicas,
                })
            }
            ViewRef::Template(i) => {
                let t = &templates.templates[i];
                Some(PodSpecView {
                    metadata: &t.metadata,
                    spec: &t.spec,
                    pod: None,
                    template: Some(t),
                    replicas: 1,
                })
            }
        })
        .collect()
}

fn view_refs(pods: &Items<Pod>, templates: &[WorkloadTemplate]) -> Vec<ViewRef> {
    // Replicas of one controller share its template: one view per controller (its first Pod),
    // so a spec problem is reported once, on the object to fix, not once per replica.
    let mut views: Vec<ViewRef> = Vec::new();
    let mut by_controller: std::collections::HashMap<(&str, &'static str, String), usize> =
        std::collections::HashMap::new();
    for (index, pod) in pods.iter().enumerate() {
        if pod.spec.is_none() {
            continue;
        }
        if let Some((kind, name)) = controller_of(pod) {
            let key = (pod.namespace().unwrap_or("default"), kind, name);
            if let Some(&i) = by_controller.get(&key) {
                if let ViewRef::Pod { replicas, .. } = &mut views[i] {
                    *replicas += 1;
                }
                continue;
            }
            by_controller.insert(key, views.len());
        }
        views.push(ViewRef::Pod { index, replicas: 1 });
    }
    // Pods by (namespace, label key, label value), to find a template's Pods quickly.
    let mut by_label: std::collections::HashMap<(&str, &str, &str), Vec<usize>> =
        std::collections::HashMap::new();
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
            views.push(ViewRef::Template(i));
        }
    }
    views
}

/// The controller a Pod's spec comes from, as `(kind, name)`: a ReplicaSet's Pods belong to
/// its Deployment when the `pod-template-hash` label shows the ReplicaSet was made by one.
/// Static Pods (owned by their Node) and bare Pods have none.
pub fn controller_of(pod: &Item<Pod>) -> Option<(&'static str, String)> {
    let owner = pod
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))?;
    let kind: &'static str = match owner.kind.as_str() {
        "ReplicaSet" => {
            let hash = pod
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("pod-template-hash"));
            if let Some(deployment) = hash.and_then(|h| {
                owner
                    .name
                    .strip_suffix(h.as_str())
                    .and_then(|n| n.strip_suffix('-'))
            }) {
                return Some(("Deployment", deployment.to_string()));
            }
            "ReplicaSet"
        }
        "StatefulSet" => "StatefulSet",
        "DaemonSet" => "DaemonSet",
        "Job" => "Job",
        "ReplicationController" => "ReplicationController",
        _ => return None,
    };
    Some((kind, owner.name.clone()))
}

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
