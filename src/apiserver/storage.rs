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

/// Which page of a list to read.
#[derive(Default, Debug, Clone)]
pub struct PageRequest {
    /// Read as of this revision (a consistent snapshot across pages); None: the newest.
    pub revision: Option<i64>,
    /// The first key to read; None: the first of the kind.
    pub start: Option<Vec<u8>>,
    /// At most this many objects; 0: all.
    pub limit: i64,
}

/// Keys written along with an object: `claim` (key, value) pairs must be absent and are
/// created, `release` keys are deleted.
#[derive(Default, Debug)]
pub struct Claims {
    pub claim: Vec<(Vec<u8>, Vec<u8>)>,
    pub release: Vec<Vec<u8>>,
}

/// An object as etcd holds it, not decoded yet.
pub struct Stored {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    pub revision: i64,
}

impl Stored {
    pub fn object(&self) -> Result<Value, ApiError> {
        decode(&self.value, self.revision)
    }

    /// The object as JSON text with its resourceVersion, decoded only if it must be.
    pub fn json(&self) -> Result<Vec<u8>, ApiError> {
        match super::rawjson::with_resource_version(&self.value, self.revision) {
            Some(text) => Ok(text),
            None => Ok(serde_json::to_vec(&self.object()?).expect("a JSON value serialises")),
        }
    }

    /// The object without its managedFields, for tables.
    pub fn object_without_managed_fields(&self) -> Result<Value, ApiError> {
        decode(
            &super::rawjson::without_managed_fields(&self.value),
            self.revision,
        )
    }
}

/// A page of objects with their etcd keys.
pub struct Page {
    pub items: Vec<Stored>,
    pub revision: i64,
    /// Whether objects remain after this page.
    pub more: bool,
    /// How many objects remain after this page.
    pub remaining: i64,
}

#[derive(Clone)]
pub struct Storage {
    kv: KvClient<Channel>,
    /// Watches get their own HTTP/2 connection's streams, shared with reads (one channel).
    watch_channel: Channel,
}

fn etcd_error(e: tonic::Status) -> ApiError {
    ApiError::internal(format!("etcd: {}", e.message()))
}

/// `/registry/<resource>` for built-in kinds, `/registry/<group>/<resource>` for a CRD's, as
/// upstream lays them out (a CRD's plural may be a built-in one's in another group).
fn base(kind: &Kind) -> String {
    if crate::kinds::is_builtin(kind) {
        format!("/registry/{}", kind.resource)
    } else {
        format!("/registry/{}/{}", kind.group, kind.resource)
    }
}

pub fn key(kind: &Kind, namespace: Option<&str>, name: &str) -> Vec<u8> {
    match namespace {
        Some(ns) => format!("{}/{ns}/{name}", base(kind)),
        None => format!("{}/{name}", base(kind)),
    }
    .into_bytes()
}

fn prefix(kind: &Kind, namespace: Option<&str>) -> Vec<u8> {
    match namespace {
        Some(ns) => format!("{}/{ns}/", base(kind)),
        None => format!("{}/", base(kind)),
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
    let obj: Value = serde_json::from_slice(value)
        .map_err(|e| ApiError::internal(format!("undecodable object in etcd: {e}")))?;
    Ok(with_revision(obj, mod_revision))
}

fn encode(obj: &Value) -> Vec<u8> {
    let mut stored = obj.clone();
    // The revision is etcd's to give; it is added back on every read.
    if let Some(m) = stored["metadata"].as_object_mut() {
        m.remove("resourceVersion");
    }
    serde_json::to_vec(&stored).expect("a JSON value always serialises")
}

/// The object as written at revision `rev`.
pub fn with_revision(mut obj: Value, rev: i64) -> Value {
    obj["metadata"]["resourceVersion"] = rev.to_string().into();
    obj
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

fn delete_op(key: Vec<u8>) -> RequestOp {
    RequestOp {
        request: Some(request_op::Request::RequestDeleteRange(
            DeleteRangeRequest {
                key,
                ..Default::default()
            },
        )),
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
    pub fn new(channel: Channel) -> Storage {
        Storage {
            kv: KvClient::new(channel.clone()).max_decoding_message_size(usize::MAX),
            watch_channel: channel,
        }
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
        let page = self.list_page(kind, ns, &PageRequest::default()).await?;
        let items = page
            .items
            .iter()
            .map(Stored::object)
            .collect::<Result<_, _>>()?;
        Ok((items, page.revision))
    }

    /// One page of a list: up to `limit` objects from key `start` on, as of `revision`
    /// (etcd's newest when None). A compacted revision is an `Expired` error.
    pub async fn list_page(
        &self,
        kind: &Kind,
        ns: Option<&str>,
        req: &PageRequest,
    ) -> Result<Page, ApiError> {
        let p = prefix(kind, ns);
        let end = prefix_end(&p);
        let key = match &req.start {
            Some(start) if start.starts_with(&p) => start.clone(),
            _ => p,
        };
        let mut kv = self.kv.clone();
        let r = kv
            .range(RangeRequest {
                key,
                range_end: end,
                limit: req.limit,
                revision: req.revision.unwrap_or(0),
                ..Default::default()
            })
            .await
            .map_err(|e| {
                if e.message().contains("compacted") {
                    ApiError::expired(
                        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
                    )
                } else {
                    etcd_error(e)
                }
            })?
            .into_inner();
        let items: Vec<Stored> = r
            .kvs
            .into_iter()
            .map(|kv| Stored {
                key: kv.key,
                value: kv.value,
                revision: kv.mod_revision,
            })
            .collect();
        Ok(Page {
            remaining: r.count - items.len() as i64,
            items,
            revision: r.header.map_or(0, |h| h.revision),
            more: r.more,
        })
    }

    /// Creates the object unless its key exists; returns it with its resourceVersion.
    pub async fn create(
        &self,
        kind: &Kind,
        ns: Option<&str>,
        name: &str,
        obj: Value,
    ) -> Result<Value, ApiError> {
        self.write_with_claims(kind, ns, name, None, Some(&obj), &Claims::default())
            .await?
            .map(|rev| with_revision(obj, rev))
            .ok_or_else(|| ApiError::already_exists(kind, name))
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
        self.write_with_claims(
            kind,
            ns,
            name,
            Some(expected),
            Some(&obj),
            &Claims::default(),
        )
        .await?
        .map(|rev| with_revision(obj, rev))
        .ok_or_else(|| ApiError::conflict(kind, name))
    }

    /// Writes (or, with `obj` None, deletes) an object together with claims on other keys, in
    /// one etcd transaction: the object must be absent (`expected` None) or at `expected`,
    /// every key of `claim` absent (it is then created), and every key of `release` is
    /// deleted. Ok(None) when a condition failed. Service IPs and node ports are held so.
    pub async fn write_with_claims(
        &self,
        kind: &Kind,
        ns: Option<&str>,
        name: &str,
        expected: Option<i64>,
        obj: Option<&Value>,
        claims: &Claims,
    ) -> Result<Option<i64>, ApiError> {
        let k = key(kind, ns, name);
        let mut compare = vec![match expected {
            None => absent(k.clone()),
            Some(rev) => mod_revision_is(k.clone(), rev),
        }];
        let mut success = vec![match obj {
            Some(o) => put_op(k.clone(), encode(o)),
            None => delete_op(k.clone()),
        }];
        for (key, value) in &claims.claim {
            compare.push(absent(key.clone()));
            success.push(put_op(key.clone(), value.clone()));
        }
        success.extend(claims.release.iter().cloned().map(delete_op));
        let mut kv = self.kv.clone();
        let r = kv
            .txn(TxnRequest {
                compare,
                success,
                failure: vec![],
            })
            .await
            .map_err(etcd_error)?
            .into_inner();
        Ok(r.succeeded.then(|| r.header.map_or(0, |h| h.revision)))
    }

    /// The keys under a prefix (claims, such as allocated service IPs).
    pub async fn keys(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>, ApiError> {
        let mut kv = self.kv.clone();
        let r = kv
            .range(RangeRequest {
                key: prefix.to_vec(),
                range_end: prefix_end(prefix),
                keys_only: true,
                ..Default::default()
            })
            .await
            .map_err(etcd_error)?
            .into_inner();
        Ok(r.kvs.into_iter().map(|kv| kv.key).collect())
    }

    /// Deletes every object of a kind, in all namespaces, at once (a CRD's objects when the
    /// CRD goes); the number deleted.
    pub async fn delete_all(&self, kind: &Kind) -> Result<i64, ApiError> {
        let p = prefix(kind, None);
        let mut kv = self.kv.clone();
        let r = kv
            .delete_range(DeleteRangeRequest {
                range_end: prefix_end(&p),
                key: p,
                ..Default::default()
            })
            .await
            .map_err(etcd_error)?
            .into_inner();
        Ok(r.deleted)
    }

    /// Deletes the object if it is still at `expected`.
    pub async fn delete(
        &self,
        kind: &Kind,
        ns: Option<&str>,
        name: &str,
        expected: i64,
    ) -> Result<(), ApiError> {
        self.write_with_claims(kind, ns, name, Some(expected), None, &Claims::default())
            .await?
            .map(|_| ())
            .ok_or_else(|| ApiError::conflict(kind, name))
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

/// A change to an object, as a Kubernetes watch reports it.
#[derive(Debug)]
pub struct Change {
    pub kind: ChangeKind,
    /// The object after the change; for a deletion, the object as it was, with the deleting
    /// revision as its resourceVersion.
    pub object: Value,
    /// The object before a modification, when etcd still had it: a watch with a selector
    /// needs it to tell an object that stopped matching.
    pub previous: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Modified,
    Deleted,
}

impl ChangeKind {
    /// The watch event type.
    pub fn event_type(self) -> &'static str {
        match self {
            ChangeKind::Added => "ADDED",
            ChangeKind::Modified => "MODIFIED",
            ChangeKind::Deleted => "DELETED",
        }
    }
}

impl Change {
    /// The etcd revision of the change (the object's resourceVersion in the event).
    pub fn revision(&self) -> i64 {
        self.object["metadata"]["resourceVersion"]
            .as_str()
            .and_then(|r| r.parse().ok())
            .unwrap_or(0)
    }
}

/// The etcd revision a watch was asked to start after has been compacted away.
#[derive(Debug)]
pub struct Expired {
    pub requested: i64,
    pub compacted: i64,
}

impl Storage {
    /// Changes to objects of a kind after revision `after` (None: from now on), as they
    /// happen, and the etcd revision at the watch's start. The stream ends when etcd goes away;
    /// `Err(Expired)` when `after` was compacted.
    pub async fn watch(
        &self,
        kind: &Kind,
        ns: Option<&str>,
        after: Option<i64>,
    ) -> Result<
        (
            i64,
            impl futures::Stream<Item = Result<Vec<Change>, Expired>> + Send + 'static,
        ),
        ApiError,
    > {
        use crate::etcd::proto::etcdserverpb::{WatchCreateRequest, WatchRequest, watch_request};
        use crate::etcd::proto::mvccpb::event::EventType;
        use futures::StreamExt;

        let p = prefix(kind, ns);
        let create = WatchRequest {
            request_union: Some(watch_request::RequestUnion::CreateRequest(
                WatchCreateRequest {
                    range_end: prefix_end(&p),
                    key: p,
                    start_revision: after.map_or(0, |a| a + 1),
                    prev_kv: true,
                    ..Default::default()
                },
            )),
        };
        // The request stream must stay open for the watch to live: it is kept in the stream.
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        tx.send(create)
            .await
            .map_err(|_| ApiError::internal("etcd watch request"))?;
        let mut client = crate::etcd::proto::etcdserverpb::watch_client::WatchClient::new(
            self.watch_channel.clone(),
        );
        let mut responses = client
            .watch(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await
            .map_err(etcd_error)?
            .into_inner();
        // The first answer confirms the watch and tells etcd's revision at its start.
        let created = responses
            .message()
            .await
            .map_err(etcd_error)?
            .ok_or_else(|| ApiError::internal("etcd closed the watch before confirming it"))?;
        let start = created.header.as_ref().map_or(0, |h| h.revision);
        let after = after.unwrap_or(start);
        let changes = futures::stream::iter([Ok(created)])
            .chain(responses)
            .map(move |r| {
                let _keep_open = &tx;
                r
            })
            .take_while(|r| futures::future::ready(r.is_ok()))
            .filter_map(move |r| async move {
                let r = r.ok()?;
                if r.compact_revision > 0 {
                    return Some(Err(Expired {
                        requested: after,
                        compacted: r.compact_revision,
                    }));
                }
                let changes: Vec<Change> = r
                    .events
                    .iter()
                    .filter_map(|e| {
                        let kv = e.kv.as_ref()?;
                        if e.r#type == EventType::Delete as i32 {
                            let prev = e.prev_kv.as_ref()?;
                            let mut obj = decode(&prev.value, kv.mod_revision).ok()?;
                            obj["metadata"]["resourceVersion"] = kv.mod_revision.to_string().into();
                            Some(Change {
                                kind: ChangeKind::Deleted,
                                object: obj,
                                previous: None,
                            })
                        } else {
                            let object = decode(&kv.value, kv.mod_revision).ok()?;
                            let previous = e
                                .prev_kv
                                .as_ref()
                                .and_then(|p| decode(&p.value, p.mod_revision).ok());
                            let kind = if kv.create_revision == kv.mod_revision {
                                ChangeKind::Added
                            } else {
                                ChangeKind::Modified
                            };
                            Some(Change {
                                kind,
                                object,
                                previous,
                            })
                        }
                    })
                    .collect();
                (!changes.is_empty() || r.canceled).then_some(Ok(changes))
            });
        Ok((start, changes))
    }
}

/// Ends `changes` right after an expiry, without waiting for etcd's next message: upstream
/// closes a watch after its ERROR event.
pub fn until_expired<S>(
    changes: S,
) -> impl futures::Stream<Item = Result<Vec<Change>, Expired>> + Send
where
    S: futures::Stream<Item = Result<Vec<Change>, Expired>> + Send + 'static,
{
    use futures::StreamExt;
    futures::stream::unfold((Box::pin(changes), false), |(mut s, done)| async move {
        if done {
            return None;
        }
        let item = s.next().await?;
        let done = item.is_err();
        Some((item, (s, done)))
    })
}
