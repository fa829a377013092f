//! Watches: a stream of ADDED, MODIFIED, DELETED, BOOKMARK and ERROR events, one JSON object
//! per line.

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::Server;
use super::rest::{percent_decode, query_param, to_table};
use super::selector::{FieldSelector, LabelSelector};
use super::status::ApiError;
use super::storage;
use crate::kinds::Kind;

/// A watch: `resourceVersion` absent or 0 (or `sendInitialEvents=true`) first sends ADDED for
/// what exists, then changes as etcd reports them, one JSON object per line; under the Table
/// Accept each object is a one-row Table. A compacted revision ends it with 410 Expired.
pub async fn watch(
    server: &Server,
    kind: &'static Kind,
    ns: Option<&str>,
    query: &str,
    table: bool,
) -> Result<Response, ApiError> {
    use futures::StreamExt;
    use storage::Change;

    let labels = query_param(query, "labelSelector")
        .map(|s| LabelSelector::parse(&percent_decode(s)))
        .transpose()?;
    let fields = query_param(query, "fieldSelector")
        .map(|s| FieldSelector::parse(kind, &percent_decode(s)))
        .transpose()?;
    let selected = move |o: &Value| {
        labels
            .as_ref()
            .is_none_or(|l| l.matches(&o["metadata"]["labels"]))
            && fields.as_ref().is_none_or(|f| f.matches(o))
    };
    let rv = query_param(query, "resourceVersion").unwrap_or("");
    let send_initial = query_param(query, "sendInitialEvents") == Some("true");
    let bookmarks = matches!(
        query_param(query, "allowWatchBookmarks"),
        Some("true" | "1")
    );
    let timeout = query_param(query, "timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or(1800);
    let (initial, after) = if rv.is_empty() || rv == "0" || send_initial {
        let (items, rev) = server.storage.list(kind, ns).await?;
        (items, rev)
    } else {
        let rev = rv
            .parse()
            .map_err(|_| ApiError::bad_request(format!("invalid resource version {rv:?}")))?;
        (Vec::new(), rev)
    };
    let encode = move |event: &str, obj: &Value| {
        let object = if table && event != "BOOKMARK" && event != "ERROR" {
            to_table(kind, std::slice::from_ref(obj), 0, "Metadata")
        } else {
            obj.clone()
        };
        let mut line = json!({"type": event, "object": object}).to_string();
        line.push('\n');
        Ok::<_, std::convert::Infallible>(Bytes::from(line))
    };
    let mut first: Vec<Result<Bytes, std::convert::Infallible>> = initial
        .iter()
        .filter(|o| selected(o))
        .map(|o| encode("ADDED", o))
        .collect();
    if send_initial && bookmarks {
        let mark = json!({
            "kind": kind.kind, "apiVersion": kind.api_version(),
            "metadata": {"resourceVersion": after.to_string(), "annotations": {"k8s.io/initial-events-end": "true"}},
        });
        first.push(encode("BOOKMARK", &mark));
    }
    let changes = storage::until_expired(server.storage.watch(kind, ns, after).await?);
    let later = changes
        .flat_map(move |batch| {
            let lines: Vec<Result<Bytes, std::convert::Infallible>> = match batch {
                Ok(changes) => changes
                    .into_iter()
                    .filter_map(|c| {
                        let (event, obj) = match c {
                            Change::Added(o) => ("ADDED", o),
                            Change::Modified(o) => ("MODIFIED", o),
                            Change::Deleted(o) => ("DELETED", o),
                        };
                        selected(&obj).then(|| encode(event, &obj))
                    })
                    .collect(),
                Err(e) => {
                    let status = json!({
                        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                        "message": format!("too old resource version: {} ({})", e.requested, e.compacted),
                        "reason": "Expired", "code": 410,
                    });
                    vec![encode("ERROR", &status)]
                }
            };
            futures::stream::iter(lines)
        })
        .take_until(tokio::time::sleep(std::time::Duration::from_secs(timeout)));
    let body = axum::body::Body::from_stream(futures::stream::iter(first).chain(later));
    let content_type = "application/json";
    Ok((StatusCode::OK, [("content-type", content_type)], body).into_response())
}
