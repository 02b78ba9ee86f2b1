//! Networking detectors.

use crate::model::Item;
use crate::pods::PodSpecView;
use detek_core::{Detector, Outcome};
use k8s_openapi::api::core::v1::{EndpointAddress, Endpoints};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

mod helpers;

mod ingress_backend_missing;
mod ingress_class_missing;
mod ingress_duplicate_host_path;
mod ingress_tls_host_mismatch;
mod ingress_tls_secret_missing;
mod service_no_available_target;
mod service_partially_available;
mod service_selector_matches_nothing;
mod service_target_port_mismatch;
mod statefulset_service_missing;

pub(super) fn all() -> Vec<Arc<dyn Detector>> {
    vec![
        Arc::new(service_no_available_target::ServiceNoAvailableTarget),
        Arc::new(service_partially_available::ServicePartiallyAvailable),
        Arc::new(service_selector_matches_nothing::ServiceSelectorMatchesNothing),
        Arc::new(service_target_port_mismatch::ServiceTargetPortMismatch),
        Arc::new(ingress_backend_missing::IngressBackendMissing),
        Arc::new(ingress_tls_secret_missing::IngressTlsSecretMissing),
        Arc::new(ingress_tls_host_mismatch::IngressTlsHostMismatch),
        Arc::new(ingress_class_missing::IngressClassMissing),
        Arc::new(ingress_duplicate_host_path::IngressDuplicateHostPath),
        Arc::new(statefulset_service_missing::StatefulsetServiceMissing),
    ]
}

/// The selector of a Service that routes to Pods: `None` for ExternalName Services and for
/// Services without a selector (their Endpoints are managed by hand or by another controller).
pub(crate) use crate::indexes::pod_selector;

/// How messages name a set of views: real Pods, workload templates (manifests), or both
/// (a scan with Pods of some workloads and only the templates of others).
pub(crate) fn noun<'v, 'a: 'v>(
    views: impl IntoIterator<Item = &'v PodSpecView<'a>>,
    plural: bool,
) -> &'static str {
    let (mut pods, mut templates) = (false, false);
    for v in views {
        if v.pod.is_some() {
            pods = true;
        } else {
            templates = true;
        }
    }
    noun_for((pods, templates), plural)
}

/// [`noun`] from whether there are Pods and templates (see [`crate::pods::PodsByLabel::holds`]).
pub(crate) fn noun_for((pods, templates): (bool, bool), plural: bool) -> &'static str {
    match (pods, templates, plural) {
        (true, false, false) => "Pod",
        (true, false, true) => "Pods",
        (false, _, false) => "workload template",
        (false, _, true) => "workload templates",
        (true, true, false) => "Pod or workload template",
        (true, true, true) => "Pods and workload templates",
    }
}

/// Endpoints by (namespace, name), namespace defaulted as for Services.
pub(crate) fn endpoints_index(
    endpoints: &[Arc<Item<Endpoints>>],
) -> HashMap<(&str, &str), &Item<Endpoints>> {
    endpoints
        .iter()
        .map(|e| ((e.namespace_or_default(), e.name()), e.as_ref()))
        .collect()
}

/// Ready and not-ready addresses of an Endpoints object, over all subsets, each IP once (a
/// Pod appears in one subset per distinct set of ports).
pub(crate) fn addresses(endpoints: &Endpoints) -> (Vec<&EndpointAddress>, Vec<&EndpointAddress>) {
    let mut ready: Vec<&EndpointAddress> = Vec::new();
    let mut not_ready: Vec<&EndpointAddress> = Vec::new();
    for subset in endpoints.subsets.iter().flatten() {
        for a in subset.addresses.iter().flatten() {
            if !ready.iter().any(|r| r.ip == a.ip) {
                ready.push(a);
            }
        }
        for a in subset.not_ready_addresses.iter().flatten() {
            if !not_ready.iter().any(|r| r.ip == a.ip) {
                not_ready.push(a);
            }
        }
    }
    (ready, not_ready)
}

/// `10.244.1.7 (Pod web-5d9c-x2x)`: an address and what it points at.
pub(crate) fn describe_address(address: &EndpointAddress) -> String {
    match address.target_ref.as_ref() {
        Some(r) => format!(
            "{} ({} {})",
            address.ip,
            r.kind.as_deref().unwrap_or("object"),
            r.name.as_deref().unwrap_or("?")
        ),
        None => address.ip.clone(),
    }
}

/// `app=web,tier=frontend`
pub(crate) fn selector_string(selector: &BTreeMap<String, String>) -> String {
    selector
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The outcome of a Service check that reads Endpoints when the scan has none (plain
/// manifests): nothing judged, and a note saying why, with `details` added to it.
pub(crate) fn endpoints_not_judged(details: serde_json::Value) -> Outcome {
    let mut note = serde_json::json!({
        "reason": "without Endpoints (e.g. plain manifests) nothing tells which Pods are ready",
    });
    if let (Some(note), serde_json::Value::Object(details)) = (note.as_object_mut(), details) {
        note.extend(details);
    }
    let mut out = Outcome::new()
        .evaluated(0)
        .not_judged("the scan has no Endpoints objects: nothing tells which Pods are ready");
    out.attach("Not judged: the scan has no Endpoints objects", note);
    out
}
