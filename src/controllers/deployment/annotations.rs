//! The annotations a deployment keeps on its ReplicaSets (upstream SetNewReplicaSetAnnotations,
//! copyDeploymentAnnotationsToReplicaSet, SetReplicasAnnotations).

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};

use super::util::{
    self, DESIRED_REPLICAS, LAST_APPLIED, MAX_REPLICAS, REVISION, REVISION_HISTORY, ROLLBACK_TO,
};

/// Upstream caps the revision history at about 100 entries.
const MAX_REVISION_HISTORY_CHARS: usize = 2000;

/// Controller bookkeeping and kubectl's apply record stay on the deployment.
const NOT_COPIED: [&str; 6] = [
    LAST_APPLIED,
    REVISION,
    REVISION_HISTORY,
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    ROLLBACK_TO,
];

/// Brings the new ReplicaSet's annotations up to date: the deployment's own annotations,
/// `new_revision` if it is higher (the old number moving to the revision history, which is
/// what a rollback to this ReplicaSet looks like), and on creation the replica counts.
/// Returns whether anything changed; a malformed revision leaves the revision alone and
/// reports no change, as upstream.
pub fn set_new_rs_annotations(
    d: &Deployment,
    rs: &mut ReplicaSet,
    new_revision: i64,
    exists: bool,
) -> bool {
    let mut changed = copy_from_deployment(d, rs);
    let annotations = rs.metadata.annotations.get_or_insert_with(Default::default);
    let old = annotations.get(REVISION).cloned();
    let old_number = match old.as_deref() {
        None | Some("") => 0,
        Some(v) => match v.parse::<i64>() {
            Ok(n) => n,
            Err(_) => return false,
        },
    };
    if old_number < new_revision {
        annotations.insert(REVISION.to_owned(), new_revision.to_string());
        changed = true;
        if let Some(old) = old {
            let history = annotations
                .get(REVISION_HISTORY)
                .cloned()
                .unwrap_or_default();
            if let Some(history) = appended_history(&history, &old) {
                annotations.insert(REVISION_HISTORY.to_owned(), history);
            }
        }
    }
    if !exists {
        let want = util::replicas(d);
        changed |= set_replicas_annotations(rs, want, want.saturating_add(util::max_surge(d)));
    }
    changed
}

/// `history` with `old` appended, dropping the oldest entries to stay under the cap;
/// `None` when even `old` alone does not fit.
fn appended_history(history: &str, old: &str) -> Option<String> {
    if history.is_empty() {
        return Some(old.to_owned());
    }
    let entries: Vec<&str> = history.split(',').collect();
    let mut total = history.len() + old.len() + 1;
    let mut start = 0;
    while total > MAX_REVISION_HISTORY_CHARS && start < entries.len() {
        total -= entries[start].len() + 1;
        start += 1;
    }
    (total <= MAX_REVISION_HISTORY_CHARS).then(|| {
        let mut kept = entries[start..].to_vec();
        kept.push(old);
        kept.join(",")
    })
}

/// Copies the deployment's annotations (e.g. `kubernetes.io/change-cause`) so rollout history
/// can show them per revision.
fn copy_from_deployment(d: &Deployment, rs: &mut ReplicaSet) -> bool {
    let annotations = rs.metadata.annotations.get_or_insert_with(Default::default);
    let mut changed = false;
    for (k, v) in d.metadata.annotations.iter().flatten() {
        if NOT_COPIED.contains(&k.as_str()) || annotations.get(k) == Some(v) {
            continue;
        }
        annotations.insert(k.clone(), v.clone());
        changed = true;
    }
    changed
}

pub fn replicas_annotations_need_update(rs: &ReplicaSet, desired: i32, max: i32) -> bool {
    util::annotation(rs, DESIRED_REPLICAS) != Some(desired.to_string().as_str())
        || util::annotation(rs, MAX_REPLICAS) != Some(max.to_string().as_str())
}

pub fn set_replicas_annotations(rs: &mut ReplicaSet, desired: i32, max: i32) -> bool {
    let changed = replicas_annotations_need_update(rs, desired, max);
    let annotations = rs.metadata.annotations.get_or_insert_with(Default::default);
    annotations.insert(DESIRED_REPLICAS.to_owned(), desired.to_string());
    annotations.insert(MAX_REPLICAS.to_owned(), max.to_string());
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_appends_and_trims_oldest() {
        assert_eq!(appended_history("", "3").as_deref(), Some("3"));
        assert_eq!(appended_history("1,2", "3").as_deref(), Some("1,2,3"));
        let long = vec!["1234567890"; 190].join(",");
        let trimmed = appended_history(&long, "7").unwrap();
        assert!(trimmed.len() <= MAX_REVISION_HISTORY_CHARS);
        assert!(trimmed.ends_with(",7"));
        assert_eq!(appended_history("1", &"9".repeat(3000)), None);
    }
}
