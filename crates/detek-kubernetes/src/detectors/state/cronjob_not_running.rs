use super::{Cron, human_duration, seconds_since};
use crate::prelude::*;

/// ## What it detects
/// CronJobs (not suspended) whose schedule is not producing successful runs:
///
/// - **never scheduled**: no `status.lastScheduleTime`, although the first run after the
///   CronJob's creation was due more than `grace_hours` (a setting, default 48) ago;
/// - **failing**: no Job is active and the last successful run (`lastSuccessfulTime`) is more
///   than `grace_hours` older than the last scheduled one: the recent runs failed;
/// - **stopped** (live scans only): the next run after `lastScheduleTime` was due more than
///   `grace_hours` ago and did not happen.
///
/// Due times come from the schedule (five fields or `@daily`-style macros, read in UTC). For
/// a dump, "now" is the newest time written in the scanned CronJobs and Events, not the time
/// of the scan, so an old dump is not judged by today's date. CronJobs without status
/// (manifests) are not judged.
///
/// ## Why it matters
/// A CronJob that does not run or keeps failing does so silently: backups are not taken,
/// certificates not renewed, reports not sent — until somebody needs them. Typical causes: a
/// schedule in the wrong time zone or field order, a controller that gave up after more than
/// 100 missed start times (`startingDeadlineSeconds`), `concurrencyPolicy: Forbid` with a Job
/// that never ends, or a Job template that fails every time.
///
/// ## How to fix
/// `kubectl get cronjob NAME -n NS` (LAST SCHEDULE, ACTIVE), `kubectl describe cronjob NAME
/// -n NS` (events such as `FailedNeedsStart`, `TooManyMissedTimes`), and the last Jobs'
/// Pods' logs: `kubectl get jobs -n NS`, `kubectl logs job/JOB -n NS`. Test a run by hand with
/// `kubectl create job --from=cronjob/NAME NAME-manual -n NS`.
///
/// ## Example
/// ```yaml
/// kind: CronJob
/// spec: {schedule: "0 3 * * *"}
/// status:
///   lastScheduleTime: "2024-06-10T03:00:00Z"
///   lastSuccessfulTime: "2024-06-02T03:04:12Z"   # fires: no success in 8 days of runs
/// ```
#[detector(
    id = "cronjob_not_running",
    title = "CronJobs that never ran, stopped running, or keep failing",
    labels = ["kubernetes", "state", "batch"],
    level = Warn,
    requires = [CRON_JOBS, CLUSTER_INFO],
    references = ["https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#cron-job-limitations"],
    settings = CronjobNotRunningSettings,
)]
pub struct CronjobNotRunning;

/// Settings of `cronjob_not_running`.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct CronjobNotRunningSettings {
    /// Hours a due run may be late, or the last success older than the last run, before it counts.
    #[setting(default = 48)]
    pub grace_hours: i64,
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let cron_jobs = ctx.get(&CRON_JOBS)?;
    let settings: CronjobNotRunningSettings = ctx.settings_of()?;
    let grace = settings.grace_hours * 3600;
    let live = ctx.get(&CLUSTER_INFO)?.live;
    // One clock for the scan: a dump is judged as of the newest time it holds.
    let now = ctx.now;
    let mut out = Outcome::new();
    let mut evaluated = 0;
    for cj in cron_jobs {
        if cj.spec.suspend == Some(true) {
            continue;
        }
        let Some(status) = &cj.status else { continue };
        let Some(created) = cj.metadata.creation_timestamp.as_ref().map(|t| t.0) else {
            continue;
        };
        evaluated += 1;
        let schedule = cj.spec.schedule.as_str();
        let cron = Cron::parse(schedule);
        let last_schedule = status.last_schedule_time.as_ref().map(|t| t.0);
        let last_success = status.last_successful_time.as_ref().map(|t| t.0);
        let active = status.active.as_ref().is_some_and(|a| !a.is_empty());
        let message = match (last_schedule, last_success) {
            (None, _) => {
                let Some(due) = cron.as_ref().and_then(|c| c.next_after(created)) else {
                    continue;
                };
                if seconds_since(now, &due) <= grace {
                    continue;
                }
                format!(
                    "never scheduled: first run was due {due} ({} before the scan), schedule {schedule:?}",
                    human_duration(seconds_since(now, &due))
                )
            }
            (Some(scheduled), Some(succeeded))
                if !active && scheduled.as_second() - succeeded.as_second() > grace =>
            {
                format!(
                    "failing: last successful run {succeeded}, {} before the last scheduled run {scheduled}",
                    human_duration(scheduled.as_second() - succeeded.as_second())
                )
            }
            (Some(scheduled), _) if live => {
                let Some(due) = cron.as_ref().and_then(|c| c.next_after(scheduled)) else {
                    continue;
                };
                if seconds_since(now, &due) <= grace {
                    continue;
                }
                format!(
                    "stopped: no run scheduled since {scheduled}; the next was due {due}, schedule {schedule:?}"
                )
            }
            _ => continue,
        };
        out.push(Finding::new(Level::Warn, Some(cj.object_ref()), message));
    }
    out.evaluated = Some(evaluated);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture;

    #[test]
    fn reports_failing_and_never_scheduled_cronjobs() {
        let report = run_fixture("cronjob_not_running", "fail.yaml");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "CronJob/default/backup"
        );
        assert_eq!(
            f.message,
            "failing: last successful run 2023-02-02T23:59:41Z, 3d23h before the last scheduled run 2023-02-06T23:59:00Z"
        );

        let report = run_fixture("cronjob_not_running", "fail_never_scheduled.yaml");
        assert_eq!(report.findings.len(), 1);
        assert_eq!(
            report.findings[0].message,
            "never scheduled: first run was due 2023-03-01T00:00:00Z (9d12h before the scan), schedule \"@monthly\""
        );
    }

    #[test]
    fn running_and_recently_created_cronjobs_pass() {
        // k9s's CronJob: scheduled every minute, last run at the time of the dump.
        assert!(run_fixture("cronjob_not_running", "pass.json").passed);
        // Created the day before the dump with a monthly schedule: not due yet.
        assert!(run_fixture("cronjob_not_running", "pass_not_due.yaml").passed);
    }
}
