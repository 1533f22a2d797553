//! Load generation and measurement, as Kafka's producer and consumer perf
//! tests do it: fixed-size records at an optional target rate, counted and
//! timed from librdkafka's delivery reports; consumption from the start of
//! a topic; and end-to-end latency, from a record's send to its arrival at
//! a consumer, carried in the record itself.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;
use parking_lot::Mutex;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::message::Message;
use rdkafka::producer::{
    BaseRecord, DefaultProducerContext, DeliveryResult, Producer as _, ProducerContext,
    ThreadedProducer,
};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use serde::Serialize;

use super::config::ClientSettings;
use super::error::{ClientError, Result};
use super::native;
use super::share_consumer::{Acknowledge, ShareConsumer};

pub mod wire_consumer;
pub mod wire_end_to_end;
pub mod wire_producer;

const MIB: f64 = 1024.0 * 1024.0;

/// Latencies in microseconds, from 1 µs to an hour at 3 significant digits.
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

/// A histogram per reporting interval: 2 significant digits and 32-bit
/// counts, since a run of minutes keeps hundreds of them at once.
fn interval_histogram() -> Histogram<u32> {
    Histogram::new_with_bounds(1, 3_600_000_000, 2).expect("valid histogram bounds")
}

/// Records one record's latency `took` (µs) in the run's histogram and,
/// with intervals, in that of the interval (keyed by its start in ms)
/// holding `sent` (µs since the epoch).
fn record_latency(
    latency: &mut Histogram<u64>,
    intervals: &mut BTreeMap<u64, Histogram<u32>>,
    interval_us: Option<u64>,
    sent: u64,
    took: u64,
) {
    let _ = latency.record(took);
    if let Some(every) = interval_us {
        let _ = intervals
            .entry(sent / every * every / 1000)
            .or_insert_with(interval_histogram)
            .record(took);
    }
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Report {
    pub records: u64,
    pub bytes: u64,
    pub failed: u64,
    pub elapsed: Duration,
    latency: Option<Histogram<u64>>,
    /// Per reporting interval, keyed by the interval's start in
    /// milliseconds since the Unix epoch.
    intervals: BTreeMap<u64, Histogram<u32>>,
}

/// Latency of the records sent within one reporting interval.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Interval {
    /// When the interval began, in milliseconds since the Unix epoch, so
    /// that it can be matched with what else was sampled at the time.
    pub start_ms: u64,
    pub records: u64,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Latency {
    pub avg: f64,
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

/// The summary `--json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub records: u64,
    pub failed: u64,
    pub bytes: u64,
    pub elapsed_secs: f64,
    pub records_per_sec: f64,
    pub mb_per_sec: f64,
    pub latency_ms: Option<Latency>,
    /// From each record's due time to its produce acknowledgement, beside
    /// end-to-end latency (`end-to-end --client wire`): the broker without
    /// the consumer's fetch wait.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ack_latency_ms: Option<Latency>,
    /// Only when asked for (end-to-end's --interval-ms); latencies in ms.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub intervals: Vec<Interval>,
}

impl Report {
    pub fn summary(&self) -> Summary {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        Summary {
            records: self.records,
            failed: self.failed,
            bytes: self.bytes,
            elapsed_secs: self.elapsed.as_secs_f64(),
            records_per_sec: self.records as f64 / secs,
            mb_per_sec: self.bytes as f64 / MIB / secs,
            latency_ms: self.latency.as_ref().and_then(latency),
            ack_latency_ms: None,
            intervals: self
                .intervals
                .iter()
                .map(|(&start_ms, h)| Interval {
                    start_ms,
                    records: h.len(),
                    p50: h.value_at_quantile(0.5) as f64 / 1000.0,
                    p99: h.value_at_quantile(0.99) as f64 / 1000.0,
                    max: h.max() as f64 / 1000.0,
                })
                .collect(),
        }
    }
}

/// Percentiles of a histogram of microseconds; None when it is empty.
fn latency(h: &Histogram<u64>) -> Option<Latency> {
    (!h.is_empty()).then(|| Latency {
        avg: h.mean() / 1000.0,
        p50: h.value_at_quantile(0.5) as f64 / 1000.0,
        p99: h.value_at_quantile(0.99) as f64 / 1000.0,
        p999: h.value_at_quantile(0.999) as f64 / 1000.0,
        max: h.max() as f64 / 1000.0,
    })
}

/// Counts shared with whoever draws progress.
#[derive(Debug, Default)]
pub struct Progress {
    pub records: AtomicU64,
    pub bytes: AtomicU64,
}

impl Progress {
    fn add(&self, bytes: usize) {
        self.records.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    fn add_many(&self, records: u32, record_size: usize) {
        self.records
            .fetch_add(u64::from(records), Ordering::Relaxed);
        self.bytes
            .fetch_add(u64::from(records) * record_size as u64, Ordering::Relaxed);
    }
}

/// Keeps a sender at `rate` per second on average, as Kafka's
/// ThroughputThrottler does: sleep once ahead of schedule by MIN_SLEEP.
struct Throttle {
    start: Instant,
    per_record: Option<Duration>,
}

/// Kafka's throttler's smallest sleep. Sleeping before every record instead
/// would cost a system call and a wake-up each, tens of thousands a second,
/// on the cores the broker under test shares.
const MIN_SLEEP: Duration = Duration::from_millis(2);

impl Throttle {
    fn new(rate: Option<f64>) -> Throttle {
        Throttle {
            start: Instant::now(),
            per_record: rate
                .filter(|r| *r > 0.0)
                .map(|r| Duration::from_secs_f64(1.0 / r)),
        }
    }

    /// When the record after `sent` others is due, from the start.
    fn due(&self, sent: u64) -> Option<Duration> {
        self.per_record.map(|per| per.mul_f64(sent as f64))
    }

    /// When the record after `sent` others counts as sent, from the start,
    /// if it goes out at `now`: see [`counts_from`].
    fn stamp(&self, sent: u64, now: Instant) -> Option<Duration> {
        self.due(sent)
            .map(|due| counts_from(due, now.saturating_duration_since(self.start)))
    }

    fn wait(&self, sent: u64) {
        if let Some(due) = self.due(sent) {
            let ahead = (self.start + due).saturating_duration_since(Instant::now());
            if ahead >= MIN_SLEEP {
                std::thread::sleep(ahead);
            }
        }
    }
}

/// Where a record's latency counts from, given when it was due and when it
/// went out (both from the run's start): the earlier of the two. A record
/// sent late counts from its due time, so that the sender's delay is
/// measured (no coordinated omission); one sent ahead (the throttle does not
/// sleep for less than [`MIN_SLEEP`]) counts from its send, since a due time
/// still to come would hide the broker's latency (clipped to 1 µs, p50s of
/// 0.00 ms at tens of thousands of records a second).
fn counts_from(due: Duration, sent: Duration) -> Duration {
    due.min(sent)
}

/// Delivery reports: latency from send to acknowledgement, and counts.
struct DeliveryTally {
    latency: Mutex<Histogram<u64>>,
    progress: Arc<Progress>,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl ClientContext for DeliveryTally {}

impl ProducerContext for DeliveryTally {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(m) => {
                // librdkafka stamps each record when it is queued; reading
                // that stamp spares the sender a clock read and an
                // allocation per record, which at a million records a
                // second is much of the client's own work.
                if let Some(latency) = native::message_latency(m) {
                    let _ = self
                        .latency
                        .lock()
                        .record(latency.as_micros().max(1) as u64);
                }
                self.progress.add(m.payload_len());
            }
            Err((e, _)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                self.first_error.lock().get_or_insert_with(|| e.to_string());
            }
        }
    }
}

/// Queues one record, waiting while librdkafka's local queue is full for
/// delivery reports to drain it.
fn send<'a, C: ProducerContext>(
    producer: &ThreadedProducer<C>,
    mut record: BaseRecord<'a, (), [u8], C::DeliveryOpaque>,
) -> Result<()> {
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((e, r))
                if e.rdkafka_error_code() == Some(rdkafka::types::RDKafkaErrorCode::QueueFull) =>
            {
                record = r;
                std::thread::sleep(Duration::from_millis(1));
            }
            Err((e, _)) => return Err(ClientError::kafka("cannot send")(e)),
        }
    }
}

/// A produce workload.
#[derive(Debug, Clone)]
pub struct ProduceLoad {
    pub topic: String,
    pub records: u64,
    pub record_size: usize,
    /// Records per second; as fast as possible when None.
    pub rate: Option<f64>,
}

/// Sends `load`'s records and waits for every delivery report. Latency is
/// per record, from the send call to its acknowledgement.
pub fn produce(
    settings: &ClientSettings,
    load: &ProduceLoad,
    progress: Arc<Progress>,
) -> Result<Report> {
    settings.probe()?;
    let tally = DeliveryTally {
        latency: Mutex::new(histogram()),
        progress,
        failed: AtomicU64::new(0),
        first_error: Mutex::new(None),
    };
    let producer: ThreadedProducer<DeliveryTally> =
        settings
            .rdkafka()
            .create_with_context(tally)
            .map_err(ClientError::kafka("cannot create the producer"))?;
    producer
        .client()
        .fetch_metadata(Some(&load.topic), settings.timeout)
        .map_err(ClientError::unreachable(settings))?;
    let payload = payload(load.record_size);
    let throttle = Throttle::new(load.rate);
    let start = Instant::now();
    for sent in 0..load.records {
        throttle.wait(sent);
        send(&producer, BaseRecord::to(&load.topic).payload(&payload))?;
    }
    producer
        .flush(Duration::from_secs(300))
        .map_err(ClientError::kafka("cannot flush the producer"))?;
    let elapsed = start.elapsed();
    let tally = producer.context();
    let failed = tally.failed.load(Ordering::Relaxed);
    if failed == load.records {
        let cause = tally.first_error.lock().clone().unwrap_or_default();
        return Err(ClientError::Invalid(format!(
            "every record failed: {cause}"
        )));
    }
    let latency = tally.latency.lock().clone();
    Ok(Report {
        records: tally.progress.records.load(Ordering::Relaxed),
        bytes: tally.progress.bytes.load(Ordering::Relaxed),
        failed,
        elapsed,
        latency: Some(latency),
        intervals: BTreeMap::new(),
    })
}

fn consumer(settings: &ClientSettings, group: Option<&str>) -> Result<BaseConsumer> {
    settings.probe()?;
    let id = group.unwrap_or("gregor-perf-test");
    // librdkafka stops fetching a partition for fetch.queue.backoff.ms (1 s)
    // once queued.min.messages are waiting, so a broker that answers faster
    // than the application reads would be measured by that pause.
    let settings = settings.clone().with_defaults([
        ("group.id", id),
        (
            "enable.auto.commit",
            if group.is_some() { "true" } else { "false" },
        ),
        ("auto.offset.reset", "earliest"),
        ("fetch.queue.backoff.ms", "10"),
    ]);
    let consumer: BaseConsumer = settings
        .rdkafka()
        .create()
        .map_err(ClientError::kafka("cannot create the consumer"))?;
    consumer
        .fetch_metadata(None, settings.timeout)
        .map_err(ClientError::unreachable(&settings))?;
    Ok(consumer)
}

/// Assigns every partition of `topic` from its beginning, or from its
/// current end; returns the partitions.
fn assign_all(
    consumer: &BaseConsumer,
    topic: &str,
    from_end: bool,
    timeout: Duration,
) -> Result<Vec<i32>> {
    let metadata = consumer
        .fetch_metadata(Some(topic), timeout)
        .map_err(ClientError::kafka(format!(
            "cannot describe topic '{topic}'"
        )))?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if partitions.is_empty() {
        return Err(ClientError::Invalid(format!(
            "topic '{topic}' does not exist"
        )));
    }
    let mut tpl = TopicPartitionList::new();
    for &p in &partitions {
        // An explicit end offset rather than Offset::End, which librdkafka
        // resolves only after the assignment: records sent in between would
        // be missed.
        let offset = if from_end {
            let (_, high) =
                consumer
                    .fetch_watermarks(topic, p, timeout)
                    .map_err(ClientError::kafka(format!(
                        "cannot read the end of {topic}-{p}"
                    )))?;
            Offset::Offset(high)
        } else {
            Offset::Beginning
        };
        tpl.add_partition_offset(topic, p, offset)
            .map_err(ClientError::kafka("cannot assign partitions"))?;
    }
    consumer
        .assign(&tpl)
        .map_err(ClientError::kafka("cannot assign partitions"))?;
    Ok(partitions)
}

/// Reads `records` records of `topic` from the beginning (as a member of
/// `group`, when given). Stops early when nothing arrives for `idle`.
pub fn consume(
    settings: &ClientSettings,
    topic: &str,
    records: u64,
    group: Option<&str>,
    idle: Duration,
    progress: Arc<Progress>,
) -> Result<Report> {
    let consumer = consumer(settings, group)?;
    match group {
        Some(_) => consumer
            .subscribe(&[topic])
            .map_err(ClientError::kafka("cannot subscribe"))?,
        None => {
            assign_all(&consumer, topic, false, settings.timeout)?;
        }
    }
    count_records(records, idle, &progress, || {
        consumer.poll(Duration::from_millis(100)).map(|polled| {
            polled
                .map(|m| m.payload_len())
                .map_err(ClientError::kafka("cannot consume"))
        })
    })
}

/// Counts up to `records` records as `poll` hands them over (each as its
/// value's length; `None` when a poll came back empty), stopping early
/// after `idle` without one. Elapsed is from the first record, so that
/// joining a group is not counted.
fn count_records(
    records: u64,
    idle: Duration,
    progress: &Progress,
    mut poll: impl FnMut() -> Option<Result<usize>>,
) -> Result<Report> {
    let mut start = None;
    // When a record last arrived, read every 1024 records, at the last one
    // and at the first quiet poll after any (so within one poll of the
    // truth): a clock read per record would be a good part of the client's
    // own work at two million records a second.
    let mut last = Instant::now();
    let mut stamped = 0u64;
    let mut got = 0u64;
    while got < records {
        match poll() {
            Some(Ok(len)) => {
                start.get_or_insert_with(Instant::now);
                got += 1;
                if got % 1024 == 0 || got == records {
                    (last, stamped) = (Instant::now(), got);
                }
                progress.add(len);
            }
            Some(Err(e)) => return Err(e),
            None if stamped < got => (last, stamped) = (Instant::now(), got),
            None if last.elapsed() >= idle => break,
            None => {}
        }
    }
    Ok(Report {
        records: got,
        bytes: progress.bytes.load(Ordering::Relaxed),
        failed: 0,
        elapsed: start.map_or(Duration::ZERO, |s| last.duration_since(s)),
        latency: None,
        intervals: BTreeMap::new(),
    })
}

/// Reads `records` records as a member of share group `group` with the
/// tools' own share consumer (librdkafka 2.12 has none), accepting each as
/// it arrives; the acknowledgements ride on the next ShareFetch, and the
/// last ones on the ShareAcknowledge that closes the session. The group
/// starts where its `share.auto.offset.reset` says (latest unless set), as
/// any share consumer does.
pub fn consume_share(
    settings: &ClientSettings,
    topic: &str,
    records: u64,
    group: &str,
    idle: Duration,
    progress: Arc<Progress>,
) -> Result<Report> {
    let mut consumer = ShareConsumer::join(settings, group, &[topic.to_string()])?;
    let report = count_records(records, idle, &progress, || {
        let record = match consumer.poll(Duration::from_millis(100))? {
            Ok(record) => record,
            Err(e) => return Some(Err(e)),
        };
        Some(
            consumer
                .acknowledge(&record, Acknowledge::Accept)
                .map(|()| record.value.as_ref().map_or(0, Vec::len)),
        )
    })?;
    // Records delivered beyond `records` go back to the group on close.
    consumer.close()?;
    Ok(report)
}

/// Random capital letters, as Kafka's perf test sends: they compress about
/// as well as text does, where zeros would flatter every codec.
fn payload(size: usize) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(0x6772_6567_6f72);
    (0..size).map(|_| rng.u8(b'A'..=b'Z')).collect()
}

/// A run tag and a send time in microseconds, both big-endian u64.
const STAMP_LEN: usize = 16;

fn epoch_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Sends a record to each partition and waits until the consumer has read
/// them all, so that neither client's start (connections, the producer's
/// first metadata request, the consumer's first fetch) is counted as the
/// broker's latency. Without it, records sent in a new pair of clients'
/// first few hundred milliseconds waited 50-120 ms, a p99 of tens of
/// milliseconds in a 10 s run.
fn warm_up(
    producer: &ThreadedProducer<DefaultProducerContext>,
    consumer: &BaseConsumer,
    topic: &str,
    partitions: &[i32],
    timeout: Duration,
) -> Result<()> {
    let tag: [u8; 8] = fastrand::u64(..).to_be_bytes();
    for &p in partitions {
        send(
            producer,
            BaseRecord::to(topic).partition(p).payload(&tag[..]),
        )?;
    }
    let mut waiting: BTreeSet<i32> = partitions.iter().copied().collect();
    let deadline = Instant::now() + timeout;
    while !waiting.is_empty() {
        if Instant::now() >= deadline {
            return Err(ClientError::Invalid(format!(
                "the consumer did not read the warm-up records of partitions {waiting:?} within {timeout:?}"
            )));
        }
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) if m.payload() == Some(&tag[..]) => {
                waiting.remove(&m.partition());
            }
            Some(Err(e)) => return Err(ClientError::kafka("cannot consume")(e)),
            _ => {}
        }
    }
    Ok(())
}

/// Produces at `rate` records per second for `duration` while a consumer
/// reads the same topic from its end; each record carries its send time, and
/// latency is measured from there to its arrival. With `interval`, latency
/// is also kept per interval of send time, so that a stall shows in the
/// interval the records suffering it were sent in.
pub fn end_to_end(
    settings: &ClientSettings,
    topic: &str,
    rate: f64,
    duration: Duration,
    record_size: usize,
    interval: Option<Duration>,
    progress: Arc<Progress>,
) -> Result<Report> {
    let interval_us = interval.map(|i| (i.as_micros() as u64).max(1));
    let mut intervals = BTreeMap::new();
    let consumer = consumer(settings, None)?;
    let partitions = assign_all(&consumer, topic, true, settings.timeout)?;
    // Each record is sent at once, as Kafka's EndToEndLatency does, so that
    // librdkafka's linger (5 ms) is not counted as the broker's latency;
    // --linger-ms still overrides it.
    let producer: Arc<ThreadedProducer<DefaultProducerContext>> = Arc::new(
        settings
            .clone()
            .with_defaults([("linger.ms", "0")])
            .rdkafka()
            .create()
            .map_err(ClientError::kafka("cannot create the producer"))?,
    );
    // Each record starts with this run's tag and its send time, so that
    // records the topic held before (or another run's) are not counted.
    let run: [u8; 8] = fastrand::u64(..).to_be_bytes();
    let size = record_size.max(STAMP_LEN);
    warm_up(&producer, &consumer, topic, &partitions, settings.timeout)?;
    let total = (rate * duration.as_secs_f64()).ceil() as u64;
    let sender = {
        let producer = producer.clone();
        let topic = topic.to_string();
        std::thread::spawn(move || -> Result<()> {
            let (throttle, epoch) = (Throttle::new(Some(rate)), epoch_micros());
            let mut payload = payload(size);
            for sent in 0..total {
                throttle.wait(sent);
                // A sender held up (by the scheduler, or librdkafka's full
                // queue) sends late, and that delay counts, as it would for
                // an application.
                let stamp = throttle.stamp(sent, Instant::now()).expect("a rate is set");
                payload[..8].copy_from_slice(&run);
                payload[8..STAMP_LEN]
                    .copy_from_slice(&(epoch + stamp.as_micros() as u64).to_be_bytes());
                send(
                    &producer,
                    BaseRecord::<(), [u8]>::to(&topic).payload(&payload),
                )?;
            }
            Ok(())
        })
    };
    let mut latency = histogram();
    let start = Instant::now();
    let deadline = start + duration + settings.timeout;
    let mut got = 0u64;
    while got < total && Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                let Some(stamp) = m.payload().and_then(|p| p.get(..STAMP_LEN)) else {
                    continue;
                };
                if stamp[..8] != run {
                    continue;
                }
                let sent = u64::from_be_bytes(stamp[8..].try_into().expect("eight bytes"));
                let took = epoch_micros().saturating_sub(sent).max(1);
                record_latency(&mut latency, &mut intervals, interval_us, sent, took);
                got += 1;
                progress.add(m.payload_len());
            }
            Some(Err(e)) => return Err(ClientError::kafka("cannot consume")(e)),
            None => {}
        }
    }
    sender
        .join()
        .map_err(|_| ClientError::Invalid("the sending thread panicked".into()))??;
    producer
        .flush(settings.timeout)
        .map_err(ClientError::kafka("cannot flush the producer"))?;
    Ok(Report {
        records: got,
        bytes: progress.bytes.load(Ordering::Relaxed),
        failed: total - got,
        elapsed: start.elapsed(),
        latency: Some(latency),
        intervals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_sent_late_counts_from_its_due_time_and_one_sent_early_from_its_send() {
        let now = Instant::now();
        // One record a second, started ten seconds ago.
        let throttle = Throttle {
            start: now - Duration::from_secs(10),
            per_record: Some(Duration::from_secs(1)),
        };
        // Record 3 was due at 3 s and goes out at 10 s: 7 s of the
        // sender's delay count.
        assert_eq!(throttle.stamp(3, now), Some(Duration::from_secs(3)));
        // Record 12 is due at 12 s and goes out at 10 s: it counts from
        // its send, not from a moment still to come.
        assert_eq!(throttle.stamp(12, now), Some(Duration::from_secs(10)));
        assert_eq!(throttle.stamp(10, now), Some(Duration::from_secs(10)));
        // Without a rate nothing is due.
        assert_eq!(Throttle::new(None).stamp(3, now), None);
    }
}
