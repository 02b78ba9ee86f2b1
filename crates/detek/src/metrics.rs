//! Where the metric detectors read from (docs/prometheus.md): `--prometheus-url`,
//! `--prometheus-service` (a Prometheus Service reached through the API server's proxy, with
//! the kubeconfig's credentials) or `--metrics-url` scrapes, from the flags or the config
//! file's `prometheus:` section. Nothing configured: no collector, and the planner lists the
//! metric detectors as skipped ("needs a Prometheus server"), never Unknown (DESIGN.md §1).

use crate::cli::MetricsArgs;
use crate::config::{Config, PrometheusConfig};
use anyhow::{Result, bail};
use detek_core::Collector;
use detek_prometheus::client::{Auth, ClientOptions, Endpoint, PemSource};
use detek_prometheus::collector::{Location, PrometheusCollector, ScrapeCollector};
use std::sync::Arc;

/// The usual Services of an in-cluster Prometheus, tried in order by `--prometheus-service
/// auto`: kube-prometheus, the prometheus-operator's governing Service, kube-prometheus-stack
/// (prometheus-community) and the prometheus-community `prometheus` chart.
pub const AUTO_SERVICES: [&str; 6] = [
    "monitoring/prometheus-k8s:9090",
    "monitoring/prometheus-operated:9090",
    "monitoring/kube-prometheus-stack-prometheus:9090",
    "monitoring/prometheus-kube-prometheus-prometheus:9090",
    "monitoring/prometheus-server:80",
    "prometheus/prometheus-server:80",
];

/// The metric collector for a target, if a metrics source is configured. `cluster`, for a
/// live cluster, is what `--prometheus-service` goes through.
pub fn collector(
    args: &MetricsArgs,
    config: &Config,
    options: &ClientOptions,
    cluster: Option<&detek_kubernetes_live::LiveTarget>,
) -> Result<Option<Arc<dyn Collector>>> {
    let file = config.prometheus.clone().unwrap_or_default();
    let url = args.prometheus_url.clone().or(file.url.clone());
    let service = args.prometheus_service.clone().or(file.service.clone());
    let metrics_urls = if args.metrics_urls.is_empty() {
        file.metrics_urls.clone()
    } else {
        args.metrics_urls.clone()
    };
    if url.is_some() && service.is_some() {
        bail!("a Prometheus URL and a Prometheus Service are both given: choose one");
    }
    let credentials = credentials(args, &file)?;
    if let Some(url) = url {
        let endpoint = Endpoint {
            url: url.trim_end_matches('/').to_string(),
            ..credentials
        };
        return Ok(Some(Arc::new(PrometheusCollector::new(
            endpoint,
            options.clone(),
            url,
        ))));
    }
    if let Some(service) = service {
        let Some(cluster) = cluster else {
            bail!(
                "--prometheus-service {service} goes through a live cluster's API server: scan a cluster (not --input or --demo), or give --prometheus-url"
            );
        };
        let services: Vec<String> = if service == "auto" {
            AUTO_SERVICES.iter().map(|s| s.to_string()).collect()
        } else {
            parse_service(&service)?;
            vec![service.clone()]
        };
        let cluster = cluster.clone();
        let locate: detek_prometheus::collector::Locate = Arc::new(move || {
            let cluster = cluster.clone();
            let services = services.clone();
            Box::pin(async move {
                let config = cluster.config().await?;
                services
                    .iter()
                    .map(|s| {
                        Ok((
                            through_proxy(&config, s)?,
                            format!("service {s} (through the API server of {})", cluster.name),
                        ))
                    })
                    .collect()
            })
        });
        let name = if service == "auto" {
            "auto (the usual Prometheus Services)".to_string()
        } else {
            format!("service {service}")
        };
        return Ok(Some(Arc::new(PrometheusCollector::at(
            Location::Found(locate),
            options.clone(),
            name,
        ))));
    }
    if !metrics_urls.is_empty() {
        let endpoints = metrics_urls
            .iter()
            .map(|u| Endpoint {
                url: u.clone(),
                ..credentials.clone()
            })
            .collect();
        return Ok(Some(Arc::new(ScrapeCollector::new(
            endpoints,
            options.clone(),
        ))));
    }
    Ok(None)
}

/// Credentials for `--prometheus-url` and `--metrics-url`.
fn credentials(args: &MetricsArgs, file: &PrometheusConfig) -> Result<Endpoint> {
    let token_file = args
        .prometheus_token_file
        .clone()
        .or(file.bearer_token_file.clone());
    let user = args.prometheus_user.clone().or(file.username.clone());
    let auth = match (token_file, user) {
        (Some(_), Some(_)) => {
            bail!("Prometheus: a bearer token and a user are both given: choose one")
        }
        (Some(path), None) => {
            let token = std::fs::read_to_string(&path).map_err(|e| {
                anyhow::anyhow!(
                    "cannot read the Prometheus token file {}: {e}",
                    path.display()
                )
            })?;
            Auth::Bearer(token.trim().to_string())
        }
        (None, Some(username)) => {
            let var = file
                .password_env
                .clone()
                .unwrap_or_else(|| "DETEK_PROMETHEUS_PASSWORD".to_string());
            let password = std::env::var(&var).map_err(|_| {
                anyhow::anyhow!(
                    "Prometheus user {username}: the password is read from ${var}, which is not set"
                )
            })?;
            Auth::Basic { username, password }
        }
        (None, None) => Auth::None,
    };
    let cert = args
        .prometheus_client_cert
        .clone()
        .or(file.client_cert.clone());
    let key = args
        .prometheus_client_key
        .clone()
        .or(file.client_key.clone());
    let client_cert = match (cert, key) {
        (Some(c), Some(k)) => Some((PemSource::File(c), PemSource::File(k))),
        (None, None) => None,
        _ => bail!("Prometheus: a client certificate needs its key, and a key its certificate"),
    };
    Ok(Endpoint {
        auth,
        ca_file: args.prometheus_ca_file.clone().or(file.ca_file.clone()),
        client_cert,
        ..Default::default()
    })
}

/// `NS/NAME:PORT` (PORT a number or a port name).
fn parse_service(text: &str) -> Result<(&str, &str, &str)> {
    let parsed = text.split_once('/').and_then(|(ns, rest)| {
        let (name, port) = rest.split_once(':')?;
        (!ns.is_empty() && !name.is_empty() && !port.is_empty()).then_some((ns, name, port))
    });
    parsed.ok_or_else(|| {
        anyhow::anyhow!("--prometheus-service {text:?}: expected NAMESPACE/SERVICE:PORT (e.g. monitoring/prometheus-k8s:9090) or auto")
    })
}

/// The Service's proxy URL on the cluster's API server, with the kubeconfig's credentials.
pub fn through_proxy(config: &kube::Config, service: &str) -> Result<Endpoint, String> {
    use secrecy::ExposeSecret;
    let (ns, name, port) = parse_service(service).map_err(|e| e.to_string())?;
    let server = config.cluster_url.to_string();
    let url = format!(
        "{}/api/v1/namespaces/{ns}/services/{name}:{port}/proxy",
        server.trim_end_matches('/')
    );
    let info = &config.auth_info;
    if info.exec.is_some() || info.auth_provider.is_some() {
        return Err(
            "--prometheus-service: this kubeconfig user gets its credentials from an exec or auth-provider plugin, which detek cannot pass to the proxy; give --prometheus-url"
                .into(),
        );
    }
    let auth = if let Some(token) = &info.token {
        Auth::Bearer(token.expose_secret().to_string())
    } else if let Some(file) = &info.token_file {
        Auth::Bearer(
            std::fs::read_to_string(file)
                .map_err(|e| format!("cannot read the token file {file}: {e}"))?
                .trim()
                .to_string(),
        )
    } else if let (Some(user), Some(password)) = (&info.username, &info.password) {
        Auth::Basic {
            username: user.clone(),
            password: password.expose_secret().to_string(),
        }
    } else {
        Auth::None
    };
    let pem = |data: &Option<String>, file: &Option<String>| -> Option<PemSource> {
        use base64::Engine;
        match (data, file) {
            (Some(d), _) => base64::engine::general_purpose::STANDARD
                .decode(d.trim())
                .ok()
                .map(PemSource::Data),
            (None, Some(f)) => Some(PemSource::File(f.into())),
            _ => None,
        }
    };
    let key_data = info
        .client_key_data
        .as_ref()
        .map(|k| k.expose_secret().to_string());
    let client_cert = match (
        pem(&info.client_certificate_data, &info.client_certificate),
        pem(&key_data, &info.client_key),
    ) {
        (Some(c), Some(k)) => Some((c, k)),
        _ => None,
    };
    Ok(Endpoint {
        url,
        auth,
        ca_der: config.root_cert.clone().unwrap_or_default(),
        client_cert,
        insecure: config.accept_invalid_certs,
        ..Default::default()
    })
}
