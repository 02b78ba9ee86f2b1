use crate::prelude::*;

/// ## What it detects
/// Neutron agents (Open vSwitch, L3, DHCP, metadata, OVN controller...) that are enabled
/// (`admin_state_up: true`) but not `alive`: Neutron has not seen their heartbeat within
/// `agent_down_time` (75 s by default). Agents disabled by an operator are left out. The
/// finding gives the last heartbeat.
///
/// ## Why it matters
/// A dead L2 agent stops wiring new ports on its host (new servers there get no network); a
/// dead L3 agent stops routing and floating IPs for its routers; a dead DHCP agent stops
/// answering DHCP for its networks, so servers that boot or renew lose their address; a dead
/// metadata agent breaks cloud-init. openstack-exporter's alert rules page on exactly this.
///
/// ## How to fix
/// `openstack network agent list --long` and `openstack network agent show ID`. On the host:
/// `systemctl status neutron-openvswitch-agent` (or the agent named), its log, the message
/// bus connection and the clock. Move routers and networks off a host that is gone
/// (`openstack network agent remove router`, `... remove network`), then delete the agent
/// record.
///
/// ## Example
/// ```json
/// {"binary": "neutron-l3-agent", "host": "agenthost1", "agent_type": "L3 agent",
///  "admin_state_up": true, "alive": false, "heartbeat_timestamp": "2017-09-12 19:40:08"}
/// ```
#[detector(
    id = "openstack_network_agent_down",
    title = "Enabled Neutron agents that are not alive",
    labels = ["openstack", "network", "control-plane"],
    level = Error,
    requires = [NETWORK_AGENTS],
    references = [
        "https://docs.openstack.org/api-ref/network/v2/#agents",
        "https://docs.openstack.org/neutron/latest/admin/config-agents.html",
    ],
)]
pub struct OpenstackNetworkAgentDown;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let agents = ctx.get(&NETWORK_AGENTS)?;
    let mut out = Outcome::new().evaluated(agents.len());
    for agent in agents.iter().filter(|a| a.admin_state_up && !a.alive) {
        let heartbeat = match &agent.heartbeat_timestamp {
            Some(t) => format!("last heartbeat {t}"),
            None => "no heartbeat recorded".to_string(),
        };
        let mut finding = Finding::new(
            Level::Error,
            Some(ObjectRef::new(
                "NetworkAgent",
                None,
                format!("{}@{}", agent.binary, agent.host),
            )),
            format!(
                "{} on {} is enabled but not alive ({heartbeat})",
                agent.binary, agent.host
            ),
        )
        .with_discriminator(agent.id.as_str());
        if !agent.agent_type.is_empty() {
            finding = finding.with_evidence(format!("agent type {}", agent.agent_type));
        }
        finding = finding.with_evidence(format!("agent id {}", agent.id));
        out.push(finding);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::{finding_lines, scan_fixture};

    #[test]
    fn names_the_dead_agent_and_its_last_heartbeat() {
        let list = scan_fixture(
            "openstack_network_agent_down/fail.json",
            &["openstack_network_agent_down"],
        );
        let report = &list.reports[0];
        assert_eq!(
            finding_lines(report),
            [
                "NetworkAgent/neutron-l3-agent@agenthost1: neutron-l3-agent on agenthost1 is \
                 enabled but not alive (last heartbeat 2017-09-12 19:40:08)"
            ]
        );
        assert_eq!(report.evaluated, Some(5));
    }

    #[test]
    fn live_agents_pass() {
        let list = scan_fixture(
            "openstack_network_agent_down/pass.json",
            &["openstack_network_agent_down"],
        );
        assert!(list.reports[0].passed, "{:?}", list.reports[0].findings);
    }
}
