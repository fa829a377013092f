//! The etcd v3 gRPC services, one file each, thin over the store, the applier and the leases.

pub mod kv;
pub mod lease;
pub mod maintenance;
pub mod watch;

use std::sync::Arc;

use crate::etcd::applier::Applier;
use crate::etcd::lease::Leases;
use crate::etcd::mvcc::Store;
use crate::etcd::proto::etcdserverpb::ResponseHeader;

/// What every service shares.
pub struct Shared {
    pub store: Arc<Store>,
    pub leases: Arc<Leases>,
    pub applier: Applier,
    pub member: Member,
    /// Largest write request accepted (etcd's --max-request-bytes).
    pub max_request_bytes: usize,
    /// Most operations in one transaction branch (etcd's --max-txn-ops).
    pub max_txn_ops: usize,
    /// Writes are refused once the store file is this large (etcd's --quota-backend-bytes).
    pub quota_bytes: i64,
    /// The NOSPACE alarm: raised when the quota is passed, cleared by an alarm disarm.
    pub nospace: std::sync::atomic::AtomicBool,
}

/// This one-member cluster's identity, as clients see it in headers and member lists.
#[derive(Clone, Debug)]
pub struct Member {
    pub name: String,
    pub cluster_id: u64,
    pub member_id: u64,
    pub client_urls: Vec<String>,
    pub peer_urls: Vec<String>,
}

/// A one-member cluster elects itself at term 2 on its first start, as etcd does.
pub const RAFT_TERM: u64 = 2;

impl Shared {
    /// A header at `revision` (0: the current one).
    pub fn header(&self, revision: i64) -> Option<ResponseHeader> {
        Some(ResponseHeader {
            cluster_id: self.member.cluster_id,
            member_id: self.member.member_id,
            revision: if revision == 0 {
                self.store.current_revision()
            } else {
                revision
            },
            raft_term: RAFT_TERM,
        })
    }

    /// Refuses a write that is too large, or any write once the store is over its quota (as
    /// etcd's NOSPACE alarm does; deletes and compaction still go through to free space).
    pub fn admit_write(&self, encoded_len: usize) -> Result<(), crate::etcd::errors::EtcdError> {
        use crate::etcd::errors::EtcdError;
        if encoded_len > self.max_request_bytes {
            return Err(EtcdError::RequestTooLarge);
        }
        use std::sync::atomic::Ordering;
        if self.nospace.load(Ordering::Relaxed) {
            return Err(EtcdError::NoSpace);
        }
        if self.store.db_size() > self.quota_bytes {
            tracing::warn!(
                quota = self.quota_bytes,
                "alarm NOSPACE raised: the store passed its quota"
            );
            self.nospace.store(true, Ordering::Relaxed);
            return Err(EtcdError::NoSpace);
        }
        Ok(())
    }

    /// The header of Cluster responses: etcd leaves the revision out of those.
    pub fn cluster_header(&self) -> Option<ResponseHeader> {
        Some(ResponseHeader {
            revision: 0,
            ..self.header(0)?
        })
    }

    /// Fills in the identity fields of a header built by the apply layer.
    pub fn complete(&self, h: &mut Option<ResponseHeader>) {
        let rev = h.as_ref().map_or(0, |h| h.revision);
        *h = self.header(rev);
    }
}
