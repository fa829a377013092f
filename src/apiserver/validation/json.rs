//! Reading JSON quietly (for values already checked) and comparing it the
//! way upstream's semantic equality does.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde_json::{Map, Value};

/// The field `key` of `parent` unless it is absent or null.
pub(super) fn present<'a>(parent: &'a Value, key: &str) -> Option<&'a Value> {
    match parent.get(key) {
        None | Some(Value::Null) => None,
        Some(v) => Some(v),
    }
}

/// Reads a string without reporting anything (for values already checked).
pub(super) fn qstr<'a>(parent: &'a Value, key: &str) -> Option<&'a str> {
    parent.get(key).and_then(Value::as_str)
}

pub(super) fn qint(parent: &Value, key: &str) -> Option<i64> {
    parent.get(key).and_then(Value::as_i64)
}

pub(super) fn qbool(parent: &Value, key: &str) -> Option<bool> {
    parent.get(key).and_then(Value::as_bool)
}

pub(super) fn qarr<'a>(parent: &'a Value, key: &str) -> &'a [Value] {
    match parent.get(key) {
        Some(Value::Array(a)) => a,
        _ => &[],
    }
}

pub(super) fn qmap<'a>(parent: &'a Value, key: &str) -> Option<&'a Map<String, Value>> {
    parent.get(key).and_then(Value::as_object)
}

/// Label-style map read quietly: string values only, sorted by key.
pub(super) fn qstring_map<'a>(parent: &'a Value, key: &str) -> Option<BTreeMap<&'a str, &'a str>> {
    let m = qmap(parent, key)?;
    Some(
        m.iter()
            .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or("")))
            .collect(),
    )
}

/// `{}`, for fields that upstream decodes into a struct even when unset.
pub(super) fn empty_object() -> &'static Value {
    static EMPTY: LazyLock<Value> = LazyLock::new(|| Value::Object(Map::new()));
    &EMPTY
}

/// `obj.spec` read quietly for update checks: an empty object unless it is one.
pub(super) fn spec_of(obj: &Value) -> &Value {
    obj.get("spec")
        .filter(|s| s.is_object())
        .unwrap_or(empty_object())
}

// Comparing JSON the way upstream's semantic equality does.

/// Drops nulls and empty lists, which decode to the same Go values as absence.
pub(super) fn normalize(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()))
                .map(|(k, v)| (k.clone(), normalize(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        _ => v.clone(),
    }
}

pub(super) fn same(a: &Value, b: &Value) -> bool {
    normalize(a) == normalize(b)
}

pub(super) fn same_opt(a: Option<&Value>, b: Option<&Value>) -> bool {
    let empty_list = |v: &Value| v.as_array().is_some_and(Vec::is_empty);
    match (a, b) {
        (Some(a), Some(b)) => same(a, b),
        (None, None) => true,
        (Some(v), None) | (None, Some(v)) => empty_list(v),
    }
}
