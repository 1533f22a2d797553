//! A histogram of durations in milliseconds, as Kafka's Yammer timers
//! are exposed: fixed buckets of relaxed atomics, so recording costs a
//! couple of adds.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the buckets, in milliseconds.
pub const BUCKETS_MS: [f64; 14] = [
    1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, 30000.0,
];

pub struct TimeHistogram {
    /// Per bucket (and one past the last, for +Inf), not cumulative.
    buckets: [AtomicU64; BUCKETS_MS.len() + 1],
    total_time_us: AtomicU64,
}

impl TimeHistogram {
    pub const fn new() -> TimeHistogram {
        TimeHistogram {
            buckets: [const { AtomicU64::new(0) }; BUCKETS_MS.len() + 1],
            total_time_us: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, elapsed: Duration) {
        let us = elapsed.as_micros() as u64;
        let ms = us as f64 / 1000.0;
        let bucket = BUCKETS_MS
            .iter()
            .position(|b| ms <= *b)
            .unwrap_or(BUCKETS_MS.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.total_time_us.fetch_add(us, Ordering::Relaxed);
    }

    /// The histogram as the exposition wants it: sum in milliseconds,
    /// count, and cumulative (upper bound, count) buckets.
    pub fn snapshot(&self) -> (f64, u64, Vec<(f64, u64)>) {
        let mut cumulative = 0;
        let mut buckets = Vec::with_capacity(BUCKETS_MS.len() + 1);
        for (i, bucket) in self.buckets.iter().enumerate() {
            cumulative += bucket.load(Ordering::Relaxed);
            buckets.push((
                BUCKETS_MS.get(i).copied().unwrap_or(f64::INFINITY),
                cumulative,
            ));
        }
        let sum = self.total_time_us.load(Ordering::Relaxed) as f64 / 1000.0;
        (sum, cumulative, buckets)
    }
}
