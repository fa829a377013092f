//! Collecting causes: one constructor per upstream `field.ErrorType`, and
//! typed getters that report a field of the wrong JSON type.

use serde_json::Value;

use super::Cause;
use super::intstr::IntStr;
use super::json::{empty_object, present};
use super::path::Path;
use super::render::{quote, render};

// Message heads (upstream `field.ErrorType` strings).
const REQUIRED: &str = "Required value";
const FORBIDDEN: &str = "Forbidden";
const INVALID: &str = "Invalid value";
const UNSUPPORTED: &str = "Unsupported value";
const DUPLICATE: &str = "Duplicate value";
const NOT_FOUND: &str = "Not found";
const TOO_LONG: &str = "Too long";

const IMMUTABLE: &str = "field is immutable";

/// The causes found so far, in the order upstream reports them.
#[derive(Default)]
pub(super) struct Errs(Vec<Cause>);

fn with_detail(head: String, detail: &str) -> String {
    if detail.is_empty() {
        head
    } else {
        format!("{head}: {detail}")
    }
}

impl Errs {
    pub(super) fn into_causes(self) -> Vec<Cause> {
        self.0
    }

    fn add(&mut self, path: &Path, body: String) {
        self.0.push((path.as_str().to_string(), body));
    }

    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    pub(super) fn required(&mut self, path: &Path, detail: &str) {
        self.add(path, with_detail(REQUIRED.to_string(), detail));
    }

    pub(super) fn forbidden(&mut self, path: &Path, detail: &str) {
        self.add(path, with_detail(FORBIDDEN.to_string(), detail));
    }

    /// `value` is already rendered (quoted string, number, Go struct, …).
    pub(super) fn invalid(&mut self, path: &Path, value: &str, detail: &str) {
        self.add(path, with_detail(format!("{INVALID}: {value}"), detail));
    }

    pub(super) fn invalid_str(&mut self, path: &Path, value: &str, detail: &str) {
        self.invalid(path, &quote(value), detail);
    }

    pub(super) fn invalid_int(&mut self, path: &Path, value: i64, detail: &str) {
        self.invalid(path, &value.to_string(), detail);
    }

    /// `value` (already rendered) changed although it may not.
    pub(super) fn immutable(&mut self, path: &Path, value: &str) {
        self.invalid(path, value, IMMUTABLE);
    }

    /// `value` is already rendered; `valid` are quoted here.
    pub(super) fn not_supported(&mut self, path: &Path, value: &str, valid: &[&str]) {
        let list: Vec<String> = valid.iter().map(|v| quote(v)).collect();
        self.add(
            path,
            format!(
                "{UNSUPPORTED}: {value}: supported values: {}",
                list.join(", ")
            ),
        );
    }

    pub(super) fn duplicate(&mut self, path: &Path, value: &str) {
        self.add(path, format!("{DUPLICATE}: {value}"));
    }

    pub(super) fn not_found(&mut self, path: &Path, value: &str) {
        self.add(path, format!("{NOT_FOUND}: {value}"));
    }

    pub(super) fn too_long(&mut self, path: &Path, max_bytes: usize) {
        self.add(
            path,
            format!("{TOO_LONG}: may not be more than {max_bytes} bytes"),
        );
    }

    pub(super) fn type_error(&mut self, path: &Path, v: &Value, what: &str) {
        self.invalid(path, &render(v), &format!("must be {what}"));
    }

    // Typed access. Each getter returns None when the field is absent or null,
    // and reports (then returns None) when it has the wrong JSON type.

    pub(super) fn obj<'a>(
        &mut self,
        parent: &'a Value,
        path: &Path,
        key: &str,
    ) -> Option<&'a Value> {
        let v = present(parent, key)?;
        self.as_obj(v, &path.child(key))
    }

    /// Like [`Errs::obj`], but an empty object when unset or of the wrong
    /// type (upstream decodes these fields into structs, never nil).
    pub(super) fn obj_or_empty<'a>(
        &mut self,
        parent: &'a Value,
        path: &Path,
        key: &str,
    ) -> &'a Value {
        self.obj(parent, path, key).unwrap_or(empty_object())
    }

    pub(super) fn as_obj<'a>(&mut self, v: &'a Value, path: &Path) -> Option<&'a Value> {
        if v.is_object() {
            Some(v)
        } else {
            self.type_error(path, v, "an object");
            None
        }
    }

    pub(super) fn arr<'a>(
        &mut self,
        parent: &'a Value,
        path: &Path,
        key: &str,
    ) -> Option<&'a [Value]> {
        match present(parent, key)? {
            Value::Array(a) => Some(a),
            v => {
                self.type_error(&path.child(key), v, "an array");
                None
            }
        }
    }

    pub(super) fn string<'a>(
        &mut self,
        parent: &'a Value,
        path: &Path,
        key: &str,
    ) -> Option<&'a str> {
        let v = present(parent, key)?;
        self.as_string(v, &path.child(key))
    }

    fn as_string<'a>(&mut self, v: &'a Value, path: &Path) -> Option<&'a str> {
        match v {
            Value::String(s) => Some(s),
            _ => {
                self.type_error(path, v, "a string");
                None
            }
        }
    }

    /// A string that must be present and non-empty (`Required value` otherwise).
    pub(super) fn required_string<'a>(
        &mut self,
        parent: &'a Value,
        path: &Path,
        key: &str,
    ) -> Option<&'a str> {
        match present(parent, key) {
            None => {
                self.required(&path.child(key), "");
                None
            }
            Some(v) => match self.as_string(v, &path.child(key))? {
                "" => {
                    self.required(&path.child(key), "");
                    None
                }
                s => Some(s),
            },
        }
    }

    pub(super) fn int(&mut self, parent: &Value, path: &Path, key: &str) -> Option<i64> {
        let v = present(parent, key)?;
        match v.as_i64() {
            Some(n) => Some(n),
            None => {
                self.type_error(&path.child(key), v, "an integer");
                None
            }
        }
    }

    pub(super) fn boolean(&mut self, parent: &Value, path: &Path, key: &str) -> Option<bool> {
        let v = present(parent, key)?;
        match v.as_bool() {
            Some(b) => Some(b),
            None => {
                self.type_error(&path.child(key), v, "a boolean");
                None
            }
        }
    }

    pub(super) fn int_or_string(
        &mut self,
        parent: &Value,
        path: &Path,
        key: &str,
    ) -> Option<IntStr> {
        let v = present(parent, key)?;
        match v {
            Value::String(s) => Some(IntStr::Str(s.clone())),
            _ => match v.as_i64() {
                Some(n) => Some(IntStr::Int(n)),
                None => {
                    self.type_error(&path.child(key), v, "an integer or a string");
                    None
                }
            },
        }
    }

    /// A map of strings; a null value counts as "" (as Go decodes it).
    pub(super) fn string_map<'a>(
        &mut self,
        parent: &'a Value,
        path: &Path,
        key: &str,
    ) -> Option<Vec<(&'a str, &'a str)>> {
        let m = self.obj(parent, path, key)?.as_object()?;
        let p = path.child(key);
        let mut out = Vec::with_capacity(m.len());
        for (k, v) in m {
            match v {
                Value::String(s) => out.push((k.as_str(), s.as_str())),
                Value::Null => out.push((k.as_str(), "")),
                _ => self.type_error(&p.key(k), v, "a string"),
            }
        }
        Some(out)
    }

    /// A list of strings; wrong-typed items are reported and skipped.
    pub(super) fn string_list<'a>(
        &mut self,
        parent: &'a Value,
        path: &Path,
        key: &str,
    ) -> Vec<&'a str> {
        let Some(items) = self.arr(parent, path, key) else {
            return Vec::new();
        };
        let p = path.child(key);
        let mut out = Vec::with_capacity(items.len());
        for (i, v) in items.iter().enumerate() {
            if let Some(s) = self.as_string(v, &p.index(i)) {
                out.push(s);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::validate_create;
    use serde_json::json;

    #[test]
    fn wrong_json_types_are_causes() {
        assert_only(
            &deployment_causes("/spec/replicas", json!("abc")),
            "spec.replicas",
            "Invalid value: \"abc\": must be an integer",
        );
        assert_only(
            &container_causes("image", json!(5)),
            "spec.containers[0].image",
            "Invalid value: 5: must be a string",
        );
        let mut p = pod();
        set(&mut p, "/spec", json!("abc"));
        assert_cause(
            &validate_create("Pod", &p),
            "spec",
            "Invalid value: \"abc\": must be an object",
        );
        assert_only(
            &validate_create("Pod", &json!([])),
            "",
            "Invalid value: []: must be an object",
        );
        let mut p = pod();
        set(&mut p, "/metadata/labels", json!({"app": 1}));
        assert_only(
            &validate_create("Pod", &p),
            "metadata.labels[app]",
            "Invalid value: 1: must be a string",
        );
    }
}
