//! Consumer groups (classic protocol) with librdkafka consumers: members
//! split a topic's partitions without overlap, rebalance when one leaves or
//! dies, and resume from committed offsets.

use crate::harness;

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use harness::{
    assigned, client_config, create_topic, poll_until, produce_values, subscribed_member,
    values_read, wait_until, BrokerProcess, Member, RawClient,
};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    DeleteGroupsRequest, DescribeGroupsRequest, FindCoordinatorRequest, GroupId, HeartbeatRequest,
    JoinGroupRequest, JoinGroupResponse, ListGroupsRequest, SyncGroupRequest, SyncGroupResponse,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};

const GROUP_BROKER: &[&str] = &["group.initial.rebalance.delay.ms=0"];

fn member(bootstrap: &str, group: &str, topic: &str, extra: &[(&str, &str)]) -> Member {
    let mut settings = vec![
        ("session.timeout.ms", "6000"),
        ("heartbeat.interval.ms", "300"),
        ("partition.assignment.strategy", "range"),
    ];
    settings.extend_from_slice(extra);
    subscribed_member(bootstrap, group, topic, &settings)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_split_partitions_and_hand_them_over_when_one_leaves() {
    let broker = BrokerProcess::start(GROUP_BROKER);
    let bs = broker.bootstrap();
    create_topic(&bs, "shared", 6, &[]).await;
    let a = member(&bs, "splitters", "shared", &[]);
    let b = member(&bs, "splitters", "shared", &[]);
    poll_until(&[&a, &b], Duration::from_secs(30), |_| {
        let (x, y) = (assigned(&a), assigned(&b));
        x.len() + y.len() == 6 && x.is_disjoint(&y) && !x.is_empty() && !y.is_empty()
    });
    let (pa, pb) = (assigned(&a), assigned(&b));
    assert_eq!(
        pa.len() + pb.len(),
        6,
        "both members hold partitions: {pa:?} / {pb:?}"
    );
    assert!(
        pa.is_disjoint(&pb),
        "no partition is assigned twice: {pa:?} / {pb:?}"
    );

    produce_values(&bs, "shared", 0..600, 6).await;
    let seen = poll_until(&[&a, &b], Duration::from_secs(30), |s| {
        s[0].len() + s[1].len() >= 600
    });
    assert!(
        seen[0].iter().all(|r| pa.contains(&r.0)) && seen[1].iter().all(|r| pb.contains(&r.0)),
        "each reads only its own partitions"
    );
    let values = values_read(&seen);
    assert_eq!(
        values,
        (0..600).collect::<Vec<_>>(),
        "every record consumed exactly once"
    );
    a.commit_consumer_state(CommitMode::Sync)
        .expect("a commits");
    b.commit_consumer_state(CommitMode::Sync)
        .expect("b commits");

    drop(b); // LeaveGroup: its partitions move to a
    poll_until(&[&a], Duration::from_secs(30), |_| assigned(&a).len() == 6);
    assert_eq!(
        assigned(&a).len(),
        6,
        "the remaining member takes every partition"
    );
    produce_values(&bs, "shared", 600..660, 6).await;
    let after = poll_until(&[&a], Duration::from_secs(30), |s| s[0].len() >= 60);
    let values = values_read(&after);
    assert_eq!(
        values,
        (600..660).collect::<Vec<_>>(),
        "resumes from the committed offsets: nothing re-read, nothing skipped"
    );
}

/// Not a test on its own: the crash test runs this binary again with
/// `GREGOR_CRASH_MEMBER=<bootstrap>` so that a group member lives in a
/// process it can kill -9.
#[test]
fn crashing_member_process() {
    let Ok(bootstrap) = std::env::var("GREGOR_CRASH_MEMBER") else {
        return;
    };
    let c = member(&bootstrap, "survivors", "crashy", &[CRASHING_SESSION]);
    poll_until(&[&c], Duration::from_secs(30), |_| !assigned(&c).is_empty());
    println!("assigned {:?}", assigned(&c));
    poll_until(&[&c], Duration::from_secs(60), |_| false);
}

/// The crashing member's session, shorter than the others' so that the
/// test waits less for it to run out.
const CRASHING_SESSION: (&str, &str) = ("session.timeout.ms", "3000");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_member_is_expired_after_its_session_timeout() {
    use std::io::BufRead;
    let broker = BrokerProcess::start(&[
        "group.initial.rebalance.delay.ms=0",
        "group.min.session.timeout.ms=3000",
    ]);
    let bs = broker.bootstrap();
    create_topic(&bs, "crashy", 4, &[]).await;
    let a = member(&bs, "survivors", "crashy", &[]);
    poll_until(&[&a], Duration::from_secs(30), |_| assigned(&a).len() == 4);
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "groups::crashing_member_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("GREGOR_CRASH_MEMBER", &bs)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn member process");
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.by_ref().map_while(Result::ok) {
            if line.contains("assigned") {
                let _ = tx.send(());
            }
        }
    });
    // Keep a polling while the other member joins, so the rebalance completes.
    let deadline = Instant::now() + Duration::from_secs(30);
    while rx.try_recv().is_err() && Instant::now() < deadline {
        poll_until(&[&a], Duration::from_millis(100), |_| false);
    }
    assert!(
        assigned(&a).len() < 4,
        "the second member took some partitions"
    );
    child.kill().expect("kill -9 the member");
    let _ = child.wait();
    poll_until(&[&a], Duration::from_secs(30), |_| assigned(&a).len() == 4);
    assert_eq!(
        assigned(&a).len(),
        4,
        "after session.timeout.ms the dead member's partitions move back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_consumer_resumes_at_its_committed_offset() {
    let broker = BrokerProcess::start(GROUP_BROKER);
    let bs = broker.bootstrap();
    create_topic(&bs, "resume", 1, &[]).await;
    produce_values(&bs, "resume", 0..20, 1).await;
    {
        let c = member(&bs, "resumers", "resume", &[]);
        let seen = poll_until(&[&c], Duration::from_secs(30), |s| s[0].len() >= 20);
        assert_eq!(seen[0].len(), 20);
        let mut tpl = rdkafka::TopicPartitionList::new();
        tpl.add_partition_offset("resume", 0, rdkafka::Offset::Offset(12))
            .unwrap();
        c.commit(&tpl, CommitMode::Sync).expect("commit offset 12");
    }
    let c = member(&bs, "resumers", "resume", &[]);
    let seen = poll_until(&[&c], Duration::from_secs(30), |s| s[0].len() >= 8);
    let offsets: Vec<i64> = seen[0].iter().map(|r| r.1).collect();
    assert_eq!(offsets, (12..20).collect::<Vec<_>>());
    let committed = c
        .committed(Duration::from_secs(5))
        .expect("committed offsets");
    assert_eq!(
        committed.find_partition("resume", 0).unwrap().offset(),
        rdkafka::Offset::Offset(12)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_are_listed_and_described() {
    let broker = BrokerProcess::start(GROUP_BROKER);
    let bs = broker.bootstrap();
    create_topic(&bs, "watched", 2, &[]).await;
    let c = member(
        &bs,
        "observed",
        "watched",
        &[("client.id", "observer-client")],
    );
    poll_until(&[&c], Duration::from_secs(30), |_| assigned(&c).len() == 2);

    let mut client = RawClient::connect(broker.port);
    let listed = client
        .call(&ListGroupsRequest::default(), 5)
        .expect("list groups");
    let states: HashMap<String, String> = listed
        .groups
        .iter()
        .map(|g| (g.group_id.0.to_string(), g.group_state.to_string()))
        .collect();
    assert_eq!(states.get("observed").map(String::as_str), Some("Stable"));
    let filtered = client
        .call(
            &ListGroupsRequest::default()
                .with_states_filter(vec![StrBytes::from_static_str("Empty")]),
            5,
        )
        .expect("list groups");
    assert!(
        filtered
            .groups
            .iter()
            .all(|g| g.group_id.0.as_str() != "observed"),
        "the state filter applies"
    );

    let describe = DescribeGroupsRequest::default().with_groups(vec![
        GroupId(StrBytes::from_static_str("observed")),
        GroupId(StrBytes::from_static_str("nobody")),
    ]);
    let described = client.call(&describe, 5).expect("describe groups");
    let g = &described.groups[0];
    assert_eq!(
        (
            g.group_state.as_str(),
            g.protocol_type.as_str(),
            g.protocol_data.as_str()
        ),
        ("Stable", "consumer", "range")
    );
    assert_eq!(g.members.len(), 1);
    assert_eq!(g.members[0].client_id.as_str(), "observer-client");
    assert!(!g.members[0].member_assignment.is_empty());
    assert_eq!(
        described.groups[1].group_state.as_str(),
        "Dead",
        "an unknown group is Dead before v6"
    );
    let v6 = client.call(&describe, 6).expect("describe groups v6");
    assert_eq!(
        v6.groups[1].error_code,
        ResponseError::GroupIdNotFound.code()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_survive_a_restart_and_a_kill_9() {
    let mut broker = BrokerProcess::start(GROUP_BROKER);
    create_topic(&broker.bootstrap(), "kept", 2, &[]).await;
    produce_values(&broker.bootstrap(), "kept", 0..40, 2).await;
    let commit = |bootstrap: &str, offsets: [i64; 2]| {
        let c = member(bootstrap, "durable", "kept", &[]);
        poll_until(&[&c], Duration::from_secs(30), |_| assigned(&c).len() == 2);
        let mut tpl = rdkafka::TopicPartitionList::new();
        for (p, o) in offsets.iter().enumerate() {
            tpl.add_partition_offset("kept", p as i32, rdkafka::Offset::Offset(*o))
                .unwrap();
        }
        c.commit(&tpl, CommitMode::Sync).expect("commit");
    };
    let committed = |bootstrap: &str| -> Vec<rdkafka::Offset> {
        let c = member(bootstrap, "durable", "kept", &[]);
        let mut tpl = rdkafka::TopicPartitionList::new();
        tpl.add_partition("kept", 0);
        tpl.add_partition("kept", 1);
        let got = c
            .committed_offsets(tpl, Duration::from_secs(10))
            .expect("committed offsets");
        got.elements().iter().map(|e| e.offset()).collect()
    };
    commit(&broker.bootstrap(), [5, 7]);
    broker.stop();
    broker.restart();
    assert_eq!(
        committed(&broker.bootstrap()),
        vec![rdkafka::Offset::Offset(5), rdkafka::Offset::Offset(7)],
        "after a clean restart"
    );

    commit(&broker.bootstrap(), [11, 13]);
    broker.kill9();
    broker.restart();
    assert_eq!(
        committed(&broker.bootstrap()),
        vec![rdkafka::Offset::Offset(11), rdkafka::Offset::Offset(13)],
        "after kill -9"
    );

    // The offsets live in Kafka's internal topic, flagged internal in Metadata.
    let mut client = RawClient::connect(broker.port);
    let metadata = client
        .call(
            &kafka_protocol::messages::MetadataRequest::default().with_topics(None),
            12,
        )
        .unwrap();
    let internal = metadata.topics.iter().find(|t| {
        t.name
            .as_ref()
            .is_some_and(|n| n.0.as_str() == "__consumer_offsets")
    });
    assert!(internal.is_some_and(|t| t.is_internal && t.partitions.len() == 50));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_groups_and_offset_delete_refuse_active_groups() {
    use kafka_protocol::messages::offset_delete_request::{
        OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
    };
    use kafka_protocol::messages::{
        DeleteGroupsRequest, OffsetDeleteRequest, OffsetFetchRequest, TopicName,
    };

    let mut broker = BrokerProcess::start(GROUP_BROKER);
    let bs = broker.bootstrap();
    create_topic(&bs, "owned", 1, &[]).await;
    create_topic(&bs, "old", 1, &[]).await;
    let c = member(&bs, "tidy", "owned", &[]);
    poll_until(&[&c], Duration::from_secs(30), |_| assigned(&c).len() == 1);
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition_offset("owned", 0, rdkafka::Offset::Offset(3))
        .unwrap();
    tpl.add_partition_offset("old", 0, rdkafka::Offset::Offset(4))
        .unwrap();
    c.commit(&tpl, CommitMode::Sync).expect("commit");

    let mut client = RawClient::connect(broker.port);
    let delete = |names: &[&str]| {
        DeleteGroupsRequest::default().with_groups_names(
            names
                .iter()
                .map(|n| GroupId(StrBytes::from_string(n.to_string())))
                .collect(),
        )
    };
    let offset_delete = |topic: &str| {
        OffsetDeleteRequest::default()
            .with_group_id(GroupId(StrBytes::from_static_str("tidy")))
            .with_topics(vec![OffsetDeleteRequestTopic::default()
                .with_name(TopicName(StrBytes::from_string(topic.to_string())))
                .with_partitions(vec![
                    OffsetDeleteRequestPartition::default().with_partition_index(0)
                ])])
    };
    let codes = |r: kafka_protocol::messages::DeleteGroupsResponse| {
        r.results.iter().map(|g| g.error_code).collect::<Vec<_>>()
    };
    assert_eq!(
        codes(client.call(&delete(&["tidy", "ghost"]), 2).unwrap()),
        vec![
            ResponseError::NonEmptyGroup.code(),
            ResponseError::GroupIdNotFound.code()
        ]
    );
    let subscribed = client.call(&offset_delete("owned"), 0).unwrap();
    assert_eq!(
        subscribed.topics[0].partitions[0].error_code,
        ResponseError::GroupSubscribedToTopic.code()
    );
    let unsubscribed = client.call(&offset_delete("old"), 0).unwrap();
    assert_eq!(
        (
            unsubscribed.error_code,
            unsubscribed.topics[0].partitions[0].error_code
        ),
        (0, 0)
    );

    drop(c); // leaves the group, which becomes Empty
    let fetch = OffsetFetchRequest::default()
        .with_group_id(GroupId(StrBytes::from_static_str("tidy")))
        .with_topics(None);
    let remaining = client.call(&fetch, 7).unwrap();
    let topics: Vec<&str> = remaining.topics.iter().map(|t| t.name.0.as_str()).collect();
    assert_eq!(
        topics,
        vec!["owned"],
        "the deleted offset is gone, the other stays"
    );
    let deleted = codes(client.call(&delete(&["tidy"]), 2).unwrap());
    assert_eq!(deleted, vec![0], "an empty group can be deleted");
    broker.stop();
    broker.restart();
    let mut client = RawClient::connect(broker.port);
    let after = client.call(&fetch, 7).unwrap();
    assert!(
        after.topics.is_empty(),
        "deleted offsets stay deleted after a restart: {:?}",
        after.topics
    );
    assert_eq!(
        codes(client.call(&delete(&["tidy"]), 2).unwrap()),
        vec![ResponseError::GroupIdNotFound.code()]
    );
}

/// Counts the rebalances a consumer goes through.
struct CountingContext(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl rdkafka::client::ClientContext for CountingContext {}

impl rdkafka::consumer::ConsumerContext for CountingContext {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, _: &rdkafka::consumer::Rebalance<'_>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A group member whose rebalances are counted, with a 10 s session.
fn counting_member(
    bootstrap: &str,
    group: &str,
    topic: &str,
    extra: &[(&str, &str)],
) -> (
    Member<CountingContext>,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    let rebalances = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut config = client_config(bootstrap);
    config
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "10000")
        .set("heartbeat.interval.ms", "300")
        .set("partition.assignment.strategy", "range");
    for (k, v) in extra {
        config.set(*k, *v);
    }
    let consumer = Member::new(
        config
            .create_with_context(CountingContext(rebalances.clone()))
            .expect("consumer"),
    );
    consumer.subscribe(&[topic]).expect("subscribe");
    (consumer, rebalances)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_member_restarting_within_its_session_causes_no_rebalance() {
    use std::sync::atomic::Ordering;
    let broker = BrokerProcess::start(GROUP_BROKER);
    let bs = broker.bootstrap();
    create_topic(&bs, "static", 4, &[]).await;
    let (a, rebalances) = counting_member(
        &bs,
        "statics",
        "static",
        &[("group.instance.id", "instance-a")],
    );
    let b = member(
        &bs,
        "statics",
        "static",
        &[
            ("group.instance.id", "instance-b"),
            ("session.timeout.ms", "10000"),
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let split = |a: &BaseConsumer<CountingContext>, b: &BaseConsumer| {
        let x: BTreeSet<i32> = a
            .assignment()
            .map(|l| l.elements().iter().map(|e| e.partition()).collect())
            .unwrap_or_default();
        x.len() == 2 && assigned(b).len() == 2
    };
    while !split(&a, &b) && Instant::now() < deadline {
        a.poll(Duration::from_millis(50));
        b.poll(Duration::from_millis(50));
    }
    assert!(split(&a, &b), "two static members share four partitions");
    let settled = rebalances.load(Ordering::SeqCst);

    b.close_without_leaving(); // a static member closing does not leave the group
    let b = member(
        &bs,
        "statics",
        "static",
        &[
            ("group.instance.id", "instance-b"),
            ("session.timeout.ms", "10000"),
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    while assigned(&b).len() != 2 && Instant::now() < deadline {
        a.poll(Duration::from_millis(50));
        b.poll(Duration::from_millis(50));
    }
    assert_eq!(
        assigned(&b).len(),
        2,
        "the restarted static member gets its partitions back"
    );
    for _ in 0..20 {
        a.poll(Duration::from_millis(50));
    }
    assert_eq!(
        rebalances.load(Ordering::SeqCst),
        settled,
        "the other member saw no rebalance"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_joining_mid_stream_causes_no_duplicates_or_gaps() {
    let broker = BrokerProcess::start(GROUP_BROKER);
    let bs = broker.bootstrap();
    create_topic(&bs, "stream", 4, &[]).await;
    // Offsets are committed on revoke by librdkafka's auto-commit, so the new
    // owner of a partition starts right after what the old one delivered.
    let auto = [
        ("enable.auto.commit", "true"),
        ("auto.commit.interval.ms", "100"),
    ];
    let a = member(&bs, "streamers", "stream", &auto);
    poll_until(&[&a], Duration::from_secs(30), |_| assigned(&a).len() == 4);

    produce_values(&bs, "stream", 0..200, 4).await;
    let first = poll_until(&[&a], Duration::from_secs(30), |s| s[0].len() >= 100);
    let b = member(&bs, "streamers", "stream", &auto);
    let producing = tokio::spawn({
        let bs = bs.clone();
        async move { produce_values(&bs, "stream", 200..400, 4).await }
    });
    let mut seen = poll_until(&[&a, &b], Duration::from_secs(60), |s| {
        let mut all: BTreeSet<String> = first[0].iter().map(|r| r.2.clone()).collect();
        all.extend(s.iter().flatten().map(|r| r.2.clone()));
        all.len() >= 400 && !assigned(&b).is_empty()
    });
    producing.await.expect("producer task");
    seen[0].extend(first[0].iter().cloned());
    let values = values_read(&seen);
    assert!(
        !assigned(&b).is_empty(),
        "the joining member took partitions"
    );
    assert_eq!(
        values,
        (0..400).collect::<Vec<_>>(),
        "each record exactly once across the rebalance"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restart_does_not_rebalance_a_stable_group() {
    use std::sync::atomic::Ordering;
    let mut broker = BrokerProcess::start(GROUP_BROKER);
    let bs = broker.bootstrap();
    create_topic(&bs, "steady", 2, &[]).await;
    let (a, rebalances) = counting_member(&bs, "steady-group", "steady", &[]);
    let count = |c: &BaseConsumer<CountingContext>| c.assignment().map(|l| l.count()).unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(30);
    while count(&a) != 2 && Instant::now() < deadline {
        a.poll(Duration::from_millis(50));
    }
    assert_eq!(count(&a), 2);
    for _ in 0..10 {
        a.poll(Duration::from_millis(50));
    }
    let settled = rebalances.load(Ordering::SeqCst);

    broker.stop();
    broker.restart_on_same_port();
    produce_values(&broker.bootstrap(), "steady", 0..10, 2).await;
    let mut got = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    while got < 10 && Instant::now() < deadline {
        if let Some(Ok(_)) = a.poll(Duration::from_millis(50)) {
            got += 1;
        }
    }
    assert_eq!(got, 10, "the member reads on after the restart");
    for _ in 0..20 {
        a.poll(Duration::from_millis(50));
    }
    assert_eq!(
        rebalances.load(Ordering::SeqCst),
        settled,
        "the stored generation let the member carry on without a rebalance"
    );
}

/// Kafka's InitialDelayedJoin: each member that joins during the initial
/// rebalance delay earns the group another delay, so consumers started one
/// after another still form a single first generation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_arriving_during_the_initial_delay_extend_it() {
    use std::sync::atomic::Ordering;
    let broker = BrokerProcess::start(&["group.initial.rebalance.delay.ms=2000"]);
    let bs = broker.bootstrap();
    create_topic(&bs, "staggered", 6, &[]).await;
    let started = Instant::now();
    let (a, rebalances) = counting_member(&bs, "staggered", "staggered", &[]);
    let mut others: Vec<Member> = Vec::new();
    let all_split = |a: &BaseConsumer<CountingContext>, others: &[Member]| {
        others.len() == 2
            && a.assignment().map(|l| l.count()).unwrap_or(0) == 2
            && others.iter().all(|c| assigned(c).len() == 2)
    };
    let deadline = started + Duration::from_secs(30);
    while !all_split(&a, &others) && Instant::now() < deadline {
        // B joins within the first delay; C only after it has run out,
        // within the delay B earned.
        let due = match others.len() {
            0 => Duration::from_millis(1000),
            1 => Duration::from_millis(2800),
            _ => Duration::MAX,
        };
        if started.elapsed() >= due {
            others.push(member(&bs, "staggered", "staggered", &[]));
        }
        a.poll(Duration::from_millis(20));
        for c in &others {
            c.poll(Duration::from_millis(20));
        }
    }
    assert!(all_split(&a, &others), "three members share six partitions");
    assert_eq!(
        rebalances.load(Ordering::SeqCst),
        1,
        "the first member was assigned once, by a generation that had all three"
    );
}

/// The committed offset of `group` in partition 0 of `topic`, read without
/// joining the group.
fn committed_offset(bootstrap: &str, group: &str, topic: &str) -> rdkafka::Offset {
    let c: BaseConsumer = client_config(bootstrap)
        .set("group.id", group)
        .create()
        .expect("consumer");
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition(topic, 0);
    let got = c
        .committed_offsets(tpl, Duration::from_secs(10))
        .expect("committed offsets");
    got.elements()[0].offset()
}

/// offsets.retention.minutes: a group without members loses its offsets
/// that long after its last commit, durably; a group with a member keeps them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_of_groups_without_members_expire() {
    let mut broker = BrokerProcess::start(&[
        "group.initial.rebalance.delay.ms=0",
        "offsets.retention.minutes=1",
        "offsets.retention.check.interval.ms=500",
    ]);
    let bs = broker.bootstrap();
    create_topic(&bs, "fleeting", 1, &[]).await;
    produce_values(&bs, "fleeting", 0..10, 1).await;
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition_offset("fleeting", 0, rdkafka::Offset::Offset(4))
        .unwrap();
    // A commit without joining: the group has no members from the start.
    let simple: BaseConsumer = client_config(&bs)
        .set("group.id", "gone")
        .create()
        .expect("consumer");
    simple.commit(&tpl, CommitMode::Sync).expect("commit");
    drop(simple);
    let member = member(&bs, "staying", "fleeting", &[]);
    poll_until(&[&member], Duration::from_secs(30), |_| {
        assigned(&member).len() == 1
    });
    member.commit(&tpl, CommitMode::Sync).expect("commit");
    assert_eq!(
        committed_offset(&bs, "gone", "fleeting"),
        rdkafka::Offset::Offset(4)
    );

    let started = Instant::now();
    let mut expired = false;
    while started.elapsed() < Duration::from_secs(90) {
        member.poll(Duration::from_millis(200));
        if committed_offset(&bs, "gone", "fleeting") == rdkafka::Offset::Invalid {
            expired = true;
            break;
        }
    }
    assert!(expired, "the memberless group's offset expired");
    assert!(
        started.elapsed() >= Duration::from_secs(50),
        "not before its retention: {:?}",
        started.elapsed()
    );
    assert_eq!(
        committed_offset(&bs, "staying", "fleeting"),
        rdkafka::Offset::Offset(4),
        "a group with a member keeps its offsets"
    );
    drop(member);

    broker.stop();
    broker.restart();
    assert_eq!(
        committed_offset(&broker.bootstrap(), "gone", "fleeting"),
        rdkafka::Offset::Invalid,
        "the expiry is durable"
    );
}

/// The members DescribeGroups reports for `group`, and its state.
fn described(port: u16, group: &str) -> (String, usize) {
    let response = RawClient::connect(port)
        .call(
            &DescribeGroupsRequest::default()
                .with_groups(vec![GroupId(StrBytes::from_string(group.to_string()))]),
            5,
        )
        .expect("DescribeGroups answered");
    let g = &response.groups[0];
    (g.group_state.to_string(), g.members.len())
}

/// A static member that stops heartbeating without leaving (librdkafka's
/// close sends no LeaveGroup for one) stays in the group until its
/// session lapses, and no longer: once the deadline (its last request plus
/// its session timeout) is past, the group is empty and can be deleted,
/// as librdkafka's 0081 DescribeConsumerGroups test expects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_member_gone_silent_is_gone_at_its_session_deadline() {
    let broker = BrokerProcess::start(&[
        "group.initial.rebalance.delay.ms=0",
        "group.min.session.timeout.ms=500",
    ]);
    const G: &str = "silent-statics";
    let mut client = RawClient::connect(broker.port);
    find_coordinator(&mut client, G);
    let joined = client
        .call(
            &raw_join_request(G, "")
                .with_group_instance_id(Some(StrBytes::from_static_str("static-closer"))),
            5,
        )
        .expect("JoinGroup answered");
    assert_eq!(joined.error_code, 0);
    let id = joined.member_id.to_string();
    assert_eq!(
        raw_sync(&mut client, G, joined.generation_id, &id, &[(&id, b"a")]).error_code,
        0
    );
    assert_eq!(raw_heartbeat(&mut client, G, joined.generation_id, &id), 0);
    // The broker took the heartbeat before this.
    let last_heartbeat = Instant::now();
    assert_eq!(
        described(broker.port, G),
        ("Stable".to_string(), 1),
        "a silent static member has not left"
    );

    // What is awaited here is the session itself running out.
    let deadline = last_heartbeat + Duration::from_millis(RAW_SESSION_MS);
    std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
    let deleted = RawClient::connect(broker.port)
        .call(
            &DeleteGroupsRequest::default()
                .with_groups_names(vec![GroupId(StrBytes::from_static_str(G))]),
            1,
        )
        .expect("DeleteGroups answered");
    assert_eq!(
        deleted.results[0].error_code, 0,
        "the session has lapsed: the group is empty"
    );
}

const RAW_SESSION_MS: u64 = 1000;

fn raw_join_request(group: &str, member_id: &str) -> JoinGroupRequest {
    JoinGroupRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
        .with_session_timeout_ms(RAW_SESSION_MS as i32)
        .with_rebalance_timeout_ms(30_000)
        .with_member_id(StrBytes::from_string(member_id.to_string()))
        .with_protocol_type(StrBytes::from_static_str("raw-test"))
        .with_protocols(vec![JoinGroupRequestProtocol::default()
            .with_name(StrBytes::from_static_str("only"))
            .with_metadata(bytes::Bytes::from_static(b"m"))])
}

/// JoinGroup v3: a new member is let in at once, without MEMBER_ID_REQUIRED.
fn raw_join(client: &mut RawClient, group: &str, member_id: &str) -> JoinGroupResponse {
    client
        .call(&raw_join_request(group, member_id), 3)
        .expect("JoinGroup answered")
}

/// As clients do first: this creates the offsets topic, where the group's
/// state is stored.
fn find_coordinator(client: &mut RawClient, group: &str) {
    let found = client
        .call(
            &FindCoordinatorRequest::default().with_key(StrBytes::from_string(group.to_string())),
            1,
        )
        .expect("FindCoordinator answered");
    assert_eq!(found.error_code, 0);
}

fn raw_sync(
    client: &mut RawClient,
    group: &str,
    generation: i32,
    member_id: &str,
    assignments: &[(&str, &'static [u8])],
) -> SyncGroupResponse {
    client
        .call(
            &SyncGroupRequest::default()
                .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
                .with_generation_id(generation)
                .with_member_id(StrBytes::from_string(member_id.to_string()))
                .with_assignments(
                    assignments
                        .iter()
                        .map(|(m, a)| {
                            SyncGroupRequestAssignment::default()
                                .with_member_id(StrBytes::from_string(m.to_string()))
                                .with_assignment(bytes::Bytes::from_static(a))
                        })
                        .collect(),
                ),
            3,
        )
        .expect("SyncGroup answered")
}

fn raw_heartbeat(client: &mut RawClient, group: &str, generation: i32, member_id: &str) -> i16 {
    client
        .call(
            &HeartbeatRequest::default()
                .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
                .with_generation_id(generation)
                .with_member_id(StrBytes::from_string(member_id.to_string())),
            3,
        )
        .expect("Heartbeat answered")
        .error_code
}

/// Heartbeats every fifth of a session for two sessions; the codes.
fn heartbeat_for_two_sessions(
    client: &mut RawClient,
    group: &str,
    generation: i32,
    member_id: &str,
) -> BTreeSet<i16> {
    let until = Instant::now() + Duration::from_millis(2 * RAW_SESSION_MS);
    let mut codes = BTreeSet::new();
    while Instant::now() < until {
        codes.insert(raw_heartbeat(client, group, generation, member_id));
        std::thread::sleep(Duration::from_millis(RAW_SESSION_MS / 5));
    }
    codes
}

/// A member waiting in JoinGroup or SyncGroup sends no heartbeats: the
/// call keeps it alive however long the others take (Kafka's rule), and
/// its session starts afresh when the call is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_waiting_in_join_or_sync_outlive_their_session() {
    let broker = BrokerProcess::start(&[
        "group.initial.rebalance.delay.ms=0",
        "group.min.session.timeout.ms=500",
    ]);
    let port = broker.port;
    const G: &str = "patient";
    let mut a = RawClient::connect(port);
    find_coordinator(&mut a, G);
    let first = raw_join(&mut a, G, "");
    assert_eq!(first.error_code, 0);
    let a_id = first.member_id.to_string();
    assert_eq!(
        raw_sync(&mut a, G, first.generation_id, &a_id, &[(&a_id, b"a1")]).error_code,
        0
    );

    // B's join waits two sessions for A, which heartbeats meanwhile.
    let joining = std::thread::spawn(move || {
        let mut b = RawClient::connect(port);
        let joined = raw_join(&mut b, G, "");
        (b, joined)
    });
    let in_progress = ResponseError::RebalanceInProgress.code();
    assert!(wait_until(Duration::from_secs(10), || {
        raw_heartbeat(&mut a, G, first.generation_id, &a_id) == in_progress
    }));
    assert_eq!(
        heartbeat_for_two_sessions(&mut a, G, first.generation_id, &a_id),
        BTreeSet::from([in_progress])
    );
    let second = raw_join(&mut a, G, &a_id);
    assert_eq!(
        (second.error_code, second.leader.as_str()),
        (0, a_id.as_str())
    );
    let (mut b, joined) = joining.join().expect("B's join");
    assert_eq!(
        (joined.error_code, joined.generation_id),
        (0, second.generation_id),
        "B waited in JoinGroup past its session and joined"
    );
    let b_id = joined.member_id.to_string();

    // B takes a moment (within its session) before its SyncGroup, which
    // then waits two sessions for the leader's assignment.
    std::thread::sleep(Duration::from_millis(RAW_SESSION_MS / 3));
    let generation = second.generation_id;
    let syncing = {
        let b_id = b_id.clone();
        std::thread::spawn(move || raw_sync(&mut b, G, generation, &b_id, &[]))
    };
    assert_eq!(
        heartbeat_for_two_sessions(&mut a, G, generation, &a_id),
        BTreeSet::from([0]),
        "no rebalance while the leader takes its time"
    );
    let led = raw_sync(
        &mut a,
        G,
        generation,
        &a_id,
        &[(&a_id, b"a2"), (&b_id, b"b2")],
    );
    assert_eq!((led.error_code, &led.assignment[..]), (0, &b"a2"[..]));
    let synced = syncing.join().expect("B's sync");
    assert_eq!(
        (synced.error_code, &synced.assignment[..]),
        (0, &b"b2"[..]),
        "B waited in SyncGroup past its session and got its assignment"
    );
    assert_eq!(described(port, G), ("Stable".to_string(), 2));
}

fn cooperative_member(bootstrap: &str, group: &str) -> Member {
    let consumer = client_config(bootstrap)
        .set("group.id", group)
        .set("partition.assignment.strategy", "cooperative-sticky")
        .set("session.timeout.ms", "2000")
        .set("heartbeat.interval.ms", "300")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    Member::new(consumer)
}

/// librdkafka gives up the member id a JoinGroup earned
/// (MEMBER_ID_REQUIRED) when its subscription changes before it has
/// rejoined, and asks for another: the id given up must not hold the next
/// join phase up to the rebalance timeout (five minutes by default), as
/// in librdkafka's 0113 u_multiple_subscription_changes, where a consumer
/// subscribes three times in a row. Kafka forgets such an id after the
/// session timeout its JoinGroup gave.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_ids_given_up_while_joining_do_not_hold_rebalances_up() {
    let broker = BrokerProcess::start(&[
        "group.initial.rebalance.delay.ms=0",
        "group.min.session.timeout.ms=1000",
    ]);
    let bs = broker.bootstrap();
    create_topic(&bs, "coop-a", 8, &[]).await;
    create_topic(&bs, "coop-b", 8, &[]).await;
    let consumers: Vec<Member> = (0..4).map(|_| cooperative_member(&bs, "coop")).collect();
    consumers[0].subscribe(&["coop-a"]).expect("subscribe");
    let all: Vec<&BaseConsumer> = consumers.iter().map(|c| &**c).collect();
    poll_until(&all, Duration::from_secs(30), |_| {
        assigned(&consumers[0]).len() == 8
    });
    for c in &consumers[1..] {
        c.subscribe(&["coop-a"]).expect("subscribe");
        c.subscribe(&["coop-a", "coop-b"]).expect("subscribe");
        c.subscribe(&["coop-a"]).expect("subscribe");
    }
    // A raw JoinGroup that never comes back with its id, as librdkafka's
    // first one did, whatever the timing of the subscriptions above.
    let abandoned = RawClient::connect(broker.port)
        .call(
            &JoinGroupRequest::default()
                .with_group_id(GroupId(StrBytes::from_static_str("coop")))
                .with_session_timeout_ms(2000)
                .with_rebalance_timeout_ms(300_000)
                .with_protocol_type(StrBytes::from_static_str("consumer"))
                .with_protocols(vec![JoinGroupRequestProtocol::default()
                    .with_name(StrBytes::from_static_str("cooperative-sticky"))]),
            5,
        )
        .expect("JoinGroup answered");
    assert_eq!(abandoned.error_code, ResponseError::MemberIdRequired.code());
    poll_until(&all, Duration::from_secs(30), |_| {
        consumers.iter().all(|c| assigned(c).len() == 2)
    });
    let shares: Vec<usize> = consumers.iter().map(|c| assigned(c).len()).collect();
    assert_eq!(shares, [2, 2, 2, 2], "every member has its share of coop-a");
}

/// A JoinGroup repeated with nothing changed while the group waits for
/// the leader's SyncGroup (its first answer lost, say) gets the same
/// generation back, the leader with every member's metadata, as from
/// Kafka, rather than starting another rebalance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_repeated_before_sync_gets_the_same_generation() {
    let broker = BrokerProcess::start(&[
        "group.initial.rebalance.delay.ms=0",
        "group.min.session.timeout.ms=500",
    ]);
    const G: &str = "repeating";
    let mut a = RawClient::connect(broker.port);
    find_coordinator(&mut a, G);
    let first = raw_join(&mut a, G, "");
    assert_eq!(first.error_code, 0);
    let id = first.member_id.to_string();
    let again = raw_join(&mut a, G, &id);
    assert_eq!(
        (
            again.error_code,
            again.generation_id,
            again.leader.as_str(),
            again.members.len()
        ),
        (0, first.generation_id, id.as_str(), 1)
    );
    let synced = raw_sync(&mut a, G, first.generation_id, &id, &[(&id, b"a")]);
    assert_eq!((synced.error_code, &synced.assignment[..]), (0, &b"a"[..]));
}
