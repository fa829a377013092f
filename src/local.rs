//! A local cluster made ready to run: its config, data dir, ports and PKI resolved once.
//!
//! `prepare` is what `kwb`, `kwb up` and `kwb up --detach --no-start` all do first: create the
//! data dir, pick ports, make (or reuse) certificates and kubeconfigs. Nothing is started.

use std::fs::File;
use std::path::PathBuf;

use anyhow::Context;

use crate::config::ClusterConfig;
use crate::layout::DataDir;
use crate::pki;
use crate::ports::Ports;

#[derive(Clone, Debug)]
pub struct LocalCluster {
    pub config: ClusterConfig,
    pub data: DataDir,
    pub ports: Ports,
    /// This very program: builtin components run as `<kwb_exe> component <name>`.
    pub kwb_exe: PathBuf,
}

impl LocalCluster {
    /// Takes the data dir's lock, then resolves ports and ensures PKI and kubeconfigs. The lock
    /// comes first: ports in use by a cluster that is already running must not be re-picked.
    pub fn prepare(config: ClusterConfig) -> anyhow::Result<(LocalCluster, DataDirLock)> {
        let data = DataDir::new(config.data_dir());
        data.create()
            .with_context(|| format!("cannot create data dir {}", data.root().display()))?;
        let lock = DataDirLock::acquire(&data)?;
        let recorded = Ports::load_recorded(&data.ports_file());
        let ports = Ports::resolve_on_loopback(&config, &recorded)?;
        ports.save(&data.ports_file())?;
        let kwb_exe = std::env::current_exe().context("cannot find kwb's own executable")?;
        let cluster = LocalCluster {
            config,
            data,
            ports,
            kwb_exe,
        };
        pki::ensure(&cluster.data, &cluster.pki_spec())
            .context("cannot prepare the cluster PKI")?;
        Ok((cluster, lock))
    }

    /// The cluster as it was last prepared, for commands beside a running supervisor (no
    /// lock taken, ports as recorded, PKI not touched).
    pub fn existing(config: ClusterConfig) -> anyhow::Result<LocalCluster> {
        let data = DataDir::new(config.data_dir());
        if !data.ports_file().exists() {
            anyhow::bail!(
                "no cluster in {}: set it up first with `kwb up`",
                data.root().display()
            );
        }
        let ports = Ports::load_recorded(&data.ports_file());
        let kwb_exe = std::env::current_exe().context("cannot find kwb's own executable")?;
        Ok(LocalCluster {
            config,
            data,
            ports,
            kwb_exe,
        })
    }

    pub fn apiserver_url(&self) -> String {
        format!(
            "https://127.0.0.1:{}",
            self.ports
                .get(crate::component::Component::Apiserver, "secure")
        )
    }

    pub fn etcd_client_url(&self) -> String {
        format!(
            "https://127.0.0.1:{}",
            self.ports.get(crate::component::Component::Etcd, "client")
        )
    }

    pub fn pki_spec(&self) -> pki::PkiSpec {
        pki::PkiSpec {
            cluster_name: self.config.name.clone(),
            apiserver_url: self.apiserver_url(),
            kubernetes_service_ip: self.config.kubernetes_service_ip(),
            node_names: self.config.node_names(),
        }
    }
}

/// The exclusive lock on a data dir: one supervisor per cluster. Released when dropped (or
/// when the process dies, since it is an flock).
pub struct DataDirLock(#[allow(dead_code)] File);

impl DataDirLock {
    pub fn acquire(data: &DataDir) -> anyhow::Result<DataDirLock> {
        use std::os::fd::AsRawFd;
        let path = data.lock_file();
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        // SAFETY: flock on a valid descriptor we own; no memory is involved.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let pid = std::fs::read_to_string(data.pid_file()).unwrap_or_default();
            anyhow::bail!(
                "a kwb supervisor{} already runs the cluster in {}: stop it with `kwb down --data-dir {}`, or use another --data-dir",
                if pid.trim().is_empty() {
                    String::new()
                } else {
                    format!(" (pid {})", pid.trim())
                },
                data.root().display(),
                data.root().display(),
            );
        }
        std::fs::write(data.pid_file(), format!("{}\n", std::process::id()))
            .with_context(|| format!("cannot write {}", data.pid_file().display()))?;
        Ok(DataDirLock(file))
    }
}
