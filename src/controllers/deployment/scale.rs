//! Resizing ReplicaSets: the single-RS scale step, and the proportional scaling of a
//! deployment resized mid-rollout or while paused (upstream sync.go scale/scaleReplicaSet).

use std::cmp::Ordering;

use super::annotations::{replicas_annotations_need_update, set_replicas_annotations};
use super::cleanup::cleanup;
use super::newrs::get_all;
use super::status::sync_deployment_status;
use super::util::{self, DESIRED_REPLICAS, MAX_REPLICAS};
use super::{Ctx, EventType, Halt};

/// The pass taken when paused or when the replica count changed: resize without rolling.
pub fn sync(ctx: &mut Ctx<'_>) -> Result<(), Halt> {
    let (new, olds) = get_all(ctx, false)?;
    scale(ctx, new, &olds);
    if util::paused(&ctx.d) {
        cleanup(ctx, &olds);
    }
    sync_deployment_status(ctx, new, &olds);
    Ok(())
}

/// Whether some ReplicaSet was sized for a different replica count than the deployment's.
pub fn is_scaling_event(ctx: &Ctx<'_>, new: Option<usize>, olds: &[usize]) -> bool {
    let all: Vec<usize> = olds.iter().copied().chain(new).collect();
    let want = util::replicas(&ctx.d);
    util::active(&ctx.rss, &all).into_iter().any(|i| {
        util::int_annotation(&ctx.rss[i], DESIRED_REPLICAS).is_some_and(|desired| desired != want)
    })
}

/// Resizes to `size` and records the event, if the size differs.
pub fn scale_and_record(ctx: &mut Ctx<'_>, i: usize, size: i32) -> bool {
    let current = util::rs_replicas(&ctx.rss[i]);
    if current == size {
        return false;
    }
    let direction = if current < size { "up" } else { "down" };
    scale_rs(ctx, i, size, direction)
}

/// Writes `size` and the replica annotations when either is stale; returns whether the size
/// changed (only that is announced).
fn scale_rs(ctx: &mut Ctx<'_>, i: usize, size: i32, direction: &str) -> bool {
    let want = util::replicas(&ctx.d);
    let max = want.saturating_add(util::max_surge(&ctx.d));
    let old = util::rs_replicas(&ctx.rss[i]);
    let resized = old != size;
    if !resized && !replicas_annotations_need_update(&ctx.rss[i], want, max) {
        return false;
    }
    let rs = &mut ctx.rss[i];
    rs.spec.get_or_insert_with(Default::default).replicas = Some(size);
    set_replicas_annotations(rs, want, max);
    ctx.write_rs(i);
    if resized {
        let name = ctx.rs_name(i);
        let message = format!("Scaled {direction} replica set {name} to {size} from {old}");
        ctx.event(EventType::Normal, "ScalingReplicaSet", message);
    }
    resized
}

/// Upstream scale(): with at most one active ReplicaSet it takes the whole count; a
/// saturated new one drains the old ones; otherwise, for rolling updates, the difference to
/// replicas + maxSurge is shared out in proportion to each ReplicaSet's size, so a resize
/// neither hastens nor undoes the rollout.
fn scale(ctx: &mut Ctx<'_>, new: Option<usize>, olds: &[usize]) {
    let want = util::replicas(&ctx.d);
    if let Some(i) = active_or_latest(ctx, new, olds) {
        if util::rs_replicas(&ctx.rss[i]) != want {
            scale_and_record(ctx, i, want);
        }
        return;
    }
    if new.is_some_and(|i| is_saturated(ctx, i)) {
        for i in util::active(&ctx.rss, olds) {
            scale_and_record(ctx, i, 0);
        }
        return;
    }
    if !util::is_rolling(&ctx.d) {
        return;
    }
    let all: Vec<usize> = olds.iter().copied().chain(new).collect();
    let mut all = util::active(&ctx.rss, &all);
    let current = util::sum(&ctx.rss, &all, util::rs_replicas);
    let allowed = if want > 0 {
        want.saturating_add(util::max_surge(&ctx.d))
    } else {
        0
    };
    let to_add = allowed.saturating_sub(current);
    let direction = match to_add.cmp(&0) {
        Ordering::Greater => {
            // Largest first; among equals the newest grows first.
            all.sort_by(|a, b| by_size(ctx, *a, *b).then_with(|| newer_first(ctx, *a, *b)));
            "up"
        }
        Ordering::Less => {
            // Largest first; among equals the oldest shrinks first.
            all.sort_by(|a, b| by_size(ctx, *a, *b).then_with(|| newer_first(ctx, *b, *a)));
            "down"
        }
        Ordering::Equal => "",
    };

    let mut added = 0i32;
    let mut sizes: Vec<i32> = all
        .iter()
        .map(|i| {
            let size = util::rs_replicas(&ctx.rss[*i]);
            if to_add == 0 {
                return size;
            }
            let share = proportion(ctx, *i, to_add, added);
            added = added.saturating_add(share);
            size.saturating_add(share)
        })
        .collect();
    if let Some(first) = sizes.first_mut()
        && to_add != 0
    {
        // Rounding leftovers go to the largest.
        *first = first.saturating_add(to_add - added).max(0);
    }
    for (i, size) in all.into_iter().zip(sizes) {
        scale_rs(ctx, i, size, direction);
    }
}

fn by_size(ctx: &Ctx<'_>, a: usize, b: usize) -> Ordering {
    util::rs_replicas(&ctx.rss[b]).cmp(&util::rs_replicas(&ctx.rss[a]))
}

fn newer_first(ctx: &Ctx<'_>, a: usize, b: usize) -> Ordering {
    util::by_creation(&ctx.rss[b], &ctx.rss[a])
}

/// The only ReplicaSet with replicas, or the newest when none has any; `None` when several
/// have replicas (upstream FindActiveOrLatest).
fn active_or_latest(ctx: &Ctx<'_>, new: Option<usize>, olds: &[usize]) -> Option<usize> {
    let mut sorted = olds.to_vec();
    sorted.sort_by(|a, b| newer_first(ctx, *a, *b));
    let all: Vec<usize> = sorted.iter().copied().chain(new).collect();
    let active = util::active(&ctx.rss, &all);
    match active.as_slice() {
        [] => new.or_else(|| sorted.first().copied()),
        [only] => Some(*only),
        _ => None,
    }
}

/// The new ReplicaSet holds the whole deployment, sized for the current count and all
/// available.
fn is_saturated(ctx: &Ctx<'_>, i: usize) -> bool {
    let rs = &ctx.rss[i];
    let want = util::replicas(&ctx.d);
    util::int_annotation(rs, DESIRED_REPLICAS) == Some(want)
        && util::rs_replicas(rs) == want
        && util::rs_available(rs) == want
}

/// This ReplicaSet's share of `to_add`, bounded by what is still to be handed out.
fn proportion(ctx: &Ctx<'_>, i: usize, to_add: i32, added: i32) -> i32 {
    let size = util::rs_replicas(&ctx.rss[i]);
    if size == 0 || to_add == 0 || to_add == added {
        return 0;
    }
    let fraction = fraction(ctx, i);
    let allowed = to_add - added;
    if to_add > 0 {
        fraction.min(allowed)
    } else {
        fraction.max(allowed)
    }
}

/// How much this ReplicaSet would change if it kept its share of the deployment's size: its
/// size scaled from the max-replicas it was sized for to the current replicas + maxSurge.
fn fraction(ctx: &Ctx<'_>, i: usize) -> i32 {
    let rs = &ctx.rss[i];
    let size = util::rs_replicas(rs);
    let want = util::replicas(&ctx.d);
    if want == 0 {
        return -size;
    }
    let target = want.saturating_add(util::max_surge(&ctx.d));
    let sized_for = util::int_annotation(rs, MAX_REPLICAS).unwrap_or_else(|| {
        // Without the annotation the deployment's last observed size is the best guess.
        ctx.d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0)
    });
    if sized_for <= 0 {
        return 0;
    }
    let scaled = f64::from(size) * f64::from(target) / f64::from(sized_for);
    // `as` saturates on overflow, which is the clamp wanted here.
    (scaled.round() as i32).saturating_sub(size)
}
