//! `?fieldValidation=Strict|Warn|Ignore`: what the server does with fields a kind's schema
//! does not have. As upstream: the object is decoded into its type, so unknown fields never
//! reach storage; Strict refuses the request (`strict decoding error: unknown field
//! "spec.replicass"`), Warn (the default) answers with a `Warning` header per field, Ignore
//! drops them silently. Schemas are the ones /openapi/v3 serves ([`super::openapi`]).

use serde_json::{Map, Value};

use super::status::ApiError;
use crate::kinds::Kind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Strict,
    Warn,
    Ignore,
}

impl Mode {
    /// From the query; a value upstream does not know is a 400, as upstream answers it.
    pub fn from_query(value: Option<&str>) -> Result<Mode, ApiError> {
        match value {
            None | Some("") | Some("Warn") => Ok(Mode::Warn),
            Some("Strict") => Ok(Mode::Strict),
            Some("Ignore") => Ok(Mode::Ignore),
            Some(other) => Err(ApiError::bad_request(format!(
                "fieldValidation {other:?} is invalid, valid values are: Ignore, Warn, Strict"
            ))),
        }
    }
}

/// Removes the fields of `obj` that `kind`'s schema does not have; returns the warnings to
/// send, or the Strict refusal. `duplicates` are the fields the request's body gave twice
/// ([`duplicates`]; the last one counted). Kinds without a schema are left as they are.
pub fn check(
    kind: &Kind,
    obj: &mut Value,
    mode: Mode,
    duplicates: &[String],
) -> Result<Vec<String>, ApiError> {
    let unknown = match super::crds::prune(kind, obj) {
        Some(unknown) => unknown,
        None => prune_builtin(kind, obj),
    };
    let messages: Vec<String> = duplicates
        .iter()
        .map(|f| format!("duplicate field \"{f}\""))
        .chain(unknown.iter().map(|f| format!("unknown field \"{f}\"")))
        .collect();
    match mode {
        Mode::Strict if !messages.is_empty() => Err(ApiError::bad_request(format!(
            "strict decoding error: {}",
            messages.join(", ")
        ))),
        Mode::Warn => Ok(messages),
        _ => Ok(Vec::new()),
    }
}

/// The fields a JSON body gives more than once (`metadata.name`, `spec.containers[0].image`),
/// which decoding into a `Value` would silently collapse to the last. Not JSON: none.
pub fn duplicates(body: &[u8]) -> Vec<String> {
    let found = std::cell::RefCell::new(Vec::new());
    let mut de = serde_json::Deserializer::from_slice(body);
    let seed = Dups {
        path: String::new(),
        found: &found,
        depth: 0,
    };
    match serde::de::DeserializeSeed::deserialize(seed, &mut de) {
        Ok(()) => found.into_inner(),
        Err(_) => Vec::new(),
    }
}

/// Walks a JSON document recording the paths of repeated object keys.
struct Dups<'a> {
    path: String,
    found: &'a std::cell::RefCell<Vec<String>>,
    depth: usize,
}

impl<'de> serde::de::DeserializeSeed<'de> for Dups<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Dups<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = join(&self.path, &key);
            if !seen.insert(key) {
                self.found.borrow_mut().push(path.clone());
            }
            if self.depth >= MAX_DEPTH {
                map.next_value::<serde::de::IgnoredAny>()?;
                continue;
            }
            map.next_value_seed(Dups {
                path,
                found: self.found,
                depth: self.depth + 1,
            })?;
        }
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        loop {
            if self.depth >= MAX_DEPTH {
                if seq.next_element::<serde::de::IgnoredAny>()?.is_none() {
                    return Ok(());
                }
                continue;
            }
            let seed = Dups {
                path: format!("{}[{i}]", self.path),
                found: self.found,
                depth: self.depth + 1,
            };
            if seq.next_element_seed(seed)?.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// Removes the fields a built-in kind's OpenAPI schema does not have; their paths.
fn prune_builtin(kind: &Kind, obj: &mut Value) -> Vec<String> {
    let mut unknown = Vec::new();
    if let Some((schemas, name)) = super::openapi::kind_schema(kind.group, kind.version, kind.kind)
        && let Some(schemas) = schemas.as_object()
    {
        let root = serde_json::json!({ "$ref": format!("#/components/schemas/{name}") });
        prune(obj, &root, schemas, "", &mut unknown, 0);
    }
    unknown
}

/// The schema a `$ref`, or an `allOf` wrapping one, stands for.
fn resolve<'a>(mut schema: &'a Value, schemas: &'a Map<String, Value>) -> &'a Value {
    for _ in 0..16 {
        let next = schema["$ref"]
            .as_str()
            .or_else(|| schema["allOf"][0]["$ref"].as_str())
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
            .and_then(|n| schemas.get(n));
        match next {
            Some(n) => schema = n,
            None => break,
        }
    }
    schema
}

/// Objects deeper than this are not checked further (the body limit bounds them anyway).
const MAX_DEPTH: usize = 64;

fn prune(
    value: &mut Value,
    schema: &Value,
    schemas: &Map<String, Value>,
    path: &str,
    unknown: &mut Vec<String>,
    depth: usize,
) {
    let schema = resolve(schema, schemas);
    if depth > MAX_DEPTH || schema["x-kubernetes-preserve-unknown-fields"] == true {
        return;
    }
    match value {
        Value::Object(m) => {
            if let Some(props) = schema["properties"].as_object() {
                m.retain(|k, _| {
                    let known = props.contains_key(k);
                    if !known {
                        unknown.push(join(path, k));
                    }
                    known
                });
                for (k, v) in m.iter_mut() {
                    prune(v, &props[k], schemas, &join(path, k), unknown, depth + 1);
                }
            } else if schema["additionalProperties"].is_object() {
                for (k, v) in m.iter_mut() {
                    let p = join(path, k);
                    prune(
                        v,
                        &schema["additionalProperties"],
                        schemas,
                        &p,
                        unknown,
                        depth + 1,
                    );
                }
            }
        }
        Value::Array(items) if schema["items"].is_object() => {
            for (i, v) in items.iter_mut().enumerate() {
                let p = format!("{path}[{i}]");
                prune(v, &schema["items"], schemas, &p, unknown, depth + 1);
            }
        }
        _ => {}
    }
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployments() -> &'static Kind {
        crate::kinds::find("apps", "v1", "deployments").unwrap()
    }

    #[test]
    fn unknown_fields_are_named_as_upstream_and_never_kept() {
        let mut d = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"any": "label"}},
            "spec": {"replicass": 3, "template": {"spec": {"containers": [
                {"name": "a", "image": "x", "imagee": "y", "resources": {"limits": {"cpu": "1"}}}
            ]}}},
        });
        let strict = check(deployments(), &mut d.clone(), Mode::Strict, &[]).unwrap_err();
        assert_eq!(
            strict.message,
            "strict decoding error: unknown field \"spec.replicass\", unknown field \"spec.template.spec.containers[0].imagee\""
        );
        let warnings = check(deployments(), &mut d, Mode::Warn, &[]).unwrap();
        assert_eq!(warnings.len(), 2);
        assert!(d["spec"].get("replicass").is_none());
        assert_eq!(d["metadata"]["labels"]["any"], "label");
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"],
            "1"
        );
    }

    #[test]
    fn duplicate_fields_are_found_in_the_raw_body() {
        let body = br#"{"metadata": {"name": "a", "name": "b"}, "spec": {"replicas": 1,
            "template": {"spec": {"containers": [{"name": "c", "image": "x", "image": "y"}]}},
            "replicas": 2}}"#;
        let dups = duplicates(body);
        assert_eq!(
            dups,
            [
                "metadata.name",
                "spec.template.spec.containers[0].image",
                "spec.replicas"
            ]
        );
        let mut d: Value = serde_json::from_slice(body).unwrap();
        let strict = check(deployments(), &mut d, Mode::Strict, &dups).unwrap_err();
        assert!(
            strict
                .message
                .starts_with("strict decoding error: duplicate field \"metadata.name\", "),
            "{}",
            strict.message
        );
        assert!(duplicates(b"not json {").is_empty());
        assert!(duplicates(br#"[{"a":1,"a":2}]"#) == ["[0].a"]);
        let deep = "[".repeat(500) + &"]".repeat(500);
        assert!(duplicates(deep.as_bytes()).is_empty());
    }

    #[test]
    fn modes_parse_as_upstream_names_them() {
        assert_eq!(Mode::from_query(None).unwrap(), Mode::Warn);
        assert_eq!(Mode::from_query(Some("Strict")).unwrap(), Mode::Strict);
        assert!(Mode::from_query(Some("strict")).is_err());
    }
}
