//! The supervisor with real child processes: shell scripts that crash, hang or ignore SIGTERM,
//! and Debian's etcd through the same planner the TUI uses.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kwb::component::{Component, Target, Unit};
use kwb::config::ClusterConfig;
use kwb::host::LocalPlanner;
use kwb::launch::{LaunchPlan, Probe};
use kwb::local::LocalCluster;
use kwb::supervisor::lifecycle::{ExitInfo, Phase, Policy};
use kwb::supervisor::logbuf::Source;
use kwb::supervisor::{Command, Event, Options, Planner, Supervisor};
use kwb::tui::keymap::Keymap;
use kwb::tui::state::{Action, ClusterInfo, State, update};

use crate::util::{self, TestCluster, pid_alive, wait_until};

/// Plans `sh -c SCRIPT` for etcd and `sleep` for nothing else: only etcd is ever started.
struct Script {
    script: String,
    dir: PathBuf,
}

impl Planner for Script {
    fn plan(&self, _u: Unit) -> Result<LaunchPlan, String> {
        let port = util::free_port();
        Ok(LaunchPlan {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), self.script.clone()],
            files: vec![],
            cwd: self.dir.clone(),
            // Nothing listens there: the probe fails, which these tests don't care about.
            probe: Probe::Tcp {
                addr: format!("127.0.0.1:{port}").parse().unwrap(),
            },
        })
    }
    fn backend_label(&self, _c: Component) -> String {
        "test script".into()
    }
    fn log_file(&self, u: Unit) -> PathBuf {
        self.dir.join(format!("{}.log", u.component))
    }
}

fn fast_policy() -> Policy {
    Policy {
        backoff_base: Duration::from_millis(200),
        backoff_cap: Duration::from_secs(5),
        stable_after: Duration::from_secs(30),
        unhealthy_after: 3,
        stop_grace: Duration::from_millis(700),
    }
}

fn script(script: &str, dir: &tempfile::TempDir) -> Supervisor {
    Supervisor::start(
        Arc::new(Script {
            script: script.into(),
            dir: dir.path().to_owned(),
        }),
        Options {
            policy: fast_policy(),
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashing_component_is_restarted_with_growing_delays() {
    let dir = tempfile::tempdir().unwrap();
    let sup = script("echo boom >&2; exit 7", &dir);
    let h = sup.handle();
    let mut events = h.subscribe();
    h.send(Command::Start(Component::Etcd.into()));
    // Record when each process starts: the gaps must grow (200 ms, 400 ms, 800 ms …).
    let mut starts = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while starts.len() < 4 {
        let ev = tokio::time::timeout_at(deadline.into(), events.recv())
            .await
            .expect("four starts within 20 s")
            .unwrap();
        if let Event::Log(unit, line) = ev
            && unit.component == Component::Etcd
            && line.source == Source::Supervisor
            && line.text.starts_with("started pid")
        {
            starts.push(Instant::now());
        }
    }
    let gaps: Vec<Duration> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps[0] >= Duration::from_millis(180), "{gaps:?}");
    assert!(
        gaps[1] > gaps[0] + Duration::from_millis(100),
        "delays must grow: {gaps:?}"
    );
    assert!(
        gaps[2] > gaps[1] + Duration::from_millis(200),
        "delays must grow: {gaps:?}"
    );
    // The status of the fourth start is published just after its first log line.
    assert!(
        h.wait_for(Duration::from_secs(5), |s| s[0].restarts >= 3)
            .await
    );
    let s = h.status(Component::Etcd);
    assert_eq!(s.last_exit, Some(ExitInfo::Code(7)));
    assert!(s.crash_loop >= 3, "a crash loop is shown as such: {s:?}");
    // The component's stderr reached its log file with the supervisor's notes.
    let log = util::read(&dir.path().join("etcd.log"));
    assert!(
        log.contains("boom") && log.contains("exited with code 7"),
        "{log}"
    );
    // A stop while backing off ends the loop.
    h.send(Command::Stop(Component::Etcd.into()));
    assert!(
        h.wait_for(Duration::from_secs(5), |s| s[0].phase == Phase::Stopped)
            .await
    );
    sup.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_ignoring_sigterm_is_killed_after_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let sup = script(
        "trap '' TERM; echo ready; while :; do sleep 0.1; done",
        &dir,
    );
    let h = sup.handle();
    h.send(Command::Start(Component::Etcd.into()));
    assert!(
        h.wait_for(Duration::from_secs(5), |s| s[0].pid.is_some())
            .await
    );
    let pid = h.status(Component::Etcd).pid.unwrap();
    // Let the shell install its trap before the signal comes.
    wait_until("the script's first line", Duration::from_secs(5), || {
        util::read(&dir.path().join("etcd.log"))
            .lines()
            .any(|l| l == "ready")
            .then_some(())
    });
    let t0 = Instant::now();
    h.send(Command::Stop(Component::Etcd.into()));
    assert!(
        h.wait_for(Duration::from_secs(5), |s| s[0].phase == Phase::Stopped)
            .await
    );
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(600),
        "SIGKILL came before the grace period: {took:?}"
    );
    let s = h.status(Component::Etcd);
    assert_eq!(s.last_exit, Some(ExitInfo::Signal(libc::SIGKILL)));
    assert_eq!(s.restarts, 0, "a stop is not a crash");
    assert!(!pid_alive(pid));
    let log = util::read(&dir.path().join("etcd.log"));
    assert!(log.contains("sending SIGKILL"), "{log}");
    sup.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    // The component forks a grandchild that would otherwise outlive it.
    let sup = script("sleep 300 & echo child $!; wait", &dir);
    let h = sup.handle();
    h.send(Command::Start(Component::Etcd.into()));
    let grandchild: u32 = wait_until("the grandchild's pid", Duration::from_secs(5), || {
        util::read(&dir.path().join("etcd.log"))
            .lines()
            .find_map(|l| l.strip_prefix("child ")?.trim().parse().ok())
    });
    assert!(pid_alive(grandchild));
    sup.shutdown().await;
    wait_until("the grandchild to die", Duration::from_secs(5), || {
        (!pid_alive(grandchild)).then_some(())
    });
}

/// Debian's etcd through the real planner: it starts with kwb's TLS flags, its probe passes,
/// its log lines reach the TUI pane's buffer, and etcdctl with the cluster certs works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_etcd_becomes_ready_and_its_lines_reach_the_pane() {
    if !util::require(
        "etcd",
        "binary_etcd_becomes_ready_and_its_lines_reach_the_pane",
    ) || !util::require(
        "etcdctl",
        "binary_etcd_becomes_ready_and_its_lines_reach_the_pane",
    ) {
        return;
    }
    let tc = TestCluster::new(true);
    let config = ClusterConfig::load(&tc.config).unwrap();
    let mut config = config;
    config.data_dir = Some(tc.data.clone());
    let (cluster, _lock) = LocalCluster::prepare(config).unwrap();
    let sup = Supervisor::start(Arc::new(LocalPlanner(cluster)), Options::default());
    let h = sup.handle();
    let mut events = h.subscribe();
    let keymap = Keymap::default_keymap();
    let mut state = State::new(h.statuses(), ClusterInfo::default());
    h.send(Command::Start(Component::Etcd.into()));
    let deadline = Instant::now() + Duration::from_secs(30);
    while state.panes[0].status.phase != Phase::Ready {
        let ev = tokio::time::timeout_at(deadline.into(), events.recv())
            .await
            .expect("etcd ready within 30 s")
            .unwrap();
        update(&mut state, Action::Supervisor(ev), &keymap);
    }
    // etcd answers /health a moment before it logs that it serves; keep feeding the pane.
    while !state.panes[0]
        .log
        .iter()
        .any(|(_, l)| l.text.contains("serving client traffic"))
    {
        let ev = tokio::time::timeout_at(deadline.into(), events.recv())
            .await
            .expect("etcd's 'ready to serve' line within 30 s")
            .unwrap();
        update(&mut state, Action::Supervisor(ev), &keymap);
    }
    let pane = &state.panes[0];
    assert!(
        pane.status.backend.starts_with("binary "),
        "{:?}",
        pane.status.backend
    );
    assert!(
        pane.status
            .probe
            .as_ref()
            .unwrap()
            .as_ref()
            .unwrap()
            .contains("GET /health 200"),
        "{:?}",
        pane.status.probe
    );
    let lines: Vec<_> = pane.log.iter().map(|(_, l)| l.text.clone()).collect();
    assert!(
        lines.iter().any(|l| l.contains("serving client traffic")),
        "etcd's own lines reach the pane: {lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("--client-cert-auth=true")),
        "{lines:#?}"
    );
    // The TLS material kwb made is what a real client needs.
    let put = tc.etcdctl(&["put", "/kwb/test", "hello"]);
    assert!(put.status.success(), "{}", util::stderr(&put));
    let get = tc.etcdctl(&["get", "/kwb/test", "--print-value-only"]);
    assert_eq!(util::stdout(&get).trim(), "hello");
    // Without a client certificate etcd refuses: the default is secure.
    let anon = std::process::Command::new("etcdctl")
        .arg(format!(
            "--endpoints=https://127.0.0.1:{}",
            tc.etcd_client_port()
        ))
        .arg(format!("--cacert={}", tc.data.join("pki/ca.crt").display()))
        .args(["--command-timeout=2s", "get", "/kwb/test"])
        .output()
        .unwrap();
    assert!(!anon.status.success());
    sup.shutdown().await;
    assert!(util::pids_mentioning(&tc.data_str()).is_empty());
}

/// etcd's probe passes (a listener the test holds), the apiserver's never does: start-all
/// starts etcd, then the apiserver, and holds the rest, saying what they wait for.
struct Gated {
    dir: PathBuf,
    etcd_probe: std::net::SocketAddr,
}

impl Planner for Gated {
    fn plan(&self, u: Unit) -> Result<LaunchPlan, String> {
        let addr = if u.component == Component::Etcd {
            self.etcd_probe
        } else {
            format!("127.0.0.1:{}", util::free_port()).parse().unwrap()
        };
        Ok(LaunchPlan {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), "exec sleep 300".into()],
            files: vec![],
            cwd: self.dir.clone(),
            probe: Probe::Tcp { addr },
        })
    }
    fn backend_label(&self, _c: Component) -> String {
        "test".into()
    }
    /// Two nodes: two kubelets.
    fn units(&self) -> Vec<Unit> {
        Unit::all(2)
    }
    fn log_file(&self, u: Unit) -> PathBuf {
        self.dir.join(format!("{}-{}.log", u.component, u.node))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_all_waits_for_each_stage_to_be_ready() {
    let dir = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let sup = Supervisor::start(
        Arc::new(Gated {
            dir: dir.path().to_owned(),
            etcd_probe: listener.local_addr().unwrap(),
        }),
        Options {
            policy: fast_policy(),
        },
    );
    let h = sup.handle();
    let mut events = h.subscribe();
    h.send(Command::StartAll);
    assert!(
        h.wait_for(Duration::from_secs(10), |s| s[0].phase == Phase::Ready)
            .await
    );
    assert!(
        h.wait_for(Duration::from_secs(10), |s| s[1].pid.is_some())
            .await
    );
    // The apiserver never gets ready, so its dependents wait, visibly and as events.
    let mut saw_waiting_event = false;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !saw_waiting_event {
        let ev = tokio::time::timeout_at(deadline.into(), events.recv())
            .await
            .expect("a status saying what the scheduler waits for")
            .unwrap();
        if let Event::Status(s) = ev {
            saw_waiting_event =
                s.component == Component::Scheduler && s.waiting_for == vec![Component::Apiserver];
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for s in &h.statuses()[2..] {
        assert_eq!(s.phase, Phase::Stopped, "{s:?}");
        assert_eq!(s.waiting_for, vec![Component::Apiserver]);
    }
    // A manual start is not gated: it starts even though its dependency is not ready. One
    // node's kubelet first, then every node's.
    assert_eq!(h.statuses()[5].node, 1);
    h.send(Command::Start(Target {
        component: Component::Kubelet,
        node: Some(1),
    }));
    assert!(
        h.wait_for(Duration::from_secs(5), |s| s[5].pid.is_some())
            .await
    );
    assert!(h.status(Component::Kubelet).pid.is_none());
    assert_eq!(
        h.status(Component::Kubelet).waiting_for,
        vec![Component::Apiserver]
    );
    h.send(Command::Start(Component::Kubelet.into()));
    assert!(
        h.wait_for(Duration::from_secs(5), |s| s[4].pid.is_some())
            .await
    );
    assert!(h.status(Component::Kubelet).waiting_for.is_empty());
    sup.shutdown().await;
    assert!(h.statuses().iter().all(|s| s.phase == Phase::Stopped));
}
