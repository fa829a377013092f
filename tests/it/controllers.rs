//! The builtin controller-manager on the builtin apiserver, seen through kubectl as a
//! workshop sees it: a Deployment gets its ReplicaSet and Pending pods, scales, rolls to a
//! new template with revisions and events, and the controller-manager takes over again
//! after a restart without doing anything twice.

use std::time::Duration;

use serde_json::Value;

use crate::apiserver::Api;
use crate::util::{self, ok, stdout, wait_until};

fn json(api: &Api, what: &[&str]) -> Value {
    let mut args = vec!["get"];
    args.extend_from_slice(what);
    args.extend_from_slice(&["-o", "json"]);
    serde_json::from_str(&stdout(&ok(api.kubectl(&args), "get -o json"))).unwrap()
}

/// The ReplicaSets of deployment `web`: (name, desired replicas, revision), oldest first.
fn replica_sets(api: &Api) -> Vec<(String, i64, String)> {
    let list = json(api, &["rs", "-l", "app=web"]);
    let mut out: Vec<(String, i64, String)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|rs| {
            (
                rs["metadata"]["name"].as_str().unwrap().to_string(),
                rs["spec"]["replicas"].as_i64().unwrap_or(0),
                rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.2.cmp(&b.2));
    out
}

/// The status condition of this type (panics when there is none: the test expects it).
fn condition(obj: &Value, type_: &str) -> Value {
    obj["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == type_)
        .unwrap_or_else(|| panic!("no {type_} condition: {obj}"))
        .clone()
}

fn pods(api: &Api) -> Vec<Value> {
    json(api, &["pods", "-l", "app=web"])["items"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn deployments_get_replica_sets_and_pods_and_roll_out() {
    if !util::require(
        "kubectl",
        "deployments_get_replica_sets_and_pods_and_roll_out",
    ) {
        return;
    }
    let api = Api::start();
    ok(
        api.kubectl(&[
            "create",
            "deployment",
            "web",
            "--image=nginx:1.27",
            "--replicas=3",
        ]),
        "create deployment",
    );
    // Nothing happens without a controller-manager: the workshop's first surprise.
    std::thread::sleep(Duration::from_millis(500));
    assert!(replica_sets(&api).is_empty());
    let start = ok(
        api.tc.run(&["start", "controller-manager"]),
        "start controller-manager",
    );
    assert!(
        stdout(&start).contains("controller-manager: ready"),
        "{}",
        stdout(&start)
    );

    let rs = wait_until("a ReplicaSet with 3 pods", Duration::from_secs(30), || {
        let rss = replica_sets(&api);
        (rss.len() == 1 && pods(&api).len() == 3).then_some(rss)
    });
    let (name, replicas, revision) = &rs[0];
    assert!(name.starts_with("web-") && name.len() > 4, "{name}");
    assert_eq!((*replicas, revision.as_str()), (3, "1"));
    for p in pods(&api) {
        assert_eq!(p["status"]["phase"], "Pending", "no scheduler yet: {p}");
        let owner = &p["metadata"]["ownerReferences"][0];
        assert_eq!(owner["kind"], "ReplicaSet");
        assert_eq!(owner["name"], name.as_str());
        assert_eq!(owner["controller"], true);
    }
    let events = stdout(&ok(api.kubectl(&["get", "events"]), "get events"));
    assert!(
        events.contains(&format!("Scaled up replica set {name} to 3")),
        "{events}"
    );
    assert!(events.contains("SuccessfulCreate"), "{events}");
    let d = json(&api, &["deploy", "web"]);
    assert_eq!(d["status"]["observedGeneration"], 1, "{d}");
    assert_eq!(d["status"]["replicas"], 3, "{d}");

    ok(
        api.kubectl(&["scale", "deploy", "web", "--replicas=5"]),
        "scale",
    );
    wait_until("5 pods", Duration::from_secs(30), || {
        (pods(&api).len() == 5).then_some(())
    });

    // A new template: a second ReplicaSet, revision 2, within maxSurge (25% of 5: 2 more).
    ok(
        api.kubectl(&["set", "image", "deploy/web", "nginx=nginx:1.28"]),
        "set image",
    );
    let rss = wait_until("a second ReplicaSet", Duration::from_secs(30), || {
        let rss = replica_sets(&api);
        (rss.len() == 2 && rss[1].2 == "2").then_some(rss)
    });
    assert_ne!(rss[0].0, rss[1].0);
    let total: i64 = rss.iter().map(|r| r.1).sum();
    assert!(total <= 7, "maxSurge bounds the rollout: {rss:?}");
    let history = stdout(&ok(
        api.kubectl(&["rollout", "history", "deploy/web"]),
        "history",
    ));
    assert!(
        history.contains("1 ") && history.contains("2 "),
        "{history}"
    );
    // Without a kubelet no pod becomes ready: the rollout waits, as on a real cluster.
    let status = api.kubectl(&["rollout", "status", "deploy/web", "--timeout=2s"]);
    assert!(!status.status.success());
    assert!(
        stdout(&status).contains("Waiting for deployment \"web\" rollout to finish"),
        "{}",
        stdout(&status)
    );

    // A restarted controller-manager takes the lease back and creates nothing twice.
    let before = pods(&api).len();
    ok(
        api.tc.run(&["restart", "controller-manager"]),
        "restart controller-manager",
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(pods(&api).len(), before);
    let lease = json(
        &api,
        &["lease", "-n", "kube-system", "kube-controller-manager"],
    );
    assert!(
        lease["spec"]["holderIdentity"].as_str().is_some(),
        "{lease}"
    );

    // Undo brings the first template back as revision 3, reusing its ReplicaSet.
    ok(
        api.kubectl(&["rollout", "undo", "deploy/web"]),
        "rollout undo",
    );
    wait_until(
        "revision 3 on the first ReplicaSet",
        Duration::from_secs(30),
        || {
            let rss = replica_sets(&api);
            rss.iter()
                .any(|r| r.0 == rs[0].0 && r.2 == "3")
                .then_some(())
        },
    );
}

/// A fake node: the Node object with allocatable resources and Ready, as a kubelet would
/// register it (no kubelet runs).
fn fake_node(api: &Api, name: &str) {
    let node = format!(
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: {name}\n  labels: {{kubernetes.io/hostname: {name}, kubernetes.io/os: linux}}\n"
    );
    ok(
        api.apply_stdin(&["create", "-f", "-"], &node),
        "create node",
    );
    let status = r#"{"status":{"capacity":{"cpu":"2","memory":"4Gi","pods":"110"},"allocatable":{"cpu":"2","memory":"4Gi","pods":"110"},"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady","message":"kubelet is posting ready status"}]}}"#;
    ok(
        api.kubectl(&[
            "patch",
            "node",
            name,
            "--subresource=status",
            "--type=merge",
            "-p",
            status,
        ]),
        "node status",
    );
}

/// The node of each pod labelled app=`app`, by pod name.
fn placement(api: &Api, app: &str) -> Vec<(String, String)> {
    let list = json(api, &["pods", "-l", &format!("app={app}")]);
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["metadata"]["name"].as_str().unwrap().to_string(),
                p["spec"]["nodeName"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn the_scheduler_spreads_pods_and_says_why_a_tainted_or_cordoned_node_gets_none() {
    let test = "the_scheduler_spreads_pods_and_says_why_a_tainted_or_cordoned_node_gets_none";
    if !util::require("kubectl", test) {
        return;
    }
    let api = Api::start();
    for n in ["node-1", "node-2", "node-3"] {
        fake_node(&api, n);
    }
    ok(
        api.tc.run(&["start", "controller-manager"]),
        "start controller-manager",
    );
    ok(api.tc.run(&["start", "scheduler"]), "start scheduler");
    ok(
        api.kubectl(&[
            "create",
            "deployment",
            "web",
            "--image=nginx:1.27",
            "--replicas=3",
        ]),
        "create deployment",
    );
    let placed = wait_until("3 pods bound", Duration::from_secs(30), || {
        let p = placement(&api, "web");
        (p.len() == 3 && p.iter().all(|(_, n)| !n.is_empty())).then_some(p)
    });
    let mut nodes: Vec<&str> = placed.iter().map(|(_, n)| n.as_str()).collect();
    nodes.sort();
    assert_eq!(nodes, ["node-1", "node-2", "node-3"], "spread: {placed:?}");
    let events = stdout(&ok(api.kubectl(&["get", "events"]), "events"));
    assert!(
        events.contains("Successfully assigned default/web-"),
        "{events}"
    );

    // A tainted node and a cordoned one take nothing new; the event says why, in upstream's
    // words, and the pods wait with PodScheduled=False until a node can take them.
    ok(
        api.kubectl(&[
            "taint",
            "node",
            "node-1",
            "node-2",
            "dedicated=infra:NoSchedule",
        ]),
        "taint",
    );
    ok(api.kubectl(&["cordon", "node-3"]), "cordon");
    ok(
        api.kubectl(&["create", "deployment", "late", "--image=nginx:1.27"]),
        "create late",
    );
    let why = "0/3 nodes are available: 1 node(s) were unschedulable, 2 node(s) had untolerated taint {dedicated: infra}. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.";
    wait_until("a FailedScheduling event", Duration::from_secs(30), || {
        let events = stdout(&ok(api.kubectl(&["get", "events"]), "events"));
        events.contains(why).then_some(())
    });
    let pod = &json(&api, &["pods", "-l", "app=late"])["items"][0];
    let cond = condition(pod, "PodScheduled");
    assert_eq!(cond["status"], "False", "{pod}");
    assert_eq!(cond["reason"], "Unschedulable", "{pod}");
    assert_eq!(cond["message"], why);
    // Uncordoning is a change the scheduler reacts to at once, not on a timer.
    ok(api.kubectl(&["uncordon", "node-3"]), "uncordon");
    wait_until(
        "the waiting pod bound to node-3",
        Duration::from_secs(10),
        || {
            let p = placement(&api, "late");
            (p.len() == 1 && p[0].1 == "node-3").then_some(())
        },
    );
}

/// `kubectl get endpoints shop -n shop` as printed.
fn endpoints_of_shop(api: &Api) -> String {
    stdout(&ok(
        api.kubectl(&["get", "endpoints", "shop", "-n", "shop"]),
        "get endpoints",
    ))
}

/// A pod bound to `node` with the IP and readiness a kubelet would report.
fn running_pod(api: &Api, ns: &str, name: &str, node: &str, ip: &str, ready: bool) {
    let pod = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: {ns}, labels: {{app: shop}}}}\nspec:\n  nodeName: {node}\n  containers: [{{name: c, image: nginx:1.27, ports: [{{containerPort: 80, name: http}}]}}]\n"
    );
    ok(api.apply_stdin(&["create", "-f", "-"], &pod), "create pod");
    let status = format!(
        r#"{{"status":{{"phase":"Running","podIP":"{ip}","podIPs":[{{"ip":"{ip}"}}],"conditions":[{{"type":"Ready","status":"{}"}}]}}}}"#,
        if ready { "True" } else { "False" }
    );
    ok(
        api.kubectl(&[
            "patch",
            "pod",
            name,
            "-n",
            ns,
            "--subresource=status",
            "--type=merge",
            "-p",
            &status,
        ]),
        "pod status",
    );
}

#[test]
fn services_get_endpoints_and_slices_and_a_deleted_namespace_is_emptied_and_removed() {
    let test = "services_get_endpoints_and_slices_and_a_deleted_namespace_is_emptied_and_removed";
    if !util::require("kubectl", test) {
        return;
    }
    let api = Api::start();
    fake_node(&api, "node-1");
    ok(
        api.tc.run(&["start", "controller-manager"]),
        "start controller-manager",
    );
    ok(api.kubectl(&["create", "namespace", "shop"]), "create ns");
    running_pod(&api, "shop", "a", "node-1", "127.244.1.10", true);
    running_pod(&api, "shop", "b", "node-1", "127.244.1.11", false);
    ok(
        api.kubectl(&[
            "create",
            "service",
            "clusterip",
            "shop",
            "-n",
            "shop",
            "--tcp=80:http",
        ]),
        "create service",
    );
    // `create service` selects app=shop, as `kubectl expose` would.
    wait_until(
        "endpoints of the ready pod",
        Duration::from_secs(20),
        || {
            let ep = endpoints_of_shop(&api);
            ep.contains("127.244.1.10:80").then_some(())
        },
    );
    let ep = json(&api, &["endpoints", "shop", "-n", "shop"]);
    assert_eq!(
        ep["subsets"][0]["notReadyAddresses"][0]["ip"], "127.244.1.11",
        "{ep}"
    );
    let slices = json(
        &api,
        &[
            "endpointslices",
            "-n",
            "shop",
            "-l",
            "kubernetes.io/service-name=shop",
        ],
    );
    let items = slices["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{slices}");
    let mut seen: Vec<(String, bool)> = items[0]["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["addresses"][0].as_str().unwrap().to_string(),
                e["conditions"]["ready"] == true,
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("127.244.1.10".to_string(), true),
            ("127.244.1.11".to_string(), false)
        ]
    );
    assert_eq!(items[0]["ports"][0]["port"], 80, "{slices}");
    assert_eq!(items[0]["endpoints"][0]["nodeName"], "node-1", "{slices}");

    // The second pod turns ready: it moves into the ready addresses.
    ok(
        api.kubectl(&[
            "patch",
            "pod",
            "b",
            "-n",
            "shop",
            "--subresource=status",
            "--type=merge",
            "-p",
            r#"{"status":{"conditions":[{"type":"Ready","status":"True"}]}}"#,
        ]),
        "b ready",
    );
    wait_until(
        "both pods ready in endpoints",
        Duration::from_secs(20),
        || {
            let ep = endpoints_of_shop(&api);
            (ep.contains("127.244.1.10:80") && ep.contains("127.244.1.11:80")).then_some(())
        },
    );

    // Deleting the namespace: its pods go first (no kubelet here, so they are forced as a
    // node controller would for a lost node), then everything else, then the namespace.
    ok(
        api.kubectl(&["delete", "namespace", "shop", "--wait=false"]),
        "delete ns",
    );
    let ns = json(&api, &["namespace", "shop"]);
    assert_eq!(ns["status"]["phase"], "Terminating", "{ns}");
    wait_until(
        "the pods marked for deletion",
        Duration::from_secs(20),
        || {
            let pods = json(&api, &["pods", "-n", "shop"]);
            pods["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| !p["metadata"]["deletionTimestamp"].is_null())
                .then_some(())
        },
    );
    // Upstream's condition says what holds the namespace.
    wait_until("NamespaceContentRemaining", Duration::from_secs(20), || {
        let ns = json(&api, &["namespace", "shop"]);
        ns["status"]["conditions"]
            .as_array()?
            .iter()
            .find(|c| c["type"] == "NamespaceContentRemaining" && c["status"] == "True")?["message"]
            .as_str()?
            .contains("pods. has 2 resource instances")
            .then_some(())
    });
    ok(
        api.kubectl(&[
            "delete",
            "pods",
            "--all",
            "-n",
            "shop",
            "--force",
            "--grace-period=0",
        ]),
        "force pods",
    );
    ok(
        api.kubectl(&["wait", "--for=delete", "namespace/shop", "--timeout=30s"]),
        "namespace removed",
    );
    let gone = api.kubectl(&["get", "services", "-n", "shop"]);
    assert!(stdout(&gone).trim().is_empty(), "{}", stdout(&gone));
}

/// RFC 3339 "now" with microseconds, as a Lease's renewTime is written.
fn now_micro() -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%S.%6NZ"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn node_taints(api: &Api, node: &str) -> Vec<String> {
    let n = json(api, &["node", node]);
    n["spec"]["taints"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            format!(
                "{}:{}",
                t["key"].as_str().unwrap(),
                t["effect"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn a_node_whose_lease_expires_turns_unknown_is_tainted_and_its_pods_evicted_and_recovers() {
    let test =
        "a_node_whose_lease_expires_turns_unknown_is_tainted_and_its_pods_evicted_and_recovers";
    if !util::require("kubectl", test) {
        return;
    }
    let api = Api::start_with(util::TestCluster::with_controller_manager_args(
        false,
        &[
            "--node-monitor-grace-period=4s",
            "--node-startup-grace-period=4s",
        ],
    ));
    fake_node(&api, "node-1");
    let lease = format!(
        "apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {{name: node-1, namespace: kube-node-lease}}\nspec: {{holderIdentity: node-1, leaseDurationSeconds: 40, renewTime: \"{}\"}}\n",
        now_micro()
    );
    ok(api.apply_stdin(&["create", "-f", "-"], &lease), "lease");
    // The default 300 s tolerations are added by the apiserver; one pod overrides them.
    running_pod(&api, "default", "patient", "node-1", "127.244.1.20", true);
    let hasty = "apiVersion: v1\nkind: Pod\nmetadata: {name: hasty, labels: {app: shop}}\nspec:\n  nodeName: node-1\n  tolerations: [{key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 1}]\n  containers: [{name: c, image: nginx:1.27}]\n";
    ok(api.apply_stdin(&["create", "-f", "-"], hasty), "hasty");
    let patient = json(&api, &["pod", "patient"]);
    let defaults: Vec<(String, i64)> = patient["spec"]["tolerations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["key"].as_str().unwrap().to_string(),
                t["tolerationSeconds"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        defaults,
        [
            ("node.kubernetes.io/not-ready".to_string(), 300),
            ("node.kubernetes.io/unreachable".to_string(), 300)
        ]
    );
    ok(
        api.tc.run(&["start", "controller-manager"]),
        "start controller-manager",
    );

    // The lease is not renewed: after the grace period the node is Unknown and tainted.
    wait_until(
        "node-1 Unknown and tainted",
        Duration::from_secs(30),
        || {
            let nodes = stdout(&ok(api.kubectl(&["get", "node", "node-1"]), "get node"));
            let taints = node_taints(&api, "node-1");
            (nodes.contains("NotReady")
                && taints.contains(&"node.kubernetes.io/unreachable:NoExecute".to_string())
                && taints.contains(&"node.kubernetes.io/unreachable:NoSchedule".to_string()))
            .then_some(())
        },
    );
    let node = json(&api, &["node", "node-1"]);
    let ready = condition(&node, "Ready");
    assert_eq!(ready["status"], "Unknown", "{node}");
    assert_eq!(ready["reason"], "NodeStatusUnknown", "{node}");
    // Its pods are marked not ready; the pod tolerating 1 s is evicted, the other stays.
    wait_until("hasty evicted", Duration::from_secs(20), || {
        let pod = json(&api, &["pod", "hasty"]);
        (!pod["metadata"]["deletionTimestamp"].is_null()).then_some(pod)
    });
    let patient = json(&api, &["pod", "patient"]);
    assert!(
        patient["metadata"]["deletionTimestamp"].is_null(),
        "{patient}"
    );
    let ready = condition(&patient, "Ready");
    assert_eq!(ready["status"], "False", "{patient}");
    let events = stdout(&ok(api.kubectl(&["get", "events", "-A"]), "events"));
    for wanted in [
        "Node node-1 status is now: NodeNotReady",
        "Marking for deletion Pod default/hasty",
        "Node is not ready",
    ] {
        assert!(events.contains(wanted), "{wanted}: {events}");
    }

    // The kubelet is back: it renews its lease and posts Ready; the taints go.
    let renew = format!(r#"{{"spec":{{"renewTime":"{}"}}}}"#, now_micro());
    ok(
        api.kubectl(&[
            "patch",
            "lease",
            "node-1",
            "-n",
            "kube-node-lease",
            "--type=merge",
            "-p",
            &renew,
        ]),
        "renew",
    );
    let back = format!(
        r#"{{"status":{{"conditions":[{{"type":"Ready","status":"True","reason":"KubeletReady","lastHeartbeatTime":"{}"}}]}}}}"#,
        now_micro().split('.').next().unwrap().to_string() + "Z"
    );
    ok(
        api.kubectl(&[
            "patch",
            "node",
            "node-1",
            "--subresource=status",
            "--type=merge",
            "-p",
            &back,
        ]),
        "ready again",
    );
    wait_until("taints removed", Duration::from_secs(10), || {
        node_taints(&api, "node-1").is_empty().then_some(())
    });
}

#[test]
fn a_job_runs_its_pods_to_completion_and_goes_with_them() {
    if !util::require(
        "kubectl",
        "a_job_runs_its_pods_to_completion_and_goes_with_them",
    ) {
        return;
    }
    let api = Api::start();
    ok(
        api.tc.run(&["start", "controller-manager"]),
        "start controller-manager",
    );
    ok(
        api.kubectl(&[
            "create",
            "job",
            "pi",
            "--image=perl:5.34",
            "--",
            "perl",
            "-e",
            "print 1",
        ]),
        "create job",
    );
    // No kubelet here: the test plays it, marking the pod Succeeded.
    let pod = wait_until("the job's pod", Duration::from_secs(20), || {
        let list = json(&api, &["pods", "-l", "job-name=pi"]);
        list["items"][0]["metadata"]["name"]
            .as_str()
            .map(str::to_string)
    });
    ok(
        api.kubectl(&[
            "patch",
            "pod",
            &pod,
            "--subresource=status",
            "--type=merge",
            "-p",
            r#"{"status":{"phase":"Succeeded"}}"#,
        ]),
        "pod succeeded",
    );
    ok(
        api.kubectl(&[
            "wait",
            "--for=condition=complete",
            "job/pi",
            "--timeout=20s",
        ]),
        "job complete",
    );
    let jobs = stdout(&ok(api.kubectl(&["get", "jobs"]), "get jobs"));
    assert!(jobs.contains("Complete") && jobs.contains("1/1"), "{jobs}");
    let job = json(&api, &["job", "pi"]);
    assert_eq!(
        condition(&job, "SuccessCriteriaMet")["status"],
        "True",
        "{job}"
    );
    assert_eq!(job["status"]["succeeded"], 1, "{job}");
    assert!(job["status"]["completionTime"].is_string(), "{job}");
    let events = stdout(&ok(api.kubectl(&["get", "events"]), "events"));
    assert!(
        events.contains("Created pod: pi-") && events.contains("Job completed"),
        "{events}"
    );
    ok(api.kubectl(&["delete", "job", "pi"]), "delete job");
    wait_until("its pod gone", Duration::from_secs(20), || {
        json(&api, &["pods", "-l", "job-name=pi"])["items"]
            .as_array()
            .unwrap()
            .is_empty()
            .then_some(())
    });
}

/// Plays the kubelet for pods labelled `selector`: every bound pod not yet ready becomes
/// Running and Ready, and a pod being deleted is confirmed gone. Returns how many pods are
/// bound.
fn play_kubelet(api: &Api, selector: &str) -> usize {
    let list = json(api, &["pods", "-l", selector]);
    let mut bound = 0;
    for p in list["items"].as_array().unwrap() {
        let name = p["metadata"]["name"].as_str().unwrap();
        if p["metadata"]["deletionTimestamp"].is_string() {
            let _ = api.kubectl(&["delete", "pod", name, "--grace-period=0", "--force"]);
            continue;
        }
        if p["spec"]["nodeName"].as_str().is_none() {
            continue;
        }
        bound += 1;
        let ready = p["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Ready" && c["status"] == "True");
        if !ready {
            let _ = api.kubectl(&[
                "patch",
                "pod",
                name,
                "--subresource=status",
                "--type=merge",
                "-p",
                r#"{"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}]}}"#,
            ]);
        }
    }
    bound
}

/// The images of the ready, bound pods labelled `selector`, by pod name.
fn pod_images(api: &Api, selector: &str) -> Vec<(String, String)> {
    let list = json(api, &["pods", "-l", selector]);
    let mut out: Vec<(String, String)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .map(|p| {
            (
                p["metadata"]["name"].as_str().unwrap().to_string(),
                p["spec"]["containers"][0]["image"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Waits, playing the kubelet, until `count` pods of `selector` are bound, ready and run
/// `image`.
fn roll_until(api: &Api, what: &str, selector: &str, count: usize, image: &str) {
    wait_until(what, Duration::from_secs(60), || {
        let bound = play_kubelet(api, selector);
        let images = pod_images(api, selector);
        (bound == count && images.len() == count && images.iter().all(|(_, i)| i == image))
            .then_some(())
    });
}

const DAEMONSET: &str = "apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, annotations: {kubernetes.io/change-cause: first}}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: c, image: 'agent:1'}]}
";

const STATEFULSET: &str = "apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  replicas: 3
  serviceName: web
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: c, image: 'db:1'}]}
";

#[test]
fn daemonsets_and_statefulsets_roll_out_and_undo_through_controller_revisions() {
    let test = "daemonsets_and_statefulsets_roll_out_and_undo_through_controller_revisions";
    if !util::require("kubectl", test) {
        return;
    }
    // Fake nodes renew no Lease: keep the node lifecycle controller from tainting them.
    let api = Api::start_with(util::TestCluster::with_controller_manager_args(
        false,
        &[
            "--node-monitor-grace-period=10m",
            "--node-startup-grace-period=10m",
        ],
    ));
    for n in ["node-1", "node-2"] {
        fake_node(&api, n);
    }
    ok(
        api.tc.run(&["start", "controller-manager"]),
        "start controller-manager",
    );
    ok(api.tc.run(&["start", "scheduler"]), "start scheduler");

    // DaemonSet: one pod per node, pinned by node affinity and bound by the scheduler.
    ok(
        api.apply_stdin(&["apply", "-f", "-"], DAEMONSET),
        "apply ds",
    );
    let placed = wait_until("a daemon pod on each node", Duration::from_secs(30), || {
        let mut p: Vec<String> = placement(&api, "agent")
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        p.sort();
        (p == ["node-1", "node-2"]).then_some(p)
    });
    assert_eq!(placed, ["node-1", "node-2"]);
    roll_until(&api, "agents ready", "app=agent", 2, "agent:1");
    let status = stdout(&ok(
        api.kubectl(&["rollout", "status", "ds/agent", "--timeout=30s"]),
        "rollout status ds",
    ));
    assert!(
        status.contains("daemon set \"agent\" successfully rolled out"),
        "{status}"
    );
    ok(
        api.kubectl(&["set", "image", "ds/agent", "c=agent:2"]),
        "set image ds",
    );
    roll_until(&api, "agents on agent:2", "app=agent", 2, "agent:2");
    let history = stdout(&ok(
        api.kubectl(&["rollout", "history", "ds/agent"]),
        "rollout history ds",
    ));
    assert!(history.contains("1         first"), "{history}");
    assert!(history.lines().any(|l| l.starts_with("2 ")), "{history}");
    let undo = stdout(&ok(
        api.kubectl(&["rollout", "undo", "ds/agent"]),
        "undo ds",
    ));
    assert!(undo.contains("daemonset.apps/agent rolled back"), "{undo}");
    roll_until(&api, "agents back on agent:1", "app=agent", 2, "agent:1");
    let revisions = json(&api, &["controllerrevisions", "-l", "app=agent"]);
    let mut numbers: Vec<i64> = revisions["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["revision"].as_i64().unwrap())
        .collect();
    numbers.sort();
    assert_eq!(
        numbers,
        [2, 3],
        "the first revision came back as the third: {revisions}"
    );
    wait_until("the daemon set's status", Duration::from_secs(20), || {
        let ds = json(&api, &["ds", "agent"]);
        let s = &ds["status"];
        (s["desiredNumberScheduled"] == 2
            && s["updatedNumberScheduled"] == 2
            && s["numberAvailable"] == 2)
            .then_some(())
    });

    // StatefulSet: web-0, then web-1 once web-0 is ready, then web-2.
    ok(
        api.apply_stdin(&["apply", "-f", "-"], STATEFULSET),
        "apply sts",
    );
    wait_until("web-0 bound", Duration::from_secs(30), || {
        let p = placement(&api, "db");
        (p.len() == 1 && p[0].0 == "web-0" && !p[0].1.is_empty()).then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        placement(&api, "db").len(),
        1,
        "web-1 waits for web-0 to be ready"
    );
    roll_until(&api, "three db pods", "app=db", 3, "db:1");
    assert_eq!(
        pod_images(&api, "app=db")
            .into_iter()
            .map(|(n, _)| n)
            .collect::<Vec<_>>(),
        ["web-0", "web-1", "web-2"]
    );
    ok(
        api.kubectl(&["rollout", "status", "sts/web", "--timeout=30s"]),
        "rollout status sts",
    );
    ok(
        api.kubectl(&["set", "image", "sts/web", "c=db:2"]),
        "set image sts",
    );
    roll_until(&api, "db pods on db:2", "app=db", 3, "db:2");
    let status = stdout(&ok(
        api.kubectl(&["rollout", "status", "sts/web", "--timeout=30s"]),
        "rollout status sts",
    ));
    // What kubectl says on any cluster, since the default strategy has a partition (0).
    assert!(
        status.contains("partitioned roll out complete: 3 new pods have been updated"),
        "{status}"
    );
    let sts = json(&api, &["sts", "web"]);
    assert_eq!(
        sts["status"]["currentRevision"], sts["status"]["updateRevision"],
        "{sts}"
    );
    let events = stdout(&ok(api.kubectl(&["get", "events"]), "events"));
    assert!(
        events.contains("delete Pod web-2 in StatefulSet web successful"),
        "{events}"
    );
    let undo = stdout(&ok(
        api.kubectl(&["rollout", "undo", "sts/web"]),
        "undo sts",
    ));
    assert!(undo.contains("statefulset.apps/web rolled back"), "{undo}");
    roll_until(&api, "db pods back on db:1", "app=db", 3, "db:1");

    // Deleting the owners takes their pods and revisions with them.
    ok(api.kubectl(&["delete", "ds", "agent"]), "delete ds");
    ok(api.kubectl(&["delete", "sts", "web"]), "delete sts");
    wait_until("pods and revisions gone", Duration::from_secs(30), || {
        // The pods' deletion, confirmed by the kubelet the test plays.
        play_kubelet(&api, "app in (agent, db)");
        let pods = json(&api, &["pods"])["items"].as_array().unwrap().len();
        let revs = json(&api, &["controllerrevisions"])["items"]
            .as_array()
            .unwrap()
            .len();
        (pods == 0 && revs == 0).then_some(())
    });
}

#[test]
fn a_cronjob_starts_a_job_on_its_schedule() {
    let test = "a_cronjob_starts_a_job_on_its_schedule";
    if !util::require("kubectl", test) {
        return;
    }
    let api = Api::start();
    ok(
        api.tc.run(&["start", "controller-manager"]),
        "start controller-manager",
    );
    ok(
        api.kubectl(&[
            "create",
            "cronjob",
            "tick",
            "--image=busybox",
            "--schedule=* * * * *",
            "--",
            "date",
        ]),
        "create cronjob",
    );
    // Every minute: within 60 s (and a little) of now a job appears, named after its minute.
    let job = wait_until("the first job", Duration::from_secs(75), || {
        json(&api, &["jobs"])["items"]
            .as_array()
            .unwrap()
            .first()
            .cloned()
    });
    let name = job["metadata"]["name"].as_str().unwrap();
    let minutes: i64 = name.strip_prefix("tick-").unwrap().parse().unwrap();
    let scheduled =
        job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"]
            .as_str()
            .unwrap();
    assert!(scheduled.ends_with(":00Z"), "{scheduled}");
    assert_eq!(
        job["metadata"]["ownerReferences"][0]["kind"], "CronJob",
        "{job}"
    );
    assert!(minutes > 29_000_000, "unix minutes: {minutes}");
    let cronjob = wait_until("the cronjob's status", Duration::from_secs(10), || {
        let c = json(&api, &["cronjob", "tick"]);
        c["status"]["lastScheduleTime"].is_string().then_some(c)
    });
    assert_eq!(cronjob["status"]["active"][0]["name"], name, "{cronjob}");
    let events = stdout(&ok(api.kubectl(&["get", "events"]), "events"));
    assert!(events.contains(&format!("Created job {name}")), "{events}");
}
