//! Rendering values the way Go prints them (`%q`, `%#v`).

use std::collections::BTreeMap;

use serde_json::Value;

pub(super) use crate::kinds::go::quote;

/// A JSON value as upstream would print the decoded Go value: strings quoted,
/// numbers and booleans plain, null as `null`. Composite values (whose Go
/// struct dump cannot be reproduced) are printed as compact JSON.
pub(super) fn render(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::String(s) => quote(s),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => v.to_string(),
    }
}

pub(super) fn render_opt(v: Option<&Value>) -> String {
    v.map_or_else(|| "null".to_string(), render)
}

/// `%#v` of a `map[string]string`; `None` is a nil map.
pub(super) fn go_string_map(m: Option<&BTreeMap<&str, &str>>) -> String {
    match m {
        None => "map[string]string(nil)".to_string(),
        Some(m) => {
            let items: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}:{}", quote(k), quote(v)))
                .collect();
            format!("map[string]string{{{}}}", items.join(", "))
        }
    }
}

/// `%#v` of a `[]string`; `None` is a nil slice.
pub(super) fn go_string_slice(items: Option<&[&str]>) -> String {
    match items {
        None => "[]string(nil)".to_string(),
        Some(items) => {
            let items: Vec<String> = items.iter().map(|s| quote(s)).collect();
            format!("[]string{{{}}}", items.join(", "))
        }
    }
}

/// `%#v` of a `[]string` that is nil when empty.
pub(super) fn go_strings(items: &[&str]) -> String {
    go_string_slice((!items.is_empty()).then_some(items))
}

/// `%#v` of a pointer to the Go type `ty` whose contents upstream elides.
pub(super) fn go_ptr(set: bool, ty: &str) -> String {
    if set {
        format!("&{ty}{{...}}")
    } else {
        format!("(*{ty})(nil)")
    }
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quoting_matches_go() {
        assert_eq!(quote("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\x01\"");
        assert_eq!(quote("ünï"), "\"ünï\"");
    }
}
