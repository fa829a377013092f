//! Reaching a cluster the standard way: a kubeconfig (`--attach FILE`, else KUBECONFIG with
//! its several files merged, else ~/.kube/config), a context (`--context`, else the current
//! one), and any auth kube-rs supports (client certificates, tokens, exec plugins).

use std::path::PathBuf;
use std::sync::Arc;
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

fn read(target: &Target) -> Result<Kubeconfig, String> {
    match &target.kubeconfig {
        Some(path) => Kubeconfig::read_from(path)
            .map_err(|e| format!("reading kubeconfig {}: {e}", path.display())),
        None => Kubeconfig::read().map_err(|e| {
            format!("reading KUBECONFIG or ~/.kube/config: {e} (give one with --attach FILE)")
        }),
    }
}

/// The kubeconfig's context names, and its current context.
pub fn contexts(target: &Target) -> Result<(Vec<String>, Option<String>), String> {
    let kubeconfig = read(target)?;
    let names = kubeconfig.contexts.iter().map(|c| c.name.clone()).collect();
    Ok((names, kubeconfig.current_context))
}

/// One client for the whole session — made on first use, made again when the context
/// changes — so views do not each read the kubeconfig, run exec plugins and open new
/// TLS connections. kube-rs refreshes expiring credentials inside it.
#[derive(Clone)]
pub struct Cached {
    inner: Arc<tokio::sync::Mutex<(Target, Option<kube::Client>)>>,
}

impl Cached {
    pub fn new(target: Target) -> Cached {
        Cached {
            inner: Arc::new(tokio::sync::Mutex::new((target, None))),
        }
    }

    /// The client, connecting first if there is none yet (one connection at a time).
    pub async fn client(&self) -> Result<kube::Client, String> {
        let mut inner = self.inner.lock().await;
        if let Some(c) = &inner.1 {
            return Ok(c.clone());
        }
        let connection = connect(&inner.0).await?;
        inner.1 = Some(connection.client.clone());
        Ok(connection.client)
    }

    /// Another context of the same kubeconfig; the old client stays if it cannot be used.
    pub async fn switch(&self, context: &str) -> Result<Connection, String> {
        let mut inner = self.inner.lock().await;
        let target = Target {
            context: Some(context.to_string()),
            ..inner.0.clone()
        };
        let connection = connect(&target).await?;
        *inner = (target, Some(connection.client.clone()));
        Ok(connection)
    }

    /// Which kubeconfig and context it uses now.
    pub async fn target(&self) -> Target {
        self.inner.lock().await.0.clone()
    }
}

pub async fn connect(target: &Target) -> Result<Connection, String> {
    let kubeconfig = read(target)?;
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
