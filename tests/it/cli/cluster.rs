//! topic-admin's cluster operations against a cluster the test starts:
//! a balanced plan that brings a new broker into a topic, carried out,
//! verified, listed, cancelled while in progress and refused when wrong;
//! preferred leaders elected back after a broker restart, and the
//! partitions it left under-replicated while it was down.

use crate::harness;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use harness::{run_tool, start_cluster, wait_until, RawClient, ToolOutput};
use kafka_protocol::messages::MetadataRequest;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_topic-admin");

/// Fast fencing and ISR changes; no automatic leader balancing, so that
/// only elect-leaders moves leadership back.
const CLUSTER: &[&str] = &[
    "offsets.topic.num.partitions=3",
    "offsets.topic.replication.factor=1",
    "replica.lag.time.max.ms=2000",
    "broker.session.timeout.ms=2000",
    "broker.heartbeat.interval.ms=300",
    "auto.leader.rebalance.enable=false",
];

fn tool(bootstrap: &str, args: &[&str]) -> ToolOutput {
    run_tool(BIN, bootstrap, args, b"")
}

/// A failure: exit 1 and one line on stderr holding every one of `expected`.
fn fails(out: ToolOutput, expected: &[&str]) {
    assert_eq!(
        out.code,
        Some(1),
        "stdout {:?} stderr {:?}",
        out.stdout,
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1, "{:?}", out.stderr);
    for e in expected {
        assert!(out.stderr.contains(e), "{e:?} not in {:?}", out.stderr);
    }
}

/// One partition as Metadata reports it.
#[derive(Clone, Debug, PartialEq)]
struct Partition {
    leader: i32,
    replicas: Vec<i32>,
    isr: Vec<i32>,
}

/// (broker ids, partitions of `topic`) as the broker on `port` reports them.
fn metadata(port: u16, topic: &str) -> (Vec<i32>, BTreeMap<i32, Partition>) {
    let response = RawClient::connect(port)
        .call(&MetadataRequest::default().with_topics(None), 12)
        .expect("Metadata answered");
    let mut brokers: Vec<i32> = response.brokers.iter().map(|b| b.node_id.0).collect();
    brokers.sort();
    let partitions = response
        .topics
        .iter()
        .filter(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == topic))
        .flat_map(|t| &t.partitions)
        .map(|p| {
            let ids = |v: &[kafka_protocol::messages::BrokerId]| v.iter().map(|b| b.0).collect();
            (
                p.partition_index,
                Partition {
                    leader: p.leader_id.0,
                    replicas: ids(&p.replica_nodes),
                    isr: ids(&p.isr_nodes),
                },
            )
        })
        .collect();
    (brokers, partitions)
}

fn write(dir: &tempfile::TempDir, name: &str, contents: &Value) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, contents.to_string()).expect("write a plan");
    path.display().to_string()
}

fn plan_of(partitions: &[(&str, i32, Vec<i32>)]) -> Value {
    json!({
        "version": 1,
        "partitions": partitions
            .iter()
            .map(|(t, p, r)| json!({"topic": t, "partition": p, "replicas": r}))
            .collect::<Vec<_>>(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_broker_takes_its_share_through_a_generated_plan() {
    let brokers = start_cluster(3, CLUSTER);
    let port = brokers[0].port;
    let bs = brokers[0].bootstrap();
    let dir = tempfile::tempdir().expect("tempdir");
    tool(
        &bs,
        &[
            "create",
            "--topic",
            "moving",
            "--partitions",
            "4",
            "--replication-factor",
            "2",
        ],
    )
    .ok();
    harness::produce_values(&bs, "moving", 0..40, 4).await;
    let mut fourth = harness::add_broker(&brokers, 4);
    assert!(
        wait_until(Duration::from_secs(30), || metadata(port, "moving").0
            == [1, 2, 3, 4]),
        "the fourth broker registers"
    );

    // Mistakes are refused before anything moves.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"version\":1,").unwrap();
    let bad = bad.display().to_string();
    fails(
        tool(
            &bs,
            &["reassign", "--execute", "--reassignment-json-file", &bad],
        ),
        &["bad.json", "not a reassignment plan"],
    );
    let unknown_topic = write(&dir, "nope.json", &plan_of(&[("nope", 0, vec![1, 2])]));
    fails(
        tool(
            &bs,
            &[
                "reassign",
                "--execute",
                "--reassignment-json-file",
                &unknown_topic,
            ],
        ),
        &["no such topic: nope"],
    );
    fails(
        tool(
            &bs,
            &[
                "reassign",
                "--generate",
                "--topics",
                "moving",
                "--broker-list",
                "1,9",
            ],
        ),
        &["no broker 9"],
    );
    fails(
        tool(
            &bs,
            &[
                "reassign",
                "--generate",
                "--topics",
                "moving,nope",
                "--broker-list",
                "1,2",
            ],
        ),
        &["no such topic: nope"],
    );

    // --generate: every broker ends with two replicas and one preferred
    // leader, and only the replicas beyond a broker's share move.
    let (_, before) = metadata(port, "moving");
    let plan_file = dir.path().join("plan.json").display().to_string();
    let generated = tool(
        &bs,
        &[
            "reassign",
            "--generate",
            "--topics",
            "moving",
            "--broker-list",
            "1,2,3,4",
            "--output-file",
            &plan_file,
        ],
    );
    let text = generated.ok();
    assert!(
        text.contains("Current partition replica assignment\n{\"version\":1"),
        "{text}"
    );
    assert!(
        text.contains("Proposed partition reassignment configuration\n"),
        "{text}"
    );
    let plan: Value =
        serde_json::from_str(&std::fs::read_to_string(&plan_file).unwrap()).expect("plan JSON");
    let mut after: BTreeMap<i32, Vec<i32>> = before
        .iter()
        .map(|(p, d)| (*p, d.replicas.clone()))
        .collect();
    for p in plan["partitions"].as_array().unwrap() {
        assert_eq!(p["topic"], "moving");
        let replicas: Vec<i32> = serde_json::from_value(p["replicas"].clone()).unwrap();
        after.insert(p["partition"].as_i64().unwrap() as i32, replicas);
    }
    let count = |ids: &mut dyn Iterator<Item = i32>| {
        let mut counts = BTreeMap::new();
        ids.for_each(|b| *counts.entry(b).or_insert(0) += 1);
        counts
    };
    let replicas = count(&mut after.values().flatten().copied());
    let leaders = count(&mut after.values().map(|r| r[0]));
    assert_eq!(replicas, BTreeMap::from([(1, 2), (2, 2), (3, 2), (4, 2)]));
    assert_eq!(leaders, BTreeMap::from([(1, 1), (2, 1), (3, 1), (4, 1)]));
    let held_before = count(&mut before.values().flat_map(|d| d.replicas.clone()));
    let least_moves: i64 = held_before.values().map(|n| (n - 2).max(0)).sum();
    let as_json: Value = serde_json::from_str(
        tool(
            &bs,
            &[
                "reassign",
                "--generate",
                "--topics",
                "moving",
                "--broker-list",
                "1,2,3,4",
                "--output",
                "json",
            ],
        )
        .ok(),
    )
    .expect("JSON");
    assert_eq!(as_json["proposed"], plan, "the same plan either way");
    assert_eq!(as_json["moved_replicas"], least_moves);
    assert_eq!(as_json["total_replicas"], 8);

    // --execute waits for the moves and reports them; Metadata agrees.
    let executed = tool(
        &bs,
        &[
            "reassign",
            "--execute",
            "--reassignment-json-file",
            &plan_file,
        ],
    );
    let text = executed.ok();
    assert!(
        text.contains("--reassignment-json-file option during rollback"),
        "{text}"
    );
    assert!(text.contains("Reassigned "), "{text}");
    assert!(
        wait_until(Duration::from_secs(10), || {
            let (_, now) = metadata(port, "moving");
            now.iter().all(|(p, d)| d.replicas == after[p])
        }),
        "Metadata shows the planned replicas: {:?}",
        metadata(port, "moving").1
    );
    let verified = tool(
        &bs,
        &[
            "reassign",
            "--verify",
            "--reassignment-json-file",
            &plan_file,
        ],
    );
    // The table, then the throttles --verify clears once all is in place.
    let rows: Vec<&str> = verified
        .ok()
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("Clearing "))
        .collect();
    assert!(
        verified
            .stdout
            .contains("Clearing broker-level throttles on brokers 1,2,3,4\n"),
        "{}",
        verified.stdout
    );
    assert_eq!(rows.len(), plan["partitions"].as_array().unwrap().len());
    assert!(rows.iter().all(|r| r.ends_with("complete")), "{rows:?}");
    assert_eq!(
        tool(&bs, &["reassign", "--list", "--output", "json"])
            .ok()
            .trim(),
        "[]"
    );
    assert_eq!(
        tool(&bs, &["reassign", "--list"]).ok(),
        "No partition reassignments found.\n"
    );

    // Leadership follows the plan's preferred replicas on election, the
    // plan itself naming the partitions.
    tool(
        &bs,
        &[
            "elect-leaders",
            "--election-type",
            "preferred",
            "--path-to-json-file",
            &plan_file,
        ],
    )
    .ok();
    assert!(
        wait_until(Duration::from_secs(10), || metadata(port, "moving")
            .1
            .values()
            .all(|p| p.leader == p.replicas[0])),
        "every partition led by its preferred replica: {:?}",
        metadata(port, "moving").1
    );

    // The plan to roll back to is no longer where things are.
    let rollback = write(&dir, "rollback.json", &as_json["current"]);
    fails(
        tool(
            &bs,
            &[
                "reassign",
                "--verify",
                "--reassignment-json-file",
                &rollback,
            ],
        ),
        &["not in place", "0 still moving"],
    );

    // A broker the cluster does not have: the controller's refusal, named.
    let onto_nine = write(&dir, "nine.json", &plan_of(&[("moving", 0, vec![1, 9])]));
    fails(
        tool(
            &bs,
            &[
                "reassign",
                "--execute",
                "--reassignment-json-file",
                &onto_nine,
            ],
        ),
        &["moving-0", "InvalidReplicaAssignment"],
    );

    // A move onto a broker that cannot catch up stays in progress: listed,
    // verified as such, blocking other moves, and cancelled.
    let (_, now) = metadata(port, "moving");
    let (&partition, off_fourth) = now
        .iter()
        .find(|(_, d)| !d.replicas.contains(&4))
        .expect("a partition without broker 4");
    let onto_fourth: Vec<i32> = std::iter::once(4)
        .chain(off_fourth.replicas[1..].iter().copied())
        .collect();
    let stalled = write(
        &dir,
        "stalled.json",
        &plan_of(&[("moving", partition, onto_fourth)]),
    );
    fourth.pause(true);
    let started = tool(
        &bs,
        &[
            "reassign",
            "--execute",
            "--reassignment-json-file",
            &stalled,
            "--no-wait",
        ],
    );
    assert!(
        started.ok().contains(&format!(
            "Successfully started partition reassignments for moving-{partition}"
        )),
        "{}",
        started.stdout
    );
    let listed: Value =
        serde_json::from_str(tool(&bs, &["reassign", "--list", "--output", "json"]).ok()).unwrap();
    assert_eq!(
        (
            &listed[0]["partition"],
            &listed[0]["adding"],
            &listed[0]["removing"]
        ),
        (
            &json!(partition),
            &json!([4]),
            &json!([off_fourth.replicas[0]])
        ),
        "{listed}"
    );
    // describe shows the move beside the partition, as Kafka's tool does.
    let described: Value = serde_json::from_str(
        tool(&bs, &["describe", "--topic", "moving", "--output", "json"]).ok(),
    )
    .unwrap();
    let shown = described[0]["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["partition"] == json!(partition))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (&shown["adding"], &shown["removing"]),
        (&json!([4]), &json!([off_fourth.replicas[0]])),
        "{described}"
    );
    let table = tool(&bs, &["describe", "--topic", "moving"]);
    let row = table
        .ok()
        .lines()
        .find(|l| {
            l.split_whitespace()
                .take(2)
                .eq(["moving", &partition.to_string()])
        })
        .unwrap_or_default()
        .to_string();
    assert!(
        table.stdout.contains("ADDING") && row.split_whitespace().nth(5) == Some("4"),
        "{}",
        table.stdout
    );
    fails(
        tool(
            &bs,
            &["reassign", "--verify", "--reassignment-json-file", &stalled],
        ),
        &["1 of 1 partitions are not in place: 1 still moving"],
    );
    fails(
        tool(
            &bs,
            &[
                "reassign",
                "--execute",
                "--reassignment-json-file",
                &plan_file,
            ],
        ),
        &["moving already", "--additional"],
    );
    let cancelled = tool(
        &bs,
        &["reassign", "--cancel", "--reassignment-json-file", &stalled],
    );
    assert!(cancelled.ok().contains("cancelled"), "{}", cancelled.stdout);
    fourth.pause(false);
    assert_eq!(
        tool(&bs, &["reassign", "--list", "--output", "json"])
            .ok()
            .trim(),
        "[]"
    );
    let again = tool(
        &bs,
        &["reassign", "--cancel", "--reassignment-json-file", &stalled],
    );
    assert!(again.ok().contains("was not moving"), "{}", again.stdout);
    // As in Kafka, a cancelled move keeps the replicas' order from the
    // merged list, so only the set is back.
    let sorted = |mut v: Vec<i32>| {
        v.sort();
        v
    };
    assert!(
        wait_until(Duration::from_secs(10), || sorted(
            metadata(port, "moving").1[&partition].replicas.clone()
        ) == sorted(
            off_fourth.replicas.clone()
        )),
        "cancelled: back on its replicas"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preferred_leaders_come_back_by_election_after_a_restart() {
    let mut brokers = start_cluster(3, CLUSTER);
    let bootstrap = |brokers: &mut [harness::BrokerProcess]| {
        brokers
            .iter_mut()
            .filter_map(|b| b.is_running().then(|| b.bootstrap()))
            .collect::<Vec<_>>()
            .join(",")
    };
    let bs = bootstrap(&mut brokers);
    tool(
        &bs,
        &[
            "create",
            "--topic",
            "led",
            "--partitions",
            "3",
            "--replication-factor",
            "3",
        ],
    )
    .ok();
    let port = brokers[0].port;
    let in_sync = |port: u16| {
        let (_, partitions) = metadata(port, "led");
        partitions.len() == 3 && partitions.values().all(|p| p.isr.len() == 3)
    };
    assert!(
        wait_until(Duration::from_secs(15), || in_sync(port)),
        "replicas in sync"
    );

    // Mistakes first: one line each.
    fails(
        tool(
            &bs,
            &[
                "elect-leaders",
                "--election-type",
                "preferred",
                "--topic",
                "nope",
            ],
        ),
        &["no such topic: nope"],
    );
    fails(
        tool(
            &bs,
            &[
                "elect-leaders",
                "--election-type",
                "preferred",
                "--topic",
                "led",
                "--partition",
                "7",
            ],
        ),
        &["topic 'led' has no partition 7"],
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = write(&dir, "bad.json", &json!({"partitions": [{"topic": "led"}]}));
    fails(
        tool(
            &bs,
            &[
                "elect-leaders",
                "--election-type",
                "preferred",
                "--path-to-json-file",
                &bad,
            ],
        ),
        &["bad.json", "missing field `partition`"],
    );

    // The preferred leader of partition 0 dies: its partitions are
    // under-replicated, though none is unavailable.
    let (_, partitions) = metadata(port, "led");
    let victim = partitions[&0].replicas[0];
    assert_eq!(partitions[&0].leader, victim);
    brokers[(victim - 1) as usize].kill9();
    let bs = bootstrap(&mut brokers);
    let under_replicated = || -> Vec<Value> {
        let out = tool(
            &bs,
            &[
                "describe",
                "--topic",
                "led",
                "--under-replicated-partitions",
                "--output",
                "json",
            ],
        );
        let described: Value = serde_json::from_str(out.ok()).expect("JSON");
        described[0]["partitions"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    assert!(
        wait_until(Duration::from_secs(20), || under_replicated().len() == 3),
        "every partition is under-replicated: {:?}",
        under_replicated()
    );
    assert!(under_replicated()
        .iter()
        .all(|p| p["isr"].as_array().unwrap().len() == 2 && p["leader"] != json!(victim)));
    let table = tool(&bs, &["describe", "--under-replicated-partitions"]);
    assert_eq!(
        table.ok().lines().filter(|l| l.starts_with("led ")).count(),
        3,
        "{}",
        table.stdout
    );
    assert_eq!(
        tool(&bs, &["describe", "--unavailable-partitions"])
            .ok()
            .trim(),
        ""
    );

    // Back and in sync, it leads nothing until elected.
    brokers[(victim - 1) as usize].restart();
    let port = brokers[(victim - 1) as usize].port;
    assert!(
        wait_until(Duration::from_secs(30), || in_sync(port)),
        "the broker rejoins the ISR"
    );
    let (_, partitions) = metadata(port, "led");
    assert_ne!(
        partitions[&0].leader, victim,
        "leadership stays where failover put it"
    );
    let bs = bootstrap(&mut brokers);
    let elected = tool(
        &bs,
        &[
            "elect-leaders",
            "--election-type",
            "preferred",
            "--all-topic-partitions",
        ],
    );
    let text = elected.ok();
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["led", "0", "elected"]),
        "{text}"
    );
    assert!(
        wait_until(Duration::from_secs(10), || metadata(port, "led")
            .1
            .values()
            .all(|p| p.leader == p.replicas[0])),
        "every partition led by its preferred replica: {:?}",
        metadata(port, "led").1
    );
    let not_needed = tool(
        &bs,
        &[
            "elect-leaders",
            "--election-type",
            "PREFERRED",
            "--topic",
            "led",
            "--partition",
            "0",
            "--output",
            "json",
        ],
    );
    assert_eq!(
        serde_json::from_str::<Value>(not_needed.ok()).unwrap(),
        json!([{"topic": "led", "partition": 0, "result": "not_needed"}])
    );
    assert_eq!(
        tool(&bs, &["describe", "--under-replicated-partitions"])
            .ok()
            .trim(),
        ""
    );
}

/// The dynamic configs of a resource (2 a topic, 4 a broker) named in
/// `keys`, as the broker on `port` describes them: value and source.
fn described(
    port: u16,
    resource_type: i8,
    name: &str,
    keys: &[&str],
) -> BTreeMap<String, (String, i8)> {
    use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
    use kafka_protocol::messages::DescribeConfigsRequest;
    use kafka_protocol::protocol::StrBytes;
    let request =
        DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(resource_type)
            .with_resource_name(StrBytes::from_string(name.to_string()))
            .with_configuration_keys(Some(
                keys.iter()
                    .map(|k| StrBytes::from_string(k.to_string()))
                    .collect(),
            ))]);
    let response = RawClient::connect(port)
        .call(&request, 4)
        .expect("DescribeConfigs answered");
    let result = &response.results[0];
    assert_eq!(result.error_code, 0, "{:?}", result.error_message);
    result
        .configs
        .iter()
        .map(|c| {
            (
                c.name.to_string(),
                (
                    c.value.as_ref().map(|v| v.to_string()).unwrap_or_default(),
                    c.config_source,
                ),
            )
        })
        .collect()
}

/// DescribeConfigs' sources.
const DYNAMIC_TOPIC: i8 = 1;
const DYNAMIC_BROKER: i8 = 2;
const DEFAULT: i8 = 5;

/// A reassignment throttled to `RATE` bytes per second takes at least the
/// time that rate allows for the bytes moved, where the same move
/// unthrottled does not; the data arrives intact; --verify clears the
/// throttles (and keeps them with --preserve-throttles).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_reassignment_moves_at_the_rate_and_verify_clears_it() {
    use rdkafka::producer::FutureRecord;
    // Samples of one second, two of them, so that the rate is measured
    // over at most two seconds; fetches of at most CHUNK bytes.
    const CHUNK: usize = 65_536;
    const RATE: usize = 512 * 1024;
    const RECORDS: usize = 512;
    const RECORD: usize = 8 * 1024;
    let mut overrides = CLUSTER.to_vec();
    let fetch_max = format!("replica.fetch.max.bytes={CHUNK}");
    overrides.extend([
        "replication.quota.window.num=2",
        "replication.quota.window.size.seconds=1",
        fetch_max.as_str(),
    ]);
    let metrics_ports = [harness::free_port(), harness::free_port()];
    let metrics: Vec<String> = metrics_ports
        .iter()
        .map(|p| format!("metrics.listener=http://127.0.0.1:{p}"))
        .collect();
    let brokers = harness::start_cluster_per_node(
        2,
        &overrides,
        &[&[metrics[0].as_str()], &[metrics[1].as_str()]],
    );
    let port_of = |id: i32| brokers[(id - 1) as usize].port;
    let bs = brokers[0].bootstrap();
    let dir = tempfile::tempdir().expect("tempdir");
    let payload = |topic: &str, i: usize| -> Vec<u8> {
        format!("{topic}-{i}-")
            .bytes()
            .cycle()
            .take(RECORD)
            .collect()
    };
    // Batches well under CHUNK, so no fetch returns more than CHUNK.
    let producer = harness::producer(&bs, &[("batch.size", "32768"), ("linger.ms", "20")]);
    let mut plans = BTreeMap::new();
    for topic in ["fast", "slow"] {
        tool(
            &bs,
            &[
                "create",
                "--topic",
                topic,
                "--partitions",
                "1",
                "--replication-factor",
                "1",
            ],
        )
        .ok();
        let mut sends = Vec::new();
        for i in 0..RECORDS {
            let value = payload(topic, i);
            let record = FutureRecord::<(), _>::to(topic)
                .partition(0)
                .payload(&value);
            sends.push(
                producer
                    .send_result(record)
                    .unwrap_or_else(|(e, _)| panic!("enqueue: {e}")),
            );
        }
        for s in sends {
            s.await.expect("delivery").expect("delivered");
        }
        let from = metadata(brokers[0].port, topic).1[&0].replicas[0];
        let to = 3 - from;
        let plan = write(
            &dir,
            &format!("{topic}.json"),
            &plan_of(&[(topic, 0, vec![to])]),
        );
        plans.insert(topic, (plan, from, to));
    }
    let elapsed = |out: ToolOutput| -> f64 {
        let v: Value = serde_json::from_str(out.ok()).expect("JSON");
        v["elapsed_secs"].as_f64().expect("elapsed_secs")
    };
    let execute = |plan: &str, throttle: Option<&str>| {
        let mut args = vec![
            "reassign",
            "--execute",
            "--reassignment-json-file",
            plan,
            "--output",
            "json",
        ];
        if let Some(rate) = throttle {
            args.extend(["--throttle", rate]);
        }
        tool(&bs, &args)
    };
    let unthrottled = elapsed(execute(&plans["fast"].0, None));
    let rate = RATE.to_string();
    let (slow_plan, from, to) = plans["slow"].clone();
    // The source's leader and the destination's follower byte rates,
    // scraped while the throttled move runs: their highest.
    let moving = Arc::new(AtomicBool::new(true));
    let watcher = {
        let moving = moving.clone();
        let (leader, follower) = (
            metrics_ports[(from - 1) as usize],
            metrics_ports[(to - 1) as usize],
        );
        std::thread::spawn(move || {
            let read = |port, name| {
                harness::scrape::sample(&harness::scrape::scrape(port), name, &[])
                    .unwrap_or_else(|| panic!("{name} scraped"))
            };
            let mut highest = (0f64, 0f64);
            while moving.load(Ordering::Relaxed) {
                highest.0 = highest
                    .0
                    .max(read(leader, "kafka_server_leaderreplication_byte_rate"));
                highest.1 = highest
                    .1
                    .max(read(follower, "kafka_server_followerreplication_byte_rate"));
                std::thread::sleep(Duration::from_millis(200));
            }
            highest
        })
    };
    let throttled = elapsed(execute(&slow_plan, Some(&rate)));
    moving.store(false, Ordering::Relaxed);
    let (leader_rate, follower_rate) = watcher.join().expect("the scraper");
    // What the samples keep is at most two seconds' worth and one fetch,
    // over at least a second.
    let most = (2 * RATE + CHUNK) as f64;
    assert!(
        leader_rate > 0.0 && leader_rate <= most,
        "leader byte rate {leader_rate}"
    );
    assert!(
        follower_rate > 0.0 && follower_rate <= most,
        "follower byte rate {follower_rate}"
    );
    // Each fetch goes ahead only while the bytes of the samples kept (the
    // last two seconds at most) are within RATE over their span, so any
    // one second moves at most 2 * RATE + CHUNK bytes.
    let bytes = (RECORDS * RECORD) as f64;
    let bound = bytes / (2 * RATE + CHUNK) as f64 - 1.0;
    assert!(
        throttled >= bound,
        "{bytes} bytes at {RATE} B/s moved in {throttled:.2} s, under the {bound:.2} s the rate allows"
    );
    assert!(
        throttled > unthrottled,
        "throttled {throttled:.2} s, unthrottled {unthrottled:.2} s"
    );
    assert_eq!(metadata(brokers[0].port, "slow").1[&0].replicas, [to]);

    // The throttles as Kafka's tool sets them, still in place.
    let replicas = [
        "leader.replication.throttled.replicas",
        "follower.replication.throttled.replicas",
    ];
    let rates = [
        "leader.replication.throttled.rate",
        "follower.replication.throttled.rate",
    ];
    let topic_configs = || described(brokers[0].port, 2, "slow", &replicas);
    assert_eq!(
        topic_configs(),
        BTreeMap::from([
            (
                replicas[0].to_string(),
                (format!("0:{from}"), DYNAMIC_TOPIC)
            ),
            (replicas[1].to_string(), (format!("0:{to}"), DYNAMIC_TOPIC)),
        ])
    );
    for id in [1, 2] {
        let set = described(port_of(id), 4, &id.to_string(), &rates);
        assert!(
            set.values().all(|v| *v == (rate.clone(), DYNAMIC_BROKER)),
            "broker {id}: {set:?}"
        );
    }
    // A malformed list is INVALID_CONFIG naming the key.
    {
        use kafka_protocol::messages::incremental_alter_configs_request::{
            AlterConfigsResource, AlterableConfig,
        };
        use kafka_protocol::messages::IncrementalAlterConfigsRequest;
        use kafka_protocol::protocol::StrBytes;
        let request = IncrementalAlterConfigsRequest::default().with_resources(vec![
            AlterConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(StrBytes::from_static_str("slow"))
                .with_configs(vec![AlterableConfig::default()
                    .with_name(StrBytes::from_static_str(replicas[1]))
                    .with_config_operation(0)
                    .with_value(Some(StrBytes::from_static_str("0-2")))]),
        ]);
        let response = RawClient::connect(brokers[0].port)
            .call(&request, 1)
            .expect("IncrementalAlterConfigs answered");
        let refused = &response.responses[0];
        assert_eq!(refused.error_code, 40, "INVALID_CONFIG");
        let message = refused.error_message.as_deref().unwrap_or_default();
        assert!(message.contains(replicas[1]), "{message}");
    }

    // --verify --preserve-throttles keeps them; --verify clears them.
    tool(
        &bs,
        &[
            "reassign",
            "--verify",
            "--preserve-throttles",
            "--reassignment-json-file",
            &slow_plan,
        ],
    )
    .ok();
    assert_eq!(topic_configs()[replicas[0]].1, DYNAMIC_TOPIC);
    let verified = tool(
        &bs,
        &[
            "reassign",
            "--verify",
            "--reassignment-json-file",
            &slow_plan,
        ],
    );
    assert!(
        verified.ok().contains(
            "Clearing broker-level throttles on brokers 1,2\nClearing topic-level throttles on topic(s) slow\n"
        ),
        "{}",
        verified.stdout
    );
    assert!(
        topic_configs()
            .values()
            .all(|v| *v == (String::new(), DEFAULT)),
        "{:?}",
        topic_configs()
    );
    for id in [1, 2] {
        let set = described(port_of(id), 4, &id.to_string(), &rates);
        assert!(
            set.values().all(|v| *v == (i64::MAX.to_string(), DEFAULT)),
            "broker {id}: {set:?}"
        );
    }

    // Every record arrived, as written.
    let read = harness::consume(&bs, "slow", 0, 0, RECORDS, Duration::from_secs(30));
    assert_eq!(read.len(), RECORDS);
    for (i, r) in read.iter().enumerate() {
        assert_eq!(
            r.value.as_deref(),
            Some(payload("slow", i).as_slice()),
            "record {i}"
        );
    }
}
