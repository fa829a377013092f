//! Readiness, liveness and startup probes, run for real against the pod IP: httpGet sends
//! `GET path` with upstream's User-Agent and passes on 200–399; tcpSocket passes when the
//! port accepts. Results go to the pod workers, which count them against the thresholds.
//!
//! exec probes run the command on the host for a container of the process runtime; in the
//! simulated runtime (no process to exec in) they pass, as grpc probes do (no gRPC health
//! server), and the container's log says so once.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::pod::ProbeKind;
use super::{process, sim};

/// One probe's outcome for one run of a container.
#[derive(Debug)]
pub struct Outcome {
    pub pod: String,
    pub uid: String,
    pub container: String,
    pub restart: i32,
    pub kind: ProbeKind,
    pub result: Result<(), String>,
}

/// Where a probe outcome is for: pod key, uid, container and its run.
#[derive(Clone, Debug)]
pub struct Target {
    pub pod: String,
    pub uid: String,
    pub container: String,
    pub restart: i32,
    pub ip: String,
}

/// Starts a task per probe `container` declares; they end when aborted with the run. `exec`:
/// where exec probes run (a container of the process runtime).
pub fn spawn(
    container: &Container,
    target: &Target,
    log: &sim::Log,
    results: &mpsc::UnboundedSender<Outcome>,
    exec: Option<&process::Exec>,
) -> Vec<JoinHandle<()>> {
    let probes = [
        (ProbeKind::Startup, &container.startup_probe),
        (ProbeKind::Readiness, &container.readiness_probe),
        (ProbeKind::Liveness, &container.liveness_probe),
    ];
    let mut tasks = Vec::new();
    for (kind, probe) in probes {
        let Some(probe) = probe.clone() else {
            continue;
        };
        if (probe.exec.is_some() && exec.is_none()) || probe.grpc.is_some() {
            log.line(&format!(
                "kwb sim: {kind:?} probe (exec/grpc) cannot run in the simulated runtime; it passes"
            ));
        }
        let (container, target, results) = (container.clone(), target.clone(), results.clone());
        let exec = exec.cloned();
        tasks.push(tokio::spawn(async move {
            let seconds = |v: Option<i32>, default: i32| {
                Duration::from_secs(v.unwrap_or(default).max(0) as u64)
            };
            tokio::time::sleep(seconds(probe.initial_delay_seconds, 0)).await;
            let period = seconds(probe.period_seconds, 10).max(Duration::from_secs(1));
            let timeout = seconds(probe.timeout_seconds, 1).max(Duration::from_secs(1));
            loop {
                let result = check(&probe, &container, &target.ip, timeout, exec.as_ref()).await;
                let outcome = Outcome {
                    pod: target.pod.clone(),
                    uid: target.uid.clone(),
                    container: target.container.clone(),
                    restart: target.restart,
                    kind,
                    result,
                };
                if results.send(outcome).is_err() {
                    return;
                }
                tokio::time::sleep(period).await;
            }
        }));
    }
    tasks
}

/// A port by number or by the name of one of the container's ports.
pub(super) fn port(port: &IntOrString, container: &Container) -> Result<u16, String> {
    let n = match port {
        IntOrString::Int(n) => *n,
        IntOrString::String(name) => container
            .ports
            .iter()
            .flatten()
            .find(|p| p.name.as_deref() == Some(name))
            .map(|p| p.container_port)
            .ok_or_else(|| format!("port {name:?} not found in the container's ports"))?,
    };
    u16::try_from(n).map_err(|_| format!("invalid port {n}"))
}

async fn check(
    probe: &Probe,
    container: &Container,
    ip: &str,
    timeout: Duration,
    exec: Option<&process::Exec>,
) -> Result<(), String> {
    if let (Some(command), Some(exec)) = (&probe.exec, exec) {
        let argv = command.command.clone().unwrap_or_default();
        return process::exec(&argv, exec, timeout).await.map(|_| ());
    }
    if let Some(http) = &probe.http_get {
        let port = port(&http.port, container)?;
        let host = http.host.clone().unwrap_or_else(|| ip.to_string());
        let path = http.path.clone().unwrap_or_else(|| "/".into());
        let url = format!("http://{host}:{port}{path}");
        return match tokio::time::timeout(timeout, http_get(&host, port, &path, sim::PROBE_AGENT))
            .await
        {
            Err(_) => Err(format!(
                "Get \"{url}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
            )),
            Ok(Err(e)) => Err(format!(
                "Get \"{url}\": dial tcp {host}:{port}: connect: {e}"
            )),
            Ok(Ok(code)) if (200..400).contains(&code) => Ok(()),
            Ok(Ok(code)) => Err(format!("HTTP probe failed with statuscode: {code}")),
        };
    }
    if let Some(tcp) = &probe.tcp_socket {
        let port = port(&tcp.port, container)?;
        let host = tcp.host.clone().unwrap_or_else(|| ip.to_string());
        return match tokio::time::timeout(
            timeout,
            tokio::net::TcpStream::connect((host.as_str(), port)),
        )
        .await
        {
            Err(_) => Err(format!("dial tcp {host}:{port}: i/o timeout")),
            Ok(Err(e)) => Err(format!("dial tcp {host}:{port}: connect: {}", short(&e))),
            Ok(Ok(_)) => Ok(()),
        };
    }
    Ok(())
}

/// Go's words for the usual connect errors.
fn short(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
        _ => e.to_string(),
    }
}

/// A bare HTTP/1.1 GET as `agent`: the status code of the answer.
pub(super) async fn http_get(
    host: &str,
    port: u16,
    path: &str,
    agent: &str,
) -> Result<u16, String> {
    let mut stream = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(|e| short(&e))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: {agent}\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| short(&e))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    while !head.windows(2).any(|w| w == b"\r\n") {
        let n = stream.read(&mut buf).await.map_err(|e| short(&e))?;
        if n == 0 || head.len() > 8192 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    line.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| "malformed HTTP response".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn container(probe: serde_json::Value) -> (Container, Probe) {
        let c: Container = serde_json::from_value(json!({"name": "c", "image": "nginx",
            "ports": [{"name": "web", "containerPort": 1}], "readinessProbe": probe}))
        .unwrap();
        let p = c.readiness_probe.clone().unwrap();
        (c, p)
    }

    #[tokio::test]
    async fn http_and_tcp_probes_pass_and_fail_for_real() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            for code in [200, 503] {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 1024];
                let n = s.read(&mut buf).await.unwrap();
                assert!(String::from_utf8_lossy(&buf[..n]).contains("User-Agent: kube-probe/"));
                let answer = format!("HTTP/1.1 {code} X\r\nContent-Length: 0\r\n\r\n");
                s.write_all(answer.as_bytes()).await.unwrap();
            }
        });
        let t = Duration::from_secs(1);
        let (c, p) = container(json!({"httpGet": {"path": "/healthz", "port": open}}));
        assert_eq!(check(&p, &c, "127.0.0.1", t, None).await, Ok(()));
        assert_eq!(
            check(&p, &c, "127.0.0.1", t, None).await,
            Err("HTTP probe failed with statuscode: 503".into())
        );
        server.await.unwrap();
        // Nothing listens on the old port any more.
        let (c, p) = container(json!({"tcpSocket": {"port": open}}));
        assert_eq!(
            check(&p, &c, "127.0.0.1", t, None).await,
            Err(format!(
                "dial tcp 127.0.0.1:{open}: connect: connection refused"
            ))
        );
        let (c, p) = container(json!({"tcpSocket": {"port": "nope"}}));
        assert!(
            check(&p, &c, "127.0.0.1", t, None)
                .await
                .unwrap_err()
                .contains("\"nope\"")
        );
        let (c, p) = container(json!({"exec": {"command": ["true"]}}));
        assert_eq!(check(&p, &c, "127.0.0.1", t, None).await, Ok(()));
    }
}
