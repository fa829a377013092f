//! Why a pod fits no node, rendered as upstream's FailedScheduling message:
//! `0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: },
//! 2 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.`

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::core::v1::Pod;

use crate::scheduler::filters::{Diagnosis, Rejection};

/// Upstream's text when the cluster has no node at all.
pub const NO_NODES: &str = "no nodes available to schedule pods";
const NOT_HELPFUL: &str = "Preemption is not helpful for scheduling";
const NO_VICTIMS: &str = "No preemption victims found for incoming pod";
const NEVER_PREEMPTS: &str = "not eligible due to preemptionPolicy=Never.";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FitError {
    /// How many nodes the cluster has (the N of "0/N").
    pub nodes: usize,
    /// Set when the pod was rejected as a whole before nodes were filtered.
    pub pre_filter: Option<String>,
    /// Each node's rejection, keyed by node name.
    pub per_node: BTreeMap<String, Rejection>,
    /// How many nodes gave each reason (a node short of cpu and memory counts for both).
    pub reasons: BTreeMap<String, usize>,
    /// The "preemption: ..." part. kwb never preempts; this is what upstream reports when no
    /// lower-priority pod could make room (every pod at the same priority, the usual case).
    pub preemption: String,
}

impl FitError {
    pub fn no_nodes() -> Self {
        FitError {
            nodes: 0,
            pre_filter: None,
            per_node: BTreeMap::new(),
            reasons: BTreeMap::new(),
            preemption: String::new(),
        }
    }

    pub(crate) fn new(pod: &Pod, nodes: usize, diagnosis: Diagnosis) -> Self {
        let mut reasons = BTreeMap::new();
        for r in diagnosis.per_node.values() {
            for reason in &r.reasons {
                *reasons.entry(reason.clone()).or_insert(0) += 1;
            }
        }
        let preemption = preemption_message(pod, nodes, &diagnosis.per_node);
        FitError {
            nodes,
            pre_filter: diagnosis.pre_filter.map(|r| r.reasons.join(", ")),
            per_node: diagnosis.per_node,
            reasons,
            preemption,
        }
    }
}

/// Upstream's preemption verdict without any victim: nodes that failed for a reason eviction
/// could fix find no lower-priority pod to evict; on the others it would not help.
fn preemption_message(pod: &Pod, nodes: usize, per_node: &BTreeMap<String, Rejection>) -> String {
    let never = pod
        .spec
        .as_ref()
        .and_then(|s| s.preemption_policy.as_deref())
        == Some("Never");
    if never {
        return format!("preemption: {NEVER_PREEMPTS}");
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in per_node.values() {
        *counts
            .entry(if r.unresolvable {
                NOT_HELPFUL
            } else {
                NO_VICTIMS
            })
            .or_insert(0) += 1;
    }
    format!(
        "preemption: 0/{nodes} nodes are available: {}.",
        histogram(&counts)
    )
}

/// "N reason" entries joined with ", ", sorted as strings the way upstream sorts them (so the
/// count takes part in the order: "1 x" < "2 a", and "10 x" < "2 a").
fn histogram<K: AsRef<str>>(counts: &BTreeMap<K, usize>) -> String {
    let mut entries: Vec<String> = counts
        .iter()
        .map(|(reason, n)| format!("{n} {}", reason.as_ref()))
        .collect();
    entries.sort();
    entries.join(", ")
}

impl fmt::Display for FitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nodes == 0 {
            return f.write_str(NO_NODES);
        }
        write!(f, "0/{} nodes are available:", self.nodes)?;
        match &self.pre_filter {
            Some(msg) => write!(f, " {msg}.")?,
            None if !self.reasons.is_empty() => write!(f, " {}.", histogram(&self.reasons))?,
            None => {}
        }
        if !self.preemption.is_empty() {
            write!(f, " {}", self.preemption)?;
        }
        Ok(())
    }
}

impl std::error::Error for FitError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_sorts_formatted_strings() {
        let counts = BTreeMap::from([("b", 10), ("a", 2), ("c", 1)]);
        assert_eq!(histogram(&counts), "1 c, 10 b, 2 a");
    }

    #[test]
    fn zero_nodes() {
        assert_eq!(
            FitError::no_nodes().to_string(),
            "no nodes available to schedule pods"
        );
    }
}
