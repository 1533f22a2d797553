//! perf-test's own producer (`--client wire`): Produce requests of record
//! batches built before the run, written over the tools' own protocol
//! connection (rustls for SSL) with several requests in flight on each
//! connection. librdkafka hands its TLS layer one write per record, so over
//! TLS it spends more CPU per GiB than the broker it is measuring; this
//! producer writes whole requests, which rustls seals in 16 KiB TLS records
//! as Kafka's Java client does, and does little else per record, so that
//! the broker is what bounds a run.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use hdrhistogram::Histogram;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{MetadataRequest, ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, Semaphore};

use super::{histogram, payload, Progress, Report};
use crate::client::config::ClientSettings;
use crate::client::error::{ClientError, Result};
use crate::client::wire::Connection;
use crate::wire_format::{decode_response, request_frame};

/// A produce workload for the own client.
#[derive(Debug, Clone)]
pub struct WireLoad {
    pub topic: String,
    pub records: u64,
    pub record_size: usize,
    /// 0, 1 or -1 (all), as in the Produce request.
    pub acks: i16,
    /// Bytes of records a batch holds at most (batch.size); at least one record.
    pub batch_size: usize,
    /// Connections to each partition leader.
    pub connections: usize,
    /// Requests awaiting an answer on each connection at most.
    pub in_flight: usize,
}

/// A v2 record batch's header: offset, length, leader epoch, magic, CRC,
/// attributes, last offset delta, two timestamps, producer id and epoch,
/// base sequence, record count.
const BATCH_HEADER: usize = 61;
const CRC_AT: usize = 17;
const CRC_FROM: usize = 21;
const BASE_SEQUENCE_AT: usize = 53;

/// What a record of `value_len` bytes takes in a batch at most: a length,
/// attributes, timestamp and offset deltas, no key, the value's length and
/// no headers, each varint at its longest for a batch's deltas.
fn record_len(value_len: usize) -> usize {
    5 + 1 + 5 + 5 + 1 + 5 + value_len + 1
}

/// How many records of `value_len` bytes fill a batch of `batch_size`
/// bytes, as Kafka's producer fills one: always at least one.
pub fn records_per_batch(batch_size: usize, value_len: usize) -> u32 {
    let fit = batch_size.saturating_sub(BATCH_HEADER) / record_len(value_len);
    fit.clamp(1, i32::MAX as usize) as u32
}

/// One uncompressed v2 batch of `count` records of `value`, stamped
/// `timestamp`, from no producer (id -1, base sequence -1), as Kafka's
/// producer writes it without idempotence. The broker gives it its offsets,
/// so one batch can be sent any number of times.
pub fn record_batch(value: &[u8], count: u32, timestamp: i64) -> Result<Bytes> {
    let value = Bytes::copy_from_slice(value);
    let records: Vec<Record> = (0..count)
        .map(|i| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i64::from(i),
            // The encoder starts a new batch wherever offset - sequence
            // changes; the base sequence is set to -1 below.
            sequence: i as i32,
            timestamp,
            key: None,
            value: Some(value.clone()),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    RecordBatchEncoder::encode(&mut buf, &records, &options)
        .map_err(|e| ClientError::Invalid(format!("cannot encode a record batch: {e}")))?;
    buf[BASE_SEQUENCE_AT..BASE_SEQUENCE_AT + 4].copy_from_slice(&(-1i32).to_be_bytes());
    let crc = crc32c::crc32c(&buf[CRC_FROM..]);
    buf[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
    Ok(buf.freeze())
}

/// The run's requests in order: (partition index, records), full batches
/// round the partitions, the last one holding what is left.
pub fn plan(records: u64, per_batch: u32, partitions: usize) -> Vec<(usize, u32)> {
    let mut out = Vec::new();
    let mut left = records;
    while left > 0 {
        let n = left.min(u64::from(per_batch)) as u32;
        out.push((out.len() % partitions, n));
        left -= u64::from(n);
    }
    out
}

/// Where a frame's correlation id is: after its length, API key and version.
const CORRELATION_AT: usize = 8;

/// Kafka's UNKNOWN_TOPIC_OR_PARTITION and LEADER_NOT_AVAILABLE: a topic
/// being created.
const NOT_YET: [i16; 2] = [3, 5];

/// Each partition of `topic` (creating it as a producer's metadata request
/// does) with its leader's HOST:PORT, once every partition has a leader.
pub(super) async fn leaders(settings: &ClientSettings, topic: &str) -> Result<Vec<(i32, String)>> {
    let mut bootstrap = Connection::to_bootstrap(settings).await?;
    let request = MetadataRequest::default()
        .with_allow_auto_topic_creation(true)
        .with_topics(Some(vec![MetadataRequestTopic::default().with_name(Some(
            TopicName(StrBytes::from_string(topic.to_string())),
        ))]));
    let deadline = Instant::now() + settings.timeout;
    loop {
        let metadata = bootstrap.call(&request, 4).await?;
        let brokers: HashMap<i32, String> = metadata
            .brokers
            .iter()
            .map(|b| (b.node_id.0, format!("{}:{}", b.host.as_str(), b.port)))
            .collect();
        let found = metadata
            .topics
            .iter()
            .find(|t| t.name.as_ref().is_some_and(|n| n.as_str() == topic));
        let code = found.map_or(3, |t| t.error_code);
        if code != 0 && !NOT_YET.contains(&code) {
            return Err(ClientError::Protocol {
                context: format!("Metadata for {topic}"),
                code,
                message: None,
            });
        }
        let partitions: Option<Vec<(i32, String)>> = found
            .filter(|t| code == 0 && !t.partitions.is_empty())
            .and_then(|t| {
                t.partitions
                    .iter()
                    .map(|p| Some((p.partition_index, brokers.get(&p.leader_id.0)?.clone())))
                    .collect()
            });
        match partitions {
            Some(mut partitions) => {
                partitions.sort_unstable();
                return Ok(partitions);
            }
            None if Instant::now() >= deadline => {
                return Err(ClientError::Invalid(format!(
                    "topic '{topic}' has partitions without a leader after {}s",
                    settings.timeout.as_secs()
                )))
            }
            None => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// A Produce request, length first, ready to write but for its correlation id.
struct Frame {
    bytes: Vec<u8>,
    records: u32,
}

/// One connection's share of the run.
struct Lane {
    connection: Connection,
    frames: Vec<Frame>,
    /// Indexes into `frames`, in the order they go.
    order: Vec<usize>,
}

/// What one connection saw.
struct Tally {
    acknowledged: u64,
    failed: u64,
    first_error: Option<String>,
    latency: Histogram<u64>,
}

/// Sends `load`'s records and waits for every answer. Latency is per
/// request, from its write to its answer.
pub fn produce(
    settings: &ClientSettings,
    load: &WireLoad,
    progress: Arc<Progress>,
) -> Result<Report> {
    // One thread: the client's cost is what this producer is for keeping low.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ClientError::Invalid(format!("cannot start a runtime: {e}")))?;
    runtime.block_on(run(settings, load, progress))
}

async fn run(
    settings: &ClientSettings,
    load: &WireLoad,
    progress: Arc<Progress>,
) -> Result<Report> {
    let partitions = leaders(settings, &load.topic).await?;
    let per_batch = records_per_batch(load.batch_size, load.record_size);
    let value = payload(load.record_size);
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    // Each leader's connections, and which of them sends its next request.
    let mut lanes: Vec<Lane> = Vec::new();
    let mut by_leader: BTreeMap<&str, (Vec<usize>, usize)> = BTreeMap::new();
    let mut version = None;
    for (_, address) in &partitions {
        if by_leader.contains_key(address.as_str()) {
            continue;
        }
        let mut indexes = Vec::new();
        for _ in 0..load.connections.max(1) {
            let connection = Connection::to_address(settings, address).await?;
            // From v13 topics go by id; a name is all this producer knows.
            let v = connection.version::<ProduceRequest>(3)?.min(12);
            version = Some(version.map_or(v, |w: i16| w.min(v)));
            indexes.push(lanes.len());
            lanes.push(Lane {
                connection,
                frames: Vec::new(),
                order: Vec::new(),
            });
        }
        by_leader.insert(address, (indexes, 0));
    }
    let version = version.expect("a topic has partitions");
    let mut built: HashMap<(usize, usize, u32), usize> = HashMap::new();
    for (partition, records) in plan(load.records, per_batch, partitions.len()) {
        let (index, address) = &partitions[partition];
        let (indexes, next) = by_leader
            .get_mut(address.as_str())
            .expect("every leader has connections");
        let lane_index = indexes[*next % indexes.len()];
        *next += 1;
        let lane = &mut lanes[lane_index];
        let frame = match built.get(&(lane_index, partition, records)) {
            Some(&frame) => frame,
            None => {
                let request = ProduceRequest::default()
                    .with_acks(load.acks)
                    .with_timeout_ms(lane.connection.timeout_ms())
                    .with_topic_data(vec![TopicProduceData::default()
                        .with_name(TopicName(StrBytes::from_string(load.topic.clone())))
                        .with_partition_data(vec![PartitionProduceData::default()
                            .with_index(*index)
                            .with_records(Some(record_batch(&value, records, timestamp)?))])]);
                let bytes = request_frame(&request, version, 0, lane.connection.client_id())
                    .map_err(|cause| ClientError::Wire {
                        context: format!("a Produce request to {address}"),
                        cause,
                    })?;
                lane.frames.push(Frame {
                    bytes: bytes.to_vec(),
                    records,
                });
                built.insert((lane_index, partition, records), lane.frames.len() - 1);
                lane.frames.len() - 1
            }
        };
        lane.order.push(frame);
    }
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for lane in lanes {
        let (progress, load) = (progress.clone(), load.clone());
        let wait = settings.timeout + Duration::from_secs(5);
        tasks.spawn(drive(lane, load, version, wait, progress));
    }
    let mut latency = histogram();
    let (mut acknowledged, mut failed, mut first_error) = (0, 0, None);
    while let Some(joined) = tasks.join_next().await {
        let tally = joined
            .map_err(|e| ClientError::Invalid(format!("a connection's task failed: {e}")))??;
        acknowledged += tally.acknowledged;
        failed += tally.failed;
        first_error = first_error.or(tally.first_error);
        latency
            .add(&tally.latency)
            .map_err(|e| ClientError::Invalid(format!("latency histogram: {e}")))?;
    }
    let elapsed = start.elapsed();
    if acknowledged == 0 && failed > 0 {
        return Err(ClientError::Invalid(format!(
            "every record failed: {}",
            first_error.unwrap_or_default()
        )));
    }
    Ok(Report {
        records: acknowledged,
        bytes: acknowledged * load.record_size as u64,
        failed,
        elapsed,
        latency: (load.acks != 0).then_some(latency),
        intervals: BTreeMap::new(),
    })
}

/// Writes a lane's requests, at most `load.in_flight` unanswered, while
/// reading the answers, which a broker sends in request order.
async fn drive(
    lane: Lane,
    load: WireLoad,
    version: i16,
    wait: Duration,
    progress: Arc<Progress>,
) -> Result<Tally> {
    let address = lane.connection.address().to_string();
    let (reader, writer) = lane.connection.into_split();
    let (sent_tx, sent_rx) = mpsc::unbounded_channel();
    let room = Semaphore::new(load.in_flight.max(1));
    let acks = load.acks != 0;
    let disconnected = |e: std::io::Error| ClientError::Disconnected {
        context: format!("producing to {address}"),
        cause: e.to_string(),
    };
    let write = async {
        let mut writer = writer;
        let mut frames = lane.frames;
        let mut written = 0u64;
        for (correlation, &frame) in (1i32..).zip(&lane.order) {
            if acks {
                room.acquire()
                    .await
                    .expect("the semaphore is never closed")
                    .forget();
            }
            let frame = &mut frames[frame];
            frame.bytes[CORRELATION_AT..CORRELATION_AT + 4]
                .copy_from_slice(&correlation.to_be_bytes());
            writer.write_all(&frame.bytes).await.map_err(disconnected)?;
            // rustls may hold sealed records back until flushed.
            writer.flush().await.map_err(disconnected)?;
            written += u64::from(frame.records);
            if acks {
                let _ = sent_tx.send((correlation, Instant::now(), frame.records));
            } else {
                progress.add_many(frame.records, load.record_size);
            }
        }
        drop(sent_tx);
        Ok::<_, ClientError>((writer, written))
    };
    let read = read_answers(
        reader, sent_rx, &room, version, wait, &address, &load, &progress,
    );
    let ((mut writer, written), mut tally) = tokio::try_join!(write, read)?;
    // Without acks nothing says the broker has read the requests; closing
    // our side first lets it read what is buffered before it sees the end.
    writer.shutdown().await.map_err(disconnected)?;
    if !acks {
        tally.acknowledged = written;
    }
    Ok(tally)
}

/// Reads one answer for each request the writer reports sent, counting
/// its records as acknowledged or failed.
#[allow(clippy::too_many_arguments)]
async fn read_answers(
    mut reader: impl AsyncRead + Unpin,
    mut sent: mpsc::UnboundedReceiver<(i32, Instant, u32)>,
    room: &Semaphore,
    version: i16,
    wait: Duration,
    address: &str,
    load: &WireLoad,
    progress: &Progress,
) -> Result<Tally> {
    let mut tally = Tally {
        acknowledged: 0,
        failed: 0,
        first_error: None,
        latency: histogram(),
    };
    let context = || format!("Produce to {address}");
    while let Some((correlation, at, records)) = sent.recv().await {
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
            Ok::<_, std::io::Error>(body)
        };
        let body = tokio::time::timeout(wait, answer)
            .await
            .map_err(|_| ClientError::Disconnected {
                context: context(),
                cause: format!("no answer within {}s", wait.as_secs()),
            })?
            .map_err(|e| ClientError::Disconnected {
                context: context(),
                cause: e.to_string(),
            })?;
        let response = decode_response::<ProduceRequest>(Bytes::from(body), version, correlation)
            .map_err(|cause| ClientError::Wire {
            context: context(),
            cause,
        })?;
        room.add_permits(1);
        let code = response
            .responses
            .iter()
            .flat_map(|t| &t.partition_responses)
            .map(|p| p.error_code)
            .find(|c| *c != 0);
        match code {
            None => {
                tally.acknowledged += u64::from(records);
                progress.add_many(records, load.record_size);
                let micros = at.elapsed().as_micros().max(1) as u64;
                let _ = tally.latency.record(micros);
            }
            Some(code) => {
                tally.failed += u64::from(records);
                tally
                    .first_error
                    .get_or_insert_with(|| format!("error code {code} from {address}"));
            }
        }
    }
    Ok(tally)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::records::RecordBatchDecoder;

    #[test]
    fn a_batch_holds_what_batch_size_allows_and_at_least_one_record() {
        // 16 KiB of 1 KiB values: 15 records and their framing.
        assert_eq!(records_per_batch(16_384, 1024), 15);
        assert_eq!(records_per_batch(1_048_576, 1024), 1001);
        assert_eq!(records_per_batch(100, 1024), 1);
        assert_eq!(records_per_batch(16_384, 0), 709);
    }

    #[test]
    fn the_plan_sends_every_record_round_the_partitions() {
        let plan = plan(100, 30, 3);
        assert_eq!(plan, vec![(0, 30), (1, 30), (2, 30), (0, 10)]);
        assert_eq!(super::plan(0, 30, 3), vec![]);
        let many = super::plan(1_000_003, 15, 4);
        assert_eq!(
            many.iter().map(|(_, n)| u64::from(*n)).sum::<u64>(),
            1_000_003
        );
        assert!(many.iter().enumerate().all(|(i, (p, _))| *p == i % 4));
    }

    #[test]
    fn a_batch_is_one_valid_v2_batch_from_no_producer() {
        let value = payload(1024);
        let batch = record_batch(&value, 15, 1_700_000_000_000).unwrap();
        assert!(batch.len() <= 16_384, "{}", batch.len());
        assert_eq!(batch[16], 2, "magic");
        let crc = u32::from_be_bytes(batch[CRC_AT..CRC_AT + 4].try_into().unwrap());
        assert_eq!(crc, crc32c::crc32c(&batch[CRC_FROM..]));
        let id = i64::from_be_bytes(batch[43..51].try_into().unwrap());
        let sequence = i32::from_be_bytes(batch[53..57].try_into().unwrap());
        assert_eq!((id, sequence), (-1, -1));
        let mut bytes = batch.clone();
        let sets = RecordBatchDecoder::decode_all(&mut bytes).unwrap();
        assert_eq!(sets.len(), 1, "one batch");
        let records = &sets[0].records;
        assert_eq!(records.len(), 15);
        assert!(records.iter().enumerate().all(|(i, r)| r.offset == i as i64
            && r.timestamp == 1_700_000_000_000
            && r.key.is_none()
            && r.value.as_deref() == Some(&value[..])));
    }
}
