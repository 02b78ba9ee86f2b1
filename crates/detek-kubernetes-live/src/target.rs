//! Which clusters to scan: kubeconfig contexts or the in-cluster service account.
//!
//! Resolution follows kakao/detek, first match wins:
//!
//! 1. `--kubeconfig PATH`;
//! 2. `$KUBECONFIG` (a `:`-separated list of files, merged as kubectl does);
//! 3. the in-cluster service account (`KUBERNETES_SERVICE_HOST`/`_PORT` and a token in
//!    `/var/run/secrets/kubernetes.io/serviceaccount/`), when running in a Pod;
//! 4. `~/.kube/config`.
//!
//! With a kubeconfig, the scanned contexts are those named by `--context` (repeatable), all of
//! them with `--all-contexts`, else the current context. An explicitly given kubeconfig that
//! cannot be read is an error (it never silently falls through to another source).

use kube::config::{KubeConfigOptions, Kubeconfig};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the service account's credentials are mounted in a Pod.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// What the user asked for on the command line.
#[derive(Debug, Clone, Default)]
pub struct TargetRequest {
    pub kubeconfig: Option<PathBuf>,
    pub contexts: Vec<String>,
    pub all_contexts: bool,
}

/// The process environment resolution reads; [`Environment::from_process`] in real use, a
/// hand-made one in tests.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    /// `$KUBECONFIG`.
    pub kubeconfig: Option<String>,
    /// `$HOME`.
    pub home: Option<PathBuf>,
    /// `KUBERNETES_SERVICE_HOST` and `KUBERNETES_SERVICE_PORT`.
    pub service_host: Option<String>,
    pub service_port: Option<String>,
    /// Directory holding the service account's `token`, `ca.crt` and `namespace`.
    pub service_account_dir: PathBuf,
}

impl Environment {
    /// The real environment. `DETEK_SERVICE_ACCOUNT_DIR` overrides the service account
    /// directory (used by the integration tests, which run "in-cluster" against a test API
    /// server without being in a Pod).
    pub fn from_process() -> Environment {
        let non_empty = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Environment {
            kubeconfig: non_empty("KUBECONFIG"),
            home: std::env::home_dir(),
            service_host: non_empty("KUBERNETES_SERVICE_HOST"),
            service_port: non_empty("KUBERNETES_SERVICE_PORT"),
            service_account_dir: non_empty("DETEK_SERVICE_ACCOUNT_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(SERVICE_ACCOUNT_DIR)),
        }
    }
}

/// One cluster to scan.
#[derive(Clone)]
pub struct LiveTarget {
    /// The context name, or `in-cluster`.
    pub name: String,
    /// Where the target came from, for messages: `--kubeconfig /x`, `$KUBECONFIG`,
    /// `in-cluster service account`, `~/.kube/config`.
    pub origin: String,
    source: Source,
}

#[derive(Clone)]
enum Source {
    Kubeconfig {
        kubeconfig: Arc<Kubeconfig>,
        context: String,
    },
    InCluster(Box<kube::Config>),
}

impl std::fmt::Debug for LiveTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveTarget")
            .field("name", &self.name)
            .field("origin", &self.origin)
            .finish()
    }
}

impl LiveTarget {
    /// The client configuration (reads certificates, runs exec plugins).
    pub async fn config(&self) -> Result<kube::Config, String> {
        match &self.source {
            Source::InCluster(config) => Ok((**config).clone()),
            Source::Kubeconfig {
                kubeconfig,
                context,
            } => {
                let options = KubeConfigOptions {
                    context: Some(context.clone()),
                    ..Default::default()
                };
                kube::Config::from_custom_kubeconfig((**kubeconfig).clone(), &options)
                    .await
                    .map_err(|e| {
                        format!("context {context:?} ({}): {}", self.origin, error_chain(&e))
                    })
            }
        }
    }

    /// `true` for the in-cluster service account.
    pub fn in_cluster(&self) -> bool {
        matches!(self.source, Source::InCluster(_))
    }
}

/// Resolve the clusters to scan from the command line and the environment.
pub fn resolve(request: &TargetRequest, env: &Environment) -> Result<Vec<LiveTarget>, String> {
    // 1. --kubeconfig
    if let Some(path) = &request.kubeconfig {
        let kubeconfig = read_kubeconfig(path)?;
        return from_kubeconfig(
            kubeconfig,
            format!("--kubeconfig {}", path.display()),
            request,
        );
    }
    // 2. $KUBECONFIG
    if let Some(value) = &env.kubeconfig {
        let paths: Vec<PathBuf> = std::env::split_paths(value)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
        let mut merged: Option<Kubeconfig> = None;
        for path in &paths {
            // kubectl ignores listed files that do not exist, but not unreadable ones.
            if !path.exists() {
                continue;
            }
            let next = read_kubeconfig(path)?;
            merged = Some(match merged {
                None => next,
                Some(m) => m.merge(next).map_err(|e| {
                    format!(
                        "$KUBECONFIG: cannot merge {}: {}",
                        path.display(),
                        error_chain(&e)
                    )
                })?,
            });
        }
        let Some(kubeconfig) = merged else {
            return Err(format!("$KUBECONFIG={value}: none of its files exists"));
        };
        return from_kubeconfig(kubeconfig, "$KUBECONFIG".to_string(), request);
    }
    // 3. in-cluster service account
    if env.service_host.is_some() && env.service_port.is_some() {
        match in_cluster_config(env) {
            Ok(config) => {
                if !request.contexts.is_empty() || request.all_contexts {
                    return Err(
                        "--context/--all-contexts need a kubeconfig (--kubeconfig or $KUBECONFIG); \
                         in a Pod detek scans its own cluster with the service account"
                            .to_string(),
                    );
                }
                return Ok(vec![LiveTarget {
                    name: "in-cluster".to_string(),
                    origin: "in-cluster service account".to_string(),
                    source: Source::InCluster(Box::new(config)),
                }]);
            }
            // Not usable (no token mounted): fall through to ~/.kube/config, as kakao/detek.
            Err(_) if env.home.is_some() => {}
            Err(e) => return Err(e),
        }
    }
    // 4. ~/.kube/config
    let Some(home) = &env.home else {
        return Err(no_cluster());
    };
    let path = home.join(".kube").join("config");
    if !path.exists() {
        return Err(no_cluster());
    }
    let kubeconfig = read_kubeconfig(&path)?;
    from_kubeconfig(kubeconfig, "~/.kube/config".to_string(), request)
}

fn no_cluster() -> String {
    "nothing to scan: no --kubeconfig, $KUBECONFIG is unset, not running in a cluster, and \
     ~/.kube/config does not exist (give --input PATH or --demo to scan files)"
        .to_string()
}

fn read_kubeconfig(path: &Path) -> Result<Kubeconfig, String> {
    Kubeconfig::read_from(path).map_err(|e| {
        format!(
            "cannot read kubeconfig {}: {}",
            path.display(),
            error_chain(&e)
        )
    })
}

fn from_kubeconfig(
    kubeconfig: Kubeconfig,
    origin: String,
    request: &TargetRequest,
) -> Result<Vec<LiveTarget>, String> {
    let known: Vec<String> = kubeconfig.contexts.iter().map(|c| c.name.clone()).collect();
    let names: Vec<String> = if request.all_contexts {
        if known.is_empty() {
            return Err(format!("{origin}: the kubeconfig has no contexts"));
        }
        known.clone()
    } else if !request.contexts.is_empty() {
        let mut names = Vec::new();
        for name in &request.contexts {
            if !known.contains(name) {
                return Err(format!(
                    "{origin}: no context {name:?} (contexts: {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ));
            }
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        names
    } else {
        match kubeconfig.current_context.clone().filter(|c| !c.is_empty()) {
            Some(current) if known.contains(&current) => vec![current],
            Some(current) => {
                return Err(format!(
                    "{origin}: current-context {current:?} is not defined in the kubeconfig"
                ));
            }
            None if known.len() == 1 => known.clone(),
            None => {
                return Err(format!(
                    "{origin}: no current-context set; pick one with --context NAME or use --all-contexts \
                     (contexts: {})",
                    known.join(", ")
                ));
            }
        }
    };
    let kubeconfig = Arc::new(kubeconfig);
    Ok(names
        .into_iter()
        .map(|context| LiveTarget {
            name: context.clone(),
            origin: origin.clone(),
            source: Source::Kubeconfig {
                kubeconfig: kubeconfig.clone(),
                context,
            },
        })
        .collect())
}

/// The in-cluster configuration, as client-go builds it: `https://$HOST:$PORT`, the mounted
/// CA and token (the token file is re-read as it rotates).
fn in_cluster_config(env: &Environment) -> Result<kube::Config, String> {
    let host = env.service_host.as_deref().unwrap_or_default();
    let port: u16 = env
        .service_port
        .as_deref()
        .unwrap_or_default()
        .parse()
        .map_err(|_| {
            format!(
                "in-cluster: KUBERNETES_SERVICE_PORT {:?} is not a port",
                env.service_port
            )
        })?;
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    let url: http::Uri = format!("https://{host}:{port}")
        .parse()
        .map_err(|e| format!("in-cluster: bad API server address {host}:{port}: {e}"))?;
    let dir = &env.service_account_dir;
    let token_file = dir.join("token");
    if !token_file.is_file() {
        return Err(format!(
            "in-cluster: no service account token at {}",
            token_file.display()
        ));
    }
    let ca_file = dir.join("ca.crt");
    let ca = std::fs::read(&ca_file)
        .map_err(|e| format!("in-cluster: cannot read {}: {e}", ca_file.display()))?;
    let certs =
        pem_certificates(&ca).map_err(|e| format!("in-cluster: {}: {e}", ca_file.display()))?;
    let namespace = std::fs::read_to_string(dir.join("namespace"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "default".to_string());
    let mut config = kube::Config::new(url);
    config.default_namespace = namespace;
    config.root_cert = Some(certs);
    config.auth_info.token_file = Some(token_file.display().to_string());
    Ok(config)
}

/// DER certificates of a PEM bundle.
fn pem_certificates(pem: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    let mut rest = pem;
    while let Ok((remaining, block)) = x509_parser::pem::parse_x509_pem(rest) {
        if block.label == "CERTIFICATE" {
            out.push(block.contents);
        }
        if remaining.len() == rest.len() {
            break;
        }
        rest = remaining;
    }
    if out.is_empty() {
        return Err("no PEM certificate found".to_string());
    }
    Ok(out)
}

/// An error and its causes on one line.
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source = Some(err);
    while let Some(e) = source {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = e.source();
    }
    parts
        .join(": ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_CONTEXTS: &str = r#"
apiVersion: v1
kind: Config
current-context: b
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:6443"}
users:
- name: u
  user: {token: abc}
contexts:
- name: a
  context: {cluster: c, user: u}
- name: b
  context: {cluster: c, user: u, namespace: kube-system}
"#;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn names(t: &[LiveTarget]) -> Vec<&str> {
        t.iter().map(|t| t.name.as_str()).collect()
    }

    #[test]
    fn flag_then_env_then_in_cluster_then_home() {
        let dir = tempfile::tempdir().unwrap();
        let flag = write(
            dir.path(),
            "flag.yaml",
            &TWO_CONTEXTS.replace("current-context: b", "current-context: a"),
        );
        let envfile = write(dir.path(), "env.yaml", TWO_CONTEXTS);
        let home = dir.path().join("home");
        std::fs::create_dir_all(home.join(".kube")).unwrap();
        write(
            &home.join(".kube"),
            "config",
            &TWO_CONTEXTS.replace("current-context: b", "current-context: a"),
        );
        let sa = dir.path().join("sa");
        std::fs::create_dir_all(&sa).unwrap();
        let mut env = Environment {
            kubeconfig: Some(envfile.display().to_string()),
            home: Some(home.clone()),
            service_host: Some("10.0.0.1".into()),
            service_port: Some("443".into()),
            service_account_dir: sa.clone(),
        };
        let req = TargetRequest {
            kubeconfig: Some(flag.clone()),
            ..Default::default()
        };
        let t = resolve(&req, &env).unwrap();
        assert_eq!(
            (names(&t), t[0].origin.as_str()),
            (
                vec!["a"],
                format!("--kubeconfig {}", flag.display()).as_str()
            )
        );

        let t = resolve(&TargetRequest::default(), &env).unwrap();
        assert_eq!(
            (names(&t), t[0].origin.as_str()),
            (vec!["b"], "$KUBECONFIG")
        );

        // In a Pod without a mounted token: falls through to ~/.kube/config.
        env.kubeconfig = None;
        let t = resolve(&TargetRequest::default(), &env).unwrap();
        assert_eq!(t[0].origin, "~/.kube/config");

        // With a token: in-cluster.
        let ca = include_str!("testdata/ca.crt");
        write(&sa, "ca.crt", ca);
        write(&sa, "token", "t0ken");
        write(&sa, "namespace", "detek\n");
        let t = resolve(&TargetRequest::default(), &env).unwrap();
        assert!(t[0].in_cluster());
        assert_eq!(t[0].name, "in-cluster");
        assert!(
            resolve(
                &TargetRequest {
                    all_contexts: true,
                    ..Default::default()
                },
                &env
            )
            .is_err()
        );

        env.service_host = None;
        env.home = Some(dir.path().join("nowhere"));
        let err = resolve(&TargetRequest::default(), &env).unwrap_err();
        assert!(err.starts_with("nothing to scan"), "{err}");
    }

    #[test]
    fn contexts_and_all_contexts() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(dir.path(), "k.yaml", TWO_CONTEXTS);
        let env = Environment::default();
        let req = |contexts: &[&str], all: bool| TargetRequest {
            kubeconfig: Some(f.clone()),
            contexts: contexts.iter().map(|s| s.to_string()).collect(),
            all_contexts: all,
        };
        assert_eq!(names(&resolve(&req(&[], true), &env).unwrap()), ["a", "b"]);
        assert_eq!(
            names(&resolve(&req(&["b", "a", "b"], false), &env).unwrap()),
            ["b", "a"]
        );
        let err = resolve(&req(&["nope"], false), &env).unwrap_err();
        assert!(
            err.contains("no context \"nope\" (contexts: a, b)"),
            "{err}"
        );
        let missing = TargetRequest {
            kubeconfig: Some(dir.path().join("missing.yaml")),
            ..Default::default()
        };
        assert!(
            resolve(&missing, &env)
                .unwrap_err()
                .starts_with("cannot read kubeconfig")
        );
    }
}
