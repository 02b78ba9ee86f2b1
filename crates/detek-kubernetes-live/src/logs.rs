//! `kubernetes/previous-logs`: the last lines the previous run of each restarted or failing
//! container wrote, read with `pods/log?previous=true` — bounded in containers per scan, lines
//! and bytes per container — for restart forensics. A missing `pods/log` permission, a kubelet
//! that kept no previous run, or one the API server cannot reach is recorded per container as
//! "not read" with the reason; it never fails the scan.

use crate::client::{Api, status_failure};
use detek_kubernetes_model::logs::{ContainerId, PreviousLogs};
use detek_kubernetes_model::model::Items;
use detek_kubernetes_model::pod::{ContainerStatus, Pod};
use futures::StreamExt;

/// Containers whose previous log one scan reads at most (the most restarted first).
pub const MAX_CONTAINERS: usize = 50;
/// Lines asked for per container.
pub const TAIL_LINES: u32 = 50;
/// Bytes asked for per container.
pub const LIMIT_BYTES: u32 = 16 * 1024;

/// The containers worth a previous log: they restarted, or their run ended with an error.
fn wanted(pods: &Items<Pod>) -> Vec<(ContainerId, i32)> {
    let mut out = Vec::new();
    for pod in pods {
        let Some(status) = &pod.status else { continue };
        let all = status
            .init_container_statuses
            .iter()
            .flatten()
            .chain(status.container_statuses.iter().flatten());
        for cs in all.filter(|cs| crashed_before(cs)) {
            let id = (
                pod.namespace_or_default().to_string(),
                pod.name().to_string(),
                cs.name.clone(),
            );
            out.push((id, cs.restart_count));
        }
    }
    // The most restarted first, then by name: the bound keeps the noisiest ones.
    out.sort_by(|(a, ra), (b, rb)| rb.cmp(ra).then_with(|| a.cmp(b)));
    out
}

/// Has this container a previous run that ended (a restart, or a failed run now)?
fn crashed_before(cs: &ContainerStatus) -> bool {
    let last_ended = cs
        .last_state
        .as_ref()
        .is_some_and(|s| s.terminated.is_some());
    cs.restart_count > 0 && last_ended
}

/// Read the previous logs of the restarted containers of `pods`, `concurrency` at a time.
pub(crate) async fn read(api: &Api, pods: &Items<Pod>, concurrency: usize) -> PreviousLogs {
    let mut logs = PreviousLogs::default();
    let mut candidates = wanted(pods);
    for (id, _) in candidates.iter().skip(MAX_CONTAINERS) {
        logs.not_read.insert(
            id.clone(),
            format!("over the bound of {MAX_CONTAINERS} containers' logs per scan"),
        );
    }
    candidates.truncate(MAX_CONTAINERS);
    let answers: Vec<(ContainerId, Result<Vec<String>, String>)> =
        futures::stream::iter(candidates)
            .map(|(id, _)| async move {
                let result = read_one(api, &id).await;
                (id, result)
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
    for (id, result) in answers {
        match result {
            Ok(lines) => {
                logs.tails.insert(id, lines);
            }
            Err(why) => {
                logs.not_read.insert(id, why);
            }
        }
    }
    logs
}

async fn read_one(
    api: &Api,
    (namespace, pod, container): &ContainerId,
) -> Result<Vec<String>, String> {
    let path = format!(
        "/api/v1/namespaces/{}/pods/{}/log?container={}&previous=true&tailLines={TAIL_LINES}&limitBytes={LIMIT_BYTES}",
        encode(namespace),
        encode(pod),
        encode(container)
    );
    let answer = api
        .get_any(&path, "text/plain, */*", false)
        .await
        .map_err(|f| format!("not read: {}", f.describe()))?;
    match answer.status.as_u16() {
        200 => Ok(String::from_utf8_lossy(&answer.body)
            .lines()
            .map(str::to_string)
            .collect()),
        401 | 403 => Err(format!(
            "not judged: reading pods/log is not allowed to this scan's identity ({}); grant \
             get on pods/log (deploy/01-rbac.yaml does)",
            status_failure(&answer).describe()
        )),
        404 => Err("not read: the Pod or container is gone".to_string()),
        _ => Err(format!(
            "not read: {} (the kubelet may have kept no previous run, or be unreachable)",
            status_failure(&answer).describe()
        )),
    }
}

/// A path segment or query value: names are DNS labels, so only the rare character needs it.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}
