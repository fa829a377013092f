//! The gRPC errors of the builtin etcd, exactly as etcd 3.4 reports them.
//!
//! Exactness matters: clients recognise etcd errors by code *and* message text.
//! The Go clientv3 maps the message string back to a typed error (so a compacted
//! watch or a missing lease is handled, not just logged), Kubernetes' apiserver
//! looks for "required revision has been compacted" to restart its watch cache,
//! and etcdctl prints the text verbatim. Every code and string below is taken
//! from etcd's `api/v3rpc/rpctypes` error table; do not reword them.

use tonic::{Code, Status};

/// An error the etcd gRPC services return to a client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EtcdError {
    // --- request validation (KV / Txn)
    /// A request without a key.
    #[error("etcdserver: key is not provided")]
    EmptyKey,
    /// `ignore_value`/`ignore_lease` on a key that does not exist.
    #[error("etcdserver: key not found")]
    KeyNotFound,
    /// `ignore_value` together with a non-empty value.
    #[error("etcdserver: value is provided")]
    ValueProvided,
    /// `ignore_lease` together with a non-zero lease.
    #[error("etcdserver: lease is provided")]
    LeaseProvided,
    /// A txn with more operations in a branch (or compares) than allowed.
    #[error("etcdserver: too many operations in txn request")]
    TooManyOps,
    /// A txn writing the same key twice in one branch.
    #[error("etcdserver: duplicate key given in txn request")]
    DuplicateKey,
    /// A request larger than the server accepts.
    #[error("etcdserver: request is too large")]
    RequestTooLarge,
    /// Load shedding: too many requests in flight.
    #[error("etcdserver: too many requests")]
    TooManyRequests,

    // --- MVCC
    /// The requested revision is older than the compaction point.
    #[error("etcdserver: mvcc: required revision has been compacted")]
    Compacted,
    /// The requested revision is newer than the current one.
    #[error("etcdserver: mvcc: required revision is a future revision")]
    FutureRev,
    /// The storage quota is exhausted (NOSPACE alarm raised).
    #[error("etcdserver: mvcc: database space exceeded")]
    NoSpace,

    // --- leases
    /// No lease with the given id.
    #[error("etcdserver: requested lease not found")]
    LeaseNotFound,
    /// LeaseGrant with an explicit id that is already taken.
    #[error("etcdserver: lease already exists")]
    LeaseExist,
    /// LeaseGrant with a TTL above the maximum.
    #[error("etcdserver: too large lease TTL")]
    LeaseTTLTooLarge,

    // --- membership
    /// MemberAdd with an id already in the cluster.
    #[error("etcdserver: member ID already exist")]
    MemberExist,
    /// MemberAdd/MemberUpdate with peer URLs another member already uses.
    #[error("etcdserver: Peer URLs already exists")]
    PeerURLExist,
    /// Malformed peer URLs.
    #[error("etcdserver: given member URLs are invalid")]
    MemberBadURLs,
    /// No member with the given id.
    #[error("etcdserver: member not found")]
    MemberNotFound,
    /// MemberPromote of a member that is already a voter.
    #[error("etcdserver: can only promote a learner member")]
    MemberNotLearner,
    /// MoveLeader to a member that cannot take the lead.
    #[error("etcdserver: bad leader transferee")]
    BadLeaderTransferee,

    // --- server state
    /// The server cannot serve this request in its current configuration.
    #[error("etcdserver: not capable")]
    NotCapable,
    /// The server is shutting down.
    #[error("etcdserver: server stopped")]
    Stopped,
    /// The request did not complete in time.
    #[error("etcdserver: request timed out")]
    Timeout,
    /// Stored data failed an integrity check (CORRUPT alarm).
    #[error("etcdserver: corrupt cluster")]
    Corrupt,

    // --- not from etcd's table
    /// An RPC this server does not provide (e.g. member changes on a single
    /// member). etcd has no such error; the code is gRPC's standard one.
    #[error("etcdserver: {0} is not supported by this server")]
    Unimplemented(&'static str),
    /// A storage or other internal failure; the text is ours, prefixed like
    /// etcd's own messages.
    #[error("etcdserver: {0}")]
    Internal(String),
}

impl EtcdError {
    /// The gRPC status code etcd uses for this error.
    pub fn code(&self) -> Code {
        use EtcdError::*;
        match self {
            EmptyKey | KeyNotFound | ValueProvided | LeaseProvided | TooManyOps | DuplicateKey
            | RequestTooLarge | MemberBadURLs => Code::InvalidArgument,
            TooManyRequests | NoSpace => Code::ResourceExhausted,
            Compacted | FutureRev | LeaseTTLTooLarge => Code::OutOfRange,
            LeaseNotFound | MemberNotFound => Code::NotFound,
            LeaseExist | MemberExist | PeerURLExist | MemberNotLearner | BadLeaderTransferee => {
                Code::FailedPrecondition
            }
            NotCapable | Stopped | Timeout => Code::Unavailable,
            Corrupt => Code::DataLoss,
            Unimplemented(_) => Code::Unimplemented,
            Internal(_) => Code::Internal,
        }
    }

    /// The status a client receives: etcd's code and exact message.
    pub fn to_status(&self) -> Status {
        Status::new(self.code(), self.to_string())
    }
}

impl From<EtcdError> for Status {
    fn from(err: EtcdError) -> Status {
        err.to_status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(err: EtcdError, code: Code, message: &str) {
        let status = err.to_status();
        assert_eq!(status.code(), code, "code of {err:?}");
        assert_eq!(status.message(), message, "message of {err:?}");
        assert_eq!(err.to_string(), message);
        let via_from: Status = err.clone().into();
        assert_eq!(via_from.code(), code);
        assert_eq!(via_from.message(), message);
    }

    #[test]
    fn request_validation_errors() {
        use EtcdError::*;
        let ia = Code::InvalidArgument;
        check(EmptyKey, ia, "etcdserver: key is not provided");
        check(KeyNotFound, ia, "etcdserver: key not found");
        check(ValueProvided, ia, "etcdserver: value is provided");
        check(LeaseProvided, ia, "etcdserver: lease is provided");
        check(
            TooManyOps,
            ia,
            "etcdserver: too many operations in txn request",
        );
        check(
            DuplicateKey,
            ia,
            "etcdserver: duplicate key given in txn request",
        );
        check(RequestTooLarge, ia, "etcdserver: request is too large");
        check(
            TooManyRequests,
            Code::ResourceExhausted,
            "etcdserver: too many requests",
        );
    }

    #[test]
    fn mvcc_errors() {
        use EtcdError::*;
        check(
            Compacted,
            Code::OutOfRange,
            "etcdserver: mvcc: required revision has been compacted",
        );
        check(
            FutureRev,
            Code::OutOfRange,
            "etcdserver: mvcc: required revision is a future revision",
        );
        check(
            NoSpace,
            Code::ResourceExhausted,
            "etcdserver: mvcc: database space exceeded",
        );
    }

    #[test]
    fn lease_errors() {
        use EtcdError::*;
        check(
            LeaseNotFound,
            Code::NotFound,
            "etcdserver: requested lease not found",
        );
        check(
            LeaseExist,
            Code::FailedPrecondition,
            "etcdserver: lease already exists",
        );
        check(
            LeaseTTLTooLarge,
            Code::OutOfRange,
            "etcdserver: too large lease TTL",
        );
    }

    #[test]
    fn member_errors() {
        use EtcdError::*;
        let fp = Code::FailedPrecondition;
        check(MemberExist, fp, "etcdserver: member ID already exist");
        check(PeerURLExist, fp, "etcdserver: Peer URLs already exists");
        check(
            MemberBadURLs,
            Code::InvalidArgument,
            "etcdserver: given member URLs are invalid",
        );
        check(
            MemberNotFound,
            Code::NotFound,
            "etcdserver: member not found",
        );
        check(
            MemberNotLearner,
            fp,
            "etcdserver: can only promote a learner member",
        );
        check(BadLeaderTransferee, fp, "etcdserver: bad leader transferee");
    }

    #[test]
    fn server_state_errors() {
        use EtcdError::*;
        let un = Code::Unavailable;
        check(NotCapable, un, "etcdserver: not capable");
        check(Stopped, un, "etcdserver: server stopped");
        check(Timeout, un, "etcdserver: request timed out");
        check(Corrupt, Code::DataLoss, "etcdserver: corrupt cluster");
    }

    #[test]
    fn own_errors() {
        check(
            EtcdError::Unimplemented("MemberAdd"),
            Code::Unimplemented,
            "etcdserver: MemberAdd is not supported by this server",
        );
        check(
            EtcdError::Internal("redb: disk full".into()),
            Code::Internal,
            "etcdserver: redb: disk full",
        );
    }
}
