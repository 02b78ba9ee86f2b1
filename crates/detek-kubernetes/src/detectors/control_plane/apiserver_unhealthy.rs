use crate::prelude::*;

/// ## What it detects
/// The Kubernetes API server reports itself unhealthy: `/readyz?verbose` or `/livez?verbose`
/// (`/healthz` on servers older than 1.16) answers with an error, lists failed checks
/// (`[-]etcd failed`), or does not answer at all. Each finding names the endpoint and the
/// checks that failed. Live scans only: a snapshot has no API server to ask.
///
/// ## Why it matters
/// Everything in the cluster goes through the API server. When `readyz` fails, load balancers
/// take the instance out of rotation and clients (kubelets, controllers, `kubectl`) see errors or
/// stale data; a failed `etcd` check means writes are failing or hanging; a failed `livez`
/// means the process is about to be restarted. Scans of a cluster in this state may themselves
/// be incomplete (see the detectors reported `Unknown`).
///
/// ## How to fix
/// See which checks fail: `kubectl get --raw='/readyz?verbose'` and
/// `kubectl get --raw='/livez?verbose'`. For `etcd`/`etcd-readiness`, check etcd itself
/// (`etcdctl endpoint health --cluster`, disk latency, quorum, certificates) and the API
/// server's `--etcd-servers`. For a `poststarthook/...` that never completes, read the API
/// server's log (`kubectl logs -n kube-system kube-apiserver-NODE` or `journalctl -u
/// kube-apiserver`). For `informer-sync`, look for API server restarts and memory pressure.
///
/// ## Example
/// ```text
/// $ kubectl get --raw='/readyz?verbose'
/// [+]ping ok
/// [+]log ok
/// [-]etcd failed: reason withheld
/// [-]etcd-readiness failed: reason withheld
/// [+]informer-sync ok
/// ...
/// readyz check failed
/// ```
#[detector(
    id = "apiserver_unhealthy",
    title = "API server reports failed health checks",
    labels = ["kubernetes", "control-plane", "live"],
    level = Fatal,
    requires = [APISERVER_HEALTH],
    references = [
        "https://kubernetes.io/docs/reference/using-api/health-checks/",
    ],
)]
pub struct ApiserverUnhealthy;

fn detect(ctx: &DetectContext) -> Result<Outcome, DetectError> {
    let health = ctx.get(&APISERVER_HEALTH)?;
    let mut out = Outcome::new().evaluated(health.endpoints.len());
    for endpoint in &health.endpoints {
        if endpoint.healthy() {
            continue;
        }
        let name = endpoint.path.trim_start_matches('/');
        let message = if let Some(error) = &endpoint.error {
            format!("{} did not answer: {error}", endpoint.path)
        } else {
            let failed: Vec<String> = endpoint
                .failed_checks()
                .map(|c| match c.message.as_str() {
                    "" => c.name.clone(),
                    m => format!("{} ({m})", c.name),
                })
                .collect();
            let status = endpoint.http_status.unwrap_or(0);
            match failed.len() {
                0 => format!(
                    "{} answered HTTP {status}: {}",
                    endpoint.path,
                    if endpoint.summary.is_empty() {
                        "no check detail"
                    } else {
                        &endpoint.summary
                    }
                ),
                n => format!(
                    "{} failed {n} check{}: {}",
                    endpoint.path,
                    if n == 1 { "" } else { "s" },
                    failed.join(", ")
                ),
            }
        };
        let mut finding = Finding::new(Level::Fatal, None, format!("{name}: {message}"));
        for check in endpoint.failed_checks() {
            finding = finding.with_evidence(format!("[-]{} failed: {}", check.name, check.message));
        }
        if let Some(status) = endpoint.http_status {
            finding = finding.with_evidence(format!(
                "GET {}?verbose on {} → HTTP {status}",
                endpoint.path, health.server
            ));
        }
        if !endpoint.summary.is_empty() {
            finding = finding.with_evidence(endpoint.summary.clone());
        }
        out.push(finding);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::testing::run_fixture;

    #[test]
    fn names_the_failed_etcd_checks_of_readyz_and_livez() {
        let report = run_fixture("apiserver_unhealthy", "fail-etcd-down.store.json");
        let messages: Vec<&str> = report.findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "readyz: /readyz failed 2 checks: etcd (reason withheld), etcd-readiness (reason withheld)",
                "livez: /livez failed 1 check: etcd (reason withheld)",
            ]
        );
        assert_eq!(report.level, detek_core::Level::Fatal);
        assert!(
            report.findings[0]
                .evidence
                .iter()
                .any(|e| e.contains("HTTP 500"))
        );
        let pass = run_fixture("apiserver_unhealthy", "pass.store.json");
        assert!(pass.passed && pass.evaluated == Some(2));
    }
}
