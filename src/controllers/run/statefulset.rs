//! The StatefulSet controller at work: ordered pods with stable names, and the
//! ControllerRevisions that make `kubectl rollout history|undo` work on StatefulSets.

use std::collections::HashSet;

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, PostParams};
use kube::runtime::reflector::Store;
use kube::{Api, Resource, ResourceExt};

use super::{history, key, pod_ops, sooner};
use crate::agent::events::Recorder;
use crate::controllers::expectations::{Awaited, Expectations, rv};
use crate::controllers::revision::{self, HISTORY_HASH_LABEL, POD_REVISION_LABEL};
use crate::controllers::statefulset::{self as logic, Revision};

pub struct Controller {
    client: kube::Client,
    sets: Store<StatefulSet>,
    pods: Store<Pod>,
    revisions: Store<ControllerRevision>,
    events: Recorder,
    expectations: Expectations,
}

impl Controller {
    pub fn new(
        client: kube::Client,
        sets: Store<StatefulSet>,
        pods: Store<Pod>,
        revisions: Store<ControllerRevision>,
    ) -> Controller {
        Controller {
            events: Recorder::new(client.clone(), "statefulset-controller"),
            client,
            sets,
            pods,
            revisions,
            expectations: Expectations::default(),
        }
    }

    pub async fn pass_all(&mut self) -> Option<i64> {
        let mut by_ns = super::ByNamespace::of(&self.pods);
        let sets = self.sets.state();
        self.expectations
            .retain(|k| sets.iter().any(|s| key(&s.metadata) == k));
        let mut due = None;
        for set in sets {
            let k = key(&set.metadata);
            let pods = &self.pods;
            if !self
                .expectations
                .satisfied(&k, |pk| super::version_in(pods, pk))
                || set.metadata.deletion_timestamp.is_some()
            {
                continue;
            }
            let ns_pods = by_ns.owned(&set.namespace().unwrap_or_default());
            due = sooner(due, self.sync(&set, ns_pods).await);
        }
        due
    }

    async fn sync(&mut self, set: &StatefulSet, pods: &[Pod]) -> Option<i64> {
        let ns = set.namespace().unwrap_or_default();
        let k = key(&set.metadata);
        let set_name = set.name_any();
        let uid = set.uid().unwrap_or_default();
        let revisions = history::owned(&self.revisions, &ns, &uid);
        let template = set
            .spec
            .as_ref()
            .map(|s| s.template.clone())
            .unwrap_or_default();
        let owner = revision::Owner {
            api_version: "apps/v1",
            kind: "StatefulSet",
            meta: &set.metadata,
            template: &template,
            hash_label: HISTORY_HASH_LABEL,
            annotations: None,
            collision_count: set.status.as_ref().and_then(|s| s.collision_count),
        };
        let (update_revision, collisions) =
            history::current(&self.client, &owner, &revisions, &k).await?;
        let update = Revision {
            name: update_revision.name_any(),
            template: template.clone(),
        };
        // The revision pods roll from: the status's, while it still exists.
        let current = set
            .status
            .as_ref()
            .and_then(|s| s.current_revision.as_deref())
            .and_then(|name| {
                revisions
                    .iter()
                    .find(|r| r.metadata.name.as_deref() == Some(name))
            })
            .and_then(|r| {
                Some(Revision {
                    name: r.name_any(),
                    template: revision::template_of(r)?,
                })
            })
            .unwrap_or_else(|| update.clone());
        let mut plan = logic::sync(
            set,
            pods,
            &current,
            &update,
            k8s_openapi::jiff::Timestamp::now(),
        );
        if collisions.is_some() {
            plan.status.collision_count = collisions;
        }

        let api: Api<Pod> = Api::namespaced(self.client.clone(), &ns);
        let me = set.object_ref(&());
        let mut awaited = pod_ops::claim(
            &api,
            &ns,
            pods,
            &plan.adopt,
            &plan.release,
            &logic::owner_reference(set),
            &k,
        )
        .await;
        for (name, why) in &plan.delete {
            match api.delete(name, &DeleteParams::background()).await {
                Ok(_) => {
                    tracing::info!("{k}: deleted pod {name}: {why}");
                    self.events
                        .normal(
                            &me,
                            "SuccessfulDelete",
                            &logic::deleted_event(name, &set_name),
                        )
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
            .map(|(ordinal, revision)| logic::new_pod(set, *ordinal, revision))
            .collect();
        let creates = new_pods.iter().map(|p| api.create(&pp, p));
        let results = futures::future::join_all(creates).await;
        for ((ordinal, revision), result) in plan.create.iter().zip(results) {
            match result {
                Ok(p) => {
                    let name = p.name_any();
                    tracing::info!("{k}: created pod {name} at revision {}", revision.name);
                    self.events
                        .normal(
                            &me,
                            "SuccessfulCreate",
                            &logic::created_event(&name, &set_name),
                        )
                        .await;
                    awaited.push(Awaited::AtLeast(format!("{ns}/{name}"), rv(&p.metadata)));
                }
                // Still there from before (its deletion not yet seen): the next pass decides.
                Err(e) if super::code(&e) == Some(409) => {}
                Err(e) => {
                    let message = format!(
                        "create Pod {set_name}-{ordinal} in StatefulSet {set_name} failed error: {e}"
                    );
                    tracing::warn!("{k}: {message}");
                    self.events.warning(&me, "FailedCreate", &message).await;
                }
            }
        }
        self.expectations.expect(&k, awaited);

        let live: HashSet<String> = pods
            .iter()
            .filter(|p| crate::controllers::owner::is_controlled_by(&p.metadata, &uid))
            .filter_map(|p| p.labels().get(POD_REVISION_LABEL).cloned())
            .collect();
        let limit = set
            .spec
            .as_ref()
            .and_then(|s| s.revision_history_limit)
            .unwrap_or(revision::DEFAULT_HISTORY_LIMIT);
        history::prune(
            &self.client,
            &revisions,
            &live,
            &[current.name.as_str(), update.name.as_str()],
            limit,
            &k,
        )
        .await;

        if set.status.as_ref() != Some(&plan.status) {
            let mut updated = set.clone();
            updated.status = Some(plan.status.clone());
            let sets: Api<StatefulSet> = Api::namespaced(self.client.clone(), &ns);
            if let Err(e) = sets
                .replace_status(&set_name, &PostParams::default(), &updated)
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
