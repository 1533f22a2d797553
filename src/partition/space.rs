//! Room to recover from a full disk.
//!
//! A full data directory must not stop the broker from deleting topics (the
//! metadata quorum writes an entry for that, and a quorum whose write fails
//! stops) nor from starting again. So the broker keeps
//! `<data dir>/.reserved_space`, a file of [`RESERVED_BYTES`] allocated
//! while space is plentiful. When a partition write finds the disk full
//! (ENOSPC), or free space falls under half the reserve, the file is
//! deleted and the broker turns *full*: every partition append (produce,
//! replication, transaction markers, the coordinators' records) is refused
//! with KAFKA_STORAGE_ERROR without being tried, so the space freed stays
//! for the metadata quorum (DeleteTopics, FindCoordinator creating an
//! internal topic, registration at start-up) and for recovery. Once twice
//! the reserve is free again (topics deleted, retention, space freed by
//! hand), the file is allocated again and appends resume. A broker that
//! starts on a full disk starts full.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;

use crate::log::LogError;

/// What the reserve holds back: many metadata entries, a snapshot of the
/// image, and the files a restart writes.
pub const RESERVED_BYTES: u64 = 8 << 20;

const RESERVE_FILE: &str = ".reserved_space";

pub struct DiskSpace {
    dir: PathBuf,
    full: AtomicBool,
    /// An I/O error other than a full disk happened in a log here: the
    /// directory is offline (Kafka's failed log dir) until a restart.
    failed: AtomicBool,
    /// Serialises turning full and back, which create and delete the reserve.
    transition: Mutex<()>,
}

impl DiskSpace {
    /// Takes stock of `dir` at start-up: keeps or allocates the reserve, or
    /// starts full when there is no room for it.
    pub fn open(dir: &Path) -> DiskSpace {
        let space = DiskSpace {
            dir: dir.to_path_buf(),
            full: AtomicBool::new(false),
            failed: AtomicBool::new(false),
            transition: Mutex::new(()),
        };
        let reserved =
            std::fs::metadata(space.reserve_path()).is_ok_and(|m| m.len() == RESERVED_BYTES);
        if reserved {
            if space.available().is_some_and(|a| a < RESERVED_BYTES / 2) {
                space.turn_full("the data directory is nearly full at start-up");
            }
        } else if let Err(e) = space.reserve() {
            space.turn_full(&format!("cannot reserve space at start-up: {e}"));
        }
        space
    }

    /// Whether appends are refused until space is freed.
    pub fn is_full(&self) -> bool {
        self.full.load(Ordering::Acquire)
    }

    /// Whether an I/O error took the directory offline.
    pub fn is_failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    /// An error of a log serving requests: a full disk turns the directory
    /// full, any other I/O error fails it, as Kafka takes a log dir offline
    /// on an IOException. Running out of file descriptors is the process's
    /// limit, not the disk's, and fails nothing.
    pub fn note_serving(&self, e: &LogError) {
        if e.is_disk_full() {
            self.note(e);
            return;
        }
        let LogError::Io { source, .. } = e else {
            return;
        };
        let descriptors = [rustix::io::Errno::MFILE, rustix::io::Errno::NFILE]
            .map(|errno| Some(errno.raw_os_error()));
        if descriptors.contains(&source.raw_os_error()) {
            return;
        }
        if !self.failed.swap(true, Ordering::AcqRel) {
            tracing::error!(dir = %self.dir.display(), error = %e, "I/O error in a log directory: it is offline, its partitions answer KAFKA_STORAGE_ERROR and their leadership moves to other replicas");
        }
    }

    /// Turns full when `e` says the disk is.
    pub fn note(&self, e: &LogError) {
        if e.is_disk_full() {
            self.turn_full(&e.to_string());
        }
    }

    /// Periodic: turns full when free space runs low, and back once there
    /// is room for the reserve and as much again.
    pub fn check(&self) {
        let Some(available) = self.available() else {
            return;
        };
        if !self.is_full() {
            if available < RESERVED_BYTES / 2 {
                self.turn_full(&format!("only {available} bytes are free"));
            }
            return;
        }
        if available < 2 * RESERVED_BYTES {
            return;
        }
        let _one = self.transition.lock();
        match self.reserve() {
            Ok(()) => {
                self.full.store(false, Ordering::Release);
                tracing::info!(dir = %self.dir.display(), available, "disk space freed: appends accepted again");
            }
            Err(e) => {
                tracing::warn!(dir = %self.dir.display(), error = %e, "cannot reserve space again; appends stay refused")
            }
        }
    }

    fn turn_full(&self, reason: &str) {
        let _one = self.transition.lock();
        if self.full.swap(true, Ordering::AcqRel) {
            return;
        }
        let released = match std::fs::remove_file(self.reserve_path()) {
            Ok(()) => RESERVED_BYTES,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => {
                tracing::error!(path = %self.reserve_path().display(), error = %e, "cannot release the reserved space");
                0
            }
        };
        tracing::error!(dir = %self.dir.display(), reason, released, resume_at_free_bytes = 2 * RESERVED_BYTES, "data directory full: partition appends answer KAFKA_STORAGE_ERROR until space is freed (delete topics or records)");
    }

    fn reserve_path(&self) -> PathBuf {
        self.dir.join(RESERVE_FILE)
    }

    fn available(&self) -> Option<u64> {
        let s = rustix::fs::statvfs(&self.dir).ok()?;
        Some(s.f_bavail.saturating_mul(s.f_frsize))
    }

    /// Allocates the reserve file, if twice its size is free.
    fn reserve(&self) -> std::io::Result<()> {
        if let Some(available) = self.available() {
            if available < 2 * RESERVED_BYTES {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::StorageFull,
                    format!("{available} bytes free, {} needed", 2 * RESERVED_BYTES),
                ));
            }
        }
        let path = self.reserve_path();
        let allocated = (|| {
            let mut file = OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .open(&path)?;
            let fallocated = rustix::fs::fallocate(
                &file,
                rustix::fs::FallocateFlags::empty(),
                0,
                RESERVED_BYTES,
            );
            if fallocated.is_err() {
                // Filesystems without fallocate get the blocks written.
                let chunk = vec![0u8; 1 << 20];
                for _ in 0..RESERVED_BYTES / chunk.len() as u64 {
                    file.write_all(&chunk)?;
                }
            }
            file.sync_all()
        })();
        if allocated.is_err() {
            let _ = std::fs::remove_file(&path);
        }
        allocated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_releases_the_reserve_until_space_returns() {
        let dir = tempfile::tempdir().unwrap();
        let space = DiskSpace::open(dir.path());
        let reserve = dir.path().join(RESERVE_FILE);
        assert!(!space.is_full());
        assert_eq!(std::fs::metadata(&reserve).unwrap().len(), RESERVED_BYTES);

        let other = LogError::io("append to", dir.path())(std::io::Error::other("not space"));
        space.note(&other);
        assert!(!space.is_full(), "only a full disk turns it full");
        let enospc = LogError::io("append to", dir.path())(std::io::Error::from_raw_os_error(
            rustix::io::Errno::NOSPC.raw_os_error(),
        ));
        space.note(&enospc);
        assert!(space.is_full());
        assert!(!reserve.exists(), "the reserve is given up for the quorum");

        // Plenty of room here: the next check takes the reserve back.
        space.check();
        assert!(!space.is_full());
        assert!(reserve.exists());
        assert!(!DiskSpace::open(dir.path()).is_full(), "a restart keeps it");
    }

    #[test]
    fn an_io_error_of_a_serving_log_fails_the_directory_but_a_full_disk_or_fd_limit_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let space = DiskSpace::open(dir.path());
        let io = |errno: rustix::io::Errno| {
            LogError::io("create", dir.path())(std::io::Error::from_raw_os_error(
                errno.raw_os_error(),
            ))
        };
        space.note_serving(&io(rustix::io::Errno::MFILE));
        space.note_serving(&io(rustix::io::Errno::NFILE));
        assert!(!space.is_failed(), "the descriptor limit is the process's");
        space.note_serving(&io(rustix::io::Errno::NOSPC));
        assert!(space.is_full() && !space.is_failed());
        space.note_serving(&io(rustix::io::Errno::NOENT));
        assert!(space.is_failed());
    }
}
