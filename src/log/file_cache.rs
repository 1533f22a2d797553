//! A bounded set of open active-segment files, so that a broker can host
//! more partitions than RLIMIT_NOFILE allows descriptors (Kafka keeps every
//! segment open and asks for the limit to be raised instead).
//!
//! Each active segment's log file is a [`CachedFile`]: a path whose
//! descriptor the cache opens on demand and closes again when more files
//! are open than its budget, choosing victims by CLOCK (second chance), an
//! approximation of least-recently-used that costs a hit no global lock.
//! Users hold an `Arc<File>` for the length of one read, write or fsync, so
//! a file evicted meanwhile closes only when they finish.
//!
//! Durability: a descriptor is never closed with writes no fsync has
//! covered. Eviction fsyncs such a file first, and a failure there is kept
//! and returned by the file's next [`CachedFile::sync`], so that the log
//! marks the records it had not yet made durable as failed rather than
//! acknowledging them. That fsync is another partition's, and the one
//! evicting is an append or roll under its own log's lock: so a victim
//! with unsynced writes goes to a background thread (the closer) that
//! fsyncs and closes it, and the append goes on. The closer takes what is
//! queued up to [`CLOSER_BATCH`] files at a time and fsyncs them at once,
//! one thread each: ext4 commits its journal once for all the fsyncs
//! waiting on it, where one after another each waited for a commit of its
//! own. The closer's queue is bounded, so descriptors awaiting it exceed
//! the budget by at most the queue's length and a batch, which the reserve
//! leaves room for; a full queue makes the evicting thread wait, as it did
//! when it fsynced itself. Linux's fsync writes back the inode's dirty pages
//! whichever descriptor wrote them, so a reopened file's fsync covers
//! writes made through an earlier descriptor too; fsyncs of one file
//! (its log's and an eviction's) take turns, so one never reports success
//! while the other's failure is still unrecorded.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, OnceLock, Weak};

use parking_lot::Mutex;

/// Descriptors the cache leaves to connections, the metadata quorum and
/// short-lived opens (rolled segments' reads, index and checkpoint
/// writes): at least this many, or a quarter of the limit.
const RESERVE: u64 = 64;

/// The fewest files the cache keeps open, however low the limit: with
/// fewer, appends to a handful of partitions would reopen a file each.
const MIN_BUDGET: usize = 16;

/// The budget when the limit is unknown or unlimited.
const UNLIMITED_BUDGET: usize = 1 << 20;

/// Evicted files awaiting the closer at most, as a fraction of the budget
/// (the reserve is at least a third of it) and in all.
const QUEUE_PER_BUDGET: usize = 8;
const MAX_QUEUE: usize = 1024;

/// Evicted files the closer fsyncs at once.
const CLOSER_BATCH: usize = 8;

/// An evicted file and its slot, to fsync (if written) and close.
type Victim = (Arc<Slot>, Arc<File>);

/// A victim awaiting the closer. Its slot is not kept alive for it: a
/// `CachedFile` dropped meanwhile (its segment rolled, deleted or closed)
/// closes without an fsync, as it does when not evicted.
type Queued = (Weak<Slot>, Arc<File>);

pub struct FileCache {
    budget: usize,
    /// Every slot holding a descriptor, in CLOCK order. Entries whose
    /// `CachedFile` was dropped are removed as the hand passes them, or
    /// all at once when they are half of the ring.
    ring: Mutex<VecDeque<Weak<Slot>>>,
    /// Entries of the ring dropped since it was last compacted.
    dropped: AtomicUsize,
    /// The closer's queue, its thread started at the first eviction of a
    /// file with unsynced writes; None if the thread could not be started
    /// (victims are then fsynced where they are evicted).
    closer: OnceLock<Option<SyncSender<Queued>>>,
}

impl FileCache {
    pub fn new(budget: usize) -> Arc<FileCache> {
        Arc::new(FileCache {
            budget: budget.max(1),
            ring: Mutex::new(VecDeque::new()),
            dropped: AtomicUsize::new(0),
            closer: OnceLock::new(),
        })
    }

    /// The process's cache, its budget taken from the soft RLIMIT_NOFILE
    /// when first used (after the broker raised it to the hard limit).
    pub fn global() -> Arc<FileCache> {
        static GLOBAL: OnceLock<Arc<FileCache>> = OnceLock::new();
        GLOBAL
            .get_or_init(|| {
                let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
                let budget = budget_for(limit);
                tracing::info!(
                    open_file_limit = ?limit,
                    budget,
                    "active segment files kept open at most"
                );
                FileCache::new(budget)
            })
            .clone()
    }

    /// How many files the cache holds open now.
    #[cfg(test)]
    fn open_files(&self) -> usize {
        self.ring
            .lock()
            .iter()
            .filter(|w| w.upgrade().is_some_and(|s| s.state.lock().file.is_some()))
            .count()
    }

    /// Opens `path`, any file of the log; when the process is out of
    /// descriptors (connections or short-lived opens took what the budget
    /// left them), closes half of the cache's files and tries once more.
    pub fn open(&self, options: &OpenOptions, path: &Path) -> io::Result<File> {
        match options.open(path) {
            Err(e) if too_many_files(&e) => {
                let victims = {
                    let mut ring = self.ring.lock();
                    let half = ring.len() / 2;
                    self.take_victims(&mut ring, half, None)
                };
                tracing::warn!(file = %path.display(), closed = victims.len(), "out of file descriptors: closing idle segment files");
                close(victims);
                options.open(path).map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!(
                            "{e}, even after closing idle segment files: raise RLIMIT_NOFILE \
                             or hold fewer connections"
                        ),
                    )
                })
            }
            opened => opened,
        }
    }

    /// Closes evicted files: clean ones here, ones with unsynced writes by
    /// the closer, off the evicting thread's locks.
    fn retire(&self, victims: Vec<Victim>) {
        for victim in victims {
            if victim.0.clean() {
                continue;
            }
            let queue = self.closer.get_or_init(|| {
                let (tx, rx) = mpsc::sync_channel::<Queued>(
                    (self.budget / QUEUE_PER_BUDGET).clamp(1, MAX_QUEUE),
                );
                let started = std::thread::Builder::new()
                    .name("segment-closer".into())
                    .spawn(move || {
                        while let Ok(first) = rx.recv() {
                            let batch: Vec<Queued> = std::iter::once(first)
                                .chain(rx.try_iter().take(CLOSER_BATCH - 1))
                                .collect();
                            sync_evicted_at_once(&batch);
                        }
                    });
                match started {
                    Ok(_) => Some(tx),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot start the segment file closer: evicted files are fsynced where they are evicted");
                        None
                    }
                }
            });
            // The thread ends only when the cache, and with it this sender,
            // is dropped: a send fails only if the thread panicked.
            let (slot, file) = victim;
            let sent = queue
                .as_ref()
                .is_some_and(|queue| queue.send((Arc::downgrade(&slot), file.clone())).is_ok());
            if !sent {
                slot.sync_evicted(&file);
            }
        }
    }

    /// Takes files out of the ring until at most `keep` remain, never
    /// `current`'s.
    fn take_victims(
        &self,
        ring: &mut VecDeque<Weak<Slot>>,
        keep: usize,
        current: Option<&Arc<Slot>>,
    ) -> Vec<Victim> {
        // Rolled and deleted segments leave entries behind: without this,
        // they would count against the budget until the hand reached them.
        if 2 * self.dropped.load(Ordering::Relaxed) > ring.len() {
            self.dropped.store(0, Ordering::Relaxed);
            ring.retain(|w| w.strong_count() > 0);
        }
        let mut victims = Vec::new();
        // Two passes at most: the first clears every reference bit.
        let mut looks = 2 * ring.len() + 1;
        while ring.len() > keep && looks > 0 {
            looks -= 1;
            let Some(weak) = ring.pop_front() else { break };
            let Some(slot) = weak.upgrade() else { continue };
            let is_current = current.is_some_and(|c| Arc::ptr_eq(&slot, c));
            if is_current || slot.referenced.swap(false, Ordering::Relaxed) {
                ring.push_back(weak);
                continue;
            }
            let taken = slot.state.lock().file.take();
            if let Some(file) = taken {
                victims.push((slot, file));
            }
        }
        victims
    }
}

/// fsyncs (if written) and closes queued victims, one thread each.
fn sync_evicted_at_once(batch: &[Queued]) {
    let sync = |(slot, file): &Queued| {
        if let Some(slot) = slot.upgrade() {
            slot.sync_evicted(file);
        }
    };
    match batch {
        [one] => sync(one),
        _ => std::thread::scope(|scope| {
            for victim in batch {
                let spawned = std::thread::Builder::new()
                    .name("segment-closer".into())
                    .spawn_scoped(scope, move || sync(victim));
                if spawned.is_err() {
                    sync(victim);
                }
            }
        }),
    }
}

/// Soft limit less the reserve, never below [`MIN_BUDGET`].
fn budget_for(limit: Option<u64>) -> usize {
    let Some(limit) = limit else {
        return UNLIMITED_BUDGET;
    };
    let reserve = RESERVE.max(limit / 4);
    usize::try_from(limit.saturating_sub(reserve))
        .unwrap_or(UNLIMITED_BUDGET)
        .clamp(MIN_BUDGET, UNLIMITED_BUDGET)
}

struct State {
    file: Option<Arc<File>>,
    /// Writes made and how many of them an fsync has covered.
    writes: u64,
    synced: u64,
    /// An eviction's fsync failed: the next sync reports it.
    failed: Option<io::Error>,
}

struct Slot {
    path: PathBuf,
    referenced: AtomicBool,
    state: Mutex<State>,
    /// Held for each fsync of this file.
    syncing: Mutex<()>,
}

impl Slot {
    /// Whether every write made is covered by an fsync.
    fn clean(&self) -> bool {
        let state = self.state.lock();
        state.writes == state.synced
    }

    /// fsyncs an evicted file before it closes; a failure is kept for the
    /// file's next sync, recorded before the next fsync's turn.
    fn sync_evicted(&self, file: &File) {
        let _turn = self.syncing.lock();
        if let Err(e) = self.sync_in_turn(file) {
            tracing::error!(file = %self.path.display(), error = %e, "fsync before closing an idle segment file failed: its log's next flush fails");
            self.state.lock().failed = Some(e);
        }
    }

    /// fsyncs `file` if writes are not yet covered, recording the outcome.
    fn sync_with(&self, file: &File) -> io::Result<()> {
        let _turn = self.syncing.lock();
        self.sync_in_turn(file)
    }

    fn sync_in_turn(&self, file: &File) -> io::Result<()> {
        let seen = {
            let mut state = self.state.lock();
            if let Some(e) = state.failed.take() {
                return Err(e);
            }
            if state.writes == state.synced {
                return Ok(());
            }
            state.writes
        };
        match file.sync_data() {
            Ok(()) => {
                let mut state = self.state.lock();
                state.synced = state.synced.max(seen);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

/// One file opened read-write on demand through a [`FileCache`].
pub struct CachedFile {
    cache: Arc<FileCache>,
    slot: Arc<Slot>,
}

impl CachedFile {
    /// Takes `file`, already open read-write at `path`, into the cache.
    pub fn new(cache: Arc<FileCache>, path: &Path, file: File) -> CachedFile {
        let slot = Arc::new(Slot {
            path: path.to_path_buf(),
            referenced: AtomicBool::new(true),
            state: Mutex::new(State {
                file: Some(Arc::new(file)),
                writes: 0,
                synced: 0,
                failed: None,
            }),
            syncing: Mutex::new(()),
        });
        let victims = {
            let mut ring = cache.ring.lock();
            ring.push_back(Arc::downgrade(&slot));
            cache.take_victims(&mut ring, cache.budget, Some(&slot))
        };
        cache.retire(victims);
        CachedFile { cache, slot }
    }

    pub fn path(&self) -> &Path {
        &self.slot.path
    }

    /// The open file, reopened if the cache closed it.
    pub fn get(&self) -> io::Result<Arc<File>> {
        self.slot.referenced.store(true, Ordering::Relaxed);
        if let Some(file) = &self.slot.state.lock().file {
            return Ok(file.clone());
        }
        // Opened outside the locks, since it may close other files first;
        // a concurrent get that opened it too wins and this one is dropped.
        let opened = Arc::new(self.cache.open(&read_write(), &self.slot.path)?);
        let (file, victims) = {
            let mut ring = self.cache.ring.lock();
            let mut state = self.slot.state.lock();
            if let Some(file) = &state.file {
                return Ok(file.clone());
            }
            state.file = Some(opened.clone());
            drop(state);
            ring.push_back(Arc::downgrade(&self.slot));
            let victims = self
                .cache
                .take_victims(&mut ring, self.cache.budget, Some(&self.slot));
            (opened, victims)
        };
        self.cache.retire(victims);
        Ok(file)
    }

    /// Records a write (or truncation) through a file [`CachedFile::get`]
    /// returned: an eviction must fsync it before closing.
    pub fn wrote(&self) {
        self.slot.state.lock().writes += 1;
    }

    /// fsyncs the file if anything written is not yet synced, reporting an
    /// fsync an eviction made and that failed.
    pub fn sync(&self) -> io::Result<()> {
        let state = self.slot.state.lock();
        let clean = state.writes == state.synced && state.failed.is_none();
        drop(state);
        if clean {
            return Ok(());
        }
        let file = self.get()?;
        self.slot.sync_with(&file)
    }

    /// Whether the cache holds the file open now.
    #[cfg(test)]
    fn is_open(&self) -> bool {
        self.slot.state.lock().file.is_some()
    }
}

impl Drop for CachedFile {
    fn drop(&mut self) {
        if self.slot.state.lock().file.is_some() {
            self.cache.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn read_write() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.read(true).write(true);
    options
}

fn too_many_files(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(code) if code == rustix::io::Errno::MFILE.raw_os_error()
            || code == rustix::io::Errno::NFILE.raw_os_error()
    )
}

/// Closes evicted files here and now, fsyncing first the ones holding
/// unsynced writes: for when the process needs the descriptors back.
fn close(victims: Vec<Victim>) {
    for (slot, file) in victims {
        slot.sync_evicted(&file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileExt;

    fn cached(dir: &Path, cache: &Arc<FileCache>, name: &str) -> CachedFile {
        let path = dir.join(name);
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        CachedFile::new(cache.clone(), &path, file)
    }

    /// Waits for the closer to have fsynced `file`'s writes.
    fn synced_by_closer(file: &CachedFile) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !file.slot.clean() {
            assert!(
                std::time::Instant::now() < deadline,
                "the closer never fsynced {}",
                file.path().display()
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    fn many(dir: &Path, cache: &Arc<FileCache>, n: usize) -> Vec<CachedFile> {
        (0..n)
            .map(|i| cached(dir, cache, &format!("{i}.log")))
            .collect()
    }

    #[test]
    fn keeps_at_most_the_budget_open_and_reopens_on_demand() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FileCache::new(4);
        let files = many(dir.path(), &cache, 10);
        assert_eq!(cache.open_files(), 4);
        for (i, f) in files.iter().enumerate() {
            f.get().unwrap().write_all_at(&[i as u8; 3], 0).unwrap();
            f.wrote();
            assert!(cache.open_files() <= 4);
        }
        for (i, f) in files.iter().enumerate() {
            let mut buf = [0u8; 3];
            f.get().unwrap().read_exact_at(&mut buf, 0).unwrap();
            assert_eq!(buf, [i as u8; 3], "{}", f.path().display());
        }
        assert_eq!(cache.open_files(), 4);
        drop(files);
        // The closer may hold one for the length of its fsync.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while cache.open_files() > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "dropped files are closed"
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    #[test]
    fn a_file_used_since_the_last_pass_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FileCache::new(3);
        let files = many(dir.path(), &cache, 3);
        // New files start referenced: this pass clears every bit and
        // evicts the oldest.
        let d = cached(dir.path(), &cache, "d.log");
        assert!(!files[0].is_open() && files[1].is_open());
        files[1].get().unwrap();
        let e = cached(dir.path(), &cache, "e.log");
        assert!(files[1].is_open(), "used since the last pass");
        assert!(!files[2].is_open(), "not used: the victim");
        assert!(d.is_open() && e.is_open());
        assert_eq!(cache.open_files(), 3);
    }

    #[test]
    fn an_in_use_file_outlives_its_eviction() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FileCache::new(1);
        let a = cached(dir.path(), &cache, "a.log");
        let held = a.get().unwrap();
        let _b = cached(dir.path(), &cache, "b.log");
        assert!(!a.is_open());
        held.write_all_at(b"still writable", 0).unwrap();
        assert_eq!(std::fs::read(a.path()).unwrap(), b"still writable");
    }

    #[test]
    fn eviction_fsyncs_unsynced_writes_and_sync_skips_clean_files() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FileCache::new(1);
        let a = cached(dir.path(), &cache, "a.log");
        a.get().unwrap().write_all_at(b"acked", 0).unwrap();
        a.wrote();
        let b = cached(dir.path(), &cache, "b.log");
        assert!(!a.is_open() && b.is_open());
        synced_by_closer(&a);
        let state = a.slot.state.lock();
        assert_eq!((state.writes, state.synced), (1, 1), "fsynced when evicted");
        drop(state);
        // Nothing to sync: no reopen, so `b` keeps its descriptor.
        a.sync().unwrap();
        assert!(!a.is_open() && b.is_open());
        // A write after a reopen is synced by the next sync.
        a.get().unwrap().write_all_at(b"again", 5).unwrap();
        a.wrote();
        a.sync().unwrap();
        let state = a.slot.state.lock();
        assert_eq!((state.writes, state.synced), (2, 2));
        drop(state);
        assert_eq!(std::fs::read(a.path()).unwrap(), b"ackedagain");
    }

    #[test]
    fn a_failed_eviction_fsync_fails_the_next_sync_once() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FileCache::new(1);
        let a = cached(dir.path(), &cache, "a.log");
        a.wrote();
        // No file system here fails an fsync on demand: record the error
        // as `close` does when one fails.
        let _b = cached(dir.path(), &cache, "b.log");
        synced_by_closer(&a);
        a.slot.state.lock().failed = Some(io::Error::other("EIO"));
        assert_eq!(a.sync().unwrap_err().to_string(), "EIO");
        a.sync().unwrap();
    }

    #[test]
    fn an_eviction_leaves_the_fsync_to_the_closer() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FileCache::new(1);
        let a = Arc::new(cached(dir.path(), &cache, "a.log"));
        a.get().unwrap().write_all_at(b"unsynced", 0).unwrap();
        a.wrote();
        // `a`'s fsync cannot start while its turn is held here: were it
        // made by the eviction, opening `b` would wait for it.
        let turn = a.slot.syncing.lock();
        let (tx, rx) = std::sync::mpsc::channel();
        let evicting = {
            let (dir, cache) = (dir.path().to_path_buf(), cache.clone());
            std::thread::spawn(move || {
                let b = cached(&dir, &cache, "b.log");
                tx.send(()).unwrap();
                b
            })
        };
        rx.recv_timeout(std::time::Duration::from_secs(60))
            .expect("opening b waited for a's fsync");
        let b = evicting.join().unwrap();
        assert!(!a.is_open() && b.is_open());
        assert!(!a.slot.clean(), "not fsynced while the turn is held");
        drop(turn);
        synced_by_closer(&a);
        assert!(!a.is_open() && b.is_open());
        a.sync().unwrap();
        assert_eq!(std::fs::read(a.path()).unwrap(), b"unsynced");
    }

    #[test]
    fn a_sync_while_the_closer_waits_covers_the_writes() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FileCache::new(1);
        let a = cached(dir.path(), &cache, "a.log");
        a.get().unwrap().write_all_at(b"acked", 0).unwrap();
        a.wrote();
        let _b = cached(dir.path(), &cache, "b.log");
        // Whether or not the closer got to it first, the log's own sync
        // reports success only once an fsync covered the write.
        a.sync().unwrap();
        assert!(a.slot.clean());
        let state = a.slot.state.lock();
        assert_eq!((state.writes, state.synced), (1, 1));
    }

    #[test]
    fn dropped_files_leave_the_ring() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FileCache::new(100);
        let files = many(dir.path(), &cache, 10);
        drop(files);
        let kept = cached(dir.path(), &cache, "kept.log");
        assert_eq!(
            cache.ring.lock().len(),
            1,
            "compacted when more than half were dropped"
        );
        assert!(kept.is_open());
    }

    #[test]
    fn budgets_leave_a_reserve() {
        assert_eq!(budget_for(Some(256)), 192);
        assert_eq!(budget_for(Some(20_000)), 15_000);
        assert_eq!(budget_for(Some(10)), MIN_BUDGET);
        assert_eq!(budget_for(None), UNLIMITED_BUDGET);
    }
}
