//! Discovery, generated from the kinds served ([`crate::kinds::all`], CRDs' included): aggregated (apidiscovery.k8s.io/v2, what
//! kubectl 1.32 asks for first, labelled with its exact media type) and legacy (APIVersions,
//! APIGroupList, APIResourceList, which `kubectl auth can-i` still reads).

use serde_json::{Value, json};

use crate::kinds::{self, Kind, Subresource, group_versions, subresources, verbs};

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

/// The groups served, each with its versions, preferred first (core: only ""; otherwise every
/// other group).
fn groups(core: bool) -> Vec<(&'static str, Vec<&'static str>)> {
    let mut out: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
    for (g, v) in group_versions()
        .into_iter()
        .filter(|(g, _)| g.is_empty() == core)
    {
        match out.iter_mut().find(|(x, _)| *x == g) {
            Some((_, vs)) => vs.push(v),
            None => out.push((g, vec![v])),
        }
    }
    for (_, vs) in &mut out {
        vs.sort_by_key(|v| std::cmp::Reverse(kinds::version_priority(v)));
    }
    out
}

/// `/api` (core: true) or `/apis` (core: false) as an APIGroupDiscoveryList.
pub fn aggregated(core: bool) -> Value {
    let all = kinds::all();
    let items: Vec<Value> = groups(core)
        .into_iter()
        .map(|(group, versions)| {
            let versions: Vec<Value> = versions
                .into_iter()
                .map(|version| {
                    let resources: Vec<Value> = all
                        .iter()
                        .filter(|k| k.group == group && k.version == version)
                        .map(|k| aggregated_resource(k))
                        .collect();
                    json!({"version": version, "freshness": "Current", "resources": resources})
                })
                .collect();
            json!({"metadata": {"name": group}, "versions": versions})
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
    let groups: Vec<Value> = groups(false)
        .into_iter()
        .map(|(g, vs)| group_entry(g, &vs))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/<group>` as APIGroup, if served.
pub fn api_group(group: &str) -> Option<Value> {
    let (g, vs) = groups(false).into_iter().find(|(g, _)| *g == group)?;
    let mut entry = group_entry(g, &vs);
    entry["kind"] = "APIGroup".into();
    entry["apiVersion"] = "v1".into();
    Some(entry)
}

fn group_entry(g: &str, vs: &[&str]) -> Value {
    let gvs: Vec<Value> = vs
        .iter()
        .map(|v| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
        .collect();
    json!({"name": g, "preferredVersion": gvs.first(), "versions": gvs})
}

/// `/api/v1` or `/apis/<group>/<version>` as APIResourceList, if served.
pub fn resource_list(group: &str, version: &str) -> Option<Value> {
    let kinds: Vec<&Kind> = kinds::all()
        .into_iter()
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
