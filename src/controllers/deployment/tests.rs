use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, ReplicaSet};
use serde_json::{Value, json};

use super::sim::{World, annotation, name, size};
use super::util;
use super::*;
use crate::controllers::fixtures::{at, from, merged, rfc};

fn deployment(replicas: i32, strategy: Value) -> Deployment {
    from(json!({
        "metadata": {"name": "web", "namespace": "default", "uid": "d-uid", "generation": 1,
            "annotations": {"kubernetes.io/change-cause": "first",
                            "kubectl.kubernetes.io/last-applied-configuration": "{}"}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}},
            "strategy": strategy, "progressDeadlineSeconds": 600, "revisionHistoryLimit": 10}
    }))
}

fn rolling(surge: Value, unavailable: Value) -> Value {
    json!({"type": "RollingUpdate",
           "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}})
}

fn default_rolling() -> Value {
    rolling(json!("25%"), json!("25%"))
}

fn condition(w: &World, type_: &str) -> DeploymentCondition {
    conditions::get(w.d.status.as_ref().unwrap(), type_)
        .cloned()
        .unwrap_or_else(|| panic!("no {type_} condition"))
}

fn reason(c: &DeploymentCondition) -> &str {
    c.reason.as_deref().unwrap_or_default()
}

fn creates(plans: &[DeploymentPlan]) -> usize {
    plans
        .iter()
        .flat_map(|p| &p.actions)
        .filter(|a| matches!(a, Action::CreateReplicaSet(_)))
        .count()
}

/// After every applied plan: no more pods than replicas + maxSurge, and no fewer available
/// than replicas - maxUnavailable (counting only pods their ReplicaSet still wants).
fn rolling_bounds(w: &World) {
    let want = util::replicas(&w.d);
    let total: i32 = w.rss.iter().map(util::rs_replicas).sum();
    let available: i32 = w
        .rss
        .iter()
        .map(|rs| util::rs_available(rs).min(util::rs_replicas(rs)))
        .sum();
    assert!(
        total <= want + util::max_surge(&w.d),
        "{total} pods at t={}",
        w.clock
    );
    assert!(
        available >= want - util::max_unavailable(&w.d),
        "{available} available at t={}",
        w.clock
    );
}

fn settled(d: Deployment) -> World {
    let mut w = World::new(d);
    w.settle();
    w.events.clear();
    w
}

#[test]
fn fresh_deployment_gets_one_replica_set() {
    let mut w = World::new(deployment(3, default_rolling()));
    let first = w.step();
    let Action::CreateReplicaSet(rs) = &first.actions[0] else {
        panic!("first action: {:?}", first.actions[0]);
    };
    let hash = pod_template_hash(&w.d.spec.as_ref().unwrap().template, None);
    assert_eq!(name(rs), format!("web-{hash}"));
    assert_eq!(size(rs), 3);
    assert_eq!(rs.metadata.labels.as_ref().unwrap()[HASH_LABEL], hash);
    let spec = rs.spec.as_ref().unwrap();
    assert_eq!(
        spec.selector.match_labels.as_ref().unwrap()[HASH_LABEL],
        hash
    );
    let template_labels = spec
        .template
        .as_ref()
        .unwrap()
        .metadata
        .as_ref()
        .unwrap()
        .labels
        .clone();
    assert_eq!(template_labels.unwrap()[HASH_LABEL], hash);
    assert_eq!(
        rs.metadata.owner_references.as_ref().unwrap()[0],
        owner_reference(&w.d)
    );
    assert_eq!(annotation(rs, REVISION).as_deref(), Some("1"));
    assert_eq!(annotation(rs, DESIRED_REPLICAS).as_deref(), Some("3"));
    assert_eq!(annotation(rs, MAX_REPLICAS).as_deref(), Some("4"));
    assert_eq!(annotation(rs, CHANGE_CAUSE).as_deref(), Some("first"));
    assert_eq!(annotation(rs, LAST_APPLIED), None);
    assert_eq!(
        first.events[0],
        Event {
            type_: EventType::Normal,
            reason: "ScalingReplicaSet".into(),
            message: format!("Scaled up replica set web-{hash} to 3"),
        }
    );
    assert!(matches!(&first.actions[1], Action::UpdateDeployment(d)
        if d.metadata.annotations.as_ref().unwrap()[REVISION] == "1"));
    let Some(Action::UpdateStatus(st)) = first.actions.last() else {
        panic!("no status write");
    };
    let progressing = conditions::get(st, conditions::PROGRESSING).unwrap();
    assert_eq!(reason(progressing), "NewReplicaSetCreated");
    assert_eq!(
        progressing.message.as_deref(),
        Some(format!("Created new replica set \"web-{hash}\"").as_str())
    );

    w.settle();
    assert_eq!(w.rss.len(), 1);
    let st = w.d.status.clone().unwrap();
    assert_eq!(
        (
            st.replicas,
            st.updated_replicas,
            st.ready_replicas,
            st.available_replicas
        ),
        (Some(3), Some(3), Some(3), Some(3))
    );
    assert_eq!(
        (st.unavailable_replicas, st.observed_generation),
        (None, Some(1))
    );
    assert!(is_complete(&w.d));
    let available = condition(&w, conditions::AVAILABLE);
    assert_eq!(
        (available.status.as_str(), reason(&available)),
        ("True", "MinimumReplicasAvailable")
    );
    assert_eq!(
        available.message.as_deref(),
        Some("Deployment has minimum availability.")
    );
    let progressing = condition(&w, conditions::PROGRESSING);
    assert_eq!(reason(&progressing), "NewReplicaSetAvailable");
    assert_eq!(
        progressing.message.as_deref(),
        Some(format!("ReplicaSet \"web-{hash}\" has successfully progressed.").as_str())
    );
    // Progressing stayed True throughout, so it never transitioned after the first pass.
    assert_eq!(progressing.last_transition_time.unwrap().0, at(0));

    let again = sync(&w.d, &w.rss, at(w.clock + 1000));
    assert_eq!(
        again,
        DeploymentPlan::default(),
        "a settled deployment needs nothing"
    );
}

#[test]
fn availability_is_reported_while_pods_start() {
    let mut w = World::new(deployment(4, default_rolling()));
    w.step();
    let available = condition(&w, conditions::AVAILABLE);
    assert_eq!(
        (available.status.as_str(), reason(&available)),
        ("False", "MinimumReplicasUnavailable")
    );
    assert_eq!(
        available.message.as_deref(),
        Some("Deployment does not have minimum availability.")
    );
    let progressing = w.step();
    assert!(progressing.requeue_after.is_some());
    assert_eq!(
        reason(&condition(&w, conditions::PROGRESSING)),
        "ReplicaSetUpdated"
    );
    w.settle();
    assert_eq!(condition(&w, conditions::AVAILABLE).status, "True");
}

fn roll_within_bounds(replicas: i32, strategy: Value) {
    let mut w = settled(deployment(replicas, strategy));
    w.invariant = Some(rolling_bounds);
    let old = name(w.rs_for("nginx:1"));
    w.image("nginx:2");
    let plans = w.settle();
    assert_eq!(creates(&plans), 1);
    assert_eq!(size(w.find(&old).unwrap()), 0);
    let new = w.rs_for("nginx:2");
    assert_eq!(size(new), replicas);
    assert_eq!(annotation(new, REVISION).as_deref(), Some("2"));
    assert_eq!(w.d.metadata.annotations.as_ref().unwrap()[REVISION], "2");
    assert!(is_complete(&w.d), "{:?}", w.d.status);
    assert!(
        w.messages()
            .iter()
            .any(|m| m.starts_with(&format!("Scaled down replica set {old} to 0 from ")))
    );
}

#[test]
fn image_change_rolls_within_surge_and_unavailability() {
    roll_within_bounds(10, default_rolling());
    roll_within_bounds(3, default_rolling());
    roll_within_bounds(5, rolling(json!(1), json!(0)));
    roll_within_bounds(5, rolling(json!(0), json!(1)));
    roll_within_bounds(1, rolling(json!(0), json!(1)));
    roll_within_bounds(7, rolling(json!("50%"), json!("100%")));
}

#[test]
fn rolling_steps_follow_upstream_arithmetic() {
    let mut w = settled(deployment(10, default_rolling()));
    let old = name(w.rs_for("nginx:1"));
    w.image("nginx:2");
    w.step();
    let new = name(w.rs_for("nginx:2"));
    // Surge of 3 on 10: the new ReplicaSet starts at 3; in the same pass, with 13 pods of
    // which 2 may be unavailable and 3 new ones are not yet available, old goes to 8.
    assert_eq!(
        w.messages(),
        vec![
            format!("Scaled up replica set {new} to 3"),
            format!("Scaled down replica set {old} to 8 from 10"),
        ]
    );
    w.step();
    assert_eq!(
        w.messages()[2],
        format!("Scaled up replica set {new} to 5 from 3")
    );
}

#[test]
fn recreate_stops_old_pods_before_starting_new_ones() {
    let mut w = settled(deployment(3, json!({"type": "Recreate"})));
    w.invariant = Some(|w: &World| {
        let old_running: i32 = w
            .rss
            .iter()
            .filter(|rs| name(rs) != name(w.rss.last().unwrap()))
            .map(util::rs_status_replicas)
            .sum();
        let newest = w.rss.last().unwrap();
        if w.rss.len() > 1 && size(newest) > 0 {
            assert_eq!(old_running, 0, "new pods while old ones run");
        }
    });
    let old = name(w.rs_for("nginx:1"));
    w.image("nginx:2");
    let first = w.step();
    assert_eq!(creates(std::slice::from_ref(&first)), 0);
    assert_eq!(
        w.messages(),
        vec![format!("Scaled down replica set {old} to 0 from 3")]
    );
    let second = w.step();
    assert_eq!(creates(std::slice::from_ref(&second)), 1);
    let new = name(w.rs_for("nginx:2"));
    assert_eq!(w.messages()[1], format!("Scaled up replica set {new} to 3"));
    w.settle();
    assert!(is_complete(&w.d));
    assert_eq!(condition(&w, conditions::AVAILABLE).status, "True");
}

#[test]
fn recreate_waits_for_old_pods_reported_by_the_replica_set() {
    let mut w = settled(deployment(2, json!({"type": "Recreate"})));
    w.image("nginx:2");
    w.step();
    // The old ReplicaSet's controller has not caught up: it still reports a pod.
    let old = w.rss.iter_mut().find(|rs| size(rs) == 0).unwrap();
    old.status.as_mut().unwrap().replicas = 1;
    let plan = sync(&w.d, &w.rss, at(w.clock));
    assert_eq!(creates(std::slice::from_ref(&plan)), 0);
}

#[test]
fn rollout_undo_reuses_the_old_replica_set() {
    let mut w = settled(deployment(3, default_rolling()));
    let v1 = name(w.rs_for("nginx:1"));
    w.image("nginx:2");
    w.settle();
    let v2 = name(w.rs_for("nginx:2"));
    // What `kubectl rollout undo` writes: the old template without the hash label.
    let mut template = w.find(&v1).unwrap().spec.clone().unwrap().template.unwrap();
    template
        .metadata
        .as_mut()
        .unwrap()
        .labels
        .as_mut()
        .unwrap()
        .remove(HASH_LABEL);
    w.edit(|s| s.template = template);
    let plans = w.settle();
    assert_eq!(creates(&plans), 0);
    assert_eq!(w.rss.len(), 2);
    let back = w.find(&v1).unwrap();
    assert_eq!(annotation(back, REVISION).as_deref(), Some("3"));
    assert_eq!(annotation(back, REVISION_HISTORY).as_deref(), Some("1"));
    assert_eq!(size(back), 3);
    assert_eq!(size(w.find(&v2).unwrap()), 0);
    assert_eq!(w.d.metadata.annotations.as_ref().unwrap()[REVISION], "3");
    assert!(is_complete(&w.d));
}

#[test]
fn revision_history_limit_deletes_the_oldest() {
    let mut d = deployment(2, default_rolling());
    d.spec.as_mut().unwrap().revision_history_limit = Some(2);
    let mut w = settled(d);
    let mut names = vec![name(w.rs_for("nginx:1"))];
    for v in 2..=5 {
        let image = format!("nginx:{v}");
        w.image(&image);
        w.settle();
        names.push(name(w.rs_for(&image)));
    }
    let left: Vec<String> = w.rss.iter().map(name).collect();
    assert_eq!(left.len(), 3, "{left:?}");
    for kept in &names[2..] {
        assert!(left.contains(kept), "{kept} missing from {left:?}");
    }
    let revisions: Vec<String> = w
        .rss
        .iter()
        .filter_map(|rs| annotation(rs, REVISION))
        .collect();
    assert!(
        revisions
            .iter()
            .all(|r| ["3", "4", "5"].contains(&r.as_str())),
        "{revisions:?}"
    );
}

#[test]
fn paused_deployment_only_scales() {
    let mut w = settled(deployment(3, default_rolling()));
    let v1 = name(w.rs_for("nginx:1"));
    w.edit(|s| s.paused = Some(true));
    w.step();
    let progressing = condition(&w, conditions::PROGRESSING);
    assert_eq!(
        (progressing.status.as_str(), reason(&progressing)),
        ("Unknown", "DeploymentPaused")
    );
    assert_eq!(progressing.message.as_deref(), Some("Deployment is paused"));

    w.image("nginx:2");
    let plans = w.settle();
    assert_eq!(creates(&plans), 0);
    assert_eq!(w.rss.len(), 1);
    assert_eq!(
        w.d.status.as_ref().unwrap().observed_generation,
        w.d.metadata.generation
    );

    w.edit(|s| s.replicas = Some(5));
    w.settle();
    assert_eq!(size(w.find(&v1).unwrap()), 5);
    assert_eq!(
        annotation(w.find(&v1).unwrap(), DESIRED_REPLICAS).as_deref(),
        Some("5")
    );
    assert!(
        w.messages()
            .contains(&format!("Scaled up replica set {v1} to 5 from 3"))
    );

    w.edit(|s| s.paused = Some(false));
    w.step();
    // Resumed, then in the same pass the new ReplicaSet restarts the progress clock.
    let progressing = condition(&w, conditions::PROGRESSING);
    assert_eq!(reason(&progressing), "NewReplicaSetCreated");
    assert_eq!(progressing.last_update_time.unwrap().0, at(w.clock - 1));
    w.settle();
    assert_eq!(size(w.rs_for("nginx:2")), 5);
    assert!(is_complete(&w.d));
}

#[test]
fn scaling_mid_rollout_is_proportional() {
    let mut w = settled(deployment(10, default_rolling()));
    w.broken.push("nginx:bad".into());
    let old = name(w.rs_for("nginx:1"));
    w.image("nginx:bad");
    w.settle();
    let new = name(w.rs_for("nginx:bad"));
    assert_eq!(
        (size(w.find(&old).unwrap()), size(w.find(&new).unwrap())),
        (8, 5)
    );
    w.events.clear();

    w.edit(|s| s.replicas = Some(20));
    w.step();
    // 12 more pods (20 + surge 5 - 13) shared by size: 8 → 15 and 5 → 10.
    assert_eq!(
        (size(w.find(&old).unwrap()), size(w.find(&new).unwrap())),
        (15, 10)
    );
    assert!(
        w.messages()
            .contains(&format!("Scaled up replica set {old} to 15 from 8"))
    );
    assert!(
        w.messages()
            .contains(&format!("Scaled up replica set {new} to 10 from 5"))
    );

    w.edit(|s| s.replicas = Some(4));
    w.step();
    // Down to 4 + surge 1: the larger (older on ties) ReplicaSet gives up the most.
    let sizes = (size(w.find(&old).unwrap()), size(w.find(&new).unwrap()));
    assert_eq!(sizes.0 + sizes.1, 5, "{sizes:?}");
    assert!(sizes.0 >= sizes.1, "{sizes:?}");
}

#[test]
fn stuck_rollout_exceeds_its_progress_deadline() {
    let mut d = deployment(4, default_rolling());
    d.spec.as_mut().unwrap().progress_deadline_seconds = Some(30);
    let mut w = settled(d);
    w.broken.push("nginx:bad".into());
    w.image("nginx:bad");
    let plans = w.settle();
    let new = name(w.rs_for("nginx:bad"));
    assert_eq!(
        reason(&condition(&w, conditions::PROGRESSING)),
        "ReplicaSetUpdated"
    );
    let wait = plans
        .last()
        .unwrap()
        .requeue_after
        .expect("a progress check is due");
    assert!(wait > 0 && wait <= 31, "{wait}");

    w.clock += wait;
    w.step();
    let progressing = condition(&w, conditions::PROGRESSING);
    assert_eq!(
        (progressing.status.as_str(), reason(&progressing)),
        ("False", "ProgressDeadlineExceeded")
    );
    assert_eq!(
        progressing.message.as_deref(),
        Some(format!("ReplicaSet \"{new}\" has timed out progressing.").as_str())
    );
    assert!(!is_complete(&w.d));
    // Old pods keep the deployment available.
    assert_eq!(condition(&w, conditions::AVAILABLE).status, "True");
    let later = sync(&w.d, &w.rss, at(w.clock + 100));
    assert_eq!(later.requeue_after, None);
}

#[test]
fn time_spent_paused_does_not_count_towards_the_deadline() {
    let mut d = deployment(2, default_rolling());
    d.spec.as_mut().unwrap().progress_deadline_seconds = Some(30);
    let mut w = settled(d);
    w.broken.push("nginx:bad".into());
    w.image("nginx:bad");
    w.step();
    w.step();
    w.edit(|s| s.paused = Some(true));
    w.settle();
    assert_eq!(
        reason(&condition(&w, conditions::PROGRESSING)),
        "DeploymentPaused"
    );
    w.clock += 1000;
    w.edit(|s| s.paused = Some(false));
    let plan = w.step();
    let progressing = condition(&w, conditions::PROGRESSING);
    assert_eq!(
        (progressing.status.as_str(), reason(&progressing)),
        ("Unknown", "DeploymentResumed")
    );
    assert_eq!(
        progressing.message.as_deref(),
        Some("Deployment is resumed")
    );
    // The deadline counts from the resume.
    assert_eq!(plan.requeue_after, Some(31));
}

fn replica_set(name: &str, owner_uid: Option<&str>, patch: Value) -> ReplicaSet {
    let owners = owner_uid.map(|uid| {
        json!([{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": uid,
                "controller": true, "blockOwnerDeletion": true}])
    });
    from(merged(
        json!({
            "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}"),
                "labels": {"app": "web"}, "ownerReferences": owners, "generation": 1,
                "creationTimestamp": rfc(0)},
            "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "c", "image": "nginx:0"}]}}},
            "status": {"replicas": 0, "observedGeneration": 1}
        }),
        patch,
    ))
}

#[test]
fn adopts_orphans_and_releases_what_no_longer_matches() {
    let d = deployment(3, default_rolling());
    let template = serde_json::to_value(&d.spec.as_ref().unwrap().template).unwrap();
    let rss = vec![
        // Left behind by an orphaning delete; runs the current template.
        replica_set(
            "orphan",
            None,
            json!({"spec": {"replicas": 3, "template": template},
            "status": {"replicas": 3, "availableReplicas": 3}}),
        ),
        replica_set(
            "relabelled",
            Some("d-uid"),
            json!({"metadata": {"labels": {"app": "x"}}}),
        ),
        replica_set("foreign", Some("other-uid"), json!({})),
        replica_set(
            "unrelated",
            None,
            json!({"metadata": {"labels": {"app": "db"}}}),
        ),
    ];
    let plan = sync(&d, &rss, at(5));
    assert_eq!(plan.actions[0], Action::AdoptReplicaSet("orphan".into()));
    assert_eq!(
        plan.actions[1],
        Action::ReleaseReplicaSet("relabelled".into())
    );
    assert_eq!(
        creates(std::slice::from_ref(&plan)),
        0,
        "the adopted one is the new one"
    );
    assert!(
        plan.actions
            .iter()
            .any(|a| matches!(a, Action::UpdateReplicaSet(rs)
        if name(rs) == "orphan" && annotation(rs, REVISION).as_deref() == Some("1")))
    );
}

#[test]
fn deleting_deployment_neither_adopts_nor_creates() {
    let mut d = deployment(3, default_rolling());
    d.metadata.deletion_timestamp = Some(from(json!(rfc(1))));
    let rss = vec![
        replica_set("orphan", None, json!({})),
        replica_set(
            "relabelled",
            Some("d-uid"),
            json!({"metadata": {"labels": {"app": "x"}}}),
        ),
    ];
    let plan = sync(&d, &rss, at(5));
    assert!(
        plan.actions
            .iter()
            .all(|a| matches!(a, Action::UpdateStatus(_))),
        "{:?}",
        plan.actions
    );
}

#[test]
fn hash_collision_bumps_collision_count() {
    let d = deployment(3, default_rolling());
    let hash = pod_template_hash(&d.spec.as_ref().unwrap().template, None);
    // Same name, unrelated labels, so neither owned nor adoptable.
    let squatter = replica_set(
        &format!("web-{hash}"),
        None,
        json!({"metadata": {"labels": {"app": "other"}}}),
    );
    let mut w = World::new(d);
    w.rss.push(squatter);
    let first = w.step();
    assert_eq!(creates(std::slice::from_ref(&first)), 0);
    assert_eq!(w.d.status.as_ref().unwrap().collision_count, Some(1));
    let second = w.step();
    let Some(Action::CreateReplicaSet(rs)) = second.actions.first() else {
        panic!("{:?}", second.actions);
    };
    let rehashed = pod_template_hash(&w.d.spec.as_ref().unwrap().template, Some(1));
    assert_eq!(name(rs), format!("web-{rehashed}"));
    assert_ne!(rehashed, hash);
    w.settle();
    assert!(is_complete(&w.d));
}

#[test]
fn empty_selector_is_refused() {
    let mut d = deployment(3, default_rolling());
    d.spec.as_mut().unwrap().selector = Default::default();
    let plan = sync(&d, &[replica_set("x", None, json!({}))], at(0));
    assert_eq!(plan.events[0].type_, EventType::Warning);
    assert_eq!(plan.events[0].reason, "SelectingAll");
    assert_eq!(
        plan.events[0].message,
        "This deployment is selecting all pods. A non-empty selector is required."
    );
    let [Action::UpdateStatus(st)] = plan.actions.as_slice() else {
        panic!("{:?}", plan.actions);
    };
    assert_eq!(st.observed_generation, Some(1));
}

#[test]
fn replica_failure_is_promoted_and_cleared() {
    let mut w = settled(deployment(2, default_rolling()));
    let failure = json!({"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
        "message": "pods \"x\" is forbidden", "lastTransitionTime": rfc(3)});
    w.rss[0].status.as_mut().unwrap().conditions = Some(vec![from(failure)]);
    w.step();
    let cond = condition(&w, conditions::REPLICA_FAILURE);
    assert_eq!(
        (reason(&cond), cond.message.as_deref()),
        ("FailedCreate", Some("pods \"x\" is forbidden"))
    );
    w.rss[0].status.as_mut().unwrap().conditions = None;
    w.step();
    assert!(conditions::get(w.d.status.as_ref().unwrap(), conditions::REPLICA_FAILURE).is_none());
}

#[test]
fn min_ready_seconds_and_annotations_follow_the_deployment() {
    let mut w = settled(deployment(2, default_rolling()));
    w.edit(|s| s.min_ready_seconds = Some(7));
    w.d.metadata
        .annotations
        .as_mut()
        .unwrap()
        .insert(CHANGE_CAUSE.into(), "second".into());
    let plan = w.step();
    let Some(Action::UpdateReplicaSet(rs)) = plan.actions.first() else {
        panic!("{:?}", plan.actions);
    };
    assert_eq!(rs.spec.as_ref().unwrap().min_ready_seconds, Some(7));
    assert_eq!(annotation(rs, CHANGE_CAUSE).as_deref(), Some("second"));
    assert_eq!(annotation(rs, REVISION).as_deref(), Some("1"));
}

#[test]
fn create_failure_is_reported() {
    let d = deployment(2, default_rolling());
    let plan = create_failed(&d, "web-abc", "quota exceeded", at(9));
    let [Action::UpdateStatus(st)] = plan.actions.as_slice() else {
        panic!("{:?}", plan.actions);
    };
    let cond = conditions::get(st, conditions::PROGRESSING).unwrap();
    assert_eq!(
        (cond.status.as_str(), reason(cond)),
        ("False", "ReplicaSetCreateError")
    );
    let message = "Failed to create new replica set \"web-abc\": quota exceeded";
    assert_eq!(cond.message.as_deref(), Some(message));
    assert_eq!(plan.events[0].type_, EventType::Warning);
    assert_eq!(plan.events[0].message, message);
}

#[test]
fn unchanged_conditions_keep_their_times() {
    let mut w = settled(deployment(2, default_rolling()));
    let before = condition(&w, conditions::AVAILABLE);
    w.clock += 500;
    w.edit(|s| s.min_ready_seconds = Some(1));
    w.settle();
    assert_eq!(condition(&w, conditions::AVAILABLE), before);
}

#[test]
fn never_panics_on_odd_input() {
    let _ = sync(&Deployment::default(), &[ReplicaSet::default()], at(0));
    let mut d = deployment(-4, json!({"type": "Sideways"}));
    d.spec.as_mut().unwrap().revision_history_limit = Some(-1);
    let odd = replica_set(
        "odd",
        Some("d-uid"),
        json!({
        "metadata": {"annotations": {REVISION: "x", MAX_REPLICAS: "0", DESIRED_REPLICAS: "-1"}},
        "spec": {"replicas": 2}, "status": {"replicas": 9, "availableReplicas": 40}}),
    );
    let _ = sync(&d, &[odd.clone(), ReplicaSet::default()], at(0));
    let mut d = deployment(3, rolling(json!("1000000%"), json!(-3)));
    d.metadata.annotations = None;
    d.status = Some(from(
        json!({"replicas": 0, "conditions": [{"type": "Progressing", "status": "True"}]}),
    ));
    let _ = sync(&d, &[odd], at(0));
}
