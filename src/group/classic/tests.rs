//! The classic state machine driven through the coordinator's calls, as
//! Kafka's GroupMetadataManagerTest drives it: no broker process, and time
//! moved on by firing the timers' work with a later `now` instead of
//! waiting for them.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::poll;
use kafka_protocol::error::ResponseError;

use super::GroupState;
use crate::group::testing::{join_request, member_id, Harness, SESSION_MS, SHORT_SESSION_MS};
use crate::group::GroupCoordinator;

fn state(coordinator: &GroupCoordinator) -> GroupState {
    coordinator.describe_group("g").state
}

/// Members `a` (with `a_instance`, if static) and `b` (whose session is the
/// shorter) join an empty group together and sync: generation 1, Stable.
/// Returns (a, b).
async fn stable_pair(coordinator: &GroupCoordinator, a_instance: Option<&str>) -> (String, String) {
    // A static member joins under a new id at once; a dynamic one first asks for its id.
    let a = match a_instance {
        Some(_) => String::new(),
        None => member_id(coordinator).await,
    };
    let b = member_id(coordinator).await;
    assert_eq!(state(coordinator), GroupState::Empty);

    let mut join_a = Box::pin(coordinator.join_group(join_request(&a, a_instance, SESSION_MS)));
    assert!(
        poll!(&mut join_a).is_pending(),
        "a waits for b, whose id is out"
    );
    assert_eq!(state(coordinator), GroupState::PreparingRebalance);

    let join_b = coordinator
        .join_group(join_request(&b, None, SHORT_SESSION_MS))
        .await;
    let join_a = join_a.await;
    assert_eq!((join_a.error, join_b.error), (None, None));
    assert_eq!((join_a.generation_id, join_b.generation_id), (1, 1));
    assert_eq!(join_a.protocol_name.as_deref(), Some("range"));
    assert_eq!(state(coordinator), GroupState::CompletingRebalance);
    let a = join_a.member_id.clone();
    assert_eq!(join_a.leader_id, join_b.leader_id);
    let (leader, follower) = if join_a.leader_id == a {
        (&join_a, &join_b)
    } else {
        (&join_b, &join_a)
    };
    // Only the leader learns the members' subscriptions, to assign from.
    assert_eq!((leader.members.len(), follower.members.len()), (2, 0));

    // The follower's SyncGroup waits for the leader's assignment.
    let mut follower_sync =
        Box::pin(coordinator.sync_group("g", 1, &follower.member_id, None, Vec::new()));
    assert!(poll!(&mut follower_sync).is_pending());
    let assignments = vec![
        (leader.member_id.clone(), Bytes::from_static(b"leader's")),
        (
            follower.member_id.clone(),
            Bytes::from_static(b"follower's"),
        ),
    ];
    let instance = a_instance.filter(|_| leader.member_id == a);
    let leader_sync = coordinator
        .sync_group("g", 1, &leader.member_id, instance, assignments)
        .await;
    assert_eq!(leader_sync, Ok(Bytes::from_static(b"leader's")));
    assert_eq!(follower_sync.await, Ok(Bytes::from_static(b"follower's")));
    assert_eq!(state(coordinator), GroupState::Stable);
    (a, join_b.member_id)
}

#[tokio::test]
async fn two_members_take_a_group_from_empty_through_both_rebalance_phases_to_stable() {
    let h = Harness::new();
    let c = &h.coordinator;
    let (a, b) = stable_pair(c, None).await;
    assert_eq!(c.heartbeat("g", 1, &a, None), Ok(()));
    assert_eq!(c.heartbeat("g", 1, &b, None), Ok(()));
    assert_eq!(
        c.heartbeat("g", 0, &b, None),
        Err(ResponseError::IllegalGeneration)
    );
    let described = c.describe_group("g");
    assert_eq!(described.protocol_name, "range");
    assert_eq!(described.members.len(), 2);
}

#[tokio::test]
async fn a_member_whose_session_lapses_is_removed_and_the_rest_rebalance() {
    let h = Harness::new();
    let c = &h.coordinator;
    let (a, b) = stable_pair(c, None).await;
    let expire_at = |later: Duration| {
        let mut state = c.state.lock();
        let group = state.groups.get_mut("g").expect("the group");
        c.expire_lapsed(group, Instant::now() + later);
    };

    // Within b's session nothing happens.
    expire_at(Duration::from_millis(SHORT_SESSION_MS as u64 / 2));
    assert_eq!(state(c), GroupState::Stable);

    // Past b's session but within a's: b goes, a must rejoin.
    expire_at(Duration::from_millis(SHORT_SESSION_MS as u64 + 1_000));
    assert_eq!(state(c), GroupState::PreparingRebalance);
    assert_eq!(
        c.heartbeat("g", 1, &b, None),
        Err(ResponseError::UnknownMemberId)
    );
    assert_eq!(
        c.heartbeat("g", 1, &a, None),
        Err(ResponseError::RebalanceInProgress)
    );
    let rejoined = c.join_group(join_request(&a, None, SESSION_MS)).await;
    assert_eq!(rejoined.error, None);
    assert_eq!(rejoined.generation_id, 2);
    assert_eq!(rejoined.leader_id, a);
    assert_eq!(rejoined.members.len(), 1);
    assert_eq!(state(c), GroupState::CompletingRebalance);
}

#[tokio::test]
async fn the_rebalance_timeout_evicts_a_member_that_never_rejoined() {
    let h = Harness::new();
    let c = &h.coordinator;
    let (a, b) = stable_pair(c, None).await;

    // A third member joins: a and b must rejoin; only a does.
    let newcomer = member_id(c).await;
    let mut join_new = Box::pin(c.join_group(join_request(&newcomer, None, SESSION_MS)));
    assert!(poll!(&mut join_new).is_pending());
    assert_eq!(state(c), GroupState::PreparingRebalance);
    let mut join_a = Box::pin(c.join_group(join_request(&a, None, SESSION_MS)));
    assert!(poll!(&mut join_a).is_pending(), "b has not rejoined");

    let fire = |rebalance_back: u64| {
        let mut state = c.state.lock();
        let group = state.groups.get_mut("g").expect("the group");
        let rebalance_id = group.rebalance_id - rebalance_back;
        c.join_deadline(group, rebalance_id);
    };
    // The deadline of the rebalance that made generation 1 is long past.
    fire(1);
    assert_eq!(state(c), GroupState::PreparingRebalance);
    assert!(poll!(&mut join_a).is_pending());

    fire(0);
    let (joined_a, joined_new) = (join_a.await, join_new.await);
    assert_eq!((joined_a.error, joined_new.error), (None, None));
    assert_eq!((joined_a.generation_id, joined_new.generation_id), (2, 2));
    assert_eq!(state(c), GroupState::CompletingRebalance);
    let members: Vec<String> = c
        .describe_group("g")
        .members
        .into_iter()
        .map(|m| m.0)
        .collect();
    assert!(members.contains(&a) && members.contains(&newcomer));
    assert!(!members.contains(&b), "b was evicted: {members:?}");
    assert_eq!(
        c.heartbeat("g", 2, &b, None),
        Err(ResponseError::UnknownMemberId)
    );
}

#[tokio::test]
async fn a_restarted_static_member_takes_over_its_instance_without_a_rebalance() {
    let h = Harness::new();
    let c = &h.coordinator;
    let (old, b) = stable_pair(c, Some("instance-a")).await;

    // The same instance comes back with no member id, as after a restart.
    let rejoined = c
        .join_group(join_request("", Some("instance-a"), SESSION_MS))
        .await;
    assert_eq!(rejoined.error, None);
    let new = rejoined.member_id.clone();
    assert_ne!(new, old);
    assert_eq!(rejoined.generation_id, 1, "no new generation");
    assert_eq!(state(c), GroupState::Stable);

    // The old id is fenced; the new one and the other member carry on.
    assert_eq!(
        c.heartbeat("g", 1, &old, Some("instance-a")),
        Err(ResponseError::FencedInstanceId)
    );
    assert_eq!(c.heartbeat("g", 1, &new, Some("instance-a")), Ok(()));
    assert_eq!(c.heartbeat("g", 1, &b, None), Ok(()));
    let members: Vec<(String, Option<String>)> = c
        .describe_group("g")
        .members
        .into_iter()
        .map(|m| (m.0, m.1))
        .collect();
    assert!(members.contains(&(new, Some("instance-a".to_string()))));
    assert!(!members.iter().any(|(id, _)| *id == old));
}
