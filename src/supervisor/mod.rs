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

use crate::component::Component;
use crate::launch::LaunchPlan;
use lifecycle::{ExitInfo, Input, Phase, Policy};
use logbuf::LogLine;

/// How the supervisor learns to start a component. The local cluster is the real planner; tests
/// plan shell commands to crash, hang or ignore SIGTERM on purpose.
pub trait Planner: Send + Sync + 'static {
    /// Called before every start, so generated files and a changed config take effect.
    fn plan(&self, c: Component) -> Result<LaunchPlan, String>;
    /// "builtin" or "binary /usr/bin/etcd", shown in the pane.
    fn backend_label(&self, c: Component) -> String;
    fn log_file(&self, c: Component) -> PathBuf;
}

/// Everything a pane shows about a component except its output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComponentStatus {
    pub component: Component,
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
    fn initial(component: Component, backend: String) -> ComponentStatus {
        ComponentStatus {
            component,
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
}

#[derive(Clone, Debug)]
pub enum Event {
    Status(ComponentStatus),
    Log(Component, LogLine),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "command", content = "component")]
pub enum Command {
    /// Start now, whether or not its dependencies are ready: it then fails as the real one would.
    Start(Component),
    Stop(Component),
    Restart(Component),
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

    pub fn status(&self, c: Component) -> ComponentStatus {
        self.statuses.borrow()[worker::index(c)].clone()
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
        let initial = Component::ALL
            .iter()
            .map(|c| ComponentStatus::initial(*c, planner.backend_label(*c)))
            .collect();
        let (status_tx, statuses) = watch::channel(initial);
        let mut workers = Vec::new();
        let mut worker_tasks = Vec::new();
        for c in Component::ALL {
            let (tx, rx) = mpsc::unbounded_channel();
            workers.push(tx);
            let w = worker::Worker {
                component: c,
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
            workers,
            statuses: status_tx,
            events: events.clone(),
            gated: [false; 6],
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
    workers: Vec<mpsc::UnboundedSender<Input>>,
    statuses: watch::Sender<Vec<ComponentStatus>>,
    events: broadcast::Sender<Event>,
    /// Start-all wants these running once their dependencies are ready.
    gated: [bool; 6],
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
            Command::Start(c) => self.send_to_worker(c, Input::Start),
            Command::Stop(c) => self.send_to_worker(c, Input::Stop),
            Command::Restart(c) => self.send_to_worker(c, Input::Restart),
            Command::StartAll => {
                let statuses = self.statuses.borrow().clone();
                for c in Component::ALL {
                    let phase = statuses[worker::index(c)].phase;
                    if !phase.is_alive() && phase != Phase::BackingOff {
                        self.gated[worker::index(c)] = true;
                    }
                }
            }
            Command::StopAll => self.stop_all().await,
        }
    }

    fn send_to_worker(&mut self, c: Component, input: Input) {
        self.set_gate(c, false);
        let _ = self.workers[worker::index(c)].send(input);
    }

    fn set_gate(&mut self, c: Component, on: bool) {
        self.gated[worker::index(c)] = on;
        if !on {
            self.set_waiting_for(c, Vec::new());
        }
    }

    /// Updates what start-all holds `c` for, in the snapshot and as an event, like any status.
    fn set_waiting_for(&self, c: Component, waiting_for: Vec<Component>) {
        let i = worker::index(c);
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

    /// Starts gated components whose dependencies are all ready; shows the others as waiting.
    fn release_gates(&mut self) {
        let statuses = self.statuses.borrow().clone();
        for c in Component::ALL {
            let i = worker::index(c);
            if !self.gated[i] {
                continue;
            }
            let missing: Vec<Component> = c
                .dependencies()
                .iter()
                .copied()
                .filter(|d| statuses[worker::index(*d)].phase != Phase::Ready)
                .collect();
            if missing.is_empty() {
                self.send_to_worker(c, Input::Start);
            } else {
                self.set_waiting_for(c, missing);
            }
        }
    }

    /// Stops stage by stage, kubelet and proxy first, etcd last, each stage given its grace
    /// period (the workers SIGKILL past it).
    async fn stop_all(&mut self) {
        self.gated = [false; 6];
        for stage in (0..=3).rev() {
            let members: Vec<Component> = Component::ALL
                .into_iter()
                .filter(|c| c.stage() == stage)
                .collect();
            for c in &members {
                self.send_to_worker(*c, Input::Stop);
            }
            let mut rx = self.statuses.subscribe();
            let done = rx.wait_for(|s| {
                members.iter().all(|c| {
                    let p = s[worker::index(*c)].phase;
                    !p.is_alive() && p != Phase::BackingOff
                })
            });
            let _ = tokio::time::timeout(self.stop_grace + Duration::from_secs(2), done).await;
        }
    }
}
