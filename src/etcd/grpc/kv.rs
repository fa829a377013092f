//! KV: Range, Put, DeleteRange, Txn, Compact.

use std::sync::Arc;

use prost::Message;
use tonic::{Request, Response, Status};

use super::Shared;
use crate::etcd::applier::{Write, Written};
use crate::etcd::apply;
use crate::etcd::errors::EtcdError;
use crate::etcd::proto::etcdserverpb::{
    CompactionRequest, CompactionResponse, DeleteRangeRequest, DeleteRangeResponse, PutRequest,
    PutResponse, RangeRequest, RangeResponse, ResponseHeader, TxnRequest, TxnResponse,
    kv_server::Kv, response_op,
};

pub struct KvService(pub Arc<Shared>);

#[tonic::async_trait]
impl Kv for KvService {
    async fn range(&self, req: Request<RangeRequest>) -> Result<Response<RangeResponse>, Status> {
        let s = &self.0;
        let view = s.store.read().map_err(EtcdError::from)?;
        let mut resp = apply::range(&view, req.get_ref())?;
        s.complete(&mut resp.header);
        Ok(Response::new(resp))
    }

    async fn put(&self, req: Request<PutRequest>) -> Result<Response<PutResponse>, Status> {
        let r = req.into_inner();
        self.0.admit_write(r.encoded_len())?;
        match self.0.applier.apply(Write::Put(r)).await? {
            Written::Put(mut r) => {
                self.0.complete(&mut r.header);
                Ok(Response::new(r))
            }
            other => Err(unexpected(other)),
        }
    }

    async fn delete_range(
        &self,
        req: Request<DeleteRangeRequest>,
    ) -> Result<Response<DeleteRangeResponse>, Status> {
        match self
            .0
            .applier
            .apply(Write::DeleteRange(req.into_inner()))
            .await?
        {
            Written::DeleteRange(mut r) => {
                self.0.complete(&mut r.header);
                Ok(Response::new(r))
            }
            other => Err(unexpected(other)),
        }
    }

    async fn txn(&self, req: Request<TxnRequest>) -> Result<Response<TxnResponse>, Status> {
        let t = req.into_inner();
        self.0.admit_write(t.encoded_len())?;
        apply::check_txn(&t, self.0.max_txn_ops)?;
        match self.0.applier.apply(Write::Txn(t)).await? {
            Written::Txn(mut r) => {
                complete_txn(&self.0, &mut r);
                Ok(Response::new(r))
            }
            other => Err(unexpected(other)),
        }
    }

    async fn compact(
        &self,
        req: Request<CompactionRequest>,
    ) -> Result<Response<CompactionResponse>, Status> {
        let rev = req.get_ref().revision;
        let store = self.0.store.clone();
        // Compaction deletes records and fsyncs: off the async threads.
        tokio::task::spawn_blocking(move || store.compact(rev))
            .await
            .map_err(|e| EtcdError::Internal(e.to_string()))?
            .map_err(EtcdError::from)?;
        tracing::info!(revision = rev, "compacted");
        Ok(Response::new(CompactionResponse {
            header: self.0.header(0),
        }))
    }
}

/// Headers of a transaction: the full header on the transaction; inside it, as etcd answers,
/// responses carry only the transaction's final revision, and nested transactions none.
fn complete_txn(s: &Shared, r: &mut TxnResponse) {
    s.complete(&mut r.header);
    let rev = r.header.as_ref().map_or(0, |h| h.revision);
    inner_headers(r, rev);
}

fn inner_headers(r: &mut TxnResponse, rev: i64) {
    let only_rev = || {
        Some(ResponseHeader {
            revision: rev,
            ..Default::default()
        })
    };
    for op in &mut r.responses {
        match &mut op.response {
            Some(response_op::Response::ResponseRange(x)) => x.header = only_rev(),
            Some(response_op::Response::ResponsePut(x)) => x.header = only_rev(),
            Some(response_op::Response::ResponseDeleteRange(x)) => x.header = only_rev(),
            Some(response_op::Response::ResponseTxn(x)) => {
                x.header = None;
                inner_headers(x, rev);
            }
            None => {}
        }
    }
}

pub fn unexpected(w: Written) -> Status {
    Status::internal(format!("etcdserver: unexpected applier answer {w:?}"))
}
