//! Events as upstream's components record them: core/v1 Events (what `kubectl describe` and
//! `kubectl get events` show), one per distinct happening, repeats counted on the same Event.
//! Recording never fails or slows the caller: Events are written in the background (a few at
//! a time), and one that cannot be written is logged and dropped. Bursts are combined and
//! rate-limited per object as client-go does ([`super::correlate`]).

use std::collections::HashMap;
use std::sync::Mutex;

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};
use kube::Api;
use kube::api::{ObjectMeta, Patch, PatchParams, PostParams};
use serde_json::json;

/// Cheap to clone; clones share one ledger of repeats.
#[derive(Clone)]
pub struct Recorder {
    inner: std::sync::Arc<Inner>,
}

/// Events written at once, at most: a burst (a thousand pods created) queues behind these.
const IN_FLIGHT: usize = 16;

struct Inner {
    client: kube::Client,
    writing: tokio::sync::Semaphore,
    component: String,
    host: String,
    /// Events written, by what makes them the same: their name and count so far.
    seen: Mutex<HashMap<String, (String, i32)>>,
    correlator: Mutex<super::correlate::Correlator>,
}

impl Recorder {
    pub fn new(client: kube::Client, component: &str) -> Recorder {
        Recorder {
            inner: std::sync::Arc::new(Inner {
                client,
                writing: tokio::sync::Semaphore::new(IN_FLIGHT),
                component: component.to_string(),
                host: super::hostname(),
                seen: Mutex::new(HashMap::new()),
                correlator: Mutex::new(Default::default()),
            }),
        }
    }

    /// A Normal event about `about`.
    pub async fn normal(&self, about: &ObjectReference, reason: &str, message: &str) {
        self.emit(about, "Normal", reason, message)
    }

    /// A Warning event about `about`.
    pub async fn warning(&self, about: &ObjectReference, reason: &str, message: &str) {
        self.emit(about, "Warning", reason, message)
    }

    fn emit(&self, about: &ObjectReference, type_: &'static str, reason: &str, message: &str) {
        let ns = about.namespace.as_deref().unwrap_or("default");
        let object = format!(
            "{}/{ns}/{}/{}/{}",
            about.kind.as_deref().unwrap_or(""),
            about.name.as_deref().unwrap_or(""),
            about.uid.as_deref().unwrap_or(""),
            about.api_version.as_deref().unwrap_or("")
        );
        let candidate = super::correlate::Candidate {
            object: &object,
            type_,
            reason,
            message,
        };
        let admitted = self
            .inner
            .correlator
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .admit(&candidate, std::time::Instant::now());
        let Some(admitted) = admitted else {
            tracing::debug!(reason, "event dropped by the spam filter: {message}");
            return;
        };
        let inner = self.inner.clone();
        let (about, reason) = (about.clone(), reason.to_string());
        tokio::spawn(async move {
            let Ok(_permit) = inner.writing.acquire().await else {
                return;
            };
            inner.record(&about, type_, &reason, admitted).await;
        });
    }
}

impl Inner {
    async fn record(
        &self,
        about: &ObjectReference,
        type_: &str,
        reason: &str,
        admitted: super::correlate::Admitted,
    ) {
        let ns = about.namespace.clone().unwrap_or_else(|| "default".into());
        let events: Api<Event> = Api::namespaced(self.client.clone(), &ns);
        let key = admitted.dedupe_key;
        let message = admitted.message.as_str();
        let now = k8s_openapi::jiff::Timestamp::now();
        let repeat = self
            .seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .cloned();
        if let Some((name, count)) = repeat {
            // A combined event's message names the latest of the events it counts.
            let patch = json!({"count": count + 1, "lastTimestamp": Time(now), "message": message});
            match events
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => {
                    self.remember(key, name, count + 1);
                    return;
                }
                // Gone (expired, or deleted): write a new one.
                Err(e) => tracing::debug!("event {name} not updated: {e}"),
            }
        }
        let base = about.name.as_deref().unwrap_or("event");
        let name = format!("{base}.{:x}", now.as_nanosecond());
        let event = Event {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(ns),
                ..Default::default()
            },
            involved_object: about.clone(),
            reason: Some(reason.to_string()),
            message: Some(message.to_string()),
            type_: Some(type_.to_string()),
            count: Some(1),
            first_timestamp: Some(Time(now)),
            last_timestamp: Some(Time(now)),
            event_time: None::<MicroTime>,
            source: Some(EventSource {
                component: Some(self.component.clone()),
                host: Some(self.host.clone()),
            }),
            reporting_component: Some(self.component.clone()),
            reporting_instance: Some(self.host.clone()),
            ..Default::default()
        };
        match events.create(&PostParams::default(), &event).await {
            Ok(_) => self.remember(key, name, 1),
            Err(e) => tracing::warn!(reason, "could not record an event: {e}"),
        }
    }

    fn remember(&self, key: String, name: String, count: i32) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        // Bounded: a long-running component forgets old events rather than growing.
        if seen.len() > 4096 {
            seen.clear();
        }
        seen.insert(key, (name, count));
    }
}
