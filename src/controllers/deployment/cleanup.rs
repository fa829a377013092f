//! Trimming old ReplicaSets beyond revisionHistoryLimit (upstream cleanupDeployment).

use super::util;
use super::{Action, Ctx};

/// Deletes the lowest revisions beyond the limit, but only ReplicaSets that are fully scaled
/// down and whose controller has caught up; the rest wait for a later pass.
pub fn cleanup(ctx: &mut Ctx<'_>, olds: &[usize]) {
    let Some(limit) = util::revision_history_limit(&ctx.d) else {
        return;
    };
    let mut cleanable: Vec<usize> = olds
        .iter()
        .copied()
        .filter(|i| ctx.rss[*i].metadata.deletion_timestamp.is_none())
        .collect();
    let Some(excess) = cleanable.len().checked_sub(limit).filter(|n| *n > 0) else {
        return;
    };
    cleanable.sort_by(|a, b| util::by_revision(&ctx.rss[*a], &ctx.rss[*b]));
    for i in cleanable.into_iter().take(excess) {
        let rs = &ctx.rss[i];
        let name = rs.metadata.name.clone().unwrap_or_default();
        let observed = rs
            .status
            .as_ref()
            .and_then(|s| s.observed_generation)
            .unwrap_or(0);
        let settled = util::rs_status_replicas(rs) == 0
            && util::rs_replicas(rs) == 0
            && rs.metadata.generation.unwrap_or(0) <= observed
            // Written in this pass: its controller has not seen the change yet.
            && !ctx.writes_rs(&name);
        if settled {
            ctx.plan.actions.push(Action::DeleteReplicaSet(name));
        }
    }
}
