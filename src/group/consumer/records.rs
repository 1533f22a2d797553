//! KIP-848 consumer groups as records of `__consumer_offsets`, in Kafka's
//! layouts: ConsumerGroupMetadata (key version 3), ConsumerGroupMemberMetadata
//! (5), ConsumerGroupTargetAssignmentMetadata (6),
//! ConsumerGroupTargetAssignmentMember (7) and
//! ConsumerGroupCurrentMemberAssignment (8). Keys are plain Kafka structs;
//! values carry a version and use the flexible encoding: unsigned varint
//! lengths (plus one, zero for null) and a tagged-field count ending each
//! struct.
//!
//! A group is described by the set of its records; the coordinator writes
//! only the records whose value changed since it last wrote them, and
//! tombstones for members that are gone, as Kafka writes deltas.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use integer_encoding::VarInt;
use uuid::Uuid;

use super::group::{ConsumerGroup, ConsumerGroupMember, SubscriptionPattern, TopicIdPartition};
use crate::coordinator_records::{get_string, put_string};

const GROUP_METADATA: i16 = 3;
const MEMBER_METADATA: i16 = 5;
const TARGET_METADATA: i16 = 6;
const TARGET_MEMBER: i16 = 7;
const CURRENT_ASSIGNMENT: i16 = 8;
const VALUE_VERSION: i16 = 0;

/// A group's records: key to value.
pub type Records = BTreeMap<Bytes, Bytes>;

fn key(version: i16, group: &str, member: Option<&str>) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(version);
    put_string(&mut buf, group);
    if let Some(member) = member {
        put_string(&mut buf, member);
    }
    buf.freeze()
}

/// (key version, group, member) of a consumer-group record key.
fn parse_key(mut key: Bytes) -> Option<(i16, String, Option<String>)> {
    if key.remaining() < 2 {
        return None;
    }
    let version = key.get_i16();
    let group = get_string(&mut key)?;
    match version {
        GROUP_METADATA | TARGET_METADATA => Some((version, group, None)),
        MEMBER_METADATA | TARGET_MEMBER | CURRENT_ASSIGNMENT => {
            Some((version, group, Some(get_string(&mut key)?)))
        }
        _ => None,
    }
}

/// Whether `version` is the key version of a consumer-group record.
pub fn is_key_version(version: i16) -> bool {
    matches!(
        version,
        GROUP_METADATA | MEMBER_METADATA | TARGET_METADATA | TARGET_MEMBER | CURRENT_ASSIGNMENT
    )
}

/// The group a consumer-group record belongs to; None for other records.
pub fn group_of(key: &Bytes) -> Option<String> {
    parse_key(key.clone()).map(|(_, group, _)| group)
}

/// The value writer: a version, then the flexible encoding.
struct Value(BytesMut);

impl Value {
    fn new() -> Value {
        let mut buf = BytesMut::new();
        buf.put_i16(VALUE_VERSION);
        Value(buf)
    }

    fn i32(mut self, v: i32) -> Value {
        self.0.put_i32(v);
        self
    }

    fn i8(mut self, v: i8) -> Value {
        self.0.put_i8(v);
        self
    }

    fn string(self, s: &str) -> Value {
        self.nullable(Some(s))
    }

    fn nullable(mut self, s: Option<&str>) -> Value {
        match s {
            None => self.varint(0),
            Some(s) => {
                self.varint(s.len() as u32 + 1);
                self.0.put_slice(s.as_bytes());
            }
        }
        self
    }

    fn strings(mut self, items: &BTreeSet<String>) -> Value {
        self.varint(items.len() as u32 + 1);
        items.iter().fold(self, |v, s| v.string(s))
    }

    /// Kafka's TopicPartitions: per topic id, its partitions.
    fn partitions(mut self, partitions: &BTreeSet<TopicIdPartition>) -> Value {
        let mut by_topic: BTreeMap<Uuid, Vec<i32>> = BTreeMap::new();
        for (topic, partition) in partitions {
            by_topic.entry(*topic).or_default().push(*partition);
        }
        self.varint(by_topic.len() as u32 + 1);
        for (topic, partitions) in by_topic {
            self.0.put_slice(topic.as_bytes());
            self.varint(partitions.len() as u32 + 1);
            for p in partitions {
                self.0.put_i32(p);
            }
            self.varint(0);
        }
        self
    }

    fn varint(&mut self, v: u32) {
        self.0.put_slice(&v.encode_var_vec());
    }

    /// Ends the struct with no tagged fields.
    fn finish(mut self) -> Bytes {
        self.varint(0);
        self.0.freeze()
    }
}

/// The value reader, the inverse of [`Value`]; None on anything malformed.
struct Reader(Bytes);

impl Reader {
    fn new(mut value: Bytes) -> Option<Reader> {
        (value.remaining() >= 2 && value.get_i16() == VALUE_VERSION).then_some(Reader(value))
    }

    fn i32(&mut self) -> Option<i32> {
        (self.0.remaining() >= 4).then(|| self.0.get_i32())
    }

    fn i8(&mut self) -> Option<i8> {
        (self.0.remaining() >= 1).then(|| self.0.get_i8())
    }

    fn string(&mut self) -> Option<String> {
        self.nullable()?
    }

    fn nullable(&mut self) -> Option<Option<String>> {
        let Some(len) = self.varint()?.checked_sub(1) else {
            return Some(None);
        };
        let len = len as usize;
        if self.0.remaining() < len {
            return None;
        }
        String::from_utf8(self.0.split_to(len).to_vec())
            .ok()
            .map(Some)
    }

    fn strings(&mut self) -> Option<Vec<String>> {
        let count = self.varint()?.checked_sub(1)?;
        (0..count).map(|_| self.string()).collect()
    }

    fn varint(&mut self) -> Option<u32> {
        let (v, used) = u32::decode_var(&self.0)?;
        self.0.advance(used);
        Some(v)
    }

    /// Skips a struct's tagged fields.
    fn tagged_fields(&mut self) -> Option<()> {
        for _ in 0..self.varint()? {
            self.varint()?;
            let size = self.varint()? as usize;
            if self.0.remaining() < size {
                return None;
            }
            self.0.advance(size);
        }
        Some(())
    }

    fn partitions(&mut self) -> Option<BTreeSet<TopicIdPartition>> {
        let mut out = BTreeSet::new();
        for _ in 0..self.varint()?.checked_sub(1)? {
            if self.0.remaining() < 16 {
                return None;
            }
            let topic = Uuid::from_slice(&self.0.split_to(16)).ok()?;
            for _ in 0..self.varint()?.checked_sub(1)? {
                out.insert((topic, self.i32()?));
            }
            self.tagged_fields()?;
        }
        Some(out)
    }
}

/// Every record that describes `group` now.
pub fn group_records(group_id: &str, group: &ConsumerGroup) -> Records {
    let mut out = Records::new();
    out.insert(
        key(GROUP_METADATA, group_id, None),
        Value::new().i32(group.group_epoch).finish(),
    );
    out.insert(
        key(TARGET_METADATA, group_id, None),
        Value::new().i32(group.assignment_epoch).finish(),
    );
    for m in group.members.values() {
        let id = Some(m.member_id.as_str());
        out.insert(
            key(MEMBER_METADATA, group_id, id),
            Value::new()
                .nullable(m.instance_id.as_deref())
                .nullable(None)
                .string(&m.client_id)
                .string(&m.client_host)
                .strings(&m.subscribed)
                .nullable(m.subscribed_regex.as_ref().map(|p| p.source.as_str()))
                .i32(m.rebalance_timeout_ms)
                .nullable(group.assignor.as_deref())
                .finish(),
        );
        let target = group.target.get(&m.member_id).cloned().unwrap_or_default();
        out.insert(
            key(TARGET_MEMBER, group_id, id),
            Value::new().partitions(&target).finish(),
        );
        // Kafka's MemberState: 0 stable, 1 unrevoked partitions (waiting for a release).
        let state = i8::from(!m.revoking.is_empty());
        out.insert(
            key(CURRENT_ASSIGNMENT, group_id, id),
            Value::new()
                .i32(m.member_epoch)
                .i32(m.previous_epoch)
                .i8(state)
                .partitions(&m.assigned)
                .partitions(&m.revoking)
                .finish(),
        );
    }
    out
}

/// The records to write to move from `before` to `after`: changed values,
/// and tombstones (None) for keys no longer there.
pub fn delta(before: &Records, after: &Records) -> Vec<(Bytes, Option<Bytes>)> {
    let changed = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), Some(v.clone())));
    let removed = before
        .keys()
        .filter(|k| !after.contains_key(*k))
        .map(|k| (k.clone(), None));
    changed.chain(removed).collect()
}

/// Rebuilds a group from its replayed records. Members are known from their
/// metadata record; their sessions start now, as Kafka restarts session
/// timers when it loads a group.
pub fn restore(records: &Records) -> Option<ConsumerGroup> {
    let mut group = ConsumerGroup::default();
    let mut current = BTreeMap::new();
    for (k, v) in records {
        let (version, _, member) = parse_key(k.clone())?;
        let mut r = Reader::new(v.clone())?;
        match (version, member) {
            (GROUP_METADATA, None) => group.group_epoch = r.i32()?,
            (TARGET_METADATA, None) => group.assignment_epoch = r.i32()?,
            (MEMBER_METADATA, Some(id)) => {
                let instance_id = r.nullable()?;
                let _rack = r.nullable()?;
                let client_id = r.string()?;
                let client_host = r.string()?;
                let subscribed = r.strings()?.into_iter().collect();
                let pattern = r.nullable()?;
                let rebalance_timeout_ms = r.i32()?;
                let assignor = r.nullable()?;
                if group.assignor.is_none() {
                    group.assignor = assignor;
                }
                group.members.insert(
                    id.clone(),
                    ConsumerGroupMember {
                        member_id: id,
                        instance_id,
                        client_id,
                        client_host,
                        member_epoch: 0,
                        previous_epoch: 0,
                        subscribed,
                        subscribed_regex: match pattern {
                            Some(p) => Some(SubscriptionPattern::new(&p).ok()?),
                            None => None,
                        },
                        assigned: BTreeSet::new(),
                        revoking: BTreeSet::new(),
                        revoking_since: None,
                        rebalance_timeout_ms,
                        last_sent: None,
                        last_heartbeat: Instant::now(),
                        departed: false,
                    },
                );
            }
            (TARGET_MEMBER, Some(id)) => {
                group.target.insert(id, r.partitions()?);
            }
            (CURRENT_ASSIGNMENT, Some(id)) => {
                let epochs = (r.i32()?, r.i32()?);
                let _state = r.i8()?;
                current.insert(id, (epochs, r.partitions()?, r.partitions()?));
            }
            _ => return None,
        }
    }
    for (id, ((epoch, previous), assigned, revoking)) in current {
        if let Some(m) = group.members.get_mut(&id) {
            m.member_epoch = epoch;
            m.previous_epoch = previous;
            m.assigned = assigned;
            // Its rebalance timeout starts again, as its session does.
            m.revoking_since = (!revoking.is_empty()).then(Instant::now);
            m.revoking = revoking;
        }
    }
    group.target.retain(|id, _| group.members.contains_key(id));
    Some(group)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, epoch: i32, assigned: &[TopicIdPartition]) -> ConsumerGroupMember {
        ConsumerGroupMember {
            member_id: id.into(),
            instance_id: Some(format!("{id}-instance")),
            client_id: "client".into(),
            client_host: "/127.0.0.1".into(),
            member_epoch: epoch,
            previous_epoch: epoch - 1,
            subscribed: ["t".to_string()].into(),
            subscribed_regex: Some(SubscriptionPattern::new("t.*").unwrap()),
            assigned: assigned.iter().copied().collect(),
            revoking: BTreeSet::new(),
            revoking_since: None,
            rebalance_timeout_ms: 45_000,
            last_sent: None,
            last_heartbeat: Instant::now(),
            departed: false,
        }
    }

    #[test]
    fn a_group_round_trips_through_its_records() {
        let t = Uuid::new_v4();
        let mut group = ConsumerGroup {
            assignor: Some("range".into()),
            group_epoch: 7,
            assignment_epoch: 7,
            ..ConsumerGroup::default()
        };
        group
            .members
            .insert("a".into(), member("a", 7, &[(t, 0), (t, 1)]));
        group.members.insert("b".into(), member("b", 6, &[]));
        group.members.get_mut("b").unwrap().revoking = [(t, 2)].into();
        group.target.insert("a".into(), [(t, 0), (t, 1)].into());
        group.target.insert("b".into(), [(t, 2)].into());

        let records = group_records("g", &group);
        assert!(records.keys().all(|k| group_of(k).as_deref() == Some("g")));
        let restored = restore(&records).expect("restores");
        assert_eq!(group_records("g", &restored), records);
        assert_eq!(restored.members["b"].revoking, [(t, 2)].into());
        assert_eq!(restored.members["a"].previous_epoch, 6);
        assert_eq!(restored.assignor.as_deref(), Some("range"));
    }

    #[test]
    fn only_changes_and_departures_are_written() {
        let t = Uuid::new_v4();
        let mut group = ConsumerGroup::default();
        group.members.insert("a".into(), member("a", 1, &[(t, 0)]));
        group.members.insert("b".into(), member("b", 1, &[]));
        let before = group_records("g", &group);
        assert!(delta(&before, &before).is_empty());
        group.members.remove("b");
        group.members.get_mut("a").unwrap().member_epoch = 2;
        let after = group_records("g", &group);
        let written = delta(&before, &after);
        assert_eq!(
            written.iter().filter(|(_, v)| v.is_none()).count(),
            3,
            "b's records go"
        );
        assert_eq!(
            written.iter().filter(|(_, v)| v.is_some()).count(),
            1,
            "a's assignment changed"
        );
    }

    #[test]
    fn other_records_are_not_taken_for_consumer_group_records() {
        assert_eq!(group_of(&key(2, "g", None)), None);
        assert_eq!(group_of(&Bytes::from_static(&[0, 5, 0])), None);
        assert!(restore(&[(key(3, "g", None), Bytes::from_static(&[0, 1]))].into()).is_none());
    }
}
