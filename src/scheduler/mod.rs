//! kwb's builtin scheduler (`kwb component scheduler`): a Kubernetes API client that places
//! pods on nodes as kube-scheduler's default profile does, against any apiserver.
//! [`run`] is the loop (watched nodes and pods, binding, FailedScheduling); the placement
//! itself is pure: [`schedule`] over [`filters`] and [`scores`], explained by a [`FitError`].
//!
//! Pure functions over API objects; the caller watches pods, binds, and records events. Pods
//! that already have `spec.nodeName` are not the scheduler's business (see
//! [`needs_scheduling`]); passing one here schedules it as if it were unbound.
//!
//! Filters, in upstream's order: NodeUnschedulable, TaintToleration, NodeAffinity (with its
//! `metadata.name` pre-filter), NodePorts, NodeResourcesFit, PodTopologySpread, InterPodAffinity.
//! Scores: TaintToleration, NodeAffinity, NodeResourcesFit (LeastAllocated),
//! PodTopologySpread and BalancedAllocation, with upstream's default weights.
//!
//! Where kwb knowingly differs from upstream kube-scheduler 1.33:
//! - no preemption: the message's "preemption:" part is upstream's text for a cluster where
//!   no lower-priority pod could be evicted;
//! - ties between best nodes go to the first name instead of a random pick;
//! - default spreading groups pods by controller UID (or the pod's labels) instead of the
//!   Services and controllers selecting the pod;
//! - a node without `kubernetes.io/hostname` counts its name as that label's value;
//! - namespaceSelector in pod affinity sees only the `kubernetes.io/metadata.name` label;
//! - not modelled: volumes, DRA, pod-level resources, in-place resize status, nominated pods,
//!   InterPodAffinity preferred terms and ImageLocality scores.

pub mod bench;
pub mod filters;
pub mod fit_error;
pub mod node_affinity;
pub mod pod_affinity;
pub mod quantity;
pub mod resources;
mod run;
pub mod scores;
pub mod snapshot;
pub mod spread;
pub mod taints;

#[cfg(test)]
mod schedule_tests;
#[cfg(test)]
mod testutil;

use std::path::PathBuf;

pub use run::SCHEDULER_NAME;

use crate::agent;

/// kube-scheduler's flags, those the builtin uses.
#[derive(clap::Parser, Debug, Clone)]
#[command(
    name = "kwb component scheduler",
    about = "kwb's builtin Kubernetes scheduler"
)]
pub struct Config {
    #[arg(long)]
    pub kubeconfig: PathBuf,
    #[arg(long, default_value_t = 10259)]
    pub secure_port: u16,
    #[arg(long, default_value = "127.0.0.1")]
    pub bind_address: String,
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_elect: bool,
}

/// `kwb component scheduler [kube-scheduler flags]`.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let client = agent::client(&config.kubeconfig).await?;
    let health = agent::healthz::Health::healthy();
    let serving = agent::healthz::serve(
        &config.bind_address,
        config.secure_port,
        "kube-scheduler",
        health,
    );
    let elector = agent::leader::Elector::new(client.clone(), "kube-scheduler", &agent::identity());
    let work = async {
        if config.leader_elect {
            elector.acquire().await;
        }
        let scheduling = run::Scheduler::new(client.clone()).run();
        if config.leader_elect {
            tokio::select! {
                _ = scheduling => {}
                _ = elector.keep() => anyhow::bail!("leaderelection lost"),
            }
        } else {
            scheduling.await;
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

use k8s_openapi::api::core::v1::{Node, Pod};

pub use filters::Rejection;
pub use fit_error::FitError;
pub use scores::{NodeScore, format_scores};

use filters::Filtered;
use snapshot::Snapshot;

/// A chosen node and the scores that led to it, sorted by node name (empty when only one node
/// was feasible, since upstream does not score then).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub node: String,
    pub scores: Vec<NodeScore>,
}

/// Whether the pod waits for this scheduler: unbound, for `default-scheduler` (or unnamed), not
/// held by scheduling gates, not being deleted and not finished.
pub fn needs_scheduling(pod: &Pod) -> bool {
    let Some(spec) = pod.spec.as_ref() else {
        return false;
    };
    let unbound = spec.node_name.as_deref().is_none_or(str::is_empty);
    let ours = spec
        .scheduler_name
        .as_deref()
        .is_none_or(|n| n.is_empty() || n == SCHEDULER_NAME);
    let gated = spec
        .scheduling_gates
        .as_ref()
        .is_some_and(|g| !g.is_empty());
    unbound
        && ours
        && !gated
        && pod.metadata.deletion_timestamp.is_none()
        && !snapshot::is_terminal(pod)
}

/// The node for `pod`. `pods` are all pods of the cluster; those bound to a node (with
/// `spec.nodeName`) occupy it unless Succeeded or Failed, terminating ones included.
pub fn schedule(pod: &Pod, nodes: &[Node], pods: &[Pod]) -> Result<String, FitError> {
    decide(pod, nodes, pods).map(|d| d.node)
}

/// Like [`schedule`], also returning the scores, for a log line such as
/// `assigned default/web-7d9f-abcde to node-2 (scores node-1=143 node-2=187)`.
///
/// Among equal best totals upstream picks at random; this picks the first by node name so
/// that the same cluster always gives the same answer.
pub fn decide(pod: &Pod, nodes: &[Node], pods: &[Pod]) -> Result<Decision, FitError> {
    decide_in(pod, &Snapshot::new(pod, nodes, pods))
}

/// [`decide`] on a snapshot built once for many pods (see [`Snapshot::assume`]); `pod` must
/// not be counted in it.
pub fn decide_in(pod: &Pod, snapshot: &Snapshot<'_>) -> Result<Decision, FitError> {
    if snapshot.nodes.is_empty() {
        return Err(FitError::no_nodes());
    }
    let feasible = match filters::run(pod, snapshot) {
        Filtered::Feasible(f) => f,
        Filtered::None(diagnosis) => {
            return Err(FitError::new(pod, snapshot.nodes.len(), diagnosis));
        }
    };
    if let [only] = feasible.as_slice()
        && let Some(info) = snapshot.nodes.get(*only)
    {
        return Ok(Decision {
            node: info.name.to_string(),
            scores: Vec::new(),
        });
    }
    let mut scores = scores::score(pod, snapshot, &feasible);
    scores.sort_by(|a, b| a.node.cmp(&b.node));
    let best = scores
        .iter()
        .max_by(|a, b| a.total.cmp(&b.total).then_with(|| b.node.cmp(&a.node)))
        .map(|s| s.node.clone());
    match best {
        Some(node) => Ok(Decision { node, scores }),
        None => Err(FitError::no_nodes()),
    }
}

/// Scores of every node that passes the filters, sorted by node name; empty if none passes.
/// Unlike [`decide`], a single feasible node is scored too.
pub fn scores(pod: &Pod, nodes: &[Node], pods: &[Pod]) -> Vec<NodeScore> {
    let snapshot = Snapshot::new(pod, nodes, pods);
    let Filtered::Feasible(feasible) = filters::run(pod, &snapshot) else {
        return Vec::new();
    };
    let mut scores = scores::score(pod, &snapshot, &feasible);
    scores.sort_by(|a, b| a.node.cmp(&b.node));
    scores
}
