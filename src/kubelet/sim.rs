//! The simulated runtime: a container "runs" as a task that serves HTTP on the pod IP for
//! each declared TCP containerPort — an nginx-like page naming image, pod and node, or for
//! httpenv-style images a JSON of the environment with HOSTNAME — and writes a startup line
//! and one access-log line per request to the container's log, as the real images do.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::jiff::Timestamp;
use tokio::task::JoinHandle;

/// A container's log file, in the CRI format the kubelet reads back
/// (`<RFC 3339 time> stdout F <line>`).
#[derive(Clone)]
pub struct Log(Arc<Mutex<Option<std::fs::File>>>);

impl Log {
    pub fn open(path: &Path) -> Log {
        let file = path
            .parent()
            .map(std::fs::create_dir_all)
            .and_then(Result::ok)
            .and_then(|_| {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .ok()
            });
        Log(Arc::new(Mutex::new(file)))
    }

    pub fn line(&self, text: &str) {
        self.write("stdout", text);
    }

    /// A line of `stream` (stdout or stderr).
    pub fn write(&self, stream: &str, text: &str) {
        if let Ok(mut guard) = self.0.lock()
            && let Some(file) = guard.as_mut()
        {
            let _ = writeln!(file, "{} {stream} F {text}", Timestamp::now());
        }
    }
}

/// Where the log of a container's `restart`-th run lives under the kubelet's root dir (as
/// /var/log/pods lays it out: `<ns>_<pod>_<uid>/<container>/<restart>.log`).
pub fn log_path(root: &Path, pod: &Pod, container: &str, restart: i32) -> PathBuf {
    pod_dir(root, pod)
        .join(container)
        .join(format!("{restart}.log"))
}

/// The pod's directory under the kubelet's root dir: its logs, and the process runtime's work
/// dir. It goes when the pod does.
pub fn pod_dir(root: &Path, pod: &Pod) -> PathBuf {
    let m = &pod.metadata;
    root.join("pods").join(format!(
        "{}_{}_{}",
        m.namespace.as_deref().unwrap_or(""),
        m.name.as_deref().unwrap_or(""),
        m.uid.as_deref().unwrap_or("")
    ))
}

/// The process runtime's work dir of the pod, shared by its containers: `_work` cannot clash
/// with a container's log dir, as container names are DNS labels.
pub fn work_dir(root: &Path, pod: &Pod) -> PathBuf {
    pod_dir(root, pod).join("_work")
}

/// What a simulated container answers with.
#[derive(Clone, Debug, PartialEq)]
pub enum Page {
    /// The environment as JSON (jpetazzo/httpenv and look-alikes).
    Env(BTreeMap<String, String>),
    /// An HTML welcome page.
    Welcome {
        image: String,
        pod: String,
        node: String,
    },
}

/// The page for `container` of `pod` on `node`.
pub fn page(pod: &Pod, container: &Container, node: &str) -> Page {
    let image = container.image.clone().unwrap_or_default();
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    if image.contains("httpenv") {
        let mut env: BTreeMap<String, String> = container
            .env
            .iter()
            .flatten()
            .filter_map(|e| Some((e.name.clone(), e.value.clone()?)))
            .collect();
        env.insert("HOSTNAME".into(), pod_name);
        env.insert(
            "PATH".into(),
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        );
        return Page::Env(env);
    }
    Page::Welcome {
        image,
        pod: pod_name,
        node: node.into(),
    }
}

impl Page {
    fn render(&self) -> (&'static str, String) {
        match self {
            Page::Env(env) => (
                "application/json",
                serde_json::to_string(env).unwrap_or_default(),
            ),
            Page::Welcome { image, pod, node } => (
                "text/html",
                format!(
                    "<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n</head>\n<body>\n<h1>Welcome to nginx!</h1>\n<p>If you see this page, the web server is working.</p>\n<p>Image <b>{image}</b>, pod <b>{pod}</b>, node <b>{node}</b> (kwb's simulated runtime).</p>\n</body>\n</html>\n"
                ),
            ),
        }
    }
}

#[derive(Clone)]
struct Served {
    page: Page,
    log: Log,
    /// A simulate rule makes its readiness fail: probes are answered 503.
    unready: bool,
}

/// What the kubelet sends as User-Agent with its HTTP probes (upstream: kube-probe/1.33).
pub const PROBE_AGENT: &str = "kube-probe/1.33";

async fn answer(
    State(s): State<Served>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let agent = headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    // The kubelet's probes reach the app's health endpoint, whatever its path: a simulated
    // app is healthy unless a rule says its readiness fails.
    let probe = agent.starts_with("kube-probe/");
    let (status, kind, body) = match uri.path() {
        _ if probe && s.unready => (
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            "not ready (a kwb simulate rule)\n".to_string(),
        ),
        _ if probe => (StatusCode::OK, "text/plain", "ok\n".to_string()),
        "/" | "/index.html" => {
            let (kind, body) = s.page.render();
            (StatusCode::OK, kind, body)
        }
        _ => (
            StatusCode::NOT_FOUND,
            "text/html",
            "<html><head><title>404 Not Found</title></head><body><center><h1>404 Not Found</h1></center></body></html>\n".to_string(),
        ),
    };
    s.log.line(&format!(
        "{} - - [{}] \"{method} {uri} HTTP/1.1\" {} {} \"-\" \"{agent}\"",
        peer.ip(),
        Timestamp::now().strftime("%d/%b/%Y:%H:%M:%S +0000"),
        status.as_u16(),
        body.len()
    ));
    (status, [("content-type", kind)], body).into_response()
}

/// The port well-known images listen on whether or not the pod declares it, as the real
/// ones do (`kubectl create deployment web --image=nginx` declares none).
fn image_port(image: &str) -> Option<i32> {
    let name = image.rsplit('/').next().unwrap_or(image);
    let name = name.split([':', '@']).next().unwrap_or(name);
    match name {
        "nginx" | "httpd" | "caddy" | "traefik-whoami" | "whoami" => Some(80),
        "httpenv" => Some(8888),
        _ => None,
    }
}

/// The TCP ports a container serves: the declared ones and its image's own.
pub fn ports(container: &Container) -> Vec<i32> {
    let mut out: Vec<i32> = container
        .ports
        .iter()
        .flatten()
        .filter(|p| p.protocol.as_deref().is_none_or(|p| p == "TCP"))
        .map(|p| p.container_port)
        .collect();
    out.extend(container.image.as_deref().and_then(image_port));
    out.sort();
    out.dedup();
    out
}

/// Starts serving `container` of `pod` on `ip`: one task per TCP containerPort. A port that
/// cannot be bound is logged with the fix, and the container runs without it.
pub async fn start(
    pod: &Pod,
    container: &Container,
    ip: &str,
    node: &str,
    log: Log,
    unready: bool,
) -> Vec<JoinHandle<()>> {
    let served = Served {
        page: page(pod, container, node),
        log: log.clone(),
        unready,
    };
    let image = container.image.clone().unwrap_or_default();
    log.line(&format!("kwb sim: started {image}"));
    let mut tasks = Vec::new();
    for port in ports(container) {
        let addr = format!("{ip}:{port}");
        let listener = match tokio::net::TcpListener::bind(&addr).await {
            Ok(l) => l,
            Err(e) => {
                let fix = if port < 1024 {
                    " (ports below 1024 need root or `sudo sysctl -w net.ipv4.ip_unprivileged_port_start=0`)"
                } else {
                    ""
                };
                let message = format!("cannot listen on {addr}: {e}{fix}");
                log.line(&format!("kwb sim: {message}"));
                tracing::warn!("{message}");
                continue;
            }
        };
        log.line(&format!("kwb sim: listening on {addr}"));
        let router = axum::Router::new()
            .fallback(answer)
            .with_state(served.clone());
        tasks.push(tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await;
        }));
    }
    tasks
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(image: &str) -> (Pod, Container) {
        let pod: Pod = serde_json::from_value(json!({"metadata": {"name": "httpenv-1", "namespace": "default", "uid": "u"},
            "spec": {"containers": [{"name": "c", "image": image, "env": [{"name": "A", "value": "1"}]}]}}))
        .unwrap();
        let c = pod.spec.as_ref().unwrap().containers[0].clone();
        (pod, c)
    }

    #[test]
    fn httpenv_images_show_their_environment_and_others_a_welcome_page() {
        let (p, c) = pod("jpetazzo/httpenv");
        let Page::Env(env) = page(&p, &c, "n") else {
            panic!("env page expected")
        };
        assert_eq!(env["HOSTNAME"], "httpenv-1");
        assert_eq!(env["A"], "1");
        let (p, c) = pod("nginx");
        let (kind, body) = page(&p, &c, "n1").render();
        assert_eq!(kind, "text/html");
        assert!(
            body.contains("Welcome to nginx!") && body.contains("node <b>n1</b>"),
            "{body}"
        );
        assert_eq!(ports(&c), vec![80], "nginx listens on 80 undeclared");
        let (_, c) = pod("jpetazzo/httpenv:latest");
        assert_eq!(ports(&c), vec![8888]);
        assert_eq!(
            log_path(Path::new("/r"), &p, "c", 2),
            Path::new("/r/pods/default_httpenv-1_u/c/2.log")
        );
    }
}
