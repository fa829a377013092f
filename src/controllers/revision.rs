//! ControllerRevisions: the template history of DaemonSets and StatefulSets (upstream
//! pkg/controller/history and the DaemonSet controller's snapshots). Each revision holds, as
//! its `data`, a strategic merge patch that replaces the owner's pod template — the very
//! patch `kubectl rollout undo` sends back — so history and undo work as on any cluster.

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashSet};

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use serde_json::{Value, json};

use crate::controllers::{hash, owner};

/// The label the history package puts on a StatefulSet's revisions.
pub const HISTORY_HASH_LABEL: &str = "controller.kubernetes.io/hash";
/// The label naming a pod's revision (and, for DaemonSets, also on the revisions).
pub const POD_REVISION_LABEL: &str = "controller-revision-hash";
/// revisionHistoryLimit when the spec leaves it out.
pub const DEFAULT_HISTORY_LIMIT: i32 = 10;

/// The owner of a history, as far as its revisions need to know.
pub struct Owner<'a> {
    pub api_version: &'a str,
    pub kind: &'a str,
    pub meta: &'a ObjectMeta,
    pub template: &'a PodTemplateSpec,
    /// The label carrying the revision's hash: [`POD_REVISION_LABEL`] for DaemonSets,
    /// [`HISTORY_HASH_LABEL`] for StatefulSets.
    pub hash_label: &'a str,
    /// DaemonSet revisions carry the DaemonSet's annotations (its change-cause).
    pub annotations: Option<BTreeMap<String, String>>,
    pub collision_count: Option<i32>,
}

/// The revision a workload's current template is at, and what to write for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Current {
    pub revision: ControllerRevision,
    pub write: Option<Write>,
    /// The collision count to record in the owner's status, when a name clash raised it.
    pub collision_count: Option<i32>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// A template never seen: a new revision, numbered after the newest.
    Create,
    /// A template seen before (a rollback): its revision becomes the newest number.
    Renumber,
}

/// A revision's data for `template`.
pub fn data(template: &PodTemplateSpec) -> Value {
    let mut template = serde_json::to_value(template).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut template {
        map.insert("$patch".into(), json!("replace"));
    }
    json!({"spec": {"template": template}})
}

/// The pod template a revision holds.
pub fn template_of(revision: &ControllerRevision) -> Option<PodTemplateSpec> {
    let mut t = revision.data.as_ref()?.0.pointer("/spec/template")?.clone();
    if let Value::Object(map) = &mut t {
        map.remove("$patch");
    }
    serde_json::from_value(t).ok()
}

/// Whether `revision` holds `template` (semantically: empty members and the pod's revision
/// label do not count).
pub fn holds(revision: &ControllerRevision, template: &PodTemplateSpec) -> bool {
    template_of(revision).is_some_and(|t| same_template(&t, template))
}

fn same_template(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    let strip = |t: &PodTemplateSpec| {
        let mut t = t.clone();
        if let Some(labels) = t.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
            labels.remove(POD_REVISION_LABEL);
        }
        t
    };
    hash::equal_ignore_hash(&strip(a), &strip(b))
}

/// `<owner>-<hash>`, as upstream names revisions.
fn name(owner: &str, hash: &str) -> String {
    format!("{owner}-{hash}")
}

/// The revision of `owner`'s current template among its `revisions` (those it controls).
pub fn current(owner: &Owner<'_>, revisions: &[&ControllerRevision]) -> Current {
    let newest = revisions.iter().map(|r| r.revision).max().unwrap_or(0);
    let same: Option<&&ControllerRevision> = revisions
        .iter()
        .filter(|r| holds(r, owner.template))
        .max_by_key(|r| r.revision);
    if let Some(found) = same {
        let mut revision = (*found).clone();
        let write = if revision.revision < newest {
            revision.revision = newest + 1;
            Some(Write::Renumber)
        } else {
            None
        };
        return Current {
            revision,
            write,
            collision_count: None,
        };
    }
    let data = data(owner.template);
    let taken: HashSet<&str> = revisions
        .iter()
        .filter_map(|r| r.metadata.name.as_deref())
        .collect();
    // A name already taken by another template: count the collision and hash again, as
    // upstream does after its create fails.
    let mut collisions = owner.collision_count;
    let mut hash = hash::hash_json(&data, collisions);
    while taken.contains(name(owner.meta.name.as_deref().unwrap_or(""), &hash).as_str()) {
        collisions = Some(collisions.unwrap_or(0) + 1);
        hash = hash::hash_json(&data, collisions);
    }
    let mut labels = owner
        .template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    labels.insert(owner.hash_label.to_string(), hash.clone());
    let revision = ControllerRevision {
        metadata: ObjectMeta {
            name: Some(name(owner.meta.name.as_deref().unwrap_or(""), &hash)),
            namespace: owner.meta.namespace.clone(),
            labels: Some(labels),
            annotations: owner.annotations.clone(),
            owner_references: Some(vec![owner::controller_ref(
                owner.api_version,
                owner.kind,
                owner.meta,
            )]),
            ..ObjectMeta::default()
        },
        data: Some(RawExtension(data)),
        revision: newest + 1,
    };
    Current {
        revision,
        write: Some(Write::Create),
        collision_count: (collisions != owner.collision_count).then_some(collisions.unwrap_or(0)),
    }
}

/// The hash part of a revision's name (what DaemonSet pods carry in their revision label).
pub fn hash_of(revision: &ControllerRevision, hash_label: &str) -> String {
    revision
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(hash_label))
        .cloned()
        .unwrap_or_default()
}

/// Revisions to delete: the oldest of those no pod uses and that are not `keep`, beyond
/// `limit` of them.
pub fn to_prune<'a>(
    revisions: &[&'a ControllerRevision],
    live: &HashSet<String>,
    keep: &[&str],
    limit: i32,
) -> Vec<&'a ControllerRevision> {
    let mut dead: Vec<&ControllerRevision> = revisions
        .iter()
        .copied()
        .filter(|r| {
            let name = r.metadata.name.as_deref().unwrap_or("");
            !live.contains(name) && !keep.contains(&name)
        })
        .collect();
    let excess = dead.len().saturating_sub(limit.max(0) as usize);
    dead.sort_by_key(|r| r.revision);
    dead.truncate(excess);
    dead
}
