//! Leases in memory: granted TTL, expiry deadline and attached keys. Grants and revocations are
//! persisted by the applier in the store's lease table; expiries come from a deadline-ordered
//! queue that a task sleeps on and is woken through, never polled.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// etcd's smallest TTL on a one-member cluster with default timing: 1.5 × election timeout
/// rounded up (a TTL below it is raised to it, as etcd does).
pub const MIN_TTL: i64 = 2;
/// etcd's largest TTL (MaxLeaseTTL); above it a grant fails.
pub const MAX_TTL: i64 = 9_000_000_000;

#[derive(Debug)]
struct Lease {
    granted_ttl: i64,
    expiry: Instant,
    keys: BTreeSet<Vec<u8>>,
}

#[derive(Default, Debug)]
struct State {
    leases: HashMap<i64, Lease>,
    /// Which lease each key is attached to.
    key_lease: HashMap<Vec<u8>, i64>,
    /// Expiry deadlines, for the expiry task.
    deadlines: BTreeMap<(Instant, i64), ()>,
    next_id: i64,
}

#[derive(Default, Debug)]
pub struct Leases {
    state: Mutex<State>,
    /// Wakes the expiry task when the earliest deadline may have moved.
    pub changed: tokio::sync::Notify,
}

/// Remaining TTL in whole seconds, as etcd reports it (truncated; -1 once expired).
fn remaining_secs(expiry: Instant, now: Instant) -> i64 {
    match expiry.checked_duration_since(now) {
        Some(d) => d.as_secs() as i64,
        None => -1,
    }
}

impl Leases {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn exists(&self, id: i64) -> bool {
        self.state().leases.contains_key(&id)
    }

    /// An ID for a grant that asked for none: unique, positive, never 0.
    pub fn new_id(&self) -> i64 {
        let mut s = self.state();
        if s.next_id == 0 {
            // Start from the clock so IDs differ across restarts, like etcd's generator.
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as i64)
                .unwrap_or(1);
            s.next_id = (nanos & 0x0fff_ffff_ffff_ffff) | 0x0100_0000_0000_0000;
        }
        loop {
            s.next_id = s.next_id.wrapping_add(1) & i64::MAX;
            if s.next_id != 0 && !s.leases.contains_key(&s.next_id) {
                return s.next_id;
            }
        }
    }

    /// Records a granted lease (already persisted) expiring `ttl` seconds from now.
    pub fn insert(&self, id: i64, ttl: i64) {
        let mut s = self.state();
        let expiry = Instant::now() + Duration::from_secs(ttl as u64);
        if let Some(old) = s.leases.insert(
            id,
            Lease {
                granted_ttl: ttl,
                expiry,
                keys: BTreeSet::new(),
            },
        ) {
            s.deadlines.remove(&(old.expiry, id));
        }
        s.deadlines.insert((expiry, id), ());
        drop(s);
        self.changed.notify_one();
    }

    /// Forgets a lease (already revoked in the store); returns its keys.
    pub fn remove(&self, id: i64) -> Vec<Vec<u8>> {
        let mut s = self.state();
        let Some(lease) = s.leases.remove(&id) else {
            return Vec::new();
        };
        s.deadlines.remove(&(lease.expiry, id));
        for k in &lease.keys {
            s.key_lease.remove(k);
        }
        lease.keys.into_iter().collect()
    }

    /// The keys attached to a lease now.
    pub fn keys(&self, id: i64) -> Vec<Vec<u8>> {
        self.state()
            .leases
            .get(&id)
            .map(|l| l.keys.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Attaches `key` to lease `id` (0: to none), detaching it from any other.
    pub fn attach(&self, key: Vec<u8>, id: i64) {
        let mut s = self.state();
        if let Some(old) = s.key_lease.remove(&key)
            && let Some(l) = s.leases.get_mut(&old)
        {
            l.keys.remove(&key);
        }
        if id != 0
            && let Some(l) = s.leases.get_mut(&id)
        {
            l.keys.insert(key.clone());
            s.key_lease.insert(key, id);
        }
    }

    pub fn detach(&self, key: &[u8]) {
        let mut s = self.state();
        if let Some(old) = s.key_lease.remove(key)
            && let Some(l) = s.leases.get_mut(&old)
        {
            l.keys.remove(key);
        }
    }

    /// Renews a lease to its full TTL; returns that TTL, or None if there is no such lease.
    pub fn keep_alive(&self, id: i64) -> Option<i64> {
        let mut s = self.state();
        let now = Instant::now();
        let lease = s.leases.get_mut(&id)?;
        if lease.expiry <= now {
            // Expired, its revocation on the way: too late to renew, as in etcd.
            return None;
        }
        let old = lease.expiry;
        lease.expiry = now + Duration::from_secs(lease.granted_ttl as u64);
        let (ttl, new) = (lease.granted_ttl, lease.expiry);
        s.deadlines.remove(&(old, id));
        s.deadlines.insert((new, id), ());
        drop(s);
        self.changed.notify_one();
        Some(ttl)
    }

    /// (remaining TTL, granted TTL, keys) of a lease.
    pub fn time_to_live(&self, id: i64) -> Option<(i64, i64, Vec<Vec<u8>>)> {
        let s = self.state();
        let l = s.leases.get(&id)?;
        Some((
            remaining_secs(l.expiry, Instant::now()),
            l.granted_ttl,
            l.keys.iter().cloned().collect(),
        ))
    }

    /// Every lease ID.
    pub fn ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self.state().leases.keys().copied().collect();
        ids.sort();
        ids
    }

    /// The leases past their deadline now, and the next deadline after them.
    pub fn expired(&self, now: Instant) -> (Vec<i64>, Option<Instant>) {
        let s = self.state();
        let expired = s
            .deadlines
            .keys()
            .take_while(|(at, _)| *at <= now)
            .map(|(_, id)| *id)
            .collect();
        let next = s
            .deadlines
            .keys()
            .find(|(at, _)| *at > now)
            .map(|(at, _)| *at);
        (expired, next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attach_moves_keys_between_leases() {
        let l = Leases::default();
        l.insert(1, 60);
        l.insert(2, 60);
        l.attach(b"k".to_vec(), 1);
        assert_eq!(l.keys(1), vec![b"k".to_vec()]);
        l.attach(b"k".to_vec(), 2);
        assert!(l.keys(1).is_empty());
        assert_eq!(l.keys(2), vec![b"k".to_vec()]);
        l.attach(b"k".to_vec(), 0);
        assert!(l.keys(2).is_empty());
        l.attach(b"j".to_vec(), 2);
        assert_eq!(l.remove(2), vec![b"j".to_vec()]);
        assert!(!l.exists(2));
    }

    #[test]
    fn ttl_keepalive_and_expiry() {
        let l = Leases::default();
        l.insert(5, 10);
        let (ttl, granted, _) = l.time_to_live(5).unwrap();
        assert!((9..=10).contains(&ttl), "{ttl}");
        assert_eq!(granted, 10);
        assert_eq!(l.keep_alive(5), Some(10));
        assert_eq!(l.keep_alive(6), None);
        let (expired, next) = l.expired(Instant::now());
        assert!(expired.is_empty());
        assert!(next.is_some());
        let (expired, _) = l.expired(Instant::now() + Duration::from_secs(11));
        assert_eq!(expired, vec![5]);
    }

    #[test]
    fn generated_ids_are_positive_and_unique() {
        let l = Leases::default();
        let a = l.new_id();
        let b = l.new_id();
        assert!(a > 0 && b > 0 && a != b);
    }
}
