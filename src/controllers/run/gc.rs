//! The garbage collector at work over the watched kinds (see [`crate::controllers::gc`]).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, Preconditions};
use kube::runtime::reflector::Store;
use kube::{Api, Resource};
use serde_json::json;

use crate::controllers::gc::{self as logic, Action, Item};

/// A write is not repeated for this long while the stores catch up with it.
const SETTLE: Duration = Duration::from_secs(10);

pub struct Controller {
    client: kube::Client,
    deployments: Store<Deployment>,
    rss: Store<ReplicaSet>,
    pods: Store<Pod>,
    jobs: Store<Job>,
    /// The kinds watched, indexed as [`Item::kind`].
    kinds: Vec<ApiResource>,
    recent: HashMap<String, Instant>,
}

impl Controller {
    pub fn new(
        client: kube::Client,
        deployments: Store<Deployment>,
        rss: Store<ReplicaSet>,
        pods: Store<Pod>,
        jobs: Store<Job>,
    ) -> Controller {
        Controller {
            client,
            deployments,
            rss,
            pods,
            jobs,
            kinds: vec![
                ApiResource::erase::<Deployment>(&()),
                ApiResource::erase::<ReplicaSet>(&()),
                ApiResource::erase::<Pod>(&()),
                ApiResource::erase::<Job>(&()),
            ],
            recent: HashMap::new(),
        }
    }

    pub async fn pass_all(&mut self) -> Option<i64> {
        let (deployments, rss, pods, jobs) = (
            self.deployments.state(),
            self.rss.state(),
            self.pods.state(),
            self.jobs.state(),
        );
        let mut items: Vec<Item<'_>> = Vec::new();
        items.extend(deployments.iter().map(|o| item(0, o.meta())));
        items.extend(rss.iter().map(|o| item(1, o.meta())));
        items.extend(pods.iter().map(|o| item(2, o.meta())));
        items.extend(jobs.iter().map(|o| item(3, o.meta())));
        let kinds = &self.kinds;
        let watched = |r: &k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference| {
            kinds
                .iter()
                .any(|k| k.api_version == r.api_version && k.kind == r.kind)
        };
        let actions = logic::plan(&items, watched);
        self.recent.retain(|_, at| at.elapsed() < SETTLE);
        for action in actions {
            self.write(action).await;
        }
        None
    }

    async fn write(&mut self, action: Action) {
        let key = format!("{action:?}");
        if self.recent.contains_key(&key) {
            return;
        }
        let api = |kind: usize, ns: &Option<String>| -> Api<DynamicObject> {
            let ar = &self.kinds[kind];
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
                        self.kinds[*kind].kind,
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
                        self.kinds[*kind].kind,
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
                        self.kinds[*kind].kind,
                        namespace.as_deref().unwrap_or("")
                    );
                }
                r
            }
        };
        match result {
            Ok(()) => {
                self.recent.insert(key, Instant::now());
            }
            Err(e) if matches!(super::code(&e), Some(404 | 409)) => {}
            Err(e) => tracing::warn!(?action, "garbage collection write failed: {e}"),
        }
    }
}

fn item(
    kind: usize,
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> Item<'_> {
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
