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
/// send, or the Strict refusal. Kinds without a schema are left as they are.
pub fn check(kind: &Kind, obj: &mut Value, mode: Mode) -> Result<Vec<String>, ApiError> {
    let unknown = match super::crds::prune(kind, obj) {
        Some(unknown) => unknown,
        None => prune_builtin(kind, obj),
    };
    let messages: Vec<String> = unknown
        .iter()
        .map(|f| format!("unknown field \"{f}\""))
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
        let strict = check(deployments(), &mut d.clone(), Mode::Strict).unwrap_err();
        assert_eq!(
            strict.message,
            "strict decoding error: unknown field \"spec.replicass\", unknown field \"spec.template.spec.containers[0].imagee\""
        );
        let warnings = check(deployments(), &mut d, Mode::Warn).unwrap();
        assert_eq!(warnings.len(), 2);
        assert!(d["spec"].get("replicass").is_none());
        assert_eq!(d["metadata"]["labels"]["any"], "label");
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"],
            "1"
        );
    }

    #[test]
    fn modes_parse_as_upstream_names_them() {
        assert_eq!(Mode::from_query(None).unwrap(), Mode::Warn);
        assert_eq!(Mode::from_query(Some("Strict")).unwrap(), Mode::Strict);
        assert!(Mode::from_query(Some("strict")).is_err());
    }
}
