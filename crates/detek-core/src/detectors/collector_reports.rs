use crate::{COLLECTORS, DetectContext, DetectError, Finding, Level, ObjectRef, Outcome};
use detek_macros::{DetectorSettings, detector};
use serde::{Deserialize, Serialize};

/// ## What it detects
/// Collectors that failed, and the inputs they could not produce: an unreachable or
/// unauthorised source, a kind the scan was forbidden to list, a collector that panicked. With
/// `diagnostics: true`, also the input problems collectors noted (a malformed document, a kind
/// that was skipped), at their own level.
///
/// Its findings are warnings about the scan, not the target: the detectors that needed the
/// missing input are the ones reported `Unknown`, and the scan is `partial`.
///
/// ## Why it matters
/// Every detector that needed a missing input is `Unknown`: the scan cannot say that part of the
/// target is healthy. This report names the root cause once, where the detectors only repeat
/// it, so the one thing to fix — a credential, an RBAC rule, a file — is easy to find.
///
/// ## How to fix
/// Read the reason: grant the missing permission (the read-only ClusterRole in `deploy/`),
/// check that the source is reachable from where detek runs, or fix the input file named in
/// the message. Then scan again.
///
/// ## Example
/// ```text
/// collector kubernetes/live: kubernetes/secrets unavailable: forbidden: secrets is forbidden:
/// User "system:serviceaccount:detek:detek" cannot list resource "secrets"
/// ```
#[detector(
    id = "collector_reports",
    title = "Collectors that failed, and why",
    labels = ["engine"],
    level = Warn,
    requires = [COLLECTORS],
    settings = CollectorReportsSettings,
)]
pub struct CollectorReports;

/// Settings of `collector_reports`.
#[derive(DetectorSettings, Serialize, Deserialize)]
pub struct CollectorReportsSettings {
    /// Also report the input problems collectors noted (malformed documents, skipped kinds).
    #[setting(default = false)]
    pub diagnostics: bool,
}

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let settings: CollectorReportsSettings = ctx.settings_of()?;
    let collectors = ctx.get(&COLLECTORS)?;
    let mut out = Outcome::new().evaluated(collectors.len());
    for status in collectors {
        let object = Some(ObjectRef::new("Collector", None, status.id.clone()));
        if let Some(error) = &status.error {
            out.push(Finding::new(
                Level::Warn,
                object.clone(),
                format!("collector failed: {error}"),
            ));
        }
        // One finding per root cause: keys that failed for the same reason are one finding.
        for (reason, keys) in status.failed_by_reason() {
            let what = match keys.as_slice() {
                [one] => one.to_string(),
                many => format!("{} inputs", many.len()),
            };
            let mut finding = Finding::new(
                Level::Warn,
                object.clone(),
                format!("{what} unavailable: {reason}"),
            )
            .with_discriminator(keys[0]);
            if keys.len() > 1 {
                finding = finding.with_evidence(format!("unavailable: {}", keys.join(", ")));
            }
            out.push(finding);
        }
        if settings.diagnostics {
            for diagnostic in status.diagnostics.iter().filter(|d| d.level >= Level::Warn) {
                let mut finding =
                    Finding::new(diagnostic.level, object.clone(), diagnostic.message.clone());
                if let Some(source) = &diagnostic.source {
                    finding = finding
                        .with_discriminator(source.to_string())
                        .with_evidence(format!("at {source}"));
                }
                out.push(finding);
            }
        }
    }
    Ok(out)
}
