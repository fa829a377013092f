//! Reaching a cluster the standard way: a kubeconfig (`--attach FILE`, else KUBECONFIG with
//! its several files merged, else ~/.kube/config), a context (`--context`, else the current
//! one), and any auth kube-rs supports (client certificates, tokens, exec plugins).

use std::path::PathBuf;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};

/// Which kubeconfig and context.
#[derive(Clone, Debug, Default)]
pub struct Target {
    /// None: KUBECONFIG, else ~/.kube/config.
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
}

/// A client, and what the header says about where it points.
#[derive(Clone)]
pub struct Connection {
    pub client: kube::Client,
    pub context: String,
    pub cluster: String,
    pub user: String,
    /// The context's namespace, if it names one.
    pub namespace: Option<String>,
    pub server: String,
}

pub async fn connect(target: &Target) -> Result<Connection, String> {
    let kubeconfig = match &target.kubeconfig {
        Some(path) => Kubeconfig::read_from(path)
            .map_err(|e| format!("reading kubeconfig {}: {e}", path.display()))?,
        None => Kubeconfig::read().map_err(|e| {
            format!("reading KUBECONFIG or ~/.kube/config: {e} (give one with --attach FILE)")
        })?,
    };
    let context = target
        .context
        .clone()
        .or_else(|| kubeconfig.current_context.clone())
        .ok_or("the kubeconfig names no current context: pass --context NAME")?;
    let entry = kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == context)
        .and_then(|c| c.context.clone())
        .ok_or_else(|| {
            let names: Vec<&str> = kubeconfig
                .contexts
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            format!(
                "no context {context:?} in the kubeconfig (it has: {})",
                names.join(", ")
            )
        })?;
    let options = KubeConfigOptions {
        context: Some(context.clone()),
        ..KubeConfigOptions::default()
    };
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| format!("using context {context:?}: {e}"))?;
    // Watches are long requests; the default read timeout would cut them.
    config.read_timeout = Some(Duration::from_secs(300));
    let server = config.cluster_url.to_string();
    let client = kube::Client::try_from(config).map_err(|e| e.to_string())?;
    Ok(Connection {
        client,
        context,
        cluster: entry.cluster,
        user: entry.user.unwrap_or_default(),
        namespace: entry.namespace,
        server,
    })
}
