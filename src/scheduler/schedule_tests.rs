//! End-to-end tests of `schedule`/`decide`/`scores`, and table tests of each filter.

use serde_json::json;

use crate::scheduler::filters::{self, Rejection};
use crate::scheduler::resources;
use crate::scheduler::snapshot::Snapshot;
use crate::scheduler::testutil::*;
use crate::scheduler::{decide, format_scores, needs_scheduling, schedule, scores};

fn err_text(r: Result<String, crate::scheduler::FitError>) -> String {
    match r {
        Ok(node) => panic!("expected a FitError, got node {node}"),
        Err(e) => e.to_string(),
    }
}

fn rejection(reason: &str, unresolvable: bool) -> Result<(), Rejection> {
    Err(Rejection {
        reasons: vec![reason.to_string()],
        unresolvable,
    })
}

// ---------------------------------------------------------------- FitError messages

#[test]
fn fit_error_messages() {
    let workers = |cpu: &str| {
        vec![
            node("worker-1", cpu, "4Gi", 110),
            node("worker-2", cpu, "4Gi", 110),
        ]
    };
    let mut three_big = vec![control_plane("cp")];
    three_big.extend(workers("2"));
    let busy = vec![
        bound("a", "worker-1", "1500m", "0"),
        bound("b", "worker-2", "1500m", "0"),
    ];
    let never = with(
        pending("p", "4", "0"),
        json!({"spec": {"preemptionPolicy": "Never"}}),
    );
    let daemon = with(
        pending("ds-abc", "500m", "0"),
        json!({"spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n2"]}]}]
        }}}}}),
    );
    let conflict = with(
        pending("p", "0", "0"),
        json!({"spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchFields": [
                {"key": "metadata.name", "operator": "In", "values": ["n1"]},
                {"key": "metadata.name", "operator": "In", "values": ["n2"]}
            ]}]
        }}}}}),
    );
    let three = vec![
        node("n1", "1", "1Gi", 110),
        node("n2", "1", "1Gi", 110),
        node("n3", "1", "1Gi", 110),
    ];
    let cordoned = with(
        node("n1", "1", "1Gi", 110),
        json!({"spec": {"unschedulable": true}}),
    );
    let not_ready = with(
        node("n2", "1", "1Gi", 110),
        json!({"spec": {"taints": [{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}]}}),
    );
    let selecting = with(
        pending("p", "0", "0"),
        json!({"spec": {"nodeSelector": {"disktype": "ssd"}}}),
    );
    let with_port = |name: &str, node: Option<&str>| {
        let p = with(
            pending(name, "0", "0"),
            json!({"spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80, "hostPort": 8080}]}]}}),
        );
        match node {
            Some(n) => with(
                p,
                json!({"spec": {"nodeName": n}, "status": {"phase": "Running"}}),
            ),
            None => p,
        }
    };

    let cases = vec![
        (
            "the workshop classic: a pod on a lone control-plane node",
            pending("web", "100m", "128Mi"),
            vec![control_plane("kwb-control-plane")],
            vec![],
            "0/1 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }. \
             preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
        ),
        (
            "bigger than any worker: preemption cannot help",
            pending("p", "4", "0"),
            three_big.clone(),
            vec![],
            "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, \
             2 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
        ),
        (
            "workers full: no victims to evict",
            pending("p", "1", "0"),
            three_big.clone(),
            busy.clone(),
            "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, \
             2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, \
             2 No preemption victims found for incoming pod.",
        ),
        (
            "one node short of cpu and memory reports both",
            pending("p", "2", "2Gi"),
            vec![node("n1", "1", "1Gi", 110)],
            vec![],
            "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory. \
             preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
        ),
        (
            "pod count exhausted",
            pending("p", "0", "0"),
            vec![node("n1", "1", "1Gi", 1)],
            vec![bound("a", "n1", "0", "0")],
            "0/1 nodes are available: 1 Too many pods. \
             preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
        ),
        (
            "preemptionPolicy Never",
            never,
            vec![node("n1", "1", "1Gi", 110)],
            vec![],
            "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.",
        ),
        (
            "daemonset pod pinned to a full node",
            daemon,
            three.clone(),
            vec![bound("hog", "n2", "800m", "0")],
            "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't satisfy plugin(s) [NodeAffinity]. \
             preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, \
             2 Preemption is not helpful for scheduling.",
        ),
        (
            "contradicting name pins are rejected before filtering",
            conflict,
            vec![node("n1", "1", "1Gi", 110), node("n2", "1", "1Gi", 110)],
            vec![],
            "0/2 nodes are available: pod affinity terms conflict. \
             preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
        ),
        (
            "nodeSelector matching nothing",
            selecting,
            three.clone(),
            vec![],
            "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. \
             preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
        ),
        (
            "cordoned and not-ready nodes",
            pending("p", "0", "0"),
            vec![cordoned, not_ready],
            vec![],
            "0/2 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, \
             1 node(s) were unschedulable. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
        ),
        (
            "host port taken",
            with_port("new", None),
            vec![node("n1", "1", "1Gi", 110)],
            vec![with_port("old", Some("n1"))],
            "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports. \
             preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
        ),
        (
            "no nodes at all",
            pending("p", "0", "0"),
            vec![],
            vec![],
            "no nodes available to schedule pods",
        ),
    ];
    for (name, pod, nodes, pods, want) in cases {
        let want = want.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(err_text(schedule(&pod, &nodes, &pods)), want, "{name}");
    }
}

#[test]
fn fit_error_exposes_per_node_reasons() {
    let nodes = vec![control_plane("cp"), node("w", "1", "1Gi", 110)];
    let err = schedule(&pending("p", "2", "2Gi"), &nodes, &[]).expect_err("no fit");
    assert_eq!(err.nodes, 2);
    assert_eq!(
        err.per_node.get("w").map(|r| r.reasons.clone()),
        Some(vec![
            "Insufficient cpu".to_string(),
            "Insufficient memory".to_string()
        ])
    );
    assert_eq!(err.reasons.get("Insufficient memory"), Some(&1));
    assert_eq!(
        err.reasons
            .get("node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"),
        Some(&1)
    );
    // Only the first failing filter speaks for a node: the control plane also lacks room for
    // a 2-cpu pod, but its taint is what gets reported.
    assert_eq!(err.per_node.get("cp").map(|r| r.reasons.len()), Some(1));
}

// ---------------------------------------------------------------- placement

#[test]
fn tolerating_the_control_plane_taint_lands_there() {
    let pod = with(
        pending("p", "100m", "0"),
        json!({"spec": {"tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}]}}),
    );
    assert_eq!(
        schedule(&pod, &[control_plane("cp")], &[]).ok().as_deref(),
        Some("cp")
    );
}

#[test]
fn three_replicas_spread_over_three_equal_nodes() {
    let nodes = vec![
        node("node-1", "4", "8Gi", 110),
        node("node-2", "4", "8Gi", 110),
        node("node-3", "4", "8Gi", 110),
    ];
    let replica = |i: usize| {
        with(
            pending(&format!("web-7d9f-{i}"), "100m", "128Mi"),
            json!({"metadata": {
                "labels": {"app": "web"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d9f", "uid": "rs-uid", "controller": true}]
            }}),
        )
    };
    let mut pods = Vec::new();
    let mut placed = Vec::new();
    let mut log = Vec::new();
    for i in 0..3 {
        let pod = replica(i);
        let d = decide(&pod, &nodes, &pods).expect("fits");
        log.push(format_scores(&d.scores));
        placed.push(d.node.clone());
        let mut bound_pod = pod;
        if let Some(spec) = bound_pod.spec.as_mut() {
            spec.node_name = Some(d.node);
        }
        pods.push(bound_pod);
    }
    assert_eq!(placed, vec!["node-1", "node-2", "node-3"]);
    // Second replica: node-1 already has one (spread 50 vs 100, less free room), the others tie
    // and the name decides.
    assert_eq!(log[1], "node-1=594 node-2=696 node-3=696");
}

#[test]
fn request_less_replicas_also_spread() {
    let nodes = vec![node("a", "2", "2Gi", 110), node("b", "2", "2Gi", 110)];
    let first = with(
        pending("x1", "0", "0"),
        json!({"metadata": {"labels": {"app": "x"}}}),
    );
    let second = with(
        pending("x2", "0", "0"),
        json!({"metadata": {"labels": {"app": "x"}}}),
    );
    let on_a = with(
        first,
        json!({"spec": {"nodeName": "a"}, "status": {"phase": "Running"}}),
    );
    assert_eq!(
        schedule(&second, &nodes, &[on_a]).ok().as_deref(),
        Some("b")
    );
}

#[test]
fn resource_accounting_decides_placement() {
    let nodes = vec![node("n1", "2", "4Gi", 110), node("n2", "2", "4Gi", 110)];
    let cases = vec![
        (
            "bound pods use up n1",
            pending("p", "1", "0"),
            vec![bound("a", "n1", "1500m", "0")],
            Some("n2"),
        ),
        (
            "pods bound to unknown nodes are not counted anywhere",
            pending("p", "1", "0"),
            vec![
                bound("a", "elsewhere", "2", "0"),
                bound("b", "n2", "1500m", "0"),
            ],
            Some("n1"),
        ),
        (
            "finished pods free their node",
            pending("p", "2", "0"),
            vec![
                with(
                    bound("a", "n1", "2", "0"),
                    json!({"status": {"phase": "Succeeded"}}),
                ),
                bound("b", "n2", "1", "0"),
            ],
            Some("n1"),
        ),
        (
            "terminating pods still hold their node",
            pending("p", "2", "0"),
            vec![
                with(
                    bound("a", "n1", "2", "0"),
                    json!({"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"}}),
                ),
                bound("b", "n2", "1", "0"),
            ],
            None,
        ),
        (
            "an init container bigger than the node does not fit",
            with(
                pending("p", "100m", "0"),
                json!({"spec": {"initContainers": [{"name": "i", "resources": {"requests": {"cpu": "3"}}}]}}),
            ),
            vec![],
            None,
        ),
        (
            "init containers count as their max, not on top of the containers",
            with(
                pending("p", "1", "0"),
                json!({"spec": {"initContainers": [{"name": "i", "resources": {"requests": {"cpu": "2"}}}]}}),
            ),
            vec![bound("a", "n1", "100m", "0")],
            Some("n2"),
        ),
    ];
    for (name, pod, pods, want) in cases {
        assert_eq!(
            schedule(&pod, &nodes, &pods).ok().as_deref(),
            want,
            "{name}"
        );
    }
}

#[test]
fn required_pod_affinity_and_anti_affinity() {
    let nodes = vec![node("n1", "4", "8Gi", 110), node("n2", "4", "8Gi", 110)];
    let labelled = |name: &str, node: &str, app: &str| {
        with(
            bound(name, node, "100m", "0"),
            json!({"metadata": {"labels": {"app": app}}}),
        )
    };
    let term = |app: &str| json!([{"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": app}}}]);
    let wants_cache = with(
        pending("web", "100m", "0"),
        json!({"metadata": {"labels": {"app": "web"}}, "spec": {"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": term("cache")}}}}),
    );
    let self_affine = with(
        pending("grp", "100m", "0"),
        json!({"metadata": {"labels": {"app": "grp"}}, "spec": {"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": term("grp")}}}}),
    );
    let shy = with(
        pending("web-3", "100m", "0"),
        json!({"metadata": {"labels": {"app": "web"}}, "spec": {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": term("web")}}}}),
    );
    let loner = with(
        labelled("loner", "n1", "db"),
        json!({"spec": {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": term("web")}}}}),
    );
    let plain_web = with(
        pending("w", "100m", "0"),
        json!({"metadata": {"labels": {"app": "web"}}}),
    );

    // Affinity follows the cache to n2 even though n1 is emptier.
    let cache_on_n2 = vec![labelled("cache", "n2", "cache"), labelled("x", "n2", "x")];
    assert_eq!(
        schedule(&wants_cache, &nodes, &cache_on_n2).ok().as_deref(),
        Some("n2")
    );
    // No cache anywhere, and the pod is no cache itself: nowhere.
    assert_eq!(
        err_text(schedule(&wants_cache, &nodes, &[])),
        "0/2 nodes are available: 2 node(s) didn't match pod affinity rules. \
         preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."
    );
    // The first pod of a self-affine group may start it anywhere.
    assert_eq!(
        schedule(&self_affine, &nodes, &[]).ok().as_deref(),
        Some("n1")
    );
    // Anti-affinity avoids the node with a web pod; with both taken, nothing is left.
    assert_eq!(
        schedule(&shy, &nodes, &[labelled("web-1", "n1", "web")])
            .ok()
            .as_deref(),
        Some("n2")
    );
    assert_eq!(
        err_text(schedule(
            &shy,
            &nodes,
            &[
                labelled("web-1", "n1", "web"),
                labelled("web-2", "n2", "web")
            ]
        )),
        "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules. \
         preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod."
    );
    // Symmetry: a bound pod's anti-affinity keeps matching pods off its node.
    assert_eq!(
        schedule(&plain_web, &nodes, std::slice::from_ref(&loner))
            .ok()
            .as_deref(),
        Some("n2")
    );
    assert_eq!(
        err_text(schedule(&plain_web, &nodes[..1], &[loner])),
        "0/1 nodes are available: 1 node(s) didn't satisfy existing pods anti-affinity rules. \
         preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
    );
}

#[test]
fn anti_affinity_in_other_namespaces_does_not_apply() {
    let nodes = vec![node("n1", "4", "8Gi", 110)];
    let shy = with(
        pending("web", "100m", "0"),
        json!({"metadata": {"labels": {"app": "web"}}, "spec": {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "web"}}}
        ]}}}}),
    );
    let other_ns = with(
        bound("web-x", "n1", "100m", "0"),
        json!({"metadata": {"namespace": "other", "labels": {"app": "web"}}}),
    );
    assert_eq!(
        schedule(&shy, &nodes, &[other_ns]).ok().as_deref(),
        Some("n1")
    );
}

#[test]
fn hard_topology_spread_constraints() {
    let zoned = |name: &str, zone: Option<&str>| match zone {
        Some(z) => with(
            node(name, "4", "8Gi", 110),
            json!({"metadata": {"labels": {"topology.kubernetes.io/zone": z}}}),
        ),
        None => node(name, "4", "8Gi", 110),
    };
    let spread_pod = with(
        pending("web", "100m", "0"),
        json!({"metadata": {"labels": {"app": "web"}}, "spec": {"topologySpreadConstraints": [{
            "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"app": "web"}}
        }]}}),
    );
    let web_on = |name: &str, node: &str| {
        with(
            bound(name, node, "100m", "0"),
            json!({"metadata": {"labels": {"app": "web"}}}),
        )
    };
    let nodes = vec![zoned("a1", Some("a")), zoned("b1", Some("b"))];
    assert_eq!(
        schedule(&spread_pod, &nodes, &[web_on("w1", "a1")])
            .ok()
            .as_deref(),
        Some("b1")
    );
    // One more in each zone keeps the skew at 1 either way.
    assert_eq!(
        schedule(
            &spread_pod,
            &nodes,
            &[web_on("w1", "a1"), web_on("w2", "b1")]
        )
        .ok()
        .as_deref(),
        Some("a1")
    );
    // A cordoned node still counts as a domain, so zone a is one ahead of zone b.
    let cordoned_b = with(
        zoned("b1", Some("b")),
        json!({"spec": {"unschedulable": true}}),
    );
    let mixed = vec![zoned("a1", Some("a")), cordoned_b, zoned("x", None)];
    assert_eq!(
        err_text(schedule(&spread_pod, &mixed, &[web_on("w1", "a1")])),
        "0/3 nodes are available: 1 node(s) didn't match pod topology spread constraints, \
         1 node(s) didn't match pod topology spread constraints (missing required label), \
         1 node(s) were unschedulable. preemption: 0/3 nodes are available: \
         1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling."
    );
    // With a single domain there is no skew to speak of.
    let single = vec![zoned("a1", Some("a")), zoned("x", None)];
    assert_eq!(
        schedule(
            &spread_pod,
            &single,
            &[web_on("w1", "a1"), web_on("w2", "a1")]
        )
        .ok()
        .as_deref(),
        Some("a1")
    );
}

#[test]
fn soft_topology_spread_constraints() {
    let zoned = |name: &str, zone: Option<&str>| match zone {
        Some(z) => with(
            node(name, "4", "8Gi", 110),
            json!({"metadata": {"labels": {"topology.kubernetes.io/zone": z}}}),
        ),
        None => node(name, "4", "8Gi", 110),
    };
    let pod = with(
        pending("web", "100m", "0"),
        json!({"metadata": {"labels": {"app": "web"}}, "spec": {"topologySpreadConstraints": [{
            "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": {"app": "web"}}
        }]}}),
    );
    let existing = with(
        bound("w1", "a1", "100m", "0"),
        json!({"metadata": {"labels": {"app": "web"}}}),
    );
    let nodes = vec![
        zoned("a1", Some("a")),
        zoned("b1", Some("b")),
        zoned("x", None),
    ];
    let s = scores(&pod, &nodes, std::slice::from_ref(&existing));
    let spread: Vec<(String, i64)> = s
        .iter()
        .map(|n| {
            (
                n.node.clone(),
                n.plugins
                    .iter()
                    .find(|(p, _)| *p == "PodTopologySpread")
                    .map_or(-1, |(_, v)| *v),
            )
        })
        .collect();
    // A node without the key is not scored by an explicit constraint; it can still be chosen.
    assert_eq!(
        spread,
        vec![("a1".into(), 0), ("b1".into(), 100), ("x".into(), 0)]
    );
    assert_eq!(
        schedule(&pod, &nodes, &[existing]).ok().as_deref(),
        Some("b1")
    );
}

// ---------------------------------------------------------------- scores

#[test]
fn scores_prefer_untainted_and_preferred_nodes() {
    let soft = with(
        node("soft", "4", "8Gi", 110),
        json!({"spec": {"taints": [{"key": "spot", "effect": "PreferNoSchedule"}]}}),
    );
    let nodes = vec![soft, node("plain", "4", "8Gi", 110)];
    let pod = pending("p", "100m", "128Mi");
    assert_eq!(schedule(&pod, &nodes, &[]).ok().as_deref(), Some("plain"));
    let s = scores(&pod, &nodes, &[]);
    let taint_scores: Vec<(String, i64)> =
        s.iter().map(|n| (n.node.clone(), n.plugins[0].1)).collect();
    assert_eq!(
        taint_scores,
        vec![("plain".into(), 100), ("soft".into(), 0)]
    );

    let fond = with(
        pod,
        json!({"spec": {"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 100, "preference": {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": ["soft"]}]}}
        ]}}}}),
    );
    // Node affinity (weight 2 x 100) outweighs the soft taint (weight 3 x 100)? No: 200 < 300.
    assert_eq!(schedule(&fond, &nodes, &[]).ok().as_deref(), Some("plain"));
    let tolerant = with(
        fond,
        json!({"spec": {"tolerations": [{"key": "spot", "operator": "Exists"}]}}),
    );
    assert_eq!(
        schedule(&tolerant, &nodes, &[]).ok().as_deref(),
        Some("soft")
    );
}

#[test]
fn resource_scores_values() {
    let nodes = vec![node("n1", "4", "8Gi", 110), node("n2", "4", "8Gi", 110)];
    let pods = vec![bound("a", "n1", "2", "1Gi")];
    let s = scores(&pending("p", "1", "1Gi"), &nodes, &pods);
    let get = |node: &str, plugin: &str| {
        s.iter()
            .find(|n| n.node == node)
            .and_then(|n| n.plugins.iter().find(|(p, _)| *p == plugin))
            .map(|(_, v)| *v)
    };
    // n1: cpu 3/4 used -> 25 free, memory 2/8 -> 75 free: average 50.
    assert_eq!(get("n1", "NodeResourcesFit"), Some(50));
    // n2: cpu 1/4 -> 75, memory 1/8 -> 87: average 81.
    assert_eq!(get("n2", "NodeResourcesFit"), Some(81));
    // Balanced: |0.75 - 0.25| / 2 = 0.25 -> 75; |0.25 - 0.125| / 2 = 0.0625 -> 93.
    assert_eq!(get("n1", "NodeResourcesBalancedAllocation"), Some(75));
    assert_eq!(get("n2", "NodeResourcesBalancedAllocation"), Some(93));
    let d = decide(&pending("p", "1", "1Gi"), &nodes, &pods).expect("fits");
    assert_eq!(d.node, "n2");
}

#[test]
fn scores_are_empty_when_nothing_fits_and_single_node_is_not_scored_by_decide() {
    let nodes = vec![node("n1", "1", "1Gi", 110)];
    assert!(scores(&pending("p", "2", "0"), &nodes, &[]).is_empty());
    let d = decide(&pending("p", "1", "0"), &nodes, &[]).expect("fits");
    assert_eq!((d.node.as_str(), d.scores.len()), ("n1", 0));
    assert_eq!(scores(&pending("p", "1", "0"), &nodes, &[]).len(), 1);
}

// ---------------------------------------------------------------- filters, one by one

#[test]
fn filter_node_unschedulable() {
    let cordoned = with(
        node("n", "1", "1Gi", 10),
        json!({"spec": {"unschedulable": true}}),
    );
    let tolerant = with(
        pending("p", "0", "0"),
        json!({"spec": {"tolerations": [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}]}}),
    );
    let plain = pending("p", "0", "0");
    assert_eq!(
        filters::node_unschedulable(&plain, &cordoned),
        rejection(filters::REASON_UNSCHEDULABLE, true)
    );
    assert_eq!(filters::node_unschedulable(&tolerant, &cordoned), Ok(()));
    assert_eq!(
        filters::node_unschedulable(&plain, &node("n", "1", "1Gi", 10)),
        Ok(())
    );
}

#[test]
fn filter_taint_toleration() {
    let tainted = |taints: serde_json::Value| {
        with(
            node("n", "1", "1Gi", 10),
            json!({"spec": {"taints": taints}}),
        )
    };
    let plain = pending("p", "0", "0");
    let cases = [
        (
            "no taints",
            node("n", "1", "1Gi", 10),
            plain.clone(),
            Ok(()),
        ),
        (
            "NoSchedule",
            tainted(json!([{"key": "dedicated", "value": "db", "effect": "NoSchedule"}])),
            plain.clone(),
            rejection("node(s) had untolerated taint {dedicated: db}", true),
        ),
        (
            "NoExecute (unreachable node)",
            tainted(json!([{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}])),
            plain.clone(),
            rejection(
                "node(s) had untolerated taint {node.kubernetes.io/unreachable: }",
                true,
            ),
        ),
        (
            "PreferNoSchedule only affects scores",
            tainted(json!([{"key": "soft", "effect": "PreferNoSchedule"}])),
            plain.clone(),
            Ok(()),
        ),
        (
            "tolerated",
            tainted(json!([{"key": "dedicated", "value": "db", "effect": "NoSchedule"}])),
            with(
                plain.clone(),
                json!({"spec": {"tolerations": [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]}}),
            ),
            Ok(()),
        ),
        (
            "first untolerated taint is reported",
            tainted(json!([
                {"key": "a", "effect": "NoSchedule"},
                {"key": "b", "effect": "NoSchedule"}
            ])),
            with(
                plain.clone(),
                json!({"spec": {"tolerations": [{"key": "a", "operator": "Exists"}]}}),
            ),
            rejection("node(s) had untolerated taint {b: }", true),
        ),
        (
            "kubeadm's control-plane taint",
            control_plane("cp"),
            plain.clone(),
            rejection(
                "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }",
                true,
            ),
        ),
    ];
    for (name, n, pod, want) in cases {
        assert_eq!(filters::taint_toleration(&pod, &n), want, "{name}");
    }
}

#[test]
fn filter_node_affinity() {
    let n = with(
        node("n", "1", "1Gi", 10),
        json!({"metadata": {"labels": {"disktype": "ssd"}}}),
    );
    let sel = |v: &str| {
        with(
            pending("p", "0", "0"),
            json!({"spec": {"nodeSelector": {"disktype": v}}}),
        )
    };
    assert_eq!(filters::node_affinity(&sel("ssd"), &n), Ok(()));
    assert_eq!(
        filters::node_affinity(&sel("hdd"), &n),
        rejection(filters::REASON_NODE_AFFINITY, true)
    );
    let required = with(
        pending("p", "0", "0"),
        json!({"spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [{"key": "disktype", "operator": "NotIn", "values": ["ssd"]}]}]
        }}}}}),
    );
    assert_eq!(
        filters::node_affinity(&required, &n),
        rejection(filters::REASON_NODE_AFFINITY, true)
    );
}

#[test]
fn filter_node_ports() {
    let port = |ip: Option<&str>, proto: Option<&str>, port: i32| {
        let mut p = json!({"containerPort": 80, "hostPort": port});
        if let Some(ip) = ip {
            p["hostIP"] = json!(ip);
        }
        if let Some(proto) = proto {
            p["protocol"] = json!(proto);
        }
        with(
            pending("p", "0", "0"),
            json!({"spec": {"containers": [{"name": "c", "ports": [p]}]}}),
        )
    };
    let on_node = |p: k8s_openapi::api::core::v1::Pod| {
        with(
            p,
            json!({"metadata": {"name": "old", "uid": "old"}, "spec": {"nodeName": "n"}, "status": {"phase": "Running"}}),
        )
    };
    let nodes = vec![node("n", "1", "1Gi", 10)];
    let cases = [
        (
            "same port",
            port(None, None, 8080),
            port(None, None, 8080),
            false,
        ),
        (
            "other port",
            port(None, None, 8080),
            port(None, None, 8081),
            true,
        ),
        (
            "other protocol",
            port(None, Some("UDP"), 8080),
            port(None, None, 8080),
            true,
        ),
        (
            "TCP is the default protocol",
            port(None, Some("TCP"), 8080),
            port(None, None, 8080),
            false,
        ),
        (
            "distinct host IPs",
            port(Some("10.0.0.1"), None, 8080),
            port(Some("10.0.0.2"), None, 8080),
            true,
        ),
        (
            "0.0.0.0 in use blocks every IP",
            port(None, None, 8080),
            port(Some("10.0.0.2"), None, 8080),
            false,
        ),
        (
            "0.0.0.0 wanted clashes with any IP",
            port(Some("10.0.0.1"), None, 8080),
            port(Some("0.0.0.0"), None, 8080),
            false,
        ),
    ];
    for (name, used, wanted, fits) in cases {
        let pods = vec![on_node(used)];
        let snap = Snapshot::new(&wanted, &nodes, &pods);
        let want = if fits {
            Ok(())
        } else {
            rejection(filters::REASON_PORTS, false)
        };
        assert_eq!(filters::node_ports(&wanted, &snap.nodes[0]), want, "{name}");
    }
}

#[test]
fn filter_node_resources_fit() {
    let nodes = vec![node("n", "2", "2Gi", 3)];
    let pods = vec![
        bound("a", "n", "1", "1Gi"),
        bound("b", "n", "500m", "512Mi"),
    ];
    let cases = [
        ("fits exactly", pending("p", "500m", "512Mi"), Ok(())),
        ("no requests", pending("p", "0", "0"), Ok(())),
        (
            "cpu short",
            pending("p", "600m", "0"),
            rejection("Insufficient cpu", false),
        ),
        (
            "memory short",
            pending("p", "0", "513Mi"),
            rejection("Insufficient memory", false),
        ),
        (
            "more than the node has",
            pending("p", "3", "3Gi"),
            Err(Rejection {
                reasons: vec!["Insufficient cpu".into(), "Insufficient memory".into()],
                unresolvable: true,
            }),
        ),
        (
            "extended resource the node lacks",
            with(
                pending("p", "0", "0"),
                json!({"spec": {"containers": [{"name": "c", "resources": {"requests": {"example.com/gpu": "1"}}}]}}),
            ),
            rejection("Insufficient example.com/gpu", true),
        ),
        (
            "ephemeral storage",
            with(
                pending("p", "0", "0"),
                json!({"spec": {"containers": [{"name": "c", "resources": {"requests": {"ephemeral-storage": "1Gi"}}}]}}),
            ),
            rejection("Insufficient ephemeral-storage", true),
        ),
    ];
    for (name, pod, want) in cases {
        let snap = Snapshot::new(&pod, &nodes, &pods);
        let request = resources::pod_requests(&pod, false);
        assert_eq!(
            filters::node_resources_fit(&request, &snap.nodes[0]),
            want,
            "{name}"
        );
    }
    let full = vec![
        bound("a", "n", "0", "0"),
        bound("b", "n", "0", "0"),
        bound("c", "n", "0", "0"),
    ];
    let pod = pending("p", "0", "0");
    let snap = Snapshot::new(&pod, &nodes, &full);
    let request = resources::pod_requests(&pod, false);
    assert_eq!(
        filters::node_resources_fit(&request, &snap.nodes[0]),
        rejection(filters::REASON_TOO_MANY_PODS, false)
    );
}

#[test]
fn which_pods_need_scheduling() {
    let cases = [
        ("pending", pending("p", "0", "0"), true),
        ("bound", bound("p", "n", "0", "0"), false),
        (
            "other scheduler",
            with(
                pending("p", "0", "0"),
                json!({"spec": {"schedulerName": "volcano"}}),
            ),
            false,
        ),
        (
            "named default",
            with(
                pending("p", "0", "0"),
                json!({"spec": {"schedulerName": "default-scheduler"}}),
            ),
            true,
        ),
        (
            "gated",
            with(
                pending("p", "0", "0"),
                json!({"spec": {"schedulingGates": [{"name": "wait"}]}}),
            ),
            false,
        ),
        (
            "deleting",
            with(
                pending("p", "0", "0"),
                json!({"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"}}),
            ),
            false,
        ),
        (
            "failed",
            with(
                pending("p", "0", "0"),
                json!({"status": {"phase": "Failed"}}),
            ),
            false,
        ),
    ];
    for (name, pod, want) in cases {
        assert_eq!(needs_scheduling(&pod), want, "{name}");
    }
}

#[test]
fn odd_objects_never_panic() {
    let weird_nodes = vec![
        node_from(json!({})),
        node_from(json!({"metadata": {"name": "bare"}})),
        node_from(
            json!({"metadata": {"name": "junk"}, "status": {"allocatable": {"cpu": "lots", "memory": "-1", "pods": "1e999"}}}),
        ),
        node_from(
            json!({"metadata": {"name": "huge"}, "status": {"allocatable": {"cpu": "9e99", "memory": "8Ei", "pods": "999999999999999999999"}}}),
        ),
        with(
            node("ok", "1", "1Gi", 10),
            json!({"spec": {"taints": [{"key": "", "effect": ""}]}}),
        ),
    ];
    let weird_pods = vec![
        pod_from(json!({})),
        pod_from(json!({"metadata": {"name": "nospec"}})),
        with(
            pending("p", "9e99", "8Ei"),
            json!({"spec": {
                "topologySpreadConstraints": [
                    {"maxSkew": -3, "topologyKey": "", "whenUnsatisfiable": "DoNotSchedule", "minDomains": -1},
                    {"maxSkew": 0, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway"}
                ],
                "affinity": {
                    "nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                        {"weight": -2147483648, "preference": {"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]}},
                        {"weight": 2147483647, "preference": {"matchFields": [{"key": "metadata.name", "operator": "NotIn", "values": ["x"]}]}}
                    ]},
                    "podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": ""}]},
                    "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "", "labelSelector": {"matchExpressions": [{"key": "a", "operator": "Bogus"}]}}]}
                },
                "overhead": {"cpu": "💥"},
                "containers": [{"name": "c", "ports": [{"containerPort": 1, "hostPort": -5}, {"containerPort": 1, "hostPort": 2147483647}]}]
            }}),
        ),
        with(
            bound("b", "junk", "1", "1"),
            json!({"spec": {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "kubernetes.io/hostname", "labelSelector": {}}]}}}}),
        ),
    ];
    for pod in &weird_pods {
        let _ = schedule(pod, &weird_nodes, &weird_pods);
        let _ = scores(pod, &weird_nodes, &weird_pods);
        let _ = decide(pod, &[], &weird_pods).map_err(|e| e.to_string());
        let _ = needs_scheduling(pod);
    }
}
