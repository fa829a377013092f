//! Deletion as upstream does it. An object goes at once unless something must happen first:
//! - finalizers: it gets a deletionTimestamp and stays until the last finalizer is removed
//!   (an update that removes it then deletes the object); `propagationPolicy: Foreground` or
//!   `Orphan` adds upstream's `foregroundDeletion` / `orphan` finalizer for the garbage
//!   collector;
//! - a pod scheduled to a node and not finished stops gracefully: deletionTimestamp is now +
//!   the grace period, and the kubelet deletes it (grace 0) once its containers stopped. A
//!   later delete may shorten the grace period; grace 0 deletes at once;
//! - a namespace turns Terminating; the namespace controller empties and removes it.
//!
//! Options come in the DELETE body (kubectl) or the query: gracePeriodSeconds,
//! propagationPolicy, preconditions (uid, resourceVersion), dryRun.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::Server;
use super::rest::{json_response, query_param, rv_of};
use super::status::ApiError;
use super::strategy::now_rfc3339;
use crate::kinds::{self, Kind};

/// DeleteOptions, from the body or the query.
#[derive(Debug, Default, Clone)]
pub struct Options {
    pub grace_period: Option<i64>,
    pub propagation: Option<String>,
    pub uid: Option<String>,
    pub resource_version: Option<String>,
    pub dry_run: bool,
}

impl Options {
    pub fn parse(body: &[u8], query: &str) -> Result<Options, ApiError> {
        let mut o = if body.is_empty() {
            Options::default()
        } else {
            let v: Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding DeleteOptions: {e}")))?;
            Options::from_value(&v)
        };
        if let Some(g) = query_param(query, "gracePeriodSeconds") {
            o.grace_period =
                Some(g.parse().map_err(|_| {
                    ApiError::bad_request(format!("invalid gracePeriodSeconds {g:?}"))
                })?);
        }
        if let Some(p) = query_param(query, "propagationPolicy") {
            o.propagation = Some(p.to_string());
        }
        if query_param(query, "dryRun").is_some() {
            o.dry_run = true;
        }
        o.checked()
    }

    /// A DeleteOptions object (a DELETE body, or an Eviction's deleteOptions).
    pub fn from_value(v: &Value) -> Options {
        let mut o = Options {
            grace_period: v["gracePeriodSeconds"].as_i64(),
            propagation: v["propagationPolicy"].as_str().map(str::to_string),
            uid: v["preconditions"]["uid"].as_str().map(str::to_string),
            resource_version: v["preconditions"]["resourceVersion"]
                .as_str()
                .map(str::to_string),
            dry_run: v["dryRun"]
                .as_array()
                .is_some_and(|d| d.iter().any(|x| x == "All")),
        };
        if v["orphanDependents"] == json!(true) && o.propagation.is_none() {
            o.propagation = Some("Orphan".into());
        }
        o
    }

    /// The options, if their propagationPolicy is one upstream knows.
    pub fn checked(self) -> Result<Options, ApiError> {
        if let Some(p) = &self.propagation
            && !matches!(p.as_str(), "Background" | "Foreground" | "Orphan")
        {
            return Err(ApiError::bad_request(format!(
                "propagationPolicy {p:?} is not one of Background, Foreground, Orphan"
            )));
        }
        Ok(self)
    }
}

/// What a delete does to an object as it stands.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// Remove it from storage now.
    Now,
    /// Keep it, changed so (deletionTimestamp, finalizers, grace period).
    Later(Value),
    /// Nothing changes (already being deleted, no shorter grace period).
    Unchanged,
}

fn has_finalizers(obj: &Value) -> bool {
    obj["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|f| !f.is_empty())
}

/// A namespace's `spec.finalizers`: the namespace controller's `kubernetes` until it has
/// emptied the namespace.
fn has_namespace_finalizers(obj: &Value) -> bool {
    obj["spec"]["finalizers"]
        .as_array()
        .is_some_and(|f| !f.is_empty())
}

/// A namespace whose content the namespace controller has not removed yet.
fn held_by_namespace_controller(kind: &Kind, obj: &Value) -> bool {
    kind.kind == "Namespace" && kinds::is_builtin(kind) && has_namespace_finalizers(obj)
}

/// Decides what a delete with these options does to `obj` (pure: the tests pin it down).
fn decide(kind: &Kind, obj: &Value, opts: &Options, now: time::OffsetDateTime) -> Outcome {
    let mut new = obj.clone();
    let meta_finalizers = |new: &mut Value, f: &str| {
        let list = &mut new["metadata"]["finalizers"];
        if !list.is_array() {
            *list = json!([]);
        }
        let arr = list.as_array_mut().expect("just made an array");
        if !arr.iter().any(|x| x == f) {
            arr.push(f.into());
        }
    };
    let already = !obj["metadata"]["deletionTimestamp"].is_null();
    let stamp = |secs: i64| {
        (now + time::Duration::seconds(secs))
            .replace_nanosecond(0)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(now_rfc3339)
    };

    if kind.kind == "Pod" {
        let scheduled = obj["spec"]["nodeName"]
            .as_str()
            .is_some_and(|n| !n.is_empty());
        let finished = matches!(
            obj["status"]["phase"].as_str(),
            Some("Succeeded" | "Failed")
        );
        let grace = opts.grace_period.unwrap_or_else(|| {
            obj["spec"]["terminationGracePeriodSeconds"]
                .as_i64()
                .unwrap_or(30)
        });
        // A pod no kubelet runs has nothing to stop gracefully.
        let grace = if !scheduled || finished {
            0
        } else {
            grace.max(0)
        };
        if grace > 0 {
            let current = obj["metadata"]["deletionGracePeriodSeconds"].as_i64();
            if already && current.is_some_and(|c| c <= grace) {
                return Outcome::Unchanged;
            }
            new["metadata"]["deletionTimestamp"] = stamp(grace).into();
            new["metadata"]["deletionGracePeriodSeconds"] = grace.into();
            return Outcome::Later(new);
        }
        if !has_finalizers(obj) {
            return Outcome::Now;
        }
        new["metadata"]["deletionGracePeriodSeconds"] = 0.into();
    }

    match opts.propagation.as_deref() {
        Some("Foreground") if !already => meta_finalizers(&mut new, "foregroundDeletion"),
        Some("Orphan") if !already => meta_finalizers(&mut new, "orphan"),
        _ => {}
    }
    if !has_finalizers(&new) {
        return Outcome::Now;
    }
    if already && new == *obj {
        return Outcome::Unchanged;
    }
    if new["metadata"]["deletionTimestamp"].is_null() {
        new["metadata"]["deletionTimestamp"] = stamp(0).into();
    }
    if new["metadata"]["deletionGracePeriodSeconds"].is_null() {
        new["metadata"]["deletionGracePeriodSeconds"] = 0.into();
    }
    Outcome::Later(new)
}

/// Whether an update's result is an object whose deletion was only waiting for its last
/// finalizer to go: then it is deleted rather than stored.
pub fn finalized(kind: &Kind, obj: &Value) -> bool {
    !obj["metadata"]["deletionTimestamp"].is_null()
        && !has_finalizers(obj)
        && !held_by_namespace_controller(kind, obj)
        && obj["metadata"]["deletionGracePeriodSeconds"]
            .as_i64()
            .unwrap_or(0)
            == 0
}

/// Removes the object from storage (Services free what they hold).
pub async fn remove(
    server: &Server,
    kind: &Kind,
    ns: Option<&str>,
    name: &str,
    current: &Value,
) -> Result<(), ApiError> {
    let rev = rv_of(current);
    if kind.kind == "Service" {
        super::allocator::delete(server, kind, ns.unwrap_or("default"), name, rev, current).await
    } else {
        server.storage.delete(kind, ns, name, rev).await
    }?;
    if super::crds::is_definition(kind) {
        super::crds::removed(server, current).await?;
    }
    tracing::info!(
        kind = kind.kind,
        namespace = ns.unwrap_or(""),
        name,
        "deleted"
    );
    Ok(())
}

/// Deletes one object; the response is a Status when it is gone, the object when it stays.
pub async fn delete(
    server: &Server,
    kind: &'static Kind,
    ns: Option<&str>,
    name: &str,
    opts: &Options,
) -> Result<Response, ApiError> {
    for _attempt in 0..5 {
        let current = server
            .storage
            .get(kind, ns, name)
            .await?
            .ok_or_else(|| ApiError::not_found(kind, name))?;
        if let Some(uid) = &opts.uid
            && current["metadata"]["uid"].as_str() != Some(uid.as_str())
        {
            return Err(ApiError::conflict_with(
                kind,
                name,
                format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    current["metadata"]["uid"].as_str().unwrap_or("")
                ),
            ));
        }
        if let Some(rv) = &opts.resource_version
            && current["metadata"]["resourceVersion"].as_str() != Some(rv.as_str())
        {
            return Err(ApiError::conflict_with(
                kind,
                name,
                format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                    current["metadata"]["resourceVersion"]
                        .as_str()
                        .unwrap_or("")
                ),
            ));
        }
        let outcome = if kind.kind == "Namespace" {
            // The namespace controller empties it and then removes it; one nothing holds
            // (no spec or metadata finalizers) goes at once, as upstream.
            let mut ns_obj = current.clone();
            if !has_finalizers(&ns_obj) && !has_namespace_finalizers(&ns_obj) {
                Outcome::Now
            } else if ns_obj["metadata"]["deletionTimestamp"].is_null() {
                ns_obj["metadata"]["deletionTimestamp"] = now_rfc3339().into();
                ns_obj["status"]["phase"] = "Terminating".into();
                Outcome::Later(ns_obj)
            } else {
                Outcome::Unchanged
            }
        } else {
            decide(kind, &current, opts, time::OffsetDateTime::now_utc())
        };
        match outcome {
            Outcome::Unchanged => return Ok(json_response(StatusCode::OK, &current)),
            Outcome::Later(obj) if opts.dry_run => {
                return Ok(json_response(StatusCode::OK, &obj));
            }
            Outcome::Later(obj) => {
                match server
                    .storage
                    .update(kind, ns, name, rv_of(&current), obj)
                    .await
                {
                    Ok(saved) => return Ok(json_response(StatusCode::OK, &saved)),
                    Err(e) if e.reason == "Conflict" => continue,
                    Err(e) => return Err(e),
                }
            }
            Outcome::Now => {
                if !opts.dry_run {
                    match remove(server, kind, ns, name, &current).await {
                        Ok(()) => {}
                        Err(e) if e.reason == "Conflict" => continue,
                        Err(e) => return Err(e),
                    }
                }
                return Ok(json_response(
                    StatusCode::OK,
                    &json!({
                        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                        "details": {"name": name, "group": kind.group, "kind": kind.resource, "uid": current["metadata"]["uid"]},
                    }),
                ));
            }
        }
    }
    Err(ApiError::conflict(kind, name))
}

/// `DELETE` on a collection: every object the selectors pick, deleted as one by one; the
/// answer lists them as they were.
pub async fn delete_collection(
    server: &Server,
    kind: &'static Kind,
    ns: Option<&str>,
    query: &str,
    opts: &Options,
) -> Result<Response, ApiError> {
    let selectors = super::selector::Selectors::from_query(kind, query)?;
    let (items, rev) = server.storage.list(kind, ns).await?;
    let mut deleted = Vec::new();
    for obj in items {
        if !selectors.matches(&obj) {
            continue;
        }
        let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
        let obj_ns = obj["metadata"]["namespace"].as_str().map(str::to_string);
        match delete(server, kind, obj_ns.as_deref(), &name, opts).await {
            Ok(_) => deleted.push(obj),
            Err(e) if e.reason == "NotFound" => {}
            Err(e) => return Err(e),
        }
    }
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "kind": format!("{}List", kind.kind),
            "apiVersion": kind.api_version(),
            "metadata": {"resourceVersion": rev.to_string()},
            "items": deleted,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(k: &str) -> &'static Kind {
        crate::kinds::KINDS.iter().find(|x| x.kind == k).unwrap()
    }

    fn now() -> time::OffsetDateTime {
        time::OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap()
    }

    #[test]
    fn running_pods_stop_gracefully_and_unscheduled_ones_go_at_once() {
        let pod = kind("Pod");
        let running = json!({"metadata": {"name": "p"}, "spec": {"nodeName": "n1", "terminationGracePeriodSeconds": 30}, "status": {"phase": "Running"}});
        let Outcome::Later(p) = decide(pod, &running, &Options::default(), now()) else {
            panic!("a running pod stops gracefully")
        };
        assert_eq!(p["metadata"]["deletionGracePeriodSeconds"], 30);
        assert_eq!(p["metadata"]["deletionTimestamp"], "2026-11-18T11:07:10Z");
        // Again with a longer grace period: nothing changes; shorter: it is shortened.
        assert_eq!(
            decide(pod, &p, &Options::default(), now()),
            Outcome::Unchanged
        );
        let now_opts = Options {
            grace_period: Some(0),
            ..Default::default()
        };
        assert_eq!(decide(pod, &p, &now_opts, now()), Outcome::Now);
        let pending = json!({"metadata": {"name": "p"}, "spec": {}});
        assert_eq!(
            decide(pod, &pending, &Options::default(), now()),
            Outcome::Now
        );
        let done = json!({"metadata": {"name": "p"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Succeeded"}});
        assert_eq!(decide(pod, &done, &Options::default(), now()), Outcome::Now);
    }

    #[test]
    fn finalizers_and_propagation_keep_objects_until_cleared() {
        let cm = kind("ConfigMap");
        let plain = json!({"metadata": {"name": "c"}});
        assert_eq!(decide(cm, &plain, &Options::default(), now()), Outcome::Now);
        let held = json!({"metadata": {"name": "c", "finalizers": ["example.com/keep"]}});
        let Outcome::Later(c) = decide(cm, &held, &Options::default(), now()) else {
            panic!("finalizers keep it")
        };
        assert_eq!(c["metadata"]["deletionTimestamp"], "2026-11-18T11:06:40Z");
        assert_eq!(
            decide(cm, &c, &Options::default(), now()),
            Outcome::Unchanged
        );
        let mut cleared = c.clone();
        cleared["metadata"]["finalizers"] = json!([]);
        assert!(finalized(kind("ConfigMap"), &cleared));
        assert!(!finalized(kind("ConfigMap"), &c));
        let fg = Options {
            propagation: Some("Foreground".into()),
            ..Default::default()
        };
        let Outcome::Later(d) = decide(kind("Deployment"), &plain, &fg, now()) else {
            panic!("foreground deletion waits for dependents")
        };
        assert_eq!(d["metadata"]["finalizers"], json!(["foregroundDeletion"]));
    }

    #[test]
    fn options_come_from_the_body_or_the_query() {
        let o = Options::parse(
            br#"{"kind":"DeleteOptions","apiVersion":"v1","gracePeriodSeconds":0,"propagationPolicy":"Foreground","preconditions":{"uid":"u1"}}"#,
            "",
        )
        .unwrap();
        assert_eq!(o.grace_period, Some(0));
        assert_eq!(o.propagation.as_deref(), Some("Foreground"));
        assert_eq!(o.uid.as_deref(), Some("u1"));
        let q = Options::parse(b"", "gracePeriodSeconds=5&dryRun=All").unwrap();
        assert_eq!((q.grace_period, q.dry_run), (Some(5), true));
        assert!(Options::parse(b"", "propagationPolicy=Sideways").is_err());
        assert!(Options::parse(b"{", "").is_err());
    }
}
