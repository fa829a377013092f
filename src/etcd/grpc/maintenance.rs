//! Maintenance (Status, Alarm, Defragment, Hash, HashKV) and Cluster (MemberList) for a
//! one-member cluster. What only a multi-member raft cluster does is refused plainly.

use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use tonic::{Request, Response, Status};

use super::{RAFT_TERM, Shared};
use crate::etcd::errors::EtcdError;
use crate::etcd::proto::etcdserverpb::{
    AlarmRequest, AlarmResponse, DefragmentRequest, DefragmentResponse, DowngradeRequest,
    DowngradeResponse, HashKvRequest, HashKvResponse, HashRequest, HashResponse, Member,
    MemberAddRequest, MemberAddResponse, MemberListRequest, MemberListResponse,
    MemberPromoteRequest, MemberPromoteResponse, MemberRemoveRequest, MemberRemoveResponse,
    MemberUpdateRequest, MemberUpdateResponse, MoveLeaderRequest, MoveLeaderResponse,
    SnapshotRequest, SnapshotResponse, StatusRequest, StatusResponse, cluster_server::Cluster,
    maintenance_server::Maintenance,
};

/// The etcd API version this server speaks, reported by Status and /version.
pub const VERSION: &str = "3.4.0";

pub struct MaintenanceService(pub Arc<Shared>);

type SnapshotStream = Pin<Box<dyn Stream<Item = Result<SnapshotResponse, Status>> + Send>>;

/// FNV-1a over every record up to `rev`: equal stores hash equal (kwb's own function; hashes
/// are compared between members of one cluster, never across implementations).
fn hash_store(shared: &Shared, rev: i64) -> Result<u32, EtcdError> {
    let view = shared.store.read()?;
    let mut h: u32 = 0x811c_9dc5;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u32::from(*b);
            h = h.wrapping_mul(0x0100_0193);
        }
    };
    for kv in view.range(&[0], &[0], rev)? {
        eat(&kv.key);
        eat(&kv.value);
        eat(&kv.mod_revision.to_le_bytes());
        eat(&kv.create_revision.to_le_bytes());
        eat(&kv.version.to_le_bytes());
    }
    Ok(h)
}

#[tonic::async_trait]
impl Maintenance for MaintenanceService {
    async fn alarm(&self, req: Request<AlarmRequest>) -> Result<Response<AlarmResponse>, Status> {
        use crate::etcd::proto::etcdserverpb::{
            AlarmMember, AlarmType, alarm_request::AlarmAction,
        };
        use std::sync::atomic::Ordering;
        let r = req.into_inner();
        let nospace = r.alarm == AlarmType::Nospace as i32;
        match AlarmAction::try_from(r.action) {
            Ok(AlarmAction::Activate) if nospace => self.0.nospace.store(true, Ordering::Relaxed),
            Ok(AlarmAction::Deactivate) if nospace => {
                self.0.nospace.store(false, Ordering::Relaxed);
                tracing::info!("alarm NOSPACE disarmed");
            }
            _ => {}
        }
        let alarms = if self.0.nospace.load(Ordering::Relaxed) {
            vec![AlarmMember {
                member_id: self.0.member.member_id,
                alarm: AlarmType::Nospace as i32,
            }]
        } else {
            Vec::new()
        };
        Ok(Response::new(AlarmResponse {
            header: self.0.header(0),
            alarms,
        }))
    }

    async fn status(
        &self,
        _req: Request<StatusRequest>,
    ) -> Result<Response<StatusResponse>, Status> {
        let s = &self.0;
        let rev = s.store.current_revision() as u64;
        let size = s.store.db_size();
        Ok(Response::new(StatusResponse {
            header: s.header(0),
            version: VERSION.into(),
            db_size: size,
            leader: s.member.member_id,
            raft_index: rev,
            raft_term: RAFT_TERM,
            raft_applied_index: rev,
            errors: if s.nospace.load(std::sync::atomic::Ordering::Relaxed) {
                vec![format!("memberID:{} alarm:NOSPACE ", s.member.member_id)]
            } else {
                Vec::new()
            },
            db_size_in_use: size,
            is_learner: false,
        }))
    }

    async fn defragment(
        &self,
        _req: Request<DefragmentRequest>,
    ) -> Result<Response<DefragmentResponse>, Status> {
        let store = self.0.store.clone();
        let before = store.db_size();
        tokio::task::spawn_blocking(move || store.defragment())
            .await
            .map_err(|e| EtcdError::Internal(e.to_string()))?
            .map_err(EtcdError::from)?;
        tracing::info!(before, after = self.0.store.db_size(), "defragmented");
        Ok(Response::new(DefragmentResponse {
            header: self.0.header(0),
        }))
    }

    async fn hash(&self, _req: Request<HashRequest>) -> Result<Response<HashResponse>, Status> {
        Ok(Response::new(HashResponse {
            header: self.0.header(0),
            hash: hash_store(&self.0, 0)?,
        }))
    }

    async fn hash_kv(
        &self,
        req: Request<HashKvRequest>,
    ) -> Result<Response<HashKvResponse>, Status> {
        let rev = self
            .0
            .store
            .check_revision(req.get_ref().revision)
            .map_err(EtcdError::from)?;
        Ok(Response::new(HashKvResponse {
            header: self.0.header(0),
            hash: hash_store(&self.0, rev)?,
            compact_revision: self.0.store.compacted_revision(),
            hash_revision: rev,
        }))
    }

    type SnapshotStream = SnapshotStream;

    async fn snapshot(
        &self,
        _req: Request<SnapshotRequest>,
    ) -> Result<Response<Self::SnapshotStream>, Status> {
        Err(Status::unimplemented(
            "etcdserver: snapshots are not supported by kwb's builtin etcd (its store is redb, not bbolt)",
        ))
    }

    async fn move_leader(
        &self,
        _req: Request<MoveLeaderRequest>,
    ) -> Result<Response<MoveLeaderResponse>, Status> {
        Err(Status::failed_precondition(
            "etcdserver: bad leader transferee",
        ))
    }

    async fn downgrade(
        &self,
        _req: Request<DowngradeRequest>,
    ) -> Result<Response<DowngradeResponse>, Status> {
        Err(Status::unimplemented(
            "etcdserver: downgrade is not supported",
        ))
    }
}

pub struct ClusterService(pub Arc<Shared>);

fn one_member_only() -> Status {
    Status::failed_precondition(
        "etcdserver: kwb's builtin etcd is a one-member cluster; members cannot be added, removed or changed",
    )
}

#[tonic::async_trait]
impl Cluster for ClusterService {
    async fn member_add(
        &self,
        _r: Request<MemberAddRequest>,
    ) -> Result<Response<MemberAddResponse>, Status> {
        Err(one_member_only())
    }
    async fn member_remove(
        &self,
        _r: Request<MemberRemoveRequest>,
    ) -> Result<Response<MemberRemoveResponse>, Status> {
        Err(one_member_only())
    }
    async fn member_update(
        &self,
        _r: Request<MemberUpdateRequest>,
    ) -> Result<Response<MemberUpdateResponse>, Status> {
        Err(one_member_only())
    }
    async fn member_promote(
        &self,
        _r: Request<MemberPromoteRequest>,
    ) -> Result<Response<MemberPromoteResponse>, Status> {
        Err(one_member_only())
    }

    async fn member_list(
        &self,
        _r: Request<MemberListRequest>,
    ) -> Result<Response<MemberListResponse>, Status> {
        let m = &self.0.member;
        Ok(Response::new(MemberListResponse {
            header: self.0.cluster_header(),
            members: vec![Member {
                id: m.member_id,
                name: m.name.clone(),
                peer_ur_ls: m.peer_urls.clone(),
                client_ur_ls: m.client_urls.clone(),
                is_learner: false,
            }],
        }))
    }
}
