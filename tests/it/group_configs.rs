//! GROUP config resources (KIP-848 group configs): described with Kafka's
//! sources, altered incrementally within the broker's bounds, kept in the
//! metadata quorum, and applied by the consumer-group coordinator to that
//! group's members.

use crate::harness;

use std::time::Duration;

use harness::{wait_until, BrokerProcess, RawClient};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_configs_request::{
    AlterConfigsResource as LegacyResource, AlterableConfig as LegacyConfig,
};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::{
    AlterConfigsRequest, ConsumerGroupDescribeRequest, ConsumerGroupHeartbeatRequest,
    DescribeConfigsRequest, GroupId, IncrementalAlterConfigsRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;

const GROUP: i8 = 32;
const SET: i8 = 0;
const DELETE: i8 = 1;
const APPEND: i8 = 2;
const GROUP_CONFIG: i8 = 8;
const DEFAULT_CONFIG: i8 = 5;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// (error code, message) of altering group `group` with `ops`.
fn alter(client: &mut RawClient, group: &str, ops: &[(&str, i8, Option<&str>)]) -> (i16, String) {
    let configs = ops
        .iter()
        .map(|(name, op, value)| {
            AlterableConfig::default()
                .with_name(s(name))
                .with_config_operation(*op)
                .with_value(value.map(s))
        })
        .collect();
    let request = IncrementalAlterConfigsRequest::default().with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(GROUP)
            .with_resource_name(s(group))
            .with_configs(configs),
    ]);
    let response = client.call(&request, 1).expect("incremental alter configs");
    let r = &response.responses[0];
    (
        r.error_code,
        r.error_message.as_deref().unwrap_or_default().to_string(),
    )
}

/// (value, source) of group config `name` of `group`.
fn described(client: &mut RawClient, group: &str, name: &str) -> (String, i8) {
    let request =
        DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(GROUP)
            .with_resource_name(s(group))
            .with_configuration_keys(None)]);
    let response = client.call(&request, 4).expect("describe configs");
    let r = &response.results[0];
    assert_eq!(r.error_code, 0, "{:?}", r.error_message);
    let entry = r
        .configs
        .iter()
        .find(|c| c.name.as_str() == name)
        .unwrap_or_else(|| panic!("{name} described"));
    (
        entry.value.as_deref().unwrap_or_default().to_string(),
        entry.config_source,
    )
}

fn members(client: &mut RawClient, group: &str) -> usize {
    let request = ConsumerGroupDescribeRequest::default().with_group_ids(vec![GroupId(s(group))]);
    let response = client.call(&request, 0).expect("consumer group describe");
    response.groups[0].members.len()
}

#[test]
fn group_configs_are_described_altered_and_applied_to_the_groups_members() {
    let broker = BrokerProcess::start(&[
        "group.consumer.min.session.timeout.ms=1000",
        "group.consumer.min.heartbeat.interval.ms=100",
    ]);
    let mut client = RawClient::connect(broker.port);

    // A group with no members and no overrides runs with the broker's settings.
    assert_eq!(
        described(&mut client, "timed", "consumer.session.timeout.ms"),
        ("45000".to_string(), DEFAULT_CONFIG)
    );
    assert_eq!(
        described(&mut client, "timed", "share.auto.offset.reset"),
        ("latest".to_string(), DEFAULT_CONFIG)
    );

    // Kafka's checks: bounds, names, types, session above heartbeat.
    let refused = [
        vec![("consumer.session.timeout.ms", SET, Some("500"))],
        vec![("consumer.session.timeout.ms", SET, Some("90000"))],
        vec![("session.timeout.ms", SET, Some("5000"))],
        vec![("consumer.session.timeout.ms", SET, Some("soon"))],
        vec![("consumer.session.timeout.ms", APPEND, Some("5000"))],
        vec![
            ("consumer.session.timeout.ms", SET, Some("2000")),
            ("consumer.heartbeat.interval.ms", SET, Some("3000")),
        ],
    ];
    for ops in refused {
        let (code, message) = alter(&mut client, "timed", &ops);
        assert_eq!(
            code,
            ResponseError::InvalidConfig.code(),
            "{ops:?}: {message}"
        );
    }
    assert_eq!(
        described(&mut client, "timed", "consumer.session.timeout.ms").1,
        DEFAULT_CONFIG,
        "nothing refused was stored"
    );

    let (code, message) = alter(
        &mut client,
        "timed",
        &[
            ("consumer.session.timeout.ms", SET, Some("2000")),
            ("consumer.heartbeat.interval.ms", SET, Some("500")),
        ],
    );
    assert_eq!(code, 0, "{message}");
    assert_eq!(
        described(&mut client, "timed", "consumer.session.timeout.ms"),
        ("2000".to_string(), GROUP_CONFIG)
    );

    // A KIP-848 member of the group heartbeats at the group's interval...
    let joined = client
        .call(
            &ConsumerGroupHeartbeatRequest::default()
                .with_group_id(GroupId(s("timed")))
                .with_member_id(s("member-one"))
                .with_member_epoch(0)
                .with_rebalance_timeout_ms(30_000)
                .with_subscribed_topic_names(Some(vec![TopicName(s("anything"))])),
            0,
        )
        .expect("heartbeat");
    assert_eq!(joined.error_code, 0);
    assert_eq!(joined.heartbeat_interval_ms, 500);
    assert_eq!(members(&mut client, "timed"), 1);
    // ...and, silent, is removed at the group's session timeout, well
    // before the broker's own (45 s) would remove it.
    assert!(
        wait_until(Duration::from_secs(30), || members(&mut client, "timed")
            == 0),
        "the silent member is removed at the group's session timeout"
    );

    // DELETE goes back to the broker's setting.
    let (code, message) = alter(
        &mut client,
        "timed",
        &[
            ("consumer.session.timeout.ms", DELETE, None),
            ("consumer.heartbeat.interval.ms", DELETE, None),
        ],
    );
    assert_eq!(code, 0, "{message}");
    assert_eq!(
        described(&mut client, "timed", "consumer.session.timeout.ms"),
        ("45000".to_string(), DEFAULT_CONFIG)
    );
    // An empty group name is no group.
    let (code, _) = alter(
        &mut client,
        "",
        &[("consumer.session.timeout.ms", SET, Some("2000"))],
    );
    assert_eq!(code, ResponseError::InvalidRequest.code());
}

/// Legacy AlterConfigs replaces a group's whole set of overrides.
fn replace(client: &mut RawClient, group: &str, configs: &[(&str, &str)]) -> i16 {
    let configs = configs
        .iter()
        .map(|(k, v)| {
            LegacyConfig::default()
                .with_name(s(k))
                .with_value(Some(s(v)))
        })
        .collect();
    let request = AlterConfigsRequest::default().with_resources(vec![LegacyResource::default()
        .with_resource_type(GROUP)
        .with_resource_name(s(group))
        .with_configs(configs)]);
    client.call(&request, 1).expect("alter configs").responses[0].error_code
}

#[test]
fn group_configs_survive_a_restart() {
    let mut broker = BrokerProcess::start(&[]);
    let mut client = RawClient::connect(broker.port);
    let (code, message) = alter(
        &mut client,
        "kept",
        &[("consumer.session.timeout.ms", SET, Some("50000"))],
    );
    assert_eq!(code, 0, "{message}");
    assert_eq!(
        replace(
            &mut client,
            "kept",
            &[("consumer.heartbeat.interval.ms", "6000")]
        ),
        0
    );
    assert_eq!(
        replace(
            &mut client,
            "kept",
            &[("consumer.heartbeat.interval.ms", "1")]
        ),
        ResponseError::InvalidConfig.code()
    );
    assert_eq!(
        described(&mut client, "kept", "consumer.session.timeout.ms"),
        ("45000".to_string(), DEFAULT_CONFIG),
        "legacy AlterConfigs replaced the whole set"
    );
    assert_eq!(
        alter(
            &mut client,
            "kept",
            &[("consumer.session.timeout.ms", SET, Some("50000"))]
        )
        .0,
        0
    );
    broker.stop();
    broker.restart();
    let mut client = RawClient::connect(broker.port);
    assert_eq!(
        described(&mut client, "kept", "consumer.session.timeout.ms"),
        ("50000".to_string(), GROUP_CONFIG)
    );
}
