//! Deployment controller decisions (upstream pkg/controller/deployment): claim ReplicaSets,
//! create the one for the current template, move replicas between ReplicaSets by the
//! strategy, trim history and report status.
//!
//! One [`sync`] is one upstream `syncDeployment`: it returns every write upstream would make
//! in that pass, in order. Later steps of the same pass already see the effect of earlier
//! ones (a ReplicaSet scaled up is counted at its new size), as upstream works on the objects
//! its own writes returned. The caller applies the actions in order, stops at the first
//! failure, and syncs again on the next watch event or after `requeue_after`.

mod annotations;
mod claim;
mod cleanup;
mod conditions;
mod newrs;
mod recreate;
mod rolling;
mod scale;
mod status;
pub mod util;

#[cfg(test)]
mod sim;
#[cfg(test)]
mod tests;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus, ReplicaSet};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use k8s_openapi::jiff::Timestamp;

pub use crate::controllers::hash::{HASH_LABEL, equal_ignore_hash, pod_template_hash};
pub use util::{
    CHANGE_CAUSE, DESIRED_REPLICAS, LAST_APPLIED, MAX_REPLICAS, REVISION, REVISION_HISTORY,
};

use crate::controllers::owner;
use crate::kinds::labels;

/// One write, to be applied in plan order.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Add [`owner_reference`] to this orphan ReplicaSet.
    AdoptReplicaSet(String),
    /// Remove the reference with the deployment's uid from this ReplicaSet.
    ReleaseReplicaSet(String),
    /// Create this ReplicaSet (its name is fixed, so a retry cannot duplicate it).
    CreateReplicaSet(Box<ReplicaSet>),
    /// Make the ReplicaSet look like this: `spec.replicas`, `spec.minReadySeconds` and
    /// `metadata.annotations` are what change. Carries the resourceVersion it was read at.
    UpdateReplicaSet(Box<ReplicaSet>),
    /// Delete the ReplicaSet of this name (history beyond revisionHistoryLimit).
    DeleteReplicaSet(String),
    /// Write the deployment's `metadata.annotations` (its revision) as given here.
    UpdateDeployment(Box<Deployment>),
    /// Write the deployment's status subresource.
    UpdateStatus(Box<DeploymentStatus>),
}

/// Event type, as the Event API spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Normal,
    Warning,
}

/// An event to record on the deployment, worded as upstream does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub type_: EventType,
    pub reason: String,
    pub message: String,
}

/// Everything one sync asks for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeploymentPlan {
    pub actions: Vec<Action>,
    /// To record once the actions succeeded (upstream records each after its write).
    pub events: Vec<Event>,
    /// Sync again after this many seconds even without a watch event: the progress
    /// deadline would pass by then.
    pub requeue_after: Option<i64>,
}

/// One pass of the controller over `d`. `rss` are all ReplicaSets of the namespace: owned
/// ones are found by controller reference, orphans the selector matches are adopted, owned
/// ones it no longer matches are released, and an unowned one holding the name a new
/// ReplicaSet needs is a hash collision.
pub fn sync(d: &Deployment, rss: &[ReplicaSet], now: Timestamp) -> DeploymentPlan {
    let mut ctx = Ctx::new(d, rss, now);
    if labels::is_empty(&d.spec.clone().unwrap_or_default().selector) {
        // Upstream refuses: such a deployment would adopt every ReplicaSet in the namespace.
        ctx.event(
            EventType::Warning,
            "SelectingAll",
            "This deployment is selecting all pods. A non-empty selector is required.".into(),
        );
        let mut st = ctx.status().clone();
        if st.observed_generation.unwrap_or(0) < d.metadata.generation.unwrap_or(0) {
            st.observed_generation = d.metadata.generation;
            ctx.finish_status(st);
        }
        return ctx.plan;
    }
    claim::claim(&mut ctx);
    // A halt means upstream would have returned an error here; the writes so far stand.
    let _ = run(&mut ctx);
    ctx.plan
}

fn run(ctx: &mut Ctx<'_>) -> Result<(), Halt> {
    if ctx.d.metadata.deletion_timestamp.is_some() {
        let (new, olds) = newrs::get_all(ctx, false)?;
        status::sync_deployment_status(ctx, new, &olds);
        return Ok(());
    }
    status::check_paused_conditions(ctx);
    if util::paused(&ctx.d) {
        return scale::sync(ctx);
    }
    let (new, olds) = newrs::get_all(ctx, false)?;
    if scale::is_scaling_event(ctx, new, &olds) {
        return scale::sync(ctx);
    }
    match util::strategy(&ctx.d) {
        util::Strategy::Recreate => recreate::rollout(ctx),
        util::Strategy::RollingUpdate => rolling::rollout(ctx),
        // Validation admits no other type; upstream errors and writes nothing more.
        util::Strategy::Unknown => Ok(()),
    }
}

/// The controller reference a ReplicaSet of `d` carries.
pub fn owner_reference(d: &Deployment) -> OwnerReference {
    owner::controller_ref("apps/v1", "Deployment", &d.metadata)
}

/// Whether the rollout is done as `kubectl rollout status` sees it: the current generation
/// observed, and all desired replicas updated and available with no old ones left.
pub fn is_complete(d: &Deployment) -> bool {
    d.status
        .as_ref()
        .is_some_and(|st| util::deployment_complete(d, st))
}

/// What to write when the caller's CreateReplicaSet failed with `error`: upstream marks the
/// deployment Progressing=False (ReplicaSetCreateError) and records a warning.
pub fn create_failed(d: &Deployment, rs_name: &str, error: &str, now: Timestamp) -> DeploymentPlan {
    let mut ctx = Ctx::new(d, &[], now);
    let message = format!("Failed to create new replica set \"{rs_name}\": {error}");
    if util::progress_deadline(d).is_some() {
        let mut st = ctx.status().clone();
        conditions::set(
            &mut st,
            conditions::new(
                conditions::PROGRESSING,
                "False",
                "ReplicaSetCreateError",
                message.clone(),
                now,
            ),
        );
        ctx.finish_status(st);
    }
    ctx.event(EventType::Warning, "ReplicaSetCreateError", message);
    ctx.plan
}

/// Upstream would stop this pass with an error; the caller resyncs on the next event.
struct Halt;

/// The working state of one pass: the deployment and its ReplicaSets as the writes made so
/// far leave them, and the plan collecting those writes.
struct Ctx<'a> {
    input: &'a Deployment,
    /// All ReplicaSets of the namespace, for name collisions.
    namespace_rss: &'a [ReplicaSet],
    d: Deployment,
    /// The ReplicaSets this deployment owns, as updated by this pass.
    rss: Vec<ReplicaSet>,
    now: Timestamp,
    plan: DeploymentPlan,
}

impl<'a> Ctx<'a> {
    fn new(d: &'a Deployment, namespace_rss: &'a [ReplicaSet], now: Timestamp) -> Self {
        Ctx {
            input: d,
            namespace_rss,
            d: d.clone(),
            rss: Vec::new(),
            now,
            plan: DeploymentPlan::default(),
        }
    }

    fn status(&mut self) -> &mut DeploymentStatus {
        self.d.status.get_or_insert_with(DeploymentStatus::default)
    }

    fn event(&mut self, type_: EventType, reason: &str, message: String) {
        self.plan.events.push(Event {
            type_,
            reason: reason.to_owned(),
            message,
        });
    }

    fn rs_name(&self, i: usize) -> String {
        self.rss[i].metadata.name.clone().unwrap_or_default()
    }

    /// Records the write of `rss[i]`, folding it into an earlier write of the same object in
    /// this plan so the caller never writes one object twice with the same resourceVersion.
    fn write_rs(&mut self, i: usize) {
        let rs = self.rss[i].clone();
        let earlier = self.plan.actions.iter_mut().find_map(|a| match a {
            Action::CreateReplicaSet(x) | Action::UpdateReplicaSet(x)
                if x.metadata.name == rs.metadata.name =>
            {
                Some(x)
            }
            _ => None,
        });
        match earlier {
            Some(x) => **x = rs,
            None => self
                .plan
                .actions
                .push(Action::UpdateReplicaSet(Box::new(rs))),
        }
    }

    /// Whether this plan already writes the ReplicaSet of `name`.
    fn writes_rs(&self, name: &str) -> bool {
        self.plan.actions.iter().any(|a| match a {
            Action::CreateReplicaSet(x) | Action::UpdateReplicaSet(x) => {
                x.metadata.name.as_deref() == Some(name)
            }
            _ => false,
        })
    }

    /// Upstream SetDeploymentRevision.
    fn set_revision(&mut self, revision: String) {
        let annotations = self
            .d
            .metadata
            .annotations
            .get_or_insert_with(Default::default);
        if annotations.get(REVISION) == Some(&revision) {
            return;
        }
        annotations.insert(REVISION.to_owned(), revision);
        let mut updated = self.input.clone();
        updated.metadata.annotations = self.d.metadata.annotations.clone();
        self.plan
            .actions
            .retain(|a| !matches!(a, Action::UpdateDeployment(_)));
        self.plan
            .actions
            .push(Action::UpdateDeployment(Box::new(updated)));
    }

    /// Makes `st` the deployment's status, to be written if it differs from what was read.
    fn finish_status(&mut self, st: DeploymentStatus) {
        self.d.status = Some(st.clone());
        self.plan
            .actions
            .retain(|a| !matches!(a, Action::UpdateStatus(_)));
        let read = self.input.status.clone().unwrap_or_default();
        if status::normalised(&st) != status::normalised(&read) {
            self.plan.actions.push(Action::UpdateStatus(Box::new(st)));
        }
    }
}
