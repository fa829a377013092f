//! The controllers at work: each reads watched stores, asks its pure sync (in the parent
//! module) what to write, writes it, and says so in one log line per decision. Passes are
//! level-triggered: a change to any store a controller reads wakes it, and it looks at every
//! object it owns, skipping those whose own writes its stores have not caught up with yet.

pub mod cronjob;
pub mod daemonset;
pub mod deployment;
pub mod endpoints;
pub mod gc;
pub mod history;
pub mod job;
pub mod namespace;
pub mod namespaced;
pub mod nodelifecycle;
pub mod pod_ops;
pub mod podgc;
pub mod replicaset;
pub mod statefulset;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use kube::runtime::reflector::{ObjectRef, Store};

use tokio::sync::Notify;

/// A controller's pass over everything it owns; the seconds until something becomes due
/// (a progress deadline, a pod becoming available), if anything does.
pub trait Pass {
    fn pass(&mut self) -> impl std::future::Future<Output = Option<i64>> + Send;
}

/// Runs `c`'s pass whenever `wake` is notified, at least every `resync`, and when due.
pub async fn level_loop(wake: Arc<Notify>, resync: Duration, mut c: impl Pass) {
    loop {
        let due = c.pass().await;
        let wait = due
            .map(|s| Duration::from_secs(s.max(1) as u64).min(resync))
            .unwrap_or(resync);
        let _ = tokio::time::timeout(wait, wake.notified()).await;
        // Let a burst of changes land before the next pass.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The HTTP status of an API error, if it is one.
pub fn code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

/// `namespace/name` of an object.
pub fn key(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    format!(
        "{}/{}",
        meta.namespace.as_deref().unwrap_or(""),
        meta.name.as_deref().unwrap_or("")
    )
}

/// The objects of a store by namespace, for controllers that sync one namespace's worth.
/// Shared, not copied: a pass runs after every burst of changes, and deep-copying every pod
/// of a large namespace each time made the controller-manager's CPU grow with the square of
/// the pods. [`ByNamespace::owned`] copies one namespace, once a pass, for logic that wants
/// owned objects, and only where a controller has work.
pub struct ByNamespace<K> {
    shared: HashMap<String, Vec<Arc<K>>>,
    owned: HashMap<String, Vec<K>>,
}

impl<K> ByNamespace<K>
where
    K: kube::Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    pub fn of(store: &Store<K>) -> ByNamespace<K> {
        let mut shared: HashMap<String, Vec<Arc<K>>> = HashMap::new();
        for o in store.state() {
            shared
                .entry(o.meta().namespace.clone().unwrap_or_default())
                .or_default()
                .push(o);
        }
        ByNamespace {
            shared,
            owned: HashMap::new(),
        }
    }

    /// The namespace's objects as the store holds them.
    pub fn shared(&self, namespace: &str) -> &[Arc<K>] {
        self.shared.get(namespace).map_or(&[], Vec::as_slice)
    }

    /// Copies of the namespace's objects, made on the first call of the pass.
    pub fn owned(&mut self, namespace: &str) -> &[K] {
        let shared = &self.shared;
        self.owned.entry(namespace.to_string()).or_insert_with(|| {
            shared
                .get(namespace)
                .map(|v| v.iter().map(|o| (**o).clone()).collect())
                .unwrap_or_default()
        })
    }
}

/// The resourceVersion `store` holds for `namespace/name`: what [`Expectations`] asks to
/// know whether a controller's own writes have been seen.
///
/// [`Expectations`]: crate::controllers::expectations::Expectations
pub fn version_in<K>(store: &Store<K>, namespace_name: &str) -> Option<u64>
where
    K: kube::Resource + Clone + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone,
{
    let (ns, name) = namespace_name.split_once('/')?;
    store
        .get(&ObjectRef::new(name).within(ns))
        .map(|o| crate::controllers::expectations::rv(o.meta()))
}

/// The smaller of two optional delays.
pub fn sooner(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
