use crate::detectors::helpers::{
    human_duration, parse_time, seconds_since, server_discriminator, server_ref,
};
use crate::prelude::*;

/// ## What it detects
/// Nova servers caught in the middle of an operation for longer than `minutes` (a setting,
/// default 60): a `task_state` (`spawning`, `rebooting`, `resize_migrating`, `deleting`...)
/// or a transitional status (`BUILD`, `RESIZE`, `MIGRATING`, `REBUILD`, `HARD_REBOOT`,
/// `REBOOT`) whose server record was last `updated` that long before the scan. Servers in
/// ERROR are `openstack_failed_server`'s.
///
/// ## Why it matters
/// These operations take seconds to minutes. One that has not moved for an hour is stuck: a
/// compute service or conductor that died mid-operation, a message lost on the bus, a volume
/// or port that never attached. The server is locked in that state — most actions are
/// refused while a task is set — and its user cannot use, resize or delete it.
///
/// ## How to fix
/// See where it stopped: `openstack server show ID -c status -c OS-EXT-STS:task_state -c
/// OS-EXT-SRV-ATTR:host -c updated` and `openstack server event list ID`. Check the compute
/// service of its host (`openstack compute service list --host HOST`) and its logs. An admin
/// can clear the state with `openstack server set --state error ID` (then rebuild or delete
/// it) or `nova reset-state --active ID` once the VM is known to be fine. Tune the threshold
/// with `detectors: {openstack_stuck_server: {minutes: 120}}` in `detek.yaml`.
///
/// ## Example
/// ```json
/// {"id": "ec53630b-e4fb-442a-a748-c376f5c4345b", "status": "BUILD",
///  "OS-EXT-STS:task_state": "spawning", "updated": "2011-10-11T00:50:04Z"}
/// ```
#[detector(
    id = "openstack_stuck_server",
    title = "OpenStack servers stuck in a task or transitional status",
    labels = ["openstack", "compute", "server"],
    level = Warn,
    requires = [SERVERS],
    references = [
        "https://docs.openstack.org/api-guide/compute/server_concepts.html#server-status",
        "https://docs.openstack.org/nova/latest/admin/support-compute.html",
    ],
    settings = StuckServerSettings,
)]
pub struct OpenstackStuckServer;

/// Settings of `openstack_stuck_server`.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct StuckServerSettings {
    /// Minutes without a change after which a task or transitional status counts as stuck.
    #[setting(default = 60)]
    pub minutes: u64,
}

/// Statuses a server only passes through.
const TRANSITIONAL: &[&str] = &[
    "BUILD",
    "RESIZE",
    "MIGRATING",
    "REBUILD",
    "REBOOT",
    "HARD_REBOOT",
];

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let servers = ctx.get(&SERVERS)?;
    let settings: StuckServerSettings = ctx.settings_of()?;
    let threshold = settings.minutes.saturating_mul(60).min(i64::MAX as u64) as i64;
    let mut out = Outcome::new().evaluated(servers.len());
    let mut undated = Vec::new();
    for server in servers.iter().filter(|s| s.status != "ERROR") {
        let task = server.task_state.as_deref().filter(|t| !t.is_empty());
        let transitional = TRANSITIONAL.contains(&server.status.as_str());
        if task.is_none() && !transitional {
            continue;
        }
        let Some(updated) = server.updated.as_deref().and_then(parse_time) else {
            undated.push(server.describe());
            continue;
        };
        let Some(age) = seconds_since(updated, ctx.now) else {
            continue;
        };
        if age < threshold {
            continue;
        }
        let state = match task {
            Some(task) => format!("{} with task_state {task}", server.status),
            None => server.status.clone(),
        };
        let mut finding = Finding::new(
            Level::Warn,
            Some(server_ref(server)),
            format!(
                "server {} has been {state} since {updated} ({}), longer than {} minutes",
                server.id,
                human_duration(age),
                settings.minutes
            ),
        )
        .with_discriminator(server_discriminator(server));
        if let Some(host) = &server.host {
            finding = finding.with_evidence(format!("compute host {host}"));
        }
        if let Some(fault) = server.fault.as_ref().and_then(|f| f.message.as_deref()) {
            finding = finding.with_evidence(format!("fault: {fault}"));
        }
        out.push(finding);
    }
    if !undated.is_empty() {
        out.attach(
            "Not judged: servers in a task or transitional status without an `updated` time",
            serde_json::json!(undated),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::{finding_lines, scan_fixture_with};
    use detek_core::Settings;
    use std::time::{Duration, UNIX_EPOCH};

    /// 2011-10-11T02:00:00Z: 70 minutes after the BUILD server's last update.
    fn now() -> std::time::SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_318_298_400)
    }

    #[test]
    fn names_the_stuck_task_and_its_age() {
        let list = scan_fixture_with(
            "openstack_stuck_server/fail.json",
            &["openstack_stuck_server"],
            Settings::default(),
            now(),
        );
        assert_eq!(
            finding_lines(&list.reports[0]),
            [
                "Server/rs-reach-project/lc-test-2: server 12065 has been BUILD with task_state \
                 spawning since 2011-10-11T00:50:04Z (1h 9m), longer than 60 minutes",
                "Server/rs-reach-project/lc-test: server 12064 has been ACTIVE with task_state \
                 spawning since 2011-10-11T00:44:20Z (1h 15m), longer than 60 minutes",
            ]
        );
    }

    #[test]
    fn a_longer_threshold_passes() {
        let mut settings = Settings::default();
        settings.set("openstack_stuck_server.minutes", 90);
        let list = scan_fixture_with(
            "openstack_stuck_server/fail.json",
            &["openstack_stuck_server"],
            settings,
            now(),
        );
        assert!(list.reports[0].passed, "{:?}", list.reports[0].findings);
        assert_eq!(list.reports[0].evaluated, Some(2));
    }
}
