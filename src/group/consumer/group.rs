//! KIP-848 consumer groups: the coordinator owns the assignment. Members
//! heartbeat their subscription and owned partitions; the coordinator
//! computes a target assignment and moves each member towards it, so that a
//! partition is given to its new owner only after the old owner confirms it
//! has let go.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use kafka_protocol::error::ResponseError;
use uuid::Uuid;

/// A topic partition by topic id, as the consumer protocol names them.
pub type TopicIdPartition = (Uuid, i32);

/// The assignors this coordinator offers: "uniform" balances partitions and
/// keeps them with their current owner where it can; "range" gives each
/// member a contiguous range of every topic it subscribes to.
pub const ASSIGNORS: &[&str] = &["uniform", "range"];

pub struct ConsumerGroupMember {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub member_epoch: i32,
    pub previous_epoch: i32,
    pub subscribed: BTreeSet<String>,
    pub subscribed_regex: Option<SubscriptionPattern>,
    /// What the member was last told it owns.
    pub assigned: BTreeSet<TopicIdPartition>,
    /// Partitions the member was told to give up and has not yet confirmed releasing.
    pub revoking: BTreeSet<TopicIdPartition>,
    /// When the member was first told to give up partitions it still
    /// holds: once its rebalance timeout has passed since, it is fenced
    /// (removed), so that one stuck consumer cannot hold partitions the
    /// others are waiting for, as Kafka's rebalance timeout timer does.
    pub revoking_since: Option<Instant>,
    /// How long the member may take to release revoked partitions: the
    /// client's max.poll.interval.ms, sent as RebalanceTimeoutMs.
    pub rebalance_timeout_ms: i32,
    pub last_sent: Option<BTreeSet<TopicIdPartition>>,
    pub last_heartbeat: Instant,
    /// A static member that left with epoch -2: it keeps its place and its
    /// partitions for a session timeout, so that its instance can come back
    /// without moving anything.
    pub departed: bool,
}

impl ConsumerGroupMember {
    pub fn subscribes_to(&self, topic: &str) -> bool {
        self.subscribed.contains(topic)
            || self
                .subscribed_regex
                .as_ref()
                .is_some_and(|p| p.regex.is_match(topic))
    }
}

/// A subscription by pattern: the client's text, and the regex that matches
/// whole topic names with it, as Kafka's RE2/J `matches` does.
pub struct SubscriptionPattern {
    pub source: String,
    regex: regex::Regex,
}

impl SubscriptionPattern {
    pub fn new(pattern: &str) -> Result<SubscriptionPattern, regex::Error> {
        Ok(SubscriptionPattern {
            source: pattern.to_string(),
            regex: regex::Regex::new(&format!("^(?:{pattern})$"))?,
        })
    }
}

#[derive(Default)]
pub struct ConsumerGroup {
    /// The assignor members asked for (the first one named wins), reported by ConsumerGroupDescribe.
    pub assignor: Option<String>,
    pub group_epoch: i32,
    pub assignment_epoch: i32,
    pub members: BTreeMap<String, ConsumerGroupMember>,
    pub target: HashMap<String, BTreeSet<TopicIdPartition>>,
}

impl ConsumerGroup {
    /// Kafka's group states for consumer groups.
    pub fn state_name(&self) -> &'static str {
        if self.members.is_empty() {
            "Empty"
        } else if self
            .members
            .values()
            .all(|m| m.member_epoch == self.assignment_epoch && m.revoking.is_empty())
        {
            "Stable"
        } else {
            "Reconciling"
        }
    }

    /// Recomputes the target assignment from subscriptions and the topics'
    /// partition counts; a changed target starts a new group epoch.
    pub fn refresh_target(&mut self, topics: &HashMap<String, (Uuid, i32)>) {
        let mut subscribed: BTreeMap<&String, Vec<&String>> = BTreeMap::new();
        for m in self.members.values() {
            for t in topics.keys() {
                if m.subscribes_to(t) {
                    subscribed.entry(t).or_default().push(&m.member_id);
                }
            }
        }
        // Members in id order within each topic, whatever order the topics map iterates in.
        for members in subscribed.values_mut() {
            members.sort();
        }
        let mut target: HashMap<String, BTreeSet<TopicIdPartition>> = self
            .members
            .keys()
            .map(|id| (id.clone(), BTreeSet::new()))
            .collect();
        let mut load: HashMap<&String, usize> = HashMap::new();
        let range = self.assignor.as_deref() == Some("range");
        for (topic, eligible) in subscribed {
            let (id, count) = topics[topic];
            if range {
                // Contiguous ranges per topic over members in id order, so
                // co-partitioned topics land on the same members.
                let members = eligible.len() as i32;
                let (per_member, extra) = (count / members, count % members);
                let mut next = 0;
                for (i, m) in eligible.iter().enumerate() {
                    let take = per_member + i32::from((i as i32) < extra);
                    target
                        .entry((*m).clone())
                        .or_default()
                        .extend((next..next + take).map(|p| (id, p)));
                    next += take;
                }
                continue;
            }
            for partition in 0..count {
                let tp = (id, partition);
                // Keep a partition with its current owner while that owner is not
                // above its fair share; otherwise give it to the least loaded member.
                let owner = eligible
                    .iter()
                    .find(|m| self.members[**m].assigned.contains(&tp))
                    .copied();
                let least = eligible
                    .iter()
                    .min_by_key(|m| (load.get(**m).copied().unwrap_or(0), (**m).clone()))
                    .copied();
                let chosen = match (owner, least) {
                    (Some(o), Some(l))
                        if load.get(o).copied().unwrap_or(0)
                            <= load.get(l).copied().unwrap_or(0) =>
                    {
                        o
                    }
                    (_, Some(l)) => l,
                    (Some(o), None) => o,
                    (None, None) => continue,
                };
                *load.entry(chosen).or_default() += 1;
                target.entry(chosen.clone()).or_default().insert(tp);
            }
        }
        if target != self.target {
            self.group_epoch += 1;
            crate::metrics::CONSUMER_REBALANCES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.assignment_epoch = self.group_epoch;
            self.target = target;
        }
    }

    /// Moves `member_id` towards its target: first it gives up what it must
    /// revoke (keeping its epoch), then it takes its target minus what others
    /// still hold, at the current assignment epoch.
    pub fn reconcile(&mut self, member_id: &str) {
        let target = self.target.get(member_id).cloned().unwrap_or_default();
        let held_by_others: BTreeSet<TopicIdPartition> = self
            .members
            .values()
            .filter(|m| m.member_id != member_id)
            .flat_map(|m| m.assigned.iter().chain(m.revoking.iter()).copied())
            .collect();
        let assignment_epoch = self.assignment_epoch;
        let Some(m) = self.members.get_mut(member_id) else {
            return;
        };
        if !m.revoking.is_empty() {
            return;
        }
        let to_revoke: BTreeSet<TopicIdPartition> =
            m.assigned.difference(&target).copied().collect();
        if !to_revoke.is_empty() {
            m.assigned = m.assigned.intersection(&target).copied().collect();
            m.revoking = to_revoke;
            return;
        }
        m.assigned = target.difference(&held_by_others).copied().collect();
        if m.member_epoch != assignment_epoch {
            m.previous_epoch = m.member_epoch;
            m.member_epoch = assignment_epoch;
        }
    }

    /// Records what the member reports owning: revoked partitions it no longer lists are released.
    pub fn report_owned(&mut self, member_id: &str, owned: &BTreeSet<TopicIdPartition>) {
        if let Some(m) = self.members.get_mut(member_id) {
            m.revoking.retain(|tp| owned.contains(tp));
        }
    }

    /// The member currently holding a static instance id.
    pub fn static_member(&self, instance_id: &str) -> Option<&ConsumerGroupMember> {
        self.members
            .values()
            .find(|m| m.instance_id.as_deref() == Some(instance_id))
    }

    /// Hands a departed static member's place to the member that rejoined
    /// with its instance id: same epoch, same partitions, same target, so
    /// neither this member nor any other sees a rebalance.
    pub fn replace_static_member(&mut self, old_id: &str, new: ConsumerGroupMember) {
        let Some(old) = self.members.remove(old_id) else {
            return;
        };
        if let Some(target) = self.target.remove(old_id) {
            self.target.insert(new.member_id.clone(), target);
        }
        self.members.insert(
            new.member_id.clone(),
            ConsumerGroupMember {
                member_epoch: old.member_epoch,
                previous_epoch: old.previous_epoch,
                assigned: old.assigned,
                revoking: old.revoking,
                revoking_since: old.revoking_since,
                last_sent: None,
                departed: false,
                ..new
            },
        );
    }

    /// Kafka's epoch check on a heartbeat or commit from an existing member.
    pub fn check_epoch(
        &self,
        member_id: &str,
        epoch: i32,
        error: ResponseError,
    ) -> Result<(), ResponseError> {
        let m = self
            .members
            .get(member_id)
            .ok_or(ResponseError::UnknownMemberId)?;
        if epoch == m.member_epoch || epoch == m.previous_epoch {
            Ok(())
        } else {
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, topics: &[&str]) -> ConsumerGroupMember {
        ConsumerGroupMember {
            member_id: id.into(),
            instance_id: None,
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
            member_epoch: 0,
            previous_epoch: 0,
            subscribed: topics.iter().map(|t| t.to_string()).collect(),
            subscribed_regex: None,
            assigned: BTreeSet::new(),
            revoking: BTreeSet::new(),
            revoking_since: None,
            rebalance_timeout_ms: 300_000,
            last_sent: None,
            last_heartbeat: Instant::now(),
            departed: false,
        }
    }

    #[test]
    fn a_pattern_subscription_matches_whole_topic_names() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let topics: HashMap<String, (Uuid, i32)> = [
            ("metrics-cpu".to_string(), (a, 2)),
            ("other-metrics-x".to_string(), (b, 2)),
        ]
        .into();
        let mut m = member("m", &[]);
        m.subscribed_regex = Some(SubscriptionPattern::new("metrics-.*").unwrap());
        let mut g = ConsumerGroup::default();
        g.members.insert("m".into(), m);
        g.refresh_target(&topics);
        assert_eq!(g.target["m"], [(a, 0), (a, 1)].into());
        assert!(SubscriptionPattern::new("(unclosed").is_err());
    }

    #[test]
    fn range_gives_contiguous_co_partitioned_ranges() {
        let (t, u) = (Uuid::new_v4(), Uuid::new_v4());
        let topics: HashMap<String, (Uuid, i32)> =
            [("t".to_string(), (t, 5)), ("u".to_string(), (u, 5))].into();
        let mut g = ConsumerGroup {
            assignor: Some("range".into()),
            ..ConsumerGroup::default()
        };
        g.members.insert("a".into(), member("a", &["t", "u"]));
        g.members.insert("b".into(), member("b", &["t", "u"]));
        g.refresh_target(&topics);
        let expected_a: BTreeSet<TopicIdPartition> =
            [(t, 0), (t, 1), (t, 2), (u, 0), (u, 1), (u, 2)].into();
        assert_eq!(g.target["a"], expected_a);
        assert_eq!(g.target["b"].len(), 4);
    }

    #[test]
    fn partitions_move_only_after_the_old_owner_releases_them() {
        let id = Uuid::new_v4();
        let topics: HashMap<String, (Uuid, i32)> = [("t".to_string(), (id, 4))].into();
        let mut g = ConsumerGroup::default();
        g.members.insert("a".into(), member("a", &["t"]));
        g.refresh_target(&topics);
        g.reconcile("a");
        assert_eq!(g.members["a"].assigned.len(), 4);
        assert_eq!(g.members["a"].member_epoch, g.assignment_epoch);

        g.members.insert("b".into(), member("b", &["t"]));
        g.refresh_target(&topics);
        assert_eq!(g.target["a"].len(), 2);
        g.reconcile("b");
        assert!(
            g.members["b"].assigned.is_empty(),
            "a still holds every partition"
        );
        g.reconcile("a");
        assert_eq!(
            (g.members["a"].assigned.len(), g.members["a"].revoking.len()),
            (2, 2)
        );
        g.reconcile("b");
        assert!(
            g.members["b"].assigned.is_empty(),
            "revoked but not yet released"
        );
        let owned = g.members["a"].assigned.clone();
        g.report_owned("a", &owned);
        g.reconcile("b");
        assert_eq!(g.members["b"].assigned.len(), 2);
        assert!(g.members["a"]
            .assigned
            .is_disjoint(&g.members["b"].assigned));
    }
}
