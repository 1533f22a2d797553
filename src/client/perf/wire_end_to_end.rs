//! `perf-test end-to-end --client wire`: many producers at a low rate each,
//! every one its own connection of the tools' own protocol client, all on
//! one thread, so that a thousand of them cost this machine's two cores
//! little beside the broker; a librdkafka consumer reads every partition.
//!
//! Sends follow a fixed schedule: record j of the run is due at j / rate
//! seconds from the start, from producer j mod N, so each producer sends at
//! rate / N and the producers' sends interleave evenly. Each record carries
//! the time it was due (or its send, were that earlier: `counts_from`), and
//! both latencies count from there: a producer held up (waiting for room in
//! flight, or for the runtime) sends late, and its delay counts, as Kafka's
//! producer's does for the application (no coordinated omission). A producer that is behind
//! sends every record already due in one request, as Kafka's accumulator
//! would.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures::{StreamExt as _, TryStreamExt as _};
use hdrhistogram::Histogram;
use integer_encoding::VarInt;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use parking_lot::Mutex;
use rdkafka::consumer::BaseConsumer;
use rdkafka::message::Message;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch, Semaphore};

use super::wire_producer::{leaders, record_batch, records_per_batch};
use super::{
    assign_all, consumer, counts_from, histogram, payload, record_latency, Progress, Report,
    Summary, STAMP_LEN,
};
use crate::client::config::ClientSettings;
use crate::client::error::{ClientError, Result};
use crate::client::wire::Connection;
use crate::wire_format::{decode_response, request_frame};

/// The workload.
#[derive(Debug, Clone)]
pub struct WireEndToEnd {
    pub topic: String,
    /// Records per second over all producers.
    pub rate: f64,
    pub duration: Duration,
    pub record_size: usize,
    pub producers: usize,
    /// 0, 1 or -1 (all), as in the Produce request.
    pub acks: i16,
    /// How long a producer waits after a record is due for more to join it
    /// (linger.ms).
    pub linger: Duration,
    /// Bytes of records a request holds at most (batch.size).
    pub batch_size: usize,
    pub interval: Option<Duration>,
}

/// Kafka's max.in.flight.requests.per.connection default: at a low rate
/// one is rarely waiting, but a slow broker gets what Kafka's producer
/// would give it.
const IN_FLIGHT: usize = 5;

/// Connections opened at once: enough to set up a thousand producers in a
/// second or two, few enough not to overflow the broker's accept backlog.
const CONNECTING_AT_ONCE: usize = 64;

/// When each record is due.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    pub producers: u64,
    pub total: u64,
    pub rate: f64,
}

impl Schedule {
    /// How many records producer `p` sends.
    pub fn records_of(&self, p: u64) -> u64 {
        if p >= self.total {
            0
        } else {
            (self.total - p).div_ceil(self.producers)
        }
    }

    /// When producer `p`'s `k`th record is due, from the run's start.
    pub fn due(&self, p: u64, k: u64) -> Duration {
        Duration::from_secs_f64((p + k * self.producers) as f64 / self.rate)
    }

    /// Producer `p`'s records from the `k`th that are due by `elapsed`, at
    /// least one and at most `cap`.
    pub fn due_by(&self, p: u64, k: u64, elapsed: Duration, cap: u64) -> u64 {
        let last = self.records_of(p).min(k + cap.max(1));
        (k + 1..last)
            .find(|&i| self.due(p, i) > elapsed)
            .unwrap_or(last)
            - k
    }
}

/// Where a run starts: an instant, and the same moment in microseconds
/// since the Unix epoch, which records carry.
#[derive(Debug, Clone, Copy)]
struct Start {
    at: Instant,
    epoch_us: u64,
}

impl Start {
    fn now() -> Start {
        Start {
            at: Instant::now(),
            epoch_us: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_micros() as u64),
        }
    }

    /// Microseconds since the epoch at `offset` from the start, by the
    /// monotonic clock.
    fn epoch_us(&self, offset: Duration) -> u64 {
        self.epoch_us + offset.as_micros() as u64
    }
}

/// What the run measured, with the produce acknowledgements' latency
/// beside the end-to-end one.
pub struct Outcome {
    pub report: Report,
    /// From when each record was due to its acknowledgement; None with acks=0.
    ack_latency: Option<Histogram<u64>>,
    /// The first error a Produce answer carried, if any.
    pub produce_error: Option<String>,
}

impl Outcome {
    pub fn summary(&self) -> Summary {
        let mut summary = self.report.summary();
        summary.ack_latency_ms = self.ack_latency.as_ref().and_then(super::latency);
        summary
    }
}

/// A Produce request of `count` records for one partition, ready to go but
/// for its correlation id, send stamps and batch timestamps, and CRC.
pub struct Template {
    frame: Vec<u8>,
    /// Where the record batch is in the frame (flexible versions end the
    /// request with tagged fields after it).
    batch_at: usize,
    batch_len: usize,
    /// Where each record's send stamp (after the run tag) is in the frame.
    stamps: Vec<usize>,
}

/// Offsets in a v2 record batch header.
const CRC_AT: usize = 17;
const CRC_FROM: usize = 21;
const FIRST_TIMESTAMP_AT: usize = 27;
const MAX_TIMESTAMP_AT: usize = 35;
const RECORDS_AT: usize = 61;
/// Where a frame's correlation id is: after its length, API key and version.
const CORRELATION_AT: usize = 8;

impl Template {
    /// Encodes the request once with `value` (which starts with the run
    /// tag) in each of `count` records, and finds where the stamps go.
    pub fn new(
        request: ProduceRequest,
        value: &[u8],
        count: u32,
        version: i16,
        client_id: &StrBytes,
    ) -> Result<Template> {
        let batch = record_batch(value, count, 0)?;
        let mut request = request;
        request.topic_data[0].partition_data[0].records = Some(batch.clone());
        let frame = request_frame(&request, version, 0, client_id)
            .map_err(|e| ClientError::Invalid(format!("cannot encode a Produce request: {e}")))?
            .to_vec();
        let batch_at = frame
            .windows(batch.len())
            .position(|w| w == &batch[..])
            .ok_or_else(|| {
                ClientError::Invalid("the record batch is not in its Produce request".into())
            })?;
        let stamps = value_offsets(&batch, value.len())?
            .into_iter()
            .map(|v| batch_at + v + 8)
            .collect::<Vec<_>>();
        if stamps.len() != count as usize {
            return Err(ClientError::Invalid(format!(
                "a batch of {count} records holds {} values",
                stamps.len()
            )));
        }
        Ok(Template {
            frame,
            batch_at,
            batch_len: batch.len(),
            stamps,
        })
    }

    /// The frame with these send stamps (one per record), timestamps and
    /// correlation id, its batch's CRC made good.
    pub fn fill(
        &mut self,
        correlation: i32,
        stamps: impl Iterator<Item = u64>,
        now_ms: i64,
    ) -> &[u8] {
        self.frame[CORRELATION_AT..CORRELATION_AT + 4].copy_from_slice(&correlation.to_be_bytes());
        for (&at, stamp) in self.stamps.iter().zip(stamps) {
            self.frame[at..at + 8].copy_from_slice(&stamp.to_be_bytes());
        }
        let batch = &mut self.frame[self.batch_at..self.batch_at + self.batch_len];
        for at in [FIRST_TIMESTAMP_AT, MAX_TIMESTAMP_AT] {
            batch[at..at + 8].copy_from_slice(&now_ms.to_be_bytes());
        }
        let crc = crc32c::crc32c(&batch[CRC_FROM..]);
        batch[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
        &self.frame
    }
}

/// Where each record's value starts in an uncompressed v2 batch whose
/// records have no headers: a record is its varint length and that many
/// bytes, the last of which is its header count.
fn value_offsets(batch: &[u8], value_len: usize) -> Result<Vec<usize>> {
    let garbled = || ClientError::Invalid("cannot walk the records of a batch".into());
    let mut out = Vec::new();
    let mut at = RECORDS_AT;
    while at < batch.len() {
        let (len, used) = i64::decode_var(&batch[at..]).ok_or_else(garbled)?;
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| (at + used).checked_add(len))
            .filter(|&end| end <= batch.len() && end > at + used + value_len)
            .ok_or_else(garbled)?;
        out.push(end - 1 - value_len);
        at = end;
    }
    Ok(out)
}

/// One producer: its connection, and its requests by record count.
struct Producer {
    index: u64,
    connection: Connection,
    templates: Templates,
}

/// A producer's requests by record count, built when first needed.
struct Templates {
    by_count: Vec<Option<Template>>,
    request: ProduceRequest,
    version: i16,
    client_id: StrBytes,
}

impl Templates {
    fn get(&mut self, count: u32, value: &[u8]) -> Result<&mut Template> {
        let slot = count as usize;
        if self.by_count.len() <= slot {
            self.by_count.resize_with(slot + 1, || None);
        }
        if self.by_count[slot].is_none() {
            let template = Template::new(
                self.request.clone(),
                value,
                count,
                self.version,
                &self.client_id,
            )?;
            self.by_count[slot] = Some(template);
        }
        Ok(self.by_count[slot].as_mut().expect("just built"))
    }
}

/// What every producer adds to.
struct Tally {
    failed: u64,
    first_error: Option<String>,
    latency: Histogram<u64>,
}

/// Runs the workload: sets up every producer and has each send a record,
/// waits until the consumer has read them all (so that no connection's or
/// client's start counts as the broker's latency), then starts the clock.
pub fn run(
    settings: &ClientSettings,
    load: &WireEndToEnd,
    progress: Arc<Progress>,
) -> Result<Outcome> {
    let consumer = consumer(settings, None)?;
    assign_all(&consumer, &load.topic, true, settings.timeout)?;
    let run: [u8; 8] = fastrand::u64(..).to_be_bytes();
    let total = (load.rate * load.duration.as_secs_f64()).ceil() as u64;
    let schedule = Schedule {
        producers: load.producers as u64,
        total,
        rate: load.rate,
    };
    let (go, started) = watch::channel(None);
    let tally = Arc::new(Mutex::new(Tally {
        failed: 0,
        first_error: None,
        latency: histogram(),
    }));
    let producing = {
        let (settings, load, tally) = (settings.clone(), load.clone(), tally.clone());
        std::thread::spawn(move || -> Result<()> {
            // One thread: what the client costs is what this is for keeping low.
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| ClientError::Invalid(format!("cannot start a runtime: {e}")))?;
            runtime.block_on(produce(&settings, &load, run, schedule, started, tally))
        })
    };
    let mut producing = Some(producing);
    let value_len = load.record_size.max(STAMP_LEN);
    let warm_deadline = Instant::now() + settings.timeout + settings.timeout;
    let mut warm = 0;
    while warm < load.producers {
        settle(&mut producing)?;
        if producing.is_none() {
            return Err(ClientError::Invalid(
                "the producers stopped before the run".into(),
            ));
        }
        if Instant::now() >= warm_deadline {
            return Err(ClientError::Invalid(format!(
                "the consumer read the warm-up records of only {warm} of {} producers",
                load.producers
            )));
        }
        if let Some(stamp) = next_stamp(&consumer, &run)? {
            warm += usize::from(stamp == 0);
        }
    }
    let start = Start::now();
    let _ = go.send(Some(start));
    let interval_us = load.interval.map(|i| (i.as_micros() as u64).max(1));
    let mut intervals = BTreeMap::new();
    let mut latency = histogram();
    let deadline = start.at + load.duration + settings.timeout;
    let mut got = 0u64;
    while got < total && Instant::now() < deadline {
        settle(&mut producing)?;
        let Some(sent) = next_stamp(&consumer, &run)? else {
            continue;
        };
        if sent == 0 {
            continue;
        }
        let took = start
            .epoch_us(start.at.elapsed())
            .saturating_sub(sent)
            .max(1);
        record_latency(&mut latency, &mut intervals, interval_us, sent, took);
        got += 1;
        progress.add(value_len);
    }
    let elapsed = start.at.elapsed();
    if let Some(producing) = producing {
        join(producing)?;
    }
    let tally = Arc::try_unwrap(tally)
        .map_err(|_| ClientError::Invalid("a producer outlived the run".into()))?
        .into_inner();
    Ok(Outcome {
        report: Report {
            records: got,
            bytes: got * value_len as u64,
            failed: total - got,
            elapsed,
            latency: Some(latency),
            intervals,
        },
        ack_latency: (load.acks != 0).then_some(tally.latency),
        produce_error: tally.first_error,
    })
}

/// Ends the run with the producers' error as soon as they fail; forgets
/// them once they are done.
fn settle(producing: &mut Option<std::thread::JoinHandle<Result<()>>>) -> Result<()> {
    match producing.take_if(|p| p.is_finished()) {
        Some(done) => join(done),
        None => Ok(()),
    }
}

fn join(producing: std::thread::JoinHandle<Result<()>>) -> Result<()> {
    producing
        .join()
        .map_err(|_| ClientError::Invalid("the producing thread panicked".into()))?
}

/// The send stamp (0 for a warm-up record) of the next record of this run
/// the consumer reads; None when the poll found nothing of it.
fn next_stamp(consumer: &BaseConsumer, run: &[u8; 8]) -> Result<Option<u64>> {
    match consumer.poll(Duration::from_millis(100)) {
        Some(Ok(m)) => Ok(m
            .payload()
            .filter(|p| p.len() >= STAMP_LEN && p[..8] == run[..])
            .map(|p| u64::from_be_bytes(p[8..STAMP_LEN].try_into().expect("eight bytes")))),
        Some(Err(e)) => Err(ClientError::kafka("cannot consume")(e)),
        None => Ok(None),
    }
}

/// Connects every producer (each to its partition's leader, producer p
/// writing partition p mod the partition count), then runs them all.
async fn produce(
    settings: &ClientSettings,
    load: &WireEndToEnd,
    run: [u8; 8],
    schedule: Schedule,
    started: watch::Receiver<Option<Start>>,
    tally: Arc<Mutex<Tally>>,
) -> Result<()> {
    let partitions = leaders(settings, &load.topic).await?;
    let mut value = payload(load.record_size.max(STAMP_LEN));
    value[..8].copy_from_slice(&run);
    value[8..STAMP_LEN].fill(0);
    let value = Bytes::from(value);
    let per_request = records_per_batch(load.batch_size, value.len());
    let producers: Vec<Producer> = futures::stream::iter(0..load.producers)
        .map(|p| {
            let (index, address) = &partitions[p % partitions.len()];
            let topic = load.topic.clone();
            async move {
                let connection = Connection::to_address(settings, address).await?;
                // From v13 topics go by id; a name is all this producer knows.
                let version = connection.version::<ProduceRequest>(3)?.min(12);
                let request = ProduceRequest::default()
                    .with_acks(load.acks)
                    .with_timeout_ms(connection.timeout_ms())
                    .with_topic_data(vec![TopicProduceData::default()
                        .with_name(TopicName(StrBytes::from_string(topic)))
                        .with_partition_data(vec![
                            PartitionProduceData::default().with_index(*index)
                        ])]);
                Ok::<_, ClientError>(Producer {
                    index: p as u64,
                    templates: Templates {
                        by_count: Vec::new(),
                        request,
                        version,
                        client_id: connection.client_id().clone(),
                    },
                    connection,
                })
            }
        })
        .buffer_unordered(CONNECTING_AT_ONCE)
        .try_collect()
        .await?;
    let mut tasks = tokio::task::JoinSet::new();
    for producer in producers {
        let lane = Lane {
            schedule,
            value: value.clone(),
            per_request,
            acks: load.acks,
            linger: load.linger,
            wait: settings.timeout + Duration::from_secs(5),
        };
        tasks.spawn(lane.drive(producer, started.clone(), tally.clone()));
    }
    while let Some(joined) = tasks.join_next().await {
        joined.map_err(|e| ClientError::Invalid(format!("a producer's task failed: {e}")))??;
    }
    Ok(())
}

/// What every producer's task shares.
struct Lane {
    schedule: Schedule,
    value: Bytes,
    per_request: u32,
    acks: i16,
    linger: Duration,
    wait: Duration,
}

/// A request a producer has written: its correlation id, records, and when
/// it went out (from the run's start).
struct Sent {
    correlation: i32,
    first: u64,
    count: u64,
    at: Duration,
}

impl Lane {
    /// Sends one warm-up record (stamp 0), waits for the start, then sends
    /// the producer's records on schedule while reading the answers.
    async fn drive(
        self,
        producer: Producer,
        mut started: watch::Receiver<Option<Start>>,
        tally: Arc<Mutex<Tally>>,
    ) -> Result<()> {
        let Producer {
            index: p,
            connection,
            mut templates,
        } = producer;
        let address = connection.address().to_string();
        let (version, acks) = (templates.version, self.acks != 0);
        let (mut reader, mut writer) = connection.into_split();
        let disconnected = |e: std::io::Error| ClientError::Disconnected {
            context: format!("producing to {address}"),
            cause: e.to_string(),
        };
        let now_ms = || {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64)
        };
        let frame = templates
            .get(1, &self.value)?
            .fill(0, std::iter::once(0), now_ms());
        writer.write_all(frame).await.map_err(disconnected)?;
        writer.flush().await.map_err(disconnected)?;
        if acks {
            let answer = read_answer(&mut reader, self.wait, &address).await?;
            if let Some(e) = produce_error(answer, version, 0, &address)? {
                return Err(ClientError::Invalid(format!(
                    "the warm-up record failed: {e}"
                )));
            }
        }
        let start = *started
            .wait_for(Option::is_some)
            .await
            .map_err(|_| ClientError::Invalid("the run ended before it started".into()))?;
        let start = start.expect("waited for");
        let schedule = self.schedule;
        let room = Semaphore::new(IN_FLIGHT);
        let (sent_tx, mut sent_rx) = mpsc::unbounded_channel::<Sent>();
        let write = async {
            let count = schedule.records_of(p);
            let mut k = 0;
            let mut correlation = 0i32;
            while k < count {
                let due = start.at + schedule.due(p, k) + self.linger;
                tokio::time::sleep_until(due.into()).await;
                if acks {
                    room.acquire()
                        .await
                        .expect("the semaphore is never closed")
                        .forget();
                }
                let at = start.at.elapsed();
                let n = schedule.due_by(p, k, at, u64::from(self.per_request));
                correlation += 1;
                let stamps =
                    (k..k + n).map(|i| start.epoch_us(counts_from(schedule.due(p, i), at)));
                let frame =
                    templates
                        .get(n as u32, &self.value)?
                        .fill(correlation, stamps, now_ms());
                writer.write_all(frame).await.map_err(disconnected)?;
                writer.flush().await.map_err(disconnected)?;
                if acks {
                    let _ = sent_tx.send(Sent {
                        correlation,
                        first: k,
                        count: n,
                        at,
                    });
                }
                k += n;
            }
            drop(sent_tx);
            Ok::<_, ClientError>(())
        };
        let read = async {
            while let Some(sent) = sent_rx.recv().await {
                let answer = read_answer(&mut reader, self.wait, &address).await?;
                let acked = start.at.elapsed();
                room.add_permits(1);
                let error = produce_error(answer, version, sent.correlation, &address)?;
                let mut tally = tally.lock();
                match error {
                    None => {
                        for i in sent.first..sent.first + sent.count {
                            let took =
                                acked.saturating_sub(counts_from(schedule.due(p, i), sent.at));
                            let _ = tally.latency.record((took.as_micros() as u64).max(1));
                        }
                    }
                    Some(e) => {
                        tally.failed += sent.count;
                        tally.first_error.get_or_insert(e);
                    }
                }
            }
            Ok::<_, ClientError>(())
        };
        tokio::try_join!(write, read)?;
        // Without acks nothing says the broker has read the requests;
        // closing our side first lets it read what is buffered.
        writer.shutdown().await.map_err(disconnected)
    }
}

/// One answer's body, after its length.
async fn read_answer(
    reader: &mut (impl AsyncRead + Unpin),
    wait: Duration,
    address: &str,
) -> Result<Bytes> {
    let answer = async {
        let len = reader.read_i32().await?;
        let len = usize::try_from(len).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("an answer of {len} bytes"),
            )
        })?;
        let mut body = vec![0u8; len];
        reader.read_exact(&mut body).await?;
        Ok::<_, std::io::Error>(Bytes::from(body))
    };
    let context = || format!("Produce to {address}");
    tokio::time::timeout(wait, answer)
        .await
        .map_err(|_| ClientError::Disconnected {
            context: context(),
            cause: format!("no answer within {}s", wait.as_secs()),
        })?
        .map_err(|e| ClientError::Disconnected {
            context: context(),
            cause: e.to_string(),
        })
}

/// The error a Produce answer carries, if any, as text.
fn produce_error(
    answer: Bytes,
    version: i16,
    correlation: i32,
    address: &str,
) -> Result<Option<String>> {
    let response =
        decode_response::<ProduceRequest>(answer, version, correlation).map_err(|cause| {
            ClientError::Wire {
                context: format!("Produce to {address}"),
                cause,
            }
        })?;
    Ok(response
        .responses
        .iter()
        .flat_map(|t| &t.partition_responses)
        .find(|p| p.error_code != 0)
        .map(|p| format!("error code {} from {address}", p.error_code)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::records::RecordBatchDecoder;

    #[test]
    fn the_schedule_spreads_records_evenly_over_producers_and_time() {
        let s = Schedule {
            producers: 4,
            total: 10,
            rate: 100.0,
        };
        assert_eq!(
            (0..4).map(|p| s.records_of(p)).collect::<Vec<_>>(),
            [3, 3, 2, 2]
        );
        // Record j is due at j / rate, from producer j mod 4: producer 1
        // sends records 1, 5 and 9, each 40 ms after the last.
        assert_eq!(s.due(1, 0), Duration::from_millis(10));
        assert_eq!(s.due(1, 1), Duration::from_millis(50));
        assert_eq!(s.due(1, 2), Duration::from_millis(90));
        let few = Schedule {
            producers: 1000,
            total: 3,
            rate: 1.0,
        };
        assert_eq!(few.records_of(2), 1);
        assert_eq!(few.records_of(3), 0);
    }

    #[test]
    fn a_producer_on_time_sends_one_record_and_one_behind_sends_what_is_due() {
        let s = Schedule {
            producers: 2,
            total: 20,
            rate: 10.0,
        };
        // Producer 0's records are due every 200 ms from 0.
        assert_eq!(s.due_by(0, 0, Duration::ZERO, 100), 1);
        assert_eq!(s.due_by(0, 1, Duration::from_millis(250), 100), 1);
        // 650 ms in, records 1, 2 and 3 (200, 400, 600 ms) are all due.
        assert_eq!(s.due_by(0, 1, Duration::from_millis(650), 100), 3);
        assert_eq!(s.due_by(0, 1, Duration::from_millis(650), 2), 2);
        // Never past the producer's last record.
        assert_eq!(s.due_by(0, 8, Duration::from_secs(60), 100), 2);
    }

    fn request(partition: i32) -> ProduceRequest {
        ProduceRequest::default()
            .with_acks(1)
            .with_timeout_ms(30_000)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(TopicName(StrBytes::from_static_str("t")))
                .with_partition_data(vec![
                    PartitionProduceData::default().with_index(partition)
                ])])
    }

    #[test]
    fn a_filled_template_is_a_valid_batch_carrying_each_records_stamp() {
        let mut value = payload(100);
        value[..8].copy_from_slice(b"run-tag!");
        value[8..16].fill(0);
        let client = StrBytes::from_static_str("perf");
        // v3 is the oldest the producer sends, v12 the newest (flexible,
        // with tagged fields after the records).
        for version in [3, 12] {
            let mut template = Template::new(request(2), &value, 3, version, &client).unwrap();
            let stamps = [
                1_800_000_000_000_001u64,
                1_800_000_000_000_002,
                1_800_000_000_000_003,
            ];
            let frame = template
                .fill(77, stamps.iter().copied(), 1_800_000_000_000)
                .to_vec();
            assert_eq!(
                i32::from_be_bytes(frame[..4].try_into().unwrap()) as usize,
                frame.len() - 4
            );
            assert_eq!(
                &frame[CORRELATION_AT..CORRELATION_AT + 4],
                &77i32.to_be_bytes()
            );
            let mut batch =
                Bytes::copy_from_slice(&frame[template.batch_at..][..template.batch_len]);
            let crc = u32::from_be_bytes(batch[CRC_AT..CRC_AT + 4].try_into().unwrap());
            assert_eq!(crc, crc32c::crc32c(&batch[CRC_FROM..]), "v{version}");
            let sets = RecordBatchDecoder::decode_all(&mut batch).unwrap();
            let records = &sets[0].records;
            assert_eq!(records.len(), 3);
            for (record, stamp) in records.iter().zip(stamps) {
                let v = record.value.as_deref().unwrap();
                assert_eq!(&v[..8], b"run-tag!");
                assert_eq!(v[8..16], stamp.to_be_bytes());
                assert_eq!(v[16..], value[16..]);
                assert_eq!(record.timestamp, 1_800_000_000_000);
            }
        }
    }
}
