//! Builders for test objects, written as JSON for readability.

use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{Value, json};

pub const MI: i64 = 1024 * 1024;

/// Recursively merges `patch` into `base` (objects merge, everything else replaces).
pub fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, p) => *b = p,
    }
}

pub fn pod_from(v: Value) -> Pod {
    serde_json::from_value(v).expect("test pod")
}

pub fn node_from(v: Value) -> Node {
    serde_json::from_value(v).expect("test node")
}

/// A pod named "p" in "default" with the given spec.
pub fn pod_json(spec: Value) -> Pod {
    pod_from(json!({"metadata": {"name": "p", "namespace": "default"}, "spec": spec}))
}

/// `obj` with `patch` merged into its JSON form.
pub fn with<T: k8s_openapi::serde::Serialize + k8s_openapi::serde::de::DeserializeOwned>(
    obj: T,
    patch: Value,
) -> T {
    let mut v = serde_json::to_value(&obj).expect("serialize");
    merge(&mut v, patch);
    serde_json::from_value(v).expect("deserialize")
}

/// An unbound pod with one container requesting `cpu` and `memory` ("0" leaves it out).
pub fn pending(name: &str, cpu: &str, memory: &str) -> Pod {
    let mut requests = serde_json::Map::new();
    if cpu != "0" {
        requests.insert("cpu".into(), json!(cpu));
    }
    if memory != "0" {
        requests.insert("memory".into(), json!(memory));
    }
    pod_from(json!({
        "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}")},
        "spec": {"containers": [{"name": "c", "image": "nginx", "resources": {"requests": requests}}]},
        "status": {"phase": "Pending"}
    }))
}

/// A running pod bound to `node`.
pub fn bound(name: &str, node: &str, cpu: &str, memory: &str) -> Pod {
    with(
        pending(name, cpu, memory),
        json!({"spec": {"nodeName": node}, "status": {"phase": "Running"}}),
    )
}

/// A ready node with the hostname label and the given allocatable.
pub fn node(name: &str, cpu: &str, memory: &str, pods: i64) -> Node {
    node_from(json!({
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "status": {
            "allocatable": {"cpu": cpu, "memory": memory, "pods": pods.to_string()},
            "conditions": [{"type": "Ready", "status": "True"}]
        }
    }))
}

/// The kubeadm-style control-plane node: tainted NoSchedule.
pub fn control_plane(name: &str) -> Node {
    with(
        node(name, "2", "4Gi", 110),
        json!({"spec": {"taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]}}),
    )
}
