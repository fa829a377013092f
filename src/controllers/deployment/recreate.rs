//! The Recreate strategy (upstream recreate.go): all old pods gone before any new one.
//!
//! Upstream waits on the pods themselves; this waits until every old ReplicaSet's
//! `status.replicas` is 0. That count leaves out terminating pods, so new pods may start
//! while old ones are still shutting down.

use super::cleanup::cleanup;
use super::newrs::get_all;
use super::scale::scale_and_record;
use super::status::sync_rollout_status;
use super::util;
use super::{Ctx, Halt};

pub fn rollout(ctx: &mut Ctx<'_>) -> Result<(), Halt> {
    // No new ReplicaSet yet: creating it now would start pods before the old ones stop.
    let (new, olds) = get_all(ctx, false)?;
    let mut scaled_down = false;
    for i in util::active(&ctx.rss, &olds) {
        scaled_down |= scale_and_record(ctx, i, 0);
    }
    if scaled_down || util::sum(&ctx.rss, &olds, util::rs_status_replicas) > 0 {
        sync_rollout_status(ctx, new, &olds);
        return Ok(());
    }
    let (new, olds) = match new {
        Some(_) => (new, olds),
        None => get_all(ctx, true)?,
    };
    if let Some(n) = new {
        let want = util::replicas(&ctx.d);
        scale_and_record(ctx, n, want);
    }
    let read = ctx.input.status.clone().unwrap_or_default();
    if util::deployment_complete(&ctx.d, &read) {
        cleanup(ctx, &olds);
    }
    sync_rollout_status(ctx, new, &olds);
    Ok(())
}
