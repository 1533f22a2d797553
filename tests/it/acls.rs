//! Authorisation end to end: ACLs created, described and deleted with
//! Kafka's filters through the metadata quorum, and every API refusing what
//! the ACLs do not allow, with Kafka's error codes.
//!
//! Until SASL or mTLS principals exist every client is User:ANONYMOUS, so
//! most brokers here run with `allow.everyone.if.no.acl.found=true` (a
//! resource no ACL names is open) and ACLs then close what a test needs
//! closed.

use crate::harness;

use std::time::Duration;

use harness::{BrokerProcess, RawClient};
use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
use kafka_protocol::messages::describe_acls_response::DescribeAclsResource;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

const CLUSTER_AUTHORIZATION_FAILED: i16 = 31;
const INVALID_REQUEST: i16 = 42;
const SECURITY_DISABLED: i16 = 54;

const STANDARD_AUTHORIZER: &str =
    "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer";
const OPEN_BY_DEFAULT: &str = "allow.everyone.if.no.acl.found=true";

// Kafka's wire codes.
const TOPIC: i8 = 2;
const GROUP: i8 = 3;
const CLUSTER: i8 = 4;
const ANY: i8 = 1;
const MATCH: i8 = 2;
const LITERAL: i8 = 3;
const PREFIXED: i8 = 4;
const ALL: i8 = 2;
const READ: i8 = 3;
const WRITE: i8 = 4;
const ALTER: i8 = 7;
const DESCRIBE: i8 = 8;
const DENY: i8 = 2;
const ALLOW: i8 = 3;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// One ACL: (resource type, name, pattern type, principal, operation, permission) from any host.
type Acl = (i8, &'static str, i8, &'static str, i8, i8);

fn creation(
    &(resource_type, name, pattern, principal, operation, permission): &Acl,
) -> AclCreation {
    AclCreation::default()
        .with_resource_type(resource_type)
        .with_resource_name(s(name))
        .with_resource_pattern_type(pattern)
        .with_principal(s(principal))
        .with_host(s("*"))
        .with_operation(operation)
        .with_permission_type(permission)
}

/// Creates `acls`; returns each one's error code.
fn create_acls(port: u16, acls: &[Acl]) -> Vec<i16> {
    let request = CreateAclsRequest::default().with_creations(acls.iter().map(creation).collect());
    let response = RawClient::connect(port)
        .call(&request, 3)
        .expect("CreateAcls response");
    response.results.iter().map(|r| r.error_code).collect()
}

fn add_acls(port: u16, acls: &[Acl]) {
    let codes = create_acls(port, acls);
    assert!(
        codes.iter().all(|c| *c == 0),
        "CreateAcls failed: {codes:?}"
    );
}

/// A filter: (resource type, name, pattern type, principal, operation, permission).
type Filter = (i8, Option<&'static str>, i8, Option<&'static str>, i8, i8);

const EVERY_ACL: Filter = (ANY, None, ANY, None, ANY, ANY);

fn describe_request(
    &(resource_type, name, pattern, principal, operation, permission): &Filter,
) -> DescribeAclsRequest {
    DescribeAclsRequest::default()
        .with_resource_type_filter(resource_type)
        .with_resource_name_filter(name.map(s))
        .with_pattern_type_filter(pattern)
        .with_principal_filter(principal.map(s))
        .with_host_filter(None)
        .with_operation(operation)
        .with_permission_type(permission)
}

fn describe(port: u16, filter: &Filter) -> DescribeAclsResponse {
    RawClient::connect(port)
        .call(&describe_request(filter), 3)
        .expect("DescribeAcls response")
}

/// The ACLs a filter matches, flattened and sorted: (type, name, pattern, principal, op, permission).
fn described(port: u16, filter: &Filter) -> Vec<(i8, String, i8, String, i8, i8)> {
    let response = describe(port, filter);
    assert_eq!(response.error_code, 0, "{:?}", response.error_message);
    flatten(&response.resources)
}

fn flatten(resources: &[DescribeAclsResource]) -> Vec<(i8, String, i8, String, i8, i8)> {
    let mut out: Vec<_> = resources
        .iter()
        .flat_map(|r| {
            r.acls.iter().map(move |a| {
                (
                    r.resource_type,
                    r.resource_name.to_string(),
                    r.pattern_type,
                    a.principal.to_string(),
                    a.operation,
                    a.permission_type,
                )
            })
        })
        .collect();
    out.sort();
    out
}

fn owned(acls: &[Acl]) -> Vec<(i8, String, i8, String, i8, i8)> {
    let mut out: Vec<_> = acls
        .iter()
        .map(|(t, n, p, who, op, perm)| (*t, n.to_string(), *p, who.to_string(), *op, *perm))
        .collect();
    out.sort();
    out
}

fn delete_filter(
    &(resource_type, name, pattern, principal, operation, permission): &Filter,
) -> DeleteAclsFilter {
    DeleteAclsFilter::default()
        .with_resource_type_filter(resource_type)
        .with_resource_name_filter(name.map(s))
        .with_pattern_type_filter(pattern)
        .with_principal_filter(principal.map(s))
        .with_host_filter(None)
        .with_operation(operation)
        .with_permission_type(permission)
}

fn delete_acls(port: u16, filters: &[Filter]) -> DeleteAclsResponse {
    let request =
        DeleteAclsRequest::default().with_filters(filters.iter().map(delete_filter).collect());
    RawClient::connect(port)
        .call(&request, 3)
        .expect("DeleteAcls response")
}

fn authorizing_broker(extra: &[&str]) -> BrokerProcess {
    let mut overrides = vec![STANDARD_AUTHORIZER];
    overrides.extend_from_slice(extra);
    BrokerProcess::start(&overrides)
}

#[test]
fn acl_apis_answer_security_disabled_without_an_authorizer() {
    let broker = BrokerProcess::start(&[]);
    let acl = (TOPIC, "t", LITERAL, "User:bob", READ, ALLOW);
    assert_eq!(create_acls(broker.port, &[acl]), vec![SECURITY_DISABLED]);
    assert_eq!(
        describe(broker.port, &EVERY_ACL).error_code,
        SECURITY_DISABLED
    );
    let deleted = delete_acls(broker.port, &[EVERY_ACL]);
    assert_eq!(deleted.filter_results[0].error_code, SECURITY_DISABLED);
}

#[test]
fn acls_are_created_described_and_deleted_with_kafkas_filters() {
    let broker = authorizing_broker(&[OPEN_BY_DEFAULT]);
    let port = broker.port;
    let orders_for_bob = (TOPIC, "orders", LITERAL, "User:bob", READ, ALLOW);
    let no_writes_to_ord = (TOPIC, "ord", PREFIXED, "User:*", WRITE, DENY);
    let carol_sees_all = (TOPIC, "*", LITERAL, "User:carol", DESCRIBE, ALLOW);
    let bobs_group = (GROUP, "g", LITERAL, "User:bob", READ, ALLOW);
    let acls = [orders_for_bob, no_writes_to_ord, carol_sees_all, bobs_group];
    add_acls(port, &acls);
    // The same ACL again is accepted and kept once, as Kafka does.
    add_acls(port, &[orders_for_bob]);
    assert_eq!(described(port, &EVERY_ACL), owned(&acls));

    let refused = create_acls(
        port,
        &[
            (TOPIC, "t", MATCH, "User:bob", READ, ALLOW),
            (TOPIC, "", LITERAL, "User:bob", READ, ALLOW),
            (TOPIC, "t", LITERAL, "bob", READ, ALLOW),
            (CLUSTER, "my-cluster", LITERAL, "User:bob", ALTER, ALLOW),
            (TOPIC, "t", LITERAL, "User:bob", ANY, ALLOW),
            (ANY, "t", LITERAL, "User:bob", READ, ALLOW),
            (TOPIC, "t", LITERAL, "User:bob", READ, ANY),
            (TOPIC, "ok", LITERAL, "User:bob", ALL, ALLOW),
        ],
    );
    let mut expected = vec![INVALID_REQUEST; 7];
    expected.push(0);
    assert_eq!(refused, expected);

    // MATCH: what applies to the topic "orders": its literal ACL, the "*"
    // one and the prefix it starts with; not "ok".
    assert_eq!(
        described(port, &(TOPIC, Some("orders"), MATCH, None, ANY, ANY)),
        owned(&[orders_for_bob, no_writes_to_ord, carol_sees_all])
    );
    // ANY with a name: that exact name only, whatever the pattern type.
    assert_eq!(
        described(port, &(ANY, Some("ord"), ANY, None, ANY, ANY)),
        owned(&[no_writes_to_ord])
    );
    assert_eq!(
        described(port, &(ANY, None, LITERAL, Some("User:bob"), ANY, ANY)),
        owned(&[
            orders_for_bob,
            bobs_group,
            (TOPIC, "ok", LITERAL, "User:bob", ALL, ALLOW)
        ])
    );
    assert_eq!(
        described(port, &(TOPIC, None, ANY, None, ANY, DENY)),
        owned(&[no_writes_to_ord])
    );
    // A code this broker does not know is refused, not taken for "none".
    assert_eq!(
        describe(port, &(TOPIC, None, ANY, None, 0, ANY)).error_code,
        INVALID_REQUEST
    );

    let response = delete_acls(
        port,
        &[
            (TOPIC, Some("orders"), MATCH, None, WRITE, ANY),
            (TOPIC, None, 0, None, ANY, ANY),
            (GROUP, None, ANY, Some("User:nobody"), ANY, ANY),
        ],
    );
    let results = &response.filter_results;
    assert_eq!(results.len(), 3);
    assert_eq!(results[0].error_code, 0);
    let deleted: Vec<_> = results[0]
        .matching_acls
        .iter()
        .map(|a| {
            (
                a.resource_name.to_string(),
                a.pattern_type,
                a.operation,
                a.permission_type,
            )
        })
        .collect();
    assert_eq!(deleted, vec![("ord".to_string(), PREFIXED, WRITE, DENY)]);
    assert_eq!(results[1].error_code, INVALID_REQUEST);
    assert_eq!(results[2].error_code, 0);
    assert!(results[2].matching_acls.is_empty());
    assert_eq!(
        described(port, &EVERY_ACL),
        owned(&[
            orders_for_bob,
            carol_sees_all,
            bobs_group,
            (TOPIC, "ok", LITERAL, "User:bob", ALL, ALLOW)
        ])
    );
    let response = delete_acls(port, &[EVERY_ACL]);
    assert_eq!(response.filter_results[0].matching_acls.len(), 4);
    assert!(described(port, &EVERY_ACL).is_empty());
}

#[test]
fn managing_acls_needs_alter_and_describe_on_the_cluster() {
    let deny_alter = (
        CLUSTER,
        "kafka-cluster",
        LITERAL,
        "User:ANONYMOUS",
        ALTER,
        DENY,
    );
    // Once an ACL names the cluster, the default no longer applies to it:
    // DESCRIBE must then be allowed explicitly.
    let first = authorizing_broker(&[OPEN_BY_DEFAULT]);
    let port = first.port;
    add_acls(port, &[deny_alter]);
    assert_eq!(
        describe(port, &EVERY_ACL).error_code,
        CLUSTER_AUTHORIZATION_FAILED
    );

    let broker = authorizing_broker(&[OPEN_BY_DEFAULT]);
    let port = broker.port;
    let everyone_describes = (CLUSTER, "kafka-cluster", LITERAL, "User:*", DESCRIBE, ALLOW);
    add_acls(port, &[deny_alter, everyone_describes]);
    assert_eq!(described(port, &EVERY_ACL).len(), 2);
    assert_eq!(
        create_acls(port, &[(TOPIC, "t", LITERAL, "User:bob", READ, ALLOW)]),
        vec![CLUSTER_AUTHORIZATION_FAILED]
    );
    let response = delete_acls(port, &[EVERY_ACL]);
    assert_eq!(
        response.filter_results[0].error_code,
        CLUSTER_AUTHORIZATION_FAILED
    );
    assert_eq!(described(port, &EVERY_ACL).len(), 2);

    // Super users pass whatever the ACLs say.
    let admin = authorizing_broker(&["super.users=User:admin;User:ANONYMOUS"]);
    add_acls(admin.port, &[deny_alter]);
    add_acls(
        admin.port,
        &[(TOPIC, "t", LITERAL, "User:bob", READ, ALLOW)],
    );
    assert_eq!(described(admin.port, &EVERY_ACL).len(), 2);

    // Where no ACL names the cluster and everyone is not let in by
    // default, nobody but a super user manages ACLs.
    let closed = authorizing_broker(&[]);
    assert_eq!(
        describe(closed.port, &EVERY_ACL).error_code,
        CLUSTER_AUTHORIZATION_FAILED
    );
}

/// Followers fetch and coordinators write markers as the principal of
/// the inter-broker listener: User:ANONYMOUS over PLAINTEXT. Once the
/// cluster has ACLs, that principal needs CLUSTER_ACTION (or to be a super
/// user), as in Kafka.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acls_survive_a_restart_and_are_the_same_on_every_broker() {
    let mut cluster = harness::start_cluster(3, &[STANDARD_AUTHORIZER, OPEN_BY_DEFAULT]);
    let acls = [
        (TOPIC, "a", LITERAL, "User:ANONYMOUS", READ, DENY),
        (TOPIC, "pay", PREFIXED, "User:bob", WRITE, ALLOW),
        (
            CLUSTER,
            "kafka-cluster",
            LITERAL,
            "User:ANONYMOUS",
            CLUSTER_ACTION,
            ALLOW,
        ),
        (
            CLUSTER,
            "kafka-cluster",
            LITERAL,
            "User:ANONYMOUS",
            ALTER,
            ALLOW,
        ),
        (TOPIC, "no-", PREFIXED, "User:ANONYMOUS", CREATE, DENY),
    ];
    add_acls(cluster[1].port, &acls);
    for broker in &cluster {
        assert!(
            harness::wait_until(Duration::from_secs(10), || described(
                broker.port,
                &EVERY_ACL
            ) == owned(&acls)),
            "broker on port {} does not show the ACLs",
            broker.port
        );
        assert_eq!(fetch(broker.port, "a").0, TOPIC_AUTHORIZATION_FAILED);
        // Checked where the request arrives, before any forwarding to
        // the active controller.
        assert_eq!(
            create_topic_code(broker.port, "no-topic"),
            TOPIC_AUTHORIZATION_FAILED
        );
    }

    // Replication goes on under the ACLs: acks=all needs every follower's fetch.
    let bootstrap = cluster[0].bootstrap();
    let admin = harness::admin(&bootstrap);
    let topic = rdkafka::admin::NewTopic::new("r", 1, rdkafka::admin::TopicReplication::Fixed(3));
    let created = admin
        .create_topics([&topic], &rdkafka::admin::AdminOptions::new())
        .await
        .expect("create_topics answered");
    created[0].as_ref().expect("topic r created");
    let producer = harness::producer(&bootstrap, &[("acks", "all")]);
    producer
        .send(
            rdkafka::producer::FutureRecord::<(), _>::to("r").payload("v"),
            Duration::from_secs(15),
        )
        .await
        .expect("acks=all produce replicated by the followers");

    for broker in cluster.iter_mut() {
        broker.stop();
    }
    harness::restart_cluster(&mut cluster);
    for broker in &cluster {
        assert_eq!(described(broker.port, &EVERY_ACL), owned(&acls));
        assert_eq!(fetch(broker.port, "a").0, TOPIC_AUTHORIZATION_FAILED);
    }
}

const TOPIC_AUTHORIZATION_FAILED: i16 = 29;
const GROUP_AUTHORIZATION_FAILED: i16 = 30;
const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: i16 = 53;
const TRANSACTIONAL_ID: i8 = 5;
const CREATE: i8 = 5;
const CLUSTER_ACTION: i8 = 9;

fn name(topic: &str) -> TopicName {
    TopicName(s(topic))
}

/// A raw Fetch (v12, by name) of partition 0 from offset 0: its error code
/// and how many bytes of records came back.
fn fetch(port: u16, topic: &str) -> (i16, usize) {
    fetch_on(&mut RawClient::connect(port), topic)
}

fn fetch_on(client: &mut RawClient, topic: &str) -> (i16, usize) {
    use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
    let request = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(0)
        .with_max_bytes(1 << 20)
        .with_topics(vec![FetchTopic::default()
            .with_topic(name(topic))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(0)
                .with_partition_max_bytes(1 << 20)])]);
    let response = client.call(&request, 12).expect("fetch");
    let p = &response.responses[0].partitions[0];
    (p.error_code, p.records.as_ref().map_or(0, |r| r.len()))
}

/// A raw Fetch (v12) of partition 0 as the follower `replica`: its error code.
fn fetch_as_replica(port: u16, topic: &str, replica: i32) -> i16 {
    use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
    let request = FetchRequest::default()
        .with_replica_id(BrokerId(replica))
        .with_max_wait_ms(0)
        .with_max_bytes(1 << 20)
        .with_topics(vec![FetchTopic::default()
            .with_topic(name(topic))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(0)
                .with_partition_max_bytes(1 << 20)])]);
    let response = RawClient::connect(port).call(&request, 12).expect("fetch");
    response.responses[0].partitions[0].error_code
}

/// A raw Metadata (v12): every topic (`None`) or the named ones.
fn metadata(port: u16, topics: Option<&[&str]>) -> MetadataResponse {
    use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
    let request = MetadataRequest::default()
        .with_allow_auto_topic_creation(false)
        .with_include_topic_authorized_operations(true)
        .with_topics(topics.map(|ts| {
            ts.iter()
                .map(|t| MetadataRequestTopic::default().with_name(Some(name(t))))
                .collect()
        }));
    RawClient::connect(port)
        .call(&request, 12)
        .expect("metadata")
}

fn listed_topics(port: u16) -> Vec<String> {
    let mut names: Vec<String> = metadata(port, None)
        .topics
        .iter()
        .filter_map(|t| t.name.as_ref().map(|n| n.0.to_string()))
        .filter(|n| !n.starts_with("__"))
        .collect();
    names.sort();
    names
}

/// Sends one record with an rdkafka producer: what the delivery reports.
async fn produce_one(bootstrap: &str, topic: &str) -> Result<(), rdkafka::error::KafkaError> {
    use rdkafka::producer::FutureRecord;
    let producer = harness::producer(bootstrap, &[("message.timeout.ms", "5000")]);
    producer
        .send(
            FutureRecord::<(), _>::to(topic).payload("v"),
            Duration::from_secs(5),
        )
        .await
        .map(|_| ())
        .map_err(|(e, _)| e)
}

fn error_code(e: &rdkafka::error::KafkaError) -> Option<rdkafka::types::RDKafkaErrorCode> {
    e.rdkafka_error_code()
}

/// What an rdkafka consumer assigned partition 0 of `topic` gets: the
/// records it read and the first error it saw.
fn consume_outcome(
    bootstrap: &str,
    topic: &str,
) -> (usize, Option<rdkafka::types::RDKafkaErrorCode>) {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::{Offset, TopicPartitionList};
    let consumer: BaseConsumer = harness::client_config(bootstrap)
        .set("group.id", "acl-reader")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut records = 0;
    while std::time::Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(_)) => records += 1,
            Some(Err(e)) => return (records, error_code(&e)),
            None if records > 0 => return (records, None),
            None => {}
        }
    }
    (records, None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_acls_refuse_reads_writes_and_metadata_with_kafkas_codes() {
    use rdkafka::types::RDKafkaErrorCode;
    let broker = authorizing_broker(&[OPEN_BY_DEFAULT]);
    let (port, bootstrap) = (broker.port, broker.bootstrap());
    for topic in ["a", "b", "c", "secret-x", "public-x"] {
        harness::create_topic(&bootstrap, topic, 1, &[]).await;
        produce_one(&bootstrap, topic)
            .await
            .unwrap_or_else(|e| panic!("produce to {topic} before any ACL: {e}"));
    }
    assert_eq!(consume_outcome(&bootstrap, "a"), (1, None));
    let ids = topic_ids(port);
    // As Kafka, once an ACL names a resource the default no longer
    // applies to it: only what is allowed is.
    add_acls(
        port,
        &[
            // "a" may be described but not read (nor written).
            (TOPIC, "a", LITERAL, "User:ANONYMOUS", DESCRIBE, ALLOW),
            (TOPIC, "a", LITERAL, "User:ANONYMOUS", READ, DENY),
            // "b" is bob's alone.
            (TOPIC, "b", LITERAL, "User:bob", ALL, ALLOW),
            // DENY wins over ALLOW; ALLOW READ still implies DESCRIBE.
            (TOPIC, "c", LITERAL, "User:ANONYMOUS", READ, ALLOW),
            (TOPIC, "c", LITERAL, "User:*", READ, DENY),
            // Everything on "secret-..." but writes.
            (TOPIC, "secret-", PREFIXED, "User:*", ALL, ALLOW),
            (TOPIC, "secret-", PREFIXED, "User:ANONYMOUS", WRITE, DENY),
        ],
    );

    assert_eq!(fetch(port, "a"), (TOPIC_AUTHORIZATION_FAILED, 0));
    assert_eq!(
        consume_outcome(&bootstrap, "a"),
        (0, Some(RDKafkaErrorCode::TopicAuthorizationFailed))
    );
    let e = produce_one(&bootstrap, "a").await.unwrap_err();
    assert_eq!(
        error_code(&e),
        Some(RDKafkaErrorCode::TopicAuthorizationFailed),
        "{e}"
    );

    assert_eq!(listed_topics(port), ["a", "c", "public-x", "secret-x"]);
    let named = metadata(port, Some(&["b"]));
    assert_eq!(named.topics[0].error_code, TOPIC_AUTHORIZATION_FAILED);
    assert!(named.topics[0].partitions.is_empty());
    let e = produce_one(&bootstrap, "b").await.unwrap_err();
    assert_eq!(
        error_code(&e),
        Some(RDKafkaErrorCode::TopicAuthorizationFailed),
        "{e}"
    );
    assert_eq!(fetch(port, "b").0, TOPIC_AUTHORIZATION_FAILED);

    assert_eq!(fetch(port, "c"), (TOPIC_AUTHORIZATION_FAILED, 0));

    let e = produce_one(&bootstrap, "secret-x").await.unwrap_err();
    assert_eq!(
        error_code(&e),
        Some(RDKafkaErrorCode::TopicAuthorizationFailed),
        "{e}"
    );
    assert_eq!(consume_outcome(&bootstrap, "secret-x"), (1, None));
    assert!(produce_one(&bootstrap, "public-x").await.is_ok());

    // Authorized operations: on "a", DESCRIBE alone.
    let a = &metadata(port, Some(&["a"])).topics[0];
    assert_eq!(a.topic_authorized_operations, 1 << DESCRIBE);

    // Versions naming topics by id are checked the same way, and do not
    // give the name of a topic away.
    assert_eq!(fetch_by_id(port, ids["a"]), (TOPIC_AUTHORIZATION_FAILED, 0));
    let produced = produce_by_id(port, ids["b"]);
    assert_eq!(produced, TOPIC_AUTHORIZATION_FAILED);
    let by_id = metadata_by_id(port, ids["b"]);
    assert_eq!(by_id.error_code, TOPIC_AUTHORIZATION_FAILED);
    assert_eq!(by_id.name, None);
}

/// Every topic's id, as Metadata lists them.
fn topic_ids(port: u16) -> std::collections::HashMap<String, uuid::Uuid> {
    metadata(port, None)
        .topics
        .iter()
        .filter_map(|t| Some((t.name.as_ref()?.0.to_string(), t.topic_id)))
        .collect()
}

/// A raw Fetch (v13, by topic id) of partition 0: error code and record bytes.
fn fetch_by_id(port: u16, id: uuid::Uuid) -> (i16, usize) {
    use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
    let request = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(0)
        .with_max_bytes(1 << 20)
        .with_topics(vec![FetchTopic::default()
            .with_topic_id(id)
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(0)
                .with_partition_max_bytes(1 << 20)])]);
    let response = RawClient::connect(port).call(&request, 13).expect("fetch");
    let p = &response.responses[0].partitions[0];
    (p.error_code, p.records.as_ref().map_or(0, |r| r.len()))
}

/// A raw Produce (v13, by topic id) of one record to partition 0: its error code.
fn produce_by_id(port: u16, id: uuid::Uuid) -> i16 {
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    let request = ProduceRequest::default()
        .with_acks(1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_topic_id(id)
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(harness::record_batch(
                    &["v"],
                    harness::NO_PRODUCER,
                )))])]);
    let response = RawClient::connect(port)
        .call(&request, 13)
        .expect("produce");
    response.responses[0].partition_responses[0].error_code
}

/// A raw Metadata (v12) for one topic named by id.
fn metadata_by_id(
    port: u16,
    id: uuid::Uuid,
) -> kafka_protocol::messages::metadata_response::MetadataResponseTopic {
    use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
    let request =
        MetadataRequest::default().with_topics(Some(vec![MetadataRequestTopic::default()
            .with_name(None)
            .with_topic_id(id)]));
    let response = RawClient::connect(port)
        .call(&request, 12)
        .expect("metadata");
    response.topics[0].clone()
}

/// A raw OffsetCommit (v8) outside any generation, of offset 1 of
/// partition 0 of each topic: each partition's error code.
fn commit(port: u16, group: &str, topics: &[&str]) -> Vec<i16> {
    use kafka_protocol::messages::offset_commit_request::{
        OffsetCommitRequestPartition, OffsetCommitRequestTopic,
    };
    let request = OffsetCommitRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_generation_id_or_member_epoch(-1)
        .with_topics(
            topics
                .iter()
                .map(|t| {
                    OffsetCommitRequestTopic::default()
                        .with_name(name(t))
                        .with_partitions(vec![OffsetCommitRequestPartition::default()
                            .with_partition_index(0)
                            .with_committed_offset(1)])
                })
                .collect(),
        );
    let response = RawClient::connect(port).call(&request, 8).expect("commit");
    response
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| p.error_code))
        .collect()
}

/// A raw OffsetFetch (v8) of one group, of every topic or the named ones:
/// the group's error code and (topic, partition error, offset) per partition.
fn fetch_offsets(
    port: u16,
    group: &str,
    topics: Option<&[&str]>,
) -> (i16, Vec<(String, i16, i64)>) {
    use kafka_protocol::messages::offset_fetch_request::{
        OffsetFetchRequestGroup, OffsetFetchRequestTopics,
    };
    let request =
        OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
            .with_group_id(GroupId(s(group)))
            .with_topics(topics.map(|ts| {
                ts.iter()
                    .map(|t| {
                        OffsetFetchRequestTopics::default()
                            .with_name(name(t))
                            .with_partition_indexes(vec![0])
                    })
                    .collect()
            }))]);
    let response = RawClient::connect(port)
        .call(&request, 8)
        .expect("offset fetch");
    let g = &response.groups[0];
    let mut found: Vec<(String, i16, i64)> = g
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(move |p| (t.name.0.to_string(), p.error_code, p.committed_offset))
        })
        .collect();
    found.sort();
    (g.error_code, found)
}

fn listed_groups(port: u16) -> Vec<String> {
    let response = RawClient::connect(port)
        .call(&ListGroupsRequest::default(), 4)
        .expect("list groups");
    let mut groups: Vec<String> = response
        .groups
        .iter()
        .map(|g| g.group_id.0.to_string())
        .collect();
    groups.sort();
    groups
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_acls_refuse_group_apis_and_hide_groups_and_offsets() {
    use rdkafka::consumer::Consumer;
    use rdkafka::types::RDKafkaErrorCode;
    let broker = authorizing_broker(&[OPEN_BY_DEFAULT]);
    let (port, bootstrap) = (broker.port, broker.bootstrap());
    for topic in ["t", "hidden"] {
        harness::create_topic(&bootstrap, topic, 1, &[]).await;
    }
    assert_eq!(commit(port, "g-open", &["t", "hidden"]), [0, 0]);
    assert_eq!(commit(port, "g-closed", &["t"]), [0]);
    assert_eq!(listed_groups(port), ["g-closed", "g-open"]);
    add_acls(
        port,
        &[
            (GROUP, "g-closed", LITERAL, "User:ANONYMOUS", ALL, DENY),
            // Without DESCRIBE on the cluster, ListGroups shows only the
            // groups the principal may describe.
            (
                CLUSTER,
                "kafka-cluster",
                LITERAL,
                "User:*",
                CLUSTER_ACTION,
                ALLOW,
            ),
            (TOPIC, "hidden", LITERAL, "User:bob", READ, ALLOW),
        ],
    );

    assert_eq!(listed_groups(port), ["g-open"]);
    assert_eq!(
        fetch_offsets(port, "g-closed", None),
        (GROUP_AUTHORIZATION_FAILED, vec![])
    );
    assert_eq!(
        commit(port, "g-closed", &["t"]),
        [GROUP_AUTHORIZATION_FAILED]
    );
    let join = JoinGroupRequest::default()
        .with_group_id(GroupId(s("g-closed")))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_protocol_type(s("consumer"));
    let joined = RawClient::connect(port).call(&join, 5).expect("join");
    assert_eq!(joined.error_code, GROUP_AUTHORIZATION_FAILED);
    let find = FindCoordinatorRequest::default()
        .with_key_type(0)
        .with_coordinator_keys(vec![s("g-closed"), s("g-open")]);
    let found = RawClient::connect(port)
        .call(&find, 4)
        .expect("find coordinator");
    assert_eq!(found.coordinators[0].error_code, GROUP_AUTHORIZATION_FAILED);
    assert_eq!(found.coordinators[1].error_code, 0);
    let described = RawClient::connect(port)
        .call(
            &DescribeGroupsRequest::default().with_groups(vec![GroupId(s("g-closed"))]),
            5,
        )
        .expect("describe groups");
    assert_eq!(described.groups[0].error_code, GROUP_AUTHORIZATION_FAILED);
    let deleted = RawClient::connect(port)
        .call(
            &DeleteGroupsRequest::default().with_groups_names(vec![GroupId(s("g-closed"))]),
            2,
        )
        .expect("delete groups");
    assert_eq!(deleted.results[0].error_code, GROUP_AUTHORIZATION_FAILED);

    // Offsets of a topic the principal may not describe are left out of a
    // group's listing, refused when named, and cannot be committed.
    assert_eq!(
        fetch_offsets(port, "g-open", None),
        (0, vec![("t".to_string(), 0, 1)])
    );
    assert_eq!(
        fetch_offsets(port, "g-open", Some(&["hidden", "t"])),
        (
            0,
            vec![
                ("hidden".to_string(), TOPIC_AUTHORIZATION_FAILED, -1),
                ("t".to_string(), 0, 1)
            ]
        )
    );
    assert_eq!(
        commit(port, "g-open", &["hidden", "t"]),
        [TOPIC_AUTHORIZATION_FAILED, 0]
    );

    // A real consumer in the refused group is told so.
    let consumer = harness::Member::new(
        harness::client_config(&bootstrap)
            .set("group.id", "g-closed")
            .create()
            .expect("consumer"),
    );
    consumer.subscribe(&["t"]).expect("subscribe");
    let refused = harness::wait_until(Duration::from_secs(10), || {
        matches!(
            consumer.poll(Duration::from_millis(100)),
            Some(Err(e)) if e.rdkafka_error_code() == Some(RDKafkaErrorCode::GroupAuthorizationFailed)
        )
    });
    assert!(refused, "the consumer was not told its group is refused");
}

const ALTER_CONFIGS: i8 = 11;

/// A raw CreateTopics (v7) of one topic: its error code.
fn create_topic_code(port: u16, topic: &str) -> i16 {
    use kafka_protocol::messages::create_topics_request::CreatableTopic;
    let request = CreateTopicsRequest::default()
        .with_timeout_ms(10_000)
        .with_topics(vec![CreatableTopic::default()
            .with_name(name(topic))
            .with_num_partitions(1)
            .with_replication_factor(1)]);
    let response = RawClient::connect(port)
        .call(&request, 7)
        .expect("create topics");
    response.topics[0].error_code
}

/// A raw DescribeConfigs (v4) of one resource: its error code.
fn describe_configs_code(port: u16, resource_type: i8, resource: &str) -> i16 {
    use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
    let request =
        DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(resource_type)
            .with_resource_name(s(resource))
            .with_configuration_keys(None)]);
    let response = RawClient::connect(port)
        .call(&request, 4)
        .expect("describe configs");
    response.results[0].error_code
}

/// A raw IncrementalAlterConfigs (v1) setting one config: its error code.
fn alter_config_code(port: u16, resource_type: i8, resource: &str, key: &str, value: &str) -> i16 {
    use kafka_protocol::messages::incremental_alter_configs_request::{
        AlterConfigsResource, AlterableConfig,
    };
    let request = IncrementalAlterConfigsRequest::default().with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(resource_type)
            .with_resource_name(s(resource))
            .with_configs(vec![AlterableConfig::default()
                .with_name(s(key))
                .with_config_operation(0)
                .with_value(Some(s(value)))]),
    ]);
    let response = RawClient::connect(port)
        .call(&request, 1)
        .expect("alter configs");
    response.responses[0].error_code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creation_configs_and_cluster_operations_need_their_acls() {
    use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
    use rdkafka::types::RDKafkaErrorCode;
    let broker = authorizing_broker(&[OPEN_BY_DEFAULT]);
    let (port, bootstrap) = (broker.port, broker.bootstrap());
    harness::create_topic(&bootstrap, "t", 1, &[]).await;
    add_acls(
        port,
        &[
            (TOPIC, "*", LITERAL, "User:*", ALL, ALLOW),
            (TOPIC, "*", LITERAL, "User:ANONYMOUS", CREATE, DENY),
            (TOPIC, "t", LITERAL, "User:ANONYMOUS", ALTER_CONFIGS, DENY),
            // Any ACL on the cluster closes it to what it does not allow.
            (
                CLUSTER,
                "kafka-cluster",
                LITERAL,
                "User:ANONYMOUS",
                ALTER,
                DENY,
            ),
        ],
    );

    assert_eq!(create_topic_code(port, "new"), TOPIC_AUTHORIZATION_FAILED);
    let admin = harness::admin(&bootstrap);
    let created = admin
        .create_topics(
            [&NewTopic::new("new", 1, TopicReplication::Fixed(1))],
            &AdminOptions::new(),
        )
        .await
        .expect("create_topics answered");
    assert_eq!(
        created[0].as_ref().unwrap_err().1,
        RDKafkaErrorCode::TopicAuthorizationFailed
    );
    // Auto-creation needs CREATE too.
    let e = produce_one(&bootstrap, "auto-created").await.unwrap_err();
    assert_eq!(
        error_code(&e),
        Some(RDKafkaErrorCode::TopicAuthorizationFailed),
        "{e}"
    );
    assert!(!listed_topics(port).contains(&"auto-created".to_string()));

    // DENY ALTER_CONFIGS does not deny DESCRIBE_CONFIGS.
    assert_eq!(describe_configs_code(port, 2, "t"), 0);
    assert_eq!(
        alter_config_code(port, 2, "t", "retention.ms", "1000"),
        TOPIC_AUTHORIZATION_FAILED
    );
    assert_eq!(
        describe_configs_code(port, 4, "1"),
        CLUSTER_AUTHORIZATION_FAILED
    );

    let elect = ElectLeadersRequest::default()
        .with_election_type(0)
        .with_topic_partitions(Some(vec![
            kafka_protocol::messages::elect_leaders_request::TopicPartitions::default()
                .with_topic(name("t"))
                .with_partitions(vec![0]),
        ]));
    let elected = RawClient::connect(port)
        .call(&elect, 2)
        .expect("elect leaders");
    assert_eq!(elected.error_code, CLUSTER_AUTHORIZATION_FAILED);
    assert_eq!(
        elected.replica_election_results[0].partition_result[0].error_code,
        CLUSTER_AUTHORIZATION_FAILED
    );
    let reassign = RawClient::connect(port)
        .call(&AlterPartitionReassignmentsRequest::default(), 0)
        .expect("alter reassignments");
    assert_eq!(reassign.error_code, CLUSTER_AUTHORIZATION_FAILED);
    let listed = RawClient::connect(port)
        .call(&ListPartitionReassignmentsRequest::default(), 0)
        .expect("list reassignments");
    assert_eq!(listed.error_code, CLUSTER_AUTHORIZATION_FAILED);
    let dirs = RawClient::connect(port)
        .call(&DescribeLogDirsRequest::default(), 4)
        .expect("describe log dirs");
    assert_eq!(dirs.error_code, CLUSTER_AUTHORIZATION_FAILED);
    assert!(dirs.results.is_empty());
    let alter_dirs = AlterReplicaLogDirsRequest::default().with_dirs(vec![
        kafka_protocol::messages::alter_replica_log_dirs_request::AlterReplicaLogDir::default()
            .with_path(s("/nowhere"))
            .with_topics(vec![
                kafka_protocol::messages::alter_replica_log_dirs_request::AlterReplicaLogDirTopic::default()
                    .with_name(name("t"))
                    .with_partitions(vec![0]),
            ]),
    ]);
    let moved = RawClient::connect(port)
        .call(&alter_dirs, 2)
        .expect("alter replica log dirs");
    assert_eq!(
        moved.results[0].partitions[0].error_code, CLUSTER_AUTHORIZATION_FAILED,
        "before the unknown dir is looked at"
    );
    // Requests only brokers make need CLUSTER_ACTION.
    assert_eq!(fetch_as_replica(port, "t", 2), TOPIC_AUTHORIZATION_FAILED);
    assert_eq!(fetch(port, "t").0, 0, "a consumer still reads");
    let markers = WriteTxnMarkersRequest::default().with_markers(vec![
        kafka_protocol::messages::write_txn_markers_request::WritableTxnMarker::default()
            .with_producer_id(ProducerId(1))
            .with_transaction_result(true)
            .with_topics(vec![
                kafka_protocol::messages::write_txn_markers_request::WritableTxnMarkerTopic::default()
                    .with_name(name("t"))
                    .with_partition_indexes(vec![0]),
            ]),
    ]);
    let written = RawClient::connect(port)
        .call(&markers, 1)
        .expect("write markers");
    assert_eq!(
        written.markers[0].topics[0].partitions[0].error_code,
        CLUSTER_AUTHORIZATION_FAILED
    );
    // DescribeCluster is open to all; its operations are not.
    let cluster = RawClient::connect(port)
        .call(
            &DescribeClusterRequest::default().with_include_cluster_authorized_operations(true),
            1,
        )
        .expect("describe cluster");
    assert_eq!(cluster.error_code, 0);
    assert_eq!(cluster.cluster_authorized_operations, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn super_users_pass_and_without_acls_nobody_else_does() {
    let open = authorizing_broker(&["super.users=User:admin;User:ANONYMOUS"]);
    add_acls(open.port, &[(TOPIC, "*", LITERAL, "User:*", ALL, DENY)]);
    harness::create_topic(&open.bootstrap(), "t", 1, &[]).await;
    produce_one(&open.bootstrap(), "t")
        .await
        .expect("a super user writes whatever the ACLs say");
    assert_eq!(consume_outcome(&open.bootstrap(), "t"), (1, None));

    // allow.everyone.if.no.acl.found defaults to false: with no ACL at all,
    // nothing is allowed.
    let closed = authorizing_broker(&[]);
    let e = produce_one(&closed.bootstrap(), "t").await.unwrap_err();
    assert_eq!(
        error_code(&e),
        Some(rdkafka::types::RDKafkaErrorCode::TopicAuthorizationFailed),
        "{e}"
    );
    assert_eq!(
        create_topic_code(closed.port, "t"),
        TOPIC_AUTHORIZATION_FAILED
    );
    assert!(metadata(closed.port, None).topics.is_empty());
}

/// A raw InitProducerId (v4): its error code.
fn init_producer_id(port: u16, transactional_id: Option<&str>) -> i16 {
    let request = InitProducerIdRequest::default()
        .with_transactional_id(transactional_id.map(|t| TransactionalId(s(t))))
        .with_transaction_timeout_ms(60_000)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    RawClient::connect(port)
        .call(&request, 4)
        .expect("init producer id")
        .error_code
}

#[test]
fn producer_ids_need_idempotent_write_or_write_on_the_transactional_id() {
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    let broker = authorizing_broker(&[OPEN_BY_DEFAULT]);
    let port = broker.port;
    assert_eq!(create_topic_code(port, "only"), 0);
    add_acls(
        port,
        &[
            // The cluster has ACLs, none giving IDEMPOTENT_WRITE.
            (CLUSTER, "kafka-cluster", LITERAL, "User:*", ALTER, ALLOW),
            // Every topic has one, so only "only" may be written.
            (TOPIC, "*", LITERAL, "User:bob", READ, ALLOW),
            (TOPIC, "only", LITERAL, "User:ANONYMOUS", WRITE, ALLOW),
            (
                TRANSACTIONAL_ID,
                "t-closed",
                LITERAL,
                "User:bob",
                ALL,
                ALLOW,
            ),
        ],
    );
    // Kafka 3+: WRITE on some topic lets an idempotent producer in.
    assert_eq!(init_producer_id(port, None), 0);
    let deleted = delete_acls(port, &[(TOPIC, Some("only"), LITERAL, None, ANY, ANY)]);
    assert_eq!(deleted.filter_results[0].matching_acls.len(), 1);
    assert_eq!(init_producer_id(port, None), CLUSTER_AUTHORIZATION_FAILED);

    assert_eq!(
        init_producer_id(port, Some("t-closed")),
        TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    );
    let find = FindCoordinatorRequest::default()
        .with_key_type(1)
        .with_coordinator_keys(vec![s("t-closed"), s("t-open")]);
    let found = RawClient::connect(port)
        .call(&find, 4)
        .expect("find coordinator");
    assert_eq!(
        found.coordinators[0].error_code,
        TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    );
    assert_eq!(found.coordinators[1].error_code, 0);
    assert!(harness::wait_until(Duration::from_secs(10), || {
        init_producer_id(port, Some("t-open")) == 0
    }));

    // Transactional records need WRITE on their transactional id first.
    let record = kafka_protocol::records::Record {
        transactional: true,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: -1,
        producer_id: 1,
        producer_epoch: 0,
        timestamp_type: kafka_protocol::records::TimestampType::Creation,
        offset: 0,
        sequence: 0,
        timestamp: 1_700_000_000_000,
        key: None,
        value: Some(bytes::Bytes::from_static(b"v")),
        headers: Default::default(),
    };
    let batch = harness::encode_batch(&[record], kafka_protocol::records::Compression::None);
    let request = ProduceRequest::default()
        .with_transactional_id(Some(TransactionalId(s("t-closed"))))
        .with_acks(-1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(name("only"))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(batch))])]);
    let produced = RawClient::connect(port).call(&request, 9).expect("produce");
    assert_eq!(
        produced.responses[0].partition_responses[0].error_code,
        TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    );
}

/// The error code of every partition in a nested response, in order.
macro_rules! partition_codes {
    ($topics:expr, $partitions:ident, $code:ident) => {
        $topics
            .iter()
            .flat_map(|t| t.$partitions.iter().map(|p| p.$code))
            .collect::<Vec<i16>>()
    };
}

#[test]
fn every_other_api_refuses_what_its_acls_do_not_allow() {
    use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
    let broker = authorizing_broker(&[OPEN_BY_DEFAULT]);
    let port = broker.port;
    for topic in ["t", "hidden"] {
        assert_eq!(create_topic_code(port, topic), 0);
    }
    let find = FindCoordinatorRequest::default()
        .with_key_type(1)
        .with_coordinator_keys(vec![s("tx-hidden")]);
    assert_eq!(
        RawClient::connect(port)
            .call(&find, 4)
            .unwrap()
            .coordinators[0]
            .error_code,
        0
    );
    assert!(harness::wait_until(Duration::from_secs(10), || {
        init_producer_id(port, Some("tx-hidden")) == 0
    }));
    add_acls(
        port,
        &[
            // The cluster has ACLs: CLUSTER_ACTION is not ANONYMOUS's.
            (CLUSTER, "kafka-cluster", LITERAL, "User:*", ALTER, ALLOW),
            (TOPIC, "hidden", LITERAL, "User:bob", ALL, ALLOW),
            (GROUP, "g", LITERAL, "User:bob", ALL, ALLOW),
            (TRANSACTIONAL_ID, "tx", PREFIXED, "User:bob", ALL, ALLOW),
        ],
    );
    let mut c = RawClient::connect(port);
    let t_and_hidden = ["t", "hidden"];

    use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
    let listed = c
        .call(
            &ListOffsetsRequest::default().with_topics(
                t_and_hidden
                    .iter()
                    .map(|t| {
                        ListOffsetsTopic::default()
                            .with_name(name(t))
                            .with_partitions(vec![ListOffsetsPartition::default()
                                .with_timestamp(-1)
                                .with_current_leader_epoch(-1)])
                    })
                    .collect(),
            ),
            7,
        )
        .unwrap();
    assert_eq!(
        partition_codes!(listed.topics, partitions, error_code),
        [0, TOPIC_AUTHORIZATION_FAILED]
    );

    use kafka_protocol::messages::offset_for_leader_epoch_request::{
        OffsetForLeaderPartition, OffsetForLeaderTopic,
    };
    let epochs = c
        .call(
            &OffsetForLeaderEpochRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_topics(
                    t_and_hidden
                        .iter()
                        .map(|t| {
                            OffsetForLeaderTopic::default()
                                .with_topic(name(t))
                                .with_partitions(vec![OffsetForLeaderPartition::default()
                                    .with_current_leader_epoch(-1)
                                    .with_leader_epoch(0)])
                        })
                        .collect(),
                ),
            4,
        )
        .unwrap();
    assert_eq!(
        partition_codes!(epochs.topics, partitions, error_code),
        [0, TOPIC_AUTHORIZATION_FAILED]
    );

    use kafka_protocol::messages::delete_records_request::{
        DeleteRecordsPartition, DeleteRecordsTopic,
    };
    let deleted = c
        .call(
            &DeleteRecordsRequest::default().with_topics(vec![DeleteRecordsTopic::default()
                .with_name(name("hidden"))
                .with_partitions(vec![DeleteRecordsPartition::default().with_offset(0)])]),
            2,
        )
        .unwrap();
    assert_eq!(
        partition_codes!(deleted.topics, partitions, error_code),
        [TOPIC_AUTHORIZATION_FAILED]
    );

    use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
    let grown = c
        .call(
            &CreatePartitionsRequest::default().with_topics(vec![CreatePartitionsTopic::default()
                .with_name(name("hidden"))
                .with_count(2)]),
            3,
        )
        .unwrap();
    assert_eq!(grown.results[0].error_code, TOPIC_AUTHORIZATION_FAILED);

    use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
    let dropped = c
        .call(
            &DeleteTopicsRequest::default().with_topics(vec![
                DeleteTopicState::default().with_name(Some(name("hidden")))
            ]),
            6,
        )
        .unwrap();
    assert_eq!(dropped.responses[0].error_code, TOPIC_AUTHORIZATION_FAILED);
    assert_eq!(metadata(port, Some(&["t"])).topics[0].error_code, 0);

    // Transactions: WRITE on the transactional id first, then the topics
    // (the others not attempted) or the group.
    let add = |id: &str| {
        AddPartitionsToTxnRequest::default()
            .with_v3_and_below_transactional_id(TransactionalId(s(id)))
            .with_v3_and_below_producer_id(ProducerId(1))
            .with_v3_and_below_producer_epoch(0)
            .with_v3_and_below_topics(
                t_and_hidden
                    .iter()
                    .map(|t| {
                        AddPartitionsToTxnTopic::default()
                            .with_name(name(t))
                            .with_partitions(vec![0])
                    })
                    .collect(),
            )
    };
    let added = c.call(&add("tx"), 3).unwrap();
    assert_eq!(
        partition_codes!(
            added.results_by_topic_v3_and_below,
            results_by_partition,
            partition_error_code
        ),
        [TRANSACTIONAL_ID_AUTHORIZATION_FAILED; 2]
    );
    let added = c.call(&add("other"), 3).unwrap();
    assert_eq!(
        partition_codes!(
            added.results_by_topic_v3_and_below,
            results_by_partition,
            partition_error_code
        ),
        [55, TOPIC_AUTHORIZATION_FAILED],
        "OPERATION_NOT_ATTEMPTED beside the refused topic"
    );
    let brokers_form = c.call(&AddPartitionsToTxnRequest::default(), 5).unwrap();
    assert_eq!(brokers_form.error_code, CLUSTER_AUTHORIZATION_FAILED);

    let offsets_to_txn = |id: &str| {
        AddOffsetsToTxnRequest::default()
            .with_transactional_id(TransactionalId(s(id)))
            .with_producer_id(ProducerId(1))
            .with_group_id(GroupId(s("g")))
    };
    assert_eq!(
        c.call(&offsets_to_txn("tx"), 3).unwrap().error_code,
        TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    );
    assert_eq!(
        c.call(&offsets_to_txn("other"), 3).unwrap().error_code,
        GROUP_AUTHORIZATION_FAILED
    );

    use kafka_protocol::messages::txn_offset_commit_request::{
        TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
    };
    let txn_commit = c
        .call(
            &TxnOffsetCommitRequest::default()
                .with_transactional_id(TransactionalId(s("tx")))
                .with_group_id(GroupId(s("other-group")))
                .with_topics(vec![TxnOffsetCommitRequestTopic::default()
                    .with_name(name("t"))
                    .with_partitions(vec![TxnOffsetCommitRequestPartition::default()])]),
            3,
        )
        .unwrap();
    assert_eq!(
        partition_codes!(txn_commit.topics, partitions, error_code),
        [TRANSACTIONAL_ID_AUTHORIZATION_FAILED]
    );
    let ended = c
        .call(
            &EndTxnRequest::default().with_transactional_id(TransactionalId(s("tx"))),
            3,
        )
        .unwrap();
    assert_eq!(ended.error_code, TRANSACTIONAL_ID_AUTHORIZATION_FAILED);

    let described = c
        .call(
            &DescribeTransactionsRequest::default()
                .with_transactional_ids(vec![TransactionalId(s("tx-hidden"))]),
            0,
        )
        .unwrap();
    assert_eq!(
        described.transaction_states[0].error_code,
        TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    );
    let listed = c.call(&ListTransactionsRequest::default(), 1).unwrap();
    assert!(listed.transaction_states.is_empty(), "tx-hidden is bob's");

    // The consumer group protocol and OffsetDelete.
    let heartbeat = |group: &str, topic: &str| {
        ConsumerGroupHeartbeatRequest::default()
            .with_group_id(GroupId(s(group)))
            .with_member_id(s("m"))
            .with_member_epoch(0)
            .with_rebalance_timeout_ms(10_000)
            .with_subscribed_topic_names(Some(vec![name(topic)]))
            .with_topic_partitions(Some(vec![]))
    };
    assert_eq!(
        c.call(&heartbeat("g", "t"), 0).unwrap().error_code,
        GROUP_AUTHORIZATION_FAILED
    );
    assert_eq!(
        c.call(&heartbeat("g2", "hidden"), 0).unwrap().error_code,
        TOPIC_AUTHORIZATION_FAILED
    );
    let described = c
        .call(
            &ConsumerGroupDescribeRequest::default().with_group_ids(vec![GroupId(s("g"))]),
            0,
        )
        .unwrap();
    assert_eq!(described.groups[0].error_code, GROUP_AUTHORIZATION_FAILED);
    let offsets_deleted = c
        .call(
            &OffsetDeleteRequest::default().with_group_id(GroupId(s("g"))),
            0,
        )
        .unwrap();
    assert_eq!(offsets_deleted.error_code, GROUP_AUTHORIZATION_FAILED);
}

#[test]
fn acls_apply_to_the_hosts_they_name() {
    let broker = authorizing_broker(&[OPEN_BY_DEFAULT]);
    let port = broker.port;
    assert_eq!(create_topic_code(port, "t"), 0);
    add_acls(port, &[(TOPIC, "t", LITERAL, "User:*", ALL, ALLOW)]);
    let deny_from_there = AclCreation::default()
        .with_resource_type(TOPIC)
        .with_resource_name(s("t"))
        .with_resource_pattern_type(LITERAL)
        .with_principal(s("User:ANONYMOUS"))
        .with_host(s("127.0.0.2"))
        .with_operation(READ)
        .with_permission_type(DENY);
    let created = RawClient::connect(port)
        .call(
            &CreateAclsRequest::default().with_creations(vec![deny_from_there]),
            3,
        )
        .unwrap();
    assert_eq!(created.results[0].error_code, 0);
    assert_eq!(
        fetch_on(&mut harness::connect_from("127.0.0.1", port), "t").0,
        0
    );
    assert_eq!(
        fetch_on(&mut harness::connect_from("127.0.0.2", port), "t").0,
        TOPIC_AUTHORIZATION_FAILED
    );
}

/// One request frame (size, header, body) as a client writes it.
fn frame<R: kafka_protocol::protocol::Request>(
    request: &R,
    version: i16,
    correlation_id: i32,
) -> Vec<u8> {
    use kafka_protocol::protocol::Encodable;
    let key = ApiKey::try_from(R::KEY).unwrap();
    let mut body = bytes::BytesMut::new();
    RequestHeader::default()
        .with_request_api_key(R::KEY)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .encode(&mut body, key.request_header_version(version))
        .unwrap();
    request.encode(&mut body, version).unwrap();
    let mut out = (body.len() as i32).to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

#[test]
fn pipelined_requests_are_each_authorised() {
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    use kafka_protocol::protocol::Decodable;
    let broker = authorizing_broker(&[OPEN_BY_DEFAULT]);
    let port = broker.port;
    assert_eq!(create_topic_code(port, "t"), 0);
    add_acls(
        port,
        &[(TOPIC, "t", LITERAL, "User:ANONYMOUS", READ, ALLOW)],
    );
    let produce = ProduceRequest::default()
        .with_acks(1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(name("t"))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(harness::record_batch(
                    &["v"],
                    harness::NO_PRODUCER,
                )))])]);
    // Three requests in one write, none waiting for the one before.
    let mut bytes = Vec::new();
    for id in 1..=3 {
        bytes.extend(frame(&produce, 9, id));
    }
    let mut client = RawClient::connect(port);
    client.send_raw(&bytes);
    for id in 1..=3 {
        let mut response = client.read_frame().expect("a response per request");
        let header = ResponseHeader::decode(&mut response, 1).unwrap();
        assert_eq!(header.correlation_id, id);
        let answer = ProduceResponse::decode(&mut response, 9).unwrap();
        assert_eq!(
            answer.responses[0].partition_responses[0].error_code,
            TOPIC_AUTHORIZATION_FAILED
        );
    }
    assert_eq!(fetch(port, "t"), (0, 0), "nothing was written");
}

/// DescribeUserScramCredentials (v0) of `user`: the top-level code and the user's.
fn describe_scram(port: u16, user: &str) -> (i16, Vec<i16>) {
    use kafka_protocol::messages::describe_user_scram_credentials_request::UserName;
    let request = DescribeUserScramCredentialsRequest::default()
        .with_users(Some(vec![UserName::default().with_name(s(user))]));
    let response = RawClient::connect(port)
        .call(&request, 0)
        .expect("describe user scram credentials");
    (
        response.error_code,
        response.results.iter().map(|r| r.error_code).collect(),
    )
}

/// AlterUserScramCredentials (v0) adding a SCRAM-SHA-256 credential: each user's code.
fn alter_scram(port: u16, user: &str) -> Vec<i16> {
    use kafka_protocol::messages::alter_user_scram_credentials_request::ScramCredentialUpsertion;
    let request = AlterUserScramCredentialsRequest::default().with_upsertions(vec![
        ScramCredentialUpsertion::default()
            .with_name(s(user))
            .with_mechanism(1)
            .with_iterations(4096)
            .with_salt(bytes::Bytes::from_static(b"salt-of-sixteen!"))
            .with_salted_password(bytes::Bytes::from(vec![7u8; 32])),
    ]);
    RawClient::connect(port)
        .call(&request, 0)
        .expect("alter user scram credentials")
        .results
        .iter()
        .map(|r| r.error_code)
        .collect()
}

#[test]
fn scram_credentials_are_managed_only_with_alter_and_describe_on_the_cluster() {
    const RESOURCE_NOT_FOUND: i16 = 91;
    let closed = authorizing_broker(&[]);
    assert_eq!(
        alter_scram(closed.port, "mallory"),
        vec![CLUSTER_AUTHORIZATION_FAILED]
    );
    assert_eq!(
        describe_scram(closed.port, "mallory"),
        (CLUSTER_AUTHORIZATION_FAILED, vec![])
    );

    let admin = authorizing_broker(&["super.users=User:ANONYMOUS"]);
    assert_eq!(
        describe_scram(admin.port, "alice"),
        (0, vec![RESOURCE_NOT_FOUND])
    );
    assert_eq!(alter_scram(admin.port, "alice"), vec![0]);
    assert!(
        harness::wait_until(Duration::from_secs(10), || {
            describe_scram(admin.port, "alice") == (0, vec![0])
        }),
        "the credential is described once created"
    );
}

fn metadata_of(client: &mut RawClient, topics: Option<&[&str]>) -> MetadataResponse {
    let topics = topics.map(|names| {
        names
            .iter()
            .map(|n| {
                metadata_request::MetadataRequestTopic::default().with_name(Some(TopicName(s(n))))
            })
            .collect()
    });
    client
        .call(&MetadataRequest::default().with_topics(topics), 12)
        .expect("metadata")
}

/// Kafka's `kafka.authorizer.logger`: a refusal of what a request named is
/// logged at INFO, an allowance at DEBUG, with principal, host, operation,
/// resource and request; a topic only left out of an every-topic listing
/// is no logged denial.
#[test]
fn decisions_go_to_kafkas_authorizer_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    let broker = harness::LoggedBroker::launch_logging(
        dir.path(),
        &[
            "listeners=PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0".to_string(),
            "sasl.enabled.mechanisms=PLAIN".to_string(),
            "listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_bob=\"bob-secret\";".to_string(),
            STANDARD_AUTHORIZER.to_string(),
            "super.users=User:ANONYMOUS".to_string(),
        ],
        "warn,kafka.authorizer.logger=debug",
    );
    let listeners = broker
        .listeners(Duration::from_secs(30))
        .expect("broker serves");
    let log = broker.log.clone();
    let line = |needle: &str| {
        log.lock()
            .unwrap()
            .lines()
            .find(|l| l.contains(needle))
            .map(String::from)
    };
    let port = |name: &str| {
        listeners
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| *p)
            .unwrap()
    };
    let mut admin = RawClient::connect(port("PLAINTEXT"));
    assert_eq!(
        metadata_of(&mut admin, Some(&["hidden"])).topics[0].error_code,
        0
    );
    let allowed = "Principal = User:ANONYMOUS is Allowed Operation = CREATE";
    assert!(harness::wait_until(Duration::from_secs(5), || line(
        allowed
    )
    .is_some()));
    let allowed = line(allowed).unwrap();
    assert!(allowed.contains("DEBUG"), "{allowed}");
    assert!(allowed.contains("for request = Metadata"), "{allowed}");
    assert!(allowed.contains("based on rule SuperUser"), "{allowed}");

    let mut bob = RawClient::connect(port("SASL_PLAINTEXT"));
    bob.call(
        &SaslHandshakeRequest::default().with_mechanism(s("PLAIN")),
        1,
    )
    .expect("handshake");
    let login = bob
        .call(
            &SaslAuthenticateRequest::default()
                .with_auth_bytes(bytes::Bytes::from_static(b"\0bob\0bob-secret")),
            2,
        )
        .expect("login");
    assert_eq!(login.error_code, 0);
    // Every topic: "hidden" is left out, which is no denial to report.
    assert!(metadata_of(&mut bob, None).topics.is_empty());
    // Named: refused, and logged at INFO.
    assert_eq!(
        metadata_of(&mut bob, Some(&["hidden"])).topics[0].error_code,
        29
    );
    let denied = "Principal = User:bob is Denied Operation = DESCRIBE from host = 127.0.0.1 on resource = TOPIC:LITERAL:hidden for request = Metadata";
    assert!(harness::wait_until(Duration::from_secs(5), || line(denied).is_some()));
    assert!(line(denied).unwrap().contains("INFO"));
    let denials = log
        .lock()
        .unwrap()
        .lines()
        .filter(|l| l.contains("User:bob is Denied"))
        .count();
    assert_eq!(denials, 1, "{}", log.lock().unwrap());
}

/// As Kafka: only the coordinators write the internal topics. A client's
/// Produce to one is INVALID_TOPIC_EXCEPTION (even a super user's), and
/// AddPartitionsToTxn takes none (TOPIC_AUTHORIZATION_FAILED, the other
/// partitions OPERATION_NOT_ATTEMPTED), with or without an authorizer.
#[test]
fn clients_cannot_write_the_internal_topics() {
    for authorizer in [false, true] {
        let mut overrides = vec!["auto.create.topics.enable=true".to_string()];
        if authorizer {
            overrides.push(STANDARD_AUTHORIZER.to_string());
            overrides.push("super.users=User:ANONYMOUS".to_string());
        }
        let overrides: Vec<&str> = overrides.iter().map(String::as_str).collect();
        let broker = BrokerProcess::start(&overrides);
        let mut client = RawClient::connect(broker.port);
        // The coordinators' topics exist once a coordinator is looked up.
        for key_type in [0, 1] {
            assert!(harness::wait_until(Duration::from_secs(10), || {
                client
                    .call(
                        &FindCoordinatorRequest::default()
                            .with_key(s("k"))
                            .with_key_type(key_type),
                        3,
                    )
                    .is_some_and(|r| r.error_code == 0)
            }));
        }
        assert_eq!(
            metadata_of(&mut client, Some(&["open"])).topics[0].error_code,
            0
        );
        for internal in ["__consumer_offsets", "__transaction_state"] {
            let produced = harness::produce_raw(
                &mut client,
                internal,
                0,
                1,
                harness::record_batch(&["x"], (-1, -1, -1)),
            );
            assert_eq!(
                produced.error_code, 17,
                "{internal}: INVALID_TOPIC_EXCEPTION"
            );
        }
        let added = client
            .call(
                &AddPartitionsToTxnRequest::default()
                    .with_v3_and_below_transactional_id(TransactionalId(s("tx")))
                    .with_v3_and_below_producer_id(ProducerId(0))
                    .with_v3_and_below_producer_epoch(0)
                    .with_v3_and_below_topics(
                        ["__transaction_state", "open"]
                            .iter()
                            .map(|t| {
                                add_partitions_to_txn_request::AddPartitionsToTxnTopic::default()
                                    .with_name(TopicName(s(t)))
                                    .with_partitions(vec![0])
                            })
                            .collect(),
                    ),
                3,
            )
            .expect("AddPartitionsToTxn");
        let codes: Vec<(String, i16)> = added
            .results_by_topic_v3_and_below
            .iter()
            .map(|t| {
                (
                    t.name.0.to_string(),
                    t.results_by_partition[0].partition_error_code,
                )
            })
            .collect();
        assert_eq!(
            codes,
            [
                ("__transaction_state".to_string(), 29),
                ("open".to_string(), 55)
            ],
            "authorizer {authorizer}"
        );
    }
}
