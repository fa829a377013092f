//! CustomResourceDefinitions (`apiextensions.k8s.io/v1`) served generically: the pure logic.
//!
//! [`Crd::parse`] validates a CRD as upstream does for the essentials (the causes of its 422)
//! and gives its names, scope, versions, schemas, subresources and printer columns. For the
//! custom objects: [`validate`] against a version's `openAPIV3Schema`, [`prune`] unknown
//! fields, [`apply_defaults`], [`printer_cells`], and [`scale_of`] / [`set_replicas`].
//!
//! Causes are `(field, message)` in upstream's wording. Nothing here panics on any input: user
//! data is never unwrapped or indexed, and recursion stops at [`MAX_DEPTH`]. Left out: `pattern`
//! (no regex engine: neither checked nor enforced), `anyOf`/`allOf`/`oneOf`/`not`, CEL rules,
//! list/map types, min/maxProperties, multipleOf, conversion webhooks.

use crate::kinds::go::quote;
use serde_json::{Map, Value};

/// One cause of a 422: the field path and the message (`Required value`, `Invalid value: …`).
pub type Cause = (String, String);

/// How deep schemas and objects are followed; deeper parts are neither checked nor changed.
pub const MAX_DEPTH: usize = 64;

type Obj = Map<String, Value>;

static NULL: Value = Value::Null;

const IOS: &str = "x-kubernetes-int-or-string";
const PRES: &str = "x-kubernetes-preserve-unknown-fields";
const EMB: &str = "x-kubernetes-embedded-resource";
const META: [&str; 3] = ["apiVersion", "kind", "metadata"];

/// Where the custom objects live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Namespaced,
    Cluster,
}

/// `spec.names` with upstream's defaults: singular = lowercase kind, listKind = `<Kind>List`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names {
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub list_kind: String,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
}

/// `subresources.scale`, with `.spec.replicas`-style paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scale {
    pub spec_replicas_path: String,
    pub status_replicas_path: String,
    pub label_selector_path: Option<String>,
}

/// A version's subresources: whether `status` is enabled, and `scale` if set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subresources {
    pub status: bool,
    pub scale: Option<Scale>,
}

/// One of `additionalPrinterColumns`; `ty` is integer, number, string, boolean or date.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub ty: String,
    pub format: String,
    pub description: String,
    pub priority: i64,
    pub json_path: String,
}

/// One of `spec.versions`; `schema` is its `openAPIV3Schema` as given.
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    pub name: String,
    pub served: bool,
    pub storage: bool,
    pub deprecated: bool,
    pub deprecation_warning: String,
    pub schema: Value,
    pub subresources: Subresources,
    pub columns: Vec<Column>,
}

/// A CRD that passed [`Crd::parse`]: `name` is `<plural>.<group>`, `versions` in given order.
#[derive(Debug, Clone, PartialEq)]
pub struct Crd {
    pub name: String,
    pub group: String,
    pub names: Names,
    pub scope: Scope,
    pub versions: Vec<Version>,
}

impl Crd {
    /// Validates the CRD as applied, like upstream's create validation; on failure the causes
    /// of the 422 (a field of the wrong JSON type, a 400 upstream, is a cause here too).
    pub fn parse(crd: &Value) -> Result<Crd, Vec<Cause>> {
        let mut e = Errs::default();
        if deeper_than(crd, 4 * MAX_DEPTH) {
            e.forbid(
                "",
                &format!("must not be nested more than {} levels deep", 4 * MAX_DEPTH),
            );
            return Err(e.0);
        }
        if !crd.is_object() {
            e.bad("", crd, "must be an object");
        }
        let meta = e.obj(crd.as_object(), "", "metadata");
        let spec = e.obj(crd.as_object(), "", "spec");
        let (n, np) = (e.obj(spec, "spec", "names"), "spec.names");
        let kind = e.str(n, np, "kind");
        let list_kind = e.str(n, np, "listKind");
        let default_list = (!kind.is_empty()).then(|| format!("{kind}List"));
        let names = Names {
            plural: e.str(n, np, "plural"),
            singular: or(e.str(n, np, "singular"), kind.to_lowercase()),
            list_kind: or(list_kind, default_list.unwrap_or_default()),
            short_names: e.strs(n, np, "shortNames"),
            categories: e.strs(n, np, "categories"),
            kind,
        };
        let name = e.str(meta, "metadata", "name");
        let group = e.str(spec, "spec", "group");
        if name.is_empty() {
            e.req("metadata.name", "name or generateName is required");
        }
        for m in dns(&name, false).into_iter().filter(|_| !name.is_empty()) {
            e.bad_s("metadata.name", &name, &m);
        }
        if !name.is_empty() && name != format!("{}.{group}", names.plural) {
            e.bad_s(
                "metadata.name",
                &name,
                r#"must be spec.names.plural+"."+spec.group"#,
            );
        }
        let msgs = dns(&group, false).join(",");
        if group.is_empty() {
            e.req("spec.group", "");
        } else if !msgs.is_empty() {
            e.bad_s("spec.group", &group, &msgs);
        } else if !group.contains('.') {
            e.bad_s(
                "spec.group",
                &group,
                "should be a domain with at least one dot",
            );
        }
        let scope = match e.str(spec, "spec", "scope").as_str() {
            "Namespaced" => Some(Scope::Namespaced),
            "Cluster" => Some(Scope::Cluster),
            "" => {
                e.req("spec.scope", "");
                None
            }
            s => {
                e.unsupported("spec.scope", &s.into(), &["Cluster", "Namespaced"]);
                None
            }
        };
        let vs = e.arr(spec, "spec", "versions");
        for (i, v) in vs.iter().enumerate() {
            if v.pointer("/schema/openAPIV3Schema")
                .is_none_or(Value::is_null)
            {
                let f = format!("spec.versions[{i}].schema.openAPIV3Schema");
                e.req(f, "schemas are required");
            }
        }
        let mut versions: Vec<Version> = Vec::new();
        for (i, v) in vs.iter().enumerate() {
            versions.push(parse_version(&mut e, v, &format!("spec.versions[{i}]")));
        }
        let mut seen: Vec<&str> = versions.iter().map(|v| v.name.as_str()).collect();
        seen.sort_unstable();
        let dup = seen.windows(2).any(|w| w.first() == w.last());
        let vs = versions
            .iter()
            .map(|v| format!("{{Name:{}, …}}", quote(&v.name)));
        let vs = format!("{{{}}}", vs.collect::<Vec<_>>().join(", "));
        let vs = Some(vs).filter(|v| v != "{}").unwrap_or("(nil)".into());
        let head = format!("Invalid value: []apiextensions.CustomResourceDefinitionVersion{vs}");
        if dup {
            e.add(
                "spec.versions",
                head.clone(),
                "must contain unique version names",
            );
        }
        if versions.iter().filter(|v| v.storage).count() != 1 {
            let why = "must have exactly one version marked as storage version";
            e.add("spec.versions", head, why);
        }
        check_names(&names, &mut e);
        if spec.and_then(|s| s.get("preserveUnknownFields")) == Some(&true.into()) {
            let why = "cannot set to true, set x-kubernetes-preserve-unknown-fields to true \
                       in openAPIV3Schema instead";
            e.bad("spec.preserveUnknownFields", &true.into(), why);
        }
        match scope {
            Some(scope) if e.0.is_empty() => Ok(Crd {
                name,
                group,
                names,
                scope,
                versions,
            }),
            _ => Err(e.0),
        }
    }

    pub fn version(&self, name: &str) -> Option<&Version> {
        self.versions.iter().find(|v| v.name == name)
    }

    /// The one version with `storage: true` (parse guarantees there is exactly one).
    pub fn storage_version(&self) -> Option<&Version> {
        self.versions.iter().find(|v| v.storage)
    }
}

fn parse_version(e: &mut Errs, v: &Value, p: &str) -> Version {
    let m = v.as_object();
    if m.is_none() {
        e.bad(p, v, "must be an object");
    }
    let name = e.str(m, p, "name");
    let msgs = dns(&name, true);
    if !msgs.is_empty() {
        e.bad_s(child(p, "name"), &name, &msgs.join(","));
    }
    let mut sub = Errs::default();
    let sp = child(p, "subresources");
    let subresources = parse_subresources(&mut sub, e.obj(m, p, "subresources"), &sp);
    let schema = v
        .pointer("/schema/openAPIV3Schema")
        .cloned()
        .unwrap_or_default();
    if !schema.is_null() {
        let sp = format!("{p}.schema.openAPIV3Schema");
        e.0.extend(check_schema(&schema, &sp, subresources.status));
    }
    e.0.append(&mut sub.0);
    let cols = e.arr(m, p, "additionalPrinterColumns").iter().enumerate();
    let columns = cols.map(|(i, c)| {
        let cp = format!("{p}.additionalPrinterColumns[{i}]");
        parse_column(e, c, &cp)
    });
    Version {
        columns: columns.collect(),
        served: e.bool(m, p, "served"),
        storage: e.bool(m, p, "storage"),
        deprecated: e.bool(m, p, "deprecated"),
        deprecation_warning: e.str(m, p, "deprecationWarning"),
        name,
        schema,
        subresources,
    }
}

fn parse_subresources(e: &mut Errs, m: Option<&Obj>, p: &str) -> Subresources {
    let status = m
        .and_then(|m| m.get("status"))
        .is_some_and(|s| !s.is_null());
    let sc = e.obj(m, p, "scale");
    let p = child(p, "scale");
    let mut path = |key: &str, under: &str, need: bool| {
        let (v, f) = (e.str(sc, &p, key), child(&p, key));
        let ok = under.split('|').any(|u| v.starts_with(&format!(".{u}.")));
        let why = match simple_path_err(&v) {
            _ if v.is_empty() && need => {
                e.req(f, "");
                return v;
            }
            _ if v.is_empty() || ok => return v,
            Some(why) => why.to_string(),
            None if under.contains('|') => {
                "should be a json path under either .spec or .status".into()
            }
            None => format!("should be a json path under .{under}"),
        };
        e.bad_s(f, &v, &why);
        v
    };
    let scale = sc.map(|_| Scale {
        spec_replicas_path: path("specReplicasPath", "spec", true),
        status_replicas_path: path("statusReplicasPath", "status", true),
        label_selector_path: Some(path("labelSelectorPath", "spec|status", false)),
    });
    let scale = scale.map(|s| Scale {
        label_selector_path: s.label_selector_path.filter(|l| !l.is_empty()),
        ..s
    });
    Subresources { status, scale }
}

fn parse_column(e: &mut Errs, c: &Value, p: &str) -> Column {
    let m = c.as_object();
    if m.is_none() {
        e.bad(p, c, "must be an object");
    }
    let col = Column {
        name: e.str(m, p, "name"),
        ty: e.str(m, p, "type"),
        format: e.str(m, p, "format"),
        description: e.str(m, p, "description"),
        priority: m.and_then(|m| m.get("priority")?.as_i64()).unwrap_or(0),
        json_path: e.str(m, p, "jsonPath"),
    };
    if col.name.is_empty() {
        e.req(child(p, "name"), "");
    }
    const TYPES: &str = "boolean,date,integer,number,string";
    const FORMATS: &str = "byte,date,date-time,double,float,int32,int64,password";
    let why = format!("must be one of {TYPES}");
    if col.ty.is_empty() {
        e.req(child(p, "type"), &why);
    } else if !TYPES.split(',').any(|t| t == col.ty) {
        e.bad_s(child(p, "type"), &col.ty, &why);
    }
    if !col.format.is_empty() && !FORMATS.split(',').any(|t| t == col.format) {
        e.bad_s(
            child(p, "format"),
            &col.format,
            &format!("must be one of {FORMATS}"),
        );
    }
    match simple_path_err(&col.json_path) {
        _ if col.json_path.is_empty() => e.req(child(p, "JSONPath"), ""),
        Some(why) => e.bad_s(child(p, "JSONPath"), &col.json_path, why),
        None => {}
    }
    col
}

fn check_names(n: &Names, e: &mut Errs) {
    let mut all = vec![
        ("plural".to_string(), &n.plural, false),
        ("singular".to_string(), &n.singular, false),
        ("kind".to_string(), &n.kind, true),
        ("listKind".to_string(), &n.list_kind, true),
    ];
    for (k, _, _) in all.iter().filter(|(_, v, _)| v.is_empty()) {
        e.req(format!("spec.names.{k}"), "");
    }
    for (k, list) in [
        ("shortNames", &n.short_names),
        ("categories", &n.categories),
    ] {
        all.extend(
            list.iter()
                .enumerate()
                .map(|(i, s)| (format!("{k}[{i}]"), s, false)),
        );
    }
    for (k, v, mixed) in all.into_iter().filter(|(_, v, _)| !v.is_empty()) {
        let msgs = dns(&if mixed { v.to_lowercase() } else { v.clone() }, true).join(",");
        let lead = if mixed {
            "may have mixed case, but should otherwise match: "
        } else {
            ""
        };
        if !msgs.is_empty() {
            e.bad_s(format!("spec.names.{k}"), v, &format!("{lead}{msgs}"));
        }
    }
    if !n.kind.is_empty() && n.kind == n.list_kind {
        let why = "kind and listKind may not be the same";
        e.bad_s("spec.names.listKind", &n.list_kind, why);
    }
}

// ---- schema checks at CRD creation ----

/// Structural violations (sorted, as upstream sorts them), default problems (reported only for
/// structural schemas) and the other OpenAPI checks, in upstream's order.
#[derive(Default)]
struct Found {
    structural: Errs,
    defaults: Errs,
    other: Errs,
}

fn check_schema(s: &Value, p: &str, status: bool) -> Vec<Cause> {
    let mut f = Found::default();
    let ty = s.get("type").and_then(Value::as_str).unwrap_or("");
    if status && !ty.is_empty() && ty != "object" {
        let why = r#"only "object" is allowed as the type at the root of the schema if the status subresource is enabled"#;
        f.other.bad_s(child(p, "type"), ty, why);
    }
    if s.get("nullable") == Some(&true.into()) {
        f.other
            .forbid(child(p, "nullable"), "nullable cannot be true at the root");
    }
    let mut out = std::mem::take(&mut f.other.0);
    walk(s, p, 0, None, &mut f, 0);
    f.structural
        .0
        .sort_by_cached_key(|(a, b)| format!("{a}: {b}"));
    let first = if f.structural.0.is_empty() {
        f.defaults
    } else {
        f.structural
    };
    out.extend(first.0.into_iter().chain(f.other.0));
    out
}

/// Checks one schema node at `lvl` 0 (root), 1 (array items) or 2 (object fields);
/// `no_default` says why a `default` is forbidden here, if it is.
fn walk(s: &Value, p: &str, lvl: usize, no_default: Option<&str>, f: &mut Found, depth: usize) {
    if depth > MAX_DEPTH {
        return f
            .other
            .forbid(p, "must not be nested more than 64 levels deep");
    }
    let Some(m) = s.as_object() else {
        return f.other.bad(p, s, "must be an object");
    };
    let at = |k: &str| child(p, k);
    let ty = text(m, "type");
    let (ios, pres, emb) = (flag(m, IOS), flag(m, PRES), flag(m, EMB));
    let props = m.get("properties").and_then(Value::as_object);
    let ap = m.get("additionalProperties");
    let st = &mut f.structural;
    if ty == "array" && !m.contains_key("items") {
        st.req(at("items"), "must be specified");
    }
    let why = "must be object if x-kubernetes-embedded-resource is true";
    if emb && ty.is_empty() {
        st.req(at("type"), why);
    } else if emb && ty != "object" {
        st.bad_s(at("type"), ty, why);
    } else if ty.is_empty() && !ios && !pres {
        let what = "at the root|for specified array items|for specified object fields";
        let why = format!(
            "must not be empty {}",
            what.split('|').nth(lvl).unwrap_or("")
        );
        st.req(at("type"), &why);
    }
    if emb && ap.is_some() {
        let why = "must not be used if x-kubernetes-embedded-resource is set";
        st.forbid(at("additionalProperties"), why);
    }
    if lvl == 0 && !ty.is_empty() && ty != "object" {
        st.bad_s(at("type"), ty, "must be object at the root");
    }
    let metas = [
        ("kind", "string"),
        ("apiVersion", "string"),
        ("metadata", "object"),
    ];
    for (k, want) in metas.into_iter().filter(|_| lvl == 0 || emb) {
        let Some(x) = props.and_then(|ps| ps.get(k)) else {
            continue;
        };
        let t = x.get("type").and_then(Value::as_str).unwrap_or("");
        if t != want {
            let why = format!("must be {want}");
            st.bad_s(format!("{p}.properties[{k}].type"), t, &why);
        }
    }
    let md = props.and_then(|ps| ps.get("metadata"));
    if lvl == 0 && md.is_some_and(|md| !meta_ok(md)) {
        let why = "must not specify anything other than name and generateName, but metadata is \
                   implicitly specified";
        st.forbid(format!("{p}.properties[metadata]"), why);
    }
    if emb && !pres && props.is_none_or(Map::is_empty) {
        let why = "must not be empty if x-kubernetes-embedded-resource is true without \
                   x-kubernetes-preserve-unknown-fields";
        st.req(at("properties"), why);
    }
    if lvl == 0 && ap.is_some() {
        st.forbid(at("additionalProperties"), "must not be used at the root");
    }
    if ios && pres {
        let why = "must be false if x-kubernetes-int-or-string is true";
        st.bad(at(PRES), &true.into(), why);
    }
    let o = &mut f.other;
    const TYPES: [&str; 6] = ["array", "boolean", "integer", "number", "object", "string"];
    if !ty.is_empty() && !TYPES.contains(&ty) {
        o.unsupported(at("type"), &ty.into(), &TYPES);
    }
    let default = m.get("default").filter(|d| !d.is_null());
    if let (Some(_), Some(why)) = (default, no_default) {
        o.forbid(at("default"), &format!("must not be set {why}"));
    }
    if flag(m, "uniqueItems") {
        let why =
            "uniqueItems cannot be set to true since the runtime complexity becomes quadratic";
        o.forbid(at("uniqueItems"), why);
    }
    if props.is_some_and(|ps| !ps.is_empty()) && ap.is_some_and(|a| *a == false || a.is_object()) {
        let why = "additionalProperties and properties are mutual exclusive";
        o.forbid(at("additionalProperties"), why);
    }
    if m.get(PRES) == Some(&false.into()) {
        o.bad(at(PRES), &false.into(), "must be true or undefined");
    }
    if let (Some(d), None) = (default, no_default) {
        let mut pruned = d.clone();
        prune_at(Some(s), &mut pruned, "", 0, 0, &mut Vec::new());
        if &pruned != d {
            f.defaults
                .bad(at("default"), d, "must not have unknown fields");
        }
        check(s, d, &at("default"), "", 0, &mut f.defaults);
    }
    if let Some(a) = ap.filter(|a| a.is_object()) {
        walk(a, &at("additionalProperties"), 2, no_default, f, depth + 1);
    }
    for (k, v) in props.into_iter().flatten() {
        let top = format!("in top-level {k}");
        let why = if lvl == 0 && META.contains(&k.as_str()) {
            Some(top.as_str())
        } else {
            no_default
        };
        walk(v, &format!("{p}.properties[{k}]"), 2, why, f, depth + 1);
    }
    if let Some(items) = m.get("items").filter(|i| i.is_object()) {
        walk(items, &at("items"), 1, no_default, f, depth + 1);
    }
}

/// The root `metadata` schema may only restrict `name` and `generateName`.
fn meta_ok(md: &Value) -> bool {
    let name = |k: &String| k == "name" || k == "generateName";
    md.as_object().is_some_and(|m| {
        m.iter().all(|(k, v)| match k.as_str() {
            "type" | "default" => true,
            "properties" => v.as_object().is_some_and(|o| o.keys().all(name)),
            _ => matches!(v, Value::Null | Value::Bool(false)) || *v == "",
        })
    })
}

// ---- custom objects: validation, pruning, defaulting ----

/// Validates a custom object against a version's `openAPIV3Schema`, worded like upstream
/// (`spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer:
/// "string"`). The root's (and embedded resources') `apiVersion`, `kind` and `metadata` are
/// always allowed; unknown fields elsewhere are [`prune`]'s business.
pub fn validate(schema: &Value, obj: &Value) -> Vec<Cause> {
    let mut e = Errs::default();
    check(schema, obj, "", "", 1, &mut e);
    e.0
}

/// `field` is the cause's path; `name` the path inside the validated value, for messages;
/// `depth` is 1 at the resource root.
fn check(s: &Value, v: &Value, field: &str, name: &str, depth: usize, e: &mut Errs) {
    let Some(m) = s.as_object().filter(|_| depth <= MAX_DEPTH) else {
        return;
    };
    let got = json_type(v);
    let want = if flag(m, IOS) {
        "integer,string"
    } else {
        text(m, "type")
    };
    let ok = want
        .split(',')
        .any(|w| w == got || (w == "number" && got == "integer"));
    if v.is_null() && flag(m, "nullable") {
        return;
    } else if !want.is_empty() && !ok {
        let why = format!("{name} in body must be of type {want}: {}", quote(got));
        return e.bad_s(field, got, &why);
    }
    let uint = |k: &str| m.get(k).and_then(Value::as_u64);
    let bad = |e: &mut Errs, why: String| e.bad(field, v, &format!("{name} in body {why}"));
    let fmt = text(m, "format");
    match v {
        Value::String(st) => {
            let n = st.chars().count() as u64;
            if let Some(max) = uint("maxLength").filter(|max| n > *max) {
                e.add(
                    field,
                    format!("Too long: may not be more than {max} bytes"),
                    "",
                );
            }
            if let Some(min) = uint("minLength").filter(|min| n < *min) {
                bad(e, format!("should be at least {min} chars long"));
            }
            let dt = (fmt == "date-time" && !is_date_time(st)) || (fmt == "date" && !is_date(st));
            if dt {
                bad(e, format!("must be of type {fmt}: {}", quote(st)));
            }
        }
        Value::Number(x) => {
            let f = x.as_f64().unwrap_or(0.0);
            let bounds = [
                ("maximum", "exclusiveMaximum", false),
                ("minimum", "exclusiveMinimum", true),
            ];
            for (k, exc, lower) in bounds {
                let Some(b) = m.get(k).and_then(Value::as_f64) else {
                    continue;
                };
                let exc = flag(m, exc);
                if (if lower { f < b } else { f > b }) || (exc && f == b) {
                    let rel = if lower { "greater" } else { "less" };
                    let eq = if exc { "" } else { " or equal to" };
                    bad(e, format!("should be {rel} than{eq} {}", go_float(b)));
                }
            }
            if fmt == "int32" && x.as_i64().is_some_and(|i| i32::try_from(i).is_err()) {
                bad(
                    e,
                    format!("must be of type int32: {}", quote(&x.to_string())),
                );
            }
        }
        Value::Array(a) => {
            let n = a.len();
            if let Some(min) = uint("minItems").filter(|min| (n as u64) < *min) {
                let why = format!("{name} in body should have at least {min} items");
                e.bad(field, &n.into(), &why);
            }
            if let Some(max) = uint("maxItems").filter(|max| n as u64 > *max) {
                e.add(
                    field,
                    format!("Too many: {n}: must have at most {max} items"),
                    "",
                );
            }
            let dup = |(i, x): (usize, &Value)| a.iter().skip(i + 1).any(|y| json_eq(x, y));
            if flag(m, "uniqueItems") && a.iter().enumerate().any(dup) {
                let why = format!("{name} in body shouldn't contain duplicates");
                e.bad(field, &"".into(), &why);
            }
            let items = m.get("items").unwrap_or(&NULL);
            for (i, x) in a.iter().enumerate() {
                let (f, n) = (format!("{field}[{i}]"), format!("{name}[{i}]"));
                check(items, x, &f, &n, depth + 1, e);
            }
        }
        Value::Object(o) => {
            let need = m
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten();
            for r in need
                .filter_map(Value::as_str)
                .filter(|r| !o.contains_key(*r))
            {
                e.req(child(field, r), "");
            }
            let emb = flag(m, EMB);
            for k in ["apiVersion", "kind"].into_iter().filter(|_| emb) {
                match o.get(k) {
                    None => e.req(child(field, k), "must not be empty"),
                    Some(x) if *x == "" => e.bad(child(field, k), x, "must not be empty"),
                    Some(x) if !x.is_string() => e.bad(child(field, k), x, "must be a string"),
                    _ => {}
                }
            }
            let props = m.get("properties").and_then(Value::as_object);
            let ap = m.get("additionalProperties");
            for (k, x) in o {
                let (cf, cn) = (child(field, k), child(name, k));
                let meta = (depth == 1 || emb) && META.contains(&k.as_str());
                match props.and_then(|ps| ps.get(k)).or(ap.filter(|_| !meta)) {
                    Some(Value::Bool(false)) => e.bad(
                        field,
                        &k.as_str().into(),
                        &format!("{cn} in body is a forbidden property"),
                    ),
                    Some(sub) => check(sub, x, &cf, &cn, depth + 1, e),
                    None => {}
                }
            }
        }
        _ => {}
    }
    let allowed = m.get("enum").and_then(Value::as_array);
    if let Some(allowed) = allowed.filter(|a| !a.iter().any(|x| json_eq(x, v))) {
        let allowed: Vec<String> = allowed
            .iter()
            .map(|a| a.as_str().map_or(a.to_string(), String::from))
            .collect();
        e.unsupported(field, v, &allowed);
    }
}

/// Removes the fields the structural schema doesn't specify, as upstream's pruning does, and
/// returns their paths (`spec.foo`, `spec.items[0].bar`: fieldValidation's `unknown field
/// "spec.foo"`). Under `x-kubernetes-preserve-unknown-fields` unknown fields stay (specified
/// ones are still pruned below); `additionalProperties` without a schema prunes all below.
/// The root's and embedded resources' `apiVersion`, `kind` and `metadata` are left alone.
pub fn prune(schema: &Value, obj: &mut Value) -> Vec<String> {
    let mut out = Vec::new();
    prune_at(Some(schema), obj, "", 1, 0, &mut out);
    out
}

/// `s: None` is upstream's nil schema. `mode`: 1 the resource root, 2 skip-prune (unknown
/// fields stay, as under `x-kubernetes-preserve-unknown-fields`), 0 otherwise.
fn prune_at(
    s: Option<&Value>,
    v: &mut Value,
    path: &str,
    mode: u8,
    depth: usize,
    out: &mut Vec<String>,
) {
    let m = s.and_then(Value::as_object);
    let keep = mode == 2 || m.is_some_and(|m| flag(m, PRES));
    if depth > MAX_DEPTH || (mode == 2 && m.is_none()) {
        return;
    }
    let props = m
        .and_then(|m| m.get("properties"))
        .and_then(Value::as_object);
    let ap = m.and_then(|m| m.get("additionalProperties"));
    match v {
        Value::Object(o) => {
            let emb = mode == 1 || m.is_some_and(|m| flag(m, EMB));
            let mut gone = Vec::new();
            for (k, x) in o
                .iter_mut()
                .filter(|(k, _)| !(emb && META.contains(&k.as_str())))
            {
                let p = child(path, k);
                match (props.and_then(|ps| ps.get(k)), ap) {
                    (Some(ps), _) => prune_at(Some(ps), x, &p, 0, depth + 1, out),
                    (None, Some(ap)) => {
                        prune_at(Some(ap).filter(|a| a.is_object()), x, &p, 0, depth + 1, out)
                    }
                    (None, None) if !keep => {
                        out.push(p);
                        gone.push(k.clone());
                    }
                    _ => {}
                }
            }
            o.retain(|k, _| !gone.contains(k));
        }
        Value::Array(a) => {
            let items = m.and_then(|m| m.get("items"));
            for (i, x) in a.iter_mut().enumerate() {
                let p = format!("{path}[{i}]");
                prune_at(items, x, &p, if keep { 2 } else { 0 }, depth + 1, out);
            }
        }
        _ => {}
    }
}

/// Sets the schema's `default`s for absent fields (and for nulls where the field isn't
/// nullable), recursively as upstream does: objects present get their children's defaults,
/// a defaulted object then gets its own children's, and array items theirs.
pub fn apply_defaults(schema: &Value, obj: &mut Value) {
    default_at(schema, obj, 0);
}

fn default_at(s: &Value, v: &mut Value, depth: usize) {
    let Some(m) = s.as_object().filter(|_| depth <= MAX_DEPTH) else {
        return;
    };
    let props = m.get("properties").and_then(Value::as_object);
    match v {
        Value::Object(o) => {
            for (k, ps) in props.into_iter().flatten() {
                let Some(d) = ps.get("default").filter(|d| !d.is_null()) else {
                    continue;
                };
                let nullable = ps.get("nullable") == Some(&true.into());
                if o.get(k).is_none_or(|x| x.is_null() && !nullable) {
                    o.insert(k.clone(), d.clone());
                }
            }
            for (k, x) in o.iter_mut() {
                let sub = props
                    .and_then(|ps| ps.get(k))
                    .or(m.get("additionalProperties"));
                default_at(sub.unwrap_or(&NULL), x, depth + 1);
            }
        }
        Value::Array(a) => {
            let items = m.get("items").unwrap_or(&NULL);
            a.iter_mut().for_each(|x| default_at(items, x, depth + 1));
        }
        _ => {}
    }
}

// ---- printer columns and scale ----

/// One cell per column: the column's JSONPath (`.spec.x`, `.a[0].b`, `.a[-1]`, `.a[*].b`,
/// `.a[?(@.type=="Ready")].status`, `['dotted.key']`, optionally in `{}`) formatted by type:
/// string joins every match with ","; integer, number and boolean take the first match; date
/// keeps the RFC 3339 string for the server to age (`<invalid>` if it isn't one, as upstream).
/// Nothing found, or the wrong type, is `Value::Null` (kubectl shows `<none>`).
pub fn printer_cells(columns: &[Column], obj: &Value) -> Vec<Value> {
    columns.iter().map(|c| cell(c, obj)).collect()
}

fn cell(c: &Column, obj: &Value) -> Value {
    let found = parse_path(&c.json_path)
        .map(|steps| eval(&steps, obj))
        .unwrap_or_default();
    let first = found.first().copied().unwrap_or(&NULL);
    let text = |v: &&Value| v.as_str().map_or(v.to_string(), String::from);
    let texts: Vec<String> = found.iter().filter(|v| !v.is_null()).map(text).collect();
    match c.ty.as_str() {
        "string" if !texts.is_empty() => texts.join(",").into(),
        "integer" => first.as_i64().or(first.as_f64().map(|f| f as i64)).into(),
        "number" if first.is_number() => first.clone(),
        "boolean" => first.as_bool().into(),
        "date" if first.as_str().is_some_and(is_date_time) => first.clone(),
        "date" if first.is_string() => "<invalid>".into(),
        _ => Value::Null,
    }
}

enum Step {
    Key(String),
    Index(i64),
    All,
    /// `[?(@.a.b OP literal)]`, or `[?(@.a.b)]` (exists) with an empty op.
    Filter(Vec<String>, &'static str, Value),
}

fn parse_path(path: &str) -> Option<Vec<Step>> {
    let p = path.trim();
    let p = p
        .strip_prefix('{')
        .and_then(|x| x.strip_suffix('}'))
        .unwrap_or(p);
    let cs: Vec<char> = p.strip_prefix('$').unwrap_or(p).chars().collect();
    let (mut i, mut steps) = (0, Vec::new());
    while i < cs.len() {
        if cs.get(i) == Some(&'[') {
            let end = close_bracket(&cs, i)?;
            steps.push(bracket(
                cs.get(i + 1..end)?.iter().collect::<String>().trim(),
            )?);
            i = end + 1;
            continue;
        }
        i += usize::from(cs.get(i) == Some(&'.'));
        let len = cs
            .iter()
            .skip(i)
            .take_while(|c| **c != '.' && **c != '[')
            .count();
        let key: String = cs.get(i..i + len)?.iter().collect();
        i += len;
        steps.push(match key.as_str() {
            "" => return None,
            "*" => Step::All,
            _ => Step::Key(key),
        });
    }
    Some(steps)
}

fn close_bracket(cs: &[char], open: usize) -> Option<usize> {
    let (mut quote, mut depth) = (None, 0i64);
    for (j, &c) in cs.iter().enumerate().skip(open + 1) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(' | ')') => depth += if c == '(' { 1 } else { -1 },
            (None, ']') if depth <= 0 => return Some(j),
            _ => {}
        }
    }
    None
}

fn bracket(inner: &str) -> Option<Step> {
    let Some(expr) = inner.strip_prefix('?') else {
        let key = unquote(inner).map(|k| Step::Key(k.into()));
        return if inner == "*" {
            Some(Step::All)
        } else {
            key.or(inner.parse().ok().map(Step::Index))
        };
    };
    let expr = expr.trim().strip_prefix('(')?.strip_suffix(')')?.trim();
    const OPS: [&str; 6] = ["==", "!=", "<=", ">=", "<", ">"];
    let op = OPS.iter().filter_map(|op| Some((expr.find(op)?, *op)));
    let (lhs, op, lit) = match op.min_by_key(|(at, op)| (*at, 2 - op.len())) {
        Some((at, op)) => {
            let rhs = expr.get(at + op.len()..)?.trim();
            let lit = unquote(rhs)
                .map(Value::from)
                .or(serde_json::from_str(rhs).ok())?;
            (expr.get(..at)?, op, lit)
        }
        None => (expr, "", Value::Null),
    };
    let keys = lhs
        .trim()
        .strip_prefix('@')?
        .split('.')
        .filter(|k| !k.is_empty());
    Some(Step::Filter(keys.map(String::from).collect(), op, lit))
}

fn eval<'a>(steps: &[Step], root: &'a Value) -> Vec<&'a Value> {
    let mut cur = vec![root];
    for step in steps {
        let mut next = Vec::new();
        for v in cur {
            match (step, v) {
                (Step::Key(k), Value::Object(o)) => next.extend(o.get(k)),
                (Step::Index(i), Value::Array(a)) => {
                    let at = if *i < 0 {
                        i.checked_add(a.len() as i64)
                    } else {
                        Some(*i)
                    };
                    next.extend(at.and_then(|x| a.get(usize::try_from(x).ok()?)));
                }
                (Step::All, Value::Array(a)) => next.extend(a),
                (Step::All, Value::Object(o)) => next.extend(o.values()),
                (Step::Filter(keys, op, lit), Value::Array(a)) => {
                    next.extend(a.iter().filter(|x| keep(x, keys, op, lit)));
                }
                _ => {}
            }
        }
        cur = next;
    }
    cur
}

fn keep(x: &Value, keys: &[String], op: &str, lit: &Value) -> bool {
    use std::cmp::Ordering::{Greater, Less};
    let Some(got) = keys.iter().try_fold(x, |v, k| v.get(k.as_str())) else {
        return false;
    };
    let ord = match (got, lit) {
        (Value::Number(a), Value::Number(b)) => a.as_f64().partial_cmp(&b.as_f64()),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        _ => None,
    };
    match op {
        "" => true,
        "==" => json_eq(got, lit),
        "!=" => !json_eq(got, lit),
        "<" => ord == Some(Less),
        ">" => ord == Some(Greater),
        "<=" => ord.is_some_and(|o| o != Greater),
        _ => ord.is_some_and(|o| o != Less),
    }
}

/// The scale subresource's view of `obj`: (spec replicas, status replicas, label selector).
/// Absent or non-integer replicas count as 0, an absent selector as "" (upstream errors on
/// wrongly typed fields instead; schema validation keeps those from being stored).
pub fn scale_of(obj: &Value, scale: &Scale) -> (i64, i64, String) {
    let at = |p: &str| {
        let mut keys = p.strip_prefix('.').unwrap_or(p).split('.');
        keys.try_fold(obj, |v, k| v.as_object()?.get(k))
    };
    let int = |p: &str| at(p).and_then(Value::as_i64).unwrap_or(0);
    let sel = scale
        .label_selector_path
        .as_deref()
        .and_then(at)
        .and_then(Value::as_str);
    let (spec, status) = (&scale.spec_replicas_path, &scale.status_replicas_path);
    (int(spec), int(status), sel.unwrap_or("").to_string())
}

/// Sets the integer at a `.spec.replicas`-style path, creating missing (or null) objects on
/// the way; fails, with upstream's message, where something else is in the way.
pub fn set_replicas(obj: &mut Value, path: &str, n: i64) -> Result<(), String> {
    let keys: Vec<&str> = path.strip_prefix('.').unwrap_or(path).split('.').collect();
    let (last, parents) = keys.split_last().ok_or("empty path")?;
    let not_map = |at: &[&str]| {
        format!(
            "value cannot be set because .{} is not a map[string]interface{{}}",
            at.join(".")
        )
    };
    let mut cur = obj.as_object_mut().ok_or_else(|| not_map(&[]))?;
    for (i, k) in parents.iter().enumerate() {
        let slot = cur.entry(k.to_string()).or_insert(Value::Null);
        if slot.is_null() {
            *slot = Value::Object(Map::new());
        }
        let at = keys.get(..=i).unwrap_or_default();
        cur = slot.as_object_mut().ok_or_else(|| not_map(at))?;
    }
    cur.insert(last.to_string(), n.into());
    Ok(())
}

// ---- small helpers ----

/// Collects causes; also reads CRD fields, noting a cause for each of the wrong JSON type.
#[derive(Default)]
struct Errs(Vec<Cause>);

impl Errs {
    fn add(&mut self, f: impl Into<String>, head: String, detail: &str) {
        let msg = if detail.is_empty() {
            head
        } else {
            format!("{head}: {detail}")
        };
        self.0.push((f.into(), msg));
    }
    fn req(&mut self, f: impl Into<String>, detail: &str) {
        self.add(f, "Required value".into(), detail);
    }
    fn forbid(&mut self, f: impl Into<String>, detail: &str) {
        self.add(f, "Forbidden".into(), detail);
    }
    fn bad(&mut self, f: impl Into<String>, v: &Value, detail: &str) {
        self.add(f, format!("Invalid value: {}", render(v)), detail);
    }
    fn bad_s(&mut self, f: impl Into<String>, v: &str, detail: &str) {
        self.add(f, format!("Invalid value: {}", quote(v)), detail);
    }
    fn unsupported(&mut self, f: impl Into<String>, v: &Value, allowed: &[impl AsRef<str>]) {
        let allowed: Vec<String> = allowed.iter().map(|a| quote(a.as_ref())).collect();
        let why = format!("supported values: {}", allowed.join(", "));
        self.add(f, format!("Unsupported value: {}", render(v)), &why);
    }
    /// `m[k]` converted by `conv`; absent or null is None, the wrong type a cause.
    fn get<'a, T>(
        &mut self,
        m: Option<&'a Obj>,
        p: &str,
        k: &str,
        what: &str,
        conv: fn(&'a Value) -> Option<T>,
    ) -> Option<T> {
        let v = m?.get(k).filter(|v| !v.is_null())?;
        let got = conv(v);
        if got.is_none() {
            self.bad(child(p, k), v, &format!("must be {what}"));
        }
        got
    }
    fn str(&mut self, m: Option<&Obj>, p: &str, k: &str) -> String {
        self.get(m, p, k, "a string", Value::as_str)
            .unwrap_or("")
            .into()
    }
    fn bool(&mut self, m: Option<&Obj>, p: &str, k: &str) -> bool {
        self.get(m, p, k, "a boolean", Value::as_bool)
            .unwrap_or(false)
    }
    fn obj<'a>(&mut self, m: Option<&'a Obj>, p: &str, k: &str) -> Option<&'a Obj> {
        self.get(m, p, k, "an object", Value::as_object)
    }
    fn arr<'a>(&mut self, m: Option<&'a Obj>, p: &str, k: &str) -> &'a [Value] {
        self.get(m, p, k, "an array", Value::as_array)
            .map_or(&[], Vec::as_slice)
    }
    fn strs(&mut self, m: Option<&Obj>, p: &str, k: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (i, v) in self.arr(m, p, k).iter().enumerate() {
            match v.as_str() {
                Some(s) => out.push(s.to_string()),
                None => self.bad(format!("{p}.{k}[{i}]"), v, "must be a string"),
            }
        }
        out
    }
}

/// Whether `v` nests deeper than `max`, found without recursion (so deep input can't
/// overflow the stack here; cloning or printing it elsewhere could).
fn deeper_than(v: &Value, max: usize) -> bool {
    let mut stack = vec![(v, 0)];
    while let Some((v, d)) = stack.pop() {
        let kids: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Array(a) => Box::new(a.iter()),
            Value::Object(o) => Box::new(o.values()),
            _ => continue,
        };
        if d >= max {
            return true;
        }
        stack.extend(kids.map(|x| (x, d + 1)));
    }
    false
}

fn unquote(s: &str) -> Option<&str> {
    ['"', '\'']
        .iter()
        .find_map(|q| s.strip_prefix(*q)?.strip_suffix(*q))
}

fn or(s: String, default: String) -> String {
    if s.is_empty() { default } else { s }
}

fn child(p: &str, k: &str) -> String {
    if p.is_empty() {
        k.to_string()
    } else {
        format!("{p}.{k}")
    }
}

fn flag(m: &Obj, k: &str) -> bool {
    m.get(k).and_then(Value::as_bool).unwrap_or(false)
}

fn text<'a>(m: &'a Obj, k: &str) -> &'a str {
    m.get(k).and_then(Value::as_str).unwrap_or("")
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::String(_) => "string",
        Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => "integer",
        Value::Number(_) => "number",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Equality as JSON means it: 1 and 1.0 are the same number.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_eq(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// A value as upstream prints it after `Invalid value: ` (JSON for objects and arrays).
fn render(v: &Value) -> String {
    match v {
        Value::String(s) => quote(s),
        Value::Number(n) if !(n.is_i64() || n.is_u64()) => go_float(n.as_f64().unwrap_or(0.0)),
        _ => v.to_string(),
    }
}

/// Go's `%v` of a float64: shortest digits, exponent form below 1e-4 and from 1e+06.
fn go_float(f: f64) -> String {
    let e = format!("{f:e}");
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if f == 0.0 || !f.is_finite() || (-4..6).contains(&exp) {
        return format!("{f}");
    }
    format!("{mant}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
}

fn simple_path_err(s: &str) -> Option<&'static str> {
    match s.chars().next() {
        None => Some("must not be empty"),
        Some('.') => None,
        Some(_) => Some("must be a simple json path starting with ."),
    }
}

/// Upstream's messages for IsDNS1035Label (`label`) or IsDNS1123Subdomain.
fn dns(s: &str, label: bool) -> Vec<String> {
    let max = if label { 63 } else { 253 };
    let mut out: Vec<String> = Vec::new();
    if s.len() > max {
        out.push(format!("must be no more than {max} characters"));
    }
    let al = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let ok = |l: &str| {
        let b = l.as_bytes();
        let first = b
            .first()
            .is_some_and(|c| c.is_ascii_lowercase() || (!label && al(c)));
        first && b.last().is_some_and(al) && b.iter().all(|c| al(c) || *c == b'-')
    };
    if label && !ok(s) {
        out.push("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')".into());
    } else if !label && !s.split('.').all(ok) {
        out.push("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".into());
    }
    out
}

/// Whether `b[r]` is all digits and at most `max`.
fn num(b: &[u8], r: std::ops::Range<usize>, max: u32) -> bool {
    let d = b
        .get(r)
        .filter(|d| !d.is_empty() && d.iter().all(u8::is_ascii_digit));
    d.and_then(|d| std::str::from_utf8(d).ok()?.parse::<u32>().ok())
        .is_some_and(|n| n <= max)
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    let dashes = b.len() == 10 && b.get(4) == Some(&b'-') && b.get(7) == Some(&b'-');
    let nonzero = !s.contains("-00");
    dashes && nonzero && num(b, 0..4, 9999) && num(b, 5..7, 12) && num(b, 8..10, 31)
}

/// RFC 3339, loosely: `2006-01-02T15:04:05(.frac)?(Z|±07:00)`.
fn is_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    let colons = b.get(13) == Some(&b':') && b.get(16) == Some(&b':');
    let hms = num(b, 11..13, 23) && num(b, 14..16, 59) && num(b, 17..19, 60);
    let sep = matches!(b.get(10), Some(b'T' | b't' | b' '));
    let mut rest = b.get(19..).unwrap_or_default();
    if let Some(frac) = rest.strip_prefix(b".") {
        let k = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        rest = if k == 0 {
            &b"!"[..]
        } else {
            frac.get(k..).unwrap_or_default()
        };
    }
    let zone = match rest {
        b"Z" | b"z" => true,
        [b'+' | b'-', _, _, b':', _, _] => num(rest, 1..3, 23) && num(rest, 4..6, 59),
        _ => false,
    };
    s.get(..10).is_some_and(is_date) && sep && colons && hms && zone
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const S: &str = "/spec/versions/0/schema/openAPIV3Schema";

    fn widgets() -> Value {
        serde_json::from_str(
            r#"{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
          "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wd"], "categories": ["all"]},
          "versions": [{"name": "v1", "served": true, "storage": true,
            "schema": {"openAPIV3Schema": {"type": "object", "properties": {
              "spec": {"type": "object", "required": ["size"], "properties": {
                "size": {"type": "string", "enum": ["small", "large"]},
                "replicas": {"type": "integer", "minimum": 0, "default": 1},
                "name": {"type": "string", "maxLength": 5, "minLength": 2},
                "tags": {"type": "array", "maxItems": 3, "items": {"type": "string"}},
                "port": {"x-kubernetes-int-or-string": true},
                "config": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "items": {"type": "array", "items": {"type": "object", "properties": {
                  "name": {"type": "string"}, "weight": {"type": "integer", "default": 10}}}},
                "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                  "x-kubernetes-preserve-unknown-fields": true},
                "when": {"type": "string", "format": "date-time"},
                "big": {"type": "integer", "format": "int32"},
                "closed": {"type": "object", "additionalProperties": false},
                "ratio": {"type": "number", "maximum": 1, "exclusiveMaximum": true, "nullable": true},
                "opts": {"type": "object", "default": {},
                  "properties": {"mode": {"type": "string", "default": "auto"}}}}},
              "status": {"type": "object", "properties": {
                "replicas": {"type": "integer"}, "selector": {"type": "string"},
                "conditions": {"type": "array", "items": {"type": "object", "properties": {
                  "type": {"type": "string"}, "status": {"type": "string"}}}}}}}}},
            "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
              "statusReplicasPath": ".status.replicas", "labelSelectorPath": ".status.selector"}},
            "additionalPrinterColumns": [
              {"name": "Size", "type": "string", "jsonPath": ".spec.size"},
              {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
              {"name": "Ready", "type": "string",
                "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"},
              {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]}]}}"#,
        )
        .expect("fixture")
    }

    fn widget() -> Value {
        json!({"apiVersion": "example.com/v1", "kind": "Widget",
          "metadata": {"name": "w1", "creationTimestamp": "2024-05-01T10:00:00Z"},
          "spec": {"size": "small", "replicas": 2, "name": "abc", "tags": ["a"], "port": 8080,
            "config": {}, "labels": {"app": "x"}, "items": [{"name": "i0"}, {"name": "i1"}],
            "template": {"apiVersion": "v1", "kind": "Pod", "spec": {}},
            "when": "2024-05-01T10:00:00.5+02:00", "ratio": 0.5},
          "status": {"replicas": 1, "selector": "app=x", "conditions": [
            {"type": "Progressing", "status": "False"}, {"type": "Ready", "status": "True"}]}})
    }

    fn schema() -> Value {
        widgets().pointer(S).cloned().expect("schema")
    }

    /// `v` with the JSON `to` at `ptr` (`S/…` is inside the schema), or without it for "-".
    fn patched(mut v: Value, ptr: &str, to: &str) -> Value {
        let ptr = ptr
            .strip_prefix("S/")
            .map_or(ptr.to_string(), |p| format!("{S}/{p}"));
        let (parent, key) = ptr.rsplit_once('/').expect("pointer");
        let to: Option<Value> = (to != "-").then(|| serde_json::from_str(to).expect(to));
        match (v.pointer_mut(parent).expect(parent), to) {
            (Value::Object(o), None) => drop(o.remove(key)),
            (Value::Object(o), Some(to)) => drop(o.insert(key.into(), to)),
            (Value::Array(a), Some(to)) => a[key.parse::<usize>().expect(key)] = to,
            _ => panic!("{ptr}"),
        }
        v
    }

    /// Rows of up to four ` | `-separated cells.
    fn rows(table: &str) -> impl Iterator<Item = [&str; 4]> {
        table
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| {
                let mut cells = l.splitn(4, " | ");
                [0; 4].map(|_| cells.next().unwrap_or("").trim())
            })
    }

    #[test]
    fn parses_a_realistic_crd() {
        let crd = Crd::parse(&widgets()).expect("valid");
        assert_eq!(
            (crd.name.as_str(), crd.scope),
            ("widgets.example.com", Scope::Namespaced)
        );
        let n = &crd.names;
        assert_eq!(
            (n.singular.as_str(), n.list_kind.as_str()),
            ("widget", "WidgetList")
        );
        assert_eq!(
            (&n.short_names[..], &n.categories[..]),
            (&["wd".into()][..], &["all".into()][..])
        );
        let v = crd.storage_version().expect("storage");
        assert!(v.served && v.name == "v1" && v.schema == schema() && v.subresources.status);
        assert_eq!(crd.version("v1").map(|v| v.columns.len()), Some(4));
    }

    #[test]
    fn crd_causes_match_upstream() {
        let f = "spec.versions[0].schema.openAPIV3Schema";
        let table = r#"
        /metadata/name | "gadgets.example.com" | metadata.name | Invalid value: "gadgets.example.com": must be spec.names.plural+"."+spec.group
        /spec/scope | "Global" | spec.scope | Unsupported value: "Global": supported values: "Cluster", "Namespaced"
        /spec/scope | - | spec.scope | Required value
        /spec/group | "example" | spec.group | Invalid value: "example": should be a domain with at least one dot
        /spec/versions/0/storage | false | spec.versions | Invalid value: []apiextensions.CustomResourceDefinitionVersion{{Name:"v1", …}}: must have exactly one version marked as storage version
        /spec/versions | [] | spec.versions | Invalid value: []apiextensions.CustomResourceDefinitionVersion(nil): must have exactly one version marked as storage version
        /spec/versions/0/name | "V1" | spec.versions[0].name | Invalid value: "V1": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')
        /spec/versions/0/schema | - | F | Required value: schemas are required
        /spec/names/listKind | "Widget" | spec.names.listKind | Invalid value: "Widget": kind and listKind may not be the same
        /spec/names/kind | "Wid_get" | spec.names.kind | Invalid value: "Wid_get": may have mixed case, but should otherwise match: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')
        /spec/names/plural | - | spec.names.plural | Required value
        /spec/names/shortNames | [5] | spec.names.shortNames[0] | Invalid value: 5: must be a string
        /spec/versions/0/served | "yes" | spec.versions[0].served | Invalid value: "yes": must be a boolean
        S/properties/spec/properties/replicas/type | - | F.properties[spec].properties[replicas].type | Required value: must not be empty for specified object fields
        S/properties/spec/properties/tags/items | - | F.properties[spec].properties[tags].items | Required value: must be specified
        S/type | "array" | F.type | Invalid value: "array": must be object at the root
        S/properties/metadata | {"type": "object", "properties": {"labels": {"type": "object"}}} | F.properties[metadata] | Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified
        S/properties/metadata | {"type": "object", "properties": {"name": {"type": "string", "default": "x"}}} | F.properties[metadata].properties[name].default | Forbidden: must not be set in top-level metadata
        S/properties/spec/properties/replicas/default | "one" | F.properties[spec].properties[replicas].default | Invalid value: "string":  in body must be of type integer: "string"
        S/properties/spec/properties/opts/default | {"mode": "x", "extra": 1} | F.properties[spec].properties[opts].default | Invalid value: {"extra":1,"mode":"x"}: must not have unknown fields
        S/properties/spec/properties/labels/properties | {"a": {"type": "string"}} | F.properties[spec].properties[labels].additionalProperties | Forbidden: additionalProperties and properties are mutual exclusive
        S/properties/spec/properties/size/type | "text" | F.properties[spec].properties[size].type | Unsupported value: "text": supported values: "array", "boolean", "integer", "number", "object", "string"
        S/properties/spec/properties/tags/uniqueItems | true | F.properties[spec].properties[tags].uniqueItems | Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic
        S/properties/spec/properties/template/x-kubernetes-preserve-unknown-fields | - | F.properties[spec].properties[template].properties | Required value: must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields
        S/additionalProperties | {"type": "string"} | F.additionalProperties | Forbidden: must not be used at the root
        S/nullable | true | F.nullable | Forbidden: nullable cannot be true at the root
        /spec/versions/0/additionalPrinterColumns/0/type | "float" | spec.versions[0].additionalPrinterColumns[0].type | Invalid value: "float": must be one of boolean,date,integer,number,string
        /spec/versions/0/additionalPrinterColumns/1/jsonPath | - | spec.versions[0].additionalPrinterColumns[1].JSONPath | Required value
        /spec/versions/0/subresources/scale/specReplicasPath | ".status.replicas" | spec.versions[0].subresources.scale.specReplicasPath | Invalid value: ".status.replicas": should be a json path under .spec
        /spec/versions/0/subresources/scale/labelSelectorPath | ".metadata.x" | spec.versions[0].subresources.scale.labelSelectorPath | Invalid value: ".metadata.x": should be a json path under either .spec or .status
        /spec/versions/0/subresources/scale/statusReplicasPath | "status.x" | spec.versions[0].subresources.scale.statusReplicasPath | Invalid value: "status.x": must be a simple json path starting with .
        /spec/preserveUnknownFields | true | spec.preserveUnknownFields | Invalid value: true: cannot set to true, set x-kubernetes-preserve-unknown-fields to true in openAPIV3Schema instead
        "#;
        for [ptr, to, field, msg] in rows(table) {
            let field = field
                .strip_prefix('F')
                .map_or(field.into(), |r| format!("{f}{r}"));
            let causes = Crd::parse(&patched(widgets(), ptr, to)).expect_err(ptr);
            assert!(causes.contains(&(field, msg.into())), "{ptr}: {causes:#?}");
        }
    }

    #[test]
    fn validation_causes() {
        assert_eq!(validate(&schema(), &widget()), vec![]);
        let table = r#"
        /spec/replicas | "3" | spec.replicas | Invalid value: "string": spec.replicas in body must be of type integer: "string"
        /spec/replicas | 2.5 | spec.replicas | Invalid value: "number": spec.replicas in body must be of type integer: "number"
        /spec/replicas | null | spec.replicas | Invalid value: "null": spec.replicas in body must be of type integer: "null"
        /spec/replicas | -1 | spec.replicas | Invalid value: -1: spec.replicas in body should be greater than or equal to 0
        /spec/size | "huge" | spec.size | Unsupported value: "huge": supported values: "small", "large"
        /spec/size | - | spec.size | Required value
        /spec/name | "abcdefg" | spec.name | Too long: may not be more than 5 bytes
        /spec/name | "a" | spec.name | Invalid value: "a": spec.name in body should be at least 2 chars long
        /spec/tags | ["a", "b", "c", "d"] | spec.tags | Too many: 4: must have at most 3 items
        /spec/tags/0 | 1 | spec.tags[0] | Invalid value: "integer": spec.tags[0] in body must be of type string: "integer"
        /spec/port | true | spec.port | Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"
        /spec/port | "http"
        /spec/when | "yesterday" | spec.when | Invalid value: "yesterday": spec.when in body must be of type date-time: "yesterday"
        /spec/ratio | 1 | spec.ratio | Invalid value: 1: spec.ratio in body should be less than 1
        /spec/ratio | null
        /spec/labels/app | 1 | spec.labels.app | Invalid value: "integer": spec.labels.app in body must be of type string: "integer"
        /spec/items/1/name | {} | spec.items[1].name | Invalid value: "object": spec.items[1].name in body must be of type string: "object"
        /spec/template/kind | - | spec.template.kind | Required value: must not be empty
        /spec/template/apiVersion | 1 | spec.template.apiVersion | Invalid value: 1: must be a string
        /spec/config | {"any": {"thing": [1]}}
        /spec | "x" | spec | Invalid value: "string": spec in body must be of type object: "string"
        /spec/big | 3000000000 | spec.big | Invalid value: 3000000000: spec.big in body must be of type int32: "3000000000"
        /spec/closed | {"k": 1} | spec.closed | Invalid value: "k": spec.closed.k in body is a forbidden property
        "#;
        for [ptr, to, field, msg] in rows(table) {
            let got = validate(&schema(), &patched(widget(), ptr, to));
            let want: Vec<Cause> = [(field.into(), msg.into())]
                .into_iter()
                .take(field.len().min(1))
                .collect();
            assert_eq!(got, want, "{ptr}");
        }
    }

    #[test]
    fn prunes_unknown_fields() {
        let mut obj = widget();
        let added = "/junk /spec/foo /spec/items/0/extra /status/conditions/0/reason";
        for ptr in added
            .split(' ')
            .chain(["/spec/config/deep", "/spec/template/x", "/metadata/y"])
        {
            obj = patched(obj, ptr, r#"{"z": 1}"#);
        }
        let mut want = obj.clone();
        let removed = [
            "junk",
            "spec.foo",
            "spec.items[0].extra",
            "status.conditions[0].reason",
        ];
        assert_eq!(prune(&schema(), &mut obj), removed);
        for ptr in added.split(' ') {
            want = patched(want, ptr, "-");
        }
        assert_eq!(obj, want);
        let s = json!({"type": "object", "properties": {"a": {"type": "string"},
            "m": {"type": "object", "additionalProperties": true},
            "p": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                "properties": {"k": {"type": "object"}}},
            "l": {"type": "array", "x-kubernetes-preserve-unknown-fields": true, "items": {"type": "object"}}}});
        let mut o = json!({"a": {"b": 1}, "m": {"k": {"deep": 1}, "s": 2}, "kind": "K",
            "p": {"k": {"gone": 1}, "kept": {"x": 1}}, "l": [{"kept": 1}]});
        assert_eq!(prune(&s, &mut o), ["a.b", "m.k.deep", "p.k.gone"]);
        assert_eq!(
            o,
            json!({"a": {}, "m": {"k": {}, "s": 2}, "kind": "K",
            "p": {"k": {}, "kept": {"x": 1}}, "l": [{"kept": 1}]})
        );
    }

    #[test]
    fn applies_defaults() {
        let mut obj = json!({"spec": {"size": "small", "ratio": null,
            "items": [{"name": "a"}, {"name": "b", "weight": 3}]}});
        apply_defaults(&schema(), &mut obj);
        assert_eq!(
            obj,
            json!({"spec": {"size": "small", "replicas": 1, "opts": {"mode": "auto"},
            "ratio": null, "items": [{"name": "a", "weight": 10}, {"name": "b", "weight": 3}]}})
        );
        let mut obj =
            json!({"spec": {"size": "large", "replicas": null, "opts": {"mode": "manual"}}});
        apply_defaults(&schema(), &mut obj);
        assert_eq!(
            obj["spec"],
            json!({"size": "large", "replicas": 1, "opts": {"mode": "manual"}})
        );
    }

    #[test]
    fn printer_cells_follow_jsonpath() {
        let crd = Crd::parse(&widgets()).expect("valid");
        let cols = &crd.versions[0].columns;
        let age = json!("2024-05-01T10:00:00Z");
        let cells = [json!("small"), json!(2), json!("True"), age.clone()];
        assert_eq!(printer_cells(cols, &widget()), cells);
        let bare = patched(widget(), "/status", "-");
        assert_eq!(
            printer_cells(cols, &bare),
            [json!("small"), json!(2), Value::Null, age]
        );
        let obj = patched(
            widget(),
            "/metadata/labels",
            r#"{"app.kubernetes.io/name": "w"}"#,
        );
        let table = r#"
        string | .spec.items[*].name | "i0,i1"
        string | .spec.items[0].name | "i0"
        string | {.spec.items[-1].name} | "i1"
        string | .metadata.labels['app.kubernetes.io/name'] | "w"
        string | .spec.replicas | "2"
        string | .status.conditions[?(@.type == 'Progressing')].status | "False"
        string | .spec.items[?(@.name)].name | "i0,i1"
        integer | .spec.ratio | 0
        number | .spec.ratio | 0.5
        boolean | .spec.missing | null
        date | .spec.size | "<invalid>"
        integer | .status.conditions[?(@.status!="False")].type | null
        string | spec[ | null
        "#;
        for [ty, path, want, _] in rows(table) {
            let col = Column {
                ty: ty.into(),
                json_path: path.into(),
                ..Column::default()
            };
            let want: Value = serde_json::from_str(want).expect(want);
            assert_eq!(printer_cells(&[col], &obj), [want], "{path}");
        }
    }

    #[test]
    fn scale_paths() {
        let crd = Crd::parse(&widgets()).expect("valid");
        let scale = crd.versions[0].subresources.scale.clone().expect("scale");
        assert_eq!(scale_of(&widget(), &scale), (2, 1, "app=x".to_string()));
        assert_eq!(
            scale_of(&patched(widget(), "/status", "-"), &scale),
            (2, 0, String::new())
        );
        let mut obj = widget();
        assert_eq!(set_replicas(&mut obj, &scale.spec_replicas_path, 5), Ok(()));
        assert_eq!(obj["spec"]["replicas"], json!(5));
        let mut obj = json!({"spec": null});
        assert_eq!(set_replicas(&mut obj, ".spec.replicas", 3), Ok(()));
        assert_eq!(obj, json!({"spec": {"replicas": 3}}));
        let err = "value cannot be set because .spec is not a map[string]interface{}";
        assert_eq!(
            set_replicas(&mut json!({"spec": 3}), ".spec.replicas", 1),
            Err(err.into())
        );
    }

    #[test]
    fn go_formatting() {
        let floats = [
            (0.0, "0"),
            (-2.5, "-2.5"),
            (123456.0, "123456"),
            (1e6, "1e+06"),
        ];
        for (f, want) in floats
            .into_iter()
            .chain([(1.5e-5, "1.5e-05"), (0.0001, "0.0001")])
        {
            assert_eq!(go_float(f), want);
        }
        assert_eq!(quote("a\"b\n"), r#""a\"b\n""#);
        assert!(is_date_time("2024-05-01t10:00:00.123-07:00") && !is_date_time("2024-05-01"));
        assert!(!is_date_time("2024-13-01T10:00:00Z") && !is_date_time("2024-05-01T10:00:00.Z"));
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let words = prop::sample::select(vec![
            "type",
            "object",
            "string",
            "integer",
            "array",
            "number",
            "properties",
            "items",
            "required",
            "enum",
            "default",
            "minimum",
            "maximum",
            "format",
            "date-time",
            "nullable",
            "additionalProperties",
            PRES,
            IOS,
            EMB,
            "metadata",
            "spec",
            "status",
            "kind",
            "name",
            ".spec.x",
            "maxItems",
            "minLength",
            "uniqueItems",
            "names",
            "versions",
            "schema",
        ]);
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            words.clone().prop_map(Value::from),
            "[ -~]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(6, 96, 6, move |inner| {
            let key = words.clone().prop_map(String::from);
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map(key, inner, 0..6).prop_map(|m| m.into_iter().collect()),
            ]
        })
    }

    proptest! {
        #[test]
        fn never_panics(a in arb_json(), b in arb_json(), path in "[ -~]{0,16}",
                        ty in prop::sample::select(vec!["string", "integer", "number", "boolean", "date"])) {
            let _ = Crd::parse(&a);
            let mut crd = widgets();
            *crd.pointer_mut(S).expect("schema") = a.clone();
            let _ = Crd::parse(&crd);
            let _ = validate(&a, &b);
            let _ = prune(&a, &mut b.clone());
            apply_defaults(&a, &mut b.clone());
            let col = Column { ty: ty.into(), json_path: path.clone(), ..Column::default() };
            let _ = printer_cells(&[col], &b);
            let scale = Scale { spec_replicas_path: path.clone(), status_replicas_path: path.clone(),
                label_selector_path: Some(path.clone()) };
            let _ = scale_of(&b, &scale);
            let _ = set_replicas(&mut b.clone(), &path, 1);
        }
    }
}
