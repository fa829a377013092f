use super::*;
use serde_json::json;

fn pod(containers: serde_json::Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": "web-1", "namespace": "demo", "uid": "u1",
                     "labels": {"app": "web"}},
        "spec": {"nodeName": "kwb-worker", "containers": containers}
    }))
    .unwrap()
}

fn container(p: &Pod) -> Container {
    p.spec.as_ref().unwrap().containers[0].clone()
}

const IPS: Ips = Ips {
    host: "127.0.0.1",
    pod: "127.244.1.7",
};

fn target() -> Target {
    Target {
        pod: "demo/web-1".into(),
        uid: "u1".into(),
        container: "c".into(),
        restart: 0,
        ip: "127.244.1.7".into(),
    }
}

#[test]
fn expansion_is_upstreams() {
    let env = |name: &str| (name == "A").then(|| "x".to_string());
    assert_eq!(expand("$(A)-$(B)", env), "x-$(B)");
    assert_eq!(expand("$$(A) $$ $ $(A", env), "$(A) $ $ $(A");
    assert_eq!(expand("no vars", env), "no vars");
    assert_eq!(expand("$(A)$(A)", env), "xx");
}

#[test]
fn the_environment_has_hostname_values_and_downward_fields() {
    let p = pod(json!([{
        "name": "c", "image": "busybox", "command": ["sh"],
        "env": [
            {"name": "GREETING", "value": "hello"},
            {"name": "MESSAGE", "value": "$(GREETING) from $(HOSTNAME) $(NOPE)"},
            {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
            {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
            {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}
        ]
    }]));
    let env: std::collections::BTreeMap<_, _> =
        environment(&p, &container(&p), &IPS).into_iter().collect();
    assert_eq!(env["HOSTNAME"], "web-1");
    assert_eq!(env["MESSAGE"], "hello from web-1 $(NOPE)");
    assert_eq!(env["POD_IP"], "127.244.1.7");
    assert_eq!(env["NODE"], "kwb-worker");
    assert_eq!(env["APP"], "web");
    assert!(env.contains_key("PATH"));
    assert!(!env.contains_key("FROM_SECRET"), "not fetched: left out");
}

#[test]
fn argv_is_command_then_args_expanded_and_none_without_command() {
    let p = pod(
        json!([{"name": "c", "image": "busybox", "command": ["echo", "$(WHO)"],
        "args": ["and", "$$(WHO)"], "env": [{"name": "WHO", "value": "me"}]}]),
    );
    let exec = Exec::new(&p, &container(&p), &IPS, Path::new("/tmp"));
    assert_eq!(
        argv(&container(&p), &exec).unwrap(),
        ["echo", "me", "and", "$(WHO)"]
    );
    let p = pod(json!([{"name": "c", "image": "nginx", "args": ["-g", "daemon off;"]}]));
    assert_eq!(argv(&container(&p), &exec), None);
}

fn cri_lines(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let mut parts = l.splitn(4, ' ');
            let (_, stream, _, text) = (parts.next(), parts.next(), parts.next(), parts.next());
            (stream.unwrap().to_string(), text.unwrap_or("").to_string())
        })
        .collect()
}

#[tokio::test]
async fn a_process_logs_both_streams_and_reports_its_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let p = pod(
        json!([{"name": "c", "image": "busybox", "command": ["sh", "-c"],
        "args": ["echo out $HOSTNAME; echo err >&2; pwd; exit 3"]}]),
    );
    let exec = Exec::new(&p, &container(&p), &IPS, dir.path());
    let log_path = dir.path().join("0.log");
    let log = Log::open(&log_path);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let command = argv(&container(&p), &exec).unwrap();
    let _running = start(&command, &exec, &target(), &log, &tx).unwrap();
    let exit = rx.recv().await.unwrap();
    assert_eq!((exit.code, exit.error), (3, None));
    let lines = cri_lines(&log_path);
    assert!(
        lines.contains(&("stdout".into(), "out web-1".into())),
        "{lines:?}"
    );
    assert!(
        lines.contains(&("stderr".into(), "err".into())),
        "{lines:?}"
    );
    let cwd = dir.path().canonicalize().unwrap();
    assert!(
        lines.contains(&("stdout".into(), cwd.display().to_string())),
        "{lines:?}"
    );
}

#[tokio::test]
async fn a_missing_program_is_a_start_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = pod(json!([{"name": "c", "image": "x", "command": ["kwb-no-such-program"]}]));
    let exec = Exec::new(&p, &container(&p), &IPS, dir.path());
    let (tx, mut rx) = mpsc::unbounded_channel();
    let log = Log::open(&dir.path().join("0.log"));
    let command = argv(&container(&p), &exec).unwrap();
    assert!(start(&command, &exec, &target(), &log, &tx).is_none());
    let exit = rx.recv().await.unwrap();
    assert_eq!(exit.code, 128);
    assert_eq!(
        exit.error.unwrap(),
        "failed to start container process: exec: \"kwb-no-such-program\": executable file not found in $PATH"
    );
}

#[tokio::test]
async fn stop_sends_sigterm_then_sigkill_after_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let p = pod(json!([{"name": "c", "image": "x", "command": ["sh", "-c",
        "trap 'echo bye; exit 0' TERM; echo up; while true; do sleep 0.05; done"]}]));
    let exec = Exec::new(&p, &container(&p), &IPS, dir.path());
    let log_path = dir.path().join("0.log");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let command = argv(&container(&p), &exec).unwrap();
    let running = start(&command, &exec, &target(), &Log::open(&log_path), &tx).unwrap();
    while !cri_lines(&log_path).iter().any(|(_, t)| t == "up") {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    running.stop(Duration::from_secs(5)).await;
    assert_eq!(rx.recv().await.unwrap().code, 0, "the TERM trap ran");
    assert!(cri_lines(&log_path).iter().any(|(_, t)| t == "bye"));

    // One that ignores SIGTERM is killed when the grace period is over.
    let p = pod(json!([{"name": "c", "image": "x", "command": ["sh", "-c",
        "trap '' TERM; echo up; while true; do sleep 0.05; done"]}]));
    let exec = Exec::new(&p, &container(&p), &IPS, dir.path());
    let log_path = dir.path().join("1.log");
    let command = argv(&container(&p), &exec).unwrap();
    let running = start(&command, &exec, &target(), &Log::open(&log_path), &tx).unwrap();
    while !cri_lines(&log_path).iter().any(|(_, t)| t == "up") {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let t = std::time::Instant::now();
    running.stop(Duration::from_millis(300)).await;
    assert_eq!(rx.recv().await.unwrap().code, 128 + libc::SIGKILL);
    assert!(t.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn exec_passes_on_zero_and_fails_with_output_or_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let p = pod(json!([{"name": "c", "image": "x", "command": ["true"],
        "env": [{"name": "FILE", "value": "ready"}]}]));
    let exec = Exec::new(&p, &container(&p), &IPS, dir.path());
    let sh = |script: &str| vec!["sh".to_string(), "-c".into(), script.into()];
    let second = Duration::from_secs(1);
    assert!(super::exec(&sh("cat $FILE"), &exec, second).await.is_err());
    std::fs::write(dir.path().join("ready"), "yes\n").unwrap();
    assert_eq!(
        super::exec(&sh("cat $FILE"), &exec, second).await.unwrap(),
        "yes\n"
    );
    assert_eq!(
        super::exec(&sh("echo not yet; exit 1"), &exec, second)
            .await
            .unwrap_err(),
        "not yet"
    );
    let err = super::exec(&sh("sleep 5"), &exec, Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(err.contains("timed out"), "{err}");
}
