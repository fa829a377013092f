//! Strategic merge patch (application/strategic-merge-patch+json), what kubectl apply, edit,
//! set image, rollout restart, cordon and taint send. It is JSON merge patch, except that
//! lists merge as [`patch_strategy`] declares them and the patch may carry directives:
//! - `$patch: replace | delete | merge`, in a map or as an item of a list;
//! - `$retainKeys: [..]` in a map: live fields not listed are cleared before merging;
//! - `$setElementOrder/<list>: [..]`: the final relative order of the items it names;
//! - `$deleteFromPrimitiveList/<list>: [..]`: values removed from the live list.
//!
//! Upstream copies a patch value verbatim where nothing is live under its key; here it is
//! merged into an empty value instead, so directives never reach the stored object.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::kinds::merge::{PatchStrategy, patch_strategy};

type Object = Map<String, Value>;

/// Deeper patches are refused rather than risking the stack (the JSON parser stops at 128).
const MAX_DEPTH: usize = 200;
const PATCH: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ORDER: &str = "$setElementOrder/";
const DELETE_FROM: &str = "$deleteFromPrimitiveList/";

/// Applies a strategic merge patch to `target` (the live object as JSON). On error `target`
/// is unchanged.
pub fn strategic_merge_patch(target: &mut Value, patch: &Value) -> Result<(), String> {
    let Value::Object(patch) = patch else {
        return Err("a strategic merge patch must be a JSON object".into());
    };
    let live = target.as_object().cloned().unwrap_or_default();
    let merged = merge_map(live, patch, "", 0)
        .map_err(Failure::into_message)?
        .ok_or("$patch: delete cannot delete the whole object")?;
    *target = Value::Object(merged);
    Ok(())
}

/// Why a patch was refused, and where: the path grows from the innermost field outwards as
/// the error unwinds.
struct Failure {
    path: String,
    message: String,
}

type Outcome<T> = Result<T, Failure>;

impl Failure {
    fn in_field(mut self, field: &str) -> Self {
        self.path = if self.path.is_empty() {
            field.to_owned()
        } else {
            format!("{field}.{}", self.path)
        };
        self
    }

    fn into_message(self) -> String {
        if self.path.is_empty() {
            self.message
        } else {
            format!("{}: {}", self.path, self.message)
        }
    }
}

fn failure(message: impl Into<String>) -> Failure {
    let (path, message) = (String::new(), message.into());
    Failure { path, message }
}

/// A `$patch` directive, in a map or as an item of a list.
enum Directive {
    Merge,
    Replace,
    Delete,
}

fn directive(value: Option<&Value>) -> Outcome<Directive> {
    match value.map(|v| (v, v.as_str())) {
        None | Some((_, Some("merge"))) => Ok(Directive::Merge),
        Some((_, Some("replace"))) => Ok(Directive::Replace),
        Some((_, Some("delete"))) => Ok(Directive::Delete),
        Some((value, _)) => Err(failure(format!(
            "unknown $patch directive {value}: expected replace, delete or merge"
        ))),
    }
}

/// What a key of a patch map is.
enum Key<'a> {
    /// `$patch` or `$retainKeys`: about the map itself.
    MapDirective,
    /// `$setElementOrder/<list>` or `$deleteFromPrimitiveList/<list>`: about a list beside it.
    ListDirective(&'a str),
    Field,
}

fn classify(key: &str) -> Key<'_> {
    let list = key
        .strip_prefix(SET_ORDER)
        .or_else(|| key.strip_prefix(DELETE_FROM));
    match list {
        Some(list) => Key::ListDirective(list),
        None if key == PATCH || key == RETAIN_KEYS => Key::MapDirective,
        None => Key::Field,
    }
}

/// Merges `patch` into `live`, a map held by field `holder`; `None` when the patch deletes it.
fn merge_map(
    mut live: Object,
    patch: &Object,
    holder: &str,
    depth: usize,
) -> Outcome<Option<Object>> {
    match directive(patch.get(PATCH))? {
        Directive::Merge => {}
        Directive::Replace => live.clear(),
        // Removed, as documented; upstream leaves `{}`, which most fields decode the same.
        Directive::Delete => return Ok(None),
    }
    if let Some(keep) = patch.get(RETAIN_KEYS) {
        retain_keys(&mut live, keep, patch)?;
    }
    // Lists are patched last, each with the directives that name it.
    let mut lists = BTreeSet::new();
    for (key, value) in patch {
        match classify(key) {
            Key::MapDirective => {}
            Key::ListDirective(_) if !value.is_array() => {
                return Err(failure(format!("{key} must be a list")));
            }
            Key::ListDirective(list) => {
                lists.insert(list);
            }
            Key::Field if value.is_array() => {
                lists.insert(key.as_str());
            }
            Key::Field => {
                let old = live.remove(key);
                let new = merge_value(old, value, key, depth + 1).map_err(|f| f.in_field(key))?;
                live.extend(new.map(|new| (key.clone(), new)));
            }
        }
    }
    for list in lists {
        let old = live.remove(list);
        let changes = ListPatch::of(patch, list);
        let new = patch_list(old, &changes, patch_strategy(holder, list), list, depth + 1)
            .map_err(|f| f.in_field(list))?;
        live.extend(new.map(|new| (list.to_owned(), new)));
    }
    Ok(Some(live))
}

/// `$retainKeys`: clears the live fields it does not list, so that choosing one member of a
/// union (a Deployment's strategy type, a volume's source) drops the others.
fn retain_keys(live: &mut Object, keep: &Value, patch: &Object) -> Outcome<()> {
    let keep: Vec<&str> = keep
        .as_array()
        .and_then(|names| names.iter().map(Value::as_str).collect())
        .ok_or_else(|| failure("$retainKeys must be a list of field names"))?;
    // As upstream: a patch setting a field it does not retain contradicts itself.
    let stray = patch.iter().find(|(k, v)| {
        matches!(classify(k), Key::Field) && !v.is_null() && !keep.contains(&k.as_str())
    });
    if let Some((k, _)) = stray {
        let message = format!("{k} is set by the patch but not listed in $retainKeys");
        return Err(failure(message));
    }
    live.retain(|k, _| keep.contains(&k.as_str()));
    Ok(())
}

/// The new value of a field or list item from its live value and the patch's: maps merge,
/// `null` removes, anything else replaces. `holder` names the field the value is in.
fn merge_value(
    live: Option<Value>,
    patch: &Value,
    holder: &str,
    depth: usize,
) -> Outcome<Option<Value>> {
    if depth > MAX_DEPTH {
        return Err(failure(format!(
            "the patch nests deeper than {MAX_DEPTH} levels"
        )));
    }
    Ok(match patch {
        Value::Null => None,
        Value::Object(p) => {
            let live = match live {
                Some(Value::Object(m)) => m,
                _ => Object::new(),
            };
            merge_map(live, p, holder, depth)?.map(Value::Object)
        }
        // Only a list in a list gets here, and no list of lists merges.
        Value::Array(items) => Some(Value::Array(fresh_items(items, holder, depth + 1)?)),
        scalar => Some(scalar.clone()),
    })
}

/// List items with no live counterpart, merged into nothing so that their directives apply
/// and vanish: an item saying `$patch: delete` is dropped, a `null` one kept as a value.
fn fresh_items<'a>(
    items: impl IntoIterator<Item = &'a Value>,
    holder: &str,
    depth: usize,
) -> Outcome<Vec<Value>> {
    let mut out = Vec::new();
    for item in items {
        match item {
            Value::Null => out.push(Value::Null),
            _ => out.extend(merge_value(None, item, holder, depth)?),
        }
    }
    Ok(out)
}

/// What a patch map says about one of its lists.
struct ListPatch<'a> {
    items: Option<&'a [Value]>,
    order: &'a [Value],
    deletions: &'a [Value],
}

impl<'a> ListPatch<'a> {
    fn of(patch: &'a Object, list: &str) -> Self {
        let list_at = |key: &str| patch.get(key).and_then(Value::as_array).map(Vec::as_slice);
        ListPatch {
            items: list_at(list),
            order: list_at(&format!("{SET_ORDER}{list}")).unwrap_or_default(),
            deletions: list_at(&format!("{DELETE_FROM}{list}")).unwrap_or_default(),
        }
    }
}

/// The patched value of list field `field`; `None` when it stays absent.
fn patch_list(
    old: Option<Value>,
    patch: &ListPatch,
    strategy: PatchStrategy,
    field: &str,
    depth: usize,
) -> Outcome<Option<Value>> {
    let mut live = match old {
        Some(Value::Array(items)) => items,
        // Directives alone have no list to act on (the field is absent, or the patch set
        // it to something else beside them).
        other if patch.items.is_none() => return Ok(other),
        _ => Vec::new(),
    };
    live.retain(|v| !patch.deletions.iter().any(|d| same(d, v)));
    let key = match strategy {
        PatchStrategy::MergeByKey(key) => Some(key),
        _ => None,
    };
    let items = ListItems::split(patch.items.unwrap_or_default(), key)?;
    let merged = match strategy {
        PatchStrategy::Replace if patch.items.is_none() => live,
        PatchStrategy::Replace => fresh_items(items.plain, field, depth)?,
        _ if items.replace => merge_list(Vec::new(), &items, key, patch.order, field, depth)?,
        _ => merge_list(live, &items, key, patch.order, field, depth)?,
    };
    Ok(Some(Value::Array(merged)))
}

/// A list's patch items: what they say about the list, and the items themselves.
#[derive(Default)]
struct ListItems<'a> {
    /// An item `{"$patch": "replace"}`: the other items replace the live list.
    replace: bool,
    /// Merge keys of the items saying `$patch: delete`.
    deleted: Vec<&'a Value>,
    plain: Vec<&'a Value>,
}

impl<'a> ListItems<'a> {
    fn split(items: &'a [Value], key: Option<&str>) -> Outcome<Self> {
        let mut out = Self::default();
        for item in items {
            match directive(item.get(PATCH))? {
                Directive::Merge => out.plain.push(item),
                Directive::Replace => out.replace = true,
                Directive::Delete => {
                    let key =
                        key.ok_or_else(|| failure("$patch: delete needs a list merged by key"))?;
                    out.deleted
                        .push(item.get(key).ok_or_else(|| missing_key(item, key))?);
                }
            }
        }
        if let Some(key) = key
            && let Some(item) = out.plain.iter().find(|item| item.get(key).is_none())
        {
            return Err(missing_key(item, key));
        }
        Ok(out)
    }
}

fn missing_key(item: &Value, key: &str) -> Failure {
    failure(match item {
        Value::Object(_) => format!("map: {item} does not contain declared merge key: {key}"),
        _ => format!("{item} is not a map with merge key {key}"),
    })
}

/// Merges the patch's items into a list merged by `key`, or into a set of scalars when
/// `key` is `None`, then puts the result in order.
fn merge_list(
    live: Vec<Value>,
    items: &ListItems,
    key: Option<&str>,
    order: &[Value],
    field: &str,
    depth: usize,
) -> Outcome<Vec<Value>> {
    // Each item keeps its live position, which places the items the patch does not name.
    let mut merged: Vec<(Option<usize>, Value)> = Vec::new();
    for (at, item) in live.into_iter().enumerate() {
        let gone = match key {
            Some(key) => item
                .get(key)
                .is_some_and(|id| items.deleted.iter().any(|d| same(d, id))),
            // A set: duplicates collapse into the first.
            None => merged.iter().any(|(_, m)| same(m, &item)),
        };
        if !gone {
            merged.push((Some(at), item));
        }
    }
    for &item in &items.plain {
        if key.is_none() && (item.is_object() || item.is_array()) {
            let message = format!("{item} is not a scalar, and {field} is a set of scalars");
            return Err(failure(message));
        }
        let found = identity(item, key).and_then(|id| {
            merged
                .iter()
                .position(|(_, m)| identity(m, key).is_some_and(|m| same(m, id)))
        });
        match found {
            Some(at) if key.is_some() => {
                if let Some((_, slot)) = merged.get_mut(at) {
                    match merge_value(Some(slot.take()), item, field, depth)? {
                        Some(value) => *slot = value,
                        None => drop(merged.remove(at)),
                    }
                }
            }
            Some(_) => {} // already in the set
            None => merged.extend(
                fresh_items([item], field, depth)?
                    .into_iter()
                    .map(|v| (None, v)),
            ),
        }
    }
    // Upstream refuses a patch list with items `$setElementOrder` omits or orders otherwise;
    // here `$setElementOrder` wins, and the list's other items come after those it names.
    let named = order
        .iter()
        .chain(items.plain.iter().copied())
        .map(|v| identity(v, key).ok_or_else(|| missing_key(v, key.unwrap_or_default())))
        .collect::<Outcome<Vec<_>>>()?;
    Ok(in_order(merged, &named, key))
}

/// What identifies a list item: its merge key's value, or for a set the item itself.
fn identity<'v>(item: &'v Value, key: Option<&str>) -> Option<&'v Value> {
    match key {
        Some(key) => item.get(key),
        None => Some(item),
    }
}

/// Merge keys and set members compare as JSON values, numbers by value (80 equals 80.0)
/// as in upstream's decoded float64s.
fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Upstream's order: the items the patch names (`$setElementOrder` first, then its list) go
/// in the order it names them; every other item keeps its live order and is slotted in
/// before the first named item that follows it in the live list, else at the end.
fn in_order(
    merged: Vec<(Option<usize>, Value)>,
    named: &[&Value],
    key: Option<&str>,
) -> Vec<Value> {
    let rank =
        |item: &Value| identity(item, key).and_then(|id| named.iter().position(|n| same(n, id)));
    let mut ranked = Vec::new();
    let mut others = Vec::new();
    for (at, item) in merged {
        match rank(&item) {
            Some(r) => ranked.push((r, at, item)),
            None => others.push((at, item)),
        }
    }
    ranked.sort_by_key(|(r, _, _)| *r);
    let mut out = Vec::with_capacity(ranked.len() + others.len());
    let mut others = others.into_iter().peekable();
    for (_, at, item) in ranked {
        while let Some((_, other)) = others.next_if(|(other, _)| before(*other, at)) {
            out.push(other);
        }
        out.push(item);
    }
    out.extend(others.map(|(_, other)| other));
    out
}

fn before(a: Option<usize>, b: Option<usize>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if a < b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Each case patches `live`, and gets `want` or is refused with a message containing `error`.
    const CASES: &str = r#"[
{"name": "maps merge and null deletes a key", "live": {"metadata": {"name": "p", "labels": {"a": "1", "b": "2"}}, "spec": {"replicas": 1}},
 "patch": {"metadata": {"labels": {"b": null, "c": "3"}}, "spec": {"replicas": 3}},
 "want": {"metadata": {"name": "p", "labels": {"a": "1", "c": "3"}}, "spec": {"replicas": 3}}},
{"name": "containers merge by name", "live": {"spec": {"containers": [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]}},
 "patch": {"spec": {"containers": [{"name": "b", "image": "b:2"}, {"name": "c", "image": "c:1"}]}},
 "want": {"spec": {"containers": [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:2"}, {"name": "c", "image": "c:1"}]}}},
{"name": "kubectl patch adding a container puts it first, as the kubectl patch task page shows", "live": {"spec": {"template": {"spec": {"containers": [{"name": "patch-demo-ctr", "image": "nginx"}]}}}},
 "patch": {"spec": {"template": {"spec": {"containers": [{"name": "patch-demo-ctr-2", "image": "redis"}]}}}},
 "want": {"spec": {"template": {"spec": {"containers": [{"name": "patch-demo-ctr-2", "image": "redis"}, {"name": "patch-demo-ctr", "image": "nginx"}]}}}}},
{"name": "env merges by name inside its container", "live": {"spec": {"containers": [{"name": "app", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}]}},
 "patch": {"spec": {"containers": [{"name": "app", "env": [{"name": "B", "value": "3"}]}]}},
 "want": {"spec": {"containers": [{"name": "app", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}]}]}}},
{"name": "a container's ports merge by containerPort", "live": {"spec": {"containers": [{"name": "app", "ports": [{"containerPort": 80, "name": "http"}]}]}},
 "patch": {"spec": {"containers": [{"name": "app", "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443}]}]}},
 "want": {"spec": {"containers": [{"name": "app", "ports": [{"containerPort": 80, "name": "http", "protocol": "TCP"}, {"containerPort": 443}]}]}}},
{"name": "volumes merge by name and volumeMounts by mountPath", "live": {"spec": {"volumes": [{"name": "data", "emptyDir": {}}], "containers": [{"name": "app", "volumeMounts": [{"mountPath": "/data", "name": "data"}]}]}},
 "patch": {"spec": {"volumes": [{"name": "data", "emptyDir": {"medium": "Memory"}}], "containers": [{"name": "app", "volumeMounts": [{"mountPath": "/data", "readOnly": true}, {"mountPath": "/cfg", "name": "cfg"}]}]}},
 "want": {"spec": {"volumes": [{"name": "data", "emptyDir": {"medium": "Memory"}}], "containers": [{"name": "app", "volumeMounts": [{"mountPath": "/data", "name": "data", "readOnly": true}, {"mountPath": "/cfg", "name": "cfg"}]}]}}},
{"name": "conditions merge by type, ownerReferences by uid, imagePullSecrets by name", "live": {"metadata": {"ownerReferences": [{"uid": "u1", "kind": "ReplicaSet"}]}, "spec": {"imagePullSecrets": [{"name": "reg"}]}, "status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "Initialized", "status": "True"}]}},
 "patch": {"metadata": {"ownerReferences": [{"uid": "u1", "controller": true}, {"uid": "u2", "kind": "Job"}]}, "spec": {"imagePullSecrets": [{"name": "reg", "x": 1}]}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}},
 "want": {"metadata": {"ownerReferences": [{"uid": "u1", "kind": "ReplicaSet", "controller": true}, {"uid": "u2", "kind": "Job"}]}, "spec": {"imagePullSecrets": [{"name": "reg", "x": 1}]}, "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "Initialized", "status": "True"}]}}},
{"name": "a Service's ports merge by port alone", "live": {"spec": {"ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}, {"port": 443, "targetPort": 8443}]}},
 "patch": {"spec": {"ports": [{"port": 80, "targetPort": 9090}]}},
 "want": {"spec": {"ports": [{"port": 80, "protocol": "TCP", "targetPort": 9090}, {"port": 443, "targetPort": 8443}]}}},
{"name": "$patch: delete removes the item with that key", "live": {"spec": {"containers": [{"name": "a"}, {"name": "b"}]}},
 "patch": {"spec": {"containers": [{"name": "a", "$patch": "delete"}]}},
 "want": {"spec": {"containers": [{"name": "b"}]}}},
{"name": "a $patch: replace item replaces the list by the other items", "live": {"spec": {"containers": [{"name": "a", "image": "a:1"}, {"name": "b"}]}},
 "patch": {"spec": {"containers": [{"name": "c", "image": "c:1"}, {"$patch": "replace"}]}},
 "want": {"spec": {"containers": [{"name": "c", "image": "c:1"}]}}},
{"name": "$patch: replace in a map replaces it whole", "live": {"spec": {"nodeSelector": {"a": "1", "b": "2"}}},
 "patch": {"spec": {"nodeSelector": {"$patch": "replace", "c": "3"}}},
 "want": {"spec": {"nodeSelector": {"c": "3"}}}},
{"name": "$patch: delete in a map deletes it", "live": {"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}},
 "patch": {"spec": {"strategy": {"rollingUpdate": {"$patch": "delete"}}}},
 "want": {"spec": {"strategy": {"type": "RollingUpdate"}}}},
{"name": "$patch: merge is the default, in a map and in a list", "live": {"spec": {"selector": {"a": "1"}, "containers": [{"name": "a", "image": "a:1"}]}},
 "patch": {"spec": {"selector": {"$patch": "merge", "b": "2"}, "containers": [{"name": "a", "$patch": "merge", "image": "a:2"}]}},
 "want": {"spec": {"selector": {"a": "1", "b": "2"}, "containers": [{"name": "a", "image": "a:2"}]}}},
{"name": "$setElementOrder alone reorders a keyed list", "live": {"spec": {"containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}},
 "patch": {"spec": {"$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}]}},
 "want": {"spec": {"containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}]}}},
{"name": "items $setElementOrder leaves out keep their places among the live items", "live": {"spec": {"containers": [{"name": "C"}, {"name": "B"}, {"name": "D"}, {"name": "A"}, {"name": "E"}]}},
 "patch": {"spec": {"$setElementOrder/containers": [{"name": "A"}, {"name": "B"}], "containers": [{"name": "A", "image": "a:2"}]}},
 "want": {"spec": {"containers": [{"name": "C"}, {"name": "D"}, {"name": "A", "image": "a:2"}, {"name": "B"}, {"name": "E"}]}}},
{"name": "without $setElementOrder the patch orders the items it lists", "live": {"spec": {"containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}},
 "patch": {"spec": {"containers": [{"name": "c", "image": "c:2"}, {"name": "a", "image": "a:2"}]}},
 "want": {"spec": {"containers": [{"name": "b"}, {"name": "c", "image": "c:2"}, {"name": "a", "image": "a:2"}]}}},
{"name": "finalizers are a union without duplicates", "live": {"metadata": {"finalizers": ["a", "b", "a"]}},
 "patch": {"metadata": {"finalizers": ["b", "c"]}},
 "want": {"metadata": {"finalizers": ["a", "b", "c"]}}},
{"name": "$deleteFromPrimitiveList removes finalizers", "live": {"metadata": {"finalizers": ["a", "b", "c"]}},
 "patch": {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b", "x"]}},
 "want": {"metadata": {"finalizers": ["a", "c"]}}},
{"name": "$setElementOrder orders finalizers, with a deletion and an addition", "live": {"metadata": {"finalizers": ["b", "e", "a", "c", "d"]}},
 "patch": {"metadata": {"$setElementOrder/finalizers": ["a", "b", "f"], "$deleteFromPrimitiveList/finalizers": ["c"], "finalizers": ["f"]}},
 "want": {"metadata": {"finalizers": ["e", "a", "b", "f", "d"]}}},
{"name": "$retainKeys clears rollingUpdate when a Deployment switches to Recreate", "live": {"spec": {"replicas": 1, "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%"}}}},
 "patch": {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}},
 "want": {"spec": {"replicas": 1, "strategy": {"type": "Recreate"}}}},
{"name": "kubectl taint: taints are replaced whole", "live": {"spec": {"taints": [{"key": "a", "effect": "NoSchedule"}, {"key": "b", "effect": "NoSchedule"}]}},
 "patch": {"spec": {"taints": [{"key": "b", "value": "x", "effect": "NoExecute"}]}},
 "want": {"spec": {"taints": [{"key": "b", "value": "x", "effect": "NoExecute"}]}}},
{"name": "kubectl taint removing the last taint: null deletes the list", "live": {"spec": {"unschedulable": true, "taints": [{"key": "a", "effect": "NoSchedule"}]}},
 "patch": {"spec": {"taints": null}},
 "want": {"spec": {"unschedulable": true}}},
{"name": "tolerations and args are replaced whole", "live": {"spec": {"tolerations": [{"key": "a", "operator": "Exists"}], "containers": [{"name": "app", "args": ["x", "y"]}]}},
 "patch": {"spec": {"tolerations": [{"key": "b", "operator": "Exists"}], "containers": [{"name": "app", "args": ["z"]}]}},
 "want": {"spec": {"tolerations": [{"key": "b", "operator": "Exists"}], "containers": [{"name": "app", "args": ["z"]}]}}},
{"name": "kubectl set image", "live": {"spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}]}}}},
 "patch": {"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"nginx"}],"containers":[{"image":"nginx:1.27","name":"nginx"}]}}}},
 "want": {"spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]}}}}},
{"name": "kubectl rollout restart", "live": {"spec": {"template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web"}]}}}},
 "patch": {"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-01-01T00:00:00Z"}}}}},
 "want": {"spec": {"template": {"metadata": {"labels": {"app": "web"}, "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"}}, "spec": {"containers": [{"name": "web"}]}}}}},
{"name": "kubectl cordon", "live": {"spec": {"podCIDR": "10.0.0.0/24"}}, "patch": {"spec":{"unschedulable":true}},
 "want": {"spec": {"podCIDR": "10.0.0.0/24", "unschedulable": true}}},
{"name": "kubectl uncordon", "live": {"spec": {"podCIDR": "10.0.0.0/24", "unschedulable": true}}, "patch": {"spec":{"unschedulable":null}},
 "want": {"spec": {"podCIDR": "10.0.0.0/24"}}},
{"name": "kubectl edit changing one of two containers' image", "live": {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "app:1"}, {"name": "proxy", "image": "proxy:1"}]}}}},
 "patch": {"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"app"},{"name":"proxy"}],"containers":[{"image":"proxy:2","name":"proxy"}]}}}},
 "want": {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "app:1"}, {"name": "proxy", "image": "proxy:2"}]}}}}},
{"name": "kubectl apply (client-side) removing an env var and adding one", "live": {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "app:1", "env": [{"name": "A", "value": "a"}, {"name": "OLD", "value": "o"}, {"name": "B", "value": "b"}]}]}}}},
 "patch": {"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"app"}],"containers":[{"$setElementOrder/env":[{"name":"A"},{"name":"B"},{"name":"NEW"}],"env":[{"name":"NEW","value":"n"},{"$patch":"delete","name":"OLD"}],"name":"app"}]}}}},
 "want": {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "app:1", "env": [{"name": "A", "value": "a"}, {"name": "B", "value": "b"}, {"name": "NEW", "value": "n"}]}]}}}}},
{"name": "directives in a value with nothing live are applied, never stored", "live": {"spec": {}},
 "patch": {"spec": {"containers": [{"name": "a", "env": [{"name": "X", "$patch": "delete"}]}, {"name": "b", "$patch": "delete"}], "strategy": {"$retainKeys": ["type"], "type": "Recreate"}}},
 "want": {"spec": {"containers": [{"name": "a", "env": []}], "strategy": {"type": "Recreate"}}}},
{"name": "a patch must be an object", "live": {}, "patch": [1], "error": "must be a JSON object"},
{"name": "an unknown $patch is refused", "live": {}, "patch": {"spec": {"containers": [{"name": "a", "$patch": "frob"}]}},
 "error": "spec.containers: unknown $patch directive \"frob\""},
{"name": "a keyed item needs its merge key", "live": {}, "patch": {"spec": {"containers": [{"image": "x"}]}},
 "error": "spec.containers: map: {\"image\":\"x\"} does not contain declared merge key: name"},
{"name": "a keyed list holds maps", "live": {}, "patch": {"spec": {"containers": ["a"]}},
 "error": "\"a\" is not a map with merge key name"},
{"name": "$setElementOrder must be a list", "live": {}, "patch": {"spec": {"$setElementOrder/containers": {"name": "a"}}},
 "error": "spec: $setElementOrder/containers must be a list"},
{"name": "$retainKeys lists every field the patch sets", "live": {},
 "patch": {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": {}}}},
 "error": "spec.strategy: rollingUpdate is set by the patch but not listed in $retainKeys"},
{"name": "a set holds scalars", "live": {}, "patch": {"metadata": {"finalizers": [{"a": 1}]}},
 "error": "finalizers is a set of scalars"},
{"name": "$patch: delete needs a keyed list", "live": {}, "patch": {"spec": {"tolerations": [{"key": "a", "$patch": "delete"}]}},
 "error": "spec.tolerations: $patch: delete needs a list merged by key"},
{"name": "the whole object cannot be deleted", "live": {"a": 1}, "patch": {"$patch": "delete"},
 "error": "cannot delete the whole object"}
]"#;

    #[test]
    fn cases() {
        let cases: Vec<Value> = serde_json::from_str(CASES).expect("CASES is JSON");
        let mut failures = Vec::new();
        for case in &cases {
            let mut target = case["live"].clone();
            let outcome = strategic_merge_patch(&mut target, &case["patch"]);
            let passed = match (case.get("want"), case["error"].as_str(), &outcome) {
                (Some(want), _, Ok(())) => &target == want,
                (None, Some(error), Err(e)) => e.contains(error) && target == case["live"],
                _ => false,
            };
            if !passed {
                failures.push(format!("{}: {outcome:?} {target}", case["name"]));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert!(cases.len() >= 30, "{} cases", cases.len());
    }

    #[test]
    fn deep_patches_are_refused() {
        let mut patch = json!({});
        for _ in 0..300 {
            patch = json!({ "spec": patch });
        }
        let e = strategic_merge_patch(&mut json!({}), &patch).unwrap_err();
        assert!(e.ends_with("the patch nests deeper than 200 levels"), "{e}");
    }
}

#[cfg(test)]
mod prop {
    use super::strategic_merge_patch;
    use proptest::prelude::*;
    use serde_json::Value;

    /// Field names with merge keys and every directive, so that generated patches exercise them.
    const KEYS: &str = "$patch $retainKeys $setElementOrder/containers \
        $setElementOrder/finalizers $deleteFromPrimitiveList/finalizers \
        containers finalizers ports name containerPort spec image";

    fn json() -> impl Strategy<Value = Value> {
        let words = &["a", "name", "replace", "delete", "merge", "image"][..];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            (0..3i64).prop_map(Value::from),
            prop::sample::select(words).prop_map(Value::from),
        ];
        leaf.prop_recursive(5, 64, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                object(inner),
            ]
        })
    }

    fn object(values: impl Strategy<Value = Value>) -> impl Strategy<Value = Value> {
        prop::collection::btree_map(
            prop::sample::select(KEYS.split_whitespace().collect::<Vec<_>>()),
            values,
            0..5,
        )
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.into(), v)).collect()))
    }

    fn has_directive(v: &Value) -> bool {
        match v {
            Value::Object(m) => m
                .iter()
                .any(|(k, v)| k.starts_with('$') || has_directive(v)),
            Value::Array(items) => items.iter().any(has_directive),
            _ => false,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]

        #[test]
        fn never_panics_and_a_refusal_changes_nothing(
            live in prop_oneof![object(json()), json()],
            patch in prop_oneof![object(json()), json()],
        ) {
            let mut target = live.clone();
            match strategic_merge_patch(&mut target, &patch) {
                Err(_) => prop_assert_eq!(&target, &live),
                // Directives are applied, never stored.
                Ok(()) => prop_assert!(has_directive(&live) || !has_directive(&target)),
            }
        }
    }
}
