//! Kafka's LogFlushStats: every fsync of a partition's log (a group
//! commit's, a roll's, flush.ms's, shutdown's) and how long it took. Its
//! count against the records appended shows how many appends each fsync
//! served under flush.messages=1.

use std::time::Duration;

use super::histogram::TimeHistogram;

static LOG_FLUSH: TimeHistogram = TimeHistogram::new();

/// Counts one fsync of a log, when an endpoint serves the figures.
pub fn observe(elapsed: Duration) {
    if super::enabled() {
        LOG_FLUSH.observe(elapsed);
    }
}

/// LogFlushRateAndTimeMs, as (sum in milliseconds, count, cumulative buckets).
pub fn snapshot() -> (f64, u64, Vec<(f64, u64)>) {
    LOG_FLUSH.snapshot()
}
