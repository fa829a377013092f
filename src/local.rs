//! A local cluster made ready to run: its config, data dir, ports and PKI resolved once.
//!
//! `prepare` is what `kwb`, `kwb up` and `kwb up --detach --no-start` all do first: create the
//! data dir, pick ports, make (or reuse) certificates and kubeconfigs. Nothing is started.

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
    /// Resolves ports and ensures PKI and kubeconfigs in the config's data dir.
    pub fn prepare(config: ClusterConfig) -> anyhow::Result<LocalCluster> {
        let data = DataDir::new(config.data_dir());
        data.create()
            .with_context(|| format!("cannot create data dir {}", data.root().display()))?;
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
        Ok(cluster)
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
