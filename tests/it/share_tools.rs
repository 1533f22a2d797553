//! Share groups (KIP-932) through the tools: console-consumer
//! --share-group as the consumer (two members splitting a topic,
//! --release, a killed member's records redelivered), group-inspect
//! listing, describing, resetting and deleting a share group's offsets,
//! and the offsets APIs (DescribeShareGroupOffsets, AlterShareGroupOffsets,
//! DeleteShareGroupOffsets) with ListGroups, DescribeGroups and
//! DeleteGroups on the wire.

use crate::harness;

use std::collections::BTreeSet;
use std::io::Read;
use std::process::Child;
use std::time::Duration;

use harness::{
    create_topic, run_tool, spawn_tool, wait_until, BrokerProcess, RawClient, ToolOutput,
};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_share_group_offsets_request::{
    AlterShareGroupOffsetsRequestPartition, AlterShareGroupOffsetsRequestTopic,
};
use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::delete_share_group_offsets_request::DeleteShareGroupOffsetsRequestTopic;
use kafka_protocol::messages::describe_share_group_offsets_request::{
    DescribeShareGroupOffsetsRequestGroup, DescribeShareGroupOffsetsRequestTopic,
};
use kafka_protocol::messages::{
    AlterShareGroupOffsetsRequest, CreateAclsRequest, DeleteGroupsRequest,
    DeleteShareGroupOffsetsRequest, DescribeGroupsRequest, DescribeShareGroupOffsetsRequest,
    GroupId, ListGroupsRequest, ShareGroupDescribeRequest, ShareGroupHeartbeatRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};

const CONSUMER: &str = env!("CARGO_BIN_EXE_console-consumer");
const PRODUCER: &str = env!("CARGO_BIN_EXE_console-producer");
const INSPECT: &str = env!("CARGO_BIN_EXE_group-inspect");
const SHARE_BROKER: &[&str] = &["group.share.enable=true"];

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn group(v: &str) -> GroupId {
    GroupId(s(v))
}

fn topic(v: &str) -> TopicName {
    TopicName(s(v))
}

fn produce(bs: &str, name: &str, values: &[String]) {
    let input: String = values.iter().map(|v| format!("{v}\n")).collect();
    run_tool(PRODUCER, bs, &["-t", name], input.as_bytes()).ok();
}

fn values(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i:03}")).collect()
}

fn members(client: &mut RawClient, name: &str) -> usize {
    let request = ShareGroupDescribeRequest::default().with_group_ids(vec![group(name)]);
    let response = client
        .call(&request, 1)
        .expect("ShareGroupDescribe answered");
    response.groups[0].members.len()
}

fn inspect(bs: &str, args: &[&str]) -> ToolOutput {
    run_tool(INSPECT, bs, args, b"")
}

/// What a consumer printed and how it ended, once it has exited.
fn finished(mut child: Child) -> (Vec<String>, String) {
    let status = child.wait().expect("wait for console-consumer");
    let mut out = String::new();
    child
        .stdout
        .take()
        .expect("stdout piped")
        .read_to_string(&mut out)
        .expect("read stdout");
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr piped")
        .read_to_string(&mut err)
        .expect("read stderr");
    assert!(status.success(), "console-consumer failed: {err}");
    (out.lines().map(str::to_string).collect(), err)
}

/// Two console-consumers in one share group get every record once
/// between them; --release prints records and leaves them to be
/// delivered again; group-inspect lists, describes, resets and deletes
/// the share group.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_consumers_split_a_topic_and_group_inspect_moves_their_offsets() {
    let broker = BrokerProcess::start(SHARE_BROKER);
    let bs = broker.bootstrap();
    create_topic(&bs, "q", 1, &[]).await;
    let mut client = RawClient::connect(broker.port);
    harness::share_from_earliest(&mut client, "pair");
    harness::share_from_earliest(&mut client, "look");

    let args = ["--share-group", "pair", "-t", "q", "--timeout-ms", "8000"];
    let first = spawn_tool(CONSUMER, &bs, &args);
    let second = spawn_tool(CONSUMER, &bs, &args);
    assert!(
        wait_until(Duration::from_secs(20), || members(&mut client, "pair")
            == 2),
        "both consumers join the share group"
    );
    let all = values("r", 40);
    produce(&bs, "q", &all);
    let (mut got, _) = finished(first);
    let (other, err) = finished(second);
    assert!(err.contains("Processed a total of"), "{err}");
    got.extend(other);
    got.sort();
    assert_eq!(got, all, "every record once between the two members");

    // Every record was accepted: the share-partition starts at the end.
    assert!(
        wait_until(Duration::from_secs(10), || members(&mut client, "pair")
            == 0),
        "the consumers left the group"
    );
    assert_eq!(
        harness::share_lag(&bs, "pair"),
        [(0, Some(40), 40, Some(0))]
    );
    let table = inspect(&bs, &["describe", "-g", "pair"]);
    assert!(table.ok().contains("START-OFFSET"), "{}", table.stdout);
    assert!(
        table
            .stdout
            .contains("Share group 'pair' has no active members."),
        "{}",
        table.stdout
    );
    let listed = inspect(&bs, &["list", "--type", "share"]);
    assert!(listed.ok().contains("pair"), "{}", listed.stdout);
    assert!(listed.stdout.contains("Share"), "{}", listed.stdout);

    inspect(
        &bs,
        &[
            "reset-offsets",
            "-g",
            "pair",
            "-t",
            "q",
            "--to-earliest",
            "--execute",
        ],
    )
    .ok();
    assert_eq!(
        harness::share_lag(&bs, "pair"),
        [(0, Some(0), 40, Some(40))]
    );
    inspect(
        &bs,
        &[
            "reset-offsets",
            "-g",
            "pair",
            "-t",
            "q",
            "--to-offset",
            "25",
            "--execute",
        ],
    )
    .ok();
    assert_eq!(
        harness::share_lag(&bs, "pair"),
        [(0, Some(25), 40, Some(15))]
    );
    let again = run_tool(
        CONSUMER,
        &bs,
        &[
            "--share-group",
            "pair",
            "-t",
            "q",
            "--max-messages",
            "15",
            "--timeout-ms",
            "10000",
        ],
        b"",
    );
    let mut again: Vec<String> = again.ok().lines().map(str::to_string).collect();
    again.sort();
    assert_eq!(
        again,
        all[25..],
        "the share group reads again from the reset offset"
    );

    // --release: a look that leaves every record to the next reader.
    let look = run_tool(
        CONSUMER,
        &bs,
        &[
            "--share-group",
            "look",
            "-t",
            "q",
            "--release",
            "--max-messages",
            "10",
            "--timeout-ms",
            "10000",
        ],
        b"",
    );
    let looked: BTreeSet<String> = look.ok().lines().map(str::to_string).collect();
    assert!(!looked.is_empty() && looked.iter().all(|v| all.contains(v)));
    let read = run_tool(
        CONSUMER,
        &bs,
        &[
            "--share-group",
            "look",
            "-t",
            "q",
            "--max-messages",
            "40",
            "--timeout-ms",
            "10000",
        ],
        b"",
    );
    let mut read: Vec<String> = read.ok().lines().map(str::to_string).collect();
    read.sort();
    assert_eq!(read, all, "released records are delivered again");

    inspect(&bs, &["delete-offsets", "-g", "pair", "-t", "q", "-y"]).ok();
    assert_eq!(harness::share_lag(&bs, "pair"), []);
    let partial = inspect(&bs, &["delete-offsets", "-g", "pair", "-t", "q:0", "-y"]);
    assert_ne!(partial.code, Some(0));
    assert!(
        partial.stderr.contains("a whole topic at a time"),
        "{}",
        partial.stderr
    );
    inspect(&bs, &["delete", "-g", "pair", "-y"]).ok();
    let listed = inspect(&bs, &["list", "--type", "share"]);
    assert!(!listed.ok().contains("pair"), "{}", listed.stdout);
}

/// A console-consumer killed with records in flight: another member gets
/// them once their acquisition locks run out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_share_consumers_records_are_redelivered_after_the_lock() {
    let broker = BrokerProcess::start(&[
        "group.share.enable=true",
        "group.share.min.record.lock.duration.ms=1000",
        "group.share.record.lock.duration.ms=2000",
    ]);
    let bs = broker.bootstrap();
    create_topic(&bs, "q", 1, &[]).await;
    let mut client = RawClient::connect(broker.port);
    harness::share_from_earliest(&mut client, "g");
    // Records larger than a pipe's buffer: the first consumer, whose
    // output is not read, stalls writing them with all of them acquired
    // and none acknowledged.
    let big: Vec<String> = (0..10)
        .map(|i| format!("{i:03}{}", "x".repeat(30_000)))
        .collect();
    produce(&bs, "q", &big);
    let mut stalled = spawn_tool(CONSUMER, &bs, &["--share-group", "g", "-t", "q"]);
    assert!(
        wait_until(Duration::from_secs(20), || {
            let request = DescribeShareGroupOffsetsRequest::default().with_groups(vec![
                DescribeShareGroupOffsetsRequestGroup::default()
                    .with_group_id(group("g"))
                    .with_topics(None),
            ]);
            let response = client.call(&request, 0).expect("DescribeShareGroupOffsets");
            !response.groups[0].topics.is_empty()
        }),
        "the first consumer fetched"
    );
    std::thread::sleep(Duration::from_millis(500));
    stalled.kill().expect("kill -9 the first consumer");
    stalled.wait().expect("reap it");
    let mut printed = String::new();
    stalled
        .stdout
        .take()
        .expect("stdout piped")
        .read_to_string(&mut printed)
        .expect("read what it printed");
    let printed: BTreeSet<String> = printed.lines().map(str::to_string).collect();
    assert!(printed.len() < big.len(), "the first consumer stalled");

    let rest = run_tool(
        CONSUMER,
        &bs,
        &["--share-group", "g", "-t", "q", "--timeout-ms", "8000"],
        b"",
    );
    let redelivered: BTreeSet<String> = rest.ok().lines().map(str::to_string).collect();
    let unprinted: BTreeSet<String> = big
        .iter()
        .filter(|v| !printed.contains(*v))
        .cloned()
        .collect();
    assert!(!unprinted.is_empty());
    assert!(
        redelivered.is_superset(&unprinted),
        "every record the killed consumer did not print is delivered again"
    );
}

/// The offsets APIs and the group APIs on the wire, with Kafka's errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_group_offsets_apis_answer_as_kafka() {
    const CLASSIC_VERSION_WITH_ERRORS: i16 = 6;
    let broker = BrokerProcess::start(SHARE_BROKER);
    let bs = broker.bootstrap();
    create_topic(&bs, "q", 2, &[]).await;
    let mut client = RawClient::connect(broker.port);
    let join = ShareGroupHeartbeatRequest::default()
        .with_group_id(group("sg"))
        .with_member_id(s("member-1"))
        .with_member_epoch(0)
        .with_subscribed_topic_names(Some(vec![topic("q")]));
    let joined = client.call(&join, 1).expect("ShareGroupHeartbeat answered");
    assert_eq!(joined.error_code, 0);

    let alter = |offset: i64, name: &str| {
        AlterShareGroupOffsetsRequest::default()
            .with_group_id(group("sg"))
            .with_topics(vec![AlterShareGroupOffsetsRequestTopic::default()
                .with_topic_name(topic(name))
                .with_partitions(vec![
                    AlterShareGroupOffsetsRequestPartition::default()
                        .with_partition_index(1)
                        .with_start_offset(offset),
                ])])
    };
    let busy = client
        .call(&alter(0, "q"), 0)
        .expect("AlterShareGroupOffsets");
    assert_eq!(busy.error_code, ResponseError::NonEmptyGroup.code());

    let leave = join
        .clone()
        .with_member_epoch(-1)
        .with_subscribed_topic_names(None);
    assert_eq!(client.call(&leave, 1).expect("left").error_code, 0);
    let altered = client
        .call(&alter(0, "q"), 0)
        .expect("AlterShareGroupOffsets");
    assert_eq!(altered.error_code, 0);
    assert_eq!(altered.responses[0].partitions[0].error_code, 0);
    let unknown_topic = client
        .call(&alter(0, "nope"), 0)
        .expect("AlterShareGroupOffsets");
    assert_eq!(
        unknown_topic.responses[0].partitions[0].error_code,
        ResponseError::UnknownTopicOrPartition.code()
    );

    let describe = |name: &str, topics: Option<Vec<i32>>| {
        DescribeShareGroupOffsetsRequest::default().with_groups(vec![
            DescribeShareGroupOffsetsRequestGroup::default()
                .with_group_id(group(name))
                .with_topics(topics.map(|ps| {
                    vec![DescribeShareGroupOffsetsRequestTopic::default()
                        .with_topic_name(topic("q"))
                        .with_partitions(ps)]
                })),
        ])
    };
    let described = client
        .call(&describe("sg", Some(vec![0, 1])), 0)
        .expect("described");
    let starts: Vec<(i32, i64)> = described.groups[0].topics[0]
        .partitions
        .iter()
        .map(|p| (p.partition_index, p.start_offset))
        .collect();
    assert_eq!(starts, [(0, -1), (1, 0)], "partition 0 has no state yet");
    let all = client.call(&describe("sg", None), 0).expect("described");
    assert_eq!(all.groups[0].topics.len(), 1);
    assert_eq!(all.groups[0].topics[0].partitions.len(), 1);
    let unknown = client
        .call(&describe("nobody", None), 0)
        .expect("described");
    assert_eq!(
        unknown.groups[0].error_code,
        ResponseError::GroupIdNotFound.code()
    );

    let listed = client
        .call(
            &ListGroupsRequest::default().with_types_filter(vec![s("share")]),
            5,
        )
        .expect("ListGroups answered");
    let ids: Vec<&str> = listed
        .groups
        .iter()
        .map(|g| g.group_id.0.as_str())
        .collect();
    assert_eq!(ids, ["sg"]);
    assert_eq!(listed.groups[0].group_type.as_str(), "share");
    let classic = client
        .call(
            &DescribeGroupsRequest::default().with_groups(vec![group("sg")]),
            CLASSIC_VERSION_WITH_ERRORS,
        )
        .expect("DescribeGroups answered");
    assert_eq!(
        classic.groups[0].error_code,
        ResponseError::GroupIdNotFound.code()
    );
    assert_eq!(
        classic.groups[0].error_message.as_deref(),
        Some("Group sg is not a classic group.")
    );

    let delete = DeleteShareGroupOffsetsRequest::default()
        .with_group_id(group("sg"))
        .with_topics(vec![
            DeleteShareGroupOffsetsRequestTopic::default().with_topic_name(topic("q")),
            DeleteShareGroupOffsetsRequestTopic::default().with_topic_name(topic("nope")),
        ]);
    let deleted = client.call(&delete, 0).expect("DeleteShareGroupOffsets");
    assert_eq!(deleted.error_code, 0);
    let codes: Vec<i16> = deleted.responses.iter().map(|t| t.error_code).collect();
    assert_eq!(codes, [0, ResponseError::UnknownTopicOrPartition.code()]);
    let all = client.call(&describe("sg", None), 0).expect("described");
    assert!(all.groups[0].topics.is_empty());

    let gone = client
        .call(
            &DeleteGroupsRequest::default().with_groups_names(vec![group("sg")]),
            2,
        )
        .expect("DeleteGroups answered");
    assert_eq!(gone.results[0].error_code, 0);
    let unknown = client.call(&describe("sg", None), 0).expect("described");
    assert_eq!(
        unknown.groups[0].error_code,
        ResponseError::GroupIdNotFound.code()
    );
}

/// The start offset of partition 0 of `topic_name` in share group `name`.
fn start_offset(client: &mut RawClient, name: &str, topic_name: &str) -> i64 {
    let request = DescribeShareGroupOffsetsRequest::default().with_groups(vec![
        DescribeShareGroupOffsetsRequestGroup::default()
            .with_group_id(group(name))
            .with_topics(Some(vec![DescribeShareGroupOffsetsRequestTopic::default()
                .with_topic_name(topic(topic_name))
                .with_partitions(vec![0])])),
    ]);
    let response = client.call(&request, 0).expect("DescribeShareGroupOffsets");
    response.groups[0].topics[0].partitions[0].start_offset
}

/// An unreadable record ends a share consumer's run and goes back to the
/// group; with --reject-on-error it is REJECTed, never delivered again,
/// and the run goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_record_is_released_or_with_reject_on_error_rejected() {
    let broker = BrokerProcess::start(SHARE_BROKER);
    let bs = broker.bootstrap();
    create_topic(&bs, "q", 1, &[]).await;
    let mut client = RawClient::connect(broker.port);
    harness::share_from_earliest(&mut client, "g");
    // Four bytes read as an int; "xy" cannot be.
    produce(
        &bs,
        "q",
        &["abcd".to_string(), "xy".to_string(), "efgh".to_string()],
    );
    let strict = run_tool(
        CONSUMER,
        &bs,
        &[
            "--share-group",
            "g",
            "-t",
            "q",
            "--value-deserializer",
            "int",
            "--timeout-ms",
            "10000",
        ],
        b"",
    );
    assert_ne!(strict.code, Some(0));
    assert!(
        strict
            .stderr
            .contains("cannot read the value of q-0 at offset 1"),
        "{}",
        strict.stderr
    );
    assert_eq!(strict.stdout.lines().count(), 1, "{}", strict.stdout);

    let lenient = run_tool(
        CONSUMER,
        &bs,
        &[
            "--share-group",
            "g",
            "-t",
            "q",
            "--value-deserializer",
            "int",
            "--reject-on-error",
            "--max-messages",
            "1",
            "--timeout-ms",
            "10000",
        ],
        b"",
    );
    assert_eq!(lenient.ok().lines().count(), 1, "{}", lenient.stdout);
    assert!(
        wait_until(Duration::from_secs(10), || start_offset(
            &mut client,
            "g",
            "q"
        ) == 3),
        "every record is finished: two accepted, one rejected"
    );
}

/// Denies `operation` (Kafka's wire code) on one resource to everyone.
fn deny(client: &mut RawClient, resource_type: i8, name: &str, operation: i8) {
    let creation = AclCreation::default()
        .with_resource_type(resource_type)
        .with_resource_name(s(name))
        .with_resource_pattern_type(3)
        .with_principal(s("User:*"))
        .with_host(s("*"))
        .with_operation(operation)
        .with_permission_type(2);
    let response = client
        .call(
            &CreateAclsRequest::default().with_creations(vec![creation]),
            3,
        )
        .expect("CreateAcls answered");
    assert_eq!(response.results[0].error_code, 0);
}

/// As Kafka: DESCRIBE on the group and each topic to describe a share
/// group's offsets, READ to alter them, DELETE on the group and READ on
/// the topics to delete them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_group_offsets_need_kafkas_acls() {
    const GROUP_RESOURCE: i8 = 3;
    const TOPIC_RESOURCE: i8 = 2;
    const READ: i8 = 3;
    const DELETE: i8 = 6;
    const DESCRIBE: i8 = 8;
    let broker = BrokerProcess::start(&[
        "group.share.enable=true",
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found=true",
    ]);
    let bs = broker.bootstrap();
    create_topic(&bs, "q", 1, &[]).await;
    create_topic(&bs, "secret", 1, &[]).await;
    let mut client = RawClient::connect(broker.port);
    for name in ["sg", "hidden"] {
        let join = ShareGroupHeartbeatRequest::default()
            .with_group_id(group(name))
            .with_member_id(s("m"))
            .with_member_epoch(0)
            .with_subscribed_topic_names(Some(vec![topic("q")]));
        assert_eq!(client.call(&join, 1).expect("joined").error_code, 0);
        let leave = join.with_member_epoch(-1).with_subscribed_topic_names(None);
        assert_eq!(client.call(&leave, 1).expect("left").error_code, 0);
    }
    deny(&mut client, GROUP_RESOURCE, "hidden", DESCRIBE);
    deny(&mut client, GROUP_RESOURCE, "hidden", READ);
    deny(&mut client, GROUP_RESOURCE, "hidden", DELETE);
    deny(&mut client, TOPIC_RESOURCE, "secret", DESCRIBE);
    deny(&mut client, TOPIC_RESOURCE, "secret", READ);

    let describe = |name: &str| {
        DescribeShareGroupOffsetsRequest::default().with_groups(vec![
            DescribeShareGroupOffsetsRequestGroup::default()
                .with_group_id(group(name))
                .with_topics(Some(vec![
                    DescribeShareGroupOffsetsRequestTopic::default()
                        .with_topic_name(topic("q"))
                        .with_partitions(vec![0]),
                    DescribeShareGroupOffsetsRequestTopic::default()
                        .with_topic_name(topic("secret"))
                        .with_partitions(vec![0]),
                ])),
        ])
    };
    let hidden = client.call(&describe("hidden"), 0).expect("described");
    assert_eq!(
        hidden.groups[0].error_code,
        ResponseError::GroupAuthorizationFailed.code()
    );
    let described = client.call(&describe("sg"), 0).expect("described");
    let codes: Vec<i16> = described.groups[0]
        .topics
        .iter()
        .map(|t| t.partitions[0].error_code)
        .collect();
    assert_eq!(codes, [0, ResponseError::TopicAuthorizationFailed.code()]);

    let alter = |name: &str| {
        AlterShareGroupOffsetsRequest::default()
            .with_group_id(group(name))
            .with_topics(
                ["q", "secret"]
                    .iter()
                    .map(|t| {
                        AlterShareGroupOffsetsRequestTopic::default()
                            .with_topic_name(topic(t))
                            .with_partitions(vec![AlterShareGroupOffsetsRequestPartition::default(
                            )
                            .with_partition_index(0)
                            .with_start_offset(0)])
                    })
                    .collect(),
            )
    };
    let hidden = client.call(&alter("hidden"), 0).expect("altered");
    assert_eq!(
        hidden.error_code,
        ResponseError::GroupAuthorizationFailed.code()
    );
    let altered = client.call(&alter("sg"), 0).expect("altered");
    let codes: Vec<i16> = altered
        .responses
        .iter()
        .map(|t| t.partitions[0].error_code)
        .collect();
    assert_eq!(codes, [0, ResponseError::TopicAuthorizationFailed.code()]);

    let delete = |name: &str| {
        DeleteShareGroupOffsetsRequest::default()
            .with_group_id(group(name))
            .with_topics(
                ["q", "secret"]
                    .iter()
                    .map(|t| {
                        DeleteShareGroupOffsetsRequestTopic::default().with_topic_name(topic(t))
                    })
                    .collect(),
            )
    };
    let hidden = client.call(&delete("hidden"), 0).expect("deleted");
    assert_eq!(
        hidden.error_code,
        ResponseError::GroupAuthorizationFailed.code()
    );
    let deleted = client.call(&delete("sg"), 0).expect("deleted");
    let codes: Vec<i16> = deleted.responses.iter().map(|t| t.error_code).collect();
    assert_eq!(codes, [0, ResponseError::TopicAuthorizationFailed.code()]);
}

/// A share consumer lives through a broker restart: it joins again and
/// opens new share sessions, and reads what is produced afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_share_consumer_lives_through_a_broker_restart() {
    let mut broker = BrokerProcess::start(SHARE_BROKER);
    let bs = broker.bootstrap();
    create_topic(&bs, "q", 1, &[]).await;
    let mut client = RawClient::connect(broker.port);
    harness::share_from_earliest(&mut client, "g");
    let before = values("a", 5);
    produce(&bs, "q", &before);
    let mut consumer = spawn_tool(
        CONSUMER,
        &bs,
        &["--share-group", "g", "-t", "q", "--timeout-ms", "15000"],
    );
    let stdout = consumer.stdout.take().expect("stdout piped");
    let printed = std::sync::Arc::new(std::sync::Mutex::new(BTreeSet::new()));
    let reader = {
        let printed = std::sync::Arc::clone(&printed);
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines() {
                printed.lock().unwrap().insert(line.expect("a line"));
            }
        })
    };
    let has = |wanted: &[String]| {
        let printed = printed.lock().unwrap();
        wanted.iter().all(|v| printed.contains(v))
    };
    assert!(
        wait_until(Duration::from_secs(20), || has(&before)),
        "read before the restart"
    );

    broker.stop();
    broker.restart_on_same_port();
    let after = values("b", 5);
    produce(&bs, "q", &after);
    assert!(
        wait_until(Duration::from_secs(30), || has(&after)),
        "read after the restart"
    );
    let status = consumer.wait().expect("the consumer ends at its timeout");
    reader.join().expect("reader");
    let mut err = String::new();
    consumer
        .stderr
        .take()
        .expect("stderr piped")
        .read_to_string(&mut err)
        .expect("read stderr");
    assert!(status.success(), "{err}");
}

/// Sets `share.isolation.level=read_committed` on `group`.
fn read_committed(client: &mut RawClient, name: &str) {
    use kafka_protocol::messages::incremental_alter_configs_request::{
        AlterConfigsResource, AlterableConfig,
    };
    use kafka_protocol::messages::IncrementalAlterConfigsRequest;
    const GROUP_RESOURCE: i8 = 32;
    const SET: i8 = 0;
    let request = IncrementalAlterConfigsRequest::default().with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(GROUP_RESOURCE)
            .with_resource_name(s(name))
            .with_configs(vec![AlterableConfig::default()
                .with_name(s("share.isolation.level"))
                .with_config_operation(SET)
                .with_value(Some(s("read_committed")))]),
    ]);
    let response = client
        .call(&request, 1)
        .expect("IncrementalAlterConfigs answered");
    assert_eq!(response.responses[0].error_code, 0);
}

async fn send_all(producer: &FutureProducer, values: &[&str]) {
    for v in values {
        producer
            .send(
                FutureRecord::<(), _>::to("tx").payload(*v),
                Duration::from_secs(15),
            )
            .await
            .expect("a transactional send");
    }
}

/// What `console-consumer --share-group NAME` prints of "tx" before it
/// has been idle for a few seconds (or has printed `max` records), sorted.
fn share_read(bs: &str, name: &str, max: Option<usize>) -> Vec<String> {
    let max = max.map(|m| m.to_string());
    let mut args = vec!["--share-group", name, "-t", "tx", "--timeout-ms", "5000"];
    if let Some(m) = &max {
        args.extend(["--max-messages", m.as_str()]);
    }
    let (mut got, _) = finished(spawn_tool(CONSUMER, bs, &args));
    got.sort();
    got
}

/// KIP-932's `share.isolation.level`: a read_committed share group is
/// given committed records only (an aborted transaction's are archived)
/// and none at or past an open transaction (the last stable offset); a
/// read_uncommitted one, the default, is given them all. The records come
/// from rdkafka's transactional producer, and a plain record after them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_committed_share_groups_get_committed_records_only() {
    let broker = BrokerProcess::start(SHARE_BROKER);
    let bs = broker.bootstrap();
    create_topic(&bs, "tx", 1, &[]).await;
    let mut client = RawClient::connect(broker.port);
    for name in ["committed", "everything"] {
        harness::share_from_earliest(&mut client, name);
    }
    read_committed(&mut client, "committed");

    let producer = harness::producer(&bs, &[("transactional.id", "share-txn")]);
    let timeout = Duration::from_secs(15);
    producer
        .init_transactions(timeout)
        .expect("init_transactions");
    producer.begin_transaction().expect("begin");
    send_all(&producer, &["c0", "c1"]).await;
    producer.commit_transaction(timeout).expect("commit");
    producer.begin_transaction().expect("begin");
    send_all(&producer, &["a0", "a1"]).await;
    producer.abort_transaction(timeout).expect("abort");
    producer.begin_transaction().expect("begin");
    // Delivered, its transaction left open.
    send_all(&producer, &["o0"]).await;
    produce(&bs, "tx", &["p0".to_string()]);

    assert_eq!(
        share_read(&bs, "committed", None),
        ["c0", "c1"],
        "nothing aborted, nothing at or past the open transaction"
    );
    assert_eq!(
        share_read(&bs, "everything", Some(6)),
        ["a0", "a1", "c0", "c1", "o0", "p0"],
        "read_uncommitted"
    );
    producer.commit_transaction(timeout).expect("commit");
    assert_eq!(
        share_read(&bs, "committed", Some(2)),
        ["o0", "p0"],
        "committed: the rest is given"
    );
}
