//! The task that runs one component: feeds its [`Lifecycle`] with commands, process exits,
//! probe results and timers, and carries out what the lifecycle decides.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Child;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::sleep_until;

use super::lifecycle::{ExitInfo, Input, Lifecycle, Output, Phase, Policy};
use super::logbuf::{LogLine, MAX_LINE_BYTES, Source};
use super::probe::Prober;
use super::{ComponentStatus, Event, Planner, process};
use crate::component::Unit;

/// A log file is moved aside to `<name>.log.1` past this size, so a chatty component cannot
/// fill the disk.
const LOG_ROTATE_BYTES: u64 = 64 << 20;
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

pub(super) struct Worker {
    pub unit: Unit,
    /// This unit's place in the statuses.
    pub slot: usize,
    /// The kubelets' node, shown with their status.
    pub node_name: Option<String>,
    pub planner: Arc<dyn Planner>,
    pub policy: Policy,
    pub inputs: mpsc::UnboundedReceiver<Input>,
    pub statuses: watch::Sender<Vec<ComponentStatus>>,
    pub events: broadcast::Sender<Event>,
}

impl Worker {
    pub async fn run(mut self) {
        let c = self.unit.component;
        let sink = LogSink::new(
            self.unit,
            self.planner.log_file(self.unit),
            self.events.clone(),
        );
        let mut life = Lifecycle::default();
        let mut child: Option<Child> = None;
        let mut readers: Vec<JoinHandle<()>> = Vec::new();
        let mut prober: Option<Arc<Prober>> = None;
        let mut next_probe: Option<Instant> = None;
        let mut kill_at: Option<Instant> = None;
        // Probe answers carry the generation of the process they probed; older ones are dropped.
        let mut generation = 0u64;
        let (probe_tx, mut probe_rx) = mpsc::unbounded_channel::<(u64, Result<String, String>)>();
        let mut probe_in_flight = false;
        let mut shutting_down = false;

        loop {
            let input = tokio::select! {
                msg = self.inputs.recv(), if !shutting_down => match msg {
                    Some(input) => input,
                    None => {
                        // The supervisor is gone: stop the process, then end.
                        shutting_down = true;
                        if !life.phase.is_alive() {
                            break;
                        }
                        Input::Stop
                    }
                },
                status = wait(&mut child) => {
                    child = None;
                    // Let the readers deliver the last lines before the exit is logged.
                    for r in readers.drain(..) {
                        let _ = tokio::time::timeout(Duration::from_millis(500), r).await;
                    }
                    kill_at = None;
                    next_probe = None;
                    Input::Exited(status)
                }
                _ = sleep_until_some(life.restart_at.map(Into::into)) => Input::BackoffElapsed,
                _ = sleep_until_some(kill_at.map(Into::into)) => {
                    if let Some(pid) = life.pid {
                        sink.supervisor(format!(
                            "no exit {} s after SIGTERM: sending SIGKILL",
                            self.policy.stop_grace.as_secs()
                        ));
                        process::signal_group(pid, libc::SIGKILL);
                    }
                    kill_at = None;
                    continue;
                }
                _ = sleep_until_some(next_probe.map(Into::into)), if !probe_in_flight => {
                    next_probe = None;
                    if let Some(p) = prober.clone() {
                        probe_in_flight = true;
                        let tx = probe_tx.clone();
                        let g = generation;
                        tokio::spawn(async move {
                            let _ = tx.send((g, p.check(PROBE_TIMEOUT).await));
                        });
                    }
                    continue;
                }
                Some((g, result)) = probe_rx.recv() => {
                    probe_in_flight = false;
                    if g != generation {
                        continue;
                    }
                    match result {
                        Ok(detail) => Input::ProbeOk(detail),
                        Err(reason) => Input::ProbeFailed(reason),
                    }
                }
            };

            let was = life.phase;
            let mut pending = vec![input];
            while let Some(input) = pending.pop() {
                if let Input::Exited(exit) = &input {
                    let how = match exit {
                        ExitInfo::Code(code) => format!("exited with code {code}"),
                        ExitInfo::Signal(_) => format!("killed by {exit}"),
                    };
                    sink.supervisor(how);
                }
                for output in life.step(input, &self.policy, Instant::now()) {
                    match output {
                        Output::Spawn => {
                            generation += 1;
                            match self.spawn(&sink) {
                                Ok(new) => {
                                    let pid = new.child.id().unwrap_or_default();
                                    child = Some(new.child);
                                    readers = new.readers;
                                    prober = new.prober.map(Arc::new);
                                    next_probe = Some(Instant::now() + Duration::from_millis(100));
                                    pending.push(Input::Spawned { pid });
                                }
                                Err(message) => {
                                    sink.supervisor(format!("cannot start: {message}"));
                                    pending.push(Input::SpawnFailed(message));
                                }
                            }
                        }
                        Output::Terminate => {
                            if let Some(pid) = life.pid {
                                sink.supervisor(format!("stopping pid {pid} (SIGTERM)"));
                                process::signal_group(pid, libc::SIGTERM);
                                kill_at = Some(Instant::now() + self.policy.stop_grace);
                            }
                        }
                        Output::ScheduleRestart(delay) => {
                            let n = life.crash_loop();
                            sink.supervisor(format!(
                                "restarting in {:.1} s{}",
                                delay.as_secs_f64(),
                                if n > 1 {
                                    format!(" (crash loop: {n} crashes in a row)")
                                } else {
                                    String::new()
                                }
                            ));
                        }
                    }
                }
            }
            if life.phase.is_alive() && next_probe.is_none() && !probe_in_flight {
                next_probe = Some(Instant::now() + probe_interval(&life));
            }
            if life.phase != was {
                tracing::info!(component = %c, node = self.unit.node, from = was.label(), to = life.phase.label(), "state");
                if matches!(life.phase, Phase::Ready | Phase::Unhealthy) || was == Phase::Ready {
                    let detail = match &life.probe {
                        Some(Ok(d)) => d.clone(),
                        Some(Err(e)) => e.clone(),
                        None => String::new(),
                    };
                    sink.supervisor(format!("{}: {detail}", life.phase.label()));
                }
            }
            self.publish(&life);
            if shutting_down && !life.phase.is_alive() {
                break;
            }
        }
    }

    fn spawn(&self, sink: &LogSink) -> Result<Spawned, String> {
        let plan = self.planner.plan(self.unit)?;
        let mut child =
            process::spawn(&plan).map_err(|e| format!("{}: {e}", plan.program.display()))?;
        let pid = child.id().unwrap_or_default();
        sink.supervisor(format!(
            "started pid {pid}: {} {}",
            plan.program.display(),
            plan.args.join(" ")
        ));
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(tokio::spawn(pump(out, Source::Stdout, sink.clone())));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(tokio::spawn(pump(err, Source::Stderr, sink.clone())));
        }
        let prober = match Prober::new(plan.probe) {
            Ok(p) => Some(p),
            Err(e) => {
                sink.supervisor(format!("health probe unusable: {e}"));
                None
            }
        };
        Ok(Spawned {
            child,
            readers,
            prober,
        })
    }

    fn publish(&self, life: &Lifecycle) {
        let c = self.unit.component;
        let status = ComponentStatus {
            component: c,
            node: self.unit.node,
            node_name: self.node_name.clone(),
            backend: self.planner.backend_label(c),
            phase: life.phase,
            pid: life.pid,
            started_at: life.started_at,
            restarts: life.restarts,
            crash_loop: life.crash_loop(),
            last_exit: life.last_exit,
            restart_at: life
                .restart_at
                .map(|at| SystemTime::now() + at.saturating_duration_since(Instant::now())),
            probe: life.probe.clone(),
            message: life.message.clone(),
            waiting_for: Vec::new(),
        };
        let mut changed = None;
        self.statuses.send_if_modified(|all| {
            let slot = &mut all[self.slot];
            let waiting_for = std::mem::take(&mut slot.waiting_for);
            let new = ComponentStatus {
                waiting_for: if status.phase.is_alive() {
                    Vec::new()
                } else {
                    waiting_for
                },
                ..status
            };
            if *slot == new {
                slot.waiting_for = new.waiting_for;
                return false;
            }
            *slot = new.clone();
            changed = Some(new);
            true
        });
        if let Some(s) = changed {
            let _ = self.events.send(Event::Status(s));
        }
    }
}

/// A process just started, with the tasks reading its output and its probe.
struct Spawned {
    child: Child,
    readers: Vec<JoinHandle<()>>,
    prober: Option<Prober>,
}

/// How soon to probe again: very often in the first seconds (readiness gates the next stage,
/// and most components are up within a few hundred milliseconds), often while still starting,
/// calmly once ready.
fn probe_interval(life: &Lifecycle) -> Duration {
    let uptime = life
        .started_at
        .and_then(|s| s.elapsed().ok())
        .unwrap_or_default();
    match life.phase {
        Phase::Ready => Duration::from_secs(2),
        _ if uptime < Duration::from_secs(2) => Duration::from_millis(50),
        _ if uptime < Duration::from_secs(10) => Duration::from_millis(200),
        _ => Duration::from_secs(1),
    }
}

async fn wait(child: &mut Option<Child>) -> ExitInfo {
    use std::os::unix::process::ExitStatusExt;
    match child {
        Some(c) => match c.wait().await {
            Ok(status) => status
                .code()
                .map(ExitInfo::Code)
                .or_else(|| status.signal().map(ExitInfo::Signal))
                .unwrap_or(ExitInfo::Code(-1)),
            Err(_) => ExitInfo::Code(-1),
        },
        None => std::future::pending().await,
    }
}

async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Reads a pipe line by line (a line longer than the limit is cut into pieces) into the sink.
async fn pump(mut pipe: impl AsyncRead + Unpin, source: Source, sink: LogSink) {
    let mut buf = Vec::with_capacity(8192);
    let mut chunk = [0u8; 8192];
    loop {
        let n = match pipe.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        let mut start = 0;
        while let Some(pos) = buf[start..].iter().position(|b| *b == b'\n') {
            sink.line(source, &buf[start..start + pos]);
            start += pos + 1;
        }
        buf.drain(..start);
        if buf.len() > MAX_LINE_BYTES {
            sink.line(source, &buf);
            buf.clear();
        }
    }
    if !buf.is_empty() {
        sink.line(source, &buf);
    }
}

/// Where a component's output goes: its log file in the data dir and the event stream.
#[derive(Clone)]
struct LogSink {
    unit: Unit,
    // Written from the stdout and stderr readers and the worker; lines are short, so a std Mutex
    // held for one write is cheaper than a writer task.
    file: Arc<Mutex<Option<LogFile>>>,
    events: broadcast::Sender<Event>,
}

struct LogFile {
    path: PathBuf,
    file: std::fs::File,
    written: u64,
}

impl LogSink {
    fn new(unit: Unit, path: PathBuf, events: broadcast::Sender<Event>) -> LogSink {
        let file = LogFile::open(path)
            .map_err(|e| tracing::warn!(?unit, "cannot open log file: {e}"))
            .ok();
        LogSink {
            unit,
            file: Arc::new(Mutex::new(file)),
            events,
        }
    }

    fn line(&self, source: Source, raw: &[u8]) {
        let text = String::from_utf8_lossy(raw);
        self.write_file(&text);
        let _ = self
            .events
            .send(Event::Log(self.unit, LogLine::new(source, text)));
    }

    fn supervisor(&self, text: String) {
        self.write_file(&format!("kwb: {} {text}", humantime_now()));
        let _ = self.events.send(Event::Log(
            self.unit,
            LogLine::new(Source::Supervisor, text),
        ));
    }

    fn write_file(&self, text: &str) {
        let mut guard = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(Err(e)) = guard.as_mut().map(|f| f.write_line(text)) {
            tracing::warn!(unit = ?self.unit, "log file write failed: {e}");
            *guard = None;
        }
    }
}

impl LogFile {
    fn open(path: PathBuf) -> std::io::Result<LogFile> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&path)?;
        let written = file.metadata()?.len();
        Ok(LogFile {
            path,
            file,
            written,
        })
    }

    fn write_line(&mut self, text: &str) -> std::io::Result<()> {
        if self.written > LOG_ROTATE_BYTES {
            let mut old = self.path.clone().into_os_string();
            old.push(".1");
            std::fs::rename(&self.path, old)?;
            *self = LogFile::open(self.path.clone())?;
        }
        self.file.write_all(text.as_bytes())?;
        self.file.write_all(b"\n")?;
        self.written += text.len() as u64 + 1;
        Ok(())
    }
}

/// UTC time as RFC 3339 with milliseconds, for supervisor lines in log files.
fn humantime_now() -> String {
    let now = time::OffsetDateTime::now_utc();
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    now.format(&format).unwrap_or_default()
}
