//! The records of the internal topic `__consumer_offsets`, in Kafka's own
//! layouts so the log can be read by Kafka's tools: committed offsets
//! (OffsetCommitKey v1, OffsetCommitValue v3) here, a classic group's
//! GroupMetadata in `classic/records.rs`, a consumer group's records in
//! `consumer/records.rs`; and the replay of any of them at load.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::records::Record;

use super::classic::records::{
    decode_group_key, decode_group_value, GroupRecord, GROUP_KEY_VERSION,
};
use super::offsets::CommittedOffset;
pub use crate::coordinator_records::partition_for;
use crate::coordinator_records::{encode_records, get_string, put_string};
use crate::topic_partition::TopicPartition;

pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

const OFFSET_KEY_VERSION: i16 = 1;
const OFFSET_VALUE_VERSION: i16 = 3;

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

/// One record batch holding a commit of each given offset; with a
/// producer, the transactional batch of a TxnOffsetCommit.
pub fn commit_batch(
    group: &str,
    offsets: &[(TopicPartition, CommittedOffset)],
    producer: Option<(i64, i16)>,
    now_ms: i64,
) -> anyhow::Result<Bytes> {
    let entries: Vec<(&str, i32, Option<Bytes>)> = offsets
        .iter()
        .map(|(tp, o)| (tp.topic.as_str(), tp.partition, Some(encode_value(o))))
        .collect();
    batch(group, &entries, producer, now_ms)
}

/// One record batch of tombstones, which delete the given commits when replayed (and when compacted).
pub fn tombstone_batch(
    group: &str,
    partitions: &[TopicPartition],
    now_ms: i64,
) -> anyhow::Result<Bytes> {
    let entries: Vec<(&str, i32, Option<Bytes>)> = partitions
        .iter()
        .map(|tp| (tp.topic.as_str(), tp.partition, None))
        .collect();
    batch(group, &entries, None, now_ms)
}

fn batch(
    group: &str,
    entries: &[(&str, i32, Option<Bytes>)],
    producer: Option<(i64, i16)>,
    now_ms: i64,
) -> anyhow::Result<Bytes> {
    encode_records(
        entries
            .iter()
            .map(|(topic, partition, value)| (encode_key(group, topic, *partition), value.clone()))
            .collect(),
        producer,
        now_ms,
    )
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
    /// A commit made in a producer's transaction: it counts only once that
    /// producer's commit marker follows.
    TxnOffset(i64, String, String, i32, CommittedOffset),
    /// The end of a producer's transaction: producer id, committed.
    TxnMarker(i64, bool),
}

/// What one record of `__consumer_offsets` says; `None` for records of a
/// kind Gregor does not keep (an unknown key version, as Kafka skips the
/// leftovers of an aborted upgrade, or a control record other than a
/// transaction marker). `Err` for a record of a known kind that does not
/// decode: the group it belongs to cannot be known as it is.
pub fn replay(r: Record) -> Result<Option<Replayed>, String> {
    let Some(key) = r.key else {
        return Err("a record without a key".to_string());
    };
    if r.control {
        return Ok(crate::log::control_record_kind(&key)
            .map(|commit| Replayed::TxnMarker(r.producer_id, commit)));
    }
    let Some(version) = key.get(..2).map(|v| i16::from_be_bytes([v[0], v[1]])) else {
        return Err("a key shorter than its version".to_string());
    };
    let unreadable = |what: &str| format!("{what} (key version {version}) does not decode");
    match version {
        0 | 1 => {
            let (group, topic, partition) =
                decode_key(key).ok_or_else(|| unreadable("an offset commit key"))?;
            let value = match r.value {
                Some(v) => {
                    Some(decode_value(v).ok_or_else(|| unreadable("an offset commit value"))?)
                }
                None => None,
            };
            Ok(Some(match (r.transactional, value) {
                (true, Some(offset)) => {
                    Replayed::TxnOffset(r.producer_id, group, topic, partition, offset)
                }
                // A transaction commits offsets; Gregor writes no
                // transactional tombstones.
                (true, None) => return Ok(None),
                (false, value) => Replayed::Offset(group, topic, partition, value),
            }))
        }
        GROUP_KEY_VERSION => {
            let group = decode_group_key(key).ok_or_else(|| unreadable("a group metadata key"))?;
            let value = match r.value {
                Some(v) => Some(
                    decode_group_value(v).ok_or_else(|| unreadable("a group metadata value"))?,
                ),
                None => None,
            };
            Ok(Some(Replayed::Group(group, value)))
        }
        v if super::consumer::records::is_key_version(v) => {
            let group = super::consumer::records::group_of(&key)
                .ok_or_else(|| unreadable("a consumer group key"))?;
            Ok(Some(Replayed::ConsumerGroup(group, key, r.value)))
        }
        _ => Ok(None),
    }
}

/// A record of `__consumer_offsets` as Kafka's `--offsets-decoder` prints
/// it: the key as `{"type": key version, "data": ...}`, the value as
/// `{"version": value version, "data": ...}` or `<DELETE>` for a tombstone.
/// `Ok(None)` for a record `replay` does not know.
pub fn describe_record(
    r: Record,
) -> Result<Option<(serde_json::Value, serde_json::Value)>, String> {
    use serde_json::json;
    let key_version = r
        .key
        .as_deref()
        .and_then(|k| k.get(..2))
        .map_or(-1, |v| i16::from_be_bytes([v[0], v[1]]));
    let value_version = r
        .value
        .as_deref()
        .and_then(|v| v.get(..2))
        .map(|v| i16::from_be_bytes([v[0], v[1]]));
    let key = |data: serde_json::Value| json!({"type": key_version.to_string(), "data": data});
    let value = |data: Option<serde_json::Value>| match (data, value_version) {
        (Some(data), Some(version)) => json!({"version": version.to_string(), "data": data}),
        _ => json!("<DELETE>"),
    };
    let offset = |o: &CommittedOffset| {
        json!({
            "offset": o.offset,
            "leaderEpoch": o.leader_epoch,
            "metadata": o.metadata.clone().unwrap_or_default(),
            "commitTimestamp": o.commit_timestamp_ms,
        })
    };
    Ok(match replay(r)? {
        Some(Replayed::Offset(group, topic, partition, committed)) => Some((
            key(json!({"group": group, "topic": topic, "partition": partition})),
            value(committed.as_ref().map(offset)),
        )),
        Some(Replayed::TxnOffset(_, group, topic, partition, committed)) => Some((
            key(json!({"group": group, "topic": topic, "partition": partition})),
            value(Some(offset(&committed))),
        )),
        Some(Replayed::Group(group, record)) => Some((
            key(json!({"group": group})),
            value(record.map(|g| {
                json!({
                    "protocolType": g.protocol_type,
                    "generation": g.generation,
                    "protocol": g.protocol,
                    "leader": g.leader,
                    "members": g.members.iter().map(|m| json!({
                        "memberId": m.member_id,
                        "groupInstanceId": m.instance_id,
                        "clientId": m.client_id,
                        "clientHost": m.client_host,
                        "rebalanceTimeout": m.rebalance_timeout_ms,
                        "sessionTimeout": m.session_timeout_ms,
                        "subscription": m.subscription.len(),
                        "assignment": m.assignment.len(),
                    })).collect::<Vec<_>>(),
                })
            })),
        )),
        Some(Replayed::ConsumerGroup(group, _, v)) => Some((
            key(json!({"group": group})),
            value(v.map(|v| json!({"size": v.len()}))),
        )),
        Some(Replayed::TxnMarker(..)) | None => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::classic::records::{group_batch, MemberRecord};
    use kafka_protocol::records::RecordBatchDecoder;

    /// What replaying every record of `batches` says, in order.
    fn replay_batches(mut batches: Bytes) -> Result<Vec<Replayed>, String> {
        let mut out = Vec::new();
        while batches.has_remaining() {
            for r in RecordBatchDecoder::decode(&mut batches).unwrap().records {
                out.extend(replay(r)?);
            }
        }
        Ok(out)
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
                (TopicPartition::new("t", 1), offset.clone()),
                (TopicPartition::new("u", 0), offset.clone()),
            ],
            None,
            5,
        )
        .unwrap();
        let replayed = replay_batches(batch).unwrap();
        assert_eq!(replayed.len(), 2);
        assert_eq!(
            replayed[0],
            Replayed::Offset("g".into(), "t".into(), 1, Some(offset.clone()))
        );
        assert!(matches!(&replayed[1], Replayed::Offset(_, t, _, _) if t == "u"));
        let tombstones =
            replay_batches(tombstone_batch("g", &[TopicPartition::new("t", 1)], 5).unwrap())
                .unwrap();
        assert_eq!(
            tombstones,
            vec![Replayed::Offset("g".into(), "t".into(), 1, None)]
        );
    }

    #[test]
    fn transactional_commits_and_markers_replay_as_such() {
        let offset = CommittedOffset {
            offset: 9,
            leader_epoch: -1,
            metadata: None,
            commit_timestamp_ms: 0,
        };
        let mut log = bytes::BytesMut::new();
        log.extend_from_slice(
            &commit_batch(
                "g",
                &[(TopicPartition::new("t", 0), offset.clone())],
                Some((77, 2)),
                5,
            )
            .unwrap(),
        );
        log.extend_from_slice(&crate::log::marker_batch(77, 2, true, 0, 5).unwrap());
        let replayed = replay_batches(log.freeze()).unwrap();
        let stored = CommittedOffset {
            metadata: Some(String::new()),
            ..offset
        };
        assert_eq!(
            replayed,
            vec![
                Replayed::TxnOffset(77, "g".into(), "t".into(), 0, stored),
                Replayed::TxnMarker(77, true),
            ]
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
        let records = replay_batches(group_batch("g", Some(&group), 5).unwrap()).unwrap();
        assert_eq!(records, vec![Replayed::Group("g".into(), Some(group))]);
        let records = replay_batches(group_batch("g", None, 5).unwrap()).unwrap();
        assert_eq!(records, vec![Replayed::Group("g".into(), None)]);
    }

    #[test]
    fn an_undecodable_commit_is_an_error_not_a_tombstone() {
        let key = encode_key("g", "t", 0);
        let value = Bytes::from_static(&[0, 3, 0, 0]);
        let batch = encode_records(vec![(key, Some(value))], None, 5).unwrap();
        let refused = replay_batches(batch).unwrap_err();
        assert!(refused.contains("offset commit value"), "{refused}");
        let unknown = encode_records(
            vec![(Bytes::from_static(&[0, 99, 1, 2]), Some(Bytes::new()))],
            None,
            5,
        )
        .unwrap();
        assert_eq!(
            replay_batches(unknown),
            Ok(vec![]),
            "unknown kinds are skipped"
        );
    }
}
