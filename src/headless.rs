//! The control plane without the TUI: `kwb up [--detach] [--no-start]`, `kwb down`,
//! `kwb start|stop|restart NAME`, `kwb status`, `kwb logs NAME [-f]`.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::component::{Component, Target};
use crate::config::ClusterConfig;
use crate::control::{Client, ControlError, Request, Response};
use crate::host;
use crate::layout::DataDir;
use crate::local::{DataDirLock, LocalCluster};
use crate::supervisor::lifecycle::Phase;
use crate::supervisor::{self, Command, ComponentStatus, Event};

/// How long `kwb up --detach` and `kwb start` wait for readiness before giving up.
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// `kwb up` in the foreground: start, report, wait for Ctrl-C or `kwb down`, stop everything.
pub async fn up(cluster: LocalCluster, lock: DataDirLock, start: bool) -> anyhow::Result<()> {
    let data = cluster.data.clone();
    let mut hosted = host::host(cluster, lock, supervisor::Options::default())?;
    let handle = hosted.supervisor.handle();
    let mut events = handle.subscribe();
    println!(
        "kwb: supervisor pid {} for the cluster in {}",
        std::process::id(),
        data.root().display()
    );
    if start {
        handle.send(Command::StartAll);
        println!("kwb: starting etcd → apiserver → controller-manager, scheduler → kubelet, proxy");
    } else {
        println!(
            "kwb: nothing started; start components with `kwb start NAME --data-dir {}`",
            data.root().display()
        );
        print_kubeconfig(&data);
    }
    let mut announced_ready = !start;
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = sigterm.recv() => break,
            _ = hosted.shutdown_requests.recv() => break,
            ev = events.recv() => match ev {
                Ok(Event::Status(s)) => {
                    println!("kwb: {:<18} {}", s.label(), describe(&s));
                    if !announced_ready && handle.statuses().iter().all(|s| s.phase == Phase::Ready) {
                        announced_ready = true;
                        println!("kwb: all components ready");
                        print_kubeconfig(&data);
                    }
                }
                Ok(Event::Log(..)) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            },
        }
    }
    println!("kwb: stopping every component");
    let host::Hosted {
        supervisor, lock, ..
    } = hosted;
    supervisor.shutdown().await;
    drop(lock);
    println!("kwb: stopped");
    Ok(())
}

/// `kwb up --detach`: run `kwb up` as a daemon in its own session, return once it is ready.
pub async fn up_detached(data: &DataDir, forward: &[String], start: bool) -> anyhow::Result<()> {
    let client = Client::new(data.control_socket(), data.root());
    if client.statuses().await.is_ok() {
        bail!(
            "a kwb supervisor already runs the cluster in {}: `kwb status --data-dir {0}` shows it",
            data.root().display()
        );
    }
    let out_path = data.root().join("supervisor.out");
    let out = std::fs::File::create(&out_path)
        .with_context(|| format!("cannot create {}", out_path.display()))?;
    let mut cmd = std::process::Command::new(std::env::current_exe()?);
    cmd.arg("up").args(forward);
    if !start {
        cmd.arg("--no-start");
    }
    cmd.stdin(std::process::Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out);
    // SAFETY: setsid is async-signal-safe; the daemon leaves our session so closing this
    // terminal does not end it.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .context("cannot start the kwb supervisor daemon")?;
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait()? {
            let tail = std::fs::read_to_string(&out_path).unwrap_or_default();
            bail!(
                "the kwb supervisor exited ({status}) before it was ready:\n{}",
                tail.trim_end()
            );
        }
        if let Ok((pid, statuses)) = client.statuses().await {
            if !start {
                println!(
                    "kwb: supervisor pid {pid} runs the cluster in {}; nothing started",
                    data.root().display()
                );
                break;
            }
            if statuses.iter().all(|s| s.phase == Phase::Ready) {
                println!("kwb: supervisor pid {pid}: all components ready");
                break;
            }
            if Instant::now() > deadline {
                print_statuses(&statuses);
                bail!(
                    "not every component became ready within {} s; the supervisor keeps running: see `kwb logs NAME`, stop it with `kwb down`",
                    READY_TIMEOUT.as_secs()
                );
            }
        } else if Instant::now() > deadline {
            bail!(
                "the kwb supervisor did not answer within {} s; see {}",
                READY_TIMEOUT.as_secs(),
                out_path.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    print_kubeconfig(data);
    Ok(())
}

pub async fn down(data: &DataDir) -> anyhow::Result<()> {
    let client = Client::new(data.control_socket(), data.root());
    let pid = match client.statuses().await {
        Ok((pid, _)) => pid,
        Err(ControlError::NotRunning { .. }) => {
            println!(
                "kwb: nothing runs for the cluster in {}",
                data.root().display()
            );
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    client.request(&Request::Shutdown).await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    // The supervisor ends once every component has stopped.
    while process_alive(pid) {
        if Instant::now() > deadline {
            bail!("the supervisor (pid {pid}) is still stopping after 60 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("kwb: stopped the cluster in {}", data.root().display());
    Ok(())
}

/// What `kwb start|stop|restart` asks of a component.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    Start,
    Stop,
    Restart,
}

/// `kwb start|stop|restart NAME [--node NODE]`: send the command, then wait for its outcome
/// (on every unit it aims at: each node's kubelet) unless told not to.
pub async fn act(
    data: &DataDir,
    verb: Verb,
    c: Component,
    node: Option<&str>,
    wait: bool,
) -> anyhow::Result<()> {
    let client = Client::new(data.control_socket(), data.root());
    let (_, statuses) = client.statuses().await?;
    let target = resolve_target(&statuses, c, node)?;
    let slots: Vec<usize> = (0..statuses.len())
        .filter(|i| target.matches(statuses[*i].unit()))
        .collect();
    // A restart is done when a new process is ready, not the old one: note the old pids before
    // asking, since a quick restart may have replaced them by the time we look again.
    let old_pids: Vec<Option<u32>> = slots.iter().map(|i| statuses[*i].pid).collect();
    let command = match verb {
        Verb::Start => Command::Start(target),
        Verb::Stop => Command::Stop(target),
        Verb::Restart => Command::Restart(target),
    };
    match client.request(&Request::Command { command }).await? {
        Response::Ok => {}
        Response::Error { message } => bail!("the supervisor refused: {message}"),
        other => bail!("unexpected answer from the supervisor: {other:?}"),
    }
    if !wait {
        return Ok(());
    }
    let want_ready = verb != Verb::Stop;
    let deadline = Instant::now() + READY_TIMEOUT;
    let mut done = vec![false; slots.len()];
    while done.iter().any(|d| !d) {
        let (_, statuses) = client.statuses().await?;
        for (k, i) in slots.iter().enumerate() {
            if done[k] {
                continue;
            }
            let s = &statuses[*i];
            let name = s.label();
            let new_process = verb != Verb::Restart || s.pid != old_pids[k];
            if (want_ready && s.phase == Phase::Ready && new_process)
                || (!want_ready && !s.phase.is_alive())
            {
                println!("{name}: {}", describe(s));
                done[k] = true;
                continue;
            }
            if want_ready && s.phase == Phase::Crashed {
                bail!("{name}: {}", describe(s));
            }
            // Three crashes in a row: report it rather than wait out the timeout. The
            // supervisor keeps restarting it, so it recovers once, say, its dependency is up.
            if want_ready && s.crash_loop >= 3 {
                bail!(
                    "{name} is in a crash loop ({} crashes in a row; the supervisor keeps restarting it): {}; see `kwb logs {c}`",
                    s.crash_loop,
                    describe(s)
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "{name} is not {} after {} s: {}",
                    if want_ready { "ready" } else { "stopped" },
                    READY_TIMEOUT.as_secs(),
                    describe(s)
                );
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// The units `--node` picks: one node's kubelet, or without it every unit of the component.
fn resolve_target(
    statuses: &[ComponentStatus],
    c: Component,
    node: Option<&str>,
) -> anyhow::Result<Target> {
    let Some(node) = node else {
        return Ok(Target::from(c));
    };
    per_node_only(c)?;
    let kubelets: Vec<&ComponentStatus> = statuses.iter().filter(|s| s.component == c).collect();
    match kubelets
        .iter()
        .find(|s| s.node_name.as_deref() == Some(node))
    {
        Some(s) => Ok(Target::from(s.unit())),
        None => {
            let names: Vec<&str> = kubelets
                .iter()
                .filter_map(|s| s.node_name.as_deref())
                .collect();
            bail!(
                "no node {node:?} in this cluster; its nodes are: {} (more with `kwb up --nodes N`)",
                names.join(", ")
            )
        }
    }
}

pub async fn status(data: &DataDir, json: bool) -> anyhow::Result<()> {
    let client = Client::new(data.control_socket(), data.root());
    let (pid, statuses) = client.statuses().await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&statuses)?);
    } else {
        println!("supervisor pid {pid} · data dir {}", data.root().display());
        print_statuses(&statuses);
    }
    Ok(())
}

/// `--node` is for the one component that runs per node.
fn per_node_only(c: Component) -> anyhow::Result<()> {
    if c != Component::Kubelet {
        bail!("--node picks one node's kubelet; {c} runs once for the whole cluster");
    }
    Ok(())
}

/// `kwb logs NAME [--node NODE] [-f]`: the component's log file (a node's kubelet's with
/// `--node`), followed across rotations with -f.
pub async fn logs(
    config: &ClusterConfig,
    c: Component,
    node: Option<&str>,
    follow: bool,
) -> anyhow::Result<()> {
    let data = DataDir::new(config.data_dir());
    let path = match node {
        None => data.component_log(c),
        Some(n) => {
            per_node_only(c)?;
            let unit = config.kubelet_of(n).with_context(|| {
                format!(
                    "no node {n:?} in a cluster named {}: its nodes are {}-control-plane, {0}-worker, {0}-worker2, …",
                    config.name, config.name
                )
            })?;
            data.unit_log(&config.unit_key(unit))
        }
    };
    let mut file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && follow => {
            wait_for_file(&path).await?
        }
        Err(e) => {
            return Err(e).with_context(|| {
                format!("no log for {c} at {}: has it ever run?", path.display())
            });
        }
    };
    let mut stdout = std::io::stdout().lock();
    std::io::copy(&mut file, &mut stdout)?;
    stdout.flush()?;
    if !follow {
        return Ok(());
    }
    drop(stdout);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n > 0 {
            let mut out = std::io::stdout().lock();
            out.write_all(&buf[..n])?;
            out.flush()?;
            continue;
        }
        // Rotated (moved aside and recreated) or truncated: start over from the new file.
        let pos = file.stream_position()?;
        let current = inode(&file.metadata()?);
        let rotated = std::fs::metadata(&path)
            .map(|m| m.len() < pos || inode(&m) != current)
            .unwrap_or(false);
        if rotated {
            file = std::fs::File::open(&path)?;
            continue;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn inode(m: &std::fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(m)
}

async fn wait_for_file(path: &Path) -> anyhow::Result<std::fs::File> {
    loop {
        if let Ok(f) = std::fs::File::open(path) {
            return Ok(f);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn process_alive(pid: u32) -> bool {
    // SAFETY: kill with signal 0 only checks that the process exists.
    libc::pid_t::try_from(pid).is_ok_and(|p| unsafe { libc::kill(p, 0) } == 0)
}

/// One line about a component's state, for terminals and scripts.
pub fn describe(s: &ComponentStatus) -> String {
    let mut parts = vec![s.phase.label().to_string()];
    if let Some(pid) = s.pid {
        parts.push(format!("pid {pid}"));
    }
    if let Some(e) = s.last_exit {
        parts.push(format!("last exit {e}"));
    }
    if s.restarts > 0 {
        parts.push(format!("restarts {}", s.restarts));
    }
    if !s.waiting_for.is_empty() {
        let w: Vec<_> = s.waiting_for.iter().map(|c| c.name()).collect();
        parts.push(format!("waiting for {}", w.join(", ")));
    }
    if let Some(m) = &s.message {
        parts.push(m.clone());
    }
    match &s.probe {
        Some(Ok(d)) => parts.push(d.clone()),
        Some(Err(e)) => parts.push(format!("probe: {e}")),
        None => {}
    }
    parts.join(" · ")
}

fn print_statuses(statuses: &[ComponentStatus]) {
    println!(
        "{:<28} {:<12} {:>8} {:>9} {:>8} {:<12} BACKEND / PROBE",
        "COMPONENT", "STATE", "PID", "UPTIME", "RESTARTS", "LAST EXIT"
    );
    for s in statuses {
        let uptime = s
            .started_at
            .and_then(|t| t.elapsed().ok())
            .map_or("-".to_string(), |d| format!("{}s", d.as_secs()));
        let probe = match &s.probe {
            Some(Ok(d)) => d.clone(),
            Some(Err(e)) => format!("failing: {e}"),
            None => s.message.clone().unwrap_or_default(),
        };
        println!(
            "{:<28} {:<12} {:>8} {:>9} {:>8} {:<12} {} {}",
            s.label(),
            s.phase.label(),
            s.pid.map_or("-".to_string(), |p| p.to_string()),
            uptime,
            s.restarts,
            s.last_exit.map_or("-".to_string(), |e| e.to_string()),
            s.backend,
            probe
        );
    }
}

fn print_kubeconfig(data: &DataDir) {
    let path: PathBuf = data.admin_kubeconfig();
    println!("kwb: admin kubeconfig {}", path.display());
    println!("export KUBECONFIG={}", path.display());
}
