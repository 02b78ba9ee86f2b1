//! Custom resources and other kinds detek has no typed model for (cert-manager Certificates,
//! Argo CD Applications, CRDs, StorageClasses...), kept as raw JSON by apiVersion and kind
//! (`kubernetes/custom-resources`), so detectors and policies can read any field of them.
//!
//! What is kept is bounded ([`RawCap`]: objects beyond it are counted, not kept, and a
//! diagnostic says so), and never holds Secret data: no object of kind `Secret` (in any group)
//! and no list is kept; `data`/`stringData` of any Secret embedded in a kept object (an
//! OpenShift `Template`, say) and kustomize `secretGenerator` literals are dropped, and so are
//! `managedFields` and the last-applied annotation (a copy of the object).

use crate::model::{Item, Origin, is_list_kind};
use detek_core::ObjectRef;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// One object of a kind detek has no type for. `apiVersion` is in the item's [`Origin`].
#[derive(Debug, Clone)]
pub struct RawObject {
    pub kind: Arc<str>,
    /// Its metadata, read (labels, annotations, owner references...).
    pub metadata: ObjectMeta,
    /// The whole object as written, less `managedFields`, the last-applied annotation and the
    /// data of any embedded Secret.
    pub value: Value,
}

impl RawObject {
    pub fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or("")
    }

    pub fn namespace(&self) -> Option<&str> {
        self.metadata.namespace.as_deref()
    }
}

/// A custom resource with its origin.
pub type CustomResource = Item<RawObject>;

impl Item<RawObject> {
    /// A reference to this object for findings, with its file and line when known.
    pub fn object_ref(&self) -> ObjectRef {
        ObjectRef {
            kind: self.object.kind.to_string(),
            api_version: Some(self.origin.api_version.to_string()),
            namespace: self.object.namespace().map(str::to_string),
            name: self.object.name().to_string(),
            container: None,
            source: self.origin.source.clone(),
            sources: self.origin.sources(),
        }
    }
}

/// How much raw JSON a scan keeps: the first objects in input order, up to both limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawCap {
    pub objects: usize,
    /// Bytes of JSON text (as written, or as a parsed YAML document would be written).
    pub bytes: usize,
}

impl Default for RawCap {
    fn default() -> Self {
        RawCap {
            objects: 50_000,
            bytes: 64 << 20,
        }
    }
}

/// Every object of the scan of a kind detek has no type for, by apiVersion and kind, in input
/// order (`kubernetes/custom-resources`). Snapshot inputs only: a live scan lists only the
/// kinds detek reads.
#[derive(Debug, Clone, Default)]
pub struct CustomResources {
    /// apiVersion → kind → objects.
    kinds: BTreeMap<String, BTreeMap<String, Vec<Arc<CustomResource>>>>,
    kept: usize,
    /// Objects of unknown kinds seen but not kept because the cap was reached.
    pub dropped: u64,
    /// Their JSON size.
    pub dropped_bytes: u64,
}

impl CustomResources {
    /// The objects of `kind` written with `api_version` (`cert-manager.io/v1`).
    pub fn get(&self, api_version: &str, kind: &str) -> &[Arc<CustomResource>] {
        self.kinds
            .get(api_version)
            .and_then(|k| k.get(kind))
            .map_or(&[], Vec::as_slice)
    }

    /// The objects of `kind` in API `group` (`cert-manager.io`; `""` for core), every version.
    pub fn of_kind<'a>(
        &'a self,
        group: &'a str,
        kind: &'a str,
    ) -> impl Iterator<Item = &'a Arc<CustomResource>> + 'a {
        self.kinds
            .iter()
            .filter(move |(api_version, _)| group_of(api_version) == group)
            .filter_map(move |(_, kinds)| kinds.get(kind))
            .flatten()
    }

    /// `(apiVersion, kind, objects)` for every kind held, sorted.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, &[Arc<CustomResource>])> {
        self.kinds.iter().flat_map(|(v, kinds)| {
            kinds
                .iter()
                .map(move |(k, items)| (v.as_str(), k.as_str(), items.as_slice()))
        })
    }

    /// Objects held.
    pub fn len(&self) -> usize {
        self.kept
    }

    pub fn is_empty(&self) -> bool {
        self.kept == 0
    }

    fn insert(&mut self, item: CustomResource) {
        let api_version = item.origin.api_version.to_string();
        let kind = item.object.kind.to_string();
        self.kinds
            .entry(api_version)
            .or_default()
            .entry(kind)
            .or_default()
            .push(Arc::new(item));
        self.kept += 1;
    }
}

fn group_of(api_version: &str) -> &str {
    api_version.split_once('/').map_or("", |(g, _)| g)
}

/// An object of an unknown kind, not parsed yet: whether it is kept is decided in input order
/// (see [`Gatherer`]), and only kept ones are parsed.
pub(crate) struct RawPending {
    pub kind: Arc<str>,
    pub origin: Origin,
    pub body: RawBody,
    /// JSON size, for the cap.
    pub size: usize,
}

pub(crate) enum RawBody {
    /// `text[start..end]` (may lack apiVersion/kind: items of a typed `*List`).
    Text {
        text: Arc<str>,
        start: usize,
        end: usize,
    },
    Tree(Value),
}

impl RawPending {
    /// The body as a JSON tree without `apiVersion` and `kind` (items of a `*List` may omit
    /// them), to compare two definitions of one object.
    pub(crate) fn body_value(&self) -> Option<Value> {
        let mut value = match &self.body {
            RawBody::Tree(value) => value.clone(),
            RawBody::Text { text, start, end } => serde_json::from_str(&text[*start..*end]).ok()?,
        };
        if let Some(map) = value.as_object_mut() {
            map.remove("apiVersion");
            map.remove("kind");
        }
        Some(value)
    }

    pub fn tree(kind: Arc<str>, value: Value, origin: Origin) -> RawPending {
        RawPending {
            kind,
            size: json_size(&value),
            origin,
            body: RawBody::Tree(value),
        }
    }

    /// Parse, fill apiVersion/kind, and drop what is never kept.
    fn into_item(self) -> Option<CustomResource> {
        let mut value = match self.body {
            RawBody::Tree(value) => value,
            RawBody::Text { text, start, end } => serde_json::from_str(&text[start..end]).ok()?,
        };
        let map = value.as_object_mut()?;
        map.entry("apiVersion")
            .or_insert_with(|| Value::String(self.origin.api_version.to_string()));
        map.entry("kind")
            .or_insert_with(|| Value::String(self.kind.to_string()));
        scrub(&mut value);
        let metadata = value
            .get("metadata")
            .and_then(|m| ObjectMeta::deserialize(m).ok())
            .unwrap_or_default();
        Some(Item {
            object: RawObject {
                kind: self.kind,
                metadata,
                value,
            },
            origin: self.origin,
        })
    }
}

/// Gathers the raw objects of one scan under a cap.
pub(crate) struct Gatherer {
    pub cap: RawCap,
    /// False: nothing is kept (no detector reads custom resources).
    pub enabled: bool,
    pending: Vec<RawPending>,
    bytes: usize,
    kept: usize,
    pub resources: CustomResources,
}

impl Default for Gatherer {
    fn default() -> Self {
        Gatherer {
            cap: RawCap::default(),
            enabled: true,
            pending: Vec::new(),
            bytes: 0,
            kept: 0,
            resources: CustomResources::default(),
        }
    }
}

impl Gatherer {
    /// Offer one object, in input order.
    pub fn offer(&mut self, raw: RawPending) {
        if !self.enabled || !keepable(&raw.kind) {
            return;
        }
        if self.kept >= self.cap.objects || self.bytes + raw.size > self.cap.bytes {
            self.resources.dropped += 1;
            self.resources.dropped_bytes += raw.size as u64;
            return;
        }
        self.kept += 1;
        self.bytes += raw.size;
        self.pending.push(raw);
    }

    /// Parse the objects offered since the last call (in parallel) and add them.
    pub fn finish(&mut self) {
        use rayon::prelude::*;
        let pending = std::mem::take(&mut self.pending);
        let items: Vec<CustomResource> = pending
            .into_par_iter()
            .filter_map(RawPending::into_item)
            .collect();
        for item in items {
            self.resources.insert(item);
        }
    }

    /// The diagnostic to give when the cap left objects out.
    pub fn cap_message(&self) -> Option<String> {
        let r = &self.resources;
        (r.dropped > 0).then(|| {
            format!(
                "kubernetes/custom-resources: {} object(s) of kinds detek has no type for ({:.1} MiB of JSON) were counted but not kept: the cap is {} objects or {:.0} MiB; detectors reading custom resources see the first {}",
                r.dropped,
                r.dropped_bytes as f64 / (1 << 20) as f64,
                self.cap.objects,
                self.cap.bytes as f64 / (1 << 20) as f64,
                r.kept,
            )
        })
    }
}

/// Kinds never kept raw: Secrets of any group, and lists (of Secrets, or of anything).
fn keepable(kind: &str) -> bool {
    kind != "Secret" && !is_list_kind(kind)
}

/// Drop what a raw object never keeps (see the module documentation).
pub(crate) fn scrub(value: &mut Value) {
    if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
        if let Some(annotations) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            annotations.remove(LAST_APPLIED);
        }
    }
    scrub_embedded_secrets(value);
}

fn scrub_embedded_secrets(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let kind = map.get("kind").and_then(Value::as_str).unwrap_or("");
            let strip = |m: &mut serde_json::Map<String, Value>| {
                m.remove("data");
                m.remove("stringData");
                if let Some(a) = m
                    .get_mut("metadata")
                    .and_then(|m| m.get_mut("annotations"))
                    .and_then(Value::as_object_mut)
                {
                    a.remove(LAST_APPLIED);
                }
            };
            if kind == "Secret" {
                strip(map);
            } else if kind.ends_with("SecretList")
                && let Some(Value::Array(items)) = map.get_mut("items")
            {
                for item in items.iter_mut().filter_map(Value::as_object_mut) {
                    strip(item);
                }
            }
            // kustomize's `secretGenerator` literals are Secret values written inline.
            if let Some(Value::Array(generators)) = map.get_mut("secretGenerator") {
                for g in generators.iter_mut().filter_map(Value::as_object_mut) {
                    g.remove("literals");
                }
            }
            for v in map.values_mut() {
                scrub_embedded_secrets(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(scrub_embedded_secrets),
        _ => {}
    }
}

/// About the length of `value` written as JSON.
fn json_size(value: &Value) -> usize {
    match value {
        Value::Null => 4,
        Value::Bool(_) => 5,
        Value::Number(_) => 8,
        Value::String(s) => s.len() + 2,
        Value::Array(items) => 2 + items.iter().map(|v| json_size(v) + 1).sum::<usize>(),
        Value::Object(map) => {
            2 + map
                .iter()
                .map(|(k, v)| k.len() + 4 + json_size(v))
                .sum::<usize>()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scrub_drops_managed_fields_and_embedded_secret_data() {
        let mut v = json!({
            "apiVersion": "template.openshift.io/v1", "kind": "Template",
            "metadata": {"name": "t", "managedFields": [{"manager": "kubectl"}],
                         "annotations": {LAST_APPLIED: "{...}", "keep": "me"}},
            "objects": [
                {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                 "data": {"password": "aHVudGVyMg=="}, "stringData": {"token": "t0k3n"}},
                {"apiVersion": "v1", "kind": "SecretList",
                 "items": [{"metadata": {"name": "x"}, "data": {"k": "dg=="}}]},
                {"kind": "Kustomization", "secretGenerator": [{"name": "g", "literals": ["pw=hunter2"]}]}
            ]
        });
        scrub(&mut v);
        let text = v.to_string();
        for gone in [
            "managedFields",
            LAST_APPLIED,
            "aHVudGVyMg",
            "t0k3n",
            "dg==",
            "hunter2",
        ] {
            assert!(!text.contains(gone), "{gone} kept: {text}");
        }
        assert!(text.contains("\"keep\":\"me\""));
        assert_eq!(v["objects"][0]["metadata"]["name"], "s");
    }

    #[test]
    fn secrets_and_lists_are_never_offered_and_the_cap_holds() {
        let origin = Origin::new(Arc::from("example.com/v1"), None);
        let mut g = Gatherer {
            cap: RawCap {
                objects: 2,
                bytes: 1 << 20,
            },
            ..Default::default()
        };
        for kind in ["Secret", "SecretList", "List", "Widget", "Widget", "Widget"] {
            let value =
                json!({"apiVersion": "example.com/v1", "kind": kind, "metadata": {"name": "w"}});
            g.offer(RawPending::tree(Arc::from(kind), value, origin.clone()));
        }
        g.finish();
        assert_eq!(g.resources.len(), 2);
        assert_eq!(g.resources.get("example.com/v1", "Widget").len(), 2);
        assert!(g.resources.get("example.com/v1", "Secret").is_empty());
        assert_eq!(g.resources.dropped, 1);
        assert!(g.cap_message().unwrap().contains("1 object(s)"));
        assert_eq!(g.resources.of_kind("example.com", "Widget").count(), 2);
    }

    #[test]
    fn json_list_items_keep_their_type_and_nested_secret_lists_are_not_kept() {
        use crate::model::ObjectSet;
        let text: Arc<str> = Arc::from(
            r#"{"apiVersion":"example.com/v1","kind":"WidgetList","items":[
                {"metadata":{"name":"a","namespace":"x","managedFields":[{}]},"spec":{"size":1}},
                {"metadata":{"name":"b"}},
                {"metadata":{"name":"c"}}]}"#,
        );
        let mut set = ObjectSet::new();
        set.keep_custom_resources(Some(RawCap {
            objects: 2,
            bytes: 1 << 20,
        }));
        set.add_json(&text, 0, text.len(), None);
        let nested: Arc<str> = Arc::from(
            r#"[{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"SecretList",
                "items":[{"metadata":{"name":"s"},"data":{"k":"c2VjcmV0"}}]}]}]"#,
        );
        set.add_json(&nested, 0, nested.len(), None);
        set.add_value(
            json!({"apiVersion": "other.io/v1", "kind": "Secret", "metadata": {"name": "s"},
                   "data": {"k": "c2VjcmV0"}}),
            None,
        );
        set.finish();
        let r = set.custom_resources();
        let widgets = r.get("example.com/v1", "Widget");
        let names: Vec<&str> = widgets.iter().map(|w| w.object.name()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(widgets[0].object.value["kind"], "Widget");
        assert_eq!(widgets[0].object.value["apiVersion"], "example.com/v1");
        assert_eq!(widgets[0].object.value["spec"]["size"], 1);
        assert!(widgets[0].object.metadata.managed_fields.is_none());
        assert_eq!(r.len(), 2, "{r:?}");
        assert_eq!(r.dropped, 1);
        assert!(!format!("{r:?}").contains("c2VjcmV0"));
    }
}
