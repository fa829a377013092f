//! DaemonSet controller decisions (upstream pkg/controller/daemon): one pod on every node
//! the template may run on — by nodeSelector, required node affinity and taints — created
//! pinned to its node through node affinity and bound by the scheduler; extra, failed and
//! misplaced pods deleted; templates rolled out node by node (maxUnavailable, or maxSurge with
//! the new pod started before the old one goes) or left for the user (OnDelete).
//!
//! Left out: the backoff upstream puts between deleting a failed pod and creating its
//! replacement (here the replacement comes on the next pass).

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetSpec, DaemonSetStatus};
use k8s_openapi::api::core::v1::{
    Affinity, Node, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod,
    Taint, Toleration,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::Timestamp;

use crate::controllers::deployment::util::scaled;
use crate::controllers::owner::{self, Claim, Claimer};
use crate::controllers::pods;
use crate::controllers::revision::POD_REVISION_LABEL;
use crate::kinds::labels;
use crate::scheduler::node_affinity::{self, NamePins};
use crate::scheduler::taints;

/// The writes one DaemonSet sync asks for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DaemonPlan {
    /// Orphan pods to adopt and owned pods to release, by name.
    pub adopt: Vec<String>,
    pub release: Vec<String>,
    /// Nodes to create a pod of the current template on.
    pub create: Vec<String>,
    /// Pods to delete, with the reason for the log.
    pub delete: Vec<(String, String)>,
    /// Failed pods found (pod, node): each gets a FailedDaemonPod warning and is deleted.
    pub failed: Vec<(String, String)>,
    pub status: DaemonSetStatus,
    /// Sync again after this many seconds, when a ready pod will have become available.
    pub requeue_after: Option<i64>,
}

/// Whether a daemon pod should be created on a node, and whether one already there may stay
/// (upstream's NodeShouldRunDaemonPod).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    pub should_run: bool,
    pub should_continue: bool,
}

fn spec(ds: &DaemonSet) -> DaemonSetSpec {
    ds.spec.clone().unwrap_or_default()
}

pub fn owner_reference(ds: &DaemonSet) -> OwnerReference {
    owner::controller_ref("apps/v1", "DaemonSet", &ds.metadata)
}

/// The tolerations every daemon pod gets, so node conditions and cordons do not stop the
/// node's own agents (upstream AddOrUpdateDaemonPodTolerations).
fn daemon_tolerations(host_network: bool) -> Vec<Toleration> {
    let exists = |key: &str, effect: &str| Toleration {
        key: Some(key.into()),
        operator: Some("Exists".into()),
        effect: Some(effect.into()),
        ..Toleration::default()
    };
    let mut all = vec![
        exists("node.kubernetes.io/not-ready", taints::NO_EXECUTE),
        exists("node.kubernetes.io/unreachable", taints::NO_EXECUTE),
        exists("node.kubernetes.io/disk-pressure", taints::NO_SCHEDULE),
        exists("node.kubernetes.io/memory-pressure", taints::NO_SCHEDULE),
        exists("node.kubernetes.io/pid-pressure", taints::NO_SCHEDULE),
        exists("node.kubernetes.io/unschedulable", taints::NO_SCHEDULE),
    ];
    if host_network {
        all.push(exists(
            "node.kubernetes.io/network-unavailable",
            taints::NO_SCHEDULE,
        ));
    }
    all
}

/// Pins `pod` to `node`: each required term's `metadata.name` fields are replaced by one
/// naming the node (upstream ReplaceDaemonSetPodNodeNameNodeAffinity).
fn pin_to(pod: &mut Pod, node: &str) {
    let requirement = NodeSelectorRequirement {
        key: "metadata.name".into(),
        operator: "In".into(),
        values: Some(vec![node.into()]),
    };
    let spec = pod.spec.get_or_insert_with(Default::default);
    let affinity = spec.affinity.get_or_insert_with(Affinity::default);
    let node_affinity = affinity
        .node_affinity
        .get_or_insert_with(NodeAffinity::default);
    let required = node_affinity
        .required_during_scheduling_ignored_during_execution
        .get_or_insert_with(NodeSelector::default);
    if required.node_selector_terms.is_empty() {
        required
            .node_selector_terms
            .push(NodeSelectorTerm::default());
    }
    for term in &mut required.node_selector_terms {
        term.match_fields = Some(vec![requirement.clone()]);
    }
}

/// The daemon pod for `node` at revision `hash`, named by the server from `<ds-name>-`.
pub fn new_pod(ds: &DaemonSet, node: &str, hash: &str) -> Pod {
    let mut pod = template_pod(ds);
    pod.metadata
        .labels
        .get_or_insert_with(BTreeMap::new)
        .insert(POD_REVISION_LABEL.into(), hash.into());
    pin_to(&mut pod, node);
    pod
}

/// The template as a pod with the daemon tolerations (not yet pinned).
fn template_pod(ds: &DaemonSet) -> Pod {
    let mut pod = pods::from_template(spec(ds).template, &ds.metadata, owner_reference(ds));
    let spec = pod.spec.get_or_insert_with(Default::default);
    let tolerations = spec.tolerations.get_or_insert_with(Vec::new);
    for t in daemon_tolerations(spec.host_network.unwrap_or(false)) {
        if !tolerations
            .iter()
            .any(|have| have.key == t.key && have.effect == t.effect && have.operator == t.operator)
        {
            tolerations.push(t);
        }
    }
    pod
}

/// Where the daemon pod of `ds` belongs (upstream's predicates for daemon pods).
pub fn placement(ds: &DaemonSet, node: &Node) -> Placement {
    let name = node.metadata.name.clone().unwrap_or_default();
    let mut pod = template_pod(ds);
    pin_to(&mut pod, &name);
    let never = Placement {
        should_run: false,
        should_continue: false,
    };
    if !node_affinity::matches_required(&pod, node) {
        return never;
    }
    let tolerations = pod
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.as_deref())
        .unwrap_or_default();
    let with_effect = |effect: &str| -> Vec<Taint> {
        taints::node_taints(node)
            .iter()
            .filter(|t| t.effect == effect)
            .cloned()
            .collect()
    };
    if taints::first_untolerated(&with_effect(taints::NO_EXECUTE), tolerations).is_some() {
        return never;
    }
    let schedulable =
        taints::first_untolerated(&with_effect(taints::NO_SCHEDULE), tolerations).is_none();
    Placement {
        should_run: schedulable,
        should_continue: true,
    }
}

/// The node a daemon pod is on or pinned to.
pub fn target_node(pod: &Pod) -> Option<String> {
    if let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name.clone()) {
        return Some(node);
    }
    match node_affinity::name_pins(pod) {
        NamePins::Only(names) if names.len() == 1 => names.into_iter().next(),
        _ => None,
    }
}

fn name(pod: &Pod) -> String {
    pod.metadata.name.clone().unwrap_or_default()
}

fn revision_of(pod: &Pod) -> Option<&str> {
    pod.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(POD_REVISION_LABEL))
        .map(String::as_str)
}

fn phase(pod: &Pod) -> Option<&str> {
    pod.status.as_ref().and_then(|s| s.phase.as_deref())
}

/// One sync of `ds` against the cluster's `nodes` and `pods` (all of its namespace), with
/// `hash` the revision hash of its current template.
pub fn sync(
    ds: &DaemonSet,
    nodes: &[Node],
    pods: &[Pod],
    hash: &str,
    now: Timestamp,
) -> DaemonPlan {
    let spec = spec(ds);
    let mut plan = DaemonPlan::default();
    let selector_usable = !labels::is_empty(&spec.selector);
    let claimer = Claimer {
        meta: &ds.metadata,
        selector: &spec.selector,
    };
    let mut by_node: HashMap<String, Vec<&Pod>> = HashMap::new();
    for pod in pods {
        // Terminating pods are on their way out; they neither count nor get replaced twice.
        match owner::claim(&claimer, &pod.metadata) {
            Claim::Owned => {}
            Claim::Adopt if selector_usable => plan.adopt.push(name(pod)),
            Claim::Release => {
                plan.release.push(name(pod));
                continue;
            }
            _ => continue,
        }
        match target_node(pod) {
            Some(node) => by_node.entry(node).or_default().push(pod),
            None => plan
                .delete
                .push((name(pod), "it is not pinned to any node".into())),
        }
    }
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    let deleting = ds.metadata.deletion_timestamp.is_some();
    let mut status = DaemonSetStatus {
        observed_generation: ds.metadata.generation,
        collision_count: ds.status.as_ref().and_then(|s| s.collision_count),
        conditions: ds.status.as_ref().and_then(|s| s.conditions.clone()),
        ..DaemonSetStatus::default()
    };
    let (mut available, mut updated) = (0, 0);
    // Nodes to roll: (node, old pods, new pods) where the daemon should run.
    let mut rolling: Vec<(String, Vec<&Pod>, Vec<&Pod>)> = Vec::new();
    let known: std::collections::HashSet<&str> = nodes
        .iter()
        .filter_map(|n| n.metadata.name.as_deref())
        .collect();
    for (node, list) in &by_node {
        if !known.contains(node.as_str()) {
            for pod in list
                .iter()
                .filter(|p| p.metadata.deletion_timestamp.is_none())
            {
                plan.delete
                    .push((name(pod), format!("node {node} no longer exists")));
            }
        }
    }
    for node in nodes {
        let node_name = node.metadata.name.clone().unwrap_or_default();
        let place = placement(ds, node);
        let here: Vec<&Pod> = by_node.get(&node_name).cloned().unwrap_or_default();
        let live: Vec<&Pod> = here
            .iter()
            .copied()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .collect();
        if place.should_run {
            status.desired_number_scheduled += 1;
            if !here.is_empty() {
                status.current_number_scheduled += 1;
            }
            if here.iter().any(|p| pods::is_ready(p)) {
                status.number_ready += 1;
            }
            if here.iter().any(|p| pods::is_available(p, min_ready, now)) {
                available += 1;
            }
            if here.iter().any(|p| revision_of(p) == Some(hash)) {
                updated += 1;
            }
        } else if !here.is_empty() {
            status.number_misscheduled += 1;
        }
        if deleting || !selector_usable {
            continue;
        }
        if !place.should_continue {
            for pod in &live {
                plan.delete.push((
                    name(pod),
                    format!("node {node_name} no longer fits the daemon set"),
                ));
            }
            continue;
        }
        let (failed, running): (Vec<&Pod>, Vec<&Pod>) = live
            .iter()
            .partition(|p| phase(p) == Some("Failed") || phase(p) == Some("Succeeded"));
        for pod in &failed {
            plan.failed.push((name(pod), node_name.clone()));
        }
        if !place.should_run {
            continue;
        }
        if running.is_empty() {
            // Wait for a terminating pod to go before replacing it.
            if here.len() == live.len() || !failed.is_empty() {
                plan.create.push(node_name.clone());
            }
            continue;
        }
        let (new, old): (Vec<&Pod>, Vec<&Pod>) =
            running.iter().partition(|p| revision_of(p) == Some(hash));
        // More than one pod of a revision on a node: the oldest stays.
        let mut extras = Vec::new();
        for group in [&new, &old] {
            let mut sorted = group.clone();
            sorted.sort_by_key(|p| p.metadata.creation_timestamp.clone());
            extras.extend(sorted.into_iter().skip(1));
        }
        for pod in extras {
            plan.delete
                .push((name(pod), format!("node {node_name} has more than one")));
        }
        if !old.is_empty() {
            rolling.push((
                node_name,
                old[..1].to_vec(),
                new.first().copied().into_iter().collect(),
            ));
        }
    }
    status.updated_number_scheduled = Some(updated);
    status.number_available = Some(available);
    status.number_unavailable = Some(status.desired_number_scheduled - available);
    if !deleting && is_rolling_update(&spec) {
        roll(&spec, &status, &rolling, min_ready, now, &mut plan);
    }
    plan.requeue_after = by_node
        .values()
        .flatten()
        .filter_map(|p| pods::seconds_until_available(p, min_ready, now))
        .filter(|s| *s > 0)
        .min();
    plan.status = status;
    plan
}

fn is_rolling_update(spec: &DaemonSetSpec) -> bool {
    spec.update_strategy
        .as_ref()
        .and_then(|s| s.type_.as_deref())
        .is_none_or(|t| t == "RollingUpdate")
}

/// (maxSurge, maxUnavailable) against the desired number of nodes; both zero means one
/// may be unavailable, as upstream.
fn fenceposts(spec: &DaemonSetSpec, desired: i32) -> (i32, i32) {
    let rolling = spec
        .update_strategy
        .as_ref()
        .and_then(|s| s.rolling_update.clone())
        .unwrap_or_default();
    let surge = scaled(
        rolling.max_surge.as_ref().unwrap_or(&IntOrString::Int(0)),
        desired,
        true,
    );
    let unavailable = scaled(
        rolling
            .max_unavailable
            .as_ref()
            .unwrap_or(&IntOrString::Int(1)),
        desired,
        false,
    );
    if surge == 0 && unavailable == 0 {
        (0, 1)
    } else {
        (surge, unavailable)
    }
}

/// The rolling update's step over nodes with an old pod (upstream rollingUpdate).
fn roll(
    spec: &DaemonSetSpec,
    status: &DaemonSetStatus,
    rolling: &[(String, Vec<&Pod>, Vec<&Pod>)],
    min_ready: i32,
    now: Timestamp,
    plan: &mut DaemonPlan,
) {
    let (surge, max_unavailable) = fenceposts(spec, status.desired_number_scheduled);
    let mut unavailable = status.number_unavailable.unwrap_or(0);
    let doomed: std::collections::HashSet<String> =
        plan.delete.iter().map(|(p, _)| p.clone()).collect();
    let mut sorted: Vec<&(String, Vec<&Pod>, Vec<&Pod>)> = rolling.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    if surge == 0 {
        // Unavailable old pods go at once; available ones while the budget allows.
        let mut candidates = Vec::new();
        for (node, old, _) in &sorted {
            let pod = old[0];
            if doomed.contains(&name(pod)) {
                continue;
            }
            if !pods::is_available(pod, min_ready, now) {
                plan.delete
                    .push((name(pod), format!("rolling update of node {node}")));
            } else {
                candidates.push((node, pod));
            }
        }
        for (node, pod) in candidates {
            if unavailable >= max_unavailable {
                break;
            }
            unavailable += 1;
            plan.delete
                .push((name(pod), format!("rolling update of node {node}")));
        }
        return;
    }
    // Surge: a new pod first; the old one goes once the new one is available.
    let mut surging = sorted.iter().filter(|(_, _, new)| !new.is_empty()).count() as i32;
    for (node, old, new) in &sorted {
        match new.first() {
            Some(fresh) if pods::is_available(fresh, min_ready, now) => plan
                .delete
                .push((name(old[0]), format!("rolling update of node {node}"))),
            Some(_) => {}
            None if surging < surge => {
                surging += 1;
                plan.create.push(node.clone());
            }
            None => {}
        }
    }
}

/// Events as upstream words them.
pub fn created_event(pod: &str) -> String {
    format!("Created pod: {pod}")
}

pub fn deleted_event(pod: &str) -> String {
    format!("Deleted pod: {pod}")
}

pub fn failed_pod_event(namespace: &str, pod: &str, node: &str) -> String {
    format!("Found failed daemon pod {namespace}/{pod} on node {node}, will try to kill it")
}
