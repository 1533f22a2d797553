//! KIP-848 consumer groups (`group.protocol=consumer`) with librdkafka: the
//! broker assigns partitions, members split a topic without overlap, hand
//! partitions over when one leaves, and commit with their member epoch.

use crate::harness;

use std::time::{Duration, Instant};

use harness::{
    assigned, client_config, create_topic, poll_until, produce_values, subscribed_member,
    values_read, BrokerProcess, Member, RawClient,
};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_delete_request::{
    OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use kafka_protocol::messages::{
    ConsumerGroupDescribeRequest, ConsumerGroupHeartbeatRequest, DeleteGroupsRequest,
    DescribeGroupsRequest, GroupId, ListGroupsRequest, OffsetDeleteRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};

const BROKER: &[&str] = &["group.consumer.heartbeat.interval.ms=300"];

fn member(bootstrap: &str, group: &str, topic: &str) -> Member {
    member_with(bootstrap, group, topic, &[])
}

fn member_with(bootstrap: &str, group: &str, topic: &str, extra: &[(&str, &str)]) -> Member {
    let mut settings = vec![("group.protocol", "consumer")];
    settings.extend_from_slice(extra);
    subscribed_member(bootstrap, group, topic, &settings)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_protocol_members_split_and_hand_over_partitions() {
    let broker = BrokerProcess::start(BROKER);
    let bs = broker.bootstrap();
    create_topic(&bs, "kip848", 6, &[]).await;
    let a = member(&bs, "modern", "kip848");
    poll_until(&[&a], Duration::from_secs(30), |_| assigned(&a).len() == 6);
    assert_eq!(assigned(&a).len(), 6, "a lone member gets every partition");
    let b = member(&bs, "modern", "kip848");
    poll_until(&[&a, &b], Duration::from_secs(30), |_| {
        let (x, y) = (assigned(&a), assigned(&b));
        x.len() == 3 && y.len() == 3 && x.is_disjoint(&y)
    });
    let (pa, pb) = (assigned(&a), assigned(&b));
    assert!(
        pa.len() == 3 && pb.len() == 3 && pa.is_disjoint(&pb),
        "split without overlap: {pa:?} / {pb:?}"
    );

    produce_values(&bs, "kip848", 0..300, 6).await;
    let seen = poll_until(&[&a, &b], Duration::from_secs(30), |s| {
        s[0].len() + s[1].len() >= 300
    });
    let values = values_read(&seen);
    assert_eq!(
        values,
        (0..300).collect::<Vec<_>>(),
        "every record exactly once"
    );
    a.commit_consumer_state(CommitMode::Sync)
        .expect("a commits with its member epoch");
    b.commit_consumer_state(CommitMode::Sync)
        .expect("b commits with its member epoch");

    drop(b);
    poll_until(&[&a], Duration::from_secs(30), |_| assigned(&a).len() == 6);
    assert_eq!(assigned(&a).len(), 6, "b's partitions come back to a");
    produce_values(&bs, "kip848", 300..330, 6).await;
    let after = poll_until(&[&a], Duration::from_secs(30), |s| s[0].len() >= 30);
    let values = values_read(&after);
    assert_eq!(
        values,
        (300..330).collect::<Vec<_>>(),
        "resumed from the committed offsets"
    );

    let mut client = RawClient::connect(broker.port);
    let listed = client
        .call(&ListGroupsRequest::default(), 5)
        .expect("list groups");
    let g = listed
        .groups
        .iter()
        .find(|g| g.group_id.0.as_str() == "modern")
        .expect("listed");
    assert_eq!(
        (g.group_type.as_str(), g.group_state.as_str()),
        ("consumer", "Stable")
    );

    let delete = DeleteGroupsRequest::default()
        .with_groups_names(vec![GroupId(StrBytes::from_static_str("modern"))]);
    let refused = client.call(&delete, 2).expect("delete groups");
    assert_eq!(
        refused.results[0].error_code,
        ResponseError::NonEmptyGroup.code(),
        "a live consumer group is not deleted"
    );
    let offset_delete = OffsetDeleteRequest::default()
        .with_group_id(GroupId(StrBytes::from_static_str("modern")))
        .with_topics(vec![OffsetDeleteRequestTopic::default()
            .with_name(TopicName(StrBytes::from_static_str("kip848")))
            .with_partitions(vec![
                OffsetDeleteRequestPartition::default().with_partition_index(0)
            ])]);
    let describe = ConsumerGroupDescribeRequest::default().with_group_ids(vec![
        GroupId(StrBytes::from_static_str("modern")),
        GroupId(StrBytes::from_static_str("absent")),
    ]);
    let described = client.call(&describe, 0).expect("consumer group describe");
    let g = &described.groups[0];
    assert_eq!(
        (g.error_code, g.group_state.as_str(), g.members.len()),
        (0, "Stable", 1)
    );
    assert!(g.group_epoch >= g.assignment_epoch && g.assignment_epoch > 0);
    let m = &g.members[0];
    assert_eq!(m.member_epoch, g.assignment_epoch);
    assert_eq!(
        m.subscribed_topic_names
            .iter()
            .map(|t| t.0.as_str())
            .collect::<Vec<_>>(),
        vec!["kip848"]
    );
    let owned: usize = m
        .assignment
        .topic_partitions
        .iter()
        .map(|t| t.partitions.len())
        .sum();
    assert_eq!(owned, 6);
    assert_eq!(
        m.assignment.topic_partitions[0].topic_name.0.as_str(),
        "kip848"
    );
    assert_eq!(
        described.groups[1].error_code,
        ResponseError::GroupIdNotFound.code()
    );

    let classic = DescribeGroupsRequest::default()
        .with_groups(vec![GroupId(StrBytes::from_static_str("modern"))]);
    let v6 = client.call(&classic, 6).expect("describe groups v6");
    assert_eq!(
        (
            v6.groups[0].error_code,
            v6.groups[0].error_message.as_deref()
        ),
        (
            ResponseError::GroupIdNotFound.code(),
            Some("Group modern is not a classic group.")
        ),
        "DescribeGroups describes classic groups only, as Kafka's"
    );
    let v5 = client.call(&classic, 5).expect("describe groups v5");
    assert_eq!(v5.groups[0].group_state.as_str(), "Dead");

    let kept = client.call(&offset_delete, 0).expect("offset delete");
    assert_eq!(
        kept.topics[0].partitions[0].error_code,
        ResponseError::GroupSubscribedToTopic.code()
    );
}

/// Not a test on its own: the crash test runs this binary again with
/// `GREGOR_CRASH_MEMBER=<bootstrap>` so that a member lives in a process it can kill -9.
#[test]
fn crashing_consumer_protocol_member() {
    let Ok(bootstrap) = std::env::var("GREGOR_CRASH_MEMBER") else {
        return;
    };
    let c = member(&bootstrap, "fragile", "doomed-member");
    poll_until(&[&c], Duration::from_secs(30), |_| !assigned(&c).is_empty());
    println!("assigned {:?}", assigned(&c));
    poll_until(&[&c], Duration::from_secs(60), |_| false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_consumer_protocol_member_is_expired() {
    use std::io::BufRead;
    let broker = BrokerProcess::start(&[
        "group.consumer.heartbeat.interval.ms=300",
        "group.consumer.session.timeout.ms=3000",
    ]);
    let bs = broker.bootstrap();
    create_topic(&bs, "doomed-member", 4, &[]).await;
    let a = member(&bs, "fragile", "doomed-member");
    poll_until(&[&a], Duration::from_secs(30), |_| assigned(&a).len() == 4);
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "consumer_protocol::crashing_consumer_protocol_member",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("GREGOR_CRASH_MEMBER", &bs)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn member process");
    let lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if line.contains("assigned") {
                let _ = tx.send(());
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while rx.try_recv().is_err() && Instant::now() < deadline {
        poll_until(&[&a], Duration::from_millis(100), |_| false);
    }
    poll_until(&[&a], Duration::from_secs(10), |_| assigned(&a).len() == 2);
    assert_eq!(assigned(&a).len(), 2, "the other member took half");
    child.kill().expect("kill -9 the member");
    let _ = child.wait();
    poll_until(&[&a], Duration::from_secs(30), |_| assigned(&a).len() == 4);
    assert_eq!(
        assigned(&a).len(),
        4,
        "after the session timeout the dead member's partitions come back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_protocol_commits_survive_a_kill_9() {
    let mut broker = BrokerProcess::start(BROKER);
    create_topic(&broker.bootstrap(), "kept848", 2, &[]).await;
    produce_values(&broker.bootstrap(), "kept848", 0..20, 2).await;
    {
        let c = member(&broker.bootstrap(), "durable848", "kept848");
        let seen = poll_until(&[&c], Duration::from_secs(30), |s| s[0].len() >= 20);
        assert_eq!(seen[0].len(), 20);
        c.commit_consumer_state(CommitMode::Sync)
            .expect("commit with the member epoch");
    }
    broker.kill9();
    broker.restart();
    produce_values(&broker.bootstrap(), "kept848", 20..24, 2).await;
    let c = member(&broker.bootstrap(), "durable848", "kept848");
    let seen = poll_until(&[&c], Duration::from_secs(30), |s| s[0].len() >= 4);
    let values = values_read(&seen);
    assert_eq!(
        values,
        vec![20, 21, 22, 23],
        "the restarted consumer resumes after what it committed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pattern_subscription_gets_every_matching_topic() {
    let broker = BrokerProcess::start(BROKER);
    let bs = broker.bootstrap();
    create_topic(&bs, "re-one", 1, &[]).await;
    create_topic(&bs, "re-two", 2, &[]).await;
    create_topic(&bs, "unrelated", 1, &[]).await;
    let c = Member::new(
        client_config(&bs)
            .set("group.id", "patterned")
            .set("group.protocol", "consumer")
            .set("auto.offset.reset", "earliest")
            .create()
            .expect("consumer"),
    );
    c.subscribe(&["^re-.*"]).expect("subscribe by pattern");
    let topics = |c: &BaseConsumer| -> Vec<(String, i32)> {
        let mut v: Vec<(String, i32)> = c
            .assignment()
            .map(|a| {
                a.elements()
                    .iter()
                    .map(|e| (e.topic().to_string(), e.partition()))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    poll_until(&[&c], Duration::from_secs(30), |_| topics(&c).len() == 3);
    assert_eq!(
        topics(&c),
        vec![
            ("re-one".into(), 0),
            ("re-two".into(), 0),
            ("re-two".into(), 1)
        ]
    );
    let mut client = RawClient::connect(broker.port);
    let describe = ConsumerGroupDescribeRequest::default()
        .with_group_ids(vec![GroupId(StrBytes::from_static_str("patterned"))]);
    let described = client.call(&describe, 0).expect("consumer group describe");
    let pattern = described.groups[0].members[0]
        .subscribed_topic_regex
        .as_ref()
        .map(|p| p.to_string());
    assert!(
        pattern.as_deref().is_some_and(|p| p.contains("^re-.*")),
        "the member subscribed by pattern on the server side, got {pattern:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_member_restarting_within_its_session_moves_nothing() {
    let broker = BrokerProcess::start(BROKER);
    let bs = broker.bootstrap();
    create_topic(&bs, "steady848", 4, &[]).await;
    let instance =
        |id: &str| member_with(&bs, "statics848", "steady848", &[("group.instance.id", id)]);
    let a = instance("instance-a");
    let b = instance("instance-b");
    poll_until(&[&a, &b], Duration::from_secs(30), |_| {
        assigned(&a).len() == 2 && assigned(&b).len() == 2
    });
    let (held_a, held_b) = (assigned(&a), assigned(&b));
    assert!(held_a.len() == 2 && held_a.is_disjoint(&held_b));

    let mut client = RawClient::connect(broker.port);
    let mut describe = || {
        let request = ConsumerGroupDescribeRequest::default()
            .with_group_ids(vec![GroupId(StrBytes::from_static_str("statics848"))]);
        let g = client.call(&request, 0).expect("describe").groups.remove(0);
        (g.group_epoch, g.members.len())
    };
    let (epoch, members) = describe();
    assert_eq!(members, 2);

    b.close_without_leaving(); // epoch -2: the instance keeps its place and partitions
    assert_eq!(describe(), (epoch, 2), "a departed static member stays");
    let b = instance("instance-b");
    poll_until(&[&a, &b], Duration::from_secs(30), |_| {
        assigned(&b) == held_b
    });
    assert_eq!(
        assigned(&b),
        held_b,
        "the instance gets its partitions back"
    );
    assert_eq!(assigned(&a), held_a, "the other member kept its partitions");
    assert_eq!(describe(), (epoch, 2), "no new group epoch: nothing moved");

    let heartbeat = |member: &str, epoch: i32| {
        ConsumerGroupHeartbeatRequest::default()
            .with_group_id(GroupId(StrBytes::from_static_str("statics848")))
            .with_member_id(StrBytes::from_string(member.to_string()))
            .with_member_epoch(epoch)
            .with_instance_id(Some(StrBytes::from_static_str("instance-a")))
            .with_rebalance_timeout_ms(30_000)
            .with_subscribed_topic_names(Some(vec![TopicName(StrBytes::from_static_str(
                "steady848",
            ))]))
    };
    let intruder = client
        .call(&heartbeat("intruder", 0), 0)
        .expect("heartbeat");
    assert_eq!(
        intruder.error_code,
        ResponseError::UnreleasedInstanceId.code(),
        "a live instance id cannot be taken"
    );
    let stale = client
        .call(&heartbeat("intruder", epoch), 0)
        .expect("heartbeat");
    assert_eq!(stale.error_code, ResponseError::FencedInstanceId.code());
}

/// (group epoch, every member's id and epoch) of a consumer group.
fn described(port: u16, group: &'static str) -> (i32, Vec<(String, i32)>) {
    let mut client = RawClient::connect(port);
    let request = ConsumerGroupDescribeRequest::default()
        .with_group_ids(vec![GroupId(StrBytes::from_static_str(group))]);
    let g = client.call(&request, 0).expect("describe").groups.remove(0);
    let mut members: Vec<(String, i32)> = g
        .members
        .iter()
        .map(|m| (m.member_id.to_string(), m.member_epoch))
        .collect();
    members.sort();
    (g.group_epoch, members)
}

/// The group's state is in __consumer_offsets: after a kill -9 and a
/// restart its members carry on with the same ids, epochs and partitions,
/// with no new group epoch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restart_keeps_consumer_groups_as_they_were() {
    let mut broker = BrokerProcess::start(BROKER);
    create_topic(&broker.bootstrap(), "kept848", 4, &[]).await;
    let bs = broker.bootstrap();
    let a = member(&bs, "kept848", "kept848");
    let b = member(&bs, "kept848", "kept848");
    // A third member comes and goes, so the group epoch is past anything
    // two members rejoining a forgotten group would reach.
    let c = member(&bs, "kept848", "kept848");
    poll_until(&[&a, &b, &c], Duration::from_secs(30), |_| {
        [&a, &b, &c].iter().all(|m| !assigned(m).is_empty())
    });
    drop(c);
    // Settled: both members hold two partitions and have caught up with
    // the group epoch, so nothing may move between here and the kill.
    poll_until(&[&a, &b], Duration::from_secs(30), |_| {
        let (epoch, members) = described(broker.port, "kept848");
        assigned(&a).len() == 2
            && assigned(&b).len() == 2
            && members
                .iter()
                .all(|(_, member_epoch)| *member_epoch == epoch)
    });
    let (held_a, held_b) = (assigned(&a), assigned(&b));
    let before = described(broker.port, "kept848");
    assert_eq!(before.1.len(), 2);
    assert!(before.0 > 2, "group epoch {}", before.0);

    broker.kill9();
    broker.restart_on_same_port();
    // Several heartbeats' worth of time on the new broker.
    poll_until(&[&a, &b], Duration::from_secs(3), |_| false);
    assert_eq!(
        described(broker.port, "kept848"),
        before,
        "same group epoch, same members at the same epochs"
    );
    assert_eq!((assigned(&a), assigned(&b)), (held_a, held_b));
}

/// A member that keeps heartbeating but never releases the partitions it
/// was told to give up is removed once its rebalance timeout passes, and a
/// librdkafka member waiting for them gets them, as from Kafka.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_holding_revoked_partitions_past_its_rebalance_timeout_is_removed() {
    use kafka_protocol::messages::consumer_group_heartbeat_request::TopicPartitions;

    let broker = BrokerProcess::start(BROKER);
    create_topic(&broker.bootstrap(), "stuck848", 4, &[]).await;
    let mut client = RawClient::connect(broker.port);
    let heartbeat = |member: &str, epoch: i32, owned: Option<Vec<TopicPartitions>>| {
        ConsumerGroupHeartbeatRequest::default()
            .with_group_id(GroupId(StrBytes::from_static_str("stuck848")))
            .with_member_id(StrBytes::from_string(member.to_string()))
            .with_member_epoch(epoch)
            .with_rebalance_timeout_ms(if epoch == 0 { 1_000 } else { -1 })
            .with_subscribed_topic_names(
                (epoch == 0).then(|| vec![TopicName(StrBytes::from_static_str("stuck848"))]),
            )
            .with_topic_partitions(owned)
    };
    let joined = client
        .call(&heartbeat("", 0, Some(Vec::new())), 0)
        .expect("heartbeat");
    assert_eq!(joined.error_code, 0);
    let stuck = joined.member_id.expect("a member id").to_string();
    let owned: Vec<TopicPartitions> = joined
        .assignment
        .expect("an assignment")
        .topic_partitions
        .iter()
        .map(|t| {
            TopicPartitions::default()
                .with_topic_id(t.topic_id)
                .with_partitions(t.partitions.clone())
        })
        .collect();
    assert_eq!(owned.iter().map(|t| t.partitions.len()).sum::<usize>(), 4);

    // The stuck member heartbeats on at its epoch, always owning all four.
    let other = member(&broker.bootstrap(), "stuck848", "stuck848");
    let mut stuck_answer = 0;
    poll_until(&[&other], Duration::from_secs(30), |_| {
        if stuck_answer == 0 {
            stuck_answer = client
                .call(
                    &heartbeat(&stuck, joined.member_epoch, Some(owned.clone())),
                    0,
                )
                .expect("heartbeat")
                .error_code;
        }
        assigned(&other).len() == 4
    });
    assert_eq!(
        stuck_answer,
        ResponseError::UnknownMemberId.code(),
        "the member that held on was removed"
    );
    assert_eq!(
        assigned(&other),
        (0..4).collect(),
        "the waiting member got every partition"
    );
}
