//! ConfigMaps and Secrets.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::base64::{base64_error, go_base64_decode};
use super::errs::Errs;
use super::formats::config_key;
use super::json::{present, qbool, qstr, same_opt};
use super::path::Path;
use super::render::quote;

const IMMUTABLE_WHEN_SET: &str = "field is immutable when `immutable` is set";
const REDACTED: &str = "\"<secret contents redacted>\"";

const DATA_MAX_BYTES: usize = 1024 * 1024;

pub(super) fn config_map(e: &mut Errs, obj: &Value) {
    let root = Path::root();
    let mut total = 0;
    let data = e.string_map(obj, &root, "data").unwrap_or_default();
    let binary = e.string_map(obj, &root, "binaryData").unwrap_or_default();
    let binary_keys: BTreeSet<&str> = binary.iter().map(|(k, _)| *k).collect();
    for (key, value) in &data {
        let p = Path::new("data").key(key);
        for msg in config_key(key) {
            e.invalid_str(&p, key, &msg);
        }
        if binary_keys.contains(key) {
            e.invalid_str(&p, key, "duplicate of key present in binaryData");
        }
        total += value.len();
    }
    for (key, value) in &binary {
        let p = Path::new("binaryData").key(key);
        for msg in config_key(key) {
            e.invalid_str(&p, key, &msg);
        }
        match go_base64_decode(value) {
            Ok(bytes) => total += bytes.len(),
            Err(at) => e.invalid(&p, &quote(value), &base64_error(at)),
        }
    }
    e.boolean(obj, &root, "immutable");
    if total > DATA_MAX_BYTES {
        // Upstream reports the whole object, printed as `[]`.
        e.too_long(&Path::new("[]"), DATA_MAX_BYTES);
    }
}

pub(super) fn config_map_update(e: &mut Errs, old: &Value, new: &Value) {
    immutable_data(e, old, new, &["data", "binaryData"]);
}

pub(super) fn secret(e: &mut Errs, obj: &Value) {
    let root = Path::root();
    let dp = Path::new("data");
    // stringData is merged into data before upstream validates.
    let mut data: BTreeMap<&str, Option<Vec<u8>>> = BTreeMap::new();
    for (key, value) in e.string_map(obj, &root, "data").unwrap_or_default() {
        let decoded = match go_base64_decode(value) {
            Ok(bytes) => Some(bytes),
            Err(at) => {
                e.invalid(&dp.key(key), REDACTED, &base64_error(at));
                None
            }
        };
        data.insert(key, decoded);
    }
    for (key, value) in e.string_map(obj, &root, "stringData").unwrap_or_default() {
        data.insert(key, Some(value.as_bytes().to_vec()));
    }
    let mut total = 0;
    for (key, value) in &data {
        for msg in config_key(key) {
            e.invalid_str(&dp.key(key), key, &msg);
        }
        total += value.as_ref().map_or(0, Vec::len);
    }
    if total > DATA_MAX_BYTES {
        e.too_long(&dp, DATA_MAX_BYTES);
    }
    e.boolean(obj, &root, "immutable");
    let kind = e.string(obj, &root, "type").unwrap_or("");
    let has = |k: &str| data.contains_key(k);
    let bytes = |k: &str| data.get(k).and_then(|v| v.as_deref());
    match kind {
        "kubernetes.io/service-account-token" => {
            let name = obj
                .get("metadata")
                .and_then(|m| m.get("annotations"))
                .and_then(|a| qstr(a, "kubernetes.io/service-account.name"))
                .unwrap_or("");
            if name.is_empty() {
                e.required(
                    &Path::new("metadata.annotations").key("kubernetes.io/service-account.name"),
                    "",
                );
            }
        }
        "kubernetes.io/dockercfg" | "kubernetes.io/dockerconfigjson" => {
            let key = if kind == "kubernetes.io/dockercfg" {
                ".dockercfg"
            } else {
                ".dockerconfigjson"
            };
            if !has(key) {
                e.required(&dp.key(key), "");
            } else if let Some(content) = bytes(key)
                && let Err(msg) = json_object(content)
            {
                e.invalid(&dp.key(key), REDACTED, &msg);
            }
        }
        "kubernetes.io/basic-auth" if !has("username") && !has("password") => {
            e.required(&dp.key("username"), "");
            e.required(&dp.key("password"), "");
        }
        "kubernetes.io/ssh-auth" if bytes("ssh-privatekey").is_none_or(<[u8]>::is_empty) => {
            e.required(&dp.key("ssh-privatekey"), "");
        }
        "kubernetes.io/tls" => {
            for key in ["tls.crt", "tls.key"] {
                if !has(key) {
                    e.required(&dp.key(key), "");
                }
            }
        }
        _ => {}
    }
}

pub(super) fn secret_update(e: &mut Errs, old: &Value, new: &Value) {
    // An unset type is stored as Opaque.
    fn kind(v: &Value) -> &str {
        match qstr(v, "type") {
            None | Some("") => "Opaque",
            Some(t) => t,
        }
    }
    if kind(old) != kind(new) {
        e.immutable(&Path::new("type"), &quote(kind(new)));
    }
    immutable_data(e, old, new, &["data"]);
}

/// Once `immutable: true`, the data may not change and the flag stays.
fn immutable_data(e: &mut Errs, old: &Value, new: &Value, keys: &[&str]) {
    if qbool(old, "immutable") != Some(true) {
        return;
    }
    if qbool(new, "immutable") != Some(true) {
        e.forbidden(&Path::new("immutable"), IMMUTABLE_WHEN_SET);
    }
    for key in keys {
        if !same_opt(present(old, key), present(new, key)) {
            e.forbidden(&Path::new(key), IMMUTABLE_WHEN_SET);
        }
    }
}

/// Whether `content` decodes as a JSON object (as upstream unmarshals docker
/// configs into a map), with Go's error wording for the common failures.
fn json_object(content: &[u8]) -> Result<(), String> {
    match serde_json::from_slice::<Value>(content) {
        Ok(Value::Object(_) | Value::Null) => Ok(()),
        Ok(v) => {
            let kind = match v {
                Value::Bool(_) => "bool",
                Value::Number(_) => "number",
                Value::String(_) => "string",
                _ => "array",
            };
            Err(format!(
                "json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}"
            ))
        }
        Err(err) if err.is_eof() => Err("unexpected end of JSON input".to_string()),
        Err(err) => {
            let first = content.iter().find(|b| !b.is_ascii_whitespace());
            match first {
                Some(&c) if !b"{[\"-0123456789tfn".contains(&c) => Err(format!(
                    "invalid character '{}' looking for beginning of value",
                    char::from(c)
                )),
                _ => Err(format!("invalid JSON: {err}")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::{validate_create, validate_update};
    use serde_json::json;

    #[test]
    fn config_maps() {
        let cm = json!({"metadata": {"name": "c"}, "data": {"bad key": "x"}});
        assert_only(
            &validate_create("ConfigMap", &cm),
            "data[bad key]",
            &format!("Invalid value: \"bad key\": {CONFIG_KEY_ERR}"),
        );
        let cm = json!({"metadata": {"name": "c"}, "data": {"..x": "x"}});
        assert_only(
            &validate_create("ConfigMap", &cm),
            "data[..x]",
            "Invalid value: \"..x\": must not start with '..'",
        );
        let cm =
            json!({"metadata": {"name": "c"}, "data": {"k": "x"}, "binaryData": {"k": "eA=="}});
        assert_only(
            &validate_create("ConfigMap", &cm),
            "data[k]",
            "Invalid value: \"k\": duplicate of key present in binaryData",
        );
        let cm = json!({"metadata": {"name": "c"}, "data": {"k": "x".repeat(1024 * 1024 + 1)}});
        assert_only(
            &validate_create("ConfigMap", &cm),
            "[]",
            "Too long: may not be more than 1048576 bytes",
        );

        let old = json!({"metadata": {"name": "c"}, "data": {"k": "v"}, "immutable": true});
        let mut new = old.clone();
        set(&mut new, "/data/k", json!("w"));
        assert_only(
            &validate_update("ConfigMap", &old, &new),
            "data",
            "Forbidden: field is immutable when `immutable` is set",
        );
        let mut new = old.clone();
        set(&mut new, "/immutable", json!(false));
        assert_only(
            &validate_update("ConfigMap", &old, &new),
            "immutable",
            "Forbidden: field is immutable when `immutable` is set",
        );
        let mut mutable = old.clone();
        set(&mut mutable, "/immutable", json!(false));
        assert_eq!(validate_update("ConfigMap", &mutable, &new), vec![]);
    }

    #[test]
    fn secrets() {
        let s = json!({"metadata": {"name": "s"}, "data": {"k": "not base64!"}});
        assert_only(
            &validate_create("Secret", &s),
            "data[k]",
            "Invalid value: \"<secret contents redacted>\": illegal base64 data at input byte 3",
        );
        let s = json!({"metadata": {"name": "s"}, "data": {"k": "YWJj\nZA=="}});
        assert_eq!(validate_create("Secret", &s), vec![]);
        let s = json!({"metadata": {"name": "s"}, "type": "kubernetes.io/tls", "data": {"tls.crt": "eA=="}});
        assert_only(
            &validate_create("Secret", &s),
            "data[tls.key]",
            "Required value",
        );
        let s = json!({"metadata": {"name": "s"}, "type": "kubernetes.io/dockerconfigjson", "data": {}});
        assert_only(
            &validate_create("Secret", &s),
            "data[.dockerconfigjson]",
            "Required value",
        );
        let s = json!({"metadata": {"name": "s"}, "type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": "aGk="}});
        assert_only(
            &validate_create("Secret", &s),
            "data[.dockerconfigjson]",
            "Invalid value: \"<secret contents redacted>\": invalid character 'h' looking for beginning of value",
        );
        let s = json!({"metadata": {"name": "s"}, "type": "kubernetes.io/service-account-token"});
        assert_only(
            &validate_create("Secret", &s),
            "metadata.annotations[kubernetes.io/service-account.name]",
            "Required value",
        );
        let s = json!({"metadata": {"name": "s"}, "stringData": {"a b": "x"}});
        assert_only(
            &validate_create("Secret", &s),
            "data[a b]",
            &format!("Invalid value: \"a b\": {CONFIG_KEY_ERR}"),
        );

        let old = json!({"metadata": {"name": "s"}, "type": "Opaque", "data": {"k": "eA=="}});
        let mut new = old.clone();
        set(&mut new, "/type", json!("kubernetes.io/basic-auth"));
        set(&mut new, "/data", json!({"username": "eA=="}));
        assert_only(
            &validate_update("Secret", &old, &new),
            "type",
            "Invalid value: \"kubernetes.io/basic-auth\": field is immutable",
        );
        let mut frozen = old.clone();
        set(&mut frozen, "/immutable", json!(true));
        let mut new = frozen.clone();
        set(&mut new, "/data/k", json!("eQ=="));
        assert_only(
            &validate_update("Secret", &frozen, &new),
            "data",
            "Forbidden: field is immutable when `immutable` is set",
        );
    }
}
