//! Events the controllers ask their callers to record, worded as upstream records them.

use k8s_openapi::api::core::v1::ObjectReference;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Normal,
    Warning,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// One event: what it is about, and upstream's reason and message. `source` is the
/// component upstream reports it from (the events' `source.component`).
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub involved: ObjectReference,
    pub type_: EventType,
    pub reason: String,
    pub message: String,
    pub source: &'static str,
}
