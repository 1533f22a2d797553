//! A KIP-848 group driven through ConsumerGroupHeartbeat without a broker
//! process: member epochs follow the assignment, a partition moves to its
//! new owner only once the old one has released it, and a silent member is
//! removed at its session timeout on the tests' own clock.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use kafka_protocol::error::ResponseError;
use uuid::Uuid;

use super::{ConsumerHeartbeat, ConsumerHeartbeatResult, TopicIdPartition};
use crate::group::testing::Harness;
use crate::group::GroupCoordinator;

/// The members' RebalanceTimeoutMs, shorter than the group's session
/// timeout so that the two are told apart.
const REBALANCE_TIMEOUT_MS: i32 = 5_000;

fn heartbeat(
    coordinator: &GroupCoordinator,
    topics: &HashMap<String, (Uuid, i32)>,
    member_id: &str,
    member_epoch: i32,
    owned: Option<&BTreeSet<TopicIdPartition>>,
) -> Result<ConsumerHeartbeatResult, ResponseError> {
    heartbeat_at(
        coordinator,
        topics,
        member_id,
        member_epoch,
        owned,
        Instant::now(),
    )
}

fn heartbeat_at(
    coordinator: &GroupCoordinator,
    topics: &HashMap<String, (Uuid, i32)>,
    member_id: &str,
    member_epoch: i32,
    owned: Option<&BTreeSet<TopicIdPartition>>,
    now: Instant,
) -> Result<ConsumerHeartbeatResult, ResponseError> {
    coordinator.consumer_heartbeat_at(
        ConsumerHeartbeat {
            group_id: "g".to_string(),
            member_id: member_id.to_string(),
            member_epoch,
            rebalance_timeout_ms: if member_epoch == 0 {
                REBALANCE_TIMEOUT_MS
            } else {
                -1
            },
            subscribed_topics: (member_epoch == 0).then(|| vec!["t".to_string()]),
            subscribed_regex: None,
            server_assignor: None,
            owned: owned.map(|o| o.iter().copied().collect()),
            instance_id: None,
            client_id: "client".to_string(),
            client_host: "/127.0.0.1".to_string(),
        },
        topics,
        now,
    )
}

fn set(assignment: Option<Vec<TopicIdPartition>>) -> BTreeSet<TopicIdPartition> {
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

#[tokio::test]
async fn a_silent_member_is_removed_at_its_session_timeout_and_its_partitions_move() {
    let h = Harness::new();
    let c = &h.coordinator;
    let topics: HashMap<String, (Uuid, i32)> = [("t".to_string(), (Uuid::new_v4(), 4))].into();
    let session = Duration::from_millis(c.consumer_session_timeout_ms("g") as u64);
    let t0 = Instant::now();

    // a and b share the four partitions at group epoch 2.
    let a = heartbeat_at(c, &topics, "", 0, None, t0).unwrap();
    let (a, a_owns) = (a.member_id, set(a.assignment));
    let b = heartbeat_at(c, &topics, "", 0, None, t0).unwrap().member_id;
    let a_keeps = set(heartbeat_at(c, &topics, &a, 1, Some(&a_owns), t0)
        .unwrap()
        .assignment);
    heartbeat_at(c, &topics, &a, 1, Some(&a_keeps), t0).unwrap();
    let b_owns = set(heartbeat_at(c, &topics, &b, 2, Some(&BTreeSet::new()), t0)
        .unwrap()
        .assignment);
    assert_eq!((a_keeps.len(), b_owns.len()), (2, 2));

    // Only a heartbeats on: b's session runs from t0, a's from `later`.
    let later = t0 + session / 2;
    heartbeat_at(c, &topics, &a, 2, Some(&a_keeps), later).unwrap();
    let members = || c.describe_consumer_group("g").unwrap().members.len();
    c.expire_consumer_sessions(t0 + session - Duration::from_millis(1));
    assert_eq!(members(), 2, "a millisecond before b's session lapses");
    c.expire_consumer_sessions(t0 + session);
    assert_eq!(members(), 1, "b's session lapsed");

    // b is fenced; a takes b's partitions at the next group epoch.
    let now = t0 + session;
    assert_eq!(
        heartbeat_at(c, &topics, &b, 2, Some(&b_owns), now).err(),
        Some(ResponseError::UnknownMemberId)
    );
    let a_now = heartbeat_at(c, &topics, &a, 2, Some(&a_keeps), now).unwrap();
    assert_eq!(a_now.member_epoch, 3);
    assert_eq!(set(a_now.assignment), &a_keeps | &b_owns);
}

#[tokio::test]
async fn a_member_that_keeps_revoked_partitions_past_its_rebalance_timeout_is_removed() {
    let h = Harness::new();
    let c = &h.coordinator;
    let topics: HashMap<String, (Uuid, i32)> = [("t".to_string(), (Uuid::new_v4(), 4))].into();
    let rebalance = Duration::from_millis(REBALANCE_TIMEOUT_MS as u64);
    assert!(rebalance < Duration::from_millis(c.consumer_session_timeout_ms("g") as u64));
    let t0 = Instant::now();

    // a owns all four; b joins and a is told to give up two, at t0.
    let a = heartbeat_at(c, &topics, "", 0, None, t0).unwrap();
    let (a, a_owns) = (a.member_id, set(a.assignment));
    heartbeat_at(c, &topics, &a, 1, Some(&a_owns), t0).unwrap();
    let b = heartbeat_at(c, &topics, "", 0, None, t0).unwrap().member_id;
    let revoking = heartbeat_at(c, &topics, &a, 1, Some(&a_owns), t0).unwrap();
    assert_eq!(set(revoking.assignment).len(), 2);

    // a heartbeats on, still owning all four: its session stays alive but
    // the rebalance timeout runs from when it was told.
    let members = || c.describe_consumer_group("g").unwrap().members.len();
    let late = t0 + rebalance - Duration::from_millis(1);
    heartbeat_at(c, &topics, &a, 1, Some(&a_owns), late).unwrap();
    heartbeat_at(c, &topics, &b, 2, Some(&BTreeSet::new()), late).unwrap();
    c.expire_consumer_sessions(late);
    assert_eq!(members(), 2, "a millisecond before a's rebalance timeout");
    c.expire_consumer_sessions(t0 + rebalance);
    assert_eq!(members(), 1, "a kept the revoked partitions too long");

    // a must join again; b gets every partition.
    let now = t0 + rebalance;
    assert_eq!(
        heartbeat_at(c, &topics, &a, 1, Some(&a_owns), now).err(),
        Some(ResponseError::UnknownMemberId)
    );
    let b_now = heartbeat_at(c, &topics, &b, 2, Some(&BTreeSet::new()), now).unwrap();
    assert_eq!(set(b_now.assignment).len(), 4);
}

#[tokio::test]
async fn a_member_that_releases_in_time_is_not_removed_and_joining_needs_a_rebalance_timeout() {
    let h = Harness::new();
    let c = &h.coordinator;
    let topics: HashMap<String, (Uuid, i32)> = [("t".to_string(), (Uuid::new_v4(), 4))].into();
    let rebalance = Duration::from_millis(REBALANCE_TIMEOUT_MS as u64);
    let t0 = Instant::now();
    let a = heartbeat_at(c, &topics, "", 0, None, t0).unwrap();
    let (a, a_owns) = (a.member_id, set(a.assignment));
    heartbeat_at(c, &topics, &a, 1, Some(&a_owns), t0).unwrap();
    let b = heartbeat_at(c, &topics, "", 0, None, t0).unwrap().member_id;
    let a_keeps = set(heartbeat_at(c, &topics, &a, 1, Some(&a_owns), t0)
        .unwrap()
        .assignment);
    let released = t0 + rebalance / 2;
    heartbeat_at(c, &topics, &a, 1, Some(&a_keeps), released).unwrap();
    heartbeat_at(c, &topics, &b, 2, Some(&BTreeSet::new()), released).unwrap();
    c.expire_consumer_sessions(t0 + rebalance * 2);
    assert_eq!(c.describe_consumer_group("g").unwrap().members.len(), 2);

    let no_timeout = c.consumer_heartbeat_at(
        ConsumerHeartbeat {
            group_id: "g".to_string(),
            member_id: String::new(),
            member_epoch: 0,
            rebalance_timeout_ms: -1,
            subscribed_topics: Some(vec!["t".to_string()]),
            subscribed_regex: None,
            server_assignor: None,
            owned: None,
            instance_id: None,
            client_id: "client".to_string(),
            client_host: "/127.0.0.1".to_string(),
        },
        &topics,
        t0,
    );
    assert_eq!(no_timeout.err(), Some(ResponseError::InvalidRequest));
}
