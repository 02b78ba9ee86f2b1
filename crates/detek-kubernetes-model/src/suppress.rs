//! Suppression by annotation: `detek.io/ignore: "<id>,<id>"` on an object, its pod template
//! or its namespace (`*` ignores every detector). Suppressed findings stay in the report,
//! marked with the reason, and are counted.

use crate::model::IGNORE_ANNOTATIONS;
use detek_core::{DetectorMeta, Finding, Store, Suppressor};
use serde_json::Value;

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

/// Suppresses findings whose object or namespace carries the ignore annotation.
#[derive(Default)]
pub struct AnnotationSuppressor;

impl AnnotationSuppressor {
    pub fn new() -> Self {
        AnnotationSuppressor
    }
}

fn covers(ids: &[String], detector: &str) -> bool {
    ids.iter().any(|i| i == detector || i == "*")
}

impl Suppressor for AnnotationSuppressor {
    /// The annotations are read from the object summaries: collected whatever detectors run.
    fn requires(&self) -> Vec<detek_core::KeyId> {
        vec![IGNORE_ANNOTATIONS.id()]
    }

    fn suppress(
        &self,
        store: &Store,
        detector: &DetectorMeta,
        finding: &Finding,
    ) -> Option<String> {
        let Ok(index) = store.get(&IGNORE_ANNOTATIONS) else {
            return None;
        };
        if index.is_empty() {
            return None;
        }
        let object = finding.object.as_ref()?;
        let ns = object.namespace.clone().unwrap_or_else(|| "default".into());
        let on_object = (object.kind.clone(), ns.clone(), object.name.clone());
        if index
            .get(&on_object)
            .is_some_and(|ids| covers(ids, &detector.id))
        {
            return Some(format!(
                "annotation {IGNORE_ANNOTATION} on {} {}",
                object.kind, object.name
            ));
        }
        let on_namespace = ("Namespace".to_string(), String::new(), ns.clone());
        if index
            .get(&on_namespace)
            .is_some_and(|ids| covers(ids, &detector.id))
        {
            return Some(format!("annotation {IGNORE_ANNOTATION} on namespace {ns}"));
        }
        None
    }
}
