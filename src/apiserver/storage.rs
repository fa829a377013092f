//! Objects in etcd, laid out as upstream does: `/registry/<resource>/<namespace>/<name>` (or
//! `/registry/<resource>/<name>` for cluster-scoped kinds), JSON values, so `etcdctl get
//! /registry/configmaps/default/x` shows the object. An object's resourceVersion is its etcd
//! mod revision; optimistic concurrency is an etcd transaction comparing it.

use serde_json::Value;
use tonic::transport::Channel;

use super::status::ApiError;
use crate::etcd::proto::etcdserverpb::{
    Compare, DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest,
    compare::{CompareResult, CompareTarget, TargetUnion},
    kv_client::KvClient,
    request_op,
};
use crate::kinds::Kind;

#[derive(Clone)]
pub struct Storage {
    kv: KvClient<Channel>,
}

fn etcd_error(e: tonic::Status) -> ApiError {
    ApiError::internal(format!("etcd: {}", e.message()))
}

pub fn key(kind: &Kind, namespace: Option<&str>, name: &str) -> Vec<u8> {
    match namespace {
        Some(ns) => format!("/registry/{}/{ns}/{name}", kind.resource),
        None => format!("/registry/{}/{name}", kind.resource),
    }
    .into_bytes()
}

fn prefix(kind: &Kind, namespace: Option<&str>) -> Vec<u8> {
    match namespace {
        Some(ns) => format!("/registry/{}/{ns}/", kind.resource),
        None => format!("/registry/{}/", kind.resource),
    }
    .into_bytes()
}

/// The end of the range of keys starting with `p` (etcd's prefix convention).
fn prefix_end(p: &[u8]) -> Vec<u8> {
    let mut end = p.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

fn decode(value: &[u8], mod_revision: i64) -> Result<Value, ApiError> {
    let mut obj: Value = serde_json::from_slice(value)
        .map_err(|e| ApiError::internal(format!("undecodable object in etcd: {e}")))?;
    obj["metadata"]["resourceVersion"] = Value::String(mod_revision.to_string());
    Ok(obj)
}

fn encode(obj: &Value) -> Vec<u8> {
    let mut stored = obj.clone();
    // The revision is etcd's to give; it is added back on every read.
    if let Some(m) = stored["metadata"].as_object_mut() {
        m.remove("resourceVersion");
    }
    serde_json::to_vec(&stored).expect("a JSON value always serialises")
}

fn mod_revision_is(key: Vec<u8>, rev: i64) -> Compare {
    Compare {
        result: CompareResult::Equal as i32,
        target: CompareTarget::Mod as i32,
        key,
        target_union: Some(TargetUnion::ModRevision(rev)),
        ..Default::default()
    }
}

fn absent(key: Vec<u8>) -> Compare {
    Compare {
        result: CompareResult::Equal as i32,
        target: CompareTarget::Create as i32,
        key,
        target_union: Some(TargetUnion::CreateRevision(0)),
        ..Default::default()
    }
}

fn put_op(key: Vec<u8>, value: Vec<u8>) -> RequestOp {
    RequestOp {
        request: Some(request_op::Request::RequestPut(PutRequest {
            key,
            value,
            ..Default::default()
        })),
    }
}

impl Storage {
    pub fn new(kv: KvClient<Channel>) -> Storage {
        Storage { kv }
    }

    /// Whether etcd answers, for /readyz.
    pub async fn ping(&self) -> Result<(), String> {
        let mut kv = self.kv.clone();
        let req = RangeRequest {
            key: b"/registry/health".to_vec(),
            count_only: true,
            ..Default::default()
        };
        match tokio::time::timeout(std::time::Duration::from_secs(2), kv.range(req)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.message().to_string()),
            Err(_) => Err("no answer within 2 s".into()),
        }
    }

    pub async fn get(
        &self,
        kind: &Kind,
        ns: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>, ApiError> {
        let mut kv = self.kv.clone();
        let r = kv
            .range(RangeRequest {
                key: key(kind, ns, name),
                ..Default::default()
            })
            .await
            .map_err(etcd_error)?
            .into_inner();
        r.kvs
            .first()
            .map(|kv| decode(&kv.value, kv.mod_revision))
            .transpose()
    }

    /// Every object of a kind (in one namespace, or all), and the list's resourceVersion.
    pub async fn list(&self, kind: &Kind, ns: Option<&str>) -> Result<(Vec<Value>, i64), ApiError> {
        let p = prefix(kind, ns);
        let mut kv = self.kv.clone();
        let r = kv
            .range(RangeRequest {
                range_end: prefix_end(&p),
                key: p,
                ..Default::default()
            })
            .await
            .map_err(etcd_error)?
            .into_inner();
        let items = r
            .kvs
            .iter()
            .map(|kv| decode(&kv.value, kv.mod_revision))
            .collect::<Result<_, _>>()?;
        Ok((items, r.header.map_or(0, |h| h.revision)))
    }

    /// Creates the object unless its key exists; returns it with its resourceVersion.
    pub async fn create(
        &self,
        kind: &Kind,
        ns: Option<&str>,
        name: &str,
        obj: Value,
    ) -> Result<Value, ApiError> {
        let k = key(kind, ns, name);
        let mut kv = self.kv.clone();
        let r = kv
            .txn(TxnRequest {
                compare: vec![absent(k.clone())],
                success: vec![put_op(k, encode(&obj))],
                failure: vec![],
            })
            .await
            .map_err(etcd_error)?
            .into_inner();
        if !r.succeeded {
            return Err(ApiError::already_exists(kind, name));
        }
        let mut obj = obj;
        obj["metadata"]["resourceVersion"] = r.header.map_or(0, |h| h.revision).to_string().into();
        Ok(obj)
    }

    /// Replaces the object if it is still at `expected` (its resourceVersion).
    pub async fn update(
        &self,
        kind: &Kind,
        ns: Option<&str>,
        name: &str,
        expected: i64,
        obj: Value,
    ) -> Result<Value, ApiError> {
        let k = key(kind, ns, name);
        let mut kv = self.kv.clone();
        let r = kv
            .txn(TxnRequest {
                compare: vec![mod_revision_is(k.clone(), expected)],
                success: vec![put_op(k, encode(&obj))],
                failure: vec![],
            })
            .await
            .map_err(etcd_error)?
            .into_inner();
        if !r.succeeded {
            return Err(ApiError::conflict(kind, name));
        }
        let mut obj = obj;
        obj["metadata"]["resourceVersion"] = r.header.map_or(0, |h| h.revision).to_string().into();
        Ok(obj)
    }

    /// Deletes the object if it is still at `expected`.
    pub async fn delete(
        &self,
        kind: &Kind,
        ns: Option<&str>,
        name: &str,
        expected: i64,
    ) -> Result<(), ApiError> {
        let k = key(kind, ns, name);
        let mut kv = self.kv.clone();
        let r = kv
            .txn(TxnRequest {
                compare: vec![mod_revision_is(k.clone(), expected)],
                success: vec![RequestOp {
                    request: Some(request_op::Request::RequestDeleteRange(
                        DeleteRangeRequest {
                            key: k,
                            ..Default::default()
                        },
                    )),
                }],
                failure: vec![],
            })
            .await
            .map_err(etcd_error)?
            .into_inner();
        if !r.succeeded {
            return Err(ApiError::conflict(kind, name));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_upstreams_layout() {
        let cm = crate::kinds::find("", "v1", "configmaps").unwrap();
        let ns = crate::kinds::find("", "v1", "namespaces").unwrap();
        assert_eq!(
            key(cm, Some("default"), "x"),
            b"/registry/configmaps/default/x"
        );
        assert_eq!(
            key(ns, None, "kube-system"),
            b"/registry/namespaces/kube-system"
        );
        assert_eq!(
            prefix_end(b"/registry/configmaps/"),
            b"/registry/configmaps0"
        );
    }
}
