//! Topic administration through librdkafka's admin client and raw requests:
//! create (validate_only too), describe and alter configs, grow partitions,
//! delete, and the cluster / log dir / epoch / offset queries.

use crate::harness;

use std::time::Duration;

use harness::{admin, consume, create_topic, producer, wait_until, BrokerProcess, RawClient};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_configs_request::{
    AlterConfigsResource as LegacyResource, AlterableConfig as LegacyConfig,
};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use kafka_protocol::messages::{
    AlterConfigsRequest, BrokerId, DescribeClusterRequest, DescribeConfigsRequest,
    DescribeLogDirsRequest, IncrementalAlterConfigsRequest, ListOffsetsRequest, MetadataRequest,
    OffsetForLeaderEpochRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::admin::{
    AdminOptions, AlterConfig, NewPartitions, NewTopic, ResourceSpecifier, TopicReplication,
};
use rdkafka::producer::FutureRecord;
use rdkafka::types::RDKafkaErrorCode;

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

fn partition_count(port: u16, topic: &str) -> Option<usize> {
    let mut client = RawClient::connect(port);
    let request = MetadataRequest::default()
        .with_allow_auto_topic_creation(false)
        .with_topics(Some(vec![
            MetadataRequestTopic::default().with_name(Some(name(topic)))
        ]));
    let response = client.call(&request, 12).expect("metadata");
    let t = &response.topics[0];
    (t.error_code == 0).then_some(t.partitions.len())
}

async fn create_error(bootstrap: &str, topic: NewTopic<'_>) -> RDKafkaErrorCode {
    let result = admin(bootstrap)
        .create_topics([&topic], &AdminOptions::new())
        .await
        .expect("answered");
    result[0].as_ref().expect_err("creation must fail").1
}

async fn describe(bootstrap: &str, topic: &str) -> Vec<rdkafka::admin::ConfigEntry> {
    let result = admin(bootstrap)
        .describe_configs([&ResourceSpecifier::Topic(topic)], &AdminOptions::new())
        .await
        .expect("answered");
    result
        .into_iter()
        .next()
        .unwrap()
        .expect("described")
        .entries
}

/// A config's value and its source (rdkafka's `ConfigSource` is neither Clone nor Copy, so by name).
fn value_of(entries: &[rdkafka::admin::ConfigEntry], key: &str) -> (Option<String>, String) {
    let e = entries
        .iter()
        .find(|e| e.name == key)
        .unwrap_or_else(|| panic!("{key} described"));
    (e.value.clone(), format!("{:?}", e.source))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_topics_validates_like_kafka() {
    let broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    let topic = NewTopic::new("checked", 3, TopicReplication::Fixed(1));
    let dry = admin(&bs)
        .create_topics([&topic], &AdminOptions::new().validate_only(true))
        .await
        .unwrap();
    assert!(dry[0].is_ok());
    assert_eq!(
        partition_count(broker.port, "checked"),
        None,
        "validate_only creates nothing"
    );
    create_topic(&bs, "checked", 3, &[]).await;
    assert_eq!(partition_count(broker.port, "checked"), Some(3));

    assert_eq!(
        create_error(&bs, NewTopic::new("checked", 1, TopicReplication::Fixed(1))).await,
        RDKafkaErrorCode::TopicAlreadyExists
    );
    create_topic(&bs, "a.b", 1, &[]).await;
    assert_eq!(
        create_error(&bs, NewTopic::new("a_b", 1, TopicReplication::Fixed(1))).await,
        RDKafkaErrorCode::InvalidTopic
    );
    assert_eq!(
        create_error(&bs, NewTopic::new("rf3", 1, TopicReplication::Fixed(3))).await,
        RDKafkaErrorCode::InvalidReplicationFactor
    );
    assert_eq!(
        create_error(&bs, NewTopic::new("none", 0, TopicReplication::Fixed(1))).await,
        RDKafkaErrorCode::InvalidPartitions
    );
    assert_eq!(
        create_error(
            &bs,
            NewTopic::new("odd", 1, TopicReplication::Fixed(1)).set("no.such.config", "1")
        )
        .await,
        RDKafkaErrorCode::InvalidConfig
    );
    assert_eq!(
        create_error(
            &bs,
            NewTopic::new("odd", 1, TopicReplication::Fixed(1)).set("retention.ms", "soon")
        )
        .await,
        RDKafkaErrorCode::InvalidConfig
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configs_are_described_with_their_source_and_can_be_altered() {
    let broker = BrokerProcess::start(&["log.segment.bytes=50000000"]);
    let bs = broker.bootstrap();
    create_topic(&bs, "tuned", 1, &[("retention.ms", "12345")]).await;
    let entries = describe(&bs, "tuned").await;
    assert_eq!(
        value_of(&entries, "retention.ms"),
        (Some("12345".into()), "DynamicTopic".to_string())
    );
    assert_eq!(
        value_of(&entries, "segment.bytes"),
        (Some("50000000".into()), "StaticBroker".to_string())
    );
    assert_eq!(
        value_of(&entries, "cleanup.policy"),
        (Some("delete".into()), "Default".to_string())
    );

    let broker_entries = admin(&bs)
        .describe_configs([&ResourceSpecifier::Broker(1)], &AdminOptions::new())
        .await
        .unwrap()
        .remove(0)
        .expect("broker described")
        .entries;
    assert_eq!(
        value_of(&broker_entries, "log.segment.bytes").0.as_deref(),
        Some("50000000")
    );
    assert!(broker_entries.iter().any(|e| e.name == "node.id"));

    // Legacy AlterConfigs replaces the whole set: retention.ms goes back to its default.
    let alter =
        AlterConfig::new(ResourceSpecifier::Topic("tuned")).set("max.message.bytes", "4096");
    let result = admin(&bs)
        .alter_configs([&alter], &AdminOptions::new())
        .await
        .unwrap();
    assert!(result[0].is_ok(), "{:?}", result[0]);
    let entries = describe(&bs, "tuned").await;
    assert_eq!(
        value_of(&entries, "max.message.bytes"),
        (Some("4096".into()), "DynamicTopic".to_string())
    );
    assert_eq!(value_of(&entries, "retention.ms").1, "Default".to_string());

    // rdkafka-rust reports every AlterConfigs resource as a success, so the
    // error paths are checked on the wire.
    let mut client = RawClient::connect(broker.port);
    let legacy = |topic: &str, value: &str| {
        AlterConfigsRequest::default().with_resources(vec![LegacyResource::default()
            .with_resource_type(2)
            .with_resource_name(StrBytes::from_string(topic.to_string()))
            .with_configs(vec![LegacyConfig::default()
                .with_name(StrBytes::from_static_str("retention.ms"))
                .with_value(Some(StrBytes::from_string(value.to_string())))])])
    };
    let bad = client.call(&legacy("tuned", "abc"), 2).unwrap();
    assert_eq!(
        bad.responses[0].error_code,
        ResponseError::InvalidConfig.code()
    );
    let missing = client.call(&legacy("missing", "1"), 2).unwrap();
    assert_eq!(
        missing.responses[0].error_code,
        ResponseError::UnknownTopicOrPartition.code()
    );
    assert_eq!(
        value_of(&describe(&bs, "tuned").await, "max.message.bytes")
            .0
            .as_deref(),
        Some("4096"),
        "a refused change leaves the topic as it was"
    );

    let incremental = |op: i8, key: &str, value: Option<&str>| {
        IncrementalAlterConfigsRequest::default().with_resources(vec![
            AlterConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(StrBytes::from_static_str("tuned"))
                .with_configs(vec![AlterableConfig::default()
                    .with_name(StrBytes::from_string(key.to_string()))
                    .with_config_operation(op)
                    .with_value(value.map(|v| StrBytes::from_string(v.to_string())))]),
        ])
    };
    let set = client
        .call(&incremental(0, "retention.ms", Some("777")), 1)
        .unwrap();
    assert_eq!(set.responses[0].error_code, 0);
    let appended = client
        .call(&incremental(2, "cleanup.policy", Some("compact")), 1)
        .unwrap();
    assert_eq!(appended.responses[0].error_code, 0);
    let entries = describe(&bs, "tuned").await;
    assert_eq!(value_of(&entries, "retention.ms").0.as_deref(), Some("777"));
    assert_eq!(
        value_of(&entries, "max.message.bytes").0.as_deref(),
        Some("4096"),
        "incremental keeps other overrides"
    );
    assert_eq!(
        value_of(&entries, "cleanup.policy").0.as_deref(),
        Some("delete,compact")
    );
    let deleted = client
        .call(&incremental(1, "retention.ms", None), 1)
        .unwrap();
    assert_eq!(deleted.responses[0].error_code, 0);
    assert_eq!(
        value_of(&describe(&bs, "tuned").await, "retention.ms").1,
        "Default".to_string()
    );
    let invalid = client
        .call(&incremental(0, "retention.ms", Some("abc")), 1)
        .unwrap();
    assert_eq!(
        invalid.responses[0].error_code,
        ResponseError::InvalidConfig.code()
    );
    let not_a_list = client
        .call(&incremental(2, "retention.ms", Some("1")), 1)
        .unwrap();
    assert_eq!(
        not_a_list.responses[0].error_code,
        ResponseError::InvalidConfig.code()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_grow_but_never_shrink() {
    let broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    create_topic(&bs, "growing", 1, &[]).await;
    let grow = NewPartitions::new("growing", 4);
    let result = admin(&bs)
        .create_partitions([&grow], &AdminOptions::new())
        .await
        .unwrap();
    assert!(result[0].is_ok(), "{:?}", result[0]);
    assert_eq!(partition_count(broker.port, "growing"), Some(4));
    let p = producer(&bs, &[("topic.metadata.refresh.interval.ms", "100")]);
    let d = p
        .send(
            FutureRecord::<(), _>::to("growing")
                .partition(3)
                .payload("new partition"),
            Duration::from_secs(10),
        )
        .await
        .expect("produce to a new partition");
    assert_eq!((d.partition, d.offset), (3, 0));
    let shrink = NewPartitions::new("growing", 2);
    let result = admin(&bs)
        .create_partitions([&shrink], &AdminOptions::new())
        .await
        .unwrap();
    assert_eq!(
        result[0].as_ref().unwrap_err().1,
        RDKafkaErrorCode::InvalidPartitions
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_topics_lose_their_data_and_can_be_recreated() {
    let broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    create_topic(&bs, "doomed", 1, &[]).await;
    let p = producer(&bs, &[]);
    p.send(
        FutureRecord::<(), _>::to("doomed")
            .partition(0)
            .payload("old"),
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    let result = admin(&bs)
        .delete_topics(&["doomed"], &AdminOptions::new())
        .await
        .unwrap();
    assert!(result[0].is_ok());
    assert_eq!(partition_count(broker.port, "doomed"), None);
    let dir = broker.dir.join("doomed-0");
    assert!(
        wait_until(Duration::from_secs(5), || !dir.exists()),
        "the partition directory is removed"
    );
    let result = admin(&bs)
        .delete_topics(&["doomed"], &AdminOptions::new())
        .await
        .unwrap();
    assert_eq!(
        result[0].as_ref().unwrap_err().1,
        RDKafkaErrorCode::UnknownTopicOrPartition
    );

    create_topic(&bs, "doomed", 1, &[]).await;
    let fresh = producer(&bs, &[]);
    let d = fresh
        .send(
            FutureRecord::<(), _>::to("doomed")
                .partition(0)
                .payload("new"),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_eq!(d.offset, 0, "a re-created topic starts empty");
    let got = consume(&bs, "doomed", 0, 0, 2, Duration::from_secs(3));
    assert_eq!(
        got.iter()
            .map(|r| r.value.clone().unwrap())
            .collect::<Vec<_>>(),
        vec![b"new".to_vec()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_log_dirs_epochs_and_offsets_are_reported() {
    let broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    create_topic(&bs, "facts", 1, &[]).await;
    let p = producer(&bs, &[("linger.ms", "0")]);
    for ts in [5i64, 9, 7, 6, 8] {
        p.send(
            FutureRecord::<(), _>::to("facts")
                .partition(0)
                .payload("x")
                .timestamp(ts),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    }
    let mut client = RawClient::connect(broker.port);

    let cluster = client.call(&DescribeClusterRequest::default(), 0).unwrap();
    assert_eq!(cluster.error_code, 0);
    assert!(!cluster.cluster_id.is_empty());
    assert_eq!(cluster.controller_id, BrokerId(1));
    assert_eq!(cluster.brokers.len(), 1);
    assert_eq!(
        (cluster.brokers[0].broker_id, cluster.brokers[0].port),
        (BrokerId(1), broker.port as i32)
    );

    let dirs = client
        .call(&DescribeLogDirsRequest::default().with_topics(None), 4)
        .unwrap();
    let dir = &dirs.results[0];
    assert_eq!(
        std::path::Path::new(dir.log_dir.as_str()),
        std::fs::canonicalize(&broker.dir).unwrap()
    );
    assert!(dir.total_bytes > 0 && dir.usable_bytes > 0);
    let facts = dir
        .topics
        .iter()
        .find(|t| t.name.0.as_str() == "facts")
        .expect("facts listed");
    assert!(facts.partitions[0].partition_size > 0);

    let epochs = |current: i32| {
        OffsetForLeaderEpochRequest::default().with_topics(vec![OffsetForLeaderTopic::default()
            .with_topic(name("facts"))
            .with_partitions(vec![OffsetForLeaderPartition::default()
                .with_partition(0)
                .with_current_leader_epoch(current)
                .with_leader_epoch(0)])])
    };
    let found = client.call(&epochs(0), 4).unwrap();
    let e = &found.topics[0].partitions[0];
    assert_eq!((e.error_code, e.leader_epoch, e.end_offset), (0, 0, 5));
    let fenced = client.call(&epochs(99), 4).unwrap();
    assert_eq!(
        fenced.topics[0].partitions[0].error_code,
        ResponseError::UnknownLeaderEpoch.code()
    );

    let list = |timestamp: i64| {
        ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(vec![ListOffsetsTopic::default()
                .with_name(name("facts"))
                .with_partitions(vec![ListOffsetsPartition::default()
                    .with_partition_index(0)
                    .with_timestamp(timestamp)
                    .with_current_leader_epoch(-1)])])
    };
    let offset_of = |client: &mut RawClient, ts: i64| {
        let r = client.call(&list(ts), 7).unwrap();
        let p = &r.topics[0].partitions[0];
        assert_eq!(p.error_code, 0);
        (p.offset, p.timestamp)
    };
    assert_eq!(offset_of(&mut client, -2).0, 0, "earliest");
    assert_eq!(offset_of(&mut client, -1).0, 5, "latest");
    assert_eq!(offset_of(&mut client, -3), (1, 9), "max timestamp");
    assert_eq!(
        offset_of(&mut client, 8),
        (1, 9),
        "first record at or after 8"
    );
    // kafkajs asks with v3, before the leader epoch was in the response.
    for version in 1..=10 {
        let r = client
            .call(&list(-1), version)
            .unwrap_or_else(|| panic!("ListOffsets v{version} answered"));
        let p = &r.topics[0].partitions[0];
        assert_eq!((p.error_code, p.offset), (0, 5), "v{version}");
        let epoch = if version >= 4 { 0 } else { -1 };
        assert_eq!(p.leader_epoch, epoch, "v{version}");
    }

    let metadata = |client: &mut RawClient| {
        let request = MetadataRequest::default().with_topics(Some(vec![
            MetadataRequestTopic::default().with_name(Some(name("facts"))),
        ]));
        client.call(&request, 12).unwrap().topics.remove(0)
    };
    let first = metadata(&mut client);
    let second = metadata(&mut client);
    assert!(!first.topic_id.is_nil());
    assert_eq!(first.topic_id, second.topic_id, "topic ids are stable");
    let p = &first.partitions[0];
    assert_eq!((p.leader_id, p.leader_epoch), (BrokerId(1), 0));
    assert_eq!(p.isr_nodes, vec![BrokerId(1)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn excessive_partition_counts_are_refused_without_harm() {
    use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
    use kafka_protocol::messages::create_topics_request::CreatableTopic;
    use kafka_protocol::messages::{CreatePartitionsRequest, CreateTopicsRequest};
    let mut broker = BrokerProcess::start(&[]);
    create_topic(&broker.bootstrap(), "bounded", 1, &[]).await;
    let mut client = RawClient::connect(broker.port);
    let huge_topic = CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default()
        .with_name(name("enormous"))
        .with_num_partitions(i32::MAX)
        .with_replication_factor(1)]);
    let created = client.call(&huge_topic, 7).expect("create topics answered");
    assert_eq!(
        created.topics[0].error_code,
        ResponseError::PolicyViolation.code()
    );
    let huge_growth =
        CreatePartitionsRequest::default().with_topics(vec![CreatePartitionsTopic::default()
            .with_name(name("bounded"))
            .with_count(i32::MAX)]);
    let grown = client
        .call(&huge_growth, 3)
        .expect("create partitions answered");
    assert_eq!(
        grown.results[0].error_code,
        ResponseError::PolicyViolation.code()
    );
    assert!(broker.is_running());
    assert_eq!(partition_count(broker.port, "bounded"), Some(1));
    assert_eq!(partition_count(broker.port, "enormous"), None);

    let controllers = client
        .call(&DescribeClusterRequest::default().with_endpoint_type(2), 1)
        .expect("describe cluster");
    assert_eq!(
        controllers.error_code,
        ResponseError::MismatchedEndpointType.code()
    );
}

/// Kafka's request-level checks of AlterConfigs and IncrementalAlterConfigs
/// (ConfigAdminManager.preprocess, the controller's validator) and of
/// DescribeConfigs' topic names; found by librdkafka's 0081 admin test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_requests_are_checked_as_kafka_checks_them() {
    // A broker-wide cleanup.policy: APPEND must not start from it.
    let broker = BrokerProcess::start(&["log.cleanup.policy=compact"]);
    let bs = broker.bootstrap();
    create_topic(&bs, "checked", 1, &[]).await;
    create_topic(&bs, "other", 1, &[]).await;

    // rdkafka-rust drops DescribeConfigs' per-resource errors: on the wire.
    let mut client = RawClient::connect(broker.port);
    let describe_request = DescribeConfigsRequest::default().with_resources(
        ["not a topic!", "checked"]
            .iter()
            .map(|t| {
                DescribeConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(StrBytes::from_string(t.to_string()))
            })
            .collect(),
    );
    let described = client.call(&describe_request, 4).unwrap();
    assert_eq!(
        described.results[0].error_code,
        ResponseError::InvalidTopicException.code()
    );
    assert_eq!(described.results[1].error_code, 0);
    let config = |key: &str, op: i8, value: Option<&str>| {
        AlterableConfig::default()
            .with_name(StrBytes::from_string(key.to_string()))
            .with_config_operation(op)
            .with_value(value.map(|v| StrBytes::from_string(v.to_string())))
    };
    let resource = |topic: &str, configs: Vec<AlterableConfig>| {
        AlterConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(StrBytes::from_string(topic.to_string()))
            .with_configs(configs)
    };
    let codes = |r: kafka_protocol::messages::IncrementalAlterConfigsResponse| {
        r.responses.iter().map(|r| r.error_code).collect::<Vec<_>>()
    };
    let invalid_request = ResponseError::InvalidRequest.code();

    // The same resource twice: refused at both places; the others go on.
    let twice = IncrementalAlterConfigsRequest::default().with_resources(vec![
        resource("checked", vec![config("retention.ms", 0, Some("1000"))]),
        resource("other", vec![config("retention.ms", 0, Some("2000"))]),
        resource("checked", vec![config("retention.ms", 0, Some("3000"))]),
    ]);
    assert_eq!(
        codes(client.call(&twice, 1).unwrap()),
        [invalid_request, 0, invalid_request]
    );
    // A key twice, and a null value for anything but DELETE.
    let keys_twice = IncrementalAlterConfigsRequest::default().with_resources(vec![resource(
        "checked",
        vec![
            config("retention.ms", 0, Some("1000")),
            config("retention.ms", 1, None),
        ],
    )]);
    let null_set = IncrementalAlterConfigsRequest::default().with_resources(vec![
        resource("checked", vec![config("retention.ms", 0, None)]),
        resource("other", vec![config("retention.ms", 1, None)]),
    ]);
    assert_eq!(
        codes(client.call(&keys_twice, 1).unwrap()),
        [invalid_request]
    );
    assert_eq!(
        codes(client.call(&null_set, 1).unwrap()),
        [invalid_request, 0]
    );
    // Invalid and empty topic names.
    let names = IncrementalAlterConfigsRequest::default().with_resources(vec![
        resource("bad/name", vec![config("retention.ms", 0, Some("1"))]),
        resource("", vec![config("retention.ms", 0, Some("1"))]),
    ]);
    assert_eq!(
        codes(client.call(&names, 1).unwrap()),
        [ResponseError::InvalidTopicException.code(), invalid_request]
    );
    // APPEND starts from the topic's override, else the config's default
    // ("delete"), never from the broker's log.cleanup.policy.
    let append = IncrementalAlterConfigsRequest::default().with_resources(vec![resource(
        "checked",
        vec![config("cleanup.policy", 2, Some("delete"))],
    )]);
    assert_eq!(codes(client.call(&append, 1).unwrap()), [0]);
    let entries = describe(&bs, "checked").await;
    assert_eq!(
        value_of(&entries, "cleanup.policy").0.as_deref(),
        Some("delete")
    );
    assert_eq!(
        value_of(&entries, "retention.ms").1,
        "Default".to_string(),
        "every change to it was refused"
    );

    // Legacy AlterConfigs: the same request checks, null values included.
    let legacy = |topic: &str, configs: &[(&str, Option<&str>)]| {
        LegacyResource::default()
            .with_resource_type(2)
            .with_resource_name(StrBytes::from_string(topic.to_string()))
            .with_configs(
                configs
                    .iter()
                    .map(|(k, v)| {
                        LegacyConfig::default()
                            .with_name(StrBytes::from_string(k.to_string()))
                            .with_value(v.map(|v| StrBytes::from_string(v.to_string())))
                    })
                    .collect(),
            )
    };
    let request = AlterConfigsRequest::default().with_resources(vec![
        legacy("checked", &[("retention.ms", Some("1"))]),
        legacy("checked", &[("retention.ms", Some("2"))]),
        legacy(
            "other",
            &[("retention.ms", Some("5")), ("retention.ms", Some("6"))],
        ),
        legacy("bad/name", &[("retention.ms", Some("7"))]),
    ]);
    let response = client.call(&request, 2).unwrap();
    let legacy_codes: Vec<i16> = response.responses.iter().map(|r| r.error_code).collect();
    assert_eq!(
        legacy_codes,
        [
            invalid_request,
            invalid_request,
            invalid_request,
            ResponseError::InvalidTopicException.code()
        ]
    );
    let null = AlterConfigsRequest::default()
        .with_resources(vec![legacy("other", &[("retention.ms", None)])]);
    assert_eq!(
        client.call(&null, 2).unwrap().responses[0].error_code,
        invalid_request
    );
    // Its override was DELETEd above; the refused requests set none.
    assert_eq!(
        value_of(&describe(&bs, "other").await, "retention.ms").1,
        "Default".to_string(),
        "refused requests change nothing"
    );
}
