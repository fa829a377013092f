//! The streams a pod's node serves, reached through the apiserver as upstream does:
//! `pods/NAME/log` is proxied to the kubelet's `/containerLogs/NS/POD/CONTAINER` over TLS,
//! with the apiserver's kubelet client certificate (`--kubelet-client-certificate`) and the
//! kubelet's serving certificate checked against the cluster CA. `exec`, `attach` and
//! `portforward` need stream upgrades no kwb kubelet serves yet, and say so.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use rustls::pki_types::ServerName;
use serde_json::Value;

use super::Server;
use super::rest::query_param;
use super::status::ApiError;
use crate::kinds;

/// The query parameters of pods/log, with what upstream requires of their values.
const LOG_OPTIONS: &[(&str, Check)] = &[
    ("follow", Check::Bool),
    ("previous", Check::Bool),
    ("timestamps", Check::Bool),
    ("tailLines", Check::AtLeast(0)),
    ("sinceSeconds", Check::AtLeast(1)),
    ("limitBytes", Check::AtLeast(1)),
    ("sinceTime", Check::Any),
];

#[derive(Clone, Copy)]
enum Check {
    Bool,
    AtLeast(i64),
    Any,
}

pub async fn stream(
    server: &Server,
    ns: &str,
    name: &str,
    what: &str,
    query: &str,
) -> Result<Response, ApiError> {
    let kind = kinds::find("", "v1", "pods").expect("pods are a served kind");
    let pod = server
        .storage
        .get(kind, Some(ns), name)
        .await?
        .ok_or_else(|| ApiError::not_found(kind, name))?;
    if what != "log" {
        return Err(ApiError::bad_request(format!(
            "{what} into pod {name:?} needs a stream to the kubelet of its node, which kwb does not proxy yet; `kubectl logs` works"
        )));
    }
    let container = container_of(&pod, query_param(query, "container"))?;
    let kubelet_query = log_query(query)?;
    if let Some(waiting) = waiting(&pod, &container) {
        return Err(ApiError::bad_request(format!(
            "container {container:?} in pod {name:?} is waiting to start: {waiting}"
        )));
    }
    let node_name = pod["spec"]["nodeName"].as_str().unwrap_or_default();
    let nodes = kinds::find("", "v1", "nodes").expect("nodes are a served kind");
    let node = server
        .storage
        .get(nodes, None, node_name)
        .await?
        .ok_or_else(|| ApiError::not_found(nodes, node_name))?;
    let addr = kubelet_address(&node).ok_or_else(|| {
        ApiError::bad_request(format!(
            "node {node_name:?} has no kubelet endpoint (status.addresses and status.daemonEndpoints): is its kubelet running?"
        ))
    })?;
    let path = format!("/containerLogs/{ns}/{name}/{container}{kubelet_query}");
    proxy(server, node_name, &addr, &path).await
}

/// The container a log request means: the one named, or the pod's only container.
fn container_of(pod: &Value, asked: Option<&str>) -> Result<String, ApiError> {
    let names = |field: &str| -> Vec<String> {
        pod["spec"][field]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["name"].as_str().map(str::to_string))
            .collect()
    };
    let (containers, init) = (names("containers"), names("initContainers"));
    let pod_name = pod["metadata"]["name"].as_str().unwrap_or("");
    match asked.map(super::rest::percent_decode) {
        Some(c) if containers.contains(&c) || init.contains(&c) => Ok(c),
        Some(c) => Err(ApiError::bad_request(format!(
            "container {c} is not valid for pod {pod_name}"
        ))),
        None if containers.len() == 1 => Ok(containers[0].clone()),
        None => {
            let mut message = format!(
                "a container name must be specified for pod {pod_name}, choose one of: [{}]",
                containers.join(" ")
            );
            if !init.is_empty() {
                message.push_str(&format!(
                    " or one of the init containers: [{}]",
                    init.join(" ")
                ));
            }
            Err(ApiError::bad_request(message))
        }
    }
}

/// Why a container has no log yet, if it has none: not scheduled, or waiting to start.
fn waiting(pod: &Value, container: &str) -> Option<String> {
    if pod["spec"]["nodeName"].as_str().is_none_or(str::is_empty) {
        return Some("the pod is not scheduled to a node yet".into());
    }
    let statuses = ["containerStatuses", "initContainerStatuses"]
        .iter()
        .flat_map(|f| pod["status"][f].as_array().into_iter().flatten());
    let status = statuses.into_iter().find(|s| s["name"] == container);
    match status {
        None => Some("ContainerCreating".into()),
        Some(s) if s["state"]["waiting"].is_object() && s["lastState"]["terminated"].is_null() => {
            Some(
                s["state"]["waiting"]["reason"]
                    .as_str()
                    .unwrap_or("ContainerCreating")
                    .to_string(),
            )
        }
        Some(_) => None,
    }
}

/// The kubelet's query: the log options the client gave, checked as upstream checks them.
fn log_query(query: &str) -> Result<String, ApiError> {
    let mut out = Vec::new();
    for (name, check) in LOG_OPTIONS {
        let Some(v) = query_param(query, name) else {
            continue;
        };
        let ok = match check {
            Check::Bool => matches!(v, "true" | "false" | "1" | "0"),
            Check::AtLeast(min) => v.parse::<i64>().is_ok_and(|n| n >= *min),
            Check::Any => true,
        };
        if !ok {
            return Err(ApiError::bad_request(format!(
                "{name}: Invalid value: {v:?}"
            )));
        }
        out.push(format!("{name}={v}"));
    }
    Ok(if out.is_empty() {
        String::new()
    } else {
        format!("?{}", out.join("&"))
    })
}

/// Where a node's kubelet listens: its InternalIP (else any address) and daemon port.
fn kubelet_address(node: &Value) -> Option<String> {
    let port = node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"].as_i64()?;
    let addresses = node["status"]["addresses"].as_array()?;
    let ip = ["InternalIP", "ExternalIP", "Hostname"]
        .iter()
        .find_map(|t| {
            addresses
                .iter()
                .find(|a| a["type"] == *t)
                .and_then(|a| a["address"].as_str())
        })?;
    Some(format!("{ip}:{port}"))
}

/// GETs `path` from the kubelet at `addr` and streams its answer back as it comes.
async fn proxy(server: &Server, node: &str, addr: &str, path: &str) -> Result<Response, ApiError> {
    let connector = server.kubelet_client.as_ref().ok_or_else(|| {
        ApiError::bad_request(
            "the apiserver has no kubelet client certificate (--kubelet-client-certificate, --kubelet-client-key)",
        )
    })?;
    let unreachable = |e: String| {
        ApiError::internal(format!(
            "error dialing backend: the kubelet of node {node:?} at {addr}: {e}"
        ))
    };
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let name = ServerName::try_from(node.to_string()).map_err(|e| unreachable(e.to_string()))?;
    let tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let resp = crate::tlsclient::get(tls, addr, path, "kwb-apiserver")
        .await
        .map_err(unreachable)?;
    let status = resp.status();
    if !status.is_success() {
        let body = resp
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        return Err(ApiError::internal(format!(
            "the kubelet of node {node:?} answered {status}: {}",
            String::from_utf8_lossy(&body).trim()
        )));
    }
    Ok((
        StatusCode::OK,
        [("content-type", "text/plain")],
        axum::body::Body::new(resp.into_body()),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod() -> Value {
        json!({
            "metadata": {"name": "web"},
            "spec": {"nodeName": "n1", "containers": [{"name": "a"}, {"name": "b"}],
                "initContainers": [{"name": "init"}]},
            "status": {"containerStatuses": [
                {"name": "a", "state": {"running": {}}},
                {"name": "b", "state": {"waiting": {"reason": "ImagePullBackOff"}}, "lastState": {}},
            ]},
        })
    }

    #[test]
    fn the_container_is_named_or_the_only_one() {
        assert_eq!(container_of(&pod(), Some("a")).unwrap(), "a");
        assert_eq!(
            container_of(&pod(), None).unwrap_err().message,
            "a container name must be specified for pod web, choose one of: [a b] or one of the init containers: [init]"
        );
        assert_eq!(
            container_of(&pod(), Some("zz")).unwrap_err().message,
            "container zz is not valid for pod web"
        );
    }

    #[test]
    fn waiting_containers_and_bad_options_are_refused() {
        assert_eq!(waiting(&pod(), "a"), None);
        assert_eq!(waiting(&pod(), "b").as_deref(), Some("ImagePullBackOff"));
        assert_eq!(
            log_query("follow=true&tailLines=5&container=a").unwrap(),
            "?follow=true&tailLines=5"
        );
        assert!(log_query("tailLines=-1").is_err());
        assert!(log_query("sinceSeconds=0").is_err());
    }

    #[test]
    fn the_kubelet_is_found_from_the_nodes_status() {
        let node = json!({"status": {"addresses": [{"type": "Hostname", "address": "n1"},
            {"type": "InternalIP", "address": "127.0.0.1"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}}});
        assert_eq!(kubelet_address(&node).as_deref(), Some("127.0.0.1:10250"));
        assert_eq!(kubelet_address(&json!({})), None);
    }
}
