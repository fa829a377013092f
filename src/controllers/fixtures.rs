//! Test fixtures built from JSON, as the API would deliver them.

use k8s_openapi::jiff::Timestamp;
use k8s_openapi::serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Seconds since the epoch as a timestamp; tests count time from a fixed base.
pub fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + secs).unwrap()
}

/// RFC 3339 form of [`at`].
pub fn rfc(secs: i64) -> String {
    at(secs).to_string()
}

pub fn from<T: DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

/// `base` with `patch` merged in (objects recursively, everything else replaced).
pub fn merged(mut base: Value, patch: Value) -> Value {
    merge(&mut base, patch);
    base
}

fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, p) => *b = p,
    }
}

/// A pod controlled by the ReplicaSet with `owner_uid` (if any), labelled `app: web`.
pub fn pod_json(name: &str, owner_uid: Option<&str>, patch: Value) -> Value {
    let owners = owner_uid.map(|uid| {
        json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-rs",
                "uid": uid, "controller": true, "blockOwnerDeletion": true}])
    });
    let base = json!({
        "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}"),
                     "labels": {"app": "web"}, "ownerReferences": owners,
                     "creationTimestamp": rfc(0)},
        "spec": {"nodeName": "node-a", "containers": [{"name": "c", "image": "nginx"}]},
        "status": {"phase": "Running"}
    });
    merged(base, patch)
}

/// Status patch of a pod that became ready at `since`.
pub fn ready_since(since: i64) -> Value {
    json!({"status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True", "lastTransitionTime": rfc(since)}]}})
}
