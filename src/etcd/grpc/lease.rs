//! Lease: Grant, Revoke, KeepAlive (a stream), TimeToLive, Leases; and the expiry task.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use futures::Stream;
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::Shared;
use crate::etcd::applier::{Write, Written};
use crate::etcd::errors::EtcdError;
use crate::etcd::lease::{MAX_TTL, MIN_TTL};
use crate::etcd::proto::etcdserverpb::{
    LeaseGrantRequest, LeaseGrantResponse, LeaseKeepAliveRequest, LeaseKeepAliveResponse,
    LeaseLeasesRequest, LeaseLeasesResponse, LeaseRevokeRequest, LeaseRevokeResponse, LeaseStatus,
    LeaseTimeToLiveRequest, LeaseTimeToLiveResponse, lease_server::Lease,
};

pub struct LeaseService(pub Arc<Shared>);

type KeepAliveStream = Pin<Box<dyn Stream<Item = Result<LeaseKeepAliveResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Lease for LeaseService {
    async fn lease_grant(
        &self,
        req: Request<LeaseGrantRequest>,
    ) -> Result<Response<LeaseGrantResponse>, Status> {
        let r = req.into_inner();
        if r.ttl > MAX_TTL {
            return Err(EtcdError::LeaseTTLTooLarge.into());
        }
        let ttl = r.ttl.max(MIN_TTL);
        let id = if r.id == 0 {
            self.0.leases.new_id()
        } else {
            r.id
        };
        self.0.applier.apply(Write::LeaseGrant { id, ttl }).await?;
        Ok(Response::new(LeaseGrantResponse {
            header: self.0.header(0),
            id,
            ttl,
            error: String::new(),
        }))
    }

    async fn lease_revoke(
        &self,
        req: Request<LeaseRevokeRequest>,
    ) -> Result<Response<LeaseRevokeResponse>, Status> {
        match self
            .0
            .applier
            .apply(Write::LeaseRevoke {
                id: req.get_ref().id,
            })
            .await?
        {
            Written::LeaseRevoked(rev) => Ok(Response::new(LeaseRevokeResponse {
                header: self.0.header(rev),
            })),
            other => Err(super::kv::unexpected(other)),
        }
    }

    type LeaseKeepAliveStream = KeepAliveStream;

    async fn lease_keep_alive(
        &self,
        req: Request<Streaming<LeaseKeepAliveRequest>>,
    ) -> Result<Response<Self::LeaseKeepAliveStream>, Status> {
        let mut incoming = req.into_inner();
        let shared = self.0.clone();
        let (tx, rx) = mpsc::channel(16);
        tokio::spawn(async move {
            while let Some(Ok(r)) = incoming.next().await {
                // An unknown or expired lease answers TTL 0: clients take that as "gone".
                let ttl = shared.leases.keep_alive(r.id).unwrap_or(0);
                let resp = LeaseKeepAliveResponse {
                    header: shared.header(0),
                    id: r.id,
                    ttl,
                };
                if tx.send(Ok(resp)).await.is_err() {
                    break;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn lease_time_to_live(
        &self,
        req: Request<LeaseTimeToLiveRequest>,
    ) -> Result<Response<LeaseTimeToLiveResponse>, Status> {
        let r = req.into_inner();
        // An unknown lease is not an error here: etcd answers TTL -1 ("already expired").
        let (ttl, granted, keys) = self
            .0
            .leases
            .time_to_live(r.id)
            .unwrap_or((-1, 0, Vec::new()));
        Ok(Response::new(LeaseTimeToLiveResponse {
            header: self.0.header(0),
            id: r.id,
            ttl,
            granted_ttl: granted,
            keys: if r.keys { keys } else { Vec::new() },
        }))
    }

    async fn lease_leases(
        &self,
        _req: Request<LeaseLeasesRequest>,
    ) -> Result<Response<LeaseLeasesResponse>, Status> {
        Ok(Response::new(LeaseLeasesResponse {
            header: self.0.header(0),
            leases: self
                .0
                .leases
                .ids()
                .into_iter()
                .map(|id| LeaseStatus { id })
                .collect(),
        }))
    }
}

/// Revokes leases as they expire: sleeps until the earliest deadline, or until a grant or
/// keep-alive moves it (the Notify), never polling.
pub async fn expire(shared: Arc<Shared>) {
    loop {
        let changed = shared.leases.changed.notified();
        let (expired, next) = shared.leases.expired(Instant::now());
        for id in expired {
            match shared.applier.apply(Write::LeaseRevoke { id }).await {
                Ok(_) => tracing::info!(lease = format!("{id:x}"), "lease expired and revoked"),
                Err(EtcdError::LeaseNotFound) => {}
                Err(e) => {
                    tracing::error!(lease = format!("{id:x}"), "revoking an expired lease: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                }
            }
        }
        match next {
            Some(at) => {
                tokio::select! {
                    _ = tokio::time::sleep_until(at.into()) => {}
                    _ = changed => {}
                }
            }
            None => changed.await,
        }
    }
}
