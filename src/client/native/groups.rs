//! Consumer-group admin calls: ListConsumerGroups, DescribeConsumerGroups
//! and the committed-offset calls, none of which the rdkafka crate wraps.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::bindings as rdsys;
use rdkafka::types::RDKafkaErrorCode;

use super::{
    call, cstring, entries, error_object, partition_list, text, Handle, PartitionEntry,
    TopicPartition,
};
use crate::client::error::{ClientError, Result};
use crate::client::groups::{
    Coordinator, GroupDescription, GroupListing, GroupMember, GroupType, OffsetDeletion,
};

/// SAFETY: plain enum-to-name lookups in librdkafka; the names are static.
fn state_name(state: rdsys::rd_kafka_consumer_group_state_t) -> String {
    unsafe { text(rdsys::rd_kafka_consumer_group_state_name(state)) }.unwrap_or_default()
}

fn group_type(t: rdsys::rd_kafka_consumer_group_type_t) -> GroupType {
    match t {
        rdsys::rd_kafka_consumer_group_type_t::RD_KAFKA_CONSUMER_GROUP_TYPE_CLASSIC => {
            GroupType::Classic
        }
        rdsys::rd_kafka_consumer_group_type_t::RD_KAFKA_CONSUMER_GROUP_TYPE_CONSUMER => {
            GroupType::Consumer
        }
        _ => GroupType::Unknown,
    }
}

/// Every group the cluster's brokers coordinate.
pub fn list_consumer_groups(handle: Handle, timeout: Duration) -> Result<Vec<GroupListing>> {
    let what = "cannot list consumer groups";
    // SAFETY: the result arrays are read while the event that owns them lives.
    unsafe {
        let event = call(handle, what, timeout, |options, queue| {
            rdsys::rd_kafka_ListConsumerGroups(handle.0, options, queue)
        })?;
        let result = rdsys::rd_kafka_event_ListConsumerGroups_result(event.0);
        let mut n = 0usize;
        let errors = rdsys::rd_kafka_ListConsumerGroups_result_errors(result, &mut n);
        // One broker failing to answer would silently hide its groups.
        if n > 0 {
            error_object(*errors, what)?;
        }
        let valid = rdsys::rd_kafka_ListConsumerGroups_result_valid(result, &mut n);
        let mut groups: Vec<GroupListing> = (0..n)
            .map(|i| {
                let g = *valid.add(i);
                GroupListing {
                    group_id: text(rdsys::rd_kafka_ConsumerGroupListing_group_id(g))
                        .unwrap_or_default(),
                    group_type: group_type(rdsys::rd_kafka_ConsumerGroupListing_type(g)),
                    simple: rdsys::rd_kafka_ConsumerGroupListing_is_simple_consumer_group(g) != 0,
                    state: state_name(rdsys::rd_kafka_ConsumerGroupListing_state(g)),
                }
            })
            .collect();
        groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        Ok(groups)
    }
}

/// DescribeConsumerGroups: librdkafka asks with ConsumerGroupDescribe and
/// falls back to DescribeGroups for classic groups. A group that does not
/// exist comes back Dead, as Kafka's DescribeGroups reports it.
pub fn describe_consumer_groups(
    handle: Handle,
    groups: &[String],
    timeout: Duration,
) -> Result<Vec<GroupDescription>> {
    let what = "cannot describe consumer groups";
    let names = groups
        .iter()
        .map(|g| cstring(g))
        .collect::<Result<Vec<_>>>()?;
    let mut pointers: Vec<*const std::ffi::c_char> = names.iter().map(|n| n.as_ptr()).collect();
    // SAFETY: the names outlive the call (librdkafka copies them); results
    // are copied out while the event lives.
    unsafe {
        let event = call(handle, what, timeout, |options, queue| {
            rdsys::rd_kafka_DescribeConsumerGroups(
                handle.0,
                pointers.as_mut_ptr(),
                pointers.len(),
                options,
                queue,
            )
        })?;
        let result = rdsys::rd_kafka_event_DescribeConsumerGroups_result(event.0);
        let mut n = 0usize;
        let described = rdsys::rd_kafka_DescribeConsumerGroups_result_groups(result, &mut n);
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let g = *described.add(i);
            let group_id =
                text(rdsys::rd_kafka_ConsumerGroupDescription_group_id(g)).unwrap_or_default();
            let error = rdsys::rd_kafka_ConsumerGroupDescription_error(g);
            if !error.is_null()
                && RDKafkaErrorCode::from(rdsys::rd_kafka_error_code(error))
                    == RDKafkaErrorCode::GroupIdNotFound
            {
                out.push(GroupDescription::dead(group_id));
                continue;
            }
            error_object(
                error,
                &format!("cannot describe consumer group '{group_id}'"),
            )?;
            let node = rdsys::rd_kafka_ConsumerGroupDescription_coordinator(g);
            let coordinator = (!node.is_null()).then(|| Coordinator {
                id: rdsys::rd_kafka_Node_id(node),
                host: text(rdsys::rd_kafka_Node_host(node)).unwrap_or_default(),
                port: rdsys::rd_kafka_Node_port(node),
            });
            let members = (0..rdsys::rd_kafka_ConsumerGroupDescription_member_count(g))
                .map(|m| {
                    let m = rdsys::rd_kafka_ConsumerGroupDescription_member(g, m);
                    let assignment = rdsys::rd_kafka_MemberDescription_assignment(m);
                    let mut partitions: Vec<TopicPartition> = if assignment.is_null() {
                        Vec::new()
                    } else {
                        entries(rdsys::rd_kafka_MemberAssignment_partitions(assignment))
                            .into_iter()
                            .map(|e| e.partition)
                            .collect()
                    };
                    partitions.sort();
                    GroupMember {
                        member_id: text(rdsys::rd_kafka_MemberDescription_consumer_id(m))
                            .unwrap_or_default(),
                        instance_id: text(rdsys::rd_kafka_MemberDescription_group_instance_id(m)),
                        client_id: text(rdsys::rd_kafka_MemberDescription_client_id(m))
                            .unwrap_or_default(),
                        host: text(rdsys::rd_kafka_MemberDescription_host(m)).unwrap_or_default(),
                        assignment: partitions,
                    }
                })
                .collect();
            out.push(GroupDescription {
                group_id,
                group_type: group_type(rdsys::rd_kafka_ConsumerGroupDescription_type(g)),
                simple: rdsys::rd_kafka_ConsumerGroupDescription_is_simple_consumer_group(g) != 0,
                state: state_name(rdsys::rd_kafka_ConsumerGroupDescription_state(g)),
                assignor: text(rdsys::rd_kafka_ConsumerGroupDescription_partition_assignor(
                    g,
                ))
                .unwrap_or_default(),
                coordinator,
                members,
            });
        }
        Ok(out)
    }
}

/// The one group result an offsets call on a single group answers with:
/// its error, else its partitions.
///
/// SAFETY: `groups` holds `n` valid results owned by a live event.
unsafe fn single_group(
    groups: *const *const rdsys::rd_kafka_group_result_t,
    n: usize,
    what: &str,
) -> Result<Vec<PartitionEntry>> {
    if n == 0 {
        return Err(ClientError::Invalid(format!(
            "{what}: no answer for the group"
        )));
    }
    let group = *groups;
    error_object(rdsys::rd_kafka_group_result_error(group), what)?;
    Ok(entries(rdsys::rd_kafka_group_result_partitions(group)))
}

/// OffsetFetch for every partition `group` has committed an offset for.
pub fn list_consumer_group_offsets(
    handle: Handle,
    group: &str,
    timeout: Duration,
) -> Result<BTreeMap<TopicPartition, i64>> {
    let what = format!("cannot read the committed offsets of group '{group}'");
    let name = cstring(group)?;
    // SAFETY: the request object is copied by librdkafka and destroyed here;
    // results are copied out while the event lives.
    unsafe {
        let mut request = [rdsys::rd_kafka_ListConsumerGroupOffsets_new(
            name.as_ptr(),
            std::ptr::null(),
        )];
        let event = call(handle, &what, timeout, |options, queue| {
            rdsys::rd_kafka_ListConsumerGroupOffsets(
                handle.0,
                request.as_mut_ptr(),
                1,
                options,
                queue,
            )
        });
        rdsys::rd_kafka_ListConsumerGroupOffsets_destroy(request[0]);
        let event = event?;
        let result = rdsys::rd_kafka_event_ListConsumerGroupOffsets_result(event.0);
        let mut n = 0usize;
        let groups = rdsys::rd_kafka_ListConsumerGroupOffsets_result_groups(result, &mut n);
        let mut offsets = BTreeMap::new();
        for e in single_group(groups, n, &what)? {
            if let Some(code) = e.error {
                return Err(ClientError::Broker {
                    context: format!("{what} for {}", e.partition),
                    code,
                    message: None,
                });
            }
            // A partition without a commit reads as librdkafka's invalid offset.
            if e.offset >= 0 {
                offsets.insert(e.partition, e.offset);
            }
        }
        Ok(offsets)
    }
}

/// OffsetCommit on behalf of `group` while it has no members, as Kafka's
/// AlterConsumerGroupOffsets does.
pub fn alter_consumer_group_offsets(
    handle: Handle,
    group: &str,
    offsets: &BTreeMap<TopicPartition, i64>,
    timeout: Duration,
) -> Result<()> {
    let what = format!("cannot commit offsets for group '{group}'");
    let name = cstring(group)?;
    let list = partition_list(offsets.iter().map(|(tp, o)| (tp, *o)))?;
    // SAFETY: as in list_consumer_group_offsets.
    unsafe {
        let mut request = [rdsys::rd_kafka_AlterConsumerGroupOffsets_new(
            name.as_ptr(),
            list.ptr(),
        )];
        let event = call(handle, &what, timeout, |options, queue| {
            rdsys::rd_kafka_AlterConsumerGroupOffsets(
                handle.0,
                request.as_mut_ptr(),
                1,
                options,
                queue,
            )
        });
        rdsys::rd_kafka_AlterConsumerGroupOffsets_destroy(request[0]);
        let event = event?;
        let result = rdsys::rd_kafka_event_AlterConsumerGroupOffsets_result(event.0);
        let mut n = 0usize;
        let groups = rdsys::rd_kafka_AlterConsumerGroupOffsets_result_groups(result, &mut n);
        for e in single_group(groups, n, &what)? {
            if let Some(code) = e.error {
                return Err(ClientError::Broker {
                    context: format!("{what} on {}", e.partition),
                    code,
                    message: None,
                });
            }
        }
        Ok(())
    }
}

/// OffsetDelete: each partition's outcome, since Kafka refuses partitions
/// of topics the group still subscribes to and deletes the others.
pub fn delete_consumer_group_offsets(
    handle: Handle,
    group: &str,
    partitions: &[TopicPartition],
    timeout: Duration,
) -> Result<Vec<OffsetDeletion>> {
    let what = format!("cannot delete offsets of group '{group}'");
    let name = cstring(group)?;
    let list = partition_list(partitions.iter().map(|tp| (tp, 0)))?;
    // SAFETY: as in list_consumer_group_offsets.
    unsafe {
        let mut request = [rdsys::rd_kafka_DeleteConsumerGroupOffsets_new(
            name.as_ptr(),
            list.ptr(),
        )];
        let event = call(handle, &what, timeout, |options, queue| {
            rdsys::rd_kafka_DeleteConsumerGroupOffsets(
                handle.0,
                request.as_mut_ptr(),
                1,
                options,
                queue,
            )
        });
        rdsys::rd_kafka_DeleteConsumerGroupOffsets_destroy(request[0]);
        let event = event?;
        let result = rdsys::rd_kafka_event_DeleteConsumerGroupOffsets_result(event.0);
        let mut n = 0usize;
        let groups = rdsys::rd_kafka_DeleteConsumerGroupOffsets_result_groups(result, &mut n);
        Ok(single_group(groups, n, &what)?
            .into_iter()
            .map(|e| OffsetDeletion {
                partition: e.partition,
                error: e.error.map(|code| format!("{code:?}")),
            })
            .collect())
    }
}
