//! Controller references and the claim rules (adopt/keep/release) upstream's
//! ControllerRefManager applies to a controller's candidate objects.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};

use crate::kinds::labels;

/// What a controller does with one candidate object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Already ours and still selected.
    Owned,
    /// An orphan we select: write our controller reference onto it.
    Adopt,
    /// Ours but no longer selected: remove our reference.
    Release,
    /// Someone else's, or not ours to touch now.
    Ignore,
}

/// The claiming controller.
pub struct Claimer<'a> {
    pub meta: &'a ObjectMeta,
    pub selector: &'a LabelSelector,
}

/// The reference marked `controller: true`, if any.
pub fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .iter()
        .flatten()
        .find(|r| r.controller == Some(true))
}

/// Whether `meta` is controlled by the object with `uid`.
pub fn is_controlled_by(meta: &ObjectMeta, uid: &str) -> bool {
    controller_of(meta).is_some_and(|r| r.uid == uid)
}

/// A controller reference to `owner`. `blockOwnerDeletion` makes foreground deletion of the
/// owner wait for its dependents, as upstream's NewControllerRef does.
pub fn controller_ref(api_version: &str, kind: &str, owner: &ObjectMeta) -> OwnerReference {
    OwnerReference {
        api_version: api_version.to_owned(),
        kind: kind.to_owned(),
        name: owner.name.clone().unwrap_or_default(),
        uid: owner.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// Upstream's ClaimObject decision for one object.
pub fn claim(claimer: &Claimer<'_>, obj: &ObjectMeta) -> Claim {
    let uid = claimer.meta.uid.as_deref().unwrap_or_default();
    let owner_deleting = claimer.meta.deletion_timestamp.is_some();
    let selected = labels::matches(claimer.selector, obj.labels.as_ref());
    match controller_of(obj) {
        Some(r) if r.uid != uid => Claim::Ignore,
        Some(_) if selected => Claim::Owned,
        // A controller being deleted leaves its objects alone so the garbage collector
        // can find them through their references.
        Some(_) if owner_deleting => Claim::Ignore,
        Some(_) => Claim::Release,
        None if owner_deleting || !selected || obj.deletion_timestamp.is_some() => Claim::Ignore,
        None if claimer.meta.namespace.is_some()
            && obj.namespace.is_some()
            && claimer.meta.namespace != obj.namespace =>
        {
            Claim::Ignore
        }
        None => Claim::Adopt,
    }
}
