//! Hosting a local cluster's supervisor in this process (the TUI, or `kwb up`): take the data
//! dir's lock, plan components from the cluster config, and open the control socket.

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::mpsc;

use crate::component::Component;
use crate::config::Backend;
use crate::control;
use crate::launch::{self, LaunchPlan};
use crate::local::LocalCluster;
use crate::supervisor::{self, Planner, Supervisor};

/// Plans each start from the local cluster's config.
pub struct LocalPlanner(pub LocalCluster);

impl Planner for LocalPlanner {
    fn plan(&self, c: Component) -> Result<LaunchPlan, String> {
        launch::plan(c, &self.0).map_err(|e| e.to_string())
    }

    fn backend_label(&self, c: Component) -> String {
        let cc = self.0.config.components.get(c);
        match cc.backend {
            Backend::Builtin => "builtin".to_string(),
            Backend::Binary => match launch::plan(c, &self.0) {
                Ok(plan) => format!("binary {}", plan.program.display()),
                Err(_) => format!("binary {} (not found)", c.upstream_binary()),
            },
        }
    }

    fn log_file(&self, c: Component) -> PathBuf {
        self.0.data.component_log(c)
    }
}

/// The exclusive lock on a data dir: one supervisor per cluster. Released when dropped (or
/// when the process dies, since it is an flock).
pub struct DataDirLock(#[allow(dead_code)] File);

impl DataDirLock {
    pub fn acquire(cluster: &LocalCluster) -> anyhow::Result<DataDirLock> {
        use std::os::fd::AsRawFd;
        let path = cluster.data.lock_file();
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        // SAFETY: flock on a valid descriptor we own; no memory is involved.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let pid = std::fs::read_to_string(cluster.data.pid_file()).unwrap_or_default();
            anyhow::bail!(
                "a kwb supervisor{} already runs the cluster in {}: stop it with `kwb down --data-dir {}`, or use another --data-dir",
                if pid.trim().is_empty() {
                    String::new()
                } else {
                    format!(" (pid {})", pid.trim())
                },
                cluster.data.root().display(),
                cluster.data.root().display(),
            );
        }
        std::fs::write(cluster.data.pid_file(), format!("{}\n", std::process::id()))
            .with_context(|| format!("cannot write {}", cluster.data.pid_file().display()))?;
        Ok(DataDirLock(file))
    }
}

/// A supervisor running in this process, reachable through the control socket.
pub struct Hosted {
    pub supervisor: Supervisor,
    /// Receives a request (from `kwb down`) to stop everything and end.
    pub shutdown_requests: mpsc::UnboundedReceiver<()>,
    /// Held for as long as the supervisor runs.
    pub lock: DataDirLock,
}

pub fn host(cluster: LocalCluster, options: supervisor::Options) -> anyhow::Result<Hosted> {
    let lock = DataDirLock::acquire(&cluster)?;
    let socket = cluster.data.control_socket();
    let listener = control::bind(&socket)
        .with_context(|| format!("cannot open the control socket {}", socket.display()))?;
    let supervisor = Supervisor::start(Arc::new(LocalPlanner(cluster)), options);
    let (tx, shutdown_requests) = mpsc::unbounded_channel();
    tokio::spawn(control::serve(listener, supervisor.handle(), tx));
    Ok(Hosted {
        supervisor,
        shutdown_requests,
        lock,
    })
}
