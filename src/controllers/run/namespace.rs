//! The namespace controller at work: a namespace being deleted is emptied — pods first,
//! then every other namespaced resource discovery lists — its deletion conditions kept
//! current, and once nothing is left, finalized so the apiserver removes it.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{ApiResource, DeleteParams, DynamicObject, ListParams, PostParams};
use kube::discovery::{Discovery, Scope, verbs};
use kube::runtime::reflector::Store;
use kube::{Api, ResourceExt};

use crate::controllers::namespace::{self as logic, Content};

/// How long a discovery of the API's resources is reused (CRDs come and go rarely).
const DISCOVERY_TTL: Duration = Duration::from_secs(30);
/// How soon a terminating namespace is looked at again: its content goes asynchronously
/// (graceful pod deletion, finalizers), and a pass is cheap.
const TERMINATING_RECHECK_SECS: i64 = 2;

pub struct Controller {
    client: kube::Client,
    namespaces: Store<Namespace>,
    discovered: Option<(Instant, Vec<ApiResource>)>,
    /// The last failed delete-collection per (namespace, group, resource).
    delete_errors: HashMap<(String, String, String), String>,
    /// The count last logged per (namespace, group, resource).
    announced: HashMap<(String, String, String), usize>,
}

impl Controller {
    pub fn new(client: kube::Client, namespaces: Store<Namespace>) -> Controller {
        Controller {
            client,
            namespaces,
            discovered: None,
            delete_errors: HashMap::new(),
            announced: HashMap::new(),
        }
    }

    pub async fn pass_all(&mut self) -> Option<i64> {
        let terminating: Vec<_> = self
            .namespaces
            .state()
            .into_iter()
            .filter(|ns| ns.metadata.deletion_timestamp.is_some())
            .collect();
        if terminating.is_empty() {
            self.delete_errors.clear();
            self.announced.clear();
            return None;
        }
        for ns in terminating {
            self.sync(&ns).await;
        }
        Some(TERMINATING_RECHECK_SECS)
    }

    /// The namespaced resources that can be listed and deleted as a collection.
    async fn resources(&mut self) -> Result<Vec<ApiResource>, String> {
        if let Some((at, resources)) = &self.discovered
            && at.elapsed() < DISCOVERY_TTL
        {
            return Ok(resources.clone());
        }
        let discovery = Discovery::new(self.client.clone())
            .run()
            .await
            .map_err(|e| format!("unable to retrieve the complete list of server APIs: {e}"))?;
        let mut resources = Vec::new();
        for group in discovery.groups() {
            for (ar, caps) in group.recommended_resources() {
                if caps.scope == Scope::Namespaced
                    && caps.supports_operation(verbs::LIST)
                    && caps.supports_operation(verbs::DELETE_COLLECTION)
                {
                    resources.push(ar);
                }
            }
        }
        self.discovered = Some((Instant::now(), resources.clone()));
        Ok(resources)
    }

    async fn sync(&mut self, ns: &Namespace) {
        let name = ns.name_any();
        let (resources, discovery_error) = match self.resources().await {
            Ok(r) => (r, None),
            Err(e) => (Vec::new(), Some(e)),
        };
        let mut contents = Vec::new();
        for ar in &resources {
            let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), &name, ar);
            let items = match api.list(&ListParams::default()).await {
                Ok(list) => list.items,
                // Gone since discovery (a CRD deleted): nothing of it is left to delete.
                Err(e) if super::code(&e) == Some(404) => continue,
                Err(e) => {
                    tracing::warn!(namespace = %name, "listing {} failed: {e}", ar.plural);
                    continue;
                }
            };
            let mut finalizers = BTreeMap::new();
            for o in &items {
                for f in o.finalizers() {
                    *finalizers.entry(f.clone()).or_insert(0) += 1;
                }
            }
            let error_key = (name.clone(), ar.group.clone(), ar.plural.clone());
            contents.push(Content {
                group: ar.group.clone(),
                resource: ar.plural.clone(),
                remaining: items.len(),
                finalizers,
                delete_error: self.delete_errors.get(&error_key).cloned(),
            });
        }
        let now = k8s_openapi::jiff::Timestamp::now();
        let plan = logic::plan(ns, &contents, discovery_error.as_deref(), now);

        let api: Api<Namespace> = Api::all(self.client.clone());
        if plan.set_terminating || plan.conditions.is_some() {
            // An update, not a patch: upstream's role grants update on namespaces/status.
            let mut updated = ns.clone();
            let status = updated.status.get_or_insert_default();
            if plan.set_terminating {
                status.phase = Some("Terminating".into());
            }
            if let Some(conditions) = &plan.conditions {
                status.conditions = Some(conditions.clone());
            }
            if let Err(e) = api
                .replace_status(&name, &PostParams::default(), &updated)
                .await
            {
                tracing::debug!(namespace = %name, "status not written (retried): {e}");
            }
        }
        for (group, resource) in &plan.delete_collections {
            let Some(ar) = resources
                .iter()
                .find(|ar| &ar.group == group && &ar.plural == resource)
            else {
                continue;
            };
            let left = contents
                .iter()
                .find(|c| &c.group == group && &c.resource == resource)
                .map_or(0, |c| c.remaining);
            let dynamic: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), &name, ar);
            let key = (name.clone(), group.clone(), resource.clone());
            match dynamic
                .delete_collection(&DeleteParams::background(), &ListParams::default())
                .await
            {
                Ok(_) => {
                    // Once per count, not on every recheck while pods terminate.
                    if self.announced.insert(key.clone(), left) != Some(left) {
                        tracing::info!(
                            "namespace {name} is terminating: deleting {left} {}",
                            qualified(group, resource)
                        );
                    }
                    self.delete_errors.remove(&key);
                }
                Err(e) => {
                    tracing::warn!(
                        "namespace {name}: deleting {} failed: {e}",
                        qualified(group, resource)
                    );
                    self.delete_errors
                        .insert(key, format!("{}: {e}", qualified(group, resource)));
                }
            }
        }
        if let Some(finalizers) = plan.finalize {
            let mut finalized = ns.clone();
            finalized.metadata.managed_fields = None;
            finalized.spec.get_or_insert_default().finalizers = Some(finalizers);
            match api
                .replace_subresource("finalize", &name, &PostParams::default(), &finalized)
                .await
            {
                Ok(_) => {
                    tracing::info!("namespace {name} is empty: finalized, the apiserver removes it")
                }
                Err(e) if super::code(&e) == Some(404) => {}
                Err(e) => tracing::warn!("namespace {name}: finalizing failed (retried): {e}"),
            }
        }
    }
}

/// `resource.group` as upstream names resources in messages (`deployments.apps`).
fn qualified(group: &str, resource: &str) -> String {
    match group {
        "" => resource.to_string(),
        g => format!("{resource}.{g}"),
    }
}

impl super::Pass for Controller {
    async fn pass(&mut self) -> Option<i64> {
        self.pass_all().await
    }
}
