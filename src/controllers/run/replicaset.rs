//! The ReplicaSet controller at work: keeps each ReplicaSet's pods at its replica count.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, PostParams};
use kube::runtime::reflector::Store;
use kube::{Api, Resource, ResourceExt};

use super::{key, sooner};
use crate::agent::events::Recorder;
use crate::controllers::expectations::{Awaited, Expectations, rv};
use crate::controllers::replicaset as logic;

pub struct Controller {
    pub client: kube::Client,
    pub rss: Store<ReplicaSet>,
    pub pods: Store<Pod>,
    pub events: Arc<Recorder>,
    expectations: Expectations,
    /// The last failed pod creation of each ReplicaSet (by uid), for its ReplicaFailure.
    create_errors: HashMap<String, String>,
}

impl Controller {
    pub fn new(
        client: kube::Client,
        rss: Store<ReplicaSet>,
        pods: Store<Pod>,
        events: Arc<Recorder>,
    ) -> Controller {
        Controller {
            client,
            rss,
            pods,
            events,
            expectations: Expectations::default(),
            create_errors: HashMap::new(),
        }
    }

    /// One pass over every ReplicaSet; the seconds until one is due again, if any.
    pub async fn pass_all(&mut self) -> Option<i64> {
        let by_ns = super::ByNamespace::of(&self.pods);
        let rss = self.rss.state();
        self.expectations
            .retain(|k| rss.iter().any(|rs| key(&rs.metadata) == k));
        let mut due = None;
        for rs in rss {
            let k = key(&rs.metadata);
            let pods = &self.pods;
            if !self
                .expectations
                .satisfied(&k, |pk| super::version_in(pods, pk))
            {
                continue;
            }
            let ns_pods = by_ns.shared(&rs.namespace().unwrap_or_default());
            due = sooner(due, self.sync(&rs, ns_pods).await);
        }
        due
    }

    async fn sync(&mut self, rs: &ReplicaSet, pods: &[Arc<Pod>]) -> Option<i64> {
        let uid = rs.uid().unwrap_or_default();
        let now = k8s_openapi::jiff::Timestamp::now();
        let plan = logic::sync(
            rs,
            pods,
            now,
            self.create_errors.get(&uid).map(String::as_str),
        );
        let ns = rs.namespace().unwrap_or_default();
        let k = key(&rs.metadata);
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &ns);
        let me = rs.object_ref(&());
        let mut awaited = super::pod_ops::claim(
            &api,
            &ns,
            pods,
            &plan.adopt,
            &plan.release,
            &logic::owner_reference(rs),
            &k,
        )
        .await;
        if plan.create > 0 {
            let template = logic::new_pod(rs);
            let pp = PostParams::default();
            let mut failed = None;
            'batches: for batch in logic::slow_start_batches(plan.create) {
                let creates = (0..batch).map(|_| api.create(&pp, &template));
                for result in futures::future::join_all(creates).await {
                    match result {
                        Ok(p) => {
                            let name = p.name_any();
                            let (reason, message) = logic::created_event(&name);
                            tracing::info!(replicaset = %k, "{message}");
                            self.events.normal(&me, reason, &message).await;
                            awaited.push(Awaited::AtLeast(format!("{ns}/{name}"), rv(&p.metadata)));
                        }
                        Err(e) => failed = Some(e.to_string()),
                    }
                }
                if failed.is_some() {
                    break 'batches;
                }
            }
            match failed {
                Some(error) => {
                    let (reason, message) = logic::failed_create_event(&error);
                    tracing::warn!(replicaset = %k, "{message}");
                    self.events.warning(&me, reason, &message).await;
                    self.create_errors.insert(uid.clone(), error);
                }
                None => {
                    self.create_errors.remove(&uid);
                }
            }
        }
        for name in &plan.delete {
            match api.delete(name, &DeleteParams::default()).await {
                Ok(_) => {
                    let (reason, message) = logic::deleted_event(name);
                    tracing::info!(replicaset = %k, "{message}");
                    self.events.normal(&me, reason, &message).await;
                    awaited.push(Awaited::Gone(format!("{ns}/{name}")));
                }
                Err(e) if super::code(&e) == Some(404) => {}
                Err(e) => tracing::warn!(replicaset = %k, pod = %name, "deleting failed: {e}"),
            }
        }
        self.expectations.expect(&k, awaited);
        if rs.status.as_ref() != Some(&plan.status) {
            let mut updated = rs.clone();
            updated.status = Some(plan.status.clone());
            let rss: Api<ReplicaSet> = Api::namespaced(self.client.clone(), &ns);
            if let Err(e) = rss
                .replace_status(&rs.name_any(), &PostParams::default(), &updated)
                .await
            {
                tracing::debug!(replicaset = %k, "status not written (retried on the next change): {e}");
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
