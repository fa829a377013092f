//! The garbage collector at work over the watched kinds (see [`crate::controllers::gc`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, Preconditions};
use kube::runtime::reflector::Store;
use kube::{Api, Resource};
use serde_json::json;

use crate::controllers::gc::{self as logic, Action, Item};

/// A write is not repeated for this long while the stores catch up with it.
const SETTLE: Duration = Duration::from_secs(10);

/// Anything with object metadata, so one list can hold every watched kind's objects.
pub trait Meta: Send + Sync {
    fn object_meta(&self) -> &ObjectMeta;
}

impl<K: Resource + Send + Sync> Meta for K {
    fn object_meta(&self) -> &ObjectMeta {
        self.meta()
    }
}

/// One kind the collector watches: its API resource and its watched objects.
pub struct Watched {
    resource: ApiResource,
    objects: Box<dyn Fn() -> Vec<Arc<dyn Meta>> + Send + Sync>,
}

/// The kind of `store`, watched by the collector.
pub fn watched<K>(store: Store<K>) -> Watched
where
    K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
{
    Watched {
        resource: ApiResource::erase::<K>(&()),
        objects: Box::new(move || {
            store
                .state()
                .into_iter()
                .map(|o| o as Arc<dyn Meta>)
                .collect()
        }),
    }
}

pub struct Controller {
    client: kube::Client,
    /// The kinds watched, indexed as [`Item::kind`]; all namespaced.
    kinds: Vec<Watched>,
    recent: HashMap<String, Instant>,
}

impl Controller {
    pub fn new(client: kube::Client, kinds: Vec<Watched>) -> Controller {
        Controller {
            client,
            kinds,
            recent: HashMap::new(),
        }
    }

    pub async fn pass_all(&mut self) -> Option<i64> {
        let objects: Vec<Vec<Arc<dyn Meta>>> = self.kinds.iter().map(|k| (k.objects)()).collect();
        let items: Vec<Item<'_>> = objects
            .iter()
            .enumerate()
            .flat_map(|(kind, list)| list.iter().map(move |o| item(kind, o.object_meta())))
            .collect();
        let kinds = &self.kinds;
        let watched = |r: &OwnerReference| {
            kinds
                .iter()
                .any(|k| k.resource.api_version == r.api_version && k.resource.kind == r.kind)
        };
        let actions = logic::plan(&items, watched);
        self.recent.retain(|_, at| at.elapsed() < SETTLE);
        let mut failed = false;
        for action in actions {
            failed |= !self.write(action).await;
        }
        // A failed write (a timeout, an apiserver restarting) is tried again soon, not at the
        // next resync: a deleted Deployment's pods must not linger for half a minute.
        failed.then_some(1)
    }

    /// Whether the write is done (or moot: the object is gone or another one now).
    async fn write(&mut self, action: Action) -> bool {
        let key = format!("{action:?}");
        if self.recent.contains_key(&key) {
            return true;
        }
        let api = |kind: usize, ns: &Option<String>| -> Api<DynamicObject> {
            let ar = &self.kinds[kind].resource;
            match ns {
                Some(ns) => Api::namespaced_with(self.client.clone(), ns, ar),
                None => Api::all_with(self.client.clone(), ar),
            }
        };
        let result = match &action {
            Action::Delete {
                kind,
                namespace,
                name,
                uid,
                why,
            } => {
                let dp = DeleteParams {
                    // The uid it was decided for: never a newer object of the same name.
                    preconditions: Some(Preconditions {
                        uid: Some(uid.clone()),
                        resource_version: None,
                    }),
                    ..DeleteParams::background()
                };
                let r = api(*kind, namespace).delete(name, &dp).await.map(|_| ());
                if r.is_ok() {
                    tracing::info!(
                        "deleting {} {}/{name}: {why}",
                        self.kinds[*kind].resource.kind,
                        namespace.as_deref().unwrap_or("")
                    );
                }
                r
            }
            Action::Unown {
                kind,
                namespace,
                name,
                owner_uid,
            } => {
                let patch = json!({"metadata": {"ownerReferences": [{"$patch": "delete", "uid": owner_uid}]}});
                let r = api(*kind, namespace)
                    .patch(name, &PatchParams::default(), &Patch::Strategic(&patch))
                    .await
                    .map(|_| ());
                if r.is_ok() {
                    tracing::info!(
                        "orphaned {} {}/{name}",
                        self.kinds[*kind].resource.kind,
                        namespace.as_deref().unwrap_or("")
                    );
                }
                r
            }
            Action::Finalize {
                kind,
                namespace,
                name,
                finalizer,
                remaining,
            } => {
                let patch = json!({"metadata": {"finalizers": remaining}});
                let r = api(*kind, namespace)
                    .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .map(|_| ());
                if r.is_ok() {
                    tracing::info!(
                        "removed the {finalizer} finalizer of {} {}/{name}",
                        self.kinds[*kind].resource.kind,
                        namespace.as_deref().unwrap_or("")
                    );
                }
                r
            }
        };
        match result {
            Ok(()) => {
                self.recent.insert(key, Instant::now());
                true
            }
            Err(e) if matches!(super::code(&e), Some(404 | 409)) => true,
            Err(e) => {
                tracing::warn!(?action, "garbage collection write failed: {e}; retrying");
                false
            }
        }
    }
}

fn item(kind: usize, meta: &ObjectMeta) -> Item<'_> {
    Item {
        kind,
        namespaced: true,
        meta,
    }
}

impl super::Pass for Controller {
    async fn pass(&mut self) -> Option<i64> {
        self.pass_all().await
    }
}
