//! Authorization of every request (`--authorization-mode`): RBAC over the stored Roles,
//! ClusterRoles and bindings ([`super::rbac`]), kept current by watching them; the request
//! attributes upstream derives from a method and path; impersonation (`kubectl --as`).

use std::sync::{Arc, RwLock};

use axum::http::{HeaderMap, Method};
use serde_json::Value;

use super::Server;
use super::authn::User;
use super::rbac::{self, Attributes, Decision, Policy, Resource, Target};
use super::status::ApiError;
use crate::kinds;

/// The resources of the four kinds RBAC reads, in [`Policy::new`]'s order.
const RBAC_RESOURCES: [&str; 4] = [
    "roles",
    "rolebindings",
    "clusterroles",
    "clusterrolebindings",
];

fn rbac_kind(resource: &str) -> &'static kinds::Kind {
    kinds::find("rbac.authorization.k8s.io", "v1", resource).expect("the RBAC kinds are served")
}

pub struct Authorizer {
    /// `--authorization-mode=AlwaysAllow`: every authenticated user may do anything.
    always_allow: bool,
    policy: RwLock<Arc<Policy>>,
    /// One reload at a time, and when it finished: denials re-read the policy at most
    /// every [`DENIAL_RELOAD_EVERY`], so a client hammering forbidden requests cannot turn
    /// each one into four etcd reads.
    reloading: tokio::sync::Mutex<Option<std::time::Instant>>,
}

/// Shorter than any client takes to make a binding and then use it.
const DENIAL_RELOAD_EVERY: std::time::Duration = std::time::Duration::from_millis(50);

impl Authorizer {
    /// From `--authorization-mode`: a comma-separated list of AlwaysAllow, RBAC and Node
    /// (Node is served by RBAC's system:node role for the group system:nodes).
    pub fn new(modes: &str) -> anyhow::Result<Authorizer> {
        let mut always_allow = false;
        for mode in modes.split(',').map(str::trim) {
            match mode {
                "RBAC" | "Node" => {}
                "AlwaysAllow" => always_allow = true,
                other => anyhow::bail!(
                    "--authorization-mode: {other:?} is not one kwb's apiserver has; use RBAC, Node or AlwaysAllow"
                ),
            }
        }
        Ok(Authorizer {
            always_allow,
            policy: RwLock::new(Arc::new(Policy::default())),
            reloading: tokio::sync::Mutex::new(None),
        })
    }

    pub fn policy(&self) -> Arc<Policy> {
        self.policy
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn decide(&self, attrs: &Attributes) -> Decision {
        if self.always_allow {
            return Decision {
                allowed: true,
                reason: String::new(),
            };
        }
        rbac::authorize(&self.policy(), attrs)
    }

    /// The decision for one request. A denial is checked again on a freshly read policy, so
    /// a binding created a moment ago counts even before its watch event arrives.
    pub async fn authorize(&self, server: &Server, attrs: &Attributes<'_>) -> Decision {
        let d = self.decide(attrs);
        if d.allowed {
            return d;
        }
        let recent = self
            .reloading
            .lock()
            .await
            .is_some_and(|at| at.elapsed() < DENIAL_RELOAD_EVERY);
        if recent {
            // Read by a reload that finished just now (perhaps one this request waited for).
            return self.decide(attrs);
        }
        if let Err(e) = self.reload(server).await {
            tracing::warn!(error = %e.message, "cannot read the RBAC policy");
        }
        self.decide(attrs)
    }

    /// Reads the four kinds again and replaces the policy; returns the ClusterRoles read.
    pub async fn reload(&self, server: &Server) -> Result<Vec<Value>, ApiError> {
        let mut last = self.reloading.lock().await;
        let mut lists = Vec::new();
        for r in RBAC_RESOURCES {
            lists.push(server.storage.list(rbac_kind(r), None).await?.0);
        }
        let policy = Policy::new(&lists[0], &lists[1], &lists[2], &lists[3]);
        *self
            .policy
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(policy);
        *last = Some(std::time::Instant::now());
        Ok(lists.swap_remove(2))
    }
}

/// Writes the rules of aggregated ClusterRoles (admin, edit, view, …) into the objects, as
/// upstream's aggregation controller does, so `kubectl get clusterrole view -o yaml` shows
/// what the role grants. A role already up to date is not written (its own watch event
/// would otherwise bring it here again).
async fn write_aggregated_rules(
    server: &Server,
    policy: &Policy,
    cluster_roles: &[Value],
) -> Result<(), ApiError> {
    let kind = rbac_kind("clusterroles");
    for role in cluster_roles {
        if !role["aggregationRule"].is_object() {
            continue;
        }
        let Some(name) = role["metadata"]["name"].as_str() else {
            continue;
        };
        let Some(rules) = policy.cluster_role_rules(name) else {
            continue;
        };
        let stored = match &role["rules"] {
            Value::Null => Value::Array(Vec::new()),
            other => other.clone(),
        };
        if stored == rules {
            continue;
        }
        let mut updated = role.clone();
        updated["rules"] = rules;
        let rv = super::rest::rv_of(role);
        match server.storage.update(kind, None, name, rv, updated).await {
            Ok(_) => tracing::info!(name, "wrote the rules of an aggregated ClusterRole"),
            // Changed meanwhile: its watch event brings it back here.
            Err(e) if e.reason == "Conflict" => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Keeps the policy current: reloads it whenever a Role, ClusterRole or binding changes,
/// and writes the rules of aggregated ClusterRoles. Only here, never on a request's path:
/// a denied request re-reads the policy but writes nothing.
pub async fn keep_current(server: Arc<Server>) {
    use futures::StreamExt;
    use tokio_stream::wrappers::BroadcastStream;
    loop {
        let mut streams = Vec::new();
        for r in RBAC_RESOURCES {
            if let Ok(cache) = server.watch_caches.get(rbac_kind(r)).await
                && let Some(rx) = cache.subscribe_now()
            {
                // Its end is an item too, so a closed cache makes us subscribe again.
                let end = futures::stream::once(async {});
                streams.push(BroadcastStream::new(rx).map(|_| ()).chain(end).boxed());
            }
        }
        if streams.len() < RBAC_RESOURCES.len() {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            continue;
        }
        // Subscribed first, read second: no change falls between the two.
        match server.authz.reload(&server).await {
            Ok(cluster_roles) => {
                let policy = server.authz.policy();
                if let Err(e) = write_aggregated_rules(&server, &policy, &cluster_roles).await {
                    tracing::warn!(error = %e.message, "cannot write aggregated ClusterRoles");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e.message, "cannot read the RBAC policy; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            }
        }
        // A change, a lag or a closed cache: subscribe and read again. Changes that come
        // in a burst (a bootstrap, kubectl apply -f dir/) mostly share one reload.
        let _ = futures::stream::select_all(streams).next().await;
    }
}

/// What a request asks for, upstream's way: a resource request for paths under /api/v1 and
/// /apis/G/V that name a resource, a non-resource request for anything else.
pub struct RequestInfo {
    pub verb: String,
    /// None for a non-resource request.
    pub resource: Option<ResourceInfo>,
    pub path: String,
}

pub struct ResourceInfo {
    pub group: String,
    pub resource: String,
    pub subresource: String,
    pub name: String,
    pub namespace: Option<String>,
}

impl RequestInfo {
    pub fn attributes<'a>(&'a self, user: &'a User) -> Attributes<'a> {
        match &self.resource {
            None => Attributes::path(user, &self.verb, &self.path),
            Some(r) => Attributes {
                user,
                verb: &self.verb,
                target: Target::Resource(Resource {
                    group: &r.group,
                    resource: &r.resource,
                    subresource: &r.subresource,
                    name: &r.name,
                    namespace: r.namespace.as_deref(),
                }),
            },
        }
    }
}

/// Reads the attributes of a request from its method, path and query.
pub fn request_info(method: &Method, path: &str, query: &str) -> RequestInfo {
    let non_resource = || RequestInfo {
        verb: method.as_str().to_ascii_lowercase(),
        resource: None,
        path: path.to_string(),
    };
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (group, rest) = match segs.as_slice() {
        ["api", _v, rest @ ..] if !rest.is_empty() => ("", rest),
        ["apis", g, _v, rest @ ..] if !rest.is_empty() => (*g, rest),
        _ => return non_resource(),
    };
    // namespaces/NS/<resource>/... is a namespaced request; namespaces/NS alone is the
    // Namespace object, which upstream also counts as inside NS, and so are its own
    // subresources namespaces/NS/status and namespaces/NS/finalize.
    let (namespace, rest) = match rest {
        ["namespaces", ns, "status" | "finalize"] => (Some(*ns), rest),
        ["namespaces", ns, more @ ..] if !more.is_empty() => (Some(*ns), more),
        ["namespaces", ns] => (Some(*ns), rest),
        other => (None, other),
    };
    let (resource, name, subresource) = match rest {
        [r] => (*r, "", ""),
        [r, n] => (*r, *n, ""),
        [r, n, s, ..] => (*r, *n, *s),
        [] => return non_resource(),
    };
    let watching =
        super::rest::query_param(query, "watch").is_some_and(|w| w == "true" || w == "1");
    let verb = match (method, name.is_empty()) {
        (&Method::GET | &Method::HEAD, true) if watching => "watch",
        (&Method::GET | &Method::HEAD, true) => "list",
        (&Method::GET | &Method::HEAD, false) => "get",
        (&Method::POST, _) => "create",
        (&Method::PUT, _) => "update",
        (&Method::PATCH, _) => "patch",
        (&Method::DELETE, true) => "deletecollection",
        (&Method::DELETE, false) => "delete",
        _ => return non_resource(),
    };
    RequestInfo {
        verb: verb.into(),
        resource: Some(ResourceInfo {
            group: group.into(),
            resource: resource.into(),
            subresource: subresource.into(),
            name: name.into(),
            namespace: namespace.map(str::to_string),
        }),
        path: path.to_string(),
    }
}

/// 403 for a denied request, in upstream's words.
pub fn forbidden(attrs: &Attributes, decision: &Decision) -> ApiError {
    ApiError::forbidden(rbac::forbidden_status_message(attrs, &decision.reason))
}

/// The user a request acts as: the authenticated one, or the one its Impersonate-* headers
/// name when the authenticated user may impersonate it (verb `impersonate` on users,
/// groups, serviceaccounts, uids and userextras).
pub async fn impersonated(
    server: &Server,
    user: User,
    headers: &HeaderMap,
) -> Result<User, ApiError> {
    let values = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect()
    };
    let names = values("impersonate-user");
    let groups = values("impersonate-group");
    let uid = values("impersonate-uid");
    let extras: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(k, v)| {
            let key = k.as_str().strip_prefix("impersonate-extra-")?;
            Some((
                super::rest::percent_decode(key),
                v.to_str().ok()?.to_string(),
            ))
        })
        .collect();
    let Some(name) = names.first() else {
        if groups.is_empty() && uid.is_empty() && extras.is_empty() {
            return Ok(user);
        }
        return Err(ApiError::bad_request(
            "requested impersonation of groups, uid or extras without impersonating a user",
        ));
    };
    // Each thing impersonated is its own permission, checked as upstream names it.
    let object = |resource, name, namespace| Resource {
        resource,
        name,
        namespace,
        ..Default::default()
    };
    let mut checks = Vec::new();
    let mut new = User {
        name: name.clone(),
        groups: groups.clone(),
        uid: uid.first().cloned().unwrap_or_default(),
        extra: extras.clone(),
    };
    match name
        .strip_prefix("system:serviceaccount:")
        .and_then(|s| s.split_once(':'))
    {
        Some((ns, sa)) => {
            checks.push(object("serviceaccounts", sa, Some(ns)));
            if groups.is_empty() {
                new.groups = vec![
                    "system:serviceaccounts".into(),
                    format!("system:serviceaccounts:{ns}"),
                ];
            }
        }
        None => checks.push(object("users", name, None)),
    }
    checks.extend(groups.iter().map(|g| object("groups", g, None)));
    checks.extend(uid.first().map(|u| object("uids", u, None)));
    for (key, value) in &extras {
        checks.push(Resource {
            subresource: key,
            ..object("userextras", value, None)
        });
    }
    for target in checks {
        let attrs = Attributes {
            user: &user,
            verb: "impersonate",
            target: Target::Resource(target),
        };
        let d = server.authz.authorize(server, &attrs).await;
        if !d.allowed {
            return Err(forbidden(&attrs, &d));
        }
    }
    if !new.groups.iter().any(|g| g == "system:authenticated") {
        new.groups.push("system:authenticated".into());
    }
    Ok(new)
}

/// SubjectAccessReview's user: from its spec (the Self* reviews use the requester).
pub fn review_user(spec: &Value) -> User {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    User {
        name: spec["user"].as_str().unwrap_or("").to_string(),
        groups: strings(&spec["groups"]),
        uid: spec["uid"].as_str().unwrap_or("").to_string(),
        extra: Vec::new(),
    }
}

/// The attributes an access review asks about.
pub fn review_attributes<'a>(user: &'a User, spec: &'a Value) -> Attributes<'a> {
    let s = |v: &'a Value| v.as_str().unwrap_or("");
    if let Some(p) = spec.get("nonResourceAttributes").filter(|p| p.is_object()) {
        return Attributes::path(user, s(&p["verb"]), s(&p["path"]));
    }
    let r = &spec["resourceAttributes"];
    let ns = s(&r["namespace"]);
    Attributes {
        user,
        verb: s(&r["verb"]),
        target: Target::Resource(Resource {
            group: s(&r["group"]),
            resource: s(&r["resource"]),
            subresource: s(&r["subresource"]),
            name: s(&r["name"]),
            namespace: (!ns.is_empty()).then_some(ns),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (verb, (group, resource, subresource, name, namespace)) of a request.
    type Info = (
        String,
        Option<(String, String, String, String, Option<String>)>,
    );

    fn info(method: Method, path: &str, query: &str) -> Info {
        let i = request_info(&method, path, query);
        (
            i.verb,
            i.resource
                .map(|r| (r.group, r.resource, r.subresource, r.name, r.namespace)),
        )
    }

    #[test]
    fn requests_become_upstreams_attributes() {
        let r = |g: &str, res: &str, sub: &str, name: &str, ns: Option<&str>| {
            Some((
                g.into(),
                res.into(),
                sub.into(),
                name.into(),
                ns.map(str::to_string),
            ))
        };
        assert_eq!(
            info(Method::GET, "/api/v1/nodes", ""),
            ("list".into(), r("", "nodes", "", "", None))
        );
        assert_eq!(
            info(Method::GET, "/api/v1/namespaces/default/pods", "watch=true"),
            ("watch".into(), r("", "pods", "", "", Some("default")))
        );
        assert_eq!(
            info(
                Method::GET,
                "/api/v1/namespaces/a/pods/web/log",
                "follow=true"
            ),
            ("get".into(), r("", "pods", "log", "web", Some("a")))
        );
        assert_eq!(
            info(
                Method::PATCH,
                "/apis/apps/v1/namespaces/a/deployments/web/scale",
                ""
            ),
            (
                "patch".into(),
                r("apps", "deployments", "scale", "web", Some("a"))
            )
        );
        assert_eq!(
            info(Method::DELETE, "/api/v1/namespaces/a/configmaps", ""),
            (
                "deletecollection".into(),
                r("", "configmaps", "", "", Some("a"))
            )
        );
        assert_eq!(
            info(Method::GET, "/api/v1/namespaces/a", ""),
            ("get".into(), r("", "namespaces", "", "a", Some("a")))
        );
        assert_eq!(
            info(Method::PUT, "/api/v1/namespaces/a/finalize", ""),
            (
                "update".into(),
                r("", "namespaces", "finalize", "a", Some("a"))
            )
        );
        assert_eq!(info(Method::GET, "/version", ""), ("get".into(), None));
        assert_eq!(info(Method::GET, "/apis/apps/v1", ""), ("get".into(), None));
        assert_eq!(info(Method::POST, "/api", ""), ("post".into(), None));
    }
}
