use crate::prelude::*;

/// ## What it detects
/// Hosts the node checks could not reach or log in to over SSH: the connection refused or
/// timed out, the host key unknown or changed, the key refused. The reason is in the finding;
/// only that host's other checks are left out.
///
/// ## Why it matters
/// A node that cannot be checked is a node whose kernel parameters, kernel and drift nobody
/// knows — and a changed host key may be a reinstalled node or someone in the middle.
///
/// ## How to fix
/// Follow the reason: start sshd or open the port from the scanning host; for an unknown or
/// changed host key, verify the key out of band and add it to `~/.ssh/known_hosts`; for a
/// refused key, install the public key for the user the scan logs in as.
///
/// ## Example
/// ```text
/// node-5 (10.0.3.15:22): connection refused     # fires
/// ```
#[detector(
    id = "node_unreachable_ssh",
    title = "Nodes the node checks cannot reach over SSH",
    labels = ["node", "ssh"],
    level = Error,
    requires = [HOSTS],
    references = ["https://man.openbsd.org/ssh#VERIFYING_HOST_KEYS"],
)]
pub struct NodeUnreachableSsh;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let hosts = ctx.get(&HOSTS)?;
    let mut out = Outcome::new().evaluated(hosts.len());
    for host in hosts {
        if let Err(reason) = &host.facts {
            out.push(Finding::new(
                Level::Error,
                Some(host.object_ref()),
                format!("{} ({}): {reason}", host.name, host.address),
            ));
        }
    }
    Ok(out)
}
