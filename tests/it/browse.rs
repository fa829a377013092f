//! The TUI's view of a cluster (kwb::cluster) against the builtin apiserver: discovery
//! resolves what users type after `:`, and a resource's Table list stays live through a watch.

use std::time::Duration;

use kwb::cluster::resources::Catalog;
use kwb::cluster::table::{self, Table, Update};

use crate::apiserver::Api;
use crate::util::{ok, wait_until};

#[test]
fn discovery_resolves_words_and_a_table_list_follows_changes_live() {
    let api = Api::start();
    let rt = crate::util::runtime();
    let client = api.tc.kube_client(&rt);
    let catalog = rt.block_on(Catalog::discover(&client)).unwrap();
    for (word, qualified) in [
        ("po", "pods"),
        ("deploy", "deployments.apps"),
        ("nodes", "nodes"),
        ("Service", "services"),
        ("cm", "configmaps"),
        ("crd", "customresourcedefinitions.apiextensions.k8s.io"),
    ] {
        assert_eq!(
            catalog.resolve(word).map(|r| r.qualified()).as_deref(),
            Some(qualified),
            "{word}"
        );
    }

    let configmaps = catalog.resolve("cm").unwrap().clone();
    let (tx, rx) = std::sync::mpsc::channel::<Update>();
    rt.spawn(table::watch(
        client.clone(),
        configmaps,
        Some("default".into()),
        table::Query::default(),
        move |u| tx.send(u).is_ok(),
    ));
    let mut t = Table::default();
    let drain = |t: &mut Table| {
        while let Ok(u) = rx.try_recv() {
            t.apply(u);
        }
    };
    wait_until("the first list", Duration::from_secs(10), || {
        drain(&mut t);
        t.loaded.then_some(())
    });
    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Name", "Data", "Age"], "kubectl get's columns");
    ok(
        api.kubectl(&["create", "configmap", "live", "--from-literal=a=1"]),
        "create",
    );
    wait_until("the new row", Duration::from_secs(10), || {
        drain(&mut t);
        t.rows().iter().find(|r| r.name == "live").map(|r| {
            assert_eq!(r.cells[..2], ["live".to_string(), "1".to_string()]);
        })
    });
    ok(
        api.kubectl(&[
            "create",
            "configmap",
            "live2",
            "--from-literal=a=1",
            "--from-literal=b=2",
        ]),
        "create another",
    );
    ok(api.kubectl(&["delete", "configmap", "live"]), "delete");
    wait_until("the rows follow", Duration::from_secs(10), || {
        drain(&mut t);
        let names: Vec<&str> = t.rows().iter().map(|r| r.name.as_str()).collect();
        (!names.contains(&"live") && names.contains(&"live2")).then_some(())
    });
    let live2 = t.rows().iter().find(|r| r.name == "live2").unwrap();
    assert_eq!(live2.cells[1], "2");
}

/// The same history undone by kwb (kwb::cluster::actions, what `u` sends) and by `kubectl
/// rollout undo` leaves identical pod templates, for the workloads whose revisions are
/// ControllerRevisions.
#[test]
fn daemon_sets_and_stateful_sets_undone_by_kwb_match_kubectl() {
    let test = "daemon_sets_and_stateful_sets_undone_by_kwb_match_kubectl";
    if !crate::util::require("kubectl", test) {
        return;
    }
    let tc = crate::util::TestCluster::new(false).up();
    let kubectl = |args: &[&str]| tc.kubectl_ok(args);
    let manifest = |kind: &str, image: &str| {
        let extra = if kind == "StatefulSet" {
            "  serviceName: agent\n  replicas: 1\n"
        } else {
            ""
        };
        format!(
            "apiVersion: apps/v1\nkind: {kind}\nmetadata:\n  name: agent\nspec:\n{extra}  selector:\n    matchLabels: {{app: agent}}\n  template:\n    metadata:\n      labels: {{app: agent}}\n    spec:\n      containers:\n      - name: agent\n        image: {image}\n"
        )
    };
    let rt = crate::util::runtime();
    let client = tc.kube_client(&rt);
    let catalog = rt.block_on(Catalog::discover(&client)).unwrap();
    for (kind, short) in [("DaemonSet", "ds"), ("StatefulSet", "sts")] {
        let what = format!("{short}/agent");
        for ns in [format!("{short}-by-kubectl"), format!("{short}-by-kwb")] {
            kubectl(&["create", "namespace", &ns]);
            for image in ["busybox:1", "busybox:2"] {
                let file = tc.data.join(format!("{ns}-{image}.yaml"));
                std::fs::write(&file, manifest(kind, image)).unwrap();
                kubectl(&["apply", "-n", &ns, "-f", file.to_str().unwrap()]);
                kubectl(&["rollout", "status", &what, "-n", &ns, "--timeout=60s"]);
            }
        }
        kubectl(&[
            "rollout",
            "undo",
            &what,
            "-n",
            &format!("{short}-by-kubectl"),
        ]);
        let object = kwb::cluster::object::ObjectRef {
            resource: catalog.resolve(short).unwrap().clone(),
            namespace: format!("{short}-by-kwb"),
            name: "agent".into(),
        };
        let change = rt
            .block_on(kwb::cluster::actions::undo_question(&client, object, None))
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert!(
            change.summary().contains("busybox:2 → busybox:1"),
            "{}",
            change.summary()
        );
        let done = rt
            .block_on(change.perform(&client))
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert!(
            done.answer.contains("rolled back to revision 1"),
            "{done:?}"
        );
        let template =
            |ns: &str| kubectl(&["get", &what, "-n", ns, "-o", "jsonpath={.spec.template}"]);
        let by_kubectl = template(&format!("{short}-by-kubectl"));
        assert!(by_kubectl.contains("busybox:1"), "{by_kubectl}");
        assert_eq!(template(&format!("{short}-by-kwb")), by_kubectl, "{kind}");
    }
    let down = tc.run(&["down"]);
    assert!(down.status.success(), "{}", crate::util::stderr(&down));
}

/// `:drain` (kwb::cluster::actions::Change::Drain): the node cordoned, its pods evicted
/// through the Eviction API and waited for until gone, DaemonSet pods left, the workload's
/// pods running again on the other node.
#[test]
fn a_drain_evicts_and_waits_until_the_pods_are_gone() {
    let test = "a_drain_evicts_and_waits_until_the_pods_are_gone";
    if !crate::util::require("kubectl", test) {
        return;
    }
    let tc = crate::util::TestCluster::new(false).with_nodes(2).up();
    let kubectl = |args: &[&str]| tc.kubectl_ok(args);
    kubectl(&[
        "create",
        "deployment",
        "web",
        "--image=nginx",
        "--replicas=4",
    ]);
    kubectl(&["rollout", "status", "deployment/web", "--timeout=60s"]);
    let nodes_of_pods = || {
        kubectl(&[
            "get",
            "pods",
            "-l",
            "app=web",
            "-o",
            "jsonpath={.items[*].spec.nodeName}",
        ])
    };
    let node = nodes_of_pods()
        .split_whitespace()
        .next()
        .expect("a pod on a node")
        .to_string();
    let rt = crate::util::runtime();
    let client = tc.kube_client(&rt);
    let catalog = rt.block_on(Catalog::discover(&client)).unwrap();
    let drain = kwb::cluster::actions::Change::Drain(kwb::cluster::object::ObjectRef {
        resource: catalog.resolve("nodes").unwrap().clone(),
        namespace: String::new(),
        name: node.clone(),
    });
    let said = std::sync::Mutex::new(Vec::new());
    let done = rt
        .block_on(drain.perform_reporting(&client, &|line| said.lock().unwrap().push(line)))
        .unwrap();
    assert!(
        done.answer.contains("cordoned; evicted") && done.answer.contains(" and gone in "),
        "{done:?}"
    );
    assert!(done.sent.contains("/eviction"), "{}", done.sent);
    assert_eq!(
        kubectl(&["get", "node", &node, "-o", "jsonpath={.spec.unschedulable}"]),
        "true"
    );
    kubectl(&["rollout", "status", "deployment/web", "--timeout=60s"]);
    let nodes = nodes_of_pods();
    assert!(
        !nodes.split_whitespace().any(|n| n == node),
        "no pod of web is left on {node}: {nodes}"
    );
    let down = tc.run(&["down"]);
    assert!(down.status.success(), "{}", crate::util::stderr(&down));
}
