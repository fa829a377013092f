//! Validation of API objects held as JSON, following the checks the upstream
//! Kubernetes apiserver (1.33) makes and the words it uses for each failure.
//!
//! A failure is a [`Cause`]: the field path as upstream prints it and the
//! message body (`Required value`, `Invalid value: "x": …`). Values inside a
//! message are rendered the way Go renders them in 1.33 (`%q` for strings,
//! `%#v` for maps and structs), because that is what kubectl users read.
//!
//! Objects reach us already defaulted, so fields the apiserver would default
//! (restartPolicy, protocol, imagePullPolicy, strategy, …) are only checked
//! when present. A field of the wrong JSON type, which upstream would refuse
//! while decoding, becomes `Invalid value: <json>: must be <type>`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde_json::{Map, Value};

/// One reason an object is invalid: the field path as upstream prints it
/// (`spec.template.spec.containers[0].name`) and the message.
pub type Cause = (String, String);

// Message heads (upstream `field.ErrorType` strings).
const REQUIRED: &str = "Required value";
const FORBIDDEN: &str = "Forbidden";
const INVALID: &str = "Invalid value";
const UNSUPPORTED: &str = "Unsupported value";
const DUPLICATE: &str = "Duplicate value";
const NOT_FOUND: &str = "Not found";
const TOO_LONG: &str = "Too long";

// Fixed details.
const IMMUTABLE: &str = "field is immutable";
const IMMUTABLE_WHEN_SET: &str = "field is immutable when `immutable` is set";
const NEGATIVE: &str = "must be greater than or equal to 0";
const SELECTOR_MISMATCH: &str = "`selector` does not match template `labels`";
const PORT_RANGE: &str = "must be between 1 and 65535, inclusive";
const VOLUME_TYPE_MISSING: &str = "must specify a volume type";
const VOLUME_TYPE_MULTI: &str = "may not specify more than 1 volume type";
const HANDLER_MISSING: &str = "must specify a handler type";
const HANDLER_MULTI: &str = "may not specify more than 1 handler type";
const FILE_MODE: &str = "must be a number between 0 and 0777 (octal), both inclusive";
const INVALID_IP: &str = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";
const INVALID_CIDR: &str = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)";
const NOT_FOR_INIT: &str = "may not be set for init containers without restartPolicy=Always";
const ONLY_LOAD_BALANCER: &str = "may only be used when `type` is 'LoadBalancer'";
const MAY_NOT_CHANGE: &str = "may not change once set";
const UPDATABLE_POD_FIELDS: &str = "pod updates may not change fields other than \
`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,\
`spec.tolerations` (only additions to existing tolerations),\
`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";
const STATEFULSET_UPDATE: &str = "updates to statefulset spec for fields other than 'replicas', \
'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and \
'minReadySeconds' are forbidden";
const REDACTED: &str = "\"<secret contents redacted>\"";

// Name formats and their explanations.
const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', \
and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of \
alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case \
alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS_SUBDOMAIN_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case \
alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const CONFIG_KEY_FMT: &str = "[-._a-zA-Z0-9]+";
const CONFIG_KEY_MSG: &str =
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.'";
const ENV_NAME_MSG: &str = "a valid environment variable name must consist only of printable \
ASCII characters other than '='";
const PERCENT_FMT: &str = "[0-9]+%";
const PERCENT_MSG: &str =
    "a valid percent string must be a numeric string followed by an ending '%'";

const ANNOTATIONS_MAX_BYTES: usize = 256 * 1024;
const DATA_MAX_BYTES: usize = 1024 * 1024;
const MAX_INT32: i64 = i32::MAX as i64;

// ---------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------

/// Causes for an object about to be created. `kind` is the Kind name
/// ("Pod", "Deployment", …).
pub fn validate_create(kind: &str, obj: &Value) -> Vec<Cause> {
    let mut e = Errs::default();
    object(&mut e, kind, obj, None);
    e.0
}

/// Causes for an update: everything [`validate_create`] checks on `new`, plus
/// what may not change compared with `old`.
pub fn validate_update(kind: &str, old: &Value, new: &Value) -> Vec<Cause> {
    let mut e = Errs::default();
    object(&mut e, kind, new, Some(old));
    if old.is_object() && new.is_object() {
        match kind {
            "Pod" => pod_update(&mut e, old, new),
            "Deployment" | "ReplicaSet" | "DaemonSet" => selector_immutable(&mut e, old, new),
            "StatefulSet" => stateful_set_update(&mut e, old, new),
            "Job" => job_update(&mut e, old, new),
            "Service" => service_update(&mut e, old, new),
            "ConfigMap" => config_map_update(&mut e, old, new),
            "Secret" => secret_update(&mut e, old, new),
            _ => {}
        }
    }
    e.0
}

fn object(e: &mut Errs, kind: &str, obj: &Value, old: Option<&Value>) {
    let root = Path::root();
    if !obj.is_object() {
        e.type_error(&root, obj, "an object");
        return;
    }
    object_meta(e, obj);
    match kind {
        "Pod" => pod(e, obj),
        "PodTemplate" => pod_template_object(e, obj),
        "Deployment" => with_spec(e, obj, deployment_spec),
        "ReplicaSet" => with_spec(e, obj, replica_set_spec),
        "ReplicationController" => with_spec(e, obj, replication_controller_spec),
        "StatefulSet" => with_spec(e, obj, stateful_set_spec),
        "DaemonSet" => with_spec(e, obj, daemon_set_spec),
        "Job" => job(e, obj, old.is_none()),
        "CronJob" => cron_job(e, obj, old),
        "Service" => match old {
            Some(old) => service(e, &drop_type_dependent_fields(old, obj)),
            None => service(e, obj),
        },
        "ConfigMap" => config_map(e, obj),
        "Secret" => secret(e, obj),
        "Node" => node(e, obj),
        _ => {}
    }
}

/// Runs `check` on `obj.spec`, treating a missing spec as an empty one.
fn with_spec(e: &mut Errs, obj: &Value, check: fn(&mut Errs, &Value, &Path)) {
    let empty = empty_object();
    let spec = e.obj(obj, &Path::root(), "spec").unwrap_or(&empty);
    check(e, spec, &Path::new("spec"));
}

// ---------------------------------------------------------------------------
// Field paths and collected causes
// ---------------------------------------------------------------------------

/// A field path printed the upstream way: `spec.containers[0].ports[1]`,
/// map keys in brackets without quotes (`metadata.annotations[a/b]`).
#[derive(Clone, Debug)]
struct Path(String);

impl Path {
    fn root() -> Path {
        Path(String::new())
    }

    fn new(name: &str) -> Path {
        Path(name.to_string())
    }

    fn child(&self, name: &str) -> Path {
        if self.0.is_empty() {
            Path(name.to_string())
        } else {
            Path(format!("{}.{}", self.0, name))
        }
    }

    fn index(&self, i: usize) -> Path {
        Path(format!("{}[{}]", self.0, i))
    }

    fn key(&self, k: &str) -> Path {
        Path(format!("{}[{}]", self.0, k))
    }
}

#[derive(Default)]
struct Errs(Vec<Cause>);

fn with_detail(head: String, detail: &str) -> String {
    if detail.is_empty() {
        head
    } else {
        format!("{head}: {detail}")
    }
}

impl Errs {
    fn add(&mut self, path: &Path, body: String) {
        self.0.push((path.0.clone(), body));
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn required(&mut self, path: &Path, detail: &str) {
        self.add(path, with_detail(REQUIRED.to_string(), detail));
    }

    fn forbidden(&mut self, path: &Path, detail: &str) {
        self.add(path, with_detail(FORBIDDEN.to_string(), detail));
    }

    /// `value` is already rendered (quoted string, number, Go struct, …).
    fn invalid(&mut self, path: &Path, value: &str, detail: &str) {
        self.add(path, with_detail(format!("{INVALID}: {value}"), detail));
    }

    fn invalid_str(&mut self, path: &Path, value: &str, detail: &str) {
        self.invalid(path, &quote(value), detail);
    }

    fn invalid_int(&mut self, path: &Path, value: i64, detail: &str) {
        self.invalid(path, &value.to_string(), detail);
    }

    /// `value` is already rendered; `valid` are quoted here.
    fn not_supported(&mut self, path: &Path, value: &str, valid: &[&str]) {
        let list: Vec<String> = valid.iter().map(|v| quote(v)).collect();
        self.add(
            path,
            format!(
                "{UNSUPPORTED}: {value}: supported values: {}",
                list.join(", ")
            ),
        );
    }

    fn duplicate(&mut self, path: &Path, value: &str) {
        self.add(path, format!("{DUPLICATE}: {value}"));
    }

    fn not_found(&mut self, path: &Path, value: &str) {
        self.add(path, format!("{NOT_FOUND}: {value}"));
    }

    fn too_long(&mut self, path: &Path, max_bytes: usize) {
        self.add(
            path,
            format!("{TOO_LONG}: may not be more than {max_bytes} bytes"),
        );
    }

    fn type_error(&mut self, path: &Path, v: &Value, what: &str) {
        self.invalid(path, &render(v), &format!("must be {what}"));
    }

    // Typed access. Each getter returns None when the field is absent or null,
    // and reports (then returns None) when it has the wrong JSON type.

    fn obj<'a>(&mut self, parent: &'a Value, path: &Path, key: &str) -> Option<&'a Value> {
        let v = present(parent, key)?;
        self.as_obj(v, &path.child(key))
    }

    fn as_obj<'a>(&mut self, v: &'a Value, path: &Path) -> Option<&'a Value> {
        if v.is_object() {
            Some(v)
        } else {
            self.type_error(path, v, "an object");
            None
        }
    }

    fn arr<'a>(&mut self, parent: &'a Value, path: &Path, key: &str) -> Option<&'a [Value]> {
        match present(parent, key)? {
            Value::Array(a) => Some(a),
            v => {
                self.type_error(&path.child(key), v, "an array");
                None
            }
        }
    }

    fn string<'a>(&mut self, parent: &'a Value, path: &Path, key: &str) -> Option<&'a str> {
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
    fn required_string<'a>(
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

    fn int(&mut self, parent: &Value, path: &Path, key: &str) -> Option<i64> {
        let v = present(parent, key)?;
        match v.as_i64() {
            Some(n) => Some(n),
            None => {
                self.type_error(&path.child(key), v, "an integer");
                None
            }
        }
    }

    fn boolean(&mut self, parent: &Value, path: &Path, key: &str) -> Option<bool> {
        let v = present(parent, key)?;
        match v.as_bool() {
            Some(b) => Some(b),
            None => {
                self.type_error(&path.child(key), v, "a boolean");
                None
            }
        }
    }

    fn int_or_string(&mut self, parent: &Value, path: &Path, key: &str) -> Option<IntStr> {
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
    fn string_map<'a>(
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
    fn string_list<'a>(&mut self, parent: &'a Value, path: &Path, key: &str) -> Vec<&'a str> {
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

/// The field `key` of `parent` unless it is absent or null.
fn present<'a>(parent: &'a Value, key: &str) -> Option<&'a Value> {
    match parent.get(key) {
        None | Some(Value::Null) => None,
        Some(v) => Some(v),
    }
}

/// Reads a string without reporting anything (for values already checked).
fn qstr<'a>(parent: &'a Value, key: &str) -> Option<&'a str> {
    parent.get(key).and_then(Value::as_str)
}

fn qint(parent: &Value, key: &str) -> Option<i64> {
    parent.get(key).and_then(Value::as_i64)
}

fn qarr<'a>(parent: &'a Value, key: &str) -> &'a [Value] {
    match parent.get(key) {
        Some(Value::Array(a)) => a,
        _ => &[],
    }
}

fn qmap<'a>(parent: &'a Value, key: &str) -> Option<&'a Map<String, Value>> {
    parent.get(key).and_then(Value::as_object)
}

/// Label-style map read quietly: string values only, sorted by key.
fn qstring_map<'a>(parent: &'a Value, key: &str) -> Option<BTreeMap<&'a str, &'a str>> {
    let m = qmap(parent, key)?;
    Some(
        m.iter()
            .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or("")))
            .collect(),
    )
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

// ---------------------------------------------------------------------------
// Rendering values the way Go prints them
// ---------------------------------------------------------------------------

/// Go's `%q` / `strconv.Quote`.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A JSON value as upstream would print the decoded Go value: strings quoted,
/// numbers and booleans plain, null as `null`. Composite values (whose Go
/// struct dump cannot be reproduced) are printed as compact JSON.
fn render(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::String(s) => quote(s),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => v.to_string(),
    }
}

fn render_opt(v: Option<&Value>) -> String {
    v.map_or_else(|| "null".to_string(), render)
}

/// `%#v` of a `map[string]string`; `None` is a nil map.
fn go_string_map(m: Option<&BTreeMap<&str, &str>>) -> String {
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
fn go_string_slice(items: Option<&[Value]>) -> String {
    match items {
        None => "[]string(nil)".to_string(),
        Some(items) => {
            let items: Vec<String> = items
                .iter()
                .map(|v| quote(v.as_str().unwrap_or("")))
                .collect();
            format!("[]string{{{}}}", items.join(", "))
        }
    }
}

fn go_strings(items: &[&str]) -> String {
    if items.is_empty() {
        return "[]string(nil)".to_string();
    }
    let items: Vec<String> = items.iter().map(|s| quote(s)).collect();
    format!("[]string{{{}}}", items.join(", "))
}

/// `%#v` of a `metav1.LabelSelector` (what kubectl shows for selectors).
fn render_selector(sel: Option<&Value>) -> String {
    let Some(sel) = sel else {
        return "null".to_string();
    };
    let labels = qstring_map(sel, "matchLabels");
    let exprs = match sel.get("matchExpressions") {
        Some(Value::Array(items)) => {
            let items: Vec<String> = items
                .iter()
                .map(|r| {
                    format!(
                        "v1.LabelSelectorRequirement{{Key:{}, Operator:{}, Values:{}}}",
                        quote(qstr(r, "key").unwrap_or("")),
                        quote(qstr(r, "operator").unwrap_or("")),
                        go_string_slice(
                            r.get("values").and_then(Value::as_array).map(Vec::as_slice)
                        ),
                    )
                })
                .collect();
            format!("[]v1.LabelSelectorRequirement{{{}}}", items.join(", "))
        }
        _ => "[]v1.LabelSelectorRequirement(nil)".to_string(),
    };
    format!(
        "v1.LabelSelector{{MatchLabels:{}, MatchExpressions:{exprs}}}",
        go_string_map(labels.as_ref())
    )
}

/// An `intstr.IntOrString` value (maxSurge, targetPort, …).
#[derive(Clone, Debug)]
enum IntStr {
    Int(i64),
    Str(String),
}

impl IntStr {
    /// `%#v` of the Go struct.
    fn go(&self) -> String {
        match self {
            IntStr::Int(n) => format!("intstr.IntOrString{{Type:0, IntVal:{n}, StrVal:\"\"}}"),
            IntStr::Str(s) => {
                format!(
                    "intstr.IntOrString{{Type:1, IntVal:0, StrVal:{}}}",
                    quote(s)
                )
            }
        }
    }

    /// The number a percentage or integer stands for; other strings count as
    /// their integer parse, or 0.
    fn value(&self) -> i64 {
        match self {
            IntStr::Int(n) => *n,
            IntStr::Str(s) => match percent_value(s) {
                Some(p) => p,
                None => s.parse().unwrap_or(0),
            },
        }
    }
}

fn percent_value(s: &str) -> Option<i64> {
    let digits = s.strip_suffix('%')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse().unwrap_or(i64::MAX))
}

// ---------------------------------------------------------------------------
// Name and value formats
// ---------------------------------------------------------------------------

fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    if examples.is_empty() {
        return format!("{msg} (regex used for validation is '{fmt}')");
    }
    let mut s = format!("{msg} (e.g. ");
    for (i, example) in examples.iter().enumerate() {
        if i > 0 {
            s.push_str(" or ");
        }
        let _ = write!(s, "'{example}', ");
    }
    let _ = write!(s, "regex used for validation is '{fmt}')");
    s
}

fn max_len_error(n: usize) -> String {
    format!("must be no more than {n} characters")
}

fn is_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// Label keys, annotation keys, taint keys: `[prefix/]name`.
fn qualified_name(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else {
                errs.extend(
                    dns1123_subdomain(prefix)
                        .into_iter()
                        .map(|m| format!("prefix part {m}")),
                );
            }
            *name
        }
        _ => {
            return vec![format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(
                    QUALIFIED_NAME_MSG,
                    QUALIFIED_NAME_FMT,
                    &["MyName", "my.name", "123-abc"]
                )
            )];
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > 63 {
        errs.push(format!("name part {}", max_len_error(63)));
    }
    if !is_qualified_name_part(name) {
        errs.push(format!(
            "name part {}",
            regex_error(
                QUALIFIED_NAME_MSG,
                QUALIFIED_NAME_FMT,
                &["MyName", "my.name", "123-abc"]
            )
        ));
    }
    errs
}

fn label_value(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push(max_len_error(63));
    }
    if !value.is_empty() && !is_qualified_name_part(value) {
        errs.push(regex_error(
            LABEL_VALUE_MSG,
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    let ok = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty() && ok(&b[0]) && ok(&b[b.len() - 1]) && b.iter().all(|c| ok(c) || *c == b'-')
}

fn is_dns_subdomain(s: &str) -> bool {
    s.split('.').all(is_dns_label)
}

fn dns1123_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push(max_len_error(63));
    }
    if !is_dns_label(value) {
        if is_dns_subdomain(value) {
            errs.push("must not contain dots".to_string());
        } else {
            errs.push(regex_error(
                DNS_LABEL_MSG,
                DNS_LABEL_FMT,
                &["my-name", "123-abc"],
            ));
        }
    }
    errs
}

fn dns1123_subdomain(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 253 {
        errs.push(max_len_error(253));
    }
    if !is_dns_subdomain(value) {
        errs.push(regex_error(
            DNS_SUBDOMAIN_MSG,
            DNS_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errs
}

/// Object names checked as subdomains; a generated-name prefix may end in '-'.
fn name_is_subdomain(value: &str, prefix: bool) -> Vec<String> {
    let value = if prefix {
        value.strip_suffix('-').unwrap_or(value)
    } else {
        value
    };
    dns1123_subdomain(value)
}

/// IANA_SVC_NAME, used for container port names and named target ports.
fn port_name(port: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if port.len() > 15 {
        errs.push(max_len_error(15));
    }
    if port.is_empty()
        || !port
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
    {
        errs.push(
            "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".to_string(),
        );
    }
    if !port.bytes().any(|c| c.is_ascii_lowercase()) {
        errs.push("must contain at least one letter (a-z)".to_string());
    }
    if port.contains("--") {
        errs.push("must not contain consecutive hyphens".to_string());
    }
    if port.starts_with('-') || port.ends_with('-') {
        errs.push("must not begin or end with a hyphen".to_string());
    }
    errs
}

fn port_number(n: i64) -> Vec<String> {
    if (1..=65535).contains(&n) {
        Vec::new()
    } else {
        vec![PORT_RANGE.to_string()]
    }
}

/// Keys of ConfigMap and Secret data.
fn config_key(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 253 {
        errs.push(max_len_error(253));
    }
    if value.is_empty()
        || !value
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_'))
    {
        errs.push(regex_error(
            CONFIG_KEY_MSG,
            CONFIG_KEY_FMT,
            &["key.name", "KEY_NAME", "key-name"],
        ));
    }
    if value == "." {
        errs.push("must not be '.'".to_string());
    } else if value == ".." {
        errs.push("must not be '..'".to_string());
    } else if value.starts_with("..") {
        errs.push("must not start with '..'".to_string());
    }
    errs
}

/// Environment variable names. 1.33 enables the relaxed rule by default:
/// any printable ASCII character except '='.
fn env_var_name(value: &str) -> Vec<String> {
    if value
        .bytes()
        .all(|c| (0x20..0x7f).contains(&c) && c != b'=')
    {
        Vec::new()
    } else {
        vec![ENV_NAME_MSG.to_string()]
    }
}

fn percent(value: &str) -> Vec<String> {
    if percent_value(value).is_some() {
        Vec::new()
    } else {
        vec![regex_error(PERCENT_MSG, PERCENT_FMT, &["1%", "93%"])]
    }
}

/// Go's `ParseIPSloppy`: IPv4 parts may carry leading zeros.
fn parse_ip(s: &str) -> Option<std::net::IpAddr> {
    if s.contains(':') {
        return s.parse::<Ipv6Addr>().ok().map(Into::into);
    }
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut octets = [0u8; 4];
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        octets[i] = p.parse().ok()?;
    }
    Some(Ipv4Addr::from(octets).into())
}

fn is_cidr(s: &str) -> bool {
    let Some((ip, bits)) = s.split_once('/') else {
        return false;
    };
    let Some(ip) = parse_ip(ip) else {
        return false;
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    !bits.is_empty()
        && bits.len() <= 3
        && bits.bytes().all(|b| b.is_ascii_digit())
        && bits.parse::<u32>().is_ok_and(|n| n <= max)
}

// ---------------------------------------------------------------------------
// Metadata
// ---------------------------------------------------------------------------

fn object_meta(e: &mut Errs, obj: &Value) {
    let Some(meta) = e.obj(obj, &Path::root(), "metadata") else {
        return;
    };
    let p = Path::new("metadata");
    labels(e, meta, &p, "labels");
    annotations(e, meta, &p, "annotations");
    for f in e.string_list(meta, &p, "finalizers") {
        for msg in qualified_name(f) {
            e.invalid_str(&p.child("finalizers"), f, &msg);
        }
    }
}

/// Label maps: every problem is reported at the map's path, as upstream does.
fn labels(e: &mut Errs, parent: &Value, path: &Path, key: &str) {
    let Some(map) = e.string_map(parent, path, key) else {
        return;
    };
    let p = path.child(key);
    for (k, v) in map {
        for msg in qualified_name(k) {
            e.invalid_str(&p, k, &msg);
        }
        for msg in label_value(v) {
            e.invalid_str(&p, v, &msg);
        }
    }
}

fn annotations(e: &mut Errs, parent: &Value, path: &Path, key: &str) {
    let Some(map) = e.string_map(parent, path, key) else {
        return;
    };
    let p = path.child(key);
    let mut total = 0;
    for (k, v) in map {
        // Annotation keys are qualified names compared without case.
        for msg in qualified_name(&k.to_lowercase()) {
            e.invalid_str(&p, k, &msg);
        }
        total += k.len() + v.len();
    }
    if total > ANNOTATIONS_MAX_BYTES {
        e.too_long(&p, ANNOTATIONS_MAX_BYTES);
    }
}

// ---------------------------------------------------------------------------
// Label selectors
// ---------------------------------------------------------------------------

/// Validates a `metav1.LabelSelector`. Returns true when upstream could turn
/// it into a selector (no errors found here).
fn label_selector(e: &mut Errs, sel: &Value, p: &Path) -> bool {
    let before = e.len();
    labels(e, sel, p, "matchLabels");
    if let Some(exprs) = e.arr(sel, p, "matchExpressions") {
        let ep = p.child("matchExpressions");
        for (i, expr) in exprs.iter().enumerate() {
            let ip = ep.index(i);
            if e.as_obj(expr, &ip).is_none() {
                continue;
            }
            let op = e.string(expr, &ip, "operator").unwrap_or("");
            let values = e.string_list(expr, &ip, "values");
            match op {
                "In" | "NotIn" => {
                    if values.is_empty() {
                        e.required(
                            &ip.child("values"),
                            "must be specified when `operator` is 'In' or 'NotIn'",
                        );
                    }
                }
                "Exists" | "DoesNotExist" => {
                    if !values.is_empty() {
                        e.forbidden(
                            &ip.child("values"),
                            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                        );
                    }
                }
                _ => e.invalid_str(&ip.child("operator"), op, "not a valid selector operator"),
            }
            let key = e.string(expr, &ip, "key").unwrap_or("");
            for msg in qualified_name(key) {
                e.invalid_str(&ip.child("key"), key, &msg);
            }
            for (j, v) in values.iter().enumerate() {
                for msg in label_value(v) {
                    e.invalid_str(&ip.child("values").index(j), v, &msg);
                }
            }
        }
    }
    e.len() == before
}

/// A selector with neither matchLabels nor matchExpressions selects everything.
fn selector_is_empty(sel: &Value) -> bool {
    qmap(sel, "matchLabels").is_none_or(Map::is_empty) && qarr(sel, "matchExpressions").is_empty()
}

fn selector_matches(sel: &Value, labels: &BTreeMap<&str, &str>) -> bool {
    let by_labels = qmap(sel, "matchLabels").is_none_or(|m| {
        m.iter()
            .all(|(k, v)| labels.get(k.as_str()) == Some(&v.as_str().unwrap_or("")))
    });
    by_labels
        && qarr(sel, "matchExpressions").iter().all(|r| {
            let key = qstr(r, "key").unwrap_or("");
            let values: Vec<&str> = qarr(r, "values").iter().filter_map(Value::as_str).collect();
            let got = labels.get(key);
            match qstr(r, "operator").unwrap_or("") {
                "In" => got.is_some_and(|v| values.contains(v)),
                "NotIn" => got.is_none_or(|v| !values.contains(v)),
                "Exists" => got.is_some(),
                "DoesNotExist" => got.is_none(),
                _ => false,
            }
        })
}

/// Checks that the template's labels are selected. A missing selector
/// selects nothing (so never matches); an empty one selects everything.
fn selector_matches_template(e: &mut Errs, sel: Option<&Value>, template: &Value, tp: &Path) {
    let meta = template.get("metadata").unwrap_or(&Value::Null);
    let labels = qstring_map(meta, "labels");
    let matched = match sel {
        None => false,
        Some(s) => {
            selector_is_empty(s) || selector_matches(s, labels.as_ref().unwrap_or(&BTreeMap::new()))
        }
    };
    if !matched {
        e.invalid(
            &tp.child("metadata").child("labels"),
            &go_string_map(labels.as_ref()),
            SELECTOR_MISMATCH,
        );
    }
}

/// spec.selector of the apps controllers: required, valid and not empty.
/// Returns whether the selector is usable for matching the template.
fn required_selector(e: &mut Errs, spec: &Value, sp: &Path, kind: &str) -> bool {
    let p = sp.child("selector");
    let Some(v) = present(spec, "selector") else {
        e.required(&p, "");
        return true;
    };
    let Some(sel) = e.as_obj(v, &p) else {
        return false;
    };
    let ok = label_selector(e, sel, &p);
    if selector_is_empty(sel) {
        e.invalid(
            &p,
            &render_selector(Some(sel)),
            &format!("empty selector is invalid for {kind}"),
        );
    }
    ok
}

// ---------------------------------------------------------------------------
// Pod templates and pod specs
// ---------------------------------------------------------------------------

/// `ValidatePodTemplateSpec`. Upstream reports template labels and
/// annotations at `<template>.labels`, without `.metadata`.
fn pod_template(e: &mut Errs, template: &Value, tp: &Path) {
    template_metadata(e, template, tp);
    let empty = empty_object();
    let spec = e.obj(template, tp, "spec").unwrap_or(&empty);
    let sp = tp.child("spec");
    pod_spec(e, spec, &sp, false);
    if !qarr(spec, "ephemeralContainers").is_empty() {
        e.forbidden(
            &sp.child("ephemeralContainers"),
            "ephemeral containers not allowed in pod template",
        );
    }
}

fn template_metadata(e: &mut Errs, template: &Value, tp: &Path) {
    if let Some(meta) = e.obj(template, tp, "metadata") {
        labels(e, meta, tp, "labels");
        annotations(e, meta, tp, "annotations");
    }
}

/// The template's restart policy, "Always" when unset (the default).
fn template_restart_policy(template: &Value) -> Option<&str> {
    match template.get("spec").and_then(|s| s.get("restartPolicy")) {
        None | Some(Value::Null) => Some("Always"),
        Some(v) => v.as_str(),
    }
}

/// The controllers' template: selector match, pod template, restartPolicy
/// Always, no activeDeadlineSeconds. `owner` names the kind in the message.
fn controller_template(e: &mut Errs, spec: &Value, sp: &Path, sel: Option<&Value>, owner: &str) {
    let tp = sp.child("template");
    let empty = empty_object();
    let Some(t) = template_or_empty(e, spec, &tp, &empty) else {
        return;
    };
    selector_matches_template(e, sel, t, &tp);
    pod_template(e, t, &tp);
    always_restart(e, t, &tp);
    no_active_deadline(e, t, &tp, owner);
}

fn no_active_deadline(e: &mut Errs, t: &Value, tp: &Path, owner: &str) {
    let spec = t.get("spec").unwrap_or(&Value::Null);
    if present(spec, "activeDeadlineSeconds").is_some() {
        e.forbidden(
            &tp.child("spec").child("activeDeadlineSeconds"),
            &format!("activeDeadlineSeconds in {owner} is not Supported"),
        );
    }
}

/// spec.template, or `empty` when unset (upstream's template is a struct).
fn template_or_empty<'a>(
    e: &mut Errs,
    spec: &'a Value,
    tp: &Path,
    empty: &'a Value,
) -> Option<&'a Value> {
    match present(spec, "template") {
        None => Some(empty),
        Some(v) => e.as_obj(v, tp),
    }
}

fn always_restart(e: &mut Errs, t: &Value, tp: &Path) {
    if let Some(rp) = template_restart_policy(t)
        && rp != "Always"
    {
        e.not_supported(
            &tp.child("spec").child("restartPolicy"),
            &quote(rp),
            &["Always"],
        );
    }
}

/// `ValidatePodSpec` for pods (`is_pod`) and pod templates.
fn pod_spec(e: &mut Errs, spec: &Value, sp: &Path, is_pod: bool) {
    e.int(spec, sp, "terminationGracePeriodSeconds");
    let volumes = volumes(e, spec, sp);
    containers(e, spec, sp, &volumes, is_pod);
    init_containers(e, spec, sp, &volumes, is_pod);
    host_network_ports(e, spec, sp, is_pod);
    if let Some(rp) = e.string(spec, sp, "restartPolicy") {
        one_of(
            e,
            &sp.child("restartPolicy"),
            rp,
            &["Always", "OnFailure", "Never"],
        );
    }
    if let Some(dp) = e.string(spec, sp, "dnsPolicy") {
        one_of(
            e,
            &sp.child("dnsPolicy"),
            dp,
            &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        );
    }
    labels(e, spec, sp, "nodeSelector");
    for key in ["serviceAccountName", "nodeName", "priorityClassName"] {
        if let Some(name) = e.string(spec, sp, key)
            && !name.is_empty()
        {
            for msg in dns1123_subdomain(name) {
                e.invalid_str(&sp.child(key), name, &msg);
            }
        }
    }
    if let Some(n) = e.int(spec, sp, "activeDeadlineSeconds")
        && !(1..=MAX_INT32).contains(&n)
    {
        e.invalid_int(
            &sp.child("activeDeadlineSeconds"),
            n,
            &format!("must be between 1 and {MAX_INT32}, inclusive"),
        );
    }
    for key in ["hostname", "subdomain"] {
        if let Some(name) = e.string(spec, sp, key)
            && !name.is_empty()
        {
            for msg in dns1123_label(name) {
                e.invalid_str(&sp.child(key), name, &msg);
            }
        }
    }
    tolerations(e, spec, sp);
}

/// An enumerated value: "" is `Required value`, anything unknown is
/// `Unsupported value` listing `valid` in the given order.
fn one_of(e: &mut Errs, p: &Path, value: &str, valid: &[&str]) {
    if value.is_empty() {
        e.required(p, "");
    } else if !valid.contains(&value) {
        e.not_supported(p, &quote(value), valid);
    }
}

/// Volume sources in upstream's order: the JSON key and the name upstream
/// uses in the "more than 1" path (two differ from the JSON key).
const VOLUME_SOURCES: &[(&str, &str)] = &[
    ("emptyDir", "emptyDir"),
    ("hostPath", "hostPath"),
    ("gitRepo", "gitRepo"),
    ("gcePersistentDisk", "gcePersistentDisk"),
    ("awsElasticBlockStore", "awsElasticBlockStore"),
    ("secret", "secret"),
    ("nfs", "nfs"),
    ("iscsi", "iscsi"),
    ("glusterfs", "glusterfs"),
    ("flocker", "flocker"),
    ("persistentVolumeClaim", "persistentVolumeClaim"),
    ("rbd", "rbd"),
    ("cinder", "cinder"),
    ("cephfs", "cephFS"),
    ("quobyte", "quobyte"),
    ("downwardAPI", "downwarAPI"),
    ("fc", "fc"),
    ("flexVolume", "flexVolume"),
    ("configMap", "configMap"),
    ("azureFile", "azureFile"),
    ("vsphereVolume", "vsphereVolume"),
    ("photonPersistentDisk", "photonPersistentDisk"),
    ("portworxVolume", "portworxVolume"),
    ("azureDisk", "azureDisk"),
    ("storageos", "storageos"),
    ("projected", "projected"),
    ("scaleIO", "scaleIO"),
    ("csi", "csi"),
    ("ephemeral", "ephemeral"),
    ("image", "image"),
];

/// Validates spec.volumes; returns the names of the volumes without errors
/// (only those can be mounted).
fn volumes(e: &mut Errs, spec: &Value, sp: &Path) -> BTreeSet<String> {
    let mut valid = BTreeSet::new();
    let Some(list) = e.arr(spec, sp, "volumes") else {
        return valid;
    };
    let vp = sp.child("volumes");
    let mut names = BTreeSet::new();
    for (i, vol) in list.iter().enumerate() {
        let ip = vp.index(i);
        if e.as_obj(vol, &ip).is_none() {
            continue;
        }
        let before = e.len();
        volume_source(e, vol, &ip);
        let name = match present(vol, "name") {
            None => {
                e.required(&ip.child("name"), "");
                ""
            }
            Some(v) => match e.as_string(v, &ip.child("name")) {
                Some("") => {
                    e.required(&ip.child("name"), "");
                    ""
                }
                Some(n) => {
                    for msg in dns1123_label(n) {
                        e.invalid_str(&ip.child("name"), n, &msg);
                    }
                    n
                }
                None => "",
            },
        };
        if names.contains(name) {
            e.duplicate(&ip.child("name"), &quote(name));
        }
        if e.len() == before {
            names.insert(name);
            valid.insert(name.to_string());
        }
    }
    valid
}

fn volume_source(e: &mut Errs, vol: &Value, ip: &Path) {
    let mut count = 0;
    for (key, path_name) in VOLUME_SOURCES {
        let Some(src) = present(vol, key) else {
            continue;
        };
        if count > 0 {
            e.forbidden(&ip.child(path_name), VOLUME_TYPE_MULTI);
            continue;
        }
        count += 1;
        let sp = ip.child(key);
        let Some(src) = e.as_obj(src, &sp) else {
            continue;
        };
        match *key {
            "hostPath" => {
                e.required_string(src, &sp, "path");
            }
            "secret" => {
                e.required_string(src, &sp, "secretName");
                file_mode(e, src, &sp);
            }
            "configMap" => {
                e.required_string(src, &sp, "name");
                file_mode(e, src, &sp);
            }
            "persistentVolumeClaim" => {
                e.required_string(src, &sp, "claimName");
            }
            _ => {}
        }
    }
    if count == 0 {
        e.required(ip, VOLUME_TYPE_MISSING);
    }
}

fn file_mode(e: &mut Errs, src: &Value, sp: &Path) {
    if let Some(mode) = e.int(src, sp, "defaultMode")
        && !(0..=0o777).contains(&mode)
    {
        e.invalid_int(&sp.child("defaultMode"), mode, FILE_MODE);
    }
    if let Some(items) = e.arr(src, sp, "items") {
        let ip = sp.child("items");
        for (i, item) in items.iter().enumerate() {
            let p = ip.index(i);
            if e.as_obj(item, &p).is_some() {
                e.required_string(item, &p, "key");
                e.required_string(item, &p, "path");
            }
        }
    }
}

/// spec.containers: required, each valid, names unique.
fn containers(e: &mut Errs, spec: &Value, sp: &Path, volumes: &BTreeSet<String>, is_pod: bool) {
    let cp = sp.child("containers");
    let list = match present(spec, "containers") {
        None => &[][..],
        Some(_) => match e.arr(spec, sp, "containers") {
            Some(list) => list,
            None => return,
        },
    };
    if list.is_empty() {
        e.required(&cp, "");
        return;
    }
    let mut names = BTreeSet::new();
    for (i, c) in list.iter().enumerate() {
        let p = cp.index(i);
        if e.as_obj(c, &p).is_none() {
            continue;
        }
        container(e, c, &p, volumes, is_pod);
        let name = qstr(c, "name").unwrap_or("");
        if !names.insert(name) {
            e.duplicate(&p.child("name"), &quote(name));
        }
        lifecycle(e, c, &p);
        probes(e, c, &p);
        if present(c, "restartPolicy").is_some() {
            e.forbidden(
                &p.child("restartPolicy"),
                "may not be set for non-init containers",
            );
        }
    }
    host_port_conflicts(e, list, &cp);
}

fn init_containers(
    e: &mut Errs,
    spec: &Value,
    sp: &Path,
    volumes: &BTreeSet<String>,
    is_pod: bool,
) {
    let Some(list) = e.arr(spec, sp, "initContainers") else {
        return;
    };
    let cp = sp.child("initContainers");
    let mut names: BTreeSet<&str> = qarr(spec, "containers")
        .iter()
        .map(|c| qstr(c, "name").unwrap_or(""))
        .collect();
    for (i, c) in list.iter().enumerate() {
        let p = cp.index(i);
        if e.as_obj(c, &p).is_none() {
            continue;
        }
        container(e, c, &p, volumes, is_pod);
        let mut restart_always = false;
        if let Some(rp) = e.string(c, &p, "restartPolicy") {
            restart_always = rp == "Always";
            if !restart_always {
                e.not_supported(&p.child("restartPolicy"), &quote(rp), &["Always"]);
            }
        }
        let name = qstr(c, "name").unwrap_or("");
        if names.contains(name) {
            e.duplicate(&p.child("name"), &quote(name));
        } else if !name.is_empty() {
            names.insert(name);
        }
        host_port_conflicts(e, std::slice::from_ref(c), &cp);
        if restart_always {
            lifecycle(e, c, &p);
            probes(e, c, &p);
        } else {
            for key in [
                "lifecycle",
                "livenessProbe",
                "readinessProbe",
                "startupProbe",
            ] {
                if present(c, key).is_some() {
                    e.forbidden(&p.child(key), NOT_FOR_INIT);
                }
            }
        }
    }
}

/// What every container kind must satisfy.
fn container(e: &mut Errs, c: &Value, p: &Path, volumes: &BTreeSet<String>, is_pod: bool) {
    if let Some(name) = e.required_string(c, p, "name") {
        for msg in dns1123_label(name) {
            e.invalid_str(&p.child("name"), name, &msg);
        }
    }
    if let Some(image) = e.required_string(c, p, "image")
        && is_pod
        && image.trim() != image
    {
        e.invalid_str(
            &p.child("image"),
            image,
            "must not have leading or trailing whitespace",
        );
    }
    if let Some(tmp) = e.string(c, p, "terminationMessagePolicy") {
        one_of(
            e,
            &p.child("terminationMessagePolicy"),
            tmp,
            &["File", "FallbackToLogsOnError"],
        );
    }
    container_ports(e, c, p);
    env(e, c, p);
    env_from(e, c, p);
    volume_mounts(e, c, p, volumes);
    if let Some(policy) = e.string(c, p, "imagePullPolicy") {
        one_of(
            e,
            &p.child("imagePullPolicy"),
            policy,
            &["Always", "IfNotPresent", "Never"],
        );
    }
}

fn container_ports(e: &mut Errs, c: &Value, p: &Path) {
    let Some(ports) = e.arr(c, p, "ports") else {
        return;
    };
    let pp = p.child("ports");
    let mut names = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let ip = pp.index(i);
        if e.as_obj(port, &ip).is_none() {
            continue;
        }
        if let Some(name) = e.string(port, &ip, "name")
            && !name.is_empty()
        {
            let msgs = port_name(name);
            if !msgs.is_empty() {
                for msg in msgs {
                    e.invalid_str(&ip.child("name"), name, &msg);
                }
            } else if !names.insert(name) {
                e.duplicate(&ip.child("name"), &quote(name));
            }
        }
        let container_port = e.int(port, &ip, "containerPort");
        if present(port, "containerPort").is_none() || container_port == Some(0) {
            e.required(&ip.child("containerPort"), "");
        } else if let Some(n) = container_port {
            for msg in port_number(n) {
                e.invalid_int(&ip.child("containerPort"), n, &msg);
            }
        }
        if let Some(n) = e.int(port, &ip, "hostPort")
            && n != 0
        {
            for msg in port_number(n) {
                e.invalid_int(&ip.child("hostPort"), n, &msg);
            }
        }
        if let Some(proto) = e.string(port, &ip, "protocol") {
            protocol(e, &ip.child("protocol"), proto);
        }
    }
}

fn protocol(e: &mut Errs, p: &Path, value: &str) {
    if value.is_empty() {
        e.required(p, "");
    } else if !["SCTP", "TCP", "UDP"].contains(&value) {
        e.not_supported(p, &quote(value), &["SCTP", "TCP", "UDP"]);
    }
}

/// Host ports may not repeat for the same protocol and host IP.
fn host_port_conflicts(e: &mut Errs, containers: &[Value], cp: &Path) {
    let mut seen = BTreeSet::new();
    for (ci, c) in containers.iter().enumerate() {
        for (pi, port) in qarr(c, "ports").iter().enumerate() {
            let host_port = qint(port, "hostPort").unwrap_or(0);
            if host_port == 0 {
                continue;
            }
            let key = format!(
                "{}/{}/{}",
                qstr(port, "protocol").unwrap_or("TCP"),
                qstr(port, "hostIP").unwrap_or(""),
                host_port
            );
            if !seen.insert(key.clone()) {
                let path = cp.index(ci).child("ports").index(pi).child("hostPort");
                e.duplicate(&path, &quote(&key));
            }
        }
    }
}

/// With hostNetwork, a pod's hostPort must equal containerPort; templates may
/// leave hostPort unset.
fn host_network_ports(e: &mut Errs, spec: &Value, sp: &Path, is_pod: bool) {
    if e.boolean(spec, sp, "hostNetwork") != Some(true) {
        return;
    }
    for (ci, c) in qarr(spec, "containers").iter().enumerate() {
        for (pi, port) in qarr(c, "ports").iter().enumerate() {
            let host_port = qint(port, "hostPort").unwrap_or(0);
            let container_port = qint(port, "containerPort").unwrap_or(0);
            if (is_pod || host_port != 0) && host_port != container_port {
                let path = sp
                    .child("containers")
                    .index(ci)
                    .child("ports")
                    .index(pi)
                    .child("hostPort");
                e.invalid_int(
                    &path,
                    host_port,
                    "must match `containerPort` when `hostNetwork` is true",
                );
            }
        }
    }
}

fn env(e: &mut Errs, c: &Value, p: &Path) {
    let Some(list) = e.arr(c, p, "env") else {
        return;
    };
    let ep = p.child("env");
    for (i, var) in list.iter().enumerate() {
        let ip = ep.index(i);
        if e.as_obj(var, &ip).is_none() {
            continue;
        }
        if let Some(name) = e.required_string(var, &ip, "name") {
            for msg in env_var_name(name) {
                e.invalid_str(&ip.child("name"), name, &msg);
            }
        }
        e.string(var, &ip, "value");
        env_value_from(e, var, &ip);
    }
}

fn env_value_from(e: &mut Errs, var: &Value, ip: &Path) {
    let Some(from) = e.obj(var, ip, "valueFrom") else {
        return;
    };
    let vp = ip.child("valueFrom");
    let mut sources = 0;
    if let Some(r) = e.obj(from, &vp, "fieldRef") {
        sources += 1;
        field_ref(e, r, &vp.child("fieldRef"));
    }
    if let Some(r) = e.obj(from, &vp, "resourceFieldRef") {
        sources += 1;
        resource_field_ref(e, r, &vp.child("resourceFieldRef"));
    }
    for key in ["configMapKeyRef", "secretKeyRef"] {
        if let Some(r) = e.obj(from, &vp, key) {
            sources += 1;
            key_selector(e, r, &vp.child(key));
        }
    }
    let value = qstr(var, "value").unwrap_or("");
    if sources == 0 {
        e.invalid(
            &vp,
            "\"\"",
            "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
        );
    } else if !value.is_empty() {
        e.invalid(
            &vp,
            "\"\"",
            "may not be specified when `value` is not empty",
        );
    } else if sources > 1 {
        e.invalid(
            &vp,
            "\"\"",
            "may not have more than one field specified at a time",
        );
    }
}

/// Downward API fields an env var may refer to (upstream's sorted list).
const ENV_FIELD_PATHS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];

/// Field labels the v1 pod conversion knows at all.
const CONVERTIBLE_FIELD_PATHS: &[&str] = &[
    "metadata.annotations",
    "metadata.labels",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.serviceAccountName",
    "spec.schedulerName",
    "status.phase",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];

/// `metadata.labels['x']` → ("metadata.labels", "x").
fn split_subscript(path: &str) -> Option<(&str, &str)> {
    let s = path.strip_suffix("']")?;
    let (base, sub) = s.split_once("['")?;
    (!base.is_empty()).then_some((base, sub))
}

fn field_ref(e: &mut Errs, r: &Value, p: &Path) {
    let version = match present(r, "apiVersion") {
        None => "v1",
        Some(_) => match e.required_string(r, p, "apiVersion") {
            Some(v) => v,
            None => return,
        },
    };
    let Some(field_path) = e.required_string(r, p, "fieldPath") else {
        return;
    };
    let fp = p.child("fieldPath");
    let conversion = if version != "v1" {
        Err(format!("unsupported pod version: {version}"))
    } else if let Some((base, _)) = split_subscript(field_path) {
        if matches!(base, "metadata.annotations" | "metadata.labels") {
            Ok(())
        } else {
            Err(format!(
                "field label does not support subscript: {field_path}"
            ))
        }
    } else if CONVERTIBLE_FIELD_PATHS.contains(&field_path) {
        Ok(())
    } else {
        Err(format!("field label not supported: {field_path}"))
    };
    if let Err(err) = conversion {
        e.invalid_str(
            &fp,
            field_path,
            &format!("error converting fieldPath: {err}"),
        );
        return;
    }
    match split_subscript(field_path) {
        Some(("metadata.annotations", sub)) => {
            let sub = sub.to_lowercase();
            for msg in qualified_name(&sub) {
                e.invalid_str(p, &sub, &msg);
            }
        }
        Some(("metadata.labels", sub)) => {
            for msg in qualified_name(sub) {
                e.invalid_str(p, sub, &msg);
            }
        }
        Some((base, _)) => e.invalid_str(p, base, "does not support subscript"),
        None => {
            if !ENV_FIELD_PATHS.contains(&field_path) {
                e.not_supported(&fp, &quote(field_path), ENV_FIELD_PATHS);
            }
        }
    }
}

const RESOURCE_FIELD_PATHS: &[&str] = &[
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
];

fn resource_field_ref(e: &mut Errs, r: &Value, p: &Path) {
    e.string(r, p, "containerName");
    let Some(resource) = e.required_string(r, p, "resource") else {
        return;
    };
    let hugepages =
        resource.starts_with("requests.hugepages-") || resource.starts_with("limits.hugepages-");
    if !RESOURCE_FIELD_PATHS.contains(&resource) && !hugepages {
        e.not_supported(&p.child("resource"), &quote(resource), RESOURCE_FIELD_PATHS);
    }
}

/// configMapKeyRef / secretKeyRef.
fn key_selector(e: &mut Errs, r: &Value, p: &Path) {
    let name = e.string(r, p, "name").unwrap_or("");
    for msg in name_is_subdomain(name, false) {
        e.invalid_str(&p.child("name"), name, &msg);
    }
    if let Some(key) = e.required_string(r, p, "key") {
        for msg in config_key(key) {
            e.invalid_str(&p.child("key"), key, &msg);
        }
    }
}

fn env_from(e: &mut Errs, c: &Value, p: &Path) {
    let Some(list) = e.arr(c, p, "envFrom") else {
        return;
    };
    let ep = p.child("envFrom");
    for (i, item) in list.iter().enumerate() {
        let ip = ep.index(i);
        if e.as_obj(item, &ip).is_none() {
            continue;
        }
        if let Some(prefix) = e.string(item, &ip, "prefix")
            && !prefix.is_empty()
        {
            for msg in env_var_name(prefix) {
                e.invalid_str(&ip.child("prefix"), prefix, &msg);
            }
        }
        let mut sources = 0;
        for key in ["configMapRef", "secretRef"] {
            if let Some(r) = e.obj(item, &ip, key) {
                sources += 1;
                let rp = ip.child(key);
                if let Some(name) = e.required_string(r, &rp, "name") {
                    for msg in name_is_subdomain(name, true) {
                        e.invalid_str(&rp.child("name"), name, &msg);
                    }
                }
            }
        }
        // Upstream reports these at the list, not at the item.
        if sources == 0 {
            e.invalid(
                &ep,
                "\"\"",
                "must specify one of: `configMapRef` or `secretRef`",
            );
        } else if sources > 1 {
            e.invalid(
                &ep,
                "\"\"",
                "may not have more than one field specified at a time",
            );
        }
    }
}

fn volume_mounts(e: &mut Errs, c: &Value, p: &Path, volumes: &BTreeSet<String>) {
    let Some(list) = e.arr(c, p, "volumeMounts") else {
        return;
    };
    let mp = p.child("volumeMounts");
    let mut mount_points = BTreeSet::new();
    for (i, m) in list.iter().enumerate() {
        let ip = mp.index(i);
        if e.as_obj(m, &ip).is_none() {
            continue;
        }
        let name = e.string(m, &ip, "name").unwrap_or("");
        if name.is_empty() {
            e.required(&ip.child("name"), "");
        }
        if !volumes.contains(name) {
            e.not_found(&ip.child("name"), &quote(name));
        }
        let mount_path = e.string(m, &ip, "mountPath").unwrap_or("");
        if mount_path.is_empty() {
            e.required(&ip.child("mountPath"), "");
        }
        if !mount_points.insert(mount_path) {
            e.invalid_str(&ip.child("mountPath"), mount_path, "must be unique");
        }
        // Upstream reports subPath problems at the list path.
        let sub_path = e.string(m, &ip, "subPath").unwrap_or("");
        if !sub_path.is_empty() {
            local_descending_path(e, sub_path, &mp.child("subPath"));
        }
        if let Some(expr) = e.string(m, &ip, "subPathExpr")
            && !expr.is_empty()
        {
            if !sub_path.is_empty() {
                e.invalid_str(
                    &ip.child("subPathExpr"),
                    expr,
                    "subPathExpr and subPath are mutually exclusive",
                );
            }
            local_descending_path(e, expr, &mp.child("subPathExpr"));
        }
    }
}

fn local_descending_path(e: &mut Errs, target: &str, p: &Path) {
    if target.starts_with('/') {
        e.invalid_str(p, target, "must be a relative path");
    }
    if target.split('/').any(|part| part == "..") {
        e.invalid_str(p, target, "must not contain '..'");
    }
}

fn lifecycle(e: &mut Errs, c: &Value, p: &Path) {
    let Some(lc) = e.obj(c, p, "lifecycle") else {
        return;
    };
    let lp = p.child("lifecycle");
    for key in ["postStart", "preStop"] {
        if let Some(h) = e.obj(lc, &lp, key) {
            handler(
                e,
                h,
                &lp.child(key),
                &["exec", "httpGet", "tcpSocket", "sleep"],
            );
        }
    }
}

fn probes(e: &mut Errs, c: &Value, p: &Path) {
    for key in ["livenessProbe", "readinessProbe", "startupProbe"] {
        let Some(probe) = e.obj(c, p, key) else {
            continue;
        };
        let pp = p.child(key);
        handler(e, probe, &pp, &["exec", "httpGet", "tcpSocket", "grpc"]);
        for field in [
            "initialDelaySeconds",
            "timeoutSeconds",
            "periodSeconds",
            "successThreshold",
            "failureThreshold",
        ] {
            nonnegative(e, probe, &pp, field);
        }
        let grace = e.int(probe, &pp, "terminationGracePeriodSeconds");
        if let Some(n) = grace
            && n <= 0
        {
            e.invalid_int(
                &pp.child("terminationGracePeriodSeconds"),
                n,
                "must be greater than 0",
            );
        }
        if key == "readinessProbe" {
            if let Some(n) = grace {
                e.invalid_int(
                    &pp.child("terminationGracePeriodSeconds"),
                    n,
                    "must not be set for readinessProbes",
                );
            }
        } else if let Some(n) = qint(probe, "successThreshold")
            && n != 1
        {
            e.invalid_int(&pp.child("successThreshold"), n, "must be 1");
        }
    }
}

/// Probe and lifecycle handlers: exactly one action.
fn handler(e: &mut Errs, h: &Value, hp: &Path, kinds: &[&str]) {
    let mut count = 0;
    for kind in kinds {
        let Some(action) = e.obj(h, hp, kind) else {
            continue;
        };
        let ap = hp.child(kind);
        if count > 0 {
            e.forbidden(&ap, HANDLER_MULTI);
            continue;
        }
        count += 1;
        match *kind {
            "exec" if e.string_list(action, &ap, "command").is_empty() => {
                e.required(&ap.child("command"), "");
            }
            "httpGet" => {
                if e.string(action, &ap, "path") == Some("") {
                    e.required(&ap.child("path"), "");
                }
                port_num_or_name(e, action, &ap, "port");
                if let Some(scheme) = e.string(action, &ap, "scheme")
                    && !["HTTP", "HTTPS"].contains(&scheme)
                {
                    e.not_supported(&ap.child("scheme"), &quote(scheme), &["HTTP", "HTTPS"]);
                }
            }
            "tcpSocket" => port_num_or_name(e, action, &ap, "port"),
            "grpc" => {
                let port = e.int(action, &ap, "port").unwrap_or(0);
                for msg in port_number(port) {
                    e.invalid_int(&ap.child("port"), port, &msg);
                }
            }
            _ => {}
        }
    }
    if count == 0 {
        e.required(hp, HANDLER_MISSING);
    }
}

/// A port given as a number or an IANA_SVC_NAME; unset counts as 0.
fn port_num_or_name(e: &mut Errs, parent: &Value, path: &Path, key: &str) {
    let p = path.child(key);
    match e.int_or_string(parent, path, key) {
        Some(IntStr::Str(name)) => {
            for msg in port_name(&name) {
                e.invalid_str(&p, &name, &msg);
            }
        }
        Some(IntStr::Int(n)) => {
            for msg in port_number(n) {
                e.invalid_int(&p, n, &msg);
            }
        }
        None if present(parent, key).is_none() => {
            for msg in port_number(0) {
                e.invalid_int(&p, 0, &msg);
            }
        }
        None => {}
    }
}

fn tolerations(e: &mut Errs, spec: &Value, sp: &Path) {
    let Some(list) = e.arr(spec, sp, "tolerations") else {
        return;
    };
    let tp = sp.child("tolerations");
    for (i, t) in list.iter().enumerate() {
        let ip = tp.index(i);
        if e.as_obj(t, &ip).is_none() {
            continue;
        }
        let key = e.string(t, &ip, "key").unwrap_or("");
        let operator = e.string(t, &ip, "operator").unwrap_or("");
        let value = e.string(t, &ip, "value").unwrap_or("");
        let effect = e.string(t, &ip, "effect").unwrap_or("");
        let seconds = e.int(t, &ip, "tolerationSeconds");
        if !key.is_empty() {
            for msg in qualified_name(key) {
                e.invalid_str(&ip.child("key"), key, &msg);
            }
        }
        if key.is_empty() && operator != "Exists" {
            e.invalid_str(
                &ip.child("operator"),
                operator,
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            );
        }
        if seconds.is_some() && effect != "NoExecute" {
            e.invalid_str(
                &ip.child("effect"),
                effect,
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            );
        }
        match operator {
            "Equal" | "" => {
                let errs = label_value(value);
                if !errs.is_empty() {
                    e.invalid_str(&ip.child("operator"), value, &errs.join(";"));
                }
            }
            "Exists" => {
                if !value.is_empty() {
                    e.invalid_str(
                        &ip.child("operator"),
                        value,
                        "value must be empty when `operator` is 'Exists'",
                    );
                }
            }
            _ => e.not_supported(
                &ip.child("operator"),
                &quote(operator),
                &["Equal", "Exists"],
            ),
        }
        if !effect.is_empty() {
            taint_effect(e, &ip.child("effect"), effect);
        }
    }
}

fn taint_effect(e: &mut Errs, p: &Path, effect: &str) {
    let valid = ["NoSchedule", "PreferNoSchedule", "NoExecute"];
    if !valid.contains(&effect) {
        e.not_supported(p, &quote(effect), &valid);
    }
}

fn nonnegative(e: &mut Errs, parent: &Value, path: &Path, key: &str) {
    if let Some(n) = e.int(parent, path, key)
        && n < 0
    {
        e.invalid_int(&path.child(key), n, NEGATIVE);
    }
}

// ---------------------------------------------------------------------------
// Pods
// ---------------------------------------------------------------------------

fn pod(e: &mut Errs, obj: &Value) {
    let empty = empty_object();
    let spec = e.obj(obj, &Path::root(), "spec").unwrap_or(&empty);
    pod_spec(e, spec, &Path::new("spec"), true);
}

fn pod_template_object(e: &mut Errs, obj: &Value) {
    let empty = empty_object();
    let t = e.obj(obj, &Path::root(), "template").unwrap_or(&empty);
    pod_template(e, t, &Path::new("template"));
}

/// A running pod may only change images, activeDeadlineSeconds (downwards),
/// tolerations (additions), and scheduling gates (removals).
fn pod_update(e: &mut Errs, old: &Value, new: &Value) {
    let sp = Path::new("spec");
    let empty = empty_object();
    let old_spec = old.get("spec").filter(|s| s.is_object()).unwrap_or(&empty);
    let new_spec = new.get("spec").filter(|s| s.is_object()).unwrap_or(&empty);
    for key in ["containers", "initContainers"] {
        if qarr(old_spec, key).len() != qarr(new_spec, key).len() {
            e.forbidden(
                &sp.child(key),
                "pod updates may not add or remove containers",
            );
            return;
        }
    }
    let deadline = sp.child("activeDeadlineSeconds");
    match (
        qint(old_spec, "activeDeadlineSeconds"),
        qint(new_spec, "activeDeadlineSeconds"),
    ) {
        (_, Some(n)) if !(0..=MAX_INT32).contains(&n) => {
            e.invalid_int(
                &deadline,
                n,
                &format!("must be between 0 and {MAX_INT32}, inclusive"),
            );
            return;
        }
        (Some(before), Some(n)) if before < n => {
            e.invalid_int(&deadline, n, "must be less than or equal to previous value");
            return;
        }
        (Some(_), None) => e.invalid(
            &deadline,
            "null",
            "must not update from a positive integer to nil value",
        ),
        _ => {}
    }
    only_added_tolerations(e, old_spec, new_spec, &sp.child("tolerations"));
    only_removed_scheduling_gates(e, old_spec, new_spec, &sp.child("schedulingGates"));

    // Compare everything else: copy the mutable fields over from the old spec.
    let mut munged = new_spec.clone();
    for key in ["containers", "initContainers"] {
        if let Some(Value::Array(items)) = munged.get_mut(key) {
            for (i, c) in items.iter_mut().enumerate() {
                let old_image = qarr(old_spec, key)
                    .get(i)
                    .and_then(|o| o.get("image"))
                    .cloned();
                if let Some(obj) = c.as_object_mut() {
                    set_or_remove(obj, "image", old_image);
                }
            }
        }
    }
    if let Some(obj) = munged.as_object_mut() {
        for key in ["activeDeadlineSeconds", "schedulingGates", "tolerations"] {
            set_or_remove(obj, key, old_spec.get(key).cloned());
        }
        let old_grace = qint(old_spec, "terminationGracePeriodSeconds");
        if old_grace.is_some_and(|g| g < 0)
            && qint(new_spec, "terminationGracePeriodSeconds") == Some(1)
        {
            set_or_remove(
                obj,
                "terminationGracePeriodSeconds",
                old_spec.get("terminationGracePeriodSeconds").cloned(),
            );
        }
    }
    if !same(&munged, old_spec) {
        e.forbidden(&sp, UPDATABLE_POD_FIELDS);
    }
}

fn set_or_remove(obj: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    match value {
        Some(v) => {
            obj.insert(key.to_string(), v);
        }
        None => {
            obj.remove(key);
        }
    }
}

fn only_added_tolerations(e: &mut Errs, old_spec: &Value, new_spec: &Value, p: &Path) {
    let without_seconds = |t: &Value| {
        let mut t = normalize(t);
        if let Some(obj) = t.as_object_mut() {
            obj.remove("tolerationSeconds");
        }
        t
    };
    let new: Vec<Value> = qarr(new_spec, "tolerations")
        .iter()
        .map(without_seconds)
        .collect();
    for old in qarr(old_spec, "tolerations") {
        if !new.contains(&without_seconds(old)) {
            e.forbidden(
                p,
                "existing toleration can not be modified except its tolerationSeconds",
            );
            return;
        }
    }
}

fn only_removed_scheduling_gates(e: &mut Errs, old_spec: &Value, new_spec: &Value, p: &Path) {
    let old: BTreeSet<&str> = qarr(old_spec, "schedulingGates")
        .iter()
        .filter_map(|g| qstr(g, "name"))
        .collect();
    for (i, gate) in qarr(new_spec, "schedulingGates").iter().enumerate() {
        let name = qstr(gate, "name").unwrap_or("");
        if !old.contains(name) {
            e.forbidden(
                &p.index(i).child("name"),
                &format!("only deletion is allowed, but found new scheduling gate '{name}'"),
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Workload controllers
// ---------------------------------------------------------------------------

fn deployment_spec(e: &mut Errs, spec: &Value, sp: &Path) {
    nonnegative(e, spec, sp, "replicas");
    let usable = required_selector(e, spec, sp, "deployment");
    let sel = present(spec, "selector");
    if usable {
        controller_template(e, spec, sp, sel, "ReplicaSet");
    } else {
        e.invalid(
            &sp.child("selector"),
            &render_selector(sel),
            "invalid label selector",
        );
    }
    deployment_strategy(e, spec, sp);
    let min_ready = e.int(spec, sp, "minReadySeconds");
    nonnegative_value(e, &sp.child("minReadySeconds"), min_ready);
    nonnegative(e, spec, sp, "revisionHistoryLimit");
    if let Some(deadline) = e.int(spec, sp, "progressDeadlineSeconds") {
        let p = sp.child("progressDeadlineSeconds");
        nonnegative_value(e, &p, Some(deadline));
        if deadline <= min_ready.unwrap_or(0) {
            e.invalid_int(&p, deadline, "must be greater than minReadySeconds");
        }
    }
}

fn nonnegative_value(e: &mut Errs, p: &Path, value: Option<i64>) {
    if let Some(n) = value
        && n < 0
    {
        e.invalid_int(p, n, NEGATIVE);
    }
}

fn deployment_strategy(e: &mut Errs, spec: &Value, sp: &Path) {
    let Some(strategy) = e.obj(spec, sp, "strategy") else {
        return;
    };
    let p = sp.child("strategy");
    let Some(kind) = (match present(strategy, "type") {
        None => Some("RollingUpdate"),
        Some(_) => e.string(strategy, &p, "type"),
    }) else {
        return;
    };
    match kind {
        "Recreate" => {
            if present(strategy, "rollingUpdate").is_some() {
                e.forbidden(
                    &p.child("rollingUpdate"),
                    "may not be specified when strategy `type` is 'Recreate'",
                );
            }
        }
        // An empty type is defaulted to RollingUpdate.
        "RollingUpdate" | "" => {
            if let Some(ru) = e.obj(strategy, &p, "rollingUpdate") {
                let rp = p.child("rollingUpdate");
                let unavailable = e
                    .int_or_string(ru, &rp, "maxUnavailable")
                    .unwrap_or(IntStr::Str("25%".into()));
                let surge = e
                    .int_or_string(ru, &rp, "maxSurge")
                    .unwrap_or(IntStr::Str("25%".into()));
                positive_int_or_percent(e, &unavailable, &rp.child("maxUnavailable"));
                positive_int_or_percent(e, &surge, &rp.child("maxSurge"));
                if unavailable.value() == 0 && surge.value() == 0 {
                    e.invalid(
                        &rp.child("maxUnavailable"),
                        &unavailable.go(),
                        "may not be 0 when `maxSurge` is 0",
                    );
                }
                not_more_than_100_percent(e, &unavailable, &rp.child("maxUnavailable"));
            }
        }
        _ => {
            let rolling = if present(strategy, "rollingUpdate").is_some() {
                "&apps.RollingUpdateDeployment{...}"
            } else {
                "(*apps.RollingUpdateDeployment)(nil)"
            };
            e.not_supported(
                &p,
                &format!(
                    "apps.DeploymentStrategy{{Type:{}, RollingUpdate:{rolling}}}",
                    quote(kind)
                ),
                &["Recreate", "RollingUpdate"],
            );
        }
    }
}

fn positive_int_or_percent(e: &mut Errs, v: &IntStr, p: &Path) {
    match v {
        IntStr::Str(s) => {
            for msg in percent(s) {
                e.invalid(p, &v.go(), &msg);
            }
        }
        IntStr::Int(n) => nonnegative_value(e, p, Some(*n)),
    }
}

fn not_more_than_100_percent(e: &mut Errs, v: &IntStr, p: &Path) {
    if let IntStr::Str(s) = v
        && percent_value(s).is_some_and(|n| n > 100)
    {
        e.invalid(p, &v.go(), "must not be greater than 100%");
    }
}

fn replica_set_spec(e: &mut Errs, spec: &Value, sp: &Path) {
    nonnegative(e, spec, sp, "replicas");
    nonnegative(e, spec, sp, "minReadySeconds");
    // Upstream reuses the Deployment wording for ReplicaSets.
    let usable = required_selector(e, spec, sp, "deployment");
    let sel = present(spec, "selector");
    if usable {
        controller_template(e, spec, sp, sel, "ReplicaSet");
    } else {
        e.invalid(
            &sp.child("selector"),
            &render_selector(sel),
            "invalid label selector",
        );
    }
}

fn replication_controller_spec(e: &mut Errs, spec: &Value, sp: &Path) {
    nonnegative(e, spec, sp, "minReadySeconds");
    nonnegative(e, spec, sp, "replicas");
    let tp = sp.child("template");
    let template = e.obj(spec, sp, "template");
    // An empty selector is defaulted from the template's labels.
    let mut selector = e.string_map(spec, sp, "selector").unwrap_or_default();
    if selector.is_empty()
        && let Some(t) = template
    {
        let meta = t.get("metadata").unwrap_or(&Value::Null);
        selector = qstring_map(meta, "labels")
            .unwrap_or_default()
            .into_iter()
            .collect();
    }
    if selector.is_empty() {
        e.required(&sp.child("selector"), "");
    }
    let Some(t) = template else {
        if present(spec, "template").is_none() {
            e.required(&tp, "");
        }
        return;
    };
    if !selector.is_empty() {
        let meta = t.get("metadata").unwrap_or(&Value::Null);
        let labels = qstring_map(meta, "labels");
        let have = labels.clone().unwrap_or_default();
        if !selector.iter().all(|(k, v)| have.get(k) == Some(v)) {
            e.invalid(
                &tp.child("metadata").child("labels"),
                &go_string_map(labels.as_ref()),
                SELECTOR_MISMATCH,
            );
        }
    }
    pod_template(e, t, &tp);
    always_restart(e, t, &tp);
    no_active_deadline(e, t, &tp, "ReplicationController");
}

fn daemon_set_spec(e: &mut Errs, spec: &Value, sp: &Path) {
    let p = sp.child("selector");
    // Unlike the other controllers, a missing selector is only reported as a
    // template mismatch (it selects nothing).
    let sel = match present(spec, "selector") {
        None => Some(None),
        Some(v) => match e.as_obj(v, &p) {
            Some(s) if label_selector(e, s, &p) => Some(Some(s)),
            _ => None,
        },
    };
    let tp = sp.child("template");
    let empty = empty_object();
    let template = template_or_empty(e, spec, &tp, &empty);
    if let (Some(sel), Some(t)) = (sel, template) {
        selector_matches_template(e, sel, t, &tp);
    }
    if let Some(Value::Object(_)) = present(spec, "selector")
        && selector_is_empty(&spec["selector"])
    {
        e.invalid(
            &p,
            &render_selector(present(spec, "selector")),
            "empty selector is invalid for daemonset",
        );
    }
    if let Some(t) = template {
        pod_template(e, t, &tp);
        always_restart(e, t, &tp);
        no_active_deadline(e, t, &tp, "DaemonSet");
    }
    nonnegative(e, spec, sp, "minReadySeconds");
    nonnegative(e, spec, sp, "templateGeneration");
    daemon_set_strategy(e, spec, sp);
    nonnegative(e, spec, sp, "revisionHistoryLimit");
}

fn daemon_set_strategy(e: &mut Errs, spec: &Value, sp: &Path) {
    let Some(strategy) = e.obj(spec, sp, "updateStrategy") else {
        return;
    };
    let p = sp.child("updateStrategy");
    let Some(kind) = (match present(strategy, "type") {
        None => Some("RollingUpdate"),
        Some(_) => e.string(strategy, &p, "type"),
    }) else {
        return;
    };
    match kind {
        "OnDelete" => {}
        "RollingUpdate" | "" => {
            let Some(ru) = e.obj(strategy, &p, "rollingUpdate") else {
                return;
            };
            let rp = p.child("rollingUpdate");
            let unavailable = e
                .int_or_string(ru, &rp, "maxUnavailable")
                .unwrap_or(IntStr::Int(1));
            let surge = e
                .int_or_string(ru, &rp, "maxSurge")
                .unwrap_or(IntStr::Int(0));
            positive_int_or_percent(e, &unavailable, &rp.child("maxUnavailable"));
            positive_int_or_percent(e, &surge, &rp.child("maxSurge"));
            not_more_than_100_percent(e, &unavailable, &rp.child("maxUnavailable"));
            not_more_than_100_percent(e, &surge, &rp.child("maxSurge"));
            match (unavailable.value() != 0, surge.value() != 0) {
                (true, true) => e.invalid(
                    &rp.child("maxSurge"),
                    &surge.go(),
                    "may not be set when maxUnavailable is non-zero",
                ),
                (false, false) => e.required(
                    &rp.child("maxUnavailable"),
                    "cannot be 0 when maxSurge is 0",
                ),
                _ => {}
            }
        }
        _ => {
            let rolling = if present(strategy, "rollingUpdate").is_some() {
                "&apps.RollingUpdateDaemonSet{...}"
            } else {
                "(*apps.RollingUpdateDaemonSet)(nil)"
            };
            e.not_supported(
                &p,
                &format!(
                    "apps.DaemonSetUpdateStrategy{{Type:{}, RollingUpdate:{rolling}}}",
                    quote(kind)
                ),
                &["RollingUpdate", "OnDelete"],
            );
        }
    }
}

fn stateful_set_spec(e: &mut Errs, spec: &Value, sp: &Path) {
    if let Some(policy) = e.string(spec, sp, "podManagementPolicy") {
        let p = sp.child("podManagementPolicy");
        match policy {
            "" => e.required(&p, ""),
            "OrderedReady" | "Parallel" => {}
            _ => e.invalid_str(&p, policy, "must be 'OrderedReady' or 'Parallel'"),
        }
    }
    stateful_set_strategy(e, spec, sp);
    if let Some(policy) = e.obj(spec, sp, "persistentVolumeClaimRetentionPolicy") {
        let pp = sp.child("persistentVolumeClaimRetentionPolicy");
        for key in ["whenDeleted", "whenScaled"] {
            if let Some(v) = e.string(policy, &pp, key)
                && !["Retain", "Delete"].contains(&v)
            {
                e.not_supported(&pp.child(key), &quote(v), &["Retain", "Delete"]);
            }
        }
    }
    nonnegative(e, spec, sp, "replicas");
    nonnegative(e, spec, sp, "minReadySeconds");
    if let Some(ordinals) = e.obj(spec, sp, "ordinals") {
        // Upstream names this path with a single dotted child.
        nonnegative(e, ordinals, &sp.child("ordinals"), "start");
    }
    let usable = required_selector(e, spec, sp, "statefulset");
    let sel = present(spec, "selector");
    let tp = sp.child("template");
    let empty = empty_object();
    let Some(t) = template_or_empty(e, spec, &tp, &empty) else {
        return;
    };
    if usable {
        // Upstream checks only the template's metadata here, not its pod spec.
        selector_matches_template(e, sel, t, &tp);
        template_metadata(e, t, &tp);
    } else {
        e.invalid(&sp.child("selector"), &render_selector(sel), "");
    }
    always_restart(e, t, &tp);
    no_active_deadline(e, t, &tp, "StatefulSet");
}

fn stateful_set_strategy(e: &mut Errs, spec: &Value, sp: &Path) {
    let Some(strategy) = e.obj(spec, sp, "updateStrategy") else {
        return;
    };
    let p = sp.child("updateStrategy");
    let Some(kind) = (match present(strategy, "type") {
        None => Some("RollingUpdate"),
        Some(_) => e.string(strategy, &p, "type"),
    }) else {
        return;
    };
    let rolling = e.obj(strategy, &p, "rollingUpdate");
    let rp = p.child("rollingUpdate");
    match kind {
        "" => e.required(&p, ""),
        "OnDelete" => {
            if let Some(ru) = rolling {
                let max = match present(ru, "maxUnavailable") {
                    None => "(*intstr.IntOrString)(nil)".to_string(),
                    Some(_) => "&intstr.IntOrString{...}".to_string(),
                };
                e.invalid(
                    &rp,
                    &format!(
                        "apps.RollingUpdateStatefulSetStrategy{{Partition:{}, MaxUnavailable:{max}}}",
                        qint(ru, "partition").unwrap_or(0)
                    ),
                    "only allowed for updateStrategy 'RollingUpdate'",
                );
            }
        }
        "RollingUpdate" => {
            if let Some(ru) = rolling {
                nonnegative(e, ru, &rp, "partition");
                if let Some(max) = e.int_or_string(ru, &rp, "maxUnavailable") {
                    let mp = rp.child("maxUnavailable");
                    positive_int_or_percent(e, &max, &mp);
                    if max.value() == 0 {
                        e.invalid(&mp, &max.go(), "cannot be 0");
                    }
                    not_more_than_100_percent(e, &max, &mp);
                }
            }
        }
        _ => {
            let rolling = if rolling.is_some() {
                "&apps.RollingUpdateStatefulSetStrategy{...}"
            } else {
                "(*apps.RollingUpdateStatefulSetStrategy)(nil)"
            };
            e.invalid(
                &p,
                &format!(
                    "apps.StatefulSetUpdateStrategy{{Type:{}, RollingUpdate:{rolling}}}",
                    quote(kind)
                ),
                "must be 'RollingUpdate' or 'OnDelete'",
            );
        }
    }
}

/// The apps controllers' selector may not change (apps/v1).
fn selector_immutable(e: &mut Errs, old: &Value, new: &Value) {
    let old_sel = old.get("spec").and_then(|s| present(s, "selector"));
    let new_sel = new.get("spec").and_then(|s| present(s, "selector"));
    if !same_opt(old_sel, new_sel) {
        e.invalid(
            &Path::new("spec.selector"),
            &render_selector(new_sel),
            IMMUTABLE,
        );
    }
}

fn stateful_set_update(e: &mut Errs, old: &Value, new: &Value) {
    const MUTABLE: &[&str] = &[
        "replicas",
        "ordinals",
        "template",
        "updateStrategy",
        "persistentVolumeClaimRetentionPolicy",
        "minReadySeconds",
    ];
    let strip = |obj: &Value| {
        let mut spec = obj.get("spec").cloned().unwrap_or_else(empty_object);
        if let Some(m) = spec.as_object_mut() {
            for key in MUTABLE {
                m.remove(*key);
            }
        }
        spec
    };
    if !same(&strip(old), &strip(new)) {
        e.forbidden(&Path::new("spec"), STATEFULSET_UPDATE);
    }
    selector_immutable(e, old, new);
}

// ---------------------------------------------------------------------------
// Jobs and CronJobs
// ---------------------------------------------------------------------------

fn job(e: &mut Errs, obj: &Value, creating: bool) {
    let empty = empty_object();
    let spec = e.obj(obj, &Path::root(), "spec").unwrap_or(&empty);
    let sp = Path::new("spec");
    job_spec(e, spec, &sp);
    // The selector is generated by the apiserver; check it only when present.
    if let Some(v) = present(spec, "selector")
        && let Some(sel) = e.as_obj(v, &sp.child("selector"))
        && label_selector(e, sel, &sp.child("selector"))
    {
        let template = spec.get("template").unwrap_or(&Value::Null);
        selector_matches_template(e, Some(sel), template, &sp.child("template"));
    }
    if creating && qstr(spec, "completionMode") == Some("Indexed") {
        let name = obj
            .get("metadata")
            .and_then(|m| qstr(m, "name"))
            .unwrap_or("");
        if let Some(completions) = qint(spec, "completions")
            && completions > 0
        {
            let hostname = format!("{name}-{}", completions - 1);
            if !dns1123_label(&hostname).is_empty() {
                e.invalid_str(
                    &Path::new("metadata.name"),
                    name,
                    &format!("will not able to create pod with invalid DNS label: {hostname}"),
                );
            }
        }
    }
}

/// `validateJobSpec`, shared by Jobs and CronJob job templates.
fn job_spec(e: &mut Errs, spec: &Value, sp: &Path) {
    for key in [
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
        "ttlSecondsAfterFinished",
        "backoffLimitPerIndex",
        "maxFailedIndexes",
    ] {
        nonnegative(e, spec, sp, key);
    }
    let per_index = qint(spec, "backoffLimitPerIndex");
    let max_failed = qint(spec, "maxFailedIndexes");
    if max_failed.is_some() && per_index.is_none() {
        e.required(
            &sp.child("backoffLimitPerIndex"),
            "when maxFailedIndexes is specified",
        );
    }
    let mode = e.string(spec, sp, "completionMode");
    if let Some(m) = mode
        && !["NonIndexed", "Indexed"].contains(&m)
    {
        e.not_supported(
            &sp.child("completionMode"),
            &quote(m),
            &["NonIndexed", "Indexed"],
        );
    }
    let completions = qint(spec, "completions");
    if mode == Some("Indexed") {
        if completions.is_none() {
            e.required(&sp.child("completions"), "when completion mode is Indexed");
        }
        if let Some(n) = qint(spec, "parallelism")
            && n > 100_000
        {
            e.invalid_int(
                &sp.child("parallelism"),
                n,
                "must be less than or equal to 100000 when completion mode is Indexed",
            );
        }
        if let (Some(c), Some(m)) = (completions, max_failed)
            && m > c
        {
            e.invalid_int(
                &sp.child("maxFailedIndexes"),
                m,
                "must be less than or equal to completions",
            );
        }
    } else {
        if let Some(n) = per_index {
            e.invalid_int(
                &sp.child("backoffLimitPerIndex"),
                n,
                "requires indexed completion mode",
            );
        }
        if let Some(n) = max_failed {
            e.invalid_int(
                &sp.child("maxFailedIndexes"),
                n,
                "requires indexed completion mode",
            );
        }
    }
    let failure_policy = present(spec, "podFailurePolicy").is_some();
    if let Some(policy) = e.string(spec, sp, "podReplacementPolicy") {
        let p = sp.child("podReplacementPolicy");
        if failure_policy {
            if policy != "Failed" {
                e.not_supported(&p, &quote(policy), &["Failed"]);
            }
        } else if !["Failed", "TerminatingOrFailed"].contains(&policy) {
            e.not_supported(&p, &quote(policy), &["Failed", "TerminatingOrFailed"]);
        }
    }
    let tp = sp.child("template");
    let empty = empty_object();
    let Some(t) = template_or_empty(e, spec, &tp, &empty) else {
        return;
    };
    pod_template(e, t, &tp);
    let rp = tp.child("spec").child("restartPolicy");
    match template_restart_policy(t) {
        // An unset policy defaults to Always, which Jobs may not use.
        Some("Always") | Some("") => {
            e.required(&rp, "valid values: \"OnFailure\", \"Never\"");
        }
        Some(p) if p != "OnFailure" && p != "Never" => {
            e.not_supported(&rp, &quote(p), &["OnFailure", "Never"]);
        }
        Some(p) if failure_policy && p != "Never" => {
            e.invalid_str(
                &rp,
                p,
                "only \"Never\" is supported when podFailurePolicy is specified",
            );
        }
        _ => {}
    }
}

fn job_update(e: &mut Errs, old: &Value, new: &Value) {
    let sp = Path::new("spec");
    let empty = empty_object();
    let old_spec = old.get("spec").filter(|s| s.is_object()).unwrap_or(&empty);
    let new_spec = new.get("spec").filter(|s| s.is_object()).unwrap_or(&empty);
    let changed = |key: &str| !same_opt(present(old_spec, key), present(new_spec, key));

    // Indexed Jobs may scale completions together with parallelism.
    if changed("completions") {
        let indexed = qstr(new_spec, "completionMode") == Some("Indexed");
        match (indexed, qint(new_spec, "completions")) {
            (false, _) => e.invalid(
                &sp.child("completions"),
                &render_opt(present(new_spec, "completions")),
                IMMUTABLE,
            ),
            (true, Some(c)) if c != qint(new_spec, "parallelism").unwrap_or(1) => e.invalid_int(
                &sp.child("completions"),
                c,
                "can only be modified in tandem with spec.parallelism",
            ),
            _ => {}
        }
    }
    if changed("selector") {
        e.invalid(
            &sp.child("selector"),
            &render_selector(present(new_spec, "selector")),
            IMMUTABLE,
        );
    }
    // A suspended Job that never started may change its scheduling directives.
    let mutable_scheduling = old_spec.get("suspend").and_then(Value::as_bool) == Some(true)
        && old
            .get("status")
            .and_then(|s| present(s, "startTime"))
            .is_none();
    let template = |spec: &Value| {
        let mut t = spec.get("template").cloned().unwrap_or(Value::Null);
        if mutable_scheduling {
            strip_scheduling_directives(&mut t);
        }
        t
    };
    if !same(&template(old_spec), &template(new_spec)) {
        e.invalid(
            &sp.child("template"),
            &render_opt(present(new_spec, "template")),
            IMMUTABLE,
        );
    }
    for key in [
        "completionMode",
        "podFailurePolicy",
        "backoffLimitPerIndex",
        "managedBy",
        "successPolicy",
    ] {
        if changed(key) {
            e.invalid(
                &sp.child(key),
                &render_opt(present(new_spec, key)),
                IMMUTABLE,
            );
        }
    }
}

fn strip_scheduling_directives(template: &mut Value) {
    if let Some(meta) = template.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("labels");
        meta.remove("annotations");
    }
    if let Some(spec) = template.get_mut("spec").and_then(Value::as_object_mut) {
        spec.remove("nodeSelector");
        spec.remove("tolerations");
        spec.remove("schedulingGates");
        if let Some(affinity) = spec.get_mut("affinity").and_then(Value::as_object_mut) {
            affinity.remove("nodeAffinity");
            if affinity.values().all(Value::is_null) {
                spec.remove("affinity");
            }
        }
    }
}

fn cron_job(e: &mut Errs, obj: &Value, old: Option<&Value>) {
    let empty = empty_object();
    let spec = e.obj(obj, &Path::root(), "spec").unwrap_or(&empty);
    let sp = Path::new("spec");
    let old_spec = old.and_then(|o| o.get("spec"));
    if old.is_none() {
        // Job names get an 11-character suffix and must stay within 63.
        let name = obj
            .get("metadata")
            .and_then(|m| qstr(m, "name"))
            .unwrap_or("");
        if name.len() > 52 {
            e.invalid_str(
                &Path::new("metadata.name"),
                name,
                "must be no more than 52 characters",
            );
        }
    }
    let time_zone = e.string(spec, &sp, "timeZone");
    if let Some(schedule) = e.required_string(spec, &sp, "schedule") {
        let p = sp.child("schedule");
        if let Err(msg) = cron_schedule(schedule) {
            e.invalid_str(&p, schedule, &msg);
        }
        let tz_allowed = old_spec
            .and_then(|s| qstr(s, "schedule"))
            .is_some_and(|s| s.contains("TZ"));
        if schedule.contains("TZ") {
            if !tz_allowed {
                e.invalid_str(
                    &p,
                    schedule,
                    "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
                );
            } else if time_zone.is_some() {
                e.invalid_str(
                    &p,
                    schedule,
                    "cannot use both timeZone field and TZ or CRON_TZ in schedule",
                );
            }
        }
    }
    nonnegative(e, spec, &sp, "startingDeadlineSeconds");
    let old_zone = old_spec.and_then(|s| qstr(s, "timeZone"));
    if old.is_none() || old_zone != time_zone {
        cron_time_zone(e, time_zone, &sp.child("timeZone"));
    }
    if let Some(policy) = e.string(spec, &sp, "concurrencyPolicy") {
        one_of(
            e,
            &sp.child("concurrencyPolicy"),
            policy,
            &["Allow", "Forbid", "Replace"],
        );
    }
    let jp = sp.child("jobTemplate");
    let job_template = e.obj(spec, &sp, "jobTemplate").unwrap_or(&empty);
    let job_spec_value = e.obj(job_template, &jp, "spec").unwrap_or(&empty);
    let jsp = jp.child("spec");
    job_spec(e, job_spec_value, &jsp);
    if let Some(sel) = present(job_spec_value, "selector") {
        e.invalid(
            &jsp.child("selector"),
            &render_selector(Some(sel)),
            "`selector` will be auto-generated",
        );
    }
    if e.boolean(job_spec_value, &jsp, "manualSelector") == Some(true) {
        e.not_supported(&jsp.child("manualSelector"), "true", &["nil", "false"]);
    }
    nonnegative(e, spec, &sp, "successfulJobsHistoryLimit");
    nonnegative(e, spec, &sp, "failedJobsHistoryLimit");
}

fn cron_time_zone(e: &mut Errs, zone: Option<&str>, p: &Path) {
    let Some(zone) = zone else {
        return;
    };
    if zone.is_empty() {
        e.invalid_str(p, zone, "timeZone must be nil or non-empty string");
        return;
    }
    let part_ok = |part: &str| {
        part != "."
            && part != ".."
            && !part.starts_with('-')
            && (1..=14).contains(&part.len())
            && part
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b'+'))
    };
    if !zone.split('/').all(part_ok) {
        e.invalid_str(p, zone, &format!("unknown time zone {zone}"));
        return;
    }
    if zone.eq_ignore_ascii_case("Local") {
        e.invalid_str(
            p,
            zone,
            "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones",
        );
    }
}

/// A cron field's range and, for months and weekdays, its names.
struct CronField {
    min: u64,
    max: u64,
    names: &'static [&'static str],
    first_name: u64,
}

const CRON_FIELDS: [CronField; 5] = [
    CronField {
        min: 0,
        max: 59,
        names: &[],
        first_name: 0,
    },
    CronField {
        min: 0,
        max: 23,
        names: &[],
        first_name: 0,
    },
    CronField {
        min: 1,
        max: 31,
        names: &[],
        first_name: 0,
    },
    CronField {
        min: 1,
        max: 12,
        names: &[
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ],
        first_name: 1,
    },
    CronField {
        min: 0,
        max: 6,
        names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
        first_name: 0,
    },
];

/// Parses a schedule like the standard cron parser the apiserver uses
/// (5 fields or a descriptor), returning that parser's error text.
fn cron_schedule(spec: &str) -> Result<(), String> {
    if spec.is_empty() {
        return Err("empty spec string".to_string());
    }
    let mut spec = spec;
    if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
        match spec.find(' ') {
            Some(i) => spec = spec[i..].trim(),
            None => return Err(format!("provided bad location {spec}")),
        }
    }
    if spec.starts_with('@') {
        return cron_descriptor(spec);
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "expected exactly 5 fields, found {}: [{}]",
            fields.len(),
            fields.join(" ")
        ));
    }
    for (field, bounds) in fields.iter().zip(CRON_FIELDS.iter()) {
        for expr in field.split(',').filter(|s| !s.is_empty()) {
            cron_range(expr, bounds)?;
        }
    }
    Ok(())
}

fn cron_descriptor(spec: &str) -> Result<(), String> {
    match spec {
        "@yearly" | "@annually" | "@monthly" | "@weekly" | "@daily" | "@midnight" | "@hourly" => {
            Ok(())
        }
        _ => match spec.strip_prefix("@every ") {
            Some(duration) => go_duration(duration)
                .map_err(|err| format!("failed to parse duration {spec}: {err}")),
            None => Err(format!("unrecognized descriptor: {spec}")),
        },
    }
}

fn cron_range(expr: &str, f: &CronField) -> Result<(), String> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_high: Vec<&str> = range_and_step[0].split('-').collect();
    let (start, mut end) = if low_high[0] == "*" || low_high[0] == "?" {
        (f.min, f.max)
    } else {
        let start = cron_int_or_name(low_high[0], f)?;
        let end = match low_high.len() {
            1 => start,
            2 => cron_int_or_name(low_high[1], f)?,
            _ => return Err(format!("too many hyphens: {expr}")),
        };
        (start, end)
    };
    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            let step = go_atoi_unsigned(range_and_step[1])?;
            if low_high.len() == 1 {
                end = f.max;
            }
            step
        }
        _ => return Err(format!("too many slashes: {expr}")),
    };
    if start < f.min {
        return Err(format!(
            "beginning of range ({start}) below minimum ({}): {expr}",
            f.min
        ));
    }
    if end > f.max {
        return Err(format!(
            "end of range ({end}) above maximum ({}): {expr}",
            f.max
        ));
    }
    if start > end {
        return Err(format!(
            "beginning of range ({start}) beyond end of range ({end}): {expr}"
        ));
    }
    if step == 0 {
        return Err(format!("step of range should be a positive number: {expr}"));
    }
    Ok(())
}

fn cron_int_or_name(expr: &str, f: &CronField) -> Result<u64, String> {
    let lower = expr.to_lowercase();
    if let Some(i) = f.names.iter().position(|n| *n == lower) {
        return Ok(f.first_name + i as u64);
    }
    go_atoi_unsigned(expr)
}

/// Go's `strconv.Atoi` as the cron parser reports it, refusing negatives.
fn go_atoi_unsigned(expr: &str) -> Result<u64, String> {
    let digits = expr.strip_prefix(['+', '-']).unwrap_or(expr);
    let syntax_ok = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    let parsed = if syntax_ok {
        expr.parse::<i64>().map_err(|_| "value out of range")
    } else {
        Err("invalid syntax")
    };
    match parsed {
        Err(why) => Err(format!(
            "failed to parse int from {expr}: strconv.Atoi: parsing {}: {why}",
            quote(expr)
        )),
        Ok(n) if n < 0 => Err(format!("negative number ({n}) not allowed: {expr}")),
        Ok(n) => Ok(n as u64),
    }
}

/// Go's `time.ParseDuration` acceptance, with its error texts.
fn go_duration(orig: &str) -> Result<(), String> {
    let invalid = || format!("time: invalid duration {}", quote(orig));
    let mut s = orig.strip_prefix(['+', '-']).unwrap_or(orig);
    if s == "0" {
        return Ok(());
    }
    if s.is_empty() {
        return Err(invalid());
    }
    while !s.is_empty() {
        let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
        let mut rest = &s[int_len..];
        let mut frac_len = 0;
        if let Some(r) = rest.strip_prefix('.') {
            frac_len = r.bytes().take_while(u8::is_ascii_digit).count();
            rest = &r[frac_len..];
        }
        if int_len == 0 && frac_len == 0 {
            return Err(invalid());
        }
        let unit_len = rest
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(rest.len());
        if unit_len == 0 {
            return Err(format!("time: missing unit in duration {}", quote(orig)));
        }
        let unit = &rest[..unit_len];
        if !["ns", "us", "\u{b5}s", "\u{3bc}s", "ms", "s", "m", "h"].contains(&unit) {
            return Err(format!(
                "time: unknown unit {} in duration {}",
                quote(unit),
                quote(orig)
            ));
        }
        s = &rest[unit_len..];
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Services
// ---------------------------------------------------------------------------

/// spec.clusterIPs as the apiserver sees it: the strategy fills clusterIPs
/// from clusterIP when only the latter is given.
fn cluster_ips(spec: &Value) -> Vec<&str> {
    let ips: Vec<&str> = qarr(spec, "clusterIPs")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if !ips.is_empty() {
        return ips;
    }
    match qstr(spec, "clusterIP") {
        Some(ip) if !ip.is_empty() => vec![ip],
        _ => Vec::new(),
    }
}

fn service(e: &mut Errs, obj: &Value) {
    let empty = empty_object();
    let spec = e.obj(obj, &Path::root(), "spec").unwrap_or(&empty);
    let sp = Path::new("spec");
    let kind = match present(spec, "type") {
        None => "ClusterIP",
        Some(_) => e.string(spec, &sp, "type").unwrap_or("ClusterIP"),
    };
    let cluster_ip = e.string(spec, &sp, "clusterIP").unwrap_or("");
    e.string_list(spec, &sp, "clusterIPs");
    let ips = cluster_ips(spec);
    let headless = ips == ["None"];
    // A wrong-typed ports field is already reported; don't also call it missing.
    let ports_wrong_type = present(spec, "ports").is_some_and(|v| !v.is_array());
    let ports = e.arr(spec, &sp, "ports").unwrap_or(&[]);
    if ports.is_empty() && !ports_wrong_type && !headless && kind != "ExternalName" {
        e.required(&sp.child("ports"), "");
    }
    match kind {
        "LoadBalancer" | "NodePort" if headless => e.invalid_str(
            &sp.child("clusterIPs").index(0),
            "None",
            &format!("may not be set to 'None' for {kind} services"),
        ),
        "ExternalName" => {
            for key in ["clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
                let set = match key {
                    "clusterIPs" => !ips.is_empty(),
                    _ => present(spec, key)
                        .is_some_and(|v| v.as_array().is_none_or(|a| !a.is_empty())),
                };
                if set {
                    e.forbidden(&sp.child(key), "may not be set for ExternalName services");
                }
            }
            let name = e.string(spec, &sp, "externalName").unwrap_or("");
            // A trailing dot marks the name as fully qualified.
            let cname = name.strip_suffix('.').unwrap_or(name);
            if cname.is_empty() {
                e.required(&sp.child("externalName"), "");
            } else {
                for msg in dns1123_subdomain(cname) {
                    e.invalid_str(&sp.child("externalName"), cname, &msg);
                }
            }
        }
        _ => {}
    }
    service_ports(e, ports, &sp.child("ports"));
    labels(e, spec, &sp, "selector");
    session_affinity(e, spec, &sp);
    if kind != "ExternalName" {
        service_cluster_ips(e, spec, &sp, cluster_ip, &ips, headless);
    }
    for (i, ip) in e
        .string_list(spec, &sp, "externalIPs")
        .into_iter()
        .enumerate()
    {
        if parse_ip(ip).is_none() {
            e.invalid_str(&sp.child("externalIPs").index(i), ip, INVALID_IP);
        }
    }
    if present(spec, "type").is_some() {
        let valid = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
        one_of(e, &sp.child("type"), kind, &valid);
    }
    service_port_uniqueness(e, ports, &sp.child("ports"), kind);
    // Upstream capitalises this path.
    let ranges_path = sp.child("LoadBalancerSourceRanges");
    let ranges = e.string_list(spec, &sp, "loadBalancerSourceRanges");
    if !ranges.is_empty() && kind != "LoadBalancer" {
        e.forbidden(&ranges_path, ONLY_LOAD_BALANCER);
    }
    for (i, range) in ranges.iter().enumerate() {
        let range = range.trim();
        if !is_cidr(range) {
            e.invalid_str(&ranges_path.index(i), range, INVALID_CIDR);
        }
    }
    if e.boolean(spec, &sp, "allocateLoadBalancerNodePorts")
        .is_some()
        && kind != "LoadBalancer"
    {
        e.forbidden(
            &sp.child("allocateLoadBalancerNodePorts"),
            ONLY_LOAD_BALANCER,
        );
    }
    let external = matches!(kind, "LoadBalancer" | "NodePort")
        || (kind == "ClusterIP" && !qarr(spec, "externalIPs").is_empty());
    if let Some(policy) = e.string(spec, &sp, "externalTrafficPolicy") {
        let p = sp.child("externalTrafficPolicy");
        if !external {
            if !policy.is_empty() {
                e.invalid_str(
                    &p,
                    policy,
                    "may only be set for externally-accessible services",
                );
            }
        } else {
            one_of(e, &p, policy, &["Cluster", "Local"]);
        }
    }
    if let Some(policy) = e.string(spec, &sp, "internalTrafficPolicy")
        && !["Cluster", "Local"].contains(&policy)
    {
        e.not_supported(
            &sp.child("internalTrafficPolicy"),
            &quote(policy),
            &["Cluster", "Local"],
        );
    }
}

fn service_ports(e: &mut Errs, ports: &[Value], pp: &Path) {
    let mut names = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let ip = pp.index(i);
        if e.as_obj(port, &ip).is_none() {
            continue;
        }
        let name = e.string(port, &ip, "name").unwrap_or("");
        if ports.len() > 1 && name.is_empty() {
            e.required(&ip.child("name"), "");
        } else if !name.is_empty() {
            for msg in dns1123_label(name) {
                e.invalid_str(&ip.child("name"), name, &msg);
            }
            if !names.insert(name) {
                e.duplicate(&ip.child("name"), &quote(name));
            }
        }
        let number = e.int(port, &ip, "port").unwrap_or(0);
        for msg in port_number(number) {
            e.invalid_int(&ip.child("port"), number, &msg);
        }
        if let Some(proto) = e.string(port, &ip, "protocol") {
            protocol(e, &ip.child("protocol"), proto);
        }
        // An unset targetPort is defaulted to the port.
        if present(port, "targetPort").is_some() {
            port_num_or_name(e, port, &ip, "targetPort");
        }
        if let Some(app) = e.string(port, &ip, "appProtocol") {
            for msg in qualified_name(app) {
                e.invalid_str(&ip.child("appProtocol"), app, &msg);
            }
        }
        e.int(port, &ip, "nodePort");
    }
}

fn service_port_uniqueness(e: &mut Errs, ports: &[Value], pp: &Path, kind: &str) {
    if kind == "ClusterIP" {
        for (i, port) in ports.iter().enumerate() {
            if qint(port, "nodePort").unwrap_or(0) != 0 {
                e.forbidden(
                    &pp.index(i).child("nodePort"),
                    "may not be used when `type` is 'ClusterIP'",
                );
            }
        }
    }
    let mut node_ports = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let node_port = qint(port, "nodePort").unwrap_or(0);
        let proto = qstr(port, "protocol").unwrap_or("TCP");
        if node_port != 0 && !node_ports.insert((proto, node_port)) {
            e.duplicate(&pp.index(i).child("nodePort"), &node_port.to_string());
        }
    }
    let mut seen = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let proto = qstr(port, "protocol").unwrap_or("TCP");
        let number = qint(port, "port").unwrap_or(0);
        if !seen.insert((proto, number)) {
            // Upstream prints the (protocol, port) key as a Go struct.
            e.duplicate(
                &pp.index(i),
                &format!(
                    "core.ServicePort{{Name:\"\", Protocol:{}, AppProtocol:(*string)(nil), Port:{number}, \
TargetPort:intstr.IntOrString{{Type:0, IntVal:0, StrVal:\"\"}}, NodePort:0}}",
                    quote(proto)
                ),
            );
        }
    }
}

fn session_affinity(e: &mut Errs, spec: &Value, sp: &Path) {
    let Some(affinity) = e.string(spec, sp, "sessionAffinity") else {
        return;
    };
    let p = sp.child("sessionAffinity");
    let config = sp.child("sessionAffinityConfig");
    match affinity {
        "" => e.required(&p, ""),
        "ClientIP" => {
            let timeout = spec
                .get("sessionAffinityConfig")
                .and_then(|c| c.get("clientIP"))
                .and_then(|c| qint(c, "timeoutSeconds"));
            if let Some(t) = timeout
                && !(1..=86400).contains(&t)
            {
                e.invalid_int(
                    &config.child("clientIP").child("timeoutSeconds"),
                    t,
                    "must be greater than 0 and less than 86400",
                );
            }
        }
        "None" => {
            if present(spec, "sessionAffinityConfig").is_some() {
                e.forbidden(&config, "must not be set when session affinity is None");
            }
        }
        _ => e.not_supported(&p, &quote(affinity), &["ClientIP", "None"]),
    }
}

fn service_cluster_ips(
    e: &mut Errs,
    spec: &Value,
    sp: &Path,
    cluster_ip: &str,
    ips: &[&str],
    headless: bool,
) {
    let p = sp.child("clusterIPs");
    if !cluster_ip.is_empty() && ips.first() != Some(&cluster_ip) {
        e.invalid(&p, &go_strings(ips), "first value must match `clusterIP`");
    }
    let families = e.string_list(spec, sp, "ipFamilies");
    let mut seen = BTreeSet::new();
    for (i, family) in families.iter().enumerate() {
        let fp = sp.child("ipFamilies").index(i);
        if !["IPv4", "IPv6"].contains(family) {
            e.not_supported(&fp, &quote(family), &["IPv4", "IPv6"]);
        }
        if !seen.insert(*family) {
            e.duplicate(&fp, &quote(family));
        }
    }
    if let Some(policy) = e.string(spec, sp, "ipFamilyPolicy") {
        let valid = ["PreferDualStack", "RequireDualStack", "SingleStack"];
        if !valid.contains(&policy) {
            e.not_supported(&sp.child("ipFamilyPolicy"), &quote(policy), &valid);
        }
    }
    let mut bad = false;
    for (i, ip) in ips.iter().enumerate() {
        if i == 0 && *ip == "None" {
            if ips.len() > 1 {
                bad = true;
                e.invalid(
                    &p,
                    &go_strings(ips),
                    "'None' must be the first and only value",
                );
            }
            continue;
        }
        if parse_ip(ip).is_none() {
            bad = true;
            e.invalid_str(&p.index(i), ip, INVALID_IP);
        }
    }
    if ips.len() > 2 {
        e.invalid(&p, &go_strings(ips), "may only hold up to 2 values");
    }
    if bad {
        return;
    }
    if ips.len() == 2 {
        let v6 = |ip: &str| parse_ip(ip).is_some_and(|a| a.is_ipv6());
        if v6(ips[0]) == v6(ips[1]) {
            e.invalid(
                &p,
                &go_strings(ips),
                "may specify no more than one IP for each IP family",
            );
        }
    }
    if !headless {
        for (i, (ip, family)) in ips.iter().zip(families.iter()).enumerate() {
            let is_v6 = parse_ip(ip).is_some_and(|a| a.is_ipv6());
            if *family == "IPv4" && is_v6 {
                e.invalid_str(
                    &p.index(i),
                    ip,
                    &format!("expected an IPv4 value as indicated by `ipFamilies[{i}]`"),
                );
            }
            if *family == "IPv6" && !is_v6 {
                e.invalid_str(
                    &p.index(i),
                    ip,
                    &format!("expected an IPv6 value as indicated by `ipFamilies[{i}]`"),
                );
            }
        }
    }
}

/// When a Service changes type, the apiserver drops the fields the old type
/// needed and the new one may not have, if the update left them unchanged.
fn drop_type_dependent_fields(old: &Value, new: &Value) -> Value {
    let mut new = new.clone();
    let Some(old_spec) = old.get("spec") else {
        return new;
    };
    let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) else {
        return new;
    };
    let kind = |s: Option<&Value>| s.and_then(Value::as_str).unwrap_or("ClusterIP").to_string();
    let old_kind = kind(old_spec.get("type"));
    let new_kind = kind(spec.get("type"));
    let node_ports = |k: &str| matches!(k, "NodePort" | "LoadBalancer");
    let drop_if_same = |spec: &mut Map<String, Value>, key: &str| {
        if same_opt(
            present(old_spec, key),
            spec.get(key).filter(|v| !v.is_null()),
        ) {
            spec.remove(key);
        }
    };
    if old_kind != "ExternalName" && new_kind == "ExternalName" {
        for key in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
            drop_if_same(spec, key);
        }
    }
    if node_ports(&old_kind) && !node_ports(&new_kind) {
        drop_if_same(spec, "externalTrafficPolicy");
        if let Some(Value::Array(ports)) = spec.get_mut("ports") {
            for (i, port) in ports.iter_mut().enumerate() {
                let before = qarr(old_spec, "ports")
                    .get(i)
                    .and_then(|p| qint(p, "nodePort"));
                if let Some(port) = port.as_object_mut()
                    && before.is_some()
                    && port.get("nodePort").and_then(Value::as_i64) == before
                {
                    port.remove("nodePort");
                }
            }
        }
    }
    new
}

/// Allocated cluster IPs may not change. An update that leaves them out keeps
/// the old ones (kubectl apply does this), as the apiserver does.
fn service_update(e: &mut Errs, old: &Value, new: &Value) {
    let empty = empty_object();
    let old_spec = old.get("spec").filter(|s| s.is_object()).unwrap_or(&empty);
    let new_spec = new.get("spec").filter(|s| s.is_object()).unwrap_or(&empty);
    let kind = |s: &Value| qstr(s, "type").unwrap_or("ClusterIP").to_string();
    if kind(old_spec) == "ExternalName" || kind(new_spec) == "ExternalName" {
        return;
    }
    let old_ips = cluster_ips(old_spec);
    let mut new_ips = cluster_ips(new_spec);
    if new_ips.is_empty() {
        new_ips = old_ips.clone();
    }
    if old_ips == ["None"] && new_ips == ["None"] {
        return;
    }
    let p = Path::new("spec.clusterIPs");
    let rendered = go_strings(&new_ips);
    if old_ips.len() == new_ips.len() {
        for (i, ip) in old_ips.iter().enumerate() {
            if *ip != new_ips[i] {
                e.invalid(&p.index(i), &rendered, MAY_NOT_CHANGE);
            }
        }
    } else if !old_ips.is_empty() && old_ips[0] != new_ips[0] {
        e.invalid(&p.index(0), &rendered, MAY_NOT_CHANGE);
    } else if old_ips.len() > new_ips.len()
        && new_ips.len() == 1
        && qstr(new_spec, "ipFamilyPolicy") != Some("SingleStack")
    {
        e.invalid(
            &Path::new("spec.ipFamilyPolicy"),
            &render_opt(present(new_spec, "ipFamilyPolicy")),
            "must be set to 'SingleStack' when releasing the secondary clusterIP",
        );
    }
}

// ---------------------------------------------------------------------------
// ConfigMaps and Secrets
// ---------------------------------------------------------------------------

fn config_map(e: &mut Errs, obj: &Value) {
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

fn qbool(parent: &Value, key: &str) -> Option<bool> {
    parent.get(key).and_then(Value::as_bool)
}

fn config_map_update(e: &mut Errs, old: &Value, new: &Value) {
    immutable_data(e, old, new, &["data", "binaryData"]);
}

fn secret(e: &mut Errs, obj: &Value) {
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

fn secret_update(e: &mut Errs, old: &Value, new: &Value) {
    // An unset type is stored as Opaque.
    fn kind(v: &Value) -> &str {
        match qstr(v, "type") {
            None | Some("") => "Opaque",
            Some(t) => t,
        }
    }
    if kind(old) != kind(new) {
        e.invalid_str(&Path::new("type"), kind(new), IMMUTABLE);
    }
    immutable_data(e, old, new, &["data"]);
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

fn base64_error(at: usize) -> String {
    format!("illegal base64 data at input byte {at}")
}

fn base64_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Go's padded standard base64 decoding (how []byte fields arrive in JSON):
/// line breaks are skipped; the error is the offset Go reports.
fn go_base64_decode(s: &str) -> Result<Vec<u8>, usize> {
    let src = s.as_bytes();
    let skip_breaks = |mut i: usize| {
        while i < src.len() && (src[i] == b'\n' || src[i] == b'\r') {
            i += 1;
        }
        i
    };
    let mut out = Vec::with_capacity(src.len() / 4 * 3);
    let mut si = 0;
    loop {
        let mut buf = [0u8; 4];
        let mut len = 4;
        let mut last = false;
        let mut j = 0;
        while j < 4 {
            if si == src.len() {
                if j == 0 {
                    return Ok(out);
                }
                return Err(si - j);
            }
            let c = src[si];
            si += 1;
            if let Some(v) = base64_value(c) {
                buf[j] = v;
                j += 1;
                continue;
            }
            if c == b'\n' || c == b'\r' {
                continue;
            }
            if c != b'=' || j < 2 {
                return Err(si - 1);
            }
            if j == 2 {
                si = skip_breaks(si);
                if si == src.len() {
                    return Err(src.len());
                }
                if src[si] != b'=' {
                    return Err(si - 1);
                }
                si += 1;
            }
            si = skip_breaks(si);
            if si < src.len() {
                return Err(si);
            }
            len = j;
            last = true;
            break;
        }
        let v = (u32::from(buf[0]) << 18)
            | (u32::from(buf[1]) << 12)
            | (u32::from(buf[2]) << 6)
            | u32::from(buf[3]);
        let bytes = [(v >> 16) as u8, (v >> 8) as u8, v as u8];
        out.extend_from_slice(&bytes[..len - 1]);
        if last {
            return Ok(out);
        }
    }
}

// ---------------------------------------------------------------------------
// Nodes
// ---------------------------------------------------------------------------

fn node(e: &mut Errs, obj: &Value) {
    let Some(spec) = e.obj(obj, &Path::root(), "spec") else {
        return;
    };
    let sp = Path::new("spec");
    let Some(taints) = e.arr(spec, &sp, "taints") else {
        return;
    };
    // Upstream reports taints under `metadata.taints`.
    let tp = Path::new("metadata.taints");
    let mut seen: BTreeSet<(&str, &str)> = BTreeSet::new();
    for (i, taint) in taints.iter().enumerate() {
        let ip = tp.index(i);
        if e.as_obj(taint, &sp.child("taints").index(i)).is_none() {
            continue;
        }
        let key = e.string(taint, &ip, "key").unwrap_or("");
        let value = e.string(taint, &ip, "value").unwrap_or("");
        let effect = e.string(taint, &ip, "effect").unwrap_or("");
        for msg in qualified_name(key) {
            e.invalid_str(&ip.child("key"), key, &msg);
        }
        let errs = label_value(value);
        if !errs.is_empty() {
            e.invalid_str(&ip.child("value"), value, &errs.join(";"));
        }
        if effect.is_empty() {
            e.required(&ip.child("effect"), "");
        } else {
            taint_effect(e, &ip.child("effect"), effect);
        }
        if !seen.insert((effect, key)) {
            let added = if present(taint, "timeAdded").is_some() {
                "&v1.Time{...}"
            } else {
                "(*v1.Time)(nil)"
            };
            e.duplicate(
                &ip,
                &format!(
                    "core.Taint{{Key:{}, Value:{}, Effect:{}, TimeAdded:{added}}}: taints must be unique by key and effect pair",
                    quote(key),
                    quote(value),
                    quote(effect)
                ),
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Comparing JSON the way upstream's semantic equality does
// ---------------------------------------------------------------------------

/// Drops nulls and empty lists, which decode to the same Go values as absence.
fn normalize(v: &Value) -> Value {
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

fn same(a: &Value, b: &Value) -> bool {
    normalize(a) == normalize(b)
}

fn same_opt(a: Option<&Value>, b: Option<&Value>) -> bool {
    let empty_list = |v: &Value| v.as_array().is_some_and(Vec::is_empty);
    match (a, b) {
        (Some(a), Some(b)) => same(a, b),
        (None, None) => true,
        (Some(v), None) | (None, Some(v)) => empty_list(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DNS_LABEL_ERR: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
    const DNS_SUBDOMAIN_ERR: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    const NAME_PART_ERR: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
    const LABEL_VALUE_ERR: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
    const CONFIG_KEY_ERR: &str = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

    fn set(v: &mut Value, ptr: &str, new: Value) {
        let (parent, key) = ptr.rsplit_once('/').unwrap();
        match v.pointer_mut(parent).unwrap() {
            Value::Object(m) => {
                m.insert(key.to_string(), new);
            }
            Value::Array(a) => a[key.parse::<usize>().unwrap()] = new,
            other => panic!("cannot set {ptr} in {other}"),
        }
    }

    fn remove(v: &mut Value, ptr: &str) {
        let (parent, key) = ptr.rsplit_once('/').unwrap();
        v.pointer_mut(parent)
            .unwrap()
            .as_object_mut()
            .unwrap()
            .remove(key);
    }

    #[track_caller]
    fn assert_cause(causes: &[Cause], path: &str, msg: &str) {
        assert!(
            causes.iter().any(|(p, m)| p == path && m == msg),
            "missing\n  ({path:?}, {msg:?})\nin\n{causes:#?}"
        );
    }

    #[track_caller]
    fn assert_only(causes: &[Cause], path: &str, msg: &str) {
        assert_eq!(
            causes,
            &[(path.to_string(), msg.to_string())],
            "{causes:#?}"
        );
    }

    fn pod_spec_fixture() -> Value {
        json!({
            "containers": [{
                "name": "nginx",
                "image": "nginx",
                "imagePullPolicy": "Always",
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
                "resources": {}
            }],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "securityContext": {},
            "schedulerName": "default-scheduler"
        })
    }

    /// `kubectl run nginx --image=nginx`, defaulted.
    fn pod() -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "nginx", "namespace": "default", "labels": {"run": "nginx"}},
            "spec": pod_spec_fixture()
        })
    }

    /// `kubectl create deployment web --image=nginx`, defaulted.
    fn deployment() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod_spec_fixture()},
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}
                },
                "revisionHistoryLimit": 10,
                "progressDeadlineSeconds": 600
            }
        })
    }

    fn stateful_set() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "db", "namespace": "default"},
            "spec": {
                "replicas": 3,
                "serviceName": "db",
                "selector": {"matchLabels": {"app": "db"}},
                "template": {"metadata": {"labels": {"app": "db"}}, "spec": pod_spec_fixture()},
                "podManagementPolicy": "OrderedReady",
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
                "revisionHistoryLimit": 10,
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"}
            }
        })
    }

    fn daemon_set() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "agent", "namespace": "default"},
            "spec": {
                "selector": {"matchLabels": {"app": "agent"}},
                "template": {"metadata": {"labels": {"app": "agent"}}, "spec": pod_spec_fixture()},
                "updateStrategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}
                },
                "revisionHistoryLimit": 10
            }
        })
    }

    /// `kubectl create job pi --image=perl`, defaulted (selector generated).
    fn job() -> Value {
        let uid = "8f6a1c2e-0000-4000-8000-000000000001";
        let mut spec = pod_spec_fixture();
        spec["restartPolicy"] = json!("Never");
        json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "pi", "namespace": "default", "uid": uid},
            "spec": {
                "parallelism": 1,
                "completions": 1,
                "backoffLimit": 6,
                "completionMode": "NonIndexed",
                "suspend": false,
                "manualSelector": false,
                "podReplacementPolicy": "TerminatingOrFailed",
                "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}},
                "template": {
                    "metadata": {"labels": {
                        "batch.kubernetes.io/controller-uid": uid,
                        "batch.kubernetes.io/job-name": "pi",
                        "controller-uid": uid,
                        "job-name": "pi"
                    }},
                    "spec": spec
                }
            }
        })
    }

    /// `kubectl create cronjob hello --image=busybox --schedule="*/1 * * * *"`.
    fn cron_job() -> Value {
        let mut spec = pod_spec_fixture();
        spec["restartPolicy"] = json!("OnFailure");
        json!({
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "hello", "namespace": "default"},
            "spec": {
                "schedule": "*/1 * * * *",
                "concurrencyPolicy": "Allow",
                "suspend": false,
                "successfulJobsHistoryLimit": 3,
                "failedJobsHistoryLimit": 1,
                "jobTemplate": {
                    "metadata": {"name": "hello"},
                    "spec": {"backoffLimit": 6, "template": {"metadata": {}, "spec": spec}}
                }
            }
        })
    }

    /// `kubectl create service clusterip web --tcp=80:8080`, allocated.
    fn service() -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "spec": {
                "ports": [{"name": "80-8080", "port": 80, "protocol": "TCP", "targetPort": 8080}],
                "selector": {"app": "web"},
                "type": "ClusterIP",
                "clusterIP": "10.96.0.10",
                "clusterIPs": ["10.96.0.10"],
                "ipFamilies": ["IPv4"],
                "ipFamilyPolicy": "SingleStack",
                "internalTrafficPolicy": "Cluster",
                "sessionAffinity": "None"
            }
        })
    }

    fn deployment_causes(ptr: &str, value: Value) -> Vec<Cause> {
        let mut d = deployment();
        set(&mut d, ptr, value);
        validate_create("Deployment", &d)
    }

    fn container_causes(field: &str, value: Value) -> Vec<Cause> {
        let mut p = pod();
        set(&mut p, &format!("/spec/containers/0/{field}"), value);
        validate_create("Pod", &p)
    }

    // --- valid objects -----------------------------------------------------

    #[test]
    fn valid_objects_pass() {
        let headless = json!({
            "metadata": {"name": "db"},
            "spec": {"clusterIP": "None", "selector": {"app": "db"}, "type": "ClusterIP"}
        });
        let external = json!({
            "metadata": {"name": "ext"},
            "spec": {"type": "ExternalName", "externalName": "example.com.", "sessionAffinity": "None"}
        });
        let node_port = json!({
            "metadata": {"name": "np"},
            "spec": {
                "type": "NodePort",
                "ports": [{"port": 80, "targetPort": "http", "nodePort": 30080, "protocol": "TCP"}],
                "externalTrafficPolicy": "Cluster"
            }
        });
        let config_map = json!({
            "metadata": {"name": "cfg"},
            "data": {"app.properties": "a=b", "KEY_NAME": "x"},
            "binaryData": {"blob": "aGVsbG8="}
        });
        let tls = json!({
            "metadata": {"name": "tls"},
            "type": "kubernetes.io/tls",
            "data": {"tls.crt": "Y2VydA==", "tls.key": "a2V5"}
        });
        let node = json!({
            "metadata": {"name": "n1"},
            "spec": {"taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]}
        });
        let cases = [
            ("Pod", pod()),
            ("Deployment", deployment()),
            ("StatefulSet", stateful_set()),
            ("DaemonSet", daemon_set()),
            ("Job", job()),
            ("CronJob", cron_job()),
            ("Service", service()),
            ("Service", headless),
            ("Service", external),
            ("Service", node_port),
            ("ConfigMap", config_map),
            ("Secret", tls),
            ("Node", node),
            ("Namespace", json!({"metadata": {"name": "dev"}})),
        ];
        for (kind, obj) in cases {
            assert_eq!(
                validate_create(kind, &obj),
                Vec::<Cause>::new(),
                "{kind}: {obj}"
            );
            assert_eq!(
                validate_update(kind, &obj, &obj),
                Vec::<Cause>::new(),
                "{kind} update"
            );
        }
    }

    #[test]
    fn wrong_json_types_do_not_panic() {
        let odd = [
            json!(null),
            json!(1),
            json!("x"),
            json!([1, 2]),
            json!(true),
            json!({"a": [null, {}]}),
            json!(-1.5),
        ];
        let kinds = [
            "Pod",
            "PodTemplate",
            "Deployment",
            "ReplicaSet",
            "ReplicationController",
            "StatefulSet",
            "DaemonSet",
            "Job",
            "CronJob",
            "Service",
            "ConfigMap",
            "Secret",
            "Node",
            "Namespace",
        ];
        let fixtures = [
            pod(),
            deployment(),
            stateful_set(),
            daemon_set(),
            job(),
            cron_job(),
            service(),
        ];
        for kind in kinds {
            for v in &odd {
                validate_create(kind, v);
                validate_update(kind, v, v);
                for fixture in &fixtures {
                    // Replace every node of the fixture, one at a time.
                    for ptr in pointers(fixture, String::new()) {
                        let mut broken = fixture.clone();
                        *broken.pointer_mut(&ptr).unwrap() = v.clone();
                        validate_create(kind, &broken);
                        validate_update(kind, fixture, &broken);
                        validate_update(kind, &broken, fixture);
                    }
                }
            }
        }
    }

    fn pointers(v: &Value, prefix: String) -> Vec<String> {
        let mut out = vec![prefix.clone()];
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    let k = k.replace('~', "~0").replace('/', "~1");
                    out.extend(pointers(child, format!("{prefix}/{k}")));
                }
            }
            Value::Array(a) => {
                for (i, child) in a.iter().enumerate() {
                    out.extend(pointers(child, format!("{prefix}/{i}")));
                }
            }
            _ => {}
        }
        out
    }

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

    // --- metadata ------------------------------------------------------------

    #[test]
    fn label_keys_and_values() {
        let mut p = pod();
        set(
            &mut p,
            "/metadata/labels",
            json!({"bad key": "ok", "ok": "-bad"}),
        );
        let causes = validate_create("Pod", &p);
        assert_cause(
            &causes,
            "metadata.labels",
            &format!("Invalid value: \"bad key\": {NAME_PART_ERR}"),
        );
        assert_cause(
            &causes,
            "metadata.labels",
            &format!("Invalid value: \"-bad\": {LABEL_VALUE_ERR}"),
        );
        assert_eq!(causes.len(), 2);

        set(
            &mut p,
            "/metadata/labels",
            json!({"Example.com/x": "a", "a/b/c": "b", "x": "v".repeat(64)}),
        );
        let causes = validate_create("Pod", &p);
        assert_cause(
            &causes,
            "metadata.labels",
            &format!("Invalid value: \"Example.com/x\": prefix part {DNS_SUBDOMAIN_ERR}"),
        );
        assert_cause(
            &causes,
            "metadata.labels",
            "Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
        );
        assert_cause(
            &causes,
            "metadata.labels",
            &format!(
                "Invalid value: \"{}\": must be no more than 63 characters",
                "v".repeat(64)
            ),
        );

        set(&mut p, "/metadata/labels", json!({"/x": "", "y/": ""}));
        let causes = validate_create("Pod", &p);
        assert_cause(
            &causes,
            "metadata.labels",
            "Invalid value: \"/x\": prefix part must be non-empty",
        );
        assert_cause(
            &causes,
            "metadata.labels",
            "Invalid value: \"y/\": name part must be non-empty",
        );
        assert_cause(
            &causes,
            "metadata.labels",
            &format!("Invalid value: \"y/\": {NAME_PART_ERR}"),
        );
        let long = "n".repeat(64);
        set(&mut p, "/metadata/labels", json!({long.clone(): "a"}));
        assert_only(
            &validate_create("Pod", &p),
            "metadata.labels",
            &format!("Invalid value: \"{long}\": name part must be no more than 63 characters"),
        );
    }

    #[test]
    fn annotations() {
        let mut p = pod();
        set(
            &mut p,
            "/metadata/annotations",
            json!({"Example.COM/Key": "fine", "no good": "x"}),
        );
        assert_only(
            &validate_create("Pod", &p),
            "metadata.annotations",
            &format!("Invalid value: \"no good\": {NAME_PART_ERR}"),
        );
        set(
            &mut p,
            "/metadata/annotations",
            json!({"big": "x".repeat(256 * 1024)}),
        );
        assert_only(
            &validate_create("Pod", &p),
            "metadata.annotations",
            "Too long: may not be more than 262144 bytes",
        );
    }

    #[test]
    fn template_metadata_is_reported_without_metadata_segment() {
        let causes = deployment_causes("/spec/template/metadata/annotations", json!({"a b": "x"}));
        assert_only(
            &causes,
            "spec.template.annotations",
            &format!("Invalid value: \"a b\": {NAME_PART_ERR}"),
        );
        let causes = deployment_causes(
            "/spec/template/metadata/labels",
            json!({"app": "web", "tier": "-x"}),
        );
        assert_only(
            &causes,
            "spec.template.labels",
            &format!("Invalid value: \"-x\": {LABEL_VALUE_ERR}"),
        );
    }

    // --- pod spec ------------------------------------------------------------

    #[test]
    fn containers_required() {
        let mut p = pod();
        set(&mut p, "/spec/containers", json!([]));
        assert_only(
            &validate_create("Pod", &p),
            "spec.containers",
            "Required value",
        );
        remove(&mut p, "/spec/containers");
        assert_only(
            &validate_create("Pod", &p),
            "spec.containers",
            "Required value",
        );
    }

    #[test]
    fn container_names() {
        assert_only(
            &container_causes("name", json!("Foo")),
            "spec.containers[0].name",
            &format!("Invalid value: \"Foo\": {DNS_LABEL_ERR}"),
        );
        assert_only(
            &container_causes("name", json!("")),
            "spec.containers[0].name",
            "Required value",
        );
        assert_only(
            &container_causes("name", json!("a.b")),
            "spec.containers[0].name",
            "Invalid value: \"a.b\": must not contain dots",
        );
        let mut p = pod();
        let c = p["spec"]["containers"][0].clone();
        set(&mut p, "/spec/containers", json!([c.clone(), c]));
        assert_only(
            &validate_create("Pod", &p),
            "spec.containers[1].name",
            "Duplicate value: \"nginx\"",
        );
    }

    #[test]
    fn image_required_for_pods_and_templates() {
        let mut p = pod();
        remove(&mut p, "/spec/containers/0/image");
        assert_only(
            &validate_create("Pod", &p),
            "spec.containers[0].image",
            "Required value",
        );
        let mut d = deployment();
        remove(&mut d, "/spec/template/spec/containers/0/image");
        assert_only(
            &validate_create("Deployment", &d),
            "spec.template.spec.containers[0].image",
            "Required value",
        );
        assert_only(
            &container_causes("image", json!(" nginx")),
            "spec.containers[0].image",
            "Invalid value: \" nginx\": must not have leading or trailing whitespace",
        );
    }

    #[test]
    fn container_ports() {
        let p = "spec.containers[0].ports[0]";
        assert_only(
            &container_causes("ports", json!([{"containerPort": 70000}])),
            &format!("{p}.containerPort"),
            "Invalid value: 70000: must be between 1 and 65535, inclusive",
        );
        assert_only(
            &container_causes("ports", json!([{"containerPort": -1}])),
            &format!("{p}.containerPort"),
            "Invalid value: -1: must be between 1 and 65535, inclusive",
        );
        // A zero port is an unset one upstream.
        assert_only(
            &container_causes("ports", json!([{"containerPort": 0}])),
            &format!("{p}.containerPort"),
            "Required value",
        );
        assert_only(
            &container_causes("ports", json!([{"containerPort": 80, "protocol": "HTTP"}])),
            &format!("{p}.protocol"),
            "Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
        );
        assert_only(
            &container_causes("ports", json!([{"containerPort": 80, "hostPort": 99999}])),
            &format!("{p}.hostPort"),
            "Invalid value: 99999: must be between 1 and 65535, inclusive",
        );
        let causes = container_causes("ports", json!([{"containerPort": 80, "name": "Web--1-"}]));
        for msg in [
            "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
            "must not contain consecutive hyphens",
            "must not begin or end with a hyphen",
        ] {
            assert_cause(
                &causes,
                &format!("{p}.name"),
                &format!("Invalid value: \"Web--1-\": {msg}"),
            );
        }
        assert_only(
            &container_causes(
                "ports",
                json!([{"containerPort": 80, "name": "a-very-long-port-name"}]),
            ),
            &format!("{p}.name"),
            "Invalid value: \"a-very-long-port-name\": must be no more than 15 characters",
        );
        assert_only(
            &container_causes("ports", json!([{"containerPort": 80, "name": "8080"}])),
            &format!("{p}.name"),
            "Invalid value: \"8080\": must contain at least one letter (a-z)",
        );
        assert_only(
            &container_causes(
                "ports",
                json!([{"containerPort": 80, "name": "web"}, {"containerPort": 81, "name": "web"}]),
            ),
            "spec.containers[0].ports[1].name",
            "Duplicate value: \"web\"",
        );
        assert_only(
            &container_causes(
                "ports",
                json!([{"containerPort": 80, "hostPort": 80}, {"containerPort": 81, "hostPort": 80}]),
            ),
            "spec.containers[0].ports[1].hostPort",
            "Duplicate value: \"TCP//80\"",
        );
    }

    #[test]
    fn pod_enumerations() {
        let mut p = pod();
        set(&mut p, "/spec/restartPolicy", json!("Sometimes"));
        assert_only(
            &validate_create("Pod", &p),
            "spec.restartPolicy",
            "Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
        );
        let mut p = pod();
        set(&mut p, "/spec/dnsPolicy", json!("Google"));
        assert_only(
            &validate_create("Pod", &p),
            "spec.dnsPolicy",
            "Unsupported value: \"Google\": supported values: \"ClusterFirstWithHostNet\", \"ClusterFirst\", \"Default\", \"None\"",
        );
        assert_only(
            &container_causes("imagePullPolicy", json!("Sometimes")),
            "spec.containers[0].imagePullPolicy",
            "Unsupported value: \"Sometimes\": supported values: \"Always\", \"IfNotPresent\", \"Never\"",
        );
        assert_only(
            &container_causes("imagePullPolicy", json!("")),
            "spec.containers[0].imagePullPolicy",
            "Required value",
        );
        assert_only(
            &container_causes("terminationMessagePolicy", json!("Log")),
            "spec.containers[0].terminationMessagePolicy",
            "Unsupported value: \"Log\": supported values: \"File\", \"FallbackToLogsOnError\"",
        );
        let mut p = pod();
        set(&mut p, "/spec/activeDeadlineSeconds", json!(0));
        assert_only(
            &validate_create("Pod", &p),
            "spec.activeDeadlineSeconds",
            "Invalid value: 0: must be between 1 and 2147483647, inclusive",
        );
        let mut p = pod();
        set(&mut p, "/spec/serviceAccountName", json!("Bad_SA"));
        assert_only(
            &validate_create("Pod", &p),
            "spec.serviceAccountName",
            &format!("Invalid value: \"Bad_SA\": {DNS_SUBDOMAIN_ERR}"),
        );
        let mut p = pod();
        set(&mut p, "/spec/nodeSelector", json!({"disk": "ssd!"}));
        assert_only(
            &validate_create("Pod", &p),
            "spec.nodeSelector",
            &format!("Invalid value: \"ssd!\": {LABEL_VALUE_ERR}"),
        );
    }

    #[test]
    fn env_vars() {
        assert_only(
            &container_causes("env", json!([{"value": "x"}])),
            "spec.containers[0].env[0].name",
            "Required value",
        );
        assert_only(
            &container_causes("env", json!([{"name": "A=B"}])),
            "spec.containers[0].env[0].name",
            "Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='",
        );
        // Names that are not C identifiers are fine in 1.33.
        assert_eq!(
            container_causes("env", json!([{"name": "1-my.var"}])),
            vec![]
        );
        assert_only(
            &container_causes("env", json!([{"name": "A", "valueFrom": {}}])),
            "spec.containers[0].env[0].valueFrom",
            "Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
        );
        assert_only(
            &container_causes(
                "env",
                json!([{"name": "A", "value": "x", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]),
            ),
            "spec.containers[0].env[0].valueFrom",
            "Invalid value: \"\": may not be specified when `value` is not empty",
        );
        assert_only(
            &container_causes(
                "env",
                json!([{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "a b"}}}]),
            ),
            "spec.containers[0].env[0].valueFrom.configMapKeyRef.key",
            &format!("Invalid value: \"a b\": {CONFIG_KEY_ERR}"),
        );
        assert_only(
            &container_causes(
                "env",
                json!([{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "spec.foo"}}}]),
            ),
            "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath",
            "Invalid value: \"spec.foo\": error converting fieldPath: field label not supported: spec.foo",
        );
        assert_only(
            &container_causes(
                "env",
                json!([{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "status.phase"}}}]),
            ),
            "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath",
            "Unsupported value: \"status.phase\": supported values: \"metadata.name\", \"metadata.namespace\", \"metadata.uid\", \"spec.nodeName\", \"spec.serviceAccountName\", \"status.hostIP\", \"status.hostIPs\", \"status.podIP\", \"status.podIPs\"",
        );
        assert_eq!(
            container_causes(
                "env",
                json!([{"name": "A", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.labels['app']"}}}])
            ),
            vec![]
        );
    }

    #[test]
    fn volumes_and_mounts() {
        let mut p = pod();
        set(&mut p, "/spec/volumes", json!([{"name": "data"}]));
        assert_only(
            &validate_create("Pod", &p),
            "spec.volumes[0]",
            "Required value: must specify a volume type",
        );
        set(
            &mut p,
            "/spec/volumes",
            json!([{"name": "data", "emptyDir": {}, "hostPath": {"path": "/x"}}]),
        );
        assert_only(
            &validate_create("Pod", &p),
            "spec.volumes[0].hostPath",
            "Forbidden: may not specify more than 1 volume type",
        );
        set(
            &mut p,
            "/spec/volumes",
            json!([{"name": "Data", "emptyDir": {}}]),
        );
        assert_only(
            &validate_create("Pod", &p),
            "spec.volumes[0].name",
            &format!("Invalid value: \"Data\": {DNS_LABEL_ERR}"),
        );
        set(
            &mut p,
            "/spec/volumes",
            json!([{"name": "d", "emptyDir": {}}, {"name": "d", "emptyDir": {}}]),
        );
        assert_only(
            &validate_create("Pod", &p),
            "spec.volumes[1].name",
            "Duplicate value: \"d\"",
        );
        set(
            &mut p,
            "/spec/volumes",
            json!([{"name": "s", "secret": {"defaultMode": 1000}}]),
        );
        let causes = validate_create("Pod", &p);
        assert_cause(
            &causes,
            "spec.volumes[0].secret.secretName",
            "Required value",
        );
        assert_cause(
            &causes,
            "spec.volumes[0].secret.defaultMode",
            "Invalid value: 1000: must be a number between 0 and 0777 (octal), both inclusive",
        );

        let mut p = pod();
        set(
            &mut p,
            "/spec/volumes",
            json!([{"name": "data", "emptyDir": {}}]),
        );
        set(
            &mut p,
            "/spec/containers/0/volumeMounts",
            json!([{"name": "cache", "mountPath": "/c"}]),
        );
        assert_only(
            &validate_create("Pod", &p),
            "spec.containers[0].volumeMounts[0].name",
            "Not found: \"cache\"",
        );
        set(
            &mut p,
            "/spec/containers/0/volumeMounts",
            json!([{"name": "data"}]),
        );
        assert_only(
            &validate_create("Pod", &p),
            "spec.containers[0].volumeMounts[0].mountPath",
            "Required value",
        );
        set(
            &mut p,
            "/spec/containers/0/volumeMounts",
            json!([{"name": "data", "mountPath": "/d"}, {"name": "data", "mountPath": "/d"}]),
        );
        assert_only(
            &validate_create("Pod", &p),
            "spec.containers[0].volumeMounts[1].mountPath",
            "Invalid value: \"/d\": must be unique",
        );
        set(
            &mut p,
            "/spec/containers/0/volumeMounts",
            json!([{"name": "data", "mountPath": "/d", "subPath": "../x"}]),
        );
        assert_only(
            &validate_create("Pod", &p),
            "spec.containers[0].volumeMounts.subPath",
            "Invalid value: \"../x\": must not contain '..'",
        );
        // A volume with errors cannot be mounted either.
        set(&mut p, "/spec/volumes", json!([{"name": "data"}]));
        set(
            &mut p,
            "/spec/containers/0/volumeMounts",
            json!([{"name": "data", "mountPath": "/d"}]),
        );
        assert_cause(
            &validate_create("Pod", &p),
            "spec.containers[0].volumeMounts[0].name",
            "Not found: \"data\"",
        );
    }

    #[test]
    fn probes_and_lifecycle() {
        assert_only(
            &container_causes("livenessProbe", json!({"periodSeconds": 10})),
            "spec.containers[0].livenessProbe",
            "Required value: must specify a handler type",
        );
        assert_only(
            &container_causes(
                "readinessProbe",
                json!({"exec": {"command": ["true"]}, "tcpSocket": {"port": 80}}),
            ),
            "spec.containers[0].readinessProbe.tcpSocket",
            "Forbidden: may not specify more than 1 handler type",
        );
        let causes = container_causes(
            "livenessProbe",
            json!({"httpGet": {"port": 0}, "successThreshold": 2}),
        );
        assert_cause(
            &causes,
            "spec.containers[0].livenessProbe.httpGet.port",
            "Invalid value: 0: must be between 1 and 65535, inclusive",
        );
        assert_cause(
            &causes,
            "spec.containers[0].livenessProbe.successThreshold",
            "Invalid value: 2: must be 1",
        );
        assert_only(
            &container_causes(
                "startupProbe",
                json!({"tcpSocket": {"port": 80}, "successThreshold": 2}),
            ),
            "spec.containers[0].startupProbe.successThreshold",
            "Invalid value: 2: must be 1",
        );
        let causes = container_causes("readinessProbe", json!({"exec": {}, "periodSeconds": -1}));
        assert_cause(
            &causes,
            "spec.containers[0].readinessProbe.exec.command",
            "Required value",
        );
        assert_cause(
            &causes,
            "spec.containers[0].readinessProbe.periodSeconds",
            "Invalid value: -1: must be greater than or equal to 0",
        );
        assert_only(
            &container_causes(
                "readinessProbe",
                json!({"tcpSocket": {"port": 80}, "terminationGracePeriodSeconds": 5}),
            ),
            "spec.containers[0].readinessProbe.terminationGracePeriodSeconds",
            "Invalid value: 5: must not be set for readinessProbes",
        );
        assert_only(
            &container_causes("lifecycle", json!({"preStop": {}})),
            "spec.containers[0].lifecycle.preStop",
            "Required value: must specify a handler type",
        );
        let mut p = pod();
        let mut init = p["spec"]["containers"][0].clone();
        init["name"] = json!("init");
        init["livenessProbe"] = json!({"exec": {"command": ["true"]}});
        set(&mut p, "/spec/initContainers", json!([init]));
        assert_only(
            &validate_create("Pod", &p),
            "spec.initContainers[0].livenessProbe",
            "Forbidden: may not be set for init containers without restartPolicy=Always",
        );
    }

    #[test]
    fn init_containers() {
        let mut p = pod();
        let mut init = p["spec"]["containers"][0].clone();
        init["restartPolicy"] = json!("OnFailure");
        set(&mut p, "/spec/initContainers", json!([init]));
        let causes = validate_create("Pod", &p);
        assert_cause(
            &causes,
            "spec.initContainers[0].restartPolicy",
            "Unsupported value: \"OnFailure\": supported values: \"Always\"",
        );
        assert_cause(
            &causes,
            "spec.initContainers[0].name",
            "Duplicate value: \"nginx\"",
        );
        assert_only(
            &container_causes("restartPolicy", json!("Always")),
            "spec.containers[0].restartPolicy",
            "Forbidden: may not be set for non-init containers",
        );
    }

    #[test]
    fn tolerations() {
        let mut p = pod();
        set(
            &mut p,
            "/spec/tolerations",
            json!([{"operator": "Equal", "value": "x"}]),
        );
        let causes = validate_create("Pod", &p);
        assert_cause(
            &causes,
            "spec.tolerations[0].operator",
            "Invalid value: \"Equal\": operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
        );
        set(
            &mut p,
            "/spec/tolerations",
            json!([{"key": "k", "operator": "Exists", "effect": "NoRun"}]),
        );
        assert_only(
            &validate_create("Pod", &p),
            "spec.tolerations[0].effect",
            "Unsupported value: \"NoRun\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"",
        );
    }

    // --- workload controllers -------------------------------------------------

    #[test]
    fn selector_required_and_not_empty() {
        let mut d = deployment();
        remove(&mut d, "/spec/selector");
        let causes = validate_create("Deployment", &d);
        assert_cause(&causes, "spec.selector", "Required value");
        // A missing selector selects nothing, so the template never matches.
        assert_cause(
            &causes,
            "spec.template.metadata.labels",
            "Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`",
        );
        assert_only(
            &deployment_causes("/spec/selector", json!({})),
            "spec.selector",
            "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment",
        );
        let mut s = stateful_set();
        set(&mut s, "/spec/selector", json!({"matchLabels": {}}));
        assert_only(
            &validate_create("StatefulSet", &s),
            "spec.selector",
            "Invalid value: v1.LabelSelector{MatchLabels:map[string]string{}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for statefulset",
        );
        let mut ds = daemon_set();
        set(&mut ds, "/spec/selector", json!({}));
        assert_only(
            &validate_create("DaemonSet", &ds),
            "spec.selector",
            "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for daemonset",
        );
    }

    #[test]
    fn selector_must_match_template() {
        let causes = deployment_causes("/spec/selector/matchLabels/app", json!("x"));
        assert_only(
            &causes,
            "spec.template.metadata.labels",
            "Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`",
        );
        let causes = deployment_causes(
            "/spec/selector",
            json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]}),
        );
        assert_eq!(causes, vec![]);
        let causes = deployment_causes(
            "/spec/selector",
            json!({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}),
        );
        assert_only(
            &causes,
            "spec.template.metadata.labels",
            "Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`",
        );
        let causes = deployment_causes(
            "/spec/selector",
            json!({"matchExpressions": [{"key": "app", "operator": "In"}]}),
        );
        assert_cause(
            &causes,
            "spec.selector.matchExpressions[0].values",
            "Required value: must be specified when `operator` is 'In' or 'NotIn'",
        );
        assert_cause(
            &causes,
            "spec.selector",
            "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement{v1.LabelSelectorRequirement{Key:\"app\", Operator:\"In\", Values:[]string(nil)}}}: invalid label selector",
        );
        let mut ds = daemon_set();
        set(
            &mut ds,
            "/spec/template/metadata/labels",
            json!({"app": "other"}),
        );
        assert_only(
            &validate_create("DaemonSet", &ds),
            "spec.template.metadata.labels",
            "Invalid value: map[string]string{\"app\":\"other\"}: `selector` does not match template `labels`",
        );
        let mut s = stateful_set();
        remove(&mut s, "/spec/template/metadata/labels");
        assert_only(
            &validate_create("StatefulSet", &s),
            "spec.template.metadata.labels",
            "Invalid value: map[string]string(nil): `selector` does not match template `labels`",
        );
    }

    #[test]
    fn replicas_and_counts() {
        assert_only(
            &deployment_causes("/spec/replicas", json!(-1)),
            "spec.replicas",
            "Invalid value: -1: must be greater than or equal to 0",
        );
        assert_only(
            &deployment_causes("/spec/revisionHistoryLimit", json!(-2)),
            "spec.revisionHistoryLimit",
            "Invalid value: -2: must be greater than or equal to 0",
        );
        let mut d = deployment();
        set(&mut d, "/spec/minReadySeconds", json!(600));
        assert_only(
            &validate_create("Deployment", &d),
            "spec.progressDeadlineSeconds",
            "Invalid value: 600: must be greater than minReadySeconds",
        );
    }

    #[test]
    fn template_restart_policy_must_be_always() {
        assert_only(
            &deployment_causes("/spec/template/spec/restartPolicy", json!("Never")),
            "spec.template.spec.restartPolicy",
            "Unsupported value: \"Never\": supported values: \"Always\"",
        );
        assert_only(
            &deployment_causes("/spec/template/spec/activeDeadlineSeconds", json!(10)),
            "spec.template.spec.activeDeadlineSeconds",
            "Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported",
        );
        let mut s = stateful_set();
        set(
            &mut s,
            "/spec/template/spec/restartPolicy",
            json!("OnFailure"),
        );
        assert_only(
            &validate_create("StatefulSet", &s),
            "spec.template.spec.restartPolicy",
            "Unsupported value: \"OnFailure\": supported values: \"Always\"",
        );
    }

    #[test]
    fn deployment_strategy() {
        let ru = "spec.strategy.rollingUpdate";
        assert_only(
            &deployment_causes(
                "/spec/strategy/rollingUpdate",
                json!({"maxUnavailable": 0, "maxSurge": "0%"}),
            ),
            &format!("{ru}.maxUnavailable"),
            "Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}: may not be 0 when `maxSurge` is 0",
        );
        assert_only(
            &deployment_causes("/spec/strategy/rollingUpdate/maxUnavailable", json!("150%")),
            &format!("{ru}.maxUnavailable"),
            "Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"150%\"}: must not be greater than 100%",
        );
        assert_only(
            &deployment_causes("/spec/strategy/rollingUpdate/maxSurge", json!("lots")),
            &format!("{ru}.maxSurge"),
            "Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"lots\"}: a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
        );
        assert_only(
            &deployment_causes("/spec/strategy/rollingUpdate/maxSurge", json!(-1)),
            &format!("{ru}.maxSurge"),
            "Invalid value: -1: must be greater than or equal to 0",
        );
        assert_only(
            &deployment_causes("/spec/strategy/type", json!("Recreate")),
            "spec.strategy.rollingUpdate",
            "Forbidden: may not be specified when strategy `type` is 'Recreate'",
        );
        let mut d = deployment();
        set(&mut d, "/spec/strategy", json!({"type": "BlueGreen"}));
        assert_only(
            &validate_create("Deployment", &d),
            "spec.strategy",
            "Unsupported value: apps.DeploymentStrategy{Type:\"BlueGreen\", RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}: supported values: \"Recreate\", \"RollingUpdate\"",
        );
    }

    #[test]
    fn daemon_set_strategy() {
        let mut ds = daemon_set();
        set(
            &mut ds,
            "/spec/updateStrategy/rollingUpdate",
            json!({"maxUnavailable": 0, "maxSurge": 0}),
        );
        assert_only(
            &validate_create("DaemonSet", &ds),
            "spec.updateStrategy.rollingUpdate.maxUnavailable",
            "Required value: cannot be 0 when maxSurge is 0",
        );
        set(
            &mut ds,
            "/spec/updateStrategy/rollingUpdate",
            json!({"maxUnavailable": 1, "maxSurge": "10%"}),
        );
        assert_only(
            &validate_create("DaemonSet", &ds),
            "spec.updateStrategy.rollingUpdate.maxSurge",
            "Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"10%\"}: may not be set when maxUnavailable is non-zero",
        );
    }

    #[test]
    fn stateful_set_rules() {
        let mut s = stateful_set();
        set(&mut s, "/spec/podManagementPolicy", json!("Random"));
        assert_only(
            &validate_create("StatefulSet", &s),
            "spec.podManagementPolicy",
            "Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'",
        );
        let mut s = stateful_set();
        set(
            &mut s,
            "/spec/updateStrategy",
            json!({"type": "OnDelete", "rollingUpdate": {"partition": 1}}),
        );
        assert_only(
            &validate_create("StatefulSet", &s),
            "spec.updateStrategy.rollingUpdate",
            "Invalid value: apps.RollingUpdateStatefulSetStrategy{Partition:1, MaxUnavailable:(*intstr.IntOrString)(nil)}: only allowed for updateStrategy 'RollingUpdate'",
        );
        let mut s = stateful_set();
        set(
            &mut s,
            "/spec/updateStrategy/rollingUpdate/maxUnavailable",
            json!(0),
        );
        assert_only(
            &validate_create("StatefulSet", &s),
            "spec.updateStrategy.rollingUpdate.maxUnavailable",
            "Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}: cannot be 0",
        );
        let mut s = stateful_set();
        set(
            &mut s,
            "/spec/persistentVolumeClaimRetentionPolicy/whenDeleted",
            json!("Keep"),
        );
        assert_only(
            &validate_create("StatefulSet", &s),
            "spec.persistentVolumeClaimRetentionPolicy.whenDeleted",
            "Unsupported value: \"Keep\": supported values: \"Retain\", \"Delete\"",
        );
    }

    #[test]
    fn controller_updates() {
        let old = deployment();
        let mut new = deployment();
        set(&mut new, "/spec/selector/matchLabels/app", json!("api"));
        set(&mut new, "/spec/template/metadata/labels/app", json!("api"));
        assert_only(
            &validate_update("Deployment", &old, &new),
            "spec.selector",
            "Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"api\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable",
        );
        let mut new = deployment();
        set(&mut new, "/spec/replicas", json!(5));
        set(
            &mut new,
            "/spec/template/spec/containers/0/image",
            json!("nginx:2"),
        );
        assert_eq!(validate_update("Deployment", &old, &new), vec![]);

        let old = stateful_set();
        let mut new = stateful_set();
        set(&mut new, "/spec/serviceName", json!("other"));
        assert_only(
            &validate_update("StatefulSet", &old, &new),
            "spec",
            "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        );
        let mut new = stateful_set();
        set(&mut new, "/spec/replicas", json!(5));
        set(&mut new, "/spec/minReadySeconds", json!(3));
        set(
            &mut new,
            "/spec/template/spec/containers/0/image",
            json!("db:2"),
        );
        assert_eq!(validate_update("StatefulSet", &old, &new), vec![]);

        let old = daemon_set();
        let mut new = daemon_set();
        set(&mut new, "/spec/selector/matchLabels/tier", json!("x"));
        set(&mut new, "/spec/template/metadata/labels/tier", json!("x"));
        assert_only(
            &validate_update("DaemonSet", &old, &new),
            "spec.selector",
            "Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"agent\", \"tier\":\"x\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable",
        );
    }

    #[test]
    fn replica_sets_and_replication_controllers() {
        let mut rs = deployment();
        remove(&mut rs, "/spec/strategy");
        remove(&mut rs, "/spec/progressDeadlineSeconds");
        assert_eq!(validate_create("ReplicaSet", &rs), vec![]);
        set(&mut rs, "/spec/selector", json!({}));
        assert_only(
            &validate_create("ReplicaSet", &rs),
            "spec.selector",
            "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment",
        );
        let rc = json!({
            "metadata": {"name": "rc"},
            "spec": {"replicas": 1, "selector": {"app": "x"}, "template": {"metadata": {"labels": {"app": "y"}}, "spec": pod_spec_fixture()}}
        });
        assert_only(
            &validate_create("ReplicationController", &rc),
            "spec.template.metadata.labels",
            "Invalid value: map[string]string{\"app\":\"y\"}: `selector` does not match template `labels`",
        );
    }

    // --- jobs ------------------------------------------------------------------

    #[test]
    fn job_rules() {
        let mut j = job();
        set(&mut j, "/spec/template/spec/restartPolicy", json!("Always"));
        assert_only(
            &validate_create("Job", &j),
            "spec.template.spec.restartPolicy",
            "Required value: valid values: \"OnFailure\", \"Never\"",
        );
        set(
            &mut j,
            "/spec/template/spec/restartPolicy",
            json!("Sometimes"),
        );
        assert_cause(
            &validate_create("Job", &j),
            "spec.template.spec.restartPolicy",
            "Unsupported value: \"Sometimes\": supported values: \"OnFailure\", \"Never\"",
        );
        for key in [
            "parallelism",
            "completions",
            "backoffLimit",
            "activeDeadlineSeconds",
        ] {
            let mut j = job();
            set(&mut j, &format!("/spec/{key}"), json!(-1));
            assert_only(
                &validate_create("Job", &j),
                &format!("spec.{key}"),
                "Invalid value: -1: must be greater than or equal to 0",
            );
        }
        let mut j = job();
        set(&mut j, "/spec/completionMode", json!("Sometimes"));
        assert_only(
            &validate_create("Job", &j),
            "spec.completionMode",
            "Unsupported value: \"Sometimes\": supported values: \"NonIndexed\", \"Indexed\"",
        );
        let mut j = job();
        set(&mut j, "/spec/completionMode", json!("Indexed"));
        remove(&mut j, "/spec/completions");
        assert_only(
            &validate_create("Job", &j),
            "spec.completions",
            "Required value: when completion mode is Indexed",
        );
        let mut j = job();
        set(&mut j, "/spec/selector/matchLabels", json!({"other": "x"}));
        assert_cause(
            &validate_create("Job", &j),
            "spec.template.metadata.labels",
            "Invalid value: map[string]string{\"batch.kubernetes.io/controller-uid\":\"8f6a1c2e-0000-4000-8000-000000000001\", \"batch.kubernetes.io/job-name\":\"pi\", \"controller-uid\":\"8f6a1c2e-0000-4000-8000-000000000001\", \"job-name\":\"pi\"}: `selector` does not match template `labels`",
        );
    }

    #[test]
    fn job_updates() {
        let old = job();
        let mut new = job();
        set(&mut new, "/spec/completions", json!(3));
        assert_only(
            &validate_update("Job", &old, &new),
            "spec.completions",
            "Invalid value: 3: field is immutable",
        );
        let mut new = job();
        set(&mut new, "/spec/selector/matchLabels/extra", json!("x"));
        set(&mut new, "/spec/template/metadata/labels/extra", json!("x"));
        let causes = validate_update("Job", &old, &new);
        assert_cause(
            &causes,
            "spec.selector",
            "Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"batch.kubernetes.io/controller-uid\":\"8f6a1c2e-0000-4000-8000-000000000001\", \"extra\":\"x\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable",
        );
        assert!(
            causes
                .iter()
                .any(|(p, m)| p == "spec.template" && m.ends_with(": field is immutable"))
        );
        let mut new = job();
        set(
            &mut new,
            "/spec/template/spec/containers/0/image",
            json!("perl:2"),
        );
        let causes = validate_update("Job", &old, &new);
        assert_eq!(causes.len(), 1, "{causes:#?}");
        assert_eq!(causes[0].0, "spec.template");
        // Suspended jobs that never ran may move to other nodes.
        let mut old = job();
        set(&mut old, "/spec/suspend", json!(true));
        let mut new = old.clone();
        set(
            &mut new,
            "/spec/template/spec/nodeSelector",
            json!({"zone": "a"}),
        );
        assert_eq!(validate_update("Job", &old, &new), vec![]);
        // Indexed jobs may scale completions with parallelism.
        let mut old = job();
        set(&mut old, "/spec/completionMode", json!("Indexed"));
        let mut new = old.clone();
        set(&mut new, "/spec/completions", json!(4));
        assert_only(
            &validate_update("Job", &old, &new),
            "spec.completions",
            "Invalid value: 4: can only be modified in tandem with spec.parallelism",
        );
        set(&mut new, "/spec/parallelism", json!(4));
        assert_eq!(validate_update("Job", &old, &new), vec![]);
    }

    #[test]
    fn cron_jobs() {
        let mut c = cron_job();
        set(&mut c, "/spec/schedule", json!(""));
        assert_only(
            &validate_create("CronJob", &c),
            "spec.schedule",
            "Required value",
        );
        let bad = [
            ("* * *", "expected exactly 5 fields, found 3: [* * *]"),
            ("60 * * * *", "end of range (60) above maximum (59): 60"),
            ("0 0 0 * *", "beginning of range (0) below minimum (1): 0"),
            (
                "5-1 * * * *",
                "beginning of range (5) beyond end of range (1): 5-1",
            ),
            (
                "*/0 * * * *",
                "step of range should be a positive number: */0",
            ),
            (
                "* * * * funday",
                "failed to parse int from funday: strconv.Atoi: parsing \"funday\": invalid syntax",
            ),
            ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
            ("@reboot", "unrecognized descriptor: @reboot"),
            (
                "@every 1x",
                "failed to parse duration @every 1x: time: unknown unit \"x\" in duration \"1x\"",
            ),
            (
                "@every 10",
                "failed to parse duration @every 10: time: missing unit in duration \"10\"",
            ),
        ];
        for (schedule, msg) in bad {
            set(&mut c, "/spec/schedule", json!(schedule));
            assert_only(
                &validate_create("CronJob", &c),
                "spec.schedule",
                &format!("Invalid value: \"{schedule}\": {msg}"),
            );
        }
        for schedule in [
            "@hourly",
            "@daily",
            "@weekly",
            "@monthly",
            "@yearly",
            "@annually",
            "@midnight",
            "@every 1h30m",
            "0 9 * JAN-MAR MON-FRI",
            "*/15 0-6,18-23 ? * sun",
        ] {
            set(&mut c, "/spec/schedule", json!(schedule));
            assert_eq!(validate_create("CronJob", &c), vec![], "{schedule}");
        }
        set(&mut c, "/spec/schedule", json!("CRON_TZ=UTC 0 * * * *"));
        assert_only(
            &validate_create("CronJob", &c),
            "spec.schedule",
            "Invalid value: \"CRON_TZ=UTC 0 * * * *\": cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
        );

        let mut c = cron_job();
        set(&mut c, "/spec/concurrencyPolicy", json!("Sometimes"));
        assert_only(
            &validate_create("CronJob", &c),
            "spec.concurrencyPolicy",
            "Unsupported value: \"Sometimes\": supported values: \"Allow\", \"Forbid\", \"Replace\"",
        );
        let mut c = cron_job();
        set(
            &mut c,
            "/spec/jobTemplate/spec/template/spec/restartPolicy",
            json!("Always"),
        );
        assert_only(
            &validate_create("CronJob", &c),
            "spec.jobTemplate.spec.template.spec.restartPolicy",
            "Required value: valid values: \"OnFailure\", \"Never\"",
        );
        for key in [
            "startingDeadlineSeconds",
            "successfulJobsHistoryLimit",
            "failedJobsHistoryLimit",
        ] {
            let mut c = cron_job();
            set(&mut c, &format!("/spec/{key}"), json!(-1));
            assert_only(
                &validate_create("CronJob", &c),
                &format!("spec.{key}"),
                "Invalid value: -1: must be greater than or equal to 0",
            );
        }
        let mut c = cron_job();
        set(&mut c, "/spec/timeZone", json!("Mars/Olympus Mons"));
        assert_only(
            &validate_create("CronJob", &c),
            "spec.timeZone",
            "Invalid value: \"Mars/Olympus Mons\": unknown time zone Mars/Olympus Mons",
        );
        set(&mut c, "/spec/timeZone", json!("Europe/Berlin"));
        assert_eq!(validate_create("CronJob", &c), vec![]);
        let mut c = cron_job();
        set(&mut c, "/metadata/name", json!("n".repeat(53)));
        assert_only(
            &validate_create("CronJob", &c),
            "metadata.name",
            &format!(
                "Invalid value: \"{}\": must be no more than 52 characters",
                "n".repeat(53)
            ),
        );
        let mut c = cron_job();
        set(
            &mut c,
            "/spec/jobTemplate/spec/selector",
            json!({"matchLabels": {"a": "b"}}),
        );
        assert_only(
            &validate_create("CronJob", &c),
            "spec.jobTemplate.spec.selector",
            "Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"a\":\"b\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: `selector` will be auto-generated",
        );
    }

    // --- services ----------------------------------------------------------------

    #[test]
    fn service_rules() {
        let mut s = service();
        set(&mut s, "/spec/type", json!("Internal"));
        assert_only(
            &validate_create("Service", &s),
            "spec.type",
            "Unsupported value: \"Internal\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"",
        );
        let mut s = service();
        set(&mut s, "/spec/ports", json!([]));
        assert_only(
            &validate_create("Service", &s),
            "spec.ports",
            "Required value",
        );
        let mut s = service();
        set(&mut s, "/spec/ports/0/port", json!(0));
        assert_only(
            &validate_create("Service", &s),
            "spec.ports[0].port",
            "Invalid value: 0: must be between 1 and 65535, inclusive",
        );
        let mut s = service();
        set(
            &mut s,
            "/spec/ports",
            json!([{"port": 80, "protocol": "TCP"}, {"port": 443, "protocol": "TCP"}]),
        );
        let causes = validate_create("Service", &s);
        assert_cause(&causes, "spec.ports[0].name", "Required value");
        assert_cause(&causes, "spec.ports[1].name", "Required value");
        set(
            &mut s,
            "/spec/ports",
            json!([{"name": "a", "port": 80, "protocol": "TCP"}, {"name": "a", "port": 80, "protocol": "TCP"}]),
        );
        let causes = validate_create("Service", &s);
        assert_cause(&causes, "spec.ports[1].name", "Duplicate value: \"a\"");
        assert_cause(
            &causes,
            "spec.ports[1]",
            "Duplicate value: core.ServicePort{Name:\"\", Protocol:\"TCP\", AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}, NodePort:0}",
        );
        let mut s = service();
        set(&mut s, "/spec/ports/0/protocol", json!("ICMP"));
        assert_only(
            &validate_create("Service", &s),
            "spec.ports[0].protocol",
            "Unsupported value: \"ICMP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
        );
        let mut s = service();
        set(&mut s, "/spec/ports/0/targetPort", json!(70000));
        assert_only(
            &validate_create("Service", &s),
            "spec.ports[0].targetPort",
            "Invalid value: 70000: must be between 1 and 65535, inclusive",
        );
        set(&mut s, "/spec/ports/0/targetPort", json!("HTTP"));
        assert_cause(
            &validate_create("Service", &s),
            "spec.ports[0].targetPort",
            "Invalid value: \"HTTP\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
        );
        let mut s = service();
        set(&mut s, "/spec/ports/0/nodePort", json!(30080));
        assert_only(
            &validate_create("Service", &s),
            "spec.ports[0].nodePort",
            "Forbidden: may not be used when `type` is 'ClusterIP'",
        );
        let mut s = service();
        set(&mut s, "/spec/sessionAffinity", json!("Cookie"));
        assert_only(
            &validate_create("Service", &s),
            "spec.sessionAffinity",
            "Unsupported value: \"Cookie\": supported values: \"ClientIP\", \"None\"",
        );
        let external = json!({"metadata": {"name": "e"}, "spec": {"type": "ExternalName"}});
        assert_only(
            &validate_create("Service", &external),
            "spec.externalName",
            "Required value",
        );
        let external = json!({"metadata": {"name": "e"}, "spec": {"type": "ExternalName", "externalName": "Not_DNS"}});
        assert_only(
            &validate_create("Service", &external),
            "spec.externalName",
            &format!("Invalid value: \"Not_DNS\": {DNS_SUBDOMAIN_ERR}"),
        );
        let mut s = service();
        set(&mut s, "/spec/type", json!("NodePort"));
        set(&mut s, "/spec/clusterIP", json!("None"));
        set(&mut s, "/spec/clusterIPs", json!(["None"]));
        assert_only(
            &validate_create("Service", &s),
            "spec.clusterIPs[0]",
            "Invalid value: \"None\": may not be set to 'None' for NodePort services",
        );
        let mut s = service();
        set(&mut s, "/spec/clusterIP", json!("10.0.0.300"));
        set(&mut s, "/spec/clusterIPs", json!(["10.0.0.300"]));
        assert_only(
            &validate_create("Service", &s),
            "spec.clusterIPs[0]",
            "Invalid value: \"10.0.0.300\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        );
        let mut s = service();
        set(
            &mut s,
            "/spec/loadBalancerSourceRanges",
            json!(["10.0.0.0/8"]),
        );
        assert_only(
            &validate_create("Service", &s),
            "spec.LoadBalancerSourceRanges",
            "Forbidden: may only be used when `type` is 'LoadBalancer'",
        );
    }

    #[test]
    fn service_updates() {
        let old = service();
        let mut new = service();
        set(&mut new, "/spec/clusterIP", json!("10.96.0.11"));
        set(&mut new, "/spec/clusterIPs", json!(["10.96.0.11"]));
        assert_only(
            &validate_update("Service", &old, &new),
            "spec.clusterIPs[0]",
            "Invalid value: []string{\"10.96.0.11\"}: may not change once set",
        );
        // kubectl apply leaves the allocated IP out; it is kept.
        let mut new = service();
        remove(&mut new, "/spec/clusterIP");
        remove(&mut new, "/spec/clusterIPs");
        assert_eq!(validate_update("Service", &old, &new), vec![]);
        let mut new = service();
        set(&mut new, "/spec/type", json!("NodePort"));
        set(&mut new, "/spec/externalTrafficPolicy", json!("Cluster"));
        assert_eq!(validate_update("Service", &old, &new), vec![]);
        // Switching back keeps the allocated node port, which is then dropped.
        let mut node_port = new.clone();
        set(&mut node_port, "/spec/ports/0/nodePort", json!(30080));
        let mut back = node_port.clone();
        set(&mut back, "/spec/type", json!("ClusterIP"));
        assert_eq!(validate_update("Service", &node_port, &back), vec![]);
        let mut external = service();
        set(&mut external, "/spec/type", json!("ExternalName"));
        set(&mut external, "/spec/externalName", json!("example.com"));
        assert_eq!(validate_update("Service", &old, &external), vec![]);
        assert_cause(
            &validate_create("Service", &external),
            "spec.clusterIPs",
            "Forbidden: may not be set for ExternalName services",
        );
    }

    // --- config maps and secrets -------------------------------------------------

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

    #[test]
    fn go_base64_offsets() {
        assert_eq!(go_base64_decode("aGVsbG8="), Ok(b"hello".to_vec()));
        assert_eq!(go_base64_decode(""), Ok(vec![]));
        assert_eq!(go_base64_decode("abc"), Err(0));
        assert_eq!(go_base64_decode("abcde"), Err(4));
        assert_eq!(go_base64_decode("ab=c"), Err(2));
        assert_eq!(go_base64_decode("ab="), Err(3));
        assert_eq!(go_base64_decode("YQ==x"), Err(4));
    }

    // --- nodes and pods ------------------------------------------------------------

    #[test]
    fn node_taints() {
        let n = json!({"metadata": {"name": "n"}, "spec": {"taints": [{"key": "k", "effect": "Sometimes"}]}});
        assert_only(
            &validate_create("Node", &n),
            "metadata.taints[0].effect",
            "Unsupported value: \"Sometimes\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"",
        );
        let n = json!({"metadata": {"name": "n"}, "spec": {"taints": [{"key": "k"}]}});
        assert_only(
            &validate_create("Node", &n),
            "metadata.taints[0].effect",
            "Required value",
        );
        let n = json!({"metadata": {"name": "n"}, "spec": {"taints": [
            {"key": "k", "value": "a", "effect": "NoSchedule"},
            {"key": "k", "value": "b", "effect": "NoSchedule"}
        ]}});
        assert_only(
            &validate_create("Node", &n),
            "metadata.taints[1]",
            "Duplicate value: core.Taint{Key:\"k\", Value:\"b\", Effect:\"NoSchedule\", TimeAdded:(*v1.Time)(nil)}: taints must be unique by key and effect pair",
        );
        let n = json!({"metadata": {"name": "n"}, "spec": {"taints": [{"key": "bad key", "effect": "NoExecute"}]}});
        assert_only(
            &validate_create("Node", &n),
            "metadata.taints[0].key",
            &format!("Invalid value: \"bad key\": {NAME_PART_ERR}"),
        );
    }

    #[test]
    fn pod_updates() {
        let old = pod();
        let mut new = pod();
        set(&mut new, "/spec/containers/0/image", json!("nginx:1.27"));
        set(&mut new, "/metadata/labels/extra", json!("x"));
        assert_eq!(validate_update("Pod", &old, &new), vec![]);
        let mut new = pod();
        set(
            &mut new,
            "/spec/containers/0/env",
            json!([{"name": "A", "value": "b"}]),
        );
        assert_only(
            &validate_update("Pod", &old, &new),
            "spec",
            &format!("Forbidden: {UPDATABLE_POD_FIELDS}"),
        );
        let mut new = pod();
        let c = new["spec"]["containers"][0].clone();
        let mut c2 = c.clone();
        c2["name"] = json!("sidecar");
        set(&mut new, "/spec/containers", json!([c, c2]));
        assert_only(
            &validate_update("Pod", &old, &new),
            "spec.containers",
            "Forbidden: pod updates may not add or remove containers",
        );
        let mut old = pod();
        set(&mut old, "/spec/activeDeadlineSeconds", json!(10));
        let mut new = old.clone();
        set(&mut new, "/spec/activeDeadlineSeconds", json!(20));
        assert_only(
            &validate_update("Pod", &old, &new),
            "spec.activeDeadlineSeconds",
            "Invalid value: 20: must be less than or equal to previous value",
        );
        let mut old = pod();
        set(
            &mut old,
            "/spec/tolerations",
            json!([{"key": "a", "operator": "Exists"}]),
        );
        let mut new = old.clone();
        set(
            &mut new,
            "/spec/tolerations",
            json!([{"key": "a", "operator": "Exists"}, {"key": "b", "operator": "Exists"}]),
        );
        assert_eq!(validate_update("Pod", &old, &new), vec![]);
        set(
            &mut new,
            "/spec/tolerations",
            json!([{"key": "b", "operator": "Exists"}]),
        );
        assert_only(
            &validate_update("Pod", &old, &new),
            "spec.tolerations",
            "Forbidden: existing toleration can not be modified except its tolerationSeconds",
        );
    }

    #[test]
    fn quoting_matches_go() {
        assert_eq!(quote("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\x01\"");
        assert_eq!(quote("ünï"), "\"ünï\"");
    }
}
