//! Hosting a local cluster's supervisor in this process (the TUI, or `kwb up`): take the data
//! dir's lock, plan components from the cluster config, and open the control socket.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::mpsc;

use crate::component::{Component, Unit};
use crate::config::Backend;
use crate::control;
use crate::launch::{self, LaunchPlan};
use crate::local::{DataDirLock, LocalCluster};
use crate::supervisor::{self, Planner, Supervisor};

/// Plans each start from the local cluster's config.
pub struct LocalPlanner(pub LocalCluster);

impl Planner for LocalPlanner {
    fn plan(&self, u: Unit) -> Result<LaunchPlan, String> {
        launch::plan(u, &self.0).map_err(|e| e.to_string())
    }

    fn units(&self) -> Vec<Unit> {
        self.0.config.units()
    }

    /// Every kubelet names its node, so a pane and `kwb status` say which node is which.
    fn node_name(&self, u: Unit) -> Option<String> {
        (u.component == Component::Kubelet).then(|| self.0.config.node_name(u.node))
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

    fn log_file(&self, u: Unit) -> PathBuf {
        self.0.data.unit_log(&self.0.config.unit_key(u))
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

/// Hosts the supervisor of a cluster prepared (and locked) by [`LocalCluster::prepare`].
pub fn host(
    cluster: LocalCluster,
    lock: DataDirLock,
    options: supervisor::Options,
) -> anyhow::Result<Hosted> {
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
