//! Replay of `__share_group_state` records into share-partition states.

use std::collections::HashMap;

use bytes::Bytes;
use uuid::Uuid;

use super::records::{self, Replayed, Snapshot, Update};
use super::*;

fn key() -> StateKey {
    StateKey {
        group_id: "g".to_string(),
        topic_id: Uuid::from_u128(7),
        partition: 3,
    }
}

fn b(first: i64, last: i64, state: i8, count: i16) -> StateBatch {
    StateBatch {
        first_offset: first,
        last_offset: last,
        delivery_state: state,
        delivery_count: count,
    }
}

fn snapshot(epoch: i32, start: i64, batches: Vec<StateBatch>) -> (Bytes, Option<Bytes>) {
    let s = Snapshot {
        snapshot_epoch: epoch,
        state: ShareState {
            state_epoch: 1,
            leader_epoch: 0,
            start_offset: start,
            batches,
        },
        create_timestamp: 10,
        write_timestamp: 20,
    };
    (
        records::snapshot_key(&key()),
        Some(records::snapshot_value(&s)),
    )
}

fn update(epoch: i32, start: i64, batches: Vec<StateBatch>) -> (Bytes, Option<Bytes>) {
    let u = Update {
        snapshot_epoch: epoch,
        leader_epoch: -1,
        start_offset: start,
        batches,
    };
    (records::update_key(&key()), Some(records::update_value(&u)))
}

fn replay_all(log: Vec<(Bytes, Option<Bytes>)>) -> HashMap<StateKey, Entry> {
    let mut states = HashMap::new();
    for (k, v) in log {
        replay_into(&mut states, records::replay(Some(k), v).expect("reads"));
    }
    states
}

#[test]
fn records_read_back_as_written() {
    let (k, v) = snapshot(4, 100, vec![b(100, 104, AVAILABLE, 2)]);
    let Replayed::Snapshot(read_key, Some(s)) = records::replay(Some(k), v).unwrap() else {
        panic!("a snapshot");
    };
    assert_eq!(read_key, key());
    assert_eq!(s.snapshot_epoch, 4);
    assert_eq!(s.state.start_offset, 100);
    assert_eq!(s.state.batches, vec![b(100, 104, AVAILABLE, 2)]);
    assert_eq!((s.create_timestamp, s.write_timestamp), (10, 20));
    let (k, v) = update(4, -1, vec![b(101, 101, ACKNOWLEDGED, 2)]);
    let Replayed::Update(_, Some(u)) = records::replay(Some(k), v).unwrap() else {
        panic!("an update");
    };
    assert_eq!(u.start_offset, -1);
    assert_eq!(u.batches, vec![b(101, 101, ACKNOWLEDGED, 2)]);
}

#[test]
fn updates_lay_over_the_snapshot_and_the_start_offset_trims() {
    let states = replay_all(vec![
        snapshot(0, 100, vec![b(100, 109, AVAILABLE, 1)]),
        update(0, -1, vec![b(103, 104, ACKNOWLEDGED, 1)]),
        update(0, 102, vec![b(100, 101, ARCHIVED, 1)]),
    ]);
    let state = &states[&key()].state;
    assert_eq!(state.start_offset, 102);
    assert_eq!(
        state.batches,
        vec![
            b(102, 102, AVAILABLE, 1),
            b(103, 104, ACKNOWLEDGED, 1),
            b(105, 109, AVAILABLE, 1),
        ]
    );
    assert_eq!(states[&key()].updates, 2);
}

#[test]
fn a_newer_snapshot_replaces_and_stale_updates_are_ignored() {
    let states = replay_all(vec![
        snapshot(0, 100, vec![b(100, 109, AVAILABLE, 1)]),
        snapshot(1, 105, vec![b(105, 109, AVAILABLE, 2)]),
        update(0, 200, vec![b(200, 200, ARCHIVED, 1)]),
        update(1, -1, vec![b(109, 109, ACKNOWLEDGED, 2)]),
    ]);
    let state = &states[&key()].state;
    assert_eq!(state.start_offset, 105);
    assert_eq!(
        state.batches,
        vec![b(105, 108, AVAILABLE, 2), b(109, 109, ACKNOWLEDGED, 2)]
    );
}

#[test]
fn a_tombstone_deletes_the_state() {
    let states = replay_all(vec![
        snapshot(0, 100, vec![]),
        (records::snapshot_key(&key()), None),
        (records::update_key(&key()), None),
    ]);
    assert!(states.is_empty());
}

#[test]
fn corrupt_records_are_refused() {
    assert!(records::replay(None, None).is_err());
    let (k, _) = snapshot(0, 0, vec![]);
    assert!(records::replay(Some(k), Some(Bytes::from_static(&[0, 0, 1]))).is_err());
    assert!(records::replay(Some(Bytes::from_static(&[0, 9, 0, 0])), None).is_err());
}

/// The bytes Kafka 4.1's schemas give these records (share-coordinator's
/// ShareSnapshotKey/ShareUpdateKey: record type 0/1, not flexible: group id
/// as an int16-sized string, topic id, partition; ShareSnapshotValue and
/// ShareUpdateValue version 0, flexible: SnapshotEpoch int32 (uint16 before
/// 4.1), StateEpoch (snapshot only), LeaderEpoch, StartOffset, then in the
/// snapshot CreateTimestamp and WriteTimestamp, the StateBatches as a
/// compact array whose entries end in tagged fields, the value's tagged
/// fields last), written out by hand.
#[test]
fn records_are_laid_out_byte_for_byte_as_kafkas_schemas() {
    fn be<const N: usize>(out: &mut Vec<u8>, bytes: [u8; N]) {
        out.extend_from_slice(&bytes);
    }
    let topic_id = Uuid::from_u128(0x0001_0203_0405_0607_0809_0a0b_0c0d_0e0f);
    let k = StateKey::new("g", topic_id, 5);
    let mut key = Vec::new();
    be(&mut key, 0i16.to_be_bytes()); // ShareSnapshotKey
    be(&mut key, 1i16.to_be_bytes()); // GroupId's length
    key.push(b'g');
    key.extend_from_slice(&(0u8..16).collect::<Vec<_>>()); // TopicId
    be(&mut key, 5i32.to_be_bytes()); // Partition
    assert_eq!(records::snapshot_key(&k).as_ref(), key.as_slice());
    key[1] = 1; // ShareUpdateKey
    assert_eq!(records::update_key(&k).as_ref(), key.as_slice());

    let batch = |out: &mut Vec<u8>, first: i64, last: i64, state: i8, count: i16| {
        be(out, first.to_be_bytes());
        be(out, last.to_be_bytes());
        be(out, state.to_be_bytes());
        be(out, count.to_be_bytes());
        out.push(0); // the batch's tagged fields
    };
    let snapshot = Snapshot {
        snapshot_epoch: 1,
        state: ShareState {
            state_epoch: 2,
            leader_epoch: 3,
            start_offset: 10,
            batches: vec![b(10, 12, AVAILABLE, 1), b(13, 13, ACKNOWLEDGED, 2)],
        },
        create_timestamp: 1_000,
        write_timestamp: 2_000,
    };
    let mut value = Vec::new();
    be(&mut value, 0i16.to_be_bytes()); // version
    be(&mut value, 1i32.to_be_bytes()); // SnapshotEpoch
    be(&mut value, 2i32.to_be_bytes()); // StateEpoch
    be(&mut value, 3i32.to_be_bytes()); // LeaderEpoch
    be(&mut value, 10i64.to_be_bytes()); // StartOffset
    be(&mut value, 1_000i64.to_be_bytes()); // CreateTimestamp
    be(&mut value, 2_000i64.to_be_bytes()); // WriteTimestamp
    value.push(3); // StateBatches: two, as a compact array (length + 1)
    batch(&mut value, 10, 12, 0, 1);
    batch(&mut value, 13, 13, 2, 2);
    value.push(0); // tagged fields
    assert_eq!(
        records::snapshot_value(&snapshot).as_ref(),
        value.as_slice()
    );

    let update = Update {
        snapshot_epoch: 1,
        leader_epoch: 3,
        start_offset: -1,
        batches: vec![b(13, 13, ARCHIVED, 2)],
    };
    let mut value = Vec::new();
    be(&mut value, 0i16.to_be_bytes()); // version
    be(&mut value, 1i32.to_be_bytes()); // SnapshotEpoch
    be(&mut value, 3i32.to_be_bytes()); // LeaderEpoch
    be(&mut value, (-1i64).to_be_bytes()); // StartOffset: unchanged
    value.push(2); // StateBatches: one
    batch(&mut value, 13, 13, 4, 2);
    value.push(0); // tagged fields
    assert_eq!(records::update_value(&update).as_ref(), value.as_slice());

    // Tagged fields a newer writer adds are read past.
    let mut tagged = value.clone();
    tagged.pop();
    tagged.extend_from_slice(&[1, 0, 1, 7]); // one field: tag 0, 1 byte
    let Replayed::Update(_, Some(read)) =
        records::replay(Some(records::update_key(&k)), Some(Bytes::from(tagged))).unwrap()
    else {
        panic!("an update")
    };
    assert_eq!(read, update);
}
