use super::{from_cluster, human_duration, seconds_since};
use crate::prelude::*;

/// ## What it detects
/// Services of type `LoadBalancer` whose `status.loadBalancer.ingress` is empty: no load
/// balancer was provisioned for them. Only Services written by a cluster (a dump or a live
/// scan: they carry a uid or creation time) are judged — manifests, including the
/// `status: {loadBalancer: {}}` that `kubectl create --dry-run -o yaml` writes, have no real
/// status. In live scans, Services younger than `grace_minutes` (a setting, default 10) are
/// left alone: cloud load balancers take a few minutes. Services with a `loadBalancerClass`
/// are named in the finding, since a controller of that class must exist.
///
/// ## Why it matters
/// Without an address the Service is unreachable from outside the cluster: DNS records
/// pointing at it (external-dns) are never created, and clients get nothing. Causes: no cloud
/// controller (bare metal, kind, minikube without `tunnel`, MetalLB not installed or out of
/// addresses), a quota reached in the cloud account, an annotation the provider rejects, or
/// a `loadBalancerClass` no controller serves.
///
/// ## How to fix
/// `kubectl describe svc NAME -n NS` shows the cloud controller's events
/// (`SyncLoadBalancerFailed` and why). Check the cloud controller manager or MetalLB logs and
/// quotas. If no external access is needed, use `type: ClusterIP` or an Ingress.
///
/// ## Example
/// ```yaml
/// kind: Service
/// metadata: {name: e2e-lb, creationTimestamp: "2025-10-01T12:00:00Z"}
/// spec: {type: LoadBalancer}
/// status:
///   loadBalancer: {}       # fires: no ingress IP or hostname
/// ```
#[detector(
    id = "loadbalancer_without_address",
    title = "LoadBalancer Services without an external address",
    labels = ["kubernetes", "state", "networking"],
    level = Error,
    requires = [SERVICES, CLUSTER_INFO],
    references = ["https://kubernetes.io/docs/concepts/services-networking/service/#loadbalancer"],
    settings = LoadbalancerWithoutAddressSettings,
)]
pub struct LoadbalancerWithoutAddress;

/// Settings of `loadbalancer_without_address`.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct LoadbalancerWithoutAddressSettings {
    /// In live scans, Services younger than this many minutes are left alone.
    #[setting(default = 10)]
    pub grace_minutes: i64,
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let services = ctx.get(&SERVICES)?;
    let settings: LoadbalancerWithoutAddressSettings = ctx.settings_of()?;
    let grace_minutes = settings.grace_minutes;
    let live = ctx.get(&CLUSTER_INFO)?.live;
    let mut out = Outcome::new();
    let mut evaluated = 0;
    for svc in services {
        let Some(spec) = &svc.spec else { continue };
        if spec.type_.as_deref() != Some("LoadBalancer") || !from_cluster(&svc.metadata) {
            continue;
        }
        evaluated += 1;
        let has_address = svc
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|lb| lb.ingress.as_ref())
            .is_some_and(|i| i.iter().any(|i| i.ip.is_some() || i.hostname.is_some()));
        if has_address {
            continue;
        }
        // Ages only mean something against a live clock; a dump may be minutes old or years.
        let created = svc.metadata.creation_timestamp.as_ref();
        let age = created
            .filter(|_| live)
            .map(|t| seconds_since(ctx.now, &t.0));
        if age.is_some_and(|a| a < grace_minutes * 60) {
            continue;
        }
        let since = age
            .map(|a| format!(" after {}", human_duration(a)))
            .unwrap_or_default();
        let mut f = Finding::new(
            Level::Error,
            Some(svc.object_ref()),
            format!(
                "LoadBalancer has no external address{since}: unreachable from outside the cluster"
            ),
        );
        if let (false, Some(t)) = (live, created) {
            f = f.with_evidence(format!("created {}", t.0));
        }
        if let Some(class) = &spec.load_balancer_class {
            f = f.with_evidence(format!(
                "loadBalancerClass {class}: is a controller of this class installed?"
            ));
        }
        out.push(f);
    }
    out.evaluated = Some(evaluated);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture;

    #[test]
    fn names_the_service_without_an_address() {
        let report = run_fixture("loadbalancer_without_address", "fail.yaml");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "Service/scraper/e2e-lb"
        );
        assert_eq!(
            f.message,
            "LoadBalancer has no external address: unreachable from outside the cluster"
        );
        assert_eq!(f.evidence, vec!["created 2026-01-13T18:38:44Z"]);
    }

    #[test]
    fn services_with_an_address_and_manifests_pass() {
        assert!(run_fixture("loadbalancer_without_address", "pass.json").passed);
        assert!(run_fixture("loadbalancer_without_address", "pass_manifest.yaml").passed);
    }
}
