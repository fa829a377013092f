use serde_json::{Value, json};

use super::*;
use crate::controllers::fixtures::from;

// These tests count time from the epoch itself.
fn at(secs: i64) -> k8s_openapi::jiff::Timestamp {
    k8s_openapi::jiff::Timestamp::from_second(secs).unwrap()
}

fn rfc(secs: i64) -> String {
    at(secs).to_string()
}

const CREATED: i64 = 1_000;
const BEAT: i64 = 10_000;

fn cond(type_: &str, status: &str, beat: i64) -> Value {
    json!({"type": type_, "status": status, "reason": "KubeletSays", "message": "fine",
           "lastHeartbeatTime": rfc(beat), "lastTransitionTime": rfc(CREATED)})
}

fn node(conditions: Value, taints: Value) -> Node {
    from(json!({
        "metadata": {"name": "n1", "uid": "node-uid", "creationTimestamp": rfc(CREATED)},
        "spec": {"taints": taints},
        "status": {"conditions": conditions},
    }))
}

fn healthy(beat: i64) -> Value {
    json!([
        cond("MemoryPressure", "False", beat),
        cond("DiskPressure", "False", beat),
        cond("PIDPressure", "False", beat),
        cond("Ready", "True", beat),
    ])
}

fn lease(renew: i64) -> Lease {
    from(json!({
        "metadata": {"name": "n1", "namespace": "kube-node-lease"},
        "spec": {"holderIdentity": "n1", "leaseDurationSeconds": 40,
                 "renewTime": format!("{}", at(renew))},
    }))
}

fn status_of<'a>(conds: &'a [NodeCondition], type_: &str) -> Option<&'a str> {
    conds
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| c.status.as_str())
}

fn keys(taints: &[Taint]) -> Vec<(&str, &str)> {
    taints
        .iter()
        .map(|t| (t.key.as_str(), t.effect.as_str()))
        .collect()
}

#[test]
fn grace_period_edges() {
    let g = Grace::default();
    // (heartbeat, lease renewal, now, goes Unknown)
    let cases = [
        (BEAT, None, BEAT + 50, false),
        (BEAT, None, BEAT + 51, true),
        (BEAT, Some(BEAT + 30), BEAT + 51, false),
        (BEAT, Some(BEAT + 30), BEAT + 80, false),
        (BEAT, Some(BEAT + 30), BEAT + 81, true),
        // An old lease does not hide a fresh heartbeat.
        (BEAT, Some(BEAT - 500), BEAT + 20, false),
    ];
    for (beat, renew, now, unknown) in cases {
        let n = node(healthy(beat), json!([]));
        let l = renew.map(lease);
        let d = decide(&n, l.as_ref(), at(now), g);
        assert_eq!(
            d.conditions.is_some(),
            unknown,
            "beat {beat} renew {renew:?} now {now}"
        );
        assert_eq!(d.mark_pods_not_ready, unknown);
        assert_eq!(d.events.len(), usize::from(unknown));
    }
}

#[test]
fn stale_node_goes_unknown_and_tainted() {
    let n = node(healthy(BEAT), json!([]));
    let now = BEAT + 60;
    let d = decide(&n, None, at(now), Grace::default());
    let conds = d.conditions.expect("status write");
    for type_ in ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"] {
        let c = conds.iter().find(|c| c.type_ == type_).expect("present");
        assert_eq!(c.status, "Unknown", "{type_}");
        assert_eq!(c.reason.as_deref(), Some("NodeStatusUnknown"));
        assert_eq!(
            c.message.as_deref(),
            Some("Kubelet stopped posting node status.")
        );
        // The heartbeat stays the kubelet's last; the transition is now.
        assert_eq!(
            c.last_heartbeat_time.as_ref().map(|t| t.0.as_second()),
            Some(BEAT)
        );
        assert_eq!(
            c.last_transition_time.as_ref().map(|t| t.0.as_second()),
            Some(now)
        );
    }
    let e = &d.events[0];
    assert_eq!(
        (e.reason.as_str(), e.message.as_str()),
        ("NodeNotReady", "Node n1 status is now: NodeNotReady")
    );
    assert_eq!(e.involved.kind.as_deref(), Some("Node"));
    assert_eq!(e.type_, EventType::Normal);

    assert_eq!(
        keys(&d.taints.add),
        [
            (TAINT_UNREACHABLE, "NoSchedule"),
            (TAINT_UNREACHABLE, "NoExecute")
        ]
    );
    assert!(
        d.taints
            .add
            .iter()
            .all(|t| t.time_added.as_ref().map(|t| t.0.as_second()) == Some(now))
    );
    assert!(d.taints.remove.is_empty());

    // Next pass, status written and tainted: nothing more to do, no second event.
    let mut written = n.clone();
    if let Some(s) = written.status.as_mut() {
        s.conditions = Some(conds);
    }
    if let Some(s) = written.spec.as_mut() {
        s.taints = Some(d.taints.apply(&[]));
    }
    let again = decide(&written, None, at(now + 30), Grace::default());
    assert_eq!(again, NodeDecision::default());
}

#[test]
fn never_posted_status_uses_startup_grace() {
    let n = node(json!([]), json!([]));
    assert_eq!(
        decide(&n, None, at(CREATED + 60), Grace::default()).conditions,
        None
    );
    let d = decide(&n, None, at(CREATED + 61), Grace::default());
    let conds = d.conditions.expect("write");
    let ready = conds.iter().find(|c| c.type_ == "Ready").expect("added");
    assert_eq!(ready.status, "Unknown");
    assert_eq!(ready.reason.as_deref(), Some("NodeStatusNeverUpdated"));
    assert_eq!(
        ready.message.as_deref(),
        Some("Kubelet never posted node status.")
    );
    assert_eq!(
        ready.last_heartbeat_time.as_ref().map(|t| t.0.as_second()),
        Some(CREATED)
    );
    // It was never Ready, so no NodeNotReady event.
    assert!(d.events.is_empty());
    // A lease alone keeps it healthy.
    assert_eq!(
        decide(
            &n,
            Some(&lease(CREATED + 50)),
            at(CREATED + 61),
            Grace::default()
        )
        .conditions,
        None
    );
}

#[test]
fn taints_follow_ready() {
    let g = Grace::default();
    let now = BEAT + 5;
    let unreachable = json!([
        {"key": TAINT_UNREACHABLE, "effect": "NoSchedule", "timeAdded": rfc(BEAT)},
        {"key": TAINT_UNREACHABLE, "effect": "NoExecute", "timeAdded": rfc(BEAT)},
        {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"},
    ]);
    // Ready False while unreachable: swap to not-ready at once.
    let mut conds = healthy(BEAT);
    conds[3]["status"] = json!("False");
    let d = decide(&node(conds, unreachable.clone()), None, at(now), g);
    assert_eq!(
        keys(&d.taints.add),
        [
            (TAINT_NOT_READY, "NoSchedule"),
            (TAINT_NOT_READY, "NoExecute")
        ]
    );
    assert_eq!(
        keys(&d.taints.remove),
        [
            (TAINT_UNREACHABLE, "NoSchedule"),
            (TAINT_UNREACHABLE, "NoExecute")
        ]
    );
    // Ready again: controller taints go, the user's stays.
    let d = decide(&node(healthy(BEAT), unreachable.clone()), None, at(now), g);
    assert!(d.taints.add.is_empty());
    let left = d.taints.apply(&from::<Vec<Taint>>(unreachable));
    assert_eq!(keys(&left), [("dedicated", "NoSchedule")]);

    // Pressure and cordon taints are NoSchedule only.
    let mut conds = healthy(BEAT);
    conds[0]["status"] = json!("True");
    let mut n = node(conds, json!([]));
    if let Some(s) = n.spec.as_mut() {
        s.unschedulable = Some(true);
    }
    let d = decide(&n, None, at(now), g);
    assert_eq!(
        keys(&d.taints.add),
        [
            (TAINT_MEMORY_PRESSURE, "NoSchedule"),
            (TAINT_UNSCHEDULABLE, "NoSchedule")
        ]
    );
}

fn pod(name: &str, tolerations: Value, tweak: impl FnOnce(&mut Value)) -> Pod {
    let mut v = json!({
        "metadata": {"name": name, "namespace": "ns", "uid": format!("uid-{name}")},
        "spec": {"nodeName": "n1", "tolerations": tolerations, "containers": [{"name": "c", "image": "i"}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
    });
    tweak(&mut v);
    from(v)
}

fn key(name: &str) -> PodKey {
    PodKey {
        namespace: "ns".into(),
        name: name.into(),
    }
}

#[test]
fn eviction_timings() {
    const ADDED: i64 = 20_000;
    let n = node(
        healthy(BEAT),
        json!([
            {"key": TAINT_UNREACHABLE, "effect": "NoExecute", "timeAdded": rfc(ADDED)},
            {"key": TAINT_UNREACHABLE, "effect": "NoSchedule", "timeAdded": rfc(ADDED)},
        ]),
    );
    let default_tolerations = json!([
        {"key": TAINT_NOT_READY, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
        {"key": TAINT_UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    ]);
    let pods = [
        pod("plain", json!([]), |_| {}),
        pod("default", default_tolerations, |_| {}),
        pod(
            "short",
            json!([{"key": TAINT_UNREACHABLE, "operator": "Exists", "tolerationSeconds": 30}]),
            |_| {},
        ),
        pod("forever", json!([{"operator": "Exists"}]), |_| {}),
        pod(
            "zero",
            json!([{"key": TAINT_UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 0}]),
            |_| {},
        ),
        pod(
            "wrong-effect",
            json!([{"key": TAINT_UNREACHABLE, "operator": "Exists", "effect": "NoSchedule"}]),
            |_| {},
        ),
        pod("gone", json!([]), |v| {
            v["metadata"]["deletionTimestamp"] = json!(rfc(ADDED))
        }),
        pod("elsewhere", json!([]), |v| {
            v["spec"]["nodeName"] = json!("n2")
        }),
    ];
    // (now, due, scheduled, next wake-up)
    type Case<'a> = (i64, Vec<&'a str>, Vec<(&'a str, i64)>, Option<i64>);
    let cases: [Case<'_>; 4] = [
        (
            ADDED,
            vec!["plain", "zero", "wrong-effect"],
            vec![("default", ADDED + 300), ("short", ADDED + 30)],
            Some(ADDED + 30),
        ),
        (
            ADDED + 29,
            vec!["plain", "zero", "wrong-effect"],
            vec![("default", ADDED + 300), ("short", ADDED + 30)],
            Some(ADDED + 30),
        ),
        (
            ADDED + 30,
            vec!["plain", "short", "zero", "wrong-effect"],
            vec![("default", ADDED + 300)],
            Some(ADDED + 300),
        ),
        (
            ADDED + 300,
            vec!["plain", "default", "short", "zero", "wrong-effect"],
            vec![],
            None,
        ),
    ];
    for (now, due, scheduled, wake) in cases {
        let got = evictions(&n, &pods, at(now));
        let mut got_due = got.due.clone();
        got_due.sort();
        let mut want_due: Vec<PodKey> = due.iter().map(|n| key(n)).collect();
        want_due.sort();
        assert_eq!(got_due, want_due, "now {now}");
        let want_sched: Vec<(PodKey, Timestamp)> =
            scheduled.iter().map(|(n, t)| (key(n), at(*t))).collect();
        assert_eq!(got.scheduled, want_sched, "now {now}");
        assert_eq!(got.next_wakeup, wake.map(at), "now {now}");
    }

    // No NoExecute taint: nothing at all.
    let calm = node(healthy(BEAT), json!([{"key": "x", "effect": "NoSchedule"}]));
    assert_eq!(evictions(&calm, &pods, at(ADDED)), Evictions::default());
}

#[test]
fn toleration_matching() {
    let taint: Taint = from(json!({"key": "k", "value": "v", "effect": "NoExecute"}));
    let cases = [
        (json!({"key": "k", "operator": "Equal", "value": "v"}), true),
        (json!({"key": "k", "value": "v"}), true),
        (json!({"key": "k", "value": "w"}), false),
        (json!({"key": "k", "operator": "Exists"}), true),
        (json!({"operator": "Exists"}), true),
        (json!({"operator": "Exists", "effect": "NoSchedule"}), false),
        (json!({"key": "other", "operator": "Exists"}), false),
        (json!({"key": "k", "operator": "Lt", "value": "v"}), false),
    ];
    for (t, want) in cases {
        let tol: Toleration = from(t.clone());
        assert_eq!(tolerates(&tol, &taint), want, "{t}");
    }
}

#[test]
fn eviction_wording() {
    let k = key("web-0");
    let e = eviction_event(&k);
    assert_eq!(
        (e.reason.as_str(), e.message.as_str()),
        ("TaintManagerEviction", "Marking for deletion Pod ns/web-0")
    );
    assert_eq!(
        cancel_event(&k).message,
        "Cancelling deletion of Pod ns/web-0"
    );
    let c = disruption_condition(at(5));
    assert_eq!(
        (
            c.type_.as_str(),
            c.status.as_str(),
            c.reason.as_deref(),
            c.message.as_deref()
        ),
        (
            "DisruptionTarget",
            "True",
            Some("DeletionByTaintManager"),
            Some("Taint manager: deleting due to NoExecute taint")
        )
    );
}

#[test]
fn marking_pods_not_ready() {
    let pods = [
        pod("a", json!([]), |_| {}),
        pod("b", json!([]), |v| {
            v["status"]["conditions"][0]["status"] = json!("False")
        }),
        pod("c", json!([]), |v| v["spec"]["nodeName"] = json!("n2")),
        pod("d", json!([]), |v| v["status"]["conditions"] = json!([])),
    ];
    let got = pods_to_mark_not_ready("n1", &pods, at(77));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].name, "a");
    assert_eq!(status_of_pod(&got[0].conditions), Some("False"));
    assert_eq!(
        got[0].conditions[0]
            .last_transition_time
            .as_ref()
            .map(|t| t.0.as_second()),
        Some(77)
    );
    assert_eq!(
        (
            got[0].event.type_,
            got[0].event.reason.as_str(),
            got[0].event.message.as_str()
        ),
        (EventType::Warning, "NodeNotReady", "Node is not ready")
    );
}

fn status_of_pod(conds: &[PodCondition]) -> Option<&str> {
    conds
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| c.status.as_str())
}

#[test]
fn conditions_helper() {
    let n = node(healthy(BEAT), json!([]));
    let conds = n.status.and_then(|s| s.conditions).unwrap_or_default();
    assert_eq!(status_of(&conds, "Ready"), Some("True"));
}
