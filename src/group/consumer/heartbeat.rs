//! ConsumerGroupHeartbeat: a member joins (epoch 0), leaves (-1, or -2 for
//! a static member coming back), or heartbeats with its epoch and is moved
//! towards its target assignment; members whose heartbeats stop expire.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use kafka_protocol::error::ResponseError;

use super::group::{self as consumer, ConsumerGroupMember, TopicIdPartition};
use super::{ConsumerHeartbeat, ConsumerHeartbeatResult};
use crate::group::coordinator::GroupCoordinator;

impl GroupCoordinator {
    /// ConsumerGroupHeartbeat (KIP-848): join (epoch 0), leave (epoch -1 or
    /// -2), or heartbeat with the current epoch; `topics` maps each topic to
    /// its id and partition count.
    pub fn consumer_heartbeat(
        &self,
        hb: ConsumerHeartbeat,
        topics: &HashMap<String, (uuid::Uuid, i32)>,
    ) -> Result<ConsumerHeartbeatResult, ResponseError> {
        self.consumer_heartbeat_at(hb, topics, Instant::now())
    }

    /// ConsumerGroupHeartbeat as heard at `now`: the caller's clock, so
    /// that tests can move time on without waiting.
    pub(in crate::group) fn consumer_heartbeat_at(
        &self,
        hb: ConsumerHeartbeat,
        topics: &HashMap<String, (uuid::Uuid, i32)>,
        now: Instant,
    ) -> Result<ConsumerHeartbeatResult, ResponseError> {
        const JOIN: i32 = 0;
        const LEAVE: i32 = -1;
        const STATIC_LEAVE: i32 = -2;
        if hb.group_id.is_empty() {
            return Err(ResponseError::InvalidRequest);
        }
        if hb
            .server_assignor
            .as_deref()
            .is_some_and(|a| !consumer::ASSIGNORS.contains(&a))
        {
            return Err(ResponseError::UnsupportedAssignor);
        }
        if self.is_share_group(&hb.group_id) {
            return Err(ResponseError::GroupIdNotFound);
        }
        let mut state = self.state.lock();
        if state
            .groups
            .get(&hb.group_id)
            .is_some_and(|g| !g.members.is_empty())
        {
            return Err(ResponseError::InconsistentGroupProtocol);
        }
        let group = state
            .consumer_groups
            .entry(hb.group_id.clone())
            .or_default();
        if group.assignor.is_none() {
            group.assignor = hb.server_assignor.clone();
        }
        let mut member_id = hb.member_id.clone();
        match hb.member_epoch {
            JOIN => {
                if member_id.is_empty() {
                    member_id = uuid::Uuid::new_v4().to_string();
                }
                // Joining takes a subscription: topic names, a pattern, or both.
                if hb.subscribed_topics.is_none() && hb.subscribed_regex.is_none() {
                    return Err(ResponseError::InvalidRequest);
                }
                // As Kafka: the first heartbeat must say how long the member
                // may take to release partitions.
                if hb.rebalance_timeout_ms < 0 {
                    return Err(ResponseError::InvalidRequest);
                }
                let subscribed = hb.subscribed_topics.clone().unwrap_or_default();
                let joining = ConsumerGroupMember {
                    member_id: member_id.clone(),
                    instance_id: hb.instance_id.clone(),
                    client_id: hb.client_id.clone(),
                    client_host: hb.client_host.clone(),
                    member_epoch: 0,
                    previous_epoch: 0,
                    subscribed: subscribed.into_iter().collect(),
                    subscribed_regex: subscription_pattern(hb.subscribed_regex.as_deref())?,
                    assigned: BTreeSet::new(),
                    revoking: BTreeSet::new(),
                    revoking_since: None,
                    rebalance_timeout_ms: hb.rebalance_timeout_ms,
                    last_sent: None,
                    last_heartbeat: now,
                    departed: false,
                };
                let holder = hb
                    .instance_id
                    .as_deref()
                    .and_then(|i| group.static_member(i))
                    .map(|m| (m.member_id.clone(), m.departed));
                match holder {
                    Some((previous, true)) => {
                        group.replace_static_member(&previous, joining);
                        tracing::info!(group = %hb.group_id, member = %member_id, replaces = %previous, "static consumer rejoined");
                    }
                    Some((previous, false)) if previous != member_id => {
                        return Err(ResponseError::UnreleasedInstanceId);
                    }
                    _ => {
                        // A rejoining member keeps what it held until it releases it.
                        let held = group
                            .members
                            .remove(&member_id)
                            .map(|m| m.assigned.union(&m.revoking).copied().collect())
                            .unwrap_or_default();
                        group.members.insert(
                            member_id.clone(),
                            ConsumerGroupMember {
                                revoking: held,
                                ..joining
                            },
                        );
                        tracing::info!(group = %hb.group_id, member = %member_id, "consumer joined");
                    }
                }
            }
            STATIC_LEAVE if hb.instance_id.is_some() => {
                check_static_member(group, hb.instance_id.as_deref(), &member_id)?;
                if let Some(m) = group.members.get_mut(&member_id) {
                    m.departed = true;
                    m.last_heartbeat = now;
                    tracing::info!(group = %hb.group_id, member = %member_id, "static consumer left for now");
                }
                self.store_consumer_group(&mut state, &hb.group_id);
                return Ok(ConsumerHeartbeatResult {
                    member_id,
                    member_epoch: hb.member_epoch,
                    heartbeat_interval_ms: 0,
                    assignment: None,
                });
            }
            LEAVE | STATIC_LEAVE => {
                check_static_member(group, hb.instance_id.as_deref(), &member_id)?;
                if group.members.remove(&member_id).is_some() {
                    tracing::info!(group = %hb.group_id, member = %member_id, "consumer left");
                }
                group.refresh_target(topics);
                self.store_consumer_group(&mut state, &hb.group_id);
                return Ok(ConsumerHeartbeatResult {
                    member_id,
                    member_epoch: hb.member_epoch,
                    heartbeat_interval_ms: 0,
                    assignment: None,
                });
            }
            epoch => {
                check_static_member(group, hb.instance_id.as_deref(), &member_id)?;
                group.check_epoch(&member_id, epoch, ResponseError::FencedMemberEpoch)?;
                let m = group
                    .members
                    .get_mut(&member_id)
                    .ok_or(ResponseError::UnknownMemberId)?;
                m.last_heartbeat = now;
                if hb.rebalance_timeout_ms >= 0 {
                    m.rebalance_timeout_ms = hb.rebalance_timeout_ms;
                }
                if let Some(subscribed) = &hb.subscribed_topics {
                    m.subscribed = subscribed.iter().cloned().collect();
                }
                if hb.subscribed_regex.is_some() {
                    m.subscribed_regex = subscription_pattern(hb.subscribed_regex.as_deref())?;
                }
            }
        }
        if let Some(owned) = &hb.owned {
            let owned: BTreeSet<TopicIdPartition> = owned.iter().copied().collect();
            group.report_owned(&member_id, &owned);
        }
        group.refresh_target(topics);
        group.reconcile(&member_id);
        let m = group
            .members
            .get_mut(&member_id)
            .ok_or(ResponseError::UnknownMemberId)?;
        if m.revoking.is_empty() {
            m.revoking_since = None;
        } else if m.revoking_since.is_none() {
            m.revoking_since = Some(now);
        }
        let assignment = (m.last_sent.as_ref() != Some(&m.assigned)).then(|| {
            m.last_sent = Some(m.assigned.clone());
            m.assigned.iter().copied().collect()
        });
        let result = ConsumerHeartbeatResult {
            member_id,
            member_epoch: m.member_epoch,
            heartbeat_interval_ms: self.consumer_heartbeat_interval_ms(&hb.group_id),
            assignment,
        };
        self.store_consumer_group(&mut state, &hb.group_id);
        Ok(result)
    }

    /// Removes KIP-848 members whose session lapsed without a heartbeat,
    /// and members that did not release revoked partitions within their
    /// rebalance timeout (classic members each have a timer:
    /// `arm_session_timer`). A removed member's next heartbeat gets
    /// UNKNOWN_MEMBER_ID and it joins again.
    pub fn expire_sessions(&self) {
        self.expire_consumer_sessions(Instant::now());
    }

    /// `expire_sessions` at `now`, the caller's clock (see `consumer_heartbeat_at`).
    pub(in crate::group) fn expire_consumer_sessions(&self, now: Instant) {
        let mut state = self.state.lock();
        let mut shrunk = Vec::new();
        for (id, group) in state.consumer_groups.iter_mut() {
            let session = Duration::from_millis(self.consumer_session_timeout_ms(id).max(0) as u64);
            // A departed member's partitions reach the others through their
            // next heartbeats, which recompute the target.
            let before = group.members.len();
            group.members.retain(|member_id, m| {
                if now.duration_since(m.last_heartbeat) >= session {
                    tracing::info!(group = %id, member = %member_id, "consumer session expired; removing member");
                    return false;
                }
                let rebalance = Duration::from_millis(m.rebalance_timeout_ms.max(0) as u64);
                if m.revoking_since.is_some_and(|since| now.duration_since(since) >= rebalance) {
                    tracing::info!(group = %id, member = %member_id, revoking = m.revoking.len(),
                        "consumer did not release revoked partitions within its rebalance timeout; removing member");
                    return false;
                }
                true
            });
            if group.members.len() != before {
                shrunk.push(id.clone());
            }
        }
        for id in shrunk {
            self.store_consumer_group(&mut state, &id);
        }
    }
}

/// Kafka's checks on a heartbeat naming a static instance: the instance must
/// be in the group, held by this member and not by one that replaced it.
fn check_static_member(
    group: &consumer::ConsumerGroup,
    instance_id: Option<&str>,
    member_id: &str,
) -> Result<(), ResponseError> {
    let Some(instance_id) = instance_id else {
        return Ok(());
    };
    match group.static_member(instance_id) {
        None => Err(ResponseError::UnknownMemberId),
        Some(m) if m.member_id != member_id => Err(ResponseError::FencedInstanceId),
        Some(_) => Ok(()),
    }
}

/// A member's subscription pattern; an empty one means none, as in Kafka.
fn subscription_pattern(
    pattern: Option<&str>,
) -> Result<Option<consumer::SubscriptionPattern>, ResponseError> {
    match pattern {
        None | Some("") => Ok(None),
        Some(p) => consumer::SubscriptionPattern::new(p)
            .map(Some)
            .map_err(|_| ResponseError::InvalidRegularExpression),
    }
}
