//! The RollingUpdate strategy (upstream rolling.go): grow the new ReplicaSet within maxSurge,
//! shrink old ones within maxUnavailable, one direction per pass.

use super::cleanup::cleanup;
use super::newrs::{get_all, new_rs_replicas};
use super::scale::scale_and_record;
use super::status::sync_rollout_status;
use super::util;
use super::{Ctx, Halt};

pub fn rollout(ctx: &mut Ctx<'_>) -> Result<(), Halt> {
    let (new, olds) = get_all(ctx, true)?;
    let Some(n) = new else {
        sync_rollout_status(ctx, new, &olds);
        return Ok(());
    };
    if reconcile_new(ctx, n, &olds) || reconcile_old(ctx, n, &olds) {
        sync_rollout_status(ctx, new, &olds);
        return Ok(());
    }
    // Judged on the status as read, as upstream: history is trimmed only once a pass has
    // seen the rollout finished.
    let read = ctx.input.status.clone().unwrap_or_default();
    if util::deployment_complete(&ctx.d, &read) {
        cleanup(ctx, &olds);
    }
    sync_rollout_status(ctx, new, &olds);
    Ok(())
}

fn reconcile_new(ctx: &mut Ctx<'_>, n: usize, olds: &[usize]) -> bool {
    let want = util::replicas(&ctx.d);
    let current = util::rs_replicas(&ctx.rss[n]);
    if current == want {
        return false;
    }
    if current > want {
        return scale_and_record(ctx, n, want);
    }
    let all: Vec<usize> = olds.iter().copied().chain([n]).collect();
    let total = util::sum(&ctx.rss, &all, util::rs_replicas);
    let size = new_rs_replicas(&ctx.d, total, current);
    scale_and_record(ctx, n, size)
}

/// Shrinks old ReplicaSets as far as availability allows: first their unavailable pods
/// (losing them costs nothing), then available ones down to replicas - maxUnavailable.
fn reconcile_old(ctx: &mut Ctx<'_>, n: usize, olds: &[usize]) -> bool {
    let mut active = util::active(&ctx.rss, olds);
    if active.is_empty() {
        return false;
    }
    let all: Vec<usize> = olds.iter().copied().chain([n]).collect();
    let all_pods = util::sum(&ctx.rss, &all, util::rs_replicas);
    let min_available = util::replicas(&ctx.d) - util::max_unavailable(&ctx.d);
    // Unavailable new pods are counted against the budget too, or old pods would be removed
    // for new ones that never come up.
    let new_unavailable = util::rs_replicas(&ctx.rss[n]) - util::rs_available(&ctx.rss[n]);
    let max_scaled_down = all_pods - min_available - new_unavailable;
    if max_scaled_down <= 0 {
        return false;
    }
    active.sort_by(|a, b| util::by_creation(&ctx.rss[*a], &ctx.rss[*b]));
    let Some(cleaned) = cleanup_unhealthy(ctx, &active, max_scaled_down) else {
        return false;
    };
    let with_new: Vec<usize> = active.iter().copied().chain([n]).collect();
    cleaned + scale_down_old(ctx, &with_new, &active) > 0
}

/// Removes up to `max` unavailable pods from old ReplicaSets, oldest ReplicaSet first.
/// `None` when a status claims more available pods than the spec wants (upstream errors).
fn cleanup_unhealthy(ctx: &mut Ctx<'_>, olds: &[usize], max: i32) -> Option<i32> {
    let mut total = 0;
    for &i in olds {
        if total >= max {
            break;
        }
        let size = util::rs_replicas(&ctx.rss[i]);
        let available = util::rs_available(&ctx.rss[i]);
        if size == 0 || size == available {
            continue;
        }
        let count = (max - total).min(size - available);
        if count < 0 {
            return None;
        }
        scale_and_record(ctx, i, size - count);
        total += count;
    }
    Some(total)
}

/// Shrinks old ReplicaSets, oldest first, by the available pods beyond the minimum.
fn scale_down_old(ctx: &mut Ctx<'_>, all: &[usize], olds: &[usize]) -> i32 {
    let min_available = util::replicas(&ctx.d) - util::max_unavailable(&ctx.d);
    let available = util::sum(&ctx.rss, all, util::rs_available);
    if available <= min_available {
        return 0;
    }
    let budget = available - min_available;
    let mut total = 0;
    for &i in olds {
        if total >= budget {
            break;
        }
        let size = util::rs_replicas(&ctx.rss[i]);
        if size == 0 {
            continue;
        }
        let count = size.min(budget - total);
        scale_and_record(ctx, i, size - count);
        total += count;
    }
    total
}
