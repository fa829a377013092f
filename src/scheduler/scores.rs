//! Scoring of feasible nodes: each plugin gives 0..=100 per node, and the total is the
//! weighted sum with upstream's default weights.

use k8s_openapi::api::core::v1::Pod;

use crate::scheduler::node_affinity;
use crate::scheduler::resources::{self, Resources};
use crate::scheduler::snapshot::{NodeInfo, Snapshot};
use crate::scheduler::spread;
use crate::scheduler::taints;

pub const MAX_NODE_SCORE: i64 = 100;

/// Upstream's default score plugins and weights (kube-scheduler's default profile). The
/// InterPodAffinity (2) and ImageLocality (1) scores are not computed here, so they add 0.
pub const WEIGHTS: [(&str, i64); 5] = [
    ("TaintToleration", 3),
    ("NodeAffinity", 2),
    ("NodeResourcesFit", 1),
    ("PodTopologySpread", 2),
    ("NodeResourcesBalancedAllocation", 1),
];

/// One feasible node's scores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeScore {
    pub node: String,
    /// Weighted sum of the plugin scores.
    pub total: i64,
    /// Each plugin's 0..=100 score before weighting, in `WEIGHTS` order.
    pub plugins: Vec<(&'static str, i64)>,
}

/// Scores the feasible nodes (indexes into the snapshot), in that order.
pub fn score(pod: &Pod, snapshot: &Snapshot, feasible: &[usize]) -> Vec<NodeScore> {
    let infos: Vec<&NodeInfo> = feasible
        .iter()
        .filter_map(|i| snapshot.nodes.get(*i))
        .collect();
    let per_plugin: [Vec<i64>; 5] = [
        taint_toleration(pod, &infos),
        node_affinity(pod, &infos),
        least_allocated(pod, &infos),
        spread::scores(pod, snapshot, feasible).unwrap_or_else(|| vec![0; infos.len()]),
        balanced_allocation(pod, &infos),
    ];
    infos
        .iter()
        .enumerate()
        .map(|(i, info)| {
            let plugins: Vec<(&'static str, i64)> = WEIGHTS
                .iter()
                .zip(&per_plugin)
                .map(|((name, _), scores)| (*name, scores.get(i).copied().unwrap_or(0)))
                .collect();
            let total = plugins
                .iter()
                .zip(WEIGHTS)
                .map(|((_, s), (_, w))| s * w)
                .sum();
            NodeScore {
                node: info.name.to_string(),
                total,
                plugins,
            }
        })
        .collect()
}

/// Upstream's DefaultNormalizeScore: scale so the highest raw score becomes 100 (or, with
/// `reverse`, the lowest raw score becomes 100). All zeros stay 0, or become 100 reversed.
fn normalize(raw: &[i64], reverse: bool) -> Vec<i64> {
    let max = raw.iter().copied().max().unwrap_or(0).max(0);
    if max == 0 {
        return vec![if reverse { MAX_NODE_SCORE } else { 0 }; raw.len()];
    }
    raw.iter()
        .map(|s| {
            // Clamped because invalid (negative) weights would otherwise leave 0..=100.
            let scaled = (MAX_NODE_SCORE.saturating_mul(*s) / max).clamp(0, MAX_NODE_SCORE);
            if reverse {
                MAX_NODE_SCORE - scaled
            } else {
                scaled
            }
        })
        .collect()
}

/// Fewer untolerated PreferNoSchedule taints is better.
fn taint_toleration(pod: &Pod, infos: &[&NodeInfo]) -> Vec<i64> {
    let tolerations = pod
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.as_deref())
        .unwrap_or_default();
    let raw: Vec<i64> = infos
        .iter()
        .map(|i| taints::intolerable_prefer_no_schedule(taints::node_taints(i.node), tolerations))
        .collect();
    normalize(&raw, true)
}

/// Sum of matched preferred-term weights, scaled so the best node gets 100; pods without
/// preferred terms are not scored.
fn node_affinity(pod: &Pod, infos: &[&NodeInfo]) -> Vec<i64> {
    let raw: Option<Vec<i64>> = infos
        .iter()
        .map(|i| node_affinity::preferred_weight(pod, i.node))
        .collect();
    match raw {
        Some(raw) => normalize(&raw, false),
        None => vec![0; infos.len()],
    }
}

/// NodeResourcesFit's default LeastAllocated strategy: the share of cpu and memory left free
/// after placing the pod, averaged. Request-less pods count at the scoring defaults so that
/// they spread out too.
fn least_allocated(pod: &Pod, infos: &[&NodeInfo]) -> Vec<i64> {
    let request = resources::pod_requests(pod, true);
    infos
        .iter()
        .map(|info| {
            let pairs = cpu_memory(
                &info.non_zero_requested,
                &request,
                &info.allocatable.resources,
            );
            // Resources the node has none of are left out of the average.
            let scores: Vec<i64> = pairs
                .iter()
                .filter(|(_, alloc)| *alloc > 0)
                .map(|(req, alloc)| {
                    if req > alloc {
                        0
                    } else {
                        let free = i128::from(alloc - req) * i128::from(MAX_NODE_SCORE);
                        i64::try_from(free / i128::from(*alloc)).unwrap_or(0)
                    }
                })
                .collect();
            if scores.is_empty() {
                0
            } else {
                scores.iter().sum::<i64>() / scores.len() as i64
            }
        })
        .collect()
}

/// Favours nodes whose cpu and memory would be used in equal proportion. Uses the real
/// requests (no defaults), and skips pods that request neither, as upstream does, so
/// request-less pods are not all drawn to the same node.
fn balanced_allocation(pod: &Pod, infos: &[&NodeInfo]) -> Vec<i64> {
    let request = resources::pod_requests(pod, false);
    if request.milli_cpu == 0 && request.memory == 0 {
        return vec![0; infos.len()];
    }
    infos
        .iter()
        .map(|info| {
            let fractions: Vec<f64> =
                cpu_memory(&info.requested, &request, &info.allocatable.resources)
                    .iter()
                    .filter(|(_, alloc)| *alloc > 0)
                    .map(|(req, alloc)| (*req as f64 / *alloc as f64).min(1.0))
                    .collect();
            // Standard deviation of the two usage fractions; with two values it is half their gap.
            let std = match fractions.as_slice() {
                [a, b] => ((a - b) / 2.0).abs(),
                _ => 0.0,
            };
            ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
        })
        .collect()
}

/// (requested including the pod, allocatable) for cpu and memory.
fn cpu_memory(node_requested: &Resources, pod: &Resources, alloc: &Resources) -> [(i64, i64); 2] {
    [
        (
            node_requested.milli_cpu.saturating_add(pod.milli_cpu),
            alloc.milli_cpu,
        ),
        (
            node_requested.memory.saturating_add(pod.memory),
            alloc.memory,
        ),
    ]
}

/// "node-1=143 node-2=187", for log lines.
pub fn format_scores(scores: &[NodeScore]) -> String {
    scores
        .iter()
        .map(|s| format!("{}={}", s.node, s.total))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_like_upstream() {
        assert_eq!(normalize(&[0, 5, 10], false), vec![0, 50, 100]);
        assert_eq!(normalize(&[0, 1, 3], true), vec![100, 67, 0]);
        assert_eq!(normalize(&[0, 0], false), vec![0, 0]);
        assert_eq!(normalize(&[0, 0], true), vec![100, 100]);
        assert_eq!(normalize(&[], true), Vec::<i64>::new());
        assert_eq!(normalize(&[-5, 10], false), vec![0, 100]);
    }
}
