//! kwb's builtin kubelet (`kwb component kubelet`): registers its Node, renews its Lease in
//! kube-node-lease, and runs the pods bound to it in the simulated runtime ([`sim`]): each
//! pod gets an IP from the node's pod CIDR (a loopback address, so no root is needed),
//! goes Pending/ContainerCreating → Running and Ready, serves its containerPorts there, and
//! when deleted is stopped and its deletion confirmed.
//!
//! Its HTTPS API ([`server`]) serves the containers' logs to `kubectl logs`.
//!
//! Each pod's lifecycle — init containers, pulls and their failures, restarts with
//! CrashLoopBackOff, probes, completion — is the state machine in [`pod`]; the failure rules
//! of the config are in [`rules`], the probes in [`probe`]. On a node with the process runtime
//! (opt-in), containers with a `command` run as host processes instead ([`process`]).

pub mod bench;
pub mod hooks;
pub mod ipam;
pub mod node;
pub mod pod;
pub mod probe;
pub mod process;
pub mod rules;
pub mod server;
pub mod sim;

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
use tokio::sync::{Notify, mpsc};
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
    /// Taints the node registers with, `key=value:Effect,…` (as upstream's flag).
    #[arg(long, value_delimiter = ',')]
    pub register_with_taints: Vec<String>,
    /// A YAML list of the simulated runtime's failure rules (kwb.yaml's `simulate:`); without
    /// it, kwb's default rules apply.
    #[arg(long)]
    pub simulate_rules: Option<PathBuf>,
    /// Containers whose spec gives a `command` run as host processes (their real output and
    /// exit codes); the others stay simulated. Off by default: it runs what pod specs say.
    #[arg(long)]
    pub process_runtime: bool,
}

/// The failure rules from `--simulate-rules`, or the defaults.
fn load_rules(path: Option<&std::path::Path>) -> anyhow::Result<rules::Rules> {
    let list = match path {
        None => rules::defaults(),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read --simulate-rules {}", p.display()))?;
            serde_saphyr::from_str(&text)
                .map_err(|e| anyhow::anyhow!("--simulate-rules {}: {e}", p.display()))?
        }
    };
    rules::Rules::new(list).map_err(|e| anyhow::anyhow!("{e}"))
}

/// How often the Lease is renewed (upstream: a quarter of its 40 s duration).
const LEASE_RENEW: Duration = Duration::from_secs(10);
const LEASE_SECONDS: i32 = 40;
/// How often the node status is posted even when nothing changed.
const STATUS_EVERY: Duration = Duration::from_secs(60);

pub async fn run(config: Config) -> anyhow::Result<()> {
    let rules = load_rules(config.simulate_rules.as_deref())?;
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
    host.taints = config
        .register_with_taints
        .iter()
        .filter(|t| !t.is_empty())
        .map(|t| node::parse_taint(t))
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("--register-with-taints: {e}"))?;
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
    let (probes, probe_results) = mpsc::unbounded_channel();
    let (exits, exit_reports) = mpsc::unbounded_channel();
    if config.process_runtime {
        tracing::info!(
            "process runtime on: containers with a command run as host processes in {}",
            config.root_dir.join("pods").display()
        );
    }
    let registration = async {
        let node_uid = register(&client, &host).await;
        tokio::join!(
            renew_lease(&client, &node_name, &node_uid),
            post_status(&client, &host),
            run_pods(
                Runtime {
                    client: &client,
                    host: &host,
                    root: &config.root_dir,
                    rules: &rules,
                    events: agent::events::Recorder::new(client.clone(), "kubelet"),
                    probes,
                    process_runtime: config.process_runtime,
                    exits,
                    wake: wake.clone(),
                },
                pods,
                wake,
                Reports {
                    probes: probe_results,
                    exits: exit_reports,
                },
                ipam,
            ),
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

/// A pod the kubelet runs: its state machine and the tasks of its running containers.
struct Worker {
    run: pod::PodRun,
    tasks: HashMap<String, Vec<JoinHandle<()>>>,
    /// The host processes of its containers in the process runtime (killed when dropped).
    processes: HashMap<String, process::Running>,
    /// Its IP went back to the pool when it finished.
    released: bool,
    /// Deleted: the preStop hooks running, bounded by the grace period.
    stopping: Option<Stopping>,
}

/// A pod's graceful stop under way.
struct Stopping {
    task: JoinHandle<()>,
    /// Set by the task before it wakes the pod loop. Not `task.is_finished()`: the loop can
    /// wake and look before the runtime marks the task finished, and would then sleep until
    /// the next pod change (up to 30 s) with the pod left Terminating.
    done: Arc<std::sync::atomic::AtomicBool>,
}

impl Worker {
    /// Ends the container's run: its tasks at once, its process (if it still runs) with
    /// SIGTERM, then SIGKILL after `grace`.
    fn stop(&mut self, container: &str, grace: Duration) {
        for t in self.tasks.remove(container).into_iter().flatten() {
            t.abort();
        }
        if let Some(p) = self.processes.remove(container) {
            tokio::spawn(p.stop(grace));
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        for t in self.tasks.drain().flat_map(|(_, t)| t) {
            t.abort();
        }
        if let Some(s) = self.stopping.take() {
            s.task.abort();
        }
    }
}

/// What running pods needs besides the pods: the node, where logs go, the failure rules,
/// the event recorder and the channel probe results come back on.
struct Runtime<'a> {
    client: &'a kube::Client,
    host: &'a node::Host,
    root: &'a std::path::Path,
    rules: &'a rules::Rules,
    events: agent::events::Recorder,
    probes: mpsc::UnboundedSender<probe::Outcome>,
    /// Containers with a command run as host processes; their ends come back on `exits`.
    process_runtime: bool,
    exits: mpsc::UnboundedSender<process::Exit>,
    /// Wakes the pod loop: pod changes, and preStop hooks that finished.
    wake: Arc<Notify>,
}

/// What the containers' tasks report to the pod loop.
struct Reports {
    probes: mpsc::UnboundedReceiver<probe::Outcome>,
    exits: mpsc::UnboundedReceiver<process::Exit>,
}

/// The reports received, not yet given to their pods' state machines.
#[derive(Default)]
struct Received {
    outcomes: Vec<probe::Outcome>,
    exits: Vec<process::Exit>,
}

impl Reports {
    /// Waits at most `wait` for a report (or a wake-up), then takes all that are there.
    async fn receive(&mut self, wait: Duration, wake: &Notify, into: &mut Received) {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = wake.notified() => {}
            Some(o) = self.probes.recv() => into.outcomes.push(o),
            Some(e) = self.exits.recv() => into.exits.push(e),
        }
        while let Ok(o) = self.probes.try_recv() {
            into.outcomes.push(o);
        }
        while let Ok(e) = self.exits.try_recv() {
            into.exits.push(e);
        }
    }
}

/// Watches the pods bound to this node and runs them.
async fn run_pods(
    rt: Runtime<'_>,
    pods: Store<Pod>,
    wake: Arc<Notify>,
    mut reports: Reports,
    mut ipam: ipam::Pool,
) {
    let _ = pods.wait_until_ready().await;
    let mut workers: HashMap<String, Worker> = HashMap::new();
    let mut received = Received::default();
    loop {
        let next = sync_pods(&rt, &pods, &mut ipam, &mut workers, &mut received).await;
        let wait = next
            .map(|at| {
                let left = at.duration_since(Timestamp::now()).as_secs_f64();
                Duration::from_secs_f64(left.clamp(0.01, 30.0))
            })
            .unwrap_or(Duration::from_secs(30));
        reports.receive(wait, &wake, &mut received).await;
    }
}

fn pod_key(p: &Pod) -> String {
    format!("{}/{}", p.namespace().unwrap_or_default(), p.name_any())
}

/// One pass over the node's pods; returns when the next one is due.
async fn sync_pods(
    rt: &Runtime<'_>,
    store: &Store<Pod>,
    ipam: &mut ipam::Pool,
    workers: &mut HashMap<String, Worker>,
    received: &mut Received,
) -> Option<Timestamp> {
    let pods = store.state();
    // Pods gone from the API (deleted by force): stop them.
    let present: std::collections::HashSet<String> = pods.iter().map(|p| pod_key(p)).collect();
    workers.retain(|k, w| {
        let keep = present.contains(k);
        if !keep {
            if !w.released {
                ipam.release(&w.run.ip);
            }
            tracing::info!("pod {k} is gone; stopped");
        }
        keep
    });
    let mut next: Option<Timestamp> = None;
    for pod in pods {
        let k = pod_key(&pod);
        let uid = pod.uid().unwrap_or_default();
        let api: Api<Pod> =
            Api::namespaced(rt.client.clone(), &pod.namespace().unwrap_or_default());
        if workers.get(&k).is_some_and(|w| w.run.uid != uid)
            && let Some(w) = workers.remove(&k)
            && !w.released
        {
            ipam.release(&w.run.ip);
        }
        if pod.metadata.deletion_timestamp.is_some() {
            // Stop it gracefully — Killing events, preStop hooks within the grace period,
            // then the containers — and confirm the deletion.
            if let Some(w) = workers.get_mut(&k) {
                let hooks_done = match &w.stopping {
                    None => {
                        let killing = w.run.killing();
                        perform(rt, &pod, w, killing).await;
                        w.stopping = Some(spawn_graceful_stop(rt, &pod, w));
                        false
                    }
                    Some(s) => s.done.load(std::sync::atomic::Ordering::Acquire),
                };
                if !hooks_done {
                    // The hooks' task wakes the loop when it ends.
                    continue;
                }
                if let Some(mut w) = workers.remove(&k) {
                    let actions = w.run.stop_all();
                    perform(rt, &pod, &mut w, actions).await;
                    if !w.released {
                        ipam.release(&w.run.ip);
                    }
                }
            }
            if !confirm_deletion(rt, &api, &pod, &k, &uid).await {
                // Tried again in a second, not at the next pod change (maybe 30 s away).
                let retry = Timestamp::now() + k8s_openapi::jiff::SignedDuration::from_secs(1);
                next = Some(next.map_or(retry, |n| n.min(retry)));
            }
            continue;
        }
        let now = Timestamp::now();
        #[allow(clippy::map_entry)] // the new worker needs awaits before it exists
        if !workers.contains_key(&k) {
            let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
            if matches!(phase, Some("Succeeded" | "Failed")) {
                continue;
            }
            // A pod this kubelet ran before a restart keeps its IP.
            let had = pod
                .status
                .as_ref()
                .and_then(|s| s.pod_ip.clone())
                .filter(|ip| ipam.take(ip));
            let resumed = had.is_some() && phase == Some("Running");
            let Some(ip) = had.or_else(|| ipam.allocate()) else {
                tracing::warn!("pod {k}: no free IP left in the pod CIDR");
                continue;
            };
            let mut run = pod::PodRun::new(&pod, &ip, rt.rules, now);
            if rt.process_runtime {
                run = run.with_process_runtime(&pod);
            }
            let (run, actions) = if resumed {
                tracing::info!("pod {k} running at {ip} (resumed)");
                run.resume(&pod, now)
            } else {
                tracing::info!("pod {k}: ContainerCreating");
                (run, Vec::new())
            };
            let mut w = Worker {
                run,
                tasks: HashMap::new(),
                processes: HashMap::new(),
                released: false,
                stopping: None,
            };
            perform(rt, &pod, &mut w, actions).await;
            workers.insert(k.clone(), w);
        }
        let Some(w) = workers.get_mut(&k) else {
            continue;
        };
        let mut actions = Vec::new();
        for o in received.outcomes.extract_if(.., |o| o.pod == k) {
            if o.uid == uid {
                actions.extend(w.run.probed(&o.container, o.restart, o.kind, o.result, now));
            }
        }
        for e in received.exits.extract_if(.., |e| e.target.pod == k) {
            if e.target.uid == uid {
                let t = &e.target;
                actions.extend(w.run.exited(&t.container, t.restart, e.code, e.error, now));
            }
        }
        actions.extend(w.run.advance(now));
        perform(rt, &pod, w, actions).await;
        let status = w.run.status(&pod, &rt.host.ip, now);
        if w.run.written.as_ref() != Some(&status) {
            let phase = status.phase.clone().unwrap_or_default();
            if write_status(&api, &pod, &status, &k).await {
                if w.run.written.as_ref().and_then(|s| s.phase.as_deref()) != Some(&phase) {
                    tracing::info!("pod {k}: {phase} at {}", w.run.ip);
                }
                w.run.written = Some(status);
            } else {
                next = Some(now);
            }
        }
        if w.run.finished() && !w.released {
            w.released = true;
            ipam.release(&w.run.ip);
        }
        if let Some(at) = w.run.next_due() {
            next = Some(next.map_or(at, |n| n.min(at)));
        }
    }
    // Reports for pods not (yet) here are dropped: their tasks end with them.
    received.outcomes.clear();
    received.exits.clear();
    next
}

/// Runs the preStop hooks of the pod's running containers, together, for at most the grace
/// period (a failed hook is a FailedPreStopHook event, and the stop goes on either way), then
/// stops their host processes with SIGTERM and what is left of the grace period (at least
/// 2 s, as upstream gives) before SIGKILL.
fn spawn_graceful_stop(rt: &Runtime<'_>, pod: &Pod, w: &Worker) -> Stopping {
    let run = &w.run;
    let grace = hooks::grace_period(pod);
    let reference = object_reference(pod);
    let events = rt.events.clone();
    let name = pod.name_any();
    let hooked: Vec<_> = run
        .running()
        .into_iter()
        .filter_map(|c| {
            let spec = container_spec(pod, &c)?;
            spec.lifecycle.as_ref()?.pre_stop.as_ref()?;
            let exec = run.is_process(&c).then(|| {
                process::Exec::new(pod, spec, &ips(rt, run), &sim::work_dir(rt.root, pod))
            });
            Some((spec.clone(), current_log(rt, run, pod, &c), exec))
        })
        .collect();
    let processes: Vec<process::Running> = w.processes.values().map(|p| p.watch()).collect();
    let ip = run.ip.clone();
    let wake = rt.wake.clone();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let done_flag = done.clone();
    let task = tokio::spawn(async move {
        let started = tokio::time::Instant::now();
        let all = hooked.iter().map(|(spec, log, exec)| async {
            let hook = hooks::pre_stop(spec, &ip, &name, log, exec.as_ref());
            match tokio::time::timeout(grace, hook).await {
                Ok(Ok(())) => {}
                Ok(Err(message)) => {
                    events
                        .warning(&reference, "FailedPreStopHook", &message)
                        .await;
                }
                Err(_) => log.line(&format!(
                    "kwb sim: preStop hook not done within the grace period of {} s; stopping",
                    grace.as_secs()
                )),
            }
        });
        futures::future::join_all(all).await;
        let left = grace
            .saturating_sub(started.elapsed())
            .max(Duration::from_secs(2));
        futures::future::join_all(processes.into_iter().map(|p| p.stop(left))).await;
        done_flag.store(true, std::sync::atomic::Ordering::Release);
        wake.notify_one();
    });
    Stopping { task, done }
}

fn ips<'a>(rt: &'a Runtime<'_>, run: &'a pod::PodRun) -> process::Ips<'a> {
    process::Ips {
        host: &rt.host.ip,
        pod: &run.ip,
    }
}

/// A container of the pod's spec, init or app, by name.
fn container_spec<'a>(
    pod: &'a Pod,
    name: &str,
) -> Option<&'a k8s_openapi::api::core::v1::Container> {
    pod.spec
        .iter()
        .flat_map(|s| s.init_containers.iter().flatten().chain(&s.containers))
        .find(|c| c.name == name)
}

/// The log of the run `container` is on.
fn current_log(rt: &Runtime<'_>, run: &pod::PodRun, pod: &Pod, container: &str) -> sim::Log {
    let restart = pod_restart_count(run, pod, container);
    sim::Log::open(&sim::log_path(rt.root, pod, container, restart))
}

/// Deletes the stopped pod for good; whether that is done (or moot: gone, or a new pod of
/// the same name).
async fn confirm_deletion(rt: &Runtime<'_>, api: &Api<Pod>, pod: &Pod, k: &str, uid: &str) -> bool {
    let dp = DeleteParams {
        preconditions: Some(Preconditions {
            uid: Some(uid.to_string()),
            resource_version: None,
        }),
        ..DeleteParams::default().grace_period(0)
    };
    match api.delete(&pod.name_any(), &dp).await {
        Ok(_) => {
            tracing::info!("pod {k} stopped; deletion confirmed");
            // Its logs and work dir go with it (a following `kubectl logs -f` ends).
            let _ = std::fs::remove_dir_all(sim::pod_dir(rt.root, pod));
            true
        }
        Err(e) if matches!(agent_code(&e), Some(404)) => true,
        Err(e) => {
            tracing::warn!("confirming the deletion of pod {k} failed: {e}; retrying");
            false
        }
    }
}

/// Does what the pod's state machine asks: runs and stops containers, records events.
async fn perform(rt: &Runtime<'_>, pod: &Pod, w: &mut Worker, actions: Vec<pod::Action>) {
    let reference = object_reference(pod);
    for action in actions {
        match action {
            pod::Action::Start {
                container,
                restart,
                serves,
            } => {
                w.stop(&container, Duration::ZERO);
                let Some(spec) = container_spec(pod, &container) else {
                    continue;
                };
                let log = sim::Log::open(&sim::log_path(rt.root, pod, &container, restart));
                let image = spec.image.clone().unwrap_or_default();
                let target = probe::Target {
                    pod: pod_key(pod),
                    uid: w.run.uid.clone(),
                    container: container.clone(),
                    restart,
                    ip: w.run.ip.clone(),
                };
                let mut tasks = Vec::new();
                if w.run.is_process(&container) {
                    let work_dir = sim::work_dir(rt.root, pod);
                    let _ = std::fs::create_dir_all(&work_dir);
                    let exec = process::Exec::new(pod, spec, &ips(rt, &w.run), &work_dir);
                    let argv = process::argv(spec, &exec).unwrap_or_default();
                    if let Some(p) = process::start(&argv, &exec, &target, &log, &rt.exits) {
                        w.processes.insert(container.clone(), p);
                    }
                    if serves {
                        tasks = probe::spawn(spec, &target, &log, &rt.probes, Some(&exec));
                    }
                } else if serves {
                    let unready = rt.rules.effect(&image).unready;
                    tasks =
                        sim::start(pod, spec, &w.run.ip, &rt.host.name, log.clone(), unready).await;
                    tasks.extend(probe::spawn(spec, &target, &log, &rt.probes, None));
                } else {
                    log.line(&format!("kwb sim: started {image}"));
                }
                w.tasks.insert(container, tasks);
            }
            pod::Action::Stop { container, line } => {
                w.stop(&container, hooks::grace_period(pod));
                if !line.is_empty() {
                    current_log(rt, &w.run, pod, &container).line(&line);
                }
            }
            pod::Action::Event {
                warning,
                reason,
                message,
            } => {
                if warning {
                    rt.events.warning(&reference, reason, &message).await;
                } else {
                    rt.events.normal(&reference, reason, &message).await;
                }
            }
        }
    }
}

/// The run a container is on (the log file its last lines go to).
fn pod_restart_count(run: &pod::PodRun, pod: &Pod, container: &str) -> i32 {
    run.restart_count(container)
        .or_else(|| {
            pod.status
                .iter()
                .flat_map(|s| s.container_statuses.iter().flatten())
                .find(|c| c.name == container)
                .map(|c| c.restart_count)
        })
        .unwrap_or(0)
}

fn object_reference(pod: &Pod) -> k8s_openapi::api::core::v1::ObjectReference {
    k8s_openapi::api::core::v1::ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Pod".into()),
        name: pod.metadata.name.clone(),
        namespace: pod.metadata.namespace.clone(),
        uid: pod.metadata.uid.clone(),
        resource_version: pod.metadata.resource_version.clone(),
        ..Default::default()
    }
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
