//! kwb's builtin controller-manager (`kwb component controller-manager`): a Kubernetes API
//! client that runs upstream's controllers' logic against any apiserver, leader-elected
//! through the `kube-system/kube-controller-manager` Lease.
//!
//! Each controller's decisions are pure functions of what it reads ([`deployment`],
//! [`replicaset`] and their helpers [`owner`], [`pods`], [`ranking`], [`hash`]); [`run`]
//! wraps them in watched stores and writes. [`expectations`] keeps a controller from acting
//! on a store that has not yet seen its own writes.

pub mod clock;
pub mod cronjob;
pub mod daemonset;
pub mod deployment;
pub mod endpoints;
pub mod event;
pub mod expectations;
pub mod gc;
pub mod hash;
pub mod job;
pub mod namespace;
pub mod nodelifecycle;
pub mod owner;
pub mod podgc;
pub mod pods;
pub mod ranking;
pub mod replicaset;
pub mod revision;
pub mod run;
pub mod statefulset;

#[cfg(test)]
mod fixtures;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use k8s_openapi::api::apps::v1::{
    ControllerRevision, DaemonSet, Deployment, ReplicaSet, StatefulSet,
};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{
    ConfigMap, Endpoints, Namespace, Node, Pod, Service, ServiceAccount,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Api;
use tokio::sync::Notify;

use crate::agent::{self, store::watched, store::watched_with};

/// kube-controller-manager's flags, those the builtin uses (the supervisor passes the same
/// to either backend).
#[derive(clap::Parser, Debug, Clone)]
#[command(
    name = "kwb component controller-manager",
    about = "kwb's builtin Kubernetes controller-manager"
)]
pub struct Config {
    #[arg(long)]
    pub kubeconfig: PathBuf,
    #[arg(long, default_value_t = 10257)]
    pub secure_port: u16,
    #[arg(long, default_value = "127.0.0.1")]
    pub bind_address: String,
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_elect: bool,
    #[arg(long)]
    pub cluster_cidr: Option<String>,
    #[arg(long)]
    pub service_cluster_ip_range: Option<String>,
    #[arg(long)]
    pub root_ca_file: Option<PathBuf>,
    #[arg(long)]
    pub service_account_private_key_file: Option<PathBuf>,
    #[arg(long, default_value = "kubernetes")]
    pub cluster_name: String,
    /// Each controller writes as its own service account in kube-system; watches stay on
    /// the controller-manager's own identity (upstream's shared informers do the same).
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set)]
    pub use_service_account_credentials: bool,
    /// How long a node may go without renewing its Lease before it is marked Unknown.
    #[arg(long, default_value = "50s", value_parser = seconds)]
    pub node_monitor_grace_period: i64,
    /// The same for a node that never posted Ready since it registered.
    #[arg(long, default_value = "60s", value_parser = seconds)]
    pub node_startup_grace_period: i64,
    /// Finished pods kept before the oldest are deleted (0 keeps all).
    #[arg(long, default_value_t = 12500)]
    pub terminated_pod_gc_threshold: usize,
}

/// A Go-style duration of whole seconds or minutes (`40s`, `5m`, `1m30s`), as upstream's
/// flags take it.
fn seconds(text: &str) -> Result<i64, String> {
    let bad = || format!("invalid duration {text:?}: use seconds or minutes, like 40s or 5m");
    let mut total = 0i64;
    let mut number = String::new();
    for c in text.chars() {
        match c {
            '0'..='9' => number.push(c),
            'h' | 'm' | 's' => {
                let n: i64 = number.parse().map_err(|_| bad())?;
                total += n * match c {
                    'h' => 3600,
                    'm' => 60,
                    _ => 1,
                };
                number.clear();
            }
            _ => return Err(bad()),
        }
    }
    if !number.is_empty() || text.is_empty() {
        return Err(bad());
    }
    Ok(total)
}

/// How often every controller looks at everything even when nothing changed.
const RESYNC: Duration = Duration::from_secs(60);

/// `kwb component controller-manager [kube-controller-manager flags]`.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let client = agent::client(&config.kubeconfig).await?;
    let serving = agent::healthz::serve(
        &config.bind_address,
        config.secure_port,
        "kube-controller-manager",
        agent::healthz::Health::healthy(),
    );
    let elector = agent::leader::Elector::new(
        client.clone(),
        "kube-controller-manager",
        &agent::identity(),
    );
    let work = async {
        if config.leader_elect {
            elector.acquire().await;
        }
        let writers = Writers {
            base: client.clone(),
            credentials: match config.use_service_account_credentials {
                true => Some(agent::credentials::Credentials::new(
                    client.clone(),
                    &config.kubeconfig,
                )?),
                false => None,
            },
        };
        let root_ca = match &config.root_ca_file {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .with_context(|| format!("reading --root-ca-file {}", path.display()))?,
            ),
            None => None,
        };
        let grace = nodelifecycle::Grace {
            monitor: config.node_monitor_grace_period,
            startup: config.node_startup_grace_period,
        };
        let controllers = start(
            client.clone(),
            writers,
            root_ca,
            grace,
            config.terminated_pod_gc_threshold,
        );
        if config.leader_elect {
            tokio::select! {
                _ = controllers => {}
                _ = elector.keep() => anyhow::bail!("leaderelection lost"),
            }
        } else {
            controllers.await;
        }
        Ok(())
    };
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let result = tokio::select! {
        r = serving => r,
        r = work => r,
        _ = tokio::signal::ctrl_c() => Ok(()),
        _ = term.recv() => Ok(()),
    };
    if config.leader_elect {
        elector.release().await;
    }
    result
}

/// Where each controller's writes come from: its service account, or the component's own
/// identity.
struct Writers {
    base: kube::Client,
    credentials: Option<agent::credentials::Credentials>,
}

impl Writers {
    /// The client `controller` writes with, retried until it can be made (the apiserver may
    /// not be ready to issue tokens yet).
    async fn client(&self, controller: &str) -> kube::Client {
        let Some(credentials) = &self.credentials else {
            return self.base.clone();
        };
        loop {
            match credentials.client_for(controller).await {
                Ok(c) => return c,
                Err(e) => {
                    tracing::warn!("{controller}: no credentials yet, retrying: {e:#}");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            }
        }
    }
}

/// Starts the watches and runs every controller until the process ends.
async fn start(
    client: kube::Client,
    writers: Writers,
    root_ca: Option<String>,
    grace: nodelifecycle::Grace,
    terminated_pod_gc_threshold: usize,
) {
    let deploy_client = writers.client("deployment-controller").await;
    let rs_client = writers.client("replicaset-controller").await;
    let gc_client = writers.client("generic-garbage-collector").await;
    let sa_client = writers.client("service-account-controller").await;
    let ns_client = writers.client("namespace-controller").await;
    let endpoints_client = writers.client("endpoint-controller").await;
    let slices_client = writers.client("endpointslice-controller").await;
    let node_client = writers.client("node-controller").await;
    let job_client = writers.client("job-controller").await;
    let ds_client = writers.client("daemon-set-controller").await;
    let sts_client = writers.client("statefulset-controller").await;
    let podgc_client = writers.client("pod-garbage-collector").await;
    let cronjob_client = writers.client("cronjob-controller").await;
    let publisher = match root_ca {
        Some(ca) => Some((writers.client("root-ca-cert-publisher").await, ca)),
        None => None,
    };
    let events = Arc::new(agent::events::Recorder::new(
        deploy_client.clone(),
        "deployment-controller",
    ));
    let rs_events = Arc::new(agent::events::Recorder::new(
        rs_client.clone(),
        "replicaset-controller",
    ));
    let wake_deploy = Arc::new(Notify::new());
    let wake_rs = Arc::new(Notify::new());
    let wake_gc = Arc::new(Notify::new());
    let wake_ns = Arc::new(Notify::new());
    let wake_ns_deletion = Arc::new(Notify::new());
    let wake_endpoints = Arc::new(Notify::new());
    let wake_nodes = Arc::new(Notify::new());
    let wake_jobs = Arc::new(Notify::new());
    let wake_ds = Arc::new(Notify::new());
    let wake_sts = Arc::new(Notify::new());
    let wake_podgc = Arc::new(Notify::new());
    let wake_cronjobs = Arc::new(Notify::new());
    let cronjobs = watched(
        Api::<CronJob>::all(client.clone()),
        vec![wake_cronjobs.clone(), wake_gc.clone()],
    );
    let daemonsets = watched(
        Api::<DaemonSet>::all(client.clone()),
        vec![wake_ds.clone(), wake_gc.clone()],
    );
    let statefulsets = watched(
        Api::<StatefulSet>::all(client.clone()),
        vec![wake_sts.clone(), wake_gc.clone()],
    );
    let revisions = watched(
        Api::<ControllerRevision>::all(client.clone()),
        vec![wake_ds.clone(), wake_sts.clone(), wake_gc.clone()],
    );
    let jobs = watched(
        Api::<Job>::all(client.clone()),
        vec![wake_jobs.clone(), wake_gc.clone(), wake_cronjobs.clone()],
    );
    let namespaces = watched(
        Api::<Namespace>::all(client.clone()),
        vec![wake_ns.clone(), wake_ns_deletion.clone()],
    );
    let services = watched(
        Api::<Service>::all(client.clone()),
        vec![wake_endpoints.clone()],
    );
    let nodes = watched(
        Api::<Node>::all(client.clone()),
        vec![
            wake_endpoints.clone(),
            wake_nodes.clone(),
            wake_ds.clone(),
            wake_podgc.clone(),
        ],
    );
    let leases = watched(
        Api::<Lease>::namespaced(client.clone(), "kube-node-lease"),
        vec![wake_nodes.clone()],
    );
    let endpoints = watched(
        Api::<Endpoints>::all(client.clone()),
        vec![wake_endpoints.clone()],
    );
    let slices = watched(
        Api::<EndpointSlice>::all(client.clone()),
        vec![wake_endpoints.clone()],
    );
    let accounts = watched(
        Api::<ServiceAccount>::all(client.clone()),
        vec![wake_ns.clone()],
    );
    let root_cas = watched_with(
        Api::<ConfigMap>::all(client.clone()),
        kube::runtime::watcher::Config::default()
            .fields(&format!("metadata.name={}", run::namespaced::ROOT_CA)),
        vec![wake_ns.clone()],
    );
    let deployments = watched(
        Api::<Deployment>::all(client.clone()),
        vec![wake_deploy.clone(), wake_gc.clone()],
    );
    let rss = watched(
        Api::<ReplicaSet>::all(client.clone()),
        vec![wake_deploy.clone(), wake_rs.clone(), wake_gc.clone()],
    );
    let pods = watched(
        Api::<Pod>::all(client.clone()),
        vec![
            wake_rs.clone(),
            wake_gc.clone(),
            wake_endpoints.clone(),
            wake_nodes.clone(),
            wake_jobs.clone(),
            wake_ds.clone(),
            wake_sts.clone(),
            wake_podgc.clone(),
        ],
    );
    let _ = deployments.wait_until_ready().await;
    let _ = services.wait_until_ready().await;
    let _ = nodes.wait_until_ready().await;
    let _ = leases.wait_until_ready().await;
    let _ = jobs.wait_until_ready().await;
    let _ = endpoints.wait_until_ready().await;
    let _ = slices.wait_until_ready().await;
    let _ = rss.wait_until_ready().await;
    let _ = pods.wait_until_ready().await;
    let _ = namespaces.wait_until_ready().await;
    let _ = accounts.wait_until_ready().await;
    let _ = root_cas.wait_until_ready().await;
    let _ = daemonsets.wait_until_ready().await;
    let _ = statefulsets.wait_until_ready().await;
    let _ = revisions.wait_until_ready().await;
    let _ = cronjobs.wait_until_ready().await;
    tracing::info!("caches synced; starting controllers");

    let node_lifecycle = run::nodelifecycle::Controller::new(
        node_client,
        nodes.clone(),
        leases,
        pods.clone(),
        grace,
    );
    let endpoints = run::endpoints::Controller::new(
        endpoints_client,
        slices_client,
        services,
        pods.clone(),
        nodes.clone(),
        endpoints,
        slices,
    );
    let ns_deletion = run::namespace::Controller::new(ns_client, namespaces.clone());
    let per_namespace =
        run::namespaced::Controller::new(sa_client, publisher, namespaces, accounts, root_cas);
    let job = run::job::Controller::new(job_client, jobs.clone(), pods.clone());
    let cronjob = run::cronjob::Controller::new(cronjob_client, cronjobs.clone(), jobs.clone());
    let daemonset = run::daemonset::Controller::new(
        ds_client,
        daemonsets.clone(),
        nodes.clone(),
        pods.clone(),
        revisions.clone(),
    );
    let statefulset = run::statefulset::Controller::new(
        sts_client,
        statefulsets.clone(),
        pods.clone(),
        revisions.clone(),
    );
    let podgc = run::podgc::Controller::new(
        podgc_client,
        pods.clone(),
        nodes.clone(),
        terminated_pod_gc_threshold,
    );
    let gc = run::gc::Controller::new(
        gc_client,
        vec![
            run::gc::watched(deployments.clone()),
            run::gc::watched(rss.clone()),
            run::gc::watched(pods.clone()),
            run::gc::watched(jobs.clone()),
            run::gc::watched(cronjobs.clone()),
            run::gc::watched(daemonsets),
            run::gc::watched(statefulsets),
            run::gc::watched(revisions),
        ],
    );
    let deploy = run::deployment::Controller::new(deploy_client, deployments, rss.clone(), events);
    let rs = run::replicaset::Controller::new(rs_client, rss, pods, rs_events);
    tokio::join!(
        run::level_loop(wake_deploy, RESYNC, deploy),
        run::level_loop(wake_rs, RESYNC, rs),
        run::level_loop(wake_gc, RESYNC, gc),
        run::level_loop(wake_ns, RESYNC, per_namespace),
        run::level_loop(wake_ns_deletion, RESYNC, ns_deletion),
        run::level_loop(wake_endpoints, RESYNC, endpoints),
        run::level_loop(wake_nodes, RESYNC, node_lifecycle),
        run::level_loop(wake_jobs, RESYNC, job),
        run::level_loop(wake_ds, RESYNC, daemonset),
        run::level_loop(wake_sts, RESYNC, statefulset),
        run::level_loop(wake_podgc, RESYNC, podgc),
        run::level_loop(wake_cronjobs, RESYNC, cronjob),
    );
}

#[cfg(test)]
mod tests {
    use super::seconds;

    #[test]
    fn durations_read_as_upstreams_flags() {
        assert_eq!(seconds("40s"), Ok(40));
        assert_eq!(seconds("5m"), Ok(300));
        assert_eq!(seconds("1m30s"), Ok(90));
        assert_eq!(seconds("1h"), Ok(3600));
        for bad in ["", "40", "4x", "s", "-3s"] {
            assert!(seconds(bad).is_err(), "{bad:?}");
        }
    }
}
