//! Spec defaults, strategy arithmetic and ReplicaSet accessors shared by the steps.

use std::cmp::Ordering;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStatus, ReplicaSet};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// Revision of a ReplicaSet in its deployment's rollout sequence (and of the deployment).
pub const REVISION: &str = "deployment.kubernetes.io/revision";
/// Earlier revisions a ReplicaSet served, when a rollback made it current again.
pub const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
/// The deployment's replicas when the ReplicaSet was last sized; tells scaling from rollout.
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
/// replicas + maxSurge when last sized; the base of proportional scaling.
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
/// kubectl's record of the last applied object; never copied onto ReplicaSets.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
/// The change cause `kubectl rollout history` shows; copied like any other annotation.
pub const CHANGE_CAUSE: &str = "kubernetes.io/change-cause";
/// Pre-apps/v1 rollback request, still excluded from copying upstream.
pub const ROLLBACK_TO: &str = "deprecated.deployment.rollback.to";

/// The apiserver's defaults, applied here too so undefaulted objects behave alike.
const DEFAULT_PROGRESS_DEADLINE: i32 = 600;
const DEFAULT_REVISION_HISTORY_LIMIT: i32 = 10;
const DEFAULT_FENCEPOST: &str = "25%";

pub enum Strategy {
    RollingUpdate,
    Recreate,
    Unknown,
}

fn spec(d: &Deployment) -> DeploymentSpec {
    d.spec.clone().unwrap_or_default()
}

pub fn strategy(d: &Deployment) -> Strategy {
    let kind = d
        .spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.type_.as_deref());
    match kind {
        None | Some("RollingUpdate") => Strategy::RollingUpdate,
        Some("Recreate") => Strategy::Recreate,
        Some(_) => Strategy::Unknown,
    }
}

pub fn is_rolling(d: &Deployment) -> bool {
    matches!(strategy(d), Strategy::RollingUpdate)
}

pub fn paused(d: &Deployment) -> bool {
    d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false)
}

pub fn replicas(d: &Deployment) -> i32 {
    d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1).max(0)
}

pub fn min_ready_seconds(d: &Deployment) -> i32 {
    d.spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0)
}

/// Seconds without progress before a rollout counts as failed; `None` when disabled
/// (upstream's sentinel is MaxInt32).
pub fn progress_deadline(d: &Deployment) -> Option<i64> {
    let secs = spec(d)
        .progress_deadline_seconds
        .unwrap_or(DEFAULT_PROGRESS_DEADLINE);
    (secs != i32::MAX).then_some(i64::from(secs))
}

/// Old ReplicaSets to keep; `None` keeps all (MaxInt32).
pub fn revision_history_limit(d: &Deployment) -> Option<usize> {
    let limit = spec(d)
        .revision_history_limit
        .unwrap_or(DEFAULT_REVISION_HISTORY_LIMIT);
    (limit != i32::MAX).then(|| usize::try_from(limit).unwrap_or(0))
}

/// An int-or-percent of `total`: percents round up for surge and down for unavailability,
/// as upstream. Malformed values (which validation rejects) count as zero.
pub fn scaled(value: &IntOrString, total: i32, round_up: bool) -> i32 {
    let value = match value {
        IntOrString::Int(n) => return (*n).max(0),
        IntOrString::String(s) => s.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()),
    };
    let Some(percent) = value else { return 0 };
    let product = percent.max(0).saturating_mul(i64::from(total.max(0)));
    let result = if round_up {
        (product + 99) / 100
    } else {
        product / 100
    };
    i32::try_from(result).unwrap_or(i32::MAX)
}

/// (maxSurge, maxUnavailable) resolved against the desired replicas. When both come out as
/// zero, unavailability becomes 1: a rollout must be able to move, and surge may be blocked
/// by quota (upstream ResolveFenceposts).
fn fenceposts(d: &Deployment) -> (i32, i32) {
    let rolling = spec(d)
        .strategy
        .and_then(|s| s.rolling_update)
        .unwrap_or_default();
    let default = IntOrString::String(DEFAULT_FENCEPOST.to_owned());
    let total = replicas(d);
    let surge = scaled(rolling.max_surge.as_ref().unwrap_or(&default), total, true);
    let unavailable = scaled(
        rolling.max_unavailable.as_ref().unwrap_or(&default),
        total,
        false,
    );
    if surge == 0 && unavailable == 0 {
        (0, 1)
    } else {
        (surge, unavailable)
    }
}

pub fn max_surge(d: &Deployment) -> i32 {
    if is_rolling(d) { fenceposts(d).0 } else { 0 }
}

pub fn max_unavailable(d: &Deployment) -> i32 {
    let total = replicas(d);
    if !is_rolling(d) || total == 0 {
        return 0;
    }
    fenceposts(d).1.min(total)
}

/// Upstream DeploymentComplete: everything updated and available, generation observed.
pub fn deployment_complete(d: &Deployment, st: &DeploymentStatus) -> bool {
    let want = replicas(d);
    st.updated_replicas.unwrap_or(0) == want
        && st.replicas.unwrap_or(0) == want
        && st.available_replicas.unwrap_or(0) == want
        && st.observed_generation.unwrap_or(0) >= d.metadata.generation.unwrap_or(0)
}

pub fn rs_replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

pub fn rs_status_replicas(rs: &ReplicaSet) -> i32 {
    rs.status.as_ref().map_or(0, |s| s.replicas)
}

pub fn rs_ready(rs: &ReplicaSet) -> i32 {
    rs.status
        .as_ref()
        .and_then(|s| s.ready_replicas)
        .unwrap_or(0)
}

pub fn rs_available(rs: &ReplicaSet) -> i32 {
    rs.status
        .as_ref()
        .and_then(|s| s.available_replicas)
        .unwrap_or(0)
}

pub fn annotation<'r>(rs: &'r ReplicaSet, key: &str) -> Option<&'r str> {
    rs.metadata
        .annotations
        .as_ref()?
        .get(key)
        .map(String::as_str)
}

/// An integer annotation, `None` when absent or malformed.
pub fn int_annotation(rs: &ReplicaSet, key: &str) -> Option<i32> {
    annotation(rs, key)?.parse().ok()
}

/// The revision, 0 when unset, `None` when malformed (upstream skips such ReplicaSets).
pub fn revision(rs: &ReplicaSet) -> Option<i64> {
    match annotation(rs, REVISION) {
        None => Some(0),
        Some(v) => v.parse().ok(),
    }
}

/// Oldest first; equal times by name, so the order is total.
pub fn by_creation(a: &ReplicaSet, b: &ReplicaSet) -> Ordering {
    let created = |rs: &ReplicaSet| rs.metadata.creation_timestamp.clone();
    created(a)
        .cmp(&created(b))
        .then_with(|| a.metadata.name.cmp(&b.metadata.name))
}

/// Lowest revision first, by creation when revisions tie or do not parse.
pub fn by_revision(a: &ReplicaSet, b: &ReplicaSet) -> Ordering {
    match (revision(a), revision(b)) {
        (Some(x), Some(y)) if x != y => x.cmp(&y),
        _ => by_creation(a, b),
    }
}

/// Sum of `f` over the ReplicaSets at `indices`.
pub fn sum(rss: &[ReplicaSet], indices: &[usize], f: fn(&ReplicaSet) -> i32) -> i32 {
    indices
        .iter()
        .filter_map(|i| rss.get(*i))
        .fold(0i32, |acc, rs| acc.saturating_add(f(rs)))
}

/// The indices whose ReplicaSets want pods (upstream FilterActiveReplicaSets).
pub fn active(rss: &[ReplicaSet], indices: &[usize]) -> Vec<usize> {
    indices
        .iter()
        .copied()
        .filter(|i| rss.get(*i).is_some_and(|rs| rs_replicas(rs) > 0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::fixtures::from;
    use serde_json::json;

    fn d(replicas: i32, surge: serde_json::Value, unavailable: serde_json::Value) -> Deployment {
        from(
            json!({"metadata": {"name": "d"}, "spec": {"replicas": replicas,
            "selector": {"matchLabels": {"a": "b"}}, "template": {},
            "strategy": {"type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}}}),
        )
    }

    #[test]
    fn surge_rounds_up_and_unavailability_down() {
        let x = d(10, json!("25%"), json!("25%"));
        assert_eq!((max_surge(&x), max_unavailable(&x)), (3, 2));
        let x = d(3, json!("25%"), json!("25%"));
        assert_eq!((max_surge(&x), max_unavailable(&x)), (1, 0));
        let x = d(5, json!(2), json!(10));
        assert_eq!((max_surge(&x), max_unavailable(&x)), (2, 5));
    }

    #[test]
    fn zero_fenceposts_allow_one_unavailable() {
        let x = d(1, json!("10%"), json!("10%"));
        assert_eq!((max_surge(&x), max_unavailable(&x)), (1, 0));
        let x = d(3, json!(0), json!("10%"));
        assert_eq!((max_surge(&x), max_unavailable(&x)), (0, 1));
        let x = d(0, json!(0), json!(0));
        assert_eq!(max_unavailable(&x), 0);
    }

    #[test]
    fn defaults_and_malformed_values() {
        let bare: Deployment = from(json!({"metadata": {"name": "d"}}));
        assert_eq!(replicas(&bare), 1);
        assert_eq!(progress_deadline(&bare), Some(600));
        assert_eq!(revision_history_limit(&bare), Some(10));
        let x = d(4, json!("lots"), json!("x%"));
        assert_eq!((max_surge(&x), max_unavailable(&x)), (0, 1));
        let recreate: Deployment = from(json!({"spec": {"selector": {}, "template": {},
            "strategy": {"type": "Recreate"}, "progressDeadlineSeconds": 2147483647,
            "revisionHistoryLimit": 2147483647}}));
        assert_eq!((max_surge(&recreate), max_unavailable(&recreate)), (0, 0));
        assert_eq!(progress_deadline(&recreate), None);
        assert_eq!(revision_history_limit(&recreate), None);
    }
}
