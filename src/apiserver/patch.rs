//! Patches that need no schema: JSON merge patch (RFC 7386: kubectl label, annotate, scale)
//! and JSON patch (RFC 6902: kubectl rollout undo, patch --type json). Strategic merge patch
//! ([`super::smp`]) and server-side apply ([`super::apply`]) merge lists by the kinds' keys.

use serde_json::Value;

/// RFC 7386: objects merge key by key, null deletes, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    let t = target.as_object_mut().expect("made an object above");
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
        } else {
            merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

/// RFC 6902 operations applied in order; the first failure leaves `target` unchanged.
pub fn json_patch(target: &mut Value, ops: &Value) -> Result<(), String> {
    let ops = ops
        .as_array()
        .ok_or("a JSON patch must be an array of operations")?;
    let mut doc = target.clone();
    for (i, op) in ops.iter().enumerate() {
        let fail = |m: String| format!("operation {i} ({}): {m}", op);
        let kind = op["op"]
            .as_str()
            .ok_or_else(|| fail("missing \"op\"".into()))?;
        let path = op["path"]
            .as_str()
            .ok_or_else(|| fail("missing \"path\"".into()))?;
        match kind {
            "add" => add(&mut doc, path, value_of(op).map_err(&fail)?).map_err(&fail)?,
            "remove" => {
                remove(&mut doc, path).map_err(&fail)?;
            }
            "replace" => {
                remove(&mut doc, path).map_err(&fail)?;
                add(&mut doc, path, value_of(op).map_err(&fail)?).map_err(&fail)?;
            }
            "move" | "copy" => {
                let from = op["from"]
                    .as_str()
                    .ok_or_else(|| fail("missing \"from\"".into()))?;
                let v = if kind == "move" {
                    remove(&mut doc, from).map_err(&fail)?
                } else {
                    get(&doc, from)
                        .cloned()
                        .ok_or_else(|| fail(format!("path {from} does not exist")))?
                };
                add(&mut doc, path, v).map_err(&fail)?;
            }
            "test" => {
                let want = value_of(op).map_err(&fail)?;
                if get(&doc, path) != Some(&want) {
                    return Err(fail(format!("testing value {path} failed")));
                }
            }
            other => return Err(fail(format!("unknown operation {other:?}"))),
        }
    }
    *target = doc;
    Ok(())
}

fn value_of(op: &Value) -> Result<Value, String> {
    op.get("value")
        .cloned()
        .ok_or_else(|| "missing \"value\"".into())
}

/// JSON Pointer tokens (RFC 6901), `~1` and `~0` unescaped.
fn tokens(path: &str) -> Result<Vec<String>, String> {
    if path.is_empty() {
        return Ok(vec![]);
    }
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| format!("path {path:?} does not start with /"))?;
    Ok(rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn get<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = doc;
    for t in tokens(path).ok()? {
        cur = match cur {
            Value::Object(m) => m.get(&t)?,
            Value::Array(a) => a.get(t.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn parent<'a>(doc: &'a mut Value, path: &str) -> Result<(&'a mut Value, String), String> {
    let mut toks = tokens(path)?;
    let last = toks
        .pop()
        .ok_or("the whole document cannot be the target")?;
    let mut cur = doc;
    for t in toks {
        cur = match cur {
            Value::Object(m) => m
                .get_mut(&t)
                .ok_or_else(|| format!("path {path} does not exist"))?,
            Value::Array(a) => {
                let i: usize = t
                    .parse()
                    .map_err(|_| format!("{t:?} is not an array index"))?;
                a.get_mut(i)
                    .ok_or_else(|| format!("path {path} does not exist"))?
            }
            _ => return Err(format!("path {path} does not exist")),
        };
    }
    Ok((cur, last))
}

fn add(doc: &mut Value, path: &str, value: Value) -> Result<(), String> {
    if path.is_empty() {
        *doc = value;
        return Ok(());
    }
    let (p, last) = parent(doc, path)?;
    match p {
        Value::Object(m) => {
            m.insert(last, value);
            Ok(())
        }
        Value::Array(a) => {
            let i = if last == "-" {
                a.len()
            } else {
                last.parse()
                    .map_err(|_| format!("{last:?} is not an array index"))?
            };
            if i > a.len() {
                return Err(format!("index {i} is out of range"));
            }
            a.insert(i, value);
            Ok(())
        }
        _ => Err(format!("path {path} does not exist")),
    }
}

fn remove(doc: &mut Value, path: &str) -> Result<Value, String> {
    let (p, last) = parent(doc, path)?;
    match p {
        Value::Object(m) => m
            .remove(&last)
            .ok_or_else(|| format!("path {path} does not exist")),
        Value::Array(a) => {
            let i: usize = last
                .parse()
                .map_err(|_| format!("{last:?} is not an array index"))?;
            (i < a.len())
                .then(|| a.remove(i))
                .ok_or_else(|| format!("index {i} is out of range"))
        }
        _ => Err(format!("path {path} does not exist")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7386() {
        // The RFC's own example.
        let mut t = json!({"title": "Goodbye!", "author": {"givenName": "John", "familyName": "Doe"}, "tags": ["example", "sample"], "content": "This will be unchanged"});
        merge_patch(
            &mut t,
            &json!({"title": "Hello!", "phoneNumber": "+01-123-456-7890", "author": {"familyName": null}, "tags": ["example"]}),
        );
        assert_eq!(
            t,
            json!({"title": "Hello!", "author": {"givenName": "John"}, "tags": ["example"], "content": "This will be unchanged", "phoneNumber": "+01-123-456-7890"})
        );
        let mut labels = json!({"metadata": {"labels": {"a": "1", "b": "2"}}});
        merge_patch(
            &mut labels,
            &json!({"metadata": {"labels": {"b": null, "c": "3"}}}),
        );
        assert_eq!(
            labels,
            json!({"metadata": {"labels": {"a": "1", "c": "3"}}})
        );
    }

    #[test]
    fn json_patch_follows_rfc_6902() {
        let mut d = json!({"spec": {"template": {"x": 1}}, "list": [1, 2, 3], "a/b": {"~c": 5}});
        json_patch(
            &mut d,
            &json!([
                {"op": "test", "path": "/spec/template/x", "value": 1},
                {"op": "replace", "path": "/spec/template", "value": {"y": 2}},
                {"op": "add", "path": "/list/1", "value": 9},
                {"op": "add", "path": "/list/-", "value": 4},
                {"op": "remove", "path": "/list/0"},
                {"op": "copy", "from": "/a~1b/~0c", "path": "/copied"},
                {"op": "move", "from": "/copied", "path": "/moved"}
            ]),
        )
        .unwrap();
        assert_eq!(
            d,
            json!({"spec": {"template": {"y": 2}}, "list": [9, 2, 3, 4], "a/b": {"~c": 5}, "moved": 5})
        );
    }

    #[test]
    fn a_failing_json_patch_changes_nothing() {
        let mut d = json!({"a": 1});
        let e = json_patch(&mut d, &json!([{"op": "replace", "path": "/a", "value": 2}, {"op": "test", "path": "/a", "value": 3}])).unwrap_err();
        assert!(e.contains("testing value /a failed"), "{e}");
        assert_eq!(d, json!({"a": 1}));
        assert!(json_patch(&mut d, &json!([{"op": "remove", "path": "/nope"}])).is_err());
        assert!(json_patch(&mut d, &json!({"op": "add"})).is_err());
        assert!(json_patch(&mut d, &json!([{"op": "frobnicate", "path": "/a"}])).is_err());
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            (-2i64..3).prop_map(Value::from),
            prop_oneof![
                Just("add"),
                Just("remove"),
                Just("replace"),
                Just("move"),
                Just("copy"),
                Just("test"),
                Just("/a"),
                Just("/a/0"),
                Just("/a/-"),
                Just("/b~1c"),
                Just(""),
                Just("/"),
            ]
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            let key = prop_oneof![
                Just("op".to_string()),
                Just("path".to_string()),
                Just("from".to_string()),
                Just("value".to_string()),
                Just("a".to_string()),
            ];
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map(key, inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        /// Any document and any operations: applied, or refused with the document unchanged.
        #[test]
        fn json_patches_apply_or_leave_the_document_alone(doc in json(), ops in json()) {
            let mut d = doc.clone();
            if json_patch(&mut d, &ops).is_err() {
                prop_assert_eq!(d, doc);
            }
        }

        #[test]
        fn merge_patches_never_panic(doc in json(), patch in json()) {
            let mut d = doc;
            merge_patch(&mut d, &patch);
        }
    }
}
