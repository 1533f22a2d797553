//! Producer interceptors, as the Java client's ProducerInterceptor: each sees
//! a record before it is sent (and may change or drop it) and sees its
//! acknowledgement.

use std::collections::BTreeMap;
use std::time::Duration;

use parking_lot::Mutex;

use super::error::ClientError;
use super::producer::{ProducerRecord, RecordMetadata};

pub trait Interceptor: Send + Sync {
    /// Called before partitioning; `false` drops the record.
    fn on_send(&self, _record: &mut ProducerRecord) -> bool {
        true
    }

    /// Called once the record is acknowledged or has failed, with the time
    /// from send to acknowledgement.
    fn on_acknowledgement(
        &self,
        _result: &Result<RecordMetadata, ClientError>,
        _latency: Duration,
    ) {
    }
}

/// Keeps only records whose value matches a regular expression, as grep.
pub struct FilterInterceptor {
    pattern: regex::bytes::Regex,
}

impl FilterInterceptor {
    pub fn new(pattern: &str) -> Result<FilterInterceptor, regex::Error> {
        Ok(FilterInterceptor {
            pattern: regex::bytes::Regex::new(pattern)?,
        })
    }
}

impl Interceptor for FilterInterceptor {
    fn on_send(&self, record: &mut ProducerRecord) -> bool {
        record
            .value
            .as_deref()
            .is_some_and(|v| self.pattern.is_match(v))
    }
}

/// Adds the same headers to every record.
pub struct HeaderInterceptor {
    headers: Vec<(String, Vec<u8>)>,
}

impl HeaderInterceptor {
    pub fn new(headers: Vec<(String, String)>) -> HeaderInterceptor {
        HeaderInterceptor {
            headers: headers
                .into_iter()
                .map(|(k, v)| (k, v.into_bytes()))
                .collect(),
        }
    }
}

impl Interceptor for HeaderInterceptor {
    fn on_send(&self, record: &mut ProducerRecord) -> bool {
        record.headers.extend(
            self.headers
                .iter()
                .map(|(k, v)| (k.clone(), Some(v.clone()))),
        );
        true
    }
}

/// Per-partition counts and acknowledgement latency percentiles.
pub struct StatsInterceptor {
    state: Mutex<Stats>,
}

struct Stats {
    per_partition: BTreeMap<i32, u64>,
    failed: u64,
    latency_us: hdrhistogram::Histogram<u64>,
}

/// What a StatsInterceptor saw.
#[derive(Clone, Debug, PartialEq)]
pub struct StatsReport {
    pub per_partition: BTreeMap<i32, u64>,
    pub failed: u64,
    /// Latency in milliseconds at p50, p99, p99.9 and the maximum.
    pub latency_ms: [f64; 4],
}

impl Default for StatsInterceptor {
    fn default() -> StatsInterceptor {
        StatsInterceptor {
            state: Mutex::new(Stats {
                per_partition: BTreeMap::new(),
                failed: 0,
                // 1 µs to an hour, 3 significant digits.
                latency_us: hdrhistogram::Histogram::new_with_bounds(1, 3_600_000_000, 3)
                    .expect("valid histogram bounds"),
            }),
        }
    }
}

impl StatsInterceptor {
    pub fn report(&self) -> StatsReport {
        let s = self.state.lock();
        let at = |q: f64| s.latency_us.value_at_quantile(q) as f64 / 1000.0;
        StatsReport {
            per_partition: s.per_partition.clone(),
            failed: s.failed,
            latency_ms: [
                at(0.5),
                at(0.99),
                at(0.999),
                s.latency_us.max() as f64 / 1000.0,
            ],
        }
    }
}

impl Interceptor for StatsInterceptor {
    fn on_acknowledgement(&self, result: &Result<RecordMetadata, ClientError>, latency: Duration) {
        let mut s = self.state.lock();
        match result {
            Ok(m) => {
                *s.per_partition.entry(m.partition).or_default() += 1;
                s.latency_us.saturating_record(latency.as_micros() as u64);
            }
            Err(_) => s.failed += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(value: &str) -> ProducerRecord {
        ProducerRecord {
            topic: "t".into(),
            value: Some(value.as_bytes().to_vec()),
            ..ProducerRecord::default()
        }
    }

    #[test]
    fn the_filter_keeps_matching_values_and_headers_are_added() {
        let filter = FilterInterceptor::new("^err").unwrap();
        assert!(filter.on_send(&mut record("error: disk")));
        assert!(!filter.on_send(&mut record("ok")));
        let mut r = record("x");
        HeaderInterceptor::new(vec![("source".into(), "cli".into())]).on_send(&mut r);
        assert_eq!(
            r.headers,
            vec![("source".to_string(), Some(b"cli".to_vec()))]
        );
    }

    #[test]
    fn stats_count_partitions_and_latency() {
        let stats = StatsInterceptor::default();
        for (p, ms) in [(0, 1), (0, 2), (1, 100)] {
            let ok = Ok(RecordMetadata {
                partition: p,
                offset: 0,
                timestamp: None,
            });
            stats.on_acknowledgement(&ok, Duration::from_millis(ms));
        }
        stats.on_acknowledgement(
            &Err(ClientError::Invalid("x".into())),
            Duration::from_millis(1),
        );
        let report = stats.report();
        assert_eq!(report.per_partition, BTreeMap::from([(0, 2), (1, 1)]));
        assert_eq!(report.failed, 1);
        assert!((report.latency_ms[0] - 2.0).abs() < 0.01, "{report:?}");
        assert!((report.latency_ms[3] - 100.0).abs() < 0.1, "{report:?}");
    }
}
