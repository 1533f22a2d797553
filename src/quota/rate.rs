//! Kafka's sampled rate (`SampledStat` + `Rate` of its metrics library) and
//! the throttle time `QuotaUtils.throttleTime` derives from it: values are
//! summed into `quota.window.num` samples of `quota.window.size.seconds`
//! each, the oldest sample is reused once a window is over, and the rate
//! divides the sum by the time the samples span, counted as at least
//! `num - 1` whole windows so that a client's first burst is measured over
//! the full span rather than over the few milliseconds it took.

/// `quota.window.num` and `quota.window.size.seconds`, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaWindow {
    pub samples: usize,
    pub window_ms: u64,
}

impl QuotaWindow {
    /// Kafka's defaults (11 samples of a second), which unit tests measure against.
    #[cfg(test)]
    pub(crate) const KAFKA_DEFAULT: QuotaWindow = QuotaWindow {
        samples: 11,
        window_ms: 1000,
    };

    /// The longest a client is throttled for: the span of every sample,
    /// after which all it sent has left the measurement.
    pub fn max_throttle_ms(&self) -> u64 {
        self.samples as u64 * self.window_ms
    }
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    start_ms: u64,
    value: f64,
    count: u64,
}

/// One sensor's rate: the sum of what was recorded per second.
#[derive(Debug, Clone)]
pub struct Rate {
    samples: Vec<Sample>,
    current: usize,
}

impl Rate {
    pub fn new(now_ms: u64) -> Rate {
        Rate {
            samples: vec![Sample {
                start_ms: now_ms,
                value: 0.0,
                count: 0,
            }],
            current: 0,
        }
    }

    /// Adds `value` to the current window, moving to the next one first
    /// when the current window is over.
    pub fn record(&mut self, window: QuotaWindow, value: f64, now_ms: u64) {
        let sample = self.samples[self.current];
        if now_ms.saturating_sub(sample.start_ms) >= window.window_ms {
            self.current = (self.current + 1) % window.samples.max(1);
            let fresh = Sample {
                start_ms: now_ms,
                value: 0.0,
                count: 0,
            };
            if self.current >= self.samples.len() {
                self.samples.push(fresh);
            } else {
                self.samples[self.current] = fresh;
            }
        }
        self.samples[self.current].value += value;
        self.samples[self.current].count += 1;
    }

    /// Resets the samples that ended more than the whole span ago (Kafka's
    /// purgeObsoleteSamples).
    fn purge(&mut self, window: QuotaWindow, now_ms: u64) {
        let expire = window.max_throttle_ms();
        for s in &mut self.samples {
            if now_ms.saturating_sub(s.start_ms) >= expire {
                *s = Sample {
                    start_ms: now_ms,
                    value: 0.0,
                    count: 0,
                };
            }
        }
    }

    /// The time the samples span, in milliseconds, at least `samples - 1`
    /// whole windows (Kafka's Rate.windowSize).
    pub fn window_size_ms(&mut self, window: QuotaWindow, now_ms: u64) -> u64 {
        self.purge(window, now_ms);
        let oldest = self
            .samples
            .iter()
            .map(|s| s.start_ms)
            .min()
            .unwrap_or(now_ms);
        let elapsed = now_ms.saturating_sub(oldest);
        let full = elapsed / window.window_ms.max(1);
        let min_full = window.samples.saturating_sub(1) as u64;
        let padded = if full < min_full {
            elapsed + (min_full - full) * window.window_ms
        } else {
            elapsed
        };
        padded.max(1)
    }

    /// The rate per second over the samples.
    pub fn measure(&mut self, window: QuotaWindow, now_ms: u64) -> f64 {
        let span = self.window_size_ms(window, now_ms);
        let total: f64 = self.samples.iter().map(|s| s.value).sum();
        total * 1000.0 / span as f64
    }

    /// The mean of the values recorded over the samples (Kafka's `Avg`),
    /// 0 when none were.
    pub fn average(&mut self, window: QuotaWindow, now_ms: u64) -> f64 {
        self.purge(window, now_ms);
        let (total, count) = self
            .samples
            .iter()
            .fold((0.0, 0), |(t, c), s| (t + s.value, c + s.count));
        if count == 0 {
            0.0
        } else {
            total / count as f64
        }
    }

    /// Records `value` and says how long the client must wait for the rate
    /// to fall back to `bound`: 0 when it is within it, else the excess
    /// over the bound as a share of the bound, times the sampled span
    /// (Kafka's QuotaUtils.throttleTime), at most the whole span.
    pub fn record_and_throttle(
        &mut self,
        window: QuotaWindow,
        bound: f64,
        value: f64,
        now_ms: u64,
    ) -> u64 {
        self.record(window, value, now_ms);
        let rate = self.measure(window, now_ms);
        if rate <= bound || bound <= 0.0 {
            return 0;
        }
        let span = self.window_size_ms(window, now_ms) as f64;
        let throttle = ((rate - bound) / bound * span).round() as u64;
        throttle.min(window.max_throttle_ms())
    }
}

/// Kafka's `TokenBucket` stat (KIP-599): credits refill at the quota's
/// rate per second up to a burst of `quota.window.num` times
/// `quota.window.size.seconds` seconds' worth; recording takes credits,
/// and the quota is exhausted while they are below zero. A new bucket
/// starts full.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    tokens: f64,
    last_ms: Option<u64>,
}

impl Default for TokenBucket {
    fn default() -> Self {
        TokenBucket::new()
    }
}

impl TokenBucket {
    pub fn new() -> TokenBucket {
        TokenBucket {
            tokens: 0.0,
            last_ms: None,
        }
    }

    fn refill(&mut self, window: QuotaWindow, rate: f64, now_ms: u64) {
        let burst = window.max_throttle_ms() as f64 / 1000.0 * rate;
        self.tokens = match self.last_ms {
            None => burst,
            Some(last) => {
                let elapsed = now_ms.saturating_sub(last) as f64 / 1000.0;
                (self.tokens + rate * elapsed).min(burst)
            }
        };
        self.last_ms = Some(now_ms);
    }

    /// The credits left (negative once overdrawn).
    pub fn measure(&mut self, window: QuotaWindow, rate: f64, now_ms: u64) -> f64 {
        self.refill(window, rate, now_ms);
        self.tokens
    }

    pub fn record(&mut self, window: QuotaWindow, rate: f64, value: f64, now_ms: u64) {
        self.refill(window, rate, now_ms);
        self.tokens -= value;
    }

    /// How long until an overdrawn bucket is back at zero, in milliseconds
    /// (Kafka's ControllerMutationQuotaManager.throttleTimeMs).
    pub fn throttle_ms(tokens: f64, rate: f64) -> u64 {
        if tokens >= 0.0 || rate <= 0.0 {
            0
        } else {
            (-tokens / rate * 1000.0).round() as u64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KAFKA: QuotaWindow = QuotaWindow::KAFKA_DEFAULT;

    #[test]
    fn a_first_burst_is_measured_over_the_whole_span() {
        let mut rate = Rate::new(0);
        // 5 MB in the first 100 ms, against 10 windows of padding.
        rate.record(KAFKA, 5_000_000.0, 100);
        let measured = rate.measure(KAFKA, 100);
        assert!((measured - 5_000_000.0 / 10.1).abs() < 1.0, "{measured}");
    }

    #[test]
    fn the_throttle_brings_the_rate_back_to_the_bound() {
        let mut rate = Rate::new(0);
        let bound = 1_000_000.0;
        let throttle = rate.record_and_throttle(KAFKA, bound, 12_000_000.0, 0);
        // 12 MB over a 10 s span is 1.2 MB/s: 20% over, 20% of 10 s.
        assert_eq!(throttle, 2000);
        // Over a span grown by that wait, the same bytes are at the bound.
        assert_eq!(
            12_000_000.0 / f64::from(10_000 + throttle as u32) * 1000.0,
            bound
        );
        // Within the bound, nothing to wait.
        let mut calm = Rate::new(0);
        assert_eq!(calm.record_and_throttle(KAFKA, bound, 1000.0, 5), 0);
    }

    #[test]
    fn a_throttle_is_at_most_the_whole_span() {
        let mut rate = Rate::new(0);
        let throttle = rate.record_and_throttle(KAFKA, 1.0, 1e12, 0);
        assert_eq!(throttle, 11_000);
    }

    #[test]
    fn old_samples_are_forgotten_and_windows_reused() {
        let mut rate = Rate::new(0);
        rate.record(KAFKA, 1_000_000.0, 0);
        // After the whole span the burst no longer counts.
        assert_eq!(rate.measure(KAFKA, 11_000), 0.0);
        // A steady 1000 per second over 30 s measures 1000 per second,
        // using no more than the configured samples.
        let mut steady = Rate::new(0);
        for second in 0..30 {
            for tenth in 0..10 {
                steady.record(KAFKA, 100.0, second * 1000 + tenth * 100);
            }
        }
        assert!(steady.samples.len() <= KAFKA.samples);
        let measured = steady.measure(KAFKA, 29_999);
        assert!((measured - 1000.0).abs() < 100.0, "{measured}");
    }

    #[test]
    fn a_token_bucket_starts_full_and_refills_at_the_rate() {
        let mut bucket = TokenBucket::new();
        // A burst of 11 windows of 1 s at 2 per second.
        assert_eq!(bucket.measure(KAFKA, 2.0, 1000), 22.0);
        bucket.record(KAFKA, 2.0, 30.0, 1000);
        assert_eq!(bucket.measure(KAFKA, 2.0, 1000), -8.0);
        assert_eq!(TokenBucket::throttle_ms(-8.0, 2.0), 4000);
        // Two seconds later four credits are back.
        assert_eq!(bucket.measure(KAFKA, 2.0, 3000), -4.0);
        // Never more than the burst.
        assert_eq!(bucket.measure(KAFKA, 2.0, 1_000_000), 22.0);
    }

    #[test]
    fn the_average_is_of_what_was_recorded() {
        let mut rate = Rate::new(0);
        assert_eq!(rate.average(KAFKA, 0), 0.0);
        rate.record(KAFKA, 100.0, 0);
        rate.record(KAFKA, 300.0, 1500);
        assert_eq!(rate.average(KAFKA, 1500), 200.0);
        assert_eq!(rate.average(KAFKA, 20_000), 0.0);
    }
}
