//! Job controller decisions (upstream pkg/controller/job), for NonIndexed jobs: keep
//! `parallelism` pods running until `completions` have succeeded, fail the job after
//! `backoffLimit` failed pods or `activeDeadlineSeconds`, stop its pods while suspended, and
//! report status and conditions as upstream does in 1.33 (SuccessCriteriaMet then Complete,
//! FailureTarget then Failed).
//!
//! Counts come from the job's pods that still exist (upstream also tracks them with the
//! `batch.kubernetes.io/job-tracking` finalizer so that a deleted finished pod still counts;
//! here the previous status is the floor, so a count never goes down, but a pod deleted
//! before any sync saw it finish is not counted). Indexed completion mode, pod failure
//! policies, success policies and the failure backoff delay are not implemented.

#[cfg(test)]
mod tests;

use k8s_openapi::api::batch::v1::{Job, JobCondition, JobStatus, UncountedTerminatedPods};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{OwnerReference, Time};
use k8s_openapi::jiff::Timestamp;

use crate::controllers::{owner, pods};

/// backoffLimit when the spec leaves it out.
const DEFAULT_BACKOFF_LIMIT: i32 = 6;

/// The writes one Job sync asks for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JobPlan {
    /// How many pods to create from [`new_pod`].
    pub create: usize,
    /// Active pods to delete (finished job, suspended, parallelism lowered).
    pub delete: Vec<String>,
    /// The status to write when it differs from the current one.
    pub status: JobStatus,
    /// Events (warning?, reason, message) to record once the status is written.
    pub events: Vec<(bool, &'static str, String)>,
    /// Sync again after this many seconds (the active deadline).
    pub requeue_after: Option<i64>,
}

fn stamp(now: Timestamp) -> Time {
    Time(Timestamp::from_second(now.as_second()).unwrap_or(now))
}

fn phase(p: &Pod) -> Option<&str> {
    p.status.as_ref().and_then(|s| s.phase.as_deref())
}

fn has_condition(status: &JobStatus, type_: &str) -> bool {
    status
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == type_ && c.status == "True")
}

fn condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: Timestamp,
) -> JobCondition {
    JobCondition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_probe_time: Some(stamp(now)),
        last_transition_time: Some(stamp(now)),
    }
}

/// Sets a condition, keeping its transition time when its status does not change.
fn set_condition(status: &mut JobStatus, new: JobCondition) {
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    match conditions.iter_mut().find(|c| c.type_ == new.type_) {
        Some(c) if c.status == new.status => {
            c.reason = new.reason;
            c.message = new.message;
        }
        Some(c) => *c = new,
        None => conditions.push(new),
    }
}

/// Whether the job has finished (Complete or Failed): nothing more is created.
pub fn is_finished(job: &Job) -> bool {
    job.status
        .as_ref()
        .is_some_and(|s| has_condition(s, "Complete") || has_condition(s, "Failed"))
}

/// One sync of `job` against `pods`, the pods of its namespace.
pub fn sync(job: &Job, pods: &[Pod], now: Timestamp) -> JobPlan {
    let spec = job.spec.clone().unwrap_or_default();
    let old = job.status.clone().unwrap_or_default();
    let uid = job.metadata.uid.as_deref().unwrap_or("");
    let mine: Vec<&Pod> = pods
        .iter()
        .filter(|p| owner::controller_of(&p.metadata).is_some_and(|o| o.uid == uid))
        .collect();
    let active: Vec<&Pod> = mine
        .iter()
        .copied()
        .filter(|p| pods::is_active(p))
        .collect();
    let count = |ph: &str| mine.iter().filter(|p| phase(p) == Some(ph)).count() as i32;
    let succeeded = count("Succeeded").max(old.succeeded.unwrap_or(0));
    let failed = count("Failed").max(old.failed.unwrap_or(0));
    let terminating = mine
        .iter()
        .filter(|p| {
            p.metadata.deletion_timestamp.is_some()
                && !matches!(phase(p), Some("Succeeded" | "Failed"))
        })
        .count() as i32;

    let mut plan = JobPlan::default();
    let mut status = old.clone();
    status.succeeded = Some(succeeded);
    status.failed = Some(failed);
    status.terminating = Some(terminating);
    status.uncounted_terminated_pods = Some(UncountedTerminatedPods::default());
    let suspended = spec.suspend == Some(true);
    let finished = is_finished(job);
    if status.start_time.is_none() && !suspended && !finished {
        status.start_time = Some(stamp(now));
    }

    let parallelism = spec.parallelism.unwrap_or(1).max(0);
    let backoff_limit = spec.backoff_limit.unwrap_or(DEFAULT_BACKOFF_LIMIT);
    let mut want_active = parallelism;
    let mut ending: Option<(&str, &str, &str, bool)> = None;
    if !finished {
        let deadline = spec.active_deadline_seconds.zip(status.start_time.as_ref());
        let done = match spec.completions {
            Some(c) => succeeded >= c,
            // Work-queue jobs: done once one pod succeeded and none is still running.
            None => succeeded > 0 && active.is_empty(),
        };
        if done {
            ending = Some((
                "SuccessCriteriaMet",
                "CompletionsReached",
                "Reached expected number of succeeded pods",
                false,
            ));
        } else if failed > backoff_limit {
            ending = Some((
                "FailureTarget",
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit",
                true,
            ));
        } else if let Some((seconds, start)) = deadline
            && !suspended
        {
            let left = start.0.as_second() + seconds - now.as_second();
            if left <= 0 {
                ending = Some((
                    "FailureTarget",
                    "DeadlineExceeded",
                    "Job was active longer than specified deadline",
                    true,
                ));
            } else {
                plan.requeue_after = Some(left);
            }
        }
        want_active = match spec.completions {
            Some(c) => parallelism.min((c - succeeded).max(0)),
            // Once one succeeded, the others finish their work: none new, none stopped.
            None if succeeded > 0 => active.len() as i32,
            None => parallelism,
        };
    }

    if let Some((interim, reason, message, failure)) = ending {
        set_condition(
            &mut status,
            condition(interim, "True", reason, message, now),
        );
        let last = if failure { "Failed" } else { "Complete" };
        set_condition(&mut status, condition(last, "True", reason, message, now));
        if failure {
            plan.events.push((true, reason, message.to_string()));
        } else {
            status.completion_time = Some(stamp(now));
            plan.events
                .push((false, "Completed", "Job completed".into()));
        }
        want_active = 0;
    } else if finished {
        want_active = 0;
    }

    if suspended && !finished {
        want_active = 0;
        if !has_condition(&status, "Suspended") {
            set_condition(
                &mut status,
                condition("Suspended", "True", "JobSuspended", "Job suspended", now),
            );
            plan.events
                .push((false, "Suspended", "Job suspended".into()));
        }
    } else if has_condition(&status, "Suspended") {
        set_condition(
            &mut status,
            condition("Suspended", "False", "JobResumed", "Job resumed", now),
        );
        plan.events.push((false, "Resumed", "Job resumed".into()));
    }

    let active_count = active.len() as i32;
    if active_count < want_active {
        plan.create = (want_active - active_count) as usize;
    } else if active_count > want_active {
        // Newest first: the pods that have done the least work go.
        let mut by_age = active.clone();
        by_age.sort_by_key(|p| std::cmp::Reverse(p.metadata.creation_timestamp.clone()));
        plan.delete = by_age
            .iter()
            .take((active_count - want_active) as usize)
            .filter_map(|p| p.metadata.name.clone())
            .collect();
    }
    let still_active = active_count - plan.delete.len() as i32;
    status.active = Some(still_active);
    status.ready = Some(
        active
            .iter()
            .filter(|p| {
                pods::is_ready(p)
                    && !plan
                        .delete
                        .contains(p.metadata.name.as_ref().unwrap_or(&String::new()))
            })
            .count() as i32,
    );
    plan.status = status;
    plan
}

pub fn owner_reference(job: &Job) -> OwnerReference {
    owner::controller_ref("batch/v1", "Job", &job.metadata)
}

/// A pod to create for `job`, named by the server from `<job-name>-`.
pub fn new_pod(job: &Job) -> Pod {
    let template = job.spec.as_ref().map(|s| s.template.clone());
    pods::from_template(
        template.unwrap_or_default(),
        &job.metadata,
        owner_reference(job),
    )
}
