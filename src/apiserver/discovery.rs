//! Discovery, generated from [`crate::kinds::KINDS`]: aggregated (apidiscovery.k8s.io/v2, what
//! kubectl 1.32 asks for first, labelled with its exact media type) and legacy (APIVersions,
//! APIGroupList, APIResourceList, which `kubectl auth can-i` still reads).

use serde_json::{Value, json};

use crate::kinds::{KINDS, Kind, Subresource, group_versions, subresources, verbs};

/// The Content-Type kubectl requires to treat a body as aggregated discovery.
pub const AGGREGATED_V2: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Whether the request's Accept asks for aggregated discovery.
pub fn wants_aggregated(accept: &str) -> bool {
    accept.contains("as=APIGroupDiscoveryList") && accept.contains("v=v2")
}

/// A subresource's kind: its own, or its parent's.
fn sub_kind(k: &Kind, s: &Subresource) -> (&'static str, &'static str, &'static str) {
    s.kind.unwrap_or((k.group, k.version, k.kind))
}

fn aggregated_resource(k: &Kind) -> Value {
    let subs: Vec<Value> = subresources(k)
        .iter()
        .map(|s| {
            let (group, version, kind) = sub_kind(k, s);
            json!({"subresource": s.name, "responseKind": {"group": group, "version": version, "kind": kind}, "verbs": s.verbs})
        })
        .collect();
    json!({
        "subresources": subs,
        "resource": k.resource,
        "responseKind": {"group": k.group, "version": k.version, "kind": k.kind},
        "scope": if k.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": k.singular,
        "verbs": verbs(k),
        "shortNames": k.short_names,
        "categories": k.categories,
    })
}

/// `/api` (core: true) or `/apis` (core: false) as an APIGroupDiscoveryList.
pub fn aggregated(core: bool) -> Value {
    let items: Vec<Value> = group_versions()
        .into_iter()
        .filter(|(g, _)| g.is_empty() == core)
        .map(|(group, version)| {
            let resources: Vec<Value> = KINDS
                .iter()
                .filter(|k| k.group == group && k.version == version)
                .map(aggregated_resource)
                .collect();
            json!({
                "metadata": {"name": group},
                "versions": [{"version": version, "freshness": "Current", "resources": resources}],
            })
        })
        .collect();
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items})
}

/// `/api` as APIVersions.
pub fn api_versions() -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]})
}

/// `/apis` as APIGroupList.
pub fn api_group_list() -> Value {
    let groups: Vec<Value> = group_versions()
        .into_iter()
        .filter(|(g, _)| !g.is_empty())
        .map(|(g, v)| {
            let gv = json!({"groupVersion": format!("{g}/{v}"), "version": v});
            json!({"name": g, "versions": [gv.clone()], "preferredVersion": gv})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/api/v1` or `/apis/<group>/<version>` as APIResourceList, if served.
pub fn resource_list(group: &str, version: &str) -> Option<Value> {
    let kinds: Vec<&Kind> = KINDS
        .iter()
        .filter(|k| k.group == group && k.version == version)
        .collect();
    if kinds.is_empty() {
        return None;
    }
    let mut resources: Vec<Value> = Vec::new();
    for k in &kinds {
        resources.push(json!({
            "name": k.resource,
            "singularName": k.singular,
            "namespaced": k.namespaced,
            "kind": k.kind,
            "verbs": verbs(k),
            "shortNames": k.short_names,
        }));
        for s in subresources(k) {
            let (group, version, kind) = sub_kind(k, &s);
            let mut r = json!({"name": format!("{}/{}", k.resource, s.name), "singularName": "", "namespaced": k.namespaced, "kind": kind, "verbs": s.verbs});
            if s.kind.is_some() {
                r["group"] = group.into();
                r["version"] = version.into();
            }
            resources.push(r);
        }
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
    )
}
