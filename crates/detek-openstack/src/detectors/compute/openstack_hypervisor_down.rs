use crate::prelude::*;

/// ## What it detects
/// Nova hypervisors that are enabled but whose state is `down` (`os-hypervisors/detail`):
/// the compute service behind them stopped reporting. The finding lists the servers the
/// hypervisor hosts — from the hypervisor's own server list when the API gave it, else the
/// servers whose `OS-EXT-SRV-ATTR:hypervisor_hostname` names it (admin credentials).
///
/// ## Why it matters
/// Every server on a down hypervisor is at risk: Nova cannot act on them (stop, migrate,
/// resize, delete), their status in the API is no longer updated, and if the host itself is
/// dead, so are they — while the API may still call them ACTIVE. The list of hosted servers is
/// the list of what to check, and evacuate.
///
/// ## How to fix
/// `openstack hypervisor show HOST` and `openstack compute service list --host HOST`. Bring
/// `nova-compute` back (service, message bus, libvirt). If the host is lost, disable its
/// compute service, force it down (`openstack compute service set --down HOST
/// nova-compute`) and evacuate its servers: `openstack server evacuate ID` (or `nova
/// host-evacuate HOST`).
///
/// ## Example
/// ```json
/// {"hypervisor_hostname": "fake-mini", "status": "enabled", "state": "down",
///  "servers": [{"name": "test_server1", "uuid": "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"}]}
/// ```
#[detector(
    id = "openstack_hypervisor_down",
    title = "Enabled hypervisors that are down, with the servers they host",
    labels = ["openstack", "compute", "hypervisor"],
    level = Error,
    requires = [HYPERVISORS, SERVERS],
    references = [
        "https://docs.openstack.org/api-ref/compute/#hypervisors-os-hypervisors",
        "https://docs.openstack.org/nova/latest/admin/evacuate.html",
    ],
)]
pub struct OpenstackHypervisorDown;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let hypervisors = ctx.get(&HYPERVISORS)?;
    let servers = ctx.get(&SERVERS)?;
    let mut out = Outcome::new().evaluated(hypervisors.len());
    for hypervisor in hypervisors {
        if hypervisor.state != "down" || hypervisor.status != "enabled" {
            continue;
        }
        let name = &hypervisor.hypervisor_hostname;
        let hosted: Vec<String> = match &hypervisor.servers {
            Some(listed) => listed
                .iter()
                .map(|s| match s.name.as_str() {
                    "" => s.uuid.clone(),
                    n => format!("{n} ({})", s.uuid),
                })
                .collect(),
            None => servers
                .iter()
                .filter(|s| s.hypervisor_hostname.as_deref() == Some(name.as_str()))
                .map(Server::describe)
                .collect(),
        };
        let hosting = match hosted.len() {
            0 => "it hosts no server".to_string(),
            1 => format!("it hosts 1 server: {}", hosted[0]),
            n => format!("it hosts {n} servers: {}", hosted.join(", ")),
        };
        let mut finding = Finding::new(
            Level::Error,
            Some(ObjectRef::new("Hypervisor", None, name.as_str())),
            format!("hypervisor {name} is enabled but down; {hosting}"),
        );
        if let Some(ip) = &hypervisor.host_ip {
            finding = finding.with_evidence(format!("host IP {ip}"));
        }
        if let Some(service) = &hypervisor.service {
            finding = finding.with_evidence(format!("compute service host {}", service.host));
        }
        out.push(finding);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::{finding_lines, scan_fixture};

    #[test]
    fn names_the_hypervisor_and_the_servers_it_hosts() {
        let list = scan_fixture(
            "openstack_hypervisor_down/fail.json",
            &["openstack_hypervisor_down"],
        );
        assert_eq!(
            finding_lines(&list.reports[0]),
            [
                "Hypervisor/fake-mini: hypervisor fake-mini is enabled but down; it hosts 2 \
                 servers: test_server1 (aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa), test_server2 \
                 (bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb)",
                "Hypervisor/host1: hypervisor host1 is enabled but down; it hosts 1 server: \
                 new-server-test (2ce4c5b3-2866-4972-93ce-77a2ea46a7f9)",
            ]
        );
    }

    #[test]
    fn hypervisors_up_pass() {
        let list = scan_fixture(
            "openstack_hypervisor_down/pass.json",
            &["openstack_hypervisor_down"],
        );
        assert!(list.reports[0].passed, "{:?}", list.reports[0].findings);
        assert_eq!(list.reports[0].evaluated, Some(1));
    }
}
