//! The node lifecycle controller's decisions (upstream `pkg/controller/nodelifecycle`) and
//! the NoExecute taint manager's (`pkg/controller/tainteviction`).
//!
//! Upstream keeps, per node, the local time it last saw the kubelet's heartbeat change; this
//! module is stateless and takes the newer of the node Lease's `renewTime` and the Ready
//! condition's `lastHeartbeatTime` instead (one clock in a kwb cluster, so the two agree).
//! Likewise the taint manager counts tolerationSeconds from each taint's `timeAdded` rather
//! than from when it noticed the taint.

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{
    Node, NodeCondition, ObjectReference, Pod, PodCondition, Taint, Toleration,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use crate::controllers::event::{Event, EventType};

/// Upstream's `--node-monitor-grace-period` default since 1.32 (it was 40 s before).
pub const DEFAULT_GRACE_PERIOD_SECS: i64 = 50;
/// Upstream's `--node-startup-grace-period` default: how long a node that never posted a
/// Ready condition has before it is considered gone.
pub const DEFAULT_STARTUP_GRACE_PERIOD_SECS: i64 = 60;

pub const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";
pub const TAINT_UNREACHABLE: &str = "node.kubernetes.io/unreachable";
pub const TAINT_MEMORY_PRESSURE: &str = "node.kubernetes.io/memory-pressure";
pub const TAINT_DISK_PRESSURE: &str = "node.kubernetes.io/disk-pressure";
pub const TAINT_PID_PRESSURE: &str = "node.kubernetes.io/pid-pressure";
pub const TAINT_NETWORK_UNAVAILABLE: &str = "node.kubernetes.io/network-unavailable";
pub const TAINT_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";

const NO_SCHEDULE: &str = "NoSchedule";
pub const NO_EXECUTE: &str = "NoExecute";

/// The component upstream records node events from.
pub const NODE_CONTROLLER: &str = "node-controller";
/// The component upstream records taint-eviction events from.
pub const TAINT_EVICTION_CONTROLLER: &str = "taint-eviction-controller";

/// The conditions the controller marks Unknown when the kubelet goes quiet
/// (NetworkUnavailable is left alone: it is the network plugin's).
const MONITORED: [&str; 4] = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];

/// Grace periods, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grace {
    pub monitor: i64,
    pub startup: i64,
}

impl Default for Grace {
    fn default() -> Self {
        Grace {
            monitor: DEFAULT_GRACE_PERIOD_SECS,
            startup: DEFAULT_STARTUP_GRACE_PERIOD_SECS,
        }
    }
}

/// Taints to add to and remove from `spec.taints`, matched by key and effect.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaintChange {
    pub add: Vec<Taint>,
    pub remove: Vec<Taint>,
}

impl TaintChange {
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }

    /// `current` with this change applied (existing taints keep their timeAdded).
    pub fn apply(&self, current: &[Taint]) -> Vec<Taint> {
        let mut out: Vec<Taint> = current
            .iter()
            .filter(|t| !self.remove.iter().any(|r| same_taint(r, t)))
            .cloned()
            .collect();
        for t in &self.add {
            if !out.iter().any(|o| same_taint(o, t)) {
                out.push(t.clone());
            }
        }
        out
    }
}

/// One pass over one node.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeDecision {
    /// The whole new `status.conditions`, when the Ready condition changes (upstream writes
    /// the status only then).
    pub conditions: Option<Vec<NodeCondition>>,
    pub taints: TaintChange,
    /// Record after the status write succeeded.
    pub events: Vec<Event>,
    /// The controller just turned Ready from True to Unknown: mark the node's pods not
    /// ready (see [`pods_to_mark_not_ready`]).
    pub mark_pods_not_ready: bool,
}

fn stamp(now: Timestamp) -> Time {
    // The API keeps whole seconds; a finer value would never compare equal once stored.
    Time(Timestamp::from_second(now.as_second()).unwrap_or(now))
}

fn secs(t: Option<&Time>) -> Option<i64> {
    t.map(|t| t.0.as_second())
}

fn condition<'a>(conds: &'a [NodeCondition], type_: &str) -> Option<&'a NodeCondition> {
    conds.iter().find(|c| c.type_ == type_)
}

fn node_ref(node: &Node) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Node".into()),
        name: node.metadata.name.clone(),
        uid: node.metadata.uid.clone(),
        ..Default::default()
    }
}

fn same_taint(a: &Taint, b: &Taint) -> bool {
    a.key == b.key && a.effect == b.effect
}

/// One pass of the node lifecycle controller over `node`: if neither its lease nor its
/// Ready heartbeat was renewed within the grace period (the startup grace, counted from
/// creation, while it never posted Ready), its Ready/MemoryPressure/DiskPressure/PIDPressure
/// conditions turn Unknown; then the condition taints (NoSchedule for every condition, the
/// NoExecute not-ready/unreachable pair for Ready) are brought in line with the conditions.
pub fn decide(node: &Node, lease: Option<&Lease>, now: Timestamp, grace: Grace) -> NodeDecision {
    let mut decision = NodeDecision::default();
    let current: Vec<NodeCondition> = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let created = secs(node.metadata.creation_timestamp.as_ref());
    let observed_ready = condition(&current, "Ready").cloned();

    let (mut probe, period) = match &observed_ready {
        None => (created, grace.startup),
        Some(c) => (
            secs(c.last_heartbeat_time.as_ref()).or(created),
            grace.monitor,
        ),
    };
    let renewed = lease
        .and_then(|l| l.spec.as_ref())
        .and_then(|s| s.renew_time.as_ref())
        .map(|t| t.0.as_second());
    probe = probe.max(renewed);

    let mut conds = current.clone();
    let stale = probe.is_none_or(|p| now.as_second() > p.saturating_add(period));
    if stale {
        for type_ in MONITORED {
            match conds.iter_mut().find(|c| c.type_ == type_) {
                None => conds.push(NodeCondition {
                    type_: type_.into(),
                    status: "Unknown".into(),
                    reason: Some("NodeStatusNeverUpdated".into()),
                    message: Some("Kubelet never posted node status.".into()),
                    last_heartbeat_time: node.metadata.creation_timestamp.clone(),
                    last_transition_time: Some(stamp(now)),
                }),
                Some(c) if c.status != "Unknown" => {
                    c.status = "Unknown".into();
                    c.reason = Some("NodeStatusUnknown".into());
                    c.message = Some("Kubelet stopped posting node status.".into());
                    c.last_transition_time = Some(stamp(now));
                }
                Some(_) => {}
            }
        }
        if condition(&conds, "Ready") != observed_ready.as_ref() {
            decision.conditions = Some(conds.clone());
        }
    }

    let new_ready = condition(&conds, "Ready").map(|c| c.status.as_str());
    if observed_ready.as_ref().map(|c| c.status.as_str()) == Some("True")
        && new_ready != Some("True")
    {
        let name = node.metadata.name.clone().unwrap_or_default();
        decision.events.push(Event {
            involved: node_ref(node),
            type_: EventType::Normal,
            reason: "NodeNotReady".into(),
            message: format!("Node {name} status is now: NodeNotReady"),
            source: NODE_CONTROLLER,
        });
        decision.mark_pods_not_ready = true;
    }

    decision.taints = condition_taints(node, &conds, now);
    decision
}

/// The taint a condition in a given status calls for, if any.
fn taint_key_for(type_: &str, status: &str) -> Option<&'static str> {
    match (type_, status) {
        ("Ready", "False") => Some(TAINT_NOT_READY),
        ("Ready", "Unknown") => Some(TAINT_UNREACHABLE),
        ("MemoryPressure", "True") => Some(TAINT_MEMORY_PRESSURE),
        ("DiskPressure", "True") => Some(TAINT_DISK_PRESSURE),
        ("NetworkUnavailable", "True") => Some(TAINT_NETWORK_UNAVAILABLE),
        ("PIDPressure", "True") => Some(TAINT_PID_PRESSURE),
        _ => None,
    }
}

fn taint(key: &str, effect: &str, now: Timestamp) -> Taint {
    Taint {
        key: key.into(),
        effect: effect.into(),
        value: None,
        time_added: Some(stamp(now)),
    }
}

/// The taints the node's conditions call for against those it has. NoSchedule: one per
/// condition in a bad state, plus unschedulable for a cordoned node. NoExecute: not-ready
/// for Ready False, unreachable for Ready Unknown, neither for Ready True (the two are
/// mutually exclusive, swapped at once); nothing while the node has no Ready condition.
fn condition_taints(node: &Node, conds: &[NodeCondition], now: Timestamp) -> TaintChange {
    let have: Vec<Taint> = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    let mut change = TaintChange::default();

    let mut want_keys: Vec<&'static str> = conds
        .iter()
        .filter_map(|c| taint_key_for(&c.type_, &c.status))
        .collect();
    if node
        .spec
        .as_ref()
        .and_then(|s| s.unschedulable)
        .unwrap_or(false)
    {
        want_keys.push(TAINT_UNSCHEDULABLE);
    }
    let managed = [
        TAINT_NOT_READY,
        TAINT_UNREACHABLE,
        TAINT_MEMORY_PRESSURE,
        TAINT_DISK_PRESSURE,
        TAINT_PID_PRESSURE,
        TAINT_NETWORK_UNAVAILABLE,
        TAINT_UNSCHEDULABLE,
    ];
    for key in &want_keys {
        if !have
            .iter()
            .any(|t| t.key == *key && t.effect == NO_SCHEDULE)
        {
            change.add.push(taint(key, NO_SCHEDULE, now));
        }
    }
    for t in &have {
        if t.effect == NO_SCHEDULE
            && managed.contains(&t.key.as_str())
            && !want_keys.contains(&t.key.as_str())
        {
            change.remove.push(t.clone());
        }
    }

    let want_exec = match condition(conds, "Ready").map(|c| c.status.as_str()) {
        None => return change,
        Some("False") => Some(TAINT_NOT_READY),
        Some("Unknown") => Some(TAINT_UNREACHABLE),
        Some(_) => None,
    };
    for key in [TAINT_NOT_READY, TAINT_UNREACHABLE] {
        let has = have.iter().any(|t| t.key == key && t.effect == NO_EXECUTE);
        if want_exec == Some(key) && !has {
            change.add.push(taint(key, NO_EXECUTE, now));
        }
        if want_exec != Some(key) && has {
            change.remove.extend(
                have.iter()
                    .filter(|t| t.key == key && t.effect == NO_EXECUTE)
                    .cloned(),
            );
        }
    }
    change
}

/// A pod status change asked for by the node controller.
#[derive(Clone, Debug, PartialEq)]
pub struct PodStatusUpdate {
    pub namespace: String,
    pub name: String,
    /// The pod's whole new `status.conditions`.
    pub conditions: Vec<PodCondition>,
    pub event: Event,
}

fn pod_ref(pod: &Pod) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Pod".into()),
        namespace: pod.metadata.namespace.clone(),
        name: pod.metadata.name.clone(),
        uid: pod.metadata.uid.clone(),
        ..Default::default()
    }
}

/// Upstream's MarkPodsNotReady, for when [`NodeDecision::mark_pods_not_ready`] is set: the
/// node's pods whose Ready condition is not already False get it set False (transition
/// time now), each with a `NodeNotReady` warning.
pub fn pods_to_mark_not_ready(
    node_name: &str,
    pods: &[Pod],
    now: Timestamp,
) -> Vec<PodStatusUpdate> {
    pods.iter()
        .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node_name))
        .filter_map(|p| {
            let mut conds = p.status.as_ref()?.conditions.clone()?;
            let ready = conds.iter_mut().find(|c| c.type_ == "Ready")?;
            if ready.status == "False" {
                return None;
            }
            ready.status = "False".into();
            ready.last_transition_time = Some(stamp(now));
            Some(PodStatusUpdate {
                namespace: p.metadata.namespace.clone()?,
                name: p.metadata.name.clone()?,
                conditions: conds,
                event: Event {
                    involved: pod_ref(p),
                    type_: EventType::Warning,
                    reason: "NodeNotReady".into(),
                    message: "Node is not ready".into(),
                    source: NODE_CONTROLLER,
                },
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// The NoExecute taint manager.

/// A pod, by namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PodKey {
    pub namespace: String,
    pub name: String,
}

/// What the taint manager wants done about a node's pods.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Evictions {
    /// To evict now: add [`disruption_condition`], delete, record [`eviction_event`].
    pub due: Vec<PodKey>,
    /// Tolerating for a while: evict at the given time unless things change.
    pub scheduled: Vec<(PodKey, Timestamp)>,
    /// When to look again (the earliest scheduled eviction).
    pub next_wakeup: Option<Timestamp>,
}

/// Upstream's Toleration.ToleratesTaint.
fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    if t.effect
        .as_deref()
        .is_some_and(|e| !e.is_empty() && e != taint.effect)
    {
        return false;
    }
    if t.key
        .as_deref()
        .is_some_and(|k| !k.is_empty() && k != taint.key)
    {
        return false;
    }
    match t.operator.as_deref().unwrap_or("") {
        "" | "Equal" => t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
        "Exists" => true,
        _ => false,
    }
}

/// The taint manager over one node: a pod that does not tolerate every NoExecute taint is
/// due at once; one that tolerates them all is due when the earliest `timeAdded +
/// tolerationSeconds` among the tolerations used passes (zero or negative seconds: at once;
/// no seconds: never). A taint without timeAdded counts from `now`. Pods already being
/// deleted, and pods not bound to this node, are left alone.
pub fn evictions(node: &Node, pods_on_node: &[Pod], now: Timestamp) -> Evictions {
    let mut out = Evictions::default();
    let taints: Vec<&Taint> = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .into_iter()
        .flatten()
        .filter(|t| t.effect == NO_EXECUTE)
        .collect();
    if taints.is_empty() {
        return out;
    }
    let now_s = now.as_second();
    for pod in pods_on_node {
        let spec = pod.spec.as_ref();
        if spec.and_then(|s| s.node_name.as_deref()) != node.metadata.name.as_deref()
            || pod.metadata.deletion_timestamp.is_some()
        {
            continue;
        }
        let (Some(namespace), Some(name)) =
            (pod.metadata.namespace.clone(), pod.metadata.name.clone())
        else {
            continue;
        };
        let key = PodKey { namespace, name };
        let tolerations = spec
            .and_then(|s| s.tolerations.as_deref())
            .unwrap_or_default();
        // Per taint, the first toleration that matches it (as upstream picks them), and
        // from it the deadline; None means tolerated forever.
        let mut deadline: Option<i64> = None;
        let mut all_tolerated = true;
        for taint in &taints {
            let Some(t) = tolerations.iter().find(|t| tolerates(t, taint)) else {
                all_tolerated = false;
                break;
            };
            if let Some(seconds) = t.toleration_seconds {
                let at = if seconds <= 0 {
                    now_s
                } else {
                    secs(taint.time_added.as_ref())
                        .unwrap_or(now_s)
                        .saturating_add(seconds)
                };
                deadline = Some(deadline.map_or(at, |d| d.min(at)));
            }
        }
        match (all_tolerated, deadline) {
            (false, _) => out.due.push(key),
            (true, None) => {}
            (true, Some(at)) if at <= now_s => out.due.push(key),
            (true, Some(at)) => {
                let when = Timestamp::from_second(at).unwrap_or(Timestamp::MAX);
                out.next_wakeup = Some(out.next_wakeup.map_or(when, |w| w.min(when)));
                out.scheduled.push((key, when));
            }
        }
    }
    out
}

/// The condition upstream adds to a pod before the taint manager deletes it.
pub fn disruption_condition(now: Timestamp) -> PodCondition {
    PodCondition {
        type_: "DisruptionTarget".into(),
        status: "True".into(),
        reason: Some("DeletionByTaintManager".into()),
        message: Some("Taint manager: deleting due to NoExecute taint".into()),
        last_transition_time: Some(stamp(now)),
        ..Default::default()
    }
}

fn key_ref(pod: &PodKey) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Pod".into()),
        namespace: Some(pod.namespace.clone()),
        name: Some(pod.name.clone()),
        ..Default::default()
    }
}

/// The event upstream records when the taint manager deletes a pod.
pub fn eviction_event(pod: &PodKey) -> Event {
    Event {
        involved: key_ref(pod),
        type_: EventType::Normal,
        reason: "TaintManagerEviction".into(),
        message: format!("Marking for deletion Pod {}/{}", pod.namespace, pod.name),
        source: TAINT_EVICTION_CONTROLLER,
    }
}

/// The event upstream records when a scheduled eviction is called off (the taint went
/// away or the pod now tolerates it for good).
pub fn cancel_event(pod: &PodKey) -> Event {
    Event {
        involved: key_ref(pod),
        type_: EventType::Normal,
        reason: "TaintManagerEviction".into(),
        message: format!("Cancelling deletion of Pod {}/{}", pod.namespace, pod.name),
        source: TAINT_EVICTION_CONTROLLER,
    }
}

#[cfg(test)]
mod tests;
