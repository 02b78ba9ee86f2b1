//! The targets registry: which clusters (and clouds) the hub scans, with the labels the
//! dashboard filters on. Targets come from a config file (`hub.yaml`), from the contexts of
//! a kubeconfig, from a directory of kubeconfig files, or from the API. A target holds where
//! its credentials are (a context name, a file path, a cloud name), never the credentials.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

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
            } => {
                let file = kubeconfig.as_ref().map_or_else(
                    || "default kubeconfig".to_string(),
                    |p| p.display().to_string(),
                );
                match context {
                    Some(c) => format!("context {c} of {file}"),
                    None => format!("current context of {file}"),
                }
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
