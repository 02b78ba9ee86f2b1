//! Requests to Prometheus (or a `/metrics` endpoint): where it is and how to authenticate
//! ([`Endpoint`]: bearer token, basic auth, CA file, client certificate), a per-request
//! timeout, retries with backoff on 429/5xx and dropped connections — the policy of the
//! other collectors — on the hyper + rustls stack kube uses. Credentials are sent, never
//! logged: failures carry the URL without its query, the status and the server's message.

use bytes::Bytes;
use detek_core::retry::{backoff, human_duration, one_line, without_query};
use http::{HeaderMap, Request, StatusCode, header};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How to authenticate.
#[derive(Clone, Default)]
pub enum Auth {
    #[default]
    None,
    Bearer(String),
    Basic {
        username: String,
        password: String,
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a credential.
        f.write_str(match self {
            Auth::None => "None",
            Auth::Bearer(_) => "Bearer(…)",
            Auth::Basic { .. } => "Basic(…)",
        })
    }
}

/// Where a server is and how to talk to it.
#[derive(Debug, Clone, Default)]
pub struct Endpoint {
    /// `http(s)://host:port[/prefix]`, without a trailing slash.
    pub url: String,
    pub auth: Auth,
    /// PEM CA certificates to trust besides the system's.
    pub ca_file: Option<PathBuf>,
    pub ca_pem: Option<Vec<u8>>,
    /// DER CA certificates (a kubeconfig's, as kube reads them).
    pub ca_der: Vec<Vec<u8>>,
    /// PEM client certificate and key (mutual TLS).
    pub client_cert: Option<(PemSource, PemSource)>,
    /// Extra headers on every request (e.g. `Authorization` from a kubeconfig).
    pub headers: Vec<(String, String)>,
    /// Do not verify the server's certificate (a kubeconfig's `insecure-skip-tls-verify`).
    pub insecure: bool,
}

/// PEM text from a file or in memory (a kubeconfig's `client-certificate-data`).
#[derive(Debug, Clone)]
pub enum PemSource {
    File(PathBuf),
    Data(Vec<u8>),
}

impl PemSource {
    fn read(&self) -> Result<Vec<u8>, String> {
        match self {
            PemSource::File(p) => {
                std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
            }
            PemSource::Data(d) => Ok(d.clone()),
        }
    }
}

/// Timeouts and retries.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub request_timeout: Duration,
    pub max_retries: u32,
    pub max_retry_wait: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            request_timeout: Duration::from_secs(30),
            max_retries: 2,
            max_retry_wait: Duration::from_secs(10),
        }
    }
}

/// One answer (any status).
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// A connection pool to one endpoint.
pub struct Http {
    client: HttpsClient,
    endpoint: Endpoint,
    options: ClientOptions,
    authorization: Option<String>,
}

const USER_AGENT: &str = concat!("detek/", env!("CARGO_PKG_VERSION"));

impl Http {
    pub fn new(endpoint: &Endpoint, options: &ClientOptions) -> Result<Http, String> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        let mut extra: Vec<(String, Vec<u8>)> = Vec::new();
        if let Some(path) = &endpoint.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| format!("cannot read the CA file {}: {e}", path.display()))?;
            extra.push((path.display().to_string(), pem));
        }
        if let Some(pem) = &endpoint.ca_pem {
            extra.push(("the CA data".to_string(), pem.clone()));
        }
        for der in &endpoint.ca_der {
            roots
                .add(CertificateDer::from(der.clone()))
                .map_err(|e| format!("the cluster's CA certificate: {e}"))?;
        }
        for (what, pem) in extra {
            let mut added = 0;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| format!("{what}: {e}"))?;
                roots.add(cert).map_err(|e| format!("{what}: {e}"))?;
                added += 1;
            }
            if added == 0 {
                return Err(format!("{what} holds no PEM certificate"));
            }
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS set-up: {e}"))?;
        let builder = if endpoint.insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
        } else {
            builder.with_root_certificates(roots)
        };
        let tls = match &endpoint.client_cert {
            Some((cert, key)) => {
                let cert_pem = cert.read()?;
                let key_pem = key.read()?;
                let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
                    .collect::<Result<_, _>>()
                    .map_err(|e| format!("client certificate: {e}"))?;
                let key = PrivateKeyDer::from_pem_slice(&key_pem)
                    .map_err(|e| format!("client key: {e}"))?;
                builder
                    .with_client_auth_cert(certs, key)
                    .map_err(|e| format!("client certificate: {e}"))?
            }
            None => builder.with_no_client_auth(),
        };
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        let authorization = match &endpoint.auth {
            Auth::None => None,
            Auth::Bearer(token) => Some(format!("Bearer {}", token.trim())),
            Auth::Basic { username, password } => {
                use base64::Engine;
                Some(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD
                        .encode(format!("{username}:{password}"))
                ))
            }
        };
        Ok(Http {
            client,
            endpoint: endpoint.clone(),
            options: options.clone(),
            authorization,
        })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// GET `url` (absolute) with the endpoint's credentials, retrying 429, 5xx and broken
    /// connections (bounded). Returns the answer whatever its status.
    pub async fn get(&self, url: &str, accept: &str) -> Result<Answer, String> {
        let mut attempt: u32 = 0;
        loop {
            let result =
                tokio::time::timeout(self.options.request_timeout, self.once(url, accept)).await;
            let (wait, retryable_failure) = match result {
                Err(_) => {
                    return Err(format!(
                        "{}: no answer within the request timeout ({})",
                        without_query(url),
                        human_duration(self.options.request_timeout)
                    ));
                }
                Ok(Err((message, retryable))) => {
                    if !(retryable && attempt < self.options.max_retries) {
                        return Err(message);
                    }
                    (backoff(attempt), Some(message))
                }
                Ok(Ok(answer)) => {
                    let code = answer.status.as_u16();
                    let retryable = code == 429 || matches!(code, 502..=504);
                    if !(retryable && attempt < self.options.max_retries) {
                        return Ok(answer);
                    }
                    let asked = answer
                        .headers
                        .get(header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(detek_core::retry::retry_after);
                    let wait = asked.unwrap_or_else(|| backoff(attempt));
                    if wait > self.options.max_retry_wait {
                        return Ok(answer);
                    }
                    (wait, None)
                }
            };
            let _ = retryable_failure;
            attempt += 1;
            tokio::time::sleep(wait).await;
        }
    }

    async fn once(&self, url: &str, accept: &str) -> Result<Answer, (String, bool)> {
        let mut request = Request::builder()
            .uri(url)
            .header(header::ACCEPT, accept)
            .header(header::USER_AGENT, USER_AGENT);
        if let Some(auth) = &self.authorization {
            request = request.header(header::AUTHORIZATION, auth);
        }
        for (name, value) in &self.endpoint.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let request = request.body(Empty::new()).map_err(|e| {
            (
                format!("invalid request {}: {e}", without_query(url)),
                false,
            )
        })?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| transport_failure(url, &e))?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| transport_failure(url, &e))?
            .to_bytes();
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }
}

/// A non-2xx answer in one line: `401 Unauthorized: <the server's message>`.
pub fn status_line(url: &str, answer: &Answer) -> String {
    let code = answer.status;
    let text = String::from_utf8_lossy(&answer.body);
    // Prometheus' API errors are JSON: {"status":"error","errorType":…,"error":…}.
    let message = serde_json::from_slice::<serde_json::Value>(&answer.body)
        .ok()
        .and_then(|v| {
            Some(v.get("error")?.as_str()?.to_string())
                .or_else(|| Some(v.get("message")?.as_str()?.to_string()))
        })
        .unwrap_or_else(|| {
            text.lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(200)
                .collect()
        });
    let word = format!(
        "{} {}",
        code.as_u16(),
        code.canonical_reason().unwrap_or("")
    );
    let message = one_line(message.trim());
    if message.is_empty() {
        format!("{}: {}", without_query(url), word.trim_end())
    } else {
        format!("{}: {}: {message}", without_query(url), word.trim_end())
    }
}

fn transport_failure(url: &str, err: &(dyn std::error::Error + 'static)) -> (String, bool) {
    let mut parts: Vec<String> = Vec::new();
    let mut refused = false;
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            refused |= io.kind() == std::io::ErrorKind::ConnectionRefused;
        }
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) && !text.starts_with("client error (") {
            parts.push(text);
        }
        source = e.source();
    }
    (
        one_line(&format!("{}: {}", without_query(url), parts.join(": "))),
        !refused,
    )
}

/// `insecure-skip-tls-verify`: accept any server certificate (signatures still checked).
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &rustls_pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
