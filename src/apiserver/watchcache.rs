//! One etcd watch per resource, fanned out to every Kubernetes watch of it (upstream's
//! "cacher"): N watchers of pods cost one etcd watch, and each event is decoded once and
//! encoded as a JSON line once for all the watchers that want it plain.
//!
//! A cache keeps the last `HISTORY` events, so a watcher resuming from a recent
//! resourceVersion (a list's, or the last event it saw) is served from memory; an older one
//! falls back to its own etcd watch, which answers 410 Expired if etcd compacted it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Bytes;
use futures::StreamExt;
use serde_json::json;
use tokio::sync::broadcast;

use super::status::ApiError;
use super::storage::{Change, Storage};
use crate::kinds::Kind;

/// Events each cache keeps for watchers that resume from a recent revision.
const HISTORY: usize = 1024;
/// How far a watcher may fall behind the live events before it is ended (it then watches
/// again from the last event it got, as clients do).
const BACKLOG: usize = 4096;

/// A change as watchers share it.
#[derive(Debug)]
pub struct Event {
    pub revision: i64,
    pub change: Change,
    /// `{"type":…,"object":…}\n`, made by the first watcher that needs it.
    line: OnceLock<Bytes>,
}

impl Event {
    pub fn new(change: Change) -> Event {
        Event {
            revision: change.revision(),
            change,
            line: OnceLock::new(),
        }
    }

    /// The event as a line of a watch response, with the object as it is.
    pub fn json_line(&self) -> Bytes {
        self.line
            .get_or_init(|| watch_line(self.change.kind.event_type(), &self.change.object))
            .clone()
    }
}

/// One line of a watch response.
pub fn watch_line(event_type: &str, object: &serde_json::Value) -> Bytes {
    let mut line = json!({"type": event_type, "object": object}).to_string();
    line.push('\n');
    Bytes::from(line)
}

/// The caches of all resources, each started when first watched.
pub struct WatchCaches {
    storage: Storage,
    caches: tokio::sync::Mutex<HashMap<(&'static str, &'static str), Arc<Cache>>>,
}

impl WatchCaches {
    pub fn new(storage: Storage) -> WatchCaches {
        WatchCaches {
            storage,
            caches: Default::default(),
        }
    }

    /// The cache of a resource; a new one when there is none or its etcd watch ended.
    pub async fn get(&self, kind: &'static Kind) -> Result<Arc<Cache>, ApiError> {
        let mut caches = self.caches.lock().await;
        let key = (kind.group, kind.resource);
        if let Some(c) = caches.get(&key)
            && c.is_open()
        {
            return Ok(c.clone());
        }
        let (start, changes) = self.storage.watch(kind, None, None).await?;
        let mut changes = Box::pin(changes);
        let (tx, _) = broadcast::channel(BACKLOG);
        let cache = Arc::new(Cache {
            inner: Mutex::new(Inner {
                since: start + 1,
                revision: start,
                history: VecDeque::new(),
                tx: Some(tx),
            }),
        });
        let pump = cache.clone();
        let resource = kind.qualified_resource();
        tokio::spawn(async move {
            while let Some(Ok(batch)) = changes.next().await {
                pump.publish(batch);
            }
            tracing::info!(resource, "etcd watch ended; the watch cache closes");
            pump.close();
        });
        caches.insert(key, cache.clone());
        Ok(cache)
    }
}

pub struct Cache {
    inner: Mutex<Inner>,
}

struct Inner {
    /// Every event from this revision on is in `history`.
    since: i64,
    /// The newest revision the cache has seen.
    revision: i64,
    history: VecDeque<Arc<Event>>,
    /// None once the etcd watch ended: receivers then see the channel closed.
    tx: Option<broadcast::Sender<Arc<Event>>>,
}

/// What a watcher gets from the cache: the kept events it missed, then the live ones.
pub struct Subscription {
    pub replay: Vec<Arc<Event>>,
    pub live: broadcast::Receiver<Arc<Event>>,
}

impl Cache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind; carry on with it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn is_open(&self) -> bool {
        self.lock().tx.is_some()
    }

    /// The newest revision the cache has seen.
    pub fn revision(&self) -> i64 {
        self.lock().revision
    }

    fn publish(&self, batch: Vec<Change>) {
        let mut inner = self.lock();
        for change in batch {
            let event = Arc::new(Event::new(change));
            inner.revision = inner.revision.max(event.revision);
            inner.history.push_back(event.clone());
            if inner.history.len() > HISTORY
                && let Some(old) = inner.history.pop_front()
            {
                inner.since = old.revision + 1;
            }
            if let Some(tx) = &inner.tx {
                // No receiver is not an error: nobody watches right now.
                let _ = tx.send(event);
            }
        }
    }

    fn close(&self) {
        self.lock().tx = None;
    }

    /// The events after revision `after`, kept and live; None when the cache no longer has
    /// them all (or has closed).
    pub fn subscribe(&self, after: i64) -> Option<Subscription> {
        let inner = self.lock();
        let tx = inner.tx.as_ref()?;
        if after + 1 < inner.since {
            return None;
        }
        Some(Subscription {
            replay: inner
                .history
                .iter()
                .filter(|e| e.revision > after)
                .cloned()
                .collect(),
            live: tx.subscribe(),
        })
    }

    /// The live events from now on.
    pub fn subscribe_now(&self) -> Option<broadcast::Receiver<Arc<Event>>> {
        Some(self.lock().tx.as_ref()?.subscribe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(start: i64) -> Cache {
        Cache {
            inner: Mutex::new(Inner {
                since: start + 1,
                revision: start,
                history: VecDeque::new(),
                tx: Some(broadcast::channel(16).0),
            }),
        }
    }

    fn added(rev: i64) -> Change {
        Change {
            kind: super::super::storage::ChangeKind::Added,
            object: json!({"metadata": {"name": format!("o{rev}"), "resourceVersion": rev.to_string()}}),
            previous: None,
        }
    }

    #[test]
    fn watchers_get_the_kept_events_they_missed_then_live_ones() {
        let c = cache(10);
        c.publish(vec![added(11), added(12)]);
        let mut sub = c.subscribe(11).expect("revision 11 is kept");
        assert_eq!(
            sub.replay.iter().map(|e| e.revision).collect::<Vec<_>>(),
            [12]
        );
        c.publish(vec![added(13)]);
        assert_eq!(sub.live.try_recv().unwrap().revision, 13);
        assert_eq!(c.revision(), 13);
        assert!(c.subscribe(10).is_some(), "from the cache's start");
        assert!(c.subscribe(9).is_none(), "before the cache's start");
    }

    #[test]
    fn history_is_bounded_and_old_revisions_fall_back() {
        let c = cache(0);
        c.publish((1..=HISTORY as i64 + 10).map(added).collect());
        assert!(c.subscribe(5).is_none());
        assert!(c.subscribe(10).is_some());
        c.close();
        assert!(c.subscribe(HISTORY as i64).is_none(), "closed");
    }

    #[test]
    fn an_event_is_encoded_once_as_a_watch_line() {
        let e = Event::new(added(7));
        let a = e.json_line();
        assert!(a.starts_with(b"{\"object\":") || a.starts_with(b"{\"type\":"));
        assert!(a.ends_with(b"\n"));
        assert_eq!(a.as_ptr(), e.json_line().as_ptr(), "shared, not re-encoded");
    }
}
