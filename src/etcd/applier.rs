//! The one writer: a thread that takes write requests off a queue, applies every request that
//! is waiting as one batch (each request its own revision), commits the batch with one fsync
//! (group commit), then answers each request. A request is answered only once durable.
//!
//! A request that fails after it has written (a transaction whose later operation errs) must
//! leave no trace: the batch is dropped and re-applied without it. Requests are deterministic
//! functions of the store, so re-applying gives the same results.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::etcd::apply::{self, Effects};
use crate::etcd::errors::EtcdError;
use crate::etcd::lease::Leases;
use crate::etcd::mvcc::Store;
use crate::etcd::proto::etcdserverpb::{
    DeleteRangeRequest, DeleteRangeResponse, PutRequest, PutResponse, TxnRequest, TxnResponse,
};

/// Largest batch taken at once; bounds the latency a request can add to the others.
const MAX_BATCH: usize = 1024;

#[derive(Debug)]
pub enum Write {
    Put(PutRequest),
    DeleteRange(DeleteRangeRequest),
    Txn(TxnRequest),
    /// Persist a lease (already validated).
    LeaseGrant {
        id: i64,
        ttl: i64,
    },
    /// Delete the lease's keys in one revision and forget it.
    LeaseRevoke {
        id: i64,
    },
}

#[derive(Debug)]
pub enum Written {
    Put(PutResponse),
    DeleteRange(DeleteRangeResponse),
    Txn(TxnResponse),
    LeaseGranted,
    /// The revision after the revocation.
    LeaseRevoked(i64),
}

type Reply = oneshot::Sender<Result<Written, EtcdError>>;

#[derive(Clone)]
pub struct Applier {
    queue: mpsc::UnboundedSender<(Write, Reply)>,
}

impl Applier {
    /// Starts the applier thread; it ends when every `Applier` handle is dropped.
    pub fn start(store: Arc<Store>, leases: Arc<Leases>) -> Applier {
        let (queue, rx) = mpsc::unbounded_channel();
        std::thread::Builder::new()
            .name("etcd-applier".into())
            .spawn(move || run(store, leases, rx))
            .expect("spawning the applier thread");
        Applier { queue }
    }

    pub async fn apply(&self, write: Write) -> Result<Written, EtcdError> {
        let (tx, rx) = oneshot::channel();
        self.queue
            .send((write, tx))
            .map_err(|_| EtcdError::Internal("server is stopping".into()))?;
        rx.await
            .map_err(|_| EtcdError::Internal("server is stopping".into()))?
    }
}

fn run(store: Arc<Store>, leases: Arc<Leases>, mut rx: mpsc::UnboundedReceiver<(Write, Reply)>) {
    while let Some(first) = rx.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        apply_batch(&store, &leases, batch);
    }
}

struct Outcome {
    result: Result<Written, EtcdError>,
    effects: Effects,
    /// Lease table changes to mirror in memory after the commit.
    lease_change: Option<LeaseChange>,
}

enum LeaseChange {
    Granted { id: i64, ttl: i64 },
    Revoked { id: i64 },
}

fn apply_batch(store: &Store, leases: &Leases, batch: Vec<(Write, Reply)>) {
    let (writes, replies): (Vec<Write>, Vec<Reply>) = batch.into_iter().unzip();
    // Requests that failed after writing: excluded from the re-applied batch.
    let mut failed: Vec<Option<EtcdError>> = writes.iter().map(|_| None).collect();
    let outcomes = 'attempt: loop {
        let mut w = match store.write() {
            Ok(w) => w,
            Err(e) => break 'attempt Err(EtcdError::from(e)),
        };
        let mut outcomes = Vec::with_capacity(writes.len());
        for (i, write) in writes.iter().enumerate() {
            if failed[i].is_some() {
                outcomes.push(None);
                continue;
            }
            w.begin_request();
            let mut effects = Effects::default();
            let (result, lease_change) = apply_one(&mut w, leases, write, &mut effects);
            if result.is_err() && w.request_changed() {
                failed[i] = result.err();
                continue 'attempt;
            }
            w.end_request();
            outcomes.push(Some(Outcome {
                result,
                effects,
                lease_change,
            }));
        }
        break 'attempt w.commit().map(|_| outcomes).map_err(EtcdError::from);
    };
    match outcomes {
        Ok(outcomes) => {
            for ((reply, outcome), failure) in replies.into_iter().zip(outcomes).zip(failed) {
                let result = match (outcome, failure) {
                    (_, Some(e)) => Err(e),
                    (Some(o), None) => {
                        mirror_leases(leases, &o);
                        o.result
                    }
                    (None, None) => Err(EtcdError::Internal("request lost in batch".into())),
                };
                let _ = reply.send(result);
            }
        }
        Err(e) => {
            tracing::error!("commit failed: {e}");
            for reply in replies {
                let _ = reply.send(Err(e.clone()));
            }
        }
    }
}

fn mirror_leases(leases: &Leases, o: &Outcome) {
    if o.result.is_err() {
        return;
    }
    match o.lease_change {
        Some(LeaseChange::Granted { id, ttl }) => leases.insert(id, ttl),
        Some(LeaseChange::Revoked { id }) => {
            leases.remove(id);
        }
        None => {}
    }
    for key in &o.effects.detach {
        leases.detach(key);
    }
    for (key, lease) in &o.effects.attach {
        leases.attach(key.clone(), *lease);
    }
}

fn apply_one(
    w: &mut crate::etcd::mvcc::WriteBatch<'_>,
    leases: &Leases,
    write: &Write,
    fx: &mut Effects,
) -> (Result<Written, EtcdError>, Option<LeaseChange>) {
    let exists = |id: i64| leases.exists(id);
    match write {
        Write::Put(r) => (
            apply::put(w, r.clone(), &exists, fx).map(Written::Put),
            None,
        ),
        Write::DeleteRange(r) => (
            apply::delete_range(w, r.clone(), fx).map(Written::DeleteRange),
            None,
        ),
        // Size limits were checked by the service before queueing; here the duplicate rule.
        Write::Txn(t) => (
            apply::check_txn(t, usize::MAX)
                .and_then(|()| apply::txn(w, t.clone(), &exists, fx))
                .map(Written::Txn),
            None,
        ),
        Write::LeaseGrant { id, ttl } => {
            if leases.exists(*id) {
                return (Err(EtcdError::LeaseExist), None);
            }
            (
                w.grant_lease(*id, *ttl)
                    .map(|()| Written::LeaseGranted)
                    .map_err(EtcdError::from),
                Some(LeaseChange::Granted { id: *id, ttl: *ttl }),
            )
        }
        Write::LeaseRevoke { id } => {
            if !leases.exists(*id) {
                return (Err(EtcdError::LeaseNotFound), None);
            }
            let result = (|| -> Result<Written, crate::etcd::mvcc::StoreError> {
                for key in leases.keys(*id) {
                    let deleted = w.delete_range(&key, &[])?;
                    fx.detach.extend(deleted.into_iter().map(|kv| kv.key));
                }
                w.revoke_lease(*id)?;
                Ok(Written::LeaseRevoked(w.read_revision()))
            })()
            .map_err(EtcdError::from);
            (result, Some(LeaseChange::Revoked { id: *id }))
        }
    }
}
