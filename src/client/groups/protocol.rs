//! Group listings, descriptions, deletions, committed offsets and log end
//! offsets over the tools' own Kafka-protocol connection (ListGroups,
//! FindCoordinator, ConsumerGroupDescribe or DescribeGroups, DeleteGroups,
//! OffsetFetch, Metadata, ListOffsets), as Kafka's admin client asks them. librdkafka's admin calls cannot serve a tool that
//! outlives a broker restart: 2.12.1 aborts the process when the broker
//! comes back after a DescribeConsumerGroups that timed out while it was
//! down. Here every call opens its own connections, so a restarted broker
//! is simply connected to again.
//!
//! A group request answered COORDINATOR_LOAD_IN_PROGRESS,
//! COORDINATOR_NOT_AVAILABLE or NOT_COORDINATOR is sent again, to the
//! coordinator found anew, with Kafka's backoff until the command's
//! timeout (see `retry`).

mod share;

use std::collections::{BTreeMap, HashMap};

use bytes::{Buf, Bytes};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_delete_request::{
    OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestGroup;
use kafka_protocol::messages::{
    ConsumerGroupDescribeRequest, ConsumerProtocolAssignment, DeleteGroupsRequest,
    DescribeGroupsRequest, FetchRequest, FindCoordinatorRequest, GroupId, ListGroupsRequest,
    ListOffsetsRequest, MetadataRequest, OffsetCommitRequest, OffsetDeleteRequest,
    OffsetFetchRequest, TopicName,
};
use kafka_protocol::protocol::{Decodable, StrBytes};
use kafka_protocol::records::RecordBatchDecoder;

use super::{
    unless_still_active, Coordinator, GroupDeletion, GroupDescription, GroupListing, GroupListings,
    GroupMember, GroupType, OffsetDeletion,
};
use crate::client::config::ClientSettings;
use crate::client::error::{ClientError, Result};
use crate::client::native::{OffsetQuery, TopicPartition};
use crate::client::retry::{commit_retriable, coordinator_moving, leader_moving, Backoff};
use crate::client::wire::Connection;

/// Where partitions' leaders are (see `Cluster::placement`).
struct Placement {
    /// Leader address -> topic -> partitions.
    by_leader: BTreeMap<String, BTreeMap<String, Vec<i32>>>,
    topic_ids: HashMap<String, uuid::Uuid>,
}

/// The connections of one round of questions, by broker address; the
/// first is to the bootstrap server that answered.
pub struct Cluster {
    settings: ClientSettings,
    bootstrap: String,
    connections: HashMap<String, Connection>,
    /// When the command's timeout ends: a coordinator loading or moving
    /// is asked again until then.
    deadline: tokio::time::Instant,
}

fn refused(context: String, code: i16, message: Option<StrBytes>) -> Result<()> {
    if code == 0 {
        return Ok(());
    }
    Err(ClientError::Protocol {
        context,
        code,
        message: message.map(|m| m.to_string()),
    })
}

fn group_id(group: &str) -> GroupId {
    GroupId(StrBytes::from_string(group.to_string()))
}

fn topic_name(topic: &str) -> TopicName {
    TopicName(StrBytes::from_string(topic.to_string()))
}

/// A partition's error under Kafka's name for it, as `ClientError`
/// names the codes of whole requests.
fn partition_error(code: i16) -> Option<String> {
    ResponseError::try_from_code(code).map(|e| match e {
        ResponseError::Unknown(code) => format!("error code {code}"),
        known => known.to_string(),
    })
}

impl Cluster {
    pub async fn connect(settings: &ClientSettings) -> Result<Cluster> {
        let deadline = tokio::time::Instant::now() + settings.timeout;
        let connection = Connection::to_bootstrap(settings).await?;
        let bootstrap = connection.address().to_string();
        Ok(Cluster {
            settings: settings.clone(),
            connections: HashMap::from([(bootstrap.clone(), connection)]),
            bootstrap,
            deadline,
        })
    }

    fn backoff(&self) -> Backoff {
        Backoff::until(self.deadline)
    }

    /// Runs `attempt` again, after a backoff, while it fails with an
    /// error `retriable` accepts and the command's deadline leaves room
    /// for the wait; each attempt finds the coordinator or leaders anew.
    async fn retried<T>(
        &mut self,
        retriable: fn(&ClientError) -> bool,
        mut attempt: impl AsyncFnMut(&mut Cluster) -> Result<T>,
    ) -> Result<T> {
        let mut backoff = self.backoff();
        loop {
            match attempt(self).await {
                Err(e) if retriable(&e) && backoff.wait().await => continue,
                outcome => return outcome,
            }
        }
    }

    async fn at(&mut self, address: &str) -> Result<&mut Connection> {
        if !self.connections.contains_key(address) {
            let connection = Connection::to_address(&self.settings, address).await?;
            self.connections.insert(address.to_string(), connection);
        }
        Ok(self
            .connections
            .get_mut(address)
            .expect("connected just above"))
    }

    fn bootstrap(&mut self) -> &mut Connection {
        self.connections
            .get_mut(&self.bootstrap)
            .expect("the bootstrap connection stays")
    }

    /// ListGroups at every broker the bootstrap server's Metadata names,
    /// since each lists only the groups it coordinates, as Kafka's admin
    /// client asks. The filters go to brokers that take them (states from
    /// v4, types from v5); the caller filters again for older ones. A
    /// broker that cannot be asked is a failure beside the others' groups.
    pub async fn list_groups(
        &mut self,
        states: &[String],
        types: &[GroupType],
    ) -> Result<GroupListings> {
        let brokers = self.bootstrap().list_brokers().await?;
        let mut listings = GroupListings::default();
        for (node, address) in brokers {
            let listed = self
                .retried(coordinator_moving, async |c| {
                    c.list_groups_at(&address, states, types).await
                })
                .await;
            match listed {
                Ok(groups) => listings.groups.extend(groups),
                Err(e) => listings
                    .failures
                    .push(format!("broker {node} at {address}: {e}")),
            }
        }
        // A group moving between coordinators may be listed by both.
        listings.groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        listings.groups.dedup_by(|a, b| a.group_id == b.group_id);
        Ok(listings)
    }

    async fn list_groups_at(
        &mut self,
        address: &str,
        states: &[String],
        types: &[GroupType],
    ) -> Result<Vec<GroupListing>> {
        let connection = self.at(address).await?;
        let version = connection.version::<ListGroupsRequest>(0)?;
        let mut request = ListGroupsRequest::default();
        if version >= 4 {
            request.states_filter = states
                .iter()
                .map(|s| StrBytes::from_string(s.clone()))
                .collect();
        }
        if version >= 5 {
            request.types_filter = types
                .iter()
                .map(|t| StrBytes::from_string(t.to_string()))
                .collect();
        }
        let response = connection.call(&request, 0).await?;
        refused(
            format!("cannot list the groups of the broker at {address}"),
            response.error_code,
            None,
        )?;
        Ok(response
            .groups
            .into_iter()
            .filter_map(|g| listing(&g))
            .collect())
    }

    /// FindCoordinator for `group`: the broker that holds its state.
    async fn coordinator(&mut self, group: &str) -> Result<Coordinator> {
        let context = format!("cannot find the coordinator of group '{group}'");
        let connection = self.bootstrap();
        let version = connection.version::<FindCoordinatorRequest>(0)?;
        let key = StrBytes::from_string(group.to_string());
        let request = if version >= 4 {
            FindCoordinatorRequest::default().with_coordinator_keys(vec![key])
        } else {
            FindCoordinatorRequest::default().with_key(key)
        };
        let response = connection.call(&request, 0).await?;
        let (node, host, port) = match response.coordinators.into_iter().next() {
            Some(c) => {
                refused(context.clone(), c.error_code, c.error_message)?;
                (c.node_id, c.host, c.port)
            }
            None if version >= 4 => {
                return Err(ClientError::Invalid(format!("{context}: no answer for it")))
            }
            None => {
                refused(context.clone(), response.error_code, response.error_message)?;
                (response.node_id, response.host, response.port)
            }
        };
        Ok(Coordinator {
            id: node.0,
            host: host.to_string(),
            port: u16::try_from(port).map_err(|_| {
                ClientError::Invalid(format!("{context}: the broker named port {port}"))
            })?,
        })
    }

    /// The coordinator of each group, or why it has none: in one
    /// FindCoordinator from v4 (KIP-699), one request a group before.
    async fn coordinators(
        &mut self,
        groups: &[String],
    ) -> Result<Vec<(String, Result<Coordinator>)>> {
        let connection = self.bootstrap();
        if connection.version::<FindCoordinatorRequest>(4).is_err() {
            let mut out = Vec::with_capacity(groups.len());
            for group in groups {
                out.push((group.clone(), self.coordinator(group).await));
            }
            return Ok(out);
        }
        let request = FindCoordinatorRequest::default().with_coordinator_keys(
            groups
                .iter()
                .map(|g| StrBytes::from_string(g.clone()))
                .collect(),
        );
        let response = connection.call(&request, 4).await?;
        let mut answers: HashMap<String, _> = response
            .coordinators
            .into_iter()
            .map(|c| (c.key.to_string(), c))
            .collect();
        Ok(groups
            .iter()
            .map(|group| {
                let context = format!("cannot find the coordinator of group '{group}'");
                let found = match answers.remove(group) {
                    None => Err(ClientError::Invalid(format!("{context}: no answer for it"))),
                    Some(c) => {
                        refused(context.clone(), c.error_code, c.error_message).and_then(|()| {
                            Ok(Coordinator {
                                id: c.node_id.0,
                                host: c.host.to_string(),
                                port: u16::try_from(c.port).map_err(|_| {
                                    ClientError::Invalid(format!(
                                        "{context}: the broker named port {}",
                                        c.port
                                    ))
                                })?,
                            })
                        })
                    }
                };
                (group.clone(), found)
            })
            .collect())
    }

    /// DeleteGroups at each group's coordinator, all of a coordinator's
    /// groups in one request; what became of each group, in the order
    /// given. A coordinator that cannot be asked fails only its groups;
    /// groups whose coordinator is loading or has moved are asked again,
    /// of the coordinator found anew, until the deadline.
    pub async fn delete_groups(&mut self, groups: &[String]) -> Result<Vec<GroupDeletion>> {
        let mut wanted: Vec<String> = Vec::with_capacity(groups.len());
        for g in groups {
            if !wanted.contains(g) {
                wanted.push(g.clone());
            }
        }
        let mut errors: HashMap<String, ClientError> = HashMap::new();
        let mut pending = wanted.clone();
        let mut backoff = self.backoff();
        loop {
            errors.extend(self.delete_groups_once(&pending).await?);
            pending.retain(|g| errors.get(g).is_some_and(coordinator_moving));
            if pending.is_empty() || !backoff.wait().await {
                break;
            }
        }
        Ok(wanted
            .into_iter()
            .map(|group| GroupDeletion {
                error: errors.remove(&group).map(|e| e.to_string()),
                group,
            })
            .collect())
    }

    /// One round of DeleteGroups: why each group that was not deleted
    /// was not.
    async fn delete_groups_once(
        &mut self,
        groups: &[String],
    ) -> Result<HashMap<String, ClientError>> {
        let mut errors: HashMap<String, ClientError> = HashMap::new();
        let mut by_coordinator: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (group, coordinator) in self.coordinators(groups).await? {
            match coordinator {
                Ok(c) => by_coordinator
                    .entry(format!("{}:{}", c.host, c.port))
                    .or_default()
                    .push(group),
                Err(e) => {
                    errors.insert(group, e);
                }
            }
        }
        for (address, groups) in by_coordinator {
            let request = DeleteGroupsRequest::default()
                .with_groups_names(groups.iter().map(|g| group_id(g)).collect());
            let answer = match self.at(&address).await {
                Ok(connection) => connection.call(&request, 0).await,
                Err(e) => Err(e),
            };
            let results = match answer {
                Ok(response) => response.results,
                Err(e) => {
                    for g in groups {
                        errors.insert(
                            g.clone(),
                            ClientError::Invalid(format!("cannot delete group '{g}': {e}")),
                        );
                    }
                    continue;
                }
            };
            let mut codes: HashMap<String, i16> = results
                .into_iter()
                .map(|r| (r.group_id.0.to_string(), r.error_code))
                .collect();
            for g in groups {
                let context = format!("cannot delete group '{g}'");
                let failure = match codes.remove(&g) {
                    None => Some(ClientError::Invalid(format!("{context}: no answer for it"))),
                    Some(code) => refused(context, code, None).err(),
                };
                if let Some(failure) = failure {
                    errors.insert(g, failure);
                }
            }
        }
        Ok(errors)
    }

    async fn at_coordinator(&mut self, coordinator: &Coordinator) -> Result<&mut Connection> {
        self.at(&format!("{}:{}", coordinator.host, coordinator.port))
            .await
    }

    /// The group as its coordinator describes it: through
    /// ConsumerGroupDescribe for a group of KIP-848's protocol, else
    /// DescribeGroups, as Kafka's admin client falls back. A group the
    /// coordinator does not know comes back Dead. A coordinator loading
    /// or moved is found and asked again until the deadline.
    pub async fn describe_group(&mut self, group: &str) -> Result<GroupDescription> {
        self.retried(coordinator_moving, async |c| {
            c.describe_group_once(group).await
        })
        .await
    }

    async fn describe_group_once(&mut self, group: &str) -> Result<GroupDescription> {
        let coordinator = self.coordinator(group).await?;
        let connection = self.at_coordinator(&coordinator).await?;
        let context = format!("cannot describe consumer group '{group}'");
        if connection
            .version::<ConsumerGroupDescribeRequest>(0)
            .is_ok()
        {
            let request =
                ConsumerGroupDescribeRequest::default().with_group_ids(vec![group_id(group)]);
            let response = connection.call(&request, 0).await?;
            let described = response
                .groups
                .into_iter()
                .next()
                .ok_or_else(|| ClientError::Invalid(format!("{context}: no answer for it")))?;
            // A classic group, or none: DescribeGroups tells which.
            if described.error_code != ResponseError::GroupIdNotFound.code() {
                refused(context, described.error_code, described.error_message)?;
                let mut members: Vec<GroupMember> = described
                    .members
                    .into_iter()
                    .map(|m| {
                        let mut assignment: Vec<TopicPartition> = m
                            .assignment
                            .topic_partitions
                            .iter()
                            .flat_map(|t| {
                                t.partitions
                                    .iter()
                                    .map(|p| TopicPartition::new(t.topic_name.0.to_string(), *p))
                            })
                            .collect();
                        assignment.sort();
                        GroupMember {
                            member_id: m.member_id.to_string(),
                            instance_id: m.instance_id.map(|i| i.to_string()),
                            client_id: m.client_id.to_string(),
                            host: m.client_host.to_string(),
                            assignment,
                        }
                    })
                    .collect();
                members.sort_by(|a, b| a.member_id.cmp(&b.member_id));
                return Ok(GroupDescription {
                    group_id: group.to_string(),
                    group_type: GroupType::Consumer,
                    simple: false,
                    state: described.group_state.to_string(),
                    assignor: described.assignor_name.to_string(),
                    coordinator: Some(coordinator),
                    members,
                });
            }
        }
        let request = DescribeGroupsRequest::default().with_groups(vec![group_id(group)]);
        let response = connection.call(&request, 0).await?;
        let described = response
            .groups
            .into_iter()
            .next()
            .ok_or_else(|| ClientError::Invalid(format!("{context}: no answer for it")))?;
        if described.error_code == ResponseError::GroupIdNotFound.code()
            || (described.error_code == 0 && described.group_state.as_str() == "Dead")
        {
            // Neither a consumer nor a classic group: maybe a share group.
            let share = Cluster::describe_share_group(connection, group, &coordinator).await?;
            return Ok(share.unwrap_or_else(|| GroupDescription::dead(group.to_string())));
        }
        refused(
            context.clone(),
            described.error_code,
            described.error_message,
        )?;
        let consumer = described.protocol_type.as_str() == "consumer";
        let members = described
            .members
            .into_iter()
            .map(|m| {
                let assignment = if consumer {
                    assigned_partitions(m.member_assignment).map_err(|cause| ClientError::Wire {
                        context: format!(
                            "{context}: the assignment of member {}",
                            m.member_id.as_str()
                        ),
                        cause,
                    })?
                } else {
                    Vec::new()
                };
                Ok(GroupMember {
                    member_id: m.member_id.to_string(),
                    instance_id: m.group_instance_id.map(|i| i.to_string()),
                    client_id: m.client_id.to_string(),
                    host: m.client_host.to_string(),
                    assignment,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(GroupDescription {
            group_id: group.to_string(),
            group_type: GroupType::Classic,
            simple: described.protocol_type.is_empty(),
            state: described.group_state.to_string(),
            assignor: described.protocol_data.to_string(),
            coordinator: Some(coordinator),
            members,
        })
    }

    /// OffsetFetch at the coordinator: every partition `group` has
    /// committed an offset for, and the offset; retried as
    /// `describe_group` is.
    pub async fn committed_offsets(
        &mut self,
        group: &str,
    ) -> Result<BTreeMap<TopicPartition, i64>> {
        self.retried(coordinator_moving, async |c| {
            c.committed_offsets_once(group).await
        })
        .await
    }

    async fn committed_offsets_once(
        &mut self,
        group: &str,
    ) -> Result<BTreeMap<TopicPartition, i64>> {
        let context = format!("cannot read the committed offsets of group '{group}'");
        let coordinator = self.coordinator(group).await?;
        let connection = self.at_coordinator(&coordinator).await?;
        // All topics are asked with a null list, which v2 brought.
        let version = connection.version::<OffsetFetchRequest>(2)?;
        let request = if version >= 8 {
            OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
                .with_group_id(group_id(group))
                .with_topics(None)])
        } else {
            OffsetFetchRequest::default()
                .with_group_id(group_id(group))
                .with_topics(None)
        };
        let response = connection.call(&request, 2).await?;
        let mut offsets = BTreeMap::new();
        let mut record = |topic: &TopicName, partition: i32, offset: i64, code: i16| {
            refused(format!("{context} for {}-{partition}", topic.0), code, None)?;
            // A partition without a commit answers -1.
            if offset >= 0 {
                offsets.insert(TopicPartition::new(topic.0.to_string(), partition), offset);
            }
            Ok::<(), ClientError>(())
        };
        if version >= 8 {
            let answer = response
                .groups
                .into_iter()
                .next()
                .ok_or_else(|| ClientError::Invalid(format!("{context}: no answer for it")))?;
            refused(context.clone(), answer.error_code, None)?;
            for t in &answer.topics {
                for p in &t.partitions {
                    record(&t.name, p.partition_index, p.committed_offset, p.error_code)?;
                }
            }
        } else {
            refused(context.clone(), response.error_code, None)?;
            for t in &response.topics {
                for p in &t.partitions {
                    record(&t.name, p.partition_index, p.committed_offset, p.error_code)?;
                }
            }
        }
        Ok(offsets)
    }

    /// OffsetCommit of `offsets` at the coordinator as no member of the
    /// group (generation -1, no member id), as Kafka's
    /// AlterConsumerGroupOffsets commits them: the broker refuses it while
    /// the group has members. Retried as `describe_group` is, and while
    /// the group rebalances (it may end empty); a group that has members
    /// when the retries end is refused as the plan refuses it.
    pub async fn commit_offsets(
        &mut self,
        group: &str,
        offsets: &BTreeMap<TopicPartition, i64>,
    ) -> Result<()> {
        let committed = self
            .retried(commit_retriable, async |c| {
                c.commit_offsets_once(group, offsets).await
            })
            .await;
        unless_still_active(group, committed, self.describe_group(group)).await
    }

    async fn commit_offsets_once(
        &mut self,
        group: &str,
        offsets: &BTreeMap<TopicPartition, i64>,
    ) -> Result<()> {
        let context = format!("cannot commit offsets for group '{group}'");
        let mut topics: BTreeMap<&str, Vec<OffsetCommitRequestPartition>> = BTreeMap::new();
        for (tp, offset) in offsets {
            topics.entry(tp.topic.as_str()).or_default().push(
                OffsetCommitRequestPartition::default()
                    .with_partition_index(tp.partition)
                    .with_committed_offset(*offset),
            );
        }
        let request = OffsetCommitRequest::default()
            .with_group_id(group_id(group))
            .with_topics(
                topics
                    .into_iter()
                    .map(|(topic, partitions)| {
                        OffsetCommitRequestTopic::default()
                            .with_name(topic_name(topic))
                            .with_partitions(partitions)
                    })
                    .collect(),
            );
        let coordinator = self.coordinator(group).await?;
        let connection = self.at_coordinator(&coordinator).await?;
        let response = connection.call(&request, 2).await?;
        for t in &response.topics {
            for p in &t.partitions {
                refused(
                    format!("{context} on {}-{}", t.name.0, p.partition_index),
                    p.error_code,
                    None,
                )?;
            }
        }
        Ok(())
    }

    /// OffsetDelete at the coordinator: each partition's outcome, since
    /// Kafka refuses partitions of topics the group still subscribes to
    /// (GROUP_SUBSCRIBED_TO_TOPIC) and deletes the others. An error for
    /// the whole group (GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP) fails the
    /// call; retried as `describe_group` is.
    pub async fn delete_offsets(
        &mut self,
        group: &str,
        partitions: &[TopicPartition],
    ) -> Result<Vec<OffsetDeletion>> {
        self.retried(coordinator_moving, async |c| {
            c.delete_offsets_once(group, partitions).await
        })
        .await
    }

    async fn delete_offsets_once(
        &mut self,
        group: &str,
        partitions: &[TopicPartition],
    ) -> Result<Vec<OffsetDeletion>> {
        let context = format!("cannot delete offsets of group '{group}'");
        let mut topics: BTreeMap<&str, Vec<OffsetDeleteRequestPartition>> = BTreeMap::new();
        for tp in partitions {
            topics
                .entry(tp.topic.as_str())
                .or_default()
                .push(OffsetDeleteRequestPartition::default().with_partition_index(tp.partition));
        }
        let request = OffsetDeleteRequest::default()
            .with_group_id(group_id(group))
            .with_topics(
                topics
                    .into_iter()
                    .map(|(topic, partitions)| {
                        OffsetDeleteRequestTopic::default()
                            .with_name(topic_name(topic))
                            .with_partitions(partitions)
                    })
                    .collect(),
            );
        let coordinator = self.coordinator(group).await?;
        let connection = self.at_coordinator(&coordinator).await?;
        let response = connection.call(&request, 0).await?;
        refused(context, response.error_code, None)?;
        let mut outcomes: HashMap<TopicPartition, i16> = response
            .topics
            .iter()
            .flat_map(|t| {
                t.partitions.iter().map(|p| {
                    (
                        TopicPartition::new(t.name.0.to_string(), p.partition_index),
                        p.error_code,
                    )
                })
            })
            .collect();
        Ok(partitions
            .iter()
            .map(|tp| OffsetDeletion {
                partition: tp.clone(),
                error: match outcomes.remove(tp) {
                    None => Some("no answer for it".to_string()),
                    Some(code) => partition_error(code),
                },
            })
            .collect())
    }

    /// Where each partition's leader is, as the bootstrap server's
    /// Metadata says: the partitions by leader address, and the topics'
    /// ids. A partition of a topic that no longer exists is left out; one
    /// without a leader fails with LEADER_NOT_AVAILABLE (`what` and the
    /// partition as context), which a later attempt may not.
    async fn placement(&mut self, partitions: &[TopicPartition], what: &str) -> Result<Placement> {
        let mut topics: Vec<&str> = partitions.iter().map(|tp| tp.topic.as_str()).collect();
        topics.sort_unstable();
        topics.dedup();
        let request = MetadataRequest::default()
            .with_allow_auto_topic_creation(false)
            .with_topics(Some(
                topics
                    .iter()
                    .map(|t| {
                        MetadataRequestTopic::default()
                            .with_name(Some(TopicName(StrBytes::from_string(t.to_string()))))
                    })
                    .collect(),
            ));
        let metadata = self.bootstrap().call(&request, 4).await?;
        let brokers: HashMap<i32, String> = metadata
            .brokers
            .iter()
            .map(|b| (b.node_id.0, format!("{}:{}", b.host.as_str(), b.port)))
            .collect();
        let mut leaders: HashMap<TopicPartition, i32> = HashMap::new();
        let mut topic_ids = HashMap::new();
        for t in &metadata.topics {
            let name = t.name.as_ref().map(|n| n.0.to_string()).unwrap_or_default();
            if t.error_code == ResponseError::UnknownTopicOrPartition.code() {
                continue;
            }
            topic_ids.insert(name.clone(), t.topic_id);
            refused(format!("Metadata for {name}"), t.error_code, None)?;
            for p in &t.partitions {
                leaders.insert(
                    TopicPartition::new(name.clone(), p.partition_index),
                    p.leader_id.0,
                );
            }
        }
        let mut by_leader: BTreeMap<String, BTreeMap<String, Vec<i32>>> = BTreeMap::new();
        for tp in partitions {
            let Some(leader) = leaders.get(tp) else {
                continue;
            };
            let address = brokers.get(leader).ok_or_else(|| ClientError::Protocol {
                context: format!("{what} {tp}"),
                code: ResponseError::LeaderNotAvailable.code(),
                message: None,
            })?;
            by_leader
                .entry(address.clone())
                .or_default()
                .entry(tp.topic.clone())
                .or_default()
                .push(tp.partition);
        }
        Ok(Placement {
            by_leader,
            topic_ids,
        })
    }

    /// ListOffsets for every partition, each asked of its leader as
    /// Metadata names it. A partition of a topic that no longer exists
    /// is left out; a time no record reaches gives -1, as Kafka answers.
    /// A leader that moved or is being elected is looked up again until
    /// the deadline, as Kafka's admin client does.
    pub async fn list_offsets(
        &mut self,
        partitions: &[TopicPartition],
        query: OffsetQuery,
    ) -> Result<BTreeMap<TopicPartition, i64>> {
        self.retried(leader_moving, async |c| {
            c.list_offsets_once(partitions, query).await
        })
        .await
    }

    async fn list_offsets_once(
        &mut self,
        partitions: &[TopicPartition],
        query: OffsetQuery,
    ) -> Result<BTreeMap<TopicPartition, i64>> {
        let mut out = BTreeMap::new();
        if partitions.is_empty() {
            return Ok(out);
        }
        let placement = self
            .placement(partitions, "cannot list the offsets of")
            .await?;
        let timestamp = match query {
            OffsetQuery::Earliest => -2,
            OffsetQuery::Latest => -1,
            OffsetQuery::MaxTimestamp => -3,
            OffsetQuery::Time(ms) => ms,
        };
        // The largest timestamp is KIP-734's, from v7.
        let min_version = if query == OffsetQuery::MaxTimestamp {
            7
        } else {
            1
        };
        for (address, topics) in placement.by_leader {
            let request = ListOffsetsRequest::default()
                .with_replica_id((-1).into())
                .with_topics(
                    topics
                        .iter()
                        .map(|(topic, ps)| {
                            ListOffsetsTopic::default()
                                .with_name(TopicName(StrBytes::from_string(topic.to_string())))
                                .with_partitions(
                                    ps.iter()
                                        .map(|p| {
                                            ListOffsetsPartition::default()
                                                .with_partition_index(*p)
                                                .with_timestamp(timestamp)
                                        })
                                        .collect(),
                                )
                        })
                        .collect(),
                );
            let connection = self.at(&address).await?;
            let request = request.with_timeout_ms(connection.timeout_ms());
            let response = connection.call(&request, min_version).await?;
            for t in &response.topics {
                for p in &t.partitions {
                    refused(
                        format!(
                            "cannot list the offsets of {}-{}",
                            t.name.0, p.partition_index
                        ),
                        p.error_code,
                        None,
                    )?;
                    out.insert(
                        TopicPartition::new(t.name.0.to_string(), p.partition_index),
                        p.offset,
                    );
                }
            }
        }
        Ok(out)
    }

    /// The timestamp of the first record at or after each offset that a
    /// consumer would see, for LAG-TIME: Fetch from each partition's
    /// leader, read_committed as consumers read by default, so records of
    /// aborted transactions and transaction markers are skipped, and
    /// fetching goes on past them. Where compaction removed the record the
    /// next one counts; where retention did, the oldest left (the log
    /// start offset is asked for and fetched from). A partition with no
    /// such record yet is left out. A moved leader is looked up again
    /// until the deadline.
    pub async fn record_timestamps(
        &mut self,
        offsets: &BTreeMap<TopicPartition, i64>,
    ) -> Result<BTreeMap<TopicPartition, i64>> {
        self.retried(leader_moving, async |c| {
            c.record_timestamps_once(offsets).await
        })
        .await
    }

    async fn record_timestamps_once(
        &mut self,
        offsets: &BTreeMap<TopicPartition, i64>,
    ) -> Result<BTreeMap<TopicPartition, i64>> {
        let mut out = BTreeMap::new();
        let mut at = offsets.clone();
        // Each round moves every partition left past what it fetched, so
        // only the deadline bounds a long run of aborted records.
        while !at.is_empty() {
            let fetched = self.fetch_timestamps(&at, &mut out).await?;
            let mut next = fetched.onward;
            if !fetched.gone.is_empty() {
                next.extend(
                    self.list_offsets_once(&fetched.gone, OffsetQuery::Earliest)
                        .await?,
                );
            }
            if tokio::time::Instant::now() >= self.deadline {
                break;
            }
            at = next;
        }
        Ok(out)
    }

    /// One read_committed Fetch to each leader at `offsets`, the
    /// timestamps found added to `out`.
    async fn fetch_timestamps(
        &mut self,
        offsets: &BTreeMap<TopicPartition, i64>,
        out: &mut BTreeMap<TopicPartition, i64>,
    ) -> Result<Fetched> {
        let mut fetched = Fetched::default();
        if offsets.is_empty() {
            return Ok(fetched);
        }
        let partitions: Vec<TopicPartition> = offsets.keys().cloned().collect();
        let placement = self
            .placement(&partitions, "cannot read the records of")
            .await?;
        let names: HashMap<_, &str> = placement
            .topic_ids
            .iter()
            .map(|(name, id)| (*id, name.as_str()))
            .collect();
        for (address, topics) in &placement.by_leader {
            let request = FetchRequest::default()
                .with_replica_id((-1).into())
                .with_max_wait_ms(0)
                .with_min_bytes(1)
                .with_max_bytes(FETCH_BYTES)
                .with_isolation_level(READ_COMMITTED)
                .with_topics(
                    topics
                        .iter()
                        .map(|(topic, ps)| {
                            FetchTopic::default()
                                .with_topic(topic_name(topic))
                                .with_topic_id(
                                    placement.topic_ids.get(topic).copied().unwrap_or_default(),
                                )
                                .with_partitions(
                                    ps.iter()
                                        .map(|p| {
                                            FetchPartition::default()
                                                .with_partition(*p)
                                                .with_fetch_offset(
                                                    offsets
                                                        [&TopicPartition::new(topic.clone(), *p)],
                                                )
                                                .with_partition_max_bytes(FETCH_BYTES)
                                        })
                                        .collect(),
                                )
                        })
                        .collect(),
                );
            // Fetch v4 brought record batches (v2), the isolation level and
            // the aborted transactions; from v13 topics go by id.
            let response = self.at(address).await?.call(&request, 4).await?;
            refused(
                format!("cannot read records at {address}"),
                response.error_code,
                None,
            )?;
            for t in response.responses {
                let topic = match names.get(&t.topic_id) {
                    Some(name) if t.topic.0.is_empty() => name.to_string(),
                    _ => t.topic.0.to_string(),
                };
                for p in t.partitions {
                    let tp = TopicPartition::new(topic.clone(), p.partition_index);
                    if p.error_code == ResponseError::OffsetOutOfRange.code() {
                        fetched.gone.push(tp);
                        continue;
                    }
                    let context = format!("cannot read the records of {tp}");
                    refused(context.clone(), p.error_code, None)?;
                    let Some(&offset) = offsets.get(&tp) else {
                        continue;
                    };
                    let aborted: Vec<(i64, i64)> = p
                        .aborted_transactions
                        .unwrap_or_default()
                        .iter()
                        .map(|a| (a.producer_id.0, a.first_offset))
                        .collect();
                    let records = p.records.unwrap_or_default();
                    match first_visible(records, offset, aborted) {
                        Ok(Visible::At(ms)) => {
                            out.insert(tp, ms);
                        }
                        Ok(Visible::NotBefore(next)) if next > offset => {
                            fetched.onward.insert(tp, next);
                        }
                        Ok(Visible::NotBefore(_)) => {}
                        Err(cause) => return Err(ClientError::Wire { context, cause }),
                    }
                }
            }
        }
        Ok(fetched)
    }
}

/// Fetch's isolation level that hides aborted transactions and stops at
/// the last stable offset, as a read_committed consumer reads.
const READ_COMMITTED: i8 = 1;

/// How much one Fetch for LAG-TIME asks of a partition: one record is
/// wanted, and a larger first batch comes whole anyway (KIP-74).
const FETCH_BYTES: i32 = 64 * 1024;

/// What one round of Fetches left to do.
#[derive(Default)]
struct Fetched {
    /// Partitions whose offset is below the log start (OFFSET_OUT_OF_RANGE).
    gone: Vec<TopicPartition>,
    /// Partitions whose fetched records were all hidden, and the offset
    /// after them to fetch from next.
    onward: BTreeMap<TopicPartition, i64>,
}

/// The first record a read_committed consumer would see in one Fetch's
/// records.
#[derive(Debug, PartialEq)]
enum Visible {
    /// Its timestamp.
    At(i64),
    /// None in these records: the offset after the last whole batch.
    NotBefore(i64),
}

/// The timestamp of the first visible record at or after `offset` in
/// `records`, as Fetch returns them: whole batches, perhaps a partial one
/// last, which is skipped. Transaction markers are never visible, nor are
/// the batches of a producer from the first offset of a transaction it
/// aborted (`aborted`: producer id, first offset) to its marker, as
/// Kafka's consumer filters them. A v2 batch stamped at log append time
/// gives its records its largest timestamp, as Kafka's consumers read it.
fn first_visible(
    mut records: Bytes,
    offset: i64,
    mut aborted: Vec<(i64, i64)>,
) -> std::result::Result<Visible, String> {
    // base offset, length, leader epoch, magic, crc, attributes, last
    // offset delta, base timestamp, max timestamp, producer id.
    const MAGIC: usize = 16;
    const ATTRIBUTES: usize = 21;
    const LAST_OFFSET_DELTA: usize = 23;
    const MAX_TIMESTAMP: usize = 35;
    const PRODUCER_ID: usize = 43;
    const HEADER: usize = 61;
    const LOG_APPEND_TIME: i16 = 1 << 3;
    const TRANSACTIONAL: i16 = 1 << 4;
    const CONTROL: i16 = 1 << 5;
    let be_i64 = |b: &[u8], at: usize| i64::from_be_bytes(b[at..at + 8].try_into().expect("8"));
    // Latest first, so the next to take effect is popped.
    aborted.sort_unstable_by_key(|&(_, first)| std::cmp::Reverse(first));
    let mut aborting = std::collections::HashSet::new();
    let mut next = offset;
    while records.len() >= HEADER {
        let length = i32::from_be_bytes(records[8..12].try_into().expect("4 bytes"));
        let size = usize::try_from(length)
            .ok()
            .and_then(|l| l.checked_add(12))
            .ok_or_else(|| format!("a record batch of {length} bytes"))?;
        if records.len() < size {
            break;
        }
        let mut batch = records.split_to(size);
        let magic = batch[MAGIC];
        if magic >= 2 {
            if size < HEADER {
                return Err(format!("a record batch of {length} bytes"));
            }
            let attributes = i16::from_be_bytes(
                batch[ATTRIBUTES..ATTRIBUTES + 2]
                    .try_into()
                    .expect("2 bytes"),
            );
            let last_delta = i32::from_be_bytes(
                batch[LAST_OFFSET_DELTA..LAST_OFFSET_DELTA + 4]
                    .try_into()
                    .expect("4 bytes"),
            );
            let last = be_i64(&batch, 0).saturating_add(i64::from(last_delta));
            next = next.max(last.saturating_add(1));
            if attributes & TRANSACTIONAL != 0 {
                while aborted.last().is_some_and(|&(_, first)| first <= last) {
                    let (producer, _) = aborted.pop().expect("just seen");
                    aborting.insert(producer);
                }
                let producer = be_i64(&batch, PRODUCER_ID);
                // A marker ends its producer's transaction, committed or not.
                if attributes & CONTROL != 0 {
                    aborting.remove(&producer);
                    continue;
                }
                if aborting.contains(&producer) {
                    continue;
                }
            }
            let appended = attributes & LOG_APPEND_TIME != 0;
            let max_timestamp = be_i64(&batch, MAX_TIMESTAMP);
            let set = RecordBatchDecoder::decode(&mut batch).map_err(|e| e.to_string())?;
            if let Some(record) = set
                .records
                .iter()
                .find(|r| r.offset >= offset && !r.control)
            {
                return Ok(Visible::At(if appended {
                    max_timestamp
                } else {
                    record.timestamp
                }));
            }
        } else {
            let set = RecordBatchDecoder::decode(&mut batch).map_err(|e| e.to_string())?;
            if let Some(last) = set.records.last() {
                next = next.max(last.offset.saturating_add(1));
            }
            if let Some(record) = set.records.iter().find(|r| r.offset >= offset) {
                return Ok(Visible::At(record.timestamp));
            }
        }
    }
    Ok(Visible::NotBefore(next))
}

/// A ListGroups entry as a listing: groups of the consumer protocol type,
/// or simple ones (none), are consumer groups, as Kafka's admin client and
/// librdkafka both take them; share groups (KIP-932) are listed too, as
/// kafka-share-groups.sh lists them. A broker before ListGroups v5 names
/// no type.
fn listing(group: &ListedGroup) -> Option<GroupListing> {
    let protocol_type = group.protocol_type.as_str();
    if !matches!(protocol_type, "" | "consumer" | "share") {
        return None;
    }
    let group_type = if group.group_type.eq_ignore_ascii_case("share") {
        GroupType::Share
    } else if group.group_type.eq_ignore_ascii_case("classic") {
        GroupType::Classic
    } else if group.group_type.eq_ignore_ascii_case("consumer") {
        GroupType::Consumer
    } else {
        GroupType::Unknown
    };
    Some(GroupListing {
        group_id: group.group_id.0.to_string(),
        group_type,
        simple: protocol_type.is_empty(),
        state: group.group_state.to_string(),
    })
}

/// The partitions of a consumer-protocol assignment (a version, then
/// ConsumerProtocolAssignment); a member that has none sends no bytes.
fn assigned_partitions(mut bytes: Bytes) -> std::result::Result<Vec<TopicPartition>, String> {
    if bytes.remaining() < 2 {
        return Ok(Vec::new());
    }
    // Later versions only add fields an older reader skips.
    let version = bytes.get_i16().clamp(0, 3);
    let assignment =
        ConsumerProtocolAssignment::decode(&mut bytes, version).map_err(|e| e.to_string())?;
    let mut partitions: Vec<TopicPartition> = assignment
        .assigned_partitions
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(|p| TopicPartition::new(t.topic.0.to_string(), *p))
        })
        .collect();
    partitions.sort();
    Ok(partitions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use kafka_protocol::records::{
        Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
    };

    /// One batch of records at `first..`, stamped `timestamps`.
    fn batch(first: i64, timestamps: &[i64], compression: Compression) -> BytesMut {
        encode(first, timestamps, compression, None)
    }

    /// What kind of transactional batch `encode` writes, of which producer.
    #[derive(Clone, Copy)]
    enum Txn {
        Data(i64),
        Marker(i64),
    }

    fn encode(
        first: i64,
        timestamps: &[i64],
        compression: Compression,
        txn: Option<Txn>,
    ) -> BytesMut {
        let (producer_id, control) = match txn {
            None => (-1, false),
            Some(Txn::Data(id)) => (id, false),
            Some(Txn::Marker(id)) => (id, true),
        };
        let records: Vec<Record> = timestamps
            .iter()
            .enumerate()
            .map(|(i, ts)| Record {
                transactional: txn.is_some(),
                control,
                delete_horizon: false,
                partition_leader_epoch: -1,
                producer_id,
                producer_epoch: if txn.is_some() { 0 } else { -1 },
                timestamp_type: TimestampType::Creation,
                offset: first + i as i64,
                // The encoder splits batches where offset - sequence changes.
                sequence: i as i32,
                timestamp: *ts,
                // A marker's key: version 0, then 0 for abort.
                key: control.then(|| Bytes::from_static(&[0, 0, 0, 0])),
                value: Some(Bytes::from_static(b"v")),
                headers: Default::default(),
            })
            .collect();
        let mut buf = BytesMut::new();
        let options = RecordEncodeOptions {
            version: 2,
            compression,
        };
        RecordBatchEncoder::encode(&mut buf, &records, &options).unwrap();
        buf
    }

    mod fake {
        //! A broker that coordinates every group itself and answers
        //! DescribeGroups and OffsetCommit with the error codes it is
        //! given, in turn.

        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;

        use bytes::{BufMut, Bytes, BytesMut};
        use kafka_protocol::messages::api_versions_response::ApiVersion;
        use kafka_protocol::messages::describe_groups_response::DescribedGroup;
        use kafka_protocol::messages::offset_commit_response::{
            OffsetCommitResponsePartition, OffsetCommitResponseTopic,
        };
        use kafka_protocol::messages::{
            ApiKey, ApiVersionsResponse, DescribeGroupsResponse, FindCoordinatorResponse,
            OffsetCommitRequest, OffsetCommitResponse, RequestHeader, ResponseHeader,
        };
        use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        use tokio::net::{TcpListener, TcpStream};

        /// What the broker answers: the last answer of each list repeats.
        #[derive(Clone)]
        pub struct Script {
            /// DescribeGroups' error codes.
            pub described: Vec<i16>,
            /// The state DescribeGroups names.
            pub state: &'static str,
            /// OffsetCommit's error code for every partition.
            pub committed: Vec<i16>,
        }

        pub struct Coordinator {
            pub address: String,
            /// FindCoordinator requests answered.
            pub finds: Arc<AtomicUsize>,
            /// OffsetCommit requests answered.
            pub commits: Arc<AtomicUsize>,
        }

        #[derive(Clone)]
        struct Counters {
            finds: Arc<AtomicUsize>,
            described: Arc<AtomicUsize>,
            commits: Arc<AtomicUsize>,
        }

        /// A group described with `answers`, in state Empty.
        pub async fn start(answers: Vec<i16>) -> Coordinator {
            start_with(Script {
                described: answers,
                state: "Empty",
                committed: vec![0],
            })
            .await
        }

        pub async fn start_with(script: Script) -> Coordinator {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let counters = Counters {
                finds: Arc::new(AtomicUsize::new(0)),
                described: Arc::new(AtomicUsize::new(0)),
                commits: Arc::new(AtomicUsize::new(0)),
            };
            let coordinator = Coordinator {
                address: format!("127.0.0.1:{port}"),
                finds: counters.finds.clone(),
                commits: counters.commits.clone(),
            };
            let script = Arc::new(script);
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(serve(stream, port, script.clone(), counters.clone()));
                }
            });
            coordinator
        }

        fn nth(answers: &[i16], counter: &AtomicUsize) -> i16 {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            answers[n.min(answers.len() - 1)]
        }

        async fn serve(mut stream: TcpStream, port: u16, script: Arc<Script>, counters: Counters) {
            while let Ok(len) = stream.read_i32().await {
                let mut frame = vec![0u8; len as usize];
                stream.read_exact(&mut frame).await.unwrap();
                let mut frame = Bytes::from(frame);
                let api = ApiKey::try_from(i16::from_be_bytes([frame[0], frame[1]])).unwrap();
                let version = i16::from_be_bytes([frame[2], frame[3]]);
                let header =
                    RequestHeader::decode(&mut frame, api.request_header_version(version)).unwrap();
                let mut body = BytesMut::new();
                ResponseHeader::default()
                    .with_correlation_id(header.correlation_id)
                    .encode(&mut body, api.response_header_version(version))
                    .unwrap();
                let versions = |key: ApiKey, max| {
                    ApiVersion::default()
                        .with_api_key(key as i16)
                        .with_max_version(max)
                };
                match api {
                    ApiKey::ApiVersions => ApiVersionsResponse::default()
                        .with_api_keys(vec![
                            versions(ApiKey::ApiVersions, 0),
                            versions(ApiKey::FindCoordinator, 3),
                            versions(ApiKey::DescribeGroups, 4),
                            versions(ApiKey::OffsetCommit, 8),
                        ])
                        .encode(&mut body, version),
                    ApiKey::FindCoordinator => {
                        counters.finds.fetch_add(1, Ordering::SeqCst);
                        FindCoordinatorResponse::default()
                            .with_node_id(1.into())
                            .with_host(StrBytes::from_static_str("127.0.0.1"))
                            .with_port(i32::from(port))
                            .encode(&mut body, version)
                    }
                    ApiKey::DescribeGroups => {
                        let code = nth(&script.described, &counters.described);
                        DescribeGroupsResponse::default()
                            .with_groups(vec![DescribedGroup::default()
                                .with_error_code(code)
                                .with_group_id(super::group_id("g"))
                                .with_group_state(StrBytes::from_static_str(script.state))
                                .with_protocol_type(StrBytes::from_static_str("consumer"))])
                            .encode(&mut body, version)
                    }
                    ApiKey::OffsetCommit => {
                        let request = OffsetCommitRequest::decode(&mut frame, version).unwrap();
                        let code = nth(&script.committed, &counters.commits);
                        OffsetCommitResponse::default()
                            .with_topics(
                                request
                                    .topics
                                    .iter()
                                    .map(|t| {
                                        OffsetCommitResponseTopic::default()
                                            .with_name(t.name.clone())
                                            .with_partitions(
                                                t.partitions
                                                    .iter()
                                                    .map(|p| {
                                                        OffsetCommitResponsePartition::default()
                                                            .with_partition_index(p.partition_index)
                                                            .with_error_code(code)
                                                    })
                                                    .collect(),
                                            )
                                    })
                                    .collect(),
                            )
                            .encode(&mut body, version)
                    }
                    other => panic!("the fake broker does not serve {other:?}"),
                }
                .unwrap();
                let mut out = BytesMut::with_capacity(4 + body.len());
                out.put_i32(body.len() as i32);
                out.extend_from_slice(&body);
                if stream.write_all(&out).await.is_err() {
                    return;
                }
            }
        }
    }

    fn settings(address: &str, timeout_ms: u64) -> ClientSettings {
        let mut settings = ClientSettings::new(address);
        settings.timeout = std::time::Duration::from_millis(timeout_ms);
        settings
    }

    #[tokio::test]
    async fn a_loading_or_moved_coordinator_is_found_and_asked_again() {
        use std::sync::atomic::Ordering;
        let broker = fake::start(vec![
            ResponseError::NotCoordinator.code(),
            ResponseError::CoordinatorLoadInProgress.code(),
            ResponseError::CoordinatorNotAvailable.code(),
            0,
        ])
        .await;
        let mut cluster = Cluster::connect(&settings(&broker.address, 10_000))
            .await
            .unwrap();
        let described = cluster.describe_group("g").await.unwrap();
        assert_eq!(described.state, "Empty");
        assert_eq!(
            broker.finds.load(Ordering::SeqCst),
            4,
            "the coordinator is found anew for every attempt"
        );
    }

    #[tokio::test]
    async fn retries_end_at_the_timeout_with_the_last_error() {
        let broker = fake::start(vec![ResponseError::CoordinatorLoadInProgress.code()]).await;
        let started = tokio::time::Instant::now();
        let mut cluster = Cluster::connect(&settings(&broker.address, 700))
            .await
            .unwrap();
        let error = cluster.describe_group("g").await.unwrap_err().to_string();
        assert!(error.contains("CoordinatorLoadInProgress"), "{error}");
        let spent = started.elapsed();
        // Waits of about 100, 200 and 400 ms fit at most; none ends past
        // the timeout, after which only the attempt it led to runs.
        assert!(spent >= std::time::Duration::from_millis(200), "{spent:?}");
        assert!(spent < std::time::Duration::from_millis(900), "{spent:?}");
    }

    #[tokio::test]
    async fn other_errors_are_not_retried() {
        use std::sync::atomic::Ordering;
        let broker = fake::start(vec![ResponseError::GroupAuthorizationFailed.code(), 0]).await;
        let mut cluster = Cluster::connect(&settings(&broker.address, 10_000))
            .await
            .unwrap();
        let error = cluster.describe_group("g").await.unwrap_err().to_string();
        assert!(error.contains("GroupAuthorizationFailed"), "{error}");
        assert_eq!(broker.finds.load(Ordering::SeqCst), 1);
    }

    fn reset_of_two_partitions() -> BTreeMap<TopicPartition, i64> {
        BTreeMap::from([
            (TopicPartition::new("orders", 0), 5),
            (TopicPartition::new("orders", 1), 7),
        ])
    }

    #[tokio::test]
    async fn a_commit_refused_by_a_rebalance_is_made_again() {
        use std::sync::atomic::Ordering;
        let rebalancing = ResponseError::RebalanceInProgress.code();
        let broker = fake::start_with(fake::Script {
            described: vec![0],
            state: "Empty",
            committed: vec![rebalancing, rebalancing, 0],
        })
        .await;
        let mut cluster = Cluster::connect(&settings(&broker.address, 10_000))
            .await
            .unwrap();
        cluster
            .commit_offsets("g", &reset_of_two_partitions())
            .await
            .unwrap();
        assert_eq!(broker.commits.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_group_that_stays_rebalancing_is_named_active_at_the_timeout() {
        use std::sync::atomic::Ordering;
        let broker = fake::start_with(fake::Script {
            described: vec![0],
            state: "PreparingRebalance",
            committed: vec![ResponseError::RebalanceInProgress.code()],
        })
        .await;
        let started = tokio::time::Instant::now();
        let mut cluster = Cluster::connect(&settings(&broker.address, 700))
            .await
            .unwrap();
        let error = cluster
            .commit_offsets("g", &reset_of_two_partitions())
            .await
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "assignments can only be reset if the group 'g' is inactive, \
             but the current state is PreparingRebalance"
        );
        assert!(broker.commits.load(Ordering::SeqCst) >= 3);
        assert!(started.elapsed() < std::time::Duration::from_millis(900));
    }

    #[tokio::test]
    async fn a_commit_refused_for_members_names_the_state_at_once() {
        use std::sync::atomic::Ordering;
        let broker = fake::start_with(fake::Script {
            described: vec![0],
            state: "Stable",
            committed: vec![ResponseError::UnknownMemberId.code()],
        })
        .await;
        let mut cluster = Cluster::connect(&settings(&broker.address, 10_000))
            .await
            .unwrap();
        let error = cluster
            .commit_offsets("g", &reset_of_two_partitions())
            .await
            .unwrap_err()
            .to_string();
        assert!(error.ends_with("the current state is Stable"), "{error}");
        assert_eq!(broker.commits.load(Ordering::SeqCst), 1, "not retried");
    }

    #[tokio::test]
    async fn a_refusal_of_a_group_gone_empty_is_kept() {
        let broker = fake::start_with(fake::Script {
            described: vec![0],
            state: "Empty",
            committed: vec![ResponseError::UnknownMemberId.code()],
        })
        .await;
        let mut cluster = Cluster::connect(&settings(&broker.address, 10_000))
            .await
            .unwrap();
        let error = cluster
            .commit_offsets("g", &reset_of_two_partitions())
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("cannot commit offsets for group 'g' on orders-0: UnknownMemberId"),
            "{error}"
        );
    }

    fn first_timestamp(records: Bytes, offset: i64) -> Visible {
        first_visible(records, offset, Vec::new()).unwrap()
    }

    #[test]
    fn the_record_at_or_after_the_offset_tells_the_time() {
        let mut fetched = batch(0, &[1000, 1001, 1002], Compression::None);
        fetched.extend_from_slice(&batch(3, &[2000, 2001], Compression::Gzip));
        let fetched = fetched.freeze();
        let at = |offset| first_timestamp(fetched.clone(), offset);
        assert_eq!(at(0), Visible::At(1000));
        assert_eq!(at(1), Visible::At(1001));
        assert_eq!(at(3), Visible::At(2000), "in a compressed batch");
        assert_eq!(at(4), Visible::At(2001));
        assert_eq!(at(5), Visible::NotBefore(5), "nothing there yet");
        assert_eq!(first_timestamp(Bytes::new(), 0), Visible::NotBefore(0));
    }

    #[test]
    fn a_partial_batch_at_the_end_is_skipped() {
        let mut fetched = batch(0, &[1000], Compression::None);
        let second = batch(1, &[2000, 2001], Compression::None);
        fetched.extend_from_slice(&second[..second.len() - 3]);
        let fetched = fetched.freeze();
        assert_eq!(first_timestamp(fetched.clone(), 0), Visible::At(1000));
        assert_eq!(first_timestamp(fetched, 1), Visible::NotBefore(1));
    }

    #[test]
    fn aborted_transactions_and_markers_are_not_seen() {
        // Producer 7 aborts 0..2 (marker at 2), producer 8 commits 3..4
        // (marker at 5) around producer 7's second, aborted, transaction
        // at 4, whose marker is at 6; a plain record follows at 7.
        let mut fetched = encode(0, &[100, 101], Compression::None, Some(Txn::Data(7)));
        fetched.extend_from_slice(&encode(2, &[102], Compression::None, Some(Txn::Marker(7))));
        fetched.extend_from_slice(&encode(3, &[103], Compression::None, Some(Txn::Data(8))));
        fetched.extend_from_slice(&encode(4, &[104], Compression::Gzip, Some(Txn::Data(7))));
        fetched.extend_from_slice(&encode(5, &[105], Compression::None, Some(Txn::Marker(8))));
        fetched.extend_from_slice(&encode(6, &[106], Compression::None, Some(Txn::Marker(7))));
        fetched.extend_from_slice(&batch(7, &[107], Compression::None));
        let fetched = fetched.freeze();
        let aborted = vec![(7, 4), (7, 0)];
        let at = |offset| first_visible(fetched.clone(), offset, aborted.clone()).unwrap();
        assert_eq!(at(0), Visible::At(103), "the committed one after the abort");
        assert_eq!(
            at(4),
            Visible::At(107),
            "past the second abort and both markers"
        );
        assert_eq!(at(5), Visible::At(107));
        // Read uncommitted, as without the list, the aborted records count.
        assert_eq!(first_timestamp(fetched.clone(), 0), Visible::At(100));
        // Only aborted records and markers fetched: fetch on after them.
        let mut only_aborted = encode(0, &[100, 101], Compression::None, Some(Txn::Data(7)));
        only_aborted.extend_from_slice(&encode(2, &[102], Compression::None, Some(Txn::Marker(7))));
        assert_eq!(
            first_visible(only_aborted.freeze(), 0, vec![(7, 0)]).unwrap(),
            Visible::NotBefore(3)
        );
    }

    fn listed(protocol_type: &str, group_type: &str) -> Option<GroupListing> {
        listing(
            &ListedGroup::default()
                .with_group_id(group_id("g"))
                .with_protocol_type(StrBytes::from_string(protocol_type.to_string()))
                .with_group_state(StrBytes::from_static_str("Empty"))
                .with_group_type(StrBytes::from_string(group_type.to_string())),
        )
    }

    #[test]
    fn consumer_and_share_groups_are_listed_with_their_type() {
        assert!(listed("connect", "classic").is_none());
        assert_eq!(
            listed("share", "share").unwrap().group_type,
            GroupType::Share
        );
        let classic = listed("consumer", "Classic").unwrap();
        assert_eq!(
            (classic.group_type, classic.simple),
            (GroupType::Classic, false)
        );
        let simple = listed("", "classic").unwrap();
        assert_eq!(
            (simple.group_type, simple.simple),
            (GroupType::Classic, true)
        );
        assert_eq!(
            listed("consumer", "consumer").unwrap().group_type,
            GroupType::Consumer
        );
        // Before ListGroups v5 brokers name no type.
        assert_eq!(
            listed("consumer", "").unwrap().group_type,
            GroupType::Unknown
        );
        assert_eq!(listed("consumer", "").unwrap().state, "Empty");
    }
}
