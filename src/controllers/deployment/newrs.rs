//! Finding, updating and creating the ReplicaSet of the current template (upstream
//! getAllReplicaSetsAndSyncRevision / getNewReplicaSet / NewRSNewReplicas).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, ReplicaSetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::annotations::set_new_rs_annotations;
use super::conditions::{self, FOUND_NEW_RS, NEW_RS_CREATED, PROGRESSING};
use super::util::{self, REVISION};
use super::{Action, Ctx, EventType, Halt, owner_reference};
use crate::controllers::hash::{HASH_LABEL, equal_ignore_hash, pod_template_hash};
use crate::controllers::owner;

/// (new, old) among `ctx.rss` by index. The new one runs the deployment's template; when
/// several do (it happened after upgrades upstream), the oldest wins.
pub fn split(ctx: &Ctx<'_>) -> (Option<usize>, Vec<usize>) {
    let template = ctx.d.spec.clone().unwrap_or_default().template;
    let mut order: Vec<usize> = (0..ctx.rss.len()).collect();
    order.sort_by(|a, b| util::by_creation(&ctx.rss[*a], &ctx.rss[*b]));
    let new = order.into_iter().find(|i| {
        let rs_template = ctx.rss[*i].spec.as_ref().and_then(|s| s.template.clone());
        equal_ignore_hash(&rs_template.unwrap_or_default(), &template)
    });
    let olds = (0..ctx.rss.len()).filter(|i| Some(*i) != new).collect();
    (new, olds)
}

/// The new and old ReplicaSets with revisions in order: the new one's revision raised above
/// every old one (and copied to the deployment), created first when `create` is set and
/// none exists.
pub fn get_all(ctx: &mut Ctx<'_>, create: bool) -> Result<(Option<usize>, Vec<usize>), Halt> {
    let (new, olds) = split(ctx);
    let max_old = olds
        .iter()
        .filter_map(|i| util::revision(&ctx.rss[*i]))
        .max()
        .unwrap_or(0);
    let new_revision = max_old.saturating_add(1);
    if let Some(i) = new {
        sync_existing(ctx, i, new_revision);
        return Ok((Some(i), olds));
    }
    if !create {
        return Ok((None, olds));
    }
    let i = create_new(ctx, &olds, new_revision)?;
    Ok((Some(i), olds))
}

fn sync_existing(ctx: &mut Ctx<'_>, i: usize, new_revision: i64) {
    let mut rs = ctx.rss[i].clone();
    let annotations_changed = set_new_rs_annotations(&ctx.d, &mut rs, new_revision, true);
    let min_ready = rs
        .spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0);
    if annotations_changed || min_ready != util::min_ready_seconds(&ctx.d) {
        let min_ready = ctx.d.spec.as_ref().and_then(|s| s.min_ready_seconds);
        rs.spec
            .get_or_insert_with(Default::default)
            .min_ready_seconds = min_ready;
        ctx.rss[i] = rs;
        ctx.write_rs(i);
        // Upstream copies the revision to the deployment on the next pass.
        return;
    }
    let revision = util::annotation(&rs, REVISION)
        .unwrap_or_default()
        .to_owned();
    ctx.set_revision(revision);
    // A deployment with no Progressing condition yet starts its progress clock now.
    let has_progressing = conditions::get(ctx.status(), PROGRESSING).is_some();
    if util::progress_deadline(&ctx.d).is_some() && !has_progressing {
        let message = format!("Found new replica set \"{}\"", ctx.rs_name(i));
        let cond = conditions::new(PROGRESSING, "True", FOUND_NEW_RS, message, ctx.now);
        conditions::set(ctx.status(), cond);
    }
}

fn create_new(ctx: &mut Ctx<'_>, olds: &[usize], new_revision: i64) -> Result<usize, Halt> {
    let collisions = ctx.d.status.as_ref().and_then(|s| s.collision_count);
    let mut rs = template_replica_set(&ctx.d, collisions);
    let name = rs.metadata.name.clone().unwrap_or_default();
    let all_replicas = util::sum(&ctx.rss, olds, util::rs_replicas);
    let replicas = new_rs_replicas(&ctx.d, all_replicas, 0);
    rs.spec.get_or_insert_with(Default::default).replicas = Some(replicas);
    set_new_rs_annotations(&ctx.d, &mut rs, new_revision, false);

    let uid = ctx.d.metadata.uid.clone().unwrap_or_default();
    let template = ctx.d.spec.clone().unwrap_or_default().template;
    let taken = ctx
        .namespace_rss
        .iter()
        .find(|x| x.metadata.name.as_deref() == Some(name.as_str()));
    if let Some(existing) = taken {
        let existing_template = existing.spec.as_ref().and_then(|s| s.template.clone());
        let ours = owner::is_controlled_by(&existing.metadata, &uid)
            && equal_ignore_hash(&existing_template.unwrap_or_default(), &template);
        if !ours {
            // Another object holds the name this template hashes to: count the collision so
            // the next pass hashes differently.
            let st = ctx.status();
            st.collision_count = Some(st.collision_count.unwrap_or(0).saturating_add(1));
            let st = st.clone();
            ctx.finish_status(st);
            return Err(Halt);
        }
        // Ours already (a stale read on the caller's side): use it as upstream does.
        ctx.rss.push(existing.clone());
        ctx.set_revision(new_revision.to_string());
        return Ok(ctx.rss.len() - 1);
    }

    ctx.plan
        .actions
        .push(Action::CreateReplicaSet(Box::new(rs.clone())));
    ctx.rss.push(rs);
    if replicas > 0 {
        let message = format!("Scaled up replica set {name} to {replicas}");
        ctx.event(EventType::Normal, "ScalingReplicaSet", message);
    }
    ctx.set_revision(new_revision.to_string());
    if util::progress_deadline(&ctx.d).is_some() {
        let message = format!("Created new replica set \"{name}\"");
        let cond = conditions::new(PROGRESSING, "True", NEW_RS_CREATED, message, ctx.now);
        conditions::set(ctx.status(), cond);
    }
    Ok(ctx.rss.len() - 1)
}

/// The ReplicaSet for the deployment's template, at zero replicas and without annotations:
/// named `<deployment>-<hash>`, with the hash in labels, selector and template labels so it
/// never selects another revision's pods.
fn template_replica_set(d: &Deployment, collisions: Option<i32>) -> ReplicaSet {
    let spec = d.spec.clone().unwrap_or_default();
    let hash = pod_template_hash(&spec.template, collisions);
    let mut template = spec.template;
    let mut labels = template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    labels.insert(HASH_LABEL.to_owned(), hash.clone());
    template
        .metadata
        .get_or_insert_with(Default::default)
        .labels = Some(labels.clone());
    let mut selector = spec.selector;
    selector
        .match_labels
        .get_or_insert_with(BTreeMap::new)
        .insert(HASH_LABEL.to_owned(), hash.clone());
    let name = d.metadata.name.clone().unwrap_or_default();
    ReplicaSet {
        metadata: ObjectMeta {
            name: Some(format!("{name}-{hash}")),
            namespace: d.metadata.namespace.clone(),
            labels: Some(labels),
            owner_references: Some(vec![owner_reference(d)]),
            ..ObjectMeta::default()
        },
        spec: Some(ReplicaSetSpec {
            replicas: Some(0),
            min_ready_seconds: spec.min_ready_seconds,
            selector,
            template: Some(template),
        }),
        status: None,
    }
}

/// How big the new ReplicaSet may be now: for a rolling update, grown by whatever room
/// replicas + maxSurge leaves over `all_replicas` (all ReplicaSets' sizes) without passing
/// the desired count; for Recreate, the desired count.
pub fn new_rs_replicas(d: &Deployment, all_replicas: i32, new_replicas: i32) -> i32 {
    let want = util::replicas(d);
    if !util::is_rolling(d) {
        return want;
    }
    let max_total = want.saturating_add(util::max_surge(d));
    if all_replicas >= max_total {
        return new_replicas;
    }
    let room = (max_total - all_replicas).min(want - new_replicas);
    new_replicas + room.max(0)
}
