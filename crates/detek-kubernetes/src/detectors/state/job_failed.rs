use crate::prelude::*;
use k8s_openapi::api::batch::v1::{Job, JobCondition};
use k8s_openapi::jiff::Timestamp;
use std::collections::HashMap;

/// ## What it detects
/// Jobs with the condition `Failed=True`, with its reason (`BackoffLimitExceeded`,
/// `DeadlineExceeded`, `PodFailurePolicy`...) and message. A failed Job of a CronJob is left out
/// when a later Job of the same CronJob completed: the schedule recovered, and the old failure is
/// only kept by `failedJobsHistoryLimit` (`cronjob_not_running` watches CronJobs that keep
/// failing). The failed runs of one CronJob since its last success are one finding on the
/// CronJob (the object to fix), naming its latest failed Job and counting the others, not one
/// finding per throwaway `Job/<cron>-<timestamp>`.
///
/// ## Why it matters
/// A failed Job did not do its work and will not retry: a migration that did not run, a backup
/// that was not taken, a Helm hook that blocked an upgrade. Nothing alerts on it by default;
/// the Job object just stays there.
///
/// ## How to fix
/// Read why its Pods failed: `kubectl describe job NAME -n NS`, `kubectl logs job/NAME -n NS`
/// (or the failed Pods' logs, `kubectl get pods -n NS -l job-name=NAME`). Fix the cause, then
/// re-run it: delete and re-apply the Job, or `kubectl create job --from=cronjob/CRON NAME`.
///
/// ## Example
/// ```yaml
/// kind: Job
/// status:
///   failed: 1
///   conditions:
///   - {type: Failed, status: "True", reason: BackoffLimitExceeded,
///      message: Job has reached the specified backoff limit}     # fires
/// ```
#[detector(
    id = "job_failed",
    title = "Jobs that failed",
    labels = ["kubernetes", "state", "batch"],
    level = Error,
    requires = [JOBS, CRON_JOBS],
    references = ["https://kubernetes.io/docs/concepts/workloads/controllers/job/#job-termination-and-cleanup"],
)]
pub struct JobFailed;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let jobs = ctx.get(&JOBS)?;
    // The latest start of a completed Job, per CronJob and namespace: one pass, where asking
    // every Job for each failed one was quadratic.
    let mut last_completed: HashMap<(Option<&str>, &str), Option<&Timestamp>> = HashMap::new();
    for job in jobs {
        if let Some(cron) = cronjob_of(job)
            && condition_true(job, "Complete")
        {
            let latest = last_completed
                .entry((job.namespace(), cron))
                .or_insert(None);
            *latest = (*latest).max(started(job));
        }
    }
    let mut out = Outcome::new().evaluated(jobs.len());
    // The failed runs of each CronJob since its last success, reported together on the CronJob.
    let mut cron_failures: Vec<(CronJobKey, Vec<&Item<Job>>)> = Vec::new();
    for job in jobs {
        if failed_condition(job).is_none() {
            continue;
        }
        let Some(cron) = cronjob_of(job) else {
            out.push(finding(job, Some(job.object_ref())));
            continue;
        };
        let recovered = last_completed
            .get(&(job.namespace(), cron))
            .is_some_and(|latest| *latest > started(job));
        if recovered {
            continue;
        }
        match cron_failures
            .iter_mut()
            .find(|(k, _)| *k == (job.namespace(), cron))
        {
            Some((_, runs)) => runs.push(job),
            None => cron_failures.push(((job.namespace(), cron), vec![job])),
        }
    }
    let cron_jobs = ctx.get(&CRON_JOBS)?;
    for ((namespace, cron), mut runs) in cron_failures {
        runs.sort_by_key(|j| started(j));
        let latest = *runs.last().expect("one failed run at least");
        let object = cron_jobs
            .iter()
            .find(|c| c.namespace() == namespace && c.name() == cron)
            .map(|c| c.object_ref())
            .unwrap_or_else(|| ObjectRef::new("CronJob", namespace, cron));
        let mut f = finding(latest, Some(object))
            .with_evidence(format!("latest failed run: Job {}", latest.name()));
        if runs.len() > 1 {
            let earlier: Vec<&str> = runs[..runs.len() - 1].iter().map(|j| j.name()).collect();
            f = f.with_evidence(format!(
                "{} earlier failed run(s) since the last success: Job {}",
                earlier.len(),
                earlier.join(", Job ")
            ));
        }
        out.push(f);
    }
    Ok(out)
}

/// A CronJob: its namespace and name.
type CronJobKey<'a> = (Option<&'a str>, &'a str);

/// The `Failed=True` condition of a Job.
fn failed_condition(job: &Job) -> Option<&JobCondition> {
    job.status
        .as_ref()?
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Failed" && c.status == "True")
}

/// The finding for failed Job `job`, on `object` (the Job, or its CronJob).
fn finding(job: &Item<Job>, object: Option<ObjectRef>) -> Finding {
    let c = failed_condition(job).expect("a failed Job");
    let status = job.status.as_ref().expect("a failed Job has a status");
    let reason = c.reason.as_deref().unwrap_or("Failed");
    let message = c
        .message
        .as_deref()
        .filter(|m| !m.is_empty())
        .unwrap_or("no message");
    let mut f = Finding::new(
        Level::Error,
        object,
        format!("Job failed ({reason}): {message}"),
    );
    f = f.with_evidence(format!(
        "{} Pod(s) failed, {} succeeded",
        status.failed.unwrap_or(0),
        status.succeeded.unwrap_or(0)
    ));
    if let Some(t) = &c.last_transition_time {
        f = f.with_evidence(format!("failed at {}", t.0));
    }
    f
}

fn cronjob_of(job: &Job) -> Option<&str> {
    job.metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.kind == "CronJob")
        .map(|o| o.name.as_str())
}

fn started(job: &Job) -> Option<&Timestamp> {
    job.status
        .as_ref()
        .and_then(|s| s.start_time.as_ref())
        .or(job.metadata.creation_timestamp.as_ref())
        .map(|t| &t.0)
}

fn condition_true(job: &Job, type_: &str) -> bool {
    job.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == type_ && c.status == "True"))
}

#[cfg(test)]
mod tests {
    use crate::testing::{finding_lines, run_fixture};

    #[test]
    fn names_the_failed_job_and_its_reason() {
        let report = run_fixture("job_failed", "fail.json");
        assert_eq!(report.findings.len(), 1);
        let f = &report.findings[0];
        assert_eq!(
            f.object.as_ref().unwrap().display_name(),
            "Job/test/post-install-job"
        );
        assert_eq!(
            f.message,
            "Job failed (BackoffLimitExceeded): Job has reached the specified backoff limit"
        );
        assert_eq!(f.evidence[0], "1 Pod(s) failed, 0 succeeded");
    }

    /// Three daily runs of a CronJob failed: one finding on the CronJob, naming the latest
    /// run and the earlier ones, not three on throwaway Jobs.
    #[test]
    fn the_failed_runs_of_a_cronjob_are_one_finding_on_the_cronjob() {
        let report = run_fixture("job_failed", "fail_cronjob_runs.yaml");
        assert_eq!(
            finding_lines(&report),
            [
                "CronJob/reports/nightly-report: Job failed (BackoffLimitExceeded): Job has reached \
              the specified backoff limit"
            ]
        );
        assert_eq!(
            report.findings[0].evidence,
            [
                "2 Pod(s) failed, 0 succeeded",
                "failed at 2024-01-07T00:02:00Z",
                "latest failed run: Job nightly-report-28408320",
                "2 earlier failed run(s) since the last success: Job nightly-report-28405440, \
                 Job nightly-report-28406880",
            ]
        );
        assert_eq!(report.evaluated, Some(3));
    }

    #[test]
    fn completed_jobs_and_recovered_cronjobs_pass() {
        assert!(run_fixture("job_failed", "pass.json").passed);
        assert!(run_fixture("job_failed", "pass_recovered.yaml").passed);
    }
}
