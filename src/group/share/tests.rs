//! The share-partition state machine, membership and share sessions,
//! without a broker: the clock is passed in.

use kafka_protocol::error::ResponseError;
use uuid::Uuid;

use super::group::{ShareGroup, ShareHeartbeat, Topics};
use super::partition::{
    log_batches, mark_aborted, AckBatch, AckType, Acquired, Limits, LogBatch, RecordState,
    SharePartition,
};
use super::session::{Opened, ShareSessionCache};

const LIMITS: Limits = Limits {
    lock_duration_ms: 30_000,
    delivery_count_limit: 3,
    max_in_flight: 100,
};

/// One batch holding offsets `base..=last`.
fn batch(base: i64, last: i64) -> LogBatch {
    LogBatch {
        base,
        last,
        control: false,
        transactional_producer: None,
        aborted: false,
        bytes: 0..0,
    }
}

fn acks(first: i64, last: i64, t: AckType) -> Vec<AckBatch> {
    vec![AckBatch {
        first,
        last,
        types: vec![t],
    }]
}

fn range(first: i64, last: i64, delivery_count: i16) -> Acquired {
    Acquired {
        first,
        last,
        delivery_count,
    }
}

#[test]
fn accepted_records_move_the_start_offset() {
    let mut sp = SharePartition::new(0);
    let got = sp.acquire("a", &[batch(0, 9)], 10, 500, 0, &LIMITS);
    assert_eq!(got, vec![range(0, 9, 1)]);
    assert_eq!(sp.fetch_offset(), 10);
    sp.acknowledge("a", &acks(0, 4, AckType::Accept), &LIMITS)
        .unwrap();
    assert_eq!(sp.start_offset(), 5);
    assert_eq!(sp.in_flight(), 5);
    // Nothing past the high watermark is acquired.
    assert!(sp
        .acquire("b", &[batch(10, 19)], 10, 500, 0, &LIMITS)
        .is_empty());
}

#[test]
fn a_record_comes_back_when_its_lock_expires_and_not_before() {
    let mut sp = SharePartition::new(0);
    sp.acquire("a", &[batch(0, 2)], 3, 500, 1_000, &LIMITS);
    assert_eq!(sp.next_lock_deadline(), Some(31_000));
    sp.expire_locks(30_999, &LIMITS);
    assert_eq!(sp.state(1), Some((RecordState::Acquired, 1)));
    assert!(sp
        .acquire("b", &[batch(0, 2)], 3, 500, 30_999, &LIMITS)
        .is_empty());
    sp.expire_locks(31_000, &LIMITS);
    assert_eq!(sp.state(1), Some((RecordState::Available, 1)));
    assert_eq!(sp.fetch_offset(), 0);
    let again = sp.acquire("b", &[batch(0, 2)], 3, 500, 31_000, &LIMITS);
    assert_eq!(again, vec![range(0, 2, 2)]);
    // The first holder's lock is gone: its late acknowledgement is refused.
    assert_eq!(
        sp.acknowledge("a", &acks(0, 2, AckType::Accept), &LIMITS),
        Err(ResponseError::InvalidRecordState)
    );
}

#[test]
fn release_redelivers_reject_archives_and_the_limit_archives() {
    let mut sp = SharePartition::new(0);
    sp.acquire("a", &[batch(0, 2)], 3, 500, 0, &LIMITS);
    let types = vec![AckType::Reject, AckType::Release, AckType::Accept];
    sp.acknowledge(
        "a",
        &[AckBatch {
            first: 0,
            last: 2,
            types,
        }],
        &LIMITS,
    )
    .unwrap();
    assert_eq!(sp.start_offset(), 1, "the rejected record is done");
    assert_eq!(sp.state(1), Some((RecordState::Available, 1)));
    assert_eq!(sp.state(2), Some((RecordState::Acknowledged, 1)));
    // Offset 1 is delivered until the limit (3), then archived.
    for delivery in 2..=3 {
        let got = sp.acquire("a", &[batch(0, 2)], 3, 500, 0, &LIMITS);
        assert_eq!(got, vec![range(1, 1, delivery)]);
        sp.acknowledge("a", &acks(1, 1, AckType::Release), &LIMITS)
            .unwrap();
    }
    assert_eq!(sp.start_offset(), 3, "archived after 3 deliveries");
    assert_eq!(sp.in_flight(), 0);
    assert!(sp
        .acquire("a", &[batch(0, 2)], 3, 500, 0, &LIMITS)
        .is_empty());
}

#[test]
fn an_expired_lock_at_the_limit_archives_the_record() {
    let limits = Limits {
        delivery_count_limit: 1,
        ..LIMITS
    };
    let mut sp = SharePartition::new(5);
    sp.acquire("a", &[batch(5, 5)], 6, 500, 0, &limits);
    sp.expire_locks(30_000, &limits);
    assert_eq!(sp.start_offset(), 6);
}

#[test]
fn acknowledgements_apply_all_or_none() {
    let mut sp = SharePartition::new(0);
    sp.acquire("a", &[batch(0, 1)], 2, 1, 0, &LIMITS);
    sp.acquire("b", &[batch(0, 1)], 2, 1, 0, &LIMITS);
    // Offset 1 is b's: a's batch over 0..=1 changes nothing.
    assert_eq!(
        sp.acknowledge("a", &acks(0, 1, AckType::Accept), &LIMITS),
        Err(ResponseError::InvalidRecordState)
    );
    assert_eq!(sp.state(0), Some((RecordState::Acquired, 1)));
    // Never acquired.
    assert_eq!(
        sp.acknowledge("a", &acks(7, 7, AckType::Accept), &LIMITS),
        Err(ResponseError::InvalidRecordState)
    );
    // However wide the range, it is refused without walking it.
    assert_eq!(
        sp.acknowledge("a", &acks(i64::MIN, i64::MAX, AckType::Accept), &LIMITS),
        Err(ResponseError::InvalidRecordState)
    );
    // Types neither one nor one per offset.
    let bad = AckBatch {
        first: 0,
        last: 0,
        types: vec![AckType::Accept, AckType::Accept],
    };
    assert_eq!(
        sp.acknowledge("a", &[bad], &LIMITS),
        Err(ResponseError::InvalidRequest)
    );
}

#[test]
fn max_records_and_the_in_flight_limit_bound_acquisition() {
    let limits = Limits {
        max_in_flight: 4,
        ..LIMITS
    };
    let mut sp = SharePartition::new(0);
    assert_eq!(
        sp.acquire("a", &[batch(0, 9)], 10, 3, 0, &limits),
        vec![range(0, 2, 1)]
    );
    assert_eq!(
        sp.acquire("b", &[batch(3, 9)], 10, 100, 0, &limits),
        vec![range(3, 3, 1)]
    );
    assert!(!sp.has_acquirable(10, &limits));
    sp.acknowledge("a", &acks(0, 2, AckType::Accept), &limits)
        .unwrap();
    assert!(sp.has_acquirable(10, &limits));
    assert_eq!(
        sp.acquire("b", &[batch(4, 9)], 10, 100, 0, &limits),
        vec![range(4, 6, 1)]
    );
}

#[test]
fn gaps_are_skipped_and_control_records_archived_as_the_end_passes_them() {
    let mut sp = SharePartition::new(0);
    let marker = LogBatch {
        control: true,
        ..batch(3, 3)
    };
    // Offsets 1 and 2 were compacted away; 3 is a transaction marker.
    let got = sp.acquire("a", &[batch(0, 0), marker, batch(4, 5)], 6, 500, 0, &LIMITS);
    assert_eq!(got, vec![range(0, 0, 1), range(4, 5, 1)]);
    sp.acknowledge("a", &acks(0, 0, AckType::Accept), &LIMITS)
        .unwrap();
    assert_eq!(sp.start_offset(), 4);
    // A compacted log's wide gap costs no entries.
    let got = sp.acquire(
        "a",
        &[batch(1_000_000, 1_000_000)],
        i64::MAX,
        500,
        0,
        &LIMITS,
    );
    assert_eq!(got, vec![range(1_000_000, 1_000_000, 1)]);
    assert_eq!(sp.in_flight(), 3);
}

#[test]
fn aborted_transactions_are_archived_and_never_acquired() {
    // Producer 1 aborts 0..=2 (marker 3); producer 2 commits 4..=5 (marker
    // 6); producer 1's next transaction, 7, is not the aborted one.
    let txn = |producer: i64, base: i64, last: i64, control: bool| LogBatch {
        control,
        transactional_producer: Some(producer),
        ..batch(base, last)
    };
    let mut batches = vec![
        txn(1, 0, 2, false),
        txn(1, 3, 3, true),
        txn(2, 4, 5, false),
        txn(2, 6, 6, true),
        txn(1, 7, 7, false),
        batch(8, 8),
    ];
    mark_aborted(&mut batches, &[(1, 0)]);
    let aborted: Vec<bool> = batches.iter().map(|b| b.aborted).collect();
    assert_eq!(aborted, [true, false, false, false, false, false]);

    let mut sp = SharePartition::new(0);
    let got = sp.acquire("a", &batches, 9, 500, 0, &LIMITS);
    assert_eq!(got, vec![range(4, 5, 1), range(7, 8, 1)]);
    assert_eq!(sp.start_offset(), 4, "the aborted records are done");
    // Records read before the group turned read_committed are archived
    // when next read as aborted, not delivered again.
    let mut sp = SharePartition::new(0);
    sp.acquire("a", &[batch(0, 2)], 3, 500, 0, &LIMITS);
    sp.release_member("a", &LIMITS);
    assert!(sp
        .acquire("b", &batches[..1], 3, 500, 0, &LIMITS)
        .is_empty());
    assert_eq!(sp.start_offset(), 3);
}

#[test]
fn a_released_member_gives_back_only_its_own_records() {
    let mut sp = SharePartition::new(0);
    sp.acquire("a", &[batch(0, 3)], 4, 2, 0, &LIMITS);
    sp.acquire("b", &[batch(0, 3)], 4, 2, 0, &LIMITS);
    sp.release_member("a", &LIMITS);
    assert_eq!(sp.state(0), Some((RecordState::Available, 1)));
    assert_eq!(sp.state(2), Some((RecordState::Acquired, 1)));
}

#[test]
fn retention_drops_records_below_the_log_start() {
    let mut sp = SharePartition::new(0);
    sp.acquire("a", &[batch(0, 3)], 4, 500, 0, &LIMITS);
    sp.log_start_moved(2);
    assert_eq!((sp.start_offset(), sp.in_flight()), (2, 2));
    sp.log_start_moved(10);
    assert_eq!((sp.start_offset(), sp.end_offset()), (10, 10));
}

#[test]
fn log_batches_reads_offsets_and_control_flags_from_batch_headers() {
    fn header(base: i64, records: i32, control: bool) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(base.to_be_bytes());
        b.extend(49i32.to_be_bytes()); // the batch's length after this field
        b.extend(0i32.to_be_bytes()); // leader epoch
        b.push(2); // magic
        b.extend(0u32.to_be_bytes()); // crc
        b.extend((if control { 0x20i16 } else { 0 }).to_be_bytes());
        b.extend((records - 1).to_be_bytes());
        b.resize(61, 0);
        b
    }
    let mut bytes = header(10, 3, false);
    let mut marker = header(13, 1, true);
    marker[22] |= 0x10; // transactional
    marker[43..51].copy_from_slice(&77i64.to_be_bytes()); // its producer
    bytes.extend(marker);
    bytes.extend(&header(14, 2, false)[..30]);
    let batches = log_batches(&bytes);
    assert_eq!(
        batches,
        vec![
            LogBatch {
                base: 10,
                last: 12,
                control: false,
                transactional_producer: None,
                aborted: false,
                bytes: 0..61
            },
            LogBatch {
                base: 13,
                last: 13,
                control: true,
                transactional_producer: Some(77),
                aborted: false,
                bytes: 61..122
            },
        ],
        "a truncated last batch is left out"
    );
}

fn topics(partitions: i32) -> Topics {
    Topics::from([("t".to_string(), (Uuid::from_u128(7), partitions))])
}

fn hb(member: &str, epoch: i32, topics: Option<&[&str]>) -> ShareHeartbeat {
    ShareHeartbeat {
        group_id: "g".to_string(),
        member_id: member.to_string(),
        member_epoch: epoch,
        rack_id: None,
        subscribed_topics: topics.map(|t| t.iter().map(|s| s.to_string()).collect()),
        client_id: "c".to_string(),
        client_host: "/127.0.0.1".to_string(),
    }
}

#[test]
fn members_share_a_partition_and_a_silent_one_is_removed_at_its_session_timeout() {
    let mut g = ShareGroup::default();
    let topics = topics(1);
    let beat = |g: &mut ShareGroup, h: &ShareHeartbeat, now: i64| {
        g.heartbeat(h, &topics, now, 45_000, 5_000, 200)
    };
    let a = beat(&mut g, &hb("a", 0, Some(&["t"])), 0).unwrap();
    assert_eq!(a.member_epoch, 1);
    assert_eq!(a.assignment, Some(vec![(Uuid::from_u128(7), 0)]));
    let b = beat(&mut g, &hb("b", 0, Some(&["t"])), 1_000).unwrap();
    // One partition, two members: both read it.
    assert_eq!(b.assignment, Some(vec![(Uuid::from_u128(7), 0)]));
    // a's assignment did not change: no new epoch, nothing sent again.
    let a = beat(&mut g, &hb("a", 1, None), 2_000).unwrap();
    assert_eq!((a.member_epoch, a.assignment), (1, None));
    assert_eq!(
        beat(&mut g, &hb("a", 7, None), 2_000),
        Err(ResponseError::FencedMemberEpoch)
    );
    assert_eq!(
        beat(&mut g, &hb("zz", 1, None), 2_000),
        Err(ResponseError::UnknownMemberId)
    );
    assert_eq!(
        beat(&mut g, &hb("c", 0, None), 2_000),
        Err(ResponseError::InvalidRequest),
        "a join names its subscription"
    );
    // b stays silent: at a's heartbeat 45 s after b's last one, b is gone.
    assert_eq!(g.expire(45_999, &topics), Vec::<String>::new());
    assert_eq!(g.expire(46_000, &topics), vec!["b".to_string()]);
    assert_eq!(g.members.len(), 1);
    let left = beat(&mut g, &hb("a", 1, None), 46_000).unwrap();
    assert_eq!(left.member_epoch, 1);
    let left = beat(&mut g, &hb("a", -1, None), 47_000).unwrap();
    assert_eq!(left.member_epoch, -1);
    assert_eq!(g.state_name(), "Empty");
}

#[test]
fn partitions_are_spread_over_members_when_there_are_enough() {
    let mut g = ShareGroup::default();
    let topics = topics(4);
    let join = |g: &mut ShareGroup, m: &str| {
        g.heartbeat(&hb(m, 0, Some(&["t"])), &topics, 0, 45_000, 5_000, 200)
            .unwrap()
    };
    join(&mut g, "a");
    join(&mut g, "b");
    let id = Uuid::from_u128(7);
    assert_eq!(g.members["a"].assignment, vec![(id, 0), (id, 2)]);
    assert_eq!(g.members["b"].assignment, vec![(id, 1), (id, 3)]);
    // a's assignment shrank: it takes the new epoch and is sent it.
    let a = g
        .heartbeat(&hb("a", 1, None), &topics, 1, 45_000, 5_000, 200)
        .unwrap();
    assert_eq!(a.member_epoch, 2);
    assert_eq!(a.assignment, Some(vec![(id, 0), (id, 2)]));
    assert_eq!(
        g.heartbeat(&hb("c", 0, Some(&["t"])), &topics, 2, 45_000, 5_000, 2),
        Err(ResponseError::GroupMaxSizeReached)
    );
}

#[test]
fn share_sessions_follow_kafkas_epochs() {
    let mut cache = ShareSessionCache::default();
    let p = (Uuid::from_u128(1), 0);
    let q = (Uuid::from_u128(1), 1);
    assert_eq!(
        cache.fetch("g", "m", 1, &[p], &[], 10),
        Err(ResponseError::ShareSessionNotFound)
    );
    assert_eq!(
        cache.fetch("g", "m", 0, &[p], &[], 10),
        Ok(Opened::New(vec![p]))
    );
    assert_eq!(
        cache.fetch("g", "m", 2, &[], &[], 10),
        Err(ResponseError::InvalidShareSessionEpoch)
    );
    assert_eq!(
        cache.fetch("g", "m", 1, &[q], &[p], 10),
        Ok(Opened::Continued(vec![q]))
    );
    assert_eq!(
        cache.acknowledge("g", "m", 2),
        Ok(Opened::Continued(vec![q]))
    );
    assert_eq!(
        cache.acknowledge("g", "m", 0),
        Err(ResponseError::InvalidShareSessionEpoch)
    );
    assert_eq!(
        cache.fetch("g", "other", 0, &[p], &[], 1),
        Err(ResponseError::ShareSessionLimitReached)
    );
    assert_eq!(
        cache.fetch("g", "m", -1, &[], &[], 10),
        Ok(Opened::Closed(vec![q]))
    );
    assert_eq!(
        cache.acknowledge("g", "m", -1),
        Err(ResponseError::ShareSessionNotFound)
    );
}

#[test]
fn a_member_silent_past_its_session_gives_back_its_records_and_loses_its_session() {
    let h = crate::group::testing::Harness::new();
    let c = &h.coordinator;
    let topics = topics(1);
    let id = Uuid::from_u128(7);
    for member in ["a", "b"] {
        c.share_heartbeat(&hb(member, 0, Some(&["t"])), &topics, 0)
            .unwrap();
    }
    assert!(matches!(
        c.share_session_fetch("g", "a", 0, &[(id, 0)], &[], 1),
        Ok(Opened::New(_))
    ));
    let acquired = used(
        c,
        "g",
        id,
        0,
        0,
        || 0,
        |sp, limits| sp.acquire("a", &[batch(0, 4)], 5, 500, 0, limits),
    );
    assert_eq!(acquired, Ok(vec![range(0, 4, 1)]));
    // b heartbeats on; a stays silent past the 45 s session timeout.
    for now in [30_000, 45_000] {
        c.share_heartbeat(&hb("b", 2, None), &topics, now).unwrap();
    }
    let state =
        |c: &crate::group::GroupCoordinator| used(c, "g", id, 0, 45_000, || 0, |sp, _| sp.state(0));
    assert_eq!(state(c), Ok(Some((RecordState::Available, 1))));
    assert_eq!(
        c.share_session_fetch("g", "a", 1, &[], &[], 1),
        Err(ResponseError::ShareSessionNotFound)
    );
    let delete = |c: &crate::group::GroupCoordinator| {
        futures::executor::block_on(c.delete_share_group("g", &topics, 46_000))
    };
    assert_eq!(delete(c), Some(Err(ResponseError::NonEmptyGroup)));
    c.share_heartbeat(&hb("b", -1, None), &topics, 46_000)
        .unwrap();
    assert_eq!(c.list_groups()[0].3, "share");
    assert_eq!(delete(c), Some(Ok(())));
    assert!(!c.is_share_group("g"));
    assert_eq!(delete(c), None, "no share group of that name");
}

#[test]
fn a_closed_connection_takes_its_share_sessions_and_gives_back_their_records() {
    let h = crate::group::testing::Harness::new();
    let c = &h.coordinator;
    let id = Uuid::from_u128(7);
    for (member, connection) in [("a", 1), ("b", 2)] {
        assert!(matches!(
            c.share_session_fetch("g", member, 0, &[(id, 0)], &[], connection),
            Ok(Opened::New(_))
        ));
    }
    let acquire = |member: &'static str, first: i64| {
        move |sp: &mut SharePartition, limits: &Limits| {
            sp.acquire(member, &[batch(first, first)], 10, 500, 0, limits)
        }
    };
    used(c, "g", id, 0, 0, || 0, acquire("a", 0)).unwrap();
    used(c, "g", id, 0, 0, || 0, acquire("b", 1)).unwrap();
    c.share_connection_closed(1);
    assert_eq!(
        c.share_session_fetch("g", "a", 1, &[], &[], 3),
        Err(ResponseError::ShareSessionNotFound)
    );
    assert!(matches!(
        c.share_session_fetch("g", "b", 1, &[], &[], 2),
        Ok(Opened::Continued(_))
    ));
    let state = |offset| used(c, "g", id, 0, 0, || 0, |sp, _| sp.state(offset)).unwrap();
    assert_eq!(state(0), Some((RecordState::Available, 1)));
    assert_eq!(state(1), Some((RecordState::Acquired, 1)));
}

#[test]
fn a_share_partition_reads_back_as_written_with_acquired_records_available() {
    let mut sp = SharePartition::new(0);
    assert!(sp.take_dirty(), "a new share-partition is written");
    sp.acquire("a", &[batch(0, 4)], 5, 500, 0, &LIMITS);
    assert!(!sp.take_dirty(), "acquisitions alone are not written");
    sp.acknowledge(
        "a",
        &[AckBatch {
            first: 0,
            last: 3,
            types: vec![
                AckType::Accept,
                AckType::Release,
                AckType::Reject,
                AckType::Accept,
            ],
        }],
        &LIMITS,
    )
    .unwrap();
    assert!(sp.take_dirty());
    let written = sp.persisted_batches();
    let batches: Vec<_> = written
        .iter()
        .map(|b| (b.first, b.last, b.state, b.delivery_count))
        .collect();
    assert_eq!(
        batches,
        [
            (1, 1, RecordState::Available, 1),
            (2, 2, RecordState::Archived, 1),
            (3, 3, RecordState::Acknowledged, 1),
            (4, 4, RecordState::Available, 1),
        ]
    );
    let read = SharePartition::from_state(sp.start_offset(), 0, &written);
    assert_eq!(read.start_offset(), 1);
    assert_eq!(read.end_offset(), 5);
    assert_eq!(read.state(3), Some((RecordState::Acknowledged, 1)));
    assert_eq!(read.state(4), Some((RecordState::Available, 1)));
}

/// Loads the share-partition (as its leader at epoch 0), runs `f` on it
/// and writes what changed, as a ShareFetch pass does.
fn used<R>(
    c: &crate::group::GroupCoordinator,
    group: &str,
    id: Uuid,
    partition: i32,
    now: i64,
    start: impl FnOnce() -> i64,
    f: impl FnOnce(&mut SharePartition, &Limits) -> R,
) -> Result<R, ResponseError> {
    futures::executor::block_on(async {
        c.load_share_partition(group, id, partition, 0, start)
            .await?;
        let out = c
            .with_share_partition(group, id, partition, 0, now, f)
            .ok_or(ResponseError::NotLeaderOrFollower)?;
        c.write_share_partition(group, id, partition, 0).await?;
        Ok(out)
    })
}

/// A persister in memory: what a restarted coordinator would read back.
/// Fences writes under an older leader epoch than the last read's, as
/// the share coordinator does, and fails writes while `failing`.
#[derive(Default)]
struct MemoryPersister {
    states: parking_lot::Mutex<
        std::collections::HashMap<crate::share_coordinator::StateKey, super::PersistedState>,
    >,
    leader_epochs:
        parking_lot::Mutex<std::collections::HashMap<crate::share_coordinator::StateKey, i32>>,
    failing: std::sync::atomic::AtomicBool,
}

impl super::Persister for MemoryPersister {
    fn read_state<'a>(
        &'a self,
        key: &'a crate::share_coordinator::StateKey,
        leader_epoch: i32,
    ) -> futures::future::BoxFuture<'a, Result<Option<SharePartition>, ResponseError>> {
        let mut epochs = self.leader_epochs.lock();
        let epoch = epochs.entry(key.clone()).or_insert(-1);
        let read = if leader_epoch != -1 && leader_epoch < *epoch {
            Err(ResponseError::FencedLeaderEpoch)
        } else {
            *epoch = leader_epoch.max(*epoch);
            Ok(self
                .states
                .lock()
                .get(key)
                .map(|s| SharePartition::from_state(s.start_offset, s.state_epoch, &s.batches)))
        };
        Box::pin(std::future::ready(read))
    }

    fn write_state<'a>(
        &'a self,
        key: &'a crate::share_coordinator::StateKey,
        state: &'a super::PersistedState,
    ) -> futures::future::BoxFuture<'a, Result<(), ResponseError>> {
        let epoch = self.leader_epochs.lock().get(key).copied().unwrap_or(-1);
        let written = if self.failing.load(std::sync::atomic::Ordering::Relaxed) {
            Err(ResponseError::CoordinatorNotAvailable)
        } else if state.leader_epoch != -1 && state.leader_epoch < epoch {
            Err(ResponseError::FencedLeaderEpoch)
        } else {
            self.states.lock().insert(key.clone(), state.clone());
            Ok(())
        };
        Box::pin(std::future::ready(written))
    }

    fn delete_state<'a>(
        &'a self,
        key: &'a crate::share_coordinator::StateKey,
    ) -> futures::future::BoxFuture<'a, Result<(), ResponseError>> {
        let deleted = if self.failing.load(std::sync::atomic::Ordering::Relaxed) {
            Err(ResponseError::CoordinatorNotAvailable)
        } else {
            self.states.lock().remove(key);
            Ok(())
        };
        Box::pin(std::future::ready(deleted))
    }

    fn read_summary<'a>(
        &'a self,
        key: &'a crate::share_coordinator::StateKey,
    ) -> futures::future::BoxFuture<'a, Result<Option<super::StateSummary>, ResponseError>> {
        let summary = self.states.lock().get(key).map(|s| super::StateSummary {
            state_epoch: s.state_epoch,
            leader_epoch: s.leader_epoch,
            start_offset: s.start_offset,
        });
        Box::pin(std::future::ready(Ok(summary)))
    }
}

#[test]
fn an_acknowledgement_whose_write_fails_is_refused_and_undone() {
    let persister = std::sync::Arc::new(MemoryPersister::default());
    let h = crate::group::testing::Harness::new();
    let c = &h.coordinator;
    c.set_share_persister(persister.clone());
    let id = Uuid::from_u128(7);
    let acquired = used(
        c,
        "g",
        id,
        0,
        0,
        || 0,
        |sp, limits| sp.acquire("a", &[batch(0, 3)], 4, 500, 0, limits),
    );
    assert_eq!(acquired, Ok(vec![range(0, 3, 1)]));
    persister
        .failing
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let ack = |c: &crate::group::GroupCoordinator| {
        futures::executor::block_on(c.acknowledge_share(
            "g",
            id,
            0,
            0,
            1,
            "a",
            &acks(0, 1, AckType::Accept),
        ))
    };
    assert_eq!(ack(c), Err(ResponseError::CoordinatorNotAvailable));
    let state = c.with_share_partition("g", id, 0, 0, 1, |sp, _| sp.state(0));
    assert_eq!(state, Some(Some((RecordState::Acquired, 1))), "still a's");
    persister
        .failing
        .store(false, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(ack(c), Ok(()), "a acknowledges again");
    assert_eq!(
        used(c, "g", id, 0, 1, || 0, |sp, _| sp.start_offset()),
        Ok(2)
    );
    let key = crate::share_coordinator::StateKey::new("g", id, 0);
    assert_eq!(persister.states.lock()[&key].start_offset, 2);
}

#[test]
fn a_deposed_leaders_writes_are_fenced_and_the_next_leader_reads_what_was_acknowledged() {
    let persister = std::sync::Arc::new(MemoryPersister::default());
    let old = crate::group::testing::Harness::new();
    let new = crate::group::testing::Harness::new();
    old.coordinator.set_share_persister(persister.clone());
    new.coordinator.set_share_persister(persister.clone());
    let (old, new) = (&old.coordinator, &new.coordinator);
    let id = Uuid::from_u128(7);
    let on = |c: &crate::group::GroupCoordinator, leader_epoch, f: &dyn Fn(&mut SharePartition)| {
        futures::executor::block_on(async {
            c.load_share_partition("g", id, 0, leader_epoch, || 0)
                .await?;
            c.with_share_partition("g", id, 0, leader_epoch, 0, |sp, _| f(sp))
                .ok_or(ResponseError::NotLeaderOrFollower)?;
            c.write_share_partition("g", id, 0, leader_epoch).await
        })
    };
    let acquire = |member: &'static str| {
        move |sp: &mut SharePartition| {
            sp.acquire(member, &[batch(0, 3)], 4, 500, 0, &LIMITS);
        }
    };
    assert_eq!(on(old, 1, &acquire("a")), Ok(()));
    let accept = |c: &crate::group::GroupCoordinator, leader_epoch, first, last| {
        futures::executor::block_on(c.acknowledge_share(
            "g",
            id,
            0,
            leader_epoch,
            0,
            "a",
            &acks(first, last, AckType::Accept),
        ))
    };
    assert_eq!(accept(old, 1, 0, 0), Ok(()));
    // The partition's leadership moves: the new leader reads at epoch 2,
    // from where the acquired records 1..=3 are available again.
    assert_eq!(on(new, 2, &acquire("b")), Ok(()));
    let state = |c: &crate::group::GroupCoordinator, epoch, offset| {
        c.with_share_partition("g", id, 0, epoch, 0, |sp, _| sp.state(offset))
    };
    assert_eq!(state(new, 2, 0), Some(None), "offset 0 was accepted");
    assert_eq!(state(new, 2, 1), Some(Some((RecordState::Acquired, 2))));
    assert_eq!(accept(old, 1, 1, 1), Err(ResponseError::FencedLeaderEpoch));
    assert_eq!(state(old, 1, 1), None, "the deposed leader dropped it");
}

#[test]
fn altered_and_deleted_start_offsets_are_what_a_restart_reads() {
    let persister = std::sync::Arc::new(MemoryPersister::default());
    let h = crate::group::testing::Harness::new();
    let c = &h.coordinator;
    c.set_share_persister(persister.clone());
    let topics = topics(2);
    let id = Uuid::from_u128(7);
    c.share_heartbeat(&hb("a", 0, Some(&["t"])), &topics, 0)
        .unwrap();
    let start = |c: &crate::group::GroupCoordinator, partition| {
        used(c, "g", id, partition, 0, || 99, |sp, _| sp.start_offset())
    };
    assert_eq!(start(c, 0), Ok(99), "a first use writes its start");
    c.share_heartbeat(&hb("a", -1, None), &topics, 1).unwrap();
    futures::executor::block_on(c.alter_share_start_offsets(
        "g",
        &[(id, 0, 7), (id, 1, 3)],
        &topics,
        2,
    ))
    .unwrap();

    let restarted = crate::group::testing::Harness::new();
    restarted.coordinator.set_share_persister(persister.clone());
    assert_eq!(start(&restarted.coordinator, 0), Ok(7));
    assert_eq!(start(&restarted.coordinator, 1), Ok(3));

    futures::executor::block_on(c.delete_share_start_offsets("g", &[id], &topics, 3)).unwrap();
    let restarted = crate::group::testing::Harness::new();
    restarted.coordinator.set_share_persister(persister);
    assert_eq!(
        start(&restarted.coordinator, 1),
        Ok(99),
        "deleted: from the reset again"
    );
}

#[test]
fn a_deleted_share_group_loses_its_state_before_the_answer_and_keeps_it_on_failure() {
    use super::Persister;
    let persister = std::sync::Arc::new(MemoryPersister::default());
    let h = crate::group::testing::Harness::new();
    let c = &h.coordinator;
    c.set_share_persister(persister.clone());
    let topics = topics(2);
    let id = Uuid::from_u128(7);
    c.share_heartbeat(&hb("a", 0, Some(&["t"])), &topics, 0)
        .unwrap();
    // Partition 1's state, written by its leader (another broker): none
    // of it is held here.
    let key = |partition| crate::share_coordinator::StateKey::new("g", id, partition);
    futures::executor::block_on(persister.write_state(
        &key(1),
        &super::PersistedState {
            state_epoch: 0,
            leader_epoch: 3,
            start_offset: 12,
            batches: Vec::new(),
        },
    ))
    .unwrap();
    let summary = |c: &crate::group::GroupCoordinator| {
        futures::executor::block_on(c.share_state_summary("g", id, 1))
            .map(|s| s.map(|s| s.start_offset))
    };
    assert_eq!(summary(c), Ok(Some(12)), "read from the share coordinator");
    assert_eq!(
        futures::executor::block_on(c.share_state_summary("g", id, 0)),
        Ok(None)
    );
    assert_eq!(
        c.share_group_topics("g").into_iter().collect::<Vec<_>>(),
        [id]
    );
    c.share_heartbeat(&hb("a", -1, None), &topics, 1).unwrap();

    let delete = || futures::executor::block_on(c.delete_share_group("g", &topics, 2));
    persister
        .failing
        .store(true, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(delete(), Some(Err(ResponseError::CoordinatorNotAvailable)));
    assert!(
        c.is_share_group("g"),
        "the group stays while its state does"
    );
    persister
        .failing
        .store(false, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(delete(), Some(Ok(())));
    assert!(!c.is_share_group("g"));
    assert_eq!(summary(c), Ok(None), "deleted before the answer");
}

#[test]
fn write_gates_go_once_no_write_holds_or_awaits_them() {
    let persister = std::sync::Arc::new(MemoryPersister::default());
    let h = crate::group::testing::Harness::new();
    let c = &h.coordinator;
    c.set_share_persister(persister.clone());
    let id = Uuid::from_u128(7);
    for partition in 0..3 {
        used(
            c,
            "g",
            id,
            partition,
            0,
            || 0,
            |sp, limits| sp.acquire("a", &[batch(0, 3)], 4, 500, 0, limits),
        )
        .unwrap();
        let acked = futures::executor::block_on(c.acknowledge_share(
            "g",
            id,
            partition,
            0,
            1,
            "a",
            &acks(0, 1, AckType::Accept),
        ));
        assert_eq!(acked, Ok(()));
    }
    assert!(c.share.lock().write_gates.is_empty());

    // A gate held by a writer, and awaited by another, stays until both
    // are done.
    let key = ("g".to_string(), id, 0);
    let gate = c
        .share
        .lock()
        .write_gates
        .entry(key.clone())
        .or_default()
        .clone();
    let held = gate.clone().try_lock_owned().expect("no writer holds it");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let waiting = c.write_share_partition("g", id, 0, 0);
        tokio::pin!(waiting);
        assert!(
            futures::poll!(waiting.as_mut()).is_pending(),
            "it awaits the gate"
        );
        assert!(c.share.lock().write_gates.contains_key(&key));
        drop(held);
        drop(gate);
        assert_eq!(waiting.await, Ok(()));
    });
    assert!(c.share.lock().write_gates.is_empty());
}
