//! `kubernetes/previous-logs`: the last lines the previous run of each restarted container
//! wrote (`pods/log` with `previous=true`, bounded by lines and bytes). Only a live scan
//! produces it, and only for containers that restarted or are crashing; restart forensics
//! reads it when present (a snapshot has no logs, and a scan without the `pods/log`
//! permission records why, so the explanation says what it could not read).

use detek_core::Key;
use std::collections::BTreeMap;

/// The containers' previous logs, by (namespace, Pod, container).
#[derive(Debug, Clone, Default)]
pub struct PreviousLogs {
    /// The last lines, oldest first.
    pub tails: BTreeMap<ContainerId, Vec<String>>,
    /// Containers whose previous log was wanted and could not be read, with the reason
    /// (forbidden, gone, over the per-scan bound).
    pub not_read: BTreeMap<ContainerId, String>,
}

/// (namespace, Pod name, container name).
pub type ContainerId = (String, String, String);

pub const PREVIOUS_LOGS: Key<PreviousLogs> = Key::new("kubernetes/previous-logs");

impl PreviousLogs {
    fn id(namespace: &str, pod: &str, container: &str) -> ContainerId {
        (
            namespace.to_string(),
            pod.to_string(),
            container.to_string(),
        )
    }

    /// The container's previous log: its lines, or why it was not read (`None`: not asked).
    pub fn of(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
    ) -> Option<Result<&[String], &str>> {
        let id = Self::id(namespace, pod, container);
        if let Some(lines) = self.tails.get(&id) {
            return Some(Ok(lines));
        }
        self.not_read.get(&id).map(|why| Err(why.as_str()))
    }
}
