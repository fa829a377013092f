//! A client for any etcd v3 endpoint (builtin or not), on the clients generated from the same
//! protos: used by `kwb bench etcd` and by the tests.

use std::path::PathBuf;

use anyhow::Context;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::etcd::proto::etcdserverpb::{
    kv_client::KvClient, lease_client::LeaseClient, maintenance_client::MaintenanceClient,
    watch_client::WatchClient,
};

/// TLS material for an https endpoint, as etcdctl's --cacert, --cert, --key.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct Tls {
    #[arg(long)]
    pub cacert: Option<PathBuf>,
    #[arg(long)]
    pub cert: Option<PathBuf>,
    #[arg(long)]
    pub key: Option<PathBuf>,
}

#[derive(Clone)]
pub struct Client {
    /// The connection itself, for clients of other services over it.
    pub channel: Channel,
    pub kv: KvClient<Channel>,
    pub watch: WatchClient<Channel>,
    pub lease: LeaseClient<Channel>,
    pub maintenance: MaintenanceClient<Channel>,
}

impl Client {
    /// Connects one HTTP/2 connection to `url` (http:// or https://).
    pub async fn connect(url: &str, tls: &Tls) -> anyhow::Result<Client> {
        let mut endpoint = Endpoint::from_shared(url.to_string())
            .with_context(|| format!("{url:?} is not an endpoint URL"))?
            .tcp_nodelay(true);
        if url.starts_with("https://") {
            let mut config = ClientTlsConfig::new().domain_name("localhost");
            if let Some(ca) = &tls.cacert {
                let pem = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
                config = config.ca_certificate(Certificate::from_pem(pem));
            }
            if let (Some(cert), Some(key)) = (&tls.cert, &tls.key) {
                let cert =
                    std::fs::read(cert).with_context(|| format!("reading {}", cert.display()))?;
                let key =
                    std::fs::read(key).with_context(|| format!("reading {}", key.display()))?;
                config = config.identity(Identity::from_pem(cert, key));
            }
            endpoint = endpoint.tls_config(config)?;
        }
        let channel = endpoint
            .connect()
            .await
            .with_context(|| format!("cannot connect to {url}"))?;
        // Responses of large ranges exceed tonic's 4 MiB default; etcd's clients lift it too.
        let max = usize::MAX;
        Ok(Client {
            channel: channel.clone(),
            kv: KvClient::new(channel.clone()).max_decoding_message_size(max),
            watch: WatchClient::new(channel.clone()).max_decoding_message_size(max),
            lease: LeaseClient::new(channel.clone()),
            maintenance: MaintenanceClient::new(channel),
        })
    }
}
