//! What a controller waits to see before it acts on an object again: the writes it made,
//! reflected in its watched stores. Without this a pass reading a store that lags behind its
//! own writes would create the same pods twice (upstream's controllers keep the same kind of
//! ledger). An expectation not met within [`PATIENCE`] is given up, as upstream's expire.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Upstream waits 5 minutes; a lost watch event here costs a workshop that long, so less.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// One awaited change: an object (by namespace/name) present at least at a resourceVersion,
/// or gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Awaited {
    AtLeast(String, u64),
    Gone(String),
}

#[derive(Default)]
pub struct Expectations {
    pending: HashMap<String, (Vec<Awaited>, Instant)>,
}

impl Expectations {
    /// Records what `owner`'s writes should make visible.
    pub fn expect(&mut self, owner: &str, awaited: Vec<Awaited>) {
        if awaited.is_empty() {
            return;
        }
        let entry = self
            .pending
            .entry(owner.to_string())
            .or_insert_with(|| (Vec::new(), Instant::now()));
        entry.0.extend(awaited);
        entry.1 = Instant::now();
    }

    /// Whether `owner` may be acted on: everything awaited is seen (`version_of` gives an
    /// object's resourceVersion in the store, None when absent), or patience ran out.
    pub fn satisfied(&mut self, owner: &str, version_of: impl Fn(&str) -> Option<u64>) -> bool {
        let Some((awaited, since)) = self.pending.get_mut(owner) else {
            return true;
        };
        awaited.retain(|a| match a {
            Awaited::AtLeast(key, rv) => version_of(key).is_none_or(|seen| seen < *rv),
            Awaited::Gone(key) => version_of(key).is_some(),
        });
        if awaited.is_empty() || since.elapsed() > PATIENCE {
            if !awaited.is_empty() {
                tracing::debug!(owner, ?awaited, "expectations expired");
            }
            self.pending.remove(owner);
            return true;
        }
        false
    }

    /// Forgets owners that no longer exist.
    pub fn retain(&mut self, exists: impl Fn(&str) -> bool) {
        self.pending.retain(|k, _| exists(k));
    }
}

/// A resourceVersion as a number (etcd revisions; opaque upstream, numeric in practice).
pub fn rv(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> u64 {
    meta.resource_version
        .as_deref()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_wait_for_their_writes_to_be_seen() {
        let mut e = Expectations::default();
        assert!(e.satisfied("rs", |_| None));
        e.expect(
            "rs",
            vec![
                Awaited::AtLeast("ns/p1".into(), 5),
                Awaited::Gone("ns/p0".into()),
            ],
        );
        let store = |k: &str| match k {
            "ns/p1" => Some(4),
            "ns/p0" => Some(1),
            _ => None,
        };
        assert!(!e.satisfied("rs", store));
        let store = |k: &str| match k {
            "ns/p1" => Some(5),
            _ => None,
        };
        assert!(e.satisfied("rs", store));
        assert!(
            e.satisfied("rs", |_| None),
            "met expectations are forgotten"
        );
    }
}
