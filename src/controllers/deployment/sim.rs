//! A tiny world for scenario tests: applies plans like an apiserver would and stands in for
//! the ReplicaSet controller and kubelets by filling ReplicaSet status counts.

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, ReplicaSet, ReplicaSetStatus};

use super::util;
use super::{Action, DeploymentPlan, Event, owner_reference, sync};
use crate::controllers::fixtures::{at, rfc};

pub struct World {
    pub d: Deployment,
    pub rss: Vec<ReplicaSet>,
    /// Seconds since the fixture epoch; every step takes one.
    pub clock: i64,
    pub events: Vec<Event>,
    /// Images whose pods never become ready.
    pub broken: Vec<String>,
    /// Checked after every plan is applied, before the pods react.
    pub invariant: Option<fn(&World)>,
    uids: u32,
}

impl World {
    pub fn new(d: Deployment) -> Self {
        World {
            d,
            rss: Vec::new(),
            clock: 0,
            events: Vec::new(),
            broken: Vec::new(),
            invariant: None,
            uids: 0,
        }
    }

    /// A user edit of the spec, which bumps the generation as the apiserver does.
    pub fn edit(&mut self, f: impl FnOnce(&mut DeploymentSpec)) {
        f(self.d.spec.get_or_insert_with(Default::default));
        let generation = self.d.metadata.generation.unwrap_or(0);
        self.d.metadata.generation = Some(generation + 1);
    }

    pub fn image(&mut self, image: &str) {
        self.edit(|s| {
            let containers = &mut s
                .template
                .spec
                .get_or_insert_with(Default::default)
                .containers;
            containers[0].image = Some(image.to_owned());
        });
    }

    pub fn step(&mut self) -> DeploymentPlan {
        let plan = sync(&self.d, &self.rss, at(self.clock));
        self.apply(&plan);
        if let Some(check) = self.invariant {
            check(self);
        }
        self.pods_react();
        self.clock += 1;
        plan
    }

    /// Steps until a pass changes nothing; returns the plans taken.
    pub fn settle(&mut self) -> Vec<DeploymentPlan> {
        let mut plans = Vec::new();
        for _ in 0..200 {
            let before = (self.rss.clone(), self.d.clone());
            let plan = self.step();
            let quiet = plan.actions.is_empty() && before == (self.rss.clone(), self.d.clone());
            plans.push(plan);
            if quiet {
                return plans;
            }
        }
        panic!("no fixed point after 200 steps");
    }

    pub fn apply(&mut self, plan: &DeploymentPlan) {
        let uid = self.d.metadata.uid.clone().unwrap_or_default();
        for action in &plan.actions {
            match action {
                Action::AdoptReplicaSet(name) => {
                    let owner = owner_reference(&self.d);
                    let rs = self.rs_mut(name);
                    rs.metadata
                        .owner_references
                        .get_or_insert_with(Vec::new)
                        .push(owner);
                }
                Action::ReleaseReplicaSet(name) => {
                    let rs = self.rs_mut(name);
                    if let Some(refs) = rs.metadata.owner_references.as_mut() {
                        refs.retain(|r| r.uid != uid);
                    }
                }
                Action::CreateReplicaSet(rs) => {
                    let name = rs.metadata.name.clone().unwrap();
                    assert!(self.find(&name).is_none(), "created {name} twice");
                    self.uids += 1;
                    let mut rs = (**rs).clone();
                    rs.metadata.uid = Some(format!("rs-uid-{}", self.uids));
                    rs.metadata.creation_timestamp = Some(crate::controllers::fixtures::from(
                        serde_json::Value::String(rfc(self.clock)),
                    ));
                    rs.metadata.generation = Some(1);
                    self.rss.push(rs);
                }
                Action::UpdateReplicaSet(rs) => {
                    let name = rs.metadata.name.clone().unwrap();
                    let current = self.rs_mut(&name);
                    if current.spec != rs.spec {
                        current.metadata.generation =
                            Some(current.metadata.generation.unwrap_or(0) + 1);
                    }
                    current.spec = rs.spec.clone();
                    current.metadata.annotations = rs.metadata.annotations.clone();
                }
                Action::DeleteReplicaSet(name) => {
                    self.rss
                        .retain(|rs| rs.metadata.name.as_deref() != Some(name.as_str()));
                }
                Action::UpdateDeployment(d) => {
                    self.d.metadata.annotations = d.metadata.annotations.clone();
                }
                Action::UpdateStatus(st) => self.d.status = Some((**st).clone()),
            }
        }
        self.events.extend(plan.events.iter().cloned());
    }

    /// Pods follow their ReplicaSet's size at once; pods that existed a step ago are ready
    /// and available unless their image is broken.
    fn pods_react(&mut self) {
        for rs in &mut self.rss {
            let image = rs
                .spec
                .as_ref()
                .and_then(|s| s.template.as_ref())
                .and_then(|t| t.spec.as_ref())
                .and_then(|s| s.containers.first())
                .and_then(|c| c.image.clone())
                .unwrap_or_default();
            let want = util::rs_replicas(rs);
            let before = util::rs_status_replicas(rs);
            let up = if self.broken.contains(&image) {
                0
            } else {
                want.min(before)
            };
            let nz = |n: i32| (n > 0).then_some(n);
            rs.status = Some(ReplicaSetStatus {
                replicas: want,
                fully_labeled_replicas: nz(want),
                ready_replicas: nz(up),
                available_replicas: nz(up),
                observed_generation: rs.metadata.generation,
                conditions: rs.status.as_ref().and_then(|s| s.conditions.clone()),
                terminating_replicas: None,
            });
        }
    }

    pub fn find(&self, name: &str) -> Option<&ReplicaSet> {
        self.rss
            .iter()
            .find(|rs| rs.metadata.name.as_deref() == Some(name))
    }

    fn rs_mut(&mut self, name: &str) -> &mut ReplicaSet {
        self.rss
            .iter_mut()
            .find(|rs| rs.metadata.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no replica set {name}"))
    }

    /// The ReplicaSet running `image`.
    pub fn rs_for(&self, image: &str) -> &ReplicaSet {
        self.rss
            .iter()
            .find(|rs| {
                rs.spec
                    .as_ref()
                    .and_then(|s| s.template.as_ref())
                    .and_then(|t| t.spec.as_ref())
                    .and_then(|s| s.containers.first())
                    .and_then(|c| c.image.as_deref())
                    == Some(image)
            })
            .unwrap_or_else(|| panic!("no replica set for {image}"))
    }

    pub fn messages(&self) -> Vec<String> {
        self.events.iter().map(|e| e.message.clone()).collect()
    }
}

pub fn name(rs: &ReplicaSet) -> String {
    rs.metadata.name.clone().unwrap_or_default()
}

pub fn size(rs: &ReplicaSet) -> i32 {
    util::rs_replicas(rs)
}

pub fn annotation(rs: &ReplicaSet, key: &str) -> Option<String> {
    util::annotation(rs, key).map(str::to_owned)
}
