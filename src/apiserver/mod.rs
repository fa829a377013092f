//! kwb's builtin apiserver (`kwb component apiserver`): the Kubernetes REST API over HTTPS,
//! storing objects in etcd through the etcd v3 API (builtin etcd and Debian's alike).
//!
//! Requests are authenticated by client certificate or service-account token; every
//! authenticated user may do everything until RBAC (issue 5). Strategic merge patch,
//! server-side apply and OpenAPI are issue 5 too.
//!
//! - [`rest`]: routing and the handlers of each verb; [`list`], [`watch`] and [`delete`] for
//!   the verbs with more to them, [`pods`] for binding, eviction and ServiceAccount admission,
//!   [`reviews`] for whoami/can-i/TokenRequest
//! - [`strategy`], [`defaults`], [`validation`]: what the server does to an object on its
//!   way in
//! - [`storage`]: objects in etcd under /registry; [`watchcache`]: one etcd watch per resource
//!   fanned out to every watcher; [`allocator`]: Service IPs and node ports
//! - [`managed`]: managedFields, who set which field
//! - [`protobuf`]: kubectl's protobuf bodies; [`selector`]: label and field selectors
//! - [`status`]: metav1.Status errors; [`authn`], [`tokens`]: who is asking
//! - [`discovery`]: /api, /apis and their group-versions; [`bootstrap`]: what every cluster has
//! - [`bench`]: `kwb bench apiserver`

pub mod allocator;
pub mod apply;
pub mod authn;
pub mod authz;
pub mod bench;
pub mod bootstrap;
pub mod crds;
pub mod defaults;
pub mod delete;
pub mod discovery;
pub mod fieldvalidation;
pub mod list;
pub mod managed;
pub mod openapi;
pub mod patch;
pub mod pods;
pub mod protobuf;
pub mod rawjson;
pub mod rbac;
pub mod rest;
pub mod reviews;
pub mod selector;
pub mod smp;
pub mod status;
pub mod storage;
pub mod strategy;
pub mod streams;
pub mod tokens;
pub mod validation;
pub mod watch;
pub mod watchcache;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use tokio::net::TcpListener;

use crate::etcd::client::{Client, Tls};

/// kube-apiserver's flags, those the builtin uses; the supervisor passes the same names to
/// either backend.
#[derive(clap::Parser, Debug, Clone)]
#[command(
    name = "kwb component apiserver",
    about = "kwb's builtin Kubernetes apiserver"
)]
pub struct Config {
    #[arg(long, default_value_t = 6443)]
    pub secure_port: u16,
    #[arg(long, default_value = "127.0.0.1")]
    pub bind_address: String,
    #[arg(long, value_delimiter = ',', required = true)]
    pub etcd_servers: Vec<String>,
    #[arg(long)]
    pub etcd_cafile: Option<PathBuf>,
    #[arg(long)]
    pub etcd_certfile: Option<PathBuf>,
    #[arg(long)]
    pub etcd_keyfile: Option<PathBuf>,
    #[arg(long)]
    pub tls_cert_file: PathBuf,
    #[arg(long)]
    pub tls_private_key_file: PathBuf,
    #[arg(long)]
    pub client_ca_file: PathBuf,
    #[arg(long)]
    pub service_account_key_file: Option<PathBuf>,
    #[arg(long)]
    pub service_account_signing_key_file: Option<PathBuf>,
    #[arg(long)]
    pub service_account_issuer: Option<String>,
    #[arg(long)]
    pub service_cluster_ip_range: Option<String>,
    #[arg(long)]
    pub kubelet_client_certificate: Option<PathBuf>,
    #[arg(long)]
    pub kubelet_client_key: Option<PathBuf>,
    /// RBAC (with Node, served by RBAC's system:node role), or AlwaysAllow.
    #[arg(long, default_value = "RBAC")]
    pub authorization_mode: String,
}

/// What every handler shares.
pub struct Server {
    pub storage: storage::Storage,
    pub watch_caches: watchcache::WatchCaches,
    pub tokens: tokens::Tokens,
    pub authz: authz::Authorizer,
    /// TLS to kubelets (pods/log): the kubelet client certificate, kubelets checked against
    /// the client CA (kwb signs their serving certificates with it). None without the flags.
    pub kubelet_client: Option<tokio_rustls::TlsConnector>,
    /// `--service-cluster-ip-range`: where Service ClusterIPs come from.
    pub service_range: Option<crate::config::Cidr>,
}

/// The issuer of service-account tokens when --service-account-issuer is not given.
pub const DEFAULT_ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// Kubernetes release this apiserver reports: kubectl's dispatcher picks its bundled minor
/// from it, and k8s-openapi's schemas will match it.
pub const MAJOR: &str = "1";
pub const MINOR: &str = "33";

/// The version every builtin component reports (`/version`, a node's kubeletVersion).
pub fn git_version() -> String {
    format!("v{MAJOR}.{MINOR}.0-kwb.{}", env!("CARGO_PKG_VERSION"))
}

fn tls_config(c: &Config) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    // A certificate is optional at the TLS level (bearer tokens too); requests with neither
    // are answered 401 by the handlers, as upstream does with anonymous auth off.
    crate::serve::tls_config(
        ("tls-cert-file", &c.tls_cert_file),
        ("tls-private-key-file", &c.tls_private_key_file),
        Some(("client-ca-file", &c.client_ca_file)),
        crate::serve::ClientCerts::Optional,
    )
}

/// `kwb component apiserver [kube-apiserver flags]`.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let tls = tls_config(&config)?;
    let etcd_url = config.etcd_servers.first().cloned().unwrap_or_default();
    if config.etcd_servers.len() > 1 {
        tracing::warn!("only the first of --etcd-servers is used: {etcd_url}");
    }
    let etcd_tls = Tls {
        cacert: config.etcd_cafile.clone(),
        cert: config.etcd_certfile.clone(),
        key: config.etcd_keyfile.clone(),
    };
    // etcd may come up after us (or go away); connect lazily and keep answering /readyz.
    let client = loop {
        match Client::connect(&etcd_url, &etcd_tls).await {
            Ok(c) => break c,
            Err(e) => {
                tracing::warn!(etcd = %etcd_url, "etcd not reachable yet: {e:#}; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    };
    let tokens = tokens::Tokens::load(
        config.service_account_signing_key_file.as_deref(),
        config.service_account_key_file.as_deref(),
        config
            .service_account_issuer
            .as_deref()
            .unwrap_or(DEFAULT_ISSUER),
    )
    .context("loading the service-account keys")?;
    let service_range = config
        .service_cluster_ip_range
        .as_deref()
        .map(|r| {
            r.parse::<crate::config::Cidr>()
                .map_err(|e| anyhow::anyhow!("--service-cluster-ip-range: {e}"))
        })
        .transpose()?;
    let storage = storage::Storage::new(client.channel);
    let server = Arc::new(Server {
        service_range,
        watch_caches: watchcache::WatchCaches::new(storage.clone()),
        storage,
        tokens,
        authz: authz::Authorizer::new(&config.authorization_mode)?,
        kubelet_client: match (
            &config.kubelet_client_certificate,
            &config.kubelet_client_key,
        ) {
            (Some(cert), Some(key)) => Some(
                crate::tlsclient::connector(
                    Some(&config.client_ca_file),
                    Some((cert.as_path(), key.as_path())),
                )
                .map_err(|e| anyhow::anyhow!("--kubelet-client-certificate: {e}"))?,
            ),
            _ => None,
        },
    });
    let kubernetes_ip = match &service_range {
        Some(r) => Some(
            r.nth(1)
                .context("--service-cluster-ip-range has no first address")?,
        ),
        None => None,
    };
    let boot = bootstrap::Bootstrap {
        kubernetes_ip,
        address: match config.bind_address.as_str() {
            "localhost" => "127.0.0.1".to_string(),
            other => other.to_string(),
        },
        port: config.secure_port,
    };
    bootstrap::bootstrap(&server, &boot)
        .await
        .map_err(|e| anyhow::anyhow!("creating the bootstrap namespaces: {}", e.message))?;
    server
        .authz
        .reload(&server)
        .await
        .map_err(|e| anyhow::anyhow!("reading the RBAC policy: {}", e.message))?;
    crds::sync(&server)
        .await
        .map_err(|e| anyhow::anyhow!("reading the CustomResourceDefinitions: {}", e.message))?;
    tokio::spawn(authz::keep_current(server.clone()));
    let addr = format!("{}:{}", config.bind_address, config.secure_port);
    let listener = TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}: is another apiserver running?"))?;
    if config.bind_address != "127.0.0.1" && config.bind_address != "localhost" {
        bail!(
            "--bind-address={}: kwb's apiserver listens on loopback only for now",
            config.bind_address
        );
    }
    tracing::info!(address = %addr, "serving securely");
    let router = rest::router(server);
    let serving = crate::serve::serve(
        listener,
        Some(tokio_rustls::TlsAcceptor::from(tls)),
        router,
        |certs| {
            certs
                .and_then(|c| c.first())
                .and_then(authn::user_from_cert)
        },
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = serving => {}
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("stopping");
    Ok(())
}
