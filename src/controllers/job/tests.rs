use serde_json::{Value, json};

use super::*;
use crate::controllers::fixtures::{at, from, rfc};

fn job(spec: Value, status: Value) -> Job {
    from(json!({
        "metadata": {"name": "pi", "namespace": "default", "uid": "j1", "creationTimestamp": rfc(0)},
        "spec": merged_spec(spec),
        "status": status,
    }))
}

fn merged_spec(extra: Value) -> Value {
    let mut spec = json!({"template": {"metadata": {"labels": {"job-name": "pi"}},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "pi", "image": "perl"}]}}});
    if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            s.insert(k.clone(), v.clone());
        }
    }
    spec
}

fn pod(name: &str, phase: &str, created: i64) -> Pod {
    from(json!({
        "metadata": {"name": name, "namespace": "default", "creationTimestamp": rfc(created),
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "pi", "uid": "j1", "controller": true}]},
        "spec": {"containers": [{"name": "pi", "image": "perl"}]},
        "status": {"phase": phase},
    }))
}

fn types(s: &JobStatus) -> Vec<(String, String)> {
    s.conditions
        .iter()
        .flatten()
        .map(|c| (c.type_.clone(), c.reason.clone().unwrap_or_default()))
        .collect()
}

#[test]
fn a_new_job_starts_parallelism_pods_and_its_clock() {
    let j = job(json!({"completions": 3, "parallelism": 2}), json!({}));
    let plan = sync(&j, &[], at(10));
    assert_eq!(plan.create, 2);
    assert_eq!(plan.status.start_time, Some(stamp(at(10))));
    assert_eq!(plan.status.active, Some(0));
    let p = new_pod(&j);
    assert_eq!(p.metadata.generate_name.as_deref(), Some("pi-"));
    assert_eq!(
        p.metadata.owner_references.unwrap()[0].controller,
        Some(true)
    );
}

#[test]
fn completions_run_to_complete_in_passes() {
    let j = job(
        json!({"completions": 3, "parallelism": 2}),
        json!({"startTime": rfc(0)}),
    );
    // Two running: nothing to do.
    let running = [pod("a", "Running", 1), pod("b", "Running", 1)];
    assert_eq!(sync(&j, &running, at(5)).create, 0);
    // One succeeded: only one more is needed beside the running one.
    let one = [pod("a", "Succeeded", 1), pod("b", "Running", 1)];
    let plan = sync(&j, &one, at(6));
    assert_eq!((plan.create, plan.status.succeeded), (1, Some(1)));
    // All three succeeded: SuccessCriteriaMet, then Complete, and the completion time.
    let all = [
        pod("a", "Succeeded", 1),
        pod("b", "Succeeded", 1),
        pod("c", "Succeeded", 6),
    ];
    let plan = sync(&j, &all, at(9));
    assert_eq!(plan.create, 0);
    assert_eq!(
        types(&plan.status),
        [
            (
                "SuccessCriteriaMet".to_string(),
                "CompletionsReached".to_string()
            ),
            ("Complete".to_string(), "CompletionsReached".to_string())
        ]
    );
    assert_eq!(plan.status.completion_time, Some(stamp(at(9))));
    assert_eq!(
        plan.events,
        [(false, "Completed", "Job completed".to_string())]
    );
    // Finished: a later sync changes nothing and creates nothing.
    let mut done = j.clone();
    done.status = Some(plan.status.clone());
    let again = sync(&done, &all, at(20));
    assert_eq!((again.create, again.events.len()), (0, 0));
    assert_eq!(again.status, plan.status);
}

#[test]
fn too_many_failures_fail_the_job_and_stop_its_pods() {
    let j = job(
        json!({"completions": 1, "backoffLimit": 1}),
        json!({"startTime": rfc(0)}),
    );
    let pods = [
        pod("a", "Failed", 1),
        pod("b", "Failed", 2),
        pod("c", "Running", 3),
    ];
    let plan = sync(&j, &pods, at(9));
    assert_eq!(plan.delete, ["c"]);
    assert_eq!(plan.create, 0);
    assert_eq!(
        types(&plan.status),
        [
            (
                "FailureTarget".to_string(),
                "BackoffLimitExceeded".to_string()
            ),
            ("Failed".to_string(), "BackoffLimitExceeded".to_string())
        ]
    );
    assert_eq!(plan.status.completion_time, None);
    assert_eq!(
        plan.events[0].2,
        "Job has reached the specified backoff limit"
    );
    // Within the limit, a failed pod is replaced.
    let one = [pod("a", "Failed", 1)];
    assert_eq!(sync(&j, &one, at(9)).create, 1);
}

#[test]
fn the_active_deadline_fails_the_job_and_is_waited_for() {
    let j = job(
        json!({"activeDeadlineSeconds": 30}),
        json!({"startTime": rfc(0)}),
    );
    let running = [pod("a", "Running", 1)];
    assert_eq!(sync(&j, &running, at(10)).requeue_after, Some(20));
    let plan = sync(&j, &running, at(30));
    assert_eq!(plan.delete, ["a"]);
    assert!(types(&plan.status).contains(&("Failed".to_string(), "DeadlineExceeded".to_string())));
}

#[test]
fn suspending_stops_the_pods_and_resuming_starts_them_again() {
    let j = job(
        json!({"suspend": true, "parallelism": 2, "completions": 4}),
        json!({"startTime": rfc(0)}),
    );
    let running = [pod("a", "Running", 1), pod("b", "Running", 2)];
    let plan = sync(&j, &running, at(5));
    assert_eq!(plan.delete, ["b", "a"]);
    assert_eq!(
        types(&plan.status),
        [("Suspended".to_string(), "JobSuspended".to_string())]
    );
    let mut resumed = job(json!({"parallelism": 2, "completions": 4}), json!({}));
    resumed.status = Some(plan.status);
    let plan = sync(&resumed, &[], at(6));
    assert_eq!(plan.create, 2);
    assert_eq!(plan.events, [(false, "Resumed", "Job resumed".to_string())]);
}

#[test]
fn work_queue_jobs_end_when_one_succeeded_and_none_runs() {
    let j = job(json!({"parallelism": 2}), json!({"startTime": rfc(0)}));
    let one = [pod("a", "Succeeded", 1), pod("b", "Running", 1)];
    let plan = sync(&j, &one, at(5));
    assert_eq!((plan.create, plan.delete.len()), (0, 0));
    assert!(types(&plan.status).is_empty());
    let both = [pod("a", "Succeeded", 1), pod("b", "Succeeded", 1)];
    assert!(
        types(&sync(&j, &both, at(6)).status)
            .contains(&("Complete".to_string(), "CompletionsReached".to_string()))
    );
}

#[test]
fn other_pods_and_odd_specs_never_panic_or_count() {
    let j = job(json!({"parallelism": -3, "completions": -1}), json!({}));
    let stranger: Pod = from(
        json!({"metadata": {"name": "x", "namespace": "default"}, "status": {"phase": "Succeeded"}}),
    );
    let plan = sync(&j, &[stranger], at(1));
    assert_eq!(plan.status.succeeded, Some(0));
    let empty: Job = from(json!({"metadata": {}}));
    let _ = sync(&empty, &[], at(1));
    let _ = new_pod(&empty);
}
