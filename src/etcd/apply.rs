//! Executes KV requests on the store with etcd's semantics: how `count` and `more` are set,
//! sorting and revision filters, put's ignore flags, and transactions (compares, branches,
//! nested transactions, a response per operation).
//!
//! Reads that are not part of a transaction run on a [`ReadView`]; writes and transactions run
//! on the [`WriteBatch`] of the applier thread, one request after the other.

use crate::etcd::errors::EtcdError;
use crate::etcd::mvcc::{KeyValue, ReadView, StoreError, WriteBatch};
use crate::etcd::proto::etcdserverpb::{
    Compare, DeleteRangeRequest, DeleteRangeResponse, PutRequest, PutResponse, RangeRequest,
    RangeResponse, RequestOp, ResponseHeader, ResponseOp, TxnRequest, TxnResponse, compare,
    range_request, request_op, response_op,
};

impl From<StoreError> for EtcdError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Compacted => EtcdError::Compacted,
            StoreError::FutureRev => EtcdError::FutureRev,
            StoreError::Storage(m) => EtcdError::Internal(m),
        }
    }
}

/// Something ranges can be read from: a committed view, or the batch being written.
pub trait Source {
    fn range_at(&self, key: &[u8], end: &[u8], rev: i64) -> Result<Vec<KeyValue>, StoreError>;
    /// The revision a read with `revision = 0` sees.
    fn revision(&self) -> i64;
    /// Checks that `rev` can be read (not compacted, not in the future).
    fn check(&self, rev: i64) -> Result<i64, StoreError>;
}

impl Source for ReadView<'_> {
    fn range_at(&self, key: &[u8], end: &[u8], rev: i64) -> Result<Vec<KeyValue>, StoreError> {
        self.range(key, end, rev)
    }
    fn revision(&self) -> i64 {
        ReadView::revision(self)
    }
    fn check(&self, rev: i64) -> Result<i64, StoreError> {
        self.check_revision(rev)
    }
}

impl Source for WriteBatch<'_> {
    fn range_at(&self, key: &[u8], end: &[u8], rev: i64) -> Result<Vec<KeyValue>, StoreError> {
        self.range(key, end, rev)
    }
    fn revision(&self) -> i64 {
        self.read_revision()
    }
    fn check(&self, rev: i64) -> Result<i64, StoreError> {
        self.check_revision(rev)
    }
}

pub fn header(revision: i64) -> Option<ResponseHeader> {
    Some(ResponseHeader {
        revision,
        ..Default::default()
    })
}

/// Range as etcd's applier does it: count is every key in the range at the revision; the
/// revision filters, sorting and then the limit apply to what is returned; `more` says the
/// limit cut something off.
pub fn range(src: &impl Source, r: &RangeRequest) -> Result<RangeResponse, EtcdError> {
    if r.key.is_empty() {
        return Err(EtcdError::EmptyKey);
    }
    let rev = src.check(r.revision)?;
    let mut kvs = src.range_at(&r.key, &r.range_end, rev)?;
    let count = kvs.len() as i64;
    kvs.retain(|kv| {
        (r.max_mod_revision == 0 || kv.mod_revision <= r.max_mod_revision)
            && (r.min_mod_revision == 0 || kv.mod_revision >= r.min_mod_revision)
            && (r.max_create_revision == 0 || kv.create_revision <= r.max_create_revision)
            && (r.min_create_revision == 0 || kv.create_revision >= r.min_create_revision)
    });
    use range_request::{SortOrder, SortTarget};
    let target = SortTarget::try_from(r.sort_target).unwrap_or(SortTarget::Key);
    let mut order = SortOrder::try_from(r.sort_order).unwrap_or(SortOrder::None);
    // Sorting by something other than the key without an order means ascending (as etcd).
    if target != SortTarget::Key && order == SortOrder::None {
        order = SortOrder::Ascend;
    }
    if order != SortOrder::None {
        kvs.sort_by(|a, b| match target {
            SortTarget::Key => a.key.cmp(&b.key),
            SortTarget::Version => a.version.cmp(&b.version),
            SortTarget::Create => a.create_revision.cmp(&b.create_revision),
            SortTarget::Mod => a.mod_revision.cmp(&b.mod_revision),
            SortTarget::Value => a.value.cmp(&b.value),
        });
        if order == SortOrder::Descend {
            kvs.reverse();
        }
    }
    let mut more = false;
    if r.limit > 0 && kvs.len() as i64 > r.limit {
        kvs.truncate(r.limit as usize);
        more = true;
    }
    if r.count_only {
        kvs.clear();
        more = false;
    } else if r.keys_only {
        for kv in &mut kvs {
            kv.value.clear();
        }
    }
    Ok(RangeResponse {
        header: header(src.revision()),
        kvs,
        more,
        count,
    })
}

/// What a write did besides its response: lease attachments to update after the commit.
#[derive(Debug, Default)]
pub struct Effects {
    /// Keys now attached to a lease (or to none: 0), in order.
    pub attach: Vec<(Vec<u8>, i64)>,
    /// Keys deleted: detached from their leases.
    pub detach: Vec<Vec<u8>>,
}

pub fn put(
    w: &mut WriteBatch<'_>,
    r: PutRequest,
    lease_exists: &dyn Fn(i64) -> bool,
    fx: &mut Effects,
) -> Result<PutResponse, EtcdError> {
    if r.key.is_empty() {
        return Err(EtcdError::EmptyKey);
    }
    if r.ignore_value && !r.value.is_empty() {
        return Err(EtcdError::ValueProvided);
    }
    if r.ignore_lease && r.lease != 0 {
        return Err(EtcdError::LeaseProvided);
    }
    let current = w.range(&r.key, &[], 0)?.pop();
    if (r.ignore_value || r.ignore_lease) && current.is_none() {
        return Err(EtcdError::KeyNotFound);
    }
    let value = match (&current, r.ignore_value) {
        (Some(c), true) => c.value.clone(),
        _ => r.value,
    };
    let lease = match (&current, r.ignore_lease) {
        (Some(c), true) => c.lease,
        _ => r.lease,
    };
    if lease != 0 && !lease_exists(lease) {
        return Err(EtcdError::LeaseNotFound);
    }
    let prev = w.put(&r.key, value, lease)?;
    fx.attach.push((r.key, lease));
    Ok(PutResponse {
        header: header(w.read_revision()),
        prev_kv: if r.prev_kv { prev } else { None },
    })
}

pub fn delete_range(
    w: &mut WriteBatch<'_>,
    r: DeleteRangeRequest,
    fx: &mut Effects,
) -> Result<DeleteRangeResponse, EtcdError> {
    if r.key.is_empty() {
        return Err(EtcdError::EmptyKey);
    }
    let deleted = w.delete_range(&r.key, &r.range_end)?;
    fx.detach.extend(deleted.iter().map(|kv| kv.key.clone()));
    Ok(DeleteRangeResponse {
        header: header(w.read_revision()),
        deleted: deleted.len() as i64,
        prev_kvs: if r.prev_kv { deleted } else { Vec::new() },
    })
}

/// Validates a transaction before anything runs: too many operations, or the same key
/// written twice in one branch (etcd's rules, checked recursively into nested transactions).
pub fn check_txn(t: &TxnRequest, max_ops: usize) -> Result<(), EtcdError> {
    if t.compare.len() > max_ops || t.success.len() > max_ops || t.failure.len() > max_ops {
        return Err(EtcdError::TooManyOps);
    }
    // Empty keys are refused before anything runs, in compares and in either branch.
    if t.compare.iter().any(|c| c.key.is_empty()) {
        return Err(EtcdError::EmptyKey);
    }
    for op in t.success.iter().chain(&t.failure) {
        let empty = match &op.request {
            Some(request_op::Request::RequestRange(r)) => r.key.is_empty(),
            Some(request_op::Request::RequestPut(p)) => p.key.is_empty(),
            Some(request_op::Request::RequestDeleteRange(d)) => d.key.is_empty(),
            _ => false,
        };
        if empty {
            return Err(EtcdError::EmptyKey);
        }
    }
    for branch in [&t.success, &t.failure] {
        let mut writes: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        collect_writes(branch, max_ops, &mut writes)?;
        for (i, a) in writes.iter().enumerate() {
            for b in &writes[i + 1..] {
                if overlaps(a, b) {
                    return Err(EtcdError::DuplicateKey);
                }
            }
        }
    }
    Ok(())
}

fn collect_writes(
    ops: &[RequestOp],
    max_ops: usize,
    out: &mut Vec<(Vec<u8>, Vec<u8>)>,
) -> Result<(), EtcdError> {
    for op in ops {
        match &op.request {
            Some(request_op::Request::RequestPut(p)) => out.push((p.key.clone(), Vec::new())),
            Some(request_op::Request::RequestDeleteRange(d)) => {
                out.push((d.key.clone(), d.range_end.clone()))
            }
            Some(request_op::Request::RequestTxn(t)) => {
                check_txn(t, max_ops)?;
                // Either nested branch may run; each is checked against this branch's writes.
                let mut s = Vec::new();
                collect_writes(&t.success, max_ops, &mut s)?;
                let mut f = Vec::new();
                collect_writes(&t.failure, max_ops, &mut f)?;
                out.extend(if s.len() >= f.len() { s } else { f });
            }
            _ => {}
        }
    }
    Ok(())
}

/// Whether two written key sets (a key, or a range when the end is set) share a key.
fn overlaps(a: &(Vec<u8>, Vec<u8>), b: &(Vec<u8>, Vec<u8>)) -> bool {
    let contains = |(k, end): &(Vec<u8>, Vec<u8>), key: &[u8]| match end.as_slice() {
        [] => k.as_slice() == key,
        [0] => key >= k.as_slice(),
        end => key >= k.as_slice() && key < end,
    };
    match (a.1.is_empty(), b.1.is_empty()) {
        (true, _) => contains(b, &a.0),
        (_, true) => contains(a, &b.0),
        // Two deletes of ranges may overlap: etcd allows that, as deleting twice is harmless.
        _ => false,
    }
}

/// Whether a compare holds. A missing key compares as a key value of zeros, except that a
/// value compare on a missing key is false (as etcd).
fn compare_holds(src: &impl Source, c: &Compare) -> Result<bool, EtcdError> {
    let kvs = src.range_at(&c.key, &c.range_end, 0)?;
    if kvs.is_empty() {
        if compare::CompareTarget::try_from(c.target) == Ok(compare::CompareTarget::Value) {
            return Ok(false);
        }
        return Ok(compare_kv(c, &KeyValue::default()));
    }
    Ok(kvs.iter().all(|kv| compare_kv(c, kv)))
}

fn compare_kv(c: &Compare, kv: &KeyValue) -> bool {
    use compare::{CompareResult, CompareTarget, TargetUnion};
    let ord = match (CompareTarget::try_from(c.target), &c.target_union) {
        (Ok(CompareTarget::Version), Some(TargetUnion::Version(v))) => kv.version.cmp(v),
        (Ok(CompareTarget::Create), Some(TargetUnion::CreateRevision(v))) => {
            kv.create_revision.cmp(v)
        }
        (Ok(CompareTarget::Mod), Some(TargetUnion::ModRevision(v))) => kv.mod_revision.cmp(v),
        (Ok(CompareTarget::Value), Some(TargetUnion::Value(v))) => {
            kv.value.as_slice().cmp(v.as_slice())
        }
        (Ok(CompareTarget::Lease), Some(TargetUnion::Lease(v))) => kv.lease.cmp(v),
        // A compare whose target and value disagree holds for nothing.
        _ => return false,
    };
    match CompareResult::try_from(c.result) {
        Ok(CompareResult::Equal) => ord.is_eq(),
        Ok(CompareResult::Greater) => ord.is_gt(),
        Ok(CompareResult::Less) => ord.is_lt(),
        Ok(CompareResult::NotEqual) => ord.is_ne(),
        Err(_) => false,
    }
}

/// Which branch each transaction on the chosen path takes. etcd decides them all before any
/// operation runs, so a nested transaction's compares do not see the outer one's writes.
struct Decision {
    succeeded: bool,
    /// For each nested transaction of the chosen branch, in order.
    nested: Vec<Decision>,
}

fn decide(src: &impl Source, t: &TxnRequest) -> Result<Decision, EtcdError> {
    let mut succeeded = true;
    for c in &t.compare {
        if !compare_holds(src, c)? {
            succeeded = false;
            break;
        }
    }
    let branch = if succeeded { &t.success } else { &t.failure };
    let nested = branch
        .iter()
        .filter_map(|op| match &op.request {
            Some(request_op::Request::RequestTxn(n)) => Some(decide(src, n)),
            _ => None,
        })
        .collect::<Result<_, _>>()?;
    Ok(Decision { succeeded, nested })
}

/// Runs a (checked) transaction: all compares first, then the chosen branches, in this
/// request's revision.
pub fn txn(
    w: &mut WriteBatch<'_>,
    t: TxnRequest,
    lease_exists: &dyn Fn(i64) -> bool,
    fx: &mut Effects,
) -> Result<TxnResponse, EtcdError> {
    let decision = decide(w, &t)?;
    run_txn(w, t, decision, lease_exists, fx)
}

fn run_txn(
    w: &mut WriteBatch<'_>,
    t: TxnRequest,
    decision: Decision,
    lease_exists: &dyn Fn(i64) -> bool,
    fx: &mut Effects,
) -> Result<TxnResponse, EtcdError> {
    let ops = if decision.succeeded {
        t.success
    } else {
        t.failure
    };
    let mut nested = decision.nested.into_iter();
    let mut responses = Vec::with_capacity(ops.len());
    for op in ops {
        let response = match op.request {
            Some(request_op::Request::RequestRange(r)) => {
                Some(response_op::Response::ResponseRange(range(w, &r)?))
            }
            Some(request_op::Request::RequestPut(p)) => Some(response_op::Response::ResponsePut(
                put(w, p, lease_exists, fx)?,
            )),
            Some(request_op::Request::RequestDeleteRange(d)) => Some(
                response_op::Response::ResponseDeleteRange(delete_range(w, d, fx)?),
            ),
            Some(request_op::Request::RequestTxn(inner)) => {
                let d = nested
                    .next()
                    .expect("decide() made a decision for every nested transaction");
                Some(response_op::Response::ResponseTxn(run_txn(
                    w,
                    inner,
                    d,
                    lease_exists,
                    fx,
                )?))
            }
            None => None,
        };
        responses.push(ResponseOp { response });
    }
    Ok(TxnResponse {
        header: header(w.read_revision()),
        succeeded: decision.succeeded,
        responses,
    })
}
