//! What the builtin API clients — controller-manager and scheduler now, kubelet and proxy
//! later — share: a client from their kubeconfig, the HTTPS health endpoint of their secure
//! port, leader election through a Lease, and Events in upstream's form.

pub mod correlate;
pub mod credentials;
pub mod events;
pub mod healthz;
pub mod leader;
pub mod store;

use std::path::Path;
use std::time::Duration;

use anyhow::Context;

/// A client from a kubeconfig file, as `--kubeconfig` names it.
pub async fn client(kubeconfig: &Path) -> anyhow::Result<kube::Client> {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig)
        .with_context(|| format!("reading --kubeconfig {}", kubeconfig.display()))?;
    let mut config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .with_context(|| format!("using --kubeconfig {}", kubeconfig.display()))?;
    // Watches are long requests; the default read timeout would cut them.
    config.read_timeout = Some(Duration::from_secs(300));
    Ok(kube::Client::try_from(config)?)
}

/// This process's identity in Leases and Events: `<host>_<random>`, as upstream's.
pub fn identity() -> String {
    format!("{}_{}", hostname(), crate::apiserver::strategy::new_uid())
}

/// The machine's name (Linux), or `localhost`.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}
