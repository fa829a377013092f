//! The real kwb binary in tmux: six panes, etcd (Debian's, binary backend) started from the
//! keyboard turns ready, help lists the bindings, quit leaves no process behind.

use std::process::Command;
use std::time::Duration;

use crate::util::{self, TestCluster, wait_until};

/// A tmux server of its own (its own socket), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(command: &str, width: u16, height: u16) -> Tmux {
        let socket = format!("kwb-test-{}-{}", std::process::id(), util::free_port());
        let t = Tmux { socket };
        let o = t
            .cmd(&[
                "new-session",
                "-d",
                "-s",
                "kwb",
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
            ])
            .arg(command)
            .output()
            .unwrap();
        assert!(o.status.success(), "tmux new-session: {}", util::stderr(&o));
        // Keep the pane after kwb exits, to read its exit status.
        t.cmd(&["set-option", "-t", "kwb", "remain-on-exit", "on"])
            .output()
            .unwrap();
        t
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket, "-f", "/dev/null"]).args(args);
        c
    }

    fn screen(&self) -> String {
        util::stdout(
            &self
                .cmd(&["capture-pane", "-p", "-t", "kwb"])
                .output()
                .unwrap(),
        )
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "kwb"];
        args.extend_from_slice(keys);
        self.cmd(&args).output().unwrap();
    }

    fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let mut last = String::new();
        let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wait_until(what, timeout, || {
                last = self.screen();
                pred(&last).then(|| last.clone())
            })
        }));
        found.unwrap_or_else(|_| panic!("timed out waiting for {what}; screen:\n{last}"))
    }

    /// Types a `:` command (`po`, `ctx other`) and Enter.
    fn command(&self, text: &str) {
        self.keys(&[":"]);
        self.keys(&["-l", text]);
        self.keys(&["Enter"]);
    }

    /// Pastes `text` as a terminal paste (bracketed, when the program asked for it).
    fn paste(&self, text: &str) {
        let o = self
            .cmd(&["set-buffer", "-b", "kwb-test", "--", text])
            .output()
            .unwrap();
        assert!(o.status.success(), "tmux set-buffer: {}", util::stderr(&o));
        self.cmd(&["paste-buffer", "-p", "-d", "-b", "kwb-test", "-t", "kwb"])
            .output()
            .unwrap();
    }

    /// `q`, then waits until kwb has exited.
    fn quit(&self, timeout: Duration) {
        self.keys(&["q"]);
        wait_until("kwb to exit after q", timeout, || {
            self.pane_dead().then_some(())
        });
    }

    fn pane_dead(&self) -> bool {
        util::stdout(
            &self
                .cmd(&["display-message", "-p", "-t", "kwb", "#{pane_dead}"])
                .output()
                .unwrap(),
        )
        .trim()
            == "1"
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]).output();
    }
}

/// No process of the test's cluster is left (every one has the data dir in its command line).
fn nothing_left_of(tc: &TestCluster) {
    wait_until(
        "no process of this cluster left",
        Duration::from_secs(5),
        || {
            util::pids_mentioning(&tc.data_str())
                .is_empty()
                .then_some(())
        },
    );
}

/// The title line of a component's pane.
fn title_line<'a>(screen: &'a str, component: &str) -> Option<&'a str> {
    screen
        .lines()
        .find(|l| l.split_whitespace().any(|w| w == component) && l.contains("restarts"))
}

#[test]
fn six_panes_start_etcd_from_the_keyboard_and_quit_cleanly() {
    let test = "six_panes_start_etcd_from_the_keyboard_and_quit_cleanly";
    if !util::require("tmux", test) || !util::require("etcd", test) {
        return;
    }
    let tc = TestCluster::new(true);
    let command = format!(
        "{} --no-start --config {} --data-dir {}",
        util::KWB,
        tc.config.display(),
        tc.data.display()
    );
    let tmux = Tmux::start(&command, 80, 24);
    let screen = tmux.wait_for("six stopped panes", Duration::from_secs(20), |s| {
        kwb::component::Component::ALL
            .iter()
            .all(|c| title_line(s, c.name()).is_some_and(|l| l.contains("stopped")))
    });
    assert!(
        screen.contains("? help") && screen.contains("q quit"),
        "{screen}"
    );

    // etcd has the focus at start: `s` starts it.
    tmux.keys(&["s"]);
    let screen = tmux.wait_for("etcd ready", Duration::from_secs(30), |s| {
        title_line(s, "etcd").is_some_and(|l| l.contains("● ready") && l.contains("pid"))
    });
    assert!(screen.contains("binary /usr/bin/etcd"), "{screen}");
    assert!(screen.contains("1/6 ready"), "{screen}");

    // Help comes from the keymap.
    tmux.keys(&["?"]);
    let screen = tmux.wait_for("help", Duration::from_secs(5), |s| s.contains(" keys "));
    assert!(screen.contains("start the focused component"), "{screen}");
    tmux.keys(&["Escape"]);
    tmux.wait_for("help closed", Duration::from_secs(5), |s| {
        !s.contains(" keys ")
    });

    // Zoom shows etcd alone; a search finds a line in its log.
    tmux.keys(&["z"]);
    tmux.wait_for("zoomed etcd", Duration::from_secs(5), |s| {
        title_line(s, "scheduler").is_none()
    });
    tmux.keys(&["/"]);
    tmux.keys(&["-l", "serving client traffic"]);
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("the search hit", Duration::from_secs(15), |s| {
        s.contains("search \"serving client traffic\": line")
    });
    assert!(
        screen
            .lines()
            .any(|l| l.contains("serving client traffic securely")),
        "the match is on screen: {screen}"
    );
    // Esc clears the search. Wait for that before `z`: ESC then z at once reads as alt-z.
    tmux.keys(&["Escape"]);
    tmux.wait_for("search cleared", Duration::from_secs(5), |s| {
        !s.contains("search \"")
    });
    tmux.keys(&["z"]);
    tmux.wait_for("unzoomed", Duration::from_secs(5), |s| {
        title_line(s, "scheduler").is_some()
    });

    tmux.quit(Duration::from_secs(20));
    nothing_left_of(&tc);
}

/// Two nodes: the kubelet pane's detail line shows each node's kubelet, and its log lines
/// say which node they come from.
#[test]
fn the_kubelet_pane_shows_every_node() {
    let test = "the_kubelet_pane_shows_every_node";
    if !util::require("tmux", test) {
        return;
    }
    let tc = TestCluster::new(false);
    let command = format!(
        "{} --nodes 2 --config {} --data-dir {}",
        util::KWB,
        tc.config.display(),
        tc.data.display()
    );
    let tmux = Tmux::start(&command, 120, 40);
    // Focused, the kubelet pane is tall enough for its detail line.
    tmux.keys(&["5"]);
    let screen = tmux.wait_for("both nodes ready", Duration::from_secs(60), |s| {
        s.contains("nodes: test-control-plane ● ready, test-worker ● ready")
            && s.lines().any(|l| l.contains("[test-worker]"))
    });
    assert!(screen.contains("[test-worker]"), "{screen}");
    // Seven processes: five components and two kubelets.
    tmux.wait_for("seven ready", Duration::from_secs(30), |s| {
        s.contains("7/7 ready")
    });

    tmux.quit(Duration::from_secs(30));
    nothing_left_of(&tc);
}

/// The resource browser on the local cluster: `:deploy` and `:po` list what kubectl created,
/// with kubectl's columns, and a scale shows its new pod live.
#[test]
fn the_browser_lists_resources_live() {
    let test = "the_browser_lists_resources_live";
    if !util::require("tmux", test) || !util::require("kubectl", test) {
        return;
    }
    let tc = TestCluster::new(false);
    let command = format!(
        "{} --config {} --data-dir {}",
        util::KWB,
        tc.config.display(),
        tc.data.display()
    );
    let tmux = Tmux::start(&command, 160, 40);
    tmux.wait_for("every component ready", Duration::from_secs(60), |s| {
        s.contains("6/6 ready")
    });
    let kubectl = |args: &[&str]| tc.kubectl_ok(args);
    kubectl(&["create", "deployment", "web", "--image=nginx"]);

    tmux.command("deploy");
    let screen = tmux.wait_for("the deployment row", Duration::from_secs(30), |s| {
        s.lines().any(|l| l.contains("web ") && l.contains("1/1"))
    });
    assert!(screen.contains("deployments.apps (default)"), "{screen}");
    // Enter on the deployment: its ReplicaSets; on one of them: its pods.
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        "the deployment's replicasets",
        Duration::from_secs(15),
        |s| s.contains("replicasets.apps (default) -l app=web · 1 rows"),
    );
    tmux.keys(&["Enter"]);
    tmux.wait_for("the replicaset's pods", Duration::from_secs(15), |s| {
        s.contains("pods (default) -l app=web,pod-template-hash=") && s.contains("● Running")
    });
    assert!(
        screen.contains("NAME   READY   UP-TO-DATE   AVAILABLE"),
        "{screen}"
    );

    tmux.command("po");
    tmux.wait_for("one pod Running", Duration::from_secs(30), |s| {
        s.lines()
            .filter(|l| l.contains("web-") && l.contains("● Running"))
            .count()
            == 1
    });
    kubectl(&["scale", "deployment", "web", "--replicas=2"]);
    tmux.wait_for("the new pod, live", Duration::from_secs(30), |s| {
        s.lines()
            .filter(|l| l.contains("web-") && l.contains("● Running"))
            .count()
            == 2
    });
    // On the selected pod: its YAML, its describe with events, its log followed.
    tmux.keys(&["y"]);
    let screen = tmux.wait_for("the YAML", Duration::from_secs(15), |s| {
        s.contains("kind: Pod") && s.contains(" yaml pods default/web-")
    });
    assert!(
        !screen.contains("manager:"),
        "managedFields folded: {screen}"
    );
    tmux.keys(&["Escape"]);
    tmux.wait_for("the list again", Duration::from_secs(5), |s| {
        s.contains("READY")
    });
    tmux.keys(&["d"]);
    tmux.wait_for("the describe", Duration::from_secs(15), |s| {
        s.contains("Name:         web-")
    });
    // Its events are at the end.
    tmux.keys(&["G"]);
    tmux.wait_for("the describe's events", Duration::from_secs(15), |s| {
        s.contains("Events:") && s.contains("Started container nginx")
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for("the list again", Duration::from_secs(5), |s| {
        s.contains("READY")
    });
    tmux.keys(&["l"]);
    tmux.wait_for("the followed log", Duration::from_secs(15), |s| {
        s.contains("following") && s.contains("kwb sim: started nginx")
    });
    tmux.keys(&["Escape"]);
    // Wait for Esc to land: ESC and the next key at once read as alt-key.
    tmux.wait_for("the list again", Duration::from_secs(5), |s| {
        s.contains("READY")
    });
    // `/` filters the rows; Esc clears the filter.
    tmux.keys(&["/"]);
    tmux.keys(&["-l", "nomatch"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the filter", Duration::from_secs(5), |s| {
        s.contains("0 of 2 rows match /nomatch")
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for("the filter cleared", Duration::from_secs(5), |s| {
        s.contains("2 rows")
    });
    // `o` sorts by the first column, `O` reverses it.
    tmux.keys(&["o"]);
    tmux.wait_for("sorted by name", Duration::from_secs(5), |s| {
        s.contains("NAME↑")
    });
    tmux.keys(&["O"]);
    tmux.wait_for("reversed", Duration::from_secs(5), |s| s.contains("NAME↓"));
    // Every namespace: the title says so and NAMESPACE leads the columns.
    tmux.command("ns all");
    tmux.wait_for("all namespaces", Duration::from_secs(10), |s| {
        s.contains("pods (all namespaces)") && s.contains("NAMESPACE")
    });

    // An unknown resource is refused with kubectl's words.
    tmux.command("widgets");
    tmux.wait_for("the refusal", Duration::from_secs(10), |s| {
        s.contains("the server doesn't have a resource type \"widgets\"")
    });

    tmux.quit(Duration::from_secs(30));
}

/// `kwb --attach KUBECONFIG` on a cluster the test started with `kwb up --detach`: the
/// browser fills the screen on the context's pods, the header names context, cluster and
/// server version, resources switch with `:`, component keys are refused plainly.
#[test]
fn attach_mode_browses_a_running_cluster() {
    let test = "attach_mode_browses_a_running_cluster";
    if !util::require("tmux", test) || !util::require("kubectl", test) {
        return;
    }
    let tc = TestCluster::new(false).up();
    let kubeconfig = tc.data.join("kubeconfig/admin.kubeconfig");
    let created = Command::new("kubectl")
        .env("KUBECONFIG", &kubeconfig)
        .args(["create", "deployment", "web", "--image=nginx"])
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", util::stderr(&created));

    // A context that is not there: a clear error, before the screen is taken.
    let wrong = Command::new(util::KWB)
        .args(["--attach"])
        .arg(&kubeconfig)
        .args(["--context", "nope"])
        .output()
        .unwrap();
    assert!(!wrong.status.success());
    assert!(
        util::stderr(&wrong).contains("no context \"nope\" in the kubeconfig (it has: test)"),
        "{}",
        util::stderr(&wrong)
    );

    // A copy of the kubeconfig with a second context on the same cluster, for `:ctx`.
    let two_contexts = tc.data.join("two-contexts.kubeconfig");
    std::fs::copy(&kubeconfig, &two_contexts).unwrap();
    let added = Command::new("kubectl")
        .args([
            "config",
            "set-context",
            "other",
            "--cluster=test",
            "--user=admin",
        ])
        .args(["--namespace=kube-system", "--kubeconfig"])
        .arg(&two_contexts)
        .output()
        .unwrap();
    assert!(added.status.success(), "{}", util::stderr(&added));

    let command = format!("{} --attach {}", util::KWB, two_contexts.display());
    let tmux = Tmux::start(&command, 120, 30);
    let screen = tmux.wait_for("the pods of default", Duration::from_secs(30), |s| {
        s.contains("pods (default)") && s.contains("● Running")
    });
    assert!(
        screen.contains("context test · cluster test · user ") && screen.contains("server v1."),
        "{screen}"
    );
    // Beside the browser, what the cluster reveals of its components.
    let screen = tmux.wait_for("the control plane panel", Duration::from_secs(20), |s| {
        s.contains("apiserver's etcd check ok") && s.contains("lease renewed")
    });
    assert!(screen.contains("test-control-plane Ready"), "{screen}");
    assert!(screen.contains("readyz 3/3 checks ok"), "{screen}");
    // A kubeadm-style static pod of etcd (as its labels say): its state and log's tail show
    // in the etcd section.
    let static_pod = Command::new("kubectl")
        .env("KUBECONFIG", &kubeconfig)
        .args([
            "run",
            "etcd-a",
            "-n",
            "kube-system",
            "--image=registry.k8s.io/etcd:3.5",
        ])
        .args(["--labels=component=etcd,tier=control-plane"])
        .output()
        .unwrap();
    assert!(static_pod.status.success(), "{}", util::stderr(&static_pod));
    tmux.wait_for("the etcd pod and its log", Duration::from_secs(30), |s| {
        s.contains("pod etcd-a on") && s.contains("│ kwb sim: started")
    });
    tmux.keys(&["s"]);
    tmux.wait_for("the refusal", Duration::from_secs(5), |s| {
        s.contains("attached: kwb does not run this cluster's components")
    });
    tmux.command("deploy");
    tmux.wait_for("the deployment", Duration::from_secs(15), |s| {
        s.contains("deployments.apps (default)") && s.contains("web ")
    });
    // Enter: the Deployment's ReplicaSets, then that ReplicaSet's pods; Esc back up.
    tmux.keys(&["Enter"]);
    tmux.wait_for("its replicasets", Duration::from_secs(15), |s| {
        s.contains("replicasets.apps (default) -l app=web") && s.contains("web-")
    });
    tmux.keys(&["Enter"]);
    tmux.wait_for("the replicaset's pods", Duration::from_secs(15), |s| {
        s.contains("pods (default) -l app=web,pod-template-hash=") && s.contains("● Running")
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for("back to the replicasets", Duration::from_secs(15), |s| {
        s.contains("replicasets.apps (default)")
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for("back to the deployments", Duration::from_secs(15), |s| {
        s.contains("deployments.apps (default) · 1 rows")
    });

    // The pods, live: a scale shows a second pod without a key pressed.
    tmux.command("po");
    tmux.wait_for("one pod", Duration::from_secs(15), |s| {
        s.contains("pods (default) · 1 rows")
    });
    let scaled = Command::new("kubectl")
        .env("KUBECONFIG", &kubeconfig)
        .args(["scale", "deployment", "web", "--replicas=2"])
        .output()
        .unwrap();
    assert!(scaled.status.success(), "{}", util::stderr(&scaled));
    tmux.wait_for("the new pod, live", Duration::from_secs(30), |s| {
        s.contains("pods (default) · 2 rows") && s.matches("● Running").count() >= 2
    });
    // A filter that matches nothing, then Esc shows all again.
    tmux.keys(&["/"]);
    tmux.keys(&["-l", "zzz"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the filter", Duration::from_secs(5), |s| {
        s.contains("0 of 2 rows match /zzz")
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for("the filter cleared", Duration::from_secs(5), |s| {
        s.contains("pods (default) · 2 rows")
    });
    // describe, YAML, events and the log of the selected pod.
    tmux.keys(&["d"]);
    tmux.wait_for("describe", Duration::from_secs(15), |s| {
        s.contains("describe pods default/web-") && s.contains("Name:         web-")
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for("the list again", Duration::from_secs(5), |s| {
        s.contains("pods (default) · 2 rows")
    });
    tmux.keys(&["y"]);
    tmux.wait_for("the YAML", Duration::from_secs(15), |s| {
        s.contains("yaml pods default/web-") && s.contains("kind: Pod")
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for("the list again", Duration::from_secs(5), |s| {
        s.contains("pods (default) · 2 rows")
    });
    tmux.keys(&["E"]);
    tmux.wait_for("the events", Duration::from_secs(15), |s| {
        s.contains("events pods default/web-") && s.contains("Scheduled")
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for("the list again", Duration::from_secs(5), |s| {
        s.contains("pods (default) · 2 rows")
    });
    tmux.keys(&["l"]);
    tmux.wait_for("the log followed", Duration::from_secs(15), |s| {
        s.contains("logs pods default/web-") && s.contains("kwb sim: listening on")
    });
    // t: the server's timestamps in front of each line; space pauses.
    tmux.keys(&["t"]);
    tmux.wait_for("timestamps", Duration::from_secs(15), |s| {
        s.contains("· timestamps") && s.contains("Z kwb sim: listening on")
    });
    tmux.keys(&["Space"]);
    tmux.wait_for("paused", Duration::from_secs(5), |s| {
        s.contains("· paused, ")
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for("the list again", Duration::from_secs(5), |s| {
        s.contains("pods (default) · 2 rows")
    });
    // The logs of the Deployment: each line names its pod.
    tmux.command("deploy");
    tmux.wait_for("the deployment", Duration::from_secs(15), |s| {
        s.contains("deployments.apps (default) · 1 rows")
    });
    tmux.keys(&["l"]);
    tmux.wait_for("both pods' logs", Duration::from_secs(15), |s| {
        s.contains("logs deployments.apps default/web")
            && s.matches("/nginx] kwb sim: listening on").count() == 2
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for("the list again", Duration::from_secs(5), |s| {
        s.contains("deployments.apps (default) · 1 rows")
    });
    // Another namespace.
    tmux.command("ns kube-system");
    tmux.wait_for("kube-system", Duration::from_secs(15), |s| {
        s.contains("deployments.apps (kube-system)")
    });
    // Contexts: listed, then another one: the header says so, its namespace is shown.
    tmux.command("ctx");
    tmux.wait_for("the contexts", Duration::from_secs(5), |s| {
        s.contains("contexts: other, test (current)")
    });
    tmux.command("ctx other");
    tmux.wait_for("the other context", Duration::from_secs(15), |s| {
        s.contains("context other · cluster test") && s.contains("deployments.apps (kube-system)")
    });
    tmux.command("ctx nope");
    tmux.wait_for("an unknown context refused", Duration::from_secs(5), |s| {
        s.contains("no context \"nope\" in the kubeconfig")
    });
    tmux.keys(&["?"]);
    // 30 rows: taller than the screen, help scrolls.
    tmux.wait_for("help", Duration::from_secs(5), |s| {
        s.contains("other key closes") && s.contains("pgup/pgdn scroll")
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for("help closed", Duration::from_secs(5), |s| {
        !s.contains("other key closes")
    });
    // The apiserver goes away: a banner says so, the screen stays; it comes back: so does
    // the list.
    let stopped = tc.run(&["stop", "apiserver"]);
    assert!(stopped.status.success(), "{}", util::stderr(&stopped));
    tmux.wait_for("the lost-connection banner", Duration::from_secs(20), |s| {
        s.contains("✖ the cluster does not answer") && s.contains("deployments.apps (kube-system)")
    });
    let started = tc.run(&["start", "apiserver"]);
    assert!(started.status.success(), "{}", util::stderr(&started));
    tmux.wait_for("the banner gone", Duration::from_secs(30), |s| {
        s.contains("context other · cluster test") && !s.contains("✖")
    });
    tmux.quit(Duration::from_secs(10));
    // The cluster is not kwb --attach's to stop: it still answers.
    let still = tc.run(&["status"]);
    assert!(
        util::stdout(&still).contains("ready"),
        "{}",
        util::stdout(&still)
    );
    let down = tc.run(&["down"]);
    assert!(down.status.success(), "{}", util::stderr(&down));
}

#[test]
fn the_taint_toggle_keeps_new_pods_off_the_node_until_toggled_back() {
    let test = "the_taint_toggle_keeps_new_pods_off_the_node_until_toggled_back";
    if !util::require("tmux", test) || !util::require("kubectl", test) {
        return;
    }
    let tc = TestCluster::new(false).up();
    let kubeconfig = tc.data.join("kubeconfig/admin.kubeconfig");
    let kubectl = |args: &[&str]| tc.kubectl_ok(args);
    let node_taints = || {
        kubectl(&[
            "get",
            "node",
            "test-control-plane",
            "-o",
            "jsonpath={.spec.taints}",
        ])
    };

    // Read-only: the key is refused and says so; nothing is sent.
    let command = format!("{} --attach {} --readonly", util::KWB, kubeconfig.display());
    let tmux = Tmux::start(&command, 120, 30);
    tmux.wait_for("the first list", Duration::from_secs(30), |s| {
        s.contains("pods (default)")
    });
    tmux.command("nodes");
    tmux.wait_for("the node", Duration::from_secs(30), |s| {
        s.contains("nodes (cluster) · 1 rows") && s.contains("read-only")
    });
    tmux.keys(&["T"]);
    tmux.wait_for("the refusal", Duration::from_secs(5), |s| {
        s.contains(
            "read-only (--readonly): toggle node-role.kubernetes.io/control-plane:NoSchedule",
        )
    });
    assert!(!node_taints().contains("control-plane"), "nothing sent");
    tmux.quit(Duration::from_secs(10));

    let command = format!("{} --attach {}", util::KWB, kubeconfig.display());
    let tmux = Tmux::start(&command, 120, 30);
    tmux.wait_for("the first list", Duration::from_secs(30), |s| {
        s.contains("pods (default)")
    });
    tmux.command("nodes");
    tmux.wait_for("the node", Duration::from_secs(30), |s| {
        s.contains("nodes (cluster) · 1 rows")
    });
    tmux.keys(&["T"]);
    tmux.wait_for(
        "the taint in the change log",
        Duration::from_secs(10),
        |s| s.contains("changes sent · 1 in all") && s.contains("now has the taint"),
    );
    assert!(
        node_taints().contains("node-role.kubernetes.io/control-plane"),
        "{}",
        node_taints()
    );

    // A new pod stays Pending, and its events say why.
    kubectl(&["create", "deployment", "web", "--image=nginx"]);
    tmux.command("po");
    tmux.wait_for("the pod Pending", Duration::from_secs(30), |s| {
        s.contains("pods (default) · 1 rows") && s.contains("◐ Pending")
    });
    tmux.keys(&["E"]);
    tmux.wait_for("FailedScheduling", Duration::from_secs(15), |s| {
        s.contains("FailedScheduling")
    });
    // w wraps the long message into view.
    tmux.keys(&["w"]);
    tmux.wait_for("why, wrapped", Duration::from_secs(5), |s| {
        s.contains("untolerated taint") && s.contains("node-role.kubernetes.io/control-plane")
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for("the list again", Duration::from_secs(5), |s| {
        s.contains("pods (default) · 1 rows")
    });

    // Toggled back: the pod is scheduled and runs.
    tmux.command("nodes");
    tmux.wait_for("the node", Duration::from_secs(15), |s| {
        s.contains("nodes (cluster) · 1 rows")
    });
    tmux.keys(&["T"]);
    tmux.wait_for("the taint gone", Duration::from_secs(10), |s| {
        s.contains("changes sent · 2 in all") && s.contains("no longer has the taint")
    });
    assert!(
        !node_taints().contains("control-plane"),
        "{}",
        node_taints()
    );
    // Any taint, in kubectl taint's words: added, then removed.
    tmux.command("taint gpu=yes:NoSchedule");
    tmux.wait_for("the gpu taint", Duration::from_secs(10), |s| {
        s.contains("test-control-plane tainted: gpu=yes:NoSchedule")
    });
    assert!(node_taints().contains("\"gpu\""), "{}", node_taints());
    tmux.command("taint gpu-");
    tmux.wait_for("the gpu taint gone", Duration::from_secs(10), |s| {
        s.contains("test-control-plane tainted: gpu-")
    });
    assert!(!node_taints().contains("gpu"), "{}", node_taints());
    tmux.command("po");
    tmux.wait_for("the pod Running", Duration::from_secs(60), |s| {
        s.contains("pods (default) · 1 rows") && s.contains("● Running")
    });
    // Delete asks first: n keeps it, y deletes it.
    tmux.keys(&["C-d"]);
    tmux.wait_for("the question", Duration::from_secs(5), |s| {
        s.contains("delete pods default/web-") && s.contains("y sends it")
    });
    tmux.keys(&["n"]);
    tmux.wait_for("no question", Duration::from_secs(5), |s| {
        !s.contains("y sends it")
    });
    tmux.keys(&["C-d"]);
    tmux.wait_for("the question", Duration::from_secs(5), |s| {
        s.contains("y sends it")
    });
    tmux.keys(&["y"]);
    tmux.wait_for("the deletion logged", Duration::from_secs(15), |s| {
        s.contains("changes sent · 5 in all") && s.contains("deleted")
    });
    tmux.quit(Duration::from_secs(10));
    let down = tc.run(&["down"]);
    assert!(down.status.success(), "{}", util::stderr(&down));
}

#[test]
fn an_undo_from_kwb_leaves_what_kubectl_rollout_undo_leaves() {
    let test = "an_undo_from_kwb_leaves_what_kubectl_rollout_undo_leaves";
    if !util::require("tmux", test) || !util::require("kubectl", test) {
        return;
    }
    let tc = TestCluster::new(false).up();
    let kubeconfig = tc.data.join("kubeconfig/admin.kubeconfig");
    let kubectl = |args: &[&str]| tc.kubectl_ok(args);
    // The same history in two namespaces: 1.0, 1.1, then an image that cannot be pulled.
    for ns in ["by-kubectl", "by-kwb"] {
        kubectl(&["create", "namespace", ns]);
        kubectl(&["create", "deployment", "web", "-n", ns, "--image=nginx:1.0"]);
        kubectl(&[
            "rollout",
            "status",
            "deployment/web",
            "-n",
            ns,
            "--timeout=60s",
        ]);
        kubectl(&[
            "set",
            "image",
            "deployment/web",
            "-n",
            ns,
            "nginx=nginx:1.1",
        ]);
        kubectl(&[
            "annotate",
            "deployment/web",
            "-n",
            ns,
            "kubernetes.io/change-cause=to 1.1",
        ]);
        kubectl(&[
            "rollout",
            "status",
            "deployment/web",
            "-n",
            ns,
            "--timeout=60s",
        ]);
    }
    kubectl(&[
        "set",
        "image",
        "deployment/web",
        "-n",
        "by-kubectl",
        "nginx=nginx:doesnotexist",
    ]);
    kubectl(&["rollout", "undo", "deployment/web", "-n", "by-kubectl"]);

    // In kwb: the same broken image set from the keyboard, the rollout stalls, then u.
    let command = format!("{} --attach {} -n by-kwb", util::KWB, kubeconfig.display());
    let tmux = Tmux::start(&command, 120, 30);
    tmux.wait_for("the pod on 1.1", Duration::from_secs(30), |s| {
        s.contains("pods (by-kwb) · 1 rows") && s.contains("● Running")
    });
    tmux.command("deploy");
    tmux.wait_for("the deployment", Duration::from_secs(15), |s| {
        s.contains("deployments.apps (by-kwb) · 1 rows")
    });
    tmux.command("image nginx=nginx:doesnotexist");
    tmux.wait_for("the image set", Duration::from_secs(15), |s| {
        s.contains("web image updated: nginx=nginx:doesnotexist")
    });
    tmux.command("po");
    tmux.wait_for("the broken rollout", Duration::from_secs(60), |s| {
        s.contains("pods (by-kwb)") && s.contains("ImagePullBackOff")
    });
    tmux.command("deploy");
    tmux.wait_for("the deployment", Duration::from_secs(15), |s| {
        s.contains("deployments.apps (by-kwb) · 1 rows")
    });
    // What an undo would change, as a diff of the pod templates.
    tmux.command("diff");
    tmux.wait_for("the revision diff", Duration::from_secs(15), |s| {
        s.contains("the current one (-) against revision 2's (+)")
            && diff_line(s, '-', "image: nginx:doesnotexist")
            && diff_line(s, '+', "image: nginx:1.1")
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for("the deployment again", Duration::from_secs(15), |s| {
        !s.contains("against revision 2's") && s.contains("deployments.apps (by-kwb) · 1 rows")
    });
    // Paused, the undo is refused as kubectl refuses it; resumed, it is asked.
    tmux.command("pause");
    tmux.wait_for("the pause", Duration::from_secs(15), |s| {
        s.contains("web paused")
    });
    tmux.keys(&["u"]);
    tmux.wait_for("the refusal", Duration::from_secs(15), |s| {
        s.contains("you cannot rollback a paused deployment")
    });
    tmux.command("resume");
    tmux.wait_for("the resume", Duration::from_secs(15), |s| {
        s.contains("web resumed")
    });
    tmux.keys(&["u"]);
    tmux.wait_for("the question, saying what changes", Duration::from_secs(15), |s| {
        s.contains("undo deployments.apps by-kwb/web to revision 2 (nginx:doesnotexist → nginx:1.1)? y sends it")
    });
    tmux.keys(&["y"]);
    tmux.wait_for("the undo logged", Duration::from_secs(15), |s| {
        s.contains("rolled back to revision 2")
    });
    // Running again on the old image.
    tmux.command("po");
    tmux.wait_for("running on 1.1 again", Duration::from_secs(60), |s| {
        s.contains("pods (by-kwb) · 1 rows") && s.contains("● Running")
    });
    // The history: revision 2 came back as 4, the current one.
    tmux.command("deploy");
    tmux.wait_for("the deployment", Duration::from_secs(15), |s| {
        s.contains("deployments.apps (by-kwb) · 1 rows")
    });
    tmux.keys(&["h"]);
    tmux.wait_for("the history", Duration::from_secs(15), |s| {
        s.contains("history deployments.apps by-kwb/web")
            && s.contains("replicas: 1 desired")
            && s.lines().any(|l| {
                l.starts_with("4 ← current") && l.contains("to 1.1") && l.contains("nginx:1.1")
            })
            && s.lines()
                .any(|l| l.starts_with("3 ") && l.contains("nginx:doesnotexist"))
    });
    tmux.quit(Duration::from_secs(10));

    let template = |ns: &str| {
        kubectl(&[
            "get",
            "deployment",
            "web",
            "-n",
            ns,
            "-o",
            "jsonpath={.spec.template}",
        ])
    };
    let annotations = |ns: &str| {
        kubectl(&[
            "get",
            "deployment",
            "web",
            "-n",
            ns,
            "-o",
            "jsonpath={.metadata.annotations}",
        ])
    };
    assert!(
        template("by-kwb").contains("nginx:1.1"),
        "{}",
        template("by-kwb")
    );
    assert_eq!(template("by-kwb"), template("by-kubectl"));
    assert_eq!(annotations("by-kwb"), annotations("by-kubectl"));
    let down = tc.run(&["down"]);
    assert!(down.status.success(), "{}", util::stderr(&down));
}

/// A line of the screen that is a diff line adding (`+`) or removing (`-`) `text`.
fn diff_line(screen: &str, sign: char, text: &str) -> bool {
    screen.lines().any(|l| {
        let l = l.trim_start_matches(['│', ' ']);
        l.starts_with(&format!("{sign} ")) && l.contains(text)
    })
}

#[test]
fn the_editor_applies_an_image_change_and_keeps_the_text_through_errors_and_conflicts() {
    let test = "the_editor_applies_an_image_change_and_keeps_the_text_through_errors_and_conflicts";
    if !util::require("tmux", test) || !util::require("kubectl", test) {
        return;
    }
    let tc = TestCluster::new(false).up();
    let kubeconfig = tc.data.join("kubeconfig/admin.kubeconfig");
    let kubectl = |args: &[&str]| tc.kubectl_ok(args);
    kubectl(&["create", "deployment", "web", "--image=nginx:1.0"]);
    kubectl(&["rollout", "status", "deployment/web", "--timeout=60s"]);
    let get = |path: &str| {
        kubectl(&[
            "get",
            "deployment",
            "web",
            "-o",
            &format!("jsonpath={{{path}}}"),
        ])
    };

    let command = format!("{} --attach {} -n default", util::KWB, kubeconfig.display());
    let tmux = Tmux::start(&command, 120, 40);
    tmux.wait_for("the pod", Duration::from_secs(30), |s| {
        s.contains("pods (default) · 1 rows") && s.contains("● Running")
    });
    tmux.command("deploy");
    tmux.wait_for("the deployment", Duration::from_secs(15), |s| {
        s.contains("deployments.apps (default) · 1 rows")
    });
    // Y copies the name; without a display it goes by OSC 52, which tmux keeps as a buffer.
    tmux.cmd(&["set-option", "-s", "set-clipboard", "on"])
        .output()
        .unwrap();
    tmux.keys(&["Y"]);
    tmux.wait_for("the copy", Duration::from_secs(10), |s| {
        s.contains("copied \"web\" to the clipboard")
    });
    let buffer = util::wait_until("the copied name in tmux", Duration::from_secs(10), || {
        let o = tmux.cmd(&["show-buffer"]).output().unwrap();
        let text = util::stdout(&o);
        (text == "web").then_some(text)
    });
    assert_eq!(buffer, "web");
    tmux.keys(&["e"]);
    tmux.wait_for("the editor", Duration::from_secs(15), |s| {
        s.contains("edit deployments.apps default/web") && s.contains("image: nginx:1.0")
    });

    // A syntax error: marked at its line and column; nothing reaches the server.
    tmux.keys(&["C-f"]);
    tmux.keys(&["-l", "nginx:1.0"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the image found", Duration::from_secs(10), |s| {
        s.contains("found \"nginx:1.0\"")
    });
    tmux.keys(&["End"]);
    tmux.keys(&["-l", ": bad"]);
    tmux.keys(&["C-s"]);
    let screen = tmux.wait_for("the syntax error", Duration::from_secs(10), |s| {
        s.contains("nothing was sent") && s.contains(", column ")
    });
    assert!(
        screen.contains("nginx:1.0: bad"),
        "the text is kept:\n{screen}"
    );
    assert_eq!(get(".metadata.generation"), "1");

    // The cursor went to the error: from the line's end, fixed and the image changed;
    // meanwhile someone scales the Deployment.
    tmux.keys(&["End"]);
    tmux.keys(&["BSpace"; 8]);
    tmux.keys(&["-l", "1.1"]);
    tmux.wait_for("the new image typed", Duration::from_secs(10), |s| {
        s.contains("image: nginx:1.1")
    });
    kubectl(&["scale", "deployment", "web", "--replicas=2"]);
    tmux.keys(&["C-s"]);
    tmux.wait_for(
        "the conflict and its choices",
        Duration::from_secs(15),
        |s| {
            s.contains("409 Conflict: the object changed since you opened it")
                && diff_line(s, '+', "replicas: 2")
                && s.contains("r reapply your change onto the new version")
                && s.contains("o overwrite")
        },
    );
    // Esc keeps editing with the text as it was.
    tmux.keys(&["Escape"]);
    tmux.wait_for("the text again", Duration::from_secs(10), |s| {
        s.contains("your text is kept") && s.contains("image: nginx:1.1")
    });
    tmux.keys(&["C-s"]);
    tmux.wait_for("the conflict again", Duration::from_secs(15), |s| {
        s.contains("409 Conflict")
    });
    // r: only this edit's change onto the new version, shown as the server's dry run.
    tmux.keys(&["r"]);
    tmux.wait_for("the dry run's diff", Duration::from_secs(15), |s| {
        s.contains("the server's dry run")
            && diff_line(s, '-', "image: nginx:1.0")
            && diff_line(s, '+', "image: nginx:1.1")
            && !diff_line(s, '-', "replicas: 2")
    });
    tmux.keys(&["y"]);
    tmux.wait_for("the apply logged", Duration::from_secs(15), |s| {
        s.contains("applied: web") && s.contains("apply deployments.apps default/web")
    });
    tmux.quit(Duration::from_secs(10));

    // A new revision on the new image, and the scale made meanwhile kept.
    kubectl(&["rollout", "status", "deployment/web", "--timeout=60s"]);
    assert_eq!(get(".spec.template.spec.containers[0].image"), "nginx:1.1");
    assert_eq!(get(".spec.replicas"), "2");
    assert_eq!(
        get(".metadata.annotations.deployment\\.kubernetes\\.io/revision"),
        "2"
    );
    let managers = kubectl(&[
        "get",
        "deployment",
        "web",
        "--show-managed-fields",
        "-o",
        "jsonpath={.metadata.managedFields[*].manager}",
    ]);
    assert!(
        managers.split_whitespace().any(|m| m == "kwb"),
        "{managers}"
    );
    let down = tc.run(&["down"]);
    assert!(down.status.success(), "kwb down: {}", util::stderr(&down));
}

#[test]
fn new_objects_are_applied_document_by_document_after_a_dry_run() {
    let test = "new_objects_are_applied_document_by_document_after_a_dry_run";
    if !util::require("tmux", test) || !util::require("kubectl", test) {
        return;
    }
    let tc = TestCluster::new(false).up();
    let kubeconfig = tc.data.join("kubeconfig/admin.kubeconfig");
    let kubectl = |args: &[&str]| tc.kubectl_ok(args);
    kubectl(&["create", "namespace", "team"]);
    let file = tc.data.join("objects.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: first\ndata:\n  a: \"1\"\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: second\n",
    )
    .unwrap();

    // The external editor (ctrl-e): a script that changes a value, as a person would in vi.
    let editor = tc.data.join("editor.sh");
    std::fs::write(&editor, "#!/bin/sh\nsed -i 's/a: \"1\"/a: \"3\"/' \"$1\"\n").unwrap();
    std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let command = format!(
        "EDITOR={} {} --attach {} -n team",
        editor.display(),
        util::KWB,
        kubeconfig.display()
    );
    let tmux = Tmux::start(&command, 120, 40);
    tmux.wait_for("the pods of team", Duration::from_secs(30), |s| {
        s.contains("pods (team)")
    });
    tmux.command(&format!("apply {}", file.display()));
    tmux.wait_for("the file in the editor", Duration::from_secs(15), |s| {
        s.contains("server-side apply as kwb") && s.contains("name: second")
    });
    tmux.keys(&["C-e"]);
    tmux.wait_for(
        "the external editor's change",
        Duration::from_secs(15),
        |s| s.contains("a: \"3\"") && s.contains("the external editor's text is in"),
    );
    // A third document pasted at the end, with a field the server refuses.
    tmux.keys(&["C-End"]);
    tmux.paste("\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  replicas: -1\n  selector:\n    matchLabels: {app: api}\n  template:\n    metadata:\n      labels: {app: api}\n    spec:\n      containers:\n      - name: api\n        image: nginx:1.0\n");
    tmux.wait_for("the pasted document", Duration::from_secs(10), |s| {
        s.contains("replicas: -1")
    });
    tmux.keys(&["C-s"]);
    let screen = tmux.wait_for("the refusal on its line", Duration::from_secs(15), |s| {
        s.contains("spec.replicas") && s.contains("nothing was sent")
    });
    assert!(screen.contains("greater than or equal to 0"), "{screen}");
    let listed = kubectl(&["get", "configmaps", "-n", "team", "-o", "name"]);
    assert!(
        !listed.contains("configmap/first"),
        "a refused dry run sends nothing: {listed}"
    );

    // The cursor is on the marked line: the value fixed, then the diff, then y.
    tmux.keys(&["End", "BSpace", "BSpace"]);
    tmux.keys(&["-l", "2"]);
    tmux.wait_for("the fix", Duration::from_secs(10), |s| {
        s.contains("replicas: 2")
    });
    tmux.keys(&["C-s"]);
    tmux.wait_for("one diff per document", Duration::from_secs(15), |s| {
        s.contains("configmaps team/first — created")
            && s.contains("configmaps team/second — created")
            && s.contains("deployments.apps team/api — created")
    });
    tmux.keys(&["y"]);
    tmux.wait_for("every document taken", Duration::from_secs(15), |s| {
        s.contains("applied: first, second, api")
    });
    assert_eq!(
        kubectl(&[
            "get",
            "configmap",
            "first",
            "-n",
            "team",
            "-o",
            "jsonpath={.data.a}"
        ]),
        "3"
    );
    kubectl(&["get", "configmap", "second", "-n", "team"]);
    assert_eq!(
        kubectl(&[
            "get",
            "deployment",
            "api",
            "-n",
            "team",
            "-o",
            "jsonpath={.spec.replicas}"
        ]),
        "2"
    );
    let managed = kubectl(&[
        "get",
        "deployment",
        "api",
        "-n",
        "team",
        "--show-managed-fields",
        "-o",
        "jsonpath={.metadata.managedFields[0].manager} {.metadata.managedFields[0].operation}",
    ]);
    assert_eq!(managed, "kwb Apply");
    // Deleted with kubectl's flags: orphaned, its ReplicaSet stays.
    util::wait_until("the ReplicaSet of api", Duration::from_secs(30), || {
        let rs = kubectl(&["get", "rs", "-n", "team", "-l", "app=api", "-o", "name"]);
        (!rs.trim().is_empty()).then_some(())
    });
    tmux.command("deploy");
    tmux.wait_for("the deployment", Duration::from_secs(15), |s| {
        s.contains("deployments.apps (team) · 1 rows")
    });
    tmux.command("delete --cascade=orphan");
    tmux.wait_for("the question", Duration::from_secs(10), |s| {
        s.contains("delete deployments.apps team/api (cascade orphan)? y sends it")
    });
    tmux.keys(&["y"]);
    tmux.wait_for("the deletion", Duration::from_secs(15), |s| {
        s.contains("deployments.apps (team) · 0 rows")
    });
    let rs = kubectl(&["get", "rs", "-n", "team", "-l", "app=api", "-o", "name"]);
    assert!(!rs.trim().is_empty(), "an orphaned ReplicaSet stays");
    tmux.quit(Duration::from_secs(10));
    let down = tc.run(&["down"]);
    assert!(down.status.success(), "kwb down: {}", util::stderr(&down));
}

/// `--record`, `--present`, `--keymap`, `--theme`: a recorded session is asciicast v2 and
/// replaying its output gives the screen tmux showed; the presenter's overlay names each key's
/// action; a user's keymap rebinds a key in behaviour and in help; a broken theme file is
/// named and the default used.
#[test]
fn a_recorded_presented_session_replays_to_the_same_screen() {
    let test = "a_recorded_presented_session_replays_to_the_same_screen";
    if !util::require("tmux", test) || !util::require("kubectl", test) {
        return;
    }
    let tc = TestCluster::new(false).up();
    let kubeconfig = tc.data.join("kubeconfig/admin.kubeconfig");
    tc.kubectl_ok(&["create", "deployment", "web", "--image=nginx"]);
    let cast = tc.data.join("session.cast");
    let keymap = tc.data.join("keys.yaml");
    std::fs::write(&keymap, "# describe moves to K\ndescribe: [K]\n").unwrap();
    let theme = tc.data.join("theme.yaml");
    std::fs::write(&theme, "text: {fg: gray}\nstate.ready: {fg: grene}\n").unwrap();
    let command = format!(
        "{} --attach {} -n default --present --record {} --keymap {} --theme {}",
        util::KWB,
        kubeconfig.display(),
        cast.display(),
        keymap.display(),
        theme.display()
    );
    let tmux = Tmux::start(&command, 100, 30);
    tmux.wait_for("the broken theme named", Duration::from_secs(30), |s| {
        s.contains("theme.yaml") && s.contains("line 2") && s.contains("state.ready")
    });
    tmux.wait_for("the pods", Duration::from_secs(30), |s| {
        s.contains("pods (default) · 1 rows")
    });
    // K now describes (and the overlay says so); d does nothing.
    tmux.keys(&["d"]);
    tmux.keys(&["K"]);
    tmux.wait_for(
        "the describe, and the key in the overlay",
        Duration::from_secs(15),
        |s| {
            s.contains("describe pods default/web-") && s.contains(" K  describe pods default/web-")
        },
    );
    tmux.keys(&["Escape"]);
    // Help is taller than 30 rows: it scrolls, and lists the binding from the keymap file.
    tmux.keys(&["?"]);
    tmux.wait_for("help", Duration::from_secs(10), |s| {
        s.contains("j/k, pgup/pgdn scroll")
    });
    tmux.keys(&["PageDown"]);
    tmux.wait_for("help with the new binding", Duration::from_secs(10), |s| {
        s.lines().any(|l| l.contains(" K  browser: describe it"))
    });
    tmux.keys(&["Escape"]);
    tmux.keys(&["F2"]);
    tmux.wait_for("the next theme", Duration::from_secs(10), |s| {
        s.contains("theme light")
    });
    // Once the overlay has faded, the screen stays still: that is the final screen.
    let last = tmux.wait_for("the overlay gone", Duration::from_secs(20), |s| {
        !s.contains(" F2 ") && !s.contains("theme light") && s.contains("pods (default)")
    });
    std::thread::sleep(Duration::from_millis(500));
    let last = {
        let now = tmux.screen();
        assert_eq!(now, last, "the screen is still");
        now
    };
    tmux.quit(Duration::from_secs(10));

    let text = std::fs::read_to_string(&cast).unwrap();
    let mut lines = text.lines();
    let header: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(header["version"], 2);
    assert_eq!(
        (header["width"].as_u64(), header["height"].as_u64()),
        (Some(100), Some(30))
    );
    let mut frames: Vec<String> = Vec::new();
    let mut previous = 0.0;
    for line in lines {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        let at = event[0].as_f64().unwrap();
        assert!(at >= previous, "times go forward: {line}");
        previous = at;
        if event[1] == "o" {
            frames.push(event[2].as_str().unwrap().to_string());
        }
    }
    // Replayed into a terminal of the same size, the output draws the screen tmux showed. A
    // frame drawn between that capture and q (the health panel's next look, an age ticking
    // over) may follow it: the last few frames are left out one by one until it matches.
    let replay = tc.data.join("replay.out");
    let mut replayed = String::new();
    for left_out in 0..4.min(frames.len()) {
        std::fs::write(&replay, frames[..frames.len() - left_out].concat()).unwrap();
        let player = Tmux::start(&format!("cat {}; sleep 600", replay.display()), 100, 30);
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        replayed = player.screen();
        while replayed.trim_end() != last.trim_end() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
            replayed = player.screen();
        }
        if replayed.trim_end() == last.trim_end() {
            break;
        }
    }
    assert_eq!(
        replayed.trim_end(),
        last.trim_end(),
        "the replay (left) against the screen tmux showed (right)"
    );
    let down = tc.run(&["down"]);
    assert!(down.status.success(), "{}", util::stderr(&down));
}

/// `kwb tour`: the workshop step by step, each step advancing only when the cluster shows it
/// done — components started from the keyboard, objects made with kubectl and with kwb's
/// keys — through the rollout undo and the taint toggle to the end.
#[test]
fn the_tour_advances_on_the_cluster_state_to_the_end() {
    let test = "the_tour_advances_on_the_cluster_state_to_the_end";
    if !util::require("tmux", test) || !util::require("kubectl", test) {
        return;
    }
    let tc = TestCluster::new(false);
    let command = format!(
        "{} --config {} --data-dir {} tour --present",
        util::KWB,
        tc.config.display(),
        tc.data.display()
    );
    let tmux = Tmux::start(&command, 120, 40);
    let step = |n: usize, title: &str| format!("tour {n}/13 · {title}");
    let wait_step = |n: usize, title: &str, timeout: u64| {
        let want = step(n, title);
        tmux.wait_for(&want, Duration::from_secs(timeout), |s| s.contains(&want))
    };
    wait_step(1, "Start etcd", 20);
    // A step waits for the cluster, not for time: nothing moves it but the component.
    std::thread::sleep(Duration::from_secs(2));
    assert!(tmux.screen().contains(&step(1, "Start etcd")));
    tmux.keys(&["1", "s"]);
    wait_step(2, "Start the apiserver", 30);
    tmux.keys(&["2", "s"]);
    wait_step(3, "Ask for a Deployment", 30);
    tc.kubectl_ok(&["create", "deployment", "web", "--image=nginx"]);
    wait_step(4, "Start the controller-manager", 15);
    tmux.keys(&["3", "s"]);
    wait_step(5, "Start the scheduler", 30);
    tmux.keys(&["4", "s"]);
    wait_step(6, "Start the kubelet", 30);
    tmux.keys(&["5", "s"]);
    wait_step(7, "Give it a Service", 60);
    tc.kubectl_ok(&["expose", "deployment", "web", "--port=80"]);
    wait_step(8, "Start kube-proxy", 15);
    tmux.keys(&["6", "s"]);
    wait_step(9, "Scale from kwb", 30);
    tmux.command("deploy");
    tmux.wait_for("the deployment", Duration::from_secs(15), |s| {
        s.contains("deployments.apps (default) · 1 rows")
    });
    tmux.keys(&["="]);
    tmux.keys(&["-l", "3"]);
    tmux.keys(&["Enter"]);
    wait_step(10, "Roll out an image that does not exist", 60);
    tmux.command("image nginx=nginx:doesnotexist");
    wait_step(11, "Undo the rollout", 60);
    tmux.keys(&["u"]);
    tmux.wait_for("the undo question", Duration::from_secs(15), |s| {
        s.contains("y sends it")
    });
    tmux.keys(&["y"]);
    wait_step(12, "Keep new pods off the node", 90);
    tmux.command("nodes");
    tmux.wait_for("the node", Duration::from_secs(15), |s| {
        s.contains("nodes (cluster) · 1 rows")
    });
    tmux.keys(&["T"]);
    wait_step(13, "Take the taint away", 15);
    tmux.keys(&["T"]);
    tmux.wait_for("the end", Duration::from_secs(15), |s| {
        s.contains("tour done")
    });
    tmux.quit(Duration::from_secs(30));
    nothing_left_of(&tc);
}
