//! perf-test's own consumer (`--client wire`): one Fetch in flight to each
//! partition leader over the tools' own protocol connection, at the newest
//! Fetch version both ends serve, in an incremental fetch session (KIP-227)
//! so that a fetch names only the partitions whose offset moved. librdkafka
//! keeps no fetch session and asks each partition's start with a
//! ListOffsets of its own, so over thousands of partitions it, not the
//! broker, bounds a run; this consumer asks each leader once for all its
//! partitions' starts and counts records from the batch headers.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use bytes::Bytes;
use integer_encoding::VarInt;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic, ForgottenTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{FetchRequest, ListOffsetsRequest, MetadataRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::RecordBatchDecoder;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use uuid::Uuid;

use super::{Progress, Report};
use crate::client::config::ClientSettings;
use crate::client::error::{ClientError, Result};
use crate::client::wire::Connection;

/// A consume workload for the own client.
#[derive(Debug, Clone)]
pub struct WireFetchLoad {
    pub topic: String,
    pub records: u64,
    /// Stop when no record arrived for this long.
    pub idle: Duration,
}

/// Kafka's consumer defaults: fetch.max.bytes, max.partition.fetch.bytes,
/// fetch.max.wait.ms, fetch.min.bytes.
const FETCH_MAX_BYTES: i32 = 52_428_800;
const PARTITION_MAX_BYTES: i32 = 1_048_576;
const MAX_WAIT_MS: i32 = 500;
const MIN_BYTES: i32 = 1;

/// Kafka's FETCH_SESSION_ID_NOT_FOUND and INVALID_FETCH_SESSION_EPOCH.
const SESSION_NOT_FOUND: i16 = 70;
const INVALID_SESSION_EPOCH: i16 = 71;

/// What the next Fetch says of the session and which partitions it names.
#[derive(Debug, PartialEq, Eq)]
pub struct NextFetch {
    pub session_id: i32,
    pub epoch: i32,
    /// (partition, fetch offset) to name.
    pub send: Vec<(i32, i64)>,
    /// Partitions the broker's session should drop.
    pub forget: Vec<i32>,
}

/// The client's half of a fetch session, as Kafka's FetchSessionHandler
/// keeps it: the session id and next epoch, and the fetch offset the
/// broker's session holds for each partition. A broker that opens no
/// session (id 0 in its answer) gets a full fetch every time.
#[derive(Debug, Default)]
pub struct FetchSession {
    id: i32,
    /// 0 asks for a new session (closing `id`, if any).
    epoch: i32,
    /// Ordered as the offsets are, so that each fetch compares the two in
    /// one walk instead of a lookup per partition.
    held: BTreeMap<i32, i64>,
    pending: Option<NextFetch>,
}

impl FetchSession {
    /// The next request, given where each partition is to be read from.
    pub fn next(&mut self, offsets: &BTreeMap<i32, i64>) -> &NextFetch {
        let next = if self.epoch == 0 {
            NextFetch {
                session_id: self.id,
                epoch: 0,
                send: offsets.iter().map(|(&p, &o)| (p, o)).collect(),
                forget: Vec::new(),
            }
        } else {
            let (mut send, mut forget) = (Vec::new(), Vec::new());
            let mut held = self.held.iter().peekable();
            for (&p, &o) in offsets {
                while let Some((&gone, _)) = held.next_if(|(&h, _)| h < p) {
                    forget.push(gone);
                }
                match held.next_if(|(&h, _)| h == p) {
                    Some((_, &at)) if at == o => {}
                    _ => send.push((p, o)),
                }
            }
            forget.extend(held.map(|(&gone, _)| gone));
            NextFetch {
                session_id: self.id,
                epoch: self.epoch,
                send,
                forget,
            }
        };
        self.pending.insert(next)
    }

    /// The broker's answer to the last request: its error code and
    /// session id. A session error starts a new session, as Kafka's
    /// client does; true when the fetch is to be sent again.
    pub fn answered(&mut self, error_code: i16, session_id: i32) -> bool {
        let Some(sent) = self.pending.take() else {
            return false;
        };
        match error_code {
            0 if sent.epoch == 0 => {
                self.id = session_id;
                self.epoch = if session_id == 0 { 0 } else { 1 };
                self.held = sent.send.into_iter().collect();
                false
            }
            0 => {
                for p in &sent.forget {
                    self.held.remove(p);
                }
                self.held.extend(sent.send);
                self.epoch = if self.epoch == i32::MAX {
                    1
                } else {
                    self.epoch + 1
                };
                false
            }
            SESSION_NOT_FOUND => {
                (self.id, self.epoch) = (0, 0);
                self.held.clear();
                true
            }
            INVALID_SESSION_EPOCH => {
                self.epoch = 0;
                self.held.clear();
                true
            }
            _ => false,
        }
    }

    /// Whether the broker keeps a session for this client.
    pub fn in_session(&self) -> bool {
        self.id != 0 && self.epoch > 0
    }
}

/// What one fetched partition held.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Counted {
    pub records: u64,
    /// Bytes of the records' values, as Kafka's consumer perf test counts.
    pub value_bytes: u64,
    /// Where the next fetch of the partition starts.
    pub next_offset: i64,
}

/// Where a v2 batch's fields are: length, magic, CRC (over the rest from
/// the attributes on), attributes, last offset delta, record count.
const LENGTH_AT: usize = 8;
const MAGIC_AT: usize = 16;
const CRC_AT: usize = 17;
const ATTRIBUTES_AT: usize = 21;
const LAST_DELTA_AT: usize = 23;
const RECORDS_AT: usize = 61;
const CONTROL: u16 = 0x20;
const COMPRESSION: u16 = 0x07;

fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(b[at..at + 4].try_into().expect("four bytes"))
}

/// Counts the records of a fetched partition's record batches from
/// `from` on, checking each batch's CRC as Kafka's consumer does
/// (check.crcs): records are counted, not read, so a corrupt batch would
/// otherwise go unseen. Uncompressed records are walked for their value
/// lengths; compressed batches are decompressed. A batch cut short at the
/// end (the fetch's byte limit) is left for the next fetch; control
/// batches (transaction markers) hold no records.
pub fn count(mut data: &[u8], from: i64) -> std::result::Result<Counted, String> {
    let mut counted = Counted {
        next_offset: from,
        ..Counted::default()
    };
    while data.len() >= LENGTH_AT + 4 {
        let base = i64::from_be_bytes(data[..8].try_into().expect("eight bytes"));
        let length = be_i32(data, LENGTH_AT);
        let total = usize::try_from(length)
            .ok()
            .filter(|l| *l >= RECORDS_AT - LENGTH_AT - 4)
            .ok_or_else(|| format!("a batch of {length} bytes at offset {base}"))?
            + LENGTH_AT
            + 4;
        if data.len() < total {
            break;
        }
        let batch = &data[..total];
        data = &data[total..];
        if batch[MAGIC_AT] != 2 {
            return Err(format!(
                "the batch at offset {base} is in message format v{}, which is not counted",
                batch[MAGIC_AT]
            ));
        }
        let crc = u32::from_be_bytes(batch[CRC_AT..CRC_AT + 4].try_into().expect("four bytes"));
        if crc != crc32c::crc32c(&batch[ATTRIBUTES_AT..]) {
            return Err(format!("the batch at offset {base} fails its CRC check"));
        }
        let attributes = u16::from_be_bytes([batch[ATTRIBUTES_AT], batch[ATTRIBUTES_AT + 1]]);
        let next = base + i64::from(be_i32(batch, LAST_DELTA_AT)) + 1;
        if attributes & CONTROL == 0 {
            let (records, bytes) = if attributes & COMPRESSION == 0 {
                walk(&batch[RECORDS_AT..], base, counted.next_offset)
            } else {
                decompress(batch, counted.next_offset)
            }
            .map_err(|why| format!("the batch at offset {base}: {why}"))?;
            counted.records += records;
            counted.value_bytes += bytes;
        }
        counted.next_offset = counted.next_offset.max(next);
    }
    Ok(counted)
}

/// (records, value bytes) of an uncompressed batch's records at `from` or
/// later: each record is its length, attributes, timestamp delta, offset
/// delta, key and value (then headers, skipped by the length).
fn walk(mut records: &[u8], base: i64, from: i64) -> std::result::Result<(u64, u64), String> {
    let garbled = || "a garbled record".to_string();
    let (mut n, mut bytes) = (0, 0);
    while !records.is_empty() {
        let (length, used) = i32::decode_var(records).ok_or_else(garbled)?;
        let length = usize::try_from(length).map_err(|_| garbled())?;
        let record = records.get(used..used + length).ok_or_else(garbled)?;
        records = &records[used + length..];
        let mut at = 1;
        let (_, used) = i64::decode_var(&record[at..]).ok_or_else(garbled)?;
        at += used;
        let (delta, used) =
            i32::decode_var(record.get(at..).ok_or_else(garbled)?).ok_or_else(garbled)?;
        at += used;
        let (key, used) =
            i32::decode_var(record.get(at..).ok_or_else(garbled)?).ok_or_else(garbled)?;
        at += used + usize::try_from(key).unwrap_or(0);
        let (value, _) =
            i32::decode_var(record.get(at..).ok_or_else(garbled)?).ok_or_else(garbled)?;
        if base + i64::from(delta) >= from {
            n += 1;
            bytes += u64::try_from(value).unwrap_or(0);
        }
    }
    Ok((n, bytes))
}

fn decompress(batch: &[u8], from: i64) -> std::result::Result<(u64, u64), String> {
    let mut bytes = Bytes::copy_from_slice(batch);
    let set = RecordBatchDecoder::decode(&mut bytes).map_err(|e| e.to_string())?;
    Ok(set
        .records
        .iter()
        .filter(|r| r.offset >= from)
        .fold((0, 0), |(n, b), r| {
            (n + 1, b + r.value.as_ref().map_or(0, |v| v.len() as u64))
        }))
}

/// The topic's id and each partition's leader's HOST:PORT, once every
/// partition has a leader.
async fn leaders(
    settings: &ClientSettings,
    topic: &str,
) -> Result<(Uuid, BTreeMap<String, Vec<i32>>)> {
    let mut bootstrap = Connection::to_bootstrap(settings).await?;
    let request = MetadataRequest::default()
        .with_allow_auto_topic_creation(false)
        .with_topics(Some(vec![MetadataRequestTopic::default().with_name(Some(
            TopicName(StrBytes::from_string(topic.to_string())),
        ))]));
    let deadline = Instant::now() + settings.timeout;
    loop {
        let metadata = bootstrap.call(&request, 1).await?;
        let brokers: HashMap<i32, String> = metadata
            .brokers
            .iter()
            .map(|b| (b.node_id.0, format!("{}:{}", b.host.as_str(), b.port)))
            .collect();
        let found = metadata
            .topics
            .iter()
            .find(|t| t.name.as_ref().is_some_and(|n| n.as_str() == topic));
        match found.map_or(3, |t| t.error_code) {
            0 => {}
            3 => {
                return Err(ClientError::Invalid(format!(
                    "topic '{topic}' does not exist"
                )))
            }
            code => {
                return Err(ClientError::Protocol {
                    context: format!("Metadata for {topic}"),
                    code,
                    message: None,
                })
            }
        }
        let found = found.expect("the topic was found");
        let mut by_leader: BTreeMap<String, Vec<i32>> = BTreeMap::new();
        let all_led = found.partitions.iter().all(|p| {
            brokers.get(&p.leader_id.0).is_some_and(|address| {
                by_leader
                    .entry(address.clone())
                    .or_default()
                    .push(p.partition_index);
                true
            })
        });
        if all_led && !by_leader.is_empty() {
            return Ok((found.topic_id, by_leader));
        }
        if Instant::now() >= deadline {
            return Err(ClientError::Invalid(format!(
                "topic '{topic}' has partitions without a leader after {}s",
                settings.timeout.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Each partition's log start offset, in one ListOffsets request.
async fn starts(
    connection: &mut Connection,
    topic: &str,
    partitions: &[i32],
) -> Result<BTreeMap<i32, i64>> {
    let request = ListOffsetsRequest::default()
        .with_timeout_ms(connection.timeout_ms())
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_string())))
            .with_partitions(
                partitions
                    .iter()
                    .map(|&p| {
                        ListOffsetsPartition::default()
                            .with_partition_index(p)
                            .with_timestamp(-2)
                    })
                    .collect(),
            )]);
    let response = connection.call(&request, 1).await?;
    let mut out = BTreeMap::new();
    for p in response.topics.iter().flat_map(|t| &t.partitions) {
        if p.error_code != 0 {
            return Err(ClientError::Protocol {
                context: format!("ListOffsets of {topic}-{}", p.partition_index),
                code: p.error_code,
                message: None,
            });
        }
        out.insert(p.partition_index, p.offset);
    }
    Ok(out)
}

/// Counts shared by the leaders' fetch loops, which run on one thread.
struct Tally<'a> {
    wanted: u64,
    idle: Duration,
    got: Cell<u64>,
    last: Cell<Instant>,
    progress: &'a Progress,
}

impl Tally<'_> {
    fn done(&self) -> bool {
        self.got.get() >= self.wanted || self.last.get().elapsed() >= self.idle
    }
}

/// Reads `load.records` records of `load.topic` from the start of every
/// partition.
pub fn consume(
    settings: &ClientSettings,
    load: &WireFetchLoad,
    progress: Arc<Progress>,
) -> Result<Report> {
    // One thread: the client's cost is what this consumer is for keeping low.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ClientError::Invalid(format!("cannot start a runtime: {e}")))?;
    runtime.block_on(run(settings, load, &progress))
}

async fn run(
    settings: &ClientSettings,
    load: &WireFetchLoad,
    progress: &Progress,
) -> Result<Report> {
    let (topic_id, by_leader) = leaders(settings, &load.topic).await?;
    let mut leaders = Vec::new();
    for (address, partitions) in &by_leader {
        let mut connection = Connection::to_address(settings, address).await?;
        let offsets = starts(&mut connection, &load.topic, partitions).await?;
        leaders.push((connection, offsets));
    }
    let tally = Tally {
        wanted: load.records,
        idle: load.idle,
        got: Cell::new(0),
        last: Cell::new(Instant::now()),
        progress,
    };
    // There is no group to join: the run counts from the first Fetch, as a
    // count from the first record would leave out the first fetch's wait,
    // and be zero for a run the first fetches answered whole.
    let fetching = Instant::now();
    let loops = leaders.into_iter().map(|(connection, offsets)| {
        fetch_loop(connection, &load.topic, topic_id, offsets, &tally)
    });
    futures::future::try_join_all(loops).await?;
    let got = tally.got.get();
    Ok(Report {
        records: got,
        bytes: progress.bytes.load(Ordering::Relaxed),
        failed: 0,
        elapsed: if got > 0 {
            tally.last.get().duration_since(fetching)
        } else {
            Duration::ZERO
        },
        latency: None,
        intervals: BTreeMap::new(),
    })
}

/// Fetches from one leader until the run has its records or went idle.
async fn fetch_loop(
    mut connection: Connection,
    topic: &str,
    topic_id: Uuid,
    mut offsets: BTreeMap<i32, i64>,
    tally: &Tally<'_>,
) -> Result<()> {
    // From v13 the topic goes by id, which Metadata gives from v10.
    let by_id = connection.version::<FetchRequest>(4)? >= 13;
    if by_id && topic_id.is_nil() {
        return Err(ClientError::Invalid(format!(
            "the broker at {} fetches by topic id but named none for '{topic}'",
            connection.address()
        )));
    }
    let name = TopicName(StrBytes::from_string(topic.to_string()));
    let (name, id) = if by_id {
        (TopicName::default(), topic_id)
    } else {
        (name, Uuid::nil())
    };
    let mut session = FetchSession::default();
    while !tally.done() {
        let next = session.next(&offsets);
        let mut request = FetchRequest::default()
            .with_max_wait_ms(MAX_WAIT_MS)
            .with_min_bytes(MIN_BYTES)
            .with_max_bytes(FETCH_MAX_BYTES)
            .with_session_id(next.session_id)
            .with_session_epoch(next.epoch);
        if !next.send.is_empty() {
            request.topics = vec![FetchTopic::default()
                .with_topic(name.clone())
                .with_topic_id(id)
                .with_partitions(
                    next.send
                        .iter()
                        .map(|&(p, o)| {
                            FetchPartition::default()
                                .with_partition(p)
                                .with_fetch_offset(o)
                                .with_partition_max_bytes(PARTITION_MAX_BYTES)
                        })
                        .collect(),
                )];
        }
        if !next.forget.is_empty() {
            request.forgotten_topics_data = vec![ForgottenTopic::default()
                .with_topic(name.clone())
                .with_topic_id(id)
                .with_partitions(next.forget.clone())];
        }
        let response = connection.call(&request, 4).await?;
        let again = session.answered(response.error_code, response.session_id);
        if again {
            continue;
        }
        if response.error_code != 0 {
            return Err(ClientError::Protocol {
                context: format!("Fetch from {}", connection.address()),
                code: response.error_code,
                message: None,
            });
        }
        for p in response.responses.iter().flat_map(|t| &t.partitions) {
            let partition = p.partition_index;
            if p.error_code != 0 {
                return Err(ClientError::Protocol {
                    context: format!("Fetch of {topic}-{partition}"),
                    code: p.error_code,
                    message: None,
                });
            }
            let (Some(records), Some(&from)) = (&p.records, offsets.get(&partition)) else {
                continue;
            };
            let counted = count(records, from)
                .map_err(|why| ClientError::Invalid(format!("{topic}-{partition}: {why}")))?;
            offsets.insert(partition, counted.next_offset);
            if counted.records > 0 {
                let now = Instant::now();
                tally.last.set(now);
                tally.got.set(tally.got.get() + counted.records);
                tally
                    .progress
                    .records
                    .fetch_add(counted.records, Ordering::Relaxed);
                tally
                    .progress
                    .bytes
                    .fetch_add(counted.value_bytes, Ordering::Relaxed);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::perf::wire_producer::record_batch;

    #[test]
    fn a_session_names_every_partition_first_then_only_the_moved_ones() {
        let mut session = FetchSession::default();
        let mut offsets = BTreeMap::from([(0, 0), (1, 0), (2, 7)]);
        let first = session.next(&offsets);
        assert_eq!((first.session_id, first.epoch), (0, 0));
        assert_eq!(first.send, vec![(0, 0), (1, 0), (2, 7)]);
        assert!(!session.answered(0, 42));
        assert!(session.in_session());

        offsets.insert(1, 15);
        let second = session.next(&offsets);
        assert_eq!((second.session_id, second.epoch), (42, 1));
        assert_eq!(second.send, vec![(1, 15)]);
        assert!(!session.answered(0, 42));

        offsets.remove(&0);
        let third = session.next(&offsets);
        assert_eq!((third.epoch, third.send.len()), (2, 0));
        assert_eq!(third.forget, vec![0]);
        assert!(!session.answered(0, 42));
        assert!(session.next(&offsets).forget.is_empty(), "forgotten once");
        assert!(!session.answered(0, 42));

        // Dropped between two kept ones, with the last one moved.
        offsets.extend([(3, 0), (4, 0)]);
        session.next(&offsets);
        assert!(!session.answered(0, 42));
        offsets.remove(&3);
        offsets.insert(4, 9);
        let fifth = session.next(&offsets);
        assert_eq!(
            (fifth.send.clone(), fifth.forget.clone()),
            (vec![(4, 9)], vec![3])
        );
    }

    #[test]
    fn a_lost_session_or_none_means_full_fetches() {
        let mut session = FetchSession::default();
        let offsets = BTreeMap::from([(0, 3)]);
        session.next(&offsets);
        assert!(!session.answered(0, 0), "the broker kept no session");
        assert!(!session.in_session());
        let again = session.next(&offsets);
        assert_eq!((again.session_id, again.epoch, again.send.len()), (0, 0, 1));
        session.answered(0, 9);
        session.next(&offsets);
        assert!(session.answered(INVALID_SESSION_EPOCH, 0), "sent again");
        let reopen = session.next(&offsets);
        assert_eq!(
            (reopen.session_id, reopen.epoch),
            (9, 0),
            "closes 9, opens anew"
        );
        session.answered(0, 10);
        session.next(&offsets);
        assert!(session.answered(SESSION_NOT_FOUND, 0));
        let fresh = session.next(&offsets);
        assert_eq!((fresh.session_id, fresh.epoch, fresh.send.len()), (0, 0, 1));
    }

    fn with_base(mut batch: Vec<u8>, base: i64) -> Vec<u8> {
        batch[..8].copy_from_slice(&base.to_be_bytes());
        batch
    }

    #[test]
    fn batches_are_counted_from_the_fetch_offset_and_a_cut_batch_waits() {
        let value = vec![b'x'; 100];
        let a = with_base(record_batch(&value, 10, 1).unwrap().to_vec(), 0);
        let b = with_base(record_batch(&value, 5, 1).unwrap().to_vec(), 10);
        let mut data = [a.clone(), b.clone()].concat();
        let all = count(&data, 0).unwrap();
        assert_eq!(
            all,
            Counted {
                records: 15,
                value_bytes: 1500,
                next_offset: 15
            }
        );
        assert_eq!(count(&data, 4).unwrap().records, 11, "from inside a batch");
        let cut = count(&data[..a.len() + 30], 0).unwrap();
        assert_eq!((cut.records, cut.next_offset), (10, 10));
        let last = data.len() - 1;
        data[last] ^= 1;
        assert!(count(&data, 0).unwrap_err().contains("CRC"));
    }
}
