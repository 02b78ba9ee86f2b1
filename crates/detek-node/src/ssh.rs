//! Reading one host over SSH (`russh`): host key checked against `known_hosts` (on by
//! default; an unknown or changed key is that host's error, never accepted silently), public
//! key authentication from ssh-agent and key files, an optional jump host (ProxyJump) shared
//! by every host of the scan, one fixed read-only command ([`crate::facts::COMMAND`]), and
//! one time budget for all of it.

use crate::facts;
use crate::hosts::HostSpec;
use crate::model::Facts;
use russh::keys::{HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKey};
use russh::{ChannelMsg, Disconnect, client};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::OnceCell;

/// How the scan logs in.
#[derive(Debug, Clone)]
pub struct SshOptions {
    /// User for hosts that do not name one.
    pub user: String,
    /// Port for hosts that do not name one.
    pub port: u16,
    /// Private keys to offer (after the agent's). Empty: the default files that exist
    /// (`~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa`).
    pub identity_files: Vec<PathBuf>,
    /// Offer the keys of the agent at `SSH_AUTH_SOCK`, when set.
    pub use_agent: bool,
    /// The known_hosts file host keys are checked against.
    pub known_hosts: PathBuf,
    /// Add the key of a host that is not in known_hosts yet (OpenSSH's
    /// `StrictHostKeyChecking=accept-new`); a changed key is refused all the same.
    pub accept_new_host_keys: bool,
    /// A bastion every host is reached through (`[user@]host[:port]`).
    pub proxy_jump: Option<HostSpec>,
    /// Hosts read at the same time.
    pub concurrency: usize,
    /// Time for one host: connecting, logging in and running the command.
    pub timeout: Duration,
}

impl Default for SshOptions {
    fn default() -> Self {
        let home = std::env::home_dir().unwrap_or_default();
        SshOptions {
            user: std::env::var("USER")
                .ok()
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| "root".into()),
            port: 22,
            identity_files: Vec::new(),
            use_agent: true,
            known_hosts: home.join(".ssh/known_hosts"),
            accept_new_host_keys: false,
            proxy_jump: None,
            concurrency: 16,
            timeout: Duration::from_secs(10),
        }
    }
}

/// The keys offered, loaded once per scan.
pub struct Credentials {
    keys: Vec<(String, Arc<PrivateKey>)>,
    use_agent: bool,
}

impl Credentials {
    /// Load the key files. A key named explicitly that cannot be loaded is an error; a
    /// default one (encrypted, say) is left out, with a note in `notes`.
    pub fn load(options: &SshOptions, notes: &mut Vec<String>) -> Result<Credentials, String> {
        let explicit = !options.identity_files.is_empty();
        let files = if explicit {
            options.identity_files.clone()
        } else {
            let home = std::env::home_dir().unwrap_or_default();
            ["id_ed25519", "id_ecdsa", "id_rsa"]
                .iter()
                .map(|f| home.join(".ssh").join(f))
                .filter(|p| p.is_file())
                .collect()
        };
        let mut keys = Vec::new();
        for file in files {
            match russh::keys::load_secret_key(&file, None) {
                Ok(key) => keys.push((file.display().to_string(), Arc::new(key))),
                Err(e) => {
                    let why = match e {
                        russh::keys::Error::KeyIsEncrypted => {
                            "it is encrypted: load it into ssh-agent instead".to_string()
                        }
                        e => e.to_string(),
                    };
                    let message = format!("SSH key {}: not usable, {why}", file.display());
                    if explicit {
                        return Err(message);
                    }
                    notes.push(message);
                }
            }
        }
        let use_agent = options.use_agent && std::env::var_os("SSH_AUTH_SOCK").is_some();
        if keys.is_empty() && !use_agent {
            return Err(
                "no SSH key to log in with: give one with --ssh-key, or start ssh-agent \
                 (SSH_AUTH_SOCK) with the key loaded"
                    .into(),
            );
        }
        Ok(Credentials { keys, use_agent })
    }
}

/// What one host's connection checks its server key against.
struct KnownHosts {
    path: PathBuf,
    accept_new: bool,
    /// Appends to the file are one at a time.
    learning: Mutex<()>,
}

impl KnownHosts {
    fn check(&self, host: &str, port: u16, key: &PublicKey) -> Result<(), String> {
        let fingerprint = key.fingerprint(HashAlg::Sha256);
        let algorithm = key.algorithm();
        match russh::keys::check_known_hosts_path(host, port, key, &self.path) {
            Ok(true) => Ok(()),
            Ok(false) if self.accept_new => {
                let _one_at_a_time = self.learning.lock().unwrap_or_else(|e| e.into_inner());
                russh::keys::known_hosts::learn_known_hosts_path(host, port, key, &self.path)
                    .map_err(|e| format!("cannot add its host key to {}: {e}", self.path.display()))
            }
            Ok(false) => Err(format!(
                "unknown host key ({algorithm} {fingerprint}), not in {}: verify it out of \
                 band and add it (ssh-keyscan), or accept new keys with \
                 --ssh-accept-new-host-keys",
                self.path.display()
            )),
            Err(russh::keys::Error::KeyChanged { line }) => Err(format!(
                "host key CHANGED: the server shows {algorithm} {fingerprint}, {} line {line} \
                 holds another — a reinstalled node, or someone in the middle; not connecting \
                 (verify the new key, then replace that line)",
                self.path.display()
            )),
            Err(e) => Err(format!("cannot check {}: {e}", self.path.display())),
        }
    }
}

/// The russh client handler: checks the server's key, and keeps why it refused it.
struct Client {
    host: String,
    port: u16,
    known: Arc<KnownHosts>,
    refused: Arc<Mutex<Option<String>>>,
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let verdict = match key {
            russh::keys::PublicKeyOrCertificate::PublicKey { key, .. } => {
                self.known.check(&self.host, self.port, key)
            }
            russh::keys::PublicKeyOrCertificate::Certificate(_) => Err(
                "the server offered a host certificate; only plain host keys are checked \
                     (against known_hosts)"
                    .to_string(),
            ),
        };
        match verdict {
            Ok(()) => Ok(true),
            Err(why) => {
                *self.refused.lock().unwrap_or_else(|e| e.into_inner()) = Some(why);
                Ok(false)
            }
        }
    }
}

/// Reads hosts: one per call of [`Reader::read`], concurrently.
pub struct Reader {
    options: SshOptions,
    credentials: Credentials,
    known: Arc<KnownHosts>,
    config: Arc<client::Config>,
    /// The jump host's session, opened by the first host that needs it.
    jump: OnceCell<Result<Arc<client::Handle<Client>>, String>>,
}

/// What stage a host's read reached: names a timeout.
#[derive(Clone, Copy)]
enum Stage {
    Connecting,
    Handshake,
    LoggingIn,
    Running,
}

impl Reader {
    pub fn new(options: SshOptions, credentials: Credentials) -> Reader {
        let known = Arc::new(KnownHosts {
            path: options.known_hosts.clone(),
            accept_new: options.accept_new_host_keys,
            learning: Mutex::new(()),
        });
        let config = Arc::new(client::Config {
            client_id: russh::SshId::Standard(
                concat!("SSH-2.0-detek_", env!("CARGO_PKG_VERSION")).into(),
            ),
            nodelay: true,
            ..Default::default()
        });
        Reader {
            options,
            credentials,
            known,
            config,
            jump: OnceCell::new(),
        }
    }

    pub fn options(&self) -> &SshOptions {
        &self.options
    }

    /// Read one host within the time budget: its facts, or why not.
    pub async fn read(&self, spec: &HostSpec) -> Result<Facts, String> {
        let stage = Mutex::new(Stage::Connecting);
        let seconds = self.options.timeout.as_secs_f64();
        match tokio::time::timeout(self.options.timeout, self.read_unbounded(spec, &stage)).await {
            Ok(result) => result,
            Err(_) => Err(match *stage.lock().unwrap_or_else(|e| e.into_inner()) {
                Stage::Connecting => format!("no TCP connection within {seconds}s"),
                Stage::Handshake => format!(
                    "the port accepted the connection, but no SSH handshake completed \
                         within {seconds}s (is it an SSH server?)"
                ),
                Stage::LoggingIn => format!("login did not complete within {seconds}s"),
                Stage::Running => {
                    format!("the read-only command did not finish within {seconds}s")
                }
            }),
        }
    }

    async fn read_unbounded(&self, spec: &HostSpec, stage: &Mutex<Stage>) -> Result<Facts, String> {
        let set = |s: Stage| *stage.lock().unwrap_or_else(|e| e.into_inner()) = s;
        let port = spec.port.unwrap_or(self.options.port);
        let user = spec.user.as_deref().unwrap_or(&self.options.user);
        let mut handle = match &self.options.proxy_jump {
            None => {
                let socket = tokio::net::TcpStream::connect((spec.host.as_str(), port))
                    .await
                    .map_err(|e| connect_error(&e))?;
                set(Stage::Handshake);
                self.handshake(&spec.host, port, socket).await?
            }
            Some(jump) => {
                let bastion = self.jump_session(jump).await?;
                let channel = bastion
                    .channel_open_direct_tcpip(spec.host.as_str(), u32::from(port), "127.0.0.1", 0)
                    .await
                    .map_err(|e| {
                        format!("the jump host {} could not connect to it: {e}", jump.name)
                    })?;
                set(Stage::Handshake);
                self.handshake(&spec.host, port, channel.into_stream())
                    .await?
            }
        };
        set(Stage::LoggingIn);
        self.authenticate(&mut handle, user).await?;
        set(Stage::Running);
        let output = run(&handle, facts::COMMAND).await?;
        let _ = handle.disconnect(Disconnect::ByApplication, "", "en").await;
        facts::parse(&output)
    }

    async fn handshake<S>(
        &self,
        host: &str,
        port: u16,
        stream: S,
    ) -> Result<client::Handle<Client>, String>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let refused = Arc::new(Mutex::new(None));
        let handler = Client {
            host: host.to_string(),
            port,
            known: self.known.clone(),
            refused: refused.clone(),
        };
        match client::connect_stream(self.config.clone(), stream, handler).await {
            Ok(handle) => Ok(handle),
            Err(e) => {
                let why = refused.lock().unwrap_or_else(|e| e.into_inner()).take();
                Err(why.unwrap_or_else(|| format!("SSH handshake failed: {e}")))
            }
        }
    }

    /// The jump host's session, opened once and shared by every host.
    async fn jump_session(&self, jump: &HostSpec) -> Result<Arc<client::Handle<Client>>, String> {
        self.jump
            .get_or_init(|| async {
                let port = jump.port.unwrap_or(22);
                let user = jump.user.as_deref().unwrap_or(&self.options.user);
                let socket = tokio::net::TcpStream::connect((jump.host.as_str(), port))
                    .await
                    .map_err(|e| format!("jump host {}: {}", jump.name, connect_error(&e)))?;
                let mut handle = self
                    .handshake(&jump.host, port, socket)
                    .await
                    .map_err(|e| format!("jump host {}: {e}", jump.name))?;
                self.authenticate(&mut handle, user)
                    .await
                    .map_err(|e| format!("jump host {}: {e}", jump.name))?;
                Ok(Arc::new(handle))
            })
            .await
            .clone()
    }

    /// Public key authentication: the agent's keys, then the key files.
    async fn authenticate(
        &self,
        handle: &mut client::Handle<Client>,
        user: &str,
    ) -> Result<(), String> {
        let mut offered = 0;
        if self.credentials.use_agent
            && let Ok(mut agent) = russh::keys::agent::client::AgentClient::connect_env().await
        {
            let identities = agent.request_identities().await.unwrap_or_default();
            for identity in identities {
                let russh::keys::agent::AgentIdentity::PublicKey { key, .. } = identity else {
                    continue;
                };
                offered += 1;
                let hash = rsa_hash(handle, key.algorithm().is_rsa()).await;
                if let Ok(result) = handle
                    .authenticate_publickey_with(user, key, hash, &mut agent)
                    .await
                    && result.success()
                {
                    return Ok(());
                }
            }
        }
        for (_, key) in &self.credentials.keys {
            offered += 1;
            let hash = rsa_hash(handle, key.algorithm().is_rsa()).await;
            let result = handle
                .authenticate_publickey(user, PrivateKeyWithHashAlg::new(key.clone(), hash))
                .await
                .map_err(|e| format!("login as {user} failed: {e}"))?;
            if result.success() {
                return Ok(());
            }
        }
        Err(format!(
            "login as {user} refused: the server accepted none of the {offered} key(s) \
             offered (is the public key in {user}'s authorized_keys?)"
        ))
    }
}

/// The hash for an RSA key the server supports best (SHA-512, SHA-256, else SHA-1).
async fn rsa_hash(handle: &client::Handle<Client>, is_rsa: bool) -> Option<HashAlg> {
    if !is_rsa {
        return None;
    }
    handle
        .best_supported_rsa_hash()
        .await
        .ok()
        .flatten()
        .flatten()
}

/// Run `command` and return its standard output (up to [`facts::MAX_OUTPUT_BYTES`]).
async fn run(handle: &client::Handle<Client>, command: &str) -> Result<String, String> {
    let mut channel = handle
        .channel_open_session()
        .await
        .map_err(|e| format!("the server refused a session channel: {e}"))?;
    channel
        .exec(true, command)
        .await
        .map_err(|e| format!("the server refused to run the read-only command: {e}"))?;
    let mut out: Vec<u8> = Vec::new();
    let mut status = None;
    while let Some(message) = channel.wait().await {
        match message {
            ChannelMsg::Data { data } => {
                let room = facts::MAX_OUTPUT_BYTES.saturating_sub(out.len());
                out.extend_from_slice(&data[..data.len().min(room)]);
            }
            ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status),
            ChannelMsg::Close => break,
            _ => {}
        }
    }
    match status {
        Some(0) | None => Ok(String::from_utf8_lossy(&out).into_owned()),
        Some(code) => Err(format!("the read-only command exited with status {code}")),
    }
}

/// A TCP connection error as an operator reads it.
fn connect_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
        std::io::ErrorKind::TimedOut => "connection timed out".into(),
        std::io::ErrorKind::HostUnreachable => "host unreachable".into(),
        std::io::ErrorKind::NetworkUnreachable => "network unreachable".into(),
        _ => format!("cannot connect: {e}"),
    }
}
