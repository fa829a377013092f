//! The Deployment controller at work: rolls each Deployment's ReplicaSets toward its
//! template, as its pure sync plans it.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::reflector::Store;
use kube::{Api, Resource, ResourceExt};
use serde_json::json;

use super::{key, sooner};
use crate::agent::events::Recorder;
use crate::controllers::deployment::{self as logic, Action, DeploymentPlan, EventType};
use crate::controllers::expectations::{Awaited, Expectations, rv};

pub struct Controller {
    pub client: kube::Client,
    pub deployments: Store<Deployment>,
    pub rss: Store<ReplicaSet>,
    pub events: Arc<Recorder>,
    expectations: Expectations,
}

impl Controller {
    pub fn new(
        client: kube::Client,
        deployments: Store<Deployment>,
        rss: Store<ReplicaSet>,
        events: Arc<Recorder>,
    ) -> Controller {
        Controller {
            client,
            deployments,
            rss,
            events,
            expectations: Expectations::default(),
        }
    }

    /// One pass over every Deployment; the seconds until one is due again, if any.
    pub async fn pass_all(&mut self) -> Option<i64> {
        let deployments = self.deployments.state();
        let all_rss = self.rss.state();
        self.expectations
            .retain(|k| deployments.iter().any(|d| key(&d.metadata) == k));
        let mut due = None;
        for d in deployments {
            let k = key(&d.metadata);
            let rss = &self.rss;
            if !self
                .expectations
                .satisfied(&k, |rk| super::version_in(rss, rk))
            {
                continue;
            }
            let ns = d.namespace();
            let in_ns: Vec<ReplicaSet> = all_rss
                .iter()
                .filter(|r| r.namespace() == ns)
                .map(|r| (**r).clone())
                .collect();
            let plan = logic::sync(&d, &in_ns, k8s_openapi::jiff::Timestamp::now());
            due = sooner(due, plan.requeue_after);
            self.apply(&d, plan).await;
        }
        due
    }

    /// Writes a plan's actions in order, stopping at the first failure (the next pass plans
    /// again from what is then there), then records its events.
    async fn apply(&mut self, d: &Deployment, plan: DeploymentPlan) {
        let ns = d.namespace().unwrap_or_default();
        let k = key(&d.metadata);
        let rss: Api<ReplicaSet> = Api::namespaced(self.client.clone(), &ns);
        let deployments: Api<Deployment> = Api::namespaced(self.client.clone(), &ns);
        let mut awaited = Vec::new();
        let owner = logic::owner_reference(d);
        let at =
            |r: &ReplicaSet| Awaited::AtLeast(format!("{ns}/{}", r.name_any()), rv(&r.metadata));
        let mut complete = true;
        // Each write of the deployment returns its new resourceVersion, which the next one
        // (its status after its revision annotation) must carry.
        let mut current = d.clone();
        for action in plan.actions {
            let result = match &action {
                Action::AdoptReplicaSet(name) => {
                    let patch = json!({"metadata": {"ownerReferences": [owner]}});
                    rss.patch(name, &PatchParams::default(), &Patch::Strategic(&patch))
                        .await
                        .map(|r| awaited.push(at(&r)))
                }
                Action::ReleaseReplicaSet(name) => {
                    let patch = json!({"metadata": {"ownerReferences": [{"$patch": "delete", "uid": owner.uid}]}});
                    rss.patch(name, &PatchParams::default(), &Patch::Strategic(&patch))
                        .await
                        .map(|r| awaited.push(at(&r)))
                }
                Action::CreateReplicaSet(rs) => {
                    match rss.create(&PostParams::default(), rs).await {
                        Ok(r) => {
                            awaited.push(at(&r));
                            Ok(())
                        }
                        Err(e) => {
                            let failed = logic::create_failed(
                                d,
                                &rs.name_any(),
                                &e.to_string(),
                                k8s_openapi::jiff::Timestamp::now(),
                            );
                            // Its status write and warning, then nothing more this pass.
                            Box::pin(self.apply(d, failed)).await;
                            Err(e)
                        }
                    }
                }
                Action::UpdateReplicaSet(rs) => rss
                    .replace(&rs.name_any(), &PostParams::default(), rs)
                    .await
                    .map(|r| awaited.push(at(&r))),
                Action::DeleteReplicaSet(name) => {
                    match rss.delete(name, &DeleteParams::background()).await {
                        Ok(_) => {
                            tracing::info!(deployment = %k, "deleted old replica set {name} (revision history limit)");
                            awaited.push(Awaited::Gone(format!("{ns}/{name}")));
                            Ok(())
                        }
                        Err(e) => Err(e),
                    }
                }
                Action::UpdateDeployment(updated) => deployments
                    .replace(&d.name_any(), &PostParams::default(), updated)
                    .await
                    .map(|written| current = written),
                Action::UpdateStatus(status) => {
                    let mut updated = current.clone();
                    updated.status = Some((**status).clone());
                    deployments
                        .replace_status(&d.name_any(), &PostParams::default(), &updated)
                        .await
                        .map(|written| current = written)
                }
            };
            if let Err(e) = result {
                // A conflict is a lost race, planned again at once; anything else is news.
                if super::code(&e) == Some(409) {
                    tracing::debug!(deployment = %k, "write conflicted; planning again: {e}");
                } else {
                    tracing::warn!(deployment = %k, "write failed; planning again on the next change: {e}");
                }
                complete = false;
                break;
            }
        }
        self.expectations.expect(&k, awaited);
        if !complete {
            return;
        }
        let me = d.object_ref(&());
        for e in plan.events {
            tracing::info!(deployment = %k, reason = %e.reason, "{}", e.message);
            match e.type_ {
                EventType::Normal => self.events.normal(&me, &e.reason, &e.message).await,
                EventType::Warning => self.events.warning(&me, &e.reason, &e.message).await,
            }
        }
    }
}

impl super::Pass for Controller {
    async fn pass(&mut self) -> Option<i64> {
        self.pass_all().await
    }
}
