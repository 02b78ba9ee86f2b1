//! The snapshot collector: manifests and dumps on disk (or stdin, or embedded text).

use crate::custom::RawCap;
use crate::ingest::{Input, ReadInputs, load};
use crate::model::{
    CLUSTER_INFO, CUSTOM_RESOURCES, DERIVED_KEYS, HELM_RELEASES, HPAS_BY_TARGET,
    IGNORE_ANNOTATIONS, KINDS, OBJECTS, ObjectSet, POD_SPECS, PODS_BY_LABEL, SERVICES_BY_SELECTOR,
    WORKLOAD_TEMPLATES,
};
use detek_core::{
    BoxFuture, CollectContext, CollectError, Collector, CollectorMeta, KeyId, Produced,
};
use std::collections::BTreeSet;

pub struct SnapshotCollector {
    meta: CollectorMeta,
    inputs: Vec<Input>,
    /// Inputs already read (one cluster's files of several: [`crate::clusters`]); taken by
    /// the first collection.
    read: std::sync::Mutex<Option<ReadInputs>>,
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
        SERVICES_BY_SELECTOR.id(),
        HPAS_BY_TARGET.id(),
        CUSTOM_RESOURCES.id(),
        IGNORE_ANNOTATIONS.id(),
        HELM_RELEASES.id(),
    ]);
    keys
}

impl SnapshotCollector {
    pub fn new(inputs: Vec<Input>) -> Self {
        Self::with(inputs, None)
    }

    /// A collector of inputs already read and parsed: one cluster's files when one input
    /// holds several clusters ([`crate::clusters::split_by_cluster`]).
    pub fn from_read(read: ReadInputs) -> Self {
        Self::with(Vec::new(), Some(read))
    }

    fn with(inputs: Vec<Input>, read: Option<ReadInputs>) -> Self {
        SnapshotCollector {
            meta: CollectorMeta {
                id: "kubernetes/snapshot",
                description: "Kubernetes objects from manifest files, kubectl dumps or stdin",
                labels: vec!["kubernetes", "snapshot"],
                requires: vec![],
                produces: kubernetes_keys(),
            },
            inputs,
            read: std::sync::Mutex::new(read),
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
        let read = self
            .read
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        match read {
            Some(read) => {
                set.diagnostics.extend(read.diagnostics);
                for file in read.files {
                    file.contents.add_to(&mut set);
                }
            }
            None => load(&self.inputs, &mut set),
        }
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
        produced.observed_at = newest_time(&set);
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

/// The newest time a snapshot holds: node heartbeats and condition changes, events, container
/// starts and ends, and every typed object's creation time. A dump is judged as of then
/// ([`detek_core::Clock::Snapshot`]); manifests written by hand usually hold none.
pub fn newest_time(set: &ObjectSet) -> Option<k8s_openapi::jiff::Timestamp> {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    let mut newest: Option<k8s_openapi::jiff::Timestamp> = None;
    let mut see = |t: Option<&Time>| {
        if let Some(t) = t {
            newest = newest.max(Some(t.0));
        }
    };
    for (meta, _) in set.typed_metadata() {
        see(meta.creation_timestamp.as_ref());
    }
    for node in &set.nodes {
        for c in node
            .status
            .iter()
            .flat_map(|s| s.conditions.iter().flatten())
        {
            see(c.last_heartbeat_time.as_ref());
            see(c.last_transition_time.as_ref());
        }
    }
    for cj in &set.cron_jobs {
        if let Some(status) = &cj.status {
            see(status.last_schedule_time.as_ref());
            see(status.last_successful_time.as_ref());
        }
    }
    for ns in &set.namespaces {
        see(ns.metadata.deletion_timestamp.as_ref());
        for c in ns.status.iter().flat_map(|s| s.conditions.iter().flatten()) {
            see(c.last_transition_time.as_ref());
        }
    }
    for event in &set.events {
        see(event.last_timestamp.as_ref());
        see(event
            .series
            .as_ref()
            .and_then(|s| s.last_observed_time.as_ref())
            .map(|t| Time(t.0))
            .as_ref());
        see(event.first_timestamp.as_ref());
        see(event.event_time.as_ref().map(|t| Time(t.0)).as_ref());
    }
    for pod in &set.pods {
        let Some(status) = &pod.status else { continue };
        see(status.start_time.as_ref());
        let statuses = status
            .container_statuses
            .iter()
            .flatten()
            .chain(status.init_container_statuses.iter().flatten());
        for cs in statuses {
            for state in [cs.state.as_ref(), cs.last_state.as_ref()]
                .into_iter()
                .flatten()
            {
                see(state.running.as_ref().and_then(|r| r.started_at.as_ref()));
                see(state
                    .terminated
                    .as_ref()
                    .and_then(|t| t.finished_at.as_ref()));
            }
        }
    }
    newest
}
