use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use super::*;
use crate::controllers::fixtures::{at, from, merged, ready_since, rfc};

fn set(patch: Value) -> StatefulSet {
    from(merged(
        json!({
            "metadata": {"name": "web", "namespace": "default", "uid": "sts-uid", "generation": 1},
            "spec": {
                "replicas": 3,
                "serviceName": "web",
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}
            }
        }),
        patch,
    ))
}

fn revision(name: &str, image: &str) -> Revision {
    Revision {
        name: name.into(),
        template: from(json!({"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": image}]}})),
    }
}

fn pod(ordinal: i32, revision: &str, patch: Value) -> Pod {
    let name = format!("web-{ordinal}");
    let base = json!({
        "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}"),
            "labels": {"app": "web", "controller-revision-hash": revision},
            "creationTimestamp": rfc(0),
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web",
                "uid": "sts-uid", "controller": true, "blockOwnerDeletion": true}]},
        "spec": {"nodeName": "a", "containers": [{"name": "c", "image": "nginx"}]},
    });
    from(merged(merged(base, ready_since(0)), patch))
}

fn pending() -> Value {
    json!({"status": {"phase": "Pending", "conditions": [{"type": "Ready", "status": "False"}]}})
}

fn created(plan: &SetPlan) -> Vec<(i32, &str)> {
    plan.create
        .iter()
        .map(|(n, r)| (*n, r.name.as_str()))
        .collect()
}

fn deleted(plan: &SetPlan) -> Vec<&str> {
    plan.delete.iter().map(|(p, _)| p.as_str()).collect()
}

#[test]
fn pods_come_in_order_each_after_the_previous_is_ready() {
    let s = set(json!({}));
    let r1 = revision("web-r1", "nginx:1");
    let plan = sync(&s, &[], &r1, &r1, at(10));
    assert_eq!(created(&plan), vec![(0, "web-r1")]);
    // web-0 not yet ready: wait.
    let plan = sync(&s, &[pod(0, "web-r1", pending())], &r1, &r1, at(10));
    assert!(plan.create.is_empty());
    let plan = sync(&s, &[pod(0, "web-r1", json!({}))], &r1, &r1, at(10));
    assert_eq!(created(&plan), vec![(1, "web-r1")]);
    // Parallel: all at once.
    let parallel = set(json!({"spec": {"podManagementPolicy": "Parallel"}}));
    assert_eq!(
        created(&sync(&parallel, &[], &r1, &r1, at(10))),
        vec![(0, "web-r1"), (1, "web-r1"), (2, "web-r1")]
    );
}

#[test]
fn a_pod_has_a_stable_identity() {
    let s = set(json!({}));
    let p = new_pod(&s, 2, &revision("web-r1", "nginx:1"));
    assert_eq!(p.metadata.name.as_deref(), Some("web-2"));
    assert_eq!(p.metadata.generate_name, None);
    let labels = p.metadata.labels.as_ref().unwrap();
    assert_eq!(labels["statefulset.kubernetes.io/pod-name"], "web-2");
    assert_eq!(labels["apps.kubernetes.io/pod-index"], "2");
    assert_eq!(labels["controller-revision-hash"], "web-r1");
    let spec = p.spec.as_ref().unwrap();
    assert_eq!(spec.hostname.as_deref(), Some("web-2"));
    assert_eq!(spec.subdomain.as_deref(), Some("web"));
    assert_eq!(ordinal("web", &p), Some(2));
    let mut odd = p.clone();
    odd.metadata.name = Some("web-02".into());
    assert_eq!(ordinal("web", &odd), None);
    odd.metadata.name = Some("webby-2".into());
    assert_eq!(ordinal("web", &odd), None);
}

#[test]
fn failed_pods_are_replaced_and_scale_down_goes_from_the_top() {
    let s = set(json!({"spec": {"replicas": 2}}));
    let r1 = revision("web-r1", "nginx:1");
    let pods = [
        pod(0, "web-r1", json!({})),
        pod(1, "web-r1", json!({"status": {"phase": "Failed"}})),
    ];
    let plan = sync(&s, &pods, &r1, &r1, at(10));
    assert_eq!(deleted(&plan), vec!["web-1"]);
    let pods = [
        pod(0, "web-r1", json!({})),
        pod(1, "web-r1", json!({})),
        pod(2, "web-r1", json!({})),
        pod(3, "web-r1", json!({})),
    ];
    let plan = sync(&s, &pods, &r1, &r1, at(10));
    assert_eq!(
        deleted(&plan),
        vec!["web-3"],
        "one at a time, highest first"
    );
    assert_eq!(plan.status.replicas, 4);
}

#[test]
fn rolling_update_goes_down_from_the_highest_ordinal_to_the_partition() {
    let s = set(json!({}));
    let (r1, r2) = (revision("web-r1", "nginx:1"), revision("web-r2", "nginx:2"));
    let pods = [
        pod(0, "web-r1", json!({})),
        pod(1, "web-r1", json!({})),
        pod(2, "web-r1", json!({})),
    ];
    let plan = sync(&s, &pods, &r1, &r2, at(10));
    assert_eq!(deleted(&plan), vec!["web-2"]);
    assert_eq!(plan.status.update_revision.as_deref(), Some("web-r2"));
    assert_eq!(plan.status.current_revision.as_deref(), Some("web-r1"));
    // Recreated at the update revision.
    let plan = sync(&s, &pods[..2], &r1, &r2, at(10));
    assert_eq!(created(&plan), vec![(2, "web-r2")]);
    // Waits for the new pod to be healthy before the next.
    let mut pods = pods.to_vec();
    pods[2] = pod(2, "web-r2", pending());
    assert!(sync(&s, &pods, &r1, &r2, at(10)).delete.is_empty());
    pods[2] = pod(2, "web-r2", json!({}));
    assert_eq!(deleted(&sync(&s, &pods, &r1, &r2, at(10))), vec!["web-1"]);
    // A partition keeps the pods below it at the current revision.
    let partitioned = set(json!({"spec": {"updateStrategy": {"type": "RollingUpdate",
        "rollingUpdate": {"partition": 2}}}}));
    assert!(
        sync(&partitioned, &pods, &r1, &r2, at(10))
            .delete
            .is_empty()
    );
    assert_eq!(
        created(&sync(&partitioned, &pods[1..], &r1, &r2, at(10))),
        vec![(0, "web-r1")]
    );
    // Done: the update revision becomes current.
    let done = [
        pod(0, "web-r2", json!({})),
        pod(1, "web-r2", json!({})),
        pod(2, "web-r2", json!({})),
    ];
    let plan = sync(&s, &done, &r1, &r2, at(10));
    assert!(plan.delete.is_empty() && plan.create.is_empty());
    assert_eq!(plan.status.current_revision.as_deref(), Some("web-r2"));
    assert_eq!(plan.status.updated_replicas, Some(3));
    assert_eq!(plan.status.ready_replicas, Some(3));
}
