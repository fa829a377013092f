//! The DaemonSet controller at work: a pod of the current revision on every node that
//! should run one, and the ControllerRevisions that make `kubectl rollout history|undo`
//! work on DaemonSets.

use std::collections::HashSet;

use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{DeleteParams, PostParams};
use kube::runtime::reflector::Store;
use kube::{Api, Resource, ResourceExt};

use super::{history, key, pod_ops, sooner};
use crate::agent::events::Recorder;
use crate::controllers::daemonset as logic;
use crate::controllers::expectations::{Awaited, Expectations, rv};
use crate::controllers::revision::{self, POD_REVISION_LABEL};

pub struct Controller {
    client: kube::Client,
    daemonsets: Store<DaemonSet>,
    nodes: Store<Node>,
    pods: Store<Pod>,
    revisions: Store<ControllerRevision>,
    events: Recorder,
    expectations: Expectations,
}

impl Controller {
    pub fn new(
        client: kube::Client,
        daemonsets: Store<DaemonSet>,
        nodes: Store<Node>,
        pods: Store<Pod>,
        revisions: Store<ControllerRevision>,
    ) -> Controller {
        Controller {
            events: Recorder::new(client.clone(), "daemonset-controller"),
            client,
            daemonsets,
            nodes,
            pods,
            revisions,
            expectations: Expectations::default(),
        }
    }

    pub async fn pass_all(&mut self) -> Option<i64> {
        let mut by_ns = super::ByNamespace::of(&self.pods);
        let nodes: Vec<Node> = self.nodes.state().iter().map(|n| (**n).clone()).collect();
        let sets = self.daemonsets.state();
        self.expectations
            .retain(|k| sets.iter().any(|d| key(&d.metadata) == k));
        let mut due = None;
        for ds in sets {
            let k = key(&ds.metadata);
            let pods = &self.pods;
            if !self
                .expectations
                .satisfied(&k, |pk| super::version_in(pods, pk))
            {
                continue;
            }
            let ns_pods = by_ns.owned(&ds.namespace().unwrap_or_default());
            due = sooner(due, self.sync(&ds, &nodes, ns_pods).await);
        }
        due
    }

    async fn sync(&mut self, ds: &DaemonSet, nodes: &[Node], pods: &[Pod]) -> Option<i64> {
        let ns = ds.namespace().unwrap_or_default();
        let k = key(&ds.metadata);
        let uid = ds.uid().unwrap_or_default();
        let revisions = history::owned(&self.revisions, &ns, &uid);
        let template = ds
            .spec
            .as_ref()
            .map(|s| s.template.clone())
            .unwrap_or_default();
        let owner = revision::Owner {
            api_version: "apps/v1",
            kind: "DaemonSet",
            meta: &ds.metadata,
            template: &template,
            hash_label: POD_REVISION_LABEL,
            annotations: ds.metadata.annotations.clone(),
            collision_count: ds.status.as_ref().and_then(|s| s.collision_count),
        };
        let deleting = ds.metadata.deletion_timestamp.is_some();
        let (current, collisions) = match deleting {
            // A DaemonSet on its way out gets no new revision; its pods are the GC's.
            true => return None,
            false => history::current(&self.client, &owner, &revisions, &k).await?,
        };
        let hash = revision::hash_of(&current, POD_REVISION_LABEL);
        let mut plan = logic::sync(ds, nodes, pods, &hash, k8s_openapi::jiff::Timestamp::now());
        if collisions.is_some() {
            plan.status.collision_count = collisions;
        }

        let api: Api<Pod> = Api::namespaced(self.client.clone(), &ns);
        let me = ds.object_ref(&());
        let mut awaited = pod_ops::claim(
            &api,
            &ns,
            pods,
            &plan.adopt,
            &plan.release,
            &logic::owner_reference(ds),
            &k,
        )
        .await;
        for (pod, node) in &plan.failed {
            let message = logic::failed_pod_event(&ns, pod, node);
            tracing::warn!("{k}: {message}");
            self.events.warning(&me, "FailedDaemonPod", &message).await;
        }
        let failed = plan
            .failed
            .iter()
            .map(|(pod, node)| (pod.clone(), format!("it failed on node {node}")));
        for (name, why) in plan.delete.clone().into_iter().chain(failed) {
            match api.delete(&name, &DeleteParams::background()).await {
                Ok(_) => {
                    tracing::info!("{k}: deleted pod {name}: {why}");
                    self.events
                        .normal(&me, "SuccessfulDelete", &logic::deleted_event(&name))
                        .await;
                    awaited.push(Awaited::Gone(format!("{ns}/{name}")));
                }
                Err(e) if super::code(&e) == Some(404) => {}
                Err(e) => tracing::warn!("{k}: deleting pod {name} failed: {e}"),
            }
        }
        let pp = PostParams::default();
        let new_pods: Vec<Pod> = plan
            .create
            .iter()
            .map(|node| logic::new_pod(ds, node, &hash))
            .collect();
        let creates = new_pods.iter().map(|p| api.create(&pp, p));
        let results = futures::future::join_all(creates).await;
        for (node, result) in plan.create.iter().zip(results) {
            match result {
                Ok(p) => {
                    let name = p.name_any();
                    tracing::info!("{k}: created pod {name} for node {node}");
                    self.events
                        .normal(&me, "SuccessfulCreate", &logic::created_event(&name))
                        .await;
                    awaited.push(Awaited::AtLeast(format!("{ns}/{name}"), rv(&p.metadata)));
                }
                Err(e) => {
                    let message = format!("Error creating: {e}");
                    tracing::warn!("{k}: {message}");
                    self.events.warning(&me, "FailedCreate", &message).await;
                }
            }
        }
        self.expectations.expect(&k, awaited);

        let live: HashSet<String> = pods
            .iter()
            .filter(|p| {
                ds.uid()
                    .is_some_and(|u| crate::controllers::owner::is_controlled_by(&p.metadata, &u))
            })
            .filter_map(|p| p.labels().get(POD_REVISION_LABEL))
            .map(|h| format!("{}-{h}", ds.name_any()))
            .collect();
        let limit = ds
            .spec
            .as_ref()
            .and_then(|s| s.revision_history_limit)
            .unwrap_or(revision::DEFAULT_HISTORY_LIMIT);
        history::prune(
            &self.client,
            &revisions,
            &live,
            &[current.name_any().as_str()],
            limit,
            &k,
        )
        .await;

        if ds.status.as_ref() != Some(&plan.status) {
            let mut updated = ds.clone();
            updated.status = Some(plan.status.clone());
            let sets: Api<DaemonSet> = Api::namespaced(self.client.clone(), &ns);
            if let Err(e) = sets
                .replace_status(&ds.name_any(), &PostParams::default(), &updated)
                .await
            {
                tracing::debug!("{k}: status not written (retried on the next change): {e}");
            }
        }
        plan.requeue_after
    }
}

impl super::Pass for Controller {
    async fn pass(&mut self) -> Option<i64> {
        self.pass_all().await
    }
}
