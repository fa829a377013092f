//! The control socket: how `kwb start|stop|restart|status|down` reach the supervisor of a
//! cluster, whichever process hosts it (the TUI, `kwb up`, or a detached `kwb up --detach`).
//!
//! A Unix socket in the data dir (0700, so only its owner can connect), one JSON request per
//! line, one JSON response per line.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;

use crate::supervisor::{Command, ComponentStatus, Handle};

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Request {
    Status,
    Command {
        command: Command,
    },
    /// Stop every component and end the hosting process.
    Shutdown,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum Response {
    Status {
        pid: u32,
        statuses: Vec<ComponentStatus>,
    },
    Ok,
    Error {
        message: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error(
        "no kwb supervisor runs for the cluster in {dir}: start one with `kwb up --detach` (or `kwb`)"
    )]
    NotRunning { dir: String },
    #[error("talking to the supervisor at {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the supervisor at {path} sent an answer kwb cannot read: {message}")]
    Protocol { path: String, message: String },
}

/// Binds the control socket, replacing a stale one left by a supervisor that died. The caller
/// must hold the data dir's lock, so a live socket here is never another supervisor's.
pub fn bind(path: &Path) -> std::io::Result<UnixListener> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    UnixListener::bind(path)
}

/// Serves requests until the listener fails. A shutdown request is passed to `shutdown`.
pub async fn serve(listener: UnixListener, handle: Handle, shutdown: mpsc::UnboundedSender<()>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            break;
        };
        let handle = handle.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let response = match serde_json::from_str::<Request>(&line) {
                    Ok(Request::Status) => Response::Status {
                        pid: std::process::id(),
                        statuses: handle.statuses(),
                    },
                    Ok(Request::Command { command }) => {
                        tracing::info!(?command, "control socket command");
                        handle.send(command);
                        Response::Ok
                    }
                    Ok(Request::Shutdown) => {
                        let _ = shutdown.send(());
                        Response::Ok
                    }
                    Err(e) => Response::Error {
                        message: format!("bad request: {e}"),
                    },
                };
                let mut out = serde_json::to_string(&response).unwrap_or_default();
                out.push('\n');
                if write.write_all(out.as_bytes()).await.is_err() {
                    break;
                }
            }
        });
    }
}

/// A client of a cluster's control socket.
pub struct Client {
    path: PathBuf,
    dir: PathBuf,
}

impl Client {
    pub fn new(socket: PathBuf, data_dir: &Path) -> Client {
        Client {
            path: socket,
            dir: data_dir.to_owned(),
        }
    }

    pub async fn request(&self, request: &Request) -> Result<Response, ControlError> {
        let io = |source| ControlError::Io {
            path: self.path.display().to_string(),
            source,
        };
        let stream = match UnixStream::connect(&self.path).await {
            Ok(s) => s,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                ) =>
            {
                return Err(ControlError::NotRunning {
                    dir: self.dir.display().to_string(),
                });
            }
            Err(e) => return Err(io(e)),
        };
        let (read, mut write) = stream.into_split();
        let mut line = serde_json::to_string(request).expect("requests always serialise");
        line.push('\n');
        write.write_all(line.as_bytes()).await.map_err(io)?;
        let mut lines = BufReader::new(read).lines();
        let answer = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .map_err(|_| io(std::io::Error::other("no answer within 10 s")))?
            .map_err(io)?
            .ok_or_else(|| {
                io(std::io::Error::other(
                    "the supervisor closed the connection",
                ))
            })?;
        serde_json::from_str(&answer).map_err(|e| ControlError::Protocol {
            path: self.path.display().to_string(),
            message: e.to_string(),
        })
    }

    pub async fn statuses(&self) -> Result<(u32, Vec<ComponentStatus>), ControlError> {
        match self.request(&Request::Status).await? {
            Response::Status { pid, statuses } => Ok((pid, statuses)),
            other => Err(ControlError::Protocol {
                path: self.path.display().to_string(),
                message: format!("expected a status, got {other:?}"),
            }),
        }
    }
}
