//! CronJob controller decisions (upstream pkg/controller/cronjob, the "v2" controller, as in
//! 1.33): start a Job at each time the schedule names, in `spec.timeZone` (or the schedule's
//! `TZ=` prefix, else UTC), unless suspended, too late for `startingDeadlineSeconds`, or held
//! back by `concurrencyPolicy`; keep `status.active`, `lastScheduleTime` and
//! `lastSuccessfulTime`; delete finished Jobs beyond the history limits.
//!
//! Only the most recent unmet schedule time is started (a CronJob that missed several starts
//! catches up once), and the Job for a time is named `<cronjob>-<time in unix minutes>`, so a
//! time is never started twice even when a status write was lost. The writes whose outcome
//! changes the status (deleting a Job being replaced, creating one) are the runner's:
//! [`forget`] and [`started`] apply them to [`CronJobPlan::status`].
//!
//! Unlike upstream, a time that can no longer start because `startingDeadlineSeconds` has
//! passed is reported (MissSchedule; upstream's window arithmetic leaves that event
//! unreachable), and a Job seen finished also updates `lastSuccessfulTime` in the same sync.

#[cfg(test)]
mod tests;

use std::collections::HashSet;

use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, CronJobStatus, Job};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::tz::TimeZone;
use k8s_openapi::jiff::{SignedDuration, Timestamp, Zoned};
use kube::Resource;

use crate::controllers::owner;
use crate::kinds::cron::{self, Schedule};

/// The annotation giving a Job the schedule time it was started for (RFC 3339, in the
/// CronJob's time zone).
pub const SCHEDULED_TIMESTAMP: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";

/// `successfulJobsHistoryLimit` and `failedJobsHistoryLimit` when the spec leaves them out.
const DEFAULT_SUCCESSFUL_LIMIT: i32 = 3;
const DEFAULT_FAILED_LIMIT: i32 = 1;

/// More missed starts than this means a wrong clock or a long outage: warn.
const TOO_MANY_MISSED: i64 = 100;

/// An event to record and the log line saying it (without the CronJob's key in front).
#[derive(Clone, Debug, PartialEq)]
pub struct Note {
    pub warning: bool,
    pub reason: &'static str,
    pub message: String,
    pub log: String,
}

/// A Job to delete.
#[derive(Clone, Debug, PartialEq)]
pub struct Removal {
    pub name: String,
    pub uid: String,
    /// The log line (without the CronJob's key in front).
    pub log: String,
}

/// The Job to create for a schedule time.
#[derive(Clone, Debug, PartialEq)]
pub struct Start {
    pub job: Job,
    /// The schedule time, in the schedule's zone.
    pub scheduled: Zoned,
    /// That time as the log shows it.
    pub at: String,
}

/// The writes one CronJob sync asks for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CronJobPlan {
    /// Finished Jobs beyond the history limits, oldest first.
    pub cleanup: Vec<Removal>,
    /// Active Jobs to delete before `create` (concurrencyPolicy Replace): the new one is only
    /// created once they all are deleted, each then [`forget`]-ed from the status.
    pub replace: Vec<Removal>,
    /// The Job to create; once it exists (created, or already there and ours) [`started`]
    /// adds it to the status.
    pub create: Option<Start>,
    /// The status to write when it differs from the current one, before the above.
    pub status: CronJobStatus,
    /// Events about the status change, to record once it is written.
    pub events: Vec<Note>,
    /// Log lines without an event, for once the status is written.
    pub logs: Vec<String>,
    /// Standing conditions (a start held back, a bad time zone) that every sync finds again
    /// while they last: the runner records and logs each once.
    pub notices: Vec<Note>,
    /// Sync again after this many seconds: the next schedule time.
    pub requeue_after: Option<i64>,
}

/// The condition (Complete or Failed) a finished Job ended with.
pub fn finished(job: &Job) -> Option<&str> {
    job.status
        .as_ref()?
        .conditions
        .iter()
        .flatten()
        .find(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
        .map(|c| c.type_.as_str())
}

/// The name of the Job started for `scheduled`: unix minutes, as upstream.
pub fn job_name(cronjob: &str, scheduled: Timestamp) -> String {
    format!("{cronjob}-{}", scheduled.as_second().div_euclid(60))
}

/// Go's `time.RFC3339` of `t` in its zone (`Z` for a zero offset).
pub fn rfc3339(t: &Zoned) -> String {
    if t.offset().seconds() == 0 {
        t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        t.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
    }
}

/// Go's `time.RFC1123Z` of `t` in UTC, as upstream's MissSchedule message has it.
fn rfc1123z(t: Timestamp) -> String {
    t.to_zoned(TimeZone::UTC)
        .strftime("%a, %d %b %Y %H:%M:%S +0000")
        .to_string()
}

/// A schedule time as the log shows it: the wall-clock time, with the date unless it is
/// `now`'s day.
fn clock(t: &Zoned, now: Timestamp) -> String {
    if t.date() == now.to_zoned(t.time_zone().clone()).date() {
        t.strftime("%H:%M:%S %Z").to_string()
    } else {
        t.strftime("%Y-%m-%d %H:%M:%S %Z").to_string()
    }
}

/// The Job to start for `scheduled`: the template's labels, annotations and spec, the
/// scheduled-timestamp annotation (in `zone`), and the CronJob as its controller.
pub fn new_job(cronjob: &CronJob, scheduled: Timestamp, zone: &TimeZone) -> Job {
    let template = cronjob
        .spec
        .as_ref()
        .map(|s| s.job_template.clone())
        .unwrap_or_default();
    let meta = template.metadata.unwrap_or_default();
    let mut annotations = meta.annotations.unwrap_or_default();
    annotations.insert(
        SCHEDULED_TIMESTAMP.to_string(),
        rfc3339(&scheduled.to_zoned(zone.clone())),
    );
    let name = cronjob.metadata.name.as_deref().unwrap_or_default();
    Job {
        metadata: ObjectMeta {
            name: Some(job_name(name, scheduled)),
            namespace: cronjob.metadata.namespace.clone(),
            labels: meta.labels,
            annotations: Some(annotations),
            owner_references: Some(vec![owner::controller_ref(
                "batch/v1",
                "CronJob",
                &cronjob.metadata,
            )]),
            ..ObjectMeta::default()
        },
        spec: template.spec,
        status: None,
    }
}

/// Records that `job` was started for `scheduled`.
pub fn started(status: &mut CronJobStatus, job: &Job, scheduled: Timestamp) {
    let reference = job.object_ref(&());
    let active = status.active.get_or_insert_with(Vec::new);
    if !active.iter().any(|a| a.uid == reference.uid) {
        active.push(reference);
    }
    status.last_schedule_time = Some(Time(scheduled));
}

/// Takes the Job with `uid` off the active list.
pub fn forget(status: &mut CronJobStatus, uid: &str) {
    if let Some(active) = status.active.as_mut() {
        active.retain(|r| r.uid.as_deref() != Some(uid));
        if active.is_empty() {
            status.active = None;
        }
    }
}

fn active(status: &CronJobStatus) -> &[ObjectReference] {
    status.active.as_deref().unwrap_or_default()
}

fn in_active(status: &CronJobStatus, uid: &str) -> bool {
    active(status).iter().any(|r| r.uid.as_deref() == Some(uid))
}

fn name_of(meta: &ObjectMeta) -> String {
    meta.name.clone().unwrap_or_default()
}

fn uid_of(meta: &ObjectMeta) -> String {
    meta.uid.clone().unwrap_or_default()
}

fn note(warning: bool, reason: &'static str, message: String, log: String) -> Note {
    Note {
        warning,
        reason,
        message,
        log,
    }
}

/// Finished Jobs beyond the history limits: the oldest by start time (never-started last,
/// names breaking ties) go.
fn past_history(spec: &CronJobSpec, jobs: &[Job]) -> Vec<Removal> {
    let limits = [
        (
            "Complete",
            "successfulJobsHistoryLimit",
            spec.successful_jobs_history_limit
                .unwrap_or(DEFAULT_SUCCESSFUL_LIMIT),
        ),
        (
            "Failed",
            "failedJobsHistoryLimit",
            spec.failed_jobs_history_limit
                .unwrap_or(DEFAULT_FAILED_LIMIT),
        ),
    ];
    let mut out = Vec::new();
    for (condition, field, limit) in limits {
        let mut these: Vec<&Job> = jobs
            .iter()
            .filter(|j| finished(j) == Some(condition))
            .collect();
        these.sort_by_key(|j| {
            let start = j.status.as_ref().and_then(|s| s.start_time.clone());
            (start.is_none(), start, j.metadata.name.clone())
        });
        let excess = these.len().saturating_sub(limit.max(0) as usize);
        out.extend(these.iter().take(excess).map(|j| Removal {
            name: name_of(&j.metadata),
            uid: uid_of(&j.metadata),
            log: format!(
                "deleted finished job {} ({field} is {limit})",
                name_of(&j.metadata)
            ),
        }));
    }
    out
}

/// The most recent schedule time in (`after`, `now`], and about how many there were (from
/// the first two's spacing, as upstream counts). Err for a schedule that never runs.
fn most_recent(
    schedule: &Schedule,
    zone: &TimeZone,
    after: Timestamp,
    now: Timestamp,
) -> Result<Option<(Zoned, i64)>, &'static str> {
    const NEVER: &str = "time difference between two schedules is less than 1 second";
    let next = |t: &Zoned| schedule.next_after(t).ok_or(NEVER);
    let t1 = next(&after.to_zoned(zone.clone()))?;
    if t1.timestamp() > now {
        return Ok(None);
    }
    let t2 = next(&t1)?;
    if t2.timestamp() > now {
        return Ok(Some((t1, 1)));
    }
    let spacing = t2
        .timestamp()
        .duration_since(t1.timestamp())
        .as_secs()
        .max(1);
    let missed = now.duration_since(t1.timestamp()).as_secs() / spacing + 1;
    // Walk only the end of the range: from the shortest look-back that holds a time.
    let day = 86_400;
    for back in [60, 3_600, day, 7 * day, 32 * day, 366 * day, 5 * 366 * day] {
        let from = now
            .checked_sub(SignedDuration::from_secs(back))
            .unwrap_or(after)
            .max(after);
        let mut t = next(&from.to_zoned(zone.clone()))?;
        if t.timestamp() > now {
            continue;
        }
        loop {
            let n = next(&t)?;
            if n.timestamp() > now {
                return Ok(Some((t, missed)));
            }
            t = n;
        }
    }
    // Only beyond five years: walk it all.
    let mut t = t2;
    loop {
        let n = next(&t)?;
        if n.timestamp() > now {
            return Ok(Some((t, missed)));
        }
        t = n;
    }
}

/// Whole seconds until `t`, rounded up, at least one.
fn seconds_until(now: Timestamp, t: Timestamp) -> i64 {
    let d = t.duration_since(now);
    let secs = d.as_secs() + i64::from(d.subsec_nanos() > 0);
    secs.max(1)
}

/// One sync of `cronjob` against `jobs`, the Jobs it controls.
pub fn sync(cronjob: &CronJob, jobs: &[Job], now: Timestamp) -> CronJobPlan {
    let spec = cronjob.spec.clone().unwrap_or_default();
    let mut plan = CronJobPlan {
        status: cronjob.status.clone().unwrap_or_default(),
        ..CronJobPlan::default()
    };
    reconcile(&mut plan, &spec, jobs);
    schedule(&mut plan, cronjob, &spec, jobs, now);
    if plan.status.active.as_ref().is_some_and(Vec::is_empty) {
        plan.status.active = None;
    }
    plan
}

/// Bring the status up to date with the Jobs: history cleanup first (as upstream, so a
/// finished Job deleted there leaves the active list silently), then finished and vanished
/// Jobs off the active list, and the latest success.
fn reconcile(plan: &mut CronJobPlan, spec: &CronJobSpec, jobs: &[Job]) {
    let status = &mut plan.status;
    plan.cleanup = past_history(spec, jobs);
    for r in &plan.cleanup {
        forget(status, &r.uid);
    }
    for job in jobs {
        let (name, uid) = (name_of(&job.metadata), uid_of(&job.metadata));
        let condition = finished(job);
        match (in_active(status, &uid), condition) {
            (false, None) => plan.notices.push(note(
                true,
                "UnexpectedJob",
                format!("Saw a job that the controller did not create or forgot: {name}"),
                format!("job {name} is not one this cronjob started: left alone"),
            )),
            (true, Some(condition)) => {
                forget(status, &uid);
                plan.events.push(note(
                    false,
                    "SawCompletedJob",
                    format!("Saw completed job: {name}, condition: {condition}"),
                    format!("job {name} finished: {condition}"),
                ));
            }
            _ => {}
        }
        if condition == Some("Complete")
            && let Some(done) = job.status.as_ref().and_then(|s| s.completion_time.clone())
            && status
                .last_successful_time
                .as_ref()
                .is_none_or(|t| *t < done)
        {
            status.last_successful_time = Some(done);
        }
    }
    let present: HashSet<String> = jobs.iter().map(|j| uid_of(&j.metadata)).collect();
    let gone: Vec<ObjectReference> = active(status)
        .iter()
        .filter(|r| !present.contains(r.uid.as_deref().unwrap_or_default()))
        .cloned()
        .collect();
    for r in gone {
        let name = r.name.clone().unwrap_or_default();
        forget(status, r.uid.as_deref().unwrap_or_default());
        plan.events.push(note(
            false,
            "MissingJob",
            format!("Active job went missing: {name}"),
            format!("active job {name} is gone"),
        ));
    }
}

/// The scheduling half of a sync: whether a Job starts now, and when to look again.
fn schedule(
    plan: &mut CronJobPlan,
    cronjob: &CronJob,
    spec: &CronJobSpec,
    jobs: &[Job],
    now: Timestamp,
) {
    if cronjob.metadata.deletion_timestamp.is_some() {
        return;
    }
    // spec.timeZone names the zone of the schedule and of the scheduled-timestamp annotation.
    let spec_zone = match spec.time_zone.as_deref() {
        None => TimeZone::UTC,
        Some(name) => match cron::time_zone(name) {
            Ok(tz) => tz,
            Err(e) => {
                plan.notices.push(note(
                    true,
                    "UnknownTimeZone",
                    format!("invalid timeZone: {name:?}: {e}"),
                    format!("nothing is scheduled: time zone {name:?}: {e}"),
                ));
                return;
            }
        },
    };
    if spec.suspend == Some(true) {
        return;
    }
    let text = &spec.schedule;
    if text.contains("TZ") {
        plan.notices.push(note(
            true,
            "UnsupportedSchedule",
            format!(
                "CRON_TZ or TZ used in schedule {text:?} is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details"
            ),
            format!("schedule {text:?} names its zone with TZ: use spec.timeZone instead"),
        ));
    }
    let unparseable = |plan: &mut CronJobPlan, e: String| {
        plan.notices.push(note(
            true,
            "UnparseableSchedule",
            format!("unparseable schedule: {text:?} : {e}"),
            format!("nothing is scheduled: schedule {text:?}: {e}"),
        ));
    };
    let schedule = match cron::parse(text) {
        Ok(s) => s,
        Err(e) => return unparseable(plan, e),
    };
    // A TZ= prefix wins over spec.timeZone, as the cron library reads it.
    let zone = match schedule.zone() {
        None => spec_zone.clone(),
        Some(name) => match cron::time_zone(name) {
            Ok(tz) => tz,
            Err(e) => return unparseable(plan, format!("provided bad location {name}: {e}")),
        },
    };

    let status = &plan.status;
    let last = status
        .last_schedule_time
        .as_ref()
        .or(cronjob.metadata.creation_timestamp.as_ref())
        .map_or(now, |t| t.0);
    let deadline = spec.starting_deadline_seconds;
    // Nothing older than the starting deadline is started any more.
    let window = deadline
        .and_then(|d| now.checked_sub(SignedDuration::from_secs(d)).ok())
        .map_or(last, |start| start.max(last));
    let recent = match most_recent(&schedule, &zone, window, now) {
        Ok(recent) => recent,
        Err(e) => {
            plan.notices.push(note(
                true,
                "InvalidSchedule",
                format!("invalid schedule: {text} : {e}"),
                format!("nothing is scheduled: schedule {text:?} never runs"),
            ));
            return;
        }
    };
    let next = schedule.next_after(&now.to_zoned(zone.clone()));
    plan.requeue_after = next.map(|n| seconds_until(now, n.timestamp()));

    let Some((scheduled, missed)) = recent else {
        if let Some(d) = deadline
            && window > last
            && let Ok(Some((t, _))) = most_recent(&schedule, &zone, last, now)
        {
            plan.notices.push(note(
                true,
                "MissSchedule",
                format!(
                    "Missed scheduled time to start a job: {}",
                    rfc1123z(t.timestamp())
                ),
                format!(
                    "missed the run of {}: startingDeadlineSeconds ({d}) passed",
                    clock(&t, now)
                ),
            ));
        }
        return;
    };
    let at = clock(&scheduled, now);
    if missed > TOO_MANY_MISSED {
        plan.notices.push(note(
            true,
            "TooManyMissedTimes",
            "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew".to_string(),
            format!("about {missed} runs were missed: only the one of {at} starts"),
        ));
    }
    let cronjob_name = name_of(&cronjob.metadata);
    let name = job_name(&cronjob_name, scheduled.timestamp());
    let done = active(status)
        .iter()
        .any(|r| r.name.as_deref() == Some(name.as_str()))
        || status.last_schedule_time.as_ref().map(|t| t.0) == Some(scheduled.timestamp());
    if done {
        return;
    }
    let policy = spec.concurrency_policy.as_deref().unwrap_or("Allow");
    let running: Vec<&ObjectReference> = active(status).iter().collect();
    if policy == "Forbid" && !running.is_empty() {
        let names: Vec<&str> = running.iter().filter_map(|r| r.name.as_deref()).collect();
        plan.notices.push(note(
            false,
            "JobAlreadyActive",
            "Not starting job because prior execution is running and concurrency policy is Forbid"
                .to_string(),
            format!(
                "skipped the run of {at}: {} still active (concurrencyPolicy Forbid)",
                names.join(", ")
            ),
        ));
        return;
    }
    if policy == "Replace" {
        plan.replace = running
            .iter()
            .map(|r| {
                let name = r.name.clone().unwrap_or_default();
                Removal {
                    log: format!(
                        "deleted job {name}, still running at the run of {at} (concurrencyPolicy Replace)"
                    ),
                    name,
                    uid: r.uid.clone().unwrap_or_default(),
                }
            })
            .collect();
    }
    match jobs
        .iter()
        .find(|j| j.metadata.name.as_deref() == Some(name.as_str()))
    {
        // Started before, and the status write lost: it counts as this time's Job.
        Some(existing) => {
            started(&mut plan.status, existing, scheduled.timestamp());
            plan.logs.push(format!(
                "job {name} already exists: counted as the run of {at}"
            ));
        }
        None => {
            plan.create = Some(Start {
                job: new_job(cronjob, scheduled.timestamp(), &spec_zone),
                scheduled,
                at,
            });
        }
    }
}
