//! One component's life as a state machine, stepped by one function with no I/O, so start,
//! stop, crash, backoff and probe rules are unit-tested without processes or clocks.
//!
//! The async worker in `worker.rs` feeds it inputs (commands, process exits, probe results,
//! timers) and carries out the outputs (spawn, terminate, schedule a restart).

use std::time::{Duration, Instant, SystemTime};

/// What the pane shows as the component's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Not running, by the user's choice (or never started).
    Stopped,
    /// Spawned; no probe verdict yet.
    Starting,
    /// Alive, but its health probe has not passed yet (often: a dependency is down).
    Running,
    /// Alive and its probe passes.
    Ready,
    /// Alive, was ready, and its probe now fails repeatedly.
    Unhealthy,
    /// SIGTERM sent; waiting for the exit (SIGKILL after the grace period).
    Stopping,
    /// Exited on its own; restarts when the backoff delay is over.
    BackingOff,
    /// Could not be launched (no such binary, bad config): not retried until started again.
    Crashed,
}

impl Phase {
    pub fn label(self) -> &'static str {
        match self {
            Phase::Stopped => "stopped",
            Phase::Starting => "starting",
            Phase::Running => "running",
            Phase::Ready => "ready",
            Phase::Unhealthy => "unhealthy",
            Phase::Stopping => "stopping",
            Phase::BackingOff => "backing off",
            Phase::Crashed => "crashed",
        }
    }

    /// Whether a process exists for this phase.
    pub fn is_alive(self) -> bool {
        matches!(
            self,
            Phase::Starting | Phase::Running | Phase::Ready | Phase::Unhealthy | Phase::Stopping
        )
    }
}

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExitInfo {
    Code(i32),
    Signal(i32),
}

impl std::fmt::Display for ExitInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExitInfo::Code(c) => write!(f, "{c}"),
            ExitInfo::Signal(s) => write!(f, "signal {s}{}", signal_name(*s)),
        }
    }
}

fn signal_name(s: i32) -> &'static str {
    match s {
        libc::SIGKILL => " (SIGKILL)",
        libc::SIGTERM => " (SIGTERM)",
        libc::SIGSEGV => " (SIGSEGV)",
        libc::SIGABRT => " (SIGABRT)",
        libc::SIGINT => " (SIGINT)",
        _ => "",
    }
}

/// Restart and probe rules.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Delay before the first restart after a crash; doubles with each crash in a row.
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// A process that stayed up this long before crashing starts the backoff over.
    pub stable_after: Duration,
    /// Failed probes in a row that turn a ready component unhealthy.
    pub unhealthy_after: u32,
    /// SIGTERM → SIGKILL grace period.
    pub stop_grace: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(30),
            stable_after: Duration::from_secs(30),
            unhealthy_after: 3,
            stop_grace: Duration::from_secs(10),
        }
    }
}

impl Policy {
    /// Delay before restart number `crashes_in_a_row` (1-based): base, 2·base, 4·base, … ≤ cap.
    pub fn backoff(&self, crashes_in_a_row: u32) -> Duration {
        let exp = crashes_in_a_row.saturating_sub(1).min(20);
        self.backoff_base
            .saturating_mul(1u32 << exp)
            .min(self.backoff_cap)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// The user (or start-all) wants it running.
    Start,
    /// The user wants it stopped.
    Stop,
    /// Stop if alive, then start.
    Restart,
    Spawned {
        pid: u32,
    },
    SpawnFailed(String),
    Exited(ExitInfo),
    ProbeOk(String),
    ProbeFailed(String),
    BackoffElapsed,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    Spawn,
    /// Send SIGTERM now, SIGKILL after the grace period.
    Terminate,
    ScheduleRestart(Duration),
}

#[derive(Clone, Debug)]
pub struct Lifecycle {
    pub phase: Phase,
    pub pid: Option<u32>,
    /// Wall-clock start of the current process, for the uptime shown.
    pub started_at: Option<SystemTime>,
    started_instant: Option<Instant>,
    /// Restarts after crashes since kwb started this component (manual restarts not counted).
    pub restarts: u32,
    crashes_in_a_row: u32,
    pub last_exit: Option<ExitInfo>,
    /// When a backing-off component restarts.
    pub restart_at: Option<Instant>,
    /// The last probe's verdict: Ok(detail) or Err(reason).
    pub probe: Option<Result<String, String>>,
    probe_failures: u32,
    /// A launch error or similar, shown in the pane.
    pub message: Option<String>,
    /// Start again once the current process has exited (a restart in progress).
    start_after_exit: bool,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle {
            phase: Phase::Stopped,
            pid: None,
            started_at: None,
            started_instant: None,
            restarts: 0,
            crashes_in_a_row: 0,
            last_exit: None,
            restart_at: None,
            probe: None,
            probe_failures: 0,
            message: None,
            start_after_exit: false,
        }
    }
}

impl Lifecycle {
    /// Crashes in a row now (0 after a stable run or a manual stop).
    pub fn crash_loop(&self) -> u32 {
        self.crashes_in_a_row
    }

    pub fn step(&mut self, input: Input, policy: &Policy, now: Instant) -> Vec<Output> {
        use Phase::*;
        match (input, self.phase) {
            (Input::Start, Stopped | Crashed | BackingOff) => {
                self.restart_at = None;
                self.message = None;
                self.phase = Starting;
                vec![Output::Spawn]
            }
            (Input::Start, Stopping) => {
                self.start_after_exit = true;
                vec![]
            }
            (Input::Start, _) => vec![],

            (Input::Stop, Starting | Running | Ready | Unhealthy) => {
                self.phase = Stopping;
                self.start_after_exit = false;
                vec![Output::Terminate]
            }
            (Input::Stop, Stopping) => {
                self.start_after_exit = false;
                vec![]
            }
            (Input::Stop, BackingOff | Crashed) => {
                self.phase = Stopped;
                self.restart_at = None;
                self.crashes_in_a_row = 0;
                vec![]
            }
            (Input::Stop, Stopped) => vec![],

            (Input::Restart, Starting | Running | Ready | Unhealthy | Stopping) => {
                self.start_after_exit = true;
                if self.phase == Stopping {
                    return vec![];
                }
                self.phase = Stopping;
                vec![Output::Terminate]
            }
            (Input::Restart, _) => self.step(Input::Start, policy, now),

            (Input::Spawned { pid }, _) => {
                self.phase = Starting;
                self.pid = Some(pid);
                self.started_at = Some(SystemTime::now());
                self.started_instant = Some(now);
                self.probe = None;
                self.probe_failures = 0;
                vec![]
            }
            (Input::SpawnFailed(message), _) => {
                self.phase = Crashed;
                self.pid = None;
                self.message = Some(message);
                vec![]
            }

            (Input::Exited(exit), phase) => {
                self.last_exit = Some(exit);
                self.pid = None;
                self.probe = None;
                let uptime = self
                    .started_instant
                    .take()
                    .map(|s| now.saturating_duration_since(s));
                self.started_at = None;
                if phase == Stopping {
                    // A stop the user asked for is not a crash.
                    self.crashes_in_a_row = 0;
                    if std::mem::take(&mut self.start_after_exit) {
                        self.phase = Starting;
                        return vec![Output::Spawn];
                    }
                    self.phase = Stopped;
                    return vec![];
                }
                if uptime.is_some_and(|u| u >= policy.stable_after) {
                    self.crashes_in_a_row = 0;
                }
                self.crashes_in_a_row += 1;
                let delay = policy.backoff(self.crashes_in_a_row);
                self.phase = BackingOff;
                self.restart_at = Some(now + delay);
                vec![Output::ScheduleRestart(delay)]
            }

            (Input::BackoffElapsed, BackingOff) => {
                self.restart_at = None;
                self.restarts += 1;
                self.phase = Starting;
                vec![Output::Spawn]
            }
            (Input::BackoffElapsed, _) => vec![],

            (Input::ProbeOk(detail), Starting | Running | Ready | Unhealthy) => {
                self.phase = Ready;
                self.probe = Some(Ok(detail));
                self.probe_failures = 0;
                vec![]
            }
            (Input::ProbeFailed(reason), Starting | Running | Ready | Unhealthy) => {
                self.probe = Some(Err(reason));
                self.probe_failures += 1;
                self.phase = match self.phase {
                    Starting => Running,
                    Ready if self.probe_failures >= policy.unhealthy_after => Unhealthy,
                    other => other,
                };
                vec![]
            }
            // A probe answer that arrives after the process is gone means nothing.
            (Input::ProbeOk(_) | Input::ProbeFailed(_), _) => vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(8),
            stable_after: Duration::from_secs(30),
            unhealthy_after: 2,
            stop_grace: Duration::from_secs(5),
        }
    }

    fn started(now: Instant) -> Lifecycle {
        let mut l = Lifecycle::default();
        assert_eq!(l.step(Input::Start, &policy(), now), vec![Output::Spawn]);
        l.step(Input::Spawned { pid: 7 }, &policy(), now);
        l
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = policy();
        let d: Vec<_> = (1..=6).map(|n| p.backoff(n).as_secs()).collect();
        assert_eq!(d, vec![1, 2, 4, 8, 8, 8]);
        assert_eq!(p.backoff(u32::MAX), p.backoff_cap);
    }

    #[test]
    fn crashes_in_a_row_grow_the_delay_and_count_restarts() {
        let p = policy();
        let t0 = Instant::now();
        let mut l = started(t0);
        let mut delays = vec![];
        for i in 0..4 {
            let out = l.step(
                Input::Exited(ExitInfo::Code(1)),
                &p,
                t0 + Duration::from_secs(i),
            );
            let [Output::ScheduleRestart(d)] = out.as_slice() else {
                panic!("expected a restart, got {out:?}")
            };
            delays.push(d.as_secs());
            assert_eq!(l.phase, Phase::BackingOff);
            assert_eq!(l.step(Input::BackoffElapsed, &p, t0), vec![Output::Spawn]);
            l.step(Input::Spawned { pid: 8 }, &p, t0 + Duration::from_secs(i));
        }
        assert_eq!(delays, vec![1, 2, 4, 8]);
        assert_eq!(l.restarts, 4);
        assert_eq!(l.last_exit, Some(ExitInfo::Code(1)));
    }

    #[test]
    fn a_stable_run_resets_the_backoff() {
        let p = policy();
        let t0 = Instant::now();
        let mut l = started(t0);
        l.step(Input::Exited(ExitInfo::Code(1)), &p, t0);
        l.step(Input::BackoffElapsed, &p, t0);
        l.step(Input::Spawned { pid: 9 }, &p, t0);
        let out = l.step(
            Input::Exited(ExitInfo::Code(1)),
            &p,
            t0 + Duration::from_secs(60),
        );
        assert_eq!(out, vec![Output::ScheduleRestart(Duration::from_secs(1))]);
    }

    #[test]
    fn a_manual_stop_is_not_a_crash() {
        let p = policy();
        let t0 = Instant::now();
        let mut l = started(t0);
        assert_eq!(l.step(Input::Stop, &p, t0), vec![Output::Terminate]);
        assert_eq!(l.phase, Phase::Stopping);
        assert_eq!(l.step(Input::Exited(ExitInfo::Signal(15)), &p, t0), vec![]);
        assert_eq!(l.phase, Phase::Stopped);
        assert_eq!(l.restarts, 0);
        assert_eq!(l.crash_loop(), 0);
    }

    #[test]
    fn stop_while_backing_off_cancels_the_restart() {
        let p = policy();
        let t0 = Instant::now();
        let mut l = started(t0);
        l.step(Input::Exited(ExitInfo::Code(2)), &p, t0);
        assert_eq!(l.step(Input::Stop, &p, t0), vec![]);
        assert_eq!(l.phase, Phase::Stopped);
        assert_eq!(l.step(Input::BackoffElapsed, &p, t0), vec![]);
        assert_eq!(l.phase, Phase::Stopped);
    }

    #[test]
    fn restart_terminates_then_spawns() {
        let p = policy();
        let t0 = Instant::now();
        let mut l = started(t0);
        assert_eq!(l.step(Input::Restart, &p, t0), vec![Output::Terminate]);
        assert_eq!(
            l.step(Input::Exited(ExitInfo::Signal(15)), &p, t0),
            vec![Output::Spawn]
        );
        assert_eq!(l.phase, Phase::Starting);
        // Restarting a stopped component just starts it.
        let mut s = Lifecycle::default();
        assert_eq!(s.step(Input::Restart, &p, t0), vec![Output::Spawn]);
    }

    #[test]
    fn probes_move_between_running_ready_and_unhealthy() {
        let p = policy();
        let t0 = Instant::now();
        let mut l = started(t0);
        l.step(Input::ProbeFailed("connection refused".into()), &p, t0);
        assert_eq!(l.phase, Phase::Running);
        l.step(Input::ProbeOk("200".into()), &p, t0);
        assert_eq!(l.phase, Phase::Ready);
        l.step(Input::ProbeFailed("timeout".into()), &p, t0);
        assert_eq!(l.phase, Phase::Ready, "one failure is not enough");
        l.step(Input::ProbeFailed("timeout".into()), &p, t0);
        assert_eq!(l.phase, Phase::Unhealthy);
        l.step(Input::ProbeOk("200".into()), &p, t0);
        assert_eq!(l.phase, Phase::Ready);
    }

    #[test]
    fn a_launch_error_is_crashed_and_not_retried() {
        let p = policy();
        let t0 = Instant::now();
        let mut l = Lifecycle::default();
        l.step(Input::Start, &p, t0);
        assert_eq!(l.step(Input::SpawnFailed("no etcd".into()), &p, t0), vec![]);
        assert_eq!(l.phase, Phase::Crashed);
        assert_eq!(l.message.as_deref(), Some("no etcd"));
        assert_eq!(l.step(Input::Start, &p, t0), vec![Output::Spawn]);
        assert_eq!(l.message, None);
    }

    #[test]
    fn late_probe_results_are_ignored() {
        let p = policy();
        let t0 = Instant::now();
        let mut l = started(t0);
        l.step(Input::Stop, &p, t0);
        l.step(Input::Exited(ExitInfo::Code(0)), &p, t0);
        l.step(Input::ProbeOk("200".into()), &p, t0);
        assert_eq!(l.phase, Phase::Stopped);
    }
}
