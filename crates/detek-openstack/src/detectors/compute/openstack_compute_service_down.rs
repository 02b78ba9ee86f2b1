use crate::prelude::*;

/// ## What it detects
/// Nova services (`nova-compute`, `nova-scheduler`, `nova-conductor`...) that are enabled
/// but whose state is `down` in `os-services`: Nova has not seen their heartbeat for
/// `service_down_time` (60 s by default), or an operator forced them down. Disabled
/// services are left out: someone took them out of service on purpose; so are those of a
/// cell that does not answer (status `UNKNOWN`, listed apart). The finding gives the last
/// heartbeat.
///
/// ## Why it matters
/// A down `nova-compute` cannot start, stop, migrate or delete the servers of its host, and
/// the scheduler stops placing new servers there: its servers are frozen in whatever state
/// they are in, and new builds may fail with `No valid host was found`. A down scheduler or
/// conductor stops every build and most actions cloud-wide. This is the first alert
/// openstack-exporter's rules page on.
///
/// ## How to fix
/// `openstack compute service list --long` shows the state and last update. On the host,
/// check the service (`systemctl status nova-compute`, its log), its connection to the
/// message bus (RabbitMQ) and the database, and the clock (NTP: a skewed clock looks like a
/// missed heartbeat). If the host is gone for good, disable the service (`openstack compute
/// service set --disable --disable-reason "..." HOST nova-compute`) and evacuate its servers.
///
/// ## Example
/// ```json
/// {"binary": "nova-scheduler", "host": "host2", "status": "enabled", "state": "down",
///  "updated_at": "2012-09-19T06:55:34.000000", "zone": "internal"}
/// ```
#[detector(
    id = "openstack_compute_service_down",
    title = "Enabled Nova services that are down",
    labels = ["openstack", "compute", "control-plane"],
    level = Error,
    requires = [COMPUTE_SERVICES],
    references = [
        "https://docs.openstack.org/api-ref/compute/#compute-services-os-services",
        "https://docs.openstack.org/nova/latest/admin/service-groups.html",
    ],
)]
pub struct OpenstackComputeServiceDown;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let services = ctx.get(&COMPUTE_SERVICES)?;
    let mut out = Outcome::new().evaluated(services.len());
    let mut disabled = Vec::new();
    let mut unknown = Vec::new();
    for service in services {
        if service.status == "UNKNOWN" {
            unknown.push(format!("{} on {}", service.binary, service.host));
            continue;
        }
        if service.state != "down" {
            continue;
        }
        if service.status != "enabled" {
            disabled.push(format!("{} on {}", service.binary, service.host));
            continue;
        }
        let heartbeat = match &service.updated_at {
            Some(t) => format!("last heartbeat {t}"),
            None => "no heartbeat recorded".to_string(),
        };
        let mut finding = Finding::new(
            Level::Error,
            Some(ObjectRef::new(
                "ComputeService",
                None,
                format!("{}@{}", service.binary, service.host),
            )),
            format!(
                "{} on {} is enabled but down ({heartbeat})",
                service.binary, service.host
            ),
        );
        if service.forced_down == Some(true) {
            finding = finding.with_evidence("forced down by an operator (forced_down: true)");
        }
        if let Some(zone) = &service.zone {
            finding = finding.with_evidence(format!("zone {zone}"));
        }
        out.push(finding);
    }
    if !unknown.is_empty() {
        out.attach(
            "Not judged: services of a cell that does not answer (status UNKNOWN)",
            serde_json::json!(unknown),
        );
    }
    if !disabled.is_empty() {
        out.attach(
            "Not judged: down services that are disabled",
            serde_json::json!(disabled),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::{finding_lines, scan_fixture};

    #[test]
    fn names_the_enabled_down_service_and_leaves_disabled_ones_out() {
        let list = scan_fixture(
            "openstack_compute_service_down/fail.json",
            &["openstack_compute_service_down"],
        );
        let report = &list.reports[0];
        assert_eq!(
            finding_lines(report),
            [
                "ComputeService/nova-scheduler@host2: nova-scheduler on host2 is enabled but \
                 down (last heartbeat 2012-09-19T06:55:34.000000)"
            ]
        );
        assert_eq!(report.findings[0].evidence, ["zone internal"]);
        assert_eq!(report.evaluated, Some(4));
        let not_judged = report
            .attachment
            .iter()
            .find(|a| a.description.starts_with("Not judged"))
            .unwrap();
        assert_eq!(
            not_judged.data,
            serde_json::json!(["nova-compute on host2"])
        );
    }

    #[test]
    fn services_up_pass_and_a_down_cell_is_not_judged() {
        let list = scan_fixture(
            "openstack_compute_service_down/pass.json",
            &["openstack_compute_service_down"],
        );
        assert!(list.reports[0].passed, "{:?}", list.reports[0].findings);

        // Nova's sample of a cell that does not answer (microversion 2.69).
        let list = scan_fixture(
            "openstack_compute_service_down/down-cell.json",
            &["openstack_compute_service_down"],
        );
        let report = &list.reports[0];
        assert!(report.passed);
        assert_eq!(
            report.attachment[1].data,
            serde_json::json!(["nova-compute on host1", "nova-compute on host2"])
        );
    }
}
