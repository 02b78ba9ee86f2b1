use crate::detectors::helpers::{server_discriminator, server_ref};
use crate::prelude::*;
use std::collections::HashMap;

/// ## What it detects
/// ACTIVE Nova servers none of whose addresses answers from the host running detek. Each
/// address is probed by ICMP echo when the process may open an unprivileged ICMP socket
/// (`net.ipv4.ping_group_range` includes its group), and by TCP connect to the `ports` setting
/// (default 22 and 443) when it may not, or when the echo got no reply; an accepted or a
/// refused connection both count as an answer. Probes run concurrently (`concurrency`), each
/// attempt bounded by `timeout_ms`, retried `retries` times. The finding names every address
/// that was probed, how, and what was seen.
///
/// ## Why it matters
/// Nova says the server is ACTIVE, but nothing answers: the guest may have hung or panicked,
/// lost its network configuration (DHCP, cloud-init), or its port may be down on the
/// hypervisor (OVS/OVN flows, a dead agent). Whatever runs on it is unavailable while every
/// API status looks healthy — the first check the original detek OpenStack extension made.
///
/// ## How to fix
/// Look at the guest: `openstack console log show ID` (kernel panic, cloud-init or DHCP
/// errors) and `openstack console url show ID`. Check its port: `openstack port list --server
/// ID` (status ACTIVE, binding), its security groups (ICMP and the probed ports must be
/// allowed from the scanning host), and the network agents of its hypervisor
/// (`openstack network agent list --host HOST`). A hung guest needs `openstack server reboot
/// --hard ID`. If the scanning host simply has no route to these networks, select the
/// addresses it can reach, or run detek from inside the cloud.
///
/// ## Example
/// ```text
/// server web-1 (ACTIVE) 10.0.0.12 (private):
///   no ICMP echo reply in 3 attempts; tcp/22, tcp/443: no answer in 3 attempts
/// ```
#[detector(
    id = "openstack_unreachable_server",
    title = "ACTIVE OpenStack servers that do not answer",
    labels = ["openstack", "compute", "server", "network"],
    level = Error,
    requires = [SERVERS, SERVER_REACHABILITY],
    references = [
        "https://docs.openstack.org/nova/latest/admin/support-compute.html",
        "https://man7.org/linux/man-pages/man7/icmp.7.html",
    ],
    settings = UnreachableServerSettings,
)]
pub struct OpenstackUnreachableServer;

/// Settings of `openstack_unreachable_server` (read by the probe, `crate::probe`).
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct UnreachableServerSettings {
    /// TCP ports to connect to when ICMP echo cannot be used or got no reply.
    #[setting(default = [22u16, 443])]
    pub ports: Vec<u16>,
    /// How long one attempt waits for an answer, in milliseconds.
    #[setting(default = 1000)]
    pub timeout_ms: u64,
    /// Attempts after the first one before an address counts as not answering.
    #[setting(default = 2)]
    pub retries: u32,
    /// Addresses probed at the same time.
    #[setting(default = 128)]
    pub concurrency: usize,
    /// `auto` (ICMP echo where allowed, then TCP), `icmp` (TCP where ICMP is not) or `tcp`.
    #[setting(default = "auto")]
    pub method: String,
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let servers = ctx.get(&SERVERS)?;
    let reachability = ctx.get(&SERVER_REACHABILITY)?;
    let mut by_server: HashMap<&str, Vec<&AddressProbe>> = HashMap::new();
    for probe in &reachability.probes {
        by_server.entry(&probe.server_id).or_default().push(probe);
    }
    let active: Vec<&Server> = servers.iter().filter(|s| s.status == "ACTIVE").collect();
    let mut out = Outcome::new();
    let mut evaluated: u64 = 0;
    let mut without_address = Vec::new();
    for server in active {
        let Some(probes) = by_server.get(server.id.as_str()) else {
            without_address.push(server.describe());
            continue;
        };
        evaluated += 1;
        if probes.iter().any(|p| p.answered) {
            continue;
        }
        let addresses: Vec<String> = probes
            .iter()
            .map(|p| format!("{} ({})", p.address, p.network))
            .collect();
        let mut finding = Finding::new(
            Level::Error,
            Some(server_ref(server)),
            format!(
                "ACTIVE server {} does not answer from the scanning host at {}",
                server.id,
                addresses.join(", ")
            ),
        )
        .with_discriminator(server_discriminator(server));
        for probe in probes {
            let methods: Vec<String> = probe.methods.iter().map(|m| m.to_string()).collect();
            finding = finding.with_evidence(format!(
                "{} probed by {}: {}",
                probe.address,
                methods.join(", then "),
                probe.detail
            ));
        }
        finding = finding.with_evidence(format!(
            "each attempt waited {} ms; {}",
            reachability.timeout_ms, reachability.method_note
        ));
        out.push(finding);
    }
    out.evaluated = Some(evaluated);
    if !without_address.is_empty() {
        out.attach(
            "Not judged: ACTIVE servers without an address",
            serde_json::json!(without_address),
        );
    }
    out.attach(
        "How addresses were probed",
        serde_json::json!(reachability.method_note),
    );
    Ok(out)
}

// Tested against loopback listeners in tests/unreachable_server.rs.
