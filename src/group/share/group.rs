//! A share group's membership (Kafka's ShareGroup and the share half of
//! its GroupMetadataManager): members join, heartbeat and leave with
//! ShareGroupHeartbeat, the server-side simple assignor gives every
//! subscribed partition to at least one member, and a member silent for
//! its session timeout is removed. Share groups have no reconciliation: a
//! member's new assignment is its own at once, under a new member epoch.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kafka_protocol::error::ResponseError;

use crate::group::TopicIdPartition;

/// A ShareGroupHeartbeat as the group needs it.
#[derive(Debug, Clone)]
pub struct ShareHeartbeat {
    pub group_id: String,
    pub member_id: String,
    pub member_epoch: i32,
    pub rack_id: Option<String>,
    pub subscribed_topics: Option<Vec<String>>,
    pub client_id: String,
    pub client_host: String,
}

/// The answer to a ShareGroupHeartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareHeartbeatResult {
    pub member_id: String,
    pub member_epoch: i32,
    pub heartbeat_interval_ms: i32,
    /// The member's whole assignment, when it changed since last sent.
    pub assignment: Option<Vec<TopicIdPartition>>,
}

/// The epoch with which a member leaves.
pub const LEAVE_EPOCH: i32 = -1;

#[derive(Debug, Clone)]
pub struct ShareMember {
    pub member_epoch: i32,
    previous_epoch: i32,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub subscribed: Vec<String>,
    pub assignment: Vec<TopicIdPartition>,
    /// Whether the member has been sent its current assignment.
    sent: bool,
    /// When its session expires without another heartbeat.
    deadline_ms: i64,
}

#[derive(Debug, Clone, Default)]
pub struct ShareGroup {
    pub group_epoch: i32,
    pub assignment_epoch: i32,
    pub members: BTreeMap<String, ShareMember>,
    /// The topics whose share-partitions may have state: ever assigned to
    /// a member, or given start offsets (Kafka keeps them in the group's
    /// ShareGroupStatePartitionMetadata), for DescribeShareGroupOffsets
    /// and DeleteGroups to find that state with the share coordinators.
    pub topics: BTreeSet<uuid::Uuid>,
}

/// Topics by name: their id and partition count.
pub type Topics = HashMap<String, (uuid::Uuid, i32)>;

impl ShareGroup {
    /// Kafka's share group states: Empty or Stable (there is no rebalance).
    pub fn state_name(&self) -> &'static str {
        if self.members.is_empty() {
            "Empty"
        } else {
            "Stable"
        }
    }

    /// Removes the members whose session ran out by `now`; their ids.
    pub fn expire(&mut self, now: i64, topics: &Topics) -> Vec<String> {
        let gone: Vec<String> = self
            .members
            .iter()
            .filter(|(_, m)| m.deadline_ms <= now)
            .map(|(id, _)| id.clone())
            .collect();
        if !gone.is_empty() {
            for id in &gone {
                self.members.remove(id);
            }
            self.group_epoch += 1;
            self.assign(topics);
        }
        gone
    }

    /// One heartbeat at `now`; the members it removed (the caller releases
    /// what they hold) come back beside the answer.
    pub fn heartbeat(
        &mut self,
        hb: &ShareHeartbeat,
        topics: &Topics,
        now: i64,
        session_timeout_ms: i32,
        heartbeat_interval_ms: i32,
        max_size: usize,
    ) -> Result<ShareHeartbeatResult, ResponseError> {
        if hb.member_id.is_empty() {
            return Err(ResponseError::InvalidRequest);
        }
        let deadline = now + i64::from(session_timeout_ms);
        match hb.member_epoch {
            LEAVE_EPOCH => {
                if self.members.remove(&hb.member_id).is_some() {
                    self.group_epoch += 1;
                    self.assign(topics);
                }
                return Ok(ShareHeartbeatResult {
                    member_id: hb.member_id.clone(),
                    member_epoch: LEAVE_EPOCH,
                    heartbeat_interval_ms: 0,
                    assignment: None,
                });
            }
            0 => {
                let Some(subscribed) = &hb.subscribed_topics else {
                    return Err(ResponseError::InvalidRequest);
                };
                if !self.members.contains_key(&hb.member_id) && self.members.len() >= max_size {
                    return Err(ResponseError::GroupMaxSizeReached);
                }
                self.members.insert(
                    hb.member_id.clone(),
                    ShareMember {
                        member_epoch: 0,
                        previous_epoch: 0,
                        rack_id: hb.rack_id.clone(),
                        client_id: hb.client_id.clone(),
                        client_host: hb.client_host.clone(),
                        subscribed: sorted(subscribed),
                        assignment: Vec::new(),
                        sent: false,
                        deadline_ms: deadline,
                    },
                );
                self.group_epoch += 1;
            }
            epoch if epoch > 0 => {
                let Some(member) = self.members.get_mut(&hb.member_id) else {
                    return Err(ResponseError::UnknownMemberId);
                };
                if epoch != member.member_epoch && epoch != member.previous_epoch {
                    return Err(ResponseError::FencedMemberEpoch);
                }
                member.deadline_ms = deadline;
                if epoch != member.member_epoch {
                    // The member has not seen its latest assignment yet.
                    member.sent = false;
                }
                if let Some(subscribed) = &hb.subscribed_topics {
                    let subscribed = sorted(subscribed);
                    if subscribed != member.subscribed {
                        member.subscribed = subscribed;
                        self.group_epoch += 1;
                    }
                }
            }
            _ => return Err(ResponseError::FencedMemberEpoch),
        }
        // Topics created or grown since the last heartbeat change the assignment too.
        self.assign(topics);
        let member = self
            .members
            .get_mut(&hb.member_id)
            .ok_or(ResponseError::UnknownMemberId)?;
        let assignment = (!member.sent).then(|| {
            member.sent = true;
            member.assignment.clone()
        });
        Ok(ShareHeartbeatResult {
            member_id: hb.member_id.clone(),
            member_epoch: member.member_epoch,
            heartbeat_interval_ms,
            assignment,
        })
    }

    /// The simple assignor: each subscribed topic's partitions go round
    /// the members subscribed to it, in member id order; with more members
    /// than partitions each member gets one partition and partitions are
    /// shared. A member whose assignment changes takes the group epoch.
    fn assign(&mut self, topics: &Topics) {
        let mut target: BTreeMap<&str, Vec<TopicIdPartition>> = self
            .members
            .keys()
            .map(|id| (id.as_str(), Vec::new()))
            .collect();
        let mut names: Vec<&String> = self.members.values().flat_map(|m| &m.subscribed).collect();
        names.sort();
        names.dedup();
        for name in names {
            let Some(&(topic_id, count)) = topics.get(name.as_str()) else {
                continue;
            };
            let subscribers: Vec<&str> = self
                .members
                .iter()
                .filter(|(_, m)| m.subscribed.contains(name))
                .map(|(id, _)| id.as_str())
                .collect();
            let (m, n) = (subscribers.len(), count.max(0) as usize);
            if n == 0 {
                continue;
            }
            if m <= n {
                for p in 0..n {
                    if let Some(list) = target.get_mut(subscribers[p % m]) {
                        list.push((topic_id, p as i32));
                    }
                }
            } else {
                for (j, member) in subscribers.iter().enumerate() {
                    if let Some(list) = target.get_mut(member) {
                        list.push((topic_id, (j % n) as i32));
                    }
                }
            }
        }
        let target: BTreeMap<String, Vec<TopicIdPartition>> = target
            .into_iter()
            .map(|(id, mut list)| {
                list.sort();
                (id.to_string(), list)
            })
            .collect();
        self.topics
            .extend(target.values().flatten().map(|&(topic_id, _)| topic_id));
        let changed = self
            .members
            .iter()
            .any(|(id, m)| m.member_epoch == 0 || target.get(id) != Some(&m.assignment));
        if !changed {
            return;
        }
        self.assignment_epoch = self.group_epoch;
        for (id, member) in self.members.iter_mut() {
            let new = target.get(id).cloned().unwrap_or_default();
            if member.member_epoch == 0 || new != member.assignment {
                member.previous_epoch = member.member_epoch;
                member.member_epoch = self.group_epoch;
                member.assignment = new;
                member.sent = false;
            }
        }
    }
}

fn sorted(topics: &[String]) -> Vec<String> {
    let mut v = topics.to_vec();
    v.sort();
    v.dedup();
    v
}
