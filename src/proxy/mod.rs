//! kwb's builtin kube-proxy (`kwb component proxy`): a userspace L4 proxy. For each Service
//! port with ready endpoints it listens on the ClusterIP (a loopback address, so no root and
//! no iptables) and on 127.0.0.1:<nodePort>, and forwards each TCP connection to an endpoint,
//! round-robin or by client IP (sessionAffinity ClientIP). A port without ready endpoints
//! has no listener, so connecting is refused at once. Rules follow Services and
//! EndpointSlices as they change; each change is one log line.

pub mod rules;

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Api;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::agent;

/// kube-proxy's flags, those the builtin uses.
#[derive(clap::Parser, Debug, Clone)]
#[command(name = "kwb component proxy", about = "kwb's builtin kube-proxy")]
pub struct Config {
    #[arg(long)]
    pub kubeconfig: PathBuf,
    #[arg(long)]
    pub hostname_override: String,
    #[arg(long, default_value = "127.0.0.1:10256")]
    pub healthz_bind_address: String,
    #[arg(long, default_value = "127.0.0.1:10249")]
    pub metrics_bind_address: String,
    #[arg(long)]
    pub cluster_cidr: Option<String>,
    /// The node's address, where NodePorts are served besides 127.0.0.1.
    #[arg(long, default_value = "127.0.0.1")]
    pub node_ip: String,
}

/// The live state of one listen address.
struct Listener {
    rule: Arc<RwLock<rules::Rule>>,
    task: JoinHandle<()>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn run(config: Config) -> anyhow::Result<()> {
    let client = agent::client(&config.kubeconfig).await?;
    let healthz = serve_healthz(&config.healthz_bind_address);
    let wake = Arc::new(Notify::new());
    let services = agent::store::watched(Api::<Service>::all(client.clone()), vec![wake.clone()]);
    let slices = agent::store::watched(
        Api::<EndpointSlice>::all(client.clone()),
        vec![wake.clone()],
    );
    let work = async {
        let _ = services.wait_until_ready().await;
        let _ = slices.wait_until_ready().await;
        tracing::info!("caches synced; proxying services");
        let mut live: BTreeMap<String, Listener> = BTreeMap::new();
        loop {
            let svcs = services.state();
            let sl = slices.state();
            let svc_refs: Vec<&Service> = svcs.iter().map(|s| &**s).collect();
            let slice_refs: Vec<&EndpointSlice> = sl.iter().map(|s| &**s).collect();
            let wanted = rules::rules(&svc_refs, &slice_refs, &config.node_ip);
            apply(&mut live, wanted).await;
            let _ = tokio::time::timeout(Duration::from_secs(30), wake.notified()).await;
            // Let a burst of changes land before the next pass.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = healthz => r,
        _ = work => Ok(()),
        _ = tokio::signal::ctrl_c() => Ok(()),
        _ = term.recv() => Ok(()),
    }
}

/// Brings the listeners in line with `wanted`, one log line per change.
async fn apply(live: &mut BTreeMap<String, Listener>, wanted: BTreeMap<String, rules::Rule>) {
    live.retain(|addr, l| {
        let keep = wanted.contains_key(addr);
        if !keep {
            let service = l.rule.read().map(|r| r.service.clone()).unwrap_or_default();
            tracing::info!("{service}: {addr} has no ready endpoints; connections refused");
        }
        keep
    });
    for (addr, rule) in wanted {
        let describe = |r: &rules::Rule| {
            format!(
                "{}: {addr} -> {} ({} endpoint{}{})",
                r.service,
                r.backends.join(", "),
                r.backends.len(),
                if r.backends.len() == 1 { "" } else { "s" },
                if r.sticky { ", ClientIP affinity" } else { "" }
            )
        };
        if let Some(l) = live.get(&addr) {
            let changed = l.rule.read().is_ok_and(|r| *r != rule);
            if changed {
                tracing::info!("{}", describe(&rule));
                if let Ok(mut r) = l.rule.write() {
                    *r = rule;
                }
            }
            continue;
        }
        let listener = match tokio::net::TcpListener::bind(&addr).await {
            Ok(l) => l,
            Err(e) => {
                let port = addr.rsplit(':').next().and_then(|p| p.parse::<u16>().ok());
                let fix = if port.is_some_and(|p| p < 1024) {
                    " (ports below 1024 need root, `sudo setcap cap_net_bind_service=+ep $(which kwb)` or `sudo sysctl -w net.ipv4.ip_unprivileged_port_start=0`)"
                } else {
                    ""
                };
                tracing::warn!("{}: cannot listen on {addr}: {e}{fix}", rule.service);
                continue;
            }
        };
        tracing::info!("{}", describe(&rule));
        let shared = Arc::new(RwLock::new(rule));
        let task = tokio::spawn(forward(listener, shared.clone()));
        live.insert(addr, Listener { rule: shared, task });
    }
}

/// Accepts connections and splices each to a backend.
async fn forward(listener: tokio::net::TcpListener, rule: Arc<RwLock<rules::Rule>>) {
    let next = AtomicUsize::new(0);
    let mut affinity: HashMap<IpAddr, String> = HashMap::new();
    loop {
        let Ok((mut inbound, peer)) = listener.accept().await else {
            continue;
        };
        let Some(backend) = choose(&rule, &next, &mut affinity, peer) else {
            continue;
        };
        tokio::spawn(async move {
            match tokio::net::TcpStream::connect(&backend).await {
                Ok(mut outbound) => {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
                Err(e) => tracing::debug!("connecting {peer} to {backend} failed: {e}"),
            }
        });
    }
}

fn choose(
    rule: &RwLock<rules::Rule>,
    next: &AtomicUsize,
    affinity: &mut HashMap<IpAddr, String>,
    peer: SocketAddr,
) -> Option<String> {
    let r = rule.read().ok()?;
    if r.backends.is_empty() {
        return None;
    }
    if r.sticky
        && let Some(b) = affinity.get(&peer.ip()).filter(|b| r.backends.contains(b))
    {
        return Some(b.clone());
    }
    let b = r.backends[next.fetch_add(1, Ordering::Relaxed) % r.backends.len()].clone();
    if r.sticky {
        affinity.insert(peer.ip(), b.clone());
    }
    Some(b)
}

/// Plain HTTP /healthz, as upstream's healthz port.
async fn serve_healthz(addr: &str) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen on {addr} (--healthz-bind-address): is another proxy running?")
    })?;
    let router = axum::Router::new().route("/healthz", axum::routing::get(|| async { "ok" }));
    axum::serve(listener, router).await?;
    Ok(())
}
