//! ReplicaSet status from the pods it owns (upstream calculateStatus).

use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetCondition, ReplicaSetStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;

use crate::controllers::{clock, pods};

const REPLICA_FAILURE: &str = "ReplicaFailure";

/// Counts are written as the API omits zeros (`omitempty`), except `replicas`, which the
/// API always carries.
pub fn calculate(
    rs: &ReplicaSet,
    owned: &[&Pod],
    now: Timestamp,
    create_error: Option<&str>,
) -> ReplicaSetStatus {
    let spec = rs.spec.as_ref();
    let template_labels = spec
        .and_then(|s| s.template.as_ref())
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.as_ref());
    let min_ready = spec.and_then(|s| s.min_ready_seconds).unwrap_or(0);
    let count = |f: &dyn Fn(&Pod) -> bool| owned.iter().filter(|p| f(p)).count();

    let fully_labeled = count(&|p: &Pod| {
        template_labels
            .into_iter()
            .flatten()
            .all(|(k, v)| p.metadata.labels.as_ref().and_then(|l| l.get(k)) == Some(v))
    });
    let ready = count(&pods::is_ready);
    let available = count(&|p: &Pod| pods::is_available(p, min_ready, now));

    let mut conditions = rs
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let has_failure = conditions.iter().any(|c| c.type_ == REPLICA_FAILURE);
    match create_error {
        // Upstream keeps the first failure's time and message until the failures stop.
        Some(message) if !has_failure => conditions.push(ReplicaSetCondition {
            type_: REPLICA_FAILURE.to_owned(),
            status: "True".to_owned(),
            reason: Some("FailedCreate".to_owned()),
            message: Some(message.to_owned()),
            last_transition_time: Some(clock::stamp(now)),
        }),
        None if has_failure => conditions.retain(|c| c.type_ != REPLICA_FAILURE),
        _ => {}
    }

    ReplicaSetStatus {
        replicas: to_i32(owned.len()),
        fully_labeled_replicas: non_zero(fully_labeled),
        ready_replicas: non_zero(ready),
        available_replicas: non_zero(available),
        observed_generation: rs.metadata.generation,
        conditions: (!conditions.is_empty()).then_some(conditions),
        terminating_replicas: None,
    }
}

fn to_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn non_zero(n: usize) -> Option<i32> {
    (n > 0).then(|| to_i32(n))
}
