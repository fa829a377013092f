//! The process runtime, opt-in per node (`processRuntime:` in kwb.yaml, the kubelet's
//! `--process-runtime`): a container whose spec gives a `command` runs as a host process,
//! with `command` + `args` (`$(VAR)` expanded as upstream), the container's env (values and
//! the downward API's fieldRefs) plus HOSTNAME, in its `workingDir` or the pod's work dir.
//! Its real stdout and stderr are the container's log and its real exit code ends the run;
//! exec probes and exec hooks run on the host with the same env.
//!
//! Off by default because it executes whatever a pod spec says, with the kubelet's rights.
//! There is no isolation: the process shares the host's network (it should bind the pod IP,
//! `$(POD_IP)` from a fieldRef, to be reachable as the pod), filesystem and users.

use std::collections::HashMap;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Pod};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::sync::{mpsc, watch};

use super::probe::Target;
use super::sim::Log;
use crate::supervisor::process::{own_group_dying_with_parent, signal_group};

/// A host process's end, for the pod worker: its exit code, or why it never started.
#[derive(Debug)]
pub struct Exit {
    pub target: Target,
    pub code: i32,
    pub error: Option<String>,
}

/// What a container's commands (its own, its exec probes and hooks) run with.
#[derive(Clone, Debug)]
pub struct Exec {
    pub env: Vec<(String, String)>,
    pub dir: PathBuf,
}

impl Exec {
    /// The environment of `container` of `pod` and where it runs: its `workingDir`, else
    /// `work_dir` (the pod's, shared by its containers like an emptyDir).
    pub fn new(pod: &Pod, container: &Container, ips: &Ips, work_dir: &Path) -> Exec {
        Exec {
            env: environment(pod, container, ips),
            dir: container
                .working_dir
                .as_ref()
                .map_or_else(|| work_dir.to_path_buf(), PathBuf::from),
        }
    }

    fn lookup(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn command(&self, argv: &[String]) -> Result<Command, String> {
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| "no command to run".to_string())?;
        if !self.dir.is_dir() {
            return Err(format!(
                "chdir to cwd ({:?}) set in config.json failed: no such file or directory",
                self.dir.display().to_string()
            ));
        }
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Its own process group, so a stop reaches what it forked; it dies with the kubelet
        // as the sim's containers do (they are the kubelet's tasks).
        own_group_dying_with_parent(&mut cmd);
        Ok(cmd)
    }
}

/// The node's and the pod's IP (the pod's is known to the runtime before its status says so).
pub struct Ips<'a> {
    pub host: &'a str,
    pub pod: &'a str,
}

/// The variables a container sees: PATH (the host's, so its commands resolve), HOSTNAME (the
/// pod's name, as in a container), then its `env` in order, each `$(VAR)` in a value expanded
/// from those before. fieldRefs of the downward API resolve; configMap, secret and resource
/// references need objects the runtime does not fetch and are left out.
pub fn environment(pod: &Pod, container: &Container, ips: &Ips) -> Vec<(String, String)> {
    let mut env = vec![
        (
            "PATH".to_string(),
            std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into()),
        ),
        (
            "HOSTNAME".to_string(),
            pod.metadata.name.clone().unwrap_or_default(),
        ),
    ];
    for var in container.env.iter().flatten() {
        let value = match (&var.value, &var.value_from) {
            (Some(v), _) => {
                let known: HashMap<&str, &str> =
                    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                expand(v, |name| known.get(name).map(|v| v.to_string()))
            }
            (None, Some(from)) => match from.field_ref.as_ref() {
                Some(field) => match field_value(pod, &field.field_path, ips) {
                    Some(v) => v,
                    None => continue,
                },
                None => continue,
            },
            (None, None) => String::new(),
        };
        env.push((var.name.clone(), value));
    }
    env
}

/// A downward-API field of the pod, as upstream resolves `fieldRef.fieldPath`.
fn field_value(pod: &Pod, path: &str, ips: &Ips) -> Option<String> {
    let m = &pod.metadata;
    let keyed = |prefix: &str, map: Option<&std::collections::BTreeMap<String, String>>| {
        let key = path.strip_prefix(prefix)?.strip_suffix("']")?;
        Some(map?.get(key).cloned().unwrap_or_default())
    };
    match path {
        "metadata.name" => m.name.clone(),
        "metadata.namespace" => m.namespace.clone(),
        "metadata.uid" => m.uid.clone(),
        "spec.nodeName" => pod.spec.as_ref()?.node_name.clone(),
        "spec.serviceAccountName" => pod.spec.as_ref()?.service_account_name.clone(),
        "status.hostIP" | "status.hostIPs" => Some(ips.host.to_string()),
        "status.podIP" | "status.podIPs" => Some(ips.pod.to_string()),
        _ => keyed("metadata.labels['", m.labels.as_ref())
            .or_else(|| keyed("metadata.annotations['", m.annotations.as_ref())),
    }
}

/// Upstream's `$(VAR)` expansion of commands, args and env values: a known variable is
/// replaced, an unknown one left as written, `$$` is a literal `$` (so `$$(VAR)` stays
/// `$(VAR)`).
pub fn expand(text: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(tail) = after.strip_prefix('(')
            && let Some(close) = tail.find(')')
        {
            let name = &tail[..close];
            match lookup(name) {
                Some(value) => out.push_str(&value),
                None => {
                    out.push_str("$(");
                    out.push_str(name);
                    out.push(')');
                }
            }
            rest = &tail[close + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The command line of `container`: its `command` then `args`, expanded; None without a
/// `command` (the image's entrypoint is unknown on the host: such a container stays simulated).
pub fn argv(container: &Container, exec: &Exec) -> Option<Vec<String>> {
    let command = container.command.as_ref().filter(|c| !c.is_empty())?;
    let lookup = |name: &str| exec.lookup(name).map(str::to_string);
    Some(
        command
            .iter()
            .chain(container.args.iter().flatten())
            .map(|a| expand(a, lookup))
            .collect(),
    )
}

/// A container's process while it runs.
pub struct Running {
    pid: u32,
    exited: watch::Receiver<bool>,
}

impl Running {
    /// Stops it as a container runtime does: SIGTERM to its process group, SIGKILL if it has
    /// not exited after `grace`.
    pub async fn stop(mut self, grace: Duration) {
        if *self.exited.borrow() {
            return;
        }
        signal_group(self.pid, libc::SIGTERM);
        let exited = self.exited.wait_for(|e| *e);
        if tokio::time::timeout(grace, exited).await.is_err() {
            signal_group(self.pid, libc::SIGKILL);
        }
    }

    /// A handle on the same process, for a stop that happens elsewhere (a graceful deletion).
    pub fn watch(&self) -> Running {
        Running {
            pid: self.pid,
            exited: self.exited.clone(),
        }
    }
}

impl Drop for Running {
    /// A handle let go of while its process still runs (the pod force-deleted, the kubelet
    /// stopping, a graceful stop at its end) takes the process with it.
    fn drop(&mut self) {
        if !*self.exited.borrow() {
            signal_group(self.pid, libc::SIGKILL);
        }
    }
}

/// Starts `argv` as the container's run `target`, its output going to `log`; its end is sent
/// on `exits` (also when it cannot start: upstream's StartError, exit code 128).
pub fn start(
    argv: &[String],
    exec: &Exec,
    target: &Target,
    log: &Log,
    exits: &mpsc::UnboundedSender<Exit>,
) -> Option<Running> {
    let spawned = exec.command(argv).and_then(|mut cmd| {
        cmd.spawn()
            .map_err(|e| start_error(argv.first().map_or("", String::as_str), &e))
    });
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => {
            let _ = exits.send(Exit {
                target: target.clone(),
                code: 128,
                error: Some(error),
            });
            return None;
        }
    };
    let pid = child.id()?;
    let out = child
        .stdout
        .take()
        .map(|s| tokio::spawn(copy_lines(s, "stdout", log.clone())));
    let err = child
        .stderr
        .take()
        .map(|s| tokio::spawn(copy_lines(s, "stderr", log.clone())));
    let (done, exited) = watch::channel(false);
    let (target, exits) = (target.clone(), exits.clone());
    tokio::spawn(async move {
        let status = child.wait().await;
        // What it forked goes with it, as a container's processes go with its PID 1.
        signal_group(pid, libc::SIGKILL);
        let readers = futures::future::join_all(out.into_iter().chain(err));
        let _ = tokio::time::timeout(Duration::from_secs(1), readers).await;
        let _ = done.send(true);
        let code = match status {
            Ok(s) => s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(9)),
            Err(_) => 137,
        };
        let _ = exits.send(Exit {
            target,
            code,
            error: None,
        });
    });
    Some(Running { pid, exited })
}

/// The start error as runc words it (the part users search for).
fn start_error(program: &str, e: &std::io::Error) -> String {
    let why = match e.kind() {
        std::io::ErrorKind::NotFound if !program.contains('/') => {
            "executable file not found in $PATH".to_string()
        }
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    };
    format!("failed to start container process: exec: {program:?}: {why}")
}

/// Copies `stream`'s lines to the log as CRI lines of that stream.
async fn copy_lines(reader: impl AsyncRead + Unpin, stream: &'static str, log: Log) {
    let mut reader = BufReader::new(reader);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                log.write(stream, text.strip_suffix('\n').unwrap_or(&text));
            }
        }
    }
}

/// Runs `argv` with the container's env and dir for at most `timeout` (an exec probe or
/// hook): Ok with its output when it exits 0, else Err with upstream's words.
pub async fn exec(argv: &[String], exec: &Exec, timeout: Duration) -> Result<String, String> {
    let mut cmd = exec.command(argv)?;
    cmd.kill_on_drop(true);
    let command = argv.join(" ");
    let child = cmd
        .spawn()
        .map_err(|e| start_error(argv.first().map_or("", String::as_str), &e))?;
    let pid = child.id();
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Err(_) => {
            if let Some(pid) = pid {
                signal_group(pid, libc::SIGKILL);
            }
            Err(format!(
                "command \"{command}\" timed out after {}s",
                timeout.as_secs()
            ))
        }
        Ok(Err(e)) => Err(e.to_string()),
        Ok(Ok(out)) => {
            let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&out.stderr));
            if out.status.success() {
                Ok(text)
            } else {
                let code = out
                    .status
                    .code()
                    .unwrap_or_else(|| 128 + out.status.signal().unwrap_or(9));
                Err(if text.trim().is_empty() {
                    format!("command \"{command}\" exited with {code}")
                } else {
                    text.trim_end().to_string()
                })
            }
        }
    }
}

#[cfg(test)]
mod tests;
