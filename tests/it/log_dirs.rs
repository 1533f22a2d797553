//! Several `log.dirs` (Kafka's JBOD): new replicas go to the directory
//! with the fewest partitions, each directory keeps its own checkpoints,
//! DescribeLogDirs and `topic-admin describe --log-dirs` list every
//! directory with the partitions in it, and a restart finds each partition
//! in the directory it was placed in. Each directory has Kafka's
//! meta.properties with its own `directory.id`; one another cluster wrote
//! is refused, and so is a broker registering an id another broker
//! registered. AlterReplicaLogDirs moves a replica to another of the
//! broker's directories.

use crate::harness;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use harness::{
    create_topic, log_end, produce_values, read_from_start, run_tool, wait_until, BrokerProcess,
    RawClient,
};
use kafka_protocol::messages::alter_replica_log_dirs_request::{
    AlterReplicaLogDir, AlterReplicaLogDirTopic,
};
use kafka_protocol::messages::{AlterReplicaLogDirsRequest, DescribeLogDirsRequest, TopicName};
use kafka_protocol::protocol::StrBytes;

const TOPIC_ADMIN: &str = env!("CARGO_BIN_EXE_topic-admin");

/// Partition (`topic-N`) -> the log dir holding its directory, for the
/// partitions of `topics`; panics on one found in both.
fn on_disk(dirs: &[PathBuf], topics: &[&str]) -> BTreeMap<String, PathBuf> {
    holding(dirs, topics)
        .into_iter()
        .map(|(name, mut held_in)| {
            assert_eq!(held_in.len(), 1, "{name} in two log dirs");
            (name, held_in.remove(0))
        })
        .collect()
}

/// Partition (`topic-N`) -> every log dir holding a directory of it: two
/// for a moment while a move renames the new copy in before the old one
/// out, as Kafka's does.
fn holding(dirs: &[PathBuf], topics: &[&str]) -> BTreeMap<String, Vec<PathBuf>> {
    let mut found: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for dir in dirs {
        for entry in std::fs::read_dir(dir).expect("log dir listed") {
            let name = entry.unwrap().file_name().to_string_lossy().to_string();
            let is_ours = name
                .rsplit_once('-')
                .is_some_and(|(t, i)| topics.contains(&t) && i.parse::<i32>().is_ok());
            if is_ours {
                found.entry(name).or_default().push(dir.clone());
            }
        }
    }
    found
}

/// Partition -> the log dir of its current replica as DescribeLogDirs
/// reports them, and each dir's total bytes.
fn described(port: u16) -> (BTreeMap<String, PathBuf>, BTreeMap<PathBuf, i64>) {
    let response = RawClient::connect(port)
        .call(&DescribeLogDirsRequest::default().with_topics(None), 4)
        .expect("DescribeLogDirs answered");
    let mut partitions = BTreeMap::new();
    let mut totals = BTreeMap::new();
    for result in &response.results {
        assert_eq!(result.error_code, 0);
        let dir = PathBuf::from(result.log_dir.as_str());
        totals.insert(dir.clone(), result.total_bytes);
        for t in &result.topics {
            // A future replica is a copy on its way in, not the replica yet.
            for p in t.partitions.iter().filter(|p| !p.is_future_key) {
                partitions.insert(format!("{}-{}", t.name.0, p.partition_index), dir.clone());
            }
        }
    }
    (partitions, totals)
}

/// The keys and values of `dir`'s meta.properties.
fn meta_properties(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(dir.join("meta.properties"))
        .expect("each log dir has meta.properties")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn canonical(dirs: &[PathBuf]) -> Vec<PathBuf> {
    dirs.iter()
        .map(|d| std::fs::canonicalize(d).expect("log dir exists"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_spread_over_the_log_dirs_and_stay_in_theirs_across_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = vec![tmp.path().join("disk-a"), tmp.path().join("disk-b")];
    let list = format!("log.dirs={},{}", dirs[0].display(), dirs[1].display());
    // Each dir's checkpoint is written by the periodic pass.
    let mut broker = BrokerProcess::start(&[&list, "log.flush.offset.checkpoint.interval.ms=200"]);
    let bs = broker.bootstrap();
    create_topic(&bs, "spread", 4, &[]).await;
    create_topic(&bs, "other", 3, &[]).await;
    produce_values(&bs, "spread", 0..40, 4).await;
    produce_values(&bs, "other", 0..30, 3).await;

    let placed = on_disk(&dirs, &["spread", "other"]);
    assert_eq!(placed.len(), 7, "{placed:?}");
    let in_first = placed.values().filter(|d| **d == dirs[0]).count();
    assert!(
        in_first == 3 || in_first == 4,
        "the fewest-partitions rule spreads 7 partitions 4/3: {placed:?}"
    );
    assert!(dirs[0].join("__cluster_metadata-0").is_dir());
    assert!(!dirs[1].join("__cluster_metadata-0").exists());
    for dir in &dirs {
        let file = dir.join("recovery-point-offset-checkpoint");
        let holds_its_own = |checkpoint: &str| {
            placed.iter().all(|(partition, at)| {
                let (topic, index) = partition.rsplit_once('-').unwrap();
                checkpoint.contains(&format!("\n{topic} {index} ")) == (at == dir)
            })
        };
        assert!(
            wait_until(Duration::from_secs(20), || std::fs::read_to_string(&file)
                .is_ok_and(|c| holds_its_own(&c))),
            "{} holds exactly its own partitions of {placed:?}: {:?}",
            file.display(),
            std::fs::read_to_string(&file)
        );
    }

    let canonical_dirs = canonical(&dirs);
    let expected: BTreeMap<String, PathBuf> = placed
        .iter()
        .map(|(p, d)| (p.clone(), std::fs::canonicalize(d).unwrap()))
        .collect();
    let (reported, totals) = described(broker.port);
    assert_eq!(totals.keys().cloned().collect::<Vec<_>>(), {
        let mut sorted = canonical_dirs.clone();
        sorted.sort();
        sorted
    });
    assert!(totals.values().all(|t| *t > 0), "{totals:?}");
    let ours: BTreeMap<String, PathBuf> = reported
        .into_iter()
        .filter(|(p, _)| expected.contains_key(p))
        .collect();
    assert_eq!(ours, expected);

    let out = run_tool(
        TOPIC_ADMIN,
        &bs,
        &[
            "describe",
            "--log-dirs",
            "--topic",
            "spread",
            "--output",
            "json",
        ],
        b"",
    );
    let json: serde_json::Value = serde_json::from_str(out.ok()).expect("json");
    let listed = json["brokers"][0]["logDirs"].as_array().expect("logDirs");
    assert_eq!(listed.len(), 2, "{json}");
    for dir in listed {
        let path = Path::new(dir["logDir"].as_str().unwrap());
        for p in dir["partitions"].as_array().unwrap() {
            let name = p["partition"].as_str().unwrap();
            assert_eq!(expected[name], path, "{json}");
        }
    }

    broker.stop();
    let meta: Vec<BTreeMap<String, String>> = dirs.iter().map(|d| meta_properties(d)).collect();
    for m in &meta {
        assert_eq!(m["node.id"], "1");
        assert_eq!(m["version"], "1");
        assert_eq!(m["directory.id"].len(), 22, "Kafka's Uuid text: {m:?}");
    }
    assert_eq!(meta[0]["cluster.id"], meta[1]["cluster.id"]);
    assert_ne!(meta[0]["directory.id"], meta[1]["directory.id"]);
    // A directory another cluster wrote is refused, not served.
    let file = dirs[1].join("meta.properties");
    let written = std::fs::read_to_string(&file).unwrap();
    let cluster_line = format!("cluster.id={}", meta[1]["cluster.id"]);
    std::fs::write(&file, written.replace(&cluster_line, "cluster.id=another")).unwrap();
    let refused = harness::refused_start(std::slice::from_ref(&list));
    assert!(refused.contains("Invalid cluster.id"), "{refused}");
    std::fs::write(&file, written).unwrap();

    broker.restart();
    let bs = broker.bootstrap();
    assert_eq!(on_disk(&dirs, &["spread", "other"]), placed);
    let (reported, _) = described(broker.port);
    let ours: BTreeMap<String, PathBuf> = reported
        .into_iter()
        .filter(|(p, _)| expected.contains_key(p))
        .collect();
    assert_eq!(ours, expected, "every partition reopened in its own dir");
    let again: Vec<BTreeMap<String, String>> = dirs.iter().map(|d| meta_properties(d)).collect();
    assert_eq!(again, meta, "each dir keeps its directory.id");
    for i in 0..4 {
        assert_eq!(log_end(&bs, "spread", i), 10);
    }
    for i in 0..3 {
        assert_eq!(log_end(&bs, "other", i), 10);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metadata_log_lives_in_metadata_log_dir_which_is_locked_too() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, meta) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("meta"),
    );
    let list = format!("log.dirs={},{}", a.display(), b.display());
    let metadata = format!("metadata.log.dir={}", meta.display());
    let mut broker = BrokerProcess::start(&[&list, &metadata]);
    create_topic(&broker.bootstrap(), "kept", 2, &[]).await;
    produce_values(&broker.bootstrap(), "kept", 0..10, 2).await;
    assert!(meta.join("__cluster_metadata-0").is_dir());
    assert!(!a.join("__cluster_metadata-0").exists());
    assert!(!b.join("__cluster_metadata-0").exists());
    assert!(
        on_disk(std::slice::from_ref(&meta), &["kept"]).is_empty(),
        "no partition in it"
    );

    // A second broker on the same metadata dir, its log dirs elsewhere.
    let others = format!(
        "log.dirs={},{}",
        tmp.path().join("c").display(),
        tmp.path().join("d").display()
    );
    let refused = harness::refused_start(&[others, metadata.clone()]);
    assert!(refused.contains("Failed to acquire lock"), "{refused}");

    broker.stop();
    broker.restart();
    let bs = broker.bootstrap();
    assert_eq!(log_end(&bs, "kept", 0) + log_end(&bs, "kept", 1), 10);
}

#[test]
fn one_directory_named_twice_in_log_dirs_is_refused_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    std::fs::create_dir(&a).unwrap();
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&a, &link).unwrap();
    let dotted = tmp.path().join("b").join("..").join("a");
    let canonical_a = canonical(std::slice::from_ref(&a)).remove(0);
    for twin in [&link, &dotted] {
        let refused =
            harness::refused_start(&[format!("log.dirs={},{}", a.display(), twin.display())]);
        assert_eq!(
            refused,
            format!(
                "broker-start: duplicate log directory found: {} and {} in log.dirs are both {}",
                a.display(),
                twin.display(),
                canonical_a.display()
            )
        );
    }
    // Named once, through the link, it is an ordinary log directory.
    let _broker = BrokerProcess::start(&[&format!("log.dirs={}", link.display())]);
    assert!(a.join("meta.properties").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_io_error_takes_its_log_dir_offline_and_leadership_moves_while_the_other_dir_serves() {
    use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
    let tmp = tempfile::tempdir().unwrap();
    let dirs = vec![tmp.path().join("disk-a"), tmp.path().join("disk-b")];
    let list = format!("log.dirs={},{}", dirs[0].display(), dirs[1].display());
    let metrics_port = harness::free_port();
    let metrics = format!("metrics.listener=http://127.0.0.1:{metrics_port}");
    let brokers = harness::start_cluster_per_node(2, &[], &[&[&list, &metrics]]);
    let offline_dirs = || {
        harness::scrape::sample(
            &harness::scrape::scrape(metrics_port),
            "kafka_log_logmanager_offlinelogdirectorycount",
            &[],
        )
    };
    assert_eq!(offline_dirs(), Some(0.0));
    let bs = format!("{},{}", brokers[0].bootstrap(), brokers[1].bootstrap());
    let admin = harness::admin(&brokers[0].bootstrap());
    let on_1_then_2: &[&[i32]] = &[&[1, 2]];
    for name in ["victim", "survivor"] {
        // Small segments: the next appends roll one, and so create a file.
        let topic = NewTopic::new(name, 1, TopicReplication::Variable(on_1_then_2))
            .set("segment.bytes", "1024");
        admin
            .create_topics([&topic], &AdminOptions::new())
            .await
            .unwrap()[0]
            .as_ref()
            .expect("created");
    }
    produce_values(&bs, "victim", 0..3, 1).await;
    produce_values(&bs, "survivor", 0..3, 1).await;
    let placed = on_disk(&dirs, &["victim", "survivor"]);
    assert_ne!(placed["victim-0"], placed["survivor-0"], "{placed:?}");
    let failing = placed["victim-0"].clone();
    assert!(wait_until(Duration::from_secs(20), || {
        harness::leadership(brokers[1].port, "victim") == (1, vec![1, 2])
    }));

    // The directory goes from under the log: its next roll cannot create
    // the new segment, an I/O error.
    std::fs::remove_dir_all(failing.join("victim-0")).unwrap();
    let big = "x".repeat(400);
    let p = harness::producer(&bs, &[]);
    for i in 0..6 {
        p.send(
            rdkafka::producer::FutureRecord::<(), _>::to("victim").payload(&format!("{i}{big}")),
            Duration::from_secs(60),
        )
        .await
        .expect("delivered, by broker 2 once leadership moved");
    }
    assert!(
        harness::wait_until(Duration::from_secs(30), || {
            harness::leadership(brokers[1].port, "victim") == (2, vec![2])
        }),
        "leadership moved to the other ISR member, broker 1 left the ISR: {:?}",
        harness::leadership(brokers[1].port, "victim")
    );
    let mut client = RawClient::connect(brokers[0].port);
    let refused = harness::produce_raw(
        &mut client,
        "victim",
        0,
        1,
        harness::record_batch(&["late"], harness::NO_PRODUCER),
    );
    assert_eq!(
        refused.error_code,
        kafka_protocol::error::ResponseError::KafkaStorageError.code()
    );

    let response = RawClient::connect(brokers[0].port)
        .call(&DescribeLogDirsRequest::default().with_topics(None), 4)
        .expect("DescribeLogDirs answered");
    let failed_name = std::fs::canonicalize(&failing).unwrap();
    for result in &response.results {
        let path = PathBuf::from(result.log_dir.as_str());
        if path == failed_name {
            assert_eq!(
                result.error_code, 56,
                "KAFKA_STORAGE_ERROR for the failed dir"
            );
            assert!(result.topics.is_empty());
        } else {
            assert_eq!(result.error_code, 0);
            assert!(result
                .topics
                .iter()
                .any(|t| t.name.0.as_str() == "survivor"));
        }
    }
    assert_eq!(response.results.len(), 2);
    assert_eq!(
        offline_dirs(),
        Some(1.0),
        "OfflineLogDirectoryCount counts the failed dir"
    );

    // The other directory goes on serving as before.
    produce_values(&bs, "survivor", 3..6, 1).await;
    assert_eq!(
        harness::leadership(brokers[1].port, "survivor"),
        (1, vec![1, 2])
    );
    assert_eq!(log_end(&brokers[0].bootstrap(), "survivor", 0), 6);
    assert_eq!(
        log_end(&bs, "victim", 0),
        9,
        "every acknowledged record kept"
    );
}

/// AlterReplicaLogDirs for partition 0 of `topic` to `dir`: its error code.
fn alter_log_dir(port: u16, topic: &str, dir: &Path, version: i16) -> i16 {
    let request =
        AlterReplicaLogDirsRequest::default().with_dirs(vec![AlterReplicaLogDir::default()
            .with_path(StrBytes::from_string(dir.display().to_string()))
            .with_topics(vec![AlterReplicaLogDirTopic::default()
                .with_name(TopicName(StrBytes::from_string(topic.to_string())))
                .with_partitions(vec![0])])]);
    let response = RawClient::connect(port)
        .call(&request, version)
        .expect("AlterReplicaLogDirs answered");
    assert_eq!(response.results.len(), 1);
    assert_eq!(response.results[0].topic_name.0.as_str(), topic);
    assert_eq!(response.results[0].partitions.len(), 1);
    response.results[0].partitions[0].error_code
}

/// Entries of the log dirs that are not a partition's or the broker's own:
/// a move's `-future` or `-delete` leftovers.
fn move_leftovers(dirs: &[PathBuf]) -> Vec<String> {
    dirs.iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with("-future") || n.ends_with("-delete"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alter_replica_log_dirs_moves_a_replica_with_its_records_to_another_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = vec![tmp.path().join("disk-a"), tmp.path().join("disk-b")];
    let list = format!("log.dirs={},{}", dirs[0].display(), dirs[1].display());
    let mut broker = BrokerProcess::start(&[&list]);
    let bs = broker.bootstrap();
    // Small segments: the move copies closed segments and the active one.
    create_topic(&bs, "moved", 1, &[("segment.bytes", "1024")]).await;
    for from in (0..100).step_by(10) {
        produce_values(&bs, "moved", from..from + 10, 1).await;
    }
    let was = on_disk(&dirs, &["moved"])["moved-0"].clone();
    let other = dirs.iter().find(|d| **d != was).unwrap().clone();
    let segments = harness::segment_files(&was.join("moved-0")).len();
    assert!(segments > 1, "closed segments to copy: {segments}");

    let unknown = tmp.path().join("not-a-log-dir");
    assert_eq!(
        alter_log_dir(broker.port, "moved", &unknown, 1),
        57,
        "LOG_DIR_NOT_FOUND"
    );
    assert_eq!(alter_log_dir(broker.port, "moved", &other, 2), 0);
    let canonical_other = std::fs::canonicalize(&other).unwrap();
    assert!(
        harness::wait_until(Duration::from_secs(30), || {
            described(broker.port).0.get("moved-0") == Some(&canonical_other)
                && move_leftovers(&dirs).is_empty()
        }),
        "moved: {:?}, leftovers {:?}",
        described(broker.port).0,
        move_leftovers(&dirs)
    );
    assert_eq!(on_disk(&dirs, &["moved"])["moved-0"], other);
    assert!(!was.join("moved-0").exists(), "the old replica is deleted");
    let expected: Vec<String> = (0..100).map(|i| i.to_string()).collect();
    assert_eq!(read_from_start(&bs, "moved", 100), expected);
    produce_values(&bs, "moved", 100..110, 1).await;
    assert_eq!(log_end(&bs, "moved", 0), 110);
    let checkpoint =
        |dir: &Path| std::fs::read_to_string(dir.join("replication-offset-checkpoint")).unwrap();
    assert!(
        checkpoint(&other).contains("\nmoved 0 "),
        "{}",
        checkpoint(&other)
    );

    // A partition not hosted yet goes where it was asked for when it
    // arrives, though the fewest-partitions rule would choose the other dir.
    assert_eq!(
        alter_log_dir(broker.port, "later", &other, 1),
        9,
        "REPLICA_NOT_AVAILABLE, and remembered"
    );
    create_topic(&bs, "later", 1, &[]).await;
    assert_eq!(on_disk(&dirs, &["later"])["later-0"], other);

    broker.stop();
    assert!(
        !checkpoint(&was).contains("\nmoved 0 "),
        "{}",
        checkpoint(&was)
    );
    broker.restart();
    let bs = broker.bootstrap();
    assert_eq!(on_disk(&dirs, &["moved"])["moved-0"], other);
    assert_eq!(log_end(&bs, "moved", 0), 110);
    let expected: Vec<String> = (0..110).map(|i| i.to_string()).collect();
    assert_eq!(read_from_start(&bs, "moved", 110), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_left_half_done_by_a_crash_is_cleaned_up_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = vec![tmp.path().join("disk-a"), tmp.path().join("disk-b")];
    let list = format!("log.dirs={},{}", dirs[0].display(), dirs[1].display());
    let mut broker = BrokerProcess::start(&[&list]);
    let bs = broker.bootstrap();
    create_topic(&bs, "kept", 1, &[]).await;
    produce_values(&bs, "kept", 0..10, 1).await;
    broker.stop();
    let was = on_disk(&dirs, &["kept"])["kept-0"].clone();
    let other = dirs.iter().find(|d| **d != was).unwrap().clone();
    // As a crash before the swap leaves it: a partial copy beside the replica.
    let future = other.join("kept-0.0123456789abcdef0123456789abcdef-future");
    std::fs::create_dir(&future).unwrap();
    std::fs::write(future.join("00000000000000000000.log"), b"partial").unwrap();
    broker.restart();
    let bs = broker.bootstrap();
    assert!(harness::wait_until(Duration::from_secs(20), || !future.exists()));
    assert_eq!(on_disk(&dirs, &["kept"])["kept-0"], was);
    assert_eq!(log_end(&bs, "kept", 0), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reassignment_plans_log_dirs_move_the_replicas_to_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = vec![tmp.path().join("disk-a"), tmp.path().join("disk-b")];
    let list = format!("log.dirs={},{}", dirs[0].display(), dirs[1].display());
    let broker = BrokerProcess::start(&[&list]);
    let bs = broker.bootstrap();
    create_topic(&bs, "planned", 1, &[]).await;
    produce_values(&bs, "planned", 0..20, 1).await;
    let was = on_disk(&dirs, &["planned"])["planned-0"].clone();
    let other = dirs.iter().find(|d| **d != was).unwrap().clone();
    // As brokers name their directories (DescribeLogDirs), which --verify
    // compares with the plan's as Kafka's tool does.
    let [was_name, other_name] = [&was, &other].map(|d| std::fs::canonicalize(d).unwrap());
    let plan = tmp.path().join("plan.json");
    let plan_in = |dir: &Path| {
        std::fs::write(
            &plan,
            serde_json::json!({"version": 1, "partitions": [
                {"topic": "planned", "partition": 0, "replicas": [1], "log_dirs": [dir]}
            ]})
            .to_string(),
        )
        .unwrap();
    };
    plan_in(&other_name);
    let plan_arg = plan.display().to_string();
    let execute = [
        "reassign",
        "--execute",
        "--reassignment-json-file",
        &plan_arg,
    ];
    let out = run_tool(TOPIC_ADMIN, &bs, &execute, b"");
    out.ok();
    assert!(
        harness::wait_until(Duration::from_secs(30), || {
            holding(&dirs, &["planned"]).get("planned-0") == Some(&vec![other.clone()])
                && move_leftovers(&dirs).is_empty()
        }),
        "{:?}",
        holding(&dirs, &["planned"])
    );
    assert_eq!(log_end(&bs, "planned", 0), 20);

    // --verify checks each replica's directory as well as the replicas.
    let verify = [
        "reassign",
        "--verify",
        "--reassignment-json-file",
        &plan_arg,
    ];
    let out = run_tool(TOPIC_ADMIN, &bs, &verify, b"");
    let table = out.ok();
    // BROKER, TOPIC, PARTITION, LOG DIR, STATE.
    let row = |text: &str, dir: &Path, state: &str| {
        let dir = dir.display().to_string();
        text.lines().any(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            cells.len() >= 5
                && cells[..4] == ["1", "planned", "0", dir.as_str()]
                && cells[4..].join(" ") == state
        })
    };
    assert!(row(table, &other_name, "complete"), "{table}");
    let json = run_tool(
        TOPIC_ADMIN,
        &bs,
        &[&verify[..], &["--output", "json"]].concat(),
        b"",
    );
    let parsed: serde_json::Value = serde_json::from_str(json.ok()).unwrap();
    assert_eq!(
        parsed[0]["log_dirs"],
        serde_json::json!([{"broker": 1, "log_dir": other_name, "state": "complete"}])
    );
    // A plan naming the directory the replica left: it is elsewhere, not
    // moving, and --verify fails.
    plan_in(&was_name);
    let out = run_tool(TOPIC_ADMIN, &bs, &verify, b"");
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let elsewhere = format!("in {}, not moving", other_name.display());
    assert!(row(&out.stdout, &was_name, &elsewhere), "{}", out.stdout);
    assert!(
        out.stderr
            .contains("1 of 1 replicas are not in the log directory the plan names"),
        "{}",
        out.stderr
    );

    // A directory the broker does not have is named in the error.
    let unknown = tmp.path().join("disk-c");
    std::fs::write(
        &plan,
        serde_json::json!({"version": 1, "partitions": [
            {"topic": "planned", "partition": 0, "replicas": [1], "log_dirs": [unknown]}
        ]})
        .to_string(),
    )
    .unwrap();
    let out = run_tool(TOPIC_ADMIN, &bs, &execute, b"");
    assert_ne!(out.code, Some(0));
    assert!(
        out.stderr.contains("planned-0 on broker 1: LogDirNotFound"),
        "{}",
        out.stderr
    );
}

/// Sets `key` to `value` in `dir`'s meta.properties.
fn set_meta_property(dir: &Path, key: &str, value: &str) {
    let path = dir.join("meta.properties");
    let text: String = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| match l.split_once('=') {
            Some((k, _)) if k == key => format!("{key}={value}\n"),
            _ => format!("{l}\n"),
        })
        .collect();
    std::fs::write(path, text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_registering_a_log_dir_another_broker_registered_is_refused() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let mut brokers = harness::start_cluster(2, &[]);
    // Both registered with their dirs' ids, and wrote them with the
    // cluster id; broker 2's disk is then replaced by a copy of broker 1's
    // identity (the node id aside, which it would refuse on its own).
    let stolen = meta_properties(&brokers[0].dir)["directory.id"].clone();
    assert!(wait_until(Duration::from_secs(20), || {
        meta_properties(&brokers[1].dir).contains_key("cluster.id")
    }));
    let own = meta_properties(&brokers[1].dir)["directory.id"].clone();
    brokers[1].stop();
    set_meta_property(&brokers[1].dir, "directory.id", &stolen);

    let mut start = Command::new(env!("CARGO_BIN_EXE_broker-start"));
    start
        .arg("--override")
        .arg("listeners=PLAINTEXT://127.0.0.1:0")
        .arg("--override")
        .arg(format!("log.dirs={}", brokers[1].dir.display()));
    for o in brokers[1].overrides() {
        start.arg("--override").arg(o);
    }
    let mut child = start
        .env("RUST_LOG", "warn,openraft=off")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn broker-start");
    let exited = wait_until(Duration::from_secs(30), || {
        child.try_wait().map_or(true, |s| s.is_some())
    });
    if !exited {
        let _ = child.kill();
        let _ = child.wait();
        panic!("broker 2 registered a log dir broker 1 holds");
    }
    assert!(!child.wait().unwrap().success());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(
        stderr.contains(&format!(
            "Broker 1 is already registered with directory {stolen}"
        )),
        "{stderr}"
    );
    // The refusal registered nothing: with its own disk back, broker 2
    // registers and the cluster serves.
    set_meta_property(&brokers[1].dir, "directory.id", &own);
    brokers[1].restart();
    create_topic(&brokers[0].bootstrap(), "after", 1, &[]).await;
}
