//! kwb's builtin kubelet (`kwb component kubelet`): registers its Node, renews its Lease in
//! kube-node-lease, and runs the pods bound to it in the simulated runtime ([`sim`]): each
//! pod gets an IP from the node's pod CIDR (a loopback address, so no root is needed),
//! goes Pending/ContainerCreating → Running and Ready, serves its containerPorts there, and
//! when deleted is stopped and its deletion confirmed.
//!
//! Its HTTPS API ([`server`]) serves the containers' logs to `kubectl logs`.
//!
//! Not yet here: probes, restarts and CrashLoopBackOff, init containers, image-pull failure rules, pods that
//! finish (Jobs), and the process runtime.

pub mod ipam;
pub mod node;
pub mod server;
pub mod sim;
pub mod status;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, OwnerReference};
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::reflector::Store;
use kube::{Api, ResourceExt};
use serde_json::json;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::agent;

/// The kubelet's flags, those the builtin uses (names as upstream's).
#[derive(clap::Parser, Debug, Clone)]
#[command(name = "kwb component kubelet", about = "kwb's builtin kubelet")]
pub struct Config {
    #[arg(long)]
    pub kubeconfig: PathBuf,
    #[arg(long)]
    pub hostname_override: String,
    #[arg(long, default_value = "127.0.0.1")]
    pub node_ip: String,
    #[arg(long)]
    pub root_dir: PathBuf,
    #[arg(long, default_value_t = 10250)]
    pub port: u16,
    #[arg(long, default_value_t = 10248)]
    pub healthz_port: u16,
    #[arg(long)]
    pub tls_cert_file: Option<PathBuf>,
    #[arg(long)]
    pub tls_private_key_file: Option<PathBuf>,
    #[arg(long)]
    pub client_ca_file: Option<PathBuf>,
    /// The node's share of the pod CIDR (a /24); pod IPs come from it.
    #[arg(long)]
    pub pod_cidr: String,
    /// Labels the node registers with, `key=value,…` (the builtin also takes node-role
    /// labels, which upstream leaves to kubeadm).
    #[arg(long, value_delimiter = ',')]
    pub node_labels: Vec<String>,
}

/// How often the Lease is renewed (upstream: a quarter of its 40 s duration).
const LEASE_RENEW: Duration = Duration::from_secs(10);
const LEASE_SECONDS: i32 = 40;
/// How often the node status is posted even when nothing changed.
const STATUS_EVERY: Duration = Duration::from_secs(60);
/// How long a pod shows ContainerCreating before it runs (the simulated image pull).
const CREATING: Duration = Duration::from_millis(500);

pub async fn run(config: Config) -> anyhow::Result<()> {
    let client = agent::client(&config.kubeconfig).await?;
    let node_name = config.hostname_override.clone();
    let mut host = node::Host::detect(
        &node_name,
        &config.node_ip,
        config.port,
        Some(config.pod_cidr.clone()),
    );
    host.labels = config
        .node_labels
        .iter()
        .filter(|l| !l.is_empty())
        .map(|l| match l.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect();
    let ipam = ipam::Pool::new(&config.pod_cidr).with_context(|| {
        format!(
            "--pod-cidr {}: give an IPv4 range like 127.244.0.0/24",
            config.pod_cidr
        )
    })?;
    let (Some(cert), Some(key), Some(ca)) = (
        &config.tls_cert_file,
        &config.tls_private_key_file,
        &config.client_ca_file,
    ) else {
        anyhow::bail!(
            "the kubelet API needs --tls-cert-file, --tls-private-key-file and --client-ca-file"
        );
    };
    let tls = crate::serve::tls_config(
        ("tls-cert-file", cert),
        ("tls-private-key-file", key),
        Some(("client-ca-file", ca)),
        crate::serve::ClientCerts::Required,
    )?;
    let healthz = serve_healthz(config.healthz_port);
    let wake = Arc::new(Notify::new());
    let pods = agent::store::watched_with(
        Api::<Pod>::all(client.clone()),
        kube::runtime::watcher::Config::default().fields(&format!("spec.nodeName={node_name}")),
        vec![wake.clone()],
    );
    let api_addr = format!("{}:{}", config.node_ip, config.port);
    let api = server::serve(
        &api_addr,
        tls,
        server::Kubelet {
            root: config.root_dir.clone(),
            pods: pods.clone(),
        },
    );
    let registration = async {
        let node_uid = register(&client, &host).await;
        tokio::join!(
            renew_lease(&client, &node_name, &node_uid),
            post_status(&client, &host),
            run_pods(&client, &host, pods, wake, ipam, &config.root_dir),
        );
        anyhow::Ok(())
    };
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = healthz => r,
        r = api => r,
        r = registration => r,
        _ = tokio::signal::ctrl_c() => Ok(()),
        _ = term.recv() => Ok(()),
    }
}

/// Plain HTTP /healthz on loopback, as upstream's healthz port.
async fn serve_healthz(port: u16) -> anyhow::Result<()> {
    let addr = format!("127.0.0.1:{port}");
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| {
            format!("cannot listen on {addr} (--healthz-port): is another kubelet running?")
        })?;
    let router = axum::Router::new().route("/healthz", axum::routing::get(|| async { "ok" }));
    axum::serve(listener, router).await?;
    Ok(())
}

/// Creates the Node, or takes over the one of a previous run; returns its uid.
async fn register(client: &kube::Client, host: &node::Host) -> String {
    let nodes: Api<Node> = Api::all(client.clone());
    loop {
        let wanted = node::node(host, Timestamp::now());
        let result = match nodes.create(&PostParams::default(), &wanted).await {
            Ok(n) => {
                tracing::info!("registered node {}", host.name);
                Ok(n)
            }
            Err(e) if agent_code(&e) == Some(409) => {
                tracing::info!("node {} already registered; taking it over", host.name);
                nodes.get(&host.name).await
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(n) => {
                // The status of a new node is the server's to drop on create; post it.
                let status = node::status(host, n.status.as_ref(), Timestamp::now());
                let patch = json!({"status": status});
                if let Err(e) = nodes
                    .patch_status(&host.name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                {
                    tracing::warn!("posting the status of node {}: {e}", host.name);
                }
                return n.uid().unwrap_or_default();
            }
            Err(e) => {
                tracing::warn!("registering node {} failed, retrying: {e}", host.name);
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    }
}

fn agent_code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

/// Renews `kube-node-lease/<node>` every [`LEASE_RENEW`]: the node controller's heartbeat.
async fn renew_lease(client: &kube::Client, node: &str, node_uid: &str) {
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let mut renewing = false;
    loop {
        let now = MicroTime(Timestamp::now());
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(node.into()),
                namespace: Some("kube-node-lease".into()),
                owner_references: Some(vec![OwnerReference {
                    api_version: "v1".into(),
                    kind: "Node".into(),
                    name: node.into(),
                    uid: node_uid.into(),
                    ..OwnerReference::default()
                }]),
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(node.into()),
                lease_duration_seconds: Some(LEASE_SECONDS),
                renew_time: Some(now),
                ..LeaseSpec::default()
            }),
        };
        let result = match leases.get_opt(node).await {
            Ok(Some(current)) => {
                let mut next = lease.clone();
                next.metadata.resource_version = current.resource_version();
                if let Some(spec) = next.spec.as_mut() {
                    spec.acquire_time = current.spec.and_then(|s| s.acquire_time);
                }
                leases
                    .replace(node, &PostParams::default(), &next)
                    .await
                    .map(|_| ())
            }
            Ok(None) => leases
                .create(&PostParams::default(), &lease)
                .await
                .map(|_| ()),
            Err(e) => Err(e),
        };
        match result {
            Ok(()) if !renewing => {
                tracing::info!(
                    "renewing lease kube-node-lease/{node} every {}s",
                    LEASE_RENEW.as_secs()
                );
                renewing = true;
            }
            Ok(()) => {}
            Err(e) => {
                tracing::warn!("renewing lease kube-node-lease/{node} failed: {e}");
                renewing = false;
            }
        }
        tokio::time::sleep(LEASE_RENEW).await;
    }
}

/// Posts the node's status every [`STATUS_EVERY`] (conditions' heartbeats).
async fn post_status(client: &kube::Client, host: &node::Host) {
    let nodes: Api<Node> = Api::all(client.clone());
    loop {
        tokio::time::sleep(STATUS_EVERY).await;
        let previous = nodes.get_opt(&host.name).await.ok().flatten();
        let Some(previous) = previous else {
            tracing::warn!("node {} is gone; registering it again", host.name);
            register(client, host).await;
            continue;
        };
        let status = node::status(host, previous.status.as_ref(), Timestamp::now());
        let patch = json!({"status": status});
        if let Err(e) = nodes
            .patch_status(&host.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            tracing::warn!("posting node status failed: {e}");
        }
    }
}

/// A pod the kubelet runs.
struct Worker {
    ip: String,
    uid: String,
    /// When the current stage began.
    since: Timestamp,
    stage: Stage,
    tasks: Vec<JoinHandle<()>>,
}

/// Where a pod's worker is: ContainerCreating, running, or finished (pods whose
/// restartPolicy is not Always run to completion).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Creating,
    Running,
    Done,
}

impl Worker {
    fn stop(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// How long a run-to-completion container runs in the simulated runtime.
const RUN_TO_COMPLETION: Duration = Duration::from_secs(1);

fn runs_to_completion(pod: &Pod) -> bool {
    pod.spec
        .as_ref()
        .and_then(|s| s.restart_policy.as_deref())
        .is_some_and(|p| p != "Always")
}

/// Watches the pods bound to this node and runs them.
async fn run_pods(
    client: &kube::Client,
    host: &node::Host,
    pods: Store<Pod>,
    wake: Arc<Notify>,
    mut ipam: ipam::Pool,
    root: &std::path::Path,
) {
    let _ = pods.wait_until_ready().await;
    let mut workers: HashMap<String, Worker> = HashMap::new();
    loop {
        let due = sync_pods(client, host, &pods, &mut ipam, root, &mut workers).await;
        let wait = if due {
            CREATING
        } else {
            Duration::from_secs(30)
        };
        let _ = tokio::time::timeout(wait, wake.notified()).await;
    }
}

fn pod_key(p: &Pod) -> String {
    format!("{}/{}", p.namespace().unwrap_or_default(), p.name_any())
}

/// One pass over the node's pods; true when a pod is due to start running soon.
async fn sync_pods(
    client: &kube::Client,
    host: &node::Host,
    store: &Store<Pod>,
    ipam: &mut ipam::Pool,
    root: &std::path::Path,
    workers: &mut HashMap<String, Worker>,
) -> bool {
    let pods = store.state();
    let mut due = false;
    // Pods gone from the API (deleted by force): stop them.
    let present: std::collections::HashSet<String> = pods.iter().map(|p| pod_key(p)).collect();
    workers.retain(|k, w| {
        let keep = present.contains(k);
        if !keep {
            ipam.release(&w.ip);
            tracing::info!("pod {k} is gone; stopped");
        }
        keep
    });
    for pod in pods {
        let k = pod_key(&pod);
        let uid = pod.uid().unwrap_or_default();
        let api: Api<Pod> = Api::namespaced(client.clone(), &pod.namespace().unwrap_or_default());
        if workers.get(&k).is_some_and(|w| w.uid != uid)
            && let Some(w) = workers.remove(&k)
        {
            ipam.release(&w.ip);
        }
        if pod.metadata.deletion_timestamp.is_some() {
            // Stop it, then confirm the deletion (upstream after the grace period and preStop;
            // a simulated container stops at once).
            if let Some(w) = workers.remove(&k) {
                ipam.release(&w.ip);
            }
            let dp = DeleteParams {
                preconditions: Some(Preconditions {
                    uid: Some(uid.clone()),
                    resource_version: None,
                }),
                ..DeleteParams::default().grace_period(0)
            };
            match api.delete(&pod.name_any(), &dp).await {
                Ok(_) => {
                    tracing::info!("pod {k} stopped; deletion confirmed");
                    // Its logs go with it (a following `kubectl logs -f` ends).
                    let dir = sim::log_path(root, &pod, "-");
                    if let Some(pod_dir) = dir.parent().and_then(|d| d.parent()) {
                        let _ = std::fs::remove_dir_all(pod_dir);
                    }
                }
                Err(e) if matches!(agent_code(&e), Some(404 | 409)) => {}
                Err(e) => tracing::warn!("confirming the deletion of pod {k} failed: {e}"),
            }
            continue;
        }
        let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
        if matches!(phase, Some("Succeeded" | "Failed")) {
            continue;
        }
        #[allow(clippy::map_entry)] // the new worker needs awaits before it exists
        if !workers.contains_key(&k) {
            // A pod this kubelet ran before a restart keeps its IP.
            let had = pod
                .status
                .as_ref()
                .and_then(|s| s.pod_ip.clone())
                .filter(|ip| ipam.take(ip));
            let Some(ip) = had.or_else(|| ipam.allocate()) else {
                tracing::warn!("pod {k}: no free IP left in the pod CIDR");
                continue;
            };
            let resumed = phase == Some("Running")
                && pod.status.as_ref().and_then(|s| s.pod_ip.as_deref()) == Some(ip.as_str());
            let mut worker = Worker {
                ip: ip.clone(),
                uid: uid.clone(),
                since: Timestamp::now(),
                stage: if resumed {
                    Stage::Running
                } else {
                    Stage::Creating
                },
                tasks: Vec::new(),
            };
            if resumed {
                worker.tasks = start_containers(&pod, &ip, host, root).await;
                tracing::info!("pod {k} running at {ip} (resumed)");
            } else {
                let status = status::starting(&pod, &host.ip, Timestamp::now());
                write_status(&api, &pod, &status, &k).await;
                tracing::info!("pod {k}: ContainerCreating");
                due = true;
            }
            workers.insert(k, worker);
            continue;
        }
        let Some(worker) = workers.get_mut(&k) else {
            continue;
        };
        let elapsed = Timestamp::now().duration_since(worker.since).as_secs_f64();
        match worker.stage {
            Stage::Creating if elapsed < CREATING.as_secs_f64() => due = true,
            Stage::Creating => {
                worker.tasks = start_containers(&pod, &worker.ip, host, root).await;
                let now = Timestamp::now();
                let status = status::running(&pod, &host.ip, &worker.ip, now);
                if write_status(&api, &pod, &status, &k).await {
                    worker.stage = Stage::Running;
                    worker.since = now;
                    tracing::info!("pod {k} running at {}", worker.ip);
                    due |= runs_to_completion(&pod);
                } else {
                    worker.stop();
                    due = true;
                }
            }
            Stage::Running if runs_to_completion(&pod) => {
                if elapsed < RUN_TO_COMPLETION.as_secs_f64() {
                    due = true;
                    continue;
                }
                let started = worker.since;
                let status =
                    status::completed(&pod, &host.ip, &worker.ip, started, Timestamp::now());
                for c in pod.spec.iter().flat_map(|s| s.containers.iter()) {
                    let log = sim::Log::open(&sim::log_path(root, &pod, &c.name));
                    log.line("kwb sim: the container's command ran to completion (simulated: exit code 0)");
                }
                if write_status(&api, &pod, &status, &k).await {
                    worker.stop();
                    worker.stage = Stage::Done;
                    ipam.release(&worker.ip);
                    tracing::info!("pod {k} completed");
                } else {
                    due = true;
                }
            }
            Stage::Running | Stage::Done => {}
        }
    }
    due
}

async fn start_containers(
    pod: &Pod,
    ip: &str,
    host: &node::Host,
    root: &std::path::Path,
) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    for c in pod.spec.iter().flat_map(|s| s.containers.iter()) {
        let log = sim::Log::open(&sim::log_path(root, pod, &c.name));
        tasks.extend(sim::start(pod, c, ip, &host.name, log).await);
    }
    tasks
}

async fn write_status(
    api: &Api<Pod>,
    pod: &Pod,
    status: &k8s_openapi::api::core::v1::PodStatus,
    k: &str,
) -> bool {
    let patch = json!({"status": status});
    match api
        .patch_status(
            &pod.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!("pod {k}: writing status failed: {e}");
            false
        }
    }
}
