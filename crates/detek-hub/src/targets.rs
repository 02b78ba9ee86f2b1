//! The targets registry: which clusters (and clouds) the hub scans, with the labels the
//! dashboard filters on. Targets come from a config file (`hub.yaml`), from the contexts of
//! a kubeconfig, from a directory of kubeconfig files, or from the API. A target holds where
//! its credentials are (a context name, a file path, a cloud name), never the credentials.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One scannable target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetSpec {
    /// Unique in the fleet; what the dashboard lists and what shards hash.
    pub name: String,
    #[serde(flatten)]
    pub source: TargetSource,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub labels: TargetLabels,
}

/// The labels the dashboard filters on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetLabels {
    #[serde(default)]
    pub team: String,
    #[serde(default)]
    pub environment: String,
    #[serde(default)]
    pub region: String,
}

/// Where a target's connection (and credentials) are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TargetSource {
    /// A context of a kubeconfig file (`None`: the default kubeconfig, `$KUBECONFIG` or
    /// `~/.kube/config`; `None` context: the file's current context).
    Kubernetes {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kubeconfig: Option<PathBuf>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        context: Option<String>,
        /// Read namespaced objects of this namespace only (a team's slice of a cluster as a
        /// target of its own, as `detek run --namespace`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        namespace: Option<String>,
    },
    /// A cloud of `clouds.yaml` (`None`: the usual search path).
    Openstack {
        cloud: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        clouds_yaml: Option<PathBuf>,
    },
    /// Registered through `POST /api/scans` or the API: scanned elsewhere, pushes its reports.
    Pushed,
}

impl TargetSource {
    /// `kubernetes`, `openstack` or `pushed`: the `kind` column.
    pub fn kind(&self) -> &'static str {
        match self {
            TargetSource::Kubernetes { .. } => "kubernetes",
            TargetSource::Openstack { .. } => "openstack",
            TargetSource::Pushed => "pushed",
        }
    }

    /// Where the target is, in words (the `locator` column): a context and file path, a cloud
    /// name. Never a credential.
    pub fn locator(&self) -> String {
        match self {
            TargetSource::Kubernetes {
                kubeconfig,
                context,
                namespace,
            } => {
                let file = kubeconfig.as_ref().map_or_else(
                    || "default kubeconfig".to_string(),
                    |p| p.display().to_string(),
                );
                let mut s = match context {
                    Some(c) => format!("context {c} of {file}"),
                    None => format!("current context of {file}"),
                };
                if let Some(ns) = namespace {
                    s.push_str(&format!(", namespace {ns}"));
                }
                s
            }
            TargetSource::Openstack { cloud, clouds_yaml } => match clouds_yaml {
                Some(p) => format!("cloud {cloud} of {}", p.display()),
                None => format!("cloud {cloud}"),
            },
            TargetSource::Pushed => "pushed".to_string(),
        }
    }
}

impl TargetSpec {
    /// A pushed target of that name with no labels.
    pub fn pushed(name: impl Into<String>) -> TargetSpec {
        TargetSpec {
            name: name.into(),
            source: TargetSource::Pushed,
            description: String::new(),
            owner: String::new(),
            labels: TargetLabels::default(),
        }
    }
}

/// Why targets could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("target {0:?} is defined twice with different sources")]
    Duplicate(String),
}

/// The hub's config file (`hub.yaml`): targets, and where else to find them.
///
/// ```yaml
/// kubeconfig_dirs: [/etc/detek/kubeconfigs]   # every kubeconfig file in them
/// kubeconfigs: [/etc/detek/fleet.yaml]        # every context of these files
/// clouds_yaml: [/etc/openstack/clouds.yaml]   # every cloud of these files
/// targets:                                    # listed, or labels for discovered ones
///   - name: prod-eu-1
///     kind: kubernetes
///     kubeconfig: /etc/detek/kubeconfigs/prod-eu-1.yaml
///     description: Payments, EU
///     owner: payments@example.com
///     labels: {team: payments, environment: prod, region: eu-1}
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubConfig {
    #[serde(default)]
    pub kubeconfig_dirs: Vec<PathBuf>,
    #[serde(default)]
    pub kubeconfigs: Vec<PathBuf>,
    #[serde(default)]
    pub clouds_yaml: Vec<PathBuf>,
    #[serde(default)]
    pub targets: Vec<TargetEntry>,
}

/// A target in `hub.yaml`: a full target, or (no `kind`) the description, owner and labels
/// of a discovered target of that name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawEntry")]
pub struct TargetEntry {
    pub name: String,
    pub source: Option<TargetSource>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub labels: TargetLabels,
}

/// A `targets` entry as written: every field flat, checked strictly (a misspelt key or kind
/// is an error, not a silently discovered-only target).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    name: String,
    kind: Option<String>,
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
    namespace: Option<String>,
    cloud: Option<String>,
    clouds_yaml: Option<PathBuf>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    labels: TargetLabels,
}

impl TryFrom<RawEntry> for TargetEntry {
    type Error = String;

    fn try_from(r: RawEntry) -> Result<TargetEntry, String> {
        let name = &r.name;
        let kube_fields = r.kubeconfig.is_some() || r.context.is_some() || r.namespace.is_some();
        let cloud_fields = r.cloud.is_some() || r.clouds_yaml.is_some();
        let source = match r.kind.as_deref() {
            None if kube_fields || cloud_fields => {
                return Err(format!(
                    "target {name:?}: give `kind` (kubernetes, openstack or pushed) with its source"
                ));
            }
            None => None,
            Some("kubernetes") if !cloud_fields => Some(TargetSource::Kubernetes {
                kubeconfig: r.kubeconfig,
                context: r.context,
                namespace: r.namespace,
            }),
            Some("openstack") if !kube_fields => Some(TargetSource::Openstack {
                cloud: r
                    .cloud
                    .ok_or_else(|| format!("target {name:?}: an openstack target needs `cloud`"))?,
                clouds_yaml: r.clouds_yaml,
            }),
            Some("pushed") if !kube_fields && !cloud_fields => Some(TargetSource::Pushed),
            Some(kind @ ("kubernetes" | "openstack" | "pushed")) => {
                return Err(format!(
                    "target {name:?}: fields of another kind than {kind} (kubernetes: kubeconfig, \
                     context, namespace; openstack: cloud, clouds_yaml)"
                ));
            }
            Some(other) => {
                return Err(format!(
                    "target {name:?}: unknown kind {other:?} (kubernetes, openstack or pushed)"
                ));
            }
        };
        Ok(TargetEntry {
            name: r.name,
            source,
            description: r.description,
            owner: r.owner,
            labels: r.labels,
        })
    }
}

fn read(path: &Path) -> Result<String, RegistryError> {
    std::fs::read_to_string(path).map_err(|source| RegistryError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn parse_error(path: &Path, e: impl std::fmt::Display) -> RegistryError {
    RegistryError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

impl HubConfig {
    pub fn load(path: &Path) -> Result<HubConfig, RegistryError> {
        let text = read(path)?;
        serde_saphyr::from_str(&text).map_err(|e| parse_error(path, e))
    }
}

/// Only the context names of a kubeconfig: the hub never reads its users (tokens, keys).
#[derive(Deserialize)]
struct KubeconfigNames {
    #[serde(default)]
    contexts: Vec<NamedEntry>,
    #[serde(default, rename = "current-context")]
    current_context: Option<String>,
}

#[derive(Deserialize)]
struct NamedEntry {
    name: String,
}

fn kubeconfig_names(path: &Path) -> Result<KubeconfigNames, RegistryError> {
    let text = read(path)?;
    // serde ignores the other fields (clusters, users) without keeping them.
    serde_saphyr::from_str(&text).map_err(|e| parse_error(path, e))
}

fn kubernetes(name: String, kubeconfig: &Path, context: Option<String>) -> TargetSpec {
    TargetSpec {
        name,
        source: TargetSource::Kubernetes {
            kubeconfig: Some(kubeconfig.to_path_buf()),
            context,
            namespace: None,
        },
        description: String::new(),
        owner: String::new(),
        labels: TargetLabels::default(),
    }
}

/// One target per context of a kubeconfig file, named after the context.
pub fn kubeconfig_contexts(path: &Path) -> Result<Vec<TargetSpec>, RegistryError> {
    Ok(kubeconfig_names(path)?
        .contexts
        .into_iter()
        .map(|c| kubernetes(c.name.clone(), path, Some(c.name)))
        .collect())
}

/// Every kubeconfig file of a directory (not recursive; `*.yaml`, `*.yml`, `*.kubeconfig`,
/// `*.conf` or no extension; hidden files skipped): a file with one context is one target
/// named after the file (`prod-eu-1.yaml` → `prod-eu-1`, scanned at its current context);
/// a file with several contexts gives `FILE/CONTEXT` targets.
pub fn kubeconfig_dir(dir: &Path) -> Result<Vec<TargetSpec>, RegistryError> {
    let entries = std::fs::read_dir(dir).map_err(|source| RegistryError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or(".");
            !name.starts_with('.')
                && matches!(
                    p.extension().and_then(|e| e.to_str()),
                    None | Some("yaml" | "yml" | "kubeconfig" | "conf")
                )
        })
        .collect();
    paths.sort();
    let mut targets = Vec::new();
    for path in paths {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        let names = kubeconfig_names(&path)?;
        match names.contexts.as_slice() {
            [] => {}
            [one] => targets.push(kubernetes(
                stem,
                &path,
                Some(names.current_context.unwrap_or_else(|| one.name.clone())),
            )),
            several => {
                for c in several {
                    targets.push(kubernetes(
                        format!("{stem}/{}", c.name),
                        &path,
                        Some(c.name.clone()),
                    ));
                }
            }
        }
    }
    Ok(targets)
}

#[derive(Deserialize)]
struct CloudsNames {
    #[serde(default)]
    clouds: BTreeMap<String, serde::de::IgnoredAny>,
}

/// One `openstack` target per cloud of a `clouds.yaml`, named after the cloud (the file's
/// passwords are not read).
pub fn clouds_yaml(path: &Path) -> Result<Vec<TargetSpec>, RegistryError> {
    let text = read(path)?;
    let names: CloudsNames = serde_saphyr::from_str(&text).map_err(|e| parse_error(path, e))?;
    Ok(names
        .clouds
        .into_keys()
        .map(|cloud| TargetSpec {
            name: cloud.clone(),
            source: TargetSource::Openstack {
                cloud,
                clouds_yaml: Some(path.to_path_buf()),
            },
            description: String::new(),
            owner: String::new(),
            labels: TargetLabels::default(),
        })
        .collect())
}

/// Every target of a config: those its files and directories hold, then its `targets`
/// (a full entry adds a target; an entry without `kind` gives a discovered target its
/// description, owner and labels). Sorted by name; a name with two different sources is an
/// error.
pub fn resolve(config: &HubConfig) -> Result<Vec<TargetSpec>, RegistryError> {
    let mut found: Vec<TargetSpec> = Vec::new();
    for dir in &config.kubeconfig_dirs {
        found.extend(kubeconfig_dir(dir)?);
    }
    for file in &config.kubeconfigs {
        found.extend(kubeconfig_contexts(file)?);
    }
    for file in &config.clouds_yaml {
        found.extend(clouds_yaml(file)?);
    }
    let mut by_name: BTreeMap<String, TargetSpec> = BTreeMap::new();
    for t in found {
        match by_name.get(&t.name) {
            Some(seen) if seen.source != t.source => {
                return Err(RegistryError::Duplicate(t.name));
            }
            _ => {
                by_name.insert(t.name.clone(), t);
            }
        }
    }
    for entry in &config.targets {
        let target = by_name.entry(entry.name.clone());
        let spec = match (target, &entry.source) {
            (std::collections::btree_map::Entry::Occupied(o), Some(source))
                if &o.get().source != source =>
            {
                return Err(RegistryError::Duplicate(entry.name.clone()));
            }
            (std::collections::btree_map::Entry::Occupied(o), _) => o.into_mut(),
            (std::collections::btree_map::Entry::Vacant(v), source) => v.insert(TargetSpec {
                name: entry.name.clone(),
                // Labels for a target nothing discovered: one that pushes its reports.
                source: source.clone().unwrap_or(TargetSource::Pushed),
                description: String::new(),
                owner: String::new(),
                labels: TargetLabels::default(),
            }),
        };
        spec.description = entry.description.clone();
        spec.owner = entry.owner.clone();
        spec.labels = entry.labels.clone();
    }
    Ok(by_name.into_values().collect())
}
