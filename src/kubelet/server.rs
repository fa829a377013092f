//! The kubelet's HTTPS API, as much of it as the apiserver and users reach for: `/healthz`,
//! `/pods` (the pods this kubelet runs) and `/containerLogs/NS/POD/CONTAINER` with follow,
//! tailLines, timestamps, sinceSeconds, limitBytes and previous — what `kubectl logs`
//! asks for through the apiserver. Only clients with a certificate from the cluster CA get
//! in (the apiserver's kubelet client certificate among them); nothing anonymous.

use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::reflector::Store;

/// What the handlers read.
#[derive(Clone)]
pub struct Kubelet {
    pub root: PathBuf,
    pub pods: Store<Pod>,
}

/// The options of a log request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogOptions {
    pub follow: bool,
    pub previous: bool,
    pub timestamps: bool,
    pub tail_lines: Option<usize>,
    pub since_seconds: Option<i64>,
    pub limit_bytes: Option<usize>,
}

impl LogOptions {
    pub fn parse(query: &str) -> LogOptions {
        let mut o = LogOptions::default();
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let yes = v.is_empty() || v == "true" || v == "1";
            match k {
                "follow" => o.follow = yes,
                "previous" => o.previous = yes,
                "timestamps" => o.timestamps = yes,
                "tailLines" => o.tail_lines = v.parse().ok(),
                "sinceSeconds" => o.since_seconds = v.parse().ok(),
                "limitBytes" => o.limit_bytes = v.parse().ok(),
                _ => {}
            }
        }
        o
    }
}

/// One CRI log line (`<time> <stream> <P|F> <text>`) as the user sees it.
pub fn render(line: &str, o: &LogOptions, since: Option<Timestamp>) -> Option<String> {
    let mut parts = line.splitn(4, ' ');
    let (time, _stream, _tag) = (parts.next()?, parts.next()?, parts.next()?);
    let text = parts.next().unwrap_or("");
    if let Some(since) = since
        && time.parse::<Timestamp>().is_ok_and(|t| t < since)
    {
        return None;
    }
    Some(match o.timestamps {
        true => format!("{time} {text}\n"),
        false => format!("{text}\n"),
    })
}

/// The log files of a container of the pod `ns/name`, one per run (`<restart>.log`), oldest
/// first; of the newest pod of that name, should one have run before.
fn log_files(root: &Path, ns: &str, name: &str, container: &str) -> Vec<PathBuf> {
    let prefix = format!("{ns}_{name}_");
    let dir = std::fs::read_dir(root.join("pods"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path().join(container))
        .filter(|p| p.is_dir())
        .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    let mut runs: Vec<(u32, PathBuf)> = dir
        .and_then(|d| std::fs::read_dir(d).ok())
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_str()?.strip_suffix(".log")?.parse().ok()?;
            Some((n, e.path()))
        })
        .collect();
    runs.sort();
    runs.into_iter().map(|(_, p)| p).collect()
}

fn error(status: StatusCode, message: String) -> Response {
    (status, message).into_response()
}

async fn container_logs(
    State(k): State<Kubelet>,
    UrlPath((ns, name, container)): UrlPath<(String, String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    let o = LogOptions::parse(query.as_deref().unwrap_or(""));
    let mut runs = log_files(&k.root, &ns, &name, &container);
    let current = runs.pop();
    let path = if o.previous {
        // The run before the current one: a restarted container's last words.
        match (runs.pop(), current) {
            (Some(p), _) => p,
            (None, _) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "previous terminated container \"{container}\" in pod \"{name}\" not found"
                    ),
                );
            }
        }
    } else {
        match current {
            Some(p) => p,
            None => {
                return error(
                    StatusCode::NOT_FOUND,
                    format!(
                        "container \"{container}\" in pod \"{name}\" is not running on this node"
                    ),
                );
            }
        }
    };
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let since = o.since_seconds.and_then(|s| {
        Timestamp::now()
            .checked_sub(k8s_openapi::jiff::SignedDuration::from_secs(s))
            .ok()
    });
    let mut lines: Vec<String> = text.lines().filter_map(|l| render(l, &o, since)).collect();
    if let Some(n) = o.tail_lines {
        let skip = lines.len().saturating_sub(n);
        lines.drain(..skip);
    }
    let first: String = lines.concat();
    let offset = text.len() as u64;
    let state = Follow {
        path,
        offset,
        pending: Some(first),
        follow: o.follow,
        options: o.clone(),
        left: o.limit_bytes,
    };
    let stream = futures::stream::unfold(state, |mut s| async move {
        s.next()
            .await
            .map(|chunk| (Ok::<_, std::io::Error>(chunk), s))
    });
    Response::builder()
        .header("content-type", "text/plain")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// A log being streamed: what is left to send, and when following, where to read on.
struct Follow {
    path: PathBuf,
    offset: u64,
    pending: Option<String>,
    follow: bool,
    options: LogOptions,
    left: Option<usize>,
}

impl Follow {
    async fn next(&mut self) -> Option<Bytes> {
        loop {
            if self.left == Some(0) {
                return None;
            }
            if let Some(text) = self.pending.take().filter(|t| !t.is_empty()) {
                return Some(self.limit(text));
            }
            if !self.follow {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            // The pod's logs go when the pod is gone: so does the stream.
            let text = std::fs::read(&self.path).ok()?;
            if (text.len() as u64) > self.offset {
                let new = &text[self.offset as usize..];
                // Only whole lines; the rest waits for its newline.
                let upto = new.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
                self.offset += upto as u64;
                let lines = String::from_utf8_lossy(&new[..upto]).into_owned();
                self.pending = Some(
                    lines
                        .lines()
                        .filter_map(|l| render(l, &self.options, None))
                        .collect(),
                );
            }
        }
    }

    fn limit(&mut self, text: String) -> Bytes {
        let mut bytes = text.into_bytes();
        if let Some(left) = &mut self.left {
            bytes.truncate(*left);
            *left -= bytes.len();
        }
        Bytes::from(bytes)
    }
}

async fn pods(State(k): State<Kubelet>) -> Response {
    let items: Vec<Pod> = k.pods.state().iter().map(|p| (**p).clone()).collect();
    let list =
        serde_json::json!({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items});
    ([("content-type", "application/json")], list.to_string()).into_response()
}

/// Serves the API on `addr` with `tls` until the task is dropped.
pub async fn serve(
    addr: &str,
    tls: std::sync::Arc<rustls::ServerConfig>,
    kubelet: Kubelet,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen on {addr} (--port): is another kubelet running?")
    })?;
    let router = axum::Router::new()
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .route("/pods", axum::routing::get(pods))
        .route(
            "/containerLogs/{ns}/{name}/{container}",
            axum::routing::get(container_logs),
        )
        .with_state(kubelet);
    tracing::info!("serving the kubelet API on https://{addr}");
    crate::serve::serve(
        listener,
        Some(tokio_rustls::TlsAcceptor::from(tls)),
        router,
        |_| (),
    )
    .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_read_as_kubectl_logs_prints_them() {
        let o = LogOptions::parse("follow=true&tailLines=2&timestamps=true&limitBytes=10");
        assert!(o.follow && o.timestamps && !o.previous);
        assert_eq!((o.tail_lines, o.limit_bytes), (Some(2), Some(10)));
        let line = "2026-11-22T19:04:47.3639Z stdout F GET / 200";
        assert_eq!(
            render(line, &LogOptions::default(), None).as_deref(),
            Some("GET / 200\n")
        );
        assert_eq!(
            render(line, &o, None).as_deref(),
            Some("2026-11-22T19:04:47.3639Z GET / 200\n")
        );
        let later: Timestamp = "2026-11-22T20:00:00Z".parse().unwrap();
        assert_eq!(render(line, &o, Some(later)), None, "before sinceSeconds");
        assert_eq!(render("garbage", &o, None), None);
    }
}
