//! Writes of a DaemonSet's or StatefulSet's ControllerRevisions (see
//! [`crate::controllers::revision`]).

use std::collections::HashSet;

use k8s_openapi::api::apps::v1::ControllerRevision;
use kube::api::{DeleteParams, PostParams};
use kube::runtime::reflector::Store;
use kube::{Api, ResourceExt};

use crate::controllers::{owner, revision};

/// The revisions in `namespace` controlled by the object with `uid`.
pub fn owned(
    store: &Store<ControllerRevision>,
    namespace: &str,
    uid: &str,
) -> Vec<ControllerRevision> {
    store
        .state()
        .iter()
        .filter(|r| {
            r.metadata.namespace.as_deref() == Some(namespace)
                && owner::is_controlled_by(&r.metadata, uid)
        })
        .map(|r| (**r).clone())
        .collect()
}

/// The revision of the owner's current template, written if it is new or renumbered; None
/// when that write failed (the next pass tries again). The second value is a raised
/// collision count for the owner's status.
pub async fn current(
    client: &kube::Client,
    owner: &revision::Owner<'_>,
    revisions: &[ControllerRevision],
    who: &str,
) -> Option<(ControllerRevision, Option<i32>)> {
    let refs: Vec<&ControllerRevision> = revisions.iter().collect();
    let found = revision::current(owner, &refs);
    let ns = owner.meta.namespace.clone().unwrap_or_default();
    let api: Api<ControllerRevision> = Api::namespaced(client.clone(), &ns);
    let pp = PostParams::default();
    let result = match found.write {
        None => return Some((found.revision, found.collision_count)),
        Some(revision::Write::Create) => api.create(&pp, &found.revision).await,
        Some(revision::Write::Renumber) => {
            api.replace(&found.revision.name_any(), &pp, &found.revision)
                .await
        }
    };
    match result {
        Ok(written) => {
            tracing::info!(
                "{who}: template is revision {} ({})",
                written.revision,
                written.name_any()
            );
            Some((written, found.collision_count))
        }
        Err(e) => {
            tracing::warn!(
                "{who}: writing revision {} failed: {e}",
                found.revision.name_any()
            );
            None
        }
    }
}

/// Deletes the oldest unused revisions beyond `limit`.
pub async fn prune(
    client: &kube::Client,
    revisions: &[ControllerRevision],
    live: &HashSet<String>,
    keep: &[&str],
    limit: i32,
    who: &str,
) {
    let refs: Vec<&ControllerRevision> = revisions.iter().collect();
    for old in revision::to_prune(&refs, live, keep, limit) {
        let ns = old.namespace().unwrap_or_default();
        let api: Api<ControllerRevision> = Api::namespaced(client.clone(), &ns);
        match api
            .delete(&old.name_any(), &DeleteParams::background())
            .await
        {
            Ok(_) => tracing::info!(
                "{who}: deleted revision {} ({}), beyond the history limit of {limit}",
                old.revision,
                old.name_any()
            ),
            Err(e) if super::code(&e) == Some(404) => {}
            Err(e) => tracing::warn!("{who}: deleting revision {} failed: {e}", old.name_any()),
        }
    }
}
