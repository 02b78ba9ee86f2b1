//! Suppression by annotation: `detek.io/ignore: "<id>,<id>"` on an object, its pod template
//! or its namespace (`*` ignores every detector). Suppressed findings stay in the report,
//! marked with the reason, and are counted.

use crate::model::{OBJECTS, ObjectSummary};
use detek_core::{DetectorMeta, Finding, Store, Suppressor};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::OnceLock;

pub const IGNORE_ANNOTATION: &str = "detek.io/ignore";

/// Detector ids in the object's (or its pod template's) ignore annotation.
pub(crate) fn ignore_annotation(object: &Value) -> Vec<String> {
    let read = |meta: Option<&Value>| -> Vec<String> {
        meta.and_then(|m| m.get("annotations"))
            .and_then(|a| a.get(IGNORE_ANNOTATION))
            .and_then(Value::as_str)
            .map(|s| {
                s.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut ids = read(object.get("metadata"));
    let template = object
        .pointer("/spec/template/metadata")
        .or_else(|| object.pointer("/spec/jobTemplate/spec/template/metadata"));
    ids.extend(read(template));
    ids
}

type ObjectKey = (String, String, String);

/// Suppresses findings whose object or namespace carries the ignore annotation.
#[derive(Default)]
pub struct AnnotationSuppressor {
    index: OnceLock<HashMap<ObjectKey, Vec<String>>>,
}

impl AnnotationSuppressor {
    pub fn new() -> Self {
        Self::default()
    }

    fn index(&self, store: &Store) -> &HashMap<ObjectKey, Vec<String>> {
        self.index.get_or_init(|| {
            let objects: &[ObjectSummary] = store.get(&OBJECTS).map(Vec::as_slice).unwrap_or(&[]);
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
        })
    }
}

fn covers(ids: &[String], detector: &str) -> bool {
    ids.iter().any(|i| i == detector || i == "*")
}

impl Suppressor for AnnotationSuppressor {
    fn suppress(
        &self,
        store: &Store,
        detector: &DetectorMeta,
        finding: &Finding,
    ) -> Option<String> {
        let index = self.index(store);
        if index.is_empty() {
            return None;
        }
        let object = finding.object.as_ref()?;
        let ns = object.namespace.clone().unwrap_or_else(|| "default".into());
        let on_object = (object.kind.clone(), ns.clone(), object.name.clone());
        if index
            .get(&on_object)
            .is_some_and(|ids| covers(ids, detector.id))
        {
            return Some(format!(
                "annotation {IGNORE_ANNOTATION} on {} {}",
                object.kind, object.name
            ));
        }
        let on_namespace = ("Namespace".to_string(), String::new(), ns.clone());
        if index
            .get(&on_namespace)
            .is_some_and(|ids| covers(ids, detector.id))
        {
            return Some(format!("annotation {IGNORE_ANNOTATION} on namespace {ns}"));
        }
        None
    }
}
