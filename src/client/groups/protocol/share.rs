//! Share groups (KIP-932) over the tools' own connection, as
//! kafka-share-groups.sh asks them: ShareGroupDescribe for the members,
//! DescribeShareGroupOffsets for the start offsets (a share group's
//! "offsets"), AlterShareGroupOffsets and DeleteShareGroupOffsets to move
//! and forget them. Retried as the other group requests are.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_share_group_offsets_request::{
    AlterShareGroupOffsetsRequestPartition, AlterShareGroupOffsetsRequestTopic,
};
use kafka_protocol::messages::delete_share_group_offsets_request::DeleteShareGroupOffsetsRequestTopic;
use kafka_protocol::messages::describe_share_group_offsets_request::DescribeShareGroupOffsetsRequestGroup;
use kafka_protocol::messages::{
    AlterShareGroupOffsetsRequest, DeleteShareGroupOffsetsRequest,
    DescribeShareGroupOffsetsRequest, ShareGroupDescribeRequest,
};

use super::{group_id, partition_error, refused, topic_name, Cluster};
use crate::client::error::{ClientError, Result};
use crate::client::groups::{Coordinator, GroupDescription, GroupMember, GroupType};
use crate::client::native::TopicPartition;
use crate::client::retry::coordinator_moving;
use crate::client::wire::Connection;

/// What delete-offsets did to one topic of a share group: Kafka forgets a
/// share group's state a whole topic at a time.
#[derive(Clone, Debug)]
pub struct ShareOffsetDeletion {
    pub topic: String,
    /// Why the topic kept its state, under Kafka's name for the error.
    pub error: Option<String>,
}

impl Cluster {
    /// `group` as ShareGroupDescribe tells it, or `None` when the
    /// coordinator knows no share group of that name (or serves none).
    pub(super) async fn describe_share_group(
        connection: &mut Connection,
        group: &str,
        coordinator: &Coordinator,
    ) -> Result<Option<GroupDescription>> {
        if connection.version::<ShareGroupDescribeRequest>(0).is_err() {
            return Ok(None);
        }
        let context = format!("cannot describe share group '{group}'");
        let request = ShareGroupDescribeRequest::default().with_group_ids(vec![group_id(group)]);
        let response = connection.call(&request, 0).await?;
        let described = response
            .groups
            .into_iter()
            .next()
            .ok_or_else(|| ClientError::Invalid(format!("{context}: no answer for it")))?;
        // Not a share group, or share groups are not turned on.
        if described.error_code == ResponseError::GroupIdNotFound.code()
            || described.error_code == ResponseError::UnsupportedVersion.code()
        {
            return Ok(None);
        }
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
                    instance_id: None,
                    client_id: m.client_id.to_string(),
                    host: m.client_host.to_string(),
                    assignment,
                }
            })
            .collect();
        members.sort_by(|a, b| a.member_id.cmp(&b.member_id));
        Ok(Some(GroupDescription {
            group_id: group.to_string(),
            group_type: GroupType::Share,
            simple: false,
            state: described.group_state.to_string(),
            assignor: described.assignor_name.to_string(),
            coordinator: Some(coordinator.clone()),
            members,
        }))
    }

    /// The start offset of every share-partition `group` has state for
    /// (DescribeShareGroupOffsets with all topics).
    pub async fn share_start_offsets(
        &mut self,
        group: &str,
    ) -> Result<BTreeMap<TopicPartition, i64>> {
        self.retried(coordinator_moving, async |c| {
            c.share_start_offsets_once(group).await
        })
        .await
    }

    async fn share_start_offsets_once(
        &mut self,
        group: &str,
    ) -> Result<BTreeMap<TopicPartition, i64>> {
        let context = format!("cannot read the start offsets of share group '{group}'");
        let coordinator = self.coordinator(group).await?;
        let connection = self.at_coordinator(&coordinator).await?;
        let request = DescribeShareGroupOffsetsRequest::default().with_groups(vec![
            DescribeShareGroupOffsetsRequestGroup::default()
                .with_group_id(group_id(group))
                .with_topics(None),
        ]);
        let response = connection.call(&request, 0).await?;
        let answer = response
            .groups
            .into_iter()
            .next()
            .ok_or_else(|| ClientError::Invalid(format!("{context}: no answer for it")))?;
        refused(context.clone(), answer.error_code, answer.error_message)?;
        let mut offsets = BTreeMap::new();
        for t in &answer.topics {
            for p in &t.partitions {
                refused(
                    format!("{context} for {}-{}", t.topic_name.0, p.partition_index),
                    p.error_code,
                    p.error_message.clone(),
                )?;
                // An uninitialized share-partition answers -1.
                if p.start_offset >= 0 {
                    offsets.insert(
                        TopicPartition::new(t.topic_name.0.to_string(), p.partition_index),
                        p.start_offset,
                    );
                }
            }
        }
        Ok(offsets)
    }

    /// AlterShareGroupOffsets: the share-partitions start again at these
    /// offsets. The broker refuses it while the group has members.
    pub async fn alter_share_offsets(
        &mut self,
        group: &str,
        offsets: &BTreeMap<TopicPartition, i64>,
    ) -> Result<()> {
        self.retried(coordinator_moving, async |c| {
            c.alter_share_offsets_once(group, offsets).await
        })
        .await
    }

    async fn alter_share_offsets_once(
        &mut self,
        group: &str,
        offsets: &BTreeMap<TopicPartition, i64>,
    ) -> Result<()> {
        let context = format!("cannot reset the offsets of share group '{group}'");
        let mut topics: BTreeMap<&str, Vec<AlterShareGroupOffsetsRequestPartition>> =
            BTreeMap::new();
        for (tp, offset) in offsets {
            topics.entry(tp.topic.as_str()).or_default().push(
                AlterShareGroupOffsetsRequestPartition::default()
                    .with_partition_index(tp.partition)
                    .with_start_offset(*offset),
            );
        }
        let request = AlterShareGroupOffsetsRequest::default()
            .with_group_id(group_id(group))
            .with_topics(
                topics
                    .into_iter()
                    .map(|(topic, partitions)| {
                        AlterShareGroupOffsetsRequestTopic::default()
                            .with_topic_name(topic_name(topic))
                            .with_partitions(partitions)
                    })
                    .collect(),
            );
        let coordinator = self.coordinator(group).await?;
        let connection = self.at_coordinator(&coordinator).await?;
        let response = connection.call(&request, 0).await?;
        refused(context.clone(), response.error_code, response.error_message)?;
        for t in &response.responses {
            for p in &t.partitions {
                refused(
                    format!("{context} on {}-{}", t.topic_name.0, p.partition_index),
                    p.error_code,
                    p.error_message.clone(),
                )?;
            }
        }
        Ok(())
    }

    /// DeleteShareGroupOffsets: each topic's outcome. An error for the
    /// whole group (GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP) fails the call.
    pub async fn delete_share_offsets(
        &mut self,
        group: &str,
        topics: &[String],
    ) -> Result<Vec<ShareOffsetDeletion>> {
        self.retried(coordinator_moving, async |c| {
            c.delete_share_offsets_once(group, topics).await
        })
        .await
    }

    async fn delete_share_offsets_once(
        &mut self,
        group: &str,
        topics: &[String],
    ) -> Result<Vec<ShareOffsetDeletion>> {
        let context = format!("cannot delete offsets of share group '{group}'");
        let request = DeleteShareGroupOffsetsRequest::default()
            .with_group_id(group_id(group))
            .with_topics(
                topics
                    .iter()
                    .map(|t| {
                        DeleteShareGroupOffsetsRequestTopic::default()
                            .with_topic_name(topic_name(t))
                    })
                    .collect(),
            );
        let coordinator = self.coordinator(group).await?;
        let connection = self.at_coordinator(&coordinator).await?;
        let response = connection.call(&request, 0).await?;
        refused(context, response.error_code, response.error_message)?;
        Ok(topics
            .iter()
            .map(|topic| ShareOffsetDeletion {
                topic: topic.clone(),
                error: match response
                    .responses
                    .iter()
                    .find(|r| r.topic_name.0.as_str() == topic)
                {
                    None => Some("no answer for it".to_string()),
                    Some(r) => partition_error(r.error_code),
                },
            })
            .collect())
    }
}
