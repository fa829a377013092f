//! `kwb bench cluster`: issue 7's figures for the whole builtin control plane, measured on a
//! fresh cluster of its own (a temporary data dir, free ports, loopback only):
//! - cold start: `kwb up --detach` until the node is Ready and the default ServiceAccount
//!   exists;
//! - memory: RSS of the six component processes together, idle (one kubelet per node);
//! - pods: a Deployment of `--replicas` pods until every pod is Running and ready, through
//!   the real kubelets (one node takes 110 pods, so the default is 100 on one node;
//!   `--nodes 10 --replicas 1000` is the large figure).
//!
//! The cluster is stopped and its data dir removed at the end, also when a step fails.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod, ServiceAccount};
use kube::api::{Api, ListParams, PostParams};
use serde_json::json;

use crate::procstat::{cpu_seconds, memory_kb};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Pods of the deployment run to Running (one node holds at most 110).
    #[arg(long, default_value_t = 100)]
    pub replicas: i32,
    /// Nodes of the cluster, one kubelet process each.
    #[arg(long, default_value_t = 1)]
    pub nodes: u32,
    /// Seconds to settle before the memory is read.
    #[arg(long, default_value_t = 5)]
    pub idle_seconds: u64,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("kwb-bench-cluster-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot make {} for the bench cluster", dir.display()))?;
    let config = dir.join("kwb.yaml");
    std::fs::write(
        &config,
        format!(
            "name: kwb-bench\ndataDir: {}\nnodes: {}\n",
            dir.join("data").display(),
            args.nodes
        ),
    )?;
    let result = measure(&args, &config).await;
    if let Err(e) = kwb(&config, &["down"]) {
        eprintln!("stopping the bench cluster: {e}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Runs `kwb --config CONFIG ARGS…` to completion.
pub(crate) fn kwb(config: &Path, args: &[&str]) -> anyhow::Result<String> {
    let exe = std::env::current_exe()?;
    let out = Command::new(exe)
        .arg("--config")
        .arg(config)
        .args(args)
        .output()?;
    if !out.status.success() {
        anyhow::bail!(
            "kwb {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

async fn measure(args: &Args, config: &Path) -> anyhow::Result<()> {
    let t0 = Instant::now();
    kwb(config, &["up", "--detach"])?;
    let up = t0.elapsed();
    let data = PathBuf::from(config.parent().unwrap_or(Path::new("."))).join("data");
    let client = crate::agent::client(&data.join("kubeconfig/admin.kubeconfig")).await?;
    let nodes: Api<Node> = Api::all(client.clone());
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
    loop {
        let ready = nodes
            .list(&ListParams::default())
            .await?
            .items
            .iter()
            .filter(|n| {
                n.status
                    .iter()
                    .flat_map(|s| s.conditions.iter().flatten())
                    .any(|c| c.type_ == "Ready" && c.status == "True")
            })
            .count()
            >= args.nodes as usize;
        if ready && accounts.get_opt("default").await?.is_some() {
            break;
        }
        if t0.elapsed() > Duration::from_secs(120) {
            anyhow::bail!(
                "not {} Ready node(s) and the default ServiceAccount after 120 s",
                args.nodes
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let cold = t0.elapsed();
    println!(
        "cold start: all components ready {:.2} s, {} Ready node(s) and default ServiceAccount {:.2} s",
        up.as_secs_f64(),
        args.nodes,
        cold.as_secs_f64()
    );

    tokio::time::sleep(Duration::from_secs(args.idle_seconds)).await;
    let status: serde_json::Value = serde_json::from_str(&kwb(config, &["status", "-o", "json"])?)?;
    // RSS counts the pages of the one kwb binary the six share in each of them; PSS divides
    // shared pages among their users, so its sum is what the six take together.
    let (mut rss, mut pss) = (0, 0);
    let mut parts = Vec::new();
    for c in status.as_array().into_iter().flatten() {
        let name = c["component"].as_str().unwrap_or("?");
        let pid = c["pid"].as_u64().unwrap_or(0);
        let field = |file: &str, key: &str| memory_kb(pid, file, key).unwrap_or(0);
        let (r, p) = (field("status", "VmRSS:"), field("smaps_rollup", "Pss:"));
        rss += r;
        pss += p;
        parts.push(format!(
            "{name} {:.1}/{:.1}",
            r as f64 / 1024.0,
            p as f64 / 1024.0
        ));
    }
    println!(
        "memory (idle, {} node(s)): RSS {:.1} MB, PSS {:.1} MB together (RSS/PSS: {} MB)",
        args.nodes,
        rss as f64 / 1024.0,
        pss as f64 / 1024.0,
        parts.join(", ")
    );

    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let deploy: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "bench"},
        "spec": {"replicas": args.replicas, "selector": {"matchLabels": {"app": "bench"}},
            "template": {"metadata": {"labels": {"app": "bench"}},
                "spec": {"containers": [{"name": "web", "image": "nginx", "ports": [{"containerPort": 8080}]}]}}}
    }))?;
    // Watched, not polled: listing a thousand pods over and over would take the CPU the
    // cluster needs.
    let wake = std::sync::Arc::new(tokio::sync::Notify::new());
    let store = crate::agent::store::watched_with(
        pods,
        kube::runtime::watcher::Config::default().labels("app=bench"),
        vec![wake.clone()],
    );
    let pids: Vec<(String, u64)> = status
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let name = c["component"].as_str().unwrap_or("?").to_string();
            (name, c["pid"].as_u64().unwrap_or(0))
        })
        .collect();
    let cpu_before: Vec<f64> = pids.iter().map(|(_, p)| cpu_seconds(*p)).collect();
    let t1 = Instant::now();
    deployments.create(&PostParams::default(), &deploy).await?;
    let want = args.replicas.max(0) as usize;
    let mut first: Option<Duration> = None;
    loop {
        let running = store
            .state()
            .iter()
            .filter(|p| {
                p.status.as_ref().is_some_and(|s| {
                    s.phase.as_deref() == Some("Running")
                        && s.container_statuses.iter().flatten().all(|c| c.ready)
                })
            })
            .count();
        if running > 0 && first.is_none() {
            first = Some(t1.elapsed());
        }
        if running >= want {
            break;
        }
        if t1.elapsed() > Duration::from_secs(300) {
            anyhow::bail!("only {running} of {want} pods Running after 300 s");
        }
        let _ = tokio::time::timeout(Duration::from_millis(100), wake.notified()).await;
    }
    let all = t1.elapsed();
    println!(
        "pods: {want} replicas Running and ready in {:.2} s (first after {:.2} s), {:.0} pods/s",
        all.as_secs_f64(),
        first.unwrap_or_default().as_secs_f64(),
        want as f64 / all.as_secs_f64()
    );
    // Where the time went: CPU seconds each kind of component used meanwhile (the kubelets
    // summed), to see what bounds the rate on this machine.
    let mut by_component: Vec<(String, f64)> = Vec::new();
    for ((name, pid), before) in pids.iter().zip(cpu_before) {
        let used = cpu_seconds(*pid) - before;
        match by_component.iter_mut().find(|(n, _)| n == name) {
            Some((_, total)) => *total += used,
            None => by_component.push((name.clone(), used)),
        }
    }
    let parts: Vec<String> = by_component
        .iter()
        .map(|(n, s)| format!("{n} {s:.2}"))
        .collect();
    println!("CPU seconds meanwhile: {}", parts.join(", "));
    Ok(())
}
