//! Give back the spare capacity of a just typed object's lists.
//!
//! serde fills a `Vec` without knowing its length (JSON and YAML give none), so a list of one
//! `ContainerStatus` (752 bytes inline) keeps room for four, and a typed Pod carried ~4 KB of
//! empty slots, a third of its size. Objects are kept for the whole scan, so the lists of the
//! kinds held in bulk (Pods, and the pod templates of workloads) are shrunk once, where they are
//! typed. Nothing else changes: `shrink_to_fit` keeps every element.

use crate::model::Dropped;
use crate::pod::Pod;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec, Volume};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::any::Any;

/// Settle a just typed object: a Pod read from a file gets its spec typed now (see
/// [`crate::pod`]: a field that does not convert is named in `dropped`), a live Pod's spec
/// is compressed, and the lists of the kinds held in bulk are shrunk.
pub(crate) fn settle(object: &mut dyn Any, live: bool, dropped: &mut Vec<Dropped>) {
    if let Some(spec) = object.downcast_mut::<Pod>().and_then(|p| p.spec.as_mut()) {
        if live {
            spec.pack();
        } else {
            spec.type_now(dropped);
        }
    }
    compact(object);
}

/// Shrink the lists of `object` if it is of a kind held in bulk.
fn compact(object: &mut dyn Any) {
    if let Some(pod) = object.downcast_mut::<Pod>() {
        meta(&mut pod.metadata);
        if let Some(spec) = pod.spec.as_mut().filter(|s| s.is_typed()) {
            pod_spec(spec.typed_mut());
        }
        if let Some(status) = &mut pod.status {
            shrink(&mut status.conditions);
            shrink(&mut status.container_statuses);
            shrink(&mut status.init_container_statuses);
            shrink(&mut status.ephemeral_container_statuses);
            shrink(&mut status.pod_ips);
            shrink(&mut status.host_ips);
        }
    } else if let Some(d) = object.downcast_mut::<Deployment>() {
        meta(&mut d.metadata);
        template(&mut d.spec.template);
    } else if let Some(s) = object.downcast_mut::<StatefulSet>() {
        meta(&mut s.metadata);
        template(&mut s.spec.template);
    } else if let Some(d) = object.downcast_mut::<DaemonSet>() {
        meta(&mut d.metadata);
        template(&mut d.spec.template);
    } else if let Some(r) = object.downcast_mut::<ReplicaSet>() {
        meta(&mut r.metadata);
        if let Some(t) = &mut r.spec.template {
            template(t);
        }
    } else if let Some(j) = object.downcast_mut::<Job>() {
        meta(&mut j.metadata);
        if let Some(spec) = &mut j.spec {
            template(&mut spec.template);
        }
    } else if let Some(c) = object.downcast_mut::<CronJob>() {
        meta(&mut c.metadata);
        if let Some(t) = &mut c.spec.job_template.spec {
            template(&mut t.template);
        }
    }
}

fn shrink<T>(list: &mut Option<Vec<T>>) {
    if let Some(list) = list {
        list.shrink_to_fit();
    }
}

fn meta(meta: &mut ObjectMeta) {
    shrink(&mut meta.owner_references);
    shrink(&mut meta.finalizers);
}

fn template(template: &mut PodTemplateSpec) {
    if let Some(m) = &mut template.metadata {
        meta(m);
    }
    if let Some(spec) = &mut template.spec {
        pod_spec(spec);
    }
}

pub(crate) fn pod_spec(spec: &mut PodSpec) {
    spec.containers.shrink_to_fit();
    spec.containers.iter_mut().for_each(container);
    if let Some(init) = &mut spec.init_containers {
        init.shrink_to_fit();
        init.iter_mut().for_each(container);
    }
    if let Some(volumes) = &mut spec.volumes {
        volumes.shrink_to_fit();
        volumes.iter_mut().for_each(volume);
    }
    shrink(&mut spec.tolerations);
    shrink(&mut spec.image_pull_secrets);
    shrink(&mut spec.host_aliases);
    shrink(&mut spec.topology_spread_constraints);
    shrink(&mut spec.readiness_gates);
}

/// Every Pod of a live cluster has a projected service-account volume of three sources (544
/// bytes each, room for four) with their item lists.
fn volume(v: &mut Volume) {
    if let Some(projected) = &mut v.projected {
        shrink(&mut projected.sources);
        for source in projected.sources.iter_mut().flatten() {
            if let Some(c) = &mut source.config_map {
                shrink(&mut c.items);
            }
            if let Some(s) = &mut source.secret {
                shrink(&mut s.items);
            }
            if let Some(d) = &mut source.downward_api {
                shrink(&mut d.items);
            }
        }
    }
    if let Some(c) = &mut v.config_map {
        shrink(&mut c.items);
    }
    if let Some(s) = &mut v.secret {
        shrink(&mut s.items);
    }
}

fn container(c: &mut Container) {
    shrink(&mut c.ports);
    shrink(&mut c.env);
    shrink(&mut c.env_from);
    shrink(&mut c.volume_mounts);
    shrink(&mut c.volume_devices);
    shrink(&mut c.args);
    shrink(&mut c.command);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_keep_their_elements_and_lose_their_spare_room() {
        let mut pod: Pod = serde_json::from_str(
            r#"{"metadata":{"name":"p","ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"r","uid":"u"}]},
                "spec":{"containers":[{"name":"a","ports":[{"containerPort":80}]}],"tolerations":[{"key":"k"}]},
                "status":{"containerStatuses":[{"name":"a","image":"i","imageID":"","ready":true,"restartCount":3}]}}"#,
        )
        .unwrap();
        let before = pod.clone();
        pod.spec.as_mut().unwrap().type_now(&mut Vec::new());
        let statuses = pod
            .status
            .as_ref()
            .unwrap()
            .container_statuses
            .as_ref()
            .unwrap();
        assert!(statuses.capacity() > 1, "serde leaves spare room");
        compact(&mut pod);
        assert_eq!(pod, before);
        let statuses = pod
            .status
            .as_ref()
            .unwrap()
            .container_statuses
            .as_ref()
            .unwrap();
        assert_eq!(statuses.capacity(), 1);
        let tolerations = pod.spec.as_ref().unwrap().tolerations.as_ref().unwrap();
        assert_eq!(tolerations.capacity(), 1);
    }
}
