//! A classic group's state: Kafka's Empty, PreparingRebalance,
//! CompletingRebalance, Stable and Dead, with its generation, protocol,
//! leader and members.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use kafka_protocol::error::ResponseError;

use super::member::Member;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

impl GroupState {
    /// The names Kafka reports in DescribeGroups and ListGroups.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }
}

pub struct Group {
    pub id: String,
    pub state: GroupState,
    pub generation_id: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader_id: Option<String>,
    pub members: BTreeMap<String, Member>,
    /// Member ids handed out with MEMBER_ID_REQUIRED, not yet joined.
    pub pending_members: HashSet<String>,
    /// group.instance.id -> current member id, for static members.
    pub static_members: HashMap<String, String>,
    /// Bumped whenever a rebalance starts, so a timer armed for an older one does nothing.
    pub rebalance_id: u64,
    /// Set during an Empty group's first join phase (Kafka's InitialDelayedJoin).
    pub initial_delay: Option<InitialDelay>,
}

/// group.initial.rebalance.delay.ms at work: the join phase does not end
/// before `until` even when every member has joined, and each member that
/// arrives during a delay earns another one, until the rebalance timeout
/// is used up, so that consumers started together form one generation.
#[derive(Debug, Clone)]
pub struct InitialDelay {
    pub until: Instant,
    /// What is left of the rebalance timeout for further delays.
    pub remaining_ms: u64,
    pub new_member_added: bool,
}

impl InitialDelay {
    pub fn is_running(&self) -> bool {
        Instant::now() < self.until
    }

    /// When the delay ran out: another delay (at most `step`) if members
    /// arrived during this one and time is left, else None.
    pub fn extend(&mut self, step_ms: u64) -> Option<u64> {
        if !self.new_member_added || self.remaining_ms == 0 {
            return None;
        }
        let delay = step_ms.min(self.remaining_ms);
        self.remaining_ms -= delay;
        self.new_member_added = false;
        self.until = Instant::now() + std::time::Duration::from_millis(delay);
        Some(delay)
    }
}

impl Group {
    pub fn new(id: &str) -> Group {
        Group {
            id: id.to_string(),
            state: GroupState::Empty,
            generation_id: 0,
            protocol_type: None,
            protocol_name: None,
            leader_id: None,
            members: BTreeMap::new(),
            pending_members: HashSet::new(),
            static_members: HashMap::new(),
            rebalance_id: 0,
            initial_delay: None,
        }
    }

    /// Whether a member offering `protocol_type` and `protocols` may join:
    /// same type, and at least one protocol every member supports.
    pub fn accepts(&self, protocol_type: &str, protocols: &[(String, bytes::Bytes)]) -> bool {
        if self.members.is_empty() {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        if self
            .protocol_type
            .as_deref()
            .is_some_and(|t| t != protocol_type)
        {
            return false;
        }
        self.candidate_protocols(Some(protocols)).next().is_some()
    }

    /// Protocols supported by every member (and by `extra`, a joiner's list), in no particular order.
    fn candidate_protocols<'a>(
        &'a self,
        extra: Option<&'a [(String, bytes::Bytes)]>,
    ) -> impl Iterator<Item = &'a String> + 'a {
        let first = self.members.values().next();
        let base: Box<dyn Iterator<Item = &'a String>> = match (first, extra) {
            (Some(m), _) => Box::new(m.protocols.iter().map(|(p, _)| p)),
            (None, Some(e)) => Box::new(e.iter().map(|(p, _)| p)),
            (None, None) => Box::new(std::iter::empty()),
        };
        base.filter(move |p| {
            self.members.values().all(|m| m.supports(p))
                && extra.is_none_or(|e| e.iter().any(|(q, _)| q == *p))
        })
    }

    /// Kafka's protocol election: each member votes for its most preferred
    /// protocol among those all support; the most votes wins.
    pub fn select_protocol(&self) -> Option<String> {
        let candidates: HashSet<&String> = self.candidate_protocols(None).collect();
        let mut votes: BTreeMap<&String, usize> = BTreeMap::new();
        for m in self.members.values() {
            if let Some((p, _)) = m.protocols.iter().find(|(p, _)| candidates.contains(p)) {
                *votes.entry(p).or_default() += 1;
            }
        }
        votes
            .into_iter()
            .max_by_key(|(_, v)| *v)
            .map(|(p, _)| p.clone())
    }

    pub fn all_members_joined(&self) -> bool {
        self.pending_members.is_empty() && self.members.values().all(Member::is_awaiting_join)
    }

    /// The longest rebalance timeout among members: how long a rebalance waits for them to rejoin.
    pub fn rebalance_timeout_ms(&self) -> u64 {
        self.members
            .values()
            .map(|m| m.rebalance_timeout_ms.max(0) as u64)
            .max()
            .unwrap_or(0)
    }

    pub fn remove_member(&mut self, member_id: &str) -> Option<Member> {
        let member = self.members.remove(member_id)?;
        if let Some(instance) = &member.group_instance_id {
            if self.static_members.get(instance).map(String::as_str) == Some(member_id) {
                self.static_members.remove(instance);
            }
        }
        if self.leader_id.as_deref() == Some(member_id) {
            self.leader_id = self.members.keys().next().cloned();
        }
        Some(member)
    }

    /// Topics the members subscribe to, read from their "consumer" protocol
    /// metadata (ConsumerProtocolSubscription); empty for other protocol types.
    pub fn subscribed_topics(&self) -> HashSet<String> {
        use kafka_protocol::messages::ConsumerProtocolSubscription;
        use kafka_protocol::protocol::Decodable;
        if self.protocol_type.as_deref() != Some("consumer") {
            return HashSet::new();
        }
        let protocol = self.protocol_name.clone().unwrap_or_default();
        self.members
            .values()
            .filter_map(|m| {
                let mut metadata = m.metadata_for(&protocol);
                if metadata.len() < 2 {
                    return None;
                }
                let version = i16::from_be_bytes([metadata[0], metadata[1]]);
                bytes::Buf::advance(&mut metadata, 2);
                ConsumerProtocolSubscription::decode(&mut metadata, version.clamp(0, 3)).ok()
            })
            .flat_map(|s| s.topics.into_iter().map(|t| t.to_string()))
            .collect()
    }

    /// Kafka's checks on a member's request, in Kafka's order: a replaced
    /// static member is fenced, an unknown member is refused, and a stale
    /// generation is illegal.
    pub fn check_member(
        &self,
        generation_id: i32,
        member_id: &str,
        instance_id: Option<&str>,
    ) -> Result<(), ResponseError> {
        if self.is_fenced(member_id, instance_id) {
            return Err(ResponseError::FencedInstanceId);
        }
        if !self.members.contains_key(member_id) {
            return Err(ResponseError::UnknownMemberId);
        }
        if generation_id != self.generation_id {
            return Err(ResponseError::IllegalGeneration);
        }
        Ok(())
    }

    /// A static member whose instance id now belongs to another member id has been replaced.
    pub fn is_fenced(&self, member_id: &str, instance_id: Option<&str>) -> bool {
        instance_id.is_some_and(|i| {
            self.static_members
                .get(i)
                .is_some_and(|current| current != member_id)
        })
    }
}
