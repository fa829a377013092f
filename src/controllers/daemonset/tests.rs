use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{Value, json};

use super::*;
use crate::controllers::fixtures::{at, from, merged, ready_since, rfc};

fn ds(patch: Value) -> DaemonSet {
    from(merged(
        json!({
            "metadata": {"name": "agent", "namespace": "kube-system", "uid": "ds-uid", "generation": 2},
            "spec": {
                "selector": {"matchLabels": {"app": "agent"}},
                "template": {"metadata": {"labels": {"app": "agent"}},
                    "spec": {"containers": [{"name": "c", "image": "agent:1"}]}}
            }
        }),
        patch,
    ))
}

fn node(name: &str, patch: Value) -> Node {
    from(merged(
        json!({"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}}}),
        patch,
    ))
}

fn control_plane(name: &str) -> Node {
    node(
        name,
        json!({"spec": {"taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]}}),
    )
}

/// A daemon pod of revision `hash` on `node`, ready since t=0.
fn pod(name: &str, node: &str, hash: &str, patch: Value) -> Pod {
    let base = json!({
        "metadata": {"name": name, "namespace": "kube-system", "uid": format!("uid-{name}"),
            "labels": {"app": "agent", "controller-revision-hash": hash},
            "creationTimestamp": rfc(0),
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent",
                "uid": "ds-uid", "controller": true, "blockOwnerDeletion": true}]},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "agent:1"}]},
    });
    from(merged(merged(base, ready_since(0)), patch))
}

fn deleted(plan: &DaemonPlan) -> Vec<&str> {
    let mut names: Vec<&str> = plan.delete.iter().map(|(p, _)| p.as_str()).collect();
    names.sort();
    names
}

#[test]
fn one_pinned_tolerant_pod_per_eligible_node() {
    let d = ds(json!({}));
    let nodes = [
        node("a", json!({})),
        node("b", json!({})),
        control_plane("cp"),
    ];
    let plan = sync(&d, &nodes, &[], "h1", at(10));
    let mut create = plan.create.clone();
    create.sort();
    assert_eq!(
        create,
        vec!["a", "b"],
        "the tainted control plane is skipped"
    );
    assert_eq!(plan.status.desired_number_scheduled, 2);
    assert_eq!(plan.status.number_unavailable, Some(2));
    assert_eq!(plan.status.observed_generation, Some(2));

    let p = new_pod(&d, "a", "h1");
    assert_eq!(
        p.metadata.labels.as_ref().unwrap()["controller-revision-hash"],
        "h1"
    );
    assert_eq!(p.metadata.generate_name.as_deref(), Some("agent-"));
    assert_eq!(target_node(&p).as_deref(), Some("a"));
    assert!(
        p.spec.as_ref().unwrap().node_name.is_none(),
        "the scheduler binds it"
    );
    let tolerations = p.spec.as_ref().unwrap().tolerations.as_ref().unwrap();
    assert!(
        tolerations
            .iter()
            .any(|t| t.key.as_deref() == Some("node.kubernetes.io/unschedulable"))
    );
    assert!(tolerations.iter().any(
        |t| t.key.as_deref() == Some("node.kubernetes.io/unreachable")
            && t.effect.as_deref() == Some("NoExecute")
    ));
}

#[test]
fn node_selectors_and_tolerations_choose_the_nodes() {
    let d = ds(json!({"spec": {"template": {"spec": {
        "nodeSelector": {"disk": "ssd"},
        "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}]}}}}));
    let ssd = json!({"metadata": {"labels": {"disk": "ssd"}}});
    let cp = merged(
        json!({"spec": {"taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]}}),
        ssd.clone(),
    );
    let nodes = [
        node("a", ssd.clone()),
        node("hdd", json!({})),
        node("cp", cp),
    ];
    let mut create = sync(&d, &nodes, &[], "h1", at(10)).create;
    create.sort();
    assert_eq!(create, vec!["a", "cp"]);
    // A cordoned node still runs its daemon (upstream tolerates the cordon).
    let cordoned = node(
        "c",
        merged(
            ssd,
            json!({"spec": {"unschedulable": true,
        "taints": [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]}}),
        ),
    );
    assert_eq!(sync(&d, &[cordoned], &[], "h1", at(10)).create, vec!["c"]);
}

#[test]
fn misplaced_extra_failed_and_orphaned_pods() {
    let d = ds(json!({}));
    let nodes = [
        node("a", json!({})),
        node(
            "b",
            json!({"spec": {"taints": [{"key": "evict", "effect": "NoExecute"}]}}),
        ),
        node("c", json!({})),
    ];
    let pods = [
        pod("agent-a1", "a", "h1", json!({})),
        pod(
            "agent-a2",
            "a",
            "h1",
            json!({"metadata": {"creationTimestamp": rfc(5)}}),
        ),
        pod("agent-b", "b", "h1", json!({})),
        pod("agent-c", "c", "h1", json!({"status": {"phase": "Failed"}})),
        pod("agent-gone", "gone", "h1", json!({})),
    ];
    let plan = sync(&d, &nodes, &pods, "h1", at(10));
    assert_eq!(deleted(&plan), vec!["agent-a2", "agent-b", "agent-gone"]);
    assert_eq!(plan.failed, vec![("agent-c".to_string(), "c".to_string())]);
    assert_eq!(plan.create, vec!["c"], "the failed pod's replacement");
    assert_eq!(plan.status.number_misscheduled, 1);
}

#[test]
fn orphans_matching_the_selector_are_adopted_and_counted() {
    let d = ds(json!({}));
    let mut orphan = pod("agent-x", "a", "h1", json!({}));
    orphan.metadata.owner_references = None;
    let plan = sync(&d, &[node("a", json!({}))], &[orphan], "h1", at(10));
    assert_eq!(plan.adopt, vec!["agent-x"]);
    assert!(plan.create.is_empty());
    assert_eq!(plan.status.current_number_scheduled, 1);
}

#[test]
fn rolling_update_replaces_one_available_node_at_a_time() {
    let d = ds(json!({}));
    let nodes = [
        node("a", json!({})),
        node("b", json!({})),
        node("c", json!({})),
    ];
    let pods = [
        pod("agent-a", "a", "h1", json!({})),
        pod("agent-b", "b", "h1", json!({})),
        pod("agent-c", "c", "h1", json!({})),
    ];
    let plan = sync(&d, &nodes, &pods, "h2", at(10));
    assert_eq!(deleted(&plan), vec!["agent-a"]);
    assert_eq!(plan.status.updated_number_scheduled, Some(0));
    // An old pod that is not available goes at once, beside the budgeted one.
    let mut pods = pods.to_vec();
    pods[2] = pod(
        "agent-c",
        "c",
        "h1",
        json!({"status": {"conditions": [{"type": "Ready", "status": "False"}]}}),
    );
    let plan = sync(&d, &nodes, &pods, "h2", at(10));
    assert_eq!(
        deleted(&plan),
        vec!["agent-c"],
        "the unavailable pod uses up the budget"
    );
    // While a new pod is not yet available, nothing else is taken down.
    let pods = [
        pod(
            "agent-a2",
            "a",
            "h2",
            json!({"status": {"conditions": [{"type": "Ready", "status": "False"}]}}),
        ),
        pod("agent-b", "b", "h1", json!({})),
        pod("agent-c", "c", "h1", json!({})),
    ];
    let plan = sync(&d, &nodes, &pods, "h2", at(10));
    assert!(plan.delete.is_empty(), "{plan:?}");
    assert_eq!(plan.status.updated_number_scheduled, Some(1));
    // OnDelete leaves old pods alone.
    let on_delete = ds(json!({"spec": {"updateStrategy": {"type": "OnDelete"}}}));
    assert!(
        sync(&on_delete, &nodes, &pods[1..], "h2", at(10))
            .delete
            .is_empty()
    );
}

#[test]
fn surge_starts_the_new_pod_before_the_old_one_goes() {
    let d = ds(json!({"spec": {"updateStrategy": {"type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}}}));
    let nodes = [node("a", json!({})), node("b", json!({}))];
    let old = [
        pod("agent-a", "a", "h1", json!({})),
        pod("agent-b", "b", "h1", json!({})),
    ];
    let plan = sync(&d, &nodes, &old, "h2", at(10));
    assert_eq!(plan.create, vec!["a"]);
    assert!(plan.delete.is_empty());
    let mut pods = old.to_vec();
    pods.push(pod("agent-a2", "a", "h2", json!({})));
    let plan = sync(&d, &nodes, &pods, "h2", at(10));
    assert_eq!(deleted(&plan), vec!["agent-a"]);
    assert_eq!(plan.create, Vec::<String>::new(), "one surge pod at a time");
}
