use super::helpers::{LEGACY_CLASS_ANNOTATION, requested_class};
use crate::prelude::*;

/// ## What it detects
/// Ingresses that no ingress controller is sure to serve:
///
/// - `spec.ingressClassName`, or the legacy annotation `kubernetes.io/ingress.class`, names an
///   IngressClass that is not in the scan;
/// - no class is given and no IngressClass is marked default (annotation
///   `ingressclass.kubernetes.io/is-default-class: "true"`), or several are.
///
/// Only judged when the scan contains IngressClasses (a live cluster, or manifests that ship
/// their controller's class); otherwise the detector reports nothing and says so in a note.
///
/// ## Why it matters
/// An Ingress is only a request: the controller whose IngressClass it names turns it into
/// routes. With a class that does not exist — a typo, `nginx` vs `ingress-nginx`, a controller
/// that was uninstalled or renamed its class — no controller picks it up: the Ingress gets no
/// address (`kubectl get ingress` shows an empty ADDRESS) and its hosts answer 404 from the
/// default backend or do not resolve at all, with no error anywhere. Without a class and without
/// a default, whether it is served depends on controller flags (ingress-nginx needs
/// `--watch-ingress-without-class`). With two defaults, the API server refuses new Ingresses
/// without a class.
///
/// ## How to fix
/// `kubectl get ingressclass` lists the classes and which one is default. Set
/// `spec.ingressClassName` to one of them (and drop the deprecated annotation), or mark exactly
/// one class default: `kubectl annotate ingressclass NAME
/// ingressclass.kubernetes.io/is-default-class=true`.
///
/// ## Example
/// ```yaml
/// kind: Ingress
/// spec:
///   ingressClassName: ngnix      # fires: the cluster's class is "nginx"
/// ```
#[detector(
    id = "ingress_class_missing",
    title = "Ingresses naming no existing IngressClass, or relying on a missing default",
    labels = ["kubernetes", "networking", "ingress"],
    level = Warn,
    requires = [INGRESSES, INGRESS_CLASSES],
    references = [
        "https://kubernetes.io/docs/concepts/services-networking/ingress/#ingress-class",
        "https://kubernetes.io/docs/concepts/services-networking/ingress/#default-ingress-class",
    ],
)]
pub struct IngressClassMissing;

const DEFAULT_ANNOTATION: &str = "ingressclass.kubernetes.io/is-default-class";

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let ingresses = ctx.get(&INGRESSES)?;
    let classes = ctx.get(&INGRESS_CLASSES)?;
    if classes.is_empty() && !ingresses.is_empty() {
        let mut out = Outcome::new()
            .evaluated(0)
            .not_judged("the scan has no IngressClasses");
        out.attach(
            "Not judged: the scan has no IngressClasses",
            serde_json::json!({"ingresses": ingresses.len()}),
        );
        return Ok(out);
    }
    let names: Vec<&str> = classes.iter().map(|c| c.name()).collect();
    let defaults: Vec<&str> = classes
        .iter()
        .filter(|c| {
            c.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(DEFAULT_ANNOTATION))
                .is_some_and(|v| v == "true")
        })
        .map(|c| c.name())
        .collect();
    let mut out = Outcome::new().evaluated(ingresses.len());
    for ingress in ingresses {
        let message = match requested_class(ingress) {
            Some((name, _)) if names.contains(&name) => continue,
            Some((name, legacy)) => {
                let field = if legacy {
                    format!("legacy annotation {LEGACY_CLASS_ANNOTATION}: {name}")
                } else {
                    format!("ingressClassName {name}")
                };
                format!(
                    "{field} names no existing IngressClass (the scan has {}): no controller is bound to serve it",
                    names.join(", ")
                )
            }
            None if defaults.len() == 1 => continue,
            None if defaults.is_empty() => format!(
                "no ingress class and no default IngressClass (the scan has {}, none marked {DEFAULT_ANNOTATION}): no controller is bound to serve it",
                names.join(", ")
            ),
            None => format!(
                "no ingress class and {} default IngressClasses ({}): the API server refuses new Ingresses without a class",
                defaults.len(),
                defaults.join(", ")
            ),
        };
        out.push(Finding::new(
            Level::Warn,
            Some(ingress.object_ref()),
            message,
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::{finding_lines, run_fixture};

    #[test]
    fn names_ingresses_without_a_usable_class() {
        let report = run_fixture("ingress_class_missing", "fail.yaml");
        let messages: Vec<_> = finding_lines(&report);
        assert_eq!(
            messages,
            vec![
                "Ingress/gateway: legacy annotation kubernetes.io/ingress.class: istio names no existing IngressClass (the scan has nginx): no controller is bound to serve it",
                "Ingress/tf-serving-ingress: no ingress class and no default IngressClass (the scan has nginx, none marked ingressclass.kubernetes.io/is-default-class): no controller is bound to serve it",
            ]
        );
    }

    #[test]
    fn passes_existing_classes_and_scans_without_classes() {
        assert!(run_fixture("ingress_class_missing", "pass.yaml").passed);
        let report = run_fixture("ingress_class_missing", "pass-no-classes.yaml");
        assert!(report.passed);
        assert!(
            report
                .attachment
                .iter()
                .any(|a| a.description == "Not judged: the scan has no IngressClasses")
        );
    }
}
