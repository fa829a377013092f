//! The scheduler's loop: pods waiting for a node are placed one at a time by [`super::schedule`]
//! over watched nodes and pods, then bound through `pods/binding`. A pod that fits nowhere
//! gets a FailedScheduling event and a PodScheduled=False condition with upstream's message,
//! and is tried again when the cluster changes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Binding, Node, ObjectReference, Pod};
use kube::api::{ObjectMeta, Patch, PatchParams};
use kube::runtime::reflector::Store;
use kube::{Api, Resource, ResourceExt};
use serde_json::json;
use tokio::sync::Notify;

use super::snapshot::Snapshot;
use crate::agent::events::Recorder;

/// The name pods ask for in spec.schedulerName (the default when they name none).
pub const SCHEDULER_NAME: &str = "default-scheduler";

/// Unschedulable pods are tried again at least this often even when nothing seems to change
/// (upstream flushes its unschedulable queue every 5 minutes; 30 s suits a workshop).
const RETRY_UNSCHEDULABLE: Duration = Duration::from_secs(30);

/// Bindings (and unschedulable reports) sent at once; more gain little against one apiserver.
const BINDS_IN_FLIGHT: usize = 32;

pub struct Scheduler {
    client: kube::Client,
    nodes: Store<Node>,
    pods: Store<Pod>,
    changed: Arc<Notify>,
    events: Recorder,
    /// Pods bound but not yet seen bound in the store, by uid: counted on their node.
    assumed: HashMap<String, Pod>,
    /// The last message each unschedulable pod got, by uid: not repeated while it holds.
    unschedulable: HashMap<String, String>,
}

impl Scheduler {
    pub fn new(client: kube::Client) -> Scheduler {
        let changed = Arc::new(Notify::new());
        Scheduler {
            nodes: crate::agent::store::watched(Api::all(client.clone()), vec![changed.clone()]),
            pods: crate::agent::store::watched(Api::all(client.clone()), vec![changed.clone()]),
            events: Recorder::new(client.clone(), SCHEDULER_NAME),
            client,
            changed,
            assumed: HashMap::new(),
            unschedulable: HashMap::new(),
        }
    }

    /// Schedules until the process ends.
    pub async fn run(mut self) {
        let _ = self.nodes.wait_until_ready().await;
        let _ = self.pods.wait_until_ready().await;
        tracing::info!("caches synced; scheduling");
        loop {
            self.pass().await;
            let _ = tokio::time::timeout(RETRY_UNSCHEDULABLE, self.changed.notified()).await;
            // Let a burst of changes (a new ReplicaSet's pods) land before the next pass.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Places every waiting pod, oldest first.
    async fn pass(&mut self) {
        let all: Vec<Arc<Pod>> = self.pods.state();
        // Forget assumptions the store has caught up with (or whose pods are gone).
        self.assumed.retain(|uid, _| {
            all.iter()
                .any(|p| p.uid().as_deref() == Some(uid) && bound_to(p).is_none())
        });
        let mut waiting: Vec<&Arc<Pod>> =
            all.iter().filter(|p| super::needs_scheduling(p)).collect();
        waiting.sort_by_key(|p| p.metadata.creation_timestamp.clone());
        if waiting.is_empty() {
            self.unschedulable.clear();
            return;
        }
        let nodes: Vec<Node> = self.nodes.state().iter().map(|n| (**n).clone()).collect();
        let placed: Vec<Pod> = all
            .iter()
            .filter(|p| bound_to(p).is_some())
            .map(|p| (**p).clone())
            .chain(self.assumed.values().cloned())
            .collect();
        // One snapshot for the pass: each choice is added to it before the next decision.
        let mut snapshot = Snapshot::new(waiting[0], &nodes, &placed);
        let mut binds = Vec::new();
        let mut failures = Vec::new();
        for pod in waiting {
            if pod.uid().is_some_and(|u| self.assumed.contains_key(&u)) {
                continue;
            }
            match super::decide_in(pod, &snapshot) {
                Ok(decision) => {
                    snapshot.assume(pod, &decision.node);
                    let scores = super::format_scores(&decision.scores);
                    binds.push((pod.clone(), decision.node, scores));
                }
                Err(fit) => failures.push((pod.clone(), fit.to_string())),
            }
        }
        drop(snapshot);
        // Bindings go out together: each is a request (and an event) of its own.
        let this = &*self;
        let bound: Vec<(Arc<Pod>, String, bool)> = futures::stream::iter(binds)
            .map(|(pod, node, scores)| async move {
                let ok = this.bind(&pod, &node, &scores).await;
                (pod, node, ok)
            })
            .buffer_unordered(BINDS_IN_FLIGHT)
            .collect()
            .await;
        for (pod, node, ok) in bound {
            if ok {
                let uid = pod.uid().unwrap_or_default();
                let mut assumed = (*pod).clone();
                assumed.spec.get_or_insert_with(Default::default).node_name = Some(node);
                self.unschedulable.remove(&uid);
                self.assumed.insert(uid, assumed);
            }
        }
        // Said once per distinct reason, and written together like the bindings: a backlog
        // whose reason changes (a node cordoned) must not hold up the next pass.
        let news: Vec<(Arc<Pod>, String)> = failures
            .into_iter()
            .filter(|(pod, message)| {
                let uid = pod.uid().unwrap_or_default();
                self.unschedulable.get(&uid) != Some(message)
            })
            .collect();
        let this = &*self;
        let said: Vec<(Arc<Pod>, String)> = futures::stream::iter(news)
            .map(|(pod, message)| async move {
                this.unschedulable(&pod, &message).await;
                (pod, message)
            })
            .buffer_unordered(BINDS_IN_FLIGHT)
            .collect()
            .await;
        for (pod, message) in said {
            self.unschedulable
                .insert(pod.uid().unwrap_or_default(), message);
        }
    }

    /// Binds `pod` to `node`; `scores` (maybe empty) go in the log line, not the event.
    async fn bind(&self, pod: &Pod, node: &str, scores: &str) -> bool {
        let (ns, name) = (pod.namespace().unwrap_or_default(), pod.name_any());
        let binding = Binding {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(ns.clone()),
                uid: pod.uid(),
                ..Default::default()
            },
            target: ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Node".into()),
                name: Some(node.to_string()),
                ..Default::default()
            },
        };
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &ns);
        let body = match serde_json::to_vec(&binding) {
            Ok(b) => b,
            Err(_) => return false,
        };
        let req = axum::http::Request::post(format!("{}/{name}/binding", pods.resource_url()))
            .header("content-type", "application/json")
            .body(body);
        let Ok(req) = req else { return false };
        match self.client.request::<serde_json::Value>(req).await {
            Ok(_) => {
                let msg = format!("Successfully assigned {ns}/{name} to {node}");
                if scores.is_empty() {
                    tracing::info!("{msg}");
                } else {
                    tracing::info!("{msg} (scores {scores})");
                }
                self.events
                    .normal(&pod.object_ref(&()), "Scheduled", &msg)
                    .await;
                true
            }
            Err(e) => {
                tracing::warn!(pod = %format!("{ns}/{name}"), "binding failed: {e}");
                false
            }
        }
    }

    /// Says why a pod fits nowhere: a Warning event and the pod's PodScheduled condition,
    /// as upstream's scheduler records them.
    async fn unschedulable(&self, pod: &Pod, message: &str) {
        let (ns, name) = (pod.namespace().unwrap_or_default(), pod.name_any());
        tracing::info!(pod = %format!("{ns}/{name}"), "unable to schedule pod: {message}");
        self.events
            .warning(&pod.object_ref(&()), "FailedScheduling", message)
            .await;
        let status = json!({"status": {"conditions": [{
            "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "message": message, "lastProbeTime": null,
            "lastTransitionTime": k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(k8s_openapi::jiff::Timestamp::now()),
        }]}});
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &ns);
        if let Err(e) = pods
            .patch_status(&name, &PatchParams::default(), &Patch::Strategic(&status))
            .await
        {
            tracing::warn!(pod = %format!("{ns}/{name}"), "could not set PodScheduled: {e}");
        }
    }
}

/// The node a pod is bound to, if any.
fn bound_to(p: &Pod) -> Option<&str> {
    p.spec
        .as_ref()?
        .node_name
        .as_deref()
        .filter(|n| !n.is_empty())
}
