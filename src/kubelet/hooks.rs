//! Graceful termination: each running container's preStop hook, within the pod's grace period,
//! before the container is stopped — as upstream's kubelet kills a container.
//!
//! httpGet hooks are real requests to the pod IP (the simulated server logs them like any
//! request); `sleep` hooks really wait. exec hooks run on the host for a container of the
//! process runtime; the simulated runtime has no process to run them in: the container's log
//! says so and the stop goes on.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, LifecycleHandler};

use super::{probe, process, sim};

/// The User-Agent of httpGet lifecycle hooks, as upstream's kubelet sends it.
const LIFECYCLE_AGENT: &str = "kube-lifecycle/1.33";

/// How long a pod may take to stop: its deletion grace period (30 s when unset, as the
/// apiserver's default).
pub fn grace_period(pod: &k8s_openapi::api::core::v1::Pod) -> Duration {
    let secs = pod
        .metadata
        .deletion_grace_period_seconds
        .or_else(|| pod.spec.as_ref()?.termination_grace_period_seconds)
        .unwrap_or(30);
    Duration::from_secs(u64::try_from(secs).unwrap_or(0))
}

/// Runs `container`'s preStop hook, if it has one, against the pod at `ip`; an error is the
/// message of upstream's FailedPreStopHook event. The caller bounds it by the grace period.
pub async fn pre_stop(
    container: &Container,
    ip: &str,
    pod: &str,
    log: &sim::Log,
    exec: Option<&process::Exec>,
) -> Result<(), String> {
    let Some(hook) = container
        .lifecycle
        .as_ref()
        .and_then(|l| l.pre_stop.as_ref())
    else {
        return Ok(());
    };
    run(hook, container, ip, pod, log, exec).await
}

async fn run(
    hook: &LifecycleHandler,
    container: &Container,
    ip: &str,
    pod: &str,
    log: &sim::Log,
    exec: Option<&process::Exec>,
) -> Result<(), String> {
    let name = &container.name;
    if let Some(http) = &hook.http_get {
        let port = probe::port(&http.port, container)?;
        let host = http.host.clone().unwrap_or_else(|| ip.to_string());
        let path = http.path.clone().unwrap_or_else(|| "/".into());
        // Upstream's wording; its message part (the response body) stays empty here.
        let fail = |error: String| {
            format!(
                "HTTP lifecycle hook ({path}) for Container \"{name}\" in Pod \"{pod}\" failed - error: {error}, message: \"\""
            )
        };
        return match probe::http_get(&host, port, &path, LIFECYCLE_AGENT).await {
            Ok(code) if (200..300).contains(&code) => Ok(()),
            Ok(code) => Err(fail(format!(
                "HTTP lifecycle hook failed with statuscode: {code}"
            ))),
            Err(e) => Err(fail(format!("dial tcp {host}:{port}: connect: {e}"))),
        };
    }
    if let Some(sleep) = &hook.sleep {
        let secs = u64::try_from(sleep.seconds).unwrap_or(0);
        log.line(&format!("kwb sim: preStop hook: sleeping {secs} s"));
        tokio::time::sleep(Duration::from_secs(secs)).await;
        return Ok(());
    }
    if let (Some(command), Some(exec)) = (&hook.exec, exec) {
        let argv = command.command.clone().unwrap_or_default();
        // Bounded by the grace period by the caller, as upstream bounds it.
        return process::exec(&argv, exec, Duration::MAX)
            .await
            .map(|_| ())
            .map_err(|error| {
                format!(
                    "Exec lifecycle hook ([{}]) for Container \"{name}\" in Pod \"{pod}\" failed - error: {error}, message: \"\"",
                    argv.join(" ")
                )
            });
    }
    if let Some(exec) = &hook.exec {
        let command = exec.command.clone().unwrap_or_default().join(" ");
        log.line(&format!(
            "kwb sim: preStop exec hook `{command}` not run: the simulated runtime runs no commands"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn container(lifecycle: serde_json::Value) -> Container {
        serde_json::from_value(json!({
            "name": "web", "image": "nginx",
            "ports": [{"name": "http", "containerPort": 80}],
            "lifecycle": lifecycle
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn http_hooks_are_real_requests_and_sleep_hooks_wait() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let n = s.read(&mut buf).await.unwrap();
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                .await
                .unwrap();
            String::from_utf8_lossy(&buf[..n]).into_owned()
        });
        let dir = tempfile::tempdir().unwrap();
        let log = sim::Log::open(&dir.path().join("0.log"));
        let c = container(json!({"preStop": {"httpGet": {"path": "/drain", "port": port}}}));
        pre_stop(&c, "127.0.0.1", "web-1", &log, None)
            .await
            .unwrap();
        let request = server.await.unwrap();
        assert!(request.starts_with("GET /drain HTTP/1.1"), "{request}");
        assert!(
            request.contains("User-Agent: kube-lifecycle/1.33"),
            "{request}"
        );

        // Nothing listens there any more: upstream's FailedPreStopHook message.
        let err = pre_stop(&c, "127.0.0.1", "web-1", &log, None)
            .await
            .unwrap_err();
        assert!(
            err.starts_with(
                "HTTP lifecycle hook (/drain) for Container \"web\" in Pod \"web-1\" failed"
            ),
            "{err}"
        );

        let c = container(json!({"preStop": {"sleep": {"seconds": 1}}}));
        let t = std::time::Instant::now();
        pre_stop(&c, "127.0.0.1", "web-1", &log, None)
            .await
            .unwrap();
        assert!(t.elapsed() >= Duration::from_secs(1));
        let c = container(json!({"preStop": {"exec": {"command": ["nginx", "-s", "quit"]}}}));
        pre_stop(&c, "127.0.0.1", "web-1", &log, None)
            .await
            .unwrap();
        let text = std::fs::read_to_string(dir.path().join("0.log")).unwrap();
        assert!(
            text.contains("sleeping 1 s") && text.contains("`nginx -s quit` not run"),
            "{text}"
        );
    }
}
