//! The snapshot collector: manifests and dumps on disk (or stdin, or embedded text).

use crate::custom::RawCap;
use crate::ingest::{Input, load};
use crate::model::{
    CLUSTER_INFO, CUSTOM_RESOURCES, DERIVED_KEYS, IGNORE_ANNOTATIONS, KINDS, OBJECTS, ObjectSet,
    POD_SPECS, PODS_BY_LABEL, WORKLOAD_TEMPLATES,
};
use detek_core::{
    BoxFuture, CollectContext, CollectError, Collector, CollectorMeta, KeyId, Produced,
};
use std::collections::BTreeSet;

pub struct SnapshotCollector {
    meta: CollectorMeta,
    inputs: Vec<Input>,
}

/// Every key a Kubernetes collector (snapshot or live) produces.
pub fn kubernetes_keys() -> Vec<&'static str> {
    let mut keys: Vec<&'static str> = KINDS.iter().map(|k| k.key).collect();
    keys.extend([
        OBJECTS.id(),
        CLUSTER_INFO.id(),
        WORKLOAD_TEMPLATES.id(),
        POD_SPECS.id(),
        PODS_BY_LABEL.id(),
        CUSTOM_RESOURCES.id(),
        IGNORE_ANNOTATIONS.id(),
    ]);
    keys
}

impl SnapshotCollector {
    pub fn new(inputs: Vec<Input>) -> Self {
        SnapshotCollector {
            meta: CollectorMeta {
                id: "kubernetes/snapshot",
                description: "Kubernetes objects from manifest files, kubectl dumps or stdin",
                labels: vec!["kubernetes", "snapshot"],
                requires: vec![],
                produces: kubernetes_keys(),
            },
            inputs,
        }
    }

    /// Read the inputs into a [`Produced`] with every key (blocking; used by tests).
    pub fn read(&self) -> Produced {
        self.read_for(None)
    }

    /// Read the inputs into a [`Produced`] (blocking). With `wanted`, derived keys nobody
    /// wants are not computed (custom resources are not kept, indexes not built).
    pub fn read_for(&self, wanted: Option<&BTreeSet<KeyId>>) -> Produced {
        let wants = |id: &str| wanted.is_none_or(|w| w.contains(id));
        let mut set = ObjectSet::new();
        if !wants(CUSTOM_RESOURCES.id()) {
            set.keep_custom_resources(None);
        } else {
            set.keep_custom_resources(Some(RawCap::default()));
        }
        load(&self.inputs, &mut set);
        set.finish();
        let objects = set.objects.len();
        let mut produced = Produced::new();
        if objects == 0 {
            let errors = set.diagnostics.len();
            let skipped = set.skipped_documents;
            let reason = format!(
                "no Kubernetes objects found in the inputs ({errors} error(s), {skipped} non-Kubernetes document(s) skipped)"
            );
            produced.diagnostics.append(&mut set.diagnostics);
            produced.stat("documents_skipped", skipped);
            for key in kubernetes_keys() {
                produced.fail(key, reason.clone());
            }
            return produced;
        }
        // A dump of a cluster is that cluster wherever it is read: identified by its
        // kube-system namespace UID, as a live scan of it is.
        if let Some(uid) = set
            .namespaces
            .iter()
            .find(|ns| ns.metadata.name.as_deref() == Some("kube-system"))
            .and_then(|ns| ns.metadata.uid.clone())
            .filter(|uid| !uid.is_empty())
        {
            produced.identify(format!("cluster:uid:{uid}"));
        }
        set.into_produced(&mut produced, &|id| {
            DERIVED_KEYS.contains(&id) && !wants(id)
        });
        produced
    }
}

impl Collector for SnapshotCollector {
    fn meta(&self) -> &CollectorMeta {
        &self.meta
    }

    fn collect<'a>(
        &'a self,
        ctx: CollectContext<'a>,
    ) -> BoxFuture<'a, Result<Produced, CollectError>> {
        Box::pin(async move {
            ctx.progress.message("reading snapshot inputs");
            // Parsing is CPU-bound (rayon): keep it off the async workers, so other targets
            // scanned at the same time keep collecting.
            Ok(detek_core::off_async_workers(|| {
                self.read_for(Some(ctx.wanted))
            }))
        })
    }
}
