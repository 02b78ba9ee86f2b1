//! Whether the addresses of ACTIVE servers answer from the scanning host: the collector step
//! that writes `openstack/server-reachability` for `openstack_unreachable_server`.
//!
//! Probing is I/O, so it is a collector (detectors are pure logic over the store); it reads
//! `openstack/servers` and the settings of `openstack_unreachable_server` (ports, timeout,
//! retries, concurrency, method), and runs only when that detector is selected (the planner
//! wants its key). Each address is probed by ICMP echo when the process may open an
//! unprivileged ICMP socket (`SOCK_DGRAM`/`IPPROTO_ICMP`, allowed by
//! `net.ipv4.ping_group_range`), and by TCP connect to the configured ports when it may not
//! or when the echo got no reply (security groups often drop ICMP): an accepted or refused
//! connection is an answer (a reset comes from the host's own network stack).

use crate::detectors::UnreachableServerSettings;
use crate::model::{
    AddressProbe, ProbeMethod, SERVER_REACHABILITY, SERVERS, Server, ServerReachability,
};
use detek_core::{BoxFuture, CollectContext, CollectError, Collector, CollectorMeta, Produced};
use futures::StreamExt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// The detector whose settings drive the probe.
const DETECTOR: &str = "openstack_unreachable_server";

/// Probes the addresses of ACTIVE servers (see the module docs).
pub struct ReachabilityCollector {
    meta: CollectorMeta,
}

impl ReachabilityCollector {
    pub fn new() -> Self {
        ReachabilityCollector {
            meta: CollectorMeta {
                id: "openstack/reachability",
                description: "probes the addresses of ACTIVE servers from the scanning host \
                              (ICMP echo, else TCP connect)",
                labels: vec!["openstack", "network"],
                requires: vec![SERVERS.id()],
                produces: vec![SERVER_REACHABILITY.id()],
            },
        }
    }
}

impl Default for ReachabilityCollector {
    fn default() -> Self {
        Self::new()
    }
}

impl Collector for ReachabilityCollector {
    fn meta(&self) -> &CollectorMeta {
        &self.meta
    }

    fn collect<'a>(
        &'a self,
        ctx: CollectContext<'a>,
    ) -> BoxFuture<'a, Result<Produced, CollectError>> {
        Box::pin(async move {
            let servers = ctx
                .store
                .get(&SERVERS)
                .map_err(|m| CollectError::new(m.to_string()))?;
            let settings: UnreachableServerSettings = ctx
                .settings
                .detector(DETECTOR)
                .map_err(|e| CollectError::new(e.to_string()))?;
            let options = ProbeOptions::from_settings(&settings)?;
            let reachability = probe_servers(servers, &options).await;
            let mut produced = Produced::new();
            produced.stat("addresses_probed", reachability.probes.len() as u64);
            produced.stat(
                "addresses_answering",
                reachability.probes.iter().filter(|p| p.answered).count() as u64,
            );
            produced.put(&SERVER_REACHABILITY, reachability);
            Ok(produced)
        })
    }
}

/// How to probe, from the detector's settings.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    pub ports: Vec<u16>,
    pub timeout: Duration,
    /// 1 + retries.
    pub attempts: u32,
    pub concurrency: usize,
    /// ICMP echo is wanted (`method: auto` or `icmp`).
    pub icmp: bool,
    /// TCP connect is wanted (`method: auto` or `tcp`, or ICMP is not allowed).
    pub tcp: bool,
}

impl ProbeOptions {
    pub fn from_settings(settings: &UnreachableServerSettings) -> Result<Self, CollectError> {
        let (icmp, tcp) = match settings.method.as_str() {
            "auto" => (true, true),
            "icmp" => (true, false),
            "tcp" => (false, true),
            other => {
                return Err(CollectError::new(format!(
                    "{DETECTOR}.method: expected auto, icmp or tcp, found {other:?}"
                )));
            }
        };
        if tcp && settings.ports.is_empty() {
            return Err(CollectError::new(format!(
                "{DETECTOR}.ports: no port to probe by TCP connect"
            )));
        }
        Ok(ProbeOptions {
            ports: settings.ports.clone(),
            timeout: Duration::from_millis(settings.timeout_ms.max(1)),
            attempts: settings.retries.saturating_add(1),
            concurrency: settings.concurrency.max(1),
            icmp,
            tcp,
        })
    }
}

/// Probe every address of every ACTIVE server, `options.concurrency` addresses at a time;
/// verdicts in server order.
pub async fn probe_servers(servers: &[Server], options: &ProbeOptions) -> ServerReachability {
    let icmp_available = if options.icmp {
        icmp_socket_allowed()
    } else {
        Err("not asked for (method: tcp)".to_string())
    };
    let use_icmp = icmp_available.is_ok();
    // Without ICMP, TCP is the only way, even with `method: icmp`.
    let use_tcp = options.tcp || !use_icmp;
    let method_note = match (&icmp_available, use_tcp) {
        (Ok(()), true) => format!(
            "ICMP echo (unprivileged ICMP socket), then {} when no echo reply came",
            ProbeMethod::TcpConnect {
                ports: options.ports.clone()
            }
        ),
        (Ok(()), false) => "ICMP echo (unprivileged ICMP socket)".to_string(),
        (Err(why), _) => format!(
            "{}: ICMP echo not used ({why})",
            ProbeMethod::TcpConnect {
                ports: options.ports.clone()
            }
        ),
    };
    // Owned targets: borrowed ones in a stream of futures trip the compiler's higher-ranked
    // lifetime inference (the collector's future must be `Send` for any lifetime).
    let targets: Vec<(String, String, String)> = servers
        .iter()
        .filter(|s| s.status == "ACTIVE")
        .flat_map(|s| {
            s.all_addresses()
                .map(|(net, a)| (s.id.clone(), net.to_string(), a.addr.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    let probes = futures::stream::iter(targets)
        .map(|target| probe_target(target, use_icmp, use_tcp, options))
        .buffered(options.concurrency)
        .collect::<Vec<_>>()
        .await;
    ServerReachability {
        method_note,
        timeout_ms: options.timeout.as_millis() as u64,
        attempts: options.attempts,
        probes,
    }
}

async fn probe_target(
    (server_id, network, address): (String, String, String),
    icmp: bool,
    tcp: bool,
    options: &ProbeOptions,
) -> AddressProbe {
    let (methods, answered, detail) = match address.parse::<IpAddr>() {
        Ok(ip) => probe_address(ip, icmp, tcp, options).await,
        Err(_) => (Vec::new(), false, "not an IP address".to_string()),
    };
    AddressProbe {
        server_id,
        network,
        address,
        methods,
        answered,
        detail,
    }
}

/// Probe one address: ICMP echo (when allowed), then TCP connect (when wanted).
async fn probe_address(
    ip: IpAddr,
    icmp: bool,
    tcp: bool,
    options: &ProbeOptions,
) -> (Vec<ProbeMethod>, bool, String) {
    let mut methods = Vec::new();
    let mut seen = Vec::new();
    if icmp {
        methods.push(ProbeMethod::IcmpEcho);
        let (timeout, attempts) = (options.timeout, options.attempts);
        let echo = tokio::task::spawn_blocking(move || icmp_echo(ip, timeout, attempts))
            .await
            .unwrap_or_else(|e| Err(io::Error::other(e.to_string())));
        match echo {
            Ok(true) => return (methods, true, "ICMP echo reply".to_string()),
            Ok(false) => seen.push(format!(
                "no ICMP echo reply in {}",
                attempts_text(options.attempts)
            )),
            Err(e) => seen.push(format!("ICMP echo failed: {e}")),
        }
    }
    if tcp {
        methods.push(ProbeMethod::TcpConnect {
            ports: options.ports.clone(),
        });
        match tcp_answer(ip, options).await {
            Ok(answer) => {
                seen.push(answer);
                return (methods, true, seen.join("; "));
            }
            Err(silence) => seen.push(silence),
        }
    }
    (methods, false, seen.join("; "))
}

/// Connect to every port, `attempts` times at most: the first accepted or refused connection
/// is an answer; else what the last attempt saw.
async fn tcp_answer(ip: IpAddr, options: &ProbeOptions) -> Result<String, String> {
    let mut last_errors: Vec<(u16, String)> = Vec::new();
    for _ in 0..options.attempts {
        let connects = options.ports.iter().map(|&port| async move {
            let addr = SocketAddr::new(ip, port);
            let result =
                tokio::time::timeout(options.timeout, tokio::net::TcpStream::connect(addr)).await;
            (port, result)
        });
        last_errors.clear();
        for (port, result) in futures::future::join_all(connects).await {
            match result {
                Ok(Ok(_stream)) => return Ok(format!("tcp/{port} accepted")),
                Ok(Err(e)) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    return Ok(format!("tcp/{port} refused (the host answered)"));
                }
                Ok(Err(e)) => last_errors.push((port, e.to_string())),
                Err(_) => last_errors.push((port, "no answer".to_string())),
            }
        }
    }
    let ports: Vec<String> = options.ports.iter().map(|p| format!("tcp/{p}")).collect();
    let other: Vec<String> = last_errors
        .iter()
        .filter(|(_, e)| e != "no answer")
        .map(|(p, e)| format!("tcp/{p}: {e}"))
        .collect();
    let mut text = format!(
        "{}: no answer in {}",
        ports.join(", "),
        attempts_text(options.attempts)
    );
    if !other.is_empty() {
        text.push_str(&format!(" ({})", other.join(", ")));
    }
    Err(text)
}

fn attempts_text(attempts: u32) -> String {
    match attempts {
        1 => "1 attempt".to_string(),
        n => format!("{n} attempts"),
    }
}

/// Whether this process may open an unprivileged ICMP echo socket; the reason when not.
pub fn icmp_socket_allowed() -> Result<(), String> {
    match icmp_socket(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)) {
        Ok(_) => Ok(()),
        Err(e) => {
            let range = std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range")
                .map(|r| r.split_whitespace().collect::<Vec<_>>().join(" "))
                .ok();
            Err(match range {
                Some(range) => format!(
                    "unprivileged ICMP sockets are not allowed for this process: {e}; \
                     net.ipv4.ping_group_range = {range}"
                ),
                None => format!("unprivileged ICMP sockets are not allowed: {e}"),
            })
        }
    }
}

fn icmp_socket(ip: IpAddr) -> io::Result<socket2::Socket> {
    use socket2::{Domain, Protocol, Socket, Type};
    match ip {
        IpAddr::V4(_) => Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::ICMPV4)),
        IpAddr::V6(_) => Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::ICMPV6)),
    }
}

/// Send up to `attempts` echo requests to `ip`, each waiting `timeout` for its reply. The
/// kernel fills in the identifier and checksum of an unprivileged ICMP socket and hands back
/// only the replies to it.
fn icmp_echo(ip: IpAddr, timeout: Duration, attempts: u32) -> io::Result<bool> {
    let socket = icmp_socket(ip)?;
    socket.connect(&SocketAddr::new(ip, 0).into())?;
    let socket: std::net::UdpSocket = socket.into();
    let (request, reply) = match ip {
        IpAddr::V4(_) => (8u8, 0u8),
        IpAddr::V6(_) => (128u8, 129u8),
    };
    let mut buf = [0u8; 1500];
    for attempt in 0..attempts {
        let seq = (attempt as u16).wrapping_add(1);
        let mut packet = [0u8; 16];
        packet[0] = request;
        packet[6..8].copy_from_slice(&seq.to_be_bytes());
        packet[8..].copy_from_slice(b"detek-pr");
        socket.send(&packet)?;
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            socket.set_read_timeout(Some(left))?;
            match socket.recv(&mut buf) {
                Ok(n) if n >= 8 && buf[0] == reply && buf[6..8] == seq.to_be_bytes() => {
                    return Ok(true);
                }
                Ok(_) => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    break;
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(false)
}
