use crate::prelude::*;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::jiff::Timestamp;
use std::collections::HashMap;

/// ## What it detects
/// Jobs with the condition `Failed=True`, with its reason (`BackoffLimitExceeded`,
/// `DeadlineExceeded`, `PodFailurePolicy`...) and message. A failed Job of a CronJob is left out
/// when a later Job of the same CronJob completed: the schedule recovered, and the old failure is
/// only kept by `failedJobsHistoryLimit` (`cronjob_not_running` watches CronJobs that keep
/// failing).
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
    requires = [JOBS],
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
    for job in jobs {
        let Some(status) = &job.status else { continue };
        let Some(c) = status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "Failed" && c.status == "True")
        else {
            continue;
        };
        if let Some(cron) = cronjob_of(job) {
            let recovered = last_completed
                .get(&(job.namespace(), cron))
                .is_some_and(|latest| *latest > started(job));
            if recovered {
                continue;
            }
        }
        let reason = c.reason.as_deref().unwrap_or("Failed");
        let message = c
            .message
            .as_deref()
            .filter(|m| !m.is_empty())
            .unwrap_or("no message");
        let mut f = Finding::new(
            Level::Error,
            Some(job.object_ref()),
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
        if let Some(cron) = cronjob_of(job) {
            f = f.with_evidence(format!("created by CronJob {cron}"));
        }
        out.push(f);
    }
    Ok(out)
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
    use crate::testing::run_fixture;

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

    #[test]
    fn completed_jobs_and_recovered_cronjobs_pass() {
        assert!(run_fixture("job_failed", "pass.json").passed);
        assert!(run_fixture("job_failed", "pass_recovered.yaml").passed);
    }
}
