//! The filters, in upstream's default order. Each answers for one node with `Ok` or a
//! [`Rejection`] worded as in FailedScheduling events; a node reports only its first failing
//! filter, as upstream stops at the first plugin that rejects it.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, Pod, Taint};

use crate::scheduler::node_affinity::{self, NamePins};
use crate::scheduler::pod_affinity::AffinityState;
use crate::scheduler::resources::{self, Resources};
use crate::scheduler::snapshot::{self, NodeInfo, Snapshot};
use crate::scheduler::spread::SpreadFilter;
use crate::scheduler::taints;

pub const REASON_UNSCHEDULABLE: &str = "node(s) were unschedulable";
pub const REASON_NODE_AFFINITY: &str = "node(s) didn't match Pod's node affinity/selector";
pub const REASON_PORTS: &str = "node(s) didn't have free ports for the requested pod ports";
pub const REASON_TOO_MANY_PODS: &str = "Too many pods";
/// Nodes ruled out by `metadata.name` pins before filtering (e.g. other nodes for a DaemonSet pod).
pub const REASON_NAME_PINNED: &str = "node(s) didn't satisfy plugin(s) [NodeAffinity]";
/// Every required term pins `metadata.name` and no name survives.
pub const REASON_AFFINITY_CONFLICT: &str = "pod affinity terms conflict";

/// Why a node cannot take the pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Upstream's reason strings; resources can give several at once.
    pub reasons: Vec<String>,
    /// True when evicting pods could not help either (upstream's UnschedulableAndUnresolvable);
    /// it decides the wording of the preemption part of the message.
    pub unresolvable: bool,
}

impl Rejection {
    fn new(reason: impl Into<String>, unresolvable: bool) -> Self {
        Rejection {
            reasons: vec![reason.into()],
            unresolvable,
        }
    }
}

pub type FilterResult = Result<(), Rejection>;

fn tolerations(pod: &Pod) -> &[k8s_openapi::api::core::v1::Toleration] {
    pod.spec
        .as_ref()
        .and_then(|s| s.tolerations.as_deref())
        .unwrap_or_default()
}

/// Cordoned nodes (`spec.unschedulable`), unless the pod tolerates the cordon taint.
pub fn node_unschedulable(pod: &Pod, node: &Node) -> FilterResult {
    let cordoned = node
        .spec
        .as_ref()
        .and_then(|s| s.unschedulable)
        .unwrap_or(false);
    let cordon = Taint {
        key: "node.kubernetes.io/unschedulable".into(),
        effect: taints::NO_SCHEDULE.into(),
        ..Taint::default()
    };
    if cordoned && !taints::tolerated_by(tolerations(pod), &cordon) {
        return Err(Rejection::new(REASON_UNSCHEDULABLE, true));
    }
    Ok(())
}

/// The reason for an untolerated taint: `{key: value}`, with an empty value left empty.
pub fn untolerated_taint_reason(taint: &Taint) -> String {
    format!(
        "node(s) had untolerated taint {{{}: {}}}",
        taint.key,
        taint.value.as_deref().unwrap_or_default()
    )
}

/// NoSchedule and NoExecute taints the pod does not tolerate. Node readiness is handled here
/// too: the node lifecycle controller marks unready nodes with not-ready/unreachable taints.
pub fn taint_toleration(pod: &Pod, node: &Node) -> FilterResult {
    match taints::first_untolerated(taints::node_taints(node), tolerations(pod)) {
        Some(t) => Err(Rejection::new(untolerated_taint_reason(t), true)),
        None => Ok(()),
    }
}

/// nodeSelector and required node affinity.
pub fn node_affinity(pod: &Pod, node: &Node) -> FilterResult {
    if node_affinity::matches_required(pod, node) {
        Ok(())
    } else {
        Err(Rejection::new(REASON_NODE_AFFINITY, true))
    }
}

/// Host ports: a wanted (ip, protocol, port) clashes with a used one on the same IP, and
/// 0.0.0.0 on either side clashes with every IP.
pub fn node_ports(pod: &Pod, info: &NodeInfo) -> FilterResult {
    let conflict = snapshot::host_ports(pod).iter().any(|want| {
        info.used_ports.iter().any(|used| {
            used.port == want.port
                && used.protocol == want.protocol
                && (used.ip == want.ip || used.ip == "0.0.0.0" || want.ip == "0.0.0.0")
        })
    });
    if conflict {
        Err(Rejection::new(REASON_PORTS, false))
    } else {
        Ok(())
    }
}

/// Requests against allocatable minus what bound pods request, plus the pod count. Every
/// shortfall is reported; preemption cannot help when the request exceeds the whole node.
pub fn node_resources_fit(request: &Resources, info: &NodeInfo) -> FilterResult {
    let alloc = &info.allocatable;
    let used = &info.requested;
    let mut reasons = Vec::new();
    let mut unresolvable = false;
    let pods_here = i64::try_from(info.pods.len()).unwrap_or(i64::MAX);
    if pods_here.saturating_add(1) > alloc.pods {
        reasons.push(REASON_TOO_MANY_PODS.to_string());
    }
    if !request.is_zero() {
        let mut check = |name: &str, want: i64, have: i64, in_use: i64| {
            if want > 0 && want > have.saturating_sub(in_use) {
                reasons.push(format!("Insufficient {name}"));
                unresolvable |= want > have;
            }
        };
        check(
            "cpu",
            request.milli_cpu,
            alloc.resources.milli_cpu,
            used.milli_cpu,
        );
        check(
            "memory",
            request.memory,
            alloc.resources.memory,
            used.memory,
        );
        check(
            "ephemeral-storage",
            request.ephemeral_storage,
            alloc.resources.ephemeral_storage,
            used.ephemeral_storage,
        );
        for (name, want) in &request.scalar {
            let have = alloc.resources.scalar.get(name).copied().unwrap_or(0);
            let in_use = used.scalar.get(name).copied().unwrap_or(0);
            check(name, *want, have, in_use);
        }
    }
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(Rejection {
            reasons,
            unresolvable,
        })
    }
}

/// Outcome of filtering all nodes.
pub enum Filtered {
    /// Indexes into the snapshot's nodes that can take the pod.
    Feasible(Vec<usize>),
    /// No node can; the rejections, keyed by node name.
    None(Diagnosis),
}

pub struct Diagnosis {
    /// A rejection of the pod as a whole, before any node was looked at.
    pub pre_filter: Option<Rejection>,
    pub per_node: BTreeMap<String, Rejection>,
}

/// Runs the filters over every node. Upstream's NodeAffinity PreFilter comes first: when the
/// pod pins node names, other nodes are rejected without being filtered.
pub fn run(pod: &Pod, snapshot: &Snapshot) -> Filtered {
    let mut per_node = BTreeMap::new();
    let pins = node_affinity::name_pins(pod);
    if pins == NamePins::Conflict {
        let rejection = Rejection::new(REASON_AFFINITY_CONFLICT, true);
        for info in &snapshot.nodes {
            per_node.insert(info.name.to_string(), rejection.clone());
        }
        return Filtered::None(Diagnosis {
            pre_filter: Some(rejection),
            per_node,
        });
    }
    let request = resources::pod_requests(pod, false);
    let affinity = AffinityState::new(pod, snapshot);
    let spread = SpreadFilter::new(pod, snapshot);
    let mut feasible = Vec::new();
    for (i, info) in snapshot.nodes.iter().enumerate() {
        let outcome = match &pins {
            NamePins::Only(names) if !names.contains(info.name) => {
                Err(Rejection::new(REASON_NAME_PINNED, true))
            }
            _ => filter_node(pod, info, &request, &affinity, &spread),
        };
        match outcome {
            Ok(()) => feasible.push(i),
            Err(r) => {
                per_node.insert(info.name.to_string(), r);
            }
        }
    }
    if feasible.is_empty() {
        Filtered::None(Diagnosis {
            pre_filter: None,
            per_node,
        })
    } else {
        Filtered::Feasible(feasible)
    }
}

/// The filters for one node, stopping at the first that rejects it.
fn filter_node(
    pod: &Pod,
    info: &NodeInfo,
    request: &Resources,
    affinity: &AffinityState,
    spread: &SpreadFilter,
) -> FilterResult {
    node_unschedulable(pod, info.node)?;
    taint_toleration(pod, info.node)?;
    node_affinity(pod, info.node)?;
    node_ports(pod, info)?;
    node_resources_fit(request, info)?;
    spread
        .check(info)
        .map_err(|(reason, unresolvable)| Rejection::new(reason, unresolvable))?;
    affinity
        .check(info.node)
        .map_err(|(reason, unresolvable)| Rejection::new(reason, unresolvable))
}
