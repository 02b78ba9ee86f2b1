//! The apiVersions an object was written with.
//!
//! A manifest or dump says which apiVersion it was written in. A live API server does not: it
//! returns every object in the version asked for, whatever version created or updated it. What
//! it keeps of the writers, and what pluto reads too, is the `apiVersion` of the
//! `kubectl.kubernetes.io/last-applied-configuration` annotation (`kubectl apply`) and of each
//! `metadata.managedFields` entry (the version each manager wrote with). `deprecated_api_in_use`
//! and `removed_api_in_use` judge those on live objects.
//!
//! Kept small on purpose: an object stores only the versions other than the one it was served
//! in (almost always none), not the managed fields themselves.

use serde_json::Value;
use std::sync::Arc;

use crate::secrets::LAST_APPLIED;

/// What is known of the apiVersions an object was written with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Written {
    /// A manifest or dump: the document's own apiVersion is the one written.
    #[default]
    Document,
    /// A live object with neither a last-applied annotation nor managed fields: the version
    /// it was written with cannot be told.
    Unknown,
    /// A live object: the versions its writers used other than the one it was served in
    /// (empty: every writer used the served version).
    Live(Box<[WrittenBy]>),
}

/// One apiVersion a live object was written with, and by whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenBy {
    pub api_version: Arc<str>,
    pub writer: Writer,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Writer {
    /// The last-applied annotation (`kubectl apply`, client side).
    LastApplied,
    /// A field manager (`metadata.managedFields[].manager`).
    Manager(Arc<str>),
}

impl WrittenBy {
    /// "written as extensions/v1beta1 by field manager helm (metadata.managedFields)".
    pub fn describe(&self) -> String {
        match &self.writer {
            Writer::LastApplied => format!(
                "written as {} (annotation {LAST_APPLIED})",
                self.api_version
            ),
            Writer::Manager(m) => format!(
                "written as {} by field manager {m} (metadata.managedFields)",
                self.api_version
            ),
        }
    }
}

/// The apiVersions a live object was written with, from the apiVersion of its last-applied
/// annotation (its JSON text) and the `(manager, apiVersion)` of its managed fields, leaving
/// out `served` (the version the object was listed in). Independent of how the object was
/// read (JSON tree, typed `ObjectMeta`...).
pub fn written_versions<'a>(
    served: &str,
    last_applied: Option<&str>,
    managers: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Written {
    let mut any_source = false;
    let mut found: Vec<WrittenBy> = Vec::new();
    let mut offer = |api_version: &str, writer: Writer| {
        if api_version.is_empty() || api_version == served {
            return;
        }
        let by = WrittenBy {
            api_version: Arc::from(api_version),
            writer,
        };
        if !found.contains(&by) {
            found.push(by);
        }
    };
    if let Some(text) = last_applied {
        #[derive(serde::Deserialize)]
        struct Head<'a> {
            #[serde(rename = "apiVersion", borrow, default)]
            api_version: Option<std::borrow::Cow<'a, str>>,
        }
        // An annotation that is not an applied manifest tells nothing.
        if let Ok(Head {
            api_version: Some(v),
        }) = serde_json::from_str::<Head>(text)
        {
            any_source = true;
            offer(&v, Writer::LastApplied);
        }
    }
    for (manager, api_version) in managers {
        if api_version.is_empty() {
            continue;
        }
        any_source = true;
        offer(api_version, Writer::Manager(Arc::from(manager)));
    }
    if any_source {
        Written::Live(found.into_boxed_slice())
    } else {
        Written::Unknown
    }
}

/// [`written_versions`] of an object held as a JSON tree (a live list item).
pub fn written_versions_of(served: &str, object: &Value) -> Written {
    let meta = object.get("metadata");
    let last_applied = meta
        .and_then(|m| m.get("annotations"))
        .and_then(|a| a.get(LAST_APPLIED))
        .and_then(Value::as_str);
    let managers = meta
        .and_then(|m| m.get("managedFields"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let api_version = entry.get("apiVersion")?.as_str()?;
            let manager = entry.get("manager").and_then(Value::as_str).unwrap_or("");
            Some((manager, api_version))
        });
    written_versions(served, last_applied, managers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_versions_other_than_the_served_one_with_their_writers() {
        let object = json!({"metadata": {
        "annotations": {LAST_APPLIED: "{\"apiVersion\":\"extensions/v1beta1\",\"kind\":\"Deployment\"}"},
        "managedFields": [
            {"manager": "kubectl-client-side-apply", "apiVersion": "extensions/v1beta1"},
            {"manager": "kube-controller-manager", "apiVersion": "apps/v1"},
            {"manager": "helm", "apiVersion": "apps/v1beta2"},
            {"manager": "helm", "apiVersion": "apps/v1beta2"},
        ]}});
        let Written::Live(found) = written_versions_of("apps/v1", &object) else {
            panic!()
        };
        let described: Vec<String> = found.iter().map(WrittenBy::describe).collect();
        assert_eq!(
            described,
            [
                "written as extensions/v1beta1 (annotation kubectl.kubernetes.io/last-applied-configuration)",
                "written as extensions/v1beta1 by field manager kubectl-client-side-apply (metadata.managedFields)",
                "written as apps/v1beta2 by field manager helm (metadata.managedFields)",
            ]
        );
    }

    #[test]
    fn written_in_the_served_version_or_not_known() {
        let served_only =
            json!({"metadata": {"managedFields": [{"manager": "m", "apiVersion": "v1"}]}});
        assert_eq!(
            written_versions_of("v1", &served_only),
            Written::Live(Box::new([]))
        );
        assert_eq!(
            written_versions_of("v1", &json!({"metadata": {"name": "x"}})),
            Written::Unknown
        );
        // An annotation that is not a manifest is no source.
        let odd = json!({"metadata": {"annotations": {LAST_APPLIED: "not json"}}});
        assert_eq!(written_versions_of("v1", &odd), Written::Unknown);
    }
}

#[cfg(test)]
mod model_tests {
    use super::*;
    use crate::model::ObjectSet;
    use serde_json::json;

    fn page() -> Value {
        // A live list page as the live collector hands it on (managed fields compacted).
        json!({"apiVersion": "apps/v1", "kind": "DeploymentList", "items": [
            {"metadata": {"name": "web", "namespace": "shop",
                          "managedFields": [{"manager": "helm", "apiVersion": "apps/v1beta2"}]}},
            {"metadata": {"name": "api", "namespace": "shop"}},
        ]})
    }

    #[test]
    fn live_objects_carry_their_writers_versions_files_their_own() {
        let mut live = ObjectSet::new();
        live.live = true;
        live.add_value(page(), None);
        live.finish();
        let written: Vec<&Written> = live.objects.iter().map(|o| &o.written).collect();
        assert_eq!(
            written,
            [
                &Written::Live(Box::new([WrittenBy {
                    api_version: Arc::from("apps/v1beta2"),
                    writer: Writer::Manager(Arc::from("helm")),
                }])),
                &Written::Unknown,
            ]
        );
        // Read into the summary, the managed fields are not kept in the typed object.
        assert!(live.deployments[0].object.metadata.managed_fields.is_none());

        let mut files = ObjectSet::new();
        files.add_value(page(), None);
        files.finish();
        assert!(files.objects.iter().all(|o| o.written == Written::Document));
    }
}
