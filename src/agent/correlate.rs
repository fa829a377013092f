//! What client-go's event correlator does before an Event is written, so a burst (a
//! ReplicaSet creating a thousand pods) shows as upstream shows it and costs the apiserver a
//! few writes, not a thousand:
//! - aggregation: once 10 events of one kind about one object (same source, type and reason)
//!   differ only in their message within 10 minutes, later ones become a single
//!   "(combined from similar events): …" Event whose count goes up;
//! - spam filter: each source may write 25 events about one object at once, then one more
//!   every 5 minutes; the rest are dropped.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// Distinct messages of one kind before they are combined (upstream's maxEvents).
const MAX_SIMILAR: usize = 10;
/// How long similar messages are remembered (upstream's maxIntervalInSeconds).
const SIMILAR_WINDOW: Duration = Duration::from_secs(600);
/// Events one source may write about one object in a burst (upstream's defaultSpamBurst).
const SPAM_BURST: f64 = 25.0;
/// Tokens regained per second (upstream's defaultSpamQPS: one per 5 minutes).
const SPAM_REFILL_PER_SEC: f64 = 1.0 / 300.0;
/// Entries kept per table; a long-running component forgets old ones rather than growing.
const MAX_ENTRIES: usize = 4096;

pub const COMBINED_PREFIX: &str = "(combined from similar events): ";

/// What an event is about and what it says.
pub struct Candidate<'a> {
    /// The involved object, as kind/namespace/name/uid/apiVersion.
    pub object: &'a str,
    pub type_: &'a str,
    pub reason: &'a str,
    pub message: &'a str,
}

/// The event to write: its message, and the key that makes two writes the same Event
/// (a repeat is counted on the Event written before).
#[derive(Debug, PartialEq, Eq)]
pub struct Admitted {
    pub message: String,
    pub dedupe_key: String,
}

#[derive(Default)]
pub struct Correlator {
    similar: HashMap<String, (HashSet<String>, Instant)>,
    tokens: HashMap<String, (f64, Instant)>,
}

impl Correlator {
    /// The event to write for `c` at `now`, or None when the spam filter drops it.
    pub fn admit(&mut self, c: &Candidate<'_>, now: Instant) -> Option<Admitted> {
        let kind_key = format!("{}/{}/{}", c.object, c.type_, c.reason);
        let admitted = self.aggregate(&kind_key, c.message, now);
        let spam_key = format!("{}/{}", c.object, c.type_);
        self.take_token(&spam_key, now).then_some(admitted)
    }

    fn aggregate(&mut self, kind_key: &str, message: &str, now: Instant) -> Admitted {
        if self.similar.len() > MAX_ENTRIES {
            self.similar.clear();
        }
        let (messages, last) = self
            .similar
            .entry(kind_key.to_string())
            .or_insert_with(|| (HashSet::new(), now));
        if now.duration_since(*last) > SIMILAR_WINDOW {
            messages.clear();
        }
        *last = now;
        messages.insert(message.to_string());
        if messages.len() < MAX_SIMILAR {
            return Admitted {
                message: message.to_string(),
                dedupe_key: format!("{kind_key}/{message}"),
            };
        }
        Admitted {
            message: format!("{COMBINED_PREFIX}{message}"),
            dedupe_key: format!("{kind_key}/{COMBINED_PREFIX}"),
        }
    }

    fn take_token(&mut self, key: &str, now: Instant) -> bool {
        if self.tokens.len() > MAX_ENTRIES {
            self.tokens.clear();
        }
        let (tokens, last) = self
            .tokens
            .entry(key.to_string())
            .or_insert((SPAM_BURST, now));
        let regained = now.duration_since(*last).as_secs_f64() * SPAM_REFILL_PER_SEC;
        *tokens = (*tokens + regained).min(SPAM_BURST);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn created(n: usize) -> String {
        format!("Created pod: web-{n}")
    }

    #[test]
    fn a_burst_is_combined_after_ten_and_cut_after_twenty_five() {
        let mut c = Correlator::default();
        let t0 = Instant::now();
        let mut out = Vec::new();
        for n in 0..1000 {
            let m = created(n);
            let cand = Candidate {
                object: "ReplicaSet/default/web/u1/apps/v1",
                type_: "Normal",
                reason: "SuccessfulCreate",
                message: &m,
            };
            out.push(c.admit(&cand, t0));
        }
        let written: Vec<&Admitted> = out.iter().flatten().collect();
        assert_eq!(written.len(), 25);
        assert_eq!(written[8].message, "Created pod: web-8");
        assert_eq!(
            written[9].message,
            "(combined from similar events): Created pod: web-9"
        );
        // Every combined one is the same Event, counted up.
        assert!(
            written[9..]
                .iter()
                .all(|a| a.dedupe_key == written[9].dedupe_key)
        );
        assert_ne!(written[0].dedupe_key, written[1].dedupe_key);
    }

    #[test]
    fn other_objects_have_their_own_allowance_and_it_refills() {
        let mut c = Correlator::default();
        let t0 = Instant::now();
        let cand = |object| Candidate {
            object,
            type_: "Normal",
            reason: "Scheduled",
            message: "Successfully assigned",
        };
        for _ in 0..25 {
            assert!(c.admit(&cand("Pod/a"), t0).is_some());
        }
        assert!(c.admit(&cand("Pod/a"), t0).is_none());
        assert!(c.admit(&cand("Pod/b"), t0).is_some());
        assert!(
            c.admit(&cand("Pod/a"), t0 + Duration::from_secs(301))
                .is_some()
        );
        assert!(
            c.admit(&cand("Pod/a"), t0 + Duration::from_secs(302))
                .is_none()
        );
    }

    #[test]
    fn similar_messages_are_forgotten_after_ten_minutes() {
        let mut c = Correlator::default();
        let t0 = Instant::now();
        for n in 0..9 {
            let m = created(n);
            let cand = Candidate {
                object: "RS/x",
                type_: "Normal",
                reason: "SuccessfulCreate",
                message: &m,
            };
            assert_eq!(c.admit(&cand, t0).unwrap().message, m);
        }
        let m = created(99);
        let later = Candidate {
            object: "RS/x",
            type_: "Normal",
            reason: "SuccessfulCreate",
            message: &m,
        };
        let a = c.admit(&later, t0 + Duration::from_secs(601)).unwrap();
        assert_eq!(a.message, m);
    }
}
