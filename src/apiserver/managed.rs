//! `metadata.managedFields`: which manager (`?fieldManager=`, else the client's user agent)
//! set which fields, as upstream records it for create, update and patch (operation
//! "Update"). Each manager owns the fields it changed; a field another manager changes moves
//! to that manager. Server-side apply (operation "Apply") builds on this (issue 5).
//!
//! Field sets are kept as sets of paths in upstream's FieldsV1 notation: `f:<field>` for an
//! object's field, `k:{"name":"web"}` for an item of a keyed list, `v:"x"` for an item of a set.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::kinds::merge::{ListType, key_default, list_type};

/// A field's path: `f:spec`, `f:containers`, `k:{"name":"web"}`, `.` (the item itself), …
pub(super) type Path = Vec<String>;

/// Metadata fields the server owns, never recorded as a manager's.
const SERVER_OWNED: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
    "generateName",
];

/// Every leaf of `v` with its value, under `prefix`. `holder` is the name of the field that
/// holds `v` (lists merge by it).
fn leaves(v: &Value, holder: &str, prefix: &mut Path, out: &mut BTreeMap<Path, Value>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, child) in m {
                if child.is_null() {
                    continue;
                }
                prefix.push(format!("f:{k}"));
                match child {
                    Value::Array(items) if !items.is_empty() => list(items, holder, k, prefix, out),
                    _ => leaves(child, k, prefix, out),
                }
                prefix.pop();
            }
        }
        other => {
            out.insert(prefix.clone(), other.clone());
        }
    }
}

fn list(
    items: &[Value],
    holder: &str,
    field: &str,
    prefix: &mut Path,
    out: &mut BTreeMap<Path, Value>,
) {
    match list_type(holder, field) {
        ListType::Map(keys) if items.iter().all(Value::is_object) => {
            for item in items {
                let mut id = Map::new();
                for k in keys {
                    let value = item.get(*k).filter(|v| !v.is_null()).cloned();
                    if let Some(v) = value.or_else(|| key_default(k)) {
                        id.insert((*k).to_string(), v);
                    }
                }
                prefix.push(format!("k:{}", Value::Object(id)));
                // The item itself, so an item with no other fields is still owned.
                prefix.push(".".into());
                out.insert(prefix.clone(), Value::Null);
                prefix.pop();
                leaves(item, field, prefix, out);
                prefix.pop();
            }
        }
        ListType::Set if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            for item in items {
                prefix.push(format!("v:{item}"));
                out.insert(prefix.clone(), Value::Null);
                prefix.pop();
            }
        }
        _ => {
            out.insert(prefix.clone(), Value::Array(items.to_vec()));
        }
    }
}

/// The fields of an object a manager can own: everything but apiVersion, kind, the
/// server-owned metadata and (unless `status`) the status, or (with `status`) only the status.
pub(super) fn owned_leaves(obj: &Value, status: bool) -> BTreeMap<Path, Value> {
    let mut trimmed = obj.clone();
    if let Some(m) = trimmed.as_object_mut() {
        m.remove("apiVersion");
        m.remove("kind");
        if status {
            m.retain(|k, _| k == "status");
        } else {
            m.remove("status");
        }
    }
    if let Some(meta) = trimmed["metadata"].as_object_mut() {
        meta.retain(|k, _| !SERVER_OWNED.contains(&k.as_str()));
        if meta.is_empty() {
            trimmed.as_object_mut().map(|m| m.remove("metadata"));
        }
    }
    let mut out = BTreeMap::new();
    leaves(&trimmed, "", &mut Vec::new(), &mut out);
    out.remove(&Vec::new());
    out
}

/// A set of paths as FieldsV1 JSON.
pub(super) fn to_fields_v1(paths: &BTreeSet<Path>) -> Value {
    let mut root = json!({});
    for p in paths {
        let mut node = &mut root;
        for seg in p {
            node = node
                .as_object_mut()
                .expect("FieldsV1 nodes are objects")
                .entry(seg.clone())
                .or_insert_with(|| json!({}));
        }
    }
    root
}

/// The paths of a FieldsV1 JSON.
pub(super) fn from_fields_v1(v: &Value, prefix: &mut Path, out: &mut BTreeSet<Path>) {
    match v.as_object() {
        Some(m) if !m.is_empty() => {
            for (k, child) in m {
                prefix.push(k.clone());
                from_fields_v1(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {
            if !prefix.is_empty() {
                out.insert(prefix.clone());
            }
        }
    }
}

/// Records a write by `manager` (`status`: through the status subresource) that turned `old`
/// (None on create) into `new`: the manager gets the fields it changed, which leave any other
/// manager's entry. `now` is an RFC 3339 time.
pub fn record(old: Option<&Value>, new: &mut Value, manager: &str, status: bool, now: &str) {
    let new_leaves = owned_leaves(new, status);
    let old_leaves = old.map(|o| owned_leaves(o, status)).unwrap_or_default();
    let changed: BTreeSet<Path> = new_leaves
        .iter()
        .filter(|(p, v)| old_leaves.get(*p) != Some(*v))
        .map(|(p, _)| p.clone())
        .collect();
    let present: BTreeSet<Path> = new_leaves.keys().cloned().collect();
    let subresource = if status { "status" } else { "" };
    let api_version = new["apiVersion"].clone();

    let entries = old
        .and_then(|o| o["metadata"]["managedFields"].as_array().cloned())
        .unwrap_or_default();
    let mut out = Vec::new();
    let mut mine: BTreeSet<Path> = changed.clone();
    for e in entries {
        let same_subresource = e["subresource"].as_str().unwrap_or("") == subresource;
        let mut fields = BTreeSet::new();
        from_fields_v1(&e["fieldsV1"], &mut Vec::new(), &mut fields);
        if !same_subresource {
            out.push(e);
            continue;
        }
        // Fields gone from the object are owned by nobody.
        fields.retain(|p| present.contains(p));
        if e["manager"] == manager && e["operation"] == "Update" {
            mine.extend(fields);
            continue;
        }
        // Paths are leaves, so a changed field is exactly a path in `changed`.
        fields.retain(|p| !changed.contains(p));
        if fields.is_empty() {
            continue;
        }
        let mut e = e;
        e["fieldsV1"] = to_fields_v1(&fields);
        out.push(e);
    }
    if !mine.is_empty() {
        out.push(entry(manager, "Update", &api_version, now, &mine, status));
    }
    set_entries(new, out);
}

/// One managedFields entry: `manager` did `operation` ("Update" or "Apply") on `fields`.
pub(super) fn entry(
    manager: &str,
    operation: &str,
    api_version: &Value,
    now: &str,
    fields: &BTreeSet<Path>,
    status: bool,
) -> Value {
    let mut e = json!({
        "manager": manager,
        "operation": operation,
        "apiVersion": api_version,
        "time": now,
        "fieldsType": "FieldsV1",
        "fieldsV1": to_fields_v1(fields),
    });
    if status {
        e["subresource"] = "status".into();
    }
    e
}

/// Writes the entries into the object; none leaves no managedFields at all.
pub(super) fn set_entries(obj: &mut Value, entries: Vec<Value>) {
    if entries.is_empty() {
        if let Some(m) = obj["metadata"].as_object_mut() {
            m.remove("managedFields");
        }
    } else {
        obj["metadata"]["managedFields"] = Value::Array(entries);
    }
}

/// The manager of a request: `?fieldManager=`, else the user agent's product name, as
/// upstream defaults it.
pub fn manager(field_manager: Option<&str>, user_agent: Option<&str>) -> String {
    match field_manager.filter(|m| !m.is_empty()) {
        Some(m) => m.to_string(),
        None => user_agent
            .and_then(|ua| ua.split('/').next())
            .filter(|p| !p.is_empty())
            .unwrap_or("unknown")
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "2026-11-22T10:00:00Z";

    fn deployment(image: &str, replicas: i64) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "uid": "u", "labels": {"app": "web"}},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "nginx", "image": image}]}}},
            "status": {"replicas": 1},
        })
    }

    #[test]
    fn a_create_owns_every_field_but_the_servers() {
        let mut d = deployment("nginx", 1);
        record(None, &mut d, "kubectl-create", false, T);
        let e = &d["metadata"]["managedFields"][0];
        assert_eq!(e["manager"], "kubectl-create");
        assert_eq!(e["operation"], "Update");
        assert_eq!(
            e["fieldsV1"],
            json!({
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {
                    "f:replicas": {},
                    "f:template": {"f:spec": {"f:containers": {
                        "k:{\"name\":\"nginx\"}": {".": {}, "f:image": {}, "f:name": {}}
                    }}},
                },
            })
        );
    }

    #[test]
    fn fields_move_to_the_manager_that_changed_them() {
        let mut d = deployment("nginx", 1);
        record(None, &mut d, "kubectl-create", false, T);
        let mut scaled = d.clone();
        scaled["spec"]["replicas"] = 3.into();
        record(Some(&d), &mut scaled, "kubectl-scale", false, T);
        let entries = scaled["metadata"]["managedFields"].as_array().unwrap();
        assert_eq!(entries.len(), 2);
        assert!(entries[0]["fieldsV1"]["f:spec"].get("f:replicas").is_none());
        assert_eq!(entries[1]["manager"], "kubectl-scale");
        assert_eq!(
            entries[1]["fieldsV1"],
            json!({"f:spec": {"f:replicas": {}}})
        );
        // The status subresource is recorded apart.
        let mut st = scaled.clone();
        st["status"]["replicas"] = 3.into();
        record(Some(&scaled), &mut st, "controller", true, T);
        let last = st["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert_eq!(last["subresource"], "status");
        assert_eq!(last["fieldsV1"], json!({"f:status": {"f:replicas": {}}}));
    }

    #[test]
    fn managers_default_to_the_user_agent() {
        assert_eq!(
            manager(Some("kubectl-edit"), Some("kubectl/v1.32")),
            "kubectl-edit"
        );
        assert_eq!(
            manager(None, Some("kubectl/v1.32.4 (linux/amd64)")),
            "kubectl"
        );
        assert_eq!(manager(None, None), "unknown");
    }
}
