//! Shared lookup indexes over single kinds, derived keys built once per scan (DESIGN.md §2
//! "shared indexes") so that detectors asking "which Services select this Pod?" or "which HPA
//! scales this Deployment?" for every workload stay linear instead of scanning the kind each time.
//!
//! - [`SERVICES_BY_SELECTOR`](crate::model::SERVICES_BY_SELECTOR) ([`ServicesBySelector`]):
//!   Services with a Pod selector, by namespace and one label of their selector.
//! - [`HPAS_BY_TARGET`](crate::model::HPAS_BY_TARGET) ([`HpasByTarget`]): HorizontalPodAutoscalers
//!   by namespace and scale target.

use crate::model::{Item, Items};
use crate::pods::{ByHash, PodSpecView, RUNTIME_LABELS, hash_of, service_selects};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::Service;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A Service's Pod selector: `None` for ExternalName Services and Services without a selector
/// (their endpoints are managed by hand), which select no Pod.
pub fn pod_selector(service: &Service) -> Option<&BTreeMap<String, String>> {
    let spec = service.spec.as_ref()?;
    if spec.type_.as_deref() == Some("ExternalName") {
        return None;
    }
    spec.selector.as_ref().filter(|s| !s.is_empty())
}

/// Services with a Pod selector ([`pod_selector`]), by namespace and one label their selector
/// requires (`kubernetes/services-by-selector`). Finding the Services that select a Pod or
/// template then looks at a few candidates instead of every Service of its namespace.
#[derive(Debug, Clone, Default)]
pub struct ServicesBySelector {
    services: Items<Service>,
    /// hash(namespace, key, value) → Services whose selector requires `key=value` (the first
    /// key not in [`RUNTIME_LABELS`]: templates do not carry those, so they cannot narrow).
    by_label: ByHash,
    /// hash(namespace) → Services whose selector has only runtime labels.
    runtime_only: ByHash,
}

impl ServicesBySelector {
    pub fn new(services: &Items<Service>) -> ServicesBySelector {
        let mut index = ServicesBySelector::default();
        for service in services {
            let Some(selector) = pod_selector(service) else {
                continue;
            };
            let at = index.services.len() as u32;
            index.services.push(service.clone());
            let ns = service.namespace_or_default();
            match selector
                .iter()
                .find(|(k, _)| !RUNTIME_LABELS.contains(&k.as_str()))
            {
                Some((k, v)) => index.by_label.entry(hash_of(&[ns, k, v])),
                None => index.runtime_only.entry(hash_of(&[ns])),
            }
            .or_default()
            .push(at);
        }
        index
    }

    /// The Services whose selector selects `view` (see [`service_selects`]), in input order.
    pub fn selecting(&self, view: &PodSpecView<'_>) -> Vec<&Arc<Item<Service>>> {
        let ns = view.namespace();
        let mut at: Vec<u32> = view
            .metadata
            .labels
            .iter()
            .flatten()
            .filter_map(|(k, v)| self.by_label.get(&hash_of(&[ns, k, v])))
            .chain(self.runtime_only.get(&hash_of(&[ns])))
            .flatten()
            .copied()
            .collect();
        // A hash collision may list a Service under two labels of one view.
        at.sort_unstable();
        at.dedup();
        at.into_iter()
            .map(|i| &self.services[i as usize])
            .filter(|s| {
                s.namespace_or_default() == ns
                    && pod_selector(s).is_some_and(|sel| service_selects(sel, view))
            })
            .collect()
    }

    /// Every Service with a Pod selector, in input order.
    pub fn services(&self) -> &Items<Service> {
        &self.services
    }
}

/// HorizontalPodAutoscalers by namespace (`default` when unset) and scale target kind and name
/// (`kubernetes/hpas-by-target`).
#[derive(Debug, Clone, Default)]
pub struct HpasByTarget {
    hpas: Items<HorizontalPodAutoscaler>,
    /// hash(namespace, kind, name) → HPAs.
    by_target: ByHash,
}

impl HpasByTarget {
    pub fn new(hpas: &Items<HorizontalPodAutoscaler>) -> HpasByTarget {
        let mut index = HpasByTarget {
            hpas: hpas.clone(),
            ..Default::default()
        };
        for (i, hpa) in hpas.iter().enumerate() {
            let target = &hpa.spec.scale_target_ref;
            index
                .by_target
                .entry(hash_of(&[
                    hpa.namespace_or_default(),
                    &target.kind,
                    &target.name,
                ]))
                .or_default()
                .push(i as u32);
        }
        index
    }

    /// The HPAs in `namespace` scaling `kind`/`name`, in input order.
    pub fn targeting<'s>(
        &'s self,
        namespace: &'s str,
        kind: &'s str,
        name: &'s str,
    ) -> impl Iterator<Item = &'s Arc<Item<HorizontalPodAutoscaler>>> + 's {
        self.by_target
            .get(&hash_of(&[namespace, kind, name]))
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .map(|&i| &self.hpas[i as usize])
            .filter(move |h| {
                h.namespace_or_default() == namespace
                    && h.spec.scale_target_ref.kind == kind
                    && h.spec.scale_target_ref.name == name
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Origin;
    use crate::pods::WorkloadTemplate;
    use detek_core::ObjectRef;
    use serde_json::json;

    fn item<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Arc<Item<T>> {
        Arc::new(Item {
            object: serde_json::from_value(value).unwrap(),
            origin: Origin {
                api_version: Arc::from("v1"),
                source: None,
                also_defined_at: Vec::new(),
            },
        })
    }

    fn service(ns: &str, name: &str, spec: serde_json::Value) -> Arc<Item<Service>> {
        item(json!({"metadata": {"name": name, "namespace": ns}, "spec": spec}))
    }

    fn template(ns: &str, labels: serde_json::Value) -> WorkloadTemplate {
        WorkloadTemplate {
            owner: ObjectRef {
                kind: "Deployment".into(),
                api_version: None,
                namespace: Some(ns.into()),
                name: "web".into(),
                container: None,
                source: None,
                sources: Vec::new(),
            },
            metadata: serde_json::from_value(json!({"namespace": ns, "labels": labels})).unwrap(),
            spec: Default::default(),
            replicas: Some(1),
        }
    }

    fn names(found: Vec<&Arc<Item<Service>>>) -> Vec<&str> {
        found.into_iter().map(|s| s.name()).collect()
    }

    #[test]
    fn services_selecting_a_template() {
        let services = vec![
            service("shop", "web", json!({"selector": {"app": "web"}})),
            service(
                "shop",
                "web-tier",
                json!({"selector": {"app": "web", "tier": "front"}}),
            ),
            service("shop", "other", json!({"selector": {"app": "api"}})),
            // Another namespace, no selector, ExternalName: never selected.
            service("blog", "web", json!({"selector": {"app": "web"}})),
            service("shop", "manual", json!({"ports": [{"port": 80}]})),
            service(
                "shop",
                "ext",
                json!({"type": "ExternalName", "selector": {"app": "web"}}),
            ),
            // Only a runtime label: a template carries none, so it is not required of one.
            service(
                "shop",
                "replica-0",
                json!({"selector": {"statefulset.kubernetes.io/pod-name": "web-0"}}),
            ),
        ];
        let index = ServicesBySelector::new(&services);
        assert_eq!(index.services().len(), 5);
        let t = template("shop", json!({"app": "web", "tier": "front"}));
        let view = PodSpecView::of_template(&t);
        assert_eq!(
            names(index.selecting(&view)),
            vec!["web", "web-tier", "replica-0"]
        );
        let t = template("shop", json!({"app": "web"}));
        let view = PodSpecView::of_template(&t);
        assert_eq!(names(index.selecting(&view)), vec!["web", "replica-0"]);
        let t = template("blog", json!({"app": "api"}));
        assert!(index.selecting(&PodSpecView::of_template(&t)).is_empty());
    }

    #[test]
    fn hpas_by_namespace_and_target_in_input_order() {
        let hpa = |ns: Option<&str>, name: &str, kind: &str, target: &str| {
            item::<HorizontalPodAutoscaler>(json!({
                "metadata": {"name": name, "namespace": ns},
                "spec": {"maxReplicas": 5, "scaleTargetRef": {"kind": kind, "name": target}},
            }))
        };
        let hpas = vec![
            hpa(Some("shop"), "first", "Deployment", "web"),
            hpa(Some("shop"), "sts", "StatefulSet", "web"),
            hpa(Some("blog"), "blog", "Deployment", "web"),
            hpa(Some("shop"), "second", "Deployment", "web"),
            hpa(None, "unset", "Deployment", "web"),
        ];
        let index = HpasByTarget::new(&hpas);
        let found = |ns, kind, name| -> Vec<&str> {
            index.targeting(ns, kind, name).map(|h| h.name()).collect()
        };
        assert_eq!(found("shop", "Deployment", "web"), vec!["first", "second"]);
        assert_eq!(found("shop", "StatefulSet", "web"), vec!["sts"]);
        assert_eq!(found("default", "Deployment", "web"), vec!["unset"]);
        assert!(found("shop", "Deployment", "api").is_empty());
    }
}
