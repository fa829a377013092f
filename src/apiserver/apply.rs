//! Server-side apply (`PATCH` with `application/apply-patch+yaml`): the applied
//! configuration is merged into the live object by each list's `x-kubernetes-list-type`, and
//! the manager's "Apply" entry in managedFields becomes exactly the fields it applied.
//!
//! As upstream:
//! - a field another manager owns, whose live value the configuration would change, is a
//!   conflict; conflicts refuse the apply unless it is forced, which takes those fields over;
//! - a field the manager applied before and no longer applies is removed from the object,
//!   unless another manager owns it too;
//! - fields set to the same value by several managers are shared.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::managed::{Path, entry, from_fields_v1, owned_leaves, set_entries, to_fields_v1};
use crate::kinds::merge::{ListType, key_default, list_type};

/// A field the configuration would change that another manager owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub manager: String,
    pub api_version: String,
    /// The field as upstream prints it: `.spec.replicas`,
    /// `.spec.template.spec.containers[name="web"].image`.
    pub field: String,
}

/// The message of a refused apply, in upstream's words.
pub fn conflict_message(conflicts: &[Conflict]) -> String {
    let mut by_manager: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for c in conflicts {
        by_manager
            .entry((&c.manager, &c.api_version))
            .or_default()
            .push(&c.field);
    }
    let n = conflicts.len();
    if let [c] = conflicts {
        return format!(
            "Apply failed with 1 conflict: conflict with \"{}\" using {}: {}",
            c.manager, c.api_version, c.field
        );
    }
    // Upstream: one "conflicts with" line per manager, then its fields, joined by newlines.
    let mut lines = Vec::new();
    for ((manager, api_version), fields) in by_manager {
        lines.push(format!("conflicts with \"{manager}\" using {api_version}:"));
        lines.extend(fields.iter().map(|f| format!("- {f}")));
    }
    format!("Apply failed with {n} conflicts: {}", lines.join("\n"))
}

/// Why an apply was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// Fields other managers own would change (a 409 unless forced).
    Conflicts(Vec<Conflict>),
    /// The configuration is not an object with an object `metadata` (a 400).
    Malformed(String),
}

/// Applies `config` for `manager` to `live` (an empty object when the apply creates it);
/// `status`: through the status subresource. Returns the new object with its managedFields,
/// or why not: conflicts when there are some and `force` is false. `now` is an RFC 3339 time.
pub fn apply(
    live: &Value,
    config: &Value,
    manager: &str,
    force: bool,
    status: bool,
    now: &str,
) -> Result<Value, Refused> {
    let shape_ok = |v: &Value| {
        v.as_object()
            .is_some_and(|m| m.get("metadata").is_none_or(Value::is_object))
    };
    if !shape_ok(config) {
        return Err(Refused::Malformed(
            "an apply configuration must be an object, and its metadata an object".into(),
        ));
    }
    let empty = json!({});
    // A stored object always has this shape; anything else is treated as absent.
    let live = if shape_ok(live) { live } else { &empty };
    let config = scoped(config, status);
    let applied = owned_leaves(&config, status);
    let subresource = if status { "status" } else { "" };
    let entries = live["metadata"]["managedFields"]
        .as_array()
        .cloned()
        .unwrap_or_default();

    let mut previous: BTreeSet<Path> = BTreeSet::new();
    let mut others: Vec<(Value, BTreeSet<Path>)> = Vec::new();
    let mut untouched: Vec<Value> = Vec::new();
    for e in entries {
        if e["subresource"].as_str().unwrap_or("") != subresource {
            untouched.push(e);
            continue;
        }
        let mut fields = BTreeSet::new();
        from_fields_v1(&e["fieldsV1"], &mut Vec::new(), &mut fields);
        if e["manager"] == manager && e["operation"] == "Apply" {
            previous = fields;
        } else {
            others.push((e, fields));
        }
    }

    let conflicts = conflicts(live, &applied, &others);
    if !conflicts.is_empty() && !force {
        return Err(Refused::Conflicts(conflicts));
    }
    // Forcing takes the conflicting fields from their owners.
    for (_, fields) in &mut others {
        fields.retain(|p| !applied.contains_key(p) || !differs(live, &config, p));
    }

    let owned_by_others: BTreeSet<&Path> = others.iter().flat_map(|(_, f)| f).collect();
    let mut new = live.clone();
    let mut dropped: Vec<&Path> = previous
        .iter()
        .filter(|p| !applied.contains_key(*p) && !owned_by_others.contains(p))
        .collect();
    // Deepest first, so an item's fields go before the item.
    dropped.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in dropped {
        if p.last().is_some_and(|s| s == ".") {
            let item = &p[..p.len() - 1];
            if owned_by_others.iter().any(|o| o.starts_with(item)) {
                continue;
            }
            remove(&mut new, item);
        } else {
            remove(&mut new, p);
        }
    }
    merge(&mut new, &config, "");

    let present: BTreeSet<Path> = owned_leaves(&new, status).into_keys().collect();
    let mut out = untouched;
    for (mut e, mut fields) in others {
        fields.retain(|p| present.contains(p));
        if !fields.is_empty() {
            e["fieldsV1"] = to_fields_v1(&fields);
            out.push(e);
        }
    }
    if !applied.is_empty() {
        let fields = applied.keys().cloned().collect();
        let api_version = &config["apiVersion"];
        out.push(entry(manager, "Apply", api_version, now, &fields, status));
    }
    set_entries(&mut new, out);
    Ok(new)
}

/// The part of a configuration an apply writes: everything but status, or (through the
/// status subresource) only status. Identity fields stay so the result is a whole object.
fn scoped(config: &Value, status: bool) -> Value {
    let mut c = config.clone();
    if let Some(m) = c.as_object_mut() {
        m.remove("status");
        if status {
            m.retain(|k, _| matches!(k.as_str(), "apiVersion" | "kind"));
            m.insert("status".into(), config["status"].clone());
        }
        if let Some(meta) = m.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("managedFields");
            meta.remove("resourceVersion");
        }
    }
    c
}

fn conflicts(
    live: &Value,
    applied: &BTreeMap<Path, Value>,
    others: &[(Value, BTreeSet<Path>)],
) -> Vec<Conflict> {
    let mut out = Vec::new();
    for (entry, fields) in others {
        for (p, value) in applied {
            if fields.contains(p) && lookup(live, p) != Some(value) && !value.is_null() {
                out.push(Conflict {
                    manager: entry["manager"].as_str().unwrap_or("").to_string(),
                    api_version: entry["apiVersion"].as_str().unwrap_or("").to_string(),
                    field: display(p),
                });
            }
        }
    }
    out
}

/// Whether applying would change the field at `p`. Item markers and set members carry no
/// value of their own: an item or member that exists cannot differ.
fn differs(live: &Value, config: &Value, p: &Path) -> bool {
    match p.last().map(String::as_str) {
        Some(".") => false,
        Some(s) if s.starts_with("v:") => false,
        _ => lookup(live, p) != lookup(config, p),
    }
}

/// The value at a field path, if the object has it. A `.` marker is the item itself, and
/// markers and set members "hold" null in the leaf maps `owned_leaves` returns.
fn lookup<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    let Some((seg, rest)) = path.split_first() else {
        return Some(v);
    };
    if seg == "." || seg.starts_with("v:") {
        return child(v, seg).map(|_| &Value::Null);
    }
    lookup(child(v, seg)?, rest)
}

fn child<'a>(v: &'a Value, seg: &str) -> Option<&'a Value> {
    if seg == "." {
        return Some(v);
    }
    if let Some(field) = seg.strip_prefix("f:") {
        return v.get(field);
    }
    let items = v.as_array()?;
    if let Some(key) = seg.strip_prefix("k:") {
        let key: Map<String, Value> = serde_json::from_str(key).ok()?;
        return items.iter().find(|i| has_key(i, &key));
    }
    let member: Value = serde_json::from_str(seg.strip_prefix("v:")?).ok()?;
    items.iter().find(|i| **i == member)
}

/// Whether a list item has these key values (a key it leaves out has its default).
fn has_key(item: &Value, key: &Map<String, Value>) -> bool {
    key.iter().all(|(k, want)| {
        let have = item.get(k).filter(|v| !v.is_null()).cloned();
        have.or_else(|| key_default(k)).as_ref() == Some(want)
    })
}

/// Removes the field, item or member at `path`, and any object or list left empty by it.
fn remove(v: &mut Value, path: &[String]) {
    let Some((seg, rest)) = path.split_first() else {
        return;
    };
    let index = match (&mut *v, seg.strip_prefix("f:")) {
        (Value::Object(m), Some(field)) => {
            if rest.is_empty() {
                m.remove(field);
            } else if let Some(c) = m.get_mut(field) {
                remove(c, rest);
                if is_empty(c) {
                    m.remove(field);
                }
            }
            return;
        }
        (Value::Array(items), None) => items.iter().position(|i| child_is(i, seg)),
        _ => None,
    };
    let (Some(i), Value::Array(items)) = (index, v) else {
        return;
    };
    if rest.is_empty() {
        items.remove(i);
    } else {
        remove(&mut items[i], rest);
    }
}

fn child_is(item: &Value, seg: &str) -> bool {
    if let Some(key) = seg.strip_prefix("k:") {
        return serde_json::from_str::<Map<String, Value>>(key).is_ok_and(|k| has_key(item, &k));
    }
    seg.strip_prefix("v:")
        .and_then(|m| serde_json::from_str::<Value>(m).ok())
        .is_some_and(|m| *item == m)
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Merges `config` into `live`: objects field by field, keyed lists item by item, sets as a
/// union, anything else replaced. `holder` names the field holding `live` (lists merge by it).
fn merge(live: &mut Value, config: &Value, holder: &str) {
    let (Value::Object(l), Value::Object(c)) = (&mut *live, config) else {
        *live = config.clone();
        return;
    };
    for (k, cv) in c {
        if cv.is_null() {
            continue;
        }
        match (l.get_mut(k), cv) {
            (Some(lv @ Value::Array(_)), Value::Array(items)) => merge_list(lv, items, holder, k),
            (Some(lv @ Value::Object(_)), Value::Object(_)) => merge(lv, cv, k),
            _ => {
                l.insert(k.clone(), cv.clone());
            }
        }
    }
}

fn merge_list(live: &mut Value, items: &[Value], holder: &str, field: &str) {
    let Value::Array(l) = live else { return };
    match list_type(holder, field) {
        ListType::Map(keys) if items.iter().chain(l.iter()).all(Value::is_object) => {
            for item in items {
                let key: Map<String, Value> = keys
                    .iter()
                    .filter_map(|k| {
                        let v = item.get(*k).filter(|v| !v.is_null()).cloned();
                        v.or_else(|| key_default(k)).map(|v| ((*k).to_string(), v))
                    })
                    .collect();
                match l.iter_mut().find(|i| has_key(i, &key)) {
                    Some(existing) => merge(existing, item, field),
                    None => l.push(item.clone()),
                }
            }
        }
        ListType::Set => {
            for item in items {
                if !l.contains(item) {
                    l.push(item.clone());
                }
            }
        }
        _ => *l = items.to_vec(),
    }
}

/// A field path as upstream prints it in conflicts.
fn display(p: &Path) -> String {
    let mut out = String::new();
    for seg in p {
        if let Some(f) = seg.strip_prefix("f:") {
            out.push('.');
            out.push_str(f);
        } else if let Some(k) = seg.strip_prefix("k:") {
            let key: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
            let parts: Vec<String> = key.iter().map(|(k, v)| format!("{k}={v}")).collect();
            out.push_str(&format!("[{}]", parts.join(",")));
        } else if let Some(v) = seg.strip_prefix("v:") {
            out.push_str(&format!("[={v}]"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "2026-11-22T10:00:00Z";

    fn config(replicas: i64, image: &str, labels: Value) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": labels},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [
                {"name": "web", "image": image, "ports": [{"containerPort": 80}]}
            ]}}},
        })
    }

    fn entry<'a>(obj: &'a Value, manager: &str) -> Option<&'a Value> {
        obj["metadata"]["managedFields"]
            .as_array()?
            .iter()
            .find(|e| e["manager"] == manager)
    }

    #[test]
    fn a_first_apply_creates_and_owns_what_it_applied() {
        let obj = apply(
            &json!({}),
            &config(2, "nginx", json!({"app": "web"})),
            "kubectl",
            false,
            false,
            T,
        )
        .unwrap();
        assert_eq!(obj["spec"]["replicas"], 2);
        let e = entry(&obj, "kubectl").unwrap();
        assert_eq!(e["operation"], "Apply");
        let c = &e["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"web\"}"];
        assert!(c["f:image"].is_object());
        // A port with no protocol is keyed with the default one, as upstream.
        assert!(c["f:ports"]["k:{\"containerPort\":80,\"protocol\":\"TCP\"}"].is_object());
    }

    #[test]
    fn another_managers_field_conflicts_unless_forced_or_equal() {
        let mut live = apply(
            &json!({}),
            &config(2, "nginx", json!({"app": "web"})),
            "kubectl",
            false,
            false,
            T,
        )
        .unwrap();
        // kubectl scale (an Update by another manager) takes spec.replicas.
        let before = live.clone();
        live["spec"]["replicas"] = 5.into();
        super::super::managed::record(Some(&before), &mut live, "kubectl-scale", false, T);

        // Re-applying the same config conflicts on replicas only.
        let err = apply(
            &live,
            &config(2, "nginx", json!({"app": "web"})),
            "kubectl",
            false,
            false,
            T,
        )
        .unwrap_err();
        let Refused::Conflicts(err) = err else {
            panic!("conflicts expected: {err:?}")
        };
        assert_eq!(
            err,
            vec![Conflict {
                manager: "kubectl-scale".into(),
                api_version: "apps/v1".into(),
                field: ".spec.replicas".into()
            }]
        );
        assert_eq!(
            conflict_message(&err),
            "Apply failed with 1 conflict: conflict with \"kubectl-scale\" using apps/v1: .spec.replicas"
        );
        let c = |manager: &str, field: &str| Conflict {
            manager: manager.into(),
            api_version: "apps/v1".into(),
            field: field.into(),
        };
        assert_eq!(
            conflict_message(&[c("a", ".x"), c("b", ".y"), c("a", ".z")]),
            "Apply failed with 3 conflicts: conflicts with \"a\" using apps/v1:\n- .x\n- .z\nconflicts with \"b\" using apps/v1:\n- .y"
        );

        // Applying the live value shares the field instead.
        let shared = apply(
            &live,
            &config(5, "nginx", json!({"app": "web"})),
            "kubectl",
            false,
            false,
            T,
        )
        .unwrap();
        assert!(
            entry(&shared, "kubectl-scale").unwrap()["fieldsV1"]["f:spec"]["f:replicas"]
                .is_object()
        );

        // Forcing takes it over.
        let forced = apply(
            &live,
            &config(3, "nginx", json!({"app": "web"})),
            "kubectl",
            true,
            false,
            T,
        )
        .unwrap();
        assert_eq!(forced["spec"]["replicas"], 3);
        assert!(entry(&forced, "kubectl-scale").is_none());
    }

    #[test]
    fn fields_no_longer_applied_are_removed_unless_someone_else_owns_them() {
        let first = config(2, "nginx", json!({"app": "web", "tier": "fe"}));
        let live = apply(&json!({}), &first, "a", false, false, T).unwrap();
        // Manager b applies the same tier label: shared.
        let b = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"tier": "fe", "team": "x"}}});
        let live = apply(&live, &b, "b", false, false, T).unwrap();
        // a stops applying both labels: app goes, tier stays (b owns it).
        let live = apply(&live, &config(2, "nginx", json!({})), "a", false, false, T).unwrap();
        assert_eq!(
            live["metadata"]["labels"],
            json!({"tier": "fe", "team": "x"})
        );
    }

    #[test]
    fn a_container_no_longer_applied_is_removed_and_keyed_lists_merge() {
        let mut two = config(1, "nginx", json!({"app": "web"}));
        two["spec"]["template"]["spec"]["containers"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "side", "image": "busybox"}));
        let live = apply(&json!({}), &two, "a", false, false, T).unwrap();
        let live = apply(
            &live,
            &config(1, "nginx:1.27", json!({"app": "web"})),
            "a",
            false,
            false,
            T,
        )
        .unwrap();
        let containers = live["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap();
        assert_eq!(containers.len(), 1);
        assert_eq!(containers[0]["image"], "nginx:1.27");
        assert_eq!(containers[0]["ports"][0]["containerPort"], 80);
    }

    #[test]
    fn status_applies_touch_only_status() {
        let live = apply(
            &json!({}),
            &config(1, "nginx", json!({})),
            "a",
            false,
            false,
            T,
        )
        .unwrap();
        let st = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web"}, "spec": {"replicas": 9}, "status": {"replicas": 1}});
        let out = apply(&live, &st, "ctrl", false, true, T).unwrap();
        assert_eq!(out["spec"]["replicas"], 1);
        assert_eq!(out["status"]["replicas"], 1);
        let e = entry(&out, "ctrl").unwrap();
        assert_eq!(e["subresource"], "status");
        assert_eq!(e["fieldsV1"], json!({"f:status": {"f:replicas": {}}}));
    }

    #[test]
    fn malformed_paths_and_shapes_do_not_panic() {
        let mut v = json!({"a": [1, {"name": "x"}], "b": 2});
        remove(&mut v, &["k:not json".into()]);
        remove(
            &mut v,
            &["f:a".into(), "k:{\"name\":\"x\"}".into(), "f:q".into()],
        );
        remove(&mut v, &["f:b".into(), "f:c".into()]);
        assert!(lookup(&v, &["f:a".into(), "v:[".into()]).is_none());
        let mut l = json!({"containers": [1, 2]});
        merge(
            &mut l,
            &json!({"containers": [{"name": "a"}], "x": null}),
            "spec",
        );
        assert_eq!(l, json!({"containers": [{"name": "a"}]}));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// JSON built from the names apply treats specially: keyed lists, sets, metadata.
    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            (-3i64..3).prop_map(Value::from),
            "[a-c]{0,2}".prop_map(Value::from),
        ];
        leaf.prop_recursive(5, 48, 5, |inner| {
            let key = prop_oneof![
                Just("spec".to_string()),
                Just("metadata".to_string()),
                Just("containers".to_string()),
                Just("name".to_string()),
                Just("ports".to_string()),
                Just("containerPort".to_string()),
                Just("finalizers".to_string()),
                Just("managedFields".to_string()),
                Just("status".to_string()),
                "[a-c]".prop_map(String::from),
            ];
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(key, inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn any_live_object_and_configuration_apply_without_panic(
            live in json(), config in json(), force in any::<bool>(), status in any::<bool>()
        ) {
            let once = apply(&live, &config, "m", force, status, "t");
            // Applying what was just applied, again, changes nothing but the time.
            if let Ok(obj) = once {
                let _ = apply(&obj, &config, "m", force, status, "t");
                let _ = apply(&obj, &config, "other", false, status, "t");
            }
        }
    }
}
