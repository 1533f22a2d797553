//! metadata-quorum against a cluster the test starts: three voters and a
//! broker-only observer, described from any broker (each asks the
//! quorum's leader) as kafka-metadata-quorum.sh shows them; DescribeQuorum
//! for another partition is refused with Kafka's code. A voter is then
//! replaced without downtime (AddRaftVoter for the observer,
//! RemoveRaftVoter for a voter, with Kafka's errors for bad requests), and
//! the new quorum elects a leader in a later epoch when the old leader
//! stops. Admin clients reach the controllers on their own listener
//! (KIP-919).

use crate::harness;

use std::time::Duration;

use harness::{add_broker, run_tool, start_cluster, wait_until, RawClient, ToolOutput};
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::describe_quorum_request::{PartitionData, TopicData};
use kafka_protocol::messages::{
    AddRaftVoterRequest, ApiKey, ApiVersionsRequest, CreateTopicsRequest, DescribeClusterRequest,
    DescribeQuorumRequest, MetadataRequest, RemoveRaftVoterRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_metadata-quorum");

const INVALID_REQUEST: i16 = 42;
const INCONSISTENT_CLUSTER_ID: i16 = 104;
const DUPLICATE_VOTER: i16 = 126;
const VOTER_NOT_FOUND: i16 = 127;
const MISMATCHED_ENDPOINT_TYPE: i16 = 114;

const CLUSTER: &[&str] = &[
    "offsets.topic.num.partitions=1",
    "offsets.topic.replication.factor=1",
    "broker.session.timeout.ms=2000",
    "broker.heartbeat.interval.ms=300",
];

fn tool(bootstrap: &str, args: &[&str]) -> ToolOutput {
    run_tool(BIN, bootstrap, args, b"")
}

fn json(bootstrap: &str, args: &[&str]) -> Value {
    let out = tool(bootstrap, args);
    serde_json::from_str(out.ok()).expect("JSON output")
}

fn ids(v: &Value) -> Vec<i64> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x["id"].as_i64().or(x.as_i64()).expect("an id"))
        .collect()
}

#[test]
fn describes_leader_voters_observers_and_lag_from_any_broker() {
    let mut brokers = start_cluster(3, CLUSTER);
    let mut observer = add_broker(&brokers, 4);
    let status = ["describe", "--status", "--output", "json"];
    let replication = ["describe", "--replication", "--output", "json"];

    // Every broker answers with the same leader; the observer shows once
    // it receives the log, and every replica catches up.
    let mut last = Value::Null;
    let settled = wait_until(Duration::from_secs(15), || {
        let answers: Vec<Value> = brokers
            .iter()
            .chain([&observer])
            .map(|b| json(&b.bootstrap(), &status))
            .collect();
        last = answers[0].clone();
        let replicas = json(&observer.bootstrap(), &replication);
        answers.iter().all(|a| a["leader_id"] == last["leader_id"])
            && last["current_observers"] == serde_json::json!([4])
            && replicas
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["lag"] == 0 && r["last_caught_up_timestamp"].as_i64() > Some(0))
    });
    assert!(settled, "quorum never settled: {last}");
    let leader = last["leader_id"].as_i64().unwrap();
    assert!((1..=3).contains(&leader));
    assert!(last["leader_epoch"].as_i64() >= Some(1));
    assert!(last["high_watermark"].as_i64() > Some(0));
    assert_eq!(last["max_follower_lag"], 0);
    assert!(!last["cluster_id"].as_str().unwrap().is_empty());
    assert_eq!(ids(&last["current_voters"]), [1, 2, 3]);
    for voter in last["current_voters"].as_array().unwrap() {
        let endpoint = voter["endpoints"][0].as_str().unwrap();
        assert!(
            endpoint.starts_with("CONTROLLER://127.0.0.1:"),
            "{endpoint}"
        );
    }

    // Kafka's layout: the leader first, then followers and observers.
    let table = tool(&brokers[0].bootstrap(), &["describe", "--replication"]);
    let lines: Vec<&str> = table.ok().lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        [
            "NodeId",
            "LogEndOffset",
            "Lag",
            "LastFetchTimestamp",
            "LastCaughtUpTimestamp",
            "Status"
        ]
    );
    assert_eq!(lines.len(), 5, "{lines:?}");
    assert!(lines[1].starts_with(&leader.to_string()) && lines[1].ends_with("Leader"));
    assert!(lines[4].starts_with('4') && lines[4].ends_with("Observer"));
    let human = tool(
        &brokers[0].bootstrap(),
        &["describe", "--replication", "--human-readable"],
    );
    assert!(human.ok().contains(" ms ago"), "{}", human.stdout);
    let table = tool(&brokers[0].bootstrap(), &["describe", "--status"]);
    assert!(
        table
            .ok()
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["LeaderId:", &leader.to_string()]),
        "{}",
        table.stdout
    );

    // Only __cluster_metadata-0 is described.
    let wrong = DescribeQuorumRequest::default().with_topics(vec![TopicData::default()
        .with_topic_name(TopicName(StrBytes::from_static_str("other")))
        .with_partitions(vec![PartitionData::default()])]);
    for version in 0..=2 {
        let answer = RawClient::connect(brokers[0].port)
            .call(&wrong, version)
            .expect("DescribeQuorum answered");
        assert_eq!(answer.error_code, 3, "v{version}");
    }

    // KIP-853: a voter is replaced without downtime. The observer becomes
    // a voter, a follower voter is removed (and stopped), and the quorum
    // then survives losing its leader too.
    let cluster_id = last["cluster_id"].as_str().unwrap().to_string();
    let old = (1..=3).find(|id| *id != leader).unwrap();
    let survivor_id = (1..=3).find(|id| *id != leader && *id != old).unwrap();
    let port = brokers[survivor_id as usize - 1].port;
    let add = |id: i32, cluster: Option<&str>| {
        let request = AddRaftVoterRequest::default()
            .with_cluster_id(cluster.map(|c| StrBytes::from_string(c.to_string())))
            .with_voter_id(id)
            .with_timeout_ms(10_000);
        RawClient::connect(port)
            .call(&request, 0)
            .expect("AddRaftVoter answered")
            .error_code
    };
    let remove = |id: i32| {
        let request = RemoveRaftVoterRequest::default().with_voter_id(id);
        RawClient::connect(port)
            .call(&request, 0)
            .expect("RemoveRaftVoter answered")
            .error_code
    };
    assert_eq!(add(4, Some("another-cluster")), INCONSISTENT_CLUSTER_ID);
    assert_eq!(add(99, None), INVALID_REQUEST);
    assert_eq!(remove(99), VOTER_NOT_FOUND);
    assert_eq!(add(4, Some(&cluster_id)), 0);
    assert_eq!(add(4, None), DUPLICATE_VOTER);
    let survivor = brokers[survivor_id as usize - 1].bootstrap();
    let old_id = old.to_string();
    let removed = tool(
        &survivor,
        &["remove-controller", "--controller-id", &old_id],
    );
    assert_eq!(
        removed.ok().trim(),
        format!("Removed controller {old} from the quorum.")
    );
    assert_eq!(remove(old as i32), VOTER_NOT_FOUND);
    for (command, id, error) in [
        ("remove-controller", old_id.as_str(), "VoterNotFound"),
        ("add-controller", "77", "InvalidRequest"),
    ] {
        let refused = tool(&survivor, &[command, "--controller-id", id]);
        assert_eq!(refused.code, Some(1), "{}", refused.stdout);
        assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);
        assert!(refused.stderr.contains(error), "{}", refused.stderr);
    }
    let mut voters = vec![leader, survivor_id, 4];
    voters.sort_unstable();
    let status_now = json(&survivor, &status);
    assert_eq!(ids(&status_now["current_voters"]), voters);
    assert_eq!(ids(&status_now["current_observers"]), [old]);
    brokers[old as usize - 1].stop();

    // Without its leader the quorum of the survivor and the new voter
    // elects one of them, in a later epoch, and takes metadata changes.
    let epoch = status_now["leader_epoch"].as_i64().unwrap();
    brokers[leader as usize - 1].stop();
    let moved = wait_until(Duration::from_secs(15), || {
        let out = tool(&survivor, &status);
        if out.code != Some(0) {
            return false;
        }
        last = serde_json::from_str(&out.stdout).unwrap();
        [Some(survivor_id), Some(4)].contains(&last["leader_id"].as_i64())
            && last["leader_epoch"].as_i64() > Some(epoch)
    });
    assert!(moved, "no new leader: {last}");
    let created = RawClient::connect(port)
        .call(
            &CreateTopicsRequest::default()
                .with_timeout_ms(10_000)
                .with_topics(vec![CreatableTopic::default()
                    .with_name(TopicName(StrBytes::from_static_str("after-replacement")))
                    .with_num_partitions(1)
                    .with_replication_factor(1)]),
            5,
        )
        .expect("CreateTopics answered");
    assert_eq!(created.topics[0].error_code, 0);

    // The new voter comes back as a voter after a restart.
    observer.stop();
    observer.restart();
    let back = wait_until(Duration::from_secs(15), || {
        let out = tool(&observer.bootstrap(), &status);
        if out.code != Some(0) {
            return false;
        }
        last = serde_json::from_str(&out.stdout).unwrap();
        ids(&last["current_voters"]) == voters
    });
    assert!(back, "node 4 is not a voter after its restart: {last}");

    // A command line missing its view is a usage error.
    let usage = tool(&survivor, &["describe"]);
    assert_eq!(usage.code, Some(2));
    assert_eq!(usage.stderr.lines().count(), 1, "{}", usage.stderr);
}

/// KIP-919: an admin client on a CONTROLLER listener is served the
/// controller's APIs (ApiVersions lists only those), DescribeCluster names
/// the voters at their CONTROLLER addresses and the quorum's leader, and a
/// broker API closes the connection, as Kafka's controller does. The
/// quorum's own traffic on the same listener goes on.
#[test]
fn admin_clients_reach_the_controllers_on_their_listener() {
    let brokers = start_cluster(3, CLUSTER);
    let controller_ports: Vec<u16> = brokers.iter().map(|b| b.controller_port()).collect();
    let mut admin = RawClient::connect(controller_ports[1]);

    let versions = admin
        .call(
            &ApiVersionsRequest::default()
                .with_client_software_name(StrBytes::from_static_str("test"))
                .with_client_software_version(StrBytes::from_static_str("1")),
            3,
        )
        .expect("ApiVersions answered on the CONTROLLER listener");
    assert_eq!(versions.error_code, 0);
    let keys: Vec<i16> = versions.api_keys.iter().map(|k| k.api_key).collect();
    for served in [
        ApiKey::DescribeCluster,
        ApiKey::DescribeQuorum,
        ApiKey::IncrementalAlterConfigs,
    ] {
        assert!(keys.contains(&(served as i16)), "{served:?} in {keys:?}");
    }
    for broker_only in [
        ApiKey::Produce,
        ApiKey::Fetch,
        ApiKey::Metadata,
        ApiKey::FindCoordinator,
    ] {
        assert!(
            !keys.contains(&(broker_only as i16)),
            "{broker_only:?} in {keys:?}"
        );
    }

    // The voters at their CONTROLLER addresses; the controller is the
    // quorum's leader, as DescribeQuorum names it.
    let mut cluster = None;
    let led = wait_until(Duration::from_secs(15), || {
        let answer = admin
            .call(&DescribeClusterRequest::default().with_endpoint_type(2), 1)
            .expect("DescribeCluster answered");
        let ok = answer.controller_id.0 > 0;
        cluster = Some(answer);
        ok
    });
    let cluster = cluster.unwrap();
    assert!(led, "no controller named: {cluster:?}");
    assert_eq!(cluster.error_code, 0);
    assert_eq!(cluster.endpoint_type, 2);
    let mut voters: Vec<(i32, i32)> = cluster
        .brokers
        .iter()
        .map(|b| (b.broker_id.0, b.port))
        .collect();
    voters.sort();
    let expected: Vec<(i32, i32)> = controller_ports
        .iter()
        .enumerate()
        .map(|(i, p)| (i as i32 + 1, i32::from(*p)))
        .collect();
    assert_eq!(voters, expected);
    let quorum = admin
        .call(
            &DescribeQuorumRequest::default().with_topics(vec![TopicData::default()
                .with_topic_name(TopicName(StrBytes::from_static_str("__cluster_metadata")))
                .with_partitions(vec![PartitionData::default()])]),
            2,
        )
        .expect("DescribeQuorum answered on the CONTROLLER listener");
    assert_eq!(
        quorum.topics[0].partitions[0].leader_id.0,
        cluster.controller_id.0
    );

    // Broker endpoints asked of a controller, and the other way round.
    let mismatched = admin
        .call(&DescribeClusterRequest::default().with_endpoint_type(1), 1)
        .expect("DescribeCluster answered");
    assert_eq!(mismatched.error_code, MISMATCHED_ENDPOINT_TYPE);
    let at_broker = RawClient::connect(brokers[0].port)
        .call(&DescribeClusterRequest::default().with_endpoint_type(2), 1)
        .expect("DescribeCluster answered");
    assert_eq!(at_broker.error_code, MISMATCHED_ENDPOINT_TYPE);

    // A broker API closes the connection.
    assert!(admin.call(&MetadataRequest::default(), 12).is_none());

    // metadata-quorum --bootstrap-controller, as kafka-metadata-quorum.sh.
    let controller = format!("127.0.0.1:{}", controller_ports[0]);
    let status = json(
        "",
        &[
            "--bootstrap-controller",
            &controller,
            "describe",
            "--status",
            "--output",
            "json",
        ],
    );
    assert_eq!(status["leader_id"], i64::from(cluster.controller_id.0));
    assert_eq!(ids(&status["current_voters"]), [1, 2, 3]);
    assert!(!status["cluster_id"].as_str().unwrap().is_empty());
    let both = tool(
        &brokers[0].bootstrap(),
        &[
            "--bootstrap-server",
            &brokers[1].bootstrap(),
            "--bootstrap-controller",
            &controller,
            "describe",
            "--status",
        ],
    );
    assert_eq!(both.code, Some(2), "{}", both.stderr);
    assert!(both.stderr.contains("not both"), "{}", both.stderr);

    // The quorum still serves: a topic created now reaches every broker.
    let created = RawClient::connect(brokers[2].port)
        .call(
            &CreateTopicsRequest::default()
                .with_topics(vec![CreatableTopic::default()
                    .with_name(TopicName(StrBytes::from_static_str("after-admin")))
                    .with_num_partitions(1)
                    .with_replication_factor(3)])
                .with_timeout_ms(10_000),
            7,
        )
        .expect("CreateTopics answered");
    assert_eq!(created.topics[0].error_code, 0, "{created:?}");
}
