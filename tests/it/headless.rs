//! The kwb binary without the TUI: `up --detach`, `start`, `stop`, `status`, `logs`, `down`,
//! killing kwb with SIGKILL, two clusters side by side, and bad input.

use std::process::Stdio;
use std::time::Duration;

use crate::util::{self, TestCluster, ok, pid_alive, stderr, stdout, wait_until};

fn status_json(tc: &TestCluster) -> serde_json::Value {
    let o = ok(tc.run(&["status", "-o", "json"]), "kwb status -o json");
    serde_json::from_slice(&o.stdout).unwrap()
}

fn phase_of(tc: &TestCluster, component: &str) -> String {
    status_json(tc)
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["component"] == component)
        .unwrap()["phase"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn detached_cluster_is_driven_from_the_command_line() {
    if !util::require("etcd", "detached_cluster_is_driven_from_the_command_line") {
        return;
    }
    let tc = TestCluster::new(true);
    let up = ok(
        tc.run(&["up", "--detach", "--no-start"]),
        "kwb up --detach --no-start",
    );
    let out = stdout(&up);
    assert!(out.contains("nothing started"), "{out}");
    let kubeconfig = tc.data.join("kubeconfig/admin.kubeconfig");
    assert!(
        out.contains(&format!("export KUBECONFIG={}", kubeconfig.display())),
        "{out}"
    );
    assert!(kubeconfig.is_file());
    for c in kwb::component::Component::ALL {
        assert_eq!(phase_of(&tc, c.name()), "stopped");
    }
    // A second supervisor on the same data dir is refused.
    let again = tc.run(&["up", "--detach", "--no-start"]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already runs"),
        "{}",
        stderr(&again)
    );

    let start = ok(tc.run(&["start", "etcd"]), "kwb start etcd");
    assert!(stdout(&start).contains("etcd: ready"), "{}", stdout(&start));
    // Another supervisor on this data dir is refused before it touches anything: the ports
    // of the running etcd must not be re-picked and recorded over.
    let ports_before = util::read(&tc.data.join("ports.yaml"));
    let second = tc.run(&["up", "--no-start"]);
    assert!(!second.status.success());
    assert!(
        stderr(&second).contains("already runs"),
        "{}",
        stderr(&second)
    );
    assert_eq!(util::read(&tc.data.join("ports.yaml")), ports_before);
    let table = stdout(&ok(tc.run(&["status"]), "kwb status"));
    assert!(
        table.contains("etcd") && table.contains("ready") && table.contains("binary /usr/bin/etcd"),
        "{table}"
    );

    let logs = wait_until(
        "etcd's serving line in kwb logs",
        Duration::from_secs(10),
        || {
            let logs = stdout(&ok(tc.run(&["logs", "etcd"]), "kwb logs etcd"));
            logs.contains("serving client traffic").then_some(logs)
        },
    );
    assert!(
        logs.contains("kwb: ") && logs.contains("started pid"),
        "{logs}"
    );

    // A component that cannot start fails visibly (here the proxy, its kubeconfig taken
    // away); kwb start reports the crash loop and the log says why.
    std::fs::remove_file(tc.data.join("kubeconfig/proxy.kubeconfig")).unwrap();
    let proxy = tc.run(&["start", "proxy"]);
    assert!(!proxy.status.success());
    assert!(stderr(&proxy).contains("crash"), "{}", stderr(&proxy));
    let proxy_log = stdout(&ok(tc.run(&["logs", "proxy"]), "kwb logs proxy"));
    assert!(
        proxy_log.contains("reading --kubeconfig") && proxy_log.contains("exited with code 1"),
        "{proxy_log}"
    );
    ok(tc.run(&["stop", "proxy"]), "kwb stop proxy");
    assert_eq!(phase_of(&tc, "proxy"), "stopped");

    // Restart gives a new process.
    let pid_before = status_json(&tc)[0]["pid"].as_u64().unwrap();
    ok(tc.run(&["restart", "etcd"]), "kwb restart etcd");
    let pid_after = status_json(&tc)[0]["pid"].as_u64().unwrap();
    assert_ne!(pid_before, pid_after);
    assert!(!pid_alive(pid_before as u32));

    let stop = ok(tc.run(&["stop", "etcd"]), "kwb stop etcd");
    assert!(stdout(&stop).contains("etcd: stopped"), "{}", stdout(&stop));
    ok(tc.run(&["start", "etcd"]), "kwb start etcd again");

    let down = ok(tc.run(&["down"]), "kwb down");
    assert!(
        stdout(&down).contains("stopped the cluster"),
        "{}",
        stdout(&down)
    );
    assert!(
        util::pids_mentioning(&tc.data_str()).is_empty(),
        "processes left after kwb down"
    );
    let after = tc.run(&["status"]);
    assert!(!after.status.success());
    assert!(
        stderr(&after).contains("no kwb supervisor runs"),
        "{}",
        stderr(&after)
    );
    // Down when nothing runs is not an error.
    ok(tc.run(&["down"]), "kwb down twice");
}

#[test]
fn killing_kwb_with_sigkill_leaves_no_child_alive() {
    if !util::require("etcd", "killing_kwb_with_sigkill_leaves_no_child_alive") {
        return;
    }
    let tc = TestCluster::new(true);
    let mut kwb = tc
        .kwb(&["up", "--no-start"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the supervisor to answer", Duration::from_secs(20), || {
        tc.run(&["status"]).status.success().then_some(())
    });
    ok(tc.run(&["start", "etcd"]), "kwb start etcd");
    let _ = tc.run(&["start", "controller-manager", "--no-wait"]);
    let children: Vec<u32> = util::pids_mentioning(&tc.data_str())
        .into_iter()
        .filter(|p| *p != kwb.id())
        .collect();
    assert!(!children.is_empty());
    kwb.kill().unwrap(); // SIGKILL: no chance to clean up
    kwb.wait().unwrap();
    wait_until(
        "every child of the killed kwb to die",
        Duration::from_secs(10),
        || children.iter().all(|p| !pid_alive(*p)).then_some(()),
    );
    // The lock died with the process: a new supervisor can take the cluster over at once.
    ok(
        tc.run(&["up", "--detach", "--no-start"]),
        "kwb up after a SIGKILL",
    );
    ok(tc.run(&["start", "etcd"]), "etcd starts again on its data");
}

#[test]
fn two_clusters_run_side_by_side_on_default_ports() {
    if !util::require("etcd", "two_clusters_run_side_by_side_on_default_ports") {
        return;
    }
    // No ports in the config: each cluster takes the defaults when free, else free ones.
    let a = TestCluster::new(true);
    let b = TestCluster::new(true);
    for tc in [&a, &b] {
        std::fs::write(&tc.config, "components:\n  etcd:\n    backend: binary\n").unwrap();
    }
    ok(a.run(&["up", "--detach", "--no-start"]), "up a");
    ok(a.run(&["start", "etcd"]), "start etcd in a");
    ok(b.run(&["up", "--detach", "--no-start"]), "up b");
    ok(b.run(&["start", "etcd"]), "start etcd in b");
    assert_ne!(a.etcd_client_port(), b.etcd_client_port());
    // Ports are kept for the next start.
    let port = b.etcd_client_port();
    ok(b.run(&["down"]), "down b");
    ok(b.run(&["up", "--detach", "--no-start"]), "up b again");
    assert_eq!(b.etcd_client_port(), port);
}

#[test]
fn bad_config_is_reported_with_its_location_and_nothing_starts() {
    let tc = TestCluster::new(false);
    std::fs::write(
        &tc.config,
        "name: demo\ncomponents:\n  etcd:\n    backnd: binary\n",
    )
    .unwrap();
    let o = tc.run(&["up", "--detach"]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("kwb: error:") && e.contains("backnd") && e.contains("kwb.yaml"),
        "{e}"
    );
    assert!(!tc.data.join("supervisor.sock").exists());
}

#[test]
fn config_default_prints_a_config_that_parses() {
    let o = ok(
        std::process::Command::new(util::KWB)
            .args(["config", "default"])
            .output()
            .unwrap(),
        "kwb config default",
    );
    let text = stdout(&o);
    assert!(text.contains("components:") && text.contains("backend: builtin"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kwb.yaml");
    std::fs::write(&path, text).unwrap();
    kwb::config::ClusterConfig::load(&path).unwrap();
}

#[test]
fn a_builtin_component_that_cannot_start_says_what_to_fix() {
    let o = std::process::Command::new(util::KWB)
        .args([
            "component",
            "proxy",
            "--kubeconfig=/nonexistent/proxy.kubeconfig",
            "--hostname-override=n",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("reading --kubeconfig /nonexistent/proxy.kubeconfig"),
        "{e}"
    );
}
