//! The in-memory key index: for every key, the revisions at which it changed, oldest first.
//! Rebuilt from the revision table when the store opens; the table holds the values.

use std::collections::BTreeMap;
use std::ops::Bound;

/// A revision: `main` is the store revision of a write request, `sub` numbers the changes
/// within it (a transaction or a range delete changes several keys in one revision).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rev {
    pub main: i64,
    pub sub: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub rev: Rev,
    pub tombstone: bool,
}

#[derive(Default, Debug)]
pub struct Index {
    keys: BTreeMap<Vec<u8>, Vec<Entry>>,
}

/// Which keys a request names: one key, a range `[key, end)`, or everything from `key` on
/// (etcd's `range_end = "\0"`).
pub fn bounds<'a>(key: &'a [u8], range_end: &'a [u8]) -> (Bound<&'a [u8]>, Bound<&'a [u8]>) {
    match range_end {
        [] => (Bound::Included(key), Bound::Included(key)),
        [0] => (Bound::Included(key), Bound::Unbounded),
        end => (Bound::Included(key), Bound::Excluded(end)),
    }
}

impl Index {
    pub fn push(&mut self, key: &[u8], entry: Entry) {
        match self.keys.get_mut(key) {
            Some(list) => list.push(entry),
            None => {
                self.keys.insert(key.to_vec(), vec![entry]);
            }
        }
    }

    /// The revision holding `key`'s value as of `at`, if the key existed then.
    pub fn get(&self, key: &[u8], at: i64) -> Option<Rev> {
        live_at(self.keys.get(key)?, at)
    }

    /// Keys in the range that existed at `at`, in key order, with the revision of their value.
    pub fn range<'a>(
        &'a self,
        key: &'a [u8],
        range_end: &'a [u8],
        at: i64,
    ) -> impl Iterator<Item = (&'a [u8], Rev)> + 'a {
        let (lo, hi) = bounds(key, range_end);
        let valid = !matches!((lo, hi), (Bound::Included(a), Bound::Excluded(b)) if a >= b);
        valid
            .then(|| self.keys.range::<[u8], _>((lo, hi)))
            .into_iter()
            .flatten()
            .filter_map(move |(k, list)| Some((k.as_slice(), live_at(list, at)?)))
    }

    /// The change before `rev` of `key` (for a watch event's prev_kv), if not compacted away.
    pub fn before(&self, key: &[u8], rev: Rev) -> Option<Entry> {
        self.keys
            .get(key)?
            .iter()
            .rev()
            .find(|e| e.rev < rev)
            .copied()
    }

    /// Forgets changes made after `rev` (a failed commit), newest first.
    pub fn truncate_after(&mut self, rev: i64) {
        self.keys.retain(|_, list| {
            while list.last().is_some_and(|e| e.rev.main > rev) {
                list.pop();
            }
            !list.is_empty()
        });
    }

    /// Drops history older than `rev`, keeping for each key the change that is its value at
    /// `rev` (unless that is a deletion). Returns the revisions whose records can go.
    pub fn compact(&mut self, rev: i64) -> Vec<Rev> {
        let mut dropped = Vec::new();
        self.keys.retain(|_, list| {
            // Index of the last change at or before `rev`: the value as of the compaction.
            let keep_from = match list.iter().rposition(|e| e.rev.main <= rev) {
                Some(i) if list[i].tombstone => i + 1,
                Some(i) => i,
                None => 0,
            };
            dropped.extend(list.drain(..keep_from).map(|e| e.rev));
            !list.is_empty()
        });
        dropped
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

fn live_at(list: &[Entry], at: i64) -> Option<Rev> {
    let e = list.iter().rev().find(|e| e.rev.main <= at)?;
    (!e.tombstone).then_some(e.rev)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(i: &mut Index, k: &str, main: i64) {
        i.push(
            k.as_bytes(),
            Entry {
                rev: Rev { main, sub: 0 },
                tombstone: false,
            },
        );
    }
    fn del(i: &mut Index, k: &str, main: i64) {
        i.push(
            k.as_bytes(),
            Entry {
                rev: Rev { main, sub: 0 },
                tombstone: true,
            },
        );
    }
    fn keys(i: &Index, k: &str, end: &str, at: i64) -> Vec<(String, i64)> {
        i.range(k.as_bytes(), end.as_bytes(), at)
            .map(|(k, r)| (String::from_utf8(k.to_vec()).unwrap(), r.main))
            .collect()
    }

    #[test]
    fn values_at_a_revision_and_ranges() {
        let mut i = Index::default();
        put(&mut i, "a", 2);
        put(&mut i, "b", 3);
        put(&mut i, "a", 4);
        del(&mut i, "b", 5);
        assert_eq!(i.get(b"a", 3).unwrap().main, 2);
        assert_eq!(i.get(b"a", 9).unwrap().main, 4);
        assert_eq!(i.get(b"b", 4).unwrap().main, 3);
        assert_eq!(i.get(b"b", 5), None);
        assert_eq!(i.get(b"a", 1), None);
        assert_eq!(
            keys(&i, "a", "c", 4),
            vec![("a".into(), 4), ("b".into(), 3)]
        );
        assert_eq!(keys(&i, "b", "\0", 9), vec![]);
        assert_eq!(
            keys(&i, "a", "\0", 3),
            vec![("a".into(), 2), ("b".into(), 3)]
        );
        assert_eq!(keys(&i, "c", "a", 9), vec![], "an inverted range is empty");
    }

    #[test]
    fn compaction_keeps_each_keys_value_at_the_compacted_revision() {
        let mut i = Index::default();
        put(&mut i, "a", 2);
        put(&mut i, "a", 3);
        put(&mut i, "b", 4);
        del(&mut i, "b", 5);
        put(&mut i, "a", 6);
        let mut gone = i.compact(5);
        gone.sort();
        let mains: Vec<i64> = gone.iter().map(|r| r.main).collect();
        assert_eq!(mains, vec![2, 4, 5]);
        assert_eq!(i.get(b"a", 5).unwrap().main, 3);
        assert_eq!(i.get(b"b", 5), None);
        assert_eq!(i.len(), 1);
    }

    #[test]
    fn a_failed_commit_is_forgotten() {
        let mut i = Index::default();
        put(&mut i, "a", 2);
        put(&mut i, "a", 3);
        put(&mut i, "b", 3);
        i.truncate_after(2);
        assert_eq!(i.get(b"a", 9).unwrap().main, 2);
        assert_eq!(i.get(b"b", 9), None);
        assert_eq!(i.len(), 1);
    }
}
