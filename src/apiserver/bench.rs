//! `kwb bench apiserver`: the figures issue 4 asks of an apiserver, measured through kube-rs
//! against any cluster (the builtin one by default): create, get and list latency, creates per
//! second with 1 and 16 clients, a list of 10k pods (plain and as kubectl's Table), and how
//! long one change takes to reach 100 watchers.
//!
//! It works in namespaces of its own (`kwb-bench` for creates and watches, `kwb-bench-list`
//! for the big list), and deletes the pods it created at the end.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The cluster to measure; default: the kwb cluster's admin kubeconfig.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Seconds each throughput run lasts.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Pods in the big list.
    #[arg(long, default_value_t = 10_000)]
    pub pods: usize,
    /// Watchers one change must reach.
    #[arg(long, default_value_t = 100)]
    pub watchers: usize,
    /// The apiserver's pid, to report its RSS at the end.
    #[arg(long)]
    pub pid: Option<u32>,
}

use crate::etcd::bench::{ms, percentile};

const NAMESPACE: &str = "kwb-bench";
const LIST_NAMESPACE: &str = "kwb-bench-list";

fn summary(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{name:<28} p50 {:>7.2} ms   p99 {:>7.2} ms   max {:>7.2} ms   (n={})",
        ms(percentile(&samples, 0.5)),
        ms(percentile(&samples, 0.99)),
        ms(samples.last().copied().unwrap_or_default()),
        samples.len()
    );
}

/// A small pod, as `kubectl run` would send it.
fn pod(name: &str) -> Pod {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": name, "labels": {"app": "bench", "run": name}},
        "spec": {"containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10", "ports": [{"containerPort": 8080}]}]},
    }))
    .expect("a valid pod")
}

async fn client(args: &Args, default_kubeconfig: PathBuf) -> anyhow::Result<kube::Client> {
    let path = args.kubeconfig.clone().unwrap_or(default_kubeconfig);
    let kubeconfig = kube::config::Kubeconfig::read_from(&path).with_context(|| {
        format!(
            "reading {}: start the cluster first (kwb up --detach)",
            path.display()
        )
    })?;
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await?;
    config.read_timeout = Some(Duration::from_secs(120));
    Ok(kube::Client::try_from(config)?)
}

/// Creates pods named `<prefix>-<n>` from `clients` tasks for `secs` seconds (or until
/// `count` exist); returns creates per second and each create's latency.
async fn create_pods(
    pods: &Api<Pod>,
    prefix: &str,
    clients: usize,
    secs: Option<u64>,
    count: usize,
) -> anyhow::Result<(f64, Vec<Duration>)> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let deadline = secs.map(|s| Instant::now() + Duration::from_secs(s));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (pods, next, prefix) = (pods.clone(), next.clone(), prefix.to_string());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= count || deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let t = Instant::now();
                pods.create(&PostParams::default(), &pod(&format!("{prefix}-{n}")))
                    .await?;
                lat.push(t.elapsed());
            }
            anyhow::Ok(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    Ok((all.len() as f64 / t0.elapsed().as_secs_f64(), all))
}

pub async fn run(args: Args, default_kubeconfig: PathBuf) -> anyhow::Result<()> {
    let client = client(&args, default_kubeconfig).await?;
    let version = client.apiserver_version().await?;
    println!(
        "kwb bench apiserver: {} ({})",
        client.default_namespace(),
        version.git_version
    );
    let namespaces: Api<Namespace> = Api::all(client.clone());
    for name in [NAMESPACE, LIST_NAMESPACE] {
        if namespaces.get_opt(name).await?.is_none() {
            let ns: Namespace =
                serde_json::from_value(serde_json::json!({"metadata": {"name": name}}))?;
            namespaces.create(&PostParams::default(), &ns).await?;
        }
    }
    let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
    if !pods
        .list(&ListParams::default().limit(1))
        .await?
        .items
        .is_empty()
    {
        anyhow::bail!(
            "namespace {NAMESPACE} is not empty: delete its pods (a previous run was interrupted) and run again"
        );
    }
    let list_pods: Api<Pod> = Api::namespaced(client.clone(), LIST_NAMESPACE);

    // Creates: latency with one client, then throughput with 1 and 16.
    let (per_sec_1, lat) = create_pods(&pods, "one", 1, Some(args.seconds), usize::MAX).await?;
    summary("create (1 client)", lat);
    let (per_sec_16, lat16) =
        create_pods(&pods, "many", 16, Some(args.seconds), usize::MAX).await?;
    summary("create (16 clients)", lat16);
    println!(
        "creates/s                    1 client {per_sec_1:>8.0}   16 clients {per_sec_16:>8.0}"
    );

    // Gets of one pod.
    let mut lat = Vec::new();
    for _ in 0..500 {
        let t = Instant::now();
        pods.get("one-0").await?;
        lat.push(t.elapsed());
    }
    summary("get", lat);

    // `pods` pods, listed whole: plain JSON, and the Table kubectl asks for.
    let have = list_pods.list(&ListParams::default()).await?.items.len();
    if have < args.pods {
        create_pods(&list_pods, "fill", 16, None, args.pods - have).await?;
    }
    let path = format!("/api/v1/namespaces/{LIST_NAMESPACE}/pods");
    for (name, accept) in [
        ("list pods (JSON)", "application/json"),
        (
            "list pods (Table)",
            "application/json;as=Table;v=v1;g=meta.k8s.io",
        ),
    ] {
        let mut lat = Vec::new();
        let mut bytes = 0;
        for _ in 0..5 {
            let req = axum::http::Request::get(&path)
                .header("accept", accept)
                .body(Vec::new())?;
            let t = Instant::now();
            let body = client.request_text(req).await?;
            lat.push(t.elapsed());
            bytes = body.len();
        }
        summary(name, lat);
        println!(
            "{:<28} {} pods, {:.1} MiB",
            "",
            args.pods.max(have),
            bytes as f64 / 1048576.0
        );
    }

    // One change reaching many watchers.
    watch_fanout(&client, args.watchers).await?;

    if let Some(pid) = args.pid {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        if let Some(rss) = status.lines().find_map(|l| l.strip_prefix("VmRSS:")) {
            println!("apiserver RSS {}", rss.trim());
        }
    }

    delete_all(&pods).await?;
    delete_all(&list_pods).await?;
    Ok(())
}

/// Deletes every pod of the namespace, 16 at a time.
async fn delete_all(pods: &Api<Pod>) -> anyhow::Result<()> {
    let names: Vec<String> = pods
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter_map(|p| p.metadata.name)
        .collect();
    futures::stream::iter(names)
        .map(|n| {
            let pods = pods.clone();
            async move {
                pods.delete(&n, &DeleteParams::default().grace_period(0))
                    .await
                    .map(|_| ())
            }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

/// `watchers` watches of one configmap; the configmap changes 20 times, and each time the
/// moment every watcher has the event is measured from just before the write.
async fn watch_fanout(client: &kube::Client, watchers: usize) -> anyhow::Result<()> {
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), NAMESPACE);
    let name = "fanout";
    let _ = cms.delete(name, &DeleteParams::default()).await;
    let cm: ConfigMap = serde_json::from_value(
        serde_json::json!({"metadata": {"name": name}, "data": {"round": "0"}}),
    )?;
    let created = cms.create(&PostParams::default(), &cm).await?;
    let rv = created.metadata.resource_version.unwrap_or_default();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, String, Instant)>();
    let mut tasks = Vec::new();
    for w in 0..watchers {
        let (cms, tx, rv) = (cms.clone(), tx.clone(), rv.clone());
        let params = WatchParams::default()
            .fields(&format!("metadata.name={name}"))
            .timeout(290);
        tasks.push(tokio::spawn(async move {
            let mut stream = std::pin::pin!(cms.watch(&params, &rv).await?);
            while let Some(e) = stream.try_next().await? {
                if let WatchEvent::Modified(cm) = e {
                    let round = cm
                        .data
                        .and_then(|d| d.get("round").cloned())
                        .unwrap_or_default();
                    if tx.send((w, round, Instant::now())).is_err() {
                        break;
                    }
                }
            }
            anyhow::Ok(())
        }));
    }
    // Let every watch be established before measuring.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (mut last, mut all) = (Vec::new(), Vec::new());
    for round in 1..=20 {
        let patch = serde_json::json!({"data": {"round": round.to_string()}});
        let t0 = Instant::now();
        cms.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        let mut got = 0;
        let mut slowest = Duration::ZERO;
        while got < watchers {
            let (_, r, at) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await
                .context("a watcher did not get the change within 10 s")?
                .context("the watchers ended")?;
            if r == round.to_string() {
                got += 1;
                let d = at.duration_since(t0);
                slowest = slowest.max(d);
                all.push(d);
            }
        }
        last.push(slowest);
    }
    summary(&format!("watch, any of {watchers}"), all);
    summary(&format!("watch, all {watchers} reached"), last);
    for t in tasks {
        t.abort();
    }
    cms.delete(name, &DeleteParams::default()).await?;
    Ok(())
}
