//! Share groups (KIP-932) on a 3-node cluster: the share-partition lives on
//! its partition's leader, its state with the share coordinator (the
//! `__share_group_state` partition's leader), membership with the group
//! coordinator, three different brokers here. A kill -9 of the partition
//! leader in the middle loses no acknowledgement: the new leader starts from
//! the written state, records in flight are delivered again, and no record
//! accepted is.

use crate::harness;

use std::collections::BTreeSet;
use std::io::Read;
use std::process::Child;
use std::time::{Duration, Instant};

use harness::{spawn_tool, start_cluster, wait_until, BrokerProcess, RawClient};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_share_group_offsets_request::{
    DescribeShareGroupOffsetsRequestGroup, DescribeShareGroupOffsetsRequestTopic,
};
use kafka_protocol::messages::read_share_group_state_summary_request::{
    PartitionData as SummaryPartition, ReadStateSummaryData,
};
use kafka_protocol::messages::share_acknowledge_request::{
    AcknowledgePartition, AcknowledgeTopic, AcknowledgementBatch,
};
use kafka_protocol::messages::share_fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{
    DeleteGroupsRequest, DescribeConfigsRequest, DescribeShareGroupOffsetsRequest,
    FindCoordinatorRequest, GroupId, MetadataRequest, ReadShareGroupStateSummaryRequest,
    ShareAcknowledgeRequest, ShareFetchRequest, ShareGroupHeartbeatRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use uuid::Uuid;

const CONSUMER: &str = env!("CARGO_BIN_EXE_console-consumer");
const SHARE_CLUSTER: &[&str] = &[
    "group.share.enable=true",
    "offsets.topic.num.partitions=3",
    "share.coordinator.state.topic.num.partitions=3",
    "group.initial.rebalance.delay.ms=0",
    // A killed broker's leaderships move within seconds.
    "replica.lag.time.max.ms=2000",
    "broker.session.timeout.ms=2000",
    "broker.heartbeat.interval.ms=300",
];
const TOPIC: &str = "queue";
const ACCEPT: i8 = 1;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// Creates TOPIC with one partition on all three brokers.
async fn create_replicated(bootstrap: &str) {
    let topic = NewTopic::new(TOPIC, 1, TopicReplication::Fixed(3));
    for r in harness::admin(bootstrap)
        .create_topics([&topic], &AdminOptions::new())
        .await
        .expect("CreateTopics answered")
    {
        r.unwrap_or_else(|(t, e)| panic!("creating {t}: {e}"));
    }
}

fn topic_id(port: u16) -> Uuid {
    RawClient::connect(port)
        .call(&MetadataRequest::default().with_topics(None), 12)
        .expect("Metadata answered")
        .topics
        .iter()
        .find(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == TOPIC))
        .map(|t| t.topic_id)
        .expect("the topic is known")
}

/// The node FindCoordinator names for `key` of `key_type` (0 group, 2 share).
fn coordinator(port: u16, key_type: i8, key: &str) -> i32 {
    let mut client = RawClient::connect(port);
    let mut node = -1;
    assert!(
        wait_until(Duration::from_secs(15), || {
            let found = client
                .call(
                    &FindCoordinatorRequest::default()
                        .with_key_type(key_type)
                        .with_coordinator_keys(vec![s(key)]),
                    6,
                )
                .expect("FindCoordinator answered");
            node = found.coordinators[0].node_id.0;
            found.coordinators[0].error_code == 0
        }),
        "a coordinator for {key}"
    );
    node
}

/// A group whose group coordinator and share coordinator (of TOPIC's
/// partition 0) are both other brokers than `leader`, and differ from each
/// other when any candidate has them so: (group, group coordinator, share
/// coordinator).
fn group_away_from(port: u16, leader: i32, topic_id: Uuid) -> (String, i32, i32) {
    let mut fallback = None;
    for i in 0..40 {
        let group = format!("sg{i}");
        let gc = coordinator(port, 0, &group);
        // Kafka's SharePartitionKey: the topic id in base64.
        let id = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            topic_id.as_bytes(),
        );
        let sc = coordinator(port, 2, &format!("{group}:{id}:0"));
        if gc == leader || sc == leader {
            continue;
        }
        if gc != sc {
            return (group, gc, sc);
        }
        fallback.get_or_insert((group, gc, sc));
    }
    fallback.expect("a group coordinated away from the partition leader")
}

/// Sets share.auto.offset.reset=earliest on `group`, and waits until every
/// broker has it: a leader without it yet would start the share-partition
/// at the high watermark.
fn from_earliest(brokers: &[BrokerProcess], group: &str) {
    const GROUP_RESOURCE: i8 = 32;
    harness::share_from_earliest(&mut RawClient::connect(brokers[0].port), group);
    let describe =
        DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(GROUP_RESOURCE)
            .with_resource_name(s(group))
            .with_configuration_keys(None)]);
    for b in brokers {
        let mut client = RawClient::connect(b.port);
        assert!(
            wait_until(Duration::from_secs(15), || {
                let response = client.call(&describe, 4).expect("DescribeConfigs answered");
                response.results[0].configs.iter().any(|c| {
                    c.name.as_str() == "share.auto.offset.reset"
                        && c.value.as_deref() == Some("earliest")
                })
            }),
            "broker {} has the group's config",
            b.port
        );
    }
}

fn port_of(brokers: &[BrokerProcess], node: i32) -> u16 {
    brokers[(node - 1) as usize].port
}

/// The partition's leader once a live broker names a live one.
fn new_leader(brokers: &mut [BrokerProcess], dead: i32) -> i32 {
    let live: Vec<(i32, u16)> = brokers
        .iter_mut()
        .enumerate()
        .filter_map(|(i, b)| b.is_running().then_some((i as i32 + 1, b.port)))
        .collect();
    let mut leader = -1;
    assert!(
        wait_until(Duration::from_secs(30), || {
            leader = harness::leadership(live[0].1, TOPIC).0;
            leader != dead && live.iter().any(|(id, _)| *id == leader)
        }),
        "a new leader is elected"
    );
    leader
}

/// The start offset `__share_group_state` keeps for the group's
/// share-partition, read from its share coordinator (-1 while none).
fn written_start(port: u16, group: &str, topic_id: Uuid) -> i64 {
    let request = ReadShareGroupStateSummaryRequest::default()
        .with_group_id(s(group))
        .with_topics(vec![ReadStateSummaryData::default()
            .with_topic_id(topic_id)
            .with_partitions(vec![SummaryPartition::default()
                .with_partition(0)
                .with_leader_epoch(-1)])]);
    let response = RawClient::connect(port)
        .call(&request, 0)
        .expect("ReadShareGroupStateSummary answered");
    let p = &response.results[0].partitions[0];
    if p.error_code != 0 {
        return -1;
    }
    p.start_offset
}

/// A share consumer on the wire: one member's share session with the
/// partition's leader.
struct Member {
    group: String,
    id: String,
    topic_id: Uuid,
    client: RawClient,
    epoch: i32,
}

impl Member {
    fn new(group: &str, id: &str, topic_id: Uuid, leader_port: u16) -> Member {
        Member {
            group: group.to_string(),
            id: id.to_string(),
            topic_id,
            client: RawClient::connect(leader_port),
            epoch: 0,
        }
    }

    /// The offsets one ShareFetch acquired (up to `max_records`), or the
    /// partition's error code.
    fn fetch(&mut self, max_records: i32) -> Result<Vec<i64>, i16> {
        let request = ShareFetchRequest::default()
            .with_group_id(Some(GroupId(s(&self.group))))
            .with_member_id(Some(s(&self.id)))
            .with_share_session_epoch(self.epoch)
            .with_max_wait_ms(500)
            .with_min_bytes(1)
            .with_max_bytes(1 << 20)
            .with_max_records(max_records)
            .with_batch_size(max_records)
            .with_topics(vec![FetchTopic::default()
                .with_topic_id(self.topic_id)
                .with_partitions(vec![
                    FetchPartition::default().with_partition_index(0)
                ])]);
        let response = self.client.call(&request, 1).expect("ShareFetch answered");
        if response.error_code != 0 {
            return Err(response.error_code);
        }
        self.epoch += 1;
        let mut acquired = Vec::new();
        for p in response.responses.iter().flat_map(|t| &t.partitions) {
            if p.error_code != 0 {
                return Err(p.error_code);
            }
            for a in &p.acquired_records {
                acquired.extend(a.first_offset..=a.last_offset);
            }
        }
        Ok(acquired)
    }

    /// Accepts `offsets` with ShareAcknowledge; its partition error code.
    fn accept(&mut self, offsets: &[i64]) -> i16 {
        let batches = offsets
            .iter()
            .map(|o| {
                AcknowledgementBatch::default()
                    .with_first_offset(*o)
                    .with_last_offset(*o)
                    .with_acknowledge_types(vec![ACCEPT])
            })
            .collect();
        let request = ShareAcknowledgeRequest::default()
            .with_group_id(Some(GroupId(s(&self.group))))
            .with_member_id(Some(s(&self.id)))
            .with_share_session_epoch(self.epoch)
            .with_topics(vec![AcknowledgeTopic::default()
                .with_topic_id(self.topic_id)
                .with_partitions(vec![AcknowledgePartition::default()
                    .with_partition_index(0)
                    .with_acknowledgement_batches(batches)])]);
        let response = self
            .client
            .call(&request, 1)
            .expect("ShareAcknowledge answered");
        self.epoch += 1;
        assert_eq!(response.error_code, 0, "the share session holds");
        response.responses[0].partitions[0].error_code
    }
}

/// A member joins at the group coordinator, acquires and accepts records
/// at the partition leader (its acknowledgements written to the share
/// coordinator on a third broker), holds some unacknowledged, and the
/// leader is killed -9: at the new leader every accepted record stays
/// accepted, the ones held in flight are delivered again, and the rest are
/// delivered and accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_leader_kill9_loses_no_acknowledgement() {
    let mut brokers = start_cluster(3, SHARE_CLUSTER);
    let bootstrap = brokers[0].bootstrap();
    create_replicated(&bootstrap).await;
    harness::produce_values(&bootstrap, TOPIC, 0..60, 1).await;
    let port = brokers[0].port;
    let leader = harness::leadership(port, TOPIC).0;
    let topic_id = topic_id(port);
    let (group, gc, sc) = group_away_from(port, leader, topic_id);
    from_earliest(&brokers, &group);
    let joined = RawClient::connect(port_of(&brokers, gc))
        .call(
            &ShareGroupHeartbeatRequest::default()
                .with_group_id(GroupId(s(&group)))
                .with_member_id(s("m1"))
                .with_member_epoch(0)
                .with_subscribed_topic_names(Some(vec![TopicName(s(TOPIC))])),
            1,
        )
        .expect("ShareGroupHeartbeat answered");
    assert_eq!(joined.error_code, 0, "m1 joins at the group coordinator");

    let mut member = Member::new(&group, "m1", topic_id, port_of(&brokers, leader));
    let mut accepted: BTreeSet<i64> = BTreeSet::new();
    let mut held = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while accepted.len() < 30 && Instant::now() < deadline {
        let got = member
            .fetch(10)
            .expect("the leader serves the share-partition");
        if got.is_empty() {
            continue;
        }
        if accepted.len() < 20 {
            assert_eq!(member.accept(&got), 0, "accepted {got:?}");
            accepted.extend(got);
        } else {
            // Half accepted, half held in flight.
            let (take, keep) = got.split_at(got.len() / 2);
            assert_eq!(member.accept(take), 0, "accepted {take:?}");
            accepted.extend(take);
            held.extend_from_slice(keep);
            break;
        }
    }
    assert!(
        accepted.len() >= 20 && !held.is_empty(),
        "{accepted:?} {held:?}"
    );
    assert!(
        written_start(port_of(&brokers, sc), &group, topic_id) >= 20,
        "the share coordinator on another broker holds the acknowledgements"
    );

    brokers[(leader - 1) as usize].kill9();
    let next = new_leader(&mut brokers, leader);
    let mut member = Member::new(&group, "m1", topic_id, port_of(&brokers, next));
    let mut again = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while accepted.len() < 60 && Instant::now() < deadline {
        // The new leader may still be loading, or the share coordinator
        // catching up: retriable errors, polled through.
        let Ok(got) = member.fetch(25) else {
            std::thread::sleep(Duration::from_millis(100));
            member = Member::new(&group, "m1", topic_id, port_of(&brokers, next));
            continue;
        };
        again.extend(got.iter().copied().filter(|o| accepted.contains(o)));
        if !got.is_empty() && member.accept(&got) == 0 {
            accepted.extend(got.iter().copied());
            for o in &got {
                held.retain(|h| h != o);
            }
        }
    }
    assert!(
        again.is_empty(),
        "accepted records delivered again: {again:?}"
    );
    assert!(
        held.is_empty(),
        "records held at the kill are delivered again"
    );
    assert_eq!(
        accepted,
        (0..60).collect::<BTreeSet<_>>(),
        "every record delivered and accepted"
    );
    assert!(
        wait_until(Duration::from_secs(10), || written_start(
            port_of(&brokers, sc),
            &group,
            topic_id
        ) == 60),
        "the share coordinator holds them all"
    );
}

/// What a member printed, once it has exited by itself.
fn printed(mut child: Child) -> Vec<String> {
    let status = child.wait().expect("wait for the member");
    let mut out = String::new();
    let mut err = String::new();
    child
        .stdout
        .take()
        .expect("stdout piped")
        .read_to_string(&mut out)
        .expect("read stdout");
    child
        .stderr
        .take()
        .expect("stderr piped")
        .read_to_string(&mut err)
        .expect("read stderr");
    assert!(status.success(), "the member failed: {err}");
    out.lines().map(str::to_string).collect()
}

/// Two `console-consumer --share-group` members read a topic while its
/// leader is killed -9 in the middle: they carry on against the new
/// leader (which alone has the second half), every record is printed, and none that the share coordinator
/// had as accepted when the leader died is printed twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_share_consumers_carry_on_through_a_leader_kill9() {
    read_through_a_leader_kill9(|bootstrap, group| {
        let args = ["--share-group", group, "-t", TOPIC, "--timeout-ms", "10000"];
        spawn_tool(CONSUMER, bootstrap, &args)
    })
    .await;
}

/// Two members started by `member(bootstrap, group)` read TOPIC while its
/// leader is killed -9 once the share coordinator has 50 accepted; the
/// second half is produced to the new leader only. Every record is
/// printed, and none below the start offset written before the kill twice.
async fn read_through_a_leader_kill9(member: impl Fn(&str, &str) -> Child) {
    let mut brokers = start_cluster(3, SHARE_CLUSTER);
    let bootstrap = brokers[0].bootstrap();
    create_replicated(&bootstrap).await;
    let port = brokers[0].port;
    let leader = harness::leadership(port, TOPIC).0;
    let topic_id = topic_id(port);
    let (group, _, sc) = group_away_from(port, leader, topic_id);
    from_earliest(&brokers, &group);
    harness::produce_values(&bootstrap, TOPIC, 0..200, 1).await;

    // The survivors first: the consumers find the cluster through them.
    let all: Vec<String> = (1..=3)
        .filter(|n| *n != leader)
        .chain([leader])
        .map(|n| brokers[(n - 1) as usize].bootstrap())
        .collect();
    let all = all.join(",");
    let consumers = [member(&all, &group), member(&all, &group)];
    let mut start = -1;
    let accepting = wait_until(Duration::from_secs(30), || {
        start = written_start(port_of(&brokers, sc), &group, topic_id);
        start >= 50
    });
    if !accepting {
        let errors: Vec<String> = consumers
            .into_iter()
            .map(|mut c| {
                c.kill().ok();
                let mut err = String::new();
                c.stderr.take().map(|mut e| e.read_to_string(&mut err));
                err
            })
            .collect();
        panic!("the consumers accept no records (written start {start}): {errors:?}");
    }
    brokers[(leader - 1) as usize].kill9();
    let next = new_leader(&mut brokers, leader);
    // The second half only the new leader has.
    let survivor = brokers[(next - 1) as usize].bootstrap();
    harness::produce_values(&survivor, TOPIC, 200..400, 1).await;

    let mut seen: Vec<i64> = consumers
        .into_iter()
        .flat_map(printed)
        .map(|v| v.parse().expect("a produced number"))
        .collect();
    seen.sort();
    let twice: BTreeSet<i64> = seen
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0])
        .collect();
    assert!(
        twice.iter().all(|o| *o >= start),
        "records below the written start offset {start} printed twice: {twice:?}"
    );
    seen.dedup();
    assert_eq!(seen, (0..400).collect::<Vec<_>>(), "every record printed");
}

/// As [`console_share_consumers_carry_on_through_a_leader_kill9`], with
/// two members of confluent-kafka's ShareConsumer (librdkafka 2.16).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_kafka_share_consumers_carry_on_through_a_leader_kill9() {
    let compat = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compat");
    let python = compat.join("python/.venv/bin/python");
    assert!(
        python.exists(),
        "confluent-kafka is not installed: run scripts/install-compat"
    );
    let script = compat.join("python/share_groups.py");
    read_through_a_leader_kill9(|bootstrap, group| {
        std::process::Command::new(&python)
            .arg(&script)
            .args([bootstrap, "read", group, TOPIC, "10"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("python runs share_groups.py")
    })
    .await;
}

/// A ShareGroupHeartbeat of `member` at `epoch` (0 joins TOPIC, -1
/// leaves) to the group coordinator at `port`; its error code.
fn heartbeat(port: u16, group: &str, member: &str, epoch: i32) -> i16 {
    let topics = (epoch == 0).then(|| vec![TopicName(s(TOPIC))]);
    RawClient::connect(port)
        .call(
            &ShareGroupHeartbeatRequest::default()
                .with_group_id(GroupId(s(group)))
                .with_member_id(s(member))
                .with_member_epoch(epoch)
                .with_subscribed_topic_names(topics),
            1,
        )
        .expect("ShareGroupHeartbeat answered")
        .error_code
}

/// (partition, start offset, error code) of TOPIC as DescribeShareGroupOffsets
/// at `port` answers them, for every share-partition with state (`None`)
/// or the ones named.
fn described_starts(port: u16, group: &str, partitions: Option<Vec<i32>>) -> Vec<(i32, i64, i16)> {
    let topics = partitions.map(|ps| {
        vec![DescribeShareGroupOffsetsRequestTopic::default()
            .with_topic_name(TopicName(s(TOPIC)))
            .with_partitions(ps)]
    });
    let request = DescribeShareGroupOffsetsRequest::default().with_groups(vec![
        DescribeShareGroupOffsetsRequestGroup::default()
            .with_group_id(GroupId(s(group)))
            .with_topics(topics),
    ]);
    let response = RawClient::connect(port)
        .call(&request, 0)
        .expect("DescribeShareGroupOffsets answered");
    let g = &response.groups[0];
    assert_eq!(g.error_code, 0, "{:?}", g.error_message);
    g.topics
        .iter()
        .flat_map(|t| &t.partitions)
        .map(|p| (p.partition_index, p.start_offset, p.error_code))
        .collect()
}

/// DescribeShareGroupOffsets at the group coordinator reads the start
/// offset the share coordinator keeps (ReadShareGroupStateSummary), the
/// share-partition itself living on the partition leader: three brokers.
/// The raw API and group-inspect's describe show the start offset after
/// the acknowledgements and the lag behind the log end; DeleteGroups
/// answers once the share coordinator has deleted the group's state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_group_offsets_are_read_from_the_share_coordinator() {
    let brokers = start_cluster(3, SHARE_CLUSTER);
    let bootstrap = brokers[0].bootstrap();
    create_replicated(&bootstrap).await;
    harness::produce_values(&bootstrap, TOPIC, 0..30, 1).await;
    let port = brokers[0].port;
    let leader = harness::leadership(port, TOPIC).0;
    let topic_id = topic_id(port);
    let (group, gc, sc) = group_away_from(port, leader, topic_id);
    from_earliest(&brokers, &group);
    let gc_port = port_of(&brokers, gc);
    assert_eq!(heartbeat(gc_port, &group, "m1", 0), 0, "m1 joins");

    let mut member = Member::new(&group, "m1", topic_id, port_of(&brokers, leader));
    let mut accepted = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    while accepted < 20 && Instant::now() < deadline {
        let got = member
            .fetch(20 - accepted as i32)
            .expect("the leader serves the share-partition");
        if !got.is_empty() {
            assert_eq!(member.accept(&got), 0, "accepted {got:?}");
            accepted += got.len();
        }
    }
    assert_eq!(accepted, 20);
    assert_eq!(written_start(port_of(&brokers, sc), &group, topic_id), 20);

    assert_eq!(described_starts(gc_port, &group, None), [(0, 20, 0)]);
    assert_eq!(
        described_starts(gc_port, &group, Some(vec![0, 1])),
        [(0, 20, 0), (1, -1, 0)],
        "partition 1 does not exist: no state"
    );
    assert_eq!(
        harness::share_lag(&bootstrap, &group),
        [(0, Some(20), 30, Some(10))]
    );

    assert_eq!(heartbeat(gc_port, &group, "m1", -1), 0, "m1 leaves");
    let deleted = RawClient::connect(gc_port)
        .call(
            &DeleteGroupsRequest::default().with_groups_names(vec![GroupId(s(&group))]),
            2,
        )
        .expect("DeleteGroups answered");
    assert_eq!(deleted.results[0].error_code, 0);
    assert_eq!(
        written_start(port_of(&brokers, sc), &group, topic_id),
        -1,
        "the share coordinator deleted the state before the answer"
    );
}
