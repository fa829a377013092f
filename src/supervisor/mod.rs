//! The supervisor runs each control-plane component as a child process: it starts them in
//! dependency order, captures their output, probes their health, restarts them after a crash
//! with a growing delay, and stops them (SIGTERM, then SIGKILL) — never leaving one behind.
//!
//! One worker task per component owns its process ([`worker`]); the orchestrator task here owns
//! what spans components: start-all's dependency gates and stop-all's reverse order. Everything
//! observable leaves as [`Event`]s (a broadcast) and a status snapshot (a watch), so the TUI and
//! the control socket read the same thing and never share a lock with the workers.

pub mod lifecycle;
pub mod logbuf;
pub mod probe;
pub mod process;
mod worker;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;

use crate::component::{Component, Target, Unit};
use crate::launch::LaunchPlan;
use lifecycle::{ExitInfo, Input, Phase, Policy};
use logbuf::LogLine;

/// How the supervisor learns to start a component. The local cluster is the real planner; tests
/// plan shell commands to crash, hang or ignore SIGTERM on purpose.
pub trait Planner: Send + Sync + 'static {
    /// Called before every start, so generated files and a changed config take effect.
    fn plan(&self, u: Unit) -> Result<LaunchPlan, String>;
    /// "builtin" or "binary /usr/bin/etcd", shown in the pane.
    fn backend_label(&self, c: Component) -> String;
    fn log_file(&self, u: Unit) -> PathBuf;
    /// The processes to supervise, in start order: one of each component, and one kubelet per
    /// node.
    fn units(&self) -> Vec<Unit> {
        Unit::all(1)
    }
    /// The node a unit serves, for the kubelets; shown beside their status and lines.
    fn node_name(&self, _u: Unit) -> Option<String> {
        None
    }
}

/// Everything a pane shows about a component except its output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComponentStatus {
    pub component: Component,
    /// Which node's unit this is (0 but for the kubelets of further nodes).
    #[serde(default)]
    pub node: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    pub backend: String,
    pub phase: Phase,
    pub pid: Option<u32>,
    pub started_at: Option<SystemTime>,
    /// Restarts after crashes.
    pub restarts: u32,
    /// Crashes in a row (a crash loop when above 1).
    pub crash_loop: u32,
    pub last_exit: Option<ExitInfo>,
    /// When a backing-off component will be started again.
    pub restart_at: Option<SystemTime>,
    /// The last probe's verdict.
    pub probe: Option<Result<String, String>>,
    /// Why it could not be launched.
    pub message: Option<String>,
    /// Start-all is holding it until these are ready.
    pub waiting_for: Vec<Component>,
}

impl ComponentStatus {
    fn initial(unit: Unit, node_name: Option<String>, backend: String) -> ComponentStatus {
        ComponentStatus {
            component: unit.component,
            node: unit.node,
            node_name,
            backend,
            phase: Phase::Stopped,
            pid: None,
            started_at: None,
            restarts: 0,
            crash_loop: 0,
            last_exit: None,
            restart_at: None,
            probe: None,
            message: None,
            waiting_for: Vec::new(),
        }
    }

    pub fn unit(&self) -> Unit {
        Unit {
            component: self.component,
            node: self.node,
        }
    }

    /// `kubelet` or, with several nodes, `kubelet kwb-worker`.
    pub fn label(&self) -> String {
        match &self.node_name {
            Some(n) => format!("{} {n}", self.component),
            None => self.component.to_string(),
        }
    }
}

#[derive(Clone, Debug)]
pub enum Event {
    Status(ComponentStatus),
    Log(Unit, LogLine),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "command", content = "target")]
pub enum Command {
    /// Start now, whether or not its dependencies are ready: it then fails as the real one would.
    Start(Target),
    Stop(Target),
    Restart(Target),
    /// Start everything not running, stage by stage, each stage once the previous one is ready.
    StartAll,
    /// Stop everything, in reverse order.
    StopAll,
}

#[derive(Clone, Debug, Default)]
pub struct Options {
    pub policy: Policy,
}

/// A cheap handle to a running supervisor.
#[derive(Clone)]
pub struct Handle {
    commands: mpsc::UnboundedSender<Request>,
    events: broadcast::Sender<Event>,
    statuses: watch::Receiver<Vec<ComponentStatus>>,
}

enum Request {
    Command(Command),
    /// Stop everything and end; answered when every process is gone.
    Shutdown,
}

impl Handle {
    pub fn send(&self, command: Command) {
        let _ = self.commands.send(Request::Command(command));
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    pub fn statuses(&self) -> Vec<ComponentStatus> {
        self.statuses.borrow().clone()
    }

    /// The status of the component's first unit.
    pub fn status(&self, c: Component) -> ComponentStatus {
        self.status_of(Unit::of(c))
    }

    pub fn status_of(&self, u: Unit) -> ComponentStatus {
        let statuses = self.statuses.borrow();
        statuses
            .iter()
            .find(|s| s.unit() == u)
            .unwrap_or(&statuses[0])
            .clone()
    }

    pub fn watch_statuses(&self) -> watch::Receiver<Vec<ComponentStatus>> {
        self.statuses.clone()
    }

    /// Waits until `pred` holds for the statuses, or `timeout` passes. Returns whether it held.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        mut pred: impl FnMut(&[ComponentStatus]) -> bool,
    ) -> bool {
        let mut rx = self.statuses.clone();
        tokio::time::timeout(timeout, rx.wait_for(|s| pred(s)))
            .await
            .is_ok_and(|r| r.is_ok())
    }
}

pub struct Supervisor {
    handle: Handle,
    task: JoinHandle<()>,
}

/// Log lines in flight between the workers and a slow reader; past this a reader is told how
/// many it missed (the log files keep them all).
const EVENT_BUFFER: usize = 8192;

impl Supervisor {
    pub fn start(planner: Arc<dyn Planner>, options: Options) -> Supervisor {
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let units = planner.units();
        let node_names: Vec<Option<String>> = units.iter().map(|u| planner.node_name(*u)).collect();
        let initial = units
            .iter()
            .zip(&node_names)
            .map(|(u, n)| {
                ComponentStatus::initial(*u, n.clone(), planner.backend_label(u.component))
            })
            .collect();
        let (status_tx, statuses) = watch::channel(initial);
        let mut workers = Vec::new();
        let mut worker_tasks = Vec::new();
        for (slot, unit) in units.iter().enumerate() {
            let (tx, rx) = mpsc::unbounded_channel();
            workers.push(tx);
            let w = worker::Worker {
                unit: *unit,
                slot,
                node_name: node_names[slot].clone(),
                planner: planner.clone(),
                policy: options.policy.clone(),
                inputs: rx,
                statuses: status_tx.clone(),
                events: events.clone(),
            };
            worker_tasks.push(tokio::spawn(w.run()));
        }
        let (commands, requests) = mpsc::unbounded_channel();
        let orchestrator = Orchestrator {
            gated: vec![false; units.len()],
            units,
            workers,
            statuses: status_tx,
            events: events.clone(),
            stop_grace: options.policy.stop_grace,
        };
        let task = tokio::spawn(orchestrator.run(requests, worker_tasks));
        Supervisor {
            handle: Handle {
                commands,
                events,
                statuses,
            },
            task,
        }
    }

    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// Stops every component (reverse order, SIGTERM then SIGKILL) and waits until all are gone.
    pub async fn shutdown(self) {
        let _ = self.handle.commands.send(Request::Shutdown);
        let _ = self.task.await;
    }
}

struct Orchestrator {
    /// The supervised units; workers, statuses and gates are in the same order.
    units: Vec<Unit>,
    workers: Vec<mpsc::UnboundedSender<Input>>,
    statuses: watch::Sender<Vec<ComponentStatus>>,
    events: broadcast::Sender<Event>,
    /// Start-all wants these running once their dependencies are ready.
    gated: Vec<bool>,
    stop_grace: Duration,
}

impl Orchestrator {
    async fn run(
        mut self,
        mut requests: mpsc::UnboundedReceiver<Request>,
        worker_tasks: Vec<JoinHandle<()>>,
    ) {
        let mut changes = self.statuses.subscribe();
        loop {
            tokio::select! {
                request = requests.recv() => match request {
                    Some(Request::Command(cmd)) => self.command(cmd).await,
                    Some(Request::Shutdown) | None => break,
                },
                Ok(()) = changes.changed() => {}
            }
            self.release_gates();
        }
        self.stop_all().await;
        // Dropping the senders tells each worker to end (stopping its process if still alive).
        self.workers.clear();
        for t in worker_tasks {
            let _ = t.await;
        }
    }

    async fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Start(t) => self.send_to_targets(t, Input::Start),
            Command::Stop(t) => self.send_to_targets(t, Input::Stop),
            Command::Restart(t) => self.send_to_targets(t, Input::Restart),
            Command::StartAll => {
                let statuses = self.statuses.borrow().clone();
                for (i, s) in statuses.iter().enumerate() {
                    if !s.phase.is_alive() && s.phase != Phase::BackingOff {
                        self.gated[i] = true;
                    }
                }
            }
            Command::StopAll => self.stop_all().await,
        }
    }

    fn send_to_targets(&mut self, target: Target, input: Input) {
        for i in 0..self.units.len() {
            if target.matches(self.units[i]) {
                self.send_to_worker(i, input.clone());
            }
        }
    }

    fn send_to_worker(&mut self, i: usize, input: Input) {
        self.set_gate(i, false);
        let _ = self.workers[i].send(input);
    }

    fn set_gate(&mut self, i: usize, on: bool) {
        self.gated[i] = on;
        if !on {
            self.set_waiting_for(i, Vec::new());
        }
    }

    /// Updates what start-all holds unit `i` for, in the snapshot and as an event, like any
    /// status.
    fn set_waiting_for(&self, i: usize, waiting_for: Vec<Component>) {
        let mut changed = None;
        self.statuses.send_if_modified(|s| {
            if s[i].waiting_for == waiting_for {
                return false;
            }
            s[i].waiting_for = waiting_for;
            changed = Some(s[i].clone());
            true
        });
        if let Some(status) = changed {
            let _ = self.events.send(Event::Status(status));
        }
    }

    /// Starts gated units whose dependencies are all ready (every unit of each); shows the
    /// others as waiting.
    fn release_gates(&mut self) {
        let statuses = self.statuses.borrow().clone();
        for i in 0..self.units.len() {
            if !self.gated[i] {
                continue;
            }
            let missing: Vec<Component> = self.units[i]
                .component
                .dependencies()
                .iter()
                .copied()
                .filter(|d| {
                    statuses
                        .iter()
                        .any(|s| s.component == *d && s.phase != Phase::Ready)
                })
                .collect();
            if missing.is_empty() {
                self.send_to_worker(i, Input::Start);
            } else {
                self.set_waiting_for(i, missing);
            }
        }
    }

    /// Stops stage by stage, kubelet and proxy first, etcd last, each stage given its grace
    /// period (the workers SIGKILL past it).
    async fn stop_all(&mut self) {
        self.gated.fill(false);
        for stage in (0..=3).rev() {
            let members: Vec<usize> = (0..self.units.len())
                .filter(|i| self.units[*i].component.stage() == stage)
                .collect();
            for i in &members {
                self.send_to_worker(*i, Input::Stop);
            }
            let mut rx = self.statuses.subscribe();
            let done = rx.wait_for(|s| {
                members.iter().all(|i| {
                    let p = s[*i].phase;
                    !p.is_alive() && p != Phase::BackingOff
                })
            });
            let _ = tokio::time::timeout(self.stop_grace + Duration::from_secs(2), done).await;
        }
    }
}
