//! Watched caches of objects (kube-rs reflectors): what the controllers and the scheduler
//! read instead of listing, each change also waking whoever waits on a [`Notify`].

use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;

use futures::StreamExt;
use kube::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use serde::de::DeserializeOwned;
use tokio::sync::Notify;

/// A store of every object `api` sees, kept current by a background watch (re-listing with
/// backoff after errors); each of `wake` is notified after each change is applied.
pub fn watched<K>(api: Api<K>, wake: Vec<Arc<Notify>>) -> Store<K>
where
    K: kube::Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + Hash + Clone + Send + Sync,
{
    watched_with(api, watcher::Config::default(), wake)
}

/// [`watched`], of the objects `config`'s selectors pick.
pub fn watched_with<K>(api: Api<K>, config: watcher::Config, wake: Vec<Arc<Notify>>) -> Store<K>
where
    K: kube::Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + Hash + Clone + Send + Sync,
{
    let (store, writer) = reflector::store();
    let stream = reflector::reflector(writer, watcher(api, config).default_backoff());
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.next().await {
            if let Err(e) = event {
                tracing::warn!("watch failed, retrying: {e}");
            }
            wake.iter().for_each(|w| w.notify_one());
        }
    });
    store
}
