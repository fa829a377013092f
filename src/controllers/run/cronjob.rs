//! The CronJob controller at work: starts each CronJob's Jobs on schedule, deletes the ones
//! it replaces or no longer keeps, and writes the CronJob's status.

use std::collections::{HashMap, HashSet};

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::ObjectReference;
use kube::api::{DeleteParams, PostParams};
use kube::runtime::reflector::Store;
use kube::{Api, Resource, ResourceExt};

use super::{key, sooner, version_in};
use crate::agent::events::Recorder;
use crate::controllers::cronjob::{self as logic, Note, Removal};
use crate::controllers::expectations::{Awaited, Expectations, rv};
use crate::controllers::owner;

pub struct Controller {
    client: kube::Client,
    cronjobs: Store<CronJob>,
    jobs: Store<Job>,
    events: Recorder,
    expectations: Expectations,
    /// The notices each CronJob's last sync gave: a standing condition is logged and
    /// recorded when it appears, not on every pass.
    noticed: HashMap<String, HashSet<String>>,
}

/// What an expectation waits for: `job:ns/name` in the Job store, `cronjob:ns/name` in the
/// CronJob store.
fn version(cronjobs: &Store<CronJob>, jobs: &Store<Job>, awaited: &str) -> Option<u64> {
    match awaited.split_once(':') {
        Some(("job", k)) => version_in(jobs, k),
        Some(("cronjob", k)) => version_in(cronjobs, k),
        _ => None,
    }
}

/// An API error as an event message: the server's own words when it gave some.
fn error_text(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) if !s.message.is_empty() => s.message.clone(),
        e => e.to_string(),
    }
}

impl Controller {
    pub fn new(client: kube::Client, cronjobs: Store<CronJob>, jobs: Store<Job>) -> Controller {
        Controller {
            events: Recorder::new(client.clone(), "cronjob-controller"),
            client,
            cronjobs,
            jobs,
            expectations: Expectations::default(),
            noticed: HashMap::new(),
        }
    }

    pub async fn pass_all(&mut self) -> Option<i64> {
        let by_ns = super::ByNamespace::of(&self.jobs);
        let cronjobs = self.cronjobs.state();
        let keys: HashSet<String> = cronjobs.iter().map(|c| key(&c.metadata)).collect();
        self.expectations.retain(|k| keys.contains(k));
        self.noticed.retain(|k, _| keys.contains(k));
        let mut due = None;
        for cronjob in cronjobs {
            if cronjob.metadata.deletion_timestamp.is_some() {
                continue;
            }
            let k = key(&cronjob.metadata);
            let (cronjobs, jobs) = (&self.cronjobs, &self.jobs);
            if !self
                .expectations
                .satisfied(&k, |a| version(cronjobs, jobs, a))
            {
                // Look again soon: the awaited change may come without waking this loop.
                due = sooner(due, Some(1));
                continue;
            }
            let uid = cronjob.metadata.uid.clone().unwrap_or_default();
            let mine: Vec<Job> = by_ns
                .shared(&cronjob.namespace().unwrap_or_default())
                .iter()
                .filter(|j| owner::is_controlled_by(&j.metadata, &uid))
                .map(|j| (**j).clone())
                .collect();
            due = sooner(due, self.sync(&cronjob, &mine).await);
        }
        due
    }

    async fn record(&self, about: &ObjectReference, n: &Note) {
        match n.warning {
            true => self.events.warning(about, n.reason, &n.message).await,
            false => self.events.normal(about, n.reason, &n.message).await,
        }
    }

    /// Deletes a Job (its pods after it, in the background); whether it is gone.
    async fn delete(&self, api: &Api<Job>, k: &str, me: &ObjectReference, r: &Removal) -> bool {
        match api.delete(&r.name, &DeleteParams::background()).await {
            Ok(_) => {
                tracing::info!("{k}: {}", r.log);
                let message = format!("Deleted job {}", r.name);
                self.events.normal(me, "SuccessfulDelete", &message).await;
                true
            }
            Err(e) if super::code(&e) == Some(404) => true,
            Err(e) => {
                tracing::warn!("{k}: deleting job {} failed: {e}", r.name);
                let message = format!("Deleted job: {}", error_text(&e));
                self.events.warning(me, "FailedDelete", &message).await;
                false
            }
        }
    }

    async fn sync(&mut self, cronjob: &CronJob, jobs: &[Job]) -> Option<i64> {
        let plan = logic::sync(cronjob, jobs, k8s_openapi::jiff::Timestamp::now());
        let ns = cronjob.namespace().unwrap_or_default();
        let k = key(&cronjob.metadata);
        let me = cronjob.object_ref(&());
        let api: Api<Job> = Api::namespaced(self.client.clone(), &ns);
        let mut awaited = Vec::new();
        let mut status = plan.status.clone();

        // Standing conditions: said when they appear (or their message changes).
        let before = self.noticed.remove(&k).unwrap_or_default();
        let mut now_noticed = HashSet::new();
        for n in &plan.notices {
            let id = format!("{}|{}", n.reason, n.log);
            if !before.contains(&id) {
                match n.warning {
                    true => tracing::warn!("{k}: {}", n.log),
                    false => tracing::info!("{k}: {}", n.log),
                }
                self.record(&me, n).await;
            }
            now_noticed.insert(id);
        }
        if !now_noticed.is_empty() {
            self.noticed.insert(k.clone(), now_noticed);
        }

        for r in &plan.cleanup {
            if self.delete(&api, &k, &me, r).await {
                awaited.push(Awaited::Gone(format!("job:{ns}/{}", r.name)));
            }
        }
        let mut replaced = true;
        for r in &plan.replace {
            if self.delete(&api, &k, &me, r).await {
                logic::forget(&mut status, &r.uid);
                awaited.push(Awaited::Gone(format!("job:{ns}/{}", r.name)));
            } else {
                replaced = false;
            }
        }
        if let Some(start) = plan.create.as_ref().filter(|_| replaced) {
            let name = start.job.name_any();
            let scheduled = start.scheduled.timestamp();
            match api.create(&PostParams::default(), &start.job).await {
                Ok(job) => {
                    tracing::info!("{k}: created job {name} for {}", start.at);
                    logic::started(&mut status, &job, scheduled);
                    let message = format!("Created job {name}");
                    self.events.normal(&me, "SuccessfulCreate", &message).await;
                    awaited.push(Awaited::AtLeast(
                        format!("job:{ns}/{name}"),
                        rv(&job.metadata),
                    ));
                }
                // Created before and not seen yet: ours counts as this time's Job, someone
                // else's is left to them.
                Err(e) if super::code(&e) == Some(409) => match api.get(&name).await {
                    Ok(job)
                        if owner::is_controlled_by(
                            &job.metadata,
                            me.uid.as_deref().unwrap_or_default(),
                        ) =>
                    {
                        tracing::info!(
                            "{k}: job {name} already exists: counted as the run of {}",
                            start.at
                        );
                        logic::started(&mut status, &job, scheduled);
                    }
                    Ok(_) => tracing::warn!(
                        "{k}: job {name} already exists and is not this cronjob's: the run of {} is skipped",
                        start.at
                    ),
                    Err(e) => {
                        tracing::warn!("{k}: job {name} already exists but reading it failed: {e}")
                    }
                },
                Err(e) => {
                    tracing::warn!("{k}: creating job {name} failed: {e}");
                    let message = format!("Error creating job: {}", error_text(&e));
                    self.events.warning(&me, "FailedCreate", &message).await;
                }
            }
        }

        if cronjob.status.clone().unwrap_or_default() != status {
            let mut updated = cronjob.clone();
            updated.status = Some(status);
            let cronjobs: Api<CronJob> = Api::namespaced(self.client.clone(), &ns);
            match cronjobs
                .replace_status(&cronjob.name_any(), &PostParams::default(), &updated)
                .await
            {
                Ok(written) => {
                    awaited.push(Awaited::AtLeast(
                        format!("cronjob:{k}"),
                        rv(&written.metadata),
                    ));
                    for line in &plan.logs {
                        tracing::info!("{k}: {line}");
                    }
                    for n in &plan.events {
                        tracing::info!("{k}: {}", n.log);
                        self.record(&me, n).await;
                    }
                }
                Err(e) => {
                    tracing::debug!("{k}: status not written (retried on the next pass): {e}")
                }
            }
        }
        self.expectations.expect(&k, awaited);
        plan.requeue_after
    }
}

impl super::Pass for Controller {
    async fn pass(&mut self) -> Option<i64> {
        self.pass_all().await
    }
}
