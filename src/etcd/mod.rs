//! kwb's builtin etcd (`kwb component etcd`): an etcd v3 server — KV, Watch, Lease, Maintenance,
//! Cluster over gRPC, plus /health and /version over HTTP on the same port, as etcd serves them —
//! on a durable MVCC store in redb. One member, no raft: every acknowledged write is fsynced.
//!
//! It takes etcd's own flags, so the supervisor configures either backend alike.
//! - [`mvcc`]: the store (revisions, history, compaction, the event log watches read)
//! - [`apply`]: request semantics (range options, put flags, transactions)
//! - [`applier`]: the single writer thread with group commit
//! - [`lease`]: leases and their expiry
//! - [`grpc`]: the services; [`errors`]: etcd's exact error codes and texts

pub mod applier;
pub mod apply;
pub mod bench;
pub mod client;
pub mod errors;
pub mod grpc;
pub mod lease;
pub mod mvcc;
pub mod proto;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::net::TcpListener;

use grpc::{Member, Shared};
use proto::etcdserverpb::{
    cluster_server::ClusterServer, kv_server::KvServer, lease_server::LeaseServer,
    maintenance_server::MaintenanceServer, watch_server::WatchServer,
};

/// etcd's flags, those that apply to one member; the others are accepted so any etcd command
/// line works, and said to be ignored in the log.
#[derive(clap::Parser, Debug, Clone)]
#[command(name = "kwb component etcd", about = "kwb's builtin etcd v3 server")]
pub struct Config {
    #[arg(long, default_value = "default")]
    pub name: String,
    #[arg(long, default_value = "default.etcd")]
    pub data_dir: PathBuf,
    #[arg(long, default_value = "http://localhost:2379", value_delimiter = ',')]
    pub listen_client_urls: Vec<String>,
    #[arg(long, default_value = "http://localhost:2379", value_delimiter = ',')]
    pub advertise_client_urls: Vec<String>,
    /// Accepted for compatibility: a one-member cluster has no peers to talk to.
    #[arg(long, default_value = "http://localhost:2380", value_delimiter = ',')]
    pub listen_peer_urls: Vec<String>,
    #[arg(long, default_value = "http://localhost:2380", value_delimiter = ',')]
    pub initial_advertise_peer_urls: Vec<String>,
    #[arg(long)]
    pub initial_cluster: Option<String>,
    #[arg(long)]
    pub initial_cluster_state: Option<String>,
    #[arg(long)]
    pub initial_cluster_token: Option<String>,
    #[arg(long)]
    pub cert_file: Option<PathBuf>,
    #[arg(long)]
    pub key_file: Option<PathBuf>,
    #[arg(long)]
    pub trusted_ca_file: Option<PathBuf>,
    #[arg(long, num_args = 0..=1, default_missing_value = "true", default_value_t = false, action = clap::ArgAction::Set)]
    pub client_cert_auth: bool,
    /// "periodic" (retention is a duration: 1h, 30m, or hours as a number) or "revision".
    #[arg(long, default_value = "periodic")]
    pub auto_compaction_mode: String,
    #[arg(long, default_value = "0")]
    pub auto_compaction_retention: String,
    /// 0: etcd's default of 2 GiB.
    #[arg(long, default_value_t = 0)]
    pub quota_backend_bytes: i64,
    #[arg(long, default_value_t = 128)]
    pub max_txn_ops: usize,
    #[arg(long, default_value_t = 1_572_864)]
    pub max_request_bytes: usize,
    #[arg(long)]
    pub logger: Option<String>,
    #[arg(long)]
    pub log_outputs: Option<String>,
    #[arg(long)]
    pub log_level: Option<String>,
}

/// gRPC messages may exceed the request limit by this much (etcd's grpcOverheadBytes).
const GRPC_OVERHEAD: usize = 512 * 1024;

/// A listen URL resolved: where to bind and whether TLS is spoken there.
#[derive(Debug)]
struct Listen {
    addr: SocketAddr,
    tls: bool,
    url: String,
}

fn parse_url(url: &str) -> anyhow::Result<Listen> {
    let (scheme, rest) = url
        .split_once("://")
        .with_context(|| format!("{url:?} is not a URL: expected http(s)://HOST:PORT"))?;
    let tls = match scheme {
        "http" => false,
        "https" => true,
        other => bail!("{url:?}: unsupported scheme {other:?}, use http or https"),
    };
    let hostport = rest.trim_end_matches('/');
    let addr = std::net::ToSocketAddrs::to_socket_addrs(hostport)
        .with_context(|| format!("{url:?}: cannot resolve {hostport:?}"))?
        .next()
        .with_context(|| format!("{url:?}: {hostport:?} has no address"))?;
    Ok(Listen {
        addr,
        tls,
        url: url.to_string(),
    })
}

fn fnv(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain([0]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h.max(1)
}

fn tls_config(c: &Config) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let (Some(cert), Some(key)) = (&c.cert_file, &c.key_file) else {
        bail!("an https listen URL needs --cert-file and --key-file");
    };
    if c.client_cert_auth && c.trusted_ca_file.is_none() {
        bail!("--client-cert-auth needs --trusted-ca-file");
    }
    let clients = match (&c.trusted_ca_file, c.client_cert_auth) {
        (None, _) => crate::serve::ClientCerts::None,
        (Some(_), true) => crate::serve::ClientCerts::Required,
        (Some(_), false) => crate::serve::ClientCerts::Optional,
    };
    crate::serve::tls_config(
        ("cert-file", cert),
        ("key-file", key),
        c.trusted_ca_file
            .as_deref()
            .map(|ca| ("trusted-ca-file", ca)),
        clients,
    )
}

/// `kwb component etcd [etcd flags]`.
pub async fn run(config: Config) -> anyhow::Result<()> {
    for (flag, value) in [
        ("--initial-cluster-state", &config.initial_cluster_state),
        ("--logger", &config.logger),
        ("--log-outputs", &config.log_outputs),
    ] {
        if let Some(v) = value {
            tracing::debug!("{flag}={v} accepted; it has no effect on a one-member builtin etcd");
        }
    }
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating --data-dir {}", config.data_dir.display()))?;
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&config.data_dir, std::fs::Permissions::from_mode(0o700));
    }
    let db_path = config.data_dir.join("kwb-etcd.redb");
    let t0 = Instant::now();
    let store = Arc::new(
        mvcc::Store::open(&db_path)
            .with_context(|| format!("opening the store {}", db_path.display()))?,
    );
    tracing::info!(
        path = %db_path.display(),
        revision = store.current_revision(),
        compacted = store.compacted_revision(),
        took_ms = t0.elapsed().as_millis() as u64,
        "opened the store"
    );
    let leases = Arc::new(lease::Leases::default());
    // Leases survive restarts with their full TTL again, as etcd renews them on recovery.
    for (id, ttl) in store.leases()? {
        leases.insert(id, ttl);
    }
    {
        let view = store.read()?;
        for kv in view.range(&[0], &[0], 0)? {
            if kv.lease != 0 {
                leases.attach(kv.key, kv.lease);
            }
        }
    }
    let applier = applier::Applier::start(store.clone(), leases.clone());
    let listens = config
        .listen_client_urls
        .iter()
        .map(|u| parse_url(u))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let cluster_token = config
        .initial_cluster_token
        .clone()
        .unwrap_or_else(|| "etcd-cluster".into());
    let member = Member {
        name: config.name.clone(),
        cluster_id: fnv(&[
            &cluster_token,
            &config.initial_advertise_peer_urls.join(","),
        ]),
        member_id: fnv(&[&config.name, &config.initial_advertise_peer_urls.join(",")]),
        client_urls: config.advertise_client_urls.clone(),
        peer_urls: config.initial_advertise_peer_urls.clone(),
    };
    let shared = Arc::new(Shared {
        store: store.clone(),
        leases,
        applier,
        member,
        max_request_bytes: config.max_request_bytes,
        max_txn_ops: config.max_txn_ops,
        quota_bytes: if config.quota_backend_bytes > 0 {
            config.quota_backend_bytes
        } else {
            2 << 30
        },
        nospace: Default::default(),
    });
    tokio::spawn(grpc::lease::expire(shared.clone()));
    if let Some(policy) = auto_compaction(&config)? {
        tokio::spawn(compact_periodically(store.clone(), policy));
    }
    let router = router(shared.clone(), config.max_request_bytes + GRPC_OVERHEAD);
    let tls = if listens.iter().any(|l| l.tls) {
        Some(tls_config(&config)?)
    } else {
        None
    };
    let mut tasks = Vec::new();
    for l in listens {
        let listener = TcpListener::bind(l.addr).await.with_context(|| {
            format!(
                "cannot listen on {} ({}): is another etcd running?",
                l.addr, l.url
            )
        })?;
        let acceptor = if l.tls {
            tls.clone().map(tokio_rustls::TlsAcceptor::from)
        } else {
            None
        };
        tracing::info!(address = %l.addr, secure = l.tls, "serving client traffic{}", if l.tls { " securely" } else { " insecurely" });
        // etcd authorises nobody in particular: a verified certificate is enough.
        tasks.push(tokio::spawn(crate::serve::serve(
            listener,
            acceptor,
            router.clone(),
            |_| (),
        )));
    }
    tracing::info!("ready to serve client requests");
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!(
        revision = store.current_revision(),
        "stopping: every acknowledged write is on disk"
    );
    for t in tasks {
        t.abort();
    }
    Ok(())
}

/// The gRPC services and the HTTP endpoints, one router.
pub fn router(shared: Arc<Shared>, max_message: usize) -> axum::Router {
    tonic::service::Routes::new(
        KvServer::new(grpc::kv::KvService(shared.clone())).max_decoding_message_size(max_message),
    )
    .add_service(
        WatchServer::new(grpc::watch::WatchService(shared.clone()))
            .max_decoding_message_size(max_message),
    )
    .add_service(LeaseServer::new(grpc::lease::LeaseService(shared.clone())))
    .add_service(MaintenanceServer::new(
        grpc::maintenance::MaintenanceService(shared.clone()),
    ))
    .add_service(ClusterServer::new(grpc::maintenance::ClusterService(
        shared.clone(),
    )))
    .into_axum_router()
    .route(
        "/health",
        axum::routing::get(|| async {
            (
                [("content-type", "application/json")],
                r#"{"health":"true"}"#,
            )
        }),
    )
    .route(
        "/version",
        axum::routing::get(|| async {
            (
                [("content-type", "application/json")],
                format!(
                    r#"{{"etcdserver":"{v}","etcdcluster":"{v}"}}"#,
                    v = grpc::maintenance::VERSION
                ),
            )
        }),
    )
}

/// When to compact: keep `Revisions(n)` revisions, or the history of the last `Period(d)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Compaction {
    Revisions(i64),
    Period(Duration),
}

fn auto_compaction(c: &Config) -> anyhow::Result<Option<Compaction>> {
    let r = c.auto_compaction_retention.trim();
    let policy = match c.auto_compaction_mode.as_str() {
        "revision" => {
            let n: i64 = r.parse().with_context(|| {
                format!("--auto-compaction-retention={r:?}: a number of revisions")
            })?;
            (n > 0).then_some(Compaction::Revisions(n))
        }
        "periodic" => {
            let d = parse_retention(r).with_context(|| {
                format!("--auto-compaction-retention={r:?}: a duration such as 1h or 30m, or hours")
            })?;
            (!d.is_zero()).then_some(Compaction::Period(d))
        }
        other => bail!("--auto-compaction-mode={other:?}: use periodic or revision"),
    };
    Ok(policy)
}

/// etcd's retention: a Go duration (`1h30m`, `90s`) or a bare number of hours.
fn parse_retention(s: &str) -> Option<Duration> {
    if let Ok(hours) = s.parse::<u64>() {
        return Some(Duration::from_secs(hours * 3600));
    }
    let mut total = Duration::ZERO;
    let mut num = String::new();
    for ch in s.chars() {
        if ch.is_ascii_digit() {
            num.push(ch);
            continue;
        }
        let n: u64 = std::mem::take(&mut num).parse().ok()?;
        total += match ch {
            'h' => Duration::from_secs(n * 3600),
            'm' => Duration::from_secs(n * 60),
            's' => Duration::from_secs(n),
            _ => return None,
        };
    }
    num.is_empty().then_some(total)
}

/// Compacts as etcd's auto-compaction does: by revision, keep the last N every 5 minutes; by
/// period, every period/10, to the revision that was current one period ago.
async fn compact_periodically(store: Arc<mvcc::Store>, policy: Compaction) {
    let tick = match policy {
        Compaction::Revisions(_) => Duration::from_secs(300),
        Compaction::Period(d) => (d / 10).max(Duration::from_secs(1)),
    };
    let mut samples: std::collections::VecDeque<(Instant, i64)> = Default::default();
    let mut interval = tokio::time::interval(tick);
    loop {
        interval.tick().await;
        let now = Instant::now();
        let current = store.current_revision();
        let target = match policy {
            Compaction::Revisions(n) => current - n,
            Compaction::Period(d) => {
                samples.push_back((now, current));
                let mut target = 0;
                while let Some((at, rev)) = samples.front().copied() {
                    if now.duration_since(at) < d {
                        break;
                    }
                    target = rev;
                    samples.pop_front();
                }
                target
            }
        };
        if target > store.compacted_revision() {
            let s = store.clone();
            match tokio::task::spawn_blocking(move || s.compact(target)).await {
                Ok(Ok(())) => tracing::info!(revision = target, "auto-compacted"),
                Ok(Err(e)) => tracing::warn!(revision = target, "auto-compaction failed: {e}"),
                Err(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_parses_as_etcd_does() {
        assert_eq!(parse_retention("1"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_retention("30m"), Some(Duration::from_secs(1800)));
        assert_eq!(parse_retention("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_retention("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_retention("5x"), None);
        assert_eq!(parse_retention("5m3"), None);
    }

    #[test]
    fn urls_parse_and_bad_ones_are_explained() {
        let l = parse_url("https://127.0.0.1:2379").unwrap();
        assert!(l.tls);
        assert_eq!(l.addr.port(), 2379);
        assert!(parse_url("unix://x").is_err());
        assert!(
            parse_url("127.0.0.1:2379")
                .unwrap_err()
                .to_string()
                .contains("not a URL")
        );
    }
}
