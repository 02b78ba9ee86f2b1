//! Helpers shared by networking detectors that do not fit the area's `mod.rs` (Services,
//! selectors and endpoints): the class an Ingress asks for.

use k8s_openapi::api::networking::v1::Ingress;

/// The legacy way to name an Ingress's class, before `spec.ingressClassName`.
pub(super) const LEGACY_CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";

/// The class an Ingress asks for, and whether it came from the legacy annotation.
pub(super) fn requested_class(ingress: &Ingress) -> Option<(&str, bool)> {
    if let Some(name) = ingress
        .spec
        .as_ref()
        .and_then(|s| s.ingress_class_name.as_deref())
        .filter(|n| !n.is_empty())
    {
        return Some((name, false));
    }
    ingress
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(LEGACY_CLASS_ANNOTATION))
        .map(|v| v.as_str())
        .filter(|n| !n.is_empty())
        .map(|n| (n, true))
}
