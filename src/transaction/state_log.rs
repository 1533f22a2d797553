//! Transactional ids' state as records of the internal compacted topic
//! `__transaction_state`, in Kafka's layout (TransactionLogKey v0,
//! TransactionLogValue v0), replayed into the coordinator at start-up.

use std::collections::BTreeSet;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::records::Record;

use super::metadata::{TransactionMetadata, TxnState};
use crate::coordinator_records::{encode_records, get_string, put_string};
use crate::topic_partition::TopicPartition;

pub const TRANSACTION_STATE_TOPIC: &str = "__transaction_state";

const KEY_VERSION: i16 = 0;
const VALUE_VERSION: i16 = 0;

fn encode_key(transactional_id: &str) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(KEY_VERSION);
    put_string(&mut buf, transactional_id);
    buf.freeze()
}

fn decode_key(mut key: Bytes) -> Option<String> {
    (key.remaining() >= 2 && key.get_i16() == KEY_VERSION)
        .then(|| get_string(&mut key))
        .flatten()
}

fn encode_value(m: &TransactionMetadata) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(VALUE_VERSION);
    buf.put_i64(m.producer_id);
    buf.put_i16(m.producer_epoch);
    buf.put_i32(m.timeout_ms);
    buf.put_i8(m.state.code());
    let mut topics: Vec<(&str, Vec<i32>)> = Vec::new();
    for tp in &m.partitions {
        match topics.last_mut() {
            Some((t, ps)) if *t == tp.topic.as_str() => ps.push(tp.partition),
            _ => topics.push((tp.topic.as_str(), vec![tp.partition])),
        }
    }
    buf.put_i32(topics.len() as i32);
    for (topic, partitions) in topics {
        put_string(&mut buf, topic);
        buf.put_i32(partitions.len() as i32);
        for p in partitions {
            buf.put_i32(p);
        }
    }
    buf.put_i64(m.last_update_ms);
    buf.put_i64(m.start_ms);
    buf.freeze()
}

fn decode_value(mut v: Bytes) -> Option<TransactionMetadata> {
    if v.remaining() < 2 + 8 + 2 + 4 + 1 + 4 || v.get_i16() != VALUE_VERSION {
        return None;
    }
    let producer_id = v.get_i64();
    let producer_epoch = v.get_i16();
    let timeout_ms = v.get_i32();
    let state = TxnState::from_code(v.get_i8())?;
    let mut partitions = BTreeSet::new();
    let topics = v.get_i32();
    for _ in 0..topics.max(0) {
        let topic = get_string(&mut v)?;
        if v.remaining() < 4 {
            return None;
        }
        let count = v.get_i32();
        if v.remaining() < count.max(0) as usize * 4 {
            return None;
        }
        for _ in 0..count.max(0) {
            partitions.insert(TopicPartition::new(topic.clone(), v.get_i32()));
        }
    }
    if v.remaining() < 16 {
        return None;
    }
    let last_update_ms = v.get_i64();
    let start_ms = v.get_i64();
    Some(TransactionMetadata {
        producer_id,
        producer_epoch,
        timeout_ms,
        state,
        partitions,
        start_ms,
        last_update_ms,
        last_producer_id: -1,
        last_producer_epoch: -1,
    })
}

/// One record holding `transactional_id`'s state, or its tombstone.
pub fn state_batch(
    transactional_id: &str,
    metadata: Option<&TransactionMetadata>,
    now_ms: i64,
) -> anyhow::Result<Bytes> {
    encode_records(
        vec![(encode_key(transactional_id), metadata.map(encode_value))],
        None,
        now_ms,
    )
}

/// A transactional id and its state, or `None` for its tombstone.
pub type Replayed = (String, Option<TransactionMetadata>);

/// A transactional id's state, or `None` for its tombstone, from one
/// record of `__transaction_state`; `Ok(None)` for a key version Gregor
/// does not know (Kafka skips the leftovers of an aborted upgrade). `Err`
/// for a record of a known kind that does not decode.
pub fn replay(r: Record) -> Result<Option<Replayed>, String> {
    let Some(key) = r.key else {
        return Err("a record without a key".to_string());
    };
    if r.control || key.len() < 2 || i16::from_be_bytes([key[0], key[1]]) != KEY_VERSION {
        return Ok(None);
    }
    let id = decode_key(key).ok_or("a transaction log key does not decode")?;
    let meta = match r.value {
        Some(v) => Some(decode_value(v).ok_or("a transaction log value does not decode")?),
        None => None,
    };
    Ok(Some((id, meta)))
}

/// A record of `__transaction_state` as Kafka's `--transaction-log-decoder`
/// prints it: the key as `{"type": "0", "data": {"transactionalId": ...}}`,
/// the value as `{"version": "0", "data": ...}` or `<DELETE>` for a tombstone.
pub fn describe_record(
    r: Record,
) -> Result<Option<(serde_json::Value, serde_json::Value)>, String> {
    use serde_json::json;
    let Some((id, meta)) = replay(r)? else {
        return Ok(None);
    };
    let key = json!({"type": KEY_VERSION.to_string(), "data": {"transactionalId": id}});
    let value = match meta {
        None => json!("<DELETE>"),
        Some(m) => {
            let mut topics: Vec<(String, Vec<i32>)> = Vec::new();
            for tp in &m.partitions {
                match topics.last_mut() {
                    Some((t, ids)) if *t == tp.topic => ids.push(tp.partition),
                    _ => topics.push((tp.topic.clone(), vec![tp.partition])),
                }
            }
            json!({"version": VALUE_VERSION.to_string(), "data": {
                "producerId": m.producer_id,
                "producerEpoch": m.producer_epoch,
                "transactionTimeoutMs": m.timeout_ms,
                "transactionStatus": m.state.name(),
                "transactionPartitions": topics.into_iter()
                    .map(|(topic, ids)| json!({"topic": topic, "partitionIds": ids}))
                    .collect::<Vec<_>>(),
                "transactionLastUpdateTimestampMs": m.last_update_ms,
                "transactionStartTimestampMs": m.start_ms,
            }})
        }
    };
    Ok(Some((key, value)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::records::RecordBatchDecoder;

    #[test]
    fn state_round_trips_and_a_tombstone_deletes() {
        let metadata = TransactionMetadata {
            producer_id: 4000,
            producer_epoch: 3,
            timeout_ms: 60_000,
            state: TxnState::Ongoing,
            partitions: [
                TopicPartition::new("a", 0),
                TopicPartition::new("a", 2),
                TopicPartition::new("b", 1),
            ]
            .into_iter()
            .collect(),
            start_ms: 1_700_000_000_000,
            last_update_ms: 1_700_000_000_500,
            last_producer_id: -1,
            last_producer_epoch: -1,
        };
        let mut log = BytesMut::new();
        log.extend_from_slice(&state_batch("t1", Some(&metadata), 0).unwrap());
        log.extend_from_slice(&state_batch("t1", None, 0).unwrap());
        let mut log = log.freeze();
        let mut records = Vec::new();
        while log.has_remaining() {
            for r in RecordBatchDecoder::decode(&mut log).unwrap().records {
                records.extend(replay(r).unwrap());
            }
        }
        assert_eq!(
            records,
            vec![("t1".to_string(), Some(metadata)), ("t1".to_string(), None)]
        );
    }
}
