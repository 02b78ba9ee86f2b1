//! References: Pods, workload templates and autoscalers that point at other objects by name
//! (ConfigMaps, Secrets, PersistentVolumeClaims, ServiceAccounts, scale targets).
//!
//! A reference can only be judged when the scan could have seen its target: a manifest set
//! without any ConfigMap cannot tell whether a ConfigMap exists. Each detector therefore judges
//! a kind only when the scan holds objects of that kind, and otherwise reports nothing and
//! attaches a note saying why.
//!
//! Helpers shared by the reference detectors live here rather than in their own file: `build.rs`
//! reads every other `.rs` file of this directory as a detector's documentation.

use crate::model::{ObjectSummary, POD_SPECS};
use crate::pods::{PodSpecView, PodSpecs};
use detek_core::{DetectContext, DetectError, Detector, Finding, Level, Outcome};
use k8s_openapi::api::core::v1::{KeyToPath, PodSpec};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

mod hpa_target_missing;
mod hpa_target_without_requests;
mod missing_configmap_reference;
mod missing_pvc_reference;
mod missing_secret_reference;
mod missing_service_account;

pub(super) fn all() -> Vec<Arc<dyn Detector>> {
    vec![
        Arc::new(missing_configmap_reference::MissingConfigmapReference),
        Arc::new(missing_secret_reference::MissingSecretReference),
        Arc::new(missing_pvc_reference::MissingPvcReference),
        Arc::new(missing_service_account::MissingServiceAccount),
        Arc::new(hpa_target_missing::HpaTargetMissing),
        Arc::new(hpa_target_without_requests::HpaTargetWithoutRequests),
    ]
}

/// What a Pod spec reference points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    ConfigMap,
    Secret,
    Claim,
}

/// One reference from a Pod spec to a ConfigMap, Secret or PVC.
#[derive(Debug, Clone)]
struct Reference<'a> {
    target: Target,
    name: &'a str,
    /// Key named by `configMapKeyRef`/`secretKeyRef` or a volume's `items`.
    key: Option<&'a str>,
    /// `optional: true`: a missing target is fine.
    optional: bool,
    /// Where it is written: `volume "config"`, `env DB_PASSWORD of container "app"`.
    via: String,
}

/// Every ConfigMap, Secret and PVC reference of a Pod spec: volumes (also projected), `envFrom`,
/// `env[].valueFrom` of init and regular containers, and `imagePullSecrets`.
fn pod_references(spec: &PodSpec) -> Vec<Reference<'_>> {
    fn add<'a>(
        out: &mut Vec<Reference<'a>>,
        target: Target,
        name: &'a str,
        key: Option<&'a str>,
        optional: Option<bool>,
        via: String,
    ) {
        if name.is_empty() {
            return;
        }
        out.push(Reference {
            target,
            name,
            key,
            optional: optional.unwrap_or(false),
            via,
        });
    }
    /// A reference to a whole ConfigMap or Secret, then one per key its `items` name.
    fn add_with_items<'a>(
        out: &mut Vec<Reference<'a>>,
        target: Target,
        name: &'a str,
        items: Option<&'a Vec<KeyToPath>>,
        optional: Option<bool>,
        via: &str,
    ) {
        add(out, target, name, None, optional, via.to_string());
        for item in items.into_iter().flatten() {
            let key = Some(item.key.as_str());
            add(out, target, name, key, optional, via.to_string());
        }
    }
    let mut out = Vec::new();
    for volume in spec.volumes.iter().flatten() {
        let via = format!("volume {:?}", volume.name);
        if let Some(cm) = &volume.config_map {
            let (name, items) = (cm.name.as_str(), cm.items.as_ref());
            add_with_items(&mut out, Target::ConfigMap, name, items, cm.optional, &via);
        }
        if let Some(secret) = &volume.secret {
            let name = secret.secret_name.as_deref().unwrap_or("");
            let items = secret.items.as_ref();
            add_with_items(&mut out, Target::Secret, name, items, secret.optional, &via);
        }
        if let Some(claim) = &volume.persistent_volume_claim {
            let name = claim.claim_name.as_str();
            add(&mut out, Target::Claim, name, None, None, via.clone());
        }
        let sources = volume.projected.as_ref().and_then(|p| p.sources.as_ref());
        for source in sources.into_iter().flatten() {
            let via = format!("projected volume {:?}", volume.name);
            if let Some(cm) = &source.config_map {
                let (name, items) = (cm.name.as_str(), cm.items.as_ref());
                add_with_items(&mut out, Target::ConfigMap, name, items, cm.optional, &via);
            }
            if let Some(secret) = &source.secret {
                let (name, items) = (secret.name.as_str(), secret.items.as_ref());
                add_with_items(&mut out, Target::Secret, name, items, secret.optional, &via);
            }
        }
    }
    let out_ref = &mut out;
    let mut push =
        |target, name, key, optional, via| add(out_ref, target, name, key, optional, via);
    let containers = spec
        .init_containers
        .iter()
        .flatten()
        .chain(spec.containers.iter());
    for c in containers {
        for from in c.env_from.iter().flatten() {
            let via = format!("envFrom of container {:?}", c.name);
            if let Some(cm) = &from.config_map_ref {
                push(
                    Target::ConfigMap,
                    cm.name.as_str(),
                    None,
                    cm.optional,
                    via.clone(),
                );
            }
            if let Some(secret) = &from.secret_ref {
                push(
                    Target::Secret,
                    secret.name.as_str(),
                    None,
                    secret.optional,
                    via,
                );
            }
        }
        for env in c.env.iter().flatten() {
            let Some(from) = &env.value_from else {
                continue;
            };
            let via = format!("env {} of container {:?}", env.name, c.name);
            if let Some(sel) = &from.config_map_key_ref {
                push(
                    Target::ConfigMap,
                    sel.name.as_str(),
                    Some(sel.key.as_str()),
                    sel.optional,
                    via.clone(),
                );
            }
            if let Some(sel) = &from.secret_key_ref {
                push(
                    Target::Secret,
                    sel.name.as_str(),
                    Some(sel.key.as_str()),
                    sel.optional,
                    via,
                );
            }
        }
    }
    for pull in spec.image_pull_secrets.iter().flatten() {
        push(
            Target::Secret,
            pull.name.as_str(),
            None,
            None,
            "imagePullSecrets".to_string(),
        );
    }
    out
}

/// Objects of one kind by name, for looking references up.
///
/// A reference from namespace `ns` finds an object named `name` in `ns`. Manifests often leave
/// the namespace out (it is given with `kubectl apply -n`): an object written without one is
/// found from any namespace, and a reference from a spec written without one finds an object of
/// that name in any namespace.
struct NameIndex<'a, T> {
    by_name: HashMap<&'a str, Vec<(Option<&'a str>, &'a T)>>,
}

impl<'a, T> NameIndex<'a, T> {
    fn new(entries: impl IntoIterator<Item = (Option<&'a str>, &'a str, &'a T)>) -> Self {
        let mut by_name: HashMap<&'a str, Vec<(Option<&'a str>, &'a T)>> = HashMap::new();
        for (namespace, name, value) in entries {
            by_name.entry(name).or_default().push((namespace, value));
        }
        NameIndex { by_name }
    }

    /// The object named `name` seen from namespace `namespace` (`None`: written without one).
    fn find(&self, namespace: Option<&str>, name: &str) -> Option<&'a T> {
        let candidates = self.by_name.get(name)?;
        let exact = candidates
            .iter()
            .find(|(ns, _)| namespace.is_some() && *ns == namespace)
            .or_else(|| {
                candidates
                    .iter()
                    .find(|(ns, _)| ns.is_none() || namespace.is_none())
            })
            .or_else(|| {
                // `default` written out and left out are the same namespace.
                let wanted = namespace.unwrap_or("default");
                candidates
                    .iter()
                    .find(|(ns, _)| ns.unwrap_or("default") == wanted)
            });
        exact.map(|(_, v)| *v)
    }
}

/// Every object of `kind` in the scan, from the object summaries: an object that could not be
/// read into its type (a duplicate field, say) still exists.
fn summaries_of<'a>(objects: &'a [ObjectSummary], kind: &str) -> NameIndex<'a, ObjectSummary> {
    NameIndex::new(
        objects
            .iter()
            .filter(|o| o.kind.as_ref() == kind)
            .map(|o| (o.namespace.as_deref(), o.name.as_str(), o)),
    )
}

/// Every Secret in the scan, and the Secrets controllers will write for objects of the scan
/// (cert-manager Certificates, ExternalSecrets, SealedSecrets).
fn secrets_in(objects: &[ObjectSummary]) -> NameIndex<'_, ObjectSummary> {
    NameIndex::new(objects.iter().filter_map(|o| {
        if o.kind.as_ref() == "Secret" {
            Some((o.namespace.as_deref(), o.name.as_str(), o))
        } else {
            o.makes_secret
                .as_deref()
                .map(|name| (o.namespace.as_deref(), name, o))
        }
    }))
}

/// The Pod specs whose references are checked: every workload template, and the Pods no
/// template in the scan stands for (the first of each controller revision; each replica of a
/// StatefulSet). A Pod created by a ReplicaSet, DaemonSet, StatefulSet, Job
/// or ReplicationController in the scan (directly, or through a Deployment or CronJob in the
/// scan: see [`crate::pods::controller_of`]) is left out: its controller's template is checked
/// once instead of every replica, and it is also checked when the controller cannot create
/// Pods at all (a missing ServiceAccount).
fn specs_to_check<'a>(ctx: &DetectContext<'a>) -> Result<Vec<PodSpecView<'a>>, DetectError> {
    Ok(specs_of(ctx.get(&POD_SPECS)?))
}

/// [`specs_to_check`] from the scan's pod-spec views.
fn specs_of(specs: &PodSpecs) -> Vec<PodSpecView<'_>> {
    let templates = specs.templates();
    let owners: HashSet<(&str, Option<&str>, &str)> = templates
        .iter()
        .map(|t| {
            (
                t.owner.kind.as_str(),
                t.owner.namespace.as_deref(),
                t.owner.name.as_str(),
            )
        })
        .collect();
    let covered = |view: &PodSpecView| -> bool {
        let (Some(pod), Some(c)) = (view.pod, view.controller) else {
            return false;
        };
        let ns = pod.namespace();
        owners.contains(&(c.kind, ns, c.name.as_str()))
            || c.via
                .as_ref()
                .is_some_and(|(kind, name)| owners.contains(&(*kind, ns, name.as_str())))
    };
    let mut out: Vec<PodSpecView> = templates.iter().map(PodSpecView::of_template).collect();
    // One Pod per controller revision (its replicas share the template), but every replica of
    // a StatefulSet: each has claims of its own.
    out.extend(
        (0..specs.pods().len())
            .filter(|&i| {
                specs.is_first_of_revision(i)
                    || specs.controller(i).is_some_and(|c| c.kind == "StatefulSet")
            })
            .filter_map(|i| specs.pod_view(i))
            .filter(|v| !covered(v)),
    );
    out
}

/// The namespace a Pod spec's references resolve in, as written (`None`: left out).
fn spec_namespace<'a>(view: &PodSpecView<'a>) -> Option<&'a str> {
    view.metadata.namespace.as_deref()
}

/// Where references to one kind can be judged. A live scan lists every object of the kind, so
/// everywhere. A dump may hold only some namespaces (`kubectl get -n NS`, a support bundle
/// limited to a few namespaces): there, only namespaces holding at least one object of the kind
/// are judged. An object written without a namespace (a manifest applied with `-n`) makes every
/// namespace judged, and so does a reference written without one.
struct Scope {
    all: bool,
    namespaces: HashSet<String>,
}

impl Scope {
    fn new<'a>(live: bool, namespaces: impl IntoIterator<Item = Option<&'a str>>) -> Scope {
        let mut scope = Scope {
            all: live,
            namespaces: HashSet::new(),
        };
        for ns in namespaces {
            match ns {
                Some(ns) => {
                    scope.namespaces.insert(ns.to_string());
                }
                None => scope.all = true,
            }
        }
        scope
    }

    /// Namespaces of the summaries of `kind`.
    fn of_kind(live: bool, objects: &[ObjectSummary], kind: &str) -> Scope {
        Scope::new(
            live,
            objects
                .iter()
                .filter(|o| o.kind.as_ref() == kind)
                .map(|o| o.namespace.as_deref()),
        )
    }

    fn is_empty(&self) -> bool {
        !self.all && self.namespaces.is_empty()
    }

    fn covers(&self, namespace: Option<&str>) -> bool {
        self.all || namespace.is_none_or(|ns| self.namespaces.contains(ns))
    }

    /// A note naming the namespaces left out, if any.
    fn note(out: &mut Outcome, kind_plural: &str, skipped: &BTreeSet<&str>) {
        if !skipped.is_empty() {
            out.attach(
                format!("not judged: namespaces without {kind_plural} in the scan"),
                serde_json::json!(skipped),
            );
        }
    }
}

/// The outcome of a reference detector that cannot judge: nothing reported, and a note why.
fn not_judged(kind_plural: &str) -> Outcome {
    let reason = format!(
        "the scan contains no {kind_plural}: whether the referenced {kind_plural} exist cannot be told"
    );
    let mut out = Outcome::new().evaluated(0).not_judged(reason.clone());
    out.attach("not judged", serde_json::Value::String(reason));
    out
}

/// What looking a referenced object up found: `None` when it is missing, `Some(None)` when it
/// exists but its keys are unknown, `Some(Some(keys))` otherwise.
type Lookup<'a> = Option<Option<Vec<&'a str>>>;

/// Check ConfigMap or Secret references of every Pod spec against `exists`/`keys_of`, one
/// finding per spec and missing object (listing where it is referenced), and one per missing
/// key of an existing object.
///
/// `keys_of` returns the object's key names, or `None` when they are unknown (the object is
/// missing, or a Secret collected as metadata only).
#[allow(clippy::too_many_arguments)]
fn check_references<'a>(
    specs: &[PodSpecView<'a>],
    scope: &Scope,
    target: Target,
    kind: &str,
    kind_plural: &str,
    level: Level,
    find: &dyn Fn(Option<&str>, &str) -> Lookup<'a>,
    skip: &dyn Fn(&PodSpecView<'a>, &str) -> bool,
) -> Outcome {
    let mut out = Outcome::new();
    let mut evaluated = 0;
    let mut skipped: BTreeSet<&str> = BTreeSet::new();
    for view in specs {
        let namespace = spec_namespace(view);
        if !scope.covers(namespace) {
            skipped.insert(namespace.unwrap_or("default"));
            continue;
        }
        evaluated += 1;
        // name -> (vias, missing keys -> vias)
        let mut missing: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        let mut missing_keys: BTreeMap<(&str, &str), Vec<String>> = BTreeMap::new();
        for r in pod_references(view.spec()) {
            if r.target != target || r.optional || skip(view, r.name) {
                continue;
            }
            match find(namespace, r.name) {
                None => {
                    let vias = missing.entry(r.name).or_default();
                    if !vias.contains(&r.via) {
                        vias.push(r.via);
                    }
                }
                Some(Some(keys)) => {
                    if let Some(key) = r.key
                        && !keys.contains(&key)
                    {
                        let vias = missing_keys.entry((r.name, key)).or_default();
                        if !vias.contains(&r.via) {
                            vias.push(r.via);
                        }
                    }
                }
                Some(None) => {}
            }
        }
        let ns_text = namespace
            .map(|n| format!(" in namespace {n}"))
            .unwrap_or_default();
        for (name, vias) in missing {
            out.push(Finding::new(
                level,
                Some(view.object_ref()),
                format!(
                    "{kind} {name:?} not found{ns_text} (referenced by {})",
                    vias.join(", ")
                ),
            ));
        }
        for ((name, key), vias) in missing_keys {
            out.push(Finding::new(
                level,
                Some(view.object_ref()),
                format!(
                    "{kind} {name:?} has no key {key:?} (referenced by {})",
                    vias.join(", ")
                ),
            ));
        }
    }
    out.evaluated = Some(evaluated);
    Scope::note(&mut out, kind_plural, &skipped);
    out
}
