//! `reassign --throttle` (KIP-73), as kafka-reassign-partitions.sh sets
//! it: the replicas a partition moves from are throttled as leaders, the
//! ones it moves to as followers (each topic's
//! `*.replication.throttled.replicas`), and every broker on either side
//! gets the rate as its leader and follower throttle. `--verify` clears
//! them once everything is in place.

use std::collections::{BTreeMap, BTreeSet};

use super::{Assignment, Ongoing, ReassignmentPlan};
use crate::client::admin::Admin;
use crate::client::entity_config::ConfigResourceType;
use crate::client::{ConfigOp, Result};
use crate::quota::replication::{FOLLOWER_RATE, FOLLOWER_REPLICAS, LEADER_RATE, LEADER_REPLICAS};
use crate::topic_partition::TopicPartition;

/// A partition's move: the replicas it had and the ones it gains.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Move {
    sources: Vec<i32>,
    destinations: Vec<i32>,
}

/// What a throttled reassignment sets.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Throttles {
    /// Per topic: `leader.replication.throttled.replicas`.
    pub leader: BTreeMap<String, String>,
    /// Per topic: `follower.replication.throttled.replicas`.
    pub follower: BTreeMap<String, String>,
    /// The brokers on either side of a move, which get the rates.
    pub brokers: BTreeSet<i32>,
}

/// Kafka's calculateMoveMap: the moves going on (from the replicas they
/// started with to those they add) and the plan's, whose sources are a
/// moving partition's original replicas, else its current ones. With
/// --additional the moves going on keep their throttles that way.
fn moves(
    plan: &ReassignmentPlan,
    now: &Assignment,
    ongoing: &[Ongoing],
) -> BTreeMap<TopicPartition, Move> {
    let original = |o: &Ongoing| -> Vec<i32> {
        o.replicas
            .iter()
            .copied()
            .filter(|r| !o.adding.contains(r))
            .collect()
    };
    let mut moves: BTreeMap<TopicPartition, Move> = ongoing
        .iter()
        .map(|o| {
            (
                TopicPartition::new(o.topic.clone(), o.partition),
                Move {
                    sources: original(o),
                    destinations: o.adding.clone(),
                },
            )
        })
        .collect();
    for p in &plan.partitions {
        let key = TopicPartition::new(p.topic.clone(), p.partition);
        let sources = match ongoing
            .iter()
            .find(|o| o.topic == p.topic && o.partition == p.partition)
        {
            Some(o) => original(o),
            None => now.get(&key).cloned().unwrap_or_default(),
        };
        let destinations = p
            .replicas
            .iter()
            .copied()
            .filter(|r| !sources.contains(r))
            .collect();
        moves.insert(
            key,
            Move {
                sources,
                destinations,
            },
        );
    }
    moves
}

/// The throttles of `plan` started from `now` while `ongoing` move.
pub fn throttles(plan: &ReassignmentPlan, now: &Assignment, ongoing: &[Ongoing]) -> Throttles {
    let mut t = Throttles::default();
    let add = |map: &mut BTreeMap<String, String>, topic: &str, partition: i32, broker: i32| {
        let value = map.entry(topic.to_string()).or_default();
        if !value.is_empty() {
            value.push(',');
        }
        value.push_str(&format!("{partition}:{broker}"));
    };
    for (TopicPartition { topic, partition }, m) in moves(plan, now, ongoing) {
        t.leader.entry(topic.clone()).or_default();
        t.follower.entry(topic.clone()).or_default();
        for &b in &m.sources {
            add(&mut t.leader, &topic, partition, b);
        }
        for &b in &m.destinations {
            add(&mut t.follower, &topic, partition, b);
        }
        t.brokers.extend(m.sources.iter().chain(&m.destinations));
    }
    t
}

impl Throttles {
    /// Sets the topics' throttled replicas, then `rate` bytes per second
    /// as both throttles of every broker involved.
    pub async fn apply(&self, admin: &Admin, rate: i64) -> Result<()> {
        for (topic, leader) in &self.leader {
            let follower = self.follower.get(topic).cloned().unwrap_or_default();
            let ops = vec![
                ConfigOp::Set(LEADER_REPLICAS.to_string(), leader.clone()),
                ConfigOp::Set(FOLLOWER_REPLICAS.to_string(), follower),
            ];
            admin
                .alter_configs(ConfigResourceType::Topic, topic, ops)
                .await?;
        }
        for broker in &self.brokers {
            let ops = vec![
                ConfigOp::Set(LEADER_RATE.to_string(), rate.to_string()),
                ConfigOp::Set(FOLLOWER_RATE.to_string(), rate.to_string()),
            ];
            admin
                .alter_configs(ConfigResourceType::Broker, &broker.to_string(), ops)
                .await?;
        }
        Ok(())
    }
}

/// What clearing the throttles of a finished reassignment touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cleared {
    pub brokers: Vec<i32>,
    pub topics: Vec<String>,
}

/// Kafka's clearAllThrottles: the rates of every broker in the cluster and
/// the throttled replicas of the plan's topics.
pub async fn clear(admin: &Admin, plan: &ReassignmentPlan) -> Result<Cleared> {
    let brokers = admin.broker_ids().await?;
    for broker in &brokers {
        let ops = vec![
            ConfigOp::Delete(LEADER_RATE.to_string()),
            ConfigOp::Delete(FOLLOWER_RATE.to_string()),
        ];
        admin
            .alter_configs(ConfigResourceType::Broker, &broker.to_string(), ops)
            .await?;
    }
    let topics: BTreeSet<String> = plan.partitions.iter().map(|p| p.topic.clone()).collect();
    for topic in &topics {
        let ops = vec![
            ConfigOp::Delete(LEADER_REPLICAS.to_string()),
            ConfigOp::Delete(FOLLOWER_REPLICAS.to_string()),
        ];
        admin
            .alter_configs(ConfigResourceType::Topic, topic, ops)
            .await?;
    }
    Ok(Cleared {
        brokers,
        topics: topics.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::PartitionReplicas;
    use super::*;

    #[test]
    fn sources_are_leader_throttled_and_destinations_follower_throttled() {
        let plan = ReassignmentPlan::new(vec![
            PartitionReplicas::new("a", 0, vec![2, 3]),
            PartitionReplicas::new("a", 1, vec![1, 2]),
            PartitionReplicas::new("b", 0, vec![4]),
        ]);
        let now: Assignment = [
            (TopicPartition::new("a", 0), vec![1, 2]),
            (TopicPartition::new("a", 1), vec![1, 2]),
            (TopicPartition::new("b", 0), vec![1, 2, 4]),
        ]
        .into();
        // b-0 is moving already, from 1 to 4 and 2: its original replica
        // is the source.
        let ongoing = [
            Ongoing {
                topic: "b".into(),
                partition: 0,
                replicas: vec![4, 2, 1],
                adding: vec![4, 2],
                removing: vec![1],
            },
            Ongoing {
                topic: "c".into(),
                partition: 3,
                replicas: vec![5, 6],
                adding: vec![6],
                removing: vec![5],
            },
        ];
        let t = throttles(&plan, &now, &ongoing);
        assert_eq!(t.leader["a"], "0:1,0:2,1:1,1:2");
        assert_eq!(t.follower["a"], "0:3");
        assert_eq!(t.leader["b"], "0:1");
        assert_eq!(t.follower["b"], "0:4");
        assert_eq!(t.leader["c"], "3:5");
        assert_eq!(t.follower["c"], "3:6");
        assert_eq!(t.brokers, BTreeSet::from([1, 2, 3, 4, 5, 6]));
        // Every value is one the brokers accept.
        for value in t.leader.values().chain(t.follower.values()) {
            crate::quota::replication::ThrottledReplicas::parse(LEADER_REPLICAS, value).unwrap();
        }
    }
}
