//! The MVCC store behind the builtin etcd: one global revision; for every key its create and
//! mod revisions and version; history kept until compaction.
//!
//! Layout in redb: `kv` maps a revision `(main, sub)` to the key's record at that change (a
//! deletion is a tombstone record), so the table in key order *is* the event log that watches
//! replay; `meta` holds the current and compacted revisions; `lease` the granted leases. The key
//! → revisions [`index`] lives in memory and is rebuilt on open.
//!
//! Writes go through one [`WriteBatch`] at a time: the caller applies any number of requests,
//! each getting its own revision, then commits them with a single fsync (group commit).
//! Readers only ever see committed revisions, so a batch in progress is invisible to them.

pub mod index;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use tokio::sync::watch;

pub use crate::etcd::proto::mvccpb::{Event, KeyValue, event::EventType};
use index::{Entry, Index, Rev};

const KV: TableDefinition<(i64, i64), &[u8]> = TableDefinition::new("kv");
const META: TableDefinition<&str, i64> = TableDefinition::new("meta");
const LEASES: TableDefinition<i64, i64> = TableDefinition::new("lease");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("mvcc: required revision has been compacted")]
    Compacted,
    #[error("mvcc: required revision is a future revision")]
    FutureRev,
    #[error("storage: {0}")]
    Storage(String),
}

impl<E: Into<redb::Error>> From<E> for StoreError {
    fn from(e: E) -> Self {
        StoreError::Storage(e.into().to_string())
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

pub struct Store {
    /// Shared by every transaction; taken exclusively only to defragment.
    db: RwLock<Database>,
    path: PathBuf,
    index: RwLock<Index>,
    /// The newest committed revision: what readers see and what watchers are told.
    committed: AtomicI64,
    compacted: AtomicI64,
    notify: watch::Sender<i64>,
    /// One write batch (or compaction) at a time.
    writer: Mutex<()>,
}

/// A record as stored: the key value plus whether the change was a deletion.
struct Record {
    kv: KeyValue,
    tombstone: bool,
}

fn encode(kv: &KeyValue, tombstone: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(29 + kv.key.len() + kv.value.len());
    out.push(u8::from(tombstone));
    out.extend_from_slice(&kv.create_revision.to_le_bytes());
    out.extend_from_slice(&kv.version.to_le_bytes());
    out.extend_from_slice(&kv.lease.to_le_bytes());
    out.extend_from_slice(&(kv.key.len() as u32).to_le_bytes());
    out.extend_from_slice(&kv.key);
    out.extend_from_slice(&kv.value);
    out
}

fn decode(rev: Rev, bytes: &[u8]) -> Result<Record> {
    let bad = || {
        StoreError::Storage(format!(
            "corrupt record at revision {}/{}",
            rev.main, rev.sub
        ))
    };
    if bytes.len() < 29 {
        return Err(bad());
    }
    let i64_at = |at: usize| i64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    let key_len = u32::from_le_bytes(bytes[25..29].try_into().expect("4 bytes")) as usize;
    let key_end = 29usize
        .checked_add(key_len)
        .filter(|e| *e <= bytes.len())
        .ok_or_else(bad)?;
    Ok(Record {
        tombstone: bytes[0] == 1,
        kv: KeyValue {
            key: bytes[29..key_end].to_vec(),
            create_revision: i64_at(1),
            mod_revision: rev.main,
            version: i64_at(9),
            value: bytes[key_end..].to_vec(),
            lease: i64_at(17),
        },
    })
}

impl Store {
    /// Opens (or creates) the store at `path` and rebuilds the index. A new store is at
    /// revision 1, as etcd's is.
    pub fn open(path: &Path) -> Result<Store> {
        let db = Database::create(path)?;
        let w = db.begin_write()?;
        let (current, compacted) = {
            let meta = w.open_table(META)?;
            let current = meta.get("current")?.map(|v| v.value()).unwrap_or(1);
            let compacted = meta.get("compacted")?.map(|v| v.value()).unwrap_or(0);
            (current, compacted)
        };
        w.open_table(KV)?;
        w.open_table(LEASES)?;
        w.commit()?;
        let mut index = Index::default();
        {
            let r = db.begin_read()?;
            let kv = r.open_table(KV)?;
            for item in kv.iter()? {
                let (k, v) = item?;
                let (main, sub) = k.value();
                let rev = Rev { main, sub };
                let rec = decode(rev, v.value())?;
                index.push(
                    &rec.kv.key,
                    Entry {
                        rev,
                        tombstone: rec.tombstone,
                    },
                );
            }
        }
        let (notify, _) = watch::channel(current);
        Ok(Store {
            db: RwLock::new(db),
            path: path.to_owned(),
            index: RwLock::new(index),
            committed: AtomicI64::new(current),
            compacted: AtomicI64::new(compacted),
            notify,
            writer: Mutex::new(()),
        })
    }

    pub fn current_revision(&self) -> i64 {
        self.committed.load(Ordering::Acquire)
    }

    pub fn compacted_revision(&self) -> i64 {
        self.compacted.load(Ordering::Acquire)
    }

    /// Told the newest committed revision after every commit.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.notify.subscribe()
    }

    pub fn db_size(&self) -> i64 {
        std::fs::metadata(&self.path)
            .map(|m| m.len() as i64)
            .unwrap_or(0)
    }

    fn db(&self) -> std::sync::RwLockReadGuard<'_, Database> {
        self.db.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Rewrites the file without free pages (etcd's defragment). Writes wait; reads still in
    /// flight are waited out, a few times, before giving up.
    pub fn defragment(&self) -> Result<()> {
        let _writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        for _ in 0..100 {
            let mut db = self.db.write().unwrap_or_else(|p| p.into_inner());
            match db.compact() {
                Ok(_) => return Ok(()),
                Err(redb::CompactionError::TransactionInProgress) => {
                    drop(db);
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Storage(
            "defragment: reads kept the store busy; try again".into(),
        ))
    }

    fn index(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(|p| p.into_inner())
    }

    fn index_mut(&self) -> std::sync::RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(|p| p.into_inner())
    }

    /// A consistent view of the committed store.
    pub fn read(&self) -> Result<ReadView<'_>> {
        let rev = self.current_revision();
        Ok(ReadView {
            store: self,
            rev,
            txn: self.db().begin_read()?,
        })
    }

    /// Starts the (only) write batch; others wait until it commits or is dropped.
    pub fn write(&self) -> Result<WriteBatch<'_>> {
        let guard = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let current = self.current_revision();
        Ok(WriteBatch {
            store: self,
            _guard: guard,
            txn: Some(self.db().begin_write()?),
            current,
            request: None,
        })
    }

    /// Checks that `rev` can be read: 0 means the current revision.
    pub fn check_revision(&self, rev: i64) -> Result<i64> {
        readable(rev, self.current_revision(), self.compacted_revision())
    }

    /// Drops history before `rev`; reads and watches from older revisions are refused after.
    pub fn compact(&self, rev: i64) -> Result<()> {
        let _guard = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        if rev > self.current_revision() {
            return Err(StoreError::FutureRev);
        }
        if rev <= self.compacted_revision() {
            return Err(StoreError::Compacted);
        }
        let dropped = self.index_mut().compact(rev);
        let w = self.db().begin_write()?;
        {
            let mut kv = w.open_table(KV)?;
            for r in &dropped {
                kv.remove((r.main, r.sub))?;
            }
            w.open_table(META)?.insert("compacted", rev)?;
        }
        w.commit()?;
        self.compacted.store(rev, Ordering::Release);
        Ok(())
    }

    /// Leases as persisted: ID → granted TTL.
    pub fn leases(&self) -> Result<Vec<(i64, i64)>> {
        let r = self.db().begin_read()?;
        let t = r.open_table(LEASES)?;
        let mut out = Vec::new();
        for item in t.iter()? {
            let (k, v) = item?;
            out.push((k.value(), v.value()));
        }
        Ok(out)
    }
}

/// The revision a read of `rev` sees (0: the newest `visible`), unless it is in the future or
/// compacted away. The compacted revision itself stays readable, as in etcd.
fn readable(rev: i64, visible: i64, compacted: i64) -> Result<i64> {
    match rev {
        0 => Ok(visible),
        r if r > visible => Err(StoreError::FutureRev),
        r if r < compacted => Err(StoreError::Compacted),
        r => Ok(r),
    }
}

/// A committed snapshot of the store at revision `rev`.
pub struct ReadView<'a> {
    store: &'a Store,
    rev: i64,
    txn: redb::ReadTransaction,
}

impl ReadView<'_> {
    /// Checks that `rev` can be read in this view (0: the view's revision).
    pub fn check_revision(&self, rev: i64) -> Result<i64> {
        readable(rev, self.rev, self.store.compacted_revision())
    }

    /// The revision this view sees.
    pub fn revision(&self) -> i64 {
        self.rev
    }

    /// Key values in `[key, range_end)` at revision `at` (0: this view's), in key order.
    pub fn range(&self, key: &[u8], range_end: &[u8], at: i64) -> Result<Vec<KeyValue>> {
        let at = if at == 0 { self.rev } else { at };
        range_records(self.store, &self.txn.open_table(KV)?, key, range_end, at)
    }

    /// Events with revisions in `from..=self.revision()` for keys in the range, in revision
    /// order, each with its previous value when asked for and still kept.
    pub fn events(
        &self,
        from: i64,
        key: &[u8],
        range_end: &[u8],
        prev_kv: bool,
    ) -> Result<Vec<Event>> {
        let kv = self.txn.open_table(KV)?;
        let (lo, hi) = index::bounds(key, range_end);
        let in_range = |k: &[u8]| {
            let above = match lo {
                std::ops::Bound::Included(l) => k >= l,
                _ => true,
            };
            let below = match hi {
                std::ops::Bound::Included(h) => k <= h,
                std::ops::Bound::Excluded(h) => k < h,
                std::ops::Bound::Unbounded => true,
            };
            above && below
        };
        let mut out = Vec::new();
        for item in kv.range((from, i64::MIN)..=(self.rev, i64::MAX))? {
            let (k, v) = item?;
            let (main, sub) = k.value();
            let rev = Rev { main, sub };
            let rec = decode(rev, v.value())?;
            if !in_range(&rec.kv.key) {
                continue;
            }
            let prev = if prev_kv {
                match self.store.index().before(&rec.kv.key, rev) {
                    Some(e) if !e.tombstone => Some(read_record(&kv, e.rev)?.kv),
                    _ => None,
                }
            } else {
                None
            };
            let (kind, kv_out) = if rec.tombstone {
                // A deletion event carries the key and the deleting revision only, as etcd's.
                (
                    EventType::Delete,
                    KeyValue {
                        key: rec.kv.key,
                        mod_revision: main,
                        ..Default::default()
                    },
                )
            } else {
                (EventType::Put, rec.kv)
            };
            out.push(Event {
                r#type: kind as i32,
                kv: Some(kv_out),
                prev_kv: prev,
            });
        }
        Ok(out)
    }
}

/// Key values of the keys in the range that existed at `at`, read from `kv` (a committed view's
/// table, or the batch's own, which also holds its uncommitted writes).
fn range_records(
    store: &Store,
    kv: &impl ReadableTable<(i64, i64), &'static [u8]>,
    key: &[u8],
    range_end: &[u8],
    at: i64,
) -> Result<Vec<KeyValue>> {
    let revs: Vec<Rev> = store
        .index()
        .range(key, range_end, at)
        .map(|(_, r)| r)
        .collect();
    revs.into_iter()
        .map(|r| read_record(kv, r).map(|rec| rec.kv))
        .collect()
}

fn read_record(kv: &impl ReadableTable<(i64, i64), &'static [u8]>, rev: Rev) -> Result<Record> {
    match kv.get((rev.main, rev.sub))? {
        Some(v) => decode(rev, v.value()),
        None => Err(StoreError::Storage(format!(
            "index names revision {}/{} but the record is missing",
            rev.main, rev.sub
        ))),
    }
}

/// Writes of one or more requests, committed together.
pub struct WriteBatch<'a> {
    store: &'a Store,
    _guard: MutexGuard<'a, ()>,
    txn: Option<redb::WriteTransaction>,
    /// The newest revision assigned in this batch (committed or not).
    current: i64,
    /// The request being applied: its revision and the next sub revision.
    request: Option<(i64, i64)>,
}

impl WriteBatch<'_> {
    fn txn(&self) -> &redb::WriteTransaction {
        self.txn
            .as_ref()
            .expect("a write batch holds its transaction until commit")
    }

    /// Starts a request; its changes share one revision, taken only if it changes something.
    pub fn begin_request(&mut self) {
        self.request = Some((self.current + 1, 0));
    }

    /// Ends the request; returns the store revision after it (its header revision).
    pub fn end_request(&mut self) -> i64 {
        if let Some((main, sub)) = self.request.take()
            && sub > 0
        {
            self.current = main;
        }
        self.current
    }

    /// The revision reads inside the current request see: its own changes included.
    pub fn read_revision(&self) -> i64 {
        match self.request {
            Some((main, sub)) if sub > 0 => main,
            _ => self.current,
        }
    }

    /// Whether the current request has changed anything yet.
    pub fn request_changed(&self) -> bool {
        matches!(self.request, Some((_, sub)) if sub > 0)
    }

    /// Checks that `rev` can be read inside the batch (0: what the current request sees).
    pub fn check_revision(&self, rev: i64) -> Result<i64> {
        readable(rev, self.read_revision(), self.store.compacted_revision())
    }

    /// Key values in the range as the current request sees them.
    pub fn range(&self, key: &[u8], range_end: &[u8], at: i64) -> Result<Vec<KeyValue>> {
        let at = if at == 0 { self.read_revision() } else { at };
        range_records(self.store, &self.txn().open_table(KV)?, key, range_end, at)
    }

    fn next_rev(&mut self) -> Rev {
        let (main, sub) = self.request.get_or_insert((self.current + 1, 0));
        let rev = Rev {
            main: *main,
            sub: *sub,
        };
        *sub += 1;
        rev
    }

    /// Puts `key`; returns the previous value.
    pub fn put(&mut self, key: &[u8], value: Vec<u8>, lease: i64) -> Result<Option<KeyValue>> {
        let prev = self.range(key, &[], 0)?.pop();
        let rev = self.next_rev();
        let kv = KeyValue {
            key: key.to_vec(),
            create_revision: prev.as_ref().map_or(rev.main, |p| p.create_revision),
            mod_revision: rev.main,
            version: prev.as_ref().map_or(1, |p| p.version + 1),
            value,
            lease,
        };
        self.txn()
            .open_table(KV)?
            .insert((rev.main, rev.sub), encode(&kv, false).as_slice())?;
        self.store.index_mut().push(
            key,
            Entry {
                rev,
                tombstone: false,
            },
        );
        Ok(prev)
    }

    /// Deletes every key in the range; returns what was deleted.
    pub fn delete_range(&mut self, key: &[u8], range_end: &[u8]) -> Result<Vec<KeyValue>> {
        let deleted = self.range(key, range_end, 0)?;
        for prev in &deleted {
            let rev = self.next_rev();
            let tomb = KeyValue {
                key: prev.key.clone(),
                mod_revision: rev.main,
                ..Default::default()
            };
            self.txn()
                .open_table(KV)?
                .insert((rev.main, rev.sub), encode(&tomb, true).as_slice())?;
            self.store.index_mut().push(
                &prev.key,
                Entry {
                    rev,
                    tombstone: true,
                },
            );
        }
        Ok(deleted)
    }

    pub fn grant_lease(&mut self, id: i64, ttl: i64) -> Result<()> {
        self.txn().open_table(LEASES)?.insert(id, ttl)?;
        Ok(())
    }

    pub fn revoke_lease(&mut self, id: i64) -> Result<()> {
        self.txn().open_table(LEASES)?.remove(id)?;
        Ok(())
    }

    /// Makes every change durable (one fsync) and visible; returns the new revision.
    pub fn commit(mut self) -> Result<i64> {
        let txn = self.txn.take().expect("commit is called once");
        let store = self.store;
        let result = (|| -> Result<()> {
            txn.open_table(META)?.insert("current", self.current)?;
            txn.commit()?;
            Ok(())
        })();
        if let Err(e) = result {
            store.index_mut().truncate_after(store.current_revision());
            return Err(e);
        }
        store.committed.store(self.current, Ordering::Release);
        store.notify.send_replace(self.current);
        Ok(self.current)
    }
}

impl Drop for WriteBatch<'_> {
    fn drop(&mut self) {
        // Dropped without commit: the redb transaction aborts; the index forgets the changes.
        if self.txn.is_some() {
            self.store
                .index_mut()
                .truncate_after(self.store.current_revision());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("db")).unwrap();
        (dir, s)
    }

    fn put(s: &Store, k: &str, v: &str) -> i64 {
        let mut w = s.write().unwrap();
        w.begin_request();
        w.put(k.as_bytes(), v.as_bytes().to_vec(), 0).unwrap();
        w.end_request();
        w.commit().unwrap()
    }

    #[test]
    fn revisions_versions_and_history_as_etcd_counts_them() {
        let (_d, s) = store();
        assert_eq!(s.current_revision(), 1, "a new store is at revision 1");
        assert_eq!(put(&s, "a", "1"), 2);
        assert_eq!(put(&s, "a", "2"), 3);
        let r = s.read().unwrap();
        let a = &r.range(b"a", &[], 0).unwrap()[0];
        assert_eq!((a.create_revision, a.mod_revision, a.version), (2, 3, 2));
        assert_eq!(r.range(b"a", &[], 2).unwrap()[0].value, b"1");
        // A delete takes a revision; a put after it starts a new generation.
        let mut w = s.write().unwrap();
        w.begin_request();
        assert_eq!(w.delete_range(b"a", &[]).unwrap().len(), 1);
        assert_eq!(w.end_request(), 4);
        w.begin_request();
        assert_eq!(w.delete_range(b"a", &[]).unwrap().len(), 0);
        assert_eq!(w.end_request(), 4, "deleting nothing takes no revision");
        w.commit().unwrap();
        put(&s, "a", "3");
        let a = &s.read().unwrap().range(b"a", &[], 0).unwrap()[0];
        assert_eq!((a.create_revision, a.version), (5, 1));
    }

    #[test]
    fn a_batch_is_invisible_until_committed_and_forgotten_if_dropped() {
        let (_d, s) = store();
        put(&s, "a", "1");
        {
            let mut w = s.write().unwrap();
            w.begin_request();
            w.put(b"b", b"x".to_vec(), 0).unwrap();
            assert_eq!(
                w.range(b"b", &[], 0).unwrap().len(),
                1,
                "a request sees its own writes"
            );
            w.end_request();
            assert!(s.read().unwrap().range(b"b", &[], 0).unwrap().is_empty());
        }
        assert_eq!(s.current_revision(), 2);
        assert!(s.read().unwrap().range(b"b", &[], 0).unwrap().is_empty());
        assert_eq!(
            put(&s, "b", "y"),
            3,
            "the dropped batch's revision is reused"
        );
    }

    #[test]
    fn reopening_restores_everything() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        {
            let s = Store::open(&path).unwrap();
            put(&s, "a", "1");
            put(&s, "b", "2");
            let mut w = s.write().unwrap();
            w.begin_request();
            w.delete_range(b"a", &[]).unwrap();
            w.grant_lease(7, 30).unwrap();
            w.end_request();
            w.commit().unwrap();
            s.compact(3).unwrap();
        }
        let s = Store::open(&path).unwrap();
        assert_eq!(s.current_revision(), 4);
        assert_eq!(s.compacted_revision(), 3);
        let r = s.read().unwrap();
        assert!(r.range(b"a", &[], 0).unwrap().is_empty());
        assert_eq!(r.range(b"b", &[], 0).unwrap()[0].value, b"2");
        assert_eq!(s.leases().unwrap(), vec![(7, 30)]);
        assert!(matches!(s.check_revision(2), Err(StoreError::Compacted)));
        assert!(matches!(s.check_revision(9), Err(StoreError::FutureRev)));
    }

    #[test]
    fn events_replay_history_in_revision_order_with_prev_kv() {
        let (_d, s) = store();
        put(&s, "k1", "a");
        put(&s, "k2", "b");
        put(&s, "k1", "c");
        let mut w = s.write().unwrap();
        w.begin_request();
        w.delete_range(b"k", b"l").unwrap();
        w.end_request();
        w.commit().unwrap();
        put(&s, "other", "x");
        let r = s.read().unwrap();
        let ev = r.events(3, b"k", b"l", true).unwrap();
        let summary: Vec<(i32, String, i64, Option<String>)> = ev
            .iter()
            .map(|e| {
                let kv = e.kv.as_ref().unwrap();
                (
                    e.r#type,
                    String::from_utf8(kv.key.clone()).unwrap(),
                    kv.mod_revision,
                    e.prev_kv
                        .as_ref()
                        .map(|p| String::from_utf8(p.value.clone()).unwrap()),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (0, "k2".into(), 3, None),
                (0, "k1".into(), 4, Some("a".into())),
                (1, "k1".into(), 5, Some("c".into())),
                (1, "k2".into(), 5, Some("b".into())),
            ]
        );
    }

    #[test]
    fn compaction_refuses_old_reads_and_keeps_current_values() {
        let (_d, s) = store();
        put(&s, "a", "1");
        put(&s, "a", "2");
        put(&s, "b", "3");
        s.compact(3).unwrap();
        assert!(matches!(s.compact(3), Err(StoreError::Compacted)));
        assert!(matches!(s.compact(99), Err(StoreError::FutureRev)));
        let r = s.read().unwrap();
        assert_eq!(r.range(b"a", &[], 3).unwrap()[0].value, b"2");
        assert_eq!(r.range(b"a", b"\0", 0).unwrap().len(), 2);
    }
}
