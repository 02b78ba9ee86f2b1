use crate::detectors::helpers::{server_discriminator, server_ref};
use crate::prelude::*;

/// ## What it detects
/// Nova servers in status `ERROR`, with the fault Nova recorded: its code, message and time
/// (`fault` of `GET /servers/detail`). With admin credentials every project's servers are
/// judged, else the scanned project's.
///
/// ## Why it matters
/// A server in ERROR is not running whatever it was created for, and it stays that way: Nova
/// does not retry a failed build, a failed resize or a failed migration by itself. It still
/// holds its quota (instances, cores, RAM), and often ports and volumes, so the next attempt
/// to create a replacement may fail on quota too. A fault like `No valid host was found`
/// points at capacity; `Build of instance ... aborted` at an image, network or volume problem.
///
/// ## How to fix
/// Read the fault: `openstack server show ID -c fault -c status -c OS-EXT-STS:task_state`
/// and the actions: `openstack server event list ID` (then `openstack server event show ID
/// REQUEST-ID` for the traceback, with admin rights). Fix the cause (capacity, image, network,
/// volume), then rebuild or recreate the server: `openstack server rebuild ID`, or delete it
/// and create it again. An admin may `openstack server set --state active ID` only when the
/// VM is known to be running fine.
///
/// ## Example
/// ```json
/// {"id": "2d05bd68-3fbb-4b47-9f38-c690a5d93e45", "name": "test_vm",
///  "status": "ERROR", "OS-EXT-STS:vm_state": "error",
///  "fault": {"code": 500, "created": "2013-12-05T21:07:07Z",
///            "message": "The server has either erred or is incapable of performing the requested operation. (HTTP 500)"}}
/// ```
#[detector(
    id = "openstack_failed_server",
    title = "OpenStack servers in ERROR",
    labels = ["openstack", "compute", "server"],
    level = Error,
    requires = [SERVERS],
    references = [
        "https://docs.openstack.org/api-guide/compute/server_concepts.html#server-status",
        "https://docs.openstack.org/api-guide/compute/faults.html",
    ],
)]
pub struct OpenstackFailedServer;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let servers = ctx.get(&SERVERS)?;
    let mut out = Outcome::new().evaluated(servers.len());
    for server in servers.iter().filter(|s| s.status == "ERROR") {
        let fault = match &server.fault {
            Some(fault) => {
                let code = fault
                    .code
                    .map_or("fault".to_string(), |c| format!("fault {c}"));
                let message = fault
                    .message
                    .as_deref()
                    .filter(|m| !m.is_empty())
                    .unwrap_or("no message");
                format!("{code}: {message}")
            }
            None => "no fault recorded".to_string(),
        };
        let mut finding = Finding::new(
            Level::Error,
            Some(server_ref(server)),
            format!("server {} is in ERROR: {fault}", server.id),
        )
        .with_discriminator(server_discriminator(server));
        if let Some(created) = server.fault.as_ref().and_then(|f| f.created.as_deref()) {
            finding = finding.with_evidence(format!("fault recorded at {created}"));
        }
        if let Some(vm_state) = &server.vm_state {
            finding = finding.with_evidence(format!("vm_state {vm_state}"));
        }
        if let Some(task) = &server.task_state {
            finding = finding.with_evidence(format!("task_state {task}"));
        }
        if let Some(host) = &server.host {
            finding = finding.with_evidence(format!("compute host {host}"));
        }
        out.push(finding);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::{finding_lines, scan_fixture};

    #[test]
    fn names_the_server_and_its_fault() {
        let list = scan_fixture(
            "openstack_failed_server/fail.json",
            &["openstack_failed_server"],
        );
        let report = &list.reports[0];
        assert_eq!(
            finding_lines(report),
            ["Server/dd3eca3de72846948f5d6d975660d325/test_vm: server \
                 2d05bd68-3fbb-4b47-9f38-c690a5d93e45 is in ERROR: fault 500: The server has \
                 either erred or is incapable of performing the requested operation. (HTTP 500) \
                 (Request-ID: req-5ec1e01c-bc04-43e7-957d-c810d4357908)"]
        );
        let f = &report.findings[0];
        assert_eq!(
            f.discriminator.as_deref(),
            Some("2d05bd68-3fbb-4b47-9f38-c690a5d93e45")
        );
        assert_eq!(
            f.evidence,
            ["fault recorded at 2013-12-05T21:07:07Z", "vm_state error"]
        );
        assert_eq!(report.evaluated, Some(1));
    }

    #[test]
    fn active_and_building_servers_pass() {
        // Nova's own servers/detail sample (ACTIVE) and libcloud's, whose BUILD server has a
        // fault ("No valid host was found.") but is not in ERROR.
        let list = scan_fixture(
            "openstack_failed_server/pass.json",
            &["openstack_failed_server"],
        );
        let report = &list.reports[0];
        assert!(report.passed, "{:?}", report.findings);
        assert_eq!(report.evaluated, Some(3));
    }
}
