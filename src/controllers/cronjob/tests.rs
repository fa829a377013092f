use serde_json::{Value, json};

use super::*;
use crate::controllers::fixtures::{from, merged};

/// A time of 1 May 2024 (a Wednesday), UTC: `t("12:05:00")`.
fn t(hms: &str) -> Timestamp {
    format!("2024-05-01T{hms}Z").parse().unwrap()
}

fn rfc(hms: &str) -> String {
    t(hms).to_string()
}

/// `hello`, created at 12:00:30, running every five minutes, with `spec` and `status`
/// merged in.
fn cronjob(spec: Value, status: Value) -> CronJob {
    from(merged(
        json!({
            "metadata": {"name": "hello", "namespace": "default", "uid": "cj1",
                         "creationTimestamp": rfc("12:00:30")},
            "spec": {
                "schedule": "*/5 * * * *",
                "concurrencyPolicy": "Allow",
                "suspend": false,
                "successfulJobsHistoryLimit": 3,
                "failedJobsHistoryLimit": 1,
                "jobTemplate": {
                    "metadata": {"labels": {"app": "hello"}, "annotations": {"team": "ops"}},
                    "spec": {"template": {"spec": {"restartPolicy": "OnFailure",
                        "containers": [{"name": "c", "image": "busybox"}]}}}
                }
            },
            "status": {}
        }),
        json!({"spec": spec, "status": status}),
    ))
}

/// A Job of `hello`: running, or finished with `condition` at `done`.
fn job(name: &str, condition: Option<&str>, start: Option<&str>, done: Option<&str>) -> Job {
    let conditions: Vec<Value> = condition
        .map(|c| json!({"type": c, "status": "True"}))
        .into_iter()
        .collect();
    from(json!({
        "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}"),
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "hello",
                                 "uid": "cj1", "controller": true}]},
        "status": {"conditions": conditions, "startTime": start.map(rfc),
                   "completionTime": done.map(rfc)},
    }))
}

fn running(name: &str) -> Job {
    job(name, None, Some("12:00:00"), None)
}

fn reference(name: &str) -> Value {
    json!({"apiVersion": "batch/v1", "kind": "Job", "name": name, "namespace": "default",
           "uid": format!("uid-{name}")})
}

fn active_names(s: &CronJobStatus) -> Vec<String> {
    active(s).iter().filter_map(|r| r.name.clone()).collect()
}

fn reasons(notes: &[Note]) -> Vec<&'static str> {
    notes.iter().map(|n| n.reason).collect()
}

#[test]
fn the_first_run_creates_the_job_of_its_minute() {
    let cj = cronjob(json!({}), json!({}));
    let plan = sync(&cj, &[], t("12:05:10"));
    let start = plan.create.expect("a job to create");
    let job = &start.job;
    assert_eq!(job.metadata.name.as_deref(), Some("hello-28576085"));
    assert_eq!(job.metadata.namespace.as_deref(), Some("default"));
    assert_eq!(start.scheduled.timestamp(), t("12:05:00"));
    assert_eq!(start.at, "12:05:00 UTC");
    let annotations = job.metadata.annotations.clone().unwrap();
    assert_eq!(annotations[SCHEDULED_TIMESTAMP], "2024-05-01T12:05:00Z");
    assert_eq!(annotations["team"], "ops");
    assert_eq!(job.metadata.labels.clone().unwrap()["app"], "hello");
    let owner = &job.metadata.owner_references.clone().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str(), owner.controller),
        ("CronJob", "cj1", Some(true))
    );
    assert!(job.spec.as_ref().unwrap().template.spec.is_some());
    // Nothing else changes until the job exists; then it is active and the time is met.
    assert_eq!(plan.status, CronJobStatus::default());
    assert_eq!(plan.requeue_after, Some(290));
    let mut status = plan.status.clone();
    let created: Job = from(json!({"metadata": {"name": "hello-28576085",
        "namespace": "default", "uid": "u5", "resourceVersion": "7"}}));
    started(&mut status, &created, start.scheduled.timestamp());
    assert_eq!(active_names(&status), ["hello-28576085"]);
    assert_eq!(status.last_schedule_time, Some(Time(t("12:05:00"))));
    let r = &active(&status)[0];
    assert_eq!(
        (
            r.kind.as_deref(),
            r.api_version.as_deref(),
            r.uid.as_deref()
        ),
        (Some("Job"), Some("batch/v1"), Some("u5"))
    );
}

#[test]
fn nothing_starts_before_its_time() {
    let cj = cronjob(json!({}), json!({}));
    let plan = sync(&cj, &[], t("12:04:59"));
    assert_eq!(plan.create, None);
    assert_eq!(plan.requeue_after, Some(1));
    let plan = sync(&cj, &[], "2024-05-01T12:04:57.5Z".parse().unwrap());
    assert_eq!(plan.requeue_after, Some(3));
    // A time already started is not started again.
    let cj = cronjob(
        json!({}),
        json!({"lastScheduleTime": rfc("12:05:00"), "active": [reference("hello-28576085")]}),
    );
    let plan = sync(&cj, &[running("hello-28576085")], t("12:07:00"));
    assert_eq!(plan.create, None);
    assert_eq!(plan.requeue_after, Some(180));
    assert_eq!(plan.notices, []);
}

#[test]
fn only_the_latest_missed_time_starts_within_the_starting_deadline() {
    let cj = cronjob(json!({}), json!({"lastScheduleTime": rfc("12:05:00")}));
    let plan = sync(&cj, &[], t("12:20:30"));
    assert_eq!(
        plan.create.unwrap().job.metadata.name.as_deref(),
        Some("hello-28576100")
    );
    // 30 seconds late, with a deadline of 60: still started.
    let cj = cronjob(
        json!({"startingDeadlineSeconds": 60}),
        json!({"lastScheduleTime": rfc("12:05:00")}),
    );
    assert!(sync(&cj, &[], t("12:20:30")).create.is_some());
    // With a deadline of 10: missed, said so, and the next time awaited.
    let cj = cronjob(
        json!({"startingDeadlineSeconds": 10}),
        json!({"lastScheduleTime": rfc("12:05:00")}),
    );
    let plan = sync(&cj, &[], t("12:20:30"));
    assert_eq!(plan.create, None);
    assert_eq!(reasons(&plan.notices), ["MissSchedule"]);
    assert_eq!(
        plan.notices[0].message,
        "Missed scheduled time to start a job: Wed, 01 May 2024 12:20:00 +0000"
    );
    assert!(plan.notices[0].warning);
    assert_eq!(plan.requeue_after, Some(270));
}

#[test]
fn too_many_missed_times_are_reported_and_the_latest_starts() {
    let cj = cronjob(
        json!({"schedule": "* * * * *"}),
        json!({"lastScheduleTime": "2024-04-30T12:00:00Z"}),
    );
    let plan = sync(&cj, &[], t("12:05:10"));
    assert_eq!(reasons(&plan.notices), ["TooManyMissedTimes"]);
    assert_eq!(
        plan.notices[0].message,
        "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew"
    );
    assert_eq!(
        plan.create.unwrap().job.metadata.name.as_deref(),
        Some("hello-28576085")
    );
}

#[test]
fn concurrency_policies() {
    let status = json!({"lastScheduleTime": rfc("12:00:00"), "active": [reference("hello-old")]});
    let jobs = [running("hello-old")];
    // Allow: another one starts beside it.
    let plan = sync(&cronjob(json!({}), status.clone()), &jobs, t("12:05:01"));
    assert!(plan.create.is_some());
    assert_eq!(plan.replace, []);
    // Forbid: skipped while it runs, with a notice.
    let forbid = cronjob(json!({"concurrencyPolicy": "Forbid"}), status.clone());
    let plan = sync(&forbid, &jobs, t("12:05:01"));
    assert_eq!(plan.create, None);
    assert_eq!(reasons(&plan.notices), ["JobAlreadyActive"]);
    assert_eq!(
        plan.notices[0].message,
        "Not starting job because prior execution is running and concurrency policy is Forbid"
    );
    assert_eq!(
        plan.notices[0].log,
        "skipped the run of 12:05:00 UTC: hello-old still active (concurrencyPolicy Forbid)"
    );
    assert_eq!(plan.requeue_after, Some(299));
    // ... and started late once it has finished.
    let done = [job(
        "hello-old",
        Some("Complete"),
        Some("12:00:00"),
        Some("12:06:00"),
    )];
    let plan = sync(&forbid, &done, t("12:06:05"));
    assert_eq!(reasons(&plan.events), ["SawCompletedJob"]);
    assert!(plan.create.is_some());
    // Replace: the running one is deleted first.
    let replace = cronjob(json!({"concurrencyPolicy": "Replace"}), status);
    let plan = sync(&replace, &jobs, t("12:05:01"));
    assert_eq!(
        plan.replace
            .iter()
            .map(|r| (r.name.as_str(), r.uid.as_str()))
            .collect::<Vec<_>>(),
        [("hello-old", "uid-hello-old")]
    );
    assert!(plan.create.is_some());
    // It stays active in the plan's status until the runner has deleted it.
    assert_eq!(active_names(&plan.status), ["hello-old"]);
    let mut status = plan.status.clone();
    forget(&mut status, "uid-hello-old");
    assert_eq!(status.active, None);
}

#[test]
fn suspended_cronjobs_start_nothing_but_keep_their_status() {
    let cj = cronjob(
        json!({"suspend": true}),
        json!({"lastScheduleTime": rfc("12:00:00"), "active": [reference("hello-a")]}),
    );
    let done = [job(
        "hello-a",
        Some("Complete"),
        Some("12:00:00"),
        Some("12:01:00"),
    )];
    let plan = sync(&cj, &done, t("12:05:01"));
    assert_eq!(plan.create, None);
    assert_eq!(plan.requeue_after, None);
    assert_eq!(plan.status.active, None);
    assert_eq!(plan.status.last_successful_time, Some(Time(t("12:01:00"))));
}

#[test]
fn history_keeps_the_newest_finished_jobs() {
    let cj = cronjob(json!({}), json!({"lastScheduleTime": rfc("12:05:00")}));
    let ok = |name, start| job(name, Some("Complete"), Some(start), Some(start));
    let failed = |name, start| job(name, Some("Failed"), Some(start), None);
    let jobs = [
        ok("s4", "11:04:00"),
        ok("s1", "11:01:00"),
        ok("s5", "11:05:00"),
        ok("s3", "11:03:00"),
        ok("s2", "11:02:00"),
        failed("f2", "10:02:00"),
        job("f0", Some("Failed"), None, None),
        failed("f1", "10:01:00"),
        running("r1"),
    ];
    let plan = sync(&cj, &jobs, t("12:06:00"));
    let names: Vec<&str> = plan.cleanup.iter().map(|r| r.name.as_str()).collect();
    // Never-started jobs count as the newest.
    assert_eq!(names, ["s1", "s2", "f1", "f2"]);
    assert_eq!(
        plan.cleanup[0].log,
        "deleted finished job s1 (successfulJobsHistoryLimit is 3)"
    );
    let cj = cronjob(
        json!({"successfulJobsHistoryLimit": 0, "failedJobsHistoryLimit": 5}),
        json!({"lastScheduleTime": rfc("12:05:00")}),
    );
    let plan = sync(&cj, &jobs, t("12:06:00"));
    assert_eq!(plan.cleanup.len(), 5);
    assert!(plan.cleanup.iter().all(|r| r.name.starts_with('s')));
}

#[test]
fn the_active_list_follows_the_jobs() {
    let cj = cronjob(
        json!({}),
        json!({"lastScheduleTime": rfc("12:05:00"), "active":
            [reference("hello-a"), reference("hello-b"), reference("hello-c")]}),
    );
    let jobs = [
        job("hello-a", Some("Failed"), Some("12:00:00"), None),
        running("hello-c"),
        running("manual"),
    ];
    let plan = sync(&cj, &jobs, t("12:06:00"));
    assert_eq!(active_names(&plan.status), ["hello-c"]);
    assert_eq!(reasons(&plan.events), ["SawCompletedJob", "MissingJob"]);
    assert_eq!(
        plan.events[0].message,
        "Saw completed job: hello-a, condition: Failed"
    );
    assert_eq!(plan.events[1].message, "Active job went missing: hello-b");
    assert_eq!(reasons(&plan.notices), ["UnexpectedJob"]);
    assert_eq!(
        plan.notices[0].message,
        "Saw a job that the controller did not create or forgot: manual"
    );
}

#[test]
fn last_successful_time_is_the_latest_completion() {
    let cj = cronjob(
        json!({}),
        json!({"lastScheduleTime": rfc("12:05:00"), "lastSuccessfulTime": rfc("11:30:00")}),
    );
    let jobs = [
        job("a", Some("Complete"), Some("11:00:00"), Some("11:10:00")),
        job("b", Some("Complete"), Some("11:50:00"), Some("11:55:00")),
        job("c", Some("Failed"), Some("12:00:00"), None),
    ];
    let plan = sync(&cj, &jobs, t("12:06:00"));
    assert_eq!(plan.status.last_successful_time, Some(Time(t("11:55:00"))));
    let plan = sync(&cj, &jobs[..1], t("12:06:00"));
    assert_eq!(plan.status.last_successful_time, Some(Time(t("11:30:00"))));
}

#[test]
fn a_job_already_there_counts_as_started() {
    // Created, but the status saying so was lost.
    let cj = cronjob(json!({}), json!({"lastScheduleTime": rfc("12:00:00")}));
    let plan = sync(&cj, &[running("hello-28576085")], t("12:05:10"));
    assert_eq!(plan.create, None);
    assert_eq!(active_names(&plan.status), ["hello-28576085"]);
    assert_eq!(plan.status.last_schedule_time, Some(Time(t("12:05:00"))));
    assert_eq!(
        plan.logs,
        ["job hello-28576085 already exists: counted as the run of 12:05:00 UTC"]
    );
}

#[test]
fn time_zones() {
    let cj = cronjob(json!({"timeZone": "Mars/Olympus_Mons"}), json!({}));
    let plan = sync(&cj, &[], t("12:05:10"));
    assert_eq!(plan.create, None);
    assert_eq!(plan.requeue_after, None);
    assert_eq!(reasons(&plan.notices), ["UnknownTimeZone"]);
    assert_eq!(
        plan.notices[0].message,
        "invalid timeZone: \"Mars/Olympus_Mons\": unknown time zone Mars/Olympus_Mons"
    );
    // A zone in the schedule is honoured, with a warning.
    let cj = cronjob(json!({"schedule": "CRON_TZ=UTC 5 12 * * *"}), json!({}));
    let plan = sync(&cj, &[], t("12:05:10"));
    assert_eq!(reasons(&plan.notices), ["UnsupportedSchedule"]);
    assert!(plan.create.is_some());
    // The host's tzdata, when it has one: 09:00 in Berlin is 07:00 UTC in summer.
    if cron::time_zone("Europe/Berlin").is_ok() {
        let cj = cronjob(
            json!({"schedule": "0 9 * * *", "timeZone": "Europe/Berlin"}),
            json!({"lastScheduleTime": "2024-04-30T07:00:00Z"}),
        );
        let plan = sync(&cj, &[], t("07:00:30"));
        let start = plan.create.unwrap();
        assert_eq!(start.job.metadata.name.as_deref(), Some("hello-28575780"));
        assert_eq!(
            start.job.metadata.annotations.unwrap()[SCHEDULED_TIMESTAMP],
            "2024-05-01T09:00:00+02:00"
        );
        assert_eq!(start.at, "09:00:00 CEST");
        assert_eq!(plan.requeue_after, Some(86_400 - 30));
    }
}

#[test]
fn bad_schedules_are_reported() {
    let plan = sync(
        &cronjob(json!({"schedule": "0 0 30 2 *"}), json!({})),
        &[],
        t("12:05:00"),
    );
    assert_eq!(reasons(&plan.notices), ["InvalidSchedule"]);
    assert_eq!(
        plan.notices[0].message,
        "invalid schedule: 0 0 30 2 * : time difference between two schedules is less than 1 second"
    );
    let plan = sync(
        &cronjob(json!({"schedule": "bad"}), json!({})),
        &[],
        t("12:05:00"),
    );
    assert_eq!(
        plan.notices[0].message,
        "unparseable schedule: \"bad\" : expected exactly 5 fields, found 1: [bad]"
    );
    assert_eq!((plan.create, plan.requeue_after), (None, None));
}

#[test]
fn every_runs_from_the_creation_time() {
    let cj = cronjob(json!({"schedule": "@every 2m"}), json!({}));
    let plan = sync(&cj, &[], t("12:02:31"));
    let start = plan.create.unwrap();
    assert_eq!(start.scheduled.timestamp(), t("12:02:30"));
    assert_eq!(start.job.metadata.name.as_deref(), Some("hello-28576082"));
}

#[test]
fn a_cronjob_being_deleted_only_keeps_its_status() {
    let mut cj = cronjob(json!({}), json!({"active": [reference("hello-a")]}));
    cj.metadata.deletion_timestamp = Some(Time(t("12:00:40")));
    let plan = sync(&cj, &[], t("12:05:10"));
    assert_eq!((plan.create, plan.requeue_after), (None, None));
    assert_eq!(plan.status.active, None);
}
