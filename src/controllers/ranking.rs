//! Which pods a ReplicaSet deletes first when it has too many (upstream ActivePodsWithRanks
//! with pod-deletion-cost and logarithmic scale-down, both on by default in 1.33).

use std::cmp::Ordering;
use std::collections::HashMap;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;

use crate::controllers::pods;

/// Annotation by which users make a pod cheaper or dearer to delete.
pub const DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";

/// `pods` ordered most-deletable first. `related` are the pods whose placement counts for
/// the "doubled up" rule (pods on a node crowded with related pods go first); upstream uses
/// all pods of the sibling ReplicaSets under the same owner, callers here pass what they know.
pub fn for_deletion<'a>(pods: &[&'a Pod], related: &[&Pod], now: Timestamp) -> Vec<&'a Pod> {
    let mut per_node: HashMap<&str, usize> = HashMap::new();
    for pod in related.iter().filter(|p| pods::is_active(p)) {
        *per_node.entry(node(pod)).or_default() += 1;
    }
    let mut ranked: Vec<(&Pod, usize)> = pods
        .iter()
        .map(|p| (*p, per_node.get(node(p)).copied().unwrap_or(0)))
        .collect();
    ranked.sort_by(|a, b| compare(a, b, now));
    ranked.into_iter().map(|(p, _)| p).collect()
}

fn node(pod: &Pod) -> &str {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .unwrap_or_default()
}

fn deletion_cost(pod: &Pod) -> i32 {
    pod.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(DELETION_COST))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// `Less` means "delete first".
fn compare(a: &(&Pod, usize), b: &(&Pod, usize), now: Timestamp) -> Ordering {
    let (pa, rank_a) = (a.0, a.1);
    let (pb, rank_b) = (b.0, b.1);
    let (na, nb) = (node(pa), node(pb));
    if na != nb && (na.is_empty() || nb.is_empty()) {
        // Unscheduled pods cost nothing to lose.
        return nb.is_empty().cmp(&na.is_empty());
    }
    pods::phase_ordinal(pa)
        .cmp(&pods::phase_ordinal(pb))
        .then_with(|| pods::is_ready(pa).cmp(&pods::is_ready(pb)))
        .then_with(|| deletion_cost(pa).cmp(&deletion_cost(pb)))
        .then_with(|| rank_b.cmp(&rank_a))
        .then_with(|| {
            if pods::is_ready(pa) && pods::is_ready(pb) {
                newer_first(pods::ready_since(pa), pods::ready_since(pb), pa, pb, now)
            } else {
                Ordering::Equal
            }
        })
        .then_with(|| pods::max_restarts(pb).cmp(&pods::max_restarts(pa)))
        .then_with(|| {
            let created = |p: &Pod| p.metadata.creation_timestamp.as_ref().map(|t| t.0);
            newer_first(created(pa), created(pb), pa, pb, now)
        })
}

/// Unknown times first, then more recent ones. Times are compared on a log2 scale of their
/// age so that pods of similar age are spread by UID rather than always losing the newest.
fn newer_first(
    a: Option<Timestamp>,
    b: Option<Timestamp>,
    pa: &Pod,
    pb: &Pod,
    now: Timestamp,
) -> Ordering {
    match (a, b) {
        (x, y) if x == y => Ordering::Equal,
        (None, _) => Ordering::Less,
        (_, None) => Ordering::Greater,
        (Some(x), Some(y)) => match log_age(x, now).cmp(&log_age(y, now)) {
            Ordering::Equal => uid(pa).cmp(uid(pb)),
            other => other,
        },
    }
}

fn log_age(t: Timestamp, now: Timestamp) -> i64 {
    let age = now.as_nanosecond() - t.as_nanosecond();
    if age > 0 {
        // Truncation is the point: only the power of two matters.
        (age as f64).log2() as i64
    } else {
        -1
    }
}

fn uid(pod: &Pod) -> &str {
    pod.metadata.uid.as_deref().unwrap_or_default()
}
