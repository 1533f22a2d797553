//! A share consumer (KIP-932) over the tools' own connection, as Kafka
//! 4.1's KafkaShareConsumer speaks it (librdkafka 2.12 has none): the
//! member joins and stays with ShareGroupHeartbeat at the group's
//! coordinator, fetches from each assigned partition's leader in a share
//! session (ShareFetch, epochs 0, 1, 2 ...), acknowledges the records it
//! was given by piggybacking the acknowledgements on its next ShareFetch,
//! and on close sends what is left with ShareAcknowledge at epoch -1,
//! which also ends the session. Acknowledgement is explicit: a record is
//! acknowledged once the caller says what became of it.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    share_acknowledge_request, share_fetch_request, FindCoordinatorRequest, GroupId,
    MetadataRequest, ShareAcknowledgeRequest, ShareFetchRequest, ShareGroupHeartbeatRequest,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{RecordBatchDecoder, TimestampType};
use uuid::Uuid;

use super::config::ClientSettings;
use super::error::{ClientError, Result};
use super::format::ConsumedRecord;
use super::wire::Connection;

/// What becomes of a delivered record (KIP-932's AcknowledgeType).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acknowledge {
    /// No record at the offset (a transaction marker, a compacted record).
    Gap,
    /// Processed: never delivered again.
    Accept,
    /// Given back: delivered again, to this or another member.
    Release,
    /// Unprocessable: never delivered again, and not counted as processed.
    Reject,
}

impl Acknowledge {
    fn wire(self) -> i8 {
        match self {
            Acknowledge::Gap => 0,
            Acknowledge::Accept => 1,
            Acknowledge::Release => 2,
            Acknowledge::Reject => 3,
        }
    }
}

/// Kafka's share consumer defaults: fetch.max.bytes,
/// max.partition.fetch.bytes, max.poll.records.
const MAX_BYTES: i32 = 52_428_800;
const PARTITION_MAX_BYTES: i32 = 1_048_576;
const MAX_RECORDS: i32 = 500;
/// How long one ShareFetch may wait at the leader for records.
const MAX_WAIT: Duration = Duration::from_millis(500);
/// Kafka's retry.backoff.ms: the pause after a failed request, so that a
/// broker that is down is not asked in a busy loop.
const RETRY_BACKOFF: Duration = Duration::from_millis(100);

/// A share session with one partition leader.
struct Session {
    connection: Connection,
    /// The epoch the next request carries: 0 opens the session.
    epoch: i32,
    /// The partitions the leader's session holds.
    partitions: BTreeSet<(Uuid, i32)>,
}

/// A member of a share group.
pub struct ShareConsumer {
    runtime: tokio::runtime::Runtime,
    settings: ClientSettings,
    group: String,
    topics: Vec<String>,
    member_id: String,
    member_epoch: i32,
    coordinator: Option<Connection>,
    heartbeat_interval: Duration,
    next_heartbeat: Instant,
    assignment: BTreeSet<(Uuid, i32)>,
    names: HashMap<Uuid, String>,
    ids: HashMap<String, Uuid>,
    /// Leader address of each assigned partition.
    leaders: HashMap<(Uuid, i32), String>,
    sessions: HashMap<String, Session>,
    /// Acknowledgements not yet sent, by partition and offset.
    pending: BTreeMap<(Uuid, i32), BTreeMap<i64, Acknowledge>>,
    delivered: VecDeque<ConsumedRecord>,
    /// No request before this, after one failed.
    retry_at: Instant,
}

fn protocol_error(context: String, code: i16, message: Option<StrBytes>) -> Result<()> {
    if code == 0 {
        return Ok(());
    }
    Err(ClientError::Protocol {
        context,
        code,
        message: message.map(|m| m.to_string()),
    })
}

/// Consecutive offsets with one type go in one batch, as Kafka's client
/// sends them.
fn batches(acks: &BTreeMap<i64, Acknowledge>) -> Vec<(i64, i64, i8)> {
    let mut out: Vec<(i64, i64, i8)> = Vec::new();
    for (&offset, ack) in acks {
        match out.last_mut() {
            Some((_, last, t)) if *last + 1 == offset && *t == ack.wire() => *last = offset,
            _ => out.push((offset, offset, ack.wire())),
        }
    }
    out
}

impl ShareConsumer {
    /// Joins share group `group` reading `topics`; records come once the
    /// group's coordinator has assigned partitions.
    pub fn join(
        settings: &ClientSettings,
        group: &str,
        topics: &[String],
    ) -> Result<ShareConsumer> {
        if group.is_empty() {
            return Err(ClientError::Invalid(
                "the share group's name is empty".into(),
            ));
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ClientError::Invalid(format!("cannot start the share consumer: {e}")))?;
        let mut consumer = ShareConsumer {
            runtime,
            settings: settings.clone(),
            group: group.to_string(),
            topics: topics.to_vec(),
            // As Kafka 4.1's share consumer: the member names itself.
            member_id: Uuid::new_v4().to_string(),
            member_epoch: 0,
            coordinator: None,
            heartbeat_interval: Duration::from_secs(5),
            next_heartbeat: Instant::now(),
            assignment: BTreeSet::new(),
            names: HashMap::new(),
            ids: HashMap::new(),
            leaders: HashMap::new(),
            sessions: HashMap::new(),
            pending: BTreeMap::new(),
            delivered: VecDeque::new(),
            retry_at: Instant::now(),
        };
        consumer.heartbeat()?;
        Ok(consumer)
    }

    /// The next delivered record, waiting up to about `timeout` for one;
    /// `None` when none came.
    pub fn poll(&mut self, timeout: Duration) -> Option<Result<ConsumedRecord>> {
        if let Some(record) = self.delivered.pop_front() {
            return Some(Ok(record));
        }
        let backoff = self.retry_at.saturating_duration_since(Instant::now());
        if !backoff.is_zero() {
            std::thread::sleep(timeout.min(backoff));
            return None;
        }
        match self.exchange(timeout) {
            Ok(()) => self.delivered.pop_front().map(Ok),
            Err(e) => {
                self.retry_at = Instant::now() + RETRY_BACKOFF;
                Some(Err(e))
            }
        }
    }

    /// A heartbeat when one is due, then a fetch once partitions are
    /// assigned.
    fn exchange(&mut self, timeout: Duration) -> Result<()> {
        if Instant::now() >= self.next_heartbeat {
            self.heartbeat()?;
        }
        if self.assignment.is_empty() {
            std::thread::sleep(
                timeout.min(
                    self.next_heartbeat
                        .saturating_duration_since(Instant::now()),
                ),
            );
            return Ok(());
        }
        self.fetch(timeout.min(MAX_WAIT))
    }

    /// Says what became of a delivered record; sent with the next fetch,
    /// or on close.
    pub fn acknowledge(&mut self, record: &ConsumedRecord, ack: Acknowledge) -> Result<()> {
        let id = *self.ids.get(&record.topic).ok_or_else(|| {
            ClientError::Invalid(format!(
                "{}-{} at offset {} was not delivered by this consumer",
                record.topic, record.partition, record.offset
            ))
        })?;
        self.pending
            .entry((id, record.partition))
            .or_default()
            .insert(record.offset, ack);
        Ok(())
    }

    /// Leaves the group: records delivered but not acknowledged are
    /// released, the acknowledgements go with ShareAcknowledge at epoch
    /// -1 (closing each share session), and the member leaves with a
    /// heartbeat at epoch -1.
    pub fn close(mut self) -> Result<()> {
        let unacknowledged: Vec<ConsumedRecord> = self.delivered.drain(..).collect();
        for record in &unacknowledged {
            self.acknowledge(record, Acknowledge::Release)?;
        }
        let addresses: Vec<String> = self.sessions.keys().cloned().collect();
        let mut outcome = Ok(());
        for address in addresses {
            if let Err(e) = self.close_session(&address) {
                outcome = outcome.and(Err(e));
            }
        }
        let leave = ShareGroupHeartbeatRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(self.group.clone())))
            .with_member_id(StrBytes::from_string(self.member_id.clone()))
            .with_member_epoch(-1);
        if let Some(mut coordinator) = self.coordinator.take() {
            let left = self.runtime.block_on(coordinator.call(&leave, 1));
            outcome = outcome.and(left.map(|_| ()));
        }
        outcome
    }

    fn close_session(&mut self, address: &str) -> Result<()> {
        let Some(mut session) = self.sessions.remove(address) else {
            return Ok(());
        };
        // A session that never opened has nothing to close.
        if session.epoch == 0 {
            return Ok(());
        }
        let topics = self.acknowledgements_for(&session.partitions, |p, batches| {
            share_acknowledge_request::AcknowledgePartition::default()
                .with_partition_index(p)
                .with_acknowledgement_batches(
                    batches
                        .into_iter()
                        .map(|(first, last, t)| {
                            share_acknowledge_request::AcknowledgementBatch::default()
                                .with_first_offset(first)
                                .with_last_offset(last)
                                .with_acknowledge_types(vec![t])
                        })
                        .collect(),
                )
        });
        let request = ShareAcknowledgeRequest::default()
            .with_group_id(Some(GroupId(StrBytes::from_string(self.group.clone()))))
            .with_member_id(Some(StrBytes::from_string(self.member_id.clone())))
            .with_share_session_epoch(-1)
            .with_topics(
                topics
                    .into_iter()
                    .map(|(id, partitions)| {
                        share_acknowledge_request::AcknowledgeTopic::default()
                            .with_topic_id(id)
                            .with_partitions(partitions)
                    })
                    .collect(),
            );
        let response = self
            .runtime
            .block_on(session.connection.call(&request, 1))?;
        let context = format!("cannot acknowledge records of share group '{}'", self.group);
        protocol_error(context.clone(), response.error_code, response.error_message)?;
        for t in &response.responses {
            for p in &t.partitions {
                protocol_error(
                    format!("{context} in partition {}", p.partition_index),
                    p.error_code,
                    p.error_message.clone(),
                )?;
            }
        }
        Ok(())
    }

    /// The pending acknowledgements of `partitions`, taken out, by topic.
    fn acknowledgements_for<P>(
        &mut self,
        partitions: &BTreeSet<(Uuid, i32)>,
        make: impl Fn(i32, Vec<(i64, i64, i8)>) -> P,
    ) -> BTreeMap<Uuid, Vec<P>> {
        let mut out: BTreeMap<Uuid, Vec<P>> = BTreeMap::new();
        for &(id, p) in partitions {
            if let Some(acks) = self.pending.remove(&(id, p)) {
                out.entry(id).or_default().push(make(p, batches(&acks)));
            }
        }
        out
    }

    fn group_id(&self) -> GroupId {
        GroupId(StrBytes::from_string(self.group.clone()))
    }

    /// The group's coordinator, found with FindCoordinator.
    async fn find_coordinator(settings: &ClientSettings, group: &str) -> Result<Connection> {
        let mut bootstrap = Connection::to_bootstrap(settings).await?;
        let version = bootstrap.version::<FindCoordinatorRequest>(0)?;
        let key = StrBytes::from_string(group.to_string());
        // Share groups are found as any group (key type 0).
        let request = if version >= 4 {
            FindCoordinatorRequest::default().with_coordinator_keys(vec![key])
        } else {
            FindCoordinatorRequest::default().with_key(key)
        };
        let response = bootstrap.call(&request, 0).await?;
        let context = format!("cannot find the coordinator of share group '{group}'");
        let (host, port) = if version >= 4 {
            let c = response
                .coordinators
                .into_iter()
                .next()
                .ok_or_else(|| ClientError::Invalid(format!("{context}: no answer for it")))?;
            protocol_error(context, c.error_code, c.error_message)?;
            (c.host, c.port)
        } else {
            protocol_error(context, response.error_code, response.error_message)?;
            (response.host, response.port)
        };
        let address = format!("{}:{port}", host.as_str());
        if address == bootstrap.address() {
            return Ok(bootstrap);
        }
        Connection::to_address(settings, &address).await
    }

    /// One ShareGroupHeartbeat: joins at epoch 0, then keeps the member in
    /// the group and takes the assignment it names. A member the group
    /// fenced or forgot joins again.
    fn heartbeat(&mut self) -> Result<()> {
        if self.coordinator.is_none() {
            let found = self
                .runtime
                .block_on(Self::find_coordinator(&self.settings, &self.group))?;
            self.coordinator = Some(found);
        }
        let subscribed = (self.member_epoch == 0).then(|| {
            self.topics
                .iter()
                .map(|t| TopicName(StrBytes::from_string(t.clone())))
                .collect()
        });
        let request = ShareGroupHeartbeatRequest::default()
            .with_group_id(self.group_id())
            .with_member_id(StrBytes::from_string(self.member_id.clone()))
            .with_member_epoch(self.member_epoch)
            .with_subscribed_topic_names(subscribed);
        let coordinator = self.coordinator.as_mut().expect("found just above");
        let response = match self.runtime.block_on(coordinator.call(&request, 1)) {
            Ok(r) => r,
            Err(e) => {
                self.coordinator = None;
                return Err(e);
            }
        };
        let code = response.error_code;
        if code == ResponseError::UnknownMemberId.code()
            || code == ResponseError::FencedMemberEpoch.code()
        {
            self.member_epoch = 0;
            self.next_heartbeat = Instant::now();
            return Ok(());
        }
        if code == ResponseError::NotCoordinator.code()
            || code == ResponseError::CoordinatorNotAvailable.code()
        {
            self.coordinator = None;
        }
        protocol_error(
            format!("cannot stay in share group '{}'", self.group),
            code,
            response.error_message,
        )?;
        self.member_epoch = response.member_epoch;
        self.heartbeat_interval =
            Duration::from_millis(u64::try_from(response.heartbeat_interval_ms).unwrap_or(5000));
        self.next_heartbeat = Instant::now() + self.heartbeat_interval;
        if let Some(assignment) = response.assignment {
            let assigned: BTreeSet<(Uuid, i32)> = assignment
                .topic_partitions
                .iter()
                .flat_map(|t| t.partitions.iter().map(move |p| (t.topic_id, *p)))
                .collect();
            if assigned != self.assignment {
                self.assignment = assigned;
                self.locate()?;
            }
        }
        Ok(())
    }

    /// The assigned topics' names and each assigned partition's leader.
    fn locate(&mut self) -> Result<()> {
        let request = MetadataRequest::default()
            .with_allow_auto_topic_creation(false)
            .with_topics(Some(
                self.topics
                    .iter()
                    .map(|t| {
                        MetadataRequestTopic::default()
                            .with_name(Some(TopicName(StrBytes::from_string(t.clone()))))
                    })
                    .collect(),
            ));
        let settings = self.settings.clone();
        let metadata = self.runtime.block_on(async move {
            Connection::to_bootstrap(&settings)
                .await?
                .call(&request, 10)
                .await
        })?;
        let brokers: HashMap<i32, String> = metadata
            .brokers
            .iter()
            .map(|b| (b.node_id.0, format!("{}:{}", b.host.as_str(), b.port)))
            .collect();
        self.leaders.clear();
        for t in &metadata.topics {
            let Some(name) = &t.name else { continue };
            self.names.insert(t.topic_id, name.0.to_string());
            self.ids.insert(name.0.to_string(), t.topic_id);
            for p in &t.partitions {
                if let Some(address) = brokers.get(&p.leader_id.0) {
                    self.leaders
                        .insert((t.topic_id, p.partition_index), address.clone());
                }
            }
        }
        Ok(())
    }

    /// One ShareFetch to each leader of assigned partitions, carrying the
    /// pending acknowledgements of its partitions; the records acquired
    /// join `delivered`.
    fn fetch(&mut self, wait: Duration) -> Result<()> {
        let mut by_leader: BTreeMap<String, BTreeSet<(Uuid, i32)>> = BTreeMap::new();
        for tp in &self.assignment {
            if let Some(address) = self.leaders.get(tp) {
                by_leader.entry(address.clone()).or_default().insert(*tp);
            }
        }
        // A leader no longer holding any assigned partition: its session
        // closes, with what is owed to it.
        let gone: Vec<String> = self
            .sessions
            .keys()
            .filter(|a| !by_leader.contains_key(*a))
            .cloned()
            .collect();
        for address in gone {
            self.close_session(&address)?;
        }
        for (address, partitions) in by_leader {
            if let Err(e) = self.fetch_from(&address, &partitions, wait) {
                // The session is lost with its connection; the records it
                // held come back to the group when their locks run out.
                self.sessions.remove(&address);
                if e.is_transient() {
                    self.locate()?;
                }
                return Err(e);
            }
        }
        Ok(())
    }

    fn fetch_from(
        &mut self,
        address: &str,
        partitions: &BTreeSet<(Uuid, i32)>,
        wait: Duration,
    ) -> Result<()> {
        if !self.sessions.contains_key(address) {
            let connection = self
                .runtime
                .block_on(Connection::to_address(&self.settings, address))?;
            self.sessions.insert(
                address.to_string(),
                Session {
                    connection,
                    epoch: 0,
                    partitions: BTreeSet::new(),
                },
            );
        }
        let (epoch, held) = {
            let s = &self.sessions[address];
            (s.epoch, s.partitions.clone())
        };
        // Acknowledgements cannot open a session: they wait for the next.
        let mut acks = if epoch == 0 {
            BTreeMap::new()
        } else {
            self.acknowledgements_for(&held, |p, batches| (p, batches))
        };
        let mut topics: BTreeMap<Uuid, Vec<share_fetch_request::FetchPartition>> = BTreeMap::new();
        for &(id, p) in partitions {
            let batches = acks
                .get_mut(&id)
                .and_then(|ps| ps.iter().position(|(q, _)| *q == p).map(|i| ps.remove(i).1));
            if held.contains(&(id, p)) && batches.is_none() {
                continue;
            }
            topics.entry(id).or_default().push(
                fetch_partition(p, batches.unwrap_or_default())
                    .with_partition_max_bytes(PARTITION_MAX_BYTES),
            );
        }
        // Acknowledgements of partitions no longer assigned still go.
        for (id, rest) in acks {
            for (p, batches) in rest {
                topics
                    .entry(id)
                    .or_default()
                    .push(fetch_partition(p, batches));
            }
        }
        let forgotten: BTreeMap<Uuid, Vec<i32>> =
            held.difference(partitions)
                .fold(BTreeMap::new(), |mut m, &(id, p)| {
                    m.entry(id).or_insert_with(Vec::new).push(p);
                    m
                });
        let request = ShareFetchRequest::default()
            .with_group_id(Some(self.group_id()))
            .with_member_id(Some(StrBytes::from_string(self.member_id.clone())))
            .with_share_session_epoch(epoch)
            .with_max_wait_ms(i32::try_from(wait.as_millis()).unwrap_or(500))
            .with_min_bytes(1)
            .with_max_bytes(MAX_BYTES)
            .with_max_records(MAX_RECORDS)
            .with_batch_size(MAX_RECORDS)
            .with_topics(
                topics
                    .into_iter()
                    .map(|(id, partitions)| {
                        share_fetch_request::FetchTopic::default()
                            .with_topic_id(id)
                            .with_partitions(partitions)
                    })
                    .collect(),
            )
            .with_forgotten_topics_data(
                forgotten
                    .into_iter()
                    .map(|(id, partitions)| {
                        share_fetch_request::ForgottenTopic::default()
                            .with_topic_id(id)
                            .with_partitions(partitions)
                    })
                    .collect(),
            );
        let session = self.sessions.get_mut(address).expect("opened above");
        let response = self
            .runtime
            .block_on(session.connection.call(&request, 1))?;
        let context = format!("cannot fetch for share group '{}'", self.group);
        // The leader lost the session (it restarted, or evicted it): the
        // next fetch opens another. The acknowledgements it carried are
        // moot, since the records' acquisitions went with the session.
        if response.error_code == ResponseError::ShareSessionNotFound.code()
            || response.error_code == ResponseError::InvalidShareSessionEpoch.code()
        {
            self.sessions.remove(address);
            return Ok(());
        }
        protocol_error(context.clone(), response.error_code, response.error_message)?;
        session.epoch = if session.epoch == i32::MAX {
            1
        } else {
            session.epoch + 1
        };
        session.partitions = partitions.clone();
        for t in response.responses {
            let topic = self.names.get(&t.topic_id).cloned().unwrap_or_default();
            for p in t.partitions {
                protocol_error(
                    format!("{context} from {topic}-{}", p.partition_index),
                    p.error_code,
                    p.error_message,
                )?;
                // A refused acknowledgement (the records' locks ran out,
                // INVALID_RECORD_STATE) is not the fetch's failure: the
                // broker delivers those records again.
                if p.acquired_records.is_empty() {
                    continue;
                }
                let acquired: Vec<(i64, i64)> = p
                    .acquired_records
                    .iter()
                    .map(|a| (a.first_offset, a.last_offset))
                    .collect();
                let (records, gaps) = deliveries(
                    &topic,
                    p.partition_index,
                    p.records.unwrap_or_default(),
                    &acquired,
                );
                let pending = self
                    .pending
                    .entry((t.topic_id, p.partition_index))
                    .or_default();
                for (offset, ack) in gaps {
                    pending.insert(offset, ack);
                }
                self.delivered.extend(records);
            }
        }
        Ok(())
    }
}

/// A ShareFetch partition carrying `batches` of acknowledgements.
fn fetch_partition(
    partition: i32,
    batches: Vec<(i64, i64, i8)>,
) -> share_fetch_request::FetchPartition {
    share_fetch_request::FetchPartition::default()
        .with_partition_index(partition)
        .with_acknowledgement_batches(
            batches
                .into_iter()
                .map(|(first, last, t)| {
                    share_fetch_request::AcknowledgementBatch::default()
                        .with_first_offset(first)
                        .with_last_offset(last)
                        .with_acknowledge_types(vec![t])
                })
                .collect(),
        )
}

/// The records of `bytes` in the `acquired` offset ranges, and what is
/// owed for acquired offsets that hold none: GAP below the last record
/// read (a marker or a compacted record), RELEASE past it (beyond what
/// the response carried).
fn deliveries(
    topic: &str,
    partition: i32,
    mut bytes: Bytes,
    acquired: &[(i64, i64)],
) -> (Vec<ConsumedRecord>, Vec<(i64, Acknowledge)>) {
    let wanted = |o: i64| acquired.iter().any(|&(f, l)| (f..=l).contains(&o));
    let mut records = Vec::new();
    let mut seen = BTreeSet::new();
    let mut last_read = -1;
    while !bytes.is_empty() {
        let Ok(set) = RecordBatchDecoder::decode(&mut bytes) else {
            break;
        };
        for r in set.records {
            last_read = last_read.max(r.offset);
            if r.control || !wanted(r.offset) {
                continue;
            }
            seen.insert(r.offset);
            records.push(ConsumedRecord {
                topic: topic.to_string(),
                partition,
                offset: r.offset,
                timestamp: Some((
                    match r.timestamp_type {
                        TimestampType::Creation => "CreateTime",
                        TimestampType::LogAppend => "LogAppendTime",
                    },
                    r.timestamp,
                )),
                key: r.key.map(|k| k.to_vec()),
                value: r.value.map(|v| v.to_vec()),
                headers: r
                    .headers
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.map(|v| v.to_vec())))
                    .collect(),
            });
        }
    }
    let mut owed = Vec::new();
    for &(first, last) in acquired {
        for offset in first..=last {
            if !seen.contains(&offset) {
                let ack = if offset <= last_read {
                    Acknowledge::Gap
                } else {
                    Acknowledge::Release
                };
                owed.push((offset, ack));
            }
        }
    }
    (records, owed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_offsets_of_one_type_share_a_batch() {
        let acks = BTreeMap::from([
            (3, Acknowledge::Accept),
            (4, Acknowledge::Accept),
            (5, Acknowledge::Reject),
            (7, Acknowledge::Reject),
        ]);
        assert_eq!(batches(&acks), [(3, 4, 1), (5, 5, 3), (7, 7, 3)]);
    }

    #[test]
    fn acquired_offsets_without_records_are_owed() {
        let (records, owed) = deliveries("t", 0, Bytes::new(), &[(0, 1)]);
        assert!(records.is_empty());
        assert_eq!(owed, [(0, Acknowledge::Release), (1, Acknowledge::Release)]);
    }
}
