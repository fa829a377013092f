//! The builtin apiserver on the builtin etcd, driven by real kubectl (and curl), as the
//! supervisor runs them: TLS with the cluster PKI, client certificates.

use std::process::{Command, Output};

use crate::util::{self, TestCluster, ok, stderr, stdout};

/// A cluster with etcd and the apiserver started, and kubectl pointed at it.
pub struct Api {
    pub tc: TestCluster,
    cache: tempfile::TempDir,
}

impl Api {
    /// On the builtin etcd.
    pub fn start() -> Api {
        Api::start_on(false)
    }

    /// `debian_etcd`: the apiserver stores into Debian's etcd instead of the builtin one.
    pub fn start_on(debian_etcd: bool) -> Api {
        Api::start_with(TestCluster::new(debian_etcd))
    }

    /// On a cluster set up by the caller.
    pub fn start_with(tc: TestCluster) -> Api {
        ok(
            tc.run(&["up", "--detach", "--no-start"]),
            "kwb up --detach --no-start",
        );
        ok(tc.run(&["start", "etcd"]), "kwb start etcd");
        let start = ok(tc.run(&["start", "apiserver"]), "kwb start apiserver");
        assert!(
            stdout(&start).contains("apiserver: ready"),
            "{}",
            stdout(&start)
        );
        Api {
            tc,
            cache: tempfile::tempdir().unwrap(),
        }
    }

    /// kubectl with the admin kubeconfig and a discovery cache of its own (the cache is keyed
    /// by host:port only, so servers of other tests must not share it).
    pub fn kubectl(&self, args: &[&str]) -> Output {
        Command::new("kubectl")
            .env(
                "KUBECONFIG",
                self.tc.data.join("kubeconfig/admin.kubeconfig"),
            )
            .arg(format!("--cache-dir={}", self.cache.path().display()))
            .args(args)
            .output()
            .unwrap()
    }

    pub fn apply_stdin(&self, args: &[&str], yaml: &str) -> Output {
        use std::io::Write;
        let mut child = Command::new("kubectl")
            .env(
                "KUBECONFIG",
                self.tc.data.join("kubeconfig/admin.kubeconfig"),
            )
            .arg(format!("--cache-dir={}", self.cache.path().display()))
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(yaml.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    pub fn port(&self) -> u16 {
        let ports = util::read(&self.tc.data.join("ports.yaml"));
        ports
            .split("apiserver:")
            .nth(1)
            .and_then(|s| s.lines().find_map(|l| l.trim().strip_prefix("secure:")))
            .and_then(|p| p.trim().parse().ok())
            .expect("the apiserver's port in ports.yaml")
    }
}

const CONFIGMAP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\n  labels: {app: web}\ndata:\n  a: \"1\"\n  b: \"2\"\n";

#[test]
fn kubectl_reads_version_discovery_and_the_bootstrap_namespaces() {
    if !util::require(
        "kubectl",
        "kubectl_reads_version_discovery_and_the_bootstrap_namespaces",
    ) {
        return;
    }
    let api = Api::start();
    let v = stdout(&ok(
        api.kubectl(&["version", "-o", "json"]),
        "kubectl version",
    ));
    let v: serde_json::Value = serde_json::from_str(&v).unwrap();
    assert_eq!(v["serverVersion"]["minor"], "33", "{v}");
    let resources = stdout(&ok(api.kubectl(&["api-resources"]), "api-resources"));
    let row = |name: &str| -> Vec<String> {
        resources
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} missing: {resources}"))
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        row("configmaps"),
        ["configmaps", "cm", "v1", "true", "ConfigMap"]
    );
    assert_eq!(
        row("deployments"),
        ["deployments", "deploy", "apps/v1", "true", "Deployment"]
    );
    assert_eq!(row("nodes"), ["nodes", "no", "v1", "false", "Node"]);
    // `get all` expands the `all` category: as on a real cluster, the kubernetes Service.
    let all = stdout(&ok(api.kubectl(&["get", "all"]), "get all"));
    let kubernetes_ip = api.tc.kubernetes_service_ip();
    assert!(
        all.contains(&format!(
            "service/kubernetes   ClusterIP   {kubernetes_ip} "
        )),
        "{all}"
    );
    let deploy = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: nginx\n        image: nginx:1.27\n";
    ok(
        api.apply_stdin(&["create", "-f", "-", "--validate=false"], deploy),
        "create deployment",
    );
    let wide = stdout(&ok(
        api.kubectl(&["get", "deploy", "-o", "wide"]),
        "get deploy -o wide",
    ));
    let cols: Vec<&str> = wide.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        cols,
        [
            "NAME",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR"
        ]
    );
    let cells: Vec<&str> = wide.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(&cells[..2], ["web", "0/3"]);
    assert_eq!(&cells[5..], ["nginx", "nginx:1.27", "app=web"]);
    let ns = stdout(&ok(api.kubectl(&["get", "ns"]), "get ns"));
    assert!(ns.starts_with("NAME"), "{ns}");
    for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        assert!(
            ns.lines()
                .any(|l| l.starts_with(name) && l.contains("Active")),
            "{name} missing: {ns}"
        );
    }
    let status = stdout(&ok(api.tc.run(&["status"]), "kwb status"));
    assert!(status.contains("GET /readyz 200"), "{status}");
    // The `kubernetes` Service (first address of the service range) and its Endpoints.
    let svc = stdout(&ok(
        api.kubectl(&["get", "svc", "kubernetes", "--no-headers"]),
        "get svc",
    ));
    let svc: Vec<&str> = svc.split_whitespace().collect();
    assert_eq!(
        &svc[..5],
        [
            "kubernetes",
            "ClusterIP",
            &kubernetes_ip,
            "<none>",
            "443/TCP"
        ]
    );
    let ep = stdout(&ok(
        api.kubectl(&["get", "ep", "kubernetes", "--no-headers"]),
        "get ep",
    ));
    assert!(ep.contains(&format!("127.0.0.1:{}", api.port())), "{ep}");
}

#[test]
fn configmaps_live_and_die_as_on_a_real_cluster() {
    if !util::require("kubectl", "configmaps_live_and_die_as_on_a_real_cluster")
        || !util::require("etcdctl", "configmaps_live_and_die_as_on_a_real_cluster")
    {
        return;
    }
    configmap_lifecycle(&Api::start());
}

/// The same lifecycle with the apiserver storing into Debian's etcd: the builtin apiserver
/// speaks the etcd v3 API, not kwb's own etcd.
#[test]
fn configmaps_live_and_die_on_debians_etcd_too() {
    let test = "configmaps_live_and_die_on_debians_etcd_too";
    if !util::require("kubectl", test)
        || !util::require("etcdctl", test)
        || !util::require("etcd", test)
    {
        return;
    }
    let api = Api::start_on(true);
    let status = stdout(&ok(api.tc.run(&["status"]), "kwb status"));
    assert!(status.contains("binary /usr/bin/etcd"), "{status}");
    configmap_lifecycle(&api);
}

fn configmap_lifecycle(api: &Api) {
    // OpenAPI (and so client-side validation) is issue 5.
    let create = ["create", "-f", "-", "--validate=false"];
    let o = ok(api.apply_stdin(&create, CONFIGMAP), "create -f");
    assert_eq!(stdout(&o).trim(), "configmap/web-config created");
    let again = api.apply_stdin(&create, CONFIGMAP);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains(
            "Error from server (AlreadyExists): error when creating \"STDIN\": configmaps \"web-config\" already exists"
        ),
        "{}",
        stderr(&again)
    );
    let table = stdout(&ok(api.kubectl(&["get", "cm"]), "get cm"));
    let mut lines = table.lines();
    assert_eq!(
        lines.next().unwrap().split_whitespace().collect::<Vec<_>>(),
        ["NAME", "DATA", "AGE"]
    );
    assert!(
        lines.next().unwrap().starts_with("web-config   2"),
        "{table}"
    );
    let yaml = stdout(&ok(
        api.kubectl(&["get", "cm", "web-config", "-o", "yaml"]),
        "-o yaml",
    ));
    for field in [
        "namespace: default",
        "uid: ",
        "resourceVersion: ",
        "creationTimestamp: ",
        "app: web",
    ] {
        assert!(yaml.contains(field), "{field}: {yaml}");
    }
    let labelled = stdout(&ok(
        api.kubectl(&["get", "cm", "-A", "-l", "app=web", "--show-labels"]),
        "-A -l",
    ));
    assert!(
        labelled.contains("default     web-config   2") && labelled.contains("app=web"),
        "{labelled}"
    );
    let none = ok(api.kubectl(&["get", "cm", "-l", "app=db"]), "-l app=db");
    assert!(stderr(&none).contains("No resources found in default namespace."));
    let name = stdout(&ok(api.kubectl(&["get", "cm", "-o", "name"]), "-o name"));
    assert_eq!(name.trim(), "configmap/web-config");
    let a = stdout(&ok(
        api.kubectl(&["get", "cm", "web-config", "-o", "jsonpath={.data.a}"]),
        "jsonpath",
    ));
    assert_eq!(a, "1");
    let stored = stdout(&ok(
        api.tc.etcdctl(&[
            "get",
            "/registry/configmaps/default/web-config",
            "--print-value-only",
        ]),
        "etcdctl get",
    ));
    assert!(
        stored.contains("\"web-config\"") && stored.contains("\"kind\":\"ConfigMap\""),
        "{stored}"
    );
    ok(
        api.apply_stdin(
            &["replace", "-f", "-", "--validate=false"],
            &CONFIGMAP.replace("\"2\"", "\"3\""),
        ),
        "replace",
    );
    let b = stdout(&ok(
        api.kubectl(&["get", "cm", "web-config", "-o", "jsonpath={.data.b}"]),
        "jsonpath b",
    ));
    assert_eq!(b, "3");
    let del = ok(api.kubectl(&["delete", "cm", "web-config"]), "delete");
    assert_eq!(stdout(&del).trim(), "configmap \"web-config\" deleted");
    let gone = api.kubectl(&["get", "cm", "web-config"]);
    assert_eq!(gone.status.code(), Some(1));
    assert_eq!(
        stderr(&gone).trim(),
        "Error from server (NotFound): configmaps \"web-config\" not found"
    );
}

#[test]
fn bad_requests_get_upstreams_errors() {
    if !util::require("kubectl", "bad_requests_get_upstreams_errors")
        || !util::require("curl", "bad_requests_get_upstreams_errors")
    {
        return;
    }
    let api = Api::start();
    let unknown = api.kubectl(&["get", "widgets"]);
    assert!(
        stderr(&unknown).contains("the server doesn't have a resource type \"widgets\""),
        "{}",
        stderr(&unknown)
    );
    let invalid = api.apply_stdin(
        &["create", "-f", "-", "--validate=false"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n",
    );
    assert!(
        stderr(&invalid).contains("The ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"),
        "{}",
        stderr(&invalid)
    );
    let missing_ns = api.apply_stdin(
        &["create", "-n", "nowhere", "-f", "-", "--validate=false"],
        CONFIGMAP,
    );
    assert!(
        stderr(&missing_ns).contains("namespaces \"nowhere\" not found"),
        "{}",
        stderr(&missing_ns)
    );
    // No client certificate: 401 with a Status body.
    let anon = Command::new("curl")
        .args([
            "-sk",
            &format!("https://127.0.0.1:{}/api/v1/namespaces", api.port()),
        ])
        .output()
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&anon.stdout).unwrap();
    assert_eq!(body["code"], 401, "{body}");
    assert_eq!(body["reason"], "Unauthorized");
    // A body over 3 MiB: 413 with a Status, nothing stored.
    let big = tempfile::NamedTempFile::new().unwrap();
    let data = "x".repeat(4 << 20);
    std::fs::write(
        big.path(),
        format!(r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"big"}},"data":{{"d":"{data}"}}}}"#),
    )
    .unwrap();
    let too_large = api.curl(
        "POST",
        "/api/v1/namespaces/default/configmaps",
        Some(&format!("@{}", big.path().display())),
    );
    assert_eq!(too_large["code"], 413, "{too_large}");
    assert_eq!(too_large["reason"], "RequestEntityTooLarge");
}

#[test]
fn typed_create_commands_send_protobuf_and_get_what_they_asked_for() {
    if !util::require(
        "kubectl",
        "typed_create_commands_send_protobuf_and_get_what_they_asked_for",
    ) {
        return;
    }
    typed_creates(&Api::start());
}

#[test]
fn typed_create_commands_send_protobuf_and_get_what_they_asked_for_on_debians_etcd() {
    let test = "typed_create_commands_send_protobuf_and_get_what_they_asked_for_on_debians_etcd";
    if !util::require("kubectl", test) || !util::require("etcd", test) {
        return;
    }
    typed_creates(&Api::start_on(true));
}

fn typed_creates(api: &Api) {
    // Each of these sends its object as Kubernetes protobuf.
    for (args, created) in [
        (
            &["create", "namespace", "demo"][..],
            "namespace/demo created",
        ),
        (
            &[
                "create",
                "deployment",
                "web",
                "--image=nginx:1.27",
                "--replicas=0",
                "--port=80",
            ],
            "deployment.apps/web created",
        ),
        (
            &[
                "create",
                "configmap",
                "cfg",
                "--from-literal=a=1",
                "--from-literal=b=two",
            ],
            "configmap/cfg created",
        ),
        (
            &[
                "create",
                "secret",
                "generic",
                "pw",
                "--from-literal=password=s3cr3t",
            ],
            "secret/pw created",
        ),
        (
            &["create", "service", "clusterip", "web", "--tcp=80:8080"],
            "service/web created",
        ),
        (
            &[
                "create",
                "job",
                "once",
                "--image=busybox",
                "--",
                "echo",
                "hi",
            ],
            "job.batch/once created",
        ),
        (
            &[
                "create",
                "cronjob",
                "tick",
                "--image=busybox",
                "--schedule=*/5 * * * *",
                "--",
                "date",
            ],
            "cronjob.batch/tick created",
        ),
        (
            &["create", "job", "manual", "--from=cronjob/tick"],
            "job.batch/manual created",
        ),
    ] {
        let o = api.kubectl(args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        assert_eq!(stdout(&o).trim(), created, "{args:?}");
    }
    let json = |args: &[&str]| -> serde_json::Value {
        let o = ok(api.kubectl(args), "kubectl get -o json");
        serde_json::from_str(&stdout(&o)).unwrap()
    };
    let d = json(&["get", "deployment", "web", "-o", "json"]);
    assert_eq!(d["spec"]["replicas"], 0, "an explicit 0 survives: {d}");
    // Who set what: kubectl create, then kubectl label.
    ok(
        api.kubectl(&["label", "deployment", "web", "tier=fe"]),
        "label",
    );
    let m = json(&[
        "get",
        "deployment",
        "web",
        "-o",
        "json",
        "--show-managed-fields",
    ]);
    let managers = &m["metadata"]["managedFields"];
    assert_eq!(managers[0]["manager"], "kubectl-create", "{managers}");
    assert!(managers[0]["fieldsV1"]["f:spec"]["f:replicas"].is_object());
    assert_eq!(managers[1]["manager"], "kubectl-label", "{managers}");
    assert_eq!(
        managers[1]["fieldsV1"],
        serde_json::json!({"f:metadata": {"f:labels": {"f:tier": {}}}})
    );
    assert_eq!(d["spec"]["selector"]["matchLabels"]["app"], "web");
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "nginx:1.27");
    assert_eq!(c["ports"][0]["containerPort"], 80);
    assert!(d["metadata"]["creationTimestamp"].is_string());
    let cm = json(&["get", "configmap", "cfg", "-o", "json"]);
    assert_eq!(cm["data"], serde_json::json!({"a": "1", "b": "two"}));
    let secret = json(&["get", "secret", "pw", "-o", "json"]);
    assert_eq!(secret["data"]["password"], "czNjcjN0", "base64 of s3cr3t");
    let svc = json(&["get", "service", "web", "-o", "json"]);
    let ip = svc["spec"]["clusterIP"].as_str().unwrap_or("").to_string();
    assert!(
        ip.parse::<std::net::Ipv4Addr>().is_ok() && ip != api.tc.kubernetes_service_ip(),
        "a ClusterIP from the service range: {svc}"
    );
    assert_eq!(svc["spec"]["clusterIPs"], serde_json::json!([ip]));
    assert_eq!(svc["spec"]["type"], "ClusterIP");
    assert_eq!(svc["spec"]["sessionAffinity"], "None");
    assert_eq!(svc["spec"]["ports"][0]["protocol"], "TCP");
    assert_eq!(svc["spec"]["ports"][0]["port"], 80);
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], 8080);
    assert_eq!(svc["spec"]["selector"]["app"], "web");
    let job = json(&["get", "job", "once", "-o", "json"]);
    let spec = &job["spec"]["template"]["spec"];
    assert_eq!(
        spec["containers"][0]["command"],
        serde_json::json!(["echo", "hi"])
    );
    assert_eq!(spec["restartPolicy"], "Never");
    let cron = json(&["get", "cronjob", "tick", "-o", "json"]);
    assert_eq!(cron["spec"]["schedule"], "*/5 * * * *");
    let manual = json(&["get", "job", "manual", "-o", "json"]);
    assert_eq!(
        manual["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"],
        "manual"
    );
    assert_eq!(
        manual["spec"]["template"]["spec"]["containers"][0]["command"],
        serde_json::json!(["date"])
    );
    let ns = json(&["get", "namespace", "demo", "-o", "json"]);
    assert_eq!(ns["status"]["phase"], "Active");
    assert_eq!(
        ns["metadata"]["labels"]["kubernetes.io/metadata.name"],
        "demo"
    );
    // Defaults a real cluster fills in.
    assert_eq!(d["spec"]["strategy"]["type"], "RollingUpdate");
    assert_eq!(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
    assert_eq!(d["spec"]["revisionHistoryLimit"], 10);
    assert_eq!(d["spec"]["progressDeadlineSeconds"], 600);
    let pod_spec = &d["spec"]["template"]["spec"];
    assert_eq!(pod_spec["restartPolicy"], "Always");
    assert_eq!(pod_spec["dnsPolicy"], "ClusterFirst");
    assert_eq!(pod_spec["schedulerName"], "default-scheduler");
    assert_eq!(pod_spec["terminationGracePeriodSeconds"], 30);
    assert_eq!(c["imagePullPolicy"], "IfNotPresent");
    assert_eq!(c["terminationMessagePath"], "/dev/termination-log");
    assert_eq!(job["spec"]["backoffLimit"], 6);
    let job_uid = job["metadata"]["uid"].as_str().unwrap();
    assert_eq!(
        job["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"],
        job_uid
    );
    assert_eq!(spec["restartPolicy"], "Never");
    assert_eq!(cron["spec"]["concurrencyPolicy"], "Allow");

    // NodePorts: allocated from 30000-32767, never twice, freed on delete.
    ok(
        api.kubectl(&[
            "create",
            "service",
            "nodeport",
            "edge",
            "--tcp=80:8080",
            "--node-port=30080",
        ]),
        "create service nodeport",
    );
    let taken = api.kubectl(&[
        "create",
        "service",
        "nodeport",
        "edge2",
        "--tcp=80:8080",
        "--node-port=30080",
    ]);
    assert!(
        stderr(&taken).contains(
            "spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated"
        ),
        "{}",
        stderr(&taken)
    );
    ok(
        api.kubectl(&["create", "service", "nodeport", "auto", "--tcp=80:8080"]),
        "create service nodeport",
    );
    let auto = json(&["get", "service", "auto", "-o", "json"]);
    let port = auto["spec"]["ports"][0]["nodePort"].as_u64().unwrap();
    assert!((30000..=32767).contains(&port), "{auto}");
    assert_ne!(auto["spec"]["clusterIP"], svc["spec"]["clusterIP"]);
    ok(
        api.kubectl(&["delete", "service", "edge"]),
        "delete service",
    );
    ok(
        api.kubectl(&[
            "create",
            "service",
            "nodeport",
            "edge2",
            "--tcp=80:8080",
            "--node-port=30080",
        ]),
        "the freed node port is free again",
    );
    // A type change to ClusterIP drops and frees the node port; the ClusterIP is kept.
    ok(
        api.kubectl(&[
            "patch",
            "service",
            "auto",
            "--type=merge",
            "-p",
            r#"{"spec":{"type":"ClusterIP"}}"#,
        ]),
        "patch service type",
    );
    let clusterip = json(&["get", "service", "auto", "-o", "json"]);
    assert!(
        clusterip["spec"]["ports"][0]["nodePort"].is_null(),
        "{clusterip}"
    );
    assert_eq!(clusterip["spec"]["clusterIP"], auto["spec"]["clusterIP"]);
    ok(
        api.kubectl(&[
            "create",
            "service",
            "nodeport",
            "reuse",
            "--tcp=80:8080",
            &format!("--node-port={port}"),
        ]),
        "the node port the type change freed",
    );

    // Already exists, and an invalid name, as a real cluster words them.
    let again = api.kubectl(&["create", "namespace", "demo"]);
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(
        stderr(&again).trim(),
        "Error from server (AlreadyExists): namespaces \"demo\" already exists"
    );
    let bad = api.kubectl(&["create", "configmap", "Bad_Name"]);
    assert!(
        stderr(&bad).contains(
            "error: failed to create configmap: ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value"
        ),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn watches_report_changes_live_and_expire_after_compaction() {
    let test = "watches_report_changes_live_and_expire_after_compaction";
    if !util::require("kubectl", test)
        || !util::require("curl", test)
        || !util::require("etcdctl", test)
    {
        return;
    }
    let api = Api::start();
    ok(
        api.apply_stdin(
            &["create", "-f", "-", "--validate=false"],
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: first\n",
        ),
        "create first",
    );
    // kubectl get -w: the list, then one row per change, in order.
    let mut watcher = Command::new("kubectl")
        .env(
            "KUBECONFIG",
            api.tc.data.join("kubeconfig/admin.kubeconfig"),
        )
        .arg(format!("--cache-dir={}", api.cache.path().display()))
        .args([
            "get",
            "cm",
            "-w",
            "--output-watch-events",
            "--request-timeout=20s",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let out = watcher.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // The watch is open once kubectl has printed the list, which holds `first`.
    loop {
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(15))
            .expect("kubectl prints the list before watching");
        if line.contains("first") {
            break;
        }
    }
    ok(
        api.apply_stdin(&["create", "-f", "-", "--validate=false"], CONFIGMAP),
        "create",
    );
    ok(
        api.apply_stdin(&["replace", "-f", "-", "--validate=false"], CONFIGMAP),
        "replace",
    );
    ok(api.kubectl(&["delete", "cm", "web-config"]), "delete");
    let mut events = Vec::new();
    while events.len() < 3 {
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(15))
            .unwrap_or_else(|_| panic!("watch events so far: {events:?}"));
        if let Some(kind) = ["ADDED", "MODIFIED", "DELETED"]
            .iter()
            .find(|k| line.starts_with(*k))
        {
            assert!(line.contains("web-config"), "{line}");
            events.push(kind.to_string());
        }
    }
    assert_eq!(events, ["ADDED", "MODIFIED", "DELETED"]);
    let _ = watcher.kill();
    let _ = watcher.wait();

    // A watch from a compacted revision gets 410 Expired, as upstream answers it.
    let rev = stdout(&ok(
        api.tc.etcdctl(&["get", "x", "-w", "json"]),
        "etcdctl get",
    ));
    let rev: serde_json::Value = serde_json::from_str(&rev).unwrap();
    let rev = rev["header"]["revision"].as_i64().unwrap();
    ok(
        api.tc.etcdctl(&["compaction", &rev.to_string()]),
        "etcdctl compaction",
    );
    let pki = api.tc.data.join("pki");
    let o = Command::new("curl")
        .args(["-s", "--max-time", "10"])
        .arg("--cacert")
        .arg(pki.join("ca.crt"))
        .arg("--cert")
        .arg(pki.join("admin.crt"))
        .arg("--key")
        .arg(pki.join("admin.key"))
        .arg(format!(
            "https://127.0.0.1:{}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=2",
            api.port()
        ))
        .output()
        .unwrap();
    let body = stdout(&o);
    let event: serde_json::Value =
        serde_json::from_str(body.lines().next().unwrap_or("{}")).unwrap();
    assert_eq!(event["type"], "ERROR", "{body}");
    assert_eq!(event["object"]["code"], 410, "{body}");
    assert_eq!(event["object"]["reason"], "Expired", "{body}");

    // Watch-list, as client-go 1.35 asks for it: the objects, then a bookmark marking the end
    // of the initial events; timeoutSeconds ends the stream.
    let o = Command::new("curl")
        .args(["-s", "--max-time", "10"])
        .arg("--cacert")
        .arg(pki.join("ca.crt"))
        .arg("--cert")
        .arg(pki.join("admin.crt"))
        .arg("--key")
        .arg(pki.join("admin.key"))
        .arg(format!(
            "https://127.0.0.1:{}/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=1",
            api.port()
        ))
        .output()
        .unwrap();
    let events: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(types, ["ADDED", "BOOKMARK"], "{events:?}");
    assert_eq!(events[0]["object"]["metadata"]["name"], "first");
    assert_eq!(
        events[1]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
}

#[test]
fn label_annotate_scale_and_patches_work_as_on_a_real_cluster() {
    if !util::require(
        "kubectl",
        "label_annotate_scale_and_patches_work_as_on_a_real_cluster",
    ) {
        return;
    }
    let api = Api::start();
    let deploy = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: nginx\n        image: nginx\n";
    ok(
        api.apply_stdin(&["create", "-f", "-", "--validate=false"], deploy),
        "create",
    );
    let get = |path: &str| {
        stdout(&ok(
            api.kubectl(&["get", "deploy", "web", "-o", &format!("jsonpath={path}")]),
            "jsonpath",
        ))
    };
    assert_eq!(get("{.metadata.generation}"), "1");
    // Merge patches: label, annotate, scale (on /scale).
    ok(api.kubectl(&["label", "deploy", "web", "tier=fe"]), "label");
    ok(
        api.kubectl(&["annotate", "deploy", "web", "note=hi"]),
        "annotate",
    );
    let o = ok(
        api.kubectl(&["scale", "deploy", "web", "--replicas=3"]),
        "scale",
    );
    assert_eq!(stdout(&o).trim(), "deployment.apps/web scaled");
    assert_eq!(
        get(
            "{.spec.replicas} {.metadata.labels.tier} {.metadata.annotations.note} {.metadata.generation}"
        ),
        "3 fe hi 2",
        "labels and annotations are not spec: only the scale moved the generation"
    );
    // GET and PUT of the Scale, with its resourceVersion.
    ok(
        api.kubectl(&[
            "scale",
            "deploy",
            "web",
            "--replicas=2",
            "--current-replicas=3",
        ]),
        "scale --current-replicas",
    );
    let stale = api.kubectl(&[
        "scale",
        "deploy",
        "web",
        "--replicas=5",
        "--current-replicas=3",
    ]);
    assert!(!stale.status.success(), "the precondition must fail");
    assert_eq!(get("{.spec.replicas}"), "2");
    // JSON patch (rollout undo sends one), with a failing test op refused.
    ok(
        api.kubectl(&["patch", "deploy", "web", "--type", "json", "-p", r#"[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"nginx:1.27"}]"#]),
        "patch --type json",
    );
    assert_eq!(
        get("{.spec.template.spec.containers[0].image}"),
        "nginx:1.27"
    );
    let failed = api.kubectl(&[
        "patch",
        "deploy",
        "web",
        "--type",
        "json",
        "-p",
        r#"[{"op":"test","path":"/spec/replicas","value":9}]"#,
    ]);
    assert!(
        stderr(&failed).contains("testing value /spec/replicas failed"),
        "{}",
        stderr(&failed)
    );
    // Status is the status subresource's: a patch of the main resource does not change it.
    ok(
        api.kubectl(&[
            "patch",
            "deploy",
            "web",
            "--type",
            "merge",
            "-p",
            r#"{"status":{"replicas":7}}"#,
        ]),
        "patch status via main",
    );
    assert_eq!(get("{.status.replicas}"), "");
    ok(
        api.kubectl(&[
            "patch",
            "deploy",
            "web",
            "--subresource=status",
            "--type",
            "merge",
            "-p",
            r#"{"status":{"replicas":7}}"#,
        ]),
        "patch status",
    );
    assert_eq!(get("{.status.replicas}"), "7");
    ok(api.kubectl(&["label", "deploy", "web", "tier-"]), "unlabel");
    assert_eq!(get("{.metadata.labels}"), "");
    // kubectl patch's default type is a strategic merge patch.
    ok(
        api.kubectl(&[
            "patch",
            "deploy",
            "web",
            "-p",
            r#"{"spec":{"paused":true}}"#,
        ]),
        "patch --type strategic",
    );
    assert_eq!(get("{.spec.paused}"), "true");
}

#[test]
fn whoami_tokens_and_can_i_work_as_on_a_real_cluster() {
    if !util::require(
        "kubectl",
        "whoami_tokens_and_can_i_work_as_on_a_real_cluster",
    ) {
        return;
    }
    let api = Api::start();
    let me = ok(
        api.kubectl(&["auth", "whoami", "-o", "json"]),
        "auth whoami",
    );
    let me: serde_json::Value = serde_json::from_str(&stdout(&me)).unwrap();
    assert_eq!(me["kind"], "SelfSubjectReview");
    assert_eq!(me["status"]["userInfo"]["username"], "kubernetes-admin");
    let groups = me["status"]["userInfo"]["groups"].to_string();
    assert!(groups.contains("system:masters") && groups.contains("system:authenticated"));
    let can = ok(
        api.kubectl(&["auth", "can-i", "list", "pods"]),
        "auth can-i",
    );
    assert_eq!(stdout(&can).trim(), "yes");
    let rules = ok(
        api.kubectl(&["auth", "can-i", "--list"]),
        "auth can-i --list",
    );
    assert!(
        stdout(&rules)
            .lines()
            .any(|l| l.split_whitespace().next() == Some("*.*")),
        "{}",
        stdout(&rules)
    );

    // A service account's token, used with no client certificate at all.
    ok(
        api.kubectl(&["create", "serviceaccount", "robot"]),
        "create serviceaccount",
    );
    let token = ok(
        api.kubectl(&["create", "token", "robot", "--duration=1h"]),
        "create token",
    );
    let token = stdout(&token).trim().to_string();
    assert_eq!(token.split('.').count(), 3, "a JWT: {token}");
    let as_token = |token: &str, args: &[&str]| {
        Command::new("kubectl")
            .arg("--kubeconfig=/dev/null")
            .arg(format!("--server=https://127.0.0.1:{}", api.port()))
            .arg(format!(
                "--certificate-authority={}",
                api.tc.data.join("pki/ca.crt").display()
            ))
            .arg(format!("--token={token}"))
            .arg(format!("--cache-dir={}", api.cache.path().display()))
            .args(args)
            .output()
            .unwrap()
    };
    let review = api.curl(
        "POST",
        "/apis/authentication.k8s.io/v1/tokenreviews",
        Some(&serde_json::json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}}).to_string()),
    );
    assert_eq!(review["status"]["authenticated"], true, "{review}");
    assert_eq!(
        review["status"]["user"]["username"],
        "system:serviceaccount:default:robot"
    );
    let bogus = api.curl(
        "POST",
        "/apis/authentication.k8s.io/v1/tokenreviews",
        Some(r#"{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"a.b.c"}}"#),
    );
    assert_eq!(bogus["status"]["authenticated"], false, "{bogus}");
    let robot = ok(as_token(&token, &["auth", "whoami"]), "whoami as robot");
    let text = stdout(&robot);
    assert!(
        text.contains("system:serviceaccount:default:robot"),
        "{text}"
    );
    assert!(text.contains("system:serviceaccounts:default"), "{text}");
    // Authenticated is not authorized: RBAC refuses until a binding grants view.
    let before = as_token(&token, &["get", "namespaces"]);
    assert!(
        stderr(&before).contains(
            "User \"system:serviceaccount:default:robot\" cannot list resource \"namespaces\""
        ),
        "{}",
        stderr(&before)
    );
    ok(
        api.kubectl(&[
            "create",
            "clusterrolebinding",
            "robot-view",
            "--clusterrole=view",
            "--serviceaccount=default:robot",
        ]),
        "bind the service account",
    );
    ok(
        as_token(&token, &["get", "namespaces"]),
        "a token user reads",
    );

    // Forged, and orphaned, tokens get 401.
    let mut forged = token.clone();
    forged.pop();
    forged.push(if token.ends_with('A') { 'B' } else { 'A' });
    let refused = as_token(&forged, &["get", "namespaces"]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("You must be logged in to the server (Unauthorized)"),
        "{}",
        stderr(&refused)
    );
    ok(
        api.kubectl(&["delete", "serviceaccount", "robot"]),
        "delete serviceaccount",
    );
    let orphaned = as_token(&token, &["get", "namespaces"]);
    assert!(
        stderr(&orphaned).contains("Unauthorized"),
        "{}",
        stderr(&orphaned)
    );
    ok(
        api.kubectl(&["create", "serviceaccount", "brief"]),
        "create serviceaccount",
    );
    let short = api.kubectl(&["create", "token", "brief", "--duration=1m"]);
    assert!(
        stderr(&short).contains("may not specify a duration less than 10 minutes"),
        "{}",
        stderr(&short)
    );
}

impl Api {
    /// curl with the admin client certificate: method, path, JSON body.
    pub fn curl(&self, method: &str, path: &str, body: Option<&str>) -> serde_json::Value {
        let pki = self.tc.data.join("pki");
        let mut c = Command::new("curl");
        c.args(["-s", "--max-time", "10", "-X", method])
            .arg("--cacert")
            .arg(pki.join("ca.crt"))
            .arg("--cert")
            .arg(pki.join("admin.crt"))
            .arg("--key")
            .arg(pki.join("admin.key"))
            .args(["-H", "Content-Type: application/json"]);
        if let Some(b) = body {
            c.args(["--data-binary", b]);
        }
        let o = c
            .arg(format!("https://127.0.0.1:{}{path}", self.port()))
            .output()
            .unwrap();
        serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|_| panic!("{method} {path}: {}", stdout(&o)))
    }
}

#[test]
fn pods_are_bound_stopped_gracefully_and_evicted_as_upstream() {
    if !util::require(
        "kubectl",
        "pods_are_bound_stopped_gracefully_and_evicted_as_upstream",
    ) || !util::require(
        "curl",
        "pods_are_bound_stopped_gracefully_and_evicted_as_upstream",
    ) {
        return;
    }
    pod_lifecycle(&Api::start());
}

#[test]
fn pods_are_bound_stopped_gracefully_and_evicted_as_upstream_on_debians_etcd() {
    let test = "pods_are_bound_stopped_gracefully_and_evicted_as_upstream_on_debians_etcd";
    if !util::require("kubectl", test)
        || !util::require("curl", test)
        || !util::require("etcd", test)
    {
        return;
    }
    pod_lifecycle(&Api::start_on(true));
}

fn pod_lifecycle(api: &Api) {
    ok(
        api.kubectl(&["run", "web", "--image=nginx", "--labels=app=web"]),
        "kubectl run",
    );
    let pods = "/api/v1/namespaces/default/pods";
    // The scheduler's binding, once only.
    let bound = api.curl(
        "POST",
        &format!("{pods}/web/binding"),
        Some(r#"{"apiVersion":"v1","kind":"Binding","metadata":{"name":"web"},"target":{"apiVersion":"v1","kind":"Node","name":"n1"}}"#),
    );
    assert_eq!(bound["status"], "Success", "{bound}");
    let again = api.curl(
        "POST",
        &format!("{pods}/web/binding"),
        Some(r#"{"metadata":{"name":"web"},"target":{"name":"n2"}}"#),
    );
    assert_eq!(again["code"], 409, "{again}");
    let pod = api.curl("GET", &format!("{pods}/web"), None);
    assert_eq!(pod["spec"]["nodeName"], "n1");
    assert_eq!(pod["status"]["conditions"][0]["type"], "PodScheduled");

    // A disruption budget with no room refuses the eviction (429), as `kubectl drain` sees.
    ok(
        api.kubectl(&[
            "create",
            "poddisruptionbudget",
            "web",
            "--selector=app=web",
            "--min-available=1",
        ]),
        "create pdb",
    );
    let evicted = api.curl(
        "POST",
        &format!("{pods}/web/eviction"),
        Some(r#"{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"web"}}"#),
    );
    assert_eq!(evicted["code"], 429, "{evicted}");
    assert_eq!(evicted["reason"], "TooManyRequests");

    // A bound pod stops gracefully: deletionTimestamp now + 30 s, still there.
    let o = ok(
        api.kubectl(&["delete", "pod", "web", "--wait=false"]),
        "delete pod",
    );
    assert_eq!(stdout(&o).trim(), "pod \"web\" deleted");
    let pod = api.curl("GET", &format!("{pods}/web"), None);
    assert_eq!(pod["metadata"]["deletionGracePeriodSeconds"], 30, "{pod}");
    assert!(pod["metadata"]["deletionTimestamp"].is_string());
    // The kubelet (or --force) finishes it with grace 0.
    ok(
        api.kubectl(&["delete", "pod", "web", "--grace-period=0", "--force"]),
        "force delete",
    );
    let gone = api.curl("GET", &format!("{pods}/web"), None);
    assert_eq!(gone["code"], 404, "{gone}");

    // An unscheduled pod goes at once; finalizers hold an object until they are cleared.
    ok(api.kubectl(&["run", "lonely", "--image=nginx"]), "run");
    ok(api.kubectl(&["delete", "pod", "lonely"]), "delete pod");
    ok(
        api.apply_stdin(
            &["create", "-f", "-", "--validate=false"],
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n  finalizers: [example.com/keep]\n",
        ),
        "create held configmap",
    );
    ok(
        api.kubectl(&["delete", "configmap", "held", "--wait=false"]),
        "delete held",
    );
    let held = api.curl("GET", "/api/v1/namespaces/default/configmaps/held", None);
    assert!(held["metadata"]["deletionTimestamp"].is_string(), "{held}");
    ok(
        api.kubectl(&[
            "patch",
            "configmap",
            "held",
            "--type=merge",
            "-p",
            r#"{"metadata":{"finalizers":null}}"#,
        ]),
        "clear finalizers",
    );
    let held = api.curl("GET", "/api/v1/namespaces/default/configmaps/held", None);
    assert_eq!(
        held["code"], 404,
        "the last finalizer's removal deletes it: {held}"
    );

    // A delete whose precondition names another uid is refused.
    ok(
        api.kubectl(&["create", "configmap", "guarded", "--from-literal=x=1"]),
        "create",
    );
    let refused = api.curl(
        "DELETE",
        "/api/v1/namespaces/default/configmaps/guarded",
        Some(r#"{"kind":"DeleteOptions","apiVersion":"v1","preconditions":{"uid":"not-its-uid"}}"#),
    );
    assert_eq!(refused["code"], 409, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap_or("")
            .contains("Precondition failed: UID in precondition: not-its-uid"),
        "{refused}"
    );
    ok(api.kubectl(&["get", "configmap", "guarded"]), "still there");

    // deletecollection by label.
    for n in ["a", "b", "c"] {
        ok(
            api.kubectl(&["create", "configmap", n, "--from-literal=x=1"]),
            "create",
        );
    }
    ok(
        api.kubectl(&["label", "configmap", "a", "b", "sweep=yes"]),
        "label",
    );
    let swept = api.curl(
        "DELETE",
        "/api/v1/namespaces/default/configmaps?labelSelector=sweep%3Dyes",
        None,
    );
    assert_eq!(swept["items"].as_array().map(Vec::len), Some(2), "{swept}");
    let left = ok(api.kubectl(&["get", "configmaps", "-o", "name"]), "get");
    assert!(stdout(&left).contains("configmap/c") && !stdout(&left).contains("configmap/a"));

    // A terminating namespace takes nothing new.
    ok(
        api.kubectl(&["create", "namespace", "closing"]),
        "create ns",
    );
    ok(
        api.kubectl(&["delete", "namespace", "closing", "--wait=false"]),
        "delete ns",
    );
    let refused = api.kubectl(&["create", "configmap", "late", "-n", "closing"]);
    assert!(
        stderr(&refused).contains("because it is being terminated"),
        "{}",
        stderr(&refused)
    );
}

#[test]
fn describe_cluster_info_and_wide_output_read_as_on_a_real_cluster() {
    if !util::require(
        "kubectl",
        "describe_cluster_info_and_wide_output_read_as_on_a_real_cluster",
    ) {
        return;
    }
    describe_and_wide(&Api::start());
}

#[test]
fn describe_cluster_info_and_wide_output_read_as_on_a_real_cluster_on_debians_etcd() {
    let test = "describe_cluster_info_and_wide_output_read_as_on_a_real_cluster_on_debians_etcd";
    if !util::require("kubectl", test) || !util::require("etcd", test) {
        return;
    }
    describe_and_wide(&Api::start_on(true));
}

fn describe_and_wide(api: &Api) {
    ok(
        api.kubectl(&[
            "create",
            "deployment",
            "web",
            "--image=nginx:1.27",
            "--replicas=2",
        ]),
        "create deployment",
    );
    let versions = ok(api.kubectl(&["api-versions"]), "api-versions");
    for gv in [
        "apps/v1",
        "batch/v1",
        "v1",
        "authentication.k8s.io/v1",
        "policy/v1",
    ] {
        assert!(
            stdout(&versions).lines().any(|l| l == gv),
            "{gv} in {}",
            stdout(&versions)
        );
    }
    let info = ok(api.kubectl(&["cluster-info"]), "cluster-info");
    assert!(
        stdout(&info).contains(&format!(
            "Kubernetes control plane is running at https://127.0.0.1:{}",
            api.port()
        )),
        "{}",
        stdout(&info)
    );
    let wide = ok(
        api.kubectl(&["get", "deployment", "web", "-o", "wide"]),
        "get -o wide",
    );
    let text = stdout(&wide);
    let header: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAME",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR"
        ]
    );
    assert!(
        text.contains("nginx:1.27") && text.contains("app=web"),
        "{text}"
    );
    let described = ok(
        api.kubectl(&["describe", "deployment", "web"]),
        "describe deployment",
    );
    let text = stdout(&described);
    for line in [
        "Name:                   web",
        "Namespace:              default",
        "Selector:               app=web",
        "Replicas:               2 desired",
        "StrategyType:           RollingUpdate",
        "RollingUpdateStrategy:  25% max unavailable, 25% max surge",
        "    Image:         nginx:1.27",
    ] {
        assert!(text.contains(line), "{line:?} in:\n{text}");
    }
    ok(
        api.kubectl(&["run", "solo", "--image=busybox", "--restart=Never"]),
        "run",
    );
    let described = ok(api.kubectl(&["describe", "pod", "solo"]), "describe pod");
    let text = stdout(&described);
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.trim_start().strip_prefix(name))
            .map(str::trim)
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(field("Name:"), "solo", "{text}");
    assert_eq!(field("Status:"), "Pending", "{text}");
    assert_eq!(field("Image:"), "busybox", "{text}");
    assert_eq!(field("QoS Class:"), "BestEffort", "{text}");
    let selected = ok(
        api.kubectl(&[
            "get",
            "pods",
            "--field-selector=status.phase!=Failed,spec.nodeName=",
            "-o",
            "name",
        ]),
        "field selector",
    );
    assert_eq!(stdout(&selected).trim(), "pod/solo");
}
