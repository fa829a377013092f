use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use super::*;
use crate::controllers::fixtures::{at, from, merged, pod_json, ready_since, rfc};

const UID: &str = "rs-uid";

fn rs(patch: Value) -> ReplicaSet {
    from(merged(
        json!({
            "metadata": {"name": "web-rs", "namespace": "default", "uid": UID, "generation": 4},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web", "tier": "fe"},
                                               "annotations": {"a": "b"}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}
        }),
        patch,
    ))
}

fn pod(name: &str, patch: Value) -> Pod {
    from(pod_json(name, Some(UID), patch))
}

fn orphan(name: &str, patch: Value) -> Pod {
    from(pod_json(name, None, patch))
}

fn names(plan_delete: &[String]) -> Vec<&str> {
    plan_delete.iter().map(String::as_str).collect()
}

#[test]
fn creates_missing_pods_capped_at_the_burst() {
    let plan = sync(&rs(json!({})), &[pod("a", json!({}))], at(10), None);
    assert_eq!(plan.create, 2);
    assert!(plan.delete.is_empty());

    let plan = sync::<Pod>(&rs(json!({"spec": {"replicas": 2000}})), &[], at(10), None);
    assert_eq!(plan.create, BURST_REPLICAS);
}

#[test]
fn slow_start_doubles_batches() {
    assert_eq!(slow_start_batches(0), Vec::<usize>::new());
    assert_eq!(slow_start_batches(1), vec![1]);
    assert_eq!(slow_start_batches(10), vec![1, 2, 4, 3]);
    assert_eq!(slow_start_batches(500).iter().sum::<usize>(), 500);
}

#[test]
fn adopts_orphans_it_selects_and_releases_pods_it_no_longer_selects() {
    let pods = vec![
        orphan("orphan", json!({})),
        orphan("other-app", json!({"metadata": {"labels": {"app": "db"}}})),
        orphan("dying", json!({"metadata": {"deletionTimestamp": rfc(5)}})),
        from(merged(
            pod_json("foreign", Some("someone-else"), json!({})),
            json!({}),
        )),
        pod(
            "relabelled",
            json!({"metadata": {"labels": {"app": "moved"}}}),
        ),
        pod("mine", json!({})),
    ];
    let plan = sync(&rs(json!({})), &pods, at(10), None);
    assert_eq!(plan.adopt, vec!["orphan"]);
    assert_eq!(plan.release, vec!["relabelled"]);
    // mine + orphan are owned now; one more is needed.
    assert_eq!(plan.create, 1);
    assert_eq!(plan.status.replicas, 2);
}

#[test]
fn finished_and_terminating_pods_do_not_count() {
    let pods = vec![
        pod("done", json!({"status": {"phase": "Succeeded"}})),
        pod("failed", json!({"status": {"phase": "Failed"}})),
        pod("going", json!({"metadata": {"deletionTimestamp": rfc(1)}})),
        pod("live", json!({})),
    ];
    let plan = sync(&rs(json!({})), &pods, at(10), None);
    assert_eq!(plan.create, 2);
    assert_eq!(plan.status.replicas, 1);
}

#[test]
fn deletion_ranking_follows_upstream_order() {
    let running_ready =
        |name: &str, since: i64, extra: Value| pod(name, merged(ready_since(since), extra));
    let pods = vec![
        running_ready("old-ready", 0, json!({})),
        running_ready("unassigned", 0, json!({"spec": {"nodeName": null}})),
        pod("pending", json!({"status": {"phase": "Pending"}})),
        pod("unknown", json!({"status": {"phase": "Unknown"}})),
        pod("not-ready", json!({})),
        running_ready(
            "cheap",
            0,
            json!({"metadata": {"annotations": {
            "controller.kubernetes.io/pod-deletion-cost": "-5"}}}),
        ),
    ];
    let plan = sync(
        &rs(json!({"spec": {"replicas": 0}})),
        &pods,
        at(100_000),
        None,
    );
    assert_eq!(
        names(&plan.delete),
        vec![
            "unassigned",
            "pending",
            "unknown",
            "not-ready",
            "cheap",
            "old-ready"
        ]
    );
}

#[test]
fn deletion_prefers_crowded_nodes_short_readiness_restarts_and_new_pods() {
    let now = 1_000_000;
    let p = |name: &str, node: &str, since: i64, created: i64, restarts: i32| {
        pod(
            name,
            merged(
                ready_since(since),
                json!({"metadata": {"creationTimestamp": rfc(created)},
                       "spec": {"nodeName": node},
                       "status": {"containerStatuses": [{"name": "c", "image": "nginx",
                            "imageID": "", "ready": true, "restartCount": restarts}]}}),
            ),
        )
    };
    let pods = vec![
        p("lonely", "node-b", 0, 0, 0),
        p("crowded-1", "node-a", 0, 0, 0),
        p("crowded-2", "node-a", 0, 0, 0),
        p("recently-ready", "node-c", now - 10, 0, 0),
        p("restarting", "node-d", 0, 0, 7),
        p("young", "node-e", 0, now - 20, 0),
    ];
    let plan = sync(&rs(json!({"spec": {"replicas": 1}})), &pods, at(now), None);
    assert_eq!(&names(&plan.delete)[..2], &["crowded-1", "crowded-2"]);
    assert_eq!(
        &names(&plan.delete)[2..],
        &["recently-ready", "restarting", "young"]
    );
}

#[test]
fn status_counts_labels_readiness_and_availability() {
    let pods = vec![
        pod(
            "full",
            merged(
                ready_since(0),
                json!({"metadata": {"labels": {"tier": "fe"}}}),
            ),
        ),
        pod("fresh", ready_since(95)),
        pod("starting", json!({})),
    ];
    let set = rs(json!({"spec": {"minReadySeconds": 10}}));
    let plan = sync(&set, &pods, at(100), None);
    assert_eq!(plan.status.replicas, 3);
    assert_eq!(plan.status.fully_labeled_replicas, Some(1));
    assert_eq!(plan.status.ready_replicas, Some(2));
    assert_eq!(plan.status.available_replicas, Some(1));
    assert_eq!(plan.status.observed_generation, Some(4));
    // "fresh" turns available once 10 s have passed since 95.
    assert_eq!(plan.requeue_after, Some(6));
    let later = sync(&set, &pods, at(106), None);
    assert_eq!(later.status.available_replicas, Some(2));
    assert_eq!(later.requeue_after, None);
}

#[test]
fn create_failure_sets_and_clears_replica_failure() {
    let set = rs(json!({}));
    let failed = sync::<Pod>(&set, &[], at(10), Some("quota exceeded"));
    let conds = failed.status.conditions.clone().unwrap();
    assert_eq!(conds.len(), 1);
    assert_eq!(conds[0].type_, "ReplicaFailure");
    assert_eq!(conds[0].reason.as_deref(), Some("FailedCreate"));
    assert_eq!(conds[0].message.as_deref(), Some("quota exceeded"));

    let mut with_cond = set.clone();
    with_cond.status = Some(failed.status.clone());
    let again = sync::<Pod>(&with_cond, &[], at(20), Some("other error"));
    assert_eq!(again.status.conditions, failed.status.conditions);
    let healed = sync::<Pod>(&with_cond, &[], at(30), None);
    assert_eq!(healed.status.conditions, None);
}

#[test]
fn terminating_replica_set_neither_creates_nor_adopts() {
    let set = rs(json!({"metadata": {"deletionTimestamp": rfc(1)}}));
    let pods = vec![
        orphan("orphan", json!({})),
        pod("moved", json!({"metadata": {"labels": {"app": "x"}}})),
    ];
    let plan = sync(&set, &pods, at(10), None);
    assert_eq!(plan.create, 0);
    assert!(plan.adopt.is_empty() && plan.release.is_empty() && plan.delete.is_empty());
}

#[test]
fn empty_selector_adopts_nothing_and_manages_nothing() {
    let set = rs(json!({"spec": {"selector": {"matchLabels": null}}}));
    let plan = sync(&set, &[orphan("orphan", json!({}))], at(10), None);
    assert!(plan.adopt.is_empty());
    assert_eq!(plan.create, 0);
}

#[test]
fn new_pod_comes_from_the_template() {
    let pod = new_pod(&rs(json!({})));
    assert_eq!(pod.metadata.generate_name.as_deref(), Some("web-rs-"));
    assert_eq!(pod.metadata.namespace.as_deref(), Some("default"));
    assert_eq!(pod.metadata.labels.as_ref().unwrap()["tier"], "fe");
    assert_eq!(pod.metadata.annotations.as_ref().unwrap()["a"], "b");
    let owner = &pod.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (
            owner.api_version.as_str(),
            owner.kind.as_str(),
            owner.name.as_str(),
            owner.uid.as_str()
        ),
        ("apps/v1", "ReplicaSet", "web-rs", UID)
    );
    assert_eq!(
        (owner.controller, owner.block_owner_deletion),
        (Some(true), Some(true))
    );
    assert_eq!(
        pod.spec.unwrap().containers[0].image.as_deref(),
        Some("nginx")
    );
}

#[test]
fn never_panics_on_bare_objects() {
    let bare = ReplicaSet::default();
    let plan = sync(&bare, &[Pod::default()], at(0), None);
    assert_eq!(plan.create, 0);
    let _ = new_pod(&bare);
    let _ = sync(
        &rs(json!({"spec": {"replicas": -3}})),
        &[pod("a", json!({}))],
        at(0),
        None,
    );
}
