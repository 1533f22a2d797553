//! A classic group as its GroupMetadata record of `__consumer_offsets`
//! (Kafka's GroupMetadataKey v2, GroupMetadataValue v3): written whenever
//! the group reaches a new generation or becomes Stable, and restored from
//! it when this broker loads the group's partition.

use std::time::Instant;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::{ClassicGroup, ClassicGroupMember, GroupState};
use crate::coordinator_records::{encode_records, get_string, put_string};
use crate::group::coordinator::GroupCoordinator;
use crate::partition::now_ms;

impl GroupCoordinator {
    /// Records a classic group's generation, leader and members, so that
    /// after a restart members carry on without a rebalance. A failure is
    /// logged, not returned: the group works on, only a restart would rebalance it.
    pub(in crate::group) fn store_group(&self, group: &ClassicGroup) {
        let record = group_record(group);
        let stored = group_batch(&group.id, Some(&record), now_ms())
            .map_err(|e| e.to_string())
            .and_then(|batch| self.append(&group.id, &batch).map_err(|e| e.to_string()));
        if let Err(e) = stored {
            tracing::warn!(group = %group.id, error = %e, "cannot store group metadata");
        }
    }
}

fn group_record(group: &ClassicGroup) -> GroupRecord {
    let protocol = group.protocol_name.clone().unwrap_or_default();
    GroupRecord {
        protocol_type: group.protocol_type.clone().unwrap_or_default(),
        generation: group.generation_id,
        protocol: group.protocol_name.clone(),
        leader: group.leader_id.clone(),
        members: group
            .members
            .values()
            .map(|m| MemberRecord {
                member_id: m.member_id.clone(),
                instance_id: m.group_instance_id.clone(),
                client_id: m.client_id.clone(),
                client_host: m.client_host.clone(),
                rebalance_timeout_ms: m.rebalance_timeout_ms,
                session_timeout_ms: m.session_timeout_ms,
                subscription: m.metadata_for(&protocol),
                assignment: m.assignment.clone(),
            })
            .collect(),
    }
}

/// Rebuilds a group from its stored state; members' sessions start afresh now.
pub(in crate::group) fn restore_group(id: &str, r: GroupRecord) -> ClassicGroup {
    let mut group = ClassicGroup::new(id);
    group.generation_id = r.generation;
    group.protocol_type = Some(r.protocol_type.clone()).filter(|t| !t.is_empty());
    group.protocol_name = r.protocol.clone();
    group.leader_id = r.leader;
    group.state = if r.members.is_empty() {
        GroupState::Empty
    } else {
        GroupState::Stable
    };
    let now = Instant::now();
    for m in r.members {
        if let Some(instance) = &m.instance_id {
            group
                .static_members
                .insert(instance.clone(), m.member_id.clone());
        }
        group.members.insert(
            m.member_id.clone(),
            ClassicGroupMember {
                member_id: m.member_id,
                group_instance_id: m.instance_id,
                client_id: m.client_id,
                client_host: m.client_host,
                session_timeout_ms: m.session_timeout_ms,
                rebalance_timeout_ms: m.rebalance_timeout_ms,
                protocol_type: r.protocol_type.clone(),
                protocols: vec![(r.protocol.clone().unwrap_or_default(), m.subscription)],
                assignment: m.assignment,
                last_heartbeat: now,
                join_waiter: None,
                sync_waiter: None,
            },
        );
    }
    group
}

pub(in crate::group) const GROUP_KEY_VERSION: i16 = 2;
const GROUP_VALUE_VERSION: i16 = 3;

/// A classic group's state as Kafka's GroupMetadataValue v3 records it.
#[derive(Debug, Clone, PartialEq)]
pub(in crate::group) struct GroupRecord {
    pub protocol_type: String,
    pub generation: i32,
    pub protocol: Option<String>,
    pub leader: Option<String>,
    pub members: Vec<MemberRecord>,
}

#[derive(Debug, Clone, PartialEq)]
pub(in crate::group) struct MemberRecord {
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

/// Reads a GroupMetadataValue of version 3 (what Gregor writes); `None` for others.
pub(in crate::group) fn decode_group_value(mut v: Bytes) -> Option<GroupRecord> {
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
pub(in crate::group) fn group_batch(
    group: &str,
    record: Option<&GroupRecord>,
    now_ms: i64,
) -> anyhow::Result<Bytes> {
    let value = record.map(|g| encode_group_value(g, now_ms));
    encode_records(vec![(encode_group_key(group), value)], None, now_ms)
}

/// The group of a group metadata key.
pub(in crate::group) fn decode_group_key(mut key: Bytes) -> Option<String> {
    (key.remaining() >= 2 && key.get_i16() == GROUP_KEY_VERSION)
        .then(|| get_string(&mut key))
        .flatten()
}
