//! OpenAPI v3 as the apiserver serves it: `GET /openapi/v3` (the index) and
//! `GET /openapi/v3/<api/v1 | apis/GROUP/VERSION>` (one document per group-version).
//!
//! kubectl reads these for three things: whether the server validates fields itself (a
//! `fieldValidation` parameter on the kind's PATCH operation), the merge keys of a client-side
//! apply's strategic merge patch, and `kubectl explain`.
//!
//! Schemas are k8s-openapi's (upstream definition names and descriptions, through its
//! `schemars` implementations); list merge behaviour is [`crate::kinds::merge`]'s, the table
//! the server itself merges by; paths follow [`crate::kinds::KINDS`]. Documents are built
//! once, on first use, and kept as bytes.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use k8s_openapi::Resource;
use k8s_openapi::api::{apps::v1 as apps, authentication::v1 as authn};
use k8s_openapi::api::{authorization::v1 as authz, autoscaling::v1 as autoscaling};
use k8s_openapi::api::{batch::v1 as batch, coordination::v1 as coordination};
use k8s_openapi::api::{core::v1 as corev1, discovery::v1 as discoveryv1};
use k8s_openapi::api::{events::v1 as events, policy::v1 as policy, rbac::v1 as rbac};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_openapi::schemars::{JsonSchema, Schema, SchemaGenerator, generate::SchemaSettings};
use serde_json::{Map, Value, json};

use crate::kinds::merge::{self, ListType, PatchStrategy};
use crate::kinds::{KINDS, Kind, is_review, subresources};

/// A k8s-openapi type the server serves, as a kind or as a subresource's kind.
struct Typed {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    /// The resource (or subresource) k8s-openapi knows the type by.
    segment: &'static str,
    /// The upstream definition name, e.g. `io.k8s.api.apps.v1.Deployment`.
    name: fn() -> Cow<'static, str>,
    /// Adds the type's schema, and every schema it refers to, to a generator.
    add: fn(&mut SchemaGenerator) -> Schema,
}

/// Entries from types alone: each type states its own group, version and kind, so an entry
/// cannot pair a kind with the wrong schema.
macro_rules! typed {
    ($($t:ty),* $(,)?) => {
        &[$(Typed {
            group: <$t as Resource>::GROUP,
            version: <$t as Resource>::VERSION,
            kind: <$t as Resource>::KIND,
            segment: <$t as Resource>::URL_PATH_SEGMENT,
            name: <$t as JsonSchema>::schema_name,
            add: SchemaGenerator::subschema_for::<$t>,
        }),*]
    };
}

/// Every kind in KINDS, then the kinds subresources take, then meta's Status (so it carries
/// its GVK like upstream's). A KINDS entry missing here would be served without OpenAPI.
#[rustfmt::skip]
const TYPES: &[Typed] = typed![
    corev1::Namespace, corev1::ConfigMap, corev1::Secret, corev1::Pod, corev1::Service,
    corev1::Endpoints, corev1::Node, corev1::ServiceAccount, corev1::Event,
    apps::Deployment, apps::ReplicaSet, apps::StatefulSet, apps::DaemonSet,
    apps::ControllerRevision, batch::Job, batch::CronJob, coordination::Lease,
    discoveryv1::EndpointSlice, policy::PodDisruptionBudget, events::Event,
    authn::SelfSubjectReview, authn::TokenReview, authz::SelfSubjectAccessReview,
    authz::SelfSubjectRulesReview, authz::SubjectAccessReview,
    rbac::Role, rbac::ClusterRole, rbac::RoleBinding, rbac::ClusterRoleBinding,
    apiextensions::CustomResourceDefinition,
    autoscaling::Scale, corev1::Binding, policy::Eviction, authn::TokenRequest,
    meta::Status,
];

fn typed(group: &str, version: &str, kind: &str) -> Option<&'static Typed> {
    TYPES
        .iter()
        .find(|t| (t.group, t.version, t.kind) == (group, version, kind))
}

const SCHEMAS: &str = "#/components/schemas/";

fn schema_ref(name: &str) -> String {
    format!("{SCHEMAS}{name}")
}

fn meta_ref<T: JsonSchema>() -> String {
    schema_ref(&T::schema_name())
}

/// The definition a schema refers to, directly or as the `allOf` wrapping a described field.
fn ref_name(schema: &Value) -> Option<&str> {
    let r = schema
        .get("$ref")
        .or_else(|| schema.pointer("/allOf/0/$ref"));
    r.and_then(Value::as_str)?.strip_prefix(SCHEMAS)
}

fn group_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    }
}

struct Doc {
    bytes: Vec<u8>,
    hash: String,
    /// `components.schemas`, for the server's own field validation.
    schemas: Value,
}

/// Every document by its index key (`api/v1`, `apis/apps/v1`), built on first use: they
/// never change while the server runs.
fn docs() -> &'static BTreeMap<String, Doc> {
    static DOCS: OnceLock<BTreeMap<String, Doc>> = OnceLock::new();
    DOCS.get_or_init(|| {
        let mut docs = BTreeMap::new();
        for (group, version) in documented_group_versions() {
            let mut doc = build(group, version);
            let bytes = serde_json::to_vec(&doc).expect("JSON serializes");
            let hash = fnv1a(&bytes);
            let schemas = doc["components"]["schemas"].take();
            docs.insert(
                group_path(group, version)[1..].to_string(),
                Doc {
                    bytes,
                    hash,
                    schemas,
                },
            );
        }
        docs
    })
}

/// FNV-1a: stable across runs and builds (std's hasher is seeded), and enough to tell one
/// document from the next for a client's cache.
fn fnv1a(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016X}")
}

/// The served group-versions, and those only a subresource's kind lives in (autoscaling/v1
/// for `scale`): kubectl checks fieldValidation in the document of the edited kind's own
/// group-version, and without one falls back to OpenAPI v2, which kwb does not serve.
fn documented_group_versions() -> Vec<(&'static str, &'static str)> {
    let mut out = builtin_group_versions();
    for (group, version, _) in KINDS.iter().flat_map(subresources).filter_map(|s| s.kind) {
        if !out.contains(&(group, version)) {
            out.push((group, version));
        }
    }
    out
}

/// The group-versions of the built-in kinds (documented once; CRDs' come and go).
fn builtin_group_versions() -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    for k in KINDS {
        if !out.contains(&(k.group, k.version)) {
            out.push((k.group, k.version));
        }
    }
    out
}

/// `GET /openapi/v3`: each document's URL, with a hash of its bytes so clients may cache it.
pub fn index() -> Value {
    let mut paths: Map<String, Value> = docs()
        .iter()
        .map(|(key, doc)| {
            let url = format!("/openapi/v3/{key}?hash={}", doc.hash);
            (key.clone(), json!({ "serverRelativeURL": url }))
        })
        .collect();
    for (key, bytes) in custom_docs() {
        let url = format!("/openapi/v3/{key}?hash={}", fnv1a(&bytes));
        paths.insert(key, json!({ "serverRelativeURL": url }));
    }
    json!({ "paths": paths })
}

/// The documents of the group-versions CRDs serve now, by index key; built on each request
/// (they change with the CRDs, and a few kinds' schemas are quick to write out).
fn custom_docs() -> Vec<(String, Vec<u8>)> {
    let mut gvs: Vec<(&str, &str)> = Vec::new();
    for s in crate::kinds::custom::all() {
        if !gvs.contains(&(s.kind.group, s.kind.version)) {
            gvs.push((s.kind.group, s.kind.version));
        }
    }
    gvs.into_iter()
        .map(|(g, v)| {
            let doc = custom_document(g, v);
            let bytes = serde_json::to_vec(&doc).expect("JSON serializes");
            (group_path(g, v)[1..].to_string(), bytes)
        })
        .collect()
}

/// Upstream's definition name of a CRD's kind: the group reversed, the version, the kind
/// (`com.example.v1.Widget`).
fn custom_name(k: &Kind) -> String {
    let group: Vec<&str> = k.group.rsplit('.').collect();
    format!("{}.{}.{}", group.join("."), k.version, k.kind)
}

/// The document of a CRD-served group-version: each kind's paths, its schema as the CRD
/// gives it (with apiVersion, kind and metadata described as upstream adds them), its list,
/// and the meta types those refer to.
fn custom_document(group: &str, version: &str) -> Value {
    let mut b = Builder::default();
    let mut generator = SchemaSettings::openapi3().into_generator();
    let object_meta = meta_ref::<meta::ObjectMeta>();
    let _ = generator.subschema_for::<meta::ObjectMeta>();
    let _ = generator.subschema_for::<meta::Status>();
    let _ = generator.subschema_for::<meta::DeleteOptions>();
    let _ = generator.subschema_for::<meta::Patch>();
    let _ = generator.subschema_for::<meta::ListMeta>();
    let mut defs = generator.take_definitions(true);
    for s in crate::kinds::custom::all() {
        let k = s.kind;
        if (k.group, k.version) != (group, version) {
            continue;
        }
        let name = custom_name(k);
        let list = format!("{name}List");
        b.stored_kind(k, &schema_ref(&name), &schema_ref(&list));
        let string = |what: &str| json!({"type": "string", "description": what});
        let mut schema = s.version().schema.clone();
        if !schema.is_object() {
            schema = json!({"type": "object"});
        }
        schema["properties"]["apiVersion"] =
            string("APIVersion defines the versioned schema of this representation of an object.");
        schema["properties"]["kind"] =
            string("Kind is a string value representing the REST resource this object represents.");
        schema["properties"]["metadata"] =
            json!({"allOf": [{"$ref": object_meta}], "description": "Standard object's metadata."});
        schema["x-kubernetes-group-version-kind"] =
            json!([{"group": k.group, "version": k.version, "kind": k.kind}]);
        let list_schema = json!({
            "description": format!("{list} is a list of {}", k.kind),
            "type": "object",
            "required": ["items"],
            "properties": {
                "apiVersion": string("APIVersion defines the versioned schema of this representation of an object."),
                "kind": string("Kind is a string value representing the REST resource this object represents."),
                "items": {"type": "array", "description": format!("List of {}.", k.resource), "items": {"$ref": schema_ref(&name)}},
                "metadata": {"allOf": [{"$ref": meta_ref::<meta::ListMeta>()}], "description": "Standard list metadata."},
            },
            "x-kubernetes-group-version-kind": [{"group": k.group, "version": k.version, "kind": format!("{}List", k.kind)}],
        });
        defs.insert(name, schema);
        defs.insert(list, list_schema);
    }
    // Custom objects take no strategic merge patch; kubectl picks its patch type from the
    // media types a PATCH operation lists, so the document must not offer it.
    for item in b.paths.values_mut() {
        if let Some(content) = item
            .pointer_mut("/patch/requestBody/content")
            .and_then(Value::as_object_mut)
        {
            content.remove("application/strategic-merge-patch+json");
        }
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes CRD Swagger", "version": "v0.1.0"},
        "paths": b.paths,
        "components": {"schemas": defs, "parameters": path_parameters()},
    })
}

/// The document of `group` ("" for core) and `version`, as JSON bytes.
pub fn document(group: &str, version: &str) -> Option<Cow<'static, [u8]>> {
    document_at(&group_path(group, version))
}

/// The document at `path` below /openapi/v3/ (`api/v1`, `apis/apps/v1`; without the query).
pub fn document_at(path: &str) -> Option<Cow<'static, [u8]>> {
    let key = path.trim_matches('/');
    match docs().get(key) {
        Some(d) => Some(Cow::Borrowed(&d.bytes[..])),
        None => custom_docs()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, bytes)| Cow::Owned(bytes)),
    }
}

/// The schema of a kind (its upstream definition name) and the schemas it refers to.
pub fn kind_schema(group: &str, version: &str, kind: &str) -> Option<(&'static Value, String)> {
    let t = typed(group, version, kind)?;
    let doc = docs().get(&group_path(group, version)[1..])?;
    Some((&doc.schemas, (t.name)().into_owned()))
}

/// The hash the index gives the document at `path`, for an ETag.
pub fn hash_at(path: &str) -> Option<&'static str> {
    docs().get(path.trim_matches('/')).map(|d| d.hash.as_str())
}

fn build(group: &str, version: &str) -> Value {
    let mut b = Builder::default();
    let served = builtin_group_versions().contains(&(group, version));
    for k in KINDS {
        if (k.group, k.version) == (group, version) {
            b.kind(k);
        } else if !served {
            b.subresources(k, Some((group, version)));
        }
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.33.0"},
        "paths": b.paths,
        "components": {"schemas": schemas(&b.roots, &b.lists), "parameters": path_parameters()},
    })
}

/// One HTTP method of a path item, named as upstream names it: the path item's key, the
/// operationId's first word, x-kubernetes-action, query parameters, description.
type Method = [&'static str; 5];

const WRITE: &str = "dryRun fieldManager fieldValidation";
#[rustfmt::skip]
const LIST: Method = ["get", "list", "list", "allowWatchBookmarks continue fieldSelector labelSelector limit resourceVersion resourceVersionMatch sendInitialEvents timeoutSeconds watch", "list or watch objects of kind"];
const CREATE: Method = ["post", "create", "post", WRITE, "create a"];
#[rustfmt::skip]
const DELETE_ALL: Method = ["delete", "delete", "deletecollection", "continue dryRun fieldSelector gracePeriodSeconds labelSelector limit propagationPolicy resourceVersion resourceVersionMatch sendInitialEvents timeoutSeconds", "delete a collection of"];
const READ: Method = ["get", "read", "get", "", "read the specified"];
const REPLACE: Method = ["put", "replace", "put", WRITE, "replace the specified"];
/// kubectl decides on server-side validation from this operation's own `fieldValidation`.
#[rustfmt::skip]
const PATCH: Method = ["patch", "patch", "patch", "dryRun fieldManager fieldValidation force", "partially update the specified"];
#[rustfmt::skip]
const DELETE: Method = ["delete", "delete", "delete", "dryRun gracePeriodSeconds propagationPolicy", "delete a"];

/// A subresource's verbs, as `kinds::subresources` lists them, as methods.
fn method_for(verb: &str) -> Option<&'static Method> {
    match verb {
        "get" => Some(&READ),
        "update" => Some(&REPLACE),
        "patch" => Some(&PATCH),
        "create" => Some(&CREATE),
        _ => None,
    }
}

/// Query parameters in kwb's words. Inline in each operation, never `$ref`s: kubectl only
/// follows a `#/parameters/…` reference, which an OpenAPI 3 document cannot resolve.
#[rustfmt::skip]
const QUERY: &[(&str, &str, &str)] = &[
    ("allowWatchBookmarks", "boolean", "Watch: also send BOOKMARK events."),
    ("continue", "string", "The token a previous page of the list ended with."),
    ("dryRun", "string", "All: validate and admit the request, but persist nothing."),
    ("fieldManager", "string", "Who makes the change, as managedFields records it; required for apply patches."),
    ("fieldSelector", "string", "Only objects whose fields match, e.g. metadata.name=x."),
    ("fieldValidation", "string", "Unknown or duplicate fields in the body: Ignore, Warn (the default) or Strict (rejected)."),
    ("force", "boolean", "Apply patches: take over fields other managers own instead of conflicting."),
    ("gracePeriodSeconds", "integer", "Seconds before the object is deleted; 0 deletes at once."),
    ("labelSelector", "string", "Only objects whose labels match."),
    ("limit", "integer", "At most this many items; the rest follow with continue."),
    ("propagationPolicy", "string", "What happens to dependents: Orphan, Background or Foreground."),
    ("resourceVersion", "string", "Which version of the data to read, or to watch from."),
    ("resourceVersionMatch", "string", "How resourceVersion applies to a list: Exact or NotOlderThan."),
    ("sendInitialEvents", "boolean", "Watch: start with ADDED events for the current state."),
    ("timeoutSeconds", "integer", "End the list or watch after this many seconds."),
    ("watch", "boolean", "Stream changes (ADDED, MODIFIED, DELETED) instead of listing."),
];

fn query_param(name: &str) -> Value {
    let (_, ty, what) = QUERY.iter().find(|(n, ..)| *n == name).expect("described");
    json!({"name": name, "in": "query", "description": what, "schema": {"type": ty}})
}

/// The parameters of path items, shared through `components.parameters`.
fn path_parameters() -> Value {
    let string = json!({"type": "string"});
    json!({
        "name": {"name": "name", "in": "path", "required": true, "description": "The object's name.", "schema": string},
        "namespace": {"name": "namespace", "in": "path", "required": true, "description": "The object's namespace.", "schema": string},
        "pretty": {"name": "pretty", "in": "query", "description": "'true' indents the output.", "schema": string},
    })
}

/// What kubectl may send a PATCH as; client-side apply needs the strategic merge patch.
const PATCH_TYPES: &[&str] = &[
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
];

type Gvk = (&'static str, &'static str, &'static str);

/// One operation on `schema` (the kind's, or its list's for `list`).
fn operation(m: &Method, id: String, (group, version, kind): Gvk, schema: &str) -> (String, Value) {
    let [key, _, action, query, does] = *m;
    let mut op = json!({
        "description": format!("{does} {kind}"),
        "operationId": id,
        "responses": responses(action, schema),
        "x-kubernetes-action": action,
        // One object in an operation; a schema carries a list.
        "x-kubernetes-group-version-kind": {"group": group, "version": version, "kind": kind},
    });
    if !query.is_empty() {
        op["parameters"] = query.split_whitespace().map(query_param).collect();
    }
    let of = |r: String| json!({"schema": {"$ref": r}});
    let body = match action {
        "post" | "put" => json!({"content": {"*/*": of(schema.into())}, "required": true}),
        "patch" => {
            let patch = |t: &&str| (t.to_string(), of(meta_ref::<meta::Patch>()));
            let content: Map<String, Value> = PATCH_TYPES.iter().map(patch).collect();
            json!({"content": content, "required": true})
        }
        "delete" | "deletecollection" => {
            json!({"content": {"*/*": of(meta_ref::<meta::DeleteOptions>())}})
        }
        _ => Value::Null,
    };
    if !body.is_null() {
        op["requestBody"] = body;
    }
    (key.to_string(), op)
}

fn responses(action: &str, schema: &str) -> Value {
    let status = meta_ref::<meta::Status>();
    const CREATED: &[(&str, &str)] = &[("200", "OK"), ("201", "Created"), ("202", "Accepted")];
    let (schema, codes): (&str, &[(&str, &str)]) = match action {
        "post" => (schema, CREATED),
        "put" | "patch" => (schema, &[("200", "OK"), ("201", "Created")]),
        "delete" => (&status, &[("200", "OK"), ("202", "Accepted")]),
        "deletecollection" => (&status, &[("200", "OK")]),
        _ => (schema, &[("200", "OK")]),
    };
    let content = json!({"application/json": {"schema": {"$ref": schema}}});
    let mut out = Map::new();
    for (code, what) in codes {
        out.insert(
            code.to_string(),
            json!({"description": what, "content": content}),
        );
    }
    out.insert("401".into(), json!({"description": "Unauthorized"}));
    out.into()
}

/// `AppsV1`, `CoreV1`, `RbacAuthorizationV1`: a group-version in operationIds.
fn gv_id(group: &str, version: &str) -> String {
    let group = if group.is_empty() { "core" } else { group };
    let words = group
        .trim_end_matches(".k8s.io")
        .split('.')
        .chain([version]);
    words.map(capitalize).collect()
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Upstream's operationIds: `listAppsV1NamespacedDeployment`,
/// `deleteCoreV1CollectionNamespacedPod`, `patchAppsV1NamespacedDeploymentScale`.
fn op_id(verb: &str, k: &Kind, collection: bool, tail: &str) -> String {
    let gv = gv_id(k.group, k.version);
    let collection = if collection { "Collection" } else { "" };
    let scope = if k.namespaced { "Namespaced" } else { "" };
    format!("{verb}{gv}{collection}{scope}{}{tail}", k.kind)
}

fn collection_path(k: &Kind) -> String {
    let base = group_path(k.group, k.version);
    match k.namespaced {
        true => format!("{base}/namespaces/{{namespace}}/{}", k.resource),
        false => format!("{base}/{}", k.resource),
    }
}

fn item_params(k: &Kind) -> &'static [&'static str] {
    if k.namespaced {
        &["name", "namespace"]
    } else {
        &["name"]
    }
}

/// The paths of one document, and the types they refer to.
#[derive(Default)]
struct Builder {
    paths: Map<String, Value>,
    /// Types the operations take or return: the document's schemas start from them.
    roots: Vec<&'static Typed>,
    /// Kinds whose list their `list` operations return.
    lists: Vec<&'static Typed>,
}

impl Builder {
    fn path(&mut self, path: String, params: &[&str], ops: Vec<(String, Value)>) {
        let param = |p: &&str| json!({"$ref": format!("#/components/parameters/{p}")});
        let mut item = Map::from_iter(ops);
        let params: Vec<Value> = params.iter().chain(&["pretty"]).map(param).collect();
        item.insert("parameters".into(), params.into());
        self.paths.insert(path, item.into());
    }

    fn root(&mut self, t: &'static Typed) {
        if !self.roots.iter().any(|r| std::ptr::eq(*r, t)) {
            self.roots.push(t);
        }
    }

    /// A kind's collection, its objects, all namespaces' objects and its subresources.
    fn kind(&mut self, k: &Kind) {
        let Some(t) = typed(k.group, k.version, k.kind) else {
            return;
        };
        self.root(t);
        let me = schema_ref(&(t.name)());
        if is_review(k) {
            let ns: &[&str] = if k.namespaced { &["namespace"] } else { &[] };
            let gvk = (k.group, k.version, k.kind);
            let create = operation(&CREATE, op_id("create", k, false, ""), gvk, &me);
            return self.path(collection_path(k), ns, vec![create]);
        }
        self.lists.push(t);
        let list = schema_ref(&format!("{}List", (t.name)()));
        self.stored_kind(k, &me, &list);
        self.subresources(k, None);
    }

    /// The paths of a stored kind's collection, its objects and all namespaces' objects,
    /// whose schemas are `me` and `list`.
    fn stored_kind(&mut self, k: &Kind, me: &str, list: &str) {
        let gvk = (k.group, k.version, k.kind);
        let collection = collection_path(k);
        let ns: &[&str] = if k.namespaced { &["namespace"] } else { &[] };
        let (me, list) = (me.to_string(), list.to_string());
        let ops = vec![
            operation(&LIST, op_id("list", k, false, ""), gvk, &list),
            operation(&CREATE, op_id("create", k, false, ""), gvk, &me),
            operation(&DELETE_ALL, op_id("delete", k, true, ""), gvk, &me),
        ];
        self.path(collection.clone(), ns, ops);
        let ops = [&READ, &REPLACE, &PATCH, &DELETE]
            .map(|m| operation(m, op_id(m[1], k, false, ""), gvk, &me));
        self.path(format!("{collection}/{{name}}"), item_params(k), ops.into());
        if k.namespaced {
            let gv = gv_id(k.group, k.version);
            let id = format!("list{gv}{}ForAllNamespaces", k.kind);
            let all = format!("{}/{}", group_path(k.group, k.version), k.resource);
            self.path(all, &[], vec![operation(&LIST, id, gvk, &list)]);
        }
    }

    /// A kind's subresources; with `only`, those whose kind is in that group-version.
    fn subresources(&mut self, k: &Kind, only: Option<(&str, &str)>) {
        for s in subresources(k) {
            let gvk = s.kind.unwrap_or((k.group, k.version, k.kind));
            // Logs are plain text, not an object, and `kubectl logs` reads no OpenAPI.
            let wanted = s.name != "log" && only.is_none_or(|gv| gv == (gvk.0, gvk.1));
            let Some(t) = typed(gvk.0, gvk.1, gvk.2).filter(|_| wanted) else {
                continue;
            };
            self.root(t);
            let (schema, tail) = (schema_ref(&(t.name)()), capitalize(s.name));
            let ops = s.verbs.iter().filter_map(|v| method_for(v));
            let ops = ops.map(|m| operation(m, op_id(m[1], k, false, &tail), gvk, &schema));
            let path = format!("{}/{{name}}/{}", collection_path(k), s.name);
            self.path(path, item_params(k), ops.collect());
        }
    }
}

/// Only the schemas reachable from `roots`, plus meta's, with upstream's extensions.
fn schemas(roots: &[&'static Typed], lists: &[&'static Typed]) -> Map<String, Value> {
    // OpenAPI 3 settings: definitions under /components/schemas, and a `$ref` with siblings
    // (a field's own description) rewritten as `{"allOf": [{"$ref": …}], "description": …}`,
    // the form upstream publishes and kubectl's explain and patch code follow.
    let mut generator = SchemaSettings::openapi3().into_generator();
    for t in roots {
        (t.add)(&mut generator);
    }
    let _ = generator.subschema_for::<meta::Status>();
    let _ = generator.subschema_for::<meta::DeleteOptions>();
    let _ = generator.subschema_for::<meta::Patch>();
    let _ = generator.subschema_for::<meta::ListMeta>();
    let mut defs = generator.take_definitions(true);
    annotate_lists(&mut defs, roots);
    mark_kinds(&mut defs);
    for t in lists {
        let (name, schema) = list_schema(t, &defs);
        defs.insert(name, schema);
    }
    defs
}

/// Each kind's schema names its GVK, in a list (kubectl finds a kind's schema by it), and
/// does not require metadata: k8s-openapi marks it required because its Rust field is not an
/// Option, upstream does not, and `kubectl explain` prints what is required.
fn mark_kinds(defs: &mut Map<String, Value>) {
    for t in TYPES {
        let Some(Value::Object(s)) = defs.get_mut((t.name)().as_ref()) else {
            continue;
        };
        let gvk = json!([{"group": t.group, "version": t.version, "kind": t.kind}]);
        s.insert("x-kubernetes-group-version-kind".into(), gvk);
        if let Some(Value::Array(required)) = s.get_mut("required") {
            required.retain(|r| r != "metadata");
            if required.is_empty() {
                s.remove("required");
            }
        }
    }
}

/// `DeploymentList` and the like: k8s-openapi's one generic List type has no schema.
fn list_schema(t: &Typed, defs: &Map<String, Value>) -> (String, Value) {
    let name = (t.name)();
    let kind = defs
        .get(name.as_ref())
        .map_or(&Value::Null, |d| &d["properties"]);
    let list_meta = json!({"allOf": [{"$ref": meta_ref::<meta::ListMeta>()}], "description": "Standard list metadata."});
    let items = json!({"type": "array", "description": format!("The {}.", t.segment), "items": {"$ref": schema_ref(&name)}});
    let schema = json!({
        "description": format!("A list of {}.", t.segment),
        "type": "object",
        "required": ["items"],
        // apiVersion and kind with the kind's own descriptions of them.
        "properties": {"apiVersion": kind["apiVersion"], "kind": kind["kind"], "items": items, "metadata": list_meta},
        "x-kubernetes-group-version-kind": [{"group": t.group, "version": t.version, "kind": format!("{}List", t.kind)}],
    });
    (format!("{name}List"), schema)
}

/// Fields whose strategic merge patch also drops the keys the patch leaves out: a
/// Deployment's strategy (Recreate drops rollingUpdate) and a pod's volumes (a volume
/// changing source drops the old one). merge.rs has no such notion; upstream declares these.
const RETAIN_KEYS: &[(&str, &str, &str)] = &[
    (
        "io.k8s.api.apps.v1.DeploymentSpec",
        "strategy",
        "retainKeys",
    ),
    ("io.k8s.api.core.v1.PodSpec", "volumes", "merge,retainKeys"),
];

fn properties(def: &Value) -> impl Iterator<Item = (&String, &Value)> {
    def.get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
}

/// Every list field gets upstream's list extensions from merge.rs, which names a list by its
/// field and by the field holding the object it is in. A schema is one type wherever it is
/// used (PodSpec under a Pod's `spec` and under a template's `spec`), so its holders are the
/// names of every field referring to it in this document ([`holders`]); a kind's is "".
fn annotate_lists(defs: &mut Map<String, Value>, roots: &[&Typed]) {
    let holders = holders(defs, roots);
    let mut changes = Vec::new();
    for (name, def) in defs.iter() {
        let parents: Vec<&str> = match holders.get(name) {
            Some(names) => names.iter().map(String::as_str).collect(),
            None => vec![""],
        };
        for (field, prop) in properties(def).filter(|(_, p)| p["type"] == "array") {
            let ext = list_extensions(defs, &parents, field, prop);
            changes.push((name.clone(), field.clone(), ext));
        }
    }
    let retain = RETAIN_KEYS.iter().map(|(def, field, strategy)| {
        let ext = Map::from_iter([("x-kubernetes-patch-strategy".into(), (*strategy).into())]);
        (def.to_string(), field.to_string(), ext)
    });
    for (name, field, ext) in changes.into_iter().chain(retain) {
        let pointer = format!("/properties/{field}");
        if let Some(Value::Object(prop)) = defs.get_mut(&name).and_then(|d| d.pointer_mut(&pointer))
        {
            prop.extend(ext);
        }
    }
}

/// For each definition, the names of the fields that refer to it (for a list's items, the
/// list's field name), plus "" for the roots: merge.rs's `parent`.
fn holders(defs: &Map<String, Value>, roots: &[&Typed]) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for t in roots {
        out.entry((t.name)().into_owned())
            .or_default()
            .insert(String::new());
    }
    for (field, prop) in defs.values().flat_map(properties) {
        for held in [prop, &prop["items"], &prop["additionalProperties"]] {
            if let Some(name) = ref_name(held) {
                out.entry(name.to_owned())
                    .or_default()
                    .insert(field.clone());
            }
        }
    }
    out
}

/// The extensions of the list `field` held by `parents`. A rule must fit the items (keys
/// they have, scalars for a set), so a field name shared by unrelated types never gets
/// another type's keys: merge.rs gives any top-level `ports` a container's keys, and an
/// EndpointSlice's have none of them.
fn list_extensions(
    defs: &Map<String, Value>,
    parents: &[&str],
    field: &str,
    prop: &Value,
) -> Map<String, Value> {
    let items = &prop["items"];
    let item = ref_name(items).and_then(|n| defs.get(n));
    let has = |key: &str| item.is_some_and(|d| d["properties"].get(key).is_some());
    let scalar = items["type"]
        .as_str()
        .is_some_and(|t| t != "object" && t != "array");
    let apply = pick(
        parents,
        |p| merge::list_type(p, field),
        ListType::Atomic,
        |r| match r {
            ListType::Map(keys) => keys.iter().all(|k| has(k)),
            ListType::Set => scalar,
            ListType::Atomic => true,
        },
    );
    let patch = pick(
        parents,
        |p| merge::patch_strategy(p, field),
        PatchStrategy::Replace,
        |r| match r {
            PatchStrategy::MergeByKey(key) => has(key),
            PatchStrategy::MergePrimitives => scalar,
            PatchStrategy::Replace => true,
        },
    );
    let mut ext = Map::new();
    let list_type = match apply {
        ListType::Map(keys) => {
            ext.insert("x-kubernetes-list-map-keys".into(), json!(keys));
            "map"
        }
        ListType::Set => "set",
        ListType::Atomic => "atomic",
    };
    ext.insert("x-kubernetes-list-type".into(), list_type.into());
    if let PatchStrategy::MergeByKey(key) = patch {
        ext.insert("x-kubernetes-patch-merge-key".into(), key.into());
    }
    if patch != PatchStrategy::Replace {
        ext.insert("x-kubernetes-patch-strategy".into(), "merge".into());
    }
    ext
}

/// The first behaviour a holder gives that is not the default and fits; else the default.
fn pick<T: Copy + PartialEq>(
    parents: &[&str],
    rule: impl Fn(&str) -> T,
    default: T,
    fits: impl Fn(&T) -> bool,
) -> T {
    let found = parents
        .iter()
        .map(|p| rule(p))
        .find(|r| *r != default && fits(r));
    found.unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(group: &str, version: &str) -> Value {
        serde_json::from_slice(&document(group, version).expect("served")).expect("JSON")
    }

    fn schema<'a>(doc: &'a Value, name: &str) -> &'a Value {
        &doc["components"]["schemas"][name]
    }

    /// The property at `path` below schema `name`, reached as kubectl does: through
    /// properties, `$ref`, `allOf[0].$ref` and items.
    fn field<'a>(doc: &'a Value, name: &str, path: &str) -> &'a Value {
        let (mut s, mut prop) = (schema(doc, name), &Value::Null);
        for f in path.split('.') {
            prop = &s["properties"][f];
            assert!(prop.is_object(), "{name}: no {f} in {path}");
            s = prop;
            while let Some(next) = ref_name(s).or_else(|| ref_name(&s["items"])) {
                s = schema(doc, next);
            }
        }
        prop
    }

    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(m) => m.iter().for_each(|(k, x)| match x.as_str() {
                Some(r) if k == "$ref" => out.push(r),
                _ => refs(x, out),
            }),
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }

    #[test]
    fn index_lists_every_document_with_its_hash() {
        let index = index();
        for (key, g, v) in [("api/v1", "", "v1"), ("apis/apps/v1", "apps", "v1")] {
            let hash = fnv1a(&document(g, v).unwrap());
            let url = format!("/openapi/v3/{key}?hash={hash}");
            assert_eq!(index["paths"][key]["serverRelativeURL"], url);
            assert_eq!(hash_at(key), Some(hash.as_str()));
        }
        for (g, v) in builtin_group_versions() {
            assert!(
                index["paths"][&group_path(g, v)[1..]].is_object(),
                "{g}/{v}"
            );
        }
        // kubectl edit --subresource=scale checks the Scale kind's own group-version.
        let path = "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale";
        let op = &doc("autoscaling", "v1")["paths"][path]["patch"];
        assert_eq!(op["x-kubernetes-group-version-kind"]["kind"], "Scale");
    }

    #[test]
    fn deployment_patch_lists_field_validation_and_strategic_merge() {
        let d = doc("apps", "v1");
        let item = "/apis/apps/v1/namespaces/{namespace}/deployments/{name}";
        let patch = &d["paths"][item]["patch"];
        let gvk = json!({"group": "apps", "version": "v1", "kind": "Deployment"});
        assert_eq!(patch["x-kubernetes-group-version-kind"], gvk);
        assert_eq!(patch["operationId"], "patchAppsV1NamespacedDeployment");
        let names = |op: &Value| -> Vec<String> {
            let params = op["parameters"].as_array().unwrap().iter();
            params
                .filter(|p| p["in"] == "query")
                .map(|p| p["name"].to_string())
                .collect()
        };
        let want = ["dryRun", "fieldManager", "fieldValidation", "force"].map(|n| format!("{n:?}"));
        assert_eq!(names(patch), want);
        let patch_ref = meta_ref::<meta::Patch>();
        for t in PATCH_TYPES {
            assert_eq!(
                patch["requestBody"]["content"][*t]["schema"]["$ref"],
                patch_ref
            );
        }
        let ok = &patch["responses"]["200"]["content"]["application/json"]["schema"]["$ref"];
        assert_eq!(ok, "#/components/schemas/io.k8s.api.apps.v1.Deployment");
        let post = &d["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments"]["post"];
        assert!(names(post).contains(&"\"fieldValidation\"".to_string()));
        assert!(d["paths"]["/apis/apps/v1/deployments"]["get"].is_object());
    }

    #[test]
    fn kinds_carry_their_gvk_as_a_list() {
        let d = doc("apps", "v1");
        let deployment = schema(&d, "io.k8s.api.apps.v1.Deployment");
        let gvk = json!([{"group": "apps", "version": "v1", "kind": "Deployment"}]);
        assert_eq!(deployment["x-kubernetes-group-version-kind"], gvk);
        assert!(deployment.get("required").is_none());
        let list = schema(&d, "io.k8s.api.apps.v1.DeploymentList");
        assert_eq!(
            list["x-kubernetes-group-version-kind"][0]["kind"],
            "DeploymentList"
        );
        let scale = schema(&d, "io.k8s.api.autoscaling.v1.Scale");
        assert_eq!(
            scale["x-kubernetes-group-version-kind"][0]["group"],
            "autoscaling"
        );
    }

    #[test]
    fn every_ref_resolves_in_its_own_document() {
        for (key, d) in docs() {
            let d: Value = serde_json::from_slice(&d.bytes).unwrap();
            let mut all = Vec::new();
            refs(&d, &mut all);
            for r in all {
                let found = r.strip_prefix('#').and_then(|p| d.pointer(p));
                assert!(found.is_some(), "{key}: {r} does not resolve");
            }
        }
    }

    #[test]
    fn lists_merge_by_the_keys_of_their_holders() {
        let d = doc("apps", "v1");
        let f = |path| field(&d, "io.k8s.api.apps.v1.Deployment", path);
        let containers = f("spec.template.spec.containers");
        assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
        assert_eq!(containers["x-kubernetes-patch-strategy"], "merge");
        assert_eq!(containers["x-kubernetes-list-type"], "map");
        assert_eq!(containers["x-kubernetes-list-map-keys"], json!(["name"]));
        let ports = f("spec.template.spec.containers.ports");
        assert_eq!(ports["x-kubernetes-patch-merge-key"], "containerPort");
        let volumes = f("spec.template.spec.volumes");
        assert_eq!(volumes["x-kubernetes-patch-strategy"], "merge,retainKeys");
        assert_eq!(
            f("spec.strategy")["x-kubernetes-patch-strategy"],
            "retainKeys"
        );
        assert!(f("spec.strategy.rollingUpdate.maxSurge").is_object());
        assert_eq!(f("metadata.finalizers")["x-kubernetes-list-type"], "set");
        assert_eq!(
            f("metadata.finalizers")["x-kubernetes-patch-strategy"],
            "merge"
        );
        assert_eq!(
            f("metadata.ownerReferences")["x-kubernetes-patch-merge-key"],
            "uid"
        );
        let args = f("spec.template.spec.containers.args");
        assert_eq!(args["x-kubernetes-list-type"], "atomic");
        assert!(args.get("x-kubernetes-patch-strategy").is_none());

        let d = doc("", "v1");
        let containers = field(&d, "io.k8s.api.core.v1.Pod", "spec.containers");
        assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
        let ports = field(&d, "io.k8s.api.core.v1.Service", "spec.ports");
        assert_eq!(ports["x-kubernetes-patch-merge-key"], "port");
        assert_eq!(
            ports["x-kubernetes-list-map-keys"],
            json!(["port", "protocol"])
        );
        let addresses = field(&d, "io.k8s.api.core.v1.Node", "status.addresses");
        assert_eq!(addresses["x-kubernetes-patch-merge-key"], "type");
        let subsets = field(&d, "io.k8s.api.core.v1.Endpoints", "subsets.ports");
        assert_eq!(subsets["x-kubernetes-list-type"], "atomic");
        let d = doc("discovery.k8s.io", "v1");
        let slice = field(&d, "io.k8s.api.discovery.v1.EndpointSlice", "ports");
        assert_eq!(slice["x-kubernetes-list-type"], "atomic");
    }

    #[test]
    fn described_refs_are_wrapped_in_all_of() {
        let d = doc("apps", "v1");
        let spec = &schema(&d, "io.k8s.api.apps.v1.Deployment")["properties"]["spec"];
        let wrapped = json!([{"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"}]);
        assert_eq!(spec["allOf"], wrapped);
        assert!(spec["description"].is_string() && spec.get("$ref").is_none());
    }

    #[test]
    fn every_kind_has_its_type_and_reviews_only_post() {
        for k in KINDS {
            let t = typed(k.group, k.version, k.kind);
            assert_eq!(t.map(|t| t.segment), Some(k.resource), "{}", k.kind);
        }
        let d = doc("authorization.k8s.io", "v1");
        let item = &d["paths"]["/apis/authorization.k8s.io/v1/subjectaccessreviews"];
        let methods: Vec<&String> = item.as_object().unwrap().keys().collect();
        assert_eq!(methods, ["parameters", "post"]);
    }

    #[test]
    fn sizes_and_build_time() {
        let start = std::time::Instant::now();
        let gvs = documented_group_versions();
        let built = gvs
            .iter()
            .map(|(g, v)| serde_json::to_vec(&build(g, v)).unwrap().len());
        let (all, took) = (built.sum::<usize>(), start.elapsed());
        let size = |g, v| document(g, v).unwrap().len();
        let (core, apps) = (size("", "v1"), size("apps", "v1"));
        println!(
            "api/v1 {core} B, apis/apps/v1 {apps} B; {} documents, {all} B, built in {took:?}",
            gvs.len()
        );
    }
}
