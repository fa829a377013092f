//! Deployment status: counts, availability, rollout progress and its deadline (upstream
//! calculateStatus, syncRolloutStatus, checkPausedConditions, requeueStuckDeployment).

use k8s_openapi::api::apps::v1::{DeploymentStatus, ReplicaSet};

use super::Ctx;
use super::conditions::{
    self, AVAILABLE, MIN_AVAILABLE, MIN_UNAVAILABLE, NEW_RS_AVAILABLE, PAUSED, PROGRESSING,
    REPLICA_FAILURE, RESUMED, RS_UPDATED, TIMED_OUT,
};
use super::util;
use crate::controllers::clock;

/// Status when not rolling (paused, scaling, being deleted): counts and availability only.
pub fn sync_deployment_status(ctx: &mut Ctx<'_>, new: Option<usize>, olds: &[usize]) {
    let st = calculate(ctx, new, olds);
    ctx.finish_status(st);
}

/// Status during a rollout, with the Progressing condition kept current.
pub fn sync_rollout_status(ctx: &mut Ctx<'_>, new: Option<usize>, olds: &[usize]) {
    let mut st = calculate(ctx, new, olds);
    let deadline = util::progress_deadline(&ctx.d);
    if deadline.is_none() {
        conditions::remove(&mut st, PROGRESSING);
    }
    let read = ctx.status().clone();
    let current = conditions::get(&read, PROGRESSING);
    // A finished rollout seen again: nothing to estimate.
    let finished = count(st.replicas) == count(st.updated_replicas)
        && current.is_some_and(|c| c.reason.as_deref() == Some(NEW_RS_AVAILABLE));
    if let Some(deadline) = deadline
        && !finished
    {
        let subject = match new {
            Some(i) => format!("ReplicaSet \"{}\"", ctx.rs_name(i)),
            None => format!(
                "Deployment \"{}\"",
                ctx.d.metadata.name.clone().unwrap_or_default()
            ),
        };
        let now = ctx.now;
        if util::deployment_complete(&ctx.d, &st) {
            let message = format!("{subject} has successfully progressed.");
            let cond = conditions::new(PROGRESSING, "True", NEW_RS_AVAILABLE, message, now);
            conditions::set(&mut st, cond);
        } else if progressed(&read, &st) {
            // Unlike other conditions, progress refreshes lastUpdateTime even with an
            // unchanged reason: that time is what the deadline counts from.
            let message = format!("{subject} is progressing.");
            let mut cond = conditions::new(PROGRESSING, "True", RS_UPDATED, message, now);
            if let Some(current) = current {
                if current.status == "True" {
                    cond.last_transition_time = current.last_transition_time.clone();
                }
                conditions::remove(&mut st, PROGRESSING);
            }
            conditions::set(&mut st, cond);
        } else if timed_out(&st, deadline, ctx) {
            let message = format!("{subject} has timed out progressing.");
            let cond = conditions::new(PROGRESSING, "False", TIMED_OUT, message, now);
            conditions::set(&mut st, cond);
        }
    }

    match replica_failure(ctx, new, olds) {
        Some(cond) => conditions::set(&mut st, cond),
        None => conditions::remove(&mut st, REPLICA_FAILURE),
    }
    ctx.plan.requeue_after = progress_check_after(ctx, &st, deadline);
    ctx.finish_status(st);
}

/// Upstream checkPausedConditions: pausing and resuming show in Progressing so the time spent
/// paused does not count against the deadline. A timeout already reported stays.
pub fn check_paused_conditions(ctx: &mut Ctx<'_>) {
    if util::progress_deadline(&ctx.d).is_none() {
        return;
    }
    let reason = conditions::reason(ctx.status(), PROGRESSING);
    if reason.as_deref() == Some(TIMED_OUT) {
        return;
    }
    let paused_shown = reason.as_deref() == Some(PAUSED);
    let now = ctx.now;
    let cond = match (util::paused(&ctx.d), paused_shown) {
        (true, false) => conditions::new(
            PROGRESSING,
            "Unknown",
            PAUSED,
            "Deployment is paused".into(),
            now,
        ),
        (false, true) => conditions::new(
            PROGRESSING,
            "Unknown",
            RESUMED,
            "Deployment is resumed".into(),
            now,
        ),
        _ => return,
    };
    conditions::set(ctx.status(), cond);
}

/// Upstream calculateStatus: counts from the ReplicaSets' statuses, Available from
/// replicas - maxUnavailable, other conditions carried over.
fn calculate(ctx: &mut Ctx<'_>, new: Option<usize>, olds: &[usize]) -> DeploymentStatus {
    let all: Vec<usize> = olds.iter().copied().chain(new).collect();
    let read = ctx.status().clone();
    let rss = &ctx.rss;
    let available = util::sum(rss, &all, util::rs_available);
    // More available than wanted happens while scaling down; that is not "-1 unavailable".
    let unavailable = (util::sum(rss, &all, util::rs_replicas) - available).max(0);
    let updated = new.map_or(0, |i| util::rs_status_replicas(&rss[i]));
    let mut st = DeploymentStatus {
        observed_generation: ctx.d.metadata.generation,
        replicas: non_zero(util::sum(rss, &all, util::rs_status_replicas)),
        updated_replicas: non_zero(updated),
        ready_replicas: non_zero(util::sum(rss, &all, util::rs_ready)),
        available_replicas: non_zero(available),
        unavailable_replicas: non_zero(unavailable),
        collision_count: read.collision_count,
        conditions: read.conditions,
        terminating_replicas: None,
    };
    let now = ctx.now;
    let cond = if available >= util::replicas(&ctx.d) - util::max_unavailable(&ctx.d) {
        let message = "Deployment has minimum availability.".to_owned();
        conditions::new(AVAILABLE, "True", MIN_AVAILABLE, message, now)
    } else {
        let message = "Deployment does not have minimum availability.".to_owned();
        conditions::new(AVAILABLE, "False", MIN_UNAVAILABLE, message, now)
    };
    conditions::set(&mut st, cond);
    st
}

/// Upstream DeploymentProgressing: more updated, ready or available pods, or fewer old ones.
fn progressed(read: &DeploymentStatus, st: &DeploymentStatus) -> bool {
    let old_pods = |s: &DeploymentStatus| count(s.replicas) - count(s.updated_replicas);
    count(st.updated_replicas) > count(read.updated_replicas)
        || old_pods(st) < old_pods(read)
        || count(st.ready_replicas) > count(read.ready_replicas)
        || count(st.available_replicas) > count(read.available_replicas)
}

/// Upstream DeploymentTimedOut: no progress recorded for longer than the deadline.
fn timed_out(st: &DeploymentStatus, deadline: i64, ctx: &Ctx<'_>) -> bool {
    let Some(cond) = conditions::get(st, PROGRESSING) else {
        return false;
    };
    match cond.reason.as_deref() {
        Some(NEW_RS_AVAILABLE) => false,
        Some(TIMED_OUT) => true,
        _ => cond.last_update_time.as_ref().is_some_and(|t| {
            let due = t.0.as_nanosecond() + i128::from(deadline) * 1_000_000_000;
            due < ctx.now.as_nanosecond()
        }),
    }
}

/// Seconds until the deadline check could change its verdict, for rollouts still open.
fn progress_check_after(
    ctx: &Ctx<'_>,
    st: &DeploymentStatus,
    deadline: Option<i64>,
) -> Option<i64> {
    let deadline = deadline?;
    let cond = conditions::get(st, PROGRESSING)?;
    let settled = matches!(cond.reason.as_deref(), Some(TIMED_OUT | NEW_RS_AVAILABLE));
    if settled || util::deployment_complete(&ctx.d, st) {
        return None;
    }
    let from = clock::secs(cond.last_update_time.as_ref()?);
    let after = from
        .saturating_add(deadline)
        .saturating_sub(ctx.now.as_second());
    // One second past the deadline, since the comparison is strict.
    Some(after.max(0).saturating_add(1))
}

/// The new ReplicaSet's failure condition, else the first of any ReplicaSet's.
fn replica_failure(
    ctx: &Ctx<'_>,
    new: Option<usize>,
    olds: &[usize],
) -> Option<k8s_openapi::api::apps::v1::DeploymentCondition> {
    let failure = |rs: &ReplicaSet| {
        rs.status
            .as_ref()?
            .conditions
            .as_ref()?
            .iter()
            .find(|c| c.type_ == REPLICA_FAILURE)
            .map(conditions::from_replica_set)
    };
    new.into_iter()
        .chain(olds.iter().copied())
        .find_map(|i| failure(&ctx.rss[i]))
}

/// The status as the API would hand it back: zero counts and empty lists omitted.
pub fn normalised(st: &DeploymentStatus) -> DeploymentStatus {
    let keep = |v: Option<i32>| v.filter(|n| *n != 0);
    DeploymentStatus {
        observed_generation: st.observed_generation.filter(|n| *n != 0),
        replicas: keep(st.replicas),
        updated_replicas: keep(st.updated_replicas),
        ready_replicas: keep(st.ready_replicas),
        available_replicas: keep(st.available_replicas),
        unavailable_replicas: keep(st.unavailable_replicas),
        terminating_replicas: keep(st.terminating_replicas),
        collision_count: keep(st.collision_count),
        conditions: st.conditions.clone().filter(|c| !c.is_empty()),
    }
}

fn count(v: Option<i32>) -> i32 {
    v.unwrap_or(0)
}

fn non_zero(n: i32) -> Option<i32> {
    (n != 0).then_some(n)
}
