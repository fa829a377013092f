//! Pod facts the workload controllers count and rank by, and the pods they create.

use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::jiff::Timestamp;

/// Longest pod name prefix that still leaves the `-` valid in a DNS subdomain name.
const MAX_NAME_LEN: usize = 253;

/// A pod from a workload's template, as upstream's controllers make them: the template's
/// labels, annotations and finalizers, the owner's namespace and controller reference, and
/// a name the server generates from `<owner-name>-`.
pub fn from_template(
    template: PodTemplateSpec,
    owner: &ObjectMeta,
    reference: OwnerReference,
) -> Pod {
    let meta = template.metadata.unwrap_or_default();
    let name = owner.name.clone().unwrap_or_default();
    // Upstream drops the dash when it would make the prefix an invalid name.
    let generate_name = if name.len() < MAX_NAME_LEN {
        format!("{name}-")
    } else {
        name
    };
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(generate_name),
            namespace: owner.namespace.clone(),
            labels: meta.labels,
            annotations: meta.annotations,
            finalizers: meta.finalizers,
            owner_references: Some(vec![reference]),
            ..ObjectMeta::default()
        },
        spec: template.spec,
        status: None,
    }
}

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
