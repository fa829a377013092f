//! The resources a cluster serves, from discovery, and how a word typed after `:` names one:
//! plural, singular, short name or kind, any case, optionally with `.group`, as kubectl
//! resolves `kubectl get po` (core first, then the groups in the server's order).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList;

/// One listable, watchable resource of the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    /// Empty for the core group.
    pub group: String,
    pub version: String,
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub short_names: Vec<String>,
    pub namespaced: bool,
}

impl Resource {
    /// The collection's URL path, in `namespace` (all namespaces when None, or when the
    /// resource is cluster-scoped).
    pub fn path(&self, namespace: Option<&str>) -> String {
        let base = if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        };
        match namespace {
            Some(ns) if self.namespaced => format!("{base}/namespaces/{ns}/{}", self.plural),
            _ => format!("{base}/{}", self.plural),
        }
    }

    /// Whether it is one of `plurals` of API group `group` ("" for the core group).
    pub fn is(&self, group: &str, plurals: &[&str]) -> bool {
        self.group == group && plurals.contains(&self.plural.as_str())
    }

    /// `deployments.apps`, `pods`: the name kubectl shows for it.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    fn names(&self) -> impl Iterator<Item = String> + '_ {
        [
            self.plural.clone(),
            self.singular.clone(),
            self.kind.to_lowercase(),
        ]
        .into_iter()
        .chain(self.short_names.iter().map(|s| s.to_lowercase()))
        .filter(|n| !n.is_empty())
    }
}

/// The cluster's resources in discovery order (core first).
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    resources: Vec<Resource>,
}

impl Catalog {
    /// From discovery's resource lists, core first: subresources (`pods/log`) and what cannot
    /// be listed and watched are left out, as there is nothing to browse there.
    pub fn new(lists: &[APIResourceList]) -> Catalog {
        let mut resources = Vec::new();
        for list in lists {
            let (group, version) = match list.group_version.split_once('/') {
                Some((g, v)) => (g.to_string(), v.to_string()),
                None => (String::new(), list.group_version.clone()),
            };
            for r in &list.resources {
                let browsable = ["list", "watch"]
                    .iter()
                    .all(|v| r.verbs.iter().any(|x| x == v));
                if r.name.contains('/') || !browsable {
                    continue;
                }
                let singular = if r.singular_name.is_empty() {
                    r.kind.to_lowercase()
                } else {
                    r.singular_name.clone()
                };
                resources.push(Resource {
                    group: group.clone(),
                    version: version.clone(),
                    plural: r.name.clone(),
                    singular,
                    kind: r.kind.clone(),
                    short_names: r.short_names.clone().unwrap_or_default(),
                    namespaced: r.namespaced,
                });
            }
        }
        Catalog { resources }
    }

    /// Asks the cluster: the core version, then every group's preferred version.
    pub async fn discover(client: &kube::Client) -> Result<Catalog, kube::Error> {
        let mut lists = Vec::new();
        for version in client.list_core_api_versions().await?.versions {
            lists.push(client.list_core_api_resources(&version).await?);
        }
        for group in client.list_api_groups().await?.groups {
            let Some(preferred) = group
                .preferred_version
                .or_else(|| group.versions.into_iter().next())
            else {
                continue;
            };
            match client
                .list_api_group_resources(&preferred.group_version)
                .await
            {
                Ok(list) => lists.push(list),
                // An aggregated API that is down must not hide the rest (kubectl warns too).
                Err(e) => tracing::warn!("discovery of {}: {e}", preferred.group_version),
            }
        }
        Ok(Catalog::new(&lists))
    }

    /// The resource `word` names (`po`, `Deployment`, `deploy.apps`, `widgets`); the first in
    /// discovery order wins, so `events` is the core one.
    pub fn resolve(&self, word: &str) -> Option<&Resource> {
        let word = word.trim().to_lowercase();
        let (name, group) = match word.split_once('.') {
            Some((n, g)) => (n, Some(g)),
            None => (word.as_str(), None),
        };
        self.resources.iter().find(|r| {
            group.is_none_or(|g| r.group == g || r.group.starts_with(&format!("{g}.")))
                && r.names().any(|n| n == name)
        })
    }

    /// The resource of a document's `apiVersion` and `kind`, at the document's version (the
    /// catalog holds each group's preferred one; the server says if it does not serve that).
    pub fn by_kind(&self, api_version: &str, kind: &str) -> Option<Resource> {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let found = self
            .resources
            .iter()
            .find(|r| r.group == group && r.kind == kind)?;
        Some(Resource {
            version: version.to_string(),
            ..found.clone()
        })
    }

    /// Completions of `prefix` among the plurals and short names, shortest first.
    pub fn complete(&self, prefix: &str) -> Vec<String> {
        let prefix = prefix.trim().to_lowercase();
        let mut out: Vec<String> = self
            .resources
            .iter()
            .flat_map(|r| std::iter::once(r.plural.clone()).chain(r.short_names.clone()))
            .filter(|n| n.starts_with(&prefix))
            .collect();
        out.sort_by(|a, b| a.len().cmp(&b.len()).then(a.cmp(b)));
        out.dedup();
        out
    }
}

/// A catalog for tests: core pods (with pods/log), events, nodes and bindings, apps
/// deployments, events.k8s.io events and a CRD's widgets.
#[cfg(test)]
pub fn test_catalog() -> Catalog {
    let lists: Vec<APIResourceList> = serde_json::from_value(serde_json::json!([
        {"groupVersion": "v1", "resources": [
            {"name": "pods", "singularName": "pod", "namespaced": true, "kind": "Pod",
             "shortNames": ["po"], "verbs": ["get", "list", "watch", "create"]},
            {"name": "pods/log", "singularName": "", "namespaced": true, "kind": "Pod",
             "verbs": ["get"]},
            {"name": "events", "singularName": "event", "namespaced": true, "kind": "Event",
             "shortNames": ["ev"], "verbs": ["list", "watch"]},
            {"name": "nodes", "singularName": "node", "namespaced": false, "kind": "Node",
             "shortNames": ["no"], "verbs": ["list", "watch"]},
            {"name": "bindings", "singularName": "binding", "namespaced": true,
             "kind": "Binding", "verbs": ["create"]}
        ]},
        {"groupVersion": "apps/v1", "resources": [
            {"name": "deployments", "singularName": "deployment", "namespaced": true,
             "kind": "Deployment", "shortNames": ["deploy"], "verbs": ["list", "watch"]},
            {"name": "replicasets", "singularName": "replicaset", "namespaced": true,
             "kind": "ReplicaSet", "shortNames": ["rs"], "verbs": ["list", "watch"]}
        ]},
        {"groupVersion": "events.k8s.io/v1", "resources": [
            {"name": "events", "singularName": "event", "namespaced": true, "kind": "Event",
             "shortNames": ["ev"], "verbs": ["list", "watch"]}
        ]},
        {"groupVersion": "example.com/v1", "resources": [
            {"name": "widgets", "singularName": "widget", "namespaced": true,
             "kind": "Widget", "verbs": ["list", "watch"]}
        ]}
    ]))
    .unwrap();
    Catalog::new(&lists)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_resolve_as_kubectl_resolves_them() {
        let c = test_catalog();
        let plural = |w: &str| c.resolve(w).map(|r| r.qualified());
        assert_eq!(plural("po").as_deref(), Some("pods"));
        assert_eq!(plural("Pod").as_deref(), Some("pods"));
        assert_eq!(plural("deploy").as_deref(), Some("deployments.apps"));
        assert_eq!(
            plural("deployment.apps").as_deref(),
            Some("deployments.apps")
        );
        assert_eq!(plural("widget").as_deref(), Some("widgets.example.com"));
        assert_eq!(plural("ev").as_deref(), Some("events"), "core first");
        assert_eq!(
            plural("events.events.k8s.io").as_deref(),
            Some("events.events.k8s.io")
        );
        assert_eq!(
            plural("events.events").as_deref(),
            Some("events.events.k8s.io")
        );
        assert_eq!(plural("bindings"), None, "cannot be listed");
        assert_eq!(plural("log"), None, "subresources are not browsable");
        assert_eq!(plural("nope"), None);
    }

    #[test]
    fn paths_and_completions() {
        let c = test_catalog();
        let deploy = c.resolve("deploy").unwrap();
        assert_eq!(
            deploy.path(Some("default")),
            "/apis/apps/v1/namespaces/default/deployments"
        );
        assert_eq!(deploy.path(None), "/apis/apps/v1/deployments");
        let nodes = c.resolve("no").unwrap();
        assert_eq!(
            nodes.path(Some("default")),
            "/api/v1/nodes",
            "cluster-scoped"
        );
        assert_eq!(c.complete("d"), ["deploy", "deployments"]);
        assert_eq!(c.complete("e"), ["ev", "events"]);
    }
}
