use crate::prelude::*;

/// ## What it detects
/// CronJobs with `spec.suspend: true`: the schedule is switched off and no new Job will be
/// created until it is resumed. When the scan has the status, the time of the last run is
/// added.
///
/// ## Why it matters
/// Suspending a CronJob is meant to be temporary (during an incident, a migration, a
/// maintenance window) and is easily forgotten: backups, certificate renewals, cleanups and
/// reports silently stop. Nothing alerts on a schedule that no longer fires.
///
/// ## How to fix
/// If the pause is over, resume it: `kubectl patch cronjob NAME -n NS -p
/// '{"spec":{"suspend":false}}'` (note that missed runs within `startingDeadlineSeconds` may
/// start at once). If the CronJob is no longer wanted, delete it; if it is a template only run
/// by hand (`kubectl create job --from=cronjob/NAME`), suppress this finding with the
/// `detek.io/ignore: cronjob_suspended` annotation.
///
/// ## Example
/// ```yaml
/// kind: CronJob
/// spec:
///   schedule: "* * * * *"
///   suspend: true      # fires
/// ```
#[detector(
    id = "cronjob_suspended",
    title = "Suspended CronJobs",
    labels = ["kubernetes", "state", "batch"],
    level = Warn,
    requires = [CRON_JOBS],
    references = ["https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#schedule-suspension"],
)]
pub struct CronjobSuspended;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let cron_jobs = ctx.get(&CRON_JOBS)?;
    let mut out = Outcome::new().evaluated(cron_jobs.len());
    for cj in cron_jobs {
        if cj.spec.suspend != Some(true) {
            continue;
        }
        let last = cj
            .status
            .as_ref()
            .and_then(|s| s.last_schedule_time.as_ref())
            .map(|t| format!("; last run scheduled {}", t.0))
            .unwrap_or_default();
        out.push(Finding::new(
            Level::Warn,
            Some(cj.object_ref()),
            format!(
                "CronJob suspended: schedule {:?} creates no Jobs{last}",
                cj.spec.schedule
            ),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture;

    #[test]
    fn names_the_suspended_cronjob() {
        let report = run_fixture("cronjob_suspended", "fail.yaml");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "CronJob/default/cj2"
        );
        assert_eq!(
            f.message,
            "CronJob suspended: schedule \"* * * * *\" creates no Jobs"
        );
    }

    #[test]
    fn active_cronjobs_pass() {
        assert!(run_fixture("cronjob_suspended", "pass.json").passed);
    }
}
