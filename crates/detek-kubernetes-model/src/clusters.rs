//! Several clusters' dumps in one scan: which cluster each input file belongs to, so each
//! cluster is its own target (its own report section, no finding across two clusters).
//!
//! The rule (docs/cli.md, "Several clusters in one input"):
//! - A file that holds the `kube-system` Namespace with a UID (what `kubectl get -A -o json`
//!   of namespaces gives) belongs to that cluster, as a live scan identifies it.
//! - When the inputs hold one such cluster or none, they are one target, as they always were.
//! - When they hold several, a file without a `kube-system` Namespace belongs to the cluster
//!   whose dumps share its nearest directory (searched up to the `--input` directory), when
//!   they are all one cluster's; otherwise (plain manifests beside several dumps, stdin) it is
//!   in the default target with the other files of no cluster.

use crate::ingest::{FileContents, ReadFile, ReadInputs};
use detek_core::{Diagnostic, Level};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::path::Path;

/// The files of one cluster (or of none: the default target).
pub struct ClusterInputs {
    /// The `kube-system` Namespace UID of the cluster; `None` for the default target, and for
    /// inputs that are one target anyway (one file; the collector identifies it).
    pub cluster_uid: Option<String>,
    pub inputs: ReadInputs,
}

impl ClusterInputs {
    /// The names of its files, in path order.
    pub fn file_names(&self) -> Vec<&str> {
        self.inputs.files.iter().map(|f| f.name.as_str()).collect()
    }
}

/// Group the files read by cluster (see the module's rule). Always at least one group; the
/// default target (files of no cluster) comes last, and holds the diagnostics about the
/// inputs themselves (or the first cluster does, when there is no default target).
pub fn split_by_cluster(read: ReadInputs) -> Vec<ClusterInputs> {
    let ReadInputs { files, diagnostics } = read;
    if files.len() < 2 {
        // One file is one target, whatever it holds: not worth a pass over a large dump.
        return vec![ClusterInputs {
            cluster_uid: None,
            inputs: ReadInputs { files, diagnostics },
        }];
    }
    let uids: Vec<Vec<String>> = {
        use rayon::prelude::*;
        files
            .par_iter()
            .map(|f| cluster_uids(&f.contents))
            .collect()
    };
    let mut clusters: Vec<String> = Vec::new();
    for uid in uids.iter().flatten() {
        if !clusters.contains(uid) {
            clusters.push(uid.clone());
        }
    }
    if clusters.len() <= 1 {
        return vec![ClusterInputs {
            cluster_uid: clusters.pop(),
            inputs: ReadInputs { files, diagnostics },
        }];
    }
    let cluster_of = |uid: &String| clusters.iter().position(|c| c == uid);
    // Files that tell their cluster, for the directory rule.
    let identified: Vec<(&Path, usize)> = files
        .iter()
        .zip(&uids)
        .filter_map(|(f, u)| Some((Path::new(&f.name), cluster_of(u.first()?)?)))
        .collect();
    let assigned: Vec<Option<usize>> = files
        .iter()
        .zip(&uids)
        .map(|(file, uids)| match uids.first() {
            Some(uid) => cluster_of(uid),
            None => nearest_cluster(file, &identified),
        })
        .collect();
    let mut groups: Vec<ClusterInputs> = clusters
        .iter()
        .map(|uid| ClusterInputs {
            cluster_uid: Some(uid.clone()),
            inputs: ReadInputs::default(),
        })
        .collect();
    let mut default = ReadInputs::default();
    for ((mut file, uids), cluster) in files.into_iter().zip(uids).zip(assigned) {
        if uids.len() > 1 {
            file.contents.diagnostics.push(Diagnostic::new(
                Level::Warn,
                None,
                format!(
                    "{} holds the kube-system Namespace of {} clusters (UIDs {}): it is scanned as part of the first",
                    file.name,
                    uids.len(),
                    uids.join(", ")
                ),
            ));
        }
        match cluster {
            Some(i) => groups[i].inputs.files.push(file),
            None => default.files.push(file),
        }
    }
    if default.files.is_empty() {
        groups[0].inputs.diagnostics = diagnostics;
    } else {
        default.diagnostics = diagnostics;
        groups.push(ClusterInputs {
            cluster_uid: None,
            inputs: default,
        });
    }
    groups
}

/// The cluster of a file that does not tell its own: the one whose dumps share its nearest
/// directory, searched up to its `--input` directory, when they are all one cluster's.
fn nearest_cluster(file: &ReadFile, identified: &[(&Path, usize)]) -> Option<usize> {
    let root = file.root.as_deref()?;
    let mut dir = Path::new(&file.name).parent();
    while let Some(d) = dir {
        let near: BTreeSet<usize> = identified
            .iter()
            .filter(|(path, _)| path.starts_with(d))
            .map(|(_, cluster)| *cluster)
            .collect();
        if !near.is_empty() {
            return (near.len() == 1).then(|| *near.first().expect("one"));
        }
        if d == root || !d.starts_with(root) {
            return None;
        }
        dir = d.parent();
    }
    None
}

/// The UIDs of the `kube-system` Namespaces a file holds, each once, in order.
pub fn cluster_uids(contents: &FileContents) -> Vec<String> {
    contents.cluster_uids.clone()
}

fn push_uid(uids: &mut Vec<String>, uid: &str) {
    if !uid.is_empty() && !uids.iter().any(|u| u == uid) {
        uids.push(uid.to_string());
    }
}

pub(crate) fn uids_in_value(value: &Value, uids: &mut Vec<String>) {
    if let Some(items) = value.get("items").and_then(Value::as_array) {
        for item in items {
            uids_in_value(item, uids);
        }
    } else if let Some(items) = value.as_array() {
        for item in items {
            uids_in_value(item, uids);
        }
    } else if value.get("kind").and_then(Value::as_str) == Some("Namespace")
        && value.pointer("/metadata/name").and_then(Value::as_str) == Some("kube-system")
        && let Some(uid) = value.pointer("/metadata/uid").and_then(Value::as_str)
    {
        push_uid(uids, uid);
    }
}

/// What telling a `kube-system` Namespace needs of a JSON document, read without a tree.
#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    metadata: Option<Meta<'a>>,
    #[serde(borrow, default)]
    items: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
struct Meta<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    uid: Option<Cow<'a, str>>,
}

pub(crate) fn uids_in_json(text: &str, uids: &mut Vec<String>) {
    if text.trim_start().starts_with('[') {
        if let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(text) {
            for item in items
                .into_iter()
                .filter(|i| i.get().contains("kube-system"))
            {
                uids_in_json(item.get(), uids);
            }
        }
        return;
    }
    let Ok(header) = serde_json::from_str::<Header>(text) else {
        return;
    };
    if let Some(items) = header.items {
        // A `*List`: items of kind Namespace (a `NamespaceList`'s may omit their kind).
        let namespace_list = header.kind.as_deref() == Some("NamespaceList");
        for item in items {
            let text = item.get();
            if text.contains("kube-system")
                && (namespace_list || text.contains("Namespace"))
                && let Ok(h) = serde_json::from_str::<Header>(text)
            {
                let default_kind = if namespace_list { "Namespace" } else { "" };
                let kind = h.kind.as_deref().unwrap_or(default_kind);
                namespace_uid(kind, h.metadata.as_ref(), uids);
            }
        }
    } else {
        namespace_uid(
            header.kind.as_deref().unwrap_or(""),
            header.metadata.as_ref(),
            uids,
        );
    }
}

fn namespace_uid(kind: &str, meta: Option<&Meta>, uids: &mut Vec<String>) {
    if kind == "Namespace"
        && let Some(meta) = meta
        && meta.name.as_deref() == Some("kube-system")
        && let Some(uid) = meta.uid.as_deref()
    {
        push_uid(uids, uid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::parse_text;

    #[test]
    fn finds_the_kube_system_uid_in_yaml_and_json_dumps() {
        // `kubectl get ns -o yaml`: a List of Namespaces.
        let yaml = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata:\n    name: default\n    uid: d-1\n- apiVersion: v1\n  kind: Namespace\n  metadata:\n    name: kube-system\n    uid: ks-1\n";
        assert_eq!(cluster_uids(&parse_text("ns.yaml", yaml)), ["ks-1"]);
        // An API list response: a NamespaceList whose items omit their kind.
        let json = r#"{"apiVersion":"v1","kind":"NamespaceList","items":[{"metadata":{"name":"kube-system","uid":"ks-2"}}]}"#;
        assert_eq!(cluster_uids(&parse_text("ns.json", json)), ["ks-2"]);
        // Pods in kube-system say nothing about the cluster; neither does a Namespace without uid.
        let pods = r#"[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"coredns","namespace":"kube-system","uid":"p-1"}},{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"kube-system"}}]"#;
        assert!(cluster_uids(&parse_text("pods.json", pods)).is_empty());
    }
}
