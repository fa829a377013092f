//! Edits of stored JSON objects without parsing them: parsing and re-encoding 10k pods costs
//! more than reading them from etcd, and a plain list needs only each object's
//! resourceVersion put in. The scanner knows just enough JSON (strings, escapes, nesting) to
//! find the members of an object.

/// The byte range of the value of member `key` of the JSON object starting at `start` (its
/// `{`), with the range of the whole member (key, colon and value) — None when absent or when
/// the text is not an object.
fn member(json: &[u8], start: usize, key: &str) -> Option<(usize, usize, usize)> {
    if json.get(start) != Some(&b'{') {
        return None;
    }
    let mut i = start + 1;
    loop {
        i = skip_ws(json, i);
        match json.get(i)? {
            b'}' => return None,
            b',' => {
                i += 1;
                continue;
            }
            b'"' => {}
            _ => return None,
        }
        let key_start = i;
        let key_end = skip_string(json, i)?;
        let name = &json[key_start + 1..key_end - 1];
        i = skip_ws(json, key_end);
        if json.get(i) != Some(&b':') {
            return None;
        }
        let value_start = skip_ws(json, i + 1);
        let value_end = skip_value(json, value_start)?;
        if name == key.as_bytes() {
            return Some((key_start, value_start, value_end));
        }
        i = value_end;
    }
}

fn skip_ws(json: &[u8], mut i: usize) -> usize {
    while json.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// The index just past the string starting at `i` (its opening quote).
fn skip_string(json: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    loop {
        match json.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
}

/// The index just past the value starting at `i`.
fn skip_value(json: &[u8], i: usize) -> Option<usize> {
    match json.get(i)? {
        b'"' => skip_string(json, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match json.get(j)? {
                    b'"' => {
                        j = skip_string(json, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let mut j = i;
            while json
                .get(j)
                .is_some_and(|b| !matches!(b, b',' | b'}' | b']') && !b.is_ascii_whitespace())
            {
                j += 1;
            }
            (j > i).then_some(j)
        }
    }
}

/// A stored object with `metadata.resourceVersion` set; None when the text has no metadata
/// object (the caller then parses it).
pub fn with_resource_version(json: &[u8], rv: i64) -> Option<Vec<u8>> {
    let start = skip_ws(json, 0);
    let (_, meta, _) = member(json, start, "metadata")?;
    if json.get(meta) != Some(&b'{') {
        return None;
    }
    let inner = skip_ws(json, meta + 1);
    let empty = json.get(inner) == Some(&b'}');
    let field = format!(
        "\"resourceVersion\":\"{rv}\"{}",
        if empty { "" } else { "," }
    );
    let mut out = Vec::with_capacity(json.len() + field.len());
    out.extend_from_slice(&json[..=meta]);
    out.extend_from_slice(field.as_bytes());
    out.extend_from_slice(&json[meta + 1..]);
    Some(out)
}

/// The object without `metadata.managedFields` (tables don't show them, and they are often
/// half of an object's size).
pub fn without_managed_fields(json: &[u8]) -> Vec<u8> {
    let start = skip_ws(json, 0);
    let Some((_, meta, _)) = member(json, start, "metadata") else {
        return json.to_vec();
    };
    let Some((key_start, _, value_end)) = member(json, meta, "managedFields") else {
        return json.to_vec();
    };
    // Take a comma along: the one after the member, or else the one before it.
    let after = skip_ws(json, value_end);
    let (cut_start, cut_end) = if json.get(after) == Some(&b',') {
        (key_start, after + 1)
    } else {
        let mut before = key_start;
        while before > meta && json[before - 1].is_ascii_whitespace() {
            before -= 1;
        }
        if json.get(before - 1) == Some(&b',') {
            (before - 1, value_end)
        } else {
            (key_start, value_end)
        }
    };
    let mut out = Vec::with_capacity(json.len());
    out.extend_from_slice(&json[..cut_start]);
    out.extend_from_slice(&json[cut_end..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn parse(b: &[u8]) -> Value {
        serde_json::from_slice(b).unwrap()
    }

    #[test]
    fn the_resource_version_goes_into_metadata() {
        let obj = json!({"apiVersion": "v1", "data": {"metadata": "{\"x\":1}"}, "kind": "ConfigMap", "metadata": {"name": "a\"b", "labels": {"k": "v"}}});
        let out = with_resource_version(obj.to_string().as_bytes(), 42).unwrap();
        let v = parse(&out);
        assert_eq!(v["metadata"]["resourceVersion"], "42");
        assert_eq!(v["metadata"]["name"], "a\"b");
        assert_eq!(
            v["data"], obj["data"],
            "a string that looks like metadata is left alone"
        );
        let empty = with_resource_version(br#"{"metadata":{}}"#, 7).unwrap();
        assert_eq!(parse(&empty), json!({"metadata": {"resourceVersion": "7"}}));
        assert!(with_resource_version(br#"{"kind":"X"}"#, 1).is_none());
        assert!(with_resource_version(b"not json", 1).is_none());
        assert!(with_resource_version(br#"{"metadata":"#, 1).is_none());
    }

    #[test]
    fn managed_fields_are_cut_cleanly_wherever_they_stand() {
        for obj in [
            json!({"metadata": {"managedFields": [{"manager": "a"}], "name": "x"}, "spec": {}}),
            json!({"metadata": {"name": "x", "managedFields": [{"manager": "a"}]}, "spec": {}}),
            json!({"metadata": {"a": 1, "managedFields": [], "name": "x"}}),
            json!({"metadata": {"managedFields": [{"f": "}{]["}]}}),
        ] {
            let out = without_managed_fields(obj.to_string().as_bytes());
            let mut want = obj.clone();
            want["metadata"]
                .as_object_mut()
                .unwrap()
                .remove("managedFields");
            assert_eq!(parse(&out), want);
        }
        let pretty = b"{ \"metadata\" : { \"name\" : \"x\" , \"managedFields\" : [ ] } }";
        assert_eq!(
            parse(&without_managed_fields(pretty)),
            json!({"metadata": {"name": "x"}})
        );
    }
}
