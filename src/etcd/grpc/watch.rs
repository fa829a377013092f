//! Watch: one bidirectional stream carries many watches. Each watch is a task that reads events
//! from the store's revision-ordered log, from its start revision to the newest committed one,
//! then waits for the next commit — so events come in revision order, with no gap and no
//! duplicate, whether they are history or new.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::Shared;
use crate::etcd::proto::etcdserverpb::{
    WatchCreateRequest, WatchRequest, WatchResponse, watch_create_request::FilterType,
    watch_request, watch_server::Watch,
};
use crate::etcd::proto::mvccpb::{Event, event::EventType};

pub struct WatchService(pub Arc<Shared>);

type WatchStream = Pin<Box<dyn Stream<Item = Result<WatchResponse, Status>> + Send>>;

/// etcd's default interval for progress notifications on idle watches that asked for them.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(600);
/// Events per response; more go in the next response (same revision kept whole).
const MAX_EVENTS_PER_RESPONSE: usize = 1000;

#[tonic::async_trait]
impl Watch for WatchService {
    type WatchStream = WatchStream;

    async fn watch(
        &self,
        req: Request<Streaming<WatchRequest>>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let mut incoming = req.into_inner();
        let shared = self.0.clone();
        let (tx, rx) = mpsc::channel::<Result<WatchResponse, Status>>(128);
        tokio::spawn(async move {
            let mut watches: HashMap<i64, JoinHandle<()>> = HashMap::new();
            let mut next_id = 0i64;
            while let Some(Ok(req)) = incoming.next().await {
                match req.request_union {
                    Some(watch_request::RequestUnion::CreateRequest(c)) => {
                        let id = if c.watch_id != 0 {
                            c.watch_id
                        } else {
                            while watches.contains_key(&next_id) {
                                next_id += 1;
                            }
                            next_id
                        };
                        if watches.contains_key(&id) {
                            // etcd answers a taken ID with a created-and-canceled response.
                            let _ = tx
                                .send(Ok(WatchResponse {
                                    header: shared.header(0),
                                    watch_id: id,
                                    created: true,
                                    canceled: true,
                                    cancel_reason: "etcdserver: duplicate watch ID".into(),
                                    ..Default::default()
                                }))
                                .await;
                            continue;
                        }
                        watches.insert(
                            id,
                            tokio::spawn(run_watch(shared.clone(), id, c, tx.clone())),
                        );
                    }
                    Some(watch_request::RequestUnion::CancelRequest(c)) => {
                        if let Some(task) = watches.remove(&c.watch_id) {
                            task.abort();
                            let _ = tx
                                .send(Ok(WatchResponse {
                                    header: shared.header(0),
                                    watch_id: c.watch_id,
                                    canceled: true,
                                    ..Default::default()
                                }))
                                .await;
                        }
                    }
                    Some(watch_request::RequestUnion::ProgressRequest(_)) => {
                        // Every watch here is always in sync with the store: the current
                        // revision is progress for all of them (watch_id -1, as etcd).
                        let _ = tx
                            .send(Ok(WatchResponse {
                                header: shared.header(0),
                                watch_id: -1,
                                ..Default::default()
                            }))
                            .await;
                    }
                    None => {}
                }
            }
            for (_, task) in watches {
                task.abort();
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

async fn run_watch(
    shared: Arc<Shared>,
    id: i64,
    c: WatchCreateRequest,
    tx: mpsc::Sender<Result<WatchResponse, Status>>,
) {
    let mut commits = shared.store.subscribe();
    let current = shared.store.current_revision();
    let mut next = if c.start_revision > 0 {
        c.start_revision
    } else {
        current + 1
    };
    let created = WatchResponse {
        header: shared.header(0),
        watch_id: id,
        created: true,
        ..Default::default()
    };
    if tx.send(Ok(created)).await.is_err() {
        return;
    }
    let no_put = c.filters.contains(&(FilterType::Noput as i32));
    let no_delete = c.filters.contains(&(FilterType::Nodelete as i32));
    loop {
        let compacted = shared.store.compacted_revision();
        if next < compacted {
            let _ = tx
                .send(Ok(WatchResponse {
                    // etcd leaves the revision out of this one.
                    header: shared.cluster_header(),
                    watch_id: id,
                    canceled: true,
                    compact_revision: compacted,
                    // Empty, as etcd 3.4 sends it: clients turn compact_revision into the error.
                    ..Default::default()
                }))
                .await;
            return;
        }
        let committed = *commits.borrow_and_update();
        if next <= committed {
            let read = shared.store.read().and_then(|v| {
                let events = v.events(next, &c.key, &c.range_end, c.prev_kv)?;
                Ok((v.revision(), events))
            });
            let (read_to, events) = match read {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(watch = id, "reading events: {e}");
                    return;
                }
            };
            let events: Vec<Event> = events
                .into_iter()
                .filter(|e| {
                    let put = e.r#type == EventType::Put as i32;
                    !(put && no_put || !put && no_delete)
                })
                .collect();
            let fragment_at = c.fragment.then_some(shared.max_request_bytes);
            if !events.is_empty() && !send_events(&shared, id, events, fragment_at, &tx).await {
                return;
            }
            next = read_to + 1;
            continue;
        }
        let progress = tokio::time::sleep(PROGRESS_INTERVAL);
        tokio::select! {
            r = commits.changed() => if r.is_err() { return },
            _ = progress, if c.progress_notify => {
                let resp = WatchResponse { header: shared.header(0), watch_id: id, ..Default::default() };
                if tx.send(Ok(resp)).await.is_err() { return; }
            }
        }
    }
}

/// Sends events in responses of bounded size, never splitting one revision's events. A watch
/// created with `fragment` gets responses of at most `fragment_at` bytes instead, every one but
/// the last of a batch marked `fragment`, as etcd splits them (clients join them back).
async fn send_events(
    shared: &Shared,
    id: i64,
    events: Vec<Event>,
    fragment_at: Option<usize>,
    tx: &mpsc::Sender<Result<WatchResponse, Status>>,
) -> bool {
    use prost::Message;
    let rev_of = |e: &Event| e.kv.as_ref().map_or(0, |kv| kv.mod_revision);
    let mut chunks: Vec<Vec<Event>> = vec![Vec::new()];
    let mut bytes = 0usize;
    let mut iter = events.into_iter().peekable();
    while let Some(e) = iter.next() {
        let rev = rev_of(&e);
        let size = e.encoded_len();
        let chunk = chunks.last_mut().expect("chunks is never empty");
        if let Some(limit) = fragment_at
            && !chunk.is_empty()
            && bytes + size > limit
        {
            chunks.push(Vec::new());
            bytes = 0;
        }
        bytes += size;
        chunks.last_mut().expect("chunks is never empty").push(e);
        let same_rev_follows = iter.peek().is_some_and(|n| rev_of(n) == rev);
        if fragment_at.is_none()
            && chunks
                .last()
                .is_some_and(|c| c.len() >= MAX_EVENTS_PER_RESPONSE)
            && !same_rev_follows
            && iter.peek().is_some()
        {
            chunks.push(Vec::new());
        }
    }
    let last = chunks.len() - 1;
    for (i, events) in chunks.into_iter().enumerate() {
        let resp = WatchResponse {
            header: shared.header(0),
            watch_id: id,
            events,
            fragment: fragment_at.is_some() && i < last,
            ..Default::default()
        };
        if tx.send(Ok(resp)).await.is_err() {
            return false;
        }
    }
    true
}
