//! Discovery, generated from [`crate::kinds::KINDS`]: aggregated (apidiscovery.k8s.io/v2, what
//! kubectl 1.32 asks for first, labelled with its exact media type) and legacy (APIVersions,
//! APIGroupList, APIResourceList, which `kubectl auth can-i` still reads).

use serde_json::{Value, json};

use crate::kinds::{KINDS, Kind, VERBS, group_versions, has_scale, has_status};

/// The Content-Type kubectl requires to treat a body as aggregated discovery.
pub const AGGREGATED_V2: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Whether the request's Accept asks for aggregated discovery.
pub fn wants_aggregated(accept: &str) -> bool {
    accept.contains("as=APIGroupDiscoveryList") && accept.contains("v=v2")
}

fn aggregated_resource(k: &Kind) -> Value {
    let mut subresources = Vec::new();
    if has_status(k) {
        subresources.push(json!({"subresource": "status", "responseKind": {"group": k.group, "version": k.version, "kind": k.kind}, "verbs": ["get", "patch", "update"]}));
    }
    if has_scale(k) {
        subresources.push(json!({"subresource": "scale", "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"}, "verbs": ["get", "patch", "update"]}));
    }
    json!({
        "subresources": subresources,
        "resource": k.resource,
        "responseKind": {"group": k.group, "version": k.version, "kind": k.kind},
        "scope": if k.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": k.singular,
        "verbs": VERBS,
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
            "verbs": VERBS,
            "shortNames": k.short_names,
        }));
        if has_status(k) {
            resources.push(json!({"name": format!("{}/status", k.resource), "singularName": "", "namespaced": k.namespaced, "kind": k.kind, "verbs": ["get", "patch", "update"]}));
        }
        if has_scale(k) {
            resources.push(json!({"name": format!("{}/scale", k.resource), "singularName": "", "namespaced": k.namespaced, "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]}));
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
