//! The seed workshop (../shared/seeds/000_*.txt) on the builtin control plane, step by step
//! as far as the builtin components go: each component started by hand shows what it adds.

use std::time::Duration;

use serde_json::Value;

use crate::apiserver::Api;
use crate::util::{self, ok, stdout, wait_until, wait_until_showing};

pub fn json(api: &Api, what: &[&str]) -> Value {
    let mut args = vec!["get"];
    args.extend_from_slice(what);
    args.extend_from_slice(&["-o", "json"]);
    serde_json::from_str(&stdout(&ok(api.kubectl(&args), "get -o json"))).unwrap()
}

pub fn items(api: &Api, what: &[&str]) -> Vec<Value> {
    json(api, what)["items"].as_array().unwrap().clone()
}

/// GET http://`addr`/ with curl, the body if it answered.
fn curl(addr: &str) -> Option<String> {
    let o = std::process::Command::new("curl")
        .args(["-sS", "--max-time", "2", &format!("http://{addr}/")])
        .output()
        .unwrap();
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).into_owned())
}

/// The HOSTNAMEs httpenv answers with over `requests` requests to `ip`:8888; None when a
/// request fails.
fn hostnames(ip: &str, requests: usize) -> Option<std::collections::BTreeSet<String>> {
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..requests {
        let body = curl(&format!("{ip}:8888"))?;
        let env: Value = serde_json::from_str(&body).ok()?;
        seen.insert(env["HOSTNAME"].as_str()?.to_string());
    }
    Some(seen)
}

#[test]
fn each_component_adds_its_part_of_the_workshop() {
    let test = "each_component_adds_its_part_of_the_workshop";
    if !util::require("kubectl", test) || !util::require("curl", test) {
        return;
    }
    // 1. etcd and apiserver only: the deployment is stored, nothing acts on it. The cluster
    //    has two nodes; the second joins in step 6.
    let api = Api::start_with(util::TestCluster::new(false).with_nodes(2));
    ok(
        api.kubectl(&["create", "deployment", "web", "--image=nginx"]),
        "create deployment",
    );
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        items(&api, &["rs"]).is_empty(),
        "no controller-manager, no ReplicaSet"
    );

    // 2. controller-manager: a ReplicaSet and a Pending pod, and still no node.
    ok(
        api.tc.run(&["start", "controller-manager"]),
        "start controller-manager",
    );
    let pod = wait_until("the pod", Duration::from_secs(30), || {
        items(&api, &["pods", "-l", "app=web"]).into_iter().next()
    });
    assert_eq!(pod["status"]["phase"], "Pending", "{pod}");
    assert!(items(&api, &["nodes"]).is_empty());

    // 3. scheduler and kubelet: the node registers Ready, the pod runs with an IP and
    //    answers there.
    ok(api.tc.run(&["start", "scheduler"]), "start scheduler");
    ok(
        api.tc
            .run(&["start", "kubelet", "--node", "test-control-plane"]),
        "start the first node's kubelet",
    );
    let nodes = wait_until("a Ready node", Duration::from_secs(30), || {
        let out = stdout(&ok(api.kubectl(&["get", "nodes"]), "get nodes"));
        out.contains(" Ready ").then_some(out)
    });
    assert!(
        nodes.contains("v1.33") && nodes.contains("control-plane"),
        "{nodes}"
    );
    assert_eq!(
        items(&api, &["nodes"]).len(),
        1,
        "the worker has not joined"
    );
    let node = &items(&api, &["nodes"])[0];
    assert_eq!(node["status"]["capacity"]["pods"], "110", "{node}");
    let lease = json(
        &api,
        &[
            "lease",
            "-n",
            "kube-node-lease",
            node["metadata"]["name"].as_str().unwrap(),
        ],
    );
    assert!(lease["spec"]["renewTime"].is_string(), "{lease}");
    let ip = wait_until(
        "the pod Running with an IP",
        Duration::from_secs(30),
        || {
            let p = items(&api, &["pods", "-l", "app=web"]).into_iter().next()?;
            (p["status"]["phase"] == "Running")
                .then(|| p["status"]["podIP"].as_str().map(str::to_string))?
        },
    );
    let wide = stdout(&ok(api.kubectl(&["get", "pods", "-o", "wide"]), "get pods"));
    assert!(
        wide.contains("1/1") && wide.contains("Running") && wide.contains(&ip),
        "{wide}"
    );
    let page = wait_until("the page on the pod IP", Duration::from_secs(10), || {
        curl(&format!("{ip}:80"))
    });
    assert!(page.contains("Welcome to nginx!"), "{page}");

    // kubectl logs reaches the kubelet through the apiserver: the startup and access lines.
    let logs = stdout(&ok(
        api.kubectl(&["logs", "deployment/web"]),
        "kubectl logs",
    ));
    assert!(
        logs.contains("started nginx") && logs.contains("\"GET / HTTP/1.1\" 200"),
        "{logs}"
    );
    let tail = stdout(&ok(
        api.kubectl(&["logs", "deployment/web", "--tail=1", "--timestamps"]),
        "kubectl logs --tail",
    ));
    assert_eq!(tail.lines().count(), 1, "{tail}");
    assert!(tail.starts_with("20") && tail.contains("GET /"), "{tail}");
    let previous = api.kubectl(&["logs", "deployment/web", "--previous"]);
    assert!(!previous.status.success());
    assert!(
        util::stderr(&previous).contains("previous terminated container \"nginx\""),
        "{}",
        util::stderr(&previous)
    );
    // Following: a new request shows up in a running `kubectl logs -f`.
    let mut follow = std::process::Command::new("kubectl")
        .env(
            "KUBECONFIG",
            api.tc.data.join("kubeconfig/admin.kubeconfig"),
        )
        .args(["logs", "-f", "deployment/web", "--tail=0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = follow.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::Read;
        let mut buf = [0u8; 4096];
        let n = out.read(&mut buf).unwrap_or(0);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    });
    std::thread::sleep(Duration::from_secs(1));
    curl(&format!("{ip}:80/followed"));
    wait_until("the followed line", Duration::from_secs(10), || {
        reader.is_finished().then_some(())
    });
    let _ = follow.kill();
    let _ = follow.wait();
    let followed = reader.join().unwrap();
    assert!(followed.contains("GET /followed"), "{followed}");

    // 4. expose: the ClusterIP refuses until the proxy runs, then serves the page.
    ok(
        api.kubectl(&["expose", "deployment", "web", "--port=80"]),
        "expose web",
    );
    let cluster_ip = json(&api, &["service", "web"])["spec"]["clusterIP"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(curl(&format!("{cluster_ip}:80")).is_none(), "no proxy yet");
    ok(api.tc.run(&["start", "proxy"]), "start proxy");
    let page = wait_until("the page on the ClusterIP", Duration::from_secs(20), || {
        curl(&format!("{cluster_ip}:80"))
    });
    assert!(page.contains("Welcome to nginx!"), "{page}");
    curl(&format!("{cluster_ip}:80/through-the-service"));

    // 5. httpenv, three replicas behind a service: the requests reach all three pods.
    ok(
        api.kubectl(&[
            "create",
            "deployment",
            "httpenv",
            "--image=jpetazzo/httpenv",
        ]),
        "create httpenv",
    );
    ok(
        api.kubectl(&["scale", "deployment", "httpenv", "--replicas=3"]),
        "scale httpenv",
    );
    ok(
        api.kubectl(&["expose", "deployment", "httpenv", "--port=8888"]),
        "expose httpenv",
    );
    let pods: Vec<String> = wait_until("3 httpenv pods running", Duration::from_secs(30), || {
        let p = items(&api, &["pods", "-l", "app=httpenv"]);
        let names: Vec<String> = p
            .iter()
            .filter(|p| p["status"]["phase"] == "Running")
            .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_string))
            .collect();
        (names.len() == 3).then_some(names)
    });
    let service_ip = json(&api, &["service", "httpenv"])["spec"]["clusterIP"]
        .as_str()
        .unwrap()
        .to_string();
    let seen = wait_until("all three hostnames", Duration::from_secs(30), || {
        let seen = hostnames(&service_ip, 9)?;
        (seen.len() == 3).then_some(seen)
    });
    let mut pods = pods;
    pods.sort();
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), pods);

    // 6. A second kubelet joins: two Ready nodes, and new pods spread over both.
    let joined = ok(
        api.tc.run(&["start", "kubelet", "--node", "test-worker"]),
        "start the second node's kubelet",
    );
    assert!(
        stdout(&joined).contains("kubelet test-worker: ready"),
        "{}",
        stdout(&joined)
    );
    let nodes = wait_until("two Ready nodes", Duration::from_secs(30), || {
        let out = stdout(&ok(api.kubectl(&["get", "nodes"]), "get nodes"));
        (out.matches(" Ready ").count() == 2).then_some(out)
    });
    assert!(nodes.contains("test-worker"), "{nodes}");
    // Each node's kubelet has its own log.
    let log = stdout(&ok(
        api.tc.run(&["logs", "kubelet", "--node", "test-worker"]),
        "kwb logs kubelet --node test-worker",
    ));
    assert!(log.contains("registered node test-worker"), "{log}");
    assert!(!log.contains("registered node test-control-plane"), "{log}");
    let unknown = api.tc.run(&["logs", "kubelet", "--node", "test-nowhere"]);
    assert!(!unknown.status.success());
    assert!(
        util::stderr(&unknown).contains("test-nowhere"),
        "{}",
        util::stderr(&unknown)
    );
    ok(
        api.kubectl(&["scale", "deployment", "httpenv", "--replicas=6"]),
        "scale httpenv to 6",
    );
    let spread = wait_until("6 httpenv pods running", Duration::from_secs(30), || {
        let p = items(&api, &["pods", "-l", "app=httpenv"]);
        let running: Vec<&Value> = p
            .iter()
            .filter(|p| p["status"]["phase"] == "Running")
            .collect();
        (running.len() == 6).then(|| {
            running
                .iter()
                .filter(|p| p["spec"]["nodeName"] == "test-worker")
                .count()
        })
    });
    assert!(
        spread >= 2,
        "new pods go to the new node: {spread} of 6 there"
    );
    let seen = wait_until("six hostnames", Duration::from_secs(30), || {
        let seen = hostnames(&service_ip, 18)?;
        (seen.len() == 6).then_some(seen)
    });
    assert_eq!(seen.len(), 6);

    // 7. kubectl logs deploy/web shows step 4's request through the service.
    let logs = stdout(&ok(
        api.kubectl(&["logs", "deployment/web"]),
        "kubectl logs",
    ));
    assert!(logs.contains("GET /through-the-service"), "{logs}");
    let ip = items(&api, &["pods", "-l", "app=httpenv"])[0]["status"]["podIP"]
        .as_str()
        .unwrap()
        .to_string();

    // A deleted pod is stopped and its deletion confirmed by the kubelet: it goes.
    ok(
        api.kubectl(&["delete", "deployment", "httpenv"]),
        "delete httpenv",
    );
    wait_until_showing(
        "httpenv's pods gone",
        Duration::from_secs(30),
        || {
            items(&api, &["pods", "-l", "app=httpenv"])
                .is_empty()
                .then_some(())
        },
        || {
            let pods = api.kubectl(&["get", "rs,pods", "-o", "wide"]);
            let mut state = String::from_utf8_lossy(&pods.stdout).into_owned();
            for args in [
                &["logs", "controller-manager"][..],
                &["logs", "kubelet", "--node", "test-control-plane"],
                &["logs", "kubelet", "--node", "test-worker"],
            ] {
                let log = api.tc.run(args);
                let log = String::from_utf8_lossy(&log.stdout);
                state += &format!("\n--- kwb {}, its httpenv lines:\n", args.join(" "));
                for line in log.lines().filter(|l| l.contains("httpenv")) {
                    state += line;
                    state.push('\n');
                }
            }
            state
        },
    );
    assert!(
        curl(&format!("{ip}:8888")).is_none(),
        "stopped pods no longer answer"
    );
    // A Job's pod runs to completion in the simulated runtime: the Job completes.
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
    ok(
        api.kubectl(&[
            "wait",
            "--for=condition=complete",
            "job/pi",
            "--timeout=30s",
        ]),
        "job complete",
    );
    let job_pods = stdout(&ok(
        api.kubectl(&["get", "pods", "-l", "job-name=pi"]),
        "job pods",
    ));
    assert!(
        job_pods.contains("Completed") && job_pods.contains("0/1"),
        "{job_pods}"
    );

    // The service without endpoints refuses at once.
    wait_until("the service refusing", Duration::from_secs(10), || {
        curl(&format!("{service_ip}:8888")).is_none().then_some(())
    });
}
