//! The OpenStack collector: authenticates to Keystone once per scan and lists, read-only and
//! only for the keys the selected detectors need, Nova servers (every page; every project with
//! admin credentials), compute services and hypervisors, Cinder volumes, Octavia load balancers
//! and Neutron agents.
//!
//! A service missing from the token's catalog leaves its key *skipped* (the detectors reading
//! it are listed as skipped with the reason, DESIGN.md §1); a list that fails (403, 5xx after
//! retries, a timeout) fails that key only; failed authentication fails the collector, so
//! exactly the OpenStack detectors are `Unknown`, with one reason.
//!
//! A [`CloudHandle`] is shared by the cloud's own target and, in a scan that also holds
//! clusters, by the clusters' [`CloudServersCollector`]: one token and one server list per
//! cloud and scan, whoever asks first.

use crate::auth::{Session, Token};
use crate::client::{ClientOptions, Failure};
use crate::clouds::{CloudConfig, ProjectRef};
use crate::model::{
    self, CLOUD, CLOUD_SERVERS, COMPUTE_SERVICES, CloudInfo, CloudServerList, CloudServers,
    HYPERVISORS, LOADBALANCERS, NETWORK_AGENTS, SERVERS, Server, VOLUMES,
};
use detek_core::{
    BoxFuture, CollectContext, CollectError, Collector, CollectorMeta, Diagnostic, Key, KeyId,
    Level, Produced,
};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::OnceCell;

/// Service types, first match wins (older catalogs name Cinder `volumev3`).
const COMPUTE: &[&str] = &[model::service_type::COMPUTE];
const LOAD_BALANCER: &[&str] = &[model::service_type::LOAD_BALANCER];
const NETWORK: &[&str] = &[model::service_type::NETWORK];

/// One cloud of a scan: its configuration, and the session and server list, made once.
pub struct CloudHandle {
    config: CloudConfig,
    options: ClientOptions,
    session: OnceCell<Result<Arc<Session>, String>>,
    /// Kept only when clusters of the scan read them too (`shared`): otherwise the list moves
    /// into the cloud's own key without a copy.
    shared: bool,
    servers: OnceCell<Result<Arc<Vec<Server>>, String>>,
}

impl CloudHandle {
    /// `shared`: clusters scanned with this cloud read its servers too
    /// ([`CloudServersCollector`]).
    pub fn new(config: CloudConfig, options: ClientOptions, shared: bool) -> Arc<CloudHandle> {
        Arc::new(CloudHandle {
            config,
            options,
            shared,
            session: OnceCell::new(),
            servers: OnceCell::new(),
        })
    }

    pub fn config(&self) -> &CloudConfig {
        &self.config
    }

    /// The identity a cloud target has before it is read: Keystone's URL and the configured
    /// project (the collector replaces it with the project id the token names).
    pub fn provisional_identity(&self) -> String {
        let project = match &self.config.project {
            Some(ProjectRef::Id(id)) => id.clone(),
            Some(ProjectRef::Name { name, .. }) => name.clone(),
            None => "application-credential".into(),
        };
        identity(&self.config.auth_url, &project)
    }

    /// The authenticated session (authenticating on first use).
    async fn session(&self) -> Result<Arc<Session>, String> {
        self.session
            .get_or_init(|| async {
                Session::open(self.config.clone(), &self.options)
                    .await
                    .map(Arc::new)
                    .map_err(|e| e.0)
            })
            .await
            .clone()
    }

    /// Every server the credentials see (all projects for an admin), listed once per scan.
    async fn servers(&self, session: &Session) -> Result<Arc<Vec<Server>>, String> {
        if !self.shared {
            return self.list_servers(session).await;
        }
        self.servers
            .get_or_init(|| self.list_servers(session))
            .await
            .clone()
    }

    async fn list_servers(&self, session: &Session) -> Result<Arc<Vec<Server>>, String> {
        let token = session.token().await;
        let Some(endpoint) = session.endpoint(COMPUTE).await else {
            return Err(missing_service(&self.config, "compute"));
        };
        let query = if token.is_admin() {
            "all_tenants=1"
        } else {
            ""
        };
        list_all::<Server>(session, &endpoint, "/servers/detail", query, "servers")
            .await
            .map(Arc::new)
    }
}

/// A cloud target's identity (DESIGN.md §4): Keystone's URL and the project.
fn identity(auth_url: &str, project: &str) -> String {
    format!(
        "openstack:{}#project:{project}",
        auth_url.trim_end_matches('/')
    )
}

/// What the scan knows about the cloud once authenticated. Never a secret.
async fn cloud_info(config: &CloudConfig, session: &Session) -> CloudInfo {
    let token: Arc<Token> = session.token().await;
    let mut services = std::collections::BTreeSet::new();
    for service in &token.catalog {
        if crate::auth::select_endpoint(
            &token.catalog,
            &[service.service_type.as_str()],
            config.region.as_deref(),
            config.interface,
        )
        .is_some()
        {
            services.insert(service.service_type.clone());
        }
    }
    CloudInfo {
        name: config.name.clone(),
        auth_url: config.auth_url.clone(),
        project: token
            .project_name
            .clone()
            .or_else(|| token.project_id.clone())
            .unwrap_or_default(),
        project_id: token.project_id.clone(),
        region: config.region.clone(),
        admin: token.is_admin(),
        services,
    }
}

fn missing_service(config: &CloudConfig, service: &str) -> String {
    let region = config
        .region
        .as_deref()
        .map(|r| format!("region {r}, "))
        .unwrap_or_default();
    format!(
        "the catalog of cloud {} has no {service} service ({region}{} interface)",
        config.name,
        config.interface.as_str()
    )
}

/// GET every page of a collection: `limit` items a page, then the `rel: next` link of
/// `<collection>_links` (Nova, Cinder, Octavia, Neutron all page this way). The next link's
/// query (its `marker`) is applied to our endpoint, whatever host the service wrote in it.
async fn list_all<T: DeserializeOwned>(
    session: &Session,
    endpoint: &str,
    path: &str,
    query: &str,
    collection: &str,
) -> Result<Vec<T>, String> {
    pages(session, endpoint, path, query, collection)
        .await
        .map_err(|f| format!("GET {endpoint}{path}: {}", f.describe()))
}

async fn pages<T: DeserializeOwned>(
    session: &Session,
    endpoint: &str,
    path: &str,
    query: &str,
    collection: &str,
) -> Result<Vec<T>, Failure> {
    let limit = session.http.options().page_size.max(1);
    let mut items: Vec<T> = Vec::new();
    let mut next_query = join_query(query, &format!("limit={limit}"));
    let links_key = format!("{collection}_links");
    let mut seen_queries = std::collections::HashSet::new();
    loop {
        let url = format!("{endpoint}{path}?{next_query}");
        let answer = session.get(&url).await?;
        let page: HashMap<String, &RawValue> = serde_json::from_slice(&answer.body)
            .map_err(|e| Failure::Transport(format!("{path}: unreadable answer: {e}")))?;
        let Some(raw) = page.get(collection) else {
            return Err(Failure::Transport(format!(
                "{path}: the answer has no {collection:?} list"
            )));
        };
        let mut page_items: Vec<T> = serde_json::from_str(raw.get())
            .map_err(|e| Failure::Transport(format!("{path}: unreadable {collection}: {e}")))?;
        let count = page_items.len();
        items.append(&mut page_items);
        let next = page
            .get(links_key.as_str())
            .and_then(|raw| serde_json::from_str::<Vec<Link>>(raw.get()).ok())
            .and_then(|links| links.into_iter().find(|l| l.rel == "next"))
            .and_then(|l| l.href.split_once('?').map(|(_, q)| q.to_string()));
        match next {
            Some(q) if count > 0 => {
                if !seen_queries.insert(q.clone()) {
                    return Err(Failure::Transport(format!(
                        "{path}: the service sent the same next page twice ({q})"
                    )));
                }
                next_query = q;
            }
            _ => return Ok(items),
        }
    }
}

#[derive(serde::Deserialize)]
struct Link {
    #[serde(default)]
    rel: String,
    #[serde(default)]
    href: String,
}

fn join_query(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{a}&{b}"),
    }
}

/// GET a collection that is not paged (`os-services`).
async fn list_once<T: DeserializeOwned>(
    session: &Session,
    endpoint: &str,
    path: &str,
    collection: &str,
) -> Result<Vec<T>, String> {
    once(session, endpoint, path, collection)
        .await
        .map_err(|f| format!("GET {endpoint}{path}: {}", f.describe()))
}

async fn once<T: DeserializeOwned>(
    session: &Session,
    endpoint: &str,
    path: &str,
    collection: &str,
) -> Result<Vec<T>, Failure> {
    let answer = session.get(&format!("{endpoint}{path}")).await?;
    let page: HashMap<String, &RawValue> = serde_json::from_slice(&answer.body)
        .map_err(|e| Failure::Transport(format!("{path}: unreadable answer: {e}")))?;
    let raw = page.get(collection).ok_or_else(|| {
        Failure::Transport(format!("{path}: the answer has no {collection:?} list"))
    })?;
    serde_json::from_str(raw.get())
        .map_err(|e| Failure::Transport(format!("{path}: unreadable {collection}: {e}")))
}

/// `endpoint` + `path`, unless the endpoint already ends with the path's version segment
/// (Neutron's `http://host:9696/v2.0` and `/v2.0/agents`).
fn versioned(endpoint: &str, path: &str) -> String {
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let version = parts.next().unwrap_or("");
    let rest = parts.next().unwrap_or("");
    if endpoint.ends_with(&format!("/{version}")) {
        format!("/{rest}")
    } else {
        path.to_string()
    }
}

/// The OpenStack collector of one cloud target.
pub struct OpenStackCollector {
    meta: CollectorMeta,
    cloud: Arc<CloudHandle>,
}

impl OpenStackCollector {
    pub fn new(cloud: Arc<CloudHandle>) -> OpenStackCollector {
        OpenStackCollector {
            meta: CollectorMeta {
                id: "openstack",
                description: "the OpenStack cloud's APIs (Keystone token; Nova, Cinder, Octavia, Neutron lists)",
                labels: vec!["openstack"],
                requires: vec![],
                produces: vec![
                    CLOUD.id(),
                    SERVERS.id(),
                    COMPUTE_SERVICES.id(),
                    HYPERVISORS.id(),
                    VOLUMES.id(),
                    LOADBALANCERS.id(),
                    NETWORK_AGENTS.id(),
                ],
            },
            cloud,
        }
    }
}

/// The collectors of a cloud's own target: the API lists, and the reachability probe of the
/// servers listed (run only when `openstack_unreachable_server` is selected).
pub fn collectors(cloud: Arc<CloudHandle>) -> Vec<Arc<dyn Collector>> {
    vec![
        Arc::new(OpenStackCollector::new(cloud)),
        Arc::new(crate::probe::ReachabilityCollector::new()),
    ]
}

/// One key's list: its value or why not, and whether the service was missing.
enum Listed<T> {
    Got(T),
    Skipped(String),
    Failed(String),
}

impl Collector for OpenStackCollector {
    fn meta(&self) -> &CollectorMeta {
        &self.meta
    }

    fn collect<'a>(
        &'a self,
        ctx: CollectContext<'a>,
    ) -> BoxFuture<'a, Result<Produced, CollectError>> {
        Box::pin(async move {
            let config = &self.cloud.config;
            let session = self.cloud.session().await.map_err(CollectError::new)?;
            let info = cloud_info(config, &session).await;
            let wanted = |key: KeyId| ctx.wanted.contains(key);
            let mut produced = Produced::new();
            produced.identify(identity(
                &config.auth_url,
                info.project_id.as_deref().unwrap_or(&info.project),
            ));
            ctx.progress.message(&format!(
                "authenticated to {}{}",
                info.describe(),
                if info.admin { " as admin" } else { "" }
            ));
            let all_tenants = if info.admin { "all_tenants=1" } else { "" };

            let servers = async {
                if !wanted(SERVERS.id()) {
                    return None;
                }
                Some(match self.cloud.servers(&session).await {
                    Ok(list) => Listed::Got(list),
                    Err(reason) if session.endpoint(COMPUTE).await.is_none() => {
                        Listed::Skipped(reason)
                    }
                    Err(reason) => Listed::Failed(reason),
                })
            };
            let services = fetch(&ctx, &session, config, COMPUTE_SERVICES, COMPUTE, |s, e| {
                Box::pin(async move { list_once(s, &e, "/os-services", "services").await })
            });
            let hypervisors = fetch(&ctx, &session, config, HYPERVISORS, COMPUTE, |s, e| {
                Box::pin(async move {
                    list_all(s, &e, "/os-hypervisors/detail", "", "hypervisors").await
                })
            });
            let volumes = fetch(
                &ctx,
                &session,
                config,
                VOLUMES,
                model::service_type::VOLUME_ALIASES,
                move |s, e| {
                    Box::pin(async move {
                        list_all(s, &e, "/volumes/detail", all_tenants, "volumes").await
                    })
                },
            );
            let loadbalancers = fetch(
                &ctx,
                &session,
                config,
                LOADBALANCERS,
                LOAD_BALANCER,
                |s, e| {
                    let path = versioned(&e, "/v2/lbaas/loadbalancers");
                    Box::pin(async move { list_all(s, &e, &path, "", "loadbalancers").await })
                },
            );
            let agents = fetch(&ctx, &session, config, NETWORK_AGENTS, NETWORK, |s, e| {
                let path = versioned(&e, "/v2.0/agents");
                Box::pin(async move { list_all(s, &e, &path, "", "agents").await })
            });
            let (servers, services, hypervisors, volumes, loadbalancers, agents) = tokio::join!(
                servers,
                services,
                hypervisors,
                volumes,
                loadbalancers,
                agents
            );

            if let Some(servers) = servers {
                match servers {
                    Listed::Got(list) => {
                        produced.stat("servers", list.len() as u64);
                        // A copy only when clusters of the scan hold the list too.
                        produced.put(&SERVERS, Arc::unwrap_or_clone(list));
                    }
                    Listed::Skipped(reason) => produced.skip(SERVERS.id(), reason),
                    Listed::Failed(reason) => produced.fail(SERVERS.id(), reason),
                }
            }
            put(
                &mut produced,
                &COMPUTE_SERVICES,
                services,
                "compute services",
            );
            put(&mut produced, &HYPERVISORS, hypervisors, "hypervisors");
            put(&mut produced, &VOLUMES, volumes, "volumes");
            put(
                &mut produced,
                &LOADBALANCERS,
                loadbalancers,
                "load balancers",
            );
            put(&mut produced, &NETWORK_AGENTS, agents, "network agents");

            let http = &session.http;
            produced.stat("requests", http.requests.load(Ordering::Relaxed));
            produced.stat("retries", http.retries.load(Ordering::Relaxed));
            produced.stat("bytes", http.bytes.load(Ordering::Relaxed));
            produced.stat("token_reissues", session.reissued.load(Ordering::Relaxed));
            let notes = http
                .retry_notes
                .lock()
                .map(|n| n.clone())
                .unwrap_or_default();
            for note in notes {
                produced.diagnostic(Diagnostic::new(Level::Normal, None, note));
            }
            if session.reissued.load(Ordering::Relaxed) > 0 {
                produced.diagnostic(Diagnostic::new(
                    Level::Normal,
                    None,
                    format!(
                        "the token was refused mid-scan and re-issued {} time(s)",
                        session.reissued.load(Ordering::Relaxed)
                    ),
                ));
            }
            if wanted(CLOUD.id()) {
                produced.put(&CLOUD, info);
            }
            Ok(produced)
        })
    }
}

type ListFuture<'s, T> = BoxFuture<'s, Result<Vec<T>, String>>;

/// List one key's collection from the first service of `types` in the catalog, if the key is
/// wanted: `None` when not wanted.
async fn fetch<'s, T: Send + 's>(
    ctx: &CollectContext<'_>,
    session: &'s Session,
    config: &CloudConfig,
    key: Key<Vec<T>>,
    types: &[&str],
    list: impl FnOnce(&'s Session, String) -> ListFuture<'s, T>,
) -> Option<Listed<Vec<T>>> {
    if !ctx.wanted.contains(key.id()) {
        return None;
    }
    let Some(endpoint) = session.endpoint(types).await else {
        return Some(Listed::Skipped(missing_service(config, types[0])));
    };
    Some(match list(session, endpoint).await {
        Ok(items) => Listed::Got(items),
        Err(reason) => Listed::Failed(reason),
    })
}

fn put<T: Send + Sync + 'static>(
    produced: &mut Produced,
    key: &Key<Vec<T>>,
    listed: Option<Listed<Vec<T>>>,
    what: &str,
) {
    match listed {
        None => {}
        Some(Listed::Got(items)) => {
            produced.stat(what.replace(' ', "_"), items.len() as u64);
            produced.put(key, items);
        }
        Some(Listed::Skipped(reason)) => produced.skip(key.id(), reason),
        Some(Listed::Failed(reason)) => produced.fail(key.id(), reason),
    }
}

/// In a scan that holds clusters and clouds, the clusters' view of the clouds' servers
/// ([`CLOUD_SERVERS`]): the same list the cloud's own target reads, fetched once.
pub struct CloudServersCollector {
    meta: CollectorMeta,
    clouds: Vec<Arc<CloudHandle>>,
}

impl CloudServersCollector {
    pub fn new(clouds: Vec<Arc<CloudHandle>>) -> CloudServersCollector {
        CloudServersCollector {
            meta: CollectorMeta {
                id: "openstack/cloud-servers",
                description: "the servers of the OpenStack clouds scanned with this cluster",
                labels: vec!["openstack"],
                requires: vec![],
                produces: vec![CLOUD_SERVERS.id()],
            },
            clouds,
        }
    }
}

impl Collector for CloudServersCollector {
    fn meta(&self) -> &CollectorMeta {
        &self.meta
    }

    fn collect<'a>(
        &'a self,
        _ctx: CollectContext<'a>,
    ) -> BoxFuture<'a, Result<Produced, CollectError>> {
        Box::pin(async move {
            let mut produced = Produced::new();
            let mut clouds = Vec::new();
            for handle in &self.clouds {
                let result = async {
                    let session = handle.session().await?;
                    let servers = handle.servers(&session).await?;
                    Ok::<_, String>(CloudServerList {
                        cloud: cloud_info(&handle.config, &session).await,
                        servers,
                    })
                }
                .await;
                match result {
                    Ok(list) => clouds.push(list),
                    Err(reason) => {
                        produced.fail(
                            CLOUD_SERVERS.id(),
                            format!("cloud {}: {reason}", handle.config.name),
                        );
                        return Ok(produced);
                    }
                }
            }
            produced.put(&CLOUD_SERVERS, CloudServers { clouds });
            Ok(produced)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_segments_are_not_doubled() {
        assert_eq!(versioned("http://n:9696", "/v2.0/agents"), "/v2.0/agents");
        assert_eq!(versioned("http://n:9696/v2.0", "/v2.0/agents"), "/agents");
        assert_eq!(
            versioned("http://o:9876", "/v2/lbaas/loadbalancers"),
            "/v2/lbaas/loadbalancers"
        );
        assert_eq!(
            versioned("http://o:9876/v2", "/v2/lbaas/loadbalancers"),
            "/lbaas/loadbalancers"
        );
    }

    #[test]
    fn identity_is_keystone_and_project() {
        assert_eq!(
            identity("http://k:5000/v3/", "p1"),
            "openstack:http://k:5000/v3#project:p1"
        );
    }
}
