//! Watches: a stream of ADDED, MODIFIED, DELETED, BOOKMARK and ERROR events, one JSON object
//! per line, served from the resource's [watch cache](super::watchcache).
//!
//! - `resourceVersion` absent or "0", or `sendInitialEvents=true`: first an ADDED for every
//!   object that exists (kubectl's `get NAME -w` drops that first event, expecting it), then
//!   changes; with `sendInitialEvents=true` and bookmarks, a BOOKMARK annotated
//!   `k8s.io/initial-events-end` marks the end of the initial objects.
//! - otherwise: the changes after that resourceVersion; 410 Expired when etcd compacted it.
//! - selectors are applied to events as upstream does: an object that starts matching is
//!   ADDED, one that stops matching is DELETED.
//! - under the Table Accept each object is a one-row Table.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::Server;
use super::rest::{query_param, to_table};
use super::selector::Selectors;
use super::status::ApiError;
use super::storage::{ChangeKind, Expired};
use super::watchcache::{Cache, Event, watch_line};
use crate::kinds::Kind;

/// How often a watch that allows bookmarks gets one (upstream: about once a minute).
const BOOKMARK_EVERY: Duration = Duration::from_secs(30);

/// What one watcher is told about, in order.
enum Item {
    Event(Arc<Event>),
    /// The watcher has seen everything up to this revision.
    Bookmark(i64),
    Expired(Expired),
}

/// Which events a watcher wants.
struct Filter {
    namespace: Option<String>,
    selectors: Selectors,
}

impl Filter {
    fn matches(&self, obj: &Value) -> bool {
        self.namespace
            .as_deref()
            .is_none_or(|ns| obj["metadata"]["namespace"].as_str() == Some(ns))
            && self.selectors.matches(obj)
    }

    fn is_everything_in_namespace(&self) -> bool {
        self.selectors.is_empty()
    }

    /// The event type this watcher sees for a change, if any.
    fn event_type(&self, e: &Event) -> Option<&'static str> {
        let now = self.matches(&e.change.object);
        // Without the previous object (etcd no longer had it), assume it matched as now.
        let before = match (&e.change.kind, &e.change.previous) {
            (ChangeKind::Modified, Some(prev)) => self.matches(prev),
            _ => now,
        };
        match (e.change.kind, before, now) {
            (ChangeKind::Modified, false, true) => Some("ADDED"),
            (ChangeKind::Modified, true, false) => Some("DELETED"),
            (kind, _, true) => Some(kind.event_type()),
            _ => None,
        }
    }
}

pub async fn watch(
    server: &Server,
    kind: &'static Kind,
    ns: Option<&str>,
    query: &str,
    table: bool,
) -> Result<Response, ApiError> {
    let filter = Filter {
        namespace: ns.map(str::to_string),
        selectors: Selectors::from_query(kind, query)?,
    };
    let rv = query_param(query, "resourceVersion").unwrap_or("");
    let send_initial = query_param(query, "sendInitialEvents") == Some("true");
    let bookmarks = matches!(
        query_param(query, "allowWatchBookmarks"),
        Some("true" | "1")
    );
    let timeout = query_param(query, "timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or(1800);

    let cache = server.watch_caches.get(kind).await?;
    let mut first: Vec<Bytes> = Vec::new();
    let events: futures::stream::BoxStream<'static, Item> =
        if rv.is_empty() || rv == "0" || send_initial {
            // Live events are taken before the list, so none is lost in between; those the
            // list already shows are skipped.
            let live = cache
                .subscribe_now()
                .ok_or_else(|| ApiError::internal("the watch cache closed; watch again"))?;
            let (items, listed) = server.storage.list(kind, ns).await?;
            first.extend(
                items
                    .iter()
                    .filter(|o| filter.matches(o))
                    .map(|o| encode(kind, table, "ADDED", o)),
            );
            if send_initial && bookmarks {
                first.push(encode(
                    kind,
                    table,
                    "BOOKMARK",
                    &bookmark(kind, listed, true),
                ));
            }
            live_events(VecDeque::new(), live, listed, &cache, bookmarks)
        } else {
            let after: i64 = rv
                .parse()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version {rv:?}")))?;
            match cache.subscribe(after) {
                Some(sub) => live_events(sub.replay.into(), sub.live, after, &cache, bookmarks),
                None => {
                    // Older than the cache remembers: etcd itself may still have it.
                    let (_, changes) = server.storage.watch(kind, ns, Some(after)).await?;
                    super::storage::until_expired(changes)
                        .flat_map(|batch| {
                            let items: Vec<Item> = match batch {
                                Ok(changes) => changes
                                    .into_iter()
                                    .map(|c| Item::Event(Arc::new(Event::new(c))))
                                    .collect(),
                                Err(e) => vec![Item::Expired(e)],
                            };
                            futures::stream::iter(items)
                        })
                        .boxed()
                }
            }
        };

    // The cache's pre-encoded line serves a watcher that wants every object as stored.
    let plain =
        !table && filter.is_everything_in_namespace() && !super::crds::needs_conversion(kind);
    let later = events
        .filter_map(move |item| {
            let line = match item {
                Item::Event(e) => filter.event_type(&e).map(|t| {
                    if plain && t == e.change.kind.event_type() {
                        e.json_line()
                    } else {
                        encode(kind, table, t, &e.change.object)
                    }
                }),
                Item::Bookmark(rev) => {
                    Some(encode(kind, table, "BOOKMARK", &bookmark(kind, rev, false)))
                }
                Item::Expired(e) => Some(watch_line(
                    "ERROR",
                    &json!({
                        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                        "message": format!("too old resource version: {} ({})", e.requested, e.compacted),
                        "reason": "Expired", "code": 410,
                    }),
                )),
            };
            futures::future::ready(line)
        })
        .take_until(tokio::time::sleep(Duration::from_secs(timeout)));
    let body = futures::stream::iter(first)
        .chain(later)
        .map(Ok::<_, std::convert::Infallible>);
    Ok((
        StatusCode::OK,
        [("content-type", "application/json")],
        axum::body::Body::from_stream(body),
    )
        .into_response())
}

fn encode(kind: &Kind, table: bool, event_type: &str, obj: &Value) -> Bytes {
    if super::crds::needs_conversion(kind) && event_type != "BOOKMARK" {
        let mut obj = obj.clone();
        super::crds::served_as(kind, &mut obj);
        return encode_as_is(kind, table, event_type, &obj);
    }
    encode_as_is(kind, table, event_type, obj)
}

fn encode_as_is(kind: &Kind, table: bool, event_type: &str, obj: &Value) -> Bytes {
    if table && event_type != "BOOKMARK" && event_type != "ERROR" {
        watch_line(
            event_type,
            &to_table(kind, std::slice::from_ref(obj), 0, "Metadata"),
        )
    } else {
        watch_line(event_type, obj)
    }
}

/// A BOOKMARK's object: only the kind and a resourceVersion.
fn bookmark(kind: &Kind, rev: i64, initial_events_end: bool) -> Value {
    let mut mark = json!({
        "kind": kind.kind, "apiVersion": kind.api_version(),
        "metadata": {"resourceVersion": rev.to_string()},
    });
    if initial_events_end {
        mark["metadata"]["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    mark
}

/// The cache's kept events, then its live ones after revision `after`, with a bookmark now
/// and then when asked. Ends when the watcher falls too far behind or the cache closes: the
/// client watches again from the last revision it saw.
fn live_events(
    replay: VecDeque<Arc<Event>>,
    live: broadcast::Receiver<Arc<Event>>,
    after: i64,
    cache: &Arc<Cache>,
    bookmarks: bool,
) -> futures::stream::BoxStream<'static, Item> {
    struct State {
        replay: VecDeque<Arc<Event>>,
        live: broadcast::Receiver<Arc<Event>>,
        after: i64,
        cache: Arc<Cache>,
        tick: Option<tokio::time::Interval>,
    }
    let tick = bookmarks.then(|| {
        let mut t = tokio::time::interval(BOOKMARK_EVERY);
        t.reset();
        t
    });
    let state = State {
        replay,
        live,
        after,
        cache: cache.clone(),
        tick,
    };
    let stream = futures::stream::unfold(state, |mut s| async move {
        if let Some(e) = s.replay.pop_front() {
            s.after = e.revision;
            return Some((Item::Event(e), s));
        }
        loop {
            let tick = async {
                match &mut s.tick {
                    Some(t) => {
                        t.tick().await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                got = s.live.recv() => match got {
                    Ok(e) if e.revision <= s.after => continue,
                    Ok(e) => {
                        s.after = e.revision;
                        return Some((Item::Event(e), s));
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "a watcher fell behind; ending its watch");
                        return None;
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                () = tick => {
                    let rev = s.cache.revision().max(s.after);
                    return Some((Item::Bookmark(rev), s));
                }
            }
        }
    });
    stream.boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::storage::Change;

    fn modified(labels_before: Value, labels_now: Value) -> Event {
        Event::new(Change {
            kind: ChangeKind::Modified,
            object: json!({"metadata": {"name": "p", "namespace": "default", "resourceVersion": "5", "labels": labels_now}}),
            previous: Some(
                json!({"metadata": {"name": "p", "namespace": "default", "labels": labels_before}}),
            ),
        })
    }

    #[test]
    fn objects_entering_or_leaving_a_selector_are_added_or_deleted() {
        let f = Filter {
            namespace: Some("default".into()),
            selectors: Selectors {
                labels: Some(crate::apiserver::selector::LabelSelector::parse("app=web").unwrap()),
                fields: None,
            },
        };
        let web = json!({"app": "web"});
        let db = json!({"app": "db"});
        assert_eq!(
            f.event_type(&modified(db.clone(), web.clone())),
            Some("ADDED")
        );
        assert_eq!(
            f.event_type(&modified(web.clone(), db.clone())),
            Some("DELETED")
        );
        assert_eq!(
            f.event_type(&modified(web.clone(), web.clone())),
            Some("MODIFIED")
        );
        assert_eq!(f.event_type(&modified(db.clone(), db)), None);
        let other_ns = Filter {
            namespace: Some("kube-system".into()),
            selectors: Selectors {
                labels: None,
                fields: None,
            },
        };
        assert_eq!(other_ns.event_type(&modified(web.clone(), web)), None);
    }
}
