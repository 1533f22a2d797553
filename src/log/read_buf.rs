//! Buffers that reads of segment files land in, kept for the next read.
//!
//! A Fetch reads up to its partition limit (clients default to 1 MiB) per
//! partition. A fresh buffer per read cost about a third of the broker's
//! CPU on consume: zeroed before `pread` filled it, and, at that size,
//! served by glibc from mmap (or trimmed off an arena when freed), so every
//! read also paid the page faults for memory it then handed back. Large
//! reads here take a buffer from a pool instead: zeroed once, when first
//! made, and given back when the last `Bytes` viewing it is dropped (after
//! the response holding it was written), up to a bound on the bytes the
//! pool keeps idle. A view never reaches past what its own read filled,
//! so nothing of an earlier read is ever answered.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::{Arc, LazyLock};

use bytes::Bytes;
use parking_lot::Mutex;

/// Reads smaller than this get a buffer of their own: the allocator keeps
/// memory for such sizes, and a pooled buffer would hold far more than
/// they use.
const MIN_POOLED: usize = 64 * 1024;

/// Largest buffer kept: reads beyond clients' default limits are rare
/// enough to pay for their own memory.
const MAX_POOLED: usize = 8 * 1024 * 1024;

/// Most bytes the process-wide pool keeps idle: a few Fetches' worth at
/// clients' default limits.
const MAX_IDLE_BYTES: usize = 32 * 1024 * 1024;

pub(super) struct ReadBuffers {
    idle: Mutex<Idle>,
    max_idle_bytes: usize,
}

#[derive(Default)]
struct Idle {
    buffers: Vec<Vec<u8>>,
    bytes: usize,
}

impl ReadBuffers {
    fn new(max_idle_bytes: usize) -> Arc<ReadBuffers> {
        Arc::new(ReadBuffers {
            idle: Mutex::new(Idle::default()),
            max_idle_bytes,
        })
    }

    pub(super) fn global() -> &'static Arc<ReadBuffers> {
        static GLOBAL: LazyLock<Arc<ReadBuffers>> =
            LazyLock::new(|| ReadBuffers::new(MAX_IDLE_BYTES));
        &GLOBAL
    }

    /// Bytes `[position, position + len)` of `file`; an error if the file
    /// ends before them.
    pub(super) fn read_at(
        self: &Arc<Self>,
        file: &File,
        position: u64,
        len: usize,
    ) -> std::io::Result<Bytes> {
        if !(MIN_POOLED..=MAX_POOLED).contains(&len) {
            return read_fresh(file, position, len).map(Bytes::from);
        }
        let mut pooled = Pooled {
            buf: self.take(len),
            len: 0,
            pool: self.clone(),
        };
        // On an error `pooled` goes back to the pool unanswered.
        file.read_exact_at(&mut pooled.buf[..len], position)?;
        pooled.len = len;
        Ok(Bytes::from_owner(pooled))
    }

    /// The smallest idle buffer of at least `len` bytes, or a new one.
    fn take(&self, len: usize) -> Vec<u8> {
        let mut idle = self.idle.lock();
        let best = idle
            .buffers
            .iter()
            .enumerate()
            .filter(|(_, b)| b.len() >= len)
            .min_by_key(|(_, b)| b.len())
            .map(|(i, _)| i);
        if let Some(i) = best {
            let buf = idle.buffers.swap_remove(i);
            idle.bytes -= buf.len();
            return buf;
        }
        drop(idle);
        // Rounded up so that reads of slightly different lengths (the
        // tail of a segment) fit buffers made for one another.
        vec![0; len.next_power_of_two().min(MAX_POOLED)]
    }

    fn give_back(&self, buf: Vec<u8>) {
        let mut idle = self.idle.lock();
        if idle.bytes + buf.len() <= self.max_idle_bytes {
            idle.bytes += buf.len();
            idle.buffers.push(buf);
        }
    }
}

/// Bytes `[position, position + len)` of `file` in a buffer of their own,
/// read into its spare capacity: over thousands of partitions a Fetch
/// reads a small range of each, and zeroing each buffer first (as
/// `read_exact_at` needs) was the largest cost of reading them.
fn read_fresh(file: &File, position: u64, len: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(len);
    while buf.len() < len {
        let at = position + buf.len() as u64;
        match rustix::io::pread(file, rustix::buffer::spare_capacity(&mut buf), at) {
            Ok(0) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("the file ends before byte {}", position + len as u64),
                ))
            }
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    // The allocator may have given more room than asked, which the read
    // may have filled.
    buf.truncate(len);
    Ok(buf)
}

/// A pooled buffer while a `Bytes` views its first `len` bytes.
struct Pooled {
    buf: Vec<u8>,
    len: usize,
    pool: Arc<ReadBuffers>,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        self.pool.give_back(std::mem::take(&mut self.buf));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_of(parts: &[(u8, usize)]) -> (tempfile::NamedTempFile, File) {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        for &(byte, len) in parts {
            tmp.write_all(&vec![byte; len]).unwrap();
        }
        tmp.flush().unwrap();
        let file = File::open(tmp.path()).unwrap();
        (tmp, file)
    }

    fn idle(pool: &ReadBuffers) -> (usize, usize) {
        let idle = pool.idle.lock();
        (idle.buffers.len(), idle.bytes)
    }

    #[test]
    fn a_reused_buffer_answers_only_its_own_read() {
        let pool = ReadBuffers::new(MAX_IDLE_BYTES);
        let (_tmp, file) = file_of(&[(b'a', 200_000), (b'b', 100_000)]);
        let first = pool.read_at(&file, 0, 200_000).unwrap();
        assert!(first.iter().all(|&b| b == b'a'));
        let buffer = first.as_ptr();
        drop(first);
        assert_eq!(idle(&pool), (1, 256 * 1024));
        // Shorter, into the same buffer, which still holds the first
        // read's bytes beyond it.
        let second = pool.read_at(&file, 200_000, 100_000).unwrap();
        assert_eq!(second.as_ptr(), buffer, "the buffer was not reused");
        assert_eq!(second.len(), 100_000);
        assert!(second.iter().all(|&b| b == b'b'));
        assert_eq!(second.slice(99_990..).len(), 10);
    }

    #[test]
    fn a_buffer_in_use_is_not_handed_out_again() {
        let pool = ReadBuffers::new(MAX_IDLE_BYTES);
        let (_tmp, file) = file_of(&[(b'a', 100_000), (b'b', 100_000)]);
        let first = pool.read_at(&file, 0, 100_000).unwrap();
        // A slice, as a Fetch answers, keeps the whole buffer out.
        let part = first.slice(10..20);
        drop(first);
        let second = pool.read_at(&file, 100_000, 100_000).unwrap();
        assert_ne!(part.as_ptr(), second.as_ptr());
        assert_eq!(&part[..], &[b'a'; 10]);
        assert!(second.iter().all(|&b| b == b'b'));
        drop(part);
        drop(second);
        assert_eq!(idle(&pool).0, 2);
    }

    #[test]
    fn a_read_past_the_end_of_the_file_fails_and_keeps_its_buffer() {
        let pool = ReadBuffers::new(MAX_IDLE_BYTES);
        let (_tmp, file) = file_of(&[(b'a', 200_000)]);
        let err = pool.read_at(&file, 150_000, 70_000).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
        assert_eq!(idle(&pool), (1, 128 * 1024));
        // Up to the very end is whole.
        let tail = pool.read_at(&file, 130_000, 70_000).unwrap();
        assert_eq!(tail.len(), 70_000);
        assert!(tail.iter().all(|&b| b == b'a'));
    }

    #[test]
    fn a_small_read_past_the_end_of_the_file_fails() {
        let pool = ReadBuffers::new(MAX_IDLE_BYTES);
        let (_tmp, file) = file_of(&[(b'a', 100), (b'b', 50)]);
        let err = pool.read_at(&file, 120, 40).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
        let tail = pool.read_at(&file, 90, 60).unwrap();
        assert_eq!(tail.len(), 60);
        assert_eq!(&tail[..10], &[b'a'; 10]);
        assert!(tail[10..].iter().all(|&b| b == b'b'));
        assert!(pool.read_at(&file, 150, 0).unwrap().is_empty());
    }

    #[test]
    fn small_and_huge_reads_are_not_pooled() {
        let pool = ReadBuffers::new(MAX_IDLE_BYTES);
        let (_tmp, file) = file_of(&[(b'a', 10), (b'b', MAX_POOLED + 1)]);
        assert_eq!(&pool.read_at(&file, 0, 10).unwrap()[..], &[b'a'; 10]);
        let huge = pool.read_at(&file, 10, MAX_POOLED + 1).unwrap();
        assert!(huge.iter().all(|&b| b == b'b'));
        drop(huge);
        assert_eq!(idle(&pool), (0, 0));
    }

    #[test]
    fn the_pool_keeps_no_more_than_its_bound_idle() {
        let pool = ReadBuffers::new(3 * 128 * 1024);
        let (_tmp, file) = file_of(&[(b'a', 100_000)]);
        let held: Vec<Bytes> = (0..5)
            .map(|_| pool.read_at(&file, 0, 100_000).unwrap())
            .collect();
        drop(held);
        assert_eq!(idle(&pool), (3, 3 * 128 * 1024));
    }
}
