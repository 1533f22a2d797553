//! A KIP-848 group driven through ConsumerGroupHeartbeat without a broker
//! process: member epochs follow the assignment, and a partition moves to
//! its new owner only once the old one has released it.

use std::collections::{BTreeSet, HashMap};

use kafka_protocol::error::ResponseError;
use uuid::Uuid;

use super::{ConsumerHeartbeat, ConsumerHeartbeatResult, TopicPartition};
use crate::group::testing::Harness;
use crate::group::GroupCoordinator;

fn heartbeat(
    coordinator: &GroupCoordinator,
    topics: &HashMap<String, (Uuid, i32)>,
    member_id: &str,
    member_epoch: i32,
    owned: Option<&BTreeSet<TopicPartition>>,
) -> Result<ConsumerHeartbeatResult, ResponseError> {
    coordinator.consumer_heartbeat(
        ConsumerHeartbeat {
            group_id: "g".to_string(),
            member_id: member_id.to_string(),
            member_epoch,
            subscribed_topics: (member_epoch == 0).then(|| vec!["t".to_string()]),
            subscribed_regex: None,
            server_assignor: None,
            owned: owned.map(|o| o.iter().copied().collect()),
            instance_id: None,
            client_id: "client".to_string(),
            client_host: "/127.0.0.1".to_string(),
        },
        topics,
    )
}

fn set(assignment: Option<Vec<TopicPartition>>) -> BTreeSet<TopicPartition> {
    assignment.expect("an assignment").into_iter().collect()
}

#[tokio::test]
async fn member_epochs_move_with_the_assignment_and_partitions_wait_for_release() {
    let h = Harness::new();
    let c = &h.coordinator;
    let topic = Uuid::new_v4();
    let topics: HashMap<String, (Uuid, i32)> = [("t".to_string(), (topic, 4))].into();

    // a joins alone: group epoch 1, every partition.
    let joined = heartbeat(c, &topics, "", 0, None).unwrap();
    let a = joined.member_id.clone();
    assert_eq!(joined.member_epoch, 1);
    let a_owns = set(joined.assignment);
    assert_eq!(a_owns.len(), 4);
    let same = heartbeat(c, &topics, &a, 1, Some(&a_owns)).unwrap();
    assert_eq!((same.member_epoch, same.assignment), (1, None));

    // b joins: the target splits the partitions and the group epoch goes
    // to 2; b is at epoch 2 but gets nothing while a holds everything.
    let joined = heartbeat(c, &topics, "", 0, None).unwrap();
    let b = joined.member_id.clone();
    assert_eq!(joined.member_epoch, 2);
    assert!(set(joined.assignment).is_empty());

    // a must revoke two first, at its old epoch.
    let revoking = heartbeat(c, &topics, &a, 1, Some(&a_owns)).unwrap();
    assert_eq!(revoking.member_epoch, 1);
    let a_keeps = set(revoking.assignment);
    assert_eq!(a_keeps.len(), 2);
    let waiting = heartbeat(c, &topics, &b, 2, Some(&BTreeSet::new())).unwrap();
    assert_eq!(waiting.assignment, None, "a has not released them yet");

    // a confirms: it moves to epoch 2, and b takes the released two.
    let released = heartbeat(c, &topics, &a, 1, Some(&a_keeps)).unwrap();
    assert_eq!((released.member_epoch, released.assignment), (2, None));
    let taken = heartbeat(c, &topics, &b, 2, Some(&BTreeSet::new())).unwrap();
    let b_owns = set(taken.assignment);
    assert_eq!(b_owns.len(), 2);
    assert!(b_owns.is_disjoint(&a_keeps));

    // An epoch the member never had is fenced; a commit at one is stale.
    assert_eq!(
        heartbeat(c, &topics, &a, 7, Some(&a_keeps)).err(),
        Some(ResponseError::FencedMemberEpoch)
    );
    assert_eq!(
        c.commit_offsets("g", 7, &a, None, Vec::new()),
        Err(ResponseError::StaleMemberEpoch)
    );
    assert_eq!(c.commit_offsets("g", 2, &a, None, Vec::new()), Ok(()));
}
