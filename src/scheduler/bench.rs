//! `kwb bench scheduling`: issue 6's figures, through kube-rs against any cluster whose
//! controller-manager and scheduler run (the builtin ones by default): a Deployment of 1000
//! replicas on 10 fake nodes — how long until its ReplicaSet has created every pod, until
//! every pod is bound, and pods bound per second — then the CPU the controller-manager and
//! scheduler use while nothing changes.
//!
//! Fake nodes are Node objects with capacity and a Ready condition (no kubelet); they, the
//! Deployment and its pods are deleted at the end (and before a run, in case the last one was
//! interrupted); the namespace stays for the next run.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use serde_json::json;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The cluster to measure; default: the kwb cluster's admin kubeconfig.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    #[arg(long, default_value_t = 1000)]
    pub replicas: i32,
    #[arg(long, default_value_t = 10)]
    pub nodes: usize,
    /// Seconds of quiet over which idle CPU is measured.
    #[arg(long, default_value_t = 10)]
    pub idle_seconds: u64,
}

const NAMESPACE: &str = "kwb-bench-scheduling";

pub async fn run(args: Args, default_kubeconfig: PathBuf) -> anyhow::Result<()> {
    let path = args.kubeconfig.clone().unwrap_or(default_kubeconfig);
    let client = crate::agent::client(&path)
        .await
        .context("start the cluster first: kwb up --detach")?;
    let nodes: Api<Node> = Api::all(client.clone());
    let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NAMESPACE);
    clean_up(&client, &nodes, &deployments, &pods).await;
    let names: Vec<String> = (0..args.nodes)
        .map(|i| format!("kwb-bench-node-{i}"))
        .collect();
    make_nodes(&nodes, &names, false).await?;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": NAMESPACE}}))?;
    match namespaces.create(&PostParams::default(), &ns).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {}
        Err(e) => return Err(e.into()),
    }
    let want = args.replicas as usize;

    // Phase 1: a deployment on ready nodes, pods scheduled as they are created.
    let mut progress = Progress::new(want);
    let rv = resource_version(&pods).await?;
    let start = Instant::now();
    deployments
        .create(
            &PostParams::default(),
            &deployment(&progress.run, args.replicas)?,
        )
        .await?;
    follow(&pods, rv, &mut progress, start, |p| p.all_bound.is_some()).await?;
    let all_bound = progress.all_bound.unwrap_or_default();
    let all_created = progress.all_created.unwrap_or(all_bound);
    let binding_window = all_bound.saturating_sub(progress.first_bound.unwrap_or_default());
    println!("deployment of {want} replicas on {} fake nodes", args.nodes);
    println!(
        "  all pods created          {:>8.2} s",
        all_created.as_secs_f64()
    );
    println!(
        "  all pods bound            {:>8.2} s",
        all_bound.as_secs_f64()
    );
    println!(
        "  pods bound per second     {:>8.0}   (first to last binding: {:.2} s)",
        want as f64 / binding_window.as_secs_f64().max(0.001),
        binding_window.as_secs_f64()
    );
    // Spread over the nodes: the most and fewest pods on one node.
    let placed = pods
        .list(&ListParams::default().labels(&format!("run={}", progress.run)))
        .await?;
    let mut per_node = std::collections::BTreeMap::<String, usize>::new();
    for p in &placed.items {
        if let Some(n) = p.spec.as_ref().and_then(|s| s.node_name.clone()) {
            *per_node.entry(n).or_default() += 1;
        }
    }
    println!(
        "  pods per node             min {} max {}",
        per_node.values().min().unwrap_or(&0),
        per_node.values().max().unwrap_or(&0)
    );

    for (component, needle) in [
        ("controller-manager", "component controller-manager"),
        ("scheduler", "component scheduler"),
    ] {
        match cpu_while_idle(needle, Duration::from_secs(args.idle_seconds)).await {
            Some(pct) => println!(
                "  idle CPU {component:<18} {pct:>6.2} % of one core over {} s",
                args.idle_seconds
            ),
            None => {
                println!("  idle CPU {component:<18} (no local `kwb {needle}` process to measure)")
            }
        }
    }

    // Phase 2: the scheduler alone. Phase 1's binding rate is bounded by how fast the
    // ReplicaSet creates pods; here every pod waits on nodes with a taint of the bench's own
    // first (not a cordon: the node lifecycle controller's unschedulable taint would lag
    // behind an uncordon), then the taint is removed and the whole backlog is bound.
    clean_up(&client, &nodes, &deployments, &pods).await;
    make_nodes(&nodes, &names, true).await?;
    let mut waiting = Progress::new(want);
    let rv = resource_version(&pods).await?;
    deployments
        .create(
            &PostParams::default(),
            &deployment(&waiting.run, args.replicas)?,
        )
        .await?;
    follow(&pods, rv, &mut waiting, Instant::now(), |p| {
        p.unschedulable.len() == p.want
    })
    .await?;
    let mut backlog = Progress::new(want);
    backlog.run = waiting.run.clone();
    let list = pods.list(&ListParams::default()).await?;
    let rv = list.metadata.resource_version.unwrap_or_default();
    let start = Instant::now();
    let release = Patch::Merge(json!({"spec": {"taints": null}}));
    let pp = PatchParams::default();
    futures::future::try_join_all(names.iter().map(|n| nodes.patch(n, &pp, &release))).await?;
    follow(&pods, rv, &mut backlog, start, |p| p.all_bound.is_some()).await?;
    let drained = backlog.all_bound.unwrap_or_default();
    println!("backlog of {want} pending pods, released at once (the scheduler alone)");
    println!(
        "  all pods bound            {:>8.2} s",
        drained.as_secs_f64()
    );
    println!(
        "  pods bound per second     {:>8.0}",
        want as f64 / drained.as_secs_f64().max(0.001)
    );

    clean_up(&client, &nodes, &deployments, &pods).await;
    Ok(())
}

/// Removes what a run leaves (or an interrupted one left): the fake nodes, the deployments
/// and their pods. Pods bound to a fake node have no kubelet to confirm their deletion, so
/// they are deleted at once (grace period 0), as `kubectl delete --force` would.
async fn clean_up(
    client: &kube::Client,
    nodes: &Api<Node>,
    deployments: &Api<Deployment>,
    pods: &Api<Pod>,
) {
    let replica_sets: Api<ReplicaSet> = Api::namespaced(client.clone(), NAMESPACE);
    let all = ListParams::default();
    // Owners first, their dependents orphaned, so nothing recreates the pods deleted next.
    let _ = deployments
        .delete_collection(&DeleteParams::orphan(), &all)
        .await;
    let _ = replica_sets
        .delete_collection(&DeleteParams::orphan(), &all)
        .await;
    let _ = pods
        .delete_collection(&DeleteParams::default().grace_period(0), &all)
        .await;
    let _ = nodes
        .delete_collection(
            &DeleteParams::default(),
            &all.clone().labels("kwb-bench=true"),
        )
        .await;
}

/// Where a watch of the pods starts so that it misses nothing created from now on.
async fn resource_version(pods: &Api<Pod>) -> anyhow::Result<String> {
    let list = pods.list(&ListParams::default().limit(1)).await?;
    Ok(list.metadata.resource_version.unwrap_or_default())
}

/// Ready fake nodes; `held`: with a NoSchedule taint no pod tolerates.
async fn make_nodes(nodes: &Api<Node>, names: &[String], held: bool) -> anyhow::Result<()> {
    let taints = match held {
        true => json!([{"key": "kwb-bench/hold", "effect": "NoSchedule"}]),
        false => json!(null),
    };
    for name in names {
        let node: Node = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kwb-bench": "true"}},
            "spec": {"taints": taints},
        }))?;
        match nodes.create(&PostParams::default(), &node).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => return Err(e.into()),
        }
        let status = json!({"status": {
            "capacity": {"cpu": "64", "memory": "256Gi", "pods": "250"},
            "allocatable": {"cpu": "64", "memory": "256Gi", "pods": "250"},
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
        }});
        nodes
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
            .await?;
    }
    Ok(())
}

/// The run's deployment: `replicas` small pods labelled `run=<name>`.
fn deployment(name: &str, replicas: i32) -> anyhow::Result<Deployment> {
    Ok(serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"run": name}},
                 "template": {"metadata": {"labels": {"run": name}},
                              "spec": {"containers": [{"name": "c", "image": "nginx:1.27",
                                       "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}},
    }))?)
}

/// Notes the run's pods from a watch starting at `rv` until `done`; a watch the server ends
/// (a slow reader falls behind) is taken up again from a fresh list.
async fn follow(
    pods: &Api<Pod>,
    mut rv: String,
    progress: &mut Progress,
    start: Instant,
    done: impl Fn(&Progress) -> bool,
) -> anyhow::Result<()> {
    let mut quiet = Instant::now();
    loop {
        let mut stream = pods
            .watch(&WatchParams::default().timeout(290), &rv)
            .await?
            .boxed();
        while let Ok(Ok(Some(event))) =
            tokio::time::timeout(Duration::from_secs(5), stream.try_next()).await
        {
            if let WatchEvent::Added(p) | WatchEvent::Modified(p) = event {
                progress.note(&p, start.elapsed());
                quiet = Instant::now();
            }
            if done(progress) {
                return Ok(());
            }
        }
        if quiet.elapsed() > Duration::from_secs(120) {
            anyhow::bail!(
                "no progress for 120 s: are the controller-manager and scheduler running?"
            );
        }
        let list = pods.list(&ListParams::default()).await?;
        for p in &list.items {
            progress.note(p, start.elapsed());
        }
        rv = list.metadata.resource_version.unwrap_or_default();
        if done(progress) {
            return Ok(());
        }
    }
}

/// What the watch has shown of the run's pods, and when.
#[derive(Default)]
struct Progress {
    run: String,
    want: usize,
    created: std::collections::HashSet<String>,
    bound: std::collections::HashSet<String>,
    /// Pods the scheduler has marked PodScheduled=False.
    unschedulable: std::collections::HashSet<String>,
    all_created: Option<Duration>,
    first_bound: Option<Duration>,
    all_bound: Option<Duration>,
}

impl Progress {
    /// For a new run with a name of its own (the last run's deployment may still be going).
    fn new(want: usize) -> Progress {
        Progress {
            run: format!("bench-{}", crate::apiserver::strategy::random_suffix()),
            want,
            ..Default::default()
        }
    }

    fn note(&mut self, p: &Pod, at: Duration) {
        if p.metadata.labels.as_ref().and_then(|l| l.get("run")) != Some(&self.run) {
            return;
        }
        let pod = p.metadata.name.clone().unwrap_or_default();
        self.created.insert(pod.clone());
        let unschedulable = p
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .any(|c| c.type_ == "PodScheduled" && c.status == "False");
        if unschedulable {
            self.unschedulable.insert(pod.clone());
        }
        if self.created.len() == self.want && self.all_created.is_none() {
            self.all_created = Some(at);
        }
        if p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_some() {
            self.first_bound.get_or_insert(at);
            self.bound.insert(pod);
            if self.bound.len() == self.want && self.all_bound.is_none() {
                self.all_bound = Some(at);
            }
        }
    }
}

/// CPU used by the local process whose command line contains `needle`, in percent of one
/// core over `window` (from /proc: user + system ticks).
async fn cpu_while_idle(needle: &str, window: Duration) -> Option<f64> {
    let pid = find_process(needle)?;
    let before = crate::procstat::cpu_seconds(u64::from(pid));
    tokio::time::sleep(window).await;
    let after = crate::procstat::cpu_seconds(u64::from(pid));
    Some((after - before).max(0.0) / window.as_secs_f64() * 100.0)
}

fn find_process(needle: &str) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        cmd.contains(needle).then_some(pid)
    })
}
