//! Networking detectors.

use crate::model::Item;
use crate::pods::PodSpecView;
use detek_core::{Detector, Outcome};
use k8s_openapi::api::core::v1::Endpoints;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use std::collections::{BTreeMap, HashMap, HashSet};
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

/// One address behind a Service, from an EndpointSlice or an Endpoints object.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Address<'a> {
    pub ip: &'a str,
    /// `(kind, name)` of what the address points at (a Pod), when recorded.
    pub target: Option<(&'a str, &'a str)>,
}

/// The ready and not-ready addresses behind one Service.
#[derive(Debug, Default)]
pub(crate) struct ServiceAddresses<'a> {
    pub ready: Vec<Address<'a>>,
    pub not_ready: Vec<Address<'a>>,
}

impl<'a> ServiceAddresses<'a> {
    /// Add an address unless the same target (or, without one, the same IP) is already there:
    /// a dual-stack Pod has an address per family, in slices of its own, and an Endpoints
    /// object lists a Pod once per distinct set of ports.
    fn add(&mut self, address: Address<'a>, ready: bool) {
        let same = |a: &Address| match (a.target, address.target) {
            (Some(x), Some(y)) => x == y,
            _ => a.ip == address.ip,
        };
        if self.ready.iter().chain(&self.not_ready).any(same) {
            return;
        }
        if ready {
            self.ready.push(address);
        } else {
            self.not_ready.push(address);
        }
    }
}

/// What tells which addresses a Service has: its EndpointSlices (label
/// `kubernetes.io/service-name`), or, for a Service without any slice in the scan, its
/// Endpoints object. Slices come first: Endpoints are capped at 1,000 addresses, hold one IP
/// family, and are deprecated since Kubernetes 1.33. An endpoint of a slice counts as ready
/// unless `conditions.ready` is false (the API's rule for an unset condition); terminating
/// endpoints are left out, as Endpoints leave them out.
pub(crate) struct ServiceEndpoints<'a> {
    /// namespace → Service name → its addresses.
    by_service: HashMap<&'a str, HashMap<&'a str, ServiceAddresses<'a>>>,
    /// Whether the scan holds any EndpointSlice or Endpoints object at all.
    pub any: bool,
}

impl<'a> ServiceEndpoints<'a> {
    pub fn new(
        slices: &'a [Arc<Item<EndpointSlice>>],
        endpoints: &'a [Arc<Item<Endpoints>>],
    ) -> Self {
        let mut by_service: HashMap<&str, HashMap<&str, ServiceAddresses>> = HashMap::new();
        for slice in slices {
            let Some(service) = slice
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("kubernetes.io/service-name"))
            else {
                continue;
            };
            let addresses = by_service
                .entry(slice.namespace_or_default())
                .or_default()
                .entry(service.as_str())
                .or_default();
            for e in slice.endpoints.iter().flatten() {
                let conditions = e.conditions.as_ref();
                if conditions.and_then(|c| c.terminating) == Some(true) {
                    continue;
                }
                let ready = conditions.and_then(|c| c.ready) != Some(false);
                let target = e.target_ref.as_ref().map(|r| {
                    (
                        r.kind.as_deref().unwrap_or("object"),
                        r.name.as_deref().unwrap_or("?"),
                    )
                });
                if let Some(ip) = e.addresses.first() {
                    addresses.add(Address { ip, target }, ready);
                }
            }
        }
        let from_slices: HashSet<(&str, &str)> = by_service
            .iter()
            .flat_map(|(ns, services)| services.keys().map(move |name| (*ns, *name)))
            .collect();
        for ep in endpoints {
            let (namespace, name) = (ep.namespace_or_default(), ep.name());
            if from_slices.contains(&(namespace, name)) {
                continue;
            }
            let addresses = by_service
                .entry(namespace)
                .or_default()
                .entry(name)
                .or_default();
            for subset in ep.subsets.iter().flatten() {
                let lists = [
                    (true, subset.addresses.as_deref()),
                    (false, subset.not_ready_addresses.as_deref()),
                ];
                for (ready, list) in lists {
                    for a in list.into_iter().flatten() {
                        let target = a.target_ref.as_ref().map(|r| {
                            (
                                r.kind.as_deref().unwrap_or("object"),
                                r.name.as_deref().unwrap_or("?"),
                            )
                        });
                        addresses.add(Address { ip: &a.ip, target }, ready);
                    }
                }
            }
        }
        ServiceEndpoints {
            by_service,
            any: !slices.is_empty() || !endpoints.is_empty(),
        }
    }

    /// The addresses of Service `namespace/name`: `None` when neither a slice nor an Endpoints
    /// object of it is in the scan.
    pub fn of(&self, namespace: &str, name: &str) -> Option<&ServiceAddresses<'a>> {
        self.by_service.get(namespace)?.get(name)
    }
}

/// `10.244.1.7 (Pod web-5d9c-x2x)`: an address and what it points at.
pub(crate) fn describe_address(address: &Address) -> String {
    match address.target {
        Some((kind, name)) => format!("{} ({kind} {name})", address.ip),
        None => address.ip.to_string(),
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

/// The outcome of a Service check that reads endpoints when the scan has neither
/// EndpointSlices nor Endpoints (plain manifests): nothing judged, and a note saying why, with
/// `details` added to it.
pub(crate) fn endpoints_not_judged(details: serde_json::Value) -> Outcome {
    let mut note = serde_json::json!({
        "reason": "without EndpointSlices or Endpoints (e.g. plain manifests) nothing tells which Pods are ready",
    });
    if let (Some(note), serde_json::Value::Object(details)) = (note.as_object_mut(), details) {
        note.extend(details);
    }
    let mut out = Outcome::new().evaluated(0).not_judged(
        "the scan has no EndpointSlices or Endpoints: nothing tells which Pods are ready",
    );
    out.attach(
        "Not judged: the scan has no EndpointSlices or Endpoints",
        note,
    );
    out
}
