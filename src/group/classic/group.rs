//! A classic group's state: Kafka's Empty, PreparingRebalance,
//! CompletingRebalance, Stable and Dead, with its generation, protocol,
//! leader and members.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use kafka_protocol::error::ResponseError;

use super::member::ClassicGroupMember;

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

pub struct ClassicGroup {
    pub id: String,
    pub state: GroupState,
    pub generation_id: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader_id: Option<String>,
    pub members: BTreeMap<String, ClassicGroupMember>,
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

impl ClassicGroup {
    pub fn new(id: &str) -> ClassicGroup {
        ClassicGroup {
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
        self.pending_members.is_empty()
            && self
                .members
                .values()
                .all(ClassicGroupMember::is_awaiting_join)
    }

    /// The longest rebalance timeout among members: how long a rebalance waits for them to rejoin.
    pub fn rebalance_timeout_ms(&self) -> u64 {
        self.members
            .values()
            .map(|m| m.rebalance_timeout_ms.max(0) as u64)
            .max()
            .unwrap_or(0)
    }

    pub fn remove_member(&mut self, member_id: &str) -> Option<ClassicGroupMember> {
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

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use tokio::sync::oneshot;

    use super::*;

    fn member(id: &str, protocols: &[&str]) -> ClassicGroupMember {
        ClassicGroupMember {
            member_id: id.to_string(),
            group_instance_id: None,
            client_id: "client".to_string(),
            client_host: "/127.0.0.1".to_string(),
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 30_000,
            protocol_type: "consumer".to_string(),
            protocols: protocols
                .iter()
                .map(|p| (p.to_string(), Bytes::new()))
                .collect(),
            assignment: Bytes::new(),
            last_heartbeat: Instant::now(),
            join_waiter: None,
            sync_waiter: None,
        }
    }

    fn offered(protocols: &[&str]) -> Vec<(String, Bytes)> {
        protocols
            .iter()
            .map(|p| (p.to_string(), Bytes::new()))
            .collect()
    }

    fn group_of(members: Vec<ClassicGroupMember>) -> ClassicGroup {
        let mut group = ClassicGroup::new("g");
        group.protocol_type = Some("consumer".to_string());
        for m in members {
            group.members.insert(m.member_id.clone(), m);
        }
        group
    }

    #[test]
    fn an_empty_group_takes_any_type_with_protocols() {
        let group = ClassicGroup::new("g");
        assert!(group.accepts("consumer", &offered(&["range"])));
        assert!(!group.accepts("", &offered(&["range"])));
        assert!(!group.accepts("consumer", &[]));
    }

    #[test]
    fn a_joiner_needs_the_groups_type_and_a_protocol_every_member_has() {
        let group = group_of(vec![
            member("a", &["range", "roundrobin"]),
            member("b", &["roundrobin", "range"]),
        ]);
        assert!(group.accepts("consumer", &offered(&["sticky", "range"])));
        assert!(!group.accepts("consumer", &offered(&["sticky"])));
        assert!(!group.accepts("connect", &offered(&["range"])));
    }

    #[test]
    fn the_protocol_most_members_prefer_wins_among_those_all_support() {
        let group = group_of(vec![
            member("a", &["sticky", "range", "roundrobin"]),
            member("b", &["roundrobin", "range"]),
            member("c", &["roundrobin", "sticky", "range"]),
        ]);
        // sticky is not supported by b, so a votes for its next choice.
        assert_eq!(group.select_protocol().as_deref(), Some("roundrobin"));
        let group = group_of(vec![
            member("a", &["range", "roundrobin"]),
            member("b", &["range", "roundrobin"]),
            member("c", &["roundrobin", "range"]),
        ]);
        assert_eq!(group.select_protocol().as_deref(), Some("range"));
        assert_eq!(ClassicGroup::new("g").select_protocol(), None);
    }

    #[test]
    fn removing_the_leader_hands_leadership_on_and_frees_its_instance_id() {
        let mut a = member("a", &["range"]);
        a.group_instance_id = Some("instance-a".to_string());
        let mut group = group_of(vec![a, member("b", &["range"])]);
        group
            .static_members
            .insert("instance-a".to_string(), "a".to_string());
        group.leader_id = Some("a".to_string());
        assert!(group.remove_member("a").is_some());
        assert_eq!(group.leader_id.as_deref(), Some("b"));
        assert!(group.static_members.is_empty());
        assert!(group.remove_member("a").is_none());
        group.remove_member("b");
        assert_eq!(group.leader_id, None);
    }

    #[test]
    fn a_replaced_static_members_instance_id_stays_with_its_new_member() {
        let mut old = member("old", &["range"]);
        old.group_instance_id = Some("instance".to_string());
        let mut group = group_of(vec![old]);
        // The instance rejoined under a new member id before the old one left.
        group
            .static_members
            .insert("instance".to_string(), "new".to_string());
        group.remove_member("old");
        assert_eq!(
            group.static_members.get("instance").map(String::as_str),
            Some("new")
        );
    }

    #[test]
    fn member_checks_come_in_kafkas_order() {
        let mut group = group_of(vec![member("a", &["range"])]);
        group.generation_id = 3;
        group
            .static_members
            .insert("instance".to_string(), "a".to_string());
        // A fenced instance is reported before an unknown member id.
        assert_eq!(
            group.check_member(3, "ghost", Some("instance")),
            Err(ResponseError::FencedInstanceId)
        );
        assert_eq!(
            group.check_member(3, "ghost", None),
            Err(ResponseError::UnknownMemberId)
        );
        assert_eq!(
            group.check_member(2, "a", Some("instance")),
            Err(ResponseError::IllegalGeneration)
        );
        assert_eq!(group.check_member(3, "a", Some("instance")), Ok(()));
    }

    #[test]
    fn all_have_joined_only_when_nobody_is_pending_and_every_member_waits() {
        let (tx_a, _rx_a) = oneshot::channel();
        let mut a = member("a", &["range"]);
        a.join_waiter = Some(tx_a);
        let mut group = group_of(vec![a, member("b", &["range"])]);
        assert!(!group.all_members_joined());
        let (tx_b, _rx_b) = oneshot::channel();
        group.members.get_mut("b").unwrap().join_waiter = Some(tx_b);
        assert!(group.all_members_joined());
        group.pending_members.insert("c".to_string());
        assert!(!group.all_members_joined());
    }

    #[test]
    fn the_rebalance_waits_for_the_slowest_member() {
        let mut slow = member("slow", &["range"]);
        slow.rebalance_timeout_ms = 90_000;
        let group = group_of(vec![member("a", &["range"]), slow]);
        assert_eq!(group.rebalance_timeout_ms(), 90_000);
        assert_eq!(ClassicGroup::new("g").rebalance_timeout_ms(), 0);
    }

    #[test]
    fn the_initial_delay_extends_only_while_members_arrive_and_time_is_left() {
        let mut delay = InitialDelay {
            until: Instant::now(),
            remaining_ms: 5_000,
            new_member_added: true,
        };
        assert_eq!(delay.extend(3_000), Some(3_000));
        assert!(delay.is_running());
        // Nobody came during that one.
        assert_eq!(delay.extend(3_000), None);
        delay.new_member_added = true;
        // Only what is left of the rebalance timeout.
        assert_eq!(delay.extend(3_000), Some(2_000));
        delay.new_member_added = true;
        assert_eq!(delay.extend(3_000), None);
    }
}
