//! kwb's builtin scheduler (`kwb component scheduler`): a Kubernetes API client that places
//! pods on nodes as kube-scheduler's default profile does, against any apiserver.
//!
//! - [`run`]: the loop — watched nodes and pods, binding, FailedScheduling
//! - the placement itself is pure: filters, scores and the upstream-worded fit error

mod run;

use std::path::PathBuf;

use crate::agent;

/// kube-scheduler's flags, those the builtin uses.
#[derive(clap::Parser, Debug, Clone)]
#[command(name = "kwb component scheduler", about = "kwb's builtin Kubernetes scheduler")]
pub struct Config {
    #[arg(long)]
    pub kubeconfig: PathBuf,
    #[arg(long, default_value_t = 10259)]
    pub secure_port: u16,
    #[arg(long, default_value = "127.0.0.1")]
    pub bind_address: String,
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_elect: bool,
}

/// `kwb component scheduler [kube-scheduler flags]`.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let client = agent::client(&config.kubeconfig).await?;
    let health = agent::healthz::Health::healthy();
    let serving = agent::healthz::serve(
        &config.bind_address,
        config.secure_port,
        "kube-scheduler",
        health,
    );
    let work = async {
        let elector = agent::leader::Elector::new(
            client.clone(),
            "kube-scheduler",
            &agent::identity(),
        );
        if config.leader_elect {
            elector.acquire().await;
        }
        let scheduling = run::Scheduler::new(client.clone()).run();
        if config.leader_elect {
            tokio::select! {
                _ = scheduling => {}
                _ = elector.keep() => anyhow::bail!("leaderelection lost"),
            }
        } else {
            scheduling.await;
        }
        Ok(())
    };
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = serving => r,
        r = work => r,
        _ = tokio::signal::ctrl_c() => Ok(()),
        _ = term.recv() => Ok(()),
    }
}
