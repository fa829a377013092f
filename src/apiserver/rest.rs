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
use super::strategy::{prepare_new, prepare_update};
use super::watch::watch;
use super::{MAJOR, MINOR, Server, discovery};
use crate::kinds::{self, Kind, table};

/// The largest request body accepted, as upstream's 3 MiB (etcd's own limit is 1.5 MiB per
/// value; this leaves room for patches and envelopes).
const MAX_BODY: usize = 3 * 1024 * 1024;

pub fn router(server: Arc<Server>) -> axum::Router {
    axum::Router::new()
        .fallback(handle)
        // The handler enforces MAX_BODY itself, answering with a Status kubectl can print.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(server)
}

/// The request body, or 413 with a Status when it is larger than MAX_BODY. The rest of an
/// oversized body is read and dropped (up to a bound) so that the client, still sending,
/// gets to read the answer: over HTTP/2 an early answer is otherwise lost in a stream reset.
async fn read_body(body: axum::body::Body) -> Result<Bytes, ApiError> {
    use http_body_util::BodyExt;
    const DRAIN_AT_MOST: usize = 64 * 1024 * 1024;
    let mut body = body;
    let mut buf = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| ApiError::bad_request(format!("reading the request body: {e}")))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen += data.len();
        if seen <= MAX_BODY {
            buf.extend_from_slice(&data);
        } else if seen > DRAIN_AT_MOST {
            break;
        }
    }
    if seen > MAX_BODY {
        return Err(ApiError::too_large(MAX_BODY));
    }
    Ok(Bytes::from(buf))
}

pub fn json_response(code: StatusCode, body: &Value) -> Response {
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
    body: axum::body::Body,
) -> Response {
    let user = match user {
        Some(u) => u,
        None => match bearer_token(&headers) {
            Some(token) => match super::reviews::authenticate_token(&server, token).await {
                Ok(u) => u,
                Err(e) => {
                    tracing::info!(error = %e, "bearer token refused");
                    return ApiError::unauthorized().into_response();
                }
            },
            None => return ApiError::unauthorized().into_response(),
        },
    };
    let path = uri.path().trim_end_matches('/');
    let query = uri.query().unwrap_or("");
    let user = match super::authz::impersonated(&server, user, &headers).await {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    let info = super::authz::request_info(&method, path, query);
    let attrs = info.attributes(&user);
    let decision = server.authz.authorize(&server, &attrs).await;
    if !decision.allowed {
        tracing::info!(user = %user.name, verb = info.verb, path, "forbidden");
        return super::authz::forbidden(&attrs, &decision).into_response();
    }
    let body = match read_body(body).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
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
                "gitVersion": super::git_version(),
                "gitCommit": "", "gitTreeState": "clean", "buildDate": "",
                "goVersion": "n/a (kwb is written in Rust)", "compiler": "rustc",
                "platform": format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
            }),
        )),
        (Method::GET, "/healthz" | "/livez") => Ok("ok".into_response()),
        (Method::GET, "/readyz") => Ok(readyz(&server, query).await),
        (Method::GET, "/openapi/v3") => Ok(json_response(StatusCode::OK, &super::openapi::index())),
        (Method::GET, p) if p.starts_with("/openapi/v3/") => {
            match super::openapi::document_at(&p["/openapi/v3/".len()..]) {
                Some(doc) => Ok((
                    StatusCode::OK,
                    [("content-type", "application/json")],
                    axum::body::Body::from(doc),
                )
                    .into_response()),
                None => Err(ApiError::no_route()),
            }
        }
        (Method::GET, "/api") => Ok(discovery_response(accept, true)),
        (Method::GET, "/apis") => Ok(discovery_response(accept, false)),
        _ => resource(&server, &user, &method, path, query, &headers, body).await,
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
        ["apis", g] => {
            return discovery::api_group(g)
                .map(Err)
                .ok_or_else(ApiError::no_route);
        }
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
        Some(name) => kinds::subresource(target.kind, name).is_some(),
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

pub fn query_param<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

pub fn percent_decode(s: &str) -> String {
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

/// The token of an `Authorization: Bearer …` header.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
}

async fn resource(
    server: &Server,
    user: &User,
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
    let manager = super::managed::manager(
        query_param(query, "fieldManager")
            .map(percent_decode)
            .as_deref(),
        headers.get("user-agent").and_then(|v| v.to_str().ok()),
    );
    let write = Write {
        dry_run,
        duplicates: super::fieldvalidation::duplicates(&body),
        manager: &manager,
        validation: super::fieldvalidation::Mode::from_query(query_param(
            query,
            "fieldValidation",
        ))?,
    };
    match (method, &t.name) {
        (_, Some(name))
            if matches!(
                t.subresource.as_deref(),
                Some("log" | "exec" | "attach" | "portforward")
            ) =>
        {
            super::streams::stream(
                server,
                ns.unwrap_or("default"),
                name,
                t.subresource.as_deref().unwrap_or(""),
                query,
            )
            .await
        }
        (&Method::GET, None) if matches!(query_param(query, "watch"), Some("true" | "1")) => {
            watch(server, t.kind, ns, query, table).await
        }
        (&Method::GET, None) => super::list::list(server, t.kind, ns, query, table).await,
        (&Method::GET, Some(name)) => {
            check_namespace(server, t.kind, ns).await?;
            let mut obj = server
                .storage
                .get(t.kind, ns, name)
                .await?
                .ok_or_else(|| ApiError::not_found(t.kind, name))?;
            super::crds::served_as(t.kind, &mut obj);
            if t.subresource.as_deref() == Some("scale") {
                return Ok(json_response(StatusCode::OK, &scale_of(t.kind, &obj)));
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
        (&Method::POST, None) if kinds::is_review(t.kind) => {
            let review = decode_body(headers, &body)?;
            let answer = super::reviews::answer(server, t.kind, user, review).await?;
            Ok(json_response(StatusCode::CREATED, &answer))
        }
        (_, _) if kinds::is_review(t.kind) => Err(ApiError::method_not_allowed()),
        (&Method::POST, Some(name)) if t.subresource.as_deref() == Some("token") => {
            let request = decode_body(headers, &body)?;
            let answer =
                super::reviews::token_request(server, ns.unwrap_or("default"), name, request)
                    .await?;
            Ok(json_response(StatusCode::CREATED, &answer))
        }
        (&Method::POST, Some(name)) if t.subresource.as_deref() == Some("binding") => {
            let binding = decode_body(headers, &body)?;
            super::pods::bind(server, ns.unwrap_or("default"), name, &binding).await
        }
        (&Method::POST, Some(name)) if t.subresource.as_deref() == Some("eviction") => {
            let eviction = decode_body(headers, &body)?;
            super::pods::evict(server, ns.unwrap_or("default"), name, &eviction).await
        }
        (&Method::POST, None) => {
            let obj = decode_body(headers, &body)?;
            create_object(server, &t, obj, &write, Fields::Update(&manager)).await
        }
        (&Method::PUT, Some(name)) => {
            let doc = decode_body(headers, &body)?;
            write_named(server, &t, name, Edit::Replace(doc), &write).await
        }
        (&Method::PATCH, Some(name)) => {
            let ct = headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let strategic = kinds::is_builtin(t.kind);
            let edit = match ct.split(';').next().unwrap_or("").trim() {
                "application/merge-patch+json" => Edit::MergePatch(parse_json(&body)?),
                "application/json-patch+json" => Edit::JsonPatch(parse_json(&body)?),
                "application/strategic-merge-patch+json" if strategic => {
                    Edit::StrategicPatch(parse_json(&body)?)
                }
                "application/apply-patch+yaml" => {
                    if query_param(query, "fieldManager").is_none_or(str::is_empty) {
                        return Err(ApiError::bad_request(
                            "PATCH requests with apply-patch need fieldManager",
                        ));
                    }
                    Edit::Apply {
                        config: parse_apply(&body)?,
                        force: query_param(query, "force") == Some("true"),
                    }
                }
                other => return Err(ApiError::unsupported_patch(other, strategic)),
            };
            write_named(server, &t, name, edit, &write).await
        }
        (&Method::DELETE, Some(name)) if t.subresource.is_none() => {
            let opts = super::delete::Options::parse(&body, query)?;
            super::delete::delete(server, t.kind, ns, name, &opts).await
        }
        (&Method::DELETE, None) => {
            let opts = super::delete::Options::parse(&body, query)?;
            super::delete::delete_collection(server, t.kind, ns, query, &opts).await
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

/// A change to a named object (or its status or scale).
enum Edit {
    Replace(Value),
    MergePatch(Value),
    JsonPatch(Value),
    StrategicPatch(Value),
    /// Server-side apply of a configuration; `force` takes conflicting fields over.
    Apply {
        config: Value,
        force: bool,
    },
}

/// Who a create records as the owner of the object's fields.
enum Fields<'a> {
    /// An ordinary write by this manager (operation Update).
    Update(&'a str),
    /// A server-side apply that creates the object: its Apply entry is already recorded.
    Applied,
}

/// An apply configuration: YAML (of which JSON, what kubectl sends, is a part) for one object.
fn parse_apply(body: &[u8]) -> Result<Value, ApiError> {
    let config = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => parse_yaml(body)?,
    };
    if !config.is_object() {
        return Err(ApiError::bad_request(
            "an apply configuration must be one object with apiVersion, kind and metadata.name",
        ));
    }
    Ok(config)
}

/// Creates an object from a POST, or from a server-side apply to a name that does not exist.
async fn create_object(
    server: &Server,
    t: &Target,
    mut obj: Value,
    w: &Write<'_>,
    fields: Fields<'_>,
) -> Result<Response, ApiError> {
    let warnings = super::fieldvalidation::check(t.kind, &mut obj, w.validation, &w.duplicates)?;
    let created = create_checked(server, t, obj, w.dry_run, fields).await?;
    Ok(with_warnings(created, &warnings))
}

/// What every write request says besides its body.
struct Write<'a> {
    dry_run: bool,
    /// Fields the body gives twice, for field validation.
    duplicates: Vec<String>,
    manager: &'a str,
    validation: super::fieldvalidation::Mode,
}

/// Adds `Warning: 299 - "…"` headers, which kubectl prints as `Warning: …`.
fn with_warnings(mut resp: Response, warnings: &[String]) -> Response {
    for w in warnings {
        let text = format!("299 - {}", serde_json::Value::from(w.as_str()));
        if let Ok(v) = axum::http::HeaderValue::from_str(&text) {
            resp.headers_mut().append("warning", v);
        }
    }
    resp
}

async fn create_checked(
    server: &Server,
    t: &Target,
    obj: Value,
    dry_run: bool,
    fields: Fields<'_>,
) -> Result<Response, ApiError> {
    let ns = t.namespace.as_deref();
    if let Some(namespace) = check_namespace(server, t.kind, ns).await?
        && !namespace["metadata"]["deletionTimestamp"].is_null()
    {
        return Err(ApiError::forbidden(format!(
            "{} \"{}\" is forbidden: unable to create new content in namespace {} because it is being terminated",
            t.kind.resource,
            obj["metadata"]["name"].as_str().unwrap_or(""),
            ns.unwrap_or("")
        )));
    }
    let mut obj = prepare_new(t.kind, ns, obj)?;
    if t.kind.kind == "Pod" {
        super::pods::admit(server, ns.unwrap_or("default"), &mut obj).await?;
    }
    let now = obj["metadata"]["creationTimestamp"]
        .as_str()
        .unwrap_or("")
        .to_string();
    if let Fields::Update(manager) = fields {
        super::managed::record(None, &mut obj, manager, false, &now);
    }
    let name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if t.kind.kind == "Service" {
        let mut created =
            super::allocator::create(server, t.kind, ns.unwrap_or("default"), &name, obj, dry_run)
                .await?;
        if dry_run {
            created["metadata"]["resourceVersion"] = "".into();
        }
        return Ok(json_response(StatusCode::CREATED, &created));
    }
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
    if super::crds::is_definition(t.kind) {
        super::crds::sync(server).await?;
    }
    Ok(json_response(StatusCode::CREATED, &created))
}

fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))
}

pub fn rv_of(obj: &Value) -> i64 {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// The autoscaling/v1 Scale of an object with spec.replicas.
fn scale_of(kind: &Kind, obj: &Value) -> Value {
    let m = &obj["metadata"];
    if let Some((spec, status, selector)) = super::crds::scale_of(kind, obj) {
        return json!({
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                "name": m["name"], "namespace": m["namespace"], "uid": m["uid"],
                "resourceVersion": m["resourceVersion"], "creationTimestamp": m["creationTimestamp"],
            },
            "spec": {"replicas": spec},
            "status": {"replicas": status, "selector": selector},
        });
    }
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
    w: &Write<'_>,
) -> Result<Response, ApiError> {
    let mut warnings = Vec::new();
    let written = write_checked(server, t, name, edit, w, &mut warnings).await?;
    Ok(with_warnings(written, &warnings))
}

/// [`write_named`]; `warnings` gets what field validation warns about.
async fn write_checked(
    server: &Server,
    t: &Target,
    name: &str,
    edit: Edit,
    w: &Write<'_>,
    warnings: &mut Vec<String>,
) -> Result<Response, ApiError> {
    let ns = t.namespace.as_deref();
    let sub = t.subresource.as_deref();
    let (dry_run, manager) = (w.dry_run, w.manager);
    for _attempt in 0..5 {
        warnings.clear();
        let Some(current) = server.storage.get(t.kind, ns, name).await? else {
            return match &edit {
                // An apply to a name that does not exist creates it.
                Edit::Apply { config, .. } if sub.is_none() => {
                    let obj = apply_config(t, name, &json!({}), config, true, w, warnings)?;
                    create_object(server, t, obj, w, Fields::Applied).await
                }
                _ => Err(ApiError::not_found(t.kind, name)),
            };
        };
        // The document the edit applies to: the object, or its Scale.
        let base = if sub == Some("scale") {
            scale_of(t.kind, &current)
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
            Edit::StrategicPatch(p) => {
                let mut d = base.clone();
                super::smp::strategic_merge_patch(&mut d, p)
                    .map_err(ApiError::unprocessable_patch)?;
                (d, p["metadata"]["resourceVersion"].is_string())
            }
            Edit::Apply { config, force } => {
                if sub == Some("scale") {
                    return Err(ApiError::bad_request(
                        "server-side apply to the scale subresource is not supported; apply the object's spec.replicas",
                    ));
                }
                let d = apply_config(t, name, &base, config, *force, w, warnings)?;
                (d, config["metadata"]["resourceVersion"].is_string())
            }
        };
        let applied = matches!(edit, Edit::Apply { .. });
        let mut doc = doc;
        if sub.is_none() {
            // An apply's body was checked as its configuration, duplicates included.
            let duplicates = if applied { &[][..] } else { &w.duplicates };
            warnings.extend(super::fieldvalidation::check(
                t.kind,
                &mut doc,
                w.validation,
                duplicates,
            )?);
        }
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
                if applied {
                    new["metadata"]["managedFields"] = doc["metadata"]["managedFields"].clone();
                }
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
                match super::crds::set_replicas(t.kind, &mut new, replicas) {
                    Some(Err(why)) => return Err(ApiError::bad_request(why)),
                    Some(Ok(())) => {}
                    None => new["spec"]["replicas"] = replicas.into(),
                }
                new
            }
            Some("finalize") => {
                // The namespace controller's last step: spec.finalizers without its own.
                let mut new = current.clone();
                new["spec"]["finalizers"] = match &doc["spec"]["finalizers"] {
                    Value::Null => json!([]),
                    f => f.clone(),
                };
                new
            }
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "subresource {other} cannot be written"
                )));
            }
        };
        if kinds::has_generation(t.kind) && super::strategy::spec_changed(t.kind, &current, &new) {
            let g = current["metadata"]["generation"].as_i64().unwrap_or(1);
            new["metadata"]["generation"] = (g + 1).into();
        }
        let reply = |o: &Value| {
            if sub == Some("scale") {
                scale_of(t.kind, o)
            } else {
                o.clone()
            }
        };
        if !applied && (sub != Some("scale") || new != current) {
            let now = super::strategy::now_rfc3339();
            super::managed::record(
                Some(&current),
                &mut new,
                manager,
                sub == Some("status"),
                &now,
            );
        }
        if dry_run {
            // Answered as the write would be: a stale resourceVersion is a conflict, and the
            // object keeps the version it has (nothing was written).
            if expected != rv_of(&current) {
                return Err(ApiError::conflict(t.kind, name));
            }
            new["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"].clone();
            return Ok(json_response(StatusCode::OK, &reply(&new)));
        }
        if super::delete::finalized(t.kind, &new) {
            // The last finalizer went: the deletion it held up happens now.
            super::delete::remove(server, t.kind, ns, name, &current).await?;
            return Ok(json_response(StatusCode::OK, &reply(&new)));
        }
        let saved = if t.kind.kind == "Service" && sub.is_none() {
            super::allocator::update(
                server,
                t.kind,
                ns.unwrap_or("default"),
                name,
                expected,
                &current,
                new,
            )
            .await
        } else {
            server.storage.update(t.kind, ns, name, expected, new).await
        };
        match saved {
            Ok(saved) => {
                tracing::info!(
                    kind = t.kind.kind,
                    namespace = ns.unwrap_or(""),
                    name,
                    subresource = sub.unwrap_or(""),
                    "updated"
                );
                if super::crds::is_definition(t.kind) {
                    super::crds::sync(server).await?;
                }
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

/// Server-side apply of `config` onto `live` (`{}` when it creates the object) for the
/// request's manager. The configuration's unknown fields are dealt with first, as upstream
/// decodes it, so no manager is ever recorded as owning a field the object cannot have.
fn apply_config(
    t: &Target,
    name: &str,
    live: &Value,
    config: &Value,
    force: bool,
    w: &Write<'_>,
    warnings: &mut Vec<String>,
) -> Result<Value, ApiError> {
    let status = t.subresource.as_deref() == Some("status");
    let mut config = config.clone();
    warnings.extend(super::fieldvalidation::check(
        t.kind,
        &mut config,
        w.validation,
        &w.duplicates,
    )?);
    let now = super::strategy::now_rfc3339();
    let obj = super::apply::apply(live, &config, w.manager, force, status, &now)
        .map_err(|r| refused(t.kind, name, r))?;
    check_apply_name(&obj, name)?;
    Ok(obj)
}

/// The error for a refused server-side apply.
fn refused(kind: &Kind, name: &str, r: super::apply::Refused) -> ApiError {
    match r {
        super::apply::Refused::Conflicts(c) => ApiError::apply_conflicts(kind, name, &c),
        super::apply::Refused::Malformed(m) => ApiError::bad_request(m),
    }
}

/// An apply names its object in the configuration too; the two must agree.
fn check_apply_name(obj: &Value, name: &str) -> Result<(), ApiError> {
    match obj["metadata"]["name"].as_str() {
        Some(n) if n == name => Ok(()),
        other => Err(ApiError::bad_request(format!(
            "the name of the object ({}) does not match the name on the URL ({name})",
            other.unwrap_or("")
        ))),
    }
}

/// A namespaced request needs its namespace to exist (upstream's NamespaceLifecycle); the
/// namespace, for the caller's further checks.
async fn check_namespace(
    server: &Server,
    kind: &Kind,
    ns: Option<&str>,
) -> Result<Option<Value>, ApiError> {
    let Some(ns) = ns else { return Ok(None) };
    if !kind.namespaced {
        return Ok(None);
    }
    let nskind = kinds::find("", "v1", "namespaces").expect("namespaces are a served kind");
    match server.storage.get(nskind, None, ns).await? {
        Some(n) => Ok(Some(n)),
        None => Err(ApiError::not_found(nskind, ns)),
    }
}

fn decode_body(headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let media = ct.split(';').next().unwrap_or("").trim();
    if media == "application/vnd.kubernetes.protobuf" {
        return super::protobuf::decode(body).map_err(|e| ApiError::bad_request(e.to_string()));
    }
    if !matches!(
        media,
        "application/json" | "application/yaml" | "application/x-yaml" | "text/yaml" | "*/*" | ""
    ) {
        return Err(ApiError::unsupported_media_type(ct));
    }
    let value: Value = if ct.contains("yaml") {
        parse_yaml(body)?
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding JSON: {e}")))?
    };
    if !value.is_object() {
        return Err(ApiError::bad_request("the body is not an object"));
    }
    Ok(value)
}

fn parse_yaml(body: &[u8]) -> Result<Value, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| ApiError::bad_request(format!("body is not UTF-8: {e}")))?;
    serde_saphyr::from_str(text)
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))
}

pub fn to_table(kind: &Kind, items: &[Value], rev: i64, include: &str) -> Value {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let columns = table::column_definitions(kind);
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            let mut row = json!({"cells": table::row_cells(kind, o, now)});
            match include {
                "None" => {}
                "Object" => row["object"] = o.clone(),
                _ => {
                    let mut partial =
                        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1"});
                    partial["metadata"] = o["metadata"].clone();
                    row["object"] = partial;
                }
            }
            row
        })
        .collect();
    // Built by moving the rows in: `json!` would copy them through serialisation.
    let mut table = json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": rev.to_string()},
    });
    table["columnDefinitions"] = Value::Array(columns);
    table["rows"] = Value::Array(rows);
    table
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn query_values_are_percent_decoded() {
        assert_eq!(percent_decode("app%3Dweb%2Ctier"), "app=web,tier");
        assert_eq!(percent_decode("a+b"), "a b");
        assert_eq!(percent_decode("bad%zz%"), "bad%zz%");
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Request bodies in every media type the server reads decode or are refused.
        #[test]
        fn any_body_decodes_or_is_refused(
            body in proptest::collection::vec(any::<u8>(), 0..200),
            text in "[-a-z:{}\\[\\]\"', \n0-9&*!|>#]{0,120}",
        ) {
            for ct in ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"] {
                let mut headers = HeaderMap::new();
                headers.insert("content-type", ct.parse().unwrap());
                let _ = decode_body(&headers, &body);
                let _ = decode_body(&headers, text.as_bytes());
            }
            let _ = parse_apply(&body);
            let _ = parse_apply(text.as_bytes());
            let _ = parse_json(text.as_bytes());
        }
    }
}
