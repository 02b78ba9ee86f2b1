//! The node collector: reads every host over SSH, a bounded number at a time, into
//! `node/hosts`. A host that cannot be reached or logged in to is kept with its reason
//! (`node_unreachable_ssh`), so only that host's checks are left out; the collector fails as a
//! whole only when there is nothing to log in with (no key, an explicit key unreadable).

use crate::hosts::{self, HostSpec};
use crate::model::{HOSTS, Host};
use crate::ssh::{Credentials, Reader, SshOptions};
use detek_core::{
    BoxFuture, CollectContext, CollectError, Collector, CollectorMeta, Diagnostic, Level, Produced,
};
use detek_kubernetes_model::model::NODES;
use futures::StreamExt;

/// Where the hosts come from.
#[derive(Debug, Clone)]
pub enum HostSource {
    /// Given: `--ssh-hosts`, a hosts file, `ssh.hosts` in `detek.yaml`.
    List(Vec<HostSpec>),
    /// The scanned cluster's Node objects, grouped by the first of these labels present.
    Nodes { pool_labels: Vec<String> },
}

pub struct NodeCollector {
    meta: CollectorMeta,
    source: HostSource,
    options: SshOptions,
}

impl NodeCollector {
    pub fn new(source: HostSource, options: SshOptions) -> NodeCollector {
        let requires = match source {
            HostSource::List(_) => vec![],
            HostSource::Nodes { .. } => vec![NODES.id()],
        };
        NodeCollector {
            meta: CollectorMeta {
                id: "node/ssh",
                description: "kernel, OS and /proc/sys of each host, read over SSH",
                labels: vec!["node", "ssh"],
                requires,
                produces: vec![HOSTS.id()],
            },
            source,
            options,
        }
    }
}

impl NodeCollector {
    /// Read every host of `specs`, [`SshOptions::concurrency`] at a time: its facts or why
    /// not, in the order given. Fails only when there is nothing to log in with; notes on
    /// default keys left out go to `notes`.
    pub async fn read_hosts(
        &self,
        specs: Vec<HostSpec>,
        notes: &mut Vec<String>,
        progress: &dyn detek_core::Progress,
    ) -> Result<Vec<Host>, String> {
        let credentials = Credentials::load(&self.options, notes)?;
        let reader = Reader::new(self.options.clone(), credentials);
        let concurrency = self.options.concurrency.max(1);
        progress.message(&format!(
            "reading {} host(s) over SSH, {concurrency} at a time",
            specs.len()
        ));
        // By index: a closure over `&HostSpec` trips the Send check of the boxed future.
        let (reader, specs_ref) = (&reader, &specs);
        let read: Vec<_> = futures::stream::iter(0..specs.len())
            .map(|i| reader.read(&specs_ref[i]))
            .buffered(concurrency)
            .collect()
            .await;
        Ok(specs
            .into_iter()
            .zip(read)
            .map(|(spec, facts)| {
                let port = spec.port.unwrap_or(self.options.port);
                let address = if spec.host.contains(':') {
                    format!("[{}]:{port}", spec.host)
                } else {
                    format!("{}:{port}", spec.host)
                };
                Host {
                    name: spec.name,
                    address,
                    group: spec.group,
                    node: spec.node,
                    facts,
                }
            })
            .collect())
    }
}

impl Collector for NodeCollector {
    fn meta(&self) -> &CollectorMeta {
        &self.meta
    }

    fn collect<'a>(
        &'a self,
        ctx: CollectContext<'a>,
    ) -> BoxFuture<'a, Result<Produced, CollectError>> {
        Box::pin(async move {
            let mut produced = Produced::new();
            let mut hosts: Vec<Host> = Vec::new();
            let specs = match &self.source {
                HostSource::List(list) => list.clone(),
                HostSource::Nodes { pool_labels } => {
                    let nodes = ctx.store.get(&NODES).map_err(|m| {
                        CollectError::new(format!("no Nodes to check: {}", m.reason))
                    })?;
                    let (specs, without_address) = hosts::from_nodes(nodes, pool_labels);
                    for spec in without_address {
                        hosts.push(Host {
                            name: spec.name,
                            address: String::new(),
                            group: spec.group,
                            node: spec.node,
                            facts: Err("the Node lists no address to connect to".into()),
                        });
                    }
                    specs
                }
            };
            let mut notes = Vec::new();
            hosts.extend(
                self.read_hosts(specs, &mut notes, ctx.progress)
                    .await
                    .map_err(CollectError::new)?,
            );
            for note in notes {
                produced.diagnostic(Diagnostic::new(Level::Warn, None, note));
            }
            let unreachable = hosts.iter().filter(|h| h.facts.is_err()).count();
            produced.stat("hosts", hosts.len() as u64);
            produced.stat("hosts_unreachable", unreachable as u64);
            produced.put(&HOSTS, hosts);
            Ok(produced)
        })
    }
}
