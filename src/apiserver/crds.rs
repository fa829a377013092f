//! CustomResourceDefinitions at work in the server: what a CRD write admits and reports in
//! its status, which kinds are served ([`sync`] into [`kinds::custom`]), and what the
//! custom objects go through on their way in (defaults and validation from the schema) and
//! out (served under the version asked for). The pure logic is [`crate::kinds::crd`].
//!
//! Upstream establishes a CRD asynchronously; here the registry is refreshed before a CRD
//! write is answered, so a custom object can be created right after its definition (what
//! `kubectl apply -f` of a file holding both needs).

use serde_json::{Value, json};

use super::Server;
use super::status::ApiError;
use crate::kinds::crd::{self, Crd};
use crate::kinds::{self, Kind, custom};

type Cause = (String, String);

/// The CustomResourceDefinition kind itself.
pub fn is_definition(kind: &Kind) -> bool {
    kinds::is_builtin(kind) && kind.kind == "CustomResourceDefinition"
}

/// Reads every CRD from storage and serves exactly those from now on. A stored CRD that no
/// longer parses (written by another server) is skipped with a log line.
pub async fn sync(server: &Server) -> Result<(), ApiError> {
    let kind = definition_kind();
    let (items, _) = server.storage.list(kind, None).await?;
    let crds = items
        .iter()
        .filter_map(|obj| match Crd::parse(obj) {
            Ok(c) => Some(c),
            Err(causes) => {
                tracing::warn!(
                    name = obj["metadata"]["name"].as_str().unwrap_or(""),
                    ?causes,
                    "a stored CRD is invalid; its resources are not served"
                );
                None
            }
        })
        .collect();
    custom::replace(crds);
    Ok(())
}

fn definition_kind() -> &'static Kind {
    kinds::find("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        .expect("CustomResourceDefinitions are a served kind")
}

/// The causes that make a CRD invalid; on an update also the scope, which may not change.
pub fn definition_causes(obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut causes = match Crd::parse(obj) {
        Ok(_) => Vec::new(),
        Err(causes) => causes,
    };
    if let Some(old) = old
        && old["spec"]["scope"] != obj["spec"]["scope"]
    {
        causes.push((
            "spec.scope".into(),
            format!(
                "Invalid value: {}: field is immutable",
                obj["spec"]["scope"]
            ),
        ));
    }
    causes
}

/// The status the server gives a valid CRD: its names accepted, established, its storage
/// version recorded. Conditions keep their lastTransitionTime while they hold.
pub fn definition_status(obj: &mut Value, now: &str) {
    let Ok(crd) = Crd::parse(obj) else { return };
    let old = obj["status"].take();
    let since = |t: &str| {
        old["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == t && c["status"] == "True")
            .and_then(|c| c["lastTransitionTime"].as_str())
            .unwrap_or(now)
            .to_string()
    };
    let mut stored: Vec<Value> = old["storedVersions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if let Some(v) = crd.storage_version()
        && !stored.iter().any(|s| s == v.name.as_str())
    {
        stored.push(v.name.clone().into());
    }
    let n = &crd.names;
    let mut accepted = json!({"plural": n.plural, "singular": n.singular, "kind": n.kind, "listKind": n.list_kind});
    if !n.short_names.is_empty() {
        accepted["shortNames"] = json!(n.short_names);
    }
    if !n.categories.is_empty() {
        accepted["categories"] = json!(n.categories);
    }
    obj["status"] = json!({
        "acceptedNames": accepted,
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
             "message": "no conflicts found", "lastTransitionTime": since("NamesAccepted")},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted", "lastTransitionTime": since("Established")},
        ],
        "storedVersions": stored,
    });
}

/// Defaults then validation of a custom object against its version's schema; the causes of
/// a 422. None for kinds that are not a CRD's.
pub fn admit(kind: &Kind, obj: &mut Value) -> Option<Vec<Cause>> {
    let served = custom::of(kind)?;
    let schema = &served.version().schema;
    crd::apply_defaults(schema, obj);
    let mut causes = super::validation::validate_create("", obj);
    causes.extend(crd::validate(schema, obj));
    Some(causes)
}

/// The fields of a custom object its schema does not specify, removed; None for kinds that
/// are not a CRD's.
pub fn prune(kind: &Kind, obj: &mut Value) -> Option<Vec<String>> {
    let served = custom::of(kind)?;
    Some(crd::prune(&served.version().schema, obj))
}

/// An object as served through `kind`'s version: with conversion "None", as upstream's CRDs
/// have by default, only its apiVersion changes.
pub fn served_as(kind: &Kind, obj: &mut Value) {
    if custom::of(kind).is_some_and(|s| s.has_siblings()) {
        obj["apiVersion"] = kind.api_version().into();
    }
}

/// Whether objects of `kind` may need [`served_as`] (lists then decode them).
pub fn needs_conversion(kind: &Kind) -> bool {
    custom::of(kind).is_some_and(|s| s.has_siblings())
}

/// The scale subresource of a custom object: (spec replicas, status replicas, selector).
pub fn scale_of(kind: &Kind, obj: &Value) -> Option<(i64, i64, String)> {
    let served = custom::of(kind)?;
    let scale = served.version().subresources.scale.as_ref()?;
    Some(crd::scale_of(obj, scale))
}

/// Sets a custom object's replicas at its scale's spec path; None for kinds that are not a
/// CRD's.
pub fn set_replicas(kind: &Kind, obj: &mut Value, n: i64) -> Option<Result<(), String>> {
    let served = custom::of(kind)?;
    let scale = served.version().subresources.scale.as_ref()?;
    Some(crd::set_replicas(obj, &scale.spec_replicas_path, n))
}

/// After a CRD is removed: its objects go too, in every namespace, and its kinds stop being
/// served. Upstream waits for the objects' own finalizers; here they are removed at once.
pub async fn removed(server: &Server, crd_obj: &Value) -> Result<(), ApiError> {
    // Every version's objects live under one key prefix: any served version reaches them.
    if let Ok(c) = Crd::parse(crd_obj)
        && let Some(kind) = custom::all()
            .into_iter()
            .map(|s| s.kind)
            .find(|k| k.group == c.group && k.resource == c.names.plural)
    {
        let n = server.storage.delete_all(kind).await?;
        tracing::info!(
            crd = c.name,
            objects = n,
            "deleted the objects of a removed CRD"
        );
    }
    sync(server).await
}
