//! Committed offsets as records of the internal topic `__consumer_offsets`,
//! in Kafka's own layout (OffsetCommitKey v1, OffsetCommitValue v3), so the
//! log can be read by Kafka's tools and replayed at start-up.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

use super::offsets::CommittedOffset;

pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

const OFFSET_KEY_VERSION: i16 = 1;
const OFFSET_VALUE_VERSION: i16 = 3;

/// The `__consumer_offsets` partition that holds `group`: Kafka's
/// `abs(groupId.hashCode()) % partitions`, with Java's String.hashCode over
/// UTF-16 code units, so a group lands where Kafka would put it.
pub fn partition_for(group: &str, partitions: i32) -> i32 {
    let hash = group
        .encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)));
    // Kafka's Utils.abs maps i32::MIN to 0 rather than overflowing.
    let positive = if hash == i32::MIN { 0 } else { hash.abs() };
    positive % partitions.max(1)
}

pub(super) fn put_string(buf: &mut BytesMut, s: &str) {
    let bytes = s.as_bytes();
    buf.put_i16(bytes.len().min(i16::MAX as usize) as i16);
    buf.put_slice(&bytes[..bytes.len().min(i16::MAX as usize)]);
}

pub(super) fn get_string(buf: &mut Bytes) -> Option<String> {
    if buf.remaining() < 2 {
        return None;
    }
    let len = buf.get_i16();
    if len < 0 {
        return Some(String::new());
    }
    let len = len as usize;
    if buf.remaining() < len {
        return None;
    }
    String::from_utf8(buf.split_to(len).to_vec()).ok()
}

pub fn encode_key(group: &str, topic: &str, partition: i32) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(OFFSET_KEY_VERSION);
    put_string(&mut buf, group);
    put_string(&mut buf, topic);
    buf.put_i32(partition);
    buf.freeze()
}

pub fn encode_value(offset: &CommittedOffset) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(OFFSET_VALUE_VERSION);
    buf.put_i64(offset.offset);
    buf.put_i32(offset.leader_epoch);
    put_string(&mut buf, offset.metadata.as_deref().unwrap_or(""));
    buf.put_i64(offset.commit_timestamp_ms);
    buf.freeze()
}

/// (group, topic, partition) of an offset commit key; `None` for other record kinds.
pub fn decode_key(mut key: Bytes) -> Option<(String, String, i32)> {
    if key.remaining() < 2 {
        return None;
    }
    match key.get_i16() {
        0 | 1 => {
            let group = get_string(&mut key)?;
            let topic = get_string(&mut key)?;
            (key.remaining() >= 4).then(|| (group, topic, key.get_i32()))
        }
        _ => None,
    }
}

/// Reads every OffsetCommitValue version Kafka has written (0 to 3).
pub fn decode_value(mut value: Bytes) -> Option<CommittedOffset> {
    if value.remaining() < 2 {
        return None;
    }
    let version = value.get_i16();
    if value.remaining() < 8 {
        return None;
    }
    let offset = value.get_i64();
    let leader_epoch = if version >= 3 && value.remaining() >= 4 {
        value.get_i32()
    } else {
        -1
    };
    let metadata = get_string(&mut value)?;
    let commit_timestamp_ms = if value.remaining() >= 8 {
        value.get_i64()
    } else {
        -1
    };
    Some(CommittedOffset {
        offset,
        leader_epoch,
        metadata: Some(metadata),
        commit_timestamp_ms,
    })
}

const GROUP_KEY_VERSION: i16 = 2;
const GROUP_VALUE_VERSION: i16 = 3;

/// A classic group's state as Kafka's GroupMetadataValue v3 records it.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRecord {
    pub protocol_type: String,
    pub generation: i32,
    pub protocol: Option<String>,
    pub leader: Option<String>,
    pub members: Vec<MemberRecord>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MemberRecord {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub session_timeout_ms: i32,
    pub subscription: Bytes,
    pub assignment: Bytes,
}

fn put_nullable_string(buf: &mut BytesMut, s: Option<&str>) {
    match s {
        Some(s) => put_string(buf, s),
        None => buf.put_i16(-1),
    }
}

fn get_nullable_string(buf: &mut Bytes) -> Option<Option<String>> {
    if buf.remaining() < 2 {
        return None;
    }
    if i16::from_be_bytes([buf[0], buf[1]]) < 0 {
        buf.advance(2);
        return Some(None);
    }
    get_string(buf).map(Some)
}

fn put_bytes(buf: &mut BytesMut, b: &[u8]) {
    buf.put_i32(b.len() as i32);
    buf.put_slice(b);
}

fn get_bytes(buf: &mut Bytes) -> Option<Bytes> {
    if buf.remaining() < 4 {
        return None;
    }
    let len = usize::try_from(buf.get_i32()).ok()?;
    (buf.remaining() >= len).then(|| buf.split_to(len))
}

fn encode_group_key(group: &str) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(GROUP_KEY_VERSION);
    put_string(&mut buf, group);
    buf.freeze()
}

fn encode_group_value(g: &GroupRecord, now_ms: i64) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(GROUP_VALUE_VERSION);
    put_string(&mut buf, &g.protocol_type);
    buf.put_i32(g.generation);
    put_nullable_string(&mut buf, g.protocol.as_deref());
    put_nullable_string(&mut buf, g.leader.as_deref());
    buf.put_i64(now_ms);
    buf.put_i32(g.members.len() as i32);
    for m in &g.members {
        put_string(&mut buf, &m.member_id);
        put_nullable_string(&mut buf, m.instance_id.as_deref());
        put_string(&mut buf, &m.client_id);
        put_string(&mut buf, &m.client_host);
        buf.put_i32(m.rebalance_timeout_ms);
        buf.put_i32(m.session_timeout_ms);
        put_bytes(&mut buf, &m.subscription);
        put_bytes(&mut buf, &m.assignment);
    }
    buf.freeze()
}

/// Reads a GroupMetadataValue of version 3 (what Gregor writes); other versions are skipped.
fn decode_group_value(mut v: Bytes) -> Option<GroupRecord> {
    if v.remaining() < 2 || v.get_i16() != GROUP_VALUE_VERSION {
        return None;
    }
    let protocol_type = get_string(&mut v)?;
    if v.remaining() < 4 {
        return None;
    }
    let generation = v.get_i32();
    let protocol = get_nullable_string(&mut v)?;
    let leader = get_nullable_string(&mut v)?;
    if v.remaining() < 12 {
        return None;
    }
    v.advance(8);
    let count = usize::try_from(v.get_i32()).ok()?;
    let mut members = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        let member_id = get_string(&mut v)?;
        let instance_id = get_nullable_string(&mut v)?;
        let client_id = get_string(&mut v)?;
        let client_host = get_string(&mut v)?;
        if v.remaining() < 8 {
            return None;
        }
        let rebalance_timeout_ms = v.get_i32();
        let session_timeout_ms = v.get_i32();
        let subscription = get_bytes(&mut v)?;
        let assignment = get_bytes(&mut v)?;
        members.push(MemberRecord {
            member_id,
            instance_id,
            client_id,
            client_host,
            rebalance_timeout_ms,
            session_timeout_ms,
            subscription,
            assignment,
        });
    }
    Some(GroupRecord {
        protocol_type,
        generation,
        protocol,
        leader,
        members,
    })
}

/// One record holding `group`'s state, or a tombstone when `None`.
pub fn group_batch(
    group: &str,
    record: Option<&GroupRecord>,
    now_ms: i64,
) -> anyhow::Result<Bytes> {
    let value = record.map(|g| encode_group_value(g, now_ms));
    encode_records(vec![(encode_group_key(group), value)], now_ms)
}

/// One record batch holding a commit of each given offset.
pub fn commit_batch(
    group: &str,
    offsets: &[(String, i32, CommittedOffset)],
    now_ms: i64,
) -> anyhow::Result<Bytes> {
    let entries: Vec<(&str, i32, Option<Bytes>)> = offsets
        .iter()
        .map(|(t, p, o)| (t.as_str(), *p, Some(encode_value(o))))
        .collect();
    batch(group, &entries, now_ms)
}

/// One record batch of tombstones, which delete the given commits when replayed (and when compacted).
pub fn tombstone_batch(
    group: &str,
    partitions: &[(String, i32)],
    now_ms: i64,
) -> anyhow::Result<Bytes> {
    let entries: Vec<(&str, i32, Option<Bytes>)> = partitions
        .iter()
        .map(|(t, p)| (t.as_str(), *p, None))
        .collect();
    batch(group, &entries, now_ms)
}

fn batch(
    group: &str,
    entries: &[(&str, i32, Option<Bytes>)],
    now_ms: i64,
) -> anyhow::Result<Bytes> {
    encode_records(
        entries
            .iter()
            .map(|(topic, partition, value)| (encode_key(group, topic, *partition), value.clone()))
            .collect(),
        now_ms,
    )
}

/// Encodes (key, value-or-tombstone) pairs as one record batch.
pub(super) fn encode_records(
    entries: Vec<(Bytes, Option<Bytes>)>,
    now_ms: i64,
) -> anyhow::Result<Bytes> {
    let records: Vec<Record> = entries
        .into_iter()
        .enumerate()
        .map(|(i, (key, value))| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // The encoder keeps records in one batch only while offset - sequence is constant.
            sequence: i as i32,
            timestamp: now_ms,
            key: Some(key),
            value,
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )?;
    Ok(buf.freeze())
}

/// One replayed record of `__consumer_offsets`.
#[derive(Debug, Clone, PartialEq)]
pub enum Replayed {
    /// A commit of (group, topic, partition), or its tombstone.
    Offset(String, String, i32, Option<CommittedOffset>),
    /// A classic group's state, or its tombstone.
    Group(String, Option<GroupRecord>),
    /// One record of a consumer (KIP-848) group, or its tombstone: group, key, value.
    ConsumerGroup(String, Bytes, Option<Bytes>),
}

/// The group of a group metadata key.
fn decode_group_key(mut key: Bytes) -> Option<String> {
    (key.remaining() >= 2 && key.get_i16() == GROUP_KEY_VERSION)
        .then(|| get_string(&mut key))
        .flatten()
}

/// Every offset record in `batches`, in log order, and the offset after the last record read.
pub fn replay(mut batches: Bytes) -> (Vec<Replayed>, Option<i64>) {
    let mut out = Vec::new();
    let mut next = None;
    while batches.has_remaining() {
        let Ok(set) = RecordBatchDecoder::decode(&mut batches) else {
            tracing::warn!("undecodable batch in {OFFSETS_TOPIC}; skipping the rest of this read");
            break;
        };
        for r in set.records {
            next = Some(r.offset + 1);
            let Some(key) = r.key else { continue };
            if let Some((group, topic, partition)) = decode_key(key.clone()) {
                out.push(Replayed::Offset(
                    group,
                    topic,
                    partition,
                    r.value.and_then(decode_value),
                ));
            } else if let Some(group) = super::consumer_records::group_of(&key) {
                out.push(Replayed::ConsumerGroup(group, key, r.value));
            } else if let Some(group) = decode_group_key(key) {
                out.push(Replayed::Group(group, r.value.and_then(decode_group_value)));
            }
        }
    }
    (out, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_map_to_partitions_as_kafka_does() {
        // Java: Math.abs("my-group".hashCode()) % 50 == 12, "".hashCode() == 0.
        assert_eq!(partition_for("my-group", 50), 12);
        assert_eq!(partition_for("", 50), 0);
        assert!((0..50).contains(&partition_for("ÿ-ünïcode-group", 50)));
    }

    #[test]
    fn commits_round_trip_through_a_batch() {
        let offset = CommittedOffset {
            offset: 42,
            leader_epoch: 3,
            metadata: Some("meta".into()),
            commit_timestamp_ms: 1_700_000_000_000,
        };
        let batch = commit_batch(
            "g",
            &[
                ("t".into(), 1, offset.clone()),
                ("u".into(), 0, offset.clone()),
            ],
            5,
        )
        .unwrap();
        let (replayed, next) = replay(batch);
        assert_eq!(next, Some(2));
        assert_eq!(replayed.len(), 2);
        assert_eq!(
            replayed[0],
            Replayed::Offset("g".into(), "t".into(), 1, Some(offset.clone()))
        );
        assert!(matches!(&replayed[1], Replayed::Offset(_, t, _, _) if t == "u"));
        let (tombstones, _) = replay(tombstone_batch("g", &[("t".into(), 1)], 5).unwrap());
        assert_eq!(
            tombstones,
            vec![Replayed::Offset("g".into(), "t".into(), 1, None)]
        );
    }

    #[test]
    fn group_state_round_trips_and_is_deleted_by_a_tombstone() {
        let group = GroupRecord {
            protocol_type: "consumer".into(),
            generation: 7,
            protocol: Some("range".into()),
            leader: Some("m1".into()),
            members: vec![MemberRecord {
                member_id: "m1".into(),
                instance_id: Some("i1".into()),
                client_id: "c".into(),
                client_host: "/127.0.0.1".into(),
                rebalance_timeout_ms: 300_000,
                session_timeout_ms: 45_000,
                subscription: Bytes::from_static(b"sub"),
                assignment: Bytes::from_static(b"asg"),
            }],
        };
        let (records, _) = replay(group_batch("g", Some(&group), 5).unwrap());
        assert_eq!(records, vec![Replayed::Group("g".into(), Some(group))]);
        let (records, _) = replay(group_batch("g", None, 5).unwrap());
        assert_eq!(records, vec![Replayed::Group("g".into(), None)]);
    }
}
