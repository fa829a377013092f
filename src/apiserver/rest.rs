//! The REST handlers: one fallback route parses the path, then get, list, create, update or
//! delete run on [`super::storage`] for the kind the path names.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::authn::User;
use super::status::ApiError;
use super::{MAJOR, MINOR, Server, discovery, storage};
use crate::kinds::{self, Kind, table};

pub fn router(server: Arc<Server>) -> axum::Router {
    axum::Router::new().fallback(handle).with_state(server)
}

/// The namespaces every cluster has.
const BOOTSTRAP_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public", "kube-node-lease"];

/// What the bootstrap objects need to know about this apiserver.
pub struct Bootstrap {
    /// The first address of the service range: the `kubernetes` Service's ClusterIP.
    pub kubernetes_ip: Option<std::net::Ipv4Addr>,
    /// Where the apiserver listens, for the `kubernetes` Endpoints.
    pub address: String,
    pub port: u16,
}

pub async fn bootstrap(server: &Server, b: &Bootstrap) -> Result<(), ApiError> {
    let ns = kinds::find("", "v1", "namespaces").expect("namespaces are a served kind");
    for name in BOOTSTRAP_NAMESPACES {
        if server.storage.get(ns, None, name).await?.is_none() {
            let obj = prepare_new(ns, None, json!({"metadata": {"name": name}}))?;
            match server.storage.create(ns, None, name, obj).await {
                Ok(_) => tracing::info!(namespace = name, "created bootstrap namespace"),
                Err(e) if e.reason == "AlreadyExists" => {}
                Err(e) => return Err(e),
            }
        }
    }
    // The `kubernetes` Service in default, and Endpoints that point at this apiserver, as
    // upstream keeps them (clients inside the cluster find the API through them).
    let svc = kinds::find("", "v1", "services").expect("services are a served kind");
    let ep = kinds::find("", "v1", "endpoints").expect("endpoints are a served kind");
    let labels = json!({"component": "apiserver", "provider": "kubernetes"});
    if let Some(ip) = b.kubernetes_ip
        && server
            .storage
            .get(svc, Some("default"), "kubernetes")
            .await?
            .is_none()
    {
        let obj = prepare_new(
            svc,
            Some("default"),
            json!({
                "metadata": {"name": "kubernetes", "labels": labels},
                "spec": {
                    "type": "ClusterIP", "clusterIP": ip.to_string(), "clusterIPs": [ip.to_string()],
                    "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
                    "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                    "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": b.port}],
                },
                "status": {"loadBalancer": {}},
            }),
        )?;
        if let Err(e) = server
            .storage
            .create(svc, Some("default"), "kubernetes", obj)
            .await
            && e.reason != "AlreadyExists"
        {
            return Err(e);
        }
    }
    let subsets = json!([{
        "addresses": [{"ip": b.address}],
        "ports": [{"name": "https", "port": b.port, "protocol": "TCP"}],
    }]);
    match server
        .storage
        .get(ep, Some("default"), "kubernetes")
        .await?
    {
        Some(current) if current["subsets"] == subsets => {}
        Some(current) => {
            // The apiserver's port may have changed since the last start.
            let mut obj = current.clone();
            obj["subsets"] = subsets;
            server
                .storage
                .update(ep, Some("default"), "kubernetes", rv_of(&current), obj)
                .await?;
        }
        None => {
            let obj = prepare_new(
                ep,
                Some("default"),
                json!({"metadata": {"name": "kubernetes", "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}}, "subsets": subsets}),
            )?;
            if let Err(e) = server
                .storage
                .create(ep, Some("default"), "kubernetes", obj)
                .await
                && e.reason != "AlreadyExists"
            {
                return Err(e);
            }
        }
    }
    Ok(())
}

fn json_response(code: StatusCode, body: &Value) -> Response {
    (
        code,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn handle(
    State(server): State<Arc<Server>>,
    Extension(user): Extension<Option<User>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(user) = user else {
        return ApiError::unauthorized().into_response();
    };
    let path = uri.path().trim_end_matches('/');
    let query = uri.query().unwrap_or("");
    let accept = headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::debug!(user = %user.name, %method, path, "request");
    let result = match (method.clone(), path) {
        (Method::GET, "/version") => Ok(json_response(
            StatusCode::OK,
            &json!({
                "major": MAJOR, "minor": MINOR,
                "gitVersion": format!("v{MAJOR}.{MINOR}.0-kwb.{}", env!("CARGO_PKG_VERSION")),
                "gitCommit": "", "gitTreeState": "clean", "buildDate": "",
                "goVersion": "n/a (kwb is written in Rust)", "compiler": "rustc",
                "platform": format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
            }),
        )),
        (Method::GET, "/healthz" | "/livez") => Ok("ok".into_response()),
        (Method::GET, "/readyz") => Ok(readyz(&server, query).await),
        (Method::GET, "/api") => Ok(discovery_response(accept, true)),
        (Method::GET, "/apis") => Ok(discovery_response(accept, false)),
        _ => resource(&server, &method, path, query, &headers, body).await,
    };
    result.unwrap_or_else(|e| e.into_response())
}

async fn readyz(server: &Server, query: &str) -> Response {
    let etcd = server.storage.ping().await;
    let verbose = query
        .split('&')
        .any(|p| p == "verbose" || p == "verbose=true");
    let mut text = String::new();
    if verbose {
        text.push_str("[+]ping ok\n[+]log ok\n");
        match &etcd {
            Ok(()) => text.push_str("[+]etcd ok\n"),
            Err(e) => text.push_str(&format!("[-]etcd failed: {e}\n")),
        }
    }
    match etcd {
        Ok(()) => {
            text.push_str(if verbose {
                "readyz check passed\n"
            } else {
                "ok"
            });
            (StatusCode::OK, text).into_response()
        }
        Err(_) => {
            text.push_str("readyz check failed\n");
            (StatusCode::INTERNAL_SERVER_ERROR, text).into_response()
        }
    }
}

fn discovery_response(accept: &str, core: bool) -> Response {
    if discovery::wants_aggregated(accept) {
        let body = discovery::aggregated(core).to_string();
        return (
            StatusCode::OK,
            [("content-type", discovery::AGGREGATED_V2)],
            body,
        )
            .into_response();
    }
    let body = if core {
        discovery::api_versions()
    } else {
        discovery::api_group_list()
    };
    json_response(StatusCode::OK, &body)
}

/// What a resource path names.
struct Target {
    kind: &'static Kind,
    namespace: Option<String>,
    name: Option<String>,
    /// `status` or `scale`.
    subresource: Option<String>,
}

/// Parses `/api/v1/...` and `/apis/<g>/<v>/...`; Err(response) for discovery documents.
fn parse(path: &str) -> Result<Result<Target, Value>, ApiError> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Err(ApiError::no_route()),
    };
    if rest.is_empty() {
        return discovery::resource_list(group, version)
            .map(Err)
            .ok_or_else(ApiError::no_route);
    }
    let find = |r: &str| kinds::find(group, version, r).ok_or_else(ApiError::no_route);
    let target = |kind, namespace: Option<&str>, name: Option<&str>, sub: Option<&str>| Target {
        kind,
        namespace: namespace.map(str::to_string),
        name: name.map(str::to_string),
        subresource: sub.map(str::to_string),
    };
    let target = match rest {
        [r] => target(find(r)?, None, None, None),
        ["namespaces", ns] if group.is_empty() => target(find("namespaces")?, None, Some(ns), None),
        ["namespaces", ns, sub @ ("status" | "finalize")] if group.is_empty() => {
            target(find("namespaces")?, None, Some(ns), Some(sub))
        }
        ["namespaces", ns, r] => target(find(r)?, Some(ns), None, None),
        ["namespaces", ns, r, name] => target(find(r)?, Some(ns), Some(name), None),
        ["namespaces", ns, r, name, sub] => target(find(r)?, Some(ns), Some(name), Some(sub)),
        [r, name] => target(find(r)?, None, Some(name), None),
        [r, name, sub] => target(find(r)?, None, Some(name), Some(sub)),
        _ => return Err(ApiError::no_route()),
    };
    let served = match target.subresource.as_deref() {
        None => true,
        Some("status") => kinds::has_status(target.kind),
        Some("scale") => kinds::has_scale(target.kind),
        Some(_) => false,
    };
    if !served {
        return Err(ApiError::no_route());
    }
    // A namespaced kind named without a namespace, or the reverse, is no route upstream either.
    if target.namespace.is_some() && !target.kind.namespaced {
        return Err(ApiError::no_route());
    }
    if target.name.is_some() && target.namespace.is_none() && target.kind.namespaced {
        return Err(ApiError::no_route());
    }
    Ok(Ok(target))
}

fn query_param<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                Ok(b) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                Err(_) => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn resource(
    server: &Server,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let t = match parse(path)? {
        Ok(t) => t,
        Err(list) => return Ok(json_response(StatusCode::OK, &list)),
    };
    let ns = t.namespace.as_deref();
    let accept = headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let table = accept.contains("as=Table");
    let dry_run = query_param(query, "dryRun").is_some();
    match (method, &t.name) {
        (&Method::GET, None) if matches!(query_param(query, "watch"), Some("true" | "1")) => {
            watch(server, t.kind, ns, query, table).await
        }
        (&Method::GET, None) => {
            let (mut items, rev) = server.storage.list(t.kind, ns).await?;
            if let Some(sel) = query_param(query, "labelSelector") {
                let sel = LabelSelector::parse(&percent_decode(sel))?;
                items.retain(|o| sel.matches(&o["metadata"]["labels"]));
            }
            if let Some(sel) = query_param(query, "fieldSelector") {
                let sel = FieldSelector::parse(&percent_decode(sel))?;
                items.retain(|o| sel.matches(o));
            }
            if table {
                let include = query_param(query, "includeObject").unwrap_or("Metadata");
                return Ok(json_response(
                    StatusCode::OK,
                    &to_table(t.kind, &items, rev, include),
                ));
            }
            Ok(json_response(
                StatusCode::OK,
                &json!({
                    "kind": format!("{}List", t.kind.kind),
                    "apiVersion": t.kind.api_version(),
                    "metadata": {"resourceVersion": rev.to_string()},
                    "items": items,
                }),
            ))
        }
        (&Method::GET, Some(name)) => {
            check_namespace(server, t.kind, ns).await?;
            let obj = server
                .storage
                .get(t.kind, ns, name)
                .await?
                .ok_or_else(|| ApiError::not_found(t.kind, name))?;
            if t.subresource.as_deref() == Some("scale") {
                return Ok(json_response(StatusCode::OK, &scale_of(&obj)));
            }
            if table {
                let rev = rv_of(&obj);
                let include = query_param(query, "includeObject").unwrap_or("Metadata");
                return Ok(json_response(
                    StatusCode::OK,
                    &to_table(t.kind, &[obj], rev, include),
                ));
            }
            Ok(json_response(StatusCode::OK, &obj))
        }
        (&Method::POST, None) => {
            let obj = decode_body(headers, &body)?;
            check_namespace(server, t.kind, ns).await?;
            let mut obj = prepare_new(t.kind, ns, obj)?;
            let name = obj["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if dry_run {
                obj["metadata"]["resourceVersion"] = "".into();
                return Ok(json_response(StatusCode::CREATED, &obj));
            }
            let created = server.storage.create(t.kind, ns, &name, obj).await?;
            tracing::info!(
                kind = t.kind.kind,
                namespace = ns.unwrap_or(""),
                name,
                "created"
            );
            Ok(json_response(StatusCode::CREATED, &created))
        }
        (&Method::PUT, Some(name)) => {
            let doc = decode_body(headers, &body)?;
            write_named(server, &t, name, Edit::Replace(doc), dry_run).await
        }
        (&Method::PATCH, Some(name)) => {
            let ct = headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let edit = match ct.split(';').next().unwrap_or("").trim() {
                "application/merge-patch+json" => Edit::MergePatch(parse_json(&body)?),
                "application/json-patch+json" => Edit::JsonPatch(parse_json(&body)?),
                other => return Err(ApiError::unsupported_patch(other)),
            };
            write_named(server, &t, name, edit, dry_run).await
        }
        (&Method::DELETE, Some(name)) => {
            let current = server
                .storage
                .get(t.kind, ns, name)
                .await?
                .ok_or_else(|| ApiError::not_found(t.kind, name))?;
            let rev: i64 = current["metadata"]["resourceVersion"]
                .as_str()
                .and_then(|r| r.parse().ok())
                .unwrap_or(0);
            if t.kind.kind == "Namespace" {
                // Upstream: a namespace turns Terminating and is removed once emptied by the
                // namespace controller (issue 6), so its deletion is recorded, not carried out.
                let mut obj = current.clone();
                if obj["metadata"]["deletionTimestamp"].is_null() {
                    obj["metadata"]["deletionTimestamp"] = now_rfc3339().into();
                    obj["status"]["phase"] = "Terminating".into();
                    let obj = if dry_run {
                        obj
                    } else {
                        server.storage.update(t.kind, ns, name, rev, obj).await?
                    };
                    return Ok(json_response(StatusCode::OK, &obj));
                }
                return Ok(json_response(StatusCode::OK, &obj));
            }
            if !dry_run {
                server.storage.delete(t.kind, ns, name, rev).await?;
                tracing::info!(
                    kind = t.kind.kind,
                    namespace = ns.unwrap_or(""),
                    name,
                    "deleted"
                );
            }
            Ok(json_response(
                StatusCode::OK,
                &json!({
                    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                    "details": {"name": name, "kind": t.kind.resource, "uid": current["metadata"]["uid"]},
                }),
            ))
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

/// A watch: `resourceVersion` absent or 0 (or `sendInitialEvents=true`) first sends ADDED for
/// what exists, then changes as etcd reports them, one JSON object per line; under the Table
/// Accept each object is a one-row Table. A compacted revision ends it with 410 Expired.
async fn watch(
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
        .map(|s| FieldSelector::parse(&percent_decode(s)))
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

/// A change to a named object (or its status or scale).
enum Edit {
    Replace(Value),
    MergePatch(Value),
    JsonPatch(Value),
}

fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))
}

fn rv_of(obj: &Value) -> i64 {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// The autoscaling/v1 Scale of an object with spec.replicas.
fn scale_of(obj: &Value) -> Value {
    let m = &obj["metadata"];
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": m["name"], "namespace": m["namespace"], "uid": m["uid"],
            "resourceVersion": m["resourceVersion"], "creationTimestamp": m["creationTimestamp"],
        },
        "spec": {"replicas": obj["spec"]["replicas"].as_i64().unwrap_or(1)},
        "status": {
            "replicas": obj["status"]["replicas"].as_i64().unwrap_or(0),
            "selector": obj["spec"]["selector"]["matchLabels"].as_object().map(|m| {
                m.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))).collect::<Vec<_>>().join(",")
            }).unwrap_or_default(),
        },
    })
}

/// Replaces or patches a named object, its status or its scale. A patch that carries no
/// resourceVersion is applied again to the newest object when it lost a race (upstream does
/// the same); a replace that names an old resourceVersion gets 409.
async fn write_named(
    server: &Server,
    t: &Target,
    name: &str,
    edit: Edit,
    dry_run: bool,
) -> Result<Response, ApiError> {
    let ns = t.namespace.as_deref();
    let sub = t.subresource.as_deref();
    for _attempt in 0..5 {
        let current = server
            .storage
            .get(t.kind, ns, name)
            .await?
            .ok_or_else(|| ApiError::not_found(t.kind, name))?;
        // The document the edit applies to: the object, or its Scale.
        let base = if sub == Some("scale") {
            scale_of(&current)
        } else {
            current.clone()
        };
        let (doc, explicit_rv) = match &edit {
            Edit::Replace(doc) => (doc.clone(), true),
            Edit::MergePatch(p) => {
                let mut d = base.clone();
                super::patch::merge_patch(&mut d, p);
                (d, p["metadata"]["resourceVersion"].is_string())
            }
            Edit::JsonPatch(p) => {
                let mut d = base.clone();
                super::patch::json_patch(&mut d, p).map_err(ApiError::unprocessable_patch)?;
                (d, false)
            }
        };
        let expected = match doc["metadata"]["resourceVersion"].as_str() {
            Some(rv) if explicit_rv && !rv.is_empty() => rv.parse().map_err(|_| {
                ApiError::bad_request(format!(
                    "metadata.resourceVersion {rv:?} is not a resource version"
                ))
            })?,
            _ => rv_of(&current),
        };
        let mut new = match sub {
            None => prepare_update(t.kind, name, &current, doc)?,
            Some("status") => {
                let mut new = current.clone();
                new["status"] = doc["status"].clone();
                new
            }
            Some("scale") => {
                let replicas = doc["spec"]["replicas"].as_i64().ok_or_else(|| {
                    ApiError::invalid(
                        t.kind,
                        name,
                        vec![("spec.replicas".into(), "Required value".into())],
                    )
                })?;
                if replicas < 0 {
                    return Err(ApiError::invalid(
                        t.kind,
                        name,
                        vec![(
                            "spec.replicas".into(),
                            format!(
                                "Invalid value: {replicas}: must be greater than or equal to 0"
                            ),
                        )],
                    ));
                }
                let mut new = current.clone();
                new["spec"]["replicas"] = replicas.into();
                new
            }
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "subresource {other} cannot be written"
                )));
            }
        };
        if kinds::has_generation(t.kind) && new["spec"] != current["spec"] {
            let g = current["metadata"]["generation"].as_i64().unwrap_or(1);
            new["metadata"]["generation"] = (g + 1).into();
        }
        let reply = |o: &Value| {
            if sub == Some("scale") {
                scale_of(o)
            } else {
                o.clone()
            }
        };
        if dry_run {
            return Ok(json_response(StatusCode::OK, &reply(&new)));
        }
        match server.storage.update(t.kind, ns, name, expected, new).await {
            Ok(saved) => {
                tracing::info!(
                    kind = t.kind.kind,
                    namespace = ns.unwrap_or(""),
                    name,
                    subresource = sub.unwrap_or(""),
                    "updated"
                );
                return Ok(json_response(StatusCode::OK, &reply(&saved)));
            }
            Err(e)
                if e.reason == "Conflict" && !explicit_rv && !matches!(edit, Edit::Replace(_)) =>
            {
                continue;
            }
            Err(e) => return Err(e),
        }
    }
    Err(ApiError::conflict(t.kind, name))
}

/// A namespaced request needs its namespace to exist (upstream's NamespaceLifecycle).
async fn check_namespace(server: &Server, kind: &Kind, ns: Option<&str>) -> Result<(), ApiError> {
    let Some(ns) = ns else { return Ok(()) };
    if !kind.namespaced {
        return Ok(());
    }
    let nskind = kinds::find("", "v1", "namespaces").expect("namespaces are a served kind");
    match server.storage.get(nskind, None, ns).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found(nskind, ns)),
    }
}

fn decode_body(headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    if ct.contains("protobuf") {
        return Err(ApiError::unsupported_media_type(ct));
    }
    let value: Value = if ct.contains("yaml") {
        let text = std::str::from_utf8(body)
            .map_err(|e| ApiError::bad_request(format!("body is not UTF-8: {e}")))?;
        serde_saphyr::from_str(text)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding JSON: {e}")))?
    };
    if !value.is_object() {
        return Err(ApiError::bad_request("the body is not an object"));
    }
    Ok(value)
}

fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A random RFC 4122 version-4 UUID.
fn new_uid() -> String {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .expect("the system random source works");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn random_suffix() -> String {
    use ring::rand::SecureRandom;
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut b = [0u8; 5];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .expect("the system random source works");
    b.iter()
        .map(|x| ALPHABET[*x as usize % ALPHABET.len()] as char)
        .collect()
}

const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

/// Validates a name as the kind requires; the causes of a 422.
fn validate_name(kind: &Kind, name: &str) -> Vec<(String, String)> {
    let (ok, msg) = if kind.kind == "Namespace" {
        (kinds::is_dns_label(name), LABEL_MSG)
    } else {
        (kinds::is_dns_subdomain(name), SUBDOMAIN_MSG)
    };
    if ok {
        vec![]
    } else {
        vec![(
            "metadata.name".into(),
            format!("Invalid value: {name:?}: {msg}"),
        )]
    }
}

/// Fills in what the server owns on create: name (from generateName), namespace, uid,
/// creationTimestamp, apiVersion and kind; checks the name and the body's kind.
fn prepare_new(kind: &Kind, ns: Option<&str>, mut obj: Value) -> Result<Value, ApiError> {
    check_type(kind, &obj)?;
    let meta = &mut obj["metadata"];
    if !meta.is_object() {
        *meta = json!({});
    }
    let name = match (meta["name"].as_str(), meta["generateName"].as_str()) {
        (Some(n), _) if !n.is_empty() => n.to_string(),
        (_, Some(g)) if !g.is_empty() => format!("{g}{}", random_suffix()),
        _ => {
            return Err(ApiError::invalid(
                kind,
                "",
                vec![(
                    "metadata.name".into(),
                    "Required value: name or generateName is required".into(),
                )],
            ));
        }
    };
    let causes = validate_name(kind, &name);
    if !causes.is_empty() {
        return Err(ApiError::invalid(kind, &name, causes));
    }
    if let Some(ns) = ns {
        match meta["namespace"].as_str() {
            Some(other) if !other.is_empty() && other != ns => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            _ => meta["namespace"] = ns.into(),
        }
    }
    meta["name"] = name.into();
    meta["uid"] = new_uid().into();
    meta["creationTimestamp"] = now_rfc3339().into();
    if let Some(m) = meta.as_object_mut() {
        m.remove("resourceVersion");
        m.remove("deletionTimestamp");
    }
    drop_empty_metadata(&mut obj);
    obj["apiVersion"] = kind.api_version().into();
    obj["kind"] = kind.kind.into();
    if kind.kind == "Namespace" {
        obj["spec"]["finalizers"] = json!(["kubernetes"]);
        obj["status"] = json!({"phase": "Active"});
    }
    if kinds::has_generation(kind) {
        obj["metadata"]["generation"] = 1.into();
    }
    if kind.kind == "Secret" && obj["type"].is_null() {
        obj["type"] = "Opaque".into();
    }
    Ok(obj)
}

/// The new object of an update: what the server owns is kept from the current one.
fn prepare_update(
    kind: &Kind,
    name: &str,
    current: &Value,
    mut new: Value,
) -> Result<Value, ApiError> {
    check_type(kind, &new)?;
    if new["metadata"]["name"].as_str() != Some(name) {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({}) does not match the name on the URL ({name})",
            new["metadata"]["name"].as_str().unwrap_or("")
        )));
    }
    for field in ["uid", "creationTimestamp", "namespace", "deletionTimestamp"] {
        new["metadata"][field] = current["metadata"][field].clone();
    }
    if let Some(m) = new["metadata"].as_object_mut() {
        m.retain(|_, v| !v.is_null());
    }
    new["apiVersion"] = kind.api_version().into();
    new["kind"] = kind.kind.into();
    drop_empty_metadata(&mut new);
    if kinds::has_status(kind) {
        // Status belongs to the status subresource; the main resource ignores it.
        new["status"] = current["status"].clone();
    }
    if let Some(g) = current["metadata"]["generation"].as_i64() {
        new["metadata"]["generation"] = g.into();
    }
    Ok(new)
}

/// Empty metadata maps and lists are left out, as upstream's typed objects serialise them
/// (`omitempty`): removing the last label leaves no `labels: {}` behind.
fn drop_empty_metadata(obj: &mut Value) {
    if let Some(m) = obj["metadata"].as_object_mut() {
        for field in ["labels", "annotations", "finalizers", "ownerReferences"] {
            let empty = match m.get(field) {
                Some(Value::Object(o)) => o.is_empty(),
                Some(Value::Array(a)) => a.is_empty(),
                Some(Value::Null) => true,
                _ => false,
            };
            if empty {
                m.remove(field);
            }
        }
    }
}

/// A body's apiVersion and kind, when given, must be the URL's.
fn check_type(kind: &Kind, obj: &Value) -> Result<(), ApiError> {
    let api_version = obj["apiVersion"].as_str().unwrap_or("");
    let k = obj["kind"].as_str().unwrap_or("");
    if (!api_version.is_empty() && api_version != kind.api_version())
        || (!k.is_empty() && k != kind.kind)
    {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({})",
            kind.api_version()
        )));
    }
    Ok(())
}

fn to_table(kind: &Kind, items: &[Value], rev: i64, include: &str) -> Value {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let columns: Vec<Value> = table::columns(kind)
        .iter()
        .map(|c| json!({"name": c.name, "type": c.r#type, "format": c.format, "description": c.description, "priority": c.priority}))
        .collect();
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            let mut row = json!({"cells": table::cells(kind, o, now)});
            match include {
                "None" => {}
                "Object" => row["object"] = o.clone(),
                _ => {
                    row["object"] = json!({
                        "kind": "PartialObjectMetadata",
                        "apiVersion": "meta.k8s.io/v1",
                        "metadata": o["metadata"],
                    })
                }
            }
            row
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": rev.to_string()},
        "columnDefinitions": columns,
        "rows": rows,
    })
}

/// Label selectors: `a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`, `a notin (x,y)`.
struct LabelSelector(Vec<Requirement>);

enum Requirement {
    Eq(String, String),
    NotEq(String, String),
    Exists(String),
    NotExists(String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
}

impl LabelSelector {
    fn parse(s: &str) -> Result<LabelSelector, ApiError> {
        let mut reqs = Vec::new();
        // Split on commas outside parentheses.
        let mut parts = Vec::new();
        let (mut depth, mut start) = (0, 0);
        for (i, c) in s.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(&s[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        parts.push(&s[start..]);
        let bad =
            |p: &str| ApiError::bad_request(format!("unable to parse requirement: found {p:?}"));
        for p in parts.into_iter().map(str::trim).filter(|p| !p.is_empty()) {
            let set = |rest: &str| -> Option<Vec<String>> {
                let inner = rest.trim().strip_prefix('(')?.strip_suffix(')')?;
                Some(inner.split(',').map(|v| v.trim().to_string()).collect())
            };
            let req = if let Some((k, v)) = p.split_once("!=") {
                Requirement::NotEq(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = p.split_once("==").or_else(|| p.split_once('=')) {
                Requirement::Eq(k.trim().into(), v.trim().into())
            } else if let Some((k, rest)) = p.split_once(" notin ") {
                Requirement::NotIn(k.trim().into(), set(rest).ok_or_else(|| bad(p))?)
            } else if let Some((k, rest)) = p.split_once(" in ") {
                Requirement::In(k.trim().into(), set(rest).ok_or_else(|| bad(p))?)
            } else if let Some(k) = p.strip_prefix('!') {
                Requirement::NotExists(k.trim().into())
            } else if !p.contains(' ') {
                Requirement::Exists(p.into())
            } else {
                return Err(bad(p));
            };
            reqs.push(req);
        }
        Ok(LabelSelector(reqs))
    }

    fn matches(&self, labels: &Value) -> bool {
        let get = |k: &str| labels.get(k).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            Requirement::Eq(k, v) => get(k) == Some(v.as_str()),
            Requirement::NotEq(k, v) => get(k) != Some(v.as_str()),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::NotExists(k) => get(k).is_none(),
            Requirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::NotIn(k, vs) => get(k).is_none_or(|x| vs.iter().all(|v| v != x)),
        })
    }
}

/// Field selectors every kind supports: metadata.name and metadata.namespace, = and !=.
struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    fn parse(s: &str) -> Result<FieldSelector, ApiError> {
        let mut out = Vec::new();
        for p in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, eq, v) = if let Some((k, v)) = p.split_once("!=") {
                (k, false, v)
            } else if let Some((k, v)) = p.split_once("==").or_else(|| p.split_once('=')) {
                (k, true, v)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid field selector: {p:?}"
                )));
            };
            if k != "metadata.name" && k != "metadata.namespace" {
                return Err(ApiError::bad_request(format!(
                    "field label not supported: {k}"
                )));
            }
            out.push((k.to_string(), eq, v.to_string()));
        }
        Ok(FieldSelector(out))
    }

    fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(k, eq, v)| {
            let field = k.strip_prefix("metadata.").unwrap_or(k);
            let actual = obj["metadata"][field].as_str().unwrap_or("");
            (actual == v) == *eq
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_selectors_match_as_kubectl_means_them() {
        let labels = json!({"app": "web", "tier": "fe"});
        let m = |s: &str| LabelSelector::parse(s).unwrap().matches(&labels);
        assert!(m("app=web"));
        assert!(m("app==web,tier"));
        assert!(!m("app!=web"));
        assert!(m("!missing"));
        assert!(m("app in (web,db)"));
        assert!(!m("tier notin (fe)"));
        assert!(m(""));
        assert!(LabelSelector::parse("app in web").is_err());
    }

    #[test]
    fn paths_name_kinds_namespaces_and_names() {
        let t = parse("/api/v1/namespaces/default/configmaps/x")
            .unwrap()
            .ok()
            .unwrap();
        assert_eq!(
            (t.kind.resource, t.namespace.as_deref(), t.name.as_deref()),
            ("configmaps", Some("default"), Some("x"))
        );
        let t = parse("/api/v1/namespaces/kube-system")
            .unwrap()
            .ok()
            .unwrap();
        assert_eq!(
            (t.kind.resource, t.name.as_deref()),
            ("namespaces", Some("kube-system"))
        );
        let t = parse("/api/v1/configmaps").unwrap().ok().unwrap();
        assert_eq!((t.kind.resource, t.namespace), ("configmaps", None));
        assert!(parse("/api/v1").unwrap().is_err(), "the resource list");
        assert!(parse("/api/v1/widgets").is_err());
        assert!(parse("/api/v1/namespaces/default/namespaces").is_err());
        assert!(
            parse("/api/v1/configmaps/x").is_err(),
            "a namespaced object needs a namespace"
        );
    }

    #[test]
    fn names_are_validated_as_upstream_words_it() {
        let ns = kinds::find("", "v1", "namespaces").unwrap();
        let cm = kinds::find("", "v1", "configmaps").unwrap();
        assert!(validate_name(ns, "kube-system").is_empty());
        assert!(
            !validate_name(ns, "a.b").is_empty(),
            "namespaces are labels"
        );
        assert!(validate_name(cm, "a.b").is_empty());
        let c = validate_name(cm, "Bad_Name");
        assert!(
            c[0].1
                .starts_with("Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain")
        );
    }

    #[test]
    fn query_values_are_percent_decoded() {
        assert_eq!(percent_decode("app%3Dweb%2Ctier"), "app=web,tier");
        assert_eq!(percent_decode("a+b"), "a b");
        assert_eq!(percent_decode("bad%zz%"), "bad%zz%");
    }

    #[test]
    fn uids_are_v4_and_generated_names_are_unique() {
        let u = new_uid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_ne!(random_suffix(), random_suffix());
    }
}
