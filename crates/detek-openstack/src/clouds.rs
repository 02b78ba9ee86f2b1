//! Which OpenStack cloud to scan, resolved the way the `openstack` CLI does.
//!
//! First match wins:
//!
//! 1. a cloud name (`--os-cloud NAME`, else `$OS_CLOUD`): its entry in `clouds.yaml`, merged
//!    field by field with its entry in `secure.yaml` (where passwords and secrets are usually
//!    kept), each file the first found of `$OS_CLIENT_CONFIG_FILE` (for clouds.yaml) or
//!    `$OS_CLIENT_SECURE_FILE` (for secure.yaml), `./`, `~/.config/openstack/`,
//!    `/etc/openstack/` (`.yaml` or `.yml`);
//! 2. without a cloud name, `$OS_AUTH_URL` and the other `OS_*` variables (`OS_USERNAME`,
//!    `OS_PASSWORD`, `OS_PROJECT_NAME`/`_ID`, `OS_USER_DOMAIN_NAME`, `OS_PROJECT_DOMAIN_NAME`,
//!    `OS_REGION_NAME`, `OS_INTERFACE`, `OS_APPLICATION_CREDENTIAL_ID`/`_SECRET`, `OS_CACERT`);
//! 3. neither: no cloud is configured (not an error — OpenStack detectors are skipped).
//!
//! A named cloud that cannot be found or read is an error naming the file (and the line, for a
//! YAML or type error); it never silently falls through to the environment.

use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// A password, application-credential secret or token: never printed. `Debug` and `Display`
/// show `[redacted]`; only [`Secret::expose`] gives the text (to put it in a request).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }

    /// The secret text, for the one place that sends it (a request body or header).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// How to authenticate to Keystone v3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `auth_type: password` (the default): a user and password, scoped to a project.
    Password {
        /// A user name (with its domain) or a user id.
        user: UserRef,
        password: Secret,
    },
    /// `auth_type: v3applicationcredential`: an application credential by id, or by name with
    /// its user; the credential carries its own project scope.
    ApplicationCredential {
        id: Option<String>,
        name: Option<String>,
        user: Option<UserRef>,
        secret: Secret,
    },
}

impl Credentials {
    /// `password` or `application credential`, for messages.
    pub fn method(&self) -> &'static str {
        match self {
            Credentials::Password { .. } => "password",
            Credentials::ApplicationCredential { .. } => "application credential",
        }
    }
}

/// A user: by id, or by name within a domain (name or id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserRef {
    Id(String),
    Name { name: String, domain: DomainRef },
}

impl fmt::Display for UserRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserRef::Id(id) => write!(f, "user id {id}"),
            UserRef::Name { name, domain } => write!(f, "user {name} ({domain})"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainRef {
    Id(String),
    Name(String),
}

impl fmt::Display for DomainRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DomainRef::Id(id) => write!(f, "domain id {id}"),
            DomainRef::Name(name) => write!(f, "domain {name}"),
        }
    }
}

/// The project a password token is scoped to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectRef {
    Id(String),
    Name { name: String, domain: DomainRef },
}

impl fmt::Display for ProjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProjectRef::Id(id) => write!(f, "project id {id}"),
            ProjectRef::Name { name, domain } => write!(f, "project {name} ({domain})"),
        }
    }
}

/// Which endpoint of a service to use (`interface` / `OS_INTERFACE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Interface {
    #[default]
    Public,
    Internal,
    Admin,
}

impl Interface {
    /// `public`, `internal`, `admin`, also as the old `publicURL`, `internalURL`, `adminURL`.
    pub fn parse(text: &str) -> Option<Interface> {
        let text = text.trim();
        let text = text.strip_suffix("URL").unwrap_or(text);
        match text.to_ascii_lowercase().as_str() {
            "public" => Some(Interface::Public),
            "internal" => Some(Interface::Internal),
            "admin" => Some(Interface::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Interface::Public => "public",
            Interface::Internal => "internal",
            Interface::Admin => "admin",
        }
    }
}

/// One resolved cloud: everything needed to authenticate and pick endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudConfig {
    /// The cloud's name in clouds.yaml, or `envvars` for the `OS_*` variables (as openstacksdk
    /// names that cloud).
    pub name: String,
    /// Where it came from, for messages: `clouds.yaml /path` or `OS_* environment variables`.
    pub origin: String,
    /// Keystone's URL as configured (with or without `/v3`).
    pub auth_url: String,
    pub credentials: Credentials,
    /// The project a password token is scoped to; `None` for application credentials.
    pub project: Option<ProjectRef>,
    pub region: Option<String>,
    pub interface: Interface,
    /// A PEM file of CA certificates to trust besides the system's (`cacert` / `OS_CACERT`).
    pub cacert: Option<PathBuf>,
}

/// Why a cloud could not be resolved. Messages never hold a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CloudsError(pub String);

/// The process environment resolution reads: [`Environment::from_process`] in real use, a
/// hand-made one in tests.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    /// Every `OS_*` variable that is set and not empty.
    pub vars: BTreeMap<String, String>,
    pub home: Option<PathBuf>,
    pub cwd: PathBuf,
    /// Where system-wide configuration lives (`/etc/openstack`).
    pub system_dir: PathBuf,
}

impl Environment {
    pub fn from_process() -> Environment {
        Environment {
            vars: std::env::vars()
                .filter(|(k, v)| k.starts_with("OS_") && !v.is_empty())
                .collect(),
            home: std::env::home_dir(),
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            system_dir: PathBuf::from("/etc/openstack"),
        }
    }

    fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Directories searched for `clouds.yaml` and `secure.yaml`, in order.
    fn config_dirs(&self) -> Vec<PathBuf> {
        let mut dirs = vec![self.cwd.clone()];
        if let Some(home) = &self.home {
            dirs.push(home.join(".config/openstack"));
        }
        dirs.push(self.system_dir.clone());
        dirs
    }

    /// Is an OpenStack cloud configured at all (`OS_CLOUD` or `OS_AUTH_URL`)? DESIGN.md §1:
    /// a source is configured by a flag or its standard environment, never guessed.
    pub fn names_a_cloud(&self) -> bool {
        self.var("OS_CLOUD").is_some() || self.var("OS_AUTH_URL").is_some()
    }
}

/// The cloud to scan: `--os-cloud NAME` (`flag`), else `$OS_CLOUD`, else the `OS_*` variables
/// when `OS_AUTH_URL` is set; `Ok(None)` when nothing names a cloud.
pub fn resolve(flag: Option<&str>, env: &Environment) -> Result<Option<CloudConfig>, CloudsError> {
    if let Some(name) = flag.filter(|n| !n.is_empty()) {
        return from_files(name, "--os-cloud", env).map(Some);
    }
    if let Some(name) = env.var("OS_CLOUD") {
        return from_files(name, "$OS_CLOUD", env).map(Some);
    }
    if env.var("OS_AUTH_URL").is_some() {
        return from_env(env).map(Some);
    }
    Ok(None)
}

/// A cloud's entry in clouds.yaml / secure.yaml: what detek reads (other keys are allowed and
/// ignored, as the openstack CLI ignores what it does not use).
#[derive(Debug, Default, Clone, Deserialize)]
struct CloudEntry {
    #[serde(default)]
    auth: Option<AuthEntry>,
    #[serde(default)]
    auth_type: Option<String>,
    #[serde(default)]
    region_name: Option<String>,
    #[serde(default)]
    interface: Option<String>,
    #[serde(default)]
    cacert: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth_url: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    project_name: Option<String>,
    #[serde(default)]
    project_id: Option<String>,
    #[serde(default)]
    user_domain_name: Option<String>,
    #[serde(default)]
    user_domain_id: Option<String>,
    #[serde(default)]
    project_domain_name: Option<String>,
    #[serde(default)]
    project_domain_id: Option<String>,
    /// Used for both user and project domain when those are not given.
    #[serde(default)]
    domain_name: Option<String>,
    #[serde(default)]
    domain_id: Option<String>,
    #[serde(default)]
    application_credential_id: Option<String>,
    #[serde(default)]
    application_credential_name: Option<String>,
    #[serde(default)]
    application_credential_secret: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct CloudsFile {
    #[serde(default)]
    clouds: std::collections::HashMap<Spanned<String>, Option<CloudEntry>>,
}

/// `overlay`'s fields where set, else `base`'s: how secure.yaml completes clouds.yaml.
fn merge(base: CloudEntry, overlay: CloudEntry) -> CloudEntry {
    let auth = match (base.auth, overlay.auth) {
        (Some(b), Some(o)) => Some(AuthEntry {
            auth_url: o.auth_url.or(b.auth_url),
            username: o.username.or(b.username),
            user_id: o.user_id.or(b.user_id),
            password: o.password.or(b.password),
            project_name: o.project_name.or(b.project_name),
            project_id: o.project_id.or(b.project_id),
            user_domain_name: o.user_domain_name.or(b.user_domain_name),
            user_domain_id: o.user_domain_id.or(b.user_domain_id),
            project_domain_name: o.project_domain_name.or(b.project_domain_name),
            project_domain_id: o.project_domain_id.or(b.project_domain_id),
            domain_name: o.domain_name.or(b.domain_name),
            domain_id: o.domain_id.or(b.domain_id),
            application_credential_id: o.application_credential_id.or(b.application_credential_id),
            application_credential_name: o
                .application_credential_name
                .or(b.application_credential_name),
            application_credential_secret: o
                .application_credential_secret
                .or(b.application_credential_secret),
        }),
        (b, o) => o.or(b),
    };
    CloudEntry {
        auth,
        auth_type: overlay.auth_type.or(base.auth_type),
        region_name: overlay.region_name.or(base.region_name),
        interface: overlay.interface.or(base.interface),
        cacert: overlay.cacert.or(base.cacert),
    }
}

/// The first existing file named `stem.yaml` or `stem.yml` in the search directories.
fn find_file(stem: &str, env: &Environment) -> Option<PathBuf> {
    env.config_dirs().into_iter().find_map(|dir| {
        ["yaml", "yml"]
            .iter()
            .map(|ext| dir.join(format!("{stem}.{ext}")))
            .find(|p| p.is_file())
    })
}

/// Read and parse one clouds/secure file; errors name the file and, for YAML and type errors,
/// the line.
fn read_file(path: &Path) -> Result<CloudsFile, CloudsError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CloudsError(format!("cannot read {}: {e}", path.display())))?;
    parse_file(&text, path)
}

fn parse_file(text: &str, path: &Path) -> Result<CloudsFile, CloudsError> {
    if text.trim().is_empty() {
        return Ok(CloudsFile::default());
    }
    serde_saphyr::from_str::<CloudsFile>(text).map_err(|e| {
        // serde-saphyr names the text `<input>` and starts with `error: `: name the file.
        let message = e.to_string();
        let message = message.strip_prefix("error: ").unwrap_or(&message);
        let message = message.replace("<input>", &path.display().to_string());
        CloudsError(format!("invalid {}: {message}", path.display()))
    })
}

fn from_files(name: &str, how: &str, env: &Environment) -> Result<CloudConfig, CloudsError> {
    let explicit = env.var("OS_CLIENT_CONFIG_FILE").map(PathBuf::from);
    if let Some(path) = &explicit
        && !path.is_file()
    {
        return Err(CloudsError(format!(
            "$OS_CLIENT_CONFIG_FILE names {}, which is not a file",
            path.display()
        )));
    }
    let Some(clouds_path) = explicit.or_else(|| find_file("clouds", env)) else {
        let searched: Vec<String> = env
            .config_dirs()
            .iter()
            .map(|d| d.join("clouds.yaml").display().to_string())
            .collect();
        return Err(CloudsError(format!(
            "cloud {name:?} ({how}): no clouds.yaml found (looked for {})",
            searched.join(", ")
        )));
    };
    let clouds = read_file(&clouds_path)?;
    let Some((key, entry)) = clouds.clouds.into_iter().find(|(k, _)| k.value == name) else {
        let secure_hint = "";
        return Err(CloudsError(format!(
            "no cloud {name:?} ({how}) in {}{secure_hint}",
            clouds_path.display()
        )));
    };
    let line = key.referenced.line();
    let mut entry = entry.unwrap_or_default();
    let mut origin = format!("{}:{line}", clouds_path.display());
    let secure_path = env
        .var("OS_CLIENT_SECURE_FILE")
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .or_else(|| find_file("secure", env));
    if let Some(secure_path) = secure_path {
        let secure = read_file(&secure_path)?;
        if let Some((_, Some(secret_part))) =
            secure.clouds.into_iter().find(|(k, _)| k.value == name)
        {
            entry = merge(entry, secret_part);
            origin.push_str(&format!(" + {}", secure_path.display()));
        }
    }
    build(name, &origin, entry)
}

fn from_env(env: &Environment) -> Result<CloudConfig, CloudsError> {
    let var = |n: &str| env.var(n).map(str::to_string);
    let entry = CloudEntry {
        auth: Some(AuthEntry {
            auth_url: var("OS_AUTH_URL"),
            username: var("OS_USERNAME"),
            user_id: var("OS_USER_ID"),
            password: var("OS_PASSWORD"),
            project_name: var("OS_PROJECT_NAME").or_else(|| var("OS_TENANT_NAME")),
            project_id: var("OS_PROJECT_ID").or_else(|| var("OS_TENANT_ID")),
            user_domain_name: var("OS_USER_DOMAIN_NAME"),
            user_domain_id: var("OS_USER_DOMAIN_ID"),
            project_domain_name: var("OS_PROJECT_DOMAIN_NAME"),
            project_domain_id: var("OS_PROJECT_DOMAIN_ID"),
            domain_name: var("OS_DOMAIN_NAME"),
            domain_id: var("OS_DOMAIN_ID"),
            application_credential_id: var("OS_APPLICATION_CREDENTIAL_ID"),
            application_credential_name: var("OS_APPLICATION_CREDENTIAL_NAME"),
            application_credential_secret: var("OS_APPLICATION_CREDENTIAL_SECRET"),
        }),
        auth_type: var("OS_AUTH_TYPE"),
        region_name: var("OS_REGION_NAME"),
        interface: var("OS_INTERFACE"),
        cacert: var("OS_CACERT"),
    };
    build("envvars", "OS_* environment variables", entry)
}

/// Check a merged entry and turn it into a [`CloudConfig`]. `origin` names where it came from
/// (file:line of the cloud, or the environment) in every error.
fn build(name: &str, origin: &str, entry: CloudEntry) -> Result<CloudConfig, CloudsError> {
    let fail = |what: String| CloudsError(format!("cloud {name:?} ({origin}): {what}"));
    let auth = entry.auth.unwrap_or_default();
    let auth_url = auth
        .auth_url
        .clone()
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| fail("no auth_url (auth.auth_url / OS_AUTH_URL)".into()))?;
    if !(auth_url.starts_with("http://") || auth_url.starts_with("https://")) {
        return Err(fail(format!(
            "auth_url {auth_url:?} is not an http:// or https:// URL"
        )));
    }
    let has_app_cred =
        auth.application_credential_id.is_some() || auth.application_credential_name.is_some();
    let auth_type = entry
        .auth_type
        .as_deref()
        .map(str::to_ascii_lowercase)
        .unwrap_or_else(|| {
            if has_app_cred {
                "v3applicationcredential".into()
            } else {
                "password".into()
            }
        });
    let user_domain = || {
        auth.user_domain_id
            .clone()
            .or_else(|| auth.domain_id.clone())
            .map(DomainRef::Id)
            .or_else(|| {
                auth.user_domain_name
                    .clone()
                    .or_else(|| auth.domain_name.clone())
                    .map(DomainRef::Name)
            })
            .unwrap_or_else(|| DomainRef::Name("Default".into()))
    };
    let user = || -> Option<UserRef> {
        if let Some(id) = &auth.user_id {
            return Some(UserRef::Id(id.clone()));
        }
        auth.username.clone().map(|name| UserRef::Name {
            name,
            domain: user_domain(),
        })
    };
    let (credentials, project) = match auth_type.as_str() {
        "password" | "v3password" => {
            let user = user().ok_or_else(|| fail("no username or user_id".into()))?;
            let password = auth.password.clone().ok_or_else(|| {
                fail("no password (in clouds.yaml, secure.yaml or OS_PASSWORD)".into())
            })?;
            let project = if let Some(id) = &auth.project_id {
                ProjectRef::Id(id.clone())
            } else if let Some(project) = &auth.project_name {
                let domain = auth
                    .project_domain_id
                    .clone()
                    .or_else(|| auth.domain_id.clone())
                    .map(DomainRef::Id)
                    .or_else(|| {
                        auth.project_domain_name
                            .clone()
                            .or_else(|| auth.domain_name.clone())
                            .map(DomainRef::Name)
                    })
                    .unwrap_or_else(|| DomainRef::Name("Default".into()));
                ProjectRef::Name {
                    name: project.clone(),
                    domain,
                }
            } else {
                return Err(fail(
                    "no project_name or project_id: detek scans one project (or, as an admin, all of them) and needs a project-scoped token".into(),
                ));
            };
            (
                Credentials::Password {
                    user,
                    password: Secret::new(password),
                },
                Some(project),
            )
        }
        "v3applicationcredential" | "applicationcredential" | "application_credential" => {
            if !has_app_cred {
                return Err(fail(
                    "no application_credential_id or application_credential_name".into(),
                ));
            }
            let secret = auth.application_credential_secret.clone().ok_or_else(|| {
                fail("no application_credential_secret (in clouds.yaml, secure.yaml or OS_APPLICATION_CREDENTIAL_SECRET)".into())
            })?;
            let user = if auth.application_credential_id.is_none() {
                Some(user().ok_or_else(|| {
                    fail(
                        "an application credential given by name needs its username or user_id"
                            .into(),
                    )
                })?)
            } else {
                None
            };
            (
                Credentials::ApplicationCredential {
                    id: auth.application_credential_id.clone(),
                    name: auth.application_credential_name.clone(),
                    user,
                    secret: Secret::new(secret),
                },
                None,
            )
        }
        other => {
            return Err(fail(format!(
                "auth_type {other:?} is not supported (password, v3applicationcredential)"
            )));
        }
    };
    let interface = match &entry.interface {
        None => Interface::Public,
        Some(text) => Interface::parse(text).ok_or_else(|| {
            fail(format!(
                "interface {text:?} is not public, internal or admin"
            ))
        })?,
    };
    Ok(CloudConfig {
        name: name.to_string(),
        origin: origin.to_string(),
        auth_url,
        credentials,
        project,
        region: entry.region_name.filter(|r| !r.is_empty()),
        interface,
        cacert: entry.cacert.filter(|c| !c.is_empty()).map(PathBuf::from),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dirs {
        _root: tempfile::TempDir,
        env: Environment,
    }

    fn dirs() -> Dirs {
        let root = tempfile::tempdir().unwrap();
        let env = Environment {
            vars: BTreeMap::new(),
            home: Some(root.path().join("home")),
            cwd: root.path().join("cwd"),
            system_dir: root.path().join("etc"),
        };
        for d in [
            env.cwd.clone(),
            env.home.clone().unwrap().join(".config/openstack"),
            env.system_dir.clone(),
        ] {
            std::fs::create_dir_all(d).unwrap();
        }
        Dirs { _root: root, env }
    }

    fn write(path: PathBuf, text: &str) -> PathBuf {
        std::fs::write(&path, text).unwrap();
        path
    }

    const CLOUDS: &str = "\
clouds:
  test:
    auth:
      auth_url: http://127.0.0.1:5000/v3
      username: alice
      project_name: demo
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    interface: internal
  other:
    auth:
      auth_url: https://keystone.example:5000
      application_credential_id: abc123
      application_credential_secret: s3cret
    auth_type: v3applicationcredential
";

    #[test]
    fn nothing_configured_is_no_cloud() {
        let d = dirs();
        assert_eq!(resolve(None, &d.env), Ok(None));
    }

    #[test]
    fn named_cloud_merges_secure_yaml() {
        let d = dirs();
        let clouds = write(d.env.cwd.join("clouds.yaml"), CLOUDS);
        let secure = write(
            d.env
                .home
                .clone()
                .unwrap()
                .join(".config/openstack/secure.yaml"),
            "clouds:\n  test:\n    auth:\n      password: hunter2\n",
        );
        let cloud = resolve(Some("test"), &d.env).unwrap().unwrap();
        assert_eq!(cloud.name, "test");
        assert_eq!(
            cloud.origin,
            format!("{}:2 + {}", clouds.display(), secure.display())
        );
        assert_eq!(cloud.auth_url, "http://127.0.0.1:5000/v3");
        assert_eq!(
            cloud.credentials,
            Credentials::Password {
                user: UserRef::Name {
                    name: "alice".into(),
                    domain: DomainRef::Name("Default".into())
                },
                password: Secret::new("hunter2"),
            }
        );
        assert_eq!(
            cloud.project,
            Some(ProjectRef::Name {
                name: "demo".into(),
                domain: DomainRef::Name("Default".into())
            })
        );
        assert_eq!(cloud.region.as_deref(), Some("RegionOne"));
        assert_eq!(cloud.interface, Interface::Internal);
        // The password is in the config, never in its Debug text.
        let debug = format!("{cloud:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("[redacted]"));
    }

    #[test]
    fn flag_wins_over_os_cloud_and_os_cloud_over_os_auth_url() {
        let mut d = dirs();
        write(d.env.cwd.join("clouds.yaml"), CLOUDS);
        write(
            d.env.cwd.join("secure.yaml"),
            "clouds:\n  test:\n    auth:\n      password: pw\n",
        );
        d.env.vars.insert("OS_CLOUD".into(), "other".into());
        d.env
            .vars
            .insert("OS_AUTH_URL".into(), "http://env.example:5000/v3".into());
        assert_eq!(resolve(Some("test"), &d.env).unwrap().unwrap().name, "test");
        let other = resolve(None, &d.env).unwrap().unwrap();
        assert_eq!(other.name, "other");
        assert_eq!(
            other.credentials,
            Credentials::ApplicationCredential {
                id: Some("abc123".into()),
                name: None,
                user: None,
                secret: Secret::new("s3cret"),
            }
        );
        assert_eq!(other.project, None);
        d.env.vars.remove("OS_CLOUD");
        // No cloud name: the OS_* variables, which lack a user here.
        let err = resolve(None, &d.env).unwrap_err();
        assert_eq!(
            err.0,
            "cloud \"envvars\" (OS_* environment variables): no username or user_id"
        );
    }

    #[test]
    fn first_directory_wins_cwd_then_home_then_etc() {
        let d = dirs();
        let etc = write(
            d.env.system_dir.join("clouds.yaml"),
            "clouds:\n  test:\n    auth: {auth_url: 'http://etc:5000', username: u, password: p, project_id: p1}\n",
        );
        assert_eq!(
            resolve(Some("test"), &d.env).unwrap().unwrap().origin,
            format!("{}:2", etc.display())
        );
        let home = write(
            d.env
                .home
                .clone()
                .unwrap()
                .join(".config/openstack/clouds.yml"),
            "clouds:\n  test:\n    auth: {auth_url: 'http://home:5000', username: u, password: p, project_id: p1}\n",
        );
        let cloud = resolve(Some("test"), &d.env).unwrap().unwrap();
        assert_eq!(cloud.origin, format!("{}:2", home.display()));
        assert_eq!(cloud.project, Some(ProjectRef::Id("p1".into())));
        write(
            d.env.cwd.join("clouds.yaml"),
            "clouds:\n  test:\n    auth: {auth_url: 'http://cwd:5000', username: u, password: p, project_id: p1}\n",
        );
        assert_eq!(
            resolve(Some("test"), &d.env).unwrap().unwrap().auth_url,
            "http://cwd:5000"
        );
    }

    #[test]
    fn os_client_config_file_comes_first() {
        let mut d = dirs();
        write(d.env.cwd.join("clouds.yaml"), CLOUDS);
        let explicit = write(
            d.env.system_dir.join("mine.yaml"),
            "clouds:\n  test:\n    auth: {auth_url: 'http://mine:5000', username: u, password: p, project_id: p1}\n",
        );
        d.env.vars.insert(
            "OS_CLIENT_CONFIG_FILE".into(),
            explicit.display().to_string(),
        );
        assert_eq!(
            resolve(Some("test"), &d.env).unwrap().unwrap().auth_url,
            "http://mine:5000"
        );
        write(
            d.env.cwd.join("secure.yaml"),
            "clouds:\n  test:\n    auth:\n      password: from-cwd\n",
        );
        let secure = write(
            d.env.system_dir.join("my-secure.yaml"),
            "clouds:\n  test:\n    auth:\n      password: from-env\n",
        );
        d.env
            .vars
            .insert("OS_CLIENT_SECURE_FILE".into(), secure.display().to_string());
        let cloud = resolve(Some("test"), &d.env).unwrap().unwrap();
        assert_eq!(
            cloud.credentials,
            Credentials::Password {
                user: UserRef::Name {
                    name: "u".into(),
                    domain: DomainRef::Name("Default".into())
                },
                password: Secret::new("from-env"),
            }
        );
    }

    #[test]
    fn environment_variables() {
        let mut d = dirs();
        for (k, v) in [
            ("OS_AUTH_URL", "http://127.0.0.1:5000/v3"),
            ("OS_USERNAME", "bob"),
            ("OS_PASSWORD", "pw"),
            ("OS_PROJECT_NAME", "ops"),
            ("OS_USER_DOMAIN_NAME", "users"),
            ("OS_PROJECT_DOMAIN_NAME", "projects"),
            ("OS_REGION_NAME", "RegionTwo"),
            ("OS_INTERFACE", "adminURL"),
            ("OS_CACERT", "/tmp/ca.pem"),
        ] {
            d.env.vars.insert(k.into(), v.into());
        }
        let cloud = resolve(None, &d.env).unwrap().unwrap();
        assert_eq!(cloud.name, "envvars");
        assert_eq!(
            cloud.credentials,
            Credentials::Password {
                user: UserRef::Name {
                    name: "bob".into(),
                    domain: DomainRef::Name("users".into())
                },
                password: Secret::new("pw"),
            }
        );
        assert_eq!(
            cloud.project,
            Some(ProjectRef::Name {
                name: "ops".into(),
                domain: DomainRef::Name("projects".into())
            })
        );
        assert_eq!(cloud.region.as_deref(), Some("RegionTwo"));
        assert_eq!(cloud.interface, Interface::Admin);
        assert_eq!(cloud.cacert, Some(PathBuf::from("/tmp/ca.pem")));

        // Application credentials from the environment: no project, the credential has one.
        d.env.vars.remove("OS_PASSWORD");
        d.env
            .vars
            .insert("OS_APPLICATION_CREDENTIAL_ID".into(), "ac1".into());
        d.env
            .vars
            .insert("OS_APPLICATION_CREDENTIAL_SECRET".into(), "acs".into());
        let cloud = resolve(None, &d.env).unwrap().unwrap();
        assert_eq!(cloud.credentials.method(), "application credential");
        assert_eq!(cloud.project, None);
    }

    #[test]
    fn bad_yaml_names_file_and_line() {
        let d = dirs();
        let path = write(
            d.env.cwd.join("clouds.yaml"),
            "clouds:\n  test:\n    auth:\n      auth_url: [unclosed\n",
        );
        let err = resolve(Some("test"), &d.env).unwrap_err().0;
        assert!(
            err.starts_with(&format!("invalid {}:", path.display())),
            "{err}"
        );
        assert!(
            err.contains(&format!("--> {}:4:17", path.display())),
            "{err}"
        );
    }

    #[test]
    fn wrong_type_names_file_and_line() {
        let d = dirs();
        let path = write(
            d.env.cwd.join("clouds.yaml"),
            "clouds:\n  test:\n    auth:\n      auth_url: http://x:5000\n      username: [a, b]\n",
        );
        let err = resolve(Some("test"), &d.env).unwrap_err().0;
        assert!(err.contains(&format!("{}:5", path.display())), "{err}");
    }

    #[test]
    fn missing_cloud_and_missing_fields_name_the_file() {
        let d = dirs();
        let path = write(d.env.cwd.join("clouds.yaml"), CLOUDS);
        assert_eq!(
            resolve(Some("nope"), &d.env).unwrap_err().0,
            format!("no cloud \"nope\" (--os-cloud) in {}", path.display())
        );
        // `test` has no password anywhere.
        assert_eq!(
            resolve(Some("test"), &d.env).unwrap_err().0,
            format!(
                "cloud \"test\" ({}:2): no password (in clouds.yaml, secure.yaml or OS_PASSWORD)",
                path.display()
            )
        );
        let bad_secret = write(
            d.env.cwd.join("secure.yaml"),
            "clouds:\n  test:\n    auth:\n      password: hunter2\n    interface: sideways\n",
        );
        let err = resolve(Some("test"), &d.env).unwrap_err().0;
        assert_eq!(
            err,
            format!(
                "cloud \"test\" ({}:2 + {}): interface \"sideways\" is not public, internal or admin",
                path.display(),
                bad_secret.display()
            )
        );
        assert!(!err.contains("hunter2"));
    }

    #[test]
    fn no_clouds_yaml_lists_where_it_looked() {
        let d = dirs();
        let err = resolve(Some("test"), &d.env).unwrap_err().0;
        assert!(
            err.starts_with("cloud \"test\" (--os-cloud): no clouds.yaml found (looked for "),
            "{err}"
        );
        assert!(err.contains(&d.env.cwd.join("clouds.yaml").display().to_string()));
    }

    #[test]
    fn secret_redacts() {
        let s = Secret::new("tok");
        assert_eq!(format!("{s} {s:?}"), "[redacted] [redacted]");
        assert_eq!(s.expose(), "tok");
    }
}
