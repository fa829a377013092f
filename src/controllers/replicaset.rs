//! ReplicaSet controller decisions (upstream pkg/controller/replicaset): claim pods, decide
//! how many to create and which to delete, and compute the status.
//!
//! The caller must not act on a second `sync` until the pods it created or deleted for the
//! first are visible in `pods` (upstream's "expectations"); otherwise it creates twice.

mod status;
#[cfg(test)]
mod tests;

use std::borrow::Borrow;

use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use k8s_openapi::jiff::Timestamp;

use crate::controllers::owner::{self, Claim, Claimer};
use crate::controllers::{pods, ranking};
use crate::kinds::labels;

/// Most pods created or deleted in one sync, so one huge scale-up cannot flood the API.
pub const BURST_REPLICAS: usize = 500;
/// First batch of a slow-start creation run; each later batch doubles.
pub const SLOW_START_INITIAL_BATCH: usize = 1;

/// The writes one ReplicaSet sync asks for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RsPlan {
    /// Pods to adopt: add [`owner_reference`] to each.
    pub adopt: Vec<String>,
    /// Pods to release: remove the reference with this ReplicaSet's uid.
    pub release: Vec<String>,
    /// How many pods to create from [`new_pod`], in the batches of [`slow_start_batches`],
    /// stopping at the first failed batch.
    pub create: usize,
    /// Pods to delete, most deletable first.
    pub delete: Vec<String>,
    /// The status to write when it differs from the current one.
    pub status: ReplicaSetStatus,
    /// Sync again after this many seconds, when a ready pod will have become available.
    pub requeue_after: Option<i64>,
}

/// One sync of `rs` against `pods`, all pods of its namespace. `create_error` is the message
/// of the previous sync's failed creation, if any; it surfaces as the ReplicaFailure
/// condition and its absence clears that condition.
pub fn sync<P: Borrow<Pod>>(
    rs: &ReplicaSet,
    pods: &[P],
    now: Timestamp,
    create_error: Option<&str>,
) -> RsPlan {
    let spec = rs.spec.clone().unwrap_or_default();
    // Validation forbids an empty selector; should one slip through, taking every pod of
    // the namespace would be far worse than doing nothing.
    let selector_usable = !labels::is_empty(&spec.selector);
    let claimer = Claimer {
        meta: &rs.metadata,
        selector: &spec.selector,
    };
    let mut plan = RsPlan::default();
    let mut owned: Vec<&Pod> = Vec::new();
    for pod in pods
        .iter()
        .map(Borrow::borrow)
        .filter(|p| pods::is_active(p))
    {
        let name = || pod.metadata.name.clone().unwrap_or_default();
        match owner::claim(&claimer, &pod.metadata) {
            Claim::Owned => owned.push(pod),
            Claim::Adopt if selector_usable => {
                plan.adopt.push(name());
                owned.push(pod);
            }
            Claim::Release => plan.release.push(name()),
            Claim::Adopt | Claim::Ignore => {}
        }
    }

    let deleting = rs.metadata.deletion_timestamp.is_some();
    let want = usize::try_from(spec.replicas.unwrap_or(1)).unwrap_or(0);
    if selector_usable && !deleting {
        if owned.len() < want {
            plan.create = (want - owned.len()).min(BURST_REPLICAS);
        } else if owned.len() > want {
            let excess = (owned.len() - want).min(BURST_REPLICAS);
            plan.delete = ranking::for_deletion(&owned, &owned, now)
                .into_iter()
                .take(excess)
                .map(|p| p.metadata.name.clone().unwrap_or_default())
                .collect();
        }
    }

    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    plan.status = status::calculate(rs, &owned, now, create_error);
    plan.requeue_after = owned
        .iter()
        .filter_map(|p| pods::seconds_until_available(p, min_ready, now))
        .filter(|s| *s > 0)
        .min();
    plan
}

/// Sizes of the creation batches for `count` pods: 1, 2, 4, … as upstream's slowStartBatch,
/// so a template that cannot be created fails once rather than `count` times.
pub fn slow_start_batches(count: usize) -> Vec<usize> {
    let mut batches = Vec::new();
    let mut remaining = count;
    let mut size = remaining.min(SLOW_START_INITIAL_BATCH);
    while size > 0 {
        batches.push(size);
        remaining -= size;
        size = size.saturating_mul(2).min(remaining);
    }
    batches
}

/// The controller reference a pod of `rs` carries.
pub fn owner_reference(rs: &ReplicaSet) -> OwnerReference {
    owner::controller_ref("apps/v1", "ReplicaSet", &rs.metadata)
}

/// A pod to create for `rs`, named by the server from `<rs-name>-`.
pub fn new_pod(rs: &ReplicaSet) -> Pod {
    let template = rs.spec.as_ref().and_then(|s| s.template.clone());
    pods::from_template(
        template.unwrap_or_default(),
        &rs.metadata,
        owner_reference(rs),
    )
}

/// Event (reason, message) for a created pod, in upstream's words.
pub fn created_event(pod_name: &str) -> (&'static str, String) {
    ("SuccessfulCreate", format!("Created pod: {pod_name}"))
}

/// Event (reason, message) for a deleted pod, in upstream's words.
pub fn deleted_event(pod_name: &str) -> (&'static str, String) {
    ("SuccessfulDelete", format!("Deleted pod: {pod_name}"))
}

/// Warning event (reason, message) for a failed creation, in upstream's words.
pub fn failed_create_event(error: &str) -> (&'static str, String) {
    ("FailedCreate", format!("Error creating: {error}"))
}
