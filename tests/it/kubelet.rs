//! The builtin kubelet's pod lifecycle as kubectl shows it: a rollout to an image that cannot
//! be pulled stalls and is undone, a crashing container goes into CrashLoopBackOff with its
//! previous log kept, a failing readiness probe keeps a pod unready with Unhealthy events, and
//! init containers run first.

use std::time::Duration;

use crate::apiserver::Api;
use crate::util::{self, ok, stdout, wait_until};
use crate::workshop::json;

/// `kubectl get pods` rows (NAME READY STATUS RESTARTS) of the pods matching `selector`.
fn rows(api: &Api, selector: &[&str]) -> Vec<Vec<String>> {
    let mut args = vec!["get", "pods", "--no-headers"];
    args.extend_from_slice(selector);
    stdout(&ok(api.kubectl(&args), "get pods"))
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

fn status_of(api: &Api, pod: &str) -> Option<(String, String, String)> {
    rows(api, &[pod])
        .into_iter()
        .next()
        .map(|r| (r[1].clone(), r[2].clone(), r[3].clone()))
}

#[test]
fn broken_images_crashes_probes_and_init_containers_show_as_upstream() {
    let test = "broken_images_crashes_probes_and_init_containers_show_as_upstream";
    if !util::require("kubectl", test) {
        return;
    }
    let api = Api::start();
    for c in ["controller-manager", "scheduler", "kubelet"] {
        ok(api.tc.run(&["start", c]), c);
    }
    ok(
        api.kubectl(&["create", "deployment", "web", "--image=nginx"]),
        "create deployment",
    );
    ok(
        api.kubectl(&["rollout", "status", "deploy/web", "--timeout=60s"]),
        "first rollout",
    );

    // An image that cannot be pulled (a default rule): the new pod shows ErrImagePull, then
    // ImagePullBackOff, the rollout stalls, the old pod keeps serving.
    ok(
        api.kubectl(&["set", "image", "deploy/web", "nginx=nginx:doesnotexist"]),
        "set image",
    );
    let seen = wait_until("ImagePullBackOff", Duration::from_secs(30), || {
        let r = rows(&api, &["-l", "app=web"]);
        r.iter().any(|r| r[2] == "ImagePullBackOff").then_some(r)
    });
    assert!(
        seen.iter().any(|r| r[1] == "1/1" && r[2] == "Running"),
        "the old pod still runs: {seen:?}"
    );
    let stalled = api.kubectl(&["rollout", "status", "deploy/web", "--timeout=3s"]);
    assert!(!stalled.status.success(), "the rollout must not finish");
    let describe = stdout(&ok(
        api.kubectl(&["describe", "pods", "-l", "app=web"]),
        "describe",
    ));
    assert!(
        describe.contains("Failed to pull image \"nginx:doesnotexist\"")
            && describe.contains("Back-off pulling image \"nginx:doesnotexist\""),
        "{describe}"
    );
    ok(api.kubectl(&["rollout", "undo", "deploy/web"]), "undo");
    ok(
        api.kubectl(&["rollout", "status", "deploy/web", "--timeout=60s"]),
        "rollout after undo",
    );

    // A container that crashes after 5 s: restarted at once, then backed off; its previous
    // run's log is kept.
    ok(
        api.kubectl(&["run", "crasher", "--image=busybox:crash"]),
        "run crasher",
    );
    let (_, status, restarts) = wait_until("CrashLoopBackOff", Duration::from_secs(45), || {
        status_of(&api, "crasher").filter(|s| s.1 == "CrashLoopBackOff")
    });
    assert!(
        restarts.starts_with('1') || restarts.starts_with('2'),
        "{status} {restarts}"
    );
    let previous = stdout(&ok(
        api.kubectl(&["logs", "crasher", "--previous"]),
        "logs --previous",
    ));
    assert!(
        previous.contains("exited with code 1"),
        "the previous run's last words: {previous}"
    );

    // A readiness probe that fails: Running but 0/1, Unhealthy events with the HTTP status.
    let unready = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: unready\nspec:\n  containers:\n  - name: web\n    image: nginx:unready\n    readinessProbe:\n      httpGet: {path: /healthz, port: 80}\n      periodSeconds: 1\n";
    ok(
        api.apply_stdin(&["create", "-f", "-"], unready),
        "create unready",
    );
    // And init containers: Init:0/1 first, then Running.
    let init = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: initialized\nspec:\n  initContainers:\n  - name: setup\n    image: busybox:slow\n  containers:\n  - name: web\n    image: nginx\n";
    ok(api.apply_stdin(&["create", "-f", "-"], init), "create init");
    wait_until("Init:0/1", Duration::from_secs(20), || {
        status_of(&api, "initialized").filter(|s| s.1 == "Init:0/1")
    });
    wait_until("an Unhealthy event", Duration::from_secs(30), || {
        let d = stdout(&ok(
            api.kubectl(&["describe", "pod", "unready"]),
            "describe",
        ));
        d.contains("Readiness probe failed: HTTP probe failed with statuscode: 503")
            .then_some(d)
    });
    assert_eq!(
        status_of(&api, "unready").map(|s| (s.0, s.1)),
        Some(("0/1".to_string(), "Running".to_string()))
    );
    let pod = json(&api, &["pod", "unready"]);
    assert_eq!(
        pod["status"]["containerStatuses"][0]["ready"], false,
        "{pod}"
    );
    // The init container's slow pull (20 s), then it runs to completion, then the app.
    wait_until(
        "the initialized pod Running",
        Duration::from_secs(60),
        || status_of(&api, "initialized").filter(|s| s.1 == "Running" && s.0 == "1/1"),
    );

    // A native sidecar runs beside the app (2/2), and deleting the pod waits for the app's
    // preStop hook (a 2 s sleep) before the kubelet confirms the deletion.
    let sidecar = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: graceful\nspec:\n  initContainers:\n  - name: proxy\n    image: envoy\n    restartPolicy: Always\n  containers:\n  - name: web\n    image: nginx\n    lifecycle:\n      preStop:\n        sleep:\n          seconds: 2\n";
    ok(
        api.apply_stdin(&["create", "-f", "-"], sidecar),
        "create graceful",
    );
    wait_until(
        "the sidecar pod 2/2 Running",
        Duration::from_secs(30),
        || status_of(&api, "graceful").filter(|s| s.0 == "2/2" && s.1 == "Running"),
    );
    let started = std::time::Instant::now();
    ok(
        api.kubectl(&["delete", "pod", "graceful"]),
        "delete graceful",
    );
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "the deletion waited for the preStop hook: {:?}",
        started.elapsed()
    );
    let events = stdout(&ok(
        api.kubectl(&[
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=graceful",
        ]),
        "events",
    ));
    assert!(
        events.contains("Stopping container web") && events.contains("Stopping container proxy"),
        "{events}"
    );
}

/// A node with the process runtime (`processRuntime:` in kwb.yaml): containers with a command
/// run as real host processes — their stdout and stderr are what `kubectl logs` shows, their
/// exit codes decide restarts, exec probes run for real, a missing program is a StartError,
/// and deleting the pod ends the process.
#[test]
fn the_process_runtime_runs_commands_as_host_processes() {
    let test = "the_process_runtime_runs_commands_as_host_processes";
    if !util::require("kubectl", test) {
        return;
    }
    let tc = util::TestCluster::new(false).with_config("processRuntime: [test-control-plane]");
    let api = Api::start_with(tc);
    for c in ["controller-manager", "scheduler", "kubelet"] {
        ok(api.tc.run(&["start", c]), c);
    }
    // Ready once it has counted to 5 (an exec probe reading the file it writes).
    let marker = "kwb-process-runtime-test";
    let counter = format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: counter\nspec:\n  containers:\n  - name: count\n    image: busybox\n    command: [sh, -c]\n    args:\n    - 'i=0; while true; do echo \"tick $i from $HOSTNAME at $(POD_IP)\"; echo $i > count; i=$((i+1)); sleep 0.2; done # {marker}'\n    env:\n    - name: POD_IP\n      valueFrom:\n        fieldRef:\n          fieldPath: status.podIP\n    readinessProbe:\n      exec:\n        command: [sh, -c, 'test $(cat count) -ge 5']\n      periodSeconds: 1\n"
    );
    ok(
        api.apply_stdin(&["create", "-f", "-"], &counter),
        "create counter",
    );
    let fails = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: fails\nspec:\n  containers:\n  - name: app\n    image: busybox\n    command: [sh, -c, 'echo about to fail >&2; exit 3']\n";
    ok(
        api.apply_stdin(&["create", "-f", "-"], fails),
        "create fails",
    );
    let missing = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: missing\nspec:\n  restartPolicy: Never\n  containers:\n  - name: app\n    image: busybox\n    command: [kwb-no-such-program]\n";
    ok(
        api.apply_stdin(&["create", "-f", "-"], missing),
        "create missing",
    );

    wait_until("counter 1/1 Running", Duration::from_secs(30), || {
        status_of(&api, "counter").filter(|s| s.0 == "1/1" && s.1 == "Running")
    });
    let ip = stdout(&ok(
        api.kubectl(&["get", "pod", "counter", "-o", "jsonpath={.status.podIP}"]),
        "pod IP",
    ));
    let logs = stdout(&ok(api.kubectl(&["logs", "counter"]), "logs counter"));
    assert!(
        logs.starts_with(&format!("tick 0 from counter at {ip}\n")),
        "the process's own output, env expanded: {logs}"
    );
    assert!(
        !util::pids_mentioning(marker).is_empty(),
        "a real host process runs"
    );

    // Exit code 3: restarted, then backed off; the previous run's stderr is kept.
    wait_until("fails restarted", Duration::from_secs(30), || {
        status_of(&api, "fails").filter(|s| s.2.parse::<i32>().is_ok_and(|n| n >= 1))
    });
    let code = stdout(&ok(
        api.kubectl(&[
            "get",
            "pod",
            "fails",
            "-o",
            "jsonpath={.status.containerStatuses[0].lastState.terminated.exitCode}",
        ]),
        "exit code",
    ));
    assert_eq!(code, "3");
    let previous = stdout(&ok(
        api.kubectl(&["logs", "fails", "--previous"]),
        "logs --previous",
    ));
    assert_eq!(previous, "about to fail\n");

    // A program that is not there: StartError, and the pod (restartPolicy Never) fails.
    let shown = wait_until("missing StartError", Duration::from_secs(30), || {
        status_of(&api, "missing").filter(|s| s.1 == "StartError")
    });
    assert_eq!(shown.0, "0/1");
    let describe = stdout(&ok(
        api.kubectl(&["describe", "pod", "missing"]),
        "describe",
    ));
    assert!(
        describe.contains("exec: \"kwb-no-such-program\": executable file not found in $PATH"),
        "{describe}"
    );

    // Deleting the pod ends its process (SIGTERM: sh exits at once).
    ok(
        api.kubectl(&["delete", "pod", "counter", "--wait=true"]),
        "delete counter",
    );
    wait_until("the process gone", Duration::from_secs(10), || {
        util::pids_mentioning(marker).is_empty().then_some(())
    });
}
