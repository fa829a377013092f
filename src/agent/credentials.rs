//! `--use-service-account-credentials`: each controller writes as its own service account
//! (`kube-system/deployment-controller`, …), as upstream's controller-manager does in kubeadm
//! clusters, so RBAC decisions and audit name the controller. Tokens come from the
//! TokenRequest API under the controller-manager's own identity, are kept in 0600 files and
//! renewed well before they expire; kube-rs re-reads a token file as it ages.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::Api;
use kube::api::{ObjectMeta, PostParams};

/// Tokens asked for live this long, and are renewed at a fifth of it.
const TOKEN_SECONDS: i64 = 3600;
const RENEW_EVERY: Duration = Duration::from_secs(720);

pub struct Credentials {
    /// The component's own client: it may create service accounts and their tokens.
    base: kube::Client,
    kubeconfig: PathBuf,
    dir: PathBuf,
}

impl Credentials {
    /// Token files go in a fresh private directory.
    pub fn new(base: kube::Client, kubeconfig: &Path) -> anyhow::Result<Credentials> {
        use std::os::unix::fs::DirBuilderExt;
        let dir = std::env::temp_dir().join(format!("kwb-sa-tokens-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .with_context(|| format!("creating {}", dir.display()))?;
        Ok(Credentials {
            base,
            kubeconfig: kubeconfig.to_path_buf(),
            dir,
        })
    }

    /// A client acting as `kube-system/<name>`, creating the service account if needed; its
    /// token is renewed in the background for as long as the process runs.
    pub async fn client_for(&self, name: &str) -> anyhow::Result<kube::Client> {
        let accounts: Api<ServiceAccount> = Api::namespaced(self.base.clone(), "kube-system");
        let sa = ServiceAccount {
            metadata: ObjectMeta {
                name: Some(name.to_string()),
                namespace: Some("kube-system".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        match accounts.create(&PostParams::default(), &sa).await {
            Ok(_) => tracing::info!("created service account kube-system/{name}"),
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => {
                return Err(e).context(format!("creating service account kube-system/{name}"));
            }
        }
        let file = self.dir.join(name);
        write_token(&accounts, name, &file).await?;
        let renew_accounts = accounts.clone();
        let (renew_name, renew_file) = (name.to_string(), file.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(RENEW_EVERY).await;
                if let Err(e) = write_token(&renew_accounts, &renew_name, &renew_file).await {
                    tracing::warn!("renewing the token of kube-system/{renew_name}: {e:#}");
                }
            }
        });
        let kc = kube::config::Kubeconfig::read_from(&self.kubeconfig)?;
        let mut config = kube::Config::from_custom_kubeconfig(kc, &Default::default()).await?;
        config.auth_info = kube::config::AuthInfo {
            token_file: Some(file.display().to_string()),
            ..Default::default()
        };
        config.read_timeout = Some(Duration::from_secs(300));
        Ok(kube::Client::try_from(config)?)
    }
}

async fn write_token(
    accounts: &Api<ServiceAccount>,
    name: &str,
    file: &Path,
) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let request = TokenRequest {
        spec: TokenRequestSpec {
            audiences: vec![],
            expiration_seconds: Some(TOKEN_SECONDS),
            ..Default::default()
        },
        ..Default::default()
    };
    let answer = accounts
        .create_token_request(name, &PostParams::default(), &request)
        .await
        .with_context(|| format!("requesting a token for kube-system/{name}"))?;
    let token = answer.status.map(|s| s.token).unwrap_or_default();
    // Written aside and renamed: a reader never sees half a token.
    let tmp = file.with_extension("new");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(token.as_bytes())?;
    std::fs::rename(&tmp, file)?;
    Ok(())
}
