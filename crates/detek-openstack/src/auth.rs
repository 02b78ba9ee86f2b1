//! Keystone v3 authentication (`POST /v3/auth/tokens`, password or application credential),
//! the token's service catalog, and authenticated GETs that re-issue the token once when a
//! service answers 401 (it expired or was revoked mid-scan).

use crate::client::{
    Answer, ClientOptions, Failure, Http, one_line, status_failure, without_query,
};
use crate::clouds::{CloudConfig, Credentials, DomainRef, Interface, ProjectRef, Secret, UserRef};
use bytes::Bytes;
use http::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// What Keystone says about a token: who, which project, which roles, and the catalog.
#[derive(Debug, Clone)]
pub struct Token {
    pub value: Secret,
    pub expires_at: Option<String>,
    pub user: Option<String>,
    pub project_id: Option<String>,
    pub project_name: Option<String>,
    pub roles: Vec<String>,
    pub catalog: Vec<CatalogService>,
}

impl Token {
    /// The `admin` role (Keystone's bootstrap role, which the services' default policies
    /// read as "may list every project's resources").
    pub fn is_admin(&self) -> bool {
        self.roles.iter().any(|r| r == "admin")
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct CatalogService {
    #[serde(rename = "type")]
    pub service_type: String,
    #[serde(default)]
    pub endpoints: Vec<CatalogEndpoint>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CatalogEndpoint {
    pub interface: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub region_id: Option<String>,
    pub url: String,
}

#[derive(Deserialize)]
struct TokenBody {
    token: TokenFields,
}

#[derive(Deserialize)]
struct TokenFields {
    #[serde(default)]
    expires_at: Option<String>,
    #[serde(default)]
    user: Option<Named>,
    #[serde(default)]
    project: Option<Named>,
    #[serde(default)]
    roles: Vec<Named>,
    #[serde(default)]
    catalog: Vec<CatalogService>,
}

#[derive(Deserialize)]
struct Named {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

/// Why authentication failed: one line, never a secret.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct AuthError(pub String);

/// `auth_url` + `/auth/tokens`, adding `/v3` unless the URL already names it.
fn tokens_url(auth_url: &str) -> String {
    let base = auth_url.trim_end_matches('/');
    if base.ends_with("/v3") {
        format!("{base}/auth/tokens")
    } else {
        format!("{base}/v3/auth/tokens")
    }
}

fn domain_json(domain: &DomainRef) -> Value {
    match domain {
        DomainRef::Id(id) => json!({"id": id}),
        DomainRef::Name(name) => json!({"name": name}),
    }
}

fn user_json(user: &UserRef) -> Value {
    match user {
        UserRef::Id(id) => json!({"id": id}),
        UserRef::Name { name, domain } => json!({"name": name, "domain": domain_json(domain)}),
    }
}

/// The body of `POST /v3/auth/tokens`. It holds the secret: it is sent, never printed.
fn auth_body(cloud: &CloudConfig) -> Value {
    match &cloud.credentials {
        Credentials::Password { user, password } => {
            let mut user = user_json(user);
            user["password"] = Value::String(password.expose().to_string());
            let scope = match &cloud.project {
                Some(ProjectRef::Id(id)) => json!({"project": {"id": id}}),
                Some(ProjectRef::Name { name, domain }) => {
                    json!({"project": {"name": name, "domain": domain_json(domain)}})
                }
                None => Value::Null,
            };
            let mut auth = json!({
                "identity": {"methods": ["password"], "password": {"user": user}},
            });
            if !scope.is_null() {
                auth["scope"] = scope;
            }
            json!({ "auth": auth })
        }
        Credentials::ApplicationCredential {
            id,
            name,
            user,
            secret,
        } => {
            let mut credential = json!({"secret": secret.expose()});
            if let Some(id) = id {
                credential["id"] = json!(id);
            } else {
                credential["name"] = json!(name);
                if let Some(user) = user {
                    credential["user"] = user_json(user);
                }
            }
            json!({"auth": {"identity": {
                "methods": ["application_credential"],
                "application_credential": credential,
            }}})
        }
    }
}

/// Authenticate once. The error is one line naming Keystone's URL, the user or credential
/// and Keystone's answer.
async fn issue(http: &Http, cloud: &CloudConfig) -> Result<Token, AuthError> {
    let url = tokens_url(&cloud.auth_url);
    let who = match &cloud.credentials {
        Credentials::Password { user, .. } => format!("{user}"),
        Credentials::ApplicationCredential { id: Some(id), .. } => {
            format!("application credential {id}")
        }
        Credentials::ApplicationCredential { name, .. } => {
            format!("application credential {}", name.as_deref().unwrap_or(""))
        }
    };
    let body = Bytes::from(auth_body(cloud).to_string());
    let answer = http
        .send(Method::POST, &url, &[], Some(body))
        .await
        .map_err(|f| {
            AuthError(scrub(
                &format!("cannot authenticate to Keystone at {url}: {}", f.describe()),
                cloud,
            ))
        })?;
    if !answer.status.is_success() {
        let failure = status_failure(&answer);
        let what = match answer.status.as_u16() {
            401 => format!(
                "Keystone at {url} refused the {} of {who}",
                cloud.credentials.method()
            ),
            _ => format!("Keystone at {url} did not issue a token for {who}"),
        };
        return Err(AuthError(scrub(
            &format!("{what}: {}", failure.describe()),
            cloud,
        )));
    }
    let value = answer
        .headers
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .ok_or_else(|| {
            AuthError(format!(
                "Keystone at {url} answered {} without an X-Subject-Token header",
                answer.status.as_u16()
            ))
        })?;
    let body: TokenBody = serde_json::from_slice(&answer.body).map_err(|e| {
        AuthError(format!(
            "Keystone at {url}: unreadable token body: {}",
            one_line(&e.to_string())
        ))
    })?;
    let t = body.token;
    Ok(Token {
        value: Secret::new(value),
        expires_at: t.expires_at,
        user: t.user.and_then(|u| u.name.or(u.id)),
        project_id: t.project.as_ref().and_then(|p| p.id.clone()),
        project_name: t.project.and_then(|p| p.name),
        roles: t.roles.into_iter().filter_map(|r| r.name).collect(),
        catalog: t.catalog,
    })
}

/// Replace any secret of the cloud that an error text might echo (a server quoting a
/// request) by `[redacted]`.
fn scrub(text: &str, cloud: &CloudConfig) -> String {
    let secret = match &cloud.credentials {
        Credentials::Password { password, .. } => password,
        Credentials::ApplicationCredential { secret, .. } => secret,
    };
    if secret.expose().len() >= 4 {
        text.replace(secret.expose(), "[redacted]")
    } else {
        text.to_string()
    }
}

/// One authenticated session with a cloud: the current token, re-issued when a service says
/// it is no longer valid.
pub struct Session {
    cloud: CloudConfig,
    pub(crate) http: Http,
    token: tokio::sync::RwLock<(u64, Arc<Token>)>,
    /// Held while a token is re-issued, so concurrent 401s re-issue it once.
    reissuing: tokio::sync::Mutex<()>,
    /// Tokens issued after the first.
    pub reissued: AtomicU64,
}

impl Session {
    /// Authenticate (the first token) and keep the session.
    pub async fn open(cloud: CloudConfig, options: &ClientOptions) -> Result<Session, AuthError> {
        let http = Http::new(&cloud, options)
            .map_err(|e| AuthError(format!("cloud {:?} ({}): {e}", cloud.name, cloud.origin)))?;
        let token = issue(&http, &cloud).await?;
        Ok(Session {
            cloud,
            http,
            token: tokio::sync::RwLock::new((0, Arc::new(token))),
            reissuing: tokio::sync::Mutex::new(()),
            reissued: AtomicU64::new(0),
        })
    }

    pub fn cloud(&self) -> &CloudConfig {
        &self.cloud
    }

    pub async fn token(&self) -> Arc<Token> {
        self.token.read().await.1.clone()
    }

    /// The endpoint of a service by type (the first of `types` the catalog has), in the
    /// cloud's region (any, when none is configured) and interface.
    pub async fn endpoint(&self, types: &[&str]) -> Option<String> {
        let token = self.token().await;
        select_endpoint(
            &token.catalog,
            types,
            self.cloud.region.as_deref(),
            self.cloud.interface,
        )
    }

    /// GET `url` with the token; a refused token ([`token_refused`]) re-issues it (once,
    /// whatever the number of requests that saw it) and the request is sent once more.
    pub(crate) async fn get(&self, url: &str) -> Result<Answer, Failure> {
        let (generation, token) = {
            let current = self.token.read().await;
            (current.0, current.1.clone())
        };
        let answer = self.get_with(url, &token).await?;
        if !token_refused(&answer) {
            return ok_or_failure(answer);
        }
        let token = self
            .reissue(generation)
            .await
            .map_err(|e| Failure::Status {
                code: 401,
                message: format!(
                    "the token was refused at {} and a new one could not be issued: {e}",
                    without_query(url)
                ),
            })?;
        ok_or_failure(self.get_with(url, &token).await?)
    }

    async fn get_with(&self, url: &str, token: &Token) -> Result<Answer, Failure> {
        self.http
            .send(
                Method::GET,
                url,
                &[("X-Auth-Token", token.value.expose())],
                None,
            )
            .await
    }

    /// A new token, unless another request already replaced the one of `generation`.
    async fn reissue(&self, generation: u64) -> Result<Arc<Token>, AuthError> {
        let _one_at_a_time = self.reissuing.lock().await;
        {
            let current = self.token.read().await;
            if current.0 != generation {
                return Ok(current.1.clone());
            }
        }
        let token = Arc::new(issue(&self.http, &self.cloud).await?);
        self.reissued.fetch_add(1, Ordering::Relaxed);
        let mut current = self.token.write().await;
        *current = (generation + 1, token.clone());
        Ok(token)
    }
}

/// Did the service refuse the token? A 401; or Nova's 400 when the service it calls with the
/// same token refused it: Nova accepted a revoked token from its validation cache, Neutron did
/// not, and Nova answers "Networking client is experiencing an unauthorized exception".
fn token_refused(answer: &Answer) -> bool {
    match answer.status.as_u16() {
        401 => true,
        400 => String::from_utf8_lossy(&answer.body).contains("unauthorized exception"),
        _ => false,
    }
}

fn ok_or_failure(answer: Answer) -> Result<Answer, Failure> {
    if answer.status.is_success() {
        Ok(answer)
    } else {
        Err(status_failure(&answer))
    }
}

/// The URL of the first service among `types` with an endpoint of `interface` in `region`
/// (any region when `None`).
pub fn select_endpoint(
    catalog: &[CatalogService],
    types: &[&str],
    region: Option<&str>,
    interface: Interface,
) -> Option<String> {
    types.iter().find_map(|wanted| {
        catalog
            .iter()
            .filter(|s| s.service_type == *wanted)
            .flat_map(|s| &s.endpoints)
            .find(|e| {
                e.interface == interface.as_str()
                    && region.is_none_or(|r| {
                        e.region_id.as_deref() == Some(r) || e.region.as_deref() == Some(r)
                    })
            })
            .map(|e| e.url.trim_end_matches('/').to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clouds::{Environment, resolve};

    fn catalog() -> Vec<CatalogService> {
        serde_json::from_value(json!([
            {"type": "compute", "endpoints": [
                {"interface": "public", "region": "RegionOne", "region_id": "RegionOne", "url": "http://one/compute/v2.1/"},
                {"interface": "internal", "region_id": "RegionOne", "url": "http://one-internal/compute/v2.1"},
                {"interface": "public", "region_id": "RegionTwo", "url": "http://two/compute/v2.1"}
            ]},
            {"type": "volumev3", "endpoints": [
                {"interface": "public", "region_id": "RegionOne", "url": "http://one/volume/v3/p1"}
            ]}
        ]))
        .unwrap()
    }

    #[test]
    fn endpoints_by_type_region_and_interface() {
        let c = catalog();
        assert_eq!(
            select_endpoint(&c, &["compute"], None, Interface::Public).as_deref(),
            Some("http://one/compute/v2.1")
        );
        assert_eq!(
            select_endpoint(&c, &["compute"], Some("RegionTwo"), Interface::Public).as_deref(),
            Some("http://two/compute/v2.1")
        );
        assert_eq!(
            select_endpoint(&c, &["compute"], Some("RegionOne"), Interface::Internal).as_deref(),
            Some("http://one-internal/compute/v2.1")
        );
        assert_eq!(
            select_endpoint(&c, &["compute"], Some("RegionTwo"), Interface::Admin),
            None
        );
        assert_eq!(
            select_endpoint(&c, &["block-storage", "volumev3"], None, Interface::Public).as_deref(),
            Some("http://one/volume/v3/p1")
        );
        assert_eq!(
            select_endpoint(&c, &["load-balancer"], None, Interface::Public),
            None
        );
    }

    #[test]
    fn auth_bodies() {
        let mut env = Environment::default();
        for (k, v) in [
            ("OS_AUTH_URL", "http://k:5000"),
            ("OS_USERNAME", "alice"),
            ("OS_PASSWORD", "pw"),
            ("OS_PROJECT_ID", "p1"),
        ] {
            env.vars.insert(k.into(), v.into());
        }
        let cloud = resolve(None, &env).unwrap().unwrap();
        assert_eq!(tokens_url(&cloud.auth_url), "http://k:5000/v3/auth/tokens");
        assert_eq!(
            auth_body(&cloud),
            json!({"auth": {
                "identity": {"methods": ["password"], "password": {"user": {
                    "name": "alice", "domain": {"name": "Default"}, "password": "pw"}}},
                "scope": {"project": {"id": "p1"}}
            }})
        );
        env.vars.remove("OS_PASSWORD");
        env.vars
            .insert("OS_APPLICATION_CREDENTIAL_ID".into(), "ac".into());
        env.vars
            .insert("OS_APPLICATION_CREDENTIAL_SECRET".into(), "s".into());
        env.vars
            .insert("OS_AUTH_URL".into(), "http://k:5000/v3/".into());
        let cloud = resolve(None, &env).unwrap().unwrap();
        assert_eq!(tokens_url(&cloud.auth_url), "http://k:5000/v3/auth/tokens");
        assert_eq!(
            auth_body(&cloud),
            json!({"auth": {"identity": {
                "methods": ["application_credential"],
                "application_credential": {"id": "ac", "secret": "s"}
            }}})
        );
    }
}
