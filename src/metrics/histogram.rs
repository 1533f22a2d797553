//! Histograms as Kafka's Yammer timers and histograms are exposed: fixed
//! buckets of relaxed atomics, so recording costs a couple of adds.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the time buckets, in milliseconds.
pub const BUCKETS_MS: [f64; 14] = [
    1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, 30000.0,
];

/// Upper bounds of the size buckets, in bytes: powers of four from 64 bytes
/// to 64 MiB, under the default socket.request.max.bytes (100 MiB).
pub const BUCKETS_BYTES: [f64; 11] = [
    64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0, 16777216.0,
    67108864.0,
];

/// Per bucket (and one past the last, for +Inf), not cumulative, and the
/// sum of the values in the unit they are recorded in.
struct Buckets<const N: usize> {
    counts: [AtomicU64; N],
    sum: AtomicU64,
}

impl<const N: usize> Buckets<N> {
    const fn new() -> Self {
        Buckets {
            counts: [const { AtomicU64::new(0) }; N],
            sum: AtomicU64::new(0),
        }
    }

    fn observe(&self, bounds: &[f64], value: f64, raw: u64) {
        let bucket = bounds
            .iter()
            .position(|b| value <= *b)
            .unwrap_or(bounds.len());
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum.fetch_add(raw, Ordering::Relaxed);
    }

    /// Sum (raw units), count, and cumulative (upper bound, count) buckets.
    fn snapshot(&self, bounds: &[f64]) -> (u64, u64, Vec<(f64, u64)>) {
        let mut cumulative = 0;
        let mut buckets = Vec::with_capacity(N);
        for (i, bucket) in self.counts.iter().enumerate() {
            cumulative += bucket.load(Ordering::Relaxed);
            buckets.push((bounds.get(i).copied().unwrap_or(f64::INFINITY), cumulative));
        }
        (self.sum.load(Ordering::Relaxed), cumulative, buckets)
    }
}

/// Durations in milliseconds (Kafka's `...TimeMs` timers).
pub struct TimeHistogram(Buckets<{ BUCKETS_MS.len() + 1 }>);

impl TimeHistogram {
    pub const fn new() -> TimeHistogram {
        TimeHistogram(Buckets::new())
    }

    pub fn observe(&self, elapsed: Duration) {
        // The sum is kept in microseconds so sub-millisecond requests add up.
        let us = elapsed.as_micros() as u64;
        self.0.observe(&BUCKETS_MS, us as f64 / 1000.0, us);
    }

    /// The histogram as the exposition wants it: sum in milliseconds,
    /// count, and cumulative (upper bound, count) buckets.
    pub fn snapshot(&self) -> (f64, u64, Vec<(f64, u64)>) {
        let (us, count, buckets) = self.0.snapshot(&BUCKETS_MS);
        (us as f64 / 1000.0, count, buckets)
    }
}

/// Sizes in bytes (Kafka's RequestBytes histogram).
pub struct SizeHistogram(Buckets<{ BUCKETS_BYTES.len() + 1 }>);

impl SizeHistogram {
    pub const fn new() -> SizeHistogram {
        SizeHistogram(Buckets::new())
    }

    pub fn observe(&self, bytes: usize) {
        self.0.observe(&BUCKETS_BYTES, bytes as f64, bytes as u64);
    }

    /// Sum in bytes, count, and cumulative (upper bound, count) buckets.
    pub fn snapshot(&self) -> (f64, u64, Vec<(f64, u64)>) {
        let (sum, count, buckets) = self.0.snapshot(&BUCKETS_BYTES);
        (sum as f64, count, buckets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_sums_keep_their_unit() {
        let times = TimeHistogram::new();
        times.observe(Duration::from_micros(500));
        times.observe(Duration::from_millis(7));
        times.observe(Duration::from_secs(60));
        let (sum, count, buckets) = times.snapshot();
        assert_eq!(count, 3);
        assert!((sum - 60_007.5).abs() < 1e-9, "{sum}");
        assert_eq!(buckets[0], (1.0, 1));
        assert_eq!(buckets[3], (10.0, 2));
        assert_eq!(*buckets.last().unwrap(), (f64::INFINITY, 3));

        let sizes = SizeHistogram::new();
        sizes.observe(64);
        sizes.observe(65);
        let (sum, count, buckets) = sizes.snapshot();
        assert_eq!((sum, count), (129.0, 2));
        assert_eq!(buckets[0], (64.0, 1));
        assert_eq!(buckets[1], (256.0, 2));
    }
}
