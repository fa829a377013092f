//! Pod facts the ReplicaSet controller counts and ranks by.

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;

const NANOS: i128 = 1_000_000_000;

/// Not terminating and not finished: a pod that still counts towards replicas.
pub fn is_active(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    pod.metadata.deletion_timestamp.is_none() && !matches!(phase, Some("Succeeded" | "Failed"))
}

/// Phase as upstream's ranking orders it; anything unknown ranks with Pending.
pub fn phase_ordinal(pod: &Pod) -> u8 {
    match pod.status.as_ref().and_then(|s| s.phase.as_deref()) {
        Some("Unknown") => 1,
        Some("Running") => 2,
        _ => 0,
    }
}

/// Whether the Ready condition is True.
pub fn is_ready(pod: &Pod) -> bool {
    ready_condition(pod).is_some_and(|c| c.status == "True")
}

/// When the pod last became ready, if it is ready and the time is known.
pub fn ready_since(pod: &Pod) -> Option<Timestamp> {
    ready_condition(pod)
        .filter(|c| c.status == "True")
        .and_then(|c| c.last_transition_time.as_ref())
        .map(|t| t.0)
}

/// Ready for longer than `min_ready_seconds` (strictly, as upstream).
pub fn is_available(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> bool {
    seconds_until_available(pod, min_ready_seconds, now) == Some(0)
}

/// `Some(0)` when available now, `Some(n)` when it will be after `n` more seconds of being
/// ready, `None` when not ready (or the ready time is unknown, which never becomes available).
pub fn seconds_until_available(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> Option<i64> {
    if !is_ready(pod) {
        return None;
    }
    if min_ready_seconds <= 0 {
        return Some(0);
    }
    let since = ready_condition(pod)?.last_transition_time.as_ref()?;
    let due = since.0.as_nanosecond() + i128::from(min_ready_seconds) * NANOS;
    let now = now.as_nanosecond();
    let wait = if due < now {
        0
    } else {
        (due - now) / NANOS + 1
    };
    Some(i64::try_from(wait).unwrap_or(i64::MAX))
}

/// Highest restart count of any container.
pub fn max_restarts(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .into_iter()
        .flatten()
        .map(|c| c.restart_count)
        .max()
        .unwrap_or(0)
}

fn ready_condition(pod: &Pod) -> Option<&k8s_openapi::api::core::v1::PodCondition> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
}
