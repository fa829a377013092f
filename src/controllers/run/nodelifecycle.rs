//! The node lifecycle controller and the NoExecute taint manager at work: a node whose
//! kubelet stops renewing its Lease turns Unknown after the grace period and gets the
//! unreachable / not-ready taints, its pods are marked not ready, and pods that do not
//! tolerate a NoExecute taint (or whose tolerationSeconds run out) are evicted. When the
//! kubelet is back, its Ready condition is its own again and the taints go.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, ResourceExt};
use serde_json::json;

use crate::agent::events::Recorder;
use crate::controllers::event::{Event, EventType};
use crate::controllers::nodelifecycle::{self as logic, Grace, PodKey};

/// Upstream's node monitor period: how often every node is looked at, changed or not
/// (a kubelet going quiet changes nothing in the stores).
const MONITOR_PERIOD_SECS: i64 = 5;

/// Where kubelets renew their Leases.
const LEASE_NAMESPACE: &str = "kube-node-lease";

pub struct Controller {
    pub client: kube::Client,
    pub nodes: Store<Node>,
    pub leases: Store<Lease>,
    pub pods: Store<Pod>,
    pub grace: Grace,
    node_events: Recorder,
    eviction_events: Recorder,
    /// Evictions waiting for tolerationSeconds, so one called off can be announced.
    scheduled: BTreeMap<PodKey, k8s_openapi::jiff::Timestamp>,
}

impl Controller {
    pub fn new(
        client: kube::Client,
        nodes: Store<Node>,
        leases: Store<Lease>,
        pods: Store<Pod>,
        grace: Grace,
    ) -> Controller {
        Controller {
            node_events: Recorder::new(client.clone(), logic::NODE_CONTROLLER),
            eviction_events: Recorder::new(client.clone(), logic::TAINT_EVICTION_CONTROLLER),
            client,
            nodes,
            leases,
            pods,
            grace,
            scheduled: BTreeMap::new(),
        }
    }

    pub async fn pass_all(&mut self) -> Option<i64> {
        let now = k8s_openapi::jiff::Timestamp::now();
        // Shared, not copied: a pass runs after every burst of pod changes, and the pods are
        // only read when a node goes unready or carries NoExecute taints.
        let mut pods_by_node: HashMap<String, Vec<Arc<Pod>>> = HashMap::new();
        for p in self.pods.state() {
            if let Some(node) = p.spec.as_ref().and_then(|s| s.node_name.clone()) {
                pods_by_node.entry(node).or_default().push(p);
            }
        }
        let mut still_scheduled = BTreeMap::new();
        let mut wake = Some(MONITOR_PERIOD_SECS);
        for node in self.nodes.state() {
            let name = node.name_any();
            let shared = pods_by_node.remove(&name).unwrap_or_default();
            let node = self.monitor(&node, &shared, now).await;
            let tainted = node
                .spec
                .iter()
                .flat_map(|s| s.taints.iter().flatten())
                .any(|t| t.effect == logic::NO_EXECUTE);
            let pods: Vec<Pod> = if tainted {
                shared.iter().map(|p| (**p).clone()).collect()
            } else {
                Vec::new()
            };
            let evictions = logic::evictions(&node, &pods, now);
            for key in &evictions.due {
                self.evict(key, &pods, now).await;
            }
            for (key, at) in evictions.scheduled {
                if !self.scheduled.contains_key(&key) {
                    tracing::info!(
                        "pod {}/{} tolerates the NoExecute taints of node {name} until {at}",
                        key.namespace,
                        key.name
                    );
                }
                still_scheduled.insert(key, at);
            }
            if let Some(at) = evictions.next_wakeup {
                let secs = at.as_second() - now.as_second();
                wake = super::sooner(wake, Some(secs.max(1)));
            }
        }
        // Evictions no longer scheduled for a pod that is still there were called off.
        let live = |k: &PodKey| {
            self.pods
                .get(&ObjectRef::new(&k.name).within(&k.namespace))
                .is_some_and(|p| p.metadata.deletion_timestamp.is_none())
        };
        let cancelled: Vec<PodKey> = self
            .scheduled
            .keys()
            .filter(|k| !still_scheduled.contains_key(*k) && live(k))
            .cloned()
            .collect();
        for key in cancelled {
            let e = logic::cancel_event(&key);
            tracing::info!("{}", e.message);
            self.record(&e).await;
        }
        self.scheduled = still_scheduled;
        wake
    }

    /// Conditions and taints of one node; the node as it is after the writes.
    async fn monitor(
        &self,
        node: &Node,
        pods: &[Arc<Pod>],
        now: k8s_openapi::jiff::Timestamp,
    ) -> Node {
        let name = node.name_any();
        let lease = self
            .leases
            .get(&ObjectRef::new(&name).within(LEASE_NAMESPACE));
        let decision = logic::decide(node, lease.as_deref(), now, self.grace);
        let api: Api<Node> = Api::all(self.client.clone());
        let mut node = node.clone();
        if let Some(conditions) = &decision.conditions {
            let patch = json!({
                "metadata": {"resourceVersion": node.resource_version()},
                "status": {"conditions": conditions},
            });
            match api
                .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(n) => {
                    tracing::info!(
                        "node {name}: the kubelet stopped posting node status (no Lease renewal for {} s); Ready is Unknown",
                        self.grace.monitor
                    );
                    node = n;
                    for e in &decision.events {
                        self.record(e).await;
                    }
                }
                Err(e) => {
                    tracing::debug!("node {name}: status not written (retried): {e}");
                    return node;
                }
            }
        }
        if decision.mark_pods_not_ready {
            let pods: Vec<Pod> = pods.iter().map(|p| (**p).clone()).collect();
            for update in logic::pods_to_mark_not_ready(&name, &pods, now) {
                let pods: Api<Pod> = Api::namespaced(self.client.clone(), &update.namespace);
                let patch = json!({"status": {"conditions": update.conditions}});
                match pods
                    .patch_status(
                        &update.name,
                        &PatchParams::default(),
                        &Patch::Strategic(&patch),
                    )
                    .await
                {
                    Ok(_) => {
                        tracing::info!(
                            "pod {}/{} on node {name} marked not ready",
                            update.namespace,
                            update.name
                        );
                        self.record(&update.event).await;
                    }
                    Err(e) => tracing::warn!(
                        "marking pod {}/{} not ready failed: {e}",
                        update.namespace,
                        update.name
                    ),
                }
            }
        }
        if !decision.taints.is_empty() {
            let current = node
                .spec
                .as_ref()
                .and_then(|s| s.taints.clone())
                .unwrap_or_default();
            let taints = decision.taints.apply(&current);
            // Guarded by the resourceVersion: a taint someone adds meanwhile is not lost.
            let patch = json!({
                "metadata": {"resourceVersion": node.resource_version()},
                "spec": {"taints": taints},
            });
            match api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(n) => {
                    let names = |ts: &[k8s_openapi::api::core::v1::Taint]| {
                        ts.iter()
                            .map(|t| format!("{}:{}", t.key, t.effect))
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    if !decision.taints.add.is_empty() {
                        tracing::info!("node {name}: tainted {}", names(&decision.taints.add));
                    }
                    if !decision.taints.remove.is_empty() {
                        tracing::info!(
                            "node {name}: removed taints {}",
                            names(&decision.taints.remove)
                        );
                    }
                    node = n;
                }
                Err(e) => tracing::debug!("node {name}: taints not written (retried): {e}"),
            }
        }
        node
    }

    /// Evicts one pod as the taint manager does: DisruptionTarget condition, then delete.
    async fn evict(&self, key: &PodKey, pods: &[Pod], now: k8s_openapi::jiff::Timestamp) {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &key.namespace);
        let Some(pod) = pods
            .iter()
            .find(|p| p.metadata.name.as_deref() == Some(key.name.as_str()))
        else {
            return;
        };
        let mut conditions = pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.clone())
            .unwrap_or_default();
        conditions.retain(|c| c.type_ != "DisruptionTarget");
        conditions.push(logic::disruption_condition(now));
        let patch = json!({"status": {"conditions": conditions}});
        if let Err(e) = api
            .patch_status(&key.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            tracing::debug!(
                "pod {}/{}: DisruptionTarget not written: {e}",
                key.namespace,
                key.name
            );
        }
        match api.delete(&key.name, &DeleteParams::default()).await {
            Ok(_) => {
                let e = logic::eviction_event(key);
                tracing::info!(
                    "{}: its node has a NoExecute taint it does not tolerate",
                    e.message
                );
                self.record(&e).await;
            }
            Err(e) if super::code(&e) == Some(404) => {}
            Err(e) => tracing::warn!("evicting pod {}/{} failed: {e}", key.namespace, key.name),
        }
    }

    async fn record(&self, e: &Event) {
        let recorder = match e.source {
            logic::TAINT_EVICTION_CONTROLLER => &self.eviction_events,
            _ => &self.node_events,
        };
        match e.type_ {
            EventType::Normal => recorder.normal(&e.involved, &e.reason, &e.message).await,
            EventType::Warning => recorder.warning(&e.involved, &e.reason, &e.message).await,
        }
    }
}

impl super::Pass for Controller {
    async fn pass(&mut self) -> Option<i64> {
        self.pass_all().await
    }
}
