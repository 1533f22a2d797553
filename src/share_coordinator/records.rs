//! The records of `__share_group_state` in Kafka 4.1's layouts, so the log
//! reads as Kafka's own: ShareSnapshotKey (version 0) / ShareSnapshotValue
//! (a share-partition's whole state) and ShareUpdateKey (version 1) /
//! ShareUpdateValue (the state batches one write changed). Keys are not
//! flexible; values are (compact arrays, tagged fields).

use bytes::{Buf, BufMut, Bytes, BytesMut};
use uuid::Uuid;

use crate::coordinator_records::{get_string, put_string};

use super::{ShareState, StateBatch, StateKey};

const SNAPSHOT_KEY: i16 = 0;
const UPDATE_KEY: i16 = 1;
const VALUE_VERSION: i16 = 0;

/// A ShareSnapshotValue: the whole state of one share-partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub snapshot_epoch: i32,
    pub state: ShareState,
    pub create_timestamp: i64,
    pub write_timestamp: i64,
}

/// A ShareUpdateValue: what one write changed since the snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    pub snapshot_epoch: i32,
    pub leader_epoch: i32,
    /// -1 when the write left the start offset where it was.
    pub start_offset: i64,
    pub batches: Vec<StateBatch>,
}

/// One record of `__share_group_state` as replay sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replayed {
    Snapshot(StateKey, Option<Snapshot>),
    Update(StateKey, Option<Update>),
}

fn encode_key(version: i16, key: &StateKey) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(version);
    put_string(&mut buf, &key.group_id);
    buf.put_slice(key.topic_id.as_bytes());
    buf.put_i32(key.partition);
    buf.freeze()
}

pub fn snapshot_key(key: &StateKey) -> Bytes {
    encode_key(SNAPSHOT_KEY, key)
}

pub fn update_key(key: &StateKey) -> Bytes {
    encode_key(UPDATE_KEY, key)
}

fn put_varint(buf: &mut BytesMut, mut v: u32) {
    while v >= 0x80 {
        buf.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    buf.put_u8(v as u8);
}

fn get_varint(buf: &mut Bytes) -> Option<u32> {
    let mut v = 0u32;
    for shift in (0..35).step_by(7) {
        if !buf.has_remaining() {
            return None;
        }
        let b = buf.get_u8();
        v |= u32::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// Skips a tagged-field section: what a newer Kafka adds there is not
/// Gregor's to read.
fn skip_tags(buf: &mut Bytes) -> Option<()> {
    for _ in 0..get_varint(buf)? {
        get_varint(buf)?;
        let size = get_varint(buf)? as usize;
        if buf.remaining() < size {
            return None;
        }
        buf.advance(size);
    }
    Some(())
}

fn put_batches(buf: &mut BytesMut, batches: &[StateBatch]) {
    put_varint(buf, batches.len() as u32 + 1);
    for b in batches {
        buf.put_i64(b.first_offset);
        buf.put_i64(b.last_offset);
        buf.put_i8(b.delivery_state);
        buf.put_i16(b.delivery_count);
        put_varint(buf, 0);
    }
}

fn get_batches(buf: &mut Bytes) -> Option<Vec<StateBatch>> {
    let n = get_varint(buf)?.checked_sub(1)? as usize;
    // Each batch takes 20 bytes at least: a count beyond that is corrupt.
    if n > buf.remaining() / 20 {
        return None;
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        if buf.remaining() < 19 {
            return None;
        }
        out.push(StateBatch {
            first_offset: buf.get_i64(),
            last_offset: buf.get_i64(),
            delivery_state: buf.get_i8(),
            delivery_count: buf.get_i16(),
        });
        skip_tags(buf)?;
    }
    Some(out)
}

pub fn snapshot_value(s: &Snapshot) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(VALUE_VERSION);
    buf.put_i32(s.snapshot_epoch);
    buf.put_i32(s.state.state_epoch);
    buf.put_i32(s.state.leader_epoch);
    buf.put_i64(s.state.start_offset);
    buf.put_i64(s.create_timestamp);
    buf.put_i64(s.write_timestamp);
    put_batches(&mut buf, &s.state.batches);
    put_varint(&mut buf, 0);
    buf.freeze()
}

pub fn update_value(u: &Update) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(VALUE_VERSION);
    buf.put_i32(u.snapshot_epoch);
    buf.put_i32(u.leader_epoch);
    buf.put_i64(u.start_offset);
    put_batches(&mut buf, &u.batches);
    put_varint(&mut buf, 0);
    buf.freeze()
}

fn decode_snapshot(mut v: Bytes) -> Option<Snapshot> {
    if v.remaining() < 2 + 4 * 3 + 8 * 3 {
        return None;
    }
    v.get_i16();
    let snapshot_epoch = v.get_i32();
    let state_epoch = v.get_i32();
    let leader_epoch = v.get_i32();
    let start_offset = v.get_i64();
    let create_timestamp = v.get_i64();
    let write_timestamp = v.get_i64();
    let batches = get_batches(&mut v)?;
    skip_tags(&mut v)?;
    Some(Snapshot {
        snapshot_epoch,
        state: ShareState {
            state_epoch,
            leader_epoch,
            start_offset,
            batches,
        },
        create_timestamp,
        write_timestamp,
    })
}

fn decode_update(mut v: Bytes) -> Option<Update> {
    if v.remaining() < 2 + 4 * 2 + 8 {
        return None;
    }
    v.get_i16();
    let snapshot_epoch = v.get_i32();
    let leader_epoch = v.get_i32();
    let start_offset = v.get_i64();
    let batches = get_batches(&mut v)?;
    skip_tags(&mut v)?;
    Some(Update {
        snapshot_epoch,
        leader_epoch,
        start_offset,
        batches,
    })
}

/// A record of `__share_group_state`, or why it does not read. A key of
/// another type is refused: the topic holds only these two.
pub fn replay(key: Option<Bytes>, value: Option<Bytes>) -> Result<Replayed, String> {
    let mut key = key.ok_or("a record without a key")?;
    if key.remaining() < 2 {
        return Err("a key too short for its type".into());
    }
    let version = key.get_i16();
    let group_id = get_string(&mut key).ok_or("a key's group id does not read")?;
    if key.remaining() < 20 {
        return Err("a key too short for its topic id and partition".into());
    }
    let topic_id = Uuid::from_slice(&key.split_to(16)).map_err(|e| e.to_string())?;
    let state_key = StateKey {
        group_id,
        topic_id,
        partition: key.get_i32(),
    };
    match version {
        SNAPSHOT_KEY => {
            let value = value
                .map(|v| decode_snapshot(v).ok_or("a ShareSnapshotValue does not read"))
                .transpose()?;
            Ok(Replayed::Snapshot(state_key, value))
        }
        UPDATE_KEY => {
            let value = value
                .map(|v| decode_update(v).ok_or("a ShareUpdateValue does not read"))
                .transpose()?;
            Ok(Replayed::Update(state_key, value))
        }
        other => Err(format!("a key of unknown type {other}")),
    }
}
