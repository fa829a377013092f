//! StatefulSet controller decisions (upstream pkg/controller/statefulset): pods with stable
//! names `<set>-0 … <set>-(n-1)`, created in order and each only once the ones before it
//! are Running and Ready (OrderedReady; Parallel creates and deletes at once), removed
//! highest ordinal first, recreated when they fail, and rolled out to a new template from the
//! highest ordinal down to the partition, one healthy pod at a time.
//!
//! Left out: volumeClaimTemplates (the apiserver serves no PersistentVolumeClaims, so pods
//! get no claims) and the alpha maxUnavailable of rolling updates.

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec, StatefulSetStatus};
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use k8s_openapi::jiff::Timestamp;

use crate::controllers::owner::{self, Claim, Claimer};
use crate::controllers::pods;
use crate::controllers::revision::POD_REVISION_LABEL;
use crate::kinds::labels;

pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";

/// A revision as the set sees it: its name and the template it holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Revision {
    pub name: String,
    pub template: PodTemplateSpec,
}

/// The writes one StatefulSet sync asks for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SetPlan {
    pub adopt: Vec<String>,
    pub release: Vec<String>,
    /// Pods to create: ordinal and the revision (current or update) it gets.
    pub create: Vec<(i32, Revision)>,
    /// Pods to delete and why (failed, condemned by a scale-down, rolled).
    pub delete: Vec<(String, String)>,
    pub status: StatefulSetStatus,
    pub requeue_after: Option<i64>,
}

fn spec(set: &StatefulSet) -> StatefulSetSpec {
    set.spec.clone().unwrap_or_default()
}

pub fn owner_reference(set: &StatefulSet) -> OwnerReference {
    owner::controller_ref("apps/v1", "StatefulSet", &set.metadata)
}

/// The ordinal in a pod's name when it is `<set>-<n>`.
pub fn ordinal(set_name: &str, pod: &Pod) -> Option<i32> {
    let name = pod.metadata.name.as_deref()?;
    let n = name.strip_prefix(set_name)?.strip_prefix('-')?;
    // "web-01" is not web's pod 1: only canonical numbers.
    if n.is_empty() || (n.len() > 1 && n.starts_with('0')) {
        return None;
    }
    n.parse().ok().filter(|n: &i32| *n >= 0)
}

/// Pod `<set>-<ordinal>` of `revision`, with its stable identity.
pub fn new_pod(set: &StatefulSet, ordinal: i32, revision: &Revision) -> Pod {
    let name = format!("{}-{ordinal}", set.metadata.name.as_deref().unwrap_or(""));
    let mut pod = pods::from_template(
        revision.template.clone(),
        &set.metadata,
        owner_reference(set),
    );
    pod.metadata.generate_name = None;
    pod.metadata.name = Some(name.clone());
    let labels = pod.metadata.labels.get_or_insert_with(BTreeMap::new);
    labels.insert(POD_NAME_LABEL.into(), name.clone());
    labels.insert(POD_INDEX_LABEL.into(), ordinal.to_string());
    labels.insert(POD_REVISION_LABEL.into(), revision.name.clone());
    let pod_spec = pod.spec.get_or_insert_with(Default::default);
    pod_spec.hostname = Some(name);
    if let Some(service) = spec(set).service_name.filter(|s| !s.is_empty()) {
        pod_spec.subdomain = Some(service);
    }
    pod
}

fn name(pod: &Pod) -> String {
    pod.metadata.name.clone().unwrap_or_default()
}

fn revision_of(pod: &Pod) -> Option<&str> {
    pod.metadata
        .labels
        .as_ref()?
        .get(POD_REVISION_LABEL)
        .map(String::as_str)
}

fn phase(pod: &Pod) -> Option<&str> {
    pod.status.as_ref().and_then(|s| s.phase.as_deref())
}

fn terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

fn finished(pod: &Pod) -> bool {
    matches!(phase(pod), Some("Failed" | "Succeeded"))
}

/// Running and Ready and not on its way out: what OrderedReady waits for.
fn healthy(pod: &Pod) -> bool {
    phase(pod) == Some("Running") && pods::is_ready(pod) && !terminating(pod)
}

/// One sync of `set` against the pods of its namespace, with `current` the revision its
/// pods are rolling from and `update` the one of its template now.
pub fn sync(
    set: &StatefulSet,
    pods: &[Pod],
    current: &Revision,
    update: &Revision,
    now: Timestamp,
) -> SetPlan {
    let spec = spec(set);
    let set_name = set.metadata.name.clone().unwrap_or_default();
    let mut plan = SetPlan::default();
    let claimer = Claimer {
        meta: &set.metadata,
        selector: &spec.selector,
    };
    let selector_usable = !labels::is_empty(&spec.selector);
    let replicas = spec.replicas.unwrap_or(1).max(0);
    let mut slots: BTreeMap<i32, &Pod> = BTreeMap::new();
    let mut condemned: Vec<(i32, &Pod)> = Vec::new();
    for pod in pods {
        match owner::claim(&claimer, &pod.metadata) {
            Claim::Owned => {}
            Claim::Adopt if selector_usable => plan.adopt.push(name(pod)),
            Claim::Release => {
                plan.release.push(name(pod));
                continue;
            }
            _ => continue,
        }
        match ordinal(&set_name, pod) {
            Some(n) if n < replicas => {
                slots.insert(n, pod);
            }
            Some(n) => condemned.push((n, pod)),
            None => {}
        }
    }
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    let parallel = spec.pod_management_policy.as_deref() == Some("Parallel");
    let partition = spec
        .update_strategy
        .as_ref()
        .and_then(|s| s.rolling_update.as_ref())
        .and_then(|r| r.partition)
        .unwrap_or(0);
    let rolling = spec
        .update_strategy
        .as_ref()
        .and_then(|s| s.type_.as_deref())
        .is_none_or(|t| t == "RollingUpdate");
    let revision_for = |ordinal: i32| -> Revision {
        // Below the partition pods stay at the current revision.
        if rolling && ordinal >= partition {
            update.clone()
        } else {
            current.clone()
        }
    };

    plan.status = status(set, &slots, &condemned, current, update, min_ready, now);
    if set.metadata.deletion_timestamp.is_some() || !selector_usable {
        return plan;
    }

    // Replicas in order: create the missing, replace the failed, and in OrderedReady stop
    // at the first that is not yet healthy.
    let mut blocked = false;
    for n in 0..replicas {
        match slots.get(&n) {
            None => {
                plan.create.push((n, revision_for(n)));
                if !parallel {
                    blocked = true;
                    break;
                }
            }
            Some(pod) if finished(pod) && !terminating(pod) => {
                plan.delete.push((
                    name(pod),
                    format!("it {}", phase(pod).unwrap_or("").to_lowercase()),
                ));
                if !parallel {
                    blocked = true;
                    break;
                }
            }
            Some(pod) if !healthy(pod) && !parallel => {
                blocked = true;
                break;
            }
            Some(_) => {}
        }
    }
    if blocked {
        return plan;
    }

    // Scale-down: highest ordinal first, one at a time unless Parallel.
    condemned.sort_by_key(|(n, _)| std::cmp::Reverse(*n));
    for (_, pod) in &condemned {
        if terminating(pod) {
            if !parallel {
                return plan;
            }
            continue;
        }
        plan.delete
            .push((name(pod), format!("scaling down to {replicas}")));
        if !parallel {
            return plan;
        }
    }

    // Rolling update: the highest ordinal not at the update revision goes, once every pod
    // is healthy.
    if rolling {
        if !slots.values().all(|p| healthy(p)) {
            return plan;
        }
        for n in (partition..replicas).rev() {
            if let Some(pod) = slots.get(&n)
                && revision_of(pod) != Some(update.name.as_str())
            {
                plan.delete
                    .push((name(pod), format!("rolling update to {}", update.name)));
                break;
            }
        }
    }
    plan.requeue_after = slots
        .values()
        .filter_map(|p| pods::seconds_until_available(p, min_ready, now))
        .filter(|s| *s > 0)
        .min();
    plan
}

fn status(
    set: &StatefulSet,
    slots: &BTreeMap<i32, &Pod>,
    condemned: &[(i32, &Pod)],
    current: &Revision,
    update: &Revision,
    min_ready: i32,
    now: Timestamp,
) -> StatefulSetStatus {
    let mut s = StatefulSetStatus {
        observed_generation: set.metadata.generation,
        collision_count: set.status.as_ref().and_then(|s| s.collision_count),
        conditions: set.status.as_ref().and_then(|s| s.conditions.clone()),
        current_revision: Some(current.name.clone()),
        update_revision: Some(update.name.clone()),
        ..StatefulSetStatus::default()
    };
    let (mut ready, mut available, mut at_current, mut at_update) = (0, 0, 0, 0);
    for pod in slots
        .values()
        .copied()
        .chain(condemned.iter().map(|(_, p)| *p))
    {
        if terminating(pod) {
            continue;
        }
        s.replicas += 1;
        if healthy(pod) {
            ready += 1;
        }
        if healthy(pod) && pods::is_available(pod, min_ready, now) {
            available += 1;
        }
        if revision_of(pod) == Some(current.name.as_str()) {
            at_current += 1;
        }
        if revision_of(pod) == Some(update.name.as_str()) {
            at_update += 1;
        }
    }
    s.ready_replicas = Some(ready);
    s.available_replicas = Some(available);
    s.current_replicas = Some(at_current);
    s.updated_replicas = Some(at_update);
    // The rollout is complete: the update revision becomes the current one.
    let want = set.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    if at_update == want && ready == want && s.replicas == want {
        s.current_revision = Some(update.name.clone());
        s.current_replicas = Some(at_update);
    }
    s
}

/// Events as upstream words them.
pub fn created_event(pod: &str, set: &str) -> String {
    format!("create Pod {pod} in StatefulSet {set} successful")
}

pub fn deleted_event(pod: &str, set: &str) -> String {
    format!("delete Pod {pod} in StatefulSet {set} successful")
}
