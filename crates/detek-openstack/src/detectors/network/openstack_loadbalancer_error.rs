use crate::prelude::*;

/// ## What it detects
/// Octavia load balancers whose `provisioning_status` or `operating_status` is `ERROR`
/// (`GET /v2/lbaas/loadbalancers`). `DEGRADED` (some members down) and `OFFLINE`
/// (administratively down) are left out.
///
/// ## Why it matters
/// Provisioning ERROR means Octavia failed to build or update the load balancer (amphora
/// boot, network plumbing, certificate): it may serve an old configuration or nothing, and it
/// accepts no change until repaired. Operating ERROR means it is not forwarding traffic:
/// every Service of type LoadBalancer or Ingress behind it is unreachable.
///
/// ## How to fix
/// `openstack loadbalancer show ID` and `openstack loadbalancer status show ID` (the status
/// tree shows which listener, pool or member fails); `openstack loadbalancer amphora list
/// --loadbalancer ID` for the amphorae. An admin can rebuild it with `openstack
/// loadbalancer failover ID`; read the octavia-worker log for the reason first (quota, image,
/// flavor, network).
///
/// ## Example
/// ```json
/// {"id": "607226db-27ef-4d41-ae89-f2a800e9c2db", "name": "best_load_balancer",
///  "provisioning_status": "ERROR", "operating_status": "ONLINE"}
/// ```
#[detector(
    id = "openstack_loadbalancer_error",
    title = "Octavia load balancers in ERROR",
    labels = ["openstack", "network", "load-balancer"],
    level = Error,
    requires = [LOADBALANCERS],
    references = [
        "https://docs.openstack.org/api-ref/load-balancer/v2/#status-codes",
        "https://docs.openstack.org/octavia/latest/admin/failover-circuit-breaker.html",
    ],
)]
pub struct OpenstackLoadbalancerError;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let balancers = ctx.get(&LOADBALANCERS)?;
    let mut out = Outcome::new().evaluated(balancers.len());
    for lb in balancers
        .iter()
        .filter(|lb| lb.provisioning_status == "ERROR" || lb.operating_status == "ERROR")
    {
        let name = if lb.name.is_empty() { &lb.id } else { &lb.name };
        let mut finding = Finding::new(
            Level::Error,
            Some(ObjectRef::new(
                "LoadBalancer",
                lb.project_id.as_deref(),
                name.as_str(),
            )),
            format!(
                "load balancer {}: provisioning status {}, operating status {}",
                lb.id, lb.provisioning_status, lb.operating_status
            ),
        )
        .with_discriminator(lb.id.as_str());
        if let Some(vip) = &lb.vip_address {
            finding = finding.with_evidence(format!("VIP {vip}"));
        }
        if let Some(updated) = &lb.updated_at {
            finding = finding.with_evidence(format!("last updated {updated}"));
        }
        out.push(finding);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::{finding_lines, scan_fixture};

    #[test]
    fn names_the_load_balancer_and_its_statuses() {
        let list = scan_fixture(
            "openstack_loadbalancer_error/fail.json",
            &["openstack_loadbalancer_error"],
        );
        assert_eq!(
            finding_lines(&list.reports[0]),
            [
                "LoadBalancer/e3cd678b11784734bc366148aa37580e/best_load_balancer: load \
                 balancer 607226db-27ef-4d41-ae89-f2a800e9c2db: provisioning status ERROR, \
                 operating status ONLINE"
            ]
        );
        assert_eq!(
            list.reports[0].findings[0].evidence,
            ["VIP 203.0.113.50", "last updated 2017-02-28T00:43:30"]
        );
    }

    #[test]
    fn an_active_online_load_balancer_passes_and_no_octavia_skips() {
        let list = scan_fixture(
            "openstack_loadbalancer_error/pass.json",
            &["openstack_loadbalancer_error"],
        );
        assert!(list.reports[0].passed, "{:?}", list.reports[0].findings);

        let list = scan_fixture(
            "openstack_loadbalancer_error/no-octavia.json",
            &["openstack_loadbalancer_error"],
        );
        assert!(list.reports.is_empty());
        assert_eq!(
            list.skipped["openstack_loadbalancer_error"],
            "the catalog of cloud test (project demo, region RegionOne) has no load-balancer \
             service"
        );
    }
}
