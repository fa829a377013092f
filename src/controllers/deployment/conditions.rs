//! Deployment conditions with upstream's update rules.

use k8s_openapi::api::apps::v1::{DeploymentCondition, DeploymentStatus, ReplicaSetCondition};
use k8s_openapi::jiff::Timestamp;

use crate::controllers::clock;

pub const AVAILABLE: &str = "Available";
pub const PROGRESSING: &str = "Progressing";
pub const REPLICA_FAILURE: &str = "ReplicaFailure";

pub const NEW_RS_CREATED: &str = "NewReplicaSetCreated";
pub const FOUND_NEW_RS: &str = "FoundNewReplicaSet";
pub const RS_UPDATED: &str = "ReplicaSetUpdated";
pub const NEW_RS_AVAILABLE: &str = "NewReplicaSetAvailable";
pub const TIMED_OUT: &str = "ProgressDeadlineExceeded";
pub const PAUSED: &str = "DeploymentPaused";
pub const RESUMED: &str = "DeploymentResumed";
pub const MIN_AVAILABLE: &str = "MinimumReplicasAvailable";
pub const MIN_UNAVAILABLE: &str = "MinimumReplicasUnavailable";

pub fn new(
    type_: &str,
    status: &str,
    reason: &str,
    message: String,
    now: Timestamp,
) -> DeploymentCondition {
    DeploymentCondition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason: Some(reason.to_owned()),
        message: Some(message),
        last_update_time: Some(clock::stamp(now)),
        last_transition_time: Some(clock::stamp(now)),
    }
}

pub fn get<'s>(st: &'s DeploymentStatus, type_: &str) -> Option<&'s DeploymentCondition> {
    st.conditions.as_ref()?.iter().find(|c| c.type_ == type_)
}

pub fn reason(st: &DeploymentStatus, type_: &str) -> Option<String> {
    get(st, type_).and_then(|c| c.reason.clone())
}

/// Upstream SetDeploymentCondition: a condition with the same status and reason stays as it
/// is (times included); one with the same status keeps its lastTransitionTime.
pub fn set(st: &mut DeploymentStatus, mut cond: DeploymentCondition) {
    if let Some(current) = get(st, &cond.type_) {
        if current.status == cond.status && current.reason == cond.reason {
            return;
        }
        if current.status == cond.status {
            cond.last_transition_time = current.last_transition_time.clone();
        }
    }
    remove(st, &cond.type_.clone());
    st.conditions.get_or_insert_with(Vec::new).push(cond);
}

pub fn remove(st: &mut DeploymentStatus, type_: &str) {
    if let Some(list) = st.conditions.as_mut() {
        list.retain(|c| c.type_ != type_);
        if list.is_empty() {
            st.conditions = None;
        }
    }
}

/// A ReplicaSet's failure as a deployment condition (upstream ReplicaSetToDeploymentCondition).
pub fn from_replica_set(c: &ReplicaSetCondition) -> DeploymentCondition {
    DeploymentCondition {
        type_: c.type_.clone(),
        status: c.status.clone(),
        reason: c.reason.clone(),
        message: c.message.clone(),
        last_update_time: c.last_transition_time.clone(),
        last_transition_time: c.last_transition_time.clone(),
    }
}
