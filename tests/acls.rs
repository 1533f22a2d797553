//! Authorisation end to end: ACLs created, described and deleted with
//! Kafka's filters through the metadata quorum, and every API refusing what
//! the ACLs do not allow, with Kafka's error codes.
//!
//! Until SASL or mTLS principals exist every client is User:ANONYMOUS, so
//! most brokers here run with `allow.everyone.if.no.acl.found=true` (a
//! resource no ACL names is open) and ACLs then close what a test needs
//! closed.

mod common;

use std::time::Duration;

use common::{BrokerProcess, RawClient};
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

#[test]
fn acls_survive_a_restart_and_are_the_same_on_every_broker() {
    let mut cluster = common::start_cluster(3, &[STANDARD_AUTHORIZER, OPEN_BY_DEFAULT]);
    let acls = [
        (TOPIC, "a", LITERAL, "User:ANONYMOUS", READ, DENY),
        (TOPIC, "pay", PREFIXED, "User:bob", WRITE, ALLOW),
    ];
    add_acls(cluster[1].port, &acls);
    for broker in &cluster {
        assert!(
            common::wait_until(Duration::from_secs(10), || described(
                broker.port,
                &EVERY_ACL
            ) == owned(&acls)),
            "broker on port {} does not show the ACLs",
            broker.port
        );
    }
    for broker in cluster.iter_mut() {
        broker.stop();
    }
    common::restart_cluster(&mut cluster);
    for broker in &cluster {
        assert_eq!(described(broker.port, &EVERY_ACL), owned(&acls));
    }
}
