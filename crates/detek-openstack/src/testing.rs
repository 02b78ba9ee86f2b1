//! The detectors' test kit: scan a *cloud fixture* — recorded API answers — with the real
//! engine (planner, runner, skipped keys, fingerprints), as a cloud target would be scanned.
//!
//! A cloud fixture is a JSON object (`tests/fixtures/<detector>/<case>.json`):
//!
//! ```json
//! {
//!   "_source": "what the answers are and where they come from (SOURCES.md)",
//!   "cloud": {"name": "test", "auth_url": "http://127.0.0.1:5000/v3", "project": "demo",
//!             "admin": true, "services": ["compute", "identity"]},
//!   "answers": {"openstack/servers": ["../samples/libcloud/_servers_detail_ERROR_STATE.json"]},
//!   "cloud_servers": false,
//!   "kubernetes": ["nodes.yaml"]
//! }
//! ```
//!
//! `answers` maps a key to API answer documents (paths relative to the fixture), read the way
//! the collector reads pages: the items of each answer's collection member (`servers`,
//! `services`, `hypervisors`, `volumes`, `loadbalancers`, `agents`), pages concatenated. A key
//! whose service the `cloud`'s catalog lacks is skipped with [`service_missing`]'s reason, as
//! the real collector does; a key with a service but no answer is not produced (the runner
//! fails it). `cloud_servers: true` gives the servers to `openstack/cloud-servers` instead of
//! `openstack/servers`, as a cluster's target sees them in a combined scan; `kubernetes`
//! lists Kubernetes snapshot files read by the model's snapshot collector. With
//! `probe: true` the real reachability collector ([`crate::probe`]) runs on the servers.

use crate::model::*;
use detek_core::{
    BoxFuture, Clock, CollectContext, CollectError, Collector, CollectorMeta, Report, ReportList,
    RunOptions, Settings,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

/// `tests/fixtures/` of this crate.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

#[derive(Deserialize)]
struct CloudFixture {
    /// No cloud: a cluster alone (the `kubernetes` files).
    cloud: Option<CloudInfo>,
    #[serde(default)]
    answers: BTreeMap<String, Vec<PathBuf>>,
    #[serde(default)]
    cloud_servers: bool,
    #[serde(default)]
    kubernetes: Vec<PathBuf>,
    #[serde(default)]
    probe: bool,
}

/// The keys a cloud fixture may answer, with the collection member of their API answers.
const ANSWERED: &[(detek_core::KeyId, &str)] = &[
    (SERVERS.id(), "servers"),
    (COMPUTE_SERVICES.id(), "services"),
    (HYPERVISORS.id(), "hypervisors"),
    (VOLUMES.id(), "volumes"),
    (LOADBALANCERS.id(), "loadbalancers"),
    (NETWORK_AGENTS.id(), "agents"),
];

/// Provides the OpenStack keys from a cloud fixture's recorded answers.
pub struct FixtureCloudCollector {
    meta: CollectorMeta,
    dir: PathBuf,
    fixture: CloudFixture,
}

impl FixtureCloudCollector {
    fn new(dir: PathBuf, fixture: CloudFixture) -> Self {
        let mut produces = vec![CLOUD.id()];
        produces.extend(ANSWERED.iter().map(|(k, _)| *k).filter(|k| {
            // In a cluster's view, the servers are the cloud's seam key instead.
            !(fixture.cloud_servers && *k == SERVERS.id())
        }));
        if fixture.cloud_servers {
            produces.push(CLOUD_SERVERS.id());
        }
        FixtureCloudCollector {
            meta: CollectorMeta {
                id: "test/openstack-fixture",
                description: "OpenStack keys from recorded API answers (tests)",
                labels: vec!["test"],
                requires: vec![],
                produces,
            },
            dir,
            fixture,
        }
    }

    fn read_items<T: serde::de::DeserializeOwned>(
        &self,
        files: &[PathBuf],
        member: &str,
    ) -> Result<Vec<T>, String> {
        let mut items = Vec::new();
        for file in files {
            let path = self.dir.join(file);
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let mut answer: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            let page = answer
                .get_mut(member)
                .map(serde_json::Value::take)
                .ok_or_else(|| format!("{}: no member {member}", path.display()))?;
            let page: Vec<T> =
                serde_json::from_value(page).map_err(|e| format!("{}: {e}", path.display()))?;
            items.extend(page);
        }
        Ok(items)
    }

    fn read(&self) -> Result<detek_core::Produced, String> {
        let mut produced = detek_core::Produced::new();
        let Some(cloud) = &self.fixture.cloud else {
            return Ok(produced);
        };
        produced.put(&CLOUD, cloud.clone());
        for (key, member) in ANSWERED {
            if let Some(reason) = service_missing(cloud, key) {
                let key = if self.fixture.cloud_servers && *key == SERVERS.id() {
                    CLOUD_SERVERS.id()
                } else {
                    key
                };
                produced.skip(key, reason);
                continue;
            }
            let Some(files) = self.fixture.answers.get(*key) else {
                continue;
            };
            match *key {
                k if k == SERVERS.id() => {
                    let servers: Vec<Server> = self.read_items(files, member)?;
                    if self.fixture.cloud_servers {
                        produced.put(
                            &CLOUD_SERVERS,
                            CloudServers {
                                clouds: vec![CloudServerList {
                                    cloud: cloud.clone(),
                                    servers: Arc::new(servers),
                                }],
                            },
                        );
                    } else {
                        produced.put(&SERVERS, servers);
                    }
                }
                k if k == COMPUTE_SERVICES.id() => {
                    produced.put(&COMPUTE_SERVICES, self.read_items(files, member)?)
                }
                k if k == HYPERVISORS.id() => {
                    produced.put(&HYPERVISORS, self.read_items(files, member)?)
                }
                k if k == VOLUMES.id() => produced.put(&VOLUMES, self.read_items(files, member)?),
                k if k == LOADBALANCERS.id() => {
                    produced.put(&LOADBALANCERS, self.read_items(files, member)?)
                }
                k if k == NETWORK_AGENTS.id() => {
                    produced.put(&NETWORK_AGENTS, self.read_items(files, member)?)
                }
                _ => unreachable!("ANSWERED lists these keys"),
            }
        }
        Ok(produced)
    }
}

impl Collector for FixtureCloudCollector {
    fn meta(&self) -> &CollectorMeta {
        &self.meta
    }

    fn collect<'a>(
        &'a self,
        _ctx: CollectContext<'a>,
    ) -> BoxFuture<'a, Result<detek_core::Produced, CollectError>> {
        Box::pin(async move { self.read().map_err(CollectError::new) })
    }
}

/// Scan `tests/fixtures/<fixture>` with the detectors `ids`, default settings, the wall clock.
pub fn scan_fixture(fixture: &str, ids: &[&str]) -> ReportList {
    scan_fixture_with(fixture, ids, Settings::default(), SystemTime::now())
}

/// Scan `tests/fixtures/<fixture>` with the detectors `ids`, `settings`, and the scan clock
/// (`ctx.now`) at `now`. Detectors asked for that the target cannot feed are listed in
/// `skipped`, as in a real scan.
pub fn scan_fixture_with(
    fixture: &str,
    ids: &[&str],
    settings: Settings,
    now: SystemTime,
) -> ReportList {
    let path = fixtures().join(fixture);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{fixture}: {e}"));
    let parsed: CloudFixture =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{fixture}: {e}"));
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut collectors: Vec<Arc<dyn Collector>> = Vec::new();
    if !parsed.kubernetes.is_empty() {
        let inputs = parsed
            .kubernetes
            .iter()
            .map(|p| detek_kubernetes_model::Input::Path(dir.join(p)))
            .collect();
        collectors.push(Arc::new(
            detek_kubernetes_model::collector::SnapshotCollector::new(inputs),
        ));
    }
    if parsed.probe {
        collectors.push(Arc::new(crate::probe::ReachabilityCollector::new()));
    }
    if parsed.cloud.is_some() {
        collectors.push(Arc::new(FixtureCloudCollector::new(dir, parsed)));
    }
    let options = RunOptions {
        settings,
        now,
        clock: Clock::Fixed,
        ..Default::default()
    };
    detek_core::run_selected(crate::detectors::all(), ids, &collectors, &options)
}

/// Each finding as `Kind/namespace/name: message`, in order.
pub fn finding_lines(report: &Report) -> Vec<String> {
    report
        .findings
        .iter()
        .map(|f| match &f.object {
            Some(o) => format!("{}: {}", o.display_name(), f.message),
            None => f.message.clone(),
        })
        .collect()
}

/// The report of detector `id` in `list`.
pub fn report<'a>(list: &'a ReportList, id: &str) -> &'a Report {
    list.reports
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no report {id}; skipped: {:?}", list.skipped))
}
