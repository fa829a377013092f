//! Leader election through a coordination.k8s.io Lease, as upstream's components do
//! (`kube-system/kube-controller-manager`, `kube-system/kube-scheduler`): only the holder
//! works; a holder that stops renewing is replaced once the lease duration has passed.
//! Losing the lease ends the process (upstream exits too), so a restarted one starts clean.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::Api;
use kube::api::{ObjectMeta, PostParams};
use serde_json::json;

/// Upstream's defaults: --leader-elect-lease-duration, -renew-deadline, -retry-period.
pub const LEASE_DURATION: Duration = Duration::from_secs(15);
pub const RENEW_DEADLINE: Duration = Duration::from_secs(10);
pub const RETRY_PERIOD: Duration = Duration::from_secs(2);

pub struct Elector {
    leases: Api<Lease>,
    name: String,
    identity: String,
}

impl Elector {
    pub fn new(client: kube::Client, name: &str, identity: &str) -> Elector {
        Elector {
            leases: Api::namespaced(client, "kube-system"),
            name: name.to_string(),
            identity: identity.to_string(),
        }
    }

    /// Waits until this process holds the lease.
    pub async fn acquire(&self) {
        let mut said = false;
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => {
                    tracing::info!(lease = %format!("kube-system/{}", self.name), identity = %self.identity, "successfully acquired lease");
                    return;
                }
                Ok(false) if !said => {
                    tracing::info!(lease = %format!("kube-system/{}", self.name), "attempting to acquire leader lease; another instance holds it");
                    said = true;
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(
                    "error retrieving resource lock kube-system/{}: {e}",
                    self.name
                ),
            }
            tokio::time::sleep(RETRY_PERIOD).await;
        }
    }

    /// Renews the lease every retry period; returns when it could not be renewed within the
    /// renew deadline (leadership lost).
    pub async fn keep(&self) {
        let mut last_renewed = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(RETRY_PERIOD).await;
            match self.try_acquire_or_renew().await {
                Ok(true) => last_renewed = tokio::time::Instant::now(),
                Ok(false) => {
                    tracing::error!(lease = %self.name, "leaderelection lost: another instance holds the lease");
                    return;
                }
                Err(e) => {
                    tracing::warn!("failed to renew lease kube-system/{}: {e}", self.name);
                    if last_renewed.elapsed() > RENEW_DEADLINE {
                        tracing::error!(lease = %self.name, "leaderelection lost: could not renew within the deadline");
                        return;
                    }
                }
            }
        }
    }

    /// Gives the lease up on a clean shutdown, so a successor need not wait for it to expire
    /// (upstream's ReleaseOnCancel).
    pub async fn release(&self) {
        let Ok(Some(mut lease)) = self.leases.get_opt(&self.name).await else {
            return;
        };
        let Some(spec) = lease.spec.as_mut() else {
            return;
        };
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return;
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        match self
            .leases
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => tracing::info!(lease = %self.name, "released the leader lease"),
            Err(e) => tracing::warn!(lease = %self.name, "could not release the lease: {e}"),
        }
    }

    /// One attempt: Ok(true) when we hold the lease afterwards.
    async fn try_acquire_or_renew(&self) -> kube::Result<bool> {
        let now = k8s_openapi::jiff::Timestamp::now();
        let duration = LEASE_DURATION.as_secs() as i32;
        let Some(mut lease) = self.leases.get_opt(&self.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    namespace: Some("kube-system".into()),
                    ..Default::default()
                },
                spec: Some(
                    serde_json::from_value(json!({
                        "holderIdentity": self.identity,
                        "leaseDurationSeconds": duration,
                        "acquireTime": MicroTime(now),
                        "renewTime": MicroTime(now),
                        "leaseTransitions": 0,
                    }))
                    .unwrap_or_default(),
                ),
            };
            return match self.leases.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
                Err(e) => Err(e),
            };
        };
        let spec = lease.spec.get_or_insert_with(Default::default);
        let ours = spec.holder_identity.as_deref() == Some(self.identity.as_str());
        let expired = match (&spec.renew_time, spec.lease_duration_seconds) {
            (Some(MicroTime(renewed)), Some(secs)) => {
                now.as_second() - renewed.as_second() > i64::from(secs)
            }
            _ => true,
        };
        let held = spec
            .holder_identity
            .as_deref()
            .is_some_and(|h| !h.is_empty());
        if !ours && held && !expired {
            return Ok(false);
        }
        if !ours {
            spec.holder_identity = Some(self.identity.clone());
            spec.acquire_time = Some(MicroTime(now));
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
        }
        spec.lease_duration_seconds = Some(duration);
        spec.renew_time = Some(MicroTime(now));
        // The update carries the resourceVersion read: two candidates cannot both win.
        match self
            .leases
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }
}
