use serde_json::{Value, json};

use super::*;
use crate::controllers::fixtures::{from, rfc};

fn svc(spec: Value) -> Service {
    from(json!({
        "metadata": {"name": "web", "namespace": "ns", "uid": "svc-uid", "labels": {"app": "web"}},
        "spec": spec,
    }))
}

fn web_svc() -> Service {
    svc(json!({
        "selector": {"app": "web"},
        "clusterIP": "10.0.0.10",
        "ipFamilies": ["IPv4"],
        "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}],
    }))
}

/// A running pod of `web` on node `n1`; `tweak` edits the JSON before it is typed.
fn pod(name: &str, ip: &str, ready: bool, tweak: impl FnOnce(&mut Value)) -> Pod {
    let mut v = json!({
        "metadata": {"name": name, "namespace": "ns", "uid": format!("uid-{name}"),
                     "resourceVersion": "7", "labels": {"app": "web"}},
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "i",
                 "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]}]},
        "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                   "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]},
    });
    tweak(&mut v);
    from(v)
}

fn node(name: &str, zone: Option<&str>) -> Node {
    let labels = match zone {
        Some(z) => json!({"topology.kubernetes.io/zone": z}),
        None => json!({}),
    };
    from(json!({"metadata": {"name": name, "labels": labels}}))
}

fn ips(list: &Option<Vec<EndpointAddress>>) -> Vec<&str> {
    list.iter().flatten().map(|a| a.ip.as_str()).collect()
}

fn ports_of(s: &EndpointSubset) -> Vec<(Option<&str>, i32)> {
    s.ports
        .iter()
        .flatten()
        .map(|p| (p.name.as_deref(), p.port))
        .collect()
}

#[test]
fn services_left_alone() {
    let pods = [pod("a", "10.1.0.1", true, |_| {})];
    let cases = [
        (
            "no selector",
            svc(json!({"clusterIP": "10.0.0.10", "ports": [{"port": 80}]})),
        ),
        (
            "empty selector",
            svc(json!({"selector": {}, "ports": [{"port": 80}]})),
        ),
        (
            "ExternalName",
            svc(
                json!({"type": "ExternalName", "externalName": "x.example", "selector": {"app": "web"}}),
            ),
        ),
    ];
    for (what, s) in cases {
        assert_eq!(endpoints(&s, &pods), None, "{what}");
        assert!(
            endpoint_slices(&s, &pods, &[node("n1", None)]).is_empty(),
            "{what}"
        );
    }
}

#[test]
fn ready_and_not_ready_addresses() {
    let pods = [
        pod("b", "10.1.0.2", true, |_| {}),
        pod("a", "10.1.0.1", true, |_| {}),
        pod("c", "10.1.0.3", false, |_| {}),
        // Another namespace, and unselected labels: neither counts.
        pod("x", "10.1.0.9", true, |v| {
            v["metadata"]["namespace"] = json!("other")
        }),
        pod("y", "10.1.0.8", true, |v| {
            v["metadata"]["labels"] = json!({"app": "db"})
        }),
    ];
    let ep = endpoints(&web_svc(), &pods).expect("managed");
    assert_eq!(ep.metadata.name.as_deref(), Some("web"));
    assert_eq!(ep.metadata.namespace.as_deref(), Some("ns"));
    let labels = ep.metadata.labels.clone().unwrap_or_default();
    assert_eq!(labels.get("app").map(String::as_str), Some("web"));
    assert_eq!(
        labels.get(LABEL_ENDPOINTS_MANAGED_BY).map(String::as_str),
        Some("endpoint-controller")
    );
    assert!(!labels.contains_key(LABEL_HEADLESS));
    assert!(ep.metadata.owner_references.is_none());

    let subsets = ep.subsets.clone().unwrap_or_default();
    assert_eq!(subsets.len(), 1);
    assert_eq!(ips(&subsets[0].addresses), ["10.1.0.1", "10.1.0.2"]);
    assert_eq!(ips(&subsets[0].not_ready_addresses), ["10.1.0.3"]);
    assert_eq!(ports_of(&subsets[0]), [(Some("http"), 8080)]);
    let a = &subsets[0].addresses.as_ref().expect("ready")[0];
    assert_eq!(a.node_name.as_deref(), Some("n1"));
    let r = a.target_ref.as_ref().expect("targetRef");
    assert_eq!(
        (
            r.kind.as_deref(),
            r.namespace.as_deref(),
            r.name.as_deref(),
            r.uid.as_deref()
        ),
        (Some("Pod"), Some("ns"), Some("a"), Some("uid-a"))
    );
    assert_eq!(r.resource_version, None);
}

#[test]
fn named_target_ports_split_subsets() {
    let s = svc(json!({
        "selector": {"app": "web"}, "clusterIP": "10.0.0.10",
        "ports": [
            {"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"},
            {"name": "metrics", "port": 9100, "protocol": "TCP", "targetPort": 9100},
        ],
    }));
    let other_port = |v: &mut Value| {
        v["spec"]["containers"][0]["ports"][0]["containerPort"] = json!(9090);
    };
    let no_named = |v: &mut Value| v["spec"]["containers"][0]["ports"] = json!([]);
    let udp_named = |v: &mut Value| {
        v["spec"]["containers"][0]["ports"][0]["protocol"] = json!("UDP");
    };
    let sidecar = |v: &mut Value| {
        v["spec"]["containers"][0]["ports"] = json!([]);
        v["spec"]["initContainers"] = json!([{"name": "side", "image": "i", "restartPolicy": "Always",
            "ports": [{"name": "http", "containerPort": 7070}]}]);
    };
    let pods = [
        pod("a", "10.1.0.1", true, |_| {}),
        pod("b", "10.1.0.2", true, other_port),
        pod("c", "10.1.0.3", true, no_named),
        pod("d", "10.1.0.4", true, udp_named),
        pod("e", "10.1.0.5", true, sidecar),
    ];
    let ep = endpoints(&s, &pods).expect("managed");
    type Subset<'a> = (Vec<&'a str>, Vec<(Option<&'a str>, i32)>);
    let mut got: Vec<Subset<'_>> = ep
        .subsets
        .iter()
        .flatten()
        .map(|s| (ips(&s.addresses), ports_of(s)))
        .collect();
    got.sort();
    assert_eq!(
        got,
        // Repacking groups each port with exactly the addresses offering it: every pod
        // offers metrics; http resolves to a different port per pod, and c and d (no TCP
        // port named http) do not offer it at all.
        [
            (vec!["10.1.0.1"], vec![(Some("http"), 8080)]),
            (
                vec!["10.1.0.1", "10.1.0.2", "10.1.0.3", "10.1.0.4", "10.1.0.5"],
                vec![(Some("metrics"), 9100)]
            ),
            (vec!["10.1.0.2"], vec![(Some("http"), 9090)]),
            (vec!["10.1.0.5"], vec![(Some("http"), 7070)]),
        ]
    );
}

#[test]
fn terminating_terminal_and_ipless_pods() {
    let terminating = |v: &mut Value| v["metadata"]["deletionTimestamp"] = json!(rfc(1000));
    let succeeded = |v: &mut Value| v["status"]["phase"] = json!("Succeeded");
    let no_ip = |v: &mut Value| {
        v["status"]["podIP"] = Value::Null;
        v["status"]["podIPs"] = Value::Null;
    };
    let only_pod_ip = |v: &mut Value| v["status"]["podIPs"] = Value::Null;
    let pods = [
        pod("a", "10.1.0.1", true, terminating),
        pod("b", "10.1.0.2", true, succeeded),
        pod("c", "", true, no_ip),
        pod("d", "10.1.0.4", true, only_pod_ip),
    ];
    let ep = endpoints(&web_svc(), &pods).expect("managed");
    let subsets = ep.subsets.unwrap_or_default();
    assert_eq!(subsets.len(), 1);
    assert_eq!(ips(&subsets[0].addresses), ["10.1.0.4"]);
    assert_eq!(subsets[0].not_ready_addresses, None);

    // Publishing not-ready addresses keeps terminating and unready pods, as ready.
    let mut publish = web_svc();
    if let Some(spec) = publish.spec.as_mut() {
        spec.publish_not_ready_addresses = Some(true);
    }
    let more = [
        pods[0].clone(),
        pods[1].clone(),
        pod("e", "10.1.0.5", false, |_| {}),
    ];
    let ep = endpoints(&publish, &more).expect("managed");
    let subsets = ep.subsets.unwrap_or_default();
    assert_eq!(ips(&subsets[0].addresses), ["10.1.0.1", "10.1.0.5"]);
}

#[test]
fn headless_without_ports_and_hostnames() {
    let s = svc(json!({"selector": {"app": "web"}, "clusterIP": "None"}));
    let named = |v: &mut Value| {
        v["spec"]["hostname"] = json!("web-0");
        v["spec"]["subdomain"] = json!("web");
    };
    let other_subdomain = |v: &mut Value| {
        v["spec"]["hostname"] = json!("web-1");
        v["spec"]["subdomain"] = json!("other");
    };
    let pods = [
        pod("a", "10.1.0.1", true, named),
        pod("b", "10.1.0.2", false, other_subdomain),
    ];
    let ep = endpoints(&s, &pods).expect("managed");
    let labels = ep.metadata.labels.clone().unwrap_or_default();
    assert_eq!(labels.get(LABEL_HEADLESS).map(String::as_str), Some(""));
    let subsets = ep.subsets.unwrap_or_default();
    assert_eq!(subsets.len(), 1);
    assert_eq!(subsets[0].ports, None);
    let ready = subsets[0].addresses.clone().unwrap_or_default();
    assert_eq!(ready[0].hostname.as_deref(), Some("web-0"));
    let not_ready = subsets[0].not_ready_addresses.clone().unwrap_or_default();
    assert_eq!(not_ready[0].hostname, None);

    // A non-headless service without ports publishes no subsets at all.
    let s = svc(json!({"selector": {"app": "web"}, "clusterIP": "10.0.0.10"}));
    assert_eq!(endpoints(&s, &pods).and_then(|e| e.subsets), None);
}

#[test]
fn endpoints_write_only_on_change() {
    let pods = [
        pod("a", "10.1.0.1", true, |_| {}),
        pod("b", "10.1.0.2", false, |_| {}),
    ];
    let desired = endpoints(&web_svc(), &pods).expect("managed");
    assert_eq!(endpoints_to_write(&desired, None), Some(desired.clone()));

    // As stored: server metadata, a trigger-time annotation, pod resourceVersions.
    let mut stored = desired.clone();
    stored.metadata.resource_version = Some("42".into());
    stored.metadata.uid = Some("ep-uid".into());
    stored.metadata.annotations = Some(BTreeMap::from([(
        "endpoints.kubernetes.io/last-change-trigger-time".into(),
        rfc(5),
    )]));
    for s in stored.subsets.iter_mut().flatten() {
        for a in s.addresses.iter_mut().flatten() {
            if let Some(r) = a.target_ref.as_mut() {
                r.resource_version = Some("99".into());
            }
        }
    }
    assert_eq!(endpoints_to_write(&desired, Some(&stored)), None);

    // b turns ready: an update keeping the stored metadata.
    let pods = [
        pod("a", "10.1.0.1", true, |_| {}),
        pod("b", "10.1.0.2", true, |_| {}),
    ];
    let desired = endpoints(&web_svc(), &pods).expect("managed");
    let update = endpoints_to_write(&desired, Some(&stored)).expect("changed");
    assert_eq!(update.metadata.resource_version.as_deref(), Some("42"));
    assert_eq!(
        ips(&update.subsets.unwrap_or_default()[0].addresses),
        ["10.1.0.1", "10.1.0.2"]
    );
}

#[test]
fn endpoints_over_capacity_are_truncated() {
    let pods: Vec<Pod> = (0..1005)
        .map(|i| {
            let ip = format!("10.2.{}.{}", i / 250, i % 250);
            pod(&format!("p{i}"), &ip, i % 2 == 0, |_| {})
        })
        .collect();
    let ep = endpoints(&web_svc(), &pods).expect("managed");
    let subsets = ep.subsets.clone().unwrap_or_default();
    let ready: usize = subsets.iter().map(|s| ips(&s.addresses).len()).sum();
    let not_ready: usize = subsets
        .iter()
        .map(|s| ips(&s.not_ready_addresses).len())
        .sum();
    assert_eq!((ready, not_ready), (503, 497));
    assert_eq!(
        ep.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(ANNOTATION_OVER_CAPACITY))
            .map(String::as_str),
        Some("truncated")
    );
}

#[test]
fn orphaned_endpoints_are_listed() {
    let ep = |name: &str, annotations: Value| -> Endpoints {
        from(json!({"metadata": {"name": name, "namespace": "ns", "annotations": annotations}}))
    };
    let all = [
        ep("web", json!({})),
        ep("gone", json!({})),
        ep(
            "lock",
            json!({"control-plane.alpha.kubernetes.io/leader": "{}"}),
        ),
    ];
    assert_eq!(
        orphaned_endpoints(&all, &[web_svc()]),
        [("ns".to_owned(), "gone".to_owned())]
    );
}

// ---- EndpointSlices --------------------------------------------------------------------

fn conds(e: &Endpoint) -> (Option<bool>, Option<bool>, Option<bool>) {
    let c = e.conditions.clone().unwrap_or_default();
    (c.ready, c.serving, c.terminating)
}

#[test]
fn slice_contents() {
    let terminating = |v: &mut Value| v["metadata"]["deletionTimestamp"] = json!(rfc(1000));
    let pods = [
        pod("a", "10.1.0.1", true, |_| {}),
        pod("b", "10.1.0.2", false, |_| {}),
        pod("c", "10.1.0.3", true, terminating),
        pod("d", "10.1.0.4", true, |v| {
            v["spec"]["nodeName"] = json!("ghost")
        }),
    ];
    let slices = endpoint_slices(&web_svc(), &pods, &[node("n1", Some("zone-a"))]);
    assert_eq!(slices.len(), 1);
    let s = &slices[0];
    assert_eq!(s.metadata.generate_name.as_deref(), Some("web-"));
    assert_eq!(s.metadata.name, None);
    assert_eq!(s.metadata.namespace.as_deref(), Some("ns"));
    assert_eq!(s.address_type, "IPv4");
    let labels = s.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        labels,
        BTreeMap::from([
            ("app".to_owned(), "web".to_owned()),
            (LABEL_SERVICE_NAME.to_owned(), "web".to_owned()),
            (
                LABEL_SLICE_MANAGED_BY.to_owned(),
                SLICE_CONTROLLER.to_owned()
            ),
        ])
    );
    let owner = &s.metadata.owner_references.clone().unwrap_or_default()[0];
    assert_eq!(
        (
            owner.api_version.as_str(),
            owner.kind.as_str(),
            owner.name.as_str(),
            owner.uid.as_str()
        ),
        ("v1", "Service", "web", "svc-uid")
    );
    assert_eq!(
        (owner.controller, owner.block_owner_deletion),
        (Some(true), Some(true))
    );
    let ports = s.ports.clone().unwrap_or_default();
    assert_eq!(ports.len(), 1);
    assert_eq!(
        (
            ports[0].name.as_deref(),
            ports[0].port,
            ports[0].protocol.as_deref()
        ),
        (Some("http"), Some(8080), Some("TCP"))
    );
    // d sits on a node that does not exist: skipped until it shows up.
    let got: Vec<(&str, _)> = s
        .endpoints
        .iter()
        .map(|e| (e.addresses[0].as_str(), conds(e)))
        .collect();
    assert_eq!(
        got,
        [
            ("10.1.0.1", (Some(true), Some(true), Some(false))),
            ("10.1.0.2", (Some(false), Some(false), Some(false))),
            ("10.1.0.3", (Some(false), Some(true), Some(true))),
        ]
    );
    let e = &s.endpoints[0];
    assert_eq!(e.node_name.as_deref(), Some("n1"));
    assert_eq!(e.zone.as_deref(), Some("zone-a"));
    let r = e.target_ref.clone().unwrap_or_default();
    assert_eq!(
        (
            r.kind.as_deref(),
            r.namespace.as_deref(),
            r.name.as_deref(),
            r.uid.as_deref()
        ),
        (Some("Pod"), Some("ns"), Some("a"), Some("uid-a"))
    );
}

#[test]
fn slice_placeholder_and_port_groups() {
    let nodes = [node("n1", None)];
    let slices = endpoint_slices(&web_svc(), &[], &nodes);
    assert_eq!(slices.len(), 1);
    assert!(slices[0].endpoints.is_empty());
    assert_eq!(slices[0].ports, Some(Vec::new()));

    let s = svc(json!({
        "selector": {"app": "web"}, "clusterIP": "10.0.0.10", "ipFamilies": ["IPv4"],
        "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
    }));
    let pods = [
        pod("a", "10.1.0.1", true, |_| {}),
        pod("b", "10.1.0.2", true, |v| {
            v["spec"]["containers"][0]["ports"][0]["containerPort"] = json!(9090);
        }),
    ];
    let slices = endpoint_slices(&s, &pods, &nodes);
    let mut got: Vec<(Option<i32>, usize)> = slices
        .iter()
        .map(|s| {
            (
                s.ports.clone().unwrap_or_default()[0].port,
                s.endpoints.len(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(got, [(Some(8080), 1), (Some(9090), 1)]);

    // Without IP families, a headless service gets both address types; the pods only have
    // IPv4 addresses, so IPv6 is a placeholder.
    let headless = svc(json!({"selector": {"app": "web"}, "clusterIP": "None"}));
    let slices = endpoint_slices(&headless, &pods, &nodes);
    let got: Vec<(&str, usize)> = slices
        .iter()
        .map(|s| (s.address_type.as_str(), s.endpoints.len()))
        .collect();
    assert_eq!(got, [("IPv4", 2), ("IPv6", 0)]);
    let labels = slices[0].metadata.labels.clone().unwrap_or_default();
    assert_eq!(labels.get(LABEL_HEADLESS).map(String::as_str), Some(""));
}

fn many_pods(n: usize) -> Vec<Pod> {
    (0..n)
        .map(|i| pod(&format!("p{i:03}"), &format!("10.3.0.{i}"), true, |_| {}))
        .collect()
}

/// What the apiserver would hand back after creating or updating these slices.
fn stored(diff: &SliceDiff, mut existing: Vec<EndpointSlice>) -> Vec<EndpointSlice> {
    existing.retain(|e| {
        !diff
            .delete
            .iter()
            .chain(&diff.update)
            .any(|d| d.metadata.name == e.metadata.name)
    });
    existing.extend(diff.update.iter().cloned().map(|mut s| {
        s.metadata.resource_version = Some("2".into());
        s
    }));
    let base = existing.len() + diff.update.len();
    existing.extend(diff.create.iter().cloned().enumerate().map(|(i, mut s)| {
        s.metadata.name = Some(format!("web-{}", base + i));
        s.metadata.uid = Some(format!("slice-{}", base + i));
        s.metadata.resource_version = Some("1".into());
        s.metadata.creation_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            crate::controllers::fixtures::at(100),
        ));
        for e in &mut s.endpoints {
            if let Some(r) = e.target_ref.as_mut() {
                r.resource_version = Some("5".into());
            }
        }
        s
    }));
    existing
}

#[test]
fn slices_chunk_and_settle() {
    let nodes = [node("n1", None)];
    let pods = many_pods(150);
    let desired = endpoint_slices(&web_svc(), &pods, &nodes);
    let sizes: Vec<usize> = desired.iter().map(|s| s.endpoints.len()).collect();
    assert_eq!(sizes, [100, 50]);

    let diff = slices_to_write(&desired, &[]);
    assert_eq!(
        (diff.create.len(), diff.update.len(), diff.delete.len()),
        (2, 0, 0)
    );
    let existing = stored(&diff, Vec::new());

    // Nothing changed: nothing to write.
    let again = slices_to_write(&endpoint_slices(&web_svc(), &pods, &nodes), &existing);
    assert!(again.is_empty(), "{again:?}");

    // One more pod: it joins the slice with room, no new slice.
    let more = many_pods(151);
    let diff = slices_to_write(&endpoint_slices(&web_svc(), &more, &nodes), &existing);
    assert_eq!(
        (diff.create.len(), diff.update.len(), diff.delete.len()),
        (0, 1, 0)
    );
    assert_eq!(diff.update[0].endpoints.len(), 51);
    let existing = stored(&diff, existing);
    assert!(slices_to_write(&endpoint_slices(&web_svc(), &more, &nodes), &existing).is_empty());
}

#[test]
fn slice_updates_in_place() {
    let nodes = [node("n1", None)];
    let pods = [
        pod("a", "10.1.0.1", true, |_| {}),
        pod("b", "10.1.0.2", true, |_| {}),
    ];
    let existing = stored(
        &slices_to_write(&endpoint_slices(&web_svc(), &pods, &nodes), &[]),
        Vec::new(),
    );
    let name = existing[0].metadata.name.clone();

    // b turns not ready: one update of the same slice.
    let pods2 = [
        pod("a", "10.1.0.1", true, |_| {}),
        pod("b", "10.1.0.2", false, |_| {}),
    ];
    let diff = slices_to_write(&endpoint_slices(&web_svc(), &pods2, &nodes), &existing);
    assert_eq!(
        (diff.create.len(), diff.update.len(), diff.delete.len()),
        (0, 1, 0)
    );
    assert_eq!(diff.update[0].metadata.name, name);
    assert_eq!(
        diff.update[0].metadata.resource_version.as_deref(),
        Some("1")
    );
    assert_eq!(conds(&diff.update[0].endpoints[1]).0, Some(false));

    // All pods gone: the slice becomes the placeholder rather than delete + create.
    let diff = slices_to_write(&endpoint_slices(&web_svc(), &[], &nodes), &existing);
    assert_eq!(
        (diff.create.len(), diff.update.len(), diff.delete.len()),
        (0, 1, 0)
    );
    assert!(diff.update[0].endpoints.is_empty());
    assert_eq!(diff.update[0].metadata.name, name);

    // The target port changes: the port group changes, the slice is reused for it.
    let mut moved = web_svc();
    if let Some(p) = moved.spec.as_mut().and_then(|s| s.ports.as_mut()) {
        p[0].target_port = Some(IntOrString::Int(8081));
    }
    let diff = slices_to_write(&endpoint_slices(&moved, &pods, &nodes), &existing);
    assert_eq!(
        (diff.create.len(), diff.update.len(), diff.delete.len()),
        (0, 1, 0)
    );
    assert_eq!(
        diff.update[0].ports.clone().unwrap_or_default()[0].port,
        Some(8081)
    );

    // The service's labels change: every slice is rewritten with them.
    let mut relabelled = web_svc();
    relabelled.metadata.labels = Some(BTreeMap::from([("tier".into(), "front".into())]));
    let diff = slices_to_write(&endpoint_slices(&relabelled, &pods, &nodes), &existing);
    assert_eq!(
        (diff.create.len(), diff.update.len(), diff.delete.len()),
        (0, 1, 0)
    );
}

#[test]
fn slices_of_another_owner_are_replaced() {
    let nodes = [node("n1", None)];
    let pods = [pod("a", "10.1.0.1", true, |_| {})];
    let existing = stored(
        &slices_to_write(&endpoint_slices(&web_svc(), &pods, &nodes), &[]),
        Vec::new(),
    );
    // The service was deleted and recreated under the same name: a new uid.
    let mut recreated = web_svc();
    recreated.metadata.uid = Some("svc-uid-2".into());
    let diff = slices_to_write(&endpoint_slices(&recreated, &pods, &nodes), &existing);
    assert_eq!(
        (diff.create.len(), diff.update.len(), diff.delete.len()),
        (1, 0, 1)
    );

    // Nothing desired (service left alone): nothing written, whatever is stored.
    assert!(slices_to_write(&[], &existing).is_empty());
}

#[test]
fn same_ports_share_a_subset() {
    let s = svc(json!({
        "selector": {"app": "web"}, "clusterIP": "10.0.0.10",
        "ports": [
            {"name": "http", "port": 80, "targetPort": "http"},
            {"name": "metrics", "port": 9100, "targetPort": 9100},
        ],
    }));
    let pods = [
        pod("b", "10.1.0.2", false, |_| {}),
        pod("a", "10.1.0.1", true, |_| {}),
    ];
    let subsets = endpoints(&s, &pods)
        .and_then(|e| e.subsets)
        .unwrap_or_default();
    assert_eq!(subsets.len(), 1);
    assert_eq!(ips(&subsets[0].addresses), ["10.1.0.1"]);
    assert_eq!(ips(&subsets[0].not_ready_addresses), ["10.1.0.2"]);
    assert_eq!(
        ports_of(&subsets[0]),
        [(Some("http"), 8080), (Some("metrics"), 9100)]
    );
}
