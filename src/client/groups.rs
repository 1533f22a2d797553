//! Consumer groups through the admin facade, as kafka-consumer-groups.sh
//! sees them: listings, descriptions, lag per partition and offset resets.

use std::collections::{BTreeMap, BTreeSet};

use kafka_protocol::error::ResponseError;
use serde::Serialize;

use super::admin::Admin;
use super::consumer::record_timestamps;
use super::error::{ClientError, Result};
use super::native::{self, OffsetQuery, TopicPartition};
use super::offset_spec::now_ms;
use super::retry::{commit_retriable, rebalancing, Backoff};
use super::wire;

mod protocol;

/// Which group protocol a group speaks: the classic JoinGroup/SyncGroup
/// protocol, KIP-848's ConsumerGroupHeartbeat or KIP-932's share groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum GroupType {
    Classic,
    Consumer,
    Share,
    Unknown,
}

impl std::fmt::Display for GroupType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            GroupType::Classic => "Classic",
            GroupType::Consumer => "Consumer",
            GroupType::Share => "Share",
            GroupType::Unknown => "Unknown",
        })
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct GroupListing {
    pub group_id: String,
    pub group_type: GroupType,
    /// A group that only commits offsets (no protocol type, no members).
    pub simple: bool,
    /// Kafka's name for the state, e.g. Stable or Empty.
    pub state: String,
}

/// What ListGroups gathered from the brokers.
#[derive(Clone, Debug, Default)]
pub struct GroupListings {
    /// By group id, each once.
    pub groups: Vec<GroupListing>,
    /// A line for each broker that could not be asked: its groups are
    /// missing from `groups`.
    pub failures: Vec<String>,
}

impl GroupListings {
    /// Which brokers' groups are missing and why, in one line.
    pub fn failure(&self) -> Option<String> {
        (!self.failures.is_empty()).then(|| {
            format!(
                "cannot list the groups of every broker: {}",
                self.failures.join("; ")
            )
        })
    }

    /// The groups, provided every broker answered.
    pub fn complete(self) -> Result<Vec<GroupListing>> {
        match self.failure() {
            None => Ok(self.groups),
            Some(failure) => Err(ClientError::Invalid(failure)),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Coordinator {
    pub id: i32,
    pub host: String,
    pub port: u16,
}

#[derive(Clone, Debug, Serialize)]
pub struct GroupMember {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub host: String,
    #[serde(serialize_with = "partition_objects")]
    pub assignment: Vec<TopicPartition>,
}

/// Partitions in JSON as {"topic", "partition"} objects rather than pairs.
fn partition_objects<S: serde::Serializer>(
    partitions: &[TopicPartition],
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Entry<'a> {
        topic: &'a str,
        partition: i32,
    }
    serializer.collect_seq(partitions.iter().map(|tp| Entry {
        topic: &tp.topic,
        partition: tp.partition,
    }))
}

#[derive(Clone, Debug, Serialize)]
pub struct GroupDescription {
    pub group_id: String,
    pub group_type: GroupType,
    pub simple: bool,
    pub state: String,
    pub assignor: String,
    pub coordinator: Option<Coordinator>,
    pub members: Vec<GroupMember>,
}

impl GroupDescription {
    /// How Kafka describes a group it does not know.
    pub(crate) fn dead(group_id: String) -> GroupDescription {
        GroupDescription {
            group_id,
            group_type: GroupType::Unknown,
            simple: false,
            state: "Dead".to_string(),
            assignor: String::new(),
            coordinator: None,
            members: Vec::new(),
        }
    }

    pub fn exists(&self) -> bool {
        self.state != "Dead"
    }

    /// Whether members are consuming, which rules out changing its offsets
    /// from outside: only Empty and Dead groups are inactive.
    pub fn is_active(&self) -> bool {
        !matches!(self.state.as_str(), "Empty" | "Dead")
    }

    /// The member a partition is assigned to; none in a share group,
    /// where several members read each partition.
    fn owner(&self, partition: &TopicPartition) -> Option<&GroupMember> {
        if self.group_type == GroupType::Share {
            return None;
        }
        self.members
            .iter()
            .find(|m| m.assignment.contains(partition))
    }
}

/// Where a group stands in one partition.
#[derive(Clone, Debug, Serialize)]
pub struct PartitionLag {
    pub topic: String,
    pub partition: i32,
    /// The committed offset; None when the group has committed none.
    pub current_offset: Option<i64>,
    pub log_end_offset: i64,
    pub lag: Option<i64>,
    /// The age of the oldest record not yet consumed, in milliseconds: 0
    /// when there is none, None when it cannot be told.
    pub lag_time_ms: Option<i64>,
    pub consumer_id: Option<String>,
    pub host: Option<String>,
    pub client_id: Option<String>,
}

/// A group's description together with its lag in every partition it has
/// committed offsets for or has assigned.
#[derive(Clone, Debug, Serialize)]
pub struct GroupLag {
    #[serde(flatten)]
    pub description: GroupDescription,
    pub partitions: Vec<PartitionLag>,
}

/// One topic's lag summed over its partitions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TopicLag {
    pub lag: i64,
    /// The oldest unconsumed record's age across the partitions.
    pub lag_time_ms: Option<i64>,
}

impl GroupLag {
    pub fn by_topic(&self) -> BTreeMap<String, TopicLag> {
        let mut out: BTreeMap<String, TopicLag> = BTreeMap::new();
        for p in &self.partitions {
            let t = out.entry(p.topic.clone()).or_default();
            t.lag += p.lag.unwrap_or(0);
            t.lag_time_ms = t.lag_time_ms.max(p.lag_time_ms);
        }
        out
    }

    /// Members that have no partition, which a lag table would not show.
    pub fn idle_members(&self) -> impl Iterator<Item = &GroupMember> {
        self.description
            .members
            .iter()
            .filter(|m| m.assignment.is_empty())
    }
}

/// The committed offsets short of the log end: the records whose age
/// LAG-TIME tells.
fn behind(
    committed: &BTreeMap<TopicPartition, i64>,
    ends: &BTreeMap<TopicPartition, i64>,
) -> BTreeMap<TopicPartition, i64> {
    committed
        .iter()
        .filter(|(tp, offset)| ends.get(*tp).is_some_and(|end| end > offset))
        .map(|(tp, offset)| (tp.clone(), *offset))
        .collect()
}

/// The partitions a lag table shows: those the group has committed an
/// offset for or has assigned to a member.
fn lag_partitions(
    description: &GroupDescription,
    committed: &BTreeMap<TopicPartition, i64>,
) -> BTreeSet<TopicPartition> {
    committed
        .keys()
        .cloned()
        .chain(
            description
                .members
                .iter()
                .flat_map(|m| m.assignment.iter().cloned()),
        )
        .collect()
}

/// Where reset-offsets moves a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResetTo {
    /// Each partition of a file written by --export (`from_csv`) to its
    /// offset there, kept within the log's range; the file names the
    /// partitions.
    FromFile(BTreeMap<TopicPartition, i64>),
    Earliest,
    Latest,
    /// The committed offset, or the end where there is none.
    Current,
    /// An absolute offset, kept within the log's range.
    Offset(i64),
    /// The first record at or after this time (epoch ms), or the end.
    Datetime(i64),
    /// The committed offset moved by this many records, kept within range.
    ShiftBy(i64),
}

/// A reset plan as kafka-consumer-groups.sh --reset-offsets --export
/// writes it: `topic,partition,offset` lines.
pub fn offsets_csv(plan: &[OffsetReset]) -> String {
    plan.iter()
        .map(|r| format!("{},{},{}\n", r.topic, r.partition, r.new_offset))
        .collect()
}

/// Reads what `offsets_csv` writes, or the `group,topic,partition,offset`
/// lines kafka-consumer-groups.sh exports for several groups (of which
/// `group`'s are taken), for reset-offsets --from-file.
pub fn from_csv(text: &str, group: &str) -> Result<BTreeMap<TopicPartition, i64>> {
    let mut offsets = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let bad = |why: &str| {
            ClientError::Invalid(format!(
                "line {}: '{line}' {why}; expected topic,partition,offset (or group,topic,partition,offset)",
                n + 1
            ))
        };
        let (topic, partition, offset) = match fields[..] {
            [t, p, o] => (t, p, o),
            [g, t, p, o] if g == group => (t, p, o),
            [_, _, _, _] => continue,
            _ => return Err(bad("has the wrong number of fields")),
        };
        let partition: i32 = partition
            .parse()
            .ok()
            .filter(|p| *p >= 0)
            .ok_or_else(|| bad("has no partition number"))?;
        let offset: i64 = offset
            .parse()
            .ok()
            .filter(|o| *o >= 0)
            .ok_or_else(|| bad("has no offset"))?;
        if topic.is_empty() {
            return Err(bad("has no topic"));
        }
        offsets.insert(TopicPartition::new(topic, partition), offset);
    }
    if offsets.is_empty() {
        return Err(ClientError::Invalid(format!(
            "the file holds no offsets for group '{group}'"
        )));
    }
    Ok(offsets)
}

/// Which partitions reset-offsets moves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResetScope {
    /// Each topic with the partitions named, or all of its partitions.
    Topics(Vec<(String, Option<Vec<i32>>)>),
    /// Every partition the group has committed offsets for.
    AllTopics,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OffsetReset {
    pub topic: String,
    pub partition: i32,
    pub current_offset: Option<i64>,
    pub new_offset: i64,
}

/// What DeleteGroups did to one group.
#[derive(Clone, Debug)]
pub struct GroupDeletion {
    pub group: String,
    /// Why the group is still there, with Kafka's name for the error
    /// (NonEmptyGroup while it has members, GroupIdNotFound for none).
    pub error: Option<String>,
}

/// What delete-offsets did to one partition.
#[derive(Clone, Debug)]
pub struct OffsetDeletion {
    pub partition: TopicPartition,
    /// Why the partition kept its offset (GroupSubscribedToTopic while
    /// the group still reads the topic).
    pub error: Option<String>,
}

/// kafka-consumer-groups.sh's refusal to reset the offsets of a group
/// with members: they would overwrite the reset with their next commit.
pub(crate) fn still_active(group: &str, state: &str) -> ClientError {
    ClientError::Invalid(format!(
        "assignments can only be reset if the group '{group}' is inactive, but the current state is {state}"
    ))
}

/// A commit from outside the group, unless it was refused because the
/// group has members and `describe` finds it active: then
/// kafka-consumer-groups.sh's refusal ([`still_active`]).
pub(crate) async fn unless_still_active(
    group: &str,
    committed: Result<()>,
    describe: impl std::future::Future<Output = Result<GroupDescription>>,
) -> Result<()> {
    match committed {
        Err(e) if refused_for_members(&e) => {
            let description = describe.await?;
            if description.is_active() {
                return Err(still_active(group, &description.state));
            }
            Err(e)
        }
        committed => committed,
    }
}

/// Whether a commit from outside the group was refused because the group
/// has members: it rebalances, or names no member the commit could be
/// from (UNKNOWN_MEMBER_ID, Kafka's answer to a commit without a member
/// id to a group with members).
pub(crate) fn refused_for_members(error: &ClientError) -> bool {
    use rdkafka::types::RDKafkaErrorCode;
    let unknown_member = match error {
        ClientError::Protocol { code, .. } => *code == ResponseError::UnknownMemberId.code(),
        ClientError::Broker { code, .. } => *code == RDKafkaErrorCode::UnknownMemberId,
        _ => false,
    };
    unknown_member || rebalancing(error)
}

impl Admin {
    /// The consumer groups of every broker, those in `states` and of
    /// `types` as far as the brokers filter (any when empty): over the
    /// tools' own connection whenever it can honour the security settings,
    /// else through librdkafka, which fails as a whole when one broker
    /// does not answer.
    pub async fn list_groups(
        &self,
        states: &[String],
        types: &[GroupType],
    ) -> Result<GroupListings> {
        if wire::supports(&self.settings) {
            return protocol::Cluster::connect(&self.settings)
                .await?
                .list_groups(states, types)
                .await;
        }
        let timeout = self.settings.timeout;
        let groups = self
            .blocking(move |_, handle| native::list_consumer_groups(handle, timeout))
            .await?;
        Ok(GroupListings {
            groups,
            failures: Vec::new(),
        })
    }

    /// Each group as its coordinator describes it: over the tools' own
    /// connection whenever it can honour the security settings (see
    /// `protocol`), else through librdkafka.
    pub async fn describe_groups(&self, groups: &[String]) -> Result<Vec<GroupDescription>> {
        if wire::supports(&self.settings) {
            let mut cluster = protocol::Cluster::connect(&self.settings).await?;
            let mut out = Vec::with_capacity(groups.len());
            for group in groups {
                out.push(cluster.describe_group(group).await?);
            }
            return Ok(out);
        }
        let groups = groups.to_vec();
        let timeout = self.settings.timeout;
        self.blocking(move |_, handle| native::describe_consumer_groups(handle, &groups, timeout))
            .await
    }

    pub async fn describe_group(&self, group: &str) -> Result<GroupDescription> {
        self.describe_groups(&[group.to_string()])
            .await?
            .pop()
            .ok_or_else(|| ClientError::Invalid(format!("no description of group '{group}'")))
    }

    /// Every partition `group` has committed an offset for, and the offset.
    pub async fn committed_offsets(&self, group: &str) -> Result<BTreeMap<TopicPartition, i64>> {
        if wire::supports(&self.settings) {
            return protocol::Cluster::connect(&self.settings)
                .await?
                .committed_offsets(group)
                .await;
        }
        let group = group.to_string();
        let timeout = self.settings.timeout;
        self.blocking(move |_, handle| native::list_consumer_group_offsets(handle, &group, timeout))
            .await
    }

    /// Every share-partition of share group `group` and its start offset;
    /// share groups are only asked over the tools' own connection.
    pub async fn share_start_offsets(&self, group: &str) -> Result<BTreeMap<TopicPartition, i64>> {
        protocol::Cluster::connect(&self.settings)
            .await?
            .share_start_offsets(group)
            .await
    }

    /// Whether `group` is a share group (which only the tools' own
    /// connection can tell).
    async fn is_share_group(&self, group: &str) -> Result<bool> {
        if !wire::supports(&self.settings) {
            return Ok(false);
        }
        Ok(self.describe_group(group).await?.group_type == GroupType::Share)
    }

    /// ListOffsets for every partition, to each partition's leader, as
    /// kafka-get-offsets.sh and the lag computations ask it; -1 where no
    /// record answers a time. Over the tools' own connection whenever it
    /// can honour the security settings, else through librdkafka.
    pub async fn list_offsets(
        &self,
        partitions: Vec<TopicPartition>,
        query: OffsetQuery,
    ) -> Result<BTreeMap<TopicPartition, i64>> {
        if wire::supports(&self.settings) {
            return protocol::Cluster::connect(&self.settings)
                .await?
                .list_offsets(&partitions, query)
                .await;
        }
        let timeout = self.settings.timeout;
        self.blocking(move |_, handle| native::list_offsets(handle, &partitions, query, timeout))
            .await
    }

    /// The group's lag: committed offset against log end offset in every
    /// partition it has committed or has assigned, with the member that
    /// owns each and the age of the oldest record it has yet to consume.
    ///
    /// Over the tools' own connection whenever it can honour the security
    /// settings, so that `describe --watch` lives through a broker restart.
    pub async fn group_lag(&self, group: &str) -> Result<GroupLag> {
        let (description, committed, partitions, ends, timestamps) =
            if wire::supports(&self.settings) {
                let mut cluster = protocol::Cluster::connect(&self.settings).await?;
                let description = cluster.describe_group(group).await?;
                // A share group's "offset" is where each share-partition
                // starts: the records before it are all acknowledged.
                let committed = if description.group_type == GroupType::Share {
                    cluster.share_start_offsets(group).await?
                } else {
                    cluster.committed_offsets(group).await?
                };
                let partitions = lag_partitions(&description, &committed);
                let ends = cluster
                    .list_offsets(
                        &partitions.iter().cloned().collect::<Vec<_>>(),
                        OffsetQuery::Latest,
                    )
                    .await?;
                let timestamps = cluster
                    .record_timestamps(&behind(&committed, &ends))
                    .await?;
                (description, committed, partitions, ends, timestamps)
            } else {
                let description = self.describe_group(group).await?;
                let committed = self.committed_offsets(group).await?;
                let partitions = lag_partitions(&description, &committed);
                let ends = self
                    .list_offsets(partitions.iter().cloned().collect(), OffsetQuery::Latest)
                    .await?;
                let (settings, behind) = (self.settings.clone(), behind(&committed, &ends));
                let timestamps =
                    tokio::task::spawn_blocking(move || record_timestamps(&settings, &behind))
                        .await
                        .map_err(|e| {
                            ClientError::Invalid(format!("cannot read record timestamps: {e}"))
                        })??;
                (description, committed, partitions, ends, timestamps)
            };
        let now = now_ms();
        let partitions = partitions
            .into_iter()
            .map(|tp| {
                let current = committed.get(&tp).copied();
                let end = ends.get(&tp).copied().unwrap_or(-1);
                let lag = current.map(|c| (end - c).max(0));
                let lag_time_ms = match lag {
                    Some(0) => Some(0),
                    Some(_) => timestamps.get(&tp).map(|ts| (now - ts).max(0)),
                    None => None,
                };
                let owner = description.owner(&tp);
                PartitionLag {
                    topic: tp.topic.clone(),
                    partition: tp.partition,
                    current_offset: current,
                    log_end_offset: end,
                    lag,
                    lag_time_ms,
                    consumer_id: owner.map(|m| m.member_id.clone()),
                    host: owner.map(|m| m.host.clone()),
                    client_id: owner.map(|m| m.client_id.clone()),
                }
            })
            .collect();
        Ok(GroupLag {
            description,
            partitions,
        })
    }

    /// The offsets a reset would commit, computed without changing anything.
    /// Refused while the group has members, as Kafka refuses it: they would
    /// overwrite the reset with their next commit.
    pub async fn plan_offset_reset(
        &self,
        group: &str,
        scope: &ResetScope,
        to: &ResetTo,
    ) -> Result<Vec<OffsetReset>> {
        let description = self.describe_group(group).await?;
        if description.is_active() {
            return Err(still_active(group, &description.state));
        }
        let committed = if description.group_type == GroupType::Share {
            self.share_start_offsets(group).await?
        } else {
            self.committed_offsets(group).await?
        };
        let partitions: Vec<TopicPartition> = match (to, scope) {
            (ResetTo::FromFile(offsets), _) => {
                let wanted: Vec<(String, Option<Vec<i32>>)> = offsets
                    .keys()
                    .map(|tp| (tp.topic.clone(), Some(vec![tp.partition])))
                    .collect();
                self.scope_partitions(&wanted).await?
            }
            (_, ResetScope::AllTopics) => committed.keys().cloned().collect(),
            (_, ResetScope::Topics(topics)) => self.scope_partitions(topics).await?,
        };
        let earliest = self
            .list_offsets(partitions.clone(), OffsetQuery::Earliest)
            .await?;
        let latest = self
            .list_offsets(partitions.clone(), OffsetQuery::Latest)
            .await?;
        let by_time = match to {
            ResetTo::Datetime(ms) => {
                self.list_offsets(partitions.clone(), OffsetQuery::Time(*ms))
                    .await?
            }
            _ => BTreeMap::new(),
        };
        partitions
            .into_iter()
            .map(|tp| {
                let (low, high) = (
                    earliest.get(&tp).copied().unwrap_or(0),
                    latest.get(&tp).copied().unwrap_or(0),
                );
                let current = committed.get(&tp).copied();
                let new_offset = match to {
                    ResetTo::Earliest => low,
                    ResetTo::Latest => high,
                    ResetTo::Current => current.unwrap_or(high),
                    ResetTo::Offset(n) => (*n).clamp(low, high),
                    ResetTo::FromFile(offsets) => offsets
                        .get(&tp)
                        .copied()
                        .unwrap_or(high)
                        .clamp(low, high),
                    ResetTo::Datetime(_) => match by_time.get(&tp) {
                        Some(o) if *o >= 0 => *o,
                        _ => high,
                    },
                    ResetTo::ShiftBy(n) => {
                        let c = current.ok_or_else(|| {
                            ClientError::Invalid(format!(
                                "cannot shift the offset of {tp}: the group has no committed offset there"
                            ))
                        })?;
                        c.saturating_add(*n).clamp(low, high)
                    }
                };
                Ok(OffsetReset {
                    topic: tp.topic,
                    partition: tp.partition,
                    current_offset: current,
                    new_offset,
                })
            })
            .collect()
    }

    /// The partitions named by `--topic T[:P,...]` arguments; a topic alone
    /// stands for all of its partitions.
    async fn scope_partitions(
        &self,
        topics: &[(String, Option<Vec<i32>>)],
    ) -> Result<Vec<TopicPartition>> {
        let described = self.describe_topics(None).await?;
        let mut out = BTreeSet::new();
        for (topic, only) in topics {
            let existing: Vec<i32> = described
                .iter()
                .find(|t| &t.name == topic)
                .ok_or_else(|| ClientError::Invalid(format!("topic '{topic}' does not exist")))?
                .partitions
                .iter()
                .map(|p| p.id)
                .collect();
            match only {
                None => out.extend(
                    existing
                        .into_iter()
                        .map(|p| TopicPartition::new(topic.clone(), p)),
                ),
                Some(wanted) => {
                    for p in wanted {
                        if !existing.contains(p) {
                            return Err(ClientError::Invalid(format!(
                                "topic '{topic}' has no partition {p}"
                            )));
                        }
                        out.insert(TopicPartition::new(topic.clone(), *p));
                    }
                }
            }
        }
        Ok(out.into_iter().collect())
    }

    /// Commits a planned reset; the group must still be inactive, which the
    /// broker checks too (a member's commit would be refused otherwise).
    /// A commit refused by a rebalance is made again until the timeout, as
    /// Kafka's admin client does; one refused because members came (or
    /// stayed) says so as the plan would have. Over the tools' own
    /// connection whenever it can honour the security settings, else
    /// through librdkafka.
    pub async fn execute_offset_reset(&self, group: &str, plan: &[OffsetReset]) -> Result<()> {
        let offsets: BTreeMap<TopicPartition, i64> = plan
            .iter()
            .map(|r| {
                (
                    TopicPartition::new(r.topic.clone(), r.partition),
                    r.new_offset,
                )
            })
            .collect();
        if self.is_share_group(group).await? {
            let altered = protocol::Cluster::connect(&self.settings)
                .await?
                .alter_share_offsets(group, &offsets)
                .await;
            return match altered {
                Err(ClientError::Protocol { code, .. })
                    if code == ResponseError::NonEmptyGroup.code() =>
                {
                    let state = self.describe_group(group).await?.state;
                    Err(still_active(group, &state))
                }
                altered => altered,
            };
        }
        if wire::supports(&self.settings) {
            return protocol::Cluster::connect(&self.settings)
                .await?
                .commit_offsets(group, &offsets)
                .await;
        }
        let timeout = self.settings.timeout;
        let mut backoff = Backoff::until(tokio::time::Instant::now() + timeout);
        let committed = loop {
            let (group, offsets) = (group.to_string(), offsets.clone());
            match self
                .blocking(move |_, handle| {
                    native::alter_consumer_group_offsets(handle, &group, &offsets, timeout)
                })
                .await
            {
                Err(e) if commit_retriable(&e) && backoff.wait().await => continue,
                committed => break committed,
            }
        };
        unless_still_active(group, committed, self.describe_group(group)).await
    }

    /// DeleteGroups at each group's coordinator; a group with members is
    /// refused with NonEmptyGroup. Over the tools' own connection whenever
    /// it can honour the security settings, else through librdkafka.
    pub async fn delete_groups(&self, groups: &[String]) -> Result<Vec<GroupDeletion>> {
        if wire::supports(&self.settings) {
            return protocol::Cluster::connect(&self.settings)
                .await?
                .delete_groups(groups)
                .await;
        }
        let refs: Vec<&str> = groups.iter().map(String::as_str).collect();
        let results = self
            .client
            .delete_groups(&refs, &self.options())
            .await
            .map_err(ClientError::kafka("cannot delete groups"))?;
        Ok(results
            .into_iter()
            .map(|r| match r {
                Ok(group) => GroupDeletion { group, error: None },
                Err((group, code)) => GroupDeletion {
                    error: Some(
                        ClientError::Broker {
                            context: format!("cannot delete group '{group}'"),
                            code,
                            message: None,
                        }
                        .to_string(),
                    ),
                    group,
                },
            })
            .collect())
    }

    /// OffsetDelete for the partitions `--topic T[:P,...]` names: over
    /// the tools' own connection whenever it can honour the security
    /// settings, else through librdkafka.
    pub async fn delete_offsets(
        &self,
        group: &str,
        topics: &[(String, Option<Vec<i32>>)],
    ) -> Result<Vec<OffsetDeletion>> {
        let partitions = self.scope_partitions(topics).await?;
        if self.is_share_group(group).await? {
            return self.delete_share_offsets(group, topics, &partitions).await;
        }
        if wire::supports(&self.settings) {
            return protocol::Cluster::connect(&self.settings)
                .await?
                .delete_offsets(group, &partitions)
                .await;
        }
        let group = group.to_string();
        let timeout = self.settings.timeout;
        self.blocking(move |_, handle| {
            native::delete_consumer_group_offsets(handle, &group, &partitions, timeout)
        })
        .await
    }

    /// DeleteShareGroupOffsets: Kafka forgets a share group's state a
    /// whole topic at a time, so only whole topics may be named; each
    /// topic's outcome is told for each of its partitions.
    async fn delete_share_offsets(
        &self,
        group: &str,
        topics: &[(String, Option<Vec<i32>>)],
        partitions: &[TopicPartition],
    ) -> Result<Vec<OffsetDeletion>> {
        if let Some((topic, _)) = topics.iter().find(|(_, only)| only.is_some()) {
            return Err(ClientError::Invalid(format!(
                "'{group}' is a share group, whose offsets are deleted a whole topic at a time: name '{topic}' without partitions"
            )));
        }
        let names: Vec<String> = topics.iter().map(|(t, _)| t.clone()).collect();
        let deleted = protocol::Cluster::connect(&self.settings)
            .await?
            .delete_share_offsets(group, &names)
            .await?;
        Ok(partitions
            .iter()
            .map(|tp| OffsetDeletion {
                partition: tp.clone(),
                error: deleted
                    .iter()
                    .find(|d| d.topic == tp.topic)
                    .map_or(Some("no answer for it".to_string()), |d| d.error.clone()),
            })
            .collect())
    }
}
