//! Where everything lives in a cluster's data dir. One place names every path, so the
//! supervisor, the PKI, the headless commands and the tests agree.
//!
//! ```text
//! <data>/                      0700
//!   kwb.lock                   held (flock) by the one supervisor of this data dir
//!   supervisor.sock            control socket of a detached supervisor (`kwb up --detach`)
//!   supervisor.pid
//!   ports.yaml                 ports picked for this cluster, reused on the next start
//!   kwb.log                    kwb's own log (tracing)
//!   pki/                       CA, serving and client certs, service-account keys (0600)
//!   kubeconfig/<user>.kubeconfig
//!   logs/<component>.log       each component's stdout+stderr
//!   config/                    files generated for components (kubelet.yaml, proxy.yaml)
//!   etcd/ kubelet/ …           each component's own state
//! ```

use std::path::{Path, PathBuf};

use crate::component::Component;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> DataDir {
        DataDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn lock_file(&self) -> PathBuf {
        self.root.join("kwb.lock")
    }
    pub fn control_socket(&self) -> PathBuf {
        self.root.join("supervisor.sock")
    }
    pub fn pid_file(&self) -> PathBuf {
        self.root.join("supervisor.pid")
    }
    pub fn ports_file(&self) -> PathBuf {
        self.root.join("ports.yaml")
    }
    pub fn kwb_log(&self) -> PathBuf {
        self.root.join("kwb.log")
    }
    pub fn pki_dir(&self) -> PathBuf {
        self.root.join("pki")
    }
    pub fn kubeconfig_dir(&self) -> PathBuf {
        self.root.join("kubeconfig")
    }
    /// The kubeconfig of a client identity, e.g. `admin`, `controller-manager`.
    pub fn kubeconfig(&self, user: &str) -> PathBuf {
        self.kubeconfig_dir().join(format!("{user}.kubeconfig"))
    }
    /// The kubeconfig a user of the cluster wants: cluster-admin rights.
    pub fn admin_kubeconfig(&self) -> PathBuf {
        self.kubeconfig("admin")
    }
    pub fn logs_dir(&self) -> PathBuf {
        self.root.join("logs")
    }
    pub fn component_log(&self, c: Component) -> PathBuf {
        self.unit_log(c.name())
    }
    /// The log of a unit by its key (`ClusterConfig::unit_key`): `kubelet-<node>.log` for the
    /// kubelets after the first.
    pub fn unit_log(&self, key: &str) -> PathBuf {
        self.logs_dir().join(format!("{key}.log"))
    }
    /// Config files kwb writes for components (kubelet and kube-proxy take YAML configs).
    pub fn generated_config_dir(&self) -> PathBuf {
        self.root.join("config")
    }
    /// A component's own persistent state (etcd's data, the kubelet's root dir).
    pub fn state_dir(&self, c: Component) -> PathBuf {
        self.unit_state_dir(c.name())
    }
    /// A unit's own state by its key: each node's kubelet has its root dir.
    pub fn unit_state_dir(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    /// Creates the data dir (0700) and its subdirectories.
    pub fn create(&self) -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        for d in [
            self.root.clone(),
            self.pki_dir(),
            self.kubeconfig_dir(),
            self.logs_dir(),
            self.generated_config_dir(),
        ] {
            std::fs::create_dir_all(&d)?;
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(())
    }
}
