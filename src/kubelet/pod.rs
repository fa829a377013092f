//! The lifecycle of one pod on the node, as a pure state machine: the sandbox, then the init
//! containers one by one, then the app containers; image pulls (and their failures with
//! ErrImagePull / ImagePullBackOff), restarts by restartPolicy with CrashLoopBackOff's growing
//! delay, probe results, and the PodStatus all of that reads as.
//!
//! Time is passed in, and everything the runtime must do comes out as [`Action`]s, so the
//! rules upstream users know (what `kubectl get pods` shows when) are unit-tested here.

use std::time::Duration;

use k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    ContainerStatus, HostIP, Pod, PodCondition, PodIP, PodStatus, Probe,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use super::rules::{Effect, Rules};

/// How long the sandbox takes (ContainerCreating before any container starts).
pub const SANDBOX: Duration = Duration::from_millis(500);
/// How long a container that runs to completion runs (init containers, Job pods).
pub const RUN_TO_COMPLETION: Duration = Duration::from_secs(1);
/// How long ErrImagePull shows before ImagePullBackOff.
const ERR_IMAGE_PULL_SHOWN: Duration = Duration::from_secs(2);
/// How long a first crash shows as terminated (Error) before the immediate restart.
const FIRST_CRASH_SHOWN: Duration = Duration::from_secs(1);
/// Upstream's back-off for image pulls and crashed containers: 10 s doubling up to 5 min.
const BACKOFF_START: Duration = Duration::from_secs(10);
const BACKOFF_MAX: Duration = Duration::from_secs(300);
/// A run this long forgets earlier crashes (upstream: twice the maximum back-off).
const BACKOFF_RESET: Duration = Duration::from_secs(600);

fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    (BACKOFF_START * 2u32.pow(doublings)).min(BACKOFF_MAX)
}

fn after(t: Timestamp, d: Duration) -> Timestamp {
    t.checked_add(d).unwrap_or(t)
}

fn stamp(t: Timestamp) -> Time {
    Time(Timestamp::from_second(t.as_second()).unwrap_or(t))
}

/// What the runtime does for the state machine.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Run the container (its `restart`-th run: log file `<restart>.log`).
    Start {
        container: String,
        restart: i32,
        /// Serves its ports and is probed (app containers); init containers only log.
        serves: bool,
    },
    /// The container's run ended; `line` goes to its log.
    Stop { container: String, line: String },
    Event {
        warning: bool,
        reason: &'static str,
        message: String,
    },
}

fn event(warning: bool, reason: &'static str, message: String) -> Action {
    Action::Event {
        warning,
        reason,
        message,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeKind {
    Readiness,
    Liveness,
    Startup,
}

impl ProbeKind {
    fn label(self) -> &'static str {
        match self {
            ProbeKind::Readiness => "Readiness",
            ProbeKind::Liveness => "Liveness",
            ProbeKind::Startup => "Startup",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Terminated {
    exit_code: i32,
    reason: String,
    /// Why it could not even start (a StartError of the process runtime).
    message: Option<String>,
    started: Timestamp,
    finished: Timestamp,
    container_id: String,
}

#[derive(Clone, Debug, PartialEq)]
enum State {
    /// Not running: `until` is when the next start is tried (None: when the pod allows it).
    Waiting {
        reason: &'static str,
        message: Option<String>,
        until: Option<Timestamp>,
    },
    /// The image is being pulled (shown as ContainerCreating).
    Pulling {
        until: Timestamp,
    },
    Running {
        since: Timestamp,
    },
    /// Ended; `restart_at`: shown as terminated until then, before restarting at once.
    Terminated {
        t: Terminated,
        restart_at: Option<Timestamp>,
    },
}

#[derive(Clone, Debug, Default)]
struct ProbeCount {
    successes: i32,
    failures: i32,
}

/// One container of the pod and where it is.
#[derive(Clone, Debug)]
struct Container {
    name: String,
    image: String,
    init: bool,
    /// A native sidecar: an init container with restartPolicy Always. It starts in the init
    /// order, lets the next one start once it runs, and keeps running beside the app.
    sidecar: bool,
    effect: Effect,
    /// Runs as a host process (the node's process runtime, and the spec gives a command):
    /// it ends when the process exits, not by the simulate rules' timers.
    process: bool,
    readiness: Option<Probe>,
    liveness: Option<Probe>,
    startup: Option<Probe>,
    state: State,
    restart_count: i32,
    last: Option<Terminated>,
    ready: bool,
    /// The startup probe passed (or there is none).
    started: bool,
    pulled: bool,
    pull_failures: u32,
    crashes: u32,
    counts: [ProbeCount; 3],
}

impl Container {
    /// The runtime's name, as the scheme of container and image IDs (`containerd://…`).
    fn runtime(&self) -> &'static str {
        if self.process { "process" } else { "sim" }
    }

    fn id(&self, uid: &str) -> String {
        let runtime = self.runtime();
        if self.restart_count == 0 {
            format!("{runtime}://{uid}-{}", self.name)
        } else {
            format!("{runtime}://{uid}-{}-{}", self.name, self.restart_count)
        }
    }

    /// Its run ended: the runtime stops what is left of it. `line` is kwb's note for the
    /// container's log; a host process's log is its own output only, so it gets none.
    fn stop(&self, line: String) -> Action {
        Action::Stop {
            container: self.name.clone(),
            line: if self.process { String::new() } else { line },
        }
    }

    /// Its current run, ended at `at` with `code` (reason Completed or Error, as upstream).
    fn ended(&self, uid: &str, since: Timestamp, at: Timestamp, code: i32) -> Terminated {
        Terminated {
            exit_code: code,
            reason: if code == 0 { "Completed" } else { "Error" }.into(),
            message: None,
            started: since,
            finished: at,
            container_id: self.id(uid),
        }
    }

    /// Counts as initialized for the pod: done, or a sidecar that runs or has started once.
    fn initialized(&self) -> bool {
        self.init_satisfied() || (self.sidecar && self.started)
    }

    fn done(&self) -> bool {
        matches!(&self.state, State::Terminated { t, restart_at: None } if t.exit_code == 0)
    }

    fn failed_for_good(&self) -> bool {
        !self.sidecar
            && matches!(&self.state, State::Terminated { t, restart_at: None } if t.exit_code != 0)
    }

    /// Whether the containers after this init container may start: it completed, or, a
    /// sidecar, it runs and has started.
    fn init_satisfied(&self) -> bool {
        if self.sidecar {
            matches!(self.state, State::Running { .. }) && self.started
        } else {
            self.done()
        }
    }

    /// Whether a run that ended with `code` is followed by another: sidecars always restart,
    /// init containers until they succeed, app containers per the pod's policy.
    fn restarts_after(&self, policy: Restart, code: i32) -> bool {
        if self.sidecar {
            return true;
        }
        should_restart(self.init, policy, code)
    }

    /// Whether a run ends by itself after a while (init containers and Job pods' containers).
    fn runs_to_completion(&self, policy: Restart) -> bool {
        !self.sidecar && (self.init || policy != Restart::Always)
    }
}

/// The pod's restartPolicy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Restart {
    Always,
    OnFailure,
    Never,
}

pub struct PodRun {
    pub ip: String,
    pub uid: String,
    /// `<name>_<namespace>(<uid>)`, as upstream names a pod in messages.
    label: String,
    sandbox_ready_at: Timestamp,
    restart: Restart,
    containers: Vec<Container>,
    /// The status last written, whose transition times carry over while unchanged.
    pub written: Option<PodStatus>,
}

/// Why an image reference cannot be pulled at all (upstream's InvalidImageName).
fn invalid_image(image: &str) -> Option<String> {
    let name = image.split('@').next().unwrap_or(image);
    let repo = match name.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo,
        _ => name,
    };
    let path = repo.split_once('/').map_or(repo, |(host, path)| {
        if host.contains('.') || host.contains(':') || host == "localhost" {
            path
        } else {
            repo
        }
    });
    let ok = !image.is_empty()
        && !path.is_empty()
        && path.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-' | '/')
        });
    (!ok).then(|| {
        format!(
            "Failed to apply default image tag \"{image}\": couldn't parse image name \"{image}\": invalid reference format"
        )
    })
}

impl PodRun {
    /// A pod the kubelet has just taken on, at `ip`, sandbox set up from `now`.
    pub fn new(pod: &Pod, ip: &str, rules: &Rules, now: Timestamp) -> PodRun {
        let spec = pod.spec.clone().unwrap_or_default();
        let restart = match spec.restart_policy.as_deref() {
            Some("Never") => Restart::Never,
            Some("OnFailure") => Restart::OnFailure,
            _ => Restart::Always,
        };
        let has_init = spec.init_containers.as_ref().is_some_and(|c| !c.is_empty());
        let mut containers = Vec::new();
        let all = spec
            .init_containers
            .iter()
            .flatten()
            .map(|c| (c, true))
            .chain(spec.containers.iter().map(|c| (c, false)));
        let waiting = if has_init {
            "PodInitializing"
        } else {
            "ContainerCreating"
        };
        for (c, init) in all {
            let image = c.image.clone().unwrap_or_default();
            let sidecar = init && c.restart_policy.as_deref() == Some("Always");
            // Probes are for containers that keep running: app containers and sidecars.
            let probed = !init || sidecar;
            containers.push(Container {
                name: c.name.clone(),
                effect: rules.effect(&image),
                process: false,
                image,
                init,
                sidecar,
                readiness: c.readiness_probe.clone().filter(|_| probed),
                liveness: c.liveness_probe.clone().filter(|_| probed),
                startup: c.startup_probe.clone().filter(|_| probed),
                state: State::Waiting {
                    reason: waiting,
                    message: None,
                    until: None,
                },
                restart_count: 0,
                last: None,
                ready: false,
                started: false,
                pulled: false,
                pull_failures: 0,
                crashes: 0,
                counts: Default::default(),
            });
        }
        let m = &pod.metadata;
        PodRun {
            ip: ip.to_string(),
            uid: m.uid.clone().unwrap_or_default(),
            label: format!(
                "{}_{}({})",
                m.name.as_deref().unwrap_or(""),
                m.namespace.as_deref().unwrap_or(""),
                m.uid.as_deref().unwrap_or("")
            ),
            sandbox_ready_at: after(now, SANDBOX),
            restart,
            containers,
            written: None,
        }
    }

    /// On a node with the process runtime: the containers whose spec gives a `command` run
    /// as host processes. Images mean nothing to the host, so the simulate rules do not apply
    /// to them: their exit codes, output and readiness are the process's own.
    pub fn with_process_runtime(mut self, pod: &Pod) -> PodRun {
        let spec = pod.spec.as_ref();
        let commands = spec
            .iter()
            .flat_map(|s| s.init_containers.iter().flatten().chain(&s.containers))
            .filter(|c| c.command.as_ref().is_some_and(|c| !c.is_empty()));
        for spec in commands {
            if let Some(c) = self.containers.iter_mut().find(|c| c.name == spec.name) {
                c.process = true;
                c.effect = Effect::default();
            }
        }
        self
    }

    /// Whether `container` runs as a host process.
    pub fn is_process(&self, container: &str) -> bool {
        self.containers
            .iter()
            .any(|c| c.name == container && c.process)
    }

    /// A pod this kubelet ran before it restarted (this run just made for it), picked up where
    /// its status says: running containers go on running (since their startedAt; a host
    /// process is started again, as the old one died with the old kubelet), init containers
    /// count as done.
    pub fn resume(self, pod: &Pod, now: Timestamp) -> (PodRun, Vec<Action>) {
        let mut run = self;
        run.sandbox_ready_at = now;
        let status = pod.status.clone().unwrap_or_default();
        let previous: Vec<ContainerStatus> = status
            .init_container_statuses
            .into_iter()
            .flatten()
            .chain(status.container_statuses.into_iter().flatten())
            .collect();
        let mut actions = Vec::new();
        for c in &mut run.containers {
            let was = previous.iter().find(|s| s.name == c.name);
            c.restart_count = was.map_or(0, |s| s.restart_count);
            c.pulled = true;
            c.started = true;
            if c.init && !c.sidecar {
                c.state = State::Terminated {
                    t: c.ended(&run.uid, now, now, 0),
                    restart_at: None,
                };
                continue;
            }
            let since = was
                .and_then(|s| s.state.as_ref()?.running.as_ref()?.started_at.clone())
                .map_or(now, |t| t.0);
            c.state = State::Running { since };
            c.ready = c.readiness.is_none() && !c.effect.unready;
            actions.push(Action::Start {
                container: c.name.clone(),
                restart: c.restart_count,
                serves: true,
            });
        }
        (run, actions)
    }

    /// Moves everything due by `now` forward.
    pub fn advance(&mut self, now: Timestamp) -> Vec<Action> {
        let mut actions = Vec::new();
        if now < self.sandbox_ready_at {
            return actions;
        }
        // Until nothing changes: one container ending can let the next one start.
        for _ in 0..(self.containers.len() * 4 + 4) {
            let before = actions.len();
            let changed = self.step(now, &mut actions);
            if !changed && actions.len() == before {
                break;
            }
        }
        actions
    }

    /// Which containers may start: the first unfinished init container, or (all init
    /// containers done) every app container.
    fn startable(&self, i: usize) -> bool {
        let c = &self.containers[i];
        let inits = self.containers.iter().filter(|c| c.init);
        if c.init {
            self.containers[..i].iter().all(Container::init_satisfied)
        } else {
            inits.clone().all(Container::init_satisfied)
        }
    }

    /// Once the app containers have ended for good, the sidecars are stopped: they exist to
    /// serve the app, and the pod cannot finish while they run.
    fn stop_sidecars_of_finished_pod(&mut self, now: Timestamp, actions: &mut Vec<Action>) {
        if !self.apps_finished() {
            return;
        }
        let uid = self.uid.clone();
        for c in self.containers.iter_mut().filter(|c| c.sidecar) {
            if let State::Running { since } = c.state {
                c.ready = false;
                actions.push(event(
                    false,
                    "Killing",
                    format!("Stopping container {}", c.name),
                ));
                actions
                    .push(c.stop("kwb sim: stopped (the pod's main containers finished)".into()));
                c.state = State::Terminated {
                    t: c.ended(&uid, since, now, 0),
                    restart_at: None,
                };
            }
        }
    }

    /// Every app container has ended for good.
    fn apps_finished(&self) -> bool {
        let mut apps = self.containers.iter().filter(|c| !c.init).peekable();
        apps.peek().is_some()
            && apps.all(|c| {
                matches!(&c.state, State::Terminated { t, restart_at: None }
                    if !c.restarts_after(self.restart, t.exit_code))
            })
    }

    fn step(&mut self, now: Timestamp, actions: &mut Vec<Action>) -> bool {
        let mut changed = false;
        self.stop_sidecars_of_finished_pod(now, actions);
        for i in 0..self.containers.len() {
            if self.pod_failed() {
                break;
            }
            let startable = self.startable(i);
            let apps_finished = self.apps_finished();
            let restart = self.restart;
            let label = self.label.clone();
            let uid = self.uid.clone();
            let c = &mut self.containers[i];
            let next = match &c.state {
                State::Waiting { until, .. } => {
                    let due = until.is_none_or(|u| u <= now);
                    let wanted = !(c.sidecar && apps_finished);
                    (startable && due && wanted).then(|| pull_or_start(c, now, actions))
                }
                State::Pulling { until } if *until <= now => {
                    actions.push(event(
                        false,
                        "Pulled",
                        format!(
                            "Successfully pulled image \"{}\" in {}s",
                            c.image,
                            c.effect.start_delay.as_secs()
                        ),
                    ));
                    c.pulled = true;
                    Some(start(c, now, actions))
                }
                State::Pulling { .. } => None,
                // A host process ends when it exits (see `exited`).
                State::Running { .. } if c.process => None,
                State::Running { since } => {
                    let completes = c.runs_to_completion(restart);
                    let crash = c
                        .effect
                        .crash_after
                        .map(|d| (after(*since, d), c.effect.exit_code));
                    let completion = completes.then(|| (after(*since, RUN_TO_COMPLETION), 0));
                    // A crash rule replaces the completion: a Job's pod that crashes fails.
                    let end = crash.or(completion);
                    match end {
                        Some((at, code)) if at <= now => {
                            let why = if code == 0 {
                                "ran to completion".to_string()
                            } else {
                                format!("exited with code {code} (a simulate rule)")
                            };
                            let t = c.ended(&uid, *since, at, code);
                            Some(terminate(c, t, &why, restart, actions))
                        }
                        _ => None,
                    }
                }
                State::Terminated {
                    restart_at: Some(at),
                    ..
                } if *at <= now && !(c.sidecar && apps_finished) => Some(State::Waiting {
                    reason: "CrashLoopBackOff",
                    message: None,
                    until: Some(now),
                }),
                State::Terminated {
                    t,
                    restart_at: None,
                } if c.restarts_after(restart, t.exit_code) && !(c.sidecar && apps_finished) => {
                    // Back-off before the next run, counted from when it ended (the first
                    // restart was immediate, so the second crash waits 10 s).
                    let delay = backoff(c.crashes.saturating_sub(1));
                    actions.push(event(
                        true,
                        "BackOff",
                        format!(
                            "Back-off restarting failed container {} in pod {label}",
                            c.name
                        ),
                    ));
                    Some(State::Waiting {
                        reason: "CrashLoopBackOff",
                        message: Some(format!(
                            "back-off {} restarting failed container={} pod={label}",
                            go_seconds(delay),
                            c.name
                        )),
                        until: Some(after(t.finished, delay)),
                    })
                }
                State::Terminated { .. } => None,
            };
            if let Some(state) = next {
                c.state = state;
                changed = true;
            }
        }
        changed
    }

    /// A probe's result for the `restart`-th run of `container`; stale results are ignored.
    pub fn probed(
        &mut self,
        container: &str,
        restart: i32,
        kind: ProbeKind,
        outcome: Result<(), String>,
        now: Timestamp,
    ) -> Vec<Action> {
        let mut actions = Vec::new();
        let policy = self.restart;
        let uid = self.uid.clone();
        let Some(c) = self.containers.iter_mut().find(|c| c.name == container) else {
            return actions;
        };
        let State::Running { since } = c.state else {
            return actions;
        };
        if c.restart_count != restart || (kind != ProbeKind::Startup && !c.started) {
            return actions;
        }
        let probe = match kind {
            ProbeKind::Readiness => c.readiness.as_ref(),
            ProbeKind::Liveness => c.liveness.as_ref(),
            ProbeKind::Startup => c.startup.as_ref(),
        };
        let success_threshold = probe.and_then(|p| p.success_threshold).unwrap_or(1).max(1);
        let failure_threshold = probe.and_then(|p| p.failure_threshold).unwrap_or(3).max(1);
        let count = &mut c.counts[kind as usize];
        match outcome {
            Ok(()) => {
                count.failures = 0;
                count.successes += 1;
                if count.successes >= success_threshold {
                    match kind {
                        ProbeKind::Readiness => c.ready = true,
                        ProbeKind::Startup => {
                            c.started = true;
                            c.ready = c.readiness.is_none() && !c.effect.unready;
                        }
                        ProbeKind::Liveness => {}
                    }
                }
            }
            Err(why) => {
                count.successes = 0;
                count.failures += 1;
                actions.push(event(
                    true,
                    "Unhealthy",
                    format!("{} probe failed: {why}", kind.label()),
                ));
                if count.failures < failure_threshold {
                    return actions;
                }
                match kind {
                    ProbeKind::Readiness => c.ready = false,
                    ProbeKind::Liveness | ProbeKind::Startup => {
                        let what = if kind == ProbeKind::Liveness {
                            "liveness"
                        } else {
                            "startup"
                        };
                        actions.push(event(
                            false,
                            "Killing",
                            format!(
                                "Container {} failed {what} probe, will be restarted",
                                c.name
                            ),
                        ));
                        let why = format!("killed: it failed its {what} probe");
                        let t = c.ended(&uid, since, now, 137);
                        c.state = terminate(c, t, &why, policy, &mut actions);
                        actions.extend(self.advance(now));
                    }
                }
            }
        }
        actions
    }

    /// The containers running now, which a deletion stops (after their preStop hooks).
    pub fn running(&self) -> Vec<String> {
        self.containers
            .iter()
            .filter(|c| matches!(c.state, State::Running { .. }))
            .map(|c| c.name.clone())
            .collect()
    }

    /// A Killing event for each running container: the start of a graceful stop.
    pub fn killing(&self) -> Vec<Action> {
        self.running()
            .into_iter()
            .map(|c| event(false, "Killing", format!("Stopping container {c}")))
            .collect()
    }

    /// Stops the running containers (on deletion, once their hooks are done).
    pub fn stop_all(&mut self) -> Vec<Action> {
        self.containers
            .iter()
            .filter(|c| matches!(c.state, State::Running { .. }))
            .map(|c| c.stop("kwb sim: stopped (the pod is being deleted)".into()))
            .collect()
    }

    /// The host process of the `restart`-th run of `container` exited with `code` (or never
    /// started: `error` says why, upstream's StartError); stale reports are ignored.
    pub fn exited(
        &mut self,
        container: &str,
        restart: i32,
        code: i32,
        error: Option<String>,
        now: Timestamp,
    ) -> Vec<Action> {
        let mut actions = Vec::new();
        let (policy, uid) = (self.restart, self.uid.clone());
        let Some(c) = self.containers.iter_mut().find(|c| c.name == container) else {
            return actions;
        };
        let State::Running { since } = c.state else {
            return actions;
        };
        if c.restart_count != restart {
            return actions;
        }
        let mut t = c.ended(&uid, since, now, code);
        if let Some(message) = error {
            actions.push(event(true, "Failed", format!("Error: {message}")));
            t.reason = "StartError".into();
            t.message = Some(message);
        }
        c.state = terminate(c, t, "exited", policy, &mut actions);
        actions.extend(self.advance(now));
        actions
    }

    /// The waiting reason of a container not yet created.
    fn not_created_reason(&self) -> &'static str {
        if self.containers.iter().any(|c| c.init) {
            "PodInitializing"
        } else {
            "ContainerCreating"
        }
    }

    /// The run `container` is on (0 for its first).
    pub fn restart_count(&self, container: &str) -> Option<i32> {
        self.containers
            .iter()
            .find(|c| c.name == container)
            .map(|c| c.restart_count)
    }

    /// When something is due next (a pull done, a back-off over, a crash, a completion).
    pub fn next_due(&self) -> Option<Timestamp> {
        let mut due: Option<Timestamp> = None;
        let mut at = |t: Timestamp| due = Some(due.map_or(t, |d| d.min(t)));
        if self
            .containers
            .iter()
            .all(|c| matches!(c.state, State::Waiting { until: None, .. }))
        {
            at(self.sandbox_ready_at);
        }
        for c in &self.containers {
            match &c.state {
                State::Waiting { until: Some(u), .. } => at(*u),
                State::Pulling { until } => at(*until),
                State::Running { .. } if c.process => {}
                State::Running { since } => {
                    if let Some(d) = c.effect.crash_after {
                        at(after(*since, d));
                    }
                    if c.effect.crash_after.is_none() && c.runs_to_completion(self.restart) {
                        at(after(*since, RUN_TO_COMPLETION));
                    }
                }
                State::Terminated {
                    restart_at: Some(r),
                    ..
                } => at(*r),
                _ => {}
            }
        }
        due
    }

    /// Every container ended for good (Succeeded or Failed): the pod holds no IP any more.
    pub fn finished(&self) -> bool {
        matches!(self.phase(), "Succeeded" | "Failed")
    }

    fn pod_failed(&self) -> bool {
        self.containers
            .iter()
            .any(|c| c.init && c.failed_for_good())
    }

    fn phase(&self) -> &'static str {
        if self.pod_failed() {
            return "Failed";
        }
        if !self
            .containers
            .iter()
            .filter(|c| c.init)
            .all(Container::initialized)
        {
            return "Pending";
        }
        let apps: Vec<&Container> = self.containers.iter().filter(|c| !c.init).collect();
        if !apps.is_empty()
            && apps.iter().all(|c| {
                matches!(
                    c.state,
                    State::Terminated {
                        restart_at: None,
                        ..
                    }
                )
            })
            && !apps.iter().any(|c| match &c.state {
                State::Terminated { t, .. } => should_restart(false, self.restart, t.exit_code),
                _ => false,
            })
        {
            return if apps.iter().all(|c| c.done()) {
                "Succeeded"
            } else {
                "Failed"
            };
        }
        let runs = apps.iter().any(|c| {
            matches!(c.state, State::Running { .. } | State::Terminated { .. }) || c.last.is_some()
        });
        if runs { "Running" } else { "Pending" }
    }

    /// The PodStatus all this reads as; condition times carry over from the last written one.
    pub fn status(&self, pod: &Pod, host_ip: &str, now: Timestamp) -> PodStatus {
        let previous = pod.status.clone().unwrap_or_default();
        let phase = self.phase();
        let inits: Vec<&Container> = self.containers.iter().filter(|c| c.init).collect();
        let apps: Vec<&Container> = self.containers.iter().filter(|c| !c.init).collect();
        let sandbox = now >= self.sandbox_ready_at && !self.finished();
        let unfinished: Vec<&str> = inits
            .iter()
            .filter(|c| !c.initialized())
            .map(|c| c.name.as_str())
            .collect();
        // Sidecars' readiness counts toward the pod's, as upstream's.
        let unready: Vec<&str> = inits
            .iter()
            .filter(|c| c.sidecar)
            .chain(&apps)
            .filter(|c| !(c.ready && matches!(c.state, State::Running { .. })))
            .map(|c| c.name.as_str())
            .collect();
        let completed = phase == "Succeeded" || phase == "Failed";
        let not_ready = |what: &str| {
            if completed {
                (Some("PodCompleted".to_string()), None)
            } else {
                (
                    Some("ContainersNotReady".to_string()),
                    Some(format!("containers with unready status: [{what}]")),
                )
            }
        };
        let mut conditions = vec![
            ("PodReadyToStartContainers", sandbox, None, None),
            if unfinished.is_empty() {
                let reason = completed.then(|| "PodCompleted".to_string());
                ("Initialized", true, reason, None)
            } else {
                (
                    "Initialized",
                    false,
                    Some("ContainersNotInitialized".to_string()),
                    Some(format!(
                        "containers with incomplete status: [{}]",
                        unfinished.join(" ")
                    )),
                )
            },
        ];
        for type_ in ["Ready", "ContainersReady"] {
            if unready.is_empty() && !completed {
                conditions.push((type_, true, None, None));
            } else {
                let (reason, message) = not_ready(&unready.join(" "));
                conditions.push((type_, false, reason, message));
            }
        }
        conditions.push(("PodScheduled", true, None, None));
        let was = self
            .written
            .as_ref()
            .or(previous.conditions.as_ref().map(|_| &previous));
        let conditions = conditions
            .into_iter()
            .map(|(type_, ok, reason, message)| {
                let status = if ok { "True" } else { "False" };
                let since = was
                    .and_then(|w| w.conditions.as_ref())
                    .and_then(|cs| cs.iter().find(|c| c.type_ == type_))
                    .filter(|c| c.status == status)
                    .and_then(|c| c.last_transition_time.clone())
                    .unwrap_or_else(|| stamp(now));
                PodCondition {
                    type_: type_.into(),
                    status: status.into(),
                    reason,
                    message,
                    last_transition_time: Some(since),
                    ..PodCondition::default()
                }
            })
            .collect();
        let statuses = |cs: &[&Container]| -> Option<Vec<ContainerStatus>> {
            (!cs.is_empty()).then(|| cs.iter().map(|c| self.container_status(c)).collect())
        };
        let has_ip = sandbox || completed;
        PodStatus {
            phase: Some(phase.into()),
            host_ip: Some(host_ip.into()),
            host_ips: Some(vec![HostIP { ip: host_ip.into() }]),
            pod_ip: has_ip.then(|| self.ip.clone()),
            pod_ips: has_ip.then(|| {
                vec![PodIP {
                    ip: self.ip.clone(),
                }]
            }),
            start_time: previous.start_time.or(Some(stamp(now))),
            qos_class: previous.qos_class,
            conditions: Some(conditions),
            init_container_statuses: statuses(&inits),
            container_statuses: statuses(&apps),
            ..PodStatus::default()
        }
    }

    fn container_status(&self, c: &Container) -> ContainerStatus {
        let terminated = |t: &Terminated| ContainerState {
            terminated: Some(ContainerStateTerminated {
                exit_code: t.exit_code,
                reason: Some(t.reason.clone()),
                message: t.message.clone(),
                started_at: Some(stamp(t.started)),
                finished_at: Some(stamp(t.finished)),
                container_id: Some(t.container_id.clone()),
                ..ContainerStateTerminated::default()
            }),
            ..ContainerState::default()
        };
        let waiting = |reason: &str, message: Option<String>| ContainerState {
            waiting: Some(ContainerStateWaiting {
                reason: Some(reason.into()),
                message,
            }),
            ..ContainerState::default()
        };
        let (state, id) = match &c.state {
            State::Waiting {
                reason, message, ..
            } => (waiting(reason, message.clone()), None),
            // Upstream shows no pull in a container's state: it keeps the default reason of a
            // container not yet created (so `kubectl get pods` says Init:0/1 meanwhile).
            State::Pulling { .. } => (waiting(self.not_created_reason(), None), None),
            State::Running { since } => (
                ContainerState {
                    running: Some(ContainerStateRunning {
                        started_at: Some(stamp(*since)),
                    }),
                    ..ContainerState::default()
                },
                Some(c.id(&self.uid)),
            ),
            State::Terminated { t, .. } => (terminated(t), Some(t.container_id.clone())),
        };
        let running = matches!(c.state, State::Running { .. });
        ContainerStatus {
            name: c.name.clone(),
            image: c.image.clone(),
            image_id: if c.pulled {
                format!("{}://{}", c.runtime(), c.image)
            } else {
                String::new()
            },
            container_id: id,
            ready: if c.init && !c.sidecar {
                c.done()
            } else {
                running && c.ready
            },
            started: Some(running && c.started),
            restart_count: c.restart_count,
            state: Some(state),
            last_state: c.last.as_ref().map(terminated),
            ..ContainerStatus::default()
        }
    }
}

fn should_restart(init: bool, policy: Restart, exit_code: i32) -> bool {
    match policy {
        Restart::Always if !init => true,
        Restart::Never => false,
        _ => exit_code != 0,
    }
}

/// Go's rendering of a whole number of seconds (`10s`, `1m20s`, `5m0s`).
fn go_seconds(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{s}s")
    } else {
        format!("{}m{}s", s / 60, s % 60)
    }
}

/// The start of a run: pull the image if needed (with the rules' failures and delays), or
/// start the container at once.
fn pull_or_start(c: &mut Container, now: Timestamp, actions: &mut Vec<Action>) -> State {
    if let Some(message) = invalid_image(&c.image) {
        if !matches!(
            c.state,
            State::Waiting {
                reason: "InvalidImageName",
                ..
            }
        ) {
            actions.push(event(true, "InspectFailed", message.clone()));
            actions.push(event(true, "Failed", "Error: InvalidImageName".into()));
        }
        return State::Waiting {
            reason: "InvalidImageName",
            message: Some(message),
            until: None,
        };
    }
    if c.pulled {
        actions.push(event(
            false,
            "Pulled",
            format!("Container image \"{}\" already present on machine", c.image),
        ));
        return start(c, now, actions);
    }
    match &c.state {
        // ErrImagePull has shown long enough: back off before the next try.
        State::Waiting {
            reason: "ErrImagePull",
            ..
        } => {
            let delay = backoff(c.pull_failures);
            actions.push(event(
                false,
                "BackOff",
                format!("Back-off pulling image \"{}\"", c.image),
            ));
            actions.push(event(true, "Failed", "Error: ImagePullBackOff".into()));
            return State::Waiting {
                reason: "ImagePullBackOff",
                message: Some(format!("Back-off pulling image \"{}\"", c.image)),
                until: Some(after(now, delay)),
            };
        }
        _ if c.effect.pull_error => {
            c.pull_failures += 1;
            let reference = full_reference(&c.image);
            let message = format!(
                "failed to pull and unpack image \"{reference}\": failed to resolve reference \"{reference}\": {reference}: not found"
            );
            actions.push(event(
                false,
                "Pulling",
                format!("Pulling image \"{}\"", c.image),
            ));
            actions.push(event(
                true,
                "Failed",
                format!(
                    "Failed to pull image \"{}\": rpc error: code = NotFound desc = {message}",
                    c.image
                ),
            ));
            actions.push(event(true, "Failed", "Error: ErrImagePull".into()));
            return State::Waiting {
                reason: "ErrImagePull",
                message: Some(format!("rpc error: code = NotFound desc = {message}")),
                until: Some(after(now, ERR_IMAGE_PULL_SHOWN)),
            };
        }
        _ => {}
    }
    if !c.effect.start_delay.is_zero() {
        actions.push(event(
            false,
            "Pulling",
            format!("Pulling image \"{}\"", c.image),
        ));
        return State::Pulling {
            until: after(now, c.effect.start_delay),
        };
    }
    c.pulled = true;
    actions.push(event(
        false,
        "Pulled",
        format!("Container image \"{}\" already present on machine", c.image),
    ));
    start(c, now, actions)
}

/// docker.io/library/nginx:latest for nginx, as containerd names what it resolves.
fn full_reference(image: &str) -> String {
    let tagged = if image
        .rsplit('/')
        .next()
        .is_some_and(|l| l.contains(':') || l.contains('@'))
    {
        image.to_string()
    } else {
        format!("{image}:latest")
    };
    let first = tagged.split('/').next().unwrap_or("");
    if tagged.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost")
    {
        tagged
    } else if tagged.contains('/') {
        format!("docker.io/{tagged}")
    } else {
        format!("docker.io/library/{tagged}")
    }
}

fn start(c: &mut Container, now: Timestamp, actions: &mut Vec<Action>) -> State {
    if c.last.is_some()
        || matches!(
            c.state,
            State::Waiting {
                reason: "CrashLoopBackOff",
                ..
            }
        )
    {
        c.restart_count += 1;
    }
    c.started = c.startup.is_none();
    c.ready = c.started && c.readiness.is_none() && !c.effect.unready;
    c.counts = Default::default();
    actions.push(event(
        false,
        "Created",
        format!("Created container: {}", c.name),
    ));
    actions.push(event(
        false,
        "Started",
        format!("Started container {}", c.name),
    ));
    actions.push(Action::Start {
        container: c.name.clone(),
        restart: c.restart_count,
        serves: !c.init || c.sidecar,
    });
    State::Running { since: now }
}

/// The end of a run, `t`: the runtime stops it; the state says whether and when it restarts.
fn terminate(
    c: &mut Container,
    t: Terminated,
    why: &str,
    policy: Restart,
    actions: &mut Vec<Action>,
) -> State {
    let code = t.exit_code;
    let (since, at) = (t.started, t.finished);
    c.ready = false;
    actions.push(c.stop(format!("kwb sim: {why} (simulated: exit code {code})")));
    if !c.restarts_after(policy, code) {
        return State::Terminated {
            t,
            restart_at: None,
        };
    }
    if at.duration_since(since).as_secs_f64() >= BACKOFF_RESET.as_secs_f64() {
        c.crashes = 0;
    }
    c.crashes += 1;
    c.last = Some(t.clone());
    if c.crashes == 1 {
        // The first restart is immediate: shown as terminated for a moment, then running.
        State::Terminated {
            restart_at: Some(after(at, FIRST_CRASH_SHOWN)),
            t,
        }
    } else {
        State::Terminated {
            t,
            restart_at: None,
        }
    }
}

#[cfg(test)]
mod tests;
