use super::*;
use crate::kubelet::rules;
use serde_json::json;

fn t(secs: f64) -> Timestamp {
    Timestamp::from_millisecond(1_700_000_000_000 + (secs * 1000.0) as i64).unwrap()
}

fn pod(spec: serde_json::Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": "web-1", "namespace": "default", "uid": "u1"},
        "spec": spec,
        "status": {"qosClass": "BestEffort"}
    }))
    .unwrap()
}

fn one(image: &str) -> Pod {
    pod(json!({"containers": [{"name": "c", "image": image}]}))
}

fn rules() -> Rules {
    Rules::new(rules::defaults()).unwrap()
}

/// kubectl's view of a container state: the waiting or terminated reason, or "Running".
fn shown(run: &PodRun, p: &Pod, at: f64) -> (String, String, i32, bool) {
    let s = run.status(p, "127.0.0.1", t(at));
    let c = &s.container_statuses.as_ref().unwrap()[0];
    let st = c.state.as_ref().unwrap();
    let state = if let Some(w) = &st.waiting {
        w.reason.clone().unwrap()
    } else if let Some(x) = &st.terminated {
        x.reason.clone().unwrap()
    } else {
        "Running".into()
    };
    (s.phase.unwrap(), state, c.restart_count, c.ready)
}

fn reasons(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .map(|a| match a {
            Action::Event {
                reason, message, ..
            } => format!("{reason}: {message}"),
            Action::Start {
                container, restart, ..
            } => format!("start {container} #{restart}"),
            Action::Stop { container, .. } => format!("stop {container}"),
        })
        .collect()
}

#[test]
fn a_healthy_pod_is_created_then_runs_ready() {
    let p = one("nginx");
    let mut run = PodRun::new(&p, "127.244.0.2", &rules(), t(0.0));
    assert!(run.advance(t(0.1)).is_empty(), "the sandbox takes a moment");
    assert_eq!(
        shown(&run, &p, 0.1),
        ("Pending".into(), "ContainerCreating".into(), 0, false)
    );
    assert_eq!(run.next_due(), Some(t(0.5)));
    let a = reasons(&run.advance(t(0.5)));
    assert_eq!(
        a,
        [
            "Pulled: Container image \"nginx\" already present on machine",
            "Created: Created container: c",
            "Started: Started container c",
            "start c #0"
        ]
    );
    assert_eq!(
        shown(&run, &p, 0.5),
        ("Running".into(), "Running".into(), 0, true)
    );
    assert_eq!(run.next_due(), None, "nothing due: it runs until deleted");
    let s = run.status(&p, "127.0.0.1", t(0.5));
    assert_eq!(s.pod_ip.as_deref(), Some("127.244.0.2"));
    let ready = s
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    assert_eq!(ready.status, "True");
}

#[test]
fn an_image_that_cannot_be_pulled_backs_off() {
    let p = one("nginx:doesnotexist");
    let mut run = PodRun::new(&p, "127.244.0.2", &rules(), t(0.0));
    let a = reasons(&run.advance(t(0.5)));
    assert!(
        a.contains(&"Failed: Error: ErrImagePull".to_string()),
        "{a:?}"
    );
    assert!(
        a.iter()
            .any(|e| e.contains("docker.io/library/nginx:doesnotexist: not found")),
        "{a:?}"
    );
    assert_eq!(
        shown(&run, &p, 0.5),
        ("Pending".into(), "ErrImagePull".into(), 0, false)
    );
    let a = reasons(&run.advance(t(2.5)));
    assert!(
        a.contains(&"Failed: Error: ImagePullBackOff".to_string()),
        "{a:?}"
    );
    assert_eq!(shown(&run, &p, 2.5).1, "ImagePullBackOff");
    assert_eq!(run.next_due(), Some(t(12.5)), "10 s back-off");
    run.advance(t(12.5));
    assert_eq!(shown(&run, &p, 12.5).1, "ErrImagePull", "tried again");
    run.advance(t(14.5));
    assert_eq!(run.next_due(), Some(t(34.5)), "then 20 s");
}

#[test]
fn a_crashing_container_restarts_with_a_growing_back_off() {
    let p = one("busybox:crash");
    let mut run = PodRun::new(&p, "127.244.0.2", &rules(), t(0.0));
    run.advance(t(0.5));
    assert_eq!(run.next_due(), Some(t(5.5)));
    let a = reasons(&run.advance(t(5.5)));
    assert_eq!(a, ["stop c"]);
    assert_eq!(
        shown(&run, &p, 5.5),
        ("Running".into(), "Error".into(), 0, false)
    );
    // The first restart is immediate (after the Error has shown).
    let a = reasons(&run.advance(t(6.5)));
    assert!(a.contains(&"start c #1".to_string()), "{a:?}");
    let s = run.status(&p, "h", t(6.5));
    let c = &s.container_statuses.unwrap()[0];
    assert_eq!(c.restart_count, 1);
    let last = c.last_state.as_ref().unwrap().terminated.as_ref().unwrap();
    assert_eq!((last.exit_code, last.reason.as_deref()), (1, Some("Error")));
    // The second crash waits 10 s in CrashLoopBackOff, the third 20 s.
    let a = reasons(&run.advance(t(11.5)));
    assert!(
        a.iter().any(|e| e.starts_with(
            "BackOff: Back-off restarting failed container c in pod web-1_default(u1)"
        )),
        "{a:?}"
    );
    let s = run.status(&p, "h", t(11.5));
    let w = s.container_statuses.unwrap()[0]
        .state
        .clone()
        .unwrap()
        .waiting
        .unwrap();
    assert_eq!(w.reason.as_deref(), Some("CrashLoopBackOff"));
    assert_eq!(
        w.message.as_deref(),
        Some("back-off 10s restarting failed container=c pod=web-1_default(u1)")
    );
    assert_eq!(
        s.phase.as_deref(),
        Some("Running"),
        "restarting pods are Running"
    );
    assert_eq!(run.next_due(), Some(t(21.5)));
    run.advance(t(21.5));
    assert_eq!(shown(&run, &p, 21.5).2, 2);
    run.advance(t(26.5));
    assert_eq!(run.next_due(), Some(t(46.5)));
}

#[test]
fn jobs_run_to_completion_or_fail_by_restart_policy() {
    let job =
        pod(json!({"restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "perl"}]}));
    let mut run = PodRun::new(&job, "127.244.0.2", &rules(), t(0.0));
    run.advance(t(0.5));
    assert_eq!(run.next_due(), Some(t(1.5)));
    run.advance(t(1.5));
    assert_eq!(
        shown(&run, &job, 1.5),
        ("Succeeded".into(), "Completed".into(), 0, false)
    );
    assert!(run.finished());
    let s = run.status(&job, "h", t(1.5));
    let ready = s
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    assert_eq!(ready.reason.as_deref(), Some("PodCompleted"));
    let never =
        pod(json!({"restartPolicy": "Never", "containers": [{"name": "c", "image": "x:crash"}]}));
    let mut run = PodRun::new(&never, "127.244.0.2", &rules(), t(0.0));
    run.advance(t(0.5));
    run.advance(t(1.5));
    assert_eq!(
        shown(&run, &never, 1.5).1,
        "Running",
        "a crash rule replaces the completion"
    );
    run.advance(t(5.5));
    assert_eq!(
        shown(&run, &never, 5.5),
        ("Failed".into(), "Error".into(), 0, false)
    );
    assert!(run.finished());
    let on_failure = pod(
        json!({"restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "x:crash"}]}),
    );
    let mut run = PodRun::new(&on_failure, "127.244.0.2", &rules(), t(0.0));
    run.advance(t(0.5));
    run.advance(t(5.5));
    run.advance(t(6.5));
    assert_eq!(
        shown(&run, &on_failure, 6.5).2,
        1,
        "OnFailure restarts a failed container"
    );
}

#[test]
fn init_containers_run_first_one_by_one() {
    let p = pod(json!({
        "initContainers": [{"name": "i1", "image": "busybox"}, {"name": "i2", "image": "busybox"}],
        "containers": [{"name": "c", "image": "nginx"}]
    }));
    let mut run = PodRun::new(&p, "127.244.0.2", &rules(), t(0.0));
    let a = reasons(&run.advance(t(0.5)));
    assert!(
        a.contains(&"start i1 #0".to_string()) && !a.iter().any(|x| x.contains("i2")),
        "{a:?}"
    );
    let s = run.status(&p, "h", t(0.5));
    assert_eq!(s.phase.as_deref(), Some("Pending"));
    let init = s
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Initialized")
        .unwrap();
    assert_eq!(
        init.message.as_deref(),
        Some("containers with incomplete status: [i1 i2]")
    );
    assert_eq!(shown(&run, &p, 0.5).1, "PodInitializing");
    let a = reasons(&run.advance(t(1.5)));
    assert!(
        a.contains(&"stop i1".to_string()) && a.contains(&"start i2 #0".to_string()),
        "{a:?}"
    );
    let a = reasons(&run.advance(t(2.5)));
    assert!(a.contains(&"start c #0".to_string()), "{a:?}");
    assert_eq!(
        shown(&run, &p, 2.5),
        ("Running".into(), "Running".into(), 0, true)
    );
    let s = run.status(&p, "h", t(2.5));
    let inits = s.init_container_statuses.unwrap();
    assert!(
        inits
            .iter()
            .all(|c| c.ready && c.state.as_ref().unwrap().terminated.is_some())
    );
}

#[test]
fn native_sidecars_start_in_order_keep_running_and_stop_with_a_job() {
    // A Job's pod: an init container, then a sidecar (restartPolicy Always), then the app.
    let p = pod(json!({
        "restartPolicy": "Never",
        "initContainers": [
            {"name": "setup", "image": "busybox"},
            {"name": "proxy", "image": "envoy", "restartPolicy": "Always"}
        ],
        "containers": [{"name": "c", "image": "busybox"}]
    }));
    let mut run = PodRun::new(&p, "127.244.0.2", &rules(), t(0.0));
    let a = reasons(&run.advance(t(0.5)));
    assert!(a.contains(&"start setup #0".to_string()), "{a:?}");
    let a = reasons(&run.advance(t(1.5)));
    assert!(
        a.contains(&"start proxy #0".to_string()) && a.contains(&"start c #0".to_string()),
        "the app starts once the sidecar runs, without waiting for it to end: {a:?}"
    );
    assert!(
        run.containers
            .iter()
            .any(|c| c.name == "proxy" && c.sidecar),
        "restartPolicy Always makes a sidecar"
    );
    let s = run.status(&p, "h", t(1.5));
    assert_eq!(s.phase.as_deref(), Some("Running"));
    let ready = |s: &PodStatus, t: &str| {
        s.conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == t)
            .map(|c| c.status.clone())
    };
    assert_eq!(ready(&s, "Initialized").as_deref(), Some("True"));
    assert_eq!(ready(&s, "Ready").as_deref(), Some("True"));
    let proxy = &s.init_container_statuses.as_ref().unwrap()[1];
    assert!(
        proxy.ready && proxy.state.as_ref().unwrap().running.is_some(),
        "{proxy:?}"
    );
    // The app runs to completion; the sidecar is stopped and the pod succeeds.
    let a = reasons(&run.advance(t(2.5)));
    assert!(
        a.contains(&"stop c".to_string()) && a.contains(&"stop proxy".to_string()),
        "{a:?}"
    );
    let a = reasons(&run.advance(t(5.0)));
    assert!(
        !a.iter().any(|x| x.starts_with("start")),
        "nothing restarts: {a:?}"
    );
    assert_eq!(
        run.status(&p, "h", t(5.0)).phase.as_deref(),
        Some("Succeeded")
    );
}

#[test]
fn a_crashing_sidecar_restarts_whatever_the_pod_policy() {
    let p = pod(json!({
        "restartPolicy": "Never",
        "initContainers": [{"name": "log", "image": "fluent:crash", "restartPolicy": "Always"}],
        "containers": [{"name": "c", "image": "nginx:slow"}]
    }));
    let mut run = PodRun::new(&p, "127.244.0.2", &rules(), t(0.0));
    // The app takes 20 s to pull (`*:slow`), so it is still pulling when the sidecar crashes
    // after 5 s; the pod's policy is Never, but a sidecar always restarts.
    run.advance(t(0.5));
    let a = reasons(&run.advance(t(5.5)));
    assert!(a.contains(&"stop log".to_string()), "{a:?}");
    let a = reasons(&run.advance(t(6.6)));
    assert!(a.contains(&"start log #1".to_string()), "{a:?}");
}

#[test]
fn probes_decide_readiness_and_liveness_restarts() {
    let p = pod(json!({"containers": [{"name": "c", "image": "nginx",
        "readinessProbe": {"httpGet": {"path": "/", "port": 80}, "failureThreshold": 2},
        "livenessProbe": {"tcpSocket": {"port": 80}, "failureThreshold": 1}}]}));
    let mut run = PodRun::new(&p, "127.244.0.2", &rules(), t(0.0));
    run.advance(t(0.5));
    assert!(!shown(&run, &p, 0.5).3, "not ready before its probe passes");
    run.probed("c", 0, ProbeKind::Readiness, Ok(()), t(1.0));
    assert!(shown(&run, &p, 1.0).3);
    let a = reasons(&run.probed(
        "c",
        0,
        ProbeKind::Readiness,
        Err("HTTP probe failed with statuscode: 503".into()),
        t(2.0),
    ));
    assert_eq!(
        a,
        ["Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 503"]
    );
    assert!(shown(&run, &p, 2.0).3, "one failure is below the threshold");
    run.probed("c", 0, ProbeKind::Readiness, Err("x".into()), t(3.0));
    assert!(!shown(&run, &p, 3.0).3);
    assert!(
        run.probed("c", 7, ProbeKind::Readiness, Ok(()), t(3.0))
            .is_empty(),
        "stale run"
    );
    let a = reasons(&run.probed(
        "c",
        0,
        ProbeKind::Liveness,
        Err("dial tcp: connection refused".into()),
        t(4.0),
    ));
    assert!(
        a.contains(&"Killing: Container c failed liveness probe, will be restarted".to_string()),
        "{a:?}"
    );
    assert!(a.contains(&"stop c".to_string()));
    run.advance(t(5.0));
    let s = run.status(&p, "h", t(5.0));
    let c = &s.container_statuses.unwrap()[0];
    assert_eq!(c.restart_count, 1);
    assert_eq!(
        c.last_state
            .as_ref()
            .unwrap()
            .terminated
            .as_ref()
            .unwrap()
            .exit_code,
        137
    );
}

#[test]
fn unready_slow_and_invalid_images_show_as_upstream() {
    let p = one("nginx:unready");
    let mut run = PodRun::new(&p, "127.244.0.2", &rules(), t(0.0));
    run.advance(t(0.5));
    assert_eq!(
        shown(&run, &p, 0.5),
        ("Running".into(), "Running".into(), 0, false)
    );
    let p = one("nginx:slow");
    let mut run = PodRun::new(&p, "127.244.0.2", &rules(), t(0.0));
    let a = reasons(&run.advance(t(0.5)));
    assert_eq!(a, ["Pulling: Pulling image \"nginx:slow\""]);
    assert_eq!(shown(&run, &p, 10.0).1, "ContainerCreating");
    let a = reasons(&run.advance(t(20.5)));
    assert!(
        a.contains(&"Pulled: Successfully pulled image \"nginx:slow\" in 20s".to_string()),
        "{a:?}"
    );
    assert_eq!(shown(&run, &p, 20.5).1, "Running");
    let p = one("Nginx");
    let mut run = PodRun::new(&p, "127.244.0.2", &rules(), t(0.0));
    run.advance(t(0.5));
    assert_eq!(shown(&run, &p, 0.5).1, "InvalidImageName");
    assert!(run.advance(t(60.0)).is_empty(), "reported once");
    assert!(invalid_image("registry.local:5000/team/app:v1").is_none());
    assert!(invalid_image("nginx@sha256:abc").is_none());
    assert_eq!(full_reference("me/app"), "docker.io/me/app:latest");
}

#[test]
fn a_resumed_pod_keeps_running_where_its_status_says() {
    let p: Pod = serde_json::from_value(json!({
        "metadata": {"name": "web-1", "namespace": "default", "uid": "u1"},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
        "status": {"phase": "Running", "podIP": "127.244.0.2", "containerStatuses": [{"name": "c", "image": "nginx", "imageID": "", "ready": true, "restartCount": 3,
            "state": {"running": {"startedAt": "2023-11-14T22:13:20Z"}}}]}
    }))
    .unwrap();
    let (run, actions) = PodRun::new(&p, "127.244.0.2", &rules(), t(100.0)).resume(&p, t(100.0));
    assert_eq!(reasons(&actions), ["start c #3"]);
    assert_eq!(
        shown(&run, &p, 100.0),
        ("Running".into(), "Running".into(), 3, true)
    );
}

#[test]
fn a_host_process_ends_when_it_exits_not_by_rules_or_timers() {
    // The image would crash after 5 s in the sim; as a host process only its exit counts.
    let p = pod(json!({"containers": [
        {"name": "c", "image": "busybox:crash", "command": ["sleep", "100"]},
        {"name": "s", "image": "nginx"}
    ]}));
    let mut run = PodRun::new(&p, "127.244.0.2", &rules(), t(0.0)).with_process_runtime(&p);
    assert!(
        run.is_process("c") && !run.is_process("s"),
        "no command: simulated"
    );
    run.advance(t(0.5));
    assert_eq!(run.next_due(), None);
    assert!(run.advance(t(60.0)).is_empty());
    let c = &run.status(&p, "h", t(60.0)).container_statuses.unwrap()[0];
    assert_eq!(c.container_id.as_deref(), Some("process://u1-c"));
    assert!(c.image_id.starts_with("process://"));

    assert!(run.exited("c", 7, 1, None, t(61.0)).is_empty(), "stale run");
    let a = run.exited("c", 0, 1, None, t(61.0));
    assert_eq!(
        a,
        [Action::Stop {
            container: "c".into(),
            line: String::new(),
        }],
        "no kwb line in a process's own log"
    );
    assert_eq!(shown(&run, &p, 61.0).1, "Error");
    run.advance(t(62.0));
    assert_eq!(shown(&run, &p, 62.0).1, "Running", "first restart at once");
    run.exited("c", 1, 2, None, t(63.0));
    run.advance(t(63.0));
    assert_eq!(shown(&run, &p, 63.0).1, "CrashLoopBackOff");
    let last = run.status(&p, "h", t(63.0)).container_statuses.unwrap()[0]
        .last_state
        .clone()
        .unwrap()
        .terminated
        .unwrap();
    assert_eq!(last.exit_code, 2);
}

#[test]
fn a_process_that_cannot_start_is_a_start_error_and_a_job_follows_exit_codes() {
    let p = pod(json!({"restartPolicy": "Never", "containers": [
        {"name": "c", "image": "x", "command": ["nope"]}]}));
    let mut run = PodRun::new(&p, "127.244.0.2", &rules(), t(0.0)).with_process_runtime(&p);
    run.advance(t(0.5));
    let message =
        "failed to start container process: exec: \"nope\": executable file not found in $PATH";
    let a = reasons(&run.exited("c", 0, 128, Some(message.into()), t(0.6)));
    assert_eq!(a, [format!("Failed: Error: {message}"), "stop c".into()]);
    let s = run.status(&p, "h", t(0.6));
    let term = s.container_statuses.unwrap()[0]
        .state
        .clone()
        .unwrap()
        .terminated
        .unwrap();
    assert_eq!(term.reason.as_deref(), Some("StartError"));
    assert_eq!(term.message.as_deref(), Some(message));
    assert_eq!(term.exit_code, 128);
    assert_eq!(s.phase.as_deref(), Some("Failed"));

    let job = pod(json!({"restartPolicy": "OnFailure", "containers": [
        {"name": "c", "image": "perl", "command": ["perl", "-e", "print 1"]}]}));
    let mut run = PodRun::new(&job, "127.244.0.2", &rules(), t(0.0)).with_process_runtime(&job);
    run.advance(t(0.5));
    run.advance(t(5.0));
    assert_eq!(shown(&run, &job, 5.0).1, "Running", "no completion timer");
    run.exited("c", 0, 0, None, t(9.0));
    assert_eq!(
        shown(&run, &job, 9.0),
        ("Succeeded".into(), "Completed".into(), 0, false)
    );
}
