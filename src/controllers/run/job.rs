//! The Job controller at work: runs each Job's pods to completion or failure.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, PostParams};
use kube::runtime::reflector::Store;
use kube::{Api, Resource, ResourceExt};

use super::{key, sooner};
use crate::agent::events::Recorder;
use crate::controllers::expectations::{Awaited, Expectations, rv};
use crate::controllers::job as logic;

pub struct Controller {
    client: kube::Client,
    jobs: Store<Job>,
    pods: Store<Pod>,
    events: Recorder,
    expectations: Expectations,
}

impl Controller {
    pub fn new(client: kube::Client, jobs: Store<Job>, pods: Store<Pod>) -> Controller {
        Controller {
            events: Recorder::new(client.clone(), "job-controller"),
            client,
            jobs,
            pods,
            expectations: Expectations::default(),
        }
    }

    pub async fn pass_all(&mut self) -> Option<i64> {
        let mut by_ns = super::ByNamespace::of(&self.pods);
        let jobs = self.jobs.state();
        self.expectations
            .retain(|k| jobs.iter().any(|j| key(&j.metadata) == k));
        let mut due = None;
        for job in jobs {
            let k = key(&job.metadata);
            let pods = &self.pods;
            if !self
                .expectations
                .satisfied(&k, |pk| super::version_in(pods, pk))
                || job.metadata.deletion_timestamp.is_some()
            {
                continue;
            }
            let ns_pods = by_ns.owned(&job.namespace().unwrap_or_default());
            due = sooner(due, self.sync(&job, ns_pods).await);
        }
        due
    }

    async fn sync(&mut self, job: &Job, pods: &[Pod]) -> Option<i64> {
        let plan = logic::sync(job, pods, k8s_openapi::jiff::Timestamp::now());
        let ns = job.namespace().unwrap_or_default();
        let k = key(&job.metadata);
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &ns);
        let me = job.object_ref(&());
        let mut awaited = Vec::new();
        if plan.create > 0 {
            let template = logic::new_pod(job);
            let pp = PostParams::default();
            let creates = (0..plan.create).map(|_| api.create(&pp, &template));
            for result in futures::future::join_all(creates).await {
                match result {
                    Ok(p) => {
                        let message = format!("Created pod: {}", p.name_any());
                        tracing::info!(job = %k, "{message}");
                        self.events.normal(&me, "SuccessfulCreate", &message).await;
                        awaited.push(Awaited::AtLeast(
                            format!("{ns}/{}", p.name_any()),
                            rv(&p.metadata),
                        ));
                    }
                    Err(e) => {
                        let message = format!("Error creating: {e}");
                        tracing::warn!(job = %k, "{message}");
                        self.events.warning(&me, "FailedCreate", &message).await;
                    }
                }
            }
        }
        for name in &plan.delete {
            match api.delete(name, &DeleteParams::background()).await {
                Ok(_) => {
                    let message = format!("Deleted pod: {name}");
                    tracing::info!(job = %k, "{message}");
                    self.events.normal(&me, "SuccessfulDelete", &message).await;
                    awaited.push(Awaited::Gone(format!("{ns}/{name}")));
                }
                Err(e) if super::code(&e) == Some(404) => {}
                Err(e) => tracing::warn!(job = %k, pod = %name, "deleting failed: {e}"),
            }
        }
        self.expectations.expect(&k, awaited);
        if job.status.as_ref() != Some(&plan.status) {
            let mut updated = job.clone();
            updated.status = Some(plan.status.clone());
            let jobs: Api<Job> = Api::namespaced(self.client.clone(), &ns);
            match jobs
                .replace_status(&job.name_any(), &PostParams::default(), &updated)
                .await
            {
                Ok(_) => {
                    for (warning, reason, message) in &plan.events {
                        tracing::info!(job = %k, "{message}");
                        match warning {
                            true => self.events.warning(&me, reason, message).await,
                            false => self.events.normal(&me, reason, message).await,
                        }
                    }
                }
                Err(e) => {
                    tracing::debug!(job = %k, "status not written (retried on the next change): {e}")
                }
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
