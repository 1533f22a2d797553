//! Reassignment plans in Kafka's JSON format, and the balanced plan
//! `reassign --generate` proposes.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::flow::Network;
use super::Assignment;
use crate::client::error::{ClientError, Result};

/// A partition and the replicas it should have, the first its preferred leader.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionReplicas {
    pub topic: String,
    pub partition: i32,
    pub replicas: Vec<i32>,
    /// Kafka's files may name a log directory per replica, "any" where the
    /// broker chooses; --execute moves the others there
    /// (AlterReplicaLogDirs). Not written in the plans the tool prints.
    #[serde(default, skip_serializing)]
    log_dirs: Option<Vec<String>>,
}

impl PartitionReplicas {
    pub fn new(topic: impl Into<String>, partition: i32, replicas: Vec<i32>) -> PartitionReplicas {
        PartitionReplicas {
            topic: topic.into(),
            partition,
            replicas,
            log_dirs: None,
        }
    }

    /// The log directory the plan names for each replica that names one
    /// (not "any"), as (broker, directory).
    pub fn replica_log_dirs(&self) -> Vec<(i32, &str)> {
        self.log_dirs
            .iter()
            .flat_map(|dirs| self.replicas.iter().copied().zip(dirs.iter()))
            .filter(|(_, dir)| *dir != ANY_LOG_DIR)
            .map(|(broker, dir)| (broker, dir.as_str()))
            .collect()
    }

    /// `topic-partition`, as Kafka's tools name a partition.
    pub fn name(&self) -> String {
        format!("{}-{}", self.topic, self.partition)
    }
}

/// A replica's log directory left to its broker.
const ANY_LOG_DIR: &str = "any";

/// Kafka's reassignment JSON: `{"version":1,"partitions":[...]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReassignmentPlan {
    pub version: i32,
    pub partitions: Vec<PartitionReplicas>,
}

impl ReassignmentPlan {
    pub fn new(partitions: Vec<PartitionReplicas>) -> ReassignmentPlan {
        ReassignmentPlan {
            version: 1,
            partitions,
        }
    }

    /// Reads a plan, refusing what the brokers would refuse one partition
    /// at a time anyway: `source` names where the text came from.
    pub fn parse(text: &str, source: &str) -> Result<ReassignmentPlan> {
        let invalid = |why: String| ClientError::Invalid(format!("{source}: {why}"));
        let plan: ReassignmentPlan = serde_json::from_str(text)
            .map_err(|e| invalid(format!("not a reassignment plan: {e}")))?;
        if plan.version != 1 {
            return Err(invalid(format!(
                "version {} is not supported (only 1)",
                plan.version
            )));
        }
        if plan.partitions.is_empty() {
            return Err(invalid("the plan names no partitions".to_string()));
        }
        let mut seen = BTreeSet::new();
        for p in &plan.partitions {
            if p.partition < 0 {
                return Err(invalid(format!("{} is not a partition", p.name())));
            }
            if !seen.insert((p.topic.as_str(), p.partition)) {
                return Err(invalid(format!("{} is named twice", p.name())));
            }
            if p.replicas.is_empty() {
                return Err(invalid(format!("{} has no replicas", p.name())));
            }
            let mut brokers = BTreeSet::new();
            if let Some(twice) = p.replicas.iter().find(|b| !brokers.insert(**b)) {
                return Err(invalid(format!("{} names broker {twice} twice", p.name())));
            }
            if let Some(dirs) = &p.log_dirs {
                if dirs.len() != p.replicas.len() {
                    return Err(invalid(format!(
                        "{} has {} log_dirs for {} replicas",
                        p.name(),
                        dirs.len(),
                        p.replicas.len()
                    )));
                }
                // A broker knows its log directories by their absolute paths.
                let relative = dirs
                    .iter()
                    .find(|d| *d != ANY_LOG_DIR && !std::path::Path::new(d).is_absolute());
                if let Some(dir) = relative {
                    return Err(invalid(format!(
                        "{}: log directory {dir:?} is neither \"any\" nor an absolute path",
                        p.name()
                    )));
                }
            }
        }
        Ok(plan)
    }

    /// One line, as Kafka's tool prints plans.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a plan always serializes")
    }
}

/// What `--generate` proposes, and what it would undo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    /// The partitions the proposal changes, as they are now: the plan to
    /// roll back with.
    pub current: ReassignmentPlan,
    /// The same partitions as the proposal places them.
    pub proposed: ReassignmentPlan,
    /// Replicas that land on a broker that did not hold them.
    pub moved_replicas: usize,
    pub total_replicas: usize,
    /// Broker -> (replicas, preferred leaderships) of the topics once the
    /// proposal is carried out.
    pub load: BTreeMap<i32, (usize, usize)>,
}

/// Spreads the replicas and the preferred leaders of the partitions in
/// `current` evenly over `brokers`, moving as few replicas and leaders as
/// possible. Within each topic every broker gets its share of the replicas
/// and of the leaders give or take one, and the topics' odd ones go to the
/// brokers with the fewest so far, so the brokers' totals are even too.
/// Replication factors are kept.
pub fn propose(current: &Assignment, brokers: &[i32]) -> Result<Proposal> {
    let brokers: Vec<i32> = brokers
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if brokers.is_empty() {
        return Err(ClientError::Invalid(
            "no brokers to spread over".to_string(),
        ));
    }
    let mut by_topic: BTreeMap<&str, Vec<(i32, &Vec<i32>)>> = BTreeMap::new();
    for (tp, replicas) in current {
        by_topic
            .entry(&tp.topic)
            .or_default()
            .push((tp.partition, replicas));
    }
    let mut replicas_so_far = vec![0usize; brokers.len()];
    let mut leaders_so_far = vec![0usize; brokers.len()];
    let (mut current_plan, mut proposed_plan) = (Vec::new(), Vec::new());
    let (mut moved, mut total) = (0, 0);
    for (topic, partitions) in by_topic {
        let (ids, partitions): (Vec<i32>, Vec<Vec<i32>>) = partitions
            .into_iter()
            .map(|(id, replicas)| (id, replicas.clone()))
            .unzip();
        if let Some(rf) = partitions
            .iter()
            .map(Vec::len)
            .find(|rf| *rf > brokers.len())
        {
            return Err(ClientError::Invalid(format!(
                "topic '{topic}' has {rf} replicas of a partition but only {} brokers \
                 are given",
                brokers.len()
            )));
        }
        let placed = place_replicas(&partitions, &brokers, &mut replicas_so_far);
        let led = order_leaders(&partitions, placed, &brokers, &mut leaders_so_far);
        for ((id, now), next) in ids.into_iter().zip(&partitions).zip(led) {
            total += next.len();
            if *now == next {
                continue;
            }
            moved += next.iter().filter(|b| !now.contains(b)).count();
            current_plan.push(PartitionReplicas::new(topic, id, now.clone()));
            proposed_plan.push(PartitionReplicas::new(topic, id, next));
        }
    }
    let load = brokers
        .iter()
        .zip(replicas_so_far.into_iter().zip(leaders_so_far))
        .map(|(b, counts)| (*b, counts))
        .collect();
    Ok(Proposal {
        current: ReassignmentPlan::new(current_plan),
        proposed: ReassignmentPlan::new(proposed_plan),
        moved_replicas: moved,
        total_replicas: total,
        load,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TopicsToMove {
    topics: Vec<TopicToMove>,
    version: Option<i32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TopicToMove {
    topic: String,
}

/// Reads Kafka's `{"topics":[{"topic":"a"}],"version":1}`, the topics
/// `--generate` is to place; `source` names where the text came from.
pub fn parse_topics_to_move(text: &str, source: &str) -> Result<Vec<String>> {
    let invalid = |why: String| ClientError::Invalid(format!("{source}: {why}"));
    let file: TopicsToMove =
        serde_json::from_str(text).map_err(|e| invalid(format!("not a list of topics: {e}")))?;
    if let Some(version) = file.version.filter(|v| *v != 1) {
        return Err(invalid(format!(
            "version {version} is not supported (only 1)"
        )));
    }
    if file.topics.is_empty() {
        return Err(invalid("no topics named".to_string()));
    }
    Ok(file.topics.into_iter().map(|t| t.topic).collect())
}

/// Each broker's share of `units`: all get the quotient, and the brokers
/// with the fewest `so_far` (then the most `held` now, then the lowest id)
/// one more each, so that totals across topics stay even.
fn shares(units: usize, so_far: &[usize], held: &[usize]) -> Vec<i64> {
    let k = so_far.len();
    let mut share = vec![(units / k) as i64; k];
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by_key(|&b| (so_far[b], std::cmp::Reverse(held[b]), b));
    for &b in order.iter().take(units % k) {
        share[b] += 1;
    }
    share
}

/// source -> partition -> broker -> sink, each broker taking its share
/// free and, should the shares not fit, more at a price above any number
/// of moves; a unit that stays where it is costs nothing.
struct ShareNetwork {
    net: Network,
    partitions: usize,
    share: Vec<i64>,
    into_sink: Vec<usize>,
    kept: Vec<i64>,
}

const SOURCE: usize = 0;
const SINK: usize = 1;

impl ShareNetwork {
    fn new(partitions: usize, share: Vec<i64>, over_share: i64) -> ShareNetwork {
        let k = share.len();
        let mut net = Network::new(2 + partitions + k);
        let into_sink = (0..k)
            .map(|b| {
                let broker = 2 + partitions + b;
                net.add_edge(broker, SINK, over_share, over_share);
                net.add_edge(broker, SINK, share[b], 0)
            })
            .collect();
        ShareNetwork {
            net,
            partitions,
            share,
            into_sink,
            kept: vec![0; k],
        }
    }

    fn units_from_source(&mut self, partition: usize, units: i64) -> usize {
        self.net.add_edge(SOURCE, 2 + partition, units, 0)
    }

    /// One unit from `partition` to broker `b`, free where it `stays`.
    fn unit_to_broker(
        &mut self,
        partition: usize,
        b: usize,
        from_source: usize,
        stays: bool,
    ) -> usize {
        let e = self
            .net
            .add_edge(2 + partition, 2 + self.partitions + b, 1, i64::from(!stays));
        // Keeping a unit where it is, within its broker's share, costs
        // nothing and is never worse, so start from that.
        if stays && self.kept[b] < self.share[b] {
            self.kept[b] += 1;
            for edge in [from_source, e, self.into_sink[b]] {
                self.net.push(edge, 1);
            }
        }
        e
    }

    fn solve(mut self) -> Network {
        self.net.saturate(SOURCE, SINK);
        self.net
    }
}

/// The brokers (indexes into `brokers`) of each partition: every broker's
/// share filled, as few replicas moved as can be.
fn place_replicas(
    partitions: &[Vec<i32>],
    brokers: &[i32],
    so_far: &mut [usize],
) -> Vec<Vec<usize>> {
    let k = brokers.len();
    let holds = |p: &Vec<i32>, b: usize| p.contains(&brokers[b]);
    let held: Vec<usize> = (0..k)
        .map(|b| partitions.iter().filter(|p| holds(p, b)).count())
        .collect();
    let units: usize = partitions.iter().map(Vec::len).sum();
    let share = shares(units, so_far, &held);

    // Each partition sends its replication factor, one replica per broker.
    let mut net = ShareNetwork::new(partitions.len(), share, units as i64 + 1);
    let edges: Vec<Vec<usize>> = partitions
        .iter()
        .enumerate()
        .map(|(p, replicas)| {
            let from_source = net.units_from_source(p, replicas.len() as i64);
            (0..k)
                .map(|b| net.unit_to_broker(p, b, from_source, holds(replicas, b)))
                .collect()
        })
        .collect();
    let net = net.solve();
    edges
        .iter()
        .map(|to_brokers| {
            let chosen: Vec<usize> = (0..k).filter(|&b| net.flow(to_brokers[b]) > 0).collect();
            for &b in &chosen {
                so_far[b] += 1;
            }
            chosen
        })
        .collect()
}

/// Each partition's new replica list: the preferred leader first (shares
/// of leadership as even as the placement allows, current leaders kept
/// where they can be), then the replicas it keeps in their current order,
/// then the new ones.
fn order_leaders(
    partitions: &[Vec<i32>],
    placed: Vec<Vec<usize>>,
    brokers: &[i32],
    so_far: &mut [usize],
) -> Vec<Vec<i32>> {
    let k = brokers.len();
    let leads = |p: &Vec<i32>, b: usize| p.first() == Some(&brokers[b]);
    let held: Vec<usize> = (0..k)
        .map(|b| partitions.iter().filter(|p| leads(p, b)).count())
        .collect();
    let share = shares(partitions.len(), so_far, &held);

    // Each partition sends one leader, among the brokers it was placed on.
    let mut net = ShareNetwork::new(partitions.len(), share, partitions.len() as i64 + 1);
    let edges: Vec<Vec<(usize, usize)>> = placed
        .iter()
        .enumerate()
        .map(|(p, chosen)| {
            let from_source = net.units_from_source(p, 1);
            chosen
                .iter()
                .map(|&b| {
                    (
                        b,
                        net.unit_to_broker(p, b, from_source, leads(&partitions[p], b)),
                    )
                })
                .collect()
        })
        .collect();
    let net = net.solve();
    partitions
        .iter()
        .zip(&edges)
        .map(|(now, candidates)| {
            let leader = candidates
                .iter()
                .find(|(_, e)| net.flow(*e) > 0)
                .map(|(b, _)| *b);
            let mut next = Vec::with_capacity(candidates.len());
            if let Some(b) = leader {
                so_far[b] += 1;
                next.push(brokers[b]);
            }
            let others: Vec<i32> = candidates
                .iter()
                .map(|(b, _)| brokers[*b])
                .filter(|b| next.first() != Some(b))
                .collect();
            next.extend(now.iter().filter(|b| others.contains(b)));
            next.extend(others.iter().filter(|b| !now.contains(b)));
            next
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topic_partition::TopicPartition;

    fn topics(spec: &[(&str, &[&[i32]])]) -> Assignment {
        spec.iter()
            .flat_map(|(t, parts)| {
                parts
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (TopicPartition::new(*t, i as i32), p.to_vec()))
            })
            .collect()
    }

    /// (replicas, leaders) per broker over the whole assignment after
    /// `proposal`, checked against what the proposal says of itself.
    fn counts(
        current: &Assignment,
        proposal: &Proposal,
    ) -> (BTreeMap<i32, usize>, BTreeMap<i32, usize>) {
        let mut after = current.clone();
        for p in &proposal.proposed.partitions {
            after.insert(
                TopicPartition::new(p.topic.clone(), p.partition),
                p.replicas.clone(),
            );
        }
        let (mut replicas, mut leaders) = (BTreeMap::new(), BTreeMap::new());
        for p in after.values() {
            for b in p {
                *replicas.entry(*b).or_default() += 1;
            }
            *leaders.entry(p[0]).or_default() += 1;
        }
        for (b, (r, l)) in &proposal.load {
            assert_eq!(
                (
                    replicas.get(b).copied().unwrap_or(0),
                    leaders.get(b).copied().unwrap_or(0)
                ),
                (*r, *l),
                "load of broker {b}"
            );
        }
        (replicas, leaders)
    }

    #[test]
    fn a_new_broker_gets_its_share_with_the_fewest_moves() {
        let current = topics(&[(
            "a",
            &[
                &[1, 2, 3],
                &[2, 3, 1],
                &[3, 1, 2],
                &[1, 3, 2],
                &[2, 1, 3],
                &[3, 2, 1],
                &[1, 2, 3],
                &[2, 3, 1],
            ],
        )]);
        let proposal = propose(&current, &[1, 2, 3, 4]).unwrap();
        let (replicas, leaders) = counts(&current, &proposal);
        assert_eq!(replicas.values().copied().collect::<Vec<_>>(), [6, 6, 6, 6]);
        assert_eq!(leaders.values().copied().collect::<Vec<_>>(), [2, 2, 2, 2]);
        assert_eq!(proposal.moved_replicas, 6, "only broker 4's share moves");
        assert_eq!(proposal.total_replicas, 24);
        for (now, next) in proposal
            .current
            .partitions
            .iter()
            .zip(&proposal.proposed.partitions)
        {
            assert_eq!((&now.topic, now.partition), (&next.topic, next.partition));
            assert_eq!(next.replicas.len(), 3, "replication factor kept");
            assert_eq!(
                current[&TopicPartition::new("a", now.partition)],
                now.replicas,
                "the rollback plan is the current assignment"
            );
        }
    }

    #[test]
    fn a_balanced_assignment_is_left_alone() {
        let current = topics(&[("a", &[&[1, 2], &[2, 3], &[3, 1]])]);
        let proposal = propose(&current, &[3, 2, 1]).unwrap();
        assert!(proposal.proposed.partitions.is_empty());
        assert_eq!(proposal.moved_replicas, 0);
    }

    #[test]
    fn brokers_left_out_are_emptied_and_totals_stay_even_across_topics() {
        // Three single-partition topics, all on broker 1: each topic is
        // balanced on its own whichever broker holds it, but the totals
        // are only even if they spread.
        let current = topics(&[
            ("a", &[&[1]]),
            ("b", &[&[1]]),
            ("c", &[&[1]]),
            ("d", &[&[5, 1]]),
        ]);
        let proposal = propose(&current, &[1, 2, 3]).unwrap();
        let (replicas, leaders) = counts(&current, &proposal);
        assert!(!replicas.contains_key(&5), "{replicas:?}");
        let spread: Vec<usize> = replicas.values().copied().collect();
        assert!(
            spread.iter().max().unwrap() - spread.iter().min().unwrap() <= 1,
            "{replicas:?}"
        );
        assert_eq!(leaders.values().copied().collect::<Vec<_>>(), [2, 1, 1]);
        assert_eq!(
            proposal.moved_replicas, 3,
            "two of a, b, c and d's replica on 5"
        );
    }

    #[test]
    fn leaders_move_without_replicas_when_only_leadership_is_uneven() {
        let current = topics(&[("a", &[&[1, 2], &[1, 2]])]);
        let proposal = propose(&current, &[1, 2]).unwrap();
        assert_eq!(proposal.moved_replicas, 0);
        assert_eq!(proposal.proposed.partitions.len(), 1);
        let (_, leaders) = counts(&current, &proposal);
        assert_eq!(leaders.values().copied().collect::<Vec<_>>(), [1, 1]);
    }

    #[test]
    fn too_few_brokers_for_a_replication_factor() {
        let current = topics(&[("a", &[&[1, 2, 3]])]);
        let e = propose(&current, &[1, 2]).unwrap_err().to_string();
        assert!(e.contains("topic 'a' has 3 replicas"), "{e}");
    }

    #[test]
    fn topics_to_move_as_kafka_writes_them() {
        assert_eq!(
            parse_topics_to_move(
                r#"{"topics":[{"topic":"a"},{"topic":"b"}],"version":1}"#,
                "f"
            )
            .unwrap(),
            ["a", "b"]
        );
        for (text, expected) in [
            (r#"{"topics":[]}"#, "no topics"),
            (r#"{"topics":[{"name":"a"}]}"#, "unknown field `name`"),
            (r#"{"topics":[{"topic":"a"}],"version":3}"#, "version 3"),
        ] {
            let e = parse_topics_to_move(text, "f").unwrap_err().to_string();
            assert!(e.starts_with("f: ") && e.contains(expected), "{text}: {e}");
        }
    }

    #[test]
    fn plans_parse_as_kafka_writes_them_and_mistakes_are_named() {
        let plan = ReassignmentPlan::parse(
            r#"{"version":1,"partitions":[{"topic":"a","partition":0,"replicas":[1,2],"log_dirs":["any","any"]}]}"#,
            "plan.json",
        )
        .unwrap();
        assert_eq!(
            plan.to_json(),
            r#"{"version":1,"partitions":[{"topic":"a","partition":0,"replicas":[1,2]}]}"#
        );
        assert!(plan.partitions[0].replica_log_dirs().is_empty());
        let plan = ReassignmentPlan::parse(
            r#"{"version":1,"partitions":[{"topic":"a","partition":0,"replicas":[1,2],"log_dirs":["any","/d"]}]}"#,
            "plan.json",
        )
        .unwrap();
        assert_eq!(plan.partitions[0].replica_log_dirs(), [(2, "/d")]);
        for (text, expected) in [
            ("{", "not a reassignment plan"),
            (r#"{"version":2,"partitions":[]}"#, "version 2"),
            (r#"{"version":1,"partitions":[]}"#, "no partitions"),
            (
                r#"{"version":1,"partitions":[{"topic":"a","partition":0,"replica":[1]}]}"#,
                "unknown field `replica`",
            ),
            (
                r#"{"version":1,"partitions":[{"topic":"a","partition":0,"replicas":[1,1]}]}"#,
                "a-0 names broker 1 twice",
            ),
            (
                r#"{"version":1,"partitions":[{"topic":"a","partition":0,"replicas":[]}]}"#,
                "a-0 has no replicas",
            ),
            (
                r#"{"version":1,"partitions":[{"topic":"a","partition":0,"replicas":[1]},{"topic":"a","partition":0,"replicas":[2]}]}"#,
                "a-0 is named twice",
            ),
            (
                r#"{"version":1,"partitions":[{"topic":"a","partition":0,"replicas":[1],"log_dirs":["d"]}]}"#,
                "neither \"any\" nor an absolute path",
            ),
        ] {
            let e = ReassignmentPlan::parse(text, "plan.json")
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("plan.json: "), "{e}");
            assert!(e.contains(expected), "{text}: {e}");
        }
    }
}
